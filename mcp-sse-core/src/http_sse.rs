//! The 2024-11-05 HTTP+SSE transport (S1.x): a `GET` stream that is the session, its first
//! event naming the URI for `POST`s, and replies on the stream.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{StatusCode, request};

use crate::headers;
use crate::jsonrpc::ErrorObject;
use crate::responses::{self, Ctx, Unavailable};
use crate::router::Endpoint;
use crate::server::{Delivery, Server};
use crate::streams::{Opening, Role};
use crate::{SessionId, Transport, jsonrpc, sse};

impl Server {
    /// Opens a session whose stream is this response (S1.1a), its first event `endpoint` (S1.2)
    /// naming `posts_to`. Opened on the MCP endpoint, the stream and its `POST`s name the
    /// session in `Mcp-Session-Id` too (S1.12, S2.51).
    pub(crate) fn open_http_sse(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &request::Parts,
        posts_to: Endpoint,
    ) {
        self.request_transport = Some(Transport::HttpSse);
        if !headers::accepts(&head.headers, "text/event-stream") {
            let text = "Not Acceptable: Accept must include text/event-stream";
            return ctx.reject(&mut self.fx, StatusCode::NOT_ACCEPTABLE, text);
        }
        if let Err(retry) = self.make_room(now) {
            let response = responses::unavailable(Unavailable::SessionsFull, retry, None);
            return ctx.respond(&mut self.fx, response);
        }
        let session = self.open_session(now, ctx, head, Transport::HttpSse);
        let mut opening = Opening::new(Some(session.clone()), Role::HttpSse);
        // In a cluster its client hears of it once every instance can find it.
        opening.held = self.members.is_some();
        let stream = self.open_stream(now, ctx.clone(), opening);
        let path = match posts_to {
            Endpoint::Mcp => &self.config.mcp_path,
            _ => &self.config.messages_path,
        };
        let prefix = self
            .config
            .trust_forwarded_prefix
            .then(|| headers::forwarded_prefix(&head.headers))
            .flatten()
            .unwrap_or(&self.config.base_path);
        let uri = format!("{prefix}{path}?sessionId={session}");
        let frame = sse::encode(&sse::Fields {
            event: Some("endpoint"),
            data: Some(Bytes::from(uri)),
            ..Default::default()
        })
        .expect("a static event name is a valid field");
        if let Err(frame) = self.share_new_stream_session(&session, stream, frame) {
            self.streams.write(&mut self.fx, now, ctx.exchange, frame);
        }
    }

    /// Hands a message of a 2024-11-05 session to the application; `202` once it is accepted
    /// (S1.8), the answer follows on the session's stream (S1.3). In a cluster, a message for
    /// a session whose stream another instance carries is relayed there (`raw` is its body).
    pub(crate) fn post_http_sse(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        head: &Arc<request::Parts>,
        session: SessionId,
        body: jsonrpc::Body,
        raw: Bytes,
    ) {
        let message = match body {
            jsonrpc::Body::Single(message) => message,
            jsonrpc::Body::Batch(_) => {
                let code = jsonrpc::INVALID_REQUEST;
                let text = "Invalid Request: batches are not part of this transport";
                let response = responses::error(StatusCode::BAD_REQUEST, None, code, text);
                return ctx.respond(&mut self.fx, response);
            }
        };
        if self.streams.first_of(&session).is_none() {
            let id = message.id().cloned();
            if self.relay(ctx, session, id.clone(), raw).is_ok() {
                return;
            }
            return ctx.respond(&mut self.fx, responses::session_not_found(id.as_ref()));
        }
        match self.accept_http_sse(now, head, session, message) {
            Ok(()) => ctx.respond(&mut self.fx, responses::accepted()),
            Err((id, _)) => {
                // Backpressure is not a closed session: 503 + Retry-After.
                let retry = self.config.retry_after_secs;
                let response = responses::unavailable(Unavailable::SessionBusy, retry, Some(&id));
                ctx.respond(&mut self.fx, response);
            }
        }
    }

    /// Takes a message of a 2024-11-05 session whose stream is here. `Err`: a request refused
    /// because the session has `max_requests_in_flight` or its stream is full, with the error
    /// that says so.
    pub(crate) fn accept_http_sse(
        &mut self,
        now: Instant,
        head: &Arc<request::Parts>,
        session: SessionId,
        message: jsonrpc::Message,
    ) -> Result<(), (jsonrpc::Id, ErrorObject)> {
        let jsonrpc::Message::Request(request) = message else {
            self.deliver_other(now, head, Some(session), Transport::HttpSse, message);
            return Ok(());
        };
        let stream = self
            .streams
            .first_of(&session)
            .expect("checked by the caller");
        if self.requests.in_flight(&session) >= self.config.max_requests_in_flight
            || self.streams.is_full(stream)
        {
            let error = ErrorObject::new(jsonrpc::SERVER_ERROR, Unavailable::SessionBusy.message());
            return Err((request.id, error));
        }
        self.deliver_request(
            head,
            Some(session),
            Transport::HttpSse,
            stream,
            request,
            Delivery::New { logs: false },
        );
        Ok(())
    }
}
