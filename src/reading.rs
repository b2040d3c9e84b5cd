//! The reading text of a book: from the OCR lines of every page to a reflowed document of
//! headings, paragraphs, page breaks with printed labels and page images, as a reader wants it
//! on a phone.
//!
//! Plain functions over per-page line data, so every rule here is unit-tested without
//! Tesseract: running headers, footers and printed page numbers are found (repetition at the
//! same height of the page, or a short number alone at the top or bottom) and left out; words
//! hyphenated at a line end are joined again unless the hyphen belongs to the word; paragraphs
//! broken by a page turn are joined; tall short lines become headings.

use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization;

use crate::config::{LabelStyle, PageLabelRange};
use crate::ocr::{BBox, OcrPage};

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

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
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
pub struct Reading {
    pub blocks: Vec<Block>,
    /// The printed label of each page, `labels[index - 1]`.
    pub labels: Vec<String>,
}

impl Reading {
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
pub fn reflow(pages: &[PageText], labels: Option<Vec<String>>) -> Reading {
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

    let mut blocks: Vec<Block> = Vec::new();
    // Whether the last block may continue on the next page.
    let mut open = false;
    for (page, lines) in pages.iter().zip(&body) {
        let median = if lines.iter().filter(|l| is_body_like(l)).count() >= 8 {
            median_height(lines.iter().copied())
        } else {
            book_median
        };
        let mut paras = page_paragraphs(lines, median, page.width);
        // A paragraph that ends inside a hyphenated word goes on in the next one: OCR often
        // starts a new paragraph at a column or block boundary.
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
        let joins = open
            && paras
                .first()
                .is_some_and(|p| !p.heading && starts_lowercase(&p.lines[0].text));
        if joins {
            let first = paras.remove(0);
            if let Some(Block::Para { inlines, .. }) = blocks.last_mut()
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
            blocks.push(Block::PageBreak(page.index));
        }
        for p in &paras {
            if p.heading {
                let text = p
                    .lines
                    .iter()
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                blocks.push(Block::Heading(text));
            } else {
                let mut text = String::new();
                for l in &p.lines {
                    text = join_lines(&text, &l.text, &vocab);
                }
                blocks.push(Block::Para {
                    inlines: vec![Inline::Text(text)],
                    continued: false,
                });
            }
        }
        open = match blocks.last() {
            Some(Block::Para { inlines, .. }) => match inlines.last() {
                Some(Inline::Text(t)) => !ends_sentence(t),
                _ => false,
            },
            _ => false,
        };
        if page.show_image {
            blocks.push(Block::PageImage(page.index));
            open = false;
        }
        if page.lines.is_empty() {
            open = false;
        }
    }
    Reading { blocks, labels }
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
    // A heading is short: more than three tall lines are large print, not a heading.
    for p in &mut out {
        if p.heading && p.lines.len() > 3 {
            p.heading = false;
        }
    }
    out
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

// ---------------------------------------------------------------------------------------------
// Hyphens at line ends

/// Word forms the book uses away from line ends, lower case: the evidence for deciding whether
/// a hyphen at a line end belongs to the word.
#[derive(Debug, Default)]
pub struct Vocabulary {
    words: HashSet<String>,
}

impl Vocabulary {
    fn of(pages: &[Vec<&TextLine>]) -> Vocabulary {
        let mut v = Vocabulary::default();
        for lines in pages {
            for l in lines {
                let toks: Vec<&str> = l.text.split_whitespace().collect();
                let n = toks.len();
                for (i, t) in toks.iter().enumerate() {
                    // The first and last word of a line may be halves of a broken word.
                    if (i == 0 || i + 1 == n) && n > 1 {
                        continue;
                    }
                    v.add(t);
                }
            }
        }
        v
    }

    /// Adds the words of `text` (for tests and callers with other evidence).
    pub fn from_text(text: &str) -> Vocabulary {
        let mut v = Vocabulary::default();
        for t in text.split_whitespace() {
            v.add(t);
        }
        v
    }

    fn add(&mut self, token: &str) {
        let w = core(token).to_lowercase();
        if w.chars().any(char::is_alphabetic) {
            self.words.insert(w);
        }
    }

    fn has(&self, w: &str) -> bool {
        self.words.contains(&w.to_lowercase())
    }
}

/// A token without the punctuation around it.
fn core(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
}

/// Particles written with a hyphen after the word they belong to (Russian, Ukrainian): a line
/// end before them is a real hyphen.
const HYPHEN_PARTICLES: &[&str] = &["то", "либо", "нибудь", "таки", "бо", "от"];

/// Whether the hyphen between `left` (the word before a line-end hyphen, without it) and
/// `right` (the first word of the next line) belongs to the word.
///
/// Kept: after a number when `right` is a short suffix, when `right` starts with a capital ("Ertir-Öýi", "2020-nji"), when
/// `right` is a hyphenated particle ("что-то"), and when the book writes the hyphenated form
/// elsewhere and never the joined one. Otherwise joined: a word broken at the margin is far more
/// common than a compound broken exactly at its hyphen.
pub fn keeps_hyphen(left: &str, right: &str, vocab: &Vocabulary) -> bool {
    let left = core(left);
    let right = core(right);
    let (Some(l_last), Some(r_first)) = (left.chars().last(), right.chars().next()) else {
        return true;
    };
    if !r_first.is_alphabetic() {
        return true;
    }
    // "XIX-го", "II-nji": a roman numeral takes its suffix with a hyphen too.
    let roman_numeral = left.chars().count() <= 6
        && left.chars().all(|c| "IVXLCDM".contains(c))
        && right.chars().count() <= 4
        && right.chars().all(char::is_lowercase);
    if roman_numeral {
        return true;
    }
    if !l_last.is_alphabetic() {
        // A number takes its suffix with a hyphen ("2020-nji", "5-го"); a long lowercase
        // word after digits is a word whose letters were read as digits ("06-щественность").
        let suffix = right.chars().filter(|c| c.is_alphabetic()).count() <= 4;
        let word_like = left.chars().any(char::is_alphabetic);
        return suffix || word_like;
    }
    let all_caps = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase)
    };
    if r_first.is_uppercase() && !(all_caps(left) && all_caps(right)) {
        return true;
    }
    let joined = format!("{left}{right}");
    let hyphenated = format!("{left}-{right}");
    if vocab.has(&joined) {
        return false;
    }
    if vocab.has(&hyphenated) {
        return true;
    }
    HYPHEN_PARTICLES.contains(&right.to_lowercase().as_str())
}

