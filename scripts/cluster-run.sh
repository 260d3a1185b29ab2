#!/usr/bin/env bash
# Several instances behind a plain round-robin balancer, sharing one Redis (issue 18). For each
# server command given: one redis-server (Debian's package; no persistence), three instances of the
# server with `--redis redis://127.0.0.1:PORT --seal-key KEY` (one random key for all three), and
# nginx in front of them: an upstream of the three, round robin with no affinity (max_fails=0, so
# that nginx never hides a failing instance), SSE-safe (HTTP/1.1 to the servers, buffering off,
# a long read timeout), and `X-Upstream` naming the instance that answered. Then:
#   1. through nginx, the official SDK clients (scripts/interop-run.sh) and the official
#      conformance suite (scripts/conformance-run.sh), as against one instance;
#   2. tests/cluster/check.py flows, talking to the instances directly so that each step lands
#      where it should: a 2024-11-05 stream on A with its POSTs on B and C; a Streamable HTTP
#      session initialized on A, used on B and C, deleted on C; notifications caused on B reaching a
#      standalone stream on A; a change published on B reaching `subscriptions/listen` streams on
#      all three; an input_required round begun on A and finished on B; a response stream cut on
#      A resumed on B with Last-Event-ID;
#   3. tests/cluster/check.py outage: a load of initialize, tools/call and DELETE through nginx
#      while Redis is paused (SIGSTOP) for 5 s and then stopped for 5 s and restarted empty: only
#      successes and 503s with Retry-After, no hang, no reset, and full success again after it;
#      every instance alive, no panic in its log.
# The servers must be the conformance fixture (the suite and the checks use its tools). Everything
# is started here and stopped by PID; the configuration, logs and results are under
# target/cluster/LABEL/.
#
# Usage: scripts/cluster-run.sh [--no-redis] [LABEL=SERVER-COMMAND...]
#        (default: tokio="target/release/mcp-sse-test-server --adapter tokio" and the same with
#        smol, one after the other)
#        --no-redis: the instances run without --redis and --seal-key, each on its own: what the
#        checks must catch (they go red)
#        scripts/cluster-run.sh --setup   only install what the run needs (nginx, redis-server)
# Env:   CLUSTER_PARTS="sdk conformance flows outage"   the parts to run (default all)
#        CLUSTER_REQUEST_TIMEOUT_S=10, CLUSTER_RECOVERY_S=3   tests/cluster/check.py's bounds
# Needs scripts/interop-setup.sh and scripts/conformance-setup.sh first. Prints the checks, a
# `cluster-LABEL: N passed, M failed` line per command and `cluster: N passed, M failed` last; exits
# non-zero on any failure. About 70 s per command.
set -uo pipefail

NAME=cluster-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
setup_log
PATH=$PATH:/usr/sbin:/sbin # where Debian puts nginx and redis-server
apt_ensure nginx nginx
apt_ensure redis-server redis-server
[ "${1:-}" = --setup ] && exit 0
shared=1
if [ "${1:-}" = --no-redis ]; then
    shared=0
    shift
