//! Prepares a decoded page so it reads like a straight one: upright (EXIF, then 0/90/180/270
//! detection), deskewed, square pixels for Tesseract; and says how the PDF should show it.
//!
//! Everything downstream works in the *page frame*: the upright, deskewed page at the
//! resolution of the OCR image. The displayed image is either resampled into that frame or
//! placed onto it by the PDF's placement matrix, so the text layer needs no transform.

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, Rgb, RgbImage};

use crate::config::{OcrResolution, Split};
use crate::geometry::{self, Rect};
use crate::load::LoadedPage;
use crate::manifest::{Correction, Part};
use crate::osd::LazyOsd;
use crate::paper::{self, PageRegion};

/// Options of the prepare stage (from the pipeline).
#[derive(Debug, Clone, Copy)]
pub struct PrepareOptions {
    /// Detect 90/180/270-degree turns. Default: true.
    pub orientation: bool,
    /// Straighten skew. Default: true.
    pub deskew: bool,
    /// Largest skew searched, degrees. Default: 15.
    pub max_skew_deg: f64,
    /// Smaller skew is reported but not corrected. Default: 0.1.
    pub min_skew_deg: f64,
    /// Corrections by placement matrix only; originals untouched. Default: false.
    pub keep_originals: bool,
    /// Cut away dark scanner borders. Default: false.
    pub crop_borders: bool,
    /// `Auto`: split two-page spreads at the gutter into two pages. Default: never.
    pub split: Split,
    /// Read oversized text reduced (see [`crate::textsize`]). Default: auto.
    pub ocr_resolution: OcrResolution,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            orientation: true,
            deskew: true,
            max_skew_deg: 15.0,
            min_skew_deg: 0.1,
            keep_originals: false,
            crop_borders: false,
            split: Split::Never,
            ocr_resolution: OcrResolution::Auto,
        }
    }
}

/// The image the PDF shows and how it is placed on the page frame.
#[derive(Debug)]
pub struct Display {
    /// The pixels shown. Empty (0×0) while they are the source or the OCR image itself: those
    /// are handed over by [`Analysis::into_display`] once the page has been read, so a big page
    /// is not held twice while Tesseract reads it.
    pub image: DynamicImage,
    /// Quarter turns clockwise applied by the matrix (0 when the pixels are already upright).
    pub quarter_turns: u8,
    /// Counter-clockwise rotation applied by the matrix about the page centre, degrees.
    pub ccw_deg: f64,
    /// The pixels shown are the decoded source, unaltered: a source JPEG may go in untouched.
    pub original: bool,
}

/// How orientation was decided.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OrientationSource {
    /// Not looked for (disabled, or no text to go by).
    None,
    /// Tesseract's OSD, with its confidence.
    Osd(f32),
    /// Recognition trials of the candidates (OSD unsure).
    Trial,
}

/// A page ready for OCR.
#[derive(Debug)]
pub struct PreparedPage {
    /// The page frame as Tesseract reads it: 8-bit grey, upright, deskewed, square pixels.
    pub ocr_image: GrayImage,
    pub display: Display,
    /// How far the content was found turned clockwise (after EXIF): 0, 90, 180, 270.
    pub rotation_cw_deg: u32,
    /// How far the content was found skewed clockwise, degrees.
    pub skew_cw_deg: f64,
    pub correction: Correction,
    pub orientation_source: OrientationSource,
    /// Resolution of the page frame (vertical dpi of the source), when known.
    pub dpi: Option<f64>,
    /// The page upright in its own colours (turned, not deskewed), fitted into [`COVER_BOX`],
    /// when asked for (the cover).
    pub upright: Option<DynamicImage>,
    /// The paper of a page photographed against a dark surround, in the page frame: the OCR
    /// image is blank (paper-coloured) outside it, and it is what the page shows when borders
    /// are cut.
    pub paper: Option<Rect>,
    /// Where the shown image's pixels are until [`Analysis::into_display`].
    shows: Shows,
}

/// Whose pixels the PDF shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    /// The display's own image.
    Own,
    /// The decoded source (or the grey page, when that is the source).
    Source,
    /// The OCR image: a grey page resampled upright and straight.
    OcrImage,
}

/// Something that can tell how well text reads in an image: mean word confidence (0–100) and
/// the number of words. Used to decide orientation by trying when OSD is unsure.
pub trait ReadingTrial {
    fn read(&mut self, image: &GrayImage, dpi: u32) -> Option<(f64, usize)>;
}

/// How much a reading of lines running down the page counts below its confidence when turns
/// are compared: Tesseract reads such lines well (80 and more on a quarter-turned page of the
/// shared corpus), but the page is still turned.
pub const SIDEWAYS_PENALTY: f64 = 30.0;

/// OSD's answer is believed from this confidence on.
const OSD_MIN_CONFIDENCE: f32 = 2.0;

