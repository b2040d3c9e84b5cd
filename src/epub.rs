//! Writes the reflowable EPUB 3: OCR text by page as paragraphs, split into small content
//! documents, with a nav (table of contents and print page list), Dublin Core metadata and a
//! cover made from the first page.
//!
//! Written directly with `zip` rather than epub-builder: 0.8.3 produces invalid files, and 0.8.2
//! cannot write a page-list, an ISBN identifier or dc:publisher, which libraries need.

use std::io::{self, Seek, Write};

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::config::cut_to_bytes;
use crate::pdf::MAX_STRING_BYTES;
use crate::reading::{self, Inline, ReadingBlock, ReadingText, Section};
use crate::xml::XmlWriter;

/// Book-level metadata for the package document.
#[derive(Debug, Clone, Default)]
pub struct EpubMeta {
    pub id: String,
    pub title: String,
    pub authors: Vec<String>,
    /// BCP 47 tags, main language first.
    pub languages: Vec<String>,
    pub rtl: bool,
    pub isbn: Option<String>,
    pub identifier: Option<String>,
    pub publisher: Option<String>,
    /// `dc:date`: a periodical issue's full date, else the year of publication (the first year
    /// an uncertain one may be: W3CDTF cannot say "ca.").
    pub date: Option<String>,
    /// The series, and the book's volume in it (`belongs-to-collection`).
    pub series: Option<String>,
    pub volume: Option<String>,
    pub subjects: Vec<String>,
    pub rights: Option<String>,
    /// A summary (`dc:description`).
    pub description: Option<String>,
    /// `dcterms:modified`, `CCYY-MM-DDThh:mm:ssZ`.
    pub modified: String,
    pub chapters: Vec<(String, u32)>,
    pub pages_per_section: u32,
    /// Detected headings start content documents and table-of-contents entries (without
    /// book.toml chapters); false: pages only.
    pub heading_sections: bool,
    /// Mean OCR word confidence of the book, for the accessibility summary.
    pub confidence: Option<f64>,
}

impl EpubMeta {
    /// Every text cut to [`MAX_STRING_BYTES`] of UTF-8, the limit kitap keeps in every output
    /// (book.toml's loader warns when one is cut; the manifest keeps it whole).
    fn fitted(&self) -> EpubMeta {
        let fit = |s: &String| cut_to_bytes(s, MAX_STRING_BYTES).to_string();
        EpubMeta {
            title: fit(&self.title),
            authors: self.authors.iter().map(fit).collect(),
            isbn: self.isbn.as_ref().map(fit),
            identifier: self.identifier.as_ref().map(fit),
            publisher: self.publisher.as_ref().map(fit),
            series: self.series.as_ref().map(fit),
            volume: self.volume.as_ref().map(fit),
            subjects: self.subjects.iter().map(fit).collect(),
            rights: self.rights.as_ref().map(fit),
            description: self.description.as_ref().map(fit),
            chapters: self.chapters.iter().map(|(t, p)| (fit(t), *p)).collect(),
            ..self.clone()
        }
    }
}

/// A stable UUID (version 5 layout) from the book id, so the same book keeps its identifier.
pub fn book_uuid(id: &str) -> String {
    stable_uuid(&format!("kitap:book:{id}"))
}

