//! Streams of server messages and the connections that carry them.
//!
//! A [`Stream`] answers one HTTP exchange: the session stream of a 2024-11-05 client, the
//! standalone `GET` stream of a Streamable HTTP session, or the answer to a `POST`. While its
//! head has not gone out it is [`Conn::Waiting`]: the first output of the application decides
//! between JSON and SSE. A resumable stream outlives its connection ([`Conn::Detached`]) until
//! the client resumes it with `Last-Event-ID` or the replay window passes.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::cors::Origin;
use crate::error::SendError;
use crate::jsonrpc;
use crate::replay::{EventId, StreamId};
use crate::server::{Ctx, Server};
use crate::timer::TimerKind;
use crate::wire::{self, MCP_SESSION_ID};
use crate::{Chunk, CloseReason, ExchangeId, Output, RequestKey, ResponseMode, SessionId, sse};

/// What a stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Every server message of a 2024-11-05 session; its life is the session's (S1.9).
    Legacy,
    /// Server messages of a Streamable HTTP session unrelated to a request (S2.20).
    Standalone,
    /// The answers to the requests of one `POST`, and messages related to them (S2.13).
    Post,
    /// A 2026-07-28 `subscriptions/listen` stream (S3.34).
    Listen,
}

/// The HTTP side of a stream.
#[derive(Debug)]
pub(crate) enum Conn {
    /// No head sent yet.
    Waiting {
        exchange: ExchangeId,
        /// The allowed `Origin`, for the CORS headers of the eventual head.
        origin: Option<HeaderValue>,
    },
    /// An SSE response is open on this exchange.
    Open(ExchangeId),
    /// The connection is gone since then; events wait in the store for a resume.
    Detached { since: Instant },
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) session: Option<SessionId>,
    pub(crate) role: Role,
    pub(crate) conn: Conn,
    /// Whether events carry ids and are kept for replay.
    pub(crate) resumable: bool,
    /// Whether it answers a 2026-07-28 request: closing it cancels the request (S3.15).
    pub(crate) modern: bool,
    /// The next event's sequence number (the priming event is 0).
    pub(crate) next_seq: u64,
    /// Requests whose answers this stream carries and that are not answered yet.
    pub(crate) keys: Vec<RequestKey>,
    /// Answers (and batch element errors) gathered while waiting, for a JSON body.
    pub(crate) collected: Vec<Bytes>,
    /// Whether the `POST` was a batch, so its JSON answer is an array (S5.5).
    pub(crate) batch: bool,
    /// Every answer was written: the stream ends once a client has read them.
    pub(crate) done: bool,
}

impl Stream {
    pub(crate) fn new(session: Option<SessionId>, role: Role, conn: Conn, _now: Instant) -> Self {
        Self {
            session,
            role,
            conn,
            resumable: false,
            modern: false,
            next_seq: 1,
            keys: Vec::new(),
            collected: Vec::new(),
            batch: false,
            done: false,
        }
    }

    /// The exchange whose body carries the stream now, if any.
    pub(crate) fn open_exchange(&self) -> Option<ExchangeId> {
        match self.conn {
            Conn::Open(exchange) => Some(exchange),
            _ => None,
        }
    }

    /// The exchange the stream answers, whether its head went out or not.
    pub(crate) fn exchange(&self) -> Option<ExchangeId> {
        match self.conn {
            Conn::Open(exchange) | Conn::Waiting { exchange, .. } => Some(exchange),
            Conn::Detached { .. } => None,
        }
    }
}

/// The bytes of one open SSE response. At most `Config::stream_queue_bytes` plus one frame is
/// ever handed to the adapter uncredited; what comes beyond waits here, in order, and goes out
/// as the client reads. The backlog itself is bounded by admission: new work is refused while
/// [`queued`](Self::queued) is at the bound, so only answers to requests already accepted wait.
#[derive(Debug)]
pub(crate) struct Wire {
    /// Bytes handed out in `Output::Data` that the adapter has not credited back.
    pub(crate) unconsumed: usize,
    backlog: VecDeque<Chunk>,
    backlog_bytes: usize,
    /// When a frame was last written: keepalives fill silences, not busy streams.
    pub(crate) last_write: Instant,
    /// The response ends once the backlog is out.
    finishing: bool,
}

