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

/// Why an approval was not recorded, or the page not written.
#[derive(Debug)]
pub enum ApproveError {
    /// The manifest cannot be read (exit 2).
    Manifest(crate::manifest::ManifestError),
    /// Not something an editor can approve: an unknown id, a failed book, no name (exit 2).
    Refused(String),
    /// Another run holds OUT (exit 3), or its lock cannot be taken (exit 4).
    Lock(crate::lock::LockError),
    /// OUT cannot be written (exit 4).
    Write(io::Error),
}

impl ApproveError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ApproveError::Manifest(_) | ApproveError::Refused(_) => 2,
            ApproveError::Lock(crate::lock::LockError::Held { .. }) => 3,
            ApproveError::Lock(_) | ApproveError::Write(_) => 4,
        }
    }
}

impl std::fmt::Display for ApproveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApproveError::Manifest(e) => e.fmt(f),
            ApproveError::Refused(m) => f.write_str(m),
            ApproveError::Lock(e) => e.fmt(f),
            ApproveError::Write(e) => e.fmt(f),
        }
    }
}

/// Records an editor's sign-off (`by`) of the current generation of each book in `approve`,
/// and withdraws it from each in `revoke`: in the book's record (so it holds for this
/// generation only) and in the manifest, under OUT's lock, all or nothing as far as the
/// checks go. Then review.html is written again. Returns one line per book.
pub fn approve(
    out: &Path,
    approve: &[String],
    revoke: &[String],
    by: Option<&str>,
) -> Result<Vec<String>, ApproveError> {
    let by = by.map(str::trim).filter(|b| !b.is_empty());
    if !approve.is_empty() && by.is_none() {
        return Err(ApproveError::Refused(
            "--approve needs the editor's name: --by NAME (or KITAP_EDITOR)".into(),
        ));
    }
    if let Some(id) = approve.iter().find(|id| revoke.contains(id)) {
        return Err(ApproveError::Refused(format!(
            "{id}: both --approve and --revoke; say which"
        )));
    }
    let (manifest_path, _lock) = lock_out(out)?;
    let mut manifest = Manifest::read(&manifest_path).map_err(ApproveError::Manifest)?;
    let at = crate::manifest::now_rfc3339();
    // Every book is checked before anything is written.
    let mut changes = Vec::new();
    for (id, approving) in approve
        .iter()
        .map(|i| (i, true))
        .chain(revoke.iter().map(|i| (i, false)))
    {
        let Some(pos) = manifest.books.iter().position(|b| &b.id == id) else {
            return Err(ApproveError::Refused(format!(
                "{}: no book {id:?}",
                manifest_path.display()
            )));
        };
        let book = &manifest.books[pos];
        if approving && book.status == crate::manifest::Status::Failed {
            return Err(ApproveError::Refused(format!(
                "{id}: the book failed ({}); there is nothing to approve",
                book.error.as_deref().unwrap_or("no files")
            )));
        }
        let dir = out.join(id);
        let record = crate::generation::read_record(&dir);
        let same = record
            .as_ref()
            .is_some_and(|r| r.converted_at == book.converted_at && r.files == book.files);
        if !same {
            return Err(ApproveError::Refused(format!(
                "{}: the book's folder does not hold the generation the manifest lists (run kitap validate)",
                dir.display()
            )));
        }
        let approval = approving.then(|| crate::manifest::Approval {
            by: by.unwrap_or_default().to_string(),
            at: at.clone(),
            converted_at: book.converted_at.clone(),
        });
        changes.push((pos, record.expect("checked"), approval));
    }
    // An approval is written to the record first, a withdrawal to the manifest first: a run
    // killed in between leaves the manifest (what an upload script reads) on the side of
    // holding the book back.
    let mut lines = Vec::new();
    let mut revokes = Vec::new();
    for (pos, mut record, approval) in changes {
        let book = &mut manifest.books[pos];
        let before = match &book.approved {
            Some(a) => format!(" (it was approved by {} at {})", a.by, a.at),
            None => String::new(),
        };
        match &approval {
            Some(a) => lines.push(format!(
                "{}: approved by {} (the generation of {}){before}",
                book.id,
                a.by,
                a.converted_at.as_deref().unwrap_or("?")
            )),
            None if book.approved.is_none() => {
                lines.push(format!("{}: was not approved", book.id));
                continue;
            }
            None => lines.push(format!("{}: approval withdrawn{before}", book.id)),
        }
        record.approved = approval.clone();
        book.approved = approval;
        if record.approved.is_some() {
            crate::generation::write_record(&out.join(&book.id), &record)
                .map_err(ApproveError::Write)?;
        } else {
            revokes.push(record);
        }
    }
    manifest
        .write(&manifest_path)
        .map_err(ApproveError::Write)?;
    for record in revokes {
        crate::generation::write_record(&out.join(&record.id), &record)
            .map_err(ApproveError::Write)?;
    }
    write(out, &manifest).map_err(ApproveError::Write)?;
    Ok(lines)
}

