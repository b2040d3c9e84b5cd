//! How big the text on a page is, and whether there is any: a cheap survey of the ink before
//! OCR. Tesseract reads best with an x-height of about 20–30 px; a page scanned far finer
//! (a 1000-dpi typewriter page has 70-px letters) costs it time for nothing, and a page with
//! no ink at all (a blank verso) needs no reading.
//!
//! The survey works on the page reduced to at most [`SURVEY_SIDE`] pixels: ink is what is much
//! darker than the paper around it (the brightest level within a few millimetres, so gutter
//! shadows, show-through and paper texture are not ink), its connected components are letters,
//! specks or pictures, and the x-height is the most common letter height.

use image::GrayImage;

use crate::geometry::{self, Rect};

/// The survey reduces the page until its long side is at most this.
const SURVEY_SIDE: u32 = 2000;
/// Ink is darker than its paper by this share of the paper's level: print and faded print
/// are, show-through and paper texture are not.
const INK_CONTRAST: f64 = 0.35;
/// Components smaller than this both ways are specks (dust, paper fibres, a stray dot).
const SPECK_MM: f64 = 0.5;
/// Side of the blocks the paper level is taken from, millimetres (a 3×3 block neighbourhood:
/// wider than the strokes of any body or heading type).
const PAPER_BLOCK_MM: f64 = 2.0;
/// Letters needed before an x-height is believed.
const MIN_LETTERS: usize = 20;

/// Tesseract reads well with x-heights from 20 to 30 px: a page is reduced for OCR only when
/// its x-height is at least this, and then by the smallest whole factor that brings it to at
/// most [`TARGET_X_HEIGHT`] (at least 20 px from 40 px up).
pub const REDUCE_FROM_X_HEIGHT: f64 = 40.0;
/// The x-height a reduced page is read at, at most, in pixels.
pub const TARGET_X_HEIGHT: f64 = 30.0;

/// What the survey found on a page (or part of one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Survey {
    /// No ink after cleaning: paper, texture, show-through and specks only.
    pub blank: bool,
    /// Typical x-height of the text in the page's pixels; `None` with too few letters to tell.
    pub x_height: Option<f64>,
    /// Components larger than a speck.
    pub marks: usize,
}

impl Survey {
    /// The whole factor the page is reduced by for OCR: 1 (as it is) unless its x-height is
    /// well above what Tesseract needs. Never enlarges.
    pub fn ocr_factor(&self) -> u32 {
        match self.x_height {
            Some(x) if x >= REDUCE_FROM_X_HEIGHT => (x / TARGET_X_HEIGHT).ceil() as u32,
            _ => 1,
        }
    }
}

/// A connected component of ink: its box and pixel count.
#[derive(Debug, Clone, Copy)]
struct Component {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    pixels: u32,
}

impl Component {
    fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
}

/// Surveys `rect` of `page`. `dpi` is the page's stated resolution, if any; sizes in
/// millimetres use the smaller of it and a guess from the page size (a book page about 9 inches
/// tall), so a wrong, too fine resolution cannot make letters look like specks.
pub fn survey(page: &GrayImage, rect: Rect, dpi: Option<f64>) -> Survey {
    let empty = Survey {
        blank: true,
        x_height: None,
        marks: 0,
    };
    if rect.width() == 0 || rect.height() == 0 {
        return empty;
    }
    let long = rect.width().max(rect.height());
    let factor = long.div_ceil(SURVEY_SIDE).max(1);
    let part = if rect == Rect::of_size(page.width(), page.height()) {
        geometry::reduce(page, factor)
    } else {
        let cut = image::imageops::crop_imm(page, rect.x0, rect.y0, rect.width(), rect.height());
        geometry::reduce(&cut.to_image(), factor)
    };
    let guess = (long as f64 / 9.0).clamp(100.0, 600.0);
    let dpi = dpi.map_or(guess, |d| d.min(guess)) / factor as f64;
    let mm = dpi / 25.4;
    let ink = ink_mask(&part, ((PAPER_BLOCK_MM * mm).round() as u32).max(4));
    let components = components(&ink, part.width(), part.height());
    let speck = (SPECK_MM * mm).max(2.0);
    let marks: Vec<&Component> = components
        .iter()
        .filter(|c| c.width() as f64 >= speck || c.height() as f64 >= speck)
        .collect();
    if marks.is_empty() {
        return empty;
    }
    // Letters: taller than a speck, shorter than a headline's capitals could be (2 cm), not
    // long runs (rules, underlines, touching words).
    let letters: Vec<u32> = marks
        .iter()
        .filter(|c| {
            let (w, h) = (c.width() as f64, c.height() as f64);
            h >= speck && h <= 20.0 * mm && w <= 2.5 * h && c.pixels >= 3
        })
        .map(|c| c.height())
        .collect();
    Survey {
        blank: false,
        x_height: x_height(&letters).map(|x| x * factor as f64),
        marks: marks.len(),
    }
}

