//! The 2024-11-05 HTTP+SSE transport (docs/requirements.md §2) and the seed's variant of it on the
//! MCP endpoint, through the core's public API with a virtual clock.

use mcp_sse_core::{CloseReason, Config, Event, Transport};
use mcp_sse_tests::Sim;
use serde_json::json;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;

fn session_of(uri: &str) -> &str {
    uri.split("sessionId=")
        .nth(1)
        .expect("the endpoint carries the session")
}

#[test]
fn s1_2_stream_opens_with_endpoint_event_and_headers() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let seen = sim.seen(stream);
    // S1.7, S3.11, E5.2: the stream's head.
    assert_eq!(seen.header("content-type"), Some("text/event-stream"));
    assert_eq!(seen.header("cache-control"), Some("no-cache, no-transform"));
    assert_eq!(seen.header("x-accel-buffering"), Some("no"));
    assert!(
        seen.header("connection").is_none(),
        "E5.2: no Connection header"
    );
    // The seed's variant: the session travels in a header too.
    let session = session_of(&endpoint);
    assert_eq!(seen.header("mcp-session-id"), Some(session));
    // S1.6: a relative URI on the POST endpoint; S2.37: visible ASCII, 128 bits as hex.
    assert_eq!(endpoint, format!("/messages?sessionId={session}"));
    assert_eq!(session.len(), 32);
    // The first bytes go out at once, before any timer.
    assert_eq!(seen.arrivals[0].0, sim.now);
    assert!(matches!(
        sim.take_events().as_slice(),
        [Event::SessionOpened {
            transport: Transport::HttpSse,
            ..
        }]
    ));
}

#[test]
fn s1_3_post_gets_202_and_reply_travels_on_the_stream() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let post = sim.post(&endpoint, &[], INIT);
    // S1.8: accepted, empty body; the session header is echoed (S2.44).
    assert_eq!(sim.seen(post).status(), 202);
    assert!(sim.seen(post).response().body().is_empty());
    assert_eq!(
        sim.seen(post).header("mcp-session-id"),
        Some(session_of(&endpoint))
    );

    let (key, request) = sim.next_request();
    assert_eq!(request.method, "initialize");
    sim.reply(key, r#"{"protocolVersion":"2024-11-05"}"#);
    let messages = sim.seen(stream).messages();
    assert_eq!(
        messages,
        vec![json!({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2024-11-05"}})]
    );
    assert_eq!(sim.seen(stream).events()[1].event_type, "message");
}

#[test]
fn seed_variant_on_the_mcp_endpoint_s1_12() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/mcp");
    let session = session_of(&endpoint).to_owned();
    assert_eq!(endpoint, format!("/mcp?sessionId={session}"));
    assert_eq!(
        sim.seen(stream).header("mcp-session-id"),
        Some(session.as_str())
    );

    // The seed's clients name the session by header on the bare endpoint.
    let post = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(
        sim.seen(stream).messages(),
        vec![json!({"jsonrpc":"2.0","id":"p","result":{}})]
    );
    // And by query on the endpoint URI.
    let post = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
}

#[test]
fn base_path_prefixes_the_endpoint_uri() {
    let mut config = Config::default();
    config.base_path = "/proxy/mcp-server".into();
    let mut sim = Sim::new(config);
    let (_, endpoint) = sim.open_legacy("/sse");
    assert!(
        endpoint.starts_with("/proxy/mcp-server/messages?sessionId="),
        "{endpoint}"
    );
}

#[test]
fn s1_8_error_statuses() {
    let mut config = Config::default();
    config.max_body_bytes = 64;
    let mut sim = Sim::new(config);
    let (_, endpoint) = sim.open_legacy("/sse");
    let session = session_of(&endpoint).to_owned();

    // Unknown session: 404 (S1.9, S2.40).
    let x = sim.post(
        "/messages?sessionId=nope",
        &[],
        r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).status(), 404);
    assert_eq!(sim.seen(x).json()["id"], 7, "S3.27: the id is echoed");
    // Missing session: 400.
    let x = sim.post(
        "/messages",
        &[],
        r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).status(), 400);
    // Wrong Content-Type: 415, and the session is still named (S2.44).
    let x = sim.request("POST", &endpoint, &[("content-type", "text/plain")], "{}");
    assert_eq!(sim.seen(x).status(), 415);
    assert_eq!(sim.seen(x).header("mcp-session-id"), Some(session.as_str()));
    assert_eq!(sim.seen(x).json()["error"]["code"], -32000);
    // Body over the limit: 413.
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"x","params":{{"p":"{}"}}}}"#,
        "a".repeat(64)
    );
    let x = sim.post(&endpoint, &[], &big);
    assert_eq!(sim.seen(x).status(), 413);
    // Not JSON: 400 + -32700 with a null id (S5.3, table 6.3).
    let x = sim.post(&endpoint, &[], "{not json");
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(
        sim.seen(x).json(),
        json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":sim.seen(x).json()["error"]["message"]}})
    );
    // JSON but not a message: 400 + -32600, id echoed when readable.
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    assert_eq!(sim.seen(x).json()["id"], 3);
    // S5.6: null ids are not MCP.
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    assert_eq!(sim.seen(x).json()["id"], serde_json::Value::Null);
    // Batches are not part of 2024-11-05.
    let x = sim.post(
        &endpoint,
        &[],
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
    );
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    // Wrong methods: 405 with Allow (S2.19).
    let x = sim.request("GET", "/messages", &[], "");
    assert_eq!(sim.seen(x).status(), 405);
    assert_eq!(sim.seen(x).header("allow"), Some("POST, OPTIONS"));
    let x = sim.request("DELETE", "/sse", &[], "");
    assert_eq!(sim.seen(x).status(), 405);
    // A stream that the client cannot take: 406.
    let x = sim.request("GET", "/sse", &[("accept", "application/json")], "");
    assert_eq!(sim.seen(x).status(), 406);
    // Unknown paths: 404.
    let x = sim.request("GET", "/elsewhere", &[], "");
    assert_eq!(sim.seen(x).status(), 404);
    // Nothing invalid reached the application, and the session lives on.
    assert!(
        !sim.take_events()
            .iter()
            .any(|e| matches!(e, Event::Request { .. }))
    );
    assert!(sim.server.has_session(&session));
}

