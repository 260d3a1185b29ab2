//! The example server's application: the fixture the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) expects of a server under test, plus the tools `echo`
//! and `add`.
//!
//! It is plain [`Handler`] code. Each request arrives as JSON-RPC, is dispatched on its method
//! and answered with a `serde_json::Value` or an [`ErrorObject`]. Tools that talk to the client
//! while they run (logging, progress, sampling, elicitation, reconnection) go through the
//! [`RequestContext`], which carries their messages on the stream of the request itself.
//!
//! Data follows the MCP schema of 2025-06-18 / 2025-11-25, which older clients accept too.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mcp_sse_tokio::jsonrpc::{self, ErrorObject};
use mcp_sse_tokio::{Handler, RequestContext, SessionId};
use serde_json::{Value, json};

/// Protocol versions this server speaks, newest first (S5.18).
const VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Log levels from least to most severe (the syslog names MCP uses).
const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The `logger` named in our log notifications.
const LOGGER: &str = "mcp-sse-example";

/// "Resource not found" up to 2025-11-25 (2026-07-28 moves it to -32602).
const RESOURCE_NOT_FOUND: i64 = -32002;

/// The pause between the notifications of the logging and progress tools: the client must see
/// them arrive one by one while the call is still open.
const STEP: Duration = Duration::from_millis(50);

/// How long `test_reconnection` holds its answer back after dropping the connection, so that
/// the answer is produced while the client is away and has to be replayed.
const RECONNECT_DELAY: Duration = Duration::from_millis(200);

/// How long a tool waits for the client to answer its sampling or elicitation request: a
/// client that never answers must not hold the call open forever. (The MCP SDKs give their own
/// requests 60 s too.)
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A 1x1 red PNG (RGB, 8 bits).
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";

/// A WAV of eight samples of silence (PCM, mono, 8 kHz, 8 bits).
const WAV_BASE64: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

const STATIC_TEXT_URI: &str = "test://static-text";
const STATIC_BINARY_URI: &str = "test://static-binary";
const WATCHED_URI: &str = "test://watched-resource";
const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// The application. Its only state is the log level each session asked for.
#[derive(Debug, Default)]
pub(crate) struct Fixture {
    /// Index into [`LOG_LEVELS`] of the least severe level each session still wants, as set by
    /// `logging/setLevel`; sessions that never set one get every level. The handler API does
    /// not say when a session ends, so entries live as long as the server (one per session
    /// that sets a level).
    log_levels: Mutex<HashMap<SessionId, usize>>,
}

impl Handler for Fixture {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params = parse_params(&request);
        match request.method.as_str() {
            "initialize" => Ok(initialize(&params)),
            "ping" => Ok(json!({})),
            "logging/setLevel" => self.set_log_level(&cx, &params),
            "completion/complete" => Ok(no_completions()),
            "tools/list" => Ok(json!({ "tools": tools() })),
            "tools/call" => self.call_tool(&cx, &params).await,
            "resources/list" => Ok(json!({ "resources": resources() })),
            "resources/templates/list" => Ok(json!({ "resourceTemplates": resource_templates() })),
            "resources/read" => read_resource(&params),
            "resources/subscribe" | "resources/unsubscribe" => subscription(&params),
            "prompts/list" => Ok(json!({ "prompts": prompts() })),
            "prompts/get" => get_prompt(&params),
            method => Err(ErrorObject::method_not_found(method)),
        }
    }

    fn session_closed(&self, session: &SessionId) {
        self.log_levels().remove(session);
    }
}