/// Mean word confidence below which a page's reading is in doubt and another orientation is
/// tried. In the shared corpus, upright text pages read at 72 or more and upside-down pages
/// at 21–40; OSD alone (200 ms a page) would cost more than the whole preparation budget.
pub const DOUBTFUL_CONFIDENCE: f64 = 65.0;

fn quarter_turns_of(o: Orientation) -> (u8, bool) {
    match o {
        Orientation::NoTransforms => (0, false),
        Orientation::Rotate90 => (1, false),
        Orientation::Rotate180 => (2, false),
        Orientation::Rotate270 => (3, false),
        _ => (0, true),
    }
}

/// A decoded page measured once; [`Analysis::orient`] then prepares it for any orientation.
pub struct Analysis {
    /// Decoded pixels, alpha flattened, as stored (before EXIF). `None` when they are `grey`
    /// itself (an 8-bit grey page, upright, square pixels): no second copy of a big page.
    source: Option<DynamicImage>,
    /// Upright by EXIF; `None` when the source is upright already.
    upright: Option<DynamicImage>,
    /// Upright by EXIF, grey, square pixels.
    grey: GrayImage,
    exif_turns: u8,
    mirrored: bool,
    square: bool,
    /// The source JPEG and its component count, for embedding untouched.
    jpeg: Option<(Vec<u8>, u8)>,
    bitonal: bool,
    dpi: Option<f64>,
    analysis_dpi: f64,
    /// Skew of the lines as they run in `grey` (rows, or columns when `vertical`).
    skew: Option<geometry::Skew>,
    /// The paper of a page photographed against a dark surround, in `grey`.
    paper: Option<PageRegion>,
    /// Text lines run down the page: it is turned by 90 or 270 degrees.
    pub vertical: bool,
    /// Enough ink to judge orientation and skew by.
    pub has_text: bool,
}

/// Decodes-side facts and one skew search: everything orientation and deskew need.
pub fn analyze(mut page: LoadedPage, opts: &PrepareOptions) -> Analysis {
    let (exif_turns, mirrored) = quarter_turns_of(page.orientation);
    let source = flatten_alpha(page.image);
    let upright = (page.orientation != Orientation::NoTransforms).then(|| {
        let mut upright = source.clone();
        upright.apply_orientation(page.orientation);
        upright
    });
    let (source, grey) = match (source, &upright) {
        (DynamicImage::ImageLuma8(grey), None) => (None, grey),
        (source, upright) => {
            let grey = upright.as_ref().unwrap_or(&source).to_luma8();
            (Some(source), grey)
        }
    };
    let upright_width = grey.width();
    let (source, grey) = match page.file_dpi {
        Some((dx, dy)) if (dx / dy - 1.0).abs() > 0.01 => {
            // Tesseract and the skew search assume square pixels: stretch to the vertical dpi.
            let w = ((grey.width() as f64) * dy / dx).round().max(1.0) as u32;
            let stretched = image::imageops::resize(
                &grey,
                w,
                grey.height(),
                image::imageops::FilterType::Triangle,
            );
            (
                Some(source.unwrap_or(DynamicImage::ImageLuma8(grey))),
                stretched,
            )
        }
        _ => (source, grey),
    };
    let square = grey.width() == upright_width;
    // Without a dpi, assume the page is a book page about 9 inches tall: a small scan must not
    // be reduced as if it were a 300-dpi page.
    let analysis_dpi = page.file_dpi.map_or_else(
        || (grey.height().max(grey.width()) as f64 / 9.0).clamp(100.0, 600.0),
        |d| d.1,
    );
    let paper = paper::find_page(&grey);
    let skew = (opts.orientation || opts.deskew)
        .then(|| geometry::find_skew_on(&grey, analysis_dpi, opts.max_skew_deg, paper.as_ref()));
    let has_text = skew.is_some_and(|s| s.points >= 200);
    let vertical =
        opts.orientation && skew.is_some_and(|s| has_text && s.col_score > 1.2 * s.row_score);
    Analysis {
        source,
        upright,
        grey,
        exif_turns,
        mirrored,
        square,
        jpeg: page.jpeg.take().map(|j| (j, page.jpeg_components)),
        bitonal: page.bitonal,
        dpi: page.file_dpi.map(|d| d.1),
        analysis_dpi,
        skew,
        paper,
        vertical,
        has_text,
    }
}

