//! Books with no languages given (issue 14): every shared and rendered book, its book.toml
//! removed, is converted with the default pipeline (`languages = ["auto"]`). The language
//! found must be the book's, the manifest must say how it was found, and the text must read as
//! well as when the book is told its language (within 0.5 CER points).

mod common;

use std::path::Path;

use common::*;
use kitap::manifest::BookRecord;

/// The shared books and the BCP 47 tag each must be found to be. The eurotext page holds
/// six languages in as many lines: "undetermined, Latin script", read with the Latin model.
const SHARED: &[(&str, &str)] = &[
    ("eng-bitonal-g4", "en"),
    ("eng-clean", "en"),
    ("eng-color-jpeg", "en"),
    ("eng-orientation", "en"),
    ("eng-seed", "en"),
    ("eng-skew-known", "en"),
    ("eng-skew-ocrmypdf", "en"),
    ("format-zoo", "en"),
    ("kpv-cyrl-vyl-tujod-1939", "kv"),
    ("kpv-cyrl-vyl-tujod-1939-columns", "kv"),
    ("multi-latin-eurotext", "und-Latn"),
    ("rus-seed-newsprint", "ru"),
    ("tuk-seed", "tk"),
    ("ukr-seed", "uk"),
];

/// The repository's own rendered books.
const RENDERED: &[(&str, &str)] = &[
    ("en-reading-room", "en"),
    ("kk-dala-kitaphanasy", "kk"),
    ("ru-bumaga-i-svet", "ru"),
    ("tk-obadaky-kitaphana", "tk"),
];

/// Copies a book's page images (and their ground truth), not its book.toml.
fn pages_only(from: &Path, to: &Path) {
    copy_dir(from, to);
    let _ = std::fs::remove_file(to.join("book.toml"));
    let _ = std::fs::remove_file(to.join("truth.json"));
}

/// Book CER (Σ distances ÷ Σ ground-truth lengths) over the pages with ground truth.
fn cer(out: &Path, id: &str, gt_dir: &Path) -> Option<f64> {
    let texts = txt_pages(out, id);
    let mut pages: Vec<_> = std::fs::read_dir(gt_dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let ext = p.extension()?.to_str()?.to_ascii_lowercase();
            ["png", "jpg", "tif", "tiff"]
                .contains(&ext.as_str())
                .then_some(p)
        })
        .collect();
    pages.sort();
    let (mut d, mut n) = (0, 0);
    for (i, page) in pages.iter().enumerate() {
        let stem = page.file_stem().unwrap().to_str().unwrap();
        let Ok(gt) = std::fs::read_to_string(gt_dir.join(format!("{stem}.txt"))) else {
            continue;
        };
        let (dist, len) = distance(texts.get(i)?, &gt);
        (d, n) = (d + dist, n + len);
    }
    (n > 0).then(|| d as f64 / n as f64 * 100.0)
}

fn detected(b: &BookRecord) -> &kitap::manifest::LanguageDetection {
    b.languages_detected
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no languages_detected in its record", b.id))
}

