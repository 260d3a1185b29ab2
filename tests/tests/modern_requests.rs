//! Streamable HTTP 2026-07-28 (docs/requirements.md §4) through the core's public API: era
//! classification (S3.37), the validation order of D2 with each failure's status and code,
//! cancellation on close (S3.15), opt-in logs (S3.14), `subscriptions/listen` (S3.34), and
//! all generations side by side on one server.

use mcp_sse_core::{
    Change, Config, Event, ListenSupport, ParamKind, ResponseMode, SendError, Target, ToolHeader,
    Transport,
};
use mcp_sse_tests::Sim;
use serde_json::{Value, json};

const V26: &str = "2026-07-28";

/// A 2026-07-28 request body with the required `_meta`.
fn body(id: u32, method: &str, mut params: Value) -> String {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": V26,
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}).to_string()
}

/// The headers a 2026-07-28 client sends for `method` (and `Mcp-Name` when given).
fn headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("mcp-protocol-version", V26), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    headers
}

fn modern_server() -> Sim {
    Sim::new(modern_config())
}

fn modern_config() -> Config {
    let mut config = Config::default();
    config.v2026.methods = [
        "tools/list",
        "tools/call",
        "resources/read",
        "server/discover",
        "tasks/get",
    ]
    .map(String::from)
    .to_vec();
    config.v2026.listen = ListenSupport::all();
    config.v2026.tool_headers = ToolHeader::from_tools(&json!([{
        "name": "deploy",
        "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "replicas": {"type": "integer", "x-mcp-header": "Replicas"},
            "options": {"type": "object", "properties": {
                "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}
            }},
            "note": {"type": "number", "x-mcp-header": "Note"}
        }}
    }]));
    config
}

/// Posts and returns (status, body) of a rejection, or `None` if the request was dispatched.
fn try_post(sim: &mut Sim, extra: &[(&str, &str)], body: &str) -> Option<(u16, Value)> {
    let x = sim.post("/mcp", extra, body);
    let seen = sim.seen(x);
    seen.response.as_ref().map(|_| (seen.status(), seen.json()))
}

#[test]
fn tool_headers_come_from_x_mcp_header_s3_23() {
    let sim = modern_server();
    let found = &sim.server.config().v2026.tool_headers;
    let names: Vec<_> = found.iter().map(|h| (h.header.as_str(), h.kind)).collect();
    assert!(names.contains(&("Region", ParamKind::String)));
    assert!(names.contains(&("Replicas", ParamKind::Integer)));
    assert!(names.contains(&("Dry-Run", ParamKind::Boolean)));
    assert!(
        !names.iter().any(|(n, _)| *n == "Note"),
        "`number` is not allowed (S3.23)"
    );
    let dry = found.iter().find(|h| h.header == "Dry-Run").unwrap();
    assert_eq!(dry.path, ["options", "dry"]);
}

