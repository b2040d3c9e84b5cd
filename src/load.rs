//! Decodes one page image (PNG, JPEG, TIFF frame) into pixels plus the facts the PDF needs.
//!
//! The format is decided by magic bytes, never by extension. Dimensions are checked from the
//! header before any pixel buffer is allocated, so a decompression bomb costs nothing.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};
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
    /// JPEG 2000: a JP2 file or a bare codestream.
    Jp2,
    Bmp,
    WebP,
    /// Netpbm: PBM, PGM, PPM (binary or plain) and PAM.
    Pnm,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Jp2 => "JPEG 2000",
            Format::Bmp => "BMP",
            Format::WebP => "WebP",
            Format::Pnm => "PNM",
        }
    }

    /// File name extensions (lower case) that say this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Png => &["png"],
            Format::Jpeg => &["jpg", "jpeg", "jpe"],
            Format::Tiff => &["tif", "tiff"],
            Format::Jp2 => &["jp2", "jpx", "jpf", "j2k", "j2c", "jpc"],
            Format::Bmp => &["bmp", "dib"],
            Format::WebP => &["webp"],
            Format::Pnm => &["pnm", "pbm", "pgm", "ppm", "pam"],
        }
    }

    pub const ALL: [Format; 7] = [
        Format::Png,
        Format::Jpeg,
        Format::Tiff,
        Format::Jp2,
        Format::Bmp,
        Format::WebP,
        Format::Pnm,
    ];

    fn matches_extension(self, ext: &str) -> bool {
        self.extensions().contains(&ext)
    }

    /// The decoder of the image crate for the formats kitap reads through it.
    fn image_format(self) -> Option<ImageFormat> {
        match self {
            Format::Bmp => Some(ImageFormat::Bmp),
            Format::WebP => Some(ImageFormat::WebP),
            Format::Pnm => Some(ImageFormat::Pnm),
            _ => None,
        }
    }
}

