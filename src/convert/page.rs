//! One page through every stage: open and decode, prepare, read upright, resolve the
//! resolution, encode. No threads, no files written, no printing: the scheduler calls
//! [`convert_page`] on a worker and hands the result to the assembler.

use std::path::Path;
use std::time::Instant;

use image::{DynamicImage, GrayImage};

use super::plan::{EpubOptions, Settings};
use super::schedule::{Admission, Budget};
use crate::config::OcrResolution;
use crate::geometry::{self, Rect};
use crate::load::{self, LoadError, LoadedPage};
use crate::manifest::{Correction, DpiSource, Part, StageSeconds};
use crate::ocr::{OcrEngine, OcrError, OcrPage};
use crate::osd::LazyOsd;
use crate::pdf::image::PageImage;
use crate::prepare::{self, Analysis, PrepareOptions, PreparedPage};
use crate::textsize;

/// Resolution assumed when the file has none and the text gives no usable estimate.
const ASSUMED_DPI: f64 = 300.0;
/// Typical height of a printed body-text line box (ascender to descender), in points, used to
/// estimate a page's resolution from its text when the file does not state it.
const TYPICAL_LINE_PT: f64 = 11.0;

/// Where a page comes from.
#[derive(Debug, Clone, Copy)]
pub struct PageInput<'a> {
    /// 1-based position in the book as planned (the first page is the cover).
    pub index: u32,
    pub file: &'a Path,
    /// The frame of a multi-page TIFF (the first for other files).
    pub frame: load::Frame,
    /// Tesseract models joined with `+`, e.g. `rus+eng`.
    pub models: &'a str,
    /// A warning about the file that goes with this page.
    pub note: Option<&'a str>,
}

/// A page that went through every stage. Serialisable: a finished page waits in OUT's page
/// cache until its book is finished (see `convert/resume.rs`).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct DonePage {
    pub image: PageImage,
    /// Page-frame size in pixels: what the image's placement covers.
    pub frame_px: (u32, u32),
    /// The pages this scan became: one, or the two halves of a spread.
    pub parts: Vec<PartReading>,
    pub dpi: (f64, f64),
    pub dpi_source: DpiSource,
    /// The upright first page as a JPEG, for the EPUB cover.
    pub cover: Option<Vec<u8>>,
    pub warnings: Vec<String>,
    pub rotation_cw_deg: u32,
    pub skew_cw_deg: f64,
    pub correction: Correction,
    pub orientation_by: prepare::OrientationSource,
    /// The source's pixels were not square: the page frame is resampled.
    pub non_square: bool,
    /// The paper of a page photographed against a dark surround, in the page frame.
    pub paper: Option<Rect>,
    /// The page image of the `web-pdf` output (compact), when the book gets one. Last, so a
    /// page cached by a kitap without it fails to decode (and is converted again) rather than
    /// being misread.
    pub web_image: Option<PageImage>,
}

/// One page cut from the page frame and what Tesseract read on it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PartReading {
    pub rect: Rect,
    pub part: Option<Part>,
    pub ocr: OcrPage,
    /// The part as a small JPEG, for the EPUB, when its OCR is too doubtful to stand alone.
    pub scan: Option<Vec<u8>>,
    /// The part as a thumbnail JPEG for the review page.
    pub thumb: Option<Vec<u8>>,
    /// Words whose look-alike letters were put back in their script.
    pub lookalikes: usize,
    /// No ink after cleaning: the part was not sent to OCR.
    pub blank: bool,
    /// The part was read reduced this many times (1: as it is; see `crate::textsize`).
    pub ocr_reduced_by: u32,
}

impl PartReading {
    /// Mean confidence over all words of the readings (None without words).
    fn confidence(readings: &[PartReading]) -> Option<f64> {
        let (n, sum) = readings
            .iter()
            .flat_map(|r| r.ocr.words())
            .fold((0usize, 0f64), |(n, s), w| (n + 1, s + w.conf as f64));
        (n > 0).then(|| sum / n as f64)
    }
}

/// A page that could not be converted, with the warnings gathered before it failed.
#[derive(Debug)]
pub struct PageFailure {
    pub cause: StageError,
    pub warnings: Vec<String>,
}

