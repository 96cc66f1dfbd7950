#!/usr/bin/env bash
# The browser test (docs/BROWSER.md): builds the wasm runtime and efficientnet_lite0 for wasm32,
# serves the demo (web/serve.mjs) and has headless Chromium (Debian `chromium`, driven by npm
# `playwright-core` in out/playwright) classify a sample photo and a picked image file, each
# checked against the host runtime on the same tensor. Installs what is missing (apt as root, npm);
# exits 2 with the reason when the tools or the shared data cannot be had, 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
fail() { echo "browser test: $1" >&2; exit "${2:-2}"; }

[ -f ../shared/data/models/efficientnet_lite0/model.onnx ] || fail "no ../shared/data/models/efficientnet_lite0 (shared data absent)"
if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] || fail "missing /usr/bin/chromium and not root: apt-get install chromium"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 \
    || fail "apt-get install chromium failed"
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  [ "$(id -u)" = 0 ] || fail "missing node/npm and not root: apt-get install nodejs npm"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >&2 \
    || fail "apt-get install nodejs npm failed"
}
pw=out/playwright
if [ ! -f "$pw/node_modules/playwright-core/package.json" ]; then
  mkdir -p "$pw"
  # Only the driver library: the browser is Debian's (never `npx playwright install`).
  (cd "$pw" && npm install --no-audit --no-fund --silent playwright-core@1) >&2 \
    || fail "npm install playwright-core failed"
fi
[ -x target/release/mote ] || cargo build --release -p mote-cli >&2
MOTE_WASM_MODEL=1 scripts/build-wasm.sh
node web/test/browser-test.mjs "$pw" out/browser-test || fail "a check failed (above)" 1
echo "browser test: $(($(date +%s) - start)) s"
