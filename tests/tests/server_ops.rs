//! The op-script property: any sequence of requests, credits, disconnects, replies, sends and
//! time steps keeps the server's invariants (one head per exchange, bytes handed out within the
//! bound plus one frame, sessions within the cap, no deadline in the past, ended sessions
//! answered 404, every request delivered once, a `202` delivers its messages exactly once and a
//! refusal none, every accepted reply or send reaches its client once unless its connection was
//! lost) and leaves nothing behind once every client has gone. The same function is the
//! `server_ops` fuzz target.
//!
//! The same holds for two or three servers as the instances of a cluster, sharing a store the
//! script drives too (operations performed in any order, answered at once, late, twice or not
//! at all, notices delivered or dropped), with the cluster's own invariants besides: see
//! `mcp_sse_core::fuzzing::server_ops`.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_op_script_keeps_the_invariants(script in proptest::collection::vec(any::<u8>(), 0..3000)) {
        mcp_sse_core::fuzzing::server_ops(&script);
    }

    #[test]
    fn any_cluster_op_script_keeps_the_invariants(ops in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let mut script = vec![mcp_sse_core::fuzzing::CLUSTER_SCRIPT];
        script.extend(ops);
        mcp_sse_core::fuzzing::server_ops(&script);
    }
}

#[test]
fn scripted_sessions_of_every_generation() {
    // A few hand-picked scripts: the first bytes choose the config, then each op's bytes.
    for seed in [
        &[1u8, 2, 3, 4, 5, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0][..],
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 4, 9, 9, 9, 9,
        ][..],
        &[
            3, 3, 5, 1, 2, 7, 7, 7, 7, 7, 1, 2, 2, 0, 1, 0, 0, 1, 9, 7, 5, 6, 8, 10,
        ][..],
    ] {
        mcp_sse_core::fuzzing::server_ops(seed);
    }
}

/// The shortest scripts found for the places where, in a cluster, the core does not yet keep a
/// promise it keeps alone. The op scripts tolerate these (and so do these runs); each script
/// fails with `MCP_OPS_STRICT=<its name>` until its gap is closed in the core, and then its
/// tolerance in `ops.rs` goes.
#[test]
fn cluster_findings_stay_closed() {
    let findings: [(&str, &[u8]); 5] = [
        // a 2024-11-05 session of instance 1 restored on instance 0, whose table is full.
        (
            "RestoreOverCap",
            &[
                193, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 1, 0,
                3, 0, 63, 0, 0, 0, 3, 0, 2, 0, 0, 0, 0, 1, 0, 3, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0,
                0, 1, 0, 1, 0, 0, 114,
            ][..],
        ),
        // a request relayed to the instance holding a 2024-11-05 stream that is full (64 bytes unread).
        (
            "RelayRefusalLost",
            &[
                193, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 1, 0,
                1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1,
            ][..],
        ),
        // a 2024-11-05 stream gone at once, the store performing its `EndSession` before its `SaveSession`.
        (
            "SessionOpsReordered",
            &[
                193, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1,
                0, 3, 0, 29, 0, 152, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1,
            ][..],
        ),
        // `send` to a session with no stream anywhere.
        (
            "DeliverUnconfirmed",
            &[
                193, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0,
                0, 0, 0, 0, 122, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 8, 0, 0, 1,
            ][..],
        ),
        // two lookups of one session in flight on an instance: the first request deletes it, the second restores it.
        (
            "StaleLookupRestores",
            &[
                193, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 22, 0, 1, 245, 0, 0,
                0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 35, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 229, 0, 2, 0, 0, 0, 0, 0, 0, 1,
            ][..],
        ),
    ];
    for (gap, script) in findings {
        // Closed gaps are checked always: the script fails (panics) if the core breaks the
        // promise again; it may still meet the situation (a store reordering) harmlessly.
        let reached = mcp_sse_core::fuzzing::server_ops(script);
        if gap == "DeliverUnconfirmed" {
            // What a cluster does (documented at Server::send): still met, and tolerated.
            assert!(
                reached.contains(&format!("gap {gap}")),
                "{gap}: {reached:?}"
            );
        }
    }
}
