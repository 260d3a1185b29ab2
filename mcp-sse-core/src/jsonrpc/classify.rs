//! Turning a `POST` body into messages (S5.1–S5.9, table 6.3).
//!
//! One serde pass reads the top-level members as borrowed [`RawValue`]s; their first byte tells
//! the JSON type, so checking them costs little, and only `params`, `result` and `error.data`
//! are copied out. The slow paths (a second parse to tell `-32700` from `-32600`, or to dig out
//! an id to echo) run only for bodies that are already being refused.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, de::IgnoredAny};
use serde_json::{error::Category, value::RawValue};

use super::{
    Body, ErrorObject, ErrorResponse, INVALID_REQUEST, Id, Invalid, Message, Notification,
    PARSE_ERROR, Request, Response,
};

/// Deserialises a member that is present, `null` included.
///
/// serde_json reads `null` into `None` for an `Option<&RawValue>`, which would make
/// `"id": null` (an invalid request, S5.6) indistinguishable from no `id` (a notification,
/// S5.2). With this, `null` becomes `Some("null")` and only a missing member (`#[serde(default)]`)
/// is `None`.
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(de).map(Some)
}

/// The members of a message object that matter; others are ignored. A repeated member is a
/// serde error (`Category::Data`), so an ambiguous message is refused rather than read one way.
#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// The members of an error object (S5.4).
#[derive(Deserialize)]
struct RawError<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    code: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    message: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

/// Just the id, to echo it when the rest of the object could not be read (S3.27).
#[derive(Deserialize)]
struct RawId<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
}

/// Classifies a `POST` body (table 6.3).
///
/// - Not JSON (empty, not UTF-8, a syntax error, trailing garbage): [`PARSE_ERROR`], no id.
/// - An array: a [`Body::Batch`] of its elements, each classified on its own; `[]` is a single
///   [`INVALID_REQUEST`] (S5.5).
/// - An object that is a valid message: [`Body::Single`].
/// - Any other JSON: [`INVALID_REQUEST`], echoing the id when it could be read (S3.27).
///
/// Members other than `jsonrpc`, `id`, `method`, `params`, `result` and `error` are ignored.
/// Never panics, whatever the input; nesting depth is not limited because the nested values are
/// skipped, not built.
pub fn classify(body: &[u8]) -> Result<Body, Invalid> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(parse_error("body is not UTF-8"));
    };
    match first_byte(text) {
        Some(b'{') => message(text).map(Body::Single),
        Some(b'[') => batch(text),
        _ => {
            valid_json(text)?;
            Err(invalid(None, "not a JSON object"))
        }
    }
}

/// The first byte after JSON whitespace.
fn first_byte(text: &str) -> Option<u8> {
    text.bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A non-empty array of anything: each element is a message or an [`Invalid`] (S5.5).
fn batch(text: &str) -> Result<Body, Invalid> {
    let items = match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(items) => items,
        Err(error) => return Err(refused(text, &error, None)),
    };
    if items.is_empty() {
        return Err(invalid(None, "empty batch"));
    }
    let items = items
        .into_iter()
        .map(|item| match first_byte(item.get()) {
            // The array parsed, so an element serde cannot read (a lone surrogate escape in a
            // member it skipped while checking the array) is JSON that is no message: -32600.
            Some(b'{') => message(item.get()).map_err(|refusal| match refusal.code {
                PARSE_ERROR => invalid(None, "batch element cannot be read as a message"),
                _ => refusal,
            }),
            _ => Err(invalid(None, "batch element is not a JSON object")),
        })
        .collect();
    Ok(Body::Batch(items))
}

