//! The example MCP server: `cargo run --release -p mcp-sse-tokio --example server`.
//!
//! Serves `/mcp`, `/sse` and `/messages` on 127.0.0.1:8000 (`--bind ADDR:PORT` to change). The
//! application is in [`fixture`]: the tools, resources and prompts the official MCP conformance
//! suite exercises, plus the tools `echo` and `add`, for session clients (2024-11-05 to
//! 2025-11-25) and sessionless 2026-07-28 clients alike. Logs go to stderr; `RUST_LOG=debug`
//! shows more. Ctrl-C (SIGINT) shuts down gracefully. `mcp-sse-smol`'s example serves the same
//! fixture with the same flags ([`cli`]) on smol.

mod cli;
mod fixture;

use mcp_sse_tokio::{Tokio, serve_with_shutdown};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    cli::init_logging("mcp_sse_tokio");
    let bind = cli::bind_address();
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    cli::announce(listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let fixture = fixture::Fixture::new(Tokio::current());
    serve_with_shutdown(listener, cli::config(), fixture, shutdown).await
}
