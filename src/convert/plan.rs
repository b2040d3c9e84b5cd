//! The checked batch: the command line and the pipeline turned once into settings every stage
//! takes as they are, and every book planned — metadata resolved, languages mapped to
//! installed models, pages listed — before the first pixel is decoded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::{BookMeta, OutputKind, Pipeline};
use crate::discover::{BookDir, find_books};
use crate::error::{BookError, ConfigError};
use crate::generation;
use crate::lang::{self, Language};
use crate::load::{self, LoadLimits};
use crate::lock::{LockError, OutLock};
use crate::manifest::{BookRecord, Manifest, ManifestError, PipelineInfo, StageSeconds};
use crate::ocr;
use crate::pdf::image::ImageOptions;
use crate::prepare::PrepareOptions;
use crate::shard::Shard;

/// What the user asked for on the command line, before checking.
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertRequest {
    /// Folder of book folders, or a single book folder.
    pub scans: PathBuf,
    /// Output folder (created if missing; books in it are rebuilt).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Pages OCR'd in parallel, one Tesseract engine each (at most twice the cores). Default: all cores.
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Languages for books whose book.toml names none, comma-separated: e.g. rus,eng; or auto
    /// (found from each book's pages).
    #[arg(short, long)]
    pub lang: Option<String>,
    /// A built-in pipeline name (see `kitap pipelines`) or a path to a pipeline .toml file.
    #[arg(short, long, default_value = "default")]
    pub pipeline: String,
    /// No progress bar, no warnings, no summary: errors only (for scheduled jobs).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr: -v a line per page (turn, skew, words, confidence, time), -vv
    /// also its size, resolution, image encoding and the time of each stage. With
    /// `--log-format json`, a `page_done` event per page.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The files to write per book, comma-separated, all from one OCR pass: pdf (archival
    /// PDF/A), epub, txt, hocr, alto (ALTO 4 XML per page), web-pdf (`<id>.web.pdf`, compact
    /// images, the same text layer). Default: the pipeline's (pdf,epub,txt).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub outputs: Vec<crate::config::OutputKind>,
    /// Rebuild every book, also those whose inputs and settings are unchanged since their
    /// outputs were made.
    #[arg(long)]
    pub force: bool,
    /// Read every input file to compare it with the SHA-256 recorded with its book's outputs,
    /// also when its size and modification time are unchanged (a file restored from a backup
    /// can change with its time kept).
    #[arg(long)]
    pub verify_inputs: bool,
    /// When another run holds OUT, wait up to this long for it (e.g. 30s, 10m, 2h) instead of
    /// exiting with code 3.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub wait_lock: Option<std::time::Duration>,
    /// Leave a book for a later run while any of its files (or its folder) changed more
    /// recently than this (e.g. 30m): it may still be being copied.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub min_age: Option<std::time::Duration>,
    /// `plain` (for people) or `json` (one JSON object per line on stderr, for log collectors).
    #[arg(long, value_enum, default_value = "plain")]
    pub log_format: super::LogFormat,
    /// Memory the run may use, e.g. 2G, 1500M (K, M, G, T: powers of 1024). Pages wait for
    /// room; a page needing more than all of it fails alone. Default: 3/4 of MemAvailable.
    #[arg(long, value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub max_memory: Option<u64>,
    /// Convert only the books of shard K (from 0) of N, e.g. 2/8: one task of a cluster job
    /// array, all writing into the same OUT; `kitap merge OUT` then joins their manifests. A
    /// book's shard is fixed by its id. `auto` takes K and N from a Slurm job array
    /// (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX, KITAP_SHARDS).
    #[arg(long, value_name = "K/N|auto", value_parser = crate::shard::parse_arg)]
    pub shard: Option<crate::shard::ShardArg>,
}

/// Memory for the OCR engines of each worker (a `rus+eng` engine with OSD is ~100 MB; a run of
/// one small `eng` page peaks at 84 MB in all) and for the process itself, kept out of the
/// pages' share of the budget.
const ENGINE_BYTES: u64 = 100 << 20;
const PROCESS_BYTES: u64 = 20 << 20;

