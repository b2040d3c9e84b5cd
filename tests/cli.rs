//! The command line contract: exit codes, messages, book.toml handling, the bundled samples.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use kitap::manifest::{BookRecord, Status};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The repository's own sample books.
fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans")
}

/// A small book folder made from one of the repository's own sample pages.
fn sample_book(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(
        samples().join("en-reading-room/0001.png"),
        dir.join("0001.png"),
    )
    .unwrap();
}

// Usage errors: exit 2 before any page, nothing converted.

/// A scan folder holding one book `b`, and the output folder beside it.
fn one_book() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    sample_book(&tmp.path().join("scans/b"));
    let (scans, out) = (tmp.path().join("scans"), tmp.path().join("out"));
    (tmp, scans, out)
}

/// Exit 2, and no manifest: nothing was converted.
fn usage_error(run: &Run) -> &Run {
    run.code(2);
    assert!(
        !run.out.join("manifest.json").exists(),
        "nothing converted on a usage error"
    );
    run
}

#[test]
fn an_unknown_language_code_is_a_usage_error_listing_the_known_ones() {
    let (_tmp, scans, out) = one_book();
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "xx"])
        .run();
    usage_error(&run)
        .stderr_contains("--lang: unknown language code 'xx'")
        .stderr_contains("kaz");
}

/// A model that Debian packages but the test set-up does not install.
#[test]
fn an_uninstalled_model_is_a_usage_error_saying_how_to_install_it() {
    let (_tmp, scans, out) = one_book();
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "heb"])
        .run();
    usage_error(&run)
        .stderr_contains("heb")
        .stderr_contains("installed: ")
        .stderr_contains("eng")
        .stderr_contains("apt-get install tesseract-ocr-heb");
}

#[test]
fn a_missing_scan_folder_is_a_usage_error() {
    let (tmp, _scans, out) = one_book();
    let run = Kitap::convert(&tmp.path().join("missing")).out(&out).run();
    usage_error(&run)
        .stderr_contains("missing")
        .stderr_contains("cannot read");
}

#[test]
fn an_unknown_pipeline_is_a_usage_error() {
    let (_tmp, scans, out) = one_book();
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--pipeline", "nosuch"])
        .run();
    usage_error(&run).stderr_contains("no pipeline named 'nosuch'");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    Kitap::new().args(["convert", "--bogus"]).run().code(2);
}

/// Two folders with the same name would write to the same output files: that id is one
/// failed book naming both folders, and the rest of the batch converts.
#[test]
fn two_books_with_one_id_fail_that_id_not_the_batch() {
    let (tmp, scans, out) = one_book();
    sample_book(&tmp.path().join("scans/x/b"));
    sample_book(&tmp.path().join("scans/c"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.code(1)
        .stderr_contains("2 book folders have the id 'b': b, x/b");
    let m = run.manifest();
    assert_eq!(m.books.len(), 2);
    assert_eq!(book(&m, "b").status, Status::Failed);
    assert_eq!(book(&m, "c").status, Status::Ok);
    assert!(!out.join("b").exists(), "nothing written for the id");
}

// A bad book.toml fails that book only.

/// Three books: `good`; `typo`, whose book.toml has an unknown field; `nolang`, whose book.toml
/// asks for a model that is not installed.
fn bad_tomls() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("bad-tomls");
        let scans = dir.join("scans");
        sample_book(&scans.join("good"));
        sample_book(&scans.join("typo"));
        write(
            &scans.join("typo/book.toml"),
            "title = \"T\"\nauthor = [\"A\"]\n",
        );
        sample_book(&scans.join("nolang"));
        write(&scans.join("nolang/book.toml"), "languages = [\"heb\"]\n");
        Kitap::convert(&scans)
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
    })
}

#[test]
fn a_bad_book_toml_makes_the_exit_code_1_with_a_valid_manifest() {
    let run = bad_tomls();
    run.code(1);
    validate_manifest(&run.out);
}

#[test]
fn a_good_book_beside_bad_book_tomls_converts() {
    let run = bad_tomls();
    assert_eq!(book(&run.manifest(), "good").status, Status::Ok);
    assert!(run.file("good", "pdf").exists());
}

#[test]
fn an_unknown_book_toml_field_fails_the_book_naming_file_and_field() {
    let m = bad_tomls().manifest();
    let typo = book(&m, "typo");
    assert_eq!(typo.status, Status::Failed);
    let err = typo.error.as_deref().unwrap();
    assert!(
        err.contains("typo/book.toml") && err.contains("author"),
        "{err}"
    );
}

