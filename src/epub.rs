//! Writes the reflowable EPUB 3: OCR text by page as paragraphs, split into small content
//! documents, with a nav (table of contents and print page list), Dublin Core metadata and a
//! cover made from the first page.
//!
//! Written directly with `zip` rather than epub-builder: 0.8.3 produces invalid files, and 0.8.2
//! cannot write a page-list, an ISBN identifier or dc:publisher, which libraries need.

use std::io::{self, Seek, Write};

use sha2::{Digest, Sha256};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::ocr::OcrPage;
use crate::xml;

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
    pub year: Option<i32>,
    pub subjects: Vec<String>,
    pub rights: Option<String>,
    /// `dcterms:modified`, `CCYY-MM-DDThh:mm:ssZ`.
    pub modified: String,
    pub chapters: Vec<(String, u32)>,
    pub pages_per_section: u32,
}

/// The text of one page, ready to lay out.
#[derive(Debug, Clone, Default)]
pub struct EpubPage {
    pub index: u32,
    pub paragraphs: Vec<String>,
}

impl EpubPage {
    /// Paragraphs from the OCR layout: lines joined with spaces, a word split by a hyphen at the
    /// end of a line joined again.
    pub fn from_ocr(index: u32, ocr: &OcrPage) -> EpubPage {
        let paragraphs = ocr
            .blocks
            .iter()
            .flat_map(|b| &b.paragraphs)
            .map(|p| {
                let mut text = String::new();
                for line in &p.lines {
                    for w in &line.words {
                        if !text.is_empty() && !text.ends_with('\u{ad}') {
                            text.push(' ');
                        }
                        text.push_str(&w.text);
                    }
                    // A soft break marker: joined without a space if the next line continues
                    // the word.
                    if text.ends_with('-')
                        && text.chars().rev().nth(1).is_some_and(char::is_alphabetic)
                    {
                        text.pop();
                        text.push('\u{ad}');
                    }
                }
                text.replace('\u{ad}', "")
            })
            .filter(|t| !t.trim().is_empty())
            .collect();
        EpubPage { index, paragraphs }
    }
}

