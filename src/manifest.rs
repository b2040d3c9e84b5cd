//! The batch manifest: what was converted, from where, into which files, how well.
//! Its JSON Schema is `schemas/manifest.schema.json`; bump [`SCHEMA_VERSION`] on any change.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::BookMeta;
use crate::fsio;

pub mod review;
mod verify;

pub use verify::FileProblem;

pub const SCHEMA_VERSION: &str = "1.5";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: String,
    pub kitap_version: String,
    pub pipeline: PipelineInfo,
    /// RFC 3339 UTC.
    pub started: String,
    pub finished: String,
    pub summary: Summary,
    /// In a shard's manifest part (`OUT/.kitap/shards/K-of-N.json`): which shard it is, and
    /// whether its run ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardRecord>,
    /// A merge that lacked shards: it holds the books of the shards it had, and what OUT held
    /// before for the others (`missing_shards`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// The shards a merge lacked (`K-of-N`): never run, still running, or stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<String>,
    /// The shard parts this manifest holds, by name (`K-of-N`), each with its `finished`:
    /// merged by `kitap merge`, or superseded by an unsharded run (which reads every book's
    /// record in OUT). A later merge reads only the parts that changed since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub merged_parts: BTreeMap<String, String>,
    pub books: Vec<BookRecord>,
}

/// Which shard a manifest part is of, and how its run went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardRecord {
    /// K, counted from 0.
    pub index: u32,
    /// N.
    pub count: u32,
    /// The run ended (it was not stopped or killed): every book of the shard is in the part.
    pub complete: bool,
    /// The scheduler's run the shard belongs to (`KITAP_RUN`, else Slurm's array job id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineInfo {
    pub name: String,
    pub description: String,
    /// Pages read with a mean confidence below this need review (see [`review`]); absent in
    /// manifests before schema 1.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_below_confidence: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub books: usize,
    pub books_ok: usize,
    pub books_partial: usize,
    pub books_failed: usize,
    pub pages: usize,
    pub pages_failed: usize,
    /// Worker time spent in each stage, summed over pages, in seconds.
    pub stage_seconds: StageSeconds,
}

/// Time per stage, summed over pages (worker threads run in parallel, so this exceeds the wall
/// time). Tells where a batch spends its time; preparation should stay a small share of OCR.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSeconds {
    /// Reading and decoding the image files.
    pub load: f64,
    /// Orientation, deskew and the OCR image (orientation trials included).
    pub prepare: f64,
    /// Encoding the page image for the PDF.
    pub encode: f64,
    /// Tesseract recognition of the prepared page.
    pub ocr: f64,
}

impl std::ops::AddAssign for StageSeconds {
    fn add_assign(&mut self, o: StageSeconds) {
        self.load += o.load;
        self.prepare += o.prepare;
        self.encode += o.encode;
        self.ocr += o.ocr;
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Partial,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookRecord {
    pub id: String,
    pub status: Status,
    /// The book folder, relative to the scan root.
    pub source: String,
    /// `book.toml` as given (empty when there is none).
    pub metadata: BookMeta,
    pub languages: Vec<LanguageRecord>,
    /// How the languages were found from the pages, when nobody said (`languages = auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages_detected: Option<LanguageDetection>,
    /// Tesseract models used, e.g. `["rus", "eng"]`.
    pub ocr_models: Vec<String>,
    pub page_count: usize,
    /// Mean of the pages' confidences, weighted by their word counts.
    pub confidence: Option<f64>,
    /// When this book's files (its generation) were put in place (RFC 3339); none for a book
    /// that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_at: Option<String>,
    /// The kitap that converted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kitap_version: Option<String>,
    /// SHA-256 over everything the outputs depend on: kitap's version, the pipeline, the
    /// languages and models, and the bytes of every input file. A later run skips the book
    /// while it is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The input files (pages and book.toml) as they were read: fixity of the masters, and
    /// what a later run compares against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A failed book's outputs from an earlier run, still in OUT as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<KeptGeneration>,
    pub warnings: Vec<String>,
    /// An editor should look at the book before it goes out: it failed, or lost pages, or a
    /// page needs review (see [`review`]).
    #[serde(default)]
    pub needs_review: bool,
    /// An editor looked at this generation of the book and let it go (`kitap review
    /// --approve`). Kept in the generation's record: a new generation starts unapproved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<Approval>,
    pub pages: Vec<PageRecord>,
    pub files: Vec<FileRecord>,
}

/// What finding a book's languages from its pages concluded, and on what evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageDetection {
    /// The script found: `Latin` or `Cyrillic`.
    pub script: String,
    /// How the script was found: `osd` (Tesseract's orientation and script detection) or
    /// `trial` (the script model that read the sample better).
    pub script_by: String,
    /// The language found, as a BCP 47 tag (`und-Latn`, `und-Cyrl` when no installed
    /// language explains the letters).
    pub language: String,
    /// The sample pages read (1-based, as in `pages`).
    pub pages: Vec<u32>,
    /// Letters of the script counted on them.
    pub letters: usize,
    /// The letters that decided, with their counts: those of the language found beyond its
    /// script's base language (Russian, English), or those nothing installed explains.
    pub evidence: BTreeMap<String, usize>,
    /// Enough letters, and the language explains them. When not, a warning says why.
    pub sure: bool,
}

/// An editor's sign-off of one generation of a book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved it.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// The generation approved (its `converted_at`).
    pub converted_at: Option<String>,
}

