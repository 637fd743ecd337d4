#!/usr/bin/env bash
# The whole kahu test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
echo "== shared data: $KAHU_SHARED"
# The OASIS STIX 2.1 validator checks kahu's STIX bundles in the tests.
if ! command -v stix2_validator >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check stix2-validator==3.3.2 \
    || echo "WARNING: could not install stix2-validator; STIX validation tests will SKIP"
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
