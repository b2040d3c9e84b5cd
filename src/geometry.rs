//! Page geometry: skew and text direction by projection profiles, and rotations.
//!
//! Skew is found the way a typesetter would check a page: rotate the ink a little at a time and
//! keep the angle at which the text lines are sharpest, i.e. where the horizontal projection
//! (ink per row) jumps most between lines and gaps. The search runs on ink points of a reduced
//! page (coarse, ±15° in 0.5° steps), then refines on a finer page (±1° in 0.05° steps, then ±0.1° in
//! 0.01° steps) and takes the centre of the peak. Hough lines (1° resolution) are too coarse for this (DESIGN.md).

use std::ops::Sub;

use image::{GrayImage, RgbImage};

use crate::paper::PageRegion;

/// An axis-aligned rectangle: left, top, right, bottom (right and bottom exclusive). In whole
/// pixels (`Rect<u32>`: page parts, crops) or in fractional ones (`Rect<f64>`: OCR boxes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rect<T = u32> {
    pub x0: T,
    pub y0: T,
    pub x1: T,
    pub y1: T,
}

impl<T: Copy + Sub<Output = T>> Rect<T> {
    pub fn width(&self) -> T {
        self.x1 - self.x0
    }

    pub fn height(&self) -> T {
        self.y1 - self.y0
    }
}

impl Rect<u32> {
    /// The whole of a `width`×`height` image.
    pub fn of_size(width: u32, height: u32) -> Rect {
        Rect {
            x0: 0,
            y0: 0,
            x1: width,
            y1: height,
        }
    }

    /// `[left, top, right, bottom]`, as the manifest writes a crop.
    pub fn to_array(self) -> [u32; 4] {
        [self.x0, self.y0, self.x1, self.y1]
    }
}

/// Result of the skew search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Skew {
    /// How far the text lines are turned clockwise, in degrees (ImageMagick's `-rotate` sign).
    pub cw_deg: f64,
    /// Sharpness of the row profile at that angle (ink-normalised).
    pub row_score: f64,
    /// Best sharpness of the column profile: higher than `row_score` when the text runs vertically.
    pub col_score: f64,
    /// Ink points analysed; too few means the page has no text to go by.
    pub points: usize,
}

/// Averages `factor`×`factor` blocks (a ragged right or bottom edge is dropped).
pub fn reduce(img: &GrayImage, factor: u32) -> GrayImage {
    if factor <= 1 {
        return img.clone();
    }
    let f = factor as usize;
    let (w, h) = (
        (img.width() as usize / f).max(1),
        (img.height() as usize / f).max(1),
    );
    let stride = img.width() as usize;
    let src = img.as_raw();
    let n = (f * f) as u32;
    let mut sums = vec![0u32; w];
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        sums.iter_mut().for_each(|s| *s = 0);
        for dy in 0..f {
            let row_index = (y * f + dy).min(img.height() as usize - 1);
            let row = &src[row_index * stride..row_index * stride + stride];
            match f {
                2 => add_blocks::<2>(&mut sums, row),
                3 => add_blocks::<3>(&mut sums, row),
                4 => add_blocks::<4>(&mut sums, row),
                _ => {
                    for (sum, chunk) in sums.iter_mut().zip(row.chunks_exact(f)) {
                        *sum += chunk.iter().map(|&v| v as u32).sum::<u32>();
                    }
                }
            }
        }
        // A constant divisor for the usual factors: a multiply instead of a division a pixel.
        match f {
            2 => out.extend(sums.iter().map(|&s| (s / 4) as u8)),
            3 => out.extend(sums.iter().map(|&s| (s / 9) as u8)),
            4 => out.extend(sums.iter().map(|&s| (s / 16) as u8)),
            _ => out.extend(sums.iter().map(|&s| (s / n) as u8)),
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("sized")
}

/// Adds each `F`-pixel block of `row` to its sum (the usual factors, unrolled).
fn add_blocks<const F: usize>(sums: &mut [u32], row: &[u8]) {
    for (sum, chunk) in sums.iter_mut().zip(row.chunks_exact(F)) {
        *sum += chunk.iter().map(|&v| v as u32).sum::<u32>();
    }
}

/// Otsu's threshold of a grey image: the level that best separates ink from paper.
pub fn otsu(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[*p as usize] += 1;
    }
    otsu_of(&hist)
}

