//! The op-script target: one [`Server`] driven by an arbitrary sequence of requests (any method,
//! path, headers, body, session and event ids, era), credits, disconnects, application replies
//! and sends, and time steps, with every output drained and the invariants checked after each
//! step. At the end every client leaves and time runs out: nothing may be left behind.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::jsonrpc::ErrorObject;
use crate::sse::{Decoder, Item};
use crate::{
    Change, Config, Cors, Event, ExchangeId, ListenSupport, Output, RequestKey, ResponseMode,
    SequentialIds, Server, SessionId, Target,
};

/// Turns fuzz input into bounded decisions; past the end every decision is 0.
struct Choices<'a> {
    data: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn pick<'b, T>(&mut self, items: &'b [T]) -> Option<&'b T> {
        if items.is_empty() {
            return None;
        }
        let i = self.below(items.len());
        items.get(i)
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    fn bytes(&mut self, max: usize) -> &[u8] {
        let len = self
            .below(max + 1)
            .min(self.data.len().saturating_sub(self.at));
        let start = self.at.min(self.data.len());
        self.at = start + len;
        &self.data[start..start + len]
    }
}

/// What the clients and the application have seen, to choose ops and check invariants.
#[derive(Default)]
struct World {
    /// Exchanges with a head, and whether it was a stream that has not finished.
    heads: HashMap<ExchangeId, bool>,
    /// Open streams and their decoders.
    streams: HashMap<ExchangeId, Decoder>,
    /// Bytes handed out per open stream and not credited by us yet.
    unconsumed: HashMap<ExchangeId, usize>,
    /// The largest frame handed out.
    largest_frame: usize,
    sessions: Vec<String>,
    dead: HashSet<String>,
    ended: Vec<String>,
    event_ids: Vec<String>,
    keys: Vec<RequestKey>,
    delivered: HashSet<RequestKey>,
    /// Statuses of complete responses and stream heads, by exchange.
    statuses: HashMap<ExchangeId, u16>,
    requests_this_step: usize,
}

const VERSIONS: [&str; 7] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
    "v999",
    "",
];

