//! [`Server`]: the state machine, its inputs, commands and outputs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode, request};
use serde_json::value::RawValue;

use crate::config::{Config, HostPolicy};
use crate::cors::{self, Origin};
use crate::error::{ReplyError, SendError};
use crate::ids::{IdGenerator, OsRandom, session_id_from};
use crate::jsonrpc::{self, ErrorObject};
use crate::listen::Listener;
use crate::modern::{self, Era};
use crate::replay::{EventStore, MemoryStore, StreamId};
use crate::session::Session;
use crate::stream::{Stream, Wire};
use crate::timer::{TimerKind, Timers};
use crate::wire::{self, MCP_SESSION_ID};
use crate::{
    CloseReason, Event, ExchangeId, Output, ProtocolVersion, RequestKey, SessionId, Transport,
};

/// The MCP transport state machine: HTTP exchanges in, responses, SSE bytes and application
/// events out. It owns sessions, streams, timers and queues, and performs no IO.
///
/// Its methods fall into four groups:
/// - **getters** (`&self`): [`config`](Self::config), [`stats`](Self::stats), counts;
/// - **inputs** from the adapter, `now` first: [`handle_request`](Self::handle_request),
///   [`handle_consumed`](Self::handle_consumed), [`handle_disconnect`](Self::handle_disconnect),
///   [`handle_timeout`](Self::handle_timeout);
/// - **commands** from the application: [`reply`](Self::reply), [`send`](Self::send),
///   [`close_stream`](Self::close_stream), [`close_session`](Self::close_session),
///   [`shutdown`](Self::shutdown);
/// - **outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, call `poll_output` until it returns `None`, then read
/// `poll_timeout` and call `handle_timeout` no later than the instant it gives.
#[derive(Debug)]
pub struct Server {
    pub(crate) config: Config,
    ids: Box<dyn IdGenerator>,
    /// Random per instance; part of every event id, so ids from before a restart are known.
    pub(crate) epoch: u32,
    /// The latest `now` seen: time never runs backwards inside the server.
    now: Option<Instant>,
    next_exchange: u64,
    next_request: u64,
    next_stream: u64,
    /// Unfinished exchanges and the stream answering each.
    pub(crate) exchanges: HashMap<ExchangeId, StreamId>,
    pub(crate) streams: HashMap<StreamId, Stream>,
    /// The bytes of every open SSE response, including ones finishing behind a backlog.
    pub(crate) wires: HashMap<ExchangeId, Wire>,
    pub(crate) sessions: HashMap<SessionId, Session>,
    pub(crate) requests: HashMap<RequestKey, Pending>,
    pub(crate) listeners: HashMap<StreamId, Listener>,
    pub(crate) store: Box<dyn EventStore>,
    pub(crate) timers: Timers,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) stats: Stats,
    shutting_down: bool,
    last_timeout_reason: Option<TimerKind>,
}

/// A request handed to the application and not answered yet.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: jsonrpc::Id,
    pub(crate) session: Option<SessionId>,
    /// The stream that carries its answer.
    pub(crate) stream: StreamId,
    /// Whether it is `initialize`, whose answer names the session's version.
    pub(crate) initialize: bool,
    /// Whether it is a 2026-07-28 request (error answers map to HTTP statuses, S3.19).
    pub(crate) modern: bool,
    /// Whether its `_meta` asked for log notifications (S3.14).
    pub(crate) logs: bool,
}

/// Where [`Server::send`] puts a message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Target {
    /// The session's stream for messages unrelated to a request: the 2024-11-05 stream, or the
    /// standalone `GET` stream (S2.20).
    Session(SessionId),
    /// The stream that will carry the answer to this request (progress, logging, a
    /// server-to-client request made while handling it, S2.13).
    Request(RequestKey),
}

