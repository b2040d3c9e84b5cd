//! Running headers, footers and printed page numbers: the lines of a page that are not
//! reading text, found by repetition at the same height on other pages or by a short number
//! alone at the top or bottom.

use std::collections::HashSet;

use super::{HEADING_RATIO, PageText, median_height};

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

/// Levenshtein distance between two strings of characters.
pub(crate) fn edit_distance(a: &[char], b: &[char]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::fixtures::{line, page, page_from, text_of};
    use crate::reading::{ReadingBlock, reflow};

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
            ReadingBlock::Heading("Библиотека становится центром".into()),
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
}
