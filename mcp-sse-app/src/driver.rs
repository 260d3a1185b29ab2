//! [`Driver`]: the one [`Server`], behind a mutex, driven by whichever task brings it an input.
//!
//! A connection applies its request itself, a body its credit, a handler its answer: each locks,
//! feeds the server, drains every output (a response to hand over, frames to queue on a stream,
//! a message for the application), and unlocks. Nothing waits in a queue for another task to
//! get round to it. What must not run under the lock (the application's code: handlers,
//! `session_closed`) is collected while draining and run right after. A timer task sleeps until
//! the server's next deadline, and is woken only when an input brings an earlier one.
//!
//! This is the bottom layer of the crate: it knows the application only as an [`App`] (the
//! handler API implements it) and hands responses over as a [`Payload`] (the response body
//! wraps it), and reads the clock only through its [`Runtime`].

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::FutureExt;
use futures_util::future::{AbortHandle, AbortRegistration, Abortable};
use http::Response;
use mcp_sse_core::jsonrpc::{self, ErrorObject, Id};
use mcp_sse_core::{
    Answer, Chunk, Event, ExchangeId, Output, ProtocolVersion, RequestKey, SendError, Server,
    SessionId, Shared, Target, Transport,
};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;

use crate::error::{Aborted, RequestError};
use crate::runtime::{BoxFuture, Runtime};
use crate::store::SharedStore;
use crate::telemetry::{self, Gauges, SessionTrace};

#[cfg(test)]
mod tests;

/// A handler's answer, serialized.
pub(crate) type Outcome = Result<Box<RawValue>, ErrorObject>;

/// Where a client's answer to a request of ours goes.
type Asked = oneshot::Sender<Result<Value, RequestError>>;

/// What the server puts on a stream's channel: its frames, or its abort.
pub(crate) type Piece = Result<Chunk, Aborted>;

/// A response's body as the server gives it, before it becomes an `http_body::Body`.
#[derive(Debug)]
pub(crate) enum Payload {
    /// The whole body.
    Full(Bytes),
    /// An SSE stream, fed as the server produces it.
    Stream(Frames),
}

/// The frames of one SSE stream. Dropping them before the server finished the stream is
/// noticed when the next frame finds no receiver; the body that wraps them reports it sooner.
#[derive(Debug)]
pub(crate) struct Frames {
    pub(crate) exchange: ExchangeId,
    pub(crate) receiver: mpsc::UnboundedReceiver<Piece>,
}

/// A client request for the application.
#[derive(Debug)]
pub(crate) struct IncomingRequest {
    pub(crate) key: RequestKey,
    pub(crate) session: Option<SessionId>,
    pub(crate) transport: Transport,
    pub(crate) version: Option<ProtocolVersion>,
    pub(crate) head: Arc<http::request::Parts>,
    pub(crate) request: jsonrpc::Request,
    /// Accepted by another instance of the cluster, which died before answering it.
    pub(crate) redelivered: bool,
}

/// A client notification for the application.
#[derive(Debug)]
pub(crate) struct IncomingNotification {
    pub(crate) session: Option<SessionId>,
    pub(crate) transport: Transport,
    pub(crate) head: Arc<http::request::Parts>,
    pub(crate) notification: jsonrpc::Notification,
}

/// The application, as the driver runs it.
pub(crate) trait App: Send + Sync + 'static {
    /// The task that handles `request` and answers it through `reply`.
    fn request(&self, driver: Driver, request: IncomingRequest, reply: Reply) -> BoxFuture;

    /// The task that handles `notification`.
    fn notification(&self, driver: Driver, notification: IncomingNotification) -> BoxFuture;

    /// A client's answer no request of the driver's claimed; runs in the task that brought it.
    fn response(&self, session: Option<&SessionId>, response: jsonrpc::Message);

    /// A session ended; runs in the task whose input ended it.
    fn session_closed(&self, session: &SessionId);

    /// A change another instance of the cluster published; runs in the task that brought it.
    fn published(&self, driver: Driver, change: &mcp_sse_core::Change);

    /// A session another instance of the cluster created is served here from now on; `client`
    /// is what its client sent with `initialize`. Runs in the task that brought it.
    fn session_restored(
        &self,
        session: &SessionId,
        version: Option<ProtocolVersion>,
        client: Option<&RawValue>,
    );
}

