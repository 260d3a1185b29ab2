//! [`McpServer`]: the [`Handler`] that answers MCP's methods from a registry of tools,
//! prompts and resources, for every protocol generation the transport serves.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::{AbortHandle, Abortable, Either, select};
use mcp_sse_app::core::{Change, ListenSupport, ProtocolVersion, ToolHeader};
use mcp_sse_app::jsonrpc::{self, ErrorObject};
use mcp_sse_app::{Config, Handle, Handler, RequestContext, Runtime, SessionId};
use rust_mcp_schema::{CallToolResult, LoggingLevel};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::builder::{Options, ServerBuilder};
use crate::content::tool_error;
use crate::context::{Context, META_CLIENT_CAPABILITIES};
use crate::error::{Error, Kind, missing_capability, with_data};
use crate::level;
use crate::prompt::{Completer, Prompt};
use crate::resource::{Resource, ResourceTemplate};
use crate::seal::StateKey;
use crate::tasks::{EXTENSION, Tasks};
use crate::tool::{TaskSupport, Tool};

/// "Resource not found" up to 2025-11-25; 2026-07-28 uses -32602 instead (SEP-2164, S3.33).
const RESOURCE_NOT_FOUND: i64 = -32002;
/// The key of the server's identity in 2026-07-28 result `_meta` (S3.30).
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// Most completion values sent (the spec's limit).
const MAX_COMPLETIONS: usize = 100;

/// A typed MCP server: hand it to an adapter's `serve` (it is a [`Handler`]) with the
/// [`Config`] it derives ([`config`](Self::config)). Clones share one server.
///
/// It answers `initialize` (negotiating the version), `ping`, `logging/setLevel`,
/// `tools/list` and `tools/call`, `resources/list`, `resources/templates/list`,
/// `resources/read`, `resources/subscribe` and `unsubscribe`, `prompts/list` and
/// `prompts/get`, `completion/complete`, and for 2026-07-28 clients `server/discover`, the
/// `input_required` rounds and the tasks extension (`tasks/get`, `tasks/update`,
/// `tasks/cancel`), finishing every 2026-07-28 result (`resultType`, the server's identity in
/// `_meta`, caching hints on lists and reads).
#[derive(Clone)]
pub struct McpServer(pub(crate) Arc<Shared>);

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.0.name)
            .field("tools", &self.0.tools.len())
            .field("prompts", &self.0.prompts.len())
            .field("resources", &self.0.resources.len())
            .finish_non_exhaustive()
    }
}

/// What the server knows, shared by every call.
pub(crate) struct Shared {
    name: String,
    version: String,
    instructions: Option<String>,
    tools: Vec<Tool>,
    prompts: Vec<Prompt>,
    resources: Vec<Resource>,
    templates: Vec<ResourceTemplate>,
    options: Options,
    runtime: Arc<dyn Runtime>,
    sessions: Mutex<HashMap<SessionId, SessionState>>,
    tasks: Tasks,
}

/// What a session told the server: forgotten when it ends.
#[derive(Default)]
struct SessionState {
    capabilities: Value,
    log_level: Option<LoggingLevel>,
    subscriptions: HashSet<String>,
}

