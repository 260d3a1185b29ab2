//! [`Network`]: what [`serve`](crate::serve) needs of a runtime beyond the driver's
//! [`Runtime`]: its listener and sockets, hyper's timer, and unboxed tasks.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::runtime::Runtime;

/// A runtime's TCP sockets and timers, as the serve loop uses them. An adapter implements it
/// for its runtime type; the loop, the protocol choice and the shutdown are [`serve`]'s.
///
/// [`serve`]: crate::serve
pub trait Network: Runtime + Clone {
    /// A listening TCP socket.
    type Listener: Send + Sync + 'static;
    /// An accepted connection.
    type Socket: Send + Sync + 'static;
    /// An accepted connection as hyper's I/O.
    type Io: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static;
    /// hyper's timer (request head timeouts, HTTP/2 keep-alive pings and idle timeouts).
    type Timer: hyper::rt::Timer + Clone + Send + Sync + 'static;

    /// The address `listener` is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// The next connection and its peer's address.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Socket, SocketAddr)>> + Send;

    /// Turns Nagle's algorithm off.
    fn set_nodelay(socket: &Self::Socket) -> io::Result<()>;

    /// The socket as hyper's I/O.
    fn into_io(socket: Self::Socket) -> Self::Io;

    /// hyper's timer, on this runtime's clock.
    fn timer(&self) -> Self::Timer;

    /// A future that resolves after `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;

    /// Runs `task` in the background, as it is: connection tasks and hyper's HTTP/2 streams
    /// are many and long-lived, so they are not boxed on top of the runtime's own task.
    fn execute(&self, task: impl Future<Output = ()> + Send + 'static);
}

/// A [`Network`] as hyper's executor, for the tasks of HTTP/2 streams.
#[derive(Clone, Debug)]
pub(crate) struct Exec<N>(pub(crate) N);

impl<N: Network, F: Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for Exec<N> {
    fn execute(&self, task: F) {
        self.0.execute(task);
    }
}
