# shellcheck shell=bash
# Helpers shared by scripts/*-{setup,run}.sh. Source it (`. "$(dirname "$0")/lib.sh"`), don't run
# it. Each script sets NAME (the prefix of its error messages) first.
#
# Setup:     setup_log (a captured-output LOG, removed on exit), fail, quiet, stamp_of, stamp_stale,
#            npm_ci, apt_ensure (a Debian package, installed when its command is missing),
#            nginx_conf (a test's nginx configuration).
# Run:       base_url_arg (argument handling), check (one `ok`/`not ok` line, counted), tally and
#            report_totals (the final summary line); fail MESSAGE 2 for a usage or setup error.
# Services:  free_port, start_service and stop_service (a background process, stopped by its PID
#            on exit at the latest), wait_http (until a URL answers); start_server and stop_servers
#            (an MCP server binary on a free port, stopped with Ctrl-C as a check); run_checks (a
#            checker's `ok`/`not ok` lines, counted), run_totals (a part's own total line, counted).
# All:       enter_root (cd to the repository root, set ROOT), on_exit (cleanup commands, run in
#            reverse order when the script exits).

# enter_root: cd to the repository root and set ROOT to it.
# shellcheck disable=SC2034 # ROOT is for the caller
enter_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
    ROOT=$(pwd)
}

EXIT_COMMANDS=()
# on_exit COMMAND: run COMMAND (a string, evaluated) when the script exits, before those added earlier.
on_exit() {
    EXIT_COMMANDS=("$1" "${EXIT_COMMANDS[@]}")
    trap 'for c in "${EXIT_COMMANDS[@]}"; do eval "$c"; done' EXIT
}

LOG=
# setup_log: LOG, a temporary file for the output of `quiet` commands, removed on exit.
setup_log() {
    LOG=$(mktemp "${TMPDIR:-/tmp}/$NAME.XXXXXX")
    on_exit 'rm -f "$LOG"'
}

# fail MESSAGE [RC]: print "NAME: MESSAGE" and the tail of LOG (if any) to stderr; exit RC (default 1).
fail() {
    echo "$NAME: $1" >&2
    if [ -n "${LOG:-}" ] && [ -s "$LOG" ]; then
        echo "---- output ----" >&2
        tail -n 80 "$LOG" >&2
    fi
    exit "${2:-1}"
}

# Run a command with its output captured; show it only if the command fails.
quiet() {
    local what=$1
    shift
    if ! "$@" >"$LOG" 2>&1; then
        fail "$what failed: $*"
    fi
}

stamp_of() { # stamp_of FILE INTERPRETER-VERSION
    printf '%s %s\n' "$(sha256sum "$1" | cut -d' ' -f1)" "$2"
}

# stamp_stale FORCE STAMP_FILE STAMP: true (reinstall) when FORCE is 1 or STAMP_FILE is missing or
# does not hold STAMP.
stamp_stale() {
    [ "$1" = 1 ] || [ ! -f "$2" ] || [ "$(cat "$2")" != "$3" ]
}

# npm_ci DIR WHAT CHECK MISSING: `npm ci` in DIR (quietly, as WHAT); then DIR/CHECK must exist, else
# fail with MISSING.
npm_ci() {
    (cd "$1" && quiet "$2" npm ci --no-audit --no-fund --loglevel=error)
    [ -e "$1/$3" ] || fail "$4"
}