#[test]
fn a_book_toml_error_is_shown_even_when_quiet() {
    bad_tomls().stderr_contains("typo/book.toml");
}

#[test]
fn a_book_failed_by_its_book_toml_writes_no_folder() {
    assert!(!bad_tomls().out.join("typo").exists());
}

#[test]
fn a_book_toml_asking_for_an_uninstalled_model_fails_the_book() {
    let m = bad_tomls().manifest();
    let nolang = book(&m, "nolang");
    assert_eq!(nolang.status, Status::Failed);
    let err = nolang.error.as_deref().unwrap();
    assert!(err.contains("installed:"), "{err}");
}

// The bundled samples, converted with hOCR.

fn bundled() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("bundled");
        Kitap::convert(&samples())
            .out(&dir.join("out"))
            .args(["--pipeline", "hocr"])
            .run()
    })
}

/// The ids of the bundled books, as the manifest has them.
/// The records of the bundled samples; a loop over them covers all four, never none.
fn bundled_books() -> Vec<BookRecord> {
    let books = bundled().manifest().books;
    assert_eq!(books.len(), 4, "the four bundled sample books");
    books
}

fn bundled_ids() -> Vec<String> {
    bundled_books().into_iter().map(|b| b.id).collect()
}

#[test]
fn the_bundled_samples_convert_with_exit_0() {
    bundled().success();
}

#[test]
fn the_summary_line_counts_the_books() {
    bundled().stderr_contains("kitap: 4 book(s): 4 ok");
}

#[test]
fn the_samples_manifest_follows_the_schema() {
    validate_manifest(&bundled().out);
}

#[test]
fn the_samples_manifest_gives_each_files_size_and_hash() {
    check_file_hashes(bundled());
}

#[test]
fn the_samples_conversion_leaves_no_temporary_files() {
    no_temp_files(&bundled().out);
}

#[test]
fn the_samples_files_on_disk_are_those_of_the_manifest() {
    outputs_match_manifest(bundled());
}

#[test]
fn metadata_comes_from_book_toml() {
    for b in bundled_books() {
        assert!(b.metadata.title.is_some(), "{}", b.id);
    }
}

#[test]
fn each_book_gets_a_pdf_an_epub_a_text_and_with_hocr_an_hocr_file() {
    for b in bundled_books() {
        let id = &b.id;
        let files: Vec<&str> = b.files.iter().map(|f| f.path.as_str()).collect();
        for ext in ["pdf", "epub", "txt", "hocr"] {
            assert!(
                files.contains(&format!("{id}/{id}.{ext}").as_str()),
                "{id}: {files:?}"
            );
        }
    }
}

/// The pages were rendered from known text: the OCR must read it closely.
#[test]
fn the_rendered_samples_read_within_3_percent_cer() {
    let run = bundled();
    for id in bundled_ids() {
        for (i, text) in txt_pages(&run.out, &id).iter().enumerate() {
            let gt = samples().join(&id).join(format!("gt/{:04}.txt", i + 1));
            let (d, n) = distance(text, &std::fs::read_to_string(gt).unwrap());
            let cer = d as f64 / n as f64;
            assert!(cer < 0.03, "{id} page {}: CER {cer:.4}", i + 1);
        }
    }
}

#[test]
fn the_samples_pdfs_pass_qpdf_and_the_pdfa_checks() {
    let run = bundled();
    par_map(&bundled_ids(), |id| check_pdf(&run.file(id, "pdf")));
}

#[test]
fn the_pdf_title_is_the_book_title() {
    let run = bundled();
    for b in bundled_books() {
        let info = tool_ok("pdfinfo", &[run.file(&b.id, "pdf").to_str().unwrap()]);
        let title = b.metadata.title.as_deref().unwrap();
        assert!(info.contains(title), "PDF title of {}:\n{info}", b.id);
    }
}

#[test]
fn the_samples_epubs_pass_epubcheck() {
    let run = bundled();
    par_map(&bundled_ids(), |id| epubcheck(&run.file(id, "epub")));
}

