//! The driver alone, on a fake runtime: a manual clock and tasks polled by hand, with an
//! application whose handlers the tests open and close.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_channel::oneshot;
use http::Response;
use mcp_sse_core::sse::{Decoder, Item};
use mcp_sse_core::{
    Answer, Cluster, Config, Notice, ResponseMode, Server, SessionId, SessionRecord, Shared,
    Target, Ticket,
};
use serde_json::{Value, json};

use super::{App, Driver, IncomingNotification, IncomingRequest, Payload, Reply};
use crate::runtime::BoxFuture;
use crate::store::{SharedStore, StoreFuture};
use crate::testing::FakeRuntime;

/// Handlers by method: `echo` and `initialize` answer at once (with their params, or their id), `wait` when its gate (by id) opens, `panic`
/// panics at once and `panic_later` once its gate opens, `cancel_first` has the client cancel
/// it before it is first polled.
#[derive(Clone, Default)]
struct TestApp(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    gates: HashMap<u64, oneshot::Sender<()>>,
    /// Ids of requests whose handler was polled.
    ran: Vec<u64>,
    closed: Vec<SessionId>,
    restored: Vec<SessionId>,
}

impl TestApp {
    fn open(&self, id: u64) {
        let gate = self
            .0
            .lock()
            .unwrap()
            .gates
            .remove(&id)
            .expect("a waiting handler");
        gate.send(()).unwrap();
    }

    fn ran(&self) -> Vec<u64> {
        self.0.lock().unwrap().ran.clone()
    }

    fn closed(&self) -> Vec<SessionId> {
        self.0.lock().unwrap().closed.clone()
    }
}

impl App for TestApp {
    fn request(&self, driver: Driver, incoming: IncomingRequest, reply: Reply) -> BoxFuture {
        let id = match incoming.request.id {
            mcp_sse_core::jsonrpc::Id::Number(n) => n as u64,
            _ => panic!("numeric ids only"),
        };
        let (gate, opened) = oneshot::channel();
        self.0.lock().unwrap().gates.insert(id, gate);
        let method = incoming.request.method.clone();
        if method == "cancel_first" {
            // The client's cancellation arrives between the lock's release and the first poll.
            let session = incoming.session.clone().expect("a 2024-11-05 session");
            let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": id}});
            let (head, body) = post(&format!("/messages?sessionId={session}"), &[], &cancel);
            driver.handle_request(head, body, oneshot::channel().0);
        }
        let params = incoming.request.params.map(|p| p.get().to_owned());
        let seen = self.0.clone();
        Box::pin(async move {
            seen.lock().unwrap().ran.push(id);
            match method.as_str() {
                "echo" | "initialize" => {}
                "panic" => panic!("a handler panicked on purpose"),
                "panic_later" => {
                    let _ = opened.await;
                    panic!("a handler panicked on purpose");
                }
                _ => {
                    let _ = opened.await;
                }
            }
            let result = params.unwrap_or_else(|| json!({"id": id}).to_string());
            reply.send(Ok(serde_json::value::RawValue::from_string(result).unwrap()));
        })
    }

    fn notification(&self, _: Driver, _: IncomingNotification) -> BoxFuture {
        Box::pin(async {})
    }

    fn response(&self, _: Option<&SessionId>, _: mcp_sse_core::jsonrpc::Message) {}

    fn session_closed(&self, session: &SessionId) {
        self.0.lock().unwrap().closed.push(session.clone());
    }

    fn published(&self, _: Driver, _: &mcp_sse_core::Change) {}

    fn session_restored(
        &self,
        session: &SessionId,
        _: Option<mcp_sse_core::ProtocolVersion>,
        _: Option<&serde_json::value::RawValue>,
    ) {
        self.0.lock().unwrap().restored.push(session.clone());
    }
}

/// The driver is dropped first: its timer task is woken then, and must still be held by the
/// runtime (a task dropped inside its own wake-up would deadlock on the channel that woke it).
struct Harness {
    driver: Driver,
    app: TestApp,
    runtime: FakeRuntime,
}

impl Harness {
    fn new(config: Config) -> Self {
        let runtime = FakeRuntime::default();
        let app = TestApp::default();
        let driver = Driver::start(runtime.clone(), Server::new(config), app.clone(), None);
        runtime.run();
        Self {
            runtime,
            app,
            driver,
        }
    }

