//! [`Bridge`]: an rmcp `ServerHandler` as an mcp-sse [`Handler`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use mcp_sse_app::jsonrpc::{self, ErrorObject};
use mcp_sse_app::{Handle, Handler, NotificationContext, RequestContext, SessionId};
use rmcp::ServerHandler;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcRequest};
use rmcp::service::serve_server_with_ct;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::oneshot;
use crate::session::{CancelOnDrop, Inbound, Routes, Session, SessionTransport};
use crate::wire::{self, Outcome};

/// Makes a fresh handler for each session (and each sessionless request), like the factory of
/// rmcp's `StreamableHttpService`.
pub(crate) type Factory<S> = Arc<dyn Fn() -> std::io::Result<S> + Send + Sync>;

type Sessions = Mutex<HashMap<SessionId, Session>>;

/// Serves an rmcp `ServerHandler` as an mcp-sse [`Handler`], with one rmcp service per session
/// (2024-11-05 and Streamable HTTP sessions: started by the session's first request, normally
/// `initialize`, and ended with the session) and one per sessionless request (2026-07-28 and
/// stateless serving, through rmcp's one-shot path).
///
/// Most users want [`service`](crate::service) or [`serve`](crate::serve), which also derive
/// what the core must know of the handler ([`Bridge::declare`]). A `Bridge` itself is for
/// mounting in any mcp-sse adapter's `serve` or `McpService::new`.
pub struct Bridge<S> {
    factory: Factory<S>,
    sessions: Arc<Sessions>,
    stream_wait: Duration,
}

impl<S> fmt::Debug for Bridge<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("sessions", &lock(&self.sessions).len())
            .finish_non_exhaustive()
    }
}

impl<S: ServerHandler> Bridge<S> {
    /// A bridge whose services come from `factory`, the same closure rmcp's
    /// `StreamableHttpService::new` takes (e.g. `|| Ok(Counter::new())`).
    pub fn new(factory: impl Fn() -> std::io::Result<S> + Send + Sync + 'static) -> Self {
        Self {
            factory: Arc::new(factory),
            sessions: Arc::default(),
            stream_wait: Duration::from_secs(10),
        }
    }

    /// How long a request a service sends outside any client request (e.g. from
    /// `on_initialized`) waits for the client to open the session's stream when none is open.
    /// Default 10 s; then the request fails, as it does at once when the session ends.
    pub fn stream_wait(mut self, wait: Duration) -> Self {
        self.stream_wait = wait;
        self
    }

    pub(crate) fn factory(&self) -> Factory<S> {
        self.factory.clone()
    }

    fn make(&self) -> Result<S, ErrorObject> {
        (self.factory)().map_err(|error| {
            tracing::warn!(%error, "the rmcp service factory failed");
            ErrorObject::internal_error(format!("could not start the server: {error}"))
        })
    }

    /// Hands `request` to its session's service (started now if the session has none yet) and
    /// waits for the answer.
    async fn in_session(
        &self,
        session: SessionId,
        cx: RequestContext,
        request: JsonRpcRequest<ClientRequest>,
    ) -> Outcome {
        let id = request.id.clone();
        let progress = wire::progress_token(&request);
        let (answered, _cancel) = {
            let mut sessions = lock(&self.sessions);
            let entry = match sessions.entry(session) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let started = self.start(entry.key().clone(), cx.handle())?;
                    entry.insert(started)
                }
            };
            let answered = entry
                .routes
                .admit(id.clone(), cx, progress)
                .ok_or_else(wire::gone)?;
            let cancel = CancelOnDrop {
                id,
                routes: entry.routes.clone(),
                inbound: entry.inbound.clone(),
            };
            entry
                .inbound
                .send(Box::new(ClientJsonRpcMessage::Request(request)))
                .map_err(|_| wire::gone())?;
            (answered, cancel)
        };
        answered.await.unwrap_or_else(|_| Err(wire::gone()))
    }

    /// Starts a session's service: its serve loop runs in a task of its own until the session
    /// ends or the service does (then the session is ended too, as rmcp's own service does).
    fn start(&self, session: SessionId, handle: Handle) -> Result<Session, ErrorObject> {
        let service = self.make()?;
        let (inbound, received) = mpsc::unbounded_channel();
        let routes = Arc::new(Routes::new(
            session.clone(),
            handle.clone(),
            self.stream_wait,
        ));
        let stop = CancellationToken::new();
        let transport = SessionTransport::new(received, routes.clone());
        let sessions = Arc::downgrade(&self.sessions);
        tokio::spawn(run(
            service,
            transport,
            stop.clone(),
            sessions,
            session,
            handle,
        ));
        Ok(Session {
            inbound,
            routes,
            stop,
        })
    }

    /// The inbound channel of a session's service, if it has one.
    fn inbound(&self, session: &SessionId) -> Option<Inbound> {
        lock(&self.sessions)
            .get(session)
            .map(|session| session.inbound.clone())
    }
}

async fn run<S: ServerHandler>(
    service: S,
    transport: SessionTransport,
    stop: CancellationToken,
    sessions: Weak<Sessions>,
    session: SessionId,
    handle: Handle,
) {
    // Boxed: the handshake's future is large, and this task would keep its size for the
    // session's life (measured: 6 KiB of every idle session).
    match Box::pin(serve_server_with_ct(service, transport, stop)).await {
        Ok(running) => {
            let _ = running.waiting().await;
        }
        Err(error) => tracing::debug!(%session, %error, "the session's rmcp service did not start"),
    }
    let ended_by_itself = sessions
        .upgrade()
        .is_some_and(|sessions| lock(&sessions).remove(&session).is_some());
    if ended_by_itself {
        handle.close_session(&session);
    }
}

impl<S: ServerHandler> Handler for Bridge<S> {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let request = wire::request(&cx, &request)?;
        match cx.session().cloned() {
            Some(session) => self.in_session(session, cx, request).await,
            // Boxed: rmcp's serve futures are large, and this one would size every request's.
            None => Box::pin(oneshot::serve(self.make()?, &cx, request)).await,
        }
    }

    async fn notification(&self, cx: NotificationContext, notification: jsonrpc::Notification) {
        // Sessionless notifications have no service to go to (rmcp's own stateless service
        // ignores them too); the core already acted on `notifications/cancelled`.
        let Some(session) = cx.session() else { return };
        let Some(message) = wire::notification(cx.http(), &notification) else {
            return;
        };
        match self.inbound(session) {
            Some(inbound) => {
                let _ = inbound.send(Box::new(message));
            }
            None => {
                tracing::debug!(%session, "a notification before the session's service dropped")
            }
        }
    }

    fn response(&self, session: Option<&SessionId>, response: jsonrpc::Message) {
        let inbound = session.and_then(|session| self.inbound(session));
        match (inbound, wire::response(&response)) {
            (Some(inbound), Some(message)) => {
                let _ = inbound.send(Box::new(message));
            }
            (None, _) => {
                tracing::debug!(?session, "an answer outside any session's service dropped")
            }
            (_, None) => {}
        }
    }

    fn session_closed(&self, session: &SessionId) {
        if let Some(session) = lock(&self.sessions).remove(session) {
            session.stop.cancel();
        }
    }
}

fn lock(sessions: &Sessions) -> MutexGuard<'_, HashMap<SessionId, Session>> {
    // Every change to the map is one insert or remove: still whole after a panic elsewhere.
    sessions
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
