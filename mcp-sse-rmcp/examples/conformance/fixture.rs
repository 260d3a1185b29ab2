//! The fixture the official MCP conformance suite expects of a server under test
//! (`/work/shared/CONFORMANCE.md` in the project's notes), written as an rmcp `ServerHandler`
//! the way an rmcp user would write it: rmcp's model types at every method's boundary, its
//! `Peer` to talk to the client, its `InputRequiredResult` and `RequestStateCodec` for the
//! 2026-07-28 multi-round tools, its `SubscriptionSink`s for `subscriptions/listen`. The same
//! handler is served through the bridge and through rmcp's own `StreamableHttpService`.
//!
//! The data (tools, resources, prompts) is JSON turned into rmcp's types. Tools that need the
//! client are written once as [`Flow`]s: in a session the rounds run in one call, their
//! questions sent to the client as requests; on 2026-07-28 each round is one request, answered
//! `input_required` until the client has given every answer (SEP-2322).

// Logging, roots and sampling are deprecated by SEP-2577, but in every 2025 revision.
#![allow(deprecated)]

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, LoggingMessageNotificationParam,
    PaginatedRequestParams, ProgressNotificationParam, ReadResourceRequestParams,
    ReadResourceResponse, ServerConfig, ServerRequest, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::model::{RequestStateCodec, SealOptions};
use rmcp::service::{RequestContext, SubscriptionContext, SubscriptionSink};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

const SERVER_NAME: &str = "mcp-sse-rmcp-fixture";
const INSTRUCTIONS: &str = "The MCP conformance fixture, as an rmcp ServerHandler.";
/// A 1x1 red PNG and a WAV of eight samples of silence.
const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";
const WAV: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";
const WATCHED: &str = "test://watched-resource";
/// The pause between the notifications of the logging and progress tools.
const STEP: Duration = Duration::from_millis(50);
/// How long a sealed `requestState` stays valid.
const STATE_TTL: Duration = Duration::from_secs(3600);
/// Most rounds of questions one call may take in a session.
const MAX_ROUNDS: usize = 8;

/// One handler per session (and per sessionless request): its log level is the session's;
/// the rest is shared by all.
#[derive(Clone)]
pub(crate) struct Fixture {
    level: Arc<Mutex<Option<LoggingLevel>>>,
    shared: Arc<Shared>,
}

/// What every handler shares: the key that seals `requestState`, and the open listen streams.
pub(crate) struct Shared {
    codec: RequestStateCodec,
    listeners: Mutex<Vec<SubscriptionSink>>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS has randomness");
        let codec = RequestStateCodec::try_new(key.to_vec()).expect("a 32-byte key");
        Arc::new(Self {
            codec,
            listeners: Mutex::default(),
        })
    }
}

impl Fixture {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            level: Arc::default(),
            shared,
        }
    }
}

/// Which generation a request belongs to.
fn modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|version| version.as_str() >= "2026-07-28")
}

/// JSON as one of rmcp's types.
fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ErrorData> {
    serde_json::from_value(value)
        .map_err(|error| ErrorData::internal_error(error.to_string(), None))
}

/// A result as one of rmcp's types, `resultType: "complete"` unless it says otherwise (rmcp
/// strips it for peers before 2026-07-28; its constructors set it, JSON does not).
fn result<T: DeserializeOwned>(mut value: Value) -> Result<T, ErrorData> {
    if let Value::Object(fields) = &mut value {
        fields
            .entry("resultType")
            .or_insert_with(|| json!("complete"));
    }
    typed(value)
}

