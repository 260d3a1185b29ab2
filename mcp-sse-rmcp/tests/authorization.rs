//! Bearer tokens in front of bridged rmcp handlers, over real loopback HTTP: a tool finds the
//! token's principal in the extensions of the request head (`http::request::Parts`) rmcp hands
//! it, and never the token.

mod support;

use mcp_sse_app::auth::{Authenticator, StaticTokens};
use mcp_sse_app::{Authorization, Principal};
use mcp_sse_rmcp::Config;
use mcp_sse_tests::client;
use serde_json::{Value, json};
use support::{INIT, call, messages, start_checking, text};

#[tokio::test]
async fn a_tool_sees_the_principal_of_the_token_and_not_the_token() {
    let mut config = Config::default();
    let mut auth = Authorization::default();
    auth.resource = "http://127.0.0.1/mcp".into();
    auth.authorization_servers = vec!["http://127.0.0.1:1".into()];
    config.auth = Some(auth);
    let tokens = StaticTokens::new().with("alice-token", Principal::new("alice"));
    let server = start_checking(config, Some(Authenticator::new(tokens))).await;

    let without = client::post(server.addr, "/mcp", &[], INIT).await;
    assert_eq!(without.status(), 401);
    let bearer = ("authorization", "Bearer alice-token");
    let init = client::post(server.addr, "/mcp", &[bearer], INIT).await;
    assert_eq!(init.status(), 200, "{:?}", init.body);
    let session = init.header("mcp-session-id").unwrap().to_owned();
    let headers = [bearer, ("mcp-session-id", session.as_str())];
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    assert_eq!(
        client::post(server.addr, "/mcp", &headers, note)
            .await
            .status(),
        202
    );
    let reply = client::post(server.addr, "/mcp", &headers, &call(4, "whoami", json!({}))).await;
    let seen: Value = serde_json::from_str(text(&messages(&reply)[0])).unwrap();
    assert_eq!(seen["subject"], "alice", "{seen}");
    assert_eq!(seen["authorization"], Value::Null, "{seen}");
}