/// Writes review.html again from OUT's manifest, under OUT's lock (a run in progress writes
/// it itself when it ends).
pub fn remake(out: &Path) -> Result<PathBuf, ApproveError> {
    let (manifest_path, _lock) = lock_out(out)?;
    let manifest = Manifest::read(&manifest_path).map_err(ApproveError::Manifest)?;
    write(out, &manifest).map_err(ApproveError::Write)
}

/// OUT's lock, taken only where OUT has a manifest (no lock file is left in a folder that
/// is not kitap's); returns the manifest's path with it.
fn lock_out(out: &Path) -> Result<(PathBuf, crate::lock::OutLock), ApproveError> {
    let path = out.join("manifest.json");
    if let Err(source) = std::fs::metadata(&path) {
        return Err(ApproveError::Manifest(
            crate::manifest::ManifestError::Read { path, source },
        ));
    }
    let lock = crate::lock::OutLock::acquire(out, None).map_err(ApproveError::Lock)?;
    Ok((path, lock))
}

/// The batch as the page's script reads it. A 5,000-page batch is one blob, so pages are
/// terse: short keys, flags as bits, repeated texts (warnings, notes, errors) once in
/// `strings`, thumbnails and scans by the book's folder and the page's index.
#[derive(Serialize)]
struct Data<'a> {
    /// OUT's folder name.
    out: String,
    kitap_version: &'a str,
    pipeline: &'a str,
    finished: &'a str,
    threshold: f64,
    /// Every flag as `[name, label, needs review]`; a page's `f` has bit k for flag k.
    flags: Vec<(&'static str, &'static str, bool)>,
    /// The texts pages refer to by position.
    strings: Vec<String>,
    books: Vec<BookData<'a>>,
    /// The pages that need review, most doubtful first, as `[book, page]` positions.
    first: Vec<(usize, usize)>,
}

#[derive(Serialize)]
struct BookData<'a> {
    id: &'a str,
    title: Option<&'a str>,
    authors: &'a [String],
    /// As written (`"193-?"`), or a periodical issue's date and number.
    year: Option<String>,
    series: Option<String>,
    isbn: Option<&'a str>,
    publisher: Option<&'a str>,
    languages: Vec<&'a str>,
    status: &'static str,
    error: Option<&'a str>,
    confidence: Option<f64>,
    needs_review: bool,
    converted_at: Option<&'a str>,
    /// Who approved this generation, and when.
    approved: Option<(&'a str, &'a str)>,
    warnings: &'a [String],
    /// The book's files but thumbnails: `[path, media type, bytes]`.
    files: Vec<(&'a str, &'a str, u64)>,
    /// What a page's `s` (its scan) is relative to: the book's folder and a slash, or nothing.
    src: String,
    pages: Vec<PageData<'a>>,
}

#[derive(Serialize)]
struct PageData<'a> {
    /// Index (1-based).
    i: u32,
    /// Printed label, when it differs from the index.
    #[serde(skip_serializing_if = "Option::is_none")]
    l: Option<&'a str>,
    /// Thumbnail: 1 for `<id>/<id>.thumbs/<index>.jpg`, else its path relative to OUT; none absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<Thumb<'a>>,
    /// The scan it came from, after the book's `src`.
    s: &'a str,
    /// Confidence, 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    c: Option<f64>,
    /// Words.
    w: usize,
    /// Flags, bit k for `flags[k]`.
    #[serde(skip_serializing_if = "is_zero")]
    f: u32,
    /// What was done to the page, for people ("turned 180° (OSD)"), as `strings` positions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    n: Vec<usize>,
    /// Why it failed (a `strings` position).
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<usize>,
    /// Warnings (`strings` positions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    x: Vec<usize>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Thumb<'a> {
    Usual(u8),
    Path(&'a str),
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Texts kept once, referred to by position.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: std::collections::HashMap<String, usize>,
}