impl Analysis {
    /// The page upright by EXIF, in its own colours.
    fn upright(&self) -> std::borrow::Cow<'_, DynamicImage> {
        match self.upright.as_ref().or(self.source.as_ref()) {
            Some(image) => std::borrow::Cow::Borrowed(image),
            None => std::borrow::Cow::Owned(DynamicImage::ImageLuma8(self.grey.clone())),
        }
    }

    /// Gives `page`'s display its pixels, moved rather than copied: the decoded source, or the
    /// OCR image (which the page no longer holds after this). Returns the source JPEG stream
    /// and its component count when the page came as one (it can go into the PDF untouched).
    pub fn into_display(self, page: &mut PreparedPage) -> Option<(Vec<u8>, u8)> {
        match page.shows {
            Shows::Source => {
                page.display.image = match self.source {
                    Some(source) => source,
                    None => DynamicImage::ImageLuma8(self.grey),
                };
            }
            Shows::OcrImage => {
                let grey = std::mem::take(&mut page.ocr_image);
                page.display.image = DynamicImage::ImageLuma8(grey);
            }
            Shows::Own => {}
        }
        page.shows = Shows::Own;
        self.jpeg
    }

    /// Which way a vertical page is turned (90 or 270): OSD when it is sure, else reading.
    pub fn vertical_orientation(
        &self,
        osd: &mut LazyOsd,
        trial: &mut dyn ReadingTrial,
    ) -> (u32, OrientationSource) {
        let (small, small_dpi) = self.small();
        if let Some(o) = osd.get().and_then(|osd| osd.detect(&small, small_dpi))
            && o.rotation_cw_deg % 180 == 90
            && o.confidence >= OSD_MIN_CONFIDENCE
        {
            return (o.rotation_cw_deg, OrientationSource::Osd(o.confidence));
        }
        let mut best = (90, f64::MIN);
        for c in [90, 270] {
            let score = band_score(&small, small_dpi, c, trial);
            if score > best.1 {
                best = (c, score);
            }
        }
        (best.0, OrientationSource::Trial)
    }

    /// For a page that read badly as `current` was turned: the turns worth a full reading
    /// instead, most promising first, handed out one at a time by [`Retries::next`] so that
    /// nothing is tried once a reading is good. OSD's answer is a hint, never the verdict (it
    /// can be sure and wrong): when it names another turn, that comes first. Every other turn
    /// is first tried on a band of the page at analysis scale and offered only when that band
    /// reads clearly better than the band as `current` turned it. The half turn is weighed
    /// before the quarter turns, except when the reading ran `sideways` (Tesseract followed
    /// lines down the page: the page is turned a quarter).
    pub fn retries(&self, osd: &mut LazyOsd, current: u32, sideways: bool) -> Retries {
        let (small, dpi) = self.small();
        let hint = osd
            .get()
            .and_then(|osd| osd.detect(&small, dpi))
            .filter(|o| o.confidence >= OSD_MIN_CONFIDENCE && o.rotation_cw_deg != current)
            .map(|o| (o.rotation_cw_deg, OrientationSource::Osd(o.confidence)));
        let turns = if sideways {
            [90, 270, 180]
        } else {
            [180, 90, 270]
        };
        let banded = turns
            .map(|t| (current + t) % 360)
            .into_iter()
            .filter(|&r| hint.is_none_or(|(h, _)| h != r))
            .rev()
            .collect();
        Retries {
            small,
            dpi,
            current,
            hint,
            banded,
            floor: None,
        }
    }

    /// The page at ~150 dpi: plenty for OSD, which reads connected components. A photographed
    /// page's surround is painted its paper's colour: only the paper is judged.
    fn small(&self) -> (GrayImage, u32) {
        let factor = ((self.analysis_dpi / 150.0).round() as u32).max(1);
        let mut small = geometry::reduce(&self.grey, factor);
        if let Some(paper) = &self.paper {
            let (w, h) = (small.width() as usize, small.height() as usize);
            let on = paper.sample(w, h, factor);
            let level = paper_level(small.iter().zip(&on).filter(|p| *p.1).map(|p| *p.0));
            for (v, on) in small.iter_mut().zip(on) {
                if !on {
                    *v = level;
                }
            }
        }
        (small, (self.analysis_dpi / factor as f64).round() as u32)
    }

    /// Prepares the page as turned `rotation` degrees clockwise (0, 90, 180, 270). A `cover`
    /// page also keeps its upright colour image.
    pub fn orient(
        &self,
        rotation: u32,
        source: OrientationSource,
        opts: &PrepareOptions,
        cover: bool,
    ) -> PreparedPage {
        let back = (4 - rotation / 90) % 4; // cw quarter turns that make the content upright
        // Upright already: the grey page itself, copied only when it is read as it is.
        let turned = match back {
            0 => std::borrow::Cow::Borrowed(&self.grey),
            _ => std::borrow::Cow::Owned(geometry::turn_grey(&self.grey, back)),
        };
        let paper = self.paper.as_ref().map(|p| p.turned(back));
        let skew = match self.skew {
            Some(s) if opts.deskew && self.has_text => {
                if rotation.is_multiple_of(180) && !self.vertical {
                    // A half turn keeps the angle.
                    s.cw_deg
                } else {
                    let (dpi, max) = (self.analysis_dpi, opts.max_skew_deg);
                    geometry::find_skew_on(&turned, dpi, max, paper.as_ref()).cw_deg
                }
            }
            _ => 0.0,
        };
        let skew = (skew * 1000.0).round() / 1000.0;
        let straighten = skew.abs() >= opts.min_skew_deg;
        let mut ocr_image = if straighten {
            geometry::rotate_grey(&turned, skew)
        } else {
            turned.into_owned()
        };
        let paper = paper.map(|p| p.frame_rect(if straighten { skew } else { 0.0 }));

        // Display: originals stay untouched where the pipeline asks for it, where they are
        // JPEG (re-encoding loses quality) or bitonal (resampling turns crisp black and white
        // grey), and where pixels are not square. Everything else is turned and straightened.
        let use_matrix = opts.keep_originals || self.jpeg.is_some() || self.bitonal || !self.square;
        let total_turns = (self.exif_turns as u32 + back) % 4;
        let ccw_deg = if straighten { skew } else { 0.0 };
        let untouched = back == 0 && !straighten && self.exif_turns == 0;
        let (display, correction, shows) = if untouched && !self.mirrored {
            (display_source(0, 0.0), Correction::None, Shows::Source)
        } else if use_matrix && !self.mirrored {
            let d = display_source(total_turns as u8, ccw_deg);
            (d, Correction::Matrix, Shows::Source)
        } else {
            // A grey page shows exactly what Tesseract reads: no second rotation.
            let grey = self.upright.as_ref().or(self.source.as_ref());
            let (image, shows) =
                if grey.is_none_or(|i| i.color() == image::ColorType::L8) && self.square {
                    if paper.is_some() {
                        // The page shows the surround the OCR image loses (it is cut only
                        // when the pipeline cuts borders, by the page's crop).
                        (DynamicImage::ImageLuma8(ocr_image.clone()), Shows::Own)
                    } else {
                        (DynamicImage::new_luma8(0, 0), Shows::OcrImage)
                    }
                } else {
                    (resample(&self.upright(), back, ccw_deg), Shows::Own)
                };
            let d = Display {
                image,
                quarter_turns: 0,
                ccw_deg: 0.0,
                original: false,
            };
            (d, Correction::Resampled, shows)
        };
        if let Some(r) = paper {
            blank_outside(&mut ocr_image, r);
        }
        let upright = cover.then(|| {
            // Only the cover's size is kept, not a copy of the whole page: shrunk, then turned.
            let (w, h) = COVER_BOX;
            let fit_box = if back % 2 == 1 { (h, w) } else { (w, h) };
            let small = match self.upright.as_ref().or(self.source.as_ref()) {
                Some(image) => fit(image, fit_box),
                None => fit_grey(&self.grey, fit_box),
            };
            match back {
                0 => small,
                1 => small.rotate90(),
                2 => small.rotate180(),
                _ => small.rotate270(),
            }
        });
        PreparedPage {
            ocr_image,
            display,
            rotation_cw_deg: rotation,
            skew_cw_deg: skew,
            correction,
            orientation_source: source,
            dpi: self.dpi,
            upright,
            paper,
            shows,
        }
    }
}