/// `text` ends in a word broken by a hyphen: returns the text without the hyphen.
fn hyphen_end(text: &str) -> Option<&str> {
    // Specks read after the hyphen ("аг-.", "ньӧбӧ- ·") are the scan's, not the text's.
    let t = text
        .trim_end()
        .trim_end_matches(['.', ',', '·', '‚', '`', '\'', ' ']);
    let stripped = t
        .strip_suffix('-')
        .or_else(|| t.strip_suffix('\u{ad}'))
        .or_else(|| t.strip_suffix('\u{2010}'))
        .or_else(|| t.strip_suffix('¬'))?;
    stripped
        .chars()
        .last()
        .is_some_and(char::is_alphanumeric)
        .then_some(stripped)
}

/// Joins two line texts: with a space, or across a hyphenated word.
fn join_lines(prev: &str, next: &str, vocab: &Vocabulary) -> String {
    let (a, b) = split_join(prev, next, vocab);
    format!("{a}{b}")
}

/// Like [`join_lines`], but returned in two halves, where the second line begins.
fn split_join(prev: &str, next: &str, vocab: &Vocabulary) -> (String, String) {
    if prev.is_empty() {
        return (String::new(), next.to_string());
    }
    if let Some(stem) = hyphen_end(prev) {
        let left = stem.rsplit(char::is_whitespace).next().unwrap_or(stem);
        let right = next.split_whitespace().next().unwrap_or("");
        if !right.is_empty() {
            return if keeps_hyphen(left, right, vocab) {
                (format!("{stem}-"), next.to_string())
            } else {
                (stem.to_string(), next.to_string())
            };
        }
    }
    (format!("{prev} "), next.to_string())
}

// ---------------------------------------------------------------------------------------------
// Running headers, footers and page numbers

/// What of one page is not reading text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Furniture {
    /// Indexes into the page's lines.
    pub lines: HashSet<usize>,
    /// The printed page number, when one was read.
    pub number: Option<u32>,
}

#[derive(Debug, Clone)]
struct Candidate {
    page: usize,
    line: usize,
    top: bool,
    key: String,
    /// Centre and height as fractions of the page height.
    yc: f64,
    h: f64,
    /// Width as a fraction of the page width.
    w: f64,
    /// Top and bottom as fractions of the page height.
    y0: f64,
    y1: f64,
    /// Clear of the body: the gap to the next line inward is at least a line height.
    apart: bool,
    /// Heading size: running heads are set no larger than the text.
    tall: bool,
}

