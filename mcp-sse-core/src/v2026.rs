//! Streamable HTTP 2026-07-28 (S3.x): which revision a request belongs to (S3.37), the
//! per-request validation in the order of D2, and dispatch. No sessions: every request is
//! judged on its own.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, request};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::config::{ParamKind, ToolHeader};
use crate::headers::MCP_PROTOCOL_VERSION;
use crate::jsonrpc::{self, ErrorObject, Id};
use crate::responses::{self, Ctx};
use crate::server::{Delivery, Server};
use crate::streams::{Opening, Role};
use crate::{ProtocolVersion, Transport};

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Methods 2026-07-28 removed (S5.19): always `404` + `-32601` for modern requests.
const REMOVED: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// What a request's `_meta` says about it.
#[derive(Debug)]
pub(crate) struct Envelope {
    /// `_meta["io.modelcontextprotocol/protocolVersion"]`.
    version: String,
    /// Whether `clientCapabilities` is there, as an object (required, S3.28).
    capabilities: bool,
    /// Whether the client asked for log notifications (S3.14).
    pub(crate) log_level: bool,
}

/// Which rules a `POST` body is served under (S3.37).
#[derive(Debug)]
pub(crate) enum Revision {
    /// 2024-11-05 to 2025-11-25.
    Before2026,
    /// A 2026-07-28 envelope.
    V2026(Envelope),
    /// Malformed: answered with this, no fallback.
    Reject(http::Response<Bytes>),
}

/// Classifies a body as the TypeScript SDK does (S3.37): a 2026-07-28 claim in `_meta` decides;
/// the header never changes the revision; a malformed envelope is `-32602` with no fallback.
pub(crate) fn classify(body: &jsonrpc::Body, headers: &HeaderMap) -> Revision {
    let message = match body {
        jsonrpc::Body::Single(message) => message,
        jsonrpc::Body::Batch(items) => {
            let claims_2026 = items.iter().any(
                |item| matches!(item, Ok(m) if envelope(m.params()).is_ok_and(|e| e.is_some())),
            );
            if !claims_2026 {
                return Revision::Before2026;
            }
            let text = "Invalid Request: 2026-07-28 has no batches";
            let code = jsonrpc::INVALID_REQUEST;
            return Revision::Reject(responses::error(StatusCode::BAD_REQUEST, None, code, text));
        }
    };
    if message.is_response() {
        return Revision::Before2026;
    }
    let invalid = |text: &str| {
        let code = jsonrpc::INVALID_PARAMS;
        Revision::Reject(responses::error(
            StatusCode::BAD_REQUEST,
            message.id(),
            code,
            text,
        ))
    };
    let header_is_2026 = headers
        .get(MCP_PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok())
        .and_then(ProtocolVersion::parse)
        .is_some_and(ProtocolVersion::is_modern);
    match envelope(message.params()) {
        Err(text) => invalid(text),
        Ok(None) if header_is_2026 => invalid(
            "Invalid params: a 2026-07-28 request carries _meta[\"io.modelcontextprotocol/protocolVersion\"]",
        ),
        Ok(None) => Revision::Before2026,
        Ok(Some(envelope)) => match ProtocolVersion::parse(&envelope.version) {
            Some(version) if !version.is_modern() => Revision::Before2026,
            _ => Revision::V2026(envelope),
        },
    }
}

/// Reads the modern envelope of `params._meta`; `Ok(None)` when there is no claim.
fn envelope(params: Option<&RawValue>) -> Result<Option<Envelope>, &'static str> {
    #[derive(serde::Deserialize)]
    struct Params {
        #[serde(rename = "_meta")]
        meta: Option<Value>,
    }
    let Some(params) = params else {
        return Ok(None);
    };
    // Every request of every revision comes here: a member named `_meta` is spelled so, or
    // escaped, so params with neither need no second parse.
    let text = params.get();
    if !text.contains("_meta") && !text.contains("\\u") {
        return Ok(None);
    }
    let Ok(Params { meta }) = serde_json::from_str::<Params>(params.get()) else {
        return Ok(None);
    };
    let Some(meta) = meta else {
        return Ok(None);
    };
    let Some(meta) = meta.as_object() else {
        return Err("Invalid params: _meta must be an object");
    };
    let Some(version) = meta.get(META_VERSION) else {
        return Ok(None);
    };
    let Some(version) = version.as_str() else {
        return Err("Invalid params: _meta protocolVersion must be a string");
    };
    Ok(Some(Envelope {
        version: version.to_owned(),
        capabilities: meta.get(META_CAPABILITIES).is_some_and(Value::is_object),
        log_level: meta.get(META_LOG_LEVEL).is_some_and(Value::is_string),
    }))
}

