//! The router: which endpoint and method a request is for, the checks every request passes
//! (Origin, Host, shutdown, media types, size, JSON-RPC), the revision it is served under
//! (S3.37), and the module of that revision that serves it (D2).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header;
use http::{Method, StatusCode, request};
use serde_json::value::RawValue;

use crate::config::HostPolicy;
use crate::cors::{self, Origin};
use crate::headers::{self, MCP_SESSION_ID};
use crate::jsonrpc::{self, ErrorObject};
use crate::responses::{self, BodyUnread, Ctx, Unavailable};
use crate::server::Server;
use crate::sessions::Session;
use crate::v2026::{self, Revision};
use crate::{Credentials, Output, Principal, ProtocolVersion, SessionId, Transport};

/// The paths the server answers on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Mcp,
    Sse,
    Messages,
    /// The protected-resource metadata document (RFC 9728), with authorization on.
    ResourceMetadata,
}

impl Server {
    pub(crate) fn route(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        origin: &Origin,
        mut head: request::Parts,
        body: Bytes,
    ) {
        if let Some(&unread) = head.extensions.get::<BodyUnread>() {
            return ctx.respond(&mut self.fx, unread.response(head.version));
        }
        let Some(endpoint) = self.endpoint_of(head.uri.path()) else {
            return ctx.reject(&mut self.fx, StatusCode::NOT_FOUND, "Not found");
        };
        if head.method == Method::OPTIONS {
            let config = &self.config;
            let response =
                cors::preflight(config.cors.as_ref(), &config.origins, origin, &head.headers);
            return self.fx.push(Output::Respond {
                exchange: ctx.exchange,
                response,
            });
        }
        if endpoint == Endpoint::ResourceMetadata {
            // Never behind authorization: it says how to get authorized (S4.4).
            let response = match (&head.method, &self.config.auth) {
                (&Method::GET, Some(auth)) => auth.metadata(),
                _ => responses::method_not_allowed("GET, OPTIONS"),
            };
            return ctx.respond(&mut self.fx, response);
        }
        match self.host_allowed(&head) {
            Some(true) => {}
            Some(false) => {
                return ctx.reject(&mut self.fx, StatusCode::FORBIDDEN, "Host not allowed");
            }
            None => {
                let text = "Bad Request: the Host header is not a valid host";
                return ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, text);
            }
        }
        if matches!(origin, Origin::Forbidden) {
            return ctx.reject(&mut self.fx, StatusCode::FORBIDDEN, "Origin not allowed");
        }
        if let Some(response) = self.authenticate(ctx, &mut head) {
            return ctx.respond(&mut self.fx, response);
        }
        // While shutting down only answers to the server's own requests still come in (a
        // handler finishing may wait for them); `post` refuses the rest.
        if self.shutting_down && head.method != Method::POST {
            let response = responses::unavailable(
                Unavailable::ShuttingDown,
                self.config.retry_after_secs,
                None,
            );
            return ctx.respond(&mut self.fx, response);
        }
        if self.config.only_2026 && endpoint != Endpoint::Mcp {
            return ctx.reject(&mut self.fx, StatusCode::NOT_FOUND, "Not found");
        }
        let sessions = !self.config.stateless && !self.config.only_2026;
        // In a cluster, a session another instance created is looked up first.
        if sessions && let Some(session) = self.unknown_session(&head) {
            return self.wait_for_session(ctx, head, body, session);
        }
        match (endpoint, &head.method) {
            (Endpoint::Sse, &Method::GET) => {
                self.open_http_sse(now, ctx, &head, Endpoint::Messages)
            }
            (Endpoint::Sse, _) => {
                ctx.respond(&mut self.fx, responses::method_not_allowed("GET, OPTIONS"))
            }
            (Endpoint::Messages, &Method::POST) => self.post(now, ctx, head, body, endpoint),
            (Endpoint::Messages, _) => {
                ctx.respond(&mut self.fx, responses::method_not_allowed("POST, OPTIONS"))
            }
            (Endpoint::Mcp, &Method::POST) => self.post(now, ctx, head, body, endpoint),
            (Endpoint::Mcp, &Method::GET) if sessions => self.get_mcp(now, ctx, &head),
            (Endpoint::Mcp, &Method::DELETE) if sessions => self.delete_mcp(now, ctx, &head),
            (Endpoint::Mcp | Endpoint::ResourceMetadata, _) => {
                let allow = match (sessions, self.config.allow_delete) {
                    (false, _) => "POST, OPTIONS",
                    (true, false) => "GET, POST, OPTIONS",
                    (true, true) => "GET, POST, DELETE, OPTIONS",
                };
                ctx.respond(&mut self.fx, responses::method_not_allowed(allow))
            }
        }
    }

    fn endpoint_of(&self, path: &str) -> Option<Endpoint> {
        if let Some(auth) = &self.config.auth
            && auth.is_metadata_path(path)
        {
            return Some(Endpoint::ResourceMetadata);
        }
        if path == self.config.mcp_path {
            Some(Endpoint::Mcp)
        } else if path == self.config.sse_path {
            Some(Endpoint::Sse)
        } else if path == self.config.messages_path {
            Some(Endpoint::Messages)
        } else {
            None
        }
    }

    /// DNS-rebinding defence (S4.3): a page on another site that resolves its name to a
    /// loopback address still sends its own name as `Host`. `None`: the `Host` header is
    /// malformed, whatever the policy.
    fn host_allowed(&self, head: &request::Parts) -> Option<bool> {
        let mut hosts = head.headers.get_all(header::HOST).iter();
        let host = match (hosts.next(), hosts.next()) {
            // RFC 9112 §3.2: one Host, a valid authority without userinfo, or `400`.
            (Some(value), None) => {
                if let Some(name) = plain_host(value.as_bytes()) {
                    return Some(self.host_is_allowed(name));
                }
                let authority: http::uri::Authority = value.to_str().ok()?.parse().ok()?;
                if authority.as_str().contains('@') {
                    return None;
                }
                Some(authority)
            }
            (Some(_), Some(_)) => return None,
            (None, _) => head.uri.authority().cloned(),
        };
        let Some(host) = host else {
            // No name at all: nothing a browser could have been tricked into.
            return Some(true);
        };
        let name = host.host();
        let name = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        Some(self.host_is_allowed(name))
    }

    /// Whether the policy admits a request for host `name` (no port, no brackets).
    fn host_is_allowed(&self, name: &str) -> bool {
        let names: &[String] = match &self.config.hosts {
            HostPolicy::Auto | HostPolicy::Any => return true,
            HostPolicy::Loopback => &[],
            HostPolicy::List(names) => names,
        };
        name.eq_ignore_ascii_case("localhost")
            || name == "127.0.0.1"
            || name == "::1"
            || names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// A `POST`: to a 2024-11-05 session, to a Streamable HTTP session, an `initialize` that
    /// opens one, or (stateless) a request answered on its own.
    fn post(
        &mut self,
        now: Instant,
        ctx: &mut Ctx,
        head: request::Parts,
        body: Bytes,
        endpoint: Endpoint,
    ) {
        // Shared by every message of the body, and handed to the application with each.
        let head = Arc::new(head);
        let named = named_session(&head);
        let session = named.and_then(|id| self.session_of(id, &head));
        let transport = session.map(|(_, s)| s.transport);
        if let Some((_, state)) = session {
            ctx.session = Some(state.header.clone());
        }
        let session = session.map(|(id, _)| id.clone());
        let stateless = endpoint == Endpoint::Mcp && self.config.stateless && named.is_none();
        self.request_transport = transport.or(stateless.then_some(Transport::Stateless));

        // Streamable HTTP clients must take both answer shapes (S2.5).
        let streamable = endpoint == Endpoint::Mcp && transport != Some(Transport::HttpSse);
        if streamable
            && !headers::accepts_all(&head.headers, &["application/json", "text/event-stream"])
        {
            let status = StatusCode::NOT_ACCEPTABLE;
            let text = "Not Acceptable: Accept must list application/json and text/event-stream";
            return ctx.reject(&mut self.fx, status, text);
        }
        if !headers::is_json(&head.headers) {
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            let text = "Unsupported Media Type: Content-Type must be application/json";
            return ctx.reject(&mut self.fx, status, text);
        }
        if body.len() > self.config.max_body_bytes {
            return ctx.reject(
                &mut self.fx,
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
            );
        }
        let raw = body.clone();
        let body = match jsonrpc::classify(&body) {
            Ok(body) => body,
            Err(invalid) => {
                let response = responses::json(StatusCode::BAD_REQUEST, invalid.to_error_body());
                return ctx.respond(&mut self.fx, response);
            }
        };
        if let Some(response) = self.check_scopes(&head, &body) {
            return ctx.respond(&mut self.fx, response);
        }
        if self.shutting_down && (session.is_none() || has_request(&body)) {
            let retry = self.config.retry_after_secs;
            let response =
                responses::unavailable(Unavailable::ShuttingDown, retry, first_id(&body));
            return ctx.respond(&mut self.fx, response);
        }
        if endpoint == Endpoint::Mcp {
            let revision = v2026::classify(&body, &head.headers);
            if !matches!(revision, Revision::Before2026) {
                self.request_transport = Some(Transport::Streamable2026);
            }
            match revision {
                Revision::V2026(envelope) => {
                    let jsonrpc::Body::Single(message) = body else {
                        unreachable!("a batch with a 2026-07-28 claim is rejected")
                    };
                    return self.post_v2026(now, ctx, head, message, envelope);
                }
                Revision::Reject(response) => return ctx.respond(&mut self.fx, response),
                Revision::Before2026 if self.config.only_2026 => {
                    // S3.36: a server of 2026-07-28 only names its versions to older clients.
                    let requested = head
                        .headers
                        .get(headers::MCP_PROTOCOL_VERSION)
                        .and_then(|v| v.to_str().ok());
                    ctx.session = None;
                    let response = v2026::unsupported_version(first_id(&body), requested);
                    return ctx.respond(&mut self.fx, response);
                }
                Revision::Before2026 => {}
            }
        }
        if let Some(session) = &session {
            self.sessions.touch(session, now);
            self.touch_shared(now, session);
        }
        match (transport, session) {
            (Some(Transport::HttpSse), Some(session)) => {
                self.post_http_sse(now, ctx, &head, session, body, raw)
            }
            (Some(_), Some(session)) => {
                if let Some(response) = self.check_protocol_version(&head.headers) {
                    return ctx.respond(&mut self.fx, response);
                }
                self.post_streamable(now, ctx, &head, Some(session), body, false)
            }
            _ if named.is_some() => {
                let response = responses::session_not_found(first_id(&body));
                ctx.respond(&mut self.fx, response)
            }
            _ if endpoint == Endpoint::Mcp && self.config.stateless => {
                self.post_streamable(now, ctx, &head, None, body, false)
            }
            _ if endpoint == Endpoint::Mcp && is_initialize(&body) => {
                self.initialize_session(now, ctx, &head, body)
            }
            _ => {
                // S2.39: a server that requires sessions answers 400 without one.
                let id = first_id(&body);
                let code = jsonrpc::SERVER_ERROR;
                let text = "Bad Request: Mcp-Session-Id header is required";
                let response = responses::error(StatusCode::BAD_REQUEST, id, code, text);
                ctx.respond(&mut self.fx, response)
            }
        }
    }

    /// With authorization on, a request needs valid credentials and the scopes every request
    /// needs (S4.4, S4.5); its principal goes into its extensions for the application, and the
    /// expiry of its token to `ctx` for the streams it opens. `Some`: the `401`/`403` to send.
    fn authenticate(
        &self,
        ctx: &mut Ctx,
        head: &mut request::Parts,
    ) -> Option<http::Response<Bytes>> {
        let auth = self.config.auth.as_ref()?;
        let principal = match head.extensions.get::<Credentials>() {
            None => return Some(auth.unauthorized(None)),
            Some(Credentials::Invalid(why)) => return Some(auth.unauthorized(Some(why))),
            Some(Credentials::Unchecked(why)) => {
                let retry = self.config.retry_after_secs;
                let text = format!("{}: {why}", Unavailable::TokenUnchecked.message());
                let reason = Unavailable::TokenUnchecked;
                return Some(responses::unavailable_saying(reason, retry, None, &text));
            }
            Some(Credentials::Valid(principal)) => principal.clone(),
        };
        if !principal.has_scopes(&auth.required_scopes) {
            let needed: Vec<&String> = auth.required_scopes.iter().collect();
            return Some(auth.insufficient_scope(&needed, None));
        }
        ctx.token_expires = principal.expires;
        head.extensions.insert(principal);
        None
    }

    /// A token without the scopes the body's requests need (a method's, a tool's) gets `403`
    /// naming them (S4.5).
    fn check_scopes(
        &self,
        head: &request::Parts,
        body: &jsonrpc::Body,
    ) -> Option<http::Response<Bytes>> {
        let auth = self.config.auth.as_ref()?;
        let principal = head.extensions.get::<Principal>()?;
        let messages: Vec<&jsonrpc::Message> = match body {
            jsonrpc::Body::Single(message) => vec![message],
            jsonrpc::Body::Batch(items) => items.iter().filter_map(|m| m.as_ref().ok()).collect(),
        };
        for message in messages {
            let jsonrpc::Message::Request(request) = message else {
                continue;
            };
            let tool = (request.method == "tools/call")
                .then(|| tool_name(request))
                .flatten();
            let needed = auth.scopes_for(&request.method, tool.as_deref());
            if !principal.has_scopes(needed.iter().copied()) {
                return Some(auth.insufficient_scope(&needed, Some(&request.id)));
            }
        }
        None
    }

    /// The live session `id` names, if the request's principal may use it: a session is bound
    /// to the principal that created it, and to anyone else it does not exist (S4.6).
    pub(crate) fn session_of<'a>(
        &'a self,
        id: &str,
        head: &request::Parts,
    ) -> Option<(&'a SessionId, &'a Session)> {
        let subject = head
            .extensions
            .get::<Principal>()
            .map(|p| p.subject.as_str());
        self.sessions
            .lookup(id)
            .filter(|(_, session)| session.owner.as_deref() == subject)
    }

    /// An unsupported `MCP-Protocol-Version` gets `400` naming the supported ones (S2.48). A
    /// version other than the negotiated one is tolerated: clients send older ones (the
    /// conformance suite sends 2025-03-26 on 2025-11-25 sessions).
    pub(crate) fn check_protocol_version(
        &self,
        headers: &http::HeaderMap,
    ) -> Option<http::Response<Bytes>> {
        let value = headers.get(headers::MCP_PROTOCOL_VERSION)?;
        if value
            .to_str()
            .ok()
            .and_then(ProtocolVersion::parse)
            .is_some()
        {
            return None;
        }
        let text = format!(
            "Bad Request: Unsupported protocol version (supported versions: {})",
            ProtocolVersion::ALL.map(ProtocolVersion::as_str).join(", ")
        );
        let data = RawValue::from_string(format!(
            "{{\"supported\":{}}}",
            ProtocolVersion::supported_json()
        ))
        .expect("a JSON object");
        let error = ErrorObject::new(jsonrpc::SERVER_ERROR, text).with_data(data);
        Some(responses::json(
            StatusCode::BAD_REQUEST,
            jsonrpc::encode_error(None, &error),
        ))
    }
}

