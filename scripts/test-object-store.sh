#!/usr/bin/env bash
# Lints and tests of the `object-store` feature (object store evidence:
# `kahu hunt|assess|convert s3://…` and `file://…`, crate `kahu-remote`),
# which scripts/test.sh (CI) leaves out for its build cost
# (docs/scale-out.md). Then, when moto can be installed (pip, into a venv
# under target/, never the system Python), `kahu hunt s3://…` against a
# local S3 server on loopback, compared line for line with the same files
# in a folder, and the same hunt once the server is gone (must fail, exit
# 2, write no timeline). Prints SKIP when moto is not installable.
#
# Not with the `datafusion`/`cluster` features: object_store's `aws`
# feature would rebuild DataFusion and Ballista.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
FEATURES="kahu/object-store,kahu/columnar"
cargo clippy -p kahu-remote -p kahu --all-targets --locked --features "$FEATURES" -- -D warnings
cargo test -p kahu-remote --locked
cargo test -p kahu --locked --features "$FEATURES" --test object_store

VENV=target/moto-venv
if [ ! -x "$VENV/bin/moto_server" ]; then
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'moto[server]'; }; then
        echo "SKIP: moto[server] not installable here; kahu hunt s3:// not tried against a local S3 server"
        exit 0
    fi
fi
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" > target/moto-server.log 2>&1 &
MOTO=$!
WORK=$(mktemp -d)
trap 'kill $MOTO 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$PORT/" > /dev/null && break
    sleep 0.2
done

# Dummy credentials for the local server only; kahu reads them (and the
# endpoint) from the standard AWS variables, as it would real ones.
export AWS_ACCESS_KEY_ID=kahu-test AWS_SECRET_ACCESS_KEY=kahu-test AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true

# The files the file:// tests use: EVTX (one of 1.1 MB), a zip of JSON events.
LM="$KAHU_SHARED/evtx/EVTX-ATTACK-SAMPLES/Lateral Movement"
EV="$WORK/evidence"
mkdir -p "$EV/wks/logs"
cp "$LM/LM_Remote_Service02_7045.evtx" "$EV/Service_7045.evtx"
cp "$LM/LM_5145_Remote_FileCopy.evtx" "$EV/wks/logs/FileCopy_5145.evtx"
cp "$LM/LM_PowershellRemoting_sysmon_1_wsmprovhost.evtx" "$EV/wks/logs/psremoting.evtx"
cp "$KAHU_SHARED/mordor/atomic/windows/lateral_movement/host/covenant_copy_smb_CreateRequest.zip" "$EV/mordor.zip"
"$VENV/bin/python" - "$EV" <<'EOF'
import os, sys, boto3
root = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
s3.create_bucket(Bucket="kahu-test")
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        s3.upload_file(p, "kahu-test", "case/" + os.path.relpath(p, root))
print("uploaded:", sorted(o["Key"] for o in s3.list_objects_v2(Bucket="kahu-test")["Contents"]))
EOF

KAHU_TEST_S3_URL=s3://kahu-test/case/ KAHU_TEST_S3_LOCAL="$EV" \
    cargo test -p kahu --locked --features "$FEATURES" --test object_store \
    hunt_over_s3_finds_what_hunt_finds_over_the_folder -- --nocapture

KAHU=target/debug/kahu
# `assess` from S3: the case store and the report name the objects, never
# the spool copies.
"$KAHU" --quiet assess s3://kahu-test/case/ --out "$WORK/case" --json > "$WORK/assess.json"
if ! grep -aq "s3://kahu-test/case/wks/logs/psremoting.evtx" "$WORK/case/case.sqlite" \
    || grep -raq "kahu-spool" "$WORK/case"; then
    echo "FAIL: the case store from s3:// does not name the objects (or names a spool copy)"
    exit 1
fi
echo "assess from S3: $(grep -o '"events": [0-9]*' "$WORK/assess.json" | head -1), objects named in the case store"

# The server goes away: the hunt must fail naming the URL, exit 2, and
# write no timeline (after object_store's 10 retries, a few seconds here).
kill $MOTO
wait $MOTO 2>/dev/null || true
set +e
timeout 300 "$KAHU" --quiet hunt s3://kahu-test/case/ -o "$WORK/gone.csv" 2> "$WORK/gone.err"
STATUS=$?
set -e
echo "server gone: exit $STATUS: $(head -c 400 "$WORK/gone.err")"
if [ "$STATUS" -ne 2 ] || [ -e "$WORK/gone.csv" ]; then
    echo "FAIL: a hunt over an unreachable S3 endpoint must exit 2 and write nothing"
    exit 1
fi
echo "object store tests passed (file://, and s3:// against moto on 127.0.0.1:$PORT)"
