//! [`Sessions`]: what the server remembers between the requests of one client, how sessions
//! are minted, how many may live at once, which one gives way when the table is full, and when
//! an idle one expires.
//!
//! At the cap the least recently active *idle* session is ended to make room (S2.40: its
//! client gets `404` and initialises again). Idleness is the caller's to judge (a stream with a
//! connection or a request in flight makes a session busy). The order is kept lazily: an
//! activity only moves the session's clock; the entry in the order moves when eviction meets
//! it, and a session found busy leaves the order ("parked") until its next activity. So an
//! activity costs a field write, and each entry is looked at once per activity, however many
//! sessions are busy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;

use crate::ids::{IdGenerator, Map, session_id_from};
use crate::{Config, ProtocolVersion, SessionId, Transport};

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) transport: Transport,
    /// The version the application's `initialize` answer named (S5.14); `None` before it.
    pub(crate) version: Option<ProtocolVersion>,
    /// The id as a header value, validated once.
    pub(crate) header: HeaderValue,
    /// Whether the client spoke after the `initialize` answer (`Config::init_timeout`).
    pub(crate) initialized: bool,
    created: Instant,
    /// The last request naming the session, or the last stream of it to close.
    last_active: Instant,
    /// Its number, which breaks ties in the eviction order.
    number: u64,
    /// Its key in the eviction order; `None` while parked (found busy, and not active since).
    queued: Option<Instant>,
    /// The server is shutting down: the session ends once its last request is answered.
    pub(crate) closing: bool,
    /// The subject of the principal that created it, with authorization on (S4.6).
    pub(crate) owner: Option<Arc<str>>,
    /// In a cluster, the `params` of the client's `initialize`, until the session is stored.
    pub(crate) client: Option<Box<serde_json::value::RawValue>>,
}

/// What looks a session up: its [`SessionId`], or the text a request named.
pub(crate) trait Key {
    fn as_key(&self) -> &str;
}

impl Key for str {
    fn as_key(&self) -> &str {
        self
    }
}

impl Key for SessionId {
    fn as_key(&self) -> &str {
        self.as_str()
    }
}

/// What an expiry check decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// Idle past its deadline: end it.
    Expire,
    /// Check again then.
    At(Instant),
    /// No timeout applies.
    Never,
}

/// The live sessions, by id.
#[derive(Debug)]
pub(crate) struct Sessions {
    ids: Box<dyn IdGenerator>,
    max: usize,
    idle_timeout: Option<Duration>,
    init_timeout: Option<Duration>,
    table: Map<SessionId, Session>,
    /// Every session not parked, by the activity it was queued at (at most its last).
    order: BTreeMap<(Instant, u64), SessionId>,
    next_number: u64,
}

impl Sessions {
    pub(crate) fn new(config: &Config, ids: Box<dyn IdGenerator>) -> Self {
        Self {
            ids,
            max: config.max_sessions,
            idle_timeout: config.idle_timeout,
            init_timeout: config.init_timeout,
            table: Map::default(),
            order: BTreeMap::new(),
            next_number: 0,
        }
    }

    // ---- getters ----

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether a new session would go past `Config::max_sessions`.
    pub(crate) fn is_full(&self) -> bool {
        self.table.len() >= self.max
    }

    pub(crate) fn get<Q: Key + ?Sized>(&self, id: &Q) -> Option<&Session> {
        self.table.get(id.as_key())
    }

    pub(crate) fn get_mut<Q: Key + ?Sized>(&mut self, id: &Q) -> Option<&mut Session> {
        self.table.get_mut(id.as_key())
    }

    /// The session named `id`, under the id the server minted.
    pub(crate) fn lookup<Q: Key + ?Sized>(&self, id: &Q) -> Option<(&SessionId, &Session)> {
        self.table.get_key_value(id.as_key())
    }

    pub(crate) fn ids(&self) -> Vec<SessionId> {
        self.table.keys().cloned().collect()
    }