/// The request's params as JSON, `Null` when absent. Indexing `Null` (or any non-object) with
/// a key gives `Null` again, so a handler reads its fields without caring whether there were
/// params at all, and reports what is missing.
fn parse_params(request: &jsonrpc::Request) -> Value {
    request
        .params
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and utilities

/// Echoes the client's version when it is one we speak, else offers our newest (S5.14).
fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str().unwrap_or_default();
    let version = VERSIONS
        .into_iter()
        .find(|version| *version == asked)
        .unwrap_or(VERSIONS[0]);
    json!({
        "protocolVersion": version,
        // The lists never change; `listChanged` is declared because the suite asks for it.
        "capabilities": {
            "tools": { "listChanged": true },
            "resources": { "subscribe": true, "listChanged": true },
            "prompts": { "listChanged": true },
            "logging": {},
            "completions": {},
        },
        "serverInfo": { "name": "mcp-sse-example", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "The mcp-sse example server: the MCP conformance fixture's tools, \
            resources and prompts, plus the tools `echo` and `add`.",
    })
}

/// `completion/complete`: we have no suggestions, which is a valid answer for any argument.
fn no_completions() -> Value {
    json!({ "completion": { "values": [], "total": 0, "hasMore": false } })
}

impl Fixture {
    /// `logging/setLevel`: later log notifications below `level` are not sent to this session.
    /// A request without a session has nothing to remember the level in; it succeeds anyway.
    fn set_log_level(&self, cx: &RequestContext, params: &Value) -> Result<Value, ErrorObject> {
        let Some(severity) = params["level"].as_str().and_then(severity) else {
            return Err(ErrorObject::invalid_params(format!(
                "`level` must be one of {}",
                LOG_LEVELS.join(", ")
            )));
        };
        if let Some(session) = cx.session() {
            self.log_levels().insert(session.clone(), severity);
        }
        Ok(json!({}))
    }

    /// Sends a `notifications/message` on the request's stream, unless the session asked for
    /// more severe messages only.
    async fn log(&self, cx: &RequestContext, level: &str, message: &str) {
        if !self.wants_log(cx, level) {
            return;
        }
        let params = json!({ "level": level, "logger": LOGGER, "data": message });
        // Logging is best effort: a client that went away must not fail the call.
        let _ = cx.notify("notifications/message", params).await;
    }

    fn wants_log(&self, cx: &RequestContext, level: &str) -> bool {
        let minimum = cx
            .session()
            .and_then(|session| self.log_levels().get(session).copied())
            .unwrap_or(0);
        severity(level).is_some_and(|severity| severity >= minimum)
    }

    fn log_levels(&self) -> MutexGuard<'_, HashMap<SessionId, usize>> {
        // The map stays consistent whatever panicked while holding the lock.
        self.log_levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The rank of a log level name, `None` for an unknown name.
fn severity(level: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|known| *known == level)
}

// ---------------------------------------------------------------------------------------------
// Tools

/// `tools/list`: every tool has a description and an input schema (the suite checks both).
fn tools() -> Vec<Value> {
    vec![
        tool(
            "echo",
            "Returns its text argument unchanged.",
            object_schema(json!({ "text": { "type": "string" } }), &["text"]),
        ),
        tool(
            "add",
            "Adds two numbers, reporting progress when the caller asks for it.",
            object_schema(
                json!({ "a": { "type": "number" }, "b": { "type": "number" } }),
                &["a", "b"],
            ),
        ),
        tool("test_simple_text", "Returns one text item.", no_arguments()),
        tool(
            "test_image_content",
            "Returns one image item (a PNG).",
            no_arguments(),
        ),
        tool(
            "test_audio_content",
            "Returns one audio item (a WAV).",
            no_arguments(),
        ),
        tool(
            "test_embedded_resource",
            "Returns one embedded text resource.",
            no_arguments(),
        ),
        tool(
            "test_multiple_content_types",
            "Returns a text, an image and an embedded resource item.",
            no_arguments(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three info log notifications 50 ms apart while it runs.",
            no_arguments(),
        ),
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart, when given a progress token.",
            no_arguments(),
        ),
        tool(
            "test_error_handling",
            "Always fails, reporting the failure in its result (isError).",
            no_arguments(),
        ),
        tool(
            "test_sampling",
            "Asks the client's LLM to answer the prompt (sampling) and returns the answer.",
            object_schema(
                json!({ "prompt": { "type": "string", "description": "The prompt to send to the LLM" } }),
                &["prompt"],
            ),
        ),
        tool(
            "test_elicitation",
            "Asks the user for a username and an email (elicitation) and returns the answer.",
            object_schema(
                json!({ "message": { "type": "string", "description": "The message to show the user" } }),
                &["message"],
            ),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all have default values (SEP-1034).",
            no_arguments(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Elicits a form with every kind of enum field (SEP-1330).",
            no_arguments(),
        ),
        tool(
            "test_reconnection",
            "Closes the connection of its SSE stream mid-call; the client resumes with \
             Last-Event-ID and gets the result replayed (SEP-1699).",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Has an input schema using JSON Schema 2020-12 features (SEP-1613).",
            json_schema_2020_12(),
        ),
    ]
}

fn tool(name: &str, description: &str, input_schema: Value) -> Value {
    json!({ "name": name, "description": description, "inputSchema": input_schema })
}

fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

/// The schema the suite checks is passed through untouched: `$schema`, `$defs`, `$ref` and
/// `additionalProperties` (SEP-1613).
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "type": "object",
                "properties": {
                    "street": { "type": "string" },
                    "city": { "type": "string" },
                },
            },
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
        },
        "additionalProperties": false,
    })
}