/// The generation of a book that an earlier run made and a failed rebuild left in place.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptGeneration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_at: Option<String>,
    pub files: Vec<FileRecord>,
}

/// One input file of a book as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputRecord {
    /// Relative to the scan root, '/'-separated.
    pub path: String,
    pub bytes: u64,
    /// Modification time (RFC 3339, nanoseconds): with the size, it lets a later run trust the
    /// recorded SHA-256 without reading the file again (unless `--verify-inputs`).
    pub modified: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageRecord {
    /// ISO 639-3.
    pub code: String,
    /// BCP 47, as written into the PDF and EPUB.
    pub tag: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DpiSource {
    File,
    Estimated,
    Assumed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageRecord {
    /// 1-based position in the PDF, EPUB and text.
    pub index: u32,
    /// The image file, relative to the scan root.
    pub source: String,
    /// 0-based frame within a multi-page TIFF (0 for single images).
    pub frame: u32,
    /// `left` or `right` for the two pages split from one spread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    /// The part of the prepared scan this page shows, `[left, top, right, bottom]` in pixels,
    /// when borders were cut or a spread split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crop: Option<[u32; 4]>,
    /// The paper of a page photographed against a dark surround (a table, a cover, the facing
    /// page), `[left, top, right, bottom]` in pixels of the prepared scan: orientation and skew
    /// were measured on it and only it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<[u32; 4]>,
    pub status: PageStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// Upright page image size in pixels (absent when the page could not be decoded).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Vertical resolution used for the page's physical size.
    pub dpi: Option<f64>,
    pub dpi_source: Option<DpiSource>,
    /// How the image is stored in the PDF.
    pub image_encoding: Option<ImageEncoding>,
    /// How far the scanned content was found turned clockwise (after EXIF): 0, 90, 180, 270.
    pub rotation_cw_deg: Option<u32>,
    /// How far the scanned content was found skewed clockwise, degrees.
    pub skew_cw_deg: Option<f64>,
    /// How the page was straightened for display.
    pub correction: Option<Correction>,
    /// What decided the orientation.
    pub orientation_by: Option<OrientationBy>,
    /// Mean word confidence 0–100; null when the page has no words.
    pub confidence: Option<f64>,
    pub words: usize,
    /// Words whose Latin/Cyrillic look-alike letters were put back in their script (the
    /// pipeline's `repair_lookalikes`); absent when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lookalikes_repaired: usize,
    /// No ink after cleaning (a blank verso, an empty endpaper): the page was not sent to OCR.
    /// Absent when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blank: bool,
    /// The page's text was far larger in pixels than OCR needs and was read reduced this many
    /// times (the pipeline's `ocr_resolution`); its words are placed at full size. Absent when
    /// read as scanned.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub ocr_reduced_by: u32,
    /// The page's printed label (its number as printed, or as book.toml's `page_labels` give
    /// it; the position in brackets where a numbered run has a gap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A small JPEG of the page for the review page, relative to OUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// An editor should look at this page: it failed, read below the pipeline's
    /// `review_below_confidence`, or has no text (see [`review`]).
    #[serde(default)]
    pub needs_review: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub media_type: String,
    pub bytes: u64,
    pub sha256: String,
}

/// How a page image is stored in the PDF.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ImageEncoding {
    /// The source JPEG file, byte for byte.
    JpegPassthrough,
    /// Re-encoded as JPEG.
    Jpeg,
    /// CCITT Group 4, 1 bit per pixel.
    #[serde(rename = "ccitt-g4")]
    CcittG4,
    /// zlib with PNG predictors.
    Flate,
    /// zlib of palette indices (1–8 bits).
    FlateIndexed,
}

/// How a page's geometry was corrected for display.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Correction {
    /// Pixels turned and/or rotated into the page frame.
    Resampled,
    /// The original pixels placed by the PDF matrix.
    Matrix,
    /// Nothing to correct.
    None,
}

