//! The Tesseract engine kitap reads pages with, driven through Tesseract's C API, and the walk
//! over its results that turns a recognised page into an [`OcrPage`].
//!
//! Why not hOCR: Tesseract's result iterator finds the start of a word's line by walking the
//! page from its first word (`PAGE_RES_IT::restart_row`), so every step costs time in
//! proportion to the words before it, and `GetHOCRText` asks for line, paragraph and block
//! starts and ends several times per word and per letter. On a 700-word page it took 0.24 s
//! (12 % of recognition); this walk asks once per word where a line starts and steps once per
//! word, as the tesseract CLI's text output does (0.05 s), and gives the same words, boxes,
//! confidences and baselines as hOCR did.
//!
//! The handle is created, used and deleted by the one worker thread that owns the [`Api`].

use std::ffi::{CStr, CString};
use std::os::raw::c_int;
use std::path::Path;

use tesseract_sys as sys;

use crate::ocr::{BBox, Block, Line, OcrPage, Paragraph, Word};

const BLOCK: sys::TessPageIteratorLevel = sys::TessPageIteratorLevel_RIL_BLOCK;
const PARA: sys::TessPageIteratorLevel = sys::TessPageIteratorLevel_RIL_PARA;
const TEXTLINE: sys::TessPageIteratorLevel = sys::TessPageIteratorLevel_RIL_TEXTLINE;
const WORD: sys::TessPageIteratorLevel = sys::TessPageIteratorLevel_RIL_WORD;

/// A Tesseract engine (`TessBaseAPI`).
pub struct Api {
    handle: *mut sys::TessBaseAPI,
}

// SAFETY: the engine is used by one thread at a time (a worker owns it); Tesseract keeps no
// thread-local state between calls.
unsafe impl Send for Api {}

impl Drop for Api {
    fn drop(&mut self) {
        // SAFETY: `handle` came from TessBaseAPICreate and is deleted exactly once.
        unsafe {
            sys::TessBaseAPIEnd(self.handle);
            sys::TessBaseAPIDelete(self.handle);
        }
    }
}

impl Api {
    /// An engine loaded with `models` (e.g. `rus+eng`) from `tessdata`; `None` when they
    /// cannot be loaded.
    pub fn new(tessdata: &Path, models: &CStr) -> Option<Api> {
        let path = CString::new(tessdata.as_os_str().as_encoded_bytes()).ok()?;
        // SAFETY: a fresh handle; the strings outlive the calls.
        let api = Api {
            handle: unsafe { sys::TessBaseAPICreate() },
        };
        if api.handle.is_null() {
            return None;
        }
        let rc = unsafe { sys::TessBaseAPIInit3(api.handle, path.as_ptr(), models.as_ptr()) };
        (rc == 0).then_some(api)
    }

    /// Sets a Tesseract variable; false when Tesseract refuses it.
    pub fn set_variable(&mut self, name: &CStr, value: &CStr) -> bool {
        // SAFETY: valid handle and NUL-terminated strings.
        unsafe { sys::TessBaseAPISetVariable(self.handle, name.as_ptr(), value.as_ptr()) == 1 }
    }

    /// Hands Tesseract an 8-bit grey image of `width`×`height` (`pixels` row after row, no
    /// padding); Tesseract copies it. False when the buffer is too small for that size.
    pub fn set_image(&mut self, pixels: &[u8], width: u32, height: u32) -> bool {
        let (Ok(w), Ok(h)) = (c_int::try_from(width), c_int::try_from(height)) else {
            return false;
        };
        if (w as usize)
            .checked_mul(h as usize)
            .is_none_or(|n| n > pixels.len())
        {
            return false;
        }
        // SAFETY: the buffer holds w*h bytes (1 byte per pixel, w bytes per line) and stays
        // alive until Tesseract has copied it (SetImage copies into its own Pix).
        unsafe { sys::TessBaseAPISetImage(self.handle, pixels.as_ptr(), w, h, 1, w) };
        true
    }

