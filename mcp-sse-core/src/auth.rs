//! Authorization as an OAuth 2.1 resource server (S4.4–S4.6): what the adapter's token verifier
//! found, the `401`/`403` answers and their `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9728
//! §5.1), which scopes a request needs, and the protected-resource metadata document (RFC 9728).
//!
//! Verifying a token is IO (a JWKS fetch, an introspection call), so the adapter does it before
//! the request reaches the server and puts the outcome, [`Credentials`], in the request head's
//! extensions; no `Credentials` means no token was presented. The server decides what the
//! outcome means: which paths need a token (never a preflight, never the metadata document),
//! which scopes, and which sessions a principal may use (its own only).

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::jsonrpc;
use crate::responses;

/// Who a valid bearer token says the request comes from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Principal {
    /// The token's subject (`sub`): the identity sessions are bound to.
    pub subject: String,
    /// The OAuth client the token was issued to (`client_id` or `azp`), if known.
    pub client_id: Option<String>,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
    /// When the token stops being valid, on this server's clock (the verifier converts the
    /// token's `exp`). Streams opened with it end then, with a reconnection hint.
    pub expires: Option<Instant>,
    /// The token's other claims, for the application.
    pub claims: Map<String, Value>,
}

impl Principal {
    /// A principal with no client id, scopes, expiry or other claims.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: None,
            scopes: Vec::new(),
            expires: None,
            claims: Map::new(),
        }
    }

    /// With these scopes.
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With this expiry.
    pub fn with_expiry(mut self, expires: Instant) -> Self {
        self.expires = Some(expires);
        self
    }

    /// With this client id.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Whether the token grants every scope of `needed`.
    pub fn has_scopes<'a>(&self, needed: impl IntoIterator<Item = &'a String>) -> bool {
        needed.into_iter().all(|s| self.scopes.contains(s))
    }
}

/// What the adapter's verifier found of a request's bearer token: the adapter puts it in the
/// request head's extensions before [`Server::handle_request`](crate::Server::handle_request).
/// A request without it presented no token. When the token is valid the server puts its
/// [`Principal`] in the extensions too, where handlers find it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Credentials {
    /// A valid token for this resource.
    Valid(Principal),
    /// A token was presented and refused (bad signature, wrong audience, expired, unknown):
    /// why, for the challenge's `error_description`.
    Invalid(String),
    /// A token was presented and could not be checked now (the verifier's keys unreachable,
    /// or it did not answer in time): why. Answered `503` with `Retry-After`, never `401`,
    /// which would tell the client to throw a token away that may be good.
    Unchecked(String),
}

/// The server as an OAuth 2.1 protected resource (`Config::auth`).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Authorization {
    /// This server's resource identifier (RFC 8707): the canonical URL of its MCP endpoint,
    /// which clients ask tokens for and verifiers check as the audience, e.g.
    /// `https://mcp.example.com/mcp`.
    pub resource: String,
    /// The authorization servers that issue tokens for it (RFC 9728 `authorization_servers`).
    pub authorization_servers: Vec<String>,
    /// The scopes it knows (`scopes_supported`).
    pub scopes_supported: Vec<String>,
    /// Scopes every request needs; named in the `401` challenge so a client asks for them.
    pub required_scopes: Vec<String>,
    /// Scopes a method needs on top, e.g. `("tools/call", ["mcp:tools"])`.
    pub method_scopes: Vec<(String, Vec<String>)>,
    /// Scopes a tool needs on top, e.g. `("delete_everything", ["admin"])`.
    pub tool_scopes: Vec<(String, Vec<String>)>,
    /// A human-readable name for the metadata document (`resource_name`).
    pub resource_name: Option<String>,
    /// A page about the resource (`resource_documentation`).
    pub resource_documentation: Option<String>,
}

/// Where the protected-resource metadata lives (RFC 9728 §3.1): `/.well-known/…` at the root,
/// and with the resource's path appended.
pub(crate) const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

