//! book.toml metadata is normalised once before any writer sees it (NFC, no control characters
//! or non-characters, whitespace collapsed) and every string is limited to PDF/A's 32,767
//! bytes, measured as the PDF stores it; the manifest keeps the whole normalised value.

mod common;

use std::io::Read;
use std::path::Path;

use common::pdfa::{assert_pdfa, info_entry, xmp_entries};
use common::*;
use kitap::manifest::Status;

/// PDF/A-2's limit for a string (ISO 19005-2 6.1.13).
const LIMIT: usize = 32_767;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A one-page book with this book.toml.
fn book_with(dir: &Path, toml: &str) {
    small_book(dir);
    write(&dir.join("book.toml"), toml);
}

/// The package document (OPF) of an EPUB.
fn opf(epub: &Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(epub).unwrap()).unwrap();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        if f.name().unwrap().ends_with(".opf") {
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("no OPF in {}", epub.display())
}

/// The text of the first `<tag …>…</tag>` in `xml`, entities left as they are.
fn element(xml: &str, tag: &str) -> String {
    let start = xml.find(&format!("<{tag}")).expect("the element");
    let body = &xml[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    body[..body.find(&format!("</{tag}>")).unwrap()].to_string()
}

// Control characters, non-characters, decomposed letters and runs of whitespace.

/// Written in book.toml with a bell, a tab, a line feed, a U+0001, a no-break space, a
/// non-character and a decomposed é.
const MESSY_TITLE: &str =
    r#"title = "Kitap\u0007 \t\n of the\u0001  Steppe\u00a0\uFDD0 Cafe\u0301""#;
const CLEAN_TITLE: &str = "Kitap of the Steppe Café";

fn messy() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("messy-metadata");
        let scans = dir.join("scans");
        book_with(
            &scans.join("b"),
            &format!("{MESSY_TITLE}\nauthors = [\"Абай Құнанбайұлы\", \"\\u0003 \\t\"]\n"),
        );
        Kitap::convert(&scans).out(&dir.join("out")).run()
    })
}

#[test]
fn control_characters_leave_the_pdf_title_with_info_equal_to_xmp() {
    let run = messy();
    run.success();
    let pdf = run.file("b", "pdf");
    assert_eq!(info_entry(&pdf, "Title").unwrap().1, CLEAN_TITLE);
    assert_eq!(xmp_entries(&pdf, "dc:title"), [CLEAN_TITLE]);
    assert_pdfa(&pdf);
}

#[test]
fn control_characters_leave_an_epub_that_passes_epubcheck() {
    let run = messy();
    let epub = run.file("b", "epub");
    assert_eq!(element(&opf(&epub), "dc:title"), CLEAN_TITLE);
    epubcheck(&epub);
}

/// The EPUB's title, cleaned, is the manifest's: kitap validate compares them.
#[test]
fn control_characters_leave_an_out_that_passes_kitap_validate() {
    kitap_validate_clean(&messy().out);
}

#[test]
fn the_manifest_keeps_the_normalised_title() {
    let m = messy().manifest();
    assert_eq!(book(&m, "b").metadata.title.as_deref(), Some(CLEAN_TITLE));
}

#[test]
fn an_author_empty_after_normalising_is_dropped_with_a_warning() {
    let run = messy();
    run.stderr_contains("authors");
    let m = run.manifest();
    let b = book(&m, "b");
    assert_eq!(b.metadata.authors, ["Абай Құнанбайұлы"]);
    assert!(
        b.warnings.iter().any(|w| w.contains("authors")),
        "{:?}",
        b.warnings
    );
    let pdf = run.file("b", "pdf");
    assert_eq!(info_entry(&pdf, "Author").unwrap().1, "Абай Құнанбайұлы");
}

#[test]
fn a_title_of_only_control_characters_fails_its_book_naming_book_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    small_book(&scans.join("good"));
    book_with(
        &scans.join("bad"),
        "title = \"\\u0001\\u0002 \\t\\u007f\"\n",
    );
    let run = Kitap::convert(&scans).out(&tmp.path().join("out")).run();
    run.code(1).stderr_contains("book.toml");
    let m = run.manifest();
    assert_eq!(book(&m, "good").status, Status::Ok);
    let bad = book(&m, "bad");
    assert_eq!(bad.status, Status::Failed);
    let err = bad.error.as_deref().unwrap();
    assert!(err.contains("book.toml") && err.contains("title"), "{err}");
    kitap_validate_clean(&run.out);
}