/// Otsu's threshold of a histogram.
fn otsu_of(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, c)| i as f64 * *c as f64)
        .sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0u64, 0f64, -1f64, 128u8);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c;
        if w0 == 0 || w0 == total {
            continue;
        }
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        let (m0, m1) = (sum0 / w0 as f64, (sum_all - sum0) / w1 as f64);
        let between = w0 as f64 * w1 as f64 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Coordinates of the top and bottom edges of ink (ink pixels with paper above or below),
/// centred on the image. Edges trace baselines and x-height lines: they give a much sharper row
/// profile than whole strokes, and far fewer points to project.
/// With a `page` (the image reduced by `factor` from the one it was found in), only points on
/// the page count, and ink is told from paper by the page's own pixels.
fn ink_points(img: &GrayImage, page: Option<(&PageRegion, u32)>) -> Vec<(f32, f32)> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let on_page: Option<Vec<bool>> = page.map(|(r, factor)| r.sample(w, h, factor));
    let t = match &on_page {
        Some(on) => {
            let mut hist = [0u64; 256];
            for (&v, _) in img.as_raw().iter().zip(on).filter(|(_, on)| **on) {
                hist[v as usize] += 1;
            }
            otsu_of(&hist)
        }
        None => otsu(img),
    };
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let px = img.as_raw();
    let mut pts = Vec::new();
    let mut ink = 0usize;
    let area = on_page
        .as_ref()
        .map_or(w * h, |on| on.iter().filter(|&&b| b).count());
    for y in 1..h.saturating_sub(1) {
        let (up, row, down) = (
            &px[(y - 1) * w..y * w],
            &px[y * w..(y + 1) * w],
            &px[(y + 1) * w..(y + 2) * w],
        );
        for x in 0..w {
            if row[x] <= t && on_page.as_ref().is_none_or(|on| on[y * w + x]) {
                ink += 1;
                if up[x] > t || down[x] > t {
                    pts.push((x as f32 - cx, y as f32 - cy));
                }
            }
        }
    }
    // A page that is mostly dark (a photo, a black border) has its "ink" in the paper.
    if ink > area / 3 {
        pts.clear();
    }
    pts
}

/// Sharpness of the projection of `pts` onto rows after shearing by `tan`: the sum of squared
/// differences between neighbouring rows, per ink point.
fn profile_score(
    pts: &[(f32, f32)],
    tan: f32,
    hist: &mut Vec<f32>,
    span: f32,
    smooth: bool,
) -> f64 {
    let n = (2.0 * span) as usize + 6;
    hist.clear();
    hist.resize(n, 0.0);
    if !smooth {
        // Coarse sweeps only need the rough peak: nearest row, a third of the work.
        for &(x, y) in pts {
            let i = (y - x * tan + span + 2.5) as usize;
            if i < n {
                hist[i] += 1.0;
            }
        }
    }
    for &(x, y) in pts.iter().filter(|_| smooth) {
        // Spread each point over four rows with cubic B-spline weights: the profile then varies
        // smoothly with the angle, and how sharp a line looks no longer depends on where it
        // falls between two rows (with a plain split, a line at a half-row phase looks half as
        // sharp, which pulls straight pages 0.1° off).
        let v = y - x * tan + span + 2.0;
        let i = v.floor();
        let f = v - i;
        let i = i as usize;
        if i + 2 < n && i >= 1 {
            let g = 1.0 - f;
            hist[i - 1] += g * g * g / 6.0;
            hist[i] += (3.0 * f * f * f - 6.0 * f * f + 4.0) / 6.0;
            hist[i + 1] += (3.0 * g * g * g - 6.0 * g * g + 4.0) / 6.0;
            hist[i + 2] += f * f * f / 6.0;
        }
    }
    let mut s = 0f64;
    for w in hist.windows(2) {
        let d = (w[1] - w[0]) as f64;
        s += d * d;
    }
    s / pts.len().max(1) as f64
}

