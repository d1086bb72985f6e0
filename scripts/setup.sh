#!/usr/bin/env bash
# Set up a Fairgate checkout: Python venv, Node tools, solc for py-solc-x/brownie, compiled contracts.
#
# Idempotent and fast when nothing changed (about 1-2 s): each step is skipped when the hash of
# its input (requirements.lock + pyproject.toml, package-lock.json) matches the stamp it left.
# Needs: python3 >= 3.11 with venv, node >= 18 with npm, and the PyPI and npm registries.
#
# Environment: PYTHON (interpreter for the venv, default python3), SOLCX_BINARY_PATH (where
# py-solc-x looks for solc; the Makefile sets it to build/solcx so a checkout uses its own tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Python: venv with the pinned packages, this project installed editable.
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11+"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is $("$PYTHON" --version 2>&1); Fairgate needs Python 3.11+"
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
py_stamp="$VENV/.fairgate-requirements.sha256"
py_hash="$(hash_of requirements.lock pyproject.toml)"
if [ "$(cat "$py_stamp" 2>/dev/null)" != "$py_hash" ]; then
  say "installing Python packages (requirements.lock; about a minute the first time)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  echo "$py_hash" > "$py_stamp"
fi

# 1b. schemathesis in its own venv (.venv-schemathesis: it cannot share brownie's hypothesis pin),
#     for the OpenAPI property run of tests/api; does nothing when the pinned version is there.
if ! "$ROOT/scripts/setup_schemathesis.sh" >/dev/null; then
  die "could not install schemathesis into .venv-schemathesis (scripts/setup_schemathesis.sh)"
fi

# 2. Node: solc (solcjs), Ganache, Anvil, OpenZeppelin, circom2, snarkjs, circomlib from package-lock.json.
command -v node >/dev/null || die "node not found: install Node.js 18+ (with npm)"
node -e 'process.exit(+process.versions.node.split(".")[0] < 18 ? 1 : 0)' \
  || die "node $(node --version) is too old: Fairgate needs Node.js 18+"
npm_stamp="node_modules/.fairgate-package-lock.sha256"
npm_hash="$(hash_of package-lock.json)"
if [ -d node_modules ] && [ ! -f "$npm_stamp" ] && npm ls --depth=0 >/dev/null 2>&1; then
  # installed before stamps existed and matching package.json: adopt it (npm ci would delete
  # node_modules under any process that is using it)
  echo "$npm_hash" > "$npm_stamp"
fi
if [ ! -d node_modules ] || [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_hash" ]; then
  say "installing Node packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > "$npm_stamp"
fi
# Anvil's npm package ships a native binary that npm may leave without its run bit.
anvil_bin="node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
if [ -f "$anvil_bin" ] && [ ! -x "$anvil_bin" ]; then
  chmod +x "$anvil_bin"
fi

# 3. Chromium for the browser tests (Debian's package; Playwright drives it, it cannot download its
#    own browser offline). Installed when missing and we are root with apt-get; otherwise say how.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's chromium (browser tests; about a minute)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "warning: chromium is missing; the browser tests need it: sudo apt-get install chromium"
  fi
fi

# 3b. HAProxy, the load balancer in front of the bridge's replicas (api.cluster: `fairgate dev up
#     --replicas N`, the scale-out test, the benchmark); run as our own process, never as the
#     system's service. Debian's package; installed when missing and we are root with apt-get.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's haproxy (load balancer of the scale-out tests)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    say "warning: haproxy is missing; the scale-out tests need it: sudo apt-get install haproxy"
  fi
fi

# 4. Browser JavaScript (web/src -> build/web), bundled by esbuild; skipped when unchanged.
web_stamp="build/web/.stamp"
web_hash="$(find web scripts/build_web.mjs package-lock.json -type f 2>/dev/null | LC_ALL=C sort \
  | xargs cat | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_hash" ]; then
  say "bundling browser JavaScript (esbuild)"
  node scripts/build_web.mjs
  echo "$web_hash" > "$web_stamp"
fi

# 5. solc for py-solc-x and brownie: this checkout's own folder (used when SOLCX_BINARY_PATH
#    points there, as the Makefile does) and, if it has no working entry yet, ~/.solcx (used by a
#    plain `.venv/bin/pytest`).
"$VENV/bin/python" -m chain.solc install --dir "$ROOT/build/solcx" >/dev/null
"$VENV/bin/python" -m chain.solc install --dir "$HOME/.solcx" --if-missing >/dev/null

# 6. Compile contracts/ (cached in build/solc/<key>) and write their ABIs and code as package data
#    (chain/abi/*.json with the sources' hashes): processes load those, never compile at start.
"$VENV/bin/python" -m chain.abi >/dev/null
# 7. The development ZK ceremony (circuit, phase 1, phase 2), cached by content hash in
#    ~/.cache/fairgate/zk: about 4 minutes on 2 cores the first time, then instant. The demo, the
#    bridge's circuit files and the zk tests start from it instead of building it on first use.
say "zk: development ceremony (about 4 minutes the first time; cached afterwards)"
"$VENV/bin/python" -m zk.setup local
say "ready"
