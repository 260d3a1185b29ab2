//! Both adapters over real loopback HTTP, from one suite: every test below runs against
//! `mcp-sse-tokio` and `mcp-sse-smol` (the `tokio_adapter::` and `smol_adapter::` copies). It
//! covers the 2024-11-05 flow and the seed's flow on `/mcp`, a Streamable HTTP session (initialize,
//! SSE progress, the standalone stream, DELETE), 2026-07-28 requests and a listen stream, the
//! status codes that cross HTTP, keepalive, disconnects, server-to-client requests, handler
//! panics, graceful shutdown, and a slow reader on a real socket that holds up no other stream.
//! Mounting in axum is the tokio adapter's alone.
//!
//! The clients are tokio ones (`mcp_sse_tests::client`); a smol server runs on a thread of its
//! own (`smol::block_on`, handlers on smol's executor), so no tokio runtime is near it.

#[macro_use]
mod two_adapters;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use http_body_util::combinators::BoxBody;

use mcp_sse_app::core::{Change, ListenSupport};
use mcp_sse_app::{Handler, RequestContext, ServeConfig};
use mcp_sse_core::jsonrpc::{self, ErrorObject};
use mcp_sse_core::sse::Item;
use mcp_sse_core::{Config, Cors, OriginPolicy, SendError};
use mcp_sse_tests::client::{self, PATIENCE};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use two_adapters::{Adapter, Running};

for_both_adapters!(
    http2_with_prior_knowledge_and_http1_on_one_port,
    legacy_flow_over_http_s1_2_s1_3,
    seed_flow_on_the_mcp_endpoint,
    every_status_code_of_the_legacy_transport_over_http,
    streamable_session_over_http,
    streamable_status_codes_over_http,
    modern_requests_and_a_listen_stream_over_http,
    cors_exposes_the_session_header_on_streams_and_errors,
    keepalive_comments_arrive_on_an_idle_stream,
    a_closed_stream_ends_its_session,
    stateless_posts_answer_with_json_or_a_request_stream,
    server_to_client_requests_are_answered_by_post,
    handlers_see_the_http_request_and_ask_sessions_through_the_handle,
    graceful_shutdown_finishes_streams_with_a_retry_hint,
    graceful_shutdown_lets_handlers_answer,
    a_slow_reader_holds_up_no_other_stream,
    a_panicking_handler_answers_internal_error_and_frees_its_slot,
    a_cancelled_request_stops_its_handler_s2_17,
    a_connection_without_a_request_head_is_closed,
    abandoned_sessions_do_not_lock_out_a_new_client,
    a_stream_whose_client_stopped_reading_is_cut_after_the_stall_timeout,
    the_applications_own_encoded_messages_go_out_as_they_are,
    answers_to_the_applications_own_requests_reach_its_response_handler,
    a_late_body_gets_408_over_http1_and_http2,
    an_http2_connection_without_streams_is_closed_when_idle,
    a_partial_preface_is_not_read_again_until_more_comes,
    the_shutdown_deadline_holds_with_a_stuck_reader,
);

/// Tags of `hang` handlers whose futures were dropped: stopped, not left running.
static STOPPED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records its tag in [`STOPPED`] when the handler holding it is dropped.
struct StopProbe(String);

impl Drop for StopProbe {
    fn drop(&mut self) {
        STOPPED.lock().unwrap().push(std::mem::take(&mut self.0));
    }
}

/// Client answers that reached `Handler::response`, by the request id the application gave.
static ANSWERS: std::sync::Mutex<Vec<(String, Value)>> = std::sync::Mutex::new(Vec::new());

/// A progress notification as the application encodes it itself, spacing and all.
const RAW_PROGRESS: &str = r#"{"jsonrpc":"2.0", "method":"notifications/progress", "params":{"progressToken":"raw","progress":1}}"#;
/// A notification for the session's stream, encoded by the application.
const RAW_CHANGED: &str = r#"{ "jsonrpc":"2.0","method":"notifications/tools/list_changed" }"#;

struct TestApp(Adapter);

impl TestApp {
    /// Sleeps on the runtime the handler runs on.
    async fn sleep(&self, duration: Duration) {
        match self.0 {
            Adapter::Tokio => tokio::time::sleep(duration).await,
            Adapter::Smol => {
                smol::Timer::after(duration).await;
            }
        }
    }
}

