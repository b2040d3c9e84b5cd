//! The page that stands in for a page that failed: an A4 notice naming the file and what went
//! wrong, drawn in an 8×8 bitmap font (so PDF/A needs no embedded font for it) with the exact
//! text in the invisible text layer over it.

use pdf_writer::Content;
use pdf_writer::types::TextRenderingMode;

use super::textlayer::{round2, show_word};

/// A4 in points, for placeholder pages that have no image to size them.
pub(super) const A4: (f64, f64) = (595.276, 841.89);

/// The notice page's content: what failed, as bitmap text and as invisible text over it.
pub(super) fn notice(index: u32, file: &str, message: &str) -> Content {
    let lines = [
        format!("kitap: page {index} could not be converted"),
        file.to_string(),
        message.to_string(),
    ];
    let mut content = Content::new();
    content.set_fill_gray(0.4);
    let mut y = A4.1 - 120.0;
    let width = A4.0 - 120.0;
    for (i, line) in lines.iter().enumerate() {
        let dot = if i == 0 { 1.5 } else { 1.25 };
        let fit = (width / (8.0 * dot)).floor() as usize;
        for row in wrap(line, fit) {
            let words = notice_text(&mut content, &row, 60.0, y, dot);
            content.begin_text();
            content.set_text_rendering_mode(TextRenderingMode::Invisible);
            for (word, x, w) in words {
                show_word(&mut content, &word, x, y, 8.0 * dot, w);
            }
            content.end_text();
            y -= 10.0 * dot + 2.0;
        }
        y -= 10.0;
    }
    content
}

/// Splits `text` into rows of at most `fit` characters, at spaces where it can.
fn wrap(text: &str, fit: usize) -> Vec<String> {
    let fit = fit.max(1);
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = row.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= fit {
                if gap == 1 {
                    row.push(' ');
                }
                row.extend(word.iter());
                break;
            }
            if used > 0 {
                rows.push(std::mem::take(&mut row));
                continue;
            }
            // A word longer than a row is cut.
            let rest = word.split_off(fit);
            rows.push(word.iter().collect());
            word = rest;
        }
    }
    if !row.is_empty() {
        rows.push(row);
    }
    rows
}

/// Draws `text` at (x, baseline) in the 8×8 bitmap font, each font pixel a `dot`-point square
/// (runs of set pixels in a row become one rectangle); returns each word with its left edge
/// and width. A space is half a cell: text extractors read a gap of a whole em between words
/// as a column break.
fn notice_text(
    content: &mut Content,
    text: &str,
    x: f64,
    baseline: f64,
    dot: f64,
) -> Vec<(String, f64, f64)> {
    use font8x8::UnicodeFonts;
    let mut words: Vec<(String, f64, f64)> = Vec::new();
    let mut left = x;
    let mut in_word = false;
    for ch in text.chars() {
        if ch == ' ' {
            left += 4.0 * dot;
            in_word = false;
            continue;
        }
        if !in_word {
            words.push((String::new(), left, 0.0));
            in_word = true;
        }
        if let Some(w) = words.last_mut() {
            w.0.push(ch);
            w.2 += 8.0 * dot;
        }
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::LATIN_FONTS.get(ch))
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        for (row, bits) in glyph.iter().enumerate() {
            // Row 0 is the top; the cell's baseline sits at row 7's bottom. Bit 0 is leftmost.
            let y = baseline + (7 - row) as f64 * dot;
            let mut col = 0;
            while col < 8 {
                if bits >> col & 1 == 0 {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < 8 && bits >> col & 1 == 1 {
                    col += 1;
                }
                content.rect(
                    round2(left + start as f64 * dot),
                    round2(y),
                    round2((col - start) as f64 * dot),
                    round2(dot),
                );
            }
        }
        left += 8.0 * dot;
    }
    if !words.is_empty() {
        content.fill_nonzero();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_wrap_at_spaces_and_cut_long_words() {
        assert_eq!(wrap("ab cd ef", 5), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefg h", 3), vec!["abc", "def", "g h"]);
        assert!(wrap("", 4).is_empty());
    }
}
