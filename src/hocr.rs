//! Writes a book's hOCR: one `ocr_page` per page with blocks, paragraphs, lines and words,
//! boxes in the pixel coordinates of the page image shown in the PDF.

use std::io::{self, Write};

use crate::ocr::{BBox, Line, OcrPage};
use crate::xml::XmlWriter;

fn bbox(b: &BBox) -> String {
    format!(
        "bbox {} {} {} {}",
        b.x0.round() as i64,
        b.y0.round() as i64,
        b.x1.round() as i64,
        b.y1.round() as i64
    )
}

/// The document head and the opening of the body; [`page`] follows for each page, then [`end`].
pub fn begin<W: Write>(out: &mut W, title: &str, lang: &str) -> io::Result<()> {
    let mut x = XmlWriter::new();
    x.declaration().newline();
    x.doctype(
        "html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \
\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\"",
    )
    .newline();
    let html = [
        ("xmlns", "http://www.w3.org/1999/xhtml"),
        ("xml:lang", lang),
        ("lang", lang),
    ];
    x.start("html", &html)
        .newline()
        .start("head", &[])
        .newline();
    // As long as a metadata string may be in any output (book.toml's loader warns when cut).
    let title = crate::config::cut_to_bytes(title, crate::pdf::MAX_STRING_BYTES);
    x.element("title", &[], title).newline();
    let system = format!("kitap {} (tesseract)", env!("CARGO_PKG_VERSION"));
    let meta = [
        [
            ("http-equiv", "Content-Type"),
            ("content", "text/html;charset=utf-8"),
        ],
        [("name", "ocr-system"), ("content", &system)],
        [
            ("name", "ocr-capabilities"),
            (
                "content",
                "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf",
            ),
        ],
    ];
    for attrs in &meta {
        x.empty("meta", attrs).newline();
    }
    x.end().newline().start("body", &[]).newline();
    out.write_all(x.take().as_bytes())
}

/// One page. `source` names the scan; `boxes_in_source` says whether the boxes are in that
/// image's own pixels (no turn, deskew, crop or resampling), which is what hOCR's `image`
/// property promises. Otherwise they are in the page as the PDF shows it, and the scan is
/// named by kitap's own `x_source` property. A failed page is an empty `ocr_page`.
pub fn page<W: Write>(
    out: &mut W,
    index: u32,
    source: &str,
    boxes_in_source: bool,
    dpi: Option<f64>,
    ocr: Option<&OcrPage>,
) -> io::Result<()> {
    let (w, h) = ocr.map_or((0, 0), |o| (o.width, o.height));
    let res = dpi.map_or(String::new(), |d| {
        format!("; scan_res {0} {0}", d.round() as i64)
    });
    let name = if boxes_in_source { "image" } else { "x_source" };
    let id = format!("page_{index}");
    let title = format!(
        "{name} \"{source}\"; bbox 0 0 {w} {h}; ppageno {}{res}",
        index - 1
    );
    let mut x = XmlWriter::new();
    x.start(
        "div",
        &[("class", "ocr_page"), ("id", &id), ("title", &title)],
    )
    .newline();
    for (bi, b) in ocr.iter().flat_map(|o| o.blocks.iter().enumerate()) {
        let id = format!("block_{index}_{}", bi + 1);
        let attrs = [
            ("class", "ocr_carea"),
            ("id", &id),
            ("title", &bbox(&b.bbox)),
        ];
        x.start("div", &attrs).newline();
        for (pi, p) in b.paragraphs.iter().enumerate() {
            let id = format!("par_{index}_{}_{}", bi + 1, pi + 1);
            let attrs = [("class", "ocr_par"), ("id", &id), ("title", &bbox(&p.bbox))];
            x.start("p", &attrs).newline();
            for (li, l) in p.lines.iter().enumerate() {
                let id = format!("line_{index}_{}_{}_{}", bi + 1, pi + 1, li + 1);
                line(&mut x, &id, l);
            }
            x.end().newline();
        }
        x.end().newline();
    }
    x.end().newline();
    out.write_all(x.finish().as_bytes())
}

/// One line and its words, on one line of the file.
fn line(x: &mut XmlWriter, id: &str, l: &Line) {
    let title = format!(
        "{}; baseline {:.3} {:.0}",
        bbox(&l.bbox),
        l.baseline_slope,
        l.baseline_offset
    );
    x.start(
        "span",
        &[("class", "ocr_line"), ("id", id), ("title", &title)],
    );
    for (wi, wd) in l.words.iter().enumerate() {
        if wi > 0 {
            x.text(" ");
        }
        let title = format!("{}; x_wconf {:.0}", bbox(&wd.bbox), wd.conf);
        let attrs = [("class", "ocrx_word"), ("title", &title)];
        x.element("span", &attrs, &wd.text);
    }
    x.end().newline();
}

/// Closes the body and the document [`begin`] opened.
pub fn end<W: Write>(out: &mut W) -> io::Result<()> {
    let mut x = XmlWriter::within(&["html", "body"]);
    x.end().newline().end().newline();
    out.write_all(x.finish().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::parse_hocr;

    #[test]
    fn round_trips_through_the_parser() {
        let src = "<div class='ocr_carea' title='bbox 1 2 30 40'><p class='ocr_par' title='bbox 1 2 30 40'>\
<span class='ocr_line' title='bbox 1 2 30 40; baseline 0 -3'><span class='ocrx_word' title='bbox 1 2 10 20; x_wconf 91'>Ýaşlar&amp;</span></span></p></div>";
        let mut page_in = parse_hocr(src);
        page_in.width = 100;
        page_in.height = 200;
        let mut out = Vec::new();
        page(&mut out, 3, "a/0003.png", true, Some(300.0), Some(&page_in)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("bbox 0 0 100 200; ppageno 2; scan_res 300 300"));
        let back = parse_hocr(&text);
        assert_eq!(back.blocks, page_in.blocks);
    }
}