/// The tool a `tools/call` names.
fn tool_name(request: &jsonrpc::Request) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Params {
        name: String,
    }
    let params = request.params.as_ref()?;
    serde_json::from_str::<Params>(params.get())
        .ok()
        .map(|p| p.name)
}

fn has_request(body: &jsonrpc::Body) -> bool {
    match body {
        jsonrpc::Body::Single(message) => message.is_request(),
        jsonrpc::Body::Batch(items) => items
            .iter()
            .any(|m| m.as_ref().is_ok_and(|m| m.is_request())),
    }
}

fn is_initialize(body: &jsonrpc::Body) -> bool {
    matches!(body, jsonrpc::Body::Single(jsonrpc::Message::Request(r)) if r.method == "initialize")
}

/// The session a request names: the `sessionId` query parameter of a 2024-11-05 endpoint URI
/// (or Python's `session_id`), else `Mcp-Session-Id`. A value that is not text names no live
/// session.
pub(crate) fn named_session(head: &request::Parts) -> Option<&str> {
    headers::query_param(head.uri.query(), "sessionId")
        .or_else(|| headers::query_param(head.uri.query(), "session_id"))
        .or_else(|| {
            let value = head.headers.get(MCP_SESSION_ID)?;
            Some(value.to_str().unwrap_or("\u{0}"))
        })
}

