//! [`ResponseBody`]: a whole body, or an SSE stream fed by the driver.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use mcp_sse_core::{Chunk, ExchangeId};
use tokio::sync::mpsc;

use crate::driver::Command;

/// The body of every response the server gives.
#[derive(Debug)]
pub struct ResponseBody(Inner);

#[derive(Debug)]
enum Inner {
    Full(Option<Chunk>),
    Stream(StreamBody),
}

/// SSE frames from the driver. Each frame taken by the connection is credited back to the core
/// (its queue accounting); dropping the body before the driver finished it is a disconnect.
#[derive(Debug)]
struct StreamBody {
    exchange: ExchangeId,
    frames: mpsc::UnboundedReceiver<Chunk>,
    driver: mpsc::UnboundedSender<Command>,
    finished: bool,
}

impl ResponseBody {
    pub(crate) fn full(bytes: Bytes) -> Self {
        Self(Inner::Full((!bytes.is_empty()).then(|| Chunk::from(bytes))))
    }

    pub(crate) fn stream(
        exchange: ExchangeId,
        frames: mpsc::UnboundedReceiver<Chunk>,
        driver: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self(Inner::Stream(StreamBody {
            exchange,
            frames,
            driver,
            finished: false,
        }))
    }
}

impl http_body::Body for ResponseBody {
    type Data = Chunk;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Chunk>, Self::Error>>> {
        match &mut self.get_mut().0 {
            Inner::Full(chunk) => Poll::Ready(chunk.take().map(|c| Ok(Frame::data(c)))),
            Inner::Stream(stream) => match stream.frames.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    let bytes = chunk.len();
                    let _ = stream.driver.send(Command::Consumed {
                        exchange: stream.exchange,
                        bytes,
                    });
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Poll::Ready(None) => {
                    stream.finished = true;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
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

impl Drop for StreamBody {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.driver.send(Command::Disconnect {
                exchange: self.exchange,
            });
        }
    }
}
