//! [`serve`]: accept connections and run them until a shutdown signal.

use std::future::Future;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::service::McpService;
use mcp_sse_app::Handler;
use mcp_sse_core::Config;

/// Serves MCP on `listener` (HTTP/1.1 and HTTP/2) until the process ends.
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
    let grace = config.shutdown_grace;
    let (service, handle) = McpService::new(config, handler);
    let connections = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut signal = std::pin::pin!(signal);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        // An SSE frame split over small writes stalls on Nagle + delayed ACK.
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        let connection = builder
            .serve_connection(
                TokioIo::new(socket),
                TowerToHyperService::new(service.clone()),
            )
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
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
