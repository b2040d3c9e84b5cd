//! The `convert` driver: runs the planned pages through [`page::convert_page`] on the
//! scheduler's workers (one set of Tesseract engines each), feeds the results in page order to
//! each book's [`assemble::Assembler`], shows progress, and writes the manifest. Only this
//! module knows threads, progress and the output tree.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

mod assemble;
mod incremental;
mod languages;
mod outputs;
pub mod page;
pub mod plan;
pub mod report;
mod resume;
pub mod schedule;
mod stop;

use assemble::Assembler;
use incremental::Stamp;
pub use outputs::{ALTO_EXT, WEB_PDF_EXT, thumbnail_path};
use page::{Clock, DonePage, Engines, PageFailure, PageInput, StageError};
pub use plan::{ConvertRequest, Job};
use plan::{PlannedBook, PlannedPage};
pub use report::LogFormat;
use report::Reporter;
use resume::BookCache;
use schedule::{Budget, Schedule};

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
    /// Books left for a later run: changed more recently than `--min-age`.
    pub pending: usize,
    /// Books that failed because their files could not be written (a full disk, say).
    pub books_unwritten: usize,
    /// Inputs whose bytes changed behind an unchanged size and time (`--verify-inputs`).
    pub input_alarms: usize,
    /// The signal that stopped the run early.
    pub interrupted: Option<i32>,
}

impl RunSummary {
    /// Every book of this run converted (unchanged ones count as good), and no master changed
    /// behind its size and time.
    pub fn all_ok(&self) -> bool {
        self.this_run.books_failed == 0 && self.this_run.pages_failed == 0 && self.input_alarms == 0
    }

    /// 0 all converted, 1 a page or book failed, 4 a book's files could not be written,
    /// 128 + the signal when one stopped the run (130 SIGINT, 143 SIGTERM).
    pub fn exit_code(&self) -> u8 {
        if let Some(sig) = self.interrupted {
            (128 + sig).clamp(0, 255) as u8
        } else if self.books_unwritten > 0 {
            4
        } else if self.all_ok() {
            0
        } else {
            1
        }
    }
}

/// A page's outcome and the time its stages took.
struct Outcome {
    result: Result<DonePage, PageFailure>,
    seconds: StageSeconds,
    /// Taken from the page cache of an earlier, interrupted run.
    resumed: bool,
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
        resumed: false,
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
        resumed: false,
    }
}

fn new_engines(job: &Job) -> Engines {
    Engines::new(&job.settings.tessdata, job.settings.prepare.orientation)
}

/// What the run does with a book, decided before the first page.
enum Decision {
    /// Convert it; its inputs and fingerprint, when they could be read.
    Convert(Option<Stamp>),
    /// Its outputs are up to date (their record is in OUT's state already, or here when the
    /// inputs' times in it were refreshed).
    Unchanged(Option<Box<BookRecord>>),
    /// It changed more recently than `--min-age`: perhaps still being copied.
    Pending,
}

/// Which books are up to date: those whose fingerprint equals their folder record's and whose
/// listed files are all there with their sizes.
fn decide(job: &Job) -> Vec<Decision> {
    use rayon::prelude::*;
    job.books
        .par_iter()
        .map(|book| {
            if job
                .min_age
                .is_some_and(|age| incremental::changed_within(book, age))
            {
                return Decision::Pending;
            }
            if book.error.is_some() || book.pages.is_empty() {
                return Decision::Convert(None);
            }
            let dir = job.out.join(&book.dir.id);
            let current = generation::read_record(&dir);
            let verify = job.verify_inputs;
            let stamp = incremental::fingerprint(book, &job.settings, current.as_ref(), verify);
            let Ok(stamp) = stamp else {
                return Decision::Convert(None);
            };
            match current {
                Some(r) if !job.force && up_to_date(&r, &stamp, &job.out) => {
                    Decision::Unchanged(refreshed(r, stamp, &dir))
                }
                _ => Decision::Convert(Some(stamp)),
            }
        })
        .collect()
}

