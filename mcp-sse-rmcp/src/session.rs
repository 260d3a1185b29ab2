//! One rmcp service per mcp-sse session, and the routing of what it sends.
//!
//! A [`Session`] owns the way into a running rmcp service (its inbound channel, its
//! cancellation token); [`Routes`] are shared with the [`SessionTransport`] rmcp sends through,
//! and route every message as rmcp's own session manager does: a response by its request id to
//! the request waiting for it; progress by its token to the stream of the request that owns the
//! token; a server-to-client request to the stream of the client request whose handler sent it
//! (rmcp marks it with `OriginatingRequestId`); a server's `notifications/cancelled` to the stream
//! that carried the request it cancels; everything else to the session's own stream (the
//! standalone `GET` stream, or the 2024-11-05 stream). A request for the session's stream
//! waits, a bounded time, for the client to open it; a notification with no stream to go to is
//! dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;

use mcp_sse_app::core::SendError;
use mcp_sse_app::{Handle, RequestContext, SessionId};
use rmcp::RoleServer;
use rmcp::model::{
    ClientJsonRpcMessage, GetExtensions, JsonRpcMessage, ProgressToken, RequestId,
    ServerJsonRpcMessage, ServerNotification,
};
use rmcp::service::{OriginatingRequestId, TxJsonRpcMessage};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::wire::{self, Outcome};

/// What the client sends, on its way to a session's service. Boxed: a channel holds a block of 32
/// slots from its start, and a message is 360 bytes (an idle session's channel was 11 KiB).
pub(crate) type Inbound = mpsc::UnboundedSender<Box<ClientJsonRpcMessage>>;

/// The bridge's hold on one session's rmcp service.
#[derive(Debug)]
pub(crate) struct Session {
    /// What the client sends, for the service's transport to receive.
    pub(crate) inbound: Inbound,
    pub(crate) routes: Arc<Routes>,
    /// Ends the service: its serve loop, and the cancellation token of every handler.
    pub(crate) stop: CancellationToken,
}

/// Where what the session's service sends goes; shared by the bridge (which admits requests)
/// and the transport (which routes the service's messages).
#[derive(Debug)]
pub(crate) struct Routes {
    session: SessionId,
    handle: Handle,
    stream_wait: Duration,
    state: Mutex<State>,
}

/// How often a request waiting for the session's stream checks for it.
const STREAM_POLL: Duration = Duration::from_millis(25);

/// What became of a message the service sent.
#[derive(Debug)]
enum Routed {
    /// Sent, answered, or dropped for good, with what the service is told.
    Done(Result<(), SendError>),
    /// A request for the session's stream, which is not open yet.
    AwaitsStream(Bytes),
}

#[derive(Debug, Default)]
struct State {
    /// Client requests the service has not answered.
    requests: HashMap<RequestId, InFlight>,
    /// Progress tokens, by the request that carries each.
    progress: HashMap<ProgressToken, RequestId>,
    /// Requests the service sent to the client on a request's stream, by the client request
    /// they were sent for; forgotten with that request.
    asked: HashMap<RequestId, RequestId>,
    /// The service is gone: nothing more is admitted.
    ended: bool,
}

#[derive(Debug)]
struct InFlight {
    cx: RequestContext,
    answer: oneshot::Sender<Outcome>,
    progress: Option<ProgressToken>,
}

impl Routes {
    pub(crate) fn new(session: SessionId, handle: Handle, stream_wait: Duration) -> Self {
        Self {
            session,
            handle,
            stream_wait,
            state: Mutex::new(State::default()),
        }
    }

    /// Expects the service's answer to request `id`; `None` once the service is gone.
    pub(crate) fn admit(
        &self,
        id: RequestId,
        cx: RequestContext,
        progress: Option<ProgressToken>,
    ) -> Option<oneshot::Receiver<Outcome>> {
        let mut state = self.lock();
        if state.ended {
            return None;
        }
        let (answer, answered) = oneshot::channel();
        if let Some(token) = &progress {
            state.progress.insert(token.clone(), id.clone());
        }
        state.requests.insert(
            id,
            InFlight {
                cx,
                answer,
                progress,
            },
        );
        Some(answered)
    }

    /// Stops expecting an answer to `id`; whether one was still expected.
    pub(crate) fn forget(&self, id: &RequestId) -> bool {
        self.lock().remove(id).is_some()
    }

