//! The headers MCP adds to HTTP, and how the server reads the standard ones it depends on.

use http::header::{self, HeaderMap, HeaderName};

/// `Mcp-Session-Id` (S2.35; also named on 2024-11-05 streams opened on the MCP endpoint).
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version` (S2.46).
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Last-Event-ID` (E3.3).
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
/// `X-Forwarded-Prefix`: where a reverse proxy mounted the server.
pub const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
/// `X-Accel-Buffering`, which stops nginx from buffering a stream (S3.11, E5.2).
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Whether the `Accept` header admits `wanted` (`type/subtype`): listed, or covered by `type/*`
/// or `*/*`, and not with `q=0`. A missing header admits everything (RFC 9110 §12.5.1).
pub(crate) fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    accepts_all(headers, &[wanted])
}

/// Whether the `Accept` header admits every one of `wanted` (at most 8), in one pass over it.
///
/// Every `POST` asks this, so the header is scanned as bytes (its text is visible ASCII, or the
/// value is skipped), not with `str` patterns.
pub(crate) fn accepts_all(headers: &HeaderMap, wanted: &[&str]) -> bool {
    debug_assert!(wanted.len() <= 8, "a bit per wanted type in a u8");
    let all = u8::MAX >> (8 - wanted.len());
    let mut admitted = 0u8;
    let mut present = false;
    for value in headers.get_all(header::ACCEPT) {
        present = true;
        let Ok(text) = value.to_str() else { continue };
        for range in text.as_bytes().split(|&b| b == b',') {
            let (media, params) = match range.iter().position(|&b| b == b';') {
                Some(at) => range.split_at(at),
                None => (range, &[][..]),
            };
            if refused(params) {
                continue;
            }
            let media = media.trim_ascii();
            for (bit, wanted) in wanted.iter().enumerate() {
                if media_matches(media, wanted.as_bytes()) {
                    admitted |= 1 << bit;
                }
            }
            if admitted == all {
                return true;
            }
        }
    }
    !present
}

/// Whether a media range's parameters (`;q=0;…`) give it weight 0.
fn refused(params: &[u8]) -> bool {
    params.split(|&b| b == b';').any(|param| {
        let param = param.trim_ascii();
        param
            .strip_prefix(b"q=")
            .or_else(|| param.strip_prefix(b"Q="))
            .and_then(|q| std::str::from_utf8(q).ok())
            .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
    })
}

fn media_matches(range: &[u8], wanted: &[u8]) -> bool {
    if range == b"*/*" || range.eq_ignore_ascii_case(wanted) {
        return true;
    }
    match (
        range.strip_suffix(b"/*"),
        wanted.iter().position(|&b| b == b'/'),
    ) {
        (Some(ty), Some(slash)) => ty.eq_ignore_ascii_case(&wanted[..slash]),
        _ => false,
    }
}

/// Whether `Content-Type` is `application/json`, parameters (charset) ignored.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        let media = value.split(|&b| b == b';').next().unwrap_or_default();
        media.trim_ascii().eq_ignore_ascii_case(b"application/json")
    })
}

/// The path prefix a reverse proxy names in `X-Forwarded-Prefix`, without a trailing `/`: an
/// absolute path of visible ASCII with no query or fragment (one header; a list is refused).
pub(crate) fn forwarded_prefix(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(X_FORWARDED_PREFIX).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let prefix = value.to_str().ok()?.trim();
    let path_like = prefix.starts_with('/')
        && prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b',' | b'\\'));
    path_like.then(|| prefix.trim_end_matches('/'))
}

/// The value of query parameter `name`, undecoded (the server only looks up values it minted,
/// which need no escaping).
pub(crate) fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
        let sse =
            |value: &'static str| accepts(&headers(&[("accept", value)]), "text/event-stream");
        for refused in [
            "text/event-stream; charset=utf-8 ; Q=0.0",
            "text/*;q=0",
            "text/x",
        ] {
            assert!(!sse(refused), "{refused}");
        }
    }

    #[test]
    fn accept_matching_all() {
        const BOTH: [&str; 2] = ["application/json", "text/event-stream"];
        let both = |value: &'static str| accepts_all(&headers(&[("accept", value)]), &BOTH);
        assert!(both("application/json, text/event-stream"));
        assert!(both("text/event-stream;q=0.5,application/json"));
        assert!(both("*/*"));
        assert!(both("application/*, text/*"));
        assert!(!both("application/json"));
        assert!(!both("application/json, text/event-stream;q=0"));
        assert!(accepts_all(&headers(&[]), &BOTH));
        // One value of several lists each.
        let split = headers(&[
            ("accept", "application/json"),
            ("accept", "text/event-stream"),
        ]);
        assert_eq!(split.get_all("accept").iter().count(), 2);
        assert!(accepts_all(&split, &BOTH));
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
    fn forwarded_prefixes() {
        let prefix = |value: &'static str| {
            forwarded_prefix(&headers(&[("x-forwarded-prefix", value)])).map(str::to_owned)
        };
        assert_eq!(prefix("/prefix").as_deref(), Some("/prefix"));
        assert_eq!(prefix("/a/b/").as_deref(), Some("/a/b"));
        assert_eq!(prefix("/").as_deref(), Some(""));
        for bad in ["prefix", "/a?b", "/a#b", "/a,/b", "/a b", "", "http://x/a"] {
            assert_eq!(prefix(bad), None, "{bad}");
        }
        assert_eq!(forwarded_prefix(&headers(&[])), None);
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