/// One JSON object.
fn message(text: &str) -> Result<Message, Invalid> {
    let raw = match serde_json::from_str::<RawMessage<'_>>(text) {
        Ok(raw) => raw,
        Err(error) => {
            // Not JSON, or valid JSON that serde refused: a repeated member. Then echo the id
            // unless it is the repeated one.
            let id = serde_json::from_str::<RawId<'_>>(text)
                .ok()
                .and_then(|raw| raw.id)
                .and_then(|id| read_id(id).valid());
            return Err(refused(text, &error, id));
        }
    };

    let id = raw.id.map_or(IdField::Absent, read_id);
    let echo = id.clone().valid();
    let fail = |message: &str| Err(invalid(echo.clone(), message));

    if raw
        .jsonrpc
        .is_none_or(|v| read_str(v).as_deref() != Some("2.0"))
    {
        return fail("jsonrpc must be \"2.0\"");
    }

    if let Some(method) = raw.method {
        // S5.2: a request or a notification.
        if raw.result.is_some() || raw.error.is_some() {
            return fail("a message has a method or a result/error, not both");
        }
        let Some(method) = read_str(method) else {
            return fail("method must be a string");
        };
        let params = match raw.params {
            // `null` is read as no params: it carries nothing, and Python-based peers accept it.
            Some(params) if params.get() == "null" => None,
            Some(params) if params.get().starts_with('{') => Some(params.to_owned()),
            // S5.8: MCP params are always an object, never by-position.
            Some(_) => return fail("params must be an object"),
            None => None,
        };
        let method = method.into_owned();
        return match id {
            IdField::Absent => Ok(Message::Notification(Notification { method, params })),
            IdField::Valid(id) => Ok(Message::Request(Request { id, method, params })),
            IdField::Null => fail("id must not be null"),
            IdField::Bad => fail("id must be a string or an integer"),
        };
    }

    // S5.3: a response, with exactly one of `result` and `error`.
    match (raw.result, raw.error) {
        (Some(result), None) => match id {
            IdField::Valid(id) => Ok(Message::Response(Response {
                id,
                result: result.to_owned(),
            })),
            IdField::Absent => fail("a result needs an id"),
            IdField::Null => fail("id must not be null"),
            IdField::Bad => fail("id must be a string or an integer"),
        },
        (None, Some(error)) => {
            // S5.9: an error may answer a request whose id could not be read.
            let id = match id {
                IdField::Valid(id) => Some(id),
                IdField::Absent | IdField::Null => None,
                IdField::Bad => return fail("id must be a string or an integer"),
            };
            let error = error_object(error).map_err(|message| invalid(echo.clone(), message))?;
            Ok(Message::Error(ErrorResponse { id, error }))
        }
        (Some(_), Some(_)) => fail("result and error must not both be set"),
        (None, None) => fail("not a request, notification or response"),
    }
}

/// An error object: integer `code`, string `message`, any `data` (S5.4).
fn error_object(raw: &RawValue) -> Result<ErrorObject, &'static str> {
    if !raw.get().starts_with('{') {
        return Err("error must be an object");
    }
    let raw = serde_json::from_str::<RawError<'_>>(raw.get())
        .map_err(|_| "error has a repeated member")?;
    let code = raw
        .code
        .and_then(|code| code.get().parse::<i64>().ok())
        .ok_or("error.code must be an integer")?;
    let message = raw
        .message
        .and_then(read_str)
        .ok_or("error.message must be a string")?;
    Ok(ErrorObject {
        code,
        message: message.into_owned(),
        data: raw.data.map(ToOwned::to_owned),
    })
}

/// What the `id` member holds.
#[derive(Clone)]
enum IdField {
    /// No `id`: a notification, or an error response without one (S5.9).
    Absent,
    /// `"id": null`: never valid in MCP (S5.6), except on an error response.
    Null,
    /// A string or an `i64` integer.
    Valid(Id),
    /// Anything else: a fraction, an exponent, an integer beyond `i64`, a bool, an array, an
    /// object, or a string with a lone surrogate escape.
    Bad,
}

impl IdField {
    fn valid(self) -> Option<Id> {
        match self {
            IdField::Valid(id) => Some(id),
            IdField::Absent | IdField::Null | IdField::Bad => None,
        }
    }
}

fn read_id(raw: &RawValue) -> IdField {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => read_str(raw).map_or(IdField::Bad, |s| IdField::Valid(Id::String(s.into()))),
        Some(b'n') => IdField::Null,
        // The text is a valid JSON number, so `i64`'s parser sees only digits and a leading
        // `-`; it refuses fractions, exponents and overflow, which must not be rounded.
        Some(b'-' | b'0'..=b'9') => text
            .parse::<i64>()
            .map_or(IdField::Bad, |n| IdField::Valid(Id::Number(n))),
        _ => IdField::Bad,
    }
}

/// The value of a JSON string, or `None` for other JSON. Borrowed when there is nothing to
/// unescape; `None` too for a string whose `\u` escapes are not valid UTF-16 (a lone surrogate).
fn read_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        // Validated JSON: no quote, backslash or control character inside.
        Some(Cow::Borrowed(inner))
    }
}

/// `Ok` when `text` is one JSON value; the [`PARSE_ERROR`] otherwise. Skips the value without
/// building it, so it costs little and has no depth limit.
fn valid_json(text: &str) -> Result<(), Invalid> {
    serde_json::from_str::<IgnoredAny>(text)
        .map(drop)
        .map_err(|error| parse_error(&error.to_string()))
}

