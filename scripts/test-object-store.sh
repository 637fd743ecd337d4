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
# Then the engines over Parquet shards in the bucket (a kahu built with
# `cluster` and `object-store`, the build scripts/test.sh makes second):
# `hunt --engine datafusion s3://…` and `hunt|assess --cluster s3://…`
# (a scheduler and two executors on loopback, each opening the bucket from
# the same AWS variables) against the same shards in a folder; a missing
# bucket, an empty prefix and a truncated shard must exit 2 naming them.
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

# The engines over shards in the bucket.
cargo build --locked -p kahu --features kahu/cluster,kahu/object-store
SIGMA="$KAHU_SHARED/sigma/rules/windows"
"$KAHU" --quiet convert "$EV" --to parquet "$WORK/shards" --max-shard-events 2000 --json > /dev/null
"$VENV/bin/python" - "$WORK/shards" <<'EOF'
import os, sys, boto3
root = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
shards = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
for i, key in enumerate(shards):
    p = os.path.join(root, key)
    s3.upload_file(p, "kahu-test", "shards/" + key)
    data = open(p, "rb").read()
    # A copy of the shards with the middle one cut short (an upload that stopped).
    s3.put_object(Bucket="kahu-test", Key="bad/" + key,
                  Body=data[: len(data) // 2] if i == len(shards) // 2 else data)
print("shards uploaded:", len(shards), "(and bad/, one cut short:", shards[len(shards) // 2] + ")")
EOF
hunt_engine() {
    "$KAHU" --quiet hunt "$@" --rules "$SIGMA" --json
}
same_lines() {
    if ! cmp -s <(sort "$1") <(sort "$2"); then
        echo "FAIL: $1 and $2 differ"
        exit 1
    fi
}
hunt_engine "$WORK/shards" --engine datafusion -o "$WORK/df-folder.jsonl" > /dev/null
hunt_engine s3://kahu-test/shards/ --engine datafusion -o "$WORK/df-s3.jsonl" > /dev/null
same_lines "$WORK/df-folder.jsonl" "$WORK/df-s3.jsonl"
echo "hunt --engine datafusion s3://: $(wc -l < "$WORK/df-s3.jsonl") findings, the folder's"

# A port whose next port is free too (an executor binds both).
free_port() {
    "$VENV/bin/python" -c '
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError:
        pass
    finally:
        s.close(); t.close()'
}
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "FAIL: nothing listens on port $1"
    exit 1
}
SPORT=$(free_port)
CLUSTER=()
trap 'kill $MOTO "${CLUSTER[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$KAHU" cluster scheduler --bind "127.0.0.1:$SPORT" --executor-timeout 5 > "$WORK/scheduler.log" 2>&1 &
CLUSTER+=($!)
wait_port "$SPORT"
for i in 0 1; do
    EPORT=$(free_port)
    mkdir -p "$WORK/work$i"
    "$KAHU" cluster executor --scheduler "127.0.0.1:$SPORT" --bind "127.0.0.1:$EPORT" \
        --concurrency 1 --heartbeat 1 --work-dir "$WORK/work$i" > "$WORK/executor$i.log" 2>&1 &
    CLUSTER+=($!)
    wait_port "$EPORT"
done
# Executors register with their first heartbeat.
sleep 3
ON_CLUSTER=(--cluster "127.0.0.1:$SPORT" --partitions 4)
hunt_engine s3://kahu-test/shards/ "${ON_CLUSTER[@]}" -o "$WORK/cluster-s3.jsonl" > /dev/null
same_lines "$WORK/df-folder.jsonl" "$WORK/cluster-s3.jsonl"
echo "hunt --cluster s3://: the folder's findings"
"$KAHU" --quiet assess "$WORK/shards" --rules "$SIGMA" --no-case --engine datafusion \
    --out "$WORK/assess-folder" --json > /dev/null
"$KAHU" --quiet assess s3://kahu-test/shards/ --rules "$SIGMA" --no-case "${ON_CLUSTER[@]}" \
    --out "$WORK/assess-cluster" --json > /dev/null
for f in findings.jsonl analytics.json; do
    same_lines "$WORK/assess-folder/$f" "$WORK/assess-cluster/$f"
done
echo "assess --cluster s3://: the folder's findings and analytics"

# Errors: exit 2, naming what is wrong, no panic, no timeline.
must_fail() {
    local url=$1 why=$2
    shift 2
    set +e
    timeout 300 "$KAHU" --quiet hunt "$url" "$@" --rules "$SIGMA" -o "$WORK/never.jsonl" 2> "$WORK/fail.err"
    local status=$?
    set -e
    echo "$url $*: exit $status: $(head -c 300 "$WORK/fail.err")"
    if [ "$status" -ne 2 ] || [ -e "$WORK/never.jsonl" ] || ! grep -q -- "$why" "$WORK/fail.err" \
        || grep -q panicked "$WORK/fail.err"; then
        echo "FAIL: expected exit 2 with \"$why\" and no timeline"
        exit 1
    fi
}
for engine in "--engine datafusion" "${ON_CLUSTER[*]}"; do
    # shellcheck disable=SC2086 # the engine's flags, split
    must_fail s3://kahu-no-such-bucket/shards/ "kahu-no-such-bucket" $engine
    # shellcheck disable=SC2086
    must_fail s3://kahu-test/nothing-here/ "no object under this prefix" $engine
    # shellcheck disable=SC2086
    must_fail s3://kahu-test/bad/ "nothing is reported" $engine
done
kill "${CLUSTER[@]}" 2>/dev/null || true
wait "${CLUSTER[@]}" 2>/dev/null || true
CLUSTER=()

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
echo "object store tests passed (file://, and s3:// against moto on 127.0.0.1:$PORT, the DataFusion engine and a cluster over shards in S3 included)"
