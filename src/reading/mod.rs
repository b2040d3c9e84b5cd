//! The reading text of a book: from the OCR lines of every page to a reflowed document of
//! headings, paragraphs, page breaks with printed labels and page images, as a reader wants it
//! on a phone.
//!
//! Plain functions over per-page line data, so every rule here is unit-tested without
//! Tesseract: running headers, footers and printed page numbers are found (repetition at the
//! same height of the page, or a short number alone at the top or bottom) and left out; words
//! hyphenated at a line end are joined again unless the hyphen belongs to the word; paragraphs
//! broken by a page turn are joined; tall short lines become headings.

#[cfg(test)]
mod fixtures;
mod furniture;
mod hyphens;
mod labels;
mod scripts;
mod sections;

pub(crate) use furniture::edit_distance;

use unicode_normalization::UnicodeNormalization;

use crate::ocr::{BBox, OcrPage};

pub use furniture::{Furniture, find_furniture};
pub use hyphens::{Vocabulary, keeps_hyphen};
pub use labels::{configured_labels, detected_labels};
pub use scripts::repair_lookalikes;
pub use sections::{Section, sections};

use hyphens::{hyphen_end, join_lines, split_join};

/// One OCR line: its text (NFC) and box in page pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub bbox: BBox,
    /// The first line of an OCR paragraph.
    pub para_start: bool,
}

/// What the reading text needs of one page. A failed page has no lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageText {
    /// 1-based position in the book.
    pub index: u32,
    pub width: f64,
    pub height: f64,
    pub lines: Vec<TextLine>,
    /// The page image goes after the page's text (its OCR is too doubtful to stand alone).
    pub show_image: bool,
}

impl PageText {
    /// A page that could not be converted: its place in the book, no lines.
    pub fn failed(index: u32) -> PageText {
        PageText {
            index,
            ..PageText::default()
        }
    }

    /// Lines in Tesseract's reading order, text in Unicode NFC.
    pub fn from_ocr(index: u32, ocr: &OcrPage) -> PageText {
        let mut lines = Vec::new();
        for p in ocr.blocks.iter().flat_map(|b| &b.paragraphs) {
            let mut first = true;
            for l in &p.lines {
                let text: String = l
                    .words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .nfc()
                    .collect();
                if text.trim().is_empty() {
                    continue;
                }
                lines.push(TextLine {
                    text: text.trim().to_string(),
                    bbox: l.bbox,
                    para_start: first,
                });
                first = false;
            }
        }
        PageText {
            index,
            width: ocr.width as f64,
            height: ocr.height as f64,
            lines,
            show_image: false,
        }
    }
}

/// Text inside a paragraph, or the place where a page turn falls inside it.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    /// Page `index` begins here.
    Break(u32),
}

/// One block of the reading text, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadingBlock {
    /// Page `index` begins here, between paragraphs.
    PageBreak(u32),
    Heading(String),
    /// `continued`: the paragraph began in the previous content document.
    Para {
        inlines: Vec<Inline>,
        continued: bool,
    },
    /// The image of page `index`.
    PageImage(u32),
}

/// The reflowed book.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadingText {
    pub blocks: Vec<ReadingBlock>,
    /// The printed label of each page, `labels[index - 1]`.
    pub labels: Vec<String>,
}

impl ReadingText {
    /// Every heading as a paragraph of its own (`epub_headings = "off"`).
    pub fn headings_as_paragraphs(&mut self) {
        for b in &mut self.blocks {
            if let ReadingBlock::Heading(t) = b {
                *b = ReadingBlock::Para {
                    inlines: vec![Inline::Text(std::mem::take(t))],
                    continued: false,
                };
            }
        }
    }

    /// The printed label of page `index` (1-based), its position when none is known.
    pub fn label(&self, index: u32) -> String {
        (index as usize)
            .checked_sub(1)
            .and_then(|i| self.labels.get(i))
            .cloned()
            .unwrap_or_else(|| index.to_string())
    }
}

/// A line taller than this many times the body text's median line height, short and alone,
/// is a heading. The title lines of the shared Russian seed book are 1.28 times the body.
pub const HEADING_RATIO: f64 = 1.25;

