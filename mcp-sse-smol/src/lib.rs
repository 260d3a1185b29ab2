//! # mcp-sse-smol
//!
//! Runs an [`mcp_sse_core::Server`] on smol and hyper 1. This crate owns only what is smol's:
//! the listener and sockets (`async-io`, with hyper's I/O over them), hyper's timer, tasks and
//! the clock (the [`Smol`] runtime: `async-executor` tasks, `async-io` timers). The serve loop,
//! the application API and the driver are [`mcp_sse_app`]'s, shared with the tokio adapter.
//!
//! - [`serve`] runs a complete server on a listener until a shutdown signal.
//! - [`Handler`] is what the application implements; [`RequestContext`] lets a handler send
//!   notifications and requests to the client while it works; [`Handle`] sends
//!   server-initiated messages and shuts down.
//! - [`Entry`] takes HTTP requests from any other smol HTTP stack:
//!   `Entry::start(Smol::default(), server, handler)`.
//!
//! ```no_run
//! # struct App;
//! # impl mcp_sse_smol::Handler for App {
//! #     async fn request(&self, _: mcp_sse_smol::RequestContext, _: mcp_sse_smol::jsonrpc::Request)
//! #         -> Result<serde_json::Value, mcp_sse_smol::jsonrpc::ErrorObject> { Ok(serde_json::json!({})) }
//! # }
//! use std::net::TcpListener;
//! use smol::Async;
//!
//! smol::block_on(async {
//!     let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 8000))?;
//!     mcp_sse_smol::serve(listener, mcp_sse_smol::Config::default(), App).await
//! })
//! # ; Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod io;
mod runtime;

use std::future::Future;
use std::net::TcpListener;

use smol::Async;

pub use io::Io;
pub use mcp_sse_app::{
    Entry, Handle, Handler, RequestContext, RequestError, ResponseBody, ServeConfig,
};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use runtime::Smol;

/// Serves MCP on `listener` (HTTP/1.1, and HTTP/2 with prior knowledge) until the process ends.
/// `config` is a [`ServeConfig`], or a [`Config`] with the connection defaults.
/// Tasks run on smol's global executor.
pub async fn serve<H: Handler>(
    listener: Async<TcpListener>,
    config: impl Into<ServeConfig>,
    handler: H,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, handler, std::future::pending()).await
}

/// Serves MCP on `listener` until `signal` resolves, then shuts down gracefully: no new
/// connections, every stream finished with a reconnection hint, requests still with their
/// handlers given [`ServeConfig::shutdown_grace`] to be answered, then every connection closed
/// ([`mcp_sse_app::serve`], on smol's global executor).
pub async fn serve_with_shutdown<H: Handler>(
    listener: Async<TcpListener>,
    config: impl Into<ServeConfig>,
    handler: H,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    mcp_sse_app::serve(Smol::default(), listener, config.into(), handler, signal).await
}
