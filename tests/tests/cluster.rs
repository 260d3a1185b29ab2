//! Several servers sharing sessions through a store (`Config::cluster`): the shared-state
//! operations each emits are carried by a store kept here (records by session, the instances
//! holding each session's stream, broadcasts), through the core's wire format, so any instance
//! serves any session's request.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use mcp_sse_core::{
    Answer, Change, CloseReason, Cluster, Config, Event, Notice, SessionId, SessionRecord, Shared,
    Target, Ticket, Transport,
};
use mcp_sse_tests::Sim;

/// What the store does with operations that have a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Answer,
    Fail,
    /// Keep them unanswered (a slow store).
    Hold,
}

struct World {
    nodes: Vec<Sim>,
    records: HashMap<String, Vec<u8>>,
    holders: HashMap<String, HashSet<usize>>,
    mode: Mode,
    held: Vec<(usize, Ticket)>,
    ttls: HashMap<String, Duration>,
    /// Instances whose process is gone: nothing reaches them any more.
    gone: HashSet<usize>,
    /// Events kept by stream, and the streams' meta.
    events: HashMap<u64, Vec<(u64, bytes::Bytes)>>,
    metas: HashMap<u64, Vec<u8>>,
}

impl World {
    fn new(n: usize, tweak: impl Fn(&mut Config)) -> Self {
        let nodes = (0..n)
            .map(|node| {
                let mut config = Config::default();
                config.cluster = Some(Cluster::new(node as u32 + 1, 0xc0ffee));
                tweak(&mut config);
                let mut sim = Sim::new(config);
                // Distinct session ids per instance, as random ones would be.
                sim.server = mcp_sse_core::Server::with_id_generator(
                    sim.server.config().clone(),
                    Box::new(mcp_sse_core::SequentialIds((node as u128 + 1) << 64)),
                );
                sim
            })
            .collect();
        Self {
            nodes,
            records: HashMap::new(),
            holders: HashMap::new(),
            mode: Mode::Answer,
            held: Vec::new(),
            ttls: HashMap::new(),
            gone: HashSet::new(),
            events: HashMap::new(),
            metas: HashMap::new(),
        }
    }

    /// Performs every operation out, until none is left.
    fn pump(&mut self) {
        loop {
            let mut any = false;
            for from in 0..self.nodes.len() {
                while let Some(op) = self.nodes[from].shared.pop_front() {
                    any = true;
                    self.perform(from, op);
                }
            }
            if !any {
                return;
            }
        }
    }

