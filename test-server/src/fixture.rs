//! The fixture the official MCP conformance suite (`@modelcontextprotocol/conformance`) expects
//! of a server under test (`/work/shared/CONFORMANCE.md` lists it), plus `echo` and `add`, on
//! the typed layer: what is left here is what each tool, resource and prompt does. The layer
//! answers the protocol around them (negotiation, lists, errors, 2026-07-28 finishing,
//! `input_required` rounds, tasks).

use std::time::Duration;

use mcp_sse_server::content::{
    audio, embedded_text, image, text, text_contents, tool_error, tool_result, user,
};
use mcp_sse_server::schema::{
    CallToolResult, CreateMessageResult, ElicitResult, ElicitResultAction, GetPromptResult,
    ListRootsResult, LoggingLevel,
};
use mcp_sse_server::{
    Ask, Change, Context, Error, McpServer, NoArguments, Options, Prompt, Resource,
    ResourceTemplate, TaskSupport, Tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// A 1x1 red PNG (RGB, 8 bits).
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";
/// A WAV of eight samples of silence (PCM, mono, 8 kHz, 8 bits).
const WAV: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";
const WATCHED_URI: &str = "test://watched-resource";
/// The pause between the notifications of the logging and progress tools.
const STEP: Duration = Duration::from_millis(50);
/// How long the contents of the static resources may be cached.
const STATIC: Duration = Duration::from_secs(3600);

/// The fixture, its tasks and timers on `runtime`.
pub(crate) fn server(runtime: impl mcp_sse_server::Runtime) -> McpServer {
    let mut options = Options::default();
    // Nothing here depends on who asks.
    options.public_cache = true;
    let mut builder = McpServer::builder("mcp-sse-test-server", env!("CARGO_PKG_VERSION"))
        .instructions(
            "The MCP conformance suite's fixture: tools, resources and prompts that exercise \
             every feature, plus echo and add.",
        )
        .options(options);
    for tool in tools() {
        builder = builder.tool(tool);
    }
    for prompt in prompts() {
        builder = builder.prompt(prompt);
    }
    builder
        .resource(
            Resource::text(
                "test://static-text",
                "static-text",
                "text/plain",
                "This is the content of the static text resource.",
            )
            .description("A static text resource.")
            .ttl(STATIC),
        )
        .resource(
            Resource::blob("test://static-binary", "static-binary", "image/png", PNG)
                .description("A static binary resource: a 1x1 PNG.")
                .ttl(STATIC),
        )
        .resource(
            Resource::text(
                WATCHED_URI,
                "watched-resource",
                "text/plain",
                "Watched resource content",
            )
            .description("A resource clients may subscribe to."),
        )
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "template", |uri, vars, _| async move {
                let id = &vars["id"];
                let data = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
                Ok(vec![text_contents(&uri, "application/json", data.to_string())])
            })
            .description("JSON data for any id.")
            .mime_type("application/json")
            .ttl(STATIC),
        )
        .build(runtime)
}

// ---------------------------------------------------------------------------------------------
// Tools

#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// The text to return.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: f64,
    b: f64,
}

#[derive(Deserialize, JsonSchema)]
struct Sampling {
    /// The prompt to send to the LLM
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct Elicitation {
    /// The message to show the user
    message: String,
}

#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// Whom to greet.
    name: String,
}

#[derive(Deserialize, JsonSchema)]
struct SlowCompute {
    /// How long the computation takes.
    seconds: u64,
    /// A label for the result.
    #[serde(default)]
    label: String,
}

#[derive(Deserialize, JsonSchema)]
struct ConfirmDelete {
    /// The file to delete once the user confirms.
    filename: String,
}

