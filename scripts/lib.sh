# shellcheck shell=bash
# Helpers shared by scripts/{conformance,interop}-{setup,run}.sh. Source it (`. "$(dirname "$0")/lib.sh"`),
# don't run it. Each script sets NAME (the prefix of its error messages) first.
#
# Setup scripts: setup_log (a captured-output LOG, removed on exit), fail, quiet, stamp_of, stamp_stale,
#                npm_ci.
# Run scripts:   base_url_arg (argument handling), tally and report_totals (the final summary line);
#                fail MESSAGE 2 for a usage or setup error.
# Both:          enter_root (cd to the repository root, set ROOT).

# enter_root: cd to the repository root and set ROOT to it.
# shellcheck disable=SC2034 # ROOT is for the caller
enter_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit
    ROOT=$(pwd)
}

LOG=
# setup_log: LOG, a temporary file for the output of `quiet` commands, removed on exit.
setup_log() {
    LOG=$(mktemp "${TMPDIR:-/tmp}/$NAME.XXXXXX")
    trap 'rm -f "$LOG"' EXIT
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

total_pass=0
total_fail=0
overall=0

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
