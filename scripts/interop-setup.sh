#!/usr/bin/env bash
# Install the interop-test clients (idempotent, quiet unless something fails):
#   - tests/interop/ts:     `npm ci` (official MCP TypeScript SDK 1.x, pinned by package-lock.json)
#   - tests/interop/ts2:    `npm ci` (official MCP TypeScript SDK v2 client, 2026-07-28; its own folder
#                           and lock file, since the 1.x and 2.x packages are separate installs)
#   - target/interop-venv:  Python venv with tests/interop/python/requirements.txt (official MCP Python SDK)
# Each part is skipped when a stamp shows it was installed from the same lock file with the
# same interpreter. INTEROP_FORCE=1 reinstalls all three.
# Needs: node >= 20 with npm, python3 >= 3.10 with venv; reaches only the npm registry and PyPI.
set -euo pipefail

NAME=interop-setup
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
TS_DIR="$ROOT/tests/interop/ts"
TS2_DIR="$ROOT/tests/interop/ts2"
PY_REQ="$ROOT/tests/interop/python/requirements.txt"
VENV="$ROOT/target/interop-venv"
setup_log

command -v node >/dev/null 2>&1 || fail "node not found (need Node.js >= 20)"
command -v npm >/dev/null 2>&1 || fail "npm not found"
command -v python3 >/dev/null 2>&1 || fail "python3 not found (need >= 3.10)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || fail "python3 >= 3.10 needed, found $(python3 --version 2>&1)"

# --- TypeScript SDK -------------------------------------------------------------------------
ts_stamp=$(stamp_of "$TS_DIR/package-lock.json" "node-$(node --version)")
if stamp_stale "${INTEROP_FORCE:-0}" "$TS_DIR/node_modules/.interop-stamp" "$ts_stamp"; then
    npm_ci "$TS_DIR" "npm ci" node_modules/@modelcontextprotocol/sdk/dist/esm/client/sse.js \
        "npm ci finished but @modelcontextprotocol/sdk/client/sse.js is missing"
    printf '%s\n' "$ts_stamp" >"$TS_DIR/node_modules/.interop-stamp"
fi

# --- TypeScript SDK v2 client (2026-07-28) -------------------------------------------------
ts2_stamp=$(stamp_of "$TS2_DIR/package-lock.json" "node-$(node --version)")
if stamp_stale "${INTEROP_FORCE:-0}" "$TS2_DIR/node_modules/.interop-stamp" "$ts2_stamp"; then
    npm_ci "$TS2_DIR" "npm ci (ts2)" node_modules/@modelcontextprotocol/client/dist/index.mjs \
        "npm ci finished but @modelcontextprotocol/client/dist/index.mjs is missing"
    printf '%s\n' "$ts2_stamp" >"$TS2_DIR/node_modules/.interop-stamp"
fi

# --- Python SDK -----------------------------------------------------------------------------
py_stamp_file="$VENV/.interop-stamp"
py_stamp=$(stamp_of "$PY_REQ" "$(python3 -c 'import sys; print("python-%d.%d.%d" % sys.version_info[:3])')")
if [ ! -x "$VENV/bin/python" ] || stamp_stale "${INTEROP_FORCE:-0}" "$py_stamp_file" "$py_stamp"; then
    mkdir -p "$ROOT/target"
    quiet "python3 -m venv" python3 -m venv --clear "$VENV"
    quiet "pip install" "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        -r "$PY_REQ"
    quiet "import check" "$VENV/bin/python" -c 'from mcp.client.sse import sse_client; from mcp.client.session import ClientSession; from mcp.client.client import Client; from mcp.client.subscriptions import ToolsListChanged'
    printf '%s\n' "$py_stamp" >"$py_stamp_file"
fi
