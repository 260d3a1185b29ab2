//! Property tests of JSON-RPC classification and encoding (docs/requirements.md S5.1–S5.9, §6.3).

use mcp_sse_core::jsonrpc::{
    self, Body, ErrorObject, ErrorResponse, Id, Invalid, Message, Notification, Request, Response,
};
use proptest::prelude::*;
use serde_json::{Map, Value, value::RawValue};

/// Member names and values that make objects look like messages, so that the trees reach the
/// interesting branches rather than stopping at "no method".
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "jsonrpc", "id", "method", "params", "result", "error", "code", "message", "data",
        ])
        .prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from("2.0")),
        Just(Value::from(-32600)),
        any::<String>().prop_map(Value::String),
    ]
}

/// Arbitrary JSON trees, biased towards message-shaped objects.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..7)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        any::<i64>().prop_map(Id::Number),
        any::<String>().prop_map(Id::from),
    ]
}

/// JSON text, compact or pretty, so that passthrough is checked with whitespace inside.
fn raw_text(value: Value, pretty: bool) -> Box<RawValue> {
    let text = if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    };
    RawValue::from_string(text.expect("a Value always serialises")).expect("valid JSON")
}

/// An MCP params object (S5.8).
fn params() -> impl Strategy<Value = Option<Box<RawValue>>> {
    let object = prop::collection::btree_map(any::<String>(), json(), 0..4)
        .prop_map(|map| Value::Object(map.into_iter().collect()));
    prop::option::of((object, any::<bool>()).prop_map(|(value, pretty)| raw_text(value, pretty)))
}

fn any_raw() -> impl Strategy<Value = Box<RawValue>> {
    (json(), any::<bool>()).prop_map(|(value, pretty)| raw_text(value, pretty))
}

/// Every kind of valid message.
fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (id(), any::<String>(), params())
            .prop_map(|(id, method, params)| { Message::Request(Request { id, method, params }) }),
        (any::<String>(), params())
            .prop_map(|(method, params)| Message::Notification(Notification { method, params })),
        (id(), any_raw()).prop_map(|(id, result)| Message::Response(Response { id, result })),
        (
            prop::option::of(id()),
            any::<i64>(),
            any::<String>(),
            prop::option::of(any_raw()),
        )
            .prop_map(|(id, code, message, data)| {
                let error = ErrorObject {
                    code,
                    message,
                    data,
                };
                Message::Error(ErrorResponse { id, error })
            }),
    ]
}

/// (3) An `Invalid` always answers with a JSON-RPC error response carrying its code and the
/// echoed id, or `null` (S5.3, S5.9, S3.27); and that response classifies as such.
fn check_error_body(invalid: &Invalid) -> Result<(), TestCaseError> {
    prop_assert!(invalid.code == jsonrpc::PARSE_ERROR || invalid.code == jsonrpc::INVALID_REQUEST);
    let body = invalid.to_error_body();
    let value: Value = serde_json::from_slice(&body).expect("error body is JSON");
    prop_assert_eq!(&value["jsonrpc"], "2.0");
    prop_assert_eq!(&value["error"]["code"], &Value::from(invalid.code));
    prop_assert_eq!(
        &value["error"]["message"],
        &Value::from(invalid.message.clone())
    );
    let expected_id = serde_json::to_value(&invalid.id).expect("ids serialise");
    prop_assert_eq!(&value["id"], &expected_id);

    let Ok(Body::Single(Message::Error(error))) = jsonrpc::classify(&body) else {
        return Err(TestCaseError::fail(
            "error body does not classify as an error response",
        ));
    };
    prop_assert_eq!(&error.id, &invalid.id);
    prop_assert_eq!(error.error.code, invalid.code);
    Ok(())
}

fn check_outcome(outcome: &Result<Body, Invalid>) -> Result<(), TestCaseError> {
    match outcome {
        Err(invalid) => check_error_body(invalid)?,
        Ok(Body::Batch(items)) => {
            prop_assert!(!items.is_empty(), "S5.5: [] is a single error, not a batch");
            for item in items {
                match item {
                    Err(invalid) => {
                        prop_assert_eq!(invalid.code, jsonrpc::INVALID_REQUEST);
                        check_error_body(invalid)?;
                    }
                    Ok(message) => check_reencodes(message)?,
                }
            }
        }
        Ok(Body::Single(message)) => check_reencodes(message)?,
    }
    Ok(())
}

