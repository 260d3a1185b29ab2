//! The op-script target: servers driven by an arbitrary sequence of requests (any method,
//! path, headers, body, session and event ids, era), credits, disconnects, application replies
//! and sends, and time steps, with every output drained and the invariants checked after each
//! step. At the end every client leaves and time runs out: nothing may be left behind.
//!
//! A script whose first byte is [`CLUSTER_SCRIPT`] runs two or three servers as the instances
//! of a cluster sharing a fake store (`store.rs`), and the script drives the store too: each op
//! names the instance it goes to, and store ops perform the operations the instances asked for
//! (in order or not), deliver their answers at once or later, fail them, answer them again,
//! and deliver or drop the notices between instances; an op may declare an instance dead
//! (nothing reaches it, notices to it are lost, its streams are recovered from the store). Any
//! other first byte runs one server, and every later byte means what it always did.
//!
//! Delivery is accounted both ways. A client message answered `202` reaches the application
//! exactly once, a refused one never. Every application message the server accepted (a reply or
//! a send that returned `Ok`) carries a unique tag: no client sees a tag twice except by
//! resuming, and once every client has read all it was given, each tag has been seen unless its
//! stream's connection was lost (a disconnect, a closed stream, an ended session, shutdown), which
//! is the one loss the application is told about.
//!
//! In a cluster the same holds across instances, and besides: a ticket is never issued twice;
//! a request that waited for the store gets exactly one response (none only if its client
//! left, and then nothing at all happens for it); an answer to a ticket already answered, or
//! never issued, does nothing; `Cluster::max_waiting` bounds the requests waiting for the store,
//! and one is refused at once only when that many wait; a relayed `POST` is answered `202` exactly
//! when an instance took it, and then its message reaches that instance's application once or,
//! for a request it cannot take, its client gets an error on the session's stream; a session
//! ended for good (deleted, closed, its 2024-11-05 stream gone) is gone from an instance once
//! that instance heard of it, and is never served there again; an `initialize` answer reaches
//! its client only once the store kept its session. Alone or not, an event id comes once,
//! except to a client that resumed.

mod store;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::jsonrpc::ErrorObject;
use crate::sse::{Decoder, Item};
use crate::{
    Answer, Authorization, Change, CloseReason, Cluster, Config, Cors, Credentials, Event,
    ExchangeId, ListenSupport, Notice, Output, Principal, RequestKey, ResponseMode, SequentialIds,
    Server, SessionId, Shared, Target, Ticket, Transport, Unavailable,
};
use store::{InFlight, Store};

/// The first byte of a script that runs a cluster.
pub const CLUSTER_SCRIPT: u8 = 0xC1;

/// An exchange, or a request, of one instance (always instance 0 without a cluster).
type Ex = (usize, ExchangeId);
type Key = (usize, RequestKey);

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
    heads: HashMap<Ex, bool>,
    /// Open streams and their decoders.
    streams: HashMap<Ex, Decoder>,
    /// Bytes handed out per open stream and not credited by us yet.
    unconsumed: HashMap<Ex, usize>,
    /// The largest frame handed out.
    largest_frame: usize,
    sessions: Vec<String>,
    /// Sessions ended: on the one server, or for good in a cluster.
    dead: HashSet<String>,
    ended: Vec<String>,
    event_ids: Vec<String>,
    keys: Vec<Key>,
    delivered: HashSet<Key>,
    /// Statuses of complete responses and stream heads, by exchange.
    statuses: HashMap<Ex, u16>,
    /// Requests answered (the server took the reply) or cancelled.
    settled: HashSet<Key>,
    /// What the current op's input made the server do.
    step: Step,
    /// Application messages accepted by the server, by tag.
    owed: Vec<Owed>,
    next_tag: u64,
    /// Where each tag was first seen by a client.
    seen: HashMap<u64, Ex>,
    /// Where each event id was first seen.
    event_seen: HashMap<String, Ex>,
    /// Exchanges that asked to resume with `Last-Event-ID`: they may repeat what was seen.
    resumed: HashSet<Ex>,
    /// The exchange whose stream a resuming one may carry on, by the event id it named.
    resumes_of: HashMap<Ex, Ex>,
    /// The session an exchange named or was given, and the session and exchange of a request.
    exchange_session: HashMap<Ex, String>,
    key_session: HashMap<Key, String>,
    key_exchange: HashMap<Key, Ex>,
    /// Where a connection was lost: messages for them may be lost too.
    lost_sessions: HashSet<(usize, String)>,
    lost_exchanges: HashSet<Ex>,
    /// Instances shut down.
    shut_down: HashSet<usize>,
    /// Whether authorization is on, and the subject of the request being sent.
    auth: bool,
    principal: Option<String>,
    /// Each session's owner: the subject that opened it (S4.6).
    owners: HashMap<String, Option<String>>,
    /// The subject of each request, with authorization on.
    subjects: HashMap<Ex, Option<String>>,
    /// Requests naming a session that had ended before them: never served (S2.40).
    refuse: HashMap<Ex, String>,
    /// What each `POST` body carries for the application, until its answer is checked.
    inbound: HashMap<Ex, Inbound>,
    /// Exchanges refused `503` because the store did not answer or too many wait for it.
    store_refused: HashSet<Ex>,
    /// The cluster's side, when the script runs one.
    fleet: Option<Fleet>,
    /// The behaviours reached.
    reached: BTreeSet<String>,
}

/// What one op made the server do, for checks that look at the op as a whole.
#[derive(Default)]
struct Step {
    /// Requests delivered.
    keys: Vec<Key>,
    /// Notifications, responses and cancellations delivered.
    inbound: usize,
    /// The exchange being routed: a new request, or one that waited for the store.
    routing: Option<Ex>,
    /// The request whose reply is being given, and the reply's tag.
    replying: Option<(Key, u64)>,
    /// The store's answer being delivered is a failure.
    failed: bool,
}

/// An application message the server accepted.
struct Owed {
    tag: u64,
    /// The instance whose stream carries it.
    node: usize,
    session: Option<String>,
    key: Option<Key>,
}

/// How many notifications and responses a `POST` body carries, when the script knows.
#[derive(Clone, Copy, Debug)]
enum Inbound {
    Exactly(usize),
    /// A cancellation of an unknown request is dropped without an event (S2.17).
    AtMost(usize),
    Unknown,
}

/// Where the core, in a cluster, does not yet keep a promise it keeps alone: reported, and
/// tolerated (narrowly, each where it shows) so that scripts go on to find other things.
/// `MCP_OPS_STRICT=1` tolerates none, `MCP_OPS_STRICT=RestoreOverCap,…` none of those named.
/// Each is one finding of the op scripts; remove it once fixed.
#[derive(Clone, Copy, Debug)]
enum Gap {
    /// A session restored from the store ignores `Config::max_sessions`.
    RestoreOverCap,
    /// A relayed request the holder refuses because its stream is full: the error for its
    /// client cannot be queued on that full stream, and is dropped after the `202`.
    RelayRefusalLost,
    /// Operations on one session performed out of order (an `EndSession` before its
    /// `SaveSession`) bring an ended session back.
    SessionOpsReordered,
    /// `send` to a session whose stream is on no instance, or whose holder cannot take it,
    /// returns `Ok` and the message is lost.
    DeliverUnconfirmed,
    /// A lookup answered from the store after this instance ended the session for good (or
    /// heard it ended) restores it: the session lives on there, and is served.
    StaleLookupRestores,
}

impl Gap {
    /// Closed in the core since it was found: checked always, whatever `MCP_OPS_STRICT` says.
    /// (`DeliverUnconfirmed` is what a cluster does, and is documented: `Server::send`.)
    fn is_closed(self) -> bool {
        !matches!(self, Gap::DeliverUnconfirmed)
    }
}