/// The id to echo in an error about a whole body (S3.27).
pub(crate) fn first_id(body: &jsonrpc::Body) -> Option<&jsonrpc::Id> {
    match body {
        jsonrpc::Body::Single(message) => message.id(),
        jsonrpc::Body::Batch(_) => None,
    }
}

/// The name of a `Host` value of the usual shape, `name` or `name:port` (letters, digits, `.`
/// and `-`; a port of 1 to 5 digits that fits in 16 bits), which is always a valid authority
/// without userinfo: every request has one, and it is read here without parsing it as a URI
/// authority (which copies it). `None`: any other shape, for the full parse.
fn plain_host(value: &[u8]) -> Option<&str> {
    // One pass: a plain name, then at most one colon.
    let mut colon = None;
    for (at, &b) in value.iter().enumerate() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' if colon.is_none() => {}
            b'0'..=b'9' => {}
            b':' if colon.is_none() => colon = Some(at),
            _ => return None,
        }
    }
    let (name, port) = match colon {
        Some(at) => (&value[..at], Some(&value[at + 1..])),
        None => (value, None),
    };
    // At most 5 digits before adding them up: no overflow.
    let port_ok = port.is_none_or(|port| {
        (1..=5).contains(&port.len())
            && port
                .iter()
                .fold(0u32, |n, &digit| n * 10 + u32::from(digit - b'0'))
                <= u32::from(u16::MAX)
    });
    if name.is_empty() || !port_ok {
        return None;
    }
    std::str::from_utf8(name).ok()
}

#[cfg(test)]
mod tests {
    use super::plain_host;

    /// The shortcut takes a subset of what the full parse takes, and reads the same name.
    #[test]
    fn plain_hosts_are_valid_authorities_with_the_same_name() {
        let plain = [
            "localhost",
            "localhost:8000",
            "127.0.0.1",
            "a-b.Example.com:65535",
            "x:0",
        ];
        for value in plain {
            let name = plain_host(value.as_bytes()).expect(value);
            let authority: http::uri::Authority = value.parse().expect(value);
            assert_eq!(name, authority.host(), "{value}");
        }
        let other = [
            "",
            ":80",
            "x:",
            "x:65536",
            "x:123456",
            "x:99999999999999999999",
            "x:8a",
            "[::1]:9",
            "u@x",
            "x y",
            "x:1:2",
        ];
        for value in other {
            assert_eq!(plain_host(value.as_bytes()), None, "{value}");
        }
    }
}