/// What decided a page's orientation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrientationBy {
    /// Tesseract's orientation and script detection.
    Osd,
    /// Recognition trials of the candidate turns.
    Trial,
    /// Not looked for (disabled, or no text to go by).
    None,
}

/// Which half of a split two-page spread a page is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Left,
    Right,
}

/// What was found and done on a page that converted: everything a [`PageRecord`] says beyond
/// where the page came from.
#[derive(Debug, Clone)]
pub struct PageFacts {
    pub part: Option<Part>,
    pub crop: Option<[u32; 4]>,
    pub paper: Option<[u32; 4]>,
    pub warnings: Vec<String>,
    pub width: u32,
    pub height: u32,
    pub dpi: f64,
    pub dpi_source: DpiSource,
    pub image_encoding: ImageEncoding,
    pub rotation_cw_deg: u32,
    pub skew_cw_deg: f64,
    pub correction: Correction,
    pub orientation_by: OrientationBy,
    /// Mean word confidence, unrounded (the record keeps one decimal).
    pub confidence: Option<f64>,
    pub words: usize,
    pub lookalikes_repaired: usize,
    pub blank: bool,
    pub ocr_reduced_by: u32,
}

impl PageRecord {
    /// A page that converted.
    pub fn converted(index: u32, source: &str, frame: u32, f: PageFacts) -> PageRecord {
        PageRecord {
            index,
            source: source.to_string(),
            frame,
            part: f.part,
            crop: f.crop,
            paper: f.paper,
            status: PageStatus::Ok,
            error: None,
            warnings: f.warnings,
            width: Some(f.width),
            height: Some(f.height),
            dpi: Some(f.dpi),
            dpi_source: Some(f.dpi_source),
            image_encoding: Some(f.image_encoding),
            rotation_cw_deg: Some(f.rotation_cw_deg),
            skew_cw_deg: Some(f.skew_cw_deg),
            correction: Some(f.correction),
            orientation_by: Some(f.orientation_by),
            confidence: f.confidence.map(round1),
            words: f.words,
            lookalikes_repaired: f.lookalikes_repaired,
            blank: f.blank,
            ocr_reduced_by: f.ocr_reduced_by,
            label: None,
            thumbnail: None,
            needs_review: false,
        }
    }