/// The turns a doubtful page is tried in (see [`Analysis::retries`]).
pub struct Retries {
    /// The page at analysis scale, as found, and its resolution.
    small: GrayImage,
    dpi: u32,
    current: u32,
    /// OSD's turn, tried first and without a band trial.
    hint: Option<(u32, OrientationSource)>,
    /// The other turns still to weigh, the next last.
    banded: Vec<u32>,
    /// The band score of the current turn, once measured.
    floor: Option<f64>,
}

impl Retries {
    /// The next turn worth a full reading, or `None` when no other turn reads better.
    pub fn next(&mut self, trial: &mut dyn ReadingTrial) -> Option<(u32, OrientationSource)> {
        if let Some(hint) = self.hint.take() {
            return Some(hint);
        }
        while let Some(rotation) = self.banded.pop() {
            let (small, dpi, current) = (&self.small, self.dpi, self.current);
            let floor = *self
                .floor
                .get_or_insert_with(|| band_score(small, dpi, current, trial));
            if band_score(small, dpi, rotation, trial) > floor + BAND_MARGIN {
                return Some((rotation, OrientationSource::Trial));
            }
        }
        None
    }
}

/// Paints everything outside `keep` the colour of its paper. (White would not do: a
/// photographed page's paper is grey, and Tesseract's global threshold would then fall
/// between paper and white and take the whole page for ink.)
fn blank_outside(img: &mut GrayImage, keep: Rect) {
    let w = img.width() as usize;
    let sample = (keep.y0..keep.y1).step_by(4).flat_map(|y| {
        let row = &img.as_raw()[y as usize * w..][keep.x0 as usize..keep.x1 as usize];
        row.iter().step_by(4).copied()
    });
    let paper = paper_level(sample);
    for (y, row) in img.chunks_exact_mut(w).enumerate() {
        if (keep.y0 as usize..keep.y1 as usize).contains(&y) {
            row[..keep.x0 as usize].fill(paper);
            row[keep.x1 as usize..].fill(paper);
        } else {
            row.fill(paper);
        }
    }
}

