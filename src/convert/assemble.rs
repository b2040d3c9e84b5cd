//! One book's outputs as its pages arrive in order: every [`BookOutput`] is given each page in
//! the book's staging folder, the page records are built beside them, and at the end the new
//! generation (files and record) is swapped in whole, or, when the book failed, dropped with
//! the previous generation left as it was.

use std::path::{Path, PathBuf};

use super::incremental::Stamp;
use super::outputs::{self, BookEnd, BookOutput, FailedView, Finish, PageView};
use super::page::{DonePage, PageFailure, PartReading};
use super::plan::{PlannedBook, PlannedPage, Settings};
use super::report::Reporter;
use crate::error::{BookError, PageError};
use crate::generation::{self, Staging};
use crate::geometry::Rect;
use crate::manifest::{
    self, BookRecord, FileRecord, KeptGeneration, LanguageRecord, PageFacts, PageRecord,
    PageStatus, Status,
};
use crate::pdf::image::Encoding;
use crate::prepare;

/// The output files of one book, written as its pages arrive in order.
pub(super) struct Assembler {
    /// `OUT/<id>`, where the finished generation goes.
    dir: PathBuf,
    /// The new generation's folder; none when it could not be made.
    staging: Option<Staging>,
    outputs: Vec<Box<dyn BookOutput>>,
    pages: Vec<PageRecord>,
    /// The first write that failed: the book fails, and nothing more is written.
    io_error: Option<BookError>,
}

/// A finished book: its record, and whether it failed because OUT could not be written.
pub(super) struct BookDone {
    pub record: BookRecord,
    pub write_failed: bool,
}

impl Assembler {
    pub(super) fn start(out: &Path, book: &PlannedBook, settings: &Settings) -> Assembler {
        let dir = out.join(&book.dir.id);
        let made = Staging::create(out, &book.dir.id).and_then(|s| {
            let o = outputs::for_book(s.dir(), &book.info, settings)?;
            Ok((s, o))
        });
        let (staging, outputs, io_error) = match made {
            Ok((s, o)) => (Some(s), o, None),
            Err(e) => (None, Vec::new(), Some(cannot_write(&dir, e))),
        };
        Assembler {
            dir,
            staging,
            outputs,
            pages: Vec::new(),
            io_error,
        }
    }

    /// Index of the next page written: scans are planned one page each, but a split spread
    /// becomes two, so the writer numbers the pages it actually writes.
    fn next_index(&self) -> u32 {
        self.pages.len() as u32 + 1
    }

    /// Adds a page's outcome: its pages to every output, its records to the book. Returns the
    /// records added (one, or the two halves of a split spread).
    pub(super) fn add(
        &mut self,
        page: &PlannedPage,
        id: &str,
        outcome: Result<DonePage, PageFailure>,
        reporter: &Reporter,
    ) -> &[PageRecord] {
        let before = self.pages.len();
        match outcome {
            Ok(done) => {
                for w in &done.warnings {
                    reporter.book_warning(id, &page.file, Some(self.next_index()), w);
                }
                self.write(|o| o.scan(&done));
                for reading in &done.parts {
                    let index = self.next_index();
                    let view = PageView {
                        index,
                        source: &page.source,
                        done: &done,
                        reading,
                    };
                    self.write(|o| o.page(&view));
                    let facts = page_facts(&done, reading);
                    let mut record = PageRecord::converted(index, &page.source, page.frame, facts);
                    if reading.thumb.is_some() && self.io_error.is_none() {
                        record.thumbnail = Some(outputs::thumbnail_path(id, index));
                    }
                    self.pages.push(record);
                }
            }
            Err(PageFailure { cause, warnings }) => {
                let index = self.next_index();
                let error = PageError::new(&page.file, index, cause.to_string());
                for w in &warnings {
                    reporter.book_warning(id, &page.file, Some(index), w);
                }
                reporter.page_error(id, &error);
                let view = FailedView {
                    index,
                    source: &page.source,
                    message: &error.message,
                };
                self.write(|o| o.failed_page(&view));
                let record =
                    PageRecord::failed(index, &page.source, page.frame, error.message, warnings);
                self.pages.push(record);
            }
        }
        &self.pages[before..]
    }

