//! [`serve`]: accept connections and run them until a shutdown signal.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::{TcpListener, TcpStream};
use std::pin::{Pin, pin};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use mcp_sse_app::{Entry, Handler, Protocol, SNIFF_LEN, sniff};
use mcp_sse_core::{Config, Server};
use smol::{Async, Timer, channel, future};

use crate::io::Io;
use crate::runtime::Smol;

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge) until the process ends. Tasks run on smol's
/// global executor.
pub async fn serve<H: Handler>(
    listener: Async<TcpListener>,
    config: Config,
    handler: H,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, handler, future::pending()).await
}

/// Serves MCP on `listener` until `signal` resolves, then shuts down gracefully: no new
/// connections, every stream finished with a reconnection hint, requests still with their
/// handlers given `Config::shutdown_grace` to be answered, then every connection closed.
pub async fn serve_with_shutdown<H: Handler>(
    listener: Async<TcpListener>,
    config: Config,
    handler: H,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut config = config;
    config.hosts = config.hosts.resolve(listener.get_ref().local_addr()?.ip());
    let (grace, head_timeout) = (config.shutdown_grace, config.request_head_timeout);
    let runtime = Smol::default();
    let (entry, handle) = Entry::start(runtime.clone(), Server::new(config), handler);
    let mut h1 = http1::Builder::new();
    // Slow clients may not hold a connection without sending a request head.
    h1.timer(runtime.clone());
    h1.header_read_timeout(head_timeout);
    let h2 = http2::Builder::new(runtime.clone());
    // Closing `stop` asks every connection to finish; `open` is held by each until it has.
    let (stop, stopping) = channel::bounded::<()>(1);
    let (open, all_closed) = channel::bounded::<()>(1);
    let mut signal = pin!(signal);
    loop {
        // The signal first: a stream of connections must not hold off the shutdown.
        let stopped = async {
            signal.as_mut().await;
            None
        };
        let (socket, peer) =
            match future::or(stopped, async { Some(listener.accept().await) }).await {
                Some(Ok(accepted)) => accepted,
                Some(Err(error)) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    Timer::after(Duration::from_millis(50)).await;
                    continue;
                }
                None => break,
            };
        // An SSE frame split over small writes stalls on Nagle + delayed ACK.
        if let Err(error) = socket.get_ref().set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let entry = entry.clone();
        // Boxed: hyper keeps a slot the size of this future for the connection's life, idle or
        // streaming, while the future itself only lives until the response head.
        let service = service_fn(move |request| {
            let response = entry.call(request);
            Box::pin(async move { Ok::<_, Infallible>(response.await) })
        });
        let (h1, h2) = (h1.clone(), h2.clone());
        let (stopping, open) = (stopping.clone(), open.clone());
        smol::spawn(async move {
            let protocol = within(head_timeout, protocol(&socket))
                .await
                .unwrap_or_else(|| Err(std::io::ErrorKind::TimedOut.into()));
            let ended = match protocol {
                Ok(Protocol::Http1) => {
                    let connection = pin!(h1.serve_connection(Io::new(socket), service));
                    until_stopped(connection, &stopping, |c| c.graceful_shutdown()).await
                }
                // Boxed, so that HTTP/1.1 connection tasks are not sized for HTTP/2.
                Ok(Protocol::Http2) => {
                    let mut connection = Box::pin(h2.serve_connection(Io::new(socket), service));
                    until_stopped(connection.as_mut(), &stopping, |c| c.graceful_shutdown()).await
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "connection lost before its first request");
                    return drop(open);
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(open);
        })
        .detach();
    }
    drop(listener);
    tracing::info!("shutting down");
    if within(grace, handle.shutdown()).await.is_none() {
        tracing::warn!("requests still unanswered after the shutdown grace period");
    }
    drop((entry, stop, open));
    if within(grace, all_closed.recv()).await.is_none() {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Runs `connection`, asking it to finish gracefully (`graceful`) once `stopping` closes.
///
/// The connection comes pinned by the caller: an `async fn` keeps its arguments apart from its
/// locals, so pinning it here would hold the connection twice in every connection task.
async fn until_stopped<C: Future>(
    mut connection: Pin<&mut C>,
    stopping: &channel::Receiver<()>,
    graceful: impl FnOnce(Pin<&mut C>),
) -> C::Output {
    let mut stop = pin!(stopping.recv());
    let mut graceful = Some(graceful);
    poll_fn(|cx| {
        if graceful.is_some() && stop.as_mut().poll(cx).is_ready() {
            (graceful.take().expect("checked"))(connection.as_mut());
        }
        connection.as_mut().poll(cx)
    })
    .await
}

/// Waits for enough of the client's first bytes to tell its protocol.
async fn protocol(socket: &Async<TcpStream>) -> std::io::Result<Protocol> {
    let mut first = [0; SNIFF_LEN];
    loop {
        let n = socket.peek(&mut first).await?;
        if let Some(protocol) = sniff(&first[..n]) {
            return Ok(protocol);
        }
        // Part of the preface: peeking again at once would see the same bytes.
        Timer::after(Duration::from_millis(1)).await;
    }
}

/// `task`'s output, or `None` once `limit` has passed.
async fn within<T>(limit: Duration, task: impl Future<Output = T>) -> Option<T> {
    future::or(async { Some(task.await) }, async {
        Timer::after(limit).await;
        None
    })
    .await
}
