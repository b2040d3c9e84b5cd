//! ALTO 4 XML, one file per page: the layout and text format national libraries, Europeana and
//! METS packages exchange. Blocks of Tesseract's paragraphs become `TextBlock`s, its lines
//! `TextLine`s (with their baseline), its words `String`s with their confidence (`WC`, 0–1)
//! and `SP` between them. Measurements are pixels of the page as the PDF shows it (upright,
//! straightened), the same as the hOCR's boxes; `sourceImageInformation` names the scan.
//! Valid against the ALTO 4.4 schema (tested with xmllint).

use crate::ocr::{BBox, Line, OcrPage};
use crate::xml::XmlWriter;

pub const NAMESPACE: &str = "http://www.loc.gov/standards/alto/ns-v4#";

/// The manifest's media type of an ALTO file (not registered with IANA; METS names ALTO files
/// by their schema, and this says which XML it is).
pub const MEDIA_TYPE: &str = "application/alto+xml";

/// What a page's ALTO says besides its words.
pub struct AltoPage<'a> {
    /// 1-based position in the book (`PHYSICAL_IMG_NR`).
    pub index: u32,
    /// The scan, relative to the scan root.
    pub source: &'a str,
    /// The measurements are in the scan's own pixels (nothing turned, straightened, cut or
    /// resampled): `sourceImageInformation` names it. Otherwise they are of the page as the PDF
    /// shows it, and the processing step says so and names the scan.
    pub boxes_in_source: bool,
    /// BCP 47 tag of the book's main language (`LANG` of each block).
    pub lang: &'a str,
    /// None: the page could not be converted (`QUALITY="Missing"`, no text).
    pub ocr: Option<&'a OcrPage>,
}

