//! The example MCP server on smol: `cargo run --release -p mcp-sse-smol --example server-smol`.
//!
//! A small real server on the typed layer (`mcp-sse-server`): the tools `echo`, `add` and
//! `slow_work` (which reports progress), a resource and a prompt. It serves `/mcp` (Streamable
//! HTTP, 2025-03-26 to 2026-07-28) and `/sse` + `/messages` (2024-11-05) on 127.0.0.1:8000;
//! `--help` lists the flags (`--bind ADDR:PORT`, allowed origins, proxy prefix, bounds, log
//! format, `--metrics ADDR:PORT` for a Prometheus exporter; `mcp_sse_server::cli`). Logs go to
//! stderr (`RUST_LOG=debug` for more); Ctrl-C stops it gracefully. The same server as
//! `mcp-sse-tokio`'s example; tasks run on smol's global executor (`SMOL_THREADS` threads,
//! default 1).

use std::time::Duration;

use async_signal::{Signal, Signals};
use mcp_sse_server::cli::ServerArgs;
use mcp_sse_server::content::{text, user};
use mcp_sse_server::exporter::Exporter;
use mcp_sse_server::schema::PromptMessage;
use mcp_sse_server::{Context, Error, McpServer, NoArguments, Prompt, Resource, Tool};
use mcp_sse_smol::{Smol, serve_with_shutdown};
use schemars::JsonSchema;
use serde::Deserialize;
use smol::stream::StreamExt;

#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// The text to send back.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Add {
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
}

#[derive(Deserialize, JsonSchema)]
struct Review {
    /// The code to review.
    code: String,
}

async fn echo(Echo { text }: Echo, _cx: Context) -> Result<String, Error> {
    Ok(text)
}

async fn add(Add { a, b }: Add, _cx: Context) -> Result<String, Error> {
    Ok((a + b).to_string())
}

/// Three steps 50 ms apart, reporting progress 0, 50 and 100 of 100 to a client that asks.
async fn slow_work(_: NoArguments, cx: Context) -> Result<String, Error> {
    for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if step > 0 {
            cx.sleep(Duration::from_millis(50)).await;
        }
        cx.progress(progress, Some(100.0), None).await;
    }
    Ok("Done, in three steps.".to_owned())
}

async fn review(Review { code }: Review, _cx: Context) -> Result<Vec<PromptMessage>, Error> {
    Ok(vec![user(text(format!(
        "Please review this code:\n\n{code}"
    )))])
}

fn main() -> std::io::Result<()> {
    let args = ServerArgs::from_env();
    args.init_logging("info");
    let server = McpServer::builder("mcp-sse-example", env!("CARGO_PKG_VERSION"))
        .instructions("Echoes text, adds numbers, and shows progress; reviews code.")
        .tool(Tool::new("echo", "Returns its text unchanged.", echo))
        .tool(Tool::new("add", "Adds two numbers.", add))
        .tool(Tool::new(
            "slow_work",
            "Works in three steps, reporting progress.",
            slow_work,
        ))
        .resource(
            Resource::text(
                "example://readme",
                "readme",
                "text/plain",
                "Hello from mcp-sse!",
            )
            .description("A short text resource."),
        )
        .prompt(Prompt::new("review", "Asks for a code review.", review))
        .build(Smol::default());

    smol::block_on(async {
        if let Some(addr) = args.metrics {
            let exporter = Exporter::install()?;
            let listener = smol::Async::<std::net::TcpListener>::bind(addr)?;
            smol::spawn(exporter.serve(Smol::default(), listener)).detach();
        }
        let listener = smol::Async::<std::net::TcpListener>::bind(args.bind)?;
        let local = listener.get_ref().local_addr()?;
        tracing::info!(
            "MCP server on http://{local}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse"
        );
        let mut interrupts = Signals::new([Signal::Int])?;
        let shutdown = async move {
            interrupts.next().await;
        };
        let config = args.configure(server.config());
        serve_with_shutdown(listener, config, server, shutdown).await
    })
}