/// The memory a run may use, and the pages' share of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// The whole budget: `--max-memory`, else 3/4 of the available memory.
    pub total: u64,
    /// What is left for pages once the process and each worker's engines are counted.
    pub pages: u64,
}

impl Memory {
    fn new(asked: Option<u64>, workers: usize) -> Memory {
        let total = match asked {
            Some(a) => a,
            None => available_memory().map_or(u64::MAX, |a| a / 4 * 3),
        };
        let reserved = PROCESS_BYTES + workers as u64 * ENGINE_BYTES;
        Memory {
            total,
            pages: total.saturating_sub(reserved),
        }
    }
}

/// `MemAvailable` of /proc/meminfo in bytes (None where there is none).
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// How the reading EPUB is built.
#[derive(Debug, Clone, Copy)]
pub struct EpubOptions {
    /// Pages per content document. Default: 10.
    pub pages_per_section: u32,
    pub headings: crate::config::EpubHeadings,
    /// Pages read below this mean confidence also show their image; None: never. Default: 50.
    pub image_below_confidence: Option<f64>,
}

/// Everything the stages need from the pipeline, derived once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The pipeline as written (name, description and the raw values, for the manifest).
    pub pipeline: Pipeline,
    pub load: LoadLimits,
    pub prepare: PrepareOptions,
    pub image: ImageOptions,
    pub epub: EpubOptions,
    /// The files each book gets.
    pub outputs: Vec<OutputKind>,
    /// How the `web-pdf` output stores page images; None: no web PDF.
    pub web_image: Option<ImageOptions>,
    /// Latin/Cyrillic look-alikes put back in their script (crate::reading::repair_lookalikes).
    pub repair_lookalikes: bool,
    /// Where the Tesseract models are.
    pub tessdata: PathBuf,
}

impl Settings {
    pub fn from_pipeline(pipeline: Pipeline, tessdata: PathBuf) -> Settings {
        let p = &pipeline;
        Settings {
            load: LoadLimits {
                max_pixels: (p.max_megapixels * 1e6) as u64,
            },
            prepare: PrepareOptions {
                orientation: p.orientation,
                deskew: p.deskew,
                max_skew_deg: p.max_skew_deg,
                min_skew_deg: p.min_skew_deg,
                keep_originals: p.keep_originals,
                crop_borders: p.crop_borders,
                split: p.split,
                ocr_resolution: p.ocr_resolution,
            },
            image: ImageOptions {
                mode: p.images,
                jpeg_quality: p.jpeg_quality,
                max_dpi: (p.max_dpi > 0.0).then_some(p.max_dpi),
            },
            epub: EpubOptions {
                pages_per_section: p.epub_pages_per_section,
                headings: p.epub_headings,
                image_below_confidence: (p.epub_image_below_confidence > 0.0)
                    .then_some(p.epub_image_below_confidence),
            },
            outputs: p.output_set(),
            web_image: p
                .output_set()
                .contains(&OutputKind::WebPdf)
                .then_some(ImageOptions {
                    mode: crate::config::ImageMode::Compact,
                    jpeg_quality: p.web_jpeg_quality,
                    max_dpi: Some(p.web_max_dpi),
                }),
            repair_lookalikes: p.repair_lookalikes,
            tessdata,
            pipeline,
        }
    }
}

/// A book's identity and bibliographic facts, resolved once: what the PDF's Info and XMP, the
/// EPUB's package document, the hOCR title and the manifest record all say about it.
#[derive(Debug, Clone)]
pub struct BookInfo {
    /// The folder name; names the output files.
    pub id: String,
    /// `book.toml` normalised (NFC, no control characters or non-characters, whitespace
    /// collapsed), whole: the manifest records it; each writer cuts a string to what its
    /// format may hold (32,767 bytes as that format stores it).
    pub meta: BookMeta,
    /// The title as printed, else the book id.
    pub title: String,
    /// The extra identifier, else a stable `urn:uuid:` from the id.
    pub identifier: String,
    /// Main language first.
    pub languages: Vec<Language>,
    /// The date written into the files (UTC).
    pub date: time::OffsetDateTime,
}

