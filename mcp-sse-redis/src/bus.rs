//! The pub/sub half of the store: one connection subscribed to the broadcast channel, this
//! instance's own channel and the channel of every session whose stream this instance holds, read by one task that turns
//! messages into notices, and renews the connection and every subscription when it drops.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use futures_util::lock::Mutex;
use mcp_sse_app::Runtime;
use mcp_sse_core::Notice;
use redis::aio::{PubSubSink, PubSubStream};
use tracing::{info, warn};

use crate::options::{Error, Options, within};
use crate::wire::{Keys, unframe};

pub(crate) struct Bus {
    client: redis::Client,
    keys: Arc<Keys>,
    node: u32,
    timeout: Duration,
    reconnect_min: Duration,
    reconnect_max: Duration,
    runtime: Arc<dyn Runtime>,
    /// Locked across each SUBSCRIBE, so a `hold` and a reconnection never miss each other.
    subscriptions: Mutex<Subscriptions>,
    notices: async_channel::Sender<Notice>,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Subscriptions {
    /// The channels of the sessions this instance holds: subscribed again on every connection.
    held: HashSet<String>,
    /// The live connection's command half; `None` while there is none.
    sink: Option<PubSubSink>,
}

impl Bus {
    pub(crate) fn new(
        client: redis::Client,
        keys: Arc<Keys>,
        node: u32,
        options: &Options,
        runtime: Arc<dyn Runtime>,
        notices: async_channel::Sender<Notice>,
    ) -> Self {
        Self {
            client,
            keys,
            node,
            timeout: options.timeout,
            reconnect_min: options.reconnect_min,
            reconnect_max: options.reconnect_max.max(options.reconnect_min),
            runtime,
            subscriptions: Mutex::default(),
            notices,
            dropped: AtomicU64::new(0),
        }
    }

    // ---- getters ----

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    // ---- commands ----

    /// Subscribes to the session `channel`, now if connected and on every connection to come.
    pub(crate) async fn hold(&self, channel: String) -> Result<(), Error> {
        let mut subscriptions = self.subscriptions.lock().await;
        subscriptions.held.insert(channel.clone());
        if let Some(sink) = &mut subscriptions.sink {
            sink.subscribe(channel).await?;
        }
        Ok(())
    }

    /// Unsubscribes from the session `channel`, for good.
    pub(crate) async fn release(&self, channel: String) -> Result<(), Error> {
        let mut subscriptions = self.subscriptions.lock().await;
        subscriptions.held.remove(&channel);
        if let Some(sink) = &mut subscriptions.sink {
            sink.unsubscribe(channel).await?;
        }
        Ok(())
    }

    /// A new pub/sub connection, subscribed to the broadcast channel and every held one; its
    /// command half is the one `hold` and `release` use from now on.
    pub(crate) async fn subscribe_all(&self) -> Result<PubSubStream, Error> {
        within(&*self.runtime, self.timeout, async {
            let (mut sink, stream) = self.client.get_async_pubsub().await?.split();
            let mut subscriptions = self.subscriptions.lock().await;
            let own = self.keys.node_channel(self.node);
            let fixed = [&self.keys.all, &own];
            let channels: Vec<&String> = fixed.into_iter().chain(&subscriptions.held).collect();
            sink.subscribe(channels).await?;
            subscriptions.sink = Some(sink);
            Ok(stream)
        })
        .await
    }

    // ---- the task ----

    /// Reads `stream` into the notice queue, reconnecting whenever it ends, until `stop` fires
    /// (the store was dropped).
    pub(crate) async fn run(
        self: Arc<Self>,
        mut stream: PubSubStream,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            loop {
                match select(stream.next(), &mut stop).await {
                    Either::Left((Some(message), _)) => self.take(&message),
                    Either::Left((None, _)) => break,
                    Either::Right(_) => return,
                }
            }
            self.subscriptions.lock().await.sink = None;
            warn!("redis store: the pub/sub connection dropped; reconnecting");
            stream = match self.reconnect(&mut stop).await {
                Some(stream) => stream,
                None => return,
            };
        }
    }

    /// A new connection with every subscription, retried with a doubling wait; `None` once
    /// `stop` fires.
    async fn reconnect(&self, stop: &mut oneshot::Receiver<()>) -> Option<PubSubStream> {
        let mut wait = self.reconnect_min;
        loop {
            let pause = self.runtime.sleep_until(self.runtime.now() + wait);
            if let Either::Right(_) = select(pause, &mut *stop).await {
                return None;
            }
            match self.subscribe_all().await {
                Ok(stream) => {
                    info!("redis store: pub/sub connection back, subscriptions renewed");
                    return Some(stream);
                }
                Err(error) => warn!(%error, "redis store: pub/sub reconnection failed"),
            }
            wait = (wait * 2).min(self.reconnect_max);
        }
    }

    /// One message: a notice for the queue, unless this instance broadcast it itself.
    fn take(&self, message: &redis::Msg) {
        let Some((node, bytes)) = unframe(message.get_payload_bytes()) else {
            warn!(
                "redis store: a message not framed by this store on a channel of its own; dropped"
            );
            return;
        };
        if node == self.node && message.get_channel_name() == self.keys.all {
            return;
        }
        let Some(notice) = Notice::decode(bytes) else {
            warn!(
                node,
                "redis store: a message this server version cannot read; dropped"
            );
            return;
        };
        if let Err(async_channel::TrySendError::Full(_)) = self.notices.try_send(notice) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                warn!(
                    dropped,
                    "redis store: the notice queue is full; notice dropped"
                );
            }
        }
    }
}