impl Candidate {
    /// On the same baseline band: the two overlap vertically.
    fn beside(&self, other: &Candidate) -> bool {
        self.y0 < other.y1 && self.y1 > other.y0
    }
}

/// Fraction of the page height within which furniture must recur.
const SAME_HEIGHT: f64 = 0.02;

/// The value of a decimal digit in the scripts kitap reads: ASCII, Arabic-Indic, Extended
/// Arabic-Indic (Persian, Urdu), Devanagari, fullwidth.
fn decimal_digit(c: char) -> Option<u32> {
    let zero = ['0', '\u{660}', '\u{6f0}', '\u{966}', '\u{ff10}']
        .into_iter()
        .find(|&z| (z..=char::from_u32(z as u32 + 9).unwrap_or(z)).contains(&c))?;
    Some(c as u32 - zero as u32)
}

/// Text with digits made alike, case and punctuation dropped: "42 Libraries" ~ "43 libraries".
fn furniture_key(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if decimal_digit(c).is_some() {
            out.push('#');
        } else if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() && !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The value of a printed page number: arabic digits, maybe between dashes or brackets.
fn page_number(s: &str) -> Option<u32> {
    let t = s.trim_matches(|c: char| !c.is_alphanumeric());
    if t.is_empty() || t.chars().count() > 4 {
        return None;
    }
    t.chars()
        .try_fold(0u32, |n, c| Some(n * 10 + decimal_digit(c)?))
}

fn is_roman(s: &str) -> bool {
    let t = s.trim_matches(|c: char| !c.is_alphanumeric());
    !t.is_empty()
        && t.chars().count() <= 6
        && t.chars().all(|c| "ivxlcdmIVXLCDM".contains(c))
        && (t.chars().all(char::is_lowercase) || t.chars().all(char::is_uppercase))
}

fn similar(a: &str, b: &str) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longest = a.len().max(b.len());
    edit_distance(&a, &b) * 5 <= longest
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The top two and bottom two lines of each page, the places where furniture is printed.
fn candidates(pages: &[PageText]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (pi, p) in pages.iter().enumerate() {
        if p.lines.is_empty() || p.height <= 0.0 || p.width <= 0.0 {
            continue;
        }
        let mut order: Vec<usize> = (0..p.lines.len()).collect();
        order.sort_by(|&a, &b| p.lines[a].bbox.y0.total_cmp(&p.lines[b].bbox.y0));
        let line_h = median_height(p.lines.iter())
            .unwrap_or_else(|| p.lines.iter().map(|l| l.bbox.height()).fold(0.0, f64::max));
        let n = order.len();
        let mut add = |k: usize, top: bool| {
            let l = &p.lines[order[k]];
            // The gap to the next line inward that is not beside this one: a folio and a
            // running title on one baseline are often read as two lines.
            let beside = |j: usize| {
                let o = &p.lines[j].bbox;
                o.y0 < l.bbox.y1 && o.y1 > l.bbox.y0
            };
            let gap = if top {
                order[k + 1..]
                    .iter()
                    .find(|&&j| !beside(j))
                    .map_or(f64::INFINITY, |&j| p.lines[j].bbox.y0 - l.bbox.y1)
            } else {
                order[..k]
                    .iter()
                    .rev()
                    .find(|&&j| !beside(j))
                    .map_or(f64::INFINITY, |&j| l.bbox.y0 - p.lines[j].bbox.y1)
            };
            let yc = (l.bbox.y0 + l.bbox.y1) / 2.0 / p.height;
            if (top && yc > 0.25) || (!top && yc < 0.75) {
                return;
            }
            out.push(Candidate {
                page: pi,
                line: order[k],
                top,
                key: furniture_key(&l.text),
                yc,
                y0: l.bbox.y0 / p.height,
                y1: l.bbox.y1 / p.height,
                h: l.bbox.height() / p.height,
                w: l.bbox.width() / p.width,
                apart: gap >= 0.8 * line_h,
                tall: l.bbox.height() >= HEADING_RATIO * line_h,
            });
        };
        for k in 0..n.min(2) {
            add(k, true);
        }
        // Top and bottom exclude each other by height on the page.
        for k in (n.saturating_sub(2)..n).rev() {
            add(k, false);
        }
    }
    out
}

/// Finds each page's running header, footer and page number lines.
///
/// - A line at the top or bottom of a page, set off from the text by at least a line height
///   and not of heading size, is a running header or footer when another page has a similar line (digits made alike)
///   at the same height (within 2 % of the page) and of the same size. A first line that only looks like the header but sits elsewhere — a title on
///   the first page — stays.
/// - A short line that is only a number (arabic or roman), topmost or bottommost and clear of
///   the text, is a page number.
/// - A short one-word line where other pages have their page number is a misread page number.
pub fn find_furniture(pages: &[PageText]) -> Vec<Furniture> {
    let cands = candidates(pages);
    let mut out = vec![Furniture::default(); pages.len()];
    let mut number_slots: Vec<(bool, f64)> = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        let text = &pages[c.page].lines[c.line].text;
        // Only the first top and the last bottom candidate of a page (or one beside it on the
        // same baseline) may be a lone number.
        let outermost = !cands[..i]
            .iter()
            .any(|o| o.page == c.page && o.top == c.top && !o.beside(c));
        let number = page_number(text);
        // A roman numeral alone may be a chapter number: it counts as a page number only
        // when another page has one in the same place (front matter is numbered so).
        let roman = is_roman(text)
            && cands.iter().any(|o| {
                o.page != c.page
                    && o.top == c.top
                    && (o.yc - c.yc).abs() <= SAME_HEIGHT
                    && is_roman(&pages[o.page].lines[o.line].text)
            });
        // Chapter numbers and years are set large; page numbers are not.
        let lone_number =
            outermost && c.apart && !c.tall && c.w < 0.25 && (number.is_some() || roman);
        // Running heads are set off from the text by extra space; body lines that recur at
        // the same place (a refrain, a repeated table row) are not.
        let repeated = c.apart
            && !c.tall
            && cands.iter().any(|o| {
                let size = o.h / c.h;
                o.page != c.page
                    && o.top == c.top
                    && (o.yc - c.yc).abs() <= SAME_HEIGHT
                    && size > 0.75
                    && size < 1.34
                    && similar(&o.key, &c.key)
            });
        // A speck read as "." or "'" in the margin (an asterism "* * *" is wider).
        let speck = outermost && c.apart && c.w < 0.05 && c.key.is_empty();
        if lone_number || repeated || speck {
            let f = &mut out[c.page];
            f.lines.insert(c.line);
            if lone_number {
                if number.is_some() {
                    f.number = number;
                }
                number_slots.push((c.top, c.yc));
            } else if f.number.is_none() {
                // "42 Libraries and …": the number in a running header.
                let toks: Vec<&str> = text.split_whitespace().collect();
                f.number = [toks.first(), toks.last()]
                    .into_iter()
                    .flatten()
                    .find_map(|t| page_number(t));
            }
        }
    }
    for (i, c) in cands.iter().enumerate() {
        let text = &pages[c.page].lines[c.line].text;
        let short = text.split_whitespace().count() == 1
            && text.chars().filter(|c| !c.is_whitespace()).count() <= 4;
        let outer = !cands[..i]
            .iter()
            .any(|o| o.page == c.page && o.top == c.top && !o.beside(c));
        if short
            && outer
            && c.apart
            && c.w < 0.25
            && number_slots
                .iter()
                .any(|(top, yc)| *top == c.top && (yc - c.yc).abs() <= SAME_HEIGHT)
        {
            out[c.page].lines.insert(c.line);
        }
    }
    out
}

