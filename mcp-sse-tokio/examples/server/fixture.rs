//! The example server's application: the fixture the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) expects of a server under test, plus the tools `echo`
//! and `add`.
//!
//! It is plain [`Handler`] code. Each request arrives as JSON-RPC, is dispatched on its method
//! and answered with a `serde_json::Value` or an [`ErrorObject`]. Tools that talk to the client
//! while they run (logging, progress, reconnection) go through the [`RequestContext`], which
//! carries their messages on the stream of the request itself.
//!
//! Two eras of the protocol are served, and the application tells them apart with
//! [`RequestContext::protocol_version`]:
//!
//! - Sessions (2024-11-05 to 2025-11-25): `initialize` first, then requests whose results follow
//!   the 2025-06-18 / 2025-11-25 schema. A tool that needs the client (sampling, elicitation,
//!   roots) sends it a request during the call and waits for the answer.
//! - Sessionless 2026-07-28: every request carries its own `_meta` (protocol version, client
//!   capabilities, optional log level). Results carry `resultType` and the server's identity;
//!   list and read results also carry caching hints. The server sends the client no requests: a tool that
//!   needs the client answers `resultType: "input_required"` with the requests it needs
//!   answered (and an integrity-protected `requestState`), and the client calls again with the
//!   answers (multi-round-trip requests, SEP-2322). The core checks the envelope and the
//!   headers before the handler runs.
//!
//! The tools and prompts that ask the client things are written once, as [`Flow`]s: a step
//! function gets the answers so far and either finishes or names what it still needs. The
//! session era runs the rounds in one call; the 2026 era runs one round per request.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, RandomState};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// Only runtime-neutral names: the tokio and the smol example both serve this fixture.
use mcp_sse_app::core::{Change, ProtocolVersion};
use mcp_sse_app::jsonrpc::{self, ErrorObject};
use mcp_sse_app::{Handler, RequestContext, Runtime, SessionId};
use serde_json::{Map, Value, json};

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

/// Our name, in `serverInfo` and as the `logger` of our log notifications.
const SERVER_NAME: &str = "mcp-sse-example";

const INSTRUCTIONS: &str = "The mcp-sse example server: the MCP conformance fixture's tools, \
    resources and prompts, plus the tools `echo` and `add`.";

/// "Resource not found" up to 2025-11-25; 2026-07-28 uses -32602 instead (SEP-2164, S3.33).
const RESOURCE_NOT_FOUND: i64 = -32002;

/// The keys of 2026-07-28 request and result `_meta` (S3.1, S3.30).
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Every method served to 2026-07-28 requests (`Config::modern.methods`); the core answers
/// any other with `404` + `-32601` before the handler runs. `subscriptions/listen` is served by
/// the core itself.
pub(crate) const MODERN_METHODS: [&str; 9] = [
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "completion/complete",
];

/// How long 2026-07-28 clients may cache our lists and `server/discover` (SEP-2549). The lists
/// are fixed; `test_trigger_*` announce changes for testing, and a client refetches on a
/// `list_changed` notification whatever the hint said.
const LIST_TTL_MS: u64 = 60_000;
const DISCOVER_TTL_MS: u64 = 300_000;
/// Resource contents that never change; the watched resource gets 0 (read it afresh).
const STATIC_READ_TTL_MS: u64 = 3_600_000;

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

/// Most rounds of questions one call may take in a session; a flow that keeps asking is a bug.
const MAX_ROUNDS: usize = 8;

/// How long a `requestState` we issued stays valid.
const STATE_LIFETIME_SECS: u64 = 3600;

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

/// The application. Its state: the log level each session asked for, and the key that
/// protects the `requestState` of 2026-07-28 multi-round requests.
#[derive(Debug)]
pub(crate) struct Fixture {
    /// Index into [`LOG_LEVELS`] of the least severe level each session still wants, as set by
    /// `logging/setLevel`; sessions that never set one get every level. Entries go when the
    /// session ends.
    log_levels: Mutex<HashMap<SessionId, usize>>,
    /// A random key, drawn at start-up, for the integrity tag of `requestState` (see
    /// [`Fixture::seal`]). States issued before a restart are refused after it.
    state_key: RandomState,
    /// The timer of the runtime the server runs on, for the tools that wait.
    timer: Timer,
}

impl Fixture {
    /// The fixture, on the runtime of the example that serves it.
    pub(crate) fn new(runtime: impl Runtime) -> Self {
        Self {
            log_levels: Mutex::default(),
            state_key: RandomState::new(),
            timer: Timer(Arc::new(runtime)),
        }
    }
}

/// Waits on the server's runtime (tokio or smol: the fixture uses neither by name).
#[derive(Clone)]
struct Timer(Arc<dyn Runtime>);

impl Timer {
    async fn sleep(&self, duration: Duration) {
        self.0.sleep_until(Instant::now() + duration).await;
    }

    /// `future`'s output, or `None` if `duration` passed first.
    async fn timeout<F: Future>(&self, duration: Duration, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut expiry = self.0.sleep_until(Instant::now() + duration);
        poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => expiry.as_mut().poll(cx).map(|()| None),
        })
        .await
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Timer")
    }
}

/// Which protocol era a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Era {
    /// 2024-11-05 to 2025-11-25: sessions, and results as those versions define them.
    Sessions,
    /// 2026-07-28: self-describing requests, `resultType`, caching hints, input_required.
    Modern,
}

impl Era {
    fn of(cx: &RequestContext) -> Self {
        if cx
            .protocol_version()
            .is_some_and(ProtocolVersion::is_modern)
        {
            Self::Modern
        } else {
            Self::Sessions
        }
    }
}

