//! The session cap: 503 + Retry-After at once, never a hang; room again when a session ends.

use mcp_sse_core::Config;
use mcp_sse_tests::Sim;

#[test]
fn the_next_stream_past_the_cap_gets_503_with_retry_after() {
    let mut config = Config::default();
    config.max_sessions = 100; // the seed's cap
    config.retry_after_secs = 7;
    let mut sim = Sim::new(config);
    let streams: Vec<_> = (0..100).map(|_| sim.open_legacy("/sse").0).collect();
    assert_eq!(sim.server.session_count(), 100);
    let refused = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(refused).status(), 503);
    assert_eq!(sim.seen(refused).header("retry-after"), Some("7"));
    let refused = sim.get_stream("/mcp", &[]);
    assert_eq!(sim.seen(refused).status(), 503);
    // Nothing was allocated for the refused requests.
    assert_eq!(sim.server.session_count(), 100);
    assert_eq!(sim.server.exchange_count(), 100);

    sim.disconnect(streams[42]);
    let (_, endpoint) = sim.open_legacy("/sse");
    assert!(endpoint.contains("sessionId="));
}

#[test]
fn invalid_requests_allocate_nothing() {
    let mut sim = Sim::new(Config::default());
    sim.request("GET", "/sse", &[("accept", "application/json")], "");
    sim.request("POST", "/sse", &[], "");
    sim.request("GET", "/sse", &[("origin", "http://evil.example")], "");
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.timer_count(), 0);
    assert_eq!(sim.server.stats().rejected, 3);
}