/// Runs one op script; panics on a broken invariant.
pub fn server_ops(data: &[u8]) {
    let mut input = Choices { data, at: 0 };
    let mut config = Config {
        max_sessions: 1 + input.below(4),
        max_requests_in_flight: 1 + input.below(4),
        stream_queue_bytes: 64 << input.below(6),
        max_body_bytes: 2048,
        keepalive_interval: Duration::from_millis(500),
        json_hold: Duration::from_millis(100),
        replay_bytes: 256 << input.below(4),
        replay_age: Duration::from_secs(5),
        idle_timeout: Some(Duration::from_secs(10)),
        init_timeout: Some(Duration::from_secs(3)),
        sessions: input.below(8) != 0,
        resumable: input.below(4) != 0,
        legacy_eras: input.below(8) != 0,
        allow_delete: input.below(8) != 0,
        response_mode: [ResponseMode::Auto, ResponseMode::Sse, ResponseMode::Json][input.below(3)],
        ..Config::default()
    };
    config.modern.listen = ListenSupport::all();
    if input.below(2) == 0 {
        config.cors = Some(Cors::default());
    }
    let bound = config.stream_queue_bytes;
    let cap = config.max_sessions;
    let mut server = Server::with_id_generator(config, Box::new(SequentialIds::default()));
    #[allow(clippy::disallowed_methods)] // the base of virtual time; the server sees only offsets
    let mut now = Instant::now();
    let mut world = World::default();

    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        world.requests_this_step = 0;
        let mut post_named = None;
        match input.below(12) {
            0..=4 => post_named = request(&mut server, &mut world, &mut input, now),
            5 => {
                let open: Vec<_> = world.unconsumed.keys().copied().collect();
                if let Some(&exchange) = input.pick(&open) {
                    let owed = world.unconsumed[&exchange];
                    let bytes = input.below(owed + 2);
                    let bytes = bytes.min(owed);
                    *world.unconsumed.get_mut(&exchange).expect("listed") -= bytes;
                    server.handle_consumed(now, exchange, bytes);
                }
            }
            6 => {
                let live: Vec<_> = world.heads.keys().copied().collect();
                if let Some(&exchange) = input.pick(&live) {
                    server.handle_disconnect(now, exchange);
                    world.streams.remove(&exchange);
                    world.unconsumed.remove(&exchange);
                }
            }
            7 => {
                if let Some(&key) = input.pick(&world.keys) {
                    let result = RawValue::from_string(r#"{"ok":true}"#.into()).expect("JSON");
                    let error = ErrorObject::new(-32601 - input.below(30) as i64, "no");
                    let outcome = if input.below(3) == 0 {
                        Err(&error)
                    } else {
                        Ok(&*result)
                    };
                    // A key may be answered, cancelled or gone: the server says so, it never
                    // panics.
                    let _ = server.reply(now, key, outcome);
                }
            }
            8 => send(&mut server, &world, &mut input, now),
            9 => {
                let step = [0, 1, 50, 100, 499, 500, 1_000, 3_000, 10_000, 60_000][input.below(10)];
                now += Duration::from_millis(step);
                server.handle_timeout(now);
                drain(&mut server, &mut world, bound);
                if let Some(at) = server.poll_timeout() {
                    assert!(at > now, "a deadline in the past after handle_timeout");
                }
            }
            10 => match input.below(4) {
                0 => {
                    if let Some(&key) = input.pick(&world.keys) {
                        let _ = server.close_stream(now, key);
                    }
                }
                1 => {
                    if let Some(session) = input
                        .pick(&world.sessions)
                        .and_then(|s| SessionId::parse(s))
                    {
                        server.close_session(now, &session);
                    }
                }
                2 => {
                    let change = [
                        Change::ToolsListChanged,
                        Change::ResourceUpdated("test://a".into()),
                    ];
                    let change = change[input.below(2)].clone();
                    server.publish(now, &change);
                }
                _ => {
                    if input.below(16) == 0 {
                        server.shutdown(now);
                    }
                }
            },
            _ => {
                // A clock that goes backwards is clamped, never trusted.
                server.handle_timeout(now - Duration::from_millis(input.below(1000) as u64));
            }
        }
        let responses_before = world.statuses.len();
        drain(&mut server, &mut world, bound);
        check(&server, &world, bound, cap);
        if let Some((exchange, session)) = post_named {
            // An expired, deleted or closed session is answered 404, never served (S2.40).
            if world.dead.contains(&session)
                && let Some(status) = world.statuses.get(&exchange)
            {
                assert!(
                    !matches!(status, 200 | 202),
                    "a request naming the ended session {session} got {status}"
                );
            }
        }
        let _ = responses_before;
    }

    // Every request is answered, every client leaves, time runs out: nothing is left behind.
    for key in world.keys.clone() {
        let result = RawValue::from_string("{}".into()).expect("JSON");
        let _ = server.reply(now, key, Ok(&result));
    }
    drain(&mut server, &mut world, bound);
    for exchange in world.heads.keys().copied().collect::<Vec<_>>() {
        server.handle_disconnect(now, exchange);
    }
    world.unconsumed.clear();
    for _ in 0..8 {
        now += Duration::from_secs(600);
        server.handle_timeout(now);
        drain(&mut server, &mut world, bound);
    }
    assert_eq!(server.exchange_count(), 0, "exchanges left");
    assert_eq!(server.stream_count(), 0, "streams left");
    assert_eq!(server.requests_in_flight(), 0, "requests left");
    assert_eq!(server.session_count(), 0, "sessions left");
    assert_eq!(server.replay_bytes(), 0, "replay bytes left");
    assert_eq!(server.timer_count(), 0, "timers left");
}