    /// Runs `step` on every output until one fails.
    fn write(&mut self, mut step: impl FnMut(&mut dyn BookOutput) -> std::io::Result<()>) {
        if self.io_error.is_some() {
            return;
        }
        for o in &mut self.outputs {
            if let Err(e) = step(o.as_mut()) {
                self.io_error = Some(cannot_write(&self.dir, e));
                return;
            }
        }
    }

    /// Finishes the book: its new generation swapped in, or, when no page converted or a write
    /// failed, dropped (the previous generation stays). Returns the book's record.
    pub(super) fn finish(
        self,
        book: &PlannedBook,
        settings: &Settings,
        reporter: &Reporter,
        stamp: Option<&Stamp>,
    ) -> BookDone {
        let Assembler {
            dir,
            staging,
            outputs,
            pages,
            io_error,
        } = self;
        let good = pages.iter().filter(|p| p.status == PageStatus::Ok).count();
        let status = if good == pages.len() {
            Status::Ok
        } else {
            Status::Partial
        };
        let mut rec = book_record(book, status);
        if let Some(stamp) = stamp {
            rec.inputs = stamp.inputs.clone();
            rec.fingerprint = Some(stamp.fingerprint.clone());
            rec.warnings.extend(stamp.alarms.iter().cloned());
        }
        rec.confidence = BookRecord::confidence_of(&pages);
        rec.page_count = pages.len();
        for w in book.info.meta.chapters_past(pages.len()) {
            reporter.book_warning(&rec.id, &dir, None, &w);
            rec.warnings.push(w);
        }
        rec.pages = pages;
        let review_below = settings.pipeline.review_below_confidence;
        rec.settle_review(review_below);
        let failure = match (io_error, staging) {
            (Some(e), _) => Some(e),
            (None, _) if good == 0 => Some(BookError::NoPageConverted),
            (None, None) => unreachable!("no staging folder without a write error"),
            (None, Some(staging)) => {
                let end = BookEnd {
                    info: &book.info,
                    settings,
                    pages: &rec.pages,
                };
                match finish_outputs(outputs, &end, staging, &rec) {
                    Ok((record, carried)) => {
                        for name in carried {
                            let msg =
                                format!("kept '{name}' (not a kitap file) in the new outputs");
                            reporter.book_warning(&rec.id, &dir, None, &msg);
                        }
                        rec = record;
                        None
                    }
                    Err(e) => Some(cannot_write(&dir, e)),
                }
            }
        };
        let write_failed = matches!(failure, Some(BookError::Write { .. }));
        if let Some(e) = failure {
            rec.kept = kept_generation(&dir);
            let kept = if dir.is_dir() {
                format!("; its previous outputs in {} are kept", dir.display())
            } else {
                String::new()
            };
            let msg = format!("{e}{kept}");
            reporter.book_error(&book.dir.id, &book.dir.dir, "failed", &msg);
            rec.status = Status::Failed;
            rec.error = Some(e.to_string());
            // Nothing of this attempt is in OUT: no thumbnail to point at (a kept generation's
            // would show another scan than the page record describes).
            for p in &mut rec.pages {
                p.thumbnail = None;
                p.label = None;
            }
            rec.settle_review(review_below);
        }
        BookDone {
            record: rec,
            write_failed,
        }
    }
}

/// The generation in a book's folder, which a failed rebuild leaves as it was.
pub(super) fn kept_generation(dir: &Path) -> Option<KeptGeneration> {
    let r = generation::read_record(dir)?;
    (!r.files.is_empty()).then_some(KeptGeneration {
        converted_at: r.converted_at,
        files: r.files,
    })
}

fn cannot_write(dir: &Path, e: std::io::Error) -> BookError {
    BookError::Write {
        dir: dir.to_path_buf(),
        source: e,
    }
}

