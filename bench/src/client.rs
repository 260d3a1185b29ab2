//! The load client: hyper 1's HTTP/1.1 client connection API, one TCP connection per session
//! (two for 2024-11-05 sessions: the stream and the POSTs), TCP_NODELAY on; HTTP/2 (prior
//! knowledge) only for the idle run's shared connections. Every answer is checked (status, id,
//! echoed text) so that a broken server cannot look fast.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};

use crate::cpu::{CpuUse, Meter, Processes};
use crate::servers::{Kind, MESSAGE, Mode};

/// The version our Streamable HTTP sessions ask for.
pub(crate) const STREAMABLE_VERSION: &str = "2025-11-25";
const LEGACY_VERSION: &str = "2024-11-05";

/// A request that takes longer than this counts as an error (and ends its session): a stuck
/// server must not hang the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the load client expects at the other end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// The bare hyper server: every POST gets one fixed body, no MCP.
    Bare,
    /// An MCP server whose `echo` tool takes its text in the argument named here.
    Mcp { echo_argument: &'static str },
}

impl Peer {
    /// The example server's `echo` (`{"text": string}`).
    pub(crate) const EXAMPLE: Peer = Peer::Mcp {
        echo_argument: "text",
    };

    /// The bench's own servers: `echo` takes `message`.
    pub(crate) fn of(kind: Kind) -> Peer {
        match kind {
            Kind::Hyper => Peer::Bare,
            _ => Peer::Mcp {
                echo_argument: ECHO_ARGUMENT,
            },
        }
    }
}

/// The argument of the bench's own `echo` tools.
const ECHO_ARGUMENT: &str = "message";

/// What one load run measured.
#[derive(Debug, Default)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    /// CPU time used in the measured window (user + system), in µs: by the server processes
    /// (what the requests cost them, whatever else shared the machine), the balancer and the
    /// store in front of or behind them, the client, and the rest of the machine.
    pub(crate) cpu: CpuUse,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

impl LoadResult {
    pub(crate) fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// The servers' CPU time per request, in µs.
    pub(crate) fn cpu_us_per_request(&self) -> f64 {
        self.per_request(self.cpu.servers)
    }

    /// `us` of CPU time per request answered.
    pub(crate) fn per_request(&self, us: u64) -> f64 {
        us as f64 / self.requests.max(1) as f64
    }

    /// The share of the machine's cores that other work took in the window, in %.
    pub(crate) fn others_percent(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        self.cpu.others() as f64 / (self.seconds * 1e6 * cores as f64) * 100.0
    }
}

/// What one session brings back.
#[derive(Default)]
struct SessionStats {
    /// Latencies in µs of the calls completed inside the measured window.
    samples: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl SessionStats {
    fn error(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// The measured window, sent to every session once all of them are initialized.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// The sessions of a run, and how long they call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load {
    pub(crate) mode: Mode,
    pub(crate) sessions: usize,
    /// Before the measured window, not counted.
    pub(crate) warmup: Duration,
    pub(crate) seconds: Duration,
}

/// Runs `load.sessions` sessions against `peer` at `addr`: set-up, the warm-up not counted, then
/// `load.seconds` of back-to-back `tools/call echo`, measuring the CPU of `processes`.
pub(crate) async fn load(
    addr: SocketAddr,
    peer: Peer,
    load: Load,
    processes: &Processes,
) -> LoadResult {
    let Load {
        mode,
        sessions,
        warmup,
        seconds,
    } = load;
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(sessions);
    let (window_tx, window_rx) = watch::channel::<Option<Window>>(None);
    let tasks: Vec<_> = (0..sessions)
        .map(|_| {
            let ready = ready_tx.clone();
            let window = window_rx.clone();
            tokio::spawn(session(addr, peer, mode, ready, window))
        })
        .collect();
    drop(ready_tx);
    // Every session is set up (or failed) before the clock starts.
    while ready_rx.recv().await.is_some() {}
    let start = Instant::now() + warmup;
    let _ = window_tx.send(Some(Window {
        start,
        end: start + seconds,
    }));
    let processes = processes.clone();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let meter = Meter::start(&processes);
        tokio::time::sleep_until((start + seconds).into()).await;
        meter.stop()
    });
    let mut samples = Vec::new();
    let mut result = LoadResult {
        seconds: seconds.as_secs_f64(),
        ..LoadResult::default()
    };
    for task in tasks {
        let stats = task.await.unwrap_or_else(|error| {
            let mut stats = SessionStats::default();
            stats.error(format!("session task failed: {error}"));
            stats
        });
        samples.extend(stats.samples);
        result.errors += stats.errors;
        if result.first_error.is_none() {
            result.first_error = stats.first_error;
        }
    }
    result.cpu = cpu.await.unwrap_or_default();
    samples.sort_unstable();
    result.requests = samples.len() as u64;
    result.p50_us = percentile(&samples, 50.0);
    result.p99_us = percentile(&samples, 99.0);
    result
}