/// Labels from the numbers printed on the pages, else the page index.
///
/// The numbering is followed in runs: two or more readings with the same offset (number −
/// position) confirm it for the pages they span; a reading that no reading near it agrees
/// with is a misread and ignored. Pages between runs (unnumbered plates, a page missing from the scan)
/// carry on the run before them while that stays below the next run's first number, and are
/// labelled by position in brackets where it would not; pages before the first run take its
/// offset back to number 1. Without any confirmed run: the page index.
pub fn detected_labels(numbers: &[Option<u32>]) -> Vec<String> {
    // (page, offset) of every reading, 1-based pages; a reading no other reading within two
    // on either side agrees with is a misread.
    let reads: Vec<(i64, i64)> = numbers
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i as i64 + 1, n as i64 - (i as i64 + 1))))
        .collect();
    let agreed: Vec<(i64, i64)> = reads
        .iter()
        .enumerate()
        .filter(|&(k, &(_, off))| {
            let near = k.saturating_sub(2)..(k + 3).min(reads.len());
            near.filter(|&j| j != k).any(|j| reads[j].1 == off)
        })
        .map(|(_, r)| *r)
        .collect();
    // (first page, last page, offset) of each confirmed run.
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    let mut current: Option<(i64, i64, i64, usize)> = None;
    for &(page, off) in &agreed {
        current = match current {
            Some((first, _, o, count)) if o == off => Some((first, page, o, count + 1)),
            other => {
                if let Some((first, last, o, count)) = other
                    && count >= 2
                {
                    runs.push((first, last, o));
                }
                Some((page, page, off, 1))
            }
        };
    }
    if let Some((first, last, o, count)) = current
        && count >= 2
    {
        runs.push((first, last, o));
    }
    if runs.is_empty() {
        return (1..=numbers.len()).map(|i| i.to_string()).collect();
    }
    (1..=numbers.len() as i64)
        .map(|i| {
            let before = runs.iter().rev().find(|r| r.0 <= i);
            let next = runs.iter().find(|r| r.0 > i);
            let n = match before {
                Some(&(_, last, off)) if i <= last => Some(i + off),
                Some(&(_, _, off)) => {
                    let fits = next.is_none_or(|&(first, _, next_off)| i + off < first + next_off);
                    fits.then_some(i + off)
                }
                None => next.map(|&(_, _, off)| i + off),
            };
            match n {
                Some(n) if n >= 1 => n.to_string(),
                // Unnumbered: before the numbering begins, or a plate between numbered pages.
                _ => format!("[{i}]"),
            }
        })
        .collect()
}

