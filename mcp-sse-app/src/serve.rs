//! [`serve`]: accepts connections and runs them on any [`Network`] until a shutdown signal.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use mcp_sse_core::Server;
use tokio::sync::watch;

use crate::entry::Entry;
use crate::handler::Handler;
use crate::network::{Exec, Network};

mod config;
mod connection;
mod rewind;

pub use config::ServeConfig;

use connection::{Connections, Phase};

/// How long the loop waits after a failed `accept` (out of descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge, chosen per connection
/// from its first bytes) until `signal` resolves, then shuts down gracefully within
/// [`ServeConfig::shutdown_grace`], all of it: no new connections; requests in flight answered
/// on their streams ([`Handle::shutdown_within`](crate::Handle::shutdown_within)); then every
/// connection asked to finish; at the deadline, what is left is closed.
///
/// The policy is here; the adapter's [`Network`] gives the sockets, hyper's timer and the tasks.
/// `Config::hosts` is resolved against the listener's address. Every socket gets
/// `TCP_NODELAY`: an SSE frame split over small writes stalls on Nagle and delayed ACKs. Every
/// connection is bounded by the timeouts of [`ServeConfig`].
pub async fn serve<N: Network, H: Handler>(
    network: N,
    listener: N::Listener,
    config: ServeConfig,
    handler: H,
    signal: impl Future<Output = ()>,
) -> io::Result<()> {
    let ServeConfig {
        server: mut config,
        request_head_timeout,
        body_read_timeout,
        http2_idle_timeout,
        http2_keepalive_interval,
        http2_keepalive_timeout,
        shutdown_grace,
        authenticator,
        store,
    } = config;
    config.hosts = config.hosts.resolve(N::local_addr(&listener)?.ip());
    let server = Server::new(config);
    let (entry, handle) = Entry::start_in_cluster(network.clone(), server, handler, store);
    let mut entry = entry.with_body_read_timeout(body_read_timeout);
    if let Some(authenticator) = authenticator {
        entry = entry.with_authenticator(authenticator);
    }
    let mut http1 = http1::Builder::new();
    // Slow clients may not hold a connection without sending a request head.
    http1.timer(network.timer());
    http1.header_read_timeout(request_head_timeout);
    let mut http2 = http2::Builder::new(Exec(network.clone()));
    http2.timer(network.timer());
    http2.keep_alive_interval(http2_keepalive_interval);
    http2.keep_alive_timeout(http2_keepalive_timeout);
    let connections = Arc::new(Connections {
        network: network.clone(),
        http1,
        http2,
        head_timeout: request_head_timeout,
        http2_idle_timeout,
        http2_ping_timeout: http2_keepalive_timeout,
    });
    // Each connection holds a receiver until it has ended.
    let (phase, _) = watch::channel(Phase::Serve);
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
        let task = connection::run(
            connections.clone(),
            socket,
            peer,
            entry.clone(),
            phase.subscribe(),
        );
        network.execute(task);
    }
    drop(listener);
    tracing::info!("shutting down");
    // The server first, with the connections open: requests in flight are answered on their
    // streams (and clients' answers to the server's own requests still come in), new ones get
    // `503`; at the deadline the server ends what is left.
    let deadline = network.now() + shutdown_grace;
    let answered = within(
        pin!(network.sleep(shutdown_grace)),
        pin!(handle.shutdown_within(shutdown_grace)),
    )
    .await
    .is_some();
    drop(entry);
    // Then the connections, within what is left of the grace: each finishes its exchange
    // (HTTP/1.1) or is sent a GOAWAY (HTTP/2); those still open at the deadline are dropped.
    phase.send_replace(Phase::Finish);
    let left = deadline.saturating_duration_since(network.now());
    if within(pin!(network.sleep(left)), pin!(phase.closed()))
        .await
        .is_none()
    {
        tracing::warn!(
            requests_unanswered = !answered,
            connections_open = phase.receiver_count(),
            "the shutdown grace ran out: closing the connections left"
        );
        phase.send_replace(Phase::Close);
    }
    Ok(())
}

/// `task`'s output, or `None` if `deadline` resolves first.
async fn within<T>(
    mut deadline: Pin<&mut impl Future<Output = ()>>,
    mut task: Pin<&mut impl Future<Output = T>>,
) -> Option<T> {
    poll_fn(|cx| match task.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => deadline.as_mut().poll(cx).map(|()| None),
    })
    .await
}