fn invalid(message: impl Into<Cow<'static, str>>) -> ErrorData {
    ErrorData::invalid_params(message, None)
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        typed(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {
                "tools": { "listChanged": true },
                "resources": { "subscribe": true, "listChanged": true },
                "prompts": { "listChanged": true },
                "logging": {},
                "completions": {},
            },
            "serverInfo": { "name": SERVER_NAME, "version": env!("CARGO_PKG_VERSION") },
            "instructions": INSTRUCTIONS,
        }))
        .expect("a valid ServerConfig")
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        *self.level.lock().unwrap() = Some(request.level);
        Ok(())
    }

    async fn complete(
        &self,
        _: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        result(json!({ "completion": { "values": [], "total": 0, "hasMore": false } }))
    }

    async fn list_tools(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        result(cacheable(&context, json!({ "tools": tools() }), 60_000))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools()
            .into_iter()
            .find(|tool| tool["name"] == name)
            .and_then(|tool| typed(tool).ok())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        if let Some(flow) = tool_flow(&request.name, &arguments) {
            let round = Round::of(&request.input_responses, &request.request_state);
            return Ok(
                match self
                    .run_flow(&context, &request.name, round, &*flow)
                    .await?
                {
                    Outcome::Done(done) => CallToolResponse::Complete(result(done)?),
                    Outcome::InputRequired(asks) => CallToolResponse::InputRequired(typed(asks)?),
                },
            );
        }
        let done = match request.name.as_ref() {
            "echo" => match arguments["text"].as_str() {
                Some(text) => text_result(text),
                None => tool_error("echo needs a string argument `text`"),
            },
            "test_simple_text" => text_result("This is a simple text response for testing."),
            "test_image_content" => content(vec![image()]),
            "test_audio_content" => content(vec![
                json!({ "type": "audio", "data": WAV, "mimeType": "audio/wav" }),
            ]),
            "test_embedded_resource" => content(vec![embedded(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            )]),
            "test_multiple_content_types" => content(vec![
                text("Multiple content types test:"),
                image(),
                embedded(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                ),
            ]),
            "test_tool_with_logging" | "test_logging_tool" => self.logging_tool(&context).await,
            "test_tool_with_progress" => progress_tool(&context).await,
            "test_error_handling" => {
                tool_error("This tool intentionally returns an error for testing")
            }
            "test_reconnection" => reconnection_tool(&context).await,
            "json_schema_2020_12_tool" => text_result(&format!(
                "JSON Schema 2020-12 tool called with: {arguments}"
            )),
            "test_custom_headers" => {
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
            "test_trigger_tool_change" => {
                self.announce(&context, Change::Tools).await;
                text_result("Announced notifications/tools/list_changed.")
            }
            "test_trigger_prompt_change" => {
                self.announce(&context, Change::Prompts).await;
                text_result("Announced notifications/prompts/list_changed.")
            }
            "test_trigger_resource_change" => {
                self.announce(&context, Change::Resources).await;
                text_result(
                    "Announced the resource list change and an update of test://watched-resource.",
                )
            }
            unknown => return Err(invalid(format!("Unknown tool: {unknown}"))),
        };
        Ok(CallToolResponse::Complete(result(done)?))
    }

    async fn list_resources(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resource = |uri: &str, name: &str, description: &str, mime: &str| json!({ "uri": uri, "name": name, "description": description, "mimeType": mime });
        let resources = json!([
            resource(
                "test://static-text",
                "static-text",
                "A static text resource.",
                "text/plain"
            ),
            resource(
                "test://static-binary",
                "static-binary",
                "A 1x1 PNG.",
                "image/png"
            ),
            resource(
                WATCHED,
                "watched-resource",
                "A resource clients may subscribe to.",
                "text/plain"
            ),
        ]);
        result(cacheable(
            &context,
            json!({ "resources": resources }),
            60_000,
        ))
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let template = json!({
            "uriTemplate": "test://template/{id}/data",
            "name": "template",
            "description": "JSON data for any id.",
            "mimeType": "application/json",
        });
        result(cacheable(
            &context,
            json!({ "resourceTemplates": [template] }),
            60_000,
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let contents = match uri {
            "test://static-text" => json!({
                "uri": uri, "mimeType": "text/plain",
                "text": "This is the content of the static text resource.",
            }),
            "test://static-binary" => json!({ "uri": uri, "mimeType": "image/png", "blob": PNG }),
            WATCHED => {
                json!({ "uri": uri, "mimeType": "text/plain", "text": "Watched resource content" })
            }
            _ => {
                let id = uri
                    .strip_prefix("test://template/")
                    .and_then(|rest| rest.strip_suffix("/data"))
                    .filter(|id| !id.is_empty() && !id.contains('/'));
                let Some(id) = id else {
                    // rmcp turns this into -32602 for 2026-07-28 peers (SEP-2164).
                    return Err(ErrorData::resource_not_found(
                        "Resource not found",
                        Some(json!({ "uri": uri })),
                    ));
                };
                let data =
                    json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
                json!({ "uri": uri, "mimeType": "application/json", "text": data.to_string() })
            }
        };
        let ttl = if uri == WATCHED { 0 } else { 3_600_000 };
        let read = cacheable(&context, json!({ "contents": [contents] }), ttl);
        Ok(ReadResourceResponse::Complete(result(read)?))
    }

    async fn subscribe(
        &self,
        _: SubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn unsubscribe(
        &self,
        _: UnsubscribeRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn list_prompts(
        &self,
        _: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompt = |name: &str, description: &str, arguments: &[(&str, &str)]| {
            let arguments: Vec<Value> = arguments
                .iter()
                .map(|(name, description)| json!({ "name": name, "description": description, "required": true }))
                .collect();
            json!({ "name": name, "description": description, "arguments": arguments })
        };
        let prompts = json!([
            prompt(
                "test_simple_prompt",
                "A simple prompt without arguments.",
                &[]
            ),
            prompt(
                "test_prompt_with_arguments",
                "A prompt that quotes its two arguments.",
                &[
                    ("arg1", "First test argument"),
                    ("arg2", "Second test argument")
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
                &[]
            ),
            prompt(
                "test_input_required_result_prompt",
                "A prompt that first asks the user what context to use (SEP-2322).",
                &[],
            ),
        ]);
        result(cacheable(&context, json!({ "prompts": prompts }), 60_000))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name == "test_input_required_result_prompt" {
            let round = Round::of(&request.input_responses, &request.request_state);
            return Ok(
                match self
                    .run_flow(&context, &request.name, round, &context_prompt_flow)
                    .await?
                {
                    Outcome::Done(done) => GetPromptResponse::Complete(result(done)?),
                    Outcome::InputRequired(asks) => GetPromptResponse::InputRequired(typed(asks)?),
                },
            );
        }
        let arguments = request.arguments.unwrap_or_default();
        let argument = |name: &str| {
            arguments
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("Missing required argument: {name}")))
        };
        let user = |content: Value| json!({ "role": "user", "content": content });
        let messages = match request.name.as_str() {
            "test_simple_prompt" => vec![user(text("This is a simple prompt for testing."))],
            "test_prompt_with_arguments" => {
                let (arg1, arg2) = (argument("arg1")?, argument("arg2")?);
                vec![user(text(&format!(
                    "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
                )))]
            }
            "test_prompt_with_embedded_resource" => vec![
                user(embedded(
                    &argument("resourceUri")?,
                    "text/plain",
                    "Embedded resource content for testing.",
                )),
                user(text("Please process the embedded resource above.")),
            ],
            "test_prompt_with_image" => {
                vec![user(image()), user(text("Please analyze the image above."))]
            }
            unknown => return Err(invalid(format!("Unknown prompt: {unknown}"))),
        };
        Ok(GetPromptResponse::Complete(result(
            json!({ "messages": messages }),
        )?))
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    /// rmcp's own service runs this for each `subscriptions/listen` stream (the bridge's core
    /// holds them itself): the sink is kept for the trigger tools until the stream ends.
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        self.shared
            .listeners
            .lock()
            .unwrap()
            .push(context.sink().clone());
        context.cancelled().await;
        Ok(())
    }
}

/// The list changes the trigger tools announce.
#[derive(Clone, Copy)]
enum Change {
    Tools,
    Prompts,
    Resources,
}

impl Fixture {
    /// Announces a change to every listen stream: through the peer (the bridge publishes it to
    /// the listen streams its core holds; a session's client hears it on its own stream) and
    /// through the sinks rmcp's own service handed to [`ServerHandler::listen`].
    async fn announce(&self, context: &RequestContext<RoleServer>, change: Change) {
        let peer = &context.peer;
        let _ = match change {
            Change::Tools => peer.notify_tool_list_changed().await,
            Change::Prompts => peer.notify_prompt_list_changed().await,
            Change::Resources => {
                let _ = peer.notify_resource_list_changed().await;
                let updated = typed(json!({ "uri": WATCHED })).expect("a valid param");
                peer.notify_resource_updated(updated).await
            }
        };
        let sinks = self.shared.listeners.lock().unwrap().clone();
        for sink in sinks {
            let _ = match change {
                Change::Tools => sink.notify_tool_list_changed().await,
                Change::Prompts => sink.notify_prompt_list_changed().await,
                Change::Resources => {
                    let _ = sink.notify_resource_list_changed().await;
                    sink.notify_resource_updated(WATCHED).await
                }
            };
        }
    }

    /// Three log messages, 50 ms apart: in a session at or above the level it set; on
    /// 2026-07-28 only when the request's `_meta` names a level.
    async fn logging_tool(&self, context: &RequestContext<RoleServer>) -> Value {
        let wanted = if modern(context) {
            let meta = serde_json::to_value(&context.meta).unwrap_or_default();
            meta["io.modelcontextprotocol/logLevel"]
                .as_str()
                .and_then(|level| typed(json!(level)).ok())
        } else {
            Some(self.level.lock().unwrap().unwrap_or(LoggingLevel::Debug))
        };
        let messages = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (step, message) in messages.into_iter().enumerate() {
            if step > 0 {
                tokio::time::sleep(STEP).await;
            }
            if wanted.is_some_and(|level| rank(&LoggingLevel::Info) >= rank(&level)) {
                let mut log =
                    LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message));
                log.logger = Some(SERVER_NAME.into());
                let _ = context.peer.notify_logging_message(log).await;
            }
        }
        text_result("Tool with logging executed successfully")
    }
}

/// The rank of a log level, least severe first.
fn rank(level: &LoggingLevel) -> usize {
    const LEVELS: [&str; 8] = [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ];
    let name = serde_json::to_value(level).unwrap_or_default();
    LEVELS.iter().position(|known| name == *known).unwrap_or(0)
}

/// Progress 0, 50 and 100 of 100 under the request's token, 50 ms apart.
async fn progress_tool(context: &RequestContext<RoleServer>) -> Value {
    let token = context.meta.get_progress_token();
    for (step, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if step > 0 {
            tokio::time::sleep(STEP).await;
        }
        if let Some(token) = &token {
            let param = ProgressNotificationParam::new(token.clone(), progress).with_total(100.0);
            let _ = context.peer.notify_progress(param).await;
        }
    }
    text_result("Tool with progress executed successfully")
}

/// Closes the connection of its SSE stream mid-call (2025-11-25 polling, SEP-1699): the client
/// resumes with `Last-Event-ID` and gets the result replayed. Through the bridge the mcp-sse
/// request context in the extensions can do it; rmcp's own service offers a tool no way to.
async fn reconnection_tool(context: &RequestContext<RoleServer>) -> Value {
    if let Some(cx) = context.extensions.get::<mcp_sse_rmcp::RequestContext>()
        && let Err(error) = cx.close_stream().await
    {
        tracing::debug!(%error, "test_reconnection keeps its stream open");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    text_result("Reconnection test completed: this result was sent after the stream was closed.")
}

// ---------------------------------------------------------------------------------------------
// Asking the client: flows

/// A question for the client under a key of the server's choosing.
struct Ask {
    key: &'static str,
    method: &'static str,
    params: Value,
}

/// Where a flow stands after a round.
enum Flow {
    /// It needs these answers first; `state` comes back with them.
    Ask {
        asks: Vec<Ask>,
        state: Option<Value>,
    },
    Done(Value),
}

/// What a flow sees in a round: the answers to the previous round, its state, and (2026-07-28)
/// the capabilities the request declared.
struct Round {
    answers: Map<String, Value>,
    state: Option<Value>,
    capabilities: Option<Value>,
    sealed: Option<String>,
}

impl Round {
    fn of(answers: &Option<rmcp::model::InputResponses>, sealed: &Option<String>) -> Self {
        let answers = answers
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self {
            answers,
            state: None,
            capabilities: None,
            sealed: sealed.clone(),
        }
    }

    fn answer(&self, key: &str) -> Option<&Value> {
        self.answers.get(key)
    }

    fn can(&self, method: &str) -> bool {
        self.capabilities
            .as_ref()
            .is_none_or(|capabilities| !capabilities[capability_of(method)].is_null())
    }
}

type Step<'a> = dyn Fn(&Round) -> Result<Flow, ErrorData> + Send + Sync + 'a;

enum Outcome {
    Done(Value),
    InputRequired(Value),
}

fn capability_of(method: &str) -> &'static str {
    match method {
        "sampling/createMessage" => "sampling",
        "elicitation/create" => "elicitation",
        _ => "roots",
    }
}

impl Fixture {
    async fn run_flow(
        &self,
        context: &RequestContext<RoleServer>,
        name: &str,
        mut round: Round,
        step: &Step<'_>,
    ) -> Result<Outcome, ErrorData> {
        if modern(context) {
            if let Some(sealed) = &round.sealed {
                let opened = self
                    .shared
                    .codec
                    .open_json_with::<Value>(sealed, name.as_bytes());
                round.state = Some(opened.map_err(|_| invalid("Invalid requestState"))?);
            }
            round.capabilities =
                Some(serde_json::to_value(context.client_capabilities()).unwrap_or_default());
            return self.modern_round(name, &round, step);
        }
        for _ in 0..MAX_ROUNDS {
            let (asks, state) = match step(&round)? {
                Flow::Done(result) => return Ok(Outcome::Done(result)),
                Flow::Ask { asks, state } => (asks, state),
            };
            let mut answers = Map::new();
            for ask in asks {
                let request: ServerRequest =
                    typed(json!({ "method": ask.method, "params": ask.params }))?;
                match context.peer.send_request(request).await {
                    Ok(answer) => {
                        answers.insert(
                            ask.key.to_owned(),
                            serde_json::to_value(answer).unwrap_or_default(),
                        );
                    }
                    Err(error) => {
                        return Ok(Outcome::Done(tool_error(&format!(
                            "{} failed: {error}",
                            ask.method
                        ))));
                    }
                }
            }
            round = Round {
                answers,
                state,
                capabilities: None,
                sealed: None,
            };
        }
        Ok(Outcome::Done(tool_error(
            "the client was asked too many rounds of questions",
        )))
    }

    /// One 2026-07-28 round: the result, or `input_required` naming what is still needed.
    fn modern_round(
        &self,
        name: &str,
        round: &Round,
        step: &Step<'_>,
    ) -> Result<Outcome, ErrorData> {
        let (asks, state) = match step(round)? {
            Flow::Done(result) => return Ok(Outcome::Done(result)),
            Flow::Ask { asks, state } => (asks, state),
        };
        let missing: Map<String, Value> = asks
            .iter()
            .filter(|ask| !round.can(ask.method))
            .map(|ask| (capability_of(ask.method).to_owned(), json!({})))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.keys().map(String::as_str).collect();
            return Err(ErrorData::new(
                rmcp::model::ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!("Missing required client capability: {}", names.join(", ")),
                Some(json!({ "requiredCapabilities": missing })),
            ));
        }
        let requests: Map<String, Value> = asks
            .into_iter()
            .map(|ask| {
                (
                    ask.key.to_owned(),
                    json!({ "method": ask.method, "params": ask.params }),
                )
            })
            .collect();
        let mut result = json!({ "resultType": "input_required", "inputRequests": requests });
        if let Some(state) = state {
            let options = SealOptions::new()
                .associated_data(name.as_bytes())
                .ttl(STATE_TTL);
            let sealed = self.shared.codec.seal_json_with(&state, &options);
            result["requestState"] =
                json!(sealed.map_err(|error| ErrorData::internal_error(error.to_string(), None))?);
        }
        Ok(Outcome::InputRequired(result))
    }
}