impl Shared {
    pub(crate) fn new(builder: ServerBuilder, runtime: Arc<dyn Runtime>) -> Self {
        Self {
            tasks: Tasks::new(builder.options.tasks.clone()),
            name: builder.name,
            version: builder.version,
            instructions: builder.instructions,
            tools: builder.tools,
            prompts: builder.prompts,
            resources: builder.resources,
            templates: builder.templates,
            options: builder.options,
            runtime,
            sessions: Mutex::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn runtime(&self) -> &dyn Runtime {
        &*self.runtime
    }

    pub(crate) fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    fn key(&self) -> &StateKey {
        &self.options.state_key
    }

    pub(crate) fn client_capabilities(&self, session: &SessionId) -> Option<Value> {
        self.sessions()
            .get(session)
            .map(|state| state.capabilities.clone())
    }

    pub(crate) fn log_level(&self, session: &SessionId) -> Option<LoggingLevel> {
        self.sessions()
            .get(session)
            .and_then(|state| state.log_level)
    }

    /// The sessions subscribed to `uri`.
    pub(crate) fn subscribers(&self, uri: &str) -> Vec<SessionId> {
        let sessions = self.sessions();
        let subscribed = sessions
            .iter()
            .filter(|(_, state)| state.subscriptions.contains(uri));
        subscribed.map(|(session, _)| session.clone()).collect()
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, SessionState>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn has_tasks(&self) -> bool {
        self.tools
            .iter()
            .any(|tool| tool.task_support != TaskSupport::Forbidden)
    }

    fn has_resources(&self) -> bool {
        !self.resources.is_empty() || !self.templates.is_empty()
    }

    fn has_completions(&self) -> bool {
        !self.prompts.is_empty() || !self.templates.is_empty()
    }
}

impl McpServer {
    /// Starts a server named `name` at `version` (its `serverInfo`).
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> ServerBuilder {
        ServerBuilder::new(name.into(), version.into())
    }

    /// The default [`Config`] with what the transport must know of this server to judge
    /// 2026-07-28 requests before they reach it (see [`configure`](Self::configure)).
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        self.configure(&mut config);
        config
    }

    /// Sets `config.v2026` from the registry: the methods served (any other gets `404` +
    /// `-32601` from the transport), the tool parameters mirrored in `Mcp-Param-*` headers
    /// (`x-mcp-header` in input schemas), and the `subscriptions/listen` kinds offered.
    pub fn configure(&self, config: &mut Config) {
        config.v2026.methods = self.methods_2026();
        config.v2026.tool_headers = ToolHeader::from_tools(&self.tools());
        let shared = &self.0;
        let mut listen = ListenSupport::default();
        listen.tools_list_changed = !shared.tools.is_empty();
        listen.prompts_list_changed = !shared.prompts.is_empty();
        listen.resources_list_changed = shared.has_resources();
        listen.resource_subscriptions = shared.has_resources();
        config.v2026.listen = listen;
    }

    /// The methods this server serves to 2026-07-28 requests.
    pub fn methods_2026(&self) -> Vec<String> {
        let shared = &self.0;
        let mut methods = vec!["server/discover"];
        if !shared.tools.is_empty() {
            methods.extend(["tools/list", "tools/call"]);
        }
        if shared.has_resources() {
            methods.extend([
                "resources/list",
                "resources/templates/list",
                "resources/read",
            ]);
        }
        if !shared.prompts.is_empty() {
            methods.extend(["prompts/list", "prompts/get"]);
        }
        if shared.has_completions() {
            methods.push("completion/complete");
        }
        if shared.has_tasks() {
            methods.extend(["tasks/get", "tasks/update", "tasks/cancel"]);
        }
        methods.into_iter().map(str::to_owned).collect()
    }

    /// Every tool as `tools/list` shows it, as one JSON array.
    pub fn tools(&self) -> Value {
        Value::Array(self.0.tools.iter().map(Tool::descriptor).collect())
    }
}

impl Handler for McpServer {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        let params = request
            .params
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .filter(Value::is_object)
            .unwrap_or(Value::Null);
        let modern = cx
            .protocol_version()
            .is_some_and(ProtocolVersion::is_modern);
        let method = request.method.as_str();
        let (result, ttl) = self.dispatch(cx, modern, method, &params).await?;
        Ok(if modern {
            self.finish(result, ttl)
        } else {
            result
        })
    }

    fn session_closed(&self, session: &SessionId) {
        self.0.sessions().remove(session);
    }

    /// A resource updated on another instance: the sessions subscribed to it here hear of it.
    fn published(&self, handle: &Handle, change: &Change) {
        let Change::ResourceUpdated(uri) = change else {
            return;
        };
        let params = serde_json::value::to_raw_value(&json!({ "uri": uri })).ok();
        let message =
            jsonrpc::encode_notification("notifications/resources/updated", params.as_deref());
        for session in self.0.subscribers(uri) {
            let _ = handle.send_message(&session, message.clone());
        }
    }

    /// A call whose instance died runs again only for a tool whose annotations say it may
    /// (read-only or idempotent); every other method only reads or sets what it sets again.
    fn redeliver(&self, _cx: &RequestContext, request: &jsonrpc::Request) -> bool {
        if request.method != "tools/call" {
            return true;
        }
        let name = request
            .params
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|params| params["name"].as_str().map(str::to_owned));
        let tool = name.and_then(|name| self.0.tools.iter().find(|t| t.name() == name));
        tool.is_some_and(Tool::may_run_twice)
    }