/// Reflows `pages` (in order, every index present). `labels` are the printed page labels from
/// book.toml when it gives any; otherwise the page numbers found on the pages are used when
/// they agree with the page order, else the page index.
pub fn reflow(pages: &[PageText], labels: Option<Vec<String>>) -> ReadingText {
    let furniture = find_furniture(pages);
    let labels = labels.unwrap_or_else(|| {
        detected_labels(&furniture.iter().map(|f| f.number).collect::<Vec<_>>())
    });
    let body: Vec<Vec<&TextLine>> = pages
        .iter()
        .zip(&furniture)
        .map(|(p, f)| {
            p.lines
                .iter()
                .enumerate()
                .filter(|(i, _)| !f.lines.contains(i))
                .map(|(_, l)| l)
                .collect()
        })
        .collect();
    let vocab = Vocabulary::of(&body);
    let book_median = median_height(body.iter().flatten().copied());

    let mut blocks: Vec<ReadingBlock> = Vec::new();
    // Whether the last block may continue on the next page.
    let mut open = false;
    for (page, lines) in pages.iter().zip(&body) {
        let median = if lines.iter().filter(|l| is_body_like(l)).count() >= 8 {
            median_height(lines.iter().copied())
        } else {
            book_median
        };
        let mut paras = page_paragraphs(lines, median, page.width);
        merge_broken_words(&mut paras);
        let joins = open
            && paras
                .first()
                .is_some_and(|p| !p.heading && starts_lowercase(&p.lines[0].text));
        if joins {
            let first = paras.remove(0);
            if let Some(ReadingBlock::Para { inlines, .. }) = blocks.last_mut()
                && let Some(Inline::Text(prev)) = inlines.pop()
            {
                let (before, after) = split_join(&prev, &first.lines[0].text, &vocab);
                inlines.push(Inline::Text(before));
                inlines.push(Inline::Break(page.index));
                let mut rest = after;
                for l in &first.lines[1..] {
                    rest = join_lines(&rest, &l.text, &vocab);
                }
                inlines.push(Inline::Text(rest));
            }
        } else {
            blocks.push(ReadingBlock::PageBreak(page.index));
        }
        for p in &paras {
            if p.heading {
                let text = p
                    .lines
                    .iter()
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                blocks.push(ReadingBlock::Heading(text));
            } else {
                let mut text = String::new();
                for l in &p.lines {
                    text = join_lines(&text, &l.text, &vocab);
                }
                blocks.push(ReadingBlock::Para {
                    inlines: vec![Inline::Text(text)],
                    continued: false,
                });
            }
        }
        open = ends_open(&blocks);
        if page.show_image {
            blocks.push(ReadingBlock::PageImage(page.index));
            open = false;
        }
        if page.lines.is_empty() {
            open = false;
        }
    }
    ReadingText { blocks, labels }
}

/// A paragraph that ends inside a hyphenated word goes on in the next one: OCR often starts a
/// new paragraph at a column or block boundary.
fn merge_broken_words(paras: &mut Vec<OcrPara>) {
    let mut k = 1;
    while k < paras.len() {
        let continues = !paras[k - 1].heading
            && !paras[k].heading
            && paras[k - 1]
                .lines
                .last()
                .is_some_and(|l| hyphen_end(&l.text).is_some())
            && starts_lowercase(&paras[k].lines[0].text);
        if continues {
            let next = paras.remove(k);
            paras[k - 1].lines.extend(next.lines);
        } else {
            k += 1;
        }
    }
}

/// The last block is a paragraph that does not end a sentence: it may go on on the next page.
fn ends_open(blocks: &[ReadingBlock]) -> bool {
    match blocks.last() {
        Some(ReadingBlock::Para { inlines, .. }) => match inlines.last() {
            Some(Inline::Text(t)) => !ends_sentence(t),
            _ => false,
        },
        _ => false,
    }
}

struct OcrPara<'a> {
    lines: Vec<&'a TextLine>,
    heading: bool,
}

/// A page's body lines grouped into OCR paragraphs; leading tall short lines of a paragraph
/// become a heading of their own.
///
/// The second line of a heading may hold only small letters ("зал"), so a line that follows a
/// heading line in the same OCR paragraph, centred under it, belongs to the heading too.
fn page_paragraphs<'a>(
    lines: &[&'a TextLine],
    median: Option<f64>,
    width: f64,
) -> Vec<OcrPara<'a>> {
    let mut out: Vec<OcrPara<'a>> = Vec::new();
    let centre = |l: &TextLine| (l.bbox.x0 + l.bbox.x1) / 2.0;
    for &l in lines {
        let under_heading = !l.para_start
            && out.last().is_some_and(|p| {
                p.heading
                    && p.lines.last().is_some_and(|h| {
                        (centre(h) - centre(l)).abs() <= 0.03 * width
                            && l.bbox.width() < h.bbox.width()
                    })
            });
        // Only a line that starts an OCR paragraph, or goes on a heading, can be a heading: an
        // inflated box inside a paragraph (a drop cap, a speck) must not cut it in two.
        let may_head = l.para_start || out.last().is_some_and(|p| p.heading);
        let tall = under_heading || may_head && median.is_some_and(|m| is_heading_line(l, m));
        let new = match out.last() {
            None => true,
            Some(last) => l.para_start || last.heading != tall,
        };
        if new {
            out.push(OcrPara {
                lines: vec![l],
                heading: tall,
            });
        } else if let Some(last) = out.last_mut() {
            last.lines.push(l);
        }
    }
    // A heading is short: more than three tall lines are large print, not a heading. It
    // reads as a title, and it leads text: a paragraph follows it on the page (a newspaper's
    // large-print lead, a line broken off a column, a byline and a stray tall word do not).
    for k in 0..out.len() {
        if !out[k].heading {
            continue;
        }
        let text = out[k]
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let leads = out[k + 1..].iter().any(|n| !n.heading);
        if out[k].lines.len() > 3 || !leads || !reads_as_heading(&text) {
            out[k].heading = false;
        }
    }
    out
}

