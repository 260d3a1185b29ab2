//! Streamable HTTP with sessions, 2025-03-26 … 2025-11-25 (docs/requirements.md §3), through the
//! core's public API with a virtual clock: session lifecycle, status codes, answer shapes, batches,
//! the protocol version header, the standalone stream, DELETE and expiry.

use std::time::Duration;

use mcp_sse_core::{CloseReason, Config, Event, HostPolicy, ResponseMode, SendError, Target};
use mcp_sse_tests::Sim;
use serde_json::json;

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

fn sid(session: &str) -> (&'static str, &str) {
    ("mcp-session-id", session)
}

#[test]
fn s2_35_initialize_mints_a_session_named_on_every_response() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    assert_eq!(session.len(), 32, "128 bits as hex (S2.36, S2.37)");
    assert_eq!(
        sim.server.session_transport(&session),
        Some(mcp_sse_core::Transport::Streamable)
    );
    assert_eq!(
        sim.server.session_version(&session),
        Some(mcp_sse_core::ProtocolVersion::V2025_11_25),
        "the application's answer names the version"
    );
    // A request answered with JSON, an error, and a 202 all name the session (S2.44).
    let x = sim.post("/mcp", &[sid(&session)], PING);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).header("mcp-session-id"), Some(session.as_str()));
    let x = sim.post("/mcp", &[sid(&session)], "{oops");
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).header("mcp-session-id"), Some(session.as_str()));
}

#[test]
fn s2_39_s2_40_s2_44_session_status_codes() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-06-18");
    // No session on a request that is not initialize: 400 (S2.39).
    let x = sim.post("/mcp", &[], PING);
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["id"], 1, "S3.27: the id is echoed");
    // An id never issued: 404 so clients re-initialise (S2.40, S2.41).
    let x = sim.post("/mcp", &[sid("0123456789abcdef0123456789abcdef")], PING);
    assert_eq!(sim.seen(x).status(), 404);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32001);
    // A second initialize on a session: 400 (S2.44).
    let init = r#"{"jsonrpc":"2.0","id":9,"method":"initialize","params":{}}"#;
    let x = sim.post("/mcp", &[sid(&session)], init);
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    // Accept must list both shapes (S2.5): 406.
    let x = sim.request(
        "POST",
        "/mcp",
        &[
            ("content-type", "application/json"),
            ("accept", "application/json"),
            sid(&session),
        ],
        PING,
    );
    assert_eq!(sim.seen(x).status(), 406);
    // Content-Type (415), JSON (-32700), JSON-RPC shape (-32600), size (413).
    let x = sim.request(
        "POST",
        "/mcp",
        &[
            ("content-type", "text/plain"),
            ("accept", "application/json, text/event-stream"),
            sid(&session),
        ],
        PING,
    );
    assert_eq!(sim.seen(x).status(), 415);
    let x = sim.post("/mcp", &[sid(&session)], "[1,");
    assert_eq!(sim.seen(x).json()["error"]["code"], -32700);
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"q","method":7}"#,
    );
    assert_eq!(
        (sim.seen(x).status(), sim.seen(x).json()["id"].clone()),
        (400, json!("q"))
    );
    assert!(
        sim.take_events().is_empty(),
        "nothing invalid reached the application"
    );
}

#[test]
fn s2_8_notifications_and_responses_get_202_with_an_empty_body() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#,
    );
    assert_eq!(sim.seen(x).status(), 202);
    assert!(sim.seen(x).response().body().is_empty());
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"s1","result":{}}"#,
    );
    assert_eq!(sim.seen(x).status(), 202);
    assert_eq!(sim.take_events().len(), 2);
}

#[test]
fn s2_9_answer_shape_json_sse_or_held() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    // The answer first: JSON.
    let x = sim.post("/mcp", &[sid(&session)], PING);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).header("content-type"), Some("application/json"));
    // A notification first: SSE, scoped to the request, ended by the answer (S2.13, S2.14).
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.send(
        Target::Request(key),
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#,
    )
    .unwrap();
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("text/event-stream")
    );
    sim.reply(key, r#"{"content":[]}"#);
    let seen = sim.seen(x);
    assert!(seen.finished);
    let messages = seen.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["id"], 2);
    // Silence past the hold time: the SSE head goes out anyway, then keepalives flow.
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.advance(Duration::from_millis(999));
    assert!(sim.seen(x).head.is_none());
    sim.advance(Duration::from_millis(1));
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("text/event-stream")
    );
    sim.advance(Duration::from_secs(16));
    assert_eq!(sim.seen(x).comments(), 1);
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).messages().last().unwrap()["id"], 3);
}

