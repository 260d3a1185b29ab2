//! The verifier hook over real loopback HTTP, on both adapters: bearer tokens checked before the
//! server sees the request (S4.4–S4.6), the principal handed to handlers, the token to no one,
//! and a verifier that hangs or cannot check a token answered `503`, not `401`.

#[macro_use]
mod two_adapters;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_sse_app::auth::{Authenticator, Refusal, StaticTokens};
use mcp_sse_app::{Handler, RequestContext, ServeConfig};
use mcp_sse_core::jsonrpc::{self, ErrorObject};
use mcp_sse_core::{Authorization, Config, Principal};
use mcp_sse_tests::client;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use two_adapters::Adapter;

const RESOURCE: &str = "http://127.0.0.1/mcp";
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#;
const WHOAMI: &str = r#"{"jsonrpc":"2.0","id":2,"method":"whoami"}"#;

/// Answers `whoami` with what the handler sees of the caller; `initialize` with its params.
struct WhoAmI;

impl Handler for WhoAmI {
    async fn request(
        &self,
        cx: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        match request.method.as_str() {
            "initialize" => Ok(json!({"protocolVersion": "2025-11-25", "capabilities": {},
                "serverInfo": {"name": "whoami", "version": "0"}})),
            _ => Ok(json!({
                "subject": cx.principal().map(|p| p.subject.clone()),
                "scopes": cx.principal().map(|p| p.scopes.clone()),
                "authorization": cx.http().headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()),
            })),
        }
    }
}

for_both_adapters!(
    a_token_is_checked_before_the_server_and_reaches_no_handler_s4_5,
    a_jwt_is_checked_with_keys_fetched_over_http_from_the_issuers_metadata,
    a_session_is_no_use_with_another_principals_token_s4_6,
    a_verifier_that_hangs_or_cannot_check_gets_503,
);

/// A server that asks for tokens for `RESOURCE`, checked by `authenticator`.
fn config(authenticator: Authenticator) -> ServeConfig {
    let mut server = Config::default();
    let mut auth = Authorization::default();
    auth.resource = RESOURCE.into();
    auth.authorization_servers = vec!["http://127.0.0.1:1".into()];
    auth.required_scopes = vec!["mcp".into()];
    server.auth = Some(auth);
    let mut config = ServeConfig::from(server);
    config.authenticator = Some(authenticator);
    config
}

fn tokens() -> Authenticator {
    Authenticator::new(
        StaticTokens::new()
            .with("alice-token", Principal::new("alice").with_scopes(["mcp"]))
            .with("bob-token", Principal::new("bob").with_scopes(["mcp"]))
            .with("carol-token", Principal::new("carol")),
    )
}

async fn a_token_is_checked_before_the_server_and_reaches_no_handler_s4_5(adapter: Adapter) {
    let server = adapter.serve(config(tokens()), WhoAmI).await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        client::post(server.addr, "/mcp", headers, WHOAMI)
    };
    // No token: the challenge names the metadata document and the scope.
    let missing = post(&[]).await;
    assert_eq!(missing.status(), 401);
    let challenge = missing.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"http://127.0.0.1/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
    assert!(!challenge.contains("invalid_token"), "{challenge}");
    // A wrong token, another scheme, a token in the query.
    let wrong = post(&[("authorization", "Bearer mallory-token")]).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let basic = post(&[("authorization", "Basic YWxpY2UtdG9rZW4=")]).await;
    assert_eq!(basic.status(), 401);
    let query = client::post(server.addr, "/mcp?access_token=alice-token", &[], WHOAMI).await;
    assert_eq!(query.status(), 401, "a token in the query is not looked at");
    // Too few scopes.
    let carol = post(&[("authorization", "Bearer carol-token")]).await;
    assert_eq!(carol.status(), 403);
    // The right token: the handler sees who, and never the token.
    let init = client::post(
        server.addr,
        "/mcp",
        &[("authorization", "Bearer alice-token")],
        INIT,
    )
    .await;
    assert_eq!(init.status(), 200, "{:?}", init.body);
    let session = init.header("mcp-session-id").unwrap();
    let headers = [
        ("authorization", "Bearer alice-token"),
        ("mcp-session-id", session),
    ];
    let alice = client::post(server.addr, "/mcp", &headers, WHOAMI).await;
    assert_eq!(alice.status(), 200, "{:?}", alice.body);
    assert_eq!(
        alice.json()["result"],
        json!({"subject": "alice", "scopes": ["mcp"], "authorization": null})
    );
    // The metadata document needs no token.
    let metadata = client::fetch(
        server.addr,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        "",
    )
    .await;
    assert_eq!(metadata.status(), 200);
    assert_eq!(metadata.json()["resource"], RESOURCE);
    server.stop().await;
}

