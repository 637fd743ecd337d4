#!/usr/bin/env bash
# End-to-end tests in headless Chromium (Debian `chromium` driven by npm
# `playwright-core`; no browser download) on the demonstration case:
#   e2e.mjs     the `kahu serve` web UI
#   report.mjs  the offline HTML report (file://), including printing to PDF
#
#   tests/e2e/run.sh            # from anywhere; KAHU_SKIP_E2E=1 skips
#
# Installs chromium (apt) and node modules (npm ci) when missing and fails
# loudly when it cannot. Builds the case with `kahu assess --demo` plus one
# hostile evidence file (XSS payloads), serves it on a free loopback port,
# and leaves screenshots and report.pdf in target/e2e-screenshots/.
set -euo pipefail

if [ "${KAHU_SKIP_E2E:-}" = 1 ]; then
  echo "SKIP: e2e tests (KAHU_SKIP_E2E=1)"
  exit 0
fi

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM

die() { echo "e2e: $*" >&2; echo "e2e: set KAHU_SKIP_E2E=1 to skip the browser tests" >&2; exit 1; }

if [ ! -x "$CHROMIUM" ]; then
  echo "e2e: installing chromium" >&2
  command -v apt-get >/dev/null || die "no $CHROMIUM and no apt-get to install it"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
fi
command -v node >/dev/null || die "node is not installed (Debian: apt-get install nodejs npm)"
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  command -v npm >/dev/null || die "npm is not installed"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
# KAHU_BIN: a kahu binary built already (scripts/test.sh passes the one its
# test build made, so CI does not build kahu a third time with other
# dependency features); otherwise the default debug build.
if [ -n "${KAHU_BIN:-}" ]; then
  [ -x "$KAHU_BIN" ] || die "KAHU_BIN=$KAHU_BIN is not an executable"
  KAHU="$KAHU_BIN"
else
  cargo build -q -p kahu
  KAHU="$TARGET/debug/kahu"
fi
SHOTS="$TARGET/e2e-screenshots"
rm -rf "$SHOTS" && mkdir -p "$SHOTS"

# The demo evidence and ground truth, then the case: demo evidence plus one
# hostile file, assessed as an analyst would with the case's context and the
# partner CERT's indicators.
"$KAHU" assess --demo --out "$WORK/demo-gen" -q >/dev/null
node "$HERE/hostile.mjs" "$WORK/xss.jsonl"
"$KAHU" assess "$WORK/demo-gen/demo/evidence" "$WORK/xss.jsonl" --out "$WORK/case" \
  --ioc "$WORK/demo-gen/demo/intel/partner-indicators.json" \
  --sector government --region NZ --infra 203.0.113.77=soho-router -q >/dev/null

export KAHU_DEMO="$WORK/demo-gen" KAHU_HOSTILE="$WORK/xss.jsonl" KAHU_CASE="$WORK/case" SCREENSHOTS="$SHOTS"
status=0

echo "== e2e: report.html"
node "$HERE/report.mjs" || status=1

# The audit author is the server's analyst (--user); the name typed in the
# UI matches it, so the trail shows it alone (a different one would show
# "e2e-analyst (as NAME)").
"$KAHU" serve "$WORK/case" --bind 127.0.0.1:0 --user e2e-analyst >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL=
for _ in $(seq 1 200); do
  URL=$(grep -o 'http://[^ ]*' "$WORK/server.log" | head -1 || true)
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$URL" ] || { echo "e2e: server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "== e2e: web UI at $URL"
KAHU_URL="$URL" node "$HERE/e2e.mjs" || status=1

echo "e2e: screenshots in $SHOTS"
exit $status
