#!/usr/bin/env bash
# End-to-end tests of the kahu web UI in headless Chromium (Debian
# `chromium` driven by npm `playwright-core`; no browser download).
#
#   tests/e2e/run.sh            # from anywhere
#
# Installs chromium (apt) and node modules (npm ci) when missing, builds a
# synthetic case, starts the server on a free loopback port, runs e2e.mjs,
# and leaves screenshots in target/e2e-screenshots/.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
CASE="$WORK/case"
# TODO(lead): switch to `kahu assess --demo --out "$CASE"` once it exists.
cargo run -q -p kahu-case --example make-case -- "$CASE" 20000

# Prefer the real CLI when `kahu serve` is wired in; else the example server.
SERVER=()
if cargo build -q -p kahu 2>/dev/null && "$TARGET/debug/kahu" serve --help >/dev/null 2>&1; then
  SERVER=("$TARGET/debug/kahu" serve "$CASE" --bind 127.0.0.1:0)
else
  cargo build -q -p kahu-web --example serve
  SERVER=("$TARGET/debug/examples/serve" "$CASE" 127.0.0.1:0)
fi
"${SERVER[@]}" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 1 100); do
  URL=$(grep -o 'http://[^ ]*' "$WORK/server.log" | head -1 || true)
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$URL" ] || { echo "e2e: server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "e2e: server at $URL (${SERVER[0]##*/})"

mkdir -p "$TARGET/e2e-screenshots"
KAHU_URL="$URL" SCREENSHOTS="$TARGET/e2e-screenshots" node "$HERE/e2e.mjs"
