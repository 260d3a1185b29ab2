//! Graceful shutdown: every session's streams get a reconnection hint and are finished; new
//! requests get 503; requests answered on their own exchange may still be answered.

use mcp_sse_core::{CloseReason, Config, Event};
use mcp_sse_tests::Sim;

const INIT: &str =
    r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;

#[test]
fn shutdown_finishes_every_stream_with_a_retry_hint() {
    let mut sim = Sim::new(Config::default());
    let (a, _) = sim.open_legacy("/sse");
    let (b, _) = sim.open_legacy("/mcp");
    // A Streamable HTTP session with a request still with the application.
    let init = sim.post("/mcp", &[], INIT);
    let (key, _) = sim.next_request();
    sim.reply(key, r#"{"protocolVersion":"2025-11-25"}"#);
    let session = sim.seen(init).header("mcp-session-id").unwrap().to_owned();
    let pending = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    sim.take_events();

    sim.server.shutdown(sim.now);
    sim.drain();
    for stream in [a, b] {
        let seen = sim.seen(stream);
        assert!(seen.finished);
        assert!(
            seen.raw.ends_with(b"retry: 1000\n\n"),
            "{:?}",
            String::from_utf8_lossy(&seen.raw)
        );
    }
    assert_eq!(sim.seen(pending).status(), 503);
    let closed = sim
        .take_events()
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
        .count();
    assert_eq!(closed, 3);
    let late = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(late).status(), 503);
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
    sim.server.shutdown(sim.now);
    sim.drain();
    assert_eq!(sim.server.exchange_count(), 1);
    sim.reply(key, "{}");
    assert_eq!(sim.seen(direct).status(), 200);
    assert_eq!(sim.server.exchange_count(), 0);
}
