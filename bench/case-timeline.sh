#!/usr/bin/env bash
# Timeline queries of `kahu serve` on SQLite and on the Parquet timeline
# (`kahu case parquet`), on synthetic cases of growing size: the
# measurements behind `kahu_case::route` (docs/scale-out.md "Case store at
# scale", BENCHMARKS.md).
#
#   bench/case-timeline.sh [EVENTS...]        default: 1000000 5000000 10000000
#
# Cases are kept in ${KAHU_BENCH_DIR:-/tmp/kahu-case-timeline}/EVENTS (a
# 10M-event case and its timeline take ≈ 15 GB); delete them to rebuild.
# Each case is written once by the example (kahu_case::synth: 50 hosts, 30
# days, seed 42), then `kahu case parquet` writes its timeline under
# /usr/bin/time -v (its cost), then every query runs on both backends,
# checked equal, timed (median wall, process CPU per query).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
root="${KAHU_BENCH_DIR:-/tmp/kahu-case-timeline}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 5000000 10000000)
# One command, so the example is built with the features of the `kahu`
# binary (alone, it would rebuild DataFusion with other features).
cargo build --release --locked -p kahu -p kahu-distributed --features kahu/datafusion --example case_timeline
bin="$CARGO_TARGET_DIR/release"
mkdir -p "$root"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
for n in "${sizes[@]}"; do
  dir="$root/$n"
  if [ ! -f "$dir/case.sqlite" ]; then
    # Builds the case only (a timeline is then written below).
    echo "== building a $n-event case in $dir"
    /usr/bin/time -f "%e s wall, %U s user, %S s system, %M KB peak" "$bin/examples/case_timeline" "$dir" "$n" 0
  fi
  if [ ! -f "$dir/timeline/manifest.json" ]; then
    echo "== kahu case parquet $dir"
    /usr/bin/time -v "$bin/kahu" case parquet "$dir" 2>&1 \
      | grep -E "Parquet timeline|Elapsed|User time|System time|Maximum resident"
  fi
  echo "== $n events: $(du -sh "$dir/case.sqlite" | cut -f1) case.sqlite, $(du -sh "$dir/timeline" | cut -f1) timeline"
  "$bin/examples/case_timeline" "$dir" "$n" "${ITER:-11}"
done
