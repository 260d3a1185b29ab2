//! [`ServerBuilder`] and [`Options`]: what a server offers and its bounds.

use std::sync::Arc;
use std::time::Duration;

use mcp_sse_app::Runtime;

use crate::prompt::Prompt;
use crate::resource::{Resource, ResourceTemplate};
use crate::seal::StateKey;
use crate::server::{McpServer, Shared};
use crate::tasks::TaskLimits;
use crate::tool::Tool;

/// The server's bounds and timings. Every field has a default ([`Options::default`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Items per page of `tools/list`, `prompts/list`, `resources/list` and
    /// `resources/templates/list`; more come through `nextCursor`. Default 100.
    pub page_size: usize,
    /// How long an ask sent to a session's client waits for its answer; then it fails (a tool
    /// error result for tools). Default 60 s.
    pub ask_timeout: Duration,
    /// The key of the `requestState` of `input_required` rounds. Default: random per process,
    /// so give several instances behind one address the same key.
    pub state_key: StateKey,
    /// How long a `requestState` stays valid. Default 1 hour.
    pub state_lifetime: Duration,
    /// The bounds of the task store.
    pub tasks: TaskLimits,
    /// How long 2026-07-28 clients may cache list results (`ttlMs`). Default 60 s.
    pub list_ttl: Duration,
    /// How long 2026-07-28 clients may cache `server/discover`. Default 5 minutes.
    pub discover_ttl: Duration,
    /// How long 2026-07-28 clients may cache `resources/read` results of resources that set
    /// no `ttl` of their own. Default 0 (read afresh).
    pub read_ttl: Duration,
    /// Whether shared caches may keep cacheable results (`cacheScope: "public"`): only when
    /// results do not depend on who asks. Default `false` (`"private"`).
    pub public_cache: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            page_size: 100,
            ask_timeout: Duration::from_secs(60),
            state_key: StateKey::random(),
            state_lifetime: Duration::from_secs(3600),
            tasks: TaskLimits::default(),
            list_ttl: Duration::from_secs(60),
            discover_ttl: Duration::from_secs(300),
            read_ttl: Duration::ZERO,
            public_cache: false,
        }
    }
}

/// Collects what a server offers; [`build`](Self::build) makes the [`McpServer`].
///
/// Registering a second tool (prompt, resource, template) of the same name (URI) replaces the
/// first, in its place: lists keep the order of registration.
#[derive(Debug)]
pub struct ServerBuilder {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) prompts: Vec<Prompt>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) templates: Vec<ResourceTemplate>,
    pub(crate) options: Options,
}

impl ServerBuilder {
    pub(crate) fn new(name: String, version: String) -> Self {
        Self {
            name,
            version,
            instructions: None,
            tools: Vec::new(),
            prompts: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            options: Options::default(),
        }
    }

    /// What the server is for and how to use it, for the model (`instructions`).
    #[must_use]
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Offers a tool.
    #[must_use]
    pub fn tool(mut self, tool: Tool) -> Self {
        replace_or_push(&mut self.tools, tool, |a, b| a.name == b.name);
        self
    }

    /// Offers a prompt.
    #[must_use]
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        replace_or_push(&mut self.prompts, prompt, |a, b| a.name == b.name);
        self
    }

    /// Offers a resource.
    #[must_use]
    pub fn resource(mut self, resource: Resource) -> Self {
        replace_or_push(&mut self.resources, resource, |a, b| a.uri == b.uri);
        self
    }

    /// Offers the resources of a URI template.
    #[must_use]
    pub fn resource_template(mut self, template: ResourceTemplate) -> Self {
        replace_or_push(&mut self.templates, template, |a, b| {
            a.uri_template() == b.uri_template()
        });
        self
    }

    /// Sets the bounds and timings.
    #[must_use]
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The server, running its tasks and timers on `runtime` (`mcp_sse_tokio::Tokio`,
    /// `mcp_sse_smol::Smol`, or your own).
    pub fn build(self, runtime: impl Runtime) -> McpServer {
        McpServer(Arc::new(Shared::new(self, Arc::new(runtime))))
    }
}

fn replace_or_push<T>(items: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) {
    match items.iter_mut().find(|known| same(known, &item)) {
        Some(known) => *known = item,
        None => items.push(item),
    }
}
