#!/usr/bin/python3
"""Builds the fuzzing corpora in fuzz/corpus/TARGET/ from

- fuzz/seeds/TARGET/ (small seeds kept in the repository, enough on their own);
- the repository's sample-scans/ and pipelines/;
- the shared scan corpus ($KITAP_SHARED, else ../shared beside the checkout), when present:
  sample-scans/ (pages downscaled, never copied whole) and sample-scans-bad/.

Page images are written small (about 200 px wide) in every layout kitap reads: PNG grey,
RGB, RGBA, palette, 1-bit and 16-bit; JPEG grey, RGB, progressive, CMYK, with EXIF
orientation; TIFF G4, LZW, Deflate, PackBits, JPEG-in-TIFF, CMYK, palette and multi-page;
JPEG 2000 (JP2 and codestream, lossless and lossy), BMP, WebP (lossless and lossy) and PNM.
Needs Debian's python3-pil (with libtiff) for the images; without it only the copied seeds and
the text seeds are written. Idempotent: files are named by content.

Usage: fuzz/make-corpus.py [--seeds]   (--seeds: also refresh fuzz/seeds/ with tiny images)
"""

import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
SHARED = Path(os.environ.get("KITAP_SHARED", REPO.parent / "shared"))
TARGETS = ["load_image", "book_toml", "manifest", "hocr", "reading"]

try:
    from PIL import Image, ImageOps
except ImportError:  # pragma: no cover
    Image = None


def put(target, data, ext=""):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16] + ext
    (d / name).write_bytes(data)


def copy_seeds():
    for t in TARGETS:
        src = FUZZ / "seeds" / t
        if src.is_dir():
            for f in sorted(src.iterdir()):
                if f.is_file():
                    put(t, f.read_bytes())


# ---------------------------------------------------------------- images