/// The level of the paper among a page's pixels: three quarters of them are darker or as dark
/// (text covers less than a quarter of a page).
fn paper_level(pixels: impl Iterator<Item = u8>) -> u8 {
    let mut hist = [0usize; 256];
    pixels.for_each(|v| hist[v as usize] += 1);
    let n: usize = hist.iter().sum();
    let mut acc = 0;
    let level = (0..256).find(|&i| {
        acc += hist[i];
        acc * 4 >= n * 3
    });
    level.unwrap_or(255) as u8
}

/// A display of the source pixels, placed by the matrix; they come with
/// [`Analysis::into_display`].
fn display_source(quarter_turns: u8, ccw_deg: f64) -> Display {
    Display {
        image: DynamicImage::new_luma8(0, 0),
        quarter_turns,
        ccw_deg,
        original: true,
    }
}

/// The first reading of a page: upright unless its lines run down the page. A `cover` page
/// also keeps its upright colour image.
pub fn prepare(
    page: LoadedPage,
    opts: &PrepareOptions,
    cover: bool,
    osd: &mut LazyOsd,
    trial: &mut dyn ReadingTrial,
) -> (Analysis, PreparedPage) {
    let a = analyze(page, opts);
    let (rotation, source) = if a.vertical {
        a.vertical_orientation(osd, trial)
    } else {
        (0, OrientationSource::None)
    };
    let p = a.orient(rotation, source, opts, cover);
    (a, p)
}

/// Largest size of the cover image the EPUB gets from the first page.
pub const COVER_BOX: (u32, u32) = (1200, 1600);

/// `img` fitted into `max_w`×`max_h` (never enlarged), by area averaging: as crisp as a
/// triangle filter when shrinking, and a tenth of its time (a 300-dpi page into the cover box:
/// 190 → 15 ms).
pub fn fit(img: &DynamicImage, (max_w, max_h): (u32, u32)) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    if w <= max_w && h <= max_h {
        return img.clone();
    }
    let (nw, nh) = fitted_size(w, h, (max_w, max_h));
    img.thumbnail_exact(nw, nh)
}

/// [`fit`] for a grey page, without copying it whole first.
fn fit_grey(img: &GrayImage, max: (u32, u32)) -> DynamicImage {
    if img.width() <= max.0 && img.height() <= max.1 {
        return DynamicImage::ImageLuma8(img.clone());
    }
    let (w, h) = fitted_size(img.width(), img.height(), max);
    DynamicImage::ImageLuma8(image::imageops::thumbnail(img, w, h))
}

/// The size `DynamicImage::resize` would give a `w`×`h` image fitted into `max`: the aspect
/// kept, rounded.
fn fitted_size(w: u32, h: u32, (max_w, max_h): (u32, u32)) -> (u32, u32) {
    let ratio = f64::min(max_w as f64 / w as f64, max_h as f64 / h as f64);
    let nw = ((w as f64 * ratio).round() as u32).max(1);
    let nh = ((h as f64 * ratio).round() as u32).max(1);
    (nw, nh)
}

/// Turns (lossless) and rotates (bilinear, white outside) an upright-by-EXIF image.
fn resample(img: &DynamicImage, back: u32, ccw_deg: f64) -> DynamicImage {
    if img.color().has_color() {
        let rgb = geometry::turn_rgb(&img.to_rgb8(), back);
        let rgb = if ccw_deg != 0.0 {
            geometry::rotate_rgb(&rgb, ccw_deg)
        } else {
            rgb
        };
        DynamicImage::ImageRgb8(rgb)
    } else {
        let g = geometry::turn_grey(&img.to_luma8(), back);
        let g = if ccw_deg != 0.0 {
            geometry::rotate_grey(&g, ccw_deg)
        } else {
            g
        };
        DynamicImage::ImageLuma8(g)
    }
}

/// The pages one prepared scan becomes: the whole page frame, or what is left after cutting
/// dark borders (the `paper` of a photographed page, or dark bands at the edges), or the two
/// halves of a spread.
pub fn parts(
    page: &GrayImage,
    dpi: f64,
    paper: Option<Rect>,
    opts: &PrepareOptions,
) -> Vec<(Rect, Option<Part>)> {
    let full = Rect::of_size(page.width(), page.height());
    let area = match paper {
        Some(paper) if opts.crop_borders => paper,
        _ if opts.crop_borders => content_area(page),
        _ => full,
    };
    match (opts.split == Split::Auto)
        .then(|| gutter(page, area, dpi))
        .flatten()
    {
        Some(g) => vec![
            (Rect { x1: g, ..area }, Some(Part::Left)),
            (Rect { x0: g, ..area }, Some(Part::Right)),
        ],
        None => vec![(area, None)],
    }
}