impl Handler for TestApp {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params: Value = request
            .params
            .as_ref()
            .map(|p| serde_json::from_str(p.get()).unwrap())
            .unwrap_or(Value::Null);
        match request.method.as_str() {
            "echo" | "initialize" => Ok(params),
            "slow" => {
                self.sleep(Duration::from_millis(300)).await;
                Ok(json!({}))
            }
            "progress" => {
                cx.notify("notifications/progress", json!({"progress": 1}))
                    .await
                    .unwrap();
                Ok(json!({"done": true}))
            }
            "ask" => {
                let answer = cx
                    .request("sampling/createMessage", json!({"q": 1}))
                    .await
                    .map_err(|e| ErrorObject::new(-32603, e.to_string()))?;
                Ok(json!({ "client said": answer }))
            }
            // What the HTTP request said, as the handler sees it.
            "whoami" => Ok(json!({
                "probe": cx.http().headers.get("x-probe").map(|v| v.to_str().unwrap()),
                "path": cx.http().uri.path(),
            })),
            // Asks the client through the session's own stream, outside this request's.
            "ask_session" => {
                let session = cx.session().unwrap().clone();
                let answer = cx
                    .handle()
                    .request(&session, "roots/list", json!({}))
                    .await
                    .map_err(|e| ErrorObject::new(-32603, e.to_string()))?;
                Ok(json!({ "roots": answer }))
            }
            // A message for the session's standalone stream.
            "announce" => {
                let session = cx.session().unwrap();
                let sent = cx
                    .handle()
                    .notify(session, "notifications/tools/list_changed", json!({}))
                    .await;
                Ok(json!({ "sent": sent.is_ok() }))
            }
            // Session messages of `size` bytes until the standalone stream stays full: its
            // reader has stopped, and its socket, hyper's buffer and its queue are full.
            "flood" => {
                let session = cx.session().unwrap();
                let pad = "x".repeat(params["size"].as_u64().unwrap() as usize);
                let handle = cx.handle();
                let (mut sent, mut refused) = (0u64, 0);
                while refused < 20 && sent < 100_000 {
                    let note = json!({ "seq": sent, "pad": pad });
                    match handle.notify(session, "notifications/message", note).await {
                        Ok(()) => (sent, refused) = (sent + 1, 0),
                        Err(SendError::QueueFull) => {
                            refused += 1;
                            self.sleep(Duration::from_millis(25)).await;
                        }
                        Err(error) => return Err(ErrorObject::new(-32603, error.to_string())),
                    }
                }
                Ok(json!({ "sent": sent, "full": refused > 0 }))
            }
            // Messages encoded by the application, on the request's and the session's stream.
            "raw_notify" => {
                let request = cx.send_message(RAW_PROGRESS);
                let session = cx.handle().send_message(cx.session().unwrap(), RAW_CHANGED);
                Ok(json!({ "request": request.is_ok(), "session": session.is_ok() }))
            }
            // Asks the client with a request id of its own, on the request's stream, and waits
            // until `Handler::response` has the answer.
            "raw_ask" => {
                let id = params["id"].as_str().unwrap().to_owned();
                let question = json!({"jsonrpc":"2.0","id":id,"method":"roots/list"});
                cx.send_message(question.to_string())
                    .map_err(|e| ErrorObject::new(-32603, e.to_string()))?;
                loop {
                    let found = ANSWERS
                        .lock()
                        .unwrap()
                        .iter()
                        .find(|(i, _)| *i == id)
                        .cloned();
                    if let Some((_, answer)) = found {
                        return Ok(json!({ "client said": answer }));
                    }
                    self.sleep(Duration::from_millis(5)).await;
                }
            }
            "publish" => {
                cx.handle().publish(Change::ToolsListChanged);
                Ok(json!({}))
            }
            "panic" => panic!("the handler panicked on purpose"),
            "panic_later" => {
                self.sleep(Duration::from_millis(20)).await;
                panic!("the handler panicked on purpose, after an await")
            }
            // Waits forever, until it is stopped.
            "hang" => {
                let _probe = StopProbe(params["tag"].as_str().unwrap().to_owned());
                std::future::pending::<()>().await;
                unreachable!()
            }
            _ => Err(ErrorObject::new(
                jsonrpc::METHOD_NOT_FOUND,
                "Method not found",
            )),
        }
    }

    fn response(&self, session: Option<&mcp_sse_core::SessionId>, response: jsonrpc::Message) {
        // Kept only when it came in a session, as the question went out in one.
        if let (Some(_), Some(jsonrpc::Id::String(id))) = (session, response.id()) {
            let answer = serde_json::from_slice(&jsonrpc::encode_message(&response)).unwrap();
            ANSWERS.lock().unwrap().push((id.to_string(), answer));
        }
    }
}

/// A server under test.
impl Adapter {
    /// Serves `TestApp` with `config` on a fresh loopback port, until [`Running::stop`].
    async fn start(self, config: impl Into<ServeConfig>) -> Running {
        self.serve(config.into(), TestApp(self)).await
    }
}

/// The JSON-RPC messages of a POST's answer, whether it came as JSON or as an SSE stream
/// (priming events, which carry no data, left out).
fn messages(reply: &client::Reply) -> Vec<Value> {
    if reply.header("content-type") != Some("text/event-stream") {
        return vec![reply.json()];
    }
    mcp_sse_core::sse::Decoder::new()
        .feed(&reply.body)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) if !event.data.is_empty() => {
                Some(serde_json::from_str(&event.data).expect("JSON data"))
            }
            _ => None,
        })
        .collect()
}

/// The next event that carries a message, skipping comments and priming events.
async fn next_message(stream: &mut client::EventStream) -> Value {
    loop {
        let event = stream.next_event().await.expect("a message event");
        if !event.data.is_empty() {
            return serde_json::from_str(&event.data).expect("JSON data");
        }
    }
}

fn session_of(uri: &str) -> String {
    uri.split("sessionId=").nth(1).unwrap().to_owned()
}