/// Counters, for metrics and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests handled.
    pub requests: u64,
    /// Of those, answered with a 4xx or 5xx status.
    pub rejected: u64,
    /// JSON-RPC messages handed to the application.
    pub messages_in: u64,
    /// SSE frames handed to the adapter, keepalives included.
    pub frames_out: u64,
    /// Keepalive comments written.
    pub keepalives: u64,
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Sessions closed.
    pub sessions_closed: u64,
    /// Streams resumed with `Last-Event-ID`.
    pub resumes: u64,
}

/// The paths the server answers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Mcp,
    Sse,
    Messages,
}

/// What every response of one exchange carries.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) exchange: ExchangeId,
    pub(crate) origin: Origin,
    /// The session the response belongs to: named on every response of it (S2.44).
    pub(crate) session: Option<HeaderValue>,
}

impl Server {
    /// A server with the operating system's CSPRNG for session ids.
    pub fn new(config: Config) -> Self {
        Self::with_id_generator(config, Box::new(OsRandom))
    }

    /// A server whose session ids and epoch come from `ids` (deterministic for tests).
    pub fn with_id_generator(config: Config, mut ids: Box<dyn IdGenerator>) -> Self {
        let mut seed = [0; 16];
        ids.fill(&mut seed);
        let epoch = u32::from_be_bytes([seed[12], seed[13], seed[14], seed[15]]);
        let store = MemoryStore::new(config.replay_bytes, config.replay_age);
        Self {
            config,
            ids,
            epoch,
            now: None,
            next_exchange: 0,
            next_request: 0,
            next_stream: 0,
            exchanges: HashMap::new(),
            streams: HashMap::new(),
            wires: HashMap::new(),
            sessions: HashMap::new(),
            requests: HashMap::new(),
            listeners: HashMap::new(),
            store: Box::new(store),
            timers: Timers::default(),
            outputs: VecDeque::new(),
            stats: Stats::default(),
            shutting_down: false,
            last_timeout_reason: None,
        }
    }

    /// Replaces the event store (before any request), e.g. with one shared between instances.
    pub fn set_event_store(&mut self, store: Box<dyn EventStore>) {
        self.store = store;
    }

    // ---- getters ----

    /// The settings the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters since the server was created.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Sessions alive now.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `session` is alive.
    pub fn has_session(&self, session: &str) -> bool {
        self.sessions.contains_key(session)
    }

    /// The transport of a live session.
    pub fn session_transport(&self, session: &str) -> Option<Transport> {
        self.sessions.get(session).map(|s| s.transport)
    }

    /// The protocol version a live session negotiated, once its `initialize` was answered.
    pub fn session_version(&self, session: &str) -> Option<ProtocolVersion> {
        self.sessions.get(session)?.version
    }

    /// Exchanges not finished yet: open streams (including ones whose last bytes wait for the
    /// client) and requests waiting for the application.
    pub fn exchange_count(&self) -> usize {
        self.exchanges.len() + self.wires.values().filter(|w| w.is_finishing()).count()
    }

    /// Streams held, including broken ones waiting to be resumed.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Requests handed to the application and not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Bytes of events kept for replay.
    pub fn replay_bytes(&self) -> usize {
        self.store.bytes()
    }

    /// Timer entries held, stale ones included (they go when they come due).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Bytes handed out on `exchange`'s stream that the adapter has not credited back: never
    /// more than `Config::stream_queue_bytes` plus one frame.
    pub fn unconsumed(&self, exchange: ExchangeId) -> Option<usize> {
        self.wires.get(&exchange).map(|w| w.unconsumed)
    }

    /// Bytes written on `exchange`'s stream and not read yet: handed out, or waiting in the
    /// server behind the bound.
    pub fn queued_bytes(&self, exchange: ExchangeId) -> Option<usize> {
        self.wires.get(&exchange).map(Wire::queued)
    }

