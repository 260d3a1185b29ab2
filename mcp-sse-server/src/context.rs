//! [`Context`]: what a tool, prompt or resource handler can do while it runs, and [`Ask`],
//! a question for the client.

use std::collections::BTreeMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use mcp_sse_app::core::{Change, ProtocolVersion};
use mcp_sse_app::{Handle, Principal, RequestContext, SessionId};
use rust_mcp_schema::{CreateMessageResult, ElicitResult, ListRootsResult, LoggingLevel};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::error::{Error, Kind, missing_capability};
use crate::level;
use crate::server::Shared;

/// `_meta` keys of 2026-07-28 requests (S3.1, S3.14).
pub(crate) const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// A request the server needs the client to answer (`elicitation/create`,
/// `sampling/createMessage`, `roots/list`), under a key of the server's choosing that names its
/// answer across `input_required` rounds and task updates.
#[derive(Clone, Debug, PartialEq)]
pub struct Ask {
    key: String,
    method: String,
    params: Value,
}

impl Ask {
    /// Any request, by method.
    pub fn new(key: impl Into<String>, method: impl Into<String>, params: Value) -> Self {
        Self {
            key: key.into(),
            method: method.into(),
            params,
        }
    }

    /// `elicitation/create`: a form (`requested_schema`, a flat object schema) with a message.
    pub fn elicit(
        key: impl Into<String>,
        message: impl Into<String>,
        requested_schema: Value,
    ) -> Self {
        let params = json!({ "message": message.into(), "requestedSchema": requested_schema });
        Self::new(key, "elicitation/create", params)
    }

    /// `sampling/createMessage` with one user text message.
    pub fn sample(key: impl Into<String>, prompt: impl Into<String>, max_tokens: u32) -> Self {
        let params = json!({
            "messages": [{ "role": "user", "content": { "type": "text", "text": prompt.into() } }],
            "maxTokens": max_tokens,
        });
        Self::new(key, "sampling/createMessage", params)
    }

    /// `roots/list`.
    pub fn roots(key: impl Into<String>) -> Self {
        Self::new(key, "roots/list", json!({}))
    }

    /// The key of its answer.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The client capability the method needs.
    pub fn capability(&self) -> &str {
        capability_of(&self.method)
    }

    fn request(&self) -> Value {
        json!({ "method": self.method, "params": self.params })
    }
}

fn capability_of(method: &str) -> &str {
    match method {
        "sampling/createMessage" => "sampling",
        "elicitation/create" => "elicitation",
        "roots/list" => "roots",
        other => other.split('/').next().unwrap_or(other),
    }
}

/// The context of one call: the client, the request, and the way to talk to the client while
/// the call runs. Clones share it.
///
/// What an ask does depends on how the call came:
/// - in a session (2024-11-05 to 2025-11-25), the question is sent to the client at once, on
///   the call's stream, and the ask waits for its answer (at most
///   [`Options::ask_timeout`](crate::Options::ask_timeout));
/// - in a 2026-07-28 request, the answer comes with the request (`inputResponses`) or from an
///   earlier round (the sealed `requestState`); when it is not there, the ask fails with an
///   [`Error`] that, passed on with `?`, answers the request with an `input_required` result
///   asking for it. The client calls again with the answers, and the handler runs again from
///   the start, so keep side effects after the asks;
/// - in a task, the task waits in `input_required` until `tasks/update` brings the answers.
///
/// A cancelled call (`notifications/cancelled`, a 2026-07-28 stream closed, `tasks/cancel`) is
/// dropped at its next `.await`: put clean-up in `Drop`.
#[derive(Clone)]
pub struct Context(Arc<Inner>);

struct Inner {
    request: RequestContext,
    shared: Arc<Shared>,
    /// `params._meta` of the request.
    meta: Value,
    /// What a sealed state is for: method and name.
    subject: String,
    mode: Mutex<Mode>,
    /// For a tool that starts its task itself: tells the request that it did.
    start: Mutex<Option<oneshot::Sender<String>>>,
}

