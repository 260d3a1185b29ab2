//! The typed layer through its public API, over the transport's real entry point (HTTP requests
//! in, responses out; no sockets), on smol: negotiation, schemas, argument errors, pagination,
//! logging, 2026-07-28 finishing, `input_required` rounds and tasks.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use mcp_sse_app::Entry;
use mcp_sse_app::core::{HostPolicy, Server};
use mcp_sse_server::schema::LoggingLevel;
use mcp_sse_server::{
    Context, Error, Json, McpServer, NoArguments, Options, Prompt, TaskSupport, Tool,
};
use mcp_sse_smol::Smol;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const V26: &str = "2026-07-28";
const TASKS: &str = "io.modelcontextprotocol/tasks";

#[derive(Deserialize, JsonSchema)]
struct Add {
    /// The first number.
    a: f64,
    b: f64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: f64,
}

#[derive(Deserialize, JsonSchema)]
struct Code {
    code: String,
}

#[derive(Deserialize, JsonSchema)]
struct Wait {
    millis: u64,
}

fn server(options: Options) -> McpServer {
    McpServer::builder("typed-test", "9.9.9")
        .instructions("for tests")
        .options(options)
        .tool(Tool::new("add", "Adds.", |Add { a, b }, _| async move { Ok((a + b).to_string()) }))
        .tool(Tool::new("sum", "Adds, structured.", |Add { a, b }, _| async move {
            Ok(Json(Sum { sum: a + b }))
        }))
        .tool(Tool::new("chatty", "Logs at two levels.", |_: NoArguments, cx: Context| async move {
            cx.log(LoggingLevel::Info, "an info").await;
            cx.log(LoggingLevel::Warning, "a warning").await;
            Ok("logged")
        }))
        .tool(Tool::new("survey", "Asks a name, then a colour.", |_: NoArguments, cx: Context| async move {
            let form = |field: &str| json!({ "type": "object", "properties": { field: { "type": "string" } } });
            let name = cx.elicit("name", "Name?", form("name")).await?;
            let color = cx.elicit("color", "Colour?", form("color")).await?;
            let field = |answer: &mcp_sse_server::schema::ElicitResult, key: &str| {
                json!(answer.content.as_ref().and_then(|content| content.get(key)))
            };
            Ok(format!("{} likes {}", field(&name, "name"), field(&color, "color")))
        }))
        .tool(
            Tool::new("wait", "Waits, as a task when it can.", |Wait { millis }, cx: Context| async move {
                cx.sleep(Duration::from_millis(millis)).await;
                Ok(format!("waited {millis} ms"))
            })
            .task_support(TaskSupport::Optional),
        )
        .tool(
            Tool::new("ask_in_task", "Asks once, only as a task.", |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("ok", "OK?", json!({ "type": "object" })).await?;
                Ok(format!("answered {}", json!(answer.action)))
            })
            .task_support(TaskSupport::Required),
        )
        .prompt(Prompt::new("review", "Reviews code.", |Code { code }, _| async move {
            use mcp_sse_server::content::{text, user};
            Ok(vec![user(text(format!("review {code}")))])
        }))
        .build(Smol::default())
}

/// An entry in front of `server`, as an adapter would start it.
fn entry(server: &McpServer) -> Entry {
    let mut config = server.config();
    config.hosts = HostPolicy::Any;
    Entry::start(Smol::default(), Server::new(config), server.clone()).0
}

/// POSTs `body` to `/mcp`; the status, the response headers, and the JSON-RPC messages of the
/// answer (one for JSON, each event's for SSE).
fn post(
    entry: &Entry,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, http::HeaderMap, Vec<Value>) {
    let mut request = http::Request::post("/mcp")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    smol::block_on(async {
        let response = entry.call(request).await;
        let (head, body) = response.into_parts();
        let bytes = body.collect().await.expect("a body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let sse = head
            .headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let messages = if sse {
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str(data.trim()).ok())
                .collect()
        } else {
            serde_json::from_str(&text).into_iter().collect()
        };
        (head.status.as_u16(), head.headers, messages)
    })
}