/// Image formats kitap recognises but cannot read, by their first bytes.
fn unreadable_format(bytes: &[u8]) -> Option<&'static str> {
    let ftyp = |brands: &[&[u8]]| {
        bytes.get(4..8) == Some(b"ftyp") && brands.iter().any(|b| bytes.get(8..12) == Some(*b))
    };
    Some(match bytes {
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => "GIF",
        [b'8', b'B', b'P', b'S', ..] => "Photoshop (PSD)",
        [0xff, 0x0a, ..] | [0, 0, 0, 0x0c, b'J', b'X', b'L', b' ', ..] => "JPEG XL",
        _ if ftyp(&[b"avif", b"avis"]) => "AVIF",
        _ if ftyp(&[b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"]) => "HEIF/HEIC",
        _ => return None,
    })
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
    /// An image in a format kitap recognises but does not read (GIF, HEIF, JPEG XL …).
    UnreadableFormat { format: &'static str },
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
                write!(
                    f,
                    "not an image kitap reads: PNG, JPEG, TIFF, JPEG 2000, BMP, WebP or PNM (starts with {head})"
                )
            }
            LoadError::UnreadableFormat { format } => write!(
                f,
                "a {format} image, which kitap does not read; save the page as TIFF, PNG, JPEG or JPEG 2000"
            ),
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

impl LoadError {
    /// The file is a PDF or an image kitap does not read: something that belongs among the
    /// pages, not a note beside them.
    pub fn is_image_or_pdf(&self) -> bool {
        matches!(self, LoadError::Pdf | LoadError::UnreadableFormat { .. })
    }
}

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
        [0, 0, 0, 0x0c, b'j', b'P', b' ', b' ', ..] | [0xff, 0x4f, 0xff, 0x51, ..] => {
            Ok(Format::Jp2)
        }
        [b'B', b'M', _, _, _, _, 0, 0, 0, 0, ..] if bytes.len() >= 26 => Ok(Format::Bmp),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Ok(Format::WebP),
        [b'P', b'1'..=b'7', b' ' | b'\t' | b'\r' | b'\n', ..] => Ok(Format::Pnm),
        [b'%', b'P', b'D', b'F', ..] => Err(LoadError::Pdf),
        _ => {
            if let Some(format) = unreadable_format(bytes) {
                return Err(LoadError::UnreadableFormat { format });
            }
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

/// Which image of a file a page is: the only one, or one frame of a multi-page TIFF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Frame {
    /// 0-based position in the file.
    pub index: usize,
    /// Where the frame's directory starts in a TIFF (from [`frames`]): the frame is then
    /// decoded without walking the directories of the frames before it.
    pub ifd: Option<u64>,
}

impl Frame {
    /// The first (or only) image of a file.
    pub const FIRST: Frame = Frame {
        index: 0,
        ifd: None,
    };
}

/// The pages of one file: one frame for a PNG or JPEG (or a file that will fail), one per
/// directory of a TIFF, and why the chain of directories stopped early if it did.
#[derive(Debug)]
pub struct Frames {
    pub frames: Vec<Frame>,
    /// The TIFF's chain of directories is broken after the last frame listed (a loop): said in
    /// words, never dropped in silence.
    pub broken_chain: Option<String>,
}

/// Every page of the file at `path`. A TIFF's directories are walked once, reading only each
/// directory's entry count and link (not its entries, not the image data), with no cap on
/// their number; every other file is one page.
pub fn frames(path: &Path) -> Frames {
    let one = Frames {
        frames: vec![Frame::FIRST],
        broken_chain: None,
    };
    if !is_tiff(path) {
        return one;
    }
    match File::open(path).map(|f| tiff_directories(BufReader::new(f))) {
        Ok(Ok((offsets, broken_chain))) if !offsets.is_empty() => Frames {
            frames: offsets
                .into_iter()
                .enumerate()
                .map(|(index, ifd)| Frame {
                    index,
                    ifd: Some(ifd),
                })
                .collect(),
            broken_chain,
        },
        // No readable first directory: one page, which fails with the decoder's words.
        _ => one,
    }
}

/// Whether the file starts like a TIFF (unreadable or short files are not).
fn is_tiff(path: &Path) -> bool {
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && matches!(sniff(&head), Ok(Format::Tiff))
}

/// The TIFF header's facts: byte order, BigTIFF, and the first directory's offset.
struct TiffHeader {
    little: bool,
    big: bool,
    first: u64,
}

fn tiff_header<R: Read>(r: &mut R) -> std::io::Result<TiffHeader> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let little = &head[..2] == b"II";
    let u16_at = |b: [u8; 2]| {
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let big = u16_at([head[2], head[3]]) == 43;
    let first = if big {
        let mut off = [0u8; 8];
        r.read_exact(&mut off)?;
        if little {
            u64::from_le_bytes(off)
        } else {
            u64::from_be_bytes(off)
        }
    } else {
        let b = [head[4], head[5], head[6], head[7]];
        (if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }) as u64
    };
    Ok(TiffHeader { little, big, first })
}

/// The offsets of a TIFF's directories in chain order, and why the chain stops early (a
/// directory seen before: the chain loops). A directory whose link cannot be read ends the
/// chain; the directory itself is still listed, so its page fails by name when decoded.
fn tiff_directories<R: Read + Seek>(mut r: R) -> std::io::Result<(Vec<u64>, Option<String>)> {
    let h = tiff_header(&mut r)?;
    let read_uint = |r: &mut R, n: usize| -> std::io::Result<u64> {
        let mut b = [0u8; 8];
        r.read_exact(&mut b[..n])?;
        let little_endian = b[..n].iter().rev().fold(0u64, |v, &x| (v << 8) | x as u64);
        let big_endian = b[..n].iter().fold(0u64, |v, &x| (v << 8) | x as u64);
        Ok(if h.little { little_endian } else { big_endian })
    };
    let (count_len, entry_len, link_len) = if h.big { (8, 20, 8) } else { (2, 12, 4) };
    let mut offsets = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut next = h.first;
    while next != 0 {
        if !seen.insert(next) {
            let msg = format!(
                "the TIFF's chain of frames loops back after frame {} (a damaged file): the frames after it cannot be found",
                offsets.len()
            );
            return Ok((offsets, Some(msg)));
        }
        offsets.push(next);
        let link = r
            .seek(std::io::SeekFrom::Start(next))
            .and_then(|_| read_uint(&mut r, count_len))
            .and_then(|entries| {
                let skip = entries.saturating_mul(entry_len);
                r.seek(std::io::SeekFrom::Current(skip.min(i64::MAX as u64) as i64))?;
                read_uint(&mut r, link_len)
            });
        match link {
            Ok(n) => next = n,
            Err(_) => break,
        }
    }
    Ok((offsets, None))
}

/// Number of frames of a TIFF read through `reader` (1 for anything that is not one): the
/// chain of directories only, as [`frames`] walks it for a file. A directory whose tags make
/// no image still counts (it fails as a page of its own), and so do the frames after it.
pub fn count_tiff_frames<R: Read + Seek>(reader: R) -> usize {
    tiff_directories(reader).map_or(1, |(offsets, _)| offsets.len().max(1))
}

/// A TIFF seen through a header that names `ifd` as its first directory: the tiff crate then
/// decodes that frame directly instead of walking the directories of every frame before it
/// (which made a 10,005-frame file quadratic).
struct FromDirectory<R> {
    inner: R,
    head: Vec<u8>,
    pos: u64,
}

impl<R: Read + Seek> FromDirectory<R> {
    fn new(mut inner: R, ifd: u64) -> std::io::Result<FromDirectory<R>> {
        let h = tiff_header(&mut inner)?;
        inner.seek(std::io::SeekFrom::Start(0))?;
        let mut head = vec![0u8; if h.big { 16 } else { 8 }];
        inner.read_exact(&mut head)?;
        match (h.big, h.little) {
            (true, true) => head[8..16].copy_from_slice(&ifd.to_le_bytes()),
            (true, false) => head[8..16].copy_from_slice(&ifd.to_be_bytes()),
            (false, little) => {
                let ifd = u32::try_from(ifd).map_err(std::io::Error::other)?;
                let b = if little {
                    ifd.to_le_bytes()
                } else {
                    ifd.to_be_bytes()
                };
                head[4..8].copy_from_slice(&b);
            }
        }
        inner.seek(std::io::SeekFrom::Start(0))?;
        Ok(FromDirectory {
            inner,
            head,
            pos: 0,
        })
    }
}

impl<R: Read + Seek> Read for FromDirectory<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = if let Some(rest) = self.head.get(self.pos as usize..).filter(|r| !r.is_empty()) {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.inner
                .seek(std::io::SeekFrom::Start(self.pos + n as u64))?;
            n
        } else {
            self.inner.read(buf)?
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for FromDirectory<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// What a page's header says, read before any pixel is decoded: enough to know what decoding
/// and preparing it will cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Colour channels as decoded: 1 grey, 2 grey and alpha, 3 colour (palettes too), 4 with alpha.
    pub channels: u8,
    /// Bits per sample as stored: 1 for a bitonal page, 8, 16.
    pub bits: u8,
    /// Size of the file: a JPEG is held whole, to go into the PDF as it is.
    pub file_bytes: u64,
}

impl Header {
    /// Pixels of the page.
    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// Opens the page file and decides its format from its first bytes (never more: a 2 GiB file
/// that is no image costs one small read). Returns the file, positioned at its start.
fn open_sniffed(path: &Path) -> Result<(Format, BufReader<File>), LoadError> {
    let mut file = BufReader::new(File::open(path).map_err(LoadError::Unreadable)?);
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(LoadError::Unreadable)?;
    let format = sniff(&head)?;
    file.seek(std::io::SeekFrom::Start(0))
        .map_err(LoadError::Unreadable)?;
    Ok((format, file))
}

/// The header of `frame` of the page file at `path`, with its dimensions checked against
/// `limits`: what the page will cost is known before a pixel is decoded.
pub fn header(path: &Path, frame: Frame, limits: LoadLimits) -> Result<Header, LoadError> {
    let (format, file) = open_sniffed(path)?;
    let file_bytes = file.get_ref().metadata().map_or(0, |m| m.len());
    let (width, height, channels, bits) = match format {
        Format::Png => {
            let mut png = png::Decoder::new(file);
            png.set_ignore_text_chunk(true);
            let reader = png.read_info().map_err(|e| broken(Format::Png, e))?;
            let info = reader.info();
            let channels = match info.color_type {
                png::ColorType::Grayscale => 1,
                png::ColorType::GrayscaleAlpha => 2,
                png::ColorType::Rgb | png::ColorType::Indexed => 3,
                png::ColorType::Rgba => 4,
            };
            (info.width, info.height, channels, info.bit_depth as u8)
        }
        Format::Jpeg => {
            let decoder = ImageReader::with_format(file, ImageFormat::Jpeg)
                .into_decoder()
                .map_err(|e| broken(Format::Jpeg, e))?;
            let (w, h) = decoder.dimensions();
            (w, h, decoder.color_type().channel_count(), 8)
        }
        Format::Tiff => {
            let mut dec = tiff_decoder(file, frame)?;
            let (w, h) = dec.dimensions().map_err(tiff_error)?;
            let (channels, bits) = match dec.colortype().map_err(tiff_error)? {
                tiff::ColorType::Gray(b) => (1, b),
                tiff::ColorType::GrayA(b) => (2, b),
                tiff::ColorType::RGBA(b) | tiff::ColorType::CMYKA(b) => (4, b),
                tiff::ColorType::Palette(b) => (3, b.max(8)),
                c => (3, c.bit_depth()),
            };
            (w, h, channels, bits)
        }
        Format::Jp2 => {
            // The size is in the first boxes (or the codestream's first marker): read those,
            // not the whole file, which the page's decoding reads once.
            let mut head = Vec::new();
            file.take(JP2_HEAD)
                .read_to_end(&mut head)
                .map_err(LoadError::Unreadable)?;
            jp2_size(&head)
                .ok_or_else(|| broken(Format::Jp2, "no image header (ihdr or SIZ) at its start"))?
        }
        Format::Bmp | Format::WebP | Format::Pnm => {
            let decoder = image_decoder(file, format, limits)?;
            let (w, h) = decoder.dimensions();
            let colour = decoder.color_type();
            (
                w,
                h,
                colour.channel_count(),
                (colour.bits_per_pixel() / u16::from(colour.channel_count())) as u8,
            )
        }
    };
    check_dimensions(width, height, limits)?;
    Ok(Header {
        format,
        width,
        height,
        channels,
        bits,
        file_bytes,
    })
}

/// Opens and decodes `frame` of the page file at `path`. The format comes from the first
/// bytes, and decoders read from the file: only a JPEG is read whole (it may go into the PDF
/// as it is), and only after its header has passed. A warning goes to `warnings` when the
/// extension names another format than the bytes, even if decoding fails.
pub fn open(
    path: &Path,
    frame: Frame,
    limits: LoadLimits,
    warnings: &mut Vec<String>,
) -> Result<LoadedPage, LoadError> {
    let (format, mut file) = open_sniffed(path)?;
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    warnings.extend(extension_warning(format, &ext));
    match format {
        Format::Png => load_png(file, limits),
        Format::Jpeg => {
            let decoder = ImageReader::with_format(&mut file, ImageFormat::Jpeg)
                .into_decoder()
                .map_err(|e| broken(Format::Jpeg, e))?;
            let (w, h) = decoder.dimensions();
            check_dimensions(w, h, limits)?;
            drop(decoder);
            let mut bytes = Vec::new();
            file.seek(std::io::SeekFrom::Start(0))
                .and_then(|_| file.read_to_end(&mut bytes))
                .map_err(LoadError::Unreadable)?;
            load_jpeg(&bytes, limits)
        }
        Format::Tiff => load_tiff_frame(tiff_decoder(file, frame)?, limits),
        Format::Jp2 => {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(LoadError::Unreadable)?;
            load_jp2(&bytes, limits)
        }
        Format::Bmp | Format::WebP | Format::Pnm => load_with_image(file, format, limits),
    }
}

/// Decodes frame `frame` (0-based) of an image file already read into memory.
pub fn load(bytes: &[u8], frame: usize, limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let format = sniff(bytes)?;
    match format {
        Format::Png => load_png(Cursor::new(bytes), limits),
        Format::Jpeg => load_jpeg(bytes, limits),
        Format::Tiff => load_tiff(Cursor::new(bytes), frame, limits),
        Format::Jp2 => load_jp2(bytes, limits),
        Format::Bmp | Format::WebP | Format::Pnm => {
            load_with_image(Cursor::new(bytes), format, limits)
        }
    }
}

/// Whether a WebP file holds a lossy (VP8) image rather than a lossless (VP8L) one: its RIFF
/// chunks walked from the start (an extended file has VP8X, ICC, animation and alpha chunks
/// before the image's).
fn webp_is_lossy<R: Read + Seek>(r: &mut R) -> bool {
    let mut at = 12u64;
    for _ in 0..64 {
        let mut chunk = [0u8; 8];
        if r.seek(std::io::SeekFrom::Start(at)).is_err() || r.read_exact(&mut chunk).is_err() {
            return false;
        }
        match &chunk[..4] {
            b"VP8 " => return true,
            b"VP8L" => return false,
            _ => {}
        }
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]) as u64;
        at += 8 + size + (size & 1);
    }
    false
}

