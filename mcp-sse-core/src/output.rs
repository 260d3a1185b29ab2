//! What the [`Server`](crate::Server) asks of its adapter and tells its application.

use std::sync::Arc;

use bytes::Bytes;

use crate::jsonrpc;
use crate::{Chunk, CloseReason, ExchangeId, RequestKey, SessionId, Transport};

/// One thing for the adapter to do, from [`Server::poll_output`](crate::Server::poll_output).
///
/// Per exchange the order is always: either one `Respond`, or one `StartStream` followed by any
/// number of `Data` and at most one `Finish` or `Abort`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Send this complete response. The exchange is over for the server.
    Respond {
        /// The exchange answered.
        exchange: ExchangeId,
        /// Status, headers and the whole body.
        response: http::Response<Bytes>,
    },
    /// Send this response head now and keep the body open: an SSE stream starts.
    StartStream {
        /// The exchange answered.
        exchange: ExchangeId,
        /// Status and headers; the body follows as `Data`.
        head: http::Response<()>,
    },
    /// Write these body bytes (one or more whole SSE frames), then report them with
    /// [`Server::handle_consumed`](crate::Server::handle_consumed) once the connection took them.
    Data {
        /// The stream written to.
        exchange: ExchangeId,
        /// The bytes, as zero-copy pieces.
        chunk: Chunk,
    },
    /// End the response body. The exchange is over for the server.
    Finish {
        /// The stream ended.
        exchange: ExchangeId,
    },
    /// Close the connection that carries this exchange's body without finishing the body
    /// (HTTP/1.1: close the connection; HTTP/2: reset the stream): its client stopped reading
    /// for `Config::stall_timeout`. The exchange is over for the server; a disconnect reported
    /// for it later is ignored.
    Abort {
        /// The stream aborted.
        exchange: ExchangeId,
    },
    /// Something for the application.
    Event(Event),
    /// An operation on the store the instances of a cluster share (only with
    /// `Config::cluster`): perform it, and answer it with
    /// [`Server::handle_shared`](crate::Server::handle_shared) if it has a ticket.
    Shared(crate::Shared),
}

/// Something for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A client request: answer it with [`Server::reply`](crate::Server::reply) using `key`.
    Request {
        /// The handle to answer with.
        key: RequestKey,
        /// The session it came in, if any.
        session: Option<SessionId>,
        /// Which transport carried it.
        transport: Transport,
        /// The protocol version it is served under: the session's negotiated one, or the one a
        /// 2026-07-28 request names in its `_meta`. `None` before `initialize` was answered and
        /// for 2024-11-05 and stateless requests.
        version: Option<crate::ProtocolVersion>,
        /// The request; `params` is the client's JSON, untouched.
        request: jsonrpc::Request,
        /// The head of the HTTP request that carried it (shared by the requests of a batch):
        /// its headers, and the extensions the adapter put there (an authenticated principal).
        head: Arc<http::request::Parts>,
        /// In a cluster: the request was accepted by another instance, which died before
        /// answering it, and its client resumed the stream here. Whether to run it again (a
        /// read, an idempotent call) or to answer it with an error is the application's call.
        redelivered: bool,
    },
    /// A client notification. Nothing is owed back.
    Notification {
        /// The session it came in, if any.
        session: Option<SessionId>,
        /// Which transport carried it.
        transport: Transport,
        /// The notification.
        notification: jsonrpc::Notification,
        /// The head of the HTTP request that carried it.
        head: Arc<http::request::Parts>,
    },
    /// A client's answer to a request the server sent: a result or an error.
    Response {
        /// The session it came in, if any.
        session: Option<SessionId>,
        /// The response.
        response: jsonrpc::Message,
    },
    /// A session another instance of the cluster created is served here from now on (a request
    /// naming it came here): what the application knew of its client, it learns again from
    /// `client`.
    SessionRestored {
        /// The session.
        session: SessionId,
        /// Its transport.
        transport: Transport,
        /// Its negotiated version.
        version: Option<crate::ProtocolVersion>,
        /// The `params` of the client's `initialize`, if the first instance heard one.
        client: Option<Box<serde_json::value::RawValue>>,
    },
    /// Another instance of the cluster published a change (it went to this instance's
    /// 2026-07-28 listeners already): what the application tells its own clients of it, e.g.
    /// the sessions subscribed here to an updated resource, it tells them now.
    Published {
        /// The change.
        change: crate::Change,
    },
    /// A session was created.
    SessionOpened {
        /// The new session.
        session: SessionId,
        /// Its transport.
        transport: Transport,
    },
    /// The client cancelled a request (`notifications/cancelled`, S2.17): nothing will be sent
    /// for it, and a reply to it returns [`ReplyError::UnknownRequest`](crate::ReplyError).
    Cancelled {
        /// The request.
        key: RequestKey,
        /// The client's reason, if it gave one.
        reason: Option<String>,
    },
    /// A session ended. Requests of it that were not answered yet are dropped: replies to them
    /// return [`ReplyError::UnknownRequest`](crate::ReplyError).
    SessionClosed {
        /// The session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
}
