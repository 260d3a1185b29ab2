//! # mcp-sse-app
//!
//! The application side of mcp-sse, shared by every runtime adapter: what an application
//! implements ([`Handler`]), what it talks to the client through ([`RequestContext`],
//! [`Handle`]), and the driver that runs an [`mcp_sse_core::Server`] for it.
//!
//! One `Server` is shared behind a mutex by every task that brings it an input: a connection
//! applies its request, a response body its consumption credit or disconnect, a handler its
//! answer or message to send. Each locks, feeds the server, drains its outputs (a response
//! handed to the waiting connection, frames queued on a stream, requests and notifications for
//! the application) and unlocks; the application's code runs after the lock is released. A
//! handler call is polled first by the task that brought the request (an answer ready at once
//! goes out without a task or a hop) and, if it waits, goes on in a task of its own. One timer
//! task sleeps until the server's next deadline. The crate uses no runtime: channels come from
//! `async-channel` and `futures-channel`, and an adapter provides the rest through the
//! [`Runtime`] trait (spawn, sleep until an instant, the clock).
//!
//! The crate is in layers, each using only those below it:
//!
//! 1. [`Runtime`], [`RequestError`] and [`Aborted`];
//! 2. the driver (the server behind its mutex, the timer task), which sees the application as
//!    a trait of its own and hands responses over as plain payloads;
//! 3. [`ResponseBody`], [`Handle`], and the handler API ([`Handler`], [`RequestContext`],
//!    [`NotificationContext`]), which implements the driver's application trait;
//! 4. [`Entry`], where HTTP requests come in: whatever serves HTTP (a tower `Service`, another
//!    HTTP stack) calls it per request and gets an `http_body::Body` whose SSE frames come from
//!    the server;
//! 5. [`serve`], the accept loop and the HTTP/1.1 and HTTP/2 connections around an entry, with
//!    their bounds ([`ServeConfig`]), over a [`Network`]: what an adapter (`mcp-sse-tokio`,
//!    `mcp-sse-smol`) gives of its runtime (sockets, timers, tasks).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
mod body;
mod driver;
mod entry;
mod error;
mod handle;
mod handler;
mod network;
mod protocol;
mod runtime;
mod serve;
mod store;
mod telemetry;
#[cfg(test)]
mod testing;

pub use auth::{Authenticator, Refusal, StaticTokens, Verifier};
pub use body::ResponseBody;
pub use entry::Entry;
pub use error::{Aborted, RequestError};
pub use handle::Handle;
pub use handler::{Handler, NotificationContext, RequestContext};
pub use mcp_sse_core::{
    self as core, Authorization, Config, Credentials, Principal, SessionId, Transport, jsonrpc,
};
pub use network::Network;
pub use runtime::{BoxFuture, Runtime};
pub use serve::{ServeConfig, serve};
pub use store::{SharedStore, StoreFuture};