#[test]
fn a_valid_request_is_served_without_a_session() {
    let mut sim = modern_server();
    let x = sim.post(
        "/mcp",
        &[
            headers("tools/list", None).as_slice(),
            &[("mcp-session-id", "ignored")],
        ]
        .concat(),
        &body(1, "tools/list", json!({})),
    );
    let events = sim.take_events();
    let Some(Event::Request {
        key,
        session: None,
        transport: Transport::Streamable2026,
        version,
        ..
    }) = events.into_iter().next()
    else {
        panic!("a modern request reaches the application")
    };
    assert_eq!(version, Some(mcp_sse_core::ProtocolVersion::V2026_07_28));
    sim.reply(key, r#"{"tools":[],"resultType":"complete"}"#);
    assert_eq!(sim.seen(x).status(), 200);
    assert!(
        sim.seen(x).header("mcp-session-id").is_none(),
        "S3.35: never echoed"
    );
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn d2_validation_failures_and_their_codes() {
    let mut sim = modern_server();
    let list = body(7, "tools/list", json!({}));
    // S3.17: the header must equal _meta, and be there.
    let (status, error) = try_post(&mut sim, &[("mcp-method", "tools/list")], &list).unwrap();
    assert_eq!(
        (status, &error["error"]["code"], &error["id"]),
        (400, &json!(-32020), &json!(7))
    );
    let wrong = [
        ("mcp-protocol-version", "2025-11-25"),
        ("mcp-method", "tools/list"),
    ];
    let (status, error) = try_post(&mut sim, &wrong, &list).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32020))
    );
    // S3.21: Mcp-Method must restate the method.
    let (status, error) = try_post(&mut sim, &headers("tools/call", None), &list).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32020))
    );
    let (_, error) = try_post(&mut sim, &[("mcp-protocol-version", V26)], &list).unwrap();
    assert_eq!(error["error"]["code"], -32020, "Mcp-Method is required");
    // S3.18: an unsupported version, in header and body alike.
    let v999 = json!({"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"v999.0.0",
        "io.modelcontextprotocol/clientCapabilities":{}}}})
    .to_string();
    let (status, error) = try_post(
        &mut sim,
        &[
            ("mcp-protocol-version", "v999.0.0"),
            ("mcp-method", "tools/list"),
        ],
        &v999,
    )
    .unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32022))
    );
    assert_eq!(error["error"]["data"]["requested"], "v999.0.0");
    assert!(
        error["error"]["data"]["supported"]
            .as_array()
            .unwrap()
            .contains(&json!(V26))
    );
    assert_eq!(error["id"], 8);
    // S3.28: clientCapabilities is required.
    let bare = json!({"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":V26}}})
    .to_string();
    let (status, error) = try_post(&mut sim, &headers("tools/list", None), &bare).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32602))
    );
    // S3.37: a malformed envelope is -32602, no fallback; a modern header without a claim too.
    let malformed = r#"{"jsonrpc":"2.0","id":10,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":5}}}"#;
    let (status, error) = try_post(&mut sim, &headers("tools/list", None), malformed).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone(), error["id"].clone()),
        (400, json!(-32602), json!(10))
    );
    let unclaimed = r#"{"jsonrpc":"2.0","id":11,"method":"tools/list","params":{}}"#;
    let (status, error) = try_post(&mut sim, &headers("tools/list", None), unclaimed).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32602))
    );
    // S3.19, S5.19: removed and unknown methods are 404 + -32601, before the application.
    for method in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "nope/nope",
    ] {
        let (status, error) = try_post(
            &mut sim,
            &headers(method, None),
            &body(12, method, json!({})),
        )
        .unwrap();
        assert_eq!(
            (status, error["error"]["code"].clone(), error["id"].clone()),
            (404, json!(-32601), json!(12)),
            "{method}"
        );
    }
    assert!(
        sim.take_events().is_empty(),
        "nothing invalid reached the application"
    );
}

#[test]
fn s3_22_s3_24_names_and_parameter_headers() {
    let mut sim = modern_server();
    let call = |args: Value| body(1, "tools/call", json!({"name":"deploy","arguments":args}));
    let args = json!({"region":"eu-west","replicas":3,"options":{"dry":true}});
    let good = [
        ("mcp-protocol-version", V26),
        ("mcp-method", "tools/call"),
        ("mcp-name", "deploy"),
        ("mcp-param-region", "eu-west"),
        ("mcp-param-replicas", "3.0"),
        ("mcp-param-dry-run", "true"),
    ];
    assert!(
        try_post(&mut sim, &good, &call(args.clone())).is_none(),
        "integers compare numerically"
    );
    // The base64 form decodes before comparing.
    let mut encoded = good;
    encoded[2] = ("mcp-name", "=?base64?ZGVwbG95?=");
    assert!(try_post(&mut sim, &encoded, &call(args.clone())).is_none());
    // A value in the body needs its header; a different value is a mismatch.
    let (status, error) = try_post(&mut sim, &good[..5], &call(args.clone())).unwrap();
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (400, json!(-32020))
    );
    let mut wrong = good;
    wrong[3] = ("mcp-param-region", "us-east");
    let (_, error) = try_post(&mut sim, &wrong, &call(args.clone())).unwrap();
    assert_eq!(error["error"]["code"], -32020);
    // Absent or null in the body: the header is not expected.
    assert!(try_post(&mut sim, &good[..3], &call(json!({"region":null}))).is_none());
    // Mcp-Name must restate params.name (tools/call) and params.uri (resources/read).
    let mut renamed = good;
    renamed[2] = ("mcp-name", "other");
    let (_, error) = try_post(&mut sim, &renamed, &call(args)).unwrap();
    assert_eq!(error["error"]["code"], -32020);
    let read = body(2, "resources/read", json!({"uri":"test://x"}));
    let (_, error) = try_post(&mut sim, &headers("resources/read", None), &read).unwrap();
    assert_eq!(error["error"]["code"], -32020);
    assert!(
        try_post(
            &mut sim,
            &headers("resources/read", Some("test://x")),
            &read
        )
        .is_none()
    );
    // The tasks extension's methods name their task (SEP-2663).
    let get = body(3, "tasks/get", json!({"taskId":"t-1"}));
    for name in [None, Some("t-2")] {
        let (status, error) = try_post(&mut sim, &headers("tasks/get", name), &get).unwrap();
        assert_eq!(
            (status, error["error"]["code"].clone()),
            (400, json!(-32020))
        );
    }
    assert!(try_post(&mut sim, &headers("tasks/get", Some("t-1")), &get).is_none());
}

