//! Helpers shared by the core's benchmarks: request heads, a session, draining outputs.

use std::time::Instant;

use bytes::Bytes;
use mcp_sse_core::{Output, Server};
use serde_json::value::RawValue;

/// A request head on `uri` that names `session` and speaks 2025-11-25.
pub fn request(
    method: &str,
    uri: &str,
    session: Option<&str>,
    accept: &str,
) -> http::request::Parts {
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("accept", accept)
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    request.body(()).expect("valid").into_parts().0
}

/// A `POST` to `/mcp` that accepts JSON and SSE.
pub fn post(session: Option<&str>) -> http::request::Parts {
    request(
        "POST",
        "/mcp",
        session,
        "application/json, text/event-stream",
    )
}

/// Opens a 2025-11-25 session, its answer as JSON or a stream, and returns its id.
pub fn initialize(server: &mut Server, now: Instant) -> String {
    const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
    const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let answer =
        RawValue::from_string(r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#.into())
            .expect("JSON");
    server.handle_request(now, post(None), Bytes::from_static(INIT.as_bytes()));
    let mut session = None;
    while let Some(output) = server.poll_output() {
        match output {
            Output::Event(mcp_sse_core::Event::Request { key, .. }) => {
                server.reply(now, key, Ok(&answer)).expect("pending");
            }
            Output::Respond { response, .. } => {
                session = Some(response.headers()["mcp-session-id"].clone());
            }
            Output::StartStream { head, .. } => {
                session = Some(head.headers()["mcp-session-id"].clone());
            }
            Output::Data { exchange, chunk } => server.handle_consumed(now, exchange, chunk.len()),
            _ => {}
        }
    }
    let session = session
        .expect("a session")
        .to_str()
        .expect("ASCII")
        .to_owned();
    server.handle_request(
        now,
        post(Some(&session)),
        Bytes::from_static(INITIALIZED.as_bytes()),
    );
    drain(server, now);
    session
}

/// Takes every output, crediting stream bytes as a fast client would; returns how many.
pub fn drain(server: &mut Server, now: Instant) -> usize {
    let mut outputs = 0;
    while let Some(output) = server.poll_output() {
        outputs += 1;
        if let Output::Data { exchange, chunk } = output {
            server.handle_consumed(now, exchange, chunk.len());
        }
    }
    outputs
}