/// The answer to request `id` among `messages`.
fn answer(messages: &[Value], id: u64) -> Value {
    messages
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no answer to {id} in {messages:?}"))
}

/// A session: initialized at `version`, its id.
fn session(entry: &Entry, version: &str) -> String {
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    let (status, headers, _) = post(entry, &[], &init);
    assert_eq!(status, 200);
    let id = headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    post(
        entry,
        &[("mcp-session-id", &id), ("mcp-protocol-version", version)],
        &initialized,
    );
    id
}

/// A request in session `id` (2025-11-25).
fn call(entry: &Entry, session: &str, id: u64, method: &str, params: Value) -> (Value, Vec<Value>) {
    let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    let (_, _, messages) = post(
        entry,
        &[
            ("mcp-session-id", session),
            ("mcp-protocol-version", "2025-11-25"),
        ],
        &body,
    );
    (answer(&messages, id), messages)
}

/// A 2026-07-28 request with `capabilities` in its `_meta` (plus the `_meta` keys `params` has).
fn modern(
    entry: &Entry,
    id: u64,
    method: &str,
    params: Value,
    capabilities: Value,
) -> (u16, Value) {
    let (status, answer, _) = modern_messages(entry, id, method, params, capabilities);
    (status, answer)
}

/// [`modern`], with every message of the answer.
fn modern_messages(
    entry: &Entry,
    id: u64,
    method: &str,
    mut params: Value,
    capabilities: Value,
) -> (u16, Value, Vec<Value>) {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": V26,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    });
    if let Some(extra) = params.get("_meta").and_then(Value::as_object) {
        for (key, value) in extra {
            meta[key] = value.clone();
        }
    }
    params["_meta"] = meta;
    let name = params["name"]
        .as_str()
        .or(params["taskId"].as_str())
        .map(str::to_owned);
    let mut headers = vec![("mcp-protocol-version", V26), ("mcp-method", method)];
    if let Some(name) = &name {
        headers.push(("mcp-name", name));
    }
    let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    let (status, _, messages) = post(entry, &headers, &body);
    (status, answer(&messages, id), messages)
}

#[test]
fn initialize_negotiates_the_version_and_states_what_the_registry_offers() {
    let entry = entry(&server(Options::default()));
    for (asked, agreed) in [
        ("2025-06-18", "2025-06-18"),
        ("1999-01-01", "2025-11-25"),
        (V26, "2025-11-25"),
    ] {
        let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": asked, "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
        let (_, _, messages) = post(&entry, &[], &init);
        let result = &answer(&messages, 1)["result"];
        assert_eq!(result["protocolVersion"], agreed, "asked {asked}");
        assert_eq!(
            result["serverInfo"],
            json!({ "name": "typed-test", "version": "9.9.9" })
        );
        assert_eq!(result["instructions"], "for tests");
        let capabilities = &result["capabilities"];
        assert!(capabilities["tools"].is_object() && capabilities["prompts"].is_object());
        assert!(
            capabilities["resources"].is_null(),
            "no resources were registered: {capabilities}"
        );
        assert!(
            capabilities["extensions"].is_null(),
            "tasks are a 2026-07-28 extension"
        );
    }
}

