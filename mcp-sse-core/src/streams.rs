//! [`Streams`]: the streams of server messages, the HTTP responses that carry them, and the
//! events kept for replay.
//!
//! A [`Stream`] answers one HTTP exchange: the session stream of a 2024-11-05 client, the
//! standalone `GET` stream of a Streamable HTTP session, a `subscriptions/listen` stream, or the
//! answer to a `POST`. While its head has not gone out it is [`Conn::Waiting`]: the first output
//! decides between JSON and SSE. A resumable stream outlives its connection ([`Conn::Detached`])
//! until the client resumes it with `Last-Event-ID` or the replay window passes.
//!
//! Every open SSE response has an [`SseBody`]: at most `Config::stream_queue_bytes` plus one
//! frame is handed to the adapter uncredited, and what comes beyond waits in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;

use crate::cors::CorsHeaders;
use crate::effects::Effects;
use crate::error::SendError;
use crate::ids::Map;
use crate::jsonrpc;
use crate::replay::{EventId, EventStore, MemoryStore, StreamId};
use crate::responses::{self, Ctx, Unavailable};
use crate::sessions::Sessions;
use crate::shared::{Handover, Recovery};
use crate::timer::TimerKind;
use crate::{
    Chunk, Config, ExchangeId, Notice, Output, RequestKey, ResponseMode, SessionId, Shared, sse,
};

/// What a stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Every server message of a 2024-11-05 session; its life is the session's (S1.9).
    HttpSse,
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
    Waiting(Waiting),
    /// An SSE response is open on this exchange.
    Open(ExchangeId),
    /// The connection is gone since then; events wait in the store for a resume. `flushing`:
    /// the exchange still handing out the stream's last bytes, if it has not finished yet.
    Detached {
        since: Instant,
        flushing: Option<ExchangeId>,
    },
    /// Another instance of the cluster carries its connection (the client resumed it there):
    /// its events go there as they are written, and this instance keeps them for replay.
    Elsewhere(u32),
}

/// A stream whose head has not gone out: what its head, or its JSON answer, will carry.
#[derive(Debug)]
pub(crate) struct Waiting {
    exchange: ExchangeId,
    cors: CorsHeaders,
}

impl Waiting {
    fn new(ctx: Ctx) -> Self {
        Self {
            exchange: ctx.exchange,
            cors: ctx.cors,
        }
    }

    /// What every response of the exchange carries: its CORS headers, and `session`'s id if it
    /// belongs to one still alive (S2.44).
    fn ctx(&self, session: Option<&SessionId>, sessions: &Sessions) -> Ctx {
        let session = session.and_then(|s| sessions.get(s));
        Ctx {
            exchange: self.exchange,
            cors: self.cors.clone(),
            session: session.map(|s| s.header.clone()),
            token_expires: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) session: Option<SessionId>,
    pub(crate) role: Role,
    conn: Conn,
    /// Whether events carry ids and are kept for replay.
    resumable: bool,
    /// Whether it answers a 2026-07-28 request: closing it cancels the request (S3.15).
    v2026: bool,
    /// When the bearer token of its connection expires: the connection ends then.
    token_expires: Option<Instant>,
    /// The next event's sequence number (the priming event is 0).
    next_seq: u64,
    /// Requests whose answers this stream carries and that are not answered yet.
    pub(crate) keys: Vec<RequestKey>,
    /// Answers (and batch element errors) gathered while waiting, for a JSON body.
    collected: Vec<Bytes>,
    /// Whether the `POST` was a batch, so its JSON answer is an array (S5.5).
    batch: bool,
    /// Every answer was written: the stream ends once a client has read them.
    done: bool,
    /// This instance only carries the connection of this stream for the instance that owns it
    /// (the client resumed it here): it writes what that one forwards, and keeps nothing.
    carried: bool,
    /// Its answer is written and waits for the store (a cluster keeps a new session before its
    /// client hears of it): the hold does not turn it into a stream meanwhile, so a refusal can
    /// still go out as one.
    storing: bool,
    /// In a cluster, what the store keeps of it besides its events, written with its first
    /// event: a stream answered as JSON, with no event, costs the store nothing.
    unshared: Option<Box<crate::StreamMeta>>,
    /// Taken over from an instance that died: the progress its client saw there, by token. A
    /// request run again reports from the start, and progress must only increase: what is not
    /// beyond this is not sent.
    progress_seen: Vec<(String, f64)>,
}

impl Stream {
    /// A resumable stream of `session` that another instance opened, resumed on `ctx`'s
    /// exchange: its head not sent yet, nothing owed here.
    fn taken_over(ctx: Ctx, session: SessionId, role: Role) -> Self {
        Self {
            token_expires: ctx.token_expires,
            session: Some(session),
            role,
            conn: Conn::Waiting(Waiting::new(ctx)),
            resumable: true,
            v2026: false,
            next_seq: 0,
            keys: Vec::new(),
            collected: Vec::new(),
            batch: false,
            done: false,
            carried: false,
            storing: false,
            unshared: None,
            progress_seen: Vec::new(),
        }
    }

    /// The exchange whose body carries the stream now, if any.
    fn open_exchange(&self) -> Option<ExchangeId> {
        match self.conn {
            Conn::Open(exchange) => Some(exchange),
            _ => None,
        }
    }

    /// The exchange the stream answers, whether its head went out or not.
    fn exchange(&self) -> Option<ExchangeId> {
        match &self.conn {
            Conn::Open(exchange) => Some(*exchange),
            Conn::Waiting(waiting) => Some(waiting.exchange),
            Conn::Detached { .. } | Conn::Elsewhere(_) => None,
        }
    }

    fn is_waiting(&self) -> bool {
        matches!(self.conn, Conn::Waiting(_))
    }

    /// Whether its events carry ids and are kept for a resume.
    pub(crate) fn resumable(&self) -> bool {
        self.resumable
    }
}

/// How a new stream starts.
#[derive(Debug)]
pub(crate) struct Opening {
    pub(crate) session: Option<SessionId>,
    pub(crate) role: Role,
    pub(crate) resumable: bool,
    pub(crate) v2026: bool,
    pub(crate) batch: bool,
    /// Batch element errors, answered with the rest.
    pub(crate) collected: Vec<Bytes>,
    /// Its head waits for [`Streams::start_held`] (a 2024-11-05 stream in a cluster starts once
    /// its session is stored).
    pub(crate) held: bool,
}

impl Opening {
    pub(crate) fn new(session: Option<SessionId>, role: Role) -> Self {
        Self {
            session,
            role,
            resumable: false,
            v2026: false,
            batch: false,
            collected: Vec::new(),
            held: false,
        }
    }
}

/// The answer to one request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) key: RequestKey,
    /// The JSON-RPC response.
    pub(crate) body: Bytes,
    /// The HTTP status it gets should it go out as JSON.
    pub(crate) status: StatusCode,
}

/// What the loss of a stream's connection means (S2.17: before 2026 it is no cancellation).
#[derive(Debug)]
pub(crate) enum Detached {
    /// The stream is its 2024-11-05 session (S1.9): the session ends.
    EndSession(SessionId),
    /// The stream is kept for a resume.
    Kept,
    /// The stream is gone, with the requests it still owed answers to; `cancelled` when those
    /// are cancelled (a 2026-07-28 response stream, S3.15).
    Removed { stream: Stream, cancelled: bool },
    /// No such stream.
    Unknown,
}

