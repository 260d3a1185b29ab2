//! A [`Runtime`] for unit tests: a manual clock, and tasks polled by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use metrics::Key;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

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

/// Where the recorder below says a gauge it puts back was registered.
static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// What the recorder saw, added up over its snapshots (which reset what they read).
pub(crate) struct Recorded {
    /// Leaked: this thread's recorder while the test runs.
    pub(crate) recorder: &'static DebuggingRecorder,
    pub(crate) snapshotter: Snapshotter,
    pub(crate) counters: HashMap<String, u64>,
    pub(crate) gauges: HashMap<String, f64>,
    histograms: HashMap<String, Vec<f64>>,
}

impl Recorded {
    pub(crate) fn new() -> Self {
        let recorder: &'static _ = Box::leak(Box::new(DebuggingRecorder::new()));
        let snapshotter = recorder.snapshotter();
        Self {
            recorder,
            snapshotter,
            counters: HashMap::new(),
            gauges: HashMap::new(),
            histograms: HashMap::new(),
        }
    }

    pub(crate) fn take(&mut self) {
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let name = text_of(key.key());
            match value {
                DebugValue::Counter(n) => *self.counters.entry(name).or_default() += n,
                DebugValue::Gauge(value) => {
                    // The snapshot zeroed it: put it back, as the driver only moves a gauge by what changed.
                    metrics::with_local_recorder(self.recorder, || {
                        metrics::with_recorder(|r| {
                            r.register_gauge(key.key(), &METADATA).set(value.0);
                        });
                    });
                    self.gauges.insert(name, value.0);
                }
                DebugValue::Histogram(values) => self
                    .histograms
                    .entry(name)
                    .or_default()
                    .extend(values.into_iter().map(|v| v.0)),
            }
        }
    }

    pub(crate) fn counter(&mut self, key: &str) -> u64 {
        self.take();
        self.counters.get(key).copied().unwrap_or(0)
    }

    pub(crate) fn gauge(&mut self, key: &str) -> f64 {
        self.take();
        self.gauges.get(key).copied().unwrap_or(0.0)
    }

    pub(crate) fn histogram(&mut self, key: &str) -> Vec<f64> {
        self.take();
        self.histograms.get(key).cloned().unwrap_or_default()
    }
}

/// `name{label="value",…}`, labels in their order, as Prometheus shows them.
pub(crate) fn text_of(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}=\"{}\"", label.key(), label.value()))
        .collect();
    match labels.is_empty() {
        true => key.name().to_owned(),
        false => format!("{}{{{}}}", key.name(), labels.join(",")),
    }
}

/// A `tracing` subscriber for this thread, its lines (without colours) in a buffer.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Installs it at `debug`.
    pub(crate) fn install(&self) -> tracing::subscriber::DefaultGuard {
        self.install_at(tracing::Level::DEBUG)
    }

    pub(crate) fn install_at(&self, level: tracing::Level) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // A callsite another test's thread reached while this subscriber was being made may
        // have cached "never" for it: ask every callsite again.
        tracing::callsite::rebuild_interest_cache();
        guard
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}