/// A record describes the book's current outputs when its fingerprint is the book's now, it
/// did not fail, and every file it lists is in OUT with its size (a deleted or truncated file
/// is rebuilt, not trusted).
fn up_to_date(r: &BookRecord, stamp: &Stamp, out: &std::path::Path) -> bool {
    r.status != Status::Failed
        && r.fingerprint
            .as_ref()
            .is_some_and(|f| *f == stamp.fingerprint || *f == stamp.legacy)
        && r.files.iter().all(|f| {
            std::fs::metadata(out.join(&f.path)).is_ok_and(|m| m.is_file() && m.len() == f.bytes)
        })
}

/// An up-to-date record whose inputs' times changed (a copy, a restore; the bytes are the
/// same) gets the new times, so the next night trusts them instead of hashing again.
fn refreshed(mut r: BookRecord, stamp: Stamp, dir: &std::path::Path) -> Option<Box<BookRecord>> {
    if r.inputs == stamp.inputs {
        return None;
    }
    r.inputs = stamp.inputs;
    generation::write_record(dir, &r).ok()?;
    Some(Box::new(r))
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
    pending: usize,
    unwritten: usize,
    /// The book being assembled.
    current: Option<(usize, Assembler)>,
    /// The last page handed in: (book, page).
    last: Option<(usize, usize)>,
    /// A page was left undone (the run is stopping): no later page is added.
    gap: bool,
    /// When each book's first page was taken by a worker.
    starts: &'a [OnceLock<Instant>],
    /// Each book's finished pages, kept until the book is finished.
    caches: &'a [Option<BookCache>],
    /// Pages of the book being assembled that came from the cache.
    resumed: usize,
    /// Everything OUT holds, this run's books included.
    state: Manifest,
    seconds: StageSeconds,
    /// The first failure to rewrite the manifest.
    manifest_error: Option<std::io::Error>,
}

