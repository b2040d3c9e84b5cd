//! Finds the paper of a photographed page: a book on a copy stand shows the page's light paper
//! against a dark surround (the table, the book's cover, a strip of the facing page). Skew and
//! orientation are measured on the paper only, and OCR reads only the paper.
//!
//! The search runs on the page reduced to about 400 cells on its long side (a 24 MP photo costs
//! one pass to reduce it): cells at least half as light as the paper are paper, a morphological
//! opening cuts thin bridges (a page's corner touching the facing page), and the largest light
//! component with its holes (pictures, dark headings) filled is the page. Ordinary scans (paper
//! to the edges, or a thin scanner border) have no dark surround worth the name: nothing is
//! found, and nothing changes.

use image::GrayImage;

use crate::geometry::{self, Rect};

/// Cells on the long side of the reduced page the search runs on.
const CELLS: u32 = 400;
/// Least share of the image the dark surround must cover: a scanner border is thinner.
const MIN_SURROUND: f64 = 0.12;
/// Least share of the image the page must cover.
const MIN_PAGE: f64 = 0.15;
/// Least share of its convex hull the page must fill: paper is a (turned, perhaps slightly
/// curled) rectangle, while the white of a scan with a dark picture at its edge is not.
const MIN_SOLIDITY: f64 = 0.9;

/// The paper of a photographed page, as a mask over the image it was found in.
#[derive(Debug, Clone)]
pub struct PageRegion {
    /// 255 on the paper (a margin in from its edge), 0 elsewhere; a cell stands for
    /// `factor`×`factor` pixels (a ragged right or bottom edge takes its neighbour's cell).
    mask: GrayImage,
    factor: u32,
    /// The image's size in pixels.
    size: (u32, u32),
    /// How far the mask stays in from the paper's edge, in pixels.
    margin: u32,
}

impl PageRegion {
    /// Whether pixel (`x`, `y`) of the image lies on the paper.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        let mx = (x / self.factor).min(self.mask.width() - 1);
        let my = (y / self.factor).min(self.mask.height() - 1);
        self.mask.get_pixel(mx, my).0[0] > 0
    }

    /// For each pixel of the image reduced by `factor` to `w`×`h`: whether it lies on the paper.
    pub fn sample(&self, w: usize, h: usize, factor: u32) -> Vec<bool> {
        let half = factor / 2;
        let mut on = Vec::with_capacity(w * h);
        for y in 0..h as u32 {
            for x in 0..w as u32 {
                on.push(self.contains(x * factor + half, y * factor + half));
            }
        }
        on
    }

    /// The region of the image turned by `quarter_turns_cw` (as [`geometry::turn_grey`]).
    pub fn turned(&self, quarter_turns_cw: u32) -> PageRegion {
        let (w, h) = self.size;
        PageRegion {
            mask: geometry::turn_grey(&self.mask, quarter_turns_cw),
            size: if quarter_turns_cw % 2 == 1 {
                (h, w)
            } else {
                (w, h)
            },
            ..self.clone()
        }
    }

    /// The paper's bounding box after the image is rotated `ccw_deg` about its centre (as
    /// [`geometry::rotate_grey`]): straightened by the page's own skew, the paper of a
    /// photographed page is upright and this box holds it and little else. It stays a little
    /// in from the paper's edge, where the surround's shadow is.
    pub fn frame_rect(&self, ccw_deg: f64) -> Rect {
        let (w, h) = (self.size.0 as f64, self.size.1 as f64);
        let (s, c) = ccw_deg.to_radians().sin_cos();
        let (cx, cy) = ((w - 1.0) / 2.0, (h - 1.0) / 2.0);
        let f = self.factor as f64;
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (mx, my, p) in self.mask.enumerate_pixels() {
            if p.0[0] == 0 {
                continue;
            }
            // The cell's corners, turned forwards: the transpose of rotate_grey's inverse map.
            for (dx, dy) in [(0.0, 0.0), (f, 0.0), (0.0, f), (f, f)] {
                let (sx, sy) = (mx as f64 * f + dx - cx, my as f64 * f + dy - cy);
                let (ox, oy) = (c * sx + s * sy + cx, -s * sx + c * sy + cy);
                (x0, y0, x1, y1) = (x0.min(ox), y0.min(oy), x1.max(ox), y1.max(oy));
            }
        }
        let grow = self.margin as f64 / 2.0;
        let clamp = |v: f64, max: f64| v.clamp(0.0, max).round() as u32;
        Rect {
            x0: clamp(x0 - grow, w),
            y0: clamp(y0 - grow, h),
            x1: clamp(x1 + grow, w),
            y1: clamp(y1 + grow, h),
        }
    }
}

