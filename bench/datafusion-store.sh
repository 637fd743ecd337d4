#!/usr/bin/env bash
# `kahu hunt --engine datafusion` over the same Parquet shards read three
# ways: the folder, `file:///…` (object_store's local store) and `s3://` on
# a local S3 server (moto, loopback http). Prints wall, CPU (user + sys)
# and peak RSS per run, and checks the three timelines are identical.
#
#   bench/datafusion-store.sh                    # Mordor lateral_movement, 2 runs, dev build
#   RUNS=3 KAHU=target/release/kahu bench/datafusion-store.sh
#
# Needs a kahu built with `cluster,object-store` (or `datafusion,
# object-store`) and moto in target/moto-venv (scripts/test-object-store.sh
# installs it). The machine is shared: CPU seconds are the comparable
# number under load, wall time is not.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
EVIDENCE="${EVIDENCE:-$SHARED/mordor/atomic/windows/lateral_movement}"
RULES="${RULES:-$SHARED/sigma/rules/windows}"
RUNS="${RUNS:-2}"
KAHU="${KAHU:-target/debug/kahu}"
VENV=target/moto-venv
[ -x "$VENV/bin/moto_server" ] || { echo "moto not in $VENV (run scripts/test-object-store.sh)" >&2; exit 1; }
WORK=$(mktemp -d)
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" > "$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$PORT/" > /dev/null && break
    sleep 0.2
done
# Dummy credentials for the local server only.
export AWS_ACCESS_KEY_ID=kahu-bench AWS_SECRET_ACCESS_KEY=kahu-bench AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT="http://127.0.0.1:$PORT" AWS_ALLOW_HTTP=true

"$KAHU" --quiet convert "$EVIDENCE" --to parquet "$WORK/shards" --json > /dev/null
"$VENV/bin/python" - "$WORK/shards" <<'EOF'
import os, sys, boto3
root = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT"])
s3.create_bucket(Bucket="bench")
n = size = 0
for d, _, fs in os.walk(root):
    for f in fs:
        p = os.path.join(d, f)
        s3.upload_file(p, "bench", "shards/" + os.path.relpath(p, root))
        n += 1
        size += os.path.getsize(p)
print(f"{n} shards, {size} bytes uploaded")
EOF
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
    for src in "$WORK/shards" "file://$WORK/shards/" "s3://bench/shards/"; do
        case "$src" in s3:*) tag=s3 ;; file:*) tag=file ;; *) tag=folder ;; esac
        /usr/bin/time -f "$tag run $run: %e s wall, %U + %S CPU-s, %M KB peak RSS" \
            "$KAHU" --quiet --threads 2 hunt "$src" --engine datafusion --partitions 2 \
            --rules "$RULES" -o "$WORK/t-$tag.jsonl" --json > "$WORK/s-$tag.json"
        echo "  $(grep -o '"events": [0-9]*' "$WORK/s-$tag.json"), $(grep -o '"findings": [0-9]*' "$WORK/s-$tag.json")"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for tag in file s3; do
    cmp -s <(sort "$WORK/t-folder.jsonl") <(sort "$WORK/t-$tag.jsonl") \
        || { echo "FAIL: the $tag timeline differs from the folder's"; exit 1; }
done
echo "timelines identical; moto server CPU: $(ps -o cputime= -p $MOTO)"
