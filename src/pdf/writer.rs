//! The streaming PDF writer: each page's objects go to the file as soon as the page is done,
//! and only their offsets stay in memory; at the end the page tree, catalog, outline, page
//! labels, metadata and cross-reference table.

use std::io::{self, Write};

use pdf_writer::types::{CidFontType, FontFlags, NumberingStyle, SystemInfo};
use pdf_writer::{Chunk, Content, Date, Filter, Name, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};

use super::image::{Encoding, PageImage};
use super::placeholder::{A4, notice};
use super::textlayer::{text_layer, to_unicode_cmap};
use super::xmp::xmp_packet;
use super::{DocInfo, PageContent, glyphless};
use crate::config::{LabelStyle, PageLabelRange};
use crate::geometry::Rect as PixelRect;

const CATALOG: Ref = Ref::new(1);
const PAGES: Ref = Ref::new(2);
const FONT: Ref = Ref::new(3);
const CID_FONT: Ref = Ref::new(4);
const FONT_DESCRIPTOR: Ref = Ref::new(5);
const FONT_FILE: Ref = Ref::new(6);
const TO_UNICODE: Ref = Ref::new(7);
const CID_TO_GID: Ref = Ref::new(8);
const OUTPUT_PROFILE: Ref = Ref::new(9);
const FIRST_FREE: i32 = 10;

/// The sRGB profile of the PDF/A OutputIntent (icc-profiles-free, zlib licence: assets/).
const SRGB_ICC: &[u8] = include_bytes!("../../assets/sRGB.icc");
/// Identifies the output condition the profile describes (ICC registry name).
const SRGB_CONDITION: &str = "sRGB IEC61966-2.1";

/// Counts the bytes written and fingerprints them for the document ID.
struct Sink<W: Write> {
    inner: W,
    pos: u64,
    hash: Sha256,
}

impl<W: Write> Sink<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.hash.update(bytes);
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

/// A PDF being written page by page.
pub struct PdfWriter<W: Write> {
    sink: Sink<W>,
    /// offsets[id] = byte offset of object `id` (index 0 unused).
    offsets: Vec<u64>,
    pages: Vec<Ref>,
}

impl<W: Write> PdfWriter<W> {
    /// Starts the file: header and the shared font objects.
    pub fn new(out: W) -> io::Result<Self> {
        let mut w = PdfWriter {
            sink: Sink {
                inner: out,
                pos: 0,
                hash: Sha256::new(),
            },
            offsets: vec![0; FIRST_FREE as usize],
            pages: Vec::new(),
        };
        // A comment with bytes ≥ 128 tells transfer tools the file is binary.
        w.sink.write(b"%PDF-1.7\n%\x80\x81\x82\x83\n")?;
        w.write_fonts()?;
        w.write_output_profile()?;
        Ok(w)
    }

    fn alloc(&mut self) -> Ref {
        self.offsets.push(0);
        Ref::new(self.offsets.len() as i32 - 1)
    }

    /// Writes a chunk holding exactly one indirect object `id`.
    fn emit(&mut self, id: Ref, chunk: Chunk) -> io::Result<()> {
        self.offsets[id.get() as usize] = self.sink.pos;
        self.sink.write(chunk.as_bytes())
    }

    fn write_fonts(&mut self) -> io::Result<()> {
        let mut c = Chunk::new();
        c.type0_font(FONT)
            .base_font(Name(b"GlyphLessFont"))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(CID_FONT)
            .to_unicode(TO_UNICODE);
        self.emit(FONT, c)?;

        let mut c = Chunk::new();
        c.cid_font(CID_FONT)
            .subtype(CidFontType::Type2)
            .base_font(Name(b"GlyphLessFont"))
            .system_info(SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            })
            .font_descriptor(FONT_DESCRIPTOR)
            .default_width(glyphless::GLYPH_ADVANCE as f32)
            .cid_to_gid_map_stream(CID_TO_GID);
        self.emit(CID_FONT, c)?;

