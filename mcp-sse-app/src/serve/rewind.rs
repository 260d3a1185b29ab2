//! [`Rewind`]: a connection's I/O that reads its first bytes to tell its protocol, then gives
//! them back to hyper before the rest.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};

use crate::protocol::{Protocol, SNIFF_LEN, sniff};

/// The target of the trace event written for each read of a connection's first bytes (tests
/// count them).
const SNIFF_TARGET: &str = "mcp_sse_app::sniff";

/// A connection's I/O, with the bytes read to tell its protocol kept for hyper.
#[derive(Debug)]
pub(crate) struct Rewind<T> {
    io: T,
    first: [u8; SNIFF_LEN],
    /// Bytes of `first` read from the socket, and given back so far.
    len: u8,
    given: u8,
}

impl<T: Read + Unpin> Rewind<T> {
    pub(crate) fn new(io: T) -> Self {
        Self {
            io,
            first: [0; SNIFF_LEN],
            len: 0,
            given: 0,
        }
    }

    /// Reads until the first bytes tell the protocol. Each read waits for the socket to be
    /// readable: a client that sent part of the HTTP/2 preface costs nothing until it sends
    /// more. A client that closed is HTTP/1.1 (hyper sees the end).
    pub(crate) async fn sniff(&mut self, peer: SocketAddr) -> io::Result<Protocol> {
        poll_fn(|cx| {
            loop {
                tracing::trace!(target: SNIFF_TARGET, %peer, "reading the first bytes");
                let len = usize::from(self.len);
                let mut buf = ReadBuf::new(&mut self.first[len..]);
                ready!(Pin::new(&mut self.io).poll_read(cx, buf.unfilled()))?;
                let read = buf.filled().len();
                self.len += u8::try_from(read).expect("at most SNIFF_LEN bytes");
                if read == 0 {
                    return Poll::Ready(Ok(Protocol::Http1));
                }
                if let Some(protocol) = sniff(&self.first[..usize::from(self.len)]) {
                    return Poll::Ready(Ok(protocol));
                }
            }
        })
        .await
    }
}

impl<T: Read + Unpin> Read for Rewind<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.given < this.len {
            let rest = &this.first[usize::from(this.given)..usize::from(this.len)];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.given += u8::try_from(n).expect("at most SNIFF_LEN bytes");
            // What the socket holds after them comes in the same read, as it would have without
            // the sniff: given the first bytes alone, hyper would read again into a buffer it
            // then grows from 8 to 16 KiB for the connection's life. Pending or failing, the
            // socket says so again on the next read.
            if this.given == this.len && buf.remaining() > 0 {
                let _ = Pin::new(&mut this.io).poll_read(cx, buf);
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for Rewind<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads from a script of chunks; `Pending` between chunks, as a socket waiting for more.
    struct Script(Vec<&'static [u8]>, bool);

    impl Read for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            mut buf: ReadBufCursor<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            this.1 = !this.1;
            if this.1 {
                return Poll::Pending;
            }
            if let Some(chunk) = this.0.first_mut() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                *chunk = &chunk[n..];
                if chunk.is_empty() {
                    this.0.remove(0);
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    fn run(chunks: Vec<&'static [u8]>) -> (Protocol, Vec<u8>) {
        let mut io = Rewind::new(Script(chunks, false));
        let peer = SocketAddr::from(([127, 0, 0, 1], 1));
        // Polled again and again, as wake-ups would: the sniff keeps its progress in `io`.
        let protocol = loop {
            if let Some(done) = futures_util::FutureExt::now_or_never(io.sniff(peer)) {
                break done.unwrap();
            }
        };
        let mut all = Vec::new();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            let mut bytes = [0; 64];
            let mut buf = ReadBuf::new(&mut bytes);
            match Pin::new(&mut io).poll_read(&mut cx, buf.unfilled()) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return (protocol, all),
                Poll::Ready(Ok(())) => all.extend_from_slice(buf.filled()),
                Poll::Ready(Err(error)) => panic!("{error}"),
                Poll::Pending => {}
            }
        }
    }

    #[test]
    fn hyper_reads_every_byte_the_sniff_read() {
        let request: &[u8] = b"POST /mcp HTTP/1.1\r\n\r\n";
        assert_eq!(run(vec![request]), (Protocol::Http1, request.to_vec()));
        let preface: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        assert_eq!(
            run(vec![b"P", b"R", b"I", b" * HTTP/2.0\r\n\r\nSM\r\n\r\n"]),
            (Protocol::Http2, preface.to_vec())
        );
        assert_eq!(
            run(vec![b"PR", b"OPFIND / HTTP/1.1\r\n\r\n"]),
            (Protocol::Http1, b"PROPFIND / HTTP/1.1\r\n\r\n".to_vec())
        );
        assert_eq!(
            run(vec![b"PR"]),
            (Protocol::Http1, b"PR".to_vec()),
            "then the end"
        );
        assert_eq!(run(vec![]), (Protocol::Http1, Vec::new()));
    }
}
