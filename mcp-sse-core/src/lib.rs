//! Sans-IO MCP transport over HTTP + Server-Sent Events (crate docs: see the end of this task).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chunk;
pub mod jsonrpc;
pub mod sse;

pub use chunk::Chunk;
