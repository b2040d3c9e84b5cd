# Tasks for kitap. `just` is optional: every recipe is a plain shell line you can copy.

# Convert the project's own samples (sample-scans/) into out/.
run:
    cargo build --release
    OMP_THREAD_LIMIT=1 target/release/kitap convert sample-scans -o out

# The test suite.
test:
    cargo test

# What CI checks: formatting, lints as errors, tests.
ci:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo test

# Re-render sample-scans/ (Debian python3 with python3-pil and fonts-dejavu-core).
samples:
    /usr/bin/python3 scripts/render-samples.py

# kitap vs Tesseract alone vs OCRmyPDF on ../shared/sample-scans (see BENCHMARKS.md).
# Extra arguments go to the script, e.g. `just bench --repeat 3 --json bench.json`.
bench *ARGS:
    python3 scripts/bench.py {{ARGS}}

# Nightly reruns (unchanged, --verify-inputs, one page changed) against the first run.
bench-nightly *ARGS:
    python3 scripts/bench-nightly.py {{ARGS}}

# kitap validate on a 1,000-book OUT (cloned from one converted sample book) against
# sha256sum and openssl over the same bytes: MB/s and ratios (see BENCHMARKS.md).
bench-validate *ARGS:
    python3 scripts/bench-validate.py {{ARGS}}

# Every `kitap export` timed on a 1,000-book OUT (the one bench-validate makes)
bench-export *ARGS:
    python3 scripts/bench-validate.py --exports {{ARGS}}
