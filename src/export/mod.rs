//! `kitap export`: OUT's manifest as the records other systems take — MARC21 for Koha, an OPDS
//! catalog for e-readers, a printable shelf of QR codes, DSpace's Simple Archive Format.
//!
//! Every export is a function of the manifest and the files in OUT alone (no scans, no OCR), so it
//! runs wherever OUT was copied. Only `ok` and `partial` books are exported; failed ones are named
//! on stderr. Links are `--base-url` (where OUT is served) plus the file's path in OUT, every
//! segment percent-encoded, so Cyrillic and Turkmen ids travel as URLs.

pub mod folder;
pub mod marc;
pub mod opds;
pub mod qr;
pub mod saf;
pub mod shelf;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::lock::{LockError, OutLock};
use crate::manifest::{BookRecord, FileRecord, Manifest, ManifestError, Status};

/// The folder in OUT where exports go unless `-o` says otherwise (a book may not take its name).
pub const EXPORT_DIR: &str = "export";

pub const PDF: &str = "application/pdf";
pub const EPUB: &str = "application/epub+zip";
pub const TEXT: &str = "text/plain; charset=utf-8";

/// What an export wrote, and the books it could not do justice to (each makes the exit code 1).
#[derive(Debug, Default)]
pub struct Outcome {
    /// The main file or folder written, for stdout.
    pub written: PathBuf,
    /// How many books it holds.
    pub books: usize,
    /// One line per problem, `id: what`, for stderr: a book left out (exit 1).
    pub problems: Vec<String>,
    /// One line per thing worth knowing that left no book out (a MARC field cut to fit).
    pub warnings: Vec<String>,
}

/// Why an export did not run or did not finish.
#[derive(Debug)]
pub enum ExportError {
    /// A bad option (exit 2).
    Usage(String),
    /// The manifest cannot be read (exit 2).
    Manifest(ManifestError),
    /// Another run holds OUT (exit 3), or its lock cannot be taken (exit 4).
    Lock(LockError),
    /// An export file cannot be written (exit 4).
    Write(PathBuf, std::io::Error),
}