/// The exact percentile (nearest rank) of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    u64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One session: set up, say ready, wait for the window, call until it ends.
async fn session(
    addr: SocketAddr,
    peer: Peer,
    mode: Mode,
    ready: mpsc::Sender<()>,
    mut window: watch::Receiver<Option<Window>>,
) -> SessionStats {
    let mut stats = SessionStats::default();
    let setup = async {
        match peer {
            // The ceiling: no MCP at all, every POST gets the same JSON answer.
            Peer::Bare => Ok(Caller::Plain(connect(addr, None).await?)),
            Peer::Mcp { echo_argument } if mode == Mode::Legacy => {
                Legacy::open(addr, echo_argument).await.map(Caller::Legacy)
            }
            Peer::Mcp { echo_argument } => Streamable::open(addr, echo_argument)
                .await
                .map(Caller::Streamable),
        }
    };
    let caller = tokio::time::timeout(REQUEST_TIMEOUT, setup)
        .await
        .unwrap_or_else(|_| Err("session set-up timed out".to_owned()));
    drop(ready);
    let mut caller = match caller {
        Ok(caller) => caller,
        Err(error) => {
            stats.error(format!("set-up: {error}"));
            return stats;
        }
    };
    let window = match window.wait_for(Option::is_some).await {
        Ok(window) => *window,
        Err(_) => None,
    };
    let Some(window) = window else {
        return stats;
    };
    let mut id: u64 = 1;
    loop {
        id += 1;
        let sent = Instant::now();
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, caller.call(id)).await;
        let mut done = Instant::now();
        match outcome {
            Ok(Ok(received)) => {
                done = received;
                if done > window.end {
                    break;
                }
                if sent >= window.start {
                    let micros = done.duration_since(sent).as_micros();
                    stats
                        .samples
                        .push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
            }
            Ok(Err(Failure::Answer(error))) => {
                // A wrong answer or an error status: the connection is still usable.
                stats.error(error);
                if done > window.end {
                    break;
                }
            }
            Ok(Err(Failure::Connection(error))) => {
                stats.error(error);
                break;
            }
            Err(_) => {
                stats.error("tools/call timed out".to_owned());
                break;
            }
        }
    }
    stats
}

/// Why a call failed: a bad answer on a good connection, or a dead connection.
enum Failure {
    Answer(String),
    Connection(String),
}

enum Caller {
    Plain(Conn),
    Streamable(Streamable),
    Legacy(Legacy),
}

impl Caller {
    /// One `tools/call echo`; the instant its answer was complete.
    async fn call(&mut self, id: u64) -> Result<Instant, Failure> {
        match self {
            Caller::Plain(conn) => Self::call_plain(conn).await,
            Caller::Streamable(session) => session.call(id).await,
            Caller::Legacy(session) => session.call(id).await,
        }
    }
}