fn sampling(key: &'static str, prompt: &str, max_tokens: u32) -> Ask {
    let message = json!({ "role": "user", "content": { "type": "text", "text": prompt } });
    Ask {
        key,
        method: "sampling/createMessage",
        params: json!({ "messages": [message], "maxTokens": max_tokens }),
    }
}

fn elicitation(key: &'static str, message: &str, schema: Value) -> Ask {
    Ask {
        key,
        method: "elicitation/create",
        params: json!({ "message": message, "requestedSchema": schema }),
    }
}

fn roots(key: &'static str) -> Ask {
    Ask {
        key,
        method: "roots/list",
        params: json!({}),
    }
}

fn one_string_form(field: &str) -> Value {
    json!({ "type": "object", "properties": { field: { "type": "string" } }, "required": [field] })
}

fn confirm_form() -> Value {
    json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] })
}

fn bad_answer(key: &str, expected: &str) -> ErrorData {
    invalid(format!("inputResponses[\"{key}\"] is not {expected}"))
}

/// An `ElicitResult`'s action and its content as JSON text.
fn elicited(answer: &Value, key: &str) -> Result<(String, String), ErrorData> {
    let action = answer["action"]
        .as_str()
        .filter(|action| ["accept", "decline", "cancel"].contains(action))
        .ok_or_else(|| bad_answer(key, "an ElicitResult"))?;
    let content = match answer.get("content") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(content @ Value::Object(_)) => content.to_string(),
        Some(_) => return Err(bad_answer(key, "an ElicitResult")),
    };
    Ok((action.to_owned(), content))
}

