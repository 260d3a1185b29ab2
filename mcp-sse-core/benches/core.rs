//! Micro-benchmarks of the core: SSE framing, full request/response cycles, and timers with
//! many open streams. `cargo bench -p mcp-sse-core --bench core`.
//!
//! Time is virtual (a base `Instant` plus offsets), as in the simulation tests: the numbers are
//! the core's own cost, with no I/O and no clock reads.

#![allow(missing_docs, unreachable_pub)]

use std::cell::RefCell;
use std::time::{Duration, Instant};

use bytes::Bytes;
use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use mcp_sse_core::{Config, Output, ResponseMode, SequentialIds, Server, sse};
use serde_json::value::RawValue;

mod support;

fn main() {
    divan::main();
}

/// A JSON-RPC message of `len` bytes with no line break, as compact JSON always is.
fn payload(len: usize) -> Bytes {
    let head = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":""#;
    let tail = br#""}]}}"#;
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head);
    body.resize(len.saturating_sub(tail.len()).max(head.len()), b'x');
    body.extend_from_slice(tail);
    Bytes::from(body)
}

/// One `message` event with an id, as a resumable stream writes it.
#[divan::bench(args = [64, 1024, 65536])]
fn sse_encode(bencher: Bencher, len: usize) {
    let data = payload(len);
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        sse::encode(&sse::Fields {
            event: Some("message"),
            id: Some("0000000000000001-2-3"),
            data: Some(black_box(data.clone())),
            ..Default::default()
        })
    });
}

#[allow(clippy::disallowed_methods)] // the base of virtual time
fn epoch() -> Instant {
    Instant::now()
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"0123456789012345678901234567890123456789012345678901234567890123"}}}"#;
const RESULT: &str = r#"{"content":[{"type":"text","text":"0123456789012345678901234567890123456789012345678901234567890123"}]}"#;

/// Runs one `tools/call` through the server: the request in, the application's reply, every
/// output drained and credited. Returns the bytes the client got.
fn cycle(server: &mut Server, now: Instant, head: &http::request::Parts, body: &Bytes) -> usize {
    let result = RawValue::from_string(RESULT.to_owned()).expect("JSON");
    server.handle_request(now, head.clone(), body.clone());
    let mut out = 0;
    while let Some(output) = server.poll_output() {
        match output {
            Output::Event(mcp_sse_core::Event::Request { key, .. }) => {
                server.reply(now, key, Ok(&result)).expect("pending");
            }
            Output::Respond { response, .. } => out += response.body().len(),
            Output::Data { exchange, chunk } => {
                out += chunk.len();
                server.handle_consumed(now, exchange, chunk.len());
            }
            _ => {}
        }
    }
    out
}

/// A stateless `POST` answered with JSON (`stateless: true`).
#[divan::bench]
fn cycle_json(bencher: Bencher) {
    let mut config = Config::default();
    config.stateless = true;
    config.response_mode = ResponseMode::Json;
    let mut server = Server::with_id_generator(config, Box::new(SequentialIds::default()));
    let now = epoch();
    let (head, body) = (support::post(None), Bytes::from_static(CALL.as_bytes()));
    assert!(cycle(&mut server, now, &head, &body) > RESULT.len());
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(|| cycle(&mut server, now, &head, &body));
}

/// A `POST` in a 2025-11-25 session answered with an SSE stream: head, priming event, the
/// answer as a `message` event, finish.
#[divan::bench]
fn cycle_sse(bencher: Bencher) {
    let mut config = Config::default();
    config.response_mode = ResponseMode::Sse;
    let (mut server, now, head, body) = in_session(config);
    assert!(cycle(&mut server, now, &head, &body) > RESULT.len());
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(|| cycle(&mut server, now, &head, &body));
}

/// The same in a session that already keeps as many finished streams for replay as the bound
/// allows (`replay_total_bytes` / 512, here 16 MiB: 32,768): every answer kept forgets the
/// oldest, as in a busy session after a few seconds of load.
#[divan::bench]
fn cycle_sse_at_replay_bound(bencher: Bencher) {
    let mut config = Config::default();
    config.response_mode = ResponseMode::Sse;
    config.replay_total_bytes = 16 << 20;
    let kept = config.replay_total_bytes / 512;
    let (mut server, now, head, body) = in_session(config);
    for _ in 0..kept {
        cycle(&mut server, now, &head, &body);
    }
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(|| cycle(&mut server, now, &head, &body));
}

/// A server of `config` with a 2025-11-25 session, and a `tools/call` request in it.
fn in_session(config: Config) -> (Server, Instant, http::request::Parts, Bytes) {
    let mut server = Server::with_id_generator(config, Box::new(SequentialIds::default()));
    let now = epoch();
    let session = support::initialize(&mut server, now);
    let head = support::post(Some(&session));
    (server, now, head, Bytes::from_static(CALL.as_bytes()))
}

/// `streams` standalone `GET` streams, one per session, opened evenly over one keepalive
/// interval so that their keepalives fall due evenly too.
fn many_streams(streams: usize) -> (Server, Instant) {
    let mut config = Config::default();
    config.max_sessions = streams;
    config.keepalive_interval = Duration::from_secs(10);
    config.idle_timeout = None;
    config.init_timeout = None;
    let mut server = Server::with_id_generator(config, Box::new(SequentialIds::default()));
    let start = epoch();
    let step = Duration::from_secs(10) / u32::try_from(streams).expect("small");
    let mut now = start;
    for _ in 0..streams {
        let session = support::initialize(&mut server, now);
        let (head, ()) = http::Request::get("/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(())
            .expect("valid")
            .into_parts();
        server.handle_request(now, head, Bytes::new());
        support::drain(&mut server, now);
        now += step;
    }
    assert_eq!(server.stream_count(), streams);
    (server, now)
}

/// The next deadline with 100k open streams: the top of a heap.
#[divan::bench]
fn poll_timeout_100k_streams(bencher: Bencher) {
    let (server, _) = many_streams(100_000);
    bencher.bench_local(|| black_box(&server).poll_timeout());
}

/// One wake-up that writes 100 due keepalives, among 1k or 100k open streams: the cost follows
/// the due streams, not the open ones.
#[divan::bench(args = [1_000, 100_000])]
fn keepalive_sweep_100_due(bencher: Bencher, streams: usize) {
    let (server, now) = many_streams(streams);
    let state = RefCell::new((server, now));
    // Streams were opened `10 s / streams` apart, so this step makes 100 of them due.
    let step = Duration::from_secs(10) * 100 / u32::try_from(streams).expect("small");
    bencher.counter(ItemsCount::new(100usize)).bench_local(|| {
        let (server, now) = &mut *state.borrow_mut();
        *now += step;
        server.handle_timeout(*now);
        support::drain(server, *now)
    });
    let (server, _) = state.into_inner();
    assert!(server.stats().keepalives > 0, "keepalives were written");
}
