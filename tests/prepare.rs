//! Page preparation end to end: orientation, skew and reading of turned and skewed pages,
//! against the known truth in ../shared/sample-scans/index.json.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const BOOKS: &[&str] = &[
    "eng-orientation",
    "eng-skew-known",
    "multi-latin-eurotext",
    "tuk-seed",
    "rus-seed-newsprint",
    "ukr-seed",
    "eng-seed",
];

struct Truth {
    rotation: u32,
    skew: Option<f64>,
    applied_skew: Option<f64>,
    source: String,
    gt: Option<PathBuf>,
}

fn index(shared: &Path) -> BTreeMap<(String, String), Truth> {
    let idx: Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("sample-scans/index.json")).unwrap(),
    )
    .unwrap();
    let num = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    idx.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let key = (
                e["book"].as_str().unwrap().to_string(),
                e["file"].as_str().unwrap().to_string(),
            );
            let t = Truth {
                rotation: e["rotation_cw_deg"].as_str().unwrap().parse().unwrap(),
                skew: num(&e["skew_cw_deg"]),
                applied_skew: num(&e["applied_skew_cw_deg"]).or(num(&e["skew_cw_deg"])),
                source: e["source"].as_str().unwrap().to_string(),
                gt: e["gt_file"]
                    .as_str()
                    .map(|g| shared.join("sample-scans").join(g)),
            };
            (key, t)
        })
        .collect()
}

/// The straight original of a turned or skewed page: the corpus page made from the same source
/// without turning or skewing (eng-clean for eng-skew-known), else `None`.
fn corpus_original(
    idx: &BTreeMap<(String, String), Truth>,
    t: &Truth,
    shared: &Path,
) -> Option<PathBuf> {
    idx.iter()
        .find(|((book, _), o)| {
            book == "eng-clean"
                && o.source == t.source
                && o.rotation == 0
                && o.applied_skew.is_some_and(|s| s == 0.0)
        })
        .map(|((book, file), _)| shared.join("sample-scans").join(book).join(file))
}

/// Turns a page back by its true rotation and skew (what a perfect preparation would do) and
/// writes it as PNG for the tesseract CLI.
fn turned_back(page: &Path, rotation: u32, skew: f64, dir: &Path, name: &str) -> PathBuf {
    let img = image::open(page).unwrap().to_luma8();
    let img = kitap::geometry::turn_grey(&img, (4 - rotation / 90) % 4);
    let img = if skew.abs() >= 0.05 {
        kitap::geometry::rotate_grey(&img, skew)
    } else {
        img
    };
    let out = dir.join(format!("{}-straight.png", name.replace('/', "-")));
    img.save(&out).unwrap();
    out
}