/// Answers a request exactly once: with the handler's outcome, or with an internal error if
/// the handler's task is dropped first (it panicked: the request must not stay in flight).
#[derive(Debug)]
pub(crate) struct Reply(Option<oneshot::Sender<Outcome>>);

impl Reply {
    pub(crate) fn send(mut self, outcome: Outcome) {
        if let Some(done) = self.0.take() {
            let _ = done.send(outcome);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let error = ErrorObject::new(jsonrpc::INTERNAL_ERROR, "Internal error");
            let _ = done.send(Err(error));
        }
    }
}

/// The server shared by every task that drives it; clones share one server. The last clone
/// gone (entries, handles, bodies, request contexts) stops the timer task.
#[derive(Clone)]
pub(crate) struct Driver(Arc<Inner>);

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

struct Inner {
    state: Mutex<State>,
    app: Box<dyn App>,
    runtime: Arc<dyn Runtime>,
    /// The store shared with the other instances of a cluster.
    store: Option<Arc<dyn SharedStore>>,
    /// The operations without a ticket, in the order the server emitted them: frames forwarded
    /// to another instance, events kept, notices for a session's holder must arrive in order.
    /// Bounded ([`ORDERED_OPS`]); beyond it an operation is dropped and logged.
    ordered: async_channel::Sender<Shared>,
    /// Tells the timer task of an earlier deadline; a full channel already does.
    rearm: async_channel::Sender<()>,
}

/// What the mutex guards: the server and where its outputs go.
struct State {
    server: Server,
    responders: HashMap<ExchangeId, oneshot::Sender<Response<Payload>>>,
    streams: HashMap<ExchangeId, Outlet>,
    /// Streams started during the drain under way (see [`Held`]); empty between inputs.
    held: Vec<Held>,
    /// Bytes handed to the streams' connections and not taken by them yet, all streams together.
    queued: usize,
    /// Requests this server sent to clients, by session and the id it gave them, with the
    /// request whose handler waits (none for requests sent through a `Handle`).
    asks: HashMap<(Option<SessionId>, Id), (Asked, Option<RequestKey>)>,
    next_ask: u64,
    /// Handlers still running, so a cancellation can stop them.
    tasks: HashMap<RequestKey, Running>,
    /// The spans of the sessions alive, when `debug` is on.
    sessions: HashMap<SessionId, SessionTrace>,
    /// What the metrics were last told.
    gauges: Gauges,
    /// This instance's node in a cluster: part of the ids of its requests to clients, so a
    /// client's answer that reached another instance finds its way back.
    node: Option<u32>,
    /// The input applied is a notice of another instance: a client's answer it brings that
    /// nobody here claims goes no further.
    from_notice: bool,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
    /// The deadline the timer task sleeps until.
    armed: Option<Instant>,
}

/// Where a stream's frames go, and how many of them its connection has not taken yet.
struct Outlet {
    frames: mpsc::UnboundedSender<Piece>,
    unconsumed: usize,
}

/// Operations without a ticket waiting for the store, at most: a store that does not keep up
/// (down, each operation waiting out its deadline) costs bounded memory.
const ORDERED_OPS: usize = 65_536;

/// Operations of the ordered lane sent to the store at once: each is sent in order, and up to
/// this many wait for their reply together (a pipeline, not a round trip each).
const ORDERED_IN_FLIGHT: usize = 64;

/// The largest stream answered in full as one body when it is finished as soon as it starts:
/// copying more than this into one buffer would cost more than the frames it saves.
const WHOLE_BODY_MAX: usize = 16 * 1024;

/// A stream whose head the server gave while draining, held until the outputs run out.
struct Held {
    exchange: ExchangeId,
    head: Response<()>,
    /// What was written on it meanwhile.
    body: Chunk,
    /// Whether the server finished it meanwhile.
    finished: bool,
}

/// A handler at work.
struct Running {
    abort: AbortHandle,
    /// When its request arrived.
    since: Instant,
    transport: Transport,
}

