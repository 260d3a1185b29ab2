//! The store the instances of an mcp-sse cluster share, on Redis: an implementation of
//! [`mcp_sse_app::SharedStore`] with [redis-rs](https://docs.rs/redis), on tokio or on smol.
//!
//! # What it keeps, and where
//!
//! Every key starts with [`Options::prefix`] (`mcp:` by default, written `{p}` below), so several
//! clusters can share one Redis.
//!
//! | key or channel | what | written by |
//! |---|---|---|
//! | `{p}epoch` | the cluster's epoch, a random `u32` set once (`SET NX`) | [`RedisStore::connect`] |
//! | `{p}node` | a counter handing out node numbers (`INCR`, kept to 24 bits) | [`RedisStore::connect`] |
//! | `{p}s:<session>` | a session's record ([`SessionRecord::encode`]), with a TTL | `SaveSession`, `TouchSession`, `EndSession` |
//! | channel `{p}c:<session>` | messages for the instance holding the session's stream | `Relay`, `Deliver`; subscribed by `Hold` |
//! | channel `{p}all` | what every instance hears: ended sessions, published changes, client answers no instance here claimed | `EndSession`, `Publish`, `Unclaimed` |
//!
//! A message on a channel is the sender's node number, `:`, and the notice as the core encodes
//! it ([`Notice::encode`]): the store moves the core's bytes and reads only the node number, to
//! skip its own broadcasts on `{p}all` (Redis hands a subscriber its own `PUBLISH`es too).
//!
//! # Bounds and failures
//!
//! - **Every operation has a deadline**, [`Options::timeout`] (2 s). An operation with a
//!   [`Ticket`] always resolves: to [`Answer::Failed`] when Redis failed or did not answer in
//!   time, with a `warn!` saying why. One without resolves to `None` either way.
//! - **Commands** go through redis-rs's `ConnectionManager`, which reconnects by itself (its
//!   retries back off from [`Options::reconnect_min`] to [`Options::reconnect_max`]).
//! - **Pub/sub** has a connection of its own. When it drops, a task reconnects (the same backoff,
//!   for as long as the store lives) and subscribes `{p}all` and every session channel this
//!   instance holds again, so [`next_notice`](SharedStore::next_notice) goes on across a Redis
//!   restart. Messages published while it was down are lost (Redis pub/sub keeps nothing): a
//!   `Relay` meanwhile answers `Relayed(false)`, which its sender sees.
//! - **Notices wait in a bounded queue**, [`Options::notice_queue`] (65,536) between that task
//!   and `next_notice`. When it is full the new notice is dropped, counted in
//!   [`RedisStore::dropped_notices`] and logged (at the 1st, 2nd, 4th, 8th... drop), so a
//!   stalled reader costs bounded memory and Redis never disconnects this instance for a full
//!   output buffer.
//!
//! # Runtimes
//!
//! Feature `tokio` (the default) or `smol` picks the runtime redis-rs drives its sockets on. The
//! store's own task and timers run on the [`Runtime`] given to [`RedisStore::connect`] (an
//! adapter's: `mcp_sse_tokio::Tokio`, `mcp_sse_smol::Smol`), so nothing here names a runtime.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use mcp_sse_redis::{Options, RedisStore};
//!
//! # async fn run() -> Result<(), mcp_sse_redis::Error> {
//! let runtime = Arc::new(mcp_sse_tokio::Tokio::current());
//! let (store, cluster) =
//!     RedisStore::connect("redis://127.0.0.1:6379/", Options::default(), runtime).await?;
//! println!("node {} of the cluster of epoch {}", cluster.node, cluster.epoch);
//! # let _ = store;
//! # Ok(())
//! # }
//! ```
//!
//! `cluster` goes in the server's configuration and `store` to the driver, which hands it every
//! [`Shared`] operation of the core and reads its notices.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "tokio", feature = "smol")))]
compile_error!("mcp-sse-redis needs a runtime for redis-rs: enable feature `tokio` or `smol`");

