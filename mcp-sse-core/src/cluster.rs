//! Serving as one instance of a cluster (`Config::cluster`): the requests that wait for the
//! shared store, the answers and notices that come back, and what this instance tells the
//! others. The vocabulary, its wire format and the bookkeeping of tickets are in `shared`.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{StatusCode, request};

use crate::cors::Origin;
use crate::jsonrpc::{self, ErrorObject};
use crate::members::{Parked, Waiting};
use crate::replay::EventId;
use crate::responses::{self, Ctx, Unavailable};
use crate::router::named_session;
use crate::server::{Delivery, Server};
use crate::shared::StreamMeta;
use crate::streams::Answer as StreamAnswer;
use crate::timer::TimerKind;
use crate::{
    Answer, CloseReason, Event, Notice, Output, Principal, SessionId, SessionRecord, Shared, Ticket,
};

/// Put in the head of a request that waited for the store, so it does not wait again.
#[derive(Clone, Copy, Debug)]
struct LookedUp;

impl Server {
    /// In a cluster, the session a request names that this instance does not hold (and the
    /// request did not wait for already): the store may know it.
    pub(crate) fn unknown_session(&self, head: &request::Parts) -> Option<SessionId> {
        self.members.as_ref()?;
        if head.extensions.get::<LookedUp>().is_some() {
            return None;
        }
        named_session(head)
            .and_then(SessionId::parse)
            .filter(|id| self.sessions.get(id).is_none())
    }

    /// The request waits for the store to say whether another instance created `session`.
    pub(crate) fn wait_for_session(
        &mut self,
        ctx: &Ctx,
        head: request::Parts,
        body: Bytes,
        session: SessionId,
    ) {
        let members = self.members.as_mut().expect("only in a cluster");
        if !members.has_room() {
            tracing::warn!(
                waiting = members.waiting(),
                "too many requests wait for the store"
            );
            let retry = self.config.retry_after_secs;
            let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
            return ctx.respond(&mut self.fx, response);
        }
        let parked = Box::new(Parked {
            ctx: ctx.clone(),
            head,
            body,
        });
        let ticket = members.take(Waiting::Lookup(parked));
        self.fx
            .push(Output::Shared(Shared::LoadSession { ticket, session }));
    }

