//! [`McpService`], the tower `Service` in front of the driver.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use mcp_sse_app::{Entry, Handle, Handler, ResponseBody};
use mcp_sse_core::{Config, Server};

use crate::runtime::Tokio;

/// A tower `Service` that answers MCP HTTP requests; clones share one server.
///
/// Mount it on the paths of its [`Config`] (`/mcp`, `/sse`, `/messages` by default), e.g. with
/// axum's `Router::route_service`, which keeps the path as the server expects it.
#[derive(Clone, Debug)]
pub struct McpService {
    entry: Entry,
}

impl McpService {
    /// Starts the server (its timer task) on the current tokio runtime and returns the service
    /// in front of it with a handle to it.
    pub fn new<H: Handler>(config: Config, handler: H) -> (Self, Handle) {
        Self::with_server(Server::new(config), handler)
    }

    /// Like [`new`](Self::new), around a server built by the caller (e.g. with its own id
    /// generator).
    pub fn with_server<H: Handler>(server: Server, handler: H) -> (Self, Handle) {
        let (entry, handle) = Entry::start(Tokio::current(), server, handler);
        (Self { entry }, handle)
    }

    /// How long a request's body may take to arrive once its head is in (default 30 s); a
    /// request whose body is late is answered `408`.
    pub fn with_body_read_timeout(self, timeout: Duration) -> Self {
        Self {
            entry: self.entry.with_body_read_timeout(timeout),
        }
    }

    /// Checks every request's bearer token with `authenticator` before the server sees it,
    /// for a server with `Config::auth` set (see `Entry::with_authenticator`).
    pub fn with_authenticator(self, authenticator: mcp_sse_app::auth::Authenticator) -> Self {
        Self {
            entry: self.entry.with_authenticator(authenticator),
        }
    }
}

impl<B> tower::Service<Request<B>> for McpService
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let response = self.entry.call(request);
        Box::pin(async move { Ok(response.await) })
    }
}
