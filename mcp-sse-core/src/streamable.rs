//! Streamable HTTP with sessions, 2025-03-26 to 2025-11-25 (S2.x), and its stateless form:
//! `POST` answered with JSON or an SSE stream, the standalone `GET` stream, `DELETE`, and
//! resumption with `Last-Event-ID`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{StatusCode, request};

use crate::headers::{self, LAST_EVENT_ID};
use crate::responses::{self, Ctx, Unavailable};
use crate::router::{Endpoint, first_id, named_session};
use crate::server::{Delivery, Server};
use crate::streams::{Opening, Role};
use crate::{CloseReason, SessionId, Transport, jsonrpc};

impl Server {
    /// `initialize` with no session: validated, so now a session is minted (S2.35).
    pub(crate) fn initialize_session(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &Arc<request::Parts>,
        body: jsonrpc::Body,
    ) {
        self.request_transport = Some(Transport::Streamable);
        if let Err(retry) = self.make_room(now) {
            let response =
                responses::unavailable(Unavailable::SessionsFull, retry, first_id(&body));
            return ctx.respond(&mut self.fx, response);
        }
        let session = self.open_session(now, ctx, head, Transport::Streamable);
        self.arm_session_expiry(now, &session);
        if self.members.is_some()
            && let jsonrpc::Body::Single(jsonrpc::Message::Request(request)) = &body
            && let Some(state) = self.sessions.get_mut(&session)
        {
            // What other instances' applications will know of the client.
            state.client = request.params.clone();
        }
        self.post_streamable(now, ctx, head, Some(session), body, true);
    }

