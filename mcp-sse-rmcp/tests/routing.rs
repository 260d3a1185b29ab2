//! Where what an rmcp service sends goes, over real loopback HTTP: each rule of rmcp's own
//! session manager, on Streamable HTTP sessions, the 2024-11-05 transport and 2026-07-28.

mod support;

use mcp_sse_rmcp::Config;
use mcp_sse_tests::client;
use serde_json::{Value, json};
use support::{call, initialize, messages, next_message, start, text};

/// Concurrent calls of one session each get their own answer, by request id, on their own
/// stream, whichever finishes first.
#[tokio::test]
async fn each_answer_goes_to_the_request_with_its_id() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let sid = [("mcp-session-id", session.as_str())];
    let slow = call(1, "sleep", json!({"ms": 300, "tag": "slow"}));
    let quick = call(2, "sleep", json!({"ms": 10, "tag": "quick"}));
    let (slow, quick) = tokio::join!(
        client::post(server.addr, "/mcp", &sid, &slow),
        client::post(server.addr, "/mcp", &sid, &quick),
    );
    let (slow, quick) = (messages(&slow), messages(&quick));
    assert_eq!((slow.len(), quick.len()), (1, 1), "{slow:?} {quick:?}");
    assert_eq!((slow[0]["id"].clone(), text(&slow[0])), (json!(1), "slow"));
    assert_eq!(
        (quick[0]["id"].clone(), text(&quick[0])),
        (json!(2), "quick")
    );
}

/// Progress goes to the stream of the request whose `_meta.progressToken` it names: two calls
/// running at once each see their own three, in order, before their answer.
#[tokio::test]
async fn progress_goes_to_the_stream_of_the_request_that_owns_its_token() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let sid = [("mcp-session-id", session.as_str())];
    let with_token = |id: u64, token: Value| {
        json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
               "params":{"name":"progress","arguments":{},"_meta":{"progressToken":token}}})
        .to_string()
    };
    let (a, b) = (with_token(1, json!("a")), with_token(2, json!(7)));
    let (a, b) = tokio::join!(
        client::post(server.addr, "/mcp", &sid, &a),
        client::post(server.addr, "/mcp", &sid, &b),
    );
    for (reply, token, id) in [(a, json!("a"), 1), (b, json!(7), 2)] {
        let messages = messages(&reply);
        let progress: Vec<(Value, f64)> = messages[..3]
            .iter()
            .map(|m| {
                assert_eq!(m["method"], "notifications/progress", "{messages:?}");
                (
                    m["params"]["progressToken"].clone(),
                    m["params"]["progress"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            progress,
            [
                (token.clone(), 1.0),
                (token.clone(), 2.0),
                (token.clone(), 3.0)
            ]
        );
        assert_eq!(messages[3]["id"], id);
        assert_eq!(text(&messages[3]), token.to_string());
        assert_eq!(messages.len(), 4, "nothing of the other call: {messages:?}");
    }
}

/// A request rmcp sends from a tool (here `roots/list`) rides the stream of the client request
/// whose handler sent it, not the session's standalone stream; the client's answer, POSTed
/// back, reaches rmcp and completes the tool.
#[tokio::test]
async fn a_server_request_rides_the_stream_of_the_request_that_caused_it() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let mut standalone = client::open_stream(server.addr, "/mcp", &[sid]).await;
    let mut stream =
        support::post_streaming(server.addr, &session, call(5, "ask", json!({}))).await;
    let question = next_message(&mut stream).await;
    assert_eq!(question["method"], "roots/list");
    let answer =
        json!({"jsonrpc":"2.0","id":question["id"],"result":{"roots":[{"uri":"file:///a"}]}});
    let posted = client::post(server.addr, "/mcp", &[sid], &answer.to_string()).await;
    assert_eq!(posted.status(), 202);
    let result = next_message(&mut stream).await;
    assert_eq!(result["id"], 5);
    let roots: Value = serde_json::from_str(text(&result)).unwrap();
    assert_eq!(roots["roots"][0]["uri"], "file:///a");
    // The standalone stream carried none of it.
    let quiet = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        next_message(&mut standalone),
    );
    assert!(quiet.await.is_err(), "the standalone stream stays quiet");
}