impl Handler for Fixture {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params = parse_params(&request);
        let method = request.method.as_str();
        let era = Era::of(&cx);
        let result = self.dispatch(&cx, era, method, &params).await?;
        Ok(match era {
            Era::Modern => finish_modern(method, &params, result),
            Era::Sessions => result,
        })
    }

    fn session_closed(&self, session: &SessionId) {
        self.log_levels().remove(session);
    }
}

impl Fixture {
    async fn dispatch(
        &self,
        cx: &RequestContext,
        era: Era,
        method: &str,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        match (era, method) {
            (Era::Sessions, "initialize") => Ok(initialize(params)),
            (Era::Sessions, "ping") => Ok(json!({})),
            (Era::Sessions, "logging/setLevel") => self.set_log_level(cx, params),
            (Era::Sessions, "resources/subscribe" | "resources/unsubscribe") => {
                subscription(params)
            }
            (Era::Modern, "server/discover") => Ok(discover()),
            (_, "completion/complete") => Ok(no_completions()),
            (_, "tools/list") => Ok(json!({ "tools": tools() })),
            (_, "tools/call") => self.call_tool(cx, era, params).await,
            (_, "resources/list") => Ok(json!({ "resources": resources() })),
            (_, "resources/templates/list") => {
                Ok(json!({ "resourceTemplates": resource_templates() }))
            }
            (_, "resources/read") => read_resource(era, params),
            (_, "prompts/list") => Ok(json!({ "prompts": prompts() })),
            (_, "prompts/get") => self.get_prompt(cx, era, params).await,
            (_, method) => Err(ErrorObject::method_not_found(method)),
        }
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

/// What every 2026-07-28 result carries (S3.30, S3.31, SEP-2549): `resultType` (`complete`
/// unless the handler said `input_required`), our identity in `_meta`, and, on complete list
/// and read results and on `server/discover`, how long the client may cache it.
fn finish_modern(method: &str, params: &Value, mut result: Value) -> Value {
    let Value::Object(fields) = &mut result else {
        return result;
    };
    let complete = *fields
        .entry("resultType")
        .or_insert_with(|| json!("complete"))
        == "complete";
    if complete && let Some(ttl_ms) = cache_ttl_ms(method, params) {
        fields.entry("ttlMs").or_insert_with(|| json!(ttl_ms));
        // Nothing we serve depends on who asks (there is no authorization), so shared caches
        // may keep it too.
        fields
            .entry("cacheScope")
            .or_insert_with(|| json!("public"));
    }
    let meta = fields.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.insert(META_SERVER_INFO.to_owned(), server_info());
    }
    result
}

/// The caching hint of a cacheable result (SEP-2549), `None` for results that have none.
fn cache_ttl_ms(method: &str, params: &Value) -> Option<u64> {
    match method {
        "server/discover" => Some(DISCOVER_TTL_MS),
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            Some(LIST_TTL_MS)
        }
        "resources/read" if params["uri"] == WATCHED_URI => Some(0),
        "resources/read" => Some(STATIC_READ_TTL_MS),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and utilities

fn server_info() -> Value {
    json!({ "name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION") })
}

/// The lists never change; `listChanged` is declared because the suite asks for it, and the
/// `test_trigger_*` tools announce changes on demand.
fn capabilities() -> Value {
    json!({
        "tools": { "listChanged": true },
        "resources": { "subscribe": true, "listChanged": true },
        "prompts": { "listChanged": true },
        "logging": {},
        "completions": {},
    })
}

/// Echoes the client's version when it is one of the session era we speak, else offers our
/// newest of that era (S5.14).
fn initialize(params: &Value) -> Value {
    let asked = params["protocolVersion"].as_str().unwrap_or_default();
    let mut versions = ProtocolVersion::ALL
        .into_iter()
        .rev()
        .filter(|version| !version.is_modern())
        .map(ProtocolVersion::as_str);
    let newest = versions.clone().next().unwrap_or_default();
    let version = versions.find(|version| *version == asked).unwrap_or(newest);
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    })
}

