//! Compact JSON output built from already-serialised pieces (never re-serialising the
//! application's [`RawValue`]s).

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use super::{ErrorObject, Id, Message};

const HEAD: &[u8] = br#"{"jsonrpc":"2.0""#;

/// Room for the fixed members, the id and a short method or message.
const FRAME: usize = 64;

/// Appends one small value (a string or an integer) as JSON; serde_json escapes strings and
/// never writes a raw line break.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("strings and integers always serialise into a Vec");
}

/// Appends an id: `7` or `"seven"`.
pub(super) fn write_id(out: &mut Vec<u8>, id: &Id) {
    match id {
        Id::Number(n) => write_json(out, n),
        Id::String(s) => write_json(out, &**s),
    }
}

fn write_method(out: &mut Vec<u8>, method: &str, params: Option<&RawValue>) {
    out.extend_from_slice(br#","method":"#);
    write_json(out, method);
    if let Some(params) = params {
        out.extend_from_slice(br#","params":"#);
        out.extend_from_slice(params.get().as_bytes());
    }
    out.push(b'}');
}

/// `{"jsonrpc":"2.0","id":…,"result":…}` (S5.3).
pub fn encode_response(id: &Id, result: &RawValue) -> Bytes {
    let mut out = Vec::with_capacity(FRAME + result.get().len());
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    write_id(&mut out, id);
    out.extend_from_slice(br#","result":"#);
    out.extend_from_slice(result.get().as_bytes());
    out.push(b'}');
    out.into()
}

/// `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…,"data":…}}` (S5.3, S5.4). Without an
/// id the response says `"id":null`: JSON-RPC requires it and the SDKs' clients expect it (S5.9).
pub fn encode_error(id: Option<&Id>, error: &ErrorObject) -> Bytes {
    encode_error_parts(id, error.code, &error.message, error.data.as_deref())
}

pub(super) fn encode_error_parts(
    id: Option<&Id>,
    code: i64,
    message: &str,
    data: Option<&RawValue>,
) -> Bytes {
    let data_len = data.map_or(0, |data| data.get().len());
    let mut out = Vec::with_capacity(FRAME + message.len() + data_len);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    match id {
        Some(id) => write_id(&mut out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","error":{"code":"#);
    write_json(&mut out, &code);
    out.extend_from_slice(br#","message":"#);
    write_json(&mut out, message);
    if let Some(data) = data {
        out.extend_from_slice(br#","data":"#);
        out.extend_from_slice(data.get().as_bytes());
    }
    out.extend_from_slice(b"}}");
    out.into()
}

/// `{"jsonrpc":"2.0","id":…,"method":…,"params":…}` (S5.2); `params` is left out when `None`.
pub fn encode_request(id: &Id, method: &str, params: Option<&RawValue>) -> Bytes {
    let params_len = params.map_or(0, |params| params.get().len());
    let mut out = Vec::with_capacity(FRAME + method.len() + params_len);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(br#","id":"#);
    write_id(&mut out, id);
    write_method(&mut out, method, params);
    out.into()
}

/// `{"jsonrpc":"2.0","method":…,"params":…}` (S5.2); `params` is left out when `None`.
pub fn encode_notification(method: &str, params: Option<&RawValue>) -> Bytes {
    let params_len = params.map_or(0, |params| params.get().len());
    let mut out = Vec::with_capacity(FRAME + method.len() + params_len);
    out.extend_from_slice(HEAD);
    write_method(&mut out, method, params);
    out.into()
}

/// Any [`Message`], with the function for its kind.
pub fn encode_message(message: &Message) -> Bytes {
    match message {
        Message::Request(r) => encode_request(&r.id, &r.method, r.params.as_deref()),
        Message::Notification(n) => encode_notification(&n.method, n.params.as_deref()),
        Message::Response(r) => encode_response(&r.id, &r.result),
        Message::Error(e) => encode_error(e.id.as_ref(), &e.error),
    }
}

/// Joins already-encoded messages into a JSON array, for a batch response (S5.5).
///
/// JSON-RPC never answers with an empty array (S5.5: nothing at all, or `202` in MCP); given
/// no items this still returns `[]`, and deciding not to send it is the caller's job.
pub fn encode_batch(items: &[Bytes]) -> Bytes {
    let len = items.iter().map(|item| item.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len + 2);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out.push(b']');
    out.into()
}

#[cfg(test)]
mod tests {
    use super::super::{
        Body, ErrorResponse, METHOD_NOT_FOUND, Notification, PARSE_ERROR, Request, Response,
        classify,
    };
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    fn roundtrip(message: &Message) {
        let bytes = encode_message(message);
        assert!(!bytes.contains(&b'\n') && !bytes.contains(&b'\r'));
        match classify(&bytes) {
            Ok(Body::Single(back)) => assert_eq!(&back, message),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(&bytes)),
        }
    }

    #[test]
    fn response_bytes_s5_3() {
        let bytes = encode_response(&Id::Number(1), &raw(r#"{"b": 2,  "a":1}"#));
        assert_eq!(
            &bytes[..],
            br#"{"jsonrpc":"2.0","id":1,"result":{"b": 2,  "a":1}}"#
        );
        let bytes = encode_response(&Id::from("1"), &raw("{}"));
        assert_eq!(&bytes[..], br#"{"jsonrpc":"2.0","id":"1","result":{}}"#);
    }

    // S5.9: an unknown id is written as `"id":null`.
    #[test]
    fn error_bytes_s5_9() {
        let error = ErrorObject::new(METHOD_NOT_FOUND, "Method not found");
        let bytes = encode_error(Some(&Id::Number(-3)), &error);
        assert_eq!(
            &bytes[..],
            br#"{"jsonrpc":"2.0","id":-3,"error":{"code":-32601,"message":"Method not found"}}"#
        );
        let error = ErrorObject::new(PARSE_ERROR, "a \"b\"\n").with_data(raw(r#"{"x":[1]}"#));
        let bytes = encode_error(None, &error);
        assert_eq!(
            &bytes[..],
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"a \"b\"\n","data":{"x":[1]}}}"#
        );
    }

    #[test]
    fn request_and_notification_bytes_s5_2() {
        let bytes = encode_request(
            &Id::from("a\u{2028}\0"),
            "sampling/createMessage",
            Some(&raw("{}")),
        );
        assert_eq!(
            &bytes[..],
            "{\"jsonrpc\":\"2.0\",\"id\":\"a\u{2028}\\u0000\",\"method\":\"sampling/createMessage\",\"params\":{}}".as_bytes()
        );
        let bytes = encode_request(&Id::Number(0), "ping", None);
        assert_eq!(&bytes[..], br#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#);
        let bytes = encode_notification("notifications/progress", Some(&raw(r#"{"progress":1}"#)));
        assert_eq!(
            &bytes[..],
            br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#
        );
        let bytes = encode_notification("n", None);
        assert_eq!(&bytes[..], br#"{"jsonrpc":"2.0","method":"n"}"#);
    }

    #[test]
    fn batch_bytes_s5_5() {
        let items = [
            encode_request(&Id::Number(1), "a", None),
            encode_notification("b", None),
        ];
        assert_eq!(
            &encode_batch(&items)[..],
            br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#
        );
        assert_eq!(&encode_batch(&[])[..], b"[]");
        let Ok(Body::Batch(back)) = classify(&encode_batch(&items)) else {
            panic!("expected a batch");
        };
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn id_display_and_json() {
        assert_eq!(Id::Number(-5).to_json(), "-5");
        assert_eq!(Id::from("x\"y").to_json(), r#""x\"y""#);
        assert_eq!(Id::from("1").to_string(), r#""1""#);
        assert_eq!(Id::Number(1).to_string(), "1");
        assert_eq!(serde_json::to_string(&Id::from("s")).unwrap(), r#""s""#);
        assert_eq!(serde_json::to_string(&Id::Number(9)).unwrap(), "9");
    }

    #[test]
    fn every_kind_roundtrips() {
        roundtrip(&Message::Request(Request {
            id: Id::Number(i64::MIN),
            method: "tools/list".into(),
            params: Some(raw(r#"{"cursor": "c\n"}"#)),
        }));
        roundtrip(&Message::Request(Request {
            id: Id::from("\u{0}\u{1f600}\\"),
            method: "\t\"".into(),
            params: None,
        }));
        roundtrip(&Message::Notification(Notification {
            method: "notifications/cancelled".into(),
            params: Some(raw(r#"{"requestId":1}"#)),
        }));
        roundtrip(&Message::Response(Response {
            id: Id::Number(42),
            result: raw(r#"[ 1 , "two" ]"#),
        }));
        roundtrip(&Message::Error(ErrorResponse {
            id: Some(Id::from("e")),
            error: ErrorObject::invalid_params("bad").with_data(raw("null")),
        }));
        roundtrip(&Message::Error(ErrorResponse {
            id: None,
            error: ErrorObject::internal_error(""),
        }));
    }
}