impl Caller {
    async fn call_plain(conn: &mut Conn) -> Result<Instant, Failure> {
        // The bare server always answers id 1.
        let response = conn
            .send(conn.post("/mcp", &[], call_body(1, ECHO_ARGUMENT)))
            .await
            .map_err(Failure::Connection)?;
        let (reply, received) = read_reply(response, 1).await?;
        check_echo(&reply, 1).map_err(Failure::Answer)?;
        Ok(received)
    }
}

/// `tools/call echo` with [`MESSAGE`] in the tool's argument `echo_argument`.
fn call_body(id: u64, echo_argument: &str) -> Bytes {
    Bytes::from(
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "tools/call",
            "params": { "name": "echo", "arguments": { echo_argument: MESSAGE } },
        })
        .to_string(),
    )
}

fn initialize_body(version: &str) -> Bytes {
    Bytes::from(
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": { "name": "mcp-load", "version": "0.1.0" },
            },
        })
        .to_string(),
    )
}

const INITIALIZED: &[u8] = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// The echoed text is there and right.
fn check_echo(reply: &Value, id: u64) -> Result<(), String> {
    if reply["id"] != id {
        return Err(format!("answer with id {} for request {id}", reply["id"]));
    }
    match reply["result"]["content"][0]["text"].as_str() {
        Some(MESSAGE) => Ok(()),
        _ => Err(format!("wrong echo result: {reply}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

/// One client connection.
pub(crate) struct Conn {
    sender: Sender,
    host: String,
    addr: SocketAddr,
    source: Option<IpAddr>,
    /// The server said it closes this HTTP/1.1 connection after its answer (`Connection:
    /// close`, as nginx does after `keepalive_requests`, 1,000 by default): the next request
    /// goes on a new connection, as any HTTP client's would.
    closing: bool,
}

enum Sender {
    /// One request at a time.
    Http1(http1::SendRequest<Full<Bytes>>),
    /// A stream per request; the handles of one connection are clones.
    Http2(http2::SendRequest<Full<Bytes>>),
}

/// Opens an HTTP/1.1 connection, from `source` when given (the idle run spreads 50k
/// connections over several loopback addresses: one source address has only ~28k ephemeral
/// ports).
pub(crate) async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<Conn, String> {
    let io = TokioIo::new(tcp(addr, source).await?);
    let (sender, connection) = http1::handshake(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        sender: Sender::Http1(sender),
        host: addr.to_string(),
        addr,
        source,
        closing: false,
    })
}

/// Opens an HTTP/2 connection with prior knowledge (h2c), from `source` when given; its
/// streams are opened through [`Conn::share`].
pub(crate) async fn connect_h2(addr: SocketAddr, source: Option<IpAddr>) -> Result<Conn, String> {
    let io = TokioIo::new(tcp(addr, source).await?);
    let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
        .await
        .map_err(|e| format!("h2 handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Conn {
        sender: Sender::Http2(sender),
        host: addr.to_string(),
        addr,
        source,
        closing: false,
    })
}

async fn tcp(addr: SocketAddr, source: Option<IpAddr>) -> Result<tokio::net::TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = source {
        // Closed with a reset, not into TIME_WAIT: a port in TIME_WAIT cannot be bound again
        // for a minute, and successive idle runs would exhaust the source address's ports.
        socket
            .set_zero_linger()
            .map_err(|e| format!("linger: {e}"))?;
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let stream = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    Ok(stream)
}

impl Conn {
    /// Another handle on the same HTTP/2 connection; `None` for HTTP/1.1, whose connection
    /// carries one request at a time.
    pub(crate) fn share(&self) -> Option<Conn> {
        match &self.sender {
            Sender::Http1(_) => None,
            Sender::Http2(sender) => Some(Conn {
                sender: Sender::Http2(sender.clone()),
                host: self.host.clone(),
                addr: self.addr,
                source: self.source,
                closing: false,
            }),
        }
    }

    /// A request to `path` with `headers`.
    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> hyper::http::request::Builder {
        let builder = match self.sender {
            Sender::Http1(_) => Request::builder().uri(path).header("host", &self.host),
            // HTTP/2 names the authority in the URI (`:authority`), not in a `Host` header.
            Sender::Http2(_) => Request::builder().uri(format!("http://{}{path}", self.host)),
        };
        headers
            .iter()
            .fold(builder.method(method), |builder, (name, value)| {
                builder.header(*name, *value)
            })
    }

    /// A JSON POST to `path`, accepting either answer shape.
    pub(crate) fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        self.request(Method::POST, path, headers)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Full::new(body))
            .unwrap_or_default()
    }

    /// A `GET` that opens an SSE stream.
    pub(crate) fn get_stream(&self, path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
        self.request(Method::GET, path, headers)
            .header("accept", "text/event-stream")
            .body(Full::new(Bytes::new()))
            .unwrap_or_default()
    }

    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, String> {
        if self.closing {
            *self = connect(self.addr, self.source).await?;
        }
        let response = match &mut self.sender {
            Sender::Http1(sender) => {
                sender
                    .ready()
                    .await
                    .map_err(|e| format!("connection: {e}"))?;
                sender.send_request(request).await
            }
            Sender::Http2(sender) => {
                sender
                    .ready()
                    .await
                    .map_err(|e| format!("connection: {e}"))?;
                sender.send_request(request).await
            }
        };
        let response = response.map_err(|e| format!("request: {e}"))?;
        self.closing = matches!(self.sender, Sender::Http1(_))
            && response
                .headers()
                .get(hyper::header::CONNECTION)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        Ok(response)
    }
}

/// The JSON-RPC response with `id` in a POST's answer, JSON or SSE, and when it was complete.
/// An SSE body is still read to its end (so that the connection can carry the next request),
/// but the latency stops at the response event.
async fn read_reply(response: Response<Incoming>, id: u64) -> Result<(Value, Instant), Failure> {
    let status = response.status();
    if !status.is_success() {
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        let body = body.unwrap_or_default();
        return Err(Failure::Answer(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    if is_event_stream(&response) {
        let mut events = SseReader::new(response.into_body());
        let mut reply = None;
        while let Some(event) = events.next_event().await.map_err(Failure::Connection)? {
            if reply.is_none()
                && let Some(message) = response_with_id(&event.data, id)
            {
                reply = Some((message, Instant::now()));
            }
        }
        reply.ok_or_else(|| Failure::Answer(format!("SSE answer ended without response {id}")))
    } else {
        let body = whole_body(response).await?;
        let received = Instant::now();
        let reply = serde_json::from_slice(&body).map_err(|e| {
            Failure::Answer(format!(
                "JSON body: {e}: {}",
                String::from_utf8_lossy(&body)
            ))
        })?;
        Ok((reply, received))
    }
}

/// The whole body of `response`.
async fn whole_body(response: Response<Incoming>) -> Result<bytes::Bytes, Failure> {
    let body = response.into_body().collect().await;
    let body = body.map_err(|e| Failure::Connection(format!("body: {e}")))?;
    Ok(body.to_bytes())
}

fn is_event_stream<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"))
}

/// `data` parsed, if it is the response (result or error) to request `id`.
fn response_with_id(data: &str, id: u64) -> Option<Value> {
    if data.is_empty() {
        return None; // priming events
    }
    let message: Value = serde_json::from_str(data).ok()?;
    (message["id"] == id && (message.get("result").is_some() || message.get("error").is_some()))
        .then_some(message)
}

/// A 2xx answer with nothing to read (`202` to a notification or a 2024-11-05 POST).
async fn expect_accepted(response: Response<Incoming>) -> Result<(), Failure> {
    let status = response.status();
    let body = whole_body(response).await?;
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::Answer(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        )))
    }
}

