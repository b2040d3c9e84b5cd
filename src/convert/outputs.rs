//! A book's output files, one [`BookOutput`] each: the PDF, the OCR text and the hOCR stream
//! page by page, the EPUB is built at the end from the reading text. Each writes its file under
//! its final name in the book's staging folder; the assembler swaps the whole folder in once
//! every one has finished (see [`crate::generation`]).
//! A new format (ALTO, say) is one more implementation here and one line in [`for_book`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pdf_writer::Ref;

use super::page::{DonePage, PartReading};
use super::plan::{BookInfo, Settings};
use crate::config::{EpubHeadings, OutputKind};
use crate::epub::{self, EpubMeta};
use crate::geometry::Rect;
use crate::manifest::{BookRecord, Correction, PageRecord};
use crate::ocr::OcrPage;
use crate::pdf::{self, DocInfo, PdfWriter};
use crate::reading::{self, PageText};

/// One converted page (a scan, or one half of a split spread) as the outputs see it.
pub struct PageView<'a> {
    /// 1-based position in the book's outputs.
    pub index: u32,
    /// The scan, relative to the scan root.
    pub source: &'a str,
    pub done: &'a DonePage,
    pub reading: &'a PartReading,
}

/// A page that failed: the outputs keep its place.
pub struct FailedView<'a> {
    pub index: u32,
    pub source: &'a str,
    pub message: &'a str,
}

/// What the outputs need to finish: the book and its page records.
pub struct BookEnd<'a> {
    pub info: &'a BookInfo,
    pub settings: &'a Settings,
    pub pages: &'a [PageRecord],
}

/// A finished file in the staging folder.
pub struct Finished {
    pub path: PathBuf,
    pub media_type: &'static str,
}

/// What an output leaves when it finishes: its files, and what it found about the pages.
#[derive(Default)]
pub struct Finish {
    pub files: Vec<Finished>,
    /// The printed label of every page, `labels[index - 1]`, when the output found them.
    pub labels: Option<Vec<String>>,
}

impl From<Finished> for Finish {
    fn from(file: Finished) -> Finish {
        Finish {
            files: vec![file],
            labels: None,
        }
    }
}

/// One output file of a book, written as pages arrive in order.
pub trait BookOutput {
    /// A converted scan, before its pages (one, or the halves of a spread).
    fn scan(&mut self, _done: &DonePage) -> io::Result<()> {
        Ok(())
    }
    /// A converted page.
    fn page(&mut self, page: &PageView) -> io::Result<()>;
    /// A page that could not be converted.
    fn failed_page(&mut self, page: &FailedView) -> io::Result<()>;
    /// Completes the files, synced to disk.
    fn finish(self: Box<Self>, end: &BookEnd) -> io::Result<Finish>;
}

/// `dir/<id>.<ext>`: where a book's output file of that kind lives.
pub(super) fn out_path(dir: &Path, id: &str, ext: &str) -> PathBuf {
    dir.join(format!("{id}.{ext}"))
}

fn create(path: &Path) -> io::Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path)?))
}

fn sync(mut f: BufWriter<File>) -> io::Result<()> {
    f.flush()?;
    f.get_ref().sync_all()
}

/// The outputs the pipeline asks for, in the order the manifest lists them, their files
/// created in `dir` (the book's staging folder).
pub fn for_book(
    dir: &Path,
    info: &BookInfo,
    settings: &Settings,
) -> io::Result<Vec<Box<dyn BookOutput>>> {
    let path = |ext| out_path(dir, &info.id, ext);
    let mut outputs: Vec<Box<dyn BookOutput>> = Vec::new();
    for kind in &settings.outputs {
        outputs.push(match kind {
            OutputKind::Pdf => Box::new(PdfOutput::create(path("pdf"), false)?),
            OutputKind::Epub => Box::new(EpubOutput::new(path("epub"))),
            OutputKind::Txt => Box::new(TextOutput::create(path("txt"))?),
            OutputKind::Hocr => Box::new(HocrOutput::create(path("hocr"), info)?),
            OutputKind::Alto => Box::new(AltoOutput::create(dir, info)?),
            OutputKind::WebPdf => Box::new(PdfOutput::create(path(WEB_PDF_EXT), true)?),
        });
    }
    if !settings.outputs.contains(&OutputKind::Epub) {
        outputs.push(Box::new(LabelOutput::default()));
    }
    outputs.push(Box::new(ThumbnailOutput::create(dir, &info.id)?));
    Ok(outputs)
}

pub use crate::manifest::review::THUMBNAIL_EXT;