mod bus;
mod options;
mod wire;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mcp_sse_app::{Runtime, ServeConfig, SharedStore, StoreFuture};
use mcp_sse_core::{
    Answer, CloseReason, Cluster, Notice, Recovery, SessionId, SessionRecord, Shared, StreamId,
    StreamMeta, Ticket,
};
use redis::Cmd;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tracing::{debug, warn};

use crate::bus::Bus;
use crate::options::within;
use crate::wire::{Keys, frame};

pub use crate::options::{Error, Options};

/// The shared store on Redis. Cheap to clone; the connections close when the last clone is
/// dropped.
///
/// Getters: [`node`](Self::node), [`dropped_notices`](Self::dropped_notices). Everything else
/// goes through [`SharedStore`].
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    commands: ConnectionManager,
    keys: Arc<Keys>,
    node: u32,
    timeout: Duration,
    runtime: Arc<dyn Runtime>,
    bus: Arc<Bus>,
    notices: async_channel::Receiver<Notice>,
    max_events: usize,
    heartbeat: Duration,
    /// Dropped with the store: ends the pub/sub task.
    _stop: futures_channel::oneshot::Sender<()>,
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`), joins the
    /// cluster kept there and subscribes to its broadcasts. Returns the store and this
    /// instance's place in the cluster: the epoch every instance on this Redis shares (set by
    /// the first one), and a node number no other running instance has.
    ///
    /// The pub/sub task runs on `runtime` for as long as the store lives.
    pub async fn connect(
        url: &str,
        options: Options,
        runtime: Arc<dyn Runtime>,
    ) -> Result<(Self, Cluster), Error> {
        let client = redis::Client::open(url)?;
        let timeout = options.timeout;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_min_delay(options.reconnect_min)
            .set_max_delay(options.reconnect_max);
        let mut commands = within(&*runtime, timeout, async {
            Ok(ConnectionManager::new_with_config(client.clone(), config).await?)
        })
        .await?;
        let keys = Arc::new(Keys::new(options.prefix.clone()));
        let (epoch, node) = within(&*runtime, timeout, join(&mut commands, &keys)).await?;

        let (sender, notices) = async_channel::bounded(options.notice_queue.max(1));
        let bus = Arc::new(Bus::new(
            client,
            keys.clone(),
            node,
            &options,
            runtime.clone(),
            sender,
        ));
        let stream = bus.subscribe_all().await?;
        let (stop, stopped) = futures_channel::oneshot::channel();
        runtime.spawn(Box::pin(bus.clone().run(stream, stopped)));
        let inner = Inner {
            commands,
            keys,
            node,
            timeout,
            runtime,
            bus,
            notices,
            max_events: options.max_events_per_stream.max(1),
            heartbeat: options.heartbeat,
            _stop: stop,
        };
        let store = Self {
            inner: Arc::new(inner),
        };
        store.beat().await?;
        let heartbeat = heartbeat(Arc::downgrade(&store.inner), options.heartbeat);
        store.inner.runtime.spawn(Box::pin(heartbeat));
        Ok((store, Cluster::new(node, epoch)))
    }

    /// Connects as [`connect`](Self::connect) does, and makes `config` one instance of the
    /// cluster kept there: its server's `cluster` and its `store` are set.
    pub async fn join(
        url: &str,
        options: Options,
        runtime: Arc<dyn Runtime>,
        config: &mut ServeConfig,
    ) -> Result<Self, Error> {
        let (store, cluster) = Self::connect(url, options, runtime).await?;
        tracing::info!(
            node = cluster.node,
            epoch = cluster.epoch,
            "joined the cluster kept in Redis"
        );
        config.server.cluster = Some(cluster);
        config.store = Some(Arc::new(store.clone()));
        Ok(store)
    }

    // ---- getters ----

    /// This instance's node number.
    pub fn node(&self) -> u32 {
        self.inner.node
    }

    /// Notices dropped because [`Options::notice_queue`] was full.
    pub fn dropped_notices(&self) -> u64 {
        self.inner.bus.dropped()
    }

    // ---- operations ----

    async fn perform(self, op: Shared) -> Option<(Ticket, Answer)> {
        match op {
            Shared::SaveSession {
                ticket,
                record,
                ttl,
            } => Some((
                ticket,
                self.answer("save a session", self.save(record, ttl)).await,
            )),
            Shared::LoadSession { ticket, session } => Some((
                ticket,
                self.answer("load a session", self.load(session)).await,
            )),
            Shared::Relay {
                ticket,
                session,
                message,
            } => {
                let channel = self.inner.keys.channel(&session);
                let relayed = Notice::Relayed { session, message };
                let relay = self.publish(channel, relayed, Again::Never);
                let relay = async { Ok(Answer::Relayed(relay.await? > 0)) };
                Some((ticket, self.answer("relay a message", relay).await))
            }
            Shared::TouchSession { session, ttl } => {
                self.settle("touch a session", self.touch(session, ttl))
                    .await
            }
            Shared::EndSession {
                ticket: Some(ticket),
                session,
                reason,
            } => {
                let end = async { self.end(session, reason).await.map(|()| Answer::Done) };
                Some((ticket, self.answer("end a session", end).await))
            }
            Shared::EndSession {
                ticket: None,
                session,
                reason,
            } => {
                self.settle("end a session", self.end(session, reason))
                    .await
            }
            Shared::Hold { session } => {
                let hold = self.inner.bus.hold(self.inner.keys.channel(&session));
                self.settle("hold a session's stream", hold).await
            }
            Shared::Release { session } => {
                let release = self.inner.bus.release(self.inner.keys.channel(&session));
                self.settle("release a session's stream", release).await
            }
            Shared::TakeStream { session, from } => {
                let channel = self.inner.keys.channel(&session);
                let taken = Notice::StreamTaken { session, from };
                let take = self.publish(channel, taken, Again::Harmless);
                self.settle("take a session's stream", take).await
            }
            Shared::Deliver { session, message } => {
                let channel = self.inner.keys.channel(&session);
                let notice = Notice::Deliver { session, message };
                let deliver = self.publish(channel, notice, Again::Never);
                self.settle("deliver a message", deliver).await
            }
            Shared::Publish(change) => {
                let all = self.inner.keys.all.clone();
                let publish = self.publish(all, Notice::Published(change), Again::Harmless);
                self.settle("publish a change", publish).await
            }
            Shared::Unclaimed { session, message } => {
                let all = self.inner.keys.all.clone();
                let response = Notice::Response { session, message };
                let unclaimed = self.publish(all, response, Again::Never);
                self.settle("pass on a client's answer", unclaimed).await
            }
            Shared::ToNode { node, notice } => {
                let channel = self.inner.keys.node_channel(node);
                let tell = self.publish(channel, notice, Again::Never);
                self.settle("tell another instance", tell).await
            }
            Shared::Append {
                stream,
                seq,
                frame,
                ttl,
            } => {
                let append = self.append(stream, seq, frame, ttl);
                self.settle("keep an event", append).await
            }
            Shared::StreamOpened { stream, meta, ttl } => {
                let mut set = redis::cmd("SET");
                set.arg(self.inner.keys.meta(stream))
                    .arg(meta.encode())
                    .arg("PX")
                    .arg(millis(ttl));
                let keep = self.run::<()>(&set, Again::Harmless);
                self.settle("keep a stream's meta", keep).await
            }
            Shared::Recover { ticket, stream } => Some((
                ticket,
                self.answer("recover a stream", self.recover(stream)).await,
            )),
            other => {
                warn!("redis store: an operation this version does not know; ignored");
                other.ticket().map(|ticket| (ticket, Answer::Failed))
            }
        }
    }

    /// `work`'s answer within the deadline, or [`Answer::Failed`] and a warning saying why.
    async fn answer(
        &self,
        what: &str,
        work: impl Future<Output = Result<Answer, Error>>,
    ) -> Answer {
        match within(&*self.inner.runtime, self.inner.timeout, work).await {
            Ok(answer) => answer,
            Err(error) => {
                warn!(%error, "redis store: could not {what}; answering Failed");
                Answer::Failed
            }
        }
    }

    /// Runs `work` within the deadline; a failure is logged, there is no one to tell.
    async fn settle<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Option<(Ticket, Answer)> {
        if let Err(error) = within(&*self.inner.runtime, self.inner.timeout, work).await {
            warn!(%error, "redis store: could not {what}");
        }
        None
    }

    async fn save(&self, record: SessionRecord, ttl: Duration) -> Result<Answer, Error> {
        let key = self.inner.keys.session(&record.session);
        let mut set = redis::cmd("SET");
        set.arg(key).arg(record.encode()).arg("PX").arg(millis(ttl));
        self.run::<()>(&set, Again::Harmless).await?;
        Ok(Answer::Done)
    }

    async fn load(&self, session: SessionId) -> Result<Answer, Error> {
        let mut get = redis::cmd("GET");
        get.arg(self.inner.keys.session(&session));
        let bytes: Option<Vec<u8>> = self.run(&get, Again::Harmless).await?;
        let record = bytes.and_then(|bytes| {
            let record = SessionRecord::decode(session, &bytes);
            if record.is_none() {
                warn!("redis store: a session record this server did not write; taken as absent");
            }
            record
        });
        Ok(Answer::Found(record))
    }

    async fn touch(&self, session: SessionId, ttl: Duration) -> Result<(), Error> {
        let key = self.inner.keys.session(&session);
        let mut pexpire = redis::cmd("PEXPIRE");
        pexpire.arg(key).arg(millis(ttl));
        self.run::<()>(&pexpire, Again::Harmless).await
    }

    /// Deletes the session, then tells every instance.
    async fn end(&self, session: SessionId, reason: CloseReason) -> Result<(), Error> {
        let mut del = redis::cmd("DEL");
        del.arg(self.inner.keys.session(&session));
        self.run::<()>(&del, Again::Harmless).await?;
        let all = self.inner.keys.all.clone();
        let ended = Notice::SessionEnded { session, reason };
        self.publish(all, ended, Again::Harmless).await?;
        Ok(())
    }

    /// Keeps event `seq` of `stream` (the newest `max_events_per_stream`), and the stream's meta
    /// as long as its events.
    async fn append(
        &self,
        stream: StreamId,
        seq: u64,
        frame: Bytes,
        ttl: Duration,
    ) -> Result<(), Error> {
        let keys = &self.inner.keys;
        let (events, meta) = (keys.events(stream), keys.meta(stream));
        let keep = self.inner.max_events as i64;
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(&events)
            .arg(seq)
            .arg(&frame[..])
            .ignore();
        pipe.cmd("ZREMRANGEBYRANK")
            .arg(&events)
            .arg(0)
            .arg(-keep - 1)
            .ignore();
        pipe.cmd("PEXPIRE").arg(&events).arg(millis(ttl)).ignore();
        pipe.cmd("PEXPIRE").arg(&meta).arg(millis(ttl)).ignore();
        pipe.query_async::<()>(&mut self.inner.commands.clone())
            .await?;
        Ok(())
    }

    /// What is kept of a stream whose instance is gone: `Failed` while that instance's
    /// heartbeat says it is alive (it is only slow: the client tries again).
    async fn recover(&self, stream: StreamId) -> Result<Answer, Error> {
        let keys = &self.inner.keys;
        let mut exists = redis::cmd("EXISTS");
        exists.arg(keys.alive(stream.node()));
        if self.run::<bool>(&exists, Again::Harmless).await? {
            debug!(
                node = stream.node(),
                "redis store: the stream's owner is alive; not recovered"
            );
            return Ok(Answer::Failed);
        }
        let mut get = redis::cmd("GET");
        get.arg(keys.meta(stream));
        let meta: Option<Vec<u8>> = self.run(&get, Again::Harmless).await?;
        let Some(meta) = meta.as_deref().and_then(StreamMeta::decode) else {
            return Ok(Answer::Recovered(None));
        };
        let mut range = redis::cmd("ZRANGE");
        range
            .arg(keys.events(stream))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES");
        let events: Vec<(Vec<u8>, u64)> = self.run(&range, Again::Harmless).await?;
        let events = events
            .into_iter()
            .map(|(frame, seq)| (seq, Bytes::from(frame)))
            .collect();
        Ok(Answer::Recovered(Some(Recovery::new(meta, events))))
    }

    /// Publishes `notice` on `channel`; how many instances received it.
    async fn publish(&self, channel: String, notice: Notice, again: Again) -> Result<u64, Error> {
        let bytes = notice.encode().ok_or(Error::NotJson)?;
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(channel).arg(frame(self.inner.node, &bytes));
        self.run(&publish, again).await
    }

    /// Runs `command` on the shared connection; once more at once if it failed because the
    /// connection dropped (the manager is reconnecting by then) and repeating it is harmless.
    /// Both tries are within the operation's one deadline.
    async fn run<T: redis::FromRedisValue>(&self, command: &Cmd, again: Again) -> Result<T, Error> {
        match command.query_async(&mut self.inner.commands.clone()).await {
            Err(error) if again == Again::Harmless && error.is_unrecoverable_error() => {
                debug!(%error, "redis store: the connection dropped; trying once more");
                Ok(command
                    .query_async(&mut self.inner.commands.clone())
                    .await?)
            }
            result => Ok(result?),
        }
    }
}

/// Whether a command may run twice: not a client's message, which must arrive at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Again {
    Harmless,
    Never,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.keys.prefix())
            .field("node", &self.inner.node)
            .finish_non_exhaustive()
    }
}

impl SharedStore for RedisStore {
    fn perform(&self, op: Shared) -> StoreFuture<Option<(Ticket, Answer)>> {
        Box::pin(self.clone().perform(op))
    }

    fn next_notice(&self) -> StoreFuture<Option<Notice>> {
        let notices = self.inner.notices.clone();
        Box::pin(async move { notices.recv().await.ok() })
    }
}

impl RedisStore {
    /// Says this instance is alive for three heartbeats.
    async fn beat(&self) -> Result<(), Error> {
        let mut set = redis::cmd("SET");
        set.arg(self.inner.keys.alive(self.inner.node))
            .arg(1)
            .arg("PX")
            .arg(millis(self.inner.heartbeat * 3));
        within(
            &*self.inner.runtime,
            self.inner.timeout,
            self.run::<()>(&set, Again::Harmless),
        )
        .await
    }
}

/// Renews this instance's liveness every `every` while the store lives. A beat that fails is
/// logged; three in a row and other instances take this one's streams over.
async fn heartbeat(store: std::sync::Weak<Inner>, every: Duration) {
    loop {
        let Some(inner) = store.upgrade() else {
            return;
        };
        let runtime = inner.runtime.clone();
        if let Err(error) = (RedisStore { inner }).beat().await {
            warn!(%error, "redis store: heartbeat failed");
        }
        runtime.sleep_until(runtime.now() + every).await;
    }
}

/// The cluster's epoch (the first instance sets it) and a node number for this instance.
async fn join(commands: &mut ConnectionManager, keys: &Keys) -> Result<(u32, u32), Error> {
    let candidate = getrandom::u32().unwrap_or_else(|_| clock_bits());
    let _: Option<String> = redis::cmd("SET")
        .arg(keys.epoch())
        .arg(candidate)
        .arg("NX")
        .query_async(commands)
        .await?;
    let epoch: Option<u32> = redis::cmd("GET")
        .arg(keys.epoch())
        .query_async(commands)
        .await?;
    let node: u64 = redis::cmd("INCR")
        .arg(keys.node())
        .query_async(commands)
        .await?;
    Ok((epoch.ok_or(Error::NoEpoch)?, (node & 0x00ff_ffff) as u32))
}

/// Some bits that differ between runs, should the OS have no randomness to give.
fn clock_bits() -> u32 {
    let since = std::time::UNIX_EPOCH.elapsed().unwrap_or_default();
    since.subsec_nanos() ^ since.as_secs() as u32
}

/// A TTL in Redis's milliseconds; at least 1, as Redis refuses 0.
fn millis(ttl: Duration) -> u64 {
    ttl.as_millis().clamp(1, u64::MAX as u128) as u64
}
