//! Graceful shutdown under one deadline: new requests get `503` naming their id; sessions with
//! nothing in flight end at once (their streams get a reconnection hint); requests in flight of
//! every era finish and their answers go out on their streams, then their sessions end; at the
//! deadline whatever is left ends, and a request still waiting gets `503` naming its id.

use std::time::Duration;

use mcp_sse_core::{CloseReason, Config, Event, Target};
use mcp_sse_tests::Sim;

const GRACE: Duration = Duration::from_secs(10);

fn closed_for_shutdown(events: Vec<Event>) -> usize {
    events
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::SessionClosed {
                    reason: CloseReason::Shutdown,
                    ..
                }
            )
        })
        .count()
}

#[test]
fn idle_sessions_end_at_once_with_a_retry_hint() {
    let mut sim = Sim::new(Config::default());
    let (a, _) = sim.open_legacy("/sse");
    let (b, _) = sim.open_legacy("/mcp");
    let session = sim.initialize("2025-11-25");
    let standalone = sim.get_stream("/mcp", &[("mcp-session-id", &session)]);
    sim.take_events();

    sim.server.shutdown(sim.now, GRACE);
    sim.drain();
    for stream in [a, b, standalone] {
        let seen = sim.seen(stream);
        assert!(seen.finished);
        assert!(
            seen.raw.ends_with(b"retry: 1000\n\n"),
            "{:?}",
            String::from_utf8_lossy(&seen.raw)
        );
    }
    assert_eq!(closed_for_shutdown(sim.take_events()), 3);
    let late = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(late).status(), 503);
    let late = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
    assert_eq!(sim.seen(late).status(), 503);
    assert_eq!(
        sim.seen(late).json()["id"],
        7,
        "the refusal names the request"
    );
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn a_session_request_in_flight_is_answered_then_its_session_ends() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let standalone = sim.get_stream("/mcp", &[("mcp-session-id", &session)]);
    let pending = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.take_events();

    sim.server.shutdown(sim.now, GRACE);
    sim.drain();
    assert!(
        sim.seen(standalone).finished,
        "no more messages outside requests"
    );
    assert_eq!(
        sim.server.session_count(),
        1,
        "its request is still in flight"
    );
    // The handler asks the client; its answer still comes in, new requests do not.
    let ask = r#"{"jsonrpc":"2.0","id":"s1","method":"roots/list"}"#;
    sim.send(Target::Request(key), ask).unwrap();
    let answer = r#"{"jsonrpc":"2.0","id":"s1","result":{"roots":[]}}"#;
    let answered = sim.post("/mcp", &[("mcp-session-id", &session)], answer);
    assert_eq!(sim.seen(answered).status(), 202);
    let refused = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(refused).status(), 503);

    sim.reply(key, r#"{"done":true}"#);
    let messages = sim.seen(pending).messages();
    assert_eq!(messages.last().unwrap()["result"]["done"], true);
    assert!(sim.seen(pending).finished);
    assert_eq!(closed_for_shutdown(sim.take_events()), 1);
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn a_2024_11_05_stream_carries_its_last_answer_before_it_ends() {
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let post = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":3,"method":"slow"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
    let (key, _) = sim.next_request();

    sim.server.shutdown(sim.now, GRACE);
    sim.drain();
    assert!(
        !sim.seen(stream).finished,
        "it carries an answer still owed"
    );
    sim.reply(key, "{}");
    let seen = sim.seen(stream);
    assert_eq!(seen.messages().last().unwrap()["id"], 3);
    assert!(seen.finished);
    assert!(seen.raw.ends_with(b"retry: 1000\n\n"));
    assert_eq!(sim.server.exchange_count(), 0);
}

#[test]
fn the_deadline_ends_what_is_left_and_names_the_waiting_request() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let pending = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":"never","method":"tools/call"}"#,
    );
    sim.next_request();
    sim.server.shutdown(sim.now, Duration::from_millis(500));
    sim.drain();
    assert_eq!(sim.server.exchange_count(), 1);
    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.seen(pending).status(), 503);
    assert_eq!(sim.seen(pending).json()["id"], "never");
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(sim.server.requests_in_flight(), 0);
}

#[test]
fn stateless_requests_are_still_answered_after_shutdown() {
    let mut config = Config::default();
    config.stateless = true;
    let mut sim = Sim::new(config);
    let direct = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    let (key, _) = sim.next_request();
    sim.server.shutdown(sim.now, GRACE);
    sim.drain();
    assert_eq!(sim.server.exchange_count(), 1);
    sim.reply(key, "{}");
    assert_eq!(sim.seen(direct).status(), 200);
    assert_eq!(sim.server.exchange_count(), 0);
}
