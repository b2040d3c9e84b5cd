//! Decodes one page image (PNG, JPEG, TIFF frame) into pixels plus the facts the PDF needs.
//!
//! The format is decided by magic bytes, never by extension. Dimensions are checked from the
//! header before any pixel buffer is allocated, so a decompression bomb costs nothing.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

/// Smallest side, in pixels, of an image that can be a page.
pub const MIN_SIDE: u32 = 16;
/// Plausible scan resolutions, dots per inch. Outside this range the file's value is not trusted.
pub const PLAUSIBLE_DPI: std::ops::RangeInclusive<f64> = 100.0..=1200.0;

/// Container formats kitap reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
        }
    }

    fn matches_extension(self, ext: &str) -> bool {
        match self {
            Format::Png => ext == "png",
            Format::Jpeg => matches!(ext, "jpg" | "jpeg" | "jpe"),
            Format::Tiff => matches!(ext, "tif" | "tiff"),
        }
    }
}

/// Why a page image cannot be used. Each reads as one line an operator can act on.
#[derive(Debug)]
pub enum LoadError {
    /// The file cannot be read.
    Unreadable(std::io::Error),
    /// The file has no bytes.
    Empty,
    /// A PDF where a page image belongs.
    Pdf,
    /// A text file where a page image belongs.
    Text,
    /// Some other kind of file; its first bytes in hex.
    UnknownFormat { head: String },
    /// Too small to be a page.
    TooSmall { width: u32, height: u32 },
    /// More pixels than the pipeline's limit (found from the header, before decoding).
    TooLarge {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    /// The decoder refused the data.
    Broken { format: Format, detail: String },
    /// The file ends before the image does.
    Truncated { format: Format, detail: String },
    /// A TIFF pixel layout kitap does not read.
    UnsupportedPixels { layout: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Unreadable(e) => write!(f, "cannot read: {e}"),
            LoadError::Empty => f.write_str("empty file (0 bytes)"),
            LoadError::Pdf => f.write_str(
                "not an image: a PDF file (starts with %PDF); extract its pages as images first",
            ),
            LoadError::Text => f.write_str("not an image: a text file"),
            LoadError::UnknownFormat { head } => {
                write!(f, "not a PNG, JPEG or TIFF image (starts with {head})")
            }
            LoadError::TooSmall { width, height } => write!(
                f,
                "image is {width}×{height} pixels: too small to be a page (each side must be at least {MIN_SIDE})"
            ),
            LoadError::TooLarge {
                width,
                height,
                max_pixels,
            } => write!(
                f,
                "image claims {width}×{height} pixels ({:.0} megapixels), over the limit of {:.0}; refused before decoding (raise max_megapixels in the pipeline if it is real)",
                (*width as u64 * *height as u64) as f64 / 1e6,
                *max_pixels as f64 / 1e6
            ),
            LoadError::Broken { format, detail } => {
                write!(f, "broken {}: {detail}", format.name())
            }
            LoadError::Truncated { format, detail } => {
                write!(f, "truncated {}: {detail}", format.name())
            }
            LoadError::UnsupportedPixels { layout } => {
                write!(f, "unsupported TIFF pixel format {layout}")
            }
        }
    }
}

impl std::error::Error for LoadError {}

fn broken(format: Format, detail: impl fmt::Display) -> LoadError {
    LoadError::Broken {
        format,
        detail: detail.to_string(),
    }
}

fn truncated(format: Format, detail: impl Into<String>) -> LoadError {
    LoadError::Truncated {
        format,
        detail: detail.into(),
    }
}

/// Decides the format from the first bytes, or says in words what the file is instead.
pub fn sniff(bytes: &[u8]) -> Result<Format, LoadError> {
    match bytes {
        [] => Err(LoadError::Empty),
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Ok(Format::Png),
        [0xff, 0xd8, 0xff, ..] => Ok(Format::Jpeg),
        [b'I', b'I', 42, 0, ..]
        | [b'M', b'M', 0, 42, ..]
        | [b'I', b'I', 43, 0, ..]
        | [b'M', b'M', 0, 43, ..] => Ok(Format::Tiff),
        [b'%', b'P', b'D', b'F', ..] => Err(LoadError::Pdf),
        _ => {
            let head = &bytes[..bytes.len().min(512)];
            let texty = head.iter().all(|&b| {
                b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80
            });
            if texty {
                Err(LoadError::Text)
            } else {
                Err(LoadError::UnknownFormat {
                    head: head
                        .iter()
                        .take(8)
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                })
            }
        }
    }
}

