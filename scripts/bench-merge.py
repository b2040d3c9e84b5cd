#!/usr/bin/env python3
"""`kitap merge` on a large sharded OUT: time and peak memory (BENCHMARKS.md, issue 15).

Converts one of the repository's sample books with kitap to get a real book record, then
writes the manifest parts of an N-shard run over B books of P pages each, made from that
record (ids book-000000..., each in the shard its SHA-256 gives, pages repeated to P), and
times `kitap merge` on them with /usr/bin/time -v. Nothing but the parts is written: merge
reads the parts and writes the manifest, it never opens the books' files.

    python3 scripts/bench-merge.py --kitap target/release/kitap --books 100000 --shards 10
    python3 scripts/bench-merge.py --books 10000 --pages 150

Python 3 standard library only.
"""

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = "kk-dala-kitaphanasy"


def shard_of(book_id, count):
    return int(hashlib.sha256(book_id.encode()).hexdigest()[:16], 16) % count


def real_record(kitap, tmp):
    """A manifest and its one book, converted by kitap from a repository sample."""
    scans = os.path.join(tmp, "scans")
    shutil.copytree(os.path.join(REPO, "sample-scans", SAMPLE), os.path.join(scans, SAMPLE))
    out = os.path.join(tmp, "sample-out")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    subprocess.run([kitap, "convert", scans, "-o", out, "--quiet"], check=True, env=env)
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    return manifest, manifest["books"][0]


def template(book, pages):
    """The book's JSON with its id as a placeholder, its pages (and their thumbnails and
    inputs) repeated to `pages`."""
    book = copy.deepcopy(book)
    old = book["pages"]
    thumbs = [f for f in book["files"] if f["media_type"] == "image/jpeg"]
    others = [f for f in book["files"] if f["media_type"] != "image/jpeg"]
    inputs = [i for i in book["inputs"] if not i["path"].endswith("book.toml")]
    toml = [i for i in book["inputs"] if i["path"].endswith("book.toml")]
    book["pages"], new_thumbs, new_inputs = [], [], []
    for n in range(pages):
        p = copy.deepcopy(old[n % len(old)])
        p["index"] = n + 1
        p["label"] = str(n + 1)
        p["source"] = re.sub(r"/\d{4}\.", "/%04d." % (n + 1), p["source"])
        if p.get("thumbnail"):
            p["thumbnail"] = re.sub(r"/\d{4}\.jpg$", "/%04d.jpg" % (n + 1), p["thumbnail"])
            t = copy.deepcopy(thumbs[n % len(thumbs)])
            t["path"] = p["thumbnail"]
            new_thumbs.append(t)
        i = copy.deepcopy(inputs[n % len(inputs)])
        i["path"] = p["source"]
        new_inputs.append(i)
        book["pages"].append(p)
    book["files"] = others + new_thumbs
    book["inputs"] = new_inputs + toml
    book["page_count"] = pages
    text = json.dumps(book, indent=2, ensure_ascii=False)
    # Indented as a book inside a manifest's books array.
    text = text.replace("\n", "\n    ")
    return text.replace(SAMPLE, "\x00ID\x00")


def write_parts(out, manifest, text, books, shards):
    ids = ["book-%06d" % n for n in range(books)]
    by_shard = [[] for _ in range(shards)]
    for i in ids:
        by_shard[shard_of(i, shards)].append(i)
    parts = os.path.join(out, ".kitap", "shards")
    os.makedirs(parts, exist_ok=True)
    total = 0
    for k, members in enumerate(by_shard):
        head = {key: manifest[key] for key in ("schema_version", "kitap_version", "pipeline")}
        head["started"] = "2026-12-01T00:00:00.000Z"
        head["finished"] = "2026-12-01T01:00:%02d.000Z" % (k % 60)
        pages = sum(1 for _ in members) * text.count('"index":')
        head["summary"] = dict(manifest["summary"], books=len(members), books_ok=len(members),
                               books_partial=0, books_failed=0, pages=pages, pages_failed=0)
        head["shard"] = {"index": k, "count": shards, "complete": True, "run": "bench"}
        head["books"] = []
        prefix = json.dumps(head, indent=2, ensure_ascii=False)
        cut = prefix.rindex("[]")
        path = os.path.join(parts, "%d-of-%d.json" % (k, shards))
        with open(path, "w", encoding="utf-8") as f:
            f.write(prefix[:cut] + "[")
            for n, book_id in enumerate(sorted(members)):
                f.write(",\n    " if n else "\n    ")
                f.write(text.replace("\x00ID\x00", book_id))
            f.write("\n  ]\n}\n" if members else "]\n}\n")
        total += os.path.getsize(path)
    return total


def timed(cmd):
    start = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", run.stderr))
    return run.returncode, wall, cpu, int(rss.group(1)) / 1024 if rss else float("nan"), run.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kitap", default=os.path.join(REPO, "target", "release", "kitap"))
    ap.add_argument("--books", type=int, default=100_000)
    ap.add_argument("--pages", type=int, default=3, help="pages a book (default 3, as the sample)")
    ap.add_argument("--shards", type=int, default=10)
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.kitap):
        sys.exit(f"{args.kitap}: no kitap binary (cargo build --release, or give --kitap)")
    tmp = tempfile.mkdtemp(prefix="kitap-bench-merge-", dir=args.tmpdir)
    try:
        manifest, book = real_record(args.kitap, tmp)
        text = template(book, args.pages)
        out = os.path.join(tmp, "out")
        start = time.monotonic()
        size = write_parts(out, manifest, text, args.books, args.shards)
        made = time.monotonic() - start
        mb = size / 1e6
        print(f"{args.books} books of {args.pages} pages in {args.shards} parts: "
              f"{mb:,.0f} MB of parts (made in {made:.0f} s), {size / args.books / args.pages:,.0f} "
              f"bytes a page")
        code, wall, cpu, rss, err = timed([args.kitap, "merge", "--no-review", out])
        if code != 0:
            sys.exit(f"kitap merge exited {code}:\n{err}")
        # Again, with the review page (the same parts: the newest is merged again).
        os.remove(os.path.join(out, "manifest.json"))
        rcode, rwall, _, rrss, rerr = timed([args.kitap, "merge", out])
        if rcode != 0:
            sys.exit(f"kitap merge exited {rcode}:\n{rerr}")
        merged = os.path.getsize(os.path.join(out, "manifest.json")) / 1e6
        with open(os.path.join(out, "manifest.json"), encoding="utf-8") as f:
            head = f.read(4096)
        books = int(re.search(r'"books": (\d+)', head).group(1))
        assert books == args.books, (books, args.books)
        review = os.path.exists(os.path.join(out, "review.html"))
        print("| figure | value |\n|---|---|")
        print(f"| books / pages | {args.books:,} / {args.books * args.pages:,} |")
        print(f"| parts, MB | {args.shards}, {mb:,.0f} |")
        print(f"| manifest.json written, MB | {merged:,.0f} |")
        print(f"| kitap merge --no-review wall s | {wall:.2f} |")
        print(f"| kitap merge CPU s | {cpu:.2f} |")
        print(f"| throughput MB/s (parts read) | {mb / wall:,.0f} |")
        print(f"| peak RSS MB | {rss:.0f} |")
        if review:
            print(f"| with review.html: wall s, peak RSS MB | {rwall:.2f}, {rrss:.0f} |")
        else:
            print("| with review.html | not written: manifest over 256 MiB |")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
