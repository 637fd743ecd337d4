#!/usr/bin/env bash
# Columnar conversion: `kahu convert ../shared/mordor/atomic --to parquet DIR`.
# Prints events/s (median of RUNS), peak RSS, and the Parquet size against
# the evidence size (zipped, as shared, and uncompressed). Results go to
# stdout as a Markdown table; BENCHMARKS.md records a run.
#
#   bench/convert.sh             # Mordor atomic, 3 runs
#   RUNS=5 bench/convert.sh
#   EVIDENCE=../shared/evtx/EVTX-ATTACK-SAMPLES bench/convert.sh
#
# Also times `kahu hunt` (SigmaHQ Windows rules) on the evidence and on
# the converted folder: reading shards back replaces parsing.
#
# The machine is shared: the load average before and after is printed
# with the table; compare runs only at similar load.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
EVIDENCE="${EVIDENCE:-$SHARED/mordor/atomic}"
RUNS="${RUNS:-3}"
[ -e "$EVIDENCE" ] || { echo "evidence not found at $EVIDENCE" >&2; exit 1; }

cargo build --release --locked -p kahu --features columnar -q
KAHU=target/release/kahu
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure CMD... : prints "median_seconds peak_rss_mb"
measure() {
  local times=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o /tmp/kahu-bench-time "$@" >/tmp/kahu-bench-out 2>/tmp/kahu-bench-err || { cat /tmp/kahu-bench-err >&2; exit 1; }
    read -r t m < /tmp/kahu-bench-time
    times+=("$t"); [ "$m" -gt "$rss" ] && rss="$m"
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $((rss / 1024))"
}

# Uncompressed bytes of the evidence: zip members, gzip/tar.gz contents, plain files.
uncompressed() {
  python3 - "$1" <<'PY'
import os, sys, zipfile, gzip
total = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if zipfile.is_zipfile(p):
            total += sum(i.file_size for i in zipfile.ZipFile(p).infolist())
        elif f.endswith(".gz") or f.endswith(".tgz"):
            # Some sets end in bytes after the last gzip member: count
            # what decompresses, as kahu's reader does.
            try:
                with gzip.open(p) as g:
                    while True:
                        b = g.read(1 << 20)
                        if not b:
                            break
                        total += len(b)
            except (OSError, EOFError):
                pass
        else:
            total += os.path.getsize(p)
print(total)
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (median)"
read -r t rss < <(measure "$KAHU" convert -q "$EVIDENCE" --to parquet "$OUT/pq" --force --json)
"$KAHU" convert -q "$EVIDENCE" --to parquet "$OUT/pq" --force --json > "$OUT/summary.json"
events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_written"])' "$OUT/summary.json")
shards=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["shards"], d["partitions"])' "$OUT/summary.json")
zipped=$(du -sb "$EVIDENCE" | cut -f1)
plain=$(uncompressed "$EVIDENCE")
parquet=$(du -sb "$OUT/pq" | cut -f1)
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo
echo "| evidence | events | convert s | events/s | peak RSS MB | shards, partitions | evidence MB (as stored) | uncompressed MB | Parquet MB | Parquet / uncompressed |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| $(basename "$EVIDENCE") | $events | $t | $(awk -v e="$events" -v t="$t" 'BEGIN { printf "%.0f", e / t }') | $rss | $shards | $(mb "$zipped") | $(mb "$plain") | $(mb "$parquet") | $(awk -v p="$parquet" -v u="$plain" 'BEGIN { printf "%.3f", p / u }') |"
if [ -d "$SHARED/sigma/rules/windows" ]; then
  read -r ht hrss < <(measure "$KAHU" hunt -q --json "$EVIDENCE" --no-bundled-rules --rules "$SHARED/sigma/rules/windows" -o "$OUT/a.jsonl")
  read -r pt prss < <(measure "$KAHU" hunt -q --json "$OUT/pq" --no-bundled-rules --rules "$SHARED/sigma/rules/windows" -o "$OUT/b.jsonl")
  same=$(cmp -s <(sort "$OUT/a.jsonl") <(sort "$OUT/b.jsonl") && echo identical || echo DIFFERENT)
  echo
  echo "| hunt (SigmaHQ Windows rules) on | s | peak RSS MB |"
  echo "|---|---|---|"
  echo "| the evidence | $ht | $hrss |"
  echo "| the Parquet folder | $pt | $prss |"
  echo
  echo "findings: $same"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
