#!/usr/bin/env bash
# Installs the Debian 12 packages kitap needs to build, run and test. Idempotent.
#   build: pkg-config, libclang (bindgen), libtesseract and libleptonica headers
#   run:   Tesseract models for the languages kitap maps (see src/lang.rs) and the OSD model
#   test:  qpdf, poppler-utils (pdftotext, pdffonts, pdfimages), epubcheck, python3-jsonschema,
#          python3-pil + fonts-dejavu-extra (tests render a long book with scripts/render-long-book.py),
#          unzip (tests read the EPUB back), strace (tests slow down renames to kill runs mid-swap),
#          chromium (tests open review.html headless, from disk and from python3 -m http.server)
#          yaz (yaz-marcdump reads the MARC export), libxml2-utils (xmllint), python3-feedparser
#          (reads the OPDS catalog as e-reader clients do), zbar-tools (zbarimg decodes the shelf's
#          QR codes), fonts-dejavu-core (the shelf's fonts)
#   fuzz:  zzuf (scripts/zzuf.sh mutates real pages for the release binary)
#   scale-out: slurm-wlm + munge (deploy/slurm/slurm-local runs a one-node Slurm for
#          tests/slurm.rs), python3-yaml (tests/deploy.rs reads the Kubernetes Jobs)
#   cli:   groff-base (tests check `kitap man` with groff's own warnings)
#   languages: tesseract-ocr-bel/kir/tgk/uig (tests/languages.rs reads a page in each)
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
packages=(
  pkg-config libclang-dev libtesseract-dev libleptonica-dev
  tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-rus tesseract-ocr-ukr
  tesseract-ocr-kaz tesseract-ocr-aze tesseract-ocr-uzb tesseract-ocr-uzb-cyrl tesseract-ocr-tur
  tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-ita tesseract-ocr-spa tesseract-ocr-por
  tesseract-ocr-script-latn tesseract-ocr-script-cyrl
  tesseract-ocr-bel tesseract-ocr-kir tesseract-ocr-tgk tesseract-ocr-uig
  qpdf poppler-utils epubcheck python3-jsonschema icc-profiles-free time strace
  python3-pil fonts-dejavu-extra unzip chromium
  yaz libxml2-utils python3-feedparser zbar-tools fonts-dejavu-core
  zzuf
  slurm-wlm munge python3-yaml groff-base
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