async fn legacy_flow_over_http_s1_2_s1_3(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let mut stream = client::open_stream(server.addr, "/sse", &[]).await;
    assert_eq!(stream.head.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        stream.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    let endpoint = stream.next_event().await.unwrap();
    assert_eq!(endpoint.event_type, "endpoint");
    assert_eq!(
        stream.header("mcp-session-id"),
        Some(session_of(&endpoint.data).as_str())
    );

    let reply = client::post(
        server.addr,
        &endpoint.data,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a\r\nb"}}"#,
    )
    .await;
    assert_eq!(reply.status(), 202);
    assert!(reply.body.is_empty());
    assert_eq!(
        stream.next_message().await,
        json!({"jsonrpc":"2.0","id":1,"result":{"text":"a\r\nb"}})
    );
    server.stop().await;
}

async fn seed_flow_on_the_mcp_endpoint(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    // GET stream -> Mcp-Session-Id + endpoint -> POST with the header -> 202 -> reply on the stream.
    let mut stream = client::open_stream(server.addr, "/mcp", &[]).await;
    let session = stream.header("mcp-session-id").unwrap().to_owned();
    let endpoint = stream.next_event().await.unwrap();
    assert_eq!(endpoint.event_type, "endpoint");
    assert_eq!(endpoint.data, format!("/mcp?sessionId={session}"));
    let reply = client::post(
        server.addr,
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":"x","method":"echo","params":{"n":1}}"#,
    )
    .await;
    assert_eq!(reply.status(), 202);
    assert_eq!(reply.header("mcp-session-id"), Some(session.as_str()));
    assert_eq!(
        stream.next_message().await,
        json!({"jsonrpc":"2.0","id":"x","result":{"n":1}})
    );
    server.stop().await;
}

async fn every_status_code_of_the_legacy_transport_over_http(adapter: Adapter) {
    let mut config = Config::default();
    config.max_body_bytes = 1024;
    config.max_sessions = 1;
    config.max_requests_in_flight = 1;
    config.retry_after_secs = 2;
    let server = adapter.start(config).await;
    let addr = server.addr;
    let (mut stream, endpoint) = client::open_legacy(addr, "/sse").await;
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#;

    let r = client::post(addr, "/messages?sessionId=unknown", &[], ping).await;
    assert_eq!((r.status(), r.json()["id"].clone()), (404, json!(1)));
    let r = client::post(addr, "/messages", &[], ping).await;
    assert_eq!(r.status(), 400);
    let r = client::fetch(
        addr,
        "POST",
        &endpoint,
        &[("content-type", "text/plain")],
        ping,
    )
    .await;
    assert_eq!(r.status(), 415);
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"n","params":{{"x":"{}"}}}}"#,
        "a".repeat(5000)
    );
    let r = client::post(addr, &endpoint, &[], &big).await;
    assert_eq!(r.status(), 413);
    let r = client::post(addr, &endpoint, &[], "{{{").await;
    assert_eq!(
        (r.status(), r.json()["error"]["code"].clone()),
        (400, json!(-32700))
    );
    let r = client::post(addr, &endpoint, &[], r#"{"id":2,"method":"x"}"#).await;
    assert_eq!(
        (r.status(), r.json()["error"]["code"].clone()),
        (400, json!(-32600))
    );
    assert_eq!(r.json()["id"], 2);
    // At the session cap with every session holding a stream: 503 at once, and Retry-After is
    // the longest a stream can be held by a client that stopped reading (the stall timeout).
    let r = client::fetch(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    assert_eq!((r.status(), r.header("retry-after")), (503, Some("60")));
    // A busy session: 503 + Retry-After, and the session is still there afterwards.
    let slow = r#"{"jsonrpc":"2.0","id":10,"method":"slow"}"#;
    assert_eq!(client::post(addr, &endpoint, &[], slow).await.status(), 202);
    let r = client::post(
        addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":11,"method":"slow"}"#,
    )
    .await;
    assert_eq!((r.status(), r.header("retry-after")), (503, Some("2")));
    assert_eq!(stream.next_message().await["id"], 10);
    assert_eq!(client::post(addr, &endpoint, &[], ping).await.status(), 202);
    assert_eq!(stream.next_message().await["id"], 1);
    // Methods and Accept.
    let r = client::fetch(addr, "PUT", "/mcp", &[], "").await;
    assert_eq!(
        (r.status(), r.header("allow")),
        (405, Some("GET, POST, DELETE, OPTIONS"))
    );
    let r = client::fetch(addr, "GET", "/mcp", &[("accept", "application/json")], "").await;
    assert_eq!(r.status(), 406);
    let r = client::fetch(
        addr,
        "GET",
        "/sse",
        &[("origin", "http://evil.example.com")],
        "",
    )
    .await;
    assert_eq!(r.status(), 403);
    server.stop().await;
}

async fn cors_exposes_the_session_header_on_streams_and_errors(adapter: Adapter) {
    let mut config = Config::default();
    config.origins = OriginPolicy::Any;
    config.cors = Some(Cors::default());
    let server = adapter.start(config).await;
    let origin = ("origin", "https://app.example");
    let stream = client::open_stream(server.addr, "/sse", &[origin]).await;
    assert_eq!(stream.header("access-control-allow-origin"), Some("*"));
    assert!(
        stream
            .header("access-control-expose-headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#;
    let r = client::post(server.addr, "/messages?sessionId=x", &[origin], ping).await;
    assert_eq!(r.status(), 404);
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
    let r = client::fetch(server.addr, "OPTIONS", "/messages", &[origin], "").await;
    assert_eq!(r.status(), 204);
    assert!(r.header("access-control-allow-methods").is_some());
    server.stop().await;
}

async fn keepalive_comments_arrive_on_an_idle_stream(adapter: Adapter) {
    let mut config = Config::default();
    config.keepalive_interval = Duration::from_millis(100);
    let server = adapter.start(config).await;
    let mut stream = client::open_stream(server.addr, "/sse", &[]).await;
    stream.next_event().await.unwrap();
    let mut comments = 0;
    while comments < 3 {
        match stream.next_item().await.unwrap() {
            Item::Comment(_) => comments += 1,
            Item::Event(event) => panic!("unexpected {event:?}"),
        }
    }
    server.stop().await;
}

async fn a_closed_stream_ends_its_session(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let (stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    drop(stream);
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = client::post(server.addr, &endpoint, &[], ping)
            .await
            .status();
        if status == 404 {
            break;
        }
        assert_eq!(status, 202);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the session outlived its stream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

async fn stateless_posts_answer_with_json_or_a_request_stream(adapter: Adapter) {
    let mut config = Config::default();
    config.stateless = true;
    let server = adapter.start(config).await;
    let r = client::post(
        server.addr,
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"jsonrpc":"2.0","id":1,"result":{"a":1}}));

    let (head, body) = client::send(
        server.addr,
        "POST",
        "/mcp",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        r#"{"jsonrpc":"2.0","id":2,"method":"progress"}"#,
    )
    .await;
    assert_eq!(head.headers["content-type"], "text/event-stream");
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    let items = mcp_sse_core::sse::Decoder::new().feed(&body);
    let data: Vec<Value> = items
        .iter()
        .filter_map(|i| match i {
            Item::Event(e) => Some(serde_json::from_str(&e.data).unwrap()),
            Item::Comment(_) => None,
        })
        .collect();
    assert_eq!(data[0]["method"], "notifications/progress");
    assert_eq!(
        data[1],
        json!({"jsonrpc":"2.0","id":2,"result":{"done":true}})
    );

    let r = client::post(
        server.addr,
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert_eq!(r.status(), 202);
    server.stop().await;
}

async fn server_to_client_requests_are_answered_by_post(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"ask"}"#,
    )
    .await;
    assert_eq!(r.status(), 202);
    let question = stream.next_message().await;
    assert_eq!(question["method"], "sampling/createMessage");
    let answer = json!({"jsonrpc":"2.0","id":question["id"],"result":{"text":"hi"}}).to_string();
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &answer)
            .await
            .status(),
        202
    );
    assert_eq!(
        stream.next_message().await,
        json!({"jsonrpc":"2.0","id":1,"result":{"client said":{"text":"hi"}}})
    );
    server.stop().await;
}

async fn handlers_see_the_http_request_and_ask_sessions_through_the_handle(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let whoami = r#"{"jsonrpc":"2.0","id":1,"method":"whoami"}"#;
    let r = client::post(server.addr, &endpoint, &[("x-probe", "42")], whoami).await;
    assert_eq!(r.status(), 202);
    assert_eq!(
        stream.next_message().await["result"],
        json!({"probe": "42", "path": "/messages"})
    );
    let ask = r#"{"jsonrpc":"2.0","id":2,"method":"ask_session"}"#;
    assert_eq!(
        client::post(server.addr, &endpoint, &[], ask)
            .await
            .status(),
        202
    );
    let question = stream.next_message().await;
    assert_eq!(question["method"], "roots/list");
    let answer = json!({"jsonrpc":"2.0","id":question["id"],"result":{"roots":[]}}).to_string();
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &answer)
            .await
            .status(),
        202
    );
    assert_eq!(
        stream.next_message().await,
        json!({"jsonrpc":"2.0","id":2,"result":{"roots":{"roots":[]}}})
    );
    server.stop().await;
}

