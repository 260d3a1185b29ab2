//! Sessions: what the server remembers between the requests of one client.

use std::time::Instant;

use http::HeaderValue;

use crate::replay::StreamId;
use crate::{ProtocolVersion, Transport};

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) transport: Transport,
    /// The version the application's `initialize` answer named (S5.14); `None` before it.
    pub(crate) version: Option<ProtocolVersion>,
    /// The id as a header value, validated once.
    pub(crate) header: HeaderValue,
    /// Requests handed to the application and not answered yet (`Config::max_requests_in_flight`).
    pub(crate) in_flight: usize,
    /// The session's streams: the 2024-11-05 stream, the standalone stream, `POST` answers.
    pub(crate) streams: Vec<StreamId>,
    /// The standalone `GET` stream (S2.18), newest wins.
    pub(crate) standalone: Option<StreamId>,
    /// Whether the client spoke after the `initialize` answer (`Config::init_timeout`).
    pub(crate) initialized: bool,
    pub(crate) created: Instant,
    /// The last request naming the session, or the last stream of it to close.
    pub(crate) last_active: Instant,
}

impl Session {
    pub(crate) fn new(transport: Transport, header: HeaderValue, now: Instant) -> Self {
        Self {
            transport,
            version: None,
            header,
            in_flight: 0,
            streams: Vec::new(),
            standalone: None,
            initialized: false,
            created: now,
            last_active: now,
        }
    }
}
