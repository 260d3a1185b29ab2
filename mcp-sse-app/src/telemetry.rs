//! What operators see of the server: `tracing` spans for each HTTP exchange, session and handled
//! request, and metrics through the [`metrics`] facade (their names are in README.md's table).
//!
//! Both cost next to nothing when nobody listens. A span is made only when its level is
//! enabled (otherwise the macro's one check of the subscriber's interest), and the clock is read
//! for it only then. Every metric has a static key, so with no recorder installed an update is
//! the facade's check for one and nothing more: no allocation, no clock read. The driver reports
//! what it sees (its outputs, the core's events and counters); the core never calls the facade.

use std::fmt;
use std::time::{Duration, Instant};

use http::{Extensions, StatusCode, response};
use mcp_sse_core::jsonrpc;
use mcp_sse_core::{BodyUnread, CloseReason, SessionId, Stats, Transport, Unavailable};
use metrics::{Key, KeyName, Label, Level, Metadata, SharedString, Unit};
use tracing::Span;
use tracing::field::Empty;

use crate::runtime::Runtime;

/// HTTP requests answered, by `transport` and `status`.
pub(crate) const REQUESTS: &str = "mcp_http_requests_total";
/// Requests answered with a 4xx or 5xx status, by `reason`.
pub(crate) const REFUSALS: &str = "mcp_http_refusals_total";
/// Sessions alive.
pub(crate) const SESSIONS_OPEN: &str = "mcp_sessions_open";
/// Sessions opened, by `transport`.
pub(crate) const SESSIONS_OPENED: &str = "mcp_sessions_opened_total";
/// Sessions ended, by `reason`.
pub(crate) const SESSIONS_CLOSED: &str = "mcp_sessions_closed_total";
/// SSE response streams open.
pub(crate) const STREAMS_OPEN: &str = "mcp_streams_open";
/// Bytes of SSE frames handed to connections and not yet taken by them.
pub(crate) const QUEUED_BYTES: &str = "mcp_stream_queued_bytes";
/// Streams resumed with `Last-Event-ID`.
pub(crate) const RESUMES: &str = "mcp_stream_resumes_total";
/// Streams aborted because their client stopped reading.
pub(crate) const STALLED: &str = "mcp_streams_stalled_total";
/// JSON-RPC messages handed to the application.
pub(crate) const MESSAGES_IN: &str = "mcp_messages_in_total";
/// JSON-RPC messages the application had sent: replies, notifications, requests.
pub(crate) const MESSAGES_OUT: &str = "mcp_messages_out_total";
/// From a request's arrival to its handler's answer, by `transport`.
pub(crate) const HANDLER_SECONDS: &str = "mcp_handler_duration_seconds";

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// A static key: its labels are built at compile time, so using it allocates nothing.
macro_rules! key {
    ($name:expr $(, $label:literal => $value:expr)*) => {{
        static LABELS: [Label; [$($label),*].len()] =
            [$(Label::from_static_parts($label, $value)),*];
        Key::from_static_parts($name, &LABELS)
    }};
}

/// Label values of a transport generation, by [`transport_index`].
const TRANSPORTS: [&str; 5] = [
    "http_sse",
    "streamable",
    "stateless",
    "streamable_2026",
    "unknown",
];

fn transport_index(transport: Option<Transport>) -> usize {
    match transport {
        Some(Transport::HttpSse) => 0,
        Some(Transport::Streamable) => 1,
        Some(Transport::Stateless) => 2,
        Some(Transport::Streamable2026) => 3,
        _ => 4,
    }
}

/// A key for each transport label value, in the order of [`TRANSPORTS`].
macro_rules! by_transport {
    ($name:expr $(, $label:literal => $value:literal)*) => {
        [
            key!($name, $($label => $value,)* "transport" => TRANSPORTS[0]),
            key!($name, $($label => $value,)* "transport" => TRANSPORTS[1]),
            key!($name, $($label => $value,)* "transport" => TRANSPORTS[2]),
            key!($name, $($label => $value,)* "transport" => TRANSPORTS[3]),
            key!($name, $($label => $value,)* "transport" => TRANSPORTS[4]),
        ]
    };
}

