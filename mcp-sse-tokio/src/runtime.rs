//! [`Tokio`]: the driver's runtime and the serve loop's network, on tokio.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use mcp_sse_app::{BoxFuture, Network, Runtime};
use tokio::net::{TcpListener, TcpStream};

/// The tokio runtime the driver, the handlers and the connections run on.
#[derive(Clone, Debug)]
pub struct Tokio(tokio::runtime::Handle);

impl Tokio {
    /// The runtime this is called in; panics outside one, like `tokio::spawn`.
    pub fn current() -> Self {
        Self(tokio::runtime::Handle::current())
    }
}

impl Runtime for Tokio {
    fn spawn(&self, task: BoxFuture) {
        self.0.spawn(task);
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

impl Network for Tokio {
    type Listener = TcpListener;
    type Socket = TcpStream;
    type Io = TokioIo<TcpStream>;
    type Timer = TokioTimer;

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        listener.accept().await
    }

    fn set_nodelay(socket: &TcpStream) -> io::Result<()> {
        socket.set_nodelay(true)
    }

    fn into_io(socket: TcpStream) -> TokioIo<TcpStream> {
        TokioIo::new(socket)
    }

    fn timer(&self) -> TokioTimer {
        TokioTimer::new()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn execute(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task);
    }
}

/// Sockets for [`HttpFetch`](mcp_sse_app::auth::jwt::HttpFetch), the JWT verifier's key set
/// fetch (feature `jwt`).
#[cfg(feature = "jwt")]
impl mcp_sse_app::auth::jwt::Connect for Tokio {
    type Io = TokioIo<TcpStream>;

    async fn connect(&self, host: &str, port: u16) -> io::Result<TokioIo<TcpStream>> {
        Ok(TokioIo::new(TcpStream::connect((host, port)).await?))
    }
}
