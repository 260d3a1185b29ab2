//! The fixture the official MCP conformance suite (`@modelcontextprotocol/conformance`) expects
//! of a server under test (`/work/shared/CONFORMANCE.md` lists it), plus `echo` and `add`, on
//! the typed layer: what is left here is what each tool, resource and prompt does. The layer
//! answers the protocol around them (negotiation, lists, errors, 2026-07-28 finishing,
//! `input_required` rounds, tasks).

use std::collections::HashMap;
use std::time::Duration;

use mcp_sse_server::content::{audio, embedded_text, image, text, text_contents, tool_error, user};
use mcp_sse_server::schema::{
    CallToolResult, ContentBlock, CreateMessageResult, ElicitResult, ElicitResultAction,
    GetPromptResult, LoggingLevel, ReadResourceContent,
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
pub(crate) fn server(runtime: impl mcp_sse_server::Runtime, options: Options) -> McpServer {
    let mut options = options;
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
            ResourceTemplate::new("test://template/{id}/data", "template", template_data)
                .description("JSON data for any id.")
                .mime_type("application/json")
                .ttl(STATIC),
        )
        .build(runtime)
}

/// `test://template/{id}/data`: JSON naming the id.
async fn template_data(
    uri: String,
    variables: HashMap<String, String>,
    _: Context,
) -> Result<Vec<ReadResourceContent>, Error> {
    let id = &variables["id"];
    let data = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
    Ok(vec![text_contents(
        &uri,
        "application/json",
        data.to_string(),
    )])
}

// ---------------------------------------------------------------------------------------------
// Tools

/// What a tool answers.
type Answer<T = String> = Result<T, Error>;

