//! [`McpService`], the tower `Service` in front of the driver, and [`Handle`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use mcp_sse_core::jsonrpc;
use mcp_sse_core::{Change, Config, SendError, Server, SessionId, Target};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::body::ResponseBody;
use crate::driver::{Command, Driver};
use crate::handler::Handler;

/// A tower `Service` that answers MCP HTTP requests; clones share one server.
///
/// Mount it on the paths of its [`Config`] (`/mcp`, `/sse`, `/messages` by default), e.g. with
/// axum's `Router::route_service`, which keeps the path as the server expects it.
#[derive(Clone, Debug)]
pub struct McpService {
    driver: mpsc::UnboundedSender<Command>,
    body_limit: usize,
}

/// Sends server-initiated messages and stops the server; clones share one server.
#[derive(Clone, Debug)]
pub struct Handle {
    driver: mpsc::UnboundedSender<Command>,
}

impl McpService {
    /// Starts the driver task on the current tokio runtime and returns the service in front of
    /// it with a handle to it.
    pub fn new<H: Handler>(config: Config, handler: H) -> (Self, Handle) {
        Self::with_server(Server::new(config), handler)
    }

    /// Like [`new`](Self::new), around a server built by the caller (e.g. with its own id
    /// generator).
    pub fn with_server<H: Handler>(server: Server, handler: H) -> (Self, Handle) {
        let body_limit = server.config().max_body_bytes.saturating_add(1);
        let (sender, commands) = mpsc::unbounded_channel();
        let driver = Driver::new(server, Arc::new(handler), commands, sender.downgrade());
        tokio::spawn(driver.run());
        let handle = Handle {
            driver: sender.clone(),
        };
        (
            Self {
                driver: sender,
                body_limit,
            },
            handle,
        )
    }
}

impl<B> tower::Service<Request<B>> for McpService
where
    B: Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let driver = self.driver.clone();
        let limit = self.body_limit;
        Box::pin(async move {
            let (head, body) = request.into_parts();
            let Some(body) = read_body(body, limit).await else {
                return Ok(plain(StatusCode::BAD_REQUEST));
            };
            let (respond, response) = oneshot::channel();
            let command = Command::Request {
                head,
                body,
                respond,
            };
            if driver.send(command).is_err() {
                return Ok(plain(StatusCode::SERVICE_UNAVAILABLE));
            }
            Ok(response
                .await
                .unwrap_or_else(|_| plain(StatusCode::SERVICE_UNAVAILABLE)))
        })
    }
}

/// Reads at most `limit` bytes of the body: the core answers `413` when it sees them all used.
/// `None` when the body failed (the client went away).
async fn read_body<B: Body>(body: B, limit: usize) -> Option<Bytes> {
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { return None };
        if let Ok(mut data) = frame.into_data() {
            while bytes::Buf::has_remaining(&data) && buffer.len() < limit {
                let piece = bytes::Buf::chunk(&data);
                let take = piece.len().min(limit - buffer.len());
                buffer.extend_from_slice(&piece[..take]);
                bytes::Buf::advance(&mut data, take);
            }
            if buffer.len() >= limit {
                break;
            }
        }
    }
    Some(buffer.freeze())
}

fn plain(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::new()));
    *response.status_mut() = status;
    response
}

impl Handle {
    pub(crate) fn new(driver: mpsc::UnboundedSender<Command>) -> Self {
        Self { driver }
    }

    /// Sends a notification to a session, on its stream for messages unrelated to a request.
    pub async fn notify(
        &self,
        session: &SessionId,
        method: &str,
        params: Value,
    ) -> Result<(), SendError> {
        let params = serde_json::value::to_raw_value(&params).ok();
        let message = jsonrpc::encode_notification(method, params.as_deref());
        let (done, result) = oneshot::channel();
        let target = Target::Session(session.clone());
        let _ = self.driver.send(Command::Send {
            target,
            message,
            done,
        });
        result.await.unwrap_or(Err(SendError::UnknownSession))
    }

    /// Announces a change to every 2026-07-28 `subscriptions/listen` stream that asked for it
    /// (the server adds each stream's subscription id, S3.34).
    pub fn publish(&self, change: Change) {
        let _ = self.driver.send(Command::Publish { change });
    }

    /// Ends a session; later requests naming it get `404`.
    pub fn close_session(&self, session: &SessionId) {
        let _ = self.driver.send(Command::CloseSession {
            session: session.clone(),
        });
    }

    /// Finishes every stream (with a reconnection hint) and refuses new requests; resolves once
    /// every exchange is over, including requests still waiting for their handler.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.driver.send(Command::Shutdown { done }).is_ok() {
            let _ = finished.await;
        }
    }
}
