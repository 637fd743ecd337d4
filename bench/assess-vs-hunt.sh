#!/usr/bin/env bash
# The cost of `kahu assess` beyond detection: `kahu hunt` vs `kahu assess`
# (with and without the case store) on the same evidence and rules, with
# wall time, peak RSS (/usr/bin/time) and the size of case.sqlite against
# the uncompressed evidence. Results go to stdout as a Markdown table;
# BENCHMARKS.md records a run.
#
#   bench/assess-vs-hunt.sh                 # both shared workloads
#   RUNS=3 bench/assess-vs-hunt.sh          # median of 3
#   KAHU=target/release/kahu NOBUILD=1 …    # an already built binary
#   RULES=../shared/sigma/rules/windows …   # add SigmaHQ (default: bundled rules only,
#                                           # as a new user runs both commands)
#
# Each run times `hunt`, `assess --no-case` and `assess` one after the
# other, so the three share the machine's state; the table gives each
# command's median and the median (and range) of the runs' own
# assess / hunt ratios. On a shared VM the machine's speed drifts by more
# than most changes over a few minutes: sequential batches of one command
# gave ratios from 1.47× to 1.86× for one binary (BENCHMARKS.md, session 15).
#
# Stage timings of assess: KAHU_LOG=kahu_assess=info (printed with -v).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
RUNS="${RUNS:-1}"
OUT="${OUT:-/tmp/kahu-bench-assess}"
[ -d "$SHARED/mordor" ] || { echo "shared data not found at $SHARED" >&2; exit 1; }
if [ -z "${NOBUILD:-}" ]; then cargo build --release --locked --offline -p kahu -q; fi
KAHU="${KAHU:-target/release/kahu}"
rules=()
[ -n "${RULES:-}" ] && rules=(--rules "$RULES")

# Per-run scratch files: several people may run this script on one machine.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# time_one CMD... : prints "seconds peak_rss_mb cpu_seconds" of one run
# (CPU = user + sys); OUT is emptied first.
time_one() {
  rm -rf "$OUT"
  /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$@" >/dev/null 2>"$TMP/err" \
    || { cat "$TMP/err" >&2; exit 1; }
  local t m u s
  read -r t m u s < "$TMP/time"
  echo "$t $((m / 1024)) $(echo "$u + $s" | bc -l)"
}

# stats FILE : "median_seconds max_rss_mb median_cpu" over FILE's lines.
stats() {
  echo "$(cut -d' ' -f1 "$1" | median) $(cut -d' ' -f2 "$1" | sort -n | tail -1) $(cut -d' ' -f3 "$1" | median)"
}

# Uncompressed evidence bytes: plain files as they are, zip members expanded.
uncompressed() {
  python3 - "$1" <<'PY'
import os, sys, zipfile
total = 0
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        try:
            with zipfile.ZipFile(p) as z:
                total += sum(i.file_size for i in z.infolist())
        except zipfile.BadZipFile:
            total += os.path.getsize(p)
print(total)
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS (median); rules: ${RULES:-bundled}"
echo
echo "wall seconds (CPU seconds user+sys, peak RSS MB)"
echo
echo "| workload | evidence on disk | uncompressed | hunt | assess --no-case | assess | assess / hunt (wall; median of the runs' ratios) | case.sqlite | case / uncompressed |"
echo "|---|---|---|---|---|---|---|---|---|"
for w in ${WORKLOADS:-mordor/atomic evtx/EVTX-ATTACK-SAMPLES}; do
  ev="$SHARED/$w"
  disk=$(du -sb "$ev" | cut -f1)
  raw=$(uncompressed "$ev")
  : > "$TMP/hunt"; : > "$TMP/nocase"; : > "$TMP/assess"; : > "$TMP/ratio"
  for _ in $(seq "$RUNS"); do
    h=$(time_one "$KAHU" -q hunt --json "${rules[@]}" "$ev"); echo "$h" >> "$TMP/hunt"
    time_one "$KAHU" -q assess "${rules[@]}" --no-case --out "$OUT" "$ev" >> "$TMP/nocase"
    a=$(time_one "$KAHU" -q assess "${rules[@]}" --out "$OUT" "$ev"); echo "$a" >> "$TMP/assess"
    echo "${a%% *} / ${h%% *}" | bc -l >> "$TMP/ratio"
  done
  read -r th rh ch < <(stats "$TMP/hunt")
  read -r tn rn cn < <(stats "$TMP/nocase")
  read -r ta ra ca < <(stats "$TMP/assess")
  ratio=$(median < "$TMP/ratio")
  lo=$(sort -n "$TMP/ratio" | head -1); hi=$(sort -n "$TMP/ratio" | tail -1)
  db=$(stat -c %s "$OUT/case.sqlite")
  printf '| %s | %.1f MB | %.1f MB | %s s (%.2f s, %s MB) | %s s (%.2f s, %s MB) | %s s (%.2f s, %s MB) | %.2f× (runs %.2f–%.2f×) | %.1f MB | %.2f× |\n' \
    "$w" "$(echo "$disk/1000000" | bc -l)" "$(echo "$raw/1000000" | bc -l)" "$th" "$ch" "$rh" "$tn" "$cn" "$rn" "$ta" "$ca" "$ra" \
    "$ratio" "$lo" "$hi" "$(echo "$db/1000000" | bc -l)" "$(echo "$db/$raw" | bc -l)"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
