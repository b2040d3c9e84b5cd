//! Builds the glyphless TrueType font that carries kitap's invisible text layer.
//!
//! The PDF text layer is drawn in render mode 3 (invisible), so the font only has to give
//! every character a width: viewers use it to place selection boxes and to search, never to
//! paint. The font therefore has two glyphs without outlines and with the same advance:
//! `.notdef` and glyph 1, which the `cmap` assigns to a broad range of characters (a code it
//! misses falls back to `.notdef`, which behaves identically). The whole file is written here
//! from the TrueType / OpenType specification, so no font file has to be shipped.

/// Units per em of the generated font.
pub const UNITS_PER_EM: u16 = 1000;
/// Advance width of the one visible glyph, in font units (half an em, like Tesseract's).
pub const GLYPH_ADVANCE: u16 = 500;
/// Distance from the baseline to the top of the em box, in font units (PDF `Ascent`).
pub const ASCENT: i16 = 1000;
/// Distance from the baseline to the bottom of the em box, in font units (PDF `Descent`).
pub const DESCENT: i16 = 0;

/// Glyph 0 is the required `.notdef`, glyph 1 stands for every character.
const NUM_GLYPHS: u16 = 2;
const FONT_NAME: &str = "GlyphLessFont";
/// First and last code point mapped to glyph 1. A format 4 subtable needs one 2-byte
/// `glyphIdArray` entry per code mapped to a constant glyph and its length is a u16, so about
/// half the BMP fits: U+0020..U+7FFF covers every alphabet, symbols, kana and over a third of
/// the CJK ideographs.
const FIRST_CHAR: u16 = 0x0020;
const LAST_CHAR: u16 = 0x7FFF;
const MAPPED_CHARS: usize = (LAST_CHAR - FIRST_CHAR + 1) as usize;
/// Byte length of the format 4 subtable: 14-byte header, 2 segments x 4 arrays x 2 bytes,
/// reservedPad, then the glyphIdArray.
const CMAP4_LENGTH: usize = 14 + 16 + 2 + 2 * MAPPED_CHARS;
const _: () = assert!(
    CMAP4_LENGTH <= u16::MAX as usize,
    "format 4 length is a u16"
);
/// created/modified of `head`: a fixed 2024-01-01T00:00:00Z in seconds since 1904-01-01, so
/// the output is reproducible (0 would make tools guess it was meant as a Unix time).
const TIMESTAMP: u64 = 2_082_844_800 + 1_704_067_200;
/// The whole file, `checkSumAdjustment` included, must sum to this (see the `head` table spec).
const CHECKSUM_MAGIC: u32 = 0xB1B0_AFBA;
/// Byte offset of `checkSumAdjustment` inside the `head` table.
const CHECKSUM_ADJUSTMENT_OFFSET: usize = 8;

/// Returns the bytes of a valid TrueType font: glyph 0 `.notdef` and glyph 1, both without outline,
/// glyph 1 advancing GLYPH_ADVANCE. Deterministic: created/modified are a fixed date.
pub fn font_program() -> Vec<u8> {
    assemble(vec![
        (*b"OS/2", os2()),
        (*b"cmap", cmap()),
        // Glyphs without outline take no bytes (every `loca` entry is 0), but OTS and Windows
        // reject an empty `glyf` table, so it holds one unused zero byte (as fontTools does).
        (*b"glyf", vec![0]),
        (*b"head", head()),
        (*b"hhea", hhea()),
        (*b"hmtx", hmtx()),
        (*b"loca", loca()),
        (*b"maxp", maxp()),
        (*b"name", name()),
        (*b"post", post()),
    ])
}

/// Every number in an sfnt file is big-endian; these append one to a table being built.
trait PutBe {
    fn put_u16(&mut self, value: u16);
    fn put_i16(&mut self, value: i16);
    fn put_u32(&mut self, value: u32);
    fn put_u64(&mut self, value: u64);
}

impl PutBe for Vec<u8> {
    fn put_u16(&mut self, value: u16) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_i16(&mut self, value: i16) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_u32(&mut self, value: u32) {
        self.extend_from_slice(&value.to_be_bytes());
    }
    fn put_u64(&mut self, value: u64) {
        self.extend_from_slice(&value.to_be_bytes());
    }
}

