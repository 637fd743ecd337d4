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
# Build-time-only crates (proc macros, syn, build-script helpers) must be
# listed at opt-level 0 in Cargo.toml's dev profile, or a dependency update
# quietly puts them back at opt-level 2 (≈ 3 minutes of CI; BENCHMARKS.md
# "CI time"). Resolves the dependency graph only, no build.
python3 scripts/build-time-crates.py
# Lints: every configuration is linted while the test builds below compile
# it. `cargo clippy` runs clippy-driver in place of rustc for the
# workspace's own crates (RUSTC_WORKSPACE_WRAPPER; dependencies are built
# by rustc as always) in check mode; here the same driver compiles them for
# real, so a lint or warning fails the build, and the dependencies are
# compiled once instead of also type-checked in a separate clippy pass
# (that pass, over DataFusion, Arrow, Parquet and Ballista, cost 134 s of
# wall time on a 2-core machine, 2026-12-07, BENCHMARKS.md "CI time"). The
# test builds now lint `cluster` too, which the separate pass left out.
# clippy-driver compiles with MIR optimisations off (LLVM still optimises):
# tests only, never the release binaries. CLIPPY_ARGS is how `cargo
# clippy` hands clippy-driver its arguments.
CLIPPY_DRIVER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
if [ -z "$CLIPPY_DRIVER" ]; then
  echo "error: clippy-driver not found; install it with: rustup component add clippy" >&2
  exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# Tests, in two builds so the disk a CI machine has is enough (a single
# `cargo test --workspace --features kahu/cluster,kahu/object-store` linked
# DataFusion and Ballista into every one of kahu's 15 test binaries and ran
# CI out of disk, 2026-12-06; docs/scale-out.md "Build cost in CI"):
# 1. the whole workspace, kahu's CLI in its default build (as the README's
#    commands build it: its tests of what a build without `columnar`,
#    `datafusion`, `cluster` or `object-store` says run here), kahu-ingest
#    with `columnar` (Parquet shards as evidence), and kahu-distributed with
#    Ballista (`cluster`) and shards in object stores (`object-store`): its
#    own tests (Sigma on DataFusion, Ballista's in-process standalone mode)
#    are the only test binaries here that link DataFusion. Turning
#    kahu-distributed's `cluster` on here is what makes build 2 cheap: every
#    dependency gets the features build 2 needs, so build 2 reuses them
#    instead of recompiling 213 crates (tokio, hashbrown, arrow… with other
#    features). Benchmarks are compiled (so linted) but not run. (The
#    default build used to be checked by a `cargo clippy -p kahu` of its
#    own, ≈ 2.8 min, because its dependencies resolve with other features
#    when it is built alone; BENCHMARKS.md "CI time".)
FEATURES=kahu-ingest/columnar,kahu-distributed/cluster,kahu-distributed/object-store
cargo test --workspace --locked --features "$FEATURES" --benches --no-run
cargo test --workspace --locked --features "$FEATURES"
# 2. kahu's CLI with `cluster` (so `datafusion` and `columnar`) and
#    `object-store`: its unit tests, `convert --to parquet` and the shards
#    read back (tests/convert.rs, tests/case.rs), `s3://`/`file://`
#    evidence (tests/object_store.rs; a local S3 server is
#    scripts/test-object-store.sh), Sigma on DataFusion through the CLI
#    (tests/datafusion.rs) and a Ballista cluster of one scheduler and two
#    executors started as separate processes on loopback, compared with the
#    one-machine run (tests/cluster.rs). Only kahu's binary, its unit tests
#    and these test binaries are built; the test binaries run the kahu
#    binary, so only the unit tests link DataFusion. DataFusion's and
#    Ballista's crates are built without optimisation in the dev profile
#    (Cargo.toml) so this fits CI's time.
cargo test --locked -p kahu --features kahu/cluster,kahu/object-store --bins \
  --test convert --test case --test object_store --test datafusion --test cluster
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
