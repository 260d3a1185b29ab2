//! Every operation of the store against a real Redis, through `SharedStore`, with two stores
//! (two instances of a cluster) on one Redis; on each runtime the crate was built for.

mod support;

use std::time::Duration;

use bytes::Bytes;
use mcp_sse_app::SharedStore as _;
use mcp_sse_core::jsonrpc::Id;
use mcp_sse_core::{Answer, Change, CloseReason, Notice, Shared, StreamId, StreamMeta};
use support::*;

#[test]
fn instances_share_the_epoch_and_get_distinct_nodes() {
    on_each_runtime(|runtime, redis| async move {
        let (_a, first) = connect(&runtime, &redis).await;
        let (_b, second) = connect(&runtime, &redis).await;
        assert_eq!(first.epoch, second.epoch);
        assert_ne!(first.node, second.node);

        // Node numbers fit in 24 bits: the counter wraps.
        assert_eq!(redis.command("SET mcp:node 16777215"), "+OK");
        let (store, wrapped) = connect(&runtime, &redis).await;
        assert_eq!((wrapped.node, store.node()), (0, 0));
        assert_eq!(wrapped.epoch, first.epoch);
    });
}

#[test]
fn sessions_are_saved_loaded_touched_and_ended() {
    on_each_runtime(|runtime, redis| async move {
        let (a, _) = connect(&runtime, &redis).await;
        let (b, _) = connect(&runtime, &redis).await;
        let minute = Duration::from_secs(60);

        // Saved by one instance, found by the other; an unknown session is not found.
        let s1 = session("s1");
        assert!(matches!(
            save(&runtime, &a, &s1, minute).await,
            Answer::Done
        ));
        match load(&runtime, &b, &s1).await {
            Answer::Found(Some(found)) => assert_eq!(found, record(&s1)),
            other => panic!("expected the record, got {other:?}"),
        }
        assert!(matches!(
            load(&runtime, &b, &session("nobody")).await,
            Answer::Found(None)
        ));

        // A touch sets the time left: shortened, the record expires...
        let ttl = Duration::from_millis(100);
        perform(
            &runtime,
            &b,
            Shared::TouchSession {
                session: s1.clone(),
                ttl,
            },
        )
        .await;
        bounded(&runtime, "the touched session expiring", async {
            while !matches!(load(&runtime, &a, &s1).await, Answer::Found(None)) {
                sleep(&runtime, Duration::from_millis(20)).await;
            }
        })
        .await;
        // ...lengthened, it outlives the TTL it was saved with.
        let s2 = session("s2");
        assert!(matches!(
            save(&runtime, &a, &s2, Duration::from_secs(1)).await,
            Answer::Done
        ));
        perform(
            &runtime,
            &b,
            Shared::TouchSession {
                session: s2.clone(),
                ttl: minute,
            },
        )
        .await;
        sleep(&runtime, Duration::from_millis(1500)).await;
        assert!(matches!(
            load(&runtime, &a, &s2).await,
            Answer::Found(Some(_))
        ));

        // Ended by one instance: gone from the store, and the other hears it.
        let reason = CloseReason::Deleted;
        let ticket = ticket();
        let end = Shared::EndSession {
            ticket: Some(ticket),
            session: s2.clone(),
            reason,
        };
        assert!(matches!(
            answer(&runtime, &a, ticket, end).await,
            Answer::Done
        ));
        assert!(matches!(load(&runtime, &b, &s2).await, Answer::Found(None)));
        let ended = Notice::SessionEnded {
            session: s2.clone(),
            reason,
        };
        assert_eq!(notice(&runtime, &b).await, ended);
    });
}

#[test]
fn relays_and_deliveries_reach_the_holder_of_the_stream() {
    on_each_runtime(|runtime, redis| async move {
        let (holder, _) = connect(&runtime, &redis).await;
        let (other, _) = connect(&runtime, &redis).await;
        let s = session("held");
        perform(&runtime, &holder, Shared::Hold { session: s.clone() }).await;

        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert!(matches!(
            relay(&runtime, &other, &s, ping).await,
            Answer::Relayed(true)
        ));
        let relayed = Notice::Relayed {
            session: s.clone(),
            message: Bytes::from_static(ping.as_bytes()),
        };
        assert_eq!(notice(&runtime, &holder).await, relayed);

        let message = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/message"}"#);
        let deliver = Shared::Deliver {
            session: s.clone(),
            message: message.clone(),
        };
        perform(&runtime, &other, deliver).await;
        let delivered = Notice::Deliver {
            session: s.clone(),
            message,
        };
        assert_eq!(notice(&runtime, &holder).await, delivered);

        // A message that is not JSON cannot travel: the relay fails rather than vanish.
        assert!(matches!(
            relay(&runtime, &other, &s, "{oops").await,
            Answer::Failed
        ));

        // Released, or never held: no instance takes the message.
        perform(&runtime, &holder, Shared::Release { session: s.clone() }).await;
        assert!(matches!(
            relay(&runtime, &other, &s, ping).await,
            Answer::Relayed(false)
        ));
        let never = session("never-held");
        assert!(matches!(
            relay(&runtime, &other, &never, ping).await,
            Answer::Relayed(false)
        ));
    });
}

