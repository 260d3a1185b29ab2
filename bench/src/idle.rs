//! The idle run: how much server memory an open but silent session costs.
//!
//! Each idle session has one TCP connection of its own, which carries, in order, `initialize`,
//! `notifications/initialized` and then the standalone `GET /mcp` SSE stream that it holds
//! open: one session + one open stream + its connection, with no other connection left
//! behind. The HTTP/2 variant holds the same session and stream as a stream of an HTTP/2
//! connection shared with other sessions: 50k sessions need a few hundred descriptors rather
//! than 50k (where `RLIMIT_NOFILE` cannot be raised that far). The variant without a stream
//! initializes sessions over a few shared connections and keeps nothing open: the cost of the
//! session state alone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::BodyExt;
use tokio::sync::{Semaphore, watch};

use crate::client::{Conn, Streamable, connect, connect_h2, plain_call};
use crate::servers::Kind;

/// Connections being opened at once.
const OPEN_CONCURRENCY: usize = 256;
/// Connections per loopback source address: one address has ~28k ephemeral ports
/// (32768–60999), so 50k streams to one server port need several (well below the range, so
/// that ports in TIME_WAIT from earlier runs do not matter).
const PER_SOURCE: usize = 10_000;
/// A session not set up by then counts as an error.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Shared connections that set up the sessions of the variant without streams.
const SETUP_CONNECTIONS: usize = 64;
/// Sessions per connection of the HTTP/2 variant: hyper's server default for
/// SETTINGS_MAX_CONCURRENT_STREAMS (200 in hyper 1, which our adapters keep). A session has
/// one stream open at a time (`initialize`, `notifications/initialized`, then its GET, each
/// once the one before has ended), so a connection never has more than the server allows;
/// h2 would queue any more, and they would time out rather than open.
const STREAMS_PER_CONNECTION: usize = 200;

#[derive(Debug)]
pub(crate) struct IdleResult {
    pub(crate) sessions: usize,
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_after_kib: u64,
    /// Sessions set up (and, with streams, streams still open at the second reading).
    pub(crate) opened: usize,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl IdleResult {
    pub(crate) fn kib_per_session(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.sessions.max(1) as f64
    }
}

/// The server's resident set (VmRSS), in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Errors counted across the tasks, with the first one kept for the report.
#[derive(Default)]
struct Errors {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Errors {
    fn add(&self, error: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
    }
}

/// What each idle session holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Held {
    /// A session, its standalone GET stream, and the stream's connection.
    Stream,
    /// A session and its standalone GET stream, an HTTP/2 stream: connections are shared.
    StreamH2,
    /// A session and nothing open.
    Session,
    /// For the bare hyper server: a keep-alive connection that carried one POST, the HTTP
    /// stack's own cost of an open connection.
    Connection,
}

impl Held {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Held::Stream => "session + GET stream + its connection",
            Held::StreamH2 => "session + GET stream over shared HTTP/2 connections",
            Held::Session => "session only, nothing open",
            Held::Connection => "keep-alive connection only",
        }
    }

    /// The connections that `sessions` idle sessions hold open at once.
    pub(crate) fn connections(self, sessions: usize) -> usize {
        match self {
            Held::Stream | Held::Connection => sessions,
            Held::StreamH2 => sessions.div_ceil(STREAMS_PER_CONNECTION),
            Held::Session => SETUP_CONNECTIONS.min(sessions),
        }
    }
}

/// What a task holds open until told to stop.
enum Holding {
    Stream(Streamable, hyper::body::Incoming),
    Connection(Conn),
}

