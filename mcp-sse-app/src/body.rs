//! [`ResponseBody`]: a whole body, or an SSE stream fed by the server.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use http::Response;
use http_body::{Frame, SizeHint};
use mcp_sse_core::{Chunk, Transport};

use crate::driver::{Driver, Frames, Payload};
use crate::error::Aborted;
use crate::telemetry::{Exchange, StreamTrace};

/// The body of every response the server gives.
///
/// Its frames are `Bytes`, as axum and most of the hyper ecosystem expect. An SSE event framed
/// around a large payload arrives as a few pieces; they are yielded back to back without
/// copying, and hyper's vectored writes put them on the wire together.
#[derive(Debug)]
pub struct ResponseBody(Inner);

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Stream(StreamBody),
}

/// SSE frames from the server. Frames taken by the connection are credited back to the core
/// (its queue accounting) once no more are ready, in one call; dropping the body before the
/// server finished it is a disconnect.
#[derive(Debug)]
struct StreamBody {
    frames: Frames,
    /// The rest of the chunk being yielded.
    current: Chunk,
    /// Bytes taken and not credited yet.
    taken: usize,
    driver: Driver,
    finished: bool,
    /// The exchange's span, until the stream ends, when `debug` is on.
    trace: Option<StreamTrace>,
}

impl ResponseBody {
    /// The response of `exchange`, served under `transport`: counted and named in the
    /// exchange's span. A stream reports its credits and its end to `driver`.
    pub(crate) fn answer(
        response: Response<Payload>,
        driver: &Driver,
        exchange: Exchange,
        transport: Option<Transport>,
    ) -> Response<Self> {
        let (head, payload) = response.into_parts();
        let runtime = driver.runtime();
        let body = match payload {
            Payload::Full(bytes) => {
                exchange.answered(runtime, &head, Some(&bytes), transport);
                Self::full(bytes)
            }
            Payload::Stream(frames) => {
                let trace = exchange.answered(runtime, &head, None, transport);
                Self(Inner::Stream(StreamBody {
                    frames,
                    current: Chunk::new(),
                    taken: 0,
                    driver: driver.clone(),
                    finished: false,
                    trace,
                }))
            }
        };
        Response::from_parts(head, body)
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        Self(Inner::Full((!bytes.is_empty()).then_some(bytes)))
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match &mut self.get_mut().0 {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream(stream) => {
                if let Some(piece) = stream.current.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(piece))));
                }
                stream.poll_chunk(cx)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.0, Inner::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Full(chunk) => {
                SizeHint::with_exact(chunk.as_ref().map_or(0, |c| c.len() as u64))
            }
            Inner::Stream(_) => SizeHint::default(),
        }
    }
}

impl StreamBody {
    /// Takes the next chunk from the server and yields its first piece. Credits go back when the
    /// server has nothing more ready (one lock per burst, not per frame), and
    /// not at all once the stream is finished: the core has forgotten it.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.frames.receiver.poll_next_unpin(cx) {
            Poll::Ready(Some(Err(aborted))) => {
                // The exchange is over for the server: nothing to report.
                self.finished = true;
                Poll::Ready(Some(Err(aborted)))
            }
            Poll::Ready(Some(Ok(mut chunk))) => {
                self.taken += chunk.len();
                let first = chunk.pop_front().unwrap_or_default();
                self.current = chunk;
                Poll::Ready(Some(Ok(Frame::data(first))))
            }
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if self.taken > 0 {
                    let taken = std::mem::take(&mut self.taken);
                    self.driver.handle_consumed(self.frames.exchange, taken);
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if let Some(trace) = self.trace.take() {
            trace.ended(self.driver.runtime(), self.finished);
        }
        if !self.finished {
            self.driver.handle_disconnect(self.frames.exchange);
        }
    }
}
