//! [`serve`]: accept connections and run them until a shutdown signal.

use std::future::Future;

use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use mcp_sse_app::{Handler, Protocol, SNIFF_LEN, sniff};
use mcp_sse_core::Config;
use tokio::net::{TcpListener, TcpStream};

use crate::service::McpService;

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge) until the process ends.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    config: Config,
    handler: H,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, handler, std::future::pending()).await
}

/// Serves MCP on `listener` until `signal` resolves, then shuts down gracefully: no new
/// connections, every stream finished with a reconnection hint, requests still with their
/// handlers given `Config::shutdown_grace` to be answered, then every connection closed.
pub async fn serve_with_shutdown<H: Handler>(
    listener: TcpListener,
    config: Config,
    handler: H,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut config = config;
    config.hosts = config.hosts.resolve(listener.local_addr()?.ip());
    let (grace, head_timeout) = (config.shutdown_grace, config.request_head_timeout);
    let (service, handle) = McpService::new(config, handler);
    let connections = GracefulShutdown::new();
    let mut h1 = http1::Builder::new();
    // Slow clients may not hold a connection without sending a request head.
    h1.timer(TokioTimer::new());
    h1.header_read_timeout(head_timeout);
    let h2 = http2::Builder::new(TokioExecutor::new());
    let mut signal = std::pin::pin!(signal);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // An SSE frame split over small writes stalls on Nagle + delayed ACK.
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let service = TowerToHyperService::new(service.clone());
        let (h1, h2, watcher) = (h1.clone(), h2.clone(), connections.watcher());
        tokio::spawn(async move {
            let protocol = tokio::time::timeout(head_timeout, protocol(&socket))
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
            let ended = match protocol {
                Ok(Protocol::Http1) => {
                    let io = TokioIo::new(socket);
                    watcher.watch(h1.serve_connection(io, service)).await
                }
                // Boxed, so that HTTP/1.1 connection tasks are not sized for HTTP/2.
                Ok(Protocol::Http2) => {
                    let io = TokioIo::new(socket);
                    Box::pin(watcher.watch(h2.serve_connection(io, service))).await
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "connection lost before its first request");
                    return;
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down");
    if tokio::time::timeout(grace, handle.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still unanswered after the shutdown grace period");
    }
    drop(service);
    if tokio::time::timeout(grace, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Waits for enough of the client's first bytes to tell its protocol.
async fn protocol(socket: &TcpStream) -> std::io::Result<Protocol> {
    let mut first = [0; SNIFF_LEN];
    loop {
        let n = socket.peek(&mut first).await?;
        if let Some(protocol) = sniff(&first[..n]) {
            return Ok(protocol);
        }
        // Part of the preface: peeking again at once would see the same bytes.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