#[test]
fn schemas_are_derived_and_structured_output_gets_an_output_schema() {
    let entry = entry(&server(Options::default()));
    let session = session(&entry, "2025-11-25");
    let (list, _) = call(&entry, &session, 1, "tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().expect("tools").clone();
    let add = tools.iter().find(|t| t["name"] == "add").expect("add");
    assert_eq!(
        add["inputSchema"]["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        add["inputSchema"]["properties"]["a"]["description"],
        "The first number."
    );
    assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    assert!(add.get("outputSchema").is_none());
    let sum = tools.iter().find(|t| t["name"] == "sum").expect("sum");
    assert_eq!(sum["outputSchema"]["properties"]["sum"]["type"], "number");
    let wait = tools.iter().find(|t| t["name"] == "wait").expect("wait");
    assert_eq!(wait["execution"], json!({ "taskSupport": "optional" }));
    let (result, _) = call(
        &entry,
        &session,
        2,
        "tools/call",
        json!({ "name": "sum", "arguments": { "a": 1, "b": 2 } }),
    );
    assert_eq!(result["result"]["structuredContent"], json!({ "sum": 3.0 }));
    assert_eq!(result["result"]["content"][0]["text"], r#"{"sum":3.0}"#);
}

#[test]
fn bad_arguments_are_a_tool_error_and_unknown_names_a_protocol_error() {
    let entry = entry(&server(Options::default()));
    let session = session(&entry, "2025-11-25");
    let (good, _) = call(
        &entry,
        &session,
        1,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 1, "b": 2 } }),
    );
    assert_eq!(good["result"]["content"][0]["text"], "3");
    let (bad, _) = call(
        &entry,
        &session,
        2,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": "one" } }),
    );
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let text = bad["result"]["content"][0]["text"].as_str().expect("text");
    assert!(text.starts_with("Invalid arguments for tool add"), "{text}");
    let (unknown, _) = call(
        &entry,
        &session,
        3,
        "tools/call",
        json!({ "name": "nope", "arguments": {} }),
    );
    assert_eq!(unknown["error"]["code"], -32602);
    let (prompt, _) = call(
        &entry,
        &session,
        4,
        "prompts/get",
        json!({ "name": "review", "arguments": {} }),
    );
    assert_eq!(
        prompt["error"]["code"], -32602,
        "a missing required prompt argument"
    );
    let (prompt, _) = call(
        &entry,
        &session,
        5,
        "prompts/get",
        json!({ "name": "review", "arguments": { "code": "x" } }),
    );
    assert_eq!(
        prompt["result"]["messages"][0]["content"]["text"],
        "review x"
    );
    let (method, _) = call(&entry, &session, 6, "nope/nope", json!({}));
    assert_eq!(method["error"]["code"], -32601);
}

