//! The tokio adapter over real loopback HTTP: the 2024-11-05 flow, the seed's flow on `/mcp`,
//! every status code of that transport, keepalive, disconnects, server-to-client requests,
//! graceful shutdown and mounting in axum.

use std::net::SocketAddr;
use std::time::Duration;

use mcp_sse_core::jsonrpc::{self, ErrorObject};
use mcp_sse_core::sse::Item;
use mcp_sse_core::{Config, Cors, OriginPolicy};
use mcp_sse_tests::client::{self, PATIENCE};
use mcp_sse_tokio::{Handler, McpService, RequestContext, serve_with_shutdown};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct TestApp;

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
                tokio::time::sleep(Duration::from_millis(300)).await;
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
            "panic" => panic!("the handler panicked on purpose"),
            _ => Err(ErrorObject::new(
                jsonrpc::METHOD_NOT_FOUND,
                "Method not found",
            )),
        }
    }
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(PATIENCE, self.served)
            .await
            .expect("shutdown in time")
            .unwrap()
            .unwrap();
    }
}

async fn start(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(serve_with_shutdown(listener, config, TestApp, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        served,
    }
}

fn session_of(uri: &str) -> String {
    uri.split("sessionId=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn legacy_flow_over_http_s1_2_s1_3() {
    let server = start(Config::default()).await;
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

#[tokio::test]
async fn seed_flow_on_the_mcp_endpoint() {
    let server = start(Config::default()).await;
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

#[tokio::test]
async fn every_status_code_of_the_legacy_transport_over_http() {
    let mut config = Config::default();
    config.max_body_bytes = 1024;
    config.max_sessions = 1;
    config.max_requests_in_flight = 1;
    config.retry_after_secs = 2;
    let server = start(config).await;
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
    // At the session cap: 503 + Retry-After at once.
    let r = client::fetch(addr, "GET", "/sse", &[("accept", "text/event-stream")], "").await;
    assert_eq!((r.status(), r.header("retry-after")), (503, Some("2")));
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

#[tokio::test]
async fn cors_exposes_the_session_header_on_streams_and_errors() {
    let mut config = Config::default();
    config.origins = OriginPolicy::Any;
    config.cors = Some(Cors::default());
    let server = start(config).await;
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

#[tokio::test]
async fn keepalive_comments_arrive_on_an_idle_stream() {
    let mut config = Config::default();
    config.keepalive_interval = Duration::from_millis(100);
    let server = start(config).await;
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

#[tokio::test]
async fn a_closed_stream_ends_its_session() {
    let server = start(Config::default()).await;
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

#[tokio::test]
async fn stateless_posts_answer_with_json_or_a_request_stream() {
    let mut config = Config::default();
    config.sessions = false;
    let server = start(config).await;
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

#[tokio::test]
async fn server_to_client_requests_are_answered_by_post() {
    let server = start(Config::default()).await;
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

#[tokio::test]
async fn graceful_shutdown_finishes_streams_with_a_retry_hint() {
    let server = start(Config::default()).await;
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
    let (service, _handle) = McpService::new(Config::default(), TestApp);
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

#[tokio::test]
async fn a_panicking_handler_answers_internal_error_and_frees_its_slot() {
    let mut config = Config::default();
    config.max_requests_in_flight = 1;
    let server = start(config).await;
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
    let r = client::post(
        server.addr,
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"echo"}"#,
    )
    .await;
    assert_eq!(
        r.status(),
        202,
        "the panicked request no longer counts as in flight"
    );
    server.stop().await;
}