/// The error for a serde failure: syntax means not JSON; data means JSON of the wrong shape.
fn refused(text: &str, error: &serde_json::Error, id: Option<Id>) -> Invalid {
    match error.classify() {
        Category::Data => match valid_json(text) {
            Ok(()) => invalid(id, &error.to_string()),
            Err(parse) => parse,
        },
        Category::Syntax | Category::Eof | Category::Io => parse_error(&error.to_string()),
    }
}

fn parse_error(why: &str) -> Invalid {
    Invalid {
        code: PARSE_ERROR,
        id: None,
        message: format!("Parse error: {why}"),
    }
}

fn invalid(id: Option<Id>, why: &str) -> Invalid {
    Invalid {
        code: INVALID_REQUEST,
        id,
        message: format!("Invalid Request: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(body: &str) -> Message {
        match classify(body.as_bytes()) {
            Ok(Body::Single(message)) => message,
            other => panic!("{body}: expected a single message, got {other:?}"),
        }
    }

    fn refused(body: impl AsRef<[u8]>) -> Invalid {
        match classify(body.as_ref()) {
            Err(invalid) => invalid,
            Ok(other) => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn assert_refused(body: impl AsRef<[u8]>, code: i64, id: Option<Id>) {
        let invalid = refused(body.as_ref());
        assert_eq!(
            (invalid.code, &invalid.id),
            (code, &id),
            "{:?}: {}",
            String::from_utf8_lossy(body.as_ref()),
            invalid.message
        );
    }

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    // Table 6.3 row "not valid JSON (incl. empty body)": -32700 with `id: null` (S5.3, S5.4).
    #[test]
    fn batch_element_with_a_lone_surrogate_is_an_invalid_request_s5_5() {
        // Found by the jsonrpc_classify fuzz target: the array reads as JSON, the element's
        // string escape does not.
        let body = r#"[{"jsonrpc":"2.0","method":"x","k\udddd":1}]"#;
        let Ok(Body::Batch(items)) = classify(body.as_bytes()) else {
            panic!("a batch")
        };
        assert_eq!(items[0].as_ref().unwrap_err().code, INVALID_REQUEST);
    }

    #[test]
    fn not_json_is_parse_error_s5_4() {
        for body in [
            &b""[..],
            b"   ",
            b"{",
            b"[",
            b"[1,",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"} x",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}{}",
            b"nul",
            b"{'a':1}",
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}",
            b"{\"x\":\"\xff\"}",
            b"\xef\xbb\xbf{}",
        ] {
            assert_refused(body, PARSE_ERROR, None);
        }
    }

    // A duplicate member makes serde stop early; the rest must still be checked as JSON.
    #[test]
    fn syntax_error_after_duplicate_member_is_parse_error() {
        assert_refused(r#"{"id":1,"id":2,"#, PARSE_ERROR, None);
        assert_refused(r#"[{"id":1,"id":2}"#, PARSE_ERROR, None);
    }

    #[test]
    fn duplicate_member_is_invalid_request() {
        assert_refused(
            r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#,
            INVALID_REQUEST,
            Some(Id::Number(1)),
        );
        assert_refused(
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"a"}"#,
            INVALID_REQUEST,
            None,
        );
    }

    // S5.5: `[]` is one -32600, not an array.
    #[test]
    fn empty_batch_is_single_invalid_request_s5_5() {
        assert_refused("[]", INVALID_REQUEST, None);
        assert_refused(" [ ] ", INVALID_REQUEST, None);
    }

    // S5.5: `[1,2]` answers with one -32600 per element.
    #[test]
    fn batch_of_non_objects_s5_5() {
        let Ok(Body::Batch(items)) = classify(b"[1,2]") else {
            panic!("expected a batch");
        };
        assert_eq!(items.len(), 2);
        for item in items {
            assert_eq!(item.unwrap_err().code, INVALID_REQUEST);
        }
    }

    // S2.6, S5.5: each element is classified on its own, ids echoed where readable.
    #[test]
    fn mixed_batch_s5_5() {
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"a"},
            {"jsonrpc":"2.0","method":"n"},
            {"jsonrpc":"1.0","id":"x","method":"b"},
            [],
            {"jsonrpc":"2.0","id":2,"result":{}}]"#;
        let Ok(Body::Batch(items)) = classify(body) else {
            panic!("expected a batch");
        };
        assert_eq!(items.len(), 5);
        assert!(items[0].as_ref().unwrap().is_request());
        assert!(items[1].as_ref().unwrap().is_notification());
        assert_eq!(items[2].as_ref().unwrap_err().id, Some(Id::from("x")));
        assert_eq!(items[3].as_ref().unwrap_err().code, INVALID_REQUEST);
        assert!(items[4].as_ref().unwrap().is_response());
    }

    // Table 6.3 "valid JSON, not a JSON-RPC message".
    #[test]
    fn non_objects_are_invalid_request() {
        for body in ["1", "\"x\"", "null", "true", " 2.5 "] {
            assert_refused(body, INVALID_REQUEST, None);
        }
    }

    // S5.1 and S3.27: `jsonrpc` must be "2.0"; the readable id is echoed.
    #[test]
    fn wrong_jsonrpc_version_echoes_id_s5_1_s3_27() {
        assert_refused(
            r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            INVALID_REQUEST,
            Some(Id::Number(1)),
        );
        assert_refused(
            r#"{"id":"a","method":"x"}"#,
            INVALID_REQUEST,
            Some(Id::from("a")),
        );
        assert_refused(
            r#"{"jsonrpc":2.0,"id":1,"method":"x"}"#,
            INVALID_REQUEST,
            Some(Id::Number(1)),
        );
        assert_refused(r#"{"jsonrpc":null,"method":"x"}"#, INVALID_REQUEST, None);
        // An escaped "2.0" is still "2.0".
        assert!(single(r#"{"jsonrpc":"2\u002e0","id":1,"method":"x"}"#).is_request());
    }

    // S5.6: a null id is refused, and answered with `id: null`.
    #[test]
    fn null_id_is_invalid_s5_6() {
        assert_refused(
            r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
            INVALID_REQUEST,
            None,
        );
        assert_refused(
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            INVALID_REQUEST,
            None,
        );
    }

    // S5.2, S5.6: ids are strings or integers; fractions and out-of-range numbers are refused
    // rather than rounded, since the response must echo them exactly.
    #[test]
    fn bad_ids_s5_6() {
        for id in [
            "1.5",
            "1.0",
            "1e3",
            "9223372036854775808",
            "-9223372036854775809",
            "true",
            "[1]",
            "{}",
            r#""\ud800""#,
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"x"}}"#);
            assert_refused(&body, INVALID_REQUEST, None);
        }
        for (id, expected) in [
            ("9223372036854775807", Id::Number(i64::MAX)),
            ("-9223372036854775808", Id::Number(i64::MIN)),
            ("-0", Id::Number(0)),
            (r#""""#, Id::from("")),
            (r#""a\"b\u00e9""#, Id::from("a\"b\u{e9}")),
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"x"}}"#);
            assert_eq!(single(&body).id(), Some(&expected), "{body}");
        }
    }

    // S5.3: `"1"` and `1` are different ids.
    #[test]
    fn string_and_number_ids_differ_s5_3() {
        let a = single(r#"{"jsonrpc":"2.0","id":"1","method":"x"}"#);
        let b = single(r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#);
        assert_eq!(a.id(), Some(&Id::String("1".into())));
        assert_eq!(b.id(), Some(&Id::Number(1)));
        assert_ne!(a.id(), b.id());
    }

    // S5.8: by-position params are not MCP; the id is echoed (S3.27).
    #[test]
    fn params_must_be_object_s5_8() {
        assert_refused(
            r#"{"jsonrpc":"2.0","id":"a","method":"x","params":[1]}"#,
            INVALID_REQUEST,
            Some(Id::from("a")),
        );
        for params in ["1", "\"p\"", "true", "[]"] {
            let body = format!(r#"{{"jsonrpc":"2.0","method":"x","params":{params}}}"#);
            assert_refused(&body, INVALID_REQUEST, None);
        }
        // `null` carries nothing and is read as no params.
        let message = single(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":null}"#);
        assert!(message.params().is_none());
    }

    #[test]
    fn method_must_be_string_s5_2() {
        for method in ["1", "null", "{}", r#""\udc00""#] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":3,"method":{method}}}"#);
            assert_refused(&body, INVALID_REQUEST, Some(Id::Number(3)));
        }
        let message = single(r#"{"jsonrpc":"2.0","id":3,"method":"a\nb\u00e9\ud83d\ude00"}"#);
        assert_eq!(message.method(), Some("a\nb\u{e9}\u{1f600}"));
    }

    #[test]
    fn request_s5_2() {
        let message =
            single(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}"#);
        assert_eq!(
            message,
            Message::Request(Request {
                id: Id::Number(7),
                method: "tools/call".into(),
                params: Some(raw(r#"{"name":"x"}"#)),
            })
        );
    }

    // Params are passed through byte for byte: order, spacing and escapes kept.
    #[test]
    fn params_passthrough_byte_exact() {
        let params = r#"{"b": 2,  "a":1, "s":"\u00e9\n", "n": 1.50e3}"#;
        let body =
            format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\": {params} }}");
        assert_eq!(single(&body).params().unwrap().get(), params);
    }

    // S5.2: no `id` member is a notification; unknown members are ignored.
    #[test]
    fn notification_s5_2() {
        let message = single(
            r#"{"jsonrpc":"2.0","method":"notifications/initialized","extra":[1,{"id":null}]}"#,
        );
        assert_eq!(
            message,
            Message::Notification(Notification {
                method: "notifications/initialized".into(),
                params: None,
            })
        );
        assert_eq!(message.id(), None);
    }

    #[test]
    fn response_s5_3() {
        let message = single(r#"{"result": {"ok" : true}, "id":"r1", "jsonrpc":"2.0"}"#);
        assert_eq!(
            message,
            Message::Response(Response {
                id: Id::from("r1"),
                result: raw(r#"{"ok" : true}"#),
            })
        );
        // Any JSON is a result, `null` included.
        let message = single(r#"{"jsonrpc":"2.0","id":2,"result":null}"#);
        let Message::Response(response) = message else {
            panic!("expected a response");
        };
        assert_eq!(response.result.get(), "null");
        // A result needs an id.
        assert_refused(r#"{"jsonrpc":"2.0","result":{}}"#, INVALID_REQUEST, None);
        assert_refused(
            r#"{"jsonrpc":"2.0","id":1.5,"result":{}}"#,
            INVALID_REQUEST,
            None,
        );
    }

    // S5.3, S5.4, S5.9: error responses, with the id null or left out when it was unknown.
    #[test]
    fn error_response_s5_9() {
        let message = single(
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
        );
        assert_eq!(
            message,
            Message::Error(ErrorResponse {
                id: None,
                error: ErrorObject::new(PARSE_ERROR, "Parse error"),
            })
        );
        let message = single(r#"{"jsonrpc":"2.0","error":{"code":1,"message":"m","data":[1, 2]}}"#);
        assert_eq!(
            message,
            Message::Error(ErrorResponse {
                id: None,
                error: ErrorObject::new(1, "m").with_data(raw("[1, 2]")),
            })
        );
        let message = single(
            r#"{"jsonrpc":"2.0","id":"q","error":{"code":-32601,"message":"no","data":null}}"#,
        );
        assert_eq!(message.id(), Some(&Id::from("q")));
        let Message::Error(error) = message else {
            panic!("expected an error");
        };
        assert_eq!(error.error.data.unwrap().get(), "null");
    }

    #[test]
    fn bad_error_objects_s5_4() {
        for error in [
            "null",
            "[]",
            "\"e\"",
            r#"{"message":"m"}"#,
            r#"{"code":1}"#,
            r#"{"code":1.5,"message":"m"}"#,
            r#"{"code":"1","message":"m"}"#,
            r#"{"code":1,"message":null}"#,
            r#"{"code":1,"code":2,"message":"m"}"#,
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":4,"error":{error}}}"#);
            assert_refused(&body, INVALID_REQUEST, Some(Id::Number(4)));
        }
        assert_refused(
            r#"{"jsonrpc":"2.0","id":{},"error":{"code":1,"message":"m"}}"#,
            INVALID_REQUEST,
            None,
        );
    }

    // S5.3, S5.9: exactly one of result / error; never with a method.
    #[test]
    fn ambiguous_shapes_s5_3() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":null,"error":null}"#,
        ] {
            assert_refused(body, INVALID_REQUEST, Some(Id::Number(1)));
        }
        assert_refused("{}", INVALID_REQUEST, None);
    }

    // Nested values are skipped, not built: no depth limit and no stack overflow.
    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{deep}}}}}"#);
        assert!(single(&body).is_request());
        assert_refused(&deep[..100_000], PARSE_ERROR, None);
        let Ok(Body::Batch(items)) = classify(deep.as_bytes()) else {
            panic!("expected a batch");
        };
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn invalid_error_body_s5_9() {
        let invalid = refused(r#"{"jsonrpc":"1.0","id":"z","method":"x"}"#);
        let body = invalid.to_error_body();
        assert_eq!(
            &body[..],
            br#"{"jsonrpc":"2.0","id":"z","error":{"code":-32600,"message":"Invalid Request: jsonrpc must be \"2.0\""}}"#
        );
        let body = refused("").to_error_body();
        let Ok(Body::Single(Message::Error(error))) = classify(&body) else {
            panic!("expected an error response");
        };
        assert_eq!((error.id, error.error.code), (None, PARSE_ERROR));
    }
}
