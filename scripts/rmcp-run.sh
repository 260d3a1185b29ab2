#!/usr/bin/env bash
# The rmcp bridge (mcp-sse-rmcp) end to end, with real clients:
#   1. the official SDK clients (scripts/interop-run.sh: TypeScript v1 over /sse and /mcp, TypeScript
#      v2 at 2026-07-28, Python over all three) against the rmcp counter example: initialize, list,
#      call, progress, elicitation, resumption after a cut;
#   2. the official conformance suite (scripts/conformance-run.sh: 0.1.16 --suite all, 0.2.0-alpha.12
#      with both requirement sets) against the conformance fixture written as an rmcp ServerHandler,
#      served through the bridge, and the same handler served by rmcp's own StreamableHttpService; the
#      two totals are printed side by side;
#   3. the counter example's graceful shutdown (SIGINT).
# Counted: the interop checks, the conformance checks through the bridge (as failed only those that
# fail through the bridge and not on rmcp's own service: those are the bridge's), and the shutdown.
# rmcp's own run is reported, not counted; a check failing on both is the handler's (the fixture has
# no tasks-extension tools), printed, not counted.
#
# Usage: scripts/rmcp-run.sh        (installs the clients and the suite itself if they are missing)
# Prints `rmcp: N passed, M failed` last; the output of the runs it calls is indented, so that their
# own summary lines are not read as this one. Takes the release build of two examples plus ~1 min.
set -uo pipefail

NAME=rmcp-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
OUT="$ROOT/target/rmcp-run"
rm -rf "$OUT"
mkdir -p "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_up PORT: until the server answers (any status), for at most 10 s.
wait_up() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/mcp" -X OPTIONS && return 0
        sleep 0.1
    done
    return 1
}

# counts LOG PREFIX: the "N M" of the last "PREFIX: N passed, M failed" line of LOG (or "0 1").
counts() {
    sed -nE "s/^$2: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p" "$1" | tail -n 1 | grep . || echo "0 1"
}

scripts/interop-setup.sh >"$OUT/setup.log" 2>&1 || fail "interop setup failed (see $OUT/setup.log)" 2
scripts/conformance-setup.sh >>"$OUT/setup.log" 2>&1 || fail "conformance setup failed (see $OUT/setup.log)" 2
if ! cargo build --release -q -p mcp-sse-rmcp --example counter --example conformance 2>"$OUT/build.log"; then
    tail -n 30 "$OUT/build.log"
    fail "the examples did not build" 2
fi
BIN="$ROOT/target/release/examples"
servers=()
trap 'for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

# 1. The SDK clients against the counter example, its tools named by role (tests/interop/harness.mjs).
port=$(free_port)
"$BIN/counter" --bind "127.0.0.1:$port" 2>"$OUT/counter.log" &
counter=$!
servers+=("$counter")
wait_up "$port" || fail "the counter example did not start (see $OUT/counter.log)" 2
echo "== interop: the official SDK clients against the rmcp counter example"
MCP_PROGRESS_TOOL=progress MCP_ELICIT_TOOL=greet MCP_RECONNECT_TOOL= MCP_CHANGE_TOOL= \
    scripts/interop-run.sh "http://127.0.0.1:$port" >"$OUT/interop.log" 2>&1
sed 's/^/  /' "$OUT/interop.log"
read -r p f < <(counts "$OUT/interop.log" interop)
tally "$p" "$f"

# 3. Its graceful shutdown: SIGINT ends every stream, then the server.
kill -INT "$counter"
if wait "$counter"; then
    echo "ok - the counter example shut down gracefully"
    tally 1 0
else
    echo "not ok - the counter example did not shut down cleanly"
    tally 0 1
fi

# 2. The conformance suite against the fixture: through the bridge, then through rmcp's own service.
for via in bridge rmcp; do
    port=$(free_port)
    flag=()
    [ "$via" = rmcp ] && flag=(--rmcp)
    "$BIN/conformance" --bind "127.0.0.1:$port" "${flag[@]}" 2>"$OUT/fixture-$via.log" &
    server=$!
    servers+=("$server")
    wait_up "$port" || fail "the fixture ($via) did not start (see $OUT/fixture-$via.log)" 2
    echo "== conformance: the fixture through $([ "$via" = bridge ] && echo "the bridge" || echo "rmcp's own StreamableHttpService")"
    rm -rf "$OUT/conformance-$via"
    CONFORMANCE_OUT="$OUT/conformance-$via" scripts/conformance-run.sh "http://127.0.0.1:$port" \
        >"$OUT/conformance-$via.log" 2>&1
    sed 's/^/  /' "$OUT/conformance-$via.log"
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
done

echo "== conformance side by side (checks passed / failed, per run)"
printf '  %-32s %-24s %s\n' run "through the bridge" "rmcp's own service"
for run in v0.1.16-all v0.2.0-alpha.12-2025-11-25 v0.2.0-alpha.12-2026-07-28; do
    bridge=$(sed -nE "s/^  run $run: ([0-9]+) passed, ([0-9]+) failed.*/\1 \/ \2/p" "$OUT/conformance-bridge.log")
    own=$(sed -nE "s/^  run $run: ([0-9]+) passed, ([0-9]+) failed.*/\1 \/ \2/p" "$OUT/conformance-rmcp.log")
    printf '  %-32s %-24s %s\n' "$run" "${bridge:-no result}" "${own:-no result}"
done
read -r bp bf < <(counts "$OUT/conformance-bridge.log" conformance)
read -r rp rf < <(counts "$OUT/conformance-rmcp.log" conformance)
printf '  %-32s %-24s %s\n' total "$bp / $bf" "$rp / $rf"

# The checks that fail through the bridge and not on rmcp's own service are the bridge's.
"$ROOT/tests/conformance/node22/node_modules/node-linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')/bin/node" -e '
const fs = require("fs"), path = require("path");
const failing = (root) => {
  const out = new Set();
  for (const run of fs.readdirSync(root)) for (const d of fs.readdirSync(path.join(root, run))) {
    const file = path.join(root, run, d, "checks.json");
    if (!fs.existsSync(file)) continue;
    const scenario = d.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    for (const c of JSON.parse(fs.readFileSync(file, "utf8")))
      if (c.status === "FAILURE") out.add(`${run} ${scenario} [${c.id}]`);
  }
  return out;
};
const own = failing(process.argv[2]);
const bridge = [...failing(process.argv[1])].filter((c) => !own.has(c)).sort();
console.log(`  checks failing through the bridge but not on rmcp own service: ${bridge.length ? "" : "none"}`);
for (const c of bridge) console.log(`    ${c}`);
console.log(`bridge-only ${bridge.length}`);
' "$OUT/conformance-bridge" "$OUT/conformance-rmcp" >"$OUT/bridge-only.log"
sed '$d' "$OUT/bridge-only.log"
# Counted: every check passed through the bridge, and as failed only those that are the bridge's;
# a failure on both sides is the fixture's (or rmcp's), reported above, not counted.
bridge_only=$(sed -nE 's/^bridge-only ([0-9]+)$/\1/p' "$OUT/bridge-only.log")
echo "  failing on both (the handler's, not counted): $((bf - ${bridge_only:-0}))"
tally "$bp" "${bridge_only:-1}"

report_totals rmcp
