//! A proptest state machine against a small reference model of session lifecycles: sessions of
//! both transports open; at the cap the least recently active idle session gives way (a
//! 2024-11-05 session, whose stream is open, never does) and only when none can is the new one
//! refused with 503; live sessions are served, ended ones (closed stream, DELETE, idle expiry,
//! evicted) and unknown ones answer 404, and the server's sessions are always the model's
//! (S1.9, S2.39–S2.42).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mcp_sse_core::{Config, ExchangeId};
use mcp_sse_tests::Sim;
use proptest::prelude::*;

const CAP: usize = 3;
const IDLE: Duration = Duration::from_secs(30);
const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

#[derive(Clone, Debug)]
enum Op {
    OpenLegacy,
    Initialize,
    /// A request to the n-th session ever opened (or an unknown one past the end).
    Post(usize),
    Delete(usize),
    /// The client of the n-th 2024-11-05 session closes its stream.
    Leave(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::OpenLegacy),
        Just(Op::Initialize),
        (0usize..8).prop_map(Op::Post),
        (0usize..8).prop_map(Op::Delete),
        (0usize..8).prop_map(Op::Leave),
        (0u64..40).prop_map(Op::Wait),
    ]
}

/// What the model knows of one session.
#[derive(Debug)]
enum Kind {
    /// A 2024-11-05 session and its stream.
    Legacy(ExchangeId),
    /// A Streamable HTTP session and when it was last used.
    Streamable(Instant),
}

#[derive(Default, Debug)]
struct Model {
    /// Every session ever opened, in order, by id.
    opened: Vec<String>,
    alive: BTreeMap<String, Kind>,
}

impl Model {
    /// Room for one more session: at the cap the least recently active Streamable HTTP session
    /// (the earliest opened among equals) gives way. False when none can.
    fn make_room(&mut self) -> bool {
        if self.alive.len() < CAP {
            return true;
        }
        let order = |id: &String| self.opened.iter().position(|o| o == id);
        let oldest = self
            .alive
            .iter()
            .filter_map(|(id, kind)| match kind {
                Kind::Streamable(last) => Some((*last, order(id), id.clone())),
                Kind::Legacy(_) => None,
            })
            .min();
        match oldest {
            Some((_, _, id)) => {
                self.alive.remove(&id);
                true
            }
            None => false,
        }
    }

    fn expire(&mut self, now: Instant) {
        self.alive.retain(|_, kind| match kind {
            Kind::Legacy(_) => true,
            Kind::Streamable(last) => now < *last + IDLE,
        });
    }
}

fn run(ops: Vec<Op>) {
    let mut config = Config::default();
    config.max_sessions = CAP;
    config.idle_timeout = Some(IDLE);
    let mut sim = Sim::new(config);
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::OpenLegacy => {
                let x = sim.get_stream("/sse", &[]);
                if model.make_room() {
                    let endpoint = sim.seen(x).events()[0].data.clone();
                    let id = endpoint.split("sessionId=").nth(1).unwrap().to_owned();
                    model.opened.push(id.clone());
                    model.alive.insert(id, Kind::Legacy(x));
                } else {
                    assert_eq!(sim.seen(x).status(), 503, "at the cap");
                }
            }
            Op::Initialize => {
                if model.make_room() {
                    let id = sim.initialize("2025-11-25");
                    model.opened.push(id.clone());
                    model.alive.insert(id, Kind::Streamable(sim.now));
                } else {
                    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
                    let x = sim.post("/mcp", &[], init);
                    assert_eq!(sim.seen(x).status(), 503, "at the cap");
                }
            }
            Op::Post(n) => {
                let id = model
                    .opened
                    .get(n)
                    .cloned()
                    .unwrap_or_else(|| "f".repeat(32));
                let x = sim.post("/mcp", &[("mcp-session-id", &id)], PING);
                match model.alive.get_mut(&id) {
                    None => assert_eq!(sim.seen(x).status(), 404, "an ended or unknown session"),
                    Some(Kind::Legacy(_)) => assert_eq!(sim.seen(x).status(), 202),
                    Some(Kind::Streamable(last)) => {
                        *last = sim.now;
                        let (key, _) = sim.next_request();
                        sim.reply(key, "{}");
                        assert_eq!(sim.seen(x).status(), 200);
                    }
                }
                sim.take_events();
            }
            Op::Delete(n) => {
                let Some(id) = model.opened.get(n).cloned() else {
                    continue;
                };
                let x = sim.request("DELETE", "/mcp", &[("mcp-session-id", &id)], "");
                let expected = if model.alive.remove(&id).is_some() {
                    200
                } else {
                    404
                };
                assert_eq!(sim.seen(x).status(), expected);
            }
            Op::Leave(n) => {
                let streams: Vec<_> = model
                    .alive
                    .iter()
                    .filter_map(|(id, kind)| match kind {
                        Kind::Legacy(x) => Some((id.clone(), *x)),
                        Kind::Streamable(_) => None,
                    })
                    .collect();
                if let Some((id, stream)) = streams.get(n % streams.len().max(1)) {
                    sim.disconnect(*stream);
                    model.alive.remove(id);
                }
            }
            Op::Wait(secs) => {
                sim.advance(Duration::from_secs(secs));
                model.expire(sim.now);
            }
        }
        assert_eq!(
            sim.server.session_count(),
            model.alive.len(),
            "the model's sessions"
        );
        for id in model.alive.keys() {
            assert!(sim.server.has_session(id), "{id} is alive in the model");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sessions_follow_the_reference_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
