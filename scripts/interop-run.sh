#!/usr/bin/env bash
# Run the official-SDK interop clients (TypeScript, Python) against a running server:
#   - the 2024-11-05 HTTP+SSE endpoint at BASE_URL/sse   (ts-sse, py-sse)
#   - the Streamable HTTP endpoint at BASE_URL/mcp       (ts-streamable, py-streamable; sessions,
#     progress, resumption after a cut and after a server-side close, DELETE then 404)
#   - the same endpoint speaking 2026-07-28, sessionless (ts-modern, py-modern; server/discover,
#     tools, progress, subscriptions/listen + tools/list_changed)
# Run scripts/interop-setup.sh first.
#
# Usage: scripts/interop-run.sh http://127.0.0.1:PORT
# Env:   MCP_TIMEOUT_MS / MCP_TIMEOUT_S  per-client deadline (defaults 20000 ms / 20 s)
#        MCP_WIRE=1                      streamable and modern clients print the HTTP flow of every check
# Prints each client's output and a final `interop: N passed, M failed` line (sum of all six);
# exits non-zero if any client fails.
set -uo pipefail

NAME=interop-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
base_url_arg "e.g. http://127.0.0.1:8080" "$@"
SSE_URL="$BASE_URL/sse"
MCP_URL="$BASE_URL/mcp"

enter_root
TS_DIR="$ROOT/tests/interop/ts"
TS2_DIR="$ROOT/tests/interop/ts2"
PY="$ROOT/target/interop-venv/bin/python"

if [ ! -d "$TS_DIR/node_modules/@modelcontextprotocol/sdk" ] || [ ! -d "$TS2_DIR/node_modules/@modelcontextprotocol/client" ] \
    || [ ! -x "$PY" ]; then
    fail "clients not installed; run scripts/interop-setup.sh first" 2
fi

# Outer guard in case a client's own deadline fails: kill it a little after its deadline.
GUARD_S=$(( ${MCP_TIMEOUT_MS:-20000} / 1000 + 15 ))
guard() {
    if command -v timeout >/dev/null 2>&1; then
        timeout -k 5 "$GUARD_S" "$@"
    else
        "$@"
    fi
}

# run_client LABEL CMD...: print the client's output, add its counts to the totals.
run_client() {
    local label=$1
    shift
    local out rc line p f
    out=$(guard "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E "^$label: [0-9]+ passed, [0-9]+ failed$" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$line")
        f=$(sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$line")
    else
        echo "not ok - $label: client exited (rc=$rc) without a summary line"
        p=0
        f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $label: client exited with rc=$rc"
        f=1
    fi
    tally "$p" "$f" # a client that exited non-zero has f > 0 by now
}

echo "# interop: TypeScript SDK client -> $SSE_URL"
run_client ts-sse node "$TS_DIR/sse-client.mjs" "$SSE_URL"
echo "# interop: Python SDK client -> $SSE_URL"
run_client py-sse "$PY" "$ROOT/tests/interop/python/sse_client.py" "$SSE_URL"
echo "# interop: TypeScript SDK client -> $MCP_URL (Streamable HTTP)"
run_client ts-streamable node "$TS_DIR/streamable-client.mjs" "$MCP_URL"
echo "# interop: Python SDK client -> $MCP_URL (Streamable HTTP)"
run_client py-streamable "$PY" "$ROOT/tests/interop/python/streamable_client.py" "$MCP_URL"
echo "# interop: TypeScript SDK v2 client -> $MCP_URL (2026-07-28, sessionless)"
run_client ts-modern node "$TS2_DIR/modern-client.mjs" "$MCP_URL"
echo "# interop: Python SDK client -> $MCP_URL (2026-07-28, sessionless)"
run_client py-modern "$PY" "$ROOT/tests/interop/python/modern_client.py" "$MCP_URL"

report_totals interop
