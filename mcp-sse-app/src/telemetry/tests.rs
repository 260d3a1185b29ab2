//! The keys, the refusal reasons, the reports of the core's counters, the spans' cost when off,
//! and README.md's table. What an `Entry` reports of real exchanges is tested in `entry`.

use http::{Request, StatusCode};
use mcp_sse_core::Transport;
use mcp_sse_core::jsonrpc::{self, ErrorObject};

use super::*;
use crate::runtime::Runtime;
use crate::testing::{FakeRuntime, Logs, Recorded, text_of};

#[test]
fn the_core_counters_are_reported_as_they_move() {
    let mut recorded = Recorded::new();
    let _local = metrics::set_default_local_recorder(recorded.recorder);
    let mut gauges = Gauges::default();
    let mut stats = mcp_sse_core::Stats::default();
    stats.resumes = 2;
    stats.stalled = 1;
    gauges.update(0, 0, 0, &stats);
    assert_eq!(recorded.counter("mcp_stream_resumes_total"), 2);
    assert_eq!(recorded.counter("mcp_streams_stalled_total"), 1);
    gauges.update(0, 0, 0, &stats);
    stats.resumes = 3;
    stats.messages_in = 4;
    stats.messages_out = 5;
    gauges.update(0, 0, 0, &stats);
    assert_eq!(recorded.counter("mcp_stream_resumes_total"), 3);
    assert_eq!(recorded.counter("mcp_streams_stalled_total"), 1);
    assert_eq!(recorded.counter("mcp_messages_in_total"), 4);
    assert_eq!(recorded.counter("mcp_messages_out_total"), 5);
    assert!(recorded.gauges.is_empty(), "no gauge moved: none was set");
}

#[test]
fn every_status_and_reason_has_its_own_key() {
    for (row, &status) in REQUEST_KEYS.iter().zip(STATUSES.iter()) {
        for (key, transport) in row.iter().zip(TRANSPORTS) {
            assert_eq!(
                text_of(key),
                format!(r#"{REQUESTS}{{status="{status}",transport="{transport}"}}"#)
            );
        }
    }
    assert_eq!(
        text_of(&REQUEST_KEYS[STATUSES.len()][4]),
        format!(r#"{REQUESTS}{{status="other",transport="unknown"}}"#)
    );
    assert_eq!(status_index(StatusCode::IM_A_TEAPOT), STATUSES.len());
    for &refusal in Refusal::ALL {
        assert_eq!(
            text_of(refusal.key()),
            format!(r#"{REFUSALS}{{reason="{}"}}"#, refusal.label())
        );
    }
    for &closed in Ended::ALL {
        assert_eq!(
            text_of(closed.key()),
            format!(r#"{SESSIONS_CLOSED}{{reason="{}"}}"#, closed.label())
        );
    }
    for transport in [
        Transport::HttpSse,
        Transport::Streamable,
        Transport::Stateless,
        Transport::Streamable2026,
    ] {
        let index = transport_index(Some(transport));
        assert!(index < 4, "{transport:?}");
        assert_eq!(
            HANDLER_KEYS[index].labels().next().unwrap().value(),
            TRANSPORTS[index]
        );
    }
}

#[test]
fn refusals_are_told_apart_by_status_and_error() {
    let error = |code: i64, message: &str| {
        jsonrpc::encode_error(None, &ErrorObject::new(code, message)).to_vec()
    };
    let none = Extensions::new();
    for (status, body, refusal) in [
        (
            400,
            error(jsonrpc::PARSE_ERROR, "Parse error"),
            Refusal::ParseError,
        ),
        (
            400,
            error(jsonrpc::HEADER_MISMATCH, "x"),
            Refusal::HeaderMismatch,
        ),
        (
            400,
            error(jsonrpc::UNSUPPORTED_PROTOCOL_VERSION, "x"),
            Refusal::UnsupportedVersion,
        ),
        (400, b"not json".to_vec(), Refusal::BadRequest),
        (
            404,
            error(jsonrpc::METHOD_NOT_FOUND, "x"),
            Refusal::MethodNotFound,
        ),
        (401, Vec::new(), Refusal::Unauthorized),
        (503, error(jsonrpc::SERVER_ERROR, "x"), Refusal::Unavailable),
        (500, Vec::new(), Refusal::Other),
    ] {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(Refusal::of(status, &none, &body), Some(refusal), "{status}");
    }
    assert_eq!(Refusal::of(StatusCode::OK, &none, b""), None);
    // The core's 503s say why in the extensions, whatever their message.
    for (reason, refusal) in [
        (Unavailable::SessionsFull, Refusal::SessionsFull),
        (Unavailable::SessionBusy, Refusal::SessionBusy),
        (Unavailable::ListenersFull, Refusal::ListenersFull),
        (Unavailable::ShuttingDown, Refusal::ShuttingDown),
        (Unavailable::TokenUnchecked, Refusal::TokenUnchecked),
        (Unavailable::StoreUnavailable, Refusal::StoreUnavailable),
    ] {
        let mut extensions = Extensions::new();
        extensions.insert(reason);
        let body = error(jsonrpc::SERVER_ERROR, "x");
        let status = StatusCode::SERVICE_UNAVAILABLE;
        assert_eq!(Refusal::of(status, &extensions, &body), Some(refusal));
    }
}

#[test]
fn no_span_is_made_when_debug_is_off() {
    // This thread's subscriber at `info` (not none: the interest a subscriber at `debug` on
    // another test's thread registers would then make spans for nobody).
    let info = Logs::default().install_at(tracing::Level::INFO);
    let runtime = FakeRuntime::default();
    let (head, ()) = Request::get("/mcp").body(()).unwrap().into_parts();
    assert!(Exchange::start(&head, &runtime).0.is_none());
    let session = mcp_sse_core::SessionId::parse("0123456789abcdef0123456789abcdef").unwrap();
    assert!(SessionTrace::open(&session, Transport::Streamable, runtime.now()).is_none());
    assert!(request_span("ping", &jsonrpc::Id::Number(1), None).is_disabled());
    drop(info);
    let _debug = Logs::default().install();
    assert!(Exchange::start(&head, &runtime).0.is_some(), "on at debug");
}

#[test]
fn the_readme_table_lists_every_metric_and_no_other() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## Observability\n")
        .nth(1)
        .expect("the section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `mcp_"))
        .collect();
    let named: Vec<String> = rows
        .iter()
        .map(|row| format!("mcp_{}", &row[..row.find('`').unwrap()]))
        .collect();
    let known: Vec<&str> = METRICS.iter().map(|(name, ..)| *name).collect();
    assert_eq!(
        named, known,
        "README.md's metrics table, in the order of METRICS"
    );
    for ((name, kind, ..), row) in METRICS.iter().zip(&rows) {
        let kind = format!("{kind:?}").to_lowercase();
        assert!(row.contains(&format!(" | {kind} | ")), "{name}: {row}");
    }
}
