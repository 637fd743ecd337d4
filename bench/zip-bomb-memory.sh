#!/usr/bin/env bash
# Peak memory of `kahu hunt` on archive bombs generated here (nothing is
# committed). Prints one Markdown table row per case: peak RSS (MB, from
# `/usr/bin/time -v`), seconds, and the warning kahu gave for the bomb.
#
#   bench/zip-bomb-memory.sh                # debug build (memory, not speed, is measured)
#   KAHU=target/release/kahu bench/zip-bomb-memory.sh
#
# Cases:
#   (a) zip bomb: a 1 MB zip whose one member inflates to 1 GiB of zeros
#       (its declared size is over the member cap);
#   (a2) the same with a 500 MiB member (under the cap: the ratio check stops it);
#   (b) nested stored zips: a.zip > b.zip > c.zip > x.log (stored, 400 MB at
#       each level, so no ratio check applies; only the memory budget does);
#   (c) three 500 MiB zip bombs read in parallel (`hunt` reads files on every core).
# The budget kahu states (docs/security.md): archive members held in memory
# <= Limits::max_in_memory (1 GiB) across all threads, a bomb stopped once
# it passes 32 MiB at more than 250:1.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${WORK:-/tmp/kahu-bench-bombs}"
RULES="${RULES:-crates/demo/rules}"
if [ -z "${KAHU:-}" ]; then
  cargo build --offline -q -p kahu
  KAHU=target/debug/kahu
fi
mkdir -p "$WORK"

python3 - "$WORK" <<'PY'
import os, shutil, sys, zipfile
work = sys.argv[1]
def bomb(path, size):
    if os.path.exists(path):
        return
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("bomb.log", "w", force_zip64=True) as m:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                m.write(chunk)
bomb(f"{work}/bomb.zip", 1 << 30)
bomb(f"{work}/bomb500.zip", 500 << 20)
os.makedirs(f"{work}/three", exist_ok=True)
for i in range(3):
    p = f"{work}/three/bomb{i}.zip"
    if not os.path.exists(p):
        shutil.copyfile(f"{work}/bomb500.zip", p)
nested = f"{work}/nested.zip"
if not os.path.exists(nested):
    line = b'{"EventID":4624,"Computer":"h","Channel":"Security"}\n'
    with zipfile.ZipFile(f"{work}/c.zip", "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        with z.open("x.log", "w", force_zip64=True) as m:
            block = line * ((1 << 20) // len(line))
            for _ in range(400):
                m.write(block)
    with zipfile.ZipFile(f"{work}/b.zip", "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.write(f"{work}/c.zip", "c.zip")
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.write(f"{work}/b.zip", "b.zip")
    os.remove(f"{work}/c.zip"); os.remove(f"{work}/b.zip")
PY

echo "| case | input | peak RSS (MB) | seconds | what kahu said |"
echo "|---|---|---:|---:|---|"
run() {
  local label="$1" input="$2"
  /usr/bin/time -v -o "$WORK/time.txt" "$KAHU" hunt "$input" --no-bundled-rules --rules "$RULES" \
    -o "$WORK/out.csv" >"$WORK/err.txt" 2>&1 || true
  local rss secs said size
  rss=$(awk -F: '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time.txt")
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
  said=$(grep -m1 -oE '(more than [0-9]+:1\); skipped as a likely archive bomb|budget for archive members[^;]*|per-member limit[^;]*)' "$WORK/err.txt" || echo "-")
  size=$(du -sh --apparent-size "$input" | cut -f1)
  echo "| $label | $size | $rss | $secs | $said |"
}
run "(a) zip bomb, 1 GiB member" "$WORK/bomb.zip"
run "(a2) zip bomb, 500 MiB member" "$WORK/bomb500.zip"
run "(b) nested stored zips, 3 levels" "$WORK/nested.zip"
run "(c) three 500 MiB bombs in parallel" "$WORK/three"
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM; kahu: $KAHU"