    /// The store answered the operation of `ticket`.
    pub(crate) fn answered(&mut self, now: Instant, ticket: Ticket, answer: Answer) {
        let Some(waiting) = self.members.as_mut().and_then(|m| m.settle(ticket)) else {
            return;
        };
        match (waiting, answer) {
            (Waiting::Lookup(parked), Answer::Found(record)) => {
                // A session that ended here for good since the lookup went out stays ended.
                let record = record.filter(|r| {
                    let members = self.members.as_mut().expect("only in a cluster");
                    !members.is_buried(now, &r.session)
                });
                if let Some(record) = record
                    && self.sessions.get(&record.session).is_none()
                {
                    // A session served here counts against max_sessions as any other.
                    if let Err(retry) = self.make_room(now) {
                        let reason = Unavailable::SessionsFull;
                        let response = responses::unavailable(reason, retry, None);
                        return parked.ctx.respond(&mut self.fx, response);
                    }
                    self.restore_session(now, record);
                }
                let Parked {
                    mut ctx,
                    mut head,
                    body,
                } = *parked;
                head.extensions.insert(LookedUp);
                let origin = Origin::of(&self.config.origins, &head.headers);
                self.route(now, &mut ctx, &origin, head, body);
            }
            (Waiting::Lookup(parked), _) => {
                tracing::warn!(exchange = %parked.ctx.exchange, "the store did not find the session in time");
                let retry = self.config.retry_after_secs;
                let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
                parked.ctx.respond(&mut self.fx, response);
            }
            (
                Waiting::Save {
                    session,
                    answer,
                    stream,
                    ..
                },
                Answer::Done,
            ) => {
                self.answer_on(now, stream, answer);
                self.end_if_gone(&session);
            }
            (
                Waiting::Save {
                    session,
                    id,
                    key,
                    stream,
                    ..
                },
                _,
            ) => {
                tracing::warn!(%session, "the store did not keep the new session: initialize fails");
                let retry = self.config.retry_after_secs;
                if self.streams.is_waiting(stream) {
                    // Still one response: a 503 a client retries.
                    let reason = Unavailable::StoreUnavailable;
                    let response = responses::unavailable(reason, retry, Some(&id));
                    self.streams.refuse(&mut self.fx, stream, response);
                } else {
                    // Its handler wrote on a stream already: the error goes there.
                    let error = ErrorObject::new(
                        jsonrpc::INTERNAL_ERROR,
                        Unavailable::StoreUnavailable.message(),
                    );
                    let answer = StreamAnswer {
                        key,
                        body: jsonrpc::encode_error(Some(&id), &error),
                        status: StatusCode::SERVICE_UNAVAILABLE,
                    };
                    self.answer_on(now, stream, answer);
                }
                self.end_session_here(now, &session, CloseReason::Closed);
            }
            (Waiting::Relay { ctx, .. }, Answer::Relayed(true)) => {
                ctx.respond(&mut self.fx, responses::accepted());
            }
            (Waiting::Relay { ctx, id }, Answer::Relayed(false)) => {
                // The instance that carried its stream is gone, and the session with it (S1.9).
                ctx.respond(&mut self.fx, responses::session_not_found(id.as_ref()));
            }
            (Waiting::Relay { ctx, id }, _) => {
                let retry = self.config.retry_after_secs;
                let response =
                    responses::unavailable(Unavailable::StoreUnavailable, retry, id.as_ref());
                ctx.respond(&mut self.fx, response);
            }
            (
                Waiting::Stream {
                    session,
                    stream,
                    first,
                },
                Answer::Done,
            ) => {
                let (fx, sessions) = (&mut self.fx, &self.sessions);
                self.streams.start_held(fx, sessions, now, stream, first);
                self.end_if_gone(&session);
            }
            (
                Waiting::Stream {
                    session, stream, ..
                },
                _,
            ) => {
                tracing::warn!(%session, "the store did not keep the new session: its stream is refused");
                let retry = self.config.retry_after_secs;
                let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
                self.streams.refuse(&mut self.fx, stream, response);
                self.end_session_here(now, &session, CloseReason::Closed);
            }
            (Waiting::Delete { ctx }, Answer::Done) => {
                let mut response = http::Response::new(Bytes::new());
                *response.status_mut() = StatusCode::OK;
                ctx.respond(&mut self.fx, response);
            }
            (Waiting::Delete { ctx }, _) => {
                // Gone here; the others may serve it until the store's expiry.
                let retry = self.config.retry_after_secs;
                let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
                ctx.respond(&mut self.fx, response);
            }
            // Only a timeout answers this one (its owner answers with a notice): the stream
            // is taken over from what the store kept.
            (
                Waiting::Resume {
                    ctx,
                    session,
                    stream,
                    after,
                },
                _,
            ) => {
                tracing::info!(exchange = %ctx.exchange, %stream, "the instance owning the stream did not hand it over in time: taking it over");
                let members = self.members.as_mut().expect("only in a cluster");
                let ticket = members.take(Waiting::Recover {
                    ctx,
                    session,
                    stream,
                    after,
                });
                self.fx
                    .push(Output::Shared(Shared::Recover { ticket, stream }));
            }
            (
                Waiting::Recover {
                    ctx,
                    session,
                    stream,
                    after,
                },
                Answer::Recovered(Some(recovery)),
            ) if recovery.meta.session == session => {
                let requests = recovery.meta.requests.clone();
                let (fx, sessions) = (&mut self.fx, &self.sessions);
                let recovered = self.streams.recover(
                    fx,
                    sessions,
                    now,
                    ctx.clone(),
                    (stream, session.clone(), after),
                    recovery,
                );
                match recovered {
                    Ok(unanswered) => {
                        if self.streams.standalone_of(&session) == Some(stream) {
                            self.hold(&session);
                        }
                        self.run_again(now, &session, stream, unanswered, &requests);
                    }
                    Err(text) => ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, text),
                }
            }
            (Waiting::Recover { ctx, .. }, Answer::Recovered(_)) => {
                let text = "Bad Request: Last-Event-ID names a stream whose instance is gone, and nothing of it is kept";
                ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, text);
            }
            (Waiting::Recover { ctx, .. }, _) => {
                let retry = self.config.retry_after_secs;
                let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
                ctx.respond(&mut self.fx, response);
            }
        }
    }

    /// The requests a stream taken over still owed answers to: handed to this instance's
    /// application again, marked as such (it runs them again or fails them: only it knows
    /// whether running one twice is safe); one the store did not keep whole fails here.
    fn run_again(
        &mut self,
        now: Instant,
        session: &SessionId,
        stream: crate::replay::StreamId,
        unanswered: Vec<jsonrpc::Id>,
        requests: &[Bytes],
    ) {
        let kept: Vec<jsonrpc::Request> = requests
            .iter()
            .filter_map(|bytes| match jsonrpc::classify(bytes) {
                Ok(jsonrpc::Body::Single(jsonrpc::Message::Request(request))) => Some(request),
                _ => None,
            })
            .collect();
        let head = Arc::new(self.head_for(self.config.mcp_path.clone(), session));
        let mut lost = Vec::new();
        for id in unanswered {
            match kept.iter().find(|r| r.id == id) {
                Some(request) => {
                    let request = request.clone();
                    let transport = crate::Transport::Streamable;
                    let session = Some(session.clone());
                    self.deliver_request(
                        &head,
                        session,
                        transport,
                        stream,
                        request,
                        Delivery::Again,
                    );
                }
                None => lost.push(id),
            }
        }
        self.streams.fail_owed(&mut self.fx, now, stream, lost);
    }

    /// The head a request that did not come over HTTP here gets: a `POST` to `path`, with the
    /// session's owner as its principal.
    fn head_for(&self, path: String, session: &SessionId) -> request::Parts {
        let mut head = http::Request::post(path)
            .body(())
            .expect("a path is a valid URI")
            .into_parts()
            .0;
        let owner = self.sessions.get(session).and_then(|s| s.owner.clone());
        if let Some(owner) = owner {
            head.extensions.insert(Principal::new(owner.to_string()));
        }
        head
    }

    /// In a cluster, tells the store of a resumable stream opened here: whose it is, and the
    /// requests it owes answers to, so that another instance can take it over.
    pub(crate) fn share_stream(
        &mut self,
        stream: crate::replay::StreamId,
        session: &SessionId,
        owed: &[jsonrpc::Request],
    ) {
        if self.members.is_none() {
            return;
        }
        let ids = owed.iter().map(|r| r.id.clone()).collect();
        let whole = owed
            .iter()
            .map(|r| jsonrpc::encode_request(&r.id, &r.method, r.params.as_deref()))
            .collect();
        let meta = StreamMeta::new(session.clone(), ids).with_requests(whole);
        // Written with its first event: an answer that goes out as JSON has none to resume.
        self.streams.share_when_streamed(stream, meta);
    }

    /// In a cluster, the event a `Last-Event-ID` names when another instance opened its
    /// stream: that instance hands it over.
    pub(crate) fn foreign_event(&self, last: &str) -> Option<EventId> {
        let cluster = &self.members.as_ref()?.cluster;
        EventId::parse(last).filter(|event| {
            event.epoch == cluster.epoch && event.stream.node() != cluster.node & 0xff_ffff
        })
    }

    /// Asks the instance that opened `event`'s stream to hand it over; the `GET` waits for
    /// it, at most `Cluster::resume_timeout`.
    pub(crate) fn resume_elsewhere(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        session: SessionId,
        event: EventId,
    ) {
        let members = self.members.as_mut().expect("only in a cluster");
        if !members.has_room() {
            let retry = self.config.retry_after_secs;
            let response = responses::unavailable(Unavailable::StoreUnavailable, retry, None);
            return ctx.respond(&mut self.fx, response);
        }
        let from = members.cluster.node;
        let timeout = members.cluster.resume_timeout;
        let ticket = members.take(Waiting::Resume {
            ctx: ctx.clone(),
            session: session.clone(),
            stream: event.stream,
            after: event.seq,
        });
        self.fx.timers.arm(now + timeout, TimerKind::Resume(ticket));
        let notice = Notice::ResumeAsked {
            from,
            ticket,
            stream: event.stream,
            session,
            after: event.seq,
        };
        let node = event.stream.node();
        self.fx
            .push(Output::Shared(Shared::ToNode { node, notice }));
    }

    /// Another instance said something.
    pub(crate) fn noticed(&mut self, now: Instant, notice: Notice) {
        match notice {
            Notice::SessionEnded { session, reason } => {
                if let Some(members) = &mut self.members {
                    members.bury(now, &session);
                }
                self.end_session_here(now, &session, reason);
            }
            Notice::Published(change) => {
                self.announce(now, &change);
                self.fx.push(Output::Event(Event::Published { change }));
            }
            Notice::Deliver { session, message } => {
                if let Err(error) = self.push_to_session(now, &session, message) {
                    tracing::debug!(%session, %error, "a message for a session stream found none here");
                }
            }
            Notice::Relayed { session, message } => self.relayed(now, session, message),
            Notice::StreamTaken { session, from } => {
                let mine = self
                    .members
                    .as_ref()
                    .is_some_and(|m| m.cluster.node == from);
                if !mine && let Some(standalone) = self.streams.standalone_of(&session) {
                    tracing::debug!(%session, "a newer standalone stream opened elsewhere: this one ends");
                    self.end_stream(now, standalone, true);
                    self.fx.push(Output::Shared(Shared::Release { session }));
                }
            }
            Notice::ResumeAsked {
                from,
                ticket,
                stream,
                session,
                after,
            } => {
                self.sessions.touch(&session, now);
                let handover = self
                    .streams
                    .hand_over(&mut self.fx, now, stream, &session, after, from)
                    .map_err(str::to_owned);
                let notice = Notice::ResumeAnswered { ticket, handover };
                self.fx
                    .push(Output::Shared(Shared::ToNode { node: from, notice }));
            }
            Notice::ResumeAnswered { ticket, handover } => {
                let waiting = self.members.as_mut().and_then(|m| m.settle(ticket));
                let Some(Waiting::Resume {
                    ctx,
                    session,
                    stream,
                    ..
                }) = waiting
                else {
                    return;
                };
                match handover {
                    Ok(handover) => {
                        let (fx, sessions) = (&mut self.fx, &self.sessions);
                        self.streams
                            .carry(fx, sessions, now, ctx, (stream, session), handover);
                    }
                    Err(text) => ctx.reject(&mut self.fx, StatusCode::BAD_REQUEST, &text),
                }
            }
            Notice::Frames {
                stream,
                frames,
                done,
            } => self
                .streams
                .forwarded(&mut self.fx, now, stream, frames, done),
            Notice::StreamMoved { stream } => self.streams.moved_away(&mut self.fx, stream),
            Notice::StreamLost { stream, from } => {
                self.streams.lost(&mut self.fx, now, stream, from);
            }
            Notice::Response { session, message } => match jsonrpc::classify(&message) {
                Ok(jsonrpc::Body::Single(
                    response @ (jsonrpc::Message::Response(_) | jsonrpc::Message::Error(_)),
                )) => {
                    self.fx
                        .push(Output::Event(Event::Response { session, response }));
                }
                _ => tracing::debug!("a relayed client answer that is not one"),
            },
        }
    }

    /// A session stored after it ended here (it ended while the store kept it): an end sent
    /// before may have been performed first, so it is sent again.
    fn end_if_gone(&mut self, session: &SessionId) {
        if self.sessions.get(session).is_none() {
            let end = Shared::EndSession {
                ticket: None,
                session: session.clone(),
                reason: CloseReason::Closed,
            };
            self.fx.push(Output::Shared(end));
        }
    }

    /// A session another instance created, served here from now on.
    fn restore_session(&mut self, now: Instant, record: SessionRecord) {
        if !self.sessions.restore(now, &record) {
            return;
        }
        self.arm_session_expiry(now, &record.session);
        self.fx.push(Output::Event(Event::SessionRestored {
            session: record.session,
            transport: record.transport,
            version: record.version,
            client: record.client,
        }));
    }

    /// Holds the answer to `initialize` until the store keeps the session it opened; `Err`
    /// gives the answer back when this server is alone.
    pub(crate) fn save_then_answer(
        &mut self,
        session: &SessionId,
        id: jsonrpc::Id,
        stream: crate::replay::StreamId,
        answer: StreamAnswer,
    ) -> Result<(), StreamAnswer> {
        let Some(record) = self.record_of(session) else {
            return Err(answer);
        };
        self.streams.wait_for_store(stream);
        let members = self
            .members
            .as_mut()
            .expect("records exist in a cluster only");
        let ttl = members.ttl();
        let key = answer.key;
        let ticket = members.take(Waiting::Save {
            session: session.clone(),
            id,
            key,
            stream,
            answer,
        });
        self.fx.push(Output::Shared(Shared::SaveSession {
            ticket,
            record,
            ttl,
        }));
        Ok(())
    }

    /// In a cluster, stores a 2024-11-05 session and says this instance carries its stream,
    /// which starts (with `first`, its `endpoint` event) once the store has it. `Err` gives
    /// `first` back when this server is alone.
    pub(crate) fn share_new_stream_session(
        &mut self,
        session: &SessionId,
        stream: crate::replay::StreamId,
        first: crate::Chunk,
    ) -> Result<(), crate::Chunk> {
        let Some(record) = self.record_of(session) else {
            return Err(first);
        };
        let members = self
            .members
            .as_mut()
            .expect("records exist in a cluster only");
        let ttl = members.ttl();
        let ticket = members.take(Waiting::Stream {
            session: session.clone(),
            stream,
            first,
        });
        self.fx.push(Output::Shared(Shared::SaveSession {
            ticket,
            record,
            ttl,
        }));
        self.hold(session);
        Ok(())
    }

    /// In a cluster, ends a session every instance may serve for the client's `DELETE`, which
    /// is answered once every instance was told; `Err` gives `ctx` back when this server is
    /// alone.
    pub(crate) fn delete_everywhere(
        &mut self,
        now: Instant,
        ctx: &Ctx,
        session: &SessionId,
    ) -> Result<(), ()> {
        if self.members.is_none() {
            return Err(());
        }
        self.end_session_here(now, session, CloseReason::Deleted);
        let members = self.members.as_mut().expect("checked above");
        members.forget(session);
        members.bury(now, session);
        let ticket = members.take(Waiting::Delete { ctx: ctx.clone() });
        let (session, reason) = (session.clone(), CloseReason::Deleted);
        let ticket = Some(ticket);
        let end = Shared::EndSession {
            ticket,
            session: session.clone(),
            reason,
        };
        self.fx.push(Output::Shared(end));
        self.fx.push(Output::Shared(Shared::Release { session }));
        Ok(())
    }

    /// The record of a local session, in a cluster (its client's `initialize` taken from it).
    fn record_of(&mut self, session: &SessionId) -> Option<SessionRecord> {
        self.members.as_ref()?;
        let state = self.sessions.get_mut(session)?;
        Some(SessionRecord {
            session: session.clone(),
            transport: state.transport,
            version: state.version,
            owner: state.owner.as_deref().map(str::to_owned),
            client: state.client.take(),
        })
    }

    /// In a cluster, says this instance carries `session`'s stream.
    pub(crate) fn hold(&mut self, session: &SessionId) {
        if self.members.is_some() {
            let session = session.clone();
            self.fx.push(Output::Shared(Shared::Hold { session }));
        }
    }

    /// In a cluster, says this instance carries `session`'s new standalone stream: the others
    /// end theirs first (newest wins).
    pub(crate) fn take_stream(&mut self, session: &SessionId) {
        if let Some(members) = &self.members {
            let (session, from) = (session.clone(), members.cluster.node);
            let take = Shared::TakeStream {
                session: session.clone(),
                from,
            };
            self.fx.push(Output::Shared(take));
            self.fx.push(Output::Shared(Shared::Hold { session }));
        }
    }

    /// In a cluster, refreshes `session` in the store (at most once per quarter of its life).
    pub(crate) fn touch_shared(&mut self, now: Instant, session: &SessionId) {
        let Some(members) = &mut self.members else {
            return;
        };
        if members.should_touch(now, session) {
            // Touched at most every quarter of its life: the store keeps it a quarter longer
            // than this instance would, so it never expires there first.
            let ttl = members.ttl() + members.ttl() / 4;
            let session = session.clone();
            self.fx
                .push(Output::Shared(Shared::TouchSession { session, ttl }));
        }
    }

    /// A client message of a 2024-11-05 session whose stream is elsewhere: relayed there,
    /// `202` once it arrived. `Err` gives it back when this server is alone.
    pub(crate) fn relay(
        &mut self,
        ctx: &Ctx,
        session: SessionId,
        id: Option<jsonrpc::Id>,
        message: Bytes,
    ) -> Result<(), Bytes> {
        let Some(members) = &mut self.members else {
            return Err(message);
        };
        if !members.has_room() {
            let retry = self.config.retry_after_secs;
            let response =
                responses::unavailable(Unavailable::StoreUnavailable, retry, id.as_ref());
            ctx.respond(&mut self.fx, response);
            return Ok(());
        }
        let ctx = ctx.clone();
        let ticket = members.take(Waiting::Relay { ctx, id });
        self.fx.push(Output::Shared(Shared::Relay {
            ticket,
            session,
            message,
        }));
        Ok(())
    }

    /// A client message another instance accepted (`202`) for a 2024-11-05 session whose
    /// stream is here. It cannot be refused any more: a request this instance cannot take is
    /// answered with an error on the stream, so its client learns it failed.
    fn relayed(&mut self, now: Instant, session: SessionId, message: Bytes) {
        let known = self.sessions.get(&session).is_some();
        if !known || self.streams.first_of(&session).is_none() {
            return tracing::debug!(%session, "a relayed message for a session stream gone here");
        }
        let head = self.head_for(self.config.messages_path.clone(), &session);
        let Ok(jsonrpc::Body::Single(message)) = jsonrpc::classify(&message) else {
            return tracing::debug!(%session, "a relayed message that is not one JSON-RPC message");
        };
        self.sessions.touch(&session, now);
        if let Err(refusal) = self.accept_http_sse(now, &Arc::new(head), session.clone(), message) {
            let (id, error) = refusal;
            tracing::info!(%session, "a relayed request refused: answered with an error");
            let Some(stream) = self.streams.first_of(&session) else {
                return;
            };
            // An answer to a request accepted (202 elsewhere): queued past the bound, as
            // every answer is.
            let body = jsonrpc::encode_error(Some(&id), &error);
            self.streams.emit(&mut self.fx, now, stream, body);
        }
    }

    /// In a cluster, a message for a session's stream that another instance carries goes
    /// there; `false` when this server is alone.
    pub(crate) fn deliver_elsewhere(&mut self, session: &SessionId, message: Bytes) -> bool {
        if self.members.is_none() {
            return false;
        }
        let session = session.clone();
        self.fx
            .push(Output::Shared(Shared::Deliver { session, message }));
        true
    }

    /// Tells the cluster a session ended for good, for reasons that hold everywhere (the
    /// client deleted it, the application closed it, its 2024-11-05 stream is gone). A session
    /// expiring or evicted here ends here only: the store's own expiry ends it everywhere.
    pub(crate) fn share_end(&mut self, now: Instant, session: &SessionId, reason: CloseReason) {
        let Some(members) = &mut self.members else {
            return;
        };
        members.forget(session);
        let everywhere = matches!(
            reason,
            CloseReason::Deleted
                | CloseReason::Closed
                | CloseReason::ClientGone
                | CloseReason::TokenExpired
        );
        if everywhere {
            members.bury(now, session);
            let session = session.clone();
            let end = Shared::EndSession {
                ticket: None,
                session,
                reason,
            };
            self.fx.push(Output::Shared(end));
        }
        let session = session.clone();
        self.fx.push(Output::Shared(Shared::Release { session }));
    }
}
