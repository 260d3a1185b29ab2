//! The op-script property: any sequence of requests, credits, disconnects, replies, sends and
//! time steps keeps the server's invariants (one head per exchange, bytes handed out within the
//! bound plus one frame, sessions within the cap, no deadline in the past, ended sessions
//! answered 404, every request delivered once, a `202` delivers its messages exactly once and a
//! refusal none, every accepted reply or send reaches its client once unless its connection was
//! lost) and leaves nothing behind once every client has gone. The same function is the
//! `server_ops` fuzz target.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn any_op_script_keeps_the_invariants(script in proptest::collection::vec(any::<u8>(), 0..3000)) {
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