/// The statuses the server answers with, each a label value of its own; any other is `other`.
const STATUSES: [u16; 15] = [
    200, 202, 204, 400, 401, 403, 404, 405, 406, 408, 409, 413, 415, 500, 503,
];

fn status_index(status: StatusCode) -> usize {
    STATUSES
        .iter()
        .position(|&code| code == status.as_u16())
        .unwrap_or(STATUSES.len())
}

/// `[status][transport]`, statuses in the order of [`STATUSES`], then `other`.
static REQUEST_KEYS: [[Key; TRANSPORTS.len()]; STATUSES.len() + 1] = [
    by_transport!(REQUESTS, "status" => "200"),
    by_transport!(REQUESTS, "status" => "202"),
    by_transport!(REQUESTS, "status" => "204"),
    by_transport!(REQUESTS, "status" => "400"),
    by_transport!(REQUESTS, "status" => "401"),
    by_transport!(REQUESTS, "status" => "403"),
    by_transport!(REQUESTS, "status" => "404"),
    by_transport!(REQUESTS, "status" => "405"),
    by_transport!(REQUESTS, "status" => "406"),
    by_transport!(REQUESTS, "status" => "408"),
    by_transport!(REQUESTS, "status" => "409"),
    by_transport!(REQUESTS, "status" => "413"),
    by_transport!(REQUESTS, "status" => "415"),
    by_transport!(REQUESTS, "status" => "500"),
    by_transport!(REQUESTS, "status" => "503"),
    by_transport!(REQUESTS, "status" => "other"),
];
static SESSIONS_OPENED_KEYS: [Key; TRANSPORTS.len()] = by_transport!(SESSIONS_OPENED);
static HANDLER_KEYS: [Key; TRANSPORTS.len()] = by_transport!(HANDLER_SECONDS);
static SESSIONS_OPEN_KEY: Key = Key::from_static_name(SESSIONS_OPEN);
static STREAMS_OPEN_KEY: Key = Key::from_static_name(STREAMS_OPEN);
static QUEUED_BYTES_KEY: Key = Key::from_static_name(QUEUED_BYTES);
static RESUMES_KEY: Key = Key::from_static_name(RESUMES);
static STALLED_KEY: Key = Key::from_static_name(STALLED);
static MESSAGES_IN_KEY: Key = Key::from_static_name(MESSAGES_IN);
static MESSAGES_OUT_KEY: Key = Key::from_static_name(MESSAGES_OUT);

/// Defines an enum of label values with the static key of each.
macro_rules! labelled {
    (
        $(#[$meta:meta])* $name:ident, $keys:ident: $metric:expr, $label:literal;
        $($(#[$doc:meta])* $variant:ident => $value:literal,)*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $($(#[$doc])* $variant,)*
        }

        static $keys: [Key; [$($value),*].len()] = [$(key!($metric, $label => $value)),*];

        impl $name {
            #[cfg(test)]
            const ALL: &[Self] = &[$(Self::$variant),*];

            /// Its label value.
            pub(crate) fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)*
                }
            }

            fn key(self) -> &'static Key {
                &$keys[self as usize]
            }
        }
    };
}

