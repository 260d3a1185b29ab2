//! [`Prompt`]: a named prompt template whose arguments are a typed struct.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use rust_mcp_schema::{GetPromptResult, PromptMessage};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::derive::{self, Erased};
use crate::error::Error;

/// What a prompt may return: its messages, or a whole [`GetPromptResult`].
pub trait IntoPromptResult {
    /// The result.
    fn into_prompt_result(self) -> GetPromptResult;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> GetPromptResult {
        self
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> GetPromptResult {
        GetPromptResult {
            description: None,
            messages: self,
            meta: None,
        }
    }
}

/// Suggests values for an argument from what the user typed so far.
pub(crate) type Completer = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// A prompt: name, description, arguments, and the async function that renders it.
///
/// Its arguments are the properties of `A`'s schema (their doc comments become the
/// descriptions; fields that are not `Option` are required). Prompt arguments are strings, so
/// `A`'s fields are `String` or `Option<String>`. A missing required argument is `-32602`.
#[derive(Clone)]
pub struct Prompt {
    pub(crate) name: String,
    pub(crate) descriptor: Map<String, Value>,
    pub(crate) get: Erased<GetPromptResult>,
    pub(crate) completions: HashMap<String, Completer>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("descriptor", &self.descriptor)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt named `name` rendered by `handler`.
    pub fn new<A, R, F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        handler: F,
    ) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        R: IntoPromptResult,
        F: Fn(A, Context) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, Error>> + Send + 'static,
    {
        let name = name.into();
        let mut descriptor = Map::new();
        descriptor.insert("name".into(), json!(name));
        descriptor.insert("description".into(), json!(description.into()));
        let arguments = arguments_of(&derive::of::<A>());
        if !arguments.is_empty() {
            descriptor.insert("arguments".into(), Value::Array(arguments));
        }
        let handler = Arc::new(handler);
        let render = move |arguments: A, cx: Context| {
            let rendering = handler(arguments, cx);
            async move { Ok(rendering.await?.into_prompt_result()) }
        };
        let get = derive::typed(format!("prompt {name}"), Error::invalid_params, render);
        Self {
            name,
            descriptor,
            get,
            completions: HashMap::new(),
        }
    }

    /// A title for people.
    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.descriptor.insert("title".into(), json!(title.into()));
        self
    }

    /// Suggestions for `argument` (`completion/complete`): `complete` gets what the user typed
    /// so far and returns candidate values, best first (at most 100 are sent).
    #[must_use]
    pub fn complete(
        mut self,
        argument: impl Into<String>,
        complete: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.completions.insert(argument.into(), Arc::new(complete));
        self
    }

    /// The prompt's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The prompt as `prompts/list` shows it.
    pub fn descriptor(&self) -> Value {
        Value::Object(self.descriptor.clone())
    }
}

/// `PromptArgument`s from an object schema: each property, with its description, required
/// when the schema says so.
fn arguments_of(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let mut argument =
                json!({ "name": name, "required": required.contains(&name.as_str()) });
            if let Some(description) = property["description"].as_str() {
                argument["description"] = json!(description);
            }
            argument
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Review {
        /// The code to review.
        code: String,
        /// How strict to be.
        tone: Option<String>,
    }

    #[test]
    fn arguments_come_from_the_schema_with_descriptions_and_required_flags() {
        let arguments = arguments_of(&derive::of::<Review>());
        assert_eq!(
            Value::Array(arguments),
            json!([
                { "name": "code", "description": "The code to review.", "required": true },
                { "name": "tone", "description": "How strict to be.", "required": false },
            ])
        );
    }
}