/// `HPOS`, `VPOS`, `WIDTH`, `HEIGHT` of a box, in whole pixels.
fn position(b: &BBox) -> [(&'static str, String); 4] {
    let (x0, y0) = (b.x0.round() as i64, b.y0.round() as i64);
    let (x1, y1) = (b.x1.round() as i64, b.y1.round() as i64);
    [
        ("HPOS", x0.to_string()),
        ("VPOS", y0.to_string()),
        ("WIDTH", (x1 - x0).max(0).to_string()),
        ("HEIGHT", (y1 - y0).max(0).to_string()),
    ]
}

fn attrs<'a>(named: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    named.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The whole ALTO document of one page.
pub fn page(p: &AltoPage) -> String {
    let mut x = XmlWriter::new();
    x.declaration().newline();
    let root = [
        ("xmlns", NAMESPACE),
        ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        (
            "xsi:schemaLocation",
            "http://www.loc.gov/standards/alto/ns-v4# http://www.loc.gov/alto/v4/alto-4-4.xsd",
        ),
        ("SCHEMAVERSION", "4.4"),
    ];
    x.start("alto", &root).newline();
    description(&mut x, p.source, p.boxes_in_source);
    x.start("Layout", &[]).newline();
    let (w, h) = p.ocr.map_or((0, 0), |o| (o.width, o.height));
    let id = format!("p{}", p.index);
    let (nr, w, h) = (p.index.to_string(), w.to_string(), h.to_string());
    let mut page_attrs = vec![("ID", id.as_str()), ("PHYSICAL_IMG_NR", nr.as_str())];
    match p.ocr {
        Some(_) => page_attrs.extend([("WIDTH", w.as_str()), ("HEIGHT", h.as_str())]),
        None => page_attrs.push(("QUALITY", "Missing")),
    }
    x.start("Page", &page_attrs).newline();
    if let Some(ocr) = p.ocr {
        let space = [
            ("HPOS", "0"),
            ("VPOS", "0"),
            ("WIDTH", w.as_str()),
            ("HEIGHT", h.as_str()),
        ];
        x.start("PrintSpace", &space).newline();
        blocks(&mut x, &id, p.lang, ocr);
        x.end().newline();
    }
    x.end().newline().end().newline().end().newline();
    x.finish()
}

fn description(x: &mut XmlWriter, source: &str, boxes_in_source: bool) {
    x.start("Description", &[]).newline();
    x.element("MeasurementUnit", &[], "pixel").newline();
    if boxes_in_source {
        x.start("sourceImageInformation", &[]);
        x.element("fileName", &[], source);
        x.end().newline();
    }
    x.start("Processing", &[("ID", "ocr")]).newline();
    x.element("processingCategory", &[], "contentGeneration")
        .newline();
    x.element(
        "processingStepDescription",
        &[],
        "page prepared by kitap (orientation, skew, borders as the pipeline says), then read by Tesseract (LSTM)",
    )
    .newline();
    if !boxes_in_source {
        let settings = format!(
            "source scan: {source}; measurements are of the page as the PDF shows it (turned upright, straightened, cut), not of the scan"
        );
        x.element("processingStepSettings", &[], &settings)
            .newline();
    }
    x.start("processingSoftware", &[]).newline();
    x.element("softwareCreator", &[], "kitap").newline();
    x.element("softwareName", &[], "kitap (Tesseract)")
        .newline();
    x.element("softwareVersion", &[], env!("CARGO_PKG_VERSION"))
        .newline();
    x.end().newline().end().newline().end().newline();
}

/// Tesseract's paragraphs as `TextBlock`s, in reading order.
fn blocks(x: &mut XmlWriter, page_id: &str, lang: &str, ocr: &OcrPage) {
    let paragraphs = ocr.blocks.iter().flat_map(|b| b.paragraphs.iter());
    for (bi, par) in paragraphs.enumerate() {
        let id = format!("{page_id}_b{}", bi + 1);
        let pos = position(&par.bbox);
        let mut a = vec![("ID", id.as_str())];
        a.extend(attrs(&pos));
        a.push(("LANG", lang));
        x.start("TextBlock", &a).newline();
        for (li, l) in par.lines.iter().enumerate() {
            line(x, &format!("{id}_l{}", li + 1), l);
        }
        x.end().newline();
    }
}

/// One `TextLine`: its words and the spaces between them.
fn line(x: &mut XmlWriter, id: &str, l: &Line) {
    let pos = position(&l.bbox);
    // hOCR's baseline: offset from the box's bottom-left corner, then its slope.
    let y0 = l.bbox.y1 + l.baseline_offset;
    let y1 = y0 + l.baseline_slope * (l.bbox.x1 - l.bbox.x0);
    let baseline = format!("{:.0},{:.0} {:.0},{:.0}", l.bbox.x0, y0, l.bbox.x1, y1);
    let mut a = vec![("ID", id)];
    a.extend(attrs(&pos));
    a.push(("BASELINE", baseline.as_str()));
    x.start("TextLine", &a);
    let mut previous: Option<&BBox> = None;
    for (wi, w) in l.words.iter().enumerate() {
        if let Some(p) = previous {
            // Words come in reading order: the space lies between the two boxes, to the right
            // of the previous word on a left-to-right line, to its left on a right-to-left one.
            let (from, to) = if w.bbox.x0 >= p.x1 {
                (p.x1, w.bbox.x0)
            } else {
                (w.bbox.x1, p.x0)
            };
            let gap = [
                ("WIDTH", format!("{:.0}", (to - from).max(0.0))),
                ("HPOS", format!("{from:.0}")),
                ("VPOS", format!("{:.0}", w.bbox.y0)),
            ];
            x.empty("SP", &attrs(&gap));
        }
        let wid = format!("{id}_w{}", wi + 1);
        let pos = position(&w.bbox);
        let wc = format!("{:.2}", (w.conf / 100.0).clamp(0.0, 1.0));
        let mut a = vec![("ID", wid.as_str())];
        a.extend(attrs(&pos));
        a.extend([("CONTENT", w.text.as_str()), ("WC", wc.as_str())]);
        x.empty("String", &a);
        previous = Some(&w.bbox);
    }
    x.end().newline();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::parse_hocr;

    #[test]
    fn words_boxes_and_confidences() {
        let src = "<div class='ocr_carea' title='bbox 10 20 300 80'><p class='ocr_par' title='bbox 10 20 300 80'>\
<span class='ocr_line' title='bbox 10 20 300 60; baseline 0.01 -5'><span class='ocrx_word' title='bbox 10 20 100 60; x_wconf 91'>Ýaşlar&amp;</span> \
<span class='ocrx_word' title='bbox 120 22 300 60; x_wconf 45'>«ňäme»</span></span></p></div>";
        let mut ocr = parse_hocr(src);
        ocr.width = 400;
        ocr.height = 500;
        let xml = page(&AltoPage {
            index: 3,
            source: "kitap/0003.tif",
            boxes_in_source: true,
            lang: "tk",
            ocr: Some(&ocr),
        });
        for want in [
            "<Page ID=\"p3\" PHYSICAL_IMG_NR=\"3\" WIDTH=\"400\" HEIGHT=\"500\">",
            "<TextBlock ID=\"p3_b1\" HPOS=\"10\" VPOS=\"20\" WIDTH=\"290\" HEIGHT=\"60\" LANG=\"tk\">",
            "BASELINE=\"10,55 300,58\"",
            "<String ID=\"p3_b1_l1_w1\" HPOS=\"10\" VPOS=\"20\" WIDTH=\"90\" HEIGHT=\"40\" CONTENT=\"Ýaşlar&amp;\" WC=\"0.91\"/>",
            "<SP WIDTH=\"20\" HPOS=\"100\" VPOS=\"22\"/>",
            "CONTENT=\"«ňäme»\" WC=\"0.45\"",
            "<fileName>kitap/0003.tif</fileName>",
        ] {
            assert!(xml.contains(want), "{want}\n{xml}");
        }
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().tag_name().namespace(), Some(NAMESPACE));
        let missing = page(&AltoPage {
            index: 4,
            source: "kitap/0004.tif",
            boxes_in_source: false,
            lang: "tk",
            ocr: None,
        });
        assert!(missing.contains("QUALITY=\"Missing\""), "{missing}");
        assert!(!missing.contains("<fileName>"), "{missing}");
        assert!(
            missing.contains("source scan: kitap/0004.tif; measurements are of the page"),
            "{missing}"
        );
        assert!(!missing.contains("PrintSpace"), "{missing}");
    }
}
