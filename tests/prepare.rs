//! Page preparation end to end: the archive pipeline's page matrix, spreads split and dark
//! borders cut. (Turned and skewed pages are checked in convert.rs, on the corpus conversion
//! that already holds them.)

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use kitap::manifest::PageRecord;

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
    static ARCHIVE: Shared<Option<Archive>> = Shared::new();
    ARCHIVE
        .get(|| {
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
    static SPREADS: Shared<Option<Spreads>> = Shared::new();
    SPREADS
        .get(|| {
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

// Bitonal pages straightened for OCR: a skewed CCITT G4 scan is turned back on a grey,
// anti-aliased copy (bilinear) that Tesseract binarises itself, so thin strokes and whole
// lines survive the turn.

/// The shared G4 pages with ground truth, each turned clockwise by `DEGREES` (nearest
/// neighbour, as a scanner's skew is: still pure black and white) and stored as G4 again.
const DEGREES: [f64; 4] = [1.0, 3.3, 5.0, 7.0];

#[test]
fn bitonal_pages_turned_1_to_7_degrees_lose_no_line() {
    let Some(shared) = shared() else { return };
    let dir = fixture_dir("prepare-g4-skew");
    let scans = dir.join("scans");
    let book = shared.join("sample-scans/eng-bitonal-g4");
    let pages = ["0001", "0002"];
    const TURN: &str = "import sys; from PIL import Image\n\
src, dst, deg = sys.argv[1], sys.argv[2], float(sys.argv[3])\n\
im = Image.open(src)\n\
turned = im.convert('L').rotate(-deg, resample=Image.NEAREST, fillcolor=255).convert('1', dither=Image.NONE)\n\
turned.save(dst, compression='group4', dpi=im.info.get('dpi', (300, 300)))\n";
    for deg in DEGREES {
        let folder = scans.join(format!("g4-{deg}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("book.toml"), "languages = [\"eng\"]\n").unwrap();
        for p in pages {
            let (src, dst) = (
                book.join(format!("{p}.tif")),
                folder.join(format!("{p}.tif")),
            );
            python_pil(
                TURN,
                &[src.as_ref(), dst.as_ref(), deg.to_string().as_ref()],
            );
        }
    }
    let run = Kitap::convert(&scans)
        .out(&dir.join("out"))
        .arg("--quiet")
        .run();
    run.success();
    let m = run.manifest();
    for p in pages {
        let gt = std::fs::read_to_string(book.join(format!("gt/{p}.txt"))).unwrap();
        let raw = word_recall(&tesseract_cli(&book.join(format!("{p}.tif")), "eng"), &gt);
        for (i, deg) in DEGREES.iter().enumerate() {
            let id = format!("g4-{deg}");
            let record = page(common::book(&m, &id), &format!("{p}.tif"));
            assert_eq!(encoding(record), "ccitt-g4", "{id}/{p}");
            let skew = record.skew_cw_deg.unwrap();
            assert!((skew - deg).abs() <= 0.3, "{id}/{p}: skew found {skew}°");
            let text =
                txt_pages(&run.out, &id)[pages.iter().position(|x| *x == p).unwrap()].clone();
            let recall = word_recall(&text, &gt);
            // A line of these pages is 12 words or more (1.5 % of the page): losing one shows.
            assert!(
                recall >= raw - 0.005,
                "{id}/{p} (turned {deg}°, case {i}): word recall {recall:.4}, the upright raw page read by the CLI {raw:.4}"
            );
        }
    }
}

// Pages OSD is sure about and wrong: the 1871 congress page (a colour photo-scan and its
// bitonal G4 copy), turned a quarter, a half and three quarters. Tesseract's OSD names the
// wrong turn for these with confidence 2–6 ("believable"), and it reads quarter-turned lines
// down the page at confidence 85 without turning anything: kitap must still turn every one
// upright and read it as well as the upright page.

#[test]
fn pages_osd_is_sure_about_and_wrong_are_still_read_the_right_way_up() {
    let Some(shared) = shared() else { return };
    let dir = fixture_dir("prepare-osd-wrong");
    let scans = dir.join("scans");
    let sources = [
        ("colour", "eng-color-jpeg/0001.jpg", "0001.jpg"),
        ("g4", "eng-bitonal-g4/0004.tif", "0001.tif"),
    ];
    const TURN: &str = "import sys; from PIL import Image\n\
src, dst, deg = sys.argv[1], sys.argv[2], int(sys.argv[3])\n\
im = Image.open(src)\n\
turned = im.rotate(-deg, expand=True)\n\
bitonal = dict(compression='group4', dpi=im.info.get('dpi', (300, 300)))\n\
turned.save(dst, **bitonal) if im.mode == '1' else turned.convert('RGB').save(dst, quality=90)\n";
    for (kind, src, name) in sources {
        for deg in [0, 90, 180, 270] {
            let folder = scans.join(format!("{kind}-{deg}"));
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("book.toml"), "languages = [\"eng\"]\n").unwrap();
            let (src, dst) = (shared.join("sample-scans").join(src), folder.join(name));
            python_pil(
                TURN,
                &[src.as_ref(), dst.as_ref(), deg.to_string().as_ref()],
            );
        }
    }
    let run = Kitap::convert(&scans)
        .out(&dir.join("out"))
        .arg("--quiet")
        .run();
    run.success();
    let m = run.manifest();
    for (kind, _, name) in sources {
        let upright = txt_pages(&run.out, &format!("{kind}-0")).concat();
        let upright_conf = page(common::book(&m, &format!("{kind}-0")), name)
            .confidence
            .unwrap();
        for deg in [90, 180, 270] {
            let id = format!("{kind}-{deg}");
            let record = page(common::book(&m, &id), name);
            let osd = tool(
                "tesseract",
                &[
                    &scans.join(&id).join(name).to_string_lossy(),
                    "-",
                    "--psm",
                    "0",
                ],
            );
            eprintln!(
                "{id}: OSD says {:?}",
                String::from_utf8_lossy(&osd.stdout)
                    .lines()
                    .filter(|l| l.starts_with("Rotate") || l.starts_with("Orientation confidence"))
                    .collect::<Vec<_>>()
            );
            assert_eq!(record.rotation_cw_deg, Some(deg), "{id}: the turn found");
            let conf = record.confidence.unwrap();
            assert!(
                conf >= upright_conf - 3.0,
                "{id}: read at confidence {conf}, the upright page at {upright_conf}"
            );
            let recall = word_recall(&txt_pages(&run.out, &id).concat(), &upright);
            assert!(
                recall >= 0.95,
                "{id}: {:.1} % of the upright page's words",
                recall * 100.0
            );
        }
    }
}

/// Runs a Python script with PIL (Debian's python3-pil) on its arguments; it must succeed.
fn python_pil(script: &str, args: &[&std::ffi::OsStr]) {
    let run = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .args(args)
        .output()
        .expect("python3 with PIL (apt-get install python3-pil)");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
