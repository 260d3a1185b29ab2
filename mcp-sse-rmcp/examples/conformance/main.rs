//! The conformance fixture as an rmcp `ServerHandler` ([`fixture`]), served through the bridge
//! on every transport generation, or (`--rmcp`) through rmcp's own `StreamableHttpService`
//! with its `LocalSessionManager` on `/mcp`, so that the two can be compared:
//!
//! ```sh
//! cargo run --release -p mcp-sse-rmcp --example conformance -- --bind 127.0.0.1:8000 [--rmcp]
//! ```
//!
//! Ctrl-C (SIGINT) stops it (gracefully through the bridge).

mod fixture;

use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,mcp_sse_rmcp=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut bind, mut rmcp_own) = ("127.0.0.1:8000".to_owned(), false);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (arg.as_str(), rest.clone().next()) {
            ("--bind", Some(addr)) => {
                bind = addr.clone();
                rest.next();
            }
            ("--rmcp", _) => rmcp_own = true,
            _ => {
                eprintln!("usage: conformance [--bind ADDR:PORT] [--rmcp]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    let shared = fixture::Shared::new();
    let factory = move || Ok(fixture::Fixture::new(shared.clone()));
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if !rmcp_own {
        tracing::info!(
            "the fixture through mcp-sse-rmcp on http://{}/mcp",
            listener.local_addr()?
        );
        return mcp_sse_rmcp::serve_with_shutdown(listener, Default::default(), factory, ctrl_c)
            .await;
    }
    // rmcp's own service, with its defaults, on hyper's HTTP/1.1 server as its own examples
    // serve it (through axum), answering `/mcp` only.
    tracing::info!(
        "the fixture through rmcp's StreamableHttpService on http://{}/mcp",
        listener.local_addr()?
    );
    let service = StreamableHttpService::new(
        factory,
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let serve = axum::serve(listener, router);
    tokio::select! {
        served = serve => served,
        () = ctrl_c => Ok(()),
    }
}
