//! [`Error`]: how a tool, prompt or resource handler fails, and what the client is told.

use std::collections::BTreeMap;
use std::fmt;

use mcp_sse_app::jsonrpc::{self, ErrorObject};
use serde_json::Value;

/// Why a handler has no result.
///
/// - [`Error::failed`]: the work ran and failed. A tool answers with a result whose `isError`
///   is `true` and whose text is the message, so the model can read it and correct itself (the
///   spec's "tool execution error"); a prompt or resource answers with `-32603`.
/// - [`Error::rpc`] and its shortcuts: a JSON-RPC error (a protocol error: bad params, an
///   unknown name, a capability the client lacks).
///
/// The asks of [`Context`](crate::Context) return it too, so `?` passes on what they could
/// not get, including the "answers needed first" of a 2026-07-28 `input_required` round.
#[derive(Debug)]
pub struct Error(pub(crate) Kind);

#[derive(Debug)]
pub(crate) enum Kind {
    Failed(String),
    Rpc(ErrorObject),
    /// Answers are missing: the requests (by key: `{method, params}`) to send in an
    /// `input_required` result.
    InputRequired(BTreeMap<String, Value>),
}

impl Error {
    /// The work failed: a tool error result (`isError: true`) for tools, `-32603` otherwise.
    pub fn failed(message: impl Into<String>) -> Self {
        Self(Kind::Failed(message.into()))
    }

    /// A JSON-RPC error.
    pub fn rpc(error: ErrorObject) -> Self {
        Self(Kind::Rpc(error))
    }

    /// `-32602`, invalid params.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::rpc(ErrorObject::invalid_params(message))
    }

    /// `-32603`, an internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::rpc(ErrorObject::internal_error(message))
    }

    /// The JSON-RPC error code this becomes outside a tool, `None` while answers are awaited.
    pub fn code(&self) -> Option<i64> {
        match &self.0 {
            Kind::Failed(_) => Some(jsonrpc::INTERNAL_ERROR),
            Kind::Rpc(error) => Some(error.code),
            Kind::InputRequired(_) => None,
        }
    }

    /// The answer of a handler that is not a tool: a JSON-RPC error.
    pub(crate) fn into_rpc(self) -> ErrorObject {
        match self.0 {
            Kind::Failed(message) => ErrorObject::internal_error(message),
            Kind::Rpc(error) => error,
            Kind::InputRequired(_) => ErrorObject::internal_error(
                "answers from the client are needed, but none can be asked for here",
            ),
        }
    }
}

impl From<ErrorObject> for Error {
    fn from(error: ErrorObject) -> Self {
        Self::rpc(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Failed(message) => f.write_str(message),
            Kind::Rpc(error) => write!(f, "error {}: {}", error.code, error.message),
            Kind::InputRequired(asks) => {
                let keys: Vec<&str> = asks.keys().map(String::as_str).collect();
                write!(f, "answers needed first: {}", keys.join(", "))
            }
        }
    }
}

impl std::error::Error for Error {}

/// An error object with structured `data`.
pub(crate) fn with_data(code: i64, message: impl Into<String>, data: &Value) -> ErrorObject {
    let error = ErrorObject::new(code, message);
    match serde_json::value::to_raw_value(data) {
        Ok(data) => error.with_data(data),
        Err(_) => error,
    }
}

/// `-32021` naming the client capabilities a request lacks (S3.29): `missing` has the shape of
/// `ClientCapabilities`.
pub(crate) fn missing_capability(what: &str, missing: Value) -> ErrorObject {
    with_data(
        jsonrpc::MISSING_CLIENT_CAPABILITY,
        format!("Missing required client capability: {what}"),
        &serde_json::json!({ "requiredCapabilities": missing }),
    )
}