/// `server/discover` (2026-07-28, S3.32): every version the server speaks, newest first (the
/// same list the core puts in its -32022 errors), and what it offers. `finish_modern` adds
/// `serverInfo`, `resultType` and the caching hints.
fn discover() -> Value {
    let versions: Vec<&str> = ProtocolVersion::ALL
        .into_iter()
        .rev()
        .map(ProtocolVersion::as_str)
        .collect();
    json!({
        "supportedVersions": versions,
        "capabilities": capabilities(),
        "instructions": INSTRUCTIONS,
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

    /// The least severe level the client wants logged for this request, `None` for no logs.
    /// A session gets what it set with `logging/setLevel` (everything by default); a 2026-07-28
    /// request gets logs only when its `_meta` names a level (S3.14).
    fn log_threshold(&self, cx: &RequestContext, era: Era, params: &Value) -> Option<usize> {
        match era {
            Era::Modern => params["_meta"][META_LOG_LEVEL].as_str().and_then(severity),
            Era::Sessions => Some(
                cx.session()
                    .and_then(|session| self.log_levels().get(session).copied())
                    .unwrap_or(0),
            ),
        }
    }

    fn log_levels(&self) -> MutexGuard<'_, HashMap<SessionId, usize>> {
        // The map stays consistent whatever panicked while holding the lock.
        self.log_levels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sends a `notifications/message` on the request's stream if the client wants `level`.
async fn log(cx: &RequestContext, threshold: Option<usize>, level: &str, message: &str) {
    let wanted = threshold
        .zip(severity(level))
        .is_some_and(|(min, s)| s >= min);
    if !wanted {
        return;
    }
    let params = json!({ "level": level, "logger": SERVER_NAME, "data": message });
    // Logging is best effort: a client that went away must not fail the call.
    let _ = cx.notify("notifications/message", params).await;
}

/// The rank of a log level name, `None` for an unknown name.
fn severity(level: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|known| *known == level)
}

/// An error with structured `data`.
fn error_with_data(error: ErrorObject, data: &Value) -> ErrorObject {
    match serde_json::value::to_raw_value(data) {
        Ok(data) => error.with_data(data),
        Err(_) => error,
    }
}

// ---------------------------------------------------------------------------------------------
// Tools

/// The `tools` of a `tools/list` result, as `Config::modern.tool_headers` reads them.
pub(crate) fn tool_list() -> Value {
    Value::Array(tools())
}

/// `tools/list`: every tool has a description and an input schema (the suite checks both).
/// The order is fixed (2026-07-28 asks for a deterministic order); `echo` comes first because
/// the header-validation scenario calls the first tool with no arguments.
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
            "Sends three info log notifications 50 ms apart while it runs (2026-07-28: only \
             when the request's _meta names a log level).",
            no_arguments(),
        ),
        tool(
            "test_logging_tool",
            "The same as test_tool_with_logging.",
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
             Last-Event-ID and gets the result replayed (SEP-1699; sessions of 2025-11-25 only, \
             2026-07-28 has no resumption and simply gets the result).",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Has an input schema using JSON Schema 2020-12 features (SEP-1613, SEP-2106).",
            json_schema_2020_12(),
        ),
        tool(
            "test_custom_headers",
            "Echoes its arguments; region, priority and verbose are mirrored in Mcp-Param-* \
             request headers (x-mcp-header, SEP-2243).",
            custom_headers_schema(),
        ),
        tool(
            "test_missing_capability",
            "Asks the client's LLM a question, so it needs the client's sampling capability \
             (2026-07-28: -32021 when the request does not declare it).",
            no_arguments(),
        ),
        tool(
            "test_streaming_elicitation",
            "Asks the user to confirm (elicitation); 2026-07-28 gets an input_required result \
             on the response stream instead of a request.",
            no_arguments(),
        ),
        tool(
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed to subscriptions/listen streams.",
            no_arguments(),
        ),
        tool(
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed to subscriptions/listen streams.",
            no_arguments(),
        ),
        tool(
            "test_trigger_resource_change",
            "Announces notifications/resources/list_changed, and notifications/resources/updated \
             for test://watched-resource, to subscriptions/listen streams.",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_elicitation",
            "Asks the user's name (key user_name) and greets them (SEP-2322).",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_sampling",
            "Asks the client's LLM for the capital of France (key capital_question).",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_list_roots",
            "Asks for the client's roots (key client_roots) and lists them.",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_request_state",
            "Asks for a confirmation and checks that its requestState comes back intact.",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "Asks for a name (elicitation), a greeting (sampling) and the roots at once.",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_multi_round",
            "Asks for a name, then for a favourite colour, in two rounds.",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a retry with an altered requestState is refused (-32602).",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_capabilities",
            "Asks only what the client's declared capabilities allow (sampling, elicitation, \
             roots).",
            no_arguments(),
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
/// `additionalProperties` (SEP-1613), and the wider vocabulary of SEP-2106: `$anchor`,
/// `allOf`/`anyOf`, `if`/`then`/`else`.
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
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
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" },
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": {
            "properties": { "contactMethod": { "const": "phone" } },
            "required": ["contactMethod"],
        },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    })
}

/// Parameters a 2026-07-28 client mirrors in `Mcp-Param-{name}` headers (S3.23); the core
/// checks the headers against the body before the call reaches us (S3.24).
fn custom_headers_schema() -> Value {
    object_schema(
        json!({
            "region": {
                "type": "string",
                "description": "A region name, mirrored in Mcp-Param-Region",
                "x-mcp-header": "Region",
            },
            "priority": {
                "type": "integer",
                "description": "A priority, mirrored in Mcp-Param-Priority",
                "x-mcp-header": "Priority",
            },
            "verbose": {
                "type": "boolean",
                "description": "Optional; mirrored in Mcp-Param-Verbose when given",
                "x-mcp-header": "Verbose",
            },
            "query": { "type": "string", "description": "Not mirrored in any header" },
        }),
        &["region", "priority", "query"],
    )
}

