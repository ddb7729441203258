#!/usr/bin/env bash
# Installs what the worker needs, idempotently. `setup.sh run`: what building and running it
# need (the wasm target, worker-build, wasm-bindgen-cli at the wasm-bindgen crate's version,
# the npm packages, .dev.vars). `setup.sh` (or `setup.sh test`): that, plus what the tests
# need (Chromium for the browser test, schemathesis in .venv for the API contract test, numpy
# and scipy in .venv for the statistics reference).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
MODE="${1:-test}"
case "$MODE" in run|test) ;; *) echo "usage: setup.sh [run|test]" >&2; exit 2 ;; esac

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  echo "setup: installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # --locked fails for this version against today's registry; the crate pins what matters.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
if [ ! -f .dev.vars ]; then
  cp .dev.vars.example .dev.vars
  echo "setup: wrote .dev.vars from .dev.vars.example (local root token)"
elif ! grep -q '^ROOT_TOKEN=' .dev.vars; then
  # The admin token became the root token, which only manages keys (R-S1).
  grep '^ROOT_TOKEN=' .dev.vars.example >> .dev.vars
  echo "setup: added ROOT_TOKEN to .dev.vars"
fi
[ "$MODE" = run ] && exit 0

if ! command -v chromium >/dev/null 2>&1 && [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "setup: installing Debian's chromium for the browser test"
  apt-get update -qq && apt-get install -y -qq chromium
fi
SCHEMATHESIS_VERSION=4.32.5
if ! .venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "setup: installing schemathesis $SCHEMATHESIS_VERSION into .venv (API contract test)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
NUMPY_VERSION=2.4.6
SCIPY_VERSION=1.16.3
if ! .venv/bin/python -c "import numpy, scipy; assert (numpy.__version__, scipy.__version__) == ('$NUMPY_VERSION', '$SCIPY_VERSION')" 2>/dev/null; then
  echo "setup: installing numpy $NUMPY_VERSION and scipy $SCIPY_VERSION into .venv (statistics reference, R-M3)"
  .venv/bin/pip install --quiet --disable-pip-version-check "numpy==$NUMPY_VERSION" "scipy==$SCIPY_VERSION"
fi
