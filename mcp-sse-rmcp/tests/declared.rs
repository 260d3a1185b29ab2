//! What the core must know of the handler before a 2026-07-28 request reaches it is read from
//! the handler (`Bridge::declare`), never written by hand.

mod support;

use mcp_sse_rmcp::{Bridge, Config};
use serde_json::{Value, json};
use support::{Probe, Seen, start};

#[test]
fn methods_listen_kinds_and_tool_headers_come_from_the_handler() {
    let config = Bridge::new(|| Ok(Probe::new(Seen::default()))).declare(Config::default());
    let declared = &config.v2026;
    for method in ["server/discover", "tools/list", "tools/call"] {
        assert!(
            declared.methods.iter().any(|m| m == method),
            "{method}: {:?}",
            declared.methods
        );
    }
    for absent in ["prompts/list", "resources/read", "completion/complete"] {
        assert!(
            !declared.methods.iter().any(|m| m == absent),
            "{absent} is no capability"
        );
    }
    assert!(
        declared.listen.tools_list_changed,
        "capability and filter offer it"
    );
    assert!(!declared.listen.prompts_list_changed);
    let headers: Vec<_> = declared
        .tool_headers
        .iter()
        .map(|h| (h.tool.as_str(), h.header.as_str(), h.path.clone()))
        .collect();
    assert_eq!(headers, [("regional", "Region", vec!["region".to_owned()])]);
}

/// Over HTTP: a method of no declared capability is refused before any handler runs, and a
/// mirrored parameter header that differs from the body is caught (S3.24).
#[tokio::test]
async fn the_core_judges_2026_requests_by_what_was_declared() {
    let server = start(Config::default()).await;
    let (head, body) = support::modern(server.addr, 1, "prompts/list", json!({}), &[]).await;
    let reply = collect(head, body).await;
    assert_eq!(reply.status(), 404);
    assert_eq!(reply.json()["error"]["code"], -32601);

    let call = json!({"name": "regional", "arguments": {"region": "eu"}});
    let (head, body) = support::modern(
        server.addr,
        2,
        "tools/call",
        call.clone(),
        &[("mcp-param-region", "us")],
    )
    .await;
    let reply = collect(head, body).await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.json()["error"]["code"], -32020);

    let (head, body) = support::modern(
        server.addr,
        3,
        "tools/call",
        call,
        &[("mcp-param-region", "eu")],
    )
    .await;
    let reply = collect(head, body).await;
    assert_eq!(reply.status(), 200);
    let answer: Value = support::messages(&reply).pop().unwrap();
    assert_eq!(support::text(&answer), "eu");
}

async fn collect(
    head: http::response::Parts,
    body: hyper::body::Incoming,
) -> mcp_sse_tests::client::Reply {
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    mcp_sse_tests::client::Reply { head, body }
}