/// `-32022` naming what is supported and what was asked (S3.18, S3.36).
pub(crate) fn unsupported_version(
    id: Option<&Id>,
    requested: Option<&str>,
) -> http::Response<Bytes> {
    let supported: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .rev()
        .map(|v| v.as_str())
        .collect();
    let data = serde_json::json!({ "supported": supported, "requested": requested });
    let data = serde_json::value::to_raw_value(&data).expect("JSON values serialise");
    let error = ErrorObject::new(
        jsonrpc::UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
    )
    .with_data(data);
    responses::json(StatusCode::BAD_REQUEST, jsonrpc::encode_error(id, &error))
}

impl Server {
    /// A 2026-07-28 request or notification: validated in the order of D2, then served
    /// without a session.
    pub(crate) fn post_v2026(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: Arc<request::Parts>,
        message: jsonrpc::Message,
        envelope: Envelope,
    ) {
        // No sessions in this revision: an Mcp-Session-Id is ignored and never echoed (S3.35).
        ctx.session = None;
        let id = message.id().cloned();
        let reject = |server: &mut Self, status: StatusCode, code: i64, text: &str| {
            let response = responses::error(status, id.as_ref(), code, text);
            ctx.respond(&mut server.fx, response);
        };
        if let Err(text) = self.check_headers(&head.headers, &message, &envelope) {
            return reject(
                self,
                StatusCode::BAD_REQUEST,
                jsonrpc::HEADER_MISMATCH,
                &text,
            );
        }
        if ProtocolVersion::parse(&envelope.version).is_none_or(|v| !v.is_modern()) {
            let response = unsupported_version(id.as_ref(), Some(&envelope.version));
            return ctx.respond(&mut self.fx, response);
        }
        if !envelope.capabilities {
            let text =
                "Invalid params: _meta[\"io.modelcontextprotocol/clientCapabilities\"] is required";
            return reject(self, StatusCode::BAD_REQUEST, jsonrpc::INVALID_PARAMS, text);
        }
        let request = match message {
            jsonrpc::Message::Request(request) => request,
            other => {
                self.deliver_other(now, &head, None, Transport::Streamable2026, other);
                return ctx.respond(&mut self.fx, responses::accepted());
            }
        };
        let method = request.method.as_str();
        let declared = &self.config.v2026.methods;
        let served = method == "subscriptions/listen"
            || declared.is_empty()
            || declared.iter().any(|m| m == method);
        if REMOVED.contains(&method) || !served {
            let text = format!("Method not found: {method}");
            return reject(
                self,
                StatusCode::NOT_FOUND,
                jsonrpc::METHOD_NOT_FOUND,
                &text,
            );
        }
        if method == "subscriptions/listen" {
            return self.listen(now, ctx, request);
        }
        let mut opening = Opening::new(None, Role::Post);
        opening.v2026 = true;
        let stream = self.open_stream(now, ctx.clone(), opening);
        let transport = Transport::Streamable2026;
        let how = Delivery::New {
            logs: envelope.log_level,
        };
        self.deliver_request(&head, None, transport, stream, request, how);
    }

