#!/usr/bin/env bash
# A real nginx (Debian's package, installed with apt-get when missing) in front of each example
# server at /prefix/, as a reverse proxy is set up for SSE: `proxy_pass` stripping the prefix,
# `X-Forwarded-Prefix: /prefix`, buffering off; once with `proxy_http_version 1.1` to the server
# and once with nginx's default, HTTP/1.0. The servers run with `--trust-forwarded --keepalive 1`.
# tests/nginx/check.py then checks, through the proxy: the 2024-11-05 `endpoint` event within 1 s
# pointing under /prefix/, POSTs through it answered on the stream, a Streamable HTTP session,
# keepalives on idle streams. nginx and the servers are started here and stopped by PID; the
# config, logs and temp files are under target/nginx/.
#
# Usage: scripts/nginx-run.sh [LABEL=SERVER-BINARY...]
#        (default: tokio=target/release/examples/server smol=target/release/examples/server-smol)
#        scripts/nginx-run.sh --setup   only install what the run needs
# Prints the checks and `nginx: N passed, M failed`; exits non-zero on any failure. About 10 s
# once nginx is installed.
set -uo pipefail

NAME=nginx-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
setup_log
PATH=$PATH:/usr/sbin:/sbin # where Debian puts nginx
apt_ensure nginx nginx
[ "${1:-}" = --setup ] && exit 0
[ $# -gt 0 ] || set -- tokio=target/release/examples/server smol=target/release/examples/server-smol

DIR=$ROOT/target/nginx
rm -rf "$DIR" && mkdir -p "$DIR/temp"
targets=() blocks=
for target in "$@"; do
    label=${target%%=*}
    start_server "$label" "$DIR/server-$label.log" "${target#*=}" --trust-forwarded --keepalive 1
    # One proxy port per HTTP version nginx speaks to the server.
    for version in 1.1 1.0; do
        listen=$(free_port)
        targets+=("$label-http$version=http://127.0.0.1:$listen/prefix")
        upstream_version=
        [ "$version" = 1.1 ] && upstream_version='proxy_http_version 1.1; proxy_set_header Connection "";'
        blocks+="
    server {
        listen 127.0.0.1:$listen;
        location /prefix/ {
            proxy_pass $SERVER_URL/;
            $upstream_version
            proxy_set_header X-Forwarded-Prefix /prefix;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }
    }"
    done
done

nginx_conf "$DIR" "$blocks" >"$DIR/nginx.conf"
start_service nginx "$DIR/nginx.out" nginx -p "$DIR" -e "$DIR/error.log" -c "$DIR/nginx.conf"

for target in "${targets[@]}"; do
    wait_http "${target#*=}/mcp" || fail "nginx did not start: $(tail -n 5 "$DIR/error.log" "$DIR/nginx.out")"
done
echo "# $(nginx -v 2>&1); config $DIR/nginx.conf"

run_checks tests/nginx/check.py timeout -k 5 120 python3 tests/nginx/check.py "${targets[@]}"
check "nginx stopped (SIGQUIT)" stop_service "$nginx" QUIT
stop_servers
report_totals nginx
