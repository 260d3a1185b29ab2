//! [`HttpFetch`]: the [`Fetch`] of plain `http://` URLs over a runtime's TCP sockets, with
//! hyper's HTTP/1.1 client. The adapter supplies the sockets ([`Connect`]), so no runtime comes
//! with it: `mcp-sse-tokio` and `mcp-sse-smol` implement [`Connect`] for their runtime types
//! (their feature `jwt`).

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::task::Poll;

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};

use super::{Fetch, FetchError, FetchFuture};

/// Opens TCP connections on a runtime, as hyper's I/O: what [`HttpFetch`] needs of it.
pub trait Connect: Send + Sync + 'static {
    /// A connected socket as hyper's I/O.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;

    /// A connection to `host` (a name, resolved here, or an address) on `port`.
    fn connect(&self, host: &str, port: u16) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// GETs `http://` URLs, one connection per fetch (key sets are fetched minutes apart). An
/// `https://` URL is refused: for an issuer behind TLS give [`JwtVerifier`](super::JwtVerifier)
/// a [`Fetch`] over an HTTP client with TLS (a few lines over any client), or an `http://`
/// address of the issuer inside a trusted network (`JwtConfig::jwks_uri`). It has no timeout of
/// its own: the [`Authenticator`](crate::auth::Authenticator)'s bounds the whole check, and a
/// fetch given up on counts as an attempt for `JwtConfig::refetch_interval`.
#[derive(Clone, Debug)]
pub struct HttpFetch<C> {
    connect: C,
}

impl<C: Connect> HttpFetch<C> {
    /// Fetches over `connect`'s sockets.
    pub fn new(connect: C) -> Self {
        Self { connect }
    }

    async fn fetch(&self, url: &str, limit: usize) -> Result<Bytes, FetchError> {
        let fail = |what: String| FetchError(what);
        let uri: Uri = url.parse().map_err(|_| fail("not a URL".into()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(fail(
                    "https needs a Fetch with TLS (HttpFetch speaks plain http)".into(),
                ));
            }
            _ => return Err(fail("not an http URL".into())),
        }
        let host = uri.host().ok_or_else(|| fail("no host".into()))?;
        let port = uri.port_u16().unwrap_or(80);
        let authority = uri.authority().map_or(host, |a| a.as_str()).to_owned();
        let io = self
            .connect
            .connect(host.trim_start_matches('[').trim_end_matches(']'), port)
            .await
            .map_err(|error| fail(format!("connect: {error}")))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|error| fail(format!("handshake: {error}")))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, authority)
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|error| fail(error.to_string()))?;
        let exchange = async move {
            let response = sender
                .send_request(request)
                .await
                .map_err(|error| fail(format!("request: {error}")))?;
            let status = response.status();
            if !status.is_success() {
                return Err(fail(status.to_string()));
            }
            match Limited::new(response.into_body(), limit).collect().await {
                Ok(body) => Ok(body.to_bytes()),
                Err(error) if error.is::<LengthLimitError>() => {
                    Err(fail(format!("longer than {limit} bytes")))
                }
                Err(error) => Err(fail(format!("body: {error}"))),
            }
        };
        // The connection is driven here, beside the exchange: no task is spawned.
        let (mut exchange, mut connection) = (pin!(exchange), pin!(connection));
        let mut connection_done = false;
        poll_fn(|cx| {
            if let Poll::Ready(outcome) = exchange.as_mut().poll(cx) {
                return Poll::Ready(outcome);
            }
            if !connection_done && let Poll::Ready(outcome) = connection.as_mut().poll(cx) {
                connection_done = true;
                if let Err(error) = outcome {
                    return Poll::Ready(Err(fail(format!("connection: {error}"))));
                }
                // Closed cleanly: the exchange has its answer or fails on its next poll.
                return exchange.as_mut().poll(cx);
            }
            Poll::Pending
        })
        .await
    }
}

impl<C: Connect> Fetch for HttpFetch<C> {
    fn get<'a>(&'a self, url: &'a str, limit: usize) -> FetchFuture<'a> {
        Box::pin(self.fetch(url, limit))
    }
}
