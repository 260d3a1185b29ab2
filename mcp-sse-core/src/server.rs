//! [`Server`]: the state machine, its inputs, commands and outputs.
//!
//! The server composes parts that each own their rules: [`Sessions`] (minting, the cap,
//! expiry), [`Streams`] (streams, the SSE bodies that carry them with their byte accounting,
//! the replay store), [`Requests`] (requests in flight), [`Listeners`] (`subscriptions/listen`).
//! The router classifies each request and hands it to the module of its revision
//! (`http_sse`, `streamable`, `v2026`); what concerns several parts at once (a session ending
//! ends its streams, a stream gone forgets the requests it owed) is done here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, request};
use serde_json::value::RawValue;

use crate::change::Change;
use crate::config::Config;
use crate::cors::{CorsHeaders, Origin};
use crate::effects::{Effects, Stats};
use crate::error::{ReplyError, SendError};
use crate::ids::{IdGenerator, OsRandom};
use crate::jsonrpc::{self, ErrorObject};
use crate::listeners::Listeners;
use crate::members::Members;
use crate::replay::{EventStore, StreamId};
use crate::requests::{Pending, Requests};
use crate::responses::Ctx;
use crate::sessions::{Expiry, Sessions};
use crate::streams::{Answer as StreamAnswer, Detached, Opening, Role, Stream, Streams, Tick};
use crate::timer::TimerKind;
use crate::{
    Answer, CloseReason, Event, ExchangeId, Notice, Output, Principal, ProtocolVersion, RequestKey,
    SessionId, Shared, Ticket, Transport,
};

/// The MCP transport state machine: HTTP exchanges in, responses, SSE bytes and application
/// events out. It owns sessions, streams, timers and queues, and performs no IO.
///
/// Its methods fall into four groups:
/// - **getters** (`&self`): [`config`](Self::config), [`stats`](Self::stats), counts;
/// - **inputs** from the adapter, `now` first: [`handle_request`](Self::handle_request),
///   [`handle_consumed`](Self::handle_consumed), [`handle_disconnect`](Self::handle_disconnect),
///   [`handle_timeout`](Self::handle_timeout);
/// - **commands** from the application: [`reply`](Self::reply), [`send`](Self::send),
///   [`close_stream`](Self::close_stream), [`close_session`](Self::close_session),
///   [`publish`](Self::publish), [`shutdown`](Self::shutdown);
/// - **outputs**: [`poll_output`](Self::poll_output), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, call `poll_output` until it returns `None`, then read
/// `poll_timeout` and call `handle_timeout` no later than the instant it gives.
#[derive(Debug)]
pub struct Server {
    pub(crate) config: Config,
    /// The latest `now` seen: time never runs backwards inside the server.
    now: Option<Instant>,
    next_exchange: u64,
    pub(crate) sessions: Sessions,
    pub(crate) streams: Streams,
    pub(crate) requests: Requests,
    pub(crate) listeners: Listeners,
    pub(crate) fx: Effects,
    /// This instance's part in a cluster, with `Config::cluster`.
    pub(crate) members: Option<Members>,
    pub(crate) shutting_down: bool,
    last_timeout_reason: Option<TimerKind>,
    /// See [`last_request_transport`](Self::last_request_transport).
    pub(crate) request_transport: Option<Transport>,
}

/// How a request reaches the application.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Delivery {
    /// As it came; `logs`: a 2026-07-28 request that asked for log notifications (S3.14).
    New { logs: bool },
    /// Again: its handler died with the instance of the cluster that accepted it.
    Again,
}

/// Where [`Server::send`] puts a message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Target {
    /// The session's stream for messages unrelated to a request: the 2024-11-05 stream, or the
    /// standalone `GET` stream (S2.20).
    Session(SessionId),
    /// The stream that will carry the answer to this request (progress, logging, a
    /// server-to-client request made while handling it, S2.13).
    Request(RequestKey),
}

impl Server {
    /// A server with the operating system's CSPRNG for session ids.
    pub fn new(config: Config) -> Self {
        Self::with_id_generator(config, Box::new(OsRandom))
    }