impl Wire {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            unconsumed: 0,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            last_write: now,
            finishing: false,
        }
    }

    /// Every byte written and not yet read: handed out or waiting.
    pub(crate) fn queued(&self) -> usize {
        self.unconsumed + self.backlog_bytes
    }

    pub(crate) fn is_finishing(&self) -> bool {
        self.finishing
    }
}

impl Server {
    /// Bytes written on `stream`'s connection and not yet read by its client.
    pub(crate) fn queued(&self, stream: StreamId) -> usize {
        self.streams
            .get(&stream)
            .and_then(Stream::open_exchange)
            .and_then(|exchange| self.wires.get(&exchange))
            .map_or(0, Wire::queued)
    }

    /// The adapter handed `bytes` to the connection: that much room is free, so waiting frames
    /// go out, and a finishing response ends once none wait.
    pub(crate) fn credit(&mut self, exchange: ExchangeId, bytes: usize) {
        let bound = self.config.stream_queue_bytes;
        let Some(wire) = self.wires.get_mut(&exchange) else {
            return;
        };
        wire.unconsumed = wire.unconsumed.saturating_sub(bytes);
        while wire.unconsumed < bound {
            let Some(chunk) = wire.backlog.pop_front() else {
                break;
            };
            wire.backlog_bytes -= chunk.len();
            wire.unconsumed += chunk.len();
            self.stats.frames_out += 1;
            self.outputs.push_back(Output::Data { exchange, chunk });
        }
        if wire.finishing && wire.backlog.is_empty() {
            self.wires.remove(&exchange);
            self.push(Output::Finish { exchange });
        }
    }

    /// Writes an answer on the stream that carries it; the last answer of a `POST` ends it.
    /// `status` is the HTTP status should the answer go out as JSON.
    pub(crate) fn answer(
        &mut self,
        now: Instant,
        id: StreamId,
        key: RequestKey,
        body: Bytes,
        status: StatusCode,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.keys.retain(|k| *k != key);
        if matches!(stream.conn, Conn::Waiting { .. }) {
            // A 2026-07-28 error that maps to an HTTP status gets it, whatever the mode.
            if self.config.response_mode != ResponseMode::Sse || status != StatusCode::OK {
                stream.collected.push(body);
                if stream.keys.is_empty() {
                    self.respond_json(id, status);
                }
                return;
            }
            self.upgrade(now, id, true);
        }
        self.emit(now, id, body);
        self.complete_if_answered(now, id);
    }

