//! [`Requests`]: client requests handed to the application and not answered yet.

use http::StatusCode;

use crate::ids::Map;
use crate::jsonrpc::{self, Id};
use crate::replay::StreamId;
use crate::{RequestKey, SessionId};

/// A request handed to the application and not answered yet.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) id: Id,
    pub(crate) session: Option<SessionId>,
    /// The stream that carries its answer.
    pub(crate) stream: StreamId,
    /// Whether it is `initialize`, whose answer names the session's version.
    pub(crate) initialize: bool,
    /// Whether it is a 2026-07-28 request (error answers map to HTTP statuses, S3.19).
    pub(crate) v2026: bool,
    /// Whether its `_meta` asked for log notifications (S3.14).
    pub(crate) logs: bool,
}

impl Pending {
    /// The HTTP status of an error answer that goes out as JSON: `200` before 2026; for a
    /// 2026-07-28 request, the status its code maps to (S3.17–S3.19, S3.28, S3.29).
    pub(crate) fn error_status(&self, code: i64) -> StatusCode {
        if !self.v2026 {
            return StatusCode::OK;
        }
        match code {
            jsonrpc::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
            jsonrpc::INVALID_PARAMS
            | jsonrpc::HEADER_MISMATCH
            | jsonrpc::MISSING_CLIENT_CAPABILITY
            | jsonrpc::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }
}

/// The requests in flight, by key, and how many each session has
/// (`Config::max_requests_in_flight`). Keys are never reused.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    next: u64,
    pending: Map<RequestKey, Pending>,
    per_session: Map<SessionId, usize>,
}

impl Requests {
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn get(&self, key: RequestKey) -> Option<&Pending> {
        self.pending.get(&key)
    }

    /// Requests of `session` in flight.
    pub(crate) fn in_flight(&self, session: &SessionId) -> usize {
        self.per_session.get(session).copied().unwrap_or(0)
    }

    /// Sessions with requests in flight.
    pub(crate) fn sessions_busy(&self) -> usize {
        self.per_session.len()
    }

    /// The request `session`'s client knows as `id`, for its `notifications/cancelled` (S2.17).
    pub(crate) fn find(&self, session: Option<&SessionId>, id: &Id) -> Option<RequestKey> {
        self.pending
            .iter()
            .find(|(_, p)| p.id == *id && p.session.as_ref() == session)
            .map(|(key, _)| *key)
    }

    /// Takes a request in; its key answers it.
    pub(crate) fn admit(&mut self, pending: Pending) -> RequestKey {
        let key = RequestKey(self.next);
        self.next += 1;
        if let Some(session) = &pending.session {
            *self.per_session.entry(session.clone()).or_default() += 1;
        }
        self.pending.insert(key, pending);
        key
    }

    /// The request leaves: answered, cancelled, or its stream or session gone.
    pub(crate) fn take(&mut self, key: RequestKey) -> Option<Pending> {
        let pending = self.pending.remove(&key)?;
        if let Some(session) = &pending.session
            && let Some(count) = self.per_session.get_mut(session)
        {
            *count -= 1;
            if *count == 0 {
                self.per_session.remove(session);
            }
        }
        Some(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(session: Option<&str>, id: i64) -> Pending {
        Pending {
            id: Id::Number(id),
            session: session.map(|s| SessionId::parse(s).unwrap()),
            stream: StreamId(0),
            initialize: false,
            v2026: false,
            logs: false,
        }
    }

    #[test]
    fn sessions_count_their_requests_in_flight() {
        let mut requests = Requests::default();
        let a = SessionId::parse("a").unwrap();
        let first = requests.admit(pending(Some("a"), 1));
        let second = requests.admit(pending(Some("a"), 2));
        requests.admit(pending(None, 1));
        assert_ne!(first, second, "keys are never reused");
        assert_eq!(requests.in_flight(&a), 2);
        assert_eq!(requests.len(), 3);
        assert!(requests.take(first).is_some());
        assert!(requests.take(first).is_none(), "taken once");
        assert_eq!(requests.in_flight(&a), 1);
        requests.take(second);
        assert_eq!(requests.in_flight(&a), 0);
        assert!(requests.per_session.is_empty(), "no count left behind");
    }

    #[test]
    fn error_answers_to_2026_requests_carry_their_http_status_s3_19() {
        let mut before = pending(None, 1);
        assert_eq!(
            before.error_status(jsonrpc::METHOD_NOT_FOUND),
            StatusCode::OK
        );
        before.v2026 = true;
        assert_eq!(
            before.error_status(jsonrpc::METHOD_NOT_FOUND),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            before.error_status(jsonrpc::INVALID_PARAMS),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(before.error_status(jsonrpc::INTERNAL_ERROR), StatusCode::OK);
    }

    #[test]
    fn a_cancellation_finds_its_request_by_session_and_id_s2_17() {
        let mut requests = Requests::default();
        let key = requests.admit(pending(Some("a"), 7));
        requests.admit(pending(Some("b"), 7));
        let a = SessionId::parse("a").unwrap();
        assert_eq!(requests.find(Some(&a), &Id::Number(7)), Some(key));
        assert_eq!(requests.find(Some(&a), &Id::Number(8)), None);
        assert_eq!(requests.find(None, &Id::Number(7)), None);
    }
}