// Strings over PDF/A's limit.

/// 500,000 × Қ: a 1 MB title, 1 MB in UTF-16 too.
fn long_title() -> String {
    "Қ".repeat(500_000)
}

fn authors() -> Vec<String> {
    (1..=5000)
        .map(|i| format!("Author Number {i:04}"))
        .collect()
}

/// `cyr`: the 1 MB Cyrillic title; `ascii`: a 40,000-letter ASCII title; `many`: 5,000
/// authors (their joined Author string is 100 KB).
fn long() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("long-metadata");
        let scans = dir.join("scans");
        book_with(
            &scans.join("cyr"),
            &format!("title = \"{}\"\n", long_title()),
        );
        book_with(
            &scans.join("ascii"),
            &format!("title = \"{}\"\n", "a".repeat(40_000)),
        );
        let list: Vec<String> = authors().iter().map(|a| format!("\"{a}\"")).collect();
        book_with(
            &scans.join("many"),
            &format!("title = \"Many\"\nauthors = [{}]\n", list.join(", ")),
        );
        Kitap::convert(&scans).out(&dir.join("out")).run()
    })
}

#[test]
fn a_megabyte_cyrillic_title_is_cut_to_the_limit_in_utf16() {
    let run = long();
    run.success();
    let pdf = run.file("cyr", "pdf");
    let (bytes, title) = info_entry(&pdf, "Title").unwrap();
    // UTF-16BE with its byte order mark: 2 + 2 × 16,382 = 32,766 bytes, one Қ more is over.
    assert_eq!(bytes, 2 + 2 * 16_382);
    assert!(long_title().starts_with(&title));
    assert_eq!(xmp_entries(&pdf, "dc:title"), [title]);
    assert_pdfa(&pdf);
}

#[test]
fn a_long_ascii_title_is_cut_to_exactly_the_limit() {
    let pdf = long().file("ascii", "pdf");
    let (bytes, title) = info_entry(&pdf, "Title").unwrap();
    assert_eq!(bytes, LIMIT);
    assert_eq!(title, "a".repeat(LIMIT));
    assert_pdfa(&pdf);
}

#[test]
fn a_long_title_is_cut_in_the_epub_too() {
    let opf = opf(&long().file("cyr", "epub"));
    let title = element(&opf, "dc:title");
    assert!(title.len() <= LIMIT, "{} bytes", title.len());
    assert!(long_title().starts_with(&title));
}

/// The titles the EPUBs hold are cut, the manifest keeps them whole: kitap validate compares
/// the EPUB with the manifest's title cut as the writer cuts it.
#[test]
fn long_metadata_leaves_an_out_that_passes_kitap_validate() {
    kitap_validate_clean(&long().out);
}

#[test]
fn a_cut_title_is_kept_whole_in_the_manifest_with_a_warning() {
    let run = long();
    run.stderr_contains("title");
    let m = run.manifest();
    let cyr = book(&m, "cyr");
    assert_eq!(cyr.metadata.title.as_deref(), Some(long_title().as_str()));
    assert!(
        cyr.warnings.iter().any(|w| w.contains("title")),
        "{:?}",
        cyr.warnings
    );
}

#[test]
fn five_thousand_authors_join_within_the_limit_and_stay_whole_in_the_manifest() {
    let run = long();
    let pdf = run.file("many", "pdf");
    let (bytes, author) = info_entry(&pdf, "Author").unwrap();
    assert!(bytes <= LIMIT, "{bytes} bytes");
    assert!(author.starts_with("Author Number 0001; Author Number 0002"));
    assert_eq!(xmp_entries(&pdf, "dc:creator"), [author]);
    assert_pdfa(&pdf);
    let m = run.manifest();
    let many = book(&m, "many");
    assert_eq!(many.metadata.authors, authors());
    assert!(
        many.warnings.iter().any(|w| w.contains("authors")),
        "{:?}",
        many.warnings
    );
}