    /// The service is gone: every request still waiting ends (its handler answers `-32603`).
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        state.ended = true;
        state.requests.clear();
        state.progress.clear();
        state.asked.clear();
    }

    /// Routes one message the service sends.
    fn route(&self, message: ServerJsonRpcMessage) -> Routed {
        let target = match &message {
            JsonRpcMessage::Response(response) => {
                self.answer(&response.id, wire::result(&response.result));
                return Routed::Done(Ok(()));
            }
            JsonRpcMessage::Error(error) => {
                match &error.id {
                    Some(id) => self.answer(id, Err(wire::error(&error.error))),
                    None => tracing::debug!(?error, "an error answer without an id dropped"),
                }
                return Routed::Done(Ok(()));
            }
            JsonRpcMessage::Notification(notification) => {
                let notification = &notification.notification;
                if let Some(change) = wire::change(notification) {
                    self.handle.publish(change);
                }
                let state = self.lock();
                let owner = match notification {
                    ServerNotification::ProgressNotification(progress) => {
                        state.progress.get(&progress.params.progress_token)
                    }
                    ServerNotification::CancelledNotification(cancelled) => cancelled
                        .params
                        .request_id
                        .as_ref()
                        .and_then(|id| state.asked.get(id)),
                    _ => None,
                };
                owner.and_then(|id| state.requests.get(id).map(|request| request.cx.clone()))
            }
            JsonRpcMessage::Request(request) => {
                let origin = request.request.extensions().get::<OriginatingRequestId>();
                let mut state = self.lock();
                match origin.map(|origin| &origin.0) {
                    Some(origin) if state.requests.contains_key(origin) => {
                        state.asked.insert(request.id.clone(), origin.clone());
                        state.requests.get(origin).map(|request| request.cx.clone())
                    }
                    Some(origin) => {
                        tracing::debug!(
                            %origin,
                            "a request for an answered client request goes to the session's stream"
                        );
                        None
                    }
                    None => None,
                }
            }
        };
        let encoded = wire::encode(&message);
        let sent = match target {
            Some(cx) => cx.send_message(encoded),
            None => match self.handle.send_message(&self.session, encoded.clone()) {
                // A request nobody could answer yet: it waits for the client to open the
                // session's stream (a Streamable HTTP client opens it after `initialized`).
                Err(SendError::NoStream) if matches!(message, JsonRpcMessage::Request(_)) => {
                    return Routed::AwaitsStream(encoded);
                }
                sent => sent,
            },
        };
        match sent {
            // rmcp's own session keeps such a notification for a standalone stream that may
            // never come; here it has nowhere to go.
            Err(SendError::NoStream) => {
                tracing::debug!(session = %self.session, "no stream open: notification dropped");
                Routed::Done(Ok(()))
            }
            sent => Routed::Done(sent),
        }
    }

    /// Sends a request on the session's stream once the client has opened one, checking every
    /// [`STREAM_POLL`] for at most `stream_wait`.
    async fn send_when_open(self: Arc<Self>, message: Bytes) -> Result<(), SendError> {
        let deadline = tokio::time::Instant::now() + self.stream_wait;
        loop {
            tokio::time::sleep(STREAM_POLL).await;
            match self.handle.send_message(&self.session, message.clone()) {
                Err(SendError::NoStream) if tokio::time::Instant::now() < deadline => {}
                sent => return sent,
            }
        }
    }

    fn answer(&self, id: &RequestId, outcome: Outcome) {
        match self.lock().remove(id) {
            Some(request) => {
                let _ = request.answer.send(outcome);
            }
            None => tracing::debug!(%id, "an answer to a request no longer in flight dropped"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few maps updated in single steps: a panic elsewhere cannot leave it
        // half-changed, so a poisoned lock is still good.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn remove(&mut self, id: &RequestId) -> Option<InFlight> {
        let request = self.requests.remove(id)?;
        if let Some(token) = &request.progress {
            self.progress.remove(token);
        }
        if !self.asked.is_empty() {
            self.asked.retain(|_, origin| origin != id);
        }
        Some(request)
    }
}

/// The transport one session's rmcp service runs on: it receives what the bridge hands it and
/// routes what the service sends, at once and in order (rmcp awaits each send in a task of its
/// own, so work left for the returned future could overtake).
#[derive(Debug)]
pub(crate) struct SessionTransport {
    inbound: mpsc::UnboundedReceiver<Box<ClientJsonRpcMessage>>,
    routes: Arc<Routes>,
}

impl SessionTransport {
    pub(crate) fn new(
        inbound: mpsc::UnboundedReceiver<Box<ClientJsonRpcMessage>>,
        routes: Arc<Routes>,
    ) -> Self {
        Self { inbound, routes }
    }
}

impl rmcp::transport::Transport<RoleServer> for SessionTransport {
    type Error = SendError;

    fn name() -> Cow<'static, str> {
        "mcp-sse session".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), SendError>> + Send + 'static {
        let routed = self.routes.route(item);
        let routes = self.routes.clone();
        async move {
            match routed {
                Routed::Done(outcome) => outcome,
                Routed::AwaitsStream(message) => routes.send_when_open(message).await,
            }
        }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.inbound.recv().await.map(|message| *message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), SendError>> + Send {
        self.routes.end();
        std::future::ready(Ok(()))
    }
}

impl Drop for SessionTransport {
    fn drop(&mut self) {
        // rmcp drops a transport without closing it when the handshake fails.
        self.routes.end();
    }
}

/// Forwards a cancellation to the session's service when the request's handler is stopped
/// before the service answered: the client cancelled it (S2.17) or it was dropped.
#[derive(Debug)]
pub(crate) struct CancelOnDrop {
    pub(crate) id: RequestId,
    pub(crate) routes: Arc<Routes>,
    pub(crate) inbound: Inbound,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.routes.forget(&self.id) {
            let _ = self
                .inbound
                .send(Box::new(wire::cancelled(self.id.clone())));
        }
    }
}
