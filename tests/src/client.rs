//! A small HTTP/1.1 client for loopback tests against a real adapter: one connection per
//! request, SSE bodies read frame by frame through the core's decoder.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_sse_core::sse::{DecodedEvent, Decoder, Item};
use serde_json::Value;
use tokio::net::TcpStream;

/// How long any single wait in a loopback test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A complete response.
#[derive(Debug)]
pub struct Reply {
    /// Status and headers.
    pub head: http::response::Parts,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status.as_u16()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An open SSE response.
#[derive(Debug)]
pub struct EventStream {
    /// Status and headers.
    pub head: http::response::Parts,
    body: Incoming,
    decoder: Decoder,
    pending: std::collections::VecDeque<Item>,
    /// Raw bytes received so far.
    pub raw: Vec<u8>,
}

impl EventStream {
    /// Reads the SSE body of a response.
    pub fn new(head: http::response::Parts, body: Incoming) -> Self {
        Self {
            head,
            body,
            decoder: Decoder::new(),
            pending: Default::default(),
            raw: Vec::new(),
        }
    }

    /// The next item (event or comment), or `None` at the end of the body.
    pub async fn next_item(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            let frame = tokio::time::timeout(PATIENCE, self.body.frame())
                .await
                .expect("the stream stalled")?;
            let Ok(frame) = frame else { return None };
            if let Ok(data) = frame.into_data() {
                self.raw.extend_from_slice(&data);
                self.pending.extend(self.decoder.feed(&data));
            }
        }
    }

    /// The next dispatched event, skipping comments.
    pub async fn next_event(&mut self) -> Option<DecodedEvent> {
        loop {
            match self.next_item().await? {
                Item::Event(event) => return Some(event),
                Item::Comment(_) => continue,
            }
        }
    }

    /// The next `message` event's data as JSON.
    pub async fn next_message(&mut self) -> Value {
        let event = self.next_event().await.expect("a message event");
        assert_eq!(event.event_type, "message");
        serde_json::from_str(&event.data).expect("JSON data")
    }

    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

/// Sends one request on a new connection and returns the response head and body.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (http::response::Parts, Incoming) {
    let socket = TcpStream::connect(addr).await.expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = http::Request::builder().method(method).uri(uri);
    // `Host` is the address dialled unless the test names its own.
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request = request.header("host", addr.to_string());
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(body.into()))
        .expect("a valid request");
    let response = tokio::time::timeout(PATIENCE, sender.send_request(request))
        .await
        .expect("no response head in time")
        .expect("a response");
    response.into_parts()
}

/// Sends one request and reads the whole response.
pub async fn fetch(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let (head, body) = send(addr, method, uri, headers, body).await;
    let body = tokio::time::timeout(PATIENCE, body.collect())
        .await
        .expect("no whole body in time")
        .expect("a body")
        .to_bytes();
    Reply { head, body }
}

/// `POST` with a JSON body.
pub async fn post(addr: SocketAddr, uri: &str, headers: &[(&str, &str)], json: &str) -> Reply {
    let mut all = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    all.extend_from_slice(headers);
    fetch(
        addr,
        "POST",
        uri,
        &all,
        Bytes::copy_from_slice(json.as_bytes()),
    )
    .await
}

/// `GET` with `Accept: text/event-stream`, kept open.
pub async fn open_stream(addr: SocketAddr, uri: &str, headers: &[(&str, &str)]) -> EventStream {
    let mut all = vec![("accept", "text/event-stream")];
    all.extend_from_slice(headers);
    let (head, body) = send(addr, "GET", uri, &all, Bytes::new()).await;
    EventStream::new(head, body)
}

/// Opens a 2024-11-05 stream on `path` and returns it with its `endpoint` URI.
pub async fn open_legacy(addr: SocketAddr, path: &str) -> (EventStream, String) {
    let mut stream = open_stream(addr, path, &[]).await;
    let endpoint = stream.next_event().await.expect("an endpoint event");
    assert_eq!(
        endpoint.event_type, "endpoint",
        "S1.2: endpoint comes first"
    );
    (stream, endpoint.data)
}