/// The `(searchRange, entrySelector, rangeShift)` triple that both the table directory and a
/// format 4 `cmap` carry to speed up a binary search over `count` entries of `size` bytes.
fn search_fields(count: u16, size: u16) -> (u16, u16, u16) {
    let entry_selector = count.ilog2() as u16;
    let search_range = size << entry_selector;
    (search_range, entry_selector, count * size - search_range)
}

/// Table checksum: the sum of the data read as big-endian u32 words, zero-padded at the end.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0, |sum: u32, chunk| {
        let mut word = [0; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// Lays out the offset table, the table directory (sorted by tag, as the spec requires) and the
/// tables (each starting on a 4-byte boundary), then fills in `head.checkSumAdjustment`.
fn assemble(mut tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    tables.sort_by_key(|(tag, _)| *tag);
    let num_tables = tables.len() as u16;
    let (search_range, entry_selector, range_shift) = search_fields(num_tables, 16);

    let mut font = Vec::new();
    font.put_u32(0x0001_0000); // sfnt version of a font with TrueType outlines
    font.put_u16(num_tables);
    font.put_u16(search_range);
    font.put_u16(entry_selector);
    font.put_u16(range_shift);

    let mut offset = 12 + 16 * tables.len();
    for (tag, data) in &tables {
        font.extend_from_slice(tag);
        // `head` is summed while its checkSumAdjustment is still 0, as the spec asks.
        font.put_u32(checksum(data));
        font.put_u32(offset as u32);
        font.put_u32(data.len() as u32);
        offset += data.len().next_multiple_of(4);
    }

    let mut head_offset = 0;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_offset = font.len();
        }
        font.extend_from_slice(data);
        font.resize(font.len().next_multiple_of(4), 0);
    }

    let adjustment = CHECKSUM_MAGIC.wrapping_sub(checksum(&font));
    let at = head_offset + CHECKSUM_ADJUSTMENT_OFFSET;
    font[at..at + 4].copy_from_slice(&adjustment.to_be_bytes());
    font
}

/// Font header: global facts, with fixed timestamps so that the output is reproducible.
fn head() -> Vec<u8> {
    let mut t = Vec::with_capacity(54);
    t.put_u16(1); // majorVersion
    t.put_u16(0); // minorVersion
    t.put_u32(0x0001_0000); // fontRevision 1.0
    t.put_u32(0); // checkSumAdjustment: filled in by `assemble`
    t.put_u32(0x5F0F_3CF5); // magicNumber
    t.put_u16(0b1011); // flags: baseline at y=0, lsb at x=0, integer ppem
    t.put_u16(UNITS_PER_EM);
    t.put_u64(TIMESTAMP); // created
    t.put_u64(TIMESTAMP); // modified
    for _ in 0..4 {
        t.put_i16(0); // xMin, yMin, xMax, yMax: there are no outlines to bound
    }
    t.put_u16(0); // macStyle: regular
    t.put_u16(8); // lowestRecPPEM
    t.put_i16(2); // fontDirectionHint (deprecated; 2 is the required value)
    t.put_i16(0); // indexToLocFormat: short offsets in `loca`
    t.put_i16(0); // glyphDataFormat
    t
}

/// Horizontal header; its ascender/descender match OS/2's so every platform agrees on the line.
fn hhea() -> Vec<u8> {
    let mut t = Vec::with_capacity(36);
    t.put_u16(1); // majorVersion
    t.put_u16(0); // minorVersion
    t.put_i16(ASCENT);
    t.put_i16(DESCENT);
    t.put_i16(0); // lineGap
    t.put_u16(GLYPH_ADVANCE); // advanceWidthMax
    t.put_i16(0); // minLeftSideBearing
    t.put_i16(0); // minRightSideBearing
    t.put_i16(0); // xMaxExtent
    t.put_i16(1); // caretSlopeRise: vertical caret
    t.put_i16(0); // caretSlopeRun
    t.put_i16(0); // caretOffset
    for _ in 0..4 {
        t.put_i16(0); // reserved
    }
    t.put_i16(0); // metricDataFormat
    t.put_u16(NUM_GLYPHS); // numberOfHMetrics: one full record per glyph
    t
}

