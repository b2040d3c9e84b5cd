//! Writing one book's outputs as its pages arrive in order: the PDF, text and hOCR streamed
//! page by page, the EPUB at the end from the reading text, every file under a temporary name
//! renamed into place, and the book's manifest record.

use super::*;

/// Output files of one book, written as its pages arrive in order.
pub(super) struct Assembler {
    dir: PathBuf,
    pdf: Option<PdfWriter<BufWriter<File>>>,
    txt: Option<BufWriter<File>>,
    hocr: Option<BufWriter<File>>,
    /// The lines of every page so far: the reading text is reflowed over the whole book.
    epub_pages: Vec<PageText>,
    /// Images of the doubtful pages, by page index.
    epub_images: BTreeMap<u32, epub::DoubtfulPageImage>,
    cover: Option<Vec<u8>>,
    pages: Vec<PageRecord>,
    io_error: Option<String>,
}

/// Every file a book can have in its output folder.
const OUTPUT_EXTENSIONS: [&str; 4] = ["pdf", "epub", "txt", "hocr"];

fn out_path(dir: &Path, id: &str, ext: &str) -> PathBuf {
    dir.join(format!("{id}.{ext}"))
}

impl Assembler {
    pub(super) fn start(job: &Job, book: &PlannedBook) -> Assembler {
        let dir = job.out.join(&book.dir.id);
        let mut asm = Assembler {
            dir: dir.clone(),
            pdf: None,
            txt: None,
            hocr: None,
            epub_pages: Vec::new(),
            epub_images: BTreeMap::new(),
            cover: None,
            pages: Vec::new(),
            io_error: None,
        };
        let id = &book.dir.id;
        let open = |ext: &str| -> std::io::Result<BufWriter<File>> {
            std::fs::create_dir_all(&dir)?;
            Ok(BufWriter::new(File::create(manifest::temp_path(
                &out_path(&dir, id, ext),
            ))?))
        };
        let result = (|| -> std::io::Result<()> {
            asm.pdf = Some(PdfWriter::new(open("pdf")?)?);
            asm.txt = Some(open("txt")?);
            if job.pipeline.hocr {
                let mut h = open("hocr")?;
                crate::hocr::begin(
                    &mut h,
                    &title_of(book),
                    book.languages.first().map_or("und", |l| l.bcp47),
                )?;
                asm.hocr = Some(h);
            }
            Ok(())
        })();
        if let Err(e) = result {
            asm.io_error = Some(format!("{}: cannot write: {e}", dir.display()));
        }
        asm
    }

    /// Index of the next page written: scans are planned one page each, but a split spread
    /// becomes two, so the writer numbers the pages it actually writes.
    fn next_index(&self) -> u32 {
        self.pages.len() as u32 + 1
    }

    pub(super) fn add(&mut self, page: &PlannedPage, outcome: Outcome, reporter: &Reporter) {
        let shown = page.file.display().to_string();
        let blank = |index: u32| PageRecord {
            index,
            source: page.source.clone(),
            frame: page.frame,
            part: None,
            crop: None,
            status: PageStatus::Ok,
            error: None,
            warnings: Vec::new(),
            width: None,
            height: None,
            dpi: None,
            dpi_source: None,
            image_encoding: None,
            rotation_cw_deg: None,
            skew_cw_deg: None,
            correction: None,
            orientation_by: None,
            confidence: None,
            words: 0,
        };
        match outcome.result {
            Ok(mut done) => {
                for w in &done.warnings {
                    reporter.warn(&format!("{shown}: page {}: {w}", self.next_index()));
                }
                if done.cover.is_some() {
                    self.cover = done.cover.take();
                }
                let image_ref = match self.pdf.as_mut().map(|pdf| pdf.add_image(&done.image)) {
                    Some(Ok(r)) => Some(r),
                    Some(Err(e)) => {
                        self.note_io_error(e);
                        None
                    }
                    None => None,
                };
                let (fw, fh) = done.frame_px;
                for reading in &done.parts {
                    let mut record = blank(self.next_index());
                    let r = reading.rect;
                    record.part = reading.part.map(|p| p.name().to_string());
                    record.crop = ([r.x0, r.y0, r.x1, r.y1] != [0, 0, fw, fh])
                        .then_some([r.x0, r.y0, r.x1, r.y1]);
                    record.warnings = done.warnings.clone();
                    record.width = Some(r.width());
                    record.height = Some(r.height());
                    record.dpi = Some(done.dpi.1);
                    record.dpi_source = Some(done.dpi_source);
                    record.image_encoding = Some(done.image.encoding.name().into());
                    record.rotation_cw_deg = Some(done.rotation_cw_deg);
                    record.skew_cw_deg = Some(done.skew_cw_deg);
                    record.correction = Some(done.correction.name().into());
                    record.orientation_by = Some(
                        match done.orientation_by {
                            prepare::OrientationSource::Osd(_) => "osd",
                            prepare::OrientationSource::Trial => "trial",
                            prepare::OrientationSource::None => "none",
                        }
                        .into(),
                    );
                    record.confidence = reading
                        .ocr
                        .mean_confidence()
                        .map(|c| (c * 10.0).round() / 10.0);
                    record.words = reading.ocr.word_count();
                    let written = self.write_page(page, record.index, &done, reading, image_ref);
                    if let Err(e) = written {
                        self.note_io_error(e);
                    }
                    self.pages.push(record);
                }
            }
            Err((mut err, warnings)) => {
                let mut record = blank(self.next_index());
                err.page = record.index;
                for w in &warnings {
                    reporter.warn(&format!("{shown}: page {}: {w}", record.index));
                }
                reporter.error(&err.to_string());
                record.status = PageStatus::Failed;
                record.error = Some(err.message.clone());
                record.warnings = warnings;
                if let Err(e) = self.write_failed(page, record.index, &err) {
                    self.note_io_error(e);
                }
                self.pages.push(record);
            }
        }
    }

