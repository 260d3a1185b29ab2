//! [`Sessions`]: what the server remembers between the requests of one client, how sessions
//! are minted, how many may live at once, and when an idle one expires.

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
}

impl Sessions {
    pub(crate) fn new(config: &Config, ids: Box<dyn IdGenerator>) -> Self {
        Self {
            ids,
            max: config.max_sessions,
            idle_timeout: config.idle_timeout,
            init_timeout: config.init_timeout,
            table: Map::default(),
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
    pub(crate) fn mint(&mut self, now: Instant, transport: Transport) -> SessionId {
        let id = loop {
            let mut bytes = [0; 16];
            self.ids.fill(&mut bytes);
            let id = session_id_from(&bytes);
            if !self.table.contains_key(&id) {
                break id;
            }
        };
        let header = HeaderValue::from_str(id.as_str())
            .expect("session ids are visible ASCII, a valid header value");
        let session = Session {
            transport,
            version: None,
            header,
            initialized: false,
            created: now,
            last_active: now,
        };
        self.table.insert(id.clone(), session);
        id
    }

    /// The client did something with `id`: its idle time starts again.
    pub(crate) fn touch<Q: Key + ?Sized>(&mut self, id: &Q, now: Instant) {
        if let Some(session) = self.table.get_mut(id.as_key()) {
            session.last_active = now;
        }
    }

    pub(crate) fn remove<Q: Key + ?Sized>(&mut self, id: &Q) -> Option<Session> {
        self.table.remove(id.as_key())
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
        let a = table.mint(now, Transport::Streamable);
        assert!(!table.is_full());
        let b = table.mint(now, Transport::HttpSse);
        assert_ne!(a, b);
        assert!(table.is_full());
        assert_eq!(table.get(b.as_str()).unwrap().header, b.as_str());
        table.remove(a.as_str());
        assert!(!table.is_full());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn idle_sessions_expire_unless_busy_s2_40() {
        let mut table = sessions(8, Some(100), Some(10));
        let t0 = Instant::now();
        let s = table.mint(t0, Transport::Streamable);
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