/// A BMP's resolution from its info header (pixels per metre; 0 means not given), in dpi.
fn bmp_dpi<R: Read + Seek>(r: &mut R) -> Option<(f64, f64)> {
    let mut head = [0u8; 46];
    r.seek(std::io::SeekFrom::Start(0)).ok()?;
    r.read_exact(&mut head).ok()?;
    let info_size = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
    if info_size < 40 {
        return None;
    }
    let at = |i: usize| i32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (x, y) = (at(38), at(42));
    (x > 0 && y > 0).then(|| (f64::from(x) * 0.0254, f64::from(y) * 0.0254))
}

/// The boxes of a JP2 file in `data`, as (type, contents); a bare codestream has none.
fn jp2_boxes(mut data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as u64;
        let kind = [data[4], data[5], data[6], data[7]];
        let (head, len) = match len {
            0 => (8, data.len() as u64),
            1 if data.len() >= 16 => {
                let mut l = [0u8; 8];
                l.copy_from_slice(&data[8..16]);
                (16, u64::from_be_bytes(l))
            }
            _ => (8, len),
        };
        if len < head || len > data.len() as u64 {
            break;
        }
        out.push((kind, &data[head as usize..len as usize]));
        data = &data[len as usize..];
    }
    out
}

/// A JP2 file's resolution (`resc`, the capture resolution, else `resd`), in dpi.
fn jp2_dpi(data: &[u8]) -> Option<(f64, f64)> {
    let header = jp2_boxes(data).into_iter().find(|(k, _)| k == b"jp2h")?.1;
    let res = jp2_boxes(header).into_iter().find(|(k, _)| k == b"res ")?.1;
    let boxes = jp2_boxes(res);
    let (_, b) = boxes
        .iter()
        .find(|(k, _)| k == b"resc")
        .or_else(|| boxes.iter().find(|(k, _)| k == b"resd"))?;
    if b.len() < 10 {
        return None;
    }
    let u = |i: usize| f64::from(u16::from_be_bytes([b[i], b[i + 1]]));
    // Grid points per metre: numerator / denominator × 10^exponent, vertical first.
    let per_metre =
        |n: f64, d: f64, e: u8| (d > 0.0).then(|| n / d * 10f64.powi(i32::from(e as i8)));
    let v = per_metre(u(0), u(2), b[8])?;
    let h = per_metre(u(4), u(6), b[9])?;
    Some((h * 0.0254, v * 0.0254))
}