/// The stage a page failed in, and why.
#[derive(Debug)]
pub enum StageError {
    Load(LoadError),
    /// The page would need more memory than the whole budget: it could never be admitted.
    Memory {
        header: load::Header,
        estimate: u64,
        budget: u64,
    },
    Ocr(OcrError),
    /// A bug: the page's conversion panicked.
    Internal,
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StageError::Load(e) => e.fmt(f),
            StageError::Memory {
                header,
                estimate,
                budget,
            } => write!(
                f,
                "a {}×{} {} page needs about {} of memory to convert (estimated from its header), more than the whole memory budget leaves for pages ({}: --max-memory less the OCR engines); refused before decoding",
                header.width,
                header.height,
                page_kind(header),
                show_bytes(*estimate),
                show_bytes(*budget)
            ),
            StageError::Ocr(e) => e.fmt(f),
            StageError::Internal => f.write_str(
                "internal error while converting this page (a bug in kitap: please report it with the file)",
            ),
        }
    }
}

impl std::error::Error for StageError {}

/// The stages a page's time is counted in (see [`StageSeconds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Load,
    Prepare,
    Ocr,
    Encode,
}

/// Adds up the time of each stage as the steps run.
#[derive(Debug, Default)]
pub struct Clock {
    seconds: StageSeconds,
}

impl Clock {
    /// Runs `f`, counting its time in `stage`.
    pub fn time<T>(&mut self, stage: Stage, f: impl FnOnce() -> T) -> T {
        self.timed(stage, f).0
    }

    /// Runs `f`, counting its time in `stage`, and also returns that time in seconds.
    pub fn timed<T>(&mut self, stage: Stage, f: impl FnOnce() -> T) -> (T, f64) {
        let start = Instant::now();
        let value = f();
        let secs = start.elapsed().as_secs_f64();
        *self.slot(stage) += secs;
        (value, secs)
    }

    /// Counts `secs` already counted in `from` in `to` instead: a reading that turned out to be
    /// a trial is preparation, not OCR.
    pub fn recount(&mut self, secs: f64, from: Stage, to: Stage) {
        *self.slot(from) -= secs;
        *self.slot(to) += secs;
    }

    pub fn seconds(&self) -> StageSeconds {
        self.seconds
    }

    fn slot(&mut self, stage: Stage) -> &mut f64 {
        match stage {
            Stage::Load => &mut self.seconds.load,
            Stage::Prepare => &mut self.seconds.prepare,
            Stage::Ocr => &mut self.seconds.ocr,
            Stage::Encode => &mut self.seconds.encode,
        }
    }
}

/// The engines one worker thread owns: OCR for the current book's models, and OSD when a
/// page needs it. Dropping them frees Tesseract's memory.
pub struct Engines {
    tessdata: std::path::PathBuf,
    ocr: Option<OcrEngine>,
    osd: LazyOsd,
}

impl Engines {
    pub fn new(tessdata: &Path, with_osd: bool) -> Engines {
        Engines {
            tessdata: tessdata.to_path_buf(),
            ocr: None,
            osd: if with_osd {
                LazyOsd::new(tessdata)
            } else {
                LazyOsd::none()
            },
        }
    }

    /// The OSD engine (loaded on first use).
    pub fn osd(&mut self) -> &mut LazyOsd {
        &mut self.osd
    }

    /// The OCR engine for `models` (started anew only when a book needs other models), and OSD.
    fn get(&mut self, models: &str) -> Result<(&mut OcrEngine, &mut LazyOsd), OcrError> {
        if self.ocr.as_ref().is_none_or(|e| e.models() != models) {
            self.ocr = None;
            self.ocr = Some(OcrEngine::new(&self.tessdata, models)?);
        }
        Ok((self.ocr.as_mut().expect("engine just set"), &mut self.osd))
    }
}

/// Orientation trials read a band of the page with the book's own engine; lines read down the
/// band count as a poor reading.
impl prepare::ReadingTrial for OcrEngine {
    fn read(&mut self, image: &GrayImage, dpi: u32) -> Option<(f64, usize)> {
        let page = self.recognize(image, Some(dpi)).ok()?;
        let penalty = if page.runs_sideways() {
            prepare::SIDEWAYS_PENALTY
        } else {
            0.0
        };
        Some((
            page.mean_confidence().unwrap_or(0.0) - penalty,
            page.word_count(),
        ))
    }
}

