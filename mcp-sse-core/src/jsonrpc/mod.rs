//! JSON-RPC 2.0 messages with MCP's restrictions (docs/requirements.md §6).
//!
//! [`classify`] turns a `POST` body into a [`Body`] or an [`Invalid`] that says which JSON-RPC
//! error to answer with (table 6.3): `-32700` when the bytes are not JSON, `-32600` when they are
//! JSON but not an MCP message. The body is parsed once; `params`, `result` and `error.data`
//! stay the client's own JSON text ([`RawValue`]), so the application decides how to read them
//! and nothing is re-serialised on the way.
//!
//! The `encode_*` functions write compact JSON by joining already-serialised pieces: the
//! application's [`RawValue`]s go out byte for byte, and only the small strings (method, error
//! message, string ids) are escaped here.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

mod classify;
mod encode;

pub use classify::classify;
pub use encode::{
    encode_batch, encode_error, encode_message, encode_notification, encode_request,
    encode_response,
};

/// Parse error: the body is not valid JSON (S5.4).
pub const PARSE_ERROR: i64 = -32700;
/// Invalid Request: valid JSON, but not a valid JSON-RPC / MCP message (S5.4, S5.6, S5.8).
pub const INVALID_REQUEST: i64 = -32600;
/// Method not found (S5.4; in v26 also answered with HTTP 404).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid params (S5.4; v26: a required `_meta` is missing).
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error (S5.4).
pub const INTERNAL_ERROR: i64 = -32603;
/// Transport-level errors of the legacy transports (table 6.3: 405, 406, 415, missing session).
pub const SERVER_ERROR: i64 = -32000;
/// Unknown or terminated session (S2.40, table 6.3; SDK convention, with HTTP 404).
pub const SESSION_NOT_FOUND: i64 = -32001;
/// v26: a request metadata header does not match the body, or is missing (S3.17, S3.20).
pub const HEADER_MISMATCH: i64 = -32020;
/// v26: the request needs a client capability that was not declared (S3.29).
pub const MISSING_CLIENT_CAPABILITY: i64 = -32021;
/// v26: the requested protocol version is not supported (S3.18).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A JSON-RPC request id. MCP allows strings and integers only, never `null` (S5.6).
///
/// `"1"` and `1` are different ids (S5.3). Numbers are the JSON integers that fit an `i64`;
/// fractions, exponents and larger integers are refused by [`classify`] rather than rounded,
/// because a response must echo the id exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id, unescaped.
    String(Box<str>),
}

impl Id {
    /// The id as compact JSON: `7` or `"seven"`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(16);
        encode::write_id(&mut out, self);
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// Shows the JSON form, so that `"1"` and `1` stay apart in logs.
impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(_) => f.write_str(&self.to_json()),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Number(n) => serializer.serialize_i64(*n),
            Id::String(s) => serializer.serialize_str(s),
        }
    }
}

impl From<i64> for Id {
    fn from(n: i64) -> Self {
        Id::Number(n)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::String(s.into())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::String(s.into_boxed_str())
    }
}

/// One JSON-RPC message (S5.2, S5.3). `params`, `result` and `error.data` are the sender's JSON
/// text, kept as is.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: it has an `id` and expects a response.
    Request(Request),
    /// A notification: no `id`, and never a response (S5.2, S5.11).
    Notification(Notification),
    /// A successful response.
    Response(Response),
    /// An error response.
    Error(ErrorResponse),
}

impl Message {
    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) | Message::Error(_) => None,
        }
    }

    /// The id of a request or response; `None` for a notification and an id-less error.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Message::Request(r) => Some(&r.id),
            Message::Response(r) => Some(&r.id),
            Message::Error(e) => e.id.as_ref(),
            Message::Notification(_) => None,
        }
    }

    /// The params of a request or notification, when it has some.
    pub fn params(&self) -> Option<&RawValue> {
        match self {
            Message::Request(r) => r.params.as_deref(),
            Message::Notification(n) => n.params.as_deref(),
            Message::Response(_) | Message::Error(_) => None,
        }
    }

    /// Whether this is a request, the only kind that is owed a response.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }

    /// Whether this is a notification.
    pub fn is_notification(&self) -> bool {
        matches!(self, Message::Notification(_))
    }

    /// Whether this is a response, successful or not.
    pub fn is_response(&self) -> bool {
        matches!(self, Message::Response(_) | Message::Error(_))
    }
}