async fn a_session_is_no_use_with_another_principals_token_s4_6(adapter: Adapter) {
    let server = adapter.serve(config(tokens()), WhoAmI).await;
    let alice = [("authorization", "Bearer alice-token")];
    let init = client::post(server.addr, "/mcp", &alice, INIT).await;
    assert_eq!(init.status(), 200, "{:?}", init.body);
    let session = init.header("mcp-session-id").unwrap().to_owned();
    let as_alice = [
        ("authorization", "Bearer alice-token"),
        ("mcp-session-id", session.as_str()),
    ];
    let as_bob = [
        ("authorization", "Bearer bob-token"),
        ("mcp-session-id", session.as_str()),
    ];
    let mine = client::post(server.addr, "/mcp", &as_alice, WHOAMI).await;
    assert_eq!(mine.json()["result"]["subject"], "alice");
    let theirs = client::post(server.addr, "/mcp", &as_bob, WHOAMI).await;
    assert_eq!(theirs.status(), 404, "as if there were no such session");
    let delete = client::fetch(server.addr, "DELETE", "/mcp", &as_bob, "").await;
    assert_eq!(delete.status(), 404);
    let still = client::post(server.addr, "/mcp", &as_alice, WHOAMI).await;
    assert_eq!(still.status(), 200, "bob's DELETE did not end it");
    server.stop().await;
}

async fn a_verifier_that_hangs_or_cannot_check_gets_503(adapter: Adapter) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let authenticator = Authenticator::new(move |token: String| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            match token.as_str() {
                "hang" => std::future::pending().await,
                _ => Err(Refusal::Unavailable("the issuer is unreachable".into())),
            }
        }
    })
    .with_timeout(Duration::from_millis(200));
    let server = adapter.serve(config(authenticator), WhoAmI).await;
    let hung = client::post(
        server.addr,
        "/mcp",
        &[("authorization", "Bearer hang")],
        WHOAMI,
    )
    .await;
    assert_eq!(hung.status(), 503);
    // The server's retry_after_secs, as on its other 503s.
    assert_eq!(hung.header("retry-after"), Some("1"));
    assert!(
        hung.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 200ms")
    );
    let down = client::post(
        server.addr,
        "/mcp",
        &[("authorization", "Bearer other")],
        WHOAMI,
    )
    .await;
    assert_eq!(down.status(), 503);
    assert!(
        down.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    server.stop().await;
}

/// An authorization server's documents over loopback HTTP: its RFC 8414 metadata and its key
/// set; counts the key set's GETs.
struct Issuer {
    url: String,
    jwks_gets: Arc<AtomicUsize>,
    key: jsonwebtoken::EncodingKey,
}

impl Issuer {
    async fn start() -> Self {
        use http_body_util::Full;
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pem = include_bytes!("../../mcp-sse-app/src/auth/jwt/keys/rsa-a.pem");
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem).unwrap();
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256)
                .unwrap();
        jwk.common.key_id = Some("k1".into());
        let jwks = json!({"keys": [jwk]}).to_string();
        let metadata = json!({"issuer": url, "jwks_uri": format!("{url}/jwks")}).to_string();
        let jwks_gets = Arc::new(AtomicUsize::new(0));
        let gets = jwks_gets.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (jwks, metadata, gets) = (jwks.clone(), metadata.clone(), gets.clone());
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let body = match request.uri().path() {
                        "/.well-known/oauth-authorization-server" => Some(metadata.clone()),
                        "/jwks" => {
                            gets.fetch_add(1, Ordering::SeqCst);
                            Some(jwks.clone())
                        }
                        _ => None,
                    };
                    let response = match body {
                        Some(body) => hyper::Response::new(Full::new(bytes::Bytes::from(body))),
                        None => hyper::Response::builder()
                            .status(404)
                            .body(Full::default())
                            .unwrap(),
                    };
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service),
                );
            }
        });
        Self {
            url,
            jwks_gets,
            key,
        }
    }

    /// A token for `audience`, signed with the published key.
    fn token(&self, audience: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({"iss": self.url, "aud": audience, "sub": "alice",
            "scope": "mcp", "exp": now + 600});
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

async fn a_jwt_is_checked_with_keys_fetched_over_http_from_the_issuers_metadata(adapter: Adapter) {
    use mcp_sse_app::auth::jwt::{HttpFetch, JwtConfig, JwtVerifier};

    let issuer = Issuer::start().await;
    let fetch: Arc<dyn mcp_sse_app::auth::jwt::Fetch> = match adapter {
        Adapter::Tokio => Arc::new(HttpFetch::new(mcp_sse_tokio::Tokio::current())),
        Adapter::Smol => Arc::new(HttpFetch::new(mcp_sse_smol::Smol::default())),
    };
    let verifier = JwtVerifier::new(JwtConfig::new(&issuer.url, RESOURCE), fetch).unwrap();
    let server = adapter
        .serve(config(Authenticator::new(verifier)), WhoAmI)
        .await;
    let bearer = format!("Bearer {}", issuer.token(RESOURCE));
    let init = client::post(server.addr, "/mcp", &[("authorization", &bearer)], INIT).await;
    assert_eq!(init.status(), 200, "{:?}", init.body);
    let session = init.header("mcp-session-id").unwrap();
    let headers = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", session),
    ];
    let whoami = client::post(server.addr, "/mcp", &headers, WHOAMI).await;
    assert_eq!(whoami.json()["result"]["subject"], "alice");
    assert_eq!(
        issuer.jwks_gets.load(Ordering::SeqCst),
        1,
        "the keys are kept"
    );
    // A token the same issuer made for another server is refused.
    let elsewhere = format!("Bearer {}", issuer.token("http://127.0.0.1/other"));
    let refused = client::post(server.addr, "/mcp", &[("authorization", &elsewhere)], INIT).await;
    assert_eq!(refused.status(), 401);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("(aud)"), "{challenge}");
    server.stop().await;
}
