//! Streamable HTTP with sessions, 2025-03-26 to 2025-11-25 (SPEC-NOTES §3), and its stateless
//! form: `POST` answered with JSON or an SSE stream, the standalone `GET` stream, `DELETE`, and
//! resumption with `Last-Event-ID`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{StatusCode, request};

use crate::replay::EventId;
use crate::server::{Ctx, Endpoint, Server};
use crate::stream::{Conn, Role, Stream};
use crate::timer::TimerKind;
use crate::wire::{self, LAST_EVENT_ID};
use crate::{CloseReason, Event, Output, ResponseMode, SessionId, Transport, jsonrpc};

impl Server {
    /// `initialize` with no session: validated, so now a session is minted (S2.35).
    pub(crate) fn open_streamable(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &Arc<request::Parts>,
        body: jsonrpc::Body,
    ) {
        if self.sessions.len() >= self.config.max_sessions {
            let retry = self.config.retry_after_secs;
            let id = crate::server::first_id(&body);
            let response = wire::unavailable(retry, id, "Too many sessions");
            return self.respond(ctx, response);
        }
        let session = self.mint_session(now, Transport::Streamable);
        ctx.session = Some(self.sessions[&session].header.clone());
        self.arm_session_expiry(now, &session);
        self.post_body(now, ctx, head, Some(session), body, true);
    }

    /// A `POST` to a Streamable HTTP session, or with no session in stateless mode.
    pub(crate) fn post_streamable(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        head: &Arc<request::Parts>,
        session: Option<SessionId>,
        body: jsonrpc::Body,
    ) {
        self.post_body(now, ctx, head, session, body, false);
    }

    /// Hands the messages of a `POST` to the application: `202` when none is a request (S2.8),
    /// else a stream that answers them, as JSON or SSE (S2.9).
    fn post_body(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        head: &Arc<request::Parts>,
        session: Option<SessionId>,
        body: jsonrpc::Body,
        fresh: bool,
    ) {
        let state = session.as_ref().and_then(|s| self.sessions.get(s));
        let version = state.and_then(|s| s.version);
        let (items, batch) = match body {
            jsonrpc::Body::Single(message) => (vec![Ok(message)], false),
            // Batches exist only in 2025-03-26 (S2.6, S2.7).
            jsonrpc::Body::Batch(items) if version.is_some_and(|v| v.allows_batches()) => {
                (items, true)
            }
            jsonrpc::Body::Batch(_) => {
                let code = jsonrpc::INVALID_REQUEST;
                let text = "Invalid Request: batches are not supported by this protocol version";
                let response = wire::error(StatusCode::BAD_REQUEST, None, code, text);
                return self.respond(ctx, response);
            }
        };
        let mut errors = Vec::new();
        let mut requests = Vec::new();
        let mut others = Vec::new();
        for item in items {
            match item {
                Err(invalid) => errors.push(invalid.to_error_body()),
                Ok(jsonrpc::Message::Request(request))
                    if request.method == "initialize" && (batch || !fresh && state.is_some()) =>
                {
                    // S2.44: one initialize per session, never inside a batch (S2.6).
                    let code = jsonrpc::INVALID_REQUEST;
                    let text = if batch {
                        "Invalid Request: initialize must not be part of a batch"
                    } else {
                        "Invalid Request: Server already initialized"
                    };
                    if !batch {
                        let response =
                            wire::error(StatusCode::BAD_REQUEST, Some(&request.id), code, text);
                        return self.respond(ctx, response);
                    }
                    let error = jsonrpc::ErrorObject::new(code, text);
                    errors.push(jsonrpc::encode_error(Some(&request.id), &error));
                }
                Ok(jsonrpc::Message::Request(request)) => requests.push(request),
                Ok(other) => others.push(other),
            }
        }
        if let Some(state) = state
            && state.in_flight + requests.len() > self.config.max_requests_in_flight
        {
            let retry = self.config.retry_after_secs;
            let id = requests.first().map(|r| &r.id);
            let response = wire::unavailable(retry, id, "Session busy: retry later");
            return self.respond(ctx, response);
        }

        let transport = match session {
            Some(_) => Transport::Streamable,
            None => Transport::Stateless,
        };
        for other in others {
            self.deliver_other(now, head, session.clone(), transport, other);
        }
        if requests.is_empty() {
            let response = match errors.len() {
                0 => wire::accepted(),
                1 if !batch => wire::json(StatusCode::BAD_REQUEST, errors.remove(0)),
                _ => wire::json(StatusCode::BAD_REQUEST, jsonrpc::encode_batch(&errors)),
            };
            return self.respond(ctx, response);
        }

        let id = self.new_stream_id();
        let conn = Conn::Waiting {
            exchange: ctx.exchange,
            origin: crate::cors::allowed_value(&ctx.origin),
        };
        let mut stream = Stream::new(session.clone(), Role::Post, conn, now);
        stream.resumable = self.config.resumable && session.is_some();
        stream.batch = batch;
        stream.collected = errors;
        self.streams.insert(id, stream);
        self.exchanges.insert(ctx.exchange, id);
        if let Some(state) = session.as_ref().and_then(|s| self.sessions.get_mut(s)) {
            state.streams.push(id);
            state.initialized |= !fresh;
        }
        for request in requests {
            let key = self.admit(&request, session.clone(), id);
            self.push(Output::Event(Event::Request {
                key,
                session: session.clone(),
                transport,
                version,
                request,
                head: head.clone(),
            }));
        }
        // The head waits for the first output (or the hold), so a quick answer goes out with
        // its head in one write, as JSON or (ResponseMode::Sse) as a one-event stream.
        if self.config.response_mode != ResponseMode::Json {
            let at = now + self.config.json_hold;
            self.timers.arm(at, TimerKind::Hold(ctx.exchange));
        }
    }