    /// Hands Tesseract a two-level page (`pixels` 0 or 255, row after row) as a 1-bit image,
    /// as it gets a CCITT G4 TIFF from the command line: it then skips its own thresholding
    /// (Otsu over the whole page) and reads the same black and white. False when the buffer
    /// is too small or the image cannot be made.
    pub fn set_bitonal(&mut self, pixels: &[u8], width: u32, height: u32) -> bool {
        let (Ok(w), Ok(h)) = (c_int::try_from(width), c_int::try_from(height)) else {
            return false;
        };
        let row = width as usize;
        if row
            .checked_mul(height as usize)
            .is_none_or(|n| n > pixels.len())
            || row == 0
        {
            return false;
        }
        // SAFETY: pixCreate gives a zeroed 1-bit image of h rows of `wpl` 32-bit words (or
        // null); exactly those words are written, and the image is destroyed after Tesseract
        // has copied it (SetImage2 copies).
        unsafe {
            let mut pix = leptonica_sys::pixCreate(w, h, 1);
            if pix.is_null() {
                return false;
            }
            let wpl = leptonica_sys::pixGetWpl(pix) as usize;
            let data = leptonica_sys::pixGetData(pix);
            let words = std::slice::from_raw_parts_mut(data, wpl * height as usize);
            for (line, grey) in words.chunks_exact_mut(wpl).zip(pixels.chunks_exact(row)) {
                for (word, px) in line.iter_mut().zip(grey.chunks(32)) {
                    // Leptonica: 1 is black, the leftmost pixel the word's highest bit.
                    let mut bits = 0u32;
                    for (i, &v) in px.iter().enumerate() {
                        bits |= u32::from(v < 128) << (31 - i);
                    }
                    *word = bits;
                }
            }
            sys::TessBaseAPISetImage2(self.handle, pix);
            leptonica_sys::pixDestroy(&mut pix);
        }
        true
    }

    /// The resolution of the image set last, in pixels per inch.
    pub fn set_source_resolution(&mut self, ppi: u32) {
        let ppi = c_int::try_from(ppi).unwrap_or(c_int::MAX);
        // SAFETY: valid handle.
        unsafe { sys::TessBaseAPISetSourceResolution(self.handle, ppi) };
    }

    /// Recognises the image set last; false when Tesseract fails.
    pub fn recognize(&mut self) -> bool {
        // SAFETY: valid handle; no progress monitor.
        unsafe { sys::TessBaseAPIRecognize(self.handle, std::ptr::null_mut()) == 0 }
    }

    /// What the last recognition found, as hOCR would have said it: blocks, paragraphs and
    /// lines that hold words, words with their text (trimmed; empty ones left out), box and
    /// whole-number confidence, lines with the baseline hOCR gives (slope and offset from the
    /// line box's bottom left, to 0.001; none on lines not upright). `width` and `height`
    /// are left at 0.
    pub fn page(&mut self) -> OcrPage {
        let mut page = OcrPage::default();
        // SAFETY: valid handle; the iterator is deleted below, before anything else is done
        // with the engine.
        let it = unsafe { sys::TessBaseAPIGetIterator(self.handle) };
        if it.is_null() {
            return page;
        }
        let results = Results { it };
        while let Some(_block) = results.bbox(BLOCK) {
            let Some(word_box) = results.bbox(WORD) else {
                // An image or empty block: no words to read.
                results.next_word();
                continue;
            };
            // Paragraphs and blocks start with a line: only a line start is asked about them.
            if results.at_start_of(TEXTLINE) {
                if results.at_start_of(BLOCK) || page.blocks.is_empty() {
                    let bbox = results.bbox(BLOCK).unwrap_or_default();
                    page.blocks.push(Block {
                        bbox,
                        paragraphs: Vec::new(),
                    });
                }
                let block = page.blocks.last_mut().expect("a block just made");
                if results.at_start_of(PARA) || block.paragraphs.is_empty() {
                    let bbox = results.bbox(PARA).unwrap_or_default();
                    block.paragraphs.push(Paragraph {
                        bbox,
                        lines: Vec::new(),
                    });
                }
                let bbox = results.bbox(TEXTLINE).unwrap_or_default();
                let (slope, offset) = results.baseline(&bbox).unwrap_or((0.0, 0.0));
                let para = block.paragraphs.last_mut().expect("a paragraph just made");
                para.lines.push(Line {
                    bbox,
                    baseline_slope: slope,
                    baseline_offset: offset,
                    words: Vec::new(),
                });
            }
            let text = results.word_text();
            let text = text.trim();
            if !text.is_empty() {
                let conf = results.word_confidence().trunc() as f32;
                let line = crate::ocr::current_line(&mut page);
                line.words.push(Word {
                    bbox: word_box,
                    text: text.to_string(),
                    conf,
                });
            }
            results.next_word();
        }
        drop(results);
        page.drop_empty();
        page
    }
}