/// The page image for the PDF, and for the web PDF when the book gets one (the same pixels,
/// encoded compact).
fn encode_images(
    display: &prepare::Display,
    jpeg: Option<(Vec<u8>, u8)>,
    (bitonal, lossy_source): (bool, bool),
    settings: &Settings,
    dpi: f64,
) -> (PageImage, Option<PageImage>) {
    use crate::pdf::image::encode;
    let web = settings
        .web_image
        .as_ref()
        .map(|opts| encode(display, jpeg.clone(), bitonal, lossy_source, opts, dpi));
    let image = encode(display, jpeg, bitonal, lossy_source, &settings.image, dpi);
    (image, web)
}

/// Peak memory of a page beyond the process and its engines, in bytes per pixel, measured with
/// `/usr/bin/time -v` (release build, default pipeline: orientation, deskew, OCR, PDF, EPUB)
/// on mostly white pages with lines of word-like blocks; see BENCHMARKS.md ("Memory"). A grey
/// or bitonal page: 7.0 (8-bit grey PNG or G4 TIFF, straight), 8.0 (grey, 2° skew: the
/// straightened copy), 7.3 at 250 MP; a blank page about 4.3. Tesseract holds about half.
const GREY_BYTES_PER_PIXEL: f64 = 8.5;
/// What colour adds: an RGB PNG took 14.6 bytes a pixel straight and 17.6 skewed (the RGB
/// decode, and the shown image resampled in colour beside the grey one Tesseract reads).
const COLOUR_BYTES_PER_PIXEL: f64 = 10.0;
/// Each extra byte a decoded sample takes (16-bit samples, alpha) is held while the page is
/// flattened to 8 bits.
const WIDE_BYTES_PER_SAMPLE: f64 = 2.0;
/// What any page costs besides its pixels: decoder and encoder buffers, Tesseract's page.
const PAGE_BYTES: u64 = 24 << 20;

/// The peak memory converting a page with this header takes, estimated before decoding.
pub fn estimate_peak(h: &load::Header) -> u64 {
    let px = h.pixels() as f64;
    let mut per_px = GREY_BYTES_PER_PIXEL;
    if h.channels >= 3 {
        per_px += COLOUR_BYTES_PER_PIXEL;
    }
    let sample_bytes = if h.bits > 8 { 2.0 } else { 1.0 };
    let wide = h.channels as f64 * sample_bytes - if h.channels >= 3 { 3.0 } else { 1.0 };
    per_px += wide * WIDE_BYTES_PER_SAMPLE;
    let jpeg = if h.format == load::Format::Jpeg {
        h.file_bytes
    } else {
        0
    };
    (px * per_px) as u64 + PAGE_BYTES + jpeg
}

/// "grey 8-bit PNG", "bitonal 1-bit TIFF", "colour 8-bit JPEG": the kind of page, as a page
/// error and `kitap check -v` name it.
pub fn page_kind(h: &load::Header) -> String {
    let kind = match (h.channels, h.bits) {
        (1, 1) => "bitonal",
        (1 | 2, _) => "grey",
        _ => "colour",
    };
    format!("{kind} {}-bit {}", h.bits, h.format.name())
}

/// Bytes for people: `1.9 GiB`, `350 MiB`, `412 KiB`.
pub fn show_bytes(b: u64) -> String {
    let gib = b as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else if b >= 1 << 20 {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", (b as f64 / 1024.0).ceil())
    }
}

/// Reads the page's header and waits until its estimated peak memory fits the budget beside
/// the pages the other workers hold.
fn admit<'b>(
    page: &PageInput,
    settings: &Settings,
    budget: &'b Budget,
    clock: &mut Clock,
) -> Result<Admission<'b>, StageError> {
    let header = clock.time(Stage::Load, || {
        load::header(page.file, page.frame, settings.load)
    });
    let header = header.map_err(StageError::Load)?;
    let estimate = estimate_peak(&header);
    budget.admit(estimate).ok_or(StageError::Memory {
        header,
        estimate,
        budget: budget.total(),
    })
}

