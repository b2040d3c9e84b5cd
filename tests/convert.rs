//! End-to-end: the real binary on real scans, outputs checked with real tools. Each batch is
//! converted once per test binary and read by every test that checks one of its outputs.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use kitap::manifest::{BookRecord, DpiSource, PageRecord, PageStatus, Status};
use serde_json::Value;

/// The books of the shared corpus, converted in one batch: every one of them.
const BOOKS: &[&str] = &[
    "eng-bitonal-g4",
    "eng-clean",
    "eng-color-jpeg",
    "eng-orientation",
    "eng-seed",
    "eng-skew-known",
    "eng-skew-ocrmypdf",
    "format-zoo",
    "kpv-cyrl-vyl-tujod-1939",
    "kpv-cyrl-vyl-tujod-1939-columns",
    "multi-latin-eurotext",
    "rus-seed-newsprint",
    "tuk-seed",
    "ukr-seed",
];

fn hash_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let sum = tool_ok("sha256sum", &[p.to_str().unwrap()]);
            (p, sum.split_whitespace().next().unwrap().to_string())
        })
        .collect()
}

/// A converted batch and the scans it was made from.
struct Batch {
    scans: PathBuf,
    run: Run,
}

/// The whole shared corpus, converted once with `--jobs 2`.
struct Corpus {
    batch: Batch,
    /// SHA-256 of every input file before the conversion.
    before: BTreeMap<PathBuf, String>,
}

fn corpus() -> Option<&'static Corpus> {
    static CORPUS: Shared<Option<Corpus>> = Shared::new();
    CORPUS
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("corpus");
            let scans = dir.join("scans");
            stage_shared_books(&shared, &scans, BOOKS);
            let before = hash_tree(&scans);
            let run = Kitap::convert(&scans)
                .out(&dir.join("out"))
                .args(["--jobs", "2"])
                .run();
            Some(Corpus {
                batch: Batch { scans, run },
                before,
            })
        })
        .as_ref()
}

/// The corpus run, for the tests that only read its outputs.
fn corpus_run() -> Option<&'static Run> {
    corpus().map(|c| &c.batch.run)
}

#[test]
fn the_corpus_converts_with_exit_0() {
    let Some(run) = corpus_run() else { return };
    run.success();
}

#[test]
fn converting_never_modifies_the_inputs() {
    let Some(c) = corpus() else { return };
    assert_eq!(
        c.before,
        hash_tree(&c.batch.scans),
        "inputs must never be modified"
    );
}

#[test]
fn the_corpus_manifest_follows_the_schema() {
    let Some(run) = corpus_run() else { return };
    validate_manifest(&run.out);
}

#[test]
fn the_corpus_manifest_gives_each_files_size_and_hash() {
    let Some(run) = corpus_run() else { return };
    check_file_hashes(run);
}

#[test]
fn the_corpus_conversion_leaves_no_temporary_files() {
    let Some(run) = corpus_run() else { return };
    no_temp_files(&run.out);
}

#[test]
fn the_corpus_files_on_disk_are_those_of_the_manifest() {
    let Some(run) = corpus_run() else { return };
    outputs_match_manifest(run);
}

