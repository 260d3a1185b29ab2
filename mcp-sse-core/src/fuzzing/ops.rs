//! The op-script target: one [`Server`] driven by an arbitrary sequence of requests (any method,
//! path, headers, body, session and event ids, era), credits, disconnects, application replies
//! and sends, and time steps, with every output drained and the invariants checked after each
//! step. At the end every client leaves and time runs out: nothing may be left behind.
//!
//! Delivery is accounted both ways. A client message answered `202` reaches the application
//! exactly once, a refused one never. Every application message the server accepted (a reply or
//! a send that returned `Ok`) carries a unique tag: no client sees a tag twice except by
//! resuming, and once every client has read all it was given, each tag has been seen unless its
//! stream's connection was lost (a disconnect, a closed stream, an ended session, shutdown), which
//! is the one loss the application is told about.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::jsonrpc::ErrorObject;
use crate::sse::{Decoder, Item};
use crate::{
    Authorization, Change, CloseReason, Config, Cors, Credentials, Event, ExchangeId,
    ListenSupport, Output, Principal, RequestKey, ResponseMode, SequentialIds, Server, SessionId,
    Target,
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
    /// Requests answered (the server took the reply) or cancelled.
    settled: HashSet<RequestKey>,
    /// Requests delivered during the current step.
    step_keys: Vec<RequestKey>,
    /// Notifications, responses and cancellations delivered during the current step.
    step_inbound: usize,
    /// Application messages accepted by the server, by tag.
    owed: Vec<Owed>,
    next_tag: u64,
    /// Where each tag was first seen by a client.
    seen: HashMap<u64, ExchangeId>,
    /// Exchanges that asked to resume with `Last-Event-ID`: they may repeat what was seen.
    resumed: HashSet<ExchangeId>,
    /// The session an exchange named or was given, and the session and exchange of a request.
    exchange_session: HashMap<ExchangeId, String>,
    key_session: HashMap<RequestKey, String>,
    key_exchange: HashMap<RequestKey, ExchangeId>,
    /// Where a connection was lost: messages for them may be lost too.
    lost_sessions: HashSet<String>,
    lost_exchanges: HashSet<ExchangeId>,
    shut_down: bool,
    /// Whether authorization is on, and the subject of the request being sent.
    auth: bool,
    principal: Option<String>,
    /// Each session's owner: the subject that opened it (S4.6).
    owners: HashMap<String, Option<String>>,
    /// The behaviours reached.
    reached: BTreeSet<String>,
}

/// An application message the server accepted.
struct Owed {
    tag: u64,
    session: Option<String>,
    key: Option<RequestKey>,
}

/// How many notifications and responses a `POST` body carries, when the script knows.
#[derive(Clone, Copy, Debug)]
enum Inbound {
    Exactly(usize),
    /// A cancellation of an unknown request is dropped without an event (S2.17).
    AtMost(usize),
    Unknown,
}

impl World {
    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    fn lose_exchange(&mut self, exchange: ExchangeId) {
        self.lost_exchanges.insert(exchange);
        if let Some(session) = self.exchange_session.get(&exchange).cloned() {
            self.lost_sessions.insert(session);
        }
    }

    fn lose_key(&mut self, key: RequestKey) {
        if let Some(&exchange) = self.key_exchange.get(&key) {
            self.lose_exchange(exchange);
        }
        if let Some(session) = self.key_session.get(&key).cloned() {
            self.lost_sessions.insert(session);
        }
    }

    fn excused(&self, owed: &Owed) -> bool {
        let key_lost = owed.key.is_some_and(|key| {
            self.key_exchange
                .get(&key)
                .is_some_and(|e| self.lost_exchanges.contains(e))
                || self
                    .key_session
                    .get(&key)
                    .is_some_and(|s| self.lost_sessions.contains(s))
        });
        let session_lost = owed
            .session
            .as_ref()
            .is_some_and(|s| self.lost_sessions.contains(s));
        self.shut_down || key_lost || session_lost
    }

    /// A client read `text` on `exchange`: each tag in it is seen once, or again by resuming.
    fn see(&mut self, text: &[u8], exchange: ExchangeId) {
        for tag in tags(text) {
            match self.seen.get(&tag) {
                None => {
                    self.seen.insert(tag, exchange);
                }
                Some(&first) => {
                    self.reached.insert("replayed".into());
                    assert!(
                        first != exchange && self.resumed.contains(&exchange),
                        "message #T{tag}# delivered twice (on {first}, then on {exchange})"
                    );
                }
            }
        }
    }
}

