//! OCR with libtesseract in-process: one engine per worker thread, words with boxes and confidences.
//!
//! The engine and the walk over its results live in [`crate::tess`] (Tesseract's C API): they
//! give everything kitap needs (blocks, paragraphs, lines with baselines, words with boxes and
//! confidences) as an [`OcrPage`], exactly as Tesseract's hOCR says it but without the cost of
//! writing hOCR. [`parse_hocr`] reads hOCR back (kitap's own, in tests).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use image::GrayImage;

/// A box of the OCR'd image in pixels, as hOCR gives it: the one rectangle type, in `f64`.
pub type BBox = crate::geometry::Rect<f64>;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Word {
    pub bbox: BBox,
    pub text: String,
    /// Tesseract's word confidence, 0–100.
    pub conf: f32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub bbox: BBox,
    /// Baseline as Tesseract gives it: y = bbox.y1 + offset + slope * (x - bbox.x0).
    pub baseline_slope: f64,
    pub baseline_offset: f64,
    pub words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Paragraph {
    pub bbox: BBox,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub bbox: BBox,
    pub paragraphs: Vec<Paragraph>,
}

/// What Tesseract read on one page, in reading order, in the page image's pixel coordinates.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct OcrPage {
    pub width: u32,
    pub height: u32,
    pub blocks: Vec<Block>,
}

impl OcrPage {
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.lines().flat_map(|l| l.words.iter())
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.blocks
            .iter()
            .flat_map(|b| b.paragraphs.iter())
            .flat_map(|p| p.lines.iter())
    }

    /// Tesseract followed the lines down the page (the page is turned a quarter): most words
    /// of three or more letters stand in boxes taller than wide, which an upright word of
    /// three letters never does.
    pub fn runs_sideways(&self) -> bool {
        let (mut tall, mut all) = (0usize, 0usize);
        for w in self.words() {
            if w.text.chars().filter(|c| c.is_alphabetic()).count() >= 3 {
                all += 1;
                tall += usize::from(w.bbox.height() > w.bbox.width());
            }
        }
        all >= 5 && tall * 2 > all
    }

    pub fn word_count(&self) -> usize {
        self.words().count()
    }

    /// Mean word confidence, `None` for a page without words.
    pub fn mean_confidence(&self) -> Option<f64> {
        let (n, sum) = self
            .words()
            .fold((0usize, 0f64), |(n, s), w| (n + 1, s + w.conf as f64));
        (n > 0).then(|| sum / n as f64)
    }

    /// Plain text like Tesseract's: a line per line, a blank line after each paragraph.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in self.blocks.iter().flat_map(|b| &b.paragraphs) {
            for l in &p.lines {
                let words: Vec<&str> = l.words.iter().map(|w| w.text.as_str()).collect();
                out.push_str(&words.join(" "));
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// The reading of an image reduced `factor` times, in the pixels of the image it was
    /// reduced from (`width`×`height`): every box and baseline scaled back.
    pub fn scaled_up(mut self, factor: u32, width: u32, height: u32) -> OcrPage {
        let f = factor as f64;
        let scale = |b: &mut BBox| {
            *b = BBox {
                x0: b.x0 * f,
                y0: b.y0 * f,
                x1: b.x1 * f,
                y1: b.y1 * f,
            }
        };
        for block in &mut self.blocks {
            scale(&mut block.bbox);
            for p in &mut block.paragraphs {
                scale(&mut p.bbox);
                for l in &mut p.lines {
                    scale(&mut l.bbox);
                    // y = y1 + offset + slope·(x − x0): the slope is a ratio and stays.
                    l.baseline_offset *= f;
                    for w in &mut l.words {
                        scale(&mut w.bbox);
                    }
                }
            }
        }
        self.width = width;
        self.height = height;
        self
    }

    /// Typical height of a text line's x-size in pixels (median over lines), for dpi estimation.
    pub fn median_line_height(&self) -> Option<f64> {
        let mut h: Vec<f64> = self
            .lines()
            .filter(|l| {
                l.words
                    .iter()
                    .any(|w| w.conf > 60.0 && w.text.chars().count() > 2)
            })
            .map(|l| l.bbox.height())
            .collect();
        if h.len() < 3 {
            return None;
        }
        h.sort_by(|a, b| a.total_cmp(b));
        Some(h[h.len() / 2])
    }
}

