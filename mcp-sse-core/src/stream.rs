//! Per-exchange state: an SSE stream's queue accounting and keepalive clock, or a request that
//! waits for the application before anything is sent.

use std::time::Instant;

use http::HeaderValue;

use crate::{RequestKey, SessionId};

/// An exchange the server has not finished answering.
#[derive(Debug)]
pub(crate) enum Exchange {
    /// A `POST` answered on its own: nothing sent yet. The application's first output decides
    /// the shape: a reply becomes a JSON response, a notification starts an SSE stream.
    Waiting {
        key: RequestKey,
        /// The allowed `Origin` of the request, for the CORS headers of the eventual answer.
        origin: Option<HeaderValue>,
    },
    /// An SSE response whose head went out.
    Stream(Stream),
}

/// What an SSE stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamRole {
    /// The one stream of a 2024-11-05 session: every server message of the session.
    Legacy(SessionId),
    /// The answer to one request, closed after the reply.
    Request(RequestKey),
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) role: StreamRole,
    /// Bytes handed out in `Output::Data` that the adapter has not credited back.
    pub(crate) unconsumed: usize,
    /// When a frame was last handed out: keepalives fill silences, not busy streams.
    pub(crate) last_write: Instant,
}

impl Stream {
    pub(crate) fn new(role: StreamRole, now: Instant) -> Self {
        Self {
            role,
            unconsumed: 0,
            last_write: now,
        }
    }
}
