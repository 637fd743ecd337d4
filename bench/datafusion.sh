#!/usr/bin/env bash
# `kahu hunt --engine datafusion` against the embedded engine over the
# same Parquet shards (`kahu convert` output), SigmaHQ Windows rules.
# Prints, per engine: wall and CPU seconds (user + sys, median of RUNS),
# events per CPU-second, peak RSS; and checks the findings are identical
# (sorted timeline lines) between the two engines and the original
# evidence.
#
#   bench/datafusion.sh                          # Mordor atomic, 3 runs, release
#   RUNS=1 PROFILE=dev bench/datafusion.sh       # dev-profile binary
#   EVIDENCE=../shared/evtx/EVTX-ATTACK-SAMPLES bench/datafusion.sh
#   PARTITIONS=1 bench/datafusion.sh             # DataFusion target partitions
#
# The machine is shared: the load average before and after is printed;
# CPU seconds are the comparable number under load, wall time is not.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
EVIDENCE="${EVIDENCE:-$SHARED/mordor/atomic}"
RULES="${RULES:-$SHARED/sigma/rules/windows}"
RUNS="${RUNS:-3}"
PROFILE="${PROFILE:-release}"
PARTITIONS="${PARTITIONS:-$(nproc)}"
[ -e "$EVIDENCE" ] || { echo "evidence not found at $EVIDENCE" >&2; exit 1; }

if [ "$PROFILE" = release ]; then
  cargo build --release --locked -p kahu --features datafusion -q
  KAHU=target/release/kahu
else
  cargo build --locked -p kahu --features datafusion -q
  KAHU=target/debug/kahu
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure CMD... : prints "median_wall median_cpu peak_rss_mb"
measure() {
  local walls=() cpus=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr" || { cat "$OUT/stderr" >&2; exit 1; }
    read -r t u s m < "$OUT/time"
    walls+=("$t"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')")
    [ "$m" -gt "$rss" ] && rss="$m"
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $((rss / 1024))"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), profile $PROFILE"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (median); DataFusion partitions: $PARTITIONS"
"$KAHU" convert -q "$EVIDENCE" --to parquet "$OUT/pq" --json > "$OUT/convert.json"
events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_written"])' "$OUT/convert.json")

hunt() { "$KAHU" --quiet hunt "$@" --rules "$RULES" --json; }
# /usr/bin/time runs programs, not shell functions: the command is spelled out.
read -r ew ec er < <(measure "$KAHU" --quiet hunt "$OUT/pq" --rules "$RULES" --json -o "$OUT/embedded.jsonl")
read -r dw dc dr < <(measure "$KAHU" --quiet hunt "$OUT/pq" --engine datafusion --partitions "$PARTITIONS" --rules "$RULES" --json -o "$OUT/datafusion.jsonl")
hunt "$EVIDENCE" -o "$OUT/original.jsonl" > /dev/null

rate() { awk -v n="$events" -v s="$1" 'BEGIN { printf "%.0fk", n / s / 1000 }'; }
echo
echo "| engine over the shards | events | wall s | CPU s (user + sys) | events per CPU-s | peak RSS MB |"
echo "|---|---|---|---|---|---|"
echo "| embedded (\`kahu hunt DIR\`) | $events | $ew | $ec | $(rate "$ec") | $er |"
echo "| DataFusion (\`--engine datafusion --partitions $PARTITIONS\`) | $events | $dw | $dc | $(rate "$dc") | $dr |"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for f in embedded datafusion original; do sort "$OUT/$f.jsonl" > "$OUT/$f.sorted"; done
if cmp -s "$OUT/embedded.sorted" "$OUT/datafusion.sorted" && cmp -s "$OUT/original.sorted" "$OUT/datafusion.sorted"; then
  echo "findings: identical ($(wc -l < "$OUT/datafusion.sorted") timeline lines; embedded over the shards, DataFusion, embedded over the original evidence)"
else
  echo "findings: DIFFER" >&2
  diff "$OUT/embedded.sorted" "$OUT/datafusion.sorted" | head -20 >&2
  exit 1
fi
