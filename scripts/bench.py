#!/usr/bin/env python3
"""Benchmark kitap against Tesseract alone and against OCRmyPDF, on the same pages.

What it measures (see BENCHMARKS.md and the "What the outputs are checked against" section of
DESIGN.md), in one run, on copies of the chosen books of ../shared/sample-scans:

  1. kitap: `OMP_THREAD_LIMIT=1 kitap convert TMP -o OUT --jobs 2 --quiet` under
     `/usr/bin/time -v`: wall seconds, peak RSS, CPU seconds.
  2. Tesseract alone (the floor): `OMP_THREAD_LIMIT=1 tesseract PAGE - -l MODELS` on every page
     file, two single-threaded processes at a time, text output only; wall time of the whole set.
     MODELS are the models kitap used (the manifest's `ocr_models`, joined with '+').
  3. OCRmyPDF: the pages of each book packed into one PDF with img2pdf (not timed), then
     `ocrmypdf --deskew --rotate-pages --jobs 2 -l MODELS` (default output type, PDF/A) under
     `/usr/bin/time -v`; wall seconds summed over the books, peak RSS, output bytes.
  4. CER per book of kitap's .txt and of the CLI's text against gt/<page>.txt (NFC, whitespace
     runs collapsed to one space, trimmed; Levenshtein / GT length; a book's CER = sum of
     distances / sum of GT lengths). Pages without GT are skipped.

The shared books have no book.toml: each chosen book is copied (page images only) into a temp
folder and given a book.toml naming its languages (kpv-* kpv, rus-* rus+eng, ukr-* ukr+eng,
tuk-* tuk, multi-latin-eurotext eng+deu+fra+ita+spa+por, anything else eng).

All three get OMP_THREAD_LIMIT=1 (Tesseract's OpenMP threads would otherwise fight the
page-level parallelism).

Usage (from the repository root; Python 3 standard library only):

    python3 scripts/bench.py                       # cargo build --release, then the default books
    python3 scripts/bench.py --kitap target/release/kitap --books eng-clean,ukr-seed
    python3 scripts/bench.py --repeat 3 --json bench.json
    python3 scripts/bench.py --per-page            # also: each page alone, kitap vs CLI
    python3 scripts/bench.py --sizes --reocr --books eng-clean,eng-color-jpeg
    python3 scripts/bench.py --kitap target/release/kitap --books real-mix --no-ocrmypdf

`real-mix` is not a shared folder: the bench builds it from shared pages (text pages, pages
scanned far finer than OCR needs, generated blank versos, a photograph; see REAL_MIX_PAGES).
                          # PDF bytes/page archive, compact, OCRmyPDF; re-read CER (untimed)

Benchmark-only dependencies: `apt-get install -y time tesseract-ocr ocrmypdf img2pdf`. A missing
tool is reported and its figures are left out; the others are still measured.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import random
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BOOKS = ["eng-clean", "kpv-cyrl-vyl-tujod-1939-columns", "rus-seed-newsprint"]
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
TIME_BIN = "/usr/bin/time"
RATIO_TARGET = 1.15
# A timed run during which other processes used more than this share of the machine's CPU is
# "disturbed": reported, and left out of the median when undisturbed runs exist.
DISTURBED_SHARE = 0.1


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------


def say(msg: str = "") -> None:
    print(msg, flush=True)


def warn(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def languages_for(book: str) -> list[str]:
    if book.startswith("kpv-"):
        return ["kpv"]
    if book.startswith("rus-"):
        return ["rus", "eng"]
    if book.startswith("ukr-"):
        return ["ukr", "eng"]
    if book.startswith("tuk-"):
        return ["tuk"]
    if book == "multi-latin-eurotext":
        return ["eng", "deu", "fra", "ita", "spa", "por"]
    return ["eng"]


def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits: int = 2, unit: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, int):
        return f"{x:,}{unit}"
    return f"{x:.{digits}f}{unit}"


def rounded(x):
    return None if x is None else round(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def gnu_time_available() -> bool:
    if not os.access(TIME_BIN, os.X_OK):
        return False
    r = subprocess.run([TIME_BIN, "-v", "true"], capture_output=True, text=True)
    return r.returncode == 0 and "Maximum resident set size" in r.stderr


def busy_cpu_s() -> float | None:
    """CPU seconds all processes on the machine have used so far (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def other_cpu(before: float | None, own_cpu_s: float, wall_s: float) -> dict:
    """CPU the rest of the machine used during a timed run: a disturbed timing shows here."""
    after = busy_cpu_s()
    if before is None or after is None:
        return {}
    other = max(0.0, after - before - own_cpu_s)
    return {"other_cpu_s": round(other, 2),
            "other_cpu_share": round(other / (wall_s * (os.cpu_count() or 1)), 3)}


# ----------------------------------------------------------------------------------------------
# CER (DESIGN.md): NFC, whitespace runs -> one space, trimmed; Levenshtein / GT length
# ----------------------------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute: cost 1 each) in characters.

    Bit-parallel (Myers 1999, in Hyyrö's formulation for the global distance) with Python
    integers as bit vectors of len(a) bits: O(len(b)) big-integer operations, so a pair of
    6000-character pages takes milliseconds instead of the ~36M cells of the textbook DP.
    """
    if a == b:
        return 0
    if not a:
        return len(b)
    if not b:
        return len(a)
    m = len(a)
    peq: dict[str, int] = {}
    for i, ch in enumerate(a):
        peq[ch] = peq.get(ch, 0) | (1 << i)
    mask = (1 << m) - 1
    high = 1 << (m - 1)
    pv, mv, score = mask, 0, m
    for ch in b:
        eq = peq.get(ch, 0)
        xv = eq | mv
        xh = ((((eq & pv) + pv) & mask) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & high:
            score += 1
        elif mh & high:
            score -= 1
        ph = ((ph << 1) | 1) & mask  # row 0 of the global DP grows by 1 per column
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def levenshtein_dp(a: str, b: str) -> int:
    """The textbook two-row DP; used only by --self-test to check levenshtein()."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def self_test() -> None:
    import random

    rnd = random.Random(1)
    cases = [("", ""), ("", "abc"), ("abc", ""), ("kitten", "sitting"), ("flaw", "lawn"),
             ("Ӧӧ Іі", "Оо Ii"), ("a" * 70, "a" * 69 + "b")]
    for _ in range(400):
        alpha = rnd.choice(["ab", "abc ", "abcdefgh", "абвгд ӧі"])
        a = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 90)))
        b = "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 90)))
        cases.append((a, b))
    for a, b in cases:
        fast, slow = levenshtein(a, b), levenshtein_dp(a, b)
        assert fast == slow, (a, b, fast, slow)
    assert normalize(" a\f\n b\t\u00a0c ") == "a b c"
    assert normalize("е\u0308") == "ё"
    say(f"self-test ok ({len(cases)} Levenshtein cases)")