/// Converts one page: every stage, timed in `clock`, once its memory is admitted from `budget`.
pub fn convert_page(
    page: &PageInput,
    settings: &Settings,
    budget: &Budget,
    engines: &mut Engines,
    clock: &mut Clock,
) -> Result<DonePage, PageFailure> {
    let mut warnings: Vec<String> = page.note.iter().map(|n| n.to_string()).collect();
    let _admitted = match admit(page, settings, budget, clock) {
        Ok(a) => a,
        Err(cause) => return Err(PageFailure { cause, warnings }),
    };
    let loaded = clock.time(Stage::Load, || open(page, settings, &mut warnings));
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            return Err(PageFailure {
                cause: StageError::Load(e),
                warnings,
            });
        }
    };
    let file_dpi = loaded.file_dpi;
    let (bitonal, lossy_source) = (loaded.bitonal, loaded.lossy_source);
    // Engine start-up is no stage's time.
    let (engine, osd) = match engines.get(page.models) {
        Ok(e) => e,
        Err(e) => {
            return Err(PageFailure {
                cause: StageError::Ocr(e),
                warnings,
            });
        }
    };
    let cover = page.index == 1;
    let (analysis, prepared) = clock.time(Stage::Prepare, || {
        prepare::prepare(loaded, &settings.prepare, cover, osd, engine)
    });
    let upright = read_upright(&analysis, prepared, settings, cover, (engine, osd), clock);
    engine.release_page();
    let (mut prepared, mut readings) = match upright {
        Ok(r) => r,
        Err(e) => {
            return Err(PageFailure {
                cause: StageError::Ocr(e),
                warnings,
            });
        }
    };
    if settings.repair_lookalikes {
        for r in &mut readings {
            r.lookalikes = crate::reading::repair_lookalikes(&mut r.ocr);
        }
    }
    clock.time(Stage::Encode, || {
        add_doubtful_scans(&mut readings, &prepared.ocr_image, &settings.epub)
    });
    let (dpi, dpi_source) = resolve_dpi(file_dpi, &readings, &mut warnings);
    let frame_px = prepared.ocr_image.dimensions();
    // Thumbnails are shrunk now, while the grey page is at hand, and encoded once the page
    // image's size (their budget) is known.
    let shrunk: Vec<GrayImage> = clock.time(Stage::Encode, || {
        readings
            .iter()
            .map(|r| shrink(&prepared.ocr_image, r.rect, THUMB_BOX))
            .collect()
    });
    let cover = prepared.upright.take().as_ref().and_then(cover_jpeg);
    // Only the shown image is left to encode: the analysis and OCR copies go first (or become it).
    let jpeg = analysis.into_display(&mut prepared);
    prepared.ocr_image = GrayImage::default();
    let (image, web_image) = clock.time(Stage::Encode, || {
        encode_images(
            &prepared.display,
            jpeg,
            (bitonal, lossy_source),
            settings,
            dpi.1,
        )
    });
    clock.time(Stage::Encode, || {
        let budget = image.data.len() * THUMB_SHARE_PERCENT / 100 / readings.len().max(1);
        for (r, small) in readings.iter_mut().zip(&shrunk) {
            r.thumb = thumb_jpeg(small, budget);
        }
    });
    Ok(DonePage {
        image,
        web_image,
        frame_px,
        parts: readings,
        dpi,
        dpi_source,
        cover,
        warnings,
        rotation_cw_deg: prepared.rotation_cw_deg,
        skew_cw_deg: prepared.skew_cw_deg,
        correction: prepared.correction,
        orientation_by: prepared.orientation_source,
        non_square: file_dpi.is_some_and(|(x, y)| (x / y - 1.0).abs() > 0.01),
        paper: prepared.paper,
    })
}

