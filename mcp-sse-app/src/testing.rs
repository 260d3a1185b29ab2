//! A [`Runtime`] for unit tests: a manual clock, and tasks polled by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::runtime::{BoxFuture, Runtime};

/// Clones share one clock and one task list.
#[derive(Clone, Default)]
pub(crate) struct FakeRuntime(Arc<Shared>);

#[derive(Default)]
struct Shared {
    /// Time since the runtime was made.
    elapsed: Mutex<Duration>,
    start: Mutex<Option<Instant>>,
    tasks: Mutex<Vec<Arc<Task>>>,
    sleepers: Mutex<Vec<(Instant, Waker)>>,
    /// Every deadline a sleep was asked for, in order.
    sleeps: Mutex<Vec<Instant>>,
}

struct Task {
    future: Mutex<Option<BoxFuture>>,
    woken: AtomicBool,
    polls: AtomicUsize,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
    }
}

impl Runtime for FakeRuntime {
    fn spawn(&self, task: BoxFuture) {
        self.0.tasks.lock().unwrap().push(Arc::new(Task {
            future: Mutex::new(Some(task)),
            woken: AtomicBool::new(true),
            polls: AtomicUsize::new(0),
        }));
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        self.0.sleeps.lock().unwrap().push(deadline);
        Box::pin(Sleep {
            deadline,
            runtime: self.clone(),
        })
    }

    fn now(&self) -> Instant {
        self.start() + *self.0.elapsed.lock().unwrap()
    }
}

impl FakeRuntime {
    /// The instant the clock started at.
    pub(crate) fn start(&self) -> Instant {
        *self
            .0
            .start
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now)
    }

    /// Polls every woken task until none is woken.
    pub(crate) fn run(&self) {
        for _ in 0..10_000 {
            let woken: Vec<_> = self
                .0
                .tasks
                .lock()
                .unwrap()
                .iter()
                .filter(|task| task.woken.swap(false, Ordering::SeqCst))
                .cloned()
                .collect();
            if woken.is_empty() {
                return;
            }
            for task in woken {
                let Some(mut future) = task.future.lock().unwrap().take() else {
                    continue;
                };
                task.polls.fetch_add(1, Ordering::SeqCst);
                let waker = Waker::from(task.clone());
                if future
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
                {
                    *task.future.lock().unwrap() = Some(future);
                }
            }
        }
        panic!("tasks keep waking each other");
    }

    /// Moves the clock on by `by`, wakes the sleeps that are due, and runs.
    pub(crate) fn advance(&self, by: Duration) {
        *self.0.elapsed.lock().unwrap() += by;
        let now = self.now();
        let due: Vec<_> = {
            let mut sleepers = self.0.sleepers.lock().unwrap();
            let (due, later) = sleepers.drain(..).partition(|(at, _)| *at <= now);
            *sleepers = later;
            due
        };
        for (_, waker) in due {
            waker.wake();
        }
        self.run();
    }

    /// Every deadline a sleep was asked for so far, in order.
    pub(crate) fn sleeps(&self) -> Vec<Instant> {
        self.0.sleeps.lock().unwrap().clone()
    }

    /// How often the `n`th task spawned was polled.
    pub(crate) fn polls(&self, n: usize) -> usize {
        self.0.tasks.lock().unwrap()[n].polls.load(Ordering::SeqCst)
    }

    /// Tasks spawned and not finished.
    pub(crate) fn live_tasks(&self) -> usize {
        let tasks = self.0.tasks.lock().unwrap();
        tasks
            .iter()
            .filter(|task| task.future.lock().unwrap().is_some())
            .count()
    }
}

struct Sleep {
    deadline: Instant,
    runtime: FakeRuntime,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.runtime.now() >= self.deadline {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        self.runtime
            .0
            .sleepers
            .lock()
            .unwrap()
            .push((self.deadline, waker));
        Poll::Pending
    }
}
