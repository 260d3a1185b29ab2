//! Heap held by the core per idle session and per open stream, counted by dhat's global
//! allocator: `cargo bench -p mcp-sse-core --bench memory`.
//!
//! Each figure is the growth of live heap bytes while 10,000 sessions (or streams) are opened,
//! divided by their number, with every output drained as an adapter would.

#![allow(missing_docs, unreachable_pub, clippy::print_stdout)]

use std::time::Instant;

use bytes::Bytes;
use mcp_sse_core::{Config, Output, SequentialIds, Server};
use serde_json::value::RawValue;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const N: usize = 10_000;

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    #[allow(clippy::disallowed_methods)] // the base of virtual time
    let now = Instant::now();
    println!("| what (core only, {N} of each) | heap bytes each |");
    println!("|---|---|");

    let mut server = new_server();
    let (sessions, idle) = measure(|| {
        (0..N)
            .map(|_| initialize(&mut server, now))
            .collect::<Vec<_>>()
    });
    println!("| idle Streamable HTTP session, no stream | {} |", idle / N);
    let ((), streams) = measure(|| {
        for session in &sessions {
            let get = request("GET", "/mcp", Some(session), "text/event-stream");
            server.handle_request(now, get, Bytes::new());
            drain(&mut server, now);
        }
    });
    assert_eq!(server.stream_count(), N);
    println!("| its standalone GET stream, open | {} |", streams / N);
    println!("| session with an open stream | {} |", (idle + streams) / N);
    drop(server);

    let mut server = new_server();
    let ((), legacy) = measure(|| {
        for _ in 0..N {
            let get = request("GET", "/sse", None, "text/event-stream");
            server.handle_request(now, get, Bytes::new());
            drain(&mut server, now);
        }
    });
    assert_eq!(server.session_count(), N);
    println!(
        "| 2024-11-05 session (its stream included) | {} |",
        legacy / N
    );
}

fn new_server() -> Server {
    let mut config = Config::default();
    config.max_sessions = N;
    Server::with_id_generator(config, Box::new(SequentialIds::default()))
}

/// Runs `f` and returns its value and the live heap bytes it added.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = dhat::HeapStats::get().curr_bytes;
    let value = f();
    let after = dhat::HeapStats::get().curr_bytes;
    (value, after.saturating_sub(before))
}

fn request(method: &str, uri: &str, session: Option<&str>, accept: &str) -> http::request::Parts {
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

fn initialize(server: &mut Server, now: Instant) -> String {
    const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;
    const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let answer =
        RawValue::from_string(r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#.into())
            .expect("JSON");
    let accept = "application/json, text/event-stream";
    let post = request("POST", "/mcp", None, accept);
    server.handle_request(now, post, Bytes::from_static(INIT.as_bytes()));
    let mut session = None;
    while let Some(output) = server.poll_output() {
        match output {
            Output::Event(mcp_sse_core::Event::Request { key, .. }) => {
                server.reply(now, key, Ok(&answer)).expect("pending");
            }
            Output::Respond { response, .. } => {
                let id = response.headers()["mcp-session-id"]
                    .to_str()
                    .expect("ASCII");
                session = Some(id.to_owned());
            }
            _ => {}
        }
    }
    let session = session.expect("a session");
    let post = request("POST", "/mcp", Some(&session), accept);
    server.handle_request(now, post, Bytes::from_static(INITIALIZED.as_bytes()));
    drain(server, now);
    session
}

fn drain(server: &mut Server, now: Instant) {
    while let Some(output) = server.poll_output() {
        if let Output::Data { exchange, chunk } = output {
            server.handle_consumed(now, exchange, chunk.len());
        }
    }
}
