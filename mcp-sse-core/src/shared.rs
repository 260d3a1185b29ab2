//! State shared between server instances: what a [`Server`](crate::Server) in a cluster asks of
//! the store every instance shares ([`Shared`], answered with an [`Answer`]), and what other
//! instances tell it ([`Notice`]). The core performs none of it: the adapter carries each
//! operation to the store and brings the answer back as an input, tagged with its [`Ticket`],
//! while other exchanges go on.
//!
//! A server alone (no [`Cluster`] in its config) emits none of these and pays nothing for them.
//!
//! What is shared, and why that is enough for any instance to serve any request:
//! - **sessions**: every session is stored when it is created ([`Shared::SaveSession`], the
//!   `initialize` answer waits for it) and looked up by an instance that does not hold it
//!   ([`Shared::LoadSession`], the request waits for it); ending it for good
//!   ([`Shared::EndSession`]) tells every instance. Each instance keeps a local copy while the
//!   session is active there.
//! - **messages to a session's stream**: the instance holding a 2024-11-05 session's stream, or
//!   a Streamable HTTP session's standalone stream, says so ([`Shared::Hold`]); a `POST` of a
//!   2024-11-05 session landing elsewhere is relayed to it ([`Shared::Relay`], `202` once it
//!   arrived), and so is a message the application sends to the session
//!   ([`Shared::Deliver`]).
//! - **announcements** to 2026-07-28 listeners go to every instance ([`Shared::Publish`]).
//!
//! The wire format of records and notices is the core's ([`SessionRecord::encode`],
//! [`Notice::encode`]): a store moves bytes.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::change::Change;
use crate::replay::StreamId;
use crate::{CloseReason, ProtocolVersion, SessionId, Transport};

/// One question to the store, answered once by [`Server::handle_shared`](crate::Server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub(crate) u64);

impl Ticket {
    /// The ticket of number `n`, for a store's own tests (a store cannot be tested through
    /// [`Shared`] without tickets); a server ignores an answer to a ticket it did not hand out.
    pub fn from_u64(n: u64) -> Self {
        Self(n)
    }

    /// The number behind the ticket, for logs.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// A session as every instance sees it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session.
    pub session: SessionId,
    /// Its transport.
    pub transport: Transport,
    /// The negotiated version, once `initialize` was answered.
    pub version: Option<ProtocolVersion>,
    /// The subject of the principal that created it, with authorization on (S4.6).
    pub owner: Option<String>,
    /// The `params` of the client's `initialize` (its capabilities and info), for the
    /// application of another instance to know the client as the first one did.
    pub client: Option<Box<RawValue>>,
}

impl PartialEq for SessionRecord {
    fn eq(&self, other: &Self) -> bool {
        self.session == other.session && self.encode() == other.encode()
    }
}

#[derive(Serialize, Deserialize)]
struct RecordWire<'a> {
    transport: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    client: Option<&'a RawValue>,
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::HttpSse => "http+sse",
        Transport::Streamable => "streamable",
        Transport::Stateless => "stateless",
        Transport::Streamable2026 => "2026",
    }
}

fn transport_named(name: &str) -> Option<Transport> {
    Some(match name {
        "http+sse" => Transport::HttpSse,
        "streamable" => Transport::Streamable,
        "stateless" => Transport::Stateless,
        "2026" => Transport::Streamable2026,
        _ => return None,
    })
}

impl SessionRecord {
    /// The record as the store keeps it (JSON; the session id is the store's key).
    pub fn encode(&self) -> Vec<u8> {
        let wire = RecordWire {
            transport: transport_name(self.transport),
            version: self.version.map(ProtocolVersion::as_str),
            owner: self.owner.clone(),
            client: self.client.as_deref(),
        };
        serde_json::to_vec(&wire).expect("a record serialises")
    }

    /// The record of `session` the store kept; `None` if it is not one this server wrote.
    pub fn decode(session: SessionId, bytes: &[u8]) -> Option<Self> {
        let wire: RecordWire<'_> = serde_json::from_slice(bytes).ok()?;
        let version = match wire.version {
            Some(text) => Some(ProtocolVersion::parse(text)?),
            None => None,
        };
        Some(Self {
            session,
            transport: transport_named(wire.transport)?,
            version,
            owner: wire.owner,
            client: wire.client.map(ToOwned::to_owned),
        })
    }
}

