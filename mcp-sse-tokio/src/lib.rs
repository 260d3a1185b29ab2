//! # mcp-sse-tokio
//!
//! Runs an [`mcp_sse_core::Server`] on tokio and hyper 1. This crate owns only what is
//! tokio's: the listener, hyper connections and graceful shutdown, the [`Tokio`] runtime the
//! shared driver ([`mcp_sse_app`]) runs on, and a tower `Service`.
//!
//! - [`serve`] runs a complete server on a listener until a shutdown signal.
//! - [`McpService`] is a tower `Service` to mount in axum or any hyper stack.
//! - [`Handler`] is what the application implements; [`RequestContext`] lets a handler send
//!   notifications and requests to the client while it works; [`Handle`] sends
//!   server-initiated messages and shuts down.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod serve;
mod service;

pub use mcp_sse_app::{Handle, Handler, RequestContext, RequestError, ResponseBody};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use serve::{serve, serve_with_shutdown};
pub use service::{McpService, Tokio};