/// Opens `sessions` idle sessions holding `held` against the server at `addr` (process
/// `pid`, of `kind`) and measures its RSS before and after, each time once the server had
/// `settle` to calm down.
pub(crate) async fn idle(
    addr: SocketAddr,
    pid: u32,
    kind: Kind,
    sessions: usize,
    held: Held,
    settle: Duration,
) -> IdleResult {
    let errors = Arc::new(Errors::default());
    // Warm-up: one complete session, over the protocol measured, so that lazily built state is
    // there before the first reading.
    let warm_up = async {
        let conn = match held {
            Held::StreamH2 => connect_h2(addr, None).await?,
            _ => connect(addr, None).await?,
        };
        crate::client::warm_up(conn, kind).await
    };
    let warm_up = tokio::time::timeout(OPEN_TIMEOUT, warm_up).await;
    if let Err(error) = warm_up.unwrap_or_else(|_| Err("timed out".to_owned())) {
        errors.add(format!("warm-up: {error}"));
    }
    tokio::time::sleep(settle).await;
    let rss_before_kib = rss_kib(pid);
    let (stop_tx, stop_rx) = watch::channel(false);
    let opened = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    if held != Held::Session {
        let gate = Arc::new(Semaphore::new(OPEN_CONCURRENCY));
        // The HTTP/2 variant's connection, a new one every STREAMS_PER_CONNECTION sessions.
        let mut shared: Result<Option<Conn>, String> = Ok(None);
        for index in 0..sessions {
            let Ok(permit) = gate.clone().acquire_owned().await else {
                break;
            };
            let source = source_address(index);
            if held == Held::StreamH2 && index % STREAMS_PER_CONNECTION == 0 {
                shared = tokio::time::timeout(OPEN_TIMEOUT, connect_h2(addr, Some(source)))
                    .await
                    .unwrap_or_else(|_| Err("h2 connection timed out".to_owned()))
                    .map(Some);
            }
            let conn = match &shared {
                Ok(conn) => conn.as_ref().and_then(Conn::share),
                Err(error) => {
                    errors.add(error.clone());
                    continue;
                }
            };
            let (errors, opened, stop) = (errors.clone(), opened.clone(), stop_rx.clone());
            tasks.push(tokio::spawn(async move {
                // A server out of descriptors leaves connections unaccepted: time out.
                let holding = tokio::time::timeout(OPEN_TIMEOUT, open(addr, source, held, conn))
                    .await
                    .unwrap_or_else(|_| Err("opening timed out".to_owned()));
                drop(permit);
                match holding {
                    Ok(holding) => {
                        opened.fetch_add(1, Ordering::Relaxed);
                        hold(holding, stop, &errors, &opened).await;
                    }
                    Err(error) => errors.add(error),
                }
            }));
        }
        // Every permit back: every stream is open or failed.
        let _ = gate.acquire_many(OPEN_CONCURRENCY as u32).await;
    } else {
        let workers = SETUP_CONNECTIONS.min(sessions);
        for worker in 0..workers {
            let count = sessions / workers + usize::from(worker < sessions % workers);
            let (errors, opened) = (errors.clone(), opened.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = match connect(addr, None).await {
                    Ok(conn) => conn,
                    Err(error) => return errors.add(error),
                };
                for _ in 0..count {
                    let session = tokio::time::timeout(OPEN_TIMEOUT, Streamable::initialize(conn))
                        .await
                        .unwrap_or_else(|_| Err("initialize timed out".to_owned()));
                    match session {
                        Ok(session) => {
                            opened.fetch_add(1, Ordering::Relaxed);
                            conn = session.conn;
                        }
                        Err(error) => return errors.add(error),
                    }
                }
            }));
        }
        for task in tasks.drain(..) {
            let _ = task.await;
        }
    }
    tokio::time::sleep(settle).await;
    let rss_after_kib = rss_kib(pid);
    let opened = opened.load(Ordering::Relaxed);
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let errors = Arc::into_inner(errors).unwrap_or_default();
    IdleResult {
        sessions,
        rss_before_kib,
        rss_after_kib,
        opened,
        errors: errors.count.into_inner(),
        first_error: errors
            .first
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner),
    }
}

/// 127.0.0.1, .2, … in turn, [`PER_SOURCE`] connections each.
fn source_address(index: usize) -> IpAddr {
    let host = u8::try_from(1 + index / PER_SOURCE).unwrap_or(u8::MAX);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// A session on its own connection, or on `shared` (an HTTP/2 connection), initialized, with
/// its standalone GET stream open; or a connection that carried one plain POST.
async fn open(
    addr: SocketAddr,
    source: IpAddr,
    held: Held,
    shared: Option<Conn>,
) -> Result<Holding, String> {
    let mut conn = match shared {
        Some(conn) => conn,
        None => connect(addr, Some(source)).await?,
    };
    if held == Held::Connection {
        plain_call(&mut conn).await?;
        return Ok(Holding::Connection(conn));
    }
    let mut session = Streamable::initialize(conn).await?;
    let request = session.conn.get_stream("/mcp", &session.headers());
    let response = session.conn.send(request).await?;
    let event_stream = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if !response.status().is_success() || !event_stream {
        return Err(format!("GET stream answered {}", response.status()));
    }
    Ok(Holding::Stream(session, response.into_body()))
}

/// Keeps the stream open (reading whatever keepalives come) until told to stop. A stream the
/// server ends first is an error, and no longer counts as open.
async fn hold(
    holding: Holding,
    mut stop: watch::Receiver<bool>,
    errors: &Errors,
    opened: &AtomicUsize,
) {
    let (session, mut body) = match holding {
        Holding::Stream(session, body) => (session, body),
        Holding::Connection(conn) => {
            let _ = stop.changed().await;
            drop(conn);
            return;
        }
    };
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            frame = body.frame() => match frame {
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    errors.add(format!("stream broke: {error}"));
                    opened.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                None => {
                    errors.add("the server ended the stream".to_owned());
                    opened.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
            },
        }
    }
    drop(session);
}
