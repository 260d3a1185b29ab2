//! Cancellation both ways, over real loopback HTTP: what ends a request on the client's side
//! reaches the handler's `CancellationToken`, and what rmcp cancels reaches the client.

mod support;

use mcp_sse_rmcp::Config;
use mcp_sse_tests::client;
use serde_json::json;
use support::{call, initialize, messages, next_message, start, text};

/// The client's `notifications/cancelled` (taken by the core, S2.17) reaches the tool's token,
/// and frees the request's slot.
#[tokio::test]
async fn a_clients_cancellation_reaches_the_tools_token() {
    let mut config = Config::default();
    config.max_requests_in_flight = 1;
    let server = start(config).await;
    let session = initialize(server.addr).await;
    let sid = [("mcp-session-id", session.as_str())];
    let addr = server.addr;
    let wait = call(1, "wait", json!({"tag": "notified"}));
    let owned = session.clone();
    let waiting =
        tokio::spawn(async move { client::post(addr, "/mcp", &sid_owned(&owned), &wait).await });
    server.seen.wait_for("started notified").await;
    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#;
    assert_eq!(client::post(addr, "/mcp", &sid, cancel).await.status(), 202);
    server.seen.wait_for("cancelled notified").await;
    let after = client::post(
        addr,
        "/mcp",
        &sid,
        &call(2, "sleep", json!({"ms": 1, "tag": "next"})),
    )
    .await;
    assert_eq!(text(&messages(&after)[0]), "next", "the slot is free again");
    waiting.abort();
}

fn sid_owned(session: &str) -> [(&'static str, &str); 1] {
    [("mcp-session-id", session)]
}

/// A 2026-07-28 client that closes its response stream cancels the request (S3.15): the
/// one-shot service's token fires.
#[tokio::test]
async fn a_closed_2026_stream_reaches_the_tools_token() {
    let server = start(Config::default()).await;
    let addr = server.addr;
    let params = json!({"name": "wait", "arguments": {"tag": "closed"}});
    let request = tokio::spawn(async move {
        let (head, body) = support::modern(addr, 1, "tools/call", params, &[]).await;
        // The head comes once the request has been silent for `json_hold`; then hang up.
        drop((head, body));
    });
    server.seen.wait_for("started closed").await;
    request.await.unwrap();
    server.seen.wait_for("cancelled closed").await;
}

/// A session that ends (here by `DELETE`) ends its service: every running tool's token fires.
#[tokio::test]
async fn an_ended_session_reaches_every_tools_token() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let addr = server.addr;
    for (id, tag) in [(1, "first"), (2, "second")] {
        let session = session.clone();
        let wait = call(id, "wait", json!({"tag": tag}));
        tokio::spawn(async move { client::post(addr, "/mcp", &sid_owned(&session), &wait).await });
        server.seen.wait_for(&format!("started {tag}")).await;
    }
    let deleted = client::fetch(addr, "DELETE", "/mcp", &sid_owned(&session), "").await;
    assert_eq!(deleted.status(), 200);
    server.seen.wait_for("cancelled first").await;
    server.seen.wait_for("cancelled second").await;
}

/// rmcp cancels a request it sent the client (its timeout ran out): the client hears of it on
/// the stream that carried the request, and the tool's own request ends with its answer.
#[tokio::test]
async fn a_request_rmcp_cancels_is_cancelled_on_the_stream_that_carried_it() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let mut stream =
        support::post_streaming(server.addr, &session, call(4, "ask_briefly", json!({}))).await;
    let question = next_message(&mut stream).await;
    assert_eq!(question["method"], "roots/list");
    let cancelled = next_message(&mut stream).await;
    assert_eq!(cancelled["method"], "notifications/cancelled");
    assert_eq!(cancelled["params"]["requestId"], question["id"]);
    let answer = next_message(&mut stream).await;
    assert_eq!(answer["id"], 4);
    assert!(text(&answer).starts_with("gave up"), "{answer}");
}