/// The token (as JSON) and value of a `notifications/progress` message.
fn progress_of(message: &[u8]) -> Option<(String, f64)> {
    #[derive(serde::Deserialize)]
    struct Message<'a> {
        method: &'a str,
        #[serde(borrow)]
        params: Params<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Params<'a> {
        #[serde(rename = "progressToken", borrow)]
        token: &'a serde_json::value::RawValue,
        progress: f64,
    }
    let message: Message<'_> = serde_json::from_slice(message).ok()?;
    (message.method == "notifications/progress").then(|| {
        (
            message.params.token.get().to_owned(),
            message.params.progress,
        )
    })
}

/// The furthest progress each token reached among SSE `frames`.
fn progress_seen<'a>(frames: impl Iterator<Item = &'a Bytes>) -> Vec<(String, f64)> {
    let mut decoder = sse::Decoder::new();
    let mut seen: Vec<(String, f64)> = Vec::new();
    for frame in frames {
        for item in decoder.feed(frame) {
            let sse::Item::Event(event) = item else {
                continue;
            };
            let Some((token, progress)) = progress_of(event.data.as_bytes()) else {
                continue;
            };
            match seen.iter_mut().find(|(t, _)| *t == token) {
                Some((_, at)) => *at = at.max(progress),
                None => seen.push((token, progress)),
            }
        }
    }
    seen
}

/// The ids of the answers among SSE `frames` (JSON-RPC results and errors).
fn answered_ids<'a>(frames: impl Iterator<Item = &'a Bytes>) -> Vec<jsonrpc::Id> {
    let mut decoder = sse::Decoder::new();
    let mut ids = Vec::new();
    for frame in frames {
        for item in decoder.feed(frame) {
            let sse::Item::Event(event) = item else {
                continue;
            };
            match jsonrpc::classify(event.data.as_bytes()) {
                Ok(jsonrpc::Body::Single(jsonrpc::Message::Response(response))) => {
                    ids.push(response.id);
                }
                Ok(jsonrpc::Body::Single(jsonrpc::Message::Error(error))) => {
                    ids.extend(error.id);
                }
                _ => {}
            }
        }
    }
    ids
}

/// Frames of stream `id` for the instance `node` that carries its connection.
fn forward(node: u32, id: StreamId, frames: Vec<Bytes>, done: bool) -> Output {
    let notice = Notice::Frames {
        stream: id,
        frames,
        done,
    };
    Output::Shared(Shared::ToNode { node, notice })
}

/// Whether `id` is still waiting for a resume since `at` (an entry of `Streams::kept`).
fn is_kept_since(streams: &Map<StreamId, Stream>, id: StreamId, at: Instant) -> bool {
    streams
        .get(&id)
        .is_some_and(|s| matches!(s.conn, Conn::Detached { since, .. } if since == at))
}

/// What a stream's timer did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    Nothing,
    /// A keepalive comment went out.
    Wrote,
    /// Its client stopped reading: the exchange was aborted; the stream it carried, if any, has
    /// lost its connection.
    Aborted(Option<StreamId>),
    /// The bearer token of the stream's connection expired: the caller ends the connection.
    TokenExpired(StreamId),
}

/// The bytes of one open SSE response. The backlog is bounded by admission: new work is refused
/// while [`queued`](Self::queued) is at the bound, so only answers to requests already accepted
/// wait beyond it.
#[derive(Debug)]
struct SseBody {
    /// Bytes handed out in `Output::Data` that the adapter has not credited back.
    unconsumed: usize,
    backlog: VecDeque<Chunk>,
    backlog_bytes: usize,
    /// When a frame was last written: keepalives fill silences, not busy streams.
    last_write: Instant,
    /// When the client last made progress: took bytes, or had nothing pending.
    progress: Instant,
    /// The response ends once the backlog is out.
    finishing: bool,
    /// The session of the stream it carries, if any.
    session: Option<SessionId>,
}

impl SseBody {
    fn new(now: Instant, session: Option<SessionId>) -> Self {
        Self {
            session,
            unconsumed: 0,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            last_write: now,
            progress: now,
            finishing: false,
        }
    }

    /// Every byte written and not yet read: handed out or waiting.
    fn queued(&self) -> usize {
        self.unconsumed + self.backlog_bytes
    }

    /// Takes `chunk` to write: to hand out now, or `None` when it must wait behind the bound.
    fn write(&mut self, now: Instant, bound: usize, chunk: Chunk) -> Option<Chunk> {
        if self.queued() == 0 {
            self.progress = now;
        }
        self.last_write = now;
        if self.backlog.is_empty() && self.unconsumed < bound {
            self.unconsumed += chunk.len();
            Some(chunk)
        } else {
            self.backlog_bytes += chunk.len();
            self.backlog.push_back(chunk);
            None
        }
    }

    /// Forgets the chunks not handed out yet: their events go to another connection.
    fn drop_backlog(&mut self) {
        self.backlog.clear();
        self.backlog_bytes = 0;
    }

    /// The connection took `bytes`: the waiting chunks that now fit, in order.
    fn credit(
        &mut self,
        now: Instant,
        bytes: usize,
        bound: usize,
    ) -> impl Iterator<Item = Chunk> + '_ {
        if bytes > 0 {
            self.progress = now;
        }
        self.unconsumed = self.unconsumed.saturating_sub(bytes);
        std::iter::from_fn(move || {
            if self.unconsumed >= bound {
                return None;
            }
            let chunk = self.backlog.pop_front()?;
            self.backlog_bytes -= chunk.len();
            self.unconsumed += chunk.len();
            Some(chunk)
        })
    }
}

/// The streams of one session.
#[derive(Debug, Default)]
struct Owned {
    /// In creation order, so sorted (ids only grow). A busy session keeps thousands of finished
    /// streams for replay and forgets the oldest on almost every request: found by binary
    /// search, taken from the front.
    all: VecDeque<StreamId>,
    /// The standalone `GET` stream (S2.18), newest wins.
    standalone: Option<StreamId>,
    /// Responses of its streams still finishing behind a backlog: a connection of the session
    /// still carrying its data, though the streams themselves are over.
    finishing: usize,
}

/// Every stream, the exchanges that carry them, and the events kept for replay.
#[derive(Debug)]
pub(crate) struct Streams {
    queue_bytes: usize,
    keepalive: Duration,
    replay_age: Duration,
    reconnect_hint_ms: u64,
    retry_after_secs: u32,
    response_mode: ResponseMode,
    json_hold: Duration,
    stall_timeout: Option<Duration>,
    /// Most streams kept for replay without a connection.
    max_kept: usize,
    /// Random per server instance: part of every event id, so ids from before a restart are
    /// recognised (S2.27).
    epoch: u32,
    /// This instance's node in a cluster (0 alone).
    node: u32,
    /// In a cluster, every event of a resumable stream is also kept in the shared store, for
    /// this long, so another instance can take the stream over if this one is gone.
    shared_for: Option<Duration>,
    next: u64,
    streams: Map<StreamId, Stream>,
    /// Unfinished exchanges and the stream answering each.
    exchanges: Map<ExchangeId, StreamId>,
    /// Every open SSE response, including ones finishing behind a backlog.
    bodies: Map<ExchangeId, SseBody>,
    sessions: Map<SessionId, Owned>,
    store: Box<dyn EventStore>,
    /// Streams kept for replay without a connection, by when they lost it, oldest first; an
    /// entry is stale once its stream was resumed or removed since.
    kept: VecDeque<(Instant, StreamId)>,
    /// Streams in `kept` that are still waiting there.
    kept_live: usize,
    /// See [`take_dropped`](Self::take_dropped).
    dropped: Vec<(StreamId, Stream)>,
}

