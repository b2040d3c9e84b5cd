//! Writes the searchable PDF, streaming: each page's objects go to the file as soon as the page
//! is done, and only their offsets stay in memory, so a 500-page book costs no more memory than
//! a 5-page one.
//!
//! The text layer follows Tesseract's own renderer: a Type0 font over a glyphless TrueType
//! (CIDFontType2, Identity-H, every CID drawn with glyph 1), text render mode 3 (invisible), one
//! word per text matrix, horizontally scaled (`Tz`) to the width of the word's box. A ToUnicode
//! CMap maps each CID (a UTF-16 code unit) back to itself, so any script extracts as Unicode.
//!
//! `writer`: the streaming [`PdfWriter`]; `textlayer`: the invisible words and the
//! ToUnicode CMap; `placeholder`: the notice page for a failed page; `xmp`: the XMP
//! metadata packet; [`image`]: page image encodings; [`glyphless`]: the text-layer font.

pub mod glyphless;
pub mod image;
mod placeholder;
mod textlayer;
mod writer;

pub(crate) use writer::deflate;
mod xmp;

use pdf_writer::Ref;

use crate::config::PageLabelRange;
use crate::geometry::Rect;
use crate::ocr::OcrPage;
use image::PageImage;

pub use writer::PdfWriter;

/// Document metadata for the Info dictionary and XMP.
#[derive(Debug, Clone, Default)]
pub struct DocInfo {
    pub title: String,
    pub authors: Vec<String>,
    pub subjects: Vec<String>,
    /// BCP 47 tags, main language first.
    pub languages: Vec<String>,
    pub publisher: Option<String>,
    pub rights: Option<String>,
    pub identifier: String,
    /// Creation date as (year, month, day, hour, minute, second) UTC.
    pub date: (i32, u8, u8, u8, u8, u8),
    pub creator_tool: String,
    /// Printed page numbering (book.toml's `page_labels`): from which page (1-based) on, in
    /// which style, from which number.
    pub page_labels: Vec<PageLabelRange>,
    /// The outline: (title, 1-based page).
    pub chapters: Vec<(String, u32)>,
}

/// PDF/A-2's limit for the length of a string, in bytes (ISO 19005-2, 6.1.13).
pub const MAX_STRING_BYTES: usize = 32_767;

/// The bytes `s` takes as a PDF text string written by pdf-writer's `TextStr`: one a character
/// when it is all printable ASCII (PDFDocEncoding), else UTF-16BE after a byte order mark — so
/// Cyrillic takes twice its characters plus two.
pub fn text_string_bytes(s: &str) -> usize {
    if s.bytes().all(|b| matches!(b, 32..=126)) {
        s.len()
    } else {
        2 + 2 * s.encode_utf16().count()
    }
}

/// The longest start of `s`, cut at a character, that is at most [`MAX_STRING_BYTES`] as a
/// PDF text string.
pub fn fit_text_string(s: &str) -> &str {
    if text_string_bytes(s) <= MAX_STRING_BYTES {
        return s;
    }
    // A start that is all printable ASCII is stored a byte a character.
    let ascii = s.bytes().take_while(|b| matches!(b, 32..=126)).count();
    if ascii >= MAX_STRING_BYTES {
        return s[..MAX_STRING_BYTES].trim_end();
    }
    let mut units = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if 2 + 2 * units > MAX_STRING_BYTES {
            break;
        }
        end = i + c.len_utf8();
    }
    s[..end.max(ascii)].trim_end()
}

impl DocInfo {
    /// Every string cut to what a PDF string may hold, as the PDF stores it. The Info
    /// dictionary and the XMP are both written from the result, so they say the same.
    fn fitted(&self) -> DocInfo {
        let fit = |s: &String| fit_text_string(s).to_string();
        DocInfo {
            title: fit(&self.title),
            authors: self.authors.iter().map(fit).collect(),
            subjects: self.subjects.iter().map(fit).collect(),
            languages: self.languages.clone(),
            publisher: self.publisher.as_ref().map(fit),
            rights: self.rights.as_ref().map(fit),
            identifier: fit(&self.identifier),
            date: self.date,
            creator_tool: fit(&self.creator_tool),
            page_labels: self
                .page_labels
                .iter()
                .map(|r| PageLabelRange {
                    prefix: r.prefix.as_ref().map(fit),
                    ..r.clone()
                })
                .collect(),
            chapters: self.chapters.iter().map(|(t, p)| (fit(t), *p)).collect(),
        }
    }

    /// The Info dictionary's Author, which PDF/A requires to equal the single entry of the XMP
    /// `dc:creator`: every author, joined, as much as fits.
    fn author(&self) -> Option<String> {
        (!self.authors.is_empty()).then(|| fit_text_string(&self.authors.join("; ")).to_string())
    }

    /// The Info dictionary's Subject and XMP's `dc:description`: the subjects joined.
    fn subject(&self) -> Option<String> {
        (!self.subjects.is_empty()).then(|| fit_text_string(&self.subjects.join("; ")).to_string())
    }

    /// The Info dictionary's Keywords and XMP's `pdf:Keywords`.
    fn keywords(&self) -> Option<String> {
        (!self.subjects.is_empty()).then(|| fit_text_string(&self.subjects.join(", ")).to_string())
    }
}

/// One page to write. The image is placed over the whole page frame (the upright, deskewed
/// scan); the page shows `crop` of it, and the OCR words are in that crop's pixels.
pub struct PageContent<'a> {
    pub image: &'a PageImage,
    /// The image object from [`PdfWriter::add_image`]; both halves of a spread share one.
    pub image_ref: Ref,
    /// Page-frame pixels per point (dpi / 72).
    pub px_per_pt: f64,
    /// Page-frame size in pixels.
    pub frame_px: (u32, u32),
    /// The part of the frame this page shows: left, top, right, bottom in pixels.
    pub crop: Rect,
    pub ocr: &'a OcrPage,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_to_the_limit_as_the_pdf_stores_them() {
        let ascii = "a".repeat(40_000);
        assert_eq!(fit_text_string(&ascii).len(), MAX_STRING_BYTES);
        // Cyrillic: UTF-16 after a byte order mark, 2 + 2 × 16,382 bytes.
        let cyr = "Қ".repeat(20_000);
        let cut = fit_text_string(&cyr);
        assert_eq!(text_string_bytes(cut), 32_766);
        assert_eq!(cut.chars().count(), 16_382);
        // A character outside the BMP is two UTF-16 units and is never split.
        let emoji = "📚".repeat(10_000);
        let cut = fit_text_string(&emoji);
        assert!(text_string_bytes(cut) <= MAX_STRING_BYTES);
        assert_eq!(cut.chars().count(), 8_191);
        // A long ASCII start before other letters keeps as much as fits a byte a letter.
        let mixed = format!("{}Қ", "a".repeat(40_000));
        assert_eq!(fit_text_string(&mixed).len(), MAX_STRING_BYTES);
        assert_eq!(fit_text_string("short"), "short");
    }

    #[test]
    fn info_and_xmp_get_the_same_cut_strings() {
        let info = DocInfo {
            authors: (0..5000).map(|i| format!("Автор {i}")).collect(),
            ..Default::default()
        }
        .fitted();
        let author = info.author().unwrap();
        assert!(text_string_bytes(&author) <= MAX_STRING_BYTES);
        assert!(xmp::xmp_packet(&info).contains(&format!("<rdf:li>{author}</rdf:li>")));
    }
}
