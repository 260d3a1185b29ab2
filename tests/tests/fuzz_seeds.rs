//! The fuzz targets' seed corpus, `fuzz/corpus/<target>/seed-t-*`, generated from real flows:
//! the SSE bytes and JSON-RPC bodies of 2024-11-05, 2025 and shutdown flows through the
//! simulation harness, and for `server_ops` the op scripts, from a fixed pseudo-random search,
//! that together reach the most server behaviours, alone and in a cluster. Every seed also runs
//! through its target here.
//!
//! The committed corpus must be what this test generates: after changing a flow or the op
//! script format, regenerate with `MCP_WRITE_SEEDS=1 cargo test -p mcp-sse-tests --test
//! fuzz_seeds`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use mcp_sse_core::sse::{DecodedEvent, Item};
use mcp_sse_core::{Config, ResponseMode, fuzzing};
use mcp_sse_tests::Sim;

/// Seeds by target, each by name.
type Corpus = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

#[test]
fn committed_seeds_are_the_generated_ones() {
    let corpus = generate();
    for (target, seeds) in &corpus {
        for seed in seeds.values() {
            run(target, seed);
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    if std::env::var_os("MCP_WRITE_SEEDS").is_some() {
        for (target, seeds) in &corpus {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).expect("corpus directory");
            for entry in std::fs::read_dir(&dir).expect("corpus directory") {
                let path = entry.expect("entry").path();
                if is_generated(&path) {
                    std::fs::remove_file(&path).expect("stale seed removed");
                }
            }
            for (name, seed) in seeds {
                std::fs::write(dir.join(format!("seed-t-{name}")), seed).expect("seed written");
            }
        }
        return;
    }
    for (target, seeds) in &corpus {
        let dir = root.join(target);
        let mut committed = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("the committed corpus") {
            let path = entry.expect("entry").path();
            if is_generated(&path) {
                let name = path.file_name().expect("a name").to_string_lossy();
                let name = name.trim_start_matches("seed-t-").to_owned();
                committed.insert(name, std::fs::read(&path).expect("seed"));
            }
        }
        assert!(
            &committed == seeds,
            "fuzz/corpus/{target} is stale: regenerate it with MCP_WRITE_SEEDS=1 \
             cargo test -p mcp-sse-tests --test fuzz_seeds"
        );
    }
}

fn is_generated(path: &std::path::Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("seed-t-"))
}

fn run(target: &str, seed: &[u8]) {
    match target {
        "sse_decoder" => fuzzing::sse_decoder(seed),
        "sse_roundtrip" => fuzzing::sse_roundtrip(seed),
        "jsonrpc_classify" => fuzzing::jsonrpc_classify(seed),
        "server_ops" => {
            fuzzing::server_ops(seed);
        }
        other => panic!("unknown target {other}"),
    }
}

fn generate() -> Corpus {
    let mut corpus = Corpus::new();
    let mut streams = BTreeMap::new();
    let mut bodies = BTreeMap::new();
    flows(&mut streams, &mut bodies);

    // The same stream with the other line ends and a byte order mark (E2.1, E2.2).
    let legacy = streams["legacy"].clone();
    let mut crlf = "\u{feff}".as_bytes().to_vec();
    for &byte in &legacy {
        match byte {
            b'\n' => crlf.extend_from_slice(b"\r\n"),
            other => crlf.push(other),
        }
    }
    streams.insert("legacy-bom-crlf".into(), crlf);
    let cr = legacy
        .iter()
        .map(|&b| if b == b'\n' { b'\r' } else { b })
        .collect();
    streams.insert("legacy-cr".into(), cr);

    let mut roundtrip = BTreeMap::new();
    for (name, raw) in &streams {
        for (i, event) in decoded(raw).iter().enumerate() {
            roundtrip.insert(format!("{name}-{i}"), roundtrip_input(event));
        }
    }
    // A payload with every kind of line break, and a retry hint with no data (E4.1, E5.2).
    roundtrip.insert("line-breaks".into(), b"\x08\xff\xffa\rb\nc\r\nd".to_vec());
    roundtrip.insert("retry-only".into(), b"\x4c\xff\xff".to_vec());

    corpus.insert("sse_decoder", streams);
    corpus.insert("sse_roundtrip", roundtrip);
    corpus.insert("jsonrpc_classify", bodies);
    corpus.insert("server_ops", op_scripts());
    corpus
}