async fn graceful_shutdown_finishes_streams_with_a_retry_hint(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let mut stream = client::open_stream(server.addr, "/sse", &[]).await;
    stream.next_event().await.unwrap();
    let addr = server.addr;
    server.stop().await;
    while stream.next_item().await.is_some() {}
    assert!(stream.raw.ends_with(b"retry: 1000\n\n"));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn mounts_in_axum() {
    let (service, _handle) =
        mcp_sse_tokio::McpService::new(Config::default(), TestApp(Adapter::Tokio));
    let app = axum::Router::new()
        .route_service("/mcp", service.clone())
        .route_service("/sse", service.clone())
        .route_service("/messages", service);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let r = client::post(
        addr,
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"echo":1}}"#,
    )
    .await;
    assert!(
        r.header("mcp-session-id").is_some(),
        "initialize minted a session"
    );
    assert_eq!(
        r.json(),
        json!({"jsonrpc":"2.0","id":1,"result":{"echo":1}})
    );
    let (mut stream, endpoint) = client::open_legacy(addr, "/sse").await;
    let r = client::post(
        addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"echo","params":{}}"#,
    )
    .await;
    assert_eq!(r.status(), 202);
    assert_eq!(stream.next_message().await["id"], 2);
}

async fn a_panicking_handler_answers_internal_error_and_frees_its_slot(adapter: Adapter) {
    let mut config = Config::default();
    config.max_requests_in_flight = 1;
    let server = adapter.start(config).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"panic"}"#,
    )
    .await;
    assert_eq!(r.status(), 202);
    assert_eq!(stream.next_message().await["error"]["code"], -32603);
    // Also when it panics in its own task, after an await.
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"panic_later"}"#,
    )
    .await;
    assert_eq!(
        r.status(),
        202,
        "the panicked request no longer counts as in flight"
    );
    let answer = stream.next_message().await;
    assert_eq!(
        (&answer["id"], &answer["error"]["code"]),
        (&json!(2), &json!(-32603))
    );
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":3,"method":"echo"}"#,
    )
    .await;
    assert_eq!(r.status(), 202, "and that one neither");
    server.stop().await;
}

/// A client's cancellation stops the handler's work (S2.17): its future is dropped, its slot
/// freed, and no answer is sent for it.
async fn a_cancelled_request_stops_its_handler_s2_17(adapter: Adapter) {
    let mut config = Config::default();
    config.max_requests_in_flight = 1;
    let server = adapter.start(config).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let tag = format!("cancel-{adapter:?}");
    let hang = json!({"jsonrpc": "2.0", "id": 1, "method": "hang", "params": {"tag": tag}});
    let r = client::post(server.addr, &endpoint, &[], &hang.to_string()).await;
    assert_eq!(r.status(), 202);
    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#;
    let r = client::post(server.addr, &endpoint, &[], cancel).await;
    assert_eq!(r.status(), 202);
    tokio::time::timeout(PATIENCE, async {
        while !STOPPED.lock().unwrap().contains(&tag) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the cancelled handler was stopped");
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"echo"}"#,
    )
    .await;
    assert_eq!(r.status(), 202, "the cancelled request no longer counts");
    assert_eq!(
        stream.next_message().await["id"],
        2,
        "nothing is sent for the cancelled request"
    );
    server.stop().await;
}

/// A client may not hold a connection open without sending a request head: neither silent from
/// its first byte, nor part of a head, nor kept alive in silence after an answer
/// (`ServeConfig::request_head_timeout`).
async fn a_connection_without_a_request_head_is_closed(adapter: Adapter) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let mut config = ServeConfig::default();
    config.request_head_timeout = Duration::from_millis(300);
    let server = adapter.start(config).await;
    let addr = server.addr;
    let partial = format!("POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: app");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{INIT}",
        INIT.len()
    );
    for (case, sent) in [
        ("silent", String::new()),
        ("part of a head", partial),
        ("kept alive after an answer", request),
    ] {
        let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
        socket.write_all(sent.as_bytes()).await.expect("write");
        let mut received = Vec::new();
        let ended = tokio::time::timeout(PATIENCE, socket.read_to_end(&mut received)).await;
        assert!(
            ended.is_ok(),
            "{case}: the connection was not closed in time"
        );
        let received = String::from_utf8_lossy(&received);
        if case.starts_with("kept alive") {
            assert!(received.starts_with("HTTP/1.1 200"), "{case}: {received}");
        } else {
            assert!(!received.contains(" 200 "), "{case}: no answer, {received}");
        }
    }
    server.stop().await;
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"suite","version":"0"}}}"#;

/// Initializes a 2025-11-25 session (S2.35) and returns its id.
async fn initialize(addr: SocketAddr) -> String {
    let r = client::post(addr, "/mcp", &[], INIT).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json()["result"]["protocolVersion"], "2025-11-25");
    let session = r.header("mcp-session-id").expect("a session").to_owned();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let r = client::post(addr, "/mcp", &[("mcp-session-id", &session)], note).await;
    assert_eq!(r.status(), 202);
    session
}