/// The tools, in a fixed order (`echo` first: the header-validation scenario calls the first
/// tool with no arguments).
fn tools() -> Vec<Tool> {
    vec![
        Tool::new("echo", "Returns its text argument unchanged.", |Echo { text }, _| async move { Ok(text) }),
        Tool::new("add", "Adds two numbers, reporting progress when the caller asks for it.", |Add { a, b }, cx: Context| async move {
            cx.progress(1.0, Some(1.0), None).await;
            Ok((a + b).to_string())
        }),
        simple("test_simple_text", "Returns one text item.", || tool_result(vec![text("This is a simple text response for testing.")])),
        simple("test_image_content", "Returns one image item (a PNG).", || tool_result(vec![image(PNG, "image/png")])),
        simple("test_audio_content", "Returns one audio item (a WAV).", || tool_result(vec![audio(WAV, "audio/wav")])),
        simple("test_embedded_resource", "Returns one embedded text resource.", || {
            tool_result(vec![embedded_text("test://embedded-resource", "text/plain", "This is an embedded resource content.")])
        }),
        simple("test_multiple_content_types", "Returns a text, an image and an embedded resource item.", || {
            let data = json!({ "test": "data", "value": 123 }).to_string();
            tool_result(vec![
                text("Multiple content types test:"),
                image(PNG, "image/png"),
                embedded_text("test://mixed-content-resource", "application/json", data),
            ])
        }),
        Tool::new(
            "test_tool_with_logging",
            "Sends three info log notifications 50 ms apart while it runs (2026-07-28: only when \
             the request's _meta names a log level).",
            |_: NoArguments, cx| logging_tool(cx),
        ),
        Tool::new("test_logging_tool", "The same as test_tool_with_logging.", |_: NoArguments, cx| logging_tool(cx)),
        Tool::new(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart, when given a progress token.",
            |_: NoArguments, cx: Context| async move {
                for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if step > 0 {
                        cx.sleep(STEP).await;
                    }
                    cx.progress(progress, Some(100.0), None).await;
                }
                Ok("Tool with progress executed successfully")
            },
        ),
        simple("test_error_handling", "Always fails, reporting the failure in its result (isError).", || {
            tool_error("This tool intentionally returns an error for testing")
        }),
        Tool::new(
            "test_sampling",
            "Asks the client's LLM to answer the prompt (sampling) and returns the answer.",
            |Sampling { prompt }, cx: Context| async move {
                let answer = cx.sample("llm", &prompt, 100).await?;
                Ok(format!("LLM response: {}", sampled(&answer)))
            },
        ),
        Tool::new(
            "test_elicitation",
            "Asks the user for a username and an email (elicitation) and returns the answer.",
            |Elicitation { message }, cx: Context| async move {
                let form = json!({
                    "type": "object",
                    "properties": {
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" },
                    },
                    "required": ["username", "email"],
                });
                let answer = cx.elicit("form", &message, form).await?;
                Ok(format!("User response: {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all have default values (SEP-1034).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("form", "Please review and update the form fields", defaults_form()).await?;
                Ok(format!("User response: {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_elicitation_sep1330_enums",
            "Elicits a form with every kind of enum field (SEP-1330).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("form", "Please select options from the enum fields", enums_form()).await?;
                Ok(format!("User response: {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_reconnection",
            "Closes the connection of its SSE stream mid-call; the client resumes with \
             Last-Event-ID and gets the result replayed (SEP-1699; sessions of 2025-11-25 only, \
             2026-07-28 has no resumption and simply gets the result).",
            |_: NoArguments, cx: Context| async move {
                let modern = cx.protocol_version().is_some_and(|version| version.is_modern());
                // Closing the connection keeps the stream: the result below is replayed when the
                // client resumes. Older versions and JSON answers cannot resume: the result then
                // goes out on the connection still open.
                if !modern && let Err(error) = cx.request().close_stream().await {
                    tracing::debug!(%error, "test_reconnection keeps its stream open");
                }
                cx.sleep(Duration::from_millis(200)).await;
                Ok("Reconnection test completed: this result was sent after the stream was closed.")
            },
        ),
        Tool::new(
            "json_schema_2020_12_tool",
            "Has an input schema using JSON Schema 2020-12 features (SEP-1613, SEP-2106).",
            |arguments: Value, _| async move { Ok(format!("JSON Schema 2020-12 tool called with: {arguments}")) },
        )
        .input_schema(json_schema_2020_12()),
        Tool::new(
            "test_custom_headers",
            "Echoes its arguments; region, priority and verbose are mirrored in Mcp-Param-* \
             request headers (x-mcp-header, SEP-2243).",
            |arguments: Value, _| async move {
                let shown = |name: &str| match &arguments[name] {
                    Value::Null => "(absent)".to_owned(),
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                Ok(format!(
                    "region={}, priority={}, verbose={}, query={}",
                    shown("region"),
                    shown("priority"),
                    shown("verbose"),
                    shown("query")
                ))
            },
        )
        .input_schema(custom_headers_schema()),
        Tool::new(
            "test_missing_capability",
            "Asks the client's LLM a question, so it needs the client's sampling capability \
             (2026-07-28: -32021 when the request does not declare it).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.sample("llm", "Say hello.", 50).await?;
                Ok(format!("LLM response: {}", sampled(&answer)))
            },
        ),
        Tool::new(
            "test_streaming_elicitation",
            "Asks the user to confirm (elicitation); 2026-07-28 gets an input_required result on \
             the response stream instead of a request.",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("confirmation", "Shall the tool go on?", confirm_form()).await?;
                Ok(format!("Confirmation: {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed to subscriptions/listen streams.",
            |_: NoArguments, cx: Context| async move {
                cx.handle().publish(Change::ToolsListChanged);
                Ok("Announced notifications/tools/list_changed.")
            },
        ),
        Tool::new(
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed to subscriptions/listen streams.",
            |_: NoArguments, cx: Context| async move {
                cx.handle().publish(Change::PromptsListChanged);
                Ok("Announced notifications/prompts/list_changed.")
            },
        ),
        Tool::new(
            "test_trigger_resource_change",
            "Announces notifications/resources/list_changed, and notifications/resources/updated \
             for test://watched-resource, to subscriptions/listen streams and subscribed sessions.",
            |_: NoArguments, cx: Context| async move {
                cx.handle().publish(Change::ResourcesListChanged);
                cx.resource_updated(WATCHED_URI).await;
                Ok("Announced notifications/resources/list_changed and notifications/resources/updated \
                    for test://watched-resource.")
            },
        ),
        Tool::new(
            "test_input_required_result_elicitation",
            "Asks the user's name (key user_name) and greets them (SEP-2322).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("user_name", "What is your name?", one_string_form("name")).await?;
                match (answer.action, field(&answer, "name")) {
                    (ElicitResultAction::Accept, Some(name)) => Ok(format!("Hello, {name}!")),
                    (ElicitResultAction::Accept, None) => Err(Error::invalid_params("the answer to `user_name` has no `name`")),
                    (action, _) => Ok(format!("No name was given (action={}).", action_name(&action))),
                }
            },
        ),
        Tool::new(
            "test_input_required_result_sampling",
            "Asks the client's LLM for the capital of France (key capital_question).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.sample("capital_question", "What is the capital of France?", 100).await?;
                Ok(format!("The LLM answered: {}", sampled(&answer)))
            },
        ),
        Tool::new(
            "test_input_required_result_list_roots",
            "Asks for the client's roots (key client_roots) and lists them.",
            |_: NoArguments, cx: Context| async move {
                let roots = root_uris(&cx.roots("client_roots").await?);
                Ok(format!("The client has {} root(s): {}", roots.len(), roots.join(", ")))
            },
        ),
        Tool::new(
            "test_input_required_result_request_state",
            "Asks for a confirmation and checks that its requestState comes back intact.",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("confirm", "Please confirm", ok_form()).await?;
                Ok(format!("state-ok: the requestState came back intact; {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a retry with an altered requestState is refused (-32602).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("confirm", "Please confirm", ok_form()).await?;
                Ok(format!("The requestState passed its integrity check; {}", shown(&answer)))
            },
        ),
        Tool::new(
            "test_input_required_result_multiple_inputs",
            "Asks for a name (elicitation), a greeting (sampling) and the roots at once.",
            |_: NoArguments, cx: Context| async move {
                let asks = vec![
                    Ask::elicit("user_name", "What is your name?", one_string_form("name")),
                    Ask::sample("greeting", "Generate a greeting", 50),
                    Ask::roots("client_roots"),
                ];
                summaries(&cx, asks).await
            },
        ),
        Tool::new(
            "test_input_required_result_multi_round",
            "Asks for a name, then for a favourite colour, in two rounds.",
            |_: NoArguments, cx: Context| async move {
                let first = cx.elicit("step1", "Step 1: What is your name?", one_string_form("name")).await?;
                let Some(name) = field(&first, "name") else {
                    return Ok(format!("No name was given (action={}).", action_name(&first.action)));
                };
                let second = cx.elicit("step2", "Step 2: What is your favorite color?", one_string_form("color")).await?;
                let color = field(&second, "color").unwrap_or_else(|| "(not given)".to_owned());
                Ok(format!("{name}'s favorite color: {color}"))
            },
        ),
        Tool::new(
            "test_input_required_result_capabilities",
            "Asks only what the client's declared capabilities allow (sampling, elicitation, roots).",
            |_: NoArguments, cx: Context| async move {
                let possible = [
                    Ask::sample("llm", "Say hello.", 50),
                    Ask::elicit("user_name", "What is your name?", one_string_form("name")),
                    Ask::roots("client_roots"),
                ];
                let asks: Vec<Ask> = possible.into_iter().filter(|ask| cx.client_supports(ask.capability())).collect();
                if asks.is_empty() {
                    return Ok("The client declared none of sampling, elicitation and roots: nothing to ask.".to_owned());
                }
                summaries(&cx, asks).await
            },
        ),
        // The tasks extension (SEP-2663).
        Tool::new("greet", "Greets by name, at once (never a task).", |Greet { name }, _| async move {
            Ok(format!("Hello, {name}!"))
        }),
        Tool::new(
            "slow_compute",
            "Computes for `seconds` seconds; a task when the client supports them.",
            |SlowCompute { seconds, label }, cx: Context| async move {
                cx.sleep(Duration::from_secs(seconds)).await;
                Ok(format!("Computed {label} in {seconds} s"))
            },
        )
        .task_support(TaskSupport::Optional),
        Tool::new("failing_job", "Fails after about a second, as a task only.", |_: NoArguments, cx: Context| async move {
            cx.sleep(Duration::from_secs(1)).await;
            Err::<String, _>(Error::failed("failing_job failed, as it always does"))
        })
        .task_support(TaskSupport::Required),
        Tool::new(
            "protocol_error_job",
            "Ends in a protocol error (not a tool error): its task fails.",
            |_: NoArguments, cx: Context| async move {
                cx.sleep(Duration::from_millis(100)).await;
                Err::<String, _>(Error::internal("protocol_error_job hit an internal error"))
            },
        )
        .task_support(TaskSupport::Optional),
        Tool::new(
            "confirm_delete",
            "Deletes a file once the user confirms (one elicitation; as a task, it waits in input_required).",
            |ConfirmDelete { filename }, cx: Context| async move {
                let form = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } }, "required": ["confirm"] });
                let answer = cx.elicit("confirm", &format!("Delete {filename}?"), form).await?;
                let confirmed = answer.action == ElicitResultAction::Accept && flag(&answer, "confirm");
                Ok(if confirmed { format!("Deleted {filename}.") } else { format!("Kept {filename}.") })
            },
        )
        .task_support(TaskSupport::Optional),
        Tool::new("multi_input", "Asks two questions at once (as a task: two pending inputs).", |_: NoArguments, cx: Context| async move {
            let confirm = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } } });
            let asks = vec![
                Ask::elicit("name", "What is your name?", one_string_form("name")),
                Ask::elicit("confirm", "Go on?", confirm),
            ];
            summaries(&cx, asks).await
        })
        .task_support(TaskSupport::Optional),
        Tool::new(
            "test_tool_with_task",
            "Asks the user's name in an input_required round, then goes on as a task that greets them.",
            |_: NoArguments, cx: Context| async move {
                let answer = cx.elicit("user_name", "What is your name?", one_string_form("name")).await?;
                let name = field(&answer, "name").unwrap_or_else(|| "stranger".to_owned());
                cx.start_task().await?;
                cx.sleep(Duration::from_millis(100)).await;
                Ok(format!("Hello, {name}! (from a task)"))
            },
        )
        .task_support(TaskSupport::Required)
        .starts_task_itself(),
    ]
}

