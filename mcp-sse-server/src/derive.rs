//! JSON Schemas derived from Rust types (schemars, JSON Schema 2020-12, the dialect MCP
//! assumes when a schema names none, SEP-1613), and [`NoArguments`].

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::error::Error;

/// A handler of JSON arguments, as the server calls it.
pub(crate) type Erased<T> =
    Arc<dyn Fn(Value, Context) -> BoxFuture<'static, Result<T, Error>> + Send + Sync>;

/// `handler`, taking JSON arguments: absent arguments count as `{}`, and arguments that do not
/// deserialize into `A` are answered with `refuse` of a message naming `what` and the reason.
pub(crate) fn typed<A, T, F, Fut>(
    what: String,
    refuse: fn(String) -> Error,
    handler: F,
) -> Erased<T>
where
    A: DeserializeOwned + Send + 'static,
    F: Fn(A, Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, Error>> + Send + 'static,
{
    Arc::new(move |arguments, cx| {
        let arguments = match arguments {
            Value::Null => Value::Object(Map::new()),
            given => given,
        };
        match serde_json::from_value::<A>(arguments) {
            Ok(arguments) => Box::pin(handler(arguments, cx)),
            Err(error) => {
                let error = refuse(format!("Invalid arguments for {what}: {error}"));
                Box::pin(async move { Err(error) })
            }
        }
    })
}

/// The schema of `T` as a JSON object, in JSON Schema 2020-12 with `$schema` naming it.
/// schemars' `title` (the Rust type's name) is left out: it says nothing to a client.
pub(crate) fn of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(fields) = &mut schema {
        fields.remove("title");
    }
    schema
}

/// A tool's input schema: `T`'s, which must describe an object (MCP requires `type: object`).
pub(crate) fn input<T: JsonSchema>() -> Value {
    let mut schema = of::<T>();
    if let Value::Object(fields) = &mut schema
        && !fields.contains_key("type")
    {
        fields.insert("type".into(), json!("object"));
    }
    schema
}

/// The arguments of a tool or prompt that takes none: accepts any arguments (and none), and
/// its schema is the empty object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoArguments;

impl<'de> Deserialize<'de> for NoArguments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| NoArguments)
    }
}

impl JsonSchema for NoArguments {
    fn schema_name() -> Cow<'static, str> {
        "NoArguments".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({ "type": "object", "properties": {} })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, Deserialize)]
    #[allow(dead_code)]
    struct Add {
        /// The first number.
        a: f64,
        b: Option<i64>,
    }

    #[test]
    fn input_schemas_are_2020_12_objects_with_required_fields_and_descriptions() {
        let schema = input::<Add>();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["a"]["type"], "number");
        assert_eq!(
            schema["properties"]["a"]["description"],
            "The first number."
        );
        assert_eq!(schema["required"], json!(["a"]));
        assert!(schema.get("title").is_none(), "{schema}");
    }

    #[test]
    fn no_arguments_is_the_empty_object_and_accepts_anything() {
        let schema = input::<NoArguments>();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"], json!({}));
        for arguments in [json!({}), json!({"x": 1}), Value::Null] {
            assert!(serde_json::from_value::<NoArguments>(arguments).is_ok());
        }
    }
}