/// A warning when the extension says another format than the bytes do.
pub fn extension_warning(format: Format, ext: &str) -> Option<String> {
    let ext = ext.to_ascii_lowercase();
    (!format.matches_extension(&ext)).then(|| {
        format!(
            "file is a {} named .{ext}; read as {}",
            format.name(),
            format.name()
        )
    })
}

/// A decoded page, before any preparation.
#[derive(Debug)]
pub struct LoadedPage {
    /// Pixels as stored in the file (EXIF orientation not applied yet).
    pub image: DynamicImage,
    /// How the stored pixels must be turned to stand upright (EXIF). Usually none.
    pub orientation: Orientation,
    /// Resolution from the file when plausible (x, y dpi).
    pub file_dpi: Option<(f64, f64)>,
    /// One bit per pixel in the source: eligible for CCITT G4.
    pub bitonal: bool,
    /// The original JPEG stream, when it can go into the PDF untouched (grey or RGB JPEG).
    pub jpeg: Option<Vec<u8>>,
    /// Colour components of that JPEG stream: 1 (grey) or 3.
    pub jpeg_components: u8,
    pub format: Format,
    /// The source was already lossy (JPEG inside a TIFF, a CMYK JPEG) but cannot go into the
    /// PDF as it is: re-encoding it losslessly would only blow it up.
    pub lossy_source: bool,
    pub warnings: Vec<String>,
}

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// Largest accepted image, in pixels.
    pub max_pixels: u64,
}

/// Only TIFF files can hold several pages; everything else is one page (or one error).
pub fn frame_count(file: &Path) -> usize {
    if !is_tiff(file) {
        return 1;
    }
    File::open(file).map_or(1, |f| count_tiff_frames(BufReader::new(f)))
}

/// Whether the file starts like a TIFF (unreadable or short files are not).
fn is_tiff(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && matches!(sniff(&head), Ok(Format::Tiff))
}

/// Number of frames of a TIFF read through `reader`: only the chain of directories is read,
/// not the image data. A directory whose tags make no image is still a frame (it fails as a
/// page of its own) and the frames after it still count; so does a link to a directory that
/// cannot be read, which fails as a page naming why.
pub fn count_tiff_frames<R: Read + Seek>(reader: R) -> usize {
    let Ok(mut dec) = tiff::decoder::Decoder::new(reader) else {
        return 1;
    };
    let mut seen = std::collections::HashSet::new();
    let mut next = dec.ifd_pointer().and_then(|p| {
        seen.insert(p.0);
        dec.read_directory(p).ok()?.next()
    });
    let mut n = 1;
    // A corrupt IFD chain could loop or be huge; 10 000 frames is far beyond any scanned volume.
    while let Some(ptr) = next
        && n < 10_000
        && seen.insert(ptr.0)
    {
        n += 1;
        next = dec.read_directory(ptr).ok().and_then(|d| d.next());
    }
    n
}

/// Opens and decodes frame `frame` (0-based) of the page file at `path`. A TIFF can hold a
/// whole book: it is decoded through a reader that visits only this frame's directory and
/// strips. Other files are read whole (a JPEG may go into the PDF as it is). A warning goes to
/// `warnings` when the extension names another format than the bytes, even if decoding fails.
pub fn open(
    path: &Path,
    frame: usize,
    limits: LoadLimits,
    warnings: &mut Vec<String>,
) -> Result<LoadedPage, LoadError> {
    let tiff = is_tiff(path);
    let bytes = if tiff {
        Vec::new()
    } else {
        std::fs::read(path).map_err(LoadError::Unreadable)?
    };
    let format = if tiff {
        Ok(Format::Tiff)
    } else {
        sniff(&bytes)
    };
    if let Ok(format) = format {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        warnings.extend(extension_warning(format, &ext));
    }
    if tiff {
        let file = File::open(path).map_err(LoadError::Unreadable)?;
        load_tiff(BufReader::new(file), frame, limits)
    } else {
        load(&bytes, frame, limits)
    }
}