/// Finishes every output in the staging folder, describes the files as they will be listed
/// (`<id>/<name>`), puts the printed page labels found on the pages, writes the record and
/// swaps the generation in. Returns the record and the names of foreign files carried over
/// from the old folder.
fn finish_outputs(
    outputs: Vec<Box<dyn BookOutput>>,
    end: &BookEnd,
    staging: Staging,
    rec: &BookRecord,
) -> std::io::Result<(BookRecord, Vec<String>)> {
    let finished: Vec<Finish> = outputs
        .into_iter()
        .map(|o| o.finish(end))
        .collect::<Result<_, _>>()?;
    let mut record = rec.clone();
    record.files.clear();
    for f in finished.iter().flat_map(|f| &f.files) {
        let rel = f.path.strip_prefix(staging.dir()).unwrap_or(&f.path);
        let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
        let listed = format!("{}/{}", rec.id, rel.join("/"));
        record
            .files
            .push(FileRecord::describe_as(&f.path, listed, f.media_type)?);
    }
    if let Some(labels) = finished.into_iter().find_map(|f| f.labels) {
        for (page, label) in record.pages.iter_mut().zip(labels) {
            page.label = Some(label);
        }
    }
    record.converted_at = Some(manifest::now_rfc3339());
    let done = staging.commit(&record)?;
    Ok((record, done.carried))
}

/// What the manifest says about one converted page.
fn page_facts(done: &DonePage, reading: &PartReading) -> PageFacts {
    let r = reading.rect;
    let (fw, fh) = done.frame_px;
    PageFacts {
        part: reading.part,
        crop: (r != Rect::of_size(fw, fh)).then_some(r.to_array()),
        paper: done.paper.map(Rect::to_array),
        warnings: done.warnings.clone(),
        width: r.width(),
        height: r.height(),
        dpi: done.dpi.1,
        dpi_source: done.dpi_source,
        image_encoding: image_encoding(done.image.encoding),
        rotation_cw_deg: done.rotation_cw_deg,
        skew_cw_deg: done.skew_cw_deg,
        correction: done.correction,
        orientation_by: orientation_by(done.orientation_by),
        confidence: reading.ocr.mean_confidence(),
        words: reading.ocr.word_count(),
        lookalikes_repaired: reading.lookalikes,
        blank: reading.blank,
        ocr_reduced_by: reading.ocr_reduced_by,
    }
}

fn image_encoding(e: Encoding) -> manifest::ImageEncoding {
    match e {
        Encoding::JpegPassthrough => manifest::ImageEncoding::JpegPassthrough,
        Encoding::Jpeg => manifest::ImageEncoding::Jpeg,
        Encoding::G4 => manifest::ImageEncoding::CcittG4,
        Encoding::Flate => manifest::ImageEncoding::Flate,
        Encoding::FlateIndexed { .. } => manifest::ImageEncoding::FlateIndexed,
    }
}

fn orientation_by(o: prepare::OrientationSource) -> manifest::OrientationBy {
    match o {
        prepare::OrientationSource::Osd(_) => manifest::OrientationBy::Osd,
        prepare::OrientationSource::Trial => manifest::OrientationBy::Trial,
        prepare::OrientationSource::None => manifest::OrientationBy::None,
    }
}

/// A book's record before its pages: what was planned.
pub(super) fn book_record(book: &PlannedBook, status: Status) -> BookRecord {
    BookRecord {
        metadata: book.info.meta.clone(),
        languages: book
            .info
            .languages
            .iter()
            .map(|l| LanguageRecord {
                code: l.iso639_3.into(),
                tag: l.bcp47.into(),
                name: l.name.into(),
            })
            .collect(),
        languages_detected: book.detected.clone(),
        ocr_models: book.models.clone(),
        page_count: book.pages.len(),
        error: book.error.as_ref().map(ToString::to_string),
        warnings: book.warnings.clone(),
        ..BookRecord::new(&book.dir.id, status, &book.dir.source)
    }
}