    fn note_io_error(&mut self, e: std::io::Error) {
        if self.io_error.is_none() {
            self.io_error = Some(format!("{}: cannot write: {e}", self.dir.display()));
        }
    }

    fn write_page(
        &mut self,
        page: &PlannedPage,
        index: u32,
        done: &DonePage,
        reading: &Reading,
        image_ref: Option<pdf_writer::Ref>,
    ) -> std::io::Result<()> {
        let dpi = done.dpi.1;
        let ocr = &reading.ocr;
        let r = reading.rect;
        if let (Some(pdf), Some(image_ref)) = (&mut self.pdf, image_ref) {
            pdf.add_page(&pdf::PageContent {
                image: &done.image,
                image_ref,
                px_per_pt: dpi / 72.0,
                frame_px: done.frame_px,
                crop: [r.x0, r.y0, r.x1, r.y1],
                ocr,
            })?;
        }
        if let Some(txt) = &mut self.txt {
            if index > 1 {
                txt.write_all(b"\x0c")?;
            }
            txt.write_all(ocr.text().as_bytes())?;
        }
        if let Some(h) = &mut self.hocr {
            let untouched = done.correction == prepare::Correction::None
                && done.parts.len() == 1
                && reading.rect.x0 == 0
                && reading.rect.y0 == 0
                && (reading.rect.width(), reading.rect.height()) == done.frame_px
                && !done.non_square;
            crate::hocr::page(h, index, &page.source, untouched, Some(dpi), Some(ocr))?;
        }
        let mut text = PageText::from_ocr(index, ocr);
        if let Some(jpeg) = &reading.scan {
            text.show_image = true;
            let conf = ocr
                .mean_confidence()
                .map_or("no text recognised".into(), |c| {
                    format!("OCR confidence {c:.0} %")
                });
            self.epub_images.insert(
                index,
                epub::DoubtfulPageImage {
                    jpeg: jpeg.clone(),
                    note: conf,
                },
            );
        }
        self.epub_pages.push(text);
        Ok(())
    }

    fn write_failed(
        &mut self,
        page: &PlannedPage,
        index: u32,
        err: &PageError,
    ) -> std::io::Result<()> {
        if let Some(pdf) = &mut self.pdf {
            pdf.add_placeholder(index, &page.source, &err.message)?;
        }
        if let Some(txt) = &mut self.txt
            && index > 1
        {
            txt.write_all(b"\x0c")?;
        }
        if let Some(h) = &mut self.hocr {
            crate::hocr::page(h, index, &page.source, true, None, None)?;
        }
        self.epub_pages.push(PageText {
            index,
            ..PageText::default()
        });
        Ok(())
    }

    pub(super) fn finish(
        mut self,
        job: &Job,
        book: &PlannedBook,
        reporter: &Reporter,
    ) -> BookRecord {
        let id = &book.dir.id;
        let good = self
            .pages
            .iter()
            .filter(|p| p.status == PageStatus::Ok)
            .count();
        let mut rec = book_record(
            book,
            if good == self.pages.len() {
                Status::Ok
            } else {
                Status::Partial
            },
        );
        rec.confidence = self.book_confidence();
        let temps: Vec<PathBuf> = OUTPUT_EXTENSIONS
            .iter()
            .map(|e| manifest::temp_path(&out_path(&self.dir, id, e)))
            .collect();
        let discard = |temps: &[PathBuf]| {
            for t in temps {
                let _ = std::fs::remove_file(t);
            }
        };
        // Files from an earlier run that this one does not write must not outlive it.
        let finals: Vec<PathBuf> = OUTPUT_EXTENSIONS
            .iter()
            .map(|e| out_path(&self.dir, id, e))
            .collect();
        if good == 0 || self.io_error.is_some() {
            discard(&temps);
            discard(&finals);
            rec.status = Status::Failed;
            rec.error = Some(
                self.io_error
                    .clone()
                    .unwrap_or_else(|| "no page could be converted; no files written".into()),
            );
            reporter.error(&format!(
                "{}: book '{id}' failed: {}",
                book.dir.dir.display(),
                rec.error.as_deref().unwrap_or("")
            ));
            rec.page_count = self.pages.len();
            rec.pages = self.pages;
            return rec;
        }
        let result = self.write_outputs(job, book);
        match result {
            Ok(files) => rec.files = files,
            Err(e) => {
                discard(&temps);
                rec.status = Status::Failed;
                rec.error = Some(format!("{}: cannot write: {e}", self.dir.display()));
                reporter.error(rec.error.as_deref().unwrap_or(""));
            }
        }
        rec.page_count = self.pages.len();
        rec.pages = self.pages;
        rec
    }