    /// A server whose session ids and epoch come from `ids` (deterministic for tests).
    pub fn with_id_generator(config: Config, mut ids: Box<dyn IdGenerator>) -> Self {
        let mut seed = [0; 16];
        ids.fill(&mut seed);
        let epoch = u32::from_be_bytes([seed[12], seed[13], seed[14], seed[15]]);
        // In a cluster the epoch is the cluster's, and stream ids start at the node's range.
        let (epoch, node) = match &config.cluster {
            Some(cluster) => (cluster.epoch, cluster.node),
            None => (epoch, 0),
        };
        Self {
            now: None,
            next_exchange: 0,
            sessions: Sessions::new(&config, ids),
            streams: Streams::new(&config, epoch, node),
            members: config
                .cluster
                .clone()
                .map(|cluster| Members::new(cluster, config.idle_timeout)),
            requests: Requests::default(),
            listeners: Listeners::new(&config),
            fx: Effects::default(),
            shutting_down: false,
            last_timeout_reason: None,
            request_transport: None,
            config,
        }
    }

    /// Replaces the event store (before any request), e.g. with one shared between instances.
    pub fn set_event_store(&mut self, store: Box<dyn EventStore>) {
        self.streams.set_store(store);
    }

    // ---- getters ----

    /// The settings the server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters since the server was created.
    pub fn stats(&self) -> &Stats {
        &self.fx.stats
    }

    /// Sessions alive now.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `session` is alive.
    pub fn has_session(&self, session: &str) -> bool {
        self.sessions.get(session).is_some()
    }

    /// The transport of a live session.
    pub fn session_transport(&self, session: &str) -> Option<Transport> {
        self.sessions.get(session).map(|s| s.transport)
    }

    /// The protocol version a live session negotiated, once its `initialize` was answered.
    pub fn session_version(&self, session: &str) -> Option<ProtocolVersion> {
        self.sessions.get(session)?.version
    }

    /// Exchanges not finished yet: open streams (including ones whose last bytes wait for the
    /// client) and requests waiting for the application.
    pub fn exchange_count(&self) -> usize {
        self.streams.exchange_count()
    }

    /// Streams held, including broken ones waiting to be resumed.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Requests handed to the application and not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Bytes of events kept for replay.
    pub fn replay_bytes(&self) -> usize {
        self.streams.replay_bytes()
    }

    /// Timer entries held, stale ones included (they go when they come due).
    pub fn timer_count(&self) -> usize {
        self.fx.timers.len()
    }

    /// Bytes handed out on `exchange`'s stream that the adapter has not credited back: never
    /// more than `Config::stream_queue_bytes` plus one frame.
    pub fn unconsumed(&self, exchange: ExchangeId) -> Option<usize> {
        self.streams.unconsumed(exchange)
    }

    /// Bytes written on `exchange`'s stream and not read yet: handed out, or waiting in the
    /// server behind the bound.
    pub fn queued_bytes(&self, exchange: ExchangeId) -> Option<usize> {
        self.streams.queued_bytes(exchange)
    }

    /// The timer behind the latest `handle_timeout` that did something, to debug wake-ups.
    pub fn last_timeout_reason(&self) -> Option<&TimerKind> {
        self.last_timeout_reason.as_ref()
    }

