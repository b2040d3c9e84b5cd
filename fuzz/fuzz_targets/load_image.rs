//! The page loader on arbitrary file bytes: PNG, JPEG and TIFF (G4, LZW, JPEG-in-TIFF,
//! multi-page) through `kitap::load::load`, the function `load::open` hands a non-TIFF file's
//! bytes to, and `load_tiff`, which `open` streams a TIFF file through. It must return a page
//! or an error, never panic, and stay within its pixel limit.
#![no_main]

use std::io::Cursor;

use kitap::load::{self, LoadLimits, LoadedPage};
use libfuzzer_sys::fuzz_target;

/// Small enough that a mutated header cannot make one iteration slow, big enough for the seeds.
const LIMITS: LoadLimits = LoadLimits {
    max_pixels: 4_000_000,
};

fn check(page: &LoadedPage) {
    let (w, h) = (page.image.width(), page.image.height());
    assert!(w >= load::MIN_SIDE && h >= load::MIN_SIDE, "{w}×{h} passed");
    assert!(w as u64 * h as u64 <= LIMITS.max_pixels, "{w}×{h} passed");
    if let Some((x, y)) = page.file_dpi {
        assert!(load::PLAUSIBLE_DPI.contains(&x) && load::PLAUSIBLE_DPI.contains(&y));
    }
}

fuzz_target!(|data: &[u8]| {
    let frames = load::count_tiff_frames(Cursor::new(data));
    assert!(frames >= 1);
    // Every frame a scan holds is a page; a few are enough to reach the frame walk.
    for frame in 0..frames.min(3) {
        if let Ok(page) = load::load(data, frame, LIMITS) {
            check(&page);
        }
        if matches!(load::sniff(data), Ok(load::Format::Tiff)) {
            // The streaming path `open` takes for TIFF files.
            if let Ok(page) = load::load_tiff(Cursor::new(data), frame, LIMITS) {
                check(&page);
            }
        }
    }
    // One past the last frame is an error, not a panic.
    let _ = load::load(data, frames, LIMITS);
});
