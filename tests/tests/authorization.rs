//! Authorization as an OAuth 2.1 resource server (S4.4–S4.6): `401` with a challenge naming the
//! metadata document and the scopes, `403 insufficient_scope`, the metadata document itself,
//! every session bound to the principal that created it on every transport (another principal
//! gets `404`, no oracle), and streams that end when their token expires.

use std::time::Duration;

use mcp_sse_core::{
    Authorization, CloseReason, Config, Credentials, Event, Principal, Unavailable,
};
use mcp_sse_tests::Sim;
use serde_json::Value;

const RESOURCE: &str = "https://mcp.example.com/mcp";
const METADATA: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const PING: &str = r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#;

fn config() -> Config {
    let mut auth = Authorization::default();
    auth.resource = RESOURCE.into();
    auth.authorization_servers = vec!["https://auth.example.com".into()];
    auth.required_scopes = vec!["mcp".into()];
    auth.tool_scopes = vec![("wipe".into(), vec!["admin".into()])];
    let mut config = Config::default();
    config.auth = Some(auth);
    config
}

fn token(subject: &str) -> Credentials {
    Credentials::Valid(Principal::new(subject).with_scopes(["mcp"]))
}

#[test]
fn no_token_is_401_with_a_challenge_naming_the_metadata_and_scopes_s4_4() {
    let mut sim = Sim::new(config());
    let origin = ("origin", "http://localhost:3000");
    let x = sim.post("/mcp", &[origin], PING);
    let seen = sim.seen(x);
    assert_eq!(seen.status(), 401);
    assert_eq!(
        seen.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{METADATA}\", scope=\"mcp\"").as_str())
    );
    assert_eq!(seen.json()["error"]["code"], -32000);
    // Browsers can read it: CORS headers on the error, the challenge exposed (C6).
    assert_eq!(
        seen.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(
        seen.header("access-control-expose-headers")
            .unwrap()
            .contains("WWW-Authenticate")
    );
    // Every transport and method is guarded; a preflight and the metadata never are.
    assert_eq!(
        {
            let x = sim.get_stream("/sse", &[]);
            sim.seen(x).status()
        },
        401
    );
    assert_eq!(
        {
            let x = sim.get_stream("/mcp", &[]);
            sim.seen(x).status()
        },
        401
    );
    let preflight = sim.request("OPTIONS", "/mcp", &[origin], "");
    assert_eq!(sim.seen(preflight).status(), 204);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let x = sim.request("GET", path, &[origin], "");
        assert_eq!(sim.seen(x).status(), 200, "{path}");
        let document: Value = sim.seen(x).json();
        assert_eq!(document["resource"], RESOURCE);
        assert_eq!(
            document["authorization_servers"][0],
            "https://auth.example.com"
        );
        assert_eq!(
            sim.seen(x).header("access-control-allow-origin"),
            Some("http://localhost:3000")
        );
    }
    assert_eq!(sim.server.session_count(), 0, "nothing allocated");
}

#[test]
fn a_refused_token_is_401_invalid_token_and_too_few_scopes_403_s4_5() {
    let mut sim = Sim::new(config());
    sim.credentials = Some(Credentials::Invalid("the token expired".into()));
    let x = sim.post("/mcp", &[], PING);
    assert_eq!(sim.seen(x).status(), 401);
    let challenge = sim.seen(x).header("www-authenticate").unwrap().to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("error_description=\"the token expired\""));

    sim.credentials = Some(Credentials::Valid(Principal::new("alice")));
    let x = sim.post("/mcp", &[], PING);
    assert_eq!(sim.seen(x).status(), 403);
    assert!(
        sim.seen(x)
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"insufficient_scope\", scope=\"mcp\"")
    );

    // A tool that needs more: 403 naming the scopes and the request.
    sim.credentials = Some(token("alice"));
    let session = sim.initialize("2025-11-25");
    let wipe = r#"{"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wipe"}}"#;
    let x = sim.post("/mcp", &[("mcp-session-id", &session)], wipe);
    assert_eq!(sim.seen(x).status(), 403);
    assert_eq!(sim.seen(x).json()["id"], "w");
    assert!(
        sim.seen(x)
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"admin mcp\"")
    );
    assert!(sim.take_events().is_empty(), "the application never saw it");
    sim.credentials = Some(Credentials::Valid(
        Principal::new("alice").with_scopes(["mcp", "admin"]),
    ));
    let x = sim.post("/mcp", &[("mcp-session-id", &session)], wipe);
    let (key, _) = sim.next_request();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(x).status(), 200);
}

