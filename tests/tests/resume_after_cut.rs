//! Resumability (S2.25–S2.34): event ids that name stream, sequence and epoch; replay of only
//! the missed events of the stream that broke; the replay window; polling closes.

use std::time::Duration;

use mcp_sse_core::{Config, ExchangeId, RequestKey, SendError, Target};
use mcp_sse_tests::Sim;
use serde_json::json;

fn sid(session: &str) -> (&'static str, &str) {
    ("mcp-session-id", session)
}

fn progress(n: u32) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progress":{n}}}}}"#)
}

/// A session on 2025-11-25 with a tool call whose answer is an SSE stream carrying one progress.
fn call_with_progress(sim: &mut Sim) -> (String, ExchangeId, RequestKey) {
    let session = sim.initialize("2025-11-25");
    let x = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"call","method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.send(Target::Request(key), &progress(1)).unwrap();
    (session, x, key)
}

fn last_id(sim: &Sim, x: ExchangeId) -> String {
    sim.seen(x).events().last().unwrap().last_event_id.clone()
}

#[test]
fn s2_29_resume_replays_only_what_was_missed_including_the_answer() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let seen_up_to = last_id(&sim, post);
    assert!(
        seen_up_to.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "visible ASCII (E3.2)"
    );
    // The connection breaks; the request goes on (S2.17) and its messages are kept.
    sim.disconnect(post);
    sim.send(Target::Request(key), &progress(2)).unwrap();
    sim.reply(key, r#"{"content":[]}"#);
    assert_eq!(sim.server.requests_in_flight(), 0);

    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    assert_eq!(sim.seen(resumed).status(), 200);
    assert_eq!(
        sim.seen(resumed).header("mcp-session-id"),
        Some(session.as_str())
    );
    assert_eq!(
        sim.seen(resumed).messages(),
        vec![
            serde_json::from_str::<serde_json::Value>(&progress(2)).unwrap(),
            json!({"jsonrpc":"2.0","id":"call","result":{"content":[]}}),
        ],
        "no loss, no duplicate of progress 1"
    );
    assert!(
        sim.seen(resumed).finished,
        "the answer ends the stream (S2.14)"
    );
    assert_eq!(sim.server.stats().resumes, 1);
    // Still resumable for the replay window, should this connection break too.
    assert_eq!(sim.server.stream_count(), 1);
    sim.advance(sim.server.config().replay_age);
    assert_eq!(sim.server.stream_count(), 0);
    assert_eq!(sim.server.replay_bytes(), 0);
}

#[test]
fn a_finished_stream_can_be_resumed_after_its_last_byte_went_out() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let seen_up_to = last_id(&sim, post);
    // The answer was handed over, and the connection broke before the client read it.
    sim.reply(key, r#"{"content":[]}"#);
    assert!(sim.seen(post).finished);
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    assert_eq!(sim.seen(resumed).status(), 200);
    assert_eq!(
        sim.seen(resumed).messages(),
        vec![json!({"jsonrpc":"2.0","id":"call","result":{"content":[]}})]
    );
    assert!(sim.seen(resumed).finished);
}

#[test]
fn a_resumed_stream_cut_again_can_be_resumed_again() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let first_seen = last_id(&sim, post);
    sim.disconnect(post);
    sim.send(Target::Request(key), &progress(2)).unwrap();
    sim.send(Target::Request(key), &progress(3)).unwrap();
    sim.reply(key, r#"{"content":[]}"#);
    // The first resume replays three events; the client reads one and is cut again.
    let again = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &first_seen)]);
    assert_eq!(sim.seen(again).messages().len(), 3);
    let read_up_to = sim.seen(again).events()[0].last_event_id.clone();
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &read_up_to)]);
    assert_eq!(sim.seen(resumed).status(), 200, "resumable again");
    assert_eq!(
        sim.seen(resumed).messages(),
        vec![
            serde_json::from_str::<serde_json::Value>(&progress(3)).unwrap(),
            json!({"jsonrpc":"2.0","id":"call","result":{"content":[]}}),
        ],
        "the rest, once"
    );
}

