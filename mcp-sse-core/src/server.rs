//! [`Server`]: the state machine, its inputs, commands and outputs.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, StatusCode, request};
use serde_json::value::RawValue;

use crate::config::Config;
use crate::cors::{self, Origin};
use crate::error::{ReplyError, SendError};
use crate::ids::{IdGenerator, OsRandom, session_id_from};
use crate::jsonrpc::{self, ErrorObject};
use crate::session::Session;
use crate::stream::{Exchange, Stream, StreamRole};
use crate::timer::{TimerKind, Timers};
use crate::wire::{self, MCP_SESSION_ID};
use crate::{Chunk, Event, ExchangeId, Output, RequestKey, SessionId, Transport, sse};

/// The MCP transport state machine: HTTP exchanges in, responses, SSE bytes and application
/// events out. It owns sessions, streams, timers and queues, and performs no IO.
///
/// Its methods fall into four groups:
/// - **getters** (`&self`): [`config`](Self::config), [`stats`](Self::stats), counts;
/// - **inputs** from the adapter, `now` first: [`handle_request`](Self::handle_request),
///   [`handle_consumed`](Self::handle_consumed), [`handle_disconnect`](Self::handle_disconnect),
///   [`handle_timeout`](Self::handle_timeout);
/// - **commands** from the application: [`reply`](Self::reply), [`send`](Self::send),
///   [`close_session`](Self::close_session), [`shutdown`](Self::shutdown);
/// - **outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, call `poll_output` until it returns `None`, then read
/// `poll_timeout` and call `handle_timeout` no later than the instant it gives.
#[derive(Debug)]
pub struct Server {
    config: Config,
    ids: Box<dyn IdGenerator>,
    /// The latest `now` seen: time never runs backwards inside the server.
    now: Option<Instant>,
    next_exchange: u64,
    next_request: u64,
    exchanges: HashMap<ExchangeId, Exchange>,
    sessions: HashMap<SessionId, Session>,
    requests: HashMap<RequestKey, Pending>,
    timers: Timers,
    outputs: VecDeque<Output>,
    stats: Stats,
    shutting_down: bool,
    last_timeout_reason: Option<TimerKind>,
}

/// A request handed to the application and not answered yet.
#[derive(Debug)]
struct Pending {
    id: jsonrpc::Id,
    route: Route,
}

/// Where the answer to a request goes.
#[derive(Debug)]
enum Route {
    /// On the session's stream (2024-11-05).
    Session(SessionId),
    /// On the exchange that carried the request.
    Exchange(ExchangeId),
}

/// Where [`Server::send`] puts a message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Target {
    /// The session's stream for messages unrelated to a request.
    Session(SessionId),
    /// The stream that will carry the answer to this request (progress, logging, a
    /// server-to-client request made while handling it).
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
}

/// The MCP endpoint paths the server answers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Mcp,
    Sse,
    Messages,
}

/// What every response of one exchange carries.
#[derive(Debug)]
struct Ctx {
    exchange: ExchangeId,
    origin: Origin,
    session: Option<HeaderValue>,
}

impl Server {
    /// A server with the operating system's CSPRNG for session ids.
    pub fn new(config: Config) -> Self {
        Self::with_id_generator(config, Box::new(OsRandom))
    }