/// The text of a `CreateMessageResult` (one content block, or an array of them).
fn sampled(answer: &Value, key: &str) -> Result<String, ErrorData> {
    let blocks = match answer.get("content") {
        Some(Value::Array(blocks)) => blocks.clone(),
        Some(block @ Value::Object(_)) => vec![block.clone()],
        _ => return Err(bad_answer(key, "a CreateMessageResult")),
    };
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block["text"].as_str())
        .collect();
    Ok(if texts.is_empty() {
        Value::Array(blocks.clone()).to_string()
    } else {
        texts.join("\n")
    })
}

fn root_uris(answer: &Value, key: &str) -> Result<Vec<String>, ErrorData> {
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

fn summary(method: &str, answer: &Value, key: &str) -> Result<String, ErrorData> {
    Ok(match method {
        "sampling/createMessage" => format!("{key}: the LLM said {:?}", sampled(answer, key)?),
        "elicitation/create" => {
            let (action, content) = elicited(answer, key)?;
            format!("{key}: action={action}, content={content}")
        }
        _ => format!("{key}: roots {}", root_uris(answer, key)?.join(", ")),
    })
}

fn tool_flow<'a>(name: &str, arguments: &'a Value) -> Option<Box<Step<'a>>> {
    Some(match name {
        "test_sampling" => Box::new(move |round| {
            let Some(prompt) = arguments["prompt"].as_str() else {
                return Ok(Flow::Done(tool_error(
                    "test_sampling needs a string argument `prompt`",
                )));
            };
            ask_then(round, sampling("llm", prompt, 100), |answer| {
                Ok(text_result(&format!(
                    "LLM response: {}",
                    sampled(answer, "llm")?
                )))
            })
        }),
        "test_elicitation" => Box::new(move |round| {
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
            form_flow(round, "form", message, form, "User response")
        }),
        "test_elicitation_sep1034_defaults" => Box::new(|round| {
            form_flow(
                round,
                "form",
                "Please review and update the form fields",
                defaults_form(),
                "User response",
            )
        }),
        "test_elicitation_sep1330_enums" => Box::new(|round| {
            form_flow(
                round,
                "form",
                "Please select options from the enum fields",
                enums_form(),
                "User response",
            )
        }),
        "test_missing_capability" => Box::new(|round| {
            ask_then(round, sampling("llm", "Say hello.", 50), |answer| {
                Ok(text_result(&format!(
                    "LLM response: {}",
                    sampled(answer, "llm")?
                )))
            })
        }),
        "test_streaming_elicitation" => Box::new(|round| {
            form_flow(
                round,
                "confirmation",
                "Shall the tool go on?",
                confirm_form(),
                "Confirmation",
            )
        }),
        "test_input_required_result_elicitation" => Box::new(|round| {
            ask_then(
                round,
                elicitation("user_name", "What is your name?", one_string_form("name")),
                |answer| {
                    let (action, _) = elicited(answer, "user_name")?;
                    Ok(
                        match (action.as_str(), answer["content"]["name"].as_str()) {
                            ("accept", Some(name)) => text_result(&format!("Hello, {name}!")),
                            ("accept", None) => {
                                return Err(bad_answer("user_name", "an answer with a `name`"));
                            }
                            (action, _) => {
                                text_result(&format!("No name was given (action={action})."))
                            }
                        },
                    )
                },
            )
        }),
        "test_input_required_result_sampling" => Box::new(|round| {
            let ask = sampling("capital_question", "What is the capital of France?", 100);
            ask_then(round, ask, |answer| {
                Ok(text_result(&format!(
                    "The LLM answered: {}",
                    sampled(answer, "capital_question")?
                )))
            })
        }),
        "test_input_required_result_list_roots" => Box::new(|round| {
            ask_then(round, roots("client_roots"), |answer| {
                let uris = root_uris(answer, "client_roots")?;
                Ok(text_result(&format!(
                    "The client has {} root(s): {}",
                    uris.len(),
                    uris.join(", ")
                )))
            })
        }),
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
    })
}