impl BookInfo {
    fn resolve(dir: &BookDir, meta: BookMeta, languages: Vec<Language>) -> BookInfo {
        BookInfo {
            title: meta.title.clone().unwrap_or_else(|| dir.id.clone()),
            identifier: meta
                .identifier
                .clone()
                .unwrap_or_else(|| format!("urn:uuid:{}", crate::epub::book_uuid(&dir.id))),
            id: dir.id.clone(),
            date: creation_date(dir),
            meta,
            languages,
        }
    }

    /// BCP 47 tags, main language first.
    pub fn language_tags(&self) -> Vec<String> {
        self.languages.iter().map(|l| l.bcp47.to_string()).collect()
    }

    /// The main language's BCP 47 tag, `und` when there is none.
    pub fn main_tag(&self) -> &str {
        self.languages.first().map_or("und", |l| l.bcp47)
    }

    /// The date as (year, month, day, hour, minute, second).
    pub fn date_parts(&self) -> (i32, u8, u8, u8, u8, u8) {
        let t = self.date;
        (
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        )
    }
}

/// The date written into a book's files. `SOURCE_DATE_EPOCH` when set (reproducible builds),
/// else the newest modification time of the book's inputs: the same scans give the same bytes,
/// whenever they are converted.
fn creation_date(dir: &BookDir) -> time::OffsetDateTime {
    let from_env = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let from_inputs = || {
        dir.files
            .iter()
            .chain(dir.meta_path.iter())
            .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
            .max()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    };
    from_env
        .or_else(from_inputs)
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// A checked batch: every path resolved, every model verified, before any page is touched.
pub struct Job {
    pub out: PathBuf,
    /// Worker threads, each with its own Tesseract engines.
    pub jobs: usize,
    /// `--jobs` as asked, when more than could be used (the driver says so).
    pub jobs_capped: Option<usize>,
    /// What the pages may hold at once (see [`Memory`]).
    pub memory: Memory,
    pub settings: Settings,
    pub books: Vec<PlannedBook>,
    pub quiet: bool,
    /// `-v` count: 1 a line per page, 2 with its stages.
    pub verbose: u8,
    /// The scan folder, as given.
    pub scans: PathBuf,
    /// Rebuild books that are up to date.
    pub force: bool,
    pub min_age: Option<std::time::Duration>,
    pub log_format: super::LogFormat,
    /// Hash every input, trusting no size and time.
    pub verify_inputs: bool,
    /// What OUT held when the run started: the previous manifest's books, each replaced by the
    /// record in its folder when there is one.
    pub previous: Manifest,
    /// Held until the run ends: no other run writes into OUT meanwhile (into this shard's
    /// books, for a shard).
    pub lock: OutLock,
    /// The shard this run converts; None: every book.
    pub shard: Option<Shard>,
    /// The scheduler's run a shard belongs to (see [`crate::shard::run_id`]).
    pub run: Option<String>,
}

/// One book as planned: its facts, the models to read it with, its pages — or why it cannot
/// be converted.
pub struct PlannedBook {
    pub dir: BookDir,
    pub info: BookInfo,
    /// Tesseract models, e.g. `["rus", "eng"]`. Empty until found for a book whose languages
    /// are found from its pages.
    pub models: Vec<String>,
    /// Nobody said which languages: they are found from the pages before the book is read.
    pub auto_languages: bool,
    /// What finding them concluded (see `convert::languages`).
    pub detected: Option<crate::manifest::LanguageDetection>,
    /// Why the book cannot be converted at all (its book.toml, its languages, its folder).
    pub error: Option<BookError>,
    pub warnings: Vec<String>,
    pub pages: Vec<PlannedPage>,
}

/// One page of a book: a file, or one frame of a multi-page TIFF.
pub struct PlannedPage {
    /// 1-based position in the book as planned.
    pub index: u32,
    pub file: PathBuf,
    /// The file relative to the scan root, as the manifest names it.
    pub source: String,
    /// 0-based frame within the file.
    pub frame: u32,
    /// Where that frame is in the file (a TIFF directory's offset), found once when planning.
    pub at: load::Frame,
    /// Something to say about the file along with this page (a TIFF whose chain of frames is
    /// broken after this one).
    pub note: Option<String>,
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

/// The models of the installation, to check a book's against.
struct Models {
    tessdata: PathBuf,
    installed: Vec<String>,
}

impl Models {
    /// Finding languages reads sample pages with the script models: at least one must be here.
    fn check_auto(&self, origin: &str) -> Result<(), ConfigError> {
        if crate::detect::SCRIPTS
            .iter()
            .any(|s| self.installed.iter().any(|m| m == s.model()))
        {
            return Ok(());
        }
        Err(ConfigError::MissingModels {
            origin: format!("{origin} (languages = auto reads sample pages with a script model)"),
            missing: crate::detect::SCRIPTS
                .iter()
                .map(|s| s.model().to_string())
                .collect(),
            installed: self.installed.clone(),
            tessdata: self.tessdata.clone(),
        })
    }

    fn check(&self, models: &[String], origin: &str) -> Result<(), ConfigError> {
        let missing: Vec<String> = models
            .iter()
            .filter(|m| !self.installed.contains(m))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ConfigError::MissingModels {
            origin: origin.to_string(),
            missing,
            installed: self.installed.clone(),
            tessdata: self.tessdata.clone(),
        })
    }
}

impl Job {
    /// Checks the request: pipeline, languages and models, scan tree, output folder, book ids.
    pub fn build(req: &ConvertRequest) -> Result<Job, ConfigError> {
        let mut pipeline = Pipeline::resolve(&req.pipeline)?;
        if !req.outputs.is_empty() {
            pipeline.choose_outputs(&req.outputs);
        }
        let tessdata = ocr::find_tessdata().ok_or(ConfigError::NoTessdata)?;
        let models = Models {
            installed: ocr::installed_models(&tessdata),
            tessdata,
        };
        let default_languages = default_languages(req.lang.as_ref(), &pipeline, &models)?;
        let shard = match req.shard {
            Some(arg) => Some(arg.resolve().map_err(ConfigError::Shard)?),
            None => None,
        };
        let out = resolved(&req.out);
        let scans = req
            .scans
            .canonicalize()
            .unwrap_or_else(|_| req.scans.clone());
        if out == scans {
            return Err(ConfigError::OutIsScans {
                path: req.out.clone(),
            });
        }
        let dirs = find_books(&req.scans, std::slice::from_ref(&out)).map_err(|source| {
            ConfigError::ScanFolder {
                path: req.scans.clone(),
                source,
            }
        })?;
        let mut dirs = one_book_per_id(dirs);
        check_out_apart(&out, &dirs)?;
        // Discovery does not walk OUT: an OUT that is itself a book folder would be skipped as
        // a book and written into. Refuse it.
        if out.starts_with(&scans) && holds_pages(&out) {
            return Err(ConfigError::OutOverInput {
                out: req.out.clone(),
                input: req.out.clone(),
            });
        }
        std::fs::create_dir_all(&req.out).map_err(|source| ConfigError::OutFolder {
            path: req.out.clone(),
            source,
        })?;
        // Every book is checked above; a shard converts its own.
        if let Some(s) = shard {
            dirs.retain(|d| s.holds(&d.id));
        }
        // The lock first: a second run must not touch OUT, not even with a probe file.
        let lock = match shard {
            Some(s) => OutLock::acquire_shard(&req.out, s, req.wait_lock),
            None => OutLock::acquire(&req.out, req.wait_lock),
        };
        let lock = lock.map_err(|e| match e {
            LockError::Create { source, .. } => ConfigError::OutNotWritable {
                path: req.out.clone(),
                source,
            },
            e => ConfigError::Lock(e),
        })?;
        probe_writable(&req.out, shard)?;
        let mut previous = out_state(&req.out)?;
        if let Some(s) = shard {
            previous.books.retain(|b| s.holds(&b.id));
        }
        let books = plan_books(dirs, &req.scans, default_languages.as_deref(), &models);
        let pages = books.iter().map(|b| b.pages.len()).sum();
        let (jobs, jobs_capped) = workers(req.jobs, pages);
        Ok(Job {
            out: req.out.clone(),
            jobs,
            jobs_capped,
            memory: Memory::new(req.max_memory, jobs),
            settings: Settings::from_pipeline(pipeline, models.tessdata),
            books,
            quiet: req.quiet,
            verbose: req.verbose,
            scans: req.scans.clone(),
            force: req.force,
            min_age: req.min_age,
            log_format: req.log_format,
            verify_inputs: req.verify_inputs,
            previous,
            lock,
            shard,
            run: shard.and_then(|_| crate::shard::run_id(|name| std::env::var(name).ok())),
        })
    }

    /// Where the run writes its manifest: `OUT/manifest.json`, or a shard's part.
    pub fn manifest_path(&self) -> PathBuf {
        match self.shard {
            Some(s) => crate::shard::part_path(&self.out, s),
            None => self.out.join("manifest.json"),
        }
    }

    /// Whether book `id` is this run's: every book, or its shard's.
    pub fn owns(&self, id: &str) -> bool {
        self.shard.is_none_or(|s| s.holds(id))
    }

    /// Number of pages planned in the batch.
    pub fn page_total(&self) -> usize {
        self.books.iter().map(|b| b.pages.len()).sum()
    }
}

/// The books a convert of `scans` would plan, without an OUT: what `kitap check` reports on.
pub struct Survey {
    pub settings: Settings,
    pub books: Vec<PlannedBook>,
    /// The models installed in the tessdata folder found.
    pub installed: Vec<String>,
}

/// Plans every book of `scans` as `kitap convert` would — pipeline, languages and models,
/// discovery, one book per id, each book.toml, the pages and TIFF frames — touching nothing.
pub fn survey(scans: &Path, lang: Option<&String>, pipeline: &str) -> Result<Survey, ConfigError> {
    let pipeline = Pipeline::resolve(pipeline)?;
    let tessdata = ocr::find_tessdata().ok_or(ConfigError::NoTessdata)?;
    let models = Models {
        installed: ocr::installed_models(&tessdata),
        tessdata,
    };
    let default_languages = default_languages(lang, &pipeline, &models)?;
    let dirs = find_books(scans, &[]).map_err(|source| ConfigError::ScanFolder {
        path: scans.to_path_buf(),
        source,
    })?;
    let books = plan_books(
        one_book_per_id(dirs),
        scans,
        default_languages.as_deref(),
        &models,
    );
    Ok(Survey {
        settings: Settings::from_pipeline(pipeline, models.tessdata),
        books,
        installed: models.installed,
    })
}

/// What OUT holds: the books of `OUT/manifest.json`, each replaced by the record in its
/// folder (what is really there, also after a run that was killed before it rewrote the
/// manifest), and books with a record that the manifest lost. A manifest of a newer kitap is
/// refused; one that cannot be read is rebuilt from the records.
fn out_state(out: &Path) -> Result<Manifest, ConfigError> {
    let path = out.join("manifest.json");
    let mut books: BTreeMap<String, BookRecord> = match Manifest::read(&path) {
        // Only books with a folder in OUT: one deleted from OUT is gone, and a failed book
        // with nothing in OUT is described again by the run that tries it next.
        Ok(m) => m
            .books
            .into_iter()
            .filter(|b| out.join(&b.id).is_dir())
            .map(|b| (b.id.clone(), b))
            .collect(),
        Err(e @ ManifestError::NewerSchema { .. }) => {
            return Err(ConfigError::Invalid {
                path,
                message: e.to_string(),
            });
        }
        Err(_) => Default::default(),
    };
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if let Some(r) = generation::read_record(&e.path())
                && r.id == name
            {
                books.insert(name, r);
            }
        }
    }
    Ok(Manifest::new(
        PipelineInfo::default(),
        String::new(),
        String::new(),
        books.into_values().collect(),
        StageSeconds::default(),
    ))
}