/// A tool without arguments that answers at once.
fn simple(name: &str, description: &str, result: fn() -> CallToolResult) -> Tool {
    Tool::new(name, description, move |_: NoArguments, _| async move {
        Ok(result())
    })
}

/// `test_tool_with_logging`: three log notifications while the call is open, then the result.
async fn logging_tool(cx: Context) -> Result<&'static str, Error> {
    let messages = [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ];
    for (step, message) in messages.into_iter().enumerate() {
        if step > 0 {
            cx.sleep(STEP).await;
        }
        cx.log(LoggingLevel::Info, message).await;
    }
    Ok("Tool with logging executed successfully")
}

/// Asks `asks` at once and summarises each answer on a line.
async fn summaries(cx: &Context, asks: Vec<Ask>) -> Result<String, Error> {
    let answers = cx.ask_all(asks.clone()).await?;
    let lines: Vec<String> = asks
        .iter()
        .zip(&answers)
        .map(|(ask, answer)| format!("{}: {}", ask.key(), answer))
        .collect();
    Ok(lines.join("\n"))
}

/// The action and content of an elicitation answer.
fn shown(answer: &ElicitResult) -> String {
    let content = answer
        .content
        .as_ref()
        .map_or_else(|| "{}".to_owned(), |content| json!(content).to_string());
    format!("action={}, content={content}", action_name(&answer.action))
}

