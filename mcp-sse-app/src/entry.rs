//! [`Entry`], where HTTP requests enter the server, and [`Handle`].

use std::future::Future;

use bytes::{Bytes, BytesMut};
use futures_channel::oneshot;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use mcp_sse_core::jsonrpc;
use mcp_sse_core::{Change, SendError, Server, SessionId, Target};
use serde_json::Value;

use crate::body::ResponseBody;
use crate::driver::Driver;
use crate::handler::{Handler, RequestError};
use crate::runtime::Runtime;

/// Where HTTP requests enter the server: whatever serves HTTP (an adapter's connections, a
/// tower `Service`) calls [`call`](Self::call) per request. Clones share one server.
#[derive(Clone, Debug)]
pub struct Entry {
    driver: Driver,
    body_limit: usize,
}

/// Sends server-initiated messages and stops the server; clones share one server.
#[derive(Clone, Debug)]
pub struct Handle {
    driver: Driver,
}

impl Entry {
    /// Shares `server` among the tasks that will drive it and starts its timer task on
    /// `runtime`, and returns the entry in front of it with a handle to it. The timer task ends
    /// once the entry, every handle, every response body and every request context are gone.
    pub fn start<R: Runtime, H: Handler>(runtime: R, server: Server, handler: H) -> (Self, Handle) {
        let body_limit = server.config().max_body_bytes.saturating_add(1);
        let driver = Driver::start(runtime, server, handler);
        let handle = Handle {
            driver: driver.clone(),
        };
        (Self { driver, body_limit }, handle)
    }

    /// Answers one HTTP request: reads its body (at most `max_body_bytes` + 1 bytes; the core
    /// answers `413` beyond the bound), applies it to the server and resolves with the response.
    /// A failed body gets `400`.
    pub fn call<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<ResponseBody>> + Send + use<B>
    where
        B: Body + Send + 'static,
        B::Data: Send,
    {
        let driver = self.driver.clone();
        let limit = self.body_limit;
        async move {
            let (head, body) = request.into_parts();
            let Some(body) = read_body(body, limit).await else {
                return plain(StatusCode::BAD_REQUEST);
            };
            let (respond, response) = oneshot::channel();
            driver.handle_request(head, body, respond);
            // Ready at once unless a handler is still working on it.
            let Ok(mut response) = response.await else {
                return plain(StatusCode::SERVICE_UNAVAILABLE);
            };
            response.body_mut().arm(&driver);
            response
        }
    }
}

/// Reads at most `limit` bytes of the body: the core answers `413` when it sees them all used.
/// `None` when the body failed (the client went away).
async fn read_body<B: Body>(body: B, limit: usize) -> Option<Bytes> {
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return None };
        if let Ok(mut data) = frame.into_data() {
            while bytes::Buf::has_remaining(&data) && buffer.len() < limit {
                let piece = bytes::Buf::chunk(&data);
                let take = piece.len().min(limit - buffer.len());
                buffer.extend_from_slice(&piece[..take]);
                bytes::Buf::advance(&mut data, take);
            }
            if buffer.len() >= limit {
                break;
            }
        }
    }
    Some(buffer.freeze())
}

fn plain(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::new()));
    *response.status_mut() = status;
    response
}

impl Handle {
    pub(crate) fn new(driver: Driver) -> Self {
        Self { driver }
    }

    /// Sends a notification to a session, on its stream for messages unrelated to a request.
    pub async fn notify(
        &self,
        session: &SessionId,
        method: &str,
        params: Value,
    ) -> Result<(), SendError> {
        let params = serde_json::value::to_raw_value(&params).ok();
        let message = jsonrpc::encode_notification(method, params.as_deref());
        self.driver.send(Target::Session(session.clone()), message)
    }

    /// Sends a JSON-RPC notification or request the application encoded itself to a session, on
    /// its stream for messages unrelated to a request, as it is. A client's answer to such a
    /// request reaches [`Handler::response`](crate::Handler::response). Returns at once; it
    /// fails when the session has no such stream open ([`SendError::NoStream`]) or the stream is
    /// full ([`SendError::QueueFull`]).
    pub fn send_message(
        &self,
        session: &SessionId,
        message: impl Into<Bytes>,
    ) -> Result<(), SendError> {
        self.driver
            .send(Target::Session(session.clone()), message.into())
    }

    /// Sends a request to a session's client (sampling, elicitation, roots) on its stream for
    /// messages unrelated to a request (the 2024-11-05 stream, or the standalone `GET` stream),
    /// and waits for the answer. It fails at once when the session has no such stream open, and
    /// with [`RequestError::Gone`] when the session ends first; it does not time out by itself.
    pub async fn request(
        &self,
        session: &SessionId,
        method: &str,
        params: Value,
    ) -> Result<Value, RequestError> {
        let target = Target::Session(session.clone());
        let answer = self
            .driver
            .ask(None, target, Some(session.clone()), method, &params);
        answer.await.unwrap_or(Err(RequestError::Gone))
    }

    /// Announces a change to every 2026-07-28 `subscriptions/listen` stream that asked for it
    /// (the server adds each stream's subscription id, S3.34).
    pub fn publish(&self, change: Change) {
        self.driver.publish(&change);
    }

    /// Ends a session; later requests naming it get `404`.
    pub fn close_session(&self, session: &SessionId) {
        self.driver.close_session(session);
    }

    /// Finishes every stream (with a reconnection hint) and refuses new requests; resolves once
    /// every exchange is over, including requests still waiting for their handler.
    pub async fn shutdown(&self) {
        let _ = self.driver.shutdown().await;
    }
}