/// Worker threads: `--jobs`, else the cores; never more than twice the cores (each worker holds
/// engines of ~100 MB and the cores are shared) nor more than the pages. Also the number asked
/// for when it was cut down.
fn workers(asked: Option<usize>, pages: usize) -> (usize, Option<usize>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = asked.unwrap_or(cores).max(1);
    let used = want.min(2 * cores).min(pages.max(1));
    // Fewer workers than pages need no word; more than the machine can run do.
    (used, asked.filter(|&a| a > 2 * cores))
}

/// `--lang`, else the pipeline's languages; their models must be installed. `None`: `auto`,
/// found per book from its pages (the script models must be installed).
fn default_languages(
    lang: Option<&String>,
    pipeline: &Pipeline,
    models: &Models,
) -> Result<Option<Vec<Language>>, ConfigError> {
    let origin = if lang.is_some() {
        "--lang".to_string()
    } else {
        format!("pipeline '{}'", pipeline.name)
    };
    let codes = match lang {
        Some(l) => std::slice::from_ref(l),
        None => &pipeline.languages[..],
    };
    if is_auto(codes) {
        models.check_auto(&origin)?;
        return Ok(None);
    }
    let languages = parse_languages(codes, &origin)?;
    if languages.is_empty() {
        return Err(ConfigError::NoLanguage);
    }
    models.check(&lang::models_for(&languages), &origin)?;
    Ok(Some(languages))
}