#[test]
fn s1_8_jsonrpc_errors_travel_on_the_stream_with_202() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let post = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":5,"method":"nope"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
    let (key, _) = sim.next_request();
    let error = mcp_sse_core::jsonrpc::ErrorObject::new(-32601, "Method not found");
    sim.server.reply(sim.now, key, Err(&error)).unwrap();
    sim.drain();
    assert_eq!(
        sim.seen(stream).messages(),
        vec![json!({"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"Method not found"}})]
    );
}

#[test]
fn client_responses_and_notifications_reach_the_application() {
    let mut sim = Sim::new(Config::default());
    let (_, endpoint) = sim.open_legacy("/sse");
    sim.take_events();
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":"s0","result":{"ok":true}}"#,
    );
    assert_eq!(sim.seen(x).status(), 202);
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#,
    );
    assert_eq!(sim.seen(x).status(), 202);
    let events = sim.take_events();
    assert!(matches!(
        &events[0],
        Event::Response {
            session: Some(_),
            ..
        }
    ));
    assert!(
        matches!(&events[1], Event::Notification { notification, .. } if notification.method == "notifications/roots/list_changed")
    );
}

#[test]
fn s1_9_disconnect_frees_the_session_and_later_posts_get_404() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let post = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
    let (key, _) = sim.next_request();
    sim.disconnect(stream);
    assert_eq!(sim.server.session_count(), 0);
    assert!(sim.take_events().iter().any(|e| matches!(
        e,
        Event::SessionClosed {
            reason: CloseReason::ClientGone,
            ..
        }
    )));
    // The answer has nowhere to go; the application learns that from reply.
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).status(), 404);
    // Memory returns to zero once the client is gone and the timers ran.
    sim.advance(std::time::Duration::from_secs(60));
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.requests_in_flight(), 0);
    assert_eq!(sim.server.timer_count(), 0);
}

#[test]
fn application_can_close_a_session() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let session = mcp_sse_core::SessionId::parse(session_of(&endpoint)).unwrap();
    assert!(sim.server.close_session(sim.now, &session));
    sim.drain();
    assert!(sim.seen(stream).finished);
    assert!(!sim.server.close_session(sim.now, &session));
    let x = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(x).status(), 404);
}

/// Behind a reverse proxy that mounts the server under a prefix, the `endpoint` URI names the
/// prefix: from `base_path`, or per request from `X-Forwarded-Prefix` when trusted (S1.2).
#[test]
fn the_endpoint_uri_names_the_prefix_a_proxy_mounted_the_server_under() {
    let forwarded = ("x-forwarded-prefix", "/prefix");
    let endpoint = |config: Config, headers: &[(&str, &str)]| {
        let mut sim = Sim::new(config);
        let stream = sim.get_stream("/sse", headers);
        sim.seen(stream).events()[0].data.clone()
    };
    // Not trusted by default: a client cannot move its own endpoint.
    assert!(endpoint(Config::default(), &[forwarded]).starts_with("/messages?sessionId="));
    let mut config = Config::default();
    config.base_path = "/static".into();
    assert!(endpoint(config.clone(), &[forwarded]).starts_with("/static/messages?"));
    config.trust_forwarded_prefix = true;
    assert!(endpoint(config.clone(), &[forwarded]).starts_with("/prefix/messages?"));
    assert!(endpoint(config.clone(), &[]).starts_with("/static/messages?"));
    let bad = ("x-forwarded-prefix", "https://evil.example/");
    assert!(endpoint(config, &[bad]).starts_with("/static/messages?"));
}