#[test]
fn books_lists_every_book_of_the_shared_corpus() {
    let Some(shared) = shared() else { return };
    let mut corpus: Vec<String> = std::fs::read_dir(shared.join("sample-scans"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type()
                .ok()?
                .is_dir()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    corpus.sort();
    assert_eq!(corpus, BOOKS, "BOOKS lists every book of the shared corpus");
}

#[test]
fn every_epub_passes_epubcheck() {
    let Some(run) = corpus_run() else { return };
    let ids: Vec<String> = run.manifest().books.into_iter().map(|b| b.id).collect();
    assert_eq!(ids.len(), BOOKS.len());
    par_map(&ids, |id| epubcheck(&run.file(id, "epub")));
}

#[test]
fn the_reading_epubs_drop_headers_and_page_numbers_and_read_as_well_as_the_text() {
    let Some(c) = corpus() else { return };
    reading::check_reading_epubs(&c.batch.run, &c.batch.scans);
}

#[test]
fn books_come_in_the_order_of_their_source() {
    let Some(run) = corpus_run() else { return };
    let ids: Vec<String> = run.manifest().books.into_iter().map(|b| b.id).collect();
    let mut sorted = BOOKS.to_vec();
    sorted.sort();
    assert_eq!(ids, sorted, "books in the order of their source");
}

#[test]
fn every_corpus_book_converts_ok() {
    let Some(run) = corpus_run() else { return };
    for b in corpus_books(run) {
        assert_eq!(b.status, Status::Ok, "{}", b.id);
    }
}

#[test]
fn the_text_has_one_chunk_per_page() {
    let Some(run) = corpus_run() else { return };
    for b in corpus_books(run) {
        assert_eq!(
            txt_pages(&run.out, &b.id).len(),
            b.pages.len(),
            "{}: one text chunk per page",
            b.id
        );
    }
}

/// Character error rate per book against gt/, compared with the tesseract CLI on the same
/// pages with the same models: at most 1 percentage point worse.
#[test]
fn every_book_reads_as_well_as_with_the_tesseract_cli() {
    let Some(c) = corpus() else { return };
    let (run, scans) = (&c.batch.run, &c.batch.scans);
    let mut jobs = Vec::new();
    for b in corpus_books(run) {
        let models = b.ocr_models.join("+");
        let pages = txt_pages(&run.out, &b.id);
        for p in &b.pages {
            let src = scans.join(&p.source);
            let gt = gt_path(&src);
            if gt.exists() && p.frame == 0 {
                jobs.push((
                    b.id.clone(),
                    src,
                    models.clone(),
                    gt,
                    pages[p.index as usize - 1].clone(),
                ));
            }
        }
    }
    let results = par_map(&jobs, |(id, src, models, gt, mine)| {
        let gt = std::fs::read_to_string(gt).unwrap();
        let (dk, n) = distance(mine, &gt);
        let (dc, _) = distance(&tesseract_cli(src, models), &gt);
        (id.clone(), n, dk, dc)
    });
    let mut per_book: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (id, n, dk, dc) in results {
        let e = per_book.entry(id).or_default();
        e.0 += n;
        e.1 += dk;
        e.2 += dc;
    }
    assert_eq!(
        per_book.len(),
        BOOKS.len(),
        "ground truth found for {per_book:?}"
    );
    for (id, (n, dk, dc)) in &per_book {
        let (k, c) = (*dk as f64 / *n as f64, *dc as f64 / *n as f64);
        eprintln!(
            "{id}: CER kitap {:.2} % vs tesseract CLI {:.2} %",
            k * 100.0,
            c * 100.0
        );
        assert!(k <= c + 0.01, "{id}: kitap CER {k:.4} vs CLI {c:.4}");
    }
}

/// The books' ids, for the tests that check each book's PDF.
/// The books of the corpus batch; a loop over them covers every book of BOOKS, never none.
fn corpus_books(run: &Run) -> Vec<BookRecord> {
    let books = run.manifest().books;
    assert_eq!(
        books.len(),
        BOOKS.len(),
        "the manifest lists every book of the batch"
    );
    books
}

/// The ids of the corpus batch; a loop over them covers every book of BOOKS, never none.
fn corpus_ids(run: &Run) -> Vec<String> {
    let mut ids: Vec<String> = run.manifest().books.into_iter().map(|b| b.id).collect();
    ids.sort();
    assert_eq!(ids, BOOKS, "the manifest lists every book of the batch");
    ids
}

#[test]
fn every_pdf_passes_qpdf_and_the_pdfa_checks() {
    let Some(run) = corpus_run() else { return };
    par_map(&corpus_ids(run), |id| check_pdf(&run.file(id, "pdf")));
}

#[test]
fn every_pdf_embeds_its_text_font_with_a_unicode_map() {
    let Some(run) = corpus_run() else { return };
    for id in corpus_ids(run) {
        fonts_embedded_with_unicode(&run.file(&id, "pdf"));
    }
}

#[test]
fn every_pdf_has_a_page_per_manifest_page() {
    let Some(run) = corpus_run() else { return };
    for b in corpus_books(run) {
        assert_eq!(
            pdf_pages(&run.file(&b.id, "pdf")),
            b.pages.len(),
            "{}: PDF pages",
            b.id
        );
    }
}

/// A dark page must be a dark scan (the Komi newspaper's palette is all greys below 125): the
/// rendering is as bright as the source, not its negative.
#[test]
fn no_page_renders_as_a_negative() {
    let Some(c) = corpus() else { return };
    let (run, scans) = (&c.batch.run, &c.batch.scans);
    for b in corpus_books(run) {
        let id = &b.id;
        for (i, mean) in rendered_brightness(&run.file(id, "pdf")).iter().enumerate() {
            if *mean > 150.0 {
                continue;
            }
            let page = &b.pages[i];
            let src = image::open(scans.join(&page.source)).unwrap().to_luma8();
            let src_mean =
                src.as_raw().iter().map(|&v| v as f64).sum::<f64>() / src.as_raw().len() as f64;
            assert!(
                page.frame == 0 && (mean - src_mean).abs() < 10.0,
                "{id} page {}: renders dark (mean grey {mean:.0}, source {src_mean:.0}): inverted image?",
                i + 1
            );
        }
    }
}

/// pdftotext finds the words kitap recognised, in any script.
#[test]
fn pdftotext_finds_the_recognised_words() {
    let Some(run) = corpus_run() else { return };
    for id in corpus_ids(run) {
        let extracted = pdftotext(&run.file(&id, "pdf"));
        let words: Vec<String> = txt_pages(&run.out, &id)
            .join(" ")
            .split_whitespace()
            .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic))
            .map(str::to_string)
            .collect();
        let found = words
            .iter()
            .filter(|w| extracted.contains(w.as_str()))
            .count();
        assert!(
            found as f64 >= 0.95 * words.len() as f64,
            "{id}: pdftotext finds {found} of {} words",
            words.len()
        );
    }
}

fn pdf_text(run: &Run, id: &str) -> String {
    pdftotext(&run.file(id, "pdf"))
}