#[test]
fn error_answers_get_their_http_status_before_the_head() {
    // Also when every answer is a stream: the head waits for the first output (S3.29).
    for mode in [ResponseMode::Auto, ResponseMode::Sse] {
        let mut config = modern_config();
        config.response_mode = mode;
        let mut sim = Sim::new(config);
        let x = sim.post(
            "/mcp",
            &headers("tools/call", Some("needs_sampling")),
            &body(3, "tools/call", json!({"name":"needs_sampling"})),
        );
        let (key, _) = sim.next_request();
        let error =
            mcp_sse_core::jsonrpc::ErrorObject::new(-32021, "Missing required client capability")
                .with_data(
                    serde_json::value::RawValue::from_string(
                        r#"{"requiredCapabilities":{"sampling":{}}}"#.into(),
                    )
                    .unwrap(),
                );
        sim.server.reply(sim.now, key, Err(&error)).unwrap();
        sim.drain();
        assert_eq!(sim.seen(x).status(), 400, "S3.29, {mode:?}");
        assert_eq!(
            sim.seen(x).json()["error"]["data"]["requiredCapabilities"],
            json!({"sampling":{}})
        );
        assert_eq!(sim.seen(x).json()["id"], 3);
    }
}

#[test]
fn s3_15_closing_the_stream_cancels_the_request() {
    let mut sim = modern_server();
    let x = sim.post(
        "/mcp",
        &headers("tools/call", Some("slow")),
        &body(4, "tools/call", json!({"name":"slow"})),
    );
    let (key, _) = sim.next_request();
    sim.send(
        Target::Request(key),
        r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#,
    )
    .unwrap();
    sim.disconnect(x);
    assert!(matches!(sim.take_events().as_slice(), [Event::Cancelled { key: k, .. }] if *k == key));
    // Nothing more is sent for it.
    assert_eq!(
        sim.send(
            Target::Request(key),
            r#"{"jsonrpc":"2.0","method":"notifications/progress"}"#
        ),
        Err(SendError::UnknownRequest)
    );
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
    assert_eq!(
        (sim.server.exchange_count(), sim.server.stream_count()),
        (0, 0)
    );
}

#[test]
fn s3_9_s3_14_no_server_requests_and_logs_only_on_request() {
    let mut sim = modern_server();
    let x = sim.post(
        "/mcp",
        &headers("tools/call", Some("t")),
        &body(5, "tools/call", json!({"name":"t"})),
    );
    let (key, _) = sim.next_request();
    let ask = r#"{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}"#;
    assert_eq!(
        sim.send(Target::Request(key), ask),
        Err(SendError::Forbidden)
    );
    let log = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#;
    sim.send(Target::Request(key), log).unwrap();
    sim.reply(key, "{}");
    assert_eq!(
        sim.seen(x).header("content-type"),
        Some("application/json"),
        "the log was dropped"
    );

    let mut asked = body(6, "tools/call", json!({"name":"t"}));
    asked = asked.replace(
        "\"io.modelcontextprotocol/clientCapabilities\":{}",
        "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/logLevel\":\"info\"",
    );
    let x = sim.post("/mcp", &headers("tools/call", Some("t")), &asked);
    let (key, _) = sim.next_request();
    sim.send(Target::Request(key), log).unwrap();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).messages()[0]["method"], "notifications/message");
}

fn listen(sim: &mut Sim, id: u32, filter: Value) -> mcp_sse_core::ExchangeId {
    sim.post(
        "/mcp",
        &headers("subscriptions/listen", None),
        &body(id, "subscriptions/listen", json!({"notifications": filter})),
    )
}

#[test]
fn s3_34_listen_acknowledges_first_and_tags_every_notification() {
    let mut sim = modern_server();
    let tools = listen(
        &mut sim,
        21,
        json!({"toolsListChanged": true, "resourceSubscriptions": ["test://a"]}),
    );
    let prompts = listen(&mut sim, 22, json!({"promptsListChanged": true}));
    assert!(
        sim.take_events().is_empty(),
        "listen is the server's business"
    );
    let ack = &sim.seen(tools).messages()[0];
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        21
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": ["test://a"]})
    );
    assert_eq!(
        sim.seen(tools).header("x-accel-buffering"),
        Some("no"),
        "S3.11"
    );

    assert_eq!(sim.server.publish(sim.now, &Change::ToolsListChanged), 1);
    assert_eq!(
        sim.server
            .publish(sim.now, &Change::ResourceUpdated("test://a".into())),
        1
    );
    assert_eq!(
        sim.server
            .publish(sim.now, &Change::ResourceUpdated("test://b".into())),
        0
    );
    assert_eq!(sim.server.publish(sim.now, &Change::PromptsListChanged), 1);
    sim.drain();
    let on_tools = sim.seen(tools).messages();
    assert_eq!(on_tools.len(), 3, "only the kinds asked for");
    assert_eq!(on_tools[1]["method"], "notifications/tools/list_changed");
    assert_eq!(on_tools[2]["params"]["uri"], "test://a");
    for message in &on_tools[1..] {
        assert_eq!(
            message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            21
        );
    }
    assert_eq!(
        sim.seen(prompts).messages()[1]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        22
    );

    // A graceful end sends the completion result, then closes.
    sim.server
        .shutdown(sim.now, std::time::Duration::from_secs(10));
    sim.drain();
    let last = sim.seen(tools).messages().pop().unwrap();
    assert_eq!(last["id"], 21);
    assert_eq!(last["result"]["resultType"], "complete");
    assert!(sim.seen(tools).finished && sim.seen(prompts).finished);
}

