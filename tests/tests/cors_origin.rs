//! Origin validation (S1.4, S4.1) and CORS (docs/requirements.md §8), including the seed's review
//! finding: `Mcp-Session-Id` must be exposed to browsers, on every response, errors included.

use mcp_sse_core::{Config, Cors, OriginPolicy};
use mcp_sse_tests::Sim;

fn with_cors() -> Config {
    let mut config = Config::default();
    config.origins = OriginPolicy::List {
        origins: vec!["https://app.example".into()],
        with_loopback: true,
    };
    config.cors = Some(Cors::default());
    config
}

const APP: (&str, &str) = ("origin", "https://app.example");

#[test]
fn s4_1_foreign_origin_is_403_without_cors_headers() {
    let mut sim = Sim::new(with_cors());
    let x = sim.get_stream("/sse", &[("origin", "http://evil.example.com")]);
    assert_eq!(sim.seen(x).status(), 403);
    assert!(sim.seen(x).header("access-control-allow-origin").is_none());
    assert!(sim.seen(x).json()["error"].is_object());
    // No Origin: a non-browser client, allowed.
    let x = sim.get_stream("/sse", &[]);
    assert_eq!(sim.seen(x).status(), 200);
}

#[test]
fn default_policy_allows_loopback_origins_only() {
    let mut sim = Sim::new(Config::default());
    let x = sim.get_stream("/sse", &[("origin", "http://localhost:5173")]);
    assert_eq!(sim.seen(x).status(), 200);
    let x = sim.get_stream("/sse", &[APP]);
    assert_eq!(sim.seen(x).status(), 403);
}

#[test]
fn c1_session_header_is_exposed_on_streams_202s_and_errors() {
    let mut sim = Sim::new(with_cors());
    let stream = sim.get_stream("/sse", &[APP]);
    let seen = sim.seen(stream);
    assert_eq!(
        seen.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(
        seen.header("access-control-expose-headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
    let endpoint = seen.events()[0].data.clone();

    let ok = sim.post(
        &endpoint,
        &[APP],
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    let bad = sim.post(&endpoint, &[APP], "{oops");
    let gone = sim.post(
        "/messages?sessionId=zzz",
        &[APP],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
    );
    for (x, status) in [(ok, 202), (bad, 400), (gone, 404)] {
        let seen = sim.seen(x);
        assert_eq!(seen.status(), status);
        assert_eq!(
            seen.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert!(
            seen.header("access-control-expose-headers")
                .unwrap()
                .contains("Mcp-Session-Id"),
            "C6: CORS headers on a {status}"
        );
    }
}

#[test]
fn c3_preflight_is_answered_and_never_405() {
    let mut sim = Sim::new(with_cors());
    for path in ["/mcp", "/sse", "/messages"] {
        let x = sim.request(
            "OPTIONS",
            path,
            &[
                APP,
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type, mcp-session-id",
                ),
            ],
            "",
        );
        let seen = sim.seen(x);
        assert_eq!(seen.status(), 204);
        assert_eq!(
            seen.header("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert!(
            seen.header("access-control-allow-methods")
                .unwrap()
                .contains("POST")
        );
        assert_eq!(
            seen.header("access-control-allow-headers"),
            Some("content-type, mcp-session-id")
        );
        assert!(seen.header("access-control-max-age").is_some());
    }
}

#[test]
fn any_origin_without_credentials_answers_star() {
    let mut config = with_cors();
    config.origins = OriginPolicy::Any;
    let mut sim = Sim::new(config);
    let x = sim.get_stream("/sse", &[("origin", "https://anywhere.example")]);
    assert_eq!(sim.seen(x).header("access-control-allow-origin"), Some("*"));
}

/// CORS is on by default for the allowed origins (loopback only by default), so a local web
/// client (an inspector page on another port) can talk to a default server; a foreign page is
/// still refused, and `cors: None` turns the headers off.
#[test]
fn cors_is_on_by_default_for_the_allowed_origins() {
    let mut sim = Sim::new(Config::default());
    let local = ("origin", "http://localhost:3000");
    let stream = sim.get_stream("/sse", &[local]);
    let seen = sim.seen(stream);
    assert_eq!(
        seen.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(
        seen.header("access-control-expose-headers")
            .unwrap()
            .contains("Mcp-Session-Id")
    );
    assert_eq!(seen.header("vary"), Some("Origin"));
    let preflight = sim.request(
        "OPTIONS",
        "/mcp",
        &[local, ("access-control-request-method", "POST")],
        "",
    );
    assert_eq!(sim.seen(preflight).status(), 204);
    assert_eq!(
        sim.seen(preflight).header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let foreign = sim.get_stream("/sse", &[APP]);
    assert_eq!(sim.seen(foreign).status(), 403);
    assert!(
        sim.seen(foreign)
            .header("access-control-allow-origin")
            .is_none()
    );

    let mut config = Config::default();
    config.cors = None;
    let mut sim = Sim::new(config);
    let stream = sim.get_stream("/sse", &[local]);
    assert!(
        sim.seen(stream)
            .header("access-control-allow-origin")
            .is_none()
    );
}