    fn perform(&mut self, from: usize, op: Shared) {
        let answer = |world: &mut World, ticket: Ticket, answer: Answer| match world.mode {
            Mode::Answer => world.answer(from, ticket, answer),
            Mode::Fail => world.answer(from, ticket, Answer::Failed),
            Mode::Hold => world.held.push((from, ticket)),
        };
        match op {
            Shared::SaveSession {
                ticket,
                record,
                ttl,
            } => {
                let id = record.session.to_string();
                if self.mode == Mode::Answer {
                    self.records.insert(id.clone(), record.encode());
                    self.ttls.insert(id, ttl);
                }
                answer(self, ticket, Answer::Done);
            }
            Shared::LoadSession { ticket, session } => {
                let record = self
                    .records
                    .get(session.as_str())
                    .map(|bytes| SessionRecord::decode(session.clone(), bytes).expect("ours"));
                answer(self, ticket, Answer::Found(record));
            }
            Shared::TouchSession { session, ttl } => {
                self.ttls.insert(session.to_string(), ttl);
            }
            Shared::EndSession {
                ticket,
                session,
                reason,
            } => {
                self.records.remove(session.as_str());
                self.broadcast(from, Notice::SessionEnded { session, reason });
                if let Some(ticket) = ticket {
                    answer(self, ticket, Answer::Done);
                }
            }
            Shared::Hold { session } => {
                self.holders
                    .entry(session.to_string())
                    .or_default()
                    .insert(from);
            }
            Shared::TakeStream {
                session,
                from: node,
            } => {
                // Its own holding included: an instance may hear its own notice.
                let holders: Vec<usize> = self
                    .holders
                    .get(session.as_str())
                    .map(|h| h.iter().copied().collect())
                    .unwrap_or_default();
                let taken = Notice::StreamTaken {
                    session: session.clone(),
                    from: node,
                };
                for node in holders {
                    self.notify(node, &taken);
                }
            }
            Shared::Release { session } => {
                if let Some(holders) = self.holders.get_mut(session.as_str()) {
                    holders.remove(&from);
                }
            }
            Shared::Relay {
                ticket,
                session,
                message,
            } => {
                let took = self.send_to_holders(Notice::Relayed { session, message });
                answer(self, ticket, Answer::Relayed(took));
            }
            Shared::Deliver { session, message } => {
                self.send_to_holders(Notice::Deliver { session, message });
            }
            Shared::Publish(change) => self.broadcast(from, Notice::Published(change)),
            Shared::Append {
                stream, seq, frame, ..
            } => {
                if !self.gone.contains(&from) {
                    self.events
                        .entry(stream.as_u64())
                        .or_default()
                        .push((seq, frame));
                }
            }
            Shared::StreamOpened { stream, meta, .. } => {
                self.metas.insert(stream.as_u64(), meta.encode());
            }
            Shared::Recover { ticket, stream } => {
                let owner = stream.node() as usize - 1;
                let recovered = match self.gone.contains(&owner) {
                    false => Answer::Failed,
                    true => Answer::Recovered(self.metas.get(&stream.as_u64()).map(|meta| {
                        let meta = mcp_sse_core::StreamMeta::decode(meta).unwrap();
                        let events = self
                            .events
                            .get(&stream.as_u64())
                            .cloned()
                            .unwrap_or_default();
                        mcp_sse_core::Recovery::new(meta, events)
                    })),
                };
                answer(self, ticket, recovered);
            }
            Shared::ToNode { node, notice } => {
                let to = node as usize - 1;
                if !self.gone.contains(&to) {
                    self.notify(to, &notice);
                }
            }
            other => panic!("an operation this store does not know: {other:?}"),
        }
    }

    fn answer(&mut self, node: usize, ticket: Ticket, answer: Answer) {
        let sim = &mut self.nodes[node];
        sim.server.handle_shared(sim.now, ticket, answer);
        sim.drain();
    }

    /// Through the wire format, as between processes.
    fn notify(&mut self, node: usize, notice: &Notice) {
        let notice = Notice::decode(&notice.encode().expect("JSON")).expect("round trip");
        let sim = &mut self.nodes[node];
        sim.server.handle_notice(sim.now, notice);
        sim.drain();
    }

    fn broadcast(&mut self, from: usize, notice: Notice) {
        for node in (0..self.nodes.len()).filter(|n| *n != from) {
            self.notify(node, &notice);
        }
    }

    fn send_to_holders(&mut self, notice: Notice) -> bool {
        let (Notice::Relayed { session, .. } | Notice::Deliver { session, .. }) = &notice else {
            unreachable!()
        };
        let holders: Vec<usize> = self
            .holders
            .get(session.as_str())
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default();
        for &node in &holders {
            self.notify(node, &notice);
        }
        !holders.is_empty()
    }

    fn post(&mut self, node: usize, session: &str, body: &str) -> mcp_sse_core::ExchangeId {
        let x = self.nodes[node].post("/mcp", &[("mcp-session-id", session)], body);
        self.pump();
        x
    }

    /// A 2024-11-05 session on `node`, its stream started once the store has it; returns the
    /// stream and the `endpoint` URI.
    fn open_legacy(&mut self, node: usize) -> (mcp_sse_core::ExchangeId, String) {
        let stream = self.nodes[node].get_stream("/sse", &[]);
        let seen = self.nodes[node].seen(stream);
        assert!(seen.head.is_none(), "the stream waits for the store");
        self.pump();
        let seen = self.nodes[node].seen(stream);
        assert_eq!(seen.status(), 200);
        (stream, seen.events()[0].data.clone())
    }