fn action_name(action: &ElicitResultAction) -> String {
    json!(action).as_str().unwrap_or_default().to_owned()
}

/// A string field of accepted content.
fn field(answer: &ElicitResult, name: &str) -> Option<String> {
    let value = json!(answer.content.as_ref()?.get(name)?);
    value.as_str().map(str::to_owned)
}

/// A boolean field of accepted content.
fn flag(answer: &ElicitResult, name: &str) -> bool {
    answer
        .content
        .as_ref()
        .and_then(|content| json!(content.get(name)).as_bool())
        .unwrap_or(false)
}

/// The text of a sampling answer (one block, or since 2025-11-25 possibly several).
fn sampled(answer: &CreateMessageResult) -> String {
    let content = json!(answer.content);
    let blocks = match &content {
        Value::Array(blocks) => blocks.clone(),
        block => vec![block.clone()],
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

fn root_uris(roots: &ListRootsResult) -> Vec<String> {
    roots.roots.iter().map(|root| root.uri.clone()).collect()
}

/// A form with one required string field.
fn one_string_form(field: &str) -> Value {
    json!({ "type": "object", "properties": { field: { "type": "string" } }, "required": [field] })
}

fn confirm_form() -> Value {
    json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] })
}

fn ok_form() -> Value {
    confirm_form()
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

/// A form with the five enum shapes of SEP-1330.
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

/// The schema the suite checks, passed through untouched: `$schema`, `$defs`, `$ref`,
/// `additionalProperties` (SEP-1613) and the wider vocabulary of SEP-2106.
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } },
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
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    })
}