/// The cluster: the store, the tickets out, and who knows which session ended.
struct Fleet {
    store: Store,
    max_waiting: usize,
    tickets: HashMap<(usize, Ticket), Ticketed>,
    /// Tickets answered (or forgotten), in order, to answer again.
    answered: Vec<(usize, Ticket)>,
    /// The relayed messages, by the relaying instance and ticket.
    relays: HashMap<(usize, Ticket), Relaying>,
    /// Instances that know a session ended for good: the one that ended it, and those that
    /// heard the notice. (Until then an instance may serve it: a lookup answered before the
    /// notice may restore it.)
    informed: HashSet<(usize, String)>,
    /// Each session's transport, as opened.
    transports: HashMap<String, Transport>,
    /// Tags sent to a session's stream that no instance held when the store got them.
    unheld: HashSet<u64>,
    /// Tags whose notice the store dropped.
    dropped: HashSet<u64>,
    /// Tags of `initialize` answers held until the store keeps their session, by ticket.
    unsaved: HashMap<(usize, Ticket), u64>,
    /// Sessions each instance restored.
    restored: HashMap<usize, usize>,
    /// Sessions an instance restored after it knew they had ended for good, and why.
    zombies: HashMap<(usize, String), Gap>,
    /// The known gaps that fail the script (`MCP_OPS_STRICT`).
    strict: String,
}

struct Ticketed {
    purpose: Purpose,
    state: TicketState,
}