        let mut c = Chunk::new();
        c.font_descriptor(FONT_DESCRIPTOR)
            .name(Name(b"GlyphLessFont"))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                0.0,
                0.0,
                glyphless::GLYPH_ADVANCE as f32,
                glyphless::ASCENT as f32,
            ))
            .italic_angle(0.0)
            .ascent(glyphless::ASCENT as f32)
            // Poppler treats a zero descent as "missing" and substitutes -0.35 em, which would
            // push every selection box below its word; -1 is as good as zero and is believed.
            .descent(glyphless::DESCENT.min(-1) as f32)
            .cap_height(glyphless::ASCENT as f32)
            .stem_v(80.0)
            .font_file2(FONT_FILE);
        self.emit(FONT_DESCRIPTOR, c)?;

        let program = glyphless::font_program();
        let packed = deflate(&program);
        let mut c = Chunk::new();
        c.stream(FONT_FILE, &packed)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), program.len() as i32);
        self.emit(FONT_FILE, c)?;

        let cmap = to_unicode_cmap();
        let packed = deflate(cmap.as_bytes());
        let mut c = Chunk::new();
        c.stream(TO_UNICODE, &packed).filter(Filter::FlateDecode);
        self.emit(TO_UNICODE, c)?;

        // Every CID (UTF-16 code unit) is drawn with glyph 1.
        let map: Vec<u8> = (0..=u16::MAX).flat_map(|_| [0u8, 1u8]).collect();
        let packed = deflate(&map);
        let mut c = Chunk::new();
        c.stream(CID_TO_GID, &packed).filter(Filter::FlateDecode);
        self.emit(CID_TO_GID, c)
    }

    /// The ICC profile every device colour in the file is interpreted through (PDF/A).
    fn write_output_profile(&mut self) -> io::Result<()> {
        let packed = deflate(SRGB_ICC);
        let mut c = Chunk::new();
        c.icc_profile(OUTPUT_PROFILE, &packed)
            .n(3)
            .range([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
            .filter(Filter::FlateDecode);
        self.emit(OUTPUT_PROFILE, c)
    }

    /// Writes a page image once; pages then refer to it.
    pub fn add_image(&mut self, img: &PageImage) -> io::Result<Ref> {
        let image_ref = self.alloc();
        let mut c = Chunk::new();
        {
            let mut x = c.image_xobject(image_ref, &img.data);
            x.width(img.width as i32).height(img.height as i32);
            match img.encoding {
                Encoding::JpegPassthrough | Encoding::Jpeg => {
                    x.filter(Filter::DctDecode);
                    x.bits_per_component(8);
                }
                Encoding::G4 => {
                    x.filter(Filter::CcittFaxDecode);
                    x.bits_per_component(1);
                    x.decode_parms()
                        .k(-1)
                        .columns(img.width as i32)
                        .rows(img.height as i32)
                        .black_is_1(false);
                }
                Encoding::Flate => {
                    x.filter(Filter::FlateDecode);
                    x.bits_per_component(8);
                    x.decode_parms()
                        .predictor(pdf_writer::types::Predictor::PngOptimum)
                        .colors(img.components as i32)
                        .bits_per_component(8)
                        .columns(img.width as i32);
                }
                Encoding::FlateIndexed { bits } => {
                    x.filter(Filter::FlateDecode);
                    x.bits_per_component(bits as i32);
                }
            }
            let device = if img.components == 1 {
                Name(b"DeviceGray")
            } else {
                Name(b"DeviceRGB")
            };
            if let Encoding::FlateIndexed { .. } = img.encoding {
                let hival = (img.palette.len() / img.components as usize) as i32 - 1;
                x.color_space().indexed(device, hival, &img.palette);
            } else {
                x.color_space_name(device);
            }
        }
        self.emit(image_ref, c)?;
        Ok(image_ref)
    }

    /// Appends a page: the image placed over the page frame, cut to the page's crop, with the
    /// invisible words on top.
    pub fn add_page(&mut self, page: &PageContent) -> io::Result<()> {
        let k = page.px_per_pt;
        let PixelRect { x0, y0, x1, y1 } = page.crop;
        let (w_pt, h_pt) = ((x1 - x0) as f64 / k, (y1 - y0) as f64 / k);
        let (frame_w, frame_h) = (page.frame_px.0 as f64 / k, page.frame_px.1 as f64 / k);
        let cropped = page.crop != PixelRect::of_size(page.frame_px.0, page.frame_px.1);
        let img = page.image;
        let mut content = Content::new();
        content.save_state();
        if img.ccw_deg != 0.0 || cropped {
            // A straightened image overhangs the page at its corners, a cut page shows part of
            // the frame: clip to the page.
            content.rect(0.0, 0.0, w_pt as f32, h_pt as f32);
            content.clip_nonzero();
            content.end_path();
        }
        if cropped {
            let (dx, dy) = (-(x0 as f64) / k, -(frame_h - y1 as f64 / k));
            content.transform([1.0, 0.0, 0.0, 1.0, dx as f32, dy as f32]);
        }
        content.transform(placement(img.quarter_turns, img.ccw_deg, frame_w, frame_h));
        content.x_object(Name(b"Im0"));
        content.restore_state();
        text_layer(&mut content, page.ocr, k, h_pt);
        self.finish_page(content, (w_pt, h_pt), Some(page.image_ref))
    }

    /// Appends a page that stands in for a page that failed, so printed page numbers stay
    /// aligned: it names the file and what went wrong, visibly and as searchable text.
    ///
    /// The visible lines are drawn as filled pixel shapes of an 8×8 bitmap font (Latin letters;
    /// anything else shows as '?'), so the page needs no font that PDF/A would require to be
    /// embedded; the exact Unicode text lies over them in the invisible text-layer font.
    pub fn add_placeholder(&mut self, index: u32, file: &str, message: &str) -> io::Result<()> {
        self.finish_page(notice(index, file, message), A4, None)
    }

    fn finish_page(
        &mut self,
        content: Content,
        (w_pt, h_pt): (f64, f64),
        image: Option<Ref>,
    ) -> io::Result<()> {
        let content_ref = self.alloc();
        let packed = deflate(&content.finish());
        let mut c = Chunk::new();
        c.stream(content_ref, &packed).filter(Filter::FlateDecode);
        self.emit(content_ref, c)?;

        let page_ref = self.alloc();
        let mut c = Chunk::new();
        {
            let mut p = c.page(page_ref);
            p.parent(PAGES)
                .media_box(Rect::new(0.0, 0.0, w_pt as f32, h_pt as f32))
                .contents(content_ref);
            let mut res = p.resources();
            res.fonts().pair(Name(b"F1"), FONT);
            if let Some(image) = image {
                res.x_objects().pair(Name(b"Im0"), image);
            }
        }
        self.emit(page_ref, c)?;
        self.pages.push(page_ref);
        Ok(())
    }

    /// The outline (bookmarks) for the chapters that fall within the document.
    fn write_outline(&mut self, chapters: &[(String, u32)]) -> io::Result<Option<Ref>> {
        let items: Vec<(&str, Ref)> = chapters
            .iter()
            .filter_map(|(title, page)| {
                let page_ref = *self.pages.get((*page as usize).checked_sub(1)?)?;
                Some((title.as_str(), page_ref))
            })
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        let root = self.alloc();
        let refs: Vec<Ref> = items.iter().map(|_| self.alloc()).collect();
        for (i, (title, page)) in items.iter().enumerate() {
            let mut c = Chunk::new();
            {
                let mut item = c.outline_item(refs[i]);
                item.title(TextStr(title)).parent(root);
                if i > 0 {
                    item.prev(refs[i - 1]);
                }
                if i + 1 < refs.len() {
                    item.next(refs[i + 1]);
                }
                item.dest().page(*page).fit();
            }
            self.emit(refs[i], c)?;
        }
        let mut c = Chunk::new();
        c.outline(root)
            .first(refs[0])
            .last(refs[refs.len() - 1])
            .count(refs.len() as i32);
        self.emit(root, c)?;
        Ok(Some(root))
    }

    /// Page label dictionaries, keyed by 0-based page index, for ranges within the document.
    fn write_page_labels(&mut self, ranges: &[PageLabelRange]) -> io::Result<Vec<(i32, Ref)>> {
        let mut out = Vec::new();
        let pages = self.pages.len();
        for r in ranges
            .iter()
            .filter(|r| r.from >= 1 && r.from as usize <= pages)
        {
            let id = self.alloc();
            let mut c = Chunk::new();
            {
                let mut label = c.indirect(id).start::<pdf_writer::writers::PageLabel>();
                if let Some(style) = numbering(r.style) {
                    label.style(style);
                }
                if let Some(prefix) = &r.prefix {
                    label.prefix(TextStr(prefix));
                }
                if r.start != 1 {
                    label.offset(r.start as i32);
                }
            }
            self.emit(id, c)?;
            out.push((r.from as i32 - 1, id));
        }
        Ok(out)
    }

    /// Writes the page tree, catalog, metadata, cross-reference table and trailer.
    pub fn finish(mut self, info: &DocInfo) -> io::Result<W> {
        let info = &info.fitted();
        let mut c = Chunk::new();
        c.pages(PAGES)
            .kids(self.pages.iter().copied())
            .count(self.pages.len() as i32);
        self.emit(PAGES, c)?;

        let xmp_ref = self.alloc();
        let xmp = xmp_packet(info);
        let mut c = Chunk::new();
        c.metadata(xmp_ref, xmp.as_bytes());
        self.emit(xmp_ref, c)?;

        let outline = self.write_outline(&info.chapters)?;
        let labels = self.write_page_labels(&info.page_labels)?;

        let mut c = Chunk::new();
        {
            let mut cat = c.indirect(CATALOG).start::<pdf_writer::writers::Catalog>();
            cat.pages(PAGES).metadata(xmp_ref);
            if let Some(lang) = info.languages.first() {
                cat.lang(TextStr(lang));
            }
            cat.output_intents()
                .push()
                .subtype(pdf_writer::types::OutputIntentSubtype::PDFA)
                .output_condition_identifier(TextStr(SRGB_CONDITION))
                .info(TextStr(SRGB_CONDITION))
                .registry_name(TextStr("http://www.color.org"))
                .dest_output_profile(OUTPUT_PROFILE);
            if let Some(outline) = outline {
                cat.outlines(outline);
                cat.page_mode(pdf_writer::types::PageMode::UseOutlines);
            }
            if !labels.is_empty() {
                let mut tree = cat.page_labels();
                let mut nums = tree.nums();
                for (index, label) in labels {
                    nums.insert(index, label);
                }
            }
        }
        self.emit(CATALOG, c)?;

        let info_ref = self.alloc();
        let (y, mo, d, h, mi, s) = info.date;
        let date = Date::new(y.clamp(0, 9999) as u16)
            .month(mo)
            .day(d)
            .hour(h)
            .minute(mi)
            .second(s)
            .utc_offset_hour(0)
            .utc_offset_minute(0);
        let mut c = Chunk::new();
        {
            let mut di = c
                .indirect(info_ref)
                .start::<pdf_writer::writers::DocumentInfo>();
            di.title(TextStr(&info.title));
            if let Some(author) = info.author() {
                di.author(TextStr(&author));
            }
            if let Some(subject) = info.subject() {
                di.subject(TextStr(&subject));
            }
            if let Some(keywords) = info.keywords() {
                di.keywords(TextStr(&keywords));
            }
            di.creator(TextStr(&info.creator_tool));
            di.producer(TextStr(&info.creator_tool));
            di.creation_date(date);
            di.modified_date(date);
        }
        self.emit(info_ref, c)?;

        // The ID is a fingerprint of everything written: same input, same ID.
        let digest = self.sink.hash.clone().finalize();
        let id = digest[..16].to_vec();
        let xref_at = self.sink.pos;
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len());
        for off in &self.offsets[1..] {
            xref.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        let hex: String = id.iter().map(|b| format!("{b:02X}")).collect();
        xref.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R /ID [<{hex}> <{hex}>] >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len(),
            CATALOG.get(),
            info_ref.get()
        ));
        self.sink.write(xref.as_bytes())?;
        self.sink.inner.flush()?;
        Ok(self.sink.inner)
    }
}