/// The streams and bodies of real flows.
fn flows(streams: &mut BTreeMap<String, Vec<u8>>, bodies: &mut BTreeMap<String, Vec<u8>>) {
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi\nthere"}}}"#;
    let answer = r#"{"content":[{"type":"text","text":"hi\nthere"}]}"#;

    // 2024-11-05: the endpoint event, an answer, a keepalive (S1.2, S1.4, E5.1).
    let mut sim = Sim::new(Config::default());
    let (stream, endpoint) = sim.open_legacy("/sse");
    let post = sim.post(&endpoint, &[], call);
    assert_eq!(sim.seen(post).status(), 202);
    let (key, _) = sim.next_request();
    sim.reply(key, answer);
    sim.advance(sim.server.config().keepalive_interval + Duration::from_millis(1));
    streams.insert("legacy".into(), sim.seen(stream).raw.clone());
    bodies.insert("tools-call".into(), call.into());

    // 2025-11-25: a POST answered with a priming event, a notification and the answer (S2.16);
    // then a standalone stream ended by shutdown with a reconnection hint.
    let mut config = Config::default();
    config.response_mode = ResponseMode::Sse;
    let mut sim = Sim::new(config);
    let session = sim.initialize("2025-11-25");
    let headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let post = sim.post("/mcp", &headers, call);
    let (key, _) = sim.next_request();
    let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":0.5}}"#;
    sim.send(mcp_sse_core::Target::Request(key), progress)
        .expect("the stream carries it");
    sim.reply(key, answer);
    streams.insert("streamable-post".into(), sim.seen(post).raw.clone());
    let standalone = sim.get_stream("/mcp", &headers);
    let now = sim.now;
    sim.server.shutdown(now, std::time::Duration::from_secs(10));
    sim.drain();
    streams.insert("shutdown".into(), sim.seen(standalone).raw.clone());
    bodies.insert("progress".into(), progress.into());

    // Client messages of every kind, valid and not (S5.1–S5.9).
    for (name, body) in [
        (
            "initialized",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        ),
        (
            "response",
            r#"{"jsonrpc":"2.0","id":"s1","result":{"action":"accept"}}"#,
        ),
        (
            "error",
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no","data":[1]}}"#,
        ),
        (
            "batch",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},5]"#,
        ),
        ("empty-batch", "[]"),
        ("no-version", r#"{"id":1,"method":"ping"}"#),
        ("null-id", r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
        ("truncated", r#"{"jsonrpc":"2.0","id":1,"meth"#),
    ] {
        bodies.insert(name.into(), body.into());
    }
}

fn decoded(raw: &[u8]) -> Vec<DecodedEvent> {
    let mut decoder = mcp_sse_core::sse::Decoder::new();
    decoder
        .feed(raw)
        .into_iter()
        .filter_map(|item| match item {
            Item::Event(event) => Some(event),
            Item::Comment(_) => None,
        })
        .collect()
}

/// The `sse_roundtrip` input that encodes `event`: flags, name, `0xFF`, id, `0xFF`, payload.
fn roundtrip_input(event: &DecodedEvent) -> Vec<u8> {
    let named = event.event_type != "message";
    let flags = u8::from(named) | 2;
    let mut input = vec![flags];
    if named {
        input.extend_from_slice(event.event_type.as_bytes());
    }
    input.push(0xFF);
    input.extend_from_slice(event.last_event_id.as_bytes());
    input.push(0xFF);
    input.extend_from_slice(event.data.as_bytes());
    input
}

/// Op scripts from a fixed pseudo-random search: each kept script reaches a behaviour no
/// earlier one did. One server first, then clusters.
fn op_scripts() -> BTreeMap<String, Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        // xorshift64*: deterministic, so the corpus is reproducible.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut reached = BTreeSet::new();
    let mut scripts = BTreeMap::new();
    let mut keep = |name: String, script: Vec<u8>, reached: &mut BTreeSet<String>| {
        let new: Vec<String> = fuzzing::server_ops(&script)
            .into_iter()
            .filter(|b| !reached.contains(b))
            .collect();
        if !new.is_empty() {
            reached.extend(new);
            scripts.insert(name, script);
        }
    };
    for attempt in 0..3000 {
        let len = 64 + (next() % 512) as usize;
        let mut script: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if script[0] == fuzzing::CLUSTER_SCRIPT {
            // The same choices for one server (the first byte counts modulo 4 there).
            script[0] += 4;
        }
        keep(format!("ops-{attempt:04}"), script, &mut reached);
    }
    assert!(
        reached.contains("request Streamable") && reached.contains("request HttpSse"),
        "the search reaches sessions of both generations: {reached:?}"
    );
    for attempt in 0..1500 {
        let len = 64 + (next() % 1024) as usize;
        let mut script: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        script[0] = fuzzing::CLUSTER_SCRIPT;
        keep(format!("cluster-{attempt:04}"), script, &mut reached);
    }
    for behaviour in ["restored", "notice relayed", "answer late", "answer again"] {
        assert!(
            reached.contains(behaviour),
            "the search reaches {behaviour} in a cluster: {reached:?}"
        );
    }
    scripts
}