#[test]
fn response_mode_sse_and_json() {
    let mut config = Config::default();
    config.response_mode = ResponseMode::Sse;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-06-18");
    // The head waits for the answer, and leaves with it (S2.9).
    let x = sim.post("/mcp", &[sid(&session)], PING);
    let (key, _) = sim.next_request();
    assert!(sim.seen(x).head.is_none() && sim.seen(x).response.is_none());
    sim.reply(key, "{}");
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("text/event-stream")
    );
    assert_eq!(sim.seen(x).messages().len(), 1);
    assert!(sim.seen(x).finished);
    // A silent request gets its head after the hold, so keepalives can flow.
    let x = sim.post("/mcp", &[sid(&session)], PING);
    sim.advance(sim.server.config().json_hold);
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("text/event-stream")
    );

    let mut config = Config::default();
    config.response_mode = ResponseMode::Json;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-06-18");
    let x = sim.post("/mcp", &[sid(&session)], PING);
    let (key, _) = sim.next_request();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#;
    assert_eq!(
        sim.send(Target::Request(key), note),
        Err(SendError::NoStream)
    );
    sim.advance(Duration::from_secs(60));
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).header("content-type"), Some("application/json"));
}

#[test]
fn s2_6_batches_only_in_2025_03_26() {
    let mut sim = Sim::new(Config::default());
    let old = sim.initialize("2025-03-26");
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"b"},{"bad":1}]"#;
    let x = sim.post("/mcp", &[sid(&old)], batch);
    let events = sim.take_events();
    let keys: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Request { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Notification { .. }))
    );
    sim.reply(keys[1], r#""b""#);
    assert!(
        sim.seen(x).response.is_none(),
        "the array waits for every answer (S5.5)"
    );
    sim.reply(keys[0], r#""a""#);
    let answer = sim.seen(x).json();
    let answer = answer.as_array().unwrap();
    assert_eq!(answer.len(), 3);
    assert_eq!(
        answer[0]["error"]["code"], -32600,
        "the invalid element's error"
    );
    assert!(answer.contains(&json!({"jsonrpc":"2.0","id":1,"result":"a"})));
    // Only notifications: 202. initialize inside a batch: an error element.
    let x = sim.post("/mcp", &[sid(&old)], r#"[{"jsonrpc":"2.0","method":"n"}]"#);
    assert_eq!(sim.seen(x).status(), 202);
    let x = sim.post(
        "/mcp",
        &[sid(&old)],
        r#"[{"jsonrpc":"2.0","id":5,"method":"initialize"}]"#,
    );
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()[0]["id"], 5);
    // An empty batch: one -32600 (S5.5).
    let x = sim.post("/mcp", &[sid(&old)], "[]");
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    // Later versions: 400 (S2.7).
    let new = sim.initialize("2025-06-18");
    let x = sim.post(
        "/mcp",
        &[sid(&new)],
        r#"[{"jsonrpc":"2.0","id":1,"method":"a"}]"#,
    );
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
}

#[test]
fn s2_48_protocol_version_header() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let x = sim.post(
        "/mcp",
        &[sid(&session), ("mcp-protocol-version", "1999-01-01")],
        PING,
    );
    assert_eq!(sim.seen(x).status(), 400);
    let body = sim.seen(x).json();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2025-11-25")
    );
    assert_eq!(body["error"]["data"]["supported"][0], "2024-11-05");
    // An older supported version on a newer session is tolerated (the conformance suite does it).
    let x = sim.post(
        "/mcp",
        &[sid(&session), ("mcp-protocol-version", "2025-03-26")],
        PING,
    );
    assert!(
        sim.seen(x).response.is_none(),
        "accepted, waiting for the application"
    );
    // initialize carries no header, or one that is not checked (S2.49).
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
    let x = sim.post("/mcp", &[("mcp-protocol-version", "garbage")], init);
    assert!(sim.seen(x).response.is_none());
}

