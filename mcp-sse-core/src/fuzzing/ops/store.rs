//! The store the instances of a scripted cluster share: what a real one (Redis) keeps, with
//! none of its timing. Records live for their `ttl` unless touched, the latest instance to
//! hold a session's stream gets the messages for it, and every notice goes through the wire
//! format. Events and metas of resumable streams are kept per stream for their `ttl`, and
//! handed out for a stream whose instance the script declared dead. When an operation is performed, when its answer arrives, and whether a notice
//! arrives at all is the script's to choose (`ops.rs`): the store only keeps the queues.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use bytes::Bytes;

use crate::{Answer, Notice, Recovery, SessionRecord, Shared, StreamMeta, Ticket};

/// A notice on its way to instance `to`.
pub(super) struct InFlight {
    pub(super) to: usize,
    /// Its wire form: what reaches the instance is what it decodes.
    pub(super) bytes: Vec<u8>,
    /// For a relayed message, the instance that relayed it and the ticket it relayed it under.
    pub(super) relay: Option<(usize, Ticket)>,
}

/// What performing an operation did, besides queueing notices.
#[derive(Default)]
pub(super) struct Performed {
    /// The answer its ticket is owed.
    pub(super) answer: Option<(Ticket, Answer)>,
    /// A message for a session's stream, and the instance holding it that it went to (`None`:
    /// no instance holds it, nobody gets it).
    pub(super) delivered: Option<(Option<usize>, Bytes)>,
}

pub(super) struct Store {
    nodes: usize,
    /// Operations the instances asked for, not performed yet, with the instance that asked.
    pub(super) pending: Vec<(usize, Shared)>,
    /// Answers of performed operations, not delivered yet.
    pub(super) answers: Vec<(usize, Ticket, Answer)>,
    pub(super) notices: Vec<InFlight>,
    /// Each session's record as the core encoded it, and when it expires.
    records: HashMap<String, (Vec<u8>, Instant)>,
    /// The instance that last said it holds each session's stream.
    holders: HashMap<String, usize>,
    /// Sessions ended for good, and those of them stored again since.
    ended: HashSet<String>,
    pub(super) resurrected: HashSet<String>,
    /// Instances whose process is gone: their streams may be recovered.
    pub(super) dead: HashSet<usize>,
    /// Each resumable stream's meta as the core encoded it, and its events, with their expiry.
    metas: HashMap<u64, (Vec<u8>, Instant)>,
    events: HashMap<u64, Vec<(u64, Bytes, Instant)>>,
}

impl Store {
    pub(super) fn new(nodes: usize) -> Self {
        Self {
            nodes,
            pending: Vec::new(),
            answers: Vec::new(),
            notices: Vec::new(),
            records: HashMap::new(),
            holders: HashMap::new(),
            ended: HashSet::new(),
            resurrected: HashSet::new(),
            dead: HashSet::new(),
            metas: HashMap::new(),
            events: HashMap::new(),
        }
    }

    pub(super) fn is_quiet(&self) -> bool {
        self.pending.is_empty() && self.answers.is_empty() && self.notices.is_empty()
    }

    /// The record of `session`, if the store keeps it at `now`.
    pub(super) fn record(&self, now: Instant, session: &str) -> Option<SessionRecord> {
        let (bytes, _) = self
            .records
            .get(session)
            .filter(|(_, until)| *until > now)?;
        let id = crate::SessionId::parse(session).expect("the core's session ids");
        Some(SessionRecord::decode(id, bytes).expect("a record the core encoded decodes"))
    }

