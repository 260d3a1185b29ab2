//! Stateless mode (`Config::sessions = false`, S2.45): a POST to the MCP endpoint is answered on
//! its own (the seed's POST-only mode): JSON for a reply, 202 for notifications and responses,
//! and an SSE stream scoped to the request when the application sends something first.

use mcp_sse_core::{Config, Event, Target, Transport};
use mcp_sse_tests::Sim;
use serde_json::json;

fn stateless() -> Config {
    let mut config = Config::default();
    config.stateless = true;
    config
}

#[test]
fn a_request_is_answered_with_json() {
    let mut sim = Sim::new(stateless());
    let x = sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":"a","method":"tools/list"}"#,
    );
    assert!(
        sim.seen(x).response.is_none(),
        "no answer before the application's"
    );
    let events = sim.take_events();
    let Event::Request {
        key,
        session: None,
        transport: Transport::Stateless,
        request,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(request.method, "tools/list");
    sim.reply(*key, r#"{"tools":[]}"#);
    assert_eq!(sim.seen(x).status(), 200);
    assert_eq!(sim.seen(x).header("content-type"), Some("application/json"));
    assert_eq!(
        sim.seen(x).json(),
        json!({"jsonrpc":"2.0","id":"a","result":{"tools":[]}})
    );
    assert!(sim.seen(x).header("mcp-session-id").is_none());
    assert_eq!(sim.server.exchange_count(), 0);
}

#[test]
fn notifications_and_responses_get_202() {
    let mut sim = Sim::new(stateless());
    let x = sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!(sim.seen(x).status(), 202);
    let x = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":9,"result":{}}"#);
    assert_eq!(sim.seen(x).status(), 202);
    assert_eq!(sim.take_events().len(), 2);
}

#[test]
fn a_notification_first_upgrades_the_answer_to_a_stream() {
    let mut sim = Sim::new(stateless());
    let x = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"progressToken":"t"}}}"#);
    let (key, _) = sim.next_request();
    let progress = bytes::Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}"#);
    sim.server
        .send(sim.now, Target::Request(key), progress)
        .unwrap();
    sim.drain();
    assert_eq!(sim.seen(x).status(), 200);
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("text/event-stream")
    );
    sim.reply(key, r#"{"content":[]}"#);
    let seen = sim.seen(x);
    assert!(seen.finished, "the reply ends the stream");
    let messages = seen.messages();
    assert_eq!(messages[0]["method"], "notifications/progress");
    assert_eq!(
        messages[1],
        json!({"jsonrpc":"2.0","id":1,"result":{"content":[]}})
    );
    assert_eq!(sim.server.exchange_count(), 0);
}

#[test]
fn invalid_bodies_are_rejected_before_the_application() {
    let mut sim = Sim::new(stateless());
    let x = sim.post("/mcp", &[], "");
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(sim.seen(x).json()["error"]["code"], -32700);
    let x = sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":4,"method":"x","params":[1]}"#,
    );
    assert_eq!(sim.seen(x).json()["error"]["code"], -32600);
    assert_eq!(sim.seen(x).json()["id"], 4);
    let x = sim.request("POST", "/mcp", &[], "{}");
    assert_eq!(sim.seen(x).status(), 415);
    let x = sim.request("PUT", "/mcp", &[], "{}");
    assert_eq!(sim.seen(x).status(), 405);
    assert!(sim.take_events().is_empty());
}

#[test]
fn a_client_that_leaves_drops_the_waiting_request() {
    let mut sim = Sim::new(stateless());
    let x = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    let (key, _) = sim.next_request();
    sim.disconnect(x);
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
    assert_eq!(sim.server.exchange_count(), 0);
    assert_eq!(sim.server.requests_in_flight(), 0);
}