#[test]
fn s2_18_standalone_stream_newest_wins_and_carries_session_messages() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let note = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    let target = || Target::Session(mcp_sse_core::SessionId::parse(&session).unwrap());
    assert_eq!(
        sim.send(target(), note),
        Err(SendError::NoStream),
        "no stream open yet"
    );
    let first = sim.get_stream("/mcp", &[sid(&session)]);
    assert_eq!(sim.seen(first).status(), 200);
    assert_eq!(
        sim.seen(first).header("mcp-session-id"),
        Some(session.as_str())
    );
    // S2.16: the priming event first: an id and empty data, with a retry hint.
    assert!(sim.seen(first).raw.starts_with(b"id: "));
    assert_eq!(sim.seen(first).events()[0].data, "");
    sim.send(target(), note).unwrap();
    assert_eq!(
        sim.seen(first).messages(),
        vec![json!({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})]
    );
    // A second GET: the first is closed with a retry hint, not a 409.
    let second = sim.get_stream("/mcp", &[sid(&session)]);
    assert_eq!(sim.seen(second).status(), 200);
    assert!(sim.seen(first).finished);
    assert!(sim.seen(first).raw.ends_with(b"retry: 1000\n\n"));
    sim.send(target(), note).unwrap();
    assert_eq!(sim.seen(second).messages().len(), 1);
    assert_eq!(
        sim.seen(first).messages().len(),
        1,
        "S2.24: never on two streams"
    );
    // Unknown session 404; a stream the client cannot take 406.
    let x = sim.get_stream("/mcp", &[sid("ffffffffffffffffffffffffffffffff")]);
    assert_eq!(sim.seen(x).status(), 404);
    let x = sim.request(
        "GET",
        "/mcp",
        &[("accept", "application/json"), sid(&session)],
        "",
    );
    assert_eq!(sim.seen(x).status(), 406);
}

#[test]
fn s2_33_no_priming_before_2025_11_25() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-06-18");
    let stream = sim.get_stream("/mcp", &[sid(&session)]);
    assert!(
        sim.seen(stream).raw.is_empty(),
        "older clients break on empty data"
    );
    let x = sim.post("/mcp", &[sid(&session)], PING);
    let (key, _) = sim.next_request();
    sim.send(Target::Request(key), r#"{"jsonrpc":"2.0","method":"n"}"#)
        .unwrap();
    assert!(sim.seen(x).events().iter().all(|e| !e.data.is_empty()));
    // Messages still carry ids, so the stream can be resumed (S2.25).
    assert!(!sim.seen(x).events()[0].last_event_id.is_empty());
}

#[test]
fn s2_42_delete_ends_the_session_then_404() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let stream = sim.get_stream("/mcp", &[sid(&session)]);
    let x = sim.request("DELETE", "/mcp", &[sid(&session)], "");
    assert_eq!(sim.seen(x).status(), 200);
    assert!(sim.seen(stream).finished);
    assert!(sim.take_events().iter().any(|e| matches!(
        e,
        Event::SessionClosed {
            reason: CloseReason::Deleted,
            ..
        }
    )));
    for method in ["POST", "GET", "DELETE"] {
        let x = sim.request(
            method,
            "/mcp",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                sid(&session),
            ],
            PING,
        );
        assert_eq!(sim.seen(x).status(), 404, "{method} after DELETE");
    }
    let x = sim.request("DELETE", "/mcp", &[], "");
    assert_eq!(sim.seen(x).status(), 400);

    let mut config = Config::default();
    config.allow_delete = false;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let x = sim.request("DELETE", "/mcp", &[sid(&session)], "");
    assert_eq!(sim.seen(x).status(), 405);
    assert!(sim.server.has_session(&session));
}