impl Strings {
    fn of(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }
}

impl<'a> Data<'a> {
    fn of(out: &Path, m: &'a Manifest) -> Data<'a> {
        let threshold = m
            .pipeline
            .review_below_confidence
            .unwrap_or(review::DEFAULT_THRESHOLD);
        let mut first = Vec::new();
        // An approved book's pages have been looked at.
        for (b, book) in m
            .books
            .iter()
            .enumerate()
            .filter(|(_, b)| b.approved.is_none())
        {
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
        let mut strings = Strings::default();
        let books = m
            .books
            .iter()
            .map(|b| BookData::of(b, threshold, &mut strings))
            .collect();
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
            strings: strings.list,
            books,
            first: first.into_iter().map(|(_, b, p)| (b, p)).collect(),
        }
    }
}

impl<'a> BookData<'a> {
    fn of(b: &'a BookRecord, threshold: f64, strings: &mut Strings) -> BookData<'a> {
        let m = &b.metadata;
        let prefix = format!("{}/", b.source);
        let src = if b.pages.iter().all(|p| p.source.starts_with(&prefix)) {
            prefix
        } else {
            String::new()
        };
        let pages: Vec<PageData> = b
            .pages
            .iter()
            .map(|p| PageData::of(b, p, &src, threshold, strings))
            .collect();
        let review_mask: u32 = Flag::ALL
            .iter()
            .filter(|f| f.needs_review())
            .map(|f| f.bit())
            .sum();
        BookData {
            id: &b.id,
            title: m.title.as_deref(),
            authors: &m.authors,
            year: m.shown_date().map(|d| match &m.issue {
                Some(i) => format!("№ {i}, {d}"),
                None => d,
            }),
            series: m.series.as_ref().map(|s| match &m.volume {
                Some(v) => format!("{s}, {v}"),
                None => s.clone(),
            }),
            isbn: m.isbn.as_deref(),
            publisher: m.publisher.as_deref(),
            languages: b.languages.iter().map(|l| l.name.as_str()).collect(),
            status: b.status.name(),
            error: b.error.as_deref(),
            confidence: b.confidence,
            needs_review: b.status != crate::manifest::Status::Ok
                || pages.iter().any(|p| p.f & review_mask != 0),
            converted_at: b.converted_at.as_deref(),
            approved: b.approved.as_ref().map(|a| (a.by.as_str(), a.at.as_str())),
            warnings: &b.warnings,
            files: b
                .files
                .iter()
                .filter(|f| !review::is_thumbnail(&f.path))
                .map(|f| (f.path.as_str(), f.media_type.as_str(), f.bytes))
                .collect(),
            src,
            pages,
        }
    }
}

impl<'a> PageData<'a> {
    fn of(
        b: &BookRecord,
        p: &'a PageRecord,
        src: &str,
        threshold: f64,
        strings: &mut Strings,
    ) -> PageData<'a> {
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
        let usual = crate::convert::thumbnail_path(&b.id, p.index);
        let thumb = p.thumbnail.as_deref().map(|t| {
            if t == usual {
                Thumb::Usual(1)
            } else {
                Thumb::Path(t)
            }
        });
        PageData {
            i: p.index,
            l: p.label.as_deref().filter(|l| *l != p.index.to_string()),
            t: thumb,
            s: p.source.strip_prefix(src).unwrap_or(&p.source),
            c: p.confidence,
            w: p.words,
            f: flags.iter().map(|f| f.bit()).sum(),
            n: notes.iter().map(|n| strings.of(n)).collect(),
            e: (p.status == PageStatus::Failed)
                .then_some(p.error.as_deref())
                .flatten()
                .map(|e| strings.of(e)),
            x: p.warnings.iter().map(|w| strings.of(w)).collect(),
        }
    }
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