    /// The timer behind the latest `handle_timeout` that did something, to debug wake-ups.
    pub fn last_timeout_reason(&self) -> Option<&TimerKind> {
        self.last_timeout_reason.as_ref()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    // ---- inputs ----

    /// An HTTP request arrived with its whole body (at most `max_body_bytes + 1` bytes: a longer
    /// body may be cut there and is answered `413`). Returns the id its outputs will carry.
    pub fn handle_request(
        &mut self,
        now: Instant,
        head: request::Parts,
        body: Bytes,
    ) -> ExchangeId {
        let now = self.advance(now);
        let exchange = ExchangeId(self.next_exchange);
        self.next_exchange += 1;
        self.stats.requests += 1;
        let mut ctx = Ctx {
            exchange,
            origin: Origin::of(&self.config.origins, &head.headers),
            session: None,
        };
        self.route(now, &mut ctx, head, body);
        self.prune_timers();
        exchange
    }

    /// The adapter's connection took `bytes` of the data handed out for `exchange`: that much
    /// room is free again in the stream's queue.
    pub fn handle_consumed(&mut self, now: Instant, exchange: ExchangeId, bytes: usize) {
        self.advance(now);
        self.credit(exchange, bytes);
    }

    /// The client went away before `exchange` finished. Unknown or finished exchanges are
    /// ignored (the adapter may race a `Finish`).
    pub fn handle_disconnect(&mut self, now: Instant, exchange: ExchangeId) {
        let now = self.advance(now);
        self.wires.remove(&exchange);
        if let Some(stream) = self.exchanges.remove(&exchange) {
            self.detach(now, stream);
        }
        self.prune_timers();
    }

    /// Time passed. Calling it before [`poll_timeout`](Self::poll_timeout)'s instant is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        while let Some(kind) = self.timers.pop_due(now) {
            let acted = match &kind {
                TimerKind::Keepalive(exchange) => self.keepalive(now, *exchange),
                TimerKind::Hold(exchange) => self.hold_expired(now, *exchange),
                TimerKind::StreamExpiry(stream) => self.stream_expired(now, *stream),
                TimerKind::SessionExpiry(session) => self.session_expiry(now, session),
            };
            if acted {
                self.last_timeout_reason = Some(kind);
            }
        }
        self.prune_timers();
    }

    // ---- commands ----

    /// Answers the request behind `key` with a result or a JSON-RPC error. The bytes of `result`
    /// go out as they are.
    pub fn reply(
        &mut self,
        now: Instant,
        key: RequestKey,
        outcome: Result<&RawValue, &ErrorObject>,
    ) -> Result<(), ReplyError> {
        let now = self.advance(now);
        let pending = self
            .requests
            .remove(&key)
            .ok_or(ReplyError::UnknownRequest)?;
        if let Some(session) = pending
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s))
        {
            session.in_flight -= 1;
            session.last_active = now;
            if pending.initialize {
                // The negotiated version is whatever the application answered (S5.14).
                session.version = outcome.ok().and_then(negotiated_version);
            }
        }
        let (body, status) = match outcome {
            Ok(result) => (
                jsonrpc::encode_response(&pending.id, result),
                StatusCode::OK,
            ),
            Err(error) => {
                let status = match pending.modern {
                    true => modern::status_of(error.code),
                    false => StatusCode::OK,
                };
                (jsonrpc::encode_error(Some(&pending.id), error), status)
            }
        };
        self.answer(now, pending.stream, key, body, status);
        self.prune_timers();
        Ok(())
    }

    /// Queues a JSON-RPC notification or request (already encoded) for a client.
    ///
    /// Unlike replies, sends are refused while the target stream is full
    /// ([`SendError::QueueFull`]): try again once the client has read.
    pub fn send(&mut self, now: Instant, target: Target, message: Bytes) -> Result<(), SendError> {
        let now = self.advance(now);
        let stream = match target {
            Target::Session(session) => {
                let session = self
                    .sessions
                    .get(&session)
                    .ok_or(SendError::UnknownSession)?;
                match session.transport {
                    Transport::HttpSse => session.streams.first().copied(),
                    _ => session.standalone,
                }
                .ok_or(SendError::NoStream)?
            }
            Target::Request(key) => {
                let pending = self.requests.get(&key).ok_or(SendError::UnknownRequest)?;
                if pending.modern {
                    match jsonrpc::classify(&message) {
                        // S3.9: no independent requests on a 2026-07-28 response stream.
                        Ok(jsonrpc::Body::Single(jsonrpc::Message::Request(_))) => {
                            return Err(SendError::Forbidden);
                        }
                        // S3.14: log notifications only when the request asked for them.
                        Ok(jsonrpc::Body::Single(jsonrpc::Message::Notification(n)))
                            if n.method == "notifications/message" && !pending.logs =>
                        {
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                pending.stream
            }
        };
        let result = self.push_message(now, stream, message);
        self.prune_timers();
        result
    }

    /// Closes the connection of the stream that carries `key`'s answer without ending the
    /// stream: the client resumes it with `Last-Event-ID` after the `retry` hint (2025-11-25
    /// polling, S2.31/S2.32). Only streams whose client can resume them may be closed so.
    pub fn close_stream(&mut self, now: Instant, key: RequestKey) -> Result<(), SendError> {
        let now = self.advance(now);
        let stream = self
            .requests
            .get(&key)
            .ok_or(SendError::UnknownRequest)?
            .stream;
        let result = self.poll_close(now, stream);
        self.prune_timers();
        result
    }

    /// Ends a session: its streams are finished, its unanswered requests are dropped, and later
    /// requests naming it get `404`. Returns whether it existed.
    pub fn close_session(&mut self, now: Instant, session: &SessionId) -> bool {
        let now = self.advance(now);
        let existed = self.end_session(now, session, CloseReason::Closed);
        self.prune_timers();
        existed
    }

    /// Starts a graceful shutdown: every session ends and its streams get a reconnection hint and
    /// are finished; new requests get `503`. Requests answered on their own exchange may still be
    /// replied to; the adapter waits for [`exchange_count`](Self::exchange_count) to reach zero.
    pub fn shutdown(&mut self, now: Instant) {
        let now = self.advance(now);
        self.shutting_down = true;
        let sessions: Vec<SessionId> = self.sessions.keys().cloned().collect();
        for session in sessions {
            self.end_session(now, &session, CloseReason::Shutdown);
        }
        let listeners: Vec<StreamId> = self.listeners.keys().copied().collect();
        for listener in listeners {
            self.end_listener(now, listener);
        }
        self.prune_timers();
    }

    // ---- outputs ----

    /// The next thing to do, or `None` when there is nothing until the next input or command.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) at the latest, if anything is
    /// scheduled. Cheap: the earliest entry of a heap.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ---- routing (D2) ----

    fn route(&mut self, now: Instant, ctx: &mut Ctx, head: request::Parts, body: Bytes) {
        let Some(endpoint) = self.endpoint_of(head.uri.path()) else {
            return self.reject(ctx, StatusCode::NOT_FOUND, "Not found");
        };
        if head.method == Method::OPTIONS {
            let response = cors::preflight(&self.config, &ctx.origin, &head.headers);
            return self.push(Output::Respond {
                exchange: ctx.exchange,
                response,
            });
        }
        if !self.host_allowed(&head) {
            return self.reject(ctx, StatusCode::FORBIDDEN, "Host not allowed");
        }
        if matches!(ctx.origin, Origin::Forbidden) {
            return self.reject(ctx, StatusCode::FORBIDDEN, "Origin not allowed");
        }
        if self.shutting_down {
            let response = wire::unavailable(self.config.retry_after_secs, None, "Shutting down");
            return self.respond(ctx, response);
        }
        if self.config.only_2026 && endpoint != Endpoint::Mcp {
            return self.reject(ctx, StatusCode::NOT_FOUND, "Not found");
        }
        let sessions = !self.config.stateless && !self.config.only_2026;
        match (endpoint, &head.method) {
            (Endpoint::Sse, &Method::GET) => self.open_legacy(now, ctx, &head, Endpoint::Messages),
            (Endpoint::Sse, _) => self.respond(ctx, wire::method_not_allowed("GET, OPTIONS")),
            (Endpoint::Messages, &Method::POST) => self.post(now, ctx, head, body, endpoint),
            (Endpoint::Messages, _) => self.respond(ctx, wire::method_not_allowed("POST, OPTIONS")),
            (Endpoint::Mcp, &Method::POST) => self.post(now, ctx, head, body, endpoint),
            (Endpoint::Mcp, &Method::GET) if sessions => self.get_mcp(now, ctx, &head),
            (Endpoint::Mcp, &Method::DELETE) if sessions => self.delete_mcp(now, ctx, &head),
            (Endpoint::Mcp, _) => {
                let allow = match (sessions, self.config.allow_delete) {
                    (false, _) => "POST, OPTIONS",
                    (true, false) => "GET, POST, OPTIONS",
                    (true, true) => "GET, POST, DELETE, OPTIONS",
                };
                self.respond(ctx, wire::method_not_allowed(allow))
            }
        }
    }

    fn endpoint_of(&self, path: &str) -> Option<Endpoint> {
        if path == self.config.mcp_path {
            Some(Endpoint::Mcp)
        } else if path == self.config.sse_path {
            Some(Endpoint::Sse)
        } else if path == self.config.messages_path {
            Some(Endpoint::Messages)
        } else {
            None
        }
    }

    /// DNS-rebinding defence (S4.3): a page on another site that resolves its name to a
    /// loopback address still sends its own name as `Host`.
    fn host_allowed(&self, head: &request::Parts) -> bool {
        let names: &[String] = match &self.config.hosts {
            HostPolicy::Auto | HostPolicy::Any => return true,
            HostPolicy::Loopback => &[],
            HostPolicy::List(names) => names,
        };
        let host = head
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| head.uri.host());
        let Some(host) = host else {
            // No name at all: nothing a browser could have been tricked into.
            return true;
        };
        let name = match host.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        name.eq_ignore_ascii_case("localhost")
            || name == "127.0.0.1"
            || name == "::1"
            || names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// A `POST`: to a 2024-11-05 session, to a Streamable HTTP session, an `initialize` that
    /// opens one, or (stateless) a request answered on its own.
    fn post(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: request::Parts,
        body: Bytes,
        endpoint: Endpoint,
    ) {
        // Shared by every message of the body, and handed to the application with each.
        let head = Arc::new(head);
        let named = named_session(&head);
        let session = named.and_then(|id| self.sessions.get_key_value(id));
        let transport = session.map(|(_, s)| s.transport);
        if let Some((_, state)) = session {
            ctx.session = Some(state.header.clone());
        }
        let session = session.map(|(id, _)| id.clone());

        // Streamable HTTP clients must take both answer shapes (S2.5).
        let streamable = endpoint == Endpoint::Mcp && transport != Some(Transport::HttpSse);
        if streamable
            && !(wire::accepts(&head.headers, "application/json")
                && wire::accepts(&head.headers, "text/event-stream"))
        {
            let status = StatusCode::NOT_ACCEPTABLE;
            let text = "Not Acceptable: Accept must list application/json and text/event-stream";
            return self.reject(ctx, status, text);
        }
        if !wire::is_json(&head.headers) {
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            let text = "Unsupported Media Type: Content-Type must be application/json";
            return self.reject(ctx, status, text);
        }
        if body.len() > self.config.max_body_bytes {
            return self.reject(ctx, StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
        }
        let body = match jsonrpc::classify(&body) {
            Ok(body) => body,
            Err(invalid) => {
                let response = wire::json(StatusCode::BAD_REQUEST, invalid.to_error_body());
                return self.respond(ctx, response);
            }
        };
        if endpoint == Endpoint::Mcp {
            match modern::classify_era(&body, &head.headers) {
                Era::Modern(envelope) => {
                    let jsonrpc::Body::Single(message) = body else {
                        unreachable!("a batch with a modern claim is rejected")
                    };
                    return self.post_modern(now, ctx, head, message, envelope);
                }
                Era::Reject(response) => return self.respond(ctx, response),
                Era::Legacy if self.config.only_2026 => {
                    // S3.36: a modern-only server names its versions to legacy clients.
                    let requested = head
                        .headers
                        .get(wire::MCP_PROTOCOL_VERSION)
                        .and_then(|v| v.to_str().ok());
                    ctx.session = None;
                    let response = modern::unsupported_version(first_id(&body), requested);
                    return self.respond(ctx, response);
                }
                Era::Legacy => {}
            }
        }
        if let Some(session) = &session
            && let Some(state) = self.sessions.get_mut(session)
        {
            state.last_active = now;
        }
        match (transport, session) {
            (Some(Transport::HttpSse), Some(session)) => {
                self.post_legacy(now, ctx, &head, session, body)
            }
            (Some(_), Some(session)) => {
                if let Some(response) = self.check_protocol_version(&head.headers) {
                    return self.respond(ctx, response);
                }
                self.post_streamable(now, ctx, &head, Some(session), body)
            }
            _ if named.is_some() => {
                let id = first_id(&body);
                let code = jsonrpc::SESSION_NOT_FOUND;
                let response = wire::error(StatusCode::NOT_FOUND, id, code, "Session not found");
                self.respond(ctx, response)
            }
            _ if endpoint == Endpoint::Mcp && self.config.stateless => {
                self.post_streamable(now, ctx, &head, None, body)
            }
            _ if endpoint == Endpoint::Mcp && is_initialize(&body) => {
                self.open_streamable(now, ctx, &head, body)
            }
            _ => {
                // S2.39: a server that requires sessions answers 400 without one.
                let id = first_id(&body);
                let code = jsonrpc::SERVER_ERROR;
                let text = "Bad Request: Mcp-Session-Id header is required";
                let response = wire::error(StatusCode::BAD_REQUEST, id, code, text);
                self.respond(ctx, response)
            }
        }
    }

    /// An unsupported `MCP-Protocol-Version` gets `400` naming the supported ones (S2.48). A
    /// version other than the negotiated one is tolerated: clients send older ones (the
    /// conformance suite sends 2025-03-26 on 2025-11-25 sessions).
    pub(crate) fn check_protocol_version(
        &self,
        headers: &http::HeaderMap,
    ) -> Option<http::Response<Bytes>> {
        let value = headers.get(wire::MCP_PROTOCOL_VERSION)?;
        if value
            .to_str()
            .ok()
            .and_then(ProtocolVersion::parse)
            .is_some()
        {
            return None;
        }
        let text = format!(
            "Bad Request: Unsupported protocol version (supported versions: {})",
            ProtocolVersion::ALL.map(ProtocolVersion::as_str).join(", ")
        );
        let data = RawValue::from_string(format!(
            "{{\"supported\":{}}}",
            ProtocolVersion::supported_json()
        ))
        .expect("a JSON object");
        let error = ErrorObject::new(jsonrpc::SERVER_ERROR, text).with_data(data);
        Some(wire::json(
            StatusCode::BAD_REQUEST,
            jsonrpc::encode_error(None, &error),
        ))
    }

    // ---- requests ----

    pub(crate) fn admit(
        &mut self,
        request: &jsonrpc::Request,
        session: Option<SessionId>,
        stream: StreamId,
    ) -> RequestKey {
        let key = RequestKey(self.next_request);
        self.next_request += 1;
        self.stats.messages_in += 1;
        if let Some(state) = session.as_ref().and_then(|s| self.sessions.get_mut(s)) {
            state.in_flight += 1;
        }
        if let Some(stream) = self.streams.get_mut(&stream) {
            stream.keys.push(key);
        }
        let pending = Pending {
            id: request.id.clone(),
            session,
            stream,
            initialize: request.method == "initialize",
            modern: false,
            logs: false,
        };
        self.requests.insert(key, pending);
        key
    }

    /// Hands a notification or a client's response to the application.
    pub(crate) fn deliver_other(
        &mut self,
        now: Instant,
        head: &Arc<request::Parts>,
        session: Option<SessionId>,
        transport: Transport,
        message: jsonrpc::Message,
    ) {
        self.stats.messages_in += 1;
        if let Some(state) = session.as_ref().and_then(|s| self.sessions.get_mut(s)) {
            state.initialized = true;
        }
        let event = match message {
            jsonrpc::Message::Notification(notification)
                if notification.method == "notifications/cancelled" =>
            {
                return self.cancel(now, session.as_ref(), notification);
            }
            jsonrpc::Message::Notification(notification) => Event::Notification {
                session,
                transport,
                notification,
                head: head.clone(),
            },
            response => Event::Response { session, response },
        };
        self.push(Output::Event(event));
    }

    /// `notifications/cancelled` (S2.17): the request's answer will not be sent, and the
    /// application hears of it. Unknown ids are ignored: the answer may have crossed the notice.
    fn cancel(
        &mut self,
        now: Instant,
        session: Option<&SessionId>,
        notification: jsonrpc::Notification,
    ) {
        #[derive(serde::Deserialize)]
        struct Params {
            #[serde(rename = "requestId")]
            request_id: serde_json::Value,
            reason: Option<String>,
        }
        let Some(params) = notification
            .params
            .as_ref()
            .and_then(|p| serde_json::from_str::<Params>(p.get()).ok())
        else {
            return;
        };
        let id = match params.request_id {
            serde_json::Value::String(text) => jsonrpc::Id::String(text.into()),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(n) => jsonrpc::Id::Number(n),
                None => return,
            },
            _ => return,
        };
        let found = self
            .requests
            .iter()
            .find(|(_, p)| p.id == id && p.session.as_ref() == session)
            .map(|(key, _)| *key);
        let Some(key) = found else { return };
        let pending = self.requests.remove(&key).expect("found above");
        if let Some(state) = session.and_then(|s| self.sessions.get_mut(s)) {
            state.in_flight -= 1;
        }
        self.drop_answer(now, pending.stream, key);
        self.push(Output::Event(Event::Cancelled {
            key,
            reason: params.reason,
        }));
    }

    // ---- sessions ----

    pub(crate) fn mint_session(&mut self, now: Instant, transport: Transport) -> SessionId {
        let id = loop {
            let mut bytes = [0; 16];
            self.ids.fill(&mut bytes);
            let id = session_id_from(&bytes);
            if !self.sessions.contains_key(&id) {
                break id;
            }
        };
        let header = HeaderValue::from_str(id.as_str())
            .expect("session ids are visible ASCII, a valid header value");
        self.sessions
            .insert(id.clone(), Session::new(transport, header, now));
        self.stats.sessions_opened += 1;
        self.push(Output::Event(Event::SessionOpened {
            session: id.clone(),
            transport,
        }));
        id
    }

    /// Forgets a session, its streams and its unanswered requests, and tells the application.
    pub(crate) fn end_session(
        &mut self,
        now: Instant,
        session: &SessionId,
        reason: CloseReason,
    ) -> bool {
        let Some(state) = self.sessions.remove(session) else {
            return false;
        };
        for stream in state.streams {
            self.end_stream(now, stream, reason == CloseReason::Shutdown);
        }
        self.stats.sessions_closed += 1;
        self.push(Output::Event(Event::SessionClosed {
            session: session.clone(),
            reason,
        }));
        true
    }

    /// Closes a session that has been idle, or that never spoke after `initialize`.
    fn session_expiry(&mut self, now: Instant, session: &SessionId) -> bool {
        let Some(state) = self.sessions.get(session) else {
            return false;
        };
        let busy = state.in_flight > 0
            || state
                .streams
                .iter()
                .any(|s| self.streams.get(s).is_some_and(|s| s.exchange().is_some()));
        let deadline = match (state.initialized, self.config.init_timeout) {
            (false, Some(limit)) => Some(state.created + limit),
            _ => self
                .config
                .idle_timeout
                .map(|idle| state.last_active + idle),
        };
        match deadline {
            Some(at) if at <= now && !busy => {
                self.end_session(now, session, CloseReason::Expired);
                true
            }
            Some(at) => {
                let idle = self
                    .config
                    .idle_timeout
                    .unwrap_or(std::time::Duration::from_secs(60));
                let at = if busy || at <= now { now + idle } else { at };
                self.timers
                    .arm(at, TimerKind::SessionExpiry(session.clone()));
                false
            }
            None => false,
        }
    }

    pub(crate) fn arm_session_expiry(&mut self, now: Instant, session: &SessionId) {
        // The earlier of the two: the check re-arms itself for whichever applies.
        let first = match (self.config.init_timeout, self.config.idle_timeout) {
            (Some(init), Some(idle)) => Some(init.min(idle)),
            (init, idle) => init.or(idle),
        };
        if let Some(after) = first {
            self.timers
                .arm(now + after, TimerKind::SessionExpiry(session.clone()));
        }
    }

    // ---- responses ----

    pub(crate) fn reject(&mut self, ctx: &Ctx, status: StatusCode, message: &str) {
        let response = wire::error(status, None, jsonrpc::SERVER_ERROR, message);
        self.respond(ctx, response);
    }

    /// Sends a complete response with the headers every response of the exchange carries.
    pub(crate) fn respond(&mut self, ctx: &Ctx, mut response: http::Response<Bytes>) {
        if response.status().is_client_error() || response.status().is_server_error() {
            self.stats.rejected += 1;
        }
        if let Some(session) = &ctx.session {
            response
                .headers_mut()
                .insert(MCP_SESSION_ID, session.clone());
        }
        cors::decorate(&self.config, &ctx.origin, response.headers_mut());
        self.push(Output::Respond {
            exchange: ctx.exchange,
            response,
        });
    }

    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    pub(crate) fn new_stream_id(&mut self) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        id
    }

    fn advance(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |seen| seen.max(now));
        self.now = Some(now);
        now
    }

    fn prune_timers(&mut self) {
        let (exchanges, wires) = (&self.exchanges, &self.wires);
        let (streams, sessions) = (&self.streams, &self.sessions);
        let live = |kind: &TimerKind| match kind {
            TimerKind::Keepalive(exchange) => wires.contains_key(exchange),
            TimerKind::Hold(exchange) => exchanges.contains_key(exchange),
            TimerKind::StreamExpiry(stream) => streams.contains_key(stream),
            TimerKind::SessionExpiry(session) => sessions.contains_key(session),
        };
        self.timers.prune(live);
        let targets = wires.len() + exchanges.len() + streams.len() + sessions.len();
        self.timers.compact(targets, live);
    }
}