#[test]
fn lists_page_with_cursors_and_refuse_cursors_they_did_not_issue() {
    let mut options = Options::default();
    options.page_size = 4;
    let entry = entry(&server(options));
    let session = session(&entry, "2025-11-25");
    let (first, _) = call(&entry, &session, 1, "tools/list", json!({}));
    let names = |page: &Value| -> Vec<String> {
        page["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["add", "sum", "chatty", "survey"]);
    let cursor = first["result"]["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (second, _) = call(
        &entry,
        &session,
        2,
        "tools/list",
        json!({ "cursor": cursor }),
    );
    assert_eq!(names(&second), ["wait", "ask_in_task"]);
    assert!(second["result"].get("nextCursor").is_none());
    for (id, cursor) in [(3, json!("bogus")), (4, json!("99")), (5, json!(7))] {
        let (refused, _) = call(
            &entry,
            &session,
            id,
            "tools/list",
            json!({ "cursor": cursor }),
        );
        assert_eq!(refused["error"]["code"], -32602, "cursor {cursor}");
    }
}

#[test]
fn logs_honour_set_level_in_sessions_and_the_meta_level_in_2026() {
    let entry = entry(&server(Options::default()));
    let session = session(&entry, "2025-11-25");
    let levels = |messages: &[Value]| -> Vec<String> {
        messages
            .iter()
            .filter(|m| m["method"] == "notifications/message")
            .map(|m| m["params"]["level"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, messages) = call(
        &entry,
        &session,
        1,
        "tools/call",
        json!({ "name": "chatty" }),
    );
    assert_eq!(
        levels(&messages),
        ["info", "warning"],
        "every level until setLevel"
    );
    let (set, _) = call(
        &entry,
        &session,
        2,
        "logging/setLevel",
        json!({ "level": "warning" }),
    );
    assert_eq!(set["result"], json!({}));
    let (_, messages) = call(
        &entry,
        &session,
        3,
        "tools/call",
        json!({ "name": "chatty" }),
    );
    assert_eq!(levels(&messages), ["warning"]);
    let (bad, _) = call(
        &entry,
        &session,
        4,
        "logging/setLevel",
        json!({ "level": "loud" }),
    );
    assert_eq!(bad["error"]["code"], -32602);
    // 2026-07-28: no logs unless the request's _meta names a level, then from it up (S3.14).
    let (_, _, messages) = modern_messages(
        &entry,
        5,
        "tools/call",
        json!({ "name": "chatty" }),
        json!({}),
    );
    assert_eq!(levels(&messages), Vec::<String>::new());
    let wants =
        json!({ "name": "chatty", "_meta": { "io.modelcontextprotocol/logLevel": "warning" } });
    let (_, _, messages) = modern_messages(&entry, 6, "tools/call", wants, json!({}));
    assert_eq!(levels(&messages), ["warning"]);
}

#[test]
fn results_2026_carry_their_type_identity_and_caching_hints() {
    let entry = entry(&server(Options::default()));
    let (status, discover) = modern(&entry, 1, "server/discover", json!({}), json!({}));
    assert_eq!(status, 200);
    let result = &discover["result"];
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["supportedVersions"][0], V26);
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "typed-test"
    );
    assert_eq!(
        (result["ttlMs"].as_u64(), result["cacheScope"].as_str()),
        (Some(300_000), Some("private"))
    );
    assert!(result["capabilities"]["extensions"][TASKS].is_object());
    let (_, list) = modern(&entry, 2, "tools/list", json!({}), json!({}));
    assert_eq!(list["result"]["ttlMs"], 60_000);
    let (_, added) = modern(
        &entry,
        3,
        "tools/call",
        json!({ "name": "add", "arguments": { "a": 2, "b": 2 } }),
        json!({}),
    );
    assert_eq!(added["result"]["resultType"], "complete");
    assert!(
        added["result"].get("ttlMs").is_none(),
        "tool results are not cacheable"
    );
    // Removed in 2026-07-28, and methods the registry does not serve: 404 + -32601.
    let (status, ping) = modern(&entry, 4, "ping", json!({}), json!({}));
    assert_eq!(
        (status, ping["error"]["code"].clone()),
        (404, json!(-32601))
    );
    let (status, _) = modern(&entry, 5, "resources/list", json!({}), json!({}));
    assert_eq!(status, 404, "no resources were registered");
}

#[test]
fn input_required_rounds_carry_earlier_answers_in_a_sealed_state() {
    let entry = entry(&server(Options::default()));
    let elicit = json!({ "elicitation": {} });
    let (_, first) = modern(
        &entry,
        1,
        "tools/call",
        json!({ "name": "survey" }),
        elicit.clone(),
    );
    let first = &first["result"];
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(
        first["inputRequests"]["name"]["method"],
        "elicitation/create"
    );
    let state = first["requestState"].as_str().expect("a state").to_owned();
    let name = json!({ "action": "accept", "content": { "name": "Ada" } });
    let params =
        json!({ "name": "survey", "inputResponses": { "name": name }, "requestState": state });
    let (_, second) = modern(&entry, 2, "tools/call", params, elicit.clone());
    let second = &second["result"];
    assert_eq!(second["resultType"], "input_required");
    assert!(
        second["inputRequests"].get("name").is_none(),
        "already answered: {second}"
    );
    let state = second["requestState"].as_str().expect("a state").to_owned();
    // The first answer now travels in the state only.
    let color = json!({ "action": "accept", "content": { "color": "teal" } });
    let params =
        json!({ "name": "survey", "inputResponses": { "color": color }, "requestState": state });
    let (_, done) = modern(&entry, 3, "tools/call", params.clone(), elicit.clone());
    assert_eq!(
        done["result"]["content"][0]["text"],
        r#""Ada" likes "teal""#
    );
    // A state altered by the client, or issued for another tool, is refused.
    let mut forged = params.clone();
    forged["requestState"] = json!(format!("{state}x"));
    let (status, refused) = modern(&entry, 4, "tools/call", forged, elicit.clone());
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!(-32602))
    );
    let mut elsewhere = params.clone();
    elsewhere["name"] = json!("chatty");
    let (_, refused) = modern(&entry, 5, "tools/call", elsewhere, elicit.clone());
    assert_eq!(refused["error"]["code"], -32602);
    // An answer of the wrong shape is a protocol error; a client without the capability -32021.
    let wrong = json!({ "name": "survey", "inputResponses": { "name": 12345 } });
    let (_, refused) = modern(&entry, 6, "tools/call", wrong, elicit);
    assert_eq!(refused["error"]["code"], -32602);
    let (status, refused) = modern(
        &entry,
        7,
        "tools/call",
        json!({ "name": "survey" }),
        json!({}),
    );
    assert_eq!(
        (status, refused["error"]["code"].clone()),
        (400, json!(-32021))
    );
    assert!(refused["error"]["data"]["requiredCapabilities"]["elicitation"].is_object());
}

