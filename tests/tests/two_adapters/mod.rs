//! Both adapters from one test: `for_both_adapters!` instantiates each test function once per
//! adapter (the `tokio_adapter::` and `smol_adapter::` copies), and [`Adapter::serve`] runs a
//! handler on a fresh loopback port until [`Running::stop`]. A smol server runs on a thread of
//! its own (`smol::block_on`, handlers on smol's executor), so no tokio runtime is near it.

use std::net::SocketAddr;

use mcp_sse_app::{Handler, ServeConfig};
use mcp_sse_tests::client::PATIENCE;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The adapter a test runs against.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Adapter {
    Tokio,
    Smol,
}

/// Instantiates each test function (`async fn test(adapter: Adapter)`) once per adapter.
macro_rules! for_both_adapters {
    ($($test:ident),* $(,)?) => {
        mod tokio_adapter {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Adapter::Tokio).await
            })*
        }
        mod smol_adapter {
            $(#[tokio::test]
            async fn $test() {
                super::$test(super::Adapter::Smol).await
            })*
        }
    };
}

/// A server serving on `addr`.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    served: Served,
}

enum Served {
    Tokio(tokio::task::JoinHandle<std::io::Result<()>>),
    Smol(std::thread::JoinHandle<std::io::Result<()>>),
}

impl Adapter {
    /// Serves `handler` with `config` on a fresh loopback port, until [`Running::stop`].
    pub(crate) async fn serve<H: Handler>(self, config: ServeConfig, handler: H) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let signal = async {
            let _ = stopped.await;
        };
        let (addr, served) = match self {
            Adapter::Tokio => {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let served = tokio::spawn(mcp_sse_tokio::serve_with_shutdown(
                    listener, config, handler, signal,
                ));
                (addr, Served::Tokio(served))
            }
            Adapter::Smol => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let served = std::thread::spawn(move || {
                    smol::block_on(async move {
                        let listener = smol::Async::new(listener)?;
                        mcp_sse_smol::serve_with_shutdown(listener, config, handler, signal).await
                    })
                });
                (addr, Served::Smol(served))
            }
        };
        Running { addr, stop, served }
    }
}

impl Running {
    /// Signals shutdown and waits for the server to finish it, within [`PATIENCE`].
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let result = match self.served {
            Served::Tokio(task) => tokio::time::timeout(PATIENCE, task).await,
            Served::Smol(thread) => {
                tokio::time::timeout(PATIENCE, tokio::task::spawn_blocking(|| thread.join()))
                    .await
                    .map(|joined| joined.map(|thread| thread.expect("the server thread panicked")))
            }
        };
        result.expect("shutdown in time").unwrap().unwrap();
    }
}