fn failure_text(failure: Failure) -> String {
    match failure {
        Failure::Answer(text) | Failure::Connection(text) => text,
    }
}

// ---------------------------------------------------------------------------------------------
// Streamable HTTP sessions

/// A Streamable HTTP session (or, in `json` mode, a stateless client that still initializes).
pub(crate) struct Streamable {
    pub(crate) conn: Conn,
    /// `Mcp-Session-Id`, absent when the server is stateless.
    pub(crate) session: Option<String>,
    /// The argument of the server's `echo` tool.
    echo_argument: &'static str,
}

impl Streamable {
    /// Connects and initializes (initialize, then notifications/initialized).
    async fn open(addr: SocketAddr, echo_argument: &'static str) -> Result<Self, String> {
        let conn = connect(addr, None).await?;
        let mut session = Self::initialize(conn).await?;
        session.echo_argument = echo_argument;
        Ok(session)
    }

    /// Initializes over `conn`, which the session then keeps, with a server of the bench's own.
    pub(crate) async fn initialize(mut conn: Conn) -> Result<Self, String> {
        let response = conn
            .send(conn.post("/mcp", &[], initialize_body(STREAMABLE_VERSION)))
            .await?;
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (reply, _) = read_reply(response, 1).await.map_err(failure_text)?;
        if reply["result"]["protocolVersion"] != STREAMABLE_VERSION {
            return Err(format!("initialize answered {reply}"));
        }
        let mut session = Self {
            conn,
            session,
            echo_argument: ECHO_ARGUMENT,
        };
        let request = session.post(Bytes::from_static(INITIALIZED));
        let response = session.conn.send(request).await?;
        expect_accepted(response).await.map_err(failure_text)?;
        Ok(session)
    }

