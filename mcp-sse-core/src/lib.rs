//! # mcp-sse-core
//!
//! A sans-IO implementation of the Model Context Protocol's HTTP transports, every live
//! generation on one endpoint:
//!
//! - the 2024-11-05 HTTP+SSE transport (`GET /sse` + `POST /messages`), also on the MCP
//!   endpoint (`GET /mcp` naming no session opens such a stream);
//! - Streamable HTTP with sessions (2025-03-26, 2025-06-18, 2025-11-25): `initialize` mints a
//!   session, each `POST` is answered with JSON or an SSE stream, a standalone `GET` stream,
//!   `DELETE`, resumption with `Last-Event-ID`, and 2025-11-25 polling; or stateless
//!   ([`Config::stateless`]), every `POST` answered on its own;
//! - Streamable HTTP 2026-07-28: self-describing requests with no session, validated against
//!   their headers, and `subscriptions/listen` streams.
//!
//! It takes HTTP requests as values and gives back responses, SSE bytes and application
//! events as values. It opens no socket, spawns no task, reads no clock and holds no global
//! state, so every behaviour is deterministic and testable with time as a plain argument. The
//! adapters (`mcp-sse-tokio`, `mcp-sse-smol`) put it on a runtime.
//!
//! ## The run loop
//!
//! 1. Feed inputs: [`Server::handle_request`] for each HTTP request (head and whole body),
//!    [`Server::handle_consumed`] when the connection took bytes of a stream,
//!    [`Server::handle_disconnect`] when a client went away, [`Server::handle_timeout`] when the
//!    instant of [`Server::poll_timeout`] has come.
//! 2. Feed the application's commands: [`Server::reply`], [`Server::send`],
//!    [`Server::close_session`], [`Server::shutdown`].
//! 3. After each input or command, drain [`Server::poll_output`] until it returns `None`: send
//!    [`Output::Respond`], start [`Output::StartStream`], write [`Output::Data`], end
//!    [`Output::Finish`], and hand [`Output::Event`] to the application.
//! 4. Read [`Server::poll_timeout`] and sleep until then, or until the next input.
//!
//! ## Time
//!
//! Every input takes `now`. The server never reads a clock; a `now` earlier than one already
//! seen is treated as that one. Calling [`Server::handle_timeout`] early is harmless.
//!
//! ## Backpressure
//!
//! Each SSE stream counts the bytes handed out in [`Output::Data`] until the adapter credits them
//! back with [`Server::handle_consumed`]. A stream at [`Config::stream_queue_bytes`] refuses new
//! work (`503` + `Retry-After` for a request `POST`, [`SendError::QueueFull`] for the
//! application) while replies to requests it already accepted are always queued: nothing
//! accepted is dropped, and one slow reader never holds up another stream.
//!
//! ## Example
//!
//! No runtime is needed: this drives the server with plain values.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use mcp_sse_core::{Config, Event, Output, Server};
//!
//! let mut server = Server::new(Config::default());
//! let now = Instant::now();
//! let (head, ()) = http::Request::post("/mcp")
//!     .header("content-type", "application/json")
//!     .header("accept", "application/json, text/event-stream")
//!     .body(())
//!     .unwrap()
//!     .into_parts();
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
//! server.handle_request(now, head, Bytes::from_static(body));
//!
//! let result = r#"{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"x","version":"1"}}"#;
//! let raw = serde_json::value::RawValue::from_string(result.into()).unwrap();
//! while let Some(output) = server.poll_output() {
//!     match output {
//!         Output::Event(Event::Request { key, request, .. }) => {
//!             assert_eq!(request.method, "initialize");
//!             server.reply(now, key, Ok(&raw)).unwrap();
//!         }
//!         Output::Respond { response, .. } => {
//!             // JSON, because the answer came before anything else (S2.9).
//!             assert_eq!(response.status(), 200);
//!             assert!(response.headers().contains_key("mcp-session-id"));
//!         }
//!         _ => {}
//!     }
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod change;
mod chunk;
mod cluster;
mod config;
mod cors;
mod effects;
mod error;
#[cfg(feature = "_fuzzing")]
pub mod fuzzing;
pub mod headers;
mod http_sse;
mod ids;
pub mod jsonrpc;
mod listen;
mod listeners;
mod members;
mod output;
mod replay;
mod requests;
mod responses;
mod router;
mod server;
mod sessions;
mod shared;
pub mod sse;
mod streamable;
mod streams;
mod timer;
mod transport;
mod v2026;
mod version;

pub use auth::{Authorization, Credentials, Principal};
pub use change::Change;
pub use chunk::Chunk;
pub use config::{
    Cluster, Config, HostPolicy, ListenSupport, ParamKind, ResponseMode, ToolHeader, V2026,
};
pub use cors::{Cors, OriginPolicy};
pub use effects::Stats;
pub use error::{ReplyError, SendError};
pub use ids::{ExchangeId, IdGenerator, OsRandom, RequestKey, SequentialIds, SessionId};
pub use output::{Event, Output};
pub use replay::{EventId, EventStore, MemoryStore, StreamId};
pub use responses::{BodyUnread, Unavailable};
pub use server::{Server, Target};
pub use shared::{Answer, Handover, Notice, Recovery, SessionRecord, Shared, StreamMeta, Ticket};
pub use timer::TimerKind;
pub use transport::{CloseReason, Transport};
pub use version::ProtocolVersion;
