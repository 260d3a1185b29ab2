//! Origin validation (S1.4, S4.1) and CORS (SPEC-NOTES §8): one allow-list for both (C5).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::config::{Config, Cors, OriginPolicy};

/// What the `Origin` header of a request says about it.
#[derive(Debug)]
pub(crate) enum Origin {
    /// No `Origin`: a non-browser client or a same-origin navigation. Allowed (S4.1).
    Absent,
    /// An allowed origin; CORS answers echo it.
    Allowed(HeaderValue),
    /// Present and not allowed: `403` (S4.1), without CORS headers (C5).
    Forbidden,
}

impl Origin {
    pub(crate) fn of(policy: &OriginPolicy, headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::ORIGIN) else {
            return Self::Absent;
        };
        let allowed = match policy {
            OriginPolicy::Any => true,
            OriginPolicy::Loopback => is_loopback(value.as_bytes()),
            OriginPolicy::List {
                origins,
                with_loopback,
            } => {
                origins.iter().any(|o| o.as_bytes() == value.as_bytes())
                    || (*with_loopback && is_loopback(value.as_bytes()))
            }
        };
        if allowed {
            Self::Allowed(value.clone())
        } else {
            Self::Forbidden
        }
    }
}

/// The allowed origin to remember for a response sent later.
pub(crate) fn allowed_value(origin: &Origin) -> Option<HeaderValue> {
    match origin {
        Origin::Allowed(value) => Some(value.clone()),
        _ => None,
    }
}

/// `http(s)://localhost`, `127.0.0.1` or `[::1]`, with or without a port.
fn is_loopback(origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let (host, port) = match rest.strip_prefix("[::1]") {
        Some(port) => ("[::1]", port),
        None => rest.split_at(rest.find(':').unwrap_or(rest.len())),
    };
    let host_ok = host == "[::1]" || host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost");
    host_ok && (port.is_empty() || is_port(port))
}

fn is_port(text: &str) -> bool {
    text.strip_prefix(':').is_some_and(|digits| {
        !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Response headers JavaScript may read (C1). `Last-Event-ID` is listed as the TypeScript
/// examples do; it is harmless.
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static(
    "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate, Last-Event-ID",
);
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, DELETE, OPTIONS");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name",
);

/// Adds the CORS headers of an actual (non-preflight) response, errors included (C1, C6).
pub(crate) fn decorate(config: &Config, origin: &Origin, headers: &mut HeaderMap) {
    let (Some(cors), Origin::Allowed(value)) = (&config.cors, origin) else {
        return;
    };
    allow_origin(config, cors, value, headers);
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
}

/// The answer to `OPTIONS` (C3): never `405`, never behind authentication.
pub(crate) fn preflight(config: &Config, origin: &Origin, request: &HeaderMap) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, ALLOW_METHODS);
    let (Some(cors), Origin::Allowed(value)) = (&config.cors, origin) else {
        return response;
    };
    allow_origin(config, cors, value, headers);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    // Echo what the browser asks for: `Mcp-Param-*` names are dynamic (C4). The request headers
    // were parsed as valid header values, so the echo is valid too.
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(ALLOW_HEADERS);
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(cors.max_age_secs),
    );
    headers.append(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Headers"),
    );
    response
}

fn allow_origin(config: &Config, cors: &Cors, origin: &HeaderValue, headers: &mut HeaderMap) {
    if matches!(config.origins, OriginPolicy::Any) && !cors.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        return;
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if cors.allow_credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_s4_1() {
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://127.0.0.1:8443",
            "http://[::1]:8000",
            "http://LOCALHOST:1",
        ] {
            assert!(is_loopback(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "http://evil.example.com",
            "http://localhost.evil.com",
            "http://127.0.0.1.evil.com",
            "null",
            "file://localhost",
            "http://localhost:",
            "http://localhost:abc",
            "http://[::1]x",
        ] {
            assert!(!is_loopback(bad.as_bytes()), "{bad}");
        }
    }
}