    /// A session another instance of the cluster opened: its client's capabilities, as
    /// `initialize` gave them there. Its log level and resource subscriptions stay with the
    /// instance that got them.
    fn session_restored(
        &self,
        session: &SessionId,
        _version: Option<ProtocolVersion>,
        client: Option<&RawValue>,
    ) {
        let params: Value = client
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default();
        let mut sessions = self.0.sessions();
        let state = sessions.entry(session.clone()).or_default();
        state.capabilities = params["capabilities"].clone();
    }
}

/// A result, and how long a 2026-07-28 client may cache it (`None`: not cacheable).
type Answer = (Value, Option<Duration>);

impl McpServer {
    async fn dispatch(
        &self,
        cx: RequestContext,
        modern: bool,
        method: &str,
        params: &Value,
    ) -> Result<Answer, ErrorObject> {
        let shared = &self.0;
        let list_ttl = Some(shared.options.list_ttl);
        let result = match (modern, method) {
            (false, "initialize") => self.initialize(&cx, params),
            (false, "ping") => json!({}),
            (false, "logging/setLevel") => self.set_log_level(&cx, params)?,
            (false, "resources/subscribe") => self.subscribe(&cx, params, true)?,
            (false, "resources/unsubscribe") => self.subscribe(&cx, params, false)?,
            (true, "server/discover") => {
                return Ok((self.discover(), Some(shared.options.discover_ttl)));
            }
            (true, "tasks/get" | "tasks/update" | "tasks/cancel") if shared.has_tasks() => {
                self.task_method(method, params)?
            }
            (_, "tools/list") => {
                return Ok((
                    self.page(&shared.tools, Tool::descriptor, params, "tools")?,
                    list_ttl,
                ));
            }
            (_, "tools/call") => self.call_tool(cx, modern, params).await?,
            (_, "resources/list") => {
                return Ok((
                    self.page(&shared.resources, Resource::descriptor, params, "resources")?,
                    list_ttl,
                ));
            }
            (_, "resources/templates/list") => {
                let page = self.page(
                    &shared.templates,
                    ResourceTemplate::descriptor,
                    params,
                    "resourceTemplates",
                )?;
                return Ok((page, list_ttl));
            }
            (_, "resources/read") => return self.read_resource(cx, modern, params).await,
            (_, "prompts/list") => {
                return Ok((
                    self.page(&shared.prompts, Prompt::descriptor, params, "prompts")?,
                    list_ttl,
                ));
            }
            (_, "prompts/get") => self.get_prompt(cx, modern, params).await?,
            (_, "completion/complete") => self.complete(params)?,
            (_, method) => return Err(ErrorObject::method_not_found(method)),
        };
        Ok((result, None))
    }

