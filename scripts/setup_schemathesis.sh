#!/usr/bin/env bash
# Create .venv-schemathesis: schemathesis cannot share .venv with eth-brownie (every schemathesis
# release needs a newer hypothesis than brownie's pin), so the OpenAPI property run uses its own
# environment and talks to the running bridge over HTTP (tests/api/test_openapi_schemathesis.py).
# Idempotent: does nothing when the venv already has the pinned version.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${SCHEMATHESIS_VENV:-$ROOT/.venv-schemathesis}"
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
PY="${PYTHON:-python3}"
if [ -x "$VENV/bin/schemathesis" ] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$VERSION')" 2>/dev/null; then
  exit 0
fi
"$PY" -m venv "$VENV"
# The machine-wide pip constraints pin brownie's hypothesis; this venv must not inherit them.
PIP_CONSTRAINT= "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
"$VENV/bin/schemathesis" --version
