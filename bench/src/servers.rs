//! The servers under test, each run by `mcp-load serve <kind> --mode <mode>` in a process of
//! its own (so that its RSS is its own). Every one binds 127.0.0.1:0, prints the port on
//! stdout and serves until killed, on two worker threads.

use std::convert::Infallible;
use std::fmt;
use std::io::{self, Write};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_sse_app::core::{Config, ResponseMode};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};

use crate::echo::Echo;

/// Worker threads of every server's runtime: all servers get the same CPU budget.
pub(crate) const WORKERS: usize = 2;

/// The worker threads a server runs: [`WORKERS`], or fewer when it may use fewer CPUs
/// (`--pin` gives it one).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(WORKERS, |cpus| cpus.get().min(WORKERS))
}

/// The 64-byte text every `tools/call` echoes (and the bare hyper server always answers).
pub(crate) const MESSAGE: &str = "mcp-load echo payload: 64 bytes of text, the same in every call!";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Tokio,
    Smol,
    Rmcp,
    /// The same `echo` tool on the typed layer (`mcp-sse-server`), on tokio: what the typed
    /// layer costs above the raw [`Handler`](mcp_sse_app::Handler) of the `Tokio` row.
    Typed,
    /// rmcp's echo server (the same `ServerHandler` as the `Rmcp` row) served by mcp-sse through
    /// `mcp-sse-rmcp`, on tokio.
    Bridge,
    Hyper,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Streamable HTTP with sessions, every answer an SSE stream.
    Sse,
    /// Streamable HTTP, stateless, every answer JSON.
    Json,
    /// The 2024-11-05 transport: `GET /sse` + `POST /messages`.
    Legacy,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] = [
        Kind::Tokio,
        Kind::Smol,
        Kind::Typed,
        Kind::Rmcp,
        Kind::Bridge,
        Kind::Hyper,
    ];

    /// Whether the server speaks `mode` (rmcp has no 2024-11-05 server transport; hyper
    /// answers everything with one JSON body, in every mode).
    pub(crate) fn supports(self, mode: Mode) -> bool {
        !(self == Kind::Rmcp && mode == Mode::Legacy)
    }

    /// Whether the server speaks HTTP/2 with prior knowledge (h2c). rmcp brings no server of
    /// its own: its service runs here on hyper's HTTP/1.1 connection, as its own tests run it
    /// (`axum::serve`, HTTP/1.1 alone with axum's default features); the bare server is
    /// HTTP/1.1 too.
    pub(crate) fn speaks_h2c(self) -> bool {
        matches!(self, Kind::Tokio | Kind::Smol | Kind::Typed | Kind::Bridge)
    }
}

impl Mode {
    pub(crate) const ALL: [Mode; 3] = [Mode::Sse, Mode::Json, Mode::Legacy];
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Tokio => "tokio",
            Kind::Smol => "smol",
            Kind::Typed => "typed",
            Kind::Rmcp => "rmcp",
            Kind::Bridge => "bridge",
            Kind::Hyper => "hyper",
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Sse => "sse",
            Mode::Json => "json",
            Mode::Legacy => "legacy",
        })
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.to_string() == s)
            .ok_or_else(|| {
                format!("unknown server `{s}` (tokio, smol, typed, rmcp, bridge, hyper)")
            })
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.to_string() == s)
            .ok_or_else(|| format!("unknown mode `{s}` (sse, json, legacy)"))
    }
}

/// Raises RLIMIT_NOFILE as far as allowed: to 1 Mi when we may raise the hard limit (root),
/// else the soft limit up to the hard one. 50k idle streams need 50k descriptors per side.
pub(crate) fn raise_nofile() -> u64 {
    const WANTED: u64 = 1 << 20;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, WANTED, WANTED).is_ok() {
        return WANTED;
    }
    rlimit::increase_nofile_limit(WANTED).unwrap_or(0)
}

/// `mcp-load serve <kind> --mode <mode>`: never returns unless binding fails.
pub(crate) fn serve(kind: Kind, mode: Mode) -> io::Result<()> {
    raise_nofile();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    // The parent reads this line to learn where we are.
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{port}")?;
    stdout.flush()?;
    drop(stdout);
    if kind == Kind::Smol {
        return serve_smol(listener, mode);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        match kind {
            Kind::Tokio => mcp_sse_tokio::serve(listener, config(mode), Echo).await,
            Kind::Typed => {
                let server = typed_echo();
                let mut config = config(mode);
                server.configure(&mut config);
                mcp_sse_tokio::serve(listener, config, server).await
            }
            Kind::Rmcp => serve_rmcp(listener, mode).await,
            Kind::Bridge => {
                let server = RmcpEcho::new();
                mcp_sse_rmcp::serve(listener, config(mode), move || Ok(server.clone())).await
            }
            Kind::Hyper | Kind::Smol => serve_hyper(listener, mode).await,
        }
    })
}

