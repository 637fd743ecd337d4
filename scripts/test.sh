#!/usr/bin/env bash
# The whole kahu test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
echo "== shared data: $KAHU_SHARED"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
