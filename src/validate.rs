//! `kitap validate`: an editor's check of OUT before upload, from the manifest and the files
//! alone (no scans, no OCR): the manifest against its JSON Schema (compiled in); every listed
//! file present with its size and SHA-256, and then read back — each PDF opens with the
//! manifest's page count, a text layer on the pages read with words and the PDF/A
//! identification; each EPUB's container, package, nav, identifier and title; each text's page
//! chunks; no unlisted file in a book's folder; statuses and the summary consistent; and the
//! metadata rules librarians care about (ISBN check digits, a plausible year, known languages,
//! a real title, no empty author). Each problem is one line naming the file or the manifest
//! entry, grouped by book.

mod epub;
mod files;
mod pdf;
mod schema;
mod txt;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::generation::RECORD_FILE;
use crate::manifest::{
    BookRecord, FileProblem, Manifest, PageStatus, SCHEMA_VERSION, Status, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong, about a file or a manifest entry.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The book it is about (none: the manifest as a whole).
    pub book: Option<String>,
    /// The file, or `manifest.json: books[3] (id)`, or `manifest.json: /json/pointer`.
    pub path: String,
    /// A stable name for scripts, e.g. `file-digest`, `pdf-pages`, `schema`.
    pub code: &'static str,
    pub message: String,
    pub severity: Severity,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(f, "{tag}{}: {}", self.path, self.message)
    }
}

/// How to validate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads hashing and reading files.
    pub jobs: usize,
    /// The latest plausible publication year.
    pub this_year: i32,
}

/// A manifest that was read, and what is wrong with it and with OUT.
#[derive(Debug)]
pub struct Report {
    /// Books the manifest lists (0 when it could not be read as a manifest).
    pub books: usize,
    /// In manifest order, grouped by book: the manifest's own first, the summary's last.
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.problems.len() - self.errors()
    }
}

/// Validates the manifest at `path` and the files of `out`. Err: the manifest cannot be read
/// at all (absent, not JSON, or written by a newer kitap) — the one problem to report.
pub fn run(out: &Path, path: &Path, options: Options) -> Result<Report, Problem> {
    let unreadable = |code, message: String| Problem {
        book: None,
        path: path.display().to_string(),
        code,
        message,
        severity: Severity::Error,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| unreadable("manifest-read", format!("cannot read: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| unreadable("manifest-json", format!("not JSON: {e}")))?;
    if let Some(version) = value.get("schema_version").and_then(|v| v.as_str())
        && crate::manifest::is_newer_schema(version)
    {
        return Err(unreadable(
            "schema-version",
            format!(
                "written by a newer kitap (schema {version}; this kitap reads up to {SCHEMA_VERSION}) — update kitap"
            ),
        ));
    }
    let schema = schema::check(&value);
    match Manifest::parse(&text, path) {
        Ok(manifest) => Ok(Report {
            books: manifest.books.len(),
            problems: checks(out, &manifest, options, schema),
        }),
        // The schema says why; the files cannot be looked at without the entries.
        Err(e) if !schema.is_empty() => {
            let mut problems: Vec<Problem> = schema.into_iter().map(|(_, p)| p).collect();
            problems.push(unreadable(
                "manifest-shape",
                format!("{e}; the files were not checked"),
            ));
            Ok(Report { books: 0, problems })
        }
        Err(e) => Err(unreadable("manifest-shape", e.to_string())),
    }
}

/// Every problem of OUT and its manifest, in manifest order (the summary's last).
pub fn validate(out: &Path, manifest: &Manifest, options: Options) -> Vec<Problem> {
    checks(out, manifest, options, Vec::new())
}

/// The checks, with the schema's problems (by the index of the book they lie in) put first in
/// their book's group.
fn checks(
    out: &Path,
    manifest: &Manifest,
    options: Options,
    schema: Vec<(Option<usize>, Problem)>,
) -> Vec<Problem> {
    let mut by_book: Vec<Vec<Problem>> = vec![Vec::new(); manifest.books.len()];
    let mut problems = Vec::new();
    for (i, p) in schema {
        match i.and_then(|i| by_book.get_mut(i)) {
            Some(group) => group.push(p),
            None => problems.push(p),
        }
    }
    let file_problems = files::check(out, &manifest.books, options.jobs);
    for (i, (book, files)) in manifest.books.iter().zip(file_problems).enumerate() {
        let entry = format!("manifest.json: books[{i}] ({})", book.id);
        problems.append(&mut by_book[i]);
        problems.extend(files);
        problems.extend(unlisted(out, book));
        problems.extend(statuses(book, &entry));
        problems.extend(metadata(book, &entry, options.this_year));
    }
    problems.extend(summary(manifest));
    problems.extend(incomplete(manifest));
    problems
}

fn problem(book: &BookRecord, path: String, code: &'static str, message: String) -> Problem {
    Problem {
        book: Some(book.id.clone()),
        path,
        code,
        message,
        severity: Severity::Error,
    }
}

fn file_problem(book: &BookRecord, p: FileProblem) -> Problem {
    let code = match &p {
        FileProblem::OutsideOut { .. } => "file-outside-out",
        FileProblem::Unreadable { .. } => "file-missing",
        FileProblem::Size { .. } => "file-size",
        FileProblem::Digest { .. } => "file-digest",
    };
    // The problem's own text starts with the path.
    let text = p.to_string();
    let (path, message) = text.split_once(": ").unwrap_or(("", &text));
    problem(book, path.to_string(), code, message.to_string())
}

/// Files in a book's folder that its entry does not list: leftovers of an older run, or
/// something put there by hand (a warning).
fn unlisted(out: &Path, book: &BookRecord) -> Vec<Problem> {
    let dir = out.join(&book.id);
    let listed: Vec<PathBuf> = book
        .files
        .iter()
        .chain(book.kept.iter().flat_map(|k| &k.files))
        .map(|f| out.join(&f.path))
        .collect();
    let mut found = Vec::new();
    walk(&dir, &mut found);
    found
        .into_iter()
        .filter(|p| {
            !listed.contains(p)
                && !p.ends_with(RECORD_FILE)
                && !crate::export::qr::is_qr_file(&book.id, p)
        })
        .map(|p| Problem {
            severity: Severity::Warning,
            ..problem(
                book,
                p.display().to_string(),
                "file-unlisted",
                "in the book's folder but not in the manifest (a leftover, or put there by hand)"
                    .into(),
            )
        })
        .collect()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, found);
        } else {
            found.push(p);
        }
    }
}