/// Horizontal metrics. `.notdef` gets the same advance as glyph 1 so that a code the `cmap`
/// misses still takes the space the PDF's widths give it.
fn hmtx() -> Vec<u8> {
    let mut t = Vec::new();
    for _ in 0..NUM_GLYPHS {
        t.put_u16(GLYPH_ADVANCE);
        t.put_i16(0); // lsb
    }
    t
}

/// Glyph locations (short format: offset / 2). All zero: every glyph is empty.
fn loca() -> Vec<u8> {
    vec![0; 2 * (usize::from(NUM_GLYPHS) + 1)]
}

/// Maximum profile, version 1.0 as TrueType outlines require. Nothing uses points,
/// contours or instructions, so almost all limits are 0.
fn maxp() -> Vec<u8> {
    let mut t = Vec::with_capacity(32);
    t.put_u32(0x0001_0000); // version 1.0
    t.put_u16(NUM_GLYPHS);
    t.put_u16(0); // maxPoints
    t.put_u16(0); // maxContours
    t.put_u16(0); // maxCompositePoints
    t.put_u16(0); // maxCompositeContours
    t.put_u16(2); // maxZones: the spec says 2 "in most cases"
    for _ in 0..8 {
        // maxTwilightPoints, maxStorage, maxFunctionDefs, maxInstructionDefs,
        // maxStackElements, maxSizeOfInstructions, maxComponentElements, maxComponentDepth
        t.put_u16(0);
    }
    t
}

/// Character map: one Windows Unicode BMP (platform 3, encoding 1) format 4 subtable with
/// two segments: FIRST_CHAR..=LAST_CHAR, sent to glyph 1 through `glyphIdArray` (format 4 can
/// only map a segment linearly otherwise), and the 0xFFFF segment the format requires.
fn cmap() -> Vec<u8> {
    let mut t = Vec::with_capacity(12 + CMAP4_LENGTH);
    t.put_u16(0); // cmap version
    t.put_u16(1); // numTables
    t.put_u16(3); // platformID: Windows
    t.put_u16(1); // encodingID: Unicode BMP
    t.put_u32(12); // offset of the subtable from the start of `cmap`

    let seg_count = 2;
    let (search_range, entry_selector, range_shift) = search_fields(seg_count, 2);
    t.put_u16(4); // format
    t.put_u16(CMAP4_LENGTH as u16);
    t.put_u16(0); // language
    t.put_u16(2 * seg_count);
    t.put_u16(search_range);
    t.put_u16(entry_selector);
    t.put_u16(range_shift);
    t.put_u16(LAST_CHAR); // endCode[0]
    t.put_u16(0xFFFF); // endCode[1]
    t.put_u16(0); // reservedPad
    t.put_u16(FIRST_CHAR); // startCode[0]
    t.put_u16(0xFFFF); // startCode[1]
    t.put_u16(0); // idDelta[0]: glyphIdArray holds the final glyph ids
    t.put_u16(1); // idDelta[1]: 0xFFFF + 1 wraps to glyph 0
    // idRangeOffset counts bytes from the entry itself; glyphIdArray follows the last entry.
    t.put_u16(2 * seg_count); // idRangeOffset[0]
    t.put_u16(0); // idRangeOffset[1]: use idDelta
    for _ in 0..MAPPED_CHARS {
        t.put_u16(1); // glyphIdArray: every mapped char is glyph 1
    }
    t
}