/// A UUID (version 5 layout) that is a function of `name` alone: the same name, the same UUID.
pub fn stable_uuid(name: &str) -> String {
    let h = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A page image shown after the text of a page whose OCR is doubtful: a JPEG and why it is
/// shown ("OCR confidence 42 %"); the alt text names the page by its printed label.
#[derive(Debug, Clone)]
pub struct DoubtfulPageImage {
    pub jpeg: Vec<u8>,
    pub note: String,
}

/// Writes the EPUB of the reflowed book. `images` holds the page images the reading refers to.
pub fn write<W: Write + Seek>(
    out: W,
    meta: &EpubMeta,
    reading: &ReadingText,
    images: &BTreeMap<u32, DoubtfulPageImage>,
    cover_jpeg: Option<&[u8]>,
) -> io::Result<W> {
    let meta = &meta.fitted();
    let mut zip = ZipWriter::new(out);
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());

    // The mimetype must come first and uncompressed (OCF 3.0).
    zip.start_file("mimetype", stored)?;
    zip.write_all(b"application/epub+zip")?;
    zip.start_file("META-INF/container.xml", deflated)?;
    zip.write_all(container().as_bytes())?;

    let frame = Frame {
        lang: meta.languages.first().map_or("und", String::as_str),
        dir: if meta.rtl { "rtl" } else { "ltr" },
        title: nfc(&meta.title),
    };
    let secs = sections(
        reading,
        &meta.chapters,
        (meta.pages_per_section, meta.heading_sections),
        &frame.title,
    );

    zip.start_file("OEBPS/style.css", deflated)?;
    zip.write_all(STYLE)?;

    if let Some(jpeg) = cover_jpeg {
        zip.start_file("OEBPS/images/cover.jpg", stored)?;
        zip.write_all(jpeg)?;
        zip.start_file("OEBPS/cover.xhtml", deflated)?;
        let alt = nfc(&format!("Cover: first page of the scan of {}", meta.title));
        let doc = frame.xhtml("style.css", |x| {
            x.start("section", &[("class", "cover"), ("epub:type", "cover")])
                .empty("img", &[("src", "images/cover.jpg"), ("alt", &alt)])
                .end()
                .newline();
        });
        zip.write_all(doc.as_bytes())?;
    }
    for (p, img) in images {
        zip.start_file(format!("OEBPS/images/page-{p:04}.jpg"), stored)?;
        zip.write_all(&img.jpeg)?;
    }

    let mut used_images = Vec::new();
    for s in &secs {
        let doc = frame.xhtml("../style.css", |x| {
            content_document(x, &s.section, reading, images, &mut used_images);
        });
        zip.start_file(format!("OEBPS/{}", s.file), deflated)?;
        zip.write_all(doc.as_bytes())?;
    }

    zip.start_file("OEBPS/nav.xhtml", deflated)?;
    zip.write_all(nav(&frame, &secs, reading).as_bytes())?;

    zip.start_file("OEBPS/content.opf", deflated)?;
    zip.write_all(package_document(meta, &secs, &used_images, cover_jpeg.is_some()).as_bytes())?;
    zip.finish().map_err(io::Error::other)
}

const STYLE: &[u8] = b"body { margin: 0 5%; line-height: 1.45; }\n\
p { margin: 0; text-indent: 1.5em; text-align: justify; hyphens: auto; }\n\
p.cont { text-indent: 0; }\n\
h1 { font-size: 1.3em; text-align: center; margin: 1em 0; }\n\
h2 { font-size: 1.15em; text-align: center; margin: 1em 0 0.5em; }\n\
.scan { margin: 1em 0; text-align: center; } .scan img { max-width: 100%; }\n\
.cover { text-align: center; } .cover img { max-width: 100%; max-height: 95vh; }\n";

/// Unicode NFC: OCR and book.toml text may come decomposed.
fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// META-INF/container.xml: where the package document is.
fn container() -> String {
    let mut x = XmlWriter::indented(2);
    x.declaration()
        .start(
            "container",
            &[
                ("version", "1.0"),
                ("xmlns", "urn:oasis:names:tc:opendocument:xmlns:container"),
            ],
        )
        .start("rootfiles", &[])
        .empty(
            "rootfile",
            &[
                ("full-path", "OEBPS/content.opf"),
                ("media-type", "application/oebps-package+xml"),
            ],
        )
        .end()
        .end();
    x.finish()
}

/// What every XHTML document of the book shares: language, direction and title.
struct Frame<'a> {
    lang: &'a str,
    dir: &'a str,
    /// The book title, NFC.
    title: String,
}

