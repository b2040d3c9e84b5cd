//! Encodes a page image for the PDF: JPEG passed through untouched, bitonal as CCITT G4,
//! everything else Flate with PNG row predictors (lossless).

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use image::{DynamicImage, GrayImage};

use crate::prepare::Display;

/// How the image data in [`PageImage::data`] is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The source JPEG file, byte for byte.
    Jpeg,
    /// Re-encoded as JPEG: the compact pipeline, or a lossy source that cannot go in as it is.
    JpegReencoded,
    /// CCITT Group 4, 1 bit per pixel.
    G4,
    /// zlib with a PNG predictor byte per row, 8 bits per component.
    Flate,
}

impl Encoding {
    /// The name recorded in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Jpeg => "jpeg-passthrough",
            Encoding::JpegReencoded => "jpeg",
            Encoding::G4 => "ccitt-g4",
            Encoding::Flate => "flate",
        }
    }
}

/// An encoded image, as stored (not necessarily upright: see `quarter_turns` and `ccw_deg`).
#[derive(Debug, Clone)]
pub struct PageImage {
    pub width: u32,
    pub height: u32,
    /// 1 (grey) or 3 (RGB).
    pub components: u8,
    pub encoding: Encoding,
    pub data: Vec<u8>,
    /// Quarter turns clockwise that the placement matrix applies to show the image upright.
    pub quarter_turns: u8,
    /// Then a counter-clockwise rotation about the page centre, degrees (deskew).
    pub ccw_deg: f64,
}

/// How grey and colour pages are stored (bitonal pages are always G4, source JPEGs always go
/// in untouched).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageOptions {
    /// Re-encode grey and colour pages as JPEG (`compact`) instead of keeping them lossless
    /// (`archive`). Default: false.
    pub compact: bool,
    /// JPEG quality of re-encoded pages. Default: 75.
    pub jpeg_quality: u8,
    /// In compact mode, pages finer than this are downsampled to it. Default: none.
    pub max_dpi: Option<f64>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            compact: false,
            jpeg_quality: 75,
            max_dpi: None,
        }
    }
}

/// JPEG quality for sources that were already lossy: high, so re-encoding adds little loss.
const LOSSY_SOURCE_QUALITY: u8 = 92;