def variants(img, small):
    """(extension, bytes) of `img` in every layout kitap reads."""
    img = img.convert("L")
    w = small
    h = max(16, round(img.height * w / img.width))
    grey = img.resize((w, h))
    grey.info = {}  # no compression or dpi carried over from the source file
    rgb = ImageOps.colorize(grey, "#201008", "#fff8e8")
    bw = grey.point(lambda v: 255 if v > 140 else 0).convert("1")
    out = []

    def save(im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    out.append(("png", save(grey, "PNG")))
    out.append(("png", save(rgb, "PNG", dpi=(300, 300))))
    out.append(("png", save(rgb.convert("RGBA"), "PNG")))
    out.append(("png", save(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG")))
    out.append(("png", save(bw, "PNG")))
    out.append(("png", save(grey.convert("I;16"), "PNG")))
    out.append(("jpg", save(grey, "JPEG", quality=60)))
    out.append(("jpg", save(rgb, "JPEG", quality=60, dpi=(300, 300))))
    out.append(("jpg", save(rgb, "JPEG", quality=60, progressive=True)))
    out.append(("jpg", save(rgb.convert("CMYK"), "JPEG", quality=60)))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: EXIF orientation "rotate 90 CW"
    out.append(("jpg", save(rgb, "JPEG", quality=60, exif=exif.tobytes())))
    out.append(("tif", save(bw, "TIFF", compression="group4", dpi=(300, 300))))
    out.append(("tif", save(grey, "TIFF", compression="tiff_lzw")))
    out.append(("tif", save(rgb, "TIFF", compression="tiff_deflate")))
    out.append(("tif", save(grey, "TIFF", compression="packbits")))
    out.append(("tif", save(rgb, "TIFF", compression="jpeg")))
    out.append(("tif", save(rgb.convert("CMYK"), "TIFF", compression="raw")))
    out.append(("tif", save(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "TIFF",
                            compression="raw")))
    out.append(("tif", save(grey.convert("I;16"), "TIFF", compression="raw")))
    # JPEG 2000 (lossless and lossy, JP2 and bare codestream), BMP, WebP, PNM.
    out.append(("jp2", save(grey, "JPEG2000", irreversible=False)))
    out.append(("jp2", save(rgb, "JPEG2000", irreversible=True, quality_mode="rates",
                            quality_layers=[20])))
    out.append(("j2k", save(grey, "JPEG2000", irreversible=False)))
    out.append(("bmp", save(grey, "BMP", dpi=(300, 300))))
    out.append(("bmp", save(rgb, "BMP")))
    out.append(("webp", save(grey, "WEBP", lossless=True)))
    out.append(("webp", save(rgb, "WEBP", quality=60)))
    out.append(("pgm", save(grey, "PPM")))
    out.append(("ppm", save(rgb, "PPM")))
    out.append(("pbm", save(bw, "PPM")))
    frames = [bw, bw.rotate(90, expand=True), bw.transpose(Image.FLIP_TOP_BOTTOM)]
    out.append(("tif", save(frames[0], "TIFF", compression="group4", save_all=True,
                            append_images=frames[1:])))
    return out


def page_sources():
    """A few real pages of each format, small ones first."""
    srcs = []
    for book in sorted((REPO / "sample-scans").iterdir()):
        srcs += sorted(p for p in book.glob("000[12].*") if p.suffix != ".toml")
    zoo = SHARED / "sample-scans" / "format-zoo"
    if zoo.is_dir():
        srcs += sorted(zoo.glob("000*"))
    g4 = SHARED / "sample-scans" / "eng-bitonal-g4" / "0004.tif"
    if g4.is_file():
        srcs.append(g4)
    return srcs


def images(refresh_seeds):
    bad = SHARED / "sample-scans-bad"
    if bad.is_dir():
        for f in sorted(bad.iterdir()):
            if f.is_file():
                put("load_image", f.read_bytes())
    zoo = SHARED / "sample-scans" / "format-zoo"
    for f in sorted(zoo.glob("*")) if zoo.is_dir() else []:
        if f.is_file() and f.stat().st_size <= 16 << 10:
            put("load_image", f.read_bytes())  # already small: as it is
    if Image is None:
        print("make-corpus: no PIL (Debian python3-pil): page images not generated",
              file=sys.stderr)
        return
    for i, src in enumerate(page_sources()):
        try:
            img = Image.open(src)
            img.load()
        except Exception as e:  # a source the shared corpus holds broken on purpose
            print(f"make-corpus: {src}: {e}", file=sys.stderr)
            continue
        for ext, data in variants(img, 200):
            put("load_image", data)
        if refresh_seeds and i == 0:
            seeds = FUZZ / "seeds" / "load_image"
            seeds.mkdir(parents=True, exist_ok=True)
            for k, (ext, data) in enumerate(variants(img, 48)):
                (seeds / f"{k:02}.{ext}").write_bytes(data)


# ---------------------------------------------------------------- text seeds

def tomls():
    for f in sorted((REPO / "sample-scans").glob("*/book.toml")):
        put("book_toml", f.read_bytes())
    for f in sorted((REPO / "pipelines").glob("*.toml")):
        put("book_toml", f.read_bytes())


def hocr_files():
    files = sorted((FUZZ / "seeds" / "hocr").glob("*"))
    # Tesseract's own hOCR of a few shared pages, when tesseract is installed.
    tess = shutil.which("tesseract")
    if tess and Image is not None:
        for src in page_sources()[:4]:
            try:
                img = Image.open(src).convert("L")
            except Exception:
                continue
            img = img.resize((img.width // 2, img.height // 2))
            b = io.BytesIO()
            img.save(b, "PNG", dpi=(150, 150))
            r = subprocess.run([tess, "stdin", "stdout", "hocr"], input=b.getvalue(),
                               capture_output=True,
                               env=dict(os.environ, OMP_THREAD_LIMIT="1"))
            if r.returncode == 0 and r.stdout:
                put("hocr", r.stdout)
                files.append(r.stdout)
    return files


BBOX = re.compile(r"bbox (\d+) (\d+) (\d+) (\d+)")
TAG = re.compile(r"<(div|p|span)\s[^>]*class=['\"](ocr_page|ocr_carea|ocr_par|ocr_line|"
                 r"ocr_header|ocr_caption|ocr_textfloat|ocrx_word)['\"][^>]*>", re.S)


def u16(v):
    return struct.pack("<H", max(0, min(65535, int(v))))


def text_bytes(s):
    b = s.encode()[:255]
    while b:
        try:
            b.decode()
            break
        except UnicodeDecodeError:
            b = b[:-1]
    return bytes([len(b)]) + b


# The reading target's limits (fuzz_targets/reading.rs): past them it stops reading the item.
MAX_PAGES, MAX_LINES, MAX_WORDS = 48, 80, 24


def reading_seed(hocr, labels):
    """hOCR pages in the reading target's input layout (fuzz_targets/reading.rs)."""
    out = bytearray([1 if labels else 0, 3])
    if labels:  # roman front matter, then arabic from page 2
        out += bytes([2]) + u16(1) + bytes([1]) + u16(1) + bytes([0])
        out += u16(2) + bytes([0]) + u16(1) + bytes([0])
    else:
        out += bytes([0])
    out += bytes([1]) + u16(2) + text_bytes("Chapter")
    new_block = new_par = True
    in_page = in_line = False
    n_pages = n_lines = n_words = 0
    for m in TAG.finditer(hocr):
        kind = m.group(2)
        title = re.search(r"title=(['\"])(.*?)\1", m.group(0))
        bb = BBOX.search(title.group(2)) if title else None
        box = [int(v) for v in bb.groups()] if bb else [0, 0, 0, 0]
        if kind == "ocr_page":
            if in_line and n_words < MAX_WORDS:
                out += bytes([0])
            if in_page and n_lines < MAX_LINES:
                out += bytes([0])
            if n_pages == MAX_PAGES:
                in_page = in_line = False
                break
            out += bytes([1]) + u16(box[2]) + u16(box[3]) + bytes([0])
            in_page, in_line = True, False
            n_pages += 1
            n_lines = 0
        elif not in_page:
            continue
        elif kind == "ocr_carea":
            new_block = True
        elif kind == "ocr_par":
            new_par = True
        elif kind == "ocrx_word":
            if not in_line or n_words == MAX_WORDS:
                continue
            n_words += 1
            end = hocr.find("</span>", m.end())
            word = re.sub(r"<[^>]*>", "", hocr[m.end():end]).strip()
            word = (word.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                    .replace("&#39;", "'").replace("&amp;", "&"))
            conf = re.search(r"x_wconf (\d+)", title.group(2)) if title else None
            c = int(conf.group(1)) if conf else 90
            out += bytes([1]) + b"".join(u16(v) for v in box) + bytes([min(255, c * 255 // 100)])
            out += text_bytes(word)
        else:  # a line
            if in_line and n_words < MAX_WORDS:
                out += bytes([0])
            in_line = False
            if n_lines == MAX_LINES:
                continue
            n_lines += 1
            n_words = 0
            flags = (1 if new_block else 0) | (2 if new_par else 0)
            out += bytes([1, flags]) + b"".join(u16(v) for v in box)
            new_block = new_par = False
            in_line = True
    if in_line and n_words < MAX_WORDS:
        out += bytes([0])
    if in_page and n_lines < MAX_LINES:
        out += bytes([0])
    if n_pages < MAX_PAGES:
        out += bytes([0])
    return bytes(out)


def hocr_and_reading():
    for i, h in enumerate(hocr_files()):
        data = h.read_bytes() if isinstance(h, Path) else h
        put("hocr", data)
        text = data.decode("utf-8", "replace")
        put("reading", reading_seed(text, labels=i % 2 == 1))


def main():
    refresh = "--seeds" in sys.argv[1:]
    copy_seeds()
    images(refresh)
    tomls()
    hocr_and_reading()
    for t in TARGETS:
        d = FUZZ / "corpus" / t
        n = len(list(d.iterdir())) if d.is_dir() else 0
        size = sum(f.stat().st_size for f in d.iterdir()) if d.is_dir() else 0
        print(f"corpus/{t}: {n} files, {size // 1024} KB")


if __name__ == "__main__":
    main()