impl Fixture {
    /// `tools/call`. An unknown tool is a protocol error (-32602); bad arguments to a known
    /// tool are a tool error (`isError: true`), which the model can read and correct
    /// (2025-11-25 server/tools, "Error Handling").
    async fn call_tool(
        &self,
        cx: &RequestContext,
        era: Era,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let Some(name) = params["name"].as_str() else {
            return Err(ErrorObject::invalid_params(
                "tools/call needs a string `name`",
            ));
        };
        let arguments = &params["arguments"];
        if let Some(flow) = tool_flow(name, arguments) {
            return self
                .run_flow(cx, era, params, name, &*flow, Subject::Tool)
                .await;
        }
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
            "test_tool_with_logging" | "test_logging_tool" => {
                logging_tool(cx, &self.timer, self.log_threshold(cx, era, params)).await
            }
            "test_tool_with_progress" => progress_tool(cx, &self.timer, params).await,
            "test_error_handling" => {
                tool_error("This tool intentionally returns an error for testing")
            }
            "test_reconnection" => reconnection_tool(cx, &self.timer, era).await,
            "json_schema_2020_12_tool" => text_result(&format!(
                "JSON Schema 2020-12 tool called with: {}",
                params.get("arguments").unwrap_or(&json!({}))
            )),
            "test_custom_headers" => custom_headers_tool(arguments),
            "test_trigger_tool_change" => {
                cx.handle().publish(Change::ToolsListChanged);
                text_result("Announced notifications/tools/list_changed.")
            }
            "test_trigger_prompt_change" => {
                cx.handle().publish(Change::PromptsListChanged);
                text_result("Announced notifications/prompts/list_changed.")
            }
            "test_trigger_resource_change" => {
                cx.handle().publish(Change::ResourcesListChanged);
                cx.handle()
                    .publish(Change::ResourceUpdated(WATCHED_URI.to_owned()));
                text_result(
                    "Announced notifications/resources/list_changed and \
                     notifications/resources/updated for test://watched-resource.",
                )
            }
            unknown => {
                return Err(ErrorObject::invalid_params(format!(
                    "Unknown tool: {unknown}"
                )));
            }
        };
        Ok(result)
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

/// `test_tool_with_logging`: three log notifications while the call is open, then the result.
async fn logging_tool(cx: &RequestContext, timer: &Timer, threshold: Option<usize>) -> Value {
    let messages = [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ];
    for (step, message) in messages.into_iter().enumerate() {
        if step > 0 {
            timer.sleep(STEP).await;
        }
        log(cx, threshold, "info", message).await;
    }
    text_result("Tool with logging executed successfully")
}

/// `test_tool_with_progress`: progress 0, 50 and 100 of 100 under the caller's token. Without
/// a token the client asked for no progress (2025-06-18 utilities/progress); the steps still
/// take their time.
async fn progress_tool(cx: &RequestContext, timer: &Timer, params: &Value) -> Value {
    let token = progress_token(params);
    for (step, progress) in [0, 50, 100].into_iter().enumerate() {
        if step > 0 {
            timer.sleep(STEP).await;
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

/// `test_reconnection`: server-initiated disconnect (2025-11-25, SEP-1699, S2.31). Closing the
/// connection does not end the stream, so the result below is kept for the stream and
/// replayed when the client resumes with GET + `Last-Event-ID`. 2026-07-28 has no resumption
/// (S3.13): there a closed stream would be a cancelled request, so the result simply goes out.
async fn reconnection_tool(cx: &RequestContext, timer: &Timer, era: Era) -> Value {
    if era == Era::Sessions
        && let Err(error) = cx.close_stream().await
    {
        // Older protocol versions and JSON answers cannot resume: the result then simply goes
        // out on the connection that is still open.
        tracing::debug!(%error, "test_reconnection keeps its stream open");
    }
    timer.sleep(RECONNECT_DELAY).await;
    text_result("Reconnection test completed: this result was sent after the stream was closed.")
}

/// `test_custom_headers`: the arguments as the body had them; the core has already checked
/// that the `Mcp-Param-*` headers agree.
fn custom_headers_tool(arguments: &Value) -> Value {
    let shown = |name: &str| match &arguments[name] {
        Value::Null => "(absent)".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text_result(&format!(
        "region={}, priority={}, verbose={}, query={}",
        shown("region"),
        shown("priority"),
        shown("verbose"),
        shown("query")
    ))
}

// ---------------------------------------------------------------------------------------------
// Asking the client: flows (sampling, elicitation, roots in both eras; SEP-2322)

/// A request the server needs the client to answer: `sampling/createMessage`,
/// `elicitation/create` or `roots/list`, under a key of the server's choosing.
#[derive(Debug)]
struct Ask {
    key: &'static str,
    method: &'static str,
    params: Value,
}

/// Where a flow stands after a round.
#[derive(Debug)]
enum Flow {
    /// It needs these answers first. `state` comes back with them: in 2026-07-28 through the
    /// client, sealed as `requestState`; in a session it simply stays here.
    Ask {
        asks: Vec<Ask>,
        state: Option<Value>,
    },
    /// It has its result.
    Done(Value),
}

/// What a flow sees in a round.
#[derive(Debug)]
struct Round<'a> {
    /// The answers to the previous round's asks, by key (`inputResponses`); empty at first.
    /// Keys nobody asked for are ignored.
    answers: &'a Map<String, Value>,
    /// The state the previous round left, verified.
    state: Option<&'a Value>,
    /// The capabilities a 2026-07-28 request declared; `None` in a session, where we do not
    /// track them and the client refuses what it cannot do.
    capabilities: Option<&'a Value>,
}

impl Round<'_> {
    fn answer(&self, key: &str) -> Option<&Value> {
        self.answers.get(key)
    }

    /// Whether the client can answer `method`.
    fn can(&self, method: &str) -> bool {
        self.capabilities
            .is_none_or(|capabilities| !capabilities[capability_of(method)].is_null())
    }
}

/// One round of a flow: the answers so far in, the result or the next questions out.
type Step<'a> = dyn Fn(&Round<'_>) -> Result<Flow, ErrorObject> + Send + Sync + 'a;

/// What a flow produces, which decides how a session reports a client that did not answer.
#[derive(Clone, Copy, Debug)]
enum Subject {
    /// A `tools/call`: a tool error the model can read.
    Tool,
    /// A `prompts/get`: a JSON-RPC error.
    Prompt,
}

/// The client capability a server-to-client method needs.
fn capability_of(method: &str) -> &'static str {
    match method {
        "sampling/createMessage" => "sampling",
        "elicitation/create" => "elicitation",
        _ => "roots",
    }
}

impl Fixture {
    /// Runs a flow to its result. In a session, each round's asks go to the client as requests
    /// on this call's stream, and the next round runs with the answers. In 2026-07-28, one
    /// round runs per request: its answers and state come in the params (`inputResponses`,
    /// `requestState`), and a flow that needs more answers says so with an `input_required` result
    /// (SEP-2322).
    async fn run_flow(
        &self,
        cx: &RequestContext,
        era: Era,
        params: &Value,
        name: &str,
        step: &Step<'_>,
        subject: Subject,
    ) -> Result<Value, ErrorObject> {
        match era {
            Era::Modern => self.flow_round(params, name, step),
            Era::Sessions => flow_in_session(cx, &self.timer, step, subject).await,
        }
    }

