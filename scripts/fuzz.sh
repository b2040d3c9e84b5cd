#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 30), one after the other, and
# fails on the first crash, hang (an input over 10 s) or run over 2 GB of memory. Needs the
# nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without them it prints
# `SKIPPED: fuzzing (…)` and succeeds, so CI passes on machines that cannot fuzz.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]
#
# The corpora in fuzz/corpus/ (not versioned) are built from fuzz/seeds/ and the scan corpora by
# fuzz/make-corpus.py and grow with every run. A crash leaves its input in fuzz/artifacts/TARGET/:
# keep it as a regression test (tests/fuzz_regressions.rs) once fixed.
# Built without a sanitizer: the code under test is safe Rust; what is hunted is panics, overflow
# (debug assertions are on), hangs and memory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(load_image book_toml manifest hocr reading)

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "SKIPPED: fuzzing (no nightly toolchain)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "SKIPPED: fuzzing (no cargo-fuzz: cargo install cargo-fuzz)"
    exit 0
fi

python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" fuzz/make-corpus.py >/dev/null
(cd fuzz && cargo +nightly fuzz build --sanitizer none)

summary=()
for t in "${targets[@]}"; do
    log=$(mktemp)
    echo "fuzz: $t for ${seconds}s"
    status=0
    dict=()
    [ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="dicts/$t.dict")
    (cd fuzz && cargo +nightly fuzz run --sanitizer none "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        "${dict[@]}" >"$log" 2>&1) || status=$?
    stat() { grep -m1 "^stat::$1:" "$log" | awk '{print $2}'; }
    line="$t: $(stat number_of_executed_units) execs, $(stat average_exec_per_sec)/s, corpus $(find "fuzz/corpus/$t" -type f | wc -l) files, peak RSS $(stat peak_rss_mb) MB"
    summary+=("$line")
    if [ "$status" -ne 0 ]; then
        grep -E "panicked|ERROR|SUMMARY|Test unit written|==[0-9]+==" "$log" | head -20 >&2
        echo "fuzz: $t FAILED (exit $status); full log: $log" >&2
        printf '%s\n' "${summary[@]}"
        exit 1
    fi
    echo "$line"
    rm -f "$log"
done
echo "fuzz summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