impl Fixture {
    /// `tools/call`. An unknown tool is a protocol error (-32602); bad arguments to a known
    /// tool are a tool error (`isError: true`), which the model can read and correct
    /// (2025-11-25 server/tools, "Error Handling").
    async fn call_tool(&self, cx: &RequestContext, params: &Value) -> Result<Value, ErrorObject> {
        let Some(name) = params["name"].as_str() else {
            return Err(ErrorObject::invalid_params(
                "tools/call needs a string `name`",
            ));
        };
        let arguments = &params["arguments"];
        let result = match name {
            "echo" => echo(arguments),
            "add" => add(cx, params).await,
            "test_simple_text" => text_result("This is a simple text response for testing."),
            "test_image_content" => content_result(vec![image()]),
            "test_audio_content" => content_result(vec![audio()]),
            "test_embedded_resource" => content_result(vec![embedded_text(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            )]),
            "test_multiple_content_types" => content_result(vec![
                text("Multiple content types test:"),
                image(),
                embedded_text(
                    "test://mixed-content-resource",
                    "application/json",
                    &json!({ "test": "data", "value": 123 }).to_string(),
                ),
            ]),
            "test_tool_with_logging" => self.logging_tool(cx).await,
            "test_tool_with_progress" => progress_tool(cx, params).await,
            "test_error_handling" => {
                tool_error("This tool intentionally returns an error for testing")
            }
            "test_sampling" => sampling_tool(cx, arguments).await,
            "test_elicitation" => elicitation_tool(cx, arguments).await,
            "test_elicitation_sep1034_defaults" => {
                elicit(
                    cx,
                    "Please review and update the form fields",
                    defaults_form(),
                )
                .await
            }
            "test_elicitation_sep1330_enums" => {
                elicit(
                    cx,
                    "Please select options from the enum fields",
                    enums_form(),
                )
                .await
            }
            "test_reconnection" => reconnection_tool(cx).await,
            "json_schema_2020_12_tool" => text_result(&format!(
                "JSON Schema 2020-12 tool called with: {}",
                params.get("arguments").unwrap_or(&json!({}))
            )),
            unknown => {
                return Err(ErrorObject::invalid_params(format!(
                    "Unknown tool: {unknown}"
                )));
            }
        };
        Ok(result)
    }

    /// `test_tool_with_logging`: three log notifications while the call is open, then the result.
    async fn logging_tool(&self, cx: &RequestContext) -> Value {
        let messages = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (step, message) in messages.into_iter().enumerate() {
            if step > 0 {
                tokio::time::sleep(STEP).await;
            }
            self.log(cx, "info", message).await;
        }
        text_result("Tool with logging executed successfully")
    }
}

fn echo(arguments: &Value) -> Value {
    match arguments["text"].as_str() {
        Some(text) => text_result(text),
        None => tool_error("echo needs a string argument `text`"),
    }
}

async fn add(cx: &RequestContext, params: &Value) -> Value {
    let arguments = &params["arguments"];
    let (Some(a), Some(b)) = (arguments["a"].as_f64(), arguments["b"].as_f64()) else {
        return tool_error("add needs numbers `a` and `b`");
    };
    if let Some(token) = progress_token(params) {
        report_progress(cx, token, 1, 1).await;
    }
    text_result(&(a + b).to_string())
}

