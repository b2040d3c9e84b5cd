//! Writes a book's hOCR: one `ocr_page` per page with blocks, paragraphs, lines and words,
//! boxes in the pixel coordinates of the page image shown in the PDF.

use std::io::{self, Write};

use crate::ocr::{BBox, OcrPage};
use crate::xml;

fn bbox(b: &BBox) -> String {
    format!(
        "bbox {} {} {} {}",
        b.x0.round() as i64,
        b.y0.round() as i64,
        b.x1.round() as i64,
        b.y1.round() as i64
    )
}

pub fn begin<W: Write>(out: &mut W, title: &str, lang: &str) -> io::Result<()> {
    write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"{lang}\" lang=\"{lang}\">\n<head>\n<title>{}</title>\n\
<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n<meta name=\"ocr-system\" content=\"kitap {} (tesseract)\"/>\n\
<meta name=\"ocr-capabilities\" content=\"ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf\"/>\n</head>\n<body>\n",
        xml::escape(title),
        env!("CARGO_PKG_VERSION")
    )
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
    writeln!(
        out,
        "<div class=\"ocr_page\" id=\"page_{index}\" title=\"{name} &quot;{}&quot;; bbox 0 0 {w} {h}; ppageno {}{res}\">",
        xml::escape(source),
        index - 1
    )?;
    if let Some(ocr) = ocr {
        for (bi, b) in ocr.blocks.iter().enumerate() {
            writeln!(
                out,
                "<div class=\"ocr_carea\" id=\"block_{index}_{}\" title=\"{}\">",
                bi + 1,
                bbox(&b.bbox)
            )?;
            for (pi, p) in b.paragraphs.iter().enumerate() {
                writeln!(
                    out,
                    "<p class=\"ocr_par\" id=\"par_{index}_{}_{}\" title=\"{}\">",
                    bi + 1,
                    pi + 1,
                    bbox(&p.bbox)
                )?;
                for (li, l) in p.lines.iter().enumerate() {
                    write!(
                        out,
                        "<span class=\"ocr_line\" id=\"line_{index}_{}_{}_{}\" title=\"{}; baseline {:.3} {:.0}\">",
                        bi + 1,
                        pi + 1,
                        li + 1,
                        bbox(&l.bbox),
                        l.baseline_slope,
                        l.baseline_offset
                    )?;
                    for (wi, wd) in l.words.iter().enumerate() {
                        if wi > 0 {
                            out.write_all(b" ")?;
                        }
                        write!(
                            out,
                            "<span class=\"ocrx_word\" title=\"{}; x_wconf {:.0}\">{}</span>",
                            bbox(&wd.bbox),
                            wd.conf,
                            xml::escape(&wd.text)
                        )?;
                    }
                    out.write_all(b"</span>\n")?;
                }
                out.write_all(b"</p>\n")?;
            }
            out.write_all(b"</div>\n")?;
        }
    }
    out.write_all(b"</div>\n")
}

pub fn end<W: Write>(out: &mut W) -> io::Result<()> {
    out.write_all(b"</body>\n</html>\n")
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