/// How much of a JPEG 2000 file [`header`] reads for the image size.
const JP2_HEAD: u64 = 64 << 10;

/// Width, height, channels and bits of a JPEG 2000 image from the start of its file: the JP2
/// header's `ihdr` box, or a bare codestream's SIZ marker.
fn jp2_size(head: &[u8]) -> Option<(u32, u32, u8, u8)> {
    let be32 = |i: usize, b: &[u8]| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let be16 = |i: usize, b: &[u8]| Some(u16::from_be_bytes(b.get(i..i + 2)?.try_into().ok()?));
    if head.starts_with(&[0xff, 0x4f, 0xff, 0x51]) {
        // SOC, then SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz Ssiz…
        let (x, y) = (be32(8, head)?, be32(12, head)?);
        let (x0, y0) = (be32(16, head)?, be32(20, head)?);
        return Some((
            x.checked_sub(x0)?,
            y.checked_sub(y0)?,
            u8::try_from(be16(40, head)?).ok()?,
            (head.get(42)? & 0x7f) + 1,
        ));
    }
    let jp2h = jp2_boxes(head).into_iter().find(|(k, _)| k == b"jp2h")?.1;
    let ihdr = jp2_boxes(jp2h).into_iter().find(|(k, _)| k == b"ihdr")?.1;
    // HEIGHT, WIDTH, NC, BPC (bits less one; the high bit says signed).
    Some((
        be32(4, ihdr)?,
        be32(0, ihdr)?,
        u8::try_from(be16(8, ihdr)?).ok()?,
        (ihdr.get(10)? & 0x7f) + 1,
    ))
}

