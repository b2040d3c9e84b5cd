//! Every script the holdings are printed in (issue 16): a page rendered by
//! `scripts/render-languages.py` from a text written for kitap in each added language —
//! Kazakh (issue 14: which models read it best, `scripts/compare-models.py`), Soviet-era
//! Cyrillic of languages written in Latin today, Kazakh's Latin, Tatar, Bashkir,
//! Kyrgyz, Tajik, Belarusian, Karakalpak, Crimean Tatar, Uyghur (right to left) and Russian in
//! its pre-1918 orthography — read by kitap with the language its book.toml names. The
//! character error rate of each must stay within what was measured for the README's table
//! (plus a little room), the metadata must carry the BCP 47 tag with its script, and the
//! right-to-left book must read right to left in the EPUB and in logical order in the PDF.

mod common;

use std::path::{Path, PathBuf};

use common::{Kitap, book, distance, epubcheck, pdftotext, tool_ok, txt_pages};

/// (folder and BCP 47 tag, models kitap reads it with, CER % measured by kitap, the most this
/// test allows). The CERs are those of the README's language table.
const PAGES: &[(&str, &str, f64)] = &[
    ("kk", "kaz", 1.0),
    ("tt", "Cyrillic", 1.0),
    ("ba", "kaz", 2.5),
    ("ky", "kir", 1.0),
    ("tg", "tgk", 1.5),
    ("be", "bel", 1.0),
    ("tk-Cyrl", "Cyrillic", 1.0),
    ("az-Cyrl", "Cyrillic", 4.0),
    ("uz-Cyrl", "uzb_cyrl", 1.0),
    ("kk-Latn", "Latin", 1.5),
    ("kaa", "Latin", 2.5),
    ("kaa-Cyrl", "Cyrillic", 1.0),
    ("crh", "Latin", 1.0),
    ("crh-Cyrl", "rus", 1.0),
    ("ug", "uig", 2.0),
    ("ru-petr1708", "Cyrillic", 3.0),
];

fn pages_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/languages")
}

fn gt(tag: &str) -> String {
    std::fs::read_to_string(pages_dir().join(tag).join("gt/0001.txt")).unwrap()
}

fn cer(text: &str, truth: &str) -> f64 {
    let (d, n) = distance(text, truth);
    100.0 * d as f64 / n as f64
}

#[test]
fn each_language_reads_within_its_measured_error_rate() {
    let dir = tempfile::tempdir().unwrap();
    let scans = dir.path().join("scans");
    common::copy_dir(&pages_dir(), &scans);
    for (tag, _, _) in PAGES {
        std::fs::remove_dir_all(scans.join(tag).join("gt")).unwrap();
    }
    let out = dir.path().join("out");
    let run = Kitap::convert(&scans).out(&out).arg("-q").run();
    run.success();
    let m = run.manifest();
    let mut table = String::new();
    let mut over = Vec::new();
    for (tag, models, most) in PAGES {
        let b = book(&m, tag);
        assert_eq!(b.languages[0].tag, *tag, "the BCP 47 tag with its script");
        assert_eq!(b.ocr_models.join("+"), *models, "{tag}");
        let text = &txt_pages(&out, tag)[0];
        let c = cer(text, &gt(tag));
        table.push_str(&format!("{tag}: {c:.2} % ({models})\n"));
        if c > *most {
            over.push(format!("{tag}: {c:.2} % > {most} %\n{text}"));
        }
    }
    println!("{table}");
    assert!(over.is_empty(), "{}\n{table}", over.join("\n"));
    // Uyghur: the EPUB reads right to left, and the PDF's text comes out in logical order.
    let ug = run.file("ug", "epub");
    epubcheck(&ug);
    let opf = tool_ok("unzip", &["-p", ug.to_str().unwrap(), "OEBPS/content.opf"]);
    assert!(opf.contains("page-progression-direction=\"rtl\""), "{opf}");
    let docs = tool_ok("unzip", &["-Z1", ug.to_str().unwrap()]);
    let first = docs
        .lines()
        .find(|l| l.ends_with(".xhtml") && !l.contains("nav") && !l.contains("cover"))
        .unwrap();
    let xhtml = tool_ok("unzip", &["-p", ug.to_str().unwrap(), first]);
    assert!(xhtml.contains("dir=\"rtl\""), "{xhtml}");
    assert!(xhtml.contains("lang=\"ug\""), "{xhtml}");
    // pdftotext marks right-to-left runs with bidi embedding controls; they are not text.
    let unmarked = |t: &str| -> String {
        t.chars()
            .filter(|c| !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
            .collect()
    };
    let ours = cer(&unmarked(&pdftotext(&run.file("ug", "pdf"))), &gt("ug"));
    // Tesseract's own PDF of the page, as the yardstick: extractors split right-to-left lines
    // of both at wide gaps, so neither reads back as cleanly as the text file.
    let theirs_pdf = dir.path().join("tesseract-ug");
    let page = pages_dir().join("ug/0001.png");
    tool_ok(
        "tesseract",
        &[
            page.to_str().unwrap(),
            theirs_pdf.to_str().unwrap(),
            "-l",
            "uig",
            "pdf",
        ],
    );
    let theirs = cer(
        &unmarked(&pdftotext(&theirs_pdf.with_extension("pdf"))),
        &gt("ug"),
    );
    println!("Uyghur PDF text layer: kitap {ours:.2} %, Tesseract's PDF {theirs:.2} %");
    assert!(
        ours <= theirs + 1.0,
        "the PDF text layer of the Uyghur page: {ours:.2} % against Tesseract's {theirs:.2} %"
    );
}