/// The application's work found while draining, run once the lock is released.
enum Work {
    /// Its handler is stopped through the registration, whose handle was kept with the request.
    Request(IncomingRequest, AbortRegistration),
    Notification(IncomingNotification),
    /// A client's answer no request of the driver's claimed.
    Response(Option<SessionId>, jsonrpc::Message),
    SessionClosed(SessionId),
    SessionRestored(SessionId, Option<ProtocolVersion>, Option<Box<RawValue>>),
    Published(mcp_sse_core::Change),
    /// An operation for the store.
    Shared(Shared),
}

impl Driver {
    /// Shares `server` and starts the timer task on `runtime`, and with a `store` (the server
    /// is an instance of a cluster) the task that brings other instances' notices.
    pub(crate) fn start(
        runtime: impl Runtime,
        server: Server,
        app: impl App,
        store: Option<Arc<dyn SharedStore>>,
    ) -> Self {
        let (rearm, rearmed) = async_channel::bounded(1);
        // Unbounded in its type so that nothing is allocated for the slots before they are used
        // (a server alone never uses it); `perform` bounds it.
        let (ordered, lane) = async_channel::unbounded();
        let runtime: Arc<dyn Runtime> = Arc::new(runtime);
        let node = server.config().cluster.as_ref().map(|c| c.node);
        match (node, &store) {
            (Some(_), None) => tracing::error!(
                "a cluster without a shared store: every request naming a session another \
                 instance created gets 503"
            ),
            (None, Some(_)) => tracing::warn!("a shared store without Config::cluster: unused"),
            _ => {}
        }
        let driver = Self(Arc::new(Inner {
            state: Mutex::new(State {
                server,
                responders: HashMap::new(),
                streams: HashMap::new(),
                held: Vec::new(),
                queued: 0,
                asks: HashMap::new(),
                next_ask: 0,
                tasks: HashMap::new(),
                sessions: HashMap::new(),
                gauges: Gauges::default(),
                node,
                from_notice: false,
                shutdown_waiters: Vec::new(),
                armed: None,
            }),
            app: Box::new(app),
            runtime: runtime.clone(),
            store: store.clone(),
            ordered,
            rearm,
        }));
        runtime.spawn(Box::pin(timer(Arc::downgrade(&driver.0), rearmed)));
        if let (Some(store), Some(_)) = (store, node) {
            runtime.spawn(Box::pin(notices(Arc::downgrade(&driver.0), store.clone())));
            runtime.spawn(Box::pin(in_order(lane, store)));
        }
        telemetry::describe();
        driver
    }

    /// The runtime the driver runs on.
    pub(crate) fn runtime(&self) -> &dyn Runtime {
        &*self.0.runtime
    }

    /// An HTTP request with its body; `respond` gets its response (now, or when it is ready).
    /// Returns the transport generation it is served under, if it was told.
    pub(crate) fn handle_request(
        &self,
        head: http::request::Parts,
        body: Bytes,
        respond: oneshot::Sender<Response<Payload>>,
    ) -> Option<Transport> {
        self.with(|state, now| {
            let exchange = state.server.handle_request(now, head, body);
            state.responders.insert(exchange, respond);
            state.server.last_request_transport()
        })
    }

    /// The connection took `bytes` of a stream.
    pub(crate) fn handle_consumed(&self, exchange: ExchangeId, bytes: usize) {
        self.with(|state, now| {
            if let Some(outlet) = state.streams.get_mut(&exchange) {
                let taken = bytes.min(outlet.unconsumed);
                outlet.unconsumed -= taken;
                state.queued -= taken;
            }
            state.server.handle_consumed(now, exchange, bytes);
        });
    }

    /// A stream's body was dropped before it was finished.
    pub(crate) fn handle_disconnect(&self, exchange: ExchangeId) {
        self.with(|state, now| {
            state.forget_stream(exchange);
            state.server.handle_disconnect(now, exchange);
        });
    }

    /// A message to queue for a client.
    pub(crate) fn send(&self, target: Target, message: Bytes) -> Result<(), SendError> {
        self.with(|state, now| state.server.send(now, target, message))
    }

