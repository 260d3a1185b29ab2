//! Two ways to race futures, for timeouts and shutdown signals.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// `task`'s output, or `None` if `deadline` resolves first.
pub(super) async fn within<T>(
    deadline: impl Future<Output = ()>,
    task: impl Future<Output = T>,
) -> Option<T> {
    let (mut deadline, mut task) = (pin!(deadline), pin!(task));
    poll_fn(|cx| match task.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => deadline.as_mut().poll(cx).map(|()| None),
    })
    .await
}

/// Resolves when the first of `a` and `b` does.
pub(super) async fn first(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    poll_fn(|cx| match a.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(()),
        Poll::Pending => b.as_mut().poll(cx),
    })
    .await;
}
