//! The `convert` driver: plans the batch, runs pages through load → prepare → OCR on a rayon
//! pool (one Tesseract engine per worker), and assembles each book's files in page order as
//! pages finish, streaming to temporary files that are renamed into place.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{BookMeta, Pipeline};
use crate::discover::{BookDir, find_books};
use crate::epub::{self, EpubMeta};
use crate::error::{ConfigError, PageError};
use crate::lang::{self, Language};
use crate::load::{self, LoadLimits};
use crate::manifest::{
    self, BookRecord, DpiSource, FileRecord, LanguageRecord, Manifest, PageRecord, PageStatus,
    PipelineInfo, StageSeconds, Status, Summary,
};
use crate::ocr::{self, OcrEngine, OcrPage};
use crate::osd::LazyOsd;
use crate::pdf::image::PageImage;
use crate::pdf::{self, DocInfo, PdfWriter};
use crate::prepare::{self, PrepareOptions};
use crate::reading::{self, PageText};

/// Resolution assumed when the file has none and the text gives no usable estimate.
mod assemble;

use assemble::Assembler;

const ASSUMED_DPI: f64 = 300.0;
/// Typical height of a printed body-text line box (ascender to descender), in points, used to
/// estimate a page's resolution from its text when the file does not state it.
const TYPICAL_LINE_PT: f64 = 11.0;

/// What the user asked for on the command line, before checking.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertRequest {
    /// Folder of book folders, or a single book folder.
    pub scans: PathBuf,
    /// Output folder (created if missing; books in it are rebuilt).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Pages OCR'd in parallel, one Tesseract engine each. Default: all cores.
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Languages for books whose book.toml names none, comma-separated: e.g. rus,eng.
    #[arg(short, long)]
    pub lang: Option<String>,
    /// A built-in pipeline name (see `kitap pipelines`) or a path to a pipeline .toml file.
    #[arg(short, long, default_value = "default")]
    pub pipeline: String,
    /// No progress bar, no warnings, no summary: errors only (for scheduled jobs).
    #[arg(short, long)]
    pub quiet: bool,
}

/// A checked batch: every path resolved, every model verified, before any page is touched.
pub struct Job {
    scans: PathBuf,
    out: PathBuf,
    jobs: usize,
    pipeline: Pipeline,
    default_languages: Vec<Language>,
    tessdata: PathBuf,
    installed: Vec<String>,
    books: Vec<PlannedBook>,
    quiet: bool,
}

struct PlannedBook {
    dir: BookDir,
    meta: BookMeta,
    languages: Vec<Language>,
    models: Vec<String>,
    error: Option<String>,
    warnings: Vec<String>,
    pages: Vec<PlannedPage>,
}

struct PlannedPage {
    index: u32,
    file: PathBuf,
    source: String,
    frame: u32,
}

fn parse_languages(codes: &[String], origin: &str) -> Result<Vec<Language>, ConfigError> {
    codes
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            lang::lookup(c).ok_or_else(|| ConfigError::UnknownLanguage {
                origin: origin.to_string(),
                code: c.to_string(),
            })
        })
        .collect()
}

fn check_models(
    models: &[String],
    installed: &[String],
    tessdata: &Path,
    origin: &str,
) -> Result<(), ConfigError> {
    let missing: Vec<String> = models
        .iter()
        .filter(|m| !installed.contains(m))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::MissingModels {
            origin: origin.to_string(),
            missing,
            installed: installed.to_vec(),
            tessdata: tessdata.to_path_buf(),
        })
    }
}