    /// Performs `op`, which instance `from` asked for, at `now`.
    pub(super) fn perform(&mut self, now: Instant, from: usize, op: Shared) -> Performed {
        let mut done = Performed::default();
        match op {
            Shared::SaveSession {
                ticket,
                record,
                ttl,
            } => {
                let key = record.session.to_string();
                if self.ended.contains(&key) {
                    self.resurrected.insert(key.clone());
                }
                self.records.insert(key, (record.encode(), now + ttl));
                done.answer = Some((ticket, Answer::Done));
            }
            Shared::LoadSession { ticket, session } => {
                let record = self.record(now, session.as_str());
                done.answer = Some((ticket, Answer::Found(record)));
            }
            Shared::TouchSession { session, ttl } => {
                // Like Redis' EXPIRE: an expired or deleted record stays gone.
                if let Some((_, until)) = self.records.get_mut(session.as_str())
                    && *until > now
                {
                    *until = now + ttl;
                }
            }
            Shared::EndSession {
                ticket,
                session,
                reason,
            } => {
                self.records.remove(session.as_str());
                self.holders.remove(session.as_str());
                self.ended.insert(session.to_string());
                self.broadcast(from, &Notice::SessionEnded { session, reason });
                done.answer = ticket.map(|ticket| (ticket, Answer::Done));
            }
            Shared::Hold { session } => {
                self.holders.insert(session.to_string(), from);
            }
            Shared::TakeStream {
                session,
                from: taker,
            } => {
                assert_eq!(
                    taker as usize,
                    from + 1,
                    "an instance takes a stream for itself"
                );
                // The holder hears it, even when it is the taker (which keeps its stream).
                if let Some(&holder) = self.holders.get(session.as_str()) {
                    let notice = Notice::StreamTaken {
                        session: session.clone(),
                        from: taker,
                    };
                    self.send(holder, &notice, None);
                }
                self.holders.insert(session.to_string(), from);
            }
            Shared::Release { session } => {
                if self.holders.get(session.as_str()) == Some(&from) {
                    self.holders.remove(session.as_str());
                }
            }
            Shared::Relay {
                ticket,
                session,
                message,
            } => {
                let holder = self.holders.get(session.as_str()).copied();
                if let Some(to) = holder {
                    let notice = Notice::Relayed { session, message };
                    self.send(to, &notice, Some((from, ticket)));
                }
                done.answer = Some((ticket, Answer::Relayed(holder.is_some())));
            }
            Shared::Deliver { session, message } => {
                let holder = self.holders.get(session.as_str()).copied();
                if let Some(to) = holder {
                    let notice = Notice::Deliver {
                        session,
                        message: message.clone(),
                    };
                    self.send(to, &notice, None);
                }
                done.delivered = Some((holder, message));
            }
            Shared::Publish(change) => self.broadcast(from, &Notice::Published(change)),
            Shared::Unclaimed { .. } => {
                panic!("the core sent Unclaimed: only its application knows what it asked")
            }
            Shared::ToNode { node, notice } => {
                let to = node as usize - 1;
                assert!(
                    to < self.nodes,
                    "a notice to instance {node}, not in the cluster"
                );
                self.send(to, &notice, None);
            }
            Shared::Append {
                stream,
                seq,
                frame,
                ttl,
            } => {
                let events = self.events.entry(stream.as_u64()).or_default();
                events.push((seq, frame, now + ttl));
            }
            Shared::StreamOpened { stream, meta, ttl } => {
                let meta = (meta.encode(), now + ttl);
                self.metas.insert(stream.as_u64(), meta);
            }
            Shared::Recover { ticket, stream } => {
                let owner = stream.node() as usize - 1;
                let answer = match self.dead.contains(&owner) {
                    // The owner may still answer: the client should try again.
                    false => Answer::Failed,
                    true => Answer::Recovered(self.recovery(now, stream.as_u64())),
                };
                done.answer = Some((ticket, answer));
            }
        }
        done
    }

    /// What the store keeps at `now` of `stream`: its meta and its events, oldest first.
    fn recovery(&self, now: Instant, stream: u64) -> Option<Recovery> {
        let (meta, _) = self.metas.get(&stream).filter(|(_, until)| *until > now)?;
        let meta = StreamMeta::decode(meta).expect("a meta the core encoded decodes");
        let mut events: Vec<(u64, Bytes)> = (self.events.get(&stream).into_iter().flatten())
            .filter(|(_, _, until)| *until > now)
            .map(|(seq, frame, _)| (*seq, frame.clone()))
            .collect();
        events.sort_by_key(|(seq, _)| *seq);
        Some(Recovery::new(meta, events))
    }

    fn send(&mut self, to: usize, notice: &Notice, relay: Option<(usize, Ticket)>) {
        let bytes = notice.encode().expect("the core sends JSON messages only");
        self.notices.push(InFlight { to, bytes, relay });
    }

    fn broadcast(&mut self, from: usize, notice: &Notice) {
        for to in (0..self.nodes).filter(|&n| n != from) {
            self.send(to, notice, None);
        }
    }
}
