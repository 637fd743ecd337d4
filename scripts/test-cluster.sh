#!/usr/bin/env bash
# Lints and tests of the `cluster` feature (`kahu cluster scheduler|executor`,
# `kahu hunt|assess --cluster`, Ballista in `kahu-distributed`), which scripts/test.sh
# (CI) leaves out for its build cost (docs/scale-out.md). One cargo invocation
# each, so features unify once and the kahu crates are built in one variant.
#   - kahu-distributed's unit tests: Ballista's in-process standalone mode
#     against the embedded detector (cluster_tests.rs) and the DataFusion ones;
#   - crates/cli/tests/cluster.rs: a scheduler and two executors as separate
#     `kahu` processes on loopback, against `kahu hunt` on the original
#     EVTX-ATTACK-SAMPLES and a Mordor set; `kahu assess --cluster` against
#     `kahu assess` over the same shards (every product, the case store) and
#     over the original evidence (findings); an executor killed mid-query;
#     with KAHU_CLUSTER_FULL=1 also all of mordor/atomic (minutes of CPU).
# The default build's refusal of --cluster/--engine datafusion (hunt and
# assess) is in crates/cli/tests/hunt.rs, run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
cargo clippy -p kahu-distributed -p kahu -p kahu-assess --all-targets --locked --features kahu/cluster -- -D warnings
cargo test -p kahu-distributed -p kahu --locked --features kahu/cluster
