#!/usr/bin/env python3
"""Which Tesseract models read a language best: kitap's CER on books with ground truth, once
per model set.

What it does
    Copies each BOOK folder (page images and book.toml; its gt/ holds one <page>.txt per page)
    into a temp folder once per model set, with `ocr_models` set in the copy's book.toml, runs
    `kitap convert` on each set, and prints the CER of every book and of all of them against
    gt/ (the bench's CER: NFC, whitespace runs to one space, Levenshtein / GT length; a set's
    CER = sum of distances / sum of GT lengths). The README's language table takes a model
    set other than the language's own only when it reads at least 0.5 points better.

How to run
    python3 scripts/compare-models.py --models kaz,kaz+rus,kaz+eng,Cyrillic,Cyrillic+eng \\
        sample-scans/kk-dala-kitaphanasy tests/data/languages/kk

    --kitap BIN (default target/release/kitap). A kitap run that does not exit 0 (a page that
    failed included) stops the comparison with its stderr. Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # no scripts/__pycache__ from borrowing bench.py
spec = importlib.util.spec_from_file_location("bench", HERE / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

def stage(book: Path, dest: Path, models: list[str]) -> None:
    """The book's files (kitap decides which are pages) with `ocr_models` in its book.toml."""
    dest.mkdir(parents=True)
    for f in sorted(book.iterdir()):
        if f.is_file() and f.name not in ("book.toml", "truth.json"):
            shutil.copy2(f, dest / f.name)
    toml = book / "book.toml"
    text = toml.read_text(encoding="utf-8") if toml.is_file() else ""
    if "ocr_models" in tomllib.loads(text):
        sys.exit(f"{toml} sets ocr_models itself: compare a copy without it")
    quoted = ", ".join(f'"{m}"' for m in models)
    # First, so that it is a key of the book and not of a [[chapters]] table.
    (dest / "book.toml").write_text(f"ocr_models = [{quoted}]\n{text}", encoding="utf-8")


def book_pairs(out: Path, book: Path) -> list[tuple[str, str]]:
    """(kitap's page text, the page's GT) for every page with a GT file (first frames only: a
    GT file is of a page file)."""
    recs = [r for r in bench.read_manifest(out)["books"] if bench.book_of(r) == book.name]
    if not recs:
        sys.exit(f"{book.name}: not in kitap's manifest")
    rec = recs[0]
    txt = bench.file_of(rec, "text/plain")
    if txt is None:
        sys.exit(f"{book.name}: kitap wrote no text ({rec.get('status')})")
    chunks = (out / txt).read_text(encoding="utf-8").split("\f")
    pages = sorted(rec["pages"], key=lambda p: p["index"])
    if len(chunks) != len(pages):
        sys.exit(f"{book.name}: {len(chunks)} pages of text for {len(pages)} pages")
    pairs = []
    for page, chunk in zip(pages, chunks):
        gt = book / "gt" / (Path(page["source"]).stem + ".txt")
        if page.get("frame", 0) == 0 and gt.is_file():
            pairs.append((chunk, gt.read_text(encoding="utf-8")))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("books", nargs="+", type=Path, help="book folders with gt/")
    ap.add_argument("--models", required=True,
                    help="comma-separated model sets, each joined with + (kaz,kaz+rus)")
    ap.add_argument("--kitap", default="target/release/kitap")
    ap.add_argument("--jobs", default="2")
    opts = ap.parse_args()
    sets = [s.split("+") for s in opts.models.split(",")]
    names = [b.resolve().name for b in opts.books]
    if len(set(names)) != len(names):
        sys.exit("two books with the same folder name")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kitap-models-") as tmp:
        for models in sets:
            label = "+".join(models)
            scans, out = Path(tmp) / label / "scans", Path(tmp) / label / "out"
            for book in opts.books:
                stage(book.resolve(), scans / book.resolve().name, models)
            run = subprocess.run([opts.kitap, "convert", str(scans), "-o", str(out),
                                  "--jobs", opts.jobs, "--quiet"], env=env,
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"kitap with {label} exited {run.returncode}:\n{run.stderr}")
            total = {"distance": 0, "gt_chars": 0}
            per_book = []
            for book in opts.books:
                c = bench.book_cer(book_pairs(out, book.resolve()))
                total["distance"] += c["distance"]
                total["gt_chars"] += c["gt_chars"]
                per_book.append("no GT" if c["cer"] is None else f"{100 * c['cer']:.2f} %")
            if not total["gt_chars"]:
                sys.exit("no page of these books has a gt/<page>.txt")
            rows.append((label, per_book, 100 * total["distance"] / total["gt_chars"],
                         total["gt_chars"]))
    print("| models | " + " | ".join(names) + " | all |")
    print("|---" * (len(names) + 2) + "|")
    for label, per_book, cer, chars in rows:
        print(f"| {label} | " + " | ".join(per_book) + f" | {cer:.2f} % |")
    print(f"\n{rows[0][3]} GT characters over {len(names)} book(s)")


if __name__ == "__main__":
    main()
