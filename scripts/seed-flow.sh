#!/usr/bin/env bash
# The seed's flow on the MCP endpoint, with curl as the raw HTTP client: GET /mcp opens a
# stream that names its session (Mcp-Session-Id + `endpoint` event), a POST with that header
# gets 202, and the reply arrives on the stream as `event: message`.
# Usage: scripts/seed-flow.sh http://127.0.0.1:PORT
set -uo pipefail
base=${1:?usage: $0 BASE_URL}
tmp=$(mktemp -d)
trap 'kill "$stream_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # check WHAT CONDITION...
    local what=$1; shift
    if "$@"; then echo "ok - $what"; pass=$((pass + 1)); else echo "not ok - $what"; fail=$((fail + 1)); fi
}
wait_for() { # wait_for PATTERN FILE
    for _ in $(seq 100); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

curl -sN -D "$tmp/head" -H 'Accept: text/event-stream' "$base/mcp" >"$tmp/stream" &
stream_pid=$!
check "GET /mcp opens a stream whose first event is endpoint" wait_for '^data: /mcp?sessionId=' "$tmp/stream"
session=$(grep -i '^mcp-session-id:' "$tmp/head" | cut -d' ' -f2 | tr -d '\r\n')
check "the stream names its session in Mcp-Session-Id" test -n "$session"
check "text/event-stream" grep -qi '^content-type: text/event-stream' "$tmp/head"
check "the endpoint event carries the same session" grep -q "^data: /mcp?sessionId=$session" "$tmp/stream"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/mcp" \
    -H "Mcp-Session-Id: $session" -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"echo","arguments":{"text":"seed flow"}}}')
check "POST with the header gets 202 (got $status)" test "$status" = 202
check "the reply arrives on the stream" wait_for '"id":42' "$tmp/stream"
check "the reply is the echo" grep -q '"text":"seed flow"' "$tmp/stream"
echo "seed-flow: $pass passed, $fail failed"
[ "$fail" = 0 ]
