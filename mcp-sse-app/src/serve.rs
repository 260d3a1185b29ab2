//! [`serve`]: accepts connections and runs them on any [`Network`] until a shutdown signal.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use mcp_sse_core::Server;
use tokio::sync::watch;

use crate::body::ResponseBody;
use crate::entry::Entry;
use crate::handler::Handler;
use crate::network::{Exec, Network};
use crate::protocol::{Protocol, SNIFF_LEN, sniff};

mod config;

pub use config::ServeConfig;

/// How long the loop waits after a failed `accept` (out of descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge, chosen per connection
/// from its first bytes) until `signal` resolves, then shuts down gracefully: no new
/// connections, every stream finished with a reconnection hint, requests still with their
/// handlers given [`ServeConfig::shutdown_grace`] to be answered, then every connection closed.
///
/// The policy is here; the adapter's [`Network`] gives the sockets, hyper's timer and the tasks.
/// `Config::hosts` is resolved against the listener's address. Every socket gets
/// `TCP_NODELAY`: an SSE frame split over small writes stalls on Nagle and delayed ACKs.
pub async fn serve<N: Network, H: Handler>(
    network: N,
    listener: N::Listener,
    config: ServeConfig,
    handler: H,
    signal: impl Future<Output = ()>,
) -> io::Result<()> {
    let ServeConfig {
        server: mut config,
        request_head_timeout: head_timeout,
        shutdown_grace: grace,
    } = config;
    config.hosts = config.hosts.resolve(N::local_addr(&listener)?.ip());
    let (entry, handle) = Entry::start(network.clone(), Server::new(config), handler);
    let mut http1 = http1::Builder::new();
    // Slow clients may not hold a connection without sending a request head.
    http1.timer(network.timer());
    http1.header_read_timeout(head_timeout);
    let shared = Arc::new(Shared {
        http2: http2::Builder::new(Exec(network.clone())),
        http1,
        head_timeout,
        network: network.clone(),
    });
    // A value sent on `stop` asks every connection to finish; each holds a receiver until it has.
    let (stop, _) = watch::channel(());
    let mut signal = pin!(signal);
    loop {
        let accepted = {
            let mut accept = pin!(N::accept(&listener));
            // The signal first: a stream of connections must not hold off the shutdown.
            poll_fn(|cx| match signal.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => accept.as_mut().poll(cx).map(Some),
            })
            .await
        };
        let (socket, peer) = match accepted {
            None => break,
            Some(Ok(accepted)) => accepted,
            Some(Err(error)) => {
                tracing::warn!(%error, "accept failed");
                network.sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        if let Err(error) = N::set_nodelay(&socket) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let connection = connection(
            shared.clone(),
            socket,
            peer,
            Service(entry.clone()),
            stop.subscribe(),
        );
        network.execute(connection);
    }
    drop(listener);
    tracing::info!("shutting down");
    if within(network.sleep(grace), handle.shutdown_within(grace))
        .await
        .is_none()
    {
        tracing::warn!("requests still unanswered after the shutdown grace period");
    }
    drop(entry);
    stop.send_replace(());
    if within(network.sleep(grace), stop.closed()).await.is_none() {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

/// What every connection task shares: one allocation for all of them, not a copy of each
/// builder in every task.
struct Shared<N: Network> {
    http1: http1::Builder,
    http2: http2::Builder<Exec<N>>,
    head_timeout: Duration,
    network: N,
}

/// One connection: the protocol its first bytes name, then hyper's connection for it until it
/// ends or `stop` asks it to finish.
async fn connection<N: Network>(
    shared: Arc<Shared<N>>,
    socket: N::Socket,
    peer: SocketAddr,
    service: Service,
    stop: watch::Receiver<()>,
) {
    let head_timeout = shared.network.sleep(shared.head_timeout);
    let protocol = within(head_timeout, protocol::<N>(&shared.network, &socket))
        .await
        .unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()));
    let ended = match protocol {
        Ok(Protocol::Http1) => {
            let io = N::into_io(socket);
            let connection = pin!(shared.http1.serve_connection(io, service));
            until_stopped(connection, stop, |c| c.graceful_shutdown()).await
        }
        // Boxed, so that HTTP/1.1 connection tasks are not sized for HTTP/2.
        Ok(Protocol::Http2) => {
            let io = N::into_io(socket);
            let mut connection = Box::pin(shared.http2.serve_connection(io, service));
            until_stopped(connection.as_mut(), stop, |c| c.graceful_shutdown()).await
        }
        Err(error) => {
            tracing::debug!(%peer, %error, "connection lost before its first request");
            return;
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// Runs `connection`, asking it to finish gracefully (`graceful`) once `stop` changes or its
/// sender is gone.
///
/// The connection comes pinned by the caller: an `async fn` keeps its arguments apart from its
/// locals, so pinning it here would hold the connection twice in every connection task.
async fn until_stopped<C: Future>(
    mut connection: Pin<&mut C>,
    mut stop: watch::Receiver<()>,
    graceful: impl FnOnce(Pin<&mut C>),
) -> C::Output {
    let mut stopped = pin!(stop.changed());
    let mut graceful = Some(graceful);
    poll_fn(|cx| {
        if graceful.is_some() && stopped.as_mut().poll(cx).is_ready() {
            (graceful.take().expect("checked"))(connection.as_mut());
        }
        connection.as_mut().poll(cx)
    })
    .await
}

/// Waits for enough of the client's first bytes to tell its protocol.
async fn protocol<N: Network>(network: &N, socket: &N::Socket) -> io::Result<Protocol> {
    let mut first = [0; SNIFF_LEN];
    loop {
        let n = N::peek(socket, &mut first).await?;
        if let Some(protocol) = sniff(&first[..n]) {
            return Ok(protocol);
        }
        // Part of the preface: peeking again at once would see the same bytes.
        network.sleep(Duration::from_millis(1)).await;
    }
}

/// `task`'s output, or `None` if `deadline` resolves first.
async fn within<T>(deadline: impl Future<Output = ()>, task: impl Future<Output = T>) -> Option<T> {
    let (mut deadline, mut task) = (pin!(deadline), pin!(task));
    poll_fn(|cx| match task.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => deadline.as_mut().poll(cx).map(|()| None),
    })
    .await
}

/// The hyper service of every connection: the entry, its response future boxed. hyper keeps a
/// slot the size of this future for the connection's life, idle or streaming, while the future
/// itself only lives until the response head (`Entry::call`'s is ~1.4 KiB).
#[derive(Clone, Debug)]
struct Service(Entry);

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let response = self.0.call(request);
        Box::pin(async move { Ok(response.await) })
    }
}