/// The paper of a page photographed against a dark surround, or `None` for a page whose paper
/// reaches the edges (every ordinary scan).
pub fn find_page(grey: &GrayImage) -> Option<PageRegion> {
    let (w, h) = grey.dimensions();
    let factor = (w.max(h) / CELLS).max(1);
    let small = geometry::reduce(grey, factor);
    let (sw, sh) = (small.width() as usize, small.height() as usize);
    if sw < 40 || sh < 40 {
        return None;
    }
    let px = small.as_raw();
    let n = px.len();
    // Paper: the level 5 % of the cells are at least as light as.
    let mut hist = [0usize; 256];
    px.iter().for_each(|&v| hist[v as usize] += 1);
    let mut acc = 0;
    let paper = (0..256usize)
        .rev()
        .find(|&i| {
            acc += hist[i];
            acc * 20 >= n
        })
        .unwrap_or(0);
    if paper < 96 {
        return None;
    }
    let dark = (paper / 2) as u8;
    // Cheap way out for ordinary scans: the image's edges are mostly paper.
    let edge: Vec<usize> = (0..sw)
        .flat_map(|x| [x, (sh - 1) * sw + x])
        .chain((0..sh).flat_map(|y| [y * sw, y * sw + sw - 1]))
        .collect();
    let dark_edge = edge.iter().filter(|&&i| px[i] < dark).count();
    if dark_edge * 4 < edge.len() {
        return None;
    }
    let light: Vec<bool> = px.iter().map(|&v| v >= dark).collect();
    let r = (sw.max(sh) / 100).max(2);
    let opened = spread(&spread(&light, sw, sh, r, false), sw, sh, r, true);
    let page = largest_component(&opened, sw, sh)?;
    let page = fill_holes(&page, sw, sh);
    let area = page.iter().filter(|&&b| b).count();
    let surround_dark = page
        .iter()
        .zip(px)
        .filter(|&(&on, &v)| !on && v < dark)
        .count();
    if (area as f64) < MIN_PAGE * n as f64 || (surround_dark as f64) < MIN_SURROUND * n as f64 {
        return None;
    }
    let solidity = area as f64 / hull_area(&page, sw, sh);
    if solidity < MIN_SOLIDITY {
        return None;
    }
    // Measure a margin in from the paper's edge: its shadow and the surround are not ink.
    let inner = spread(&page, sw, sh, r, false);
    let mask = GrayImage::from_raw(
        sw as u32,
        sh as u32,
        inner.iter().map(|&b| if b { 255 } else { 0 }).collect(),
    )
    .expect("sized");
    Some(PageRegion {
        mask,
        factor,
        size: (w, h),
        margin: r as u32 * factor,
    })
}

/// Spreads cells equal to `value` over the square of radius `r` around them: dilation of
/// `true` cells when `value` is `true`, erosion when it is `false`. Separable, a running count.
fn spread(cells: &[bool], w: usize, h: usize, r: usize, value: bool) -> Vec<bool> {
    let pass = |src: &[bool], len: usize, lines: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = src.to_vec();
        for line in 0..lines {
            let mut count = 0usize; // cells equal to `value` in the window
            for i in 0..len.min(r) {
                count += usize::from(src[at(line, i)] == value);
            }
            for i in 0..len {
                if i + r < len {
                    count += usize::from(src[at(line, i + r)] == value);
                }
                if i > r {
                    count -= usize::from(src[at(line, i - r - 1)] == value);
                }
                out[at(line, i)] = if count > 0 { value } else { !value };
            }
        }
        out
    };
    let rows = pass(cells, w, h, &|y, x| y * w + x);
    pass(&rows, h, w, &|x, y| y * w + x)
}