/// Sends one request built from the input; returns the exchange and the session it named.
fn request(
    server: &mut Server,
    world: &mut World,
    input: &mut Choices<'_>,
    now: Instant,
) -> Option<(ExchangeId, String)> {
    let method = [
        "POST", "POST", "POST", "GET", "GET", "DELETE", "OPTIONS", "PUT",
    ][input.below(8)];
    let path = ["/mcp", "/mcp", "/mcp", "/sse", "/messages", "/elsewhere"][input.below(6)];
    let mut builder = http::Request::builder().method(method);
    let named = match input.below(6) {
        0 | 1 => input.pick(&world.sessions).cloned(),
        2 => input.pick(&world.ended).cloned(),
        3 => Some("ffffffffffffffffffffffffffffffff".to_owned()),
        _ => None,
    };
    let was_dead = named.as_ref().is_some_and(|s| world.dead.contains(s));
    let mut uri = path.to_owned();
    if let Some(session) = &named {
        if input.below(3) == 0 {
            uri = format!("{path}?sessionId={session}");
        } else {
            builder = builder.header("mcp-session-id", session.as_str());
        }
    }
    builder = builder.uri(uri);
    let accept = [
        "application/json, text/event-stream",
        "text/event-stream",
        "application/json",
        "*/*",
        "",
    ];
    let accept = accept[input.below(accept.len())];
    if !accept.is_empty() {
        builder = builder.header("accept", accept);
    }
    if input.below(6) != 0 {
        builder = builder.header("content-type", "application/json");
    }
    let version = VERSIONS[input.below(VERSIONS.len())];
    if !version.is_empty() {
        builder = builder.header("mcp-protocol-version", version);
    }
    if input.below(4) == 0 {
        let last = match input.pick(&world.event_ids) {
            Some(id) if input.below(4) != 0 => id.clone(),
            _ => "0-1-2".to_owned(),
        };
        builder = builder.header("last-event-id", last);
    }
    match input.below(8) {
        0 => builder = builder.header("origin", "http://evil.example"),
        1 => builder = builder.header("origin", "http://localhost:3000"),
        2 => builder = builder.header("host", "evil.example"),
        _ => {}
    }
    let (body, method_name, modern) = body(world, input);
    if let Some(name) = method_name {
        builder = builder.header("mcp-method", name);
        if input.below(2) == 0 {
            builder = builder.header("mcp-name", "echo");
        }
    }
    let Ok(request) = builder.body(()) else {
        return None;
    };
    let (head, ()) = request.into_parts();
    if std::env::var_os("MCP_OPS_TRACE").is_some() {
        eprintln!(
            "{} {} {:?} {:?} dead={was_dead}",
            head.method, head.uri, head.headers, body
        );
    }
    let exchange = server.handle_request(now, head, body);
    world.heads.entry(exchange).or_insert(false);
    // Only a session that had ended before this request must be refused: a DELETE ends its own
    // session and is answered 200; a 2026-07-28 request ignores the header (S3.35); a GET on
    // the SSE endpoint opens a new session whatever it names.
    let judged = !modern && path != "/sse" && method != "OPTIONS";
    named
        .filter(|_| judged && was_dead)
        .map(|session| (exchange, session))
}

/// A body: a template filled from the input, or raw bytes. Returns the method for `Mcp-Method`.
fn body(world: &World, input: &mut Choices<'_>) -> (Bytes, Option<&'static str>, bool) {
    let id = input.below(4);
    let modern_meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let pick = input.below(14);
    let (text, method) = match pick {
        0 => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"{}"}}}}"#,
                VERSIONS[input.below(4)]
            ),
            Some("initialize"),
        ),
        1 => (
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#),
            Some("ping"),
        ),
        2 => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo"}}}}"#
            ),
            Some("tools/call"),
        ),
        3 => (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned(),
            None,
        ),
        4 => (
            format!(
                r#"{{"jsonrpc":"2.0","method":"notifications/cancelled","params":{{"requestId":{id}}}}}"#
            ),
            None,
        ),
        5 => (
            format!(r#"{{"jsonrpc":"2.0","id":"s{id}","result":{{}}}}"#),
            None,
        ),
        6 => (
            format!(
                r#"[{{"jsonrpc":"2.0","id":{id},"method":"a"}},{{"jsonrpc":"2.0","method":"n"}}]"#
            ),
            None,
        ),
        7 => ("[]".to_owned(), None),
        8 => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo",{modern_meta}}}}}"#
            ),
            Some("tools/call"),
        ),
        9 => (
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"subscriptions/listen","params":{{"notifications":{{"toolsListChanged":true,"resourceSubscriptions":["test://a"]}},{modern_meta}}}}}"#
            ),
            Some("subscriptions/listen"),
        ),
        10 => (
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping","params":{{{modern_meta}}}}}"#),
            Some("ping"),
        ),
        11 => ("x".repeat(2100), None),
        _ => (String::from_utf8_lossy(input.bytes(64)).into_owned(), None),
    };
    let _ = world;
    (Bytes::from(text), method, (8..=10).contains(&pick))
}