#[test]
fn turkmen_letters_survive_in_the_text_layer() {
    let Some(run) = corpus_run() else { return };
    let tuk = pdf_text(run, "tuk-seed");
    for letter in ['ä', 'ç', 'ň', 'ö', 'ş', 'ü', 'ý'] {
        assert!(
            tuk.contains(letter),
            "Turkmen letter {letter} lost in the PDF text layer"
        );
    }
}

#[test]
fn ukrainian_letters_survive_in_the_text_layer() {
    let Some(run) = corpus_run() else { return };
    let ukr = pdf_text(run, "ukr-seed");
    for letter in ['і', 'ї', 'є'] {
        assert!(
            ukr.contains(letter),
            "Ukrainian letter {letter} lost in the PDF text layer"
        );
    }
}

/// Read with `ukr+eng`, Tesseract takes the Latin `y` for the Ukrainian preposition `у` in
/// "Сьогодні у Житомирі": every output has it back in Cyrillic, and the manifest counts it.
#[test]
fn a_latin_lookalike_among_ukrainian_words_is_put_back_in_cyrillic() {
    let Some(run) = corpus_run() else { return };
    let want = "Сьогодні у Житомирі";
    let wrong = "Сьогодні y Житомирі";
    let epub = common::reading::unzip(&run.file("ukr-seed", "epub"), "OEBPS/text/s0001.xhtml");
    for (what, text) in [
        ("PDF text layer", pdf_text(run, "ukr-seed")),
        ("text", txt_pages(&run.out, "ukr-seed")[0].clone()),
        ("EPUB", epub),
    ] {
        // pdftotext gives a word a line: compare with every run of whitespace one space.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains(want) && !text.contains(wrong),
            "{what}: {text}"
        );
    }
    let m = run.manifest();
    assert!(page(book(&m, "ukr-seed"), "0001.jpg").lookalikes_repaired >= 1);
    // A page of one script has nothing to repair.
    for p in &book(&m, "eng-clean").pages {
        assert_eq!(p.lookalikes_repaired, 0, "{}", p.source);
    }
}

#[test]
fn the_komi_letter_o_diaeresis_survives_in_the_text_layer() {
    let Some(run) = corpus_run() else { return };
    assert!(
        pdf_text(run, "kpv-cyrl-vyl-tujod-1939-columns").contains('ӧ'),
        "Komi ӧ lost"
    );
}

#[test]
fn a_bitonal_book_is_stored_as_g4() {
    let Some(run) = corpus_run() else { return };
    let m = run.manifest();
    let g4 = book(&m, "eng-bitonal-g4");
    assert!(g4.pages.iter().all(|p| encoding(p) == "ccitt-g4"));
}

// Format zoo: every TIFF frame is a page; EXIF orientation honoured; odd resolutions.

/// The format zoo's page records.
fn zoo(run: &Run) -> kitap::manifest::BookRecord {
    book(&run.manifest(), "format-zoo").clone()
}

#[test]
fn every_tiff_frame_is_a_page() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    assert_eq!(zoo.pages.len(), 12, "10 files, one of them a 3-frame TIFF");
    let frames: Vec<u32> = zoo
        .pages
        .iter()
        .filter(|p| p.source.ends_with("0006.tif"))
        .map(|p| p.frame)
        .collect();
    assert_eq!(frames, [0, 1, 2]);
}

#[test]
fn pages_are_numbered_in_order_across_files_and_frames() {
    let Some(run) = corpus_run() else { return };
    let indexes: Vec<u32> = zoo(run).pages.iter().map(|p| p.index).collect();
    assert_eq!(indexes, (1..=12).collect::<Vec<_>>());
}

#[test]
fn an_exif_rotated_page_stands_upright() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    let (plain, exif) = (page(&zoo, "0007.jpg"), page(&zoo, "0008.jpg"));
    assert_eq!(
        (exif.width, exif.height),
        (plain.width, plain.height),
        "EXIF-rotated page stands upright"
    );
}

#[test]
fn an_exif_rotated_page_is_read_upright() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    assert!(
        page(&zoo, "0008.jpg").confidence.unwrap() > 70.0,
        "EXIF-rotated page is read upright"
    );
}

#[test]
fn an_exif_rotated_jpeg_is_passed_through() {
    let Some(run) = corpus_run() else { return };
    assert_eq!(encoding(page(&zoo(run), "0008.jpg")), "jpeg-passthrough");
}

#[test]
fn a_cmyk_jpeg_becomes_an_rgb_jpeg() {
    let Some(run) = corpus_run() else { return };
    assert_eq!(
        encoding(page(&zoo(run), "0001.jpg")),
        "jpeg",
        "a CMYK JPEG is converted to an RGB JPEG, not blown up losslessly"
    );
}

#[test]
fn unequal_resolutions_use_the_vertical_one_with_a_warning() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    let aspect = page(&zoo, "0005.tif");
    assert_eq!(aspect.dpi, Some(254.0));
    assert!(
        aspect.warnings[0].contains("508×254 dpi"),
        "{:?}",
        aspect.warnings
    );
}

