//! Resumability: event ids, and the store that keeps sent events for replay (S2.25–S2.29).

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::Chunk;
use crate::ids::Map;

/// A stream of server messages: one SSE response, or a logical stream that outlives the
/// connections carrying it when it is resumable. Never reused within a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub(crate) u64);

impl StreamId {
    /// The instance of a cluster that opened the stream (0 for a server alone).
    pub fn node(self) -> u32 {
        (self.0 >> 40) as u32
    }

    /// The number behind the id, as it travels between instances.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The id `as_u64` gave.
    pub fn from_u64(id: u64) -> Self {
        Self(id)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.0)
    }
}

/// An SSE event id: the server's epoch, the stream and the event's sequence number (S2.27), as
/// `<epoch hex>-<stream>-<seq>`: visible ASCII, safe as a header value (E3.2).
///
/// The epoch is random per server instance, so an id from before a restart is recognised as
/// such instead of being confused with a live stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventId {
    /// The server instance's epoch.
    pub epoch: u32,
    /// The stream.
    pub stream: StreamId,
    /// The event's number on the stream; the priming event is 0.
    pub seq: u64,
}

impl EventId {
    /// Parses an id as written by [`Display`](fmt::Display).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let epoch = u32::from_str_radix(parts.next()?, 16).ok()?;
        let stream = StreamId(parts.next()?.parse().ok()?);
        let seq = parts.next()?.parse().ok()?;
        parts
            .next()
            .is_none()
            .then_some(Self { epoch, stream, seq })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{}-{}", self.epoch, self.stream.0, self.seq)
    }
}

/// Where sent events wait for a client that may resume (S2.29).
///
/// The in-memory [`MemoryStore`] is the default; a shared store lets another server instance
/// resume a stream.
pub trait EventStore: Send + fmt::Debug {
    /// Keeps the frame of event `seq` (numbers grow by one per stream, from 1).
    fn store(&mut self, now: Instant, stream: StreamId, seq: u64, frame: &Chunk);

    /// The frames after `after`, oldest first; `None` when some of them are no longer held
    /// (evicted by the window), so the stream cannot be resumed without loss.
    fn replay(&mut self, now: Instant, stream: StreamId, after: u64) -> Option<Vec<Chunk>>;

    /// Drops everything kept for `stream`.
    fn forget(&mut self, stream: StreamId);

    /// Bytes held, for stats.
    fn bytes(&self) -> usize;
}

/// Keeps each stream's recent events in memory, bounded per stream by bytes and by age, and
/// in all by bytes (the oldest events of any stream go first).
#[derive(Debug)]
pub struct MemoryStore {
    max_bytes: usize,
    max_total: usize,
    max_age: Duration,
    streams: Map<StreamId, Kept>,
    bytes: usize,
    /// Every event kept, oldest first, for the total bound; entries of events already gone
    /// (per-stream bound, age, a forgotten stream) are skipped, and dropped once they outnumber
    /// the live ones.
    order: VecDeque<(StreamId, u64)>,
    events: usize,
}

#[derive(Debug, Default)]
struct Kept {
    events: VecDeque<(u64, Instant, Chunk)>,
    bytes: usize,
    /// The highest sequence number ever stored, so a gap at the front is detectable.
    last_seq: u64,
}

impl Kept {
    /// Whether event `seq` is still here (events leave from the front only).
    fn holds(&self, seq: u64) -> bool {
        self.events
            .front()
            .is_some_and(|(first, _, _)| *first <= seq)
            && seq <= self.last_seq
    }
}

impl MemoryStore {
    /// A store keeping at most `max_bytes` per stream and `max_total` in all, each event for at
    /// most `max_age`.
    pub fn new(max_bytes: usize, max_total: usize, max_age: Duration) -> Self {
        Self {
            max_bytes,
            max_total,
            max_age,
            streams: Map::default(),
            bytes: 0,
            order: VecDeque::new(),
            events: 0,
        }
    }

    /// Drops the oldest events of any stream while more than `max_total` bytes are kept.
    fn evict_oldest(&mut self) {
        while self.bytes > self.max_total {
            let Some((stream, seq)) = self.order.pop_front() else {
                return;
            };
            let Some(kept) = self.streams.get_mut(&stream) else {
                continue;
            };
            if kept
                .events
                .front()
                .is_some_and(|(first, _, _)| *first == seq)
            {
                let (_, _, frame) = kept.events.pop_front().expect("checked");
                kept.bytes -= frame.len();
                self.bytes -= frame.len();
                self.events -= 1;
            }
        }
        if self.order.len() > 2 * self.events + 64 {
            let streams = &self.streams;
            self.order
                .retain(|(stream, seq)| streams.get(stream).is_some_and(|k| k.holds(*seq)));
        }
    }

