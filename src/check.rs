//! `kitap check SCANS`: the dry run before the night. Everything a convert would read before
//! its first pixel — the scan tree, each book.toml, languages and their models, every page
//! file's header and every TIFF frame — and nothing else: no OCR, no pixels decoded, nothing
//! written. A report per book on stdout, then a summary; the exit status says whether the
//! night will go clean.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;

use crate::convert::plan::{self, PlannedBook};
use crate::load::{self, LoadLimits};

/// What the user asked.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckRequest {
    /// Folder of book folders, or a single book folder.
    pub scans: PathBuf,
    /// Languages for books whose book.toml names none, as for convert.
    #[arg(short, long)]
    pub lang: Option<String>,
    /// The pipeline the night will run (its languages and page size limit apply).
    #[arg(short, long, default_value = "default")]
    pub pipeline: String,
    /// Only books with problems or warnings, and the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also a line per page: its format, size in pixels, kind and file size.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// What one book would meet.
#[derive(Debug, Default)]
struct BookReport {
    id: String,
    shown: String,
    /// Pages by format, in the order first met.
    formats: BTreeMap<&'static str, usize>,
    pages: usize,
    languages: String,
    /// Would fail the book or a page: (where, what).
    problems: Vec<String>,
    warnings: Vec<String>,
    skipped: Vec<String>,
    /// A line per readable page (shown with `-v`).
    details: Vec<String>,
}

impl BookReport {
    fn clean(&self) -> bool {
        self.problems.is_empty() && self.warnings.is_empty()
    }

    fn render(&self, verbose: bool) -> String {
        let mut s = String::new();
        let formats: Vec<String> = self
            .formats
            .iter()
            .map(|(f, n)| format!("{f} {n}"))
            .collect();
        let _ = write!(s, "{}", self.id);
        if self.shown != self.id {
            let _ = write!(s, " ({})", self.shown);
        }
        let _ = write!(s, ": {} page(s)", self.pages);
        if !formats.is_empty() {
            let _ = write!(s, " [{}]", formats.join(", "));
        }
        if !self.languages.is_empty() {
            let _ = write!(s, "; {}", self.languages);
        }
        let verdict = if !self.problems.is_empty() {
            format!("{} problem(s)", self.problems.len())
        } else if !self.warnings.is_empty() {
            format!("{} warning(s)", self.warnings.len())
        } else {
            "ok".to_string()
        };
        let _ = writeln!(s, ": {verdict}");
        for p in &self.problems {
            let _ = writeln!(s, "  problem: {p}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
        for k in &self.skipped {
            let _ = writeln!(s, "  skipped: {k}");
        }
        if verbose {
            for d in &self.details {
                let _ = writeln!(s, "  {d}");
            }
        }
        s
    }
}

/// Checks one planned book: its planning problems, then each page's header.
fn check_book(book: &PlannedBook, limits: LoadLimits, split: bool) -> BookReport {
    let mut r = BookReport {
        id: book.dir.id.clone(),
        shown: book.dir.source.clone(),
        pages: book.pages.len(),
        ..BookReport::default()
    };
    let skipped = book.dir.skipped.len();
    r.skipped = book.warnings[..skipped.min(book.warnings.len())].to_vec();
    r.warnings = book.warnings[skipped.min(book.warnings.len())..].to_vec();
    if let Some(e) = &book.error {
        r.problems.push(e.to_string());
        return r;
    }
    r.languages = if book.auto_languages {
        "languages auto (found from the pages)".to_string()
    } else {
        let langs: Vec<&str> = book.info.languages.iter().map(|l| l.bcp47).collect();
        format!("languages {} → {}", langs.join(", "), book.models.join("+"))
    };
    if book.pages.is_empty() {
        r.problems.push("no pages".to_string());
    }
    // Spreads split into two pages only when converted: a chapter past the planned pages may
    // then be in the book.
    if !split {
        r.warnings
            .extend(book.info.meta.chapters_past(book.pages.len()));
    }
    for page in &book.pages {
        let name = page
            .file
            .file_name()
            .map(crate::discover::escape_name)
            .unwrap_or_default();
        let at = if page.frame > 0 {
            format!("page {} ({name}, frame {})", page.index, page.frame + 1)
        } else {
            format!("page {} ({name})", page.index)
        };
        match load::header(&page.file, page.at, limits) {
            Ok(h) => {
                *r.formats.entry(h.format.name()).or_default() += 1;
                r.details.push(format!(
                    "{at}: {}×{} px, {}, {}",
                    h.width,
                    h.height,
                    crate::convert::page::page_kind(&h),
                    crate::convert::page::show_bytes(h.file_bytes)
                ));
                let ext = page
                    .file
                    .extension()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if page.frame == 0
                    && let Some(w) = load::extension_warning(h.format, &ext)
                {
                    r.warnings.push(format!("{at}: {w}"));
                }
            }
            Err(e) => r.problems.push(format!("{at}: {e}")),
        }
        if let Some(note) = &page.note {
            r.warnings.push(format!("{at}: {note}"));
        }
    }
    r
}

/// Runs `kitap check`: 0 clean (warnings allowed), 1 problems, 2 unusable.
pub fn run(req: &CheckRequest) -> ExitCode {
    let started = Instant::now();
    if !req.scans.is_dir() {
        eprintln!(
            "kitap: {}: not a folder of scanned books",
            req.scans.display()
        );
        return ExitCode::from(2);
    }
    let survey = match plan::survey(&req.scans, req.lang.as_ref(), &req.pipeline) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kitap: {e}");
            return ExitCode::from(2);
        }
    };
    if survey.books.is_empty() {
        eprintln!(
            "kitap: {}: no book folders with page images found (looked for {} files)",
            req.scans.display(),
            crate::discover::PAGE_EXTENSIONS.join(", ")
        );
        return ExitCode::from(2);
    }
    let limits = survey.settings.load;
    let split = survey.settings.pipeline.split != crate::config::Split::Never;
    // Reading headers waits on the disk (or the network share) far more than it computes.
    let reports: Vec<BookReport> = plan::on_io_threads(|| {
        survey
            .books
            .par_iter()
            .map(|b| check_book(b, limits, split))
            .collect()
    });
    let mut out = String::new();
    for r in &reports {
        if !req.quiet || !r.clean() {
            out.push_str(&r.render(req.verbose > 0));
        }
    }
    let with_problems = reports.iter().filter(|r| !r.problems.is_empty()).count();
    let with_warnings = reports
        .iter()
        .filter(|r| r.problems.is_empty() && !r.warnings.is_empty())
        .count();
    let pages: usize = reports.iter().map(|r| r.pages).sum();
    let page_problems: usize = reports
        .iter()
        .map(|r| r.problems.iter().filter(|p| p.starts_with("page ")).count())
        .sum();
    let _ = writeln!(
        out,
        "kitap check: {} book(s): {} ok, {with_warnings} with warnings, {with_problems} with problems; {pages} page(s), {page_problems} unreadable; pipeline {}, {} Tesseract models installed; nothing written; {:.1} s",
        reports.len(),
        reports.len() - with_problems - with_warnings,
        survey.settings.pipeline.name,
        survey.installed.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{out}");
    ExitCode::from(u8::from(with_problems > 0))
}