impl Streams {
    /// Streams of `node` of a cluster (0 alone) have ids from `node << 40` on, so no two
    /// instances hand out the same one.
    pub(crate) fn new(config: &Config, epoch: u32, node: u32) -> Self {
        Self {
            queue_bytes: config.stream_queue_bytes,
            keepalive: config.keepalive_interval,
            replay_age: config.replay_age,
            reconnect_hint_ms: config.reconnect_hint_ms,
            retry_after_secs: config.retry_after_secs,
            response_mode: config.response_mode,
            json_hold: config.json_hold,
            stall_timeout: config.stall_timeout,
            max_kept: (config.replay_total_bytes / 512).max(1),
            epoch,
            node,
            shared_for: config.cluster.as_ref().map(|_| config.replay_age),
            next: u64::from(node & 0xff_ffff) << 40,
            streams: Map::default(),
            exchanges: Map::default(),
            bodies: Map::default(),
            sessions: Map::default(),
            store: Box::new(MemoryStore::new(
                config.replay_bytes,
                config.replay_total_bytes,
                config.replay_age,
            )),
            kept: VecDeque::new(),
            kept_live: 0,
            dropped: Vec::new(),
        }
    }

    pub(crate) fn set_store(&mut self, store: Box<dyn EventStore>) {
        self.store = store;
    }

    // ---- getters ----

    pub(crate) fn len(&self) -> usize {
        self.streams.len()
    }

    pub(crate) fn get(&self, id: StreamId) -> Option<&Stream> {
        self.streams.get(&id)
    }

    /// Exchanges not finished: open or waiting streams, and responses finishing behind a
    /// backlog.
    pub(crate) fn exchange_count(&self) -> usize {
        self.exchanges.len() + self.bodies.values().filter(|b| b.finishing).count()
    }

    pub(crate) fn unconsumed(&self, exchange: ExchangeId) -> Option<usize> {
        self.bodies.get(&exchange).map(|b| b.unconsumed)
    }

    pub(crate) fn queued_bytes(&self, exchange: ExchangeId) -> Option<usize> {
        self.bodies.get(&exchange).map(SseBody::queued)
    }

    /// Bytes written on `id`'s connection and not yet read by its client.
    pub(crate) fn queued(&self, id: StreamId) -> usize {
        self.streams
            .get(&id)
            .and_then(Stream::open_exchange)
            .and_then(|exchange| self.bodies.get(&exchange))
            .map_or(0, SseBody::queued)
    }

    /// Whether `id` holds as many unread bytes as it may.
    pub(crate) fn is_full(&self, id: StreamId) -> bool {
        self.queued(id) >= self.queue_bytes
    }

    pub(crate) fn replay_bytes(&self) -> usize {
        self.store.bytes()
    }

    /// Every stream.
    pub(crate) fn ids(&self) -> Vec<StreamId> {
        self.streams.keys().copied().collect()
    }

    /// The streams of `session`.
    pub(crate) fn of_session(&self, session: &SessionId) -> Vec<StreamId> {
        self.sessions
            .get(session)
            .map(|owned| owned.all.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The first stream of `session`: a 2024-11-05 session's only stream.
    pub(crate) fn first_of(&self, session: &SessionId) -> Option<StreamId> {
        self.sessions.get(session)?.all.front().copied()
    }

    pub(crate) fn standalone_of(&self, session: &SessionId) -> Option<StreamId> {
        self.sessions.get(session)?.standalone
    }

    /// Whether a stream of `session` has a connection, here or on another instance (then the
    /// session is not idle).
    pub(crate) fn has_connection(&self, session: &SessionId) -> bool {
        self.sessions.get(session).is_some_and(|owned| {
            owned.finishing > 0
                || owned.all.iter().any(|id| {
                    self.streams.get(id).is_some_and(|s| {
                        s.exchange().is_some() || matches!(s.conn, Conn::Elsewhere(_))
                    })
                })
        })
    }

    /// Whether a timer of this kind still has something to act on.
    pub(crate) fn is_live(&self, kind: &TimerKind) -> bool {
        match kind {
            TimerKind::Keepalive(exchange) => self.bodies.contains_key(exchange),
            TimerKind::Hold(exchange) => self.exchanges.contains_key(exchange),
            TimerKind::ReplayExpiry => !self.kept.is_empty(),
            TimerKind::SessionExpiry(_) | TimerKind::ShutdownDeadline | TimerKind::Resume(_) => {
                false
            }
        }
    }

    /// How many things stream timers may point at.
    pub(crate) fn timer_targets(&self) -> usize {
        self.bodies.len() + self.exchanges.len() + 1
    }

    // ---- opening ----

    /// A new stream answering `ctx`'s exchange. A `POST`'s answer waits for its first output
    /// (or the hold), so a quick answer goes out with its head in one write, as JSON or
    /// (`ResponseMode::Sse`) as a one-event stream; every other stream starts at once.
    pub(crate) fn open(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        ctx: Ctx,
        opening: Opening,
    ) -> StreamId {
        let id = StreamId(self.next);
        self.next += 1;
        let exchange = ctx.exchange;
        let stream = Stream {
            token_expires: ctx.token_expires,
            session: opening.session,
            role: opening.role,
            conn: Conn::Waiting(Waiting::new(ctx)),
            resumable: opening.resumable,
            v2026: opening.v2026,
            next_seq: 1,
            keys: Vec::new(),
            collected: opening.collected,
            batch: opening.batch,
            done: false,
            carried: false,
            storing: false,
            unshared: None,
            progress_seen: Vec::new(),
        };
        if let Some(session) = &stream.session {
            let owned = self.sessions.entry(session.clone()).or_default();
            owned.all.push_back(id);
            if stream.role == Role::Standalone {
                owned.standalone = Some(id);
            }
        }
        let role = stream.role;
        self.streams.insert(id, stream);
        self.exchanges.insert(exchange, id);
        match role {
            Role::Post if self.response_mode == ResponseMode::Json => {}
            Role::Post => fx
                .timers
                .arm(now + self.json_hold, TimerKind::Hold(exchange)),
            Role::Standalone => self.upgrade(fx, sessions, now, id, true),
            Role::HttpSse | Role::Listen if opening.held => {}
            Role::HttpSse | Role::Listen => self.upgrade(fx, sessions, now, id, false),
        }
        id
    }

    /// `key`'s answer will come on `id`.
    pub(crate) fn owe(&mut self, id: StreamId, key: RequestKey) {
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.keys.push(key);
        }
    }

    /// Sends the SSE head of a waiting answer (D3: every non-200 outcome was decided before).
    /// A fresh stream of a 2025-11-25 session starts with the priming event (S2.16), then
    /// whatever was gathered for a JSON body.
    pub(crate) fn upgrade(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        prime: bool,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let Conn::Waiting(waiting) = &stream.conn else {
            return;
        };
        let exchange = waiting.exchange;
        waiting
            .ctx(stream.session.as_ref(), sessions)
            .start_stream(fx);
        stream.conn = Conn::Open(exchange);
        let primes = prime
            && stream.resumable
            && stream
                .session
                .as_ref()
                .and_then(|s| sessions.get(s))
                .and_then(|s| s.version)
                .is_some_and(|v| v.primes_streams());
        let collected = std::mem::take(&mut stream.collected);
        // The stream's timer: its keepalive, or its token's expiry if that comes first.
        let first = now + self.keepalive;
        let first = stream.token_expires.map_or(first, |at| at.min(first));
        let body = SseBody::new(now, stream.session.clone());
        self.bodies.insert(exchange, body);
        fx.timers.arm(first, TimerKind::Keepalive(exchange));
        if primes {
            let event_id = self.event_id(id, 0);
            let frame = sse::encode(&sse::Fields {
                id: Some(&event_id),
                retry: Some(self.reconnect_hint_ms),
                data: Some(Bytes::new()),
                ..Default::default()
            })
            .expect("event ids are visible ASCII");
            self.write(fx, now, exchange, frame);
        }
        // Answers gathered for a JSON body (a batch's early answers and element errors) go
        // first: the body they were waiting for will not be written.
        for body in collected {
            self.emit(fx, now, id, body);
        }
    }

    // ---- writing ----

    /// Writes an answer on the stream that carries it; the last answer of a `POST` ends it.
    pub(crate) fn answer(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        answer: Answer,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.keys.retain(|k| *k != answer.key);
        stream.storing = false;
        if stream.is_waiting() {
            // A 2026-07-28 error that maps to an HTTP status gets it, whatever the mode.
            if self.response_mode != ResponseMode::Sse || answer.status != StatusCode::OK {
                stream.collected.push(answer.body);
                if stream.keys.is_empty() {
                    self.respond_json(fx, sessions, id, answer.status);
                }
                return;
            }
            self.upgrade(fx, sessions, now, id, true);
        }
        self.emit(fx, now, id, answer.body);
        self.complete_if_answered(fx, now, id);
    }

    /// Whether `id`'s head has not gone out yet.
    pub(crate) fn is_waiting(&self, id: StreamId) -> bool {
        self.streams.get(&id).is_some_and(Stream::is_waiting)
    }

    /// Starts a stream opened `held`, with `first` as its first bytes.
    pub(crate) fn start_held(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        first: Chunk,
    ) {
        let Some(exchange) = self.streams.get(&id).and_then(Stream::exchange) else {
            return;
        };
        self.upgrade(fx, sessions, now, id, false);
        self.write(fx, now, exchange, first);
    }

    /// Answers a stream whose head has not gone out with `response` instead, and forgets it.
    pub(crate) fn refuse(
        &mut self,
        fx: &mut Effects,
        id: StreamId,
        response: http::Response<Bytes>,
    ) {
        let Some(stream) = self.remove(id) else {
            return;
        };
        if let Conn::Waiting(waiting) = &stream.conn {
            let ctx = Ctx {
                exchange: waiting.exchange,
                cors: waiting.cors.clone(),
                session: None,
                token_expires: None,
            };
            ctx.respond(fx, response);
        }
    }

    /// What the store keeps of `id` once it has an event: see `Stream::unshared`.
    pub(crate) fn share_when_streamed(&mut self, id: StreamId, meta: crate::StreamMeta) {
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.unshared = Some(Box::new(meta));
        }
    }

