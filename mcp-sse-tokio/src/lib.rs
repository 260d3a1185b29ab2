//! # mcp-sse-tokio
//!
//! Runs an [`mcp_sse_core::Server`] on tokio and hyper 1. This crate owns only what the core
//! cannot: sockets, the clock, tasks and channels. One driver task owns the `Server`; HTTP
//! connections hand it requests and take its responses; handler tasks answer requests.
//!
//! - [`serve`] runs a complete server on a listener until a shutdown signal.
//! - [`McpService`] is a tower `Service` to mount in axum or any hyper stack.
//! - [`Handler`] is what the application implements; [`RequestContext`] lets a handler send
//!   notifications and requests to the client while it works; [`Handle`] sends
//!   server-initiated messages and shuts down.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod driver;
mod handler;
mod serve;
mod service;

pub use body::ResponseBody;
pub use handler::{Handler, RequestContext, RequestError};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use serve::{serve, serve_with_shutdown};
pub use service::{Handle, McpService};