/// Where the Tesseract models live: `$TESSDATA_PREFIX`, else the usual install locations.
pub fn find_tessdata() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
        let p = PathBuf::from(p);
        for c in [p.clone(), p.join("tessdata")] {
            if has_traineddata(&c) {
                return Some(c);
            }
        }
    }
    [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
        "/opt/homebrew/share/tessdata",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| has_traineddata(p))
}

fn has_traineddata(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut it| {
        it.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "traineddata")))
    })
}

/// The models installed in `tessdata`, sorted (`eng`, `rus`, `Latin`, …).
pub fn installed_models(tessdata: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(tessdata)
        .map(|it| {
            it.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension()? == "traineddata")
                        .then(|| p.file_stem().map(|s| s.to_string_lossy().into_owned()))?
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What went wrong inside Tesseract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcrError {
    /// A path or model name that cannot be passed to C (it holds a NUL byte).
    Name(String),
    /// The models could not be loaded.
    Models { models: String, tessdata: PathBuf },
    /// A setting was refused.
    Variable { name: String, value: String },
    /// The page image was refused.
    Image(String),
    /// Recognition failed.
    Recognition,
}

impl std::fmt::Display for OcrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OcrError::Name(e) => f.write_str(e),
            OcrError::Models { models, tessdata } => write!(
                f,
                "Tesseract could not load models '{models}' from {}",
                tessdata.display()
            ),
            OcrError::Variable { name, value } => {
                write!(f, "Tesseract rejected variable {name}={value}")
            }
            OcrError::Image(e) => write!(f, "Tesseract refused the image: {e}"),
            OcrError::Recognition => f.write_str("Tesseract failed to recognise the page"),
        }
    }
}

impl std::error::Error for OcrError {}

/// One Tesseract engine, loaded with a set of models, reused page after page by one thread.
pub struct OcrEngine {
    api: crate::tess::Api,
    models: String,
}

impl OcrEngine {
    /// Loads `models` (e.g. `rus+eng`) from `tessdata`. Takes ~0.1 s; reuse the engine.
    pub fn new(tessdata: &Path, models: &str) -> Result<OcrEngine, OcrError> {
        crate::osd::hush_leptonica();
        let name = |e: std::ffi::NulError| OcrError::Name(e.to_string());
        CString::new(tessdata.as_os_str().as_encoded_bytes()).map_err(name)?;
        let lang = CString::new(models).map_err(name)?;
        let api = crate::tess::Api::new(tessdata, &lang).ok_or_else(|| OcrError::Models {
            models: models.to_string(),
            tessdata: tessdata.to_path_buf(),
        })?;
        let mut engine = OcrEngine {
            api,
            models: models.to_string(),
        };
        // Tesseract prints diagnostics ("Estimating resolution as …") on stderr; kitap reports
        // what matters itself, so they go nowhere. PSM 3 is what the tesseract CLI uses; the
        // library's default is a single block, which reads multi-column pages badly.
        engine.set("debug_file", "/dev/null")?;
        engine.set("tessedit_pageseg_mode", "3")?;
        Ok(engine)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), OcrError> {
        let (n, v) = (CString::new(name).unwrap(), CString::new(value).unwrap());
        if self.api.set_variable(&n, &v) {
            Ok(())
        } else {
            Err(OcrError::Variable {
                name: name.to_string(),
                value: value.to_string(),
            })
        }
    }

    pub fn models(&self) -> &str {
        &self.models
    }

    /// Lets go of the last page: Tesseract keeps its copies of a page (the image, its grey and
    /// binary versions: ~1–2 bytes a pixel) until the next image is set, so an idle worker
    /// would hold memory the budget has already given to another page. A tiny blank image
    /// replaces them.
    pub fn release_page(&mut self) {
        const SIDE: u32 = 16;
        let blank = [255u8; (SIDE * SIDE) as usize];
        self.api.set_image(&blank, SIDE, SIDE);
    }

