//! # mcp-sse-server
//!
//! A typed MCP server on [`mcp_sse_app`], on any async runtime: tools are async functions whose
//! arguments are a `serde` + [`schemars`] type (the input schema is derived from it), prompts and
//! resources likewise; the server answers every MCP method for every protocol generation the
//! transport serves (2024-11-05 to 2026-07-28), and derives what the transport must know of it.
//!
//! ```no_run
//! use mcp_sse_server::{Context, Error, McpServer, Tool};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Add {
//!     /// The first number.
//!     a: f64,
//!     /// The second number.
//!     b: f64,
//! }
//!
//! async fn add(Add { a, b }: Add, _cx: Context) -> Result<String, Error> {
//!     Ok((a + b).to_string())
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let server = McpServer::builder("calculator", "1.0.0")
//!         .tool(Tool::new("add", "Adds two numbers", add))
//!         .build(mcp_sse_tokio::Tokio::current());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     mcp_sse_tokio::serve(listener, server.config(), server).await
//! }
//! ```
//!
//! ## What a handler gets
//! Its arguments, typed, and a [`Context`]: the session (if any), the HTTP request's head,
//! progress and log notifications, and questions to the client ([`Context::elicit`],
//! [`Context::sample`], [`Context::roots`]). A question is sent to the client at once in a
//! session, becomes an `input_required` round in 2026-07-28 (the answers come back with the next
//! request, sealed with HMAC-SHA-256 in `requestState`), and parks a task until `tasks/update`.
//!
//! ## Tasks
//! A tool registered with [`TaskSupport::Optional`] or [`TaskSupport::Required`] runs as a
//! task when a 2026-07-28 request declares the tasks extension (`io.modelcontextprotocol/tasks`,
//! SEP-2663): the call is answered at once with the task, which the client polls with
//! `tasks/get`, answers with `tasks/update` and stops with `tasks/cancel`. The store is bounded
//! ([`TaskLimits`]).
//!
//! ## Schema types
//! Results and content are the types of [`rust_mcp_schema`] (MCP's schema, generated from the
//! spec, with serde only), re-exported as [`schema`]; [`content`] has short constructors.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
#[cfg(feature = "cli")]
pub mod cli;
pub mod content;
mod context;
mod derive;
mod error;
#[cfg(feature = "cli")]
pub mod example;
#[cfg(feature = "cli")]
pub mod exporter;
mod level;
mod prompt;
mod resource;
mod seal;
mod server;
mod tasks;
mod tool;

pub use builder::{Options, ServerBuilder};
pub use content::{IntoToolResult, Json};
pub use context::{Ask, Context};
pub use derive::NoArguments;
pub use error::Error;
pub use prompt::{IntoPromptResult, Prompt};
pub use resource::{Resource, ResourceTemplate};
pub use seal::StateKey;
pub use server::McpServer;
pub use tasks::TaskLimits;
pub use tool::{TaskSupport, Tool};

pub use mcp_sse_app::core::Change;
pub use mcp_sse_app::{Config, Handle, Principal, RequestContext, Runtime, SessionId};

/// MCP's schema types (the 2025-11-25 revision's, which 2026-07-28 results extend).
pub use rust_mcp_schema as schema;
