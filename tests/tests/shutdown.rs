//! Graceful shutdown: every stream gets a reconnection hint and is finished; new requests get
//! 503; requests with the application may still be answered.

use mcp_sse_core::{CloseReason, Config, Event};
use mcp_sse_tests::Sim;

#[test]
fn shutdown_finishes_every_stream_with_a_retry_hint() {
    let mut sim = Sim::new(Config::default());
    let (a, _) = sim.open_legacy("/sse");
    let (b, _) = sim.open_legacy("/mcp");
    let direct = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    let (key, _) = sim.next_request();
    sim.take_events();
    sim.server.shutdown(sim.now);
    sim.drain();
    for stream in [a, b] {
        let seen = sim.seen(stream);
        assert!(seen.finished);
        assert!(
            seen.raw.ends_with(b"retry: 3000\n\n"),
            "{:?}",
            String::from_utf8_lossy(&seen.raw)
        );
    }
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
    assert_eq!(closed, 2);
    let late = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(late).status(), 503);
    // The request with the application is still answered; then nothing is left.
    assert_eq!(sim.server.exchange_count(), 1);
    sim.reply(key, "{}");
    assert_eq!(sim.seen(direct).status(), 200);
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.session_count(), 0);
}