#[test]
fn turned_and_skewed_pages_read_like_straight_ones() {
    let Some(shared) = shared() else { return };
    let idx = index(&shared);
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    stage_shared_books(&shared, &scans, BOOKS);
    let run = convert(&scans, &tmp.path().join("out"), &["--jobs", "2", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    validate_manifest(&run.out);

    let m = run.manifest();
    let (mut n, mut sum, mut max) = (0, 0f64, 0f64);
    let mut checks = Vec::new();
    for b in m["books"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let models = b["ocr_models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("+");
        let texts = txt_pages(&run.out, id);
        for p in b["pages"].as_array().unwrap() {
            let file = Path::new(p["source"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let t = &idx[&(id.to_string(), file.clone())];
            assert_eq!(
                p["rotation_cw_deg"].as_u64().unwrap() as u32,
                t.rotation,
                "{id}/{file}: rotation"
            );
            if let Some(skew) = t.skew {
                let err = (p["skew_cw_deg"].as_f64().unwrap() - skew).abs();
                eprintln!(
                    "{id}/{file}: skew {:.3} (true {skew})",
                    p["skew_cw_deg"].as_f64().unwrap()
                );
                n += 1;
                sum += err;
                max = max.max(err);
            }
            let turned = t.rotation != 0 || t.skew.is_some_and(|s| s.abs() >= 0.1);
            if turned && let Some(gt) = &t.gt {
                let original = corpus_original(&idx, t, &shared).unwrap_or_else(|| {
                    turned_back(
                        &scans.join(id).join(&file),
                        t.rotation,
                        t.skew.unwrap_or(0.0),
                        tmp.path(),
                        &format!("{id}/{file}"),
                    )
                });
                let text = texts[p["index"].as_u64().unwrap() as usize - 1].clone();
                checks.push((
                    format!("{id}/{file}"),
                    text,
                    original,
                    models.clone(),
                    gt.clone(),
                ));
            }
        }
    }
    let mean = sum / n as f64;
    eprintln!("skew over {n} pages: mean abs error {mean:.3}°, max {max:.3}°");
    assert!(n >= 25, "pages with a known skew: {n}");
    assert!(
        mean <= 0.1 && max <= 0.3,
        "skew mean {mean:.3}, max {max:.3}"
    );

    assert!(
        checks.len() >= 15,
        "turned or skewed pages with ground truth: {}",
        checks.len()
    );
    let results = par_map(&checks, |(name, text, original, models, gt)| {
        let gt = std::fs::read_to_string(gt).unwrap();
        let (d, len) = distance(text, &gt);
        let (d0, _) = distance(&tesseract_cli(original, models), &gt);
        (name.clone(), d as f64 / len as f64, d0 as f64 / len as f64)
    });
    for (name, cer, straight) in &results {
        eprintln!(
            "{name}: CER {:.2} % vs straight original {:.2} %",
            cer * 100.0,
            straight * 100.0
        );
    }
    for (name, cer, straight) in results {
        assert!(
            straight < 0.15,
            "{name}: the straight original itself reads badly ({straight:.4}): broken baseline"
        );
        assert!(
            cer <= straight + 0.005,
            "{name}: CER {cer:.4} vs straight original {straight:.4}"
        );
    }
}

#[test]
fn archive_pipeline_keeps_every_original_and_uses_the_matrix() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    let book = scans.join("mixed");
    std::fs::create_dir_all(&book).unwrap();
    for (from, to) in [
        ("eng-skew-known/0001.png", "1.png"),
        ("eng-orientation/0001.png", "2.png"),
        ("rus-seed-newsprint/0003.jpg", "3.jpg"),
    ] {
        std::fs::copy(shared.join("sample-scans").join(from), book.join(to)).unwrap();
    }
    std::fs::write(book.join("book.toml"), "languages = [\"eng\", \"rus\"]\n").unwrap();
    let run = convert(
        &scans,
        &tmp.path().join("out"),
        &["--pipeline", "archive", "--quiet"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    validate_manifest(&run.out);
    let m = run.manifest();
    let pages = m["books"][0]["pages"].as_array().unwrap();
    let corrections: Vec<&str> = pages
        .iter()
        .map(|p| p["correction"].as_str().unwrap())
        .collect();
    assert_eq!(corrections, ["matrix", "matrix", "matrix"]);
    assert_eq!(pages[1]["rotation_cw_deg"], 180);
    assert_eq!(pages[2]["image_encoding"], "jpeg-passthrough");
    let pdf = run.out.join("mixed/mixed.pdf");
    check_pdf(&pdf);
    // The embedded images have the source's own dimensions: nothing was resampled.
    let list = tool_ok("pdfimages", &["-list", pdf.to_str().unwrap()]);
    for (row, from) in list.lines().skip(2).zip([
        "eng-skew-known/0001.png",
        "eng-orientation/0001.png",
        "rus-seed-newsprint/0003.jpg",
    ]) {
        let (w, h) = image::image_dimensions(shared.join("sample-scans").join(from)).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            (cols[3], cols[4]),
            (w.to_string().as_str(), h.to_string().as_str()),
            "{from}: {row}"
        );
    }
    // The text layer reads upright whatever the matrix does.
    let text = pdftotext(&pdf);
    assert!(
        text.contains("LinnSequencer") || text.contains("Linn"),
        "{text}"
    );
    assert!(text.contains("Библиотека"), "{text}");
    for mean in rendered_brightness(&pdf) {
        assert!(mean > 150.0, "page renders dark: {mean}");
    }
}

/// Share of the ground truth's words (as a multiset) that a text contains: recognition quality
/// without reading order, which a split spread legitimately changes (a headline that crosses
/// the gutter is read with the page it lands on).
fn word_recall(text: &str, gt: &str) -> f64 {
    let mut bag: BTreeMap<&str, i64> = BTreeMap::new();
    for w in text.split_whitespace() {
        *bag.entry(w).or_default() += 1;
    }
    let words: Vec<&str> = gt.split_whitespace().collect();
    let found = words
        .iter()
        .filter(|w| {
            let n = bag.entry(w).or_default();
            *n -= 1;
            *n >= 0
        })
        .count();
    found as f64 / words.len() as f64
}

#[test]
fn spreads_are_split_and_dark_borders_cut() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("scans/book");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::copy(
        shared.join("sample-scans/eng-clean/0002.tif"),
        book.join("0001.tif"),
    )
    .unwrap();
    std::fs::copy(
        shared.join("sample-scans/eng-clean/0003.tif"),
        book.join("0002.tif"),
    )
    .unwrap();
    let gt = std::fs::read_to_string(shared.join("sample-scans/eng-clean/gt/0002.txt")).unwrap();

    let whole = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("whole"),
        &["--quiet"],
    );
    let split = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("split"),
        &["--quiet", "--pipeline", "spreads"],
    );
    assert_eq!(
        (whole.code, split.code),
        (0, 0),
        "{}{}",
        whole.stderr,
        split.stderr
    );
    validate_manifest(&split.out);
    let m = split.manifest();
    let pages = m["books"][0]["pages"].as_array().unwrap();
    assert_eq!(
        pages.len(),
        3,
        "the spread became two pages, the single page stayed one"
    );
    assert_eq!(
        (pages[0]["part"].as_str(), pages[1]["part"].as_str()),
        (Some("left"), Some("right"))
    );
    assert_eq!(pages[0]["source"], pages[1]["source"]);
    assert_eq!(
        (
            pages[0]["index"].as_u64(),
            pages[1]["index"].as_u64(),
            pages[2]["index"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
    assert!(
        pages[2].get("part").is_none() && pages[2].get("crop").is_none(),
        "a portrait page is neither split nor cut"
    );
    // The dark band on the right edge of the spread is cut away.
    let right = pages[1]["crop"].as_array().unwrap();
    assert!(
        right[2].as_u64().unwrap() < 3312 - 40,
        "right page still reaches the dark band: {right:?}"
    );
    let pdf = split.out.join("book/book.pdf");
    check_pdf(&pdf);
    assert_eq!(pdf_pages(&pdf), 3);
    let images = tool_ok("pdfimages", &["-list", pdf.to_str().unwrap()]);
    let ids: Vec<&str> = images
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(10).unwrap())
        .collect();
    assert_eq!(
        ids[0], ids[1],
        "both halves draw the one stored image:\n{images}"
    );
    for mean in rendered_brightness(&pdf) {
        assert!(mean > 150.0, "a page renders dark: {mean}");
    }

    let texts = txt_pages(&split.out, "book");
    let joined = format!("{} {}", texts[0], texts[1]);
    let unsplit = &txt_pages(&whole.out, "book")[0];
    let (rs, rw) = (word_recall(&joined, &gt), word_recall(unsplit, &gt));
    let (ds, n) = distance(&joined, &gt);
    let (dw, _) = distance(unsplit, &gt);
    eprintln!(
        "spread: word recall split {:.2} % vs whole {:.2} %; CER split {:.2} % vs whole {:.2} % (reading order differs)",
        rs * 100.0,
        rw * 100.0,
        ds as f64 / n as f64 * 100.0,
        dw as f64 / n as f64 * 100.0
    );
    assert!(
        rs >= rw - 0.005,
        "split pages read worse: recall {rs:.4} vs {rw:.4}"
    );
}