/// Opens and decodes the page, with the warnings about its file (a misleading extension,
/// non-square pixels) added to `warnings`.
fn open(
    page: &PageInput,
    settings: &Settings,
    warnings: &mut Vec<String>,
) -> Result<LoadedPage, LoadError> {
    let mut loaded = load::open(page.file, page.frame, settings.load, warnings)?;
    warnings.append(&mut loaded.warnings);
    loaded.file_dpi = loaded.file_dpi.map(|(x, y)| (round_dpi(x), round_dpi(y)));
    if let Some((x, y)) = loaded.file_dpi
        && (x / y - 1.0).abs() > 0.01
    {
        warnings.push(format!(
            "pixels are not square ({x:.0}×{y:.0} dpi); the page is resampled to {y:.0} dpi both ways"
        ));
    }
    Ok(loaded)
}

/// Reads the prepared page. A page that reads doubtfully, or whose lines Tesseract followed
/// down the page, may be turned another way whatever OSD said: the turns worth trying (see
/// [`Analysis::retries`]) are read in turn until one reads well, and the best reading is kept.
/// The readings thrown away count as preparation.
fn read_upright(
    analysis: &Analysis,
    prepared: PreparedPage,
    settings: &Settings,
    cover: bool,
    (engine, osd): (&mut OcrEngine, &mut LazyOsd),
    clock: &mut Clock,
) -> Result<(PreparedPage, Vec<PartReading>), OcrError> {
    let opts = &settings.prepare;
    let (readings, secs) = read_parts(&prepared, opts, engine, clock);
    let first = Judged::new(prepared, readings?, secs);
    if !(opts.orientation && analysis.has_text && first.doubtful()) {
        return Ok((first.page, first.readings));
    }
    let mut retries = clock.time(Stage::Prepare, || {
        analysis.retries(osd, first.page.rotation_cw_deg, first.sideways)
    });
    let mut best = first;
    while let Some((rotation, source)) = clock.time(Stage::Prepare, || retries.next(engine)) {
        let alt = clock.time(Stage::Prepare, || {
            analysis.orient(rotation, source, opts, cover)
        });
        let (readings, secs) = read_parts(&alt, opts, engine, clock);
        // A trial that failed or read worse is preparation; so is the reading it beats.
        let loser = match readings {
            Ok(readings) => {
                let alt = Judged::new(alt, readings, secs);
                if alt.score() > best.score() {
                    std::mem::replace(&mut best, alt).secs
                } else {
                    alt.secs
                }
            }
            Err(_) => secs,
        };
        clock.recount(loser, Stage::Ocr, Stage::Prepare);
        if !best.doubtful() {
            break;
        }
    }
    Ok((best.page, best.readings))
}

/// A reading of the page as one turn prepared it, with what decides between turns.
struct Judged {
    page: PreparedPage,
    readings: Vec<PartReading>,
    confidence: Option<f64>,
    sideways: bool,
    /// Seconds the reading took.
    secs: f64,
}

impl Judged {
    fn new(page: PreparedPage, readings: Vec<PartReading>, secs: f64) -> Judged {
        Judged {
            confidence: PartReading::confidence(&readings),
            sideways: reads_sideways(&readings),
            page,
            readings,
            secs,
        }
    }

    fn doubtful(&self) -> bool {
        self.sideways
            || self
                .confidence
                .is_none_or(|c| c < prepare::DOUBTFUL_CONFIDENCE)
    }

    fn score(&self) -> f64 {
        let penalty = if self.sideways {
            prepare::SIDEWAYS_PENALTY
        } else {
            0.0
        };
        self.confidence.unwrap_or(-1.0) - penalty
    }
}

/// Tesseract followed the lines of some part down the page.
fn reads_sideways(readings: &[PartReading]) -> bool {
    readings.iter().any(|r| r.ocr.runs_sideways())
}