labelled! {
    /// Why a request was refused (`reason` of [`REFUSALS`]): from its status and the JSON-RPC
    /// error that says why, or the app's own refusals.
    Refusal, REFUSAL_KEYS: REFUSALS, "reason";
    ParseError => "parse_error",
    InvalidRequest => "invalid_request",
    InvalidParams => "invalid_params",
    HeaderMismatch => "header_mismatch",
    MissingCapability => "missing_capability",
    UnsupportedVersion => "unsupported_version",
    /// Any other `400`: a missing session id, a malformed `Host`, a bad `Last-Event-ID`.
    BadRequest => "bad_request",
    /// The body could not be read (the client went away, or sent a malformed body).
    BodyFailed => "body_failed",
    Unauthorized => "unauthorized",
    /// `Host` or `Origin` not allowed, or a token without the scopes needed.
    Forbidden => "forbidden",
    SessionNotFound => "session_not_found",
    MethodNotFound => "method_not_found",
    /// No such path.
    NotFound => "not_found",
    MethodNotAllowed => "method_not_allowed",
    NotAcceptable => "not_acceptable",
    /// The body did not arrive within the body read timeout.
    BodyTimeout => "body_timeout",
    /// A second stream on a 2024-11-05 session.
    Conflict => "conflict",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    /// At `max_sessions` with every session busy.
    SessionsFull => "sessions_full",
    /// A session at `max_requests_in_flight`, or its stream's queue full.
    SessionBusy => "session_busy",
    /// At the cap of `subscriptions/listen` streams.
    ListenersFull => "listeners_full",
    ShuttingDown => "shutting_down",
    /// The bearer token could not be checked (the verifier unreachable or late).
    TokenUnchecked => "token_unchecked",
    /// In a cluster, the shared store did not answer in time, or too many requests waited.
    StoreUnavailable => "store_unavailable",
    /// The server went away before answering.
    Unavailable => "unavailable",
    /// A 4xx or 5xx not named above.
    Other => "other",
}

labelled! {
    /// Why a session ended (`reason` of [`SESSIONS_CLOSED`]).
    Ended, ENDED_KEYS: SESSIONS_CLOSED, "reason";
    ClientGone => "client_gone",
    Closed => "closed",
    Shutdown => "shutdown",
    Deleted => "deleted",
    Expired => "expired",
    TokenExpired => "token_expired",
    Evicted => "evicted",
    Other => "other",
}

impl Ended {
    fn of(reason: CloseReason) -> Self {
        match reason {
            CloseReason::ClientGone => Self::ClientGone,
            CloseReason::Closed => Self::Closed,
            CloseReason::Shutdown => Self::Shutdown,
            CloseReason::Deleted => Self::Deleted,
            CloseReason::Expired => Self::Expired,
            CloseReason::TokenExpired => Self::TokenExpired,
            CloseReason::Evicted => Self::Evicted,
            _ => Self::Other,
        }
    }
}

impl Refusal {
    /// Why a response of `status` with `body` refused its request; `None` for a success. The
    /// core's `503`s say why in the response's `extensions`.
    pub(crate) fn of(status: StatusCode, extensions: &Extensions, body: &[u8]) -> Option<Self> {
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        match extensions.get::<BodyUnread>() {
            Some(BodyUnread::Failed) => return Some(Self::BodyFailed),
            Some(BodyUnread::Late(_)) => return Some(Self::BodyTimeout),
            _ => {}
        }
        let refusal = match (status.as_u16(), error_code(body)) {
            (400, Some(jsonrpc::PARSE_ERROR)) => Self::ParseError,
            (400, Some(jsonrpc::INVALID_REQUEST)) => Self::InvalidRequest,
            (400, Some(jsonrpc::INVALID_PARAMS)) => Self::InvalidParams,
            (400, Some(jsonrpc::HEADER_MISMATCH)) => Self::HeaderMismatch,
            (400, Some(jsonrpc::MISSING_CLIENT_CAPABILITY)) => Self::MissingCapability,
            (400, Some(jsonrpc::UNSUPPORTED_PROTOCOL_VERSION)) => Self::UnsupportedVersion,
            (400, _) => Self::BadRequest,
            (401, _) => Self::Unauthorized,
            (403, _) => Self::Forbidden,
            (404, Some(jsonrpc::SESSION_NOT_FOUND)) => Self::SessionNotFound,
            (404, Some(jsonrpc::METHOD_NOT_FOUND)) => Self::MethodNotFound,
            (404, _) => Self::NotFound,
            (405, _) => Self::MethodNotAllowed,
            (406, _) => Self::NotAcceptable,
            (408, _) => Self::BodyTimeout,
            (409, _) => Self::Conflict,
            (413, _) => Self::PayloadTooLarge,
            (415, _) => Self::UnsupportedMediaType,
            (503, _) => match extensions.get::<Unavailable>() {
                Some(Unavailable::SessionsFull) => Self::SessionsFull,
                Some(Unavailable::SessionBusy) => Self::SessionBusy,
                Some(Unavailable::ListenersFull) => Self::ListenersFull,
                Some(Unavailable::ShuttingDown) => Self::ShuttingDown,
                Some(Unavailable::TokenUnchecked) => Self::TokenUnchecked,
                Some(Unavailable::StoreUnavailable) => Self::StoreUnavailable,
                _ => Self::Unavailable,
            },
            _ => Self::Other,
        };
        Some(refusal)
    }

