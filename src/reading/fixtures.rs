//! Synthetic pages for the reading-text unit tests: body lines, a running header and a page
//! number at the heights a scanned page has them.

use crate::ocr::BBox;

use super::{Inline, PageText, ReadingBlock, ReadingText, TextLine};

pub(super) fn line(text: &str, y0: f64, h: f64, para_start: bool) -> TextLine {
    TextLine {
        text: text.into(),
        bbox: BBox {
            x0: 200.0,
            y0,
            x1: if text.len() < 6 { 240.0 } else { 1500.0 },
            y1: y0 + h,
        },
        para_start,
    }
}

/// A page of `body` lines (one paragraph per entry of `paras`), with an optional header at
/// the top and page number at the bottom.
pub(super) fn page(
    index: u32,
    header: Option<&str>,
    paras: &[&[&str]],
    number: Option<&str>,
) -> PageText {
    page_from(index, 220.0, header, paras, number)
}

/// Body text from `y` down: mid-page text is never furniture.
pub(super) fn page_from(
    index: u32,
    mut y: f64,
    header: Option<&str>,
    paras: &[&[&str]],
    number: Option<&str>,
) -> PageText {
    let mut lines = Vec::new();
    if let Some(h) = header {
        lines.push(line(h, 100.0, 34.0, true));
    }
    for p in paras {
        for (i, t) in p.iter().enumerate() {
            lines.push(line(t, y, 41.0, i == 0));
            y += 52.0;
        }
    }
    if let Some(n) = number {
        lines.push(line(n, 2317.0, 26.0, true));
    }
    PageText {
        index,
        width: 1748.0,
        height: 2480.0,
        lines,
        show_image: false,
    }
}

pub(super) fn text_of(r: &ReadingText) -> String {
    let mut s = String::new();
    for b in &r.blocks {
        match b {
            ReadingBlock::Heading(t) => s.push_str(&format!("# {t}\n")),
            ReadingBlock::Para { inlines, .. } => {
                for i in inlines {
                    match i {
                        Inline::Text(t) => s.push_str(t),
                        Inline::Break(p) => s.push_str(&format!("|{p}|")),
                    }
                }
                s.push('\n');
            }
            ReadingBlock::PageBreak(p) => s.push_str(&format!("[{p}]\n")),
            ReadingBlock::PageImage(p) => s.push_str(&format!("<img {p}>\n")),
        }
    }
    s
}
