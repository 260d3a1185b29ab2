//! # mcp-sse-tokio
//!
//! Runs an [`mcp_sse_core::Server`] on tokio and hyper 1. This crate owns only what is
//! tokio's: the listener and sockets, hyper's timer, tasks and the clock (the [`Tokio`]
//! runtime), and a tower `Service`. The serve loop, the application API and the driver are
//! [`mcp_sse_app`]'s, shared with the smol adapter.
//!
//! - [`serve`] runs a complete server on a listener until a shutdown signal.
//! - [`McpService`] is a tower `Service` to mount in axum or any hyper stack.
//! - [`Handler`] is what the application implements; [`RequestContext`] lets a handler send
//!   notifications and requests to the client while it works; [`Handle`] sends
//!   server-initiated messages and shuts down.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod runtime;
mod service;

use std::future::Future;

use tokio::net::TcpListener;

pub use mcp_sse_app::{Handle, Handler, RequestContext, RequestError, ResponseBody, ServeConfig};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use runtime::Tokio;
pub use service::McpService;

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge) until the process ends.
/// `config` is a [`ServeConfig`], or a [`Config`] with the connection defaults.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    config: impl Into<ServeConfig>,
    handler: H,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, handler, std::future::pending()).await
}

/// Serves MCP on `listener` until `signal` resolves, then shuts down gracefully: no new
/// connections, every stream finished with a reconnection hint, requests still with their
/// handlers given [`ServeConfig::shutdown_grace`] to be answered, then every connection closed
/// ([`mcp_sse_app::serve`], on the current tokio runtime).
pub async fn serve_with_shutdown<H: Handler>(
    listener: TcpListener,
    config: impl Into<ServeConfig>,
    handler: H,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    mcp_sse_app::serve(Tokio::current(), listener, config.into(), handler, signal).await
}
