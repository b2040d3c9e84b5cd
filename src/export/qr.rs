//! QR codes for `kitap export shelf`: one per book, to its landing link, drawn on the shelf
//! and written beside the book's files as `OUT/<id>/<id>.qr.svg` and `.qr.png` for web pages
//! and labels.
//!
//! Error correction M (15 % of the code may be lost to a crease, a glare or a sticker) and the
//! four-module quiet zone the standard asks for (ISO/IEC 18004), drawn as part of the code so
//! that nothing placed beside it can eat into it.

use std::path::{Path, PathBuf};

use qrcode::{Color, EcLevel, QrCode};

use super::{Batch, ExportError};
use crate::manifest::BookRecord;

/// Light modules around the code, on each side.
pub const QUIET_ZONE: usize = 4;
/// Pixels a module in the PNG: sharp when printed at 300 dpi up to about 2 cm a side, and
/// scaled down cleanly by web pages.
const PNG_MODULE_PX: usize = 8;

/// The modules of a QR code.
pub struct Qr {
    /// Modules a side, without the quiet zone.
    width: usize,
    /// Row by row, top to bottom.
    dark: Vec<bool>,
}

impl Qr {
    /// The code of `text` (byte, alphanumeric and numeric segments, chosen for the smallest
    /// code), or why it cannot be made.
    pub fn encode(text: &str) -> Result<Qr, String> {
        let code = QrCode::with_error_correction_level(text, EcLevel::M)
            .map_err(|e| format!("no QR code for {text}: {e}"))?;
        Ok(Qr {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules a side, the quiet zone included.
    pub fn size(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// The dark modules as horizontal runs `(row, column, length)`, quiet zone included in the
    /// coordinates (so the first run starts at `(4, 4)`): one rectangle each in the SVG and
    /// the PDF instead of one a module.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for (y, row) in self.dark.chunks(self.width).enumerate() {
            let mut x = 0;
            while x < row.len() {
                if row[x] {
                    let len = row[x..].iter().take_while(|&&d| d).count();
                    runs.push((y + QUIET_ZONE, x + QUIET_ZONE, len));
                    x += len;
                } else {
                    x += 1;
                }
            }
        }
        runs
    }

    /// The code as an SVG: one path over a white square, in module units, with edges kept
    /// crisp when scaled. `title` names what it opens (the URL) for screen readers.
    pub fn svg(&self, title: &str) -> String {
        let n = self.size();
        let mut d = String::with_capacity(16 * self.dark.len() / 2);
        for (y, x, len) in self.runs() {
            d.push_str(&format!("M{x} {y}h{len}v1h-{len}z"));
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {n} {n}\" width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\">\
<title>{}</title><rect width=\"{n}\" height=\"{n}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{d}\"/></svg>\n",
            crate::xml::escape(title),
            px = n * PNG_MODULE_PX,
        )
    }

    /// The code as a 1-bit greyscale PNG, [`PNG_MODULE_PX`] pixels a module.
    pub fn png(&self) -> Vec<u8> {
        let side = self.size() * PNG_MODULE_PX;
        let row_bytes = side.div_ceil(8);
        // 1 is white in greyscale; the quiet zone stays white.
        let mut pixels = vec![0xFFu8; row_bytes * side];
        for (y, x, len) in self.runs() {
            for py in y * PNG_MODULE_PX..(y + 1) * PNG_MODULE_PX {
                for px in x * PNG_MODULE_PX..(x + len) * PNG_MODULE_PX {
                    pixels[py * row_bytes + px / 8] &= !(0x80 >> (px % 8));
                }
            }
        }
        let mut png = Vec::new();
        let mut enc = png::Encoder::new(&mut png, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        // Into memory, with a size and depth that fit: neither step can fail.
        let mut writer = enc.write_header().expect("PNG header into memory");
        writer
            .write_image_data(&pixels)
            .expect("PNG data into memory");
        writer.finish().expect("PNG into memory");
        png
    }
}

/// `OUT/<id>/<id>.qr.svg` and `.qr.png`.
fn paths(batch: &Batch, book: &BookRecord) -> [PathBuf; 2] {
    let dir = batch.out.join(&book.id);
    ["svg", "png"].map(|ext| dir.join(format!("{}.qr.{ext}", book.id)))
}

/// Writes a book's QR code beside its files, each file atomically.
pub fn write_files(
    batch: &Batch,
    book: &BookRecord,
    qr: &Qr,
    url: &str,
) -> Result<(), ExportError> {
    let [svg, png] = paths(batch, book);
    super::write(&svg, qr.svg(url).as_bytes())?;
    super::write(&png, &qr.png())
}

/// `OUT/<id>/<id>.qr.svg` or `.qr.png`: the QR codes `kitap export shelf` writes.
pub fn is_qr_file(id: &str, path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        [".qr.svg", ".qr.png"]
            .iter()
            .any(|ext| n.strip_suffix(ext) == Some(id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_dark_modules_inside_the_quiet_zone() {
        let qr = Qr::encode("https://elib.example.kz/books/a/a.epub").unwrap();
        assert_eq!(qr.size(), qr.width + 8);
        let dark: usize = qr.runs().iter().map(|r| r.2).sum();
        assert_eq!(dark, qr.dark.iter().filter(|&&d| d).count());
        // The finder pattern's top row: seven dark modules from the quiet zone's corner.
        assert_eq!(qr.runs()[0], (4, 4, 7));
        assert!(qr.runs().iter().all(|&(y, x, len)| {
            y >= 4 && x >= 4 && y < qr.size() - 4 && x + len <= qr.size() - 4
        }));
    }

    #[test]
    fn png_is_one_bit_eight_pixels_a_module() {
        let qr = Qr::encode("https://elib.example.kz/").unwrap();
        let png = qr.png();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.bit_depth, png::BitDepth::One);
        assert_eq!(info.width as usize, qr.size() * 8);
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        let row = frame.line_size;
        // The quiet zone's corner is white, the finder pattern's corner black.
        assert_eq!(buf[0] & 0x80, 0x80);
        assert_eq!(buf[32 * row + 4] & 0x80, 0);
    }

    #[test]
    fn svg_is_one_path_in_module_units() {
        let qr = Qr::encode("https://x.kz/a&b").unwrap();
        let svg = qr.svg("https://x.kz/a&b");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        let n = qr.size();
        assert_eq!(root.attribute("viewBox"), Some(&*format!("0 0 {n} {n}")));
        assert_eq!(root.attribute("shape-rendering"), Some("crispEdges"));
        assert_eq!(
            doc.descendants().filter(|e| e.has_tag_name("path")).count(),
            1
        );
        assert!(svg.contains("<title>https://x.kz/a&amp;b</title>"));
        assert!(svg.contains("M4 4h7v1h-7z"));
    }

    #[test]
    fn qr_files_are_named_after_the_book() {
        assert!(is_qr_file(
            "укр насіння",
            Path::new("out/укр насіння/укр насіння.qr.svg")
        ));
        assert!(is_qr_file("a", Path::new("a.qr.png")));
        assert!(!is_qr_file("a", Path::new("b.qr.png")));
        assert!(!is_qr_file("a", Path::new("a.png")));
    }
}