/// Whether a JPEG 2000 image was coded with the irreversible 9/7 wavelet (lossy), from the
/// COD marker of its main header; a reversible 5/3 codestream is lossless.
fn jp2_is_lossy(data: &[u8]) -> bool {
    let stream = if data.starts_with(&[0xff, 0x4f]) {
        data
    } else {
        match jp2_boxes(data).into_iter().find(|(k, _)| k == b"jp2c") {
            Some((_, c)) => c,
            None => return false,
        }
    };
    // Main header markers after SOC: each FFxx with a 2-byte length, until the first tile.
    let mut at = 2;
    while at + 4 <= stream.len() && stream[at] == 0xff {
        let marker = stream[at + 1];
        let len = usize::from(u16::from_be_bytes([stream[at + 2], stream[at + 3]]));
        if marker == 0x90 {
            break;
        }
        if marker == 0x52 {
            // Lcod, Scod, progression, layers (2), MCT, levels, cb w, cb h, cb style, transform.
            return stream.get(at + 13) == Some(&0);
        }
        at += 2 + len;
    }
    false
}

fn jp2_image(bytes: &[u8]) -> Result<hayro_jpeg2000::Image<'_>, LoadError> {
    hayro_jpeg2000::Image::new(bytes, &hayro_jpeg2000::DecodeSettings::default())
        .map_err(|e| broken(Format::Jp2, e))
}

/// A JPEG 2000 page (JP2 file or bare codestream), 8 bits a sample: grey stays grey, colour
/// (RGB, or an ICC space of three channels) becomes RGB, CMYK is refused; alpha is dropped.
fn load_jp2(bytes: &[u8], limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let image = jp2_image(bytes)?;
    let (w, h) = (image.width(), image.height());
    check_dimensions(w, h, limits)?;
    let channels = usize::from(image.color_space().num_channels());
    if channels != 1 && channels != 3 {
        return Err(LoadError::UnsupportedPixels {
            layout: format!("JPEG 2000 with {channels} colour channels"),
        });
    }
    let alpha = image.has_alpha();
    let mut ctx = hayro_jpeg2000::DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(|e| broken(Format::Jp2, e))?;
    let mut samples = decoded.data_u8();
    let stride = channels + usize::from(alpha);
    if alpha {
        samples = samples
            .chunks_exact(stride)
            .flat_map(|p| &p[..channels])
            .copied()
            .collect();
    }
    let too_short = || broken(Format::Jp2, "fewer samples than its size");
    let image = if channels == 1 {
        DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, samples).ok_or_else(too_short)?)
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, samples).ok_or_else(too_short)?)
    };
    let mut warnings = Vec::new();
    let file_dpi =
        jp2_dpi(bytes).and_then(|dpi| file_resolution(dpi, "resolution box", &mut warnings));
    Ok(LoadedPage {
        bitonal: false,
        image,
        orientation: Orientation::NoTransforms,
        file_dpi,
        jpeg: None,
        jpeg_components: 0,
        format: Format::Jp2,
        lossy_source: jp2_is_lossy(bytes),
        warnings,
    })
}

/// The image crate's decoder for a BMP, WebP or PNM file, with kitap's memory limit.
fn image_decoder<'a, R: BufRead + Seek + 'a>(
    r: R,
    format: Format,
    limits: LoadLimits,
) -> Result<Box<dyn ImageDecoder + 'a>, LoadError> {
    let Some(f) = format.image_format() else {
        return Err(broken(format, "not decoded by the image crate"));
    };
    let mut reader = ImageReader::with_format(r, f);
    reader.limits(image_limits(limits));
    let decoder = reader.into_decoder().map_err(|e| broken(format, e))?;
    Ok(Box::new(decoder))
}

/// A BMP, WebP or PNM page: checked for size from its header, then decoded whole. Grey stays
/// grey; 16-bit samples become 8-bit where the pipeline needs it.
fn load_with_image<'a, R: BufRead + Seek + 'a>(
    mut r: R,
    format: Format,
    limits: LoadLimits,
) -> Result<LoadedPage, LoadError> {
    let lossy_source = format == Format::WebP && webp_is_lossy(&mut r);
    let mut warnings = Vec::new();
    let file_dpi = if format == Format::Bmp {
        bmp_dpi(&mut r).and_then(|dpi| file_resolution(dpi, "resolution field", &mut warnings))
    } else {
        None
    };
    r.seek(std::io::SeekFrom::Start(0))
        .map_err(LoadError::Unreadable)?;
    let mut decoder = image_decoder(r, format, limits)?;
    let (w, h) = decoder.dimensions();
    check_dimensions(w, h, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // A 1-bit PBM is bitonal: eligible for CCITT G4 like a bitonal TIFF.
    let image = DynamicImage::from_decoder(decoder).map_err(|e| broken(format, e))?;
    let bitonal = format == Format::Pnm
        && matches!(&image, DynamicImage::ImageLuma8(g) if g.iter().all(|&v| v == 0 || v == 255));
    Ok(LoadedPage {
        image,
        orientation,
        file_dpi,
        bitonal,
        jpeg: None,
        jpeg_components: 0,
        format,
        // A lossy WebP (VP8) goes into the PDF as JPEG; a lossless one (VP8L) losslessly.
        lossy_source,
        warnings,
    })
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

/// The file's resolution when plausible for a scan; otherwise a warning that `what` (`resolution
/// tag`, `resolution box`) was ignored.
fn file_resolution(dpi: (f64, f64), what: &str, warnings: &mut Vec<String>) -> Option<(f64, f64)> {
    let p = plausible(dpi);
    if p.is_none() {
        warnings.push(format!(
            "{what} {:.0}×{:.0} dpi is implausible for a scan; ignored",
            dpi.0, dpi.1
        ));
    }
    p
}

fn load_png<R: BufRead + Seek>(mut r: R, limits: LoadLimits) -> Result<LoadedPage, LoadError> {
    let mut warnings = Vec::new();
    let mut png = png::Decoder::new(&mut r);
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
        }) => file_resolution(
            (xppu as f64 * 0.0254, yppu as f64 * 0.0254),
            "resolution tag",
            &mut warnings,
        ),
        _ => None,
    };
    // A palette of greys only (16-grey scans): read the indices straight into grey pixels.
    // Through image they would become RGB, and the page's grey conversion, cover, thumbnail
    // and straightened display image would all be done in colour.
    let greys: Option<Vec<u8>> = match (info.color_type, &info.palette, &info.trns) {
        (png::ColorType::Indexed, Some(p), None)
            if !info.interlaced && p.chunks_exact(3).all(|c| c[0] == c[1] && c[1] == c[2]) =>
        {
            Some(p.chunks_exact(3).map(|c| c[0]).collect())
        }
        _ => None,
    };
    let (image, orientation) = if let Some(greys) = greys {
        let orientation = info
            .exif_metadata
            .as_deref()
            .and_then(Orientation::from_exif_chunk)
            .unwrap_or(Orientation::NoTransforms);
        let grey = grey_palette_pixels(reader, &greys)?;
        (DynamicImage::ImageLuma8(grey), orientation)
    } else {
        drop(reader);
        r.seek(std::io::SeekFrom::Start(0))
            .map_err(LoadError::Unreadable)?;
        let mut reader = ImageReader::with_format(r, ImageFormat::Png);
        reader.limits(image_limits(limits));
        let mut decoder = reader.into_decoder().map_err(|e| broken(Format::Png, e))?;
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
        let image = DynamicImage::from_decoder(decoder).map_err(|e| broken(Format::Png, e))?;
        (image, orientation)
    };
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