fi
[ $# -gt 0 ] || set -- "tokio=target/release/mcp-sse-test-server --adapter tokio" \
    "smol=target/release/mcp-sse-test-server --adapter smol"

PARTS=${CLUSTER_PARTS:-sdk conformance flows outage}
part() { [[ " $PARTS " == *" $1 "* ]]; }

DIR=$ROOT/target/cluster
rm -rf "$DIR" && mkdir -p "$DIR"

# redis_ping PORT: true when the Redis on PORT answers PING.
redis_ping() {
    local reply
    { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    read -r -t 1 reply <&3
    exec 3>&-
    [ "${reply%$'\r'}" = +PONG ]
}

# start_redis VAR LOG PORT: a redis-server on PORT with nothing saved; its PID in VAR.
start_redis() {
    local i
    start_service "$1" "$2" redis-server --port "$3" --bind 127.0.0.1 --save '' --appendonly no
    for i in $(seq 50); do
        redis_ping "$3" && return 0
        sleep 0.1
    done
    fail "redis-server did not start: $(tail -n 5 "$2")"
}

# balancer LISTEN-PORT INSTANCE-URL...: nginx's http blocks for a round robin over the instances.
balancer() {
    local listen=$1 url servers=
    shift
    for url in "$@"; do
        servers+="
        server ${url#http://} max_fails=0;"
    done
    cat <<EOF
    upstream mcp {$servers
    }
    server {
        listen 127.0.0.1:$listen;
        location / {
            proxy_pass http://mcp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host; # a loopback name, as the servers require
            proxy_buffering off;
            proxy_read_timeout 1h;
            add_header X-Upstream \$upstream_addr always;
        }
    }
EOF
}

# outage LABEL DIR NGINX-URL REDIS-PORT: the load of tests/cluster/check.py outage through nginx
# while this script pauses Redis for 5 s, then stops it for 5 s and starts it again; the checker
# reads when from DIR/timeline. Uses and updates `redis` (the PID).
outage() {
    local label=$1 dir=$2 url=$3 port=$4 load rc
    mark() { echo "$1 $(date +%s.%N)" >>"$dir/timeline"; }
    timeout -k 5 90 python3 tests/cluster/check.py outage "$label" "$url" "$dir/timeline" >"$dir/outage.txt" 2>&1 &
    load=$!
    sleep 2
    mark pause
    kill -STOP "$redis"
    sleep 5
    kill -CONT "$redis"
    mark resume
    sleep 6
    mark down
    stop_service "$redis" TERM
    sleep 5
    start_redis redis "$dir/redis-again.log" "$port"
    mark up
    sleep 6
    mark end
    wait "$load"
    rc=$?
    run_checks "tests/cluster/check.py outage" sh -c 'cat "$1"; exit "$2"' _ "$dir/outage.txt" "$rc"
}

# cluster LABEL SERVER-COMMAND: the whole run against three instances of SERVER-COMMAND.
cluster() {
    local label=$1 dir=$DIR/$1 command port key url nginx passed=$total_pass failed=$total_fail
    local instances=() flags=() entry name pid i
    read -ra command <<<"$2"
    mkdir -p "$dir/temp"
    port=$(free_port)
    start_redis redis "$dir/redis.log" "$port"
    key=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
    [ "$shared" = 1 ] && flags=(--redis "redis://127.0.0.1:$port" --seal-key "$key")
    for i in 1 2 3; do
        start_server "$label-$i" "$dir/server-$i.log" "${command[@]}" "${flags[@]}"
        instances+=("$SERVER_URL")
    done
    url=http://127.0.0.1:$(free_port)
    nginx_conf "$dir" "$(balancer "${url##*:}" "${instances[@]}")" >"$dir/nginx.conf"
    start_service nginx "$dir/nginx.out" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
    wait_http "$url/mcp" || fail "nginx did not start: $(tail -n 5 "$dir/error.log" "$dir/nginx.out")"
    echo "# cluster-$label: ${command[*]} x3 (${instances[*]}) $([ "$shared" = 1 ] && echo "with Redis on port $port" || echo "WITHOUT Redis"), nginx at $url ($dir/nginx.conf)"

    if part sdk; then
        echo "# cluster-$label: the official SDK clients through nginx"
        run_totals interop scripts/interop-run.sh "$url"
    fi
    if part conformance; then
        echo "# cluster-$label: the official conformance suite through nginx"
        # A known gap, left open in issue 18: the typed layer keeps 2026-07-28 tasks on the
        # instance that created them, so tasks/get and tasks/result on another one find none.
        CONFORMANCE_KNOWN_GAPS="tasks-" CONFORMANCE_OUT=$dir/conformance \
            run_totals conformance scripts/conformance-run.sh "$url"
    fi
    if part flows; then
        echo "# cluster-$label: sessions, streams and listeners across the instances"
        run_checks "tests/cluster/check.py flows" \
            timeout -k 5 120 python3 tests/cluster/check.py flows "$label" "$url" "${instances[@]}"
    fi
    if part outage; then
        echo "# cluster-$label: Redis paused, then stopped, under load"
        outage "$label" "$dir" "$url" "$port"
    fi
    for entry in "${SERVERS[@]}"; do
        read -r name pid _ <<<"$entry"
        check "[$label] $name is alive at the end, no panic in its log" \
            eval "kill -0 $pid && ! grep -q panicked '$dir/server-${name##*-}.log'"
    done

    check "[$label] nginx stopped (SIGQUIT)" stop_service "$nginx" QUIT
    stop_servers
    stop_service "$redis" TERM
    echo "cluster-$label: $((total_pass - passed)) passed, $((total_fail - failed)) failed"
}

for target in "$@"; do
    cluster "${target%%=*}" "${target#*=}"
done
report_totals cluster