/// Decodes frame `frame` (0-based) of an image file already read into memory.
pub fn load(bytes: &[u8], frame: usize, limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let format = sniff(bytes)?;
    match format {
        Format::Png => load_png(bytes, limits),
        Format::Jpeg => load_jpeg(bytes, limits),
        Format::Tiff => load_tiff(Cursor::new(bytes), frame, limits),
    }
}

fn check_dimensions(w: u32, h: u32, limits: LoadLimits) -> Result<(), LoadError> {
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(LoadError::TooSmall {
            width: w,
            height: h,
        });
    }
    if w as u64 * h as u64 > limits.max_pixels {
        return Err(LoadError::TooLarge {
            width: w,
            height: h,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

fn image_limits(limits: LoadLimits) -> image::Limits {
    let mut l = image::Limits::default();
    // Room for the decoded image at 16-bit RGBA plus decoder scratch.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    l
}

fn plausible(dpi: (f64, f64)) -> Option<(f64, f64)> {
    (PLAUSIBLE_DPI.contains(&dpi.0) && PLAUSIBLE_DPI.contains(&dpi.1)).then_some(dpi)
}

fn load_png(bytes: &[u8], limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let mut warnings = Vec::new();
    let mut png = png::Decoder::new(Cursor::new(bytes));
    png.set_ignore_text_chunk(true);
    let reader = png.read_info().map_err(|e| broken(Format::Png, e))?;
    let info = reader.info();
    check_dimensions(info.width, info.height, limits)?;
    // image expands 1-bit PNGs to 8 bits and forgets they were bitonal: ask png itself.
    let bitonal = info.bit_depth == png::BitDepth::One
        && match info.color_type {
            png::ColorType::Grayscale => true,
            png::ColorType::Indexed => info.palette.as_deref().is_some_and(|p| {
                p.chunks_exact(3)
                    .all(|c| c.iter().all(|&v| v == c[0]) && (c[0] == 0 || c[0] == 255))
            }),
            _ => false,
        };
    let file_dpi = match info.pixel_dims {
        Some(png::PixelDimensions {
            xppu,
            yppu,
            unit: png::Unit::Meter,
        }) => {
            let dpi = (xppu as f64 * 0.0254, yppu as f64 * 0.0254);
            let p = plausible(dpi);
            if p.is_none() {
                warnings.push(format!(
                    "resolution tag {:.0}×{:.0} dpi is implausible for a scan; ignored",
                    dpi.0, dpi.1
                ));
            }
            p
        }
        _ => None,
    };
    drop(reader);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| broken(Format::Png, e))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| broken(Format::Png, e))?;
    Ok(LoadedPage {
        image,
        orientation,
        file_dpi,
        bitonal,
        jpeg: None,
        jpeg_components: 0,
        format: Format::Png,
        lossy_source: false,
        warnings,
    })
}

/// What the marker walk learned about a JPEG stream.
struct JpegFacts {
    components: u8,
    density: Option<(f64, f64)>,
}

/// Walks the JPEG markers: finds the frame header and JFIF density, and proves that the
/// entropy-coded data is followed by an end-of-image marker. Decoders happily return a grey
/// half-page for a truncated file; kitap refuses it instead of putting it into an archive.
fn jpeg_facts(bytes: &[u8]) -> Result<JpegFacts, LoadError> {
    let mut facts = JpegFacts {
        components: 0,
        density: None,
    };
    let mut i = 2;
    let mut scan_at = None;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xff {
            return Err(broken(
                Format::Jpeg,
                format!("expected a marker at byte {i}"),
            ));
        }
        let marker = bytes[i + 1];
        if marker == 0xff {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let seg_end = i + 2 + len;
        if len < 2 || seg_end > bytes.len() {
            return Err(truncated(
                Format::Jpeg,
                "a header segment runs past the end of the file",
            ));
        }
        let seg = &bytes[i + 4..seg_end];
        match marker {
            0xc0..=0xcf if !matches!(marker, 0xc4 | 0xc8 | 0xcc) && seg.len() >= 6 => {
                facts.components = seg[5];
            }
            0xe0 if seg.starts_with(b"JFIF\0") && seg.len() >= 12 => {
                let unit = seg[7];
                let x = u16::from_be_bytes([seg[8], seg[9]]) as f64;
                let y = u16::from_be_bytes([seg[10], seg[11]]) as f64;
                facts.density = match unit {
                    1 => Some((x, y)),
                    2 => Some((x * 2.54, y * 2.54)),
                    _ => None,
                };
            }
            0xda => {
                scan_at = Some(seg_end);
                break;
            }
            _ => {}
        }
        i = seg_end;
    }
    let Some(scan_at) = scan_at else {
        return Err(truncated(
            Format::Jpeg,
            "no image data (file ends inside the header)",
        ));
    };
    // Entropy-coded data never holds an unescaped FF D9, so one after the first scan is the end
    // of the image; data after it (an appended preview, MPF) is fine.
    if !bytes[scan_at..].windows(2).any(|w| w == [0xff, 0xd9]) {
        return Err(truncated(
            Format::Jpeg,
            format!(
                "the image data stops without an end marker ({} bytes read); the scan is incomplete",
                bytes.len()
            ),
        ));
    }
    Ok(facts)
}

fn load_jpeg(bytes: &[u8], limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let facts = jpeg_facts(bytes)?;
    let mut warnings = Vec::new();
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg);
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|e| broken(Format::Jpeg, e))?;
    let (w, h) = decoder.dimensions();
    check_dimensions(w, h, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| broken(Format::Jpeg, e))?;
    let file_dpi = facts.density.and_then(|d| {
        let p = plausible(d);
        if p.is_none() && d.0 > 1.0 {
            warnings.push(format!(
                "resolution tag {:.0}×{:.0} dpi is implausible for a scan; ignored",
                d.0, d.1
            ));
        }
        p
    });
    // CMYK JPEGs (often Adobe-inverted) are converted, never passed through: PDF readers
    // disagree on their colours.
    let passthrough = matches!(facts.components, 1 | 3);
    let lossy_source = !passthrough;
    Ok(LoadedPage {
        image,
        orientation,
        file_dpi,
        bitonal: false,
        jpeg: passthrough.then(|| bytes.to_vec()),
        jpeg_components: facts.components,
        format: Format::Jpeg,
        lossy_source,
        warnings,
    })
}

