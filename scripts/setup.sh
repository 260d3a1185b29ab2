#!/usr/bin/env bash
# Installs everything the suite's end-to-end parts need, from the package registries only: the
# official SDK clients (npm, PyPI), the official conformance suite and Node 22 (npm), Chromium,
# playwright-core, nginx and redis-server (Debian, npm), cargo-fuzz (crates.io). Each step is
# skipped when what it installs is there already. scripts/test runs it in the background while it
# compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '== setup: %s\n' "$1"; shift; "$@"; }
step "SDK clients" scripts/interop-setup.sh
step "conformance suite" scripts/conformance-setup.sh
step "Chromium and playwright-core" scripts/browser-run.sh --setup
step "nginx" scripts/nginx-run.sh --setup
step "redis-server" scripts/redis-run.sh --setup
command -v cargo-fuzz >/dev/null || step "cargo-fuzz" cargo install cargo-fuzz --locked --quiet
echo "== setup: done"
