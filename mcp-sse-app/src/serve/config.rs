//! [`ServeConfig`]: the MCP server's [`Config`] and the bounds of the connections around it.

use std::time::Duration;

use mcp_sse_core::Config;

use crate::handle::SHUTDOWN_GRACE;

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
    /// How long a graceful shutdown lets requests in flight be answered on their streams (new
    /// ones are refused with `503`); at the deadline whatever is left ends, and then the
    /// connections are closed. Default 10 s.
    pub shutdown_grace: Duration,
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
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}
