//! What the two example servers (`mcp-sse-tokio`'s and `mcp-sse-smol`'s) share besides the
//! application: the flags, the logging and the configuration. Each `main.rs` adds only its
//! runtime: the listener, the Ctrl-C signal and `serve_with_shutdown`.

use std::net::SocketAddr;

use mcp_sse_app::Config;
use mcp_sse_app::core::{ListenSupport, ToolHeader};

use crate::fixture;

/// Where the server listens unless `--bind` says otherwise.
const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// Logs to stderr (stdout stays free for whoever runs us; logs are diagnostics), at `info`
/// and at `debug` for the driver and the adapter (`RUST_LOG` overrides).
pub(crate) fn init_logging(adapter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| format!("info,mcp_sse_app=debug,{adapter}=debug").into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The address to bind (`--bind ADDR:PORT`); prints the usage and exits on anything else.
pub(crate) fn bind_address() -> String {
    let mut args = std::env::args().skip(1);
    let mut bind = DEFAULT_BIND.to_owned();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(addr)) => bind = addr,
            _ => {
                eprintln!("usage: server [--bind ADDR:PORT]");
                std::process::exit(2);
            }
        }
    }
    bind
}

/// The line that says where the server is.
pub(crate) fn announce(local: SocketAddr) {
    tracing::info!("MCP server on http://{local}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse");
}

/// The defaults, plus what the core must know of the fixture to judge 2026-07-28 requests
/// before they reach it: the methods it serves (others get `404` + `-32601`), the
/// `subscriptions/listen` notifications it produces, and the tool parameters clients mirror in
/// `Mcp-Param-*` headers.
pub(crate) fn config() -> Config {
    let mut config = Config::default();
    config.v2026.methods = fixture::MODERN_METHODS.map(str::to_owned).to_vec();
    config.v2026.listen = ListenSupport::all();
    config.v2026.tool_headers = ToolHeader::from_tools(&fixture::tool_list());
    config
}