    /// The transport generation the latest [`handle_request`](Self::handle_request) was served
    /// under, for the adapter's logs and metrics; `None` when it was answered before its
    /// generation was known (a path, `Host` or `Origin` refused, missing credentials, a session
    /// id naming no session, a preflight).
    pub fn last_request_transport(&self) -> Option<Transport> {
        self.request_transport
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    // ---- inputs ----

    /// An HTTP request arrived with its whole body (at most `max_body_bytes + 1` bytes: a longer
    /// body may be cut there and is answered `413`). Returns the id its outputs will carry.
    pub fn handle_request(
        &mut self,
        now: Instant,
        head: request::Parts,
        body: Bytes,
    ) -> ExchangeId {
        self.input(now, |server, now| {
            let exchange = ExchangeId(server.next_exchange);
            server.next_exchange += 1;
            server.fx.stats.requests += 1;
            server.request_transport = None;
            let origin = Origin::of(&server.config.origins, &head.headers);
            let mut ctx = Ctx {
                exchange,
                cors: CorsHeaders::new(
                    server.config.cors.as_ref(),
                    &server.config.origins,
                    &origin,
                ),
                session: None,
                token_expires: None,
            };
            server.route(now, &mut ctx, &origin, head, body);
            exchange
        })
    }

    /// The adapter's connection took `bytes` of the data handed out for `exchange`: that much
    /// room is free again in the stream's queue.
    pub fn handle_consumed(&mut self, now: Instant, exchange: ExchangeId, bytes: usize) {
        self.input(now, |server, now| {
            server.streams.credit(&mut server.fx, now, exchange, bytes);
        });
    }

    /// The client went away before `exchange` finished. Unknown or finished exchanges are
    /// ignored (the adapter may race a `Finish`).
    pub fn handle_disconnect(&mut self, now: Instant, exchange: ExchangeId) {
        self.input(now, |server, now| {
            if let Some(members) = &mut server.members
                && members.disconnect(exchange)
            {
                return;
            }
            if let Some(stream) = server.streams.disconnect(exchange) {
                server.detach(now, stream);
            }
        });
    }

    /// Time passed. Calling it before [`poll_timeout`](Self::poll_timeout)'s instant is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.input(now, |server, now| {
            while let Some(kind) = server.fx.timers.pop_due(now) {
                let fx = &mut server.fx;
                let acted = match &kind {
                    TimerKind::Keepalive(exchange) => {
                        match server.streams.tick(fx, now, *exchange) {
                            Tick::Nothing => false,
                            Tick::Wrote => true,
                            Tick::Aborted(stream) => {
                                if let Some(stream) = stream {
                                    server.detach(now, stream);
                                }
                                true
                            }
                            Tick::TokenExpired(stream) => {
                                server.token_expired(now, stream);
                                true
                            }
                        }
                    }
                    TimerKind::Hold(exchange) => {
                        server
                            .streams
                            .hold_expired(fx, &server.sessions, now, *exchange)
                    }
                    TimerKind::ReplayExpiry => {
                        let expired = server.streams.expire_kept(fx, now);
                        let acted = !expired.is_empty();
                        for (id, stream) in expired {
                            server.forget(id, stream);
                        }
                        acted
                    }
                    TimerKind::SessionExpiry(session) => server.session_expiry(now, session),
                    TimerKind::ShutdownDeadline => server.shutdown_deadline(now),
                    TimerKind::Resume(ticket) => {
                        let out = server.members.as_ref().is_some_and(|m| m.is_out(*ticket));
                        if out {
                            server.answered(now, *ticket, Answer::Failed);
                        }
                        out
                    }
                };
                if acted {
                    server.last_timeout_reason = Some(kind);
                }
            }
        });
    }

    /// The store shared by a cluster answered the operation of `ticket`
    /// ([`Output::Shared`]). Answers to tickets already answered are ignored.
    pub fn handle_shared(&mut self, now: Instant, ticket: Ticket, answer: Answer) {
        self.input(now, |server, now| server.answered(now, ticket, answer));
    }

    /// Another instance of the cluster said something (through the shared store).
    pub fn handle_notice(&mut self, now: Instant, notice: Notice) {
        self.input(now, |server, now| server.noticed(now, notice));
    }

    // ---- commands ----

    /// Answers the request behind `key` with a result or a JSON-RPC error. The bytes of `result`
    /// go out as they are.
    pub fn reply(
        &mut self,
        now: Instant,
        key: RequestKey,
        outcome: Result<&RawValue, &ErrorObject>,
    ) -> Result<(), ReplyError> {
        self.input(now, |server, now| {
            let pending = server
                .requests
                .take(key)
                .ok_or(ReplyError::UnknownRequest)?;
            if let Some(session) = &pending.session {
                server.sessions.touch(session, now);
                if pending.initialize
                    && let Some(state) = server.sessions.get_mut(session)
                {
                    // The negotiated version is whatever the application answered (S5.14).
                    state.version = outcome.ok().and_then(negotiated_version);
                }
            }
            let (body, status) = match outcome {
                Ok(result) => (
                    jsonrpc::encode_response(&pending.id, result),
                    StatusCode::OK,
                ),
                Err(error) => (
                    jsonrpc::encode_error(Some(&pending.id), error),
                    pending.error_status(error.code),
                ),
            };
            let answer = StreamAnswer { key, body, status };
            server.fx.stats.messages_out += 1;
            let answer = match (&pending.session, pending.initialize && outcome.is_ok()) {
                // In a cluster the session is stored before its client hears of it.
                (Some(session), true) => {
                    match server.save_then_answer(session, pending.id, pending.stream, answer) {
                        Ok(()) => return Ok(()),
                        Err(answer) => answer,
                    }
                }
                _ => answer,
            };
            server.answer_on(now, pending.stream, answer);
            Ok(())
        })
    }

    /// Queues a JSON-RPC notification or request (already encoded) for a client.
    ///
    /// Unlike replies, sends are refused while the target stream is full
    /// ([`SendError::QueueFull`]): try again once the client has read.
    ///
    /// In a cluster, a message for a session whose stream is not open here goes to the instance
    /// that holds it ([`Shared::Deliver`]) and `Ok` means only that: with no instance holding
    /// one, it is dropped there, where a server alone says [`SendError::NoStream`].
    pub fn send(&mut self, now: Instant, target: Target, message: Bytes) -> Result<(), SendError> {
        self.input(now, |server, now| {
            let stream = match target {
                Target::Session(session) => {
                    let Some(stream) = server.session_stream(&session)? else {
                        // In a cluster another instance may carry the session's stream.
                        return match server.deliver_elsewhere(&session, message) {
                            true => Ok(()),
                            false => Err(SendError::NoStream),
                        };
                    };
                    stream
                }
                Target::Request(key) => {
                    let pending = server.requests.get(key).ok_or(SendError::UnknownRequest)?;
                    if pending.v2026 {
                        match jsonrpc::classify(&message) {
                            // S3.9: no independent requests on a 2026-07-28 response stream.
                            Ok(jsonrpc::Body::Single(jsonrpc::Message::Request(_))) => {
                                return Err(SendError::Forbidden);
                            }
                            // S3.14: log notifications only when the request asked for them.
                            Ok(jsonrpc::Body::Single(jsonrpc::Message::Notification(n)))
                                if n.method == "notifications/message" && !pending.logs =>
                            {
                                return Ok(());
                            }
                            _ => {}
                        }
                    }
                    pending.stream
                }
            };
            let (fx, sessions) = (&mut server.fx, &server.sessions);
            server
                .streams
                .push_message(fx, sessions, now, stream, message)?;
            server.fx.stats.messages_out += 1;
            Ok(())
        })
    }

    /// Closes the connection of the stream that carries `key`'s answer without ending the
    /// stream: the client resumes it with `Last-Event-ID` after the `retry` hint (2025-11-25
    /// polling, S2.31/S2.32). Only streams whose client can resume them may be closed so.
    pub fn close_stream(&mut self, now: Instant, key: RequestKey) -> Result<(), SendError> {
        self.input(now, |server, now| {
            let pending = server.requests.get(key).ok_or(SendError::UnknownRequest)?;
            let stream = pending.stream;
            if let Some(session) = pending.session.clone() {
                server.sessions.touch(&session, now);
            }
            let (fx, sessions) = (&mut server.fx, &server.sessions);
            server.streams.poll_close(fx, sessions, now, stream)
        })
    }

    /// Ends a session: its streams are finished, its unanswered requests are dropped, and later
    /// requests naming it get `404`. Returns whether it existed.
    pub fn close_session(&mut self, now: Instant, session: &SessionId) -> bool {
        self.input(now, |server, now| {
            server.end_session(now, session, CloseReason::Closed)
        })
    }

    /// Announces a change to every 2026-07-28 `subscriptions/listen` stream that asked for it
    /// (S3.34). A listener too slow to take it is ended (with its completion result) instead of
    /// holding anyone up. Returns how many streams got it.
    pub fn publish(&mut self, now: Instant, change: &Change) -> usize {
        self.input(now, |server, now| {
            if server.members.is_some() {
                // Every other instance announces it to its own listeners.
                let shared = Shared::Publish(change.clone());
                server.fx.push(Output::Shared(shared));
            }
            server.announce(now, change)
        })
    }

    /// Starts a graceful shutdown that is over by `now + grace`.
    ///
    /// New requests get `503` (naming their id); answers to the server's own requests still come
    /// in. Listen streams end with their completion result. A session with no request in
    /// flight ends now: its streams get a reconnection hint and finish. One with requests in
    /// flight loses its standalone stream now and keeps the streams that carry its answers
    /// until the last is written, then ends. Requests without a session (stateless,
    /// 2026-07-28) are answered as they come. At `now + grace` whatever is left ends: open
    /// streams get the hint, and a request still waiting for its answer gets `503` naming its
    /// id. [`exchange_count`](Self::exchange_count) is zero once nothing is left.
    pub fn shutdown(&mut self, now: Instant, grace: Duration) {
        self.input(now, |server, now| {
            if server.shutting_down {
                return;
            }
            server.shutting_down = true;
            server
                .fx
                .timers
                .arm(now + grace, TimerKind::ShutdownDeadline);
            for listener in server.listeners.streams() {
                server.end_listener(now, listener);
            }
            for session in server.sessions.ids() {
                if server.requests.in_flight(&session) == 0 {
                    server.end_session(now, &session, CloseReason::Shutdown);
                    continue;
                }
                if let Some(standalone) = server.streams.standalone_of(&session) {
                    server.end_stream(now, standalone, true);
                }
                if let Some(state) = server.sessions.get_mut(&session) {
                    state.closing = true;
                }
            }
        });
    }

    // ---- outputs ----

    /// The next thing to do, or `None` when there is nothing until the next input or command.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.fx.outputs.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) at the latest, if anything is
    /// scheduled. Cheap: the earliest entry of a heap.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.fx.timers.next()
    }

    // ---- what every input and command does ----

    /// Applies one input or command at `now` (never earlier than one already seen), then drops
    /// the timers whose target is gone.
    fn input<T>(&mut self, now: Instant, apply: impl FnOnce(&mut Self, Instant) -> T) -> T {
        let now = self.now.map_or(now, |seen| seen.max(now));
        self.now = Some(now);
        let result = apply(self, now);
        for (id, stream) in self.streams.take_dropped() {
            self.forget(id, stream);
        }
        self.prune_timers();
        result
    }

    fn prune_timers(&mut self) {
        let (streams, sessions) = (&self.streams, &self.sessions);
        let shutting_down = self.shutting_down;
        let members = self.members.as_ref();
        let live = |kind: &TimerKind| match kind {
            TimerKind::Resume(ticket) => members.is_some_and(|m| m.is_out(*ticket)),
            TimerKind::SessionExpiry(session) => sessions.get(session).is_some(),
            TimerKind::ShutdownDeadline => shutting_down,
            other => streams.is_live(other),
        };
        self.fx.timers.prune(live);
        let targets =
            streams.timer_targets() + sessions.len() + members.map_or(0, Members::waiting) + 1;
        self.fx.timers.compact(targets, live);
    }

    // ---- across parts ----

    /// The shutdown's grace is over: whatever is left ends.
    fn shutdown_deadline(&mut self, now: Instant) -> bool {
        for session in self.sessions.ids() {
            self.end_session(now, &session, CloseReason::Shutdown);
        }
        for stream in self.streams.ids() {
            self.end_stream(now, stream, true);
        }
        true
    }

    /// Makes room for a new session: at the cap, the least recently active idle session ends
    /// (S2.40). `Err` with the `Retry-After` to answer when every session is busy.
    pub(crate) fn make_room(&mut self, now: Instant) -> Result<(), u32> {
        if !self.sessions.is_full() {
            return Ok(());
        }
        let (requests, streams) = (&self.requests, &self.streams);
        let busy = |s: &SessionId| requests.in_flight(s) > 0 || streams.has_connection(s);
        if let Some(session) = self.sessions.evictable(busy) {
            self.fx.stats.sessions_evicted += 1;
            self.end_session(now, &session, CloseReason::Evicted);
            return Ok(());
        }
        // Sessions busy with requests only free up as those are answered; a stream holds its
        // session until its client goes, or stops reading for `stall_timeout`.
        let base = self.config.retry_after_secs;
        let wait = match self.requests.sessions_busy() > 0 {
            true => base,
            false => self
                .config
                .stall_timeout
                .map_or(base, |t| t.as_secs() as u32),
        };
        tracing::info!(
            retry_after = wait,
            "session table full and every session busy"
        );
        Err(wait.max(base))
    }

    /// The token a stream's connection was opened with expired: the connection ends with a
    /// reconnection hint, so the client comes back with a fresh token and resumes where it was
    /// (a resumable stream), or opens a new one (a 2024-11-05 stream, whose session ends).
    fn token_expired(&mut self, now: Instant, id: StreamId) {
        let Some(stream) = self.streams.get(id) else {
            return;
        };
        tracing::debug!(stream = %id, "bearer token expired: the stream's connection ends");
        if stream.resumable() {
            return self.streams.cut(&mut self.fx, now, id);
        }
        let legacy = (stream.role == Role::HttpSse)
            .then(|| stream.session.clone())
            .flatten();
        match legacy {
            Some(session) => drop(self.end_session(now, &session, CloseReason::TokenExpired)),
            None => self.end_stream(now, id, true),
        }
    }

    /// A session closing for the shutdown ends once its last request is answered.
    fn settle(&mut self, now: Instant, session: &SessionId) {
        let closing = self.sessions.get(session).is_some_and(|s| s.closing);
        if closing && self.requests.in_flight(session) == 0 {
            self.end_session(now, session, CloseReason::Shutdown);
        }
    }

    /// A new session of `transport`; its id is named on every response of `ctx` from now on.
    /// It belongs to the request's principal, if authorization is on (S4.6).
    pub(crate) fn open_session(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: &request::Parts,
        transport: Transport,
    ) -> SessionId {
        let owner = head
            .extensions
            .get::<Principal>()
            .map(|p| p.subject.as_str());
        let session = self.sessions.mint(now, transport, owner);
        ctx.session = self.sessions.get(&session).map(|s| s.header.clone());
        self.fx.stats.sessions_opened += 1;
        self.fx.push(Output::Event(Event::SessionOpened {
            session: session.clone(),
            transport,
        }));
        session
    }

    pub(crate) fn arm_session_expiry(&mut self, now: Instant, session: &SessionId) {
        if let Some(at) = self.sessions.first_check(now) {
            self.fx
                .timers
                .arm(at, TimerKind::SessionExpiry(session.clone()));
        }
    }

    /// Closes a session that has been idle, or that never spoke after `initialize`.
    fn session_expiry(&mut self, now: Instant, session: &SessionId) -> bool {
        let busy = self.requests.in_flight(session) > 0 || self.streams.has_connection(session);
        if busy {
            self.touch_shared(now, session);
        }
        match self.sessions.expiry(session, now, busy) {
            Expiry::Expire => self.end_session(now, session, CloseReason::Expired),
            Expiry::At(at) => {
                self.fx
                    .timers
                    .arm(at, TimerKind::SessionExpiry(session.clone()));
                false
            }
            Expiry::Never => false,
        }
    }

    /// Forgets a session, its streams and its unanswered requests, and tells the application
    /// and, in a cluster, the other instances if it ended for good.
    pub(crate) fn end_session(
        &mut self,
        now: Instant,
        session: &SessionId,
        reason: CloseReason,
    ) -> bool {
        let ended = self.end_session_here(now, session, reason);
        if ended {
            self.share_end(now, session, reason);
        }
        ended
    }

    /// Forgets a session here only (another instance ended it, or it failed to be stored).
    pub(crate) fn end_session_here(
        &mut self,
        now: Instant,
        session: &SessionId,
        reason: CloseReason,
    ) -> bool {
        if self.sessions.remove(session).is_none() {
            return false;
        }
        for stream in self.streams.of_session(session) {
            self.end_stream(now, stream, reason == CloseReason::Shutdown);
        }
        self.fx.stats.sessions_closed += 1;
        self.fx.push(Output::Event(Event::SessionClosed {
            session: session.clone(),
            reason,
        }));
        true
    }

    /// Writes an answer on the stream that carries it, and ends a session closing for the
    /// shutdown once that was its last.
    pub(crate) fn answer_on(&mut self, now: Instant, stream: StreamId, answer: StreamAnswer) {
        let session = self.streams.get(stream).and_then(|s| s.session.clone());
        let (fx, sessions) = (&mut self.fx, &self.sessions);
        self.streams.answer(fx, sessions, now, stream, answer);
        if let Some(session) = &session {
            self.settle(now, session);
        }
    }

    /// The stream for `session`'s messages unrelated to a request: the 2024-11-05 stream, or
    /// the standalone `GET` stream (S2.20); `None` if it has none open here.
    fn session_stream(&self, session: &SessionId) -> Result<Option<StreamId>, SendError> {
        let state = self
            .sessions
            .get(session)
            .ok_or(SendError::UnknownSession)?;
        Ok(match state.transport {
            Transport::HttpSse => self.streams.first_of(session),
            _ => self.streams.standalone_of(session),
        })
    }

    /// Queues a message on `session`'s stream, if it has one here.
    pub(crate) fn push_to_session(
        &mut self,
        now: Instant,
        session: &SessionId,
        message: Bytes,
    ) -> Result<(), SendError> {
        let stream = self.session_stream(session)?.ok_or(SendError::NoStream)?;
        let (fx, sessions) = (&mut self.fx, &self.sessions);
        self.streams
            .push_message(fx, sessions, now, stream, message)?;
        self.fx.stats.messages_out += 1;
        Ok(())
    }

    /// A new stream answering `ctx`'s exchange (every transport opens its streams here).
    pub(crate) fn open_stream(&mut self, now: Instant, ctx: Ctx, opening: Opening) -> StreamId {
        self.streams
            .open(&mut self.fx, &self.sessions, now, ctx, opening)
    }

    /// Ends a stream (see [`Streams::end`]) and forgets what it owed.
    pub(crate) fn end_stream(&mut self, now: Instant, stream: StreamId, retry_hint: bool) {
        // An answer that will not come names its request, if the stream waits for just one.
        let waiting_for = match self.streams.get(stream).map(|s| s.keys.as_slice()) {
            Some([key]) => self.requests.get(*key).map(|p| p.id.clone()),
            _ => None,
        };
        let fx = &mut self.fx;
        if let Some(ended) = self.streams.end(fx, now, stream, retry_hint, waiting_for) {
            self.forget(stream, ended);
        }
    }

    /// The connection of a stream went away (S2.17: before 2026 that is no cancellation).
    fn detach(&mut self, now: Instant, id: StreamId) {
        if let Some(session) = self.streams.get(id).and_then(|s| s.session.clone()) {
            self.sessions.touch(&session, now);
        }
        match self.streams.detach(&mut self.fx, now, id) {
            // The stream is the session (S1.9): later POSTs to it get 404.
            Detached::EndSession(session) => {
                self.end_session(now, &session, CloseReason::ClientGone);
            }
            Detached::Removed {
                stream,
                cancelled: true,
            } => {
                // S3.15: closing a 2026-07-28 response stream cancels its request.
                for &key in &stream.keys {
                    self.requests.take(key);
                    self.fx
                        .push(Output::Event(Event::Cancelled { key, reason: None }));
                }
            }
            Detached::Removed { stream, .. } => self.forget(id, stream),
            Detached::Kept | Detached::Unknown => {}
        }
    }

    /// A stream is gone: the requests it still owed answers to are dropped, and a listener on
    /// it is forgotten.
    pub(crate) fn forget(&mut self, id: StreamId, stream: Stream) {
        for &key in &stream.keys {
            self.requests.take(key);
        }
        self.listeners.remove(id);
    }

    /// Hands a request to the application; its answer will come on `stream`.
    pub(crate) fn deliver_request(
        &mut self,
        head: &Arc<request::Parts>,
        session: Option<SessionId>,
        transport: Transport,
        stream: StreamId,
        request: jsonrpc::Request,
        how: Delivery,
    ) -> RequestKey {
        let (logs, redelivered) = match how {
            Delivery::New { logs } => (logs, false),
            Delivery::Again => (false, true),
        };
        let v2026 = transport == Transport::Streamable2026;
        let version = match v2026 {
            true => Some(ProtocolVersion::V2026_07_28),
            false => session
                .as_ref()
                .and_then(|s| self.sessions.get(s))
                .and_then(|s| s.version),
        };
        let key = self.requests.admit(Pending {
            id: request.id.clone(),
            session: session.clone(),
            stream,
            initialize: request.method == "initialize",
            v2026,
            logs,
        });
        self.streams.owe(stream, key);
        self.fx.stats.messages_in += 1;
        self.fx.push(Output::Event(Event::Request {
            key,
            session,
            transport,
            version,
            request,
            head: head.clone(),
            redelivered,
        }));
        key
    }

    /// Hands a notification or a client's response to the application.
    pub(crate) fn deliver_other(
        &mut self,
        now: Instant,
        head: &Arc<request::Parts>,
        session: Option<SessionId>,
        transport: Transport,
        message: jsonrpc::Message,
    ) {
        self.fx.stats.messages_in += 1;
        if let Some(state) = session.as_ref().and_then(|s| self.sessions.get_mut(s)) {
            state.initialized = true;
        }
        let event = match message {
            jsonrpc::Message::Notification(notification)
                if notification.method == "notifications/cancelled" =>
            {
                return self.cancel(now, session.as_ref(), notification);
            }
            jsonrpc::Message::Notification(notification) => Event::Notification {
                session,
                transport,
                notification,
                head: head.clone(),
            },
            response => Event::Response { session, response },
        };
        self.fx.push(Output::Event(event));
    }

    /// `notifications/cancelled` (S2.17): the request's answer will not be sent, and the
    /// application hears of it. Unknown ids are ignored: the answer may have crossed the notice.
    fn cancel(
        &mut self,
        now: Instant,
        session: Option<&SessionId>,
        notification: jsonrpc::Notification,
    ) {
        #[derive(serde::Deserialize)]
        struct Params {
            #[serde(rename = "requestId")]
            request_id: serde_json::Value,
            reason: Option<String>,
        }
        let Some(params) = notification
            .params
            .as_ref()
            .and_then(|p| serde_json::from_str::<Params>(p.get()).ok())
        else {
            return;
        };
        let id = match params.request_id {
            serde_json::Value::String(text) => jsonrpc::Id::String(text.into()),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(n) => jsonrpc::Id::Number(n),
                None => return,
            },
            _ => return,
        };
        let Some(key) = self.requests.find(session, &id) else {
            return;
        };
        let pending = self.requests.take(key).expect("found above");
        let (fx, sessions) = (&mut self.fx, &self.sessions);
        self.streams
            .drop_answer(fx, sessions, now, pending.stream, key);
        self.fx.push(Output::Event(Event::Cancelled {
            key,
            reason: params.reason,
        }));
        if let Some(session) = session {
            self.settle(now, session);
        }
    }
}

/// The version an `initialize` result names, if served.
fn negotiated_version(result: &RawValue) -> Option<ProtocolVersion> {
    #[derive(serde::Deserialize)]
    struct Result<'a> {
        #[serde(rename = "protocolVersion", borrow)]
        version: &'a str,
    }
    let result: Result<'_> = serde_json::from_str(result.get()).ok()?;
    ProtocolVersion::parse(result.version)
}
