//! [`ResponseBody`]: a whole body, or an SSE stream fed by the server.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::StreamExt;
use http_body::{Frame, SizeHint};
use mcp_sse_core::{Chunk, ExchangeId};

use crate::driver::Driver;

/// What a stream body ends with when the server aborts it: its client stopped reading for
/// `Config::stall_timeout`. hyper then closes the connection (HTTP/1.1) or resets the stream
/// (HTTP/2), which frees what the stream held.
#[derive(Debug, thiserror::Error)]
#[error("the client stopped reading this stream")]
pub struct Aborted;

/// What the server puts on a stream body's channel.
pub(crate) type Piece = Result<Chunk, Aborted>;

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
    exchange: ExchangeId,
    frames: mpsc::UnboundedReceiver<Piece>,
    /// The rest of the chunk being yielded.
    current: Chunk,
    /// Bytes taken and not credited yet.
    taken: usize,
    /// Set by the task that received the body. A body dropped before (its receiver went away as
    /// it was handed over, under the server's lock) must not lock again to report it; the
    /// server notices when its next frame finds no receiver.
    driver: Option<Driver>,
    finished: bool,
}

impl ResponseBody {
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self(Inner::Full((!bytes.is_empty()).then_some(bytes)))
    }

    pub(crate) fn stream(exchange: ExchangeId, frames: mpsc::UnboundedReceiver<Piece>) -> Self {
        Self(Inner::Stream(StreamBody {
            exchange,
            frames,
            current: Chunk::new(),
            taken: 0,
            driver: None,
            finished: false,
        }))
    }

    /// Lets a stream report its credits and its end to `driver`.
    pub(crate) fn arm(&mut self, driver: &Driver) {
        if let Inner::Stream(stream) = &mut self.0 {
            stream.driver = Some(driver.clone());
        }
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
        match self.frames.poll_next_unpin(cx) {
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
                if self.taken > 0
                    && let Some(driver) = &self.driver
                {
                    driver.handle_consumed(self.exchange, std::mem::take(&mut self.taken));
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for StreamBody {
    fn drop(&mut self) {
        if !self.finished
            && let Some(driver) = &self.driver
        {
            driver.handle_disconnect(self.exchange);
        }
    }
}