/// A token the verifier could not check is not refused: `503` with `Retry-After`, no challenge
/// (a `401` would make the client drop a token that may be good), CORS headers as on every
/// answer, the reason in the extensions for metrics, and nothing allocated or delivered.
#[test]
fn a_token_not_checked_is_503_with_retry_after_not_401() {
    let mut sim = Sim::new(config());
    sim.credentials = Some(Credentials::Unchecked("key set unreachable".into()));
    let origin = ("origin", "http://localhost:3000");
    let x = sim.post("/mcp", &[origin], PING);
    let seen = sim.seen(x);
    assert_eq!(seen.status(), 503);
    assert_eq!(seen.header("retry-after"), Some("1"));
    assert_eq!(seen.header("www-authenticate"), None);
    assert_eq!(
        seen.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let message = seen.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.ends_with(": key set unreachable"), "{message}");
    assert_eq!(
        seen.response().extensions().get::<Unavailable>(),
        Some(&Unavailable::TokenUnchecked)
    );
    assert_eq!(sim.server.session_count(), 0);
    assert!(sim.take_events().is_empty());
}

#[test]
fn handlers_see_the_principal_and_never_the_token() {
    let mut sim = Sim::new(config());
    sim.credentials = Some(token("alice"));
    sim.initialize("2025-11-25");
    let mut config = config();
    config.stateless = true;
    let mut sim = Sim::new(config);
    sim.credentials = Some(token("alice"));
    sim.post("/mcp", &[], PING);
    let Some(Event::Request { head, .. }) = sim.take_events().into_iter().next() else {
        panic!("a request");
    };
    assert_eq!(head.extensions.get::<Principal>().unwrap().subject, "alice");
}

#[test]
fn a_session_exists_only_for_the_principal_that_created_it_s4_6() {
    let mut sim = Sim::new(config());
    sim.credentials = Some(token("alice"));
    let session = sim.initialize("2025-11-25");
    let (stream, endpoint) = sim.open_legacy("/sse");

    // Bob learned both session ids. To him they do not exist, on every transport and method.
    sim.credentials = Some(token("bob"));
    let named = [("mcp-session-id", session.as_str())];
    let x = sim.post("/mcp", &named, PING);
    assert_eq!(
        (
            sim.seen(x).status(),
            sim.seen(x).json()["error"]["code"].clone()
        ),
        (404, (-32001).into())
    );
    assert_eq!(
        {
            let x = sim.get_stream("/mcp", &named);
            sim.seen(x).status()
        },
        404
    );
    let last = [
        ("mcp-session-id", session.as_str()),
        ("last-event-id", "00000000-1-1"),
    ];
    assert_eq!(
        {
            let x = sim.get_stream("/mcp", &last);
            sim.seen(x).status()
        },
        404
    );
    assert_eq!(
        {
            let x = sim.request("DELETE", "/mcp", &named, "");
            sim.seen(x).status()
        },
        404
    );
    assert_eq!(
        {
            let x = sim.post(&endpoint, &[], PING);
            sim.seen(x).status()
        },
        404
    );
    let unknown = [("mcp-session-id", "0123456789abcdef0123456789abcdef")];
    let x = sim.post("/mcp", &unknown, PING);
    let y = sim.post("/mcp", &named, PING);
    assert_eq!(
        sim.seen(x).response().body(),
        sim.seen(y).response().body(),
        "the same answer as an unknown id: no oracle"
    );
    assert!(
        sim.take_events()
            .iter()
            .all(|e| !matches!(e, Event::Request { .. }))
    );

    // Alice still has both.
    sim.credentials = Some(token("alice"));
    let x = sim.post(&endpoint, &[], PING);
    assert_eq!(sim.seen(x).status(), 202);
    assert!(sim.server.has_session(&session));
    assert!(!sim.seen(stream).finished);
}

#[test]
fn a_stream_ends_when_its_token_expires_and_resumes_with_a_fresh_one() {
    let mut sim = Sim::new(config());
    let soon = |sim: &Sim| {
        Credentials::Valid(
            Principal::new("alice")
                .with_scopes(["mcp"])
                .with_expiry(sim.now + Duration::from_secs(5)),
        )
    };
    sim.credentials = Some(token("alice"));
    let session = sim.initialize("2025-11-25");
    sim.credentials = Some(soon(&sim));
    let standalone = sim.get_stream("/mcp", &[("mcp-session-id", &session)]);
    let (legacy, _) = sim.open_legacy("/sse");
    sim.take_events();
    sim.advance(Duration::from_secs(4));
    assert!(!sim.seen(standalone).finished);
    sim.advance(Duration::from_secs(1));
    // Within a keepalive interval (here at once: the expiry comes first) both connections end.
    assert!(sim.seen(standalone).finished);
    assert!(sim.seen(standalone).raw.ends_with(b"retry: 1000\n\n"));
    assert!(sim.seen(legacy).finished);
    let closed: Vec<_> = sim
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::SessionClosed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        closed,
        [CloseReason::TokenExpired],
        "the 2024-11-05 stream was its session"
    );
    assert!(sim.server.has_session(&session));
    // The client comes back with a fresh token and resumes where it was.
    sim.credentials = Some(token("alice"));
    let last = sim
        .seen(standalone)
        .events()
        .last()
        .map(|e| e.last_event_id.clone())
        .unwrap();
    let resumed = sim.get_stream(
        "/mcp",
        &[("mcp-session-id", &session), ("last-event-id", &last)],
    );
    assert_eq!(sim.seen(resumed).status(), 200);
}