    /// A request was cancelled: its answer is not owed any more.
    pub(crate) fn drop_answer(&mut self, now: Instant, id: StreamId, key: RequestKey) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.keys.retain(|k| *k != key);
        if stream.keys.is_empty() && matches!(stream.conn, Conn::Waiting { .. }) {
            if stream.collected.is_empty() || self.config.response_mode == ResponseMode::Sse {
                // An SSE stream that says what was gathered, if anything, and ends at once.
                self.upgrade(now, id, false);
            } else {
                return self.respond_json(id, StatusCode::OK);
            }
        }
        self.complete_if_answered(now, id);
    }

    fn complete_if_answered(&mut self, now: Instant, id: StreamId) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.role != Role::Post || !stream.keys.is_empty() {
            return;
        }
        stream.done = true;
        match stream.conn {
            Conn::Open(exchange) => {
                self.finish(exchange);
                self.remove_stream(now, id);
            }
            // Kept for the client to resume and read the answers (S2.29).
            Conn::Detached { .. } if stream.resumable => {}
            _ => self.remove_stream(now, id),
        }
    }

    /// Queues an application message on a stream (S2.13, S2.20).
    pub(crate) fn push_message(
        &mut self,
        now: Instant,
        id: StreamId,
        message: Bytes,
    ) -> Result<(), SendError> {
        let stream = self.streams.get(&id).ok_or(SendError::NoStream)?;
        match stream.conn {
            Conn::Waiting { .. } if self.config.response_mode == ResponseMode::Json => {
                return Err(SendError::NoStream);
            }
            Conn::Waiting { .. } => self.upgrade(now, id, true),
            Conn::Open(_) if self.queued(id) >= self.config.stream_queue_bytes => {
                return Err(SendError::QueueFull);
            }
            Conn::Open(_) => {}
            Conn::Detached { .. } if !stream.resumable => return Err(SendError::NoStream),
            Conn::Detached { .. } => {}
        }
        self.emit(now, id, message);
        Ok(())
    }

    /// Sends the SSE head of a waiting answer (D3: every non-200 outcome was decided before).
    /// A fresh stream of a 2025-11-25 session starts with the priming event (S2.16), then
    /// whatever was gathered for a JSON body.
    pub(crate) fn upgrade(&mut self, now: Instant, id: StreamId, prime: bool) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let Conn::Waiting { exchange, origin } = &stream.conn else {
            return;
        };
        let (exchange, origin) = (*exchange, origin.clone());
        stream.conn = Conn::Open(exchange);
        self.wires.insert(exchange, Wire::new(now));
        let session = stream.session.as_ref().and_then(|s| self.sessions.get(s));
        let primes = prime
            && stream.resumable
            && session
                .and_then(|s| s.version)
                .is_some_and(|v| v.primes_streams());
        let mut head = wire::sse_head();
        if let Some(session) = session {
            head.headers_mut()
                .insert(MCP_SESSION_ID, session.header.clone());
        }
        let origin = origin.map_or(Origin::Absent, Origin::Allowed);
        crate::cors::decorate(&self.config, &origin, head.headers_mut());
        self.push(Output::StartStream { exchange, head });
        self.timers.arm(
            now + self.config.keepalive_interval,
            TimerKind::Keepalive(exchange),
        );
        if primes {
            let event_id = EventId {
                epoch: self.epoch,
                stream: id,
                seq: 0,
            }
            .to_string();
            let frame = sse::encode(&sse::Event {
                id: Some(&event_id),
                retry: Some(self.config.reconnect_hint_ms),
                data: Some(Bytes::new()),
                ..Default::default()
            })
            .expect("event ids are visible ASCII");
            self.write(now, exchange, frame);
        }
        // Answers gathered for a JSON body (a batch's early answers and element errors) go
        // first: the body they were waiting for will not be written.
        let stream = self.streams.get_mut(&id).expect("upgraded above");
        for body in std::mem::take(&mut stream.collected) {
            self.emit(now, id, body);
        }
    }

    /// Writes a JSON-RPC message as an SSE `message` event, with an id kept for replay when the
    /// stream is resumable (S2.25, S2.27).
    pub(crate) fn emit(&mut self, now: Instant, id: StreamId, json: Bytes) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let seq = stream.next_seq;
        let event_id = stream.resumable.then(|| {
            stream.next_seq += 1;
            EventId {
                epoch: self.epoch,
                stream: id,
                seq,
            }
            .to_string()
        });
        let exchange = stream.open_exchange();
        let frame = sse::encode(&sse::Event {
            event: Some("message"),
            id: event_id.as_deref(),
            data: Some(json),
            ..Default::default()
        })
        .expect("a static event name and a visible-ASCII id are valid fields");
        if event_id.is_some() {
            self.store.store(now, id, seq, &frame);
        }
        if let Some(exchange) = exchange {
            self.write(now, exchange, frame);
        }
    }

    /// Writes bytes on the open exchange: handed to the adapter while it holds less than the
    /// bound, kept in order behind it otherwise.
    pub(crate) fn write(&mut self, now: Instant, exchange: ExchangeId, chunk: Chunk) {
        let bound = self.config.stream_queue_bytes;
        let Some(wire) = self.wires.get_mut(&exchange) else {
            return;
        };
        if wire.finishing {
            return;
        }
        wire.last_write = now;
        if wire.backlog.is_empty() && wire.unconsumed < bound {
            wire.unconsumed += chunk.len();
            self.stats.frames_out += 1;
            self.push(Output::Data { exchange, chunk });
        } else {
            wire.backlog_bytes += chunk.len();
            wire.backlog.push_back(chunk);
        }
    }

    /// Ends the response body of `exchange` once everything written on it is out.
    pub(crate) fn finish(&mut self, exchange: ExchangeId) {
        self.exchanges.remove(&exchange);
        let Some(wire) = self.wires.get_mut(&exchange) else {
            return;
        };
        if wire.backlog.is_empty() {
            self.wires.remove(&exchange);
            self.push(Output::Finish { exchange });
        } else {
            wire.finishing = true;
        }
    }

    /// Answers a waiting `POST` with JSON: one object, or an array for a batch (S2.9, S5.5).
    fn respond_json(&mut self, id: StreamId, status: StatusCode) {
        let Some(stream) = self.streams.remove(&id) else {
            return;
        };
        let Conn::Waiting { exchange, origin } = stream.conn else {
            return;
        };
        self.exchanges.remove(&exchange);
        let session = stream
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s));
        let header = session.map(|s| {
            s.streams.retain(|s| *s != id);
            s.header.clone()
        });
        let body = match (stream.batch, stream.collected.len()) {
            (false, 1) => stream.collected.into_iter().next().expect("one answer"),
            _ => jsonrpc::encode_batch(&stream.collected),
        };
        let ctx = Ctx {
            exchange,
            origin: origin.map_or(Origin::Absent, Origin::Allowed),
            session: header,
        };
        self.respond(&ctx, wire::json(status, body));
    }

    /// The connection of a stream went away (S2.17: before 2026 that is no cancellation).
    pub(crate) fn detach(&mut self, now: Instant, id: StreamId) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if let Some(state) = stream
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s))
        {
            state.last_active = now;
        }
        match (&stream.role, &stream.conn) {
            (Role::Legacy, _) => {
                // The stream is the session (S1.9): later POSTs to it get 404.
                if let Some(session) = stream.session.clone() {
                    self.end_session(now, &session, CloseReason::ClientGone);
                }
            }
            (Role::Listen, _) => self.remove_stream(now, id),
            (Role::Post, _) if stream.modern => {
                // S3.15: closing a 2026-07-28 response stream cancels its request.
                for key in std::mem::take(&mut stream.keys) {
                    self.requests.remove(&key);
                    self.push(Output::Event(crate::Event::Cancelled { key, reason: None }));
                }
                self.remove_stream(now, id);
            }
            (_, Conn::Open(_)) if stream.resumable => {
                stream.conn = Conn::Detached { since: now };
                let at = now + self.config.replay_age;
                self.timers.arm(at, TimerKind::StreamExpiry(id));
            }
            // Nothing to resume from: the answers have nowhere to go.
            _ => self.remove_stream(now, id),
        }
    }

    /// Closes a stream's connection early so that its client polls (S2.31, S2.32).
    pub(crate) fn poll_close(&mut self, now: Instant, id: StreamId) -> Result<(), SendError> {
        let stream = self.streams.get(&id).ok_or(SendError::NoStream)?;
        let version = stream
            .session
            .as_ref()
            .and_then(|s| self.sessions.get(s))
            .and_then(|s| s.version);
        if !stream.resumable || !version.is_some_and(|v| v.primes_streams()) {
            return Err(SendError::NotResumable);
        }
        self.upgrade(now, id, true);
        let stream = self.streams.get_mut(&id).expect("looked up above");
        let Conn::Open(exchange) = stream.conn else {
            return Ok(());
        };
        stream.conn = Conn::Detached { since: now };
        self.write(
            now,
            exchange,
            sse::encode_retry(self.config.reconnect_hint_ms),
        );
        self.finish(exchange);
        let at = now + self.config.replay_age;
        self.timers.arm(at, TimerKind::StreamExpiry(id));
        Ok(())
    }

    /// A broken stream nobody resumed within the replay window is dropped.
    pub(crate) fn stream_expired(&mut self, now: Instant, id: StreamId) -> bool {
        let Some(Conn::Detached { since }) = self.streams.get(&id).map(|s| &s.conn) else {
            return false;
        };
        let due = *since + self.config.replay_age;
        if due > now {
            self.timers.arm(due, TimerKind::StreamExpiry(id));
            return false;
        }
        self.remove_stream(now, id);
        true
    }

    /// Ends a stream: with a reconnection hint (shutdown, a newer stream replaces it; a waiting
    /// answer gets `503`), or without (its session is gone; a waiting answer gets `404`).
    pub(crate) fn end_stream(&mut self, now: Instant, id: StreamId, retry_hint: bool) {
        let Some(stream) = self.streams.get(&id) else {
            return;
        };
        match &stream.conn {
            Conn::Open(exchange) => {
                let exchange = *exchange;
                if retry_hint {
                    let hint = sse::encode_retry(self.config.reconnect_hint_ms);
                    self.write(now, exchange, hint);
                }
                self.finish(exchange);
            }
            Conn::Waiting { exchange, origin } => {
                let ctx = Ctx {
                    exchange: *exchange,
                    origin: origin.clone().map_or(Origin::Absent, Origin::Allowed),
                    session: None,
                };
                self.exchanges.remove(exchange);
                let response = if retry_hint {
                    wire::unavailable(self.config.retry_after_secs, None, "Shutting down")
                } else {
                    let code = jsonrpc::SESSION_NOT_FOUND;
                    wire::error(StatusCode::NOT_FOUND, None, code, "Session not found")
                };
                self.respond(&ctx, response);
            }
            Conn::Detached { .. } => {}
        }
        self.remove_stream(now, id);
    }

    /// Forgets a stream, its kept events and the requests it still owed answers to.
    pub(crate) fn remove_stream(&mut self, _now: Instant, id: StreamId) {
        let Some(stream) = self.streams.remove(&id) else {
            return;
        };
        if let Some(exchange) = stream.exchange() {
            self.exchanges.remove(&exchange);
        }
        if stream.resumable {
            self.store.forget(id);
        }
        self.listeners.remove(&id);
        let session = stream
            .session
            .as_ref()
            .and_then(|s| self.sessions.get_mut(s));
        if let Some(session) = session {
            session.streams.retain(|s| *s != id);
            if session.standalone == Some(id) {
                session.standalone = None;
            }
            session.in_flight -= stream.keys.len();
        }
        for key in &stream.keys {
            self.requests.remove(key);
        }
    }

    /// Writes a comment on a stream that has been idle for the keepalive interval (E5.1) and
    /// re-arms its timer. Returns whether it wrote.
    pub(crate) fn keepalive(&mut self, now: Instant, exchange: ExchangeId) -> bool {
        let interval = self.config.keepalive_interval;
        let Some(wire) = self.wires.get(&exchange).filter(|w| !w.is_finishing()) else {
            return false;
        };
        let due = wire.last_write + interval;
        if due > now {
            self.timers.arm(due, TimerKind::Keepalive(exchange));
            return false;
        }
        // A reader that is not reading needs no keepalive, and must not be sent more.
        let wrote = wire.queued() < self.config.stream_queue_bytes;
        if wrote {
            self.stats.keepalives += 1;
            let comment = sse::encode_comment("").expect("an empty comment is valid");
            self.write(now, exchange, comment);
        }
        self.timers
            .arm(now + interval, TimerKind::Keepalive(exchange));
        wrote
    }

    /// A silent request's answer becomes an SSE stream so keepalives can flow.
    pub(crate) fn hold_expired(&mut self, now: Instant, exchange: ExchangeId) -> bool {
        let Some(&id) = self.exchanges.get(&exchange) else {
            return false;
        };
        let waiting = self
            .streams
            .get(&id)
            .is_some_and(|s| matches!(s.conn, Conn::Waiting { .. }));
        if waiting {
            self.upgrade(now, id, true);
        }
        waiting
    }
}