    /// A refusal of the server's own making is a capacity or shutdown matter; the others are
    /// a peer's mistake.
    fn is_capacity(self) -> bool {
        matches!(
            self,
            Self::SessionsFull
                | Self::SessionBusy
                | Self::ListenersFull
                | Self::ShuttingDown
                | Self::TokenUnchecked
                | Self::StoreUnavailable
                | Self::Unavailable
        )
    }
}

/// The code of a JSON-RPC error body, where it is one.
fn error_code(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Body {
        error: Error,
    }
    #[derive(serde::Deserialize)]
    struct Error {
        code: i64,
    }
    let body = serde_json::from_slice::<Body>(body).ok()?;
    Some(body.error.code)
}

/// What a metric is, for the recorder.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric: its name, kind, unit and description (README.md's table lists the same).
const METRICS: [(&str, Kind, Unit, &str); 12] = [
    (
        REQUESTS,
        Kind::Counter,
        Unit::Count,
        "HTTP requests answered, by transport generation and status.",
    ),
    (
        REFUSALS,
        Kind::Counter,
        Unit::Count,
        "Requests answered with a 4xx or 5xx status, by reason.",
    ),
    (SESSIONS_OPEN, Kind::Gauge, Unit::Count, "Sessions alive."),
    (
        SESSIONS_OPENED,
        Kind::Counter,
        Unit::Count,
        "Sessions opened, by transport generation.",
    ),
    (
        SESSIONS_CLOSED,
        Kind::Counter,
        Unit::Count,
        "Sessions ended, by reason (evicted: to make room at max_sessions).",
    ),
    (
        STREAMS_OPEN,
        Kind::Gauge,
        Unit::Count,
        "SSE response streams with a connection.",
    ),
    (
        QUEUED_BYTES,
        Kind::Gauge,
        Unit::Bytes,
        "Bytes of SSE frames handed to connections and not yet taken by them.",
    ),
    (
        RESUMES,
        Kind::Counter,
        Unit::Count,
        "Streams resumed with Last-Event-ID.",
    ),
    (
        STALLED,
        Kind::Counter,
        Unit::Count,
        "Streams aborted because their client stopped reading (stall_timeout).",
    ),
    (
        MESSAGES_IN,
        Kind::Counter,
        Unit::Count,
        "JSON-RPC messages handed to the application.",
    ),
    (
        MESSAGES_OUT,
        Kind::Counter,
        Unit::Count,
        "JSON-RPC messages the application had sent: replies, notifications, requests.",
    ),
    (
        HANDLER_SECONDS,
        Kind::Histogram,
        Unit::Seconds,
        "From a request's arrival to its handler's answer, by transport generation.",
    ),
];

/// Gives the metrics their descriptions and units, for a recorder that shows them (Prometheus'
/// `# HELP`), and the counters without labels their first value, so that they are shown at 0
/// before they first move. Called when a server starts.
pub(crate) fn describe() {
    for key in [
        &RESUMES_KEY,
        &STALLED_KEY,
        &MESSAGES_IN_KEY,
        &MESSAGES_OUT_KEY,
    ] {
        add(key, 0);
    }
    metrics::with_recorder(|recorder| {
        for (name, kind, unit, help) in METRICS {
            let (name, help) = (KeyName::from_const_str(name), SharedString::const_str(help));
            match kind {
                Kind::Counter => recorder.describe_counter(name, Some(unit), help),
                Kind::Gauge => recorder.describe_gauge(name, Some(unit), help),
                Kind::Histogram => recorder.describe_histogram(name, Some(unit), help),
            }
        }
    });
}

