//! The `convert` driver: runs the planned pages through [`page::convert_page`] on the
//! scheduler's workers (one set of Tesseract engines each), feeds the results in page order to
//! each book's [`assemble::Assembler`], shows progress, and writes the manifest. Only this
//! module knows threads, progress and the output tree.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod assemble;
mod outputs;
pub mod page;
pub mod plan;
pub mod schedule;

use assemble::Assembler;
use page::{Clock, DonePage, Engines, PageFailure, PageInput, StageError};
pub use plan::{ConvertRequest, Job};
use plan::{PlannedBook, PlannedPage};
use schedule::{Budget, Schedule};

use crate::error::BookError;
use crate::manifest::{self, BookRecord, Manifest, PipelineInfo, StageSeconds, Status};

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
    started: Instant,
}

impl Reporter {
    fn new(total: usize, quiet: bool) -> Reporter {
        let show_bar = !quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let target = if show_bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} pages · {msg} · ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Reporter {
            bar,
            quiet,
            started: Instant::now(),
        }
    }

    fn error(&self, msg: &str) {
        self.bar.suspend(|| eprintln!("{msg}"));
    }

    fn warn(&self, msg: &str) {
        if !self.quiet {
            self.bar.suspend(|| eprintln!("warning: {msg}"));
        }
    }

    fn page_done(&self, pages: usize) {
        self.bar.inc(1);
        let mins = self.started.elapsed().as_secs_f64() / 60.0;
        self.bar
            .set_message(format!("{:.1} pages/min", pages as f64 / mins.max(1e-9)));
    }

    /// The closing line: what the run did and where the manifest is.
    fn summary(&self, m: &Manifest, path: &std::path::Path) {
        if self.quiet {
            return;
        }
        let s = &m.summary;
        let secs = self.started.elapsed().as_secs_f64();
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
            path.display()
        );
    }
}

/// A page's outcome and the time its stages took.
struct Outcome {
    result: Result<DonePage, PageFailure>,
    seconds: StageSeconds,
}

/// Converts one planned page on a worker.
fn work(
    job: &Job,
    budget: &Budget,
    engines: &mut Engines,
    book: &PlannedBook,
    page: &PlannedPage,
) -> Outcome {
    let models = book.models.join("+");
    let input = PageInput {
        index: page.index,
        file: &page.file,
        frame: page.at,
        models: &models,
        note: page.note.as_deref(),
    };
    let mut clock = Clock::default();
    let result = page::convert_page(&input, &job.settings, budget, engines, &mut clock);
    Outcome {
        result,
        seconds: clock.seconds(),
    }
}

/// A bug must cost one page, not the batch: a page whose conversion panicked is a failed page
/// (the scheduler has started that worker's engines afresh).
fn panicked() -> Outcome {
    Outcome {
        result: Err(PageFailure {
            cause: StageError::Internal,
            warnings: Vec::new(),
        }),
        seconds: StageSeconds::default(),
    }
}

fn new_engines(job: &Job) -> Engines {
    Engines::new(&job.settings.tessdata, job.settings.prepare.orientation)
}

/// Books in order, each assembled as its pages arrive; books without pages recorded in turn.
struct Books<'a> {
    job: &'a Job,
    reporter: &'a Reporter,
    records: Vec<BookRecord>,
    current: Option<(usize, Assembler)>,
}

impl Books<'_> {
    /// Finishes every book before `upto` (the one being assembled, and those with no pages).
    fn finish_before(&mut self, upto: usize) {
        let job = self.job;
        while self.records.len() < upto {
            let b = self.records.len();
            let book = &job.books[b];
            let record = if self.current.as_ref().is_some_and(|(cb, _)| *cb == b) {
                let (_, asm) = self.current.take().expect("just checked");
                asm.finish(&job.out, book, &job.settings, self.reporter)
            } else {
                book_without_pages(book, self.reporter)
            };
            self.records.push(record);
        }
    }

    fn add(&mut self, b: usize, p: usize, outcome: Outcome) {
        self.finish_before(b);
        let job = self.job;
        let book = &job.books[b];
        let (_, asm) = self
            .current
            .get_or_insert_with(|| (b, Assembler::start(&job.out, book, &job.settings)));
        asm.add(&book.pages[p], outcome.result, self.reporter);
    }
}

/// Runs the batch. Never panics on bad input: every failure becomes a record in the manifest.
pub fn run(job: Job) -> std::io::Result<RunSummary> {
    let started = manifest::now_rfc3339();
    let reporter = Reporter::new(job.page_total(), job.quiet);
    if let Some(asked) = job.jobs_capped {
        reporter.warn(&format!(
            "--jobs {asked}: running {} worker(s) (at most twice the cores, and no more than the pages; each holds its own Tesseract engines)",
            job.jobs
        ));
    }
    let items: Vec<(usize, usize)> = job
        .books
        .iter()
        .enumerate()
        .flat_map(|(b, book)| (0..book.pages.len()).map(move |p| (b, p)))
        .collect();
    let mut books = Books {
        job: &job,
        reporter: &reporter,
        records: Vec::new(),
        current: None,
    };
    let mut seconds = StageSeconds::default();
    let budget = Budget::new(job.memory.pages);
    schedule::run_ordered(
        Schedule::for_threads(job.jobs),
        &items,
        || new_engines(&job),
        |engines, _, &(b, p)| {
            let (book, page) = (&job.books[b], &job.books[b].pages[p]);
            work(&job, &budget, engines, book, page)
        },
        |i, outcome| {
            let outcome = outcome.unwrap_or_else(|_| panicked());
            seconds += outcome.seconds;
            let (b, p) = items[i];
            books.add(b, p, outcome);
            reporter.page_done(i + 1);
        },
    )?;
    books.finish_before(job.books.len());
    let records = books.records;
    reporter.bar.finish_and_clear();

    let pipeline = PipelineInfo {
        name: job.settings.pipeline.name.clone(),
        description: job.settings.pipeline.description.clone(),
    };
    let finished = manifest::now_rfc3339();
    let manifest = Manifest::new(pipeline, started, finished, records, seconds);
    let manifest_path = job.out.join("manifest.json");
    manifest.write(&manifest_path)?;
    reporter.summary(&manifest, &manifest_path);
    Ok(RunSummary {
        manifest,
        manifest_path,
    })
}

/// The record of a book that had no page to convert, with its reason on stderr.
fn book_without_pages(book: &PlannedBook, reporter: &Reporter) -> BookRecord {
    let mut rec = assemble::book_record(book, Status::Failed);
    let msg = book
        .error
        .as_ref()
        .unwrap_or(&BookError::NoPages)
        .to_string();
    reporter.error(&format!(
        "{}: book '{}' skipped: {msg}",
        book.dir.dir.display(),
        book.dir.id
    ));
    rec.error = Some(msg);
    rec
}
