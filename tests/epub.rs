//! The reading EPUB: the real binary on real and rendered scans, checked with epubcheck and
//! against the ground truth — text as good as the plain OCR text, without running headers or
//! page numbers, a page-list entry per page with the printed numbers.

mod common;

use std::path::PathBuf;

use common::reading::*;
use common::*;
use serde_json::Value;

/// A 21-page book rendered by scripts/render-long-book.py: paragraphs over page turns,
/// hyphenated line ends, alternating running headers, chapter openings without header,
/// printed numbers from 7.
#[test]
fn a_long_rendered_book_reads_without_headers_and_keeps_its_print_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/render-long-book.py");
    tool_ok(
        "/usr/bin/python3",
        &[script.to_str().unwrap(), scans.to_str().unwrap()],
    );
    let id = "ru-dlinnaya-kniga";
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(scans.join(id).join("truth.json")).unwrap())
            .unwrap();
    let truth = truth.as_array().unwrap();
    assert!(truth.len() >= 20, "{} pages", truth.len());

    let run = convert(&scans, &tmp.path().join("out"), &["--jobs", "2"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let epub = run.out.join(id).join(format!("{id}.epub"));
    epubcheck(&epub);
    let reading = epub_pages(&epub);
    assert_eq!(reading.len(), truth.len());
    let labels = page_list(&epub);
    let printed: Vec<String> = truth
        .iter()
        .map(|p| p["page_number"].as_u64().unwrap().to_string())
        .collect();
    assert_eq!(labels, printed, "page-list labels are the printed numbers");

    let mut dist = (0usize, 0usize);
    for (k, p) in truth.iter().enumerate() {
        let text = squash(&reading[k]);
        if let Some(h) = p["header"].as_str() {
            assert!(
                !starts_like(&text, h),
                "page {}: running header left: {text:.80}",
                k + 1
            );
        }
        let first = p["first_line"].as_str().unwrap();
        let want: String = {
            let w: Vec<&str> = first.split_whitespace().collect();
            w[..w.len().saturating_sub(1).max(1).min(w.len())].join(" ")
        };
        assert!(
            starts_like(&text, &want),
            "page {}: first body line lost: want {want:?}, got {:?}",
            k + 1,
            text.chars().take(want.chars().count()).collect::<String>()
        );
        assert!(
            !ends_with_number(&text, &printed[k]),
            "page {}: page number left",
            k + 1
        );

        let gt =
            std::fs::read_to_string(scans.join(id).join(format!("gt/{:04}.txt", k + 1))).unwrap();
        let (d, n) = distance(&reading[k], &reading_gt(&gt, p["header"].is_string(), true));
        dist = (dist.0 + d, dist.1 + n);
    }
    let cer = dist.0 as f64 / dist.1 as f64;
    eprintln!("{id}: CER of the EPUB reading text {:.2} %", cer * 100.0);
    assert!(cer < 0.02, "CER {cer:.4}");

    // Hyphenated line ends are joined: the book hyphenates several words on every page, so a
    // hyphen before a lowercase letter survives only in the compounds the text really has.
    let all = reading.join("");
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
    assert!(
        all.contains("северо-запад"),
        "a real compound keeps its hyphen"
    );

    // Chapters open content documents of their own and make the table of contents.
    let nav = unzip(&epub, "OEBPS/nav.xhtml");
    let toc = nav.split("epub:type=\"page-list\"").next().unwrap();
    for chapter in ["Читальный зал", "Каталог", "Оцифровка"] {
        assert!(
            toc.contains(chapter),
            "{chapter} not in the table of contents:\n{toc}"
        );
    }
    assert!(spine(&epub).len() >= 3);
}
