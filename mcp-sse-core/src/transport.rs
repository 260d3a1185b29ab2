//! What kind of session or message a value belongs to ([`Transport`]), and why a session ended
//! ([`CloseReason`]).

/// The transport generation a message or session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// The 2024-11-05 HTTP+SSE transport: `GET /sse` (or `GET` on the MCP endpoint naming no
    /// session) opens the session's stream, `POST`s name it in the `endpoint` URI. Replies
    /// travel on the session's stream.
    HttpSse,
    /// Streamable HTTP with a session (2025-03-26 … 2025-11-25): `POST`s answered with JSON or
    /// an SSE stream, a standalone `GET` stream, `DELETE`, resumability.
    Streamable,
    /// Streamable HTTP without a session under the 2025 rules ([`Config::stateless`]): every
    /// `POST` is answered on its own, with JSON or an SSE stream scoped to the request.
    ///
    /// [`Config::stateless`]: crate::Config::stateless
    Stateless,
    /// Streamable HTTP 2026-07-28: a self-describing request with no session (S3.1); closing
    /// its response stream cancels it (S3.15).
    Streamable2026,
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the session's stream (S1.5, S1.9).
    ClientGone,
    /// The application closed it with [`Server::close_session`](crate::Server::close_session).
    Closed,
    /// The server is shutting down.
    Shutdown,
    /// The client ended it with `DELETE` (S2.42).
    Deleted,
    /// It was idle for `Config::idle_timeout`, or its client never spoke after `initialize`
    /// within `Config::init_timeout`.
    Expired,
    /// The bearer token its stream was opened with expired (a 2024-11-05 session, whose stream
    /// is the session): the client opens a new one with a fresh token.
    TokenExpired,
    /// The session table was full (`Config::max_sessions`) and this was the least recently
    /// active idle session: a new client took its place.
    Evicted,
}