/// Labels from book.toml's `page_labels`, the way the PDF shows them.
pub fn configured_labels(ranges: &[PageLabelRange], page_count: u32) -> Vec<String> {
    (1..=page_count)
        .map(|i| {
            let Some(r) = ranges.iter().rev().find(|r| r.from <= i) else {
                return i.to_string();
            };
            let n = r.start + (i - r.from);
            let body = match r.style {
                LabelStyle::Arabic => n.to_string(),
                LabelStyle::Roman => roman(n).to_lowercase(),
                LabelStyle::RomanUpper => roman(n),
                LabelStyle::Letters => letters(n).to_lowercase(),
                LabelStyle::LettersUpper => letters(n),
                LabelStyle::None => String::new(),
            };
            let label = format!("{}{body}", r.prefix.as_deref().unwrap_or(""));
            if label.is_empty() {
                i.to_string()
            } else {
                label
            }
        })
        .collect()
}

fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut s = String::new();
    for (v, r) in TABLE {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

/// PDF letter labels: A…Z, AA…ZZ, AAA…
fn letters(n: u32) -> String {
    let n = n.max(1);
    let c = char::from(b'A' + ((n - 1) % 26) as u8);
    std::iter::repeat_n(c, ((n - 1) / 26 + 1) as usize).collect()
}

// ---------------------------------------------------------------------------------------------
// Content documents

/// One content document of the EPUB.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Table-of-contents entry: a chapter or heading title, `None` for a run of pages.
    pub title: Option<String>,
    /// The chapter from book.toml that starts here (written as `<h1>`).
    pub chapter: Option<String>,
    pub blocks: Vec<Block>,
    /// Pages that begin in this document.
    pub pages: Vec<u32>,
}