/// The tags `#T<n>#` in a message.
fn tags(text: &[u8]) -> Vec<u64> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.windows(2).position(|w| w == b"#T") {
        rest = &rest[at + 2..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if rest.get(digits) == Some(&b'#')
            && let Ok(tag) = std::str::from_utf8(&rest[..digits]).unwrap_or("").parse()
        {
            found.push(tag);
        }
    }
    found
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

/// Runs one op script; panics on a broken invariant. Returns the behaviours the script
/// reached (statuses, outputs, events), for choosing seeds that reach many.
pub fn server_ops(data: &[u8]) -> BTreeSet<String> {
    let mut input = Choices { data, at: 0 };
    let mut config = Config {
        max_sessions: 1 + input.below(4),
        max_requests_in_flight: 1 + input.below(4),
        stream_queue_bytes: 64 << input.below(6),
        max_body_bytes: 2048,
        keepalive_interval: Duration::from_millis(500),
        json_hold: Duration::from_millis(100),
        replay_bytes: 256 << input.below(4),
        replay_total_bytes: 512 << input.below(6),
        replay_age: Duration::from_secs(5),
        stall_timeout: [
            None,
            Some(Duration::from_secs(1)),
            Some(Duration::from_secs(3)),
        ][input.below(3)],
        idle_timeout: Some(Duration::from_secs(10)),
        init_timeout: Some(Duration::from_secs(3)),
        stateless: input.below(8) == 0,
        resumable: input.below(4) != 0,
        only_2026: input.below(8) == 0,
        allow_delete: input.below(8) != 0,
        response_mode: [ResponseMode::Auto, ResponseMode::Sse, ResponseMode::Json][input.below(3)],
        ..Config::default()
    };
    config.v2026.listen = ListenSupport::all();
    if input.below(4) == 0 {
        config.auth = Some(Authorization {
            resource: "https://mcp.example/mcp".into(),
            tool_scopes: vec![("echo".into(), vec!["tools".into()])],
            ..Authorization::default()
        });
    }
    let auth = config.auth.is_some();
    if input.below(2) == 0 {
        config.cors = Some(Cors::default());
    }
    let bound = config.stream_queue_bytes;
    let cap = config.max_sessions;
    let mut server = Server::with_id_generator(config, Box::new(SequentialIds::default()));
    #[allow(clippy::disallowed_methods)] // the base of virtual time; the server sees only offsets
    let mut now = Instant::now();
    let mut world = World {
        auth,
        ..World::default()
    };

    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        world.step_keys.clear();
        world.step_inbound = 0;
        let mut post_named = None;
        let mut posted = None;
        match input.below(12) {
            0..=4 => {
                let (exchange, named, inbound) = request(&mut server, &mut world, &mut input, now);
                post_named = named.map(|session| (exchange, session));
                posted = Some((exchange, inbound));
            }
            5 => {
                // Sorted: a hash map's order differs between runs, and scripts must replay.
                let mut open: Vec<_> = world.unconsumed.keys().copied().collect();
                open.sort();
                if let Some(&exchange) = input.pick(&open) {
                    let owed = world.unconsumed[&exchange];
                    let bytes = input.below(owed + 2);
                    let bytes = bytes.min(owed);
                    *world.unconsumed.get_mut(&exchange).expect("listed") -= bytes;
                    server.handle_consumed(now, exchange, bytes);
                }
            }
            6 => {
                let mut live: Vec<_> = world.heads.keys().copied().collect();
                live.sort();
                if let Some(&exchange) = input.pick(&live) {
                    server.handle_disconnect(now, exchange);
                    world.streams.remove(&exchange);
                    world.unconsumed.remove(&exchange);
                    world.lose_exchange(exchange);
                }
            }
            7 => {
                if let Some(&key) = input.pick(&world.keys) {
                    let as_error = input.below(3) == 0;
                    let code = -32601 - input.below(30) as i64;
                    reply(&mut server, &mut world, now, key, as_error.then_some(code));
                }
            }
            8 => send(&mut server, &mut world, &mut input, now),
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
                    if let Some(&key) = input.pick(&world.keys)
                        && server.close_stream(now, key).is_ok()
                    {
                        world.lose_key(key);
                    }
                }
                1 => {
                    if let Some(session) = input
                        .pick(&world.sessions)
                        .and_then(|s| SessionId::parse(s))
                    {
                        server.close_session(now, &session);
                        world.lost_sessions.insert(session.to_string());
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
                        let grace = [0, 500, 3_000][input.below(3)];
                        server.shutdown(now, Duration::from_millis(grace));
                        world.shut_down = true;
                    }
                }
            },
            _ => {
                // A clock that goes backwards is clamped, never trusted.
                server.handle_timeout(now - Duration::from_millis(input.below(1000) as u64));
            }
        }
        drain(&mut server, &mut world, bound);
        check(&server, &world, bound, cap);
        if let Some((exchange, inbound)) = posted {
            check_inbound(&mut world, exchange, inbound);
        }
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
    }

    // Every request is answered and every client reads all it was given: each accepted message
    // has been seen, unless its connection was lost.
    for key in world.keys.clone() {
        reply(&mut server, &mut world, now, key, None);
    }
    drain(&mut server, &mut world, bound);
    while world.unconsumed.values().any(|&n| n > 0) {
        for (&exchange, owed) in &mut world.unconsumed {
            server.handle_consumed(now, exchange, std::mem::take(owed));
        }
        drain(&mut server, &mut world, bound);
    }
    for owed in &world.owed {
        assert!(
            world.seen.contains_key(&owed.tag) || world.excused(owed),
            "message #T{}# was accepted and never delivered (session {:?}, request {:?})",
            owed.tag,
            owed.session,
            owed.key
        );
    }

    // Every client leaves, time runs out: nothing is left behind.
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
    world.reached
}

