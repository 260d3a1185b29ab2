//! What the store's tests share: a redis-server of their own, each test run on every runtime
//! the crate was built for, and short ways to perform operations and wait for notices.

#![allow(dead_code, unreachable_pub)] // each test file uses a part

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use mcp_sse_app::{Runtime, SharedStore};
use mcp_sse_core::{Answer, Cluster, Notice, SessionId, SessionRecord, Shared, Ticket};
use mcp_sse_redis::{Options, RedisStore};

/// The store's deadline in these tests.
pub const TIMEOUT: Duration = Duration::from_millis(500);

/// A redis-server on a loopback port, with no persistence; killed when dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// A new server on a free port; `None`, and why, when there is no `redis-server` to run.
    pub fn start() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: redis-server is not on PATH (scripts/redis-run.sh installs it)");
            return None;
        }
        let free = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = free.local_addr().expect("a bound address").port();
        drop(free);
        let mut server = Self { port, child: None };
        server.restart();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (its data goes with it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port; returns once it answers.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        let child = Command::new("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command("PING") != "+PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends one inline command; the first line of the reply, or "" if there is none.
    pub fn command(&self, line: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = Vec::new();
        let mut byte = [0];
        if stream.write_all(format!("{line}\r\n").as_bytes()).is_ok() {
            while stream.read_exact(&mut byte).is_ok() && byte[0] != b'\n' {
                reply.push(byte[0]);
            }
        }
        String::from_utf8_lossy(&reply).trim_end().to_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `test` on every runtime the crate was built for (`tokio`, `smol`), each with a Redis
/// of its own; skipped when there is no redis-server.
pub fn on_each_runtime<F, Fut>(test: F)
where
    F: Fn(Arc<dyn Runtime>, RedisServer) -> Fut,
    Fut: Future<Output = ()>,
{
    // The store's warnings with a failing test's output (RUST_LOG=debug for more).
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    #[cfg(feature = "tokio")]
    {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async { test(Arc::new(mcp_sse_tokio::Tokio::current()), redis).await });
    }
    #[cfg(feature = "smol")]
    {
        let Some(redis) = RedisServer::start() else {
            return;
        };
        smol::block_on(test(Arc::new(mcp_sse_smol::Smol::default()), redis));
    }
}

pub fn options() -> Options {
    let mut options = Options::default();
    options.timeout = TIMEOUT;
    options.reconnect_max = Duration::from_millis(500);
    options.heartbeat = HEARTBEAT;
    options.max_events_per_stream = 4;
    options
}

/// The tests' heartbeat: an instance dropped counts as gone three of them later.
pub const HEARTBEAT: Duration = Duration::from_millis(100);

pub async fn connect(runtime: &Arc<dyn Runtime>, redis: &RedisServer) -> (RedisStore, Cluster) {
    connect_with(runtime, redis, options()).await
}

pub async fn connect_with(
    runtime: &Arc<dyn Runtime>,
    redis: &RedisServer,
    options: Options,
) -> (RedisStore, Cluster) {
    RedisStore::connect(&redis.url(), options, runtime.clone())
        .await
        .expect("the store connects")
}

pub async fn sleep(runtime: &Arc<dyn Runtime>, duration: Duration) {
    runtime.sleep_until(runtime.now() + duration).await;
}

/// `fut`'s output; panics naming `what` if it takes more than 10 s.
pub async fn bounded<T>(runtime: &Arc<dyn Runtime>, what: &str, fut: impl Future<Output = T>) -> T {
    let limit = runtime.sleep_until(runtime.now() + Duration::from_secs(10));
    match select(std::pin::pin!(fut), limit).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("{what}: nothing within 10 s"),
    }
}

/// A ticket not used before in this test binary.
pub fn ticket() -> Ticket {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    Ticket::from_u64(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The answer to `op` (which has `ticket`), checked to come with that ticket.
pub async fn answer(
    runtime: &Arc<dyn Runtime>,
    store: &RedisStore,
    ticket: Ticket,
    op: Shared,
) -> Answer {
    let what = format!("the answer to {op:?}");
    match bounded(runtime, &what, store.perform(op)).await {
        Some((answered, answer)) => {
            assert_eq!(answered, ticket, "answered with another ticket");
            answer
        }
        None => panic!("{what}: resolved with no answer"),
    }
}

/// Performs `op`, which has no ticket: it resolves, and with no answer.
pub async fn perform(runtime: &Arc<dyn Runtime>, store: &RedisStore, op: Shared) {
    let what = format!("{op:?}");
    let answer = bounded(runtime, &what, store.perform(op)).await;
    assert!(answer.is_none(), "{what} answered {answer:?}");
}

/// The next notice `store` received.
pub async fn notice(runtime: &Arc<dyn Runtime>, store: &RedisStore) -> Notice {
    let notice = bounded(runtime, "a notice", store.next_notice()).await;
    notice.expect("the store is open")
}

pub fn session(id: &str) -> SessionId {
    SessionId::parse(id).expect("a valid session id")
}

/// A Streamable HTTP session's record, as the core would write it.
pub fn record(session: &SessionId) -> SessionRecord {
    let json = br#"{"transport":"streamable","version":"2025-11-25","owner":"alice","client":{"capabilities":{}}}"#;
    SessionRecord::decode(session.clone(), json).expect("a record the core reads")
}

pub async fn save(
    runtime: &Arc<dyn Runtime>,
    store: &RedisStore,
    session: &SessionId,
    ttl: Duration,
) -> Answer {
    let ticket = ticket();
    let record = record(session);
    answer(
        runtime,
        store,
        ticket,
        Shared::SaveSession {
            ticket,
            record,
            ttl,
        },
    )
    .await
}

pub async fn load(runtime: &Arc<dyn Runtime>, store: &RedisStore, session: &SessionId) -> Answer {
    let ticket = ticket();
    let session = session.clone();
    answer(
        runtime,
        store,
        ticket,
        Shared::LoadSession { ticket, session },
    )
    .await
}

pub async fn relay(
    runtime: &Arc<dyn Runtime>,
    store: &RedisStore,
    session: &SessionId,
    message: &'static str,
) -> Answer {
    let ticket = ticket();
    let op = Shared::Relay {
        ticket,
        session: session.clone(),
        message: bytes::Bytes::from_static(message.as_bytes()),
    };
    answer(runtime, store, ticket, op).await
}