/// A request (S5.2).
#[derive(Debug, Clone)]
pub struct Request {
    /// The id to answer with.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The params object (S5.8), as the client wrote it.
    pub params: Option<Box<RawValue>>,
}

/// A notification (S5.2): a request without an `id`.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The params object (S5.8), as the client wrote it.
    pub params: Option<Box<RawValue>>,
}

/// A successful response (S5.3).
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request it answers.
    pub id: Id,
    /// The result, as the sender wrote it.
    pub result: Box<RawValue>,
}

/// An error response (S5.3, S5.9).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorResponse {
    /// The id of the request it answers; `None` when that could not be read (`"id": null`, or
    /// no `id` from 2025-11-25 on, S5.9).
    pub id: Option<Id>,
    /// What went wrong.
    pub error: ErrorObject,
}

/// A JSON-RPC error object (S5.4).
#[derive(Debug, Clone)]
pub struct ErrorObject {
    /// The error code, e.g. [`METHOD_NOT_FOUND`].
    pub code: i64,
    /// A short description, one sentence.
    pub message: String,
    /// Extra information, as the sender wrote it.
    pub data: Option<Box<RawValue>>,
}

impl ErrorObject {
    /// An error without `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data`.
    #[must_use]
    pub fn with_data(self, data: Box<RawValue>) -> Self {
        ErrorObject {
            data: Some(data),
            ..self
        }
    }

    /// `-32601`, naming the method.
    pub fn method_not_found(method: &str) -> Self {
        ErrorObject::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
    }

    /// `-32602` with a message.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        ErrorObject::new(INVALID_PARAMS, message)
    }

    /// `-32603` with a message.
    pub fn internal_error(message: impl Into<String>) -> Self {
        ErrorObject::new(INTERNAL_ERROR, message)
    }
}

/// Raw JSON has no equality of its own; these compare the text, which is what passthrough keeps.
fn raw_eq(a: Option<&RawValue>, b: Option<&RawValue>) -> bool {
    a.map(RawValue::get) == b.map(RawValue::get)
}

impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && raw_eq(self.data.as_deref(), other.data.as_deref())
    }
}

impl PartialEq for Request {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.method == other.method
            && raw_eq(self.params.as_deref(), other.params.as_deref())
    }
}

impl PartialEq for Notification {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && raw_eq(self.params.as_deref(), other.params.as_deref())
    }
}

impl PartialEq for Response {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.result.get() == other.result.get()
    }
}

/// A classified `POST` body.
#[derive(Debug)]
pub enum Body {
    /// One message.
    Single(Message),
    /// A JSON array, never empty; each element classified on its own (JSON-RPC batch rules,
    /// S5.5). Only 2025-03-26 accepts batches (S2.6, S2.7); the caller decides.
    Batch(Vec<Result<Message, Invalid>>),
}

/// Why a body or a batch element is not a valid message, and the JSON-RPC error to answer with
/// (table 6.3). Peer misbehaviour, not a local failure: the caller answers it and goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// [`PARSE_ERROR`] or [`INVALID_REQUEST`].
    pub code: i64,
    /// The message's id, when it could be read as a valid [`Id`]: echoed back (S3.27), else
    /// `"id": null` (S5.3).
    pub id: Option<Id>,
    /// What was wrong, one short sentence.
    pub message: String,
}

impl Invalid {
    /// The error response to send back: `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…}}`.
    pub fn to_error_body(&self) -> bytes::Bytes {
        encode::encode_error_parts(self.id.as_ref(), self.code, &self.message, None)
    }

    /// The error object, for callers that build the response themselves.
    pub fn to_error_object(&self) -> ErrorObject {
        ErrorObject::new(self.code, self.message.clone())
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Invalid {}