    /// Sends a request and runs what it started; the receiver has the response once it is ready.
    fn send(
        &self,
        (head, body): (http::request::Parts, Bytes),
    ) -> oneshot::Receiver<Response<Payload>> {
        let (respond, response) = oneshot::channel();
        self.driver.handle_request(head, body, respond);
        self.runtime.run();
        response
    }

    /// Opens a 2024-11-05 stream: its session, and the receiver its frames come through.
    fn open_legacy(&self) -> (SessionId, super::Frames) {
        let mut response = self.send(get("/sse"));
        let Some(Payload::Stream(mut frames)) =
            response.try_recv().unwrap().map(Response::into_body)
        else {
            panic!("a stream");
        };
        let endpoint = next_event(&mut frames);
        let session = endpoint.split("sessionId=").nth(1).unwrap();
        (SessionId::parse(session).expect("a session id"), frames)
    }

    /// Opens a Streamable HTTP session of `version`.
    fn initialize(&self, version: &str) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"}}});
        let mut answer = self.send(post("/mcp", &[], &init));
        let answer = answer.try_recv().unwrap().expect("answered at once");
        let session = answer.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        drop(self.send(post("/mcp", &[("mcp-session-id", &session)], &initialized)));
        session
    }

    /// Requests handed to the application and not answered yet.
    fn in_flight(&self) -> usize {
        self.driver.lock().server.requests_in_flight()
    }
}

fn post(uri: &str, headers: &[(&str, &str)], body: &Value) -> (http::request::Parts, Bytes) {
    let mut request = http::Request::post(uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (head, ()) = request.body(()).unwrap().into_parts();
    (head, Bytes::from(body.to_string()))
}

fn get(uri: &str) -> (http::request::Parts, Bytes) {
    let request = http::Request::get(uri)
        .header("host", "localhost")
        .header("accept", "text/event-stream");
    (request.body(()).unwrap().into_parts().0, Bytes::new())
}

fn call(id: u64, method: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method})
}

/// The JSON body of a complete response.
fn json_of(response: &mut oneshot::Receiver<Response<Payload>>) -> Value {
    match response.try_recv().unwrap().map(Response::into_body) {
        Some(Payload::Full(body)) => serde_json::from_slice(&body).unwrap(),
        other => panic!("a complete response, not {other:?}"),
    }
}

/// The data of the next event queued on a stream.
fn next_event(frames: &mut super::Frames) -> String {
    let mut decoder = Decoder::new();
    loop {
        let chunk = frames
            .receiver
            .try_recv()
            .expect("a frame")
            .expect("not aborted");
        for item in decoder.feed(&chunk.into_bytes()) {
            if let Item::Event(event) = item {
                return event.data;
            }
        }
    }
}

fn stateless_json() -> Config {
    let mut config = Config::default();
    config.stateless = true;
    config.response_mode = ResponseMode::Json;
    config
}

#[test]
fn an_answer_ready_at_once_needs_no_task() {
    let harness = Harness::new(stateless_json());
    let mut response = harness.send(post("/mcp", &[], &call(1, "echo")));
    assert_eq!(json_of(&mut response)["result"], json!({"id": 1}));
    assert_eq!(harness.runtime.live_tasks(), 1, "the timer task alone");
}

#[test]
fn a_waiting_handler_goes_on_in_a_task_of_its_own() {
    let harness = Harness::new(stateless_json());
    let mut response = harness.send(post("/mcp", &[], &call(1, "wait")));
    assert!(response.try_recv().unwrap().is_none(), "not answered yet");
    assert_eq!(harness.runtime.live_tasks(), 2);
    harness.app.open(1);
    harness.runtime.run();
    assert_eq!(json_of(&mut response)["result"], json!({"id": 1}));
    assert_eq!(harness.runtime.live_tasks(), 1);
}

#[test]
fn a_panicking_handler_answers_internal_error() {
    let harness = Harness::new(stateless_json());
    let mut at_once = harness.send(post("/mcp", &[], &call(1, "panic")));
    assert_eq!(json_of(&mut at_once)["error"]["code"], -32603);
    let mut later = harness.send(post("/mcp", &[], &call(2, "panic_later")));
    harness.app.open(2);
    harness.runtime.run();
    assert_eq!(json_of(&mut later)["error"]["code"], -32603);
    assert_eq!(harness.in_flight(), 0);
}

