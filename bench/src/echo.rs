//! The application our two adapters serve in the benchmark: `initialize`, `tools/list`, one
//! tool `echo`, `ping`. Shared by the tokio and the smol server so that they differ only in
//! the runtime. Kept as small as rmcp's `#[tool]` server, so the comparison is between
//! transports, not applications.

use mcp_sse_app::jsonrpc::{self, ErrorObject};
use mcp_sse_app::{Handler, RequestContext};
use serde::Deserialize;
use serde_json::{Value, json};

/// The session-era versions we answer with as asked; any other gets the newest of them.
const VERSIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Echo;

/// `tools/call` params, typed: rmcp deserializes into a struct too.
#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<EchoArgs>,
}

#[derive(Deserialize)]
struct EchoArgs {
    message: String,
}

#[derive(Deserialize)]
struct InitializeParams {
    #[serde(rename = "protocolVersion", default)]
    protocol_version: String,
}

impl Handler for Echo {
    async fn request(
        &self,
        _cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params = request.params.as_deref().map_or("{}", |raw| raw.get());
        match request.method.as_str() {
            "initialize" => {
                let asked: InitializeParams = parse(params)?;
                let version = VERSIONS
                    .into_iter()
                    .find(|version| *version == asked.protocol_version)
                    .unwrap_or(VERSIONS[3]);
                Ok(json!({
                    "protocolVersion": version,
                    "capabilities": { "tools": {} },
                    "serverInfo": { "name": "mcp-sse-bench", "version": env!("CARGO_PKG_VERSION") },
                }))
            }
            "tools/list" => Ok(json!({ "tools": [tool()] })),
            "tools/call" => {
                let call: CallParams = parse(params)?;
                match (call.name.as_str(), call.arguments) {
                    ("echo", Some(EchoArgs { message })) => {
                        Ok(json!({ "content": [{ "type": "text", "text": message }] }))
                    }
                    ("echo", None) => Err(ErrorObject::invalid_params("echo needs `message`")),
                    (name, _) => Err(ErrorObject::invalid_params(format!("Unknown tool: {name}"))),
                }
            }
            "ping" => Ok(json!({})),
            method => Err(ErrorObject::method_not_found(method)),
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(params: &'a str) -> Result<T, ErrorObject> {
    serde_json::from_str(params).map_err(|error| ErrorObject::invalid_params(error.to_string()))
}

fn tool() -> Value {
    json!({
        "name": "echo",
        "description": "Returns its message argument unchanged.",
        "inputSchema": {
            "type": "object",
            "properties": { "message": { "type": "string" } },
            "required": ["message"],
        },
    })
}
