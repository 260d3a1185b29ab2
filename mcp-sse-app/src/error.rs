//! [`RequestError`]: why a request sent to a client got no result; [`Aborted`]: why a stream
//! body ended early.

use mcp_sse_core::SendError;
use mcp_sse_core::jsonrpc::ErrorObject;

/// Why a request to the client got no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The message could not be queued.
    #[error("could not send: {0}")]
    Send(#[from] SendError),
    /// The client answered with a JSON-RPC error.
    #[error("the client answered with error {}: {}", .0.code, .0.message)]
    Rejected(ErrorObject),
    /// The session or the server ended before an answer came.
    #[error("no answer: the session or the server ended")]
    Gone,
}

/// What a stream body ends with when the server aborts it: its client stopped reading for
/// `Config::stall_timeout`. hyper then closes the connection (HTTP/1.1) or resets the stream
/// (HTTP/2), which frees what the stream held.
#[derive(Debug, thiserror::Error)]
#[error("the client stopped reading this stream")]
pub struct Aborted;