/// Asks one question, then answers with what `done` makes of the answer.
fn ask_then(
    round: &Round,
    ask: Ask,
    done: impl Fn(&Value) -> Result<Value, ErrorData>,
) -> Result<Flow, ErrorData> {
    match round.answer(ask.key) {
        None => Ok(Flow::Ask {
            asks: vec![ask],
            state: None,
        }),
        Some(answer) => done(answer).map(Flow::Done),
    }
}

fn form_flow(
    round: &Round,
    key: &'static str,
    message: &str,
    form: Value,
    label: &str,
) -> Result<Flow, ErrorData> {
    ask_then(round, elicitation(key, message, form), |answer| {
        let (action, content) = elicited(answer, key)?;
        Ok(text_result(&format!(
            "{label}: action={action}, content={content}"
        )))
    })
}

fn confirm_flow(round: &Round, done: &str) -> Result<Flow, ErrorData> {
    let asked = json!({ "asked": "confirm" });
    match (&round.state, round.answer("confirm")) {
        (Some(state), Some(answer)) if *state == asked => {
            let (action, content) = elicited(answer, "confirm")?;
            Ok(Flow::Done(text_result(&format!(
                "{done}; action={action}, content={content}"
            ))))
        }
        (None, Some(_)) => Err(invalid(
            "the answer to `confirm` must come with the requestState it was asked with",
        )),
        _ => Ok(Flow::Ask {
            asks: vec![elicitation("confirm", "Please confirm", confirm_form())],
            state: Some(asked),
        }),
    }
}