/// Pixels much darker than the brightest paper near them. The paper level is the maximum of
/// each block and its eight neighbours.
fn ink_mask(img: &GrayImage, block: u32) -> Vec<bool> {
    let (w, h) = img.dimensions();
    let (bw, bh) = (w.div_ceil(block), h.div_ceil(block));
    let px = img.as_raw();
    let mut block_max = vec![0u8; (bw * bh) as usize];
    for y in 0..h {
        let row = &px[(y * w) as usize..((y + 1) * w) as usize];
        let by = y / block;
        for (bx, chunk) in row.chunks(block as usize).enumerate() {
            let m = chunk.iter().copied().max().unwrap_or(0);
            let slot = &mut block_max[(by * bw) as usize + bx];
            *slot = (*slot).max(m);
        }
    }
    let paper: Vec<u8> = (0..bh)
        .flat_map(|by| (0..bw).map(move |bx| (bx, by)))
        .map(|(bx, by)| {
            let mut m = 0u8;
            for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                    m = m.max(block_max[(ny * bw + nx) as usize]);
                }
            }
            m
        })
        .collect();
    // The darkest level that is ink on each paper level.
    let limit: Vec<u8> = paper
        .iter()
        .map(|&p| (p as f64 * (1.0 - INK_CONTRAST)).floor() as u8)
        .collect();
    let mut ink = vec![false; (w * h) as usize];
    for y in 0..h {
        let by = y / block;
        for x in 0..w {
            let i = (y * w + x) as usize;
            ink[i] = px[i] < limit[(by * bw + x / block) as usize];
        }
    }
    ink
}

/// Connected components (8-connected) of the ink, by union-find over runs of each row.
fn components(ink: &[bool], w: u32, h: u32) -> Vec<Component> {
    let (w, h) = (w as usize, h as usize);
    // Runs: (row, start, end exclusive).
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    let mut row_start = Vec::with_capacity(h + 1);
    for y in 0..h {
        row_start.push(runs.len());
        let row = &ink[y * w..(y + 1) * w];
        let mut x = 0;
        while x < w {
            if row[x] {
                let s = x;
                while x < w && row[x] {
                    x += 1;
                }
                runs.push((y as u32, s as u32, x as u32));
            } else {
                x += 1;
            }
        }
    }
    row_start.push(runs.len());
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for y in 1..h {
        let (prev, cur) = (
            row_start[y - 1]..row_start[y],
            row_start[y]..row_start[y + 1],
        );
        let mut j = prev.start;
        for i in cur {
            let (_, s, e) = runs[i];
            // Previous-row runs touching [s-1, e] (diagonals included).
            while j < prev.end && runs[j].2 < s {
                j += 1;
            }
            let mut k = j;
            while k < prev.end && runs[k].1 <= e {
                let (a, b) = (find(&mut parent, i), find(&mut parent, k));
                if a != b {
                    parent[a.max(b)] = a.min(b);
                }
                k += 1;
            }
        }
    }
    let mut index = vec![usize::MAX; runs.len()];
    let mut out: Vec<Component> = Vec::new();
    for (i, &(y, s, e)) in runs.iter().enumerate() {
        let root = find(&mut parent, i);
        if index[root] == usize::MAX {
            index[root] = out.len();
            out.push(Component {
                x0: s,
                y0: y,
                x1: e - 1,
                y1: y,
                pixels: 0,
            });
        }
        let c = &mut out[index[root]];
        c.x0 = c.x0.min(s);
        c.x1 = c.x1.max(e - 1);
        c.y0 = c.y0.min(y);
        c.y1 = c.y1.max(y);
        c.pixels += e - s;
    }
    out
}

