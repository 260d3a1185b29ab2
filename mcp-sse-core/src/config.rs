//! [`Config`]: every bound and policy of a [`Server`](crate::Server), with its default.

use std::net::IpAddr;
use std::time::Duration;

use crate::cors::{Cors, OriginPolicy};

/// Settings of a [`Server`](crate::Server).
///
/// Every bound is explicit. The doc of each field gives its default and what happens when the
/// bound is hit; none of them ever makes the server hang or drop an accepted message silently.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Path of the MCP endpoint. Default `/mcp`.
    ///
    /// A `GET` here with `Accept: text/event-stream` naming no session opens a 2024-11-05
    /// stream whose `endpoint` event points back at this path (S1.12/S2.51), and a `POST` naming
    /// a 2024-11-05 session (query or `Mcp-Session-Id`) is routed to it.
    pub mcp_path: String,
    /// Path of the 2024-11-05 SSE endpoint (S1.1a). Default `/sse`.
    pub sse_path: String,
    /// Path of the 2024-11-05 POST endpoint (S1.1b). Default `/messages`.
    pub messages_path: String,
    /// Prefix that clients see in front of the paths above, for servers behind a reverse proxy
    /// that strips it. Used only to build the `endpoint` URI (S1.2), which is always relative.
    /// Default empty.
    pub base_path: String,
    /// Whether the `X-Forwarded-Prefix` of a request replaces [`base_path`](Self::base_path) in
    /// the `endpoint` URI it gets, for a reverse proxy that mounts the server under a prefix and
    /// says so per request. Default false: turn it on only behind a proxy that sets the header
    /// (a client could otherwise only misdirect its own session). The `endpoint` URI is the one
    /// URI the server produces, and it is relative, so `Forwarded`, `X-Forwarded-Host` and
    /// `X-Forwarded-Proto` never matter. A value that is not an absolute path is ignored.
    pub trust_forwarded_prefix: bool,
    /// Stateless serving: `initialize` mints no session (S2.35, S2.45), every `POST` is answered
    /// on its own ([`Transport::Stateless`](crate::Transport::Stateless)), and `GET` and `DELETE`
    /// on the MCP endpoint get `405`. Default false: `initialize` mints a session.
    pub stateless: bool,
    /// Whether clients may end their session with `DELETE` (S2.42). Default true; when false,
    /// `DELETE` gets `405`.
    pub allow_delete: bool,
    /// How a request's answer is shaped (S2.9). Default [`ResponseMode::Auto`].
    pub response_mode: ResponseMode,
    /// Under [`ResponseMode::Auto`], how long a request may stay silent before its answer turns
    /// into an SSE stream anyway, so keepalives can flow on long calls. Default 1 s.
    pub json_hold: Duration,
    /// Whether Streamable HTTP events carry ids and are kept for replay (S2.25–S2.29).
    /// Default true.
    pub resumable: bool,
    /// Bytes of sent events kept per stream for replay. Default 1 MiB; older events are dropped
    /// first, and a `Last-Event-ID` before them gets `400`.
    pub replay_bytes: usize,
    /// Bytes of sent events kept for replay across all streams. Default 64 MiB; beyond it the
    /// oldest events of any stream are dropped first. It also bounds how many finished streams
    /// stay resumable: at most one per 512 bytes of it (131,072 by default), the oldest
    /// forgotten first.
    pub replay_total_bytes: usize,
    /// How long sent events are kept for replay: how long a stream whose connection broke waits
    /// to be resumed, and how long a finished stream can still be resumed (its client may have
    /// lost the last events with its connection). Default 5 minutes.
    pub replay_age: Duration,
    /// A Streamable HTTP session with no request, no open stream and no request in flight for
    /// this long is closed; later requests naming it get `404` (S2.40). Default 30 minutes;
    /// `None` keeps idle sessions until the cap.
    pub idle_timeout: Option<Duration>,
    /// A session whose client sent nothing after its `initialize` answer for this long is
    /// closed. Default 60 s.
    pub init_timeout: Option<Duration>,
    /// Serve 2026-07-28 clients only. Default false: 2024-11-05 and 2025 clients are served next
    /// to 2026-07-28 ones on one endpoint (S3.37). When true: `GET`/`DELETE` on the MCP endpoint
    /// get `405`, `Mcp-Session-Id` and `Last-Event-ID` are ignored, the 2024-11-05 paths get
    /// `404`, and a request without a 2026-07-28 envelope (`initialize` included) gets `400` +
    /// `-32022` naming the supported versions (S3.35, S3.36).
    pub only_2026: bool,
    /// What the application serves to 2026-07-28 clients, declared up front (S3.19).
    pub v2026: V2026,
    /// Which `Host` values are allowed (DNS-rebinding defence, S4.3). A request whose `Host` is
    /// not allowed gets `403`.
    pub hosts: HostPolicy,
    /// Most sessions alive at once. Default 100,000 (about 60 MiB of idle sessions at ~0.6 KiB
    /// each; sessions with open streams are bounded first by the process's descriptors).
    ///
    /// When reached, a request that would open a session ends the least recently active *idle*
    /// session first (no stream with a connection, no request in flight): its client gets `404`
    /// on its next request and initialises again, as the spec intends (S2.40). Only when every
    /// session is busy is the new one refused, with `503` and a `Retry-After` of
    /// [`retry_after_secs`](Self::retry_after_secs) if some session is busy with requests only
    /// (it frees once they are answered), else of [`stall_timeout`](Self::stall_timeout) (the
    /// longest a client that stopped reading can hold its stream). So no number of abandoned
    /// sessions locks new clients out.
    pub max_sessions: usize,
    /// Most requests of one session handed to the application and not yet answered. Default 256.
    /// When reached, a further request gets `503` with `Retry-After`; nothing is queued behind.
    /// A 2025-03-26 batch with more requests than this can never be served: it gets `400`.
    pub max_requests_in_flight: usize,
    /// Largest request body in bytes. Default 4 MiB (as the TypeScript and Python SDKs). A larger
    /// body gets `413 Payload Too Large`. Adapters read at most this many bytes plus one.
    pub max_body_bytes: usize,
    /// Bytes an SSE stream may hold that its connection has not taken yet. Default 1 MiB.
    ///
    /// Replies to requests already accepted are always queued (so at most one reply per request
    /// in flight beyond the bound). While a stream is at the bound, a `POST` that would add to it
    /// gets `503` with `Retry-After` (backpressure, never reported as a closed session), an
    /// application [`send`](crate::Server::send) returns [`SendError::QueueFull`](crate::SendError),
    /// and keepalives are skipped.
    pub stream_queue_bytes: usize,
    /// How long an SSE stream may hold bytes its client does not read before it is closed. A
    /// client that stops reading pins its stream's queue, its connection and the kernel's
    /// buffers; after this long without progress the connection is aborted
    /// ([`Output::Abort`](crate::Output::Abort)), the stream's events stay replayable, and its
    /// session counts as idle. Checked at each keepalive tick, so it is met within
    /// [`keepalive_interval`](Self::keepalive_interval). Default 60 s (nginx's `send_timeout`);
    /// `None` never closes a stalled stream.
    pub stall_timeout: Option<Duration>,
    /// Idle time after which a comment frame is written on an SSE stream. Default 15 s (the
    /// WHATWG authoring note, E5.1).
    pub keepalive_interval: Duration,
    /// Value of `Retry-After` (seconds) on `503` answers. Default 1.
    pub retry_after_secs: u32,
    /// Reconnection hint (`retry:` field, ms) written when the server closes a stream it wants
    /// the client to reopen: at shutdown, when a newer stream replaces it, in priming events and
    /// when the application closes a stream early (S2.32). Default 1000.
    pub reconnect_hint_ms: u64,
    /// Which `Origin` values are allowed (S1.4, S4.1). A request whose `Origin` is present and
    /// not allowed gets `403 Forbidden`. Requests without `Origin` pass (non-browser clients).
    pub origins: OriginPolicy,
    /// Authorization as an OAuth 2.1 resource server (S4.4–S4.6). Default `None`: no token is
    /// asked for. When set, every request but a preflight and the metadata document needs a
    /// valid bearer token (the adapter's verifier puts its outcome in the request's extensions,
    /// [`Credentials`](crate::Credentials)): none or a refused one gets `401` with a
    /// `WWW-Authenticate` challenge naming the metadata document, too few scopes `403`
    /// `insufficient_scope`; every session is bound to the principal that created it, and
    /// another principal naming it gets `404` as if it did not exist; a stream ends with a
    /// reconnection hint when its token expires. The metadata document (RFC 9728) is served at
    /// `/.well-known/oauth-protected-resource` and with the resource's path appended.
    pub auth: Option<crate::Authorization>,
    /// CORS headers for browser clients (docs/requirements.md §8). Default on: a browser page
    /// from an allowed origin (see [`origins`](Self::origins), loopback only by default) can
    /// call the server, and others get `403` without CORS headers. `None` sends no CORS
    /// headers at all.
    pub cors: Option<Cors>,
    /// Serving as one instance of several that share sessions through a store (the adapter's:
    /// Redis, say): sessions, relays to the instance carrying a session's stream and
    /// announcements to listeners become [`Output::Shared`](crate::Output::Shared) operations.
    /// Default `None`: everything lives in this process, and no such output is ever emitted.
    pub cluster: Option<Cluster>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mcp_path: "/mcp".into(),
            sse_path: "/sse".into(),
            messages_path: "/messages".into(),
            base_path: String::new(),
            trust_forwarded_prefix: false,
            stateless: false,
            allow_delete: true,
            response_mode: ResponseMode::Auto,
            json_hold: Duration::from_secs(1),
            resumable: true,
            replay_bytes: 1024 * 1024,
            replay_total_bytes: 64 * 1024 * 1024,
            replay_age: Duration::from_secs(300),
            idle_timeout: Some(Duration::from_secs(30 * 60)),
            init_timeout: Some(Duration::from_secs(60)),
            hosts: HostPolicy::Auto,
            only_2026: false,
            v2026: V2026::default(),
            max_sessions: 100_000,
            max_requests_in_flight: 256,
            max_body_bytes: 4 * 1024 * 1024,
            stream_queue_bytes: 1024 * 1024,
            stall_timeout: Some(Duration::from_secs(60)),
            keepalive_interval: Duration::from_secs(15),
            retry_after_secs: 1,
            reconnect_hint_ms: 1000,
            origins: OriginPolicy::default(),
            auth: None,
            cors: Some(Cors::default()),
            cluster: None,
        }
    }
}

