//! Heap held by the core per idle session and per open stream, counted by dhat's global
//! allocator: `cargo bench -p mcp-sse-core --bench memory`.
//!
//! Each figure is the growth of live heap bytes while 10,000 sessions (or streams) are opened,
//! divided by their number, with every output drained as an adapter would.

#![allow(missing_docs, unreachable_pub, clippy::print_stdout)]

use std::time::Instant;

use bytes::Bytes;
use mcp_sse_core::{Config, SequentialIds, Server};

mod support;

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
            .map(|_| support::initialize(&mut server, now))
            .collect::<Vec<_>>()
    });
    println!("| idle Streamable HTTP session, no stream | {} |", idle / N);
    let ((), streams) = measure(|| {
        for session in &sessions {
            let get = support::request("GET", "/mcp", Some(session), "text/event-stream");
            server.handle_request(now, get, Bytes::new());
            support::drain(&mut server, now);
        }
    });
    assert_eq!(server.stream_count(), N);
    println!("| its standalone GET stream, open | {} |", streams / N);
    println!("| session with an open stream | {} |", (idle + streams) / N);
    drop(server);

    let mut server = new_server();
    let ((), legacy) = measure(|| {
        for _ in 0..N {
            let get = support::request("GET", "/sse", None, "text/event-stream");
            server.handle_request(now, get, Bytes::new());
            support::drain(&mut server, now);
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
