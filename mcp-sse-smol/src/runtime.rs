//! [`Smol`]: the driver's runtime and the serve loop's network, on smol.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use mcp_sse_app::{BoxFuture, Network, Runtime};
use smol::{Async, Executor, Timer};

use crate::io::Io;

/// smol's executor and `async-io`'s sockets and timers: for the driver's timer task, the
/// handlers, the connections, hyper's HTTP/2 streams and its request head timeout.
#[derive(Clone, Debug, Default)]
pub struct Smol {
    /// `None`: smol's global executor (`smol::spawn`; `SMOL_THREADS` threads).
    executor: Option<Arc<Executor<'static>>>,
}

impl Smol {
    /// Tasks go to `executor`, which the caller runs (e.g. `executor.run(…)` on its threads).
    pub fn with_executor(executor: Arc<Executor<'static>>) -> Self {
        Self {
            executor: Some(executor),
        }
    }
}

impl Runtime for Smol {
    fn spawn(&self, task: BoxFuture) {
        self.execute(task);
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        Box::pin(async move {
            Timer::at(deadline).await;
        })
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Network for Smol {
    type Listener = Async<TcpListener>;
    type Socket = Async<TcpStream>;
    type Io = Io;
    type Timer = Smol;

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.get_ref().local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<(Self::Socket, SocketAddr)> {
        listener.accept().await
    }

    fn set_nodelay(socket: &Self::Socket) -> io::Result<()> {
        socket.get_ref().set_nodelay(true)
    }

    fn into_io(socket: Self::Socket) -> Io {
        Io::new(socket)
    }

    fn timer(&self) -> Smol {
        self.clone()
    }

    async fn sleep(&self, duration: Duration) {
        Timer::after(duration).await;
    }

    fn execute(&self, task: impl Future<Output = ()> + Send + 'static) {
        match &self.executor {
            Some(executor) => executor.spawn(task).detach(),
            None => smol::spawn(task).detach(),
        }
    }
}

impl hyper::rt::Timer for Smol {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep(Timer::after(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep(Timer::at(deadline)))
    }

    /// Moves the timer in place (hyper resets its head timer for every request).
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(sleep) => sleep.get_mut().0.set_at(deadline),
            None => *sleep = hyper::rt::Timer::sleep_until(self, deadline),
        }
    }
}

/// An `async-io` timer as hyper's sleep.
#[derive(Debug)]
struct Sleep(Timer);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl hyper::rt::Sleep for Sleep {}

/// Sockets for [`HttpFetch`](mcp_sse_app::auth::jwt::HttpFetch), the JWT verifier's key set
/// fetch (feature `jwt`).
#[cfg(feature = "jwt")]
impl mcp_sse_app::auth::jwt::Connect for Smol {
    type Io = Io;

    async fn connect(&self, host: &str, port: u16) -> io::Result<Io> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"));
        for addr in smol::net::resolve((host, port)).await? {
            match Async::<TcpStream>::connect(addr).await {
                Ok(socket) => return Ok(Io::new(socket)),
                Err(error) => last = error,
            }
        }
        Err(last)
    }
}