/// Whether `text` reads as a title: it does not end inside a word or a sentence (a hyphen, a
/// dash, a comma, a colon, a full stop: headings carry none), it does not begin in lower case
/// (a line broken off a paragraph), and it has three letters or is a roman numeral ("II").
pub fn reads_as_heading(text: &str) -> bool {
    let t = text.trim();
    if t.ends_with([
        '-', '\u{2010}', '\u{2011}', '\u{00ad}', '–', '—', ',', ';', ':', '.',
    ]) {
        return false;
    }
    if t.chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(char::is_lowercase)
    {
        return false;
    }
    let letters: Vec<char> = t.chars().filter(|c| c.is_alphabetic()).collect();
    letters.len() >= 3 || letters.iter().all(|c| "IVXLC".contains(*c))
}

#[cfg(test)]
mod heading_tests {
    use super::reads_as_heading;

    /// Headings the 1939 newspaper's EPUB contents held, and the ones it should keep.
    #[test]
    fn fragments_bylines_and_broken_lines_are_no_headings() {
        for not in [
            "6 лунӧн завершит-",
            "Партийно-комсомольскӧй да сӧвет-",
            "весн 16 кгр,",
            "имущество конфискуйтӧм",
            "медым матыса 5 —",
            "н. Е, ЗИНОВЬЕВ.",
            "ОИ",
        ] {
            assert!(!reads_as_heading(not), "{not}");
        }
        for yes in [
            "Капуста кӧчан",
            "Военной действиеяс",
            "ПОПОЛНЕНИЕ",
            "Н. А. ЩОРС",
            "II",
            "«Тірі каталог»",
            "يېزا كۇتۇپخانىسى",
        ] {
            assert!(reads_as_heading(yes), "{yes}");
        }
    }
}

fn is_heading_line(l: &TextLine, median: f64) -> bool {
    let chars = l.text.chars().count();
    l.bbox.height() >= HEADING_RATIO * median
        && chars <= 80
        && l.text.chars().filter(|c| c.is_alphabetic()).count() >= 2
}

fn is_body_like(l: &TextLine) -> bool {
    l.text.chars().count() >= 10
}

/// Median height of the lines that look like body text (ten characters or more).
fn median_height<'a>(lines: impl Iterator<Item = &'a TextLine>) -> Option<f64> {
    let mut h: Vec<f64> = lines
        .filter(|l| is_body_like(l))
        .map(|l| l.bbox.height())
        .collect();
    if h.is_empty() {
        return None;
    }
    h.sort_by(f64::total_cmp);
    Some(h[h.len() / 2])
}

fn starts_lowercase(s: &str) -> bool {
    s.chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(char::is_lowercase)
}

/// The text ends a sentence: `.`, `!`, `?` or `…`, maybe followed by quotes or brackets.
fn ends_sentence(s: &str) -> bool {
    let t = s.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '»' | '"' | '”' | '’' | '\'' | ')' | ']' | '“')
    });
    t.ends_with(['.', '!', '?', '…'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{page, text_of};

    #[test]
    fn paragraph_continues_across_the_page_turn() {
        let pages = vec![
            page(
                1,
                None,
                &[&["Первый абзац кончается.", "Второй абзац идёт в библио-"]],
                None,
            ),
            page(
                2,
                None,
                &[&["теку и дальше.", "Конец."], &["Новый абзац."]],
                None,
            ),
            page(3, None, &[&["Ещё абзац без точки"]], None),
            page(4, None, &[&["Заглавная буква: новый абзац."]], None),
        ];
        let t = text_of(&reflow(&pages, None));
        assert_eq!(
            t,
            "[1]\nПервый абзац кончается. Второй абзац идёт в библио|2|теку и дальше. Конец.\n\
             Новый абзац.\n[3]\nЕщё абзац без точки\n[4]\nЗаглавная буква: новый абзац.\n"
        );
    }

    #[test]
    fn a_new_ocr_paragraph_inside_a_broken_word_does_not_stop_the_join() {
        // OCR started a paragraph where the column went on: one paragraph, word joined.
        let p = page(
            1,
            None,
            &[&["Первая строка с перено-"], &["сом слова идёт дальше."]],
            None,
        );
        let r = reflow(&[p], None);
        assert_eq!(
            text_of(&r),
            "[1]\nПервая строка с переносом слова идёт дальше.\n"
        );
    }
}
