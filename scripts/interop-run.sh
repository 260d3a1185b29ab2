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

echo "# interop: TypeScript SDK client -> $SSE_URL"
run_totals ts-sse guard node "$TS_DIR/sse-client.mjs" "$SSE_URL"
echo "# interop: Python SDK client -> $SSE_URL"
run_totals py-sse guard "$PY" "$ROOT/tests/interop/python/sse_client.py" "$SSE_URL"
echo "# interop: TypeScript SDK client -> $MCP_URL (Streamable HTTP)"
run_totals ts-streamable guard node "$TS_DIR/streamable-client.mjs" "$MCP_URL"
echo "# interop: Python SDK client -> $MCP_URL (Streamable HTTP)"
run_totals py-streamable guard "$PY" "$ROOT/tests/interop/python/streamable_client.py" "$MCP_URL"
echo "# interop: TypeScript SDK v2 client -> $MCP_URL (2026-07-28, sessionless)"
run_totals ts-modern guard node "$TS2_DIR/modern-client.mjs" "$MCP_URL"
echo "# interop: Python SDK client -> $MCP_URL (2026-07-28, sessionless)"
run_totals py-modern guard "$PY" "$ROOT/tests/interop/python/modern_client.py" "$MCP_URL"

report_totals interop