/// An operation on the store, from [`Output::Shared`](crate::Output::Shared).
///
/// Those with a [`Ticket`] must be answered exactly once with
/// [`Server::handle_shared`](crate::Server::handle_shared): with [`Answer::Failed`] when the
/// store could not be reached in time (the adapter bounds the wait). The others expect no
/// answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Shared {
    /// Store a new session for `ttl`. Answer [`Answer::Done`] once stored.
    SaveSession {
        /// The answer's tag.
        ticket: Ticket,
        /// What to store.
        record: SessionRecord,
        /// How long it lives without a [`TouchSession`](Self::TouchSession).
        ttl: Duration,
    },
    /// Find a session this instance does not hold. Answer [`Answer::Found`].
    LoadSession {
        /// The answer's tag.
        ticket: Ticket,
        /// The id a request named.
        session: SessionId,
    },
    /// The session was active here: it lives `ttl` more. No answer.
    TouchSession {
        /// The session.
        session: SessionId,
        /// How long from now.
        ttl: Duration,
    },
    /// The session ended for good (deleted, closed, its 2024-11-05 stream gone): remove it and
    /// send [`Notice::SessionEnded`] to every instance. With a ticket (a `DELETE` waits for
    /// it), answer [`Answer::Done`] once both are done.
    EndSession {
        /// The answer's tag, when something waits for it.
        ticket: Option<Ticket>,
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// This instance now carries the session's stream (a 2024-11-05 session's, or the
    /// standalone `GET` stream): [`Notice::Relayed`] and [`Notice::Deliver`] for it come here
    /// from now on. No answer.
    Hold {
        /// The session.
        session: SessionId,
    },
    /// This instance opened a new standalone stream for the session: the instances holding
    /// the session now (as [`Hold`](Self::Hold) made them) get [`Notice::StreamTaken`] and end
    /// theirs (newest wins, S2.18), before this one holds it. No answer.
    TakeStream {
        /// The session.
        session: SessionId,
        /// This instance.
        from: u32,
    },
    /// This instance no longer carries the session's stream. No answer.
    Release {
        /// The session.
        session: SessionId,
    },
    /// A client message of a 2024-11-05 session whose stream another instance carries: hand it
    /// to that instance as [`Notice::Relayed`]. Answer [`Answer::Relayed`] with whether an
    /// instance took it.
    Relay {
        /// The answer's tag.
        ticket: Ticket,
        /// The session.
        session: SessionId,
        /// The `POST`'s body.
        message: Bytes,
    },
    /// A message of the application for the session's stream, which another instance carries:
    /// hand it to that instance as [`Notice::Deliver`]. No answer.
    Deliver {
        /// The session.
        session: SessionId,
        /// The JSON-RPC message.
        message: Bytes,
    },
    /// A change for the 2026-07-28 listeners of every other instance: send it to them as
    /// [`Notice::Published`]. No answer.
    Publish(Change),
    /// A client's answer to a request of the server that no request of this instance's
    /// application claims: another instance's may have sent it. Send it to every other
    /// instance as [`Notice::Response`]. No answer. (The application side emits it: the core
    /// does not know which requests the application sent.)
    Unclaimed {
        /// The session it came in, if any.
        session: Option<SessionId>,
        /// The JSON-RPC response or error.
        message: Bytes,
    },
    /// Send `notice` to instance `node` only (how the owner of a stream and the instance
    /// carrying its connection talk). No answer; a notice for an instance gone is lost, and
    /// the core copes (a resume it asked for times out).
    ToNode {
        /// The instance.
        node: u32,
        /// What to tell it.
        notice: Notice,
    },
    /// Keep event `seq` of a resumable stream for `ttl`, so that another instance can replay
    /// it should this one be gone ([`Recover`](Self::Recover)). Bounded as the store sees fit
    /// (by count per stream and by age); losing some only makes an older `Last-Event-ID`
    /// unresumable. No answer.
    Append {
        /// The stream.
        stream: StreamId,
        /// The event's number on the stream.
        seq: u64,
        /// The whole SSE frame, its `id` field included.
        frame: Bytes,
        /// How long to keep it (`Config::replay_age`).
        ttl: Duration,
    },
    /// A resumable stream opened here: whose it is, and which requests it owes answers to.
    /// Keep it for `ttl` with its events. No answer.
    StreamOpened {
        /// The stream.
        stream: StreamId,
        /// What another instance needs to take it over.
        meta: StreamMeta,
        /// How long to keep it.
        ttl: Duration,
    },
    /// The instance that opened `stream` did not hand it over in time: the stream's meta and
    /// every event kept of it, so this instance can take it over. Answer
    /// [`Answer::Recovered`]; [`Answer::Failed`] when the store cannot tell, or knows the
    /// owner is alive after all (then the client should try again).
    Recover {
        /// The answer's tag.
        ticket: Ticket,
        /// The stream.
        stream: StreamId,
    },
}