impl Frame<'_> {
    /// An XHTML document with the stylesheet at `css` and the body `body` writes.
    fn xhtml(&self, css: &str, body: impl FnOnce(&mut XmlWriter)) -> String {
        let mut x = XmlWriter::new();
        x.declaration().newline().doctype("html").newline();
        x.start(
            "html",
            &[
                ("xmlns", "http://www.w3.org/1999/xhtml"),
                ("xmlns:epub", "http://www.idpf.org/2007/ops"),
                ("xml:lang", self.lang),
                ("lang", self.lang),
                ("dir", self.dir),
            ],
        )
        .newline();
        x.start("head", &[])
            .empty("meta", &[("charset", "UTF-8")])
            .element("title", &[], &self.title)
            .empty(
                "link",
                &[("rel", "stylesheet"), ("type", "text/css"), ("href", css)],
            )
            .end()
            .newline();
        x.start("body", &[]).newline();
        body(&mut x);
        x.end().newline().end().newline();
        x.finish()
    }
}

/// The body of one content document. The page images shown are added to `used_images`.
fn content_document(
    x: &mut XmlWriter,
    section: &Section,
    reading: &ReadingText,
    images: &BTreeMap<u32, DoubtfulPageImage>,
    used_images: &mut Vec<u32>,
) {
    // The chapter title goes after the page break that opens the chapter's first page, so
    // the page-list entry for that page lands on the title.
    let mut title_due = section.chapter.as_ref();
    let leads_with_break = matches!(section.blocks.first(), Some(ReadingBlock::PageBreak(_)));
    if !leads_with_break && let Some(ch) = title_due.take() {
        x.element("h1", &[], &nfc(ch)).newline();
    }
    for b in &section.blocks {
        match b {
            ReadingBlock::PageBreak(p) => {
                pagebreak(x, *p, &reading.label(*p)).newline();
                if let Some(ch) = title_due.take() {
                    x.element("h1", &[], &nfc(ch)).newline();
                }
            }
            ReadingBlock::Heading(t) => {
                x.element("h2", &[], &nfc(t)).newline();
            }
            ReadingBlock::Para { inlines, continued } => {
                let cont: &[(&str, &str)] = &[("class", "cont")];
                x.start("p", if *continued { cont } else { &[] });
                for i in inlines {
                    match i {
                        Inline::Text(t) => x.text(&nfc(t)),
                        Inline::Break(p) => pagebreak(x, *p, &reading.label(*p)),
                    };
                }
                x.end().newline();
            }
            ReadingBlock::PageImage(p) => {
                if let Some(img) = images.get(p) {
                    used_images.push(*p);
                    let src = format!("../images/page-{p:04}.jpg");
                    let alt = nfc(&format!("Scan of page {}: {}", reading.label(*p), img.note));
                    x.start("figure", &[("class", "scan")])
                        .empty("img", &[("src", &src), ("alt", &alt)])
                        .end()
                        .newline();
                }
            }
        }
    }
}

/// The marker where page `p`, printed `label`, begins.
fn pagebreak<'x>(x: &'x mut XmlWriter, p: u32, label: &str) -> &'x mut XmlWriter {
    let id = format!("page-{p}");
    x.start(
        "span",
        &[
            ("epub:type", "pagebreak"),
            ("role", "doc-pagebreak"),
            ("id", &id),
            ("aria-label", &nfc(label)),
        ],
    )
    .end()
}

/// Navigation: the table of contents and the print page list.
fn nav(frame: &Frame, secs: &[Doc], reading: &ReadingText) -> String {
    let mut page_file: BTreeMap<u32, &str> = BTreeMap::new();
    for s in secs {
        for p in &s.section.pages {
            page_file.insert(*p, s.file.as_str());
        }
    }
    let link = |x: &mut XmlWriter, href: &str, label: &str| {
        x.start("li", &[])
            .element("a", &[("href", href)], &nfc(label))
            .end()
            .newline();
    };
    frame.xhtml("style.css", |x| {
        x.start("nav", &[("epub:type", "toc"), ("id", "toc")])
            .element("h1", &[], &frame.title)
            .newline()
            .start("ol", &[])
            .newline();
        for s in secs.iter().filter(|s| s.in_toc) {
            link(x, &s.file, &s.toc_title);
        }
        x.end().end().newline();
        let attrs = [
            ("epub:type", "page-list"),
            ("id", "page-list"),
            ("hidden", ""),
        ];
        x.start("nav", &attrs).start("ol", &[]).newline();
        for (p, file) in &page_file {
            link(x, &format!("{file}#page-{p}"), &reading.label(*p));
        }
        x.end().end().newline();
    })
}