/// Cuts the prepared page into its parts (borders, spread halves) and reads each; also returns
/// the seconds spent reading, whether or not it succeeded.
fn read_parts(
    prepared: &PreparedPage,
    opts: &PrepareOptions,
    engine: &mut OcrEngine,
    clock: &mut Clock,
) -> (Result<Vec<PartReading>, OcrError>, f64) {
    let page = &prepared.ocr_image;
    let dpi = prepared.dpi.map(|d| d.round() as u32);
    let parts = clock.time(Stage::Prepare, || {
        prepare::parts(page, prepared.dpi.unwrap_or(300.0), prepared.paper, opts)
            .into_iter()
            .map(|(rect, part)| (rect, part, textsize::survey(page, rect, prepared.dpi)))
            .collect::<Vec<_>>()
    });
    let (readings, secs) = clock.timed(Stage::Ocr, || {
        parts
            .into_iter()
            .map(|(rect, part, survey)| {
                let factor = match opts.ocr_resolution {
                    OcrResolution::Auto => survey.ocr_factor(),
                    OcrResolution::Source => 1,
                };
                let ocr = if survey.blank {
                    OcrPage {
                        width: rect.width(),
                        height: rect.height(),
                        blocks: Vec::new(),
                    }
                } else {
                    read_part(page, rect, dpi, factor, engine)?
                };
                Ok(PartReading {
                    rect,
                    part,
                    ocr,
                    scan: None,
                    thumb: None,
                    lookalikes: 0,
                    blank: survey.blank,
                    ocr_reduced_by: if survey.blank { 1 } else { factor },
                })
            })
            .collect::<Result<Vec<_>, OcrError>>()
    });
    (readings, secs)
}

/// Reads `rect` of the page reduced `factor` times (1: as it is), telling Tesseract the
/// resolution reduced alike; the words come back in the page's pixels, relative to `rect`.
fn read_part(
    page: &GrayImage,
    rect: Rect,
    dpi: Option<u32>,
    factor: u32,
    engine: &mut OcrEngine,
) -> Result<OcrPage, OcrError> {
    let whole = rect == Rect::of_size(page.width(), page.height());
    let cut = || image::imageops::crop_imm(page, rect.x0, rect.y0, rect.width(), rect.height());
    if factor <= 1 {
        return if whole {
            engine.recognize(page, dpi)
        } else {
            engine.recognize(&cut().to_image(), dpi)
        };
    }
    let small = if whole {
        geometry::reduce(page, factor)
    } else {
        geometry::reduce(&cut().to_image(), factor)
    };
    let dpi = dpi.map(|d| ((d as f64 / factor as f64).round() as u32).max(1));
    let ocr = engine.recognize(&small, dpi)?;
    Ok(ocr.scaled_up(factor, rect.width(), rect.height()))
}

/// Parts read below the EPUB's confidence threshold keep a small image of themselves.
fn add_doubtful_scans(readings: &mut [PartReading], page: &GrayImage, opts: &EpubOptions) {
    let Some(threshold) = opts.image_below_confidence else {
        return;
    };
    for r in readings {
        if r.ocr.mean_confidence().is_none_or(|c| c < threshold) {
            r.scan = scan_jpeg(page, r.rect);
        }
    }
}

/// The page's resolution: the file's, else estimated from the text's line height, else
/// assumed; the last two with a warning.
fn resolve_dpi(
    file_dpi: Option<(f64, f64)>,
    readings: &[PartReading],
    warnings: &mut Vec<String>,
) -> ((f64, f64), DpiSource) {
    if let Some(d) = file_dpi {
        return (d, DpiSource::File);
    }
    let line = readings
        .iter()
        .max_by_key(|r| r.ocr.word_count())
        .and_then(|r| r.ocr.median_line_height());
    let estimate = line
        .map(|h| round_dpi((h * 72.0 / TYPICAL_LINE_PT / 10.0).round() * 10.0))
        .filter(|d| load::PLAUSIBLE_DPI.contains(d));
    match estimate {
        Some(d) => {
            warnings.push(format!(
                "no usable resolution in the file; estimated {d:.0} dpi from the text height"
            ));
            ((d, d), DpiSource::Estimated)
        }
        None => {
            warnings.push(format!(
                "no usable resolution in the file; assumed {ASSUMED_DPI:.0} dpi"
            ));
            ((ASSUMED_DPI, ASSUMED_DPI), DpiSource::Assumed)
        }
    }
}

/// A resolution rounded to a whole number when it is within 0.05 of one, else to a tenth.
fn round_dpi(d: f64) -> f64 {
    let r = d.round();
    if (d - r).abs() < 0.05 {
        r
    } else {
        (d * 10.0).round() / 10.0
    }
}

/// The first page, downscaled, as the EPUB cover.
fn cover_jpeg(img: &DynamicImage) -> Option<Vec<u8>> {
    preview_jpeg(img, prepare::COVER_BOX, 80)
}