fn increment(key: &'static Key) {
    add(key, 1);
}

fn add(key: &'static Key, n: u64) {
    metrics::with_recorder(|recorder| recorder.register_counter(key, &METADATA).increment(n));
}

/// Moves a gauge from `last` to `now` by their difference, so that the servers of one process
/// add up.
fn shift(key: &'static Key, last: usize, now: usize) {
    metrics::with_recorder(|recorder| {
        let gauge = recorder.register_gauge(key, &METADATA);
        match now > last {
            true => gauge.increment((now - last) as f64),
            false => gauge.decrement((last - now) as f64),
        }
    });
}

/// A session opened.
pub(crate) fn session_opened(transport: Transport) {
    increment(&SESSIONS_OPENED_KEYS[transport_index(Some(transport))]);
}

/// A handler of a request of `transport` answered after `elapsed`.
pub(crate) fn handler_done(transport: Transport, elapsed: Duration) {
    let key = &HANDLER_KEYS[transport_index(Some(transport))];
    metrics::with_recorder(|recorder| {
        recorder
            .register_histogram(key, &METADATA)
            .record(elapsed.as_secs_f64());
    });
}

/// An HTTP request answered: counted by transport and status, and by reason when refused.
fn answered(transport: Option<Transport>, status: StatusCode, refusal: Option<Refusal>) {
    increment(&REQUEST_KEYS[status_index(status)][transport_index(transport)]);
    if let Some(refusal) = refusal {
        increment(refusal.key());
    }
}

/// The gauges and the core's counters as last reported by one server: only changes are
/// reported, and as differences, so that several servers in one process add up.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    sessions: usize,
    streams: usize,
    queued: usize,
    stats: Stats,
}

impl Gauges {
    /// Reports what changed since the last call: the gauges, and how far the core's counters
    /// moved.
    pub(crate) fn update(&mut self, sessions: usize, streams: usize, queued: usize, stats: &Stats) {
        for (last, now, key) in [
            (&mut self.sessions, sessions, &SESSIONS_OPEN_KEY),
            (&mut self.streams, streams, &STREAMS_OPEN_KEY),
            (&mut self.queued, queued, &QUEUED_BYTES_KEY),
        ] {
            if *last != now {
                shift(key, *last, now);
                *last = now;
            }
        }
        let last = &mut self.stats;
        for (last, now, key) in [
            (&mut last.messages_in, stats.messages_in, &MESSAGES_IN_KEY),
            (
                &mut last.messages_out,
                stats.messages_out,
                &MESSAGES_OUT_KEY,
            ),
            (&mut last.resumes, stats.resumes, &RESUMES_KEY),
            (&mut last.stalled, stats.stalled, &STALLED_KEY),
        ] {
            if now > *last {
                add(key, now - *last);
                *last = now;
            }
        }
    }
}

/// One HTTP exchange as operators see it: its span (`http`, at `debug`) with the time it
/// started, or nothing when that level is off; and its counts once answered.
#[derive(Debug)]
pub(crate) struct Exchange(Option<Box<Traced>>);

#[derive(Debug)]
struct Traced {
    span: Span,
    started: Instant,
}

impl Exchange {
    /// An exchange whose request has `head`.
    pub(crate) fn start(head: &http::request::Parts, runtime: &dyn Runtime) -> Self {
        let span = tracing::debug_span!(
            "http",
            method = %head.method,
            path = %head.uri.path(),
            transport = Empty,
            session = Empty,
            status = Empty,
        );
        if span.is_disabled() {
            return Self(None);
        }
        Self(Some(Box::new(Traced {
            span,
            started: runtime.now(),
        })))
    }