/// The PDF numbering style of a book.toml label style; `None` shows the prefix alone.
fn numbering(style: LabelStyle) -> Option<NumberingStyle> {
    match style {
        LabelStyle::Arabic => Some(NumberingStyle::Arabic),
        LabelStyle::Roman => Some(NumberingStyle::LowerRoman),
        LabelStyle::RomanUpper => Some(NumberingStyle::UpperRoman),
        LabelStyle::Letters => Some(NumberingStyle::LowerAlpha),
        LabelStyle::LettersUpper => Some(NumberingStyle::UpperAlpha),
        LabelStyle::None => None,
    }
}

/// The matrix that draws the stored image (unit square) over a w×h page: `quarter_turns`
/// clockwise turns, then a counter-clockwise rotation by `ccw_deg` about the page centre.
fn placement(quarter_turns: u8, ccw_deg: f64, w: f64, h: f64) -> [f32; 6] {
    let turn = match quarter_turns % 4 {
        0 => [w, 0.0, 0.0, h, 0.0, 0.0],
        1 => [0.0, -h, w, 0.0, 0.0, h],
        2 => [-w, 0.0, 0.0, -h, w, h],
        _ => [0.0, h, -w, 0.0, w, 0.0],
    };
    let m = if ccw_deg == 0.0 {
        turn
    } else {
        // In PDF space (y up) a counter-clockwise turn is the standard rotation.
        let (s, c) = ccw_deg.to_radians().sin_cos();
        let (cx, cy) = (w / 2.0, h / 2.0);
        let rot = [c, s, -s, c, cx - c * cx + s * cy, cy - s * cx - c * cy];
        concat(turn, rot)
    };
    m.map(|v| v as f32)
}

