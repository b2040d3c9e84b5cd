//! The reading-text builder on arbitrary books: pages of OCR blocks, paragraphs, lines and
//! words with boxes, some pages failed or shown as images, labels from book.toml ranges or
//! detected, chapters. `PageText::from_ocr` → `reflow` → `sections`, as the EPUB output runs
//! them. Every page must come out with its page break, in order, once.
//!
//! The input is decoded with `arbitrary::Unstructured` in a fixed layout (see `book`) so that
//! `fuzz/make-corpus.py` can encode real OCR output as seeds.
#![no_main]

use arbitrary::{Result, Unstructured};
use kitap::config::{LabelStyle, PageLabelRange};
use kitap::ocr::{BBox, Block, Line, OcrPage, Paragraph, Word};
use kitap::reading::{Inline, PageText, ReadingBlock, configured_labels, reflow, sections};
use libfuzzer_sys::fuzz_target;

const MAX_PAGES: usize = 48;
const MAX_LINES: usize = 80;
const MAX_WORDS: usize = 24;

fn byte(u: &mut Unstructured) -> Result<u8> {
    u.arbitrary::<u8>()
}

fn more(u: &mut Unstructured) -> Result<bool> {
    Ok(!u.is_empty() && byte(u)? & 1 == 1)
}

fn u16le(u: &mut Unstructured) -> Result<u16> {
    let b = u.bytes(2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

/// A length byte, then that many bytes of (lossy) UTF-8.
fn text(u: &mut Unstructured) -> Result<String> {
    let n = byte(u)? as usize;
    let n = n.min(u.len());
    Ok(String::from_utf8_lossy(u.bytes(n)?).into_owned())
}

fn bbox(u: &mut Unstructured) -> Result<BBox> {
    let (x0, y0, x1, y1) = (u16le(u)?, u16le(u)?, u16le(u)?, u16le(u)?);
    Ok(BBox {
        x0: x0 as f64,
        y0: y0 as f64,
        x1: x1 as f64,
        y1: y1 as f64,
    })
}

/// Layout: flags (bit 0: labels from book.toml), pages per section, then the label ranges and
/// chapters (a count byte each), then pages while a `more` byte is odd. A page: width, height
/// (u16 LE), flags (bit 0 failed, bit 1 shown as image), then lines while `more`: flags (bit 0
/// new block, bit 1 new paragraph), the line's box, words while `more`: box, confidence byte,
/// text.
struct Book {
    labels: Option<Vec<PageLabelRange>>,
    per: u32,
    chapters: Vec<(String, u32)>,
    pages: Vec<PageText>,
}

fn book(u: &mut Unstructured) -> Result<Book> {
    let flags = byte(u)?;
    let per = byte(u)? as u32;
    let mut ranges = Vec::new();
    for _ in 0..byte(u)? % 4 {
        let from = u16le(u)? as u32;
        let style = [
            LabelStyle::Arabic,
            LabelStyle::Roman,
            LabelStyle::RomanUpper,
            LabelStyle::Letters,
            LabelStyle::LettersUpper,
            LabelStyle::None,
        ][byte(u)? as usize % 6];
        let start = u16le(u)? as u32;
        let prefix = (byte(u)? & 1 == 1).then(|| text(u)).transpose()?;
        ranges.push(PageLabelRange {
            from,
            style,
            start,
            prefix,
        });
    }
    // What BookMeta's check guarantees: `from` ≥ 1 and increasing, `start` within 1–100 000.
    ranges.retain(|r| r.from >= 1 && (1..=kitap::config::MAX_LABEL_START).contains(&r.start));
    ranges.sort_by_key(|r| r.from);
    ranges.dedup_by_key(|r| r.from);
    let mut chapters = Vec::new();
    for _ in 0..byte(u)? % 4 {
        let page = u16le(u)? as u32;
        chapters.push((text(u)?, page.max(1)));
    }
    let mut pages = Vec::new();
    while pages.len() < MAX_PAGES && more(u)? {
        let index = pages.len() as u32 + 1;
        pages.push(page(u, index)?);
    }
    Ok(Book {
        labels: (flags & 1 == 1 && !ranges.is_empty()).then_some(ranges),
        per,
        chapters,
        pages,
    })
}

fn page(u: &mut Unstructured, index: u32) -> Result<PageText> {
    let (width, height) = (u16le(u)?, u16le(u)?);
    let flags = byte(u)?;
    let mut ocr = OcrPage {
        width: width as u32,
        height: height as u32,
        blocks: Vec::new(),
    };
    let mut n = 0;
    while n < MAX_LINES && more(u)? {
        n += 1;
        let line_flags = byte(u)?;
        let bbox = bbox(u)?;
        let mut words = Vec::new();
        while words.len() < MAX_WORDS && more(u)? {
            let bbox = self::bbox(u)?;
            let conf = byte(u)? as f32 / 2.55;
            words.push(Word {
                bbox,
                text: text(u)?,
                conf,
            });
        }
        if line_flags & 1 == 1 || ocr.blocks.is_empty() {
            ocr.blocks.push(Block {
                bbox,
                paragraphs: Vec::new(),
            });
        }
        let block = ocr.blocks.last_mut().unwrap();
        if line_flags & 2 == 2 || block.paragraphs.is_empty() {
            block.paragraphs.push(Paragraph {
                bbox,
                lines: Vec::new(),
            });
        }
        let para = block.paragraphs.last_mut().unwrap();
        para.lines.push(Line {
            bbox,
            baseline_slope: 0.0,
            baseline_offset: 0.0,
            words,
        });
    }
    if flags & 1 == 1 {
        // A failed page: no OCR, as the EPUB output records it.
        return Ok(PageText {
            index,
            ..PageText::default()
        });
    }
    let mut text = PageText::from_ocr(index, &ocr);
    text.show_image = flags & 2 == 2;
    Ok(text)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(book) = book(&mut u) else {
        return;
    };
    let n = book.pages.len() as u32;
    let labels = book.labels.as_ref().map(|r| configured_labels(r, n));
    let reading = reflow(&book.pages, labels);
    assert_eq!(reading.labels.len(), n as usize, "a label per page");
    // Every page begins exactly once, in order: between paragraphs or inside one.
    let begins: Vec<u32> = reading
        .blocks
        .iter()
        .flat_map(|b| match b {
            ReadingBlock::PageBreak(p) => vec![*p],
            ReadingBlock::Para { inlines, .. } => inlines
                .iter()
                .filter_map(|i| match i {
                    Inline::Break(p) => Some(*p),
                    Inline::Text(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(
        begins,
        (1..=n).collect::<Vec<_>>(),
        "pages lost or repeated"
    );
    let secs = sections(&reading, &book.chapters, book.per, true);
    let pages: Vec<u32> = secs.iter().flat_map(|s| s.pages.iter().copied()).collect();
    assert_eq!(
        pages,
        (1..=n).collect::<Vec<_>>(),
        "sections lose or repeat pages"
    );
    let per = book.per.max(1) as usize;
    assert!(
        secs.iter().all(|s| s.pages.len() <= per),
        "a section over {per} pages"
    );
});