/// What the store keeps of a resumable stream besides its events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamMeta {
    /// The session it belongs to.
    pub session: SessionId,
    /// The requests whose answers it carries (none for a standalone stream).
    pub owed: Vec<crate::jsonrpc::Id>,
    /// Those requests whole (JSON-RPC), in the same order, so that another instance can run
    /// them again should this one be gone before answering (where the application allows it).
    pub requests: Vec<Bytes>,
}

#[derive(Serialize, Deserialize)]
struct MetaWire<'a> {
    session: String,
    owed: Vec<serde_json::Value>,
    #[serde(borrow, default)]
    requests: Vec<&'a RawValue>,
}

impl StreamMeta {
    /// The meta of a stream of `session` owing answers to `owed`.
    pub fn new(session: SessionId, owed: Vec<crate::jsonrpc::Id>) -> Self {
        Self {
            session,
            owed,
            requests: Vec::new(),
        }
    }

    /// With the owed requests whole (see [`requests`](Self::requests)).
    pub fn with_requests(mut self, requests: Vec<Bytes>) -> Self {
        self.requests = requests;
        self
    }

    /// The meta as the store keeps it (JSON).
    pub fn encode(&self) -> Vec<u8> {
        let owed = self
            .owed
            .iter()
            .map(|id| match id {
                crate::jsonrpc::Id::Number(n) => serde_json::Value::from(*n),
                crate::jsonrpc::Id::String(s) => serde_json::Value::from(&**s),
            })
            .collect();
        let requests = self.requests.iter().filter_map(raw).collect();
        let wire = MetaWire {
            session: self.session.to_string(),
            owed,
            requests,
        };
        serde_json::to_vec(&wire).expect("meta serialises")
    }

    /// The meta [`encode`](Self::encode) wrote; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let wire: MetaWire<'_> = serde_json::from_slice(bytes).ok()?;
        let requests = wire
            .requests
            .iter()
            .map(|raw| Bytes::copy_from_slice(raw.get().as_bytes()))
            .collect();
        let owed = wire
            .owed
            .into_iter()
            .map(|id| match id {
                serde_json::Value::Number(n) => n.as_i64().map(crate::jsonrpc::Id::Number),
                serde_json::Value::String(s) => Some(crate::jsonrpc::Id::String(s.into())),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(Self {
            session: SessionId::parse(&wire.session)?,
            owed,
            requests,
        })
    }
}

/// What the store kept of a stream whose instance is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Whose it is, and what it owes.
    pub meta: StreamMeta,
    /// The events kept, as `(seq, frame)`, oldest first.
    pub events: Vec<(u64, Bytes)>,
}

impl Recovery {
    /// What the store kept.
    pub fn new(meta: StreamMeta, events: Vec<(u64, Bytes)>) -> Self {
        Self { meta, events }
    }
}

impl Shared {
    /// The ticket the answer must carry, for an operation that has one: a store that does not
    /// know an operation must still answer it ([`Answer::Failed`]).
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Shared::SaveSession { ticket, .. }
            | Shared::LoadSession { ticket, .. }
            | Shared::Relay { ticket, .. }
            | Shared::Recover { ticket, .. } => Some(*ticket),
            Shared::EndSession { ticket, .. } => *ticket,
            _ => None,
        }
    }
}

/// What the owner of a stream hands to the instance its client resumed it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    /// The SSE frames after the client's `Last-Event-ID`, oldest first.
    pub frames: Vec<Bytes>,
    /// Whether the stream is over (every answer it owed was written).
    pub done: bool,
}

/// The store's answer to the operation of a [`Ticket`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Answer {
    /// Done ([`Shared::SaveSession`]).
    Done,
    /// The session's record, or `None` if the store has no such session
    /// ([`Shared::LoadSession`]).
    Found(Option<SessionRecord>),
    /// Whether an instance carrying the session's stream took the message ([`Shared::Relay`]).
    Relayed(bool),
    /// What the store kept of the stream, `None` if nothing ([`Shared::Recover`]).
    Recovered(Option<Recovery>),
    /// The store could not be reached, or did not answer in time.
    Failed,
}