    /// `id`'s answer waits for the store: see `Stream::storing`.
    pub(crate) fn wait_for_store(&mut self, id: StreamId) {
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.storing = true;
        }
    }

    /// A request was cancelled: its answer is not owed any more.
    pub(crate) fn drop_answer(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        key: RequestKey,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        stream.keys.retain(|k| *k != key);
        if stream.keys.is_empty() && stream.is_waiting() {
            if stream.collected.is_empty() || self.response_mode == ResponseMode::Sse {
                // An SSE stream that says what was gathered, if anything, and ends at once.
                self.upgrade(fx, sessions, now, id, false);
            } else {
                return self.respond_json(fx, sessions, id, StatusCode::OK);
            }
        }
        self.complete_if_answered(fx, now, id);
    }

    /// Ends a `POST`'s stream once every answer it owed was written. A resumable one stays
    /// resumable for `replay_age` (its client may lose the last events with its connection,
    /// S2.29); nothing it owed is left, so a stream removed here leaves nothing behind.
    fn complete_if_answered(&mut self, fx: &mut Effects, now: Instant, id: StreamId) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if stream.role != Role::Post || !stream.keys.is_empty() {
            return;
        }
        stream.done = true;
        let resumable = stream.resumable;
        match stream.conn {
            Conn::Open(exchange) => {
                self.finish(fx, exchange);
                match resumable {
                    true => self.keep(fx, now, id, Some(exchange)),
                    false => drop(self.remove(id)),
                }
            }
            Conn::Detached { .. } if resumable => {}
            Conn::Elsewhere(node) => {
                fx.push(forward(node, id, Vec::new(), true));
                self.keep(fx, now, id, None);
            }
            _ => drop(self.remove(id)),
        }
    }

    /// Queues an application message on a stream (S2.13, S2.20).
    pub(crate) fn push_message(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        message: Bytes,
    ) -> Result<(), SendError> {
        let stream = self.streams.get(&id).ok_or(SendError::NoStream)?;
        if !stream.progress_seen.is_empty()
            && let Some((token, progress)) = progress_of(&message)
            && stream
                .progress_seen
                .iter()
                .any(|(seen, at)| *seen == token && progress <= *at)
        {
            // Its client saw this far already, from the run before.
            return Ok(());
        }
        match stream.conn {
            Conn::Waiting(_) if self.response_mode == ResponseMode::Json => {
                return Err(SendError::NoStream);
            }
            Conn::Waiting(_) => self.upgrade(fx, sessions, now, id, true),
            Conn::Open(_) if self.is_full(id) => return Err(SendError::QueueFull),
            Conn::Open(_) => {}
            Conn::Detached { .. } if !stream.resumable => return Err(SendError::NoStream),
            Conn::Detached { .. } | Conn::Elsewhere(_) => {}
        }
        self.emit(fx, now, id, message);
        Ok(())
    }

    /// Writes a JSON-RPC message as an SSE `message` event, with an id kept for replay when the
    /// stream is resumable (S2.25, S2.27).
    pub(crate) fn emit(&mut self, fx: &mut Effects, now: Instant, id: StreamId, json: Bytes) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let seq = stream.next_seq;
        let resumable = stream.resumable;
        if resumable {
            stream.next_seq += 1;
        }
        let exchange = stream.open_exchange();
        let elsewhere = match stream.conn {
            Conn::Elsewhere(node) => Some(node),
            _ => None,
        };
        let unshared = stream.unshared.take();
        let event_id = resumable.then(|| self.event_id(id, seq));
        let frame = sse::encode(&sse::Fields {
            event: Some("message"),
            id: event_id.as_deref(),
            data: Some(json),
            ..Default::default()
        })
        .expect("a static event name and a visible-ASCII id are valid fields");
        if resumable {
            self.store.store(now, id, seq, &frame);
            if let Some(ttl) = self.shared_for {
                if let Some(meta) = unshared {
                    let meta = *meta;
                    fx.push(Output::Shared(Shared::StreamOpened {
                        stream: id,
                        meta,
                        ttl,
                    }));
                }
                let frame = frame.clone().into_bytes();
                let append = Shared::Append {
                    stream: id,
                    seq,
                    frame,
                    ttl,
                };
                fx.push(Output::Shared(append));
            }
        }
        if let Some(node) = elsewhere {
            return fx.push(forward(node, id, vec![frame.into_bytes()], false));
        }
        if let Some(exchange) = exchange {
            self.write(fx, now, exchange, frame);
        }
    }

    fn event_id(&self, stream: StreamId, seq: u64) -> String {
        EventId {
            epoch: self.epoch,
            stream,
            seq,
        }
        .to_string()
    }

    /// Writes bytes on the open exchange: handed to the adapter while it holds less than the
    /// bound, kept in order behind it otherwise.
    pub(crate) fn write(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        exchange: ExchangeId,
        chunk: Chunk,
    ) {
        let Some(body) = self.bodies.get_mut(&exchange).filter(|b| !b.finishing) else {
            return;
        };
        if let Some(chunk) = body.write(now, self.queue_bytes, chunk) {
            fx.stats.frames_out += 1;
            fx.push(Output::Data { exchange, chunk });
        }
    }

    /// The adapter handed `bytes` to the connection: that much room is free, so waiting frames
    /// go out, and a finishing response ends once none wait.
    pub(crate) fn credit(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        exchange: ExchangeId,
        bytes: usize,
    ) {
        let Some(body) = self.bodies.get_mut(&exchange) else {
            return;
        };
        for chunk in body.credit(now, bytes, self.queue_bytes) {
            fx.stats.frames_out += 1;
            fx.push(Output::Data { exchange, chunk });
        }
        if body.finishing && body.backlog.is_empty() {
            self.drop_body(exchange);
            fx.push(Output::Finish { exchange });
        }
    }

    /// Ends the response body of `exchange` once everything written on it is out.
    pub(crate) fn finish(&mut self, fx: &mut Effects, exchange: ExchangeId) {
        self.exchanges.remove(&exchange);
        let Some(body) = self.bodies.get_mut(&exchange) else {
            return;
        };
        if body.backlog.is_empty() {
            self.bodies.remove(&exchange);
            fx.push(Output::Finish { exchange });
        } else if !body.finishing {
            body.finishing = true;
            if let Some(session) = &body.session {
                self.sessions.entry(session.clone()).or_default().finishing += 1;
            }
        }
    }

    /// Ends the response of `exchange` after what it was handed, dropping what waits behind the
    /// bound: a resume took its stream, and the new connection gets those events by replay.
    fn finish_now(&mut self, fx: &mut Effects, exchange: ExchangeId) {
        let Some(body) = self.bodies.get_mut(&exchange) else {
            return;
        };
        body.drop_backlog();
        if body.finishing {
            self.drop_body(exchange);
            fx.push(Output::Finish { exchange });
        } else {
            self.finish(fx, exchange);
        }
    }

    /// Forgets a response body, and that its session had a connection finishing.
    fn drop_body(&mut self, exchange: ExchangeId) {
        let Some(body) = self.bodies.remove(&exchange) else {
            return;
        };
        if let (true, Some(session)) = (body.finishing, &body.session)
            && let Some(owned) = self.sessions.get_mut(session)
        {
            owned.finishing -= 1;
            if owned.all.is_empty() && owned.finishing == 0 {
                self.sessions.remove(session);
            }
        }
    }

    /// Answers a waiting `POST` with JSON: one object, or an array for a batch (S2.9, S5.5).
    fn respond_json(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        id: StreamId,
        status: StatusCode,
    ) {
        let Some(stream) = self.remove(id) else {
            return;
        };
        let Conn::Waiting(waiting) = &stream.conn else {
            return;
        };
        let ctx = waiting.ctx(stream.session.as_ref(), sessions);
        let body = match (stream.batch, stream.collected.as_slice()) {
            (false, [one]) => one.clone(),
            (_, all) => jsonrpc::encode_batch(all),
        };
        ctx.respond(fx, responses::json(status, body));
    }

    // ---- connections going and coming ----

    /// The connection of a stream went away.
    pub(crate) fn detach(&mut self, fx: &mut Effects, now: Instant, id: StreamId) -> Detached {
        let Some(stream) = self.streams.get_mut(&id) else {
            return Detached::Unknown;
        };
        if stream.carried {
            // Its owner keeps its events: the client resumes there, or wherever it lands.
            self.remove(id);
            let notice = Notice::StreamLost {
                stream: id,
                from: self.node,
            };
            fx.push(Output::Shared(Shared::ToNode {
                node: id.node(),
                notice,
            }));
            return Detached::Unknown;
        }
        match (&stream.role, &stream.conn) {
            (Role::HttpSse, _) => match stream.session.clone() {
                Some(session) => Detached::EndSession(session),
                None => Detached::Unknown,
            },
            (Role::Listen, _) => self.removed(id, false),
            // S3.15: closing a 2026-07-28 response stream cancels its request.
            (Role::Post, _) if stream.v2026 => self.removed(id, true),
            (_, Conn::Open(_)) if stream.resumable => {
                self.keep(fx, now, id, None);
                Detached::Kept
            }
            // Nothing to resume from: the answers have nowhere to go.
            _ => self.removed(id, false),
        }
    }

    fn removed(&mut self, id: StreamId, cancelled: bool) -> Detached {
        match self.remove(id) {
            Some(stream) => Detached::Removed { stream, cancelled },
            None => Detached::Unknown,
        }
    }

    /// Closes a stream's connection early so that its client polls (S2.31, S2.32).
    pub(crate) fn poll_close(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
    ) -> Result<(), SendError> {
        let stream = self.streams.get(&id).ok_or(SendError::NoStream)?;
        let version = stream
            .session
            .as_ref()
            .and_then(|s| sessions.get(s))
            .and_then(|s| s.version);
        if !stream.resumable || !version.is_some_and(|v| v.primes_streams()) {
            return Err(SendError::NotResumable);
        }
        self.upgrade(fx, sessions, now, id, true);
        self.cut(fx, now, id);
        Ok(())
    }

    /// Ends the connection of a resumable stream with a reconnection hint, keeping the stream
    /// for the client to resume (S2.32).
    pub(crate) fn cut(&mut self, fx: &mut Effects, now: Instant, id: StreamId) {
        let Some(Conn::Open(exchange)) = self.streams.get(&id).map(|s| &s.conn) else {
            return;
        };
        let exchange = *exchange;
        let hint = sse::encode_retry(self.reconnect_hint_ms);
        self.write(fx, now, exchange, hint);
        self.finish(fx, exchange);
        self.keep(fx, now, id, Some(exchange));
    }

    /// Replays the events of stream `last` names after it, then continues the stream on `ctx`'s
    /// exchange (S2.28, S2.29). Events of other streams are never replayed (S2.26).
    pub(crate) fn resume(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        ctx: Ctx,
        session: &SessionId,
        last: &str,
    ) -> Result<(), &'static str> {
        let event = EventId::parse(last)
            .ok_or("Bad Request: Last-Event-ID was not issued by this server")?;
        if event.epoch != self.epoch {
            return Err("Bad Request: Last-Event-ID is from an earlier server instance");
        }
        let frames = self.replay(now, event.stream, session, event.seq)?;
        let stream = self.streams.get_mut(&event.stream).expect("checked above");
        let exchange = ctx.exchange;
        stream.token_expires = ctx.token_expires;
        self.reconnect(fx, event.stream, Conn::Waiting(Waiting::new(ctx)));
        let stream = &self.streams[&event.stream];
        let (role, done) = (stream.role, stream.done);
        self.exchanges.insert(exchange, event.stream);
        self.upgrade(fx, sessions, now, event.stream, false);
        for frame in frames {
            self.write(fx, now, exchange, frame);
        }
        fx.stats.resumes += 1;
        if done {
            // Still resumable, should this connection break too.
            self.finish(fx, exchange);
            self.keep(fx, now, event.stream, Some(exchange));
        } else if role == Role::Standalone
            && let Some(owned) = self.sessions.get_mut(session)
        {
            owned.standalone = Some(event.stream);
        }
        Ok(())
    }

    /// The events of `session`'s stream `id` after `after`, for a client resuming it here or
    /// elsewhere; `Err`: the `400` to send.
    fn replay(
        &mut self,
        now: Instant,
        id: StreamId,
        session: &SessionId,
        after: u64,
    ) -> Result<Vec<Chunk>, &'static str> {
        let stream = self
            .streams
            .get(&id)
            .filter(|s| s.resumable && !s.carried && s.session.as_ref() == Some(session))
            .ok_or(
                "Bad Request: Last-Event-ID names no stream of this session (ended or expired)",
            )?;
        // A stream still waiting for its head has sent no event: the id was guessed, and its
        // request's answer belongs to the exchange that waits for it.
        if let Conn::Waiting(_) = stream.conn {
            return Err("Bad Request: Last-Event-ID names an event this server has not sent");
        }
        self.store
            .replay(now, id, after)
            .ok_or("Bad Request: the events after Last-Event-ID are no longer held")
    }

    /// Gives stream `id` the connection `conn` of a client that resumed it. Newest wins: the
    /// old connection ends, here or on the instance that carried it; what it had not been
    /// handed yet goes out once, by replay on the new one.
    fn reconnect(&mut self, fx: &mut Effects, id: StreamId, conn: Conn) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        let to = match conn {
            Conn::Elsewhere(node) => Some(node),
            _ => None,
        };
        match std::mem::replace(&mut stream.conn, conn) {
            Conn::Open(old) => self.finish_now(fx, old),
            Conn::Detached { flushing, .. } => {
                self.kept_live -= 1;
                if let Some(old) = flushing {
                    self.finish_now(fx, old);
                }
            }
            Conn::Elsewhere(node) if to != Some(node) => {
                let notice = Notice::StreamMoved { stream: id };
                fx.push(Output::Shared(Shared::ToNode { node, notice }));
            }
            Conn::Elsewhere(_) | Conn::Waiting(_) => {}
        }
    }

    // ---- across the instances of a cluster ----

    /// Another instance's client resumes `id` after event `after` there: the events after it,
    /// and whether the stream is over; from now on its events go to instance `node`. The
    /// connection this instance (or a third) had for it ends: the client moved on.
    pub(crate) fn hand_over(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        id: StreamId,
        session: &SessionId,
        after: u64,
        node: u32,
    ) -> Result<Handover, &'static str> {
        let frames = self.replay(now, id, session, after)?;
        let done = self.streams[&id].done;
        self.reconnect(fx, id, Conn::Elsewhere(node));
        if done {
            // Over: kept for replay here, should the client lose this connection too.
            self.keep(fx, now, id, None);
        }
        fx.stats.resumes += 1;
        Ok(Handover {
            frames: frames.into_iter().map(Chunk::into_bytes).collect(),
            done,
        })
    }

    /// Carries another instance's stream `id` on `ctx`'s exchange: what it handed over first,
    /// then what it forwards.
    pub(crate) fn carry(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        ctx: Ctx,
        (id, session): (StreamId, SessionId),
        handover: Handover,
    ) {
        let mut stream = Stream::taken_over(ctx, session, Role::Standalone);
        stream.carried = true;
        self.adopt(fx, sessions, now, id, stream);
        self.forwarded(fx, now, id, handover.frames, handover.done);
    }

    /// Starts `stream`, another instance's `id` resumed here, on its exchange: an older
    /// connection of it here ends (the newer wins); a standalone stream this instance owns now
    /// is its session's. Returns the exchange.
    fn adopt(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        id: StreamId,
        stream: Stream,
    ) -> ExchangeId {
        let exchange = stream
            .exchange()
            .expect("a stream taken over waits for its head");
        let session = stream
            .session
            .clone()
            .expect("a resumed stream has a session");
        let standalone = stream.role == Role::Standalone && !stream.carried;
        if let Some(old) = self.streams.insert(id, stream)
            && let Some(old) = old.exchange()
        {
            self.finish_now(fx, old);
        }
        let owned = self.sessions.entry(session).or_default();
        if let Err(at) = owned.all.binary_search(&id) {
            owned.all.insert(at, id);
        }
        if standalone {
            owned.standalone = Some(id);
        }
        self.exchanges.insert(exchange, id);
        self.upgrade(fx, sessions, now, id, false);
        exchange
    }

    /// Frames the owner of a stream this instance carries wrote on it; `done`: it is over.
    pub(crate) fn forwarded(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        id: StreamId,
        frames: Vec<Bytes>,
        done: bool,
    ) {
        let Some(exchange) = self
            .streams
            .get(&id)
            .filter(|s| s.carried)
            .and_then(Stream::open_exchange)
        else {
            return;
        };
        for frame in frames {
            self.write(fx, now, exchange, Chunk::from(frame));
        }
        if done {
            self.finish(fx, exchange);
            self.remove(id);
        }
    }

    /// Takes over `id`, whose owner is gone, from what the store kept of it, on `ctx`'s
    /// exchange: the events after `after` are replayed; the requests it owed and that were not
    /// answered are returned (their handlers died with their instance: the caller runs them
    /// again or [fails](Self::fail_owed) them, so the client hears of each once). A standalone
    /// stream goes on as this instance's. `Err`: the `400` to send (the events after `after` are
    /// not all kept).
    pub(crate) fn recover(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        ctx: Ctx,
        (id, session, after): (StreamId, SessionId, u64),
        recovery: Recovery,
    ) -> Result<Vec<jsonrpc::Id>, &'static str> {
        let mut events = recovery.events;
        events.sort_by_key(|(seq, _)| *seq);
        let missed: Vec<&(u64, Bytes)> = events.iter().filter(|(seq, _)| *seq > after).collect();
        let contiguous = missed
            .iter()
            .enumerate()
            .all(|(n, (seq, _))| *seq == after + 1 + n as u64);
        if !contiguous {
            return Err("Bad Request: the events after Last-Event-ID are no longer held");
        }
        let answered = answered_ids(events.iter().map(|(_, frame)| frame));
        let post = !recovery.meta.owed.is_empty();
        let owed: Vec<jsonrpc::Id> = recovery
            .meta
            .owed
            .into_iter()
            .filter(|id| !answered.contains(id))
            .collect();
        let last = events.last().map_or(0, |(seq, _)| *seq).max(after);
        let role = match post {
            true => Role::Post,
            false => Role::Standalone,
        };
        let mut stream = Stream::taken_over(ctx, session, role);
        stream.next_seq = last + 1;
        stream.progress_seen = progress_seen(events.iter().map(|(_, frame)| frame));
        let exchange = self.adopt(fx, sessions, now, id, stream);
        for (_, frame) in missed {
            self.write(fx, now, exchange, Chunk::from(frame.clone()));
        }
        fx.stats.resumes += 1;
        Ok(owed)
    }

    /// Answers each of `owed` on stream `id` with an error: its handler is gone with the
    /// instance that ran it. A `POST`'s stream with nothing left to answer ends.
    pub(crate) fn fail_owed(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        id: StreamId,
        owed: Vec<jsonrpc::Id>,
    ) {
        for request in owed {
            let error = jsonrpc::ErrorObject::new(
                jsonrpc::INTERNAL_ERROR,
                "The server instance handling this request stopped before answering it",
            );
            self.emit(fx, now, id, jsonrpc::encode_error(Some(&request), &error));
        }
        self.complete_if_answered(fx, now, id);
    }

    /// The client of a stream this instance carries resumed it elsewhere: the connection here
    /// ends, without what it had not been handed (it goes out there, by replay).
    pub(crate) fn moved_away(&mut self, fx: &mut Effects, id: StreamId) {
        let Some(stream) = self.streams.get(&id).filter(|s| s.carried) else {
            return;
        };
        if let Some(exchange) = stream.open_exchange() {
            self.finish_now(fx, exchange);
        }
        self.remove(id);
    }

    /// The instance carrying this instance's stream `id` lost its connection: the stream waits
    /// here for a resume, as any stream whose connection broke.
    pub(crate) fn lost(&mut self, fx: &mut Effects, now: Instant, id: StreamId, from: u32) {
        let elsewhere = self
            .streams
            .get(&id)
            .is_some_and(|s| matches!(s.conn, Conn::Elsewhere(node) if node == from));
        if elsewhere {
            self.keep(fx, now, id, None);
        }
    }

    // ---- ending ----

    /// Ends a stream: with a reconnection hint (shutdown, a newer stream replaces it; a waiting
    /// answer gets `503`), or without (its session is gone; a waiting answer gets `404`).
    /// Returns it, with the requests it still owed answers to.
    pub(crate) fn end(
        &mut self,
        fx: &mut Effects,
        now: Instant,
        id: StreamId,
        retry_hint: bool,
        waiting_for: Option<jsonrpc::Id>,
    ) -> Option<Stream> {
        let stream = self.streams.get(&id)?;
        match &stream.conn {
            Conn::Open(exchange) => {
                let exchange = *exchange;
                if retry_hint {
                    let hint = sse::encode_retry(self.reconnect_hint_ms);
                    self.write(fx, now, exchange, hint);
                }
                self.finish(fx, exchange);
            }
            Conn::Waiting(waiting) => {
                let ctx = Ctx {
                    exchange: waiting.exchange,
                    cors: waiting.cors.clone(),
                    session: None,
                    token_expires: None,
                };
                let id = waiting_for.as_ref();
                let response = if retry_hint {
                    responses::unavailable(Unavailable::ShuttingDown, self.retry_after_secs, id)
                } else {
                    responses::session_not_found(id)
                };
                ctx.respond(fx, response);
            }
            Conn::Detached { .. } => {}
            // The instance carrying it ends its connection too.
            Conn::Elsewhere(node) => fx.push(forward(*node, id, Vec::new(), true)),
        }
        self.remove(id)
    }

    /// Keeps a stream without a connection for a resume (S2.29): for `replay_age`, and while
    /// fewer than `max_kept` are kept (the oldest is forgotten first, and waits in
    /// [`take_dropped`](Self::take_dropped) with the requests it still owed answers to).
    fn keep(&mut self, fx: &mut Effects, now: Instant, id: StreamId, last: Option<ExchangeId>) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        if !matches!(stream.conn, Conn::Detached { .. }) {
            self.kept_live += 1;
        }
        let flushing = last.filter(|exchange| self.bodies.contains_key(exchange));
        stream.conn = Conn::Detached {
            since: now,
            flushing,
        };
        if self.kept.is_empty() {
            fx.timers
                .arm(now + self.replay_age, TimerKind::ReplayExpiry);
        }
        self.kept.push_back((now, id));
        if self.kept_live > self.max_kept
            && let Some(oldest) = self.forget_kept(|_| true)
        {
            self.dropped.push(oldest);
        }
        if self.kept.len() > 2 * self.kept_live + 64 {
            let streams = &self.streams;
            self.kept
                .retain(|(at, id)| is_kept_since(streams, *id, *at));
        }
    }

    /// Streams forgotten to keep within a bound, with the requests they still owed answers
    /// to: the caller forgets those after each input.
    pub(crate) fn take_dropped(&mut self) -> Vec<(StreamId, Stream)> {
        std::mem::take(&mut self.dropped)
    }

    /// Forgets the oldest stream kept for replay if `due` says its time has come.
    fn forget_kept(&mut self, due: impl Fn(Instant) -> bool) -> Option<(StreamId, Stream)> {
        while let Some(&(at, id)) = self.kept.front() {
            if !is_kept_since(&self.streams, id, at) {
                self.kept.pop_front();
                continue;
            }
            if !due(at) {
                return None;
            }
            self.kept.pop_front();
            return self.remove(id).map(|stream| (id, stream));
        }
        None
    }

    /// Forgets the streams kept for replay past `replay_age`, and returns them with the
    /// requests they still owed answers to.
    pub(crate) fn expire_kept(
        &mut self,
        fx: &mut Effects,
        now: Instant,
    ) -> Vec<(StreamId, Stream)> {
        let age = self.replay_age;
        let mut expired = Vec::new();
        while let Some(gone) = self.forget_kept(|at| at + age <= now) {
            expired.push(gone);
        }
        if let Some(&(at, _)) = self.kept.front() {
            fx.timers.arm(at + age, TimerKind::ReplayExpiry);
        }
        expired
    }

    /// Forgets a stream and its kept events; the caller forgets the requests it owed answers to.
    pub(crate) fn remove(&mut self, id: StreamId) -> Option<Stream> {
        let stream = self.streams.remove(&id)?;
        if matches!(stream.conn, Conn::Detached { .. }) {
            self.kept_live -= 1;
        }
        if let Some(exchange) = stream.exchange() {
            self.exchanges.remove(&exchange);
        }
        if stream.resumable {
            self.store.forget(id);
        }
        if let Some(session) = &stream.session
            && let Some(owned) = self.sessions.get_mut(session)
        {
            if let Ok(at) = owned.all.binary_search(&id) {
                owned.all.remove(at);
            }
            if owned.standalone == Some(id) {
                owned.standalone = None;
            }
            if owned.all.is_empty() && owned.finishing == 0 {
                self.sessions.remove(session);
            }
        }
        Some(stream)
    }

    /// Forgets an exchange whose client went away: its response body and the stream it
    /// carried, if any.
    pub(crate) fn disconnect(&mut self, exchange: ExchangeId) -> Option<StreamId> {
        self.drop_body(exchange);
        self.exchanges.remove(&exchange)
    }

    // ---- timers ----

    /// Writes a comment on a stream that has been idle for the keepalive interval (E5.1), or
    /// aborts it when its client has not taken any of its pending bytes for `stall_timeout`,
    /// and re-arms its timer for whichever comes next.
    pub(crate) fn tick(&mut self, fx: &mut Effects, now: Instant, exchange: ExchangeId) -> Tick {
        let Some(body) = self.bodies.get(&exchange) else {
            return Tick::Nothing;
        };
        let stalls_at = self
            .stall_timeout
            .filter(|_| body.queued() > 0)
            .map(|stall| body.progress + stall);
        if stalls_at.is_some_and(|at| at <= now) {
            self.drop_body(exchange);
            let stream = self.exchanges.remove(&exchange);
            fx.stats.stalled += 1;
            fx.push(Output::Abort { exchange });
            return Tick::Aborted(stream);
        }
        let carried = self.exchanges.get(&exchange).copied();
        let token_expires = carried.and_then(|id| self.streams.get(&id)?.token_expires);
        if let (Some(id), Some(at)) = (carried, token_expires)
            && at <= now
        {
            return Tick::TokenExpired(id);
        }
        let mut next = match (stalls_at, token_expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut tick = Tick::Nothing;
        if !body.finishing {
            let due = body.last_write + self.keepalive;
            // A reader that is not reading needs no keepalive, and must not be sent more.
            if due <= now && body.queued() < self.queue_bytes {
                fx.stats.keepalives += 1;
                let comment = sse::encode_comment("").expect("an empty comment is valid");
                self.write(fx, now, exchange, comment);
                tick = Tick::Wrote;
            }
            let due = if due <= now {
                now + self.keepalive
            } else {
                due
            };
            next = Some(next.map_or(due, |stall| stall.min(due)));
        }
        if let Some(at) = next {
            fx.timers.arm(at, TimerKind::Keepalive(exchange));
        }
        tick
    }

    /// A silent request's answer becomes an SSE stream so keepalives can flow.
    pub(crate) fn hold_expired(
        &mut self,
        fx: &mut Effects,
        sessions: &Sessions,
        now: Instant,
        exchange: ExchangeId,
    ) -> bool {
        let Some(&id) = self.exchanges.get(&exchange) else {
            return false;
        };
        let waiting = self
            .streams
            .get(&id)
            .is_some_and(|s| s.is_waiting() && !s.storing);
        if waiting {
            self.upgrade(fx, sessions, now, id, true);
        }
        waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SequentialIds, Transport};

    struct Bench {
        streams: Streams,
        fx: Effects,
        sessions: Sessions,
        now: Instant,
    }

    impl Bench {
        #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
        fn new(mode: ResponseMode) -> Self {
            let config = Config {
                response_mode: mode,
                ..Config::default()
            };
            Self {
                streams: Streams::new(&config, 7, 0),
                fx: Effects::default(),
                sessions: Sessions::new(&config, Box::new(SequentialIds::default())),
                now: Instant::now(),
            }
        }

        fn open(&mut self, exchange: u64, opening: Opening) -> StreamId {
            let ctx = Ctx {
                exchange: ExchangeId(exchange),
                cors: CorsHeaders::default(),
                session: None,
                token_expires: None,
            };
            let (fx, sessions) = (&mut self.fx, &self.sessions);
            self.streams.open(fx, sessions, self.now, ctx, opening)
        }

        fn answer(&mut self, id: StreamId, key: u64, body: &'static str) {
            let answer = Answer {
                key: RequestKey(key),
                body: Bytes::from_static(body.as_bytes()),
                status: StatusCode::OK,
            };
            let (fx, sessions) = (&mut self.fx, &self.sessions);
            self.streams.answer(fx, sessions, self.now, id, answer);
        }

        /// The outputs so far, as short names.
        fn outputs(&mut self) -> Vec<String> {
            self.fx
                .outputs
                .drain(..)
                .map(|output| match output {
                    Output::Respond { response, .. } => format!("respond {}", response.status()),
                    Output::StartStream { .. } => "head".into(),
                    Output::Data { chunk, .. } => {
                        let text = String::from_utf8(chunk.into_bytes().to_vec()).unwrap();
                        format!("data {}", text.trim_end())
                    }
                    Output::Finish { .. } => "finish".into(),
                    Output::Abort { .. } => "abort".into(),
                    Output::Event(_) => "event".into(),
                    Output::Shared(_) => "shared".into(),
                })
                .collect()
        }
    }

    #[test]
    fn an_answer_that_comes_first_goes_out_as_json_s2_9() {
        let mut bench = Bench::new(ResponseMode::Auto);
        let id = bench.open(1, Opening::new(None, Role::Post));
        bench.streams.owe(id, RequestKey(1));
        bench.answer(id, 1, "{}");
        assert_eq!(bench.outputs(), ["respond 200 OK"]);
        assert_eq!(
            (bench.streams.len(), bench.streams.exchange_count()),
            (0, 0)
        );
    }

    #[test]
    fn a_message_before_the_answer_turns_it_into_a_stream_s2_13() {
        let mut bench = Bench::new(ResponseMode::Auto);
        let id = bench.open(1, Opening::new(None, Role::Post));
        bench.streams.owe(id, RequestKey(1));
        let (fx, sessions, now) = (&mut bench.fx, &bench.sessions, bench.now);
        let progress = Bytes::from_static(b"{\"method\":\"p\"}");
        bench
            .streams
            .push_message(fx, sessions, now, id, progress)
            .unwrap();
        bench.answer(id, 1, "{}");
        assert_eq!(
            bench.outputs(),
            [
                "head",
                "data event: message\ndata: {\"method\":\"p\"}",
                "data event: message\ndata: {}",
                "finish"
            ]
        );
        assert_eq!(bench.streams.len(), 0);
    }

    #[test]
    fn a_resumable_stream_outlives_its_connection_and_replays_what_came_after_s2_29() {
        let mut bench = Bench::new(ResponseMode::Auto);
        let session = bench.sessions.mint(bench.now, Transport::Streamable, None);
        let mut opening = Opening::new(Some(session.clone()), Role::Standalone);
        opening.resumable = true;
        let id = bench.open(1, opening);
        assert_eq!(bench.streams.standalone_of(&session), Some(id));
        for message in ["{\"n\":1}", "{\"n\":2}"] {
            let fx = &mut bench.fx;
            bench
                .streams
                .emit(fx, bench.now, id, Bytes::from_static(message.as_bytes()));
        }
        bench.outputs();
        assert_eq!(bench.streams.disconnect(ExchangeId(1)), Some(id));
        assert!(matches!(
            bench.streams.detach(&mut bench.fx, bench.now, id),
            Detached::Kept
        ));
        assert!(!bench.streams.has_connection(&session));
        let ctx = Ctx {
            exchange: ExchangeId(2),
            cors: CorsHeaders::default(),
            session: None,
            token_expires: None,
        };
        let (fx, sessions, now) = (&mut bench.fx, &bench.sessions, bench.now);
        let last = format!("{:08x}-{}-1", 7, id.0);
        bench
            .streams
            .resume(fx, sessions, now, ctx, &session, &last)
            .unwrap();
        assert_eq!(
            bench.outputs(),
            [
                "head",
                &format!(
                    "data event: message\nid: 00000007-{}-2\ndata: {{\"n\":2}}",
                    id.0
                )
            ]
        );
        let ctx = Ctx {
            exchange: ExchangeId(3),
            cors: CorsHeaders::default(),
            session: None,
            token_expires: None,
        };
        let (fx, sessions, now) = (&mut bench.fx, &bench.sessions, bench.now);
        let refused = bench
            .streams
            .resume(fx, sessions, now, ctx, &session, "00000008-0-1");
        assert!(refused.unwrap_err().contains("earlier server instance"));
    }

    #[test]
    fn ending_an_unanswered_stream_answers_503_with_a_hint_or_404_without() {
        let mut bench = Bench::new(ResponseMode::Auto);
        let shutdown = bench.open(1, Opening::new(None, Role::Post));
        let gone = bench.open(2, Opening::new(None, Role::Post));
        bench.streams.owe(gone, RequestKey(9));
        assert!(
            bench
                .streams
                .end(&mut bench.fx, bench.now, shutdown, true, None)
                .is_some()
        );
        let ended = bench
            .streams
            .end(&mut bench.fx, bench.now, gone, false, None)
            .unwrap();
        assert_eq!(
            ended.keys,
            [RequestKey(9)],
            "the caller forgets what it owed"
        );
        assert_eq!(
            bench.outputs(),
            ["respond 503 Service Unavailable", "respond 404 Not Found"]
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn a_body_hands_out_at_most_the_bound_plus_one_frame_and_keeps_the_rest_in_order() {
        let now = Instant::now();
        let mut body = SseBody::new(now, None);
        let frame = |n: usize| Chunk::from(Bytes::from(vec![b'x'; n]));
        assert!(body.write(now, 10, frame(8)).is_some());
        assert!(
            body.write(now, 10, frame(8)).is_some(),
            "under the bound: out"
        );
        assert!(
            body.write(now, 10, frame(3)).is_none(),
            "at the bound: waits"
        );
        assert!(
            body.write(now, 10, frame(4)).is_none(),
            "behind a backlog: waits"
        );
        assert_eq!((body.unconsumed, body.queued()), (16, 23));
        let out: Vec<usize> = body.credit(now, 7, 10).map(|c| c.len()).collect();
        assert_eq!(out, [3], "in order, while there is room");
        let out: Vec<usize> = body.credit(now, 6, 10).map(|c| c.len()).collect();
        assert_eq!(out, [4]);
        assert_eq!(body.queued(), 10);
        assert_eq!(body.credit(now, 100, 10).count(), 0);
        assert_eq!(body.queued(), 0, "credit never goes below zero");
    }
}