/// A request rmcp sends outside any client request (from `on_initialized`, before the client
/// opened the session's standalone stream) waits for that stream, and its answer reaches rmcp.
#[tokio::test]
async fn a_server_request_outside_any_request_waits_for_the_sessions_stream() {
    let server = start(Config::default()).await;
    let session = support::initialize_with(server.addr, support::INIT).await;
    let sid = ("mcp-session-id", session.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut standalone = client::open_stream(server.addr, "/mcp", &[sid]).await;
    let question = next_message(&mut standalone).await;
    assert_eq!(question["method"], "roots/list");
    let answer = json!({"jsonrpc":"2.0","id":question["id"],"result":{"roots":[]}});
    let posted = client::post(server.addr, "/mcp", &[sid], &answer.to_string()).await;
    assert_eq!(posted.status(), 202);
    server.seen.wait_for(r#"roots {"roots":[]}"#).await;
}

/// What belongs to no request (a log message, a list change) goes to the session's standalone
/// stream; the request's own stream carries only its answer.
#[tokio::test]
async fn everything_else_goes_to_the_sessions_standalone_stream() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let sid = ("mcp-session-id", session.as_str());
    let mut standalone = client::open_stream(server.addr, "/mcp", &[sid]).await;
    let reply = client::post(server.addr, "/mcp", &[sid], &call(3, "announce", json!({}))).await;
    let answer = messages(&reply);
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert_eq!(text(&answer[0]), "announced");
    let log = next_message(&mut standalone).await;
    assert_eq!(log["method"], "notifications/message");
    assert_eq!(log["params"]["data"], "announcing");
    let changed = next_message(&mut standalone).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
}

/// On the 2024-11-05 transport the session's one stream carries everything, and a request rmcp
/// sends outside any client request (from `on_initialized`) is answered through the bridge.
#[tokio::test]
async fn a_2024_11_05_session_gets_everything_on_its_stream() {
    let server = start(Config::default()).await;
    let (mut stream, endpoint) = client::open_legacy(server.addr, "/sse").await;
    let init = support::INIT.replace("2025-11-25", "2024-11-05");
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &init)
            .await
            .status(),
        202
    );
    let initialized = next_message(&mut stream).await;
    assert_eq!(initialized["result"]["protocolVersion"], "2024-11-05");
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert_eq!(
        client::post(server.addr, &endpoint, &[], note)
            .await
            .status(),
        202
    );
    // on_initialized asks for the roots, on the session's stream.
    let question = next_message(&mut stream).await;
    assert_eq!(question["method"], "roots/list");
    let answer = json!({"jsonrpc":"2.0","id":question["id"],"result":{"roots":[]}});
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &answer.to_string())
            .await
            .status(),
        202
    );
    server.seen.wait_for(r#"roots {"roots":[]}"#).await;

    let progress = json!({"jsonrpc":"2.0","id":8,"method":"tools/call",
        "params":{"name":"progress","arguments":{},"_meta":{"progressToken":"t"}}});
    assert_eq!(
        client::post(server.addr, &endpoint, &[], &progress.to_string())
            .await
            .status(),
        202
    );
    for step in 1..=3 {
        let message = next_message(&mut stream).await;
        assert_eq!(
            message["params"]["progress"].as_f64(),
            Some(f64::from(step))
        );
    }
    assert_eq!(next_message(&mut stream).await["id"], 8);
}

/// A 2026-07-28 request gets a service of its own: its progress on its response stream, and
/// the list change it announces published to `subscriptions/listen` streams, not sent on it.
#[tokio::test]
async fn a_2026_request_gets_its_progress_and_publishes_its_list_changes() {
    let server = start(Config::default()).await;
    let mut listen = support::listen_for_tool_changes(server.addr).await;

    let params = json!({"name":"progress","arguments":{},"_meta":{"progressToken":"m"}});
    let (head, body) = support::modern(server.addr, 2, "tools/call", params, &[]).await;
    let reply = collect(head, body).await;
    let all = messages(&reply);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all[..3].iter().all(|m| m["params"]["progressToken"] == "m"));
    assert_eq!(all[3]["result"]["resultType"], "complete");

    let params = json!({"name":"announce","arguments":{}});
    let (head, body) = support::modern(server.addr, 3, "tools/call", params, &[]).await;
    let reply = collect(head, body).await;
    let all = messages(&reply);
    assert!(
        all.iter()
            .all(|m| m["method"] != "notifications/tools/list_changed"),
        "not on the call's stream: {all:?}"
    );
    let changed = next_message(&mut listen).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        1
    );
}

/// A list change a session's service announces reaches 2026-07-28 listen streams too: the
/// tools are the server's, whoever changed them.
#[tokio::test]
async fn a_sessions_list_changes_reach_2026_listen_streams() {
    let server = start(Config::default()).await;
    let mut listen = support::listen_for_tool_changes(server.addr).await;
    let session = initialize(server.addr).await;
    let sid = [("mcp-session-id", session.as_str())];
    let reply = client::post(server.addr, "/mcp", &sid, &call(2, "announce", json!({}))).await;
    assert_eq!(text(&messages(&reply)[0]), "announced");
    let changed = next_message(&mut listen).await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
}

/// Handlers find the HTTP request head (`http::request::Parts`) and the mcp-sse context in
/// their extensions, as rmcp's own service puts the head there.
#[tokio::test]
async fn handlers_see_the_http_request_head() {
    let server = start(Config::default()).await;
    let session = initialize(server.addr).await;
    let headers = [("mcp-session-id", session.as_str()), ("x-probe", "42")];
    let reply = client::post(server.addr, "/mcp", &headers, &call(4, "whoami", json!({}))).await;
    let seen: Value = serde_json::from_str(text(&messages(&reply)[0])).unwrap();
    assert_eq!(
        seen,
        json!({"probe": "42", "transport": "Streamable", "session": session,
               "subject": null, "authorization": null})
    );
}

async fn collect(head: http::response::Parts, body: hyper::body::Incoming) -> client::Reply {
    let body = http_body_util::BodyExt::collect(body)
        .await
        .unwrap()
        .to_bytes();
    client::Reply { head, body }
}
