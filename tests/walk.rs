//! The walk of the scan tree never stops the batch and never passes over anything silently:
//! linked and oddly named book folders, hidden folders of pages, page links to devices, books
//! inside books, reserved and case-colliding ids. Each case is a small batch of its own.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use common::*;
use kitap::manifest::{BookRecord, Status};

/// A fresh scan folder and the output folder beside it.
fn scans() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    std::fs::create_dir_all(&scans).unwrap();
    let out = tmp.path().join("out");
    (tmp, scans, out)
}

fn ids(run: &Run) -> Vec<String> {
    run.manifest().books.into_iter().map(|b| b.id).collect()
}

fn ok_with_pdf(run: &Run, id: &str) {
    let m = run.manifest();
    assert_eq!(book(&m, id).status, Status::Ok, "{id}");
    assert!(run.file(id, "pdf").is_file(), "{id}: no PDF");
}

/// The book's warnings that contain `text`.
fn warned<'b>(b: &'b BookRecord, text: &str) -> Vec<&'b String> {
    b.warnings.iter().filter(|w| w.contains(text)).collect()
}

#[test]
fn a_linked_book_folder_takes_its_id_from_the_link() {
    let (tmp, scans, out) = scans();
    let shelf = tmp.path().join("shelf/target-name");
    small_book(&shelf);
    std::os::unix::fs::symlink(&shelf, scans.join("link-name")).unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success();
    assert_eq!(ids(&run), ["link-name"]);
    ok_with_pdf(&run, "link-name");
}

#[test]
fn two_links_to_one_folder_are_two_books() {
    let (tmp, scans, out) = scans();
    let shelf = tmp.path().join("shelf/x");
    small_book(&shelf);
    std::os::unix::fs::symlink(&shelf, scans.join("a")).unwrap();
    std::os::unix::fs::symlink(&shelf, scans.join("b")).unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success();
    assert_eq!(ids(&run), ["a", "b"]);
    ok_with_pdf(&run, "a");
    ok_with_pdf(&run, "b");
}

#[test]
fn names_that_are_not_utf8_are_books_of_their_own_under_an_escaped_id() {
    // Two names that read alike with U+FFFD, and a valid name that looks like an escape.
    let (_tmp, scans, out) = scans();
    let names: [&[u8]; 3] = [b"kitap-\xff", b"kitap-\xfe", b"kitap-%FF"];
    for n in names {
        small_book(&scans.join(OsStr::from_bytes(n)));
    }
    // A page whose own name is not UTF-8 is read by its exact bytes.
    std::fs::rename(
        scans.join(OsStr::from_bytes(b"kitap-\xfe/0001.png")),
        scans.join(OsStr::from_bytes(b"kitap-\xfe/0001-\xe9.png")),
    )
    .unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success();
    let mut got = ids(&run);
    got.sort();
    assert_eq!(got, ["kitap-%25FF", "kitap-%FE", "kitap-%FF"]);
    for id in &got {
        ok_with_pdf(&run, id);
    }
    let m = run.manifest();
    let page = &book(&m, "kitap-%FE").pages[0];
    assert_eq!(page.source, "kitap-%FE/0001-%E9.png");
    validate_manifest(&out);
    check_file_hashes(&run);
}

#[test]
fn a_hidden_folder_of_pages_inside_a_book_is_reported_not_converted() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("b"));
    small_page(&scans.join("b/.thumbs/0001.png"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.success().stderr_contains(".thumbs/");
    let m = run.manifest();
    let b = book(&m, "b");
    assert_eq!(b.page_count, 1, "the thumbnails are not pages");
    assert_eq!(warned(b, ".thumbs").len(), 1, "{:?}", b.warnings);
}

#[test]
fn a_hidden_book_folder_is_a_failed_book_naming_it() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("b"));
    small_book(&scans.join(".old-book"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.code(1).stderr_contains(".old-book");
    let m = run.manifest();
    ok_with_pdf(&run, "b");
    let hidden = book(&m, ".old-book");
    assert_eq!(hidden.status, Status::Failed);
    assert!(hidden.files.is_empty());
    let err = hidden.error.as_deref().unwrap();
    assert!(err.contains("hidden"), "{err}");
    assert!(!out.join(".old-book").exists());
}

#[test]
fn a_page_linked_to_a_device_fails_its_book_without_being_read() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("b"));
    small_book(&scans.join("dev"));
    std::os::unix::fs::symlink("/dev/zero", scans.join("dev/0002.png")).unwrap();
    let started = std::time::Instant::now();
    let run = Kitap::convert(&scans).out(&out).run();
    assert!(started.elapsed().as_secs() < 60, "the device was read");
    run.code(1).stderr_contains("dev/0002.png");
    let m = run.manifest();
    ok_with_pdf(&run, "b");
    let dev = book(&m, "dev");
    assert_eq!(dev.status, Status::Failed);
    let err = dev.error.as_deref().unwrap();
    assert!(
        err.contains("dev/0002.png") && err.contains("not a regular file"),
        "{err}"
    );
}

#[test]
fn a_book_inside_a_book_is_a_book_of_its_own_with_a_warning_on_both() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("outer"));
    small_book(&scans.join("outer/inner"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.success().stderr_contains("outer/inner");
    let m = run.manifest();
    ok_with_pdf(&run, "outer");
    ok_with_pdf(&run, "inner");
    assert_eq!(book(&m, "outer").page_count, 1);
    assert_eq!(warned(book(&m, "outer"), "inner").len(), 1);
    assert_eq!(warned(book(&m, "inner"), "outer").len(), 1);
}

#[test]
fn book_folders_named_like_the_batch_files_fail_alone_and_those_files_are_written() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("b"));
    small_book(&scans.join("manifest.json"));
    small_book(&scans.join("Review.html"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.code(1)
        .stderr_contains("manifest.json")
        .stderr_contains("the review page");
    assert!(out.join("manifest.json").is_file());
    assert!(out.join("review.html").is_file());
    let m = run.manifest();
    ok_with_pdf(&run, "b");
    for name in ["manifest.json", "Review.html"] {
        let reserved = book(&m, name);
        assert_eq!(reserved.status, Status::Failed);
        assert!(reserved.error.as_deref().unwrap().contains(name));
    }
    validate_manifest(&out);
}

#[test]
fn ids_that_differ_only_in_case_are_both_converted_with_a_warning_naming_both() {
    let (_tmp, scans, out) = scans();
    small_book(&scans.join("Abai"));
    small_book(&scans.join("abai"));
    let run = Kitap::convert(&scans).out(&out).run();
    run.success().stderr_contains("case");
    let m = run.manifest();
    for (id, other) in [("Abai", "abai"), ("abai", "Abai")] {
        ok_with_pdf(&run, id);
        let b = book(&m, id);
        let w = warned(b, "case");
        assert_eq!(w.len(), 1, "{id}: {:?}", b.warnings);
        assert!(w[0].contains(&format!("'{other}'")), "{}", w[0]);
    }
}