/// Square at 254 dpi, the page keeps the physical size the file states.
#[test]
fn unequal_resolutions_keep_the_physical_size() {
    let Some(c) = corpus() else { return };
    let zoo = zoo(&c.batch.run);
    let aspect = page(&zoo, "0005.tif");
    let (w, h) = image::image_dimensions(c.batch.scans.join("format-zoo/0005.tif")).unwrap();
    assert_eq!(aspect.height, Some(h));
    let width_in = aspect.width.unwrap() as f64 / 254.0;
    assert!((width_in - w as f64 / 508.0).abs() < 0.01, "{width_in} in");
}

#[test]
fn a_missing_resolution_is_estimated_and_reported() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    for f in ["0009.tif", "0010.png"] {
        let p = page(&zoo, f);
        assert_eq!(p.dpi_source, Some(DpiSource::Estimated), "{f}");
        assert!(!p.warnings.is_empty(), "{f}: the estimate is reported");
    }
}

#[test]
fn a_one_bit_png_is_stored_as_g4() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    for f in ["0004.png", "0010.png"] {
        assert_eq!(
            encoding(page(&zoo, f)),
            "ccitt-g4",
            "{f}: a 1-bit PNG is bitonal"
        );
    }
}

/// A colour palette PNG is not bitonal; it keeps its palette unless straightening resampled it
/// into more colours.
#[test]
fn a_palette_png_keeps_its_palette_unless_resampled() {
    let Some(run) = corpus_run() else { return };
    let zoo = zoo(run);
    let palette = page(&zoo, "0003.png");
    let expected = if correction(palette) == "resampled" {
        "flate"
    } else {
        "flate-indexed"
    };
    assert_eq!(encoding(palette), expected, "{palette:?}");
}

// Turned and skewed pages, against the known truth in ../shared/sample-scans/index.json.

/// The corpus books whose pages index.json gives a true rotation and skew.
const TURNED_BOOKS: &[&str] = &[
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

/// The turned and skewed books of the corpus conversion, with their truth.
struct Turned {
    shared: PathBuf,
    idx: BTreeMap<(String, String), Truth>,
    scans: PathBuf,
    run: &'static Run,
}

fn turned() -> Option<Turned> {
    let c = corpus()?;
    let shared = shared()?;
    Some(Turned {
        idx: index(&shared),
        shared,
        scans: c.batch.scans.clone(),
        run: &c.batch.run,
    })
}

impl Turned {
    /// Each page of [`TURNED_BOOKS`] with its book id and its truth.
    fn pages(&self) -> Vec<(String, PageRecord, &Truth)> {
        let mut out = Vec::new();
        let books = self.run.manifest().books;
        for b in books
            .into_iter()
            .filter(|b| TURNED_BOOKS.contains(&b.id.as_str()))
        {
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
        assert!(!out.is_empty(), "no pages of {TURNED_BOOKS:?}");
        out
    }
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
    let straight = tempfile::tempdir().unwrap();
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
                    straight.path(),
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

// Broken files among good ones.

/// A book of every broken file of the corpus between two good pages.
fn broken() -> Option<&'static Batch> {
    static BROKEN: Shared<Option<Batch>> = Shared::new();
    BROKEN
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("broken");
            let book = dir.join("scans/mixed");
            copy_dir(&shared.join("sample-scans-bad"), &book);
            std::fs::copy(
                shared.join("sample-scans/eng-clean/0004.tif"),
                book.join("0000-good.tif"),
            )
            .unwrap();
            std::fs::copy(
                shared.join("sample-scans/eng-seed/0003.jpg"),
                book.join("zzzz-good.jpg"),
            )
            .unwrap();
            let scans = dir.join("scans");
            let run = Kitap::convert(&scans)
                .out(&dir.join("out"))
                .args(["--jobs", "2"])
                .run();
            Some(Batch { scans, run })
        })
        .as_ref()
}

fn broken_run() -> Option<&'static Run> {
    broken().map(|b| &b.run)
}

/// Each broken file and what its error says.
const BROKEN_FILES: &[(&str, &str)] = &[
    ("huge-dimensions.png", "megapixels"),
    ("one-pixel.png", "too small"),
    ("pdf-renamed.tif", "PDF"),
    ("text-renamed.png", "text file"),
    ("truncated.jpg", "truncated JPEG"),
    ("truncated.tif", "truncated TIFF"),
    ("zero-bytes.tif", "empty file"),
];

#[test]
fn broken_pages_make_the_exit_code_1() {
    let Some(run) = broken_run() else { return };
    run.code(1);
}

#[test]
fn with_broken_pages_the_manifest_follows_the_schema() {
    let Some(run) = broken_run() else { return };
    validate_manifest(&run.out);
}

#[test]
fn with_broken_pages_the_manifest_gives_each_files_size_and_hash() {
    let Some(run) = broken_run() else { return };
    check_file_hashes(run);
}

#[test]
fn with_broken_pages_no_temporary_file_is_left() {
    let Some(run) = broken_run() else { return };
    no_temp_files(&run.out);
}

#[test]
fn a_book_with_broken_pages_is_partial() {
    let Some(run) = broken_run() else { return };
    assert_eq!(run.manifest().books[0].status, Status::Partial);
}

