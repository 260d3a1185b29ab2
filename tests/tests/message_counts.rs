//! `Stats::messages_in` and `Stats::messages_out`: what the adapter reports as the messages
//! that came in and went out.

use mcp_sse_core::{Config, SessionId, Target};
use mcp_sse_tests::Sim;

#[test]
fn replies_and_sends_taken_are_counted_out_refused_sends_are_not() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    // initialize and notifications/initialized in, the initialize reply out.
    assert_eq!(
        (
            sim.server.stats().messages_in,
            sim.server.stats().messages_out
        ),
        (2, 1)
    );

    let named = [("mcp-session-id", session.as_str())];
    sim.post(
        "/mcp",
        &named,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(
        (
            sim.server.stats().messages_in,
            sim.server.stats().messages_out
        ),
        (3, 2)
    );

    let note = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    let id = SessionId::parse(&session).unwrap();
    // No standalone stream yet: refused, not counted.
    assert!(sim.send(Target::Session(id.clone()), note).is_err());
    assert_eq!(sim.server.stats().messages_out, 2);
    sim.get_stream("/mcp", &named);
    sim.send(Target::Session(id), note).unwrap();
    assert_eq!(sim.server.stats().messages_out, 3);
}
