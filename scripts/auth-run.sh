#!/usr/bin/env bash
# Authorization end to end over real HTTP, with the official SDK clients' OAuth support:
#   - a small authorization server of our own (tests/auth/authorization_server.py: RFC 8414
#     metadata, JWKS, dynamic client registration, authorization code + PKCE approved at once,
#     client_credentials; RS256 JWTs whose `aud` is the requested resource);
#   - the example server on each adapter (tokio, smol) with --resource, --jwt-issuer and
#     --auth-scope mcp: it finds the issuer's keys from its metadata, over its own runtime;
#   - the TypeScript SDK client (tests/interop/ts/oauth-client.mjs) and the Python SDK client
#     (tests/interop/python/oauth_client.py) against each: discovery from the 401, registration,
#     the code flow, the token, initialize, tools/call whoami; the Python run also checks that a
#     token the issuer made for another resource gets 401 and one without the scope 403;
#   - each server's graceful shutdown.
#
# Usage: scripts/auth-run.sh   (installs the clients and builds the examples if they are missing)
# Prints `auth: N passed, M failed` last. Takes ~5 s once the release examples are built.
set -uo pipefail

NAME=auth-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
OUT="$ROOT/target/auth-run"
rm -rf "$OUT"
mkdir -p "$OUT"
PY="$ROOT/target/interop-venv/bin/python"

scripts/interop-setup.sh >"$OUT/setup.log" 2>&1 || fail "interop setup failed (see $OUT/setup.log)" 2
if ! cargo build --release -q -p mcp-sse-tokio -p mcp-sse-smol --example server --example server-smol \
    2>"$OUT/build.log"; then
    tail -n 30 "$OUT/build.log"
    fail "the examples did not build" 2
fi
BIN="$ROOT/target/release/examples"

# counts LOG PREFIX: the "N M" of the last "PREFIX: N passed, M failed" line of LOG (or "0 1").
counts() {
    sed -nE "s/^$2: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p" "$1" | tail -n 1 | grep . || echo "0 1"
}

# client LABEL LOG CMD...: run an SDK client (its own deadline, and a guard past it), count it.
client() {
    local label=$1 log=$2 p f
    shift 2
    timeout -k 5 40 "$@" >"$log" 2>&1
    sed 's/^/  /' "$log"
    read -r p f < <(counts "$log" "$label")
    tally "$p" "$f"
}

as_port=$(free_port)
ISSUER="http://127.0.0.1:$as_port"
start_service as_pid "$OUT/authorization-server.log" "$PY" tests/auth/authorization_server.py "$as_port"
wait_http "$ISSUER/jwks" || fail "the authorization server did not start: $(tail -n 5 "$OUT/authorization-server.log")" 2
echo "# authorization server on $ISSUER"

for adapter in tokio smol; do
    binary=$BIN/server
    [ "$adapter" = smol ] && binary=$BIN/server-smol
    port=$(free_port)
    MCP_URL="http://127.0.0.1:$port/mcp"
    start_service server "$OUT/$adapter-server.log" "$binary" --bind "127.0.0.1:$port" \
        --resource "$MCP_URL" --jwt-issuer "$ISSUER" --auth-scope mcp
    wait_http "$MCP_URL" || fail "the $adapter server did not start: $(tail -n 5 "$OUT/$adapter-server.log")" 2
    echo "# $adapter: TypeScript SDK client -> $MCP_URL"
    client ts-oauth "$OUT/$adapter-ts.log" node tests/interop/ts/oauth-client.mjs "$MCP_URL"
    echo "# $adapter: Python SDK client -> $MCP_URL"
    client py-oauth "$OUT/$adapter-py.log" "$PY" tests/interop/python/oauth_client.py "$MCP_URL"
    check "the $adapter server shut down gracefully (SIGINT)" stop_service "$server" INT
done
stop_service "$as_pid" TERM || true

report_totals auth