/// A stable UUID (version 5 layout) from the book id, so the same book keeps its identifier.
pub fn book_uuid(id: &str) -> String {
    let h = Sha256::digest(format!("kitap:book:{id}").as_bytes());
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

struct Section {
    file: String,
    title: String,
    pages: Vec<u32>,
}

/// Groups pages into content documents: at chapter starts when chapters are given, and at
/// most `pages_per_section` pages each.
fn sections(meta: &EpubMeta, page_count: u32) -> Vec<Section> {
    let mut starts: Vec<(u32, String)> = meta
        .chapters
        .iter()
        .filter(|(_, p)| *p >= 1 && *p <= page_count)
        .map(|(t, p)| (*p, t.clone()))
        .collect();
    starts.sort_by_key(|(p, _)| *p);
    starts.dedup_by_key(|(p, _)| *p);
    if starts.first().is_none_or(|(p, _)| *p > 1) {
        starts.insert(0, (1, String::new()));
    }
    let per = meta.pages_per_section.max(1);
    let mut out: Vec<Section> = Vec::new();
    for (i, (start, title)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(page_count, |(p, _)| p - 1);
        let mut first = *start;
        while first <= end {
            let last = (first + per - 1).min(end);
            let t = if first == *start && !title.is_empty() {
                title.clone()
            } else if first == last {
                format!("{first}")
            } else {
                format!("{first}–{last}")
            };
            out.push(Section {
                file: format!("text/s{:04}.xhtml", out.len() + 1),
                title: t,
                pages: (first..=last).collect(),
            });
            first = last + 1;
        }
    }
    out
}

/// Writes the EPUB for `pages` (every index 1..=n present, failed pages with no paragraphs).
pub fn write<W: Write + Seek>(
    out: W,
    meta: &EpubMeta,
    pages: &[EpubPage],
    cover_jpeg: Option<&[u8]>,
) -> io::Result<W> {
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
    zip.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"#,
    )?;

    let lang = meta.languages.first().map_or("und", String::as_str);
    let dir = if meta.rtl { "rtl" } else { "ltr" };
    let page_count = pages.len() as u32;
    let secs = sections(meta, page_count);

    zip.start_file("OEBPS/style.css", deflated)?;
    zip.write_all(
        b"body { margin: 0 5%; line-height: 1.45; }\n\
p { margin: 0; text-indent: 1.5em; text-align: justify; hyphens: auto; }\n\
h1 { font-size: 1.3em; text-align: center; margin: 1em 0; }\n\
.pagebreak { display: block; }\n\
.cover { text-align: center; } .cover img { max-width: 100%; max-height: 95vh; }\n",
    )?;

    if let Some(jpeg) = cover_jpeg {
        zip.start_file("OEBPS/images/cover.jpg", stored)?;
        zip.write_all(jpeg)?;
        zip.start_file("OEBPS/cover.xhtml", deflated)?;
        zip.write_all(
            xhtml(
                lang,
                dir,
                "style.css",
                &xml::escape(&meta.title),
                &format!(
                    "<section class=\"cover\" epub:type=\"cover\"><img src=\"images/cover.jpg\" alt=\"{}\"/></section>",
                    xml::escape(&format!("Cover: first page of the scan of {}", meta.title))
                ),
            )
            .as_bytes(),
        )?;
    }

    for s in &secs {
        let mut body = String::new();
        if !s.title.is_empty()
            && meta
                .chapters
                .iter()
                .any(|(t, p)| *t == s.title && s.pages.first() == Some(p))
        {
            body.push_str(&format!("<h1>{}</h1>\n", xml::escape(&s.title)));
        }
        for &i in &s.pages {
            body.push_str(&format!(
                "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"page-{i}\" aria-label=\"{i}\" class=\"pagebreak\"></span>\n"
            ));
            if let Some(p) = pages.get(i as usize - 1) {
                for para in &p.paragraphs {
                    body.push_str(&format!("<p>{}</p>\n", xml::escape(para)));
                }
            }
        }
        zip.start_file(format!("OEBPS/{}", s.file), deflated)?;
        zip.write_all(
            xhtml(lang, dir, "../style.css", &xml::escape(&meta.title), &body).as_bytes(),
        )?;
    }

    // Navigation: table of contents and the print page list.
    let toc: String = secs
        .iter()
        .map(|s| {
            format!(
                "<li><a href=\"{}\">{}</a></li>\n",
                s.file,
                xml::escape(&s.title)
            )
        })
        .collect();
    let page_list: String = secs
        .iter()
        .flat_map(|s| s.pages.iter().map(move |i| (s, i)))
        .map(|(s, i)| format!("<li><a href=\"{}#page-{i}\">{i}</a></li>\n", s.file))
        .collect();
    let nav_body = format!(
        "<nav epub:type=\"toc\" id=\"toc\"><h1>{}</h1>\n<ol>\n{toc}</ol></nav>\n\
<nav epub:type=\"page-list\" id=\"page-list\" hidden=\"\"><ol>\n{page_list}</ol></nav>\n",
        xml::escape(&meta.title)
    );
    zip.start_file("OEBPS/nav.xhtml", deflated)?;
    zip.write_all(xhtml(lang, dir, "style.css", &xml::escape(&meta.title), &nav_body).as_bytes())?;

    zip.start_file("OEBPS/content.opf", deflated)?;
    zip.write_all(package_document(meta, &secs, cover_jpeg.is_some()).as_bytes())?;
    zip.finish().map_err(io::Error::other)
}

fn xhtml(lang: &str, dir: &str, css: &str, title: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" xml:lang=\"{lang}\" lang=\"{lang}\" dir=\"{dir}\">\n\
<head><meta charset=\"UTF-8\"/><title>{title}</title><link rel=\"stylesheet\" type=\"text/css\" href=\"{css}\"/></head>\n<body>\n{body}</body>\n</html>\n"
    )
}

