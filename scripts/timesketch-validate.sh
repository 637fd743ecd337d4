#!/usr/bin/env bash
# Check kahu's Timesketch outputs with Timesketch's own importer functions
# (`timesketch.lib.utils.read_and_validate_csv` / `read_and_validate_jsonl`,
# from the `timesketch` package on PyPI), offline once installed:
#   - `kahu hunt --format timesketch` as CSV and as JSON-lines,
#   - the web UI's `/api/export.csv?format=timesketch`,
# on the demo case's evidence. Every line kahu wrote must come out of the
# importer, none dropped, each with message, datetime and timestamp_desc.
#
# Usage: scripts/timesketch-validate.sh [--install] [KAHU_BINARY]
#   --install  create the virtual environment first (target/timesketch-venv:
#              `timesketch` without its server dependencies, plus pandas,
#              python-dateutil, six, flask and pyyaml, which utils.py imports).
# Without the environment the script prints SKIP and exits 0: it is a check
# to run by hand or in CI when the environment exists, not a build step.
# Timesketch's code is installed into target/, never committed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${TIMESKETCH_VENV:-target/timesketch-venv}
if [[ "${1:-}" == "--install" ]]; then
    shift
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --no-deps timesketch
    "$venv/bin/pip" install -q pandas python-dateutil six flask pyyaml
fi
kahu=${1:-target/debug/kahu}
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("timesketch") is None)'; then
    echo "SKIP: no Timesketch environment at $venv (run $0 --install): Timesketch import not checked"
    exit 0
fi
if [[ ! -x "$kahu" ]]; then
    echo "error: no kahu binary at $kahu (cargo build -p kahu)" >&2
    exit 2
fi

work=$(mktemp -d)
serve_pid=
cleanup() {
    if [[ -n "$serve_pid" ]]; then kill "$serve_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$kahu" assess --demo --out "$work/case" -q >/dev/null
evidence="$work/case/demo/evidence"
"$kahu" hunt -q "$evidence" --format timesketch -o "$work/hunt.csv" >/dev/null 2>&1
"$kahu" hunt -q "$evidence" --format timesketch -o "$work/hunt.jsonl" >/dev/null 2>&1

# The web UI's export, from `kahu serve` on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$kahu" serve "$work/case" --bind "127.0.0.1:$port" -q >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do
    if curl -sf -o /dev/null -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port/api/case"; then break; fi
    sleep 0.2
done
curl -sf -H "Host: 127.0.0.1:$port" -o "$work/export.csv" \
    "http://127.0.0.1:$port/api/export.csv?format=timesketch"

"$venv/bin/python" - "$work/hunt.csv" "$work/hunt.jsonl" "$work/export.csv" <<'PY'
import csv, importlib.util, pathlib, sys, types

# Load timesketch.lib.utils without running timesketch/__init__.py (the
# server application and all its dependencies): empty parent packages
# pointing at the installed folders.
spec = importlib.util.find_spec("timesketch")
root = pathlib.Path(spec.submodule_search_locations[0])
for name, path in [("timesketch", root), ("timesketch.lib", root / "lib")]:
    m = types.ModuleType(name)
    m.__path__ = [str(path)]
    sys.modules[name] = m
from timesketch.lib import utils  # noqa: E402

def kahu_rows(path):
    if path.endswith(".jsonl"):
        return sum(1 for line in open(path, encoding="utf-8") if line.strip())
    with open(path, encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))

failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        if path.endswith(".jsonl"):
            events = list(utils.read_and_validate_jsonl(f))
        else:
            events = list(utils.read_and_validate_csv(f, ","))
    want = kahu_rows(path)
    bad = [e for e in events
           if not all(str(e.get(k, "")).strip() for k in ("message", "datetime", "timestamp_desc"))]
    ok = want > 0 and len(events) == want and not bad
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}: {pathlib.Path(path).name}: kahu wrote {want} events, "
          f"Timesketch's importer read {len(events)}, {len(bad)} without message/datetime/timestamp_desc")
sys.exit(1 if failed else 0)
PY
