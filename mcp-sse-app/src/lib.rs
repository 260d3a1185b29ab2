//! # mcp-sse-app
//!
//! The application side of mcp-sse, shared by every runtime adapter: what an application
//! implements ([`Handler`]), what it talks to the client through ([`RequestContext`],
//! [`Handle`]), and the driver that runs an [`mcp_sse_core::Server`] for it.
//!
//! One driver task owns the `Server`. It applies commands one at a time (an HTTP request with
//! its body, a body's consumption credit or disconnect, a handler's answer, a message to
//! send), drains the server's outputs after each, and sleeps until the next command or the
//! server's next deadline. A handler call is polled first on the driver (an answer ready at
//! once goes out without a task or a queue) and, if it waits, goes on in a task of its own.
//! The crate uses no runtime: channels come from `async-channel` and `futures-channel`, and an adapter provides the rest
//! through the [`Runtime`] trait (spawn, sleep until an instant). `Instant::now()` is read here,
//! never in the core.
//!
//! An adapter (`mcp-sse-tokio`, `mcp-sse-smol`) owns the listener and the HTTP connections: it
//! starts an [`Entry`] on its runtime and hands it every request; the [`ResponseBody`] it gets
//! back is an `http_body::Body` whose SSE frames come from the driver.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod driver;
mod entry;
mod handler;
mod protocol;
mod runtime;

pub use body::ResponseBody;
pub use entry::{Entry, Handle};
pub use handler::{Handler, RequestContext, RequestError};
pub use mcp_sse_core::{self as core, Config, SessionId, Transport, jsonrpc};
pub use protocol::{Protocol, SNIFF_LEN, sniff};
pub use runtime::{BoxFuture, Runtime};