/// Encodes the page for the PDF. The original JPEG goes in untouched when the displayed image
/// is the original; a bitonal source becomes CCITT G4 (2–2.5× smaller than 1-bit Flate);
/// grey and colour pages are Flate (lossless) or, when compact or already lossy, JPEG.
pub fn encode(
    display: &Display,
    jpeg: Option<(Vec<u8>, u8)>,
    bitonal: bool,
    lossy_source: bool,
    opts: &ImageOptions,
    dpi: f64,
) -> PageImage {
    let img = &display.image;
    let placed = |mut p: PageImage| {
        p.quarter_turns = display.quarter_turns;
        p.ccw_deg = display.ccw_deg;
        p
    };
    if let Some((data, components)) = jpeg.filter(|_| display.original) {
        return placed(PageImage {
            width: img.width(),
            height: img.height(),
            components,
            encoding: Encoding::Jpeg,
            data,
            quarter_turns: 0,
            ccw_deg: 0.0,
        });
    }
    if bitonal {
        let grey = img.to_luma8();
        return placed(PageImage {
            width: grey.width(),
            height: grey.height(),
            components: 1,
            encoding: Encoding::G4,
            data: encode_g4(&grey),
            quarter_turns: 0,
            ccw_deg: 0.0,
        });
    }
    let scaled;
    let img = match opts.max_dpi.filter(|&m| opts.compact && dpi > m * 1.01) {
        Some(max) => {
            let f = max / dpi;
            let (w, h) = (
                ((img.width() as f64 * f).round() as u32).max(1),
                ((img.height() as f64 * f).round() as u32).max(1),
            );
            scaled = img.resize_exact(w, h, image::imageops::FilterType::Triangle);
            &scaled
        }
        None => img,
    };
    let (components, raw): (u8, Vec<u8>) = match img {
        DynamicImage::ImageLuma8(g) => (1, g.as_raw().clone()),
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageLumaA16(_) => (1, img.to_luma8().into_raw()),
        _ => {
            let rgb = img.to_rgb8().into_raw();
            // Grey scans often come as RGB or as a palette of greys: one channel is a third.
            if rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
                (1, rgb.chunks_exact(3).map(|p| p[0]).collect())
            } else {
                (3, rgb)
            }
        }
    };
    let (width, height) = (img.width(), img.height());
    if opts.compact && components == 1 && is_text_page(&raw) {
        // A clean text page is black on white whatever its bit depth: G4 of it is a fraction
        // of any JPEG or Flate, and reads the same.
        let grey = GrayImage::from_raw(width, height, raw).expect("sized");
        return placed(PageImage {
            width,
            height,
            components: 1,
            encoding: Encoding::G4,
            data: encode_g4(&grey),
            quarter_turns: 0,
            ccw_deg: 0.0,
        });
    }
    if opts.compact || lossy_source {
        let quality = if opts.compact {
            opts.jpeg_quality
        } else {
            LOSSY_SOURCE_QUALITY
        };
        let color = if components == 1 {
            image::ExtendedColorType::L8
        } else {
            image::ExtendedColorType::Rgb8
        };
        let mut data = Vec::new();
        let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut data, quality)
            .encode(&raw, width, height, color);
        if encoded.is_ok() {
            return placed(PageImage {
                width,
                height,
                components,
                encoding: Encoding::JpegReencoded,
                data,
                quarter_turns: 0,
                ccw_deg: 0.0,
            });
        }
    }
    placed(PageImage {
        width,
        height,
        components,
        encoding: Encoding::Flate,
        data: flate_with_predictors(
            &raw,
            width as usize * components as usize,
            components as usize,
        ),
        quarter_turns: 0,
        ccw_deg: 0.0,
    })
}

/// A grey page with almost no mid-tones (under 2 % of pixels between dark and light): text and
/// line art on clean paper, which thresholding keeps intact.
fn is_text_page(grey: &[u8]) -> bool {
    let mid = grey.iter().filter(|&&v| (64..192).contains(&v)).count();
    mid * 50 < grey.len()
}

/// CCITT G4 (K = -1) of a grey image thresholded at 50 %: 0 bits are black, as PDF's default
/// `BlackIs1 false` expects.
pub fn encode_g4(grey: &GrayImage) -> Vec<u8> {
    use fax::{Color, VecWriter, encoder::Encoder};
    let width = grey.width();
    let mut enc = Encoder::new(VecWriter::new());
    for row in grey.rows() {
        let pels = row.map(|p| {
            if p.0[0] < 128 {
                Color::Black
            } else {
                Color::White
            }
        });
        // VecWriter cannot fail.
        let _ = enc.encode_line(pels, width);
    }
    match enc.finish() {
        Ok(w) => w.finish(),
        Err(never) => match never {},
    }
}