/// The version an `initialize` result names, if served.
fn negotiated_version(result: &RawValue) -> Option<ProtocolVersion> {
    #[derive(serde::Deserialize)]
    struct Result<'a> {
        #[serde(rename = "protocolVersion", borrow)]
        version: &'a str,
    }
    let result: Result<'_> = serde_json::from_str(result.get()).ok()?;
    ProtocolVersion::parse(result.version)
}

fn is_initialize(body: &jsonrpc::Body) -> bool {
    matches!(body, jsonrpc::Body::Single(jsonrpc::Message::Request(r)) if r.method == "initialize")
}

/// The session a request names: the `sessionId` query parameter of a 2024-11-05 endpoint URI
/// (or Python's `session_id`), else `Mcp-Session-Id`. A value that is not text names no live
/// session.
pub(crate) fn named_session(head: &request::Parts) -> Option<&str> {
    wire::query_param(head.uri.query(), "sessionId")
        .or_else(|| wire::query_param(head.uri.query(), "session_id"))
        .or_else(|| {
            let value = head.headers.get(MCP_SESSION_ID)?;
            Some(value.to_str().unwrap_or("\u{0}"))
        })
}

/// The id to echo in an error about a whole body (S3.27).
pub(crate) fn first_id(body: &jsonrpc::Body) -> Option<&jsonrpc::Id> {
    match body {
        jsonrpc::Body::Single(message) => message.id(),
        jsonrpc::Body::Batch(_) => None,
    }
}
