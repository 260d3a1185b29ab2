#!/usr/bin/env bash
# A real browser against each example server, started with its defaults (only --bind given):
# headless Chromium (Debian's package, installed with apt-get when missing), driven by
# playwright-core (tests/browser, `npm ci` from its lock file), loads a page from another loopback
# origin that talks to the server with EventSource and fetch (tests/browser/client.js), and the
# same page from http://127.0.0.2:PORT, an origin the default allow-list refuses. The servers
# are started here and stopped by PID; their logs are target/browser/server-LABEL.log.
#
# Usage: scripts/browser-run.sh [LABEL=SERVER-BINARY...]
#        (default: tokio=target/release/examples/server smol=target/release/examples/server-smol)
#        scripts/browser-run.sh --setup   only install what the run needs
# Env:   BROWSER_FORCE=1  reinstall playwright-core
# Prints the checks and `browser: N passed, M failed`; exits non-zero on any failure. About 5 s
# once Chromium and playwright-core are installed.
set -uo pipefail

NAME=browser-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
setup_log
apt_ensure chromium chromium
command -v node >/dev/null 2>&1 || fail "node not found (need Node.js >= 20)" 2
TEST_DIR=$ROOT/tests/browser
stamp=$(stamp_of "$TEST_DIR/package-lock.json" "node-$(node --version)")
if stamp_stale "${BROWSER_FORCE:-0}" "$TEST_DIR/node_modules/.browser-stamp" "$stamp"; then
    npm_ci "$TEST_DIR" "npm ci in tests/browser" node_modules/playwright-core/package.json \
        "npm ci finished but playwright-core is missing"
    printf '%s\n' "$stamp" >"$TEST_DIR/node_modules/.browser-stamp"
fi
[ "${1:-}" = --setup ] && exit 0
[ $# -gt 0 ] || set -- tokio=target/release/examples/server smol=target/release/examples/server-smol

DIR=$ROOT/target/browser
mkdir -p "$DIR"
targets=()
for target in "$@"; do
    label=${target%%=*}
    start_server "$label" "$DIR/server-$label.log" "${target#*=}"
    targets+=("$label=$SERVER_URL")
done

CHROMIUM=$(command -v chromium) run_checks tests/browser/run.mjs \
    timeout -k 5 120 node "$TEST_DIR/run.mjs" "${targets[@]}"
stop_servers
report_totals browser
