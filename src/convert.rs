//! The `convert` driver: runs the planned pages through [`page::convert_page`] on the
//! scheduler's workers (one set of Tesseract engines each), feeds the results in page order to
//! each book's [`assemble::Assembler`], shows progress, and writes the manifest. Only this
//! module knows threads, progress and the output tree.

use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod assemble;
mod incremental;
mod outputs;
pub mod page;
pub mod plan;
pub mod schedule;

use assemble::Assembler;
use incremental::Stamp;
use page::{Clock, DonePage, Engines, PageFailure, PageInput, StageError};
pub use plan::{ConvertRequest, Job};
use plan::{PlannedBook, PlannedPage};
use schedule::Schedule;

use crate::error::BookError;
use crate::generation;
use crate::manifest::{self, BookRecord, Manifest, PipelineInfo, StageSeconds, Status, Summary};

/// Result of a whole run, for the exit code.
pub struct RunSummary {
    /// What OUT holds now: books of earlier runs and this one's.
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    /// The books this run converted or failed.
    pub this_run: Summary,
    /// Books left as they were: up to date.
    pub unchanged: usize,
    /// Books that failed because their files could not be written (a full disk, say).
    pub books_unwritten: usize,
}

impl RunSummary {
    /// Every book of this run converted (unchanged ones count as good).
    pub fn all_ok(&self) -> bool {
        self.this_run.books_failed == 0 && self.this_run.pages_failed == 0
    }

