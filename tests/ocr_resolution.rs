//! Pages read at an OCR resolution chosen from their text height, and blank pages left unread:
//! the real binary on pages made at test time from the repository's own sample page.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use image::{GrayImage, Luma};

fn sample() -> PathBuf {
    repo_samples().join("en-reading-room").join("0001.png")
}

fn gt() -> String {
    std::fs::read_to_string(repo_samples().join("en-reading-room/gt/0001.txt")).unwrap()
}

fn cer(text: &str, truth: &str) -> f64 {
    let (t, g) = (normalize(text), normalize(truth));
    levenshtein(&t, &g) as f64 / g.len() as f64
}

/// Converts one book of the given pages (file name, image) with `eng`.
fn convert(dir: &Path, pages: &[(&str, &GrayImage)], pipeline: Option<&Path>) -> Run {
    let scans = dir.join("scans");
    let book = scans.join("b");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::write(book.join("book.toml"), "languages = [\"eng\"]\n").unwrap();
    for (name, img) in pages {
        img.save(book.join(name)).unwrap();
    }
    let mut k = Kitap::convert(&scans)
        .out(&dir.join("out"))
        .args(["--quiet", "--jobs", "1"]);
    if let Some(p) = pipeline {
        k = k.arg("--pipeline").arg(p);
    }
    let run = k.run();
    run.success();
    run
}

/// Word boxes from `pdftotext -bbox` as fractions of the page's width and height.
fn relative_words(pdf: &Path) -> Vec<([f64; 4], String)> {
    let html = tool_ok("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]);
    let num = |l: &str, name: &str| -> f64 {
        let i = l.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        l[i..].split('"').next().unwrap().parse().unwrap()
    };
    let page = html.lines().find(|l| l.contains("<page ")).unwrap();
    let (w, h) = (num(page, "width"), num(page, "height"));
    html.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("<word ")?;
            let text = l.split('>').nth(1)?.split('<').next()?.to_string();
            Some((
                [
                    num(l, "xMin") / w,
                    num(l, "yMin") / h,
                    num(l, "xMax") / w,
                    num(l, "yMax") / h,
                ],
                text,
            ))
        })
        .collect()
}

/// The sample page scanned three times finer (900 dpi) is read reduced: its
/// text is as right as the page's at 300 dpi, and every word of the PDF's text layer lies where
/// the same word lies on the 300-dpi page, as a share of the page.
#[test]
fn an_oversized_page_is_read_reduced_with_its_words_in_place() {
    let page = image::open(sample()).unwrap().to_luma8();
    let (w, h) = page.dimensions();
    let big = image::imageops::resize(&page, w * 3, h * 3, image::imageops::FilterType::Triangle);
    let dir = tempfile::tempdir().unwrap();
    let small_run = convert(&dir.path().join("small"), &[("0001.png", &page)], None);
    let big_run = convert(&dir.path().join("big"), &[("0001.png", &big)], None);

    let reduced_by = |run: &Run| run.manifest().books[0].pages[0].ocr_reduced_by;
    assert_eq!(reduced_by(&small_run), 1, "a 300-dpi page is read as it is");
    assert!(
        reduced_by(&big_run) >= 2,
        "x-height ~60 px is read at 20–30 px"
    );

    let text = |run: &Run| std::fs::read_to_string(run.file("b", "txt")).unwrap();
    let (small_cer, big_cer) = (cer(&text(&small_run), &gt()), cer(&text(&big_run), &gt()));
    assert!(
        big_cer <= small_cer + 0.005,
        "reduced: {big_cer:.4}, 300 dpi: {small_cer:.4}"
    );
    assert!(big_cer < 0.02, "{}", text(&big_run));

    let small_words = relative_words(&small_run.file("b", "pdf"));
    let big_words = relative_words(&big_run.file("b", "pdf"));
    assert!(big_words.len() > 50, "{big_words:?}");
    let mut distances = Vec::new();
    for (b, t) in big_words.iter().filter(|(_, t)| t.chars().count() >= 3) {
        // The nearest word of the same text on the 300-dpi page.
        if let Some(d) = small_words
            .iter()
            .filter(|(_, s)| s == t)
            .map(|(s, _)| (0..4).map(|i| (s[i] - b[i]).abs()).fold(0.0, f64::max))
            .min_by(f64::total_cmp)
        {
            distances.push((d, t.clone()));
        }
    }
    assert!(distances.len() > 50, "{distances:?}");
    distances.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Of the page: 0.2 % is 3 px at 1500 px wide, 0.6 % a letter's width.
    let median = distances[distances.len() / 2].0;
    let worst = distances.last().unwrap();
    assert!(median < 0.002, "median {median:.4}");
    assert!(
        worst.0 < 0.006,
        "{}: {:.4} of the page away",
        worst.1,
        worst.0
    );
}