    /// The request headers must restate the body (S3.17, S3.21, S3.24): `MCP-Protocol-Version`
    /// equal to `_meta`, `Mcp-Method`, `Mcp-Name`, and the declared `Mcp-Param-*`.
    fn check_headers(
        &self,
        headers: &HeaderMap,
        message: &jsonrpc::Message,
        envelope: &Envelope,
    ) -> Result<(), String> {
        let version = header(headers, "mcp-protocol-version")?
            .ok_or("Header mismatch: MCP-Protocol-Version is required")?;
        if version != envelope.version {
            return Err(format!(
                "Header mismatch: MCP-Protocol-Version {version} differs from _meta protocolVersion {}",
                envelope.version
            ));
        }
        let jsonrpc::Message::Request(request) = message else {
            return Ok(());
        };
        let method =
            header(headers, "mcp-method")?.ok_or("Header mismatch: Mcp-Method is required")?;
        if method != request.method {
            return Err(format!(
                "Header mismatch: Mcp-Method {method} differs from the body's method {}",
                request.method
            ));
        }
        let params: Value = request
            .params
            .as_ref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        let name_field = match request.method.as_str() {
            "tools/call" | "prompts/get" => Some("name"),
            "resources/read" => Some("uri"),
            // The tasks extension routes by task (SEP-2663, "Streamable HTTP: Routing Headers").
            "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
            _ => None,
        };
        if let Some(field) = name_field
            && let Some(expected) = params[field].as_str()
        {
            let name =
                header(headers, "mcp-name")?.ok_or("Header mismatch: Mcp-Name is required")?;
            if decode(&name)? != expected {
                return Err(format!(
                    "Header mismatch: Mcp-Name differs from params.{field}"
                ));
            }
        }
        if request.method == "tools/call"
            && let Some(tool) = params["name"].as_str()
        {
            for declared in self
                .config
                .v2026
                .tool_headers
                .iter()
                .filter(|h| h.tool == tool)
            {
                check_param(headers, declared, &params["arguments"])?;
            }
        }
        Ok(())
    }
}

/// A header's value as text; `Err` when it holds characters a header value may not.
fn header(headers: &HeaderMap, name: &str) -> Result<Option<String>, String> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim().to_owned()))
            .map_err(|_| format!("Header mismatch: {name} holds invalid characters")),
    }
}

/// Undoes the `=?base64?…?=` form clients use for values that are not plain ASCII (S3.22).
fn decode(value: &str) -> Result<String, String> {
    let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Ok(value.to_owned());
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| "Header mismatch: invalid base64 value".to_owned())
}

/// One `Mcp-Param-*` header against the argument it mirrors (S3.24): required when the body
/// has the value, not expected when it is absent or null; integers compared numerically.
fn check_param(
    headers: &HeaderMap,
    declared: &ToolHeader,
    arguments: &Value,
) -> Result<(), String> {
    let mut value = arguments;
    for step in &declared.path {
        value = &value[step.as_str()];
    }
    let name = format!("mcp-param-{}", declared.header.to_ascii_lowercase());
    if value.is_null() {
        return Ok(());
    }
    let Some(text) = header(headers, &name)? else {
        return Err(format!(
            "Header mismatch: Mcp-Param-{} is required",
            declared.header
        ));
    };
    let text = decode(&text)?;
    let equal = match declared.kind {
        ParamKind::Integer => match (text.parse::<f64>(), value.as_f64()) {
            (Ok(header), Some(body)) => header == body,
            _ => false,
        },
        ParamKind::Boolean => value.as_bool().is_some_and(|b| text == b.to_string()),
        ParamKind::String => value.as_str() == Some(text.as_str()),
    };
    if equal {
        Ok(())
    } else {
        Err(format!(
            "Header mismatch: Mcp-Param-{} differs from the argument",
            declared.header
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope_of(params: &str) -> Result<Option<String>, &'static str> {
        let raw = RawValue::from_string(params.to_owned()).expect("test params are JSON");
        envelope(Some(&raw)).map(|e| e.map(|e| e.version))
    }

    #[test]
    fn envelopes() {
        let version = r#""io.modelcontextprotocol/protocolVersion":"2026-07-28""#;
        assert_eq!(envelope_of(r#"{"name":"echo","arguments":{}}"#), Ok(None));
        assert_eq!(envelope_of(r#"{"_meta":{"progressToken":1}}"#), Ok(None));
        let claimed = Ok(Some("2026-07-28".to_owned()));
        assert_eq!(
            envelope_of(&format!(r#"{{"_meta":{{{version}}}}}"#)),
            claimed
        );
        // The member's name escaped is the same name: no shortcut may skip it.
        assert_eq!(
            envelope_of(&format!(r#"{{"\u005fmeta":{{{version}}}}}"#)),
            claimed
        );
        assert!(envelope_of(r#"{"_meta":[]}"#).is_err());
    }
}