    /// What every 2026-07-28 result carries (S3.30, S3.31, SEP-2549): `resultType` (`complete`
    /// unless the result says otherwise), the server's identity in `_meta`, and on complete
    /// cacheable results how long and by whom they may be cached.
    fn finish(&self, mut result: Value, ttl: Option<Duration>) -> Value {
        let Value::Object(fields) = &mut result else {
            return result;
        };
        let complete = *fields
            .entry("resultType")
            .or_insert_with(|| json!("complete"))
            == "complete";
        if complete && let Some(ttl) = ttl {
            let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            fields.entry("ttlMs").or_insert_with(|| json!(millis));
            let scope = if self.0.options.public_cache {
                "public"
            } else {
                "private"
            };
            fields.entry("cacheScope").or_insert_with(|| json!(scope));
        }
        if let Value::Object(meta) = fields.entry("_meta").or_insert_with(|| json!({})) {
            meta.insert(META_SERVER_INFO.to_owned(), self.server_info());
        }
        result
    }

    fn server_info(&self) -> Value {
        json!({ "name": self.0.name, "version": self.0.version })
    }

    /// What the server offers. The lists may change (`test`-style triggers, or a server that
    /// announces changes through its handle), so `listChanged` is declared.
    fn capabilities(&self, modern: bool) -> Value {
        let shared = &self.0;
        let mut capabilities = json!({ "logging": {} });
        if !shared.tools.is_empty() {
            capabilities["tools"] = json!({ "listChanged": true });
        }
        if shared.has_resources() {
            capabilities["resources"] = json!({ "subscribe": true, "listChanged": true });
        }
        if !shared.prompts.is_empty() {
            capabilities["prompts"] = json!({ "listChanged": true });
        }
        if shared.has_completions() {
            capabilities["completions"] = json!({});
        }
        if modern && shared.has_tasks() {
            capabilities["extensions"] = json!({ EXTENSION: {} });
        }
        capabilities
    }

    // ------------------------------------------------------------------------------------------
    // Lifecycle