/// The pixels of an indexed PNG whose palette is `greys`, as grey: each index (1, 2, 4 or 8
/// bits, rows padded to a byte) looked up in the palette. An index past the palette is black,
/// as image's expansion makes it.
fn grey_palette_pixels<R: BufRead + Seek>(
    mut reader: png::Reader<R>,
    greys: &[u8],
) -> Result<GrayImage, LoadError> {
    let (width, height) = reader.info().size();
    let bits = reader.info().bit_depth as usize;
    let mut lut = [0u8; 256];
    lut[..greys.len().min(256)].copy_from_slice(&greys[..greys.len().min(256)]);
    let mut pixels = vec![0u8; width as usize * height as usize];
    let w = width as usize;
    let per_byte = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    for out in pixels.chunks_exact_mut(w.max(1)) {
        let row = reader
            .next_row()
            .map_err(|e| broken(Format::Png, e))?
            .ok_or_else(|| broken(Format::Png, "fewer rows than its height"))?;
        let data = row.data();
        if bits == 8 {
            for (o, &i) in out.iter_mut().zip(data) {
                *o = lut[i as usize];
            }
            continue;
        }
        for (x, o) in out.iter_mut().enumerate() {
            let byte = data.get(x / per_byte).copied().unwrap_or(0);
            let shift = 8 - bits * (x % per_byte + 1);
            *o = lut[((byte >> shift) & mask) as usize];
        }
    }
    GrayImage::from_raw(width, height, pixels)
        .ok_or_else(|| broken(Format::Png, "image size out of range"))
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
    // A JFIF density of 1×1 is an aspect ratio, not a resolution: no word about it.
    let file_dpi = facts
        .density
        .filter(|d| d.0 > 1.0)
        .and_then(|d| file_resolution(d, "resolution tag", &mut warnings));
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

/// A tiff decoder error in kitap's words: a read past the end is a truncated file.
fn tiff_error(e: tiff::TiffError) -> LoadError {
    match e {
        tiff::TiffError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated(Format::Tiff, "image data runs past the end of the file")
        }
        e => broken(Format::Tiff, e),
    }
}

/// A TIFF decoder on `frame` of the file: straight at its directory when its offset is known,
/// else by walking the chain from the first.
fn tiff_decoder<R: Read + Seek>(
    reader: R,
    frame: Frame,
) -> Result<tiff::decoder::Decoder<FromDirectory<R>>, LoadError> {
    let start = match frame.ifd {
        Some(ifd) => ifd,
        None => {
            let mut reader = reader;
            let first = tiff_header(&mut reader)
                .map_err(|e| tiff_error(tiff::TiffError::IoError(e)))?
                .first;
            reader
                .seek(std::io::SeekFrom::Start(0))
                .map_err(LoadError::Unreadable)?;
            return tiff_decoder_at(reader, first, frame.index);
        }
    };
    tiff_decoder_at(reader, start, 0)
}

fn tiff_decoder_at<R: Read + Seek>(
    reader: R,
    ifd: u64,
    then_skip: usize,
) -> Result<tiff::decoder::Decoder<FromDirectory<R>>, LoadError> {
    let from = FromDirectory::new(reader, ifd).map_err(|e| tiff_error(e.into()))?;
    let mut dec = tiff::decoder::Decoder::new(from).map_err(tiff_error)?;
    if then_skip > 0 {
        dec.seek_to_image(then_skip).map_err(tiff_error)?;
    }
    Ok(dec)
}

/// Decodes frame `frame` (0-based) of a TIFF read through `reader`, which only has to reach
/// that frame's directory and data.
pub fn load_tiff<R: Read + Seek>(
    reader: R,
    frame: usize,
    limits: LoadLimits,
) -> Result<LoadedPage, LoadError> {
    let frame = Frame {
        index: frame,
        ifd: None,
    };
    load_tiff_frame(tiff_decoder(reader, frame)?, limits)
}