#[derive(Clone, Debug)]
enum Purpose {
    /// A request naming a session the instance did not hold.
    Lookup(Ex),
    /// A 2024-11-05 `POST` for a stream another instance holds.
    Relay(Ex),
    /// A new session, whose `initialize` answer waits for it (on that exchange, if known).
    Save(Option<Ex>, String),
    /// A new 2024-11-05 session, whose stream started already.
    Record,
    /// A `DELETE` (on that exchange), answered once every instance was told.
    Delete(Option<Ex>),
    /// A `GET` resuming stream `.1` another instance owns, asked of it by a notice: settled by
    /// its answer, or by the core's timer (then it asks the store: `Recover`).
    Resume(Ex, u64),
    /// A `GET` taking a stream over from the store, its owner silent (on that exchange).
    Recover(Option<Ex>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TicketState {
    Open,
    /// A lookup whose client left: the instance forgot it.
    Forgotten,
    Answered,
}

/// A 2024-11-05 message relayed to the instance holding its stream.
struct Relaying {
    inbound: Inbound,
    /// The id of a request, as JSON.
    request: Option<serde_json::Value>,
}

impl Fleet {
    fn issue(&mut self, node: usize, ticket: Ticket, purpose: Purpose) {
        let state = TicketState::Open;
        let old = self
            .tickets
            .insert((node, ticket), Ticketed { purpose, state });
        assert!(old.is_none(), "{ticket:?} issued twice on instance {node}");
    }

    /// Tickets the instance is waiting on (it forgets a lookup whose client left), and of
    /// those the requests waiting (lookups and relays).
    fn waiting(&self, node: usize) -> (usize, usize) {
        let open = self
            .tickets
            .iter()
            .filter(|((n, _), t)| *n == node && t.state == TicketState::Open);
        let (mut all, mut requests) = (0, 0);
        for (_, t) in open {
            all += 1;
            if matches!(t.purpose, Purpose::Lookup(_) | Purpose::Relay(_)) {
                requests += 1;
            }
        }
        (all, requests)
    }

    /// Whether a known gap fails the script.
    fn strict(&self, gap: Gap) -> bool {
        if gap.is_closed() {
            return true;
        }
        let name = format!("{gap:?}");
        self.strict == "1" || self.strict.split(',').any(|g| g.trim() == name)
    }

    /// Whether a known gap, met here, is let pass.
    fn tolerates(&self, gap: Gap, reached: &mut BTreeSet<String>) -> bool {
        reached.insert(format!("gap {gap:?}"));
        !self.strict(gap)
    }

    /// The client of `exchange` left: a lookup it waits on is forgotten.
    fn forget(&mut self, exchange: Ex) {
        for t in self.tickets.values_mut() {
            if matches!(t.purpose, Purpose::Lookup(e) if e == exchange)
                && t.state == TicketState::Open
            {
                t.state = TicketState::Forgotten;
            }
        }
    }
}

impl World {
    fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    fn fleet(&mut self) -> &mut Fleet {
        self.fleet.as_mut().expect("a cluster")
    }

    /// Whether instance `node` still runs (the script may declare one dead).
    fn alive(&self, node: usize) -> bool {
        self.fleet
            .as_ref()
            .is_none_or(|f| !f.store.dead.contains(&node))
    }

    fn lose_exchange(&mut self, exchange: Ex) {
        self.lost_exchanges.insert(exchange);
        if let Some(session) = self.exchange_session.get(&exchange).cloned() {
            self.lost_sessions.insert((exchange.0, session));
        }
        // A stream resumed here is lost with it, and what the first exchange owed.
        if let Some(&earlier) = self.resumes_of.get(&exchange)
            && !self.lost_exchanges.contains(&earlier)
        {
            self.lose_exchange(earlier);
        }
    }

    fn lose_key(&mut self, key: Key) {
        if let Some(&exchange) = self.key_exchange.get(&key) {
            self.lose_exchange(exchange);
        }
        if let Some(session) = self.key_session.get(&key).cloned() {
            self.lost_sessions.insert((key.0, session));
        }
    }

    fn excused(&self, owed: &Owed) -> bool {
        let lost = |node: usize, s: &String| self.lost_sessions.contains(&(node, s.clone()));
        let key_lost = owed.key.is_some_and(|key| {
            self.key_exchange
                .get(&key)
                .is_some_and(|e| self.lost_exchanges.contains(e))
                || self.key_session.get(&key).is_some_and(|s| lost(key.0, s))
        });
        let session_lost = owed.session.as_ref().is_some_and(|s| lost(owed.node, s));
        // A bus may lose messages; the core cannot help that.
        let dropped = self.fleet.as_ref().is_some_and(|f| {
            let unheld = f.unheld.contains(&owed.tag) && !f.strict(Gap::DeliverUnconfirmed);
            f.dropped.contains(&owed.tag) || unheld
        });
        self.shut_down.contains(&owed.node)
            || !self.alive(owed.node)
            || key_lost
            || session_lost
            || dropped
    }

    /// Whether a request to instance `node` naming `session` must be refused: the session ended
    /// (for good, in a cluster, and the instance knows).
    fn gone_for(&self, node: usize, session: &str) -> bool {
        self.dead.contains(session)
            && self
                .fleet
                .as_ref()
                .is_none_or(|f| f.informed.contains(&(node, session.to_owned())))
    }

    /// Event ids name one event of one stream, across instances (S2.27): an id comes again
    /// only to a client that resumed.
    fn see_event_ids(&mut self, frames: &[u8], exchange: Ex) {
        for line in frames.split(|&b| b == b'\n') {
            let Some(id) = line.strip_prefix(b"id:") else {
                continue;
            };
            let id = String::from_utf8_lossy(id).trim().to_owned();
            match self.event_seen.get(&id) {
                None => {
                    self.event_seen.insert(id, exchange);
                }
                Some(&first) => assert!(
                    first != exchange && self.resumed.contains(&exchange),
                    "event id {id} twice (on {first:?}, then on {exchange:?})"
                ),
            }
        }
    }

    /// A client read `text` on `exchange`: each tag in it is seen once, or again by resuming.
    fn see(&mut self, text: &[u8], exchange: Ex) {
        for tag in tags(text) {
            if let Some(fleet) = &self.fleet {
                let unsaved = fleet.unsaved.values().any(|&t| t == tag);
                assert!(
                    !unsaved,
                    "the answer #T{tag}# to initialize reached its client before the store kept its session"
                );
            }
            match self.seen.get(&tag) {
                None => {
                    self.seen.insert(tag, exchange);
                }
                Some(&first) => {
                    self.reached.insert("replayed".into());
                    assert!(
                        first != exchange && self.resumed.contains(&exchange),
                        "message #T{tag}# delivered twice (on {first:?}, then on {exchange:?})"
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

/// The id of a JSON-RPC request, if `message` is one.
fn request_id(message: &[u8]) -> Option<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(message).ok()?;
    value.get("method")?;
    value.get("id").cloned()
}

/// `MCP_OPS_TRACE=1` prints every op, `2` every output too (read once).
fn trace_level() -> u8 {
    static LEVEL: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("MCP_OPS_TRACE").as_deref() {
        Err(_) => 0,
        Ok("2") => 2,
        Ok(_) => 1,
    })
}

fn trace() -> bool {
    trace_level() > 0
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

/// The servers of a script, what their clients and applications saw, and virtual time.
struct Run {
    servers: Vec<Server>,
    world: World,
    now: Instant,
    bound: usize,
    cap: usize,
}

/// Runs one op script; panics on a broken invariant. Returns the behaviours the script
/// reached (statuses, outputs, events), for choosing seeds that reach many.
///
/// A script is config bytes, then ops, one byte choosing each and the next ones its details.
/// A cluster script starts with [`CLUSTER_SCRIPT`] and a byte each for the number of
/// instances (2 or 3) and `max_waiting` (1 to 4); its op byte chooses among 23 ops: the 12 of
/// one server, those that address an instance followed by a byte naming it, and 11 store ops
/// (perform the oldest operation and answer at once, perform any and answer later, deliver a
/// late answer, fail an operation, deliver or drop a notice, answer a ticket again, settle).
pub fn server_ops(data: &[u8]) -> BTreeSet<String> {
    let mut input = Choices { data, at: 0 };
    let cluster = data.first() == Some(&CLUSTER_SCRIPT);
    let (nodes, max_waiting) = match cluster {
        true => {
            input.byte();
            (2 + input.below(2), 1 + input.below(4))
        }
        false => (1, 0),
    };
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
    let servers = (0..nodes)
        .map(|node| {
            let mut config = config.clone();
            let mut ids = SequentialIds::default();
            if cluster {
                let mut member = Cluster::new(node as u32 + 1, 0xc1);
                member.max_waiting = max_waiting;
                config.cluster = Some(member);
                // Distinct session ids per instance, as random ones would be.
                ids = SequentialIds((node as u128 + 1) << 64);
            }
            Server::with_id_generator(config, Box::new(ids))
        })
        .collect();
    let fleet = cluster.then(|| Fleet {
        store: Store::new(nodes),
        max_waiting,
        tickets: HashMap::new(),
        answered: Vec::new(),
        relays: HashMap::new(),
        informed: HashSet::new(),
        transports: HashMap::new(),
        unheld: HashSet::new(),
        dropped: HashSet::new(),
        unsaved: HashMap::new(),
        restored: HashMap::new(),
        zombies: HashMap::new(),
        strict: std::env::var("MCP_OPS_STRICT").unwrap_or_default(),
    });
    let mut run = Run {
        servers,
        world: World {
            auth,
            fleet,
            ..World::default()
        },
        #[allow(clippy::disallowed_methods)] // the base of virtual time; servers see only offsets
        now: Instant::now(),
        bound: config.stream_queue_bytes,
        cap: config.max_sessions,
    };

    let ops = if cluster { 23 } else { 12 };
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        run.world.step = Step::default();
        let op = input.below(ops);
        let node = match cluster && matches!(op, 0..=4 | 8 | 10 | 11) {
            true => input.below(nodes),
            false => 0,
        };
        let now = run.now;
        if matches!(op, 0..=4 | 8 | 10 | 11) && !run.world.alive(node) {
            // Nothing reaches a dead instance.
            run.check();
            continue;
        }
        match op {
            0..=4 => run.request(node, &mut input),
            5 => {
                // Sorted: a hash map's order differs between runs, and scripts must replay.
                let mut open: Vec<_> = (run.world.unconsumed.keys())
                    .filter(|e| run.world.alive(e.0))
                    .copied()
                    .collect();
                open.sort();
                if let Some(&exchange) = input.pick(&open) {
                    let owed = run.world.unconsumed[&exchange];
                    let bytes = input.below(owed + 2);
                    let bytes = bytes.min(owed);
                    *run.world.unconsumed.get_mut(&exchange).expect("listed") -= bytes;
                    if trace() {
                        eprintln!("consumed {bytes} of {exchange:?}");
                    }
                    run.servers[exchange.0].handle_consumed(now, exchange.1, bytes);
                }
            }
            6 => {
                let mut live: Vec<_> = (run.world.heads.keys())
                    .filter(|e| run.world.alive(e.0))
                    .copied()
                    .collect();
                live.sort();
                if let Some(&exchange) = input.pick(&live) {
                    if trace() {
                        eprintln!("disconnect {exchange:?}");
                    }
                    run.servers[exchange.0].handle_disconnect(now, exchange.1);
                    let world = &mut run.world;
                    world.streams.remove(&exchange);
                    world.unconsumed.remove(&exchange);
                    world.lose_exchange(exchange);
                    if let Some(fleet) = &mut world.fleet {
                        fleet.forget(exchange);
                    }
                }
            }
            7 => {
                if let Some(&key) = input.pick(&run.world.keys) {
                    let as_error = input.below(3) == 0;
                    let code = -32601 - input.below(30) as i64;
                    run.reply(key, as_error.then_some(code));
                }
            }
            8 => run.send(node, &mut input),
            9 => {
                let step = [0, 1, 50, 100, 499, 500, 1_000, 3_000, 10_000, 60_000][input.below(10)];
                run.now += Duration::from_millis(step);
                let now = run.now;
                if trace() {
                    eprintln!("time +{step} ms");
                }
                let alive: Vec<usize> = (0..nodes).filter(|&n| run.world.alive(n)).collect();
                for node in alive {
                    run.servers[node].handle_timeout(now);
                    run.drain(node);
                    if let Some(at) = run.servers[node].poll_timeout() {
                        assert!(at > now, "a deadline in the past after handle_timeout");
                    }
                }
            }
            10 => match input.below(4) {
                0 => {
                    if let Some(&key) = input.pick(&run.world.keys)
                        && run.world.alive(key.0)
                        && run.servers[key.0].close_stream(now, key.1).is_ok()
                    {
                        if trace() {
                            eprintln!("close stream of {key:?}");
                        }
                        run.world.lose_key(key);
                    }
                }
                1 => {
                    if let Some(session) = input
                        .pick(&run.world.sessions)
                        .and_then(|s| SessionId::parse(s))
                    {
                        if trace() {
                            eprintln!("close session {session} on {node}");
                        }
                        run.servers[node].close_session(now, &session);
                        run.world.lost_sessions.insert((node, session.to_string()));
                    }
                }
                2 => {
                    let change = [
                        Change::ToolsListChanged,
                        Change::ResourceUpdated("test://a".into()),
                    ];
                    let change = change[input.below(2)].clone();
                    if trace() {
                        eprintln!("publish on {node}");
                    }
                    run.servers[node].publish(now, &change);
                }
                _ => match input.below(16) {
                    0 => {
                        let grace = [0, 500, 3_000][input.below(3)];
                        if trace() {
                            eprintln!("shutdown {node}");
                        }
                        run.servers[node].shutdown(now, Duration::from_millis(grace));
                        run.world.shut_down.insert(node);
                    }
                    1 if cluster => run.die(node),
                    _ => {}
                },
            },
            11 => {
                // A clock that goes backwards is clamped, never trusted.
                let back = Duration::from_millis(input.below(1000) as u64);
                run.servers[node].handle_timeout(now - back);
            }
            _ => run.store_op(op, &mut input),
        }
        run.drain_all();
        if trace_level() == 2 {
            for (node, server) in run.servers.iter().enumerate() {
                let (sessions, requests) = (server.session_count(), server.requests_in_flight());
                eprintln!("  {node}: {sessions} sessions, {requests} requests in flight");
            }
        }
        run.check();
    }
    run.finish()
}

impl Run {
    /// Sends one request built from the input to instance `node`, and checks what routing it
    /// did.
    fn request(&mut self, node: usize, input: &mut Choices<'_>) {
        let built = build_request(&mut self.world, node, input);
        let exchange = self.servers[node].handle_request(self.now, built.head, built.body);
        let exchange = (node, exchange);
        let world = &mut self.world;
        world.heads.entry(exchange).or_insert(false);
        if let Some(last) = built.resumes {
            world.resumed.insert(exchange);
            if let Some(&earlier) = world.event_seen.get(&last) {
                world.resumes_of.insert(exchange, earlier);
            }
        }
        if let Some(session) = built.judged {
            world.exchange_session.insert(exchange, session.clone());
            // Only a session that had ended before this request must be refused.
            if built.was_dead {
                world.refuse.insert(exchange, session);
            }
        }
        world.inbound.insert(exchange, built.inbound);
        world.subjects.insert(exchange, world.principal.clone());
        world.step.routing = Some(exchange);
        self.drain(node);
        self.after_routing(exchange);
    }

    /// Checks what routing `exchange` delivered against its answer: a client message answered
    /// `202` reaches the application exactly once (a relayed one, where it is relayed to); a
    /// refused `POST` delivers nothing; a request waiting for the store delivered nothing yet.
    fn after_routing(&mut self, exchange: Ex) {
        let world = &mut self.world;
        let keys = std::mem::take(&mut world.step.keys);
        for &key in &keys {
            world.key_exchange.insert(key, exchange);
        }
        let delivered = world.step.inbound;
        let (mut waiting, mut relayed) = (false, false);
        if let Some(fleet) = &world.fleet {
            for t in fleet.tickets.values() {
                match t.purpose {
                    Purpose::Lookup(e) if e == exchange => {
                        waiting |= t.state == TicketState::Open;
                    }
                    Purpose::Relay(e) if e == exchange => {
                        waiting |= t.state == TicketState::Open;
                        relayed = true;
                    }
                    _ => {}
                }
            }
        }
        let Some(&status) = world.statuses.get(&exchange) else {
            if waiting {
                assert!(
                    keys.is_empty() && delivered == 0,
                    "{exchange:?} delivered messages before the store answered"
                );
            } else {
                world.inbound.remove(&exchange);
            }
            return;
        };
        let inbound = world
            .inbound
            .remove(&exchange)
            .unwrap_or(Inbound::Exactly(0));
        if status >= 400 {
            assert!(
                delivered == 0 && keys.is_empty(),
                "a POST refused with {status} delivered {delivered} messages and {} requests",
                keys.len()
            );
        } else if relayed {
            assert!(
                delivered == 0 && keys.is_empty(),
                "a relayed POST delivered messages where it landed"
            );
        } else if status == 202 {
            match inbound {
                Inbound::Exactly(n) => assert_eq!(delivered, n, "a POST accepted with 202"),
                Inbound::AtMost(n) => assert!(delivered <= n, "a POST accepted with 202"),
                Inbound::Unknown => {}
            }
        }
        if let Some(fleet) = &world.fleet
            && world.store_refused.contains(&exchange)
            && !world.step.failed
        {
            // Refused at once: only when `max_waiting` wait already.
            let (all, _) = fleet.waiting(exchange.0);
            assert!(
                all >= fleet.max_waiting,
                "{exchange:?} refused for the store while {all} wait, under max_waiting {}",
                fleet.max_waiting
            );
        }
    }

    /// An application reply, tagged: an error when `code` is given.
    fn reply(&mut self, key: Key, code: Option<i64>) {
        if !self.world.alive(key.0) {
            return;
        }
        let world = &mut self.world;
        let tag = world.tag();
        let result = RawValue::from_string(format!(r##"{{"ok":"#T{tag}#"}}"##)).expect("JSON");
        let error = code.map(|code| ErrorObject::new(code, format!("#T{tag}#")));
        let outcome = error.as_ref().map_or(Ok(&*result), Err);
        world.step.replying = Some((key, tag));
        // A key may be answered, cancelled or gone: the server says so, it never panics.
        let replied = self.servers[key.0].reply(self.now, key.1, outcome);
        if trace() {
            eprintln!("reply #T{tag}# to {key:?}: {replied:?}");
        }
        if replied.is_ok() {
            world.settled.insert(key);
            world.owed.push(Owed {
                tag,
                node: key.0,
                session: None,
                key: Some(key),
            });
        }
        self.drain(key.0);
        self.world.step.replying = None;
    }

    /// An application send built from the input, tagged: to a request, or to a session from
    /// instance `node`.
    fn send(&mut self, node: usize, input: &mut Choices<'_>) {
        let world = &mut self.world;
        let tag = world.tag();
        let kind = input.below(3);
        let (target, at, session, key) = match input.below(2) {
            0 => {
                let key = input.pick(&world.keys).copied();
                let at = key.map_or(node, |k| k.0);
                (key.map(|k| Target::Request(k.1)), at, None, key)
            }
            _ => {
                let session = input.pick(&world.sessions).cloned();
                let target = session.as_deref().and_then(SessionId::parse);
                (target.map(Target::Session), node, session, None)
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
        let Some(target) = target.filter(|_| self.world.alive(at)) else {
            return;
        };
        let sent = self.servers[at].send(self.now, target.clone(), Bytes::from(message));
        if trace() {
            eprintln!("send #T{tag}# on {at} to {target:?}: {sent:?}");
        }
        if sent.is_ok() {
            let node = at;
            self.world.owed.push(Owed {
                tag,
                node,
                session,
                key,
            });
        }
    }

    /// Instance `node`'s process is gone: nothing reaches it any more, its clients' connections
    /// are lost, and the store hands its streams to whoever recovers them.
    fn die(&mut self, node: usize) {
        if trace() {
            eprintln!("instance {node} dies");
        }
        let world = &mut self.world;
        world.fleet().store.dead.insert(node);
        world.reached.insert("instance died".into());
        let mut exchanges: Vec<Ex> = world
            .heads
            .keys()
            .filter(|e| e.0 == node)
            .copied()
            .collect();
        exchanges.sort();
        for exchange in exchanges {
            world.heads.remove(&exchange);
            world.streams.remove(&exchange);
            world.unconsumed.remove(&exchange);
            world.lose_exchange(exchange);
        }
    }

    /// Drains every output of instance `node` into the world; returns how many there were.
    fn drain(&mut self, node: usize) -> usize {
        let mut outputs = 0;
        while let Some(output) = self.servers[node].poll_output() {
            outputs += 1;
            self.world.apply(node, output);
        }
        let world = &mut self.world;
        world.sessions.retain(|s| !world.dead.contains(s));
        world.sessions.dedup();
        world.event_ids.truncate(64);
        outputs
    }

    fn drain_all(&mut self) {
        for node in 0..self.servers.len() {
            self.drain(node);
        }
    }

    /// The invariants that hold after every step.
    fn check(&mut self) {
        let world = &mut self.world;
        for (node, server) in self.servers.iter().enumerate() {
            let count = server.session_count();
            if count > self.cap
                && let Some(fleet) = &world.fleet
                && fleet.tolerates(Gap::RestoreOverCap, &mut world.reached)
            {
                // `make_room` ends one session for one: a table once overfull stays so.
                let restored = fleet.restored.get(&node).copied().unwrap_or(0);
                assert!(
                    count <= self.cap + restored,
                    "sessions over the cap on instance {node}, besides restored ones"
                );
                continue;
            }
            assert!(
                count <= self.cap,
                "sessions over the cap on instance {node}"
            );
        }
        for (&exchange, &ours) in &world.unconsumed {
            let theirs = self.servers[exchange.0].unconsumed(exchange.1);
            if let Some(theirs) = theirs {
                assert_eq!(
                    theirs, ours,
                    "the server's count of uncredited bytes on {exchange:?}"
                );
            }
            assert!(
                ours <= self.bound + world.largest_frame,
                "{ours} bytes handed out on {exchange:?}, over the bound {} plus one frame",
                self.bound
            );
        }
        let Some(fleet) = &world.fleet else {
            return;
        };
        for (node, server) in self.servers.iter().enumerate() {
            let (all, requests) = fleet.waiting(node);
            let theirs = server.members.as_ref().expect("a member").waiting();
            assert_eq!(
                theirs, all,
                "tickets out on instance {node}: the server's count, and the script's"
            );
            assert!(
                requests <= fleet.max_waiting,
                "{requests} requests wait for the store on instance {node}, over max_waiting {}",
                fleet.max_waiting
            );
        }
    }

    /// Every request is answered and every client reads all it was given: each accepted message
    /// has been seen, unless its connection was lost. Then every client leaves and time runs
    /// out: nothing is left behind. The store answers and delivers what it holds first.
    fn finish(mut self) -> BTreeSet<String> {
        let mut replied = 0;
        loop {
            self.settle();
            let keys = self.world.keys[replied..].to_vec();
            if keys.is_empty() {
                break;
            }
            replied += keys.len();
            for key in keys {
                self.reply(key, None);
            }
        }
        self.drain_all();
        while self.world.unconsumed.values().any(|&n| n > 0) {
            for (&exchange, owed) in &mut self.world.unconsumed {
                let bytes = std::mem::take(owed);
                self.servers[exchange.0].handle_consumed(self.now, exchange.1, bytes);
            }
            self.drain_all();
            self.settle();
        }
        let world = &self.world;
        for owed in &world.owed {
            assert!(
                world.seen.contains_key(&owed.tag) || world.excused(owed),
                "message #T{}# was accepted and never delivered (session {:?}, request {:?})",
                owed.tag,
                owed.session,
                owed.key
            );
        }
        if let Some(fleet) = &world.fleet {
            for (&(node, ticket), t) in &fleet.tickets {
                let exchange = match &t.purpose {
                    Purpose::Lookup(e) | Purpose::Relay(e) => Some(*e),
                    Purpose::Save(e, session) => {
                        e.filter(|_| !world.lost_sessions.contains(&(node, session.clone())))
                    }
                    Purpose::Record => None,
                    Purpose::Delete(e) | Purpose::Recover(e) => *e,
                    // Still open, its timer runs on (and is checked gone at the end).
                    Purpose::Resume(e, _) => Some(*e).filter(|_| t.state != TicketState::Open),
                };
                if let Some(exchange) = exchange
                    && !world.lost_exchanges.contains(&exchange)
                {
                    assert!(
                        world.statuses.contains_key(&exchange),
                        "{exchange:?} waited for the store ({ticket:?}) and got no answer"
                    );
                }
            }
        }

        let mut exchanges: Vec<_> = self.world.heads.keys().copied().collect();
        exchanges.sort();
        for exchange in exchanges {
            self.servers[exchange.0].handle_disconnect(self.now, exchange.1);
        }
        self.world.unconsumed.clear();
        for _ in 0..8 {
            self.now += Duration::from_secs(600);
            let alive: Vec<usize> = (0..self.servers.len())
                .filter(|&n| self.world.alive(n))
                .collect();
            for node in alive {
                self.servers[node].handle_timeout(self.now);
                self.drain(node);
            }
            self.settle();
        }
        let alive = self.servers.iter().enumerate();
        for (node, server) in alive.filter(|(n, _)| self.world.alive(*n)) {
            assert_eq!(server.exchange_count(), 0, "exchanges left on {node}");
            assert_eq!(server.stream_count(), 0, "streams left on {node}");
            assert_eq!(server.requests_in_flight(), 0, "requests left on {node}");
            assert_eq!(server.session_count(), 0, "sessions left on {node}");
            assert_eq!(server.replay_bytes(), 0, "replay bytes left on {node}");
            assert_eq!(server.timer_count(), 0, "timers left on {node}");
            if let Some(members) = &server.members {
                assert_eq!(members.waiting(), 0, "tickets left on {node}");
            }
        }
        if let Some(fleet) = &self.world.fleet {
            assert!(fleet.store.is_quiet(), "the store holds work after the end");
        }
        self.world.reached
    }
}

/// The store's side of a cluster script: operations performed, answers and notices delivered.
impl Run {
    /// A store op from the input: op numbers 12 to 22.
    fn store_op(&mut self, op: usize, input: &mut Choices<'_>) {
        let store = &self.world.fleet.as_ref().expect("a cluster").store;
        let pending = store.pending.len();
        let answers = store.answers.len();
        let notices = store.notices.len();
        match op {
            12 | 13 if pending > 0 => self.perform(0, true),
            14 if pending > 0 => {
                // Any operation, as a task per operation would; within one session, in order
                // unless that gap is strict.
                let world = &mut self.world;
                let fleet = world.fleet.as_ref().expect("a cluster");
                let mut firsts = HashSet::new();
                let in_order: Vec<usize> = (0..pending)
                    .filter(|&i| {
                        session_of(&fleet.store.pending[i].1).is_none_or(|s| firsts.insert(s))
                    })
                    .collect();
                let any = in_order.len() == pending
                    || !fleet.tolerates(Gap::SessionOpsReordered, &mut world.reached);
                let i = match any {
                    true => input.below(pending),
                    false => in_order[input.below(in_order.len())],
                };
                self.perform(i, false);
            }
            15 if answers > 0 => self.deliver_answer(0),
            16 if answers > 0 => {
                let i = input.below(answers);
                self.deliver_answer(i);
            }
            17 => {
                let ticketed: Vec<usize> = (0..pending)
                    .filter(|&i| store.pending[i].1.ticket().is_some())
                    .collect();
                if let Some(&i) = input.pick(&ticketed) {
                    let fleet = self.world.fleet();
                    let (node, op) = fleet.store.pending.remove(i);
                    let ticket = op.ticket().expect("picked for its ticket");
                    self.world.reached.insert("store failed".into());
                    self.answer(node, ticket, Answer::Failed);
                }
            }
            18 | 19 if notices > 0 => self.deliver_notice(0),
            20 if notices > 0 => {
                let i = input.below(notices);
                match input.below(3) {
                    0 => self.drop_notice(i),
                    _ => self.deliver_notice(i),
                }
            }
            21 => self.answer_again(input),
            22 => self.settle(),
            _ => {}
        }
    }

    /// The store performs its `index`th pending operation; the answer is delivered at once or
    /// queued.
    fn perform(&mut self, index: usize, at_once: bool) {
        let now = self.now;
        let world = &mut self.world;
        let fleet = world.fleet.as_mut().expect("a cluster");
        let (from, op) = fleet.store.pending.remove(index);
        if trace() {
            eprintln!("store performs for {from}: {op:?}");
        }
        let done = fleet.store.perform(now, from, op);
        if let Some((holder, message)) = done.delivered {
            for tag in tags(&message) {
                match holder {
                    Some(holder) => {
                        let owed = world.owed.iter_mut().filter(|o| o.tag == tag);
                        owed.for_each(|o| o.node = holder);
                    }
                    None => {
                        fleet.tolerates(Gap::DeliverUnconfirmed, &mut world.reached);
                        fleet.unheld.insert(tag);
                    }
                }
            }
        }
        if let Some((ticket, answer)) = done.answer {
            match at_once {
                true => self.answer(from, ticket, answer),
                false => self
                    .world
                    .fleet()
                    .store
                    .answers
                    .push((from, ticket, answer)),
            }
        }
    }

    fn deliver_answer(&mut self, index: usize) {
        let (node, ticket, answer) = self.world.fleet().store.answers.remove(index);
        self.world.reached.insert("answer late".into());
        self.answer(node, ticket, answer);
    }

    /// An answer again: to a ticket answered already (or forgotten), or to one never issued.
    fn answer_again(&mut self, input: &mut Choices<'_>) {
        let nodes = self.servers.len();
        let fleet = self.world.fleet.as_ref().expect("a cluster");
        let (node, ticket) = match input.pick(&fleet.answered) {
            Some(&answered) if input.below(4) != 0 => answered,
            _ => (input.below(nodes), Ticket(u64::MAX - input.below(4) as u64)),
        };
        let session = input.pick(&self.world.sessions);
        let answer = match input.below(6) {
            0 => Answer::Done,
            1 => Answer::Found(None),
            2 => Answer::Found(session.and_then(|s| fleet.store.record(self.now, s))),
            3 => Answer::Relayed(true),
            4 => Answer::Relayed(false),
            _ => Answer::Failed,
        };
        self.world.reached.insert("answer again".into());
        self.answer(node, ticket, answer);
    }

    /// Instance `node` gets the store's `answer` to `ticket`. Only an open ticket's answer does
    /// anything; a request that waited for it is routed now.
    fn answer(&mut self, node: usize, ticket: Ticket, answer: Answer) {
        if !self.world.alive(node) {
            self.world.reached.insert("answer to the dead".into());
            return;
        }
        let fleet = self.world.fleet();
        let (purpose, state) = match fleet.tickets.get_mut(&(node, ticket)) {
            Some(t) => {
                let state = t.state;
                if state != TicketState::Answered {
                    t.state = TicketState::Answered;
                    fleet.answered.push((node, ticket));
                }
                (Some(t.purpose.clone()), state)
            }
            None => (None, TicketState::Answered),
        };
        let routed = match (&purpose, state) {
            (Some(Purpose::Lookup(e) | Purpose::Relay(e)), TicketState::Open) => Some(*e),
            _ => None,
        };
        // An `initialize` answer held for this ticket may go out now.
        fleet.unsaved.remove(&(node, ticket));
        let took = matches!(answer, Answer::Relayed(true));
        if trace() {
            eprintln!("answer to {node}: {ticket:?} {answer:?} ({state:?} {purpose:?})");
        }
        self.world.step = Step {
            routing: routed,
            failed: matches!(answer, Answer::Failed),
            ..Step::default()
        };
        self.servers[node].handle_shared(self.now, ticket, answer);
        let outputs = self.drain(node);
        if state != TicketState::Open {
            // Nothing waits for it: answered already, never issued, or its client left.
            assert_eq!(
                outputs, 0,
                "an answer to {ticket:?} of instance {node}, which nothing waits for \
                 ({state:?}, {purpose:?}), did something"
            );
            return;
        }
        let Some(exchange) = routed else {
            return;
        };
        self.after_routing(exchange);
        if let Some(Purpose::Relay(_)) = purpose {
            let status = self.world.statuses.get(&exchange).copied();
            assert!(
                status.is_some(),
                "a relayed POST got no answer with its ticket's"
            );
            assert_eq!(
                status == Some(202),
                took,
                "a relayed POST is answered 202 exactly when an instance took it ({status:?})"
            );
        }
    }

    /// The `index`th notice in flight reaches its instance.
    fn deliver_notice(&mut self, index: usize) {
        let to = self.world.fleet().store.notices[index].to;
        if !self.world.alive(to) {
            return self.drop_notice(index);
        }
        let InFlight { to, bytes, relay } = self.world.fleet().store.notices.remove(index);
        let notice = Notice::decode(&bytes).expect("a notice decodes as it was encoded");
        if trace() {
            eprintln!("notice to {to}: {notice:?}");
        }
        self.world
            .reached
            .insert(format!("notice {}", notice_name(&notice)));
        let (ended, relayed) = match &notice {
            Notice::SessionEnded { session, .. } => (Some(session.to_string()), None),
            Notice::Relayed { session, .. } => (None, Some(session.to_string())),
            _ => (None, None),
        };
        let delivering = match &notice {
            Notice::Deliver { message, .. } => tags(message),
            _ => Vec::new(),
        };
        if let Notice::ResumeAnswered { ticket, .. } = &notice
            && let Some(t) = self.world.fleet().tickets.get_mut(&(to, *ticket))
            && matches!(t.purpose, Purpose::Resume(..))
            && t.state == TicketState::Open
        {
            // The resume it answers is settled (unless its timer settled it already).
            t.state = TicketState::Answered;
            self.world.fleet().answered.push((to, *ticket));
        }
        let before = self.queued_on(to);
        // The stream that tells a relayed request's client it failed, and what it holds now.
        let stream = relayed.as_ref().and_then(|s| self.stream_of(to, s));
        let queued = stream.and_then(|e| self.servers[to].queued_bytes(e.1));
        self.world.step = Step::default();
        self.servers[to].handle_notice(self.now, notice);
        self.drain(to);
        if let Some(session) = ended {
            assert!(
                !self.servers[to].has_session(&session),
                "instance {to} still has session {session} after hearing it ended"
            );
            self.world.fleet().informed.insert((to, session));
        }
        if !delivering.is_empty() && self.queued_on(to) == before {
            // The holder had no stream for it (any more), or a full one.
            let fleet = self.world.fleet.as_mut().expect("a cluster");
            fleet.tolerates(Gap::DeliverUnconfirmed, &mut self.world.reached);
            fleet.unheld.extend(delivering);
        }
        if let Some(session) = relayed {
            let relay = relay.expect("a relayed message comes from a relay");
            let told = stream.is_some_and(|e| self.servers[to].queued_bytes(e.1) > queued);
            let full = queued.is_some_and(|q| q >= self.bound);
            self.check_relayed(to, relay, &session, told, full);
        }
    }

    /// The store loses the `index`th notice in flight (a bus that drops messages): what it
    /// carried for a client is excused.
    fn drop_notice(&mut self, index: usize) {
        let fleet = self.world.fleet();
        let InFlight { bytes, .. } = fleet.store.notices.remove(index);
        if trace() {
            eprintln!("notice dropped: {}", String::from_utf8_lossy(&bytes));
        }
        // What it carried for a client: a message, or frames of a stream carried elsewhere.
        match Notice::decode(&bytes) {
            Some(Notice::Deliver { message, .. }) => fleet.dropped.extend(tags(&message)),
            Some(
                Notice::Frames { frames, .. }
                | Notice::ResumeAnswered {
                    handover: Ok(crate::Handover { frames, .. }),
                    ..
                },
            ) => {
                for frame in frames {
                    fleet.dropped.extend(tags(&frame));
                }
            }
            _ => {}
        }
        self.world.reached.insert("notice dropped".into());
    }

    /// A message relayed to instance `to`, which holds its session's stream, was accepted with
    /// `202` where it landed: it reaches the application once, or for a request the instance
    /// cannot take, the client is `told` on the stream; unless the stream is gone (S1.9).
    fn check_relayed(
        &mut self,
        to: usize,
        relay: (usize, Ticket),
        session: &str,
        told: bool,
        full: bool,
    ) {
        let world = &mut self.world;
        let fleet = world.fleet.as_ref().expect("a cluster");
        let relaying = fleet.relays.get(&relay).expect("every relay is known");
        let (keys, others) = (world.step.keys.len(), world.step.inbound);
        let gone = world.lost_sessions.contains(&(to, session.to_owned()));
        match &relaying.request {
            Some(id) => {
                assert!(keys <= 1, "a relayed request delivered {keys} times");
                if keys == 0
                    && !told
                    && full
                    && fleet.tolerates(Gap::RelayRefusalLost, &mut world.reached)
                {
                    return;
                }
                assert!(
                    keys == 1 || told || gone,
                    "a relayed request (id {id}) that instance {to} took neither reached its \
                     application nor was refused on the stream of session {session}"
                );
            }
            None => match relaying.inbound {
                Inbound::Exactly(n) => assert!(
                    others == n || gone,
                    "a relayed message delivered {others} times, not {n}"
                ),
                Inbound::AtMost(n) => {
                    assert!(others <= n, "a relayed message delivered {others} times")
                }
                Inbound::Unknown => {}
            },
        }
    }

    /// Bytes written and not read on the open streams of instance `node`.
    fn queued_on(&self, node: usize) -> usize {
        let streams = self.world.streams.keys().filter(|e| e.0 == node);
        let server = &self.servers[node];
        streams.filter_map(|e| server.queued_bytes(e.1)).sum()
    }

    /// The open stream of `session` on instance `node`, if any.
    fn stream_of(&self, node: usize, session: &str) -> Option<Ex> {
        let world = &self.world;
        let mut streams: Vec<Ex> = world
            .streams
            .keys()
            .filter(|e| e.0 == node && world.exchange_session.get(e).is_some_and(|s| s == session))
            .copied()
            .collect();
        streams.sort();
        streams.first().copied()
    }

    /// The store performs everything, answers at once and delivers every notice, until there
    /// is nothing left.
    fn settle(&mut self) {
        if self.world.fleet.is_none() {
            return;
        }
        for _ in 0..100_000 {
            let store = &self.world.fleet().store;
            if !store.pending.is_empty() {
                self.perform(0, true);
            } else if !store.answers.is_empty() {
                self.deliver_answer(0);
            } else if !store.notices.is_empty() {
                self.deliver_notice(0);
            } else {
                return;
            }
        }
        panic!("the store's traffic never settles");
    }
}

/// The session an operation is about.
fn session_of(op: &Shared) -> Option<&SessionId> {
    match op {
        Shared::SaveSession { record, .. } => Some(&record.session),
        Shared::LoadSession { session, .. }
        | Shared::TouchSession { session, .. }
        | Shared::EndSession { session, .. }
        | Shared::Hold { session }
        | Shared::Release { session }
        | Shared::Relay { session, .. }
        | Shared::Deliver { session, .. }
        | Shared::TakeStream { session, .. } => Some(session),
        Shared::Publish(_)
        | Shared::Unclaimed { .. }
        | Shared::ToNode { .. }
        | Shared::Append { .. }
        | Shared::StreamOpened { .. }
        | Shared::Recover { .. } => None,
    }
}

fn notice_name(notice: &Notice) -> &'static str {
    match notice {
        Notice::SessionEnded { .. } => "ended",
        Notice::Relayed { .. } => "relayed",
        Notice::Deliver { .. } => "deliver",
        Notice::Published(_) => "published",
        Notice::Response { .. } => "response",
        Notice::StreamTaken { .. } => "taken",
        Notice::ResumeAsked { .. } => "resume asked",
        Notice::ResumeAnswered { .. } => "resume answered",
        Notice::Frames { .. } => "frames",
        Notice::StreamMoved { .. } => "moved",
        Notice::StreamLost { .. } => "lost",
    }
}

fn shared_name(op: &Shared) -> &'static str {
    match op {
        Shared::SaveSession { .. } => "save",
        Shared::LoadSession { .. } => "load",
        Shared::TouchSession { .. } => "touch",
        Shared::EndSession { .. } => "end",
        Shared::Hold { .. } => "hold",
        Shared::Release { .. } => "release",
        Shared::Relay { .. } => "relay",
        Shared::Deliver { .. } => "deliver",
        Shared::Publish(_) => "publish",
        Shared::Unclaimed { .. } => "unclaimed",
        Shared::TakeStream { .. } => "take stream",
        Shared::ToNode { .. } => "to node",
        Shared::Append { .. } => "append",
        Shared::StreamOpened { .. } => "stream opened",
        Shared::Recover { .. } => "recover",
    }
}

/// A request built from the input, and what the script expects of it.
struct Built {
    head: http::request::Parts,
    body: Bytes,
    /// The session it names, if its answer depends on it.
    judged: Option<String>,
    /// Whether that session had ended for the instance it goes to.
    was_dead: bool,
    /// The `Last-Event-ID` it resumes after.
    resumes: Option<String>,
    /// What its body carries for the application.
    inbound: Inbound,
}

/// Builds one request from the input, for instance `node`.
fn build_request(world: &mut World, node: usize, input: &mut Choices<'_>) -> Built {
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
    let was_dead = named.as_ref().is_some_and(|s| world.gone_for(node, s));
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
    let mut resumes = None;
    if input.below(4) == 0 {
        let last = match input.pick(&world.event_ids) {
            Some(id) if input.below(4) != 0 => id.clone(),
            _ => "0-1-2".to_owned(),
        };
        builder = builder.header("last-event-id", last.as_str());
        resumes = Some(last);
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
    if trace() {
        eprintln!(
            "to {node}: {} {} {:?} {:?} dead={was_dead}",
            head.method, head.uri, head.headers, body
        );
    }
    // A DELETE ends its own session and is answered 200; a 2026-07-28 request ignores the
    // header (S3.35); a GET on the SSE endpoint opens a new session whatever it names.
    let judged = !modern && path != "/sse" && method != "OPTIONS";
    let inbound = if method == "POST" {
        inbound
    } else {
        Inbound::Exactly(0)
    };
    Built {
        head,
        body,
        judged: named.filter(|_| judged),
        was_dead,
        resumes,
        inbound,
    }
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

impl World {
    /// Applies one output of instance `node`, checking the per-exchange order of outputs.
    fn apply(&mut self, node: usize, output: Output) {
        if trace_level() == 2 {
            let text = format!("{output:?}");
            eprintln!("  {node} -> {}", text.chars().take(300).collect::<String>());
        }
        match output {
            Output::Respond { exchange, response } => {
                let exchange = (node, exchange);
                let status = response.status();
                self.reached.insert(format!("respond {status}"));
                self.head(exchange, status.as_u16());
                self.heads.remove(&exchange);
                let store = Unavailable::StoreUnavailable.message().as_bytes();
                if status == 503 && response.body().windows(store.len()).any(|w| w == store) {
                    self.reached.insert("refused for the store".into());
                    self.store_refused.insert(exchange);
                }
                note_session(self, exchange, response.headers());
                self.see(response.body(), exchange);
            }
            Output::StartStream { exchange, head } => {
                let exchange = (node, exchange);
                self.reached.insert(format!("stream {}", head.status()));
                self.head(exchange, head.status().as_u16());
                self.heads.insert(exchange, true);
                self.streams.insert(exchange, Decoder::new());
                self.unconsumed.insert(exchange, 0);
                note_session(self, exchange, head.headers());
            }
            Output::Data { exchange, chunk } => {
                let exchange = (node, exchange);
                let bytes = chunk.into_bytes();
                self.see_event_ids(&bytes, exchange);
                let decoder = self
                    .streams
                    .get_mut(&exchange)
                    .expect("data only on an open stream");
                self.largest_frame = self.largest_frame.max(bytes.len());
                *self.unconsumed.get_mut(&exchange).expect("open") += bytes.len();
                let items = decoder.feed(&bytes);
                if !decoder.last_event_id().is_empty() {
                    self.event_ids.push(decoder.last_event_id().to_owned());
                }
                for item in items {
                    let Item::Event(event) = item else {
                        self.reached.insert("comment".into());
                        continue;
                    };
                    self.reached.insert(format!("event {}", event.event_type));
                    self.see(event.data.as_bytes(), exchange);
                    if event.event_type == "endpoint"
                        && let Some(session) = event.data.split("sessionId=").nth(1)
                    {
                        self.sessions.push(session.to_owned());
                        self.exchange_session.insert(exchange, session.to_owned());
                    }
                }
            }
            Output::Finish { exchange } => {
                let exchange = (node, exchange);
                self.reached.insert("finish".into());
                assert!(
                    self.streams.remove(&exchange).is_some(),
                    "finish ends an open stream"
                );
                self.unconsumed.remove(&exchange);
                self.heads.remove(&exchange);
            }
            Output::Abort { exchange } => {
                let exchange = (node, exchange);
                self.reached.insert("abort".into());
                assert!(
                    self.streams.remove(&exchange).is_some(),
                    "abort ends an open stream"
                );
                let pending = self.unconsumed.remove(&exchange).unwrap_or(0);
                assert!(
                    pending > 0,
                    "an aborted stream had bytes its client did not read"
                );
                self.heads.remove(&exchange);
                self.lose_exchange(exchange);
            }
            Output::Event(Event::Request {
                key,
                session,
                transport,
                head,
                redelivered,
                ..
            }) => {
                let key = (node, key);
                // Only the session's own principal reaches the application under it (S4.6).
                if self.auth {
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
                            self.owners.get(session.as_str()),
                            Some(&subject),
                            "a request of session {session} under another principal"
                        );
                    }
                }
                self.reached.insert(format!("request {transport:?}"));
                if redelivered {
                    self.reached.insert("request redelivered".into());
                }
                assert!(self.delivered.insert(key), "{key:?} delivered twice");
                self.keys.push(key);
                self.step.keys.push(key);
                if let Some(session) = session {
                    self.key_session.insert(key, session.to_string());
                }
            }
            Output::Event(Event::Cancelled { key, .. }) => {
                self.settled.insert((node, key));
                self.step.inbound += 1;
            }
            Output::Event(Event::Notification { session, head, .. }) => {
                if self.auth
                    && let Some(session) = &session
                {
                    let subject = head
                        .extensions
                        .get::<Principal>()
                        .map(|p| p.subject.clone());
                    assert_eq!(
                        self.owners.get(session.as_str()),
                        Some(&subject),
                        "a notification of session {session} under another principal"
                    );
                }
                self.step.inbound += 1
            }
            Output::Event(Event::Response { .. }) => self.step.inbound += 1,
            Output::Event(Event::SessionClosed { session, reason }) => {
                self.reached.insert(format!("closed {reason:?}"));
                let session = session.to_string();
                if reason == CloseReason::Evicted {
                    self.check_evictable(node, &session);
                }
                self.lost_sessions.insert((node, session.clone()));
                // In a cluster a session ends for good only as the store says (`Shared`).
                let ended = match self.fleet {
                    Some(_) => !self.ended.contains(&session),
                    None => self.dead.insert(session.clone()),
                };
                if ended {
                    self.ended.push(session);
                }
            }
            Output::Event(Event::SessionOpened { session, transport }) => {
                let routing = self.step.routing.expect("a request opens a session");
                let owner = self.subjects.get(&routing).cloned().flatten();
                self.owners.insert(session.to_string(), owner);
                if let Some(fleet) = &mut self.fleet {
                    fleet.transports.insert(session.to_string(), transport);
                }
            }
            Output::Event(Event::SessionRestored {
                session, transport, ..
            }) => {
                if self.gone_for(node, session.as_str()) {
                    let fleet = self.fleet.as_mut().expect("a cluster");
                    let gap = match fleet.store.resurrected.contains(session.as_str()) {
                        true => Gap::SessionOpsReordered,
                        false => Gap::StaleLookupRestores,
                    };
                    fleet.zombies.insert((node, session.to_string()), gap);
                }
                let fleet = self
                    .fleet
                    .as_mut()
                    .expect("only an instance of a cluster restores a session");
                self.reached.insert("restored".into());
                *fleet.restored.entry(node).or_default() += 1;
                assert_eq!(
                    fleet.transports.get(session.as_str()),
                    Some(&transport),
                    "session {session} restored on instance {node} with another transport"
                );
            }
            Output::Event(Event::Published { .. }) => {}
            Output::Shared(op) => self.shared(node, op),
        }
    }

    /// A second head for an exchange is a bug; a request naming a session that had ended is
    /// never served (S2.40).
    fn head(&mut self, exchange: Ex, status: u16) {
        assert!(
            !self.statuses.contains_key(&exchange),
            "a second head for {exchange:?}"
        );
        self.statuses.insert(exchange, status);
        if let Some(session) = self.refuse.remove(&exchange) {
            if let Some(fleet) = &self.fleet
                && let Some(&gap) = fleet.zombies.get(&(exchange.0, session.clone()))
                && fleet.tolerates(gap, &mut self.reached)
            {
                return;
            }
            assert!(
                !matches!(status, 200 | 202),
                "a request naming the ended session {session} got {status}"
            );
        }
    }

    /// Only an idle session gives way: no connection, no request in flight, on its instance.
    /// (A request waiting for the store holds no session: it is routed again once answered.)
    fn check_evictable(&self, node: usize, session: &String) {
        let waiting = |exchange: &Ex| {
            self.fleet.as_ref().is_some_and(|f| {
                f.tickets.values().any(|t| {
                    t.state == TicketState::Open
                        && matches!(t.purpose, Purpose::Lookup(e) | Purpose::Relay(e) if e == *exchange)
                })
            })
        };
        let connected = self.heads.keys().any(|exchange| {
            exchange.0 == node
                && self.exchange_session.get(exchange) == Some(session)
                && !self.lost_exchanges.contains(exchange)
                && !waiting(exchange)
        });
        // A request whose connection was lost may have been dropped with it.
        let in_flight = self.keys.iter().any(|key| {
            let lost = self
                .key_exchange
                .get(key)
                .is_some_and(|e| self.lost_exchanges.contains(e));
            key.0 == node
                && self.key_session.get(key) == Some(session)
                && !self.settled.contains(key)
                && !lost
        });
        assert!(!connected, "evicted session {session} had a connection");
        assert!(
            !in_flight,
            "evicted session {session} had a request in flight"
        );
    }

    /// Instance `node` asks the store for `op`: it waits in the store's queue, and a ticket
    /// is noted with what waits for it.
    fn shared(&mut self, node: usize, op: Shared) {
        let routing = self.step.routing;
        let replying = self.step.replying;
        let initialize = replying.and_then(|(key, _)| self.key_exchange.get(&key).copied());
        let inbound = routing.and_then(|e| self.inbound.get(&e).copied());
        let fleet = self
            .fleet
            .as_mut()
            .expect("only an instance of a cluster shares state");
        self.reached.insert(format!("shared {}", shared_name(&op)));
        match &op {
            Shared::SaveSession { ticket, record, .. } => {
                let purpose = match record.transport {
                    Transport::HttpSse => Purpose::Record,
                    _ => Purpose::Save(initialize, record.session.to_string()),
                };
                if let (Purpose::Save(..), Some((_, tag))) = (&purpose, replying) {
                    fleet.unsaved.insert((node, *ticket), tag);
                }
                fleet.issue(node, *ticket, purpose);
            }
            Shared::LoadSession { ticket, .. } => {
                let exchange = routing.expect("a lookup is for a request being routed");
                fleet.issue(node, *ticket, Purpose::Lookup(exchange));
            }
            Shared::Relay {
                ticket, message, ..
            } => {
                let exchange = routing.expect("a relay is for a request being routed");
                fleet.issue(node, *ticket, Purpose::Relay(exchange));
                let relaying = Relaying {
                    inbound: inbound.unwrap_or(Inbound::Unknown),
                    request: request_id(message),
                };
                fleet.relays.insert((node, *ticket), relaying);
            }
            Shared::EndSession {
                ticket,
                session,
                reason,
            } => {
                if let Some(ticket) = ticket {
                    fleet.issue(node, *ticket, Purpose::Delete(routing));
                }
                assert!(
                    matches!(
                        reason,
                        CloseReason::Deleted
                            | CloseReason::Closed
                            | CloseReason::ClientGone
                            | CloseReason::TokenExpired
                    ),
                    "session {session} ended everywhere for a reason of one instance: {reason:?}"
                );
                self.dead.insert(session.to_string());
                fleet.informed.insert((node, session.to_string()));
            }
            Shared::ToNode {
                notice: Notice::ResumeAsked { ticket, stream, .. },
                ..
            } => {
                let exchange = routing.expect("a resume is for a GET being routed");
                fleet.issue(node, *ticket, Purpose::Resume(exchange, stream.as_u64()));
            }
            Shared::Recover { ticket, stream } => {
                // The resume whose timer fired: the oldest still waiting for this stream.
                let resume = fleet
                    .tickets
                    .iter()
                    .filter(|((n, _), t)| {
                        *n == node
                            && t.state == TicketState::Open
                            && matches!(t.purpose, Purpose::Resume(_, s) if s == stream.as_u64())
                    })
                    .map(|(&(_, ticket), _)| ticket)
                    .min();
                let exchange = resume.and_then(|resume| {
                    let t = fleet.tickets.get_mut(&(node, resume)).expect("found");
                    t.state = TicketState::Answered;
                    fleet.answered.push((node, resume));
                    match t.purpose {
                        Purpose::Resume(exchange, _) => Some(exchange),
                        _ => None,
                    }
                });
                assert!(
                    exchange.is_some(),
                    "{node} recovers {stream} it did not try to resume"
                );
                fleet.issue(node, *ticket, Purpose::Recover(exchange));
            }
            _ => {}
        }
        fleet.store.pending.push((node, op));
    }
}

fn note_session(world: &mut World, exchange: Ex, headers: &http::HeaderMap) {
    let Some(session) = headers.get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
        return;
    };
    world.exchange_session.insert(exchange, session.to_owned());
    if !world.dead.contains(session) && !world.sessions.iter().any(|s| s == session) {
        world.sessions.push(session.to_owned());
    }
}