fn statuses(book: &BookRecord, entry: &str) -> Vec<Problem> {
    let mut v = Vec::new();
    let failed = book
        .pages
        .iter()
        .filter(|p| p.status == PageStatus::Failed)
        .count();
    let mut bad = |code, message: String| v.push(problem(book, entry.to_string(), code, message));
    match book.status {
        Status::Ok if failed > 0 => {
            bad("status", format!("status ok with {failed} failed page(s)"))
        }
        Status::Partial if failed == 0 => {
            bad("status", "status partial with no failed page".into())
        }
        Status::Failed if !book.files.is_empty() => {
            bad("status", "status failed but files are listed".into());
        }
        Status::Ok | Status::Partial if book.files.is_empty() => {
            bad(
                "status",
                format!("status {:?} but no files are listed", book.status).to_lowercase(),
            );
        }
        _ => {}
    }
    if book.page_count != book.pages.len() {
        bad(
            "page-count",
            format!(
                "page_count {} but {} page records",
                book.page_count,
                book.pages.len()
            ),
        );
    }
    v
}

/// Placeholder titles that mean nobody filled the field in.
const PLACEHOLDER_TITLES: [&str; 6] = [
    "untitled",
    "title",
    "no title",
    "без названия",
    "атаусыз",
    "test",
];

