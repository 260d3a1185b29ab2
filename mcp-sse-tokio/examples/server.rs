//! The example MCP server: `cargo run --release -p mcp-sse-tokio --example server`.
//!
//! A small real server on the typed layer (`mcp-sse-server`): the tools `echo`, `add`,
//! `slow_work` (which reports progress) and `whoami`, a resource and a prompt, defined once for
//! both adapters' examples in `mcp_sse_server::example` (mcp-sse-server/src/example.rs). It
//! serves `/mcp` (Streamable HTTP, 2025-03-26 to 2026-07-28) and `/sse` + `/messages`
//! (2024-11-05) on 127.0.0.1:8000; `--help` lists the flags (`--bind ADDR:PORT`, allowed
//! origins, proxy prefix, bounds, log format, authorization, `--metrics ADDR:PORT` for a
//! Prometheus exporter, `--redis URL` to be one of several instances; `mcp_sse_server::cli`). Logs go to
//! stderr (`RUST_LOG=debug` for more); Ctrl-C stops it gracefully. `mcp-sse-smol`'s example is
//! the same server on smol.

use std::sync::Arc;

use mcp_sse_app::auth::jwt::HttpFetch;
use mcp_sse_redis::{Options as RedisOptions, RedisStore};
use mcp_sse_server::Options;
use mcp_sse_server::cli::ServerArgs;
use mcp_sse_server::example;
use mcp_sse_server::exporter::Exporter;
use mcp_sse_tokio::{ServeConfig, Tokio, serve_with_shutdown};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = ServerArgs::from_env();
    args.init_logging("info");
    let options = args.options(Options::default());
    let server = example::server().options(options).build(Tokio::current());

    if let Some(addr) = args.metrics {
        let exporter = Exporter::install()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tokio::spawn(exporter.serve(Tokio::current(), listener));
    }
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let local = listener.local_addr()?;
    tracing::info!("MCP server on http://{local}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let mut config = ServeConfig::from(args.configure(server.config()));
    let fetch = Arc::new(HttpFetch::new(Tokio::current()));
    config.authenticator = args.authenticator(fetch).map_err(std::io::Error::other)?;
    if let Some(url) = &args.redis {
        let runtime = Arc::new(Tokio::current());
        let joined = RedisStore::join(url, RedisOptions::default(), runtime, &mut config).await;
        joined.map_err(std::io::Error::other)?;
    }
    serve_with_shutdown(listener, config, server, shutdown).await
}