/// Where page `index`'s thumbnail of book `id` is listed, relative to OUT.
pub fn thumbnail_path(id: &str, index: u32) -> String {
    format!("{id}/{id}.{THUMBNAIL_EXT}/{index:04}.jpg")
}

/// A folder of one file per page beside a book's other files (`<id>.<ext>/0001.<suffix>`),
/// written as pages arrive and synced at the end: the thumbnails, the ALTO pages.
struct PageFiles {
    dir: PathBuf,
    suffix: &'static str,
    media_type: &'static str,
    files: Vec<PathBuf>,
}

impl PageFiles {
    fn create(
        book_dir: &Path,
        id: &str,
        ext: &str,
        (suffix, media_type): (&'static str, &'static str),
    ) -> io::Result<PageFiles> {
        let dir = out_path(book_dir, id, ext);
        std::fs::create_dir(&dir)?;
        Ok(PageFiles {
            dir,
            suffix,
            media_type,
            files: Vec::new(),
        })
    }

    fn write(&mut self, index: u32, bytes: &[u8]) -> io::Result<()> {
        let path = self.dir.join(format!("{index:04}.{}", self.suffix));
        let mut f = create(&path)?;
        f.write_all(bytes)?;
        sync(f)?;
        self.files.push(path);
        Ok(())
    }

    fn finish(self) -> io::Result<Finish> {
        File::open(&self.dir)?.sync_all()?;
        let media_type = self.media_type;
        Ok(Finish {
            files: self
                .files
                .into_iter()
                .map(|path| Finished { path, media_type })
                .collect(),
            labels: None,
        })
    }
}

/// The page thumbnails for the review page: a small JPEG per converted page, made while the
/// page was converted (never decoded back from the PDF).
struct ThumbnailOutput(PageFiles);

impl ThumbnailOutput {
    fn create(book_dir: &Path, id: &str) -> io::Result<ThumbnailOutput> {
        PageFiles::create(book_dir, id, THUMBNAIL_EXT, ("jpg", "image/jpeg")).map(ThumbnailOutput)
    }
}

impl BookOutput for ThumbnailOutput {
    fn page(&mut self, page: &PageView) -> io::Result<()> {
        match &page.reading.thumb {
            Some(jpeg) => self.0.write(page.index, jpeg),
            None => Ok(()),
        }
    }

    fn failed_page(&mut self, _page: &FailedView) -> io::Result<()> {
        Ok(())
    }

    fn finish(self: Box<Self>, _end: &BookEnd) -> io::Result<Finish> {
        self.0.finish()
    }
}

/// The web PDF's extension: `<id>.web.pdf`.
pub const WEB_PDF_EXT: &str = "web.pdf";

/// A searchable PDF, streamed page by page: the archival one, or the web one (the same pages
/// and text layer over the compact images the worker encoded beside the archival ones).
struct PdfOutput {
    path: PathBuf,
    writer: PdfWriter<BufWriter<File>>,
    /// The current scan's image: both halves of a spread show it.
    image: Option<Ref>,
    web: bool,
}

impl PdfOutput {
    fn create(path: PathBuf, web: bool) -> io::Result<PdfOutput> {
        let writer = PdfWriter::new(create(&path)?)?;
        Ok(PdfOutput {
            path,
            writer,
            image: None,
            web,
        })
    }

    fn image<'a>(&self, done: &'a DonePage) -> &'a pdf::image::PageImage {
        match (&done.web_image, self.web) {
            (Some(web), true) => web,
            _ => &done.image,
        }
    }
}

impl BookOutput for PdfOutput {
    fn scan(&mut self, done: &DonePage) -> io::Result<()> {
        self.image = Some(self.writer.add_image(self.image(done))?);
        Ok(())
    }

    fn page(&mut self, page: &PageView) -> io::Result<()> {
        let image_ref = self.image.expect("the scan's image comes first");
        self.writer.add_page(&pdf::PageContent {
            image: self.image(page.done),
            image_ref,
            px_per_pt: page.done.dpi.1 / 72.0,
            frame_px: page.done.frame_px,
            crop: page.reading.rect,
            ocr: &page.reading.ocr,
        })
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        self.writer
            .add_placeholder(page.index, page.source, page.message)
    }

    fn finish(self: Box<Self>, end: &BookEnd) -> io::Result<Finish> {
        sync(self.writer.finish(&doc_info(end.info))?)?;
        Ok(Finished {
            path: self.path,
            media_type: "application/pdf",
        }
        .into())
    }
}

