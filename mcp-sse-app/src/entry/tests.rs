//! What an [`Entry`] reports of real exchanges: metrics and spans, with a real core on a fake
//! runtime, `metrics-util`'s debugging recorder as this thread's recorder (so tests running at
//! once never share one) and a `tracing` subscriber writing to a buffer where spans are checked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_sse_core::jsonrpc::{self, ErrorObject};
use mcp_sse_core::{Config, Server};
use serde_json::{Value, json};

use super::*;
use crate::body::ResponseBody;
use crate::handler::{Handler, RequestContext};
use crate::runtime::Runtime;
use crate::telemetry::{MESSAGES_IN, MESSAGES_OUT, REFUSALS, RESUMES, STALLED};
use crate::testing::{FakeRuntime, Logs, Recorded};

/// Answers `initialize` with the version asked, `slow` after 250 ms of the fake clock, and
/// anything else at once with `{}`.
struct TestHandler(FakeRuntime);

impl Handler for TestHandler {
    async fn request(
        &self,
        _: RequestContext,
        request: jsonrpc::Request,
    ) -> Result<Value, ErrorObject> {
        tracing::debug!("handling");
        match request.method.as_str() {
            "initialize" => Ok(json!({"protocolVersion": "2025-11-25", "capabilities": {}})),
            "slow" => {
                let runtime = &self.0;
                runtime
                    .sleep_until(runtime.now() + Duration::from_millis(250))
                    .await;
                Ok(json!({}))
            }
            _ => Ok(json!({})),
        }
    }
}

/// An entry on a fake runtime; its calls run on the test's thread, where its recorder is.
struct Harness {
    entry: Entry,
    runtime: FakeRuntime,
}

impl Harness {
    fn new(config: Config) -> Self {
        let runtime = FakeRuntime::default();
        let handler = TestHandler(runtime.clone());
        let (entry, _handle) = Entry::start(runtime.clone(), Server::new(config), handler);
        runtime.run();
        Self { entry, runtime }
    }

    /// Calls the entry; the slot has the response once it is ready.
    fn call(&self, request: Request<Full<Bytes>>) -> Arc<Mutex<Option<Response<ResponseBody>>>> {
        let slot = Arc::new(Mutex::new(None));
        let response = self.entry.call(request);
        let done = slot.clone();
        self.runtime.spawn(Box::pin(async move {
            *done.lock().unwrap() = Some(response.await);
        }));
        self.runtime.run();
        slot
    }

    /// Calls the entry and takes the response, which must be ready.
    fn answer(&self, request: Request<Full<Bytes>>) -> Response<ResponseBody> {
        self.call(request)
            .lock()
            .unwrap()
            .take()
            .expect("answered at once")
    }

    /// Opens a Streamable HTTP session.
    fn initialize(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"}}});
        let answer = self.answer(post("/mcp", &[], &init));
        assert_eq!(answer.status(), 200);
        answer.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned()
    }
}

fn post(uri: &str, headers: &[(&str, &str)], body: &Value) -> Request<Full<Bytes>> {
    let mut request = Request::post(uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "localhost")
        .header("accept", "text/event-stream")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

fn call(id: u64, method: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method})
}

const INITIALIZED: &str = "notifications/initialized";

