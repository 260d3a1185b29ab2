//! [`Entry`], where HTTP requests enter the server.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_channel::oneshot;
use http::{Request, Response, StatusCode};
use http_body::Body;
use mcp_sse_core::{BodyUnread, Server};

use crate::auth::Authenticator;
use crate::body::ResponseBody;
use crate::driver::Driver;
use crate::handle::Handle;
use crate::handler::Handler;
use crate::runtime::{BoxFuture, Runtime};
use crate::store::SharedStore;
use crate::telemetry::{Exchange, Refusal};

#[cfg(test)]
mod tests;

/// How long a request's body may take to arrive, unless told otherwise.
pub(crate) const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Where HTTP requests enter the server: whatever serves HTTP (an adapter's connections, a
/// tower `Service`) calls [`call`](Self::call) per request. Clones share one server.
#[derive(Clone, Debug)]
pub struct Entry {
    driver: Driver,
    body_limit: usize,
    body_read_timeout: Duration,
    authenticator: Option<Authenticator>,
}

impl Entry {
    /// Shares `server` among the tasks that will drive it and starts its timer task on
    /// `runtime`, and returns the entry in front of it with a handle to it. The timer task ends
    /// once the entry, every handle, every response body and every request context are gone.
    pub fn start<R: Runtime, H: Handler>(runtime: R, server: Server, handler: H) -> (Self, Handle) {
        Self::start_in_cluster(runtime, server, handler, None)
    }

    /// As [`start`](Self::start), for one instance of a cluster: `store` carries the server's
    /// shared-state operations (its `Config::cluster` says who it is in the cluster; the
    /// store's own connect gives both) and brings the other instances' notices.
    pub fn start_in_cluster<R: Runtime, H: Handler>(
        runtime: R,
        server: Server,
        handler: H,
        store: Option<Arc<dyn SharedStore>>,
    ) -> (Self, Handle) {
        let body_limit = server.config().max_body_bytes.saturating_add(1);
        let driver = Driver::start(runtime, server, Arc::new(handler), store);
        let handle = Handle::new(driver.clone());
        let entry = Self {
            driver,
            body_limit,
            body_read_timeout: BODY_READ_TIMEOUT,
            authenticator: None,
        };
        (entry, handle)
    }

    /// How long a request's body may take to arrive once its head is in (default 30 s, as
    /// [`ServeConfig::body_read_timeout`](crate::ServeConfig::body_read_timeout)); a request
    /// whose body is late is answered `408`.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Checks every request's bearer token with `authenticator` before the server sees the
    /// request (see [`Authenticator`]): the `Authorization` header is taken off, and the
    /// outcome goes into the extensions as [`Credentials`](mcp_sse_core::Credentials), which
    /// the server judges by its `Config::auth`. A token that could not be checked (the verifier
    /// said so, or did not answer within its timeout) gets `503` with `Retry-After` and CORS
    /// headers, as every answer of the server.
    pub fn with_authenticator(mut self, authenticator: Authenticator) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// Answers one HTTP request: checks its bearer token (with an authenticator), reads its
    /// body (at most `max_body_bytes` + 1 bytes; the core answers `413` beyond the bound),
    /// applies it to the server and resolves with the response. A failed body gets `400`, and
    /// one that does not arrive within the body read timeout `408` (see
    /// [`BodyUnread`](mcp_sse_core::BodyUnread)).
    pub fn call<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<ResponseBody>> + Send + use<B>
    where
        B: Body + Send + 'static,
        B::Data: Send,
    {
        let driver = self.driver.clone();
        let (limit, timeout) = (self.body_limit, self.body_read_timeout);
        let authenticator = self.authenticator.clone();
        async move {
            let (mut head, body) = request.into_parts();
            let exchange = Exchange::start(&head, driver.runtime());
            if let Some(authenticator) = authenticator {
                authenticator
                    .authenticate(&mut head, driver.runtime())
                    .await;
            }
            // A body that could not be read is the server's to answer, with its CORS headers.
            let body = match read_body(body, limit, driver.runtime(), timeout).await {
                Ok(body) => body,
                Err(BodyError::Failed) => {
                    head.extensions.insert(BodyUnread::Failed);
                    Bytes::new()
                }
                Err(BodyError::Late) => {
                    head.extensions.insert(BodyUnread::Late(timeout));
                    Bytes::new()
                }
            };
            let (respond, response) = oneshot::channel();
            let transport = exchange.in_scope(|| driver.handle_request(head, body, respond));
            // Ready at once unless a handler is still working on it.
            let Ok(response) = response.await else {
                let why = "the server went away before answering";
                exchange.refused(StatusCode::SERVICE_UNAVAILABLE, Refusal::Unavailable, &why);
                return plain(StatusCode::SERVICE_UNAVAILABLE);
            };
            ResponseBody::answer(response, &driver, exchange, transport)
        }
    }
}

/// Why a body could not be read.
enum BodyError {
    /// The client went away, or its body was malformed.
    Failed,
    /// It did not arrive within the body read timeout.
    Late,
}

/// Reads at most `limit` bytes of the body (the core answers `413` when it sees them all used)
/// within `timeout`. The timer is made only if the body is not there at once: a body that came
/// with its head, the usual case, costs none.
async fn read_body<B: Body>(
    body: B,
    limit: usize,
    runtime: &dyn Runtime,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let mut body = pin!(body);
    let mut buffer = BytesMut::new();
    let mut deadline: Option<BoxFuture> = None;
    poll_fn(|cx| {
        while buffer.len() < limit && !body.is_end_stream() {
            match body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        append(&mut buffer, data, limit);
                    }
                }
                Poll::Ready(Some(Err(_))) => return Poll::Ready(Err(BodyError::Failed)),
                Poll::Ready(None) => break,
                Poll::Pending => {
                    let deadline = deadline
                        .get_or_insert_with(|| runtime.sleep_until(runtime.now() + timeout));
                    return match deadline.as_mut().poll(cx) {
                        Poll::Ready(()) => Poll::Ready(Err(BodyError::Late)),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
        Poll::Ready(Ok(std::mem::take(&mut buffer).freeze()))
    })
    .await
}

/// Appends what fits of `data` below `limit`.
fn append(buffer: &mut BytesMut, mut data: impl bytes::Buf, limit: usize) {
    while data.has_remaining() && buffer.len() < limit {
        let piece = data.chunk();
        let take = piece.len().min(limit - buffer.len());
        buffer.extend_from_slice(&piece[..take]);
        data.advance(take);
    }
}

fn plain(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::new()));
    *response.status_mut() = status;
    response
}