/// Splits the reading into content documents: at book.toml chapters when given, else at
/// detected headings; and after at most `per` pages in any case, so no document is huge (a
/// paragraph running over that page turn is split, its second half marked `continued`).
pub fn sections(reading: &Reading, chapters: &[(String, u32)], per: u32) -> Vec<Section> {
    let per = per.max(1) as usize;
    let chapter_at: HashMap<u32, &str> = chapters
        .iter()
        .rev()
        .map(|(t, p)| (*p, t.as_str()))
        .collect();
    let by_heading = chapter_at.is_empty();
    let mut out: Vec<Section> = Vec::new();
    let new_section = |out: &mut Vec<Section>, chapter: Option<&str>| {
        out.push(Section {
            title: chapter.map(str::to_string),
            chapter: chapter.map(str::to_string),
            blocks: Vec::new(),
            pages: Vec::new(),
        });
    };
    let has_text = |s: &Section| {
        s.blocks
            .iter()
            .any(|b| matches!(b, Block::Para { .. } | Block::PageImage(_)))
    };
    for block in &reading.blocks {
        match block {
            Block::PageBreak(p) => {
                let chapter = chapter_at.get(p).copied();
                let full = out.last().is_none_or(|s| s.pages.len() >= per);
                if chapter.is_some() || full {
                    new_section(&mut out, chapter);
                }
                let s = out.last_mut().expect("a section");
                s.pages.push(*p);
                s.blocks.push(block.clone());
            }
            Block::Heading(t) => {
                let s = out.last_mut().expect("pages begin with a page break");
                if by_heading && has_text(s) {
                    // The heading's page break (and nothing else before it) moves along.
                    let moved = match s.blocks.last() {
                        Some(Block::PageBreak(p)) => {
                            let p = *p;
                            s.blocks.pop();
                            s.pages.pop();
                            Some(p)
                        }
                        _ => None,
                    };
                    new_section(&mut out, None);
                    let s = out.last_mut().expect("just pushed");
                    if let Some(p) = moved {
                        s.pages.push(p);
                        s.blocks.push(Block::PageBreak(p));
                    }
                }
                let s = out.last_mut().expect("a section");
                if by_heading && s.title.is_none() && !has_text(s) {
                    s.title = Some(t.clone());
                }
                s.blocks.push(block.clone());
            }
            Block::Para { inlines, continued } => {
                // Page turns inside the paragraph may close the document too.
                let mut part: Vec<Inline> = Vec::new();
                let mut cont = *continued;
                for inline in inlines {
                    if let Inline::Break(p) = inline {
                        let chapter = chapter_at.get(p).copied();
                        let full = out.last().is_some_and(|s| s.pages.len() >= per);
                        if chapter.is_some() || full {
                            out.last_mut().expect("a section").blocks.push(Block::Para {
                                inlines: std::mem::take(&mut part),
                                continued: cont,
                            });
                            cont = true;
                            new_section(&mut out, chapter);
                        }
                        out.last_mut().expect("a section").pages.push(*p);
                    }
                    part.push(inline.clone());
                }
                out.last_mut().expect("a section").blocks.push(Block::Para {
                    inlines: part,
                    continued: cont,
                });
            }
            Block::PageImage(_) => out
                .last_mut()
                .expect("a section")
                .blocks
                .push(block.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, y0: f64, h: f64, para_start: bool) -> TextLine {
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
    fn page(index: u32, header: Option<&str>, paras: &[&[&str]], number: Option<&str>) -> PageText {
        page_from(index, 220.0, header, paras, number)
    }

    /// Body text from `y` down: mid-page text is never furniture.
    fn page_from(
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

    fn text_of(r: &Reading) -> String {
        let mut s = String::new();
        for b in &r.blocks {
            match b {
                Block::Heading(t) => s.push_str(&format!("# {t}\n")),
                Block::Para { inlines, .. } => {
                    for i in inlines {
                        match i {
                            Inline::Text(t) => s.push_str(t),
                            Inline::Break(p) => s.push_str(&format!("|{p}|")),
                        }
                    }
                    s.push('\n');
                }
                Block::PageBreak(p) => s.push_str(&format!("[{p}]\n")),
                Block::PageImage(p) => s.push_str(&format!("<img {p}>\n")),
            }
        }
        s
    }

    #[test]
    fn hyphen_rule() {
        let v = Vocabulary::from_text("северо-запад Ertir-öýi книга библиотеки читатель");
        // Lowercase continuation, no evidence: a word broken at the margin.
        assert!(!keeps_hyphen("биб", "лиотека", &v));
        // The joined form is used elsewhere.
        assert!(!keeps_hyphen("библио", "теки,", &v));
        // The book writes the compound with its hyphen and never joined.
        assert!(keeps_hyphen("северо", "запад", &v));
        assert!(keeps_hyphen("Ertir", "öýi", &v));
        // Capital after the hyphen: a compound of names.
        assert!(keeps_hyphen("Алма", "Ата", &v));
        assert!(keeps_hyphen("Nur", "Sultan.", &v));
        // All capitals on both sides: a word in capitals broken at the margin.
        assert!(!keeps_hyphen("БИБЛИО", "ТЕКА", &v));
        // Digits: "2020-nji", and particles: "что-то".
        assert!(keeps_hyphen("24", "nji", &v));
        assert!(keeps_hyphen("5", "го", &v));
        assert!(keeps_hyphen("XIX", "го", &v));
        assert!(!keeps_hyphen("CIVIL", "IAN", &v));
        // Letters misread as digits, then the rest of the word.
        assert!(!keeps_hyphen("06", "щественность", &v));
        assert!(keeps_hyphen("что", "то", &v));
    }

    #[test]
    fn a_folio_beside_the_running_title_goes_with_it() {
        // Number and title on one baseline, read as two lines, on every page.
        let pages: Vec<PageText> = (0..4u32)
            .map(|i| {
                let mut p = page(
                    i + 1,
                    None,
                    &[&["Основной текст страницы идёт здесь.", "И ещё одна строка."]],
                    None,
                );
                let mut folio = line(&format!("{}", 12 + i), 100.0, 34.0, true);
                folio.bbox.x1 = folio.bbox.x0 + 40.0;
                let mut title = line("КНИГИ И ЧИТАТЕЛИ", 102.0, 32.0, true);
                title.bbox.x0 = 700.0;
                p.lines.insert(0, title);
                p.lines.insert(0, folio);
                p
            })
            .collect();
        let f = find_furniture(&pages);
        for (i, page) in f.iter().enumerate() {
            assert_eq!(page.lines, HashSet::from([0, 1]), "page {}", i + 1);
            assert_eq!(page.number, Some(12 + i as u32));
        }
    }

    #[test]
    fn page_numbers_in_other_digit_scripts() {
        assert_eq!(page_number("٤٢"), Some(42));
        assert_eq!(page_number("— ۱۰۷ —"), Some(107));
        assert_eq!(page_number("12"), Some(12));
        assert_eq!(page_number("12a"), None);
        assert_eq!(furniture_key("٤٢ Глава"), furniture_key("43 глава"));
    }

    #[test]
    fn a_large_chapter_number_or_a_lone_roman_numeral_is_not_a_folio() {
        let mut p = page(
            1,
            None,
            &[&["Текст главы начинается здесь и идёт дальше."]],
            None,
        );
        p.lines.insert(0, line("III", 100.0, 90.0, true));
        let q = page(
            2,
            None,
            &[&["Вторая страница без номера вверху, только текст."]],
            None,
        );
        let f = find_furniture(&[p, q]);
        assert!(f[0].lines.is_empty(), "{:?}", f[0]);
    }

    #[test]
    fn a_speck_after_the_hyphen_or_a_new_ocr_paragraph_does_not_stop_the_join() {
        let v = Vocabulary::default();
        assert_eq!(
            join_lines("бур аг-.", "ентъяс пӧвсысь", &v),
            "бур агентъяс пӧвсысь"
        );
        assert_eq!(
            join_lines("кор ньӧбӧ- ·", "ны нянь", &v),
            "кор ньӧбӧны нянь"
        );
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

    #[test]
    fn lines_join_into_paragraphs_across_hyphens() {
        let v = Vocabulary::from_text("северо-запад");
        assert_eq!(
            join_lines("на северо-", "запад от", &v),
            "на северо-запад от"
        );
        assert_eq!(join_lines("в библио-", "теке был", &v), "в библиотеке был");
        assert_eq!(join_lines("две", "строки", &v), "две строки");
        assert_eq!(join_lines("тире —", "и дальше", &v), "тире — и дальше");
    }

    #[test]
    fn running_header_and_page_numbers_are_removed_but_not_a_first_line() {
        let pages = vec![
            // First page: no header; its first line must stay.
            page(
                1,
                None,
                &[&["The library is a unique place.", "Second line."]],
                Some("41"),
            ),
            page(
                2,
                Some("Libraries and the catalogue"),
                &[&["Body two.", "More text."]],
                Some("42"),
            ),
            page(
                3,
                Some("Libraries and the catalogue"),
                &[&["Body three.", "End."]],
                Some("43"),
            ),
        ];
        let r = reflow(&pages, None);
        let t = text_of(&r);
        assert!(t.contains("The library is a unique place."), "{t}");
        assert!(!t.contains("Libraries and the catalogue"), "{t}");
        for n in ["41", "42", "43"] {
            assert!(!t.contains(n), "{t}");
        }
        assert_eq!(r.labels, ["41", "42", "43"]);
        let removed: usize = find_furniture(&pages).iter().map(|f| f.lines.len()).sum();
        assert_eq!(removed, 5);
    }

    #[test]
    fn title_like_the_header_but_lower_on_the_page_stays() {
        let body: Vec<&str> = vec!["Строка текста на странице."; 9];
        let mut first = page(
            1,
            None,
            &[&["Библиотека становится центром"], &body],
            Some("23"),
        );
        first.lines[0].bbox.y0 = 200.0;
        first.lines[0].bbox.y1 = 259.0;
        let header = Some("Библиотека становится центром");
        let pages = vec![
            first,
            page_from(2, 700.0, header, &[&body], Some("24")),
            page_from(3, 700.0, header, &[&body], Some("25")),
        ];
        let r = reflow(&pages, None);
        assert_eq!(
            r.blocks[1],
            Block::Heading("Библиотека становится центром".into()),
            "{r:?}"
        );
        let furniture = find_furniture(&pages);
        let removed: usize = furniture.iter().map(|f| f.lines.len()).sum();
        assert_eq!(removed, 5, "{furniture:?}");
    }

    #[test]
    fn a_misread_page_number_in_the_number_slot_is_removed() {
        let pages = vec![
            page(1, None, &[&["Один.", "Два."]], Some("DS")),
            page(2, None, &[&["Три.", "Четыре."]], Some("24")),
            page(3, None, &[&["Пять.", "Шесть."]], Some("25")),
        ];
        let r = reflow(&pages, None);
        assert!(!text_of(&r).contains("DS"), "{}", text_of(&r));
        assert_eq!(r.labels, ["23", "24", "25"], "the number is inferred");
    }

    #[test]
    fn numbers_that_disagree_give_index_labels() {
        assert_eq!(detected_labels(&[Some(7), None, Some(30)]), ["1", "2", "3"]);
        assert_eq!(
            detected_labels(&[None, Some(1), Some(2), None]),
            ["[1]", "1", "2", "3"]
        );
    }

    #[test]
    fn numbering_is_followed_in_runs_across_plates_and_misreads() {
        // Pages 1–3 numbered 7–9, two unnumbered plates, then 10–12; one misread (40).
        let numbers = [
            Some(7),
            Some(8),
            Some(9),
            None,
            None,
            Some(10),
            Some(40),
            Some(12),
            Some(13),
        ];
        assert_eq!(
            detected_labels(&numbers),
            ["7", "8", "9", "[4]", "[5]", "10", "11", "12", "13"]
        );
        // A page missing from the scan: the numbers jump, the labels follow.
        assert_eq!(
            detected_labels(&[Some(1), Some(2), Some(4), Some(5)]),
            ["1", "2", "4", "5"]
        );
    }

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
    fn tall_short_lines_are_headings_and_start_sections() {
        let body: Vec<&str> = vec!["Обычная строка текста."; 10];
        let mut p2 = page_from(2, 1000.0, None, &[&["Глава вторая"], &body], None);
        p2.lines[0].bbox.y1 = p2.lines[0].bbox.y0 + 60.0;
        let pages = vec![
            page_from(1, 1000.0, None, &[&body], None),
            p2,
            page_from(3, 1000.0, None, &[&body], None),
        ];
        let r = reflow(&pages, None);
        let s = sections(&r, &[], 10);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].title.as_deref(), Some("Глава вторая"));
        assert_eq!(s[1].pages, [2, 3]);
        assert_eq!(s[1].blocks[0], Block::PageBreak(2));
    }

    #[test]
    fn sections_close_after_n_pages_even_inside_a_paragraph() {
        let pages: Vec<PageText> = (1..=25)
            .map(|i| {
                page_from(
                    i,
                    1000.0,
                    None,
                    &[&["текст без конца и", "ещё текст"]],
                    None,
                )
            })
            .collect();
        let r = reflow(&pages, None);
        // One paragraph through the whole book.
        assert_eq!(
            r.blocks
                .iter()
                .filter(|b| matches!(b, Block::Para { .. }))
                .count(),
            1
        );
        let s = sections(&r, &[], 10);
        let spans: Vec<(u32, u32)> = s
            .iter()
            .map(|s| (s.pages[0], *s.pages.last().unwrap()))
            .collect();
        assert_eq!(spans, [(1, 10), (11, 20), (21, 25)]);
        assert!(matches!(
            s[1].blocks[0],
            Block::Para {
                continued: true,
                ..
            }
        ));
    }

    #[test]
    fn chapters_from_book_toml_start_documents() {
        let pages: Vec<PageText> = (1..=6)
            .map(|i| page_from(i, 1000.0, None, &[&["Абзац."]], None))
            .collect();
        let r = reflow(&pages, None);
        let s = sections(&r, &[("Один".into(), 3), ("Два".into(), 5)], 10);
        let spans: Vec<(u32, u32)> = s
            .iter()
            .map(|s| (s.pages[0], *s.pages.last().unwrap()))
            .collect();
        assert_eq!(spans, [(1, 2), (3, 4), (5, 6)]);
        assert_eq!(s[1].chapter.as_deref(), Some("Один"));
    }

    #[test]
    fn configured_labels_follow_book_toml() {
        let ranges = vec![
            PageLabelRange {
                from: 1,
                style: LabelStyle::Roman,
                start: 1,
                prefix: None,
            },
            PageLabelRange {
                from: 4,
                style: LabelStyle::Arabic,
                start: 1,
                prefix: None,
            },
        ];
        assert_eq!(configured_labels(&ranges, 5), ["i", "ii", "iii", "1", "2"]);
    }
}