/// Best angle (degrees, cw) in `[lo, hi]` by `step`, with parabolic interpolation of the peak.
fn search(pts: &[(f32, f32)], lo: f64, hi: f64, step: f64, smooth: bool) -> (f64, f64) {
    let span = pts.iter().fold(0f32, |m, p| m.max(p.0.abs() + p.1.abs()));
    let mut hist = Vec::new();
    let steps = ((hi - lo) / step).round() as usize;
    let scores: Vec<f64> = (0..=steps)
        .map(|i| {
            let a = (lo + i as f64 * step).to_radians();
            profile_score(pts, a.tan() as f32, &mut hist, span, smooth)
        })
        .collect();
    let (best, &s) = scores
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("at least one angle");
    // Near the true angle the score has a flat top about one pixel of shear wide (lines stay
    // in the same rows): take the centre of the contiguous run of near-best angles.
    let near = |i: usize| scores[i] >= s * 0.995;
    let (mut lo_i, mut hi_i) = (best, best);
    while lo_i > 0 && near(lo_i - 1) {
        lo_i -= 1;
    }
    while hi_i < steps && near(hi_i + 1) {
        hi_i += 1;
    }
    let mut angle = lo + (lo_i + hi_i) as f64 / 2.0 * step;
    if lo_i == hi_i && best > 0 && best < steps {
        let (l, c, r) = (scores[best - 1], s, scores[best + 1]);
        let denom = l - 2.0 * c + r;
        if denom < 0.0 {
            angle += step * 0.5 * (l - r) / denom;
        }
    }
    (angle, s)
}

/// Finds skew and text direction of a grey page whose resolution is `dpi`.
/// Works at ~75 dpi for the coarse search and ~150 dpi for the refinement.
pub fn find_skew(grey: &GrayImage, dpi: f64, max_deg: f64) -> Skew {
    find_skew_on(grey, dpi, max_deg, None)
}

/// [`find_skew`] measured on the `page` only (a photographed page's paper, found by
/// [`find_page`] in `grey`), when there is one.
pub fn find_skew_on(grey: &GrayImage, dpi: f64, max_deg: f64, page: Option<&PageRegion>) -> Skew {
    let coarse_factor = ((dpi / 75.0).round() as u32).max(1);
    let fine_factor = ((dpi / 150.0).round() as u32).max(1);
    let coarse = reduce(grey, coarse_factor);
    let pts = ink_points(&coarse, page.map(|p| (p, coarse_factor)));
    if pts.len() < 200 {
        return Skew {
            cw_deg: 0.0,
            row_score: 0.0,
            col_score: 0.0,
            points: pts.len(),
        };
    }
    let (a0, _) = search(&pts, -max_deg, max_deg, 0.5, false);
    // Rows against columns decides whether lines run down the page. Nearest-row binning
    // aliases on regular stroke patterns, so this comparison uses the smooth profile; the
    // column sweep only needs its best score, 1° steps will do.
    let (_, row_score) = search(&pts, a0 - 0.5, a0 + 0.5, 0.5, true);
    let swapped: Vec<(f32, f32)> = pts.iter().map(|&(x, y)| (y, x)).collect();
    let (_, col_score) = search(&swapped, -max_deg, max_deg, 1.0, true);
    let fine_pts = if fine_factor == coarse_factor {
        pts
    } else {
        ink_points(&reduce(grey, fine_factor), page.map(|p| (p, fine_factor)))
    };
    // The coarse peak can be off by more than its step on narrow pages (one pixel of shear at
    // 75 dpi is 0.15° over 380 px): widen once at the fine scale, then narrow down.
    let half: Vec<(f32, f32)> = fine_pts.iter().step_by(2).copied().collect();
    let (a1, _) = search(&half, a0 - 1.0, a0 + 1.0, 0.05, true);
    let (a1, _) = search(&fine_pts, a1 - 0.1, a1 + 0.1, 0.01, true);
    Skew {
        cw_deg: a1,
        row_score,
        col_score,
        points: fine_pts.len(),
    }
}