# ----------------------------------------------------------------------------------------------
# Running and measuring commands
# ----------------------------------------------------------------------------------------------


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of all descendants of a pid (every 50 ms).

    /usr/bin/time -v reports the peak RSS of the largest single process; OCRmyPDF runs several
    processes at once (Python workers, tesseract, ghostscript), so this sum is the fairer "how
    much memory does the whole job hold" figure. It counts shared pages once per process.
    """

    def __init__(self, root_pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root = root_pid
        self.interval = interval
        self.peak_kb = 0
        self._stop_evt = threading.Event()
        self.page_kb = os.sysconf("SC_PAGE_SIZE") // 1024

    def stop(self) -> None:
        self._stop_evt.set()
        self.join()

    def _sample(self) -> int:
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(name))
        total = 0
        stack = list(children.get(self.root, []))
        while stack:
            pid = stack.pop()
            stack.extend(children.get(pid, []))
            try:
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * self.page_kb
            except (OSError, IndexError, ValueError):
                pass
        return total

    def run(self) -> None:
        while not self._stop_evt.is_set():
            self.peak_kb = max(self.peak_kb, self._sample())
            self._stop_evt.wait(self.interval)


def parse_gnu_time(text: str) -> dict:
    out: dict = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            parts = [float(p) for p in line.rsplit(" ", 1)[1].split(":")]
            secs = 0.0
            for p in parts:
                secs = secs * 60 + p
            out["wall_s"] = secs
        elif line.startswith("Maximum resident set size (kbytes):"):
            out["max_rss_kb"] = int(line.rsplit(" ", 1)[1])
        elif line.startswith("User time (seconds):"):
            out["user_s"] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("System time (seconds):"):
            out["sys_s"] = float(line.rsplit(" ", 1)[1])
    return out


def timed_run(cmd: list[str], env: dict, log: Path, use_time: bool) -> dict:
    """Runs cmd under /usr/bin/time -v (when available) and returns wall/RSS/CPU figures."""
    time_out = log.with_suffix(".time")
    full = [TIME_BIN, "-v", "-o", str(time_out)] + cmd if use_time else cmd
    with open(log, "wb") as logf:
        busy0 = busy_cpu_s()
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=logf, stderr=subprocess.STDOUT, env=env)
        sampler = TreeRssSampler(p.pid)
        sampler.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        sampler.stop()
    p.returncode = os.waitstatus_to_exitcode(status)
    res = {
        "exit": p.returncode,
        "wall_s": wall,
        # Without GNU time: rusage of the direct child = the peak of the largest waited-for
        # process, the same thing /usr/bin/time -v reports.
        "max_rss_kb": ru.ru_maxrss,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "tree_rss_kb": sampler.peak_kb,
        "log": str(log),
    }
    if use_time:
        try:
            parsed = parse_gnu_time(time_out.read_text(errors="replace"))
            res.update(parsed)
            # GNU time's exit line says "Command exited with non-zero status N"; time itself
            # passes the status through.
        except OSError:
            pass
        # the tree sample included /usr/bin/time itself only as the root; nothing to subtract.
    res["wall_python_s"] = wall
    res.update(other_cpu(busy0, ru.ru_utime + ru.ru_stime, wall))
    return res


def run_one_cli(args: tuple[str, list[str], dict, Path]) -> dict:
    """One `tesseract FILE - -l MODELS`; stdout to a file; per-process rusage via wait4."""
    image, cmd, env, out_txt = args
    with open(out_txt, "wb") as so:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=so, stderr=subprocess.DEVNULL, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return {
        "image": image,
        "exit": p.returncode,
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "max_rss_kb": ru.ru_maxrss,
    }


# ----------------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------------


def git_revision() -> str | None:
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src",
                                "Cargo.toml", "Cargo.lock"], capture_output=True, text=True).stdout
    except OSError:
        return None
    return (rev + ("+uncommitted changes in src/Cargo" if dirty.strip() else "")) or None


def wait_for_quiet(max_wait_s: float) -> None:
    """Waits (up to max_wait_s) until the machine is idle for a 1 s sample: another job's
    build or test run on a shared machine would otherwise land in the timings."""
    if max_wait_s <= 0:
        return
    deadline = time.monotonic() + max_wait_s
    said = False
    while True:
        b0, t0 = busy_cpu_s(), time.monotonic()
        time.sleep(1.0)
        b1, t1 = busy_cpu_s(), time.monotonic()
        if b0 is None or b1 is None:
            return
        share = (b1 - b0) / ((t1 - t0) * (os.cpu_count() or 1))
        if share < 0.05:
            return
        if time.monotonic() > deadline:
            warn(f"the machine is still {100 * share:.0f} % busy after {max_wait_s:.0f} s: "
                 "running anyway")
            return
        if not said:
            say(f"   waiting for the machine to be idle ({100 * share:.0f} % busy)")
            said = True


def measure(opts, run) -> dict:
    """run() once, after waiting for an idle machine; again (up to --retries times) while
    other processes disturbed it. Returns the last attempt, with its attempt count."""
    for attempt in range(opts.retries + 1):
        wait_for_quiet(opts.wait_quiet)
        r = run()
        share = r.get("other_cpu_share") or 0
        if share <= DISTURBED_SHARE or attempt == opts.retries:
            r["attempts"] = attempt + 1
            return r
        say(f"   disturbed (other processes {100 * share:.0f} % CPU): once more")
    raise AssertionError("unreachable")


def busy_note(r: dict) -> str:
    share = r.get("other_cpu_share")
    return f"; other processes {100 * share:.0f} % CPU" if share and share > 0.02 else ""


def disturbed(runs: list[dict], what: str, notes: list[str]) -> None:
    worst = max((r.get("other_cpu_share") or 0 for r in runs), default=0)
    if worst > DISTURBED_SHARE:
        notes.append(f"{what}: other processes used up to {100 * worst:.0f} % of the machine's CPU "
                     "during a timed run: that timing is disturbed (re-run on a quiet machine)")


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass

    def version(cmd: list[str]) -> str | None:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        first = (r.stdout or r.stderr).strip().splitlines()
        return first[0] if first else None

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gib": round(mem_gib, 1) if mem_gib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "tesseract": version(["tesseract", "--version"]),
        "ocrmypdf": version(["ocrmypdf", "--version"]),
        "img2pdf": version(["img2pdf", "--version"]),
    }


# ---- the "real mix" book ----------------------------------------------------------------------
# A book as it comes from a digitisation line rather than a test corpus: ordinary text pages,
# pages scanned far finer than OCR needs (format-zoo's typewriter page tagged 2400 dpi, and the
# same scan as a PNG tagged 72 dpi: ~1000 dpi by text height, x-height ~55 px), blank versos
# (paper texture, specks and faded mirrored show-through, generated here with a fixed seed) and
# a photograph. Built into the bench's temp folder from shared pages; nothing is stored.
REAL_MIX = "real-mix"
REAL_MIX_PAGES = [  # (page file, shared source or "blank:<seed>", GT file or None)
    ("0001.png", "eng-seed/0001.png", "eng-seed/gt/0001.txt"),
    ("0002.png", "blank:1", None),
    ("0003.tif", "format-zoo/0009.tif", "real-mix/typewriter.gt.txt"),
    ("0004.png", "blank:2", None),
    ("0005.png", "format-zoo/0010.png", "real-mix/typewriter.gt.txt"),
    ("0006.png", "blank:3", None),
    ("0007.jpg", "format-zoo/0001.jpg", None),
    ("0008.png", "blank:4", None),
    ("0009.jpg", "eng-seed/0003.jpg", "eng-seed/gt/0003.txt"),
    ("0010.tif", "eng-clean/0003.tif", "eng-clean/gt/0003.txt"),
]
# GT of the real-mix pages by page file, filled when the book is built.
REAL_MIX_GT: dict[str, str] = {}


def write_grey_png(path: Path, w: int, h: int, rows: list[bytes], dpi: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + r for r in rows)
    ppm = round(dpi / 0.0254)
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
                     + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def blank_verso(path: Path, seed: int, w: int = 2480, h: int = 3508) -> None:
    """A blank verso at 300 dpi: paper grain (levels 222-243), a slight illumination gradient,
    show-through of a mirrored text block (word-like strokes 10-16 levels below the paper),
    and a few specks of one to three pixels."""
    rng = random.Random(seed)
    grain = bytes(222 + (b % 22) for b in rng.randbytes(w * 4))
    rows = []
    # Show-through: lines of "words" every 50 px in a text block, mirrored (ragged left edge).
    lines = {}
    for top in range(300, h - 300, 50):
        words, x = [], w - 250
        end = 250 + rng.randrange(0, 300)
        while x > end:
            n = rng.randrange(40, 220)
            words.append((max(end, x - n), x))
            x -= n + rng.randrange(18, 30)
        lines[top] = words
    darker = [bytes(max(0, v - d) for v in range(256)) for d in range(8)]
    for y in range(h):
        off = rng.randrange(0, 3 * w)
        row = bytearray(grain[off:off + w])
        shade = 6 * y // h  # a little darker towards the foot
        if shade:
            row = bytearray(row.translate(darker[shade]))
        top = y - y % 50 + 300 % 50
        if top in lines and 8 <= y - top <= 30:
            for x0, x1 in lines[top]:
                for x in range(x0, x1, 3):
                    row[x] = max(0, row[x] - 14)
                    row[x + 1] = max(0, row[x + 1] - 10)
        rows.append(row)
    for _ in range(12):
        x, y, r = rng.randrange(100, w - 100), rng.randrange(100, h - 100), rng.randrange(1, 3)
        for yy in range(y, y + r):
            for xx in range(x, x + r):
                rows[yy][xx] = rng.randrange(40, 120)
    write_grey_png(path, w, h, [bytes(r) for r in rows], 300)


def build_real_mix(scans: Path, dst: Path) -> None:
    for name, source, gt in REAL_MIX_PAGES:
        if source.startswith("blank:"):
            blank_verso(dst / name, int(source.split(":")[1]))
        else:
            shutil.copy2(scans / source, dst / name)
        if gt:
            gt_path = (REPO / "scripts" / gt) if gt.startswith("real-mix/") else scans / gt
            REAL_MIX_GT[name] = gt_path.read_text(encoding="utf-8")
    (dst / "book.toml").write_text('languages = ["eng"]\n')


def prepare_books(scans: Path, books: list[str], dest: Path) -> None:
    dest.mkdir(parents=True)
    for book in books:
        if book == REAL_MIX:
            (dest / book).mkdir()
            build_real_mix(scans, dest / book)
            continue
        src = scans / book
        if not src.is_dir():
            sys.exit(f"bench: no book folder {src}")
        dst = dest / book
        dst.mkdir()
        n = 0
        for f in sorted(src.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTS:
                shutil.copy2(f, dst / f.name)
                n += 1
        if n == 0:
            sys.exit(f"bench: {src} has no page images")
        langs = ", ".join(f'"{lang}"' for lang in languages_for(book))
        (dst / "book.toml").write_text(f"languages = [{langs}]\n")


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def book_of(rec: dict) -> str:
    return Path(rec["source"]).name or rec["id"]


def file_of(rec: dict, media: str) -> str | None:
    for f in rec.get("files", []):
        if f.get("media_type", "").split(";")[0].strip() == media or f["path"].endswith(
            {"application/pdf": ".pdf", "text/plain": ".txt"}.get(media, "\0")
        ):
            return f["path"]
    return None


def gt_text(scans: Path, book: str, source: str, frame: int) -> str | None:
    if frame != 0:
        return None
    if book == REAL_MIX:
        return REAL_MIX_GT.get(Path(source).name)
    gt = scans / book / "gt" / (Path(source).stem + ".txt")
    return gt.read_text(encoding="utf-8") if gt.is_file() else None


def book_cer(pairs: list[tuple[str, str]]) -> dict:
    dist = length = 0
    for hyp, gt in pairs:
        g = normalize(gt)
        dist += levenshtein(g, normalize(hyp))
        length += len(g)
    return {"pages": len(pairs), "distance": dist, "gt_chars": length,
            "cer": dist / length if length else None}


def run_bench(opts) -> dict:
    notes: list[str] = []
    use_time = gnu_time_available()
    if not use_time:
        notes.append(f"{TIME_BIN} -v not available (apt-get install -y time): wall time and "
                     "peak RSS measured from Python (os.wait4 rusage) instead")
        warn(notes[-1])
    have_tess = shutil.which("tesseract") is not None
    if not have_tess:
        notes.append("tesseract CLI not found (apt-get install -y tesseract-ocr): "
                     "no Tesseract-alone figures")
        warn(notes[-1])
    have_ocrmypdf = bool(shutil.which("ocrmypdf")) and bool(shutil.which("img2pdf"))
    if opts.no_ocrmypdf:
        have_ocrmypdf = False
        notes.append("OCRmyPDF skipped (--no-ocrmypdf)")
    elif not have_ocrmypdf:
        missing = [t for t in ("ocrmypdf", "img2pdf") if not shutil.which(t)]
        notes.append(f"{' and '.join(missing)} not installed: no OCRmyPDF figures. "
                     "Install the benchmark-only tools with: apt-get install -y ocrmypdf img2pdf")
        warn(notes[-1])

    kitap = opts.kitap
    revision = opts.label
    if kitap is None:
        say("== cargo build --release")
        r = subprocess.run(["cargo", "build", "--release"], cwd=REPO)
        if r.returncode != 0:
            sys.exit("bench: cargo build --release failed")
        kitap = REPO / "target" / "release" / "kitap"
        revision = revision or git_revision()
    kitap = Path(kitap).resolve()
    if not os.access(kitap, os.X_OK):
        sys.exit(f"bench: {kitap} is not an executable")

    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    jobs = opts.jobs
    scans = opts.scans.resolve()
    work = Path(tempfile.mkdtemp(prefix="kitap-bench-", dir=opts.tmpdir))
    tmp_scans = work / "scans"
    prepare_books(scans, opts.books, tmp_scans)
    logs = work / "logs"
    logs.mkdir()
    say(f"== work dir {work}")
    # Run a private copy: a `cargo build` elsewhere must not swap the binary between runs.
    binary = work / "kitap"
    shutil.copy2(kitap, binary)

    info = machine_info()
    result: dict = {"machine": info, "books": opts.books, "jobs": jobs, "repeat": opts.repeat,
                    "kitap_binary": str(kitap),
                    "kitap_revision": revision or "unknown (--kitap given; see --label)",
                    "notes": notes}
    load1 = os.getloadavg()[0]
    if load1 > 0.5:
        warn(f"load average {load1:.2f} before the start: something else is running, "
             "the timings may be disturbed")

    # ---- 1. kitap ------------------------------------------------------------------------
    # kitap and the Tesseract CLI take turns (kitap, CLI, kitap, CLI …), so a machine that
    # slows down or speeds up over the minutes of a bench weighs on both sides alike.
    kitap_runs = []
    out = work / "out-kitap"

    def kitap_once(i: int) -> None:
        say(f"== kitap run {i + 1}/{opts.repeat}")

        def run_kitap(i=i):
            shutil.rmtree(out, ignore_errors=True)
            r = timed_run([str(binary), "convert", str(tmp_scans), "-o", str(out), "--jobs",
                           str(jobs), "--quiet"], env, logs / f"kitap-{i}.log", use_time)
            say(f"   wall {r['wall_s']:.2f} s, peak RSS {r['max_rss_kb'] / 1024:.0f} MB, "
                f"exit {r['exit']}{busy_note(r)}")
            return r

        r = measure(opts, run_kitap)
        if r["exit"] not in (0, 1):
            sys.exit(f"bench: kitap failed (exit {r['exit']}), see {r['log']}")
        if r["exit"] == 1 and not any("kitap exit 1" in n for n in notes):
            notes.append("kitap exit 1: some page or book failed (see the manifest)")
        kitap_runs.append(r)

    kitap_once(0)
    manifest = read_manifest(out)

    # Pages in kitap's order, with the models kitap used.
    pages = []  # dicts: book, index, source, frame, status, image (path in tmp_scans), models
    book_recs = {}
    for rec in manifest["books"]:
        book = book_of(rec)
        book_recs[book] = rec
        for pg in rec["pages"]:
            pages.append({"book": book, "index": pg["index"], "source": pg["source"],
                          "frame": pg.get("frame", 0), "status": pg["status"],
                          "dpi_source": pg.get("dpi_source"), "models": rec["ocr_models"]})
    page_count = len(pages)
    kitap_text: dict[tuple[str, int], str] = {}
    kitap_pdf_bytes: dict[str, int] = {}
    for book, rec in book_recs.items():
        txt = file_of(rec, "text/plain")
        pdf = file_of(rec, "application/pdf")
        if pdf:
            kitap_pdf_bytes[book] = (out / pdf).stat().st_size
        if txt:
            chunks = (out / txt).read_text(encoding="utf-8").split("\f")
            if len(chunks) != len(rec["pages"]):
                notes.append(f"{book}: kitap .txt has {len(chunks)} form-feed-separated pages, "
                             f"the manifest {len(rec['pages'])}: CER of this book is unreliable")
            for pg, chunk in zip(sorted(rec["pages"], key=lambda p: p["index"]), chunks):
                kitap_text[(book, pg["index"])] = chunk

    # ---- 2. Tesseract CLI ---------------------------------------------------------------
    # One process per image file. For a multi-page TIFF the CLI reads every frame of the file
    # in that one process and separates the pages with form feeds, so the same pages are timed.
    cli_runs = []
    cli_text: dict[tuple[str, int], str] = {}
    cli_page_times: list[dict] = []
    if have_tess:
        files: dict[str, dict] = {}
        for pg in pages:
            f = files.setdefault(pg["source"], {"book": pg["book"], "models": pg["models"],
                                                "frames": []})
            f["frames"].append(pg)
        multi = [s for s, f in files.items() if len(f["frames"]) > 1]
        if multi:
            notes.append("multi-frame TIFF(s) " + ", ".join(multi) + ": the CLI ran once per "
                         "file (it OCRs every frame), its output split on form feeds")
        cli_dir = work / "out-cli"
        cli_dir.mkdir()
        tasks = []
        for n, (source, f) in enumerate(files.items()):
            cmd = ["tesseract", str(tmp_scans / source), "-", "-l", "+".join(f["models"])]
            tasks.append((source, cmd, env, cli_dir / f"{n:04d}.txt"))
        for i in range(opts.repeat):
            say(f"== tesseract CLI run {i + 1}/{opts.repeat} ({len(tasks)} files, {jobs} at a time)")

            def run_cli():
                busy0 = busy_cpu_s()
                t0 = time.monotonic()
                with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
                    per = list(pool.map(run_one_cli, tasks))
                wall = time.monotonic() - t0
                cpu = sum(p["cpu_s"] for p in per)
                rss = max(p["max_rss_kb"] for p in per)
                r = {"wall_s": wall, "cpu_s": cpu, "max_rss_kb": rss, "pages": per,
                     **other_cpu(busy0, cpu, wall)}
                say(f"   wall {wall:.2f} s, CPU {cpu:.1f} s, largest process RSS "
                    f"{rss / 1024:.0f} MB{busy_note(r)}")
                return r

            r = measure(opts, run_cli)
            cli_runs.append(r)
            if i + 1 < opts.repeat:
                kitap_once(i + 1)
            per = r["pages"]
            for p in per:
                p["book"] = files[p["image"]]["book"]
            bad = [p["image"] for p in per if p["exit"] != 0]
            if bad:
                notes.append(f"tesseract CLI failed on {', '.join(bad)}")

        cli_page_times = cli_runs[-1]["pages"]
        for (source, _cmd, _env, txt), _ in zip(tasks, cli_page_times):
            f = files[source]
            chunks = txt.read_text(encoding="utf-8", errors="replace").split("\f")
            frames = sorted(f["frames"], key=lambda p: p["frame"])
            if len(frames) > 1 and len(chunks) < len(frames):
                notes.append(f"{source}: CLI gave {len(chunks)} page(s) for {len(frames)} frames")
            if len(frames) == 1:
                chunks = ["\f".join(chunks)]
            for pg, chunk in zip(frames, chunks):
                cli_text[(pg["book"], pg["index"])] = chunk

    # Without the CLI to take turns with, kitap's remaining runs follow one another.
    while len(kitap_runs) < opts.repeat:
        kitap_once(len(kitap_runs))

    # ---- 3. OCRmyPDF -----------------------------------------------------------------------
    ocrmypdf_books: dict[str, dict] = {}
    if have_ocrmypdf:
        odir = work / "ocrmypdf"
        odir.mkdir()
        no_dpi = [p["source"] for p in pages if p["dpi_source"] not in (None, "file")]
        if no_dpi:
            notes.append("kitap found no usable dpi in " + ", ".join(no_dpi) + " (it estimated "
                         "or assumed one); img2pdf takes the file's tag as it is, or 96 dpi "
                         "when there is none, so OCRmyPDF may see other page sizes there")
        for book in opts.books:
            bp = [p for p in pages if p["book"] == book and p["frame"] == 0]
            if not bp:
                continue
            imgs = [str(tmp_scans / p["source"]) for p in sorted(bp, key=lambda p: p["index"])]
            packed = odir / f"{book}.in.pdf"
            r = subprocess.run(["img2pdf", *imgs, "-o", str(packed)], capture_output=True, text=True)
            if r.returncode != 0:
                r = subprocess.run(["img2pdf", "--imgsize", "300dpi", *imgs, "-o", str(packed)],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    err = (r.stderr.strip().splitlines() or ["?"])[-1]
                    notes.append(f"{book}: img2pdf failed ({err}): no OCRmyPDF figure for it")
                    continue
                notes.append(f"{book}: img2pdf needed --imgsize 300dpi (all pages set to 300 dpi)")
            models = "+".join(book_recs[book]["ocr_models"])
            ocrmypdf_books[book] = {"packed_bytes": packed.stat().st_size, "models": models,
                                    "pages": sum(1 for p in pages if p["book"] == book), "runs": []}
        for i in range(opts.repeat):
            say(f"== ocrmypdf run {i + 1}/{opts.repeat}")
            for book, ob in ocrmypdf_books.items():
                packed = odir / f"{book}.in.pdf"
                outpdf = odir / f"{book}.pdf"

                def run_ocrmypdf(book=book, ob=ob, packed=packed, outpdf=outpdf, i=i):
                    outpdf.unlink(missing_ok=True)
                    r = timed_run(["ocrmypdf", "--deskew", "--rotate-pages", "--jobs", str(jobs),
                                   "-l", ob["models"], str(packed), str(outpdf)],
                                  env, logs / f"ocrmypdf-{book}-{i}.log", use_time)
                    r["out_bytes"] = outpdf.stat().st_size if outpdf.exists() else None
                    say(f"   {book}: wall {r['wall_s']:.2f} s, peak RSS "
                        f"{r['max_rss_kb'] / 1024:.0f} MB (process tree "
                        f"{r['tree_rss_kb'] / 1024:.0f} MB), exit {r['exit']}{busy_note(r)}")
                    return r

                r = measure(opts, run_ocrmypdf)
                if r["exit"] != 0:
                    notes.append(f"{book}: ocrmypdf exit {r['exit']} (see {r['log']})")
                ob["runs"].append(r)

    # ---- 4. Per page, each alone (optional) --------------------------------------------------
    per_page = []
    if opts.per_page and have_tess:
        say("== per page, one at a time: kitap --jobs 1 on a one-page book vs the CLI")
        pp = work / "per-page"
        for n, pg in enumerate(p for p in pages if p["frame"] == 0):
            one = pp / f"{n:04d}" / "scans" / pg["book"]
            one.mkdir(parents=True)
            shutil.copy2(tmp_scans / pg["source"], one / Path(pg["source"]).name)
            shutil.copy2(tmp_scans / pg["book"] / "book.toml", one / "book.toml")
            wait_for_quiet(opts.wait_quiet)
            busy0 = busy_cpu_s()
            kr = timed_run([str(binary), "convert", str(one.parent), "-o", str(pp / f"{n:04d}" / "out"),
                            "--jobs", "1", "--quiet"], env, logs / f"pp-kitap-{n}.log", use_time)
            cr = run_one_cli((pg["source"], ["tesseract", str(tmp_scans / pg["source"]), "-", "-l",
                                             "+".join(pg["models"])], env, pp / f"{n:04d}" / "cli.txt"))
            row = {"source": pg["source"], "kitap_s": kr["wall_s"],
                   "kitap_cpu_s": kr.get("user_s", 0) + kr.get("sys_s", 0),
                   "cli_s": cr["wall_s"], "cli_cpu_s": cr["cpu_s"]}
            row.update(other_cpu(busy0, row["kitap_cpu_s"] + row["cli_cpu_s"],
                                 row["kitap_s"] + row["cli_s"]))
            per_page.append(row)
            say(f"   {pg['source']}: kitap {row['kitap_s']:.2f} s, CLI {row['cli_s']:.2f} s, "
                f"ratio {row['kitap_s'] / row['cli_s']:.2f}{busy_note(row)}")

    # ---- 5. CER ------------------------------------------------------------------------------
    cer = {}
    for book in opts.books:
        kp, cp = [], []
        for pg in (p for p in pages if p["book"] == book):
            gt = gt_text(scans, book, pg["source"], pg["frame"])
            if gt is None:
                continue
            key = (book, pg["index"])
            kp.append((kitap_text.get(key, ""), gt))
            if have_tess:
                cp.append((cli_text.get(key, ""), gt))
        cer[book] = {"kitap": book_cer(kp), "cli": book_cer(cp) if have_tess else None}

    disturbed(kitap_runs, "kitap", notes)
    disturbed(cli_runs, "tesseract CLI", notes)
    for book, ob in ocrmypdf_books.items():
        disturbed(ob["runs"], f"ocrmypdf {book}", notes)

    # ---- Figures -------------------------------------------------------------------------------
    def quiet(runs):
        """The runs no other process disturbed (all of them if every run was disturbed)."""
        ok = [r for r in runs if (r.get("other_cpu_share") or 0) <= DISTURBED_SHARE]
        return ok or runs

    def pick(runs, key):
        return median([r.get(key) for r in quiet(runs)]) if runs else None

    for what, runs in [("kitap", kitap_runs), ("tesseract CLI", cli_runs)] + [
            (f"ocrmypdf {b}", ob["runs"]) for b, ob in ocrmypdf_books.items()]:
        if runs and len(quiet(runs)) < len(runs):
            notes.append(f"{what}: median of the {len(quiet(runs))} undisturbed of {len(runs)} runs")

    for r in kitap_runs:
        r["cpu_s"] = r.get("user_s", 0) + r.get("sys_s", 0)
    k_wall = pick(kitap_runs, "wall_s")
    k_cpu = pick(kitap_runs, "cpu_s")
    c_wall = pick(cli_runs, "wall_s")
    c_cpu = pick(cli_runs, "cpu_s")
    o_wall = o_rss = o_tree = o_bytes = o_cpu = None
    o_pages = 0
    if ocrmypdf_books:
        # Per book: median of its (undisturbed) runs; then summed (time) or the largest (memory).
        for ob in ocrmypdf_books.values():
            for r in ob["runs"]:
                r["cpu_s"] = r.get("user_s", 0) + r.get("sys_s", 0)
        obs = list(ocrmypdf_books.values())
        o_wall = sum(pick(ob["runs"], "wall_s") for ob in obs)
        o_cpu = sum(pick(ob["runs"], "cpu_s") for ob in obs)
        o_rss = max(pick(ob["runs"], "max_rss_kb") for ob in obs)
        o_tree = max(pick(ob["runs"], "tree_rss_kb") for ob in obs)
        last = [ob["runs"][-1].get("out_bytes") for ob in ocrmypdf_books.values()]
        o_bytes = sum(b for b in last if b) if all(last) else None
        o_pages = sum(ob["pages"] for ob in ocrmypdf_books.values())
    def all_disturbed(runs):
        return bool(runs) and all((r.get("other_cpu_share") or 0) > DISTURBED_SHARE for r in runs)

    disturbed_figures = {
        "kitap": all_disturbed(kitap_runs),
        "cli": all_disturbed(cli_runs),
        "ocrmypdf": any(all_disturbed(ob["runs"]) for ob in ocrmypdf_books.values()),
    }
    k_pdf_total = sum(kitap_pdf_bytes.values()) if kitap_pdf_bytes else None
    k_pages_with_pdf = sum(1 for p in pages if p["book"] in kitap_pdf_bytes)

    figures = {
        "pages": page_count,
        "kitap_wall_s": k_wall,
        "kitap_cpu_s": k_cpu,
        "kitap_peak_rss_mb": pick(kitap_runs, "max_rss_kb") / 1024,
        "cli_wall_s": c_wall,
        "cli_cpu_s": c_cpu,
        "cli_largest_process_rss_mb": pick(cli_runs, "max_rss_kb") / 1024 if cli_runs else None,
        "ratio_kitap_cli": ratio(k_wall, c_wall),
        "ratio_target": RATIO_TARGET,
        "ocrmypdf_wall_s": o_wall,
        "ocrmypdf_cpu_s": o_cpu,
        "ratio_kitap_ocrmypdf": ratio(k_wall, o_wall),
        "ocrmypdf_peak_rss_mb": o_rss / 1024 if o_rss else None,
        "ocrmypdf_tree_rss_mb": o_tree / 1024 if o_tree else None,
        "kitap_tree_rss_mb": pick(kitap_runs, "tree_rss_kb") / 1024,
        "kitap_pdf_bytes_per_page": k_pdf_total / k_pages_with_pdf if k_pdf_total else None,
        # Issue 3's budget: preparation (orientation trials included) against OCR, worker time
        # summed over pages, from kitap's own manifest (last run).
        "kitap_stage_seconds": manifest["summary"].get("stage_seconds"),
        "prepare_share_of_ocr": (
            manifest["summary"]["stage_seconds"]["prepare"] / manifest["summary"]["stage_seconds"]["ocr"]
            if manifest["summary"].get("stage_seconds", {}).get("ocr") else None),
        "ocrmypdf_pdf_bytes_per_page": o_bytes / o_pages if o_bytes and o_pages else None,
        "disturbed": disturbed_figures,
        "kitap_pdf_bytes": k_pdf_total,
        "ocrmypdf_pdf_bytes": o_bytes,
    }
    per_book = {}
    for book in opts.books:
        n = sum(1 for p in pages if p["book"] == book)
        ob = ocrmypdf_books.get(book)
        per_book[book] = {
            "pages": n,
            "models": book_recs.get(book, {}).get("ocr_models"),
            "rendered": "-seed" in book,
            "cer_kitap": cer[book]["kitap"],
            "cer_cli": cer[book]["cli"],
            "kitap_pdf_bytes": kitap_pdf_bytes.get(book),
            "ocrmypdf_pdf_bytes": ob["runs"][-1].get("out_bytes") if ob else None,
            "ocrmypdf_wall_s": pick(ob["runs"], "wall_s") if ob else None,
            "cli_sum_page_s": sum(p["wall_s"] for p in cli_page_times if p["book"] == book)
            if cli_page_times else None,
        }
    result.update({"figures": figures, "per_book": per_book, "kitap_runs": kitap_runs,
                   "cli_runs": [{k: v for k, v in r.items() if k != "pages"} for r in cli_runs],
                   "cli_pages": cli_page_times, "ocrmypdf": ocrmypdf_books, "per_page": per_page,
                   "work_dir": str(work)})
    if not opts.keep:
        shutil.rmtree(work, ignore_errors=True)
        result["work_dir"] = None
    return result


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def report(res: dict) -> str:
    f = res["figures"]
    m = res["machine"]
    lines = []
    lines.append(f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM; {m['date']}")
    lines.append(f"Tools: {m['tesseract']}; ocrmypdf {m['ocrmypdf']}; {m['img2pdf']}")
    lines.append(f"kitap: {res['kitap_binary']} (revision {res['kitap_revision']})")
    lines.append(f"Books: {', '.join(res['books'])}; --jobs {res['jobs']}; "
                 f"median of {res['repeat']} run(s)")
    lines.append("")
    r_cli = f["ratio_kitap_cli"]
    verdict = ""
    if r_cli is not None:
        verdict = " (within target)" if r_cli <= RATIO_TARGET else " (OVER target)"
    dist = f.get("disturbed", {})

    def d(key):
        return " (disturbed)" if dist.get(key) else ""

    rows = [
        ("pages", fmt(f["pages"])),
        ("kitap wall s", fmt(f["kitap_wall_s"]) + d("kitap")),
        ("tesseract CLI wall s (2 processes)", fmt(f["cli_wall_s"]) + d("cli")),
        (f"ratio kitap / CLI (target <= {RATIO_TARGET})", fmt(f["ratio_kitap_cli"]) + verdict),
        ("OCRmyPDF wall s (sum over books)", fmt(f["ocrmypdf_wall_s"]) + d("ocrmypdf")),
        ("ratio kitap / OCRmyPDF", fmt(f["ratio_kitap_ocrmypdf"])),
        ("CPU s (user+sys): kitap / CLI / OCRmyPDF",
         f"{fmt(f['kitap_cpu_s'], 1)} / {fmt(f['cli_cpu_s'], 1)} / {fmt(f['ocrmypdf_cpu_s'], 1)}"),
        ("peak RSS MB kitap (time -v)", fmt(f["kitap_peak_rss_mb"], 0)),
        ("peak RSS MB OCRmyPDF (time -v: largest process)", fmt(f["ocrmypdf_peak_rss_mb"], 0)),
        ("peak RSS MB, whole process tree: kitap / OCRmyPDF",
         f"{fmt(f['kitap_tree_rss_mb'], 0)} / {fmt(f['ocrmypdf_tree_rss_mb'], 0)}"),
        ("largest tesseract CLI process RSS MB", fmt(f["cli_largest_process_rss_mb"], 0)),
        ("kitap preparation time / OCR time (target <= 0.10)", fmt(f.get("prepare_share_of_ocr"))),
        ("kitap worker s per stage: load / prepare / encode / OCR",
         " / ".join(fmt((f.get("kitap_stage_seconds") or {}).get(k), 2) for k in ("load", "prepare", "encode", "ocr"))),
        ("PDF bytes per page kitap", fmt(rounded(f["kitap_pdf_bytes_per_page"]))),
        ("PDF bytes per page OCRmyPDF (PDF/A)", fmt(rounded(f["ocrmypdf_pdf_bytes_per_page"]))),
    ]
    w = max(len(a) for a, _ in rows)
    lines.append(f"| {'figure'.ljust(w)} | value |")
    lines.append(f"|{'-' * (w + 2)}|-------|")
    for a, b in rows:
        lines.append(f"| {a.ljust(w)} | {b} |")
    lines.append("")
    lines.append("| book | pages | models | GT pages | CER kitap | CER CLI | PDF B/page kitap | "
                 "PDF B/page OCRmyPDF | OCRmyPDF s |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for book, b in res["per_book"].items():
        ck, cc = b["cer_kitap"], b["cer_cli"]
        n = b["pages"] or 1

        def pct(c):
            return "n/a" if not c or c["cer"] is None else f"{100 * c['cer']:.2f} %"

        name = book + (" (rendered)" if b["rendered"] else "")
        kb = fmt(round(b["kitap_pdf_bytes"] / n)) if b["kitap_pdf_bytes"] else "n/a"
        ob = fmt(round(b["ocrmypdf_pdf_bytes"] / n)) if b["ocrmypdf_pdf_bytes"] else "n/a"
        lines.append(f"| {name} | {b['pages']} | {'+'.join(b['models'] or [])} | {ck['pages']} | "
                     f"{pct(ck)} | {pct(cc)} | {kb} | {ob} | {fmt(b['ocrmypdf_wall_s'])} |")
    if res["per_page"]:
        lines.append("")
        lines.append("Each page alone (kitap --jobs 1 on a one-page book vs one CLI process; "
                     "both load the models each time):")
        lines.append("| page | kitap s | CLI s | ratio | kitap CPU s | CLI CPU s |")
        lines.append("|---|---|---|---|---|---|")
        for p in res["per_page"]:
            mark = " (disturbed)" if (p.get("other_cpu_share") or 0) > DISTURBED_SHARE else ""
            lines.append(f"| {p['source']}{mark} | {p['kitap_s']:.2f} | {p['cli_s']:.2f} | "
                         f"{p['kitap_s'] / p['cli_s']:.2f} | {p['kitap_cpu_s']:.2f} | {p['cli_cpu_s']:.2f} |")
    if res["cli_pages"]:
        lines.append("")
        lines.append("Tesseract CLI seconds per file (2 in parallel): " + ", ".join(
            f"{p['image']} {p['wall_s']:.1f}"
            for p in res["cli_pages"]))
    if res["notes"]:
        lines.append("")
        lines.append("Notes:")
        for n in dict.fromkeys(res["notes"]):
            lines.append(f"- {n}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# --sizes: PDF bytes per page (archive, compact, OCRmyPDF) and re-read CER archive vs compact
# ----------------------------------------------------------------------------------------------


def reread(pdf: Path, page: int, models: str, dest: Path, env: dict) -> str:
    """The page rendered at 300 dpi (`pdftoppm -r 300 -gray`) and read by the tesseract CLI."""
    prefix = dest / f"{pdf.parent.parent.name}-{pdf.stem}-{page:04d}"
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(prefix)], check=True)
    r = subprocess.run(["tesseract", f"{prefix}.png", "-", "-l", models], capture_output=True,
                       text=True, env=env)
    Path(f"{prefix}.png").unlink()
    return r.stdout


def run_sizes(opts) -> str:
    kitap = opts.kitap or REPO / "target" / "release" / "kitap"
    if not os.access(kitap, os.X_OK):
        sys.exit(f"bench: {kitap} is not an executable (cargo build, then --kitap PATH)")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    work = Path(tempfile.mkdtemp(prefix="kitap-sizes-", dir=opts.tmpdir))
    scans = work / "scans"
    prepare_books(opts.scans, opts.books, scans)
    rows, cer_rows, notes = [], [], []
    outs = {}
    for pipeline in ("archive", "compact"):
        out = work / pipeline
        say(f"== kitap --pipeline {pipeline}")
        r = subprocess.run([str(kitap), "convert", str(scans), "-o", str(out), "--jobs",
                            str(opts.jobs), "--quiet", "--pipeline", pipeline], env=env)
        if r.returncode != 0:
            notes.append(f"kitap --pipeline {pipeline} exited {r.returncode}")
        outs[pipeline] = {b["id"]: b for b in read_manifest(out)["books"]}
    for book in opts.books:
        row = {"book": book}
        for pipeline in ("archive", "compact"):
            rec = outs[pipeline][book]
            pdf = work / pipeline / file_of(rec, "application/pdf")
            n = len(rec["pages"])
            row[pipeline] = pdf.stat().st_size / n
            row[pipeline + "_enc"] = sorted({p["image_encoding"] for p in rec["pages"]})
            row[pipeline + "_pdf"] = pdf
            row["pages"] = n
            check = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
            if check.returncode != 0:
                notes.append(f"{book} {pipeline}: qpdf --check failed")
        row["ocrmypdf"] = None
        if not opts.no_ocrmypdf:
            # One entry per file: img2pdf packs every frame of a multi-page TIFF itself.
            imgs = list(dict.fromkeys(str(scans / p["source"])
                                      for p in outs["archive"][book]["pages"]))
            packed, outpdf = work / f"{book}.in.pdf", work / f"{book}.ocrmypdf.pdf"
            models = "+".join(outs["archive"][book]["ocr_models"])
            say(f"== img2pdf + ocrmypdf --deskew --rotate-pages --jobs {opts.jobs} -l {models}: {book}")
            subprocess.run(["img2pdf", *imgs, "-o", str(packed)], check=True)
            r = subprocess.run(["ocrmypdf", "--deskew", "--rotate-pages", "--jobs", str(opts.jobs),
                                "-l", models, str(packed), str(outpdf)], env=env,
                               capture_output=True, text=True)
            if r.returncode == 0:
                row["ocrmypdf"] = outpdf.stat().st_size / row["pages"]
            else:
                notes.append(f"{book}: ocrmypdf exited {r.returncode}")
        rows.append(row)
        if opts.reocr:
            rec = outs["archive"][book]
            models = "+".join(rec["ocr_models"])
            jobs = []
            for pg in rec["pages"]:
                gt = gt_text(opts.scans, book, pg["source"], pg["frame"])
                if gt is not None:
                    for pipeline in ("archive", "compact"):
                        jobs.append((pipeline, pg["index"], gt))
            say(f"== re-read {len(jobs)} rendered pages of {book}")
            with concurrent.futures.ThreadPoolExecutor(opts.jobs) as ex:
                texts = list(ex.map(lambda j: reread(row[j[0] + "_pdf"], j[1], models, work, env),
                                    jobs))
            cer = {}
            for pipeline in ("archive", "compact"):
                cer[pipeline] = book_cer([(t, j[2]) for t, j in zip(texts, jobs)
                                          if j[0] == pipeline])
            cer_rows.append((book, cer))
    lines = ["| book | pages | archive | compact | OCRmyPDF | compact / OCRmyPDF | "
             "compact encodings |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio_s = fmt(ratio(r["compact"], r["ocrmypdf"]))
        lines.append(f"| {r['book']} | {r['pages']} | {round(r['archive']):,} | "
                     f"{round(r['compact']):,} | {fmt(rounded(r['ocrmypdf']))} | {ratio_s} | "
                     f"{', '.join(r['compact_enc'])} |")
    lines.append("")
    lines.append("PDF bytes per page. Archive encodings: " + "; ".join(
        f"{r['book']}: {', '.join(r['archive_enc'])}" for r in rows))
    if cer_rows:
        lines += ["", "| book | pages with GT | re-read CER archive | re-read CER compact | "
                  "difference (points) |", "|---|---:|---:|---:|---:|"]
        for book, c in cer_rows:
            a, k = c["archive"]["cer"], c["compact"]["cer"]
            diff = None if a is None or k is None else (k - a) * 100
            lines.append(f"| {book} | {c['archive']['pages']} | {fmt(a and a * 100)} % | "
                         f"{fmt(k and k * 100)} % | {fmt(diff)} |")
    for n in notes:
        lines.append(f"- {n}")
    if opts.keep:
        lines.append(f"- outputs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kitap", type=Path, help="kitap binary (default: cargo build --release, "
                    "then target/release/kitap)")
    ap.add_argument("--label", help="what the kitap binary is, for the report (default: the git "
                    "revision it was built from, when the script builds it)")
    ap.add_argument("--books", default=",".join(DEFAULT_BOOKS),
                    help=f"comma-separated book folders of --scans (default: {','.join(DEFAULT_BOOKS)})")
    ap.add_argument("--scans", type=Path, default=REPO.parent / "shared" / "sample-scans",
                    help="the shared sample scans (default: ../shared/sample-scans)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel pages/processes (default 2)")
    ap.add_argument("--repeat", type=int, default=1, help="run each timed thing N times, report the median")
    ap.add_argument("--wait-quiet", type=float, default=60, metavar="SECONDS",
                    help="before each timed run wait up to this long for an idle machine "
                    "(default 60; 0: don't wait)")
    ap.add_argument("--retries", type=int, default=2,
                    help="run a timed thing again, up to this many times, when other processes "
                    "used over 10 %% of the CPU during it (default 2)")
    ap.add_argument("--json", type=Path, help="also write all figures to this JSON file")
    ap.add_argument("--per-page", action="store_true",
                    help="also time every page alone: kitap --jobs 1 vs one tesseract process")
    ap.add_argument("--no-ocrmypdf", action="store_true", help="skip OCRmyPDF")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder with all outputs")
    ap.add_argument("--tmpdir", help="where to make the temp folder (default: system temp)")
    ap.add_argument("--self-test", action="store_true", help="check the CER code and exit")
    ap.add_argument("--sizes", action="store_true",
                    help="instead of timing: PDF bytes per page of kitap's archive and compact "
                    "pipelines and of OCRmyPDF, untimed (--kitap defaults to target/release/kitap)")
    ap.add_argument("--reocr", action="store_true",
                    help="with --sizes: render archive and compact pages at 300 dpi, read them "
                    "with the tesseract CLI and give each book's CER against gt/")
    opts = ap.parse_args()
    if opts.self_test:
        self_test()
        return
    opts.books = [b.strip() for b in opts.books.split(",") if b.strip()]
    if opts.repeat < 1 or opts.jobs < 1:
        ap.error("--repeat and --jobs must be >= 1")
    if not opts.scans.is_dir():
        if Path("/work/shared/sample-scans").is_dir():
            opts.scans = Path("/work/shared/sample-scans")
        else:
            ap.error(f"no sample scans at {opts.scans} (use --scans)")
    if opts.sizes:
        say(run_sizes(opts))
        return
    res = run_bench(opts)
    text = report(res)
    say("")
    say(text)
    res["report"] = text
    if opts.json:
        opts.json.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"\nfigures written to {opts.json}")


if __name__ == "__main__":
    main()
