//! The example MCP server on smol: `cargo run --release -p mcp-sse-smol --example server`.
//!
//! The same server as `mcp-sse-tokio`'s example, from the same files: the application
//! ([`fixture`]: the tools, resources and prompts the official MCP conformance suite exercises,
//! plus `echo` and `add`) and the flags, logging and configuration ([`cli`]). Serves `/mcp`,
//! `/sse` and `/messages` on 127.0.0.1:8000 (`--bind ADDR:PORT` to change); logs go to
//! stderr; Ctrl-C (SIGINT) shuts down gracefully. Tasks run on smol's global executor
//! (`SMOL_THREADS` threads, default 1).

#[path = "../../../mcp-sse-tokio/examples/server/cli.rs"]
mod cli;
#[path = "../../../mcp-sse-tokio/examples/server/fixture.rs"]
mod fixture;

use std::net::TcpListener;

use async_signal::{Signal, Signals};
use mcp_sse_smol::{Smol, serve_with_shutdown};
use smol::Async;
use smol::stream::StreamExt;

fn main() -> std::io::Result<()> {
    cli::init_logging("mcp_sse_smol");
    let bind = cli::bind_address();
    smol::block_on(async {
        let listener = Async::new(TcpListener::bind(&bind)?)?;
        cli::announce(listener.get_ref().local_addr()?);
        let mut interrupts = Signals::new([Signal::Int])?;
        let shutdown = async move {
            interrupts.next().await;
        };
        let fixture = fixture::Fixture::new(Smol::default());
        serve_with_shutdown(listener, cli::config(), fixture, shutdown).await
    })
}