/// Inverse-maps each output pixel through a rotation about the centre by `ccw_deg`
/// (counter-clockwise as seen on screen) and samples bilinearly; outside is `fill`.
/// Fixed point (16.16 coordinates, 8-bit weights): a 300-dpi page in ~20 ms.
fn rotate_with<const C: usize>(src: &[u8], w: u32, h: u32, ccw_deg: f64, fill: [u8; C]) -> Vec<u8> {
    const ONE: f64 = 65536.0;
    let (s, c) = ccw_deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let (wi, hi) = (w as i64, h as i64);
    let stride = w as usize * C;
    let (dxx, dxy) = ((c * ONE).round() as i64, (s * ONE).round() as i64);
    let mut out = vec![0u8; stride * h as usize];
    for (y, row) in out.chunks_exact_mut(stride).enumerate() {
        let dy = y as f64 - cy;
        // A ccw turn on screen (y down) maps (1, 0) to (c, -s); the source of an output point
        // is found with the inverse, [[c, -s], [s, c]], applied about the centre.
        let mut sx = ((cx - cx * c - dy * s) * ONE).round() as i64;
        let mut sy = ((cy - cx * s + dy * c) * ONE).round() as i64;
        for px in row.chunks_exact_mut(C) {
            let (x0, y0) = (sx >> 16, sy >> 16);
            if x0 >= 0 && y0 >= 0 && x0 < wi && y0 < hi {
                let ax = ((sx >> 8) & 0xff) as u32;
                let ay = ((sy >> 8) & 0xff) as u32;
                let i00 = (y0 as usize * w as usize + x0 as usize) * C;
                // On the last row or column the neighbour is the pixel itself.
                let dx = if x0 + 1 < wi { C } else { 0 };
                let i01 = if y0 + 1 < hi { i00 + stride } else { i00 };
                for k in 0..C {
                    let top = src[i00 + k] as u32 * (256 - ax) + src[i00 + dx + k] as u32 * ax;
                    let bot = src[i01 + k] as u32 * (256 - ax) + src[i01 + dx + k] as u32 * ax;
                    px[k] = ((top * (256 - ay) + bot * ay + (1 << 15)) >> 16) as u8;
                }
            } else {
                px.copy_from_slice(&fill);
            }
            sx += dxx;
            sy += dxy;
        }
    }
    out
}

/// Rotates a grey image about its centre, same size, white outside.
pub fn rotate_grey(img: &GrayImage, ccw_deg: f64) -> GrayImage {
    let data = rotate_with::<1>(img.as_raw(), img.width(), img.height(), ccw_deg, [255]);
    GrayImage::from_raw(img.width(), img.height(), data).expect("same size")
}

/// Rotates an RGB image about its centre, same size, white outside.
pub fn rotate_rgb(img: &RgbImage, ccw_deg: f64) -> RgbImage {
    let data = rotate_with::<3>(img.as_raw(), img.width(), img.height(), ccw_deg, [255; 3]);
    RgbImage::from_raw(img.width(), img.height(), data).expect("same size")
}

/// Turns an image by quarter turns clockwise (lossless).
pub fn turn_grey(img: &GrayImage, quarter_turns_cw: u32) -> GrayImage {
    match quarter_turns_cw % 4 {
        1 => image::imageops::rotate90(img),
        2 => image::imageops::rotate180(img),
        3 => image::imageops::rotate270(img),
        _ => img.clone(),
    }
}

