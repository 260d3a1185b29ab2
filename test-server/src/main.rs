//! The server the official MCP conformance suite tests (`scripts/conformance-run.sh`): the
//! fixture's tools, resources and prompts ([`fixture`]) on the typed layer, served by either
//! adapter.
//!
//! ```text
//! mcp-sse-test-server [--adapter tokio|smol] [the example servers' flags: --help]
//! ```
//!
//! Serves `/mcp`, `/sse` and `/messages` (default 127.0.0.1:8000, tokio). Logs go to stderr
//! (`RUST_LOG` to change); Ctrl-C (SIGINT) shuts down gracefully.

mod fixture;

use std::net::TcpListener;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use mcp_sse_redis::{Options as RedisOptions, RedisStore};
use mcp_sse_server::Runtime;
use mcp_sse_server::cli::ServerArgs;
use mcp_sse_server::exporter::Exporter;
use mcp_sse_server::{Config, Options};
use mcp_sse_tokio::ServeConfig;

/// The MCP server the official conformance suite tests: its fixture's tools, resources and
/// prompts, on either adapter.
#[derive(Debug, Parser)]
struct Args {
    /// The runtime adapter to serve with.
    #[arg(long, value_enum, default_value_t = Adapter::Tokio)]
    adapter: Adapter,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Adapter {
    Tokio,
    Smol,
}

fn main() -> std::io::Result<()> {
    let Args { adapter, server } = Args::parse();
    server.init_logging("info,mcp_sse_app=debug");
    let listener = TcpListener::bind(server.bind)?;
    tracing::info!(
        "MCP test server ({adapter:?}) on http://{}: /mcp, /sse",
        listener.local_addr()?
    );
    let metrics = match server.metrics {
        Some(addr) => {
            let listener = TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            Some((Exporter::install()?, listener))
        }
        None => None,
    };
    match adapter {
        Adapter::Tokio => on_tokio(listener, metrics, &server),
        Adapter::Smol => on_smol(listener, metrics, &server),
    }
}

/// What the server's flags say of its serving, the cluster it joins with `--redis` included.
async fn serve_config(
    args: &ServerArgs,
    config: Config,
    runtime: Arc<dyn Runtime>,
) -> std::io::Result<ServeConfig> {
    let mut config = ServeConfig::from(args.configure(config));
    if let Some(url) = &args.redis {
        let joined = RedisStore::join(url, RedisOptions::default(), runtime, &mut config).await;
        joined.map_err(std::io::Error::other)?;
    }
    Ok(config)
}

/// The exporter and its listener, with `--metrics`.
type Metrics = Option<(Exporter, TcpListener)>;

fn on_tokio(listener: TcpListener, metrics: Metrics, args: &ServerArgs) -> std::io::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if let Some((exporter, listener)) = metrics {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(exporter.serve(mcp_sse_tokio::Tokio::current(), listener));
        }
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let options = args.options(Options::default());
        let server = fixture::server(mcp_sse_tokio::Tokio::current(), options);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        let runtime = Arc::new(mcp_sse_tokio::Tokio::current());
        let config = serve_config(args, server.config(), runtime).await?;
        mcp_sse_tokio::serve_with_shutdown(listener, config, server, shutdown).await
    })
}

fn on_smol(listener: TcpListener, metrics: Metrics, args: &ServerArgs) -> std::io::Result<()> {
    use async_signal::{Signal, Signals};
    use smol::stream::StreamExt;

    smol::block_on(async {
        if let Some((exporter, listener)) = metrics {
            let listener = smol::Async::new(listener)?;
            smol::spawn(exporter.serve(mcp_sse_smol::Smol::default(), listener)).detach();
        }
        let listener = smol::Async::new(listener)?;
        let options = args.options(Options::default());
        let server = fixture::server(mcp_sse_smol::Smol::default(), options);
        let mut interrupts = Signals::new([Signal::Int])?;
        let shutdown = async move {
            interrupts.next().await;
        };
        let runtime = Arc::new(mcp_sse_smol::Smol::default());
        let config = serve_config(args, server.config(), runtime).await?;
        mcp_sse_smol::serve_with_shutdown(listener, config, server, shutdown).await
    })
}
