//! Sessions: what the server remembers between the requests of one client.

use http::HeaderValue;

use crate::{ExchangeId, Transport};

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) transport: Transport,
    /// The stream that carries the session's messages (2024-11-05: its life is the session's).
    pub(crate) stream: ExchangeId,
    /// Requests handed to the application and not answered yet (`Config::max_requests_in_flight`).
    pub(crate) in_flight: usize,
    /// The id as a header value, validated once.
    pub(crate) header: HeaderValue,
}