    /// Sends a request to a client, for the handler of `key` if any; the receiver gets its
    /// answer.
    pub(crate) fn ask(
        &self,
        key: Option<RequestKey>,
        target: Target,
        session: Option<SessionId>,
        method: &str,
        params: &Value,
    ) -> oneshot::Receiver<Result<Value, RequestError>> {
        let (done, answer) = oneshot::channel();
        let params = serde_json::value::to_raw_value(params).ok();
        self.with(|state, now| {
            let id = match state.node {
                Some(node) => Id::String(format!("s{node}-{}", state.next_ask).into()),
                None => Id::String(format!("s{}", state.next_ask).into()),
            };
            state.next_ask += 1;
            let message = jsonrpc::encode_request(&id, method, params.as_deref());
            match state.server.send(now, target, message) {
                Ok(()) => {
                    state.asks.insert((session, id), (done, key));
                }
                Err(error) => {
                    let _ = done.send(Err(error.into()));
                }
            }
        });
        answer
    }

    /// Closes the connection of a request's stream, keeping the stream resumable.
    pub(crate) fn close_stream(&self, key: RequestKey) -> Result<(), SendError> {
        self.with(|state, now| state.server.close_stream(now, key))
    }

    /// Announces a change to `subscriptions/listen` streams.
    pub(crate) fn publish(&self, change: &mcp_sse_core::Change) {
        self.with(|state, now| state.server.publish(now, change));
    }

    /// Ends a session.
    pub(crate) fn close_session(&self, session: &SessionId) {
        self.with(|state, now| {
            state.server.close_session(now, session);
        });
    }

    /// Shuts the server down within `grace`; the receiver fires once no exchange is left.
    pub(crate) fn shutdown(&self, grace: Duration) -> oneshot::Receiver<()> {
        let (done, finished) = oneshot::channel();
        self.with(|state, now| {
            state.server.shutdown(now, grace);
            state.shutdown_waiters.push(done);
        });
        finished
    }

    /// Applies `input` to the server under the lock, drains the outputs, arms the timer for an
    /// earlier deadline, and then, unlocked, runs the application's work the outputs brought.
    fn with<T>(&self, input: impl FnOnce(&mut State, Instant) -> T) -> T {
        let mut work = Vec::new();
        let result = {
            let mut state = self.lock();
            let now = self.0.runtime.now();
            let result = input(&mut state, now);
            state.drain(now, &mut work);
            state.from_notice = false;
            state.report();
            if let Some(at) = state.server.poll_timeout()
                && state.armed.is_none_or(|armed| at < armed)
            {
                state.armed = Some(at);
                let _ = self.0.rearm.try_send(());
            }
            result
        };
        for work in work {
            self.run(work);
        }
        result
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock is a bug in the core; its state can't be trusted after it.
        self.0
            .state
            .lock()
            .expect("the MCP server panicked while serving an earlier input")
    }

    fn run(&self, work: Work) {
        match work {
            Work::Request(request, registration) => self.start_request(request, registration),
            Work::Notification(notification) => {
                let task = self.0.app.notification(self.clone(), notification);
                self.0.runtime.spawn(task);
            }
            Work::Response(session, response) => self.0.app.response(session.as_ref(), response),
            Work::SessionClosed(session) => self.0.app.session_closed(&session),
            Work::SessionRestored(session, version, client) => {
                self.0
                    .app
                    .session_restored(&session, version, client.as_deref());
            }
            Work::Shared(op) => self.perform(op),
            Work::Published(change) => self.0.app.published(self.clone(), &change),
        }
    }

    /// Carries an operation to the store in a task of its own, and its answer back. Without a
    /// store (a misconfiguration, logged at the start) every ticket fails at once.
    fn perform(&self, op: Shared) {
        let Some(store) = self.0.store.clone() else {
            if let Some(ticket) = op.ticket() {
                self.with(|state, now| state.server.handle_shared(now, ticket, Answer::Failed));
            }
            return;
        };
        if op.ticket().is_none() {
            if self.0.ordered.len() >= ORDERED_OPS {
                tracing::warn!(?op, "the store does not keep up: operation dropped");
            } else {
                let _ = self.0.ordered.try_send(op);
            }
            return;
        }
        let driver = Arc::downgrade(&self.0);
        self.0.runtime.spawn(Box::pin(async move {
            let Some((ticket, answer)) = store.perform(op).await else {
                return;
            };
            if let Some(driver) = driver.upgrade().map(Driver) {
                driver.with(|state, now| state.server.handle_shared(now, ticket, answer));
            }
        }));
    }

