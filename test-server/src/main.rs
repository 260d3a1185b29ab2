//! The server the official MCP conformance suite tests (`scripts/conformance-run.sh`): the
//! fixture's tools, resources and prompts ([`fixture`]) on the typed layer, served by either
//! adapter.
//!
//! ```text
//! mcp-sse-test-server [--adapter tokio|smol] [--bind ADDR:PORT]
//! ```
//!
//! Serves `/mcp`, `/sse` and `/messages` (default 127.0.0.1:8000, tokio). Logs go to stderr
//! (`RUST_LOG` to change); Ctrl-C (SIGINT) shuts down gracefully.

mod fixture;

use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mcp_sse_app=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut adapter = "tokio".to_owned();
    let mut bind = "127.0.0.1:8000".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--adapter", Some(name)) if name == "tokio" || name == "smol" => adapter = name,
            ("--bind", Some(address)) => bind = address,
            _ => {
                eprintln!("usage: mcp-sse-test-server [--adapter tokio|smol] [--bind ADDR:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(&bind)?;
    tracing::info!(
        "MCP test server ({adapter}) on http://{}: /mcp, /sse",
        listener.local_addr()?
    );
    if adapter == "smol" {
        on_smol(listener)
    } else {
        on_tokio(listener)
    }
}

fn on_tokio(listener: TcpListener) -> std::io::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let server = fixture::server(mcp_sse_tokio::Tokio::current());
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let config = server.config();
        mcp_sse_tokio::serve_with_shutdown(listener, config, server, shutdown).await
    })
}

fn on_smol(listener: TcpListener) -> std::io::Result<()> {
    use async_signal::{Signal, Signals};
    use smol::stream::StreamExt;

    smol::block_on(async {
        let listener = smol::Async::new(listener)?;
        let server = fixture::server(mcp_sse_smol::Smol::default());
        let mut interrupts = Signals::new([Signal::Int])?;
        let shutdown = async move {
            interrupts.next().await;
        };
        let config = server.config();
        mcp_sse_smol::serve_with_shutdown(listener, config, server, shutdown).await
    })
}
