//! What the core must know of the handler before any 2026-07-28 request reaches it (S3.19): the
//! methods it serves, the `subscriptions/listen` notifications it produces, and the tool
//! parameters clients mirror in `Mcp-Param-*` headers, read from the handler itself.

use std::time::Duration;

use mcp_sse_app::Config;
use mcp_sse_app::core::{ListenSupport, ToolHeader};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerCapabilities, SubscriptionFilter};
use rmcp::service::serve_directly_with_ct;
use rmcp::transport::OneshotTransport;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::bridge::{Bridge, Factory};

/// Most `tools/list` pages read; a handler that pages on beyond it is read that far.
const MAX_PAGES: usize = 100;
/// How long the handler may take to list its tools.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

impl<S: ServerHandler> Bridge<S> {
    /// `config`, with what the core must know of the handler to judge 2026-07-28 requests before
    /// they reach it, read from a fresh handler (never kept in sync by hand):
    ///
    /// - `v2026.methods`: `server/discover`, and the methods of every capability `get_info`
    ///   declares (tools, prompts, resources, completions, and the tasks and skills
    ///   extensions); other methods get `404` + `-32601` from the core. Methods already listed
    ///   stay, for `on_custom_request` methods.
    /// - `v2026.listen`: the notification kinds both the capabilities and the handler's
    ///   `accepted_subscription_filter` offer.
    /// - `v2026.tool_headers`: the `x-mcp-header` annotations of the tools `list_tools`
    ///   returns (every page), read once, now, on a thread of its own with a runtime of its own
    ///   (so this may be called inside or outside a runtime).
    ///
    /// A factory that fails leaves `config` as it was, with a warning.
    pub fn declare(&self, mut config: Config) -> Config {
        let handler = match (self.factory())() {
            Ok(handler) => handler,
            Err(error) => {
                tracing::warn!(%error, "the rmcp service factory failed: nothing declared");
                return config;
            }
        };
        let capabilities = handler.get_info().capabilities;
        let declared = &mut config.v2026;
        for method in methods(&capabilities) {
            if !declared.methods.iter().any(|m| m == method) {
                declared.methods.push(method.to_owned());
            }
        }
        declared.listen = listen(&handler, &capabilities);
        if capabilities.tools.is_some() {
            let tools = list_tools(self.factory());
            declared.tool_headers.extend(ToolHeader::from_tools(&tools));
        }
        config
    }
}

/// The 2026-07-28 methods an rmcp handler with these capabilities answers (rmcp answers the
/// others `-32601` itself).
fn methods(capabilities: &ServerCapabilities) -> Vec<&'static str> {
    let mut methods = vec!["server/discover"];
    if capabilities.tools.is_some() {
        methods.extend(["tools/list", "tools/call"]);
    }
    if capabilities.prompts.is_some() {
        methods.extend(["prompts/list", "prompts/get"]);
    }
    if capabilities.resources.is_some() {
        methods.extend([
            "resources/list",
            "resources/templates/list",
            "resources/read",
        ]);
    }
    if capabilities.completions.is_some() {
        methods.push("completion/complete");
    }
    if capabilities.supports_tasks() {
        methods.extend(["tasks/get", "tasks/update", "tasks/cancel"]);
    }
    if capabilities.supports_skills() {
        methods.extend(["skills/list", "skills/get"]);
    }
    if capabilities.supports_directory_read() {
        methods.push("resources/directory/read");
    }
    methods
}

/// The listen kinds both the capabilities and the handler offer, as rmcp's own service
/// intersects them for each listen request.
fn listen<S: ServerHandler>(handler: &S, capabilities: &ServerCapabilities) -> ListenSupport {
    let everything = SubscriptionFilter::builder()
        .tools_list_changed()
        .prompts_list_changed()
        .resources_list_changed()
        .resource_subscription("")
        .build();
    let mut support = ListenSupport::default();
    let Some(accepted) = handler.accepted_subscription_filter(&everything) else {
        return support;
    };
    let on = |flag: Option<bool>| flag == Some(true);
    let tools = capabilities.tools.as_ref();
    let prompts = capabilities.prompts.as_ref();
    let resources = capabilities.resources.as_ref();
    support.tools_list_changed =
        on(accepted.tools_list_changed) && tools.is_some_and(|t| on(t.list_changed));
    support.prompts_list_changed =
        on(accepted.prompts_list_changed) && prompts.is_some_and(|p| on(p.list_changed));
    support.resources_list_changed =
        on(accepted.resources_list_changed) && resources.is_some_and(|r| on(r.list_changed));
    support.resource_subscriptions =
        accepted.resource_subscriptions.is_some() && resources.is_some_and(|r| on(r.subscribe));
    support
}

/// Every tool the handler lists, as JSON (empty when it cannot be read).
fn list_tools<S: ServerHandler>(factory: Factory<S>) -> Value {
    let read = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            tokio::time::timeout(LIST_TIMEOUT, pages(&factory))
                .await
                .ok()
                .flatten()
        })
    });
    let tools = read.join().ok().flatten();
    if tools.is_none() {
        tracing::warn!("the handler's tools could not be listed: no Mcp-Param-* headers declared");
    }
    Value::Array(tools.unwrap_or_default())
}

async fn pages<S: ServerHandler>(factory: &Factory<S>) -> Option<Vec<Value>> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = json!({"jsonrpc": "2.0", "id": 0, "method": "tools/list"});
        if let Some(cursor) = &cursor {
            request["params"] = json!({ "cursor": cursor });
        }
        let request: ClientJsonRpcMessage = serde_json::from_value(request).ok()?;
        let (transport, mut outbound) = OneshotTransport::<RoleServer>::new(request);
        let service = factory().ok()?;
        let _running = serve_directly_with_ct(service, transport, None, CancellationToken::new());
        let page = loop {
            match outbound.recv().await? {
                JsonRpcMessage::Response(response) => {
                    break serde_json::to_value(response.result).ok()?;
                }
                JsonRpcMessage::Error(_) => return None,
                _ => {}
            }
        };
        tools.extend(page["tools"].as_array().into_iter().flatten().cloned());
        cursor = page["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Some(tools)
}
