//! [`Entry`], where HTTP requests enter the server.

use std::future::Future;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_channel::oneshot;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use mcp_sse_core::Server;

use crate::body::ResponseBody;
use crate::driver::Driver;
use crate::handle::Handle;
use crate::handler::Handler;
use crate::runtime::Runtime;

/// Where HTTP requests enter the server: whatever serves HTTP (an adapter's connections, a
/// tower `Service`) calls [`call`](Self::call) per request. Clones share one server.
#[derive(Clone, Debug)]
pub struct Entry {
    driver: Driver,
    body_limit: usize,
}

impl Entry {
    /// Shares `server` among the tasks that will drive it and starts its timer task on
    /// `runtime`, and returns the entry in front of it with a handle to it. The timer task ends
    /// once the entry, every handle, every response body and every request context are gone.
    pub fn start<R: Runtime, H: Handler>(runtime: R, server: Server, handler: H) -> (Self, Handle) {
        let body_limit = server.config().max_body_bytes.saturating_add(1);
        let driver = Driver::start(runtime, server, Arc::new(handler));
        let handle = Handle::new(driver.clone());
        (Self { driver, body_limit }, handle)
    }

    /// Answers one HTTP request: reads its body (at most `max_body_bytes` + 1 bytes; the core
    /// answers `413` beyond the bound), applies it to the server and resolves with the response.
    /// A failed body gets `400`.
    pub fn call<B>(
        &self,
        request: Request<B>,
    ) -> impl Future<Output = Response<ResponseBody>> + Send + use<B>
    where
        B: Body + Send + 'static,
        B::Data: Send,
    {
        let driver = self.driver.clone();
        let limit = self.body_limit;
        async move {
            let (head, body) = request.into_parts();
            let Some(body) = read_body(body, limit).await else {
                return plain(StatusCode::BAD_REQUEST);
            };
            let (respond, response) = oneshot::channel();
            driver.handle_request(head, body, respond);
            // Ready at once unless a handler is still working on it.
            let Ok(response) = response.await else {
                return plain(StatusCode::SERVICE_UNAVAILABLE);
            };
            response.map(|payload| ResponseBody::new(payload, &driver))
        }
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
