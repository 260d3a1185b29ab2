//! [`Io`]: a smol socket for hyper, with vectored writes.
//!
//! `smol_hyper`'s `FuturesIo` does not report vectored writes, so hyper would copy every
//! response head and body frame into a buffer of its own per connection (kept for the
//! connection's life) instead of handing the pieces to one `writev`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use smol::io::AsyncWrite;
use smol_hyper::rt::FuturesIo;

/// A futures-io socket as hyper's I/O, writing vectored.
#[derive(Debug)]
pub(crate) struct Io<T>(FuturesIo<T>);

impl<T> Io<T> {
    pub(crate) fn new(io: T) -> Self {
        Self(FuturesIo::new(io))
    }
}

impl<T: smol::io::AsyncRead + Unpin> hyper::rt::Read for Io<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for Io<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.get_mut()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(self.0.get_mut()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.get_mut()).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.0.get_mut()).poll_close(cx)
    }
}