# base_url_arg HINT "$@": exactly one non-empty argument, the server's base URL, else print the usage
# (with HINT) and exit 2. Sets BASE_URL, without a trailing slash.
# shellcheck disable=SC2034 # BASE_URL is for the caller
base_url_arg() {
    local hint=$1
    shift
    if [ $# -ne 1 ] || [ -z "$1" ]; then
        echo "usage: $0 BASE_URL   ($hint)" >&2
        exit 2
    fi
    BASE_URL=${1%/}
}

# apt_ensure COMMAND PACKAGE: install Debian's PACKAGE (as root, or with sudo) unless COMMAND is
# found; CI runs on a clean Debian machine that reaches the package archive. Services the package
# would start are held back for the install (a policy-rc.d answering 101, placed only when none is
# there): the tests start their own, by PID. Needs setup_log.
apt_ensure() {
    local command=$1 package=$2 sudo= policy=/usr/sbin/policy-rc.d
    command -v "$command" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || fail "$command not found, and no apt-get to install $package with" 2
    [ "$(id -u)" = 0 ] || sudo=sudo
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
        on_exit "$sudo rm -f $policy"
    fi
    echo "$NAME: installing Debian's $package"
    quiet "apt-get update" $sudo apt-get update -q
    quiet "apt-get install $package" $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$package"
    command -v "$command" >/dev/null 2>&1 || fail "$package installed, but $command is still not found" 2
}

# nginx_conf DIR HTTP-BLOCKS: on stdout, the configuration of an nginx run by a test in the
# foreground (`nginx -p DIR -c FILE`) with its pid, logs and temp files under DIR, one worker, and
# HTTP-BLOCKS (upstreams, servers) in its http block.
nginx_conf() {
    # Workers run as the master's user (as root, nginx's default `nobody` has no group on Debian).
    [ "$(id -u)" = 0 ] && echo "user $(id -un) $(id -gn);"
    cat <<EOF
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log info;
events { worker_connections 1024; }
http {
    access_log $1/access.log;
    client_body_temp_path $1/temp/body;
    proxy_temp_path $1/temp/proxy;
    fastcgi_temp_path $1/temp/fastcgi;
    uwsgi_temp_path $1/temp/uwsgi;
    scgi_temp_path $1/temp/scgi;
$2
}
EOF
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL [SECONDS]: true once URL answers an OPTIONS request at all (any status; a GET
# could open a stream), within SECONDS (default 10).
wait_http() {
    local i
    for i in $(seq $((${2:-10} * 10))); do
        curl -s -o /dev/null -m 1 -X OPTIONS "$1" && return 0
        sleep 0.1
    done
    return 1
}

# start_service VAR LOG CMD...: run CMD in the background with its output in LOG, put its PID in
# VAR, and stop it on exit if stop_service did not.
start_service() {
    local var=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    printf -v "$var" '%s' "$!"
    on_exit "kill -KILL $! 2>/dev/null && wait $! 2>/dev/null"
}

# stop_service PID [SIGNAL]: send SIGNAL (default TERM) and wait up to 10 s for it to end, then
# KILL. True when it ended on the signal, with status 0 (or the signal's own status).
stop_service() {
    local pid=$1 signal=${2:-TERM} i status
    kill "-$signal" "$pid" 2>/dev/null || return 1
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 1
    fi
    wait "$pid" 2>/dev/null
    status=$?
    [ "$status" = 0 ] || [ "$status" = $((128 + $(kill -l "$signal"))) ]
}

total_pass=0
total_fail=0
overall=0

# run_checks WHAT CMD...: run a checker that prints `ok - …` / `not ok - …` lines; print its output
# and count those lines (see tally). A checker that fails without a `not ok` line counts as one
# failure.
run_checks() {
    local what=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    tally "$(grep -c '^ok - ' <<<"$out")" "$(grep -c '^not ok - ' <<<"$out")"
    if [ "$rc" != 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
        echo "not ok - $what exited with $rc"
        tally 0 1
    fi
}

# run_totals LABEL CMD...: run a part that ends with its own `LABEL: N passed, M failed` line; print
# its output and add that line's counts (see tally). A part that printed no such line, or exited
# non-zero with no failure counted, counts one failure.
run_totals() {
    local label=$1 out rc line p=0 f=0
    shift
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed$" <<<"$out" | tail -n 1)
    if [[ "$line" =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
    else
        echo "not ok - $label: exited (rc=$rc) without a summary line"
        f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $label: exited with rc=$rc"
        f=1
    fi
    tally "$p" "$f"
}

SERVERS=()
# start_server LABEL LOG BINARY [FLAGS...]: run an MCP server binary (the examples' command line)
# on a free loopback port until stop_servers; adds `LABEL PID URL` to SERVERS and sets SERVER_URL.
# Fails when it does not answer within 10 s.
start_server() {
    local label=$1 log=$2 binary=$3 port pid
    shift 3
    [ -x "$binary" ] || fail "$binary not found (build it first: see scripts/test)" 2
    port=$(free_port)
    start_service pid "$log" "$binary" --bind "127.0.0.1:$port" "$@"
    SERVER_URL=http://127.0.0.1:$port
    SERVERS+=("$label $pid $SERVER_URL")
    wait_http "$SERVER_URL/mcp" || fail "the $label server did not start: $(tail -n 5 "$log")"
}

# stop_servers: Ctrl-C (SIGINT) to each server of SERVERS, which must end it gracefully (a check).
stop_servers() {
    local label pid url
    for entry in "${SERVERS[@]}"; do
        read -r label pid url <<<"$entry"
        check "the $label server shut down gracefully (SIGINT)" stop_service "$pid" INT
    done
    SERVERS=()
}

# check WHAT CMD...: run CMD; print `ok - WHAT` or `not ok - WHAT` and count it (see tally).
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
        tally 1 0
    else
        echo "not ok - $what"
        tally 0 1
    fi
}

# tally PASSED FAILED: add one part's counts to the totals; any failure makes the exit status 1.
tally() {
    total_pass=$((total_pass + $1))
    total_fail=$((total_fail + $2))
    if [ "$2" -gt 0 ]; then
        overall=1
    fi
}

# report_totals LABEL: the final `LABEL: N passed, M failed` line, then exit 1 if any part failed.
report_totals() {
    echo "$1: $total_pass passed, $total_fail failed"
    exit "$overall"
}
