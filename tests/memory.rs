//! Bounded memory: pages are admitted against `--max-memory` by the peak their header
//! promises, a page bigger than the whole budget fails alone, and every frame of a TIFF with
//! thousands of them is a page. Peaks are measured on the real binary with `/usr/bin/time -v`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use image::{GrayImage, Luma};
use kitap::manifest::{PageStatus, Status};

/// A mostly white page with lines of word-like black blocks (what Tesseract costs most on),
/// written as a small PNG.
fn text_like_page(path: &Path, side: u32) {
    let mut img = GrayImage::from_pixel(side, side, Luma([255]));
    let w = side as usize;
    let raw: &mut [u8] = &mut img;
    let mut seed = 7u32;
    for line in 0..40 {
        let y0 = 300 + line * 60;
        let mut x = 300usize;
        while x < (w - 300).min(3000) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let word = 30 + (seed >> 16) as usize % 120;
            for y in y0..y0 + 30 {
                raw[y * w + x..y * w + (x + word).min(w)].fill(0);
            }
            x += word + 25;
        }
    }
    img.save(path).unwrap();
}

/// Runs kitap under `/usr/bin/time -v`: the run and its peak RSS in bytes.
fn run_measured(scans: &Path, out: &Path, args: &[&str]) -> (Run, u64) {
    let time = Path::new("/usr/bin/time");
    assert!(
        time.exists(),
        "/usr/bin/time is missing: run scripts/install-deps.sh (Debian package `time`)"
    );
    let output = Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_kitap"))
        .arg("convert")
        .arg(scans)
        .arg("-o")
        .arg(out)
        .args(["--lang", "eng"])
        .args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "kitap panicked:\n{stderr}");
    let kb: u64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in:\n{stderr}"));
    let run = Run {
        exit: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        out: out.to_path_buf(),
    };
    (run, kb * 1024)
}

fn book_dir(root: &Path, id: &str) -> PathBuf {
    let dir = root.join("scans").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Four 20 MP text-like pages need ~186 MiB each by their header; with `--max-memory 450M`
/// (230 MiB for pages beside the process and two workers' engines) two workers may hold only
/// one at a time. So the run stays under the budget, every page converts, and the peak is
/// that of one page alone plus the second worker's engine (~60 MiB) — two pages at once
/// would add another page (~130 MiB). (The 200 MP pages behave alike under 2 GiB but
/// take a minute each in a debug build.)
#[test]
fn pages_wait_for_memory_and_the_run_stays_under_the_budget() {
    let root = fixture_dir("memory-budget");
    let folder = book_dir(&root, "big-pages");
    for i in 1..=4 {
        text_like_page(&folder.join(format!("{i:04}.png")), 4472);
    }
    let alone = book_dir(&root.join("alone"), "one-page");
    std::fs::copy(folder.join("0001.png"), alone.join("0001.png")).unwrap();
    let (run, one_page) = run_measured(
        &root.join("alone/scans"),
        &root.join("alone/out"),
        &["--jobs", "1"],
    );
    run.success();

    let budget = 450u64 << 20;
    let (run, peak) = run_measured(
        &root.join("scans"),
        &root.join("out"),
        &["--jobs", "2", "--max-memory", "450M"],
    );
    run.success();
    kitap_validate_clean(&run.out);
    let m = run.manifest();
    assert_eq!(m.summary.pages, 4);
    assert_eq!(m.summary.pages_failed, 0);
    assert!(
        peak <= budget,
        "peak RSS {} MiB over the budget of {} MiB",
        peak >> 20,
        budget >> 20
    );
    assert!(
        peak <= one_page + (100 << 20),
        "peak RSS {} MiB: more than one page at a time (one page alone: {} MiB)",
        peak >> 20,
        one_page >> 20
    );
}

/// A page whose header promises more than the whole budget fails alone, named, before a pixel
/// is decoded; the other pages of the book convert.
#[test]
fn a_page_bigger_than_the_whole_budget_fails_alone() {
    let root = fixture_dir("memory-too-big");
    let folder = book_dir(&root, "one-huge");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans/kk-dala-kitaphanasy");
    std::fs::copy(sample.join("0001.png"), folder.join("0001.png")).unwrap();
    // 12000×12000 white: a tiny file, ~1.2 GiB to convert by its header.
    GrayImage::from_pixel(12_000, 12_000, Luma([255]))
        .save(folder.join("0002.png"))
        .unwrap();
    std::fs::copy(sample.join("0002.png"), folder.join("0003.png")).unwrap();
    let (run, peak) = run_measured(
        &root.join("scans"),
        &root.join("out"),
        &["--jobs", "2", "--max-memory", "800M"],
    );
    run.code(1)
        .stderr_contains(
            "one-huge/0002.png: page 2: a 12000×12000 grey 8-bit PNG page needs about 1.2 GiB",
        )
        .stderr_contains("more than the whole memory budget leaves for pages (580 MiB");
    // The failed page is a placeholder page in the PDF and an empty chunk in the text.
    kitap_validate_clean(&run.out);
    let m = run.manifest();
    let b = book(&m, "one-huge");
    assert_eq!(b.status, Status::Partial);
    let statuses: Vec<_> = b.pages.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [PageStatus::Ok, PageStatus::Failed, PageStatus::Ok],
        "only the huge page failed"
    );
    assert!(
        peak < 400 << 20,
        "the huge page was never decoded ({} MiB)",
        peak >> 20
    );
}

/// Every one of 10,005 frames is a page: no cap, nothing dropped in silence.
#[test]
fn every_frame_of_a_10005_frame_tiff_is_a_page() {
    let root = fixture_dir("memory-frames");
    let folder = book_dir(&root, "many-frames");
    let mut file = std::io::BufWriter::new(std::fs::File::create(folder.join("book.tif")).unwrap());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut file).unwrap();
    let white = [255u8; 16 * 16];
    for _ in 0..10_005 {
        enc.write_image::<tiff::encoder::colortype::Gray8>(16, 16, &white)
            .unwrap();
    }
    std::io::Write::flush(&mut file).unwrap();
    let (run, _) = run_measured(&root.join("scans"), &root.join("out"), &["--jobs", "2"]);
    run.success();
    kitap_validate_clean(&run.out);
    let m = run.manifest();
    let b = book(&m, "many-frames");
    assert_eq!(b.pages.len(), 10_005);
    let frames: Vec<u32> = b.pages.iter().map(|p| p.frame).collect();
    assert!(
        frames.iter().copied().eq(0..10_005),
        "frames in order, none missing"
    );
}