    /// `initialize` on `node`, answered by its application, the session stored.
    fn initialize(&mut self, node: usize) -> String {
        let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"sim","version":"0"}}}"#;
        let init = self.nodes[node].post("/mcp", &[], body);
        let (key, _) = self.nodes[node].next_request();
        self.nodes[node].reply(key, r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#);
        let sim = &self.nodes[node];
        assert!(
            sim.seen(init).response.is_none() && sim.seen(init).head.is_none(),
            "the answer waits for the store"
        );
        self.pump();
        let seen = self.nodes[node].seen(init);
        assert_eq!(seen.status(), 200);
        seen.header("mcp-session-id").unwrap().to_owned()
    }
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t"}}"#;

#[test]
fn any_instance_serves_a_session_another_created() {
    let mut world = World::new(3, |_| {});
    let session = world.initialize(0);
    let x = world.post(1, &session, CALL);
    // Instance 1 learnt the session, and its application the client.
    let events = world.nodes[1].take_events();
    let restored = events.iter().find_map(|e| match e {
        Event::SessionRestored {
            session: s,
            transport,
            version,
            client,
        } => Some((
            s.clone(),
            *transport,
            *version,
            client.as_ref().map(|c| c.get().to_owned()),
        )),
        _ => None,
    });
    let (s, transport, version, client) = restored.expect("restored on instance 1");
    assert_eq!(s.as_str(), session);
    assert_eq!(transport, Transport::Streamable);
    assert_eq!(version.unwrap().as_str(), "2025-11-25");
    assert!(client.unwrap().contains(r#""sampling":{}"#));
    let key = events
        .into_iter()
        .find_map(|e| match e {
            Event::Request { key, request, .. } if request.method == "tools/call" => Some(key),
            _ => None,
        })
        .expect("the call reached instance 1's application");
    world.nodes[1].reply(key, r#"{"content":[]}"#);
    assert_eq!(world.nodes[1].seen(x).status(), 200);
    assert_eq!(world.nodes[1].seen(x).json()["id"], 7);
    assert!(
        world.ttls.contains_key(&session),
        "stored with its lifetime"
    );
    assert!(
        world.metas.is_empty(),
        "a JSON answer, never resumable, costs the store nothing"
    );
    // A second request on instance 1 needs no lookup.
    world.nodes[1].post("/mcp", &[("mcp-session-id", &session)], CALL);
    assert!(
        world.nodes[1]
            .shared
            .iter()
            .all(|op| !matches!(op, Shared::LoadSession { .. }))
    );
}

#[test]
fn a_session_the_store_does_not_know_is_404_everywhere() {
    let mut world = World::new(2, |_| {});
    let x = world.post(1, "0123456789abcdef0123456789abcdef", CALL);
    assert_eq!(world.nodes[1].seen(x).status(), 404);
    assert_eq!(world.nodes[1].seen(x).json()["error"]["code"], -32001);
}

#[test]
fn delete_on_one_instance_ends_the_session_on_all() {
    let mut world = World::new(3, |_| {});
    let session = world.initialize(0);
    let standalone = world.nodes[2].get_stream("/mcp", &[("mcp-session-id", &session)]);
    world.pump();
    assert_eq!(world.nodes[2].seen(standalone).status(), 200);
    let x = world.nodes[1].request("DELETE", "/mcp", &[("mcp-session-id", &session)], "");
    world.pump();
    assert_eq!(world.nodes[1].seen(x).status(), 200);
    assert!(!world.records.contains_key(&session), "gone from the store");
    for node in 0..3 {
        assert!(
            !world.nodes[node].server.has_session(&session),
            "node {node}"
        );
    }
    assert!(world.nodes[2].seen(standalone).finished, "its stream ended");
    let closed = world.nodes[0].take_events().into_iter().any(|e| {
        matches!(
            e,
            Event::SessionClosed {
                reason: CloseReason::Deleted,
                ..
            }
        )
    });
    assert!(closed, "instance 0's application heard it was deleted");
    let x = world.post(0, &session, CALL);
    assert_eq!(world.nodes[0].seen(x).status(), 404);
}

#[test]
fn a_message_for_the_session_reaches_its_stream_on_another_instance() {
    let mut world = World::new(2, |_| {});
    let session = world.initialize(0);
    let standalone = world.nodes[1].get_stream("/mcp", &[("mcp-session-id", &session)]);
    world.pump();
    let id = SessionId::parse(&session).unwrap();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    world.nodes[0]
        .send(Target::Session(id), note)
        .expect("taken");
    world.pump();
    let got = world.nodes[1].seen(standalone).messages();
    assert_eq!(
        got.last().unwrap()["method"],
        "notifications/tools/list_changed"
    );
}

#[test]
fn initialize_fails_cleanly_when_the_store_cannot_keep_the_session() {
    let mut world = World::new(1, |_| {});
    world.mode = Mode::Fail;
    let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
    let init = world.nodes[0].post("/mcp", &[], body);
    let (key, _) = world.nodes[0].next_request();
    world.nodes[0].reply(key, r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#);
    world.pump();
    let seen = world.nodes[0].seen(init);
    assert_eq!(seen.status(), 503);
    assert_eq!(
        seen.json()["id"],
        0,
        "the client learns its initialize failed"
    );
    assert_eq!(
        world.nodes[0].server.session_count(),
        0,
        "no half-made session"
    );
}

#[test]
fn a_store_that_fails_or_is_saturated_gets_503_and_a_client_gone_is_forgotten() {
    let mut world = World::new(2, |config| {
        config.cluster.as_mut().unwrap().max_waiting = 2;
    });
    let session = world.initialize(0);
    world.mode = Mode::Fail;
    let x = world.post(1, &session, CALL);
    let seen = world.nodes[1].seen(x);
    assert_eq!(seen.status(), 503);
    assert!(seen.header("retry-after").is_some());
    // A slow store: two wait, the third is refused at once.
    world.mode = Mode::Hold;
    let a = world.post(1, &session, CALL);
    let b = world.post(1, &session, CALL);
    let c = world.post(1, &session, CALL);
    assert_eq!(world.nodes[1].seen(c).status(), 503);
    assert!(world.nodes[1].seen(a).response.is_none());
    // The client of `a` leaves: its late answer goes nowhere.
    world.nodes[1].disconnect(a);
    world.mode = Mode::Answer;
    let record = SessionRecord::decode(
        SessionId::parse(&session).unwrap(),
        &world.records[&session],
    );
    for (node, ticket) in std::mem::take(&mut world.held) {
        world.answer(node, ticket, Answer::Found(record.clone()));
    }
    assert!(
        world.nodes[1].seen(a).response.is_none(),
        "nothing for a client gone"
    );
    let requests = world.nodes[1]
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 1, "only b's call reached the application");
    let _ = b;
}

#[test]
fn a_2024_session_takes_posts_on_every_instance() {
    let mut world = World::new(3, |_| {});
    let (stream, endpoint) = world.open_legacy(0);
    let ping = r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#;
    for node in [1, 2] {
        let x = world.nodes[node].post(&endpoint, &[], ping);
        assert!(
            world.nodes[node].seen(x).response.is_none(),
            "waits for the relay"
        );
        world.pump();
        assert_eq!(world.nodes[node].seen(x).status(), 202, "node {node}");
    }
    // Both reached instance 0's application; the answers go on its stream.
    for _ in 0..2 {
        let (key, request) = world.nodes[0].next_request();
        assert_eq!(request.method, "ping");
        world.nodes[0].reply(key, "{}");
    }
    let answers = world.nodes[0].seen(stream).messages();
    assert_eq!(answers.iter().filter(|m| m["id"] == "p").count(), 2);
    // The stream goes: the session is gone everywhere, and a relay finds no one.
    world.nodes[0].disconnect(stream);
    world.pump();
    let x = world.nodes[1].post(&endpoint, &[], ping);
    world.pump();
    assert_eq!(world.nodes[1].seen(x).status(), 404);
}

#[test]
fn a_relayed_request_the_holder_cannot_take_is_answered_with_an_error() {
    let mut world = World::new(2, |config| config.max_requests_in_flight = 1);
    let (stream, endpoint) = world.open_legacy(0);
    for id in ["a", "b"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":"{id}","method":"tools/call"}}"#);
        let x = world.nodes[1].post(&endpoint, &[], &body);
        world.pump();
        assert_eq!(world.nodes[1].seen(x).status(), 202);
    }
    let errors: Vec<_> = world.nodes[0]
        .seen(stream)
        .messages()
        .into_iter()
        .filter(|m| m["id"] == "b")
        .collect();
    assert_eq!(errors.len(), 1, "b learns it failed");
    assert_eq!(errors[0]["error"]["code"], -32000);
}

#[test]
fn published_changes_reach_listeners_on_every_instance() {
    let mut world = World::new(2, |config| {
        config.v2026.listen = mcp_sse_core::ListenSupport::all();
    });
    let listen = r#"{"jsonrpc":"2.0","id":"l","method":"subscriptions/listen","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}},"notifications":{"toolsListChanged":true}}}"#;
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "subscriptions/listen"),
    ];
    let on_1 = world.nodes[1].post("/mcp", &headers, listen);
    world.pump();
    assert_eq!(
        world.nodes[1].seen(on_1).status(),
        200,
        "{:?}",
        world.nodes[1].seen(on_1)
    );
    let now = world.nodes[0].now;
    world.nodes[0]
        .server
        .publish(now, &Change::ToolsListChanged);
    world.nodes[0].drain();
    world.pump();
    let got = world.nodes[1].seen(on_1).messages();
    assert!(
        got.iter()
            .any(|m| m["method"] == "notifications/tools/list_changed"),
        "{got:?}"
    );
    // Its application hears of it too, for the clients it serves itself.
    let heard = world.nodes[1].take_events().into_iter().any(|e| {
        matches!(
            e,
            Event::Published {
                change: Change::ToolsListChanged
            }
        )
    });
    assert!(heard);
}

#[test]
fn stream_and_event_ids_differ_across_instances() {
    let mut world = World::new(2, |_| {});
    let mut ids = Vec::new();
    for node in 0..2 {
        let session = world.initialize(node);
        let x = world.nodes[node].get_stream("/mcp", &[("mcp-session-id", &session)]);
        world.pump();
        let first = world.nodes[node].seen(x).events()[0].last_event_id.clone();
        ids.push(first);
    }
    assert_ne!(ids[0], ids[1]);
    assert!(
        ids.iter().all(|id| id.starts_with("00c0ffee-")),
        "the cluster's epoch: {ids:?}"
    );
}

/// A tool call on instance 0 whose answer streams; its client loses the connection after the
/// first progress notification. Returns the session, the request's key on 0, and the id of
/// the last event the client saw.
fn streaming_call(world: &mut World) -> (String, mcp_sse_core::RequestKey, String) {
    let session = world.initialize(0);
    let call = world.post(0, &session, CALL);
    let (key, _) = world.nodes[0].next_request();
    let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}"#;
    world.nodes[0].send(Target::Request(key), progress).unwrap();
    world.pump();
    let last = world.nodes[0]
        .seen(call)
        .events()
        .last()
        .unwrap()
        .last_event_id
        .clone();
    world.nodes[0].disconnect(call);
    world.pump();
    (session, key, last)
}

