//! Page preparation end to end: orientation, skew and reading of turned and skewed pages,
//! against the known truth in ../shared/sample-scans/index.json.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use kitap::manifest::PageRecord;
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

/// The books with turned and skewed pages, converted once.
struct Turned {
    shared: PathBuf,
    idx: BTreeMap<(String, String), Truth>,
    dir: PathBuf,
    scans: PathBuf,
    run: Run,
}

fn turned() -> Option<&'static Turned> {
    static TURNED: OnceLock<Option<Turned>> = OnceLock::new();
    TURNED
        .get_or_init(|| {
            let shared = shared()?;
            let dir = fixture_dir("turned");
            let scans = dir.join("scans");
            stage_shared_books(&shared, &scans, BOOKS);
            let run = Kitap::convert(&scans)
                .out(&dir.join("out"))
                .args(["--jobs", "2", "--quiet"])
                .run();
            Some(Turned {
                idx: index(&shared),
                shared,
                dir,
                scans,
                run,
            })
        })
        .as_ref()
}

impl Turned {
    /// Each page with its book id, its file name and its truth.
    fn pages(&self) -> Vec<(String, PageRecord, &Truth)> {
        let mut out = Vec::new();
        for b in self.run.manifest().books {
            for p in b.pages {
                let file = Path::new(&p.source)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let t = &self.idx[&(b.id.clone(), file)];
                out.push((b.id.clone(), p, t));
            }
        }
        out
    }
}

#[test]
fn turned_and_skewed_pages_convert_with_exit_0_and_a_valid_manifest() {
    let Some(t) = turned() else { return };
    t.run.success();
    validate_manifest(&t.run.out);
}

#[test]
fn every_page_is_found_turned_by_its_true_rotation() {
    let Some(t) = turned() else { return };
    for (_, p, truth) in t.pages() {
        assert_eq!(
            p.rotation_cw_deg.unwrap(),
            truth.rotation,
            "{}: rotation",
            p.source
        );
    }
}

#[test]
fn skew_is_measured_within_a_tenth_of_a_degree_on_average() {
    let Some(t) = turned() else { return };
    let (mut n, mut sum, mut max) = (0, 0f64, 0f64);
    for (_, p, truth) in t.pages() {
        if let Some(skew) = truth.skew {
            let found = p.skew_cw_deg.unwrap();
            eprintln!("{}: skew {found:.3} (true {skew})", p.source);
            let err = (found - skew).abs();
            n += 1;
            sum += err;
            max = max.max(err);
        }
    }
    let mean = sum / n as f64;
    eprintln!("skew over {n} pages: mean abs error {mean:.3}°, max {max:.3}°");
    assert!(n >= 25, "pages with a known skew: {n}");
    assert!(
        mean <= 0.1 && max <= 0.3,
        "skew mean {mean:.3}, max {max:.3}"
    );
}

#[test]
fn turned_and_skewed_pages_read_like_straight_ones() {
    let Some(t) = turned() else { return };
    let m = t.run.manifest();
    let mut checks = Vec::new();
    for (id, p, truth) in t.pages() {
        let models = book(&m, &id).ocr_models.join("+");
        let file = Path::new(&p.source).file_name().unwrap().to_owned();
        let name = format!("{id}/{}", file.to_string_lossy());
        let is_turned = truth.rotation != 0 || truth.skew.is_some_and(|s| s.abs() >= 0.1);
        if is_turned && let Some(gt) = &truth.gt {
            let original = corpus_original(&t.idx, truth, &t.shared).unwrap_or_else(|| {
                turned_back(
                    &t.scans.join(&id).join(&file),
                    truth.rotation,
                    truth.skew.unwrap_or(0.0),
                    &t.dir,
                    &name,
                )
            });
            let text = txt_pages(&t.run.out, &id)[p.index as usize - 1].clone();
            checks.push((name, text, original, models, gt.clone()));
        }
    }
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

// The archive pipeline: originals kept, straightened by the page matrix.

const ARCHIVE_PAGES: [&str; 3] = [
    "eng-skew-known/0001.png",
    "eng-orientation/0001.png",
    "rus-seed-newsprint/0003.jpg",
];

struct Archive {
    shared: PathBuf,
    run: Run,
}

fn archive() -> Option<&'static Archive> {
    static ARCHIVE: OnceLock<Option<Archive>> = OnceLock::new();
    ARCHIVE
        .get_or_init(|| {
            let shared = shared()?;
            let dir = fixture_dir("archive");
            let scans = dir.join("scans");
            let book = scans.join("mixed");
            std::fs::create_dir_all(&book).unwrap();
            for (from, to) in ARCHIVE_PAGES.iter().zip(["1.png", "2.png", "3.jpg"]) {
                std::fs::copy(shared.join("sample-scans").join(from), book.join(to)).unwrap();
            }
            std::fs::write(book.join("book.toml"), "languages = [\"eng\", \"rus\"]\n").unwrap();
            let run = Kitap::convert(&scans)
                .out(&dir.join("out"))
                .args(["--pipeline", "archive", "--quiet"])
                .run();
            Some(Archive { shared, run })
        })
        .as_ref()
}