/// The languages are to be found from the pages: `auto`, alone.
fn is_auto(codes: &[String]) -> bool {
    let mut listed = codes
        .iter()
        .flat_map(|c| c.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty());
    listed
        .next()
        .is_some_and(|c| c.eq_ignore_ascii_case("auto"))
        && listed.next().is_none()
}

/// `path` made absolute and free of links and `..` through its nearest existing ancestor: the
/// output folder may not exist yet.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut lexical = PathBuf::new();
    for c in absolute.components() {
        match c {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            c => lexical.push(c),
        }
    }
    let mut existing = lexical.as_path();
    let mut missing = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    out.extend(missing.iter().rev());
    out
}

/// Outputs never land where discovery found input: OUT is not inside a book folder, and no
/// book's output folder OUT/<id> is a book folder or holds one (`kitap convert scans/b -o
/// scans` would write b's files into b). OUT inside SCANS beside the books is fine: discovery
/// does not walk it.
fn check_out_apart(out: &Path, dirs: &[BookDir]) -> Result<(), ConfigError> {
    let inputs: Vec<(PathBuf, &BookDir)> = dirs
        .iter()
        .map(|d| (d.dir.canonicalize().unwrap_or_else(|_| d.dir.clone()), d))
        .collect();
    let overlap = |target: &Path| {
        inputs
            .iter()
            .find(|(input, _)| target.starts_with(input) || input.starts_with(target))
            .map(|(_, d)| ConfigError::OutOverInput {
                out: target.to_path_buf(),
                input: d.dir.clone(),
            })
    };
    if let Some((_, d)) = inputs.iter().find(|(input, _)| out.starts_with(input)) {
        return Err(ConfigError::OutOverInput {
            out: out.to_path_buf(),
            input: d.dir.clone(),
        });
    }
    match dirs.iter().find_map(|d| overlap(&out.join(&d.id))) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether a folder holds page images itself (it is a book folder).
fn holds_pages(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_type().is_ok_and(|t| !t.is_dir())
                && crate::discover::has_page_extension(Path::new(&e.file_name()))
        })
    })
}