pub fn turn_rgb(img: &RgbImage, quarter_turns_cw: u32) -> RgbImage {
    match quarter_turns_cw % 4 {
        1 => image::imageops::rotate90(img),
        2 => image::imageops::rotate180(img),
        3 => image::imageops::rotate270(img),
        _ => img.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Luma;

    /// A synthetic text page: lines of "words" (dark blocks with gaps), like a printed page at
    /// 150 dpi, so the tests need no file.
    pub(crate) fn text_page(w: u32, h: u32, seed: u64) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, Luma([250]));
        let mut state = seed;
        let mut rnd = move |n: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % n as u64) as u32
        };
        let mut y = h / 10;
        while y + 30 < h * 9 / 10 {
            let mut x = w / 10;
            while x < w * 9 / 10 {
                let len = 10 + rnd(50);
                for xx in x..(x + len).min(w * 9 / 10) {
                    // letters: a stroke every 3 px, x-height 10 px, some ascenders
                    if xx % 4 != 0 {
                        let top = if rnd(5) == 0 { y } else { y + 5 };
                        for yy in top..y + 16 {
                            img.put_pixel(xx, yy, Luma([20]));
                        }
                    }
                }
                x += len + 8;
            }
            y += 28;
        }
        img
    }

    #[test]
    fn rotation_keeps_the_last_row_and_column() {
        let img = GrayImage::from_pixel(200, 100, Luma([40]));
        assert_eq!(rotate_grey(&img, 0.0), img, "no white last row or column");
    }

    #[test]
    fn straight_page_has_no_skew() {
        let page = text_page(1200, 1600, 1);
        let s = find_skew(&page, 150.0, 15.0);
        assert!(s.cw_deg.abs() < 0.05, "{s:?}");
        assert!(s.row_score > 2.0 * s.col_score, "{s:?}");
    }

    #[test]
    fn random_rotations_are_recovered() {
        // Seeded: the same angles every run.
        let mut state = 42u64;
        let page = text_page(1200, 1600, 7);
        for _ in 0..8 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let angle = ((state >> 11) as f64 / (1u64 << 53) as f64) * 28.0 - 14.0;
            // Turning the content clockwise by `angle` is a ccw turn by -angle.
            let skewed = rotate_grey(&page, -angle);
            let s = find_skew(&skewed, 150.0, 15.0);
            assert!(
                (s.cw_deg - angle).abs() < 0.1,
                "true {angle:.2}, found {:.3}",
                s.cw_deg
            );
        }
    }

    #[test]
    fn vertical_text_scores_higher_on_columns() {
        let page = turn_grey(&text_page(1200, 1600, 3), 1);
        let s = find_skew(&page, 150.0, 15.0);
        assert!(s.col_score > 2.0 * s.row_score, "{s:?}");
    }

    #[test]
    fn rotation_round_trips_the_centre() {
        let mut img = GrayImage::from_pixel(101, 101, Luma([255]));
        img.put_pixel(50, 50, Luma([0]));
        img.put_pixel(80, 50, Luma([0]));
        let r = rotate_grey(&img, 90.0);
        assert_eq!(r.get_pixel(50, 50).0[0], 0);
        // A point right of centre moves up when turned counter-clockwise on screen.
        assert_eq!(r.get_pixel(50, 20).0[0], 0);
        // A small turn keeps distances: the point 30 px right stays 30 px from the centre.
        let r = rotate_grey(&img, 30.0);
        let (x, y) = (
            50.0 + 30.0 * 30f64.to_radians().cos(),
            50.0 - 30.0 * 30f64.to_radians().sin(),
        );
        assert!(r.get_pixel(x.round() as u32, y.round() as u32).0[0] < 128);
    }
}