/// Decodes frame `frame` of a TIFF read through `reader`, which only has to reach that frame's
/// directory and data: a 500-page TIFF is not read 500 times over.
pub fn load_tiff<R: Read + Seek>(
    reader: R,
    frame: usize,
    limits: LoadLimits,
) -> Result<LoadedPage, LoadError> {
    use tiff::decoder::Decoder;
    use tiff::tags::Tag;

    let broken = |e: tiff::TiffError| match e {
        tiff::TiffError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated(Format::Tiff, "image data runs past the end of the file")
        }
        e => broken(Format::Tiff, e),
    };
    let mut dec = Decoder::new(reader).map_err(broken)?;
    if frame > 0 {
        dec.seek_to_image(frame).map_err(broken)?;
    }
    let (w, h) = dec.dimensions().map_err(broken)?;
    check_dimensions(w, h, limits)?;
    let mut tl = tiff::decoder::Limits::default();
    tl.decoding_buffer_size = (limits.max_pixels as usize).saturating_mul(8);
    tl.intermediate_buffer_size = tl.decoding_buffer_size;
    dec = dec.with_limits(tl);
    let mut warnings = Vec::new();

    let file_dpi = tiff_dpi(&mut dec, &mut warnings);
    // Compression 7 (and the old 6) is JPEG inside the TIFF.
    let lossy_source = matches!(
        dec.find_tag_unsigned::<u16>(Tag::Compression)
            .ok()
            .flatten(),
        Some(6 | 7)
    );
    let color = dec.colortype().map_err(broken)?;
    let data = dec.read_image().map_err(broken)?;
    let (image, bitonal) = tiff_pixels(&mut dec, (w, h), color, data)?;
    Ok(LoadedPage {
        image,
        orientation: Orientation::NoTransforms,
        file_dpi,
        bitonal,
        jpeg: None,
        jpeg_components: 0,
        format: Format::Tiff,
        lossy_source,
        warnings,
    })
}

