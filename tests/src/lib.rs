//! A deterministic simulation harness for [`mcp_sse_core::Server`].
//!
//! [`Sim`] owns a server, a virtual clock and scripted clients. Every input is followed by a
//! full drain of the server's outputs, which the harness records per exchange: complete
//! responses, stream heads, and stream bytes decoded with the core's WHATWG decoder. Time moves
//! only through [`Sim::advance`], which wakes the server at every deadline on the way (and
//! fails on a timer storm). A stream can stop reading to play a slow client.

pub mod client;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mcp_sse_core::sse::{DecodedEvent, Decoder, Item};
use mcp_sse_core::{Config, Event, ExchangeId, Output, RequestKey, SequentialIds, Server};
use serde_json::Value;
use serde_json::value::RawValue;

/// What a client saw of one exchange.
#[derive(Debug, Default)]
pub struct Seen {
    /// A complete response, if the server sent one.
    pub response: Option<http::Response<Bytes>>,
    /// The head of a stream, if the server started one.
    pub head: Option<http::Response<()>>,
    /// Raw stream bytes, in order.
    pub raw: Vec<u8>,
    /// What the stream's bytes decode to.
    pub items: Vec<Item>,
    /// Whether the server finished the stream.
    pub finished: bool,
    /// Whether the server aborted the stream (its client stopped reading).
    pub aborted: bool,
    /// Whether the client reads (credits) what arrives; a slow client does not.
    pub paused: bool,
    /// Bytes received and not credited back yet (while paused).
    pub uncredited: usize,
    decoder: Decoder,
    /// When each frame arrived.
    pub arrivals: Vec<(Instant, usize)>,
}

impl Seen {
    /// The complete response; panics if there is none.
    pub fn response(&self) -> &http::Response<Bytes> {
        self.response
            .as_ref()
            .expect("the exchange got a complete response")
    }

    /// The status of the complete response or the stream head.
    pub fn status(&self) -> u16 {
        match (&self.response, &self.head) {
            (Some(r), _) => r.status().as_u16(),
            (None, Some(h)) => h.status().as_u16(),
            (None, None) => panic!("the exchange has no response yet"),
        }
    }

    /// A header of the complete response or the stream head.
    pub fn header(&self, name: &str) -> Option<&str> {
        let headers = match (&self.response, &self.head) {
            (Some(r), _) => r.headers(),
            (None, Some(h)) => h.headers(),
            (None, None) => return None,
        };
        headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// The complete response's body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(self.response().body()).expect("a JSON body")
    }

    /// The dispatched SSE events.
    pub fn events(&self) -> Vec<&DecodedEvent> {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Event(event) => Some(event),
                Item::Comment(_) => None,
            })
            .collect()
    }

    /// The data of `message` events, parsed as JSON; the priming event's empty data is skipped
    /// as clients must (S2.33).
    pub fn messages(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e.event_type == "message" && !e.data.is_empty())
            .map(|e| serde_json::from_str(&e.data).expect("message data is JSON"))
            .collect()
    }

    /// How many comment frames arrived.
    pub fn comments(&self) -> usize {
        self.items
            .iter()
            .filter(|item| matches!(item, Item::Comment(_)))
            .count()
    }
}

/// A server, a virtual clock and the clients' view of every exchange.
#[derive(Debug)]
pub struct Sim {
    /// The server under test.
    pub server: Server,
    /// The virtual clock.
    pub now: Instant,
    /// What the clients saw, per exchange.
    pub seen: HashMap<ExchangeId, Seen>,
    /// Events for the application, oldest first.
    pub events: VecDeque<Event>,
    /// Most timer wake-ups one `advance` may take before it is called a storm.
    pub wakeup_budget: usize,
    /// What the adapter's token verifier says of every request from now on (authorization);
    /// `None`: the client presents no token.
    pub credentials: Option<mcp_sse_core::Credentials>,
    /// Operations on a cluster's shared store, oldest first, for the test to perform.
    pub shared: VecDeque<mcp_sse_core::Shared>,
}

impl Sim {
    /// A server with `config` and predictable session ids.
    pub fn new(config: Config) -> Self {
        Self {
            server: Server::with_id_generator(config, Box::new(SequentialIds::default())),
            now: Instant::now(),
            seen: HashMap::new(),
            events: VecDeque::new(),
            wakeup_budget: 100_000,
            credentials: None,
            shared: VecDeque::new(),
        }
    }

