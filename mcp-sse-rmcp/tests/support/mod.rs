//! What the bridge's loopback tests share: an rmcp handler whose tools exercise each routing and
//! cancellation rule, a server on a fresh port, and small HTTP helpers over
//! `mcp_sse_tests::client`.

#![allow(dead_code, unreachable_pub)]
// Logging and roots are deprecated by SEP-2577 but still in every pre-2026 protocol version.
#![allow(deprecated)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_sse_rmcp::Config;
use mcp_sse_tests::client::{self, EventStream, PATIENCE, Reply};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::ServerRequest;
use rmcp::model::{
    LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam, RequestMetaObject,
    ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, PeerRequestOptions};
use rmcp::{Peer, RoleServer, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// What the handlers saw, shared by every handler the factory makes.
#[derive(Clone, Debug, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, what: impl Into<String>) {
        self.0.lock().unwrap().push(what.into());
    }

    /// Waits until `what` was seen.
    pub async fn wait_for(&self, what: &str) {
        let wait = async {
            while !self.0.lock().unwrap().iter().any(|seen| seen == what) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        let seen = self.0.lock().unwrap().clone();
        tokio::time::timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("never saw {what:?}; saw {seen:?}"));
    }

    pub fn has(&self, what: &str) -> bool {
        self.0.lock().unwrap().iter().any(|seen| seen == what)
    }
}

#[derive(Clone)]
pub struct Probe {
    seen: Seen,
    tool_router: ToolRouter<Self>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Sleep {
    ms: u64,
    tag: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Tag {
    tag: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Regional {
    /// Mirrored in the `Mcp-Param-Region` header by 2026-07-28 clients.
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

#[tool_router]
impl Probe {
    pub fn new(seen: Seen) -> Self {
        let tool_router = Self::tool_router();
        Self { seen, tool_router }
    }

    #[tool(description = "Answers its tag after ms milliseconds.")]
    async fn sleep(&self, Parameters(Sleep { ms, tag }): Parameters<Sleep>) -> String {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        tag
    }

    #[tool(description = "Reports progress 1, 2, 3 of 3 with the request's token.")]
    async fn progress(&self, meta: RequestMetaObject, peer: Peer<RoleServer>) -> String {
        let token = meta.get_progress_token().expect("a progress token");
        for step in 1..=3 {
            let param = ProgressNotificationParam::new(token.clone(), step.into()).with_total(3.0);
            peer.notify_progress(param).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        serde_json::to_string(&token).unwrap()
    }

    #[tool(description = "Asks the client for its roots, and answers with them.")]
    async fn ask(&self, peer: Peer<RoleServer>) -> String {
        match peer.list_roots().await {
            Ok(roots) => serde_json::to_string(&roots).unwrap(),
            Err(error) => format!("failed: {error}"),
        }
    }

    #[tool(description = "Asks the client for its roots, but gives up after 100 ms.")]
    async fn ask_briefly(&self, peer: Peer<RoleServer>) -> String {
        let roots = ServerRequest::ListRootsRequest(Default::default());
        let options = PeerRequestOptions::with_timeout(Duration::from_millis(100));
        let asked = peer.send_request_with_option(roots, options).await.unwrap();
        match asked.await_response().await {
            Ok(_) => "answered".into(),
            Err(error) => format!("gave up: {error}"),
        }
    }

    #[tool(description = "Logs, and announces a tool list change.")]
    async fn announce(&self, peer: Peer<RoleServer>) -> String {
        let log = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!("announcing"));
        peer.notify_logging_message(log).await.unwrap();
        peer.notify_tool_list_changed().await.unwrap();
        "announced".into()
    }

    #[tool(description = "Waits until cancelled; records `cancelled <tag>`.")]
    async fn wait(
        &self,
        Parameters(Tag { tag }): Parameters<Tag>,
        ct: CancellationToken,
    ) -> String {
        self.seen.push(format!("started {tag}"));
        ct.cancelled().await;
        self.seen.push(format!("cancelled {tag}"));
        "cancelled".into()
    }

    #[tool(description = "What the HTTP request and the mcp-sse context say.")]
    async fn whoami(
        &self,
        Extension(head): Extension<http::request::Parts>,
        Extension(cx): Extension<mcp_sse_rmcp::RequestContext>,
    ) -> String {
        json!({
            "probe": head.headers.get("x-probe").map(|v| v.to_str().unwrap()),
            "transport": format!("{:?}", cx.transport()),
            "session": cx.session().map(ToString::to_string),
            "subject": head.extensions.get::<mcp_sse_rmcp::Principal>().map(|p| p.subject.clone()),
            "authorization": head.headers.get("authorization").map(|v| v.to_str().unwrap()),
        })
        .to_string()
    }

    #[tool(description = "Takes a region mirrored in a header.")]
    async fn regional(&self, Parameters(Regional { region }): Parameters<Regional>) -> String {
        region
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Probe {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_logging()
            .build();
        ServerConfig::new(capabilities)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    /// Asks a client that offers roots for them as soon as it is initialized: a request
    /// outside any client request, on the session's stream.
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let offers_roots = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.roots.is_some());
        if offers_roots {
            let seen = self.seen.clone();
            let answer = context.peer.list_roots().await;
            seen.push(match answer {
                Ok(roots) => format!("roots {}", serde_json::to_string(&roots).unwrap()),
                Err(error) => format!("roots failed: {error}"),
            });
        }
    }
}

/// A bridged `Probe` server on a fresh loopback port.
pub struct Server {
    pub addr: SocketAddr,
    pub seen: Seen,
    pub handle: mcp_sse_rmcp::Handle,
}

pub async fn start(config: Config) -> Server {
    start_checking(config, None).await
}

/// Like [`start`], checking bearer tokens with `authenticator`.
pub async fn start_checking(
    config: Config,
    authenticator: Option<mcp_sse_app::auth::Authenticator>,
) -> Server {
    let seen = Seen::default();
    let factory_seen = seen.clone();
    let (mut service, handle) =
        mcp_sse_rmcp::service(config, move || Ok(Probe::new(factory_seen.clone())));
    if let Some(authenticator) = authenticator {
        service = service.with_authenticator(authenticator);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service),
            );
        }
    });
    Server { addr, seen, handle }
}