    /// 0 all converted, 1 a page or book failed, 4 a book's files could not be written.
    pub fn exit_code(&self) -> u8 {
        if self.books_unwritten > 0 {
            4
        } else if self.all_ok() {
            0
        } else {
            1
        }
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

    /// The pages the run will convert, once up-to-date books are left out.
    fn set_total(&self, pages: usize) {
        self.bar.set_length(pages as u64);
    }

    fn book_unchanged(&self, id: &str) {
        if !self.quiet && !self.bar.is_hidden() {
            self.bar.set_message(format!("{id} unchanged"));
        }
    }

    /// The closing line: what the run did and where the manifest is.
    fn summary(&self, s: &Summary, unchanged: usize, path: &std::path::Path) {
        if self.quiet {
            return;
        }
        let secs = self.started.elapsed().as_secs_f64();
        if s.books + unchanged == 0 {
            eprintln!("kitap: no books; manifest: {}", path.display());
            return;
        }
        eprintln!(
            "kitap: {} book(s): {} ok, {} partial, {} failed, {unchanged} unchanged; {} page(s), {} failed; {:.1} s ({:.1} pages/min); manifest: {}",
            s.books + unchanged,
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
fn work(job: &Job, engines: &mut Engines, book: &PlannedBook, page: &PlannedPage) -> Outcome {
    let models = book.models.join("+");
    let input = PageInput {
        index: page.index,
        file: &page.file,
        frame: page.frame,
        models: &models,
    };
    let mut clock = Clock::default();
    let result = page::convert_page(&input, &job.settings, engines, &mut clock);
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

/// What the run does with a book, decided before the first page.
enum Decision {
    /// Convert it; its inputs and fingerprint, when they could be read.
    Convert(Option<Stamp>),
    /// Its outputs are up to date (their record is in OUT's state already).
    Unchanged,
}

/// Which books are up to date: those whose fingerprint equals their folder record's.
fn decide(job: &Job) -> Vec<Decision> {
    use rayon::prelude::*;
    job.books
        .par_iter()
        .map(|book| {
            if book.error.is_some() || book.pages.is_empty() {
                return Decision::Convert(None);
            }
            let current = generation::read_record(&job.out.join(&book.dir.id));
            let stamp =
                incremental::fingerprint(book, &job.settings, current.as_ref(), job.verify_inputs)
                    .ok();
            match (current, &stamp) {
                (Some(r), Some(s))
                    if !job.force
                        && r.status != Status::Failed
                        && r.fingerprint.as_ref() == Some(&s.fingerprint) =>
                {
                    Decision::Unchanged
                }
                _ => Decision::Convert(stamp),
            }
        })
        .collect()
}

/// Books in order, each assembled as its pages arrive; books without pages recorded in turn,
/// and OUT's manifest rewritten after each.
struct Books<'a> {
    job: &'a Job,
    reporter: &'a Reporter,
    decisions: Vec<Decision>,
    /// Books handled so far, in the job's order.
    next: usize,
    /// Records of the books this run converted or failed.
    records: Vec<BookRecord>,
    unchanged: usize,
    unwritten: usize,
    current: Option<(usize, Assembler)>,
    /// Everything OUT holds, this run's books included.
    state: Manifest,
    seconds: StageSeconds,
    /// The first failure to rewrite the manifest.
    manifest_error: Option<std::io::Error>,
}

impl Books<'_> {
    /// Finishes every book before `upto` (the one being assembled, and those with no pages).
    fn finish_before(&mut self, upto: usize) {
        let job = self.job;
        while self.next < upto {
            let b = self.next;
            self.next += 1;
            let book = &job.books[b];
            let record = match &self.decisions[b] {
                Decision::Unchanged => {
                    self.unchanged += 1;
                    self.reporter.book_unchanged(&book.dir.id);
                    continue;
                }
                Decision::Convert(stamp) => {
                    if self.current.as_ref().is_some_and(|(cb, _)| *cb == b) {
                        let (_, asm) = self.current.take().expect("just checked");
                        let done = asm.finish(book, &job.settings, self.reporter, stamp.as_ref());
                        self.unwritten += usize::from(done.write_failed);
                        done.record
                    } else {
                        book_without_pages(book, self.reporter)
                    }
                }
            };
            self.state.upsert(record.clone());
            self.records.push(record);
            self.write_manifest();
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

    /// `OUT/manifest.json` rewritten (atomically) to say what OUT holds now.
    fn write_manifest(&mut self) {
        self.state.finished = manifest::now_rfc3339();
        self.state.summary = Summary::from_books(&self.state.books, self.seconds);
        if let Err(e) = self.state.write(&self.job.out.join("manifest.json")) {
            self.manifest_error.get_or_insert(e);
        }
    }
}

/// Runs the batch. Never panics on bad input: every failure becomes a record in the manifest.
pub fn run(mut job: Job) -> std::io::Result<RunSummary> {
    let reporter = Reporter::new(job.page_total(), job.quiet);
    if let Some(asked) = job.jobs_capped {
        reporter.warn(&format!(
            "--jobs {asked}: running {} worker(s) (at most twice the cores, and no more than the pages; each holds its own Tesseract engines)",
            job.jobs
        ));
    }
    for line in generation::recover(&job.out)? {
        reporter.warn(&line);
    }
    let pipeline = PipelineInfo {
        name: job.settings.pipeline.name.clone(),
        description: job.settings.pipeline.description.clone(),
    };
    let started = manifest::now_rfc3339();
    let earlier = std::mem::take(&mut job.previous.books);
    let state = Manifest::new(
        pipeline,
        started.clone(),
        started,
        earlier,
        StageSeconds::default(),
    );
    let decisions = decide(&job);
    let items: Vec<(usize, usize)> = job
        .books
        .iter()
        .enumerate()
        .filter(|(b, _)| matches!(decisions[*b], Decision::Convert(_)))
        .flat_map(|(b, book)| (0..book.pages.len()).map(move |p| (b, p)))
        .collect();
    reporter.set_total(items.len());
    let mut books = Books {
        job: &job,
        reporter: &reporter,
        decisions,
        next: 0,
        records: Vec::new(),
        unchanged: 0,
        unwritten: 0,
        current: None,
        state,
        seconds: StageSeconds::default(),
        manifest_error: None,
    };
    schedule::run_ordered(
        Schedule::for_threads(job.jobs),
        &items,
        || new_engines(&job),
        |engines, _, &(b, p)| work(&job, engines, &job.books[b], &job.books[b].pages[p]),
        |i, outcome| {
            let outcome = outcome.unwrap_or_else(|_| panicked());
            books.seconds += outcome.seconds;
            let (b, p) = items[i];
            books.add(b, p, outcome);
            reporter.page_done(i + 1);
        },
    )?;
    books.finish_before(job.books.len());
    books.write_manifest();
    reporter.bar.finish_and_clear();
    if let Some(e) = books.manifest_error {
        return Err(e);
    }
    let this_run = Summary::from_books(&books.records, books.seconds);
    let manifest_path = job.out.join("manifest.json");
    reporter.summary(&this_run, books.unchanged, &manifest_path);
    Ok(RunSummary {
        manifest: books.state,
        manifest_path,
        this_run,
        unchanged: books.unchanged,
        books_unwritten: books.unwritten,
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