    pub(crate) fn headers(&self) -> Vec<(&str, &str)> {
        let mut headers = vec![("mcp-protocol-version", STREAMABLE_VERSION)];
        if let Some(session) = &self.session {
            headers.push(("mcp-session-id", session));
        }
        headers
    }

    fn post(&self, body: Bytes) -> Request<Full<Bytes>> {
        self.conn.post("/mcp", &self.headers(), body)
    }

    async fn call(&mut self, id: u64) -> Result<Instant, Failure> {
        let request = self.post(call_body(id, self.echo_argument));
        let response = self.conn.send(request).await.map_err(Failure::Connection)?;
        let (reply, received) = read_reply(response, id).await?;
        check_echo(&reply, id).map_err(Failure::Answer)?;
        Ok(received)
    }
}

/// One session and one call (or for the bare server, one POST) over `conn`, before a memory
/// reading.
pub(crate) async fn warm_up(mut conn: Conn, kind: Kind) -> Result<(), String> {
    if kind == Kind::Hyper {
        return plain_call(&mut conn).await;
    }
    let mut session = Streamable::initialize(conn).await?;
    session.call(2).await.map_err(failure_text)?;
    Ok(())
}

/// One POST to the bare server, its answer checked.
pub(crate) async fn plain_call(conn: &mut Conn) -> Result<(), String> {
    Caller::call_plain(conn)
        .await
        .map(drop)
        .map_err(failure_text)
}

// ---------------------------------------------------------------------------------------------
// 2024-11-05 sessions

/// A 2024-11-05 session: its SSE stream on one connection, its POSTs on another (an HTTP/1.1
/// connection carrying a stream can carry nothing else).
struct Legacy {
    /// Holds the stream's connection (its response body is `events`).
    _stream: Conn,
    events: SseReader,
    posts: Conn,
    endpoint: String,
    /// The argument of the server's `echo` tool.
    echo_argument: &'static str,
}

