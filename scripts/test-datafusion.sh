#!/usr/bin/env bash
# Lints and tests of the `datafusion` feature (`kahu hunt --engine
# datafusion`, crate `kahu-distributed`), which scripts/test.sh (CI) leaves
# out for its build cost (docs/scale-out.md). One cargo invocation each, so
# features unify once and the kahu crates are built in one variant.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
cargo clippy -p kahu-distributed -p kahu --all-targets --locked --features kahu/datafusion -- -D warnings
cargo test -p kahu-distributed -p kahu --locked --features kahu/datafusion