/// A session whose standalone stream's reader stopped after the priming event, and the result
/// of `flood`, which wrote to that stream until it was held up.
async fn stalled_standalone(addr: SocketAddr) -> (String, client::EventStream, Value) {
    let session = initialize(addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let mut standalone = client::open_stream(addr, "/mcp", &[sid]).await;
    assert_eq!(standalone.next_event().await.unwrap().data, "", "priming");
    let flood = r#"{"jsonrpc":"2.0","id":1,"method":"flood","params":{"size":4096}}"#;
    let r = client::post(addr, "/mcp", &[sid], flood).await;
    let flood = messages(&r).pop().unwrap();
    (session, standalone, flood)
}

/// Sessions opened and abandoned up to the cap give way to a newcomer on either transport; the
/// least recently active one's client learns it with 404 (S2.40).
async fn abandoned_sessions_do_not_lock_out_a_new_client(adapter: Adapter) {
    let mut config = Config::default();
    config.max_sessions = 20;
    let server = adapter.start(config).await;
    let addr = server.addr;
    let mut abandoned = Vec::new();
    for _ in 0..20 {
        abandoned.push(initialize(addr).await);
    }
    let newcomer = initialize(addr).await;
    let (mut stream, endpoint) = client::open_legacy(addr, "/sse").await;
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{}}"#;
    assert_eq!(client::post(addr, &endpoint, &[], ping).await.status(), 202);
    assert_eq!(stream.next_message().await["id"], 1);
    for (session, status) in [
        (&abandoned[0], 404),
        (&abandoned[1], 404),
        (&abandoned[2], 200),
    ] {
        let r = client::post(addr, "/mcp", &[("mcp-session-id", session)], ping).await;
        assert_eq!(r.status(), status, "session {session}");
    }
    let r = client::post(addr, "/mcp", &[("mcp-session-id", &newcomer)], ping).await;
    assert_eq!(r.status(), 200);
    server.stop().await;
}

/// A client that stops reading its stream is cut once it has taken nothing for the stall
/// timeout: the connection closes (its events stay replayable), instead of holding its queue,
/// its socket and its session forever.
async fn a_stream_whose_client_stopped_reading_is_cut_after_the_stall_timeout(adapter: Adapter) {
    let mut config = Config::default();
    config.stream_queue_bytes = 16 * 1024;
    config.stall_timeout = Some(Duration::from_secs(1));
    config.keepalive_interval = Duration::from_millis(250);
    let server = adapter.start(config).await;
    let addr = server.addr;
    // The reader stops; the stream fills up to its bound and the socket's buffers.
    let (session, mut standalone, flood) = stalled_standalone(addr).await;
    let sid = ("mcp-session-id", session.as_str());
    assert_eq!(flood["result"]["full"], true);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // What was written before the cut still arrives, then the body ends (an error, not a clean
    // end: the server aborted it), well before the client's own patience runs out.
    let drained = async { while standalone.next_item().await.is_some() {} };
    let cut = tokio::time::timeout(Duration::from_secs(8), drained).await;
    assert!(cut.is_ok(), "the stream was cut");
    // The session lives on and takes new streams.
    let mut again = client::open_stream(addr, "/mcp", &[sid]).await;
    assert_eq!(again.next_event().await.unwrap().data, "", "priming");
    server.stop().await;
}

/// Each connection is served with the protocol its first bytes name: the HTTP/2 preface, or an
/// HTTP/1.1 request.
async fn http2_with_prior_knowledge_and_http1_on_one_port(adapter: Adapter) {
    use http_body_util::BodyExt as _;

    let server = adapter.start(Config::default()).await;
    let addr = server.addr;
    let (mut sender, _connection) = http2(addr).await;
    let whole = Full::new(Bytes::from_static(INIT.as_bytes())).boxed();
    let response = sender
        .send_request(http2_post(addr, whole))
        .await
        .expect("a response");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("mcp-session-id"));
    let body = response.into_body().collect().await.expect("a body");
    let body: Value = serde_json::from_slice(&body.to_bytes()).expect("JSON");
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");

    let r = client::post(addr, "/mcp", &[], INIT).await;
    assert_eq!(r.head.version, http::Version::HTTP_11);
    assert_eq!(r.status(), 200);
    // A first byte that could begin either: a_partial_preface_is_not_read_again_until_more_comes.
}

async fn streamable_session_over_http(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let addr = server.addr;
    let session = initialize(addr).await;
    let sid = ("mcp-session-id", session.as_str());
    // A request that sends progress is answered on an SSE stream of its own (S2.9, S2.16).
    let r = client::post(
        addr,
        "/mcp",
        &[sid, ("mcp-protocol-version", "2025-11-25")],
        r#"{"jsonrpc":"2.0","id":1,"method":"progress"}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("mcp-session-id"), Some(session.as_str()));
    assert!(r.body.starts_with(b"id: "), "a priming event first");
    let answer = messages(&r);
    assert_eq!(answer[0]["method"], "notifications/progress");
    assert_eq!(
        answer[1],
        json!({"jsonrpc":"2.0","id":1,"result":{"done":true}})
    );
    // One answered with JSON.
    let r = client::post(
        addr,
        "/mcp",
        &[sid],
        r#"{"jsonrpc":"2.0","id":2,"method":"echo","params":{"e":2}}"#,
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), json!({"jsonrpc":"2.0","id":2,"result":{"e":2}}));
    // The standalone stream carries the session's messages (S2.18).
    let mut standalone = client::open_stream(addr, "/mcp", &[sid]).await;
    assert_eq!(standalone.head.status, 200);
    assert_eq!(standalone.header("mcp-session-id"), Some(session.as_str()));
    let r = client::post(
        addr,
        "/mcp",
        &[sid],
        r#"{"jsonrpc":"2.0","id":3,"method":"announce"}"#,
    )
    .await;
    assert_eq!(r.json()["result"]["sent"], true);
    assert_eq!(
        next_message(&mut standalone).await,
        json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{}})
    );
    // DELETE ends the session and its stream; then the id is unknown (S2.42).
    let r = client::fetch(addr, "DELETE", "/mcp", &[sid], "").await;
    assert_eq!(r.status(), 200);
    while standalone.next_item().await.is_some() {}
    let r = client::post(
        addr,
        "/mcp",
        &[sid],
        r#"{"jsonrpc":"2.0","id":4,"method":"echo"}"#,
    )
    .await;
    assert_eq!(r.status(), 404);
    server.stop().await;
}