fn multiple_inputs_flow(round: &Round) -> Result<Flow, ErrorData> {
    let asks = || {
        vec![
            elicitation("user_name", "What is your name?", one_string_form("name")),
            sampling("greeting", "Generate a greeting", 50),
            roots("client_roots"),
        ]
    };
    let Some(state) = &round.state else {
        if !round.answers.is_empty() {
            return Err(invalid(
                "these answers must come with the requestState they were asked with",
            ));
        }
        return Ok(Flow::Ask {
            asks: asks(),
            state: Some(json!({ "answers": {} })),
        });
    };
    let mut answers = state["answers"].as_object().cloned().unwrap_or_default();
    let (mut lines, mut missing) = (Vec::new(), Vec::new());
    for ask in asks() {
        match answers
            .get(ask.key)
            .or_else(|| round.answer(ask.key))
            .cloned()
        {
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

fn multi_round_flow(round: &Round) -> Result<Flow, ErrorData> {
    let step1 = || Flow::Ask {
        asks: vec![elicitation(
            "step1",
            "Step 1: What is your name?",
            one_string_form("name"),
        )],
        state: Some(json!({ "round": 1 })),
    };
    let step2 = |name: &str| Flow::Ask {
        asks: vec![elicitation(
            "step2",
            "Step 2: What is your favorite color?",
            one_string_form("color"),
        )],
        state: Some(json!({ "round": 2, "name": name })),
    };
    let Some(state) = &round.state else {
        return Ok(step1());
    };
    match (&state["round"], &state["name"]) {
        (rnd, _) if *rnd == 1 => match round.answer("step1") {
            None => Ok(step1()),
            Some(answer) => match answer["content"]["name"].as_str() {
                Some(name) => Ok(step2(name)),
                None => Ok(Flow::Done(text_result(&format!(
                    "No name was given (action={}).",
                    elicited(answer, "step1")?.0
                )))),
            },
        },
        (rnd, Value::String(name)) if *rnd == 2 => match round.answer("step2") {
            None => Ok(step2(name)),
            Some(answer) => {
                elicited(answer, "step2")?;
                let color = answer["content"]["color"].as_str().unwrap_or("(not given)");
                Ok(Flow::Done(text_result(&format!(
                    "{name}'s favorite color: {color}"
                ))))
            }
        },
        _ => Err(invalid("Invalid requestState")),
    }
}

fn capabilities_flow(round: &Round) -> Result<Flow, ErrorData> {
    let asks: Vec<Ask> = [
        sampling("llm", "Say hello.", 50),
        elicitation("user_name", "What is your name?", one_string_form("name")),
        roots("client_roots"),
    ]
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
        .filter_map(|ask| Some(summary(ask.method, round.answer(ask.key)?, ask.key)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Flow::Done(text_result(&lines.join("\n"))))
}

fn context_prompt_flow(round: &Round) -> Result<Flow, ErrorData> {
    let ask = elicitation(
        "user_context",
        "What context should the prompt use?",
        one_string_form("context"),
    );
    ask_then(round, ask, |answer| {
        elicited(answer, "user_context")?;
        let context = answer["content"]["context"]
            .as_str()
            .unwrap_or("no particular context");
        Ok(json!({
            "description": "A prompt built around the context the user gave",
            "messages": [{ "role": "user", "content": text(&format!("Answer with this context in mind: {context}")) }],
        }))
    })
}

fn defaults_form() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "description": "User name", "default": "John Doe" },
            "age": { "type": "integer", "description": "User age", "default": 30 },
            "score": { "type": "number", "description": "User score", "default": 95.5 },
            "status": {
                "type": "string", "description": "User status",
                "enum": ["active", "inactive", "pending"], "default": "active",
            },
            "verified": { "type": "boolean", "description": "Verification status", "default": true },
        },
    })
}