/// `test_tool_with_progress`: progress 0, 50 and 100 of 100 under the caller's token. Without
/// a token the client asked for no progress (2025-06-18 utilities/progress); the steps still
/// take their time.
async fn progress_tool(cx: &RequestContext, params: &Value) -> Value {
    let token = progress_token(params);
    for (step, progress) in [0, 50, 100].into_iter().enumerate() {
        if step > 0 {
            tokio::time::sleep(STEP).await;
        }
        if let Some(token) = token {
            report_progress(cx, token, progress, 100).await;
        }
    }
    text_result("Tool with progress executed successfully")
}

/// The request's `_meta.progressToken`, if it is a valid token (a string or a number).
fn progress_token(params: &Value) -> Option<&Value> {
    params
        .get("_meta")?
        .get("progressToken")
        .filter(|token| token.is_string() || token.is_number())
}

async fn report_progress(cx: &RequestContext, token: &Value, progress: u32, total: u32) {
    let params = json!({ "progressToken": token, "progress": progress, "total": total });
    // Progress is best effort: a full or closed stream must not fail the call.
    let _ = cx.notify("notifications/progress", params).await;
}

/// `test_sampling`: asks the client's LLM, during the call, and returns what it answered.
async fn sampling_tool(cx: &RequestContext, arguments: &Value) -> Value {
    let Some(prompt) = arguments["prompt"].as_str() else {
        return tool_error("test_sampling needs a string argument `prompt`");
    };
    let request = json!({
        "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
        "maxTokens": 100,
    });
    match ask_client(cx, "sampling/createMessage", request).await {
        Ok(answer) => text_result(&format!("LLM response: {}", sampled_text(&answer))),
        Err(why) => tool_error(&format!("Sampling failed: {why}")),
    }
}

/// The text of a `CreateMessageResult`, whose `content` is one block (2025-06-18) or, since
/// 2025-11-25, possibly an array of blocks. Non-text answers are shown as JSON.
fn sampled_text(answer: &Value) -> String {
    let content = &answer["content"];
    let blocks = match content {
        Value::Array(blocks) => blocks.as_slice(),
        block => std::slice::from_ref(block),
    };
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block["text"].as_str())
        .collect();
    if texts.is_empty() {
        content.to_string()
    } else {
        texts.join("\n")
    }
}

/// `test_elicitation`: asks the user, with the client's message, for a username and an email.
async fn elicitation_tool(cx: &RequestContext, arguments: &Value) -> Value {
    let Some(message) = arguments["message"].as_str() else {
        return tool_error("test_elicitation needs a string argument `message`");
    };
    let form = json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "User's response" },
            "email": { "type": "string", "description": "User's email address" },
        },
        "required": ["username", "email"],
    });
    elicit(cx, message, form).await
}

/// Sends `elicitation/create` with a form and reports the user's action and content.
async fn elicit(cx: &RequestContext, message: &str, requested_schema: Value) -> Value {
    let request = json!({ "message": message, "requestedSchema": requested_schema });
    match ask_client(cx, "elicitation/create", request).await {
        Ok(answer) => {
            let action = answer["action"].as_str().unwrap_or("unknown");
            // `content` comes only with `accept`.
            let content = answer.get("content").unwrap_or(&json!({})).to_string();
            text_result(&format!(
                "User response: action={action}, content={content}"
            ))
        }
        Err(why) => tool_error(&format!("Elicitation failed: {why}")),
    }
}

/// Sends a request to the client on this call's stream and waits for the answer, or for
/// [`ANSWER_TIMEOUT`]. The error says why there is no answer, for the tool's error result.
async fn ask_client(cx: &RequestContext, method: &str, params: Value) -> Result<Value, String> {
    match tokio::time::timeout(ANSWER_TIMEOUT, cx.request(method, params)).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", ANSWER_TIMEOUT.as_secs())),
    }
}

/// A form whose fields all carry a default, one per primitive type (SEP-1034).
fn defaults_form() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": { "type": "boolean", "description": "Verification status", "default": true },
        },
    })
}