/// Straight pages: the hOCR boxes are in the scan's own pixels, so hOCR may name it.
#[test]
fn the_hocr_of_a_straight_page_names_the_scan() {
    let hocr = std::fs::read_to_string(bundled().file("en-reading-room", "hocr")).unwrap();
    assert!(
        hocr.contains("title=\"image &quot;en-reading-room/0001.png&quot;; bbox 0 0 "),
        "{}",
        &hocr[..hocr.len().min(1500)]
    );
}

#[test]
fn kazakh_letters_reach_the_text_layer() {
    let kk = pdftotext(&bundled().file("kk-dala-kitaphanasy", "pdf"));
    for letter in ['ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'і'] {
        assert!(kk.contains(letter), "Kazakh {letter} in the text layer");
    }
}

#[test]
fn turkmen_letters_reach_the_text_layer() {
    let tk = pdftotext(&bundled().file("tk-obadaky-kitaphana", "pdf"));
    for letter in ['ä', 'ç', 'ň', 'ö', 'ş', 'ü', 'ý', 'ž'] {
        assert!(tk.contains(letter), "Turkmen {letter} in the text layer");
    }
}

/// A second run into the same folder, without hOCR: a copy of the bundled samples' output
/// converted again with `--quiet`.
fn second_run() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let out = fixture_dir("second-run").join("out");
        copy_dir(&bundled().out, &out);
        Kitap::convert(&samples()).out(&out).arg("--quiet").run()
    })
}

#[test]
fn a_second_run_into_the_same_folder_succeeds_silently() {
    let again = second_run();
    again.success();
    assert_eq!(again.stderr, "", "--quiet prints nothing when all is well");
}

#[test]
fn a_second_run_into_the_same_folder_lists_its_own_files() {
    check_file_hashes(second_run());
}

/// A second run rebuilds everything and leaves nothing of the first run (its hOCR) behind.
#[test]
fn a_second_run_into_the_same_folder_leaves_nothing_of_the_first() {
    let again = second_run();
    outputs_match_manifest(again);
    no_temp_files(&again.out);
}

#[test]
fn pipelines_are_listed() {
    Kitap::new()
        .arg("pipelines")
        .run()
        .success()
        .stdout_contains("default")
        .stdout_contains("hocr");
}

// Page labels and chapters.

/// Three Kazakh pages with two page-label ranges and three chapters, one beyond the last page.
fn labelled() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("labelled");
        let book = dir.join("scans/kk");
        std::fs::create_dir_all(&book).unwrap();
        for f in ["0001.png", "0002.png", "0003.png"] {
            std::fs::copy(samples().join("kk-dala-kitaphanasy").join(f), book.join(f)).unwrap();
        }
        write(
            &book.join("book.toml"),
            r#"languages = ["kaz"]
page_labels = [{ from = 1, style = "roman" }, { from = 2, style = "arabic", start = 7, prefix = "Б-" }]
[[chapters]]
title = "Кіріспе"
page = 1
[[chapters]]
title = "Бірінші тарау"
page = 3
[[chapters]]
title = "beyond the last page"
page = 40
"#,
        );
        Kitap::convert(&dir.join("scans"))
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
    })
}

