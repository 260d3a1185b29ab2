//! `subscriptions/listen` (S3.34): opening a listen stream, announcing changes to every
//! listener that asked for them, and ending a listener with its completion result.

use std::time::Instant;

use http::StatusCode;
use serde_json::Value;

use crate::change::Change;
use crate::jsonrpc;
use crate::listeners::Filter;
use crate::replay::StreamId;
use crate::responses::{self, Ctx, Unavailable};
use crate::server::Server;
use crate::streams::{Opening, Role};

impl Server {
    /// Opens a listen stream: the acknowledgement with the honoured filter first (S3.34).
    pub(crate) fn listen(&mut self, now: Instant, ctx: &Ctx, request: jsonrpc::Request) {
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
            let response = responses::error(StatusCode::BAD_REQUEST, Some(&request.id), code, text);
            return ctx.respond(&mut self.fx, response);
        };
        if self.listeners.is_full() {
            let retry = self.config.retry_after_secs;
            let reason = Unavailable::ListenersFull;
            let response = responses::unavailable(reason, retry, Some(&request.id));
            return ctx.respond(&mut self.fx, response);
        }
        let listener = self.listeners.grant(request.id, asked);
        let mut opening = Opening::new(None, Role::Listen);
        opening.v2026 = true;
        let id = self.open_stream(now, ctx.clone(), opening);
        let mut params = serde_json::Map::new();
        params.insert("notifications".into(), listener.filter());
        let ack = listener.notification("notifications/subscriptions/acknowledged", params);
        self.streams.emit(&mut self.fx, now, id, ack);
        self.listeners.insert(id, listener);
    }

    /// Announces `change` to every listen stream that asked for it; a listener too slow to take
    /// it is ended (with its completion result) instead of holding anyone up. Returns how many
    /// streams got it.
    pub(crate) fn announce(&mut self, now: Instant, change: &Change) -> usize {
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
        let due = self.listeners.wanting(change);
        let mut sent = 0;
        for id in due {
            if self.streams.is_full(id) {
                self.end_listener(now, id);
                continue;
            }
            let Some(listener) = self.listeners.get(id) else {
                continue;
            };
            let message = listener.notification(method, params.clone());
            self.streams.emit(&mut self.fx, now, id, message);
            sent += 1;
        }
        sent
    }

    /// Ends a listen stream gracefully: its completion result, then the end (S3.34).
    pub(crate) fn end_listener(&mut self, now: Instant, id: StreamId) {
        let Some(listener) = self.listeners.remove(id) else {
            return;
        };
        self.streams
            .emit(&mut self.fx, now, id, listener.completion());
        if let Some(stream) = self.streams.end(&mut self.fx, now, id, false, None) {
            self.forget(id, stream);
        }
    }
}