    /// Runs `f` in the exchange's span: the core's lines about the request (why it was
    /// refused) go there.
    pub(crate) fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.0 {
            Some(traced) => traced.span.in_scope(f),
            None => f(),
        }
    }

    /// The app refused the request before the core saw it, for `why`.
    pub(crate) fn refused(self, status: StatusCode, refusal: Refusal, why: &dyn fmt::Display) {
        answered(None, status, Some(refusal));
        let parent = self.0.as_ref().map(|traced| traced.span.id());
        match refusal.is_capacity() {
            true => {
                tracing::info!(parent: parent.flatten(), %status, reason = refusal.label(), "refused: {why}")
            }
            false => {
                tracing::debug!(parent: parent.flatten(), %status, reason = refusal.label(), "refused: {why}")
            }
        }
    }

    /// The response head is ready: counts it, and names its transport, session and status in
    /// the span. `body` is the whole body of a complete response, `None` for a stream. Returns
    /// what follows the stream, if there is one and the span is on.
    pub(crate) fn answered(
        self,
        runtime: &dyn Runtime,
        head: &response::Parts,
        body: Option<&[u8]>,
        transport: Option<Transport>,
    ) -> Option<StreamTrace> {
        let status = head.status;
        let refusal = body.and_then(|body| Refusal::of(status, &head.extensions, body));
        answered(transport, status, refusal);
        let traced = self.0?;
        let span = &traced.span;
        span.record("status", status.as_u16());
        if let Some(transport) = transport {
            span.record("transport", TRANSPORTS[transport_index(Some(transport))]);
        }
        if let Some(session) = head
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            span.record("session", tracing::field::display(session));
        }
        let elapsed = runtime.now().saturating_duration_since(traced.started);
        if body.is_some() {
            tracing::debug!(parent: span, ?elapsed, "answered");
            return None;
        }
        tracing::debug!(parent: span, ?elapsed, "stream started");
        Some(StreamTrace(traced))
    }
}

/// The span of an exchange answered with a stream, until the stream ends.
#[derive(Debug)]
pub(crate) struct StreamTrace(Box<Traced>);

impl StreamTrace {
    /// The stream ended: `finished` by the server, or dropped before (the client went away).
    pub(crate) fn ended(self, runtime: &dyn Runtime, finished: bool) {
        let elapsed = runtime.now().saturating_duration_since(self.0.started);
        tracing::debug!(parent: &self.0.span, ?elapsed, finished, "stream ended");
    }
}

/// A session's span (`session`, at `debug`) from its opening to its end.
#[derive(Debug)]
pub(crate) struct SessionTrace {
    span: Span,
    opened: Instant,
}

impl SessionTrace {
    /// The span of a session that just opened, when `debug` is on; counts it either way.
    pub(crate) fn open(session: &SessionId, transport: Transport, now: Instant) -> Option<Self> {
        session_opened(transport);
        // A root: the session outlives the exchange that opened it.
        let span = tracing::debug_span!(
            parent: None,
            "session",
            id = %session,
            transport = TRANSPORTS[transport_index(Some(transport))],
        );
        if span.is_disabled() {
            return None;
        }
        tracing::debug!(parent: &span, "session opened");
        Some(Self { span, opened: now })
    }

    /// A session ended for `reason`: counted, and said in its span with how long it lived. An
    /// eviction is said at `info`: the session table is at its cap.
    pub(crate) fn close(
        trace: Option<Self>,
        session: &SessionId,
        reason: CloseReason,
        now: Instant,
    ) {
        let closed = Ended::of(reason);
        increment(closed.key());
        let lived = trace
            .as_ref()
            .map(|trace| now.saturating_duration_since(trace.opened));
        let parent = trace.as_ref().and_then(|trace| trace.span.id());
        let reason = closed.label();
        match closed {
            Ended::Evicted => tracing::info!(
                parent: parent,
                %session,
                reason,
                ?lived,
                "session evicted: the session table is full (max_sessions)"
            ),
            _ => tracing::debug!(parent: parent, %session, reason, ?lived, "session closed"),
        }
    }
}

/// The span of one handled request (`request`, at `debug`): its handler's task runs in it.
pub(crate) fn request_span(method: &str, id: &jsonrpc::Id, session: Option<&SessionId>) -> Span {
    tracing::debug_span!("request", method, %id, session = session.map(tracing::field::display))
}

#[cfg(test)]
mod tests;