    /// One 2026-07-28 round.
    fn flow_round(
        &self,
        params: &Value,
        name: &str,
        step: &Step<'_>,
    ) -> Result<Value, ErrorObject> {
        let empty = Map::new();
        let answers = match params.get("inputResponses") {
            None => &empty,
            Some(Value::Object(answers)) => answers,
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`inputResponses` must be an object mapping keys to answers",
                ));
            }
        };
        let state = match params.get("requestState") {
            None => None,
            Some(Value::String(sealed)) => Some(self.open(name, sealed)?),
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`requestState` must be a string",
                ));
            }
        };
        let capabilities = &params["_meta"][META_CLIENT_CAPABILITIES];
        let round = Round {
            answers,
            state: state.as_ref(),
            capabilities: Some(capabilities),
        };
        let (asks, state) = match step(&round)? {
            Flow::Done(result) => return Ok(result),
            Flow::Ask { asks, state } => (asks, state),
        };
        // S3.29: a request that needs what the client did not declare is refused, naming it.
        let missing: Map<String, Value> = asks
            .iter()
            .filter(|ask| !round.can(ask.method))
            .map(|ask| (capability_of(ask.method).to_owned(), json!({})))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.keys().map(String::as_str).collect();
            return Err(error_with_data(
                ErrorObject::new(
                    jsonrpc::MISSING_CLIENT_CAPABILITY,
                    format!("Missing required client capability: {}", names.join(", ")),
                ),
                &json!({ "requiredCapabilities": missing }),
            ));
        }
        let requests: Map<String, Value> = asks
            .into_iter()
            .map(|ask| {
                let request = json!({ "method": ask.method, "params": ask.params });
                (ask.key.to_owned(), request)
            })
            .collect();
        let mut result = json!({ "resultType": "input_required", "inputRequests": requests });
        if let Some(state) = state {
            result["requestState"] = json!(self.seal(name, &state));
        }
        Ok(result)
    }
}

/// A whole flow in a session: the rounds run here, the asks go out as requests.
async fn flow_in_session(
    cx: &RequestContext,
    timer: &Timer,
    step: &Step<'_>,
    subject: Subject,
) -> Result<Value, ErrorObject> {
    let mut answers = Map::new();
    let mut state = None;
    for _ in 0..MAX_ROUNDS {
        let round = Round {
            answers: &answers,
            state: state.as_ref(),
            capabilities: None,
        };
        let (asks, next) = match step(&round)? {
            Flow::Done(result) => return Ok(result),
            Flow::Ask { asks, state } => (asks, state),
        };
        let mut next_answers = Map::new();
        for ask in asks {
            match ask_client(cx, timer, ask.method, ask.params).await {
                Ok(answer) => {
                    next_answers.insert(ask.key.to_owned(), answer);
                }
                Err(why) => return failed(subject, &format!("{} failed: {why}", ask.method)),
            }
        }
        answers = next_answers;
        state = next;
    }
    failed(subject, "the client was asked too many rounds of questions")
}

fn failed(subject: Subject, why: &str) -> Result<Value, ErrorObject> {
    match subject {
        Subject::Tool => Ok(tool_error(why)),
        Subject::Prompt => Err(ErrorObject::internal_error(why)),
    }
}

/// Sends a request to the client on this call's stream and waits for the answer, or for
/// [`ANSWER_TIMEOUT`]. The error says why there is no answer.
async fn ask_client(
    cx: &RequestContext,
    timer: &Timer,
    method: &str,
    params: Value,
) -> Result<Value, String> {
    match timer
        .timeout(ANSWER_TIMEOUT, cx.request(method, params))
        .await
    {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(error)) => Err(error.to_string()),
        None => Err(format!("no answer within {} s", ANSWER_TIMEOUT.as_secs())),
    }
}

// The integrity of `requestState`.
//
// The client holds the state between rounds and must not be able to forge or alter it
// (SEP-2322). It is the JSON `{"for": <tool or prompt>, "exp": <unix seconds>, "state": ...}`
// in hex, a dot, and a 128-bit tag: two domain-separated keyed hashes of the hex under a key
// drawn at start-up (std's `RandomState`, SipHash-1-3 today). That keeps the example free of
// extra dependencies but is no vetted MAC: a production server would use HMAC-SHA-256 (and
// encrypt the state if it held anything secret).
impl Fixture {
    fn seal(&self, name: &str, state: &Value) -> String {
        let expires = unix_now() + STATE_LIFETIME_SECS;
        let payload = json!({ "for": name, "exp": expires, "state": state }).to_string();
        let payload = to_hex(payload.as_bytes());
        let tag = self.tag(&payload);
        format!("{payload}.{tag}")
    }

    /// The state sealed for `name`, or -32602 when it is not one we issued for it, was altered
    /// or has expired.
    fn open(&self, name: &str, sealed: &str) -> Result<Value, ErrorObject> {
        let refused = || {
            ErrorObject::invalid_params(
                "Invalid requestState: it failed its integrity check or has expired",
            )
        };
        let (payload, tag) = sealed.split_once('.').ok_or_else(refused)?;
        if !same_bytes(tag.as_bytes(), self.tag(payload).as_bytes()) {
            return Err(refused());
        }
        let sealed: Value = from_hex(payload)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(refused)?;
        let fresh = sealed["exp"].as_u64().is_some_and(|exp| exp >= unix_now());
        if sealed["for"] != name || !fresh {
            return Err(refused());
        }
        Ok(sealed["state"].clone())
    }

