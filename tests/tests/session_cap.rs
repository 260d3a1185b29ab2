//! The session cap cannot be starved: at the cap the least recently active idle session (no
//! stream with a connection, no request in flight) gives way to a new one, whose client gets
//! `404` next and initialises again (S2.40); a request is refused, with `503` and a
//! `Retry-After` that says how long the wait may be, only when every session is busy.

use std::time::Duration;

use mcp_sse_core::{CloseReason, Config, Event};
use mcp_sse_tests::Sim;

fn capped(max: usize) -> Sim {
    let mut config = Config::default();
    config.max_sessions = max;
    config.retry_after_secs = 2;
    Sim::new(config)
}

fn ping(sim: &mut Sim, session: &str) -> u16 {
    let x = sim.post(
        "/mcp",
        &[("mcp-session-id", session)],
        r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#,
    );
    if let Some((key, _)) = sim.take_events().into_iter().find_map(|e| match e {
        Event::Request { key, request, .. } => Some((key, request)),
        _ => None,
    }) {
        sim.reply(key, "{}");
    }
    sim.seen(x).status()
}

fn evicted(events: Vec<Event>) -> Vec<String> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::SessionClosed {
                session,
                reason: CloseReason::Evicted,
            } => Some(session.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn abandoned_sessions_give_way_to_new_clients() {
    let mut sim = capped(100);
    // An attacker opens sessions up to the cap and abandons them.
    let abandoned: Vec<String> = (0..100).map(|_| sim.initialize("2025-11-25")).collect();
    assert_eq!(sim.server.session_count(), 100);
    // A newcomer still gets a session, on either transport, at once.
    sim.advance(Duration::from_secs(1));
    let newcomer = sim.initialize("2025-11-25");
    let (_, endpoint) = sim.open_legacy("/sse");
    assert!(endpoint.contains("sessionId="));
    assert_eq!(sim.server.session_count(), 100);
    assert_eq!(sim.server.stats().sessions_evicted, 2);
    // The two least recently active gave way; their clients learn it with 404 (S2.40).
    assert_eq!(ping(&mut sim, &abandoned[0]), 404);
    assert_eq!(ping(&mut sim, &abandoned[1]), 404);
    assert_eq!(ping(&mut sim, &abandoned[2]), 200);
    assert_eq!(ping(&mut sim, &newcomer), 200);
}

#[test]
fn the_least_recently_active_idle_session_goes_first() {
    let mut sim = capped(3);
    let a = sim.initialize("2025-11-25");
    let b = sim.initialize("2025-11-25");
    let c = sim.initialize("2025-11-25");
    sim.advance(Duration::from_secs(1));
    assert_eq!(ping(&mut sim, &a), 200, "a is active again");
    sim.take_events();
    sim.initialize("2025-11-25");
    assert!(
        !sim.server.has_session(&b),
        "b was the least recently active"
    );
    assert!(sim.server.has_session(&c));
    sim.initialize("2025-11-25");
    assert!(!sim.server.has_session(&c));
    assert_eq!(ping(&mut sim, &a), 200);
}

#[test]
fn sessions_with_a_stream_or_a_request_in_flight_never_give_way() {
    let mut sim = capped(2);
    let streaming = sim.initialize("2025-11-25");
    let standalone = sim.get_stream("/mcp", &[("mcp-session-id", &streaming)]);
    assert_eq!(sim.seen(standalone).status(), 200);
    let working = sim.initialize("2025-11-25");
    sim.post(
        "/mcp",
        &[("mcp-session-id", &working)],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.advance(Duration::from_secs(60));

    // Every session is busy; one only with a request, which frees it soon: Retry-After 2.
    let refused = sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#,
    );
    assert_eq!(sim.seen(refused).status(), 503);
    assert_eq!(sim.seen(refused).header("retry-after"), Some("2"));
    assert_eq!(
        sim.seen(refused).json()["id"],
        0,
        "the refusal names the request"
    );
    assert!(evicted(sim.take_events()).is_empty());
    assert_eq!(sim.server.stats().sessions_evicted, 0);

    // Once answered, the working session is idle and gives way.
    sim.reply(key, "{}");
    sim.initialize("2025-11-25");
    assert!(!sim.server.has_session(&working));
    assert_eq!(ping(&mut sim, &streaming), 200);
}

#[test]
fn when_every_session_holds_a_stream_the_wait_is_the_stall_timeout() {
    let mut sim = capped(2);
    let (_, _) = sim.open_legacy("/sse");
    let (_, _) = sim.open_legacy("/mcp");
    let refused = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(refused).status(), 503);
    let stall = sim
        .server
        .config()
        .stall_timeout
        .unwrap()
        .as_secs()
        .to_string();
    assert_eq!(
        sim.seen(refused).header("retry-after"),
        Some(stall.as_str())
    );
    // Nothing was allocated for the refused request.
    assert_eq!(sim.server.session_count(), 2);
    assert_eq!(sim.server.exchange_count(), 2);
}

#[test]
fn sessions_whose_streams_closed_give_way_like_any_idle_one() {
    let mut sim = capped(2);
    let a = sim.initialize("2025-11-25");
    let b = sim.initialize("2025-11-25");
    let stream = sim.get_stream("/mcp", &[("mcp-session-id", &a)]);
    sim.get_stream("/mcp", &[("mcp-session-id", &b)]);
    sim.advance(Duration::from_secs(1));
    // a's client goes away: its stream waits for a resume, its session is idle now.
    sim.disconnect(stream);
    sim.initialize("2025-11-25");
    assert!(!sim.server.has_session(&a));
    assert!(sim.server.has_session(&b));
}

#[test]
fn invalid_requests_allocate_nothing() {
    let mut sim = Sim::new(Config::default());
    sim.request("GET", "/sse", &[("accept", "application/json")], "");
    sim.request("POST", "/sse", &[], "");
    sim.request("GET", "/sse", &[("origin", "http://evil.example")], "");
    sim.request("GET", "/sse", &[("host", "bad host")], "");
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.timer_count(), 0);
    assert_eq!(sim.server.stats().rejected, 4);
}

#[test]
fn a_malformed_host_is_400_whatever_the_policy() {
    let mut sim = Sim::new(Config::default());
    for host in ["bad host", "user@localhost", "a\u{7f}b"] {
        let Ok(value) = http::HeaderValue::from_str(host) else {
            continue;
        };
        let x = sim.request(
            "GET",
            "/sse",
            &[
                ("accept", "text/event-stream"),
                ("host", value.to_str().unwrap()),
            ],
            "",
        );
        assert_eq!(sim.seen(x).status(), 400, "{host:?}");
    }
    let two = sim.request(
        "GET",
        "/sse",
        &[
            ("accept", "text/event-stream"),
            ("host", "a"),
            ("host", "b"),
        ],
        "",
    );
    assert_eq!(sim.seen(two).status(), 400, "two Host headers");
    let fine = sim.request(
        "GET",
        "/sse",
        &[("accept", "text/event-stream"), ("host", "example.com:80")],
        "",
    );
    assert_eq!(sim.seen(fine).status(), 200);
}