impl Job {
    /// Checks the request: pipeline, languages and models, scan tree, output folder, book ids.
    pub fn build(req: &ConvertRequest) -> Result<Job, ConfigError> {
        let pipeline = Pipeline::resolve(&req.pipeline)?;
        let tessdata = ocr::find_tessdata().ok_or_else(|| {
            ConfigError::Usage(
                "no Tesseract models found (set TESSDATA_PREFIX, or on Debian: apt-get install tesseract-ocr tesseract-ocr-eng)".into(),
            )
        })?;
        let installed = ocr::installed_models(&tessdata);
        let default_languages = match &req.lang {
            Some(l) => parse_languages(std::slice::from_ref(l), "--lang")?,
            None => parse_languages(
                &pipeline.languages,
                &format!("pipeline '{}'", pipeline.name),
            )?,
        };
        if default_languages.is_empty() {
            return Err(ConfigError::Usage("--lang: no language given".into()));
        }
        let origin = if req.lang.is_some() {
            "--lang".to_string()
        } else {
            format!("pipeline '{}'", pipeline.name)
        };
        check_models(
            &lang::models_for(&default_languages),
            &installed,
            &tessdata,
            &origin,
        )?;

        let dirs = find_books(&req.scans).map_err(|e| {
            ConfigError::Usage(format!(
                "{}: cannot read the scan folder: {e}",
                req.scans.display()
            ))
        })?;
        if dirs.is_empty() {
            return Err(ConfigError::Usage(format!(
                "{}: no page images found (looked for {} files in it and its subfolders)",
                req.scans.display(),
                crate::discover::PAGE_EXTENSIONS.join(", ")
            )));
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for d in &dirs {
            if let Some(first) = seen.insert(&d.id, &d.source) {
                return Err(ConfigError::Usage(format!(
                    "two books have the id '{}': {} and {} (the folder name names the output files; rename one)",
                    d.id, first, d.source
                )));
            }
        }
        std::fs::create_dir_all(&req.out).map_err(|e| {
            ConfigError::Usage(format!(
                "{}: cannot create the output folder: {e}",
                req.out.display()
            ))
        })?;
        let jobs = req
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let mut job = Job {
            scans: req.scans.clone(),
            out: req.out.clone(),
            jobs,
            pipeline,
            default_languages,
            tessdata,
            installed,
            books: Vec::new(),
            quiet: req.quiet,
        };
        job.books = dirs.into_iter().map(|d| job.plan_book(d)).collect();
        Ok(job)
    }

    fn plan_book(&self, dir: BookDir) -> PlannedBook {
        let mut book = PlannedBook {
            meta: BookMeta::default(),
            languages: self.default_languages.clone(),
            models: Vec::new(),
            error: None,
            warnings: dir.skipped.clone(),
            pages: Vec::new(),
            dir,
        };
        if let Some(path) = &book.dir.meta_path {
            match BookMeta::load(path) {
                Ok(m) => book.meta = m,
                Err(e) => {
                    book.error = Some(e.to_string());
                    return book;
                }
            }
        }
        let origin = book.dir.meta_path.as_ref().map_or_else(
            || book.dir.dir.display().to_string(),
            |p| p.display().to_string(),
        );
        if !book.meta.languages.is_empty() {
            match parse_languages(&book.meta.languages, &origin) {
                Ok(l) => book.languages = l,
                Err(e) => {
                    book.error = Some(e.to_string());
                    return book;
                }
            }
        }
        book.models = if book.meta.ocr_models.is_empty() {
            lang::models_for(&book.languages)
        } else {
            book.meta.ocr_models.clone()
        };
        if let Err(e) = check_models(&book.models, &self.installed, &self.tessdata, &origin) {
            book.error = Some(e.to_string());
            return book;
        }
        let mut index = 0u32;
        for file in &book.dir.files {
            let frames = frame_count(file);
            let source = file
                .strip_prefix(&self.scans)
                .unwrap_or(file)
                .to_string_lossy()
                .into_owned();
            for frame in 0..frames {
                index += 1;
                book.pages.push(PlannedPage {
                    index,
                    file: file.clone(),
                    source: source.clone(),
                    frame: frame as u32,
                });
            }
        }
        book
    }

    /// Number of pages planned in the batch.
    pub fn page_total(&self) -> usize {
        self.books.iter().map(|b| b.pages.len()).sum()
    }
}

/// Only TIFF files can hold several pages; everything else is one page (or one error).
fn frame_count(file: &Path) -> usize {
    let mut head = [0u8; 4];
    let is_tiff = File::open(file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && load::sniff(&head) == Ok(load::Format::Tiff);
    if !is_tiff {
        return 1;
    }
    File::open(file).map_or(1, |f| load::count_tiff_frames(BufReader::new(f)))
}

/// A page that went through every stage.
struct DonePage {
    image: PageImage,
    /// Page-frame size in pixels: what the image's placement covers.
    frame_px: (u32, u32),
    /// The pages this scan became: one, or the two halves of a spread.
    parts: Vec<Reading>,
    dpi: (f64, f64),
    dpi_source: DpiSource,
    cover: Option<Vec<u8>>,
    warnings: Vec<String>,
    rotation_cw_deg: u32,
    skew_cw_deg: f64,
    correction: prepare::Correction,
    orientation_by: prepare::OrientationSource,
    /// The source's pixels were not square: the page frame is resampled.
    non_square: bool,
}

/// One page cut from the page frame and what Tesseract read on it.
struct Reading {
    rect: prepare::Rect,
    part: Option<prepare::Part>,
    ocr: OcrPage,
    /// The part as a small JPEG, for the EPUB, when its OCR is too doubtful to stand alone.
    scan: Option<Vec<u8>>,
}

impl Reading {
    /// Mean confidence over all words of the readings (None without words).
    fn confidence(readings: &[Reading]) -> Option<f64> {
        let (n, sum) = readings
            .iter()
            .flat_map(|r| r.ocr.words())
            .fold((0usize, 0f64), |(n, s), w| (n + 1, s + w.conf as f64));
        (n > 0).then(|| sum / n as f64)
    }
}

/// Cuts the prepared page into its parts (borders, spread halves) and reads each.
fn read_parts(
    prepared: &prepare::PreparedPage,
    opts: &PrepareOptions,
    engine: &mut OcrEngine,
    lap: &mut dyn FnMut() -> f64,
    times: &mut StageSeconds,
) -> Result<Vec<Reading>, String> {
    let dpi = prepared.dpi.map(|d| d.round() as u32);
    let parts = prepare::parts(&prepared.ocr_image, prepared.dpi.unwrap_or(300.0), opts);
    times.prepare += lap();
    let full = (prepared.ocr_image.width(), prepared.ocr_image.height());
    let readings = parts
        .into_iter()
        .map(|(rect, part)| {
            let ocr = if (rect.width(), rect.height()) == full {
                engine.recognize(&prepared.ocr_image, dpi)?
            } else {
                let cut = image::imageops::crop_imm(
                    &prepared.ocr_image,
                    rect.x0,
                    rect.y0,
                    rect.width(),
                    rect.height(),
                )
                .to_image();
                engine.recognize(&cut, dpi)?
            };
            Ok(Reading {
                rect,
                part,
                ocr,
                scan: None,
            })
        })
        .collect();
    times.ocr += lap();
    readings
}

struct Outcome {
    result: Result<DonePage, (PageError, Vec<String>)>,
    times: StageSeconds,
}

/// The engines one worker thread owns: OCR for the current book's models, and OSD when a
/// page needs it.
struct Engines {
    ocr: Option<OcrEngine>,
    osd: LazyOsd,
}

impl Engines {
    fn new(tessdata: &Path, with_osd: bool) -> Engines {
        Engines {
            ocr: None,
            osd: if with_osd {
                LazyOsd::new(tessdata)
            } else {
                LazyOsd::none()
            },
        }
    }

    /// The OCR engine for `models` (swapped only when a book needs other models), and OSD.
    fn get(
        &mut self,
        tessdata: &Path,
        models: &str,
    ) -> (Result<&mut OcrEngine, String>, &mut LazyOsd) {
        if self.ocr.as_ref().is_none_or(|e| e.models() != models) {
            self.ocr = None;
            match OcrEngine::new(tessdata, models) {
                Ok(e) => self.ocr = Some(e),
                Err(e) => return (Err(e), &mut self.osd),
            }
        }
        (
            Ok(self.ocr.as_mut().expect("engine just set")),
            &mut self.osd,
        )
    }
}

/// Orientation trials read a band of the page with the book's own engine.
impl prepare::ReadingTrial for OcrEngine {
    fn read(&mut self, image: &image::GrayImage, dpi: u32) -> Option<(f64, usize)> {
        let page = self.recognize(image, Some(dpi)).ok()?;
        Some((page.mean_confidence().unwrap_or(0.0), page.word_count()))
    }
}

fn round_dpi(d: f64) -> f64 {
    let r = d.round();
    if (d - r).abs() < 0.05 {
        r
    } else {
        (d * 10.0).round() / 10.0
    }
}

fn process_page(
    job: &Job,
    book: &PlannedBook,
    page: &PlannedPage,
    engines: &mut Engines,
) -> Outcome {
    let mut times = StageSeconds::default();
    let mut clock = Instant::now();
    let mut lap = || {
        let t = clock.elapsed().as_secs_f64();
        clock = Instant::now();
        t
    };
    let mut outcome = process_timed(job, book, page, engines, &mut lap, &mut times);
    outcome.times = times;
    outcome
}

fn process_timed(
    job: &Job,
    book: &PlannedBook,
    page: &PlannedPage,
    engines: &mut Engines,
    lap: &mut dyn FnMut() -> f64,
    times: &mut StageSeconds,
) -> Outcome {
    let mut warnings = Vec::new();
    let fail = |msg: String, warnings: Vec<String>| Outcome {
        result: Err((PageError::new(&page.file, page.index, msg), warnings)),
        times: StageSeconds::default(),
    };
    // A TIFF can hold a whole book: it is decoded through a reader that visits only this
    // frame's directory and strips. Other files are read whole (a JPEG may go into the PDF).
    let mut head = [0u8; 4];
    let is_tiff = File::open(&page.file)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && load::sniff(&head) == Ok(load::Format::Tiff);
    let bytes = if is_tiff {
        head.to_vec()
    } else {
        match std::fs::read(&page.file) {
            Ok(b) => b,
            Err(e) => return fail(format!("cannot read: {e}"), warnings),
        }
    };
    if let Ok(format) = load::sniff(&bytes) {
        let ext = page
            .file
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        warnings.extend(load::extension_warning(format, &ext));
    }
    let limits = LoadLimits {
        max_pixels: (job.pipeline.max_megapixels * 1e6) as u64,
    };
    let loaded = if is_tiff {
        File::open(&page.file)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|f| load::load_tiff(BufReader::new(f), page.frame as usize, limits))
    } else {
        load::load(&bytes, page.frame as usize, limits)
    };
    let mut loaded = match loaded {
        Ok(l) => l,
        Err(e) => return fail(e, warnings),
    };
    drop(bytes);
    warnings.append(&mut loaded.warnings);
    loaded.file_dpi = loaded.file_dpi.map(|(x, y)| (round_dpi(x), round_dpi(y)));
    if let Some((x, y)) = loaded.file_dpi
        && (x / y - 1.0).abs() > 0.01
    {
        warnings.push(format!(
            "pixels are not square ({x:.0}×{y:.0} dpi); the page is resampled to {y:.0} dpi both ways"
        ));
    }
    let file_dpi = loaded.file_dpi;
    let bitonal = loaded.bitonal;
    let lossy_source = loaded.lossy_source;

    let models = book.models.join("+");
    let p = &job.pipeline;
    let opts = PrepareOptions {
        orientation: p.orientation,
        deskew: p.deskew,
        max_skew_deg: p.max_skew_deg,
        min_skew_deg: p.min_skew_deg,
        keep_originals: p.keep_originals,
        want_upright: page.index == 1,
        crop_borders: p.crop_borders,
        split: p.split == crate::config::Split::Auto,
    };
    times.load = lap();
    let (ocr_engine, osd) = engines.get(&job.tessdata, &models);
    let engine = match ocr_engine {
        Ok(e) => e,
        Err(e) => return fail(e, warnings),
    };
    lap(); // engine start-up is neither stage
    let (analysis, mut prepared) = prepare::prepare(loaded, &opts, osd, engine);
    times.prepare = lap();
    let mut readings = match read_parts(&prepared, &opts, engine, lap, times) {
        Ok(r) => r,
        Err(e) => return fail(e, warnings),
    };
    // A page that reads badly may be upside down (or OSD knows better): try the alternative
    // and keep whichever reads better. The reading thrown away counts as preparation.
    let confidence = Reading::confidence(&readings);
    let doubtful = confidence.is_none_or(|c| c < prepare::DOUBTFUL_CONFIDENCE);
    if p.orientation
        && analysis.has_text
        && doubtful
        && let Some((rotation, source)) = analysis.alternative(osd, prepared.rotation_cw_deg)
    {
        let alt = analysis.orient(rotation, source, &opts);
        let first = *times;
        if let Ok(alt_readings) = read_parts(&alt, &opts, engine, lap, times)
            && Reading::confidence(&alt_readings).unwrap_or(-1.0) > confidence.unwrap_or(-1.0)
        {
            // The first reading was the trial.
            times.prepare += first.ocr;
            times.ocr -= first.ocr;
            prepared = alt;
            readings = alt_readings;
        } else {
            times.prepare += times.ocr - first.ocr;
            times.ocr = first.ocr;
        }
    }

    if p.epub_image_below_confidence > 0.0 {
        for r in &mut readings {
            if r.ocr
                .mean_confidence()
                .is_none_or(|c| c < p.epub_image_below_confidence)
            {
                r.scan = scan_jpeg(&prepared.ocr_image, r.rect);
            }
        }
        times.encode += lap();
    }

    let (dpi, dpi_source) = match file_dpi {
        Some(d) => (d, DpiSource::File),
        None => {
            let line = readings
                .iter()
                .max_by_key(|r| r.ocr.word_count())
                .and_then(|r| r.ocr.median_line_height());
            match line
                .map(|h| round_dpi((h * 72.0 / TYPICAL_LINE_PT / 10.0).round() * 10.0))
                .filter(|d| load::PLAUSIBLE_DPI.contains(d))
            {
                Some(d) => {
                    warnings.push(format!("no usable resolution in the file; estimated {d:.0} dpi from the text height"));
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
    };
    let image_opts = pdf::image::ImageOptions {
        compact: p.images == crate::config::ImageMode::Compact,
        jpeg_quality: p.jpeg_quality,
        max_dpi: (p.max_dpi > 0.0).then_some(p.max_dpi),
    };
    lap(); // the dpi estimate is no stage's
    let image = pdf::image::encode(
        &prepared.display,
        analysis.into_jpeg(),
        bitonal,
        lossy_source,
        &image_opts,
        dpi.1,
    );
    // += : the doubtful pages' EPUB images above are encoding too.
    times.encode += lap();
    let cover = prepared.upright.as_ref().and_then(cover_jpeg);
    Outcome {
        result: Ok(DonePage {
            image,
            frame_px: prepared.ocr_image.dimensions(),
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
        }),
        times: StageSeconds::default(),
    }
}

/// The first page, downscaled, as the EPUB cover.
fn cover_jpeg(img: &image::DynamicImage) -> Option<Vec<u8>> {
    preview_jpeg(img, 1200, 1600, 80)
}

/// A page part as the EPUB shows a doubtful page: grey JPEG, at most 1000 px on the long side.
/// `None` for a blank part (almost no ink): nothing to show.
fn scan_jpeg(img: &image::GrayImage, r: prepare::Rect) -> Option<Vec<u8>> {
    let part = image::imageops::crop_imm(img, r.x0, r.y0, r.width(), r.height()).to_image();
    let dark = part.pixels().filter(|p| p.0[0] < 128).count();
    if dark * 500 < part.len() {
        return None;
    }
    preview_jpeg(&image::DynamicImage::ImageLuma8(part), 1000, 1000, 70)
}

/// `img` fitted into `max_w`×`max_h` (never enlarged), grey or RGB as it looks, as JPEG.
fn preview_jpeg(img: &image::DynamicImage, max_w: u32, max_h: u32, quality: u8) -> Option<Vec<u8>> {
    let fitted;
    let img = if img.width() > max_w || img.height() > max_h {
        fitted = img.resize(max_w, max_h, image::imageops::FilterType::Triangle);
        &fitted
    } else {
        img
    };
    let (components, raw) = if img.color().has_color() {
        (3, img.to_rgb8().into_raw())
    } else {
        (1, img.to_luma8().into_raw())
    };
    pdf::image::encode_jpeg(&raw, img.width(), img.height(), components, quality)
}

/// Result of a whole run, for the exit code.
pub struct RunSummary {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
}

impl RunSummary {
    pub fn all_ok(&self) -> bool {
        self.manifest.summary.books_failed == 0 && self.manifest.summary.pages_failed == 0
    }
}

/// Prints messages without tearing the progress bar.
struct Reporter {
    bar: ProgressBar,
    quiet: bool,
}

impl Reporter {
    fn error(&self, msg: &str) {
        self.bar.suspend(|| eprintln!("{msg}"));
    }
    fn warn(&self, msg: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("warning: {msg}"));
        }
    }
}

/// Runs the batch. Never panics on bad input: every failure becomes a record in the manifest.
pub fn run(job: Job) -> std::io::Result<RunSummary> {
    let started = manifest::now_rfc3339();
    let clock = Instant::now();
    let total = job.page_total();
    let show_bar = !job.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = ProgressBar::with_draw_target(
        Some(total as u64),
        if show_bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} pages · {msg} · ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let reporter = Reporter {
        bar,
        quiet: job.quiet,
    };

    let items: Vec<(usize, usize)> = job
        .books
        .iter()
        .enumerate()
        .flat_map(|(b, book)| (0..book.pages.len()).map(move |p| (b, p)))
        .collect();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(job.jobs)
        .thread_name(|i| format!("kitap-ocr-{i}"))
        .build()
        .map_err(std::io::Error::other)?;

    // Workers take pages in order and may run at most WINDOW pages ahead of the writer, so the
    // pages waiting to be written stay few however long the book is.
    let window = 2 * job.jobs + 2;
    let next = AtomicUsize::new(0);
    let written = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();

    let mut records: Vec<Option<BookRecord>> = vec![None; job.books.len()];
    let stage_seconds = std::thread::scope(|s| {
        let job = &job;
        let items = &items;
        let next = &next;
        let written = &written;
        s.spawn(move || {
            pool.broadcast(|_| {
                let mut engines = Engines::new(&job.tessdata, job.pipeline.orientation);
                let tx = tx.clone();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= items.len() {
                        break;
                    }
                    {
                        let (lock, cv) = written;
                        let mut w = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *w + window {
                            w = cv.wait(w).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    let (b, p) = items[i];
                    let book = &job.books[b];
                    let page = &book.pages[p];
                    // A bug must cost one page, not the batch: the writer waits for every page
                    // in order, so a page that vanished in a panic would stall the run.
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        process_page(job, book, page, &mut engines)
                    }))
                    .unwrap_or_else(|_| {
                        // The engines may be mid-call: start this worker afresh.
                        engines = Engines::new(&job.tessdata, job.pipeline.orientation);
                        Outcome {
                            result: Err((
                                PageError::new(&page.file, page.index, "internal error while converting this page (a bug in kitap: please report it with the file)"),
                                Vec::new(),
                            )),
                            times: StageSeconds::default(),
                        }
                    });
                    if tx.send((i, outcome)).is_err() {
                        break;
                    }
                }
            });
            drop(tx);
        });

        // The writer: this thread, in page order.
        let mut pending: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut next_item = 0usize;
        let mut current: Option<(usize, Assembler)> = None;
        let mut next_book = 0usize;
        let mut stage_seconds = StageSeconds::default();
        let mut finish_books_before =
            |upto: usize,
             current: &mut Option<(usize, Assembler)>,
             records: &mut Vec<Option<BookRecord>>| {
                // Books with no planned pages (failed before OCR) are recorded in order.
                while next_book < upto {
                    if current.as_ref().is_some_and(|(b, _)| *b == next_book) {
                        let (b, asm) = current.take().expect("checked");
                        records[b] = Some(asm.finish(job, &job.books[b], &reporter));
                    } else if records[next_book].is_none() {
                        records[next_book] =
                            Some(book_without_pages(&job.books[next_book], &reporter));
                    }
                    next_book += 1;
                }
            };
        for (i, outcome) in rx.iter() {
            stage_seconds += outcome.times;
            pending.insert(i, outcome);
            while let Some(outcome) = pending.remove(&next_item) {
                let (b, p) = items[next_item];
                finish_books_before(b, &mut current, &mut records);
                if current.is_none() {
                    current = Some((b, Assembler::start(job, &job.books[b])));
                }
                let (_, asm) = current.as_mut().expect("just set");
                asm.add(&job.books[b].pages[p], outcome, &reporter);
                next_item += 1;
                {
                    let (lock, cv) = &written;
                    *lock.lock().unwrap_or_else(|e| e.into_inner()) = next_item;
                    cv.notify_all();
                }
                reporter.bar.inc(1);
                let mins = clock.elapsed().as_secs_f64() / 60.0;
                reporter.bar.set_message(format!(
                    "{:.1} pages/min",
                    next_item as f64 / mins.max(1e-9)
                ));
            }
        }
        finish_books_before(job.books.len(), &mut current, &mut records);
        stage_seconds
    });
    reporter.bar.finish_and_clear();

