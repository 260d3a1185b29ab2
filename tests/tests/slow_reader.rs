//! Backpressure: per-stream byte bounds, 503 + Retry-After instead of a closed session, and
//! isolation of slow readers; a reader that stopped reading is cut after the stall timeout.

use std::time::Duration;

use mcp_sse_core::{Config, SendError, SessionId, Target};
use mcp_sse_tests::Sim;

fn small_queue() -> Config {
    let mut config = Config::default();
    config.stream_queue_bytes = 256;
    config
}

#[test]
fn full_queue_is_backpressure_not_a_closed_session() {
    let mut sim = Sim::new(small_queue());
    let (stream, endpoint) = sim.open_legacy("/sse");
    sim.pause(stream);
    // Fill the stream past its bound with answers to accepted requests.
    let payload = format!(r#"{{"text":"{}"}}"#, "x".repeat(200));
    let mut accepted = 0;
    loop {
        let post = sim.post(
            &endpoint,
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
        );
        if sim.seen(post).status() != 202 {
            // 503 with Retry-After, never 404/410 (the session is alive).
            assert_eq!(sim.seen(post).status(), 503);
            assert_eq!(sim.seen(post).header("retry-after"), Some("1"));
            assert_eq!(sim.seen(post).json()["error"]["code"], -32000);
            break;
        }
        accepted += 1;
        let (key, _) = sim.next_request();
        sim.reply(key, &payload);
        assert!(accepted < 10, "the bound was never hit");
    }
    let queued = sim.server.unconsumed(stream).unwrap();
    assert!(
        (256..256 + 300).contains(&queued),
        "bound plus at most one frame: {queued}"
    );
    // The application's own sends are refused too, and told why.
    let session = SessionId::parse(endpoint.split('=').nth(1).unwrap()).unwrap();
    let note = bytes::Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/message"}"#);
    assert_eq!(
        sim.server
            .send(sim.now, Target::Session(session.clone()), note.clone()),
        Err(SendError::QueueFull)
    );
    // No keepalives pile up on a reader that does not read.
    sim.advance(Duration::from_secs(45));
    assert_eq!(sim.seen(stream).comments(), 0);
    // Once the client reads, the session takes work again.
    sim.resume(stream);
    assert_eq!(
        sim.server.send(sim.now, Target::Session(session), note),
        Ok(())
    );
    let post = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    );
    assert_eq!(sim.seen(post).status(), 202);
}

#[test]
fn replies_to_accepted_requests_are_never_dropped() {
    let mut sim = Sim::new(small_queue());
    let (stream, endpoint) = sim.open_legacy("/sse");
    sim.pause(stream);
    let mut keys = Vec::new();
    for id in 0..3 {
        let post = sim.post(
            &endpoint,
            &[],
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
        );
        assert_eq!(sim.seen(post).status(), 202);
        keys.push(sim.next_request().0);
    }
    let big = format!(r#"{{"blob":"{}"}}"#, "y".repeat(1000));
    for key in keys {
        sim.reply(key, &big);
    }
    // The adapter holds at most the bound plus one frame; the rest waits, in order, in the core.
    let frame = big.len() + 64;
    assert!(sim.server.unconsumed(stream).unwrap() < 256 + frame);
    assert!(sim.server.queued_bytes(stream).unwrap() > 2 * frame);
    sim.resume(stream);
    assert_eq!(sim.seen(stream).messages().len(), 3);
}

#[test]
fn one_slow_reader_does_not_hold_up_another_session() {
    let mut sim = Sim::new(small_queue());
    let (slow, slow_endpoint) = sim.open_legacy("/sse");
    let (fast, fast_endpoint) = sim.open_legacy("/sse");
    sim.pause(slow);
    for _ in 0..3 {
        sim.post(
            &slow_endpoint,
            &[],
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        );
        if let Some(mcp_sse_core::Event::Request { key, .. }) = sim.events.pop_back() {
            sim.reply(key, &format!(r#"{{"pad":"{}"}}"#, "z".repeat(300)));
        }
    }
    for id in 0..20 {
        let post = sim.post(
            &fast_endpoint,
            &[],
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
        );
        assert_eq!(sim.seen(post).status(), 202);
        let (key, _) = sim.next_request();
        sim.reply(key, "{}");
    }
    assert_eq!(sim.seen(fast).messages().len(), 20);
}

#[test]
fn in_flight_requests_are_bounded_per_session() {
    let mut config = Config::default();
    config.max_requests_in_flight = 2;
    let mut sim = Sim::new(config);
    let (_, endpoint) = sim.open_legacy("/sse");
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let x = sim.post(&endpoint, &[], ping);
    assert_eq!(sim.seen(x).status(), 202);
    let x = sim.post(&endpoint, &[], ping);
    assert_eq!(sim.seen(x).status(), 202);
    let third = sim.post(&endpoint, &[], ping);
    assert_eq!(sim.seen(third).status(), 503);
    assert_eq!(sim.seen(third).json()["id"], 1);
    // Notifications are not requests in flight.
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let x = sim.post(&endpoint, &[], note);
    assert_eq!(sim.seen(x).status(), 202);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    let x = sim.post(&endpoint, &[], ping);
    assert_eq!(sim.seen(x).status(), 202);
}

#[test]
fn a_stream_whose_client_stopped_reading_is_aborted_after_the_stall_timeout() {
    let mut config = small_queue();
    config.stall_timeout = Some(Duration::from_secs(60));
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let stream = sim.get_stream("/mcp", &[("mcp-session-id", &session)]);
    sim.pause(stream);
    let id = SessionId::parse(&session).unwrap();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"n":1}}"#;
    sim.send(Target::Session(id.clone()), note).unwrap();
    // Still within the timeout: nothing happens while the client may yet read.
    sim.advance(Duration::from_secs(59));
    assert!(!sim.seen(stream).aborted);
    // No progress for the whole timeout: the connection is cut, the stream kept for a resume.
    sim.advance(Duration::from_secs(16));
    assert!(sim.seen(stream).aborted);
    assert_eq!(sim.server.stats().stalled, 1);
    assert_eq!(sim.server.exchange_count(), 0);
    assert!(sim.server.has_session(&session), "the session lives on");
    let last = sim
        .seen(stream)
        .events()
        .last()
        .unwrap()
        .last_event_id
        .clone();
    let resumed = sim.get_stream(
        "/mcp",
        &[("mcp-session-id", &session), ("last-event-id", &last)],
    );
    assert_eq!(sim.seen(resumed).status(), 200);
}

#[test]
fn a_slow_reader_that_makes_progress_is_never_cut() {
    let mut config = small_queue();
    config.stall_timeout = Some(Duration::from_secs(60));
    let mut sim = Sim::new(config);
    let (stream, endpoint) = sim.open_legacy("/sse");
    let session = SessionId::parse(endpoint.split('=').nth(1).unwrap()).unwrap();
    sim.pause(stream);
    let note = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"n":1}}"#;
    for _ in 0..10 {
        let _ = sim.send(Target::Session(session.clone()), note);
        sim.advance(Duration::from_secs(50));
        // The client reads a little, then stops again.
        sim.resume(stream);
        sim.pause(stream);
    }
    assert!(!sim.seen(stream).aborted);
    assert_eq!(sim.server.stats().stalled, 0);
}