#[test]
fn resume_continues_a_stream_that_is_still_running() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let seen_up_to = last_id(&sim, post);
    sim.disconnect(post);
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    assert!(sim.seen(resumed).messages().is_empty());
    sim.send(Target::Request(key), &progress(2)).unwrap();
    sim.reply(key, "{}");
    assert_eq!(sim.seen(resumed).messages().len(), 2);
    assert!(sim.seen(resumed).finished);
}

#[test]
fn s2_29_replay_never_includes_another_streams_events() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let other = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"other","method":"tools/call"}"#,
    );
    let (other_key, _) = sim.next_request();
    sim.send(Target::Request(other_key), &progress(99)).unwrap();
    let seen_up_to = last_id(&sim, post);
    sim.disconnect(post);
    sim.disconnect(other);
    sim.send(Target::Request(other_key), &progress(100))
        .unwrap();
    sim.reply(key, "{}");
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    let messages = sim.seen(resumed).messages();
    assert_eq!(
        messages,
        vec![json!({"jsonrpc":"2.0","id":"call","result":{}})]
    );
}

#[test]
fn newest_connection_wins_when_an_open_stream_is_resumed() {
    let mut sim = Sim::new(Config::default());
    let (session, post, key) = call_with_progress(&mut sim);
    let seen_up_to = last_id(&sim, post);
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    assert!(sim.seen(post).finished, "the old connection is closed");
    sim.reply(key, "{}");
    assert_eq!(sim.seen(resumed).messages().len(), 1);
}

/// A stream waiting for its head has sent no event, so no `Last-Event-ID` can name it: a GET
/// that guesses one (event ids are not secret) is refused, and the request's answer reaches its
/// own POST once (found by the op script: the answer went to both).
#[test]
fn a_stream_that_sent_nothing_cannot_be_resumed() {
    let mut sim = Sim::new(Config::default());
    let (_, post, _) = call_with_progress(&mut sim);
    let epoch = last_id(&sim, post).split('-').next().unwrap().to_owned();
    let session = sim.initialize("2025-11-25");
    let call = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"quiet","method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    assert!(
        sim.seen(call).head.is_none(),
        "its head waits for the answer"
    );
    for stream in 0..16 {
        for seq in 0..3 {
            let guess = format!("{epoch}-{stream}-{seq}");
            let x = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &guess)]);
            assert_eq!(sim.seen(x).status(), 400, "{guess}");
        }
    }
    sim.reply(key, "{}");
    assert_eq!(
        sim.seen(call).json(),
        json!({"jsonrpc":"2.0","id":"quiet","result":{}}),
        "answered as JSON on its own POST"
    );
}

/// A resume takes a stream from a connection still finishing behind the queue bound: what
/// that connection had not been handed goes out once, on the new one (found by the op script:
/// the answer went out on both).
#[test]
fn a_resume_takes_what_the_old_connection_had_not_been_handed() {
    let mut config = Config::default();
    config.stream_queue_bytes = 64;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let post = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":"call","method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    sim.pause(post);
    sim.send(Target::Request(key), &progress(1)).unwrap();
    let seen_up_to = last_id(&sim, post);
    sim.reply(key, r#"{"content":[]}"#);
    assert!(
        !sim.seen(post).finished,
        "the answer waits behind the bound"
    );

    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    let answer = json!({"jsonrpc":"2.0","id":"call","result":{"content":[]}});
    assert_eq!(sim.seen(resumed).messages(), vec![answer]);
    assert!(sim.seen(post).finished, "the old connection ends at once");
    sim.resume(post);
    assert_eq!(
        sim.seen(post).messages().len(),
        1,
        "only the progress it had been handed"
    );
}

#[test]
fn standalone_stream_events_wait_for_a_resume() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let target = || Target::Session(mcp_sse_core::SessionId::parse(&session).unwrap());
    let get = sim.get_stream("/mcp", &[sid(&session)]);
    let priming = last_id(&sim, get);
    sim.disconnect(get);
    sim.send(
        target(),
        r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
    )
    .unwrap();
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &priming)]);
    assert_eq!(sim.seen(resumed).messages().len(), 1);
    sim.send(
        target(),
        r#"{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}"#,
    )
    .unwrap();
    assert_eq!(
        sim.seen(resumed).messages().len(),
        2,
        "it is the standalone stream again"
    );
}