/// The tools, in a fixed order (`echo` first: the header-validation scenario calls the first
/// tool with no arguments).
fn tools() -> Vec<Tool> {
    vec![
        Tool::new("echo", "Returns its text argument unchanged.", echo),
        Tool::new("add", "Adds two numbers; reports progress when asked.", add),
        Tool::new("test_simple_text", "Returns one text item.", simple_text),
        Tool::new(
            "test_image_content",
            "Returns one image item (a PNG).",
            image_content,
        ),
        Tool::new(
            "test_audio_content",
            "Returns one audio item (a WAV).",
            audio_content,
        ),
        Tool::new(
            "test_embedded_resource",
            "Returns one embedded text resource.",
            embedded,
        ),
        Tool::new(
            "test_multiple_content_types",
            "Returns a text, an image and an embedded resource item.",
            mixed_content,
        ),
        Tool::new(
            "test_tool_with_logging",
            "Sends three info log notifications 50 ms apart while it runs (2026-07-28: only \
             when the request's _meta names a log level).",
            logging,
        ),
        Tool::new(
            "test_logging_tool",
            "The same as test_tool_with_logging.",
            logging,
        ),
        Tool::new(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart, when given a progress token.",
            progress,
        ),
        Tool::new(
            "test_error_handling",
            "Always fails, reporting the failure in its result (isError).",
            error_handling,
        ),
        Tool::new(
            "test_sampling",
            "Asks the client's LLM to answer the prompt (sampling) and returns the answer.",
            sampling,
        ),
        Tool::new(
            "test_elicitation",
            "Asks the user for a username and an email (elicitation) and returns the answer.",
            elicitation,
        ),
        Tool::new(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all have default values (SEP-1034).",
            elicitation_defaults,
        ),
        Tool::new(
            "test_elicitation_sep1330_enums",
            "Elicits a form with every kind of enum field (SEP-1330).",
            elicitation_enums,
        ),
        Tool::new(
            "test_reconnection",
            "Closes the connection of its SSE stream mid-call; the client resumes with \
             Last-Event-ID and gets the result replayed (SEP-1699; sessions of 2025-11-25 \
             only, 2026-07-28 has no resumption and simply gets the result).",
            reconnection,
        ),
        Tool::new(
            "json_schema_2020_12_tool",
            "Has an input schema using JSON Schema 2020-12 features (SEP-1613, SEP-2106).",
            json_schema_tool,
        )
        .input_schema(json_schema_2020_12()),
        Tool::new(
            "test_custom_headers",
            "Echoes its arguments; region, priority and verbose are mirrored in Mcp-Param-* \
             request headers (x-mcp-header, SEP-2243).",
            custom_headers,
        )
        .input_schema(custom_headers_schema()),
        Tool::new(
            "test_missing_capability",
            "Asks the client's LLM a question, so it needs the client's sampling capability \
             (2026-07-28: -32021 when the request does not declare it).",
            missing_capability,
        ),
        Tool::new(
            "test_streaming_elicitation",
            "Asks the user to confirm (elicitation); 2026-07-28 gets an input_required result \
             on the response stream instead of a request.",
            streaming_elicitation,
        ),
        Tool::new(
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed to subscriptions/listen streams.",
            trigger_tool_change,
        ),
        Tool::new(
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed to subscriptions/listen streams.",
            trigger_prompt_change,
        ),
        Tool::new(
            "test_trigger_resource_change",
            "Announces notifications/resources/list_changed, and \
             notifications/resources/updated for test://watched-resource, to \
             subscriptions/listen streams and subscribed sessions.",
            trigger_resource_change,
        ),
        Tool::new(
            "test_input_required_result_elicitation",
            "Asks the user's name (key user_name) and greets them (SEP-2322).",
            ask_name,
        ),
        Tool::new(
            "test_input_required_result_sampling",
            "Asks the client's LLM for the capital of France (key capital_question).",
            ask_capital,
        ),
        Tool::new(
            "test_input_required_result_list_roots",
            "Asks for the client's roots (key client_roots) and lists them.",
            ask_roots,
        ),
        Tool::new(
            "test_input_required_result_request_state",
            "Asks for a confirmation and checks that its requestState comes back intact.",
            confirm_state,
        ),
        Tool::new(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a retry with an altered requestState is refused (-32602).",
            confirm_integrity,
        ),
        Tool::new(
            "test_input_required_result_multiple_inputs",
            "Asks for a name (elicitation), a greeting (sampling) and the roots at once.",
            ask_three,
        ),
        Tool::new(
            "test_input_required_result_multi_round",
            "Asks for a name, then for a favourite colour, in two rounds.",
            ask_in_two_rounds,
        ),
        Tool::new(
            "test_input_required_result_capabilities",
            "Asks only what the client declared it can answer (sampling, elicitation, roots).",
            ask_what_the_client_can,
        ),
        // The tasks extension (SEP-2663).
        Tool::new("greet", "Greets by name, at once (never a task).", greet),
        Tool::new(
            "slow_compute",
            "Computes for `seconds` seconds; a task when the client supports them.",
            slow_compute,
        )
        .task_support(TaskSupport::Optional),
        Tool::new(
            "failing_job",
            "Fails after about a second, as a task only.",
            failing_job,
        )
        .task_support(TaskSupport::Required),
        Tool::new(
            "protocol_error_job",
            "Ends in a protocol error (not a tool error): its task fails.",
            protocol_error_job,
        )
        .task_support(TaskSupport::Optional),
        Tool::new(
            "confirm_delete",
            "Deletes a file once the user confirms (as a task, it waits in input_required).",
            confirm_delete,
        )
        .task_support(TaskSupport::Optional),
        Tool::new(
            "multi_input",
            "Asks two questions at once (as a task: two pending inputs).",
            multi_input,
        )
        .task_support(TaskSupport::Optional),
        Tool::new(
            "test_tool_with_task",
            "Asks the user's name in an input_required round, then greets them from a task.",
            greet_from_a_task,
        )
        .task_support(TaskSupport::Required)
        .starts_task_itself(),
    ]
}