/// The largest 4-connected set of `true` cells.
fn largest_component(cells: &[bool], w: usize, h: usize) -> Option<Vec<bool>> {
    let mut label = vec![0u32; cells.len()];
    let mut best = (0u32, 0usize);
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..cells.len() {
        if !cells[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            for j in neighbours(i, w, h) {
                if cells[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            }
        }
        if size > best.1 {
            best = (next, size);
        }
    }
    (best.0 > 0).then(|| label.iter().map(|&l| l == best.0).collect())
}

/// The area of the convex hull of the `true` cells (as unit squares), in cells.
fn hull_area(cells: &[bool], w: usize, h: usize) -> f64 {
    // Each row's leftmost and rightmost cell, by their outer corners.
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for y in 0..h {
        let row = &cells[y * w..(y + 1) * w];
        if let (Some(a), Some(b)) = (row.iter().position(|&c| c), row.iter().rposition(|&c| c)) {
            let (y0, y1) = (y as f64, y as f64 + 1.0);
            let (x0, x1) = (a as f64, b as f64 + 1.0);
            pts.extend([(x0, y0), (x0, y1), (x1, y0), (x1, y1)]);
        }
    }
    pts.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    pts.dedup();
    if pts.len() < 3 {
        return 1.0;
    }
    // Andrew's monotone chain.
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for pass in [pts.clone(), pts.iter().rev().copied().collect()] {
        let start = hull.len();
        for p in pass {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    let twice: f64 = (0..hull.len())
        .map(|i| {
            let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    (twice.abs() / 2.0).max(1.0)
}

/// `cells` with every hole (a `false` area the image's edge cannot reach) filled.
fn fill_holes(cells: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut outside = vec![false; cells.len()];
    let mut stack: Vec<usize> = (0..w)
        .flat_map(|x| [x, (h - 1) * w + x])
        .chain((0..h).flat_map(|y| [y * w, y * w + w - 1]))
        .filter(|&i| !cells[i])
        .collect();
    for &i in &stack {
        outside[i] = true;
    }
    while let Some(i) = stack.pop() {
        for j in neighbours(i, w, h) {
            if !cells[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        }
    }
    outside.iter().map(|&o| !o).collect()
}

/// The cells left, right, above and below cell `i` of a `w`×`h` grid that exist.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::geometry::tests::text_page;
    use image::Luma;

    /// `page` turned `cw_deg` clockwise on a dark table, with a light strip of a facing page at
    /// the left behind a dark gap; returns the photo and where the page's centre lies in it.
    pub(crate) fn photographed(page: &GrayImage, cw_deg: f64) -> (GrayImage, (u32, u32)) {
        let (pw, ph) = page.dimensions();
        let (w, h) = (pw * 3 / 2, ph * 5 / 4);
        let mut photo = GrayImage::from_fn(w, h, |x, y| Luma([40 + ((x * 7 + y * 13) % 23) as u8]));
        // The page, turned on a canvas of its own with a dark outside.
        let pad = ph / 8;
        let mut canvas = GrayImage::from_pixel(pw + 2 * pad, ph + 2 * pad, Luma([0]));
        image::imageops::replace(&mut canvas, page, pad as i64, pad as i64);
        let inverted = GrayImage::from_fn(canvas.width(), canvas.height(), |x, y| {
            Luma([255 - canvas.get_pixel(x, y).0[0]])
        });
        // rotate_grey fills white: turn the negative, then invert back (outside becomes 0).
        let turned = geometry::rotate_grey(&inverted, -cw_deg);
        let (x0, y0) = (w - pw - pw / 10 - pad, (h - ph) / 2 - pad);
        for (x, y, p) in turned.enumerate_pixels() {
            let v = 255 - p.0[0];
            if v > 60 {
                photo.put_pixel(x0 + x, y0 + y, Luma([v]));
            }
        }
        // The facing page's strip.
        for y in (h - ph) / 2..(h + ph) / 2 {
            for x in pw / 20..pw / 20 + pw / 8 {
                photo.put_pixel(x, y, Luma([235]));
            }
        }
        (photo, (x0 + pad + pw / 2, y0 + pad + ph / 2))
    }

    #[test]
    fn ordinary_scans_have_no_surround() {
        let page = text_page(800, 1100, 1);
        assert!(find_page(&page).is_none());
        // A thin scanner border all round.
        let mut bordered = page.clone();
        for (x, y, p) in bordered.enumerate_pixels_mut() {
            if x < 20 || y < 20 || x >= 780 || y >= 1080 {
                *p = Luma([10]);
            }
        }
        assert!(find_page(&bordered).is_none());
    }

    #[test]
    fn a_dark_picture_at_the_edge_of_a_scan_is_not_a_surround() {
        let mut page = text_page(1100, 800, 2);
        for (x, y, p) in page.enumerate_pixels_mut() {
            if x < 400 && y > 300 {
                *p = Luma([30]);
            }
        }
        assert!(find_page(&page).is_none());
    }

    #[test]
    fn a_photographed_page_is_found_and_its_skew_measured_on_it() {
        let page = text_page(1000, 1400, 5);
        let (photo, (cx, cy)) = photographed(&page, 4.0);
        let paper = find_page(&photo).expect("the page is found");
        assert!(paper.contains(cx, cy));
        assert!(
            !paper.contains(1000 / 20 + 60, cy),
            "the facing page's strip is surround"
        );
        let skew = geometry::find_skew_on(&photo, 150.0, 15.0, Some(&paper));
        let blind = geometry::find_skew(&photo, 150.0, 15.0);
        assert!(
            blind.points < 200 || (blind.cw_deg - 4.0).abs() > 0.3,
            "the whole photo misleads the search: {blind:?}"
        );
        assert!((skew.cw_deg - 4.0).abs() < 0.1, "{skew:?}");
        // Straightened, the page's box holds the page and little else.
        let r = paper.frame_rect(skew.cw_deg);
        let (w, h) = (r.width() as i64, r.height() as i64);
        assert!(
            (950..=1010).contains(&w) && (1350..=1410).contains(&h),
            "{r:?}"
        );
        // Its centre is the page's, turned with the photo about the photo's centre.
        let (sn, cs) = skew.cw_deg.to_radians().sin_cos();
        let (mx, my) = (
            (photo.width() - 1) as f64 / 2.0,
            (photo.height() - 1) as f64 / 2.0,
        );
        let (dx, dy) = (cx as f64 - mx, cy as f64 - my);
        let (ex, ey) = (cs * dx + sn * dy + mx, -sn * dx + cs * dy + my);
        assert!(
            ((r.x0 + r.x1) as f64 / 2.0 - ex).abs() <= 4.0,
            "{r:?} {ex} {ey}"
        );
        assert!(
            ((r.y0 + r.y1) as f64 / 2.0 - ey).abs() <= 4.0,
            "{r:?} {ex} {ey}"
        );
        // The same region turned a quarter turn is where the turned page is.
        let turned = geometry::turn_grey(&photo, 1);
        assert!(paper.turned(1).contains(photo.height() - 1 - cy, cx));
        assert!(find_page(&turned).is_some());
    }

    #[test]
    fn a_full_rectangle_fills_its_hull() {
        let cells = vec![true; 12];
        assert_eq!(hull_area(&cells, 4, 3), 12.0);
        // An L: a 4×4 square missing its top-right 2×2.
        let l: Vec<bool> = (0..16).map(|i| !(i % 4 >= 2 && i / 4 < 2)).collect();
        let a = hull_area(&l, 4, 4);
        assert!(a > 12.0 && a < 16.0, "{a}");
    }
}
