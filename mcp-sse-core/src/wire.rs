//! HTTP details shared by every handler: header names, request header parsing, and the shapes
//! of the responses the server builds.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};

use crate::jsonrpc::{self, ErrorObject, Id};

/// `Mcp-Session-Id` (S2.35; the seed sent it on the legacy stream too).
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version` (S2.46).
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Last-Event-ID` (E3.3).
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// `X-Accel-Buffering`, which stops nginx from buffering a stream (S3.11, E5.2).
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

pub(crate) const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Whether the `Accept` header admits `wanted` (`type/subtype`): listed, or covered by `type/*`
/// or `*/*`, and not with `q=0`. A missing header admits everything (RFC 9110 §12.5.1).
pub(crate) fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    let mut present = false;
    for value in headers.get_all(header::ACCEPT) {
        present = true;
        let Ok(text) = value.to_str() else { continue };
        for range in text.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            if !refused && media_matches(media, wanted) {
                return true;
            }
        }
    }
    !present
}

fn media_matches(range: &str, wanted: &str) -> bool {
    if range == "*/*" || range.eq_ignore_ascii_case(wanted) {
        return true;
    }
    match (range.split_once('/'), wanted.split_once('/')) {
        (Some((ty, "*")), Some((wanted_ty, _))) => ty.eq_ignore_ascii_case(wanted_ty),
        _ => false,
    }
}

/// Whether `Content-Type` is `application/json`, parameters (charset) ignored.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// The value of query parameter `name`, undecoded (the server only looks up values it minted,
/// which need no escaping).
pub(crate) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A complete JSON response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, APPLICATION_JSON);
    response
}

/// An HTTP error whose body is a JSON-RPC error (SPEC-NOTES 6.3): the request id echoed when it
/// was read, `null` otherwise (S3.27, S5.9).
pub(crate) fn error(
    status: StatusCode,
    id: Option<&Id>,
    code: i64,
    message: &str,
) -> Response<Bytes> {
    json(
        status,
        jsonrpc::encode_error(id, &ErrorObject::new(code, message)),
    )
}

/// `202 Accepted` with an empty body (S2.8).
pub(crate) fn accepted() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// `405 Method Not Allowed` with the `Allow` header RFC 9110 requires (S2.19).
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        jsonrpc::SERVER_ERROR,
        "Method not allowed",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// `503 Service Unavailable` with `Retry-After`: capacity or backpressure, never a closed session.
pub(crate) fn unavailable(
    retry_after_secs: u32,
    id: Option<&Id>,
    message: &str,
) -> Response<Bytes> {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        jsonrpc::SERVER_ERROR,
        message,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// The head of every SSE response (S1.7, S3.11, E5.2). No `Connection` header: it is forbidden
/// on HTTP/2, and HTTP/1.1 keeps connections alive anyway.
pub(crate) fn sse_head() -> Response<()> {
    let mut head = Response::new(());
    let headers = head.headers_mut();
    headers.insert(header::CONTENT_TYPE, EVENT_STREAM);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn accept_matching() {
        assert!(accepts(&headers(&[]), "text/event-stream"));
        assert!(accepts(
            &headers(&[("accept", "text/event-stream")]),
            "text/event-stream"
        ));
        assert!(accepts(
            &headers(&[("accept", "application/json, Text/Event-Stream;q=0.9")]),
            "text/event-stream"
        ));
        assert!(accepts(
            &headers(&[("accept", "text/*")]),
            "text/event-stream"
        ));
        assert!(accepts(&headers(&[("accept", "*/*")]), "text/event-stream"));
        assert!(!accepts(
            &headers(&[("accept", "application/json")]),
            "text/event-stream"
        ));
        assert!(!accepts(
            &headers(&[("accept", "text/event-stream;q=0")]),
            "text/event-stream"
        ));
    }

    #[test]
    fn content_type_json() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[])));
    }

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("a=1&sessionId=xyz"), "sessionId"),
            Some("xyz")
        );
        assert_eq!(query_param(Some("sessionIdx=1"), "sessionId"), None);
        assert_eq!(query_param(None, "sessionId"), None);
    }
}