    /// When to check a new session first: the earlier of the two timeouts, so that whichever
    /// applies is met (the check re-arms itself for the other).
    pub(crate) fn first_check(&self, now: Instant) -> Option<Instant> {
        let first = match (self.init_timeout, self.idle_timeout) {
            (Some(init), Some(idle)) => Some(init.min(idle)),
            (init, idle) => init.or(idle),
        };
        first.map(|after| now + after)
    }

    /// Whether `id` has been idle too long: a client silent since its `initialize` answer for
    /// `init_timeout`, or any for `idle_timeout`. A `busy` session (a request in flight, a stream
    /// open) is never idle.
    pub(crate) fn expiry<Q: Key + ?Sized>(&self, id: &Q, now: Instant, busy: bool) -> Expiry {
        let Some(session) = self.table.get(id.as_key()) else {
            return Expiry::Never;
        };
        let deadline = match (session.initialized, self.init_timeout) {
            (false, Some(limit)) => Some(session.created + limit),
            _ => self.idle_timeout.map(|idle| session.last_active + idle),
        };
        match deadline {
            Some(at) if at <= now && !busy => Expiry::Expire,
            Some(at) if busy || at <= now => {
                Expiry::At(now + self.idle_timeout.unwrap_or(Duration::from_secs(60)))
            }
            Some(at) => Expiry::At(at),
            None => Expiry::Never,
        }
    }

    // ---- changes ----

    /// A new session with a fresh unguessable id (S2.36).
    pub(crate) fn mint(
        &mut self,
        now: Instant,
        transport: Transport,
        owner: Option<&str>,
    ) -> SessionId {
        let id = loop {
            let mut bytes = [0; 16];
            self.ids.fill(&mut bytes);
            let id = session_id_from(&bytes);
            if !self.table.contains_key(&id) {
                break id;
            }
        };
        self.insert(now, id.clone(), transport, owner.map(Arc::from));
        id
    }

    /// A session another instance of the cluster created, as the store keeps it: its client
    /// spoke already (another instance heard it), so only the idle timeout applies. `false` if
    /// it is here already.
    pub(crate) fn restore(&mut self, now: Instant, record: &crate::SessionRecord) -> bool {
        if self.table.contains_key(&record.session) {
            return false;
        }
        let owner = record.owner.as_deref().map(Arc::from);
        let session = self.insert(now, record.session.clone(), record.transport, owner);
        session.version = record.version;
        session.initialized = true;
        true
    }

    fn insert(
        &mut self,
        now: Instant,
        id: SessionId,
        transport: Transport,
        owner: Option<Arc<str>>,
    ) -> &mut Session {
        let header = HeaderValue::from_str(id.as_str())
            .expect("session ids are visible ASCII, a valid header value");
        let number = self.next_number;
        self.next_number += 1;
        let session = Session {
            transport,
            version: None,
            header,
            initialized: false,
            created: now,
            last_active: now,
            number,
            queued: Some(now),
            closing: false,
            owner,
            client: None,
        };
        self.order.insert((now, number), id.clone());
        self.table.entry(id).insert_entry(session).into_mut()
    }

    /// The client did something with `id`: its idle time starts again, and a parked session
    /// may be idle again.
    pub(crate) fn touch<Q: Key + ?Sized>(&mut self, id: &Q, now: Instant) {
        let Some(session) = self.table.get_mut(id.as_key()) else {
            return;
        };
        session.last_active = now;
        if session.queued.is_none() {
            session.queued = Some(now);
            let number = session.number;
            let (id, _) = self.table.get_key_value(id.as_key()).expect("found above");
            self.order.insert((now, number), id.clone());
        }
    }

    pub(crate) fn remove<Q: Key + ?Sized>(&mut self, id: &Q) -> Option<Session> {
        let session = self.table.remove(id.as_key())?;
        if let Some(at) = session.queued {
            self.order.remove(&(at, session.number));
        }
        Some(session)
    }

