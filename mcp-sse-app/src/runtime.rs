//! [`Runtime`]: what the driver needs of an async runtime.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A boxed, sendable future with no output: a task to run, or a timer to wait on.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What an adapter provides of its runtime to the driver: spawning, a timer and the clock.
/// Channels come from runtime-agnostic crates and cancellation from
/// [`futures_util::future::Abortable`], so this is all the driver needs.
///
/// The driver reads the time only through [`now`](Self::now), so a runtime with a clock of its
/// own (a test's manual one) drives it in that time.
pub trait Runtime: Send + Sync + 'static {
    /// Runs `task` in the background until it completes; nothing waits for it.
    fn spawn(&self, task: BoxFuture);

    /// A future that resolves at `deadline` or later (never much earlier: an early wake-up
    /// only costs the timer task a turn, the core checks the clock itself).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture;

    /// The current instant, on the clock `sleep_until` waits by.
    fn now(&self) -> Instant;
}