/// A form with the five enum shapes of SEP-1330: untitled and titled single-select, the
/// deprecated `enumNames`, untitled and titled multi-select.
fn enums_form() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Select one option",
                "enum": ["option1", "option2", "option3"],
            },
            "titledSingle": {
                "type": "string",
                "description": "Select one option with titles",
                "oneOf": [
                    { "const": "value1", "title": "First Option" },
                    { "const": "value2", "title": "Second Option" },
                    { "const": "value3", "title": "Third Option" },
                ],
            },
            "legacyEnum": {
                "type": "string",
                "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "description": "Select several options",
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
            },
            "titledMulti": {
                "type": "array",
                "description": "Select several options with titles",
                "items": {
                    "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" },
                    ],
                },
            },
        },
    })
}

/// `test_reconnection`: server-initiated disconnect (2025-11-25, SEP-1699, S2.31). Closing the
/// connection does not end the stream, so the result below is kept for the stream and
/// replayed when the client resumes with GET + `Last-Event-ID`.
async fn reconnection_tool(cx: &RequestContext) -> Value {
    if let Err(error) = cx.close_stream().await {
        // Older protocol versions and JSON answers cannot resume: the result then simply goes
        // out on the connection that is still open.
        tracing::debug!(%error, "test_reconnection keeps its stream open");
    }
    tokio::time::sleep(RECONNECT_DELAY).await;
    text_result("Reconnection test completed: this result was sent after the stream was closed.")
}

// ---------------------------------------------------------------------------------------------
// Content items and tool results

fn text(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

fn image() -> Value {
    json!({ "type": "image", "data": PNG_BASE64, "mimeType": "image/png" })
}

fn audio() -> Value {
    json!({ "type": "audio", "data": WAV_BASE64, "mimeType": "audio/wav" })
}

fn embedded_text(uri: &str, mime_type: &str, text: &str) -> Value {
    json!({
        "type": "resource",
        "resource": { "uri": uri, "mimeType": mime_type, "text": text },
    })
}

fn content_result(content: Vec<Value>) -> Value {
    json!({ "content": content, "isError": false })
}

fn text_result(message: &str) -> Value {
    content_result(vec![text(message)])
}

/// A failed tool call: a result, not a JSON-RPC error, so the model sees what went wrong.
fn tool_error(message: &str) -> Value {
    json!({ "content": [text(message)], "isError": true })
}

// ---------------------------------------------------------------------------------------------
// Resources

fn resources() -> Vec<Value> {
    vec![
        resource(
            STATIC_TEXT_URI,
            "static-text",
            "A static text resource.",
            "text/plain",
        ),
        resource(
            STATIC_BINARY_URI,
            "static-binary",
            "A static binary resource: a 1x1 PNG.",
            "image/png",
        ),
        resource(
            WATCHED_URI,
            "watched-resource",
            "A resource clients may subscribe to.",
            "text/plain",
        ),
    ]
}

fn resource(uri: &str, name: &str, description: &str, mime_type: &str) -> Value {
    json!({ "uri": uri, "name": name, "description": description, "mimeType": mime_type })
}

fn resource_templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": format!("{TEMPLATE_PREFIX}{{id}}{TEMPLATE_SUFFIX}"),
        "name": "template",
        "description": "JSON data for any id.",
        "mimeType": "application/json",
    })]
}

/// `resources/read` of a listed resource or of an instance of the template.
fn read_resource(params: &Value) -> Result<Value, ErrorObject> {
    let Some(uri) = params["uri"].as_str() else {
        return Err(ErrorObject::invalid_params(
            "resources/read needs a string `uri`",
        ));
    };
    let contents = match uri {
        STATIC_TEXT_URI => json!({
            "uri": uri,
            "mimeType": "text/plain",
            "text": "This is the content of the static text resource.",
        }),
        STATIC_BINARY_URI => json!({ "uri": uri, "mimeType": "image/png", "blob": PNG_BASE64 }),
        WATCHED_URI => json!({
            "uri": uri,
            "mimeType": "text/plain",
            "text": "Watched resource content",
        }),
        _ => match template_id(uri) {
            Some(id) => json!({
                "uri": uri,
                "mimeType": "application/json",
                "text": json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                    .to_string(),
            }),
            None => return Err(resource_not_found(uri)),
        },
    };
    Ok(json!({ "contents": [contents] }))
}