/// A content document and how the table of contents names it.
struct Doc {
    file: String,
    section: Section,
    toc_title: String,
    in_toc: bool,
}

fn sections(
    reading: &ReadingText,
    chapters: &[(String, u32)],
    (per, headings): (u32, bool),
    book_title: &str,
) -> Vec<Doc> {
    let secs = reading::sections(reading, chapters, per, headings);
    let titled = secs.iter().any(|s| s.title.is_some());
    secs.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let range = match (s.pages.first(), s.pages.last()) {
                (Some(a), Some(b)) if a == b => reading.label(*a),
                (Some(a), Some(b)) => format!("{}–{}", reading.label(*a), reading.label(*b)),
                _ => String::new(),
            };
            // With chapters or headings, the table of contents lists them, and the beginning
            // under the book's title (a page range there reads as a stray number: a newspaper's
            // front page before its first headline); without, every run of pages.
            let toc_title = match &s.title {
                Some(t) => t.clone(),
                None if titled && i == 0 => book_title.to_string(),
                None => range,
            };
            let in_toc = !toc_title.is_empty() && (s.title.is_some() || !titled || i == 0);
            Doc {
                file: format!("text/s{:04}.xhtml", i + 1),
                section: s,
                toc_title,
                in_toc,
            }
        })
        .collect()
}

/// The package document: metadata, manifest and spine.
fn package_document(meta: &EpubMeta, secs: &[Doc], page_images: &[u32], cover: bool) -> String {
    let mut x = XmlWriter::new();
    let lang = meta.languages.first().map_or("und", String::as_str);
    x.declaration().newline();
    let package = [
        ("xmlns", "http://www.idpf.org/2007/opf"),
        ("version", "3.0"),
        ("unique-identifier", "uid"),
        ("xml:lang", lang),
    ];
    x.start("package", &package).newline();
    let dc = [("xmlns:dc", "http://purl.org/dc/elements/1.1/")];
    x.start("metadata", &dc).newline();
    metadata(&mut x, meta, page_images.len(), cover);
    x.end().newline();

    let xhtml = "application/xhtml+xml";
    let mut spine: Vec<String> = Vec::new();
    x.start("manifest", &[]).newline();
    let mut item = |attrs: &[(&str, &str)]| {
        x.empty("item", attrs).newline();
    };
    item(&[
        ("id", "nav"),
        ("href", "nav.xhtml"),
        ("media-type", xhtml),
        ("properties", "nav"),
    ]);
    item(&[
        ("id", "css"),
        ("href", "style.css"),
        ("media-type", "text/css"),
    ]);
    if cover {
        item(&[
            ("id", "cover-image"),
            ("href", "images/cover.jpg"),
            ("media-type", "image/jpeg"),
            ("properties", "cover-image"),
        ]);
        item(&[
            ("id", "cover"),
            ("href", "cover.xhtml"),
            ("media-type", xhtml),
        ]);
        spine.push("cover".to_string());
    }
    for p in page_images {
        let (id, href) = (format!("page-image-{p}"), format!("images/page-{p:04}.jpg"));
        item(&[("id", &id), ("href", &href), ("media-type", "image/jpeg")]);
    }
    for (i, s) in secs.iter().enumerate() {
        let id = format!("s{}", i + 1);
        item(&[("id", &id), ("href", &s.file), ("media-type", xhtml)]);
        spine.push(id);
    }
    x.end().newline();

    let rtl: &[(&str, &str)] = &[("page-progression-direction", "rtl")];
    x.start("spine", if meta.rtl { rtl } else { &[] }).newline();
    for id in &spine {
        x.empty("itemref", &[("idref", id)]).newline();
    }
    x.end().newline().end().newline();
    x.finish()
}

