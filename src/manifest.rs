//! The batch manifest: what was converted, from where, into which files, how well.
//! Its JSON Schema is `schemas/manifest.schema.json`; bump [`SCHEMA_VERSION`] on any change.

use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::BookMeta;

pub const SCHEMA_VERSION: &str = "1.0";

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
    pub books: Vec<BookRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineInfo {
    pub name: String,
    pub description: String,
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
    /// Tesseract models used, e.g. `["rus", "eng"]`.
    pub ocr_models: Vec<String>,
    pub page_count: usize,
    /// Mean of the pages' confidences, weighted by their word counts.
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub pages: Vec<PageRecord>,
    pub files: Vec<FileRecord>,
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
    pub part: Option<String>,
    /// The part of the prepared scan this page shows, `[left, top, right, bottom]` in pixels,
    /// when borders were cut or a spread split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crop: Option<[u32; 4]>,
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
    pub image_encoding: Option<String>,
    /// How far the scanned content was found turned clockwise (after EXIF): 0, 90, 180, 270.
    pub rotation_cw_deg: Option<u32>,
    /// How far the scanned content was found skewed clockwise, degrees.
    pub skew_cw_deg: Option<f64>,
    /// How the page was straightened for display: `resampled`, `matrix` or `none`.
    pub correction: Option<String>,
    /// What decided the orientation: `osd`, `trial` or `none`.
    pub orientation_by: Option<String>,
    /// Mean word confidence 0–100; null when the page has no words.
    pub confidence: Option<f64>,
    pub words: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Ok,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub media_type: String,
    pub bytes: u64,
    pub sha256: String,
}

impl FileRecord {
    /// Describes a finished output file by reading it back.
    pub fn describe(out_root: &Path, path: &Path, media_type: &str) -> io::Result<FileRecord> {
        let (bytes, sha256) = hash_file(path)?;
        let rel = path.strip_prefix(out_root).unwrap_or(path);
        Ok(FileRecord {
            path: rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            media_type: media_type.to_string(),
            bytes,
            sha256,
        })
    }
}

/// Size and SHA-256 (lowercase hex) of a file.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, format!("{:x}", hasher.finalize())))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a file and a crash never leaves one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `dir/.name.kitap-tmp-PID`: hidden, so a scan of the output folder never mistakes it for a result.
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.kitap-tmp-{}", std::process::id()))
}

impl Manifest {
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        json.push(b'\n');
        write_atomic(path, &json)
    }
}

/// Current time as RFC 3339 UTC with second precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}