#[test]
fn broken_pages_keep_their_place_in_the_manifest() {
    let Some(run) = broken_run() else { return };
    assert_eq!(run.manifest().books[0].pages.len(), 10);
}

#[test]
fn each_broken_file_fails_saying_what_is_wrong() {
    let Some(run) = broken_run() else { return };
    let m = run.manifest();
    for (file, what) in BROKEN_FILES {
        let p = page(&m.books[0], file);
        assert_eq!(p.status, PageStatus::Failed, "{file}");
        let error = p.error.as_deref().unwrap();
        assert!(error.contains(what), "{file}: {error}");
    }
}

#[test]
fn each_broken_file_gets_one_stderr_line_naming_file_and_page() {
    let Some(run) = broken_run() else { return };
    let m = run.manifest();
    for (file, what) in BROKEN_FILES {
        let index = page(&m.books[0], file).index;
        let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains(file)).collect();
        assert_eq!(lines.len(), 1, "one line for {file}:\n{}", run.stderr);
        assert!(
            lines[0].contains(&format!("{file}: page {index}: ")),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains(what), "{}", lines[0]);
    }
}

#[test]
fn a_jpeg_named_tif_converts_with_a_warning() {
    let Some(run) = broken_run() else { return };
    let m = run.manifest();
    let jpeg_named = page(&m.books[0], "jpeg-named.tif");
    assert_eq!(jpeg_named.status, PageStatus::Ok);
    assert!(jpeg_named.warnings[0].contains("JPEG named .tif"));
}

#[test]
fn the_jpeg_named_tif_warning_is_shown() {
    let Some(run) = broken_run() else { return };
    run.stderr_contains("jpeg-named.tif: page");
}

#[test]
fn with_broken_pages_the_pdf_passes_qpdf_and_the_pdfa_checks() {
    let Some(run) = broken_run() else { return };
    check_pdf(&run.file("mixed", "pdf"));
}

/// Failed pages keep their place: placeholders in the PDF, empty chunks in the text.
#[test]
fn broken_pages_keep_their_place_in_the_pdf_and_the_text() {
    let Some(run) = broken_run() else { return };
    assert_eq!(pdf_pages(&run.file("mixed", "pdf")), 10);
    assert_eq!(txt_pages(&run.out, "mixed").len(), 10);
}

/// The page of the truncated JPEG, 1-based, as pdftotext and pdfimages take it.
fn truncated_page(run: &Run) -> String {
    page(&run.manifest().books[0], "truncated.jpg")
        .index
        .to_string()
}

#[test]
fn a_placeholder_page_names_the_broken_file() {
    let Some(run) = broken_run() else { return };
    let i = truncated_page(run);
    let pdf = run.file("mixed", "pdf");
    let placeholder = tool_ok(
        "pdftotext",
        &["-f", &i, "-l", &i, pdf.to_str().unwrap(), "-"],
    );
    assert!(
        placeholder.contains("truncated.jpg") && placeholder.contains("could not be converted"),
        "{placeholder}"
    );
}

#[test]
fn a_placeholder_page_has_no_image() {
    let Some(run) = broken_run() else { return };
    let i = truncated_page(run);
    let pdf = run.file("mixed", "pdf");
    let images = tool_ok(
        "pdfimages",
        &["-list", "-f", &i, "-l", &i, pdf.to_str().unwrap()],
    );
    assert_eq!(
        images.lines().count(),
        2,
        "no image on the placeholder page:\n{images}"
    );
}

#[test]
fn with_broken_pages_the_epub_passes_epubcheck() {
    let Some(run) = broken_run() else { return };
    epubcheck(&run.file("mixed", "epub"));
}

// A book without any good page.

/// Two broken pages, and a PDF left in the output folder by an earlier run.
fn hopeless() -> Option<&'static Run> {
    static HOPELESS: Shared<Option<Run>> = Shared::new();
    HOPELESS
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("hopeless");
            let scans = dir.join("scans");
            std::fs::create_dir_all(scans.join("broken")).unwrap();
            std::fs::copy(
                shared.join("sample-scans-bad/zero-bytes.tif"),
                scans.join("broken/1.tif"),
            )
            .unwrap();
            std::fs::copy(
                shared.join("sample-scans-bad/truncated.jpg"),
                scans.join("broken/2.jpg"),
            )
            .unwrap();
            let out = dir.join("out");
            std::fs::create_dir_all(out.join("broken")).unwrap();
            std::fs::write(out.join("broken/broken.pdf"), b"from an earlier run").unwrap();
            Some(Kitap::convert(&scans).out(&out).arg("--quiet").run())
        })
        .as_ref()
}

#[test]
fn a_book_without_any_good_page_makes_the_exit_code_1() {
    let Some(run) = hopeless() else { return };
    run.code(1);
}

#[test]
fn a_book_without_any_good_page_is_failed_in_a_valid_manifest() {
    let Some(run) = hopeless() else { return };
    validate_manifest(&run.out);
    assert_eq!(run.manifest().books[0].status, Status::Failed);
}