/// Our configuration for each mode.
fn config(mode: Mode) -> Config {
    let mut config = Config::default();
    match mode {
        Mode::Sse => {
            config.response_mode = ResponseMode::Sse;
            config.max_sessions = 200_000;
            // Long enough that nothing expires during a run (the idle run holds 50k sessions
            // for a while).
            config.idle_timeout = Some(Duration::from_secs(3600));
            config.init_timeout = Some(Duration::from_secs(3600));
            // What resumability costs: with it, every answered stream stays resumable
            // (`replay_age`, up to `replay_total_bytes` / 512 streams).
            if std::env::var_os("MCP_LOAD_NO_REPLAY").is_some() {
                config.resumable = false;
            }
        }
        Mode::Json => {
            config.stateless = true;
            config.response_mode = ResponseMode::Json;
        }
        Mode::Legacy => {}
    }
    config
}

/// smol's global executor runs the connections; the parent sets `SMOL_THREADS` to the same
/// count as [`workers`]. The accept loop runs as a task on that executor too (not on the main thread),
/// so that smol gets the same threads as the tokio servers.
fn serve_smol(listener: std::net::TcpListener, mode: Mode) -> io::Result<()> {
    let listener = smol::Async::new(listener)?;
    smol::block_on(smol::spawn(mcp_sse_smol::serve(
        listener,
        config(mode),
        Echo,
    )))
}

/// The bare HTTP stack: every POST gets the same small JSON-RPC result. The request body is
/// read in full, as every MCP server must. In `sse` mode the result is one SSE event in a
/// `text/event-stream` body of unknown length (chunked, as every SSE answer is), else a JSON
/// body with its length.
async fn serve_hyper(listener: tokio::net::TcpListener, mode: Mode) -> io::Result<()> {
    let message = format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"content":[{{"type":"text","text":"{MESSAGE}"}}]}}}}"#
    );
    let (content_type, body) = match mode {
        Mode::Sse => (
            "text/event-stream",
            Bytes::from(format!("event: message\ndata: {message}\n\n")),
        ),
        Mode::Json | Mode::Legacy => ("application/json", Bytes::from(message)),
    };
    let chunked = mode == Mode::Sse;
    loop {
        let socket = accept(&listener).await;
        let body = body.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let body = body.clone();
            async move {
                let _ = request.into_body().collect().await;
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", content_type)
                        .body(Once {
                            data: Some(body),
                            chunked,
                        })
                        .unwrap_or_default(),
                )
            }
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

/// A body of one frame: with its length (`Content-Length`), or, `chunked`, without (an SSE
/// stream's answer).
#[derive(Default)]
struct Once {
    data: Option<Bytes>,
    chunked: bool,
}

impl hyper::body::Body for Once {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.chunked) {
            (_, true) => SizeHint::default(),
            (Some(data), false) => SizeHint::with_exact(data.len() as u64),
            (None, false) => SizeHint::with_exact(0),
        }
    }
}

/// The next connection, TCP_NODELAY on. Out of descriptors and the like: back off and retry,
/// as our adapters do, rather than end the server.
async fn accept(listener: &tokio::net::TcpListener) -> tokio::net::TcpStream {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let _ = socket.set_nodelay(true);
                return socket;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The typed layer

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct TypedEcho {
    /// The text to send back.
    message: String,
}

/// The `echo` tool on `mcp-sse-server`, written as its users write one.
fn typed_echo() -> mcp_sse_server::McpServer {
    async fn echo(
        TypedEcho { message }: TypedEcho,
        _cx: mcp_sse_server::Context,
    ) -> Result<String, mcp_sse_server::Error> {
        Ok(message)
    }
    mcp_sse_server::McpServer::builder("mcp-sse-bench", env!("CARGO_PKG_VERSION"))
        .tool(mcp_sse_server::Tool::new(
            "echo",
            "Returns its message argument unchanged.",
            echo,
        ))
        .build(mcp_sse_tokio::Tokio::current())
}

// ---------------------------------------------------------------------------------------------
// rmcp

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct EchoRequest {
    /// The text to send back.
    message: String,
}

/// rmcp's `echo` server, written the way its own tests and examples write one: `#[tool]`
/// methods, a `ToolRouter` kept in the server, `#[tool_handler]` for `tools/list` and
/// `tools/call`.
#[derive(Debug, Clone)]
struct RmcpEcho {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl RmcpEcho {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Returns its message argument unchanged.")]
    fn echo(&self, Parameters(EchoRequest { message }): Parameters<EchoRequest>) -> String {
        message
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for RmcpEcho {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// rmcp's `StreamableHttpService` on hyper's HTTP/1.1 server, TCP_NODELAY on every socket
/// (as ours). `sse`: sessions, answers as SSE streams (its defaults); `json`: stateless, JSON
/// answers.
async fn serve_rmcp(listener: tokio::net::TcpListener, mode: Mode) -> io::Result<()> {
    let config = match mode {
        Mode::Json => StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
        Mode::Sse | Mode::Legacy => StreamableHttpServerConfig::default(),
    };
    // One router, built once; each session (or stateless request) gets a clone, as the
    // service factory is called per session.
    let server = RmcpEcho::new();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    loop {
        let socket = accept(&listener).await;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
