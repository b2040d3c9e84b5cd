#!/usr/bin/env bash
# Fingerprints of everything kitap writes for a fixed set of inputs, to prove that a change
# (a refactor) leaves the outputs byte-identical:
#
#   scripts/output-hashes.sh BIN > before.txt     # BIN: a kitap binary built from the old commit
#   scripts/output-hashes.sh BIN2 > after.txt
#   diff before.txt after.txt && echo identical
#
# Inputs: every book of the shared corpus (../shared/sample-scans, or $KITAP_SHARED/sample-scans)
# with a book.toml naming its languages, the broken files of sample-scans-bad as one book, and
# the repository's own sample-scans/. Each set is converted with every built-in pipeline, hOCR
# switched on, so every image encoding, preparation path and writer is exercised. Prints one
# line `sha256  pipeline/path` per PDF, EPUB, text and hOCR file, and one for the manifest with
# its run-dependent fields (times, dates, the temporary folder) removed. `--quick` runs only the default pipeline.
set -euo pipefail
bin=$(realpath "$1")
shift
pipelines=(default archive compact spreads)
if [ "${1:-}" = "--quick" ]; then pipelines=(default); fi
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${KITAP_SHARED:-$repo/../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_THREAD_LIMIT=1 SOURCE_DATE_EPOCH=1700000000

scans=$work/scans
mkdir -p "$scans"
for b in "$shared"/sample-scans/*/; do
  name=$(basename "$b")
  cp -r "$b" "$scans/$name"
  case $name in
    kpv-*) langs='["kpv"]' ;;
    rus-*) langs='["rus", "eng"]' ;;
    ukr-*) langs='["ukr", "eng"]' ;;
    tuk-*) langs='["tuk"]' ;;
    multi-latin-eurotext) langs='["eng", "deu", "fra", "ita", "spa", "por"]' ;;
    *) langs='["eng"]' ;;
  esac
  printf 'languages = %s\n' "$langs" > "$scans/$name/book.toml"
done
cp -r "$shared/sample-scans-bad" "$scans/bad-files"
cp -r "$repo"/sample-scans/* "$scans/"

for p in "${pipelines[@]}"; do
  {
    grep -v '^hocr' "$repo/pipelines/$p.toml"
    echo 'hocr = true'
  } > "$work/$p.toml"
  out=$work/out-$p
  "$bin" convert "$scans" -o "$out" --quiet --pipeline "$work/$p.toml" 2>/dev/null || true
  (cd "$out" && find . -type f \( -name '*.pdf' -o -name '*.epub' -o -name '*.txt' -o -name '*.hocr' \) \
    -print0 | sort -z | xargs -0 sha256sum | sed "s|  \./|  $p/|")
  python3 - "$out/manifest.json" "$p" "$work" <<'EOF'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
for k in ("started", "finished"):
    m.pop(k, None)
m["summary"].pop("stage_seconds", None)
m["pipeline"].pop("name", None)
for b in m["books"]:
    for k in ("converted_at",):
        b.pop(k, None)
text = json.dumps(m, sort_keys=True, ensure_ascii=False).replace(sys.argv[3], "WORK").encode()
print(f"{hashlib.sha256(text).hexdigest()}  {sys.argv[2]}/manifest.json (times removed)")
EOF
done