/// The PDF's Info and XMP metadata of a book.
fn doc_info(info: &BookInfo) -> DocInfo {
    DocInfo {
        title: info.title.clone(),
        authors: info.meta.authors.clone(),
        subjects: info.meta.subjects.clone(),
        languages: info.language_tags(),
        publisher: info.meta.publisher.clone(),
        rights: info.meta.rights.clone(),
        identifier: info.identifier.clone(),
        date: info.date_parts(),
        creator_tool: format!("kitap {}", env!("CARGO_PKG_VERSION")),
        page_labels: info.meta.page_labels.clone(),
        chapters: chapters(info),
    }
}

fn chapters(info: &BookInfo) -> Vec<(String, u32)> {
    info.meta
        .chapters
        .iter()
        .map(|c| (c.title.clone(), c.page))
        .collect()
}

/// The plain OCR text: one chunk per page, a form feed between pages.
struct TextOutput {
    path: PathBuf,
    file: BufWriter<File>,
}

impl TextOutput {
    fn create(path: PathBuf) -> io::Result<TextOutput> {
        let file = create(&path)?;
        Ok(TextOutput { path, file })
    }

    fn separate(&mut self, index: u32) -> io::Result<()> {
        if index > 1 {
            self.file.write_all(b"\x0c")?;
        }
        Ok(())
    }
}

impl BookOutput for TextOutput {
    fn page(&mut self, page: &PageView) -> io::Result<()> {
        self.separate(page.index)?;
        self.file.write_all(page.reading.ocr.text().as_bytes())
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        self.separate(page.index)
    }

    fn finish(self: Box<Self>, _end: &BookEnd) -> io::Result<Finish> {
        sync(self.file)?;
        Ok(Finished {
            path: self.path,
            media_type: "text/plain; charset=utf-8",
        }
        .into())
    }
}

/// Whether a page's word boxes are in the scan's own pixels: nothing turned, straightened, cut
/// or resampled them.
fn boxes_in_source(page: &PageView) -> bool {
    let (done, rect) = (page.done, page.reading.rect);
    let (fw, fh) = done.frame_px;
    done.correction == Correction::None
        && done.parts.len() == 1
        && rect == Rect::of_size(fw, fh)
        && !done.non_square
}

/// hOCR: word boxes and confidences for proofreading tools.
struct HocrOutput {
    path: PathBuf,
    file: BufWriter<File>,
}

impl HocrOutput {
    fn create(path: PathBuf, info: &BookInfo) -> io::Result<HocrOutput> {
        let mut file = create(&path)?;
        crate::hocr::begin(&mut file, &info.title, info.main_tag())?;
        Ok(HocrOutput { path, file })
    }
}

impl BookOutput for HocrOutput {
    fn page(&mut self, page: &PageView) -> io::Result<()> {
        let done = page.done;
        let untouched = boxes_in_source(page);
        let dpi = Some(done.dpi.1);
        let ocr = Some(&page.reading.ocr);
        crate::hocr::page(&mut self.file, page.index, page.source, untouched, dpi, ocr)
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        crate::hocr::page(&mut self.file, page.index, page.source, true, None, None)
    }

    fn finish(mut self: Box<Self>, _end: &BookEnd) -> io::Result<Finish> {
        crate::hocr::end(&mut self.file)?;
        sync(self.file)?;
        Ok(Finished {
            path: self.path,
            media_type: "text/vnd.hocr+html",
        }
        .into())
    }
}

/// ALTO 4 XML, a file per page (`<id>.alto/0001.xml`), as METS packages hold them.
struct AltoOutput {
    files: PageFiles,
    lang: String,
}

/// The folder of a book's ALTO files: `<id>.alto/`.
pub const ALTO_EXT: &str = "alto";

impl AltoOutput {
    fn create(book_dir: &Path, info: &BookInfo) -> io::Result<AltoOutput> {
        let files = PageFiles::create(
            book_dir,
            &info.id,
            ALTO_EXT,
            ("xml", crate::alto::MEDIA_TYPE),
        )?;
        Ok(AltoOutput {
            files,
            lang: info.main_tag().to_string(),
        })
    }

    fn write(
        &mut self,
        index: u32,
        source: &str,
        in_source: bool,
        ocr: Option<&OcrPage>,
    ) -> io::Result<()> {
        let xml = crate::alto::page(&crate::alto::AltoPage {
            index,
            source,
            boxes_in_source: in_source,
            lang: &self.lang,
            ocr,
        });
        self.files.write(index, xml.as_bytes())
    }
}

impl BookOutput for AltoOutput {
    fn page(&mut self, page: &PageView) -> io::Result<()> {
        let in_source = boxes_in_source(page);
        self.write(page.index, page.source, in_source, Some(&page.reading.ocr))
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        // No boxes to place: the file names the scan.
        self.write(page.index, page.source, true, None)
    }

    fn finish(self: Box<Self>, _end: &BookEnd) -> io::Result<Finish> {
        self.files.finish()
    }
}

