//! What bounds the store ([`Options`]), what can go wrong connecting ([`Error`]), and the
//! deadline every operation has.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use mcp_sse_app::Runtime;

/// How the store talks to Redis.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The start of every key and channel name. Default `mcp:`.
    pub prefix: String,
    /// How long any one operation (and connecting) may take. Default 2 s; past it, an
    /// operation with a ticket answers [`Answer::Failed`](mcp_sse_core::Answer::Failed).
    pub timeout: Duration,
    /// Notices received and not yet taken by `next_notice`. Default 65,536 (at least 1); beyond
    /// it new notices are dropped and counted.
    pub notice_queue: usize,
    /// The first wait before reconnecting, doubled on each failure. Default 100 ms.
    pub reconnect_min: Duration,
    /// The longest wait between reconnection attempts. Default 2 s.
    pub reconnect_max: Duration,
    /// How often this instance says it is alive. Default 500 ms; it counts as gone 3 beats after
    /// its last one, and only then may another instance take its streams over.
    pub heartbeat: Duration,
    /// Events kept per stream for another instance to take it over (the newest). Default
    /// 4,096; older ones go, and a `Last-Event-ID` before them cannot be resumed elsewhere.
    pub max_events_per_stream: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            prefix: "mcp:".into(),
            timeout: Duration::from_secs(2),
            notice_queue: 65_536,
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            heartbeat: Duration::from_millis(500),
            max_events_per_stream: 4096,
        }
    }
}

/// Why [`RedisStore::connect`](crate::RedisStore::connect), or an operation, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL was refused, or Redis refused or failed a command.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The epoch key was gone right after it was set (something else deleted it).
    #[error("the cluster's epoch key vanished while it was read")]
    NoEpoch,
    /// A message to carry was not JSON (the core sends only JSON-RPC messages it checked).
    #[error("a message that is not JSON cannot travel")]
    NotJson,
}

/// `fut`, or [`Error::Timeout`] once `timeout` has passed on `runtime`'s clock.
pub(crate) async fn within<T>(
    runtime: &dyn Runtime,
    timeout: Duration,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let deadline = runtime.sleep_until(runtime.now() + timeout);
    match select(pin!(fut), deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(Error::Timeout(timeout)),
    }
}