/// zlib-compressed rows, each prefixed with the PNG filter that makes it smallest
/// (`/Predictor 15` in the PDF). Filtering typically halves the size of grey scans.
/// Level 5: measured on three scans, 0.2–2.5 % larger than level 6 in 25–45 % less time.
pub fn flate_with_predictors(raw: &[u8], row_bytes: usize, bpp: usize) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::new(5));
    let mut prev = vec![0u8; row_bytes];
    let mut candidates: [Vec<u8>; 4] = std::array::from_fn(|_| vec![0u8; row_bytes]);
    for row in raw.chunks_exact(row_bytes) {
        for (f, out) in candidates.iter_mut().enumerate() {
            for i in 0..row_bytes {
                let a = if i >= bpp { row[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                out[i] = row[i].wrapping_sub(match f {
                    0 => a,
                    1 => b,
                    2 => ((a as u16 + b as u16) / 2) as u8,
                    _ => paeth(a, b, c),
                });
            }
        }
        let cost = |v: &[u8]| {
            v.iter()
                .map(|&x| (x as i8).unsigned_abs() as u32)
                .sum::<u32>()
        };
        let (best, _) = candidates
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| cost(c))
            .expect("four candidates");
        // PNG filter types: 1 Sub, 2 Up, 3 Average, 4 Paeth.
        let _ = enc.write_all(&[best as u8 + 1]);
        let _ = enc.write_all(&candidates[best]);
        prev.copy_from_slice(row);
    }
    enc.finish().unwrap_or_default()
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let (pa, pb, pc) = (
        (p - a as i16).abs(),
        (p - b as i16).abs(),
        (p - c as i16).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn unfilter(data: &[u8], row_bytes: usize, bpp: usize) -> Vec<u8> {
        let mut z = flate2::read::ZlibDecoder::new(data);
        let mut filtered = Vec::new();
        z.read_to_end(&mut filtered).unwrap();
        let mut out: Vec<u8> = Vec::new();
        let mut prev = vec![0u8; row_bytes];
        for row in filtered.chunks_exact(row_bytes + 1) {
            let mut cur = vec![0u8; row_bytes];
            for i in 0..row_bytes {
                let a = if i >= bpp { cur[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                let pred = match row[0] {
                    1 => a,
                    2 => b,
                    3 => ((a as u16 + b as u16) / 2) as u8,
                    4 => paeth(a, b, c),
                    f => panic!("filter {f}"),
                };
                cur[i] = row[i + 1].wrapping_add(pred);
            }
            out.extend_from_slice(&cur);
            prev = cur;
        }
        out
    }

    #[test]
    fn predictors_round_trip() {
        let raw: Vec<u8> = (0..48 * 7).map(|i| ((i * 37) % 251) as u8).collect();
        let enc = flate_with_predictors(&raw, 48, 3);
        assert_eq!(unfilter(&enc, 48, 3), raw);
    }

    #[test]
    fn grey_pixels_in_colour_images_are_stored_grey() {
        let grey = image::RgbImage::from_fn(20, 10, |x, _| image::Rgb([x as u8; 3]));
        let display = Display {
            image: DynamicImage::ImageRgb8(grey),
            quarter_turns: 0,
            ccw_deg: 0.0,
            original: true,
        };
        let opts = ImageOptions::default();
        assert_eq!(
            encode(&display, None, false, false, &opts, 300.0).components,
            1
        );
        let mut colour = image::RgbImage::new(20, 10);
        colour.put_pixel(3, 3, image::Rgb([200, 10, 10]));
        let display = Display {
            image: DynamicImage::ImageRgb8(colour),
            ..display
        };
        assert_eq!(
            encode(&display, None, false, false, &opts, 300.0).components,
            3
        );
        let compact = ImageOptions {
            compact: true,
            max_dpi: Some(150.0),
            ..opts
        };
        let small = encode(&display, None, false, false, &compact, 300.0);
        assert_eq!(
            (small.encoding, small.width, small.height),
            (Encoding::JpegReencoded, 10, 5)
        );
    }

    #[test]
    fn g4_round_trips_through_a_decoder() {
        let grey = GrayImage::from_fn(40, 12, |x, y| {
            image::Luma([if (x + y) % 5 == 0 { 0 } else { 255 }])
        });
        let data = encode_g4(&grey);
        let mut rows = Vec::new();
        fax::decoder::decode_g4(data.into_iter(), 40, Some(12), |line| {
            let row: Vec<u8> = fax::decoder::pels(line, 40)
                .map(|c| if c == fax::Color::Black { 0 } else { 255 })
                .collect();
            rows.push(row);
        });
        assert_eq!(rows.concat(), grey.into_raw());
    }
}
