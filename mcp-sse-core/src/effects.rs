//! [`Effects`]: where every part of the server puts what it decided, for the adapter and the
//! application to act on, and the timers and counters that go with it.

use std::collections::VecDeque;

use crate::Output;
use crate::timer::Timers;

/// The outputs waiting for [`Server::poll_output`](crate::Server::poll_output), the timers, and
/// the counters: what the parts of the server share without knowing each other.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) timers: Timers,
    pub(crate) stats: Stats,
}

impl Effects {
    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }
}

/// Counters, for metrics and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests handled.
    pub requests: u64,
    /// Of those, answered with a 4xx or 5xx status.
    pub rejected: u64,
    /// JSON-RPC messages handed to the application.
    pub messages_in: u64,
    /// JSON-RPC messages the application had sent: replies, and sends the server took.
    pub messages_out: u64,
    /// SSE frames handed to the adapter, keepalives included.
    pub frames_out: u64,
    /// Keepalive comments written.
    pub keepalives: u64,
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Sessions closed.
    pub sessions_closed: u64,
    /// Of those, ended to make room for a new session (`Config::max_sessions`).
    pub sessions_evicted: u64,
    /// Streams resumed with `Last-Event-ID`.
    pub resumes: u64,
    /// Streams aborted because their client stopped reading (`Config::stall_timeout`).
    pub stalled: u64,
}
