//! [`Io`]: a smol TCP socket as hyper's I/O.
//!
//! - Writes are vectored: hyper hands a response head and its body frames to one `writev`
//!   instead of copying them into a buffer of its own.
//! - A read does not zero hyper's read buffer first (`smol_hyper`'s `FuturesIo` does: 8 KiB
//!   per read, every page of it resident for the connection's life). Safe code cannot read into
//!   hyper's uninitialised buffer, so the bytes come through a per-thread scratch buffer.
//! - A read is tried only when the socket may have data: `async-io` tries the `recv` first on
//!   every poll, and hyper polls its read side each time the connection task wakes (for the
//!   request, for the answer, for each body frame), so most `recv`s would find nothing. As
//!   tokio does, a short read is taken to have drained the socket: the next `recv` waits for
//!   the reactor's wake-up.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use smol::Async;
use smol::io::{AsyncRead, AsyncWrite};

/// A smol TCP socket as hyper's I/O: what [`Smol`](crate::Smol) serves connections over.
#[derive(Debug)]
pub struct Io {
    socket: Async<TcpStream>,
    readable: Arc<Readable>,
    /// `readable` as a waker, the one the reactor gets for this socket's reads.
    reactor_waker: Waker,
}

/// Whether the socket may have data, set by the reactor's wake-up; and the task to wake then.
#[derive(Debug)]
struct Readable {
    woken: AtomicBool,
    task: Mutex<Waker>,
}

impl Wake for Readable {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task().wake_by_ref();
    }
}

impl Readable {
    fn task(&self) -> MutexGuard<'_, Waker> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

thread_local! {
    /// Where reads land before they are copied into hyper's buffer.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; 64 * 1024].into_boxed_slice());
}

impl Io {
    pub(crate) fn new(socket: Async<TcpStream>) -> Self {
        let readable = Arc::new(Readable {
            // Nothing is known yet: try a read first.
            woken: AtomicBool::new(true),
            task: Mutex::new(Waker::noop().clone()),
        });
        let reactor_waker = Waker::from(readable.clone());
        Self {
            socket,
            readable,
            reactor_waker,
        }
    }

    /// Asks the reactor for a wake-up once the socket is readable; false if it may be already.
    fn watch_readable(&self) -> bool {
        let mut cx = Context::from_waker(&self.reactor_waker);
        // A first call may only report the event that led to the last read; a second one
        // registers the interest.
        self.socket.poll_readable(&mut cx).is_pending()
            || self.socket.poll_readable(&mut cx).is_pending()
    }
}

impl hyper::rt::Read for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Clones only when the task's waker changed.
        this.readable.task().clone_from(cx.waker());
        if !this.readable.woken.swap(false, Ordering::AcqRel) {
            // The reactor holds `reactor_waker` for this socket and has not woken it.
            return Poll::Pending;
        }
        let mut reactor_cx = Context::from_waker(&this.reactor_waker);
        let read = SCRATCH.with_borrow_mut(|scratch| {
            let asked = buf.remaining().min(scratch.len());
            let scratch = &mut scratch[..asked];
            let read = Pin::new(&mut this.socket).poll_read(&mut reactor_cx, scratch);
            if let Poll::Ready(Ok(n)) = read {
                buf.put_slice(&scratch[..n]);
            }
            read.map_ok(|n| (n, scratch.len()))
        });
        match read {
            // The reactor has the waker: it sets `woken` once there is more.
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok((n, asked))) => {
                if n == 0 || n == asked || !this.watch_readable() {
                    this.readable.woken.store(true, Ordering::Release);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => {
                this.readable.woken.store(true, Ordering::Release);
                Poll::Ready(Err(error))
            }
        }
    }
}

impl hyper::rt::Write for Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_close(cx)
    }
}