async fn streamable_status_codes_over_http(adapter: Adapter) {
    let mut config = Config::default();
    config.allow_delete = false;
    let server = adapter.start(config).await;
    let addr = server.addr;
    let session = initialize(addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#;
    // No session on a request that is not initialize: 400 with the id (S2.39).
    let r = client::post(addr, "/mcp", &[], ping).await;
    assert_eq!((r.status(), r.json()["id"].clone()), (400, json!(1)));
    // An id never issued: 404, so clients re-initialise (S2.40).
    let unknown = ("mcp-session-id", "0123456789abcdef0123456789abcdef");
    let r = client::post(addr, "/mcp", &[unknown], ping).await;
    assert_eq!(r.status(), 404);
    let r = client::fetch(
        addr,
        "GET",
        "/mcp",
        &[unknown, ("accept", "text/event-stream")],
        "",
    )
    .await;
    assert_eq!(r.status(), 404);
    // An unsupported MCP-Protocol-Version: 400.
    let r = client::post(
        addr,
        "/mcp",
        &[sid, ("mcp-protocol-version", "1999-01-01")],
        ping,
    )
    .await;
    assert_eq!(r.status(), 400);
    // Accept must list both shapes on POST (S2.5).
    let r = client::fetch(
        addr,
        "POST",
        "/mcp",
        &[
            sid,
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        ping,
    )
    .await;
    assert_eq!(r.status(), 406);
    // A Last-Event-ID that cannot be replayed: 400.
    let r = client::fetch(
        addr,
        "GET",
        "/mcp",
        &[
            sid,
            ("accept", "text/event-stream"),
            ("last-event-id", "nonsense"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status(), 400);
    // DELETE turned off: 405 with Allow, and the session lives on.
    let r = client::fetch(addr, "DELETE", "/mcp", &[sid], "").await;
    assert_eq!(r.status(), 405);
    assert!(r.header("allow").is_some());
    assert_eq!(client::post(addr, "/mcp", &[sid], ping).await.status(), 200);
    // A listener on loopback allows only loopback Host names (S4.3): the adapter resolved
    // HostPolicy::Auto from its listener.
    let r = client::post(addr, "/mcp", &[("host", "evil.example:80")], INIT).await;
    assert_eq!(r.status(), 403);
    let r = client::post(addr, "/unknown", &[], ping).await;
    assert_eq!(r.status(), 404);
    server.stop().await;
}

const V26: &str = "2026-07-28";

/// A 2026-07-28 request: `_meta` in the body, the headers restating it (S3.17).
async fn modern(addr: SocketAddr, id: u32, method: &str, params: Value) -> client::Reply {
    let (head, body) = modern_request(addr, id, method, params).await;
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    client::Reply { head, body }
}

async fn modern_request(
    addr: SocketAddr,
    id: u32,
    method: &str,
    mut params: Value,
) -> (http::response::Parts, hyper::body::Incoming) {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": V26,
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let body = json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string();
    client::send(
        addr,
        "POST",
        "/mcp",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", V26),
            ("mcp-method", method),
        ],
        body,
    )
    .await
}

async fn modern_requests_and_a_listen_stream_over_http(adapter: Adapter) {
    let mut config = Config::default();
    config.v2026.listen = ListenSupport::all();
    let server = adapter.start(config).await;
    let addr = server.addr;
    // Served without a session, and none is minted (S3.35).
    let r = modern(addr, 1, "echo", json!({"x": 1})).await;
    assert_eq!(r.status(), 200);
    assert!(r.header("mcp-session-id").is_none());
    assert_eq!(r.json()["result"]["x"], 1);
    // A header that does not restate the body: 400 + -32020 (S3.17).
    let body = json!({"jsonrpc":"2.0","id":2,"method":"echo","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion": V26,
        "io.modelcontextprotocol/clientCapabilities": {}}}})
    .to_string();
    let r = client::post(
        addr,
        "/mcp",
        &[("mcp-protocol-version", V26), ("mcp-method", "tools/list")],
        &body,
    )
    .await;
    assert_eq!(
        (r.status(), r.json()["error"]["code"].clone()),
        (400, json!(-32020))
    );
    // The application's unknown-method answer becomes 404 before any head went out.
    let r = modern(addr, 3, "no/such", json!({})).await;
    assert_eq!(
        (r.status(), r.json()["error"]["code"].clone()),
        (404, json!(-32601))
    );
    // A listen stream: the acknowledgement first, then what is published (S3.34).
    let (head, body) = modern_request(
        addr,
        21,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true}}),
    )
    .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-type"], "text/event-stream");
    let mut listen = client::EventStream::new(head, body);
    let ack = next_message(&mut listen).await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        21
    );
    assert_eq!(modern(addr, 4, "publish", json!({})).await.status(), 200);
    let change = next_message(&mut listen).await;
    assert_eq!(change["method"], "notifications/tools/list_changed");
    assert_eq!(
        change["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        21
    );
    // A graceful shutdown ends it with its completion result.
    server.stop().await;
    let last = next_message(&mut listen).await;
    assert_eq!(last["id"], 21);
    assert_eq!(last["result"]["resultType"], "complete");
    assert!(listen.next_item().await.is_none());
}

async fn graceful_shutdown_lets_handlers_answer(adapter: Adapter) {
    let mut config = Config::default();
    config.stateless = true;
    let server = adapter.start(config).await;
    let addr = server.addr;
    let slow = tokio::spawn(client::post(
        addr,
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":7,"method":"slow"}"#,
    ));
    // Give the request time to reach its handler, then stop while it still works.
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.stop().await;
    let r = slow.await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(messages(&r).last().unwrap()["id"], 7);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no new connections"
    );
}

async fn a_slow_reader_holds_up_no_other_stream(adapter: Adapter) {
    let mut config = Config::default();
    config.stream_queue_bytes = 16 * 1024;
    let server = adapter.start(config).await;
    let addr = server.addr;
    // The standalone stream's reader stops reading: its socket, hyper's buffer and then the
    // stream's queue fill up, and the application is told (QueueFull) instead of queueing more.
    let (session, mut standalone, flood) = stalled_standalone(addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let sent = flood["result"]["sent"].as_u64().unwrap();
    assert_eq!(
        flood["result"]["full"], true,
        "the stream's bound was hit: {flood}"
    );
    assert!(
        sent * 4096 > 256 * 1024,
        "more went out than the queue holds, until the socket was full: {sent} messages"
    );
    // Meanwhile the same session's requests are answered, as JSON and on streams of their own.
    for id in 10..20 {
        let r = client::post(
            addr,
            "/mcp",
            &[sid],
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"echo","params":{{"n":{id}}}}}"#),
        )
        .await;
        assert_eq!(r.json()["result"]["n"], id);
        let r = client::post(
            addr,
            "/mcp",
            &[sid],
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"progress"}}"#),
        )
        .await;
        assert_eq!(messages(&r).len(), 2, "progress and the answer");
    }
    // And another session does not notice.
    let other = initialize(addr).await;
    let r = client::post(
        addr,
        "/mcp",
        &[("mcp-session-id", &other)],
        r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{}}"#,
    )
    .await;
    assert_eq!(r.status(), 200);
    // The reader reads again: every message that was accepted arrives, in order.
    for seq in 0..sent {
        let message = next_message(&mut standalone).await;
        assert_eq!(message["params"]["seq"], seq);
    }
    let r = client::post(
        addr,
        "/mcp",
        &[sid],
        r#"{"jsonrpc":"2.0","id":2,"method":"announce"}"#,
    )
    .await;
    assert_eq!(
        r.json()["result"]["sent"],
        true,
        "the stream takes messages again"
    );
    assert_eq!(
        next_message(&mut standalone).await["method"],
        "notifications/tools/list_changed"
    );
    server.stop().await;
}