/// The labelled PDF's page labels and outline, as qpdf reads them.
fn labels_and_outline() -> serde_json::Value {
    let run = labelled();
    run.success();
    let json = tool_ok(
        "qpdf",
        &[
            "--json",
            "--json-key=pagelabels",
            "--json-key=outlines",
            run.file("kk", "pdf").to_str().unwrap(),
        ],
    );
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_book_with_labels_and_chapters_gives_a_valid_pdf_and_epub() {
    let run = labelled();
    run.success();
    check_pdf(&run.file("kk", "pdf"));
    epubcheck(&run.file("kk", "epub"));
}

#[test]
fn page_labels_reach_the_pdf() {
    let v = labels_and_outline();
    let labels = v["pagelabels"].as_array().unwrap();
    assert_eq!(labels.len(), 2, "{v}");
    assert_eq!(
        (
            labels[0]["index"].as_u64(),
            labels[0]["label"]["/S"].as_str()
        ),
        (Some(0), Some("/r"))
    );
    assert_eq!(labels[1]["index"].as_u64(), Some(1));
    assert_eq!(labels[1]["label"]["/S"], "/D");
    assert_eq!(labels[1]["label"]["/St"], 7);
    assert!(
        labels[1]["label"]["/P"].as_str().unwrap().ends_with("Б-"),
        "{v}"
    );
}

#[test]
fn chapters_within_the_book_reach_the_pdf_outline() {
    let v = labels_and_outline();
    let outline: Vec<(String, u64)> = v["outlines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["title"].as_str().unwrap().to_string(),
                o["destpageposfrom1"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outline,
        [("Кіріспе".to_string(), 1), ("Бірінші тарау".to_string(), 3)]
    );
}

// Reproducible output.

/// A copy of the Russian sample book in a fresh scan folder.
fn russian_book(tmp: &Path) -> PathBuf {
    copy_dir(&samples().join("ru-bumaga-i-svet"), &tmp.join("scans/ru"));
    tmp.join("scans")
}

#[test]
fn the_same_scans_give_the_same_bytes_with_any_number_of_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = russian_book(tmp.path());
    let run = |out: &str, jobs: &str| {
        let run = Kitap::convert(&scans)
            .out(&tmp.path().join(out))
            .args(["--quiet", "--jobs", jobs])
            .run();
        run.success();
        run
    };
    let (first, second) = (run("a", "2"), run("b", "1"));
    for ext in ["pdf", "epub", "txt"] {
        let a = std::fs::read(first.file("ru", ext)).unwrap();
        let b = std::fs::read(second.file("ru", ext)).unwrap();
        assert!(a == b, "{ext} differs between two runs of the same scans");
    }
}

/// SOURCE_DATE_EPOCH sets the dates (2001-09-09T01:46:40Z). One page is enough to see them.
#[test]
fn source_date_epoch_sets_the_pdf_dates() {
    let (_tmp, scans, out) = one_book();
    let run = Kitap::convert(&scans)
        .out(&out)
        .arg("--quiet")
        .env("SOURCE_DATE_EPOCH", "1000000000")
        .run();
    run.success();
    let info = tool_ok(
        "pdfinfo",
        &["-isodates", run.file("b", "pdf").to_str().unwrap()],
    );
    assert!(info.contains("2001-09-09T01:46:40"), "{info}");
}

// Folders that cannot be read fail their book; the batch goes on.

/// `good`; `dangling`, holding a page that links to a file that is gone; `loop`, a folder
/// link that points at itself.
fn unreadable() -> &'static Run {
    static RUN: Shared<Run> = Shared::new();
    RUN.get(|| {
        let dir = fixture_dir("unreadable");
        let scans = dir.join("scans");
        sample_book(&scans.join("good"));
        sample_book(&scans.join("dangling"));
        std::os::unix::fs::symlink(dir.join("gone.png"), scans.join("dangling/0002.png")).unwrap();
        std::os::unix::fs::symlink(scans.join("loop"), scans.join("loop")).unwrap();
        Kitap::convert(&scans).out(&dir.join("out")).run()
    })
}

#[test]
fn an_unreadable_entry_fails_its_book_not_the_batch() {
    let run = unreadable();
    run.code(1);
    validate_manifest(&run.out);
    assert_eq!(book(&run.manifest(), "good").status, Status::Ok);
    assert!(run.file("good", "pdf").exists());
}

#[test]
fn a_page_linking_to_a_missing_file_fails_its_book_naming_the_file() {
    let run = unreadable();
    let m = run.manifest();
    let dangling = book(&m, "dangling");
    assert_eq!(dangling.status, Status::Failed);
    assert!(dangling.files.is_empty());
    let err = dangling.error.as_deref().unwrap();
    assert!(err.contains("dangling/0002.png"), "{err}");
    run.stderr_contains("dangling/0002.png");
}

#[test]
fn a_folder_link_in_a_loop_is_a_failed_book_of_its_own() {
    let run = unreadable();
    let m = run.manifest();
    let looped = book(&m, "loop");
    assert_eq!(looped.status, Status::Failed);
    let err = looped.error.as_deref().unwrap();
    assert!(err.starts_with("cannot read the folder"), "{err}");
    assert_eq!(m.summary.books_failed, 2);
}

// OUT apart from SCANS: outputs never land where the scans are.

/// A book folder holding a librarian's own `b.txt` and `b.pdf` beside its page, and a hash of
/// every file under the scans.
fn book_with_notes() -> (tempfile::TempDir, PathBuf, BTreeMap<PathBuf, Vec<u8>>) {
    let (tmp, scans, _) = one_book();
    std::fs::write(scans.join("b/b.txt"), "notes of the scanning room").unwrap();
    std::fs::write(scans.join("b/b.pdf"), "%PDF- a librarian's own file").unwrap();
    let before = tree_bytes(&scans);
    (tmp, scans, before)
}

fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn an_output_folder_equal_to_the_scans_is_refused_and_nothing_is_touched() {
    let (_tmp, scans, before) = book_with_notes();
    let run = Kitap::convert(&scans).out(&scans).run();
    usage_error(&run).stderr_contains("the output folder is the scan folder");
    assert_eq!(tree_bytes(&scans), before, "the scans are untouched");
}

#[test]
fn an_output_folder_inside_a_book_folder_is_refused() {
    let (_tmp, scans, before) = book_with_notes();
    let run = Kitap::convert(&scans).out(&scans.join("b/out")).run();
    usage_error(&run).stderr_contains("in or over the input folder");
    assert_eq!(tree_bytes(&scans), before, "the scans are untouched");
}

#[test]
fn a_book_whose_output_folder_would_be_its_own_folder_is_refused() {
    // `kitap convert scans/b -o scans` would write OUT/b = scans/b: the book's own folder.
    let (_tmp, scans, before) = book_with_notes();
    let run = Kitap::convert(&scans.join("b")).out(&scans).run();
    run.code(2).stderr_contains("in or over the input folder");
    assert_eq!(tree_bytes(&scans), before, "the scans are untouched");
}

#[test]
fn an_output_folder_beside_the_books_is_allowed_and_never_read_as_input() {
    let (_tmp, scans, _) = one_book();
    let out = scans.join("out");
    // A page image in OUT (say, from some other tool) must not become a book.
    sample_book(&out.join("stray"));
    let run = Kitap::convert(&scans).out(&out).arg("--quiet").run();
    run.success();
    let ids: Vec<String> = run.manifest().books.into_iter().map(|b| b.id).collect();
    assert_eq!(ids, ["b"]);
    assert!(run.file("b", "pdf").exists());
}

#[test]
fn an_output_folder_that_is_a_book_folder_is_refused() {
    // Discovery skips OUT, so the book would have been dropped and written into.
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    for b in ["a", "b"] {
        sample_book(&scans.join(b));
    }
    let before: Vec<_> = std::fs::read_dir(scans.join("a")).unwrap().collect();
    let run = Kitap::convert(&scans).out(&scans.join("a")).run();
    run.code(2).stderr_contains("input folder");
    let after: Vec<_> = std::fs::read_dir(scans.join("a")).unwrap().collect();
    assert_eq!(
        before.len(),
        after.len(),
        "something was written into the book folder"
    );
}

#[test]
fn an_output_folder_that_cannot_be_written_exits_4_before_any_page() {
    // /proc/self is a folder that exists and takes no new file, even for root.
    let (_tmp, scans, _) = one_book();
    let run = Kitap::convert(&scans).out(Path::new("/proc/self")).run();
    run.code(4)
        .stderr_contains("/proc/self")
        .stderr_contains("not writable");
}

#[test]
fn more_jobs_than_the_machine_can_run_are_capped_with_a_warning() {
    let (_tmp, scans, out) = one_book();
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--jobs", "2000"])
        .run();
    run.success()
        .stderr_contains("--jobs 2000: running 1 worker(s)");
}

/// `kitap completions SHELL` prints a script the shell itself accepts; bash's completes the
/// subcommands and their options.
#[test]
fn shell_completions_are_scripts_the_shells_take() {
    let bash = Kitap::new().args(["completions", "bash"]).run();
    bash.success();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kitap.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    // Complete `kitap ch` and `kitap check --q` as bash would on a Tab.
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; _kitap kitap '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        common::tool_ok("bash", &["-c", &program])
    };
    let subcommands = complete("kitap ch");
    assert!(subcommands.lines().any(|l| l == "check"), "{subcommands}");
    let options = complete("kitap check --q");
    assert!(options.lines().any(|l| l == "--quiet"), "{options}");
    let zsh = Kitap::new().args(["completions", "zsh"]).run();
    zsh.success().stdout_contains("#compdef kitap");
    let fish = Kitap::new().args(["completions", "fish"]).run();
    fish.success()
        .stdout_contains("complete -c kitap -n \"__fish_kitap_needs_command\" -f -a \"check\"");
}