    /// Recognises a greyscale page. `dpi` is the image's resolution when known; without it
    /// Tesseract estimates one from the text itself.
    pub fn recognize(&mut self, image: &GrayImage, dpi: Option<u32>) -> Result<OcrPage, OcrError> {
        let (w, h) = image.dimensions();
        let set = if two_level(image.as_raw()) {
            self.api.set_bitonal(image.as_raw(), w, h)
        } else {
            self.api.set_image(image.as_raw(), w, h)
        };
        if !set {
            return Err(OcrError::Image(format!(
                "{w}×{h} pixels do not fit the buffer"
            )));
        }
        if let Some(dpi) = dpi {
            self.api.set_source_resolution(dpi);
        }
        if !self.api.recognize() {
            return Err(OcrError::Recognition);
        }
        let mut page = self.api.page();
        page.width = w;
        page.height = h;
        Ok(page)
    }
}

/// Only black (0) and white (255): a bitonal scan read without straightening by resampling.
/// Stops at the first grey pixel, which a grey page has within its first rows.
fn two_level(pixels: &[u8]) -> bool {
    pixels
        .chunks(4096)
        .all(|c| c.iter().fold(true, |ok, &v| ok & ((v == 0) | (v == 255))))
}

/// Parses hOCR of one page (as Tesseract or kitap writes it). Tolerant: anything unexpected is skipped.
pub fn parse_hocr(hocr: &str) -> OcrPage {
    let mut page = OcrPage::default();
    let mut rest = hocr;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('/') || tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        let Some(class) = attr(tag, "class") else {
            continue;
        };
        let title = attr(tag, "title").unwrap_or("");
        let bbox = title_bbox(title);
        match class {
            "ocr_carea" => page.blocks.push(Block {
                bbox,
                paragraphs: Vec::new(),
            }),
            "ocr_par" => current_block(&mut page).paragraphs.push(Paragraph {
                bbox,
                lines: Vec::new(),
            }),
            "ocr_line" | "ocr_header" | "ocr_caption" | "ocr_textfloat" => {
                let (slope, offset) = title_field(title, "baseline")
                    .and_then(|v| Some((v.first().copied()?, v.get(1).copied()?)))
                    .unwrap_or((0.0, 0.0));
                current_paragraph(&mut page).lines.push(Line {
                    bbox,
                    baseline_slope: slope,
                    baseline_offset: offset,
                    words: Vec::new(),
                });
            }
            "ocrx_word" => {
                let close = rest.find("</span>").unwrap_or(rest.len());
                let text = unescape(&strip_tags(&rest[..close]));
                rest = &rest[close..];
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let conf = title_field(title, "x_wconf")
                    .and_then(|v| v.first().copied())
                    .unwrap_or(0.0) as f32;
                current_line(&mut page).words.push(Word {
                    bbox,
                    text: text.to_string(),
                    conf,
                });
            }
            _ => {}
        }
    }
    page.drop_empty();
    page
}

impl OcrPage {
    /// Drops structure that holds no words: it has nothing to show, search or read.
    pub(crate) fn drop_empty(&mut self) {
        for b in &mut self.blocks {
            for p in &mut b.paragraphs {
                p.lines.retain(|l| !l.words.is_empty());
            }
            b.paragraphs.retain(|p| !p.lines.is_empty());
        }
        self.blocks.retain(|b| !b.paragraphs.is_empty());
    }
}

fn current_block(page: &mut OcrPage) -> &mut Block {
    if page.blocks.is_empty() {
        page.blocks.push(Block {
            bbox: BBox::default(),
            paragraphs: Vec::new(),
        });
    }
    page.blocks.last_mut().unwrap()
}

fn current_paragraph(page: &mut OcrPage) -> &mut Paragraph {
    let b = current_block(page);
    if b.paragraphs.is_empty() {
        b.paragraphs.push(Paragraph {
            bbox: b.bbox,
            lines: Vec::new(),
        });
    }
    b.paragraphs.last_mut().unwrap()
}

/// The line words go to: the last one, made (with its paragraph and block) when there is none.
pub(crate) fn current_line(page: &mut OcrPage) -> &mut Line {
    let p = current_paragraph(page);
    if p.lines.is_empty() {
        p.lines.push(Line {
            bbox: p.bbox,
            baseline_slope: 0.0,
            baseline_offset: 0.0,
            words: Vec::new(),
        });
    }
    p.lines.last_mut().unwrap()
}

