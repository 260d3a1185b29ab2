//! [`Handle`]: server-initiated messages and shutdown, from anywhere.

use std::time::Duration;

use bytes::Bytes;
use mcp_sse_core::jsonrpc;
use mcp_sse_core::{Change, SendError, SessionId, Target};
use serde_json::Value;

use crate::driver::Driver;
use crate::error::RequestError;

/// How long a shutdown lets requests in flight be answered, unless told otherwise.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Sends server-initiated messages and stops the server; clones share one server.
#[derive(Clone, Debug)]
pub struct Handle {
    driver: Driver,
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

    /// Shuts the server down within the default grace of 10 s, as
    /// [`shutdown_within`](Self::shutdown_within).
    pub async fn shutdown(&self) {
        self.shutdown_within(SHUTDOWN_GRACE).await;
    }

    /// Shuts the server down within `grace`: new requests are refused, requests in flight are
    /// answered on their streams until then, and at `grace` whatever is left ends (every stream
    /// with a reconnection hint). Resolves once every exchange is over.
    pub async fn shutdown_within(&self, grace: Duration) {
        let _ = self.driver.shutdown(grace).await;
    }
}