/// `kitap man` is one manual page with a section for every subcommand, which groff reads
/// without a warning.
#[test]
fn the_manual_page_has_every_command_and_groff_reads_it_cleanly() {
    let run = Kitap::new().arg("man").run();
    run.success().stdout_contains(".TH kitap 1");
    for sub in [
        "CONVERT",
        "CHECK",
        "VALIDATE",
        "REVIEW",
        "EXPORT",
        "MERGE",
        "PIPELINES",
    ] {
        run.stdout_contains(&format!(".SH \"KITAP {sub}\""));
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("kitap.1");
    std::fs::write(&page, &run.stdout).unwrap();
    let o = common::tool(
        "groff",
        &["-k", "-man", "-Tutf8", "-ww", "-z", page.to_str().unwrap()],
    );
    assert!(o.status.success());
    let warnings = String::from_utf8_lossy(&o.stderr);
    assert!(warnings.is_empty(), "groff: {warnings}");
}

/// A chapter past the last page (a chapter list copied from another edition) is a warning on
/// stderr and in the manifest; the book converts, its outline holds the chapters it has.
#[test]
fn a_chapter_past_the_last_page_is_a_warning() {
    let (_tmp, scans, out) = one_book();
    write(
        &scans.join("b/book.toml"),
        "title = \"B\"\nlanguages = [\"eng\"]\nyear = \"ca. 1900\"\n[[chapters]]\ntitle = \"One\"\npage = 1\n[[chapters]]\ntitle = \"Late\"\npage = 7\n",
    );
    let run = Kitap::convert(&scans).out(&out).run();
    run.success().stderr_contains(
        "chapter \"Late\" starts on page 7, but the book has 1 page(s); the PDF outline and the EPUB contents leave it out",
    );
    let m = run.manifest();
    let b = book(&m, "b");
    assert!(
        b.warnings.iter().any(|w| w.contains("chapter \"Late\"")),
        "{:?}",
        b.warnings
    );
    assert_eq!(b.metadata.year.as_ref().unwrap().written(), "ca. 1900");
    assert_eq!(b.metadata.year_sort, Some(1900));
    let outline = tool_ok(
        "qpdf",
        &[
            "--json",
            "--json-key=outlines",
            run.file("b", "pdf").to_str().unwrap(),
        ],
    );
    assert!(outline.contains("\"title\": \"One\""), "{outline}");
    assert!(!outline.contains("Late"), "{outline}");
}

/// `-v` says what became of each page, `-vv` also its size and stage times; in JSON each page
/// is a `page_done` event. `-q` with `-v` is a usage error.
#[test]
fn verbose_runs_say_what_became_of_each_page() {
    let (_tmp, scans, out) = one_book();
    let v = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "eng", "-v"])
        .run();
    v.success();
    let line = v
        .stderr
        .lines()
        .find(|l| l.contains("0001.png: page 1: ok, "))
        .unwrap_or_else(|| panic!("{}", v.stderr));
    assert!(
        line.contains(" words at ") && line.ends_with(" s"),
        "{line}"
    );
    assert!(!line.contains("; load "), "-v has no stage times: {line}");
    let vv = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "eng", "-vv", "--force"])
        .run();
    vv.success()
        .stderr_contains("px, 300 dpi (file), flate; load ");
    let json = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "eng", "-vv", "--force", "--log-format", "json"])
        .run();
    json.success();
    let event: serde_json::Value = json
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "page_done")
        .unwrap_or_else(|| panic!("{}", json.stderr));
    assert_eq!(event["book"], "b");
    assert_eq!(event["page"], 1);
    assert_eq!(event["status"], "ok");
    assert!(event["words"].as_u64().unwrap() > 50, "{event}");
    assert!(event["stages"]["ocr"].as_f64().unwrap() > 0.0, "{event}");
    assert!(event["seconds"].as_f64().unwrap() > 0.0, "{event}");
    assert_eq!(event["dpi_source"], "file");
    // Without -v, no page lines.
    let plain = Kitap::convert(&scans)
        .out(&out)
        .args(["--lang", "eng", "--force"])
        .run();
    plain.success();
    assert!(!plain.stderr.contains("page 1: ok"), "{}", plain.stderr);
    usage_error(
        &Kitap::convert(&scans)
            .out(&out.join("x"))
            .args(["-q", "-v"])
            .run(),
    )
    .stderr_contains("cannot be used with");
    let check = Kitap::new().arg("check").arg(&scans).arg("-v").run();
    check
        .success()
        .stdout_contains("page 1 (0001.png): 1500×2100 px, grey 8-bit PNG, 292 KiB");
}