fn enums_form() -> Value {
    let titled = |titles: [&str; 3]| -> Vec<Value> {
        titles
            .iter()
            .enumerate()
            .map(|(i, title)| json!({ "const": format!("value{}", i + 1), "title": title }))
            .collect()
    };
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string", "description": "Select one option",
                "enum": ["option1", "option2", "option3"],
            },
            "titledSingle": {
                "type": "string", "description": "Select one option with titles",
                "oneOf": titled(["First Option", "Second Option", "Third Option"]),
            },
            "legacyEnum": {
                "type": "string", "description": "Select one option (legacy)",
                "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array", "description": "Select several options",
                "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
            },
            "titledMulti": {
                "type": "array", "description": "Select several options with titles",
                "items": { "anyOf": titled(["First Choice", "Second Choice", "Third Choice"]) },
            },
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Data

/// The tools, in a fixed order; `echo` first (the header-validation scenario calls the first
/// tool with no arguments).
fn tools() -> Vec<Value> {
    let none = || json!({ "type": "object", "properties": {} });
    let object = |properties: Value, required: &[&str]| json!({ "type": "object", "properties": properties, "required": required });
    let string = |description: &str| json!({ "type": "string", "description": description });
    let mut tools = vec![
        (
            "echo",
            "Returns its text argument unchanged.",
            object(json!({ "text": { "type": "string" } }), &["text"]),
        ),
        ("test_simple_text", "Returns one text item.", none()),
        (
            "test_image_content",
            "Returns one image item (a PNG).",
            none(),
        ),
        (
            "test_audio_content",
            "Returns one audio item (a WAV).",
            none(),
        ),
        (
            "test_embedded_resource",
            "Returns one embedded text resource.",
            none(),
        ),
        (
            "test_multiple_content_types",
            "Returns a text, an image and an embedded resource item.",
            none(),
        ),
        (
            "test_tool_with_logging",
            "Sends three info log notifications 50 ms apart while it runs.",
            none(),
        ),
        (
            "test_logging_tool",
            "The same as test_tool_with_logging.",
            none(),
        ),
        (
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart.",
            none(),
        ),
        (
            "test_error_handling",
            "Always fails, reporting the failure in its result (isError).",
            none(),
        ),
        (
            "test_sampling",
            "Asks the client's LLM to answer the prompt (sampling) and returns the answer.",
            object(
                json!({ "prompt": string("The prompt to send to the LLM") }),
                &["prompt"],
            ),
        ),
        (
            "test_elicitation",
            "Asks the user for a username and an email (elicitation) and returns the answer.",
            object(
                json!({ "message": string("The message to show the user") }),
                &["message"],
            ),
        ),
        (
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all have defaults (SEP-1034).",
            none(),
        ),
        (
            "test_elicitation_sep1330_enums",
            "Elicits a form with every kind of enum field (SEP-1330).",
            none(),
        ),
        (
            "test_reconnection",
            "Closes the connection of its SSE stream mid-call (SEP-1699).",
            none(),
        ),
        (
            "json_schema_2020_12_tool",
            "Has an input schema using JSON Schema 2020-12 features.",
            json_schema_2020_12(),
        ),
        (
            "test_custom_headers",
            "Echoes its arguments; some are mirrored in Mcp-Param-* headers.",
            custom_headers_schema(),
        ),
        (
            "test_missing_capability",
            "Asks the client's LLM a question, so it needs sampling.",
            none(),
        ),
        (
            "test_streaming_elicitation",
            "Asks the user to confirm (elicitation).",
            none(),
        ),
        (
            "test_trigger_tool_change",
            "Announces notifications/tools/list_changed.",
            none(),
        ),
        (
            "test_trigger_prompt_change",
            "Announces notifications/prompts/list_changed.",
            none(),
        ),
        (
            "test_trigger_resource_change",
            "Announces a resource list change and an update.",
            none(),
        ),
        (
            "test_input_required_result_elicitation",
            "Asks the user's name (key user_name).",
            none(),
        ),
        (
            "test_input_required_result_sampling",
            "Asks the LLM for the capital of France.",
            none(),
        ),
        (
            "test_input_required_result_list_roots",
            "Asks for the client's roots (key client_roots).",
            none(),
        ),
        (
            "test_input_required_result_request_state",
            "Checks that its requestState comes back intact.",
            none(),
        ),
        (
            "test_input_required_result_multiple_inputs",
            "Asks three questions of three kinds at once.",
            none(),
        ),
        (
            "test_input_required_result_multi_round",
            "Asks for a name, then a colour, in two rounds.",
            none(),
        ),
        (
            "test_input_required_result_tampered_state",
            "Refuses an altered requestState (-32602).",
            none(),
        ),
        (
            "test_input_required_result_capabilities",
            "Asks only what the client declared it can answer.",
            none(),
        ),
    ];
    tools
        .drain(..)
        .map(|(name, description, schema)| json!({ "name": name, "description": description, "inputSchema": schema }))
        .collect()
}

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

