//! The application's side: [`Handler`], and the contexts a message is handled in.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::request;
use mcp_sse_core::jsonrpc::{self, ErrorObject};
use mcp_sse_core::{
    Change, Principal, ProtocolVersion, RequestKey, SendError, SessionId, Target, Transport,
};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::driver::{App, Driver, IncomingNotification, IncomingRequest, Reply};
use crate::error::RequestError;
use crate::handle::Handle;
use crate::runtime::BoxFuture;

/// What the application implements: the MCP methods it serves.
///
/// A request's handler is first polled by the task that brought the request (usually its
/// connection's): one that answers without waiting costs no task of its own, and its answer
/// leaves at once. One that awaits goes on in a task of its own, and may take as long as it
/// needs, send progress and logging notifications through the context, and ask the client
/// questions. So don't block before the first `.await` (move blocking or long CPU work to the
/// runtime's blocking pool): it would hold up that connection and the other requests of its
/// batch meanwhile. A handler that panics answers `-32603` (internal error).
pub trait Handler: Send + Sync + 'static {
    /// Answers a client request with its result or a JSON-RPC error.
    fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> impl Future<Output = Result<Value, ErrorObject>> + Send;

    /// A change another instance of a cluster published ([`Handle::publish`] there): it went
    /// to this instance's 2026-07-28 listeners already; tell this instance's own clients what
    /// they expect of it (e.g. `notifications/resources/updated` to the sessions subscribed
    /// here). Runs in the task that brought it, so keep it short. The default does nothing.
    fn published(&self, handle: &Handle, change: &Change) {
        let _ = (handle, change);
    }

    /// Whether a request accepted by another instance of the cluster, which died before
    /// answering it, may run here again (see `Config::cluster`): a read, an idempotent call.
    /// When `false` (the default: only the application knows what is safe to run twice) its
    /// client gets `-32603` saying so, once, instead of an answer that will never come.
    fn redeliver(&self, cx: &RequestContext, request: &jsonrpc::Request) -> bool {
        let _ = (cx, request);
        false
    }

    /// A client notification. The default ignores it.
    fn notification(
        &self,
        cx: NotificationContext,
        notification: jsonrpc::Notification,
    ) -> impl Future<Output = ()> + Send {
        let _ = (cx, notification);
        async {}
    }

    /// A client's answer (a result or an error) to a request the driver did not send: one the
    /// application sent itself with [`RequestContext::send_message`] or
    /// [`Handle::send_message`], with ids of its own. Answers to [`RequestContext::request`] and
    /// [`Handle::request`] go to their callers and never come here. Runs in the task that brought
    /// it, under no lock, so keep it short (hand it on, don't wait). The default drops it.
    fn response(&self, session: Option<&SessionId>, response: jsonrpc::Message) {
        tracing::debug!(
            ?session,
            ?response,
            "client response to no pending request dropped"
        );
    }

    /// A session ended (closed by the client, expired, deleted, or the server shut down):
    /// forget what was kept for it. Runs in the task whose input ended it (a connection, the
    /// timer), so keep it short. The default does nothing.
    fn session_closed(&self, session: &SessionId) {
        let _ = session;
    }

    /// A session another instance of a cluster created (see `Config::cluster`) is served by
    /// this instance from now on: a request naming it came here. `client` is the `params` of
    /// the client's `initialize` (its capabilities and info), as the first instance got them,
    /// so what the application keeps per session can be rebuilt; `version` is the negotiated
    /// version. Runs in the task that brought the request, before its handler. The default
    /// does nothing.
    fn session_restored(
        &self,
        session: &SessionId,
        version: Option<ProtocolVersion>,
        client: Option<&RawValue>,
    ) {
        let _ = (session, version, client);
    }
}

/// Every [`Handler`] is an [`App`] the driver runs: its answers serialized, its panics and
/// its errors turned into JSON-RPC errors.
impl<H: Handler> App for Arc<H> {
    fn request(&self, driver: Driver, incoming: IncomingRequest, reply: Reply) -> BoxFuture {
        let handler = self.clone();
        let cx = RequestContext {
            key: incoming.key,
            session: incoming.session,
            transport: incoming.transport,
            version: incoming.version,
            head: incoming.head,
            redelivered: incoming.redelivered,
            driver,
        };
        if incoming.redelivered && !Handler::redeliver(&*handler, &cx, &incoming.request) {
            let error = ErrorObject::new(
                jsonrpc::INTERNAL_ERROR,
                "The server instance handling this request stopped before answering it; \
                 it is not run again here",
            );
            reply.send(Err(error));
            return Box::pin(async {});
        }
        Box::pin(async move {
            let outcome = Handler::request(&*handler, cx, incoming.request)
                .await
                .and_then(|result| {
                    serde_json::value::to_raw_value(&result).map_err(|error| {
                        ErrorObject::new(jsonrpc::INTERNAL_ERROR, error.to_string())
                    })
                });
            reply.send(outcome);
        })
    }

    fn notification(&self, driver: Driver, incoming: IncomingNotification) -> BoxFuture {
        let handler = self.clone();
        let cx = NotificationContext {
            session: incoming.session,
            transport: incoming.transport,
            head: incoming.head,
            driver,
        };
        Box::pin(async move { Handler::notification(&*handler, cx, incoming.notification).await })
    }

