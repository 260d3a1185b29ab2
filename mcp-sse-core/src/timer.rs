//! Timers: a min-heap of deadlines with lazy removal.
//!
//! An entry is never moved when its deadline changes (a stream writing resets its keepalive on
//! every frame): the handler of a due entry checks the real deadline and re-arms the entry.
//! Entries of things that are gone are pruned from the top, so the earliest deadline is read in
//! O(1) and a sweep touches only the entries that are due; once they outnumber the live ones
//! they are all dropped at once.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::{ExchangeId, SessionId};

/// What a timer is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TimerKind {
    /// Write a comment frame on an idle SSE stream (E5.1), or abort it if its client stopped
    /// reading (`Config::stall_timeout`).
    Keepalive(ExchangeId),
    /// Start the SSE head of an answer whose request stayed silent (`Config::json_hold`).
    Hold(ExchangeId),
    /// Forget the streams kept for replay without a connection (broken, closed for polling, or
    /// finished) for longer than `Config::replay_age`.
    ReplayExpiry,
    /// The shutdown's grace period is over: end what is left.
    ShutdownDeadline,
    /// Check a session for idleness (`Config::idle_timeout`, `Config::init_timeout`).
    SessionExpiry(SessionId),
    /// Give up waiting for another instance of the cluster (`Cluster::resume_timeout`).
    Resume(crate::Ticket),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerKind)>>,
    /// Twice the size after the last compaction: live duplicates (a stream detached again and
    /// again) may keep the heap large, and must not make every compaction scan it.
    compacted: usize,
}

impl Timers {
    pub(crate) fn arm(&mut self, at: Instant, kind: TimerKind) {
        self.heap.push(Reverse((at, kind)));
    }

    /// The earliest deadline, which may belong to an entry that turns out to be stale.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerKind> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, kind))| kind),
            _ => None,
        }
    }

    /// Drops entries at the top whose target is gone, so `next` does not wake anyone for them.
    pub(crate) fn prune(&mut self, mut live: impl FnMut(&TimerKind) -> bool) {
        while let Some(Reverse((_, kind))) = self.heap.peek() {
            if live(kind) {
                return;
            }
            self.heap.pop();
        }
    }

    /// Drops every entry whose target is gone once they outnumber the live ones, so that
    /// short-lived streams (an SSE answer lasts microseconds, its keepalive entry 15 s) neither
    /// pile up nor come due one by one. Amortised O(1) per entry.
    pub(crate) fn compact(&mut self, live_targets: usize, live: impl FnMut(&TimerKind) -> bool) {
        if self.heap.len() > (2 * live_targets + 64).max(self.compacted) {
            let mut live = live;
            self.heap.retain(|Reverse((_, kind))| live(kind));
            self.compacted = 2 * self.heap.len();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
