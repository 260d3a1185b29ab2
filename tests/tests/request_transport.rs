//! `Server::last_request_transport`: the generation each request was served under, as an
//! adapter reads it for its logs and metrics right after `handle_request`; `None` when the
//! request was answered before its generation was known.

use mcp_sse_core::{Config, Transport};
use mcp_sse_tests::Sim;
use serde_json::json;

fn transport(sim: &Sim) -> Option<Transport> {
    sim.server.last_request_transport()
}

#[test]
fn each_generation_is_named_refusals_included() {
    let mut sim = Sim::new(Config::default());
    let (_stream, endpoint) = sim.open_legacy("/sse");
    assert_eq!(transport(&sim), Some(Transport::HttpSse));
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    sim.post(&endpoint, &[], ping);
    assert_eq!(transport(&sim), Some(Transport::HttpSse));
    // Refused for its media type, after its session was found.
    let x = sim.request("POST", &endpoint, &[("content-type", "text/plain")], ping);
    assert_eq!(
        (sim.seen(x).status(), transport(&sim)),
        (415, Some(Transport::HttpSse))
    );
    sim.take_events();

    let session = sim.initialize("2025-11-25");
    let named = [("mcp-session-id", session.as_str())];
    sim.post("/mcp", &named, ping);
    assert_eq!(transport(&sim), Some(Transport::Streamable));
    sim.get_stream("/mcp", &named);
    assert_eq!(transport(&sim), Some(Transport::Streamable));
    sim.request("DELETE", "/mcp", &named, "");
    assert_eq!(transport(&sim), Some(Transport::Streamable));

    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    let modern = json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":meta}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
    ];
    sim.post("/mcp", &headers, &modern.to_string());
    assert_eq!(transport(&sim), Some(Transport::Streamable2026));
    // Refused for a header that does not restate the body: still a 2026-07-28 request.
    let wrong = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "ping"),
    ];
    let x = sim.post("/mcp", &wrong, &modern.to_string());
    assert_eq!(
        (sim.seen(x).status(), transport(&sim)),
        (400, Some(Transport::Streamable2026))
    );
}

#[test]
fn stateless_requests_are_named_so() {
    let mut config = Config::default();
    config.stateless = true;
    let mut sim = Sim::new(config);
    sim.post(
        "/mcp",
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    assert_eq!(transport(&sim), Some(Transport::Stateless));
    let x = sim.post("/mcp", &[], "{");
    assert_eq!(
        (sim.seen(x).status(), transport(&sim)),
        (400, Some(Transport::Stateless))
    );
}

#[test]
fn refused_before_the_generation_is_known() {
    let mut sim = Sim::new(Config::default());
    sim.open_legacy("/sse");
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for (path, headers) in [
        ("/elsewhere", vec![]),
        ("/mcp", vec![("origin", "https://evil.example")]),
        ("/mcp", vec![("mcp-session-id", "unknown")]),
        ("/mcp", vec![]),
    ] {
        let x = sim.post(path, &headers, ping);
        assert!(sim.seen(x).status() >= 400, "{path} {headers:?}");
        assert_eq!(transport(&sim), None, "{path} {headers:?}");
    }
}