fn resume(world: &mut World, node: usize, session: &str, last: &str) -> mcp_sse_core::ExchangeId {
    let x = world.nodes[node].get_stream(
        "/mcp",
        &[("mcp-session-id", session), ("last-event-id", last)],
    );
    world.pump();
    x
}

#[test]
fn a_stream_resumes_on_another_instance_and_its_events_follow_it_there() {
    let mut world = World::new(3, |_| {});
    let (session, key, last) = streaming_call(&mut world);
    // Meanwhile the handler on 0 goes on: a second notification, kept for the resume.
    let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":2}}"#;
    world.nodes[0].send(Target::Request(key), progress).unwrap();
    world.pump();
    let on_1 = resume(&mut world, 1, &session, &last);
    assert_eq!(world.nodes[1].seen(on_1).status(), 200);
    let replayed = world.nodes[1].seen(on_1).messages();
    assert_eq!(
        replayed.len(),
        1,
        "what the client missed, once: {replayed:?}"
    );
    assert_eq!(replayed[0]["params"]["progress"], 2);
    // The answer, written on 0, reaches the client on 1, and the stream ends there.
    world.nodes[0].reply(key, r#"{"content":[]}"#);
    world.pump();
    let seen = world.nodes[1].seen(on_1);
    assert_eq!(seen.messages().last().unwrap()["id"], 7, "the answer, on 1");
    assert!(seen.finished);
    let ids: Vec<_> = seen
        .events()
        .iter()
        .map(|e| e.last_event_id.clone())
        .collect();
    assert!(ids.iter().all(|id| id.starts_with("00c0ffee-")), "{ids:?}");
}

#[test]
fn resuming_again_elsewhere_moves_the_stream_and_ends_the_older_connection() {
    let mut world = World::new(3, |_| {});
    let (session, key, last) = streaming_call(&mut world);
    let on_1 = resume(&mut world, 1, &session, &last);
    let on_2 = resume(&mut world, 2, &session, &last);
    assert!(world.nodes[1].seen(on_1).finished, "newest wins");
    world.nodes[0].reply(key, r#"{"content":[]}"#);
    world.pump();
    let on_2 = world.nodes[2].seen(on_2);
    assert_eq!(on_2.messages().last().unwrap()["id"], 7);
    assert!(
        world.nodes[1]
            .seen(on_1)
            .messages()
            .iter()
            .all(|m| m["id"] != 7)
    );
}

#[test]
fn a_carried_connection_lost_leaves_the_stream_resumable_at_its_owner() {
    let mut world = World::new(2, |_| {});
    let (session, key, last) = streaming_call(&mut world);
    let on_1 = resume(&mut world, 1, &session, &last);
    world.nodes[1].disconnect(on_1);
    world.pump();
    world.nodes[0].reply(key, r#"{"content":[]}"#);
    world.pump();
    // The client comes back to the owner itself, and gets the answer by replay.
    let on_0 = resume(&mut world, 0, &session, &last);
    let got = world.nodes[0].seen(on_0).messages();
    assert_eq!(got.last().unwrap()["id"], 7, "{got:?}");
}

#[test]
fn a_stream_whose_owner_is_gone_is_taken_over_from_the_store_and_its_request_runs_again() {
    let mut world = World::new(3, |_| {});
    let (session, key, last) = streaming_call(&mut world);
    let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":2}}"#;
    world.nodes[0].send(Target::Request(key), progress).unwrap();
    world.pump();
    // Instance 0 dies: its handler with it.
    world.gone.insert(0);
    let on_1 = resume(&mut world, 1, &session, &last);
    assert!(
        world.nodes[1].seen(on_1).head.is_none(),
        "waits for the owner first"
    );
    world.nodes[1].advance(Duration::from_secs(3));
    world.pump();
    let seen = world.nodes[1].seen(on_1);
    assert_eq!(seen.status(), 200);
    let got = seen.messages();
    assert_eq!(got.len(), 1, "the missed progress: {got:?}");
    assert_eq!(got[0]["params"]["progress"], 2);
    // The call reaches instance 1's application again, said to be so; its answer ends it.
    let again = world.nodes[1]
        .take_events()
        .into_iter()
        .find_map(|e| match e {
            Event::Request {
                key,
                request,
                redelivered,
                ..
            } => Some((key, request, redelivered)),
            _ => None,
        });
    let (again, request, redelivered) = again.expect("the call, again");
    assert_eq!((request.method.as_str(), redelivered), ("tools/call", true));
    // Run again, it reports from the start: what its client saw already is not sent again.
    for n in [1, 2, 3] {
        let progress = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":1,"progress":{n}}}}}"#
        );
        world.nodes[1]
            .send(Target::Request(again), &progress)
            .unwrap();
    }
    let progress: Vec<_> = world.nodes[1]
        .seen(on_1)
        .messages()
        .iter()
        .map(|m| m["params"]["progress"].clone())
        .collect();
    assert_eq!(progress, [2, 3], "progress only increases");
    world.nodes[1].reply(again, r#"{"content":[]}"#);
    world.pump();
    let seen = world.nodes[1].seen(on_1);
    assert_eq!(seen.messages().last().unwrap()["id"], 7);
    assert!(seen.finished);
    // The client resumes once more, elsewhere: the answer is there, once, by replay.
    let second = seen.events()[0].last_event_id.clone();
    let on_2 = resume(&mut world, 2, &session, &second);
    world.nodes[2].advance(Duration::from_secs(3));
    world.pump();
    let replayed = world.nodes[2].seen(on_2).messages();
    assert_eq!(
        replayed.len(),
        2,
        "progress 3, then the answer: {replayed:?}"
    );
    assert_eq!(replayed[1]["id"], 7);
    assert!(
        world.nodes[2]
            .take_events()
            .iter()
            .all(|e| !matches!(e, Event::Request { .. }))
    );
}

#[test]
fn a_request_the_store_did_not_keep_whole_fails_once_on_the_instance_taking_over() {
    let mut world = World::new(2, |_| {});
    let (session, _, last) = streaming_call(&mut world);
    world.gone.insert(0);
    for meta in world.metas.values_mut() {
        let text = String::from_utf8(meta.clone()).unwrap();
        let cut = text.find(",\"requests\"").unwrap();
        *meta = format!("{}}}", &text[..cut]).into_bytes();
    }
    let on_1 = resume(&mut world, 1, &session, &last);
    world.nodes[1].advance(Duration::from_secs(3));
    world.pump();
    let got = world.nodes[1].seen(on_1).messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["error"]["code"], -32603);
    assert!(world.nodes[1].seen(on_1).finished);
}

#[test]
fn a_resume_the_store_cannot_serve_whole_is_refused() {
    let mut world = World::new(2, |_| {});
    let (session, key, last) = streaming_call(&mut world);
    for n in 2..5 {
        let progress = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/progress","params":{{"progressToken":1,"progress":{n}}}}}"#
        );
        world.nodes[0]
            .send(Target::Request(key), &progress)
            .unwrap();
    }
    world.pump();
    world.gone.insert(0);
    // The store lost an event in the middle.
    for events in world.events.values_mut() {
        if events.len() > 2 {
            events.remove(2);
        }
    }
    let on_1 = resume(&mut world, 1, &session, &last);
    world.nodes[1].advance(Duration::from_secs(3));
    world.pump();
    assert_eq!(world.nodes[1].seen(on_1).status(), 400);
}

#[test]
fn an_owner_alive_but_slow_is_not_taken_over() {
    let mut world = World::new(2, |_| {});
    let (session, _, last) = streaming_call(&mut world);
    // Its hand-over does not come in time (lost), but the store knows it is alive.
    world.gone.insert(0);
    let on_1 = world.nodes[1].get_stream(
        "/mcp",
        &[("mcp-session-id", &session), ("last-event-id", &last)],
    );
    world.pump();
    world.gone.clear();
    world.nodes[1].advance(Duration::from_secs(3));
    world.pump();
    let seen = world.nodes[1].seen(on_1);
    assert_eq!(seen.status(), 503, "try again: {seen:?}");
    assert!(seen.header("retry-after").is_some());
}

#[test]
fn a_newer_standalone_stream_elsewhere_ends_the_older_and_messages_arrive_once() {
    let mut world = World::new(3, |_| {});
    let session = world.initialize(0);
    let older = world.nodes[1].get_stream("/mcp", &[("mcp-session-id", &session)]);
    world.pump();
    let newer = world.nodes[2].get_stream("/mcp", &[("mcp-session-id", &session)]);
    world.pump();
    assert!(world.nodes[1].seen(older).finished, "newest wins");
    let id = SessionId::parse(&session).unwrap();
    let note = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;
    world.nodes[0]
        .send(Target::Session(id), note)
        .expect("taken");
    world.pump();
    let count = |node: usize, x| {
        world.nodes[node]
            .seen(x)
            .messages()
            .iter()
            .filter(|m| m["method"] == "notifications/tools/list_changed")
            .count()
    };
    assert_eq!((count(1, older), count(2, newer)), (0, 1));
}

#[test]
fn a_store_that_fails_refuses_new_sessions_with_503_even_after_the_hold() {
    let mut world = World::new(1, |_| {});
    world.mode = Mode::Hold;
    let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#;
    let init = world.nodes[0].post("/mcp", &[], body);
    let (key, _) = world.nodes[0].next_request();
    world.nodes[0].reply(key, r#"{"protocolVersion":"2025-11-25","capabilities":{}}"#);
    let legacy = world.nodes[0].get_stream("/sse", &[]);
    world.pump();
    // Past the JSON hold: the answer still waits, as JSON.
    world.nodes[0].advance(Duration::from_secs(2));
    assert!(
        world.nodes[0].seen(init).head.is_none(),
        "no stream started meanwhile"
    );
    for (node, ticket) in std::mem::take(&mut world.held) {
        world.answer(node, ticket, Answer::Failed);
    }
    for x in [init, legacy] {
        let seen = world.nodes[0].seen(x);
        assert_eq!(seen.status(), 503, "{seen:?}");
        assert!(seen.header("retry-after").is_some());
    }
    assert_eq!(world.nodes[0].server.session_count(), 0);
}

#[test]
fn delete_is_answered_once_every_instance_was_told() {
    let mut world = World::new(2, |_| {});
    let session = world.initialize(0);
    world.post(1, &session, CALL);
    world.mode = Mode::Hold;
    let x = world.nodes[1].request("DELETE", "/mcp", &[("mcp-session-id", &session)], "");
    world.pump();
    assert!(
        world.nodes[1].seen(x).response.is_none(),
        "waits for the store"
    );
    assert!(!world.nodes[0].server.has_session(&session), "told already");
    world.mode = Mode::Answer;
    for (node, ticket) in std::mem::take(&mut world.held) {
        world.answer(node, ticket, Answer::Done);
    }
    assert_eq!(world.nodes[1].seen(x).status(), 200);
}

#[test]
fn a_session_restored_counts_against_max_sessions() {
    let mut world = World::new(2, |config| config.max_sessions = 1);
    let mine = world.initialize(1);
    let busy = world.nodes[1].get_stream("/mcp", &[("mcp-session-id", &mine)]);
    world.pump();
    assert_eq!(world.nodes[1].seen(busy).status(), 200);
    let other = world.initialize(0);
    // Instance 1 is full of a busy session: the other one is refused, not added past the cap.
    let x = world.post(1, &other, CALL);
    assert_eq!(world.nodes[1].seen(x).status(), 503);
    assert_eq!(world.nodes[1].server.session_count(), 1);
    // Once its own session is idle, it gives way.
    world.nodes[1].disconnect(busy);
    world.pump();
    let x = world.post(1, &other, CALL);
    assert!(world.nodes[1].seen(x).response.is_none() || world.nodes[1].seen(x).status() != 503);
    assert_eq!(world.nodes[1].server.session_count(), 1);
    assert!(world.nodes[1].server.has_session(&other));
}

#[test]
fn a_late_lookup_does_not_bring_back_a_session_deleted_meanwhile() {
    let mut world = World::new(2, |_| {});
    let session = world.initialize(0);
    world.mode = Mode::Hold;
    let first = world.post(1, &session, CALL);
    let second = world.post(1, &session, CALL);
    let record = SessionRecord::decode(
        SessionId::parse(&session).unwrap(),
        &world.records[&session],
    );
    let held = std::mem::take(&mut world.held);
    world.mode = Mode::Answer;
    // The first lookup comes back; the client deletes the session there.
    world.answer(held[0].0, held[0].1, Answer::Found(record.clone()));
    assert!(world.nodes[1].seen(first).response.is_none());
    let delete = world.nodes[1].request("DELETE", "/mcp", &[("mcp-session-id", &session)], "");
    world.pump();
    assert_eq!(world.nodes[1].seen(delete).status(), 200);
    // The second, answered from before the delete, finds it ended.
    world.answer(held[1].0, held[1].1, Answer::Found(record));
    assert_eq!(world.nodes[1].seen(second).status(), 404);
    assert!(!world.nodes[1].server.has_session(&session));
}