impl Legacy {
    async fn open(addr: SocketAddr, echo_argument: &'static str) -> Result<Self, String> {
        let mut stream_conn = connect(addr, None).await?;
        let request = stream_conn.get_stream("/sse", &[]);
        let response = stream_conn.send(request).await?;
        if !response.status().is_success() || !is_event_stream(&response) {
            return Err(format!("GET /sse answered {}", response.status()));
        }
        let mut events = SseReader::new(response.into_body());
        let endpoint = loop {
            match events.next_event().await? {
                Some(event) if event.event == "endpoint" => break event.data,
                Some(_) => {}
                None => return Err("stream ended before the endpoint event".to_owned()),
            }
        };
        let mut session = Self {
            _stream: stream_conn,
            events,
            posts: connect(addr, None).await?,
            endpoint,
            echo_argument,
        };
        session
            .exchange(initialize_body(LEGACY_VERSION), Some(1))
            .await
            .map_err(failure_text)?;
        session
            .exchange(Bytes::from_static(INITIALIZED), None)
            .await
            .map_err(failure_text)?;
        Ok(session)
    }

    /// POSTs `body` (expecting `202`), then, for a request, waits for its answer on the stream.
    async fn exchange(&mut self, body: Bytes, id: Option<u64>) -> Result<Option<Value>, Failure> {
        let request = self.posts.post(&self.endpoint, &[], body);
        let response = self
            .posts
            .send(request)
            .await
            .map_err(Failure::Connection)?;
        expect_accepted(response).await?;
        let Some(id) = id else {
            return Ok(None);
        };
        loop {
            match self
                .events
                .next_event()
                .await
                .map_err(Failure::Connection)?
            {
                Some(event) => {
                    if let Some(reply) = response_with_id(&event.data, id) {
                        return Ok(Some(reply));
                    }
                }
                None => return Err(Failure::Connection("the session's stream ended".to_owned())),
            }
        }
    }

    async fn call(&mut self, id: u64) -> Result<Instant, Failure> {
        let reply = self
            .exchange(call_body(id, self.echo_argument), Some(id))
            .await?;
        let received = Instant::now();
        check_echo(&reply.unwrap_or_default(), id).map_err(Failure::Answer)?;
        Ok(received)
    }
}

// ---------------------------------------------------------------------------------------------
// SSE parsing

#[derive(Default)]
pub(crate) struct SseEvent {
    pub(crate) event: String,
    pub(crate) data: String,
}

/// Splits a response body into SSE events (only the `event` and `data` fields matter here).
pub(crate) struct SseReader {
    body: Incoming,
    buffer: Vec<u8>,
    /// Where the unread part of `buffer` starts.
    read: usize,
}

impl SseReader {
    pub(crate) fn new(body: Incoming) -> Self {
        Self {
            body,
            buffer: Vec::new(),
            read: 0,
        }
    }

    /// The next event with data, `None` at the end of the body.
    pub(crate) async fn next_event(&mut self) -> Result<Option<SseEvent>, String> {
        let mut event = SseEvent::default();
        let mut has_data = false;
        loop {
            while let Some(line) = self.next_line() {
                if line.is_empty() {
                    // Events without data are not dispatched (priming events, for one).
                    if has_data {
                        return Ok(Some(event));
                    }
                    event = SseEvent::default();
                    continue;
                }
                let (field, value) = match line.find(':') {
                    Some(0) => continue, // a comment: keepalive
                    Some(colon) => {
                        let value = &line[colon + 1..];
                        (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
                    }
                    None => (line.as_str(), ""),
                };
                match field {
                    "event" => event.event = value.to_owned(),
                    "data" => {
                        if has_data {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                        has_data = true;
                    }
                    _ => {}
                }
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.drain(..self.read);
                        self.read = 0;
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(error)) => return Err(format!("stream: {error}")),
                None => return Ok(None),
            }
        }
    }

    /// The next complete line, without its end (`\n` or `\r\n`).
    fn next_line(&mut self) -> Option<String> {
        let rest = &self.buffer[self.read..];
        let end = rest.iter().position(|&byte| byte == b'\n')?;
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        let line = String::from_utf8_lossy(line).into_owned();
        self.read += end + 1;
        Some(line)
    }
}
