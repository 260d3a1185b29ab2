//! [`Listeners`]: the 2026-07-28 `subscriptions/listen` streams open (S3.34), what each asked
//! for and was granted, and the notifications they get. The application publishes a [`Change`]
//! once; the server fans it out to every matching listener.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::Config;
use crate::change::Change;
use crate::config::ListenSupport;
use crate::ids::Map;
use crate::jsonrpc::{self, Id};
use crate::replay::StreamId;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

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
    pub(crate) fn wants(&self, change: &Change) -> bool {
        match change {
            Change::ToolsListChanged => self.tools,
            Change::PromptsListChanged => self.prompts,
            Change::ResourcesListChanged => self.resources,
            Change::ResourceUpdated(uri) => self.uris.iter().any(|u| u == uri),
        }
    }

    /// The honoured filter, as the acknowledgement states it.
    pub(crate) fn filter(&self) -> Value {
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

    pub(crate) fn notification(
        &self,
        method: &str,
        mut params: serde_json::Map<String, Value>,
    ) -> Bytes {
        params.insert("_meta".into(), json!({ SUBSCRIPTION_ID: self.id }));
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        Bytes::from(serde_json::to_vec(&message).expect("JSON values serialise"))
    }

    /// The listen request's result, which ends the stream (S3.34).
    pub(crate) fn completion(&self) -> Bytes {
        let result = json!({ "resultType": "complete", "_meta": { SUBSCRIPTION_ID: self.id } });
        let result = serde_json::value::to_raw_value(&result).expect("JSON values serialise");
        jsonrpc::encode_response(&self.id, &result)
    }
}

/// The notifications one listen request asks for (S3.34).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Filter {
    tools_list_changed: bool,
    prompts_list_changed: bool,
    resources_list_changed: bool,
    resource_subscriptions: Vec<String>,
}

/// The open listen streams and what each was granted.
#[derive(Debug)]
pub(crate) struct Listeners {
    max: usize,
    offer: ListenSupport,
    table: Map<StreamId, Listener>,
}

impl Listeners {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max: match config.v2026.max_listeners {
                0 => 1024,
                n => n,
            },
            offer: config.v2026.listen,
            table: Map::default(),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.table.len() >= self.max
    }

    /// The listener a request asking for `asked` gets: what is asked and offered.
    pub(crate) fn grant(&self, id: Id, asked: Filter) -> Listener {
        let offer = self.offer;
        Listener {
            id,
            tools: asked.tools_list_changed && offer.tools_list_changed,
            prompts: asked.prompts_list_changed && offer.prompts_list_changed,
            resources: asked.resources_list_changed && offer.resources_list_changed,
            uris: match offer.resource_subscriptions {
                true => asked.resource_subscriptions,
                false => Vec::new(),
            },
        }
    }

    pub(crate) fn streams(&self) -> Vec<StreamId> {
        self.table.keys().copied().collect()
    }

    pub(crate) fn get(&self, stream: StreamId) -> Option<&Listener> {
        self.table.get(&stream)
    }

    /// The listen streams that want `change`.
    pub(crate) fn wanting(&self, change: &Change) -> Vec<StreamId> {
        self.table
            .iter()
            .filter(|(_, l)| l.wants(change))
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn insert(&mut self, stream: StreamId, listener: Listener) {
        self.table.insert(stream, listener);
    }

    pub(crate) fn remove(&mut self, stream: StreamId) -> Option<Listener> {
        self.table.remove(&stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_gets_what_it_asked_for_and_is_offered_s3_34() {
        let mut config = Config::default();
        config.v2026.listen.tools_list_changed = true;
        config.v2026.listen.resource_subscriptions = true;
        let mut listeners = Listeners::new(&config);
        let asked = Filter {
            tools_list_changed: true,
            prompts_list_changed: true,
            resources_list_changed: false,
            resource_subscriptions: vec!["file:///a".into()],
        };
        let listener = listeners.grant(Id::Number(7), asked);
        assert_eq!(
            listener.filter(),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]}),
            "prompts were asked for, not offered"
        );
        listeners.insert(StreamId(1), listener);
        assert_eq!(listeners.wanting(&Change::ToolsListChanged), [StreamId(1)]);
        assert!(listeners.wanting(&Change::PromptsListChanged).is_empty());
        let updated = |uri: &str| Change::ResourceUpdated(uri.into());
        assert_eq!(listeners.wanting(&updated("file:///a")), [StreamId(1)]);
        assert!(listeners.wanting(&updated("file:///b")).is_empty());
        let note = listeners
            .get(StreamId(1))
            .unwrap()
            .notification("notifications/tools/list_changed", serde_json::Map::new());
        let note: Value = serde_json::from_slice(&note).unwrap();
        assert_eq!(
            note["params"]["_meta"][SUBSCRIPTION_ID], 7,
            "the subscription id"
        );
        assert!(listeners.remove(StreamId(1)).is_some());
        assert!(listeners.wanting(&Change::ToolsListChanged).is_empty());
    }
}