/// How the answer to a request `POST` is shaped (S2.9, S3.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// JSON when the application's first output is the answer; an SSE stream when it first
    /// sends a notification or request, or stays silent past [`Config::json_hold`].
    #[default]
    Auto,
    /// Always an SSE stream. Its head goes out with the application's first output, or after
    /// [`Config::json_hold`] of silence (then keepalives flow), so a quick answer leaves in one
    /// write with its head.
    Sse,
    /// Always JSON: the answer waits for every reply; notifications related to the request go
    /// nowhere ([`SendError::NoStream`](crate::SendError)).
    Json,
}

/// Which `Host` header values are allowed (S4.3).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum HostPolicy {
    /// [`Loopback`](Self::Loopback) when the adapter listens on a loopback address, else
    /// [`Any`](Self::Any). Adapters resolve it; the core treats it as `Any`.
    #[default]
    Auto,
    /// Any host.
    Any,
    /// `localhost`, `127.0.0.1` and `[::1]`, any port.
    Loopback,
    /// These host names (without port), plus the loopback ones.
    List(Vec<String>),
}

impl HostPolicy {
    /// The policy for a server listening on `local`: [`Auto`](Self::Auto) becomes
    /// [`Loopback`](Self::Loopback) on a loopback address (what DNS rebinding attacks, S4.3),
    /// else [`Any`](Self::Any); the others stay as they are. Adapters call it with their
    /// listener's address.
    pub fn resolve(self, local: IpAddr) -> Self {
        match self {
            Self::Auto if local.is_loopback() => Self::Loopback,
            Self::Auto => Self::Any,
            other => other,
        }
    }
}