/// With `ocr_resolution = "source"` the oversized page is read as scanned.
#[test]
fn ocr_resolution_source_reads_the_page_as_scanned() {
    let page = image::open(sample()).unwrap().to_luma8();
    let (w, h) = page.dimensions();
    let big = image::imageops::resize(&page, w * 2, h * 2, image::imageops::FilterType::Triangle);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("source.toml");
    std::fs::write(&pipeline, "ocr_resolution = \"source\"\n").unwrap();
    let run = convert(dir.path(), &[("0001.png", &big)], Some(&pipeline));
    let p = &run.manifest().books[0].pages[0];
    assert_eq!(p.ocr_reduced_by, 1);
    assert!(p.words > 50);
}

/// A tiny seeded generator: the same pages every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as u32
    }
}

/// Paper like the sample's, with grain, a gutter shadow, specks of one or two pixels and,
/// when `show_through`, the sample page mirrored and faded to a tenth of its contrast.
fn paper(show_through: bool, seed: u64) -> GrayImage {
    let page = image::open(sample()).unwrap().to_luma8();
    let mirrored = image::imageops::flip_horizontal(&page);
    let (w, h) = page.dimensions();
    let mut rng = Rng(seed);
    let mut out = GrayImage::from_fn(w, h, |x, y| {
        let mut v = 226.0 + rng.next(18) as f64;
        if show_through {
            v -= (255.0 - mirrored.get_pixel(x, y).0[0] as f64) * 0.1;
        }
        if x < 80 {
            v *= 0.75 + 0.25 * x as f64 / 80.0;
        }
        Luma([v as u8])
    });
    for _ in 0..25 {
        let (x, y) = (50 + rng.next(w - 100), 50 + rng.next(h - 100));
        out.put_pixel(x, y, Luma([50]));
        out.put_pixel(x + 1, y, Luma([90]));
    }
    out
}

/// The rows of ink lines of the sample page, top to bottom: (first row, last row).
fn ink_lines(page: &GrayImage) -> Vec<(u32, u32)> {
    let inked: Vec<bool> = (0..page.height())
        .map(|y| (0..page.width()).any(|x| page.get_pixel(x, y).0[0] < 100))
        .collect();
    let mut lines = Vec::new();
    let mut start = None;
    for (y, &ink) in inked.iter().enumerate() {
        match (ink, start) {
            (true, None) => start = Some(y as u32),
            (false, Some(s)) => {
                lines.push((s, y as u32 - 1));
                start = None;
            }
            _ => {}
        }
    }
    lines
}

/// `rows` of the sample page, pasted where they are onto paper.
fn paper_with(rows: (u32, u32), seed: u64) -> GrayImage {
    let page = image::open(sample()).unwrap().to_luma8();
    let mut out = paper(true, seed);
    for y in rows.0.saturating_sub(4)..=rows.1 + 4 {
        for x in 0..page.width() {
            let v = page.get_pixel(x, y).0[0];
            if v < 200 {
                out.put_pixel(x, y, Luma([v]));
            }
        }
    }
    out
}

/// Blank versos (paper, show-through, specks) are not read; a page with only a page number or
/// a single short line is.
#[test]
fn blank_pages_are_not_read_and_a_lone_line_or_page_number_is() {
    let sample_page = image::open(sample()).unwrap().to_luma8();
    let lines = ink_lines(&sample_page);
    let number = *lines.last().unwrap();
    let last_line = lines[lines.len() - 2];
    let dir = tempfile::tempdir().unwrap();
    let pages = [
        ("0001.png", sample_page.clone()),
        ("0002.png", paper(true, 1)),
        ("0003.png", paper(false, 2)),
        ("0004.png", paper_with(number, 3)),
        ("0005.png", paper_with(last_line, 4)),
    ];
    let refs: Vec<(&str, &GrayImage)> = pages.iter().map(|(n, i)| (*n, i)).collect();
    let run = convert(dir.path(), &refs, None);
    let m = run.manifest();
    let b = book(&m, "b");
    let blank = |f: &str| page(b, f).blank;
    assert!(!blank("0001.png"));
    assert!(blank("0002.png"), "show-through and specks are no ink");
    assert!(blank("0003.png"), "paper and specks are no ink");
    assert!(!blank("0004.png"), "a page number is ink");
    assert!(!blank("0005.png"), "a short line is ink");
    for f in ["0002.png", "0003.png"] {
        assert_eq!(page(b, f).words, 0);
    }
    let txt = std::fs::read_to_string(run.file("b", "txt")).unwrap();
    let texts: Vec<&str> = txt.split('\u{c}').collect();
    assert!(texts[0].contains("Reading Room"), "{:?}", texts[0]);
    eprintln!(
        "lone line read as {:?}, page number as {:?}",
        texts.get(4),
        texts.get(3)
    );
    let manifest = std::fs::read_to_string(dir.path().join("out/manifest.json")).unwrap();
    assert_eq!(manifest.matches("\"blank\": true").count(), 2, "{manifest}");
}
