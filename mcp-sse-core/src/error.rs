//! Errors for the application calling the [`Server`](crate::Server) API wrongly or too early.
//!
//! A peer's misbehaviour is never one of these: it becomes an HTTP error response.

/// Why [`Server::reply`](crate::Server::reply) did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The key was answered already, never issued, or its session or connection is gone.
    #[error("no request is waiting under that key")]
    UnknownRequest,
}

/// Why [`Server::send`](crate::Server::send) did not queue the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No such session, or it has ended.
    #[error("unknown or closed session")]
    UnknownSession,
    /// The request is answered already, or its session or connection is gone.
    #[error("unknown or finished request")]
    UnknownRequest,
    /// The stream holds `Config::stream_queue_bytes` its client has not read yet: try later.
    #[error("the stream's queue is full")]
    QueueFull,
    /// The session has no stream open that could carry a message now.
    #[error("no open stream to carry the message")]
    NoStream,
    /// 2026-07-28 forbids server-to-client requests on a response stream (S3.9): answer with
    /// an `input_required` result instead.
    #[error("2026-07-28 forbids server-to-client requests")]
    Forbidden,
    /// The stream cannot be closed early: its client could not resume it (no event ids, or a
    /// protocol version before 2025-11-25, S2.31/S2.33).
    #[error("the stream is not resumable")]
    NotResumable,
}
