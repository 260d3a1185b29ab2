//! The driver task: the one owner of the [`Server`]. It applies commands from connections,
//! bodies, handlers and handles, drains the server's outputs after each, and sleeps until the
//! next command or the server's next timeout.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::future::{AbortHandle, Abortable};
use http::{Response, request};
use mcp_sse_core::jsonrpc::{self, ErrorObject, Id};
use mcp_sse_core::{
    Change, Chunk, Event, ExchangeId, Output, RequestKey, SendError, Server, SessionId, Target,
};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::body::ResponseBody;
use crate::handler::{Handler, RequestContext, RequestError};
use crate::runtime::{BoxFuture, Runtime};

/// Commands applied one by one to the server.
#[derive(Debug)]
pub(crate) enum Command {
    /// An HTTP request with its body, and where its response goes.
    Request {
        head: request::Parts,
        body: Bytes,
        respond: oneshot::Sender<Response<ResponseBody>>,
    },
    /// The connection took `bytes` of a stream.
    Consumed { exchange: ExchangeId, bytes: usize },
    /// A stream's body was dropped before it was finished.
    Disconnect { exchange: ExchangeId },
    /// A handler finished.
    Reply {
        key: RequestKey,
        outcome: Result<Box<RawValue>, ErrorObject>,
    },
    /// A message to queue for a client.
    Send {
        target: Target,
        message: Bytes,
        done: oneshot::Sender<Result<(), SendError>>,
    },
    /// A request to a client, answered when its response arrives.
    Ask {
        /// The request being handled that asks.
        key: RequestKey,
        target: Target,
        session: Option<SessionId>,
        method: String,
        params: Value,
        done: oneshot::Sender<Result<Value, RequestError>>,
    },
    /// Close the connection of a request's stream, keeping the stream resumable.
    CloseStream {
        key: RequestKey,
        done: oneshot::Sender<Result<(), SendError>>,
    },
    /// Announce a change to `subscriptions/listen` streams.
    Publish { change: Change },
    /// End a session.
    CloseSession { session: SessionId },
    /// Finish every stream; `done` fires once no exchange is left.
    Shutdown { done: oneshot::Sender<()> },
}

type Answer = oneshot::Sender<Result<Value, RequestError>>;

pub(crate) struct Driver<R, H> {
    server: Server,
    runtime: Arc<R>,
    handler: Arc<H>,
    commands: async_channel::Receiver<Command>,
    /// Weak, so the driver ends once every entry, handle, body and context is gone.
    sender: async_channel::WeakSender<Command>,
    responders: HashMap<ExchangeId, oneshot::Sender<Response<ResponseBody>>>,
    streams: HashMap<ExchangeId, mpsc::UnboundedSender<Chunk>>,
    /// Requests this server sent to clients, by session and the id it gave them, with the
    /// request whose handler waits.
    asks: HashMap<(Option<SessionId>, Id), (Answer, RequestKey)>,
    next_ask: u64,
    /// Handler tasks still running, so a cancellation or a closed session can stop them.
    tasks: HashMap<RequestKey, (AbortHandle, Option<SessionId>)>,
    shutdown_waiters: Vec<oneshot::Sender<()>>,
}

/// Answers a request exactly once: with the handler's outcome, or with an internal error if
/// the handler panicked or was stopped (the request must not stay in flight forever).
struct ReplyGuard(Option<oneshot::Sender<Outcome>>);

type Outcome = Result<Box<RawValue>, ErrorObject>;

impl ReplyGuard {
    fn reply(mut self, outcome: Outcome) {
        if let Some(done) = self.0.take() {
            let _ = done.send(outcome);
        }
    }
}

impl Drop for ReplyGuard {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let error = ErrorObject::new(jsonrpc::INTERNAL_ERROR, "Internal error");
            let _ = done.send(Err(error));
        }
    }
}

/// Commands applied before the driver looks at its timer and yields again.
const BATCH: usize = 64;

/// What woke the driver, when it was not a command.
enum Wake {
    /// The timer armed for the server's deadline.
    Timer,
    /// Every sender is gone.
    Closed,
}