/// `RequestContext::send_message` and `Handle::send_message`: what the application encoded
/// itself leaves byte for byte, on the request's stream and on the session's.
async fn the_applications_own_encoded_messages_go_out_as_they_are(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let session = initialize(server.addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let mut standalone = client::open_stream(server.addr, "/mcp", &[sid]).await;
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"raw_notify"}"#;
    let r = client::post(server.addr, "/mcp", &[sid], call).await;
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let data: Vec<String> = mcp_sse_core::sse::Decoder::new()
        .feed(&r.body)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) if !event.data.is_empty() => Some(event.data),
            _ => None,
        })
        .collect();
    assert_eq!(
        data[0], RAW_PROGRESS,
        "the request's stream carries it unchanged"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&data[1]).unwrap(),
        json!({"jsonrpc":"2.0","id":1,"result":{"request":true,"session":true}})
    );
    loop {
        let event = standalone
            .next_event()
            .await
            .expect("the session's message");
        if !event.data.is_empty() {
            assert_eq!(
                event.data, RAW_CHANGED,
                "the session's stream carries it unchanged"
            );
            break;
        }
    }
    server.stop().await;
}

/// A request the application sent with an id of its own is answered by a POST; the answer is
/// no ask of the driver's, so it reaches `Handler::response`.
async fn answers_to_the_applications_own_requests_reach_its_response_handler(adapter: Adapter) {
    let server = adapter.start(Config::default()).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let id = format!("app-{adapter:?}");
    let ask = json!({"jsonrpc":"2.0","id":7,"method":"raw_ask","params":{"id":id}}).to_string();
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &ask)
            .await
            .status(),
        202
    );
    let question = stream.next_message().await;
    assert_eq!(
        question,
        json!({"jsonrpc":"2.0","id":id,"method":"roots/list"})
    );
    let answer = json!({"jsonrpc":"2.0","id":id,"result":{"roots":[]}}).to_string();
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &answer)
            .await
            .status(),
        202
    );
    assert_eq!(
        stream.next_message().await,
        json!({"jsonrpc":"2.0","id":7,"result":{"client said":
            {"jsonrpc":"2.0","id":id,"result":{"roots":[]}}}})
    );
    server.stop().await;
}

/// An HTTP/2 connection with prior knowledge, driven in a task of its own.
async fn http2(
    addr: SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<BoxBody<Bytes, Infallible>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let io = hyper_util::rt::TokioIo::new(socket);
    let executor = hyper_util::rt::TokioExecutor::new();
    let (sender, connection) = hyper::client::conn::http2::handshake(executor, io)
        .await
        .expect("an HTTP/2 handshake");
    (sender, tokio::spawn(connection))
}

/// A `POST /mcp` of `body` over HTTP/2.
fn http2_post(
    addr: SocketAddr,
    body: BoxBody<Bytes, Infallible>,
) -> http::Request<BoxBody<Bytes, Infallible>> {
    http::Request::post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("content-length", INIT.len())
        .body(body)
        .expect("valid")
}

/// A request body that yields its first bytes and then never the rest.
struct Stalled(Option<Bytes>);

impl hyper::body::Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        match self.get_mut().0.take() {
            Some(first) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(first)))),
            None => std::task::Poll::Pending,
        }
    }
}

/// Reads until the peer closes (or resets) the connection.
async fn read_until_closed(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt as _;

    let mut received = Vec::new();
    let read = async {
        let mut buf = [0; 4096];
        while let Ok(n @ 1..) = socket.read(&mut buf).await {
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the server closed the connection in time");
    received
}

/// A request whose body does not arrive within `ServeConfig::body_read_timeout` of its head is
/// answered `408` with a JSON-RPC error and the server's CORS headers: over HTTP/1.1, where the
/// connection is then closed, and over HTTP/2, where the connection carries on.
async fn a_late_body_gets_408_over_http1_and_http2(adapter: Adapter) {
    use http_body_util::BodyExt as _;
    use tokio::io::AsyncWriteExt as _;

    let mut config = ServeConfig::default();
    config.body_read_timeout = Duration::from_millis(300);
    let server = adapter.start(config).await;
    let addr = server.addr;
    let part = &INIT[..10];

    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         origin: http://localhost:3000\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{part}",
        INIT.len()
    );
    socket.write_all(head.as_bytes()).await.expect("write");
    let answer = String::from_utf8(read_until_closed(&mut socket).await).expect("UTF-8");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\naccess-control-allow-origin: http://localhost:3000\r\n"),
        "a page can read it: {head}"
    );
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    let body: Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(
        (&body["id"], &body["error"]["code"]),
        (&Value::Null, &json!(-32000))
    );

    let (mut sender, _connection) = http2(addr).await;
    let stalled = Stalled(Some(Bytes::from_static(part.as_bytes()))).boxed();
    let response = tokio::time::timeout(PATIENCE, sender.send_request(http2_post(addr, stalled)))
        .await
        .expect("answered in time")
        .expect("a response");
    assert_eq!(response.status(), 408);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    assert_eq!(body["error"]["code"], -32000);
    let whole = Full::new(Bytes::from_static(INIT.as_bytes())).boxed();
    let response = sender
        .send_request(http2_post(addr, whole))
        .await
        .expect("a response");
    assert_eq!(response.status(), 200, "the connection serves on");
    server.stop().await;
}

/// The type of HTTP/2's `GOAWAY` frame (RFC 9113 §6.8).
const GOAWAY: u8 = 7;

/// The types of the HTTP/2 frames in `bytes` (RFC 9113 §4.1).
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    types
}

