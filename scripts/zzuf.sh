#!/usr/bin/env bash
# Whole-binary mutation testing: RUNS (default 500) runs of the release `kitap convert`, each on
# a book of one real page whose bytes zzuf flipped (ratio 0.001–0.01, seed = run number). Every
# run must end with exit 0 or 1 — never 101 (a panic), a signal or a hang — with no "panicked"
# on stderr, and its manifest must account for every page: as many page records as the clean
# file gives (each `ok`, or `failed` with an error), or the book `failed` with an error.
#
#   scripts/zzuf.sh [RUNS]
#   KITAP_BIN=target/debug/kitap scripts/zzuf.sh 20    (another binary, e.g. the one tests built)
#
# Pages: small real scans of each format — PNG (1-bit), CMYK JPEG, LZW TIFF and a three-frame G4
# TIFF from the shared corpus ($KITAP_SHARED, else ../shared), and a JPEG and a 1-bit PNG page of
# the repository's sample-scans/. The pipeline changes from run to run (default, compact,
# archive, spreads, hocr). Failing runs are kept in target/zzuf/failures/RUN/ (input, stderr,
# manifest). Not run by CI: a run takes about a second (500 runs ≈ 10 minutes).
# Needs zzuf (Debian package `zzuf`, in scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
command -v zzuf >/dev/null || { echo "zzuf.sh: zzuf is not installed (apt-get install zzuf)" >&2; exit 2; }
shared=${KITAP_SHARED:-../shared}
export OMP_THREAD_LIMIT=1

kitap=${KITAP_BIN:-}
if [ -z "$kitap" ]; then
    cargo build --release --locked --quiet
    kitap=target/release/kitap
fi

pages=(sample-scans/tk-obadaky-kitaphana/0001.jpg sample-scans/tk-obadaky-kitaphana/0002.png)
for f in format-zoo/0004.png format-zoo/0001.jpg format-zoo/0005.tif format-zoo/0006.tif; do
    [ -f "$shared/sample-scans/$f" ] && pages+=("$shared/sample-scans/$f")
done
pipelines=(default compact archive spreads hocr)
ratios=(0.001 0.002 0.003 0.005 0.007 0.01)

work=target/zzuf
rm -rf "$work"
mkdir -p "$work/failures"

# Pages each clean file gives: a mutated copy must account for as many.
declare -A expected
for p in "${pages[@]}"; do
    rm -rf "$work/run" && mkdir -p "$work/run/scans/b"
    cp "$p" "$work/run/scans/b/0001.${p##*.}"
    "$kitap" convert "$work/run/scans" -o "$work/run/out" --jobs 1 --lang eng --quiet
    expected[$p]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["books"][0]["pages"]))' "$work/run/out/manifest.json")
done

# The manifest accounts for every page: prints a reason when it does not.
check_manifest() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
try:
    m = json.load(open(path))
except Exception as e:
    sys.exit(f"no readable manifest: {e}")
books = m.get("books", [])
if len(books) != 1:
    sys.exit(f"{len(books)} books in the manifest")
b = books[0]
pages = b.get("pages", [])
if b.get("page_count") != len(pages):
    sys.exit(f"page_count {b.get('page_count')} but {len(pages)} page records")
for p in pages:
    if p.get("status") != "ok" and not p.get("error"):
        sys.exit(f"page {p.get('index')} is {p.get('status')} without an error")
if len(pages) == want:
    sys.exit(0)
# Fewer pages than the clean file: fine only when the loss is named.
said = [w for w in b.get("warnings", []) if "frame" in w] + ([b["error"]] if b.get("error") else [])
if b.get("status") == "failed" and b.get("error") or said:
    sys.exit(0)
sys.exit(f"{len(pages)} page records for {want} pages, nothing said")
EOF
}

declare -A codes
failures=0
start=$SECONDS
for ((run = 1; run <= runs; run++)); do
    page=${pages[$(((run - 1) % ${#pages[@]}))]}
    ratio=${ratios[$(((run - 1) / ${#pages[@]} % ${#ratios[@]}))]}
    pipeline=${pipelines[$(((run - 1) / (${#pages[@]} * ${#ratios[@]}) % ${#pipelines[@]}))]}
    dir=$work/run
    rm -rf "$dir" && mkdir -p "$dir/scans/b"
    input=$dir/scans/b/0001.${page##*.}
    zzuf -r "$ratio" -s "$run" cat "$page" >"$input"
    rc=0
    timeout -s KILL 120 "$kitap" convert "$dir/scans" -o "$dir/out" --jobs 1 --lang eng \
        --pipeline "$pipeline" --quiet 2>"$dir/stderr" || rc=$?
    codes[$rc]=$((${codes[$rc]:-0} + 1))
    why=""
    case $rc in
        0 | 1) ;;
        137) why="killed after 120 s (hang)" ;;
        101) why="exit 101 (panic)" ;;
        *) why="exit $rc" ;;
    esac
    grep -q panicked "$dir/stderr" && why="${why:+$why; }panicked"
    if [ -z "$why" ] && ! reason=$(check_manifest "$dir/out/manifest.json" "${expected[$page]}" 2>&1); then
        why=$reason
    fi
    if [ -n "$why" ]; then
        failures=$((failures + 1))
        keep=$work/failures/$run
        mkdir -p "$keep"
        cp "$input" "$dir/stderr" "$keep/"
        [ -f "$dir/out/manifest.json" ] && cp "$dir/out/manifest.json" "$keep/"
        echo "run $run: $page, ratio $ratio, seed $run, $pipeline: $why (kept in $keep)" >&2
    fi
done
elapsed=$((SECONDS - start))

dist=$(for c in "${!codes[@]}"; do echo "exit $c: ${codes[$c]}"; done | sort | paste -sd, - | sed 's/,/, /g')
echo "zzuf: $runs runs in ${elapsed}s over ${#pages[@]} pages; $dist; $failures failing"
[ "$failures" -eq 0 ]
