#!/usr/bin/env bash
# The metrics over real HTTP: each example server runs with `--metrics 127.0.0.1:PORT`; curl opens
# a Streamable HTTP session (initialize, notifications/initialized, a tools/call), sends a request
# naming an unknown session (refused, 404), ends the session with DELETE, then opens a 2024-11-05
# stream and goes away. The Prometheus exporter is scraped before, during and after, and each
# counter must have moved by what these calls make it move (differences, so the readiness probes
# do not count), each gauge must read what is open, and the metrics carry their descriptions.
# The servers are started here and stopped by PID; scrapes and logs are under target/metrics/.
#
# Usage: scripts/metrics-run.sh [LABEL=SERVER-BINARY...]
#        (default: tokio=target/release/examples/server smol=target/release/examples/server-smol)
# Prints the checks and `metrics: N passed, M failed`; exits non-zero on any failure. About 2 s.
set -uo pipefail

NAME=metrics-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
setup_log
[ $# -gt 0 ] || set -- tokio=target/release/examples/server smol=target/release/examples/server-smol

DIR=$ROOT/target/metrics
rm -rf "$DIR" && mkdir -p "$DIR"

# value SCRAPE SERIES: the value of SERIES (`name{labels}` as rendered) in SCRAPE, 0 when absent.
value() {
    awk -v series="$2" '$1 == series { v = $2 } END { print v + 0 }' "$1"
}
# moved BEFORE AFTER SERIES BY: SERIES grew by exactly BY between the two scrapes.
moved() {
    local by
    by=$(awk -v a="$(value "$1" "$3")" -v b="$(value "$2" "$3")" 'BEGIN { print b - a }')
    [ "$by" = "$4" ] || { echo "# $3: moved by $by, expected $4" >&2; return 1; }
}
# reads SCRAPE SERIES VALUE: SERIES reads VALUE in SCRAPE.
reads() {
    local v
    v=$(value "$1" "$2")
    [ "$v" = "$3" ] || { echo "# $2: $v, expected $3" >&2; return 1; }
}
# scrape URL FILE: GET URL into FILE; true when it answered 200 with Prometheus' text format.
scrape() {
    [ "$(curl -s -m 5 -o "$2" -w '%{http_code} %{content_type}' "$1")" = "200 text/plain; version=0.0.4" ]
}
wait_for() { # wait_for PATTERN FILE: until FILE has a line matching PATTERN (5 s at most)
    local i
    for i in $(seq 100); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

ACCEPT='Accept: application/json, text/event-stream'
JSON='Content-Type: application/json'
for target in "$@"; do
    label=${target%%=*}
    port=$(free_port)
    start_server "$label" "$DIR/server-$label.log" "${target#*=}" --metrics "127.0.0.1:$port"
    base=$SERVER_URL metrics=http://127.0.0.1:$port/metrics
    out=$DIR/$label
    mkdir -p "$out"

    check "$label: GET /metrics answers 200 in Prometheus' text format" scrape "$metrics" "$out/before.txt"
    check "$label: the exporter answers 404 elsewhere" \
        test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 404

    # A Streamable HTTP session: initialize, initialized, one call, a refusal, DELETE.
    curl -s -D "$out/init.head" -o "$out/init.body" "$base/mcp" -H "$JSON" -H "$ACCEPT" \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
    session=$(grep -i '^mcp-session-id:' "$out/init.head" | cut -d' ' -f2 | tr -d '\r\n')
    check "$label: initialize opened a session" test -n "$session"
    named=("-H" "Mcp-Session-Id: $session" "-H" "MCP-Protocol-Version: 2025-11-25")
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/mcp" -H "$JSON" -H "$ACCEPT" "${named[@]}" \
        -d '{"jsonrpc":"2.0","method":"notifications/initialized"}')
    check "$label: notifications/initialized gets 202 (got $status)" test "$status" = 202
    curl -s -o "$out/call.body" "$base/mcp" -H "$JSON" -H "$ACCEPT" "${named[@]}" \
        -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"metered"}}}'
    check "$label: tools/call answered" grep -q '"text":"metered"' "$out/call.body"
    status=$(curl -s -o /dev/null -w '%{http_code}' "$base/mcp" -H "$JSON" -H "$ACCEPT" \
        -H 'Mcp-Session-Id: 0123456789abcdef0123456789abcdef' -d '{"jsonrpc":"2.0","id":3,"method":"ping"}')
    check "$label: a request naming no session gets 404 (got $status)" test "$status" = 404
    status=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/mcp" "${named[@]}")
    check "$label: DELETE ends the session (got $status)" test "$status" = 200

    # A 2024-11-05 stream, open while the exporter is scraped.
    curl -sN "$base/sse" >"$out/stream.txt" &
    stream=$!
    wait_for '^data: ' "$out/stream.txt"
    check "$label: GET /metrics with the stream open" scrape "$metrics" "$out/during.txt"
    kill "$stream" 2>/dev/null
    wait "$stream" 2>/dev/null
    # The server sees the stream's client go at its next write: the keepalive, 15 s away, or the
    # disconnect hyper notices at once. Scrape until the gauge drops (5 s at most).
    for _ in $(seq 50); do
        scrape "$metrics" "$out/after.txt" && [ "$(value "$out/after.txt" mcp_streams_open)" = 0 ] && break
        sleep 0.1
    done

    b=$out/before.txt d=$out/during.txt a=$out/after.txt
    check "$label: requests 200 on streamable +3 (initialize, call, DELETE)" \
        moved "$b" "$a" 'mcp_http_requests_total{status="200",transport="streamable"}' 3
    check "$label: requests 202 on streamable +1" \
        moved "$b" "$a" 'mcp_http_requests_total{status="202",transport="streamable"}' 1
    check "$label: requests 404 of no known era +1" \
        moved "$b" "$a" 'mcp_http_requests_total{status="404",transport="unknown"}' 1
    check "$label: requests 200 on 2024-11-05 +1 (the stream)" \
        moved "$b" "$a" 'mcp_http_requests_total{status="200",transport="http_sse"}' 1
    check "$label: refusals for an unknown session +1" \
        moved "$b" "$a" 'mcp_http_refusals_total{reason="session_not_found"}' 1
    check "$label: sessions opened +1 streamable, +1 2024-11-05" \
        eval 'moved "$b" "$a" "mcp_sessions_opened_total{transport=\"streamable\"}" 1 &&
              moved "$b" "$a" "mcp_sessions_opened_total{transport=\"http_sse\"}" 1'
    check "$label: sessions closed +1 deleted, +1 client gone" \
        eval 'moved "$b" "$a" "mcp_sessions_closed_total{reason=\"deleted\"}" 1 &&
              moved "$b" "$a" "mcp_sessions_closed_total{reason=\"client_gone\"}" 1'
    check "$label: messages in +3, out +2" \
        eval 'moved "$b" "$a" mcp_messages_in_total 3 && moved "$b" "$a" mcp_messages_out_total 2'
    check "$label: two handler latencies recorded on streamable" \
        moved "$b" "$a" 'mcp_handler_duration_seconds_count{transport="streamable"}' 2
    check "$label: one session and one stream open while the stream was" \
        eval 'reads "$d" mcp_sessions_open 1 && reads "$d" mcp_streams_open 1'
    check "$label: no session and no stream open after" \
        eval 'reads "$a" mcp_sessions_open 0 && reads "$a" mcp_streams_open 0'
    check "$label: the metrics carry their descriptions" \
        eval 'grep -q "^# HELP mcp_http_requests_total " "$a" &&
              grep -q "^# TYPE mcp_handler_duration_seconds histogram" "$a"'
done
stop_servers
report_totals metrics