fn metadata(book: &BookRecord, entry: &str, this_year: i32) -> Vec<Problem> {
    let m = &book.metadata;
    let mut v = Vec::new();
    let mut bad = |code, message: String| v.push(problem(book, entry.to_string(), code, message));
    if let Some(isbn) = &m.isbn
        && let Err(why) = check_isbn(isbn)
    {
        bad("isbn-check-digit", format!("isbn {isbn:?}: {why}"));
    }
    if let Some(problem) = m.year.as_ref().and_then(crate::dates::Year::problem) {
        bad("year", problem);
    } else if let Some(y) = &m.year
        && (y.last() < 1450 || y.sort() > this_year)
    {
        bad(
            "year",
            format!("year {y} is not between 1450 (printing) and {this_year}"),
        );
    }
    // Manifests before uncertain years have no year_sort; one that is there must agree.
    if let Some(sort) = m.year_sort
        && Some(sort) != m.year.as_ref().map(crate::dates::Year::sort)
    {
        bad(
            "year-sort",
            format!(
                "year_sort {sort} does not follow from year {} (kitap writes the first year it may be)",
                m.year
                    .as_ref()
                    .map_or_else(|| "missing".into(), ToString::to_string)
            ),
        );
    }
    for code in &m.languages {
        if crate::lang::lookup(code).is_none() {
            bad("language", format!("language {code:?} is not a known code"));
        }
    }
    match m.title.as_deref().map(str::trim) {
        Some("") => bad("title", "the title is empty".into()),
        Some(t) if PLACEHOLDER_TITLES.contains(&t.to_lowercase().as_str()) => {
            bad("title", format!("title {t:?} is a placeholder"));
        }
        _ => {}
    }
    if m.authors.iter().any(|a| a.trim().is_empty()) {
        bad("authors", "an author is an empty string".into());
    }
    // No title at all is an omission the outputs cover (they are titled by the book id), not
    // a wrong value: a warning, which --strict counts.
    if m.title.is_none() {
        v.push(Problem {
            severity: Severity::Warning,
            ..problem(
                book,
                entry.to_string(),
                "title",
                format!(
                    "no title in book.toml (the PDF and EPUB are titled {:?}, the book id)",
                    book.id
                ),
            )
        });
    }
    v
}

/// An ISBN-10 or ISBN-13 (hyphens and spaces allowed) whose check digit is right.
pub fn check_isbn(isbn: &str) -> Result<(), String> {
    let chars: Vec<char> = isbn.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    let digit = |c: char| c.to_digit(10);
    match chars.len() {
        10 => {
            let mut sum = 0;
            for (i, &c) in chars.iter().enumerate() {
                let d = match (i, c) {
                    (9, 'X' | 'x') => 10,
                    _ => digit(c).ok_or("not a digit")?,
                };
                sum += d * (10 - i as u32);
            }
            (sum % 11 == 0)
                .then_some(())
                .ok_or_else(|| "wrong ISBN-10 check digit".into())
        }
        13 => {
            let mut sum = 0;
            for (i, &c) in chars.iter().enumerate() {
                sum += digit(c).ok_or("not a digit")? * if i % 2 == 0 { 1 } else { 3 };
            }
            (sum % 10 == 0)
                .then_some(())
                .ok_or_else(|| "wrong ISBN-13 check digit".into())
        }
        n => Err(format!("{n} digits (an ISBN has 10 or 13)")),
    }
}

/// A merge that lacked shards: their new books are not in it yet (a warning: what is listed is
/// right).
fn incomplete(manifest: &Manifest) -> Option<Problem> {
    (manifest.incomplete || !manifest.missing_shards.is_empty()).then(|| Problem {
        book: None,
        path: "manifest.json".into(),
        code: "shards-missing",
        message: format!(
            "merged without shard(s) {}: books those shards converted are not in it yet (run them, then kitap merge)",
            manifest.missing_shards.join(", ")
        ),
        severity: Severity::Warning,
    })
}

/// The summary must add up to the books listed.
fn summary(manifest: &Manifest) -> Vec<Problem> {
    let want = Summary::from_books(&manifest.books, manifest.summary.stage_seconds);
    let s = &manifest.summary;
    let pairs = [
        ("books", s.books, want.books),
        ("books_ok", s.books_ok, want.books_ok),
        ("books_partial", s.books_partial, want.books_partial),
        ("books_failed", s.books_failed, want.books_failed),
        ("pages", s.pages, want.pages),
        ("pages_failed", s.pages_failed, want.pages_failed),
    ];
    pairs
        .into_iter()
        .filter(|(_, has, should)| has != should)
        .map(|(key, has, should)| Problem {
            book: None,
            path: "manifest.json: summary".into(),
            code: "summary",
            message: format!("{key} is {has}, the books listed give {should}"),
            severity: Severity::Error,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_check_digits() {
        assert_eq!(check_isbn("978-601-7151-13-3"), Ok(()));
        assert_eq!(check_isbn("0-306-40615-2"), Ok(()));
        assert_eq!(check_isbn("0-8044-2957-X"), Ok(()));
        assert!(
            check_isbn("978-601-7151-13-4")
                .unwrap_err()
                .contains("ISBN-13")
        );
        assert!(check_isbn("0-306-40615-3").unwrap_err().contains("ISBN-10"));
        assert!(check_isbn("12345").unwrap_err().contains("5 digits"));
        assert!(check_isbn("97860171511a3").is_err());
    }
}
