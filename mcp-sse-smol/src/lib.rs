//! # mcp-sse-smol
//!
//! Runs an [`mcp_sse_core::Server`] on smol and hyper 1. This crate owns only what is smol's:
//! the listener (`async-io`), hyper connections and their graceful shutdown, and the [`Smol`]
//! runtime (`async-executor` tasks, `async-io` timers) the shared driver ([`mcp_sse_app`]) runs
//! on. The application API is the same as `mcp-sse-tokio`'s.
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
mod serve;

pub use mcp_sse_app::{Entry, Handle, Handler, RequestContext, RequestError, ResponseBody};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use runtime::Smol;
pub use serve::{serve, serve_with_shutdown};