/// The x-height from letter heights: the smallest height around which letters cluster (a
/// caption or footnote under a picture or body text is served first, so it is never read too
/// small), among clusters of at least a fifth of the largest. `None` without enough letters or
/// without a clear cluster (a picture's blobs have every size).
fn x_height(heights: &[u32]) -> Option<f64> {
    if heights.len() < MIN_LETTERS {
        return None;
    }
    let max = *heights.iter().max()? as usize;
    let mut hist = vec![0usize; max + 2];
    for &h in heights {
        hist[h as usize] += 1;
    }
    // Letters within ±12 % of each height.
    let window = |c: usize| -> (usize, usize) {
        let lo = ((c as f64 * 0.88).ceil() as usize).max(1);
        let hi = ((c as f64 * 1.12).floor() as usize).min(max);
        (lo, hi.max(lo))
    };
    let count = |c: usize| {
        let (lo, hi) = window(c);
        hist[lo..=hi].iter().sum::<usize>()
    };
    let counts: Vec<usize> = (0..=max)
        .map(|c| if c == 0 { 0 } else { count(c) })
        .collect();
    let peak = *counts.iter().max()?;
    if peak < MIN_LETTERS || peak * 4 < heights.len() {
        return None;
    }
    let wanted = (peak / 5).max(MIN_LETTERS);
    // The first height (from small) whose cluster is big enough, then its local peak.
    let first = (1..=max).find(|&c| counts[c] >= wanted)?;
    let mut best = first;
    while best < max && counts[best + 1] >= counts[best] {
        best += 1;
    }
    // The median of the letters in that cluster.
    let (lo, hi) = window(best);
    let mut cluster: Vec<u32> = heights
        .iter()
        .copied()
        .filter(|&h| (lo..=hi).contains(&(h as usize)))
        .collect();
    cluster.sort_unstable();
    Some(cluster[cluster.len() / 2] as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A page of "letters": dark boxes `x` px tall (a third of them `1.4 x` tall, like
    /// ascenders), `x * 0.6` wide, in lines.
    fn letters(w: u32, h: u32, x: u32) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, Luma([235]));
        let (lw, gap) = ((x * 6 / 10).max(1), (x / 4).max(1));
        let (mut y, mut n) = (x, 0u32);
        while y + 2 * x < h {
            let mut px = x;
            while px + lw < w - x {
                n += 1;
                let top = if n % 3 == 0 { y - x * 4 / 10 } else { y };
                for yy in top..y + x {
                    for xx in px..px + lw {
                        img.put_pixel(xx, yy, Luma([30]));
                    }
                }
                px += lw + gap;
            }
            y += 3 * x;
        }
        img
    }

    fn whole(img: &GrayImage) -> Rect {
        Rect::of_size(img.width(), img.height())
    }

    #[test]
    fn x_height_is_measured_at_every_scale() {
        for x in [12u32, 24, 45, 70, 110] {
            let page = letters(40 * x, 30 * x, x);
            let s = survey(&page, whole(&page), None);
            assert!(!s.blank);
            let got = s.x_height.expect("letters");
            // Within a survey pixel of the truth.
            let step = (40 * x).div_ceil(SURVEY_SIDE) as f64;
            assert!((got - x as f64).abs() <= step + 0.5, "x {x}: {got}");
        }
    }

    #[test]
    fn only_oversized_text_is_reduced_and_never_below_twenty_pixels() {
        let factor = |x: f64| {
            Survey {
                blank: false,
                x_height: Some(x),
                marks: 100,
            }
            .ocr_factor()
        };
        assert_eq!(factor(12.0), 1);
        assert_eq!(factor(30.0), 1);
        assert_eq!(factor(39.0), 1);
        assert_eq!(factor(40.0), 2);
        assert_eq!(factor(70.0), 3);
        assert_eq!(factor(300.0), 10);
        for x in 40..400 {
            let f = factor(x as f64) as f64;
            let read = x as f64 / f;
            assert!((20.0..=30.0).contains(&read), "{x} px read at {read}");
        }
        let unknown = Survey {
            blank: false,
            x_height: None,
            marks: 3,
        };
        assert_eq!(unknown.ocr_factor(), 1);
    }

    #[test]
    fn paper_with_texture_and_specks_is_blank_and_a_page_number_is_not() {
        let (w, h) = (1240u32, 1754u32); // A4 at 150 dpi
        let mut state = 7u64;
        let mut rnd = move |n: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % n as u64) as u32
        };
        let mut paper = GrayImage::from_fn(w, h, |_, _| Luma([(225 + rnd(20)) as u8]));
        // A gutter shadow and a few specks of a pixel or two.
        for y in 0..h {
            for x in 0..60 {
                let v = paper.get_pixel(x, y).0[0] as u32 * (100 + x) / 160;
                paper.put_pixel(x, y, Luma([v as u8]));
            }
        }
        for _ in 0..30 {
            let (x, y) = (100 + rnd(w - 200), 100 + rnd(h - 200));
            paper.put_pixel(x, y, Luma([40]));
            paper.put_pixel(x + 1, y, Luma([60]));
        }
        let s = survey(&paper, whole(&paper), Some(150.0));
        assert!(s.blank, "{s:?}");
        // A page number: two digits 2.5 mm tall.
        let mut numbered = paper.clone();
        for (x0, x1) in [(600u32, 605u32), (610, 616)] {
            for y in 1650..1665 {
                for x in x0..x1 {
                    numbered.put_pixel(x, y, Luma([35]));
                }
            }
        }
        let s = survey(&numbered, whole(&numbered), Some(150.0));
        assert!(!s.blank, "{s:?}");
        assert_eq!(s.marks, 2);
    }

    #[test]
    fn pictures_give_no_x_height() {
        // Blobs of every size, like a photograph's shadows.
        let mut img = GrayImage::from_pixel(1600, 1200, Luma([240]));
        let mut size = 6u32;
        for i in 0..60u32 {
            let (x0, y0) = (20 + (i % 10) * 150, 20 + (i / 10) * 190);
            for y in y0..y0 + size.min(180) {
                for x in x0..x0 + (size / 2).min(140) + 3 {
                    img.put_pixel(x, y, Luma([20]));
                }
            }
            size += 3;
        }
        let s = survey(&img, whole(&img), None);
        assert!(!s.blank);
        assert_eq!(s.x_height, None, "{s:?}");
    }

    #[test]
    fn components_join_diagonals_and_keep_apart_what_does_not_touch() {
        #[rustfmt::skip]
        let ink = [
            true,  false, false, true,
            false, true,  false, true,
            false, false, false, false,
            true,  true,  false, true,
        ];
        let mut c = components(&ink, 4, 4);
        c.sort_by_key(|c| (c.y0, c.x0));
        let boxes: Vec<_> = c
            .iter()
            .map(|c| (c.x0, c.y0, c.x1, c.y1, c.pixels))
            .collect();
        assert_eq!(
            boxes,
            vec![
                (0, 0, 1, 1, 2),
                (3, 0, 3, 1, 2),
                (0, 3, 1, 3, 2),
                (3, 3, 3, 3, 1)
            ]
        );
    }
}