/// What the application serves to 2026-07-28 clients, declared up front so that validation
/// failures get their HTTP status before any response head goes out (S3.19, D3).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct V2026 {
    /// Methods served to 2026-07-28 requests; any other method gets `404` + `-32601` before
    /// the application sees it (S3.19). Methods removed in 2026-07-28 (`initialize`, `ping`,
    /// `logging/setLevel`, `resources/subscribe`, `resources/unsubscribe`) always get that
    /// answer (S5.19). Empty: every method reaches the application, and its `-32601` answer is
    /// still sent with `404` when no head went out yet.
    pub methods: Vec<String>,
    /// Tool parameters mirrored in `Mcp-Param-*` headers (`x-mcp-header`, S3.23);
    /// [`ToolHeader::from_tools`] reads them from a `tools/list` result.
    pub tool_headers: Vec<ToolHeader>,
    /// Which `subscriptions/listen` notification kinds are honoured (S3.34).
    pub listen: ListenSupport,
    /// Most `subscriptions/listen` streams open at once. Default 0 means 1024. A further listen
    /// request gets a `-32603` error (S4.7).
    pub max_listeners: usize,
}

/// The notification kinds a server offers to `subscriptions/listen` (S3.34).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenSupport {
    /// `notifications/tools/list_changed`.
    pub tools_list_changed: bool,
    /// `notifications/prompts/list_changed`.
    pub prompts_list_changed: bool,
    /// `notifications/resources/list_changed`.
    pub resources_list_changed: bool,
    /// `notifications/resources/updated` for the URIs a listener names.
    pub resource_subscriptions: bool,
}

