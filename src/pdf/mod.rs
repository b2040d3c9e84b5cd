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

impl DocInfo {
    /// The Info dictionary's Author, which PDF/A requires to equal the single entry of the XMP
    /// `dc:creator`: every author, joined.
    fn author(&self) -> Option<String> {
        (!self.authors.is_empty()).then(|| self.authors.join("; "))
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