/// Tesseract's result iterator over the last recognition.
struct Results {
    it: *mut sys::TessResultIterator,
}

impl Drop for Results {
    fn drop(&mut self) {
        // SAFETY: `it` came from TessBaseAPIGetIterator and is deleted exactly once.
        unsafe { sys::TessResultIteratorDelete(self.it) }
    }
}

impl Results {
    fn page_it(&self) -> *const sys::TessPageIterator {
        // SAFETY: a result iterator is a page iterator; the pointer lives as long as `it`.
        unsafe { sys::TessResultIteratorGetPageIteratorConst(self.it) }
    }

    /// The box of the current element at `level`; `None` when there is none (past the end,
    /// or no word in an image block).
    fn bbox(&self, level: sys::TessPageIteratorLevel) -> Option<BBox> {
        let (mut l, mut t, mut r, mut b): (c_int, c_int, c_int, c_int) = (0, 0, 0, 0);
        // SAFETY: valid iterator and out-pointers.
        let ok = unsafe {
            sys::TessPageIteratorBoundingBox(self.page_it(), level, &mut l, &mut t, &mut r, &mut b)
        };
        (ok != 0).then_some(BBox {
            x0: l as f64,
            y0: t as f64,
            x1: r as f64,
            y1: b as f64,
        })
    }

    fn at_start_of(&self, level: sys::TessPageIteratorLevel) -> bool {
        // SAFETY: valid iterator.
        unsafe { sys::TessPageIteratorIsAtBeginningOf(self.page_it(), level) != 0 }
    }

    fn next_word(&self) {
        // SAFETY: valid iterator; stepping past the end is allowed (the block becomes empty).
        unsafe { sys::TessResultIteratorNext(self.it, WORD) };
    }

    fn word_text(&self) -> String {
        // SAFETY: valid iterator; the returned string is Tesseract's and freed with
        // TessDeleteText.
        unsafe {
            let p = sys::TessResultIteratorGetUTF8Text(self.it, WORD);
            if p.is_null() {
                return String::new();
            }
            let text = CStr::from_ptr(p).to_string_lossy().into_owned();
            sys::TessDeleteText(p);
            text
        }
    }

    fn word_confidence(&self) -> f64 {
        // SAFETY: valid iterator.
        unsafe { sys::TessResultIteratorConfidence(self.it, WORD) as f64 }
    }

    /// The current line's baseline as hOCR writes it: `y = slope·x + offset` from the bottom
    /// left of the line box `bbox`, each to 0.001. `None` for a line that is not upright or
    /// has no baseline.
    fn baseline(&self, bbox: &BBox) -> Option<(f64, f64)> {
        let mut orientation: sys::TessOrientation = 0;
        let mut direction: sys::TessWritingDirection = 0;
        let mut order: sys::TessTextlineOrder = 0;
        let mut deskew: f32 = 0.0;
        let (mut x1, mut y1, mut x2, mut y2): (c_int, c_int, c_int, c_int) = (0, 0, 0, 0);
        // SAFETY: valid iterator and out-pointers (Orientation does not change the iterator).
        let ok = unsafe {
            sys::TessPageIteratorOrientation(
                self.page_it().cast_mut(),
                &mut orientation,
                &mut direction,
                &mut order,
                &mut deskew,
            );
            orientation == sys::TessOrientation_ORIENTATION_PAGE_UP
                && sys::TessPageIteratorBaseline(
                    self.page_it(),
                    TEXTLINE,
                    &mut x1,
                    &mut y1,
                    &mut x2,
                    &mut y2,
                ) != 0
        };
        if !ok || x1 == x2 {
            return None;
        }
        let (left, bottom) = (bbox.x0 as c_int, bbox.y1 as c_int);
        let (x1, y1, x2, y2) = (x1 - left, y1 - bottom, x2 - left, y2 - bottom);
        let slope = (y2 - y1) as f64 / (x2 - x1) as f64;
        let offset = y1 as f64 - slope * x1 as f64;
        let thousandths = |v: f64| (v * 1000.0).round() / 1000.0;
        Some((thousandths(slope), thousandths(offset)))
    }
}