#[test]
fn idle_and_init_expiry() {
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(100));
    config.init_timeout = Some(Duration::from_secs(10));
    let mut sim = Sim::new(config);
    // Never spoke after initialize: gone after the init timeout.
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    let x = sim.post("/mcp", &[], init);
    let (key, _) = sim.next_request();
    sim.reply(key, r#"{"protocolVersion":"2025-11-25"}"#);
    let silent = sim.seen(x).header("mcp-session-id").unwrap().to_owned();
    sim.advance(Duration::from_secs(10));
    assert!(!sim.server.has_session(&silent));

    // Idle: gone after the idle timeout, unless a stream or a request keeps it busy.
    let idle = sim.initialize("2025-11-25");
    let busy = sim.initialize("2025-11-25");
    let listening = sim.initialize("2025-11-25");
    sim.post("/mcp", &[sid(&busy)], PING);
    sim.get_stream("/mcp", &[sid(&listening)]);
    sim.advance(Duration::from_secs(150));
    assert!(!sim.server.has_session(&idle));
    assert!(
        sim.server.has_session(&busy),
        "a request in flight is activity"
    );
    assert!(
        sim.server.has_session(&listening),
        "an open stream is activity"
    );
    assert!(sim.take_events().iter().any(|e| matches!(
        e,
        Event::SessionClosed {
            reason: CloseReason::Expired,
            ..
        }
    )));
    let x = sim.post("/mcp", &[sid(&idle)], PING);
    assert_eq!(sim.seen(x).status(), 404, "S2.40: expired means 404");
}

#[test]
fn session_cap_applies_to_initialize() {
    let mut config = Config::default();
    config.max_sessions = 2;
    let mut sim = Sim::new(config);
    // Both sessions busy (each holds a stream), so neither gives way.
    let session = sim.initialize("2025-11-25");
    sim.get_stream("/mcp", &[("mcp-session-id", &session)]);
    sim.open_legacy("/sse");
    let x = sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":7,"method":"initialize","params":{}}"#,
    );
    assert_eq!(sim.seen(x).status(), 503);
    assert!(sim.seen(x).header("retry-after").is_some());
    assert_eq!(sim.seen(x).json()["id"], 7);
    assert_eq!(sim.server.session_count(), 2);
}

#[test]
fn s4_3_host_check_on_loopback() {
    let mut config = Config::default();
    config.hosts = HostPolicy::Loopback;
    let mut sim = Sim::new(config);
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let x = sim.post(
        "/mcp",
        &[
            ("host", "evil.example.com"),
            ("origin", "http://evil.example.com"),
        ],
        init,
    );
    assert_eq!(sim.seen(x).status(), 403);
    for host in ["localhost:8000", "127.0.0.1", "[::1]:9"] {
        let x = sim.post("/mcp", &[("host", host)], init);
        assert!(sim.seen(x).response.is_none(), "{host} accepted");
    }
    assert_eq!(sim.server.session_count(), 3);
}

#[test]
fn stateless_mode_has_no_sessions_get_or_delete() {
    let mut config = Config::default();
    config.stateless = true;
    let mut sim = Sim::new(config);
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let x = sim.post("/mcp", &[], init);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).status(), 200);
    assert!(sim.seen(x).header("mcp-session-id").is_none());
    for method in ["GET", "DELETE"] {
        let x = sim.request(method, "/mcp", &[("accept", "text/event-stream")], "");
        assert_eq!(sim.seen(x).status(), 405);
        assert_eq!(sim.seen(x).header("allow"), Some("POST, OPTIONS"));
    }
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn s2_17_cancellation_is_a_notification_not_a_disconnect() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"long","method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"long","reason":"user"}}"#;
    let c = sim.post("/mcp", &[sid(&session)], cancel);
    assert_eq!(sim.seen(c).status(), 202);
    let events = sim.take_events();
    assert!(
        matches!(&events[..], [Event::Cancelled { key: k, reason: Some(r) }] if *k == key && r == "user")
    );
    // Nothing more is sent for it; its POST ends with an empty stream.
    assert!(sim.seen(x).finished);
    assert!(sim.seen(x).messages().is_empty());
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
    assert_eq!(sim.server.requests_in_flight(), 0);
}

