//! [`Members`]: this instance's part in a cluster: its identity, the questions out to the
//! shared store (each under a [`Ticket`], with what waits for its answer), and when each
//! session was last refreshed in the store.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::Cluster;
use crate::ids::Map;
use crate::replay::StreamId;
use crate::responses::Ctx;
use crate::{SessionId, Ticket};

/// An HTTP request waiting for the store, with what its answer needs.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) ctx: Ctx,
    pub(crate) head: http::request::Parts,
    pub(crate) body: Bytes,
}

/// What a ticket was taken for.
#[derive(Debug)]
pub(crate) enum Waiting {
    /// A request naming a session this instance does not hold.
    Lookup(Box<Parked>),
    /// The answer to `initialize` (request `id`, handed out as `key`), held until its session
    /// is stored.
    Save {
        session: SessionId,
        id: crate::jsonrpc::Id,
        key: crate::RequestKey,
        stream: StreamId,
        answer: crate::streams::Answer,
    },
    /// A 2024-11-05 session, whose stream (the session itself) starts once it is stored, with
    /// its first event.
    Stream {
        session: SessionId,
        stream: StreamId,
        first: crate::Chunk,
    },
    /// A `DELETE`, answered once every instance was told.
    Delete { ctx: Ctx },
    /// A `GET` resuming a stream another instance opened: its owner hands it over.
    Resume {
        ctx: Ctx,
        session: SessionId,
        stream: StreamId,
        after: u64,
    },
    /// Its owner gone, the stream is taken over from what the store kept.
    Recover {
        ctx: Ctx,
        session: SessionId,
        stream: StreamId,
        after: u64,
    },
    /// A `POST` of a 2024-11-05 session relayed to the instance carrying its stream: `202`
    /// once it took it.
    Relay {
        ctx: Ctx,
        id: Option<crate::jsonrpc::Id>,
    },
}

/// The cluster part of a server: its identity, the tickets out, and when each session was last
/// touched in the store.
#[derive(Debug)]
pub(crate) struct Members {
    pub(crate) cluster: Cluster,
    next_ticket: u64,
    waiting: Map<Ticket, Waiting>,
    /// Lookups out, by exchange: a client gone meanwhile is forgotten at once.
    by_exchange: Map<crate::ExchangeId, Ticket>,
    touched: Map<SessionId, Instant>,
    ttl: Duration,
}

impl Members {
    pub(crate) fn new(cluster: Cluster, idle_timeout: Option<Duration>) -> Self {
        let ttl = idle_timeout.unwrap_or(cluster.session_ttl);
        Self {
            cluster,
            next_ticket: 0,
            waiting: Map::default(),
            by_exchange: Map::default(),
            touched: Map::default(),
            ttl,
        }
    }

    // ---- getters ----

    /// How long a session lives in the store without activity.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether another request may wait for the store.
    pub(crate) fn has_room(&self) -> bool {
        self.waiting.len() < self.cluster.max_waiting
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether `ticket` is still out.
    pub(crate) fn is_out(&self, ticket: Ticket) -> bool {
        self.waiting.contains_key(&ticket)
    }

    // ---- tickets ----

    /// A ticket for `what`; a lookup is remembered by its exchange too.
    pub(crate) fn take(&mut self, what: Waiting) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        if let Waiting::Lookup(parked) = &what {
            self.by_exchange.insert(parked.ctx.exchange, ticket);
        }
        self.waiting.insert(ticket, what);
        ticket
    }

    /// What `ticket` was taken for; `None` if it was answered already or forgotten.
    pub(crate) fn settle(&mut self, ticket: Ticket) -> Option<Waiting> {
        let what = self.waiting.remove(&ticket)?;
        if let Waiting::Lookup(parked) = &what {
            self.by_exchange.remove(&parked.ctx.exchange);
        }
        Some(what)
    }

    /// The client of a waiting lookup went away: its answer has nowhere to go.
    pub(crate) fn disconnect(&mut self, exchange: crate::ExchangeId) -> bool {
        match self.by_exchange.remove(&exchange) {
            Some(ticket) => self.waiting.remove(&ticket).is_some(),
            None => false,
        }
    }

    /// Whether the session's store entry should be refreshed now: at most once per quarter of
    /// its lifetime per instance.
    pub(crate) fn should_touch(&mut self, now: Instant, session: &SessionId) -> bool {
        let every = self.ttl / 4;
        match self.touched.get(session) {
            Some(at) if now.saturating_duration_since(*at) < every => false,
            _ => {
                self.touched.insert(session.clone(), now);
                true
            }
        }
    }

    /// The session is gone here: stop refreshing it.
    pub(crate) fn forget(&mut self, session: &SessionId) {
        self.touched.remove(session);
    }
}