enum Mode {
    /// A session: asks go to the client.
    Session,
    /// A 2026-07-28 request: answers from the request; the ones used so far.
    Rounds {
        answers: Map<String, Value>,
        used: Map<String, Value>,
    },
    /// A task: asks park it.
    Task(String),
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("request", &self.0.request.key())
            .field("subject", &self.0.subject)
            .finish_non_exhaustive()
    }
}

impl Context {
    pub(crate) fn new(
        request: RequestContext,
        shared: Arc<Shared>,
        meta: Value,
        subject: String,
        answers: Option<Map<String, Value>>,
    ) -> Self {
        let mode = match answers {
            Some(answers) => Mode::Rounds {
                answers,
                used: Map::new(),
            },
            None => Mode::Session,
        };
        Self(Arc::new(Inner {
            request,
            shared,
            meta,
            subject,
            mode: Mutex::new(mode),
            start: Mutex::new(None),
        }))
    }

    // Getters.

    /// The session the call came in, if any (2026-07-28 has none).
    pub fn session(&self) -> Option<&SessionId> {
        self.0.request.session()
    }

    /// The head of the HTTP request that carried the call: method, URI, headers, extensions.
    pub fn http(&self) -> &http::request::Parts {
        self.0.request.http()
    }

    /// Who made the call, with authorization on (`Config::auth`): the principal of the request's
    /// bearer token (see [`RequestContext::principal`]). `None` without authorization.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.request.principal()
    }

    /// The protocol version the call is served under (see
    /// [`RequestContext::protocol_version`]).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.0.request.protocol_version()
    }

    /// The request as the application layer sees it, for what this type does not wrap (e.g.
    /// [`RequestContext::close_stream`]).
    pub fn request(&self) -> &RequestContext {
        &self.0.request
    }

    /// A handle to the server: messages to sessions, `subscriptions/listen` changes.
    pub fn handle(&self) -> Handle {
        self.0.request.handle()
    }

    /// The request's `_meta`.
    pub fn meta(&self) -> &Value {
        &self.0.meta
    }

    /// Whether the client declared `capability` (`sampling`, `elicitation`, `roots`, …): for
    /// 2026-07-28 requests in their `_meta`, in a session at `initialize`.
    pub fn client_supports(&self, capability: &str) -> bool {
        match self.0.request.protocol_version() {
            Some(version) if version.is_modern() => {
                !self.0.meta[META_CLIENT_CAPABILITIES][capability].is_null()
            }
            _ => self
                .0
                .request
                .session()
                .and_then(|session| self.0.shared.client_capabilities(session))
                .is_none_or(|capabilities| !capabilities[capability].is_null()),
        }
    }

    /// The id of the task the call runs as, if it does.
    pub fn task_id(&self) -> Option<String> {
        match &*self.mode() {
            Mode::Task(id) => Some(id.clone()),
            _ => None,
        }
    }

    // Commands.

    /// Reports progress when the client asked for it (`_meta.progressToken`); otherwise, and
    /// for calls running as tasks, does nothing. Best effort: a full or closed stream is no
    /// error.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self
            .0
            .meta
            .get("progressToken")
            .filter(|t| t.is_string() || t.is_number())
        else {
            return;
        };
        if self.task_id().is_some() {
            return;
        }
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        let _ = self
            .0
            .request
            .notify("notifications/progress", params)
            .await;
    }

    /// Sends a log message when the client wants that level: in a session, as
    /// `logging/setLevel` set (everything until it does); in 2026-07-28, only when the
    /// request's `_meta` names a level (S3.14), and from it up. Best effort.
    pub async fn log(&self, level: LoggingLevel, data: impl Serialize) {
        let threshold = match self.0.request.protocol_version() {
            Some(version) if version.is_modern() => {
                self.0.meta[META_LOG_LEVEL].as_str().and_then(level::parse)
            }
            _ => Some(
                self.0
                    .request
                    .session()
                    .and_then(|session| self.0.shared.log_level(session))
                    .unwrap_or(LoggingLevel::Debug),
            ),
        };
        let wanted =
            threshold.is_some_and(|threshold| level::rank(&level) >= level::rank(&threshold));
        if !wanted || self.task_id().is_some() {
            return;
        }
        let params = json!({ "level": level, "logger": self.0.shared.name(), "data": data });
        let _ = self.0.request.notify("notifications/message", params).await;
    }

    /// Sends `notifications/resources/updated` for `uri` to the sessions subscribed to it, and
    /// announces it to 2026-07-28 `subscriptions/listen` streams. Best effort.
    pub async fn resource_updated(&self, uri: &str) {
        let handle = self.handle();
        for session in self.0.shared.subscribers(uri) {
            let params = json!({ "uri": uri });
            let _ = handle
                .notify(&session, "notifications/resources/updated", params)
                .await;
        }
        handle.publish(Change::ResourceUpdated(uri.to_owned()));
    }

    /// Waits on the server's runtime.
    pub async fn sleep(&self, duration: Duration) {
        self.0
            .shared
            .runtime()
            .sleep_until(Instant::now() + duration)
            .await;
    }

    /// Asks the client one question and returns its answer (see the type's doc for how).
    pub async fn ask<T: DeserializeOwned>(&self, ask: Ask) -> Result<T, Error> {
        let key = ask.key.clone();
        let mut answers = self.ask_all(vec![ask]).await?;
        let answer = answers.pop().expect("one answer per ask");
        let parsed = parse(&key, answer);
        match &*self.mode() {
            // The client answered a request of ours: its mistake fails the call, not the
            // request that carried it.
            Mode::Session => parsed.map_err(|error| Error::failed(error.to_string())),
            _ => parsed,
        }
    }

    /// Asks several questions at once (the client may answer them in any order) and returns
    /// the answers in the same order.
    pub async fn ask_all(&self, asks: Vec<Ask>) -> Result<Vec<Value>, Error> {
        enum Plan {
            Session,
            Rounds,
            Task(String),
        }
        let plan = match &*self.mode() {
            Mode::Session => Plan::Session,
            Mode::Rounds { .. } => Plan::Rounds,
            Mode::Task(id) => Plan::Task(id.clone()),
        };
        match plan {
            Plan::Session => {
                let mut answers = Vec::with_capacity(asks.len());
                for ask in asks {
                    answers.push(self.ask_client(ask).await?);
                }
                Ok(answers)
            }
            Plan::Rounds => self.ask_in_round(asks),
            Plan::Task(id) => self.ask_in_task(&id, asks).await,
        }
    }

    /// `elicitation/create`: the user's answer to a form.
    pub async fn elicit(
        &self,
        key: &str,
        message: &str,
        requested_schema: Value,
    ) -> Result<ElicitResult, Error> {
        self.ask(Ask::elicit(key, message, requested_schema)).await
    }

    /// `sampling/createMessage` with one user message: the client's LLM's answer.
    pub async fn sample(
        &self,
        key: &str,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<CreateMessageResult, Error> {
        self.ask(Ask::sample(key, prompt, max_tokens)).await
    }

    /// `roots/list`: the client's roots.
    pub async fn roots(&self, key: &str) -> Result<ListRootsResult, Error> {
        self.ask(Ask::roots(key)).await
    }

    /// For a tool registered with [`Tool::starts_task_itself`](crate::Tool::starts_task_itself):
    /// from here on the call runs as a task, and the request is answered with it. Elsewhere
    /// (another tool, a client without the tasks extension, already a task) it does nothing.
    pub async fn start_task(&self) -> Result<(), Error> {
        let Some(started) = self
            .0
            .start
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(());
        };
        let id = self.0.shared.tasks().create(None)?;
        *self.mode() = Mode::Task(id.clone());
        let _ = started.send(id);
        Ok(())
    }

    // The server's side.

    fn mode(&self) -> MutexGuard<'_, Mode> {
        self.0.mode.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the call as task `id` from now on.
    pub(crate) fn become_task(&self, id: String) {
        *self.mode() = Mode::Task(id);
    }

    /// Lets [`start_task`](Self::start_task) start a task; the receiver learns its id.
    pub(crate) fn allow_start(&self) -> oneshot::Receiver<String> {
        let (started, receiver) = oneshot::channel();
        *self.0.start.lock().unwrap_or_else(PoisonError::into_inner) = Some(started);
        receiver
    }

    /// The answers used so far in this round, to seal into the next `requestState`.
    pub(crate) fn used_answers(&self) -> Map<String, Value> {
        match &*self.mode() {
            Mode::Rounds { used, .. } => used.clone(),
            _ => Map::new(),
        }
    }

    pub(crate) fn subject(&self) -> &str {
        &self.0.subject
    }

    async fn ask_client(&self, ask: Ask) -> Result<Value, Error> {
        let timeout = self.0.shared.options().ask_timeout;
        let asking = self.0.request.request(&ask.method, ask.params);
        match self.timeout(timeout, asking).await {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(error)) => Err(Error::failed(format!("{} failed: {error}", ask.method))),
            None => Err(Error::failed(format!(
                "{} got no answer within {} s",
                ask.method,
                timeout.as_secs()
            ))),
        }
    }

    fn ask_in_round(&self, asks: Vec<Ask>) -> Result<Vec<Value>, Error> {
        // A request that needs what the client did not declare is refused, naming it (S3.29).
        let missing: Map<String, Value> = asks
            .iter()
            .filter(|ask| !self.client_supports(ask.capability()))
            .map(|ask| (ask.capability().to_owned(), json!({})))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.keys().map(String::as_str).collect();
            let what = names.join(", ");
            return Err(Error::rpc(missing_capability(
                &what,
                Value::Object(missing),
            )));
        }
        let mut mode = self.mode();
        let Mode::Rounds { answers, used } = &mut *mode else {
            unreachable!("asked in a round");
        };
        let mut found = Vec::with_capacity(asks.len());
        let mut needed = BTreeMap::new();
        for ask in &asks {
            match answers.get(&ask.key) {
                Some(answer) => {
                    used.insert(ask.key.clone(), answer.clone());
                    found.push(answer.clone());
                }
                None => {
                    needed.insert(ask.key.clone(), ask.request());
                }
            }
        }
        if needed.is_empty() {
            Ok(found)
        } else {
            Err(Error(Kind::InputRequired(needed)))
        }
    }

    async fn ask_in_task(&self, id: &str, asks: Vec<Ask>) -> Result<Vec<Value>, Error> {
        let questions = asks
            .iter()
            .map(|ask| (ask.key.clone(), ask.request()))
            .collect();
        let waiting = self.0.shared.tasks().ask(id, questions)?;
        let mut answers = Vec::with_capacity(waiting.len());
        for answer in waiting {
            answers.push(
                answer
                    .await
                    .map_err(|_| Error::internal("the task ended while it waited for input"))?,
            );
        }
        Ok(answers)
    }

    /// `future`'s output, or `None` if `duration` passed first.
    async fn timeout<F: Future>(&self, duration: Duration, future: F) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut expiry = self
            .0
            .shared
            .runtime()
            .sleep_until(Instant::now() + duration);
        poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending => expiry.as_mut().poll(cx).map(|()| None),
        })
        .await
    }
}

/// An answer as the type it should have; `-32602` naming the key when it is not.
fn parse<T: DeserializeOwned>(key: &str, answer: Value) -> Result<T, Error> {
    serde_json::from_value(answer).map_err(|error| {
        Error::invalid_params(format!(
            "the answer to `{key}` does not fit its request: {error}"
        ))
    })
}
