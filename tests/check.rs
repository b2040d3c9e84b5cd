//! `kitap check SCANS` (issue 16): the dry run before the night reports every problem a
//! convert would meet, in one pass, and writes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::{Kitap, copy_samples, shared, stage_shared_books, walk};

/// Every file and folder under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (e.path().to_path_buf(), (m.len(), m.modified().unwrap()))
        })
        .collect()
}

/// The repository's English sample as book `name` of `scans`, with `book_toml` when given.
fn sample_as(scans: &Path, name: &str, book_toml: Option<&str>) {
    let book = scans.join(name);
    common::copy_dir(&common::repo_samples().join("en-reading-room"), &book);
    if let Some(toml) = book_toml {
        std::fs::write(book.join("book.toml"), toml).unwrap();
    }
}

#[test]
fn a_clean_tree_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(
        &dir.path().join("scans"),
        &["en-reading-room", "kk-dala-kitaphanasy", "ru-bumaga-i-svet"],
    );
    let run = Kitap::new().arg("check").arg(&scans).run();
    run.success()
        .stdout_contains("en-reading-room: 1 page(s) [PNG 1]; languages en → eng: ok")
        .stdout_contains("kk-dala-kitaphanasy: 3 page(s) [PNG 3]; languages kk → kaz: ok")
        .stdout_contains("kitap check: 3 book(s): 3 ok, 0 with warnings, 0 with problems; 7 page(s), 0 unreadable");
}

/// The shared corpus, its broken files as a book, a broken book.toml, a model that is not
/// installed and two folders with one id: every problem in one report, exit 1, and the scan
/// tree exactly as it was, with nothing written beside it.
#[test]
fn every_problem_is_reported_in_one_pass_and_nothing_is_written() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scans = dir.path().join("scans");
    stage_shared_books(
        &shared,
        &scans,
        &["eng-clean", "format-zoo", "eng-bitonal-g4"],
    );
    common::copy_dir(&shared.join("sample-scans-bad"), &scans.join("bad"));
    copy_samples(&scans, &["en-reading-room"]);
    // An unknown key and a model that is not installed.
    sample_as(
        &scans,
        "typo",
        Some("title = \"Typo\"\nauthor = [\"A. Writer\"]\n"),
    );
    sample_as(
        &scans,
        "nomodel",
        Some("title = \"Hebrew\"\nlanguages = [\"heb\"]\n"),
    );
    // Uncertain dates as librarians write them are fine; a wrong ISBN check digit and a
    // chapter past the last page are warnings; a year nobody can read is a problem.
    sample_as(
        &scans,
        "dates",
        Some(
            "title = \"Dates\"\nyear = \"[193-?]\"\nseries = \"S\"\nvolume = \"II\"\nisbn = \"978-601-7151-13-4\"\n[[chapters]]\ntitle = \"Late\"\npage = 9\n",
        ),
    );
    sample_as(
        &scans,
        "baddate",
        Some("title = \"Bad\"\nyear = \"someday\"\nissued = \"1939-13-01\"\n"),
    );
    // Two folders named `twin`.
    sample_as(&scans, "twin", None);
    sample_as(&scans, "more/twin", None);
    let before = snapshot(dir.path());
    let run = Kitap::new().arg("check").arg(&scans).run();
    run.code(1)
        .stdout_contains("problem: page 1 (huge-dimensions.png): image claims 100000×100000 pixels")
        .stdout_contains("problem: page 3 (one-pixel.png): image is 1×1 pixels")
        .stdout_contains("problem: page 4 (pdf-renamed.tif): not an image: a PDF file")
        .stdout_contains("problem: page 5 (text-renamed.png): not an image: a text file")
        .stdout_contains("problem: page 7 (truncated.tif): truncated TIFF")
        .stdout_contains("problem: page 8 (zero-bytes.tif): empty file (0 bytes)")
        .stdout_contains("warning: page 2 (jpeg-named.tif): file is a JPEG named .tif")
        .stdout_contains("typo: 0 page(s): 1 problem(s)")
        .stdout_contains("unknown key `author`; did you mean `authors`?")
        .stdout_contains("nomodel: 0 page(s): 1 problem(s)")
        .stdout_contains("Tesseract model(s) heb not installed")
        .stdout_contains("2 book folders have the id 'twin': more/twin, twin")
        .stdout_contains("eng-clean: 5 page(s) [TIFF 5]; languages en → eng: ok")
        .stdout_contains("en-reading-room: 1 page(s) [PNG 1]; languages en → eng: ok")
        .stdout_contains(
            "dates: 1 page(s) [PNG 1]; languages auto (found from the pages): 2 warning(s)",
        )
        .stdout_contains("isbn \"978-601-7151-13-4\": wrong ISBN-13 check digit")
        .stdout_contains("chapter \"Late\" starts on page 9, but the book has 1 page(s)")
        .stdout_contains("year \"someday\" is not a year as kitap reads them")
        .stdout_contains("issued \"1939-13-01\" is not a date")
        .stdout_contains("; nothing written;");
    let summary = run.stdout.lines().last().unwrap();
    assert!(
        summary.starts_with("kitap check: 10 book(s): 4 ok, 1 with warnings, 5 with problems;"),
        "{summary}"
    );
    assert!(summary.contains("6 unreadable"), "{summary}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "the check wrote or touched nothing"
    );
    // Quiet: the books with something to say, and the summary.
    let quiet = Kitap::new().args(["check", "-q"]).arg(&scans).run();
    quiet.code(1);
    assert!(!quiet.stdout.contains("eng-clean"), "{}", quiet.stdout);
    assert!(quiet.stdout.contains("bad: 8 page(s)"), "{}", quiet.stdout);
    assert_eq!(
        walk(dir.path()).len(),
        before.keys().filter(|p| p.is_file()).count()
    );
}

#[test]
fn a_tree_that_cannot_be_checked_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Kitap::new()
        .arg("check")
        .arg(dir.path().join("nowhere"))
        .run();
    missing
        .code(2)
        .stderr_contains("not a folder of scanned books");
    let empty = Kitap::new().arg("check").arg(dir.path()).run();
    empty
        .code(2)
        .stderr_contains("no book folders with page images");
    let scans = copy_samples(&dir.path().join("scans"), &["en-reading-room"]);
    let bad_lang = Kitap::new()
        .arg("check")
        .arg(&scans)
        .args(["--lang", "xx-nonsense"])
        .run();
    bad_lang.code(2);
    let bad_pipeline = Kitap::new()
        .arg("check")
        .arg(&scans)
        .args(["--pipeline", "nosuch"])
        .run();
    bad_pipeline
        .code(2)
        .stderr_contains("no pipeline named 'nosuch'");
}