    /// A page that could not be converted (a placeholder page stands in for it).
    pub fn failed(
        index: u32,
        source: &str,
        frame: u32,
        error: String,
        warnings: Vec<String>,
    ) -> PageRecord {
        PageRecord {
            index,
            source: source.to_string(),
            frame,
            part: None,
            crop: None,
            paper: None,
            status: PageStatus::Failed,
            error: Some(error),
            warnings,
            width: None,
            height: None,
            dpi: None,
            dpi_source: None,
            image_encoding: None,
            rotation_cw_deg: None,
            skew_cw_deg: None,
            correction: None,
            orientation_by: None,
            confidence: None,
            words: 0,
            lookalikes_repaired: 0,
            blank: false,
            ocr_reduced_by: 1,
            label: None,
            thumbnail: None,
            needs_review: true,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl FileRecord {
    /// Describes a finished output file by reading it back.
    pub fn describe(out_root: &Path, path: &Path, media_type: &str) -> io::Result<FileRecord> {
        let rel = path.strip_prefix(out_root).unwrap_or(path);
        let listed = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        FileRecord::describe_as(path, listed, media_type)
    }

    /// A file read at `path` and listed as `listed` ('/'-separated, relative to OUT): a book's
    /// files are described in its staging folder before they are swapped into place.
    pub fn describe_as(path: &Path, listed: String, media_type: &str) -> io::Result<FileRecord> {
        let (bytes, sha256) = fsio::hash_file(path)?;
        Ok(FileRecord {
            path: listed,
            media_type: media_type.to_string(),
            bytes,
            sha256,
        })
    }
}

impl Status {
    /// The status as the manifest writes it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

impl Part {
    /// The half as the manifest writes it.
    pub fn name(self) -> &'static str {
        match self {
            Part::Left => "left",
            Part::Right => "right",
        }
    }
}

impl BookRecord {
    /// A record with nothing known yet but the id, the status and the folder (`source`); the
    /// kitap that makes it is recorded.
    pub fn new(id: &str, status: Status, source: &str) -> BookRecord {
        BookRecord {
            id: id.to_string(),
            status,
            source: source.to_string(),
            metadata: BookMeta::default(),
            languages: Vec::new(),
            languages_detected: None,
            ocr_models: Vec::new(),
            page_count: 0,
            confidence: None,
            converted_at: None,
            kitap_version: Some(env!("CARGO_PKG_VERSION").to_string()),
            fingerprint: None,
            inputs: Vec::new(),
            error: None,
            kept: None,
            warnings: Vec::new(),
            needs_review: status != Status::Ok,
            approved: None,
            pages: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The book's listed files against the files in `out`: present, same size, same SHA-256.
    pub fn verify(&self, out: &Path) -> Vec<FileProblem> {
        verify::files(self, out)
    }

    /// Mean word confidence over the book's pages, weighted by their word counts, to one
    /// decimal.
    pub fn confidence_of(pages: &[PageRecord]) -> Option<f64> {
        let (words, weighted) = pages
            .iter()
            .filter_map(|p| Some((p.words, p.confidence?)))
            .fold((0usize, 0f64), |(n, s), (w, c)| (n + w, s + w as f64 * c));
        (words > 0).then(|| round1(weighted / words as f64))
    }
}

impl Summary {
    /// Counts over `books`; `stage_seconds` rounded to milliseconds.
    pub fn from_books(books: &[BookRecord], stage_seconds: StageSeconds) -> Summary {
        let ms = |v: f64| (v * 1000.0).round() / 1000.0;
        let mut s = Summary {
            books: books.len(),
            stage_seconds: StageSeconds {
                load: ms(stage_seconds.load),
                prepare: ms(stage_seconds.prepare),
                encode: ms(stage_seconds.encode),
                ocr: ms(stage_seconds.ocr),
            },
            ..Summary::default()
        };
        for b in books {
            match b.status {
                Status::Ok => s.books_ok += 1,
                Status::Partial => s.books_partial += 1,
                Status::Failed => s.books_failed += 1,
            }
            s.pages += b.pages.len();
            s.pages_failed += b
                .pages
                .iter()
                .filter(|p| p.status == PageStatus::Failed)
                .count();
        }
        s
    }
}

/// Why a manifest could not be read.
#[derive(Debug)]
pub enum ManifestError {
    Read {
        path: PathBuf,
        source: io::Error,
    },
    /// Not JSON, or not the shape of a manifest; `message` has the line and column.
    Parse {
        path: PathBuf,
        message: String,
    },
    /// Written by a newer kitap than this one.
    NewerSchema {
        path: PathBuf,
        found: String,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            ManifestError::Parse { path, message } => {
                write!(f, "{}: not a kitap manifest: {message}", path.display())
            }
            ManifestError::NewerSchema { path, found } => write!(
                f,
                "{}: written by a newer kitap (schema {found}; this kitap reads up to {SCHEMA_VERSION}) — update kitap",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ManifestError {}

/// `major.minor` of a schema version; None when it is not one.
fn schema_parts(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// A `schema_version` of a later kitap than this one: its major, or its minor under the same
/// major, is above [`SCHEMA_VERSION`]'s. Anything that is not `major.minor` is not newer (the
/// schema check names it).
pub fn is_newer_schema(version: &str) -> bool {
    schema_parts(version) > schema_parts(SCHEMA_VERSION)
}

impl Manifest {
    /// A manifest of `books`, in the order given, its summary computed.
    pub fn new(
        pipeline: PipelineInfo,
        started: String,
        finished: String,
        books: Vec<BookRecord>,
        stage_seconds: StageSeconds,
    ) -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION.into(),
            kitap_version: env!("CARGO_PKG_VERSION").into(),
            pipeline,
            started,
            finished,
            summary: Summary::from_books(&books, stage_seconds),
            shard: None,
            incomplete: false,
            missing_shards: Vec::new(),
            merged_parts: BTreeMap::new(),
            books,
        }
    }

    /// Reads a manifest written by this or an older kitap.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses a manifest's text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
        // The version first: a newer manifest may not parse, and saying why matters more.
        let version = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("schema_version")?.as_str().map(str::to_string));
        if let Some(found) = version
            && is_newer_schema(&found)
        {
            return Err(ManifestError::NewerSchema {
                path: path.to_path_buf(),
                found,
            });
        }
        serde_json::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Writes the manifest atomically as pretty JSON with a final newline.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        fsio::write_atomic(path, &json)
    }

    /// Puts `book` in, replacing the record of the same id; books stay sorted by id. The
    /// summary is left for the caller to recompute.
    pub fn upsert(&mut self, book: BookRecord) {
        match self.books.binary_search_by(|b| b.id.as_str().cmp(&book.id)) {
            Ok(i) => self.books[i] = book,
            Err(i) => self.books.insert(i, book),
        }
    }

    /// Checks every listed file under `out`: it exists, with the listed size and SHA-256.
    pub fn verify(&self, out: &Path) -> Vec<FileProblem> {
        self.books.iter().flat_map(|b| b.verify(out)).collect()
    }
}

/// Current time as RFC 3339 UTC with millisecond precision: when a run started and finished,
/// which `kitap merge` orders shard parts and manifests by (a shard can end within the second
/// another run began).
pub fn now_precise() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// An RFC 3339 UTC time (`…Z`, with or without a fraction of a second) as a string that sorts
/// as the time does.
pub fn time_order(t: &str) -> String {
    let t = t.trim_end_matches('Z');
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    format!("{whole}.{fraction:0<9}")
}

/// Current time as RFC 3339 UTC with second precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(id: &str, status: Status, pages: Vec<PageRecord>) -> BookRecord {
        BookRecord {
            ocr_models: vec!["eng".into()],
            page_count: pages.len(),
            confidence: BookRecord::confidence_of(&pages),
            pages,
            ..BookRecord::new(id, status, id)
        }
    }

    fn ok_page(index: u32, conf: f64, words: usize) -> PageRecord {
        PageRecord::converted(
            index,
            "b/1.png",
            0,
            PageFacts {
                part: Some(Part::Left),
                crop: None,
                paper: None,
                warnings: Vec::new(),
                width: 10,
                height: 20,
                dpi: 300.0,
                dpi_source: DpiSource::File,
                image_encoding: ImageEncoding::CcittG4,
                rotation_cw_deg: 0,
                skew_cw_deg: 0.0,
                correction: Correction::None,
                orientation_by: OrientationBy::Osd,
                confidence: Some(conf),
                words,
                lookalikes_repaired: 0,
                blank: false,
                ocr_reduced_by: 1,
            },
        )
    }

    fn manifest(started: &str, books: Vec<BookRecord>) -> Manifest {
        let info = PipelineInfo {
            name: "default".into(),
            description: String::new(),
            review_below_confidence: None,
        };
        let secs = StageSeconds {
            ocr: 1.0,
            ..StageSeconds::default()
        };
        Manifest::new(info, started.into(), started.into(), books, secs)
    }

    #[test]
    fn enums_are_written_as_the_schema_names_them() {
        let json = serde_json::to_value(ok_page(1, 90.0, 3)).unwrap();
        assert_eq!(json["image_encoding"], "ccitt-g4");
        assert_eq!(json["correction"], "none");
        assert_eq!(json["orientation_by"], "osd");
        assert_eq!(json["part"], "left");
        for (e, name) in [
            (ImageEncoding::JpegPassthrough, "jpeg-passthrough"),
            (ImageEncoding::Jpeg, "jpeg"),
            (ImageEncoding::Flate, "flate"),
            (ImageEncoding::FlateIndexed, "flate-indexed"),
        ] {
            assert_eq!(serde_json::to_value(e).unwrap(), name);
        }
    }

    #[test]
    fn confidence_is_weighted_by_words_and_rounded() {
        let pages = vec![ok_page(1, 90.04, 3), ok_page(2, 60.0, 1)];
        assert_eq!(pages[0].confidence, Some(90.0));
        assert_eq!(BookRecord::confidence_of(&pages), Some(82.5));
        let failed = PageRecord::failed(3, "b/3.png", 0, "broken".into(), Vec::new());
        assert_eq!(BookRecord::confidence_of(&[failed]), None);
    }

    #[test]
    fn summary_counts_books_and_pages() {
        let failed = PageRecord::failed(2, "b/2.png", 0, "broken".into(), Vec::new());
        let books = vec![
            book("a", Status::Ok, vec![ok_page(1, 90.0, 1)]),
            book("b", Status::Partial, vec![ok_page(1, 90.0, 1), failed]),
            book("c", Status::Failed, Vec::new()),
        ];
        let s = Summary::from_books(&books, StageSeconds::default());
        assert_eq!(
            (s.books, s.books_ok, s.books_partial, s.books_failed),
            (3, 1, 1, 1)
        );
        assert_eq!((s.pages, s.pages_failed), (3, 1));
    }

    #[test]
    fn read_gives_back_what_write_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let m = manifest(
            "2026-01-01T00:00:00Z",
            vec![book("a", Status::Ok, vec![ok_page(1, 90.0, 1)])],
        );
        m.write(&path).unwrap();
        let back = Manifest::read(&path).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&m).unwrap()
        );
    }