#[test]
fn tasks_run_in_the_background_ask_through_updates_and_stop_on_cancel() {
    let entry = entry(&server(Options::default()));
    let tasks = json!({ "elicitation": {}, "extensions": { TASKS: {} } });
    // Without the extension: an optional tool runs at once, a required one is refused, and
    // the task methods too.
    let (_, sync) = modern(
        &entry,
        1,
        "tools/call",
        json!({ "name": "wait", "arguments": { "millis": 1 } }),
        json!({}),
    );
    assert_eq!(sync["result"]["content"][0]["text"], "waited 1 ms");
    let (_, refused) = modern(
        &entry,
        2,
        "tools/call",
        json!({ "name": "ask_in_task" }),
        json!({}),
    );
    assert_eq!(refused["error"]["code"], -32021);
    let (_, refused) = modern(&entry, 3, "tasks/get", json!({ "taskId": "x" }), json!({}));
    assert_eq!(refused["error"]["code"], -32021);

    // A task that finishes by itself.
    let (_, created) = modern(
        &entry,
        4,
        "tools/call",
        json!({ "name": "wait", "arguments": { "millis": 50 } }),
        tasks.clone(),
    );
    let created = &created["result"];
    assert_eq!(
        (created["resultType"].as_str(), created["status"].as_str()),
        (Some("task"), Some("working"))
    );
    let id = created["taskId"].as_str().expect("an id").to_owned();
    let get = |n: u64| {
        modern(
            &entry,
            n,
            "tasks/get",
            json!({ "taskId": id }),
            tasks.clone(),
        )
        .1["result"]
            .clone()
    };
    assert_eq!(get(5)["status"], "working");
    std::thread::sleep(Duration::from_millis(200));
    let done = get(6);
    assert_eq!(
        (
            done["status"].as_str(),
            done["result"]["content"][0]["text"].as_str()
        ),
        (Some("completed"), Some("waited 50 ms"))
    );

    // A task that asks: input_required until tasks/update answers.
    let (_, created) = modern(
        &entry,
        7,
        "tools/call",
        json!({ "name": "ask_in_task" }),
        tasks.clone(),
    );
    let id = created["result"]["taskId"]
        .as_str()
        .expect("an id")
        .to_owned();
    std::thread::sleep(Duration::from_millis(50));
    let (_, waiting) = modern(
        &entry,
        8,
        "tasks/get",
        json!({ "taskId": id }),
        tasks.clone(),
    );
    assert_eq!(waiting["result"]["status"], "input_required");
    assert_eq!(
        waiting["result"]["inputRequests"]["ok"]["method"],
        "elicitation/create"
    );
    let update = json!({ "taskId": id, "inputResponses": { "ok": { "action": "decline" } } });
    let (_, ack) = modern(&entry, 9, "tasks/update", update, tasks.clone());
    assert_eq!(ack["result"]["resultType"], "complete");
    std::thread::sleep(Duration::from_millis(100));
    let (_, done) = modern(
        &entry,
        10,
        "tasks/get",
        json!({ "taskId": id }),
        tasks.clone(),
    );
    assert_eq!(
        done["result"]["result"]["content"][0]["text"],
        r#"answered "decline""#
    );

    // A task cancelled while it works stays cancelled; its work is stopped.
    let (_, created) = modern(
        &entry,
        11,
        "tools/call",
        json!({ "name": "wait", "arguments": { "millis": 100 } }),
        tasks.clone(),
    );
    let id = created["result"]["taskId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (_, ack) = modern(
        &entry,
        12,
        "tasks/cancel",
        json!({ "taskId": id }),
        tasks.clone(),
    );
    assert_eq!(ack["result"]["resultType"], "complete");
    std::thread::sleep(Duration::from_millis(200));
    let (_, cancelled) = modern(
        &entry,
        13,
        "tasks/get",
        json!({ "taskId": id }),
        tasks.clone(),
    );
    assert_eq!(cancelled["result"]["status"], "cancelled");
    assert!(cancelled["result"].get("result").is_none());
    let (_, unknown) = modern(&entry, 14, "tasks/get", json!({ "taskId": "nope" }), tasks);
    assert_eq!(unknown["error"]["code"], -32602);
}