#[derive(Deserialize, JsonSchema)]
struct Echo {
    /// The text to return.
    text: String,
}

async fn echo(Echo { text }: Echo, _: Context) -> Answer {
    Ok(text)
}

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: f64,
    b: f64,
}

async fn add(Add { a, b }: Add, cx: Context) -> Answer {
    cx.progress(1.0, Some(1.0), None).await;
    Ok((a + b).to_string())
}

async fn simple_text(_: NoArguments, _: Context) -> Answer {
    Ok("This is a simple text response for testing.".to_owned())
}

async fn image_content(_: NoArguments, _: Context) -> Answer<ContentBlock> {
    Ok(image(PNG, "image/png"))
}

async fn audio_content(_: NoArguments, _: Context) -> Answer<ContentBlock> {
    Ok(audio(WAV, "audio/wav"))
}

async fn embedded(_: NoArguments, _: Context) -> Answer<ContentBlock> {
    let text = "This is an embedded resource content.";
    Ok(embedded_text(
        "test://embedded-resource",
        "text/plain",
        text,
    ))
}

async fn mixed_content(_: NoArguments, _: Context) -> Answer<Vec<ContentBlock>> {
    let data = json!({ "test": "data", "value": 123 }).to_string();
    Ok(vec![
        text("Multiple content types test:"),
        image(PNG, "image/png"),
        embedded_text("test://mixed-content-resource", "application/json", data),
    ])
}

/// Three log notifications while the call is open, then the result.
async fn logging(_: NoArguments, cx: Context) -> Answer {
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
    Ok("Tool with logging executed successfully".to_owned())
}

async fn progress(_: NoArguments, cx: Context) -> Answer {
    for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if step > 0 {
            cx.sleep(STEP).await;
        }
        cx.progress(progress, Some(100.0), None).await;
    }
    Ok("Tool with progress executed successfully".to_owned())
}

async fn error_handling(_: NoArguments, _: Context) -> Answer<CallToolResult> {
    Ok(tool_error(
        "This tool intentionally returns an error for testing",
    ))
}

#[derive(Deserialize, JsonSchema)]
struct Sampling {
    /// The prompt to send to the LLM
    prompt: String,
}

async fn sampling(Sampling { prompt }: Sampling, cx: Context) -> Answer {
    let answer = cx.sample("llm", &prompt, 100).await?;
    Ok(format!("LLM response: {}", sampled(&answer)))
}

#[derive(Deserialize, JsonSchema)]
struct Elicitation {
    /// The message to show the user
    message: String,
}

async fn elicitation(Elicitation { message }: Elicitation, cx: Context) -> Answer {
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
}

async fn elicitation_defaults(_: NoArguments, cx: Context) -> Answer {
    let message = "Please review and update the form fields";
    let answer = cx.elicit("form", message, defaults_form()).await?;
    Ok(format!("User response: {}", shown(&answer)))
}

async fn elicitation_enums(_: NoArguments, cx: Context) -> Answer {
    let message = "Please select options from the enum fields";
    let answer = cx.elicit("form", message, enums_form()).await?;
    Ok(format!("User response: {}", shown(&answer)))
}

/// Server-initiated disconnect (2025-11-25, SEP-1699, S2.31): closing the connection keeps the
/// stream, so the result is replayed when the client resumes. Older versions and JSON answers
/// cannot resume, and 2026-07-28 would take a closed stream as a cancellation: there the result
/// goes out on the connection still open.
async fn reconnection(_: NoArguments, cx: Context) -> Answer {
    let modern = cx
        .protocol_version()
        .is_some_and(|version| version.is_modern());
    if !modern && let Err(error) = cx.request().close_stream().await {
        tracing::debug!(%error, "test_reconnection keeps its stream open");
    }
    cx.sleep(Duration::from_millis(200)).await;
    Ok("Reconnection test completed: the result was sent after the stream was closed.".to_owned())
}