/// The package document's metadata: Dublin Core, modification date, cover, accessibility.
fn metadata(x: &mut XmlWriter, meta: &EpubMeta, page_images: usize, cover: bool) {
    let uid = format!("urn:uuid:{}", book_uuid(&meta.id));
    x.element("dc:identifier", &[("id", "uid")], &uid).newline();
    let isbn = meta.isbn.as_ref().map(|isbn| {
        let digits: String = isbn.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        format!("urn:isbn:{digits}")
    });
    if let Some(isbn) = &isbn {
        x.element("dc:identifier", &[("id", "isbn")], isbn)
            .newline();
    }
    if let Some(other) = &meta.identifier {
        x.element("dc:identifier", &[("id", "extra-id")], &nfc(other))
            .newline();
    }
    x.element("dc:title", &[("id", "title")], &nfc(&meta.title))
        .newline();
    for (i, a) in meta.authors.iter().enumerate() {
        let (id, refines) = (format!("creator{i}"), format!("#creator{i}"));
        x.element("dc:creator", &[("id", &id)], &nfc(a)).newline();
        let role = [
            ("refines", refines.as_str()),
            ("property", "role"),
            ("scheme", "marc:relators"),
        ];
        x.element("meta", &role, "aut").newline();
    }
    for l in &meta.languages {
        x.element("dc:language", &[], &nfc(l)).newline();
    }
    if meta.languages.is_empty() {
        x.element("dc:language", &[], "und").newline();
    }
    if let Some(p) = &meta.publisher {
        x.element("dc:publisher", &[], &nfc(p)).newline();
    }
    if let Some(d) = &meta.date {
        x.element("dc:date", &[], d).newline();
    }
    for s in &meta.subjects {
        x.element("dc:subject", &[], &nfc(s)).newline();
    }
    if let Some(r) = &meta.rights {
        x.element("dc:rights", &[], &nfc(r)).newline();
    }
    if let Some(d) = &meta.description {
        x.element("dc:description", &[], &nfc(d)).newline();
    }
    // The page breaks are those of the printed book that was scanned: its ISBN when known.
    // (EPUB Accessibility 1.0's `source-of pagination`: epubcheck 4.2 rejects 1.1's
    // `a11y:pageBreakSource` as an undefined property.)
    if let Some(isbn) = &isbn {
        x.element("dc:source", &[("id", "src")], isbn).newline();
        let source_of = [("refines", "#src"), ("property", "source-of")];
        x.element("meta", &source_of, "pagination").newline();
    }
    if let Some(series) = &meta.series {
        collection(x, series, meta.volume.as_deref());
    }
    let modified = [("property", "dcterms:modified")];
    x.element("meta", &modified, &meta.modified).newline();
    if cover {
        x.empty("meta", &[("name", "cover"), ("content", "cover-image")])
            .newline();
    }
    accessibility(x, meta, page_images, cover);
}

/// The series as an EPUB 3 collection. `group-position` is a number: a volume written
/// otherwise ("II", "3a") joins the collection's name instead, so readers still show it.
fn collection(x: &mut XmlWriter, series: &str, volume: Option<&str>) {
    let numeric = volume.filter(|v| {
        !v.is_empty()
            && v.chars().all(|c| c.is_ascii_digit() || c == '.')
            && v.parse::<f64>().is_ok()
    });
    let name = match (volume, numeric) {
        (Some(v), None) => format!("{series}, {v}"),
        _ => series.to_string(),
    };
    let collection = [("property", "belongs-to-collection"), ("id", "series")];
    x.element("meta", &collection, &nfc(&name)).newline();
    let kind = [("refines", "#series"), ("property", "collection-type")];
    x.element("meta", &kind, "series").newline();
    if let Some(v) = numeric {
        let position = [("refines", "#series"), ("property", "group-position")];
        x.element("meta", &position, v).newline();
    }
}