/// An HTTP/2 connection with no stream open for `ServeConfig::http2_idle_timeout` is sent a
/// `GOAWAY` and closed: at once when the client acknowledges it, after
/// `http2_keepalive_timeout` when it is silent (preface and `SETTINGS`, then nothing). A
/// connection with a stream open stays.
async fn an_http2_connection_without_streams_is_closed_when_idle(adapter: Adapter) {
    use http_body_util::BodyExt as _;
    use tokio::io::AsyncWriteExt as _;

    let mut config = ServeConfig::default();
    config.http2_idle_timeout = Duration::from_millis(300);
    config.http2_keepalive_timeout = Duration::from_millis(300);
    config.server.keepalive_interval = Duration::from_millis(100);
    let server = adapter.start(config).await;
    let addr = server.addr;

    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
    silent
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("write");
    silent.write_all(&settings).await.expect("write");
    let frames = frame_types(&read_until_closed(&mut silent).await);
    assert!(frames.contains(&GOAWAY), "told why: {frames:?}");

    let (mut sender, connection) = http2(addr).await;
    let whole = Full::new(Bytes::from_static(INIT.as_bytes())).boxed();
    let response = sender
        .send_request(http2_post(addr, whole))
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    let ended = tokio::time::timeout(PATIENCE, connection).await;
    assert!(
        ended.is_ok(),
        "an idle connection that answers is closed too"
    );

    let (mut sender, connection) = http2(addr).await;
    let get = http::Request::get(format!("http://{addr}/sse"))
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()).boxed())
        .expect("valid");
    let response = sender.send_request(get).await.expect("a response");
    let (head, body) = response.into_parts();
    let mut stream = client::EventStream::new(head, body);
    assert_eq!(
        stream.next_event().await.expect("an event").event_type,
        "endpoint"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        !connection.is_finished(),
        "a connection with an open stream is not idle"
    );
    assert!(
        matches!(stream.next_item().await, Some(Item::Comment(_))),
        "its stream carries on"
    );
    drop(stream);
    server.stop().await;
}

/// Reads of connections' first bytes, by peer, counted from the trace event mcp-sse-app writes
/// for each (target `mcp_sse_app::sniff`).
mod sniff_reads {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    static READS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

    struct Counter;

    struct Peer(Option<String>);

    impl Visit for Peer {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "peer" {
                self.0 = Some(format!("{value:?}"));
            }
        }
    }

    impl Subscriber for Counter {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == "mcp_sse_app::sniff"
        }

        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }

        fn record(&self, _: &Id, _: &Record<'_>) {}

        fn record_follows_from(&self, _: &Id, _: &Id) {}

        fn event(&self, event: &Event<'_>) {
            let mut peer = Peer(None);
            event.record(&mut peer);
            if let Some(peer) = peer.0 {
                *READS
                    .lock()
                    .unwrap()
                    .get_or_insert_default()
                    .entry(peer)
                    .or_default() += 1;
            }
        }

        fn enter(&self, _: &Id) {}

        fn exit(&self, _: &Id) {}
    }

    /// Starts counting, for the whole test process.
    pub(super) fn count() {
        static INSTALLED: Once = Once::new();
        INSTALLED.call_once(|| {
            tracing::subscriber::set_global_default(Counter).expect("no other subscriber");
        });
    }

    /// How often the first bytes of `peer`'s connection were read for.
    pub(super) fn of(peer: SocketAddr) -> usize {
        let reads = READS.lock().unwrap();
        reads
            .as_ref()
            .and_then(|reads| reads.get(&peer.to_string()).copied())
            .unwrap_or(0)
    }
}

/// A connection that sent only the first byte of the HTTP/2 preface, which could begin an
/// HTTP/1.1 `POST` as well, is not read again until it sends more: the protocol sniff waits for
/// the socket to be readable (it used to peek again every millisecond until the head timeout).
/// The reads are counted, not timed. Then the rest comes, and the request is answered.
async fn a_partial_preface_is_not_read_again_until_more_comes(adapter: Adapter) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    sniff_reads::count();
    let server = adapter.start(Config::default()).await;
    let addr = server.addr;
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let peer = socket.local_addr().expect("an address");
    socket.write_all(b"P").await.expect("write");
    // The first read comes when the server gets to it (a loaded machine may take a while)...
    for _ in 0..500 {
        if sniff_reads::of(peer) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...then time for a busy sniff to show itself.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reads = sniff_reads::of(peer);
    assert!(
        (1..=2).contains(&reads),
        "{reads} reads of a connection that sent one byte"
    );
    let rest = format!(
        "OST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{INIT}",
        INIT.len()
    );
    socket.write_all(rest.as_bytes()).await.expect("write");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        sniff_reads::of(peer),
        reads + 1,
        "one more read, for the bytes that came"
    );
    server.stop().await;
}

/// The whole shutdown takes `ServeConfig::shutdown_grace` at most, even with a stream whose
/// reader stopped reading (it used to wait the grace twice: for the handlers, then for the
/// connections); what is left is then closed, such as an HTTP/2 connection that never answers
/// the `PING` of its `GOAWAY`.
async fn the_shutdown_deadline_holds_with_a_stuck_reader(adapter: Adapter) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let grace = Duration::from_secs(2);
    let mut config = ServeConfig::default();
    config.shutdown_grace = grace;
    config.server.stream_queue_bytes = 16 * 1024;
    let server = adapter.start(config).await;
    let addr = server.addr;
    let (_, mut stuck, flood) = stalled_standalone(addr).await;
    assert_eq!(flood["result"]["full"], true, "the reader is stuck");
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    silent
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("write");
    silent
        .write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
        .await
        .expect("write");
    let mut head = [0; 9];
    silent.read_exact(&mut head).await.expect("a frame");
    assert_eq!(head[3], 4, "the server's SETTINGS: the connection is up");
    let mut settings = vec![0; usize::from(head[2])];
    silent.read_exact(&mut settings).await.expect("its payload");

    let started = std::time::Instant::now();
    server.stop().await;
    let took = started.elapsed();
    assert!(
        took < grace * 3 / 2,
        "shut down in {took:?}, for a grace of {grace:?}"
    );
    let frames = frame_types(&read_until_closed(&mut silent).await);
    assert!(
        frames.contains(&GOAWAY),
        "asked to go away, then closed: {frames:?}"
    );
    // The stuck reader reads on: what was queued for it, then the end of its connection.
    tokio::time::timeout(PATIENCE, async {
        while stuck.next_item().await.is_some() {}
    })
    .await
    .expect("the stuck stream's connection was closed");
}