    /// `initialize`: the client's version when it is one of the session era we speak, else our
    /// newest of that era (S5.14); the client's capabilities are kept for the session.
    fn initialize(&self, cx: &RequestContext, params: &Value) -> Value {
        let version = negotiate(params["protocolVersion"].as_str().unwrap_or_default());
        if let Some(session) = cx.session() {
            let mut sessions = self.0.sessions();
            let state = sessions.entry(session.clone()).or_default();
            state.capabilities = params["capabilities"].clone();
        }
        let mut result = json!({
            "protocolVersion": version.as_str(),
            "capabilities": self.capabilities(false),
            "serverInfo": self.server_info(),
        });
        if let Some(instructions) = &self.0.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// `server/discover` (2026-07-28, S3.32): every version served, newest first, and what the
    /// server offers.
    fn discover(&self) -> Value {
        let versions: Vec<&str> = ProtocolVersion::ALL
            .into_iter()
            .rev()
            .map(ProtocolVersion::as_str)
            .collect();
        let mut result =
            json!({ "supportedVersions": versions, "capabilities": self.capabilities(true) });
        if let Some(instructions) = &self.0.instructions {
            result["instructions"] = json!(instructions);
        }
        result
    }

    /// `logging/setLevel`: later log messages below `level` are not sent to this session.
    fn set_log_level(&self, cx: &RequestContext, params: &Value) -> Result<Value, ErrorObject> {
        let Some(level) = params["level"].as_str().and_then(level::parse) else {
            let levels = "debug, info, notice, warning, error, critical, alert, emergency";
            return Err(ErrorObject::invalid_params(format!(
                "`level` must be one of {levels}"
            )));
        };
        if let Some(session) = cx.session() {
            self.0
                .sessions()
                .entry(session.clone())
                .or_default()
                .log_level = Some(level);
        }
        Ok(json!({}))
    }

    // ------------------------------------------------------------------------------------------
    // Lists

    /// One page of `items` under `field`: from the `cursor` (an offset we issued), `page_size`
    /// items, and a `nextCursor` when more follow. A cursor we did not issue is `-32602`.
    fn page<T>(
        &self,
        items: &[T],
        describe: fn(&T) -> Value,
        params: &Value,
        field: &str,
    ) -> Result<Value, ErrorObject> {
        let start = match params.get("cursor") {
            None | Some(Value::Null) => 0,
            Some(Value::String(cursor)) => cursor
                .parse::<usize>()
                .ok()
                .filter(|offset| *offset <= items.len())
                .ok_or_else(|| ErrorObject::invalid_params(format!("Invalid cursor: {cursor}")))?,
            Some(_) => return Err(ErrorObject::invalid_params("`cursor` must be a string")),
        };
        let end = start
            .saturating_add(self.0.options.page_size.max(1))
            .min(items.len());
        let mut result =
            json!({ field: items[start..end].iter().map(describe).collect::<Vec<_>>() });
        if end < items.len() {
            result["nextCursor"] = json!(end.to_string());
        }
        Ok(result)
    }

    // ------------------------------------------------------------------------------------------
    // Tools

    /// `tools/call`. An unknown tool is a protocol error (-32602); a failure of the tool,
    /// including arguments that do not fit it, is a tool error result (2025-11-25
    /// server/tools, "Error Handling").
    async fn call_tool(
        &self,
        cx: RequestContext,
        modern: bool,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let name = name_in("tools/call", params)?;
        let tool = self.0.tools.iter().find(|tool| tool.name == name);
        let tool = tool.ok_or_else(|| unknown("tool", name))?;
        let arguments = params["arguments"].clone();
        let context = self.context(cx, modern, params, format!("tools/call:{name}"))?;
        let tasks = modern && declares_tasks(&params["_meta"]);
        match (tool.task_support, tasks) {
            (TaskSupport::Required, false) => Err(missing_capability(
                &format!("extensions.{EXTENSION} (the tool {name} runs only as a task)"),
                json!({ "extensions": { EXTENSION: {} } }),
            )),
            (TaskSupport::Forbidden, _) | (TaskSupport::Optional, false) => {
                let outcome = (tool.call)(arguments, context.clone()).await;
                self.tool_answer(&context, outcome)
            }
            (_, true) if tool.starts_task_itself => {
                self.run_until_task(tool, arguments, context).await
            }
            (_, true) => self.run_as_task(tool, arguments, context),
        }
    }

    /// The context of a call: in 2026-07-28, with the answers the request brings.
    fn context(
        &self,
        cx: RequestContext,
        modern: bool,
        params: &Value,
        subject: String,
    ) -> Result<Context, ErrorObject> {
        let answers = if modern {
            Some(self.round_answers(&subject, params)?)
        } else {
            None
        };
        Ok(Context::new(
            cx,
            self.0.clone(),
            params["_meta"].clone(),
            subject,
            answers,
        ))
    }

    /// The answers of a 2026-07-28 round (SEP-2322): those of earlier rounds from the sealed
    /// `requestState`, and this round's `inputResponses`.
    fn round_answers(
        &self,
        subject: &str,
        params: &Value,
    ) -> Result<Map<String, Value>, ErrorObject> {
        let mut answers = match params.get("requestState") {
            None => Map::new(),
            Some(Value::String(sealed)) => self
                .0
                .key()
                .open(subject, sealed)
                .map_err(Error::into_rpc)?,
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`requestState` must be a string",
                ));
            }
        };
        match params.get("inputResponses") {
            None => {}
            Some(Value::Object(responses)) => {
                for (key, answer) in responses {
                    // An answer already given stays as it was.
                    answers.entry(key.clone()).or_insert_with(|| answer.clone());
                }
            }
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "`inputResponses` must be an object mapping keys to answers",
                ));
            }
        }
        Ok(answers)
    }

    /// A tool's answer to its request.
    fn tool_answer(
        &self,
        cx: &Context,
        outcome: Result<CallToolResult, Error>,
    ) -> Result<Value, ErrorObject> {
        match outcome {
            Ok(result) => Ok(to_json(&result)),
            Err(Error(Kind::Failed(message))) => Ok(to_json(&tool_error(message))),
            Err(Error(Kind::Rpc(error))) => Err(error),
            Err(Error(Kind::InputRequired(asks))) => Ok(self.input_required(cx, asks)),
        }
    }

    /// An `input_required` result (SEP-2322): the questions, and the answers used so far
    /// sealed in `requestState`.
    fn input_required(&self, cx: &Context, asks: BTreeMap<String, Value>) -> Value {
        let options = &self.0.options;
        let state =
            options
                .state_key
                .seal(cx.subject(), &cx.used_answers(), options.state_lifetime);
        json!({ "resultType": "input_required", "inputRequests": asks, "requestState": state })
    }

    /// A task from the start: the work runs in the background, the request gets the task.
    fn run_as_task(
        &self,
        tool: &Tool,
        arguments: Value,
        context: Context,
    ) -> Result<Value, ErrorObject> {
        let tasks = self.0.tasks();
        let id = tasks.create(None).map_err(Error::into_rpc)?;
        context.become_task(id.clone());
        let (abort, registration) = AbortHandle::new_pair();
        tasks.set_abort(&id, abort);
        let work = AssertUnwindSafe((tool.call)(arguments, context)).catch_unwind();
        let shared = self.0.clone();
        let task = id.clone();
        self.0.runtime.spawn(Box::pin(async move {
            if let Ok(outcome) = Abortable::new(work, registration).await {
                shared.tasks().finish(&task, task_outcome(outcome));
            }
        }));
        tasks.created(&id).map_err(Error::into_rpc)
    }

    /// A tool that starts its task itself: it runs (in the background, so it can go on after
    /// the request is answered) until it calls `start_task`, and the request gets the task, or
    /// until it ends, and the request gets its answer.
    async fn run_until_task(
        &self,
        tool: &Tool,
        arguments: Value,
        context: Context,
    ) -> Result<Value, ErrorObject> {
        let started = context.allow_start();
        let (done, finished) = futures_channel::oneshot::channel();
        let (abort, registration) = AbortHandle::new_pair();
        let work = AssertUnwindSafe((tool.call)(arguments, context.clone())).catch_unwind();
        let shared = self.0.clone();
        let running = context.clone();
        self.0.runtime.spawn(Box::pin(async move {
            let Ok(outcome) = Abortable::new(work, registration).await else {
                return;
            };
            match running.task_id() {
                Some(task) => shared.tasks().finish(&task, task_outcome(outcome)),
                None => {
                    let _ = done.send(outcome);
                }
            }
        }));
        // Dropped with the request (the client cancelled): the work stops too, unless it is a
        // task by then.
        let mut stop = StopOnDrop(Some(abort.clone()));
        match select(started, finished).await {
            Either::Left((Ok(task), _)) => {
                stop.0 = None;
                self.0.tasks().set_abort(&task, abort);
                self.0.tasks().created(&task).map_err(Error::into_rpc)
            }
            Either::Right((Ok(Ok(outcome)), _)) => self.tool_answer(&context, outcome),
            Either::Right((Ok(Err(_)), _)) => Err(ErrorObject::internal_error("the tool panicked")),
            _ => Err(ErrorObject::internal_error(
                "the tool stopped without an answer",
            )),
        }
    }

    /// `tasks/get`, `tasks/update`, `tasks/cancel` (SEP-2663): only for requests that declare
    /// the extension (-32021 otherwise); an unknown task is -32602.
    fn task_method(&self, method: &str, params: &Value) -> Result<Value, ErrorObject> {
        if !declares_tasks(&params["_meta"]) {
            return Err(missing_capability(
                &format!("extensions.{EXTENSION}"),
                json!({ "extensions": { EXTENSION: {} } }),
            ));
        }
        let Some(id) = params["taskId"].as_str() else {
            return Err(ErrorObject::invalid_params(format!(
                "{method} needs a string `taskId`"
            )));
        };
        let tasks = self.0.tasks();
        let result = match method {
            "tasks/get" => tasks.get(id),
            "tasks/update" => match params.get("inputResponses") {
                Some(Value::Object(answers)) => {
                    tasks.update(id, answers.clone()).map(|()| json!({}))
                }
                _ => Err(Error::invalid_params(
                    "tasks/update needs an object `inputResponses`",
                )),
            },
            _ => tasks.cancel(id).map(|()| json!({})),
        };
        result.map_err(Error::into_rpc)
    }

    // ------------------------------------------------------------------------------------------
    // Resources

    /// `resources/read` of a listed resource or of an instance of a template.
    async fn read_resource(
        &self,
        cx: RequestContext,
        modern: bool,
        params: &Value,
    ) -> Result<Answer, ErrorObject> {
        let Some(uri) = params["uri"].as_str() else {
            return Err(ErrorObject::invalid_params(
                "resources/read needs a string `uri`",
            ));
        };
        let context = self.context(cx, modern, params, format!("resources/read:{uri}"))?;
        let shared = &self.0;
        let found = match shared.resources.iter().find(|resource| resource.uri == uri) {
            Some(resource) => Some((resource.read.clone(), HashMap::new(), resource.ttl)),
            None => shared.templates.iter().find_map(|template| {
                Some((template.read.clone(), template.matches(uri)?, template.ttl))
            }),
        };
        let Some((read, variables, ttl)) = found else {
            // -32002 in sessions (2025-06-18 / 2025-11-25 server/resources, "Error Handling");
            // 2026-07-28 must not emit -32002 (SEP-2164, S3.33).
            let code = if modern {
                jsonrpc::INVALID_PARAMS
            } else {
                RESOURCE_NOT_FOUND
            };
            return Err(with_data(
                code,
                "Resource not found",
                &json!({ "uri": uri }),
            ));
        };
        match read(uri.to_owned(), variables, context.clone()).await {
            Ok(contents) => Ok((
                json!({ "contents": contents }),
                Some(ttl.unwrap_or(shared.options.read_ttl)),
            )),
            Err(Error(Kind::InputRequired(asks))) => {
                Ok((self.input_required(&context, asks), None))
            }
            Err(error) => Err(error.into_rpc()),
        }
    }

    /// `resources/subscribe` and `resources/unsubscribe` (sessions; 2026-07-28 subscribes
    /// through `subscriptions/listen`).
    fn subscribe(
        &self,
        cx: &RequestContext,
        params: &Value,
        on: bool,
    ) -> Result<Value, ErrorObject> {
        let Some(uri) = params["uri"].as_str() else {
            return Err(ErrorObject::invalid_params(
                "resources/subscribe and unsubscribe need a string `uri`",
            ));
        };
        if let Some(session) = cx.session() {
            let mut sessions = self.0.sessions();
            let subscriptions = &mut sessions.entry(session.clone()).or_default().subscriptions;
            if on {
                subscriptions.insert(uri.to_owned());
            } else {
                subscriptions.remove(uri);
            }
        }
        Ok(json!({}))
    }

    // ------------------------------------------------------------------------------------------
    // Prompts and completion

    /// `prompts/get`. An unknown prompt or a missing required argument is -32602 (2025-06-18
    /// server/prompts, "Error Handling").
    async fn get_prompt(
        &self,
        cx: RequestContext,
        modern: bool,
        params: &Value,
    ) -> Result<Value, ErrorObject> {
        let name = name_in("prompts/get", params)?;
        let prompt = self.0.prompts.iter().find(|prompt| prompt.name == name);
        let prompt = prompt.ok_or_else(|| unknown("prompt", name))?;
        let context = self.context(cx, modern, params, format!("prompts/get:{name}"))?;
        match (prompt.get)(params["arguments"].clone(), context.clone()).await {
            Ok(result) => Ok(to_json(&result)),
            Err(Error(Kind::InputRequired(asks))) => Ok(self.input_required(&context, asks)),
            Err(error) => Err(error.into_rpc()),
        }
    }

    /// `completion/complete`: the suggestions of the prompt argument or template variable,
    /// none when it has no completer. An unknown prompt or template is -32602.
    fn complete(&self, params: &Value) -> Result<Value, ErrorObject> {
        let reference = &params["ref"];
        let argument = params["argument"]["name"].as_str().unwrap_or_default();
        let typed = params["argument"]["value"].as_str().unwrap_or_default();
        let shared = &self.0;
        let completer: Option<&Completer> = match reference["type"].as_str() {
            Some("ref/prompt") => {
                let name = reference["name"].as_str().unwrap_or_default();
                let prompt = shared.prompts.iter().find(|prompt| prompt.name == name);
                let prompt = prompt.ok_or_else(|| unknown("prompt", name))?;
                prompt.completions.get(argument)
            }
            Some("ref/resource") => {
                let uri = reference["uri"].as_str().unwrap_or_default();
                let template = shared
                    .templates
                    .iter()
                    .find(|template| template.uri_template() == uri);
                template.and_then(|template| template.completions.get(argument))
            }
            _ => {
                return Err(ErrorObject::invalid_params(
                    "`ref` must be a ref/prompt or a ref/resource",
                ));
            }
        };
        let mut values = completer
            .map(|complete| complete(typed))
            .unwrap_or_default();
        let total = values.len();
        values.truncate(MAX_COMPLETIONS);
        let more = total > MAX_COMPLETIONS;
        Ok(json!({ "completion": { "values": values, "total": total, "hasMore": more } }))
    }
}

