#!/usr/bin/env bash
# The whole kahu test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAHU_SHARED="${KAHU_SHARED:-$(cd .. && pwd)/shared}"
echo "== shared data: $KAHU_SHARED"
# The OASIS STIX 2.1 validator checks kahu's STIX bundles in the tests. It
# goes into a virtual environment under target/ (never the system Python);
# the tests find it, and `jsonschema` which it brings, through PATH.
VENV="${KAHU_VENV:-$PWD/target/py-venv}"
if [ ! -x "$VENV/bin/stix2_validator" ]; then
  { python3 -m venv "$VENV" \
      && "$VENV/bin/pip" install --quiet --disable-pip-version-check stix2-validator==3.3.2 jsonschema; } \
    || echo "WARNING: could not install stix2-validator into $VENV"
fi
[ -x "$VENV/bin/stix2_validator" ] && export PATH="$VENV/bin:$PATH"
if ! command -v stix2_validator >/dev/null 2>&1; then
  if [ "${KAHU_SKIP_STIX:-}" = 1 ]; then
    echo "SKIP: stix2_validator unavailable (KAHU_SKIP_STIX=1); STIX bundles will not be validated"
  else
    echo "error: stix2_validator (PyPI stix2-validator) is required by the tests; install it or set KAHU_SKIP_STIX=1" >&2
    exit 1
  fi
fi
# CI builds once from a clean clone: incremental compilation only costs it
# disk (gigabytes of `target/debug/incremental`) and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo fmt --all -- --check
# The fuzz targets are a separate workspace (cargo fuzz); its lock file must
# follow the kahu crates it builds, or `cargo fuzz run` fails on a fresh
# clone. Checking the lock resolves dependencies only, no build.
(cd fuzz && cargo metadata --locked --format-version 1 >/dev/null)
# Lints: the whole workspace with the optional `columnar` (`kahu convert
# --to parquet`, Parquet shards as evidence) and `object-store` (`s3://`
# evidence) features, kahu-distributed included with its shards in object
# stores (DataFusion's execution crates in check mode: ≈ 110 s more on a
# clean clone, docs/scale-out.md) but without `cluster` (Ballista's check
# build would cost far more; scripts/test-cluster.sh lints it), and the
# default build (as the README's commands build kahu), so no configuration
# can rot.
cargo clippy --workspace --all-targets --locked --features kahu/columnar,kahu/object-store,kahu-distributed/object-store -- -D warnings
cargo clippy -p kahu --all-targets --locked -- -D warnings
# Tests, in two builds so the disk a CI machine has is enough (a single
# `cargo test --workspace --features kahu/cluster,kahu/object-store` linked
# DataFusion and Ballista into every one of kahu's 15 test binaries and ran
# CI out of disk, 2026-12-06; docs/scale-out.md "Build cost in CI"):
# 1. the whole workspace with `columnar` and `object-store` (`kahu hunt
#    s3://…`, tested here over `file://`; a local S3 server is
#    scripts/test-object-store.sh), and kahu-distributed with Ballista
#    (`cluster`) and shards in object stores (`object-store`): its own tests (Sigma on DataFusion, Ballista's in-process
#    standalone mode) are the only test binaries here that link DataFusion,
#    since kahu itself is built without `cluster`. Turning kahu-distributed's
#    `cluster` on here is what makes build 2 cheap: every dependency gets the
#    features build 2 needs, so build 2 reuses them instead of recompiling
#    213 crates (tokio, hashbrown, arrow… with other features);
cargo test --workspace --locked --features kahu/columnar,kahu/object-store,kahu-distributed/cluster,kahu-distributed/object-store
# 2. kahu with `cluster`: Sigma on DataFusion through the CLI
#    (tests/datafusion.rs) and a Ballista cluster of one scheduler and two
#    executors started as separate processes on loopback, compared with the
#    one-machine run (tests/cluster.rs). Only kahu's binary and these two
#    test binaries are built. DataFusion's and Ballista's crates are built
#    without optimisation in the dev profile (Cargo.toml) so this fits CI's
#    time.
cargo test --locked -p kahu --features kahu/cluster,kahu/object-store --test datafusion --test cluster
# Headless-Chromium end-to-end tests of the web UI and the HTML report on
# the demo case. Installs chromium/node modules when missing and fails when
# it cannot; KAHU_SKIP_E2E=1 skips them (prints SKIP:).
if [ "${KAHU_SKIP_E2E:-}" = 1 ]; then
  echo "SKIP: e2e browser tests (KAHU_SKIP_E2E=1)"
else
  # The kahu binary build 2 made (any kahu build serves the demo case);
  # building the default one would recompile 64 dependencies whose features
  # differ from build 2's.
  KAHU_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/kahu" tests/e2e/run.sh
fi