    /// A server whose session ids come from `ids` (deterministic ids for tests).
    pub fn with_id_generator(config: Config, ids: Box<dyn IdGenerator>) -> Self {
        Self {
            config,
            ids,
            now: None,
            next_exchange: 0,
            next_request: 0,
            exchanges: HashMap::new(),
            sessions: HashMap::new(),
            requests: HashMap::new(),
            timers: Timers::default(),
            outputs: VecDeque::new(),
            stats: Stats::default(),
            shutting_down: false,
            last_timeout_reason: None,
        }
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

    /// Exchanges not finished yet: open streams and requests waiting for the application.
    pub fn exchange_count(&self) -> usize {
        self.exchanges.len()
    }

    /// Requests handed to the application and not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Timer entries held, stale ones included (they go when they come due).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Bytes handed out on `exchange`'s stream that the adapter has not credited back.
    pub fn unconsumed(&self, exchange: ExchangeId) -> Option<usize> {
        match self.exchanges.get(&exchange)? {
            Exchange::Stream(stream) => Some(stream.unconsumed),
            Exchange::Waiting { .. } => None,
        }
    }

    /// The timer behind the latest `handle_timeout` that did something, to debug wake-ups.
    pub fn last_timeout_reason(&self) -> Option<TimerKind> {
        self.last_timeout_reason
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
        if let Some(Exchange::Stream(stream)) = self.exchanges.get_mut(&exchange) {
            stream.unconsumed = stream.unconsumed.saturating_sub(bytes);
        }
    }

    /// The client went away before `exchange` finished. Unknown or finished exchanges are
    /// ignored (the adapter may race a `Finish`).
    pub fn handle_disconnect(&mut self, now: Instant, exchange: ExchangeId) {
        self.advance(now);
        match self.exchanges.remove(&exchange) {
            Some(Exchange::Stream(stream)) => match stream.role {
                StreamRole::Legacy(session) => {
                    // The stream is the session (S1.9): later POSTs to it get 404.
                    self.end_session(&session, crate::CloseReason::ClientGone);
                }
                StreamRole::Request(key) => {
                    // Before 2026-07-28 a disconnect is no cancellation (S2.17); the answer
                    // simply has nowhere to go.
                    self.requests.remove(&key);
                }
            },
            Some(Exchange::Waiting { key, .. }) => {
                self.requests.remove(&key);
            }
            None => {}
        }
        self.prune_timers();
    }

    /// Time passed. Calling it before [`poll_timeout`](Self::poll_timeout)'s instant is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        while let Some(kind) = self.timers.pop_due(now) {
            match kind {
                TimerKind::Keepalive(exchange) => {
                    if self.keepalive(now, exchange) {
                        self.last_timeout_reason = Some(kind);
                    }
                }
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
        let body = match outcome {
            Ok(result) => jsonrpc::encode_response(&pending.id, result),
            Err(error) => jsonrpc::encode_error(Some(&pending.id), error),
        };
        match pending.route {
            Route::Session(session) => {
                let Some(state) = self.sessions.get_mut(&session) else {
                    return Err(ReplyError::UnknownRequest);
                };
                state.in_flight -= 1;
                let stream = state.stream;
                // Accepted requests were admitted with room for their answer: always queued.
                self.write_message(now, stream, body);
            }
            Route::Exchange(exchange) => match self.exchanges.remove(&exchange) {
                Some(Exchange::Waiting { origin, .. }) => {
                    let ctx = Ctx {
                        exchange,
                        origin: origin.map_or(Origin::Absent, Origin::Allowed),
                        session: None,
                    };
                    self.respond(&ctx, wire::json(StatusCode::OK, body));
                }
                Some(Exchange::Stream(stream)) => {
                    self.exchanges.insert(exchange, Exchange::Stream(stream));
                    self.write_message(now, exchange, body);
                    self.finish(exchange);
                }
                None => return Err(ReplyError::UnknownRequest),
            },
        }
        self.prune_timers();
        Ok(())
    }

    /// Queues a JSON-RPC notification or request (already encoded) for a client.
    ///
    /// Unlike replies, sends are refused while the target stream is full
    /// ([`SendError::QueueFull`]): try again once the client has read.
    pub fn send(&mut self, now: Instant, target: Target, message: Bytes) -> Result<(), SendError> {
        let now = self.advance(now);
        let exchange = match target {
            Target::Session(session) => {
                self.sessions
                    .get(&session)
                    .ok_or(SendError::UnknownSession)?
                    .stream
            }
            Target::Request(key) => {
                let pending = self.requests.get(&key).ok_or(SendError::UnknownRequest)?;
                match &pending.route {
                    Route::Session(session) => {
                        self.sessions
                            .get(session)
                            .ok_or(SendError::UnknownSession)?
                            .stream
                    }
                    Route::Exchange(exchange) => {
                        let exchange = *exchange;
                        self.upgrade_to_stream(now, exchange, key);
                        exchange
                    }
                }
            }
        };
        match self.exchanges.get(&exchange) {
            Some(Exchange::Stream(stream))
                if stream.unconsumed >= self.config.stream_queue_bytes =>
            {
                Err(SendError::QueueFull)
            }
            Some(Exchange::Stream(_)) => {
                self.write_message(now, exchange, message);
                Ok(())
            }
            _ => Err(SendError::NoStream),
        }
    }

    /// Ends a session: its stream is finished, its unanswered requests are dropped, and later
    /// requests naming it get `404`. Returns whether it existed.
    pub fn close_session(&mut self, now: Instant, session: &SessionId) -> bool {
        self.advance(now);
        let existed = self.close_with(session, crate::CloseReason::Closed);
        self.prune_timers();
        existed
    }

    /// Starts a graceful shutdown: every session stream gets a reconnection hint and is finished,
    /// new requests get `503`. Requests answered on their own exchange may still be replied to;
    /// the adapter waits for [`exchange_count`](Self::exchange_count) to reach zero.
    pub fn shutdown(&mut self, now: Instant) {
        let now = self.advance(now);
        self.shutting_down = true;
        let sessions: Vec<SessionId> = self.sessions.keys().cloned().collect();
        for session in sessions {
            if let Some(state) = self.sessions.get(&session) {
                let stream = state.stream;
                self.write(
                    now,
                    stream,
                    sse::encode_retry(self.config.reconnect_hint_ms),
                );
            }
            self.close_with(&session, crate::CloseReason::Shutdown);
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
        if matches!(ctx.origin, Origin::Forbidden) {
            return self.reject(ctx, StatusCode::FORBIDDEN, "Origin not allowed");
        }
        if self.shutting_down {
            let response = wire::unavailable(self.config.retry_after_secs, None, "Shutting down");
            return self.respond(ctx, response);
        }
        match (endpoint, &head.method) {
            (Endpoint::Sse, &Method::GET) => self.open_legacy(now, ctx, &head, Endpoint::Messages),
            (Endpoint::Sse, _) => self.respond(ctx, wire::method_not_allowed("GET, OPTIONS")),
            (Endpoint::Messages, &Method::POST) => self.post(now, ctx, &head, body, true),
            (Endpoint::Messages, _) => self.respond(ctx, wire::method_not_allowed("POST, OPTIONS")),
            (Endpoint::Mcp, &Method::GET) => self.get_mcp(now, ctx, &head),
            (Endpoint::Mcp, &Method::POST) => self.post(now, ctx, &head, body, false),
            (Endpoint::Mcp, _) => self.respond(ctx, wire::method_not_allowed("GET, POST, OPTIONS")),
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

    /// `GET` on the MCP endpoint: without a session it opens a 2024-11-05 stream whose POSTs go
    /// back to this endpoint (the seed's variant, S1.12, S2.51).
    fn get_mcp(&mut self, now: Instant, ctx: &mut Ctx, head: &request::Parts) {
        if !wire::accepts(&head.headers, "text/event-stream") {
            let status = StatusCode::NOT_ACCEPTABLE;
            return self.reject(
                ctx,
                status,
                "Not Acceptable: Accept must include text/event-stream",
            );
        }
        match head.headers.get(MCP_SESSION_ID) {
            None => self.open_legacy(now, ctx, head, Endpoint::Mcp),
            Some(value) => {
                if self.sessions.contains_key(value.to_str().unwrap_or("")) {
                    ctx.session = Some(value.clone());
                    self.reject(
                        ctx,
                        StatusCode::CONFLICT,
                        "The session already has its stream",
                    )
                } else {
                    self.reject(ctx, StatusCode::NOT_FOUND, "Session not found")
                }
            }
        }
    }

    // ---- 2024-11-05 HTTP+SSE (S1.x) ----

    /// Opens a session whose stream is this response (S1.1a), its first event `endpoint` (S1.2).
    fn open_legacy(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &request::Parts,
        posts_to: Endpoint,
    ) {
        if !wire::accepts(&head.headers, "text/event-stream") {
            let status = StatusCode::NOT_ACCEPTABLE;
            return self.reject(
                ctx,
                status,
                "Not Acceptable: Accept must include text/event-stream",
            );
        }
        if self.sessions.len() >= self.config.max_sessions {
            let retry = self.config.retry_after_secs;
            return self.respond(ctx, wire::unavailable(retry, None, "Too many sessions"));
        }
        let session = self.mint_session_id();
        let header = HeaderValue::from_str(session.as_str())
            .expect("session ids are visible ASCII, a valid header value");
        self.sessions.insert(
            session.clone(),
            Session {
                transport: Transport::LegacySse,
                stream: ctx.exchange,
                in_flight: 0,
                header: header.clone(),
            },
        );
        ctx.session = Some(header);
        self.start_stream(now, ctx, StreamRole::Legacy(session.clone()));

        let path = match posts_to {
            Endpoint::Mcp => &self.config.mcp_path,
            _ => &self.config.messages_path,
        };
        let uri = format!("{}{path}?sessionId={session}", self.config.base_path);
        let frame = sse::encode(&sse::Event {
            event: Some("endpoint"),
            data: Some(Bytes::from(uri)),
            ..Default::default()
        })
        .expect("a static event name is a valid field");
        self.write(now, ctx.exchange, frame);

        self.stats.sessions_opened += 1;
        self.push(Output::Event(Event::SessionOpened {
            session,
            transport: Transport::LegacySse,
        }));
    }

    /// A `POST` with one JSON-RPC message: to a 2024-11-05 session named by the `sessionId`
    /// query parameter or the `Mcp-Session-Id` header, or (on the MCP endpoint, naming no
    /// session) answered on its own.
    fn post(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &request::Parts,
        body: Bytes,
        session_required: bool,
    ) {
        let named = wire::query_param(head.uri.query(), "sessionId")
            .or_else(|| wire::query_param(head.uri.query(), "session_id"))
            .or_else(|| {
                head.headers
                    .get(MCP_SESSION_ID)
                    .map(|v| v.to_str().unwrap_or("\0"))
            });
        let session = named.and_then(|id| self.sessions.get_key_value(id));
        if let Some((_, state)) = session {
            // Every response of a session names it, errors included (S2.44).
            ctx.session = Some(state.header.clone());
        }
        let session = session.map(|(id, _)| id.clone());

        if !wire::is_json(&head.headers) {
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return self.reject(
                ctx,
                status,
                "Unsupported Media Type: Content-Type must be application/json",
            );
        }
        if body.len() > self.config.max_body_bytes {
            return self.reject(ctx, StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large");
        }
        let message = match jsonrpc::classify(&body) {
            Ok(jsonrpc::Body::Single(message)) => message,
            Ok(jsonrpc::Body::Batch(_)) => {
                let code = jsonrpc::INVALID_REQUEST;
                let response = wire::error(
                    StatusCode::BAD_REQUEST,
                    None,
                    code,
                    "Batches are not supported",
                );
                return self.respond(ctx, response);
            }
            Err(invalid) => {
                let response = wire::json(StatusCode::BAD_REQUEST, invalid.to_error_body());
                return self.respond(ctx, response);
            }
        };
        let (status, code, text) = match (named, session) {
            (_, Some(session)) => return self.deliver_legacy(now, ctx, session, message),
            (None, None) if !session_required => return self.deliver_direct(ctx, message),
            (Some(_), None) => (
                StatusCode::NOT_FOUND,
                jsonrpc::SESSION_NOT_FOUND,
                "Session not found",
            ),
            (None, None) => (
                StatusCode::BAD_REQUEST,
                jsonrpc::SERVER_ERROR,
                "Missing session id",
            ),
        };
        let response = wire::error(status, message.id(), code, text);
        self.respond(ctx, response)
    }

    /// Hands a message of a 2024-11-05 session to the application; `202` once it is accepted
    /// (S1.8), the answer follows on the session's stream (S1.3).
    fn deliver_legacy(
        &mut self,
        _now: Instant,
        ctx: &Ctx,
        session: SessionId,
        message: jsonrpc::Message,
    ) {
        if let jsonrpc::Message::Request(request) = message {
            let state = self
                .sessions
                .get(&session)
                .expect("the caller looked the session up");
            let queued = match self.exchanges.get(&state.stream) {
                Some(Exchange::Stream(stream)) => stream.unconsumed,
                _ => 0,
            };
            // Backpressure is not a closed session (the seed's review finding): 503 + Retry-After.
            if state.in_flight >= self.config.max_requests_in_flight
                || queued >= self.config.stream_queue_bytes
            {
                let retry = self.config.retry_after_secs;
                let response =
                    wire::unavailable(retry, Some(&request.id), "Session busy: retry later");
                return self.respond(ctx, response);
            }
            self.sessions
                .get_mut(&session)
                .expect("the caller looked the session up")
                .in_flight += 1;
            let key = self.admit(request.id.clone(), Route::Session(session.clone()));
            self.push(Output::Event(Event::Request {
                key,
                session: Some(session),
                transport: Transport::LegacySse,
                request,
            }));
        } else {
            self.deliver_other(Some(session), Transport::LegacySse, message);
        }
        self.respond(ctx, wire::accepted());
    }

    /// Hands a message that names no session to the application. A request waits for its
    /// answer on this exchange; anything else is acknowledged with `202` (S2.8).
    fn deliver_direct(&mut self, ctx: &Ctx, message: jsonrpc::Message) {
        let jsonrpc::Message::Request(request) = message else {
            self.deliver_other(None, Transport::Direct, message);
            return self.respond(ctx, wire::accepted());
        };
        let key = self.admit(request.id.clone(), Route::Exchange(ctx.exchange));
        self.exchanges.insert(
            ctx.exchange,
            Exchange::Waiting {
                key,
                origin: cors_origin(&ctx.origin),
            },
        );
        self.push(Output::Event(Event::Request {
            key,
            session: None,
            transport: Transport::Direct,
            request,
        }));
    }

    fn deliver_other(
        &mut self,
        session: Option<SessionId>,
        transport: Transport,
        message: jsonrpc::Message,
    ) {
        self.stats.messages_in += 1;
        let event = match message {
            jsonrpc::Message::Notification(notification) => Event::Notification {
                session,
                transport,
                notification,
            },
            response => Event::Response { session, response },
        };
        self.push(Output::Event(event));
    }

    fn admit(&mut self, id: jsonrpc::Id, route: Route) -> RequestKey {
        let key = RequestKey(self.next_request);
        self.next_request += 1;
        self.stats.messages_in += 1;
        self.requests.insert(key, Pending { id, route });
        key
    }

    // ---- streams ----

    fn start_stream(&mut self, now: Instant, ctx: &Ctx, role: StreamRole) {
        self.exchanges
            .insert(ctx.exchange, Exchange::Stream(Stream::new(role, now)));
        let mut head = wire::sse_head();
        if let Some(session) = &ctx.session {
            head.headers_mut().insert(MCP_SESSION_ID, session.clone());
        }
        cors::decorate(&self.config, &ctx.origin, head.headers_mut());
        self.push(Output::StartStream {
            exchange: ctx.exchange,
            head,
        });
        self.timers.arm(
            now + self.config.keepalive_interval,
            TimerKind::Keepalive(ctx.exchange),
        );
    }

    /// A request answered on its own exchange turns into an SSE stream when the application
    /// sends something before its reply: the head goes out now, as `text/event-stream`.
    fn upgrade_to_stream(&mut self, now: Instant, exchange: ExchangeId, key: RequestKey) {
        if let Some(Exchange::Waiting { origin, .. }) = self.exchanges.get(&exchange) {
            let ctx = Ctx {
                exchange,
                origin: origin.clone().map_or(Origin::Absent, Origin::Allowed),
                session: None,
            };
            self.start_stream(now, &ctx, StreamRole::Request(key));
        }
    }

    fn write_message(&mut self, now: Instant, exchange: ExchangeId, json: Bytes) {
        let frame = sse::encode(&sse::Event {
            event: Some("message"),
            data: Some(json),
            ..Default::default()
        })
        .expect("a static event name is a valid field");
        self.write(now, exchange, frame);
    }

    fn write(&mut self, now: Instant, exchange: ExchangeId, chunk: Chunk) {
        let Some(Exchange::Stream(stream)) = self.exchanges.get_mut(&exchange) else {
            return;
        };
        stream.unconsumed += chunk.len();
        stream.last_write = now;
        self.stats.frames_out += 1;
        self.outputs.push_back(Output::Data { exchange, chunk });
    }

    fn finish(&mut self, exchange: ExchangeId) {
        if self.exchanges.remove(&exchange).is_some() {
            self.push(Output::Finish { exchange });
        }
    }

    /// Writes a comment on a stream that has been idle for the keepalive interval (E5.1) and
    /// re-arms its timer. Returns whether it wrote.
    fn keepalive(&mut self, now: Instant, exchange: ExchangeId) -> bool {
        let interval = self.config.keepalive_interval;
        let Some(Exchange::Stream(stream)) = self.exchanges.get(&exchange) else {
            return false;
        };
        let due = stream.last_write + interval;
        if due > now {
            self.timers.arm(due, TimerKind::Keepalive(exchange));
            return false;
        }
        // A reader that is not reading needs no keepalive, and must not be sent more.
        let wrote = stream.unconsumed < self.config.stream_queue_bytes;
        if wrote {
            self.stats.keepalives += 1;
            self.write(
                now,
                exchange,
                sse::encode_comment("").expect("an empty comment is valid"),
            );
        }
        self.timers
            .arm(now + interval, TimerKind::Keepalive(exchange));
        wrote
    }

    // ---- sessions ----

    fn mint_session_id(&mut self) -> SessionId {
        loop {
            let mut bytes = [0; 16];
            self.ids.fill(&mut bytes);
            let id = session_id_from(&bytes);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    fn close_with(&mut self, session: &SessionId, reason: crate::CloseReason) -> bool {
        let Some(stream) = self.sessions.get(session).map(|s| s.stream) else {
            return false;
        };
        self.finish(stream);
        self.end_session(session, reason);
        true
    }

    /// Forgets a session and its unanswered requests, and tells the application.
    fn end_session(&mut self, session: &SessionId, reason: crate::CloseReason) {
        if self.sessions.remove(session).is_none() {
            return;
        }
        self.requests
            .retain(|_, pending| !matches!(&pending.route, Route::Session(s) if s == session));
        self.stats.sessions_closed += 1;
        self.push(Output::Event(Event::SessionClosed {
            session: session.clone(),
            reason,
        }));
    }

    // ---- responses ----

    fn reject(&mut self, ctx: &Ctx, status: StatusCode, message: &str) {
        let response = wire::error(status, None, jsonrpc::SERVER_ERROR, message);
        self.respond(ctx, response);
    }

    /// Sends a complete response with the headers every response of the exchange carries.
    fn respond(&mut self, ctx: &Ctx, mut response: http::Response<Bytes>) {
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

    fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    fn advance(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |seen| seen.max(now));
        self.now = Some(now);
        now
    }

    fn prune_timers(&mut self) {
        let exchanges = &self.exchanges;
        self.timers.prune(|kind| match kind {
            TimerKind::Keepalive(exchange) => exchanges.contains_key(&exchange),
        });
    }
}

fn cors_origin(origin: &Origin) -> Option<HeaderValue> {
    match origin {
        Origin::Allowed(value) => Some(value.clone()),
        _ => None,
    }
}