/// A page part as the EPUB shows a doubtful page: grey JPEG, at most 1000 px on the long side.
/// `None` for a blank part (almost no ink): nothing to show. The part is measured and scaled
/// where it lies in the page, never copied out whole.
fn scan_jpeg(img: &GrayImage, r: Rect) -> Option<Vec<u8>> {
    let (w, h) = (r.width(), r.height());
    let stride = img.width() as usize;
    let dark: usize = (r.y0..r.y0 + h)
        .map(|y| {
            let start = y as usize * stride + r.x0 as usize;
            let row = &img.as_raw()[start..start + w as usize];
            row.iter().filter(|&&v| v < 128).count()
        })
        .sum();
    if dark * 500 < w as usize * h as usize {
        return None;
    }
    let part = image::imageops::crop_imm(img, r.x0, r.y0, w, h);
    let scaled = if w > 1000 || h > 1000 {
        // The size DynamicImage::resize would choose: the aspect kept, rounded.
        let ratio = f64::min(1000.0 / w as f64, 1000.0 / h as f64);
        let nw = ((w as f64 * ratio).round() as u32).max(1);
        let nh = ((h as f64 * ratio).round() as u32).max(1);
        image::imageops::resize(&*part, nw, nh, image::imageops::FilterType::Triangle)
    } else {
        part.to_image()
    };
    let (w, h) = scaled.dimensions();
    crate::pdf::image::encode_jpeg(scaled.as_raw(), w, h, 1, 70)
}

/// The box a page's thumbnail is fitted into, pixels: sharp in a 100–140 px wide grid cell
/// on a high-density screen.
pub const THUMB_BOX: (u32, u32) = (200, 280);

/// Thumbnails may take this share of their page image's bytes in the PDF (the bound
/// is 5 % over a batch; a little room is left for the smallest pages).
const THUMB_SHARE_PERCENT: usize = 4;

/// Part `r` of the grey page, shrunk by area averaging (crisp for text) into `max`.
fn shrink(img: &GrayImage, r: Rect, (max_w, max_h): (u32, u32)) -> GrayImage {
    let part = image::imageops::crop_imm(img, r.x0, r.y0, r.width(), r.height());
    let (w, h) = (r.width().max(1), r.height().max(1));
    let ratio = f64::min(max_w as f64 / w as f64, max_h as f64 / h as f64).min(1.0);
    let nw = ((w as f64 * ratio).round() as u32).max(1);
    let nh = ((h as f64 * ratio).round() as u32).max(1);
    image::imageops::thumbnail(&*part, nw, nh)
}

/// A thumbnail as JPEG within `budget` bytes where it can be: lower quality first, then
/// smaller; the smallest try is kept when even that is over (a tiny G4 page).
fn thumb_jpeg(small: &GrayImage, budget: usize) -> Option<Vec<u8>> {
    let encode = |img: &GrayImage, q| {
        crate::pdf::image::encode_jpeg(img.as_raw(), img.width(), img.height(), 1, q)
    };
    let mut last = None;
    for q in [60, 40] {
        last = encode(small, q);
        if last.as_ref().is_some_and(|j| j.len() <= budget) {
            return last;
        }
    }
    let (w, h) = small.dimensions();
    let smaller = image::imageops::thumbnail(small, (w * 3 / 4).max(1), (h * 3 / 4).max(1));
    for q in [40, 25] {
        last = encode(&smaller, q);
        if last.as_ref().is_some_and(|j| j.len() <= budget) {
            return last;
        }
    }
    last
}