impl<'a> Books<'a> {
    fn new(
        job: &'a Job,
        reporter: &'a Reporter,
        decisions: Vec<Decision>,
        state: Manifest,
        starts: &'a [OnceLock<Instant>],
        caches: &'a [Option<BookCache>],
    ) -> Books<'a> {
        Books {
            job,
            reporter,
            decisions,
            next: 0,
            records: Vec::new(),
            unchanged: 0,
            pending: 0,
            unwritten: 0,
            current: None,
            last: None,
            gap: false,
            starts,
            caches,
            resumed: 0,
            state,
            seconds: StageSeconds::default(),
            manifest_error: None,
        }
    }

    /// After the last page: every book finished, or, when the run was stopped, those whose
    /// pages are all in; the book being assembled is dropped whole (its old generation stays).
    /// Then the manifest; a shard's part says whether the shard is complete.
    fn end(&mut self, stopped: bool) {
        match (stopped, self.last) {
            (true, Some((b, p))) if p + 1 == self.job.books[b].pages.len() => {
                self.finish_before(b + 1);
            }
            (true, _) => self.current = None,
            (false, _) => self.finish_before(self.job.books.len()),
        }
        if let Some(shard) = &mut self.state.shard {
            shard.complete = !stopped;
        }
        self.write_manifest();
    }

    /// Finishes every book before `upto` (the one being assembled, and those with no pages).
    fn finish_before(&mut self, upto: usize) {
        let job = self.job;
        while self.next < upto {
            let b = self.next;
            self.next += 1;
            let book = &job.books[b];
            let record = match &self.decisions[b] {
                Decision::Unchanged(refreshed) => {
                    if let Some(r) = refreshed {
                        let mut r = (**r).clone();
                        r.settle_review(job.settings.pipeline.review_below_confidence);
                        self.state.upsert(r);
                    }
                    self.unchanged += 1;
                    self.reporter.book_unchanged(&book.dir.id);
                    continue;
                }
                Decision::Pending => {
                    self.pending += 1;
                    self.reporter.book_pending(&book.dir.id, &book.dir.dir);
                    continue;
                }
                Decision::Convert(stamp) => {
                    if self.current.as_ref().is_some_and(|(cb, _)| *cb == b) {
                        let (_, asm) = self.current.take().expect("just checked");
                        let done = asm.finish(book, &job.settings, self.reporter, stamp.as_ref());
                        self.unwritten += usize::from(done.write_failed);
                        let secs = self.starts[b]
                            .get()
                            .map_or(0.0, |t| t.elapsed().as_secs_f64());
                        self.reporter.book_done(&done.record, secs, self.resumed);
                        self.resumed = 0;
                        if let Some(cache) = &self.caches[b] {
                            cache.remove();
                        }
                        done.record
                    } else {
                        book_without_pages(book, &job.out, self.reporter)
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
        if outcome.resumed {
            self.resumed += 1;
        } else if let (Ok(done), Some(cache)) = (&outcome.result, &self.caches[b]) {
            cache.store(p, done);
        }
        let job = self.job;
        let book = &job.books[b];
        let (_, asm) = self
            .current
            .get_or_insert_with(|| (b, Assembler::start(&job.out, book, &job.settings)));
        let added = asm.add(&book.pages[p], &book.dir.id, outcome.result, self.reporter);
        self.reporter.page_detail(
            &book.dir.id,
            &book.pages[p].file,
            added,
            &outcome.seconds,
            outcome.resumed,
        );
        self.last = Some((b, p));
    }

    /// A page finished after the run stopped adding: kept for the next run only.
    fn keep(&self, (b, p): (usize, usize), outcome: &Outcome) {
        if let (Ok(done), Some(cache)) = (&outcome.result, &self.caches[b]) {
            cache.store(p, done);
        }
    }

    /// `OUT/manifest.json` (a shard's part) rewritten (atomically) to say what OUT holds now
    /// (of the shard's books).
    fn write_manifest(&mut self) {
        self.state.finished = manifest::now_precise();
        self.state.summary = Summary::from_books(&self.state.books, self.seconds);
        // The last write decides: a later one that succeeds makes good an earlier failure.
        if let Err(e) = self.state.write(&self.job.manifest_path()) {
            self.manifest_error = Some(e);
        } else {
            self.manifest_error = None;
        }
    }
}

/// OUT's books as the run starts, the run's pipeline and start time on it.
fn starting_state(job: &mut Job) -> Manifest {
    let pipeline = PipelineInfo {
        name: job.settings.pipeline.name.clone(),
        description: job.settings.pipeline.description.clone(),
        review_below_confidence: Some(job.settings.pipeline.review_below_confidence),
    };
    let started = manifest::now_precise();
    let shard = job.shard.map(|s| manifest::ShardRecord {
        index: s.index,
        count: s.count,
        complete: false,
        run: job.run.clone(),
    });
    let mut earlier = std::mem::take(&mut job.previous.books);
    // Books this run does not rebuild are judged by this run's rule too: the threshold may
    // have changed, and records of a kitap before schema 1.2 say nothing.
    for b in &mut earlier {
        b.settle_review(job.settings.pipeline.review_below_confidence);
    }
    // A run of every book reads every book's record in OUT: its manifest supersedes the parts
    // of sharded runs there, which a later merge must not read again.
    let merged_parts = match job.shard {
        None => crate::merge::part_stamps(&job.out),
        Some(_) => Default::default(),
    };
    Manifest {
        shard,
        merged_parts,
        ..Manifest::new(
            pipeline,
            started.clone(),
            started,
            earlier,
            StageSeconds::default(),
        )
    }
}

/// The page caches of the books this run converts; those of other books are removed.
fn page_caches(job: &Job, decisions: &[Decision]) -> Vec<Option<BookCache>> {
    let converting: Vec<&str> = job
        .books
        .iter()
        .zip(decisions)
        .filter(|(_, d)| matches!(d, Decision::Convert(Some(_))))
        .map(|(b, _)| b.dir.id.as_str())
        .collect();
    resume::prune(&job.out, &converting, |id| job.owns(id));
    job.books
        .iter()
        .zip(decisions)
        .map(|(book, d)| match d {
            Decision::Convert(Some(stamp)) => {
                BookCache::open(&job.out, &book.dir.id, &stamp.fingerprint, job.force)
            }
            _ => None,
        })
        .collect()
}

/// The languages of the books this run converts whose languages nobody gave, found from their
/// pages (several books at once, one set of engines per worker); a book whose finding is not
/// sure gets a warning, on stderr and in its record.
fn find_languages(job: &mut Job, decisions: &[Decision], reporter: &Reporter) {
    let wanted: Vec<usize> = job
        .books
        .iter()
        .zip(decisions)
        .enumerate()
        .filter(|(_, (b, d))| {
            b.auto_languages
                && b.error.is_none()
                && !b.pages.is_empty()
                && matches!(d, Decision::Convert(_))
        })
        .map(|(i, _)| i)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let installed = crate::ocr::installed_models(&job.settings.tessdata);
    let budget = Budget::new(job.memory.pages);
    let mut found: Vec<Option<languages::Found>> = Vec::new();
    let job_ref = &*job;
    let ran = schedule::run_ordered(
        Schedule::for_threads(job_ref.jobs.min(wanted.len())),
        &wanted,
        || new_engines(job_ref),
        |engines, _, &b| {
            let book = &job_ref.books[b];
            languages::find(book, &job_ref.settings, &budget, &installed, engines)
        },
        |_, result| found.push(result.ok().flatten()),
    );
    if let Err(e) = ran {
        reporter.warn(&format!(
            "could not start the workers that find languages: {e}"
        ));
    }
    for (b, found) in wanted.into_iter().zip(found) {
        let book = &mut job.books[b];
        let Some(found) = found else {
            // No sample page could be read: the pages fail on their own, with their reasons.
            if book.info.meta.ocr_models.is_empty() {
                book.models = crate::detect::SCRIPTS
                    .iter()
                    .map(|s| s.model().to_string())
                    .filter(|m| installed.contains(m))
                    .take(1)
                    .collect();
            }
            let warning = format!(
                "languages not given, and no sample page could be read to find them: read with {}",
                book.models.join("+")
            );
            reporter.book_warning(&book.dir.id, &book.dir.dir, None, &warning);
            book.warnings.push(warning);
            continue;
        };
        if book.info.meta.ocr_models.is_empty() {
            book.models = found.models.clone();
        }
        book.info.languages = vec![found.language];
        let d = &found.detection;
        let shown: Vec<String> = d.evidence.iter().map(|(c, k)| format!("{c} {k}")).collect();
        let line = format!(
            "languages not given: found {} ({}, {} script by {}; {} letters on page(s) {}{}), read with {}",
            found.language.bcp47,
            found.language.name,
            d.script,
            d.script_by,
            d.letters,
            d.pages
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if shown.is_empty() {
                String::new()
            } else {
                format!(": {}", shown.join(", "))
            },
            book.models.join("+"),
        );
        if let Some(doubt) = &found.doubt {
            let warning = format!("{line}; not sure: {doubt}");
            reporter.book_warning(&book.dir.id, &book.dir.dir, None, &warning);
            book.warnings.push(warning);
        } else {
            reporter.book_info(&book.dir.id, &book.dir.dir, &line);
        }
        book.detected = Some(found.detection);
    }
}

/// What killed runs left of this run's books (all, or its shard's) is cleaned up or put back.
fn recover(job: &Job, reporter: &Reporter) -> std::io::Result<()> {
    for line in generation::recover(&job.out, |id| job.owns(id), job.shard.is_none())? {
        reporter.warn(&line);
    }
    crate::shard::remove_temporaries(&job.out, job.shard);
    Ok(())
}

/// Runs the batch. Never panics on bad input: every failure becomes a record in the manifest.
pub fn run(mut job: Job) -> std::io::Result<RunSummary> {
    // First: a signal while inputs are hashed must stop the run cleanly too.
    let stop = stop::Stop::install();
    let reporter = Reporter::new(job.page_total(), job.quiet, job.log_format).verbose(job.verbose);
    announce(&job, &reporter);
    recover(&job, &reporter)?;
    let state = starting_state(&mut job);
    let decisions = decide(&job);
    let items: Vec<(usize, usize)> = job
        .books
        .iter()
        .enumerate()
        .filter(|(b, _)| matches!(decisions[*b], Decision::Convert(_)))
        .flat_map(|(b, book)| (0..book.pages.len()).map(move |p| (b, p)))
        .collect();
    reporter.set_total(items.len());
    let starts: Vec<OnceLock<Instant>> = job.books.iter().map(|_| OnceLock::new()).collect();
    let mut input_alarms = 0;
    for (book, d) in job.books.iter().zip(&decisions) {
        if let Decision::Convert(Some(stamp)) = d {
            for alarm in &stamp.alarms {
                reporter.input_changed(&book.dir.id, alarm);
                input_alarms += 1;
            }
        }
    }
    find_languages(&mut job, &decisions, &reporter);
    let caches = page_caches(&job, &decisions);
    let mut books = Books::new(&job, &reporter, decisions, state, &starts, &caches);
    // A shard's part says it is running (complete: false) before any book changes: killed
    // before it finishes a book, it is still named missing by the merge.
    if job.shard.is_some() {
        books.write_manifest();
    }
    let budget = Budget::new(job.memory.pages);
    schedule::run_ordered(
        Schedule::for_threads(job.jobs),
        &items,
        || new_engines(&job),
        |engines, _, &(b, p)| {
            if stop.requested().is_some() {
                // Asked to stop: the page is left for the next run.
                return None;
            }
            let book = &job.books[b];
            starts[b].get_or_init(|| {
                reporter.book_start(&book.dir.id, book.pages.len());
                Instant::now()
            });
            if let Some(done) = caches[b].as_ref().and_then(|c| c.load(p)) {
                return Some(Outcome {
                    result: Ok(done),
                    seconds: StageSeconds::default(),
                    resumed: true,
                });
            }
            Some(work(&job, &budget, engines, book, &book.pages[p]))
        },
        |i, outcome| {
            // After a stop, pages in work still arrive: they are added while no page before
            // them was left undone, else only kept for the next run. A left page (None) or a
            // panic while stopping ends the adding, so no book is finished short of pages.
            let outcome = match outcome {
                Ok(Some(o)) if !books.gap => o,
                Ok(Some(o)) => return books.keep(items[i], &o),
                Err(_) if stop.requested().is_none() => panicked(),
                Ok(None) | Err(_) => {
                    books.gap = true;
                    return;
                }
            };
            books.seconds += outcome.seconds;
            let (b, p) = items[i];
            books.add(b, p, outcome);
            reporter.page_done(i + 1);
        },
    )?;
    let interrupted = stop.requested();
    books.end(interrupted.is_some());
    reporter.bar.finish_and_clear();
    if let Some(e) = books.manifest_error {
        return Err(e);
    }
    // The review page shows all of OUT: for shards, `kitap merge` writes it.
    if job.shard.is_none() {
        crate::review::write(&job.out, &books.state)?;
    }
    let summary = RunSummary {
        this_run: Summary::from_books(&books.records, books.seconds),
        manifest: books.state,
        manifest_path: job.manifest_path(),
        unchanged: books.unchanged,
        pending: books.pending,
        books_unwritten: books.unwritten,
        input_alarms,
        interrupted,
    };
    if let Some(sig) = interrupted {
        reporter.stopped(stop::name(sig), summary.this_run.books);
    }
    reporter.run_done(
        &summary.this_run,
        (summary.unchanged, summary.pending),
        summary.exit_code(),
        &summary.manifest_path,
    );
    Ok(summary)
}

/// The run's first words: what it works on, the books' warnings, a cut-down `--jobs`.
fn announce(job: &Job, reporter: &Reporter) {
    reporter.run_start(serde_json::json!({
        "scans": job.scans.display().to_string(),
        "out": job.out.display().to_string(),
        "pipeline": job.settings.pipeline.name,
        "jobs": job.jobs,
        "books": job.books.len(),
        "shard": job.shard.map(|s| s.to_string()),
        "version": env!("CARGO_PKG_VERSION"),
    }));
    for b in &job.books {
        for w in b.warnings.iter().skip(b.dir.skipped.len()) {
            reporter.book_warning(&b.dir.id, &b.dir.dir, None, w);
        }
    }
    if let Some(asked) = job.jobs_capped {
        reporter.warn(&format!(
            "--jobs {asked}: running {} worker(s) (at most twice the cores, and no more than the pages; each holds its own Tesseract engines)",
            job.jobs
        ));
    }
}

/// The record of a book that had no page to convert, with its reason on stderr.
fn book_without_pages(
    book: &PlannedBook,
    out: &std::path::Path,
    reporter: &Reporter,
) -> BookRecord {
    let mut rec = assemble::book_record(book, Status::Failed);
    let msg = book
        .error
        .as_ref()
        .unwrap_or(&BookError::NoPages)
        .to_string();
    reporter.book_error(&book.dir.id, &book.dir.dir, "skipped", &msg);
    rec.error = Some(msg);
    rec.kept = assemble::kept_generation(&out.join(&book.dir.id));
    rec
}