#[test]
fn a_book_without_any_good_page_lists_no_files() {
    let Some(run) = hopeless() else { return };
    assert_eq!(run.manifest().books[0].files.len(), 0);
    outputs_match_manifest(run);
}

#[test]
fn a_failed_book_keeps_the_files_of_an_earlier_run() {
    let Some(run) = hopeless() else { return };
    assert_eq!(
        std::fs::read(run.out.join("broken/broken.pdf")).unwrap(),
        b"from an earlier run"
    );
    run.stderr_contains("its previous outputs in");
}

#[test]
fn a_book_without_any_good_page_leaves_no_temporary_file() {
    let Some(run) = hopeless() else { return };
    no_temp_files(&run.out);
}

// Word boxes.

/// Word boxes (points, top-left origin) and texts from `pdftotext -bbox`.
fn pdf_word_boxes(pdf: &Path) -> Vec<([f64; 4], String)> {
    let html = tool_ok("pdftotext", &["-bbox", pdf.to_str().unwrap(), "-"]);
    html.lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("<word ")?;
            let attr = |name: &str| -> Option<f64> {
                let i = l.find(&format!("{name}=\""))? + name.len() + 2;
                l[i..].split('"').next()?.parse().ok()
            };
            let text = l.split('>').nth(1)?.split('<').next()?.to_string();
            Some((
                [attr("xMin")?, attr("yMin")?, attr("xMax")?, attr("yMax")?],
                text,
            ))
        })
        .collect()
}

/// Word boxes (pixels) and texts from an hOCR page.
fn hocr_word_boxes(hocr: &str) -> Vec<([f64; 4], String)> {
    hocr.split("class='ocrx_word'")
        .flat_map(|s| s.split("class=\"ocrx_word\""))
        .skip(1)
        .filter_map(|w| {
            let b = w.split("bbox ").nth(1)?;
            let v: Vec<f64> = b
                .split([';', '\'', '"'])
                .next()?
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            let text = w.split('>').nth(1)?.split('<').next()?.to_string();
            Some(([v[0], v[1], v[2], v[3]], text))
        })
        .collect()
}