/// Finds an output folder that cannot be written before the first page is read, not after
/// every page has been OCR'd.
fn probe_writable(out: &Path, shard: Option<Shard>) -> Result<(), ConfigError> {
    // Shards on other machines may have this pid too; no two run the same shard.
    let probe = match shard {
        Some(s) => out.join(format!(".kitap-probe-{s}-{}", std::process::id())),
        None => out.join(format!(".kitap-probe-{}", std::process::id())),
    };
    let written = std::fs::write(&probe, b"kitap").and_then(|()| std::fs::remove_file(&probe));
    written.map_err(|source| {
        let _ = std::fs::remove_file(&probe);
        ConfigError::OutNotWritable {
            path: out.to_path_buf(),
            source,
        }
    })
}

/// Two book folders with one id (`a/b` and `c/b`) would write the same output files: that id
/// becomes one failed book naming every folder that has it, and the rest of the batch goes on.
pub(crate) fn one_book_per_id(dirs: Vec<BookDir>) -> Vec<BookDir> {
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in &dirs {
        sources
            .entry(d.id.clone())
            .or_default()
            .push(d.source.clone());
    }
    let mut seen = std::collections::BTreeSet::new();
    dirs.into_iter()
        .filter(|d| seen.insert(d.id.clone()))
        .map(|mut d| {
            let all = &sources[&d.id];
            if all.len() > 1 {
                d.error = Some(format!(
                    "{} book folders have the id '{}': {} (the folder name names the output files; rename all but one)",
                    all.len(),
                    d.id,
                    all.join(", ")
                ));
                d.files.clear();
            }
            d
        })
        .collect()
}

