//! The responses the server builds: JSON bodies, JSON-RPC errors over HTTP, `202`, `405`,
//! `503`, the SSE head; and [`Ctx`], what every response of one exchange carries.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::cors::CorsHeaders;
use crate::effects::Effects;
use crate::headers::{MCP_SESSION_ID, X_ACCEL_BUFFERING};
use crate::jsonrpc::{self, ErrorObject, Id};
use crate::{ExchangeId, Output};

const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// What every response of one exchange carries besides its own headers.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) exchange: ExchangeId,
    pub(crate) cors: CorsHeaders,
    /// The session the response belongs to: named on every response of it (S2.44).
    pub(crate) session: Option<HeaderValue>,
    /// When the request's bearer token expires: the streams it opens end then.
    pub(crate) token_expires: Option<Instant>,
}

impl Ctx {
    /// Sends a complete response with the headers every response of the exchange carries.
    pub(crate) fn respond(&self, fx: &mut Effects, mut response: Response<Bytes>) {
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            fx.stats.rejected += 1;
            // The body is the JSON-RPC error that says why; a peer's mistake is a debug line,
            // a refusal for capacity or shutdown an info one.
            let why = || String::from_utf8_lossy(response.body()).into_owned();
            match status.is_server_error() {
                true => tracing::info!(exchange = %self.exchange, %status, body = why(), "refused"),
                false => {
                    tracing::debug!(exchange = %self.exchange, %status, body = why(), "refused")
                }
            }
        }
        self.decorate(response.headers_mut());
        fx.push(Output::Respond {
            exchange: self.exchange,
            response,
        });
    }

    /// Answers with an HTTP error whose body is a JSON-RPC error naming no request.
    pub(crate) fn reject(&self, fx: &mut Effects, status: StatusCode, message: &str) {
        self.respond(fx, error(status, None, jsonrpc::SERVER_ERROR, message));
    }

    /// Starts the SSE response of the exchange.
    pub(crate) fn start_stream(&self, fx: &mut Effects) {
        let mut head = sse_head();
        self.decorate(head.headers_mut());
        fx.push(Output::StartStream {
            exchange: self.exchange,
            head,
        });
    }

    fn decorate(&self, headers: &mut http::HeaderMap) {
        if let Some(session) = &self.session {
            headers.insert(MCP_SESSION_ID, session.clone());
        }
        self.cors.apply(headers);
    }
}

/// A complete JSON response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, APPLICATION_JSON);
    response
}

/// An HTTP error whose body is a JSON-RPC error (docs/requirements.md §6.3): the request id echoed
/// when it was read, `null` otherwise (S3.27, S5.9).
pub(crate) fn error(
    status: StatusCode,
    id: Option<&Id>,
    code: i64,
    message: &str,
) -> Response<Bytes> {
    json(
        status,
        jsonrpc::encode_error(id, &ErrorObject::new(code, message)),
    )
}

/// `404` for a session that does not exist, or not for this principal (S2.40, S4.6).
pub(crate) fn session_not_found(id: Option<&Id>) -> Response<Bytes> {
    error(
        StatusCode::NOT_FOUND,
        id,
        jsonrpc::SESSION_NOT_FOUND,
        "Session not found",
    )
}

/// `202 Accepted` with an empty body (S2.8).
pub(crate) fn accepted() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// `405 Method Not Allowed` with the `Allow` header RFC 9110 requires (S2.19).
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        jsonrpc::SERVER_ERROR,
        "Method not allowed",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Why the server answered `503 Service Unavailable`: capacity or shutdown, never a closed
/// session. A `503` response of the core carries it in its extensions, for metrics and logs
/// that tell the reasons apart without reading the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unavailable {
    /// `max_sessions` reached with every session busy (none could be evicted).
    SessionsFull,
    /// The session's `max_requests_in_flight` reached, or its stream's queue full.
    SessionBusy,
    /// `max_listeners` 2026-07-28 listen streams open.
    ListenersFull,
    /// The server is shutting down.
    ShuttingDown,
    /// The request's bearer token could not be checked (`Credentials::Unchecked`).
    TokenUnchecked,
    /// In a cluster, the shared store did not answer in time, or `Cluster::max_waiting`
    /// requests wait for it already.
    StoreUnavailable,
}

impl Unavailable {
    /// The message of the JSON-RPC error in the body.
    pub fn message(self) -> &'static str {
        match self {
            Self::SessionsFull => "Too many sessions",
            Self::SessionBusy => "Session busy: retry later",
            Self::ListenersFull => "Subscription limit reached",
            Self::ShuttingDown => "Shutting down",
            Self::TokenUnchecked => "Service Unavailable: the token could not be checked",
            Self::StoreUnavailable => "Service Unavailable: the session store did not answer",
        }
    }
}

/// Why the adapter has no body for a request, put in its extensions before
/// [`Server::handle_request`](crate::Server::handle_request): the server answers it with the
/// status that says so, its CORS headers and a JSON-RPC error, and nothing else happens. The
/// answer carries it in its extensions too, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyUnread {
    /// The body could not be read (the connection failed, or a malformed body): `400`.
    Failed,
    /// The body did not arrive within the adapter's read timeout: `408`, and over HTTP/1.x
    /// `Connection: close`, as the rest of the body may still come (RFC 9110 §15.5.9).
    Late(std::time::Duration),
}

impl BodyUnread {
    /// The answer to a request whose body is unread.
    pub(crate) fn response(self, version: http::Version) -> Response<Bytes> {
        let mut response = match self {
            Self::Failed => {
                let text = "Bad Request: the request body could not be read";
                error(StatusCode::BAD_REQUEST, None, jsonrpc::SERVER_ERROR, text)
            }
            Self::Late(timeout) => {
                let text = format!("Request Timeout: the body did not arrive within {timeout:?}");
                let mut response = error(
                    StatusCode::REQUEST_TIMEOUT,
                    None,
                    jsonrpc::SERVER_ERROR,
                    &text,
                );
                if version < http::Version::HTTP_2 {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                response
            }
        };
        response.extensions_mut().insert(self);
        response
    }
}

/// `503 Service Unavailable` with `Retry-After` and the reason in the extensions.
pub(crate) fn unavailable(
    reason: Unavailable,
    retry_after_secs: u32,
    id: Option<&Id>,
) -> Response<Bytes> {
    unavailable_saying(reason, retry_after_secs, id, reason.message())
}

/// [`unavailable`] with a message that says more than the reason's own.
pub(crate) fn unavailable_saying(
    reason: Unavailable,
    retry_after_secs: u32,
    id: Option<&Id>,
    message: &str,
) -> Response<Bytes> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        jsonrpc::SERVER_ERROR,
        message,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response.extensions_mut().insert(reason);
    response
}

/// The head of every SSE response (S1.7, S3.11, E5.2). No `Connection` header: it is forbidden
/// on HTTP/2, and HTTP/1.1 keeps connections alive anyway.
fn sse_head() -> Response<()> {
    let mut head = Response::new(());
    let headers = head.headers_mut();
    headers.insert(header::CONTENT_TYPE, EVENT_STREAM);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    head
}