    /// Mean word confidence over the book, to one decimal.
    fn book_confidence(&self) -> Option<f64> {
        let (words, weighted) = self
            .pages
            .iter()
            .filter_map(|p| Some((p.words, p.confidence?)))
            .fold((0usize, 0f64), |(n, s), (w, c)| (n + w, s + w as f64 * c));
        (words > 0).then(|| ((weighted / words as f64) * 10.0).round() / 10.0)
    }

    fn write_outputs(&mut self, job: &Job, book: &PlannedBook) -> std::io::Result<Vec<FileRecord>> {
        let id = &book.dir.id;
        let date = creation_date(book);
        let info = DocInfo {
            title: title_of(book),
            authors: book.meta.authors.clone(),
            subjects: book.meta.subjects.clone(),
            languages: book.languages.iter().map(|l| l.bcp47.to_string()).collect(),
            publisher: book.meta.publisher.clone(),
            rights: book.meta.rights.clone(),
            identifier: book
                .meta
                .identifier
                .clone()
                .unwrap_or_else(|| format!("urn:uuid:{}", epub::book_uuid(id))),
            date,
            creator_tool: format!("kitap {}", env!("CARGO_PKG_VERSION")),
            page_labels: book.meta.page_labels.clone(),
            chapters: book
                .meta
                .chapters
                .iter()
                .map(|c| (c.title.clone(), c.page))
                .collect(),
        };
        let mut done: Vec<(PathBuf, &str)> = Vec::new();
        let pdf_path = out_path(&self.dir, id, "pdf");
        if let Some(pdf) = self.pdf.take() {
            let mut f = pdf.finish(&info)?;
            f.flush()?;
            f.get_ref().sync_all()?;
            done.push((pdf_path, "application/pdf"));
        }
        let epub_path = out_path(&self.dir, id, "epub");
        {
            let meta = EpubMeta {
                id: id.clone(),
                title: info.title.clone(),
                authors: info.authors.clone(),
                languages: info.languages.clone(),
                rtl: book.languages.first().is_some_and(|l| l.rtl),
                isbn: book.meta.isbn.clone(),
                identifier: book.meta.identifier.clone(),
                publisher: book.meta.publisher.clone(),
                year: book.meta.year,
                subjects: book.meta.subjects.clone(),
                rights: book.meta.rights.clone(),
                modified: format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    date.0, date.1, date.2, date.3, date.4, date.5
                ),
                chapters: info.chapters.clone(),
                pages_per_section: job.pipeline.epub_pages_per_section,
                confidence: self.book_confidence(),
            };
            let labels = (!book.meta.page_labels.is_empty()).then(|| {
                reading::configured_labels(&book.meta.page_labels, self.epub_pages.len() as u32)
            });
            let text = reading::reflow(&self.epub_pages, labels);
            let f = BufWriter::new(File::create(manifest::temp_path(&epub_path))?);
            let mut f = epub::write(f, &meta, &text, &self.epub_images, self.cover.as_deref())?;
            f.flush()?;
            f.get_ref().sync_all()?;
            done.push((epub_path, "application/epub+zip"));
        }
        let txt_path = out_path(&self.dir, id, "txt");
        if let Some(mut t) = self.txt.take() {
            t.flush()?;
            t.get_ref().sync_all()?;
            done.push((txt_path, "text/plain; charset=utf-8"));
        }
        let hocr_path = out_path(&self.dir, id, "hocr");
        if let Some(mut h) = self.hocr.take() {
            crate::hocr::end(&mut h)?;
            h.flush()?;
            h.get_ref().sync_all()?;
            done.push((hocr_path, "text/vnd.hocr+html"));
        }
        let mut files = Vec::new();
        for (path, media_type) in &done {
            std::fs::rename(manifest::temp_path(path), path)?;
            files.push(FileRecord::describe(&job.out, path, media_type)?);
        }
        for e in OUTPUT_EXTENSIONS {
            let stale = out_path(&self.dir, id, e);
            if !done.iter().any(|(p, _)| *p == stale) {
                let _ = std::fs::remove_file(stale);
            }
        }
        Ok(files)
    }
}

fn title_of(book: &PlannedBook) -> String {
    book.meta
        .title
        .clone()
        .unwrap_or_else(|| book.dir.id.clone())
}

/// The date written into a book's files. `SOURCE_DATE_EPOCH` when set (reproducible builds),
/// else the newest modification time of the book's inputs: the same scans give the same bytes,
/// whenever they are converted.
fn creation_date(book: &PlannedBook) -> (i32, u8, u8, u8, u8, u8) {
    let from_env = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok());
    let from_inputs = || {
        book.dir
            .files
            .iter()
            .chain(book.dir.meta_path.iter())
            .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
            .max()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    };
    let t = from_env
        .or_else(from_inputs)
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}