/// Naming table, format 0, with Windows English (UTF-16BE) records only.
fn name() -> Vec<u8> {
    let records: [(u16, &str); 6] = [
        (1, FONT_NAME),     // family
        (2, "Regular"),     // subfamily
        (3, FONT_NAME),     // unique identifier
        (4, FONT_NAME),     // full name
        (5, "Version 1.0"), // version, in the "Version x.y" form the spec asks for
        (6, FONT_NAME),     // PostScript name
    ];
    let count = records.len() as u16;
    let mut t = Vec::new();
    let mut strings = Vec::new();
    t.put_u16(0); // format
    t.put_u16(count);
    t.put_u16(6 + 12 * count); // storage starts right after the records
    for (name_id, text) in records {
        let offset = strings.len() as u16;
        for unit in text.encode_utf16() {
            strings.put_u16(unit);
        }
        t.put_u16(3); // platformID: Windows
        t.put_u16(1); // encodingID: Unicode BMP
        t.put_u16(0x0409); // languageID: English (United States)
        t.put_u16(name_id);
        t.put_u16(strings.len() as u16 - offset); // length in bytes
        t.put_u16(offset);
    }
    t.extend_from_slice(&strings);
    t
}

/// OS/2 and Windows metrics, version 4. The typo and win metrics repeat hhea's so that every
/// consumer computes the same line, and fsType 0 allows embedding in PDFs.
fn os2() -> Vec<u8> {
    let mut t = Vec::with_capacity(96);
    t.put_u16(4); // version
    t.put_i16(GLYPH_ADVANCE as i16); // xAvgCharWidth: every glyph is this wide
    t.put_u16(400); // usWeightClass: normal
    t.put_u16(5); // usWidthClass: medium
    t.put_u16(0); // fsType: installable embedding
    for value in [650, 600, 0, 75, 650, 600, 0, 350] {
        // ySubscript{X,Y}Size, ySubscript{X,Y}Offset, then the same for superscripts
        t.put_i16(value);
    }
    t.put_i16(50); // yStrikeoutSize
    t.put_i16(300); // yStrikeoutPosition
    t.put_i16(0); // sFamilyClass: no classification
    t.extend_from_slice(&[0; 10]); // panose: "any"
    for _ in 0..4 {
        t.put_u32(0); // ulUnicodeRange1..4: no script is really drawn
    }
    t.extend_from_slice(b"NONE"); // achVendID
    t.put_u16(0x00C0); // fsSelection: REGULAR | USE_TYPO_METRICS
    t.put_u16(FIRST_CHAR); // usFirstCharIndex
    t.put_u16(LAST_CHAR); // usLastCharIndex
    t.put_i16(ASCENT); // sTypoAscender
    t.put_i16(DESCENT); // sTypoDescender
    t.put_i16(0); // sTypoLineGap
    t.put_u16(ASCENT.unsigned_abs()); // usWinAscent
    t.put_u16(DESCENT.unsigned_abs()); // usWinDescent: positive distance below the baseline
    t.put_u32(0); // ulCodePageRange1
    t.put_u32(0); // ulCodePageRange2
    t.put_i16(ASCENT / 2); // sxHeight
    t.put_i16(ASCENT); // sCapHeight
    t.put_u16(0); // usDefaultChar: .notdef
    t.put_u16(0x0020); // usBreakChar: space
    t.put_u16(0); // usMaxContext: no layout features
    t
}

