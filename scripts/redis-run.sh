#!/usr/bin/env bash
# The Redis store (mcp-sse-redis) against a real redis-server, once built for tokio and once for
# smol: every shared-state operation between two store instances, and Redis stopped and started
# again under them. Each test starts its own redis-server on a free loopback port (no
# persistence) and kills it by PID; this script installs Debian's redis-server when it is missing
# (without starting the system service).
#
# Usage: scripts/redis-run.sh
#        scripts/redis-run.sh --setup   only install redis-server
# Prints `redis: N passed, M failed` last (cargo's own lines indented). About 20 s once built
# (each test binary runs ~5 s); the smol build of the tests takes ~1 min more the first time.
set -uo pipefail

NAME=redis-run
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
setup_log
apt_ensure redis-server redis-server
[ "${1:-}" = --setup ] && exit 0

for features in "--features tokio" "--no-default-features --features smol"; do
    echo "--- cargo test -p mcp-sse-redis $features"
    # shellcheck disable=SC2086 # the features are separate words
    out=$(cargo test -p mcp-sse-redis --no-fail-fast $features 2>&1)
    rc=$?
    sed 's/^/  /' <<<"$out"
    p=$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' <<<"$out" | awk '{s+=$1} END {print s+0}')
    f=$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' <<<"$out" | awk '{s+=$1} END {print s+0}')
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "not ok - cargo test $features exited with $rc"
        f=1
    fi
    tally "$p" "$f"
done
report_totals redis