impl<R: Runtime, H: Handler> Driver<R, H> {
    pub(crate) fn new(
        server: Server,
        runtime: Arc<R>,
        handler: Arc<H>,
        commands: async_channel::Receiver<Command>,
        sender: async_channel::WeakSender<Command>,
    ) -> Self {
        Self {
            server,
            runtime,
            handler,
            commands,
            sender,
            responders: HashMap::new(),
            streams: HashMap::new(),
            asks: HashMap::new(),
            next_ask: 0,
            tasks: HashMap::new(),
            shutdown_waiters: Vec::new(),
        }
    }

    pub(crate) async fn run(mut self) {
        let mut sleep: Option<BoxFuture> = None;
        let mut armed = None;
        loop {
            self.drain();
            // Re-arm only for an earlier deadline: a later one (the earliest entry went with its
            // exchange, as after every quick answer) would reset the runtime's timer per request,
            // while waking early once is a no-op for the server.
            if let Some(at) = self.server.poll_timeout()
                && armed.is_none_or(|armed| at < armed)
            {
                sleep = Some(self.runtime.sleep_until(at));
                armed = Some(at);
            }
            let woke = {
                let mut next = pin!(self.commands.recv());
                poll_fn(|cx| {
                    if let Some(timer) = sleep.as_mut()
                        && timer.as_mut().poll(cx).is_ready()
                    {
                        return Poll::Ready(Err(Wake::Timer));
                    }
                    next.as_mut()
                        .poll(cx)
                        .map(|command| command.map_err(|_| Wake::Closed))
                })
                .await
            };
            match woke {
                Err(Wake::Closed) => break,
                Ok(command) => {
                    self.apply(command);
                    for _ in 0..BATCH {
                        let Ok(command) = self.commands.try_recv() else {
                            break;
                        };
                        self.drain();
                        self.apply(command);
                    }
                }
                Err(Wake::Timer) => {
                    // The core checks the deadline itself: an early wake-up is a no-op.
                    self.server.handle_timeout(Instant::now());
                    sleep = None;
                    armed = None;
                }
            }
        }
        tracing::debug!("mcp driver stopped: every handle is gone");
    }