/// Parameters a 2026-07-28 client mirrors in `Mcp-Param-{name}` headers (S3.23); the
/// transport checks them against the body before the call reaches the tool (S3.24).
fn custom_headers_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "region": { "type": "string", "description": "A region name, mirrored in Mcp-Param-Region", "x-mcp-header": "Region" },
            "priority": { "type": "integer", "description": "A priority, mirrored in Mcp-Param-Priority", "x-mcp-header": "Priority" },
            "verbose": { "type": "boolean", "description": "Optional; mirrored in Mcp-Param-Verbose when given", "x-mcp-header": "Verbose" },
            "query": { "type": "string", "description": "Not mirrored in any header" },
        },
        "required": ["region", "priority", "query"],
    })
}

// ---------------------------------------------------------------------------------------------
// Prompts

#[derive(Deserialize, JsonSchema)]
struct TwoArguments {
    /// First test argument
    arg1: String,
    /// Second test argument
    arg2: String,
}

#[derive(Deserialize, JsonSchema)]
struct EmbedResource {
    /// URI of the resource to embed
    #[serde(rename = "resourceUri")]
    resource_uri: String,
}

fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "test_simple_prompt",
            "A simple prompt without arguments.",
            |_: NoArguments, _| async {
                Ok(vec![user(text("This is a simple prompt for testing."))])
            },
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            "A prompt that quotes its two arguments.",
            |TwoArguments { arg1, arg2 }, _| async move {
                Ok(vec![user(text(format!(
                    "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
                )))])
            },
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            "A prompt that embeds the resource it is given.",
            |EmbedResource { resource_uri }, _| async move {
                Ok(vec![
                    user(embedded_text(
                        &resource_uri,
                        "text/plain",
                        "Embedded resource content for testing.",
                    )),
                    user(text("Please process the embedded resource above.")),
                ])
            },
        ),
        Prompt::new(
            "test_prompt_with_image",
            "A prompt that includes an image.",
            |_: NoArguments, _| async {
                Ok(vec![
                    user(image(PNG, "image/png")),
                    user(text("Please analyze the image above.")),
                ])
            },
        ),
        Prompt::new(
            "test_input_required_result_prompt",
            "A prompt that first asks the user what context to use (elicitation, SEP-2322).",
            |_: NoArguments, cx: Context| async move {
                let answer = cx
                    .elicit(
                        "user_context",
                        "What context should the prompt use?",
                        one_string_form("context"),
                    )
                    .await?;
                let context =
                    field(&answer, "context").unwrap_or_else(|| "no particular context".to_owned());
                Ok(GetPromptResult {
                    description: Some("A prompt built around the context the user gave".to_owned()),
                    messages: vec![user(text(format!(
                        "Answer with this context in mind: {context}"
                    )))],
                    meta: None,
                })
            },
        ),
    ]
}