/// The page without dark scanner borders: rows and columns at the edges whose mean is far
/// darker than the paper are cut (with a small margin for the shadow they cast).
pub fn content_area(page: &GrayImage) -> Rect {
    let (w, h) = (page.width() as usize, page.height() as usize);
    let px = page.as_raw();
    let mut hist = [0u32; 256];
    px.iter().for_each(|&v| hist[v as usize] += 1);
    // Paper: the level 90 % of the pixels are darker than or equal to.
    let mut acc = 0u64;
    let paper = (0..256)
        .find(|&i| {
            acc += hist[i] as u64;
            acc * 10 >= px.len() as u64 * 9
        })
        .unwrap_or(255) as f64;
    let dark = paper * 0.45;
    let col_mean = |x: usize| {
        (0..h).step_by(2).map(|y| px[y * w + x] as f64).sum::<f64>() / h.div_ceil(2) as f64
    };
    let row_mean = |y: usize| {
        px[y * w..(y + 1) * w]
            .iter()
            .step_by(2)
            .map(|&v| v as f64)
            .sum::<f64>()
            / w.div_ceil(2) as f64
    };
    // Width of the dark band at one edge: scanning inwards, a few light lines (the edge of
    // the scanner glass, dust) do not end the band; a run of them does.
    let band = |n: usize, is_dark: &dyn Fn(usize) -> bool| {
        let tolerance = (n / 200).max(3);
        let (mut end, mut light) = (0, 0);
        for i in 0..n / 4 {
            if is_dark(i) {
                end = i + 1;
                light = 0;
            } else {
                light += 1;
                if light > tolerance {
                    break;
                }
            }
        }
        if end == 0 { 0 } else { end + (end / 10).max(2) }
    };
    let left = band(w, &|i| col_mean(i) < dark);
    let right = band(w, &|i| col_mean(w - 1 - i) < dark);
    let top = band(h, &|i| row_mean(i) < dark);
    let bottom = band(h, &|i| row_mean(h - 1 - i) < dark);
    Rect {
        x0: left as u32,
        y0: top as u32,
        x1: (w - right) as u32,
        y1: (h - bottom) as u32,
    }
}

/// The gutter of a two-page spread inside `area`: a landscape scan with a column near its
/// middle that no text crosses. Columns are judged by their ink edges (a gutter shadow is dark
/// but smooth; text is full of edges), smoothed over about a millimetre.
pub fn gutter(page: &GrayImage, area: Rect, dpi: f64) -> Option<u32> {
    if (area.width() as f64) < 1.2 * area.height() as f64 {
        return None;
    }
    let w = page.width() as usize;
    let px = page.as_raw();
    let edges: Vec<f64> = (area.x0 as usize..area.x1 as usize)
        .map(|x| {
            (area.y0 as usize..area.y1 as usize - 1)
                .filter(|&y| (px[y * w + x] as i32 - px[(y + 1) * w + x] as i32).abs() > 48)
                .count() as f64
        })
        .collect();
    let radius = ((dpi / 25.4).round() as usize).max(1);
    let smooth: Vec<f64> = (0..edges.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(radius), (i + radius + 1).min(edges.len()));
            edges[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect();
    let mut sorted = smooth.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted[sorted.len() / 2];
    let (lo, hi) = (smooth.len() * 35 / 100, smooth.len() * 65 / 100);
    let (i, &min) = smooth[lo..hi]
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    (median > 0.0 && min < 0.1 * median).then_some(area.x0 + (lo + i) as u32)
}

/// How much better a turn's band must read than the current turn's band to be worth a full
/// reading, in mean word confidence points. Upside-down and sideways bands of the shared
/// corpus read 30–50 points below the upright band; the same band read twice differs by none.
const BAND_MARGIN: f64 = 10.0;

/// Mean word confidence of the middle band of `small` turned upright as if its content were
/// turned `rotation` degrees clockwise (0 when nothing reads).
fn band_score(small: &GrayImage, dpi: u32, rotation: u32, trial: &mut dyn ReadingTrial) -> f64 {
    let band = middle_band(&geometry::turn_grey(small, (4 - rotation / 90) % 4));
    match trial.read(&band, dpi) {
        Some((conf, words)) if words > 0 => conf,
        _ => 0.0,
    }
}

/// The middle ~40 % of a page's height: enough lines to judge by, a fraction of the cost.
fn middle_band(img: &GrayImage) -> GrayImage {
    let h = img.height();
    let top = h * 3 / 10;
    let height = (h * 4 / 10).max(1);
    image::imageops::crop_imm(img, 0, top, img.width(), height).to_image()
}

/// Transparent areas of a scan are paper: composite onto white rather than dropping alpha
/// (which turns transparent pixels black).
fn flatten_alpha(image: DynamicImage) -> DynamicImage {
    if !image.color().has_alpha() {
        return image;
    }
    if !image.color().has_color() {
        let la = image.to_luma_alpha8();
        let grey = GrayImage::from_fn(la.width(), la.height(), |x, y| {
            let p = la.get_pixel(x, y).0;
            image::Luma([blend(p[0], p[1])])
        });
        return DynamicImage::ImageLuma8(grey);
    }
    let rgba = image.to_rgba8();
    let rgb = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        Rgb([blend(p[0], p[3]), blend(p[1], p[3]), blend(p[2], p[3])])
    });
    DynamicImage::ImageRgb8(rgb)
}

