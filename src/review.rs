//! `OUT/review.html`: the page an editor opens before signing a batch off. One static file
//! (styles and script inline, the batch as one JSON blob) beside the books' thumbnails, so it
//! works from `file://` and from any static web server, with no network and no build step.
//! Made from the manifest alone: every convert run writes it, and `kitap review OUT` remakes
//! it from an existing OUT without OCR.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsio;
use crate::manifest::review::{self, Flag};
use crate::manifest::{BookRecord, Manifest, PageRecord, PageStatus};

/// The review page's name in OUT.
pub const REVIEW_FILE: &str = "review.html";

/// The page around the data: markup, styles and script, no external resource.
const TEMPLATE: &str = include_str!("../assets/review.html");
/// Where the template takes the batch's JSON.
const DATA_SLOT: &str = "/*KITAP-DATA*/{}";

/// Writes `OUT/review.html` for `manifest` (atomically). Returns its path.
pub fn write(out: &Path, manifest: &Manifest) -> io::Result<PathBuf> {
    let path = out.join(REVIEW_FILE);
    let html = render(out, manifest);
    fsio::write_atomic(&path, html.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The review page of `manifest` as HTML.
pub fn render(out: &Path, manifest: &Manifest) -> String {
    let data = Data::of(out, manifest);
    let json = serde_json::to_string(&data).expect("review data serialises");
    // Inside <script> nothing may look like markup: `<` (as in `</script>` or `<!--`) is
    // written as its JSON escape, which JSON.parse reads back unchanged.
    let json = json.replace('<', "\\u003c");
    TEMPLATE.replacen(DATA_SLOT, &json, 1)
}

/// The batch as the page's script reads it. Keys are short: a 5,000-page batch is one blob.
#[derive(Serialize)]
struct Data<'a> {
    /// OUT's folder name.
    out: String,
    kitap_version: &'a str,
    pipeline: &'a str,
    finished: &'a str,
    threshold: f64,
    /// Every flag as `[name, label, needs review]`, in filter order.
    flags: Vec<(&'static str, &'static str, bool)>,
    books: Vec<BookData<'a>>,
    /// The pages that need review, most doubtful first, as `[book, page]` positions.
    first: Vec<(usize, usize)>,
}

#[derive(Serialize)]
struct BookData<'a> {
    id: &'a str,
    title: Option<&'a str>,
    authors: &'a [String],
    year: Option<i32>,
    isbn: Option<&'a str>,
    publisher: Option<&'a str>,
    languages: Vec<&'a str>,
    status: &'static str,
    error: Option<&'a str>,
    confidence: Option<f64>,
    needs_review: bool,
    converted_at: Option<&'a str>,
    warnings: &'a [String],
    /// The book's files but thumbnails: `[path, media type, bytes]`.
    files: Vec<(&'a str, &'a str, u64)>,
    pages: Vec<PageData<'a>>,
}

#[derive(Serialize)]
struct PageData<'a> {
    /// Index (1-based).
    i: u32,
    /// Printed label, when it differs from the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<&'a str>,
    /// Thumbnail path, relative to OUT.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<&'a str>,
    /// The scan it came from.
    s: &'a str,
    /// Confidence, 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<f64>,
    /// Words.
    w: usize,
    /// Flag names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    f: Vec<&'static str>,
    /// What was done to the page, for people ("turned 180° (OSD)", "straightened 2.9°").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    n: Vec<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
    /// Warnings.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    x: &'a [String],
    /// Needs review.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    r: bool,
}

