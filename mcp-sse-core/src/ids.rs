//! Identifiers: exchanges, sessions, requests, and where session ids come from; and the map
//! the server keeps them in.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The maps of the server. Every key is one the server minted (counters, random session ids),
/// never one a client chose, so a fast hash with no defence against chosen collisions is safe:
/// a client can look up any string but insert none.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// One HTTP request and its response. Never reused within a [`Server`](crate::Server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeId(pub(crate) u64);

impl ExchangeId {
    /// The number behind the id, for logs.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "x{}", self.0)
    }
}

/// A client request handed to the application, to be answered with
/// [`Server::reply`](crate::Server::reply). Never reused within a [`Server`](crate::Server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey(pub(crate) u64);

impl RequestKey {
    /// The number behind the key, for logs.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RequestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A session id as it travels in `Mcp-Session-Id` and in the `endpoint` URI: visible ASCII
/// only (0x21–0x7E, S2.37). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// Accepts `text` if it is a non-empty run of visible ASCII (S2.37), at most 255 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        is_visible_ascii(text.as_bytes()).then(|| Self(text.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn is_visible_ascii(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.len() <= 255 && bytes.iter().all(|b| (0x21..=0x7e).contains(b))
}

impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", &self.0)
    }
}

/// Where the bytes of new session ids come from.
///
/// The default, [`OsRandom`], asks the operating system's CSPRNG for 128 bits per id (S2.36,
/// S2.43: ids must be unguessable). Tests inject a deterministic generator.
pub trait IdGenerator: Send + fmt::Debug {
    /// Fills `out` with fresh random bytes.
    fn fill(&mut self, out: &mut [u8; 16]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default)]
pub struct OsRandom;

impl IdGenerator for OsRandom {
    fn fill(&mut self, out: &mut [u8; 16]) {
        // Without entropy no safe id can be minted; the OS source failing is not recoverable.
        getrandom::fill(out).expect("the operating system's random source is available");
    }
}

/// A counter, for tests and simulations: ids are predictable, never use it in production.
#[derive(Debug, Default)]
pub struct SequentialIds(pub u128);

impl IdGenerator for SequentialIds {
    fn fill(&mut self, out: &mut [u8; 16]) {
        self.0 = self.0.wrapping_add(1);
        *out = self.0.to_be_bytes();
    }
}

/// Turns 128 random bits into 32 lowercase hex digits: visible ASCII and safe in a URI query.
pub(crate) fn session_id_from(bytes: &[u8; 16]) -> SessionId {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(32);
    for b in bytes {
        text.push(HEX[usize::from(b >> 4)] as char);
        text.push(HEX[usize::from(b & 0xf)] as char);
    }
    SessionId(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_visible_ascii_s2_37() {
        let mut ids = OsRandom;
        let mut bytes = [0; 16];
        ids.fill(&mut bytes);
        let id = session_id_from(&bytes);
        assert_eq!(id.as_str().len(), 32);
        assert!(SessionId::parse(id.as_str()).is_some());
        assert!(SessionId::parse("has space").is_none());
        assert!(SessionId::parse("").is_none());
        assert!(SessionId::parse("caf\u{e9}").is_none());
    }

    #[test]
    fn os_random_ids_differ() {
        let (mut a, mut b) = ([0; 16], [0; 16]);
        OsRandom.fill(&mut a);
        OsRandom.fill(&mut b);
        assert_ne!(a, b);
    }
}