/// The session-era version for a client that asked for `asked` (S5.14).
pub(crate) fn negotiate(asked: &str) -> ProtocolVersion {
    let sessions = ProtocolVersion::ALL
        .into_iter()
        .filter(|version| !version.is_modern());
    let newest = sessions
        .clone()
        .next_back()
        .expect("a session-era version is served");
    sessions
        .into_iter()
        .find(|version| version.as_str() == asked)
        .unwrap_or(newest)
}

/// The `name` a `tools/call` or `prompts/get` names; `-32602` without one.
fn name_in<'a>(method: &str, params: &'a Value) -> Result<&'a str, ErrorObject> {
    let name = params["name"].as_str();
    name.ok_or_else(|| ErrorObject::invalid_params(format!("{method} needs a string `name`")))
}

/// `-32602` for a tool or prompt the server does not have.
fn unknown(what: &str, name: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("Unknown {what}: {name}"))
}

/// Whether a 2026-07-28 request declares the tasks extension in its `_meta`.
fn declares_tasks(meta: &Value) -> bool {
    !meta[META_CLIENT_CAPABILITIES]["extensions"][EXTENSION].is_null()
}

/// What a task's work ended with, for the store: a tool error is a completed task with an
/// `isError` result; a protocol error (or a panic) a failed one (SEP-2663).
fn task_outcome(
    outcome: std::thread::Result<Result<CallToolResult, Error>>,
) -> Result<Value, ErrorObject> {
    let result = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(Error(Kind::Failed(message)))) => tool_error(message),
        Ok(Err(Error(Kind::Rpc(error)))) => return Err(error),
        Ok(Err(Error(Kind::InputRequired(_)))) => {
            return Err(ErrorObject::internal_error(
                "a task cannot ask through input_required rounds",
            ));
        }
        Err(_) => return Err(ErrorObject::internal_error("the tool panicked")),
    };
    let mut result = to_json(&result);
    result["resultType"] = json!("complete");
    Ok(result)
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|error| json!({ "error": error.to_string() }))
}

/// Stops the work it holds when dropped, unless emptied first.
struct StopOnDrop(Option<AbortHandle>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(abort) = self.0.take() {
            abort.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_a_session_era_version_and_offers_the_newest_otherwise() {
        for asked in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
            assert_eq!(negotiate(asked).as_str(), asked);
        }
        for asked in ["2026-07-28", "2099-01-01", ""] {
            assert_eq!(negotiate(asked), ProtocolVersion::V2025_11_25, "{asked}");
        }
    }
}