impl<'a> Data<'a> {
    fn of(out: &Path, m: &'a Manifest) -> Data<'a> {
        let threshold = m
            .pipeline
            .review_below_confidence
            .unwrap_or(review::DEFAULT_THRESHOLD);
        let mut first = Vec::new();
        for (b, book) in m.books.iter().enumerate() {
            for (p, page) in book.pages.iter().enumerate() {
                if let Some(d) = review::doubt(page, threshold) {
                    first.push((d, b, p));
                }
            }
        }
        // Most doubtful first; ties in batch order.
        first.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(a.0.1.total_cmp(&b.0.1)));
        let name = out
            .canonicalize()
            .unwrap_or_else(|_| out.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Data {
            out: name,
            kitap_version: &m.kitap_version,
            pipeline: &m.pipeline.name,
            finished: &m.finished,
            threshold,
            flags: Flag::ALL
                .iter()
                .map(|f| (f.name(), f.label(), f.needs_review()))
                .collect(),
            books: m.books.iter().map(|b| BookData::of(b, threshold)).collect(),
            first: first.into_iter().map(|(_, b, p)| (b, p)).collect(),
        }
    }
}

impl<'a> BookData<'a> {
    fn of(b: &'a BookRecord, threshold: f64) -> BookData<'a> {
        let m = &b.metadata;
        let pages: Vec<PageData> = b.pages.iter().map(|p| PageData::of(p, threshold)).collect();
        BookData {
            id: &b.id,
            title: m.title.as_deref(),
            authors: &m.authors,
            year: m.year,
            isbn: m.isbn.as_deref(),
            publisher: m.publisher.as_deref(),
            languages: b.languages.iter().map(|l| l.name.as_str()).collect(),
            status: b.status.name(),
            error: b.error.as_deref(),
            confidence: b.confidence,
            needs_review: b.status != crate::manifest::Status::Ok || pages.iter().any(|p| p.r),
            converted_at: b.converted_at.as_deref(),
            warnings: &b.warnings,
            files: b
                .files
                .iter()
                .filter(|f| !is_thumbnail(&f.path))
                .map(|f| (f.path.as_str(), f.media_type.as_str(), f.bytes))
                .collect(),
            pages,
        }
    }
}

impl<'a> PageData<'a> {
    fn of(p: &'a PageRecord, threshold: f64) -> PageData<'a> {
        let flags = review::flags(p, threshold);
        let mut notes = Vec::new();
        if let Some(turn) = review::turn_note(p) {
            notes.push(format!("turned {turn}"));
        }
        if flags.contains(&Flag::Straightened)
            && let Some(s) = p.skew_cw_deg
        {
            notes.push(format!("straightened {:.1}°", s.abs()));
        }
        if let (Some(d), true) = (p.dpi, flags.contains(&Flag::DpiEstimated)) {
            notes.push(format!("{d:.0} dpi estimated from the text"));
        }
        if let (Some(d), true) = (p.dpi, flags.contains(&Flag::DpiAssumed)) {
            notes.push(format!("{d:.0} dpi assumed"));
        }
        if let Some(part) = p.part {
            notes.push(format!("{} half of a spread", part.name()));
        }
        let label = p.label.as_deref().filter(|l| *l != p.index.to_string());
        PageData {
            i: p.index,
            l: label,
            t: p.thumbnail.as_deref(),
            s: &p.source,
            c: p.confidence,
            w: p.words,
            r: flags.iter().any(|f| f.needs_review()),
            f: flags.iter().map(|f| f.name()).collect(),
            n: notes,
            e: (p.status == PageStatus::Failed)
                .then_some(p.error.as_deref())
                .flatten(),
            x: &p.warnings,
        }
    }
}

fn is_thumbnail(path: &str) -> bool {
    path.split('/').nth(1) == Some(crate::convert::THUMBNAIL_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PipelineInfo, StageSeconds, Status};

    #[test]
    fn markup_in_the_data_cannot_end_the_script() {
        let mut book = BookRecord::new("b", Status::Ok, "b");
        book.metadata.title = Some("</script><script>alert(1)</script> <!--".into());
        let m = Manifest::new(
            PipelineInfo::default(),
            "2026-11-30T00:00:00Z".into(),
            "2026-11-30T00:00:00Z".into(),
            vec![book],
            StageSeconds::default(),
        );
        let html = render(Path::new("/tmp/OUT"), &m);
        assert_eq!(
            html.matches("</script>").count(),
            TEMPLATE.matches("</script>").count()
        );
        assert!(!html.contains("<!--"));
        assert!(html.contains("\\u003c/script>\\u003cscript>alert(1)"));
        assert!(!html.contains(DATA_SLOT));
    }
}