#[test]
fn a_slow_reader_on_one_stream_never_delays_another_of_the_same_session() {
    let mut config = Config::default();
    config.stream_queue_bytes = 512;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let standalone = sim.get_stream("/mcp", &[sid(&session)]);
    sim.pause(standalone);
    let target = Target::Session(mcp_sse_core::SessionId::parse(&session).unwrap());
    let big = format!(
        r#"{{"jsonrpc":"2.0","method":"n","params":{{"pad":"{}"}}}}"#,
        "x".repeat(600)
    );
    sim.send(target.clone(), &big).unwrap();
    assert_eq!(sim.send(target, &big), Err(SendError::QueueFull));
    for id in 0..10 {
        let x = sim.post(
            "/mcp",
            &[sid(&session)],
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"t"}}"#),
        );
        let (key, _) = sim.next_request();
        sim.send(Target::Request(key), r#"{"jsonrpc":"2.0","method":"p"}"#)
            .unwrap();
        sim.reply(key, "{}");
        assert!(sim.seen(x).finished);
        assert_eq!(sim.seen(x).messages().len(), 2);
    }
}

#[test]
fn idle_expiry_is_on_time_when_shorter_than_the_init_timeout() {
    // Found by the session model: the first check used to wait for the init timeout.
    let mut config = Config::default();
    config.idle_timeout = Some(Duration::from_secs(30));
    config.init_timeout = Some(Duration::from_secs(60));
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    sim.advance(Duration::from_secs(29));
    assert!(sim.server.has_session(&session));
    sim.advance(Duration::from_secs(1));
    assert!(
        !sim.server.has_session(&session),
        "expired after exactly the idle timeout"
    );
}

/// S5.5, S2.9: when a batch's answer turns into a stream after some answers (or element errors)
/// were gathered for a JSON body, those go out on the stream first: none is lost.
#[test]
fn s5_5_answers_gathered_before_a_batch_turns_into_a_stream_are_sent_on_it() {
    for mode in [ResponseMode::Auto, ResponseMode::Sse] {
        let mut config = Config::default();
        config.response_mode = mode;
        let mut sim = Sim::new(config);
        let session = sim.initialize("2025-03-26");
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"},{"bad":1}]"#;
        let x = sim.post("/mcp", &[sid(&session)], batch);
        let (first, _) = sim.next_request();
        let (second, _) = sim.next_request();
        sim.reply(first, r#""a""#);
        // The second answer is slow: the hold passes and the answer becomes a stream.
        sim.advance(sim.server.config().json_hold + Duration::from_millis(1));
        sim.reply(second, r#""b""#);
        let seen = sim.seen(x);
        assert!(
            seen.finished,
            "{mode:?}: the stream ends after the last answer"
        );
        let messages = seen.messages();
        assert_eq!(messages.len(), 3, "{mode:?}: {messages:?}");
        assert!(messages.contains(&json!({"jsonrpc":"2.0","id":1,"result":"a"})));
        assert!(messages.contains(&json!({"jsonrpc":"2.0","id":2,"result":"b"})));
        assert!(messages.iter().any(|m| m["error"]["code"] == -32600));
    }
}

/// A batch with more requests than a session may have in flight can never be served: a
/// permanent 400, not a 503 that invites a retry; a smaller one that only has to wait gets 503.
#[test]
fn a_batch_larger_than_the_in_flight_bound_is_400_not_503() {
    let mut config = Config::default();
    config.max_requests_in_flight = 2;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-03-26");
    let three = r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"},{"jsonrpc":"2.0","id":3,"method":"c"}]"#;
    let x = sim.post("/mcp", &[sid(&session)], three);
    assert_eq!(sim.seen(x).status(), 400);
    assert!(sim.seen(x).header("retry-after").is_none());
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    assert!(sim.take_events().is_empty(), "nothing delivered");
    let one = r#"{"jsonrpc":"2.0","id":4,"method":"a"}"#;
    sim.post("/mcp", &[sid(&session)], one);
    let two = r#"[{"jsonrpc":"2.0","id":5,"method":"a"},{"jsonrpc":"2.0","id":6,"method":"b"}]"#;
    let x = sim.post("/mcp", &[sid(&session)], two);
    assert_eq!(
        sim.seen(x).status(),
        503,
        "it fits once the first is answered"
    );
}