impl ExportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ExportError::Usage(_) | ExportError::Manifest(_) => 2,
            ExportError::Lock(LockError::Held { .. }) => 3,
            ExportError::Lock(_) | ExportError::Write(..) => 4,
        }
    }
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Usage(m) => f.write_str(m),
            ExportError::Manifest(e) => e.fmt(f),
            ExportError::Lock(e) => e.fmt(f),
            ExportError::Write(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

/// Where OUT is served: an absolute `http(s)` URL ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Checks and normalises `--base-url`: an absolute `http(s)` URL with a host, no user name
    /// or password (it would be printed in every record and on every poster), no query or
    /// fragment; scheme and host lower-cased, a final `/` added.
    pub fn parse(s: &str) -> Result<BaseUrl, ExportError> {
        let s = s.trim();
        let bad = |why: &str| {
            ExportError::Usage(format!(
                "--base-url {s:?}: {why} (e.g. https://elib.example.kz/books/)"
            ))
        };
        let url = url::Url::parse(s).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => {
                bad("must be an absolute http:// or https:// URL")
            }
            e => bad(&format!("not a URL ({e})")),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must be an absolute http:// or https:// URL"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("names no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "must not carry a user name or password: every link would publish it",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "must not have a query or fragment: file paths are added to it",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || !c.is_ascii())
            || url.path().split('/').any(|seg| !percent_encoded(seg))
        {
            return Err(bad(
                "must be written as a URL: spaces, non-ASCII letters and '%' percent-encoded",
            ));
        }
        let mut url = url.to_string();
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(BaseUrl(url))
    }

    /// The URL of a path relative to OUT (`/`-separated), each segment percent-encoded.
    pub fn of(&self, path: &str) -> String {
        let mut url = self.0.clone();
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                url.push('/');
            }
            url.push_str(&percent_encode(segment));
        }
        url
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a path segment is well percent-encoded: every `%` starts two hex digits.
fn percent_encoded(segment: &str) -> bool {
    let b = segment.as_bytes();
    (0..b.len()).all(|i| {
        b[i] != b'%'
            || (i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
    })
}

/// RFC 3986 percent-encoding of a path segment: every byte of the UTF-8 that is not an
/// unreserved character (`A–Z a–z 0–9 - . _ ~`).
pub fn percent_encode(segment: &str) -> String {
    let mut s = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Which books an export takes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection {
    /// Only books that need no review or that an editor approved (`kitap review --approve`).
    pub reviewed_only: bool,
    /// How long to wait for a convert run holding OUT (none: do not wait).
    pub wait_lock: Option<std::time::Duration>,
}

/// OUT, its manifest and the books to export, held under OUT's lock (exports write into OUT).
pub struct Batch {
    pub out: PathBuf,
    pub manifest: Manifest,
    /// Positions in `manifest.books` of the books exported, in manifest (id) order.
    pub chosen: Vec<usize>,
    /// One line per book left out and why, for stderr.
    pub left_out: Vec<String>,
    /// Books that should have been exported but could not (a file missing from OUT): exit 1.
    pub unusable: usize,
    _lock: Option<OutLock>,
}

impl Batch {
    /// Takes OUT's lock, reads its manifest and picks the books: `ok` and `partial` ones whose
    /// PDF and EPUB are in OUT with the size the manifest gives.
    pub fn open(out: &Path, selection: Selection) -> Result<Batch, ExportError> {
        let path = out.join(crate::discover::MANIFEST_NAME);
        if let Err(source) = std::fs::metadata(&path) {
            return Err(ExportError::Manifest(ManifestError::Read { path, source }));
        }
        // A read-only OUT (an archive mount, a copy on a DVD) cannot change under the export:
        // it needs no lock, and exports written elsewhere (-o) still run.
        let lock = match OutLock::acquire(out, selection.wait_lock) {
            Ok(lock) => Some(lock),
            Err(LockError::Create { source, .. } | LockError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::ReadOnlyFilesystem =>
            {
                None
            }
            Err(e) => return Err(ExportError::Lock(e)),
        };
        let manifest = Manifest::read(&path).map_err(ExportError::Manifest)?;
        let (mut chosen, mut left_out, mut unusable) = (Vec::new(), Vec::new(), 0);
        for (i, book) in manifest.books.iter().enumerate() {
            if book.status == Status::Failed {
                left_out.push(format!(
                    "{}: failed, not exported ({})",
                    book.id,
                    book.error.as_deref().unwrap_or("see the manifest")
                ));
                continue;
            }
            if selection.reviewed_only && book.needs_review && book.approved.is_none() {
                left_out.push(format!(
                    "{}: needs review and is not approved, not exported (kitap review OUT --approve {})",
                    book.id, book.id
                ));
                continue;
            }
            match missing_file(out, book) {
                Some(problem) => {
                    left_out.push(format!(
                        "{}: {problem}, not exported (kitap validate OUT tells more)",
                        book.id
                    ));
                    unusable += 1;
                }
                None => chosen.push(i),
            }
        }
        Ok(Batch {
            out: out.to_path_buf(),
            manifest,
            chosen,
            left_out,
            unusable,
            _lock: lock,
        })
    }

    /// The books exported, in manifest order.
    pub fn books(&self) -> impl Iterator<Item = &BookRecord> {
        self.chosen.iter().map(|&i| &self.manifest.books[i])
    }

    /// A path in OUT, `/`-separated as the manifest writes it, on this system.
    pub fn path(&self, listed: &str) -> PathBuf {
        in_out(&self.out, listed)
    }

    /// Where an export writes when `-o` is not given: `OUT/export/<name>`.
    pub fn default_output(&self, name: &str) -> PathBuf {
        self.out.join(EXPORT_DIR).join(name)
    }

    /// Refuses an export target that would overwrite what OUT is made of: OUT itself or a
    /// folder holding it, the manifest, the review page, kitap's state in `OUT/.kitap`, or
    /// anything in a book's folder (exit 2). A file target may not be an existing folder.
    pub fn check_target(&self, target: &Path, is_file: bool) -> Result<(), ExportError> {
        let refuse = |why: String| {
            Err(ExportError::Usage(format!(
                "-o {}: {why}",
                target.display()
            )))
        };
        if target.file_name().is_none() && absolute_in_existing(target).is_none() {
            return refuse("names no file or folder".into());
        }
        if let (Ok(out), Some(t)) = (
            std::fs::canonicalize(&self.out),
            absolute_in_existing(target),
        ) && out.starts_with(&t)
        {
            return refuse("is OUT or holds it: give -o a path of its own".into());
        }
        if let Some(rel) = self.relative(target) {
            let first = rel.split('/').next().unwrap_or("");
            let kitaps = [
                crate::discover::MANIFEST_NAME,
                crate::review::REVIEW_FILE,
                ".kitap",
            ];
            if kitaps.contains(&first) {
                return refuse(format!(
                    "would write over OUT/{first}, which kitap keeps there"
                ));
            }
            if self.manifest.books.iter().any(|b| b.id == first) {
                return refuse(format!(
                    "is in the folder of book '{first}', which holds the book's files only"
                ));
            }
        }
        if is_file && target.is_dir() {
            return refuse("is a folder: give the file's path".into());
        }
        Ok(())
    }

    /// The path of `target` relative to OUT (`/`-separated), when it is inside OUT: what
    /// `--base-url` serves it as.
    pub fn relative(&self, target: &Path) -> Option<String> {
        let out = std::fs::canonicalize(&self.out).ok()?;
        let target = absolute_in_existing(target)?;
        let rel = target.strip_prefix(&out).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// The EPUB's cover (the upright first page, a JPEG up to 1200×1600), when it has one.
    pub fn cover_jpeg(&self, book: &BookRecord) -> Option<Vec<u8>> {
        let epub = file(book, EPUB)?;
        let f = std::fs::File::open(self.path(&epub.path)).ok()?;
        let mut zip = zip::ZipArchive::new(f).ok()?;
        let mut entry = zip.by_name("OEBPS/images/cover.jpg").ok()?;
        let mut jpeg = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut jpeg).ok()?;
        Some(jpeg)
    }
}

/// A cover re-encoded to fit a box.
pub struct Fitted {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub grey: bool,
}

/// The EPUB's cover as JPEGs fitted into each of `boxes` (never enlarged), largest box first:
/// decoded once, each size shrunk from the one before, grey or colour as the cover is.
///
/// Decoded with `jpeg-decoder`, not the image crate's zune-jpeg: zune-jpeg 0.5.15 decodes the
/// colour JPEGs kitap writes (jpeg-encoder, 4:2:0) green — a beige page came out with mean RGB
/// (16, 192, 0) where PIL and jpeg-decoder give (213, 200, 169).
pub fn fitted_jpegs(jpeg: &[u8], boxes: &[((u32, u32), u8)]) -> Option<Vec<Fitted>> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let mut raw = decoder.decode().ok()?;
    let info = decoder.info()?;
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        _ => return None,
    };
    let (mut w, mut h) = (u32::from(info.width), u32::from(info.height));
    let mut out = Vec::new();
    for &((max_w, max_h), quality) in boxes {
        (raw, w, h) = fit_raw(raw, w, h, channels, (max_w, max_h))?;
        out.push(Fitted {
            jpeg: crate::pdf::image::encode_jpeg(&raw, w, h, channels as u8, quality)?,
            width: w,
            height: h,
            grey: channels == 1,
        });
    }
    Some(out)
}

/// Pixels (`channels` bytes each) fitted into `max`: averaged over whole k×k blocks first
/// (integer sums, the bulk of the shrinking), then the image crate's area sampling for the
/// rest — which alone spent 30 ms a cover in float rounding.
fn fit_raw(
    raw: Vec<u8>,
    w: u32,
    h: u32,
    channels: usize,
    (max_w, max_h): (u32, u32),
) -> Option<(Vec<u8>, u32, u32)> {
    let ratio = f64::min(max_w as f64 / w as f64, max_h as f64 / h as f64);
    if ratio >= 1.0 {
        return Some((raw, w, h));
    }
    let (nw, nh) = (
        ((w as f64 * ratio).round() as u32).max(1),
        ((h as f64 * ratio).round() as u32).max(1),
    );
    // The whole factor nearest below the ratio: the blocks may end a pixel short of the
    // target size (1143 wide halves to 571, not 572), which still fits the box.
    let k = ((1.0 / ratio + 1e-9).floor() as u32).max(1);
    let (bw, bh) = (w / k, h / k);
    let (raw, w, h) = if k >= 2 {
        let mut small = vec![0u8; (bw * bh) as usize * channels];
        let row = w as usize * channels;
        let n = k * k;
        for y in 0..bh as usize {
            for x in 0..bw as usize {
                for c in 0..channels {
                    let mut sum = 0u32;
                    for dy in 0..k as usize {
                        let line = (y * k as usize + dy) * row;
                        for dx in 0..k as usize {
                            sum += raw[line + (x * k as usize + dx) * channels + c] as u32;
                        }
                    }
                    small[(y * bw as usize + x) * channels + c] = ((sum + n / 2) / n) as u8;
                }
            }
        }
        (small, bw, bh)
    } else {
        (raw, w, h)
    };
    if w <= max_w && h <= max_h && w + 2 >= nw && h + 2 >= nh {
        return Some((raw, w, h));
    }
    let resized = if channels == 3 {
        let img = image::RgbImage::from_raw(w, h, raw)?;
        image::imageops::thumbnail(&img, nw, nh).into_raw()
    } else {
        let img = image::GrayImage::from_raw(w, h, raw)?;
        image::imageops::thumbnail(&img, nw, nh).into_raw()
    };
    Some((resized, nw, nh))
}

/// `path` made absolute with its existing ancestors' symlinks resolved (the rest need not exist).
fn absolute_in_existing(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let path = std::path::absolute(path).ok()?;
    let parts: Vec<Component> = path.components().collect();
    // The longest prefix that exists, resolved; the rest applied by name (`..` goes up).
    let (real, rest) = (0..=parts.len()).rev().find_map(|n| {
        let head: PathBuf = parts[..n].iter().collect();
        std::fs::canonicalize(&head)
            .ok()
            .map(|real| (real, &parts[n..]))
    })?;
    let mut p = real;
    for c in rest {
        match c {
            Component::ParentDir => {
                p.pop();
            }
            Component::Normal(name) => p.push(name),
            _ => {}
        }
    }
    Some(p)
}

/// The book's file of a media type.
pub fn file<'a>(book: &'a BookRecord, media_type: &str) -> Option<&'a FileRecord> {
    book.files.iter().find(|f| f.media_type == media_type)
}

