//! The example server's tools, resource and prompt, one definition for the example of each
//! adapter (`mcp-sse-tokio`'s `server`, `mcp-sse-smol`'s `server-smol`), which add the runtime,
//! the command line ([`cli`](crate::cli)) and the socket: `echo`, `add`, `slow_work` (which
//! reports progress), `whoami` (the caller's principal), a text resource and a prompt.

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::content::{text, user};
use crate::schema::PromptMessage;
use crate::{Context, Error, McpServer, NoArguments, Prompt, Resource, ServerBuilder, Tool};

/// The example server, to be built on a runtime.
pub fn server() -> ServerBuilder {
    McpServer::builder("mcp-sse-example", env!("CARGO_PKG_VERSION"))
        .instructions("Echoes text, adds numbers, and shows progress; reviews code.")
        .tool(Tool::new("echo", "Returns its text unchanged.", echo))
        .tool(Tool::new("add", "Adds two numbers.", add))
        .tool(
            Tool::new(
                "slow_work",
                "Works in steps (three by default, 50 ms apart), reporting progress.",
                slow_work,
            )
            // Nothing changes: in a cluster, a call whose instance died runs again.
            .annotations(json!({ "readOnlyHint": true })),
        )
        .tool(Tool::new(
            "whoami",
            "Says who the caller's bearer token is for.",
            whoami,
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
}

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
struct SlowWork {
    /// How many steps (default 3, at most 1,000).
    steps: Option<u32>,
    /// Milliseconds between steps (default 50, at most 10,000).
    interval_ms: Option<u64>,
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

/// `steps` steps `interval_ms` apart (3 and 50 by default), reporting progress from 0 to 100 of
/// 100 to a client that asks: long ones show a stream surviving its instance.
async fn slow_work(work: SlowWork, cx: Context) -> Result<String, Error> {
    let steps = work.steps.unwrap_or(3).clamp(1, 1000);
    let interval = Duration::from_millis(work.interval_ms.unwrap_or(50).min(10_000));
    for step in 0..steps {
        if step > 0 {
            cx.sleep(interval).await;
        }
        let progress = match steps {
            1 => 100.0,
            _ => f64::from(step) * 100.0 / f64::from(steps - 1),
        };
        cx.progress(progress, Some(100.0), None).await;
    }
    Ok(format!("Done, in {steps} steps."))
}

/// Who the caller's bearer token is for (with `--resource` and `--auth-token` or
/// `--jwt-issuer`).
async fn whoami(_: NoArguments, cx: Context) -> Result<String, Error> {
    Ok(match cx.principal() {
        Some(principal) => format!(
            "{} (scopes: {})",
            principal.subject,
            principal.scopes.join(" ")
        ),
        None => "anonymous".to_owned(),
    })
}

async fn review(Review { code }: Review, _cx: Context) -> Result<Vec<PromptMessage>, Error> {
    Ok(vec![user(text(format!(
        "Please review this code:\n\n{code}"
    )))])
}