#[test]
fn unknown_foreign_and_expired_event_ids_get_400() {
    let mut config = Config::default();
    config.replay_age = Duration::from_secs(30);
    let mut sim = Sim::new(config);
    let (session, post, key) = call_with_progress(&mut sim);
    let seen_up_to = last_id(&sim, post);
    let parts: Vec<&str> = seen_up_to.split('-').collect();
    let other_epoch = format!(
        "{:08x}-{}-{}",
        u32::from_str_radix(parts[0], 16).unwrap() ^ 1,
        parts[1],
        parts[2]
    );
    for bad in ["garbage", other_epoch.as_str(), "00000000-999-1"] {
        let x = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", bad)]);
        assert_eq!(sim.seen(x).status(), 400, "{bad}");
        assert_eq!(sim.seen(x).header("mcp-session-id"), Some(session.as_str()));
    }
    // Another session cannot resume this stream.
    let stranger = sim.initialize("2025-11-25");
    let x = sim.get_stream("/mcp", &[sid(&stranger), ("last-event-id", &seen_up_to)]);
    assert_eq!(sim.seen(x).status(), 400);
    // Nobody resumes within the window: the stream and its events are dropped.
    sim.disconnect(post);
    sim.advance(Duration::from_secs(31));
    assert_eq!(sim.server.replay_bytes(), 0);
    let x = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &seen_up_to)]);
    assert_eq!(sim.seen(x).status(), 400);
    // The request's answer has nowhere to go any more.
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
}

#[test]
fn events_evicted_by_the_byte_window_cannot_be_replayed() {
    let mut config = Config::default();
    config.replay_bytes = 300;
    let mut sim = Sim::new(config);
    let (session, post, key) = call_with_progress(&mut sim);
    let early = last_id(&sim, post);
    sim.disconnect(post);
    for n in 2..10 {
        sim.send(Target::Request(key), &progress(n)).unwrap();
    }
    let x = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &early)]);
    assert_eq!(sim.seen(x).status(), 400);
    assert!(sim.server.replay_bytes() <= 300);
}

#[test]
fn s2_31_polling_close_then_resume() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-11-25");
    let post = sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    // Closing while the answer is still undecided starts the stream first: priming, then retry.
    sim.server.close_stream(sim.now, key).unwrap();
    sim.drain();
    let seen = sim.seen(post);
    assert!(seen.finished);
    assert_eq!(seen.events().len(), 1, "the priming event");
    assert!(
        seen.raw.ends_with(b"retry: 1000\n\n"),
        "S2.32: retry before closing"
    );
    let priming = last_id(&sim, post);
    sim.reply(key, r#"{"ok":true}"#);
    let resumed = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", &priming)]);
    assert_eq!(
        sim.seen(resumed).messages(),
        vec![json!({"jsonrpc":"2.0","id":7,"result":{"ok":true}})]
    );
    assert!(sim.seen(resumed).finished);
}

#[test]
fn s2_33_polling_is_refused_for_older_clients() {
    let mut sim = Sim::new(Config::default());
    let session = sim.initialize("2025-06-18");
    sim.post(
        "/mcp",
        &[sid(&session)],
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#,
    );
    let (key, _) = sim.next_request();
    assert_eq!(
        sim.server.close_stream(sim.now, key),
        Err(SendError::NotResumable)
    );
}

#[test]
fn resumability_can_be_turned_off() {
    let mut config = Config::default();
    config.resumable = false;
    let mut sim = Sim::new(config);
    let (session, post, key) = call_with_progress(&mut sim);
    assert!(
        sim.seen(post)
            .events()
            .iter()
            .all(|e| e.last_event_id.is_empty()),
        "no ids (S2.30)"
    );
    sim.disconnect(post);
    assert_eq!(
        sim.server.requests_in_flight(),
        0,
        "the answer has nowhere to go"
    );
    let raw = serde_json::value::RawValue::from_string("{}".into()).unwrap();
    assert!(sim.server.reply(sim.now, key, Ok(&raw)).is_err());
    // Last-Event-ID is then ignored: a plain standalone stream.
    let x = sim.get_stream("/mcp", &[sid(&session), ("last-event-id", "1-2-3")]);
    assert_eq!(sim.seen(x).status(), 200);
}
