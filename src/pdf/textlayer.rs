//! The invisible text layer, as Tesseract's own renderer writes it: one word per text matrix
//! in the glyphless font, stretched (`Tz`) to the word's box; CIDs are UTF-16 code units and
//! the ToUnicode CMap maps each back to itself, so any script extracts as Unicode.

use pdf_writer::types::TextRenderingMode;
use pdf_writer::{Content, Name, Str};

use super::glyphless;
use crate::ocr::OcrPage;

/// Width of a glyph of the text-layer font, in text space units per unit of font size.
const GLYPH_WIDTH: f64 = glyphless::GLYPH_ADVANCE as f64 / glyphless::UNITS_PER_EM as f64;

/// Invisible words in reading order, each stretched over its box.
pub(super) fn text_layer(content: &mut Content, ocr: &OcrPage, px_per_pt: f64, page_h_pt: f64) {
    if ocr.word_count() == 0 {
        return;
    }
    content.begin_text();
    content.set_text_rendering_mode(TextRenderingMode::Invisible);
    for line in ocr.lines() {
        for word in &line.words {
            let b = word.bbox;
            let x = b.x0 / px_per_pt;
            let w = b.width() / px_per_pt;
            let size = b.height() / px_per_pt;
            let baseline = page_h_pt - b.y1 / px_per_pt;
            show_word(content, &word.text, x, baseline, size, w);
        }
    }
    content.end_text();
}

/// One word at (x, baseline), `size` points high, stretched to `width` points.
pub(super) fn show_word(
    content: &mut Content,
    text: &str,
    x: f64,
    baseline: f64,
    size: f64,
    width: f64,
) {
    let units = utf16_cids(text);
    let n = units.len() / 2;
    if n == 0 || size < 0.5 || width < 0.1 {
        return;
    }
    let scale = 100.0 * width / (n as f64 * GLYPH_WIDTH * size);
    content.set_font(Name(b"F1"), round2(size));
    content.set_horizontal_scaling(round2(scale));
    // A right-to-left word is written in logical order from its right end leftwards (the
    // text matrix mirrored, as Tesseract's renderer does): extractors read it back in order.
    let matrix = if is_right_to_left(text) {
        [-1.0, 0.0, 0.0, 1.0, round2(x + width), round2(baseline)]
    } else {
        [1.0, 0.0, 0.0, 1.0, round2(x), round2(baseline)]
    };
    content.set_text_matrix(matrix);
    content.show(Str(&units));
}

/// Whether a word is written right to left: it has a Hebrew or Arabic-script letter.
fn is_right_to_left(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_alphabetic() && matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
    })
}

pub(super) fn round2(v: f64) -> f32 {
    ((v * 100.0).round() / 100.0) as f32
}

/// UTF-16BE code units: the CIDs of the Identity-H encoded text. Characters outside the BMP
/// become U+FFFD: a lone surrogate CID could not map back to Unicode. Control characters and
/// the non-characters U+FEFF, U+FFFE and U+FFFF are left out: PDF/A-2u forbids a glyph that
/// maps to U+0000, U+FEFF or U+FFFE, and none of them is text.
fn utf16_cids(text: &str) -> Vec<u8> {
    text.chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}'))
        .map(|c| if (c as u32) > 0xffff { '\u{fffd}' } else { c })
        .flat_map(|c| (c as u16).to_be_bytes())
        .collect()
}

/// The ToUnicode CMap: every 2-byte CID maps to the same UTF-16 code unit. A bfrange may only
/// vary its last byte, so the BMP is written as 256-code ranges (surrogates excluded).
pub(super) fn to_unicode_cmap() -> String {
    let mut ranges: Vec<String> = (0u16..=0xff)
        .filter(|hi| !(0xd8..=0xdf).contains(hi))
        .map(|hi| format!("<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>"))
        .collect();
    let mut body = String::new();
    while !ranges.is_empty() {
        let n = ranges.len().min(100);
        body.push_str(&format!("{n} beginbfrange\n"));
        for r in ranges.drain(..n) {
            body.push_str(&r);
            body.push('\n');
        }
        body.push_str("endbfrange\n");
    }
    format!(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n{body}\
endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cids_are_utf16_code_units() {
        assert_eq!(utf16_cids("Aж"), vec![0x00, 0x41, 0x04, 0x36]);
        assert_eq!(utf16_cids("𝄞"), vec![0xff, 0xfd]);
        assert_eq!(utf16_cids("a\u{feff}\u{0}\tb"), vec![0, 0x61, 0, 0x62]);
    }

    #[test]
    fn right_to_left_words_are_told_by_their_letters() {
        assert!(!is_right_to_left("Қара 1939"));
        assert!(is_right_to_left("يېزا"));
        assert!(is_right_to_left("1939-يىلى"));
        assert!(is_right_to_left("שלום"));
        // Arabic-Indic digits and punctuation alone keep their order.
        assert!(!is_right_to_left("١٩٣٩"));
        assert!(!is_right_to_left("1939،"));
    }

    #[test]
    fn cmap_covers_the_bmp_in_legal_ranges() {
        let cmap = to_unicode_cmap();
        assert_eq!(cmap.matches("beginbfrange").count(), 3);
        assert!(cmap.contains("<0400> <04FF> <0400>"));
        assert!(!cmap.contains("<D800>"));
    }
}