/// Sends one request built from the input; returns its exchange, the ended session it named if
/// the request must be refused for it, and what its body carries for the application.
fn request(
    server: &mut Server,
    world: &mut World,
    input: &mut Choices<'_>,
    now: Instant,
) -> (ExchangeId, Option<String>, Inbound) {
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
    let resumes = input.below(4) == 0;
    if resumes {
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
    let (body, method_name, modern, inbound) = body(world, input);
    if let Some(name) = method_name {
        builder = builder.header("mcp-method", name);
        if input.below(2) == 0 {
            builder = builder.header("mcp-name", "echo");
        }
    }
    let request = builder
        .body(())
        .expect("every part is a valid header or URI");
    let (mut head, ()) = request.into_parts();
    // What the adapter's verifier found: no token, a refused one, or alice's or bob's.
    world.principal = None;
    match input.below(5) {
        0 => {}
        1 => {
            let refused = Credentials::Invalid("expired".into());
            head.extensions.insert(refused);
        }
        n => {
            let subject = ["alice", "bob", "alice"][n - 2];
            let scopes = if input.below(2) == 0 {
                vec!["tools"]
            } else {
                vec![]
            };
            let principal = Principal::new(subject).with_scopes(scopes);
            head.extensions.insert(Credentials::Valid(principal));
            world.principal = world.auth.then(|| subject.to_owned());
        }
    }
    if std::env::var_os("MCP_OPS_TRACE").is_some() {
        eprintln!(
            "{} {} {:?} {:?} dead={was_dead}",
            head.method, head.uri, head.headers, body
        );
    }
    let exchange = server.handle_request(now, head, body);
    world.heads.entry(exchange).or_insert(false);
    if resumes {
        world.resumed.insert(exchange);
    }
    // Only a session that had ended before this request must be refused: a DELETE ends its own
    // session and is answered 200; a 2026-07-28 request ignores the header (S3.35); a GET on
    // the SSE endpoint opens a new session whatever it names.
    let judged = !modern && path != "/sse" && method != "OPTIONS";
    if let Some(session) = named.as_ref().filter(|_| judged) {
        world.exchange_session.insert(exchange, session.clone());
    }
    let refused_for = named.filter(|_| judged && was_dead);
    let inbound = if method == "POST" {
        inbound
    } else {
        Inbound::Exactly(0)
    };
    (exchange, refused_for, inbound)
}

/// A body: a template filled from the input, or raw bytes. Returns the method for `Mcp-Method`,
/// whether it is a 2026-07-28 request, and the notifications and responses it carries.
fn body(world: &World, input: &mut Choices<'_>) -> (Bytes, Option<&'static str>, bool, Inbound) {
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
                r#"[{{"jsonrpc":"2.0","id":{id},"method":"a"}},{{"jsonrpc":"2.0","method":"n"}},{{"jsonrpc":"2.0","id":"b{id}","method":"b"}},{{"bad":1}}]"#
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
    let inbound = match pick {
        3 | 5 => Inbound::Exactly(1),
        4 => Inbound::AtMost(1),
        6 => Inbound::AtMost(1),
        11 | 12.. => Inbound::Unknown,
        _ => Inbound::Exactly(0),
    };
    (Bytes::from(text), method, (8..=10).contains(&pick), inbound)
}

/// Checks what a `POST` delivered against its answer: a client message answered `202` reaches
/// the application exactly once; a refused `POST` delivers nothing.
fn check_inbound(world: &mut World, exchange: ExchangeId, inbound: Inbound) {
    let keys = std::mem::take(&mut world.step_keys);
    for &key in &keys {
        world.key_exchange.insert(key, exchange);
    }
    let Some(&status) = world.statuses.get(&exchange) else {
        return;
    };
    let delivered = world.step_inbound;
    if status >= 400 {
        assert!(
            delivered == 0 && keys.is_empty(),
            "a POST refused with {status} delivered {delivered} messages and {} requests",
            keys.len()
        );
    } else if status == 202 {
        match inbound {
            Inbound::Exactly(n) => assert_eq!(delivered, n, "a POST accepted with 202"),
            Inbound::AtMost(n) => assert!(delivered <= n, "a POST accepted with 202"),
            Inbound::Unknown => {}
        }
    }
}

/// An application reply, tagged: an error when `code` is given.
fn reply(server: &mut Server, world: &mut World, now: Instant, key: RequestKey, code: Option<i64>) {
    let tag = world.tag();
    let result = RawValue::from_string(format!(r##"{{"ok":"#T{tag}#"}}"##)).expect("JSON");
    let error = code.map(|code| ErrorObject::new(code, format!("#T{tag}#")));
    let outcome = error.as_ref().map_or(Ok(&*result), Err);
    // A key may be answered, cancelled or gone: the server says so, it never panics.
    if server.reply(now, key, outcome).is_ok() {
        world.settled.insert(key);
        world.owed.push(Owed {
            tag,
            session: None,
            key: Some(key),
        });
    }
}

/// An application send built from the input, tagged.
fn send(server: &mut Server, world: &mut World, input: &mut Choices<'_>, now: Instant) {
    let tag = world.tag();
    let kind = input.below(3);
    let (target, session, key) = match input.below(2) {
        0 => {
            let key = input.pick(&world.keys).copied();
            (key.map(Target::Request), None, key)
        }
        _ => {
            let session = input.pick(&world.sessions).cloned();
            let target = session.as_deref().and_then(SessionId::parse);
            (target.map(Target::Session), session, None)
        }
    };
    let message = match kind {
        0 => format!(
            r##"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progress":1,"message":"#T{tag}#"}}}}"##
        ),
        // A 2026-07-28 request gets log messages only when it asked (S3.14): the server drops
        // them quietly, so they are sent on sessions only.
        1 if key.is_none() => format!(
            r##"{{"jsonrpc":"2.0","method":"notifications/message","params":{{"level":"info","data":"#T{tag}#"}}}}"##
        ),
        _ => format!(
            r##"{{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{{"tag":"#T{tag}#"}}}}"##
        ),
    };
    if let Some(target) = target
        && server.send(now, target, Bytes::from(message)).is_ok()
    {
        world.owed.push(Owed { tag, session, key });
    }
}

/// Applies every output to the world, checking the per-exchange order of outputs.
fn drain(server: &mut Server, world: &mut World, bound: usize) {
    while let Some(output) = server.poll_output() {
        match output {
            Output::Respond { exchange, response } => {
                world
                    .reached
                    .insert(format!("respond {}", response.status()));
                assert!(
                    !world.statuses.contains_key(&exchange),
                    "a second head for {exchange}"
                );
                world.statuses.insert(exchange, response.status().as_u16());
                world.heads.remove(&exchange);
                note_session(world, exchange, response.headers());
                world.see(response.body(), exchange);
            }
            Output::StartStream { exchange, head } => {
                world.reached.insert(format!("stream {}", head.status()));
                assert!(
                    !world.statuses.contains_key(&exchange),
                    "a second head for {exchange}"
                );
                world.statuses.insert(exchange, head.status().as_u16());
                world.heads.insert(exchange, true);
                world.streams.insert(exchange, Decoder::new());
                world.unconsumed.insert(exchange, 0);
                note_session(world, exchange, head.headers());
            }
            Output::Data { exchange, chunk } => {
                let decoder = world
                    .streams
                    .get_mut(&exchange)
                    .expect("data only on an open stream");
                let bytes = chunk.into_bytes();
                world.largest_frame = world.largest_frame.max(bytes.len());
                *world.unconsumed.get_mut(&exchange).expect("open") += bytes.len();
                let items = decoder.feed(&bytes);
                if !decoder.last_event_id().is_empty() {
                    world.event_ids.push(decoder.last_event_id().to_owned());
                }
                for item in items {
                    let Item::Event(event) = item else {
                        world.reached.insert("comment".into());
                        continue;
                    };
                    world.reached.insert(format!("event {}", event.event_type));
                    world.see(event.data.as_bytes(), exchange);
                    if event.event_type == "endpoint"
                        && let Some(session) = event.data.split("sessionId=").nth(1)
                    {
                        world.sessions.push(session.to_owned());
                        world.exchange_session.insert(exchange, session.to_owned());
                    }
                }
                let _ = bound;
            }
            Output::Finish { exchange } => {
                world.reached.insert("finish".into());
                assert!(
                    world.streams.remove(&exchange).is_some(),
                    "finish ends an open stream"
                );
                world.unconsumed.remove(&exchange);
                world.heads.remove(&exchange);
            }
            Output::Abort { exchange } => {
                world.reached.insert("abort".into());
                assert!(
                    world.streams.remove(&exchange).is_some(),
                    "abort ends an open stream"
                );
                let pending = world.unconsumed.remove(&exchange).unwrap_or(0);
                assert!(
                    pending > 0,
                    "an aborted stream had bytes its client did not read"
                );
                world.heads.remove(&exchange);
                world.lose_exchange(exchange);
            }
            Output::Event(Event::Request {
                key,
                session,
                transport,
                head,
                ..
            }) => {
                // Only the session's own principal reaches the application under it (S4.6).
                if world.auth {
                    let subject = head
                        .extensions
                        .get::<Principal>()
                        .map(|p| p.subject.clone());
                    assert!(
                        subject.is_some(),
                        "a request reached the application unauthenticated"
                    );
                    if let Some(session) = &session {
                        assert_eq!(
                            world.owners.get(session.as_str()),
                            Some(&subject),
                            "a request of session {session} under another principal"
                        );
                    }
                }
                world.reached.insert(format!("request {transport:?}"));
                assert!(world.delivered.insert(key), "{key} delivered twice");
                world.keys.push(key);
                world.step_keys.push(key);
                if let Some(session) = session {
                    world.key_session.insert(key, session.to_string());
                }
            }
            Output::Event(Event::Cancelled { key, .. }) => {
                world.settled.insert(key);
                world.step_inbound += 1;
            }
            Output::Event(Event::Notification { session, head, .. }) => {
                if world.auth
                    && let Some(session) = &session
                {
                    let subject = head
                        .extensions
                        .get::<Principal>()
                        .map(|p| p.subject.clone());
                    assert_eq!(
                        world.owners.get(session.as_str()),
                        Some(&subject),
                        "a notification of session {session} under another principal"
                    );
                }
                world.step_inbound += 1
            }
            Output::Event(Event::Response { .. }) => world.step_inbound += 1,
            Output::Event(Event::SessionClosed { session, reason }) => {
                world.reached.insert(format!("closed {reason:?}"));
                if reason == CloseReason::Evicted {
                    // Only an idle session gives way: no connection, no request in flight.
                    let session = session.to_string();
                    let connected = world.heads.keys().any(|exchange| {
                        world.exchange_session.get(exchange) == Some(&session)
                            && !world.lost_exchanges.contains(exchange)
                    });
                    // A request whose connection was lost may have been dropped with it.
                    let in_flight = world.keys.iter().any(|key| {
                        let lost = world
                            .key_exchange
                            .get(key)
                            .is_some_and(|e| world.lost_exchanges.contains(e));
                        world.key_session.get(key) == Some(&session)
                            && !world.settled.contains(key)
                            && !lost
                    });
                    assert!(!connected, "evicted session {session} had a connection");
                    assert!(
                        !in_flight,
                        "evicted session {session} had a request in flight"
                    );
                }
                world.lost_sessions.insert(session.to_string());
                if world.dead.insert(session.to_string()) {
                    world.ended.push(session.to_string());
                }
            }
            Output::Event(Event::SessionOpened { session, .. }) => {
                world
                    .owners
                    .insert(session.to_string(), world.principal.clone());
            }
            Output::Event(Event::SessionRestored { .. } | Event::Published { .. })
            | Output::Shared(_) => {
                unreachable!("op scripts run one server, in no cluster")
            }
        }
    }
    world.sessions.retain(|s| !world.dead.contains(s));
    world.sessions.dedup();
    world.event_ids.truncate(64);
}

fn note_session(world: &mut World, exchange: ExchangeId, headers: &http::HeaderMap) {
    let Some(session) = headers.get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
        return;
    };
    world.exchange_session.insert(exchange, session.to_owned());
    if !world.dead.contains(session) && !world.sessions.iter().any(|s| s == session) {
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