impl Authorization {
    /// The absolute URL of the metadata document for `resource_metadata` (RFC 9728 §3.1: the
    /// well-known path goes between the host and the resource's path).
    pub fn metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        let path = path.trim_end_matches('/');
        format!("{origin}{METADATA_PATH}{path}")
    }

    /// Whether `path` is the metadata document's: the root form or the path-suffixed one.
    pub(crate) fn is_metadata_path(&self, path: &str) -> bool {
        let (_, resource_path) = split_origin(&self.resource);
        path == METADATA_PATH
            || path.strip_prefix(METADATA_PATH) == Some(resource_path.trim_end_matches('/'))
    }

    /// The metadata document (RFC 9728 §2).
    pub(crate) fn metadata(&self) -> Response<Bytes> {
        let mut document = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes_supported.is_empty() {
            document["scopes_supported"] = json!(self.scopes_supported);
        }
        if let Some(name) = &self.resource_name {
            document["resource_name"] = json!(name);
        }
        if let Some(page) = &self.resource_documentation {
            document["resource_documentation"] = json!(page);
        }
        let body = serde_json::to_vec(&document).expect("JSON values serialise");
        let mut response = responses::json(StatusCode::OK, Bytes::from(body));
        // Clients may cache it; it changes only with the configuration.
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        response
    }

    /// The scopes a request for `method` (calling `tool`, if a tool call) needs.
    pub(crate) fn scopes_for(&self, method: &str, tool: Option<&str>) -> Vec<&String> {
        let mut needed: Vec<&String> = self.required_scopes.iter().collect();
        needed.extend(extra_scopes(&self.method_scopes, method));
        if let Some(tool) = tool {
            needed.extend(extra_scopes(&self.tool_scopes, tool));
        }
        needed.sort();
        needed.dedup();
        needed
    }

    /// `401`: no token, or a refused one (RFC 6750 §3, S4.4, S4.5): the challenge names the metadata
    /// document and the scopes every request needs, so the client can get a token.
    pub(crate) fn unauthorized(&self, refused: Option<&str>) -> Response<Bytes> {
        let mut challenge = format!("Bearer resource_metadata=\"{}\"", self.metadata_url());
        if !self.required_scopes.is_empty() {
            challenge.push_str(&format!(", scope=\"{}\"", self.required_scopes.join(" ")));
        }
        let text = match refused {
            Some(why) => {
                challenge.push_str(&format!(
                    ", error=\"invalid_token\", error_description=\"{}\"",
                    quoted(why)
                ));
                format!("Unauthorized: {why}")
            }
            None => "Unauthorized: a bearer token is required".to_owned(),
        };
        challenged(StatusCode::UNAUTHORIZED, challenge, &text)
    }

    /// `403` for a token without the scopes the request needs (RFC 6750 §3.1, S4.5).
    pub(crate) fn insufficient_scope(
        &self,
        needed: &[&String],
        id: Option<&jsonrpc::Id>,
    ) -> Response<Bytes> {
        let scope = needed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{}\"",
            self.metadata_url()
        );
        let text = format!("Forbidden: this request needs the scopes {scope}");
        let mut response = challenged(StatusCode::FORBIDDEN, challenge, &text);
        if let Some(id) = id {
            let error = jsonrpc::ErrorObject::new(jsonrpc::SERVER_ERROR, text);
            *response.body_mut() = jsonrpc::encode_error(Some(id), &error);
        }
        response
    }
}

/// The scopes `table` lists for `key`.
fn extra_scopes<'a>(table: &'a [(String, Vec<String>)], key: &str) -> Vec<&'a String> {
    table
        .iter()
        .filter(|(name, _)| name == key)
        .flat_map(|(_, scopes)| scopes)
        .collect()
}

fn challenged(status: StatusCode, challenge: String, text: &str) -> Response<Bytes> {
    let mut response = responses::error(status, None, jsonrpc::SERVER_ERROR, text);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A reason made safe for a quoted-string: no quotes, backslashes or control characters.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_control() || !c.is_ascii() => ' ',
            c => c,
        })
        .collect()
}

/// `https://host:port` and the rest of an absolute URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authorization {
        Authorization {
            resource: "https://mcp.example.com/mcp".into(),
            authorization_servers: vec!["https://auth.example.com".into()],
            required_scopes: vec!["mcp".into()],
            method_scopes: vec![("tools/call".into(), vec!["mcp:tools".into()])],
            tool_scopes: vec![("wipe".into(), vec!["admin".into(), "mcp".into()])],
            ..Authorization::default()
        }
    }

    #[test]
    fn the_metadata_document_lives_at_the_well_known_path_with_the_resource_path_s4_4() {
        let auth = auth();
        assert_eq!(
            auth.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert!(auth.is_metadata_path("/.well-known/oauth-protected-resource"));
        assert!(auth.is_metadata_path("/.well-known/oauth-protected-resource/mcp"));
        assert!(!auth.is_metadata_path("/.well-known/oauth-protected-resource/other"));
        let body: Value = serde_json::from_slice(auth.metadata().body()).unwrap();
        assert_eq!(body["resource"], "https://mcp.example.com/mcp");
        assert_eq!(body["authorization_servers"][0], "https://auth.example.com");
        let root = Authorization {
            resource: "https://mcp.example.com".into(),
            ..Authorization::default()
        };
        assert_eq!(
            root.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn challenges_name_the_metadata_and_the_scopes_s4_5() {
        let auth = auth();
        let missing = auth.unauthorized(None);
        assert_eq!(missing.status(), 401);
        let challenge = missing.headers()["www-authenticate"].to_str().unwrap();
        assert_eq!(
            challenge,
            "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""
        );
        let invalid = auth.unauthorized(Some("token \"expired\"\n"));
        let challenge = invalid.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""));
        assert!(challenge.contains("error_description=\"token 'expired' \""));
        let needed = auth.scopes_for("tools/call", Some("wipe"));
        assert_eq!(needed, ["admin", "mcp", "mcp:tools"]);
        let forbidden = auth.insufficient_scope(&needed, Some(&jsonrpc::Id::Number(3)));
        assert_eq!(forbidden.status(), 403);
        let challenge = forbidden.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge
                .starts_with("Bearer error=\"insufficient_scope\", scope=\"admin mcp mcp:tools\"")
        );
        let body: Value = serde_json::from_slice(forbidden.body()).unwrap();
        assert_eq!(body["id"], 3);
        assert!(
            Principal::new("a")
                .with_scopes(["mcp"])
                .has_scopes(auth.scopes_for("ping", None))
        );
    }
}
