//! `subscriptions/listen` (S3.34): long-lived 2026-07-28 streams that carry the change
//! notifications a client opted in to. The application publishes a [`Change`] once; the server
//! fans it out to every matching listener.

use std::time::Instant;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use crate::jsonrpc::{self, Id};
use crate::replay::StreamId;
use crate::server::{Ctx, Server};
use crate::stream::{Conn, Role, Stream};
use crate::wire;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// A change the application announces to `subscriptions/listen` streams.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// `notifications/tools/list_changed`.
    ToolsListChanged,
    /// `notifications/prompts/list_changed`.
    PromptsListChanged,
    /// `notifications/resources/list_changed`.
    ResourcesListChanged,
    /// `notifications/resources/updated` for this URI.
    ResourceUpdated(String),
}

/// What one listen stream asked for and was granted.
#[derive(Debug)]
pub(crate) struct Listener {
    /// The listen request's id: the subscription id (S3.34).
    id: Id,
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: Vec<String>,
}

impl Listener {
    fn wants(&self, change: &Change) -> bool {
        match change {
            Change::ToolsListChanged => self.tools,
            Change::PromptsListChanged => self.prompts,
            Change::ResourcesListChanged => self.resources,
            Change::ResourceUpdated(uri) => self.uris.iter().any(|u| u == uri),
        }
    }

    /// The honoured filter, as the acknowledgement states it.
    fn filter(&self) -> Value {
        let mut filter = serde_json::Map::new();
        for (name, on) in [
            ("toolsListChanged", self.tools),
            ("promptsListChanged", self.prompts),
            ("resourcesListChanged", self.resources),
        ] {
            if on {
                filter.insert(name.into(), Value::Bool(true));
            }
        }
        if !self.uris.is_empty() {
            filter.insert("resourceSubscriptions".into(), json!(self.uris));
        }
        Value::Object(filter)
    }

    fn notification(&self, method: &str, mut params: serde_json::Map<String, Value>) -> Bytes {
        params.insert("_meta".into(), json!({ SUBSCRIPTION_ID: self.id }));
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        Bytes::from(serde_json::to_vec(&message).expect("JSON values serialise"))
    }
}

impl Server {
    /// Opens a listen stream: the acknowledgement with the honoured filter first (S3.34).
    pub(crate) fn listen(&mut self, now: Instant, ctx: &Ctx, request: jsonrpc::Request) {
        #[derive(serde::Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Filter {
            tools_list_changed: bool,
            prompts_list_changed: bool,
            resources_list_changed: bool,
            resource_subscriptions: Vec<String>,
        }
        #[derive(serde::Deserialize)]
        struct Params {
            notifications: Filter,
        }
        let params = request
            .params
            .as_ref()
            .and_then(|p| serde_json::from_str::<Params>(p.get()).ok());
        let Some(Params {
            notifications: asked,
        }) = params
        else {
            let code = jsonrpc::INVALID_PARAMS;
            let text = "Invalid params: subscriptions/listen needs a notifications filter";
            let response = wire::error(StatusCode::BAD_REQUEST, Some(&request.id), code, text);
            return self.respond(ctx, response);
        };
        let max = match self.config.v2026.max_listeners {
            0 => 1024,
            n => n,
        };
        if self.listeners.len() >= max {
            let retry = self.config.retry_after_secs;
            let text = "Subscription limit reached";
            return self.respond(ctx, wire::unavailable(retry, Some(&request.id), text));
        }
        let offer = self.config.v2026.listen;
        let listener = Listener {
            id: request.id,
            tools: asked.tools_list_changed && offer.tools_list_changed,
            prompts: asked.prompts_list_changed && offer.prompts_list_changed,
            resources: asked.resources_list_changed && offer.resources_list_changed,
            uris: match offer.resource_subscriptions {
                true => asked.resource_subscriptions,
                false => Vec::new(),
            },
        };
        let id = self.new_stream_id();
        let conn = Conn::Waiting {
            exchange: ctx.exchange,
            origin: crate::cors::allowed_value(&ctx.origin),
        };
        let mut stream = Stream::new(None, Role::Listen, conn, now);
        stream.modern = true;
        self.streams.insert(id, stream);
        self.exchanges.insert(ctx.exchange, id);
        self.upgrade(now, id, false);
        let mut params = serde_json::Map::new();
        params.insert("notifications".into(), listener.filter());
        let ack = listener.notification("notifications/subscriptions/acknowledged", params);
        self.emit(now, id, ack);
        self.listeners.insert(id, listener);
    }

    /// Announces a change to every listen stream that asked for it. A listener too slow to
    /// take it is ended (with its completion result) instead of holding anyone up. Returns how
    /// many streams got it.
    pub fn publish(&mut self, now: Instant, change: &Change) -> usize {
        let (method, params) = match change {
            Change::ToolsListChanged => {
                ("notifications/tools/list_changed", serde_json::Map::new())
            }
            Change::PromptsListChanged => {
                ("notifications/prompts/list_changed", serde_json::Map::new())
            }
            Change::ResourcesListChanged => (
                "notifications/resources/list_changed",
                serde_json::Map::new(),
            ),
            Change::ResourceUpdated(uri) => {
                let mut params = serde_json::Map::new();
                params.insert("uri".into(), Value::String(uri.clone()));
                ("notifications/resources/updated", params)
            }
        };
        let due: Vec<StreamId> = self
            .listeners
            .iter()
            .filter(|(_, l)| l.wants(change))
            .map(|(id, _)| *id)
            .collect();
        let mut sent = 0;
        for id in due {
            let full = self.queued(id) >= self.config.stream_queue_bytes;
            if full {
                self.end_listener(now, id);
                continue;
            }
            let message = self.listeners[&id].notification(method, params.clone());
            self.emit(now, id, message);
            sent += 1;
        }
        sent
    }

    /// Ends a listen stream gracefully: its completion result, then the end (S3.34).
    pub(crate) fn end_listener(&mut self, now: Instant, id: StreamId) {
        let Some(listener) = self.listeners.get(&id) else {
            return;
        };
        let result = json!({ "resultType": "complete", "_meta": { SUBSCRIPTION_ID: listener.id } });
        let result = serde_json::value::to_raw_value(&result).expect("JSON values serialise");
        let body = jsonrpc::encode_response(&listener.id, &result);
        self.emit(now, id, body);
        if let Some(exchange) = self.streams.get(&id).and_then(Stream::open_exchange) {
            self.finish(exchange);
        }
        self.remove_stream(now, id);
    }
}