#[test]
fn broadcasts_reach_the_other_instances_and_not_their_sender() {
    on_each_runtime(|runtime, redis| async move {
        let (a, _) = connect(&runtime, &redis).await;
        let (b, _) = connect(&runtime, &redis).await;
        let tools = Change::ToolsListChanged;
        let resource = Change::ResourceUpdated("file:///notes.txt".into());
        let answer = Bytes::from_static(br#"{"jsonrpc":"2.0","id":"s1-4","result":{}}"#);
        let session = Some(session("s1"));
        perform(&runtime, &a, Shared::Publish(tools.clone())).await;
        let unclaimed = Shared::Unclaimed {
            session: session.clone(),
            message: answer.clone(),
        };
        perform(&runtime, &a, unclaimed).await;
        perform(&runtime, &b, Shared::Publish(resource.clone())).await;
        // Redis hands each subscriber its own messages too, and before the later ones: the
        // first notice `a` sees is the one `b` sent after its own two.
        assert_eq!(notice(&runtime, &a).await, Notice::Published(resource));
        assert_eq!(notice(&runtime, &b).await, Notice::Published(tools));
        let response = Notice::Response {
            session,
            message: answer,
        };
        assert_eq!(notice(&runtime, &b).await, response);
    });
}

#[test]
fn a_full_notice_queue_drops_new_notices_and_counts_them() {
    on_each_runtime(|runtime, redis| async move {
        let mut small = options();
        small.notice_queue = 1;
        let (slow, _) = connect_with(&runtime, &redis, small).await;
        let (other, _) = connect(&runtime, &redis).await;
        let changes = [
            Change::ToolsListChanged,
            Change::PromptsListChanged,
            Change::ResourcesListChanged,
        ];
        for change in &changes {
            perform(&runtime, &other, Shared::Publish(change.clone())).await;
        }
        bounded(&runtime, "two notices dropped", async {
            while slow.dropped_notices() < 2 {
                sleep(&runtime, Duration::from_millis(10)).await;
            }
        })
        .await;
        assert_eq!(slow.dropped_notices(), 2);
        // The one queued is the first; what comes later is queued again.
        assert_eq!(
            notice(&runtime, &slow).await,
            Notice::Published(changes[0].clone())
        );
        perform(&runtime, &other, Shared::Publish(Change::ToolsListChanged)).await;
        assert_eq!(
            notice(&runtime, &slow).await,
            Notice::Published(Change::ToolsListChanged)
        );
    });
}

#[test]
fn a_node_is_told_alone_and_streams_are_recovered_only_once_their_owner_is_gone() {
    on_each_runtime(|runtime, redis| async move {
        let (a, first) = connect(&runtime, &redis).await;
        let (b, second) = connect(&runtime, &redis).await;
        let (c, _) = connect(&runtime, &redis).await;

        // A notice for one node reaches it, and no other.
        let moved = Notice::StreamMoved {
            stream: StreamId::from_u64(7),
        };
        let tell = Shared::ToNode {
            node: second.node,
            notice: moved,
        };
        perform(&runtime, &a, tell).await;
        assert!(matches!(
            notice(&runtime, &b).await,
            Notice::StreamMoved { .. }
        ));
        let nothing = sleep(&runtime, Duration::from_millis(200));
        futures_util::pin_mut!(nothing);
        let heard = futures_util::future::select(c.next_notice(), nothing).await;
        assert!(
            matches!(heard, futures_util::future::Either::Right(_)),
            "c heard it"
        );

        // A's stream: its meta and events, the newest `max_events_per_stream` of them.
        let stream = StreamId::from_u64(u64::from(first.node) << 40 | 1);
        let minute = Duration::from_secs(60);
        let meta = StreamMeta::new(session("s"), vec![Id::Number(5)]);
        let opened = Shared::StreamOpened {
            stream,
            meta: meta.clone(),
            ttl: minute,
        };
        perform(&runtime, &a, opened).await;
        for seq in 1..=5u64 {
            let frame = Bytes::from(format!("id: x-{seq}\ndata: {{}}\n\n"));
            let append = Shared::Append {
                stream,
                seq,
                frame,
                ttl: minute,
            };
            perform(&runtime, &a, append).await;
        }
        // Its owner alive, the stream is not for the taking.
        let recover = |store| {
            let ticket = ticket();
            answer(&runtime, store, ticket, Shared::Recover { ticket, stream })
        };
        assert!(matches!(recover(&b).await, Answer::Failed));
        // Gone (three heartbeats after its last), it is.
        drop(a);
        sleep(&runtime, HEARTBEAT * 5).await;
        match recover(&b).await {
            Answer::Recovered(Some(recovery)) => {
                assert_eq!(recovery.meta, meta);
                let seqs: Vec<u64> = recovery.events.iter().map(|(seq, _)| *seq).collect();
                assert_eq!(seqs, [2, 3, 4, 5], "the newest four of five");
                assert_eq!(&recovery.events[0].1[..], b"id: x-2\ndata: {}\n\n");
            }
            other => panic!("expected the stream, got {other:?}"),
        }
        // A stream nothing was kept of.
        let unknown = StreamId::from_u64(999_999 << 40);
        let ticket = ticket();
        let recover = Shared::Recover {
            ticket,
            stream: unknown,
        };
        let answer = answer(&runtime, &b, ticket, recover).await;
        assert!(matches!(answer, Answer::Recovered(None)));
    });
}
