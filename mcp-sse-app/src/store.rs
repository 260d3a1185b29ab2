//! [`SharedStore`]: what carries the core's shared-state operations to the store the
//! instances of a cluster share, and brings back what other instances say.

use std::future::Future;
use std::pin::Pin;

use mcp_sse_core::{Answer, Notice, Shared, Ticket};

/// A future a store returns.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The store several server instances share (`mcp-sse-redis` implements it on Redis).
///
/// The driver hands it every [`Shared`] operation the core emits, each in a task of its own so
/// no exchange waits for another's, and feeds the answer back to the core. One task reads
/// [`next_notice`](Self::next_notice) for as long as the server runs.
pub trait SharedStore: Send + Sync + std::fmt::Debug + 'static {
    /// Performs `op`. For an operation with a [`Ticket`] it resolves to that ticket and the
    /// answer, [`Answer::Failed`] when the store cannot be reached within the store's own bound
    /// (it must always resolve); for one without, to `None` once done or given up.
    fn perform(&self, op: Shared) -> StoreFuture<Option<(Ticket, Answer)>>;

    /// The next notice another instance sent this one (the store keeps its subscriptions alive
    /// across reconnections); `None` once the store is closed for good.
    fn next_notice(&self) -> StoreFuture<Option<Notice>>;
}