/// `img` fitted into `max` (never enlarged), grey or RGB as it looks, as JPEG.
fn preview_jpeg(img: &DynamicImage, max: (u32, u32), quality: u8) -> Option<Vec<u8>> {
    let fitted = prepare::fit(img, max);
    let (components, raw) = if fitted.color().has_color() {
        (3, fitted.to_rgb8().into_raw())
    } else {
        (1, fitted.to_luma8().into_raw())
    };
    crate::pdf::image::encode_jpeg(&raw, fitted.width(), fitted.height(), components, quality)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pipeline;

    /// The repository's own English sample page (rendered by scripts/render-samples.py).
    const SAMPLE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample-scans/en-reading-room/0001.png"
    );

    fn settings() -> Settings {
        let tessdata = crate::ocr::find_tessdata().expect("Tesseract models installed");
        Settings::from_pipeline(Pipeline::default(), tessdata)
    }

    fn convert(file: &Path, index: u32) -> (Result<DonePage, PageFailure>, StageSeconds) {
        let settings = settings();
        let mut engines = Engines::new(&settings.tessdata, true);
        let mut clock = Clock::default();
        let input = PageInput {
            index,
            file,
            frame: load::Frame::FIRST,
            models: "eng",
            note: None,
        };
        let budget = Budget::new(u64::MAX);
        let done = convert_page(&input, &settings, &budget, &mut engines, &mut clock);
        (done, clock.seconds())
    }

    fn words(done: &DonePage) -> String {
        done.parts[0].ocr.text()
    }

    #[test]
    fn a_page_goes_through_every_stage_on_one_thread() {
        let (done, secs) = convert(Path::new(SAMPLE), 1);
        let done = done.unwrap();
        assert_eq!(done.parts.len(), 1);
        assert!(words(&done).contains("library"), "{}", words(&done));
        assert_eq!(done.rotation_cw_deg, 0);
        assert!(done.cover.is_some(), "the first page is the cover");
        assert!(secs.load > 0.0 && secs.prepare > 0.0 && secs.ocr > 0.0 && secs.encode > 0.0);
    }

    #[test]
    fn an_upside_down_page_is_read_the_right_way_up() {
        let dir = tempfile::tempdir().unwrap();
        let turned = dir.path().join("turned.png");
        image::open(SAMPLE)
            .unwrap()
            .rotate180()
            .save(&turned)
            .unwrap();
        let (done, secs) = convert(&turned, 2);
        let done = done.unwrap();
        assert_eq!(done.rotation_cw_deg, 180);
        assert!(words(&done).contains("library"), "{}", words(&done));
        assert!(done.cover.is_none(), "only the first page is the cover");
        // The upside-down reading was a trial: preparation, not OCR.
        assert!(secs.prepare > 0.0);
    }

    #[test]
    fn a_file_that_is_no_image_fails_in_the_load_stage() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("0001.tif");
        std::fs::write(&file, b"%PDF-1.7 not a scan").unwrap();
        let (failed, _) = convert(&file, 1);
        let failure = failed.err().expect("a PDF is not a page image");
        assert!(matches!(failure.cause, StageError::Load(LoadError::Pdf)));
    }

    #[test]
    fn clock_counts_each_stage_and_moves_a_trial() {
        let mut clock = Clock::default();
        let v = clock.time(Stage::Load, || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            7
        });
        assert_eq!(v, 7);
        let ((), secs) = clock.timed(Stage::Ocr, || {
            std::thread::sleep(std::time::Duration::from_millis(5))
        });
        let s = clock.seconds();
        assert!(s.load >= 0.005 && s.ocr >= 0.005 && s.prepare == 0.0 && s.encode == 0.0);
        clock.recount(secs, Stage::Ocr, Stage::Prepare);
        let t = clock.seconds();
        assert!(t.ocr.abs() < 1e-12 && (t.prepare - secs).abs() < 1e-12);
    }

    #[test]
    fn resolution_rounds_near_whole_numbers_only() {
        assert_eq!(round_dpi(299.97), 300.0);
        assert_eq!(round_dpi(200.0 * 2.54 / 2.54), 200.0);
        assert_eq!(round_dpi(236.22), 236.2);
    }

    #[test]
    fn the_file_resolution_wins_and_none_is_assumed_with_a_warning() {
        let mut w = Vec::new();
        assert_eq!(
            resolve_dpi(Some((400.0, 400.0)), &[], &mut w),
            ((400.0, 400.0), DpiSource::File)
        );
        assert!(w.is_empty());
        assert_eq!(
            resolve_dpi(None, &[], &mut w),
            ((ASSUMED_DPI, ASSUMED_DPI), DpiSource::Assumed)
        );
        assert_eq!(w.len(), 1);
    }
}
