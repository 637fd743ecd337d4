#!/usr/bin/env bash
# Detection throughput of `kahu hunt`, against the parse-only baseline
# (`kahu events --count`) over the same input. Results go to stdout as a
# Markdown table; BENCHMARKS.md records a run.
#
#   bench/hunt.sh            # both workloads
#   RUNS=5 bench/hunt.sh     # more repetitions (median is reported)
#
# (a) ../shared/evtx/EVTX-ATTACK-SAMPLES: 277 small EVTX files, all SigmaHQ
#     Windows rules (per-file and rule-loading overhead dominate).
# (b) >= 1M events of JSON-lines built by replaying ../shared/mordor/atomic
#     with shifted timestamps (crates/ingest example `replay-mordor`).
# (c) rule loading alone: `kahu hunt` over one trivial event with the same
#     rules (parse + compile + process start).
#
# The machine is shared: the load average before and after is printed with
# the table; compare runs only at similar load.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
RUNS="${RUNS:-3}"
EVENTS="${EVENTS:-1000000}"
JSONL="${JSONL:-/tmp/kahu-bench-mordor-${EVENTS}.jsonl}"
[ -d "$SHARED/evtx" ] || { echo "shared data not found at $SHARED" >&2; exit 1; }

cargo build --release --locked -p kahu -q
KAHU=target/release/kahu

if [ ! -s "$JSONL" ]; then
  cargo run --release --locked -q -p kahu-ingest --example replay-mordor -- "$JSONL" "$EVENTS" >&2
fi

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# measure LABEL CMD... : prints "median_seconds peak_rss_mb"
measure() {
  local label="$1"; shift
  local times=() rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o /tmp/kahu-bench-time "$@" >/dev/null 2>/tmp/kahu-bench-err || { cat /tmp/kahu-bench-err >&2; exit 1; }
    read -r t m < /tmp/kahu-bench-time
    times+=("$t"); [ "$m" -gt "$rss" ] && rss="$m"
  done
  local med; med=$(printf '%s\n' "${times[@]}" | median)
  echo "$med $((rss / 1024))"
}

events_in() { "$KAHU" events -q --count "$@" | sed -E 's/.*"events":([0-9]+).*/\1/'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (median)"
# Rule loading: a hunt over one trivial event (an input with no event at
# all is refused with an error, so the directory is not left empty).
EMPTY=$(mktemp -d)
trap 'rm -rf "$EMPTY"' EXIT
echo '{"EventID":1,"Channel":"Security","Computer":"bench"}' > "$EMPTY/one.jsonl"
read -r l lrss < <(measure rules "$KAHU" hunt -q --json "$EMPTY" --no-bundled-rules --rules "$SHARED/sigma/rules/windows")
nrules=$("$KAHU" hunt -q --json "$EMPTY" --no-bundled-rules --rules "$SHARED/sigma/rules/windows" | sed -nE 's/.*"rules_loaded": ([0-9]+).*/\1/p')
echo "rule loading ($nrules SigmaHQ Windows rules): $l s, peak RSS $lrss MB"
echo
echo "| workload | events | parse-only s | hunt s | hunt/parse | hunt events/s | peak RSS MB |"
echo "|---|---|---|---|---|---|---|"
for w in evtx jsonl; do
  if [ "$w" = evtx ]; then IN="$SHARED/evtx/EVTX-ATTACK-SAMPLES"; RULES="$SHARED/sigma/rules/windows"; else IN="$JSONL"; RULES="$SHARED/sigma/rules/windows"; fi
  n=$(events_in "$IN")
  read -r p _ < <(measure parse "$KAHU" events -q --count "$IN")
  read -r h rss < <(measure hunt "$KAHU" hunt -q --json "$IN" --no-bundled-rules --rules "$RULES")
  awk -v w="$w" -v n="$n" -v p="$p" -v h="$h" -v r="$rss" 'BEGIN { printf "| %s | %d | %.2f | %.2f | %.2f | %.0f | %d |\n", w, n, p, h, (p>0?h/p:0), (h>0?n/h:0), r }'
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