/// The matrix that applies `first`, then `then` (PDF row-vector convention).
fn concat(first: [f64; 6], then: [f64; 6]) -> [f64; 6] {
    let [a, b, c, d, e, f] = first;
    let [a2, b2, c2, d2, e2, f2] = then;
    [
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    ]
}

/// zlib at level 6, what `/FlateDecode` reads (also the shelf export's fonts and pages).
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_maps_corners_upright() {
        // Apply a matrix to a point of the unit square.
        let at =
            |m: [f32; 6], u: f32, v: f32| (m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]);
        let (w, h) = (100.0f32, 200.0f32);
        let m = |turns: u8, ccw: f64| placement(turns, ccw, w as f64, h as f64);
        // Stored top-left (0,1) lands on the upright corner it belongs to after the turns.
        assert_eq!(at(m(0, 0.0), 0.0, 1.0), (0.0, h));
        assert_eq!(at(m(1, 0.0), 0.0, 1.0), (w, h));
        assert_eq!(at(m(2, 0.0), 0.0, 1.0), (w, 0.0));
        assert_eq!(at(m(3, 0.0), 0.0, 1.0), (0.0, 0.0));
        // A 90° ccw turn about the centre (50, 100) takes the top-left corner (0, 200) to
        // (-50, 50); the centre stays put under any turn.
        let (x, y) = at(m(0, 90.0), 0.0, 1.0);
        assert!(
            (x + 50.0).abs() < 1e-3 && (y - 50.0).abs() < 1e-3,
            "{x} {y}"
        );
        let (x, y) = at(m(1, 3.0), 0.5, 0.5);
        assert!(
            (x - 50.0).abs() < 1e-3 && (y - 100.0).abs() < 1e-3,
            "{x} {y}"
        );
    }
}
