//! The reading EPUB: the real binary on real and rendered scans, checked with epubcheck and
//! against the ground truth — text as good as the plain OCR text, without running headers or
//! page numbers, a page-list entry per page with the printed numbers.

mod common;

use std::path::PathBuf;

use common::reading::*;
use common::*;
use serde_json::Value;

const ID: &str = "ru-dlinnaya-kniga";

/// A 21-page book rendered by scripts/render-long-book.py: paragraphs over page turns,
/// hyphenated line ends, alternating running headers, chapter openings without header,
/// printed numbers from 7. Converted once; `truth` is the script's truth.json.
struct LongBook {
    scans: PathBuf,
    truth: Vec<Value>,
    run: Run,
}

fn long_book() -> &'static LongBook {
    static BOOK: Shared<LongBook> = Shared::new();
    BOOK.get(|| {
        let dir = fixture_dir("long-book");
        let scans = dir.join("scans");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/render-long-book.py");
        tool_ok(
            "/usr/bin/python3",
            &[script.to_str().unwrap(), scans.to_str().unwrap()],
        );
        let truth: Value = serde_json::from_str(
            &std::fs::read_to_string(scans.join(ID).join("truth.json")).unwrap(),
        )
        .unwrap();
        let run = Kitap::convert(&scans)
            .out(&dir.join("out"))
            .args(["--jobs", "2"])
            .run();
        LongBook {
            scans,
            truth: truth.as_array().unwrap().clone(),
            run,
        }
    })
}

impl LongBook {
    fn epub(&self) -> PathBuf {
        self.run.file(ID, "epub")
    }

    /// The printed page numbers of the truth, as page-list labels.
    fn printed(&self) -> Vec<String> {
        self.truth
            .iter()
            .map(|p| p["page_number"].as_u64().unwrap().to_string())
            .collect()
    }

    /// The reading text of each page, whitespace squashed, with its truth.
    fn pages(&self) -> Vec<(String, &Value)> {
        let reading = epub_pages(&self.epub());
        assert_eq!(reading.len(), self.truth.len(), "a reading page per scan");
        reading.iter().map(|t| squash(t)).zip(&self.truth).collect()
    }
}

#[test]
fn the_long_book_renders_more_than_20_pages_and_converts_with_exit_0() {
    let b = long_book();
    assert!(b.truth.len() >= 20, "{} pages", b.truth.len());
    b.run.success();
}

#[test]
fn the_long_book_out_passes_kitap_validate() {
    kitap_validate_clean(&long_book().run.out);
}

#[test]
fn the_long_book_epub_passes_epubcheck() {
    epubcheck(&long_book().epub());
}

#[test]
fn the_reading_text_has_a_page_per_scan() {
    let b = long_book();
    assert_eq!(epub_pages(&b.epub()).len(), b.truth.len());
}

#[test]
fn page_list_labels_are_the_printed_numbers() {
    let b = long_book();
    assert_eq!(
        page_list(&b.epub()),
        b.printed(),
        "page-list labels are the printed numbers"
    );
}

#[test]
fn no_running_header_is_left() {
    for (k, (text, p)) in long_book().pages().iter().enumerate() {
        if let Some(h) = p["header"].as_str() {
            assert!(
                !starts_like(text, h),
                "page {}: running header left: {text:.80}",
                k + 1
            );
        }
    }
}

#[test]
fn the_first_body_line_of_every_page_stays() {
    for (k, (text, p)) in long_book().pages().iter().enumerate() {
        let first = p["first_line"].as_str().unwrap();
        let want: String = {
            let w: Vec<&str> = first.split_whitespace().collect();
            w[..w.len().saturating_sub(1).max(1).min(w.len())].join(" ")
        };
        assert!(
            starts_like(text, &want),
            "page {}: first body line lost: want {want:?}, got {:?}",
            k + 1,
            text.chars().take(want.chars().count()).collect::<String>()
        );
    }
}

#[test]
fn no_page_number_is_left() {
    let b = long_book();
    let printed = b.printed();
    for (k, (text, _)) in b.pages().iter().enumerate() {
        assert!(
            !ends_with_number(text, &printed[k]),
            "page {}: page number left",
            k + 1
        );
    }
}

#[test]
fn the_reading_text_is_within_2_percent_cer() {
    let b = long_book();
    let reading = epub_pages(&b.epub());
    let mut dist = (0usize, 0usize);
    for (k, p) in b.truth.iter().enumerate() {
        let gt =
            std::fs::read_to_string(b.scans.join(ID).join(format!("gt/{:04}.txt", k + 1))).unwrap();
        let (d, n) = distance(&reading[k], &reading_gt(&gt, p["header"].is_string(), true));
        dist = (dist.0 + d, dist.1 + n);
    }
    let cer = dist.0 as f64 / dist.1 as f64;
    eprintln!("{ID}: CER of the EPUB reading text {:.2} %", cer * 100.0);
    assert!(cer < 0.02, "CER {cer:.4}");
}

/// Hyphenated line ends are joined: the book hyphenates several words on every page, so a
/// hyphen before a lowercase letter survives only in the compounds the text really has.
#[test]
fn hyphenated_line_ends_are_joined() {
    let all = epub_pages(&long_book().epub()).join("");
    let broken: Vec<&str> = all
        .split_whitespace()
        .filter(|w| {
            let c: Vec<char> = w.chars().collect();
            c.windows(2).any(|p| p[0] == '-' && p[1].is_lowercase())
        })
        .filter(|w| {
            !["северо-запад", "всё-таки", "когда-нибудь", "что-то"]
                .iter()
                .any(|k| w.contains(k))
        })
        .collect();
    assert!(broken.len() <= 2, "hyphens left inside words: {broken:?}");
}

#[test]
fn a_real_compound_keeps_its_hyphen() {
    let all = epub_pages(&long_book().epub()).join("");
    assert!(
        all.contains("северо-запад"),
        "a real compound keeps its hyphen"
    );
}

/// Chapters open content documents of their own and make the table of contents.
#[test]
fn chapters_make_the_table_of_contents() {
    let nav = unzip(&long_book().epub(), "OEBPS/nav.xhtml");
    let toc = nav.split("epub:type=\"page-list\"").next().unwrap();
    for chapter in ["Читальный зал", "Каталог", "Оцифровка"] {
        assert!(
            toc.contains(chapter),
            "{chapter} not in the table of contents:\n{toc}"
        );
    }
}

#[test]
fn chapters_open_content_documents_of_their_own() {
    assert!(spine(&long_book().epub()).len() >= 3);
}
