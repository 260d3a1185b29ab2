//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`): tool calls that answer at
//! once with a task, which the client polls (`tasks/get`), feeds (`tasks/update`) and cancels
//! (`tasks/cancel`). The store is bounded in count and in time.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures_channel::oneshot;
use futures_util::future::AbortHandle;
use mcp_sse_app::jsonrpc::ErrorObject;
use serde_json::{Map, Value, json};

use crate::error::Error;

/// The extension's name, in capabilities and `_meta`.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The bounds of the task store.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskLimits {
    /// Most tasks kept at once, running or finished. A call that would create one more gets
    /// `-32603` ("too many tasks") until one expires. Default 1024.
    pub max_tasks: usize,
    /// How long a task is kept from its creation (`ttlMs`): a task still running then is
    /// cancelled, a finished one and its result forgotten, and its id then gets `-32602`.
    /// Default 10 minutes.
    pub ttl: Duration,
    /// How often clients are told to poll (`pollIntervalMs`). Default 500 ms.
    pub poll_interval: Duration,
}

impl Default for TaskLimits {
    fn default() -> Self {
        Self {
            max_tasks: 1024,
            ttl: Duration::from_secs(600),
            poll_interval: Duration::from_millis(500),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Working,
    InputRequired,
    Completed,
    Failed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A question the task waits on.
struct Pending {
    request: Value,
    answer: oneshot::Sender<Value>,
}

struct Task {
    status: Status,
    created: SystemTime,
    updated: SystemTime,
    result: Option<Value>,
    error: Option<ErrorObject>,
    pending: BTreeMap<String, Pending>,
    abort: Option<AbortHandle>,
}

/// The tasks of one server.
pub(crate) struct Tasks {
    limits: TaskLimits,
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    tasks: HashMap<String, Task>,
    /// Ids by expiry, soonest first (every task lives `ttl` from its creation).
    expiries: VecDeque<(Instant, String)>,
}

impl Tasks {
    pub(crate) fn new(limits: TaskLimits) -> Self {
        Self {
            limits,
            store: Mutex::default(),
        }
    }

    /// A new working task; `-32603` when the store is full.
    pub(crate) fn create(&self, abort: Option<AbortHandle>) -> Result<String, Error> {
        let mut store = self.store();
        if store.tasks.len() >= self.limits.max_tasks {
            return Err(Error::internal(format!(
                "Too many tasks: at most {} are kept; retry when one has expired",
                self.limits.max_tasks
            )));
        }
        let id = new_id();
        let now = SystemTime::now();
        store.tasks.insert(
            id.clone(),
            Task {
                status: Status::Working,
                created: now,
                updated: now,
                result: None,
                error: None,
                pending: BTreeMap::new(),
                abort,
            },
        );
        store
            .expiries
            .push_back((Instant::now() + self.limits.ttl, id.clone()));
        Ok(id)
    }

    /// Lets `tasks/cancel` stop the task's work; stops it at once when it was cancelled already.
    pub(crate) fn set_abort(&self, id: &str, abort: AbortHandle) {
        let mut store = self.store();
        match store.tasks.get_mut(id) {
            Some(task) if !task.status.is_terminal() => task.abort = Some(abort),
            _ => abort.abort(),
        }
    }

    /// The `CreateTaskResult` of a new task: the task's fields, flat (SEP-2663).
    pub(crate) fn created(&self, id: &str) -> Result<Value, Error> {
        let store = self.store();
        let task = store.tasks.get(id).ok_or_else(|| unknown(id))?;
        let mut result = self.fields(id, task);
        result.insert("resultType".into(), json!("task"));
        Ok(Value::Object(result))
    }

    /// `tasks/get`: the task, with its result, error or pending questions (`DetailedTask`).
    pub(crate) fn get(&self, id: &str) -> Result<Value, Error> {
        let store = self.store();
        let task = store.tasks.get(id).ok_or_else(|| unknown(id))?;
        let mut detailed = self.fields(id, task);
        match task.status {
            Status::Completed => {
                detailed.insert(
                    "result".into(),
                    task.result.clone().unwrap_or_else(|| json!({})),
                );
            }
            Status::Failed => {
                let error = task.error.as_ref().map_or_else(
                    || json!({ "code": -32603, "message": "failed" }),
                    error_json,
                );
                detailed.insert("error".into(), error);
            }
            Status::InputRequired => {
                let requests: Map<String, Value> = task
                    .pending
                    .iter()
                    .map(|(key, pending)| (key.clone(), pending.request.clone()))
                    .collect();
                detailed.insert("inputRequests".into(), Value::Object(requests));
            }
            Status::Working | Status::Cancelled => {}
        }
        Ok(Value::Object(detailed))
    }

    /// The task waits for answers to `questions` (by key); the receivers get them in order.
    pub(crate) fn ask(
        &self,
        id: &str,
        questions: Vec<(String, Value)>,
    ) -> Result<Vec<oneshot::Receiver<Value>>, Error> {
        let mut store = self.store();
        let task = store.tasks.get_mut(id).ok_or_else(|| unknown(id))?;
        if task.status.is_terminal() {
            return Err(Error::internal("the task is over"));
        }
        let mut receivers = Vec::with_capacity(questions.len());
        for (key, request) in questions {
            let (answer, receiver) = oneshot::channel();
            task.pending.insert(key, Pending { request, answer });
            receivers.push(receiver);
        }
        task.status = Status::InputRequired;
        task.updated = SystemTime::now();
        Ok(receivers)
    }

    /// `tasks/update`: hands the answers to the questions they name; keys nobody asked are
    /// ignored. The task works again once every question is answered.
    pub(crate) fn update(&self, id: &str, answers: Map<String, Value>) -> Result<(), Error> {
        let mut store = self.store();
        let task = store.tasks.get_mut(id).ok_or_else(|| unknown(id))?;
        for (key, answer) in answers {
            if let Some(pending) = task.pending.remove(&key) {
                let _ = pending.answer.send(answer);
            }
        }
        if task.status == Status::InputRequired && task.pending.is_empty() {
            task.status = Status::Working;
            task.updated = SystemTime::now();
        }
        Ok(())
    }

    /// `tasks/cancel`: stops the work; a task already over stays as it was (idempotent).
    pub(crate) fn cancel(&self, id: &str) -> Result<(), Error> {
        let mut store = self.store();
        let task = store.tasks.get_mut(id).ok_or_else(|| unknown(id))?;
        if !task.status.is_terminal() {
            task.status = Status::Cancelled;
            task.updated = SystemTime::now();
            task.pending.clear();
            if let Some(abort) = task.abort.take() {
                abort.abort();
            }
        }
        Ok(())
    }

    /// The work's outcome: `completed` with its result, or `failed` with a protocol error.
    /// Nothing changes for a task that was cancelled meanwhile.
    pub(crate) fn finish(&self, id: &str, outcome: Result<Value, ErrorObject>) {
        let mut store = self.store();
        let Some(task) = store.tasks.get_mut(id) else {
            return;
        };
        if task.status.is_terminal() {
            return;
        }
        match outcome {
            Ok(result) => {
                task.status = Status::Completed;
                task.result = Some(result);
            }
            Err(error) => {
                task.status = Status::Failed;
                task.error = Some(error);
            }
        }
        task.updated = SystemTime::now();
        task.pending.clear();
        task.abort = None;
    }

    fn fields(&self, id: &str, task: &Task) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("taskId".into(), json!(id));
        fields.insert("status".into(), json!(task.status.as_str()));
        fields.insert("createdAt".into(), json!(timestamp(task.created)));
        fields.insert("lastUpdatedAt".into(), json!(timestamp(task.updated)));
        fields.insert("ttlMs".into(), json!(millis(self.limits.ttl)));
        fields.insert(
            "pollIntervalMs".into(),
            json!(millis(self.limits.poll_interval).max(1)),
        );
        fields
    }

    /// The store, with the tasks past their time gone (a running one is stopped).
    fn store(&self) -> MutexGuard<'_, Store> {
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while store.expiries.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, id)) = store.expiries.pop_front() else {
                break;
            };
            if let Some(task) = store.tasks.remove(&id)
                && let Some(abort) = task.abort
            {
                abort.abort();
            }
        }
        store
    }
}

