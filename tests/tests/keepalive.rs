//! Keepalive comments on idle streams (E5.1, E4.5), with virtual time.

use std::time::Duration;

use mcp_sse_core::{Config, TimerKind};
use mcp_sse_tests::Sim;

#[test]
fn e5_1_idle_stream_gets_a_comment_every_interval() {
    let mut sim = Sim::new(Config::default());
    let start = sim.now;
    let (stream, _) = sim.open_legacy("/sse");
    sim.advance(Duration::from_millis(14_999));
    assert_eq!(sim.seen(stream).comments(), 0, "not before 15 s of silence");
    sim.advance(Duration::from_millis(1));
    assert_eq!(sim.seen(stream).comments(), 1);
    sim.advance(Duration::from_secs(45));
    assert_eq!(sim.seen(stream).comments(), 4);
    // Each comment came exactly one interval after the previous frame.
    let times: Vec<_> = sim
        .seen(stream)
        .arrivals
        .iter()
        .map(|(t, _)| *t - start)
        .collect();
    assert_eq!(times, [0, 15, 30, 45, 60].map(Duration::from_secs).to_vec());
    assert!(
        matches!(sim.server.last_timeout_reason(), Some(TimerKind::Keepalive(x)) if *x == stream)
    );
    // Comments dispatch nothing (E4.5): only the endpoint event is an event.
    assert_eq!(sim.seen(stream).events().len(), 1);
    assert!(sim.seen(stream).raw.ends_with(b":\n\n"));
}

#[test]
fn keepalive_interval_is_configurable_and_traffic_postpones_it() {
    let mut config = Config::default();
    config.keepalive_interval = Duration::from_secs(30); // the seed's value
    let mut sim = Sim::new(config);
    let (stream, endpoint) = sim.open_legacy("/sse");
    sim.advance(Duration::from_secs(20));
    // A message at t=20 s resets the silence: the next comment is due at t=50 s.
    sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    sim.advance(Duration::from_secs(29));
    assert_eq!(sim.seen(stream).comments(), 0);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.seen(stream).comments(), 1);
}

#[test]
fn many_streams_wake_only_when_due() {
    let mut sim = Sim::new(Config::default());
    let mut streams = Vec::new();
    for _ in 0..200 {
        streams.push(sim.open_legacy("/sse").0);
        sim.advance(Duration::from_millis(50));
    }
    // 200 streams, each due once per interval: a bounded number of wake-ups, no storm.
    sim.wakeup_budget = 200 * 5;
    sim.advance(Duration::from_secs(60));
    for stream in streams {
        let n = sim.seen(stream).comments();
        assert!((3..=4).contains(&n), "{n} comments");
    }
}

#[test]
fn poll_timeout_is_never_in_the_past_after_handling() {
    let mut sim = Sim::new(Config::default());
    sim.open_legacy("/sse");
    for step in 0..100 {
        sim.advance(Duration::from_millis(777 * step % 5000));
        if let Some(at) = sim.server.poll_timeout() {
            assert!(at > sim.now, "deadline in the past after draining");
        }
    }
}

/// Every SSE answer arms a keepalive (and a hold) timer that outlives it by far: once such
/// entries outnumber the live ones they are dropped, so a busy server neither piles them up
/// nor wakes for each of them (`poll_timeout` stays the next live deadline).
#[test]
fn finished_answers_leave_no_pile_of_timers() {
    let mut config = Config::default();
    config.response_mode = mcp_sse_core::ResponseMode::Sse;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
    let headers = [("mcp-session-id", session.as_str())];
    for _ in 0..5_000 {
        let x = sim.post("/mcp", &headers, call);
        let (key, _) = sim.next_request();
        sim.reply(key, "{}");
        assert!(sim.seen(x).finished);
        assert!(
            sim.server.timer_count() <= 2 * 2 + 64 + 1,
            "{}",
            sim.server.timer_count()
        );
    }
    // The finished streams stay resumable for the replay window (S2.29), under one timer.
    assert_eq!(
        sim.server.stream_count(),
        5_001,
        "the answers, and initialize's"
    );
    let next = sim.server.poll_timeout().expect("the replay window's end");
    assert!(next >= sim.now + Duration::from_secs(60));
    sim.advance(sim.server.config().replay_age);
    assert_eq!(sim.server.stream_count(), 0);
    assert_eq!(sim.server.replay_bytes(), 0);
    // The session's own expiry is the only deadline left.
    assert_eq!(sim.server.timer_count(), 1);
}