/// The file of `media_type` a reader is sent to: for a PDF, the web PDF (`<id>.web.pdf`,
/// compact images for reading online) when the book has one, else the archival PDF.
pub fn for_readers<'a>(book: &'a BookRecord, media_type: &str) -> Option<&'a FileRecord> {
    let web = format!("{0}/{0}.{1}", book.id, crate::convert::WEB_PDF_EXT);
    book.files
        .iter()
        .filter(|f| f.media_type == media_type && media_type == PDF)
        .find(|f| f.path == web)
        .or_else(|| file(book, media_type))
}

/// The first file an export takes (PDF, EPUB, text) that is not in OUT as listed; a book
/// without a PDF or an EPUB cannot be exported at all.
fn missing_file(out: &Path, book: &BookRecord) -> Option<String> {
    let listed = [("PDF", PDF), ("EPUB", EPUB), ("text", TEXT)]
        .map(|(kind, media_type)| (kind, media_type, file(book, media_type)));
    // The file readers are sent to (a web PDF) is checked as well as the archival one.
    let readers = [("PDF", PDF, for_readers(book, PDF))];
    for (kind, media_type, f) in listed.into_iter().chain(readers) {
        let Some(f) = f else {
            if media_type == TEXT {
                continue;
            }
            return Some(format!("no {kind} in the manifest"));
        };
        match std::fs::metadata(in_out(out, &f.path)) {
            Err(_) => return Some(format!("{} is missing", f.path)),
            Ok(m) if m.len() != f.bytes => {
                return Some(format!(
                    "{} is {} bytes, the manifest says {}",
                    f.path,
                    m.len(),
                    f.bytes
                ));
            }
            Ok(_) => {}
        }
    }
    None
}