#[test]
fn a_session_moves_the_request_counter_the_gauges_and_the_histogram() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let harness = Harness::new(Config::default());
    let ok = r#"mcp_http_requests_total{status="200",transport="streamable"}"#;
    let accepted = r#"mcp_http_requests_total{status="202",transport="streamable"}"#;
    let handler = r#"mcp_handler_duration_seconds{transport="streamable"}"#;

    let session = harness.initialize();
    assert_eq!(recorded.counter(ok), 1);
    assert_eq!(recorded.gauge("mcp_sessions_open"), 1.0);
    assert_eq!(
        recorded.counter(r#"mcp_sessions_opened_total{transport="streamable"}"#),
        1
    );
    assert_eq!(recorded.counter("mcp_messages_in_total"), 1);
    assert_eq!(recorded.counter("mcp_messages_out_total"), 1);
    let named = [("mcp-session-id", session.as_str())];
    let note = json!({"jsonrpc": "2.0", "method": INITIALIZED});
    assert_eq!(harness.answer(post("/mcp", &named, &note)).status(), 202);
    assert_eq!(recorded.counter(accepted), 1);
    assert_eq!(recorded.counter("mcp_messages_in_total"), 2);
    assert_eq!(
        recorded.counter("mcp_messages_out_total"),
        1,
        "a notification has no answer"
    );

    // A handler that takes 250 ms of the clock.
    let slow = harness.call(post("/mcp", &named, &call(1, "slow")));
    assert!(slow.lock().unwrap().is_none(), "still working");
    harness.runtime.advance(Duration::from_millis(250));
    assert_eq!(slow.lock().unwrap().take().unwrap().status(), 200);
    assert_eq!(recorded.counter(ok), 2);
    assert_eq!(recorded.histogram(handler), [0.0, 0.25], "initialize, slow");

    let delete = Request::delete("/mcp")
        .header("host", "localhost")
        .header("mcp-session-id", &session)
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(harness.answer(delete).status(), 200);
    assert_eq!(recorded.counter(ok), 3);
    assert_eq!(recorded.gauge("mcp_sessions_open"), 0.0);
    assert_eq!(
        recorded.counter(r#"mcp_sessions_closed_total{reason="deleted"}"#),
        1
    );
    // Refused once the session is gone, before its generation is known.
    let gone = harness.answer(post("/mcp", &named, &call(2, "ping")));
    assert_eq!(gone.status(), 404);
    assert_eq!(
        recorded.counter(r#"mcp_http_requests_total{status="404",transport="unknown"}"#),
        1
    );
    assert_eq!(
        recorded.counter(r#"mcp_http_refusals_total{reason="session_not_found"}"#),
        1
    );
    assert_eq!(recorded.counter(ok), 3, "a refusal is counted apart");
}

#[test]
fn the_gauges_of_two_servers_add_up() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let (one, two) = (
        Harness::new(Config::default()),
        Harness::new(Config::default()),
    );
    let _sessions = (one.initialize(), two.initialize());
    assert_eq!(recorded.gauge("mcp_sessions_open"), 2.0);
    let _stream = one.answer(get("/sse"));
    assert_eq!(recorded.gauge("mcp_sessions_open"), 3.0);
    assert_eq!(recorded.gauge("mcp_streams_open"), 1.0);
}

#[test]
fn the_counters_without_labels_are_shown_before_they_move() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let _harness = Harness::new(Config::default());
    recorded.take();
    for name in [RESUMES, STALLED, MESSAGES_IN, MESSAGES_OUT] {
        assert_eq!(recorded.counters.get(name), Some(&0), "{name}");
    }
}

#[test]
fn a_stream_moves_the_stream_gauges_until_its_client_goes() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let harness = Harness::new(Config::default());
    let mut stream = harness.answer(get("/sse"));
    assert_eq!(
        recorded.counter(r#"mcp_http_requests_total{status="200",transport="http_sse"}"#),
        1
    );
    assert_eq!(recorded.gauge("mcp_streams_open"), 1.0);
    let queued = recorded.gauge("mcp_stream_queued_bytes");
    assert!(queued > 0.0, "the endpoint event waits for the connection");

    // The connection takes it: credited back once nothing more is ready.
    let mut endpoint = Vec::new();
    while let Some(frame) = stream.body_mut().frame().now_or_never() {
        endpoint.extend_from_slice(&frame.unwrap().unwrap().into_data().unwrap());
    }
    let endpoint = String::from_utf8(endpoint).unwrap();
    assert_eq!(recorded.gauge("mcp_stream_queued_bytes"), 0.0);

    let uri = endpoint
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("data: ")
        .unwrap();
    let accepted = harness.answer(post(uri, &[], &call(1, "ping")));
    assert_eq!(accepted.status(), 202);
    assert_eq!(
        recorded.counter(r#"mcp_http_requests_total{status="202",transport="http_sse"}"#),
        1
    );
    let answer = recorded.gauge("mcp_stream_queued_bytes");
    assert!(answer > 0.0, "the answer waits on the stream");

    drop(stream);
    assert_eq!(recorded.gauge("mcp_streams_open"), 0.0);
    assert_eq!(recorded.gauge("mcp_stream_queued_bytes"), 0.0);
    assert_eq!(recorded.gauge("mcp_sessions_open"), 0.0);
    assert_eq!(
        recorded.counter(r#"mcp_sessions_closed_total{reason="client_gone"}"#),
        1
    );
}

#[test]
fn a_stream_whose_client_stops_reading_is_counted_as_stalled() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let mut config = Config::default();
    config.stall_timeout = Some(Duration::from_secs(5));
    let harness = Harness::new(config);
    let _stream = harness.answer(get("/sse"));
    // The stall is noticed at the stream's next timer, by its keepalive at the latest.
    harness.runtime.advance(Duration::from_secs(20));
    assert_eq!(recorded.counter("mcp_streams_stalled_total"), 1);
    assert_eq!(recorded.gauge("mcp_streams_open"), 0.0);
    assert_eq!(recorded.gauge("mcp_stream_queued_bytes"), 0.0);
}

#[test]
fn refusals_are_counted_by_reason() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let mut config = Config::default();
    config.max_sessions = 1;
    config.max_body_bytes = 64;
    let harness = Harness::new(config);
    let ping = call(1, "ping");
    let _stream = harness.answer(get("/sse"));
    let with_origin = post("/mcp", &[("origin", "https://elsewhere.example")], &ping);
    let mut cases = vec![
        (post("/elsewhere", &[], &ping), 404, "not_found"),
        (with_origin, 403, "forbidden"),
        (post("/mcp", &[], &ping), 400, "bad_request"),
        (get("/messages"), 405, "method_not_allowed"),
        (
            post("/mcp", &[("mcp-session-id", "nope")], &ping),
            404,
            "session_not_found",
        ),
        (
            post("/mcp", &[], &json!({"x": "x".repeat(100)})),
            413,
            "payload_too_large",
        ),
        // The one session is busy with its stream.
        (get("/sse"), 503, "sessions_full"),
    ];
    let mut parse_error = post("/mcp", &[], &ping);
    *parse_error.body_mut() = Full::new(Bytes::from_static(b"{"));
    cases.push((parse_error, 400, "parse_error"));
    let mut unacceptable = post("/mcp", &[], &ping);
    unacceptable
        .headers_mut()
        .insert("accept", "text/plain".parse().unwrap());
    cases.push((unacceptable, 406, "not_acceptable"));
    let mut media = post("/mcp", &[], &ping);
    media
        .headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    cases.push((media, 415, "unsupported_media_type"));
    for (request, status, reason) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        assert_eq!(harness.answer(request).status(), status, "{what}");
        let key = format!(r#"mcp_http_refusals_total{{reason="{reason}"}}"#);
        assert!(recorded.counter(&key) > 0, "{what}: {key}");
    }
    let refused: u64 = recorded
        .counters
        .iter()
        .filter(|(key, _)| key.starts_with(REFUSALS))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(refused, 10, "{:?}", recorded.counters);
    assert_eq!(
        recorded.counter(r#"mcp_http_requests_total{status="404",transport="unknown"}"#),
        2,
        "a path and a session not found"
    );
}

#[test]
fn the_apps_own_refusals_are_counted_and_logged() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let logs = Logs::default();
    let _subscriber = logs.install();
    let harness = Harness::new(Config::default());
    let entry = harness
        .entry
        .clone()
        .with_body_read_timeout(Duration::from_secs(1));
    // A body that never comes.
    let (_sender, body) =
        futures_channel::mpsc::channel::<Result<http_body::Frame<Bytes>, std::io::Error>>(1);
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .body(http_body_util::StreamBody::new(body))
        .unwrap();
    let response = entry.call(request);
    let slot = Arc::new(Mutex::new(None));
    let done = slot.clone();
    harness.runtime.spawn(Box::pin(async move {
        *done.lock().unwrap() = Some(response.await.status());
    }));
    harness.runtime.run();
    harness.runtime.advance(Duration::from_secs(1));
    assert_eq!(*slot.lock().unwrap(), Some(StatusCode::REQUEST_TIMEOUT));
    assert_eq!(
        recorded.counter(r#"mcp_http_requests_total{status="408",transport="unknown"}"#),
        1
    );
    assert_eq!(
        recorded.counter(r#"mcp_http_refusals_total{reason="body_timeout"}"#),
        1
    );
    let text = logs.text();
    assert!(
        text.contains("refused") && text.contains("the body did not arrive within 1s"),
        "{text}"
    );

    // A body that fails.
    let failing = futures_util::stream::iter([Err::<http_body::Frame<Bytes>, _>(
        std::io::Error::other("reset"),
    )]);
    let request = Request::post("/mcp")
        .header("host", "localhost")
        .body(http_body_util::StreamBody::new(failing))
        .unwrap();
    let status = entry.call(request).now_or_never().unwrap().status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        recorded.counter(r#"mcp_http_refusals_total{reason="body_failed"}"#),
        1
    );
    let text = logs.text();
    assert!(
        text.contains("the request body could not be read"),
        "{text}"
    );
}

#[test]
fn spans_name_the_exchange_and_the_session() {
    let logs = Logs::default();
    let _subscriber = logs.install();
    let harness = Harness::new(Config::default());
    let session = harness.initialize();
    let unknown = harness.answer(post(
        "/mcp",
        &[("mcp-session-id", "nope")],
        &call(1, "ping"),
    ));
    assert_eq!(unknown.status(), 404);
    let delete = Request::delete("/mcp")
        .header("host", "localhost")
        .header("mcp-session-id", &session)
        .body(Full::new(Bytes::new()))
        .unwrap();
    drop(harness.answer(delete));
    let text = logs.text();
    let line = |needle: &str| {
        text.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{text}"))
            .to_owned()
    };
    // The exchange's span names its method, path, transport, session and status.
    let answered = line("answered");
    for field in [
        "http{method=POST path=/mcp",
        "transport=\"streamable\"",
        &format!("session={session}"),
        "status=200",
        "elapsed=",
    ] {
        assert!(answered.contains(field), "{field} in {answered}");
    }
    // The core's refusal line is said inside it.
    let refused = line("refused");
    assert!(refused.contains("http{method=POST path=/mcp"), "{refused}");
    assert!(refused.contains("Session not found"), "{refused}");
    // A session's span says when it opened and why it closed.
    let opened = line("session opened");
    assert!(
        opened.contains(&format!("session{{id={session} transport=\"streamable\"}}")),
        "{opened}"
    );
    let closed = line("session closed");
    assert!(closed.contains("reason=\"deleted\""), "{closed}");
    assert!(closed.contains("lived=Some("), "{closed}");
    // The handler ran in a span of its own, inside the exchange's.
    let handling = line("handling");
    assert!(
        handling.contains("}:request{method=\"initialize\" id=0"),
        "{handling}"
    );
    // A session's span is a root: it outlives the exchange that opened it.
    for line in [&opened, &closed] {
        assert!(line.contains(" DEBUG session{"), "{line}");
    }
}
