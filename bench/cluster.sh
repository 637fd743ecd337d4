#!/usr/bin/env bash
# `kahu hunt --cluster` (Ballista: one scheduler, 1 or 2 executors, all on
# this machine, loopback) against single-node `kahu hunt` over the same
# Parquet shards (`kahu convert` output), SigmaHQ Windows rules.
# Prints, per configuration: wall seconds, CPU seconds of the client and of
# the cluster's processes (user + sys from /proc/PID/stat, before/after the
# query), events per CPU-second; and checks every configuration's timeline
# (sorted lines) equals `kahu hunt` over the original evidence.
#
#   bench/cluster.sh                          # Mordor atomic, dev profile
#   EVIDENCE=../shared/evtx/EVTX-ATTACK-SAMPLES bench/cluster.sh
#   PARTITIONS=8 bench/cluster.sh             # shard groups (default 4)
#   KAHU=target/debug/kahu bench/cluster.sh   # that binary, no build
#   ASSESS=1 bench/cluster.sh                 # also `assess --no-case`, one
#                                             # node vs `assess --cluster`
#
# For the cost model (docs/scale-out.md) it also prints the evidence's size
# on disk, the shards' size and count, and Parquet bytes per event.
#
# The machine is shared and has 2 cores: the load average before and after
# is printed; CPU seconds are the comparable number, wall time is not, and
# two executors on 2 cores cannot show scale-out, only its overhead.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
EVIDENCE="${EVIDENCE:-$SHARED/mordor/atomic}"
RULES="${RULES:-$SHARED/sigma/rules/windows}"
PROFILE="${PROFILE:-dev}"
PARTITIONS="${PARTITIONS:-4}"
[ -e "$EVIDENCE" ] || { echo "evidence not found at $EVIDENCE" >&2; exit 1; }
if [ -n "${KAHU:-}" ]; then
  : # a kahu built with `--features cluster`, given: no cargo run here
elif [ "$PROFILE" = release ]; then
  cargo build --release --locked -p kahu --features cluster -q
  KAHU=target/release/kahu
else
  cargo build --locked -p kahu -p kahu-distributed --features kahu/cluster -q
  KAHU=target/debug/kahu
fi
OUT=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT

tick=$(getconf CLK_TCK)
# CPU seconds (user + sys) a process has used so far.
cpu_of() { awk -v t="$tick" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F), profile $PROFILE"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); partitions: $PARTITIONS"
"$KAHU" convert -q "$EVIDENCE" --to parquet "$OUT/pq" --json > "$OUT/convert.json"
events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_written"])' "$OUT/convert.json")
ev_bytes=$(du -sbL "$EVIDENCE" | cut -f1)
pq_bytes=$(du -sb "$OUT/pq" | cut -f1)
shards=$(find "$OUT/pq" -name '*.parquet' | wc -l)
echo "evidence: $ev_bytes bytes on disk; shards: $shards, $pq_bytes bytes; $(awk -v b="$pq_bytes" -v e="$events" 'BEGIN{printf "%.1f", b/e}') Parquet bytes per event"
"$KAHU" --quiet hunt "$EVIDENCE" --rules "$RULES" --json -o "$OUT/original.jsonl" > /dev/null
sort "$OUT/original.jsonl" > "$OUT/original.sorted"

report() { # name wall client_cpu cluster_cpu timeline
  sort "$5" > "$5.sorted"
  local same=no; cmp -s "$5.sorted" "$OUT/original.sorted" && same=yes
  awk -v n="$1" -v w="$2" -v c="$3" -v k="$4" -v e="$events" -v s="$same" \
    'BEGIN { printf "%-28s wall %6.2f s  CPU client %6.2f s + cluster %6.2f s = %6.2f s  %8.0f events/CPU-s  identical: %s\n", n, w, c, k, c + k, e / (c + k), s }'
}

single() { # name args...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$KAHU" --quiet hunt "$OUT/pq" --rules "$RULES" --json -o "$OUT/$name.jsonl" "$@" > /dev/null
  read -r w u s < "$OUT/time"
  report "$name" "$w" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" 0 "$OUT/$name.jsonl"
}

# Start a scheduler and `n` executors of `slots` task slots; SCHED is its address.
start_cluster() { # executors slots_each
  local n=$1 slots=$2 sp; sp=$(free_port)
  PIDS=()
  "$KAHU" cluster scheduler --bind "127.0.0.1:$sp" 2> "$OUT/sched.log" & PIDS+=($!)
  wait_port "$sp"
  for i in $(seq "$n"); do
    local ep; ep=$(free_port)
    "$KAHU" cluster executor --scheduler "127.0.0.1:$sp" --bind "127.0.0.1:$ep" --concurrency "$slots" --heartbeat 1 --work-dir "$(mktemp -d -p "$OUT")" 2> "$OUT/exec$i.log" & PIDS+=($!)
    wait_port "$ep"
  done
  sleep 3
  SCHED="127.0.0.1:$sp"
}
# CPU seconds the cluster's processes have used so far.
cluster_cpu() { local t=0 p; for p in "${PIDS[@]}"; do t=$(awk -v a="$t" -v b="$(cpu_of "$p")" 'BEGIN{print a+b}'); done; echo "$t"; }
stop_cluster() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
secs() { awk -v u="$1" -v s="$2" 'BEGIN{print u+s}'; }

cluster() { # executors slots_each
  start_cluster "$1" "$2"
  local before after name="cluster-${1}x${2}"
  before=$(cluster_cpu)
  /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$KAHU" --quiet hunt "$OUT/pq" --rules "$RULES" --json -o "$OUT/$name.jsonl" --cluster "$SCHED" --partitions "$PARTITIONS" > /dev/null
  after=$(cluster_cpu)
  read -r w u s < "$OUT/time"
  report "$name" "$w" "$(secs "$u" "$s")" "$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')" "$OUT/$name.jsonl"
  stop_cluster
}

# `assess --no-case` over the shards on one node, then on a cluster of two
# one-slot executors: findings.jsonl must be identical. The client's CPU
# includes the local pass (analytics), which does not scale out.
assess_pair() {
  /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$KAHU" --quiet assess "$OUT/pq" --rules "$RULES" --no-case --name bench --out "$OUT/assess-single" --json > /dev/null
  read -r w u s < "$OUT/time"
  printf '%-28s wall %6.2f s  CPU %6.2f s\n' "assess, one node" "$w" "$(secs "$u" "$s")"
  start_cluster 2 1
  local before after same=no
  before=$(cluster_cpu)
  /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$KAHU" --quiet assess "$OUT/pq" --rules "$RULES" --no-case --name bench --out "$OUT/assess-cluster" --json --cluster "$SCHED" --partitions "$PARTITIONS" > /dev/null
  after=$(cluster_cpu)
  read -r w u s < "$OUT/time"
  cmp -s "$OUT/assess-single/findings.jsonl" "$OUT/assess-cluster/findings.jsonl" && same=yes
  printf '%-28s wall %6.2f s  CPU client %6.2f s + cluster %6.2f s  findings.jsonl identical: %s\n' "assess, cluster 2x1" "$w" "$(secs "$u" "$s")" "$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')" "$same"
  stop_cluster
}

echo "events: $events; timeline lines: $(wc -l < "$OUT/original.jsonl")"
single embedded
single datafusion --engine datafusion --partitions "$PARTITIONS"
cluster 1 2
cluster 2 1
if [ "${ASSESS:-0}" = 1 ]; then assess_pair; fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