    fn response(&self, session: Option<&SessionId>, response: jsonrpc::Message) {
        Handler::response(&**self, session, response);
    }

    fn session_closed(&self, session: &SessionId) {
        Handler::session_closed(&**self, session);
    }

    fn session_restored(
        &self,
        session: &SessionId,
        version: Option<ProtocolVersion>,
        client: Option<&RawValue>,
    ) {
        Handler::session_restored(&**self, session, version, client);
    }

    fn published(&self, driver: Driver, change: &Change) {
        Handler::published(&**self, &Handle::new(driver), change);
    }
}

/// Where a client notification came from.
#[derive(Debug, Clone)]
pub struct NotificationContext {
    session: Option<SessionId>,
    transport: Transport,
    head: Arc<request::Parts>,
    driver: Driver,
}

impl NotificationContext {
    /// The session it came in, if any.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The transport that carried it.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The head of the HTTP request that carried it.
    pub fn http(&self) -> &request::Parts {
        &self.head
    }

    /// Who sent it, with authorization on (`Config::auth`): the principal of the request's
    /// bearer token, who is also the owner of its session, if it has one. `None` without
    /// authorization.
    pub fn principal(&self) -> Option<&Principal> {
        self.head.extensions.get()
    }

    /// A handle to the server, e.g. to answer the notification with messages of its own.
    pub fn handle(&self) -> Handle {
        Handle::new(self.driver.clone())
    }
}

/// The request being handled, and the way to talk to its client meanwhile.
#[derive(Debug, Clone)]
pub struct RequestContext {
    key: RequestKey,
    session: Option<SessionId>,
    transport: Transport,
    version: Option<ProtocolVersion>,
    head: Arc<request::Parts>,
    redelivered: bool,
    driver: Driver,
}

impl RequestContext {
    /// Whether this request runs again here after the instance that accepted it died before
    /// answering (see [`Handler::redeliver`]): its client may have seen some of what it sent
    /// the first time, as progress.
    pub fn redelivered(&self) -> bool {
        self.redelivered
    }

    /// The session the request came in, if any.
    pub fn session(&self) -> Option<&SessionId> {
        self.session.as_ref()
    }

    /// The transport that carried it.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The head of the HTTP request that carried it: method, URI, headers, and the extensions
    /// the adapter or a tower layer in front of it put there.
    pub fn http(&self) -> &request::Parts {
        &self.head
    }

    /// Who sent it, with authorization on (`Config::auth`): the principal of the request's
    /// bearer token (its subject, client, scopes, expiry and claims), who is also the owner of
    /// its session, if it has one. `None` without authorization. The token itself is not
    /// there: it never goes past the verifier.
    pub fn principal(&self) -> Option<&Principal> {
        self.head.extensions.get()
    }

    /// The request's server-side key, unique for the server's life: for logs, and for
    /// [`Handle`] calls made on the request's behalf.
    pub fn key(&self) -> RequestKey {
        self.key
    }

    /// The protocol version the request is served under: the session's negotiated one, or
    /// the one a 2026-07-28 request names. `None` before `initialize` was answered, and for
    /// 2024-11-05 and stateless requests.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// A handle to the server, to keep for messages sent later and outside any request (e.g.
    /// `notifications/resources/updated` on the session's standalone stream).
    pub fn handle(&self) -> Handle {
        Handle::new(self.driver.clone())
    }

    /// Sends a notification related to this request (progress, logging) on the stream that
    /// carries its answer.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), SendError> {
        let params = serde_json::value::to_raw_value(&params).ok();
        let message = jsonrpc::encode_notification(method, params.as_deref());
        self.driver.send(Target::Request(self.key), message)
    }

    /// Sends a request to the client (sampling, elicitation, roots) on this request's stream
    /// and waits for its answer.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, RequestError> {
        let target = Target::Request(self.key);
        let answer = self.driver.ask(
            Some(self.key),
            target,
            self.session.clone(),
            method,
            &params,
        );
        answer.await.unwrap_or(Err(RequestError::Gone))
    }

    /// Sends a JSON-RPC notification or request the application encoded itself on the stream that
    /// carries this request's answer, as it is (its bytes are not parsed again). For layers that
    /// own their message types and request ids, such as a bridge to another SDK: a client's
    /// answer to such a request reaches [`Handler::response`]. Returns at once; a full stream
    /// refuses with [`SendError::QueueFull`], and 2026-07-28 streams refuse requests
    /// ([`SendError::Forbidden`]).
    pub fn send_message(&self, message: impl Into<Bytes>) -> Result<(), SendError> {
        self.driver.send(Target::Request(self.key), message.into())
    }

    /// Closes the connection of this request's SSE stream without ending the stream: the client
    /// reconnects and resumes with `Last-Event-ID` (2025-11-25 polling). Fails when the client
    /// could not resume (older protocol versions, JSON answers).
    pub async fn close_stream(&self) -> Result<(), SendError> {
        self.driver.close_stream(self.key)
    }
}
