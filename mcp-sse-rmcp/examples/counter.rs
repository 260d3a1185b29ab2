//! An rmcp server (a counter per session, echo, progress, elicitation) on every MCP transport
//! generation: `cargo run --release -p mcp-sse-rmcp --example counter -- --bind 127.0.0.1:8000`.

use std::sync::{Arc, Mutex};

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{ProgressNotificationParam, RequestMetaObject, ServerCapabilities, ServerConfig};
use rmcp::{Peer, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};

#[derive(Clone)]
struct Counter {
    count: Arc<Mutex<i64>>,
    tool_router: ToolRouter<Self>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Echo {
    text: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Name {
    name: String,
}
rmcp::elicit_safe!(Name);

#[tool_router]
impl Counter {
    fn new() -> Self {
        let (count, tool_router) = (Arc::default(), Self::tool_router());
        Self { count, tool_router }
    }

    #[tool(description = "Adds one to the counter and returns it.")]
    fn increment(&self) -> String {
        let mut count = self.count.lock().unwrap();
        *count += 1;
        count.to_string()
    }

    #[tool(description = "Returns its text unchanged.")]
    fn echo(&self, Parameters(Echo { text }): Parameters<Echo>) -> String {
        text
    }

    #[tool(description = "Reports progress 0, 50 and 100 of 100, then answers.")]
    async fn progress(&self, meta: RequestMetaObject, peer: Peer<RoleServer>) -> String {
        for step in [0.0, 50.0, 100.0] {
            if let Some(token) = meta.get_progress_token() {
                let param = ProgressNotificationParam::new(token, step).with_total(100.0);
                let _ = peer.notify_progress(param).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        "done".into()
    }

    #[tool(description = "Asks for your name by elicitation and greets you.")]
    async fn greet(&self, peer: Peer<RoleServer>) -> String {
        match peer.elicit::<Name>("What is your name?").await {
            Ok(Some(Name { name })) => format!("Hello, {name}!"),
            Ok(None) => "Hello, whoever you are!".into(),
            Err(error) => format!("No name: {error}"),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Counter {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip_while(|arg| arg != "--bind");
    let bind = args.nth(1).unwrap_or_else(|| "127.0.0.1:8000".into());
    // With rmcp's own service: StreamableHttpService::new(|| Ok(Counter::new()), ...) at "/mcp".
    let (service, handle) = mcp_sse_rmcp::service(Default::default(), || Ok(Counter::new()));
    let router = axum::Router::new().fallback_service(service); // /mcp, /sse, /messages
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let addr = listener.local_addr()?;
    eprintln!("MCP server on http://{addr}/mcp (2024-11-05: /sse)");
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await; // ends every stream, so that connections can close
    };
    let server = axum::serve(listener, router);
    server.with_graceful_shutdown(shutdown).await
}