/// Plans the books, several at once: planning opens every page file (a TIFF's frames are
/// counted), and on a cold cache or a network share that waits on the disk, not the CPU
/// (150,000 pages: 12 s one after the other, 2.3 s sixteen at a time). Order is kept.
fn plan_books(
    dirs: Vec<BookDir>,
    scans: &Path,
    default_languages: Option<&[Language]>,
    models: &Models,
) -> Vec<PlannedBook> {
    use rayon::prelude::*;
    on_io_threads(|| {
        dirs.into_par_iter()
            .map(|d| plan_book(d, scans, default_languages, models))
            .collect()
    })
}

/// Runs `work` (rayon's parallel iterators) on 8 threads a core: for work that waits on the
/// disk or a network share far more than it computes, more reads in flight.
pub(crate) fn on_io_threads<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) * 8;
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Plans one book. A problem with its folder, book.toml or languages fails this book alone.
fn plan_book(
    dir: BookDir,
    scans: &Path,
    default_languages: Option<&[Language]>,
    models: &Models,
) -> PlannedBook {
    let setup = book_setup(&dir, default_languages, models);
    let pages = if setup.error.is_none() {
        plan_pages(&dir.files, scans)
    } else {
        Vec::new()
    };
    let mut warnings = dir.skipped.clone();
    warnings.extend(dir.warnings.iter().cloned());
    warnings.extend(setup.warnings);
    PlannedBook {
        info: BookInfo::resolve(&dir, setup.meta, setup.languages),
        models: setup.models,
        auto_languages: setup.auto,
        detected: None,
        error: setup.error,
        warnings,
        pages,
        dir,
    }
}

/// A book's metadata, languages and models, as far as they could be worked out, and why the
/// book cannot be converted when it cannot.
struct BookSetup {
    meta: BookMeta,
    languages: Vec<Language>,
    models: Vec<String>,
    /// The languages are to be found from the pages.
    auto: bool,
    error: Option<BookError>,
    /// What normalising book.toml dropped, and the values the outputs must cut.
    warnings: Vec<String>,
}