/// An application send built from the input.
fn send(server: &mut Server, world: &World, input: &mut Choices<'_>, now: Instant) {
    let message: &[u8] = match input.below(3) {
        0 => br#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}"#,
        1 => br#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#,
        _ => br#"{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}"#,
    };
    let target = match input.below(2) {
        0 => input.pick(&world.keys).map(|&k| Target::Request(k)),
        _ => input
            .pick(&world.sessions)
            .and_then(|s| SessionId::parse(s))
            .map(Target::Session),
    };
    if let Some(target) = target {
        let _ = server.send(now, target, Bytes::from_static(message));
    }
}

/// Applies every output to the world, checking the per-exchange order of outputs.
fn drain(server: &mut Server, world: &mut World, bound: usize) {
    while let Some(output) = server.poll_output() {
        match output {
            Output::Respond { exchange, response } => {
                assert!(
                    !world.statuses.contains_key(&exchange),
                    "a second head for {exchange}"
                );
                world.statuses.insert(exchange, response.status().as_u16());
                world.heads.remove(&exchange);
                note_session(world, response.headers());
            }
            Output::StartStream { exchange, head } => {
                assert!(
                    !world.statuses.contains_key(&exchange),
                    "a second head for {exchange}"
                );
                world.statuses.insert(exchange, head.status().as_u16());
                world.heads.insert(exchange, true);
                world.streams.insert(exchange, Decoder::new());
                world.unconsumed.insert(exchange, 0);
                note_session(world, head.headers());
            }
            Output::Data { exchange, chunk } => {
                let decoder = world
                    .streams
                    .get_mut(&exchange)
                    .expect("data only on an open stream");
                let bytes = chunk.into_bytes();
                world.largest_frame = world.largest_frame.max(bytes.len());
                *world.unconsumed.get_mut(&exchange).expect("open") += bytes.len();
                for item in decoder.feed(&bytes) {
                    if let Item::Event(event) = item
                        && event.event_type == "endpoint"
                        && let Some(session) = event.data.split("sessionId=").nth(1)
                    {
                        world.sessions.push(session.to_owned());
                    }
                }
                if !decoder.last_event_id().is_empty() {
                    world.event_ids.push(decoder.last_event_id().to_owned());
                }
                let _ = bound;
            }
            Output::Finish { exchange } => {
                assert!(
                    world.streams.remove(&exchange).is_some(),
                    "finish ends an open stream"
                );
                world.unconsumed.remove(&exchange);
                world.heads.remove(&exchange);
            }
            Output::Event(Event::Request { key, .. }) => {
                assert!(world.delivered.insert(key), "{key} delivered twice");
                world.keys.push(key);
                world.requests_this_step += 1;
            }
            Output::Event(Event::SessionClosed { session, .. }) => {
                if world.dead.insert(session.to_string()) {
                    world.ended.push(session.to_string());
                }
            }
            Output::Event(_) => {}
        }
    }
    world.sessions.retain(|s| !world.dead.contains(s));
    world.sessions.dedup();
    world.event_ids.truncate(64);
}

fn note_session(world: &mut World, headers: &http::HeaderMap) {
    if let Some(session) = headers.get("mcp-session-id").and_then(|v| v.to_str().ok())
        && !world.dead.contains(session)
        && !world.sessions.iter().any(|s| s == session)
    {
        world.sessions.push(session.to_owned());
    }
}

/// The invariants that hold after every step.
fn check(server: &Server, world: &World, bound: usize, cap: usize) {
    assert!(server.session_count() <= cap, "sessions over the cap");
    for (&exchange, &ours) in &world.unconsumed {
        let theirs = server.unconsumed(exchange);
        if let Some(theirs) = theirs {
            assert_eq!(
                theirs, ours,
                "the server's count of uncredited bytes on {exchange}"
            );
        }
        assert!(
            ours <= bound + world.largest_frame,
            "{ours} bytes handed out on {exchange}, over the bound {bound} plus one frame"
        );
    }
}