#[test]
fn a_request_cancelled_before_its_first_poll_never_runs() {
    let mut config = Config::default();
    config.max_requests_in_flight = 1;
    let harness = Harness::new(config);
    let (session, mut frames) = harness.open_legacy();
    let uri = format!("/messages?sessionId={session}");
    let mut accepted = harness.send(post(&uri, &[], &call(1, "cancel_first")));
    assert_eq!(accepted.try_recv().unwrap().unwrap().status(), 202);
    assert!(harness.app.ran().is_empty(), "the handler was never polled");
    assert_eq!(harness.in_flight(), 0, "its slot is free");
    assert_eq!(
        harness.runtime.live_tasks(),
        1,
        "no task was spawned for it"
    );
    assert!(
        frames.receiver.try_recv().is_err(),
        "nothing is sent for it"
    );
    // The session goes on.
    let mut accepted = harness.send(post(&uri, &[], &call(2, "echo")));
    assert_eq!(accepted.try_recv().unwrap().unwrap().status(), 202);
    assert!(next_event(&mut frames).contains(r#""id":2"#));
}

/// The timer task sleeps until the server's next deadline; an input wakes it only when it brings
/// an earlier one, and a deadline it sleeps for stays until it passes even when what set it is
/// over.
#[test]
fn the_timer_is_rearmed_only_for_an_earlier_deadline() {
    let mut config = Config::default();
    config.json_hold = Duration::from_secs(1);
    let harness = Harness::new(config);
    let runtime = &harness.runtime;
    let at = |secs: f64| runtime.start() + Duration::from_secs_f64(secs);
    assert!(runtime.sleeps().is_empty(), "nothing to wait for yet");

    // The request's hold is armed before its handler answers, and stays armed after.
    let session = harness.initialize("2025-11-25");
    let session = [("mcp-session-id", session.as_str())];
    assert_eq!(runtime.sleeps(), [at(1.0)]);
    // Once it passed, the timer sleeps until the next deadline: the session's expiry.
    runtime.advance(Duration::from_secs(1));
    let sleeps = runtime.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[1] >= at(60.0), "{sleeps:?}");

    let mut first = harness.send(post("/mcp", &session, &call(1, "wait")));
    assert_eq!(runtime.sleeps()[2..], [at(2.0)], "its hold is earlier");
    let polls = runtime.polls(0);
    runtime.advance(Duration::from_millis(500));
    let mut second = harness.send(post("/mcp", &session, &call(2, "wait")));
    harness.app.open(1);
    runtime.run();
    assert_eq!(json_of(&mut first)["result"], json!({"id": 1}));
    assert_eq!(
        runtime.polls(0),
        polls,
        "neither a later hold nor an answer wakes the timer"
    );
    assert_eq!(runtime.sleeps().len(), 3);

    runtime.advance(Duration::from_millis(500));
    assert_eq!(
        runtime.sleeps()[3..],
        [at(2.5)],
        "once its deadline passed, the timer sleeps until the next one"
    );
    assert!(second.try_recv().unwrap().is_none(), "still held");
    runtime.advance(Duration::from_millis(500));
    let stream = second.try_recv().unwrap().expect("the hold is over");
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(matches!(stream.body(), Payload::Stream(_)));
}

/// A stream whose caller went away during the hand-over ends, and its frames, dropped
/// unwrapped under the lock or later, never take the lock again.
#[test]
fn a_stream_dropped_during_the_hand_over_ends() {
    let harness = Harness::new(Config::default());
    // The caller is gone before the head is ready: the stream (a standalone stream of 2025-06-18,
    // which starts with no event to write) is over at once.
    let session = harness.initialize("2025-06-18");
    let (respond, response) = oneshot::channel();
    drop(response);
    let (mut head, body) = get("/mcp");
    head.headers
        .insert("mcp-session-id", session.parse().unwrap());
    head.headers
        .insert("mcp-protocol-version", "2025-06-18".parse().unwrap());
    harness.driver.handle_request(head, body, respond);
    assert_eq!(harness.driver.lock().server.exchange_count(), 0);

    // The head was handed over, then dropped with its frames: the next frame notices.
    let (session, frames) = harness.open_legacy();
    drop(frames);
    assert!(harness.app.closed().is_empty(), "not noticed yet");
    let uri = format!("/messages?sessionId={session}");
    drop(harness.send(post(&uri, &[], &call(1, "echo"))));
    assert_eq!(
        harness.app.closed(),
        [session],
        "the 2024-11-05 session ended with its stream"
    );
    assert_eq!(harness.driver.lock().server.exchange_count(), 0);
}

#[test]
fn the_timer_task_ends_with_the_last_holder() {
    let harness = Harness::new(Config::default());
    assert_eq!(harness.runtime.live_tasks(), 1);
    drop(harness.driver);
    harness.runtime.run();
    assert_eq!(harness.runtime.live_tasks(), 0);
}

/// The events of a whole SSE body, their data in order.
fn events_of(body: &[u8]) -> Vec<String> {
    Decoder::new()
        .feed(body)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event.data),
            _ => None,
        })
        .collect()
}

