//! A TrueType font for the shelf's visible text, embedded as a subset: a Type0 font over a
//! CIDFontType2 with Identity-H, whose CIDs are the subset's glyph ids, with `/W` widths from the
//! font's own advances and a ToUnicode CMap so the titles copy and search as Unicode.
//!
//! Text is laid out one glyph a character from the font's `cmap`, without shaping or kerning:
//! right for the Latin and Cyrillic scripts the libraries print, wrong for scripts that need
//! contextual forms or right-to-left ordering (Arabic, Hebrew), which would come out as isolated
//! letters in logical order.

use std::collections::BTreeMap;
use std::path::Path;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Chunk, Filter, Name, Rect, Ref, Str};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::export::ExportError;

/// The CID system every Identity-H font declares.
const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// A font being used on the shelf: it remembers every glyph drawn, so only those are embedded.
pub struct Font<'a> {
    path: &'a Path,
    data: &'a [u8],
    face: Face<'a>,
    /// Original glyph id → subset glyph id (= CID), in the order first drawn.
    subset: GlyphRemapper,
    /// Subset glyph id → the character it was drawn for (ToUnicode).
    chars: BTreeMap<u16, char>,
}

impl<'a> Font<'a> {
    /// Reads a TrueType font (glyph outlines, not CFF) that allows embedding.
    pub fn parse(path: &'a Path, data: &'a [u8]) -> Result<Font<'a>, ExportError> {
        let bad = |why: &str| ExportError::Usage(format!("{}: {why}", path.display()));
        let face = Face::parse(data, 0).map_err(|e| bad(&format!("not a font file ({e})")))?;
        if face.tables().glyf.is_none() {
            return Err(bad(
                "has no TrueType outlines (a CFF OpenType font?); give a .ttf with --font",
            ));
        }
        if !face.is_subsetting_allowed()
            || face.permissions() == Some(ttf_parser::Permissions::Restricted)
        {
            return Err(bad("its licence forbids embedding it in a PDF"));
        }
        Ok(Font {
            path,
            data,
            face,
            subset: GlyphRemapper::new(),
            chars: BTreeMap::new(),
        })
    }

    /// The first character of `text` the font has no glyph for. White space does not count:
    /// it is drawn as a plain space.
    pub fn missing(&self, text: &str) -> Option<char> {
        text.chars()
            .find(|&c| !c.is_whitespace() && self.face.glyph_index(c).is_none())
    }

    /// Whether the font can draw `c`.
    pub fn has(&self, c: char) -> bool {
        self.missing(c.encode_utf8(&mut [0; 4])).is_none()
    }

    /// The glyph `c` is drawn with: white space as a space, a letter the font lacks as
    /// `.notdef` (a visible box, so the gap shows on the proof).
    fn glyph(&self, c: char) -> GlyphId {
        let c = if c.is_whitespace() { ' ' } else { c };
        self.face.glyph_index(c).unwrap_or(GlyphId(0))
    }

    /// How wide `text` is at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| self.advance(self.glyph(c)) as u32)
            .sum();
        units as f32 * size / self.face.units_per_em() as f32
    }

    fn advance(&self, glyph: GlyphId) -> u16 {
        self.face.glyph_hor_advance(glyph).unwrap_or(0)
    }

    /// Top of the tallest letters above the baseline, in points at `size`.
    pub fn ascent(&self, size: f32) -> f32 {
        self.face.ascender() as f32 * size / self.face.units_per_em() as f32
    }

    /// `text` as the bytes of a PDF string in this font (two-byte CIDs), its glyphs kept for
    /// the subset.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(2 * text.len());
        for c in text.chars() {
            let glyph = self.glyph(c);
            let cid = self.subset.remap(glyph.0);
            if glyph.0 != 0 {
                self.chars
                    .entry(cid)
                    .or_insert(if c.is_whitespace() { ' ' } else { c });
            }
            bytes.extend_from_slice(&cid.to_be_bytes());
        }
        bytes
    }

    /// Writes the font's objects: the Type0 font at `font` (the ref pages use) and the ones
    /// `alloc` hands out, with the glyphs [`Font::encode`] saw.
    pub fn write(
        &self,
        chunk: &mut Chunk,
        font: Ref,
        alloc: &mut impl FnMut() -> Ref,
    ) -> Result<(), ExportError> {
        let program = subsetter::subset(self.data, 0, &self.subset).map_err(|e| {
            ExportError::Usage(format!(
                "{}: cannot subset the font ({e}); give another TrueType font with --font",
                self.path.display()
            ))
        })?;
        let (cid_font, descriptor, file, to_unicode) = (alloc(), alloc(), alloc(), alloc());
        let name = self.subset_name();
        let name = Name(name.as_bytes());

        chunk
            .type0_font(font)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_font)
            .to_unicode(to_unicode);

        let em = |v: f32| v * 1000.0 / self.face.units_per_em() as f32;
        let advances: Vec<f32> = self
            .subset
            .remapped_gids()
            .map(|g| em(self.advance(GlyphId(g)) as f32))
            .collect();
        chunk
            .cid_font(cid_font)
            .subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(IDENTITY)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"))
            .widths()
            .consecutive(0, advances);

        let bbox = self.face.global_bounding_box();
        let mut flags = FontFlags::SYMBOLIC;
        flags.set(FontFlags::ITALIC, self.face.is_italic());
        flags.set(FontFlags::FIXED_PITCH, self.face.is_monospaced());
        let ascent = em(self.face.ascender() as f32);
        chunk
            .font_descriptor(descriptor)
            .name(name)
            .flags(flags)
            .bbox(Rect::new(
                em(bbox.x_min as f32),
                em(bbox.y_min as f32),
                em(bbox.x_max as f32),
                em(bbox.y_max as f32),
            ))
            .italic_angle(self.face.italic_angle())
            .ascent(ascent)
            .descent(em(self.face.descender() as f32))
            .cap_height(self.face.capital_height().map_or(ascent, |h| em(h as f32)))
            // No font says its stem width; this is the usual estimate from the weight class.
            .stem_v(10.0 + 0.244 * (self.face.weight().to_number() as f32 - 50.0))
            .font_file2(file);

        chunk
            .stream(file, &crate::pdf::deflate(&program))
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), program.len() as i32);

        let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), IDENTITY);
        for (&cid, &c) in &self.chars {
            cmap.pair(cid, c);
        }
        chunk
            .stream(to_unicode, &crate::pdf::deflate(&cmap.finish()))
            .filter(Filter::FlateDecode);
        Ok(())
    }

    /// The PostScript name with the six-letter tag the PDF specification asks of a subset
    /// (9.6.4), derived from the glyphs kept so the same shelf gives the same file.
    fn subset_name(&self) -> String {
        let postscript = self
            .face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_else(|| "Font".into());
        let postscript: String = postscript
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"()<>[]{}/%#".contains(*c))
            .collect();
        let mut hash = Sha256::new();
        for g in self.subset.remapped_gids() {
            hash.update(g.to_be_bytes());
        }
        let tag: String = hash.finalize()[..6]
            .iter()
            .map(|b| (b'A' + b % 26) as char)
            .collect();
        format!("{tag}+{postscript}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEJAVU: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    #[test]
    fn embeds_a_subset_with_widths_and_unicode() {
        let data = std::fs::read(DEJAVU).expect("fonts-dejavu-core (scripts/install-deps.sh)");
        let mut font = Font::parse(Path::new(DEJAVU), &data).unwrap();
        assert_eq!(font.missing("Ýaşlyk ґанок\u{a0}ňäme"), None);
        assert_eq!(font.missing("漢"), Some('漢'));
        // Glyphs are numbered in the order first drawn, after .notdef.
        assert_eq!(font.encode("ґa ґ"), [0, 1, 0, 2, 0, 3, 0, 1]);
        assert!(font.width("WW", 10.0) > font.width("ii", 10.0));
        let mut chunk = Chunk::new();
        let mut next = Ref::new(2);
        font.write(&mut chunk, Ref::new(1), &mut || next.bump())
            .unwrap();
        let pdf = String::from_utf8_lossy(chunk.as_bytes());
        assert!(pdf.contains("/Subtype /CIDFontType2"), "{pdf}");
        assert!(pdf.contains("+DejaVuSans"), "{pdf}");
        // .notdef, ґ, a, space: four widths from CID 0.
        let w = pdf
            .split("/W [0 [")
            .nth(1)
            .unwrap()
            .split(']')
            .next()
            .unwrap();
        assert_eq!(w.split_whitespace().count(), 4, "{w}");
        // The subset is a small fraction of the 700 KB font.
        let file_len: usize = pdf
            .split("/Length1 ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(file_len < 20_000, "{file_len}");
    }
}