fn package_document(meta: &EpubMeta, secs: &[Section], cover: bool) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "<dc:identifier id=\"uid\">urn:uuid:{}</dc:identifier>\n",
        book_uuid(&meta.id)
    ));
    if let Some(isbn) = &meta.isbn {
        let digits: String = isbn.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        md.push_str(&format!(
            "<dc:identifier id=\"isbn\">urn:isbn:{}</dc:identifier>\n",
            xml::escape(&digits)
        ));
    }
    if let Some(other) = &meta.identifier {
        md.push_str(&format!(
            "<dc:identifier id=\"extra-id\">{}</dc:identifier>\n",
            xml::escape(other)
        ));
    }
    md.push_str(&format!(
        "<dc:title id=\"title\">{}</dc:title>\n",
        xml::escape(&meta.title)
    ));
    for (i, a) in meta.authors.iter().enumerate() {
        md.push_str(&format!(
            "<dc:creator id=\"creator{i}\">{}</dc:creator>\n<meta refines=\"#creator{i}\" property=\"role\" scheme=\"marc:relators\">aut</meta>\n",
            xml::escape(a)
        ));
    }
    for l in &meta.languages {
        md.push_str(&format!("<dc:language>{}</dc:language>\n", xml::escape(l)));
    }
    if meta.languages.is_empty() {
        md.push_str("<dc:language>und</dc:language>\n");
    }
    if let Some(p) = &meta.publisher {
        md.push_str(&format!(
            "<dc:publisher>{}</dc:publisher>\n",
            xml::escape(p)
        ));
    }
    if let Some(y) = meta.year {
        md.push_str(&format!("<dc:date>{y:04}</dc:date>\n"));
    }
    for s in &meta.subjects {
        md.push_str(&format!("<dc:subject>{}</dc:subject>\n", xml::escape(s)));
    }
    if let Some(r) = &meta.rights {
        md.push_str(&format!("<dc:rights>{}</dc:rights>\n", xml::escape(r)));
    }
    md.push_str(&format!(
        "<meta property=\"dcterms:modified\">{}</meta>\n",
        meta.modified
    ));
    if cover {
        md.push_str("<meta name=\"cover\" content=\"cover-image\"/>\n");
    }

    let mut items = String::from(
        "<item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" properties=\"nav\"/>\n\
<item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>\n",
    );
    let mut spine = String::new();
    if cover {
        items.push_str(
            "<item id=\"cover-image\" href=\"images/cover.jpg\" media-type=\"image/jpeg\" properties=\"cover-image\"/>\n\
<item id=\"cover\" href=\"cover.xhtml\" media-type=\"application/xhtml+xml\"/>\n",
        );
        spine.push_str("<itemref idref=\"cover\"/>\n");
    }
    for (i, s) in secs.iter().enumerate() {
        items.push_str(&format!(
            "<item id=\"s{}\" href=\"{}\" media-type=\"application/xhtml+xml\"/>\n",
            i + 1,
            s.file
        ));
        spine.push_str(&format!("<itemref idref=\"s{}\"/>\n", i + 1));
    }
    let dir = if meta.rtl {
        " page-progression-direction=\"rtl\""
    } else {
        ""
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" unique-identifier=\"uid\" xml:lang=\"{lang}\">\n\
<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n{md}</metadata>\n\
<manifest>\n{items}</manifest>\n<spine{dir}>\n{spine}</spine>\n</package>\n",
        lang = meta.languages.first().map_or("und", String::as_str)
    )
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

    #[test]
    fn sections_split_at_chapters_and_size() {
        let meta = EpubMeta {
            chapters: vec![("One".into(), 3), ("Two".into(), 9)],
            pages_per_section: 4,
            ..Default::default()
        };
        let s = sections(&meta, 12);
        let spans: Vec<_> = s
            .iter()
            .map(|s| (s.pages[0], *s.pages.last().unwrap()))
            .collect();
        assert_eq!(spans, [(1, 2), (3, 6), (7, 8), (9, 12)]);
        assert_eq!(s[1].title, "One");
    }

    #[test]
    fn hyphen_at_line_end_is_joined() {
        use crate::ocr::parse_hocr;
        let hocr = "<p class='ocr_par'><span class='ocr_line' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>библио-</span></span>\
<span class='ocr_line' title='bbox 0 0 1 1'><span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>тека</span> <span class='ocrx_word' title='bbox 0 0 1 1; x_wconf 90'>и</span></span></p>";
        let page = EpubPage::from_ocr(1, &parse_hocr(hocr));
        assert_eq!(page.paragraphs, ["библиотека и"]);
    }
}
