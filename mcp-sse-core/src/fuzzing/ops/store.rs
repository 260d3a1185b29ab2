//! The store the instances of a scripted cluster share: what a real one (Redis) keeps, with
//! none of its timing. Records live for their `ttl` unless touched, the latest instance to
//! hold a session's stream gets the messages for it, and every notice goes through the wire
//! format. When an operation is performed, when its answer arrives, and whether a notice
//! arrives at all is the script's to choose (`ops.rs`): the store only keeps the queues.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use bytes::Bytes;

use crate::{Answer, Notice, SessionRecord, Shared, Ticket};

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
            Shared::EndSession { session, reason } => {
                self.records.remove(session.as_str());
                self.holders.remove(session.as_str());
                self.ended.insert(session.to_string());
                self.broadcast(from, &Notice::SessionEnded { session, reason });
            }
            Shared::Hold { session } => {
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
        }
        done
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