    fn apply(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Request {
                head,
                body,
                respond,
            } => {
                let exchange = self.server.handle_request(now, head, body);
                self.responders.insert(exchange, respond);
            }
            Command::Consumed { exchange, bytes } => {
                self.server.handle_consumed(now, exchange, bytes)
            }
            Command::Disconnect { exchange } => {
                self.streams.remove(&exchange);
                self.server.handle_disconnect(now, exchange);
            }
            Command::Reply { key, outcome } => {
                self.tasks.remove(&key);
                self.asks.retain(|_, (_, asker)| *asker != key);
                if let Err(error) = self.server.reply(now, key, outcome.as_deref()) {
                    tracing::debug!(%key, %error, "reply dropped");
                }
            }
            Command::Send {
                target,
                message,
                done,
            } => {
                let _ = done.send(self.server.send(now, target, message));
            }
            Command::Ask {
                key,
                target,
                session,
                method,
                params,
                done,
            } => {
                let id = Id::String(format!("s{}", self.next_ask).into());
                self.next_ask += 1;
                let params = serde_json::value::to_raw_value(&params).ok();
                let message = jsonrpc::encode_request(&id, &method, params.as_deref());
                match self.server.send(now, target, message) {
                    Ok(()) => {
                        self.asks.insert((session, id), (done, key));
                    }
                    Err(error) => {
                        let _ = done.send(Err(error.into()));
                    }
                }
            }
            Command::CloseStream { key, done } => {
                let _ = done.send(self.server.close_stream(now, key));
            }
            Command::Publish { change } => {
                self.server.publish(now, &change);
            }
            Command::CloseSession { session } => {
                self.server.close_session(now, &session);
            }
            Command::Shutdown { done } => {
                self.server.shutdown(now);
                self.shutdown_waiters.push(done);
            }
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Respond { exchange, response } => {
                    if let Some(respond) = self.responders.remove(&exchange) {
                        let _ = respond.send(response.map(ResponseBody::full));
                    }
                }
                Output::StartStream { exchange, head } => self.start_stream(exchange, head),
                Output::Data { exchange, chunk } => {
                    if let Some(frames) = self.streams.get(&exchange) {
                        let _ = frames.unbounded_send(chunk);
                    }
                }
                Output::Finish { exchange } => {
                    self.streams.remove(&exchange);
                }
                Output::Event(event) => self.dispatch(event),
                _ => {}
            }
        }
        if self.server.is_shutting_down() && self.server.exchange_count() == 0 {
            for waiter in self.shutdown_waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn start_stream(&mut self, exchange: ExchangeId, head: Response<()>) {
        let (frames, receiver) = mpsc::unbounded();
        let started = match (self.responders.remove(&exchange), self.sender.upgrade()) {
            (Some(respond), Some(driver)) => respond
                .send(head.map(|()| ResponseBody::stream(exchange, receiver, driver)))
                .is_ok(),
            _ => false,
        };
        if started {
            self.streams.insert(exchange, frames);
        } else {
            self.server.handle_disconnect(Instant::now(), exchange);
        }
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Request {
                key,
                session,
                transport,
                version,
                request,
            } => {
                let Some(driver) = self.sender.upgrade() else {
                    return;
                };
                let handler = self.handler.clone();
                let owner = session.clone();
                let (abort, registration) = AbortHandle::new_pair();
                let (done, mut answer) = oneshot::channel();
                let cx = RequestContext {
                    key,
                    session,
                    transport,
                    version,
                    driver: driver.clone(),
                };
                let task = Abortable::new(
                    async move {
                        let guard = ReplyGuard(Some(done));
                        let outcome = handler.request(cx, request).await.and_then(|result| {
                            serde_json::value::to_raw_value(&result).map_err(|error| {
                                ErrorObject::new(jsonrpc::INTERNAL_ERROR, error.to_string())
                            })
                        });
                        guard.reply(outcome);
                    },
                    registration,
                );
                let mut task = Box::pin(task);
                // The first poll runs here: a handler that answers at once costs no task and
                // no trip through the command queue, and its answer leaves before the next
                // command is read. A panic is the handler's, not the driver's: dropping the task
                // answers -32603.
                let first = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    task.as_mut().poll(&mut Context::from_waker(Waker::noop()))
                }));
                if !matches!(first, Ok(Poll::Pending)) {
                    drop(task);
                    if let Ok(Some(outcome)) = answer.try_recv() {
                        self.apply(Command::Reply { key, outcome });
                    }
                    return;
                }
                self.runtime.spawn(Box::pin(async move {
                    let _ = task.await;
                    if let Ok(outcome) = answer.await {
                        let _ = driver.try_send(Command::Reply { key, outcome });
                    }
                }));
                self.tasks.insert(key, (abort, owner));
            }
            Event::Cancelled { key, reason } => {
                // The client will not read an answer (S2.17): stop the work.
                tracing::debug!(%key, ?reason, "request cancelled");
                if let Some((task, _)) = self.tasks.remove(&key) {
                    task.abort();
                }
                self.asks.retain(|_, (_, asker)| *asker != key);
            }
            Event::Notification {
                session,
                notification,
                ..
            } => {
                let handler = self.handler.clone();
                self.runtime.spawn(Box::pin(async move {
                    handler.notification(session, notification).await;
                }));
            }
            Event::Response { session, response } => self.answer(session, response),
            Event::SessionOpened { session, transport } => {
                tracing::debug!(%session, ?transport, "session opened");
            }
            Event::SessionClosed { session, reason } => {
                tracing::debug!(%session, ?reason, "session closed");
                self.handler.session_closed(&session);
                // Dropping the senders tells waiting handlers the answer will not come.
                self.asks
                    .retain(|(owner, _), _| owner.as_ref() != Some(&session));
            }
            _ => {}
        }
    }

    /// Hands a client's response to the handler that asked.
    fn answer(&mut self, session: Option<SessionId>, response: jsonrpc::Message) {
        let (id, outcome) = match response {
            jsonrpc::Message::Response(response) => {
                let value = serde_json::from_str(response.result.get()).unwrap_or(Value::Null);
                (response.id, Ok(value))
            }
            jsonrpc::Message::Error(jsonrpc::ErrorResponse {
                id: Some(id),
                error,
            }) => (id, Err(RequestError::Rejected(error))),
            other => {
                tracing::debug!(?other, "client response without a usable id dropped");
                return;
            }
        };
        match self.asks.remove(&(session, id)) {
            Some((done, _)) => {
                let _ = done.send(outcome);
            }
            None => tracing::debug!("client response to no pending request dropped"),
        }
    }
}