#[test]
fn the_config_is_derived_from_the_registry() {
    let server = server(Options::default());
    let config = server.config();
    let methods = &config.v2026.methods;
    for method in [
        "server/discover",
        "tools/list",
        "tools/call",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "tasks/get",
        "tasks/update",
        "tasks/cancel",
    ] {
        assert!(
            methods.iter().any(|m| m == method),
            "{method} in {methods:?}"
        );
    }
    assert!(
        !methods.iter().any(|m| m.starts_with("resources/")),
        "no resources registered: {methods:?}"
    );
    assert!(config.v2026.listen.tools_list_changed && !config.v2026.listen.resources_list_changed);
    let headers = McpServer::builder("h", "1")
        .tool(
            Tool::new("deploy", "Deploys.", |_: Value, _| async {
                Ok::<_, Error>("ok")
            })
            .input_schema(json!({
                "type": "object",
                "properties": { "region": { "type": "string", "x-mcp-header": "Region" } },
            })),
        )
        .build(Smol::default())
        .config()
        .v2026
        .tool_headers;
    assert_eq!(headers.len(), 1);
    assert_eq!(
        (headers[0].tool.as_str(), headers[0].header.as_str()),
        ("deploy", "Region")
    );
}

/// With bearer tokens checked in front, a tool finds who called it in its context.
#[test]
fn a_tool_sees_the_principal_of_the_callers_token() {
    use mcp_sse_app::auth::{Authenticator, StaticTokens};
    use mcp_sse_app::core::Authorization;
    use mcp_sse_server::Principal;

    let whoami = |_: NoArguments, cx: Context| async move {
        Ok(cx
            .principal()
            .map_or("nobody".to_owned(), |p| p.subject.clone()))
    };
    let server = McpServer::builder("auth-test", "1")
        .tool(Tool::new("whoami", "Says who called.", whoami))
        .build(Smol::default());
    let mut config = server.config();
    config.hosts = HostPolicy::Any;
    let mut auth = Authorization::default();
    auth.resource = "http://127.0.0.1/mcp".into();
    config.auth = Some(auth);
    let tokens = StaticTokens::new().with("alice-token", Principal::new("alice"));
    let entry = Entry::start(Smol::default(), Server::new(config), server)
        .0
        .with_authenticator(Authenticator::new(tokens));
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } } });
    assert_eq!(post(&entry, &[], &init).0, 401);
    let bearer = ("authorization", "Bearer alice-token");
    let (status, headers, _) = post(&entry, &[bearer], &init);
    assert_eq!(status, 200);
    let session = headers["mcp-session-id"].to_str().unwrap();
    let headers = [
        bearer,
        ("mcp-session-id", session),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    post(&entry, &headers, &initialized);
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "whoami", "arguments": {} } });
    let (_, _, messages) = post(&entry, &headers, &call);
    let text = &answer(&messages, 1)["result"]["content"][0]["text"];
    assert_eq!(text, "alice", "{messages:?}");
}