async fn json_schema_tool(arguments: Value, _: Context) -> Answer {
    Ok(format!("JSON Schema 2020-12 tool called with: {arguments}"))
}

/// The arguments as the body had them; the transport has checked the `Mcp-Param-*` headers.
async fn custom_headers(arguments: Value, _: Context) -> Answer {
    let shown = |name: &str| match &arguments[name] {
        Value::Null => "(absent)".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let names = ["region", "priority", "verbose", "query"];
    let pairs: Vec<String> = names
        .iter()
        .map(|name| format!("{name}={}", shown(name)))
        .collect();
    Ok(pairs.join(", "))
}

async fn missing_capability(_: NoArguments, cx: Context) -> Answer {
    let answer = cx.sample("llm", "Say hello.", 50).await?;
    Ok(format!("LLM response: {}", sampled(&answer)))
}

async fn streaming_elicitation(_: NoArguments, cx: Context) -> Answer {
    let answer = cx
        .elicit("confirmation", "Shall the tool go on?", confirm_form())
        .await?;
    Ok(format!("Confirmation: {}", shown(&answer)))
}

async fn trigger_tool_change(_: NoArguments, cx: Context) -> Answer {
    cx.handle().publish(Change::ToolsListChanged);
    Ok("Announced notifications/tools/list_changed.".to_owned())
}

async fn trigger_prompt_change(_: NoArguments, cx: Context) -> Answer {
    cx.handle().publish(Change::PromptsListChanged);
    Ok("Announced notifications/prompts/list_changed.".to_owned())
}

async fn trigger_resource_change(_: NoArguments, cx: Context) -> Answer {
    cx.handle().publish(Change::ResourcesListChanged);
    cx.resource_updated(WATCHED_URI).await;
    Ok(format!(
        "Announced notifications/resources/list_changed and notifications/resources/updated \
         for {WATCHED_URI}."
    ))
}

async fn ask_name(_: NoArguments, cx: Context) -> Answer {
    let answer = cx
        .elicit("user_name", "What is your name?", string_form("name"))
        .await?;
    match (&answer.action, field(&answer, "name")) {
        (ElicitResultAction::Accept, Some(name)) => Ok(format!("Hello, {name}!")),
        (ElicitResultAction::Accept, None) => Err(Error::invalid_params(
            "the answer to `user_name` has no `name`",
        )),
        (action, _) => Ok(format!(
            "No name was given (action={}).",
            action_name(action)
        )),
    }
}

async fn ask_capital(_: NoArguments, cx: Context) -> Answer {
    let question = "What is the capital of France?";
    let answer = cx.sample("capital_question", question, 100).await?;
    Ok(format!("The LLM answered: {}", sampled(&answer)))
}

async fn ask_roots(_: NoArguments, cx: Context) -> Answer {
    let roots = cx.roots("client_roots").await?.roots;
    let uris: Vec<&str> = roots.iter().map(|root| root.uri.as_str()).collect();
    Ok(format!(
        "The client has {} root(s): {}",
        uris.len(),
        uris.join(", ")
    ))
}

async fn confirm_state(_: NoArguments, cx: Context) -> Answer {
    let answer = cx.elicit("confirm", "Please confirm", ok_form()).await?;
    Ok(format!(
        "state-ok: the requestState came back intact; {}",
        shown(&answer)
    ))
}

async fn confirm_integrity(_: NoArguments, cx: Context) -> Answer {
    let answer = cx.elicit("confirm", "Please confirm", ok_form()).await?;
    Ok(format!(
        "The requestState passed its integrity check; {}",
        shown(&answer)
    ))
}

async fn ask_three(_: NoArguments, cx: Context) -> Answer {
    let asks = vec![
        Ask::elicit("user_name", "What is your name?", string_form("name")),
        Ask::sample("greeting", "Generate a greeting", 50),
        Ask::roots("client_roots"),
    ];
    summaries(&cx, asks).await
}

async fn ask_in_two_rounds(_: NoArguments, cx: Context) -> Answer {
    let first = cx
        .elicit("step1", "Step 1: What is your name?", string_form("name"))
        .await?;
    let Some(name) = field(&first, "name") else {
        return Ok(format!(
            "No name was given (action={}).",
            action_name(&first.action)
        ));
    };
    let question = "Step 2: What is your favorite color?";
    let second = cx.elicit("step2", question, string_form("color")).await?;
    let color = field(&second, "color").unwrap_or_else(|| "(not given)".to_owned());
    Ok(format!("{name}'s favorite color: {color}"))
}

async fn ask_what_the_client_can(_: NoArguments, cx: Context) -> Answer {
    let possible = [
        Ask::sample("llm", "Say hello.", 50),
        Ask::elicit("user_name", "What is your name?", string_form("name")),
        Ask::roots("client_roots"),
    ];
    let asks: Vec<Ask> = possible
        .into_iter()
        .filter(|ask| cx.client_supports(ask.capability()))
        .collect();
    if asks.is_empty() {
        return Ok("The client declared none of sampling, elicitation and roots.".to_owned());
    }
    summaries(&cx, asks).await
}

#[derive(Deserialize, JsonSchema)]
struct Greet {
    /// Whom to greet.
    name: String,
}

async fn greet(Greet { name }: Greet, _: Context) -> Answer {
    Ok(format!("Hello, {name}!"))
}

#[derive(Deserialize, JsonSchema)]
struct SlowCompute {
    /// How long the computation takes.
    seconds: u64,
    /// A label for the result.
    #[serde(default)]
    label: String,
}

async fn slow_compute(SlowCompute { seconds, label }: SlowCompute, cx: Context) -> Answer {
    cx.sleep(Duration::from_secs(seconds)).await;
    Ok(format!("Computed {label} in {seconds} s"))
}

async fn failing_job(_: NoArguments, cx: Context) -> Answer {
    cx.sleep(Duration::from_secs(1)).await;
    Err(Error::failed("failing_job failed, as it always does"))
}

async fn protocol_error_job(_: NoArguments, cx: Context) -> Answer {
    cx.sleep(Duration::from_millis(100)).await;
    Err(Error::internal("protocol_error_job hit an internal error"))
}

#[derive(Deserialize, JsonSchema)]
struct ConfirmDelete {
    /// The file to delete once the user confirms.
    filename: String,
}

async fn confirm_delete(ConfirmDelete { filename }: ConfirmDelete, cx: Context) -> Answer {
    let form = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } } });
    let answer = cx
        .elicit("confirm", &format!("Delete {filename}?"), form)
        .await?;
    let confirmed = answer.action == ElicitResultAction::Accept && flag(&answer, "confirm");
    Ok(format!(
        "{} {filename}.",
        if confirmed { "Deleted" } else { "Kept" }
    ))
}

async fn multi_input(_: NoArguments, cx: Context) -> Answer {
    let confirm = json!({ "type": "object", "properties": { "confirm": { "type": "boolean" } } });
    let asks = vec![
        Ask::elicit("name", "What is your name?", string_form("name")),
        Ask::elicit("confirm", "Go on?", confirm),
    ];
    summaries(&cx, asks).await
}

/// An `input_required` round first, then a task (SEP-2663's MRTR-to-task composition).
async fn greet_from_a_task(_: NoArguments, cx: Context) -> Answer {
    let answer = cx
        .elicit("user_name", "What is your name?", string_form("name"))
        .await?;
    let name = field(&answer, "name").unwrap_or_else(|| "stranger".to_owned());
    cx.start_task().await?;
    cx.sleep(Duration::from_millis(100)).await;
    Ok(format!("Hello, {name}! (from a task)"))
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

/// A form with one required string field.
fn string_form(field: &str) -> Value {
    json!({
        "type": "object",
        "properties": { field: { "type": "string" } },
        "required": [field],
    })
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
                        string_form("context"),
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