    /// A `POST` to a Streamable HTTP session (`fresh`: the `initialize` that opened it), or
    /// with no session when serving statelessly. Hands its messages to the application: `202`
    /// when none is a request (S2.8), else a stream that answers them, as JSON or SSE (S2.9).
    pub(crate) fn post_streamable(
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
                let response = responses::error(StatusCode::BAD_REQUEST, None, code, text);
                return ctx.respond(&mut self.fx, response);
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
                        let response = responses::error(
                            StatusCode::BAD_REQUEST,
                            Some(&request.id),
                            code,
                            text,
                        );
                        return ctx.respond(&mut self.fx, response);
                    }
                    let error = jsonrpc::ErrorObject::new(code, text);
                    errors.push(jsonrpc::encode_error(Some(&request.id), &error));
                }
                Ok(jsonrpc::Message::Request(request)) => requests.push(request),
                Ok(other) => others.push(other),
            }
        }
        let limit = self.config.max_requests_in_flight;
        if requests.len() > limit {
            // Never servable, so no Retry-After.
            let code = jsonrpc::INVALID_REQUEST;
            let text = format!(
                "Invalid Request: a batch of {} requests is more than this server takes at once ({limit})",
                requests.len()
            );
            let response = responses::error(StatusCode::BAD_REQUEST, None, code, &text);
            return ctx.respond(&mut self.fx, response);
        }
        if let Some(session) = &session
            && self.requests.in_flight(session) + requests.len() > limit
        {
            let retry = self.config.retry_after_secs;
            let id = requests.first().map(|r| &r.id);
            let response = responses::unavailable(Unavailable::SessionBusy, retry, id);
            return ctx.respond(&mut self.fx, response);
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
                0 => responses::accepted(),
                1 if !batch => responses::json(StatusCode::BAD_REQUEST, errors.remove(0)),
                _ => responses::json(StatusCode::BAD_REQUEST, jsonrpc::encode_batch(&errors)),
            };
            return ctx.respond(&mut self.fx, response);
        }

        if !fresh && let Some(state) = session.as_ref().and_then(|s| self.sessions.get_mut(s)) {
            state.initialized = true;
        }
        let mut opening = Opening::new(session.clone(), Role::Post);
        opening.resumable = self.config.resumable && session.is_some();
        opening.batch = batch;
        opening.collected = errors;
        let resumable = opening.resumable;
        let stream = self.open_stream(now, ctx.clone(), opening);
        // An initialize's stream is not worth taking over: its client starts again.
        if resumable
            && !fresh
            && let Some(session) = &session
        {
            self.share_stream(stream, session, &requests);
        }
        for request in requests {
            let how = Delivery::New { logs: false };
            self.deliver_request(head, session.clone(), transport, stream, request, how);
        }
    }

    /// `GET` on the MCP endpoint: a session's standalone stream (S2.18), a resumption
    /// (S2.28), or, naming no session, a 2024-11-05 stream (S1.12, S2.51).
    pub(crate) fn get_mcp(&mut self, now: Instant, ctx: &mut Ctx, head: &request::Parts) {
        if !headers::accepts(&head.headers, "text/event-stream") {
            let text = "Not Acceptable: Accept must include text/event-stream";
            return ctx.reject(&mut self.fx, StatusCode::NOT_ACCEPTABLE, text);
        }
        let Ok(named) = self.named_session(ctx, head) else {
            return;
        };
        let Some(session) = named else {
            return self.open_http_sse(now, ctx, head, Endpoint::Mcp);
        };
        if self.sessions.get(&session).map(|s| s.transport) == Some(Transport::HttpSse) {
            let text = "Conflict: a 2024-11-05 session has exactly one stream";
            return ctx.reject(&mut self.fx, StatusCode::CONFLICT, text);
        }
        if let Some(response) = self.check_protocol_version(&head.headers) {
            return ctx.respond(&mut self.fx, response);
        }
        self.sessions.touch(&session, now);
        self.touch_shared(now, &session);
        match head.headers.get(LAST_EVENT_ID) {
            Some(last) if self.config.resumable => {
                let last = last.to_str().unwrap_or("");
                if let Some(event) = self.foreign_event(last) {
                    return self.resume_elsewhere(now, ctx, session, event);
                }
                let resumed = self.streams.resume(
                    &mut self.fx,
                    &self.sessions,
                    now,
                    ctx.clone(),
                    &session,
                    last,
                );
                if let Err(text) = resumed {
                    ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, text);
                }
            }
            _ => self.open_standalone(now, ctx, &session),
        }
    }

    /// The live session the request names (header or query, as for `POST`), now named on the
    /// response too (S2.44); `None` when it names none, `Err` once an unknown id was answered
    /// `404` (S2.40).
    fn named_session(
        &mut self,
        ctx: &mut Ctx,
        head: &request::Parts,
    ) -> Result<Option<SessionId>, ()> {
        let Some(id) = named_session(head) else {
            return Ok(None);
        };
        let Some((session, state)) = self.session_of(id, head) else {
            ctx.respond(&mut self.fx, responses::session_not_found(None));
            return Err(());
        };
        ctx.session = Some(state.header.clone());
        let (session, transport) = (session.clone(), state.transport);
        self.request_transport = Some(transport);
        Ok(Some(session))
    }

    /// Opens the standalone stream; a previous one is closed with a reconnection hint (newest
    /// wins, instead of 409 storms).
    fn open_standalone(&mut self, now: Instant, ctx: &Ctx, session: &SessionId) {
        if let Some(old) = self.streams.standalone_of(session) {
            self.end_stream(now, old, true);
        }
        let mut opening = Opening::new(Some(session.clone()), Role::Standalone);
        opening.resumable = self.config.resumable;
        let stream = self.open_stream(now, ctx.clone(), opening);
        if self.config.resumable {
            self.share_stream(stream, session, &[]);
        }
        self.take_stream(session);
    }

    /// `DELETE`: the client ends its session (S2.42); its id gets 404 from now on (S2.40).
    pub(crate) fn delete_mcp(&mut self, now: Instant, ctx: &mut Ctx, head: &request::Parts) {
        if !self.config.allow_delete {
            let response = responses::method_not_allowed("GET, POST, OPTIONS");
            return ctx.respond(&mut self.fx, response);
        }
        let Ok(named) = self.named_session(ctx, head) else {
            return;
        };
        let Some(session) = named else {
            let text = "Bad Request: Mcp-Session-Id header is required";
            return ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, text);
        };
        if self.delete_everywhere(now, ctx, &session).is_ok() {
            return;
        }
        self.end_session(now, &session, CloseReason::Deleted);
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = StatusCode::OK;
        ctx.respond(&mut self.fx, response);
    }
}