/// Request 1 of `method` in a 2025-11-25 session of a server answering with SSE streams.
fn sse_call(method: &str) -> (Harness, oneshot::Receiver<Response<Payload>>) {
    let mut config = Config::default();
    config.response_mode = ResponseMode::Sse;
    let harness = Harness::new(config);
    let session = harness.initialize("2025-11-25");
    let headers = [("mcp-session-id", session.as_str())];
    let response = harness.send(post("/mcp", &headers, &call(1, method)));
    (harness, response)
}

#[test]
fn an_sse_answer_ready_at_once_is_one_whole_body() {
    let (harness, mut response) = sse_call("echo");
    let response = response.try_recv().unwrap().expect("answered at once");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let Payload::Full(body) = response.into_body() else {
        panic!("one whole body, not a stream");
    };
    let events = events_of(&body);
    assert_eq!(
        events.len(),
        2,
        "the priming event, then the answer: {events:?}"
    );
    assert_eq!(events[0], "");
    let answer: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(answer["result"], json!({"id": 1}));
    assert_eq!(harness.in_flight(), 0);
}

/// In SSE mode a stream starts with its answer unless something comes first, so an answer from
/// a handler's own task is whole too. A stream not finished by the input that started it is
/// streamed: a 2024-11-05 stream (`open_legacy`), a held answer (`the_timer_is_rearmed_…`).
#[test]
fn an_sse_answer_from_a_waiting_handler_is_one_whole_body() {
    let (harness, mut response) = sse_call("wait");
    assert!(response.try_recv().unwrap().is_none(), "not answered yet");
    harness.app.open(1);
    harness.runtime.run();
    let response = response.try_recv().unwrap().expect("answered");
    let Payload::Full(body) = response.into_body() else {
        panic!("one whole body, not a stream");
    };
    let events = events_of(&body);
    let answer: Value = serde_json::from_str(events.last().expect("an answer")).unwrap();
    assert_eq!(answer["result"], json!({"id": 1}));
}

/// A store the drivers of one test share: records, the instances carrying each session's
/// stream, and a notice inbox per instance. Each driver has its own view (its node).
#[derive(Clone, Debug, Default)]
struct FakeStore {
    shared: Arc<Mutex<StoreState>>,
    node: u32,
}

#[derive(Debug, Default)]
struct StoreState {
    records: HashMap<SessionId, Vec<u8>>,
    holders: HashMap<SessionId, Vec<u32>>,
    inboxes: HashMap<
        u32,
        (
            async_channel::Sender<Notice>,
            async_channel::Receiver<Notice>,
        ),
    >,
}

impl FakeStore {
    fn join(&self, node: u32) -> Self {
        let inbox = async_channel::unbounded();
        self.shared.lock().unwrap().inboxes.insert(node, inbox);
        Self {
            shared: self.shared.clone(),
            node,
        }
    }
}

impl StoreState {
    fn tell(&self, nodes: impl IntoIterator<Item = u32>, notice: &Notice) {
        for node in nodes {
            let notice = Notice::decode(&notice.encode().unwrap()).unwrap();
            let _ = self.inboxes[&node].0.try_send(notice);
        }
    }