pub const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{}},"clientInfo":{"name":"bridge-test","version":"0"}}}"#;

/// Initializes a 2025-11-25 session of a client that offers no roots and returns its id.
pub async fn initialize(addr: SocketAddr) -> String {
    initialize_with(addr, &INIT.replace(r#""roots":{}"#, "")).await
}

/// Initializes a 2025-11-25 session with `init` and returns its id.
pub async fn initialize_with(addr: SocketAddr, init: &str) -> String {
    let r = client::post(addr, "/mcp", &[], init).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let session = r.header("mcp-session-id").expect("a session").to_owned();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let r = client::post(addr, "/mcp", &[("mcp-session-id", &session)], note).await;
    assert_eq!(r.status(), 202);
    session
}

/// A `tools/call` request body.
pub fn call(id: u64, tool: &str, arguments: Value) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":arguments}})
        .to_string()
}

/// The text of a `tools/call` result.
pub fn text(message: &Value) -> &str {
    message["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {message}"))
}

/// The JSON-RPC messages of a POST's answer, JSON or SSE (priming events left out).
pub fn messages(reply: &Reply) -> Vec<Value> {
    if reply.header("content-type") != Some("text/event-stream") {
        return vec![reply.json()];
    }
    mcp_sse_app::core::sse::Decoder::new()
        .feed(&reply.body)
        .into_iter()
        .filter_map(|item| match item {
            mcp_sse_app::core::sse::Item::Event(event) if !event.data.is_empty() => {
                Some(serde_json::from_str(&event.data).expect("JSON data"))
            }
            _ => None,
        })
        .collect()
}

/// The next message on a stream, skipping comments and priming events.
pub async fn next_message(stream: &mut EventStream) -> Value {
    loop {
        let event = stream.next_event().await.expect("a message event");
        if !event.data.is_empty() {
            return serde_json::from_str(&event.data).expect("JSON data");
        }
    }
}

/// A 2026-07-28 request: `_meta` in the body, the headers restating it.
pub async fn modern(
    addr: SocketAddr,
    id: u64,
    method: &str,
    mut params: Value,
    extra: &[(&str, &str)],
) -> (http::response::Parts, hyper::body::Incoming) {
    params["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2026-07-28");
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!({});
    let name = params["name"].as_str().map(str::to_owned);
    let body = json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", method),
    ];
    if let Some(name) = &name {
        headers.push(("mcp-name", name));
    }
    headers.extend_from_slice(extra);
    client::send(addr, "POST", "/mcp", &headers, body).await
}

/// A `POST` in a session whose answer is read as it streams.
pub async fn post_streaming(addr: SocketAddr, session: &str, body: String) -> EventStream {
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-session-id", session),
    ];
    let (head, body) = client::send(addr, "POST", "/mcp", &headers, body).await;
    EventStream::new(head, body)
}

/// A 2026-07-28 `subscriptions/listen` stream for tool list changes, past its acknowledgement.
pub async fn listen_for_tool_changes(addr: SocketAddr) -> EventStream {
    let filter = json!({"notifications": {"toolsListChanged": true}});
    let (head, body) = modern(addr, 1, "subscriptions/listen", filter, &[]).await;
    let mut listen = EventStream::new(head, body);
    let ack = next_message(&mut listen).await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    listen
}