/// A message that was accepted comes back the same after encoding it again.
fn check_reencodes(message: &Message) -> Result<(), TestCaseError> {
    let bytes = jsonrpc::encode_message(message);
    match jsonrpc::classify(&bytes) {
        Ok(Body::Single(back)) => prop_assert_eq!(&back, message),
        other => {
            return Err(TestCaseError::fail(format!(
                "re-encoded message refused: {other:?}"
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// (1) Arbitrary bytes never panic, and every outcome is answerable.
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_outcome(&jsonrpc::classify(&body))?;
    }

    /// (1) Arbitrary JSON never panics and is never a parse error (S5.4: -32700 only for bytes
    /// that are not JSON); the answer does not depend on whitespace.
    #[test]
    fn arbitrary_json_never_panics(value in json()) {
        let compact = serde_json::to_vec(&value).expect("a Value always serialises");
        let outcome = jsonrpc::classify(&compact);
        if let Err(invalid) = &outcome {
            prop_assert_eq!(invalid.code, jsonrpc::INVALID_REQUEST, "{}", invalid.message);
        }
        check_outcome(&outcome)?;

        let pretty = serde_json::to_vec_pretty(&value).expect("a Value always serialises");
        let pretty_outcome = jsonrpc::classify(&pretty);
        prop_assert_eq!(summary(&outcome), summary(&pretty_outcome));
    }

    /// (1) Message-shaped bytes cut or corrupted at one place never panic.
    #[test]
    fn corrupted_messages_never_panic(message in message(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = jsonrpc::encode_message(&message).to_vec();
        let at = at.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        check_outcome(&jsonrpc::classify(&bytes))?;
    }

    /// (2) Every valid message round-trips through encode and classify with equal fields,
    /// params and results byte for byte.
    #[test]
    fn valid_messages_roundtrip(message in message()) {
        let bytes = jsonrpc::encode_message(&message);
        prop_assert!(!bytes.contains(&b'\n') || message_has_newline_in_raw(&message));
        match jsonrpc::classify(&bytes) {
            Ok(Body::Single(back)) => prop_assert_eq!(back, message),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    /// (2) Batches of valid messages come back element by element, in order (S5.5).
    #[test]
    fn batches_roundtrip(messages in prop::collection::vec(message(), 1..5)) {
        let items: Vec<_> = messages.iter().map(jsonrpc::encode_message).collect();
        let Ok(Body::Batch(back)) = jsonrpc::classify(&jsonrpc::encode_batch(&items)) else {
            return Err(TestCaseError::fail("batch refused"));
        };
        let back: Vec<_> = back.into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(back, messages);
    }
}

/// Only application JSON (pretty-printed here) may bring line breaks; the framing never does.
fn message_has_newline_in_raw(message: &Message) -> bool {
    let raw = match message {
        Message::Request(r) => r.params.as_deref(),
        Message::Notification(n) => n.params.as_deref(),
        Message::Response(r) => Some(&*r.result),
        Message::Error(e) => e.error.data.as_deref(),
    };
    raw.is_some_and(|raw| raw.get().contains('\n'))
}

/// What classification decided, leaving out the raw JSON (which whitespace changes).
fn summary(outcome: &Result<Body, Invalid>) -> String {
    let one = |item: &Result<Message, Invalid>| match item {
        Ok(message) => format!(
            "ok {:?} {:?} {} {}",
            message.method(),
            message.id(),
            message.is_request(),
            message.is_response()
        ),
        Err(invalid) => format!("err {} {:?}", invalid.code, invalid.id),
    };
    match outcome {
        Ok(Body::Single(message)) => one(&Ok(message.clone())),
        Ok(Body::Batch(items)) => items.iter().map(one).collect::<Vec<_>>().join(","),
        Err(invalid) => format!("top {} {:?}", invalid.code, invalid.id),
    }
}