/// What another instance tells this one, for [`Server::handle_notice`](crate::Server).
#[derive(Debug, PartialEq)]
#[non_exhaustive]
pub enum Notice {
    /// A session ended for good: forget it here too.
    SessionEnded {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// A client message for a 2024-11-05 session whose stream this instance carries, `POST`ed
    /// to another instance (which answered `202`).
    Relayed {
        /// The session.
        session: SessionId,
        /// The `POST`'s body.
        message: Bytes,
    },
    /// A message for the stream of a session this instance carries.
    Deliver {
        /// The session.
        session: SessionId,
        /// The JSON-RPC message.
        message: Bytes,
    },
    /// A change for this instance's 2026-07-28 listeners.
    Published(Change),
    /// Another instance opened a newer standalone stream for the session: the one here ends.
    StreamTaken {
        /// The session.
        session: SessionId,
        /// The instance that opened it (which may hear its own notice: it ignores it).
        from: u32,
    },
    /// A client's answer that reached another instance, whose application did not send the
    /// request: it comes out as [`Event::Response`](crate::Event::Response) here.
    Response {
        /// The session it came in, if any.
        session: Option<SessionId>,
        /// The JSON-RPC response or error.
        message: Bytes,
    },
    /// Instance `from` asks this one, which opened `stream`, for the events after `after`: a
    /// client resumed it there (S2.28). Answered with [`Notice::ResumeAnswered`].
    ResumeAsked {
        /// The instance asking.
        from: u32,
        /// Its ticket, to put in the answer.
        ticket: Ticket,
        /// The stream.
        stream: StreamId,
        /// The session the client named (the stream must be one of it).
        session: SessionId,
        /// The sequence number of the client's `Last-Event-ID`.
        after: u64,
    },
    /// The answer to a [`Notice::ResumeAsked`]: what to replay, or why the stream cannot be
    /// resumed.
    ResumeAnswered {
        /// The asker's ticket.
        ticket: Ticket,
        /// The events to replay, or the text of the `400`.
        handover: Result<Handover, String>,
    },
    /// Frames the owner of a stream wrote on it, for the instance carrying its connection.
    Frames {
        /// The stream.
        stream: StreamId,
        /// Whole SSE frames.
        frames: Vec<Bytes>,
        /// Whether the stream is over.
        done: bool,
    },
    /// The client of a stream this instance carries resumed it elsewhere: end the connection.
    StreamMoved {
        /// The stream.
        stream: StreamId,
    },
    /// The instance carrying the connection of a stream this one opened lost it.
    StreamLost {
        /// The stream.
        stream: StreamId,
        /// The instance that carried it.
        from: u32,
    },
}

/// A notice on the wire: its kind and the fields that kind has. (A struct, not a tagged
/// enum: serde buffers the content of tagged enums, and a raw message cannot be borrowed then.)
#[derive(Serialize, Deserialize, Default)]
struct NoticeWire<'a> {
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    message: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

fn reason_name(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::ClientGone => "client_gone",
        CloseReason::Closed => "closed",
        CloseReason::Shutdown => "shutdown",
        CloseReason::Deleted => "deleted",
        CloseReason::Expired => "expired",
        CloseReason::TokenExpired => "token_expired",
        CloseReason::Evicted => "evicted",
    }
}

fn reason_named(name: &str) -> Option<CloseReason> {
    Some(match name {
        "client_gone" => CloseReason::ClientGone,
        "closed" => CloseReason::Closed,
        "shutdown" => CloseReason::Shutdown,
        "deleted" => CloseReason::Deleted,
        "expired" => CloseReason::Expired,
        "token_expired" => CloseReason::TokenExpired,
        "evicted" => CloseReason::Evicted,
        _ => return None,
    })
}

/// SSE frames travel as text (they are UTF-8: JSON data, ASCII fields).
fn text_frames(frames: &[Bytes]) -> Option<Vec<String>> {
    frames
        .iter()
        .map(|frame| String::from_utf8(frame.to_vec()).ok())
        .collect()
}

/// JSON-RPC messages travel as the JSON they are; bytes that are not JSON cannot be carried.
fn raw(message: &Bytes) -> Option<&RawValue> {
    let text = std::str::from_utf8(message).ok()?;
    serde_json::from_str(text).ok()
}

