//! Redis gone and back: every operation still resolves (those with a ticket to `Failed`, within
//! the store's deadline), and once Redis is back on its port the commands work again and the
//! pub/sub connection is renewed with every subscription, so notices arrive as before.

mod support;

use std::time::Duration;

use bytes::Bytes;
use mcp_sse_core::{Answer, Change, Notice, Shared};
use support::*;

#[test]
fn every_operation_resolves_while_redis_is_gone_and_works_again_once_it_is_back() {
    on_each_runtime(|runtime, mut redis| async move {
        let (holder, _) = connect(&runtime, &redis).await;
        let (other, _) = connect(&runtime, &redis).await;
        let before = session("held-before");
        perform(
            &runtime,
            &holder,
            Shared::Hold {
                session: before.clone(),
            },
        )
        .await;

        redis.stop();
        let s = session("s");
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let slack = Duration::from_secs(1);
        for op in ["save", "load", "relay"] {
            let started = runtime.now();
            let answer = match op {
                "save" => save(&runtime, &other, &s, Duration::from_secs(60)).await,
                "load" => load(&runtime, &other, &s).await,
                _ => relay(&runtime, &other, &before, ping).await,
            };
            assert!(matches!(answer, Answer::Failed), "{op}: {answer:?}");
            let took = runtime.now() - started;
            assert!(
                took <= TIMEOUT + slack,
                "{op} took {took:?}, the deadline is {TIMEOUT:?}"
            );
        }
        let ttl = Duration::from_secs(60);
        perform(
            &runtime,
            &other,
            Shared::TouchSession {
                session: s.clone(),
                ttl,
            },
        )
        .await;
        perform(
            &runtime,
            &other,
            Shared::Publish(Change::PromptsListChanged),
        )
        .await;
        // Held while Redis is gone: subscribed once it is back.
        let during = session("held-during");
        perform(
            &runtime,
            &holder,
            Shared::Hold {
                session: during.clone(),
            },
        )
        .await;

        redis.restart();
        bounded(&runtime, "a save once Redis is back", async {
            while !matches!(save(&runtime, &other, &s, ttl).await, Answer::Done) {
                sleep(&runtime, Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(matches!(
            load(&runtime, &holder, &s).await,
            Answer::Found(Some(_))
        ));

        for held in [&before, &during] {
            bounded(&runtime, "the holder subscribed again", async {
                while !matches!(
                    relay(&runtime, &other, held, ping).await,
                    Answer::Relayed(true)
                ) {
                    sleep(&runtime, Duration::from_millis(50)).await;
                }
            })
            .await;
            let relayed = Notice::Relayed {
                session: held.clone(),
                message: Bytes::from_static(ping.as_bytes()),
            };
            assert_eq!(notice(&runtime, &holder).await, relayed);
        }
        perform(&runtime, &other, Shared::Publish(Change::ToolsListChanged)).await;
        assert_eq!(
            notice(&runtime, &holder).await,
            Notice::Published(Change::ToolsListChanged)
        );
    });
}