    /// `GET` on the MCP endpoint: a session's standalone stream (S2.18), a resumption
    /// (S2.28), or, naming no session, a 2024-11-05 stream (the seed's variant, S1.12, S2.51).
    pub(crate) fn get_mcp(&mut self, now: Instant, ctx: &mut Ctx, head: &request::Parts) {
        if !wire::accepts(&head.headers, "text/event-stream") {
            let text = "Not Acceptable: Accept must include text/event-stream";
            return self.reject(ctx, StatusCode::NOT_ACCEPTABLE, text);
        }
        let Ok(named) = self.named_session(ctx, head) else {
            return;
        };
        let Some(session) = named else {
            return self.open_legacy(now, ctx, head, Endpoint::Mcp);
        };
        if self.sessions[&session].transport == Transport::HttpSse {
            let text = "Conflict: a 2024-11-05 session has exactly one stream";
            return self.reject(ctx, StatusCode::CONFLICT, text);
        }
        if let Some(response) = self.check_protocol_version(&head.headers) {
            return self.respond(ctx, response);
        }
        if let Some(state) = self.sessions.get_mut(&session) {
            state.last_active = now;
        }
        match head.headers.get(LAST_EVENT_ID) {
            Some(last) if self.config.resumable => {
                let last = last.to_str().unwrap_or("").to_owned();
                self.resume(now, ctx, &session, &last)
            }
            _ => self.open_standalone(now, ctx, &session),
        }
    }

    /// The live session the request names (header or query, as for `POST`), now named on the
    /// response too (S2.44); `None` when it names none, `Err` once an unknown id was answered `404` (S2.40).
    fn named_session(
        &mut self,
        ctx: &mut Ctx,
        head: &request::Parts,
    ) -> Result<Option<SessionId>, ()> {
        let Some(id) = crate::server::named_session(head) else {
            return Ok(None);
        };
        let Some((session, state)) = self.sessions.get_key_value(id) else {
            let code = jsonrpc::SESSION_NOT_FOUND;
            let response = wire::error(StatusCode::NOT_FOUND, None, code, "Session not found");
            self.respond(ctx, response);
            return Err(());
        };
        ctx.session = Some(state.header.clone());
        Ok(Some(session.clone()))
    }