    fn tag(&self, payload: &str) -> String {
        let first = self.state_key.hash_one((1u8, payload));
        let second = self.state_key.hash_one((2u8, payload));
        format!("{first:016x}{second:016x}")
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

/// Compares in time independent of where the inputs differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

// Questions and answers.

fn sampling_ask(key: &'static str, prompt: &str, max_tokens: u32) -> Ask {
    Ask {
        key,
        method: "sampling/createMessage",
        params: json!({
            "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
            "maxTokens": max_tokens,
        }),
    }
}

fn elicitation_ask(key: &'static str, message: &str, requested_schema: Value) -> Ask {
    Ask {
        key,
        method: "elicitation/create",
        params: json!({ "message": message, "requestedSchema": requested_schema }),
    }
}

fn roots_ask(key: &'static str) -> Ask {
    Ask {
        key,
        method: "roots/list",
        params: json!({}),
    }
}

/// A form with one required string field.
fn one_string_form(field: &str) -> Value {
    json!({
        "type": "object",
        "properties": { field: { "type": "string" } },
        "required": [field],
    })
}

fn confirm_form() -> Value {
    json!({
        "type": "object",
        "properties": { "ok": { "type": "boolean" } },
        "required": ["ok"],
    })
}

fn bad_answer(key: &str, expected: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("inputResponses[\"{key}\"] is not {expected}"))
}

/// An `ElicitResult`: the action and, with `accept`, the content.
#[derive(Debug)]
struct Elicited<'a> {
    action: &'a str,
    content: Option<&'a Map<String, Value>>,
}

impl Elicited<'_> {
    /// A string field of accepted content.
    fn field(&self, name: &str) -> Option<&str> {
        self.content?.get(name)?.as_str()
    }

    fn content_json(&self) -> String {
        self.content.map_or_else(
            || "{}".to_owned(),
            |content| Value::from(content.clone()).to_string(),
        )
    }
}

fn elicited<'a>(answer: &'a Value, key: &str) -> Result<Elicited<'a>, ErrorObject> {
    let action = answer["action"]
        .as_str()
        .filter(|action| ["accept", "decline", "cancel"].contains(action))
        .ok_or_else(|| bad_answer(key, "an ElicitResult"))?;
    let content = match answer.get("content") {
        None | Some(Value::Null) => None,
        Some(Value::Object(content)) => Some(content),
        Some(_) => return Err(bad_answer(key, "an ElicitResult")),
    };
    Ok(Elicited { action, content })
}

/// The text of a `CreateMessageResult`, whose `content` is one block (2025-06-18) or, since
/// 2025-11-25, possibly an array of blocks. Non-text answers are shown as JSON.
fn sampled(answer: &Value, key: &str) -> Result<String, ErrorObject> {
    let content = match answer.get("content") {
        Some(content @ (Value::Object(_) | Value::Array(_))) => content,
        _ => return Err(bad_answer(key, "a CreateMessageResult")),
    };
    let blocks = match content {
        Value::Array(blocks) => blocks.as_slice(),
        block => std::slice::from_ref(block),
    };
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block["text"].as_str())
        .collect();
    Ok(if texts.is_empty() {
        content.to_string()
    } else {
        texts.join("\n")
    })
}

/// The URIs of a `ListRootsResult`.
fn root_uris(answer: &Value, key: &str) -> Result<Vec<String>, ErrorObject> {
    answer["roots"]
        .as_array()
        .and_then(|roots| {
            roots
                .iter()
                .map(|root| root["uri"].as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| bad_answer(key, "a ListRootsResult"))
}

/// The answer to `key` in the round, as a summary line, checked against the method asked.
fn summary(method: &str, answer: &Value, key: &str) -> Result<String, ErrorObject> {
    Ok(match method {
        "sampling/createMessage" => format!("{key}: the LLM said {:?}", sampled(answer, key)?),
        "elicitation/create" => {
            let elicited = elicited(answer, key)?;
            format!(
                "{key}: action={}, content={}",
                elicited.action,
                elicited.content_json()
            )
        }
        _ => format!("{key}: roots {}", root_uris(answer, key)?.join(", ")),
    })
}

/// The flow of a tool that asks the client something, `None` for other tools.
fn tool_flow<'a>(name: &str, arguments: &'a Value) -> Option<Box<Step<'a>>> {
    let step: Box<Step<'a>> = match name {
        "test_sampling" => Box::new(move |round| sampling_flow(arguments, round)),
        "test_elicitation" => Box::new(move |round| elicitation_flow(arguments, round)),
        "test_elicitation_sep1034_defaults" => Box::new(|round| {
            form_flow(
                round,
                "Please review and update the form fields",
                defaults_form(),
            )
        }),
        "test_elicitation_sep1330_enums" => Box::new(|round| {
            form_flow(
                round,
                "Please select options from the enum fields",
                enums_form(),
            )
        }),
        "test_missing_capability" => Box::new(missing_capability_flow),
        "test_streaming_elicitation" => Box::new(streaming_elicitation_flow),
        "test_input_required_result_elicitation" => Box::new(name_flow),
        "test_input_required_result_sampling" => Box::new(capital_flow),
        "test_input_required_result_list_roots" => Box::new(roots_flow),
        "test_input_required_result_request_state" => {
            Box::new(|round| confirm_flow(round, "state-ok: the requestState came back intact"))
        }
        "test_input_required_result_tampered_state" => {
            Box::new(|round| confirm_flow(round, "The requestState passed its integrity check"))
        }
        "test_input_required_result_multiple_inputs" => Box::new(multiple_inputs_flow),
        "test_input_required_result_multi_round" => Box::new(multi_round_flow),
        "test_input_required_result_capabilities" => Box::new(capabilities_flow),
        _ => return None,
    };
    Some(step)
}

/// `test_sampling`: the client's LLM answers the prompt.
fn sampling_flow(arguments: &Value, round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let Some(prompt) = arguments["prompt"].as_str() else {
        return Ok(Flow::Done(tool_error(
            "test_sampling needs a string argument `prompt`",
        )));
    };
    Ok(match round.answer("llm") {
        None => Flow::Ask {
            asks: vec![sampling_ask("llm", prompt, 100)],
            state: None,
        },
        Some(answer) => Flow::Done(text_result(&format!(
            "LLM response: {}",
            sampled(answer, "llm")?
        ))),
    })
}

