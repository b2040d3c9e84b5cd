#!/usr/bin/env python3
"""Nightly-run benchmark: what an unchanged rerun, a rerun with --verify-inputs, and a rerun
after one changed book cost against the first run over the same tree.

The tree: the repository's own sample books (sample-scans/), each copied COPIES times under
its own id (default 5 copies of 4 books: 20 books, 45 pages). Runs, all with
OMP_THREAD_LIMIT=1 and --jobs 2 into one OUT:

  1. first run (every book converted);
  2. unchanged rerun (every book skipped: size and modification time trusted);
  3. unchanged rerun with --verify-inputs (every input file hashed again): hashing MB/s;
  4. one page of one book replaced: that book alone rebuilt.

Prints wall seconds of each and their ratios to the first run.

Usage: python3 scripts/bench-nightly.py [--kitap target/release/kitap] [--copies 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(kitap: str, scans: Path, out: Path, *extra: str) -> tuple[float, list[dict]]:
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    t = time.monotonic()
    p = subprocess.run(
        [kitap, "convert", str(scans), "-o", str(out), "--jobs", "2", "--log-format", "json", *extra],
        env=env, capture_output=True, text=True,
    )
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"kitap exited {p.returncode}:\n{p.stderr}")
    return wall, [json.loads(l) for l in p.stderr.splitlines()]


def count(events: list[dict], name: str) -> int:
    return sum(1 for e in events if e["event"] == name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kitap", help="binary (default: cargo build --release, target/release/kitap)")
    ap.add_argument("--copies", type=int, default=5)
    opts = ap.parse_args()
    kitap = opts.kitap
    if not kitap:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
        kitap = str(REPO / "target/release/kitap")
    with tempfile.TemporaryDirectory(prefix="kitap-nightly-") as tmp:
        scans, out = Path(tmp) / "scans", Path(tmp) / "out"
        books = sorted(p for p in (REPO / "sample-scans").iterdir() if p.is_dir())
        for c in range(opts.copies):
            for b in books:
                shutil.copytree(b, scans / f"{b.name}-{c + 1:02}", ignore=shutil.ignore_patterns("gt"))
        n_books = len(books) * opts.copies
        input_bytes = sum(f.stat().st_size for f in scans.rglob("*") if f.is_file())
        first, ev1 = run(kitap, scans, out)
        pages = sum(e["pages"] for e in ev1 if e["event"] == "book_done")
        unchanged, ev2 = run(kitap, scans, out)
        verify, ev3 = run(kitap, scans, out, "--verify-inputs")
        victim = scans / f"{books[0].name}-01"
        page = sorted(victim.glob("0001.*"))[0]
        shutil.copy(sorted((scans / f"{books[1].name}-01").glob("0002.*"))[0], page)
        changed, ev4 = run(kitap, scans, out)
    print(f"tree: {n_books} books, {pages} pages, {input_bytes / 1e6:.1f} MB of inputs")
    print(f"first run:                     {first:7.2f} s  ({count(ev1, 'book_done')} built)")
    print(f"unchanged rerun:               {unchanged:7.2f} s  = {unchanged / first:.1%} of the first "
          f"({count(ev2, 'book_skipped')} skipped, {count(ev2, 'book_start')} started)")
    print(f"unchanged, --verify-inputs:    {verify:7.2f} s  = {verify / first:.1%} of the first "
          f"({count(ev3, 'book_skipped')} skipped; hashing {input_bytes / 1e6 / verify:.0f} MB/s including start-up)")
    print(f"one page replaced:             {changed:7.2f} s  = {changed / first:.1%} of the first "
          f"({count(ev4, 'book_done')} rebuilt, {count(ev4, 'book_skipped')} skipped)")
    if count(ev2, "book_start") or count(ev3, "book_start") or count(ev4, "book_done") != 1:
        sys.exit("unexpected: an unchanged book was rebuilt, or the changed one was not")


if __name__ == "__main__":
    main()
