//! The example MCP server: `cargo run --release -p mcp-sse-tokio --example server`.
//!
//! Serves `/mcp`, `/sse` and `/messages` on 127.0.0.1:8000 (`--bind ADDR:PORT` to change). The
//! application is in [`fixture`]: the tools, resources and prompts the official MCP conformance
//! suite exercises, plus the tools `echo` and `add`, for session clients (2024-11-05 to
//! 2025-11-25) and sessionless 2026-07-28 clients alike. Logs go to stderr; `RUST_LOG=debug`
//! shows more. Ctrl-C (SIGINT) shuts down gracefully.

mod fixture;

use mcp_sse_tokio::core::{ListenSupport, ToolHeader};
use mcp_sse_tokio::{Config, serve_with_shutdown};

/// Where the server listens unless `--bind` says otherwise.
const DEFAULT_BIND: &str = "127.0.0.1:8000";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mcp_sse_app=debug,mcp_sse_tokio=debug".into()),
        )
        // stdout stays free for whoever runs us; logs are diagnostics.
        .with_writer(std::io::stderr)
        .init();
    let Some(bind) = parse_args(std::env::args().skip(1)) else {
        eprintln!("usage: server [--bind ADDR:PORT]");
        std::process::exit(2);
    };
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    tracing::info!(
        "MCP server on http://{}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse",
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let fixture = fixture::Fixture::new(mcp_sse_tokio::Tokio::current());
    serve_with_shutdown(listener, config(), fixture, shutdown).await
}

/// The defaults, plus what the core must know of the fixture to judge 2026-07-28 requests
/// before they reach it: the methods it serves (others get `404` + `-32601`), the
/// `subscriptions/listen` notifications it produces, and the tool parameters clients mirror in
/// `Mcp-Param-*` headers.
fn config() -> Config {
    let mut config = Config::default();
    config.modern.methods = fixture::MODERN_METHODS.map(str::to_owned).to_vec();
    config.modern.listen = ListenSupport::all();
    config.modern.tool_headers = ToolHeader::from_tools(&fixture::tool_list());
    config
}

/// The address to bind, or `None` when the arguments are not understood.
fn parse_args(mut args: impl Iterator<Item = String>) -> Option<String> {
    let mut bind = DEFAULT_BIND.to_owned();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(addr)) => bind = addr,
            _ => return None,
        }
    }
    Some(bind)
}