/// `test_elicitation`: the user gives a username and an email, with the client's message.
fn elicitation_flow(arguments: &Value, round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let Some(message) = arguments["message"].as_str() else {
        return Ok(Flow::Done(tool_error(
            "test_elicitation needs a string argument `message`",
        )));
    };
    let form = json!({
        "type": "object",
        "properties": {
            "username": { "type": "string", "description": "User's response" },
            "email": { "type": "string", "description": "User's email address" },
        },
        "required": ["username", "email"],
    });
    form_flow(round, message, form)
}

/// Elicits a form and reports the user's action and content.
fn form_flow(round: &Round<'_>, message: &str, form: Value) -> Result<Flow, ErrorObject> {
    elicit_flow(round, "form", message, form, "User response")
}

/// Asks the user one form under `key`, then reports the action and content after `label`.
fn elicit_flow(
    round: &Round<'_>,
    key: &'static str,
    message: &str,
    form: Value,
    label: &str,
) -> Result<Flow, ErrorObject> {
    Ok(match round.answer(key) {
        None => Flow::Ask {
            asks: vec![elicitation_ask(key, message, form)],
            state: None,
        },
        Some(answer) => {
            let elicited = elicited(answer, key)?;
            Flow::Done(text_result(&format!(
                "{label}: action={}, content={}",
                elicited.action,
                elicited.content_json()
            )))
        }
    })
}

/// `test_missing_capability`: a question for the client's LLM, so it needs `sampling`.
fn missing_capability_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    Ok(match round.answer("llm") {
        None => Flow::Ask {
            asks: vec![sampling_ask("llm", "Say hello.", 50)],
            state: None,
        },
        Some(answer) => Flow::Done(text_result(&format!(
            "LLM response: {}",
            sampled(answer, "llm")?
        ))),
    })
}

/// `test_streaming_elicitation`: a confirmation, which 2026-07-28 carries as an
/// `input_required` result on the response, never as a request of its own.
fn streaming_elicitation_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let message = "Shall the tool go on?";
    elicit_flow(
        round,
        "confirmation",
        message,
        confirm_form(),
        "Confirmation",
    )
}

/// `test_input_required_result_elicitation`: the user's name (key `user_name`), then a
/// greeting. Without that answer (also when only other keys came) it asks again.
fn name_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let Some(answer) = round.answer("user_name") else {
        return Ok(Flow::Ask {
            asks: vec![elicitation_ask(
                "user_name",
                "What is your name?",
                one_string_form("name"),
            )],
            state: None,
        });
    };
    let elicited = elicited(answer, "user_name")?;
    Ok(Flow::Done(
        match (elicited.action, elicited.field("name")) {
            ("accept", Some(name)) => text_result(&format!("Hello, {name}!")),
            ("accept", None) => return Err(bad_answer("user_name", "an answer with a `name`")),
            (action, _) => text_result(&format!("No name was given (action={action}).")),
        },
    ))
}

/// `test_input_required_result_sampling`: a question for the client's LLM (key
/// `capital_question`).
fn capital_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    Ok(match round.answer("capital_question") {
        None => Flow::Ask {
            asks: vec![sampling_ask(
                "capital_question",
                "What is the capital of France?",
                100,
            )],
            state: None,
        },
        Some(answer) => Flow::Done(text_result(&format!(
            "The LLM answered: {}",
            sampled(answer, "capital_question")?
        ))),
    })
}

/// `test_input_required_result_list_roots`: the client's roots (key `client_roots`).
fn roots_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    Ok(match round.answer("client_roots") {
        None => Flow::Ask {
            asks: vec![roots_ask("client_roots")],
            state: None,
        },
        Some(answer) => {
            let uris = root_uris(answer, "client_roots")?;
            Flow::Done(text_result(&format!(
                "The client has {} root(s): {}",
                uris.len(),
                uris.join(", ")
            )))
        }
    })
}

/// A confirmation (key `confirm`) whose round must come back with the state it was asked with:
/// `test_input_required_result_request_state` and `..._tampered_state`.
fn confirm_flow(round: &Round<'_>, done: &str) -> Result<Flow, ErrorObject> {
    let asked = json!({ "asked": "confirm" });
    let ask = || Flow::Ask {
        asks: vec![elicitation_ask("confirm", "Please confirm", confirm_form())],
        state: Some(asked.clone()),
    };
    match (round.state, round.answer("confirm")) {
        (Some(state), Some(answer)) if *state == asked => {
            let elicited = elicited(answer, "confirm")?;
            Ok(Flow::Done(text_result(&format!(
                "{done}; action={}, content={}",
                elicited.action,
                elicited.content_json()
            ))))
        }
        (None, Some(_)) => Err(ErrorObject::invalid_params(
            "the answer to `confirm` must come with the requestState it was asked with",
        )),
        _ => Ok(ask()),
    }
}

/// `test_input_required_result_multiple_inputs`: three questions of three kinds at once. The
/// state keeps the answers already given, so a retry that answers only some of them is asked
/// just the rest.
fn multiple_inputs_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let asks = || {
        vec![
            elicitation_ask("user_name", "What is your name?", one_string_form("name")),
            sampling_ask("greeting", "Generate a greeting", 50),
            roots_ask("client_roots"),
        ]
    };
    let Some(state) = round.state else {
        if !round.answers.is_empty() {
            return Err(ErrorObject::invalid_params(
                "these answers must come with the requestState they were asked with",
            ));
        }
        return Ok(Flow::Ask {
            asks: asks(),
            state: Some(json!({ "answers": {} })),
        });
    };
    let mut answers = state["answers"].as_object().cloned().unwrap_or_default();
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    for ask in asks() {
        let answer = answers
            .get(ask.key)
            .or_else(|| round.answer(ask.key))
            .cloned();
        match answer {
            Some(answer) => {
                lines.push(summary(ask.method, &answer, ask.key)?);
                answers.insert(ask.key.to_owned(), answer);
            }
            None => missing.push(ask),
        }
    }
    if missing.is_empty() {
        return Ok(Flow::Done(text_result(&lines.join("\n"))));
    }
    Ok(Flow::Ask {
        asks: missing,
        state: Some(json!({ "answers": answers })),
    })
}

