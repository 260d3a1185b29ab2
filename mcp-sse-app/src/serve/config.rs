//! [`ServeConfig`]: the MCP server's [`Config`] and the bounds of the connections around it.

use std::sync::Arc;
use std::time::Duration;

use mcp_sse_core::Config;

use crate::auth::Authenticator;
use crate::entry::BODY_READ_TIMEOUT;
use crate::handle::SHUTDOWN_GRACE;
use crate::store::SharedStore;

/// Settings of [`serve`](crate::serve): the MCP server's [`Config`], and what only the HTTP
/// connections around it need. Every bound has a default, given with what happens when it is
/// hit.
///
/// A [`Config`] converts into one with the defaults below, so
/// `serve(listener, Config::default(), handler)` works as it is:
///
/// ```
/// use std::time::Duration;
/// use mcp_sse_app::{Config, ServeConfig};
///
/// let mut config = ServeConfig::from(Config::default());
/// config.server.max_sessions = 10_000;
/// config.shutdown_grace = Duration::from_secs(3);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeConfig {
    /// The MCP server's own settings.
    pub server: Config,
    /// How long a connection may go without a complete request head: from its accept to the
    /// first bytes that tell HTTP/1.1 from HTTP/2, and for each HTTP/1.1 request head (hyper's
    /// header read timeout, which also ends a kept-alive connection left silent that long).
    /// Then the connection is closed without an answer. Default 30 s.
    pub request_head_timeout: Duration,
    /// How long a request's body may take to arrive, all of it, once its head is in (HTTP/1.1
    /// and HTTP/2). A request whose body is late is answered `408 Request Timeout` with a
    /// JSON-RPC error (`-32000`) and not handled. Default 30 s.
    pub body_read_timeout: Duration,
    /// How long an HTTP/2 connection may stay open with no stream open. Then it is sent a
    /// `GOAWAY`, and closed once it acknowledges it, or after
    /// [`http2_keepalive_timeout`](Self::http2_keepalive_timeout) without an answer.
    /// Default 60 s.
    pub http2_idle_timeout: Duration,
    /// After how long without a frame from the client an HTTP/2 connection is sent a `PING`
    /// (hyper's keep-alive, on the runtime's timer), open streams or not. `None`: no pings.
    /// Default 30 s.
    pub http2_keepalive_interval: Option<Duration>,
    /// How long an HTTP/2 `PING` may go unanswered; then the connection is closed, with what
    /// was open on it. Default 20 s.
    pub http2_keepalive_timeout: Duration,
    /// How long a graceful shutdown may take, all of it. From the signal: no new connections;
    /// requests in flight are answered on their streams and new ones refused with `503`
    /// ([`Handle::shutdown_within`](crate::Handle::shutdown_within)); then every connection is
    /// asked to finish (HTTP/1.1 after its current exchange, HTTP/2 with a `GOAWAY`). At the
    /// deadline whatever is left ends, and the connections still open are closed as they are.
    /// Default 10 s.
    pub shutdown_grace: Duration,
    /// The bearer-token check every request goes through before the server sees it (its
    /// verifier and its timeout; see [`Authenticator`]), for a server with `server.auth` set.
    /// Default `None`: no token is looked at, and the `Authorization` header is left to the
    /// handlers.
    pub authenticator: Option<Authenticator>,
    /// The store shared with the other instances of a cluster (`mcp-sse-redis`), for a server
    /// with `server.cluster` set (the store's connect gives both). Default `None`: one
    /// instance, everything in memory.
    pub store: Option<Arc<dyn SharedStore>>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self::from(Config::default())
    }
}

impl From<Config> for ServeConfig {
    fn from(server: Config) -> Self {
        Self {
            server,
            request_head_timeout: Duration::from_secs(30),
            body_read_timeout: BODY_READ_TIMEOUT,
            http2_idle_timeout: Duration::from_secs(60),
            http2_keepalive_interval: Some(Duration::from_secs(30)),
            http2_keepalive_timeout: Duration::from_secs(20),
            shutdown_grace: SHUTDOWN_GRACE,
            authenticator: None,
            store: None,
        }
    }
}