fn blend(v: u8, alpha: u8) -> u8 {
    ((v as u32 * alpha as u32 + 255 * (255 - alpha as u32) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::tests::text_page;
    use crate::load::Format;

    /// Reads "upright" pages well: a stand-in that prefers the orientation it was told.
    struct Oracle(GrayImage);
    impl ReadingTrial for Oracle {
        fn read(&mut self, image: &GrayImage, _dpi: u32) -> Option<(f64, usize)> {
            // Upright synthetic pages have their ascender strokes above the x-height band.
            let _ = &self.0;
            Some((ascender_score(image), 10))
        }
    }

    fn ascender_score(img: &GrayImage) -> f64 {
        // In the synthetic page every stroke ends on the baseline, while tops are split between
        // ascender and x-height: upright, the sharpest bottom-edge row beats the sharpest
        // top-edge row.
        let (w, h) = img.dimensions();
        let (mut best_down, mut best_up) = (0u32, 0u32);
        for y in 1..h - 1 {
            let (mut down, mut up) = (0u32, 0u32);
            for x in 0..w {
                if img.get_pixel(x, y).0[0] < 128 {
                    up += u32::from(img.get_pixel(x, y - 1).0[0] >= 128);
                    down += u32::from(img.get_pixel(x, y + 1).0[0] >= 128);
                }
            }
            best_down = best_down.max(down);
            best_up = best_up.max(up);
        }
        best_down as f64 - best_up as f64
    }

    fn loaded(
        image: DynamicImage,
        orientation: Orientation,
        dpi: Option<(f64, f64)>,
    ) -> LoadedPage {
        LoadedPage {
            image,
            orientation,
            file_dpi: dpi,
            bitonal: false,
            jpeg: None,
            jpeg_components: 0,
            format: Format::Png,
            lossy_source: false,
            warnings: vec![],
        }
    }

    fn opts() -> PrepareOptions {
        PrepareOptions::default()
    }

    fn run(
        img: DynamicImage,
        orientation: Orientation,
        dpi: Option<(f64, f64)>,
        truth: &GrayImage,
    ) -> (Analysis, PreparedPage) {
        prepare(
            loaded(img, orientation, dpi),
            &opts(),
            false,
            &mut LazyOsd::none(),
            &mut Oracle(truth.clone()),
        )
    }

    #[test]
    fn exif_rotation_makes_the_page_upright() {
        let img = DynamicImage::ImageLuma8(GrayImage::new(30, 20));
        let (_, p) = run(img, Orientation::Rotate90, None, &GrayImage::new(1, 1));
        assert_eq!(p.ocr_image.dimensions(), (20, 30));
        assert_eq!(p.correction, Correction::Resampled);
    }

    #[test]
    fn transparent_pixels_become_white_paper() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::new(20, 20));
        let (_, p) = run(img, Orientation::NoTransforms, None, &GrayImage::new(1, 1));
        assert_eq!(p.ocr_image.get_pixel(3, 3).0[0], 255);
    }

    #[test]
    fn non_square_pixels_are_resampled_for_ocr_and_placed_by_matrix() {
        let img = DynamicImage::ImageLuma8(GrayImage::new(100, 100));
        let (_, p) = run(
            img,
            Orientation::NoTransforms,
            Some((200.0, 100.0)),
            &GrayImage::new(1, 1),
        );
        assert_eq!(p.ocr_image.dimensions(), (50, 100));
        assert!(p.display.original);
    }

    #[test]
    fn the_shown_pixels_are_handed_over_not_copied_until_the_page_is_read() {
        let page = text_page(600, 800, 3);
        // Straight: the source itself is shown.
        let (a, mut p) = run(
            DynamicImage::ImageLuma8(page.clone()),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert_eq!(p.display.image.width(), 0, "no copy while the page is read");
        a.into_display(&mut p);
        assert_eq!(p.display.image.as_luma8(), Some(&page));
        // Skewed and grey: the straightened OCR image is shown, moved out of the page.
        let skewed = geometry::rotate_grey(&page, -3.0);
        let (a, mut p) = run(
            DynamicImage::ImageLuma8(skewed),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert_eq!(p.correction, Correction::Resampled);
        let ocr = p.ocr_image.clone();
        a.into_display(&mut p);
        assert_eq!(p.display.image.as_luma8(), Some(&ocr));
        assert_eq!(p.ocr_image.width(), 0);
    }

    #[test]
    fn skewed_page_is_straightened_and_reported() {
        let page = text_page(1000, 1400, 5);
        let skewed = geometry::rotate_grey(&page, -4.0); // content 4° clockwise
        let (_, p) = run(
            DynamicImage::ImageLuma8(skewed),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert!((p.skew_cw_deg - 4.0).abs() < 0.1, "{}", p.skew_cw_deg);
        assert_eq!(p.rotation_cw_deg, 0);
        assert_eq!(p.correction, Correction::Resampled);
        let again = geometry::find_skew(&p.ocr_image, 150.0, 15.0);
        assert!(
            again.cw_deg.abs() < 0.1,
            "OCR image is straight: {}",
            again.cw_deg
        );
    }

    #[test]
    fn quarter_turned_pages_are_detected_by_trial_without_osd() {
        let page = text_page(1000, 1400, 9);
        for rot in [90u32, 270] {
            let turned = geometry::turn_grey(&page, rot / 90);
            let (a, p) = run(
                DynamicImage::ImageLuma8(turned),
                Orientation::NoTransforms,
                Some((150.0, 150.0)),
                &page,
            );
            assert!(a.vertical);
            assert_eq!(p.rotation_cw_deg, rot);
            assert_eq!(p.orientation_source, OrientationSource::Trial);
            assert_eq!(
                p.ocr_image.dimensions(),
                page.dimensions(),
                "turned back upright"
            );
        }
    }

    #[test]
    fn a_doubtful_reading_offers_the_turn_whose_band_reads_best() {
        let page = text_page(1000, 1400, 4);
        let upside_down = geometry::turn_grey(&page, 2);
        let (a, p) = run(
            DynamicImage::ImageLuma8(upside_down),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert_eq!(p.rotation_cw_deg, 0, "first reading as found");
        let mut retries = a.retries(&mut LazyOsd::none(), p.rotation_cw_deg, false);
        let (rotation, source) = retries.next(&mut Oracle(page.clone())).expect("a turn");
        assert_eq!((rotation, source), (180, OrientationSource::Trial));
        assert_eq!(a.orient(rotation, source, &opts(), false).ocr_image, page);
    }

    #[test]
    fn dark_borders_are_cut() {
        let mut page = text_page(800, 1000, 3);
        for y in 0..1000 {
            // A dark band with a light line at the very edge, like the glass edge of a scanner.
            for x in 760..799 {
                page.put_pixel(x, y, image::Luma([15]));
            }
        }
        let r = content_area(&page);
        assert_eq!((r.x0, r.y0, r.y1), (0, 0, 1000));
        assert!((750..760).contains(&r.x1), "{r:?}");
    }

    #[test]
    fn spreads_split_at_the_gutter_and_single_pages_do_not() {
        let left = text_page(700, 1000, 11);
        let right = text_page(700, 1000, 12);
        let mut spread = GrayImage::from_pixel(1400, 1000, image::Luma([250]));
        image::imageops::replace(&mut spread, &left, 0, 0);
        image::imageops::replace(&mut spread, &right, 700, 0);
        let o = PrepareOptions {
            split: Split::Auto,
            crop_borders: true,
            ..opts()
        };
        let p = parts(&spread, 150.0, None, &o);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].1, p[1].1), (Some(Part::Left), Some(Part::Right)));
        let g = p[0].0.x1;
        assert!((630..770).contains(&g), "gutter at {g}");
        assert_eq!(
            parts(&left, 150.0, None, &o).len(),
            1,
            "portrait pages are never split"
        );
    }

    #[test]
    fn a_photographed_page_is_read_on_its_paper_and_shown_with_its_surround() {
        let page = text_page(1000, 1400, 6);
        let (photo, _) = crate::paper::tests::photographed(&page, -3.0);
        let (_, p) = run(
            DynamicImage::ImageLuma8(photo.clone()),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert!((p.skew_cw_deg + 3.0).abs() < 0.1, "{}", p.skew_cw_deg);
        let paper = p.paper.expect("the paper is found");
        // Only the paper is left to read: the surround is one flat paper colour.
        let outside: Vec<u8> = (0..p.ocr_image.height())
            .step_by(7)
            .flat_map(|y| (0..paper.x0).step_by(7).map(move |x| (x, y)))
            .map(|(x, y)| p.ocr_image.get_pixel(x, y).0[0])
            .collect();
        assert!(
            outside.iter().all(|&v| v == outside[0] && v > 200),
            "{outside:?}"
        );
        // The page shows the straightened photo, surround and all.
        let shown = p.display.image.as_luma8().expect("the grey photo");
        assert_eq!(shown.dimensions(), photo.dimensions());
        let dark = (0..shown.height())
            .filter(|&y| shown.get_pixel(20, y).0[0] < 100)
            .count();
        assert!(dark > shown.height() as usize / 2, "{dark}");
        // Cutting borders cuts to the paper.
        let o = PrepareOptions {
            crop_borders: true,
            ..opts()
        };
        assert_eq!(parts(&p.ocr_image, 150.0, p.paper, &o), vec![(paper, None)]);
        assert_eq!(parts(&p.ocr_image, 150.0, p.paper, &opts())[0].0.x0, 0);
    }

    #[test]
    fn straight_page_is_left_alone() {
        let page = text_page(1000, 1400, 2);
        let (_, p) = run(
            DynamicImage::ImageLuma8(page.clone()),
            Orientation::NoTransforms,
            Some((150.0, 150.0)),
            &page,
        );
        assert_eq!(p.correction, Correction::None);
        assert_eq!(p.ocr_image, page, "not resampled");
    }
}
