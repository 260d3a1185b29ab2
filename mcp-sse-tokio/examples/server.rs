//! The example MCP server: `cargo run --release -p mcp-sse-tokio --example server`.
//!
//! Serves `/mcp`, `/sse` and `/messages` on 127.0.0.1:8000 (`--bind ADDR:PORT` to change) with
//! the tools `echo` and `add`. Logs go to stderr; `RUST_LOG=debug` shows more.

use mcp_sse_tokio::jsonrpc::{self, ErrorObject};
use mcp_sse_tokio::{Config, Handler, RequestContext, serve_with_shutdown};
use serde_json::{Value, json};

/// Protocol versions this example speaks, newest first (S5.18).
const VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

struct Example;

impl Handler for Example {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params: Value = match &request.params {
            Some(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
            None => Value::Null,
        };
        match request.method.as_str() {
            "initialize" => Ok(initialize(&params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": tools() })),
            "tools/call" => call_tool(&cx, &params).await,
            method => Err(ErrorObject::new(
                jsonrpc::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }
}

/// Echoes the client's version when it is one we speak, else offers our newest (S5.14).
fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str().unwrap_or_default();
    let version = VERSIONS
        .iter()
        .find(|v| **v == asked)
        .unwrap_or(&VERSIONS[0]);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": { "listChanged": false } },
        "serverInfo": { "name": "mcp-sse-example", "version": env!("CARGO_PKG_VERSION") },
    })
}

fn tools() -> Value {
    json!([
        {
            "name": "echo",
            "description": "Returns its text argument unchanged.",
            "inputSchema": {
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"],
            },
        },
        {
            "name": "add",
            "description": "Adds two numbers, reporting progress when the caller asks for it.",
            "inputSchema": {
                "type": "object",
                "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
                "required": ["a", "b"],
            },
        },
    ])
}

async fn call_tool(cx: &RequestContext, params: &Value) -> Result<Value, ErrorObject> {
    let arguments = &params["arguments"];
    match params["name"].as_str() {
        Some("echo") => {
            let Some(text) = arguments["text"].as_str() else {
                return Err(invalid("echo needs a string argument `text`"));
            };
            Ok(text_result(text))
        }
        Some("add") => {
            let (Some(a), Some(b)) = (arguments["a"].as_f64(), arguments["b"].as_f64()) else {
                return Err(invalid("add needs numbers `a` and `b`"));
            };
            if let Some(token) = params["_meta"].get("progressToken") {
                let progress = json!({ "progressToken": token, "progress": 1, "total": 1 });
                // Progress is best effort: a full stream must not fail the call.
                let _ = cx.notify("notifications/progress", progress).await;
            }
            Ok(text_result(&(a + b).to_string()))
        }
        _ => Err(invalid("unknown tool")),
    }
}

fn text_result(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": false })
}

fn invalid(message: &str) -> ErrorObject {
    ErrorObject::new(jsonrpc::INVALID_PARAMS, message)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mcp_sse_tokio=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut bind = "127.0.0.1:8000".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--bind", Some(addr)) => bind = addr,
            _ => {
                eprintln!("usage: server [--bind ADDR:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    tracing::info!(
        "MCP server on http://{}: MCP endpoint /mcp, 2024-11-05 SSE endpoint /sse",
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_with_shutdown(listener, Config::default(), Example, shutdown).await
}