    /// The least recently active idle session, to end for a new one (`busy` judges idleness).
    /// Sessions found busy are parked until their next activity. `None`: every session is busy.
    pub(crate) fn evictable(
        &mut self,
        mut busy: impl FnMut(&SessionId) -> bool,
    ) -> Option<SessionId> {
        while let Some(((at, number), id)) = self.order.pop_first() {
            let session = self.table.get_mut(&id).expect("queued sessions are live");
            if at < session.last_active {
                // Active since it was queued: its place is further back.
                session.queued = Some(session.last_active);
                self.order.insert((session.last_active, number), id);
                continue;
            }
            session.queued = None;
            if !busy(&id) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SequentialIds;

    fn sessions(max: usize, idle: Option<u64>, init: Option<u64>) -> Sessions {
        let config = Config {
            max_sessions: max,
            idle_timeout: idle.map(Duration::from_secs),
            init_timeout: init.map(Duration::from_secs),
            ..Config::default()
        };
        Sessions::new(&config, Box::new(SequentialIds::default()))
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn minted_ids_are_unique_and_count_against_the_cap() {
        let mut table = sessions(2, None, None);
        let now = Instant::now();
        let a = table.mint(now, Transport::Streamable, None);
        assert!(!table.is_full());
        let b = table.mint(now, Transport::HttpSse, None);
        assert_ne!(a, b);
        assert!(table.is_full());
        assert_eq!(table.get(b.as_str()).unwrap().header, b.as_str());
        table.remove(a.as_str());
        assert!(!table.is_full());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn the_least_recently_active_idle_session_gives_way_and_busy_ones_never() {
        let mut table = sessions(3, None, None);
        let t0 = Instant::now();
        let secs = |n| t0 + Duration::from_secs(n);
        let a = table.mint(secs(0), Transport::Streamable, None);
        let b = table.mint(secs(1), Transport::Streamable, None);
        let c = table.mint(secs(2), Transport::Streamable, None);
        table.touch(&a, secs(3));
        // b is the least recently active; busy, it is passed over for c.
        assert_eq!(table.evictable(|id| *id == b), Some(c.clone()));
        table.remove(&c);
        // b stays parked (busy when last seen) until it is active again.
        assert_eq!(table.evictable(|_| false), Some(a.clone()));
        assert_eq!(table.evictable(|_| false), None, "b is parked");
        table.touch(&b, secs(4));
        assert_eq!(table.evictable(|_| false), Some(b.clone()));
        assert!(table.order.is_empty());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn every_session_busy_means_none_gives_way_and_each_is_looked_at_once() {
        let mut table = sessions(100, None, None);
        let t0 = Instant::now();
        for _ in 0..100 {
            table.mint(t0, Transport::Streamable, None);
        }
        let mut looked = 0;
        assert_eq!(
            table.evictable(|_| {
                looked += 1;
                true
            }),
            None
        );
        assert_eq!(looked, 100);
        // Parked: a second attempt looks at nobody until some session is active again.
        assert_eq!(table.evictable(|_| unreachable!("parked")), None);
        let removed = table.ids().pop().unwrap();
        table.remove(&removed);
        assert!(table.order.is_empty());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn idle_sessions_expire_unless_busy_s2_40() {
        let mut table = sessions(8, Some(100), Some(10));
        let t0 = Instant::now();
        let s = table.mint(t0, Transport::Streamable, None);
        let secs = |n| t0 + Duration::from_secs(n);
        // The first check comes at the earlier timeout.
        assert_eq!(table.first_check(t0), Some(secs(10)));
        // Silent since initialize: the init timeout applies.
        assert_eq!(
            table.expiry(s.as_str(), secs(5), false),
            Expiry::At(secs(10))
        );
        assert_eq!(table.expiry(s.as_str(), secs(10), false), Expiry::Expire);
        // Busy is never idle: checked again an idle timeout later.
        assert_eq!(
            table.expiry(s.as_str(), secs(10), true),
            Expiry::At(secs(110))
        );
        // Once the client spoke, the idle timeout counts from its last activity.
        table.get_mut(s.as_str()).unwrap().initialized = true;
        table.touch(s.as_str(), secs(50));
        assert_eq!(
            table.expiry(s.as_str(), secs(60), false),
            Expiry::At(secs(150))
        );
        assert_eq!(table.expiry(s.as_str(), secs(150), false), Expiry::Expire);
        assert_eq!(table.expiry("gone", secs(150), false), Expiry::Never);
        let forever = sessions(8, None, None);
        assert_eq!(forever.first_check(t0), None);
    }
}