/// `test_input_required_result_multi_round`: a name (`step1`), then a colour (`step2`); the
/// state says which round it is and keeps the name.
fn multi_round_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let step1 = || Flow::Ask {
        asks: vec![elicitation_ask(
            "step1",
            "Step 1: What is your name?",
            one_string_form("name"),
        )],
        state: Some(json!({ "round": 1 })),
    };
    let step2 = |name: &str| Flow::Ask {
        asks: vec![elicitation_ask(
            "step2",
            "Step 2: What is your favorite color?",
            one_string_form("color"),
        )],
        state: Some(json!({ "round": 2, "name": name })),
    };
    let Some(state) = round.state else {
        return Ok(step1());
    };
    match (&state["round"], &state["name"]) {
        (rnd, _) if *rnd == 1 => match round.answer("step1") {
            None => Ok(step1()),
            Some(answer) => {
                let elicited = elicited(answer, "step1")?;
                match elicited.field("name") {
                    Some(name) => Ok(step2(name)),
                    None => Ok(Flow::Done(text_result(&format!(
                        "No name was given (action={}).",
                        elicited.action
                    )))),
                }
            }
        },
        (rnd, Value::String(name)) if *rnd == 2 => match round.answer("step2") {
            None => Ok(step2(name)),
            Some(answer) => {
                let elicited = elicited(answer, "step2")?;
                let color = elicited.field("color").unwrap_or("(not given)");
                Ok(Flow::Done(text_result(&format!(
                    "{name}'s favorite color: {color}"
                ))))
            }
        },
        _ => Err(ErrorObject::invalid_params("Invalid requestState")),
    }
}

/// `test_input_required_result_capabilities`: asks only what the client declared it can
/// answer (in a session: everything).
fn capabilities_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let possible = [
        sampling_ask("llm", "Say hello.", 50),
        elicitation_ask("user_name", "What is your name?", one_string_form("name")),
        roots_ask("client_roots"),
    ];
    let asks: Vec<Ask> = possible
        .into_iter()
        .filter(|ask| round.can(ask.method))
        .collect();
    if asks.is_empty() {
        return Ok(Flow::Done(text_result(
            "The client declared none of sampling, elicitation and roots: nothing to ask.",
        )));
    }
    if asks.iter().all(|ask| round.answer(ask.key).is_none()) {
        return Ok(Flow::Ask { asks, state: None });
    }
    let lines = asks
        .iter()
        .filter_map(|ask| {
            let answer = round.answer(ask.key)?;
            Some(summary(ask.method, answer, ask.key))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Flow::Done(text_result(&lines.join("\n"))))
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
fn read_resource(era: Era, params: &Value) -> Result<Value, ErrorObject> {
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
            None => return Err(resource_not_found(era, uri)),
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

/// The URI in `data`, with -32002 in sessions (2025-06-18 / 2025-11-25 server/resources,
/// "Error Handling") and -32602 in 2026-07-28, which must not emit -32002 (SEP-2164, S3.33).
fn resource_not_found(era: Era, uri: &str) -> ErrorObject {
    let code = match era {
        Era::Sessions => RESOURCE_NOT_FOUND,
        Era::Modern => jsonrpc::INVALID_PARAMS,
    };
    error_with_data(
        ErrorObject::new(code, "Resource not found"),
        &json!({ "uri": uri }),
    )
}

/// `resources/subscribe` and `resources/unsubscribe` (sessions only) succeed for any URI. Our
/// resources never change, so such a subscription never produces
/// `notifications/resources/updated`. (2026-07-28 subscribes through `subscriptions/listen`,
/// where `test_trigger_resource_change` produces one on demand.)
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
        prompt(
            "test_input_required_result_prompt",
            "A prompt that first asks the user what context to use (elicitation, SEP-2322).",
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

impl Fixture {
    /// `prompts/get`. An unknown prompt or a missing required argument is -32602
    /// (2025-06-18 server/prompts, "Error Handling").
    async fn get_prompt(
        &self,
        cx: &RequestContext,
        era: Era,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let Some(name) = params["name"].as_str() else {
            return Err(ErrorObject::invalid_params(
                "prompts/get needs a string `name`",
            ));
        };
        if name == "test_input_required_result_prompt" {
            return self
                .run_flow(cx, era, params, name, &context_prompt_flow, Subject::Prompt)
                .await;
        }
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
}

/// `test_input_required_result_prompt`: the user says what context to use (key
/// `user_context`), and the prompt is built around it.
fn context_prompt_flow(round: &Round<'_>) -> Result<Flow, ErrorObject> {
    let Some(answer) = round.answer("user_context") else {
        return Ok(Flow::Ask {
            asks: vec![elicitation_ask(
                "user_context",
                "What context should the prompt use?",
                one_string_form("context"),
            )],
            state: None,
        });
    };
    let elicited = elicited(answer, "user_context")?;
    let context = elicited.field("context").unwrap_or("no particular context");
    Ok(Flow::Done(json!({
        "description": "A prompt built around the context the user gave",
        "messages": [user(text(&format!("Answer with this context in mind: {context}")))],
    })))
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