/// Decodes the frame a TIFF decoder stands on.
fn load_tiff_frame<R: Read + Seek>(
    mut dec: tiff::decoder::Decoder<R>,
    limits: LoadLimits,
) -> Result<LoadedPage, LoadError> {
    use tiff::tags::Tag;

    let broken = tiff_error;
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
    .and_then(|d| file_resolution(d, "resolution tag", warnings))
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
    fn formats_are_told_by_their_first_bytes() {
        let mut bmp = b"BM\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
        bmp.resize(40, 0);
        assert_eq!(sniff(&bmp).unwrap(), Format::Bmp);
        assert_eq!(
            sniff(b"RIFF\x10\x00\x00\x00WEBPVP8L").unwrap(),
            Format::WebP
        );
        assert_eq!(sniff(b"P5\n1500 2100\n255\n").unwrap(), Format::Pnm);
        assert_eq!(
            sniff(b"\x00\x00\x00\x0cjP  \r\n\x87\n").unwrap(),
            Format::Jp2
        );
        assert_eq!(sniff(b"\xff\x4f\xff\x51\x00\x2f").unwrap(), Format::Jp2);
        let unread = |b: &[u8]| match sniff(b) {
            Err(LoadError::UnreadableFormat { format }) => format,
            other => panic!("{other:?}"),
        };
        assert_eq!(unread(b"GIF89a\x10\x00"), "GIF");
        assert_eq!(unread(b"\x00\x00\x00\x18ftypheic\x00\x00"), "HEIF/HEIC");
        assert_eq!(unread(b"\x00\x00\x00\x1cftypavif\x00\x00"), "AVIF");
        assert_eq!(unread(b"8BPS\x00\x01"), "Photoshop (PSD)");
        // Text that starts like a BMP or a video is not one.
        assert!(matches!(
            sniff(b"BMW service notes, 2024"),
            Err(LoadError::Text)
        ));
        assert!(matches!(
            sniff(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00"),
            Err(LoadError::UnknownFormat { .. })
        ));
        // Every extension of a format kitap reads marks a page.
        for f in Format::ALL {
            for ext in f.extensions() {
                assert!(crate::discover::PAGE_EXTENSIONS.contains(ext), "{ext}");
            }
        }
        let all: usize = Format::ALL.iter().map(|f| f.extensions().len()).sum();
        assert_eq!(all, crate::discover::PAGE_EXTENSIONS.len());
    }

    /// The size read from a JPEG 2000 file's first boxes is the decoder's, for JP2 files and
    /// bare codestreams, lossless and lossy (the fuzz seeds, made by Pillow with OpenJPEG).
    #[test]
    fn a_jp2_header_gives_the_decoders_size() {
        let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/load_image");
        for name in ["19.jp2", "20.jp2", "21.j2k"] {
            let bytes = std::fs::read(seeds.join(name)).unwrap();
            let image = jp2_image(&bytes).unwrap();
            let (w, h, channels, bits) = jp2_size(&bytes[..bytes.len().min(200)]).unwrap();
            assert_eq!((w, h), (image.width(), image.height()), "{name}");
            assert_eq!(
                channels,
                image.color_space().num_channels() + u8::from(image.has_alpha()),
                "{name}"
            );
            assert_eq!(bits, image.original_bit_depth(), "{name}");
        }
        assert_eq!(jp2_size(b"\x00\x00\x00\x0cjP  \r\n\x87\n"), None);
    }

    /// A JP2 box: length, type, contents.
    fn jp2_box(kind: &[u8; 4], contents: &[u8]) -> Vec<u8> {
        let mut b = ((contents.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(contents);
        b
    }

    #[test]
    fn a_jp2_says_its_resolution_and_whether_it_is_lossy() {
        // 300 dpi = 11811 points a metre: 11811/1 × 10^0, vertical then horizontal.
        let resc = [0x2e, 0x23, 0, 1, 0x2e, 0x23, 0, 1, 0, 0];
        let res = jp2_box(b"res ", &jp2_box(b"resc", &resc));
        let header = jp2_box(b"jp2h", &[jp2_box(b"ihdr", &[0; 14]), res].concat());
        // SOC, SIZ (length 4, cut short), COD with the transform byte last.
        let cod = |transform: u8| {
            let mut c = vec![0xff, 0x4f, 0xff, 0x51, 0, 4, 0, 0, 0xff, 0x52, 0, 12];
            c.extend_from_slice(&[0, 0, 0, 1, 0, 5, 4, 4, 0, transform]);
            c
        };
        let file = |transform: u8| {
            [
                jp2_box(b"jP  ", b"\r\n\x87\n"),
                jp2_box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 "),
                header.clone(),
                jp2_box(b"jp2c", &cod(transform)),
            ]
            .concat()
        };
        let (x, y) = jp2_dpi(&file(0)).unwrap();
        assert!(
            (x - 300.0).abs() < 0.01 && (y - 300.0).abs() < 0.01,
            "{x} {y}"
        );
        assert!(jp2_is_lossy(&file(0)), "9/7 irreversible");
        assert!(!jp2_is_lossy(&file(1)), "5/3 reversible");
        assert!(jp2_is_lossy(&cod(0)), "a bare codestream");
        assert_eq!(jp2_dpi(&cod(0)), None);
    }

    /// An indexed PNG of `width`×`height` at `bits` a pixel over `palette` (RGB triples),
    /// index = (x + 3y) mod colours.
    fn indexed_png(width: u32, height: u32, bits: png::BitDepth, palette: &[u8]) -> Vec<u8> {
        let colours = palette.len() / 3;
        let b = bits as usize;
        let row_bytes = (width as usize * b).div_ceil(8);
        let mut data = vec![0u8; row_bytes * height as usize];
        for y in 0..height as usize {
            for x in 0..width as usize {
                let i = ((x + 3 * y) % colours) as u8;
                let bit = x * b;
                data[y * row_bytes + bit / 8] |= i << (8 - b - bit % 8);
            }
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(bits);
        enc.set_palette(palette.to_vec());
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn a_palette_of_greys_loads_as_the_same_greys_in_one_channel() {
        let limits = LoadLimits {
            max_pixels: 1 << 24,
        };
        for (bits, colours) in [
            (png::BitDepth::One, 2),
            (png::BitDepth::Two, 4),
            (png::BitDepth::Four, 16),
            (png::BitDepth::Eight, 200),
        ] {
            let palette: Vec<u8> = (0..colours)
                .flat_map(|i| [(i * 255 / (colours - 1)) as u8; 3])
                .collect();
            // Odd widths: rows end inside a byte.
            let png = indexed_png(37, 19, bits, &palette);
            let page = load(&png, 0, limits).unwrap();
            let DynamicImage::ImageLuma8(grey) = &page.image else {
                panic!("{bits:?}: not grey: {:?}", page.image.color());
            };
            let reference = image::load_from_memory(&png).unwrap().to_luma8();
            assert_eq!(grey.as_raw(), reference.as_raw(), "{bits:?}");
            assert_eq!(page.bitonal, bits == png::BitDepth::One, "{bits:?}");
        }
        // A palette with one colour stays colour.
        let mut palette: Vec<u8> = (0..16u8).flat_map(|i| [i * 17; 3]).collect();
        palette[3] = 200;
        let page = load(
            &indexed_png(20, 17, png::BitDepth::Four, &palette),
            0,
            limits,
        )
        .unwrap();
        assert!(matches!(page.image, DynamicImage::ImageRgb8(_)));
    }

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
            "not an image kitap reads: PNG, JPEG, TIFF, JPEG 2000, BMP, WebP or PNM (starts with 00 01 02 fe 04 05 06 07)"
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

    /// A TIFF of `n` grey 16×16 frames, frame `i` filled with the value `i % 256`.
    fn many_frames(n: usize) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for i in 0..n {
            let px = [(i % 256) as u8; 16 * 16];
            enc.write_image::<tiff::encoder::colortype::Gray8>(16, 16, &px)
                .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn every_frame_of_a_10005_frame_tiff_is_a_page_and_the_last_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.tif");
        std::fs::write(&path, many_frames(10_005)).unwrap();
        let Frames {
            frames,
            broken_chain,
        } = frames(&path);
        assert_eq!(frames.len(), 10_005, "no frame dropped");
        assert!(broken_chain.is_none());
        let limits = LoadLimits {
            max_pixels: 1 << 20,
        };
        for at in [frames[0], frames[9_999], frames[10_004]] {
            let page = open(&path, at, limits, &mut Vec::new()).unwrap();
            let value = page.image.to_luma8().get_pixel(3, 3).0[0];
            assert_eq!(value as usize, at.index % 256, "frame {}", at.index);
            assert_eq!(header(&path, at, limits).unwrap().width, 16);
        }
        // Without its directory's offset, a frame is still found by walking the chain.
        let walked = Frame {
            index: 10_004,
            ifd: None,
        };
        let page = open(&path, walked, limits, &mut Vec::new()).unwrap();
        assert_eq!(
            page.image.to_luma8().get_pixel(0, 0).0[0],
            (10_004 % 256) as u8
        );
    }

    #[test]
    fn a_chain_of_frames_that_loops_is_named_not_followed() {
        let mut bytes = many_frames(3);
        let dirs = tiff_directories(Cursor::new(&bytes)).unwrap().0;
        // Point the third directory's link back at the first.
        let at = dirs[2] as usize;
        let entries = u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
        let link = at + 2 + 12 * entries;
        bytes[link..link + 4].copy_from_slice(&(dirs[0] as u32).to_le_bytes());
        let (found, broken) = tiff_directories(Cursor::new(&bytes)).unwrap();
        assert_eq!(found, dirs);
        assert!(broken.unwrap().contains("loops back after frame 3"));
    }

    #[test]
    fn a_two_gib_file_that_is_no_image_is_refused_from_its_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0001.png");
        let file = File::create(&path).unwrap();
        std::io::Write::write_all(&mut &file, &[0x42; 600]).unwrap();
        file.set_len(2 << 30).unwrap();
        let limits = LoadLimits {
            max_pixels: 1 << 20,
        };
        let e = open(&path, Frame::FIRST, limits, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, LoadError::Text), "{e}");
        // A PNG signature over 2 GiB of nothing: the header read fails, nothing else is read.
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(GrayImage::new(32, 32))
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        std::fs::write(&path, &png[..40]).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        let e = open(&path, Frame::FIRST, limits, &mut Vec::new()).unwrap_err();
        assert!(matches!(e, LoadError::Broken { .. }), "{e}");
        // Read whole, either file would have taken this process past 2 GiB.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap();
        assert!(hwm_kb < 1 << 20, "peak RSS {hwm_kb} kB");
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
