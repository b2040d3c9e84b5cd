//! hOCR as Tesseract hands it to kitap (`ocr::parse_hocr`), then everything kitap derives from
//! one page's OCR: the look-alike repair, plain text, confidence, line height, the reading text
//! and its EPUB sections, and kitap's own hOCR writer, whose output must parse back to the same
//! words.
#![no_main]

use kitap::ocr::parse_hocr;
use kitap::reading::{PageText, reflow, sections};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libtesseract's hOCR is a C string converted lossily, as ocr.rs does.
    let text = String::from_utf8_lossy(data);
    let mut page = parse_hocr(&text);
    page.width = 2480;
    page.height = 3508;
    // The repair changes letters, never words: as many, none emptied, and a second pass finds
    // nothing left to do.
    let count = page.words().count();
    let repaired = kitap::reading::repair_lookalikes(&mut page);
    assert!(repaired <= count);
    assert_eq!(page.words().count(), count);
    assert_eq!(kitap::reading::repair_lookalikes(&mut page), 0, "repair is not idempotent");
    let plain = page.text();
    if let Some(c) = page.mean_confidence() {
        assert!(!c.is_nan() || page.words().any(|w| !w.conf.is_finite()));
    }
    let _ = page.median_line_height();
    for w in page.words() {
        assert!(!w.text.trim().is_empty(), "blank word kept");
        assert!(plain.contains(&w.text));
    }
    let pages = [PageText::from_ocr(1, &page), PageText::from_ocr(2, &page)];
    let reading = reflow(&pages, None);
    let _ = sections(&reading, &[], 1, true);

    let mut out = Vec::new();
    kitap::hocr::begin(&mut out, "t", "en").unwrap();
    kitap::hocr::page(&mut out, 1, "0001.tif", true, Some(300.0), Some(&page)).unwrap();
    kitap::hocr::end(&mut out).unwrap();
    let back = parse_hocr(&String::from_utf8(out).expect("kitap writes UTF-8"));
    // The writer drops what XML cannot hold (controls, U+FFFE/U+FFFF); the rest reads back.
    let words = |p: &kitap::ocr::OcrPage| {
        p.words()
            .map(|w| xml_chars(&w.text))
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(&back),
        words(&page),
        "kitap's hOCR does not read back"
    );
});

fn xml_chars(s: &str) -> String {
    let allowed = |c: &char| {
        !(((*c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{fffe}' | '\u{ffff}'))
    };
    s.chars()
        .filter(allowed)
        .collect::<String>()
        .trim()
        .to_string()
}