/// The printed page labels when no EPUB is written (the EPUB's reading finds them otherwise):
/// the manifest and the review page show them whatever `--outputs` says. Writes no file.
#[derive(Default)]
struct LabelOutput {
    pages: Vec<PageText>,
}

impl BookOutput for LabelOutput {
    fn page(&mut self, page: &PageView) -> io::Result<()> {
        self.pages
            .push(PageText::from_ocr(page.index, &page.reading.ocr));
        Ok(())
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        self.pages.push(PageText::failed(page.index));
        Ok(())
    }

    fn finish(self: Box<Self>, end: &BookEnd) -> io::Result<Finish> {
        Ok(Finish {
            files: Vec::new(),
            labels: Some(book_labels(&self.pages, end.info)),
        })
    }
}

/// The printed label of every page: book.toml's `page_labels`, else the page numbers found
/// on the pages (see `reading::reflow`).
fn book_labels(pages: &[PageText], info: &BookInfo) -> Vec<String> {
    match configured(pages, info) {
        Some(labels) => labels,
        None => reading::reflow(pages, None).labels,
    }
}

fn configured(pages: &[PageText], info: &BookInfo) -> Option<Vec<String>> {
    (!info.meta.page_labels.is_empty())
        .then(|| reading::configured_labels(&info.meta.page_labels, pages.len() as u32))
}

/// The reading EPUB: the book's lines gathered page by page, reflowed at the end.
struct EpubOutput {
    path: PathBuf,
    pages: Vec<PageText>,
    /// Images of the doubtful pages, by page index.
    images: BTreeMap<u32, epub::DoubtfulPageImage>,
    cover: Option<Vec<u8>>,
}

impl EpubOutput {
    fn new(path: PathBuf) -> EpubOutput {
        EpubOutput {
            path,
            pages: Vec::new(),
            images: BTreeMap::new(),
            cover: None,
        }
    }
}

impl BookOutput for EpubOutput {
    fn scan(&mut self, done: &DonePage) -> io::Result<()> {
        if done.cover.is_some() {
            self.cover.clone_from(&done.cover);
        }
        Ok(())
    }

    fn page(&mut self, page: &PageView) -> io::Result<()> {
        let ocr = &page.reading.ocr;
        let mut text = PageText::from_ocr(page.index, ocr);
        if let Some(jpeg) = &page.reading.scan {
            text.show_image = true;
            let note = ocr
                .mean_confidence()
                .map_or("no text recognised".into(), |c| {
                    format!("OCR confidence {c:.0} %")
                });
            let image = epub::DoubtfulPageImage {
                jpeg: jpeg.clone(),
                note,
            };
            self.images.insert(page.index, image);
        }
        self.pages.push(text);
        Ok(())
    }

    fn failed_page(&mut self, page: &FailedView) -> io::Result<()> {
        self.pages.push(PageText::failed(page.index));
        Ok(())
    }

    fn finish(self: Box<Self>, end: &BookEnd) -> io::Result<Finish> {
        let meta = epub_meta(end);
        let info = end.info;
        let mut text = reading::reflow(&self.pages, configured(&self.pages, info));
        if end.settings.epub.headings == EpubHeadings::Off {
            text.headings_as_paragraphs();
        }
        let f = create(&self.path)?;
        sync(epub::write(
            f,
            &meta,
            &text,
            &self.images,
            self.cover.as_deref(),
        )?)?;
        Ok(Finish {
            files: vec![Finished {
                path: self.path,
                media_type: "application/epub+zip",
            }],
            labels: Some(text.labels),
        })
    }
}

/// The EPUB's package metadata of a book.
fn epub_meta(end: &BookEnd) -> EpubMeta {
    let info = end.info;
    let (y, mo, d, h, mi, s) = info.date_parts();
    EpubMeta {
        id: info.id.clone(),
        title: info.title.clone(),
        authors: info.meta.authors.clone(),
        languages: info.language_tags(),
        rtl: info.languages.first().is_some_and(|l| l.rtl),
        isbn: info.meta.isbn.clone(),
        identifier: info.meta.identifier.clone(),
        publisher: info.meta.publisher.clone(),
        date: info.meta.iso_date(),
        series: info.meta.series.clone(),
        volume: info.meta.volume.clone(),
        subjects: info.meta.subjects.clone(),
        rights: info.meta.rights.clone(),
        description: info.meta.description.clone(),
        modified: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        chapters: chapters(info),
        pages_per_section: end.settings.epub.pages_per_section,
        heading_sections: end.settings.epub.headings == EpubHeadings::Auto,
        confidence: BookRecord::confidence_of(end.pages),
    }
}