    /// Sends a request; `headers` are `(name, value)` pairs.
    pub fn request(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> ExchangeId {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (mut head, ()) = builder.body(()).expect("a valid request").into_parts();
        if let Some(credentials) = &self.credentials {
            head.extensions.insert(credentials.clone());
        }
        let exchange =
            self.server
                .handle_request(self.now, head, Bytes::copy_from_slice(body.as_bytes()));
        self.seen.entry(exchange).or_default();
        self.drain();
        exchange
    }

    /// `GET uri` with `Accept: text/event-stream` and extra headers.
    pub fn get_stream(&mut self, uri: &str, headers: &[(&str, &str)]) -> ExchangeId {
        let mut all = vec![("accept", "text/event-stream")];
        all.extend_from_slice(headers);
        self.request("GET", uri, &all, "")
    }

    /// `POST uri` with a JSON body and extra headers, accepting JSON and SSE answers.
    pub fn post(&mut self, uri: &str, headers: &[(&str, &str)], body: &str) -> ExchangeId {
        let mut all = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        all.extend_from_slice(headers);
        self.request("POST", uri, &all, body)
    }

    /// What the client saw of `exchange`.
    pub fn seen(&self, exchange: ExchangeId) -> &Seen {
        self.seen.get(&exchange).expect("a known exchange")
    }

    /// Takes the application events so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// Takes the next application request, panicking if the next event is something else.
    pub fn next_request(&mut self) -> (RequestKey, mcp_sse_core::jsonrpc::Request) {
        loop {
            match self.events.pop_front() {
                Some(Event::Request { key, request, .. }) => return (key, request),
                Some(_) => continue,
                None => panic!("no request reached the application"),
            }
        }
    }

    /// Answers a request with a JSON result.
    pub fn reply(&mut self, key: RequestKey, result: &str) {
        let raw = RawValue::from_string(result.to_owned()).expect("valid JSON");
        self.server
            .reply(self.now, key, Ok(&raw))
            .expect("the request is waiting");
        self.drain();
    }

    /// The client of `exchange` goes away.
    pub fn disconnect(&mut self, exchange: ExchangeId) {
        self.server.handle_disconnect(self.now, exchange);
        self.drain();
    }

    /// The client of a stream stops reading.
    pub fn pause(&mut self, exchange: ExchangeId) {
        self.seen.entry(exchange).or_default().paused = true;
    }

    /// The client reads again and takes everything waiting.
    pub fn resume(&mut self, exchange: ExchangeId) {
        let seen = self.seen.entry(exchange).or_default();
        seen.paused = false;
        let bytes = std::mem::take(&mut seen.uncredited);
        self.server.handle_consumed(self.now, exchange, bytes);
        self.drain();
    }

    /// Moves the clock forward by `by`, waking the server at every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        let mut wakeups = 0;
        while let Some(at) = self.server.poll_timeout() {
            if at > until {
                break;
            }
            wakeups += 1;
            assert!(
                wakeups <= self.wakeup_budget,
                "timer storm: {wakeups} wake-ups"
            );
            self.now = self.now.max(at);
            self.server.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    /// Applies every output of the server to the clients' view.
    pub fn drain(&mut self) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Respond { exchange, response } => {
                    let seen = self.seen.entry(exchange).or_default();
                    assert!(
                        seen.response.is_none() && seen.head.is_none(),
                        "one response head per exchange"
                    );
                    seen.response = Some(response);
                }
                Output::StartStream { exchange, head } => {
                    let seen = self.seen.entry(exchange).or_default();
                    assert!(
                        seen.response.is_none() && seen.head.is_none(),
                        "one response head per exchange"
                    );
                    seen.head = Some(head);
                }
                Output::Data { exchange, chunk } => {
                    let seen = self.seen.entry(exchange).or_default();
                    assert!(
                        seen.head.is_some() && !seen.finished,
                        "data inside a stream"
                    );
                    let bytes = chunk.into_bytes();
                    seen.arrivals.push((self.now, bytes.len()));
                    seen.raw.extend_from_slice(&bytes);
                    let items = seen.decoder.feed(&bytes);
                    seen.items.extend(items);
                    if seen.paused {
                        seen.uncredited += bytes.len();
                    } else {
                        self.server.handle_consumed(self.now, exchange, bytes.len());
                    }
                }
                Output::Finish { exchange } => {
                    let seen = self.seen.entry(exchange).or_default();
                    assert!(
                        seen.head.is_some() && !seen.finished,
                        "finish ends a stream"
                    );
                    seen.finished = true;
                    seen.decoder.finish();
                }
                Output::Abort { exchange } => {
                    let seen = self.seen.entry(exchange).or_default();
                    assert!(
                        seen.head.is_some() && !seen.finished && !seen.aborted,
                        "abort ends a stream"
                    );
                    seen.aborted = true;
                }
                Output::Event(event) => self.events.push_back(event),
                Output::Shared(op) => self.shared.push_back(op),
                other => panic!("unexpected output {other:?}"),
            }
        }
    }

    /// Opens a Streamable HTTP session that negotiates `version`; returns its id.
    pub fn initialize(&mut self, version: &str) -> String {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"sim","version":"0"}}}}}}"#
        );
        let init = self.post("/mcp", &[], &body);
        let (key, request) = self.next_request();
        assert_eq!(request.method, "initialize");
        self.reply(
            key,
            &format!(r#"{{"protocolVersion":"{version}","capabilities":{{}}}}"#),
        );
        let seen = self.seen(init);
        assert_eq!(seen.status(), 200, "initialize answered");
        let session = seen
            .header("mcp-session-id")
            .expect("a session id")
            .to_owned();
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let x = self.post("/mcp", &[("mcp-session-id", &session)], note);
        assert_eq!(self.seen(x).status(), 202);
        self.take_events();
        session
    }

    /// Sends an already-encoded message on `target`.
    pub fn send(
        &mut self,
        target: mcp_sse_core::Target,
        json: &str,
    ) -> Result<(), mcp_sse_core::SendError> {
        let result = self
            .server
            .send(self.now, target, Bytes::copy_from_slice(json.as_bytes()));
        self.drain();
        result
    }

    /// Opens a 2024-11-05 session on `path` and returns its stream and the `endpoint` URI.
    pub fn open_legacy(&mut self, path: &str) -> (ExchangeId, String) {
        let stream = self.get_stream(path, &[]);
        let seen = self.seen(stream);
        assert_eq!(seen.status(), 200, "the stream opened");
        let endpoint = seen.events()[0].clone();
        assert_eq!(
            endpoint.event_type, "endpoint",
            "S1.2: endpoint comes first"
        );
        (stream, endpoint.data)
    }
}

/// The workspace README's Rust snippets, built by `cargo test` as doc tests of this crate (which
/// may depend on every crate of the workspace and on rmcp): each must work when pasted.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