fn unknown(id: &str) -> Error {
    Error::invalid_params(format!("Unknown task: {id}"))
}

fn error_json(error: &ErrorObject) -> Value {
    let mut json = json!({ "code": error.code, "message": error.message });
    if let Some(data) = error
        .data
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
    {
        json["data"] = data;
    }
    json
}

/// 128 random bits, hex: a task id is its own capability (whoever knows it may use it).
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(max_tasks: usize, ttl: Duration) -> Tasks {
        Tasks::new(TaskLimits {
            max_tasks,
            ttl,
            ..TaskLimits::default()
        })
    }

    #[test]
    fn a_task_goes_from_working_through_input_required_to_completed() {
        let tasks = tasks(4, Duration::from_secs(60));
        let id = tasks.create(None).expect("room");
        let created = tasks.created(&id).expect("known");
        assert_eq!(
            (created["resultType"].as_str(), created["status"].as_str()),
            (Some("task"), Some("working"))
        );
        assert!(
            created["createdAt"]
                .as_str()
                .is_some_and(|at| at.ends_with('Z'))
        );
        let mut waiting = tasks
            .ask(
                &id,
                vec![
                    ("a".into(), json!({ "method": "roots/list" })),
                    ("b".into(), json!({ "method": "roots/list" })),
                ],
            )
            .expect("running");
        assert_eq!(
            tasks.get(&id).expect("known")["inputRequests"]
                .as_object()
                .map(Map::len),
            Some(2)
        );
        tasks
            .update(
                &id,
                Map::from_iter([("a".into(), json!(1)), ("zzz".into(), json!(0))]),
            )
            .expect("known");
        let detailed = tasks.get(&id).expect("known");
        assert_eq!(detailed["status"], "input_required");
        assert_eq!(
            detailed["inputRequests"],
            json!({ "b": { "method": "roots/list" } })
        );
        tasks
            .update(&id, Map::from_iter([("b".into(), json!(2))]))
            .expect("known");
        assert_eq!(tasks.get(&id).expect("known")["status"], "working");
        let answers: Vec<Value> = waiting
            .iter_mut()
            .map(|answer| answer.try_recv().ok().flatten().expect("answered"))
            .collect();
        assert_eq!(answers, [json!(1), json!(2)]);
        tasks.finish(&id, Ok(json!({ "content": [] })));
        let detailed = tasks.get(&id).expect("known");
        assert_eq!(
            (detailed["status"].as_str(), &detailed["result"]),
            (Some("completed"), &json!({ "content": [] }))
        );
    }

    #[test]
    fn cancel_stops_the_work_and_is_idempotent_and_unknown_ids_are_invalid_params() {
        let tasks = tasks(4, Duration::from_secs(60));
        let id = tasks.create(None).expect("room");
        let (abort, registration) = AbortHandle::new_pair();
        tasks.set_abort(&id, abort);
        tasks.cancel(&id).expect("known");
        assert!(registration.handle().is_aborted());
        tasks.finish(&id, Ok(json!({})));
        assert_eq!(tasks.get(&id).expect("known")["status"], "cancelled");
        tasks.cancel(&id).expect("idempotent");
        for error in [
            tasks.get("nope").expect_err("unknown"),
            tasks.cancel("nope").expect_err("unknown"),
        ] {
            assert_eq!(error.code(), Some(-32602));
        }
    }

    #[test]
    fn the_store_is_bounded_in_count_and_time() {
        let tasks = tasks(2, Duration::from_millis(50));
        let first = tasks.create(None).expect("room");
        let (abort, registration) = AbortHandle::new_pair();
        tasks.set_abort(&first, abort);
        tasks.create(None).expect("room");
        assert_eq!(tasks.create(None).expect_err("full").code(), Some(-32603));
        std::thread::sleep(Duration::from_millis(60));
        // Expired: forgotten (a running one stopped), and room again.
        assert_eq!(tasks.get(&first).expect_err("expired").code(), Some(-32602));
        assert!(registration.handle().is_aborted());
        tasks.create(None).expect("room after expiry");
    }
}
