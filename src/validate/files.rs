//! Every listed file of every book, checked on `--jobs` threads: its size and SHA-256, then,
//! for a PDF, EPUB or text file whose bytes matched, its structure (read from the same bytes).
//! A damaged file is one digest problem, never also a structure problem.

use std::path::Path;

use rayon::prelude::*;

use super::{Problem, file_problem, problem};
use crate::manifest::{BookRecord, FileRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pdf,
    Epub,
    Text,
    /// An ALTO page.
    Alto,
    /// Checked by size and SHA-256 only (hOCR, images).
    Other,
}

fn kind(file: &FileRecord) -> Kind {
    let media = file.media_type.to_ascii_lowercase();
    match media.split(';').next().unwrap_or_default().trim() {
        "application/pdf" => Kind::Pdf,
        "application/epub+zip" => Kind::Epub,
        "text/plain" => Kind::Text,
        crate::alto::MEDIA_TYPE => Kind::Alto,
        _ => Kind::Other,
    }
}

/// The problems of each book's files, one list per book in manifest order, each in the order
/// the book lists its files, whatever order the threads finished in.
pub(super) fn check(out: &Path, books: &[BookRecord], jobs: usize) -> Vec<Vec<Problem>> {
    let work: Vec<(usize, &FileRecord)> = books
        .iter()
        .enumerate()
        .flat_map(|(i, b)| b.files.iter().map(move |f| (i, f)))
        .collect();
    let one = |&(i, file): &(usize, &FileRecord)| check_file(out, &books[i], file);
    let results: Vec<Vec<Problem>> = match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .thread_name(|i| format!("validate-{i}"))
        .build()
    {
        Ok(pool) => pool.install(|| work.par_iter().map(one).collect()),
        Err(_) => work.iter().map(one).collect(),
    };
    let mut per_book = vec![Vec::new(); books.len()];
    for ((i, _), problems) in work.iter().zip(results) {
        per_book[*i].extend(problems);
    }
    per_book
}

fn check_file(out: &Path, book: &BookRecord, file: &FileRecord) -> Vec<Problem> {
    let kind = kind(file);
    let bytes = match file.check(&book.id, out, kind != Kind::Other) {
        Err(p) => return vec![file_problem(book, p)],
        Ok(None) => return Vec::new(),
        Ok(Some(bytes)) => bytes,
    };
    let look = || match kind {
        Kind::Pdf => super::pdf::check(&bytes, book),
        Kind::Epub => super::epub::check(&bytes, book),
        Kind::Text => super::txt::check(&bytes, book),
        Kind::Alto => alto(&bytes, book, &file.path),
        Kind::Other => Vec::new(),
    };
    // A reader that panics on a strange file is a problem with that file, not a crash.
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(look)).unwrap_or_else(|_| {
        let code = match kind {
            Kind::Pdf => "pdf-open",
            Kind::Epub => "epub-container",
            Kind::Alto => "alto-xml",
            _ => "txt-pages",
        };
        vec![(
            code,
            "the reader failed on it (see the message above)".into(),
        )]
    });
    let path = out.join(&file.path).display().to_string();
    found
        .into_iter()
        .map(|(code, message)| problem(book, path.clone(), code, message))
        .collect()
}

/// An ALTO page: well-formed XML, ALTO 4's `alto` root, one `Page` numbered as its file is
/// (`0007.xml` holds page 7) within the book.
fn alto(bytes: &[u8], book: &BookRecord, path: &str) -> Vec<(&'static str, String)> {
    let bad = |m: String| vec![("alto-xml", m)];
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bad("not UTF-8".into());
    };
    let doc = match roxmltree::Document::parse(text) {
        Ok(d) => d,
        Err(e) => return bad(format!("not well-formed XML: {e}")),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "alto"
        || root.tag_name().namespace() != Some(crate::alto::NAMESPACE)
    {
        return bad(format!(
            "the root is not ALTO 4's <alto> ({})",
            crate::alto::NAMESPACE
        ));
    }
    let pages: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("Page"))
        .collect();
    let number = pages
        .first()
        .and_then(|p| p.attribute("PHYSICAL_IMG_NR"))
        .and_then(|n| n.parse::<f64>().ok());
    let named: Option<f64> = path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_suffix(".xml"))
        .and_then(|n| n.parse().ok());
    match (pages.len(), number) {
        (1, Some(n)) if named.is_some_and(|f| f != n) => bad(format!(
            "it holds page {n}, its name says page {}",
            named.unwrap_or_default()
        )),
        (1, Some(n)) if n >= 1.0 && n <= book.page_count as f64 => Vec::new(),
        (1, _) => bad(format!(
            "its Page's PHYSICAL_IMG_NR is not a page of the book's {}",
            book.page_count
        )),
        (n, _) => bad(format!("{n} Page elements, one expected")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_pick_the_structure_check() {
        let f = |m: &str| FileRecord {
            path: "a/a".into(),
            media_type: m.into(),
            bytes: 0,
            sha256: String::new(),
        };
        assert_eq!(kind(&f("application/pdf")), Kind::Pdf);
        assert_eq!(kind(&f("application/epub+zip")), Kind::Epub);
        assert_eq!(kind(&f("text/plain; charset=utf-8")), Kind::Text);
        assert_eq!(kind(&f("text/vnd.hocr+html")), Kind::Other);
        assert_eq!(kind(&f("image/jpeg")), Kind::Other);
    }
}