#[test]
fn the_archive_pipeline_converts_with_exit_0_and_a_valid_manifest() {
    let Some(a) = archive() else { return };
    a.run.success();
    validate_manifest(&a.run.out);
}

#[test]
fn the_archive_pipeline_straightens_by_the_page_matrix() {
    let Some(a) = archive() else { return };
    let corrections: Vec<String> = a.run.manifest().books[0]
        .pages
        .iter()
        .map(correction)
        .collect();
    assert_eq!(corrections, ["matrix", "matrix", "matrix"]);
}

#[test]
fn the_archive_pipeline_still_finds_a_turned_page() {
    let Some(a) = archive() else { return };
    assert_eq!(
        a.run.manifest().books[0].pages[1].rotation_cw_deg,
        Some(180)
    );
}

#[test]
fn the_archive_pipeline_passes_a_jpeg_through() {
    let Some(a) = archive() else { return };
    assert_eq!(
        encoding(&a.run.manifest().books[0].pages[2]),
        "jpeg-passthrough"
    );
}

#[test]
fn the_archive_pipeline_pdf_passes_qpdf_and_the_pdfa_checks() {
    let Some(a) = archive() else { return };
    check_pdf(&a.run.file("mixed", "pdf"));
}

/// The embedded images have the source's own dimensions: nothing was resampled.
#[test]
fn the_archive_pipeline_keeps_the_source_dimensions() {
    let Some(a) = archive() else { return };
    let list = tool_ok(
        "pdfimages",
        &["-list", a.run.file("mixed", "pdf").to_str().unwrap()],
    );
    let rows: Vec<&str> = list.lines().skip(2).collect();
    assert_eq!(rows.len(), ARCHIVE_PAGES.len(), "{list}");
    for (row, from) in rows.iter().zip(ARCHIVE_PAGES) {
        let (w, h) = image::image_dimensions(a.shared.join("sample-scans").join(from)).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            (cols[3], cols[4]),
            (w.to_string().as_str(), h.to_string().as_str()),
            "{from}: {row}"
        );
    }
}

/// The text layer reads upright whatever the matrix does.
#[test]
fn the_archive_pipeline_text_layer_reads_upright() {
    let Some(a) = archive() else { return };
    let text = pdftotext(&a.run.file("mixed", "pdf"));
    assert!(
        text.contains("LinnSequencer") || text.contains("Linn"),
        "{text}"
    );
    assert!(text.contains("Библиотека"), "{text}");
}