    fn start_request(&self, request: IncomingRequest, registration: AbortRegistration) {
        let key = request.key;
        let (done, mut answer) = oneshot::channel();
        let span = telemetry::request_span(
            &request.request.method,
            &request.request.id,
            request.session.as_ref(),
        );
        let mut task = self.0.app.request(self.clone(), request, Reply(Some(done)));
        if !span.is_disabled() {
            task = Box::pin(task.instrument(span));
        }
        // A panic is the handler's: caught, it ends the task, and dropping the task drops its
        // `Reply`, which answers -32603.
        let mut task = Abortable::new(AssertUnwindSafe(task).catch_unwind(), registration);
        // The first poll runs here, in the task that brought the request: a handler that
        // answers at once costs no task of its own.
        match Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Pending => {}
            // Cancelled before it ran: the client wants no answer.
            Poll::Ready(Err(_aborted)) => return,
            Poll::Ready(Ok(_)) => {
                drop(task);
                if let Ok(Some(outcome)) = answer.try_recv() {
                    self.reply(key, outcome);
                }
                return;
            }
        }
        let driver = self.clone();
        self.0.runtime.spawn(Box::pin(async move {
            if task.await.is_err() {
                return;
            }
            if let Ok(outcome) = answer.await {
                driver.reply(key, outcome);
            }
        }));
    }

    fn reply(&self, key: RequestKey, outcome: Outcome) {
        self.with(|state, now| {
            if let Some(running) = state.tasks.remove(&key) {
                telemetry::handler_done(
                    running.transport,
                    now.saturating_duration_since(running.since),
                );
            }
            state.asks.retain(|_, (_, asker)| *asker != Some(key));
            if let Err(error) = state.server.reply(now, key, outcome.as_deref()) {
                tracing::debug!(%key, %error, "reply dropped");
            }
        });
    }
}