fn book_setup(dir: &BookDir, default_languages: Option<&[Language]>, models: &Models) -> BookSetup {
    let mut setup = BookSetup {
        meta: BookMeta::default(),
        languages: default_languages.unwrap_or_default().to_vec(),
        models: Vec::new(),
        auto: default_languages.is_none(),
        error: dir.error.clone().map(BookError::Folder),
        warnings: Vec::new(),
    };
    if setup.error.is_some() {
        return setup;
    }
    if let Some(path) = &dir.meta_path {
        match BookMeta::load(path) {
            Ok((m, warnings)) => (setup.meta, setup.warnings) = (m, warnings),
            Err(e) => {
                setup.error = Some(BookError::Config(e));
                return setup;
            }
        }
    }
    let origin = dir.meta_path.as_ref().map_or_else(
        || dir.dir.display().to_string(),
        |p| p.display().to_string(),
    );
    if is_auto(&setup.meta.languages) {
        setup.languages.clear();
        setup.auto = true;
    } else if !setup.meta.languages.is_empty() {
        match parse_languages(&setup.meta.languages, &origin) {
            Ok(l) => (setup.languages, setup.auto) = (l, false),
            Err(e) => {
                setup.error = Some(BookError::Config(e));
                return setup;
            }
        }
    }
    let checked = if !setup.meta.ocr_models.is_empty() {
        setup.models = setup.meta.ocr_models.clone();
        models.check(&setup.models, &origin)
    } else if setup.auto {
        // The models come with the languages found (see `convert::languages`).
        models.check_auto(&origin)
    } else {
        setup.models = lang::models_for(&setup.languages);
        models.check(&setup.models, &origin)
    };
    if let Err(e) = checked {
        setup.error = Some(BookError::Config(e));
    }
    setup
}

/// Every page of the files: one per file, one per frame of a multi-page TIFF (however many).
fn plan_pages(files: &[PathBuf], scans: &Path) -> Vec<PlannedPage> {
    let mut pages = Vec::new();
    for file in files {
        let source = crate::discover::escape_path(file.strip_prefix(scans).unwrap_or(file));
        let load::Frames {
            frames,
            broken_chain,
        } = load::frames(file);
        let last = frames.len() - 1;
        for at in frames {
            pages.push(PlannedPage {
                index: pages.len() as u32 + 1,
                file: file.clone(),
                source: source.clone(),
                frame: at.index as u32,
                at,
                note: broken_chain.clone().filter(|_| at.index == last),
            });
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_capped_at_twice_the_cores_and_the_pages() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(workers(Some(2000), 10_000), (2 * cores, Some(2000)));
        assert_eq!(workers(Some(2000), 1), (1, Some(2000)));
        assert_eq!(workers(Some(1), 100), (1, None));
        assert_eq!(workers(None, 100), (cores, None));
        // More workers than pages is no mistake worth a word.
        assert_eq!(workers(Some(2 * cores), 1), (1, None));
        assert_eq!(workers(Some(0), 5), (1, None));
    }

    #[test]
    fn the_pages_share_is_the_budget_less_the_process_and_engines() {
        let m = Memory::new(Some(2 << 30), 2);
        assert_eq!(m.total, 2 << 30);
        assert_eq!(m.pages, (2 << 30) - PROCESS_BYTES - 2 * ENGINE_BYTES);
        assert_eq!(Memory::new(Some(100 << 20), 4).pages, 0);
        // The default is a share of what the machine has free right now.
        let available = available_memory().expect("Linux has MemAvailable");
        let default = Memory::new(None, 1).total;
        assert!(
            default <= available && default >= available / 2,
            "{default}"
        );
    }

    #[test]
    fn an_output_path_is_resolved_through_its_existing_part() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("a")).unwrap();
        assert_eq!(resolved(&base.join("a/./b/../c")), base.join("a/c"));
        assert_eq!(resolved(&base.join("a")), base.join("a"));
        std::os::unix::fs::symlink(base.join("a"), base.join("l")).unwrap();
        assert_eq!(resolved(&base.join("l/new")), base.join("a/new"));
    }
}
