//! [`Smol`]: where the driver, the handlers and the connections run.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use mcp_sse_app::{BoxFuture, Runtime};
use smol::{Executor, Timer};

/// smol's executor and `async-io`'s timer, for the driver, the handlers, and hyper's HTTP/2
/// streams.
#[derive(Clone, Debug, Default)]
pub struct Smol {
    /// `None`: smol's global executor (`smol::spawn`; `SMOL_THREADS` threads).
    executor: Option<Arc<Executor<'static>>>,
}

impl Smol {
    /// Tasks go to `executor`, which the caller runs (e.g. `executor.run(…)` on its threads).
    pub fn with_executor(executor: Arc<Executor<'static>>) -> Self {
        Self {
            executor: Some(executor),
        }
    }
}

impl Runtime for Smol {
    fn spawn(&self, task: BoxFuture) {
        match &self.executor {
            Some(executor) => executor.spawn(task).detach(),
            None => smol::spawn(task).detach(),
        }
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        Box::pin(async move {
            Timer::at(deadline).await;
        })
    }
}

impl<F> hyper::rt::Executor<F> for Smol
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        Runtime::spawn(
            self,
            Box::pin(async move {
                future.await;
            }),
        );
    }
}
