#!/usr/bin/env bash
# Fuzz smoke test: build every cargo-fuzz target and run each for SECONDS
# (default 30), one after the other. Exits non-zero if any target crashes,
# times out, runs out of memory or fails to build.
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked --version 0.13.1`).
# Works on the pinned stable toolchain: `-s none` builds with libFuzzer's
# coverage instrumentation but no sanitizer (AddressSanitizer needs nightly's
# -Zsanitizer; safe Rust needs it little). Builds are release with debug
# assertions and overflow checks on (cargo-fuzz's default), so arithmetic
# overflow is a crash here even though it wraps in a plain release build.
#
# Each target starts from the committed seeds in fuzz/corpus-seed/<target>
# and keeps what it learns in fuzz/corpus/<target> (git-ignored), so later
# runs go deeper. Crashing inputs land in fuzz/artifacts/<target>/; minimise
# with `cargo fuzz tmin -s none <target> <file>` and add the result to
# fuzz/corpus-seed/<target>/ as crash-<what>.<ext> so `cargo test` replays it.
#
# Environment: FUZZ_RSS_MB (default 2048), FUZZ_TIMEOUT (per input, seconds,
# default 10), FUZZ_JOBS is not supported on purpose: one core at a time.
set -euo pipefail

secs="${1:-30}"
shift || true
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fuzz_dir="$here/../fuzz"
cd "$fuzz_dir"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz is not installed (cargo install cargo-fuzz --locked --version 0.13.1)" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz-smoke: building ${#targets[@]} targets"
for t in "${targets[@]}"; do
    if ! cargo fuzz build -s none "$t"; then
        echo "fuzz-smoke: FAILED to build $t" >&2
        exit 1
    fi
done

rss="${FUZZ_RSS_MB:-2048}"
timeout="${FUZZ_TIMEOUT:-10}"
failed=()
summary=()
logdir="$(mktemp -d)"
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    seeds="corpus-seed/$t"
    [ -d "$seeds" ] || seeds=""
    log="$logdir/$t.log"
    echo "fuzz-smoke: $t for ${secs}s"
    if cargo fuzz run -s none "$t" "corpus/$t" $seeds -- \
        -max_total_time="$secs" -rss_limit_mb="$rss" -timeout="$timeout" \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
        # The crash report is what the analyst needs; show its tail.
        tail -n 40 "$log" >&2
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)"
    summary+=("$(printf '%-15s %-6s runs=%-9s exec/s=%-7s cov=%s' "$t" "$status" "${runs:-?}" "${rate:-?}" "${cov:-?}")")
done

echo
echo "fuzz-smoke summary (${secs}s per target, $(nproc) cores, logs in $logdir)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