impl Notice {
    /// The notice as it travels between instances (JSON). `None` for a message that is not
    /// JSON (the core only sends JSON-RPC messages it checked).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let wire = match self {
            Notice::SessionEnded { session, reason } => NoticeWire {
                kind: "ended".into(),
                session: Some(session.to_string()),
                reason: Some(reason_name(*reason).into()),
                ..Default::default()
            },
            Notice::Relayed { session, message } | Notice::Deliver { session, message } => {
                let kind = match self {
                    Notice::Relayed { .. } => "relayed",
                    _ => "deliver",
                };
                NoticeWire {
                    kind: kind.into(),
                    session: Some(session.to_string()),
                    message: Some(raw(message)?),
                    ..Default::default()
                }
            }
            Notice::StreamTaken { session, from } => NoticeWire {
                kind: "taken".into(),
                session: Some(session.to_string()),
                from: Some(*from),
                ..Default::default()
            },
            Notice::Response { session, message } => NoticeWire {
                kind: "response".into(),
                session: session.as_ref().map(SessionId::to_string),
                message: Some(raw(message)?),
                ..Default::default()
            },
            Notice::ResumeAsked {
                from,
                ticket,
                stream,
                session,
                after,
            } => NoticeWire {
                kind: "resume".into(),
                from: Some(*from),
                ticket: Some(ticket.0),
                stream: Some(stream.as_u64()),
                session: Some(session.to_string()),
                after: Some(*after),
                ..Default::default()
            },
            Notice::ResumeAnswered { ticket, handover } => NoticeWire {
                kind: "resumed".into(),
                ticket: Some(ticket.0),
                frames: match handover {
                    Ok(handover) => Some(text_frames(&handover.frames)?),
                    Err(_) => None,
                },
                done: handover.as_ref().ok().map(|h| h.done),
                refused: handover.as_ref().err().cloned(),
                ..Default::default()
            },
            Notice::Frames {
                stream,
                frames,
                done,
            } => NoticeWire {
                kind: "frames".into(),
                stream: Some(stream.as_u64()),
                frames: Some(text_frames(frames)?),
                done: Some(*done),
                ..Default::default()
            },
            Notice::StreamMoved { stream } => NoticeWire {
                kind: "moved".into(),
                stream: Some(stream.as_u64()),
                ..Default::default()
            },
            Notice::StreamLost { stream, from } => NoticeWire {
                kind: "lost".into(),
                stream: Some(stream.as_u64()),
                from: Some(*from),
                ..Default::default()
            },
            Notice::Published(change) => {
                let (change, uri) = match change {
                    Change::ToolsListChanged => ("tools", None),
                    Change::PromptsListChanged => ("prompts", None),
                    Change::ResourcesListChanged => ("resources", None),
                    Change::ResourceUpdated(uri) => ("resource", Some(uri.clone())),
                };
                NoticeWire {
                    kind: "published".into(),
                    change: Some(change.into()),
                    uri,
                    ..Default::default()
                }
            }
        };
        Some(serde_json::to_vec(&wire).expect("a notice serialises"))
    }

    /// A notice as [`encode`](Self::encode) wrote it; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let wire: NoticeWire<'_> = serde_json::from_slice(bytes).ok()?;
        let session = || SessionId::parse(wire.session.as_deref()?);
        let message = || Some(Bytes::copy_from_slice(wire.message?.get().as_bytes()));
        Some(match wire.kind.as_str() {
            "ended" => Notice::SessionEnded {
                session: session()?,
                reason: reason_named(wire.reason.as_deref()?)?,
            },
            "relayed" => Notice::Relayed {
                session: session()?,
                message: message()?,
            },
            "deliver" => Notice::Deliver {
                session: session()?,
                message: message()?,
            },
            "response" => Notice::Response {
                session: match wire.session.is_some() {
                    true => Some(session()?),
                    false => None,
                },
                message: message()?,
            },
            "taken" => Notice::StreamTaken {
                session: session()?,
                from: wire.from?,
            },
            "resume" => Notice::ResumeAsked {
                from: wire.from?,
                ticket: Ticket(wire.ticket?),
                stream: StreamId::from_u64(wire.stream?),
                session: session()?,
                after: wire.after?,
            },
            "resumed" => Notice::ResumeAnswered {
                ticket: Ticket(wire.ticket?),
                handover: match (wire.frames, wire.refused) {
                    (Some(frames), None) => Ok(Handover {
                        frames: frames.into_iter().map(Bytes::from).collect(),
                        done: wire.done?,
                    }),
                    (None, Some(refused)) => Err(refused),
                    _ => return None,
                },
            },
            "frames" => Notice::Frames {
                stream: StreamId::from_u64(wire.stream?),
                frames: wire.frames?.into_iter().map(Bytes::from).collect(),
                done: wire.done?,
            },
            "moved" => Notice::StreamMoved {
                stream: StreamId::from_u64(wire.stream?),
            },
            "lost" => Notice::StreamLost {
                stream: StreamId::from_u64(wire.stream?),
                from: wire.from?,
            },
            "published" => Notice::Published(match (wire.change.as_deref()?, wire.uri) {
                ("tools", None) => Change::ToolsListChanged,
                ("prompts", None) => Change::PromptsListChanged,
                ("resources", None) => Change::ResourcesListChanged,
                ("resource", Some(uri)) => Change::ResourceUpdated(uri),
                _ => return None,
            }),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let session = SessionId::parse("abc").unwrap();
        let client = RawValue::from_string(r#"{"capabilities":{"sampling":{}}}"#.into()).unwrap();
        let record = SessionRecord {
            session: session.clone(),
            transport: Transport::Streamable,
            version: Some(ProtocolVersion::V2025_11_25),
            owner: Some("alice".into()),
            client: Some(client),
        };
        let decoded = SessionRecord::decode(session.clone(), &record.encode()).unwrap();
        assert_eq!(decoded.encode(), record.encode());
        assert_eq!(decoded.version, record.version);
        let bare = SessionRecord {
            session: session.clone(),
            transport: Transport::HttpSse,
            version: None,
            owner: None,
            client: None,
        };
        assert_eq!(
            SessionRecord::decode(session.clone(), &bare.encode()),
            Some(bare)
        );
        for bad in [&b"{}"[..], b"nope", br#"{"transport":"carrier pigeon"}"#] {
            assert_eq!(SessionRecord::decode(session.clone(), bad), None);
        }
    }

    #[test]
    fn stream_meta_round_trips() {
        let meta = StreamMeta::new(
            SessionId::parse("s").unwrap(),
            vec![
                crate::jsonrpc::Id::Number(-3),
                crate::jsonrpc::Id::String("x\"y".into()),
            ],
        )
        .with_requests(vec![Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":-3,"method":"m"}"#,
        )]);
        assert_eq!(StreamMeta::decode(&meta.encode()), Some(meta));
        assert_eq!(StreamMeta::decode(br#"{"session":"s","owed":[1.5]}"#), None);
    }

    #[test]
    fn notices_round_trip() {
        let session = SessionId::parse("s1").unwrap();
        let notices = [
            Notice::SessionEnded {
                session: session.clone(),
                reason: CloseReason::Deleted,
            },
            Notice::Relayed {
                session: session.clone(),
                message: Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            },
            Notice::Deliver {
                session: session.clone(),
                message: Bytes::from_static(br#"{"jsonrpc":"2.0","method":"n"}"#),
            },
            Notice::Published(Change::ToolsListChanged),
            Notice::Published(Change::ResourceUpdated("file:///a".into())),
            Notice::Response {
                session: Some(session.clone()),
                message: Bytes::from_static(br#"{"jsonrpc":"2.0","id":"s1-4","result":{}}"#),
            },
            Notice::Response {
                session: None,
                message: Bytes::from_static(br#"{"jsonrpc":"2.0","id":2,"result":{}}"#),
            },
            Notice::ResumeAsked {
                from: 3,
                ticket: Ticket(9),
                stream: StreamId::from_u64(5 << 40 | 2),
                session: session.clone(),
                after: 4,
            },
            Notice::ResumeAnswered {
                ticket: Ticket(9),
                handover: Ok(Handover {
                    frames: vec![Bytes::from_static(b"id: 1\ndata: {}\n\n")],
                    done: true,
                }),
            },
            Notice::ResumeAnswered {
                ticket: Ticket(9),
                handover: Err("Bad Request: gone".into()),
            },
            Notice::Frames {
                stream: StreamId::from_u64(7),
                frames: vec![],
                done: false,
            },
            Notice::StreamMoved {
                stream: StreamId::from_u64(7),
            },
            Notice::StreamTaken {
                session: session.clone(),
                from: 4,
            },
            Notice::StreamLost {
                stream: StreamId::from_u64(7),
                from: 2,
            },
        ];
        for notice in notices {
            let bytes = notice.encode().unwrap();
            assert_eq!(Notice::decode(&bytes), Some(notice));
        }
        let not_json = Notice::Deliver {
            session,
            message: Bytes::from_static(b"{oops"),
        };
        assert_eq!(not_json.encode(), None);
        assert_eq!(
            Notice::decode(br#"{"kind":"ended","session":"x y","reason":"closed"}"#),
            None
        );
    }
}