#[test]
fn a_slow_listener_never_delays_the_others() {
    let mut config = Config::default();
    config.v2026.listen = ListenSupport::all();
    config.stream_queue_bytes = 400;
    let mut sim = Sim::new(config);
    let slow = listen(&mut sim, 1, json!({"toolsListChanged": true}));
    let fast = listen(&mut sim, 2, json!({"toolsListChanged": true}));
    sim.pause(slow);
    for _ in 0..10 {
        sim.server.publish(sim.now, &Change::ToolsListChanged);
        sim.drain();
    }
    assert_eq!(sim.seen(fast).messages().len(), 11);
    // The slow one was ended instead of growing without bound: no longer fed, its completion
    // result queued behind what it has not read; it sees both once it reads.
    assert_eq!(sim.server.publish(sim.now, &Change::ToolsListChanged), 1);
    sim.drain();
    assert!(
        sim.server.unconsumed(slow).unwrap() <= 400 + 200,
        "bound plus one frame"
    );
    sim.resume(slow);
    assert!(sim.seen(slow).finished);
    assert_eq!(
        sim.seen(slow).messages().last().unwrap()["result"]["resultType"],
        "complete"
    );
    // A client that closes its listen stream is simply gone.
    sim.disconnect(fast);
    assert_eq!(sim.server.publish(sim.now, &Change::ToolsListChanged), 0);
    assert_eq!(sim.server.stream_count(), 0);
}

#[test]
fn every_generation_on_one_server() {
    let mut sim = modern_server();
    let (legacy, endpoint) = sim.open_legacy("/sse");
    let session = sim.initialize("2025-11-25");
    // Interleaved: a 2026 request, a 2025 request, a 2024 request.
    let modern = sim.post(
        "/mcp",
        &headers("tools/list", None),
        &body(1, "tools/list", json!({})),
    );
    let streamable = sim.post(
        "/mcp",
        &[("mcp-session-id", &session)],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    let old = sim.post(
        &endpoint,
        &[],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    );
    let transports: Vec<_> = sim
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Request { key, transport, .. } => Some((key, transport)),
            _ => None,
        })
        .collect();
    assert_eq!(
        transports.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
        [
            Transport::Streamable2026,
            Transport::Streamable,
            Transport::HttpSse
        ]
    );
    for (key, _) in transports {
        sim.reply(key, r#"{"tools":[]}"#);
    }
    assert_eq!(sim.seen(modern).status(), 200);
    assert!(sim.seen(modern).header("mcp-session-id").is_none());
    assert_eq!(
        sim.seen(streamable).header("mcp-session-id"),
        Some(session.as_str())
    );
    assert_eq!(sim.seen(old).status(), 202);
    assert_eq!(sim.seen(legacy).messages().len(), 1);
    // An initialize that claims 2026-07-28 in _meta is a modern request: removed, 404.
    let x = sim.post(
        "/mcp",
        &headers("initialize", None),
        &body(2, "initialize", json!({})),
    );
    assert_eq!(sim.seen(x).status(), 404);
    assert_eq!(
        sim.server.session_count(),
        2,
        "no session was minted for it"
    );
}

#[test]
fn s3_35_s3_36_modern_only_servers() {
    let mut config = Config::default();
    config.only_2026 = true;
    let mut sim = Sim::new(config);
    for method in ["GET", "DELETE"] {
        let x = sim.request(method, "/mcp", &[("accept", "text/event-stream")], "");
        assert_eq!(sim.seen(x).status(), 405);
        assert_eq!(sim.seen(x).header("allow"), Some("POST, OPTIONS"));
    }
    let x = sim.post("/mcp", &[], r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#);
    assert_eq!(sim.seen(x).status(), 400);
    assert_eq!(
        sim.seen(x).json()["error"]["code"],
        -32022,
        "names its versions to legacy clients"
    );
    assert!(
        sim.seen(x).json()["error"]["data"]["supported"]
            .as_array()
            .is_some()
    );
    let x = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(x).status(), 404);
    assert_eq!(sim.server.session_count(), 0);
}