    fn evict(&mut self, now: Instant, stream: StreamId) {
        let Some(kept) = self.streams.get_mut(&stream) else {
            return;
        };
        while let Some((_, at, frame)) = kept.events.front() {
            let too_old = now.saturating_duration_since(*at) > self.max_age;
            if !too_old && kept.bytes <= self.max_bytes {
                break;
            }
            kept.bytes -= frame.len();
            self.bytes -= frame.len();
            self.events -= 1;
            kept.events.pop_front();
        }
    }
}

impl EventStore for MemoryStore {
    fn store(&mut self, now: Instant, stream: StreamId, seq: u64, frame: &Chunk) {
        let kept = self.streams.entry(stream).or_default();
        kept.bytes += frame.len();
        kept.last_seq = seq;
        kept.events.push_back((seq, now, frame.clone()));
        self.bytes += frame.len();
        self.events += 1;
        self.order.push_back((stream, seq));
        self.evict(now, stream);
        self.evict_oldest();
    }

    fn replay(&mut self, now: Instant, stream: StreamId, after: u64) -> Option<Vec<Chunk>> {
        self.evict(now, stream);
        let Some(kept) = self.streams.get(&stream) else {
            // Nothing was ever kept: resumable only if nothing was sent after `after`.
            return (after == 0).then(Vec::new);
        };
        if after >= kept.last_seq {
            return (after == kept.last_seq).then(Vec::new);
        }
        let first = kept
            .events
            .front()
            .map_or(kept.last_seq + 1, |(seq, _, _)| *seq);
        if first > after + 1 {
            return None;
        }
        Some(
            kept.events
                .iter()
                .filter(|(seq, _, _)| *seq > after)
                .map(|(_, _, frame)| frame.clone())
                .collect(),
        )
    }

    fn forget(&mut self, stream: StreamId) {
        if let Some(kept) = self.streams.remove(&stream) {
            self.bytes -= kept.bytes;
            self.events -= kept.events.len();
        }
    }

    fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_round_trip_and_are_visible_ascii_s2_27() {
        let id = EventId {
            epoch: 0xdead_beef,
            stream: StreamId(7),
            seq: 42,
        };
        let text = id.to_string();
        assert_eq!(text, "deadbeef-7-42");
        assert!(text.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        assert_eq!(EventId::parse(&text), Some(id));
        for bad in ["", "x-1-2", "1-2", "1-2-3-4", "1--2", "1-2-x"] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn replay_returns_what_came_after_and_detects_gaps() {
        let now = Instant::now();
        let mut store = MemoryStore::new(10, 100, Duration::from_secs(60));
        let s = StreamId(1);
        for seq in 1..=4 {
            store.store(now, s, seq, &Chunk::from("abcd"));
        }
        // 16 bytes sent, 10 kept: events 1 and 2 were evicted.
        assert_eq!(store.bytes(), 8);
        assert!(store.replay(now, s, 1).is_none(), "event 2 is gone");
        assert_eq!(store.replay(now, s, 2).unwrap().len(), 2);
        assert_eq!(store.replay(now, s, 4).unwrap().len(), 0);
        assert!(store.replay(now, s, 5).is_none(), "never sent");
        // Age bounds the window too.
        assert!(store.replay(now + Duration::from_secs(61), s, 2).is_none());
        store.forget(s);
        assert_eq!(store.bytes(), 0);
        assert!(store.replay(now, s, 0).unwrap().is_empty());
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do as the start of a test
    fn the_total_bound_drops_the_oldest_events_of_any_stream() {
        let now = Instant::now();
        let mut store = MemoryStore::new(100, 12, Duration::from_secs(60));
        let (a, b) = (StreamId(1), StreamId(2));
        store.store(now, a, 1, &Chunk::from("abcd"));
        store.store(now, b, 1, &Chunk::from("abcd"));
        store.store(now, a, 2, &Chunk::from("abcd"));
        assert_eq!(store.bytes(), 12);
        store.store(now, b, 2, &Chunk::from("abcd"));
        assert_eq!(store.bytes(), 12, "a's first event went");
        assert!(store.replay(now, a, 0).is_none(), "a lost event 1");
        assert_eq!(store.replay(now, a, 1).unwrap().len(), 1);
        assert_eq!(store.replay(now, b, 0).unwrap().len(), 2);
        // Entries of events gone otherwise do not pile up.
        for seq in 3..1000 {
            store.store(now, b, seq, &Chunk::from("abcd"));
            store.forget(a);
        }
        assert!(store.order.len() <= 2 * store.events + 64);
    }
}