    let books: Vec<BookRecord> = records
        .into_iter()
        .map(|r| r.expect("every book recorded"))
        .collect();
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut summary = Summary {
        books: books.len(),
        stage_seconds: StageSeconds {
            load: round(stage_seconds.load),
            prepare: round(stage_seconds.prepare),
            encode: round(stage_seconds.encode),
            ocr: round(stage_seconds.ocr),
        },
        ..Default::default()
    };
    for b in &books {
        match b.status {
            Status::Ok => summary.books_ok += 1,
            Status::Partial => summary.books_partial += 1,
            Status::Failed => summary.books_failed += 1,
        }
        summary.pages += b.pages.len();
        summary.pages_failed += b
            .pages
            .iter()
            .filter(|p| p.status == PageStatus::Failed)
            .count();
    }
    let manifest = Manifest {
        schema_version: manifest::SCHEMA_VERSION.into(),
        kitap_version: env!("CARGO_PKG_VERSION").into(),
        pipeline: PipelineInfo {
            name: job.pipeline.name.clone(),
            description: job.pipeline.description.clone(),
        },
        started,
        finished: manifest::now_rfc3339(),
        summary,
        books,
    };
    let manifest_path = job.out.join("manifest.json");
    manifest.write(&manifest_path)?;
    if !job.quiet {
        let s = &manifest.summary;
        let secs = clock.elapsed().as_secs_f64();
        eprintln!(
            "kitap: {} book(s): {} ok, {} partial, {} failed; {} page(s), {} failed; {:.1} s ({:.1} pages/min); manifest: {}",
            s.books,
            s.books_ok,
            s.books_partial,
            s.books_failed,
            s.pages,
            s.pages_failed,
            secs,
            s.pages as f64 / (secs / 60.0).max(1e-9),
            manifest_path.display()
        );
    }
    Ok(RunSummary {
        manifest,
        manifest_path,
    })
}

fn language_records(langs: &[Language]) -> Vec<LanguageRecord> {
    langs
        .iter()
        .map(|l| LanguageRecord {
            code: l.iso639_3.into(),
            tag: l.bcp47.into(),
            name: l.name.into(),
        })
        .collect()
}

fn book_record(book: &PlannedBook, status: Status) -> BookRecord {
    BookRecord {
        id: book.dir.id.clone(),
        status,
        source: book.dir.source.clone(),
        metadata: book.meta.clone(),
        languages: language_records(&book.languages),
        ocr_models: book.models.clone(),
        page_count: book.pages.len(),
        confidence: None,
        error: book.error.clone(),
        warnings: book.warnings.clone(),
        pages: Vec::new(),
        files: Vec::new(),
    }
}

fn book_without_pages(book: &PlannedBook, reporter: &Reporter) -> BookRecord {
    let mut rec = book_record(book, Status::Failed);
    let msg = book.error.clone().unwrap_or_else(|| "no pages".into());
    reporter.error(&format!(
        "{}: book '{}' skipped: {msg}",
        book.dir.dir.display(),
        book.dir.id
    ));
    rec.error = Some(msg);
    rec
}
