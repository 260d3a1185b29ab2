//! [`Exporter`]: the server's metrics in Prometheus' text format at `GET /metrics` (feature
//! `cli`), for a server binary's `--metrics ADDR:PORT`.
//!
//! The server reports through the `metrics` facade; this installs `metrics-exporter-prometheus`'
//! recorder as the process's global one and serves what it renders, on the server's own runtime
//! through [`Network`], so that no other runtime comes with it (the exporter's own listener would
//! bring tokio's).
//!
//! ```no_run
//! use mcp_sse_server::exporter::Exporter;
//!
//! # async fn run() -> std::io::Result<()> {
//! let exporter = Exporter::install()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
//! tokio::spawn(exporter.serve(mcp_sse_tokio::Tokio::current(), listener));
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use mcp_sse_app::Network;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The histogram buckets of `mcp_handler_duration_seconds`, in seconds: 1 ms to 30 s.
const HANDLER_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How long a scraper may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the recorder's upkeep runs while nobody scrapes: histogram samples are kept until
/// then, so this bounds their memory (the exporter's own listener does the same, every 5 s).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The recorder's settings: the handler latency histogram's buckets.
fn builder() -> io::Result<PrometheusBuilder> {
    let handler = Matcher::Full("mcp_handler_duration_seconds".into());
    PrometheusBuilder::new()
        .set_buckets_for_metric(handler, HANDLER_BUCKETS)
        .map_err(io::Error::other)
}

/// The process's metrics, rendered for Prometheus. Clones share one recorder.
#[derive(Clone, Debug)]
pub struct Exporter {
    handle: PrometheusHandle,
}

impl Exporter {
    /// Installs the Prometheus recorder as the process's global `metrics` recorder (before the
    /// server starts, so that the metrics' descriptions reach it too). Fails when a global
    /// recorder is installed already.
    pub fn install() -> io::Result<Self> {
        let handle = builder()?.install_recorder().map_err(io::Error::other)?;
        Ok(Self { handle })
    }

    /// Every metric, in Prometheus' text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Answers `GET /metrics` on `listener` (HTTP/1.1) until the future is dropped; other paths
    /// get `404`, other methods `405`. Meanwhile runs the recorder's upkeep every
    /// [`UPKEEP_INTERVAL`], so that unscraped histogram samples do not pile up.
    pub async fn serve<N: Network>(self, network: N, listener: N::Listener) {
        let upkeep = async {
            loop {
                network.sleep(UPKEEP_INTERVAL).await;
                self.handle.run_upkeep();
            }
        };
        futures_util::future::join(self.accept(&network, listener), upkeep).await;
    }

    async fn accept<N: Network>(&self, network: &N, listener: N::Listener) {
        if let Ok(local) = N::local_addr(&listener) {
            tracing::info!("metrics on http://{local}/metrics");
        }
        let mut http = http1::Builder::new();
        http.timer(network.timer());
        http.header_read_timeout(HEAD_TIMEOUT);
        loop {
            let (socket, peer) = match N::accept(&listener).await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "metrics: accept failed");
                    network.sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let exporter = self.clone();
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = exporter.answer(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http.serve_connection(N::into_io(socket), service);
            network.execute(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "metrics: connection ended with an error");
                }
            });
        }
    }

    fn answer<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        let (status, body) = match (request.method(), request.uri().path()) {
            (&Method::GET, "/metrics") => (StatusCode::OK, self.render()),
            (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
            _ => (StatusCode::NOT_FOUND, String::new()),
        };
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        match status {
            StatusCode::OK => {
                let text = HeaderValue::from_static("text/plain; version=0.0.4");
                headers.insert(header::CONTENT_TYPE, text);
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use metrics::Unit;

    use super::*;

    /// An exporter of a recorder of its own (not the process's), with one of each metric kind.
    fn exporter() -> Exporter {
        let recorder = builder().unwrap().build_recorder();
        let exporter = Exporter {
            handle: recorder.handle(),
        };
        metrics::with_local_recorder(&recorder, || {
            let (name, help) = ("mcp_handler_duration_seconds", "From arrival to answer.");
            metrics::describe_histogram!(name, Unit::Seconds, help);
            metrics::histogram!(name, "transport" => "streamable").record(0.003);
            metrics::counter!("mcp_messages_in_total").increment(2);
        });
        exporter
    }

    fn get(path: &str) -> Request<()> {
        Request::get(path).body(()).unwrap()
    }

    #[test]
    fn the_metrics_are_served_with_their_descriptions_and_buckets() {
        let exporter = exporter();
        let response = exporter.answer(&get("/metrics"));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; version=0.0.4"
        );
        let text = exporter.render();
        for line in [
            "mcp_messages_in_total 2",
            "# HELP mcp_handler_duration_seconds From arrival to answer.",
            "# TYPE mcp_handler_duration_seconds histogram",
            r#"mcp_handler_duration_seconds_bucket{transport="streamable",le="0.0025"} 0"#,
            r#"mcp_handler_duration_seconds_bucket{transport="streamable",le="0.005"} 1"#,
            r#"mcp_handler_duration_seconds_count{transport="streamable"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let exporter = exporter();
        assert_eq!(exporter.answer(&get("/")).status(), StatusCode::NOT_FOUND);
        let post = Request::post("/metrics").body(()).unwrap();
        let response = exporter.answer(&post);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET");
    }
}
