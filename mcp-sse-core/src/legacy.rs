//! The 2024-11-05 HTTP+SSE transport (SPEC-NOTES §2): a `GET` stream that is the session, its
//! first event naming the URI for `POST`s, and replies on the stream.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{StatusCode, request};

use crate::server::{Ctx, Endpoint, Server};
use crate::stream::{Conn, Role, Stream};
use crate::{Event, Output, SessionId, Transport, jsonrpc, sse, wire};

impl Server {
    /// Opens a session whose stream is this response (S1.1a), its first event `endpoint` (S1.2).
    pub(crate) fn open_legacy(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &request::Parts,
        posts_to: Endpoint,
    ) {
        if !wire::accepts(&head.headers, "text/event-stream") {
            let text = "Not Acceptable: Accept must include text/event-stream";
            return self.reject(ctx, StatusCode::NOT_ACCEPTABLE, text);
        }
        if self.sessions.len() >= self.config.max_sessions {
            let retry = self.config.retry_after_secs;
            let response = wire::unavailable(retry, None, "Too many sessions");
            return self.respond(ctx, response);
        }
        let session = self.mint_session(now, Transport::HttpSse);
        let id = self.new_stream_id();
        let conn = Conn::Waiting {
            exchange: ctx.exchange,
            origin: crate::cors::allowed_value(&ctx.origin),
        };
        let stream = Stream::new(Some(session.clone()), Role::Legacy, conn, now);
        self.streams.insert(id, stream);
        self.exchanges.insert(ctx.exchange, id);
        self.sessions
            .get_mut(&session)
            .expect("minted above")
            .streams
            .push(id);
        self.upgrade(now, id, false);

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
    }

    /// Hands a message of a 2024-11-05 session to the application; `202` once it is accepted
    /// (S1.8), the answer follows on the session's stream (S1.3).
    pub(crate) fn post_legacy(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        head: &Arc<request::Parts>,
        session: SessionId,
        body: jsonrpc::Body,
    ) {
        let message = match body {
            jsonrpc::Body::Single(message) => message,
            jsonrpc::Body::Batch(_) => {
                let code = jsonrpc::INVALID_REQUEST;
                let text = "Invalid Request: batches are not part of this transport";
                let response = wire::error(StatusCode::BAD_REQUEST, None, code, text);
                return self.respond(ctx, response);
            }
        };
        let jsonrpc::Message::Request(request) = message else {
            self.deliver_other(now, head, Some(session), Transport::HttpSse, message);
            return self.respond(ctx, wire::accepted());
        };
        let state = self
            .sessions
            .get(&session)
            .expect("the caller looked it up");
        let stream = state.streams[0];
        let queued = self.queued(stream);
        // Backpressure is not a closed session (the seed's review finding): 503 + Retry-After.
        if state.in_flight >= self.config.max_requests_in_flight
            || queued >= self.config.stream_queue_bytes
        {
            let retry = self.config.retry_after_secs;
            let response = wire::unavailable(retry, Some(&request.id), "Session busy: retry later");
            return self.respond(ctx, response);
        }
        let version = state.version;
        let key = self.admit(&request, Some(session.clone()), stream);
        self.push(Output::Event(Event::Request {
            key,
            session: Some(session),
            transport: Transport::HttpSse,
            version,
            request,
            head: head.clone(),
        }));
        self.respond(ctx, wire::accepted());
    }
}