/// A path the manifest lists (relative to OUT, `/`-separated) on this system.
pub(super) fn in_out(out: &Path, listed: &str) -> PathBuf {
    listed
        .split('/')
        .fold(out.to_path_buf(), |p, segment| p.join(segment))
}

/// "1 page", "2 pages": a count with its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An ISBN as catalogues key it — its digits and a final X, hyphens and spaces gone — and the
/// qualifier written after it in parentheses (`(pbk.)`), if any. None: no ISBN in the text.
pub fn isbn_parts(isbn: &str) -> Option<(String, Option<String>)> {
    let (number, rest) = match isbn.split_once('(') {
        Some((n, r)) => (n, Some(r)),
        None => (isbn, None),
    };
    let mut digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if number.trim_end().ends_with(['X', 'x']) {
        digits.push('X');
    }
    let qualifier = rest
        .map(|r| r.trim_end().trim_end_matches(')').trim().to_string())
        .filter(|q| !q.is_empty());
    (!digits.is_empty()).then_some((digits, qualifier))
}

/// The book's title as catalogues show it: book.toml's, else its id.
pub fn title(book: &BookRecord) -> &str {
    book.metadata.title.as_deref().unwrap_or(&book.id)
}

/// The mean confidence note every export carries for OCR text.
pub fn ocr_note(book: &BookRecord) -> String {
    let models = book.ocr_models.join("+");
    let mut note = match book.confidence {
        Some(c) => {
            format!("Text recognised by OCR (Tesseract, {models}); mean word confidence {c:.1} %.")
        }
        None => format!("Text recognised by OCR (Tesseract, {models}); no words were recognised."),
    };
    if book.status == Status::Partial {
        note.push(' ');
        note.push_str(&partial_note(book));
    }
    note
}

