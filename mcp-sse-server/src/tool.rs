//! [`Tool`]: a named async function whose arguments are a typed struct.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use rust_mcp_schema::CallToolResult;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::content::IntoToolResult;
use crate::context::Context;
use crate::derive::{self, Erased};
use crate::error::Error;

/// Whether a tool runs as a task (the tasks extension, SEP-2663) when the client supports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never a task: the call is answered with its result (the default).
    #[default]
    Forbidden,
    /// A task when the request declares the tasks extension, else an ordinary call.
    Optional,
    /// Only as a task: a request that does not declare the extension gets `-32021`.
    Required,
}

impl TaskSupport {
    fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

/// A tool: name, description, schemas, and the async function that runs it.
///
/// The function takes the arguments, deserialized into `A` (whose [`JsonSchema`] is the tool's
/// `inputSchema`), and the call's [`Context`]; it returns anything [`IntoToolResult`]. Arguments
/// that do not fit `A` are answered with a tool error result naming what is wrong, which the
/// model can read and correct (2025-11-25 server/tools, "Error Handling").
#[derive(Clone)]
pub struct Tool {
    pub(crate) name: String,
    pub(crate) descriptor: Map<String, Value>,
    pub(crate) task_support: TaskSupport,
    pub(crate) starts_task_itself: bool,
    pub(crate) call: Erased<CallToolResult>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("descriptor", &self.descriptor)
            .field("task_support", &self.task_support)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool named `name` that runs `handler`.
    pub fn new<A, R, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        R: IntoToolResult,
        F: Fn(A, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Error>> + Send + 'static,
    {
        let name = name.into();
        let mut descriptor = Map::new();
        descriptor.insert("name".into(), json!(name));
        descriptor.insert("description".into(), json!(description.into()));
        descriptor.insert("inputSchema".into(), derive::input::<A>());
        if let Some(output) = R::output_schema() {
            descriptor.insert("outputSchema".into(), output);
        }
        let handler = Arc::new(handler);
        let run = move |arguments: A, cx: Context| {
            let running = handler(arguments, cx);
            async move { running.await?.into_tool_result() }
        };
        let call = derive::typed(format!("tool {name}"), Error::failed, run);
        Self {
            name,
            descriptor,
            task_support: TaskSupport::Forbidden,
            starts_task_itself: false,
            call,
        }
    }

    /// A title for people (the name is for the model).
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.descriptor.insert("title".into(), json!(title.into()));
        self
    }

    /// Replaces the derived `inputSchema`, e.g. to use JSON Schema keywords no Rust type
    /// expresses (`if`/`then`/`else`, `x-mcp-header`). The arguments are still deserialized
    /// into the handler's type, so keep the two in step.
    #[must_use]
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.descriptor.insert("inputSchema".into(), schema);
        self
    }

    /// Tool annotations (`readOnlyHint`, `destructiveHint`, …), as JSON.
    #[must_use]
    pub fn annotations(mut self, annotations: Value) -> Self {
        self.descriptor.insert("annotations".into(), annotations);
        self
    }

    /// Whether the tool runs as a task when the client supports the tasks extension.
    #[must_use]
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = support;
        if support == TaskSupport::Forbidden {
            self.descriptor.remove("execution");
        } else {
            let execution = json!({ "taskSupport": support.as_str() });
            self.descriptor.insert("execution".into(), execution);
        }
        self
    }

    /// For a task tool: instead of becoming a task before it starts, the tool runs in the
    /// request (asking its questions as `input_required` rounds) until it calls
    /// [`Context::start_task`], and the call is answered with the task from then on.
    #[must_use]
    pub fn starts_task_itself(mut self) -> Self {
        self.starts_task_itself = true;
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool as `tools/list` shows it.
    pub fn descriptor(&self) -> Value {
        Value::Object(self.descriptor.clone())
    }

    /// Whether a call may run twice (its annotations say it only reads, or is idempotent): in
    /// a cluster, a call whose instance died before answering runs again on the instance its
    /// client resumed on only then.
    pub(crate) fn may_run_twice(&self) -> bool {
        let hint = |name: &str| self.descriptor["annotations"][name] == Value::Bool(true);
        hint("readOnlyHint") || hint("idempotentHint")
    }
}
