//! One connection: its protocol from its first bytes, hyper's connection for it, and what ends
//! it early (the server stopping, an HTTP/2 connection idle too long).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::rt::Timer;
use hyper::server::conn::{http1, http2};
use tokio::sync::watch;

use super::rewind::Rewind;
use crate::body::ResponseBody;
use crate::entry::Entry;
use crate::error::Aborted;
use crate::network::{Exec, Network};
use crate::protocol::Protocol;

/// Where the server is in its life, as its connections see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Serve,
    /// Shutting down: connections finish what they have and take nothing new.
    Finish,
    /// The shutdown grace ran out: connections still open are dropped as they are.
    Close,
}

/// What every connection task shares: one allocation for all of them.
pub(super) struct Connections<N: Network> {
    pub(super) network: N,
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<Exec<N>>,
    pub(super) head_timeout: Duration,
    pub(super) http2_idle_timeout: Duration,
    pub(super) http2_ping_timeout: Duration,
}

/// Serves one connection until it ends, the server drops it, or `peer` sends nothing useful in
/// time.
pub(super) async fn run<N: Network>(
    shared: Arc<Connections<N>>,
    socket: N::Socket,
    peer: SocketAddr,
    entry: Entry,
    mut stop: watch::Receiver<Phase>,
) {
    let mut io = Rewind::new(N::into_io(socket));
    // Each future pinned once, here: an `async fn` racing them would hold them twice (as its
    // arguments and as its pinned locals), in every connection task.
    let protocol = {
        let mut sniff = pin!(io.sniff(peer));
        let mut head_timeout = pin!(shared.network.sleep(shared.head_timeout));
        let mut stopped = pin!(stop.changed());
        poll_fn(|cx| {
            if let Poll::Ready(protocol) = sniff.as_mut().poll(cx) {
                return Poll::Ready(Some(protocol));
            }
            let given_up =
                head_timeout.as_mut().poll(cx).is_ready() || stopped.as_mut().poll(cx).is_ready();
            if given_up {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await
    };
    let ended = match protocol {
        Some(Ok(Protocol::Http1)) => {
            let service = Service {
                entry,
                streams: None,
            };
            let connection = pin!(shared.http1.serve_connection(io, service));
            supervise(connection, &mut stop, NeverIdle, |c| c.graceful_shutdown()).await
        }
        // Boxed, so that HTTP/1.1 connection tasks are not sized for HTTP/2.
        Some(Ok(Protocol::Http2)) => {
            let streams = Arc::new(Streams::default());
            let idle = Idle::new(&shared, streams.clone());
            let service = Service {
                entry,
                streams: Some(streams),
            };
            let mut connection = Box::pin(shared.http2.serve_connection(io, service));
            supervise(connection.as_mut(), &mut stop, idle, |c| {
                c.graceful_shutdown()
            })
            .await
        }
        Some(Err(error)) => {
            return tracing::debug!(%peer, %error, "connection lost before its first request");
        }
        None => return tracing::debug!(%peer, "no request head in time, or the server stopped"),
    };
    match ended {
        Some(Err(error)) => tracing::debug!(%peer, %error, "connection ended with an error"),
        None => tracing::debug!(%peer, "connection closed by the server"),
        Some(Ok(())) => {}
    }
}

/// Runs `connection` until it ends. It is asked to finish (`graceful`) when the server stops or
/// when `idle` says so, and dropped (`None`) when the server's grace ran out (after one last
/// write attempt) or `idle` gives up on it.
///
/// The connection comes pinned by the caller: an `async fn` keeps its arguments apart from its
/// locals, so pinning it here would hold the connection twice in every connection task.
async fn supervise<C: Future>(
    mut connection: Pin<&mut C>,
    stop: &mut watch::Receiver<Phase>,
    mut idle: impl IdleWatch,
    graceful: impl Fn(Pin<&mut C>),
) -> Option<C::Output> {
    loop {
        let woke = {
            let mut stopped = pin!(stop.changed());
            poll_fn(|cx| {
                if let Poll::Ready(output) = connection.as_mut().poll(cx) {
                    return Poll::Ready(Woke::Ended(output));
                }
                if let Poll::Ready(changed) = stopped.as_mut().poll(cx) {
                    return Poll::Ready(Woke::Stop(changed.is_ok()));
                }
                idle.poll_expired(cx).map(Woke::Idle)
            })
            .await
        };
        match woke {
            Woke::Ended(output) => return Some(output),
            // The server is gone without a word (its future was dropped): as if closing.
            Woke::Stop(false) => return None,
            Woke::Stop(true) => match *stop.borrow_and_update() {
                Phase::Serve => {}
                Phase::Finish => graceful(connection.as_mut()),
                // One last write, without waiting: an HTTP/2 client learns why (GOAWAY).
                Phase::Close => {
                    graceful(connection.as_mut());
                    let mut cx = Context::from_waker(Waker::noop());
                    let _ = connection.as_mut().poll(&mut cx);
                    return None;
                }
            },
            Woke::Idle(Expired::Idle) => graceful(connection.as_mut()),
            Woke::Idle(Expired::Unanswered) => return None,
        }
    }
}

enum Woke<T> {
    Ended(T),
    /// The phase changed (`true`), or its sender is gone.
    Stop(bool),
    Idle(Expired),
}

/// The streams open on an HTTP/2 connection, counted by its service and response bodies; its
/// task is woken when the last one ends.
#[derive(Debug, Default)]
struct Streams {
    open: AtomicUsize,
    task: AtomicWaker,
}

/// One open stream; dropped with its response body, or with the service future if the stream
/// ended before its response.
#[derive(Debug)]
struct StreamGuard(Arc<Streams>);

impl StreamGuard {
    fn open(streams: &Arc<Streams>) -> Self {
        streams.open.fetch_add(1, Ordering::AcqRel);
        Self(streams.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.task.wake();
        }
    }
}

/// What watches a connection for idleness: [`Idle`] on HTTP/2, [`NeverIdle`] on HTTP/1.1
/// (where hyper's header read timeout bounds a kept-alive connection).
trait IdleWatch {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Expired>;
}

/// No watch at all, and no room taken in the connection's task.
struct NeverIdle;

impl IdleWatch for NeverIdle {
    fn poll_expired(&mut self, _: &mut Context<'_>) -> Poll<Expired> {
        Poll::Pending
    }
}

/// How an HTTP/2 connection's idleness ran out.
enum Expired {
    /// No stream was open for the idle timeout: ask the client to go away.
    Idle,
    /// Asked, it neither closed nor opened a stream within the ping timeout: drop it.
    Unanswered,
}

/// Watches an HTTP/2 connection for time without an open stream.
///
/// The timer keeps its deadline until it passes, even when a stream opened and closed since:
/// a connection busy with one request after another moves it at most once per timeout, not
/// once per request. It is hyper's timer, moved in place.
struct Idle<N: Network> {
    network: N,
    streams: Arc<Streams>,
    timeout: Duration,
    ping_timeout: Duration,
    /// Since when no stream is open.
    since: Option<Instant>,
    /// Whether the client was asked to go away for idleness.
    asked: bool,
    timer: N::Timer,
    sleep: Option<Pin<Box<dyn hyper::rt::Sleep>>>,
    /// The deadline `sleep` waits for; `None` once it fired.
    armed: Option<Instant>,
}

impl<N: Network> Idle<N> {
    fn new(shared: &Connections<N>, streams: Arc<Streams>) -> Self {
        Self {
            network: shared.network.clone(),
            streams,
            timeout: shared.http2_idle_timeout,
            ping_timeout: shared.http2_ping_timeout,
            since: None,
            asked: false,
            timer: shared.network.timer(),
            sleep: None,
            armed: None,
        }
    }
}

impl<N: Network> IdleWatch for Idle<N> {
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<Expired> {
        self.streams.task.register(cx.waker());
        loop {
            if self.streams.open.load(Ordering::Acquire) > 0 {
                self.since = None;
                return Poll::Pending;
            }
            let now = self.network.now();
            let limit = if self.asked {
                self.ping_timeout
            } else {
                self.timeout
            };
            let deadline = *self.since.get_or_insert(now) + limit;
            if now >= deadline {
                self.since = Some(now);
                return Poll::Ready(match std::mem::replace(&mut self.asked, true) {
                    false => Expired::Idle,
                    true => Expired::Unanswered,
                });
            }
            if self.armed.is_none_or(|armed| deadline < armed) {
                match &mut self.sleep {
                    Some(sleep) => self.timer.reset(sleep, deadline),
                    None => self.sleep = Some(self.timer.sleep_until(deadline)),
                }
                self.armed = Some(deadline);
            }
            let sleep = self.sleep.as_mut().expect("armed above");
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.armed = None;
        }
    }
}

/// The hyper service of a connection: the entry, its response future boxed. hyper keeps a slot
/// the size of this future for the connection's life, idle or streaming, while the future
/// itself only lives until the response head (`Entry::call`'s is ~1.4 KiB). On HTTP/2 it counts
/// the open streams.
#[derive(Debug)]
struct Service {
    entry: Entry,
    streams: Option<Arc<Streams>>,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let stream = self.streams.as_ref().map(StreamGuard::open);
        let response = self.entry.call(request);
        Box::pin(async move {
            let response = response.await;
            Ok(response.map(|body| Body {
                body,
                _stream: stream,
            }))
        })
    }
}

/// A response body, holding its HTTP/2 stream open until it is dropped.
#[derive(Debug)]
struct Body {
    body: ResponseBody,
    _stream: Option<StreamGuard>,
}

impl http_body::Body for Body {
    type Data = bytes::Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<bytes::Bytes>, Aborted>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