fn max_box_distance(pdf: &[([f64; 4], String)], ocr: &[([f64; 4], String)], pt_per_px: f64) -> f64 {
    assert_eq!(
        pdf.len(),
        ocr.len(),
        "the same words in the PDF and in the OCR"
    );
    pdf.iter()
        .zip(ocr)
        .map(|((p, _), (o, _))| {
            (0..4)
                .map(|i| (p[i] - o[i] * pt_per_px).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

/// A straight page (no preparation touches it, so the CLI reads the same raster) converted with
/// hOCR.
struct Boxes {
    page: PathBuf,
    run: Run,
}

fn boxes() -> Option<&'static Boxes> {
    static BOXES: Shared<Option<Boxes>> = Shared::new();
    BOXES
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("boxes");
            let book = dir.join("scans/b");
            std::fs::create_dir_all(&book).unwrap();
            let page = shared.join("sample-scans/eng-clean/0004.tif");
            std::fs::copy(&page, book.join("0001.tif")).unwrap();
            let run = Kitap::convert(&dir.join("scans"))
                .out(&dir.join("out"))
                .args(["--quiet", "--pipeline", "hocr"])
                .run();
            Some(Boxes { page, run })
        })
        .as_ref()
}

impl Boxes {
    fn pt_per_px(&self) -> f64 {
        72.0 / self.run.manifest().books[0].pages[0].dpi.unwrap()
    }

    fn pdf(&self) -> Vec<([f64; 4], String)> {
        pdf_word_boxes(&self.run.file("b", "pdf"))
    }

    fn own(&self) -> Vec<([f64; 4], String)> {
        hocr_word_boxes(&std::fs::read_to_string(self.run.file("b", "hocr")).unwrap())
    }
}

#[test]
fn a_straight_page_converts_uncorrected() {
    let Some(b) = boxes() else { return };
    b.run.success();
    assert_eq!(correction(&b.run.manifest().books[0].pages[0]), "none");
}

#[test]
fn every_word_box_in_the_pdf_lies_on_kitaps_hocr_box() {
    let Some(b) = boxes() else { return };
    let pdf = b.pdf();
    let d_own = max_box_distance(&pdf, &b.own(), b.pt_per_px());
    eprintln!(
        "{} words: largest box distance {d_own:.3} pt from kitap's hOCR",
        pdf.len()
    );
    assert!(pdf.len() > 40);
    assert!(d_own <= 1.5, "{d_own} pt");
}

#[test]
fn every_word_box_in_the_pdf_lies_on_the_tesseract_cli_box() {
    let Some(b) = boxes() else { return };
    let cli = std::process::Command::new("tesseract")
        .arg(&b.page)
        .args(["-", "-l", "eng", "hocr"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    let cli = hocr_word_boxes(&String::from_utf8_lossy(&cli.stdout));
    let pdf = b.pdf();
    let d_cli = max_box_distance(&pdf, &cli, b.pt_per_px());
    eprintln!(
        "{} words: largest box distance {d_cli:.3} pt from the CLI's hOCR",
        pdf.len()
    );
    assert!(d_cli <= 1.5, "{d_cli} pt");
}

/// The box check must see a word moved by 3 pt: shift the first word's text matrix.
#[test]
fn the_box_check_notices_a_word_moved_by_3_pt() {
    let Some(b) = boxes() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut doc = lopdf::Document::load(b.run.file("b", "pdf")).unwrap();
    let page = doc.get_pages()[&1];
    let content_id = doc.get_page_contents(page)[0];
    let stream = doc
        .get_object_mut(content_id)
        .unwrap()
        .as_stream_mut()
        .unwrap();
    let mut content =
        lopdf::content::Content::decode(&stream.decompressed_content().unwrap()).unwrap();
    let tm = content
        .operations
        .iter_mut()
        .find(|op| op.operator == "Tm")
        .unwrap();
    let x = tm.operands[4].as_float().unwrap();
    tm.operands[4] = (x + 3.0).into();
    stream.set_plain_content(content.encode().unwrap());
    let moved = tmp.path().join("moved.pdf");
    doc.save(&moved).unwrap();
    let d_moved = max_box_distance(&pdf_word_boxes(&moved), &b.own(), b.pt_per_px());
    assert!(
        d_moved > 1.5,
        "a word moved by 3 pt went unnoticed ({d_moved:.3} pt)"
    );
}

// Archive and compact pipelines.

/// The pixels of the image on `page` of `pdf`, as `pdfimages -png` extracts them, in grey.
fn pdf_image_grey(pdf: &Path, page: usize, dir: &Path) -> image::GrayImage {
    let prefix = dir.join(format!("img-{page}"));
    let p = page.to_string();
    tool_ok(
        "pdfimages",
        &[
            "-png",
            "-f",
            &p,
            "-l",
            &p,
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let file = dir.join(format!("img-{page}-000.png"));
    image::open(&file).unwrap().to_luma8()
}

/// (source, archive encoding, compact encoding)
const PIPELINE_PAGES: &[(&str, &str, &str)] = &[
    // 8-bit grey with only black and white: G4 is lossless for it.
    ("eng-clean/0003.tif", "ccitt-g4", "ccitt-g4"),
    // Grey newsprint: textured paper, JPEG when compact.
    ("rus-seed-newsprint/0001.png", "flate", "jpeg"),
    // JPEG inside a TIFF: re-encoded as JPEG in both.
    ("eng-clean/0005.tif", "jpeg", "jpeg"),
    // A 16-grey palette PNG: kept as a palette; black-on-white text, so G4 when compact.
    (
        "kpv-cyrl-vyl-tujod-1939-columns/0001.png",
        "flate-indexed",
        "ccitt-g4",
    ),
    // A 4:4:4 JPEG of a text page: untouched in the archive, G4 is a fraction of it.
    ("eng-color-jpeg/0002.jpg", "jpeg-passthrough", "ccitt-g4"),
    // A small JPEG of an old coloured page: re-encoding would not be clearly smaller.
    (
        "eng-color-jpeg/0001.jpg",
        "jpeg-passthrough",
        "jpeg-passthrough",
    ),
];

/// One book of [`PIPELINE_PAGES`] converted with the archive and with the compact pipeline.
struct Pipelines {
    shared: PathBuf,
    /// The book's copies of the pages, in order.
    sources: Vec<PathBuf>,
    archive: Run,
    compact: Run,
}

fn pipelines() -> Option<&'static Pipelines> {
    static PIPELINES: Shared<Option<Pipelines>> = Shared::new();
    PIPELINES
        .get(|| {
            let shared = shared()?;
            let dir = fixture_dir("pipelines");
            let book = dir.join("scans/b");
            std::fs::create_dir_all(&book).unwrap();
            let sources: Vec<PathBuf> = PIPELINE_PAGES
                .iter()
                .enumerate()
                .map(|(i, (from, ..))| {
                    let ext = Path::new(from).extension().unwrap().to_str().unwrap();
                    let to = book.join(format!("{:04}.{ext}", i + 1));
                    std::fs::copy(shared.join("sample-scans").join(from), &to).unwrap();
                    to
                })
                .collect();
            std::fs::write(book.join("book.toml"), "languages = [\"eng\", \"rus\"]\n").unwrap();
            let scans = dir.join("scans");
            let run = |pipeline: &str| {
                Kitap::convert(&scans)
                    .out(&dir.join(pipeline))
                    .args(["--quiet", "--pipeline", pipeline])
                    .run()
            };
            Some(Pipelines {
                archive: run("archive"),
                compact: run("compact"),
                shared,
                sources,
            })
        })
        .as_ref()
}

#[test]
fn archive_and_compact_convert_with_exit_0_and_valid_manifests() {
    let Some(p) = pipelines() else { return };
    for run in [&p.archive, &p.compact] {
        run.success();
        validate_manifest(&run.out);
    }
}

fn encodings(run: &Run) -> Vec<String> {
    run.manifest().books[0].pages.iter().map(encoding).collect()
}

#[test]
fn archive_chooses_each_pages_encoding() {
    let Some(p) = pipelines() else { return };
    assert_eq!(
        encodings(&p.archive),
        PIPELINE_PAGES.iter().map(|p| p.1).collect::<Vec<_>>(),
        "archive encodings"
    );
}

#[test]
fn compact_chooses_each_pages_encoding() {
    let Some(p) = pipelines() else { return };
    assert_eq!(
        encodings(&p.compact),
        PIPELINE_PAGES.iter().map(|p| p.2).collect::<Vec<_>>(),
        "compact encodings"
    );
}

#[test]
fn compact_is_less_than_half_the_archive() {
    let Some(p) = pipelines() else { return };
    let size = |run: &Run| std::fs::metadata(run.file("b", "pdf")).unwrap().len();
    let (a, c) = (size(&p.archive), size(&p.compact));
    eprintln!("archive {a} bytes, compact {c} bytes");
    assert!(
        c * 10 < a * 5,
        "compact {c} is not clearly smaller than archive {a}"
    );
}

#[test]
fn archive_and_compact_pdfs_pass_qpdf_and_the_pdfa_checks() {
    let Some(p) = pipelines() else { return };
    check_pdf(&p.archive.file("b", "pdf"));
    check_pdf(&p.compact.file("b", "pdf"));
}

/// Archive: the lossless pages hold exactly the source's pixels.
#[test]
fn archive_keeps_the_source_pixels_of_lossless_pages() {
    let Some(p) = pipelines() else { return };
    let images = tempfile::tempdir().unwrap();
    let apdf = p.archive.file("b", "pdf");
    for (i, (from, encoding, _)) in PIPELINE_PAGES.iter().enumerate() {
        if matches!(*encoding, "ccitt-g4" | "flate" | "flate-indexed") {
            let stored = pdf_image_grey(&apdf, i + 1, images.path());
            let source = image::open(&p.sources[i]).unwrap().to_luma8();
            assert!(
                stored == source,
                "{from}: archive pixels differ from the source"
            );
        }
    }
}

/// Archive: the passed-through JPEG is the source file byte for byte.
#[test]
fn archive_passes_a_jpeg_through_byte_for_byte() {
    let Some(p) = pipelines() else { return };
    let jpegs = tempfile::tempdir().unwrap();
    tool_ok(
        "pdfimages",
        &[
            "-j",
            "-f",
            "5",
            "-l",
            "5",
            p.archive.file("b", "pdf").to_str().unwrap(),
            jpegs.path().join("p").to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(jpegs.path().join("p-000.jpg")).unwrap()
            == std::fs::read(&p.sources[4]).unwrap(),
        "passed-through JPEG is the source file"
    );
}

/// Rendered back at 300 dpi and read again, compact pages read as well as archive ones: CER
/// over the pages with ground truth within 0.5 points.
#[test]
fn compact_pages_read_back_as_well_as_archive_ones() {
    let Some(p) = pipelines() else { return };
    let (apdf, cpdf) = (p.archive.file("b", "pdf"), p.compact.file("b", "pdf"));
    let render = tempfile::tempdir().unwrap();
    let jobs: Vec<(usize, &str, &Path)> = PIPELINE_PAGES
        .iter()
        .enumerate()
        .filter(|(_, (from, ..))| gt_of(&p.shared, from).is_file())
        .flat_map(|(i, _)| {
            [
                (i, "archive", apdf.as_path()),
                (i, "compact", cpdf.as_path()),
            ]
        })
        .collect();
    let read = par_map(&jobs, |&(i, name, pdf)| {
        let page = (i + 1).to_string();
        let prefix = render.path().join(format!("{name}-{page}"));
        tool_ok(
            "pdftoppm",
            &[
                "-r",
                "300",
                "-gray",
                "-png",
                "-f",
                &page,
                "-l",
                &page,
                "-singlefile",
                pdf.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        let text = tesseract_cli(&prefix.with_extension("png"), "eng+rus");
        distance(
            &text,
            &std::fs::read_to_string(gt_of(&p.shared, PIPELINE_PAGES[i].0)).unwrap(),
        )
    });
    let mut total = BTreeMap::new();
    for (&(i, name, _), &(d, len)) in jobs.iter().zip(&read) {
        eprintln!(
            "{}: re-read CER {name} {:.2} %",
            PIPELINE_PAGES[i].0,
            100.0 * d as f64 / len as f64
        );
        let t = total.entry(name).or_insert((0, 0));
        *t = (t.0 + d, t.1 + len);
    }
    let cer = |name| {
        let (d, len) = total[name];
        d as f64 / len as f64
    };
    let (ca, cc) = (cer("archive"), cer("compact"));
    eprintln!(
        "re-read CER archive {:.2} %, compact {:.2} %",
        ca * 100.0,
        cc * 100.0
    );
    assert!(jobs.len() >= 6, "at least three pages with ground truth");
    assert!(cc <= ca + 0.005, "compact {cc:.4} vs archive {ca:.4}");
}

/// `gt/NNNN.txt` beside a shared page.
fn gt_of(shared: &Path, page: &str) -> PathBuf {
    gt_path(&shared.join("sample-scans").join(page))
}