#[test]
fn every_book_without_languages_is_found_in_its_own_language() {
    let Some(shared) = shared() else { return };
    let dir = fixture_dir("languages-auto");
    let scans = dir.join("scans");
    let mut books: Vec<(&str, &str, std::path::PathBuf)> = Vec::new();
    for &(b, tag) in SHARED {
        let from = shared.join("sample-scans").join(b);
        pages_only(&from, &scans.join(b));
        books.push((b, tag, from));
    }
    for &(b, tag) in RENDERED {
        let from = repo_samples().join(b);
        pages_only(&from, &scans.join(b));
        books.push((b, tag, from));
    }
    let run = Kitap::convert(&scans)
        .out(&dir.join("out"))
        .args(["--jobs", "2"])
        .run();
    run.success();
    validate_manifest(&run.out);
    let m = run.manifest();
    let mut told: Vec<(&str, std::path::PathBuf)> = Vec::new();
    for (b, tag, from) in &books {
        let record = book(&m, b);
        let d = detected(record);
        assert_eq!(d.language, *tag, "{b}: found {d:?}");
        assert_eq!(record.languages[0].tag, *tag, "{b}: the book's language");
        assert!(d.letters > 0 && !d.pages.is_empty(), "{b}: {d:?}");
        // OSD names the script, or (format-zoo's odd first sample) the better script model.
        eprintln!("{b}: {} by {}", d.script, d.script_by);
        let script = match *tag {
            "ru" | "uk" | "kk" | "kv" => "Cyrillic",
            _ => "Latin",
        };
        assert_eq!(d.script, script, "{b}: {d:?}");
        // Sure, and silent, for every book in one language; the eurotext page is not.
        let warned = record.warnings.iter().any(|w| w.contains("not sure"));
        assert_eq!(d.sure, *tag != "und-Latn", "{b}: {d:?}");
        assert_eq!(warned, !d.sure, "{b}: warnings {:?}", record.warnings);
        if !d.sure {
            run.stderr_contains(&format!("{b}: languages not given"));
        }
        // The language's own letters are the evidence (none for English or Russian).
        match *tag {
            "kk" => assert!(["қ", "ә", "ң"].iter().all(|c| d.evidence.contains_key(*c))),
            "uk" => assert!(d.evidence.contains_key("ї") || d.evidence.contains_key("є")),
            "tk" => assert!(["ý", "ň"].iter().all(|c| d.evidence.contains_key(*c))),
            "kv" => assert!(d.evidence.contains_key("ӧ")),
            _ => {}
        }
        // Told its language, a book is read with these models: the same models read the
        // same pages to the same text. Where they differ, the told book is converted below.
        let languages = if from.starts_with(repo_samples()) {
            let toml = std::fs::read_to_string(from.join("book.toml")).unwrap();
            let meta: toml::Value = toml::from_str(&toml).unwrap();
            let list = meta["languages"].as_array().unwrap().clone();
            let codes: Vec<String> = list
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            format!("{codes:?}")
        } else {
            shared_languages(b).to_string()
        };
        let told_models = told_models(&languages);
        if record.ocr_models != told_models {
            eprintln!(
                "{b}: found {} read with {:?}; told {languages} read with {told_models:?}",
                d.language, record.ocr_models
            );
            let dest = dir.join("told").join(b);
            pages_only(from, &dest);
            std::fs::write(dest.join("book.toml"), format!("languages = {languages}\n")).unwrap();
            told.push((b, from.clone()));
        }
    }
    assert!(
        !told.is_empty(),
        "at least the eurotext page is read with other models"
    );
    let told_run = Kitap::convert(&dir.join("told"))
        .out(&dir.join("told-out"))
        .args(["--jobs", "2", "--quiet"])
        .run();
    told_run.success();
    let mut compared = Vec::new();
    for (b, from) in told {
        let gt = from.join("gt");
        let (Some(auto), Some(given)) = (cer(&run.out, b, &gt), cer(&told_run.out, b, &gt)) else {
            continue;
        };
        eprintln!("{b}: CER {auto:.2} % found, {given:.2} % told");
        compared.push(b);
        assert!(
            auto <= given + 0.5,
            "{b}: CER {auto:.2} % with the languages found, {given:.2} % told"
        );
    }
    // The books read with other models than when told, both with ground truth.
    for b in ["kk-dala-kitaphanasy", "multi-latin-eurotext"] {
        assert!(compared.contains(&b), "{b} not compared: {compared:?}");
    }
}

/// The models a book.toml's languages map to, as kitap maps them.
fn told_models(languages: &str) -> Vec<String> {
    let codes: Vec<String> = serde_json::from_str(languages).unwrap();
    let langs: Vec<_> = codes
        .iter()
        .map(|c| kitap::lang::lookup(c).unwrap())
        .collect();
    kitap::lang::models_for(&langs)
}

#[test]
fn auto_in_book_toml_finds_the_language_and_a_second_run_leaves_the_book_alone() {
    let dir = fixture_dir("languages-auto-toml");
    let scans = dir.join("scans");
    pages_only(
        &repo_samples().join("kk-dala-kitaphanasy"),
        &scans.join("kk"),
    );
    std::fs::write(
        scans.join("kk/book.toml"),
        "title = \"Дала кітапханасы\"\nlanguages = [\"auto\"]\n",
    )
    .unwrap();
    // --lang names a language for books that name none: this one says auto itself.
    let convert = || {
        Kitap::convert(&scans)
            .out(&dir.join("out"))
            .args(["--lang", "eng"])
            .run()
    };
    let run = convert();
    run.success();
    run.stderr_contains("found kk (Kazakh");
    let m = run.manifest();
    let b = book(&m, "kk");
    assert_eq!(detected(b).language, "kk");
    assert_eq!(b.ocr_models, ["kaz", "eng"]);
    // The EPUB says so too.
    let epub = run.file("kk", "epub");
    let opf = tool_ok(
        "unzip",
        &["-p", epub.to_str().unwrap(), "OEBPS/content.opf"],
    );
    assert!(opf.contains("<dc:language>kk</dc:language>"), "{opf}");
    let again = convert();
    again.success();
    again.stderr_contains("1 unchanged");
    assert!(
        !again.stderr.contains("found kk"),
        "an unchanged book is not looked at again:\n{}",
        again.stderr
    );
    assert_eq!(detected(book(&again.manifest(), "kk")).language, "kk");
}
