//! # mcp-sse-rmcp
//!
//! Serves any [rmcp](https://docs.rs/rmcp) `ServerHandler` (the official Rust MCP SDK:
//! `#[tool_router]`, `#[tool]`, `ServerHandler`) over mcp-sse, on every transport generation at
//! once: the 2024-11-05 HTTP+SSE transport (`GET /sse` + `POST /messages`, and the seed's variant
//! on `/mcp`), Streamable HTTP with sessions (2025-03-26 to 2025-11-25) and sessionless
//! 2026-07-28 requests, on one endpoint. Where rmcp's own `StreamableHttpService` is built, build
//! this instead:
//!
//! ```no_run
//! # use rmcp::{ServerHandler, model::ServerConfig};
//! # #[derive(Clone)] struct Counter;
//! # impl Counter { fn new() -> Self { Counter } }
//! # impl ServerHandler for Counter { fn get_info(&self) -> ServerConfig { ServerConfig::default() } }
//! # async fn run() -> std::io::Result<()> {
//! let (service, _handle) = mcp_sse_rmcp::service(mcp_sse_rmcp::Config::default(), || Ok(Counter::new()));
//! let router = axum::Router::new().fallback_service(service); // /mcp, /sse, /messages
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, router).await
//! # }
//! ```
//!
//! ## How it is served
//!
//! - A session (2024-11-05, or Streamable HTTP) gets one rmcp service, made by the factory and
//!   run with `serve_server` on a transport of this crate's, started by the session's first
//!   request (`initialize`) and ended with the session (deleted, expired, its stream closed, or
//!   the server shut down), which cancels every handler's `CancellationToken`.
//! - A request without a session (2026-07-28, or [`Config::stateless`] serving) gets one rmcp
//!   service of its own, through rmcp's one-shot path (`OneshotTransport`).
//! - What a service sends is routed as rmcp's own session manager routes it: a response by
//!   its request id; progress by its token to the stream of the request that owns it; a request
//!   to the client (sampling, elicitation, roots) to the stream of the request whose handler
//!   sent it, its answer back to the service; everything else to the session's stream.
//! - A client's `notifications/cancelled`, a 2026-07-28 response stream the client closed, and
//!   an ended session reach the handler's `RequestContext::ct`; a request whose service ends
//!   without answering is answered `-32603`.
//! - Handlers find the HTTP request head in their context's extensions as `http::request::Parts`,
//!   as with rmcp's own service, and the mcp-sse [`RequestContext`] beside it (the transport, the
//!   session, `close_stream` for 2025-11-25 polling).
//! - The core judges 2026-07-28 requests before any handler runs, so [`Bridge::declare`] reads
//!   from the handler the methods it serves, the listen kinds it offers and its tools'
//!   `x-mcp-header` parameters into [`Config::v2026`]; [`service`] and [`serve`] do it for you.
//! - 2026-07-28 `subscriptions/listen` streams are held by the core: the list changes any
//!   service announces (`peer.notify_tool_list_changed()` and the like) are published to them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bridge;
mod declare;
mod oneshot;
mod session;
mod wire;

use std::future::Future;

pub use bridge::Bridge;
pub use mcp_sse_app::{Config, Handle, Principal, RequestContext, Transport};
pub use mcp_sse_tokio::McpService;
use rmcp::ServerHandler;
use tokio::net::TcpListener;

/// The tower `Service` that serves the handlers `factory` makes on every transport generation,
/// with the `Config::v2026` fields derived from them ([`Bridge::declare`]), and its [`Handle`].
///
/// It answers the paths of `config` (`/mcp`, `/sse`, `/messages` by default) itself: mount it
/// whole, e.g. with axum's `Router::fallback_service`. Call it inside a tokio runtime.
pub fn service<S: ServerHandler>(
    config: Config,
    factory: impl Fn() -> std::io::Result<S> + Send + Sync + 'static,
) -> (McpService, Handle) {
    let bridge = Bridge::new(factory);
    McpService::new(bridge.declare(config), bridge)
}

/// Serves the handlers `factory` makes on `listener` until the process ends (HTTP/1.1, and
/// HTTP/2 with prior knowledge), with the `Config::v2026` fields derived from them.
pub async fn serve<S: ServerHandler>(
    listener: TcpListener,
    config: Config,
    factory: impl Fn() -> std::io::Result<S> + Send + Sync + 'static,
) -> std::io::Result<()> {
    serve_with_shutdown(listener, config, factory, std::future::pending()).await
}

/// Like [`serve`], until `signal` resolves; then shuts down gracefully (every stream finished
/// with a reconnection hint, every session's service ended).
pub async fn serve_with_shutdown<S: ServerHandler>(
    listener: TcpListener,
    config: Config,
    factory: impl Fn() -> std::io::Result<S> + Send + Sync + 'static,
    signal: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let bridge = Bridge::new(factory);
    let config = bridge.declare(config);
    mcp_sse_tokio::serve_with_shutdown(listener, config, bridge, signal).await
}