fn custom_headers_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "region": { "type": "string", "description": "Mirrored in Mcp-Param-Region", "x-mcp-header": "Region" },
            "priority": { "type": "integer", "description": "Mirrored in Mcp-Param-Priority", "x-mcp-header": "Priority" },
            "verbose": { "type": "boolean", "description": "Mirrored in Mcp-Param-Verbose", "x-mcp-header": "Verbose" },
            "query": { "type": "string", "description": "Not mirrored in any header" },
        },
        "required": ["region", "priority", "query"],
    })
}

/// A list or read result with the caching hints 2026-07-28 clients read (SEP-2549).
fn cacheable(context: &RequestContext<RoleServer>, mut result: Value, ttl_ms: u64) -> Value {
    if modern(context) {
        result["ttlMs"] = json!(ttl_ms);
        result["cacheScope"] = json!("public");
    }
    result
}

fn text(text: &str) -> Value {
    json!({ "type": "text", "text": text })
}

fn image() -> Value {
    json!({ "type": "image", "data": PNG, "mimeType": "image/png" })
}

fn embedded(uri: &str, mime_type: &str, text: &str) -> Value {
    json!({ "type": "resource", "resource": { "uri": uri, "mimeType": mime_type, "text": text } })
}

fn content(content: Vec<Value>) -> Value {
    json!({ "content": content, "isError": false })
}

fn text_result(message: &str) -> Value {
    content(vec![text(message)])
}

fn tool_error(message: &str) -> Value {
    json!({ "content": [text(message)], "isError": true })
}