#[test]
fn the_archive_pipeline_pages_render_bright() {
    let Some(a) = archive() else { return };
    for mean in rendered_brightness(&a.run.file("mixed", "pdf")) {
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

/// A two-page spread with a dark band on its right edge, then a single portrait page:
/// converted whole and with the spreads pipeline.
struct Spreads {
    /// eng-clean's ground truth of the spread.
    gt: String,
    whole: Run,
    split: Run,
}

fn spreads() -> Option<&'static Spreads> {
    static SPREADS: OnceLock<Option<Spreads>> = OnceLock::new();
    SPREADS
        .get_or_init(|| {
            let shared = shared()?;
            let dir = fixture_dir("spreads");
            let book = dir.join("scans/book");
            std::fs::create_dir_all(&book).unwrap();
            for (from, to) in [("0002.tif", "0001.tif"), ("0003.tif", "0002.tif")] {
                std::fs::copy(
                    shared.join("sample-scans/eng-clean").join(from),
                    book.join(to),
                )
                .unwrap();
            }
            let gt =
                std::fs::read_to_string(shared.join("sample-scans/eng-clean/gt/0002.txt")).unwrap();
            let scans = dir.join("scans");
            let whole = Kitap::convert(&scans)
                .out(&dir.join("whole"))
                .arg("--quiet")
                .run();
            let split = Kitap::convert(&scans)
                .out(&dir.join("split"))
                .args(["--quiet", "--pipeline", "spreads"])
                .run();
            Some(Spreads { gt, whole, split })
        })
        .as_ref()
}

impl Spreads {
    fn pages(&self) -> Vec<PageRecord> {
        self.split.manifest().books[0].pages.clone()
    }

    fn pdf(&self) -> PathBuf {
        self.split.file("book", "pdf")
    }
}

#[test]
fn spreads_convert_whole_and_split_with_exit_0_and_a_valid_manifest() {
    let Some(s) = spreads() else { return };
    s.whole.success();
    s.split.success();
    validate_manifest(&s.split.out);
}

#[test]
fn a_spread_becomes_two_pages_and_a_single_page_stays_one() {
    let Some(s) = spreads() else { return };
    assert_eq!(
        s.pages().len(),
        3,
        "the spread became two pages, the single page stayed one"
    );
}

#[test]
fn the_halves_of_a_spread_are_its_left_and_right_parts() {
    let Some(s) = spreads() else { return };
    let pages = s.pages();
    assert_eq!(
        (part(&pages[0]).as_deref(), part(&pages[1]).as_deref()),
        (Some("left"), Some("right"))
    );
    assert_eq!(pages[0].source, pages[1].source);
}

#[test]
fn split_pages_are_numbered_in_order() {
    let Some(s) = spreads() else { return };
    let indexes: Vec<u32> = s.pages().iter().map(|p| p.index).collect();
    assert_eq!(indexes, [1, 2, 3]);
}

#[test]
fn a_portrait_page_is_neither_split_nor_cut() {
    let Some(s) = spreads() else { return };
    let pages = s.pages();
    assert!(
        part(&pages[2]).is_none() && pages[2].crop.is_none(),
        "a portrait page is neither split nor cut"
    );
}

/// The dark band on the right edge of the spread is cut away.
#[test]
fn the_dark_border_of_a_spread_is_cut() {
    let Some(s) = spreads() else { return };
    let right = s.pages()[1].crop.unwrap();
    assert!(
        right[2] < 3312 - 40,
        "right page still reaches the dark band: {right:?}"
    );
}

#[test]
fn the_split_pdf_passes_qpdf_and_the_pdfa_checks_with_three_pages() {
    let Some(s) = spreads() else { return };
    check_pdf(&s.pdf());
    assert_eq!(pdf_pages(&s.pdf()), 3);
}

#[test]
fn both_halves_draw_the_one_stored_image() {
    let Some(s) = spreads() else { return };
    let images = tool_ok("pdfimages", &["-list", s.pdf().to_str().unwrap()]);
    let ids: Vec<&str> = images
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(10).unwrap())
        .collect();
    assert_eq!(
        ids[0], ids[1],
        "both halves draw the one stored image:\n{images}"
    );
}

#[test]
fn split_pages_render_bright() {
    let Some(s) = spreads() else { return };
    for mean in rendered_brightness(&s.pdf()) {
        assert!(mean > 150.0, "a page renders dark: {mean}");
    }
}

#[test]
fn split_pages_read_as_well_as_the_whole_spread() {
    let Some(s) = spreads() else { return };
    let texts = txt_pages(&s.split.out, "book");
    let joined = format!("{} {}", texts[0], texts[1]);
    let unsplit = &txt_pages(&s.whole.out, "book")[0];
    let (rs, rw) = (word_recall(&joined, &s.gt), word_recall(unsplit, &s.gt));
    let (ds, n) = distance(&joined, &s.gt);
    let (dw, _) = distance(unsplit, &s.gt);
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