    fn others(&self, node: u32) -> Vec<u32> {
        self.inboxes
            .keys()
            .copied()
            .filter(|n| *n != node)
            .collect()
    }
}

impl SharedStore for FakeStore {
    fn perform(&self, op: Shared) -> StoreFuture<Option<(Ticket, Answer)>> {
        let mut state = self.shared.lock().unwrap();
        let answer = match op {
            Shared::SaveSession { ticket, record, .. } => {
                state
                    .records
                    .insert(record.session.clone(), record.encode());
                Some((ticket, Answer::Done))
            }
            Shared::LoadSession { ticket, session } => {
                let record = state.records.get(&session).cloned();
                let record = record.and_then(|bytes| SessionRecord::decode(session, &bytes));
                Some((ticket, Answer::Found(record)))
            }
            Shared::Hold { session } => {
                state.holders.entry(session).or_default().push(self.node);
                None
            }
            Shared::Unclaimed { session, message } => {
                state.tell(
                    state.others(self.node),
                    &Notice::Response { session, message },
                );
                None
            }
            Shared::TouchSession { .. } | Shared::Release { .. } => None,
            other => panic!("not used by these tests: {other:?}"),
        };
        Box::pin(std::future::ready(answer))
    }

    fn next_notice(&self) -> StoreFuture<Option<Notice>> {
        let inbox = self.shared.lock().unwrap().inboxes[&self.node].1.clone();
        Box::pin(async move { inbox.recv().await.ok() })
    }
}

/// Two instances of a cluster on one fake runtime, sharing a fake store.
fn cluster_of_two() -> (FakeRuntime, [(Driver, TestApp); 2]) {
    let runtime = FakeRuntime::default();
    let store = FakeStore::default();
    let instances = [1, 2].map(|node| {
        let mut config = Config::default();
        config.cluster = Some(Cluster::new(node, 7));
        let app = TestApp::default();
        let store: Arc<dyn SharedStore> = Arc::new(store.join(node));
        let driver = Driver::start(
            runtime.clone(),
            Server::new(config),
            app.clone(),
            Some(store),
        );
        (driver, app)
    });
    runtime.run();
    (runtime, instances)
}

fn send_to(
    runtime: &FakeRuntime,
    driver: &Driver,
    (head, body): (http::request::Parts, Bytes),
) -> oneshot::Receiver<Response<Payload>> {
    let (respond, response) = oneshot::channel();
    driver.handle_request(head, body, respond);
    runtime.run();
    response
}

#[test]
fn an_instance_serves_a_session_another_created_and_a_client_answer_finds_its_asker() {
    let (runtime, [(a, _), (b, b_app)]) = cluster_of_two();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}}});
    let mut answer = send_to(&runtime, &a, post("/mcp", &[], &init));
    let answer = answer.try_recv().unwrap().expect("answered once stored");
    let session = answer.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let headers = [("mcp-session-id", session.as_str())];
    // Instance b learns the session from the store, its application too, and answers.
    let mut echo = send_to(&runtime, &b, post("/mcp", &headers, &call(5, "echo")));
    let echo = echo.try_recv().unwrap().expect("answered");
    assert_eq!(echo.status(), 200);
    let session = SessionId::parse(&session).unwrap();
    assert_eq!(
        b_app.0.lock().unwrap().restored,
        std::slice::from_ref(&session)
    );
    // Instance a asks the client on the session's stream; the answer comes to b.
    let mut stream = send_to(&runtime, &a, {
        let (mut head, body) = get("/mcp");
        head.headers
            .insert("mcp-session-id", session.as_str().parse().unwrap());
        (head, body)
    });
    assert_eq!(stream.try_recv().unwrap().unwrap().status(), 200);
    let target = Target::Session(session.clone());
    let mut asked = a.ask(None, target, Some(session.clone()), "ping", &json!({}));
    runtime.run();
    let result = json!({"jsonrpc": "2.0", "id": "s1-0", "result": {"pong": true}});
    let mut accepted = send_to(&runtime, &b, post("/mcp", &headers, &result));
    assert_eq!(accepted.try_recv().unwrap().unwrap().status(), 202);
    let answer = asked.try_recv().unwrap().expect("the answer reached a");
    assert_eq!(answer.unwrap(), json!({"pong": true}));
}