/// Schema.org accessibility metadata (EPUB Accessibility 1.1): what a reader gets, and that the
/// text is OCR with the confidence it was read with.
fn accessibility(x: &mut XmlWriter, meta: &EpubMeta, page_images: usize, cover: bool) {
    let mut prop = |p: &str, v: &str| {
        let property = format!("schema:{p}");
        x.element("meta", &[("property", &property)], &nfc(v))
            .newline();
    };
    prop("accessMode", "textual");
    if cover || page_images > 0 {
        prop("accessMode", "visual");
    }
    prop("accessModeSufficient", "textual");
    if page_images > 0 {
        // Where the OCR text is doubtful, the page image completes it.
        prop("accessModeSufficient", "textual,visual");
    }
    for f in [
        "printPageNumbers",
        "pageNavigation",
        "tableOfContents",
        "readingOrder",
        "displayTransformability",
    ] {
        prop("accessibilityFeature", f);
    }
    if cover || page_images > 0 {
        prop("accessibilityFeature", "alternativeText");
    }
    prop("accessibilityHazard", "none");
    let confidence = meta
        .confidence
        .map_or("unknown".to_string(), |c| format!("{c:.0} %"));
    let mut summary = format!(
        "The text of this book was recognised by OCR (Tesseract) from scanned pages and may \
contain recognition errors; mean word confidence {confidence}. Running headers and page numbers \
are left out of the text; the printed page numbers are kept as page break markers and a page list."
    );
    if page_images > 0 {
        summary.push_str(&format!(
            " {page_images} page(s) read with low confidence also show the page image after their text."
        ));
    }
    prop("accessibilitySummary", &summary);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_stable_and_well_formed() {
        let u = book_uuid("kz-0001");
        assert_eq!(u, book_uuid("kz-0001"));
        assert_ne!(u, book_uuid("kz-0002"));
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "5");
    }

    fn unzip(bytes: Vec<u8>) -> BTreeMap<String, String> {
        let mut z = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let mut buf = Vec::new();
                io::Read::read_to_end(&mut f, &mut buf).unwrap();
                (
                    f.name().unwrap().to_string(),
                    String::from_utf8_lossy(&buf).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn writes_text_page_list_and_accessibility_metadata() {
        use crate::ocr::parse_hocr;
        use crate::reading::{PageText, reflow};
        // Decomposed "й" (и + combining breve) must come out composed.
        let hocr = "<p class='ocr_par'><span class='ocr_line' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>библио-</span></span>\
<span class='ocr_line' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>тека</span> <span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>и\u{306}</span></span></p>";
        let mut pages: Vec<PageText> = (1..=3)
            .map(|i| PageText::from_ocr(i, &parse_hocr(hocr)))
            .collect();
        pages[1].show_image = true;
        let reading = reflow(&pages, None);
        let meta = EpubMeta {
            id: "b".into(),
            title: "Кітап".into(),
            languages: vec!["kk".into(), "ru".into()],
            isbn: Some("978-601-00-0000-0".into()),
            pages_per_section: 2,
            heading_sections: true,
            confidence: Some(87.4),
            modified: "2026-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let images = BTreeMap::from([(
            2,
            DoubtfulPageImage {
                jpeg: vec![0xff, 0xd8],
                note: "OCR confidence 31 %".into(),
            },
        )]);
        let out = write(io::Cursor::new(Vec::new()), &meta, &reading, &images, None).unwrap();
        let files = unzip(out.into_inner());
        let s1 = &files["OEBPS/text/s0001.xhtml"];
        // Lines joined across the hyphen, and the paragraph across the page turn.
        assert!(
            s1.contains("<p>библиотека й <span epub:type=\"pagebreak\""),
            "{s1}"
        );
        assert!(s1.contains("xml:lang=\"kk\"") && s1.contains("dir=\"ltr\""));
        assert!(s1.contains(
            "<img src=\"../images/page-0002.jpg\" alt=\"Scan of page 2: OCR confidence 31 %\"/>"
        ));
        assert!(files.contains_key("OEBPS/images/page-0002.jpg"));
        let nav = &files["OEBPS/nav.xhtml"];
        assert_eq!(nav.matches("#page-").count(), 3, "{nav}");
        let opf = &files["OEBPS/content.opf"];
        for m in [
            "urn:isbn:9786010000000",
            "<dc:language>kk</dc:language>\n<dc:language>ru</dc:language>",
            "schema:accessMode\">textual",
            "schema:accessMode\">visual",
            "schema:accessModeSufficient\">textual,visual",
            "accessibilityFeature\">printPageNumbers",
            "accessibilityHazard\">none",
            "mean word confidence 87 %",
            "<dc:source id=\"src\">urn:isbn:9786010000000</dc:source>",
        ] {
            assert!(opf.contains(m), "{m} missing in\n{opf}");
        }
    }
}