/// The `{id}` of a URI of the template `test://template/{id}/data`: one non-empty path
/// segment, as a simple RFC 6570 expansion produces.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix(TEMPLATE_PREFIX)?
        .strip_suffix(TEMPLATE_SUFFIX)?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// -32002 with the URI in `data` (2025-06-18 / 2025-11-25 server/resources, "Error Handling").
fn resource_not_found(uri: &str) -> ErrorObject {
    let error = ErrorObject::new(RESOURCE_NOT_FOUND, "Resource not found");
    match serde_json::value::to_raw_value(&json!({ "uri": uri })) {
        Ok(data) => error.with_data(data),
        Err(_) => error,
    }
}

/// `resources/subscribe` and `resources/unsubscribe` succeed for any URI. Our resources never
/// change, so a subscription never produces `notifications/resources/updated`.
fn subscription(params: &Value) -> Result<Value, ErrorObject> {
    if params["uri"].is_string() {
        Ok(json!({}))
    } else {
        Err(ErrorObject::invalid_params(
            "resources/subscribe and resources/unsubscribe need a string `uri`",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Prompts

fn prompts() -> Vec<Value> {
    vec![
        prompt(
            "test_simple_prompt",
            "A simple prompt without arguments.",
            &[],
        ),
        prompt(
            "test_prompt_with_arguments",
            "A prompt that quotes its two arguments.",
            &[
                ("arg1", "First test argument"),
                ("arg2", "Second test argument"),
            ],
        ),
        prompt(
            "test_prompt_with_embedded_resource",
            "A prompt that embeds the resource it is given.",
            &[("resourceUri", "URI of the resource to embed")],
        ),
        prompt(
            "test_prompt_with_image",
            "A prompt that includes an image.",
            &[],
        ),
    ]
}

/// A prompt whose `arguments` are all required.
fn prompt(name: &str, description: &str, arguments: &[(&str, &str)]) -> Value {
    let arguments: Vec<Value> = arguments
        .iter()
        .map(|(name, description)| {
            json!({ "name": name, "description": description, "required": true })
        })
        .collect();
    json!({ "name": name, "description": description, "arguments": arguments })
}

/// `prompts/get`. An unknown prompt or a missing required argument is -32602
/// (2025-06-18 server/prompts, "Error Handling").
fn get_prompt(params: &Value) -> Result<Value, ErrorObject> {
    let Some(name) = params["name"].as_str() else {
        return Err(ErrorObject::invalid_params(
            "prompts/get needs a string `name`",
        ));
    };
    let arguments = &params["arguments"];
    let messages = match name {
        "test_simple_prompt" => vec![user(text("This is a simple prompt for testing."))],
        "test_prompt_with_arguments" => {
            let arg1 = required_argument(arguments, "arg1")?;
            let arg2 = required_argument(arguments, "arg2")?;
            vec![user(text(&format!(
                "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
            )))]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = required_argument(arguments, "resourceUri")?;
            vec![
                user(embedded_text(
                    uri,
                    "text/plain",
                    "Embedded resource content for testing.",
                )),
                user(text("Please process the embedded resource above.")),
            ]
        }
        "test_prompt_with_image" => {
            vec![user(image()), user(text("Please analyze the image above."))]
        }
        unknown => {
            return Err(ErrorObject::invalid_params(format!(
                "Unknown prompt: {unknown}"
            )));
        }
    };
    Ok(json!({ "messages": messages }))
}

/// A prompt argument; their values are strings (`GetPromptRequest.params.arguments`).
fn required_argument<'a>(arguments: &'a Value, name: &str) -> Result<&'a str, ErrorObject> {
    arguments[name]
        .as_str()
        .ok_or_else(|| ErrorObject::invalid_params(format!("Missing required argument: {name}")))
}

fn user(content: Value) -> Value {
    json!({ "role": "user", "content": content })
}