impl State {
    fn drain(&mut self, now: Instant, work: &mut Vec<Work>) {
        loop {
            while let Some(output) = self.server.poll_output() {
                self.apply(now, output, work);
            }
            if self.held.is_empty() {
                break;
            }
            // Starting a held stream may find its caller gone, which the server must hear, and
            // which may bring outputs of its own.
            for held in std::mem::take(&mut self.held) {
                self.release(now, held);
            }
        }
        if self.server.is_shutting_down() && self.server.exchange_count() == 0 {
            for waiter in self.shutdown_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn apply(&mut self, now: Instant, output: Output, work: &mut Vec<Work>) {
        match output {
            Output::Respond { exchange, response } => {
                if let Some(respond) = self.responders.remove(&exchange) {
                    let _ = respond.send(response.map(Payload::Full));
                }
            }
            // Held until the outputs run out: a stream the same input also finishes (an answer
            // ready at once) goes out as one whole body.
            Output::StartStream { exchange, head } => self.held.push(Held {
                exchange,
                head,
                body: Chunk::new(),
                finished: false,
            }),
            Output::Data { exchange, chunk } => {
                if let Some(held) = self.held.iter_mut().find(|h| h.exchange == exchange) {
                    return held.body.append(chunk);
                }
                self.send(now, exchange, chunk);
            }
            Output::Finish { exchange } => {
                if let Some(held) = self.held.iter_mut().find(|h| h.exchange == exchange) {
                    held.finished = true;
                    return;
                }
                self.forget_stream(exchange);
            }
            Output::Abort { exchange } => {
                tracing::info!(%exchange, "stream aborted: its client stopped reading");
                if let Some(at) = self.held.iter().position(|h| h.exchange == exchange) {
                    let held = self.held.swap_remove(at);
                    self.release(now, held);
                }
                if let Some(outlet) = self.forget_stream(exchange) {
                    let _ = outlet.frames.unbounded_send(Err(Aborted));
                }
            }
            Output::Event(event) => self.dispatch(now, event, work),
            Output::Shared(op) => work.push(Work::Shared(op)),
            _ => {}
        }
    }

    /// Hands a held stream to its caller: finished and small, as one whole body (no channel,
    /// no chunked encoding, one write); else as a stream that starts with what was written.
    fn release(&mut self, now: Instant, held: Held) {
        let Held {
            exchange,
            head,
            body,
            finished,
        } = held;
        if finished && body.len() <= WHOLE_BODY_MAX {
            // The server is done with the exchange: a caller gone meanwhile is no news to it.
            if let Some(respond) = self.responders.remove(&exchange) {
                let _ = respond.send(head.map(|()| Payload::Full(body.into_bytes())));
            }
            return;
        }
        self.start_stream(now, exchange, head);
        if !body.is_empty() {
            self.send(now, exchange, body);
        }
        if finished {
            self.forget_stream(exchange);
        }
    }

    /// Queues `chunk` on the stream of `exchange`, if it still has one.
    fn send(&mut self, now: Instant, exchange: ExchangeId, chunk: Chunk) {
        let Some(outlet) = self.streams.get_mut(&exchange) else {
            return;
        };
        let bytes = chunk.len();
        if outlet.frames.unbounded_send(Ok(chunk)).is_ok() {
            outlet.unconsumed += bytes;
            self.queued += bytes;
        } else {
            // The frames are gone without a word (their request's caller went away as the head
            // was handed over): forget the stream.
            self.forget_stream(exchange);
            self.server.handle_disconnect(now, exchange);
        }
    }

    fn start_stream(&mut self, now: Instant, exchange: ExchangeId, head: Response<()>) {
        let (sender, receiver) = mpsc::unbounded();
        let frames = Payload::Stream(Frames { exchange, receiver });
        // When the caller is gone, the response is dropped here, under the lock: `Frames`
        // report nothing, so nothing locks again.
        let started = self
            .responders
            .remove(&exchange)
            .is_some_and(|respond| respond.send(head.map(|()| frames)).is_ok());
        if started {
            let outlet = Outlet {
                frames: sender,
                unconsumed: 0,
            };
            self.streams.insert(exchange, outlet);
        } else {
            self.server.handle_disconnect(now, exchange);
        }
    }

    /// Forgets a stream's outlet, and the bytes its connection had not taken.
    fn forget_stream(&mut self, exchange: ExchangeId) -> Option<Outlet> {
        let outlet = self.streams.remove(&exchange)?;
        self.queued -= outlet.unconsumed;
        Some(outlet)
    }

    /// Tells the metrics what changed.
    fn report(&mut self) {
        let (sessions, streams) = (self.server.session_count(), self.streams.len());
        self.gauges
            .update(sessions, streams, self.queued, self.server.stats());
    }

    fn dispatch(&mut self, now: Instant, event: Event, work: &mut Vec<Work>) {
        match event {
            Event::Request {
                key,
                session,
                transport,
                version,
                request,
                head,
                redelivered,
            } => {
                // Registered at once: a cancellation that comes while the handler runs stops it.
                let (abort, registration) = AbortHandle::new_pair();
                let running = Running {
                    abort,
                    since: now,
                    transport,
                };
                self.tasks.insert(key, running);
                let request = IncomingRequest {
                    key,
                    session,
                    transport,
                    version,
                    head,
                    request,
                    redelivered,
                };
                work.push(Work::Request(request, registration));
            }
            Event::Cancelled { key, reason } => {
                // The client will not read an answer (S2.17): stop the work.
                tracing::debug!(%key, ?reason, "request cancelled");
                if let Some(running) = self.tasks.remove(&key) {
                    running.abort.abort();
                }
                self.asks.retain(|_, (_, asker)| *asker != Some(key));
            }
            Event::Notification {
                session,
                transport,
                notification,
                head,
            } => work.push(Work::Notification(IncomingNotification {
                session,
                transport,
                head,
                notification,
            })),
            Event::Response { session, response } => self.answer(session, response, work),
            Event::SessionOpened { session, transport } => {
                if let Some(trace) = SessionTrace::open(&session, transport, now) {
                    self.sessions.insert(session, trace);
                }
            }
            Event::SessionRestored {
                session,
                transport,
                version,
                client,
            } => {
                if let Some(trace) = SessionTrace::open(&session, transport, now) {
                    self.sessions.insert(session.clone(), trace);
                }
                work.push(Work::SessionRestored(session, version, client));
            }
            Event::Published { change } => work.push(Work::Published(change)),
            Event::SessionClosed { session, reason } => {
                let trace = self.sessions.remove(&session);
                SessionTrace::close(trace, &session, reason, now);
                // Dropping the senders tells waiting handlers the answer will not come.
                self.asks
                    .retain(|(owner, _), _| owner.as_ref() != Some(&session));
                work.push(Work::SessionClosed(session));
            }
            _ => {}
        }
    }

    /// Hands a client's response to the handler that asked, or, when no ask of the driver's
    /// claims it, to the application.
    fn answer(
        &mut self,
        session: Option<SessionId>,
        response: jsonrpc::Message,
        work: &mut Vec<Work>,
    ) {
        let id = match &response {
            jsonrpc::Message::Response(response) => Some(response.id.clone()),
            jsonrpc::Message::Error(error) => error.id.clone(),
            _ => None,
        };
        let ask = id.and_then(|id| self.asks.remove(&(session.clone(), id)));
        match (ask, response) {
            (Some((done, _)), jsonrpc::Message::Response(response)) => {
                let value = serde_json::from_str(response.result.get()).unwrap_or(Value::Null);
                let _ = done.send(Ok(value));
            }
            (Some((done, _)), jsonrpc::Message::Error(error)) => {
                let _ = done.send(Err(RequestError::Rejected(error.error)));
            }
            // In a cluster, another instance may have sent the request.
            (_, response) if self.node.is_some() && !self.from_notice => {
                match encode_answer(&response) {
                    Some(message) => {
                        work.push(Work::Shared(Shared::Unclaimed { session, message }))
                    }
                    None => work.push(Work::Response(session, response)),
                }
            }
            (_, response) => work.push(Work::Response(session, response)),
        }
    }
}

/// A client's answer as it came, to carry it to another instance.
fn encode_answer(response: &jsonrpc::Message) -> Option<Bytes> {
    match response {
        jsonrpc::Message::Response(response) => {
            Some(jsonrpc::encode_response(&response.id, &response.result))
        }
        jsonrpc::Message::Error(error) => {
            Some(jsonrpc::encode_error(error.id.as_ref(), &error.error))
        }
        _ => None,
    }
}

/// Carries the operations without a ticket to the store in the order they came (each is sent
/// when first polled, in order; up to [`ORDERED_IN_FLIGHT`] wait for their replies together),
/// until the driver is gone.
async fn in_order(lane: async_channel::Receiver<Shared>, store: Arc<dyn SharedStore>) {
    use futures_util::StreamExt as _;
    lane.map(|op| store.perform(op))
        .buffered(ORDERED_IN_FLIGHT)
        .for_each(|_| async {})
        .await;
}

/// Brings other instances' notices to the server for as long as it runs (the driver alive) and
/// the store is open.
async fn notices(driver: Weak<Inner>, store: Arc<dyn SharedStore>) {
    while let Some(notice) = store.next_notice().await {
        let Some(driver) = driver.upgrade().map(Driver) else {
            return;
        };
        driver.with(|state, now| {
            state.from_notice = true;
            state.server.handle_notice(now, notice);
        });
    }
}

/// Sleeps until the server's next deadline and applies it; woken early when an input brings an
/// earlier one. Holds the server only while applying, so it ends once every other holder is gone.
///
/// The deadline slept for stays until it passes, even when what set it is over (an answer given
/// before its hold, the usual case): re-reading the server's next deadline after every input
/// would find a later one each time, and every request would wake this task again.
async fn timer(driver: Weak<Inner>, rearmed: async_channel::Receiver<()>) {
    let mut passed = true;
    loop {
        let mut sleep = {
            let Some(driver) = driver.upgrade().map(Driver) else {
                return;
            };
            let mut state = driver.lock();
            if passed {
                state.armed = state.server.poll_timeout();
            }
            state.armed.map(|at| driver.0.runtime.sleep_until(at))
        };
        let woke = {
            let mut rearm = pin!(rearmed.recv());
            poll_fn(|cx| {
                if let Some(timer) = sleep.as_mut()
                    && timer.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Ok(true));
                }
                rearm.as_mut().poll(cx).map(|signal| signal.map(|()| false))
            })
            .await
        };
        match woke {
            // Every holder is gone.
            Err(_) => return,
            // An input set an earlier deadline: the next turn sleeps until it.
            Ok(false) => passed = false,
            Ok(true) => {
                let Some(driver) = driver.upgrade().map(Driver) else {
                    return;
                };
                // The core checks the deadline itself: an early wake-up is a no-op.
                driver.with(|state, now| state.server.handle_timeout(now));
                passed = true;
            }
        }
    }
}