/// The value of `name='…'` or `name="…"` in a tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut search = tag;
    loop {
        let i = search.find(name)?;
        let before_ok = i == 0 || search.as_bytes()[i - 1].is_ascii_whitespace();
        let after = &search[i + name.len()..];
        if before_ok && let Some(after) = after.strip_prefix('=') {
            let quote = after.chars().next()?;
            if quote == '\'' || quote == '"' {
                let body = &after[1..];
                return body.find(quote).map(|e| &body[..e]);
            }
        }
        search = &search[i + name.len()..];
    }
}

/// Numbers of a `title` property: `bbox 1 2 3 4; x_wconf 96` → field("x_wconf") = [96].
fn title_field(title: &str, name: &str) -> Option<Vec<f64>> {
    title.split(';').find_map(|part| {
        let mut it = part.split_whitespace();
        (it.next()? == name).then(|| it.filter_map(|n| n.parse().ok()).collect())
    })
}

fn title_bbox(title: &str) -> BBox {
    match title_field(title, "bbox").as_deref() {
        Some(&[x0, y0, x1, y1]) => BBox { x0, y0, x1, y1 },
        _ => BBox::default(),
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&p| p < 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"  <div class='ocr_page' id='page_1' title='image ""; bbox 0 0 640 480; ppageno 0; scan_res 70 70'>
   <div class='ocr_carea' id='block_1_1' title="bbox 36 92 618 184">
    <p class='ocr_par' id='par_1_1' lang='rus' title="bbox 36 92 618 184">
     <span class='ocr_line' id='line_1_1' title="bbox 36 92 580 122; baseline 0.002 -6; x_size 30; x_descenders 6; x_ascenders 7">
      <span class='ocrx_word' id='word_1_1' title='bbox 36 92 96 116; x_wconf 94'>Абай</span>
      <span class='ocrx_word' id='word_1_2' title='bbox 109 92 136 116; x_wconf 90'>&amp;</span>
      <span class='ocrx_word' id='word_1_3' title='bbox 140 92 200 116; x_wconf 0'> </span>
     </span>
     <span class='ocr_header' id='line_1_2' title="bbox 36 130 300 160; baseline 0 -5; x_size 28">
      <span class='ocrx_word' id='word_1_4' title='bbox 36 130 300 160; x_wconf 80'><strong>Türkmen&#39;s</strong></span>
     </span>
    </p>
   </div>
   <div class='ocr_carea' id='block_1_2' title="bbox 0 0 10 10"><p class='ocr_par' title="bbox 0 0 1 1"></p></div>
  </div>
"#;

    /// A page of one line whose words stand in boxes of the given sizes.
    fn page_of(words: &[(&str, f64, f64)]) -> OcrPage {
        let words = words
            .iter()
            .map(|&(text, w, h)| Word {
                bbox: BBox {
                    x0: 0.0,
                    y0: 0.0,
                    x1: w,
                    y1: h,
                },
                text: text.into(),
                conf: 90.0,
            })
            .collect();
        let bbox = BBox {
            x0: 0.0,
            y0: 0.0,
            x1: 1.0,
            y1: 1.0,
        };
        let line = Line {
            bbox,
            baseline_slope: 0.0,
            baseline_offset: 0.0,
            words,
        };
        OcrPage {
            width: 100,
            height: 100,
            blocks: vec![Block {
                bbox,
                paragraphs: vec![Paragraph {
                    bbox,
                    lines: vec![line],
                }],
            }],
        }
    }

    #[test]
    fn lines_read_down_the_page_are_told_from_upright_ones() {
        let upright = [("CONGRESS,", 227.0, 41.0); 6];
        assert!(!page_of(&upright).runs_sideways());
        let down = [("CONGRESS,", 41.0, 227.0); 6];
        assert!(page_of(&down).runs_sideways());
        // Short words and punctuation stand tall upright too: they do not count.
        let short = [("I", 10.0, 40.0), ("(i", 12.0, 40.0), ("1.", 15.0, 40.0)];
        assert!(!page_of(&[short, short, short].concat()).runs_sideways());
        // Too few words to tell.
        assert!(!page_of(&down[..4]).runs_sideways());
    }

    #[test]
    fn only_black_and_white_is_two_level() {
        assert!(two_level(&[0, 255, 255, 0]));
        assert!(!two_level(&[0, 255, 254, 0]));
        let mut page = vec![255u8; 10_000];
        assert!(two_level(&page));
        page[9_999] = 128;
        assert!(!two_level(&page));
    }

    /// A G4 page read as 1 bit (Tesseract skips its thresholding) gives the same words, boxes
    /// and confidences as the same page handed over as 8-bit grey.
    #[test]
    fn a_bitonal_page_reads_the_same_as_one_bit_and_as_grey() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/sample-scans/eng-bitonal-g4/0001.tif");
        let (Ok(bytes), Some(tessdata)) = (std::fs::read(&path), find_tessdata()) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{} or tessdata missing",
                path.display()
            );
            println!("SKIPPED: {} or tessdata missing", path.display());
            return;
        };
        let limits = crate::load::LoadLimits {
            max_pixels: 1 << 28,
        };
        let page = crate::load::load(&bytes, 0, limits).unwrap();
        assert!(page.bitonal);
        let grey = page.image.to_luma8();
        let mut engine = OcrEngine::new(&tessdata, "eng").unwrap();
        let one_bit = engine.recognize(&grey, Some(300)).unwrap();
        let (w, h) = grey.dimensions();
        assert!(engine.api.set_image(grey.as_raw(), w, h));
        engine.api.set_source_resolution(300);
        assert!(engine.api.recognize());
        let eight_bit = engine.api.page();
        let words = |p: &OcrPage| -> Vec<(String, BBox, u32)> {
            p.blocks
                .iter()
                .flat_map(|b| &b.paragraphs)
                .flat_map(|p| &p.lines)
                .flat_map(|l| &l.words)
                .map(|w| (w.text.clone(), w.bbox, (w.conf * 10.0) as u32))
                .collect()
        };
        let read = words(&one_bit);
        assert!(read.len() > 100, "{} words", read.len());
        let grey_read = words(&eight_bit);
        let first_difference = read.iter().zip(&grey_read).position(|(a, b)| a != b);
        assert!(
            read.len() == grey_read.len() && first_difference.is_none(),
            "1 bit: {} words, grey: {} words, first difference at word {first_difference:?}",
            read.len(),
            grey_read.len()
        );
    }

    #[test]
    fn hocr_parses_into_structure() {
        let page = parse_hocr(SAMPLE);
        assert_eq!(page.blocks.len(), 1, "empty block dropped");
        let lines: Vec<_> = page.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].baseline_offset, -6.0);
        assert_eq!(lines[0].words.len(), 2, "blank word dropped");
        assert_eq!(lines[0].words[1].text, "&");
        assert_eq!(lines[1].words[0].text, "Türkmen's");
        assert_eq!(
            lines[0].words[0].bbox,
            BBox {
                x0: 36.0,
                y0: 92.0,
                x1: 96.0,
                y1: 116.0
            }
        );
        assert_eq!(page.mean_confidence(), Some((94.0 + 90.0 + 80.0) / 3.0));
        assert_eq!(page.text(), "Абай &\nTürkmen's\n\n");
    }

    #[test]
    fn a_reduced_reading_scales_back_to_the_page() {
        let page = parse_hocr(SAMPLE);
        let big = page.clone().scaled_up(3, 1920, 1440);
        assert_eq!((big.width, big.height), (1920, 1440));
        assert_eq!(big.text(), page.text());
        let (a, b): (Vec<_>, Vec<_>) = (page.lines().collect(), big.lines().collect());
        assert_eq!(b[0].baseline_offset, -18.0);
        assert_eq!(b[0].baseline_slope, a[0].baseline_slope);
        assert_eq!(
            b[0].words[0].bbox,
            BBox {
                x0: 108.0,
                y0: 276.0,
                x1: 288.0,
                y1: 348.0
            }
        );
        assert_eq!(big.blocks[0].bbox.x1, 618.0 * 3.0);
        assert_eq!(big.blocks[0].paragraphs[0].bbox.y1, 184.0 * 3.0);
        // A baseline point maps to three times the reduced one.
        let at =
            |l: &Line, x: f64| l.bbox.y1 + l.baseline_offset + l.baseline_slope * (x - l.bbox.x0);
        assert!((at(b[0], 300.0) - 3.0 * at(a[0], 100.0)).abs() < 1e-9);
        let same = page.clone().scaled_up(1, 640, 480);
        assert_eq!((same.width, same.height), (640, 480));
        assert_eq!(same.blocks, page.blocks);
    }
}