    #[test]
    fn read_names_a_newer_schema_and_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, r#"{"schema_version": "9.0", "books": "?"}"#).unwrap();
        let e = Manifest::read(&path).unwrap_err();
        assert!(matches!(e, ManifestError::NewerSchema { .. }), "{e}");
        assert!(
            e.to_string().contains(&format!(
                "written by a newer kitap (schema 9.0; this kitap reads up to {SCHEMA_VERSION})"
            )),
            "{e}"
        );
        assert!(is_newer_schema("1.99") && is_newer_schema("2.0"));
        assert!(!is_newer_schema("1.0") && !is_newer_schema(SCHEMA_VERSION));
        assert!(!is_newer_schema("one"));
        std::fs::write(&path, "{\"schema_version\": \"1.0\",\n  \"books\": [").unwrap();
        let e = Manifest::read(&path).unwrap_err();
        assert!(matches!(e, ManifestError::Parse { .. }), "{e}");
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = Manifest::read(&dir.path().join("none.json")).unwrap_err();
        assert!(matches!(e, ManifestError::Read { .. }), "{e}");
    }

    #[test]
    fn verify_finds_missing_resized_and_altered_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::create_dir(out.join("a")).unwrap();
        let mut b = book("a", Status::Ok, vec![ok_page(1, 90.0, 1)]);
        for (name, text) in [("a.pdf", "pdf"), ("a.txt", "text"), ("a.epub", "epub")] {
            let p = out.join("a").join(name);
            std::fs::write(&p, text).unwrap();
            b.files.push(FileRecord::describe(out, &p, "x/y").unwrap());
        }
        assert_eq!(b.files[0].path, "a/a.pdf");
        let m = manifest("2026-01-01T00:00:00Z", vec![b]);
        assert!(m.verify(out).is_empty());
        std::fs::remove_file(out.join("a/a.pdf")).unwrap();
        std::fs::write(out.join("a/a.txt"), "texts").unwrap();
        std::fs::write(out.join("a/a.epub"), "EPUB").unwrap();
        let problems = m.verify(out);
        assert_eq!(problems.len(), 3);
        assert!(matches!(problems[0], FileProblem::Unreadable { .. }));
        assert!(matches!(
            problems[1],
            FileProblem::Size {
                listed: 4,
                found: 5,
                ..
            }
        ));
        assert!(matches!(problems[2], FileProblem::Digest { .. }));
        assert!(problems.iter().all(|p| p.book() == "a"));
        assert!(problems[2].to_string().contains("a/a.epub"));
        // A manifest is not trusted to name files outside OUT.
        let mut m = m;
        m.books[0].files[0].path = "../../etc/passwd".into();
        m.books[0].files[1].path = "/etc/passwd".into();
        let problems = m.verify(out);
        assert!(matches!(problems[0], FileProblem::OutsideOut { .. }));
        assert!(matches!(problems[1], FileProblem::OutsideOut { .. }));
    }
}