/// What a partial book lacks.
pub fn partial_note(book: &BookRecord) -> String {
    let failed = book
        .pages
        .iter()
        .filter(|p| p.status == crate::manifest::PageStatus::Failed)
        .count();
    format!(
        "Incomplete: {failed} of {} pages could not be read; placeholder pages stand in for them.",
        book.page_count
    )
}

/// Writes a finished export file atomically, making its folder.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| ExportError::Write(dir.to_path_buf(), e))?;
    }
    crate::fsio::write_atomic(path, bytes).map_err(|e| ExportError::Write(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_percent_encoded_per_segment() {
        let base = BaseUrl::parse("https://elib.example.kz/books").unwrap();
        assert_eq!(base.as_str(), "https://elib.example.kz/books/");
        assert_eq!(
            base.of("Абай 50%/Абай 50%.pdf"),
            "https://elib.example.kz/books/%D0%90%D0%B1%D0%B0%D0%B9%2050%25/%D0%90%D0%B1%D0%B0%D0%B9%2050%25.pdf"
        );
        assert_eq!(
            base.of("a-b_c.d~e/x.epub"),
            "https://elib.example.kz/books/a-b_c.d~e/x.epub"
        );
    }

    #[test]
    fn isbns_are_keyed_by_their_digits() {
        assert_eq!(
            isbn_parts("ISBN 0-306-40615-2 (pbk.)"),
            Some(("0306406152".into(), Some("pbk.".into())))
        );
        assert_eq!(
            isbn_parts("978-601-00-0000-0"),
            Some(("9786010000000".into(), None))
        );
        assert_eq!(
            isbn_parts("0-8044-2957-x"),
            Some(("080442957X".into(), None))
        );
        assert_eq!(isbn_parts("(hbk.)"), None);
        assert_eq!(count(1, "page", "pages"), "1 page");
        assert_eq!(count(0, "page", "pages"), "0 pages");
    }

    #[test]
    fn covers_are_fitted_into_each_box() {
        let grey =
            image::GrayImage::from_fn(1143, 1600, |x, y| image::Luma([((x + y) % 256) as u8]));
        let jpeg = crate::pdf::image::encode_jpeg(grey.as_raw(), 1143, 1600, 1, 80).unwrap();
        let sizes = fitted_jpegs(
            &jpeg,
            &[((600, 800), 85), ((150, 200), 80), ((2000, 2000), 80)],
        )
        .unwrap();
        let dims: Vec<(u32, u32)> = sizes
            .iter()
            .map(|f| {
                let img = image::load_from_memory(&f.jpeg).unwrap();
                assert!(!img.color().has_color() && f.grey);
                assert_eq!((img.width(), img.height()), (f.width, f.height));
                (f.width, f.height)
            })
            .collect();
        // Never enlarged: the last box is larger than the one before it.
        assert_eq!(dims, [(571, 800), (142, 200), (142, 200)]);
        let (raw, w, h) = fit_raw(vec![10, 20, 30, 40, 50, 60, 70, 80], 4, 2, 1, (2, 1)).unwrap();
        assert_eq!((raw, w, h), (vec![35, 55], 2, 1));
    }

    #[test]
    fn base_urls_must_be_absolute_web_urls() {
        for bad in [
            "elib.kz/books",
            "ftp://x/",
            "https://",
            "https://x/?a=1",
            "https://ex ample/",
            "http://:80/",
            "https://@/",
            "https://h:abc/",
            "https://h:99999999/",
            "https://[::1/",
            "https://h/%ZZ",
            "https://user:pass@h/b",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            BaseUrl::parse("HTTPS://Elib.Example.KZ:8443/Books")
                .unwrap()
                .as_str(),
            "https://elib.example.kz:8443/Books/"
        );
        assert!(BaseUrl::parse("http://[::1]:8080/b%20c/").is_ok());
        // What a URL may not hold as written is encoded, never passed into the XML as is.
        assert_eq!(
            BaseUrl::parse("https://h/\"><x").unwrap().as_str(),
            "https://h/%22%3E%3Cx/"
        );
    }
}
