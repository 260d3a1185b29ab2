//! The example MCP server on smol: `cargo run --release -p mcp-sse-smol --example server-smol`.
//!
//! A small real server on the typed layer (`mcp-sse-server`): the tools `echo`, `add` and
//! `slow_work` (which reports progress), a resource and a prompt. It serves `/mcp` (Streamable
//! HTTP, 2025-03-26 to 2026-07-28) and `/sse` + `/messages` (2024-11-05) on 127.0.0.1:8000
//! (`--bind ADDR:PORT` to change). Logs go to stderr (`RUST_LOG=debug` for more); Ctrl-C stops
//! it gracefully. The same server as `mcp-sse-tokio`'s example; tasks run on smol's global
//! executor (`SMOL_THREADS` threads, default 1).

use std::time::Duration;

use async_signal::{Signal, Signals};
use mcp_sse_server::content::{text, user};
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
        let listener = smol::Async::new(std::net::TcpListener::bind(bind_address())?)?;
        let local = listener.get_ref().local_addr()?;
        tracing::info!(
            "MCP server on http://{local}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse"
        );
        let mut interrupts = Signals::new([Signal::Int])?;
        let shutdown = async move {
            interrupts.next().await;
        };
        serve_with_shutdown(listener, server.config(), server, shutdown).await
    })
}

/// `--bind ADDR:PORT`, else 127.0.0.1:8000; prints the usage and exits on anything else.
fn bind_address() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => "127.0.0.1:8000".to_owned(),
        [flag, address] if flag == "--bind" => address.clone(),
        _ => {
            eprintln!("usage: server-smol [--bind ADDR:PORT]");
            std::process::exit(2);
        }
    }
}