impl ListenSupport {
    /// Every kind.
    pub fn all() -> Self {
        Self {
            tools_list_changed: true,
            prompts_list_changed: true,
            resources_list_changed: true,
            resource_subscriptions: true,
        }
    }
}

/// A tool parameter a client mirrors in an `Mcp-Param-{header}` header (S3.23, S3.24).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolHeader {
    /// The tool.
    pub tool: String,
    /// The header name after `Mcp-Param-`.
    pub header: String,
    /// The property names leading to the value inside `arguments`.
    pub path: Vec<String>,
    /// The value's JSON type.
    pub kind: ParamKind,
}

/// The JSON types `x-mcp-header` may annotate (S3.23).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamKind {
    /// An integer, compared numerically (`42.0` equals `42`).
    Integer,
    /// A string, compared exactly.
    String,
    /// `true` or `false`.
    Boolean,
}

impl ToolHeader {
    /// The annotations of every tool in a `tools/list` result's `tools` array: `x-mcp-header`
    /// on properties reachable through `properties` chains, with a primitive type.
    /// Annotations that break the rules of S3.23 are skipped, as clients skip them.
    pub fn from_tools(tools: &serde_json::Value) -> Vec<ToolHeader> {
        let mut found = Vec::new();
        for tool in tools.as_array().into_iter().flatten() {
            let Some(name) = tool["name"].as_str() else {
                continue;
            };
            walk(name, &tool["inputSchema"], &mut Vec::new(), &mut found);
        }
        found
    }
}

fn walk(
    tool: &str,
    schema: &serde_json::Value,
    path: &mut Vec<String>,
    found: &mut Vec<ToolHeader>,
) {
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (name, property) in properties {
        path.push(name.clone());
        if let Some(header) = property["x-mcp-header"].as_str() {
            let kind = match property["type"].as_str() {
                Some("integer") => Some(ParamKind::Integer),
                Some("string") => Some(ParamKind::String),
                Some("boolean") => Some(ParamKind::Boolean),
                _ => None,
            };
            let token = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            let unique = !found
                .iter()
                .any(|h| h.tool == tool && h.header.eq_ignore_ascii_case(header));
            if let (Some(kind), true, true) = (kind, token, unique) {
                found.push(ToolHeader {
                    tool: tool.to_owned(),
                    header: header.to_owned(),
                    path: path.clone(),
                    kind,
                });
            }
        }
        walk(tool, property, path, found);
        path.pop();
    }
}

/// Who this instance is in its cluster, and the cluster's bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cluster {
    /// This instance's number, unique in the cluster while it runs (the store hands them out).
    /// It is part of every stream id, so stream and event ids never collide across instances.
    pub node: u32,
    /// The cluster's epoch, the same on every instance (the store keeps it): part of every
    /// event id, so an id from before the store was emptied is recognised (S2.27).
    pub epoch: u32,
    /// Requests waiting for the store (a session lookup, a relay) at once. Default 4,096; a
    /// request beyond it gets `503` + `Retry-After` at once, so a slow store makes this
    /// instance refuse work instead of piling it up.
    pub max_waiting: usize,
    /// How long a session lives in the store without activity on any instance, when
    /// `Config::idle_timeout` is off. Default 24 h (with it on, that timeout).
    pub session_ttl: Duration,
    /// How long a client resuming a stream another instance opened waits for that instance to
    /// hand it over. Default 2 s; then the resume is refused (`400`, as for a stream that
    /// ended): that instance is gone, and the stream with it.
    pub resume_timeout: Duration,
}

impl Cluster {
    /// Instance `node` of the cluster of `epoch`, with the default bounds.
    pub fn new(node: u32, epoch: u32) -> Self {
        Self {
            node,
            epoch,
            max_waiting: 4096,
            session_ttl: Duration::from_secs(24 * 3600),
            resume_timeout: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_hosts_resolve_by_the_listening_address_s4_3() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let public: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(matches!(
            HostPolicy::Auto.resolve(loopback),
            HostPolicy::Loopback
        ));
        assert!(matches!(HostPolicy::Auto.resolve(v6), HostPolicy::Loopback));
        assert!(matches!(HostPolicy::Auto.resolve(public), HostPolicy::Any));
        let list = HostPolicy::List(vec!["a.example".into()]).resolve(loopback);
        assert!(matches!(list, HostPolicy::List(names) if names == ["a.example"]));
        assert!(matches!(HostPolicy::Any.resolve(loopback), HostPolicy::Any));
    }
}