/// The resolution a TIFF's tags state, when plausible for a scan (a warning otherwise).
fn tiff_dpi<R: Read + Seek>(
    dec: &mut tiff::decoder::Decoder<R>,
    warnings: &mut Vec<String>,
) -> Option<(f64, f64)> {
    use tiff::tags::Tag;
    let rational = |v: Option<tiff::decoder::ifd::Value>| -> Option<f64> {
        match v? {
            tiff::decoder::ifd::Value::Rational(n, d) if d != 0 => Some(n as f64 / d as f64),
            v => v.into_f64().ok(),
        }
    };
    let xres = rational(dec.find_tag(Tag::XResolution).ok().flatten());
    let yres = rational(dec.find_tag(Tag::YResolution).ok().flatten());
    let unit = dec
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2);
    match (xres, yres, unit) {
        (Some(x), Some(y), 2) => Some((x, y)),
        (Some(x), Some(y), 3) => Some((x * 2.54, y * 2.54)),
        _ => None,
    }
    .and_then(|d| {
        let p = plausible(d);
        if p.is_none() {
            warnings.push(format!(
                "resolution tag {:.0}×{:.0} dpi is implausible for a scan; ignored",
                d.0, d.1
            ));
        }
        p
    })
}

/// A TIFF frame's decoded samples as an image, and whether it is bitonal (1 bit per pixel).
fn tiff_pixels<R: Read + Seek>(
    dec: &mut tiff::decoder::Decoder<R>,
    (w, h): (u32, u32),
    color: tiff::ColorType,
    data: tiff::decoder::DecodingResult,
) -> Result<(DynamicImage, bool), LoadError> {
    use tiff::ColorType;
    use tiff::decoder::DecodingResult;
    use tiff::tags::Tag;
    let (wu, hu) = (w as usize, h as usize);
    let too_short = || {
        truncated(
            Format::Tiff,
            "fewer pixels decoded than the header promises",
        )
    };

    let mut bitonal = false;
    let image = match (color, data) {
        (ColorType::Gray(1), DecodingResult::U8(buf)) => {
            bitonal = true;
            let stride = wu.div_ceil(8);
            if buf.len() < stride * hu {
                return Err(too_short());
            }
            let mut img = GrayImage::new(w, h);
            for (y, row) in img.rows_mut().enumerate() {
                let src = &buf[y * stride..(y + 1) * stride];
                for (x, px) in row.enumerate() {
                    let bit = (src[x / 8] >> (7 - (x % 8))) & 1 == 1;
                    // The tiff crate hands out BlackIsZero whatever the file says: a set bit is white.
                    px.0[0] = if bit { 255 } else { 0 };
                }
            }
            DynamicImage::ImageLuma8(img)
        }
        (ColorType::Gray(8), DecodingResult::U8(buf)) => {
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).ok_or_else(too_short)?)
        }
        (ColorType::Gray(16), DecodingResult::U16(buf)) => {
            let v: Vec<u8> = buf.iter().map(|&s| (s >> 8) as u8).collect();
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, v).ok_or_else(too_short)?)
        }
        (ColorType::RGB(8) | ColorType::YCbCr(8), DecodingResult::U8(buf)) => {
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).ok_or_else(too_short)?)
        }
        (ColorType::RGB(16), DecodingResult::U16(buf)) => {
            let v = buf.iter().map(|&s| (s >> 8) as u8).collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, v).ok_or_else(too_short)?)
        }
        (ColorType::RGBA(8), DecodingResult::U8(buf)) => {
            DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, buf).ok_or_else(too_short)?)
        }
        (ColorType::GrayA(8), DecodingResult::U8(buf)) => DynamicImage::ImageLumaA8(
            image::GrayAlphaImage::from_raw(w, h, buf).ok_or_else(too_short)?,
        ),
        (ColorType::CMYK(8), DecodingResult::U8(buf)) => {
            if buf.len() < wu * hu * 4 {
                return Err(too_short());
            }
            let rgb = buf
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - p[3] as u32;
                    [0, 1, 2].map(|i| ((255 - p[i] as u32) * k / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(too_short)?)
        }
        (ColorType::Palette(8), DecodingResult::U8(buf)) => {
            let map = dec
                .get_tag_u16_vec(Tag::ColorMap)
                .map_err(|_| broken(Format::Tiff, "palette image without a colour map"))?;
            let n = map.len() / 3;
            if n == 0 || buf.len() < wu * hu {
                return Err(too_short());
            }
            let rgb = buf[..wu * hu]
                .iter()
                .flat_map(|&i| {
                    let i = (i as usize).min(n - 1);
                    [map[i], map[n + i], map[2 * n + i]].map(|c| (c >> 8) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(too_short)?)
        }
        (c, _) => {
            return Err(LoadError::UnsupportedPixels {
                layout: format!("{c:?}"),
            });
        }
    };
    Ok((image, bitonal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_names_what_a_file_really_is() {
        let e = sniff(b"").unwrap_err();
        assert!(matches!(e, LoadError::Empty));
        assert_eq!(e.to_string(), "empty file (0 bytes)");
        let e = sniff(b"%PDF-1.4\n").unwrap_err();
        assert!(matches!(e, LoadError::Pdf) && e.to_string().contains("PDF"));
        let e = sniff(b"hello world\n").unwrap_err();
        assert!(matches!(e, LoadError::Text) && e.to_string().contains("text file"));
        let e = sniff(&[0, 1, 2, 0xfe, 4, 5, 6, 7, 8, 9]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a PNG, JPEG or TIFF image (starts with 00 01 02 fe 04 05 06 07)"
        );
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]).unwrap(), Format::Jpeg);
        assert_eq!(sniff(b"II*\0....").unwrap(), Format::Tiff);
    }

    #[test]
    fn extension_mismatch_is_a_warning() {
        assert!(
            extension_warning(Format::Jpeg, "tif")
                .unwrap()
                .contains("JPEG named .tif")
        );
        assert!(extension_warning(Format::Jpeg, "JPG").is_none());
    }

    fn encode_jpeg() -> Vec<u8> {
        let img = GrayImage::from_fn(64, 64, |x, y| image::Luma([((x * y) % 256) as u8]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn truncated_jpeg_is_refused() {
        let full = encode_jpeg();
        let limits = LoadLimits {
            max_pixels: 1 << 30,
        };
        let page = load(&full, 0, limits).unwrap();
        assert_eq!(page.jpeg.as_deref(), Some(&full[..]));
        let cut = &full[..full.len() - 40];
        let e = load(cut, 0, limits).unwrap_err();
        assert!(matches!(e, LoadError::Truncated { .. }), "{e}");
        assert!(e.to_string().starts_with("truncated JPEG"), "{e}");
    }

    #[test]
    fn tiny_and_huge_images_are_refused_before_decoding() {
        let limits = LoadLimits {
            max_pixels: 1000 * 1000,
        };
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(GrayImage::new(8, 8))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let e = load(&png, 0, limits).unwrap_err();
        assert!(matches!(e, LoadError::TooSmall { width: 8, .. }));
        assert!(e.to_string().contains("too small"), "{e}");
        let mut big = Vec::new();
        image::DynamicImage::ImageLuma8(GrayImage::new(2000, 600))
            .write_to(&mut Cursor::new(&mut big), ImageFormat::Png)
            .unwrap();
        let e = load(&big, 0, limits).unwrap_err();
        assert_eq!(
            e.to_string(),
            "image claims 2000×600 pixels (1 megapixels), over the limit of 1; refused before decoding (raise max_megapixels in the pipeline if it is real)"
        );
    }
}
