//! Origin validation (S1.4, S4.1) and CORS (docs/requirements.md §8): one allow-list for both (C5).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

/// Which browser origins may talk to the server (DNS-rebinding defence, S1.4/S4.1).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// `http(s)://localhost`, `127.0.0.1` and `[::1]` on any port. The default: a local server
    /// is not reachable from pages of other sites.
    #[default]
    Loopback,
    /// Exactly these origins (e.g. `https://app.example.com`), compared byte for byte, plus the
    /// loopback ones when `with_loopback` is set.
    List {
        /// The allowed origins.
        origins: Vec<String>,
        /// Whether loopback origins are allowed too.
        with_loopback: bool,
    },
    /// Any origin. Only for servers that authenticate every request.
    Any,
}

/// CORS settings. The allowed origins are those of [`Config::origins`](crate::Config::origins) (one allow-list, C5).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Cors {
    /// `Access-Control-Max-Age` on preflight answers, in seconds. Default 600.
    pub max_age_secs: u32,
    /// Whether to answer with `Access-Control-Allow-Credentials: true` (the origin is then echoed,
    /// never `*`, C4). Default false.
    pub allow_credentials: bool,
}

impl Default for Cors {
    fn default() -> Self {
        Self {
            max_age_secs: 600,
            allow_credentials: false,
        }
    }
}

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

/// The CORS headers of every actual (non-preflight) response of one exchange, errors and SSE
/// heads included (C1, C6): decided once from the request's `Origin`, so a response sent later
/// (a stream's head, a JSON answer gathered meanwhile) needs no configuration to carry them.
#[derive(Clone, Debug, Default)]
pub(crate) struct CorsHeaders {
    /// `Access-Control-Allow-Origin`: the allowed origin echoed, or `*`; `None`: no CORS headers.
    allow_origin: Option<HeaderValue>,
    credentials: bool,
}

impl CorsHeaders {
    /// The headers for a request from `origin`, with CORS set to `cors` and the allowed
    /// origins `origins`.
    pub(crate) fn new(cors: Option<&Cors>, origins: &OriginPolicy, origin: &Origin) -> Self {
        let (Some(cors), Origin::Allowed(value)) = (cors, origin) else {
            return Self::default();
        };
        let any = matches!(origins, OriginPolicy::Any) && !cors.allow_credentials;
        Self {
            allow_origin: Some(match any {
                true => HeaderValue::from_static("*"),
                false => value.clone(),
            }),
            credentials: cors.allow_credentials,
        }
    }

    /// Adds the headers to a response.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let Some(origin) = &self.allow_origin else {
            return;
        };
        set_allow_origin(origin, self.credentials, headers);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    }
}

/// The answer to `OPTIONS` (C3): never `405`, never behind authentication.
pub(crate) fn preflight(
    cors: Option<&Cors>,
    origins: &OriginPolicy,
    origin: &Origin,
    request: &HeaderMap,
) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, ALLOW_METHODS);
    let decided = CorsHeaders::new(cors, origins, origin);
    let (Some(cors), Some(allow_origin)) = (cors, &decided.allow_origin) else {
        return response;
    };
    set_allow_origin(allow_origin, decided.credentials, headers);
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

/// `Access-Control-Allow-Origin`, with `Vary: Origin` when it echoes one (a cache must not
/// serve it to another origin) and the credentials flag (never with `*`, C4).
fn set_allow_origin(origin: &HeaderValue, credentials: bool, headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    if origin.as_bytes() == b"*" {
        return;
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if credentials {
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