/// PostScript table, format 3.0: no glyph names are stored (PDF viewers do not need them).
fn post() -> Vec<u8> {
    let mut t = Vec::with_capacity(32);
    t.put_u32(0x0003_0000); // version 3.0
    t.put_u32(0); // italicAngle
    t.put_i16(-100); // underlinePosition
    t.put_i16(50); // underlineThickness
    t.put_u32(1); // isFixedPitch: every glyph has the same advance
    for _ in 0..4 {
        t.put_u32(0); // min/maxMemType42, min/maxMemType1: unknown
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use ttf_parser::{Face, GlyphId, OutlineBuilder, name_id};

    fn be_u16(data: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([data[at], data[at + 1]])
    }

    fn be_u32(data: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
    }

    /// (tag, checksum, offset, length) of every table directory entry.
    fn directory(font: &[u8]) -> Vec<([u8; 4], u32, usize, usize)> {
        (0..usize::from(be_u16(font, 4)))
            .map(|i| {
                let at = 12 + 16 * i;
                let tag = font[at..at + 4].try_into().unwrap();
                let offset = be_u32(font, at + 8) as usize;
                (
                    tag,
                    be_u32(font, at + 4),
                    offset,
                    be_u32(font, at + 12) as usize,
                )
            })
            .collect()
    }

    #[test]
    fn directory_and_checksums_are_valid() {
        let font = font_program();
        let tables = directory(&font);
        let tags: Vec<&[u8]> = tables.iter().map(|(tag, ..)| &tag[..]).collect();
        let expected: [&[u8]; 10] = [
            b"OS/2", b"cmap", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"name",
            b"post",
        ];
        assert_eq!(tags, expected);
        assert_eq!(&font[4..12], &[0, 10, 0, 128, 0, 3, 0, 32]);

        for (tag, sum, offset, length) in &tables {
            assert_eq!(offset % 4, 0, "{tag:?} is not 4-byte aligned");
            assert!(offset + length <= font.len(), "{tag:?} runs past the end");
            let mut data = font[*offset..offset + length].to_vec();
            if tag == b"head" {
                data[8..12].fill(0); // the table checksum is taken without the adjustment
            }
            assert_eq!(checksum(&data), *sum, "checksum of {tag:?}");
        }
        assert_eq!(font.len() % 4, 0);
        assert_eq!(checksum(&font), CHECKSUM_MAGIC, "checkSumAdjustment");
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(font_program(), font_program());
    }

    /// Counts drawing commands, to prove a glyph has no outline.
    struct Counter(usize);

    impl OutlineBuilder for Counter {
        fn move_to(&mut self, _: f32, _: f32) {
            self.0 += 1;
        }
        fn line_to(&mut self, _: f32, _: f32) {
            self.0 += 1;
        }
        fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {
            self.0 += 1;
        }
        fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {
            self.0 += 1;
        }
        fn close(&mut self) {
            self.0 += 1;
        }
    }

    #[test]
    fn ttf_parser_accepts_font() {
        let font = font_program();
        let face = Face::parse(&font, 0).expect("ttf-parser rejects the font");
        assert_eq!(face.units_per_em(), UNITS_PER_EM);
        assert_eq!(face.number_of_glyphs(), 2);
        assert_eq!(face.ascender(), ASCENT);
        assert_eq!(face.descender(), DESCENT);
        assert_eq!(face.glyph_hor_advance(GlyphId(1)), Some(GLYPH_ADVANCE));
        for c in ['A', 'ж', 'ň', ' ', '€', '中', '\u{7FFF}'] {
            assert_eq!(face.glyph_index(c), Some(GlyphId(1)), "{c:?}");
        }
        // Outside the mapped range, .notdef stands in with the same advance.
        assert_eq!(face.glyph_index('\u{1F}'), None);
        assert_eq!(face.glyph_index('한'), None);
        assert_eq!(face.glyph_hor_advance(GlyphId(0)), Some(GLYPH_ADVANCE));
        for glyph in [GlyphId(0), GlyphId(1)] {
            let mut counter = Counter(0);
            assert_eq!(face.outline_glyph(glyph, &mut counter), None);
            assert_eq!(counter.0, 0);
        }

        let name = |id| {
            face.names()
                .into_iter()
                .find(|n| n.name_id == id)
                .and_then(|n| n.to_string())
        };
        assert_eq!(name(name_id::FAMILY).as_deref(), Some(FONT_NAME));
        assert_eq!(name(name_id::POST_SCRIPT_NAME).as_deref(), Some(FONT_NAME));
    }

    #[test]
    fn cmap_maps_exactly_the_chosen_range() {
        let font = font_program();
        let face = Face::parse(&font, 0).unwrap();
        let subtable = face
            .tables()
            .cmap
            .unwrap()
            .subtables
            .into_iter()
            .next()
            .unwrap();
        assert_eq!((subtable.platform_id as u16, subtable.encoding_id), (3, 1));
        for code in 0..=0xFFFF_u32 {
            let expected = (u32::from(FIRST_CHAR)..=u32::from(LAST_CHAR))
                .contains(&code)
                .then_some(GlyphId(1));
            // Glyph 0 means "not mapped"; the 0xFFFF end segment yields it explicitly.
            let glyph = subtable.glyph_index(code).filter(|g| g.0 != 0);
            assert_eq!(glyph, expected, "U+{code:04X}");
        }
    }
}
