//! Prepares a decoded page for OCR and display: upright pixels, a square-pixel grey image for
//! Tesseract, and the scale that maps OCR coordinates back onto the page image shown in the PDF.

use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, Rgb, RgbImage};

use crate::load::LoadedPage;

/// Options of the prepare stage. Later stages (orientation detection, deskew) add theirs here.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrepareOptions {}

/// A page ready for OCR.
#[derive(Debug)]
pub struct PreparedPage {
    /// The page as it is shown: EXIF orientation applied, alpha flattened onto white paper.
    pub upright: DynamicImage,
    /// What Tesseract reads: 8-bit grey with square pixels.
    pub ocr_image: GrayImage,
    /// Multiply OCR-image coordinates by this (x, y) to get page-image coordinates.
    pub ocr_to_page: (f64, f64),
    /// Quarter turns clockwise that bring the stored pixels upright (from EXIF), for images
    /// that go into the PDF untouched.
    pub stored_quarter_turns: u8,
    /// The stored pixels are mirrored (EXIF): they cannot be shown untouched.
    pub mirrored: bool,
}

/// Resolution of the OCR image that Tesseract should be told: the page's vertical dpi, since
/// non-square pixels are resampled horizontally to match it.
pub fn ocr_dpi(file_dpi: Option<(f64, f64)>) -> Option<f64> {
    file_dpi.map(|d| d.1)
}

pub fn prepare(page: LoadedPage, _opts: &PrepareOptions) -> PreparedPage {
    let (quarter_turns, mirrored) = match page.orientation {
        Orientation::NoTransforms => (0, false),
        Orientation::Rotate90 => (1, false),
        Orientation::Rotate180 => (2, false),
        Orientation::Rotate270 => (3, false),
        _ => (0, true),
    };
    let mut upright = flatten_alpha(page.image);
    upright.apply_orientation(page.orientation);
    let grey = upright.to_luma8();
    let (ocr_image, ocr_to_page) = match page.file_dpi {
        Some((dx, dy)) if (dx / dy - 1.0).abs() > 0.01 => {
            // Tesseract assumes square pixels; stretch horizontally to the vertical resolution.
            let w = ((grey.width() as f64) * dy / dx).round().max(1.0) as u32;
            let img = image::imageops::resize(
                &grey,
                w,
                grey.height(),
                image::imageops::FilterType::Triangle,
            );
            let sx = grey.width() as f64 / w as f64;
            (img, (sx, 1.0))
        }
        _ => (grey, (1.0, 1.0)),
    };
    PreparedPage {
        upright,
        ocr_image,
        ocr_to_page,
        stored_quarter_turns: quarter_turns,
        mirrored,
    }
}

/// Transparent areas of a scan are paper: composite onto white rather than dropping alpha
/// (which turns transparent pixels black).
fn flatten_alpha(image: DynamicImage) -> DynamicImage {
    if !image.color().has_alpha() {
        return image;
    }
    if !image.color().has_color() {
        let la = image.to_luma_alpha8();
        let grey = GrayImage::from_fn(la.width(), la.height(), |x, y| {
            let p = la.get_pixel(x, y).0;
            image::Luma([blend(p[0], p[1])])
        });
        return DynamicImage::ImageLuma8(grey);
    }
    let rgba = image.to_rgba8();
    let rgb = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        Rgb([blend(p[0], p[3]), blend(p[1], p[3]), blend(p[2], p[3])])
    });
    DynamicImage::ImageRgb8(rgb)
}

fn blend(v: u8, alpha: u8) -> u8 {
    ((v as u32 * alpha as u32 + 255 * (255 - alpha as u32) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Format;

    fn loaded(
        image: DynamicImage,
        orientation: Orientation,
        dpi: Option<(f64, f64)>,
    ) -> LoadedPage {
        LoadedPage {
            image,
            orientation,
            file_dpi: dpi,
            bitonal: false,
            jpeg: None,
            format: Format::Png,
            warnings: vec![],
        }
    }

    #[test]
    fn exif_rotation_makes_the_page_upright() {
        let img = DynamicImage::ImageLuma8(GrayImage::new(30, 20));
        let p = prepare(
            loaded(img, Orientation::Rotate90, None),
            &PrepareOptions::default(),
        );
        assert_eq!(p.upright.width(), 20);
        assert_eq!(p.ocr_image.dimensions(), (20, 30));
        assert_eq!(p.stored_quarter_turns, 1);
    }

    #[test]
    fn transparent_pixels_become_white_paper() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::new(20, 20));
        let p = prepare(
            loaded(img, Orientation::NoTransforms, None),
            &PrepareOptions::default(),
        );
        assert_eq!(p.ocr_image.get_pixel(3, 3).0[0], 255);
    }

    #[test]
    fn non_square_pixels_are_resampled_for_ocr() {
        let img = DynamicImage::ImageLuma8(GrayImage::new(100, 100));
        let p = prepare(
            loaded(img, Orientation::NoTransforms, Some((200.0, 100.0))),
            &PrepareOptions::default(),
        );
        assert_eq!(p.ocr_image.dimensions(), (50, 100));
        assert_eq!(p.ocr_to_page, (2.0, 1.0));
    }
}