    /// Opens the standalone stream; a previous one is closed with a reconnection hint (newest
    /// wins, instead of 409 storms).
    fn open_standalone(&mut self, now: Instant, ctx: &Ctx, session: &SessionId) {
        if let Some(old) = self.sessions[session].standalone {
            self.end_stream(now, old, true);
        }
        let id = self.new_stream_id();
        let conn = Conn::Waiting {
            exchange: ctx.exchange,
            origin: crate::cors::allowed_value(&ctx.origin),
        };
        let mut stream = Stream::new(Some(session.clone()), Role::Standalone, conn, now);
        stream.resumable = self.config.resumable;
        self.streams.insert(id, stream);
        self.exchanges.insert(ctx.exchange, id);
        let state = self
            .sessions
            .get_mut(session)
            .expect("looked up by the caller");
        state.streams.push(id);
        state.standalone = Some(id);
        self.upgrade(now, id, true);
    }

    /// Replays the events of the stream that broke after `last`, then continues it there
    /// (S2.28, S2.29). Events of other streams are never replayed.
    fn resume(&mut self, now: Instant, ctx: &Ctx, session: &SessionId, last: &str) {
        let refuse = |server: &mut Self, text: &str| {
            let code = jsonrpc::SERVER_ERROR;
            let response = wire::error(StatusCode::BAD_REQUEST, None, code, text);
            server.respond(ctx, response);
        };
        let Some(event) = EventId::parse(last) else {
            return refuse(
                self,
                "Bad Request: Last-Event-ID was not issued by this server",
            );
        };
        if event.epoch != self.epoch {
            return refuse(
                self,
                "Bad Request: Last-Event-ID is from an earlier server instance",
            );
        }
        let owned = self
            .streams
            .get(&event.stream)
            .is_some_and(|s| s.resumable && s.session.as_ref() == Some(session));
        if !owned {
            let text =
                "Bad Request: Last-Event-ID names no stream of this session (ended or expired)";
            return refuse(self, text);
        }
        let Some(frames) = self.store.replay(now, event.stream, event.seq) else {
            let text = "Bad Request: the events after Last-Event-ID are no longer held";
            return refuse(self, text);
        };
        let stream = self.streams.get_mut(&event.stream).expect("checked above");
        if let Conn::Open(old) = stream.conn {
            // Newest wins: the old connection ends; the client has moved on.
            self.finish(old);
        }
        let stream = self.streams.get_mut(&event.stream).expect("checked above");
        stream.conn = Conn::Waiting {
            exchange: ctx.exchange,
            origin: crate::cors::allowed_value(&ctx.origin),
        };
        let (role, done) = (stream.role, stream.done);
        self.exchanges.insert(ctx.exchange, event.stream);
        self.upgrade(now, event.stream, false);
        for frame in frames {
            self.write(now, ctx.exchange, frame);
        }
        self.stats.resumes += 1;
        if done {
            self.finish(ctx.exchange);
            self.remove_stream(now, event.stream);
        } else if role == Role::Standalone
            && let Some(state) = self.sessions.get_mut(session)
        {
            state.standalone = Some(event.stream);
        }
    }

    /// `DELETE`: the client ends its session (S2.42); its id gets 404 from now on (S2.40).
    pub(crate) fn delete_mcp(&mut self, now: Instant, ctx: &mut Ctx, head: &request::Parts) {
        if !self.config.allow_delete {
            return self.respond(ctx, wire::method_not_allowed("GET, POST, OPTIONS"));
        }
        let Ok(named) = self.named_session(ctx, head) else {
            return;
        };
        let Some(session) = named else {
            let text = "Bad Request: Mcp-Session-Id header is required";
            return self.reject(ctx, StatusCode::BAD_REQUEST, text);
        };
        self.end_session(now, &session, CloseReason::Deleted);
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = StatusCode::OK;
        self.respond(ctx, response);
    }
}
