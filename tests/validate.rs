//! `kitap validate` on a real converted OUT (the repository's sample books), tampered with one
//! way per test: each problem is found, named by its file or manifest entry, and sets the
//! exit status (0 clean, 1 problems, 2 no readable manifest).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Two sample books converted once.
fn converted() -> &'static PathBuf {
    static OUT: Shared<PathBuf> = Shared::new();
    OUT.get(|| {
        let dir = fixture_dir("validate-first");
        let scans = copy_samples(
            &dir.join("scans"),
            &["en-reading-room", "tk-obadaky-kitaphana"],
        );
        Kitap::convert(&scans)
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
            .success();
        dir.join("out")
    })
}

/// A private copy of the converted OUT.
fn copy(name: &str) -> PathBuf {
    let dir = fixture_dir(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(converted())
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("out")
}

fn validate(out: &Path, extra: &[&str]) -> Run {
    Kitap::new().arg("validate").arg(out).args(extra).run()
}

/// Edits OUT/manifest.json as JSON.
fn edit_manifest(out: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let path = out.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

#[test]
fn a_fresh_out_is_clean() {
    let out = copy("validate-clean");
    validate(&out, &[])
        .success()
        .stdout_contains("2 book(s), 0 error(s), 0 warning(s)");
}

#[test]
fn a_flipped_byte_in_a_pdf_is_a_digest_error() {
    let out = copy("validate-flip");
    let pdf = out.join("en-reading-room/en-reading-room.pdf");
    let mut bytes = std::fs::read(&pdf).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&pdf, bytes).unwrap();
    validate(&out, &[])
        .code(1)
        .stdout_contains("en-reading-room/en-reading-room.pdf: SHA-256");
}

#[test]
fn a_deleted_epub_and_a_truncated_text_are_errors() {
    let out = copy("validate-missing");
    std::fs::remove_file(out.join("tk-obadaky-kitaphana/tk-obadaky-kitaphana.epub")).unwrap();
    let txt = out.join("en-reading-room/en-reading-room.txt");
    let text = std::fs::read(&txt).unwrap();
    std::fs::write(&txt, &text[..text.len() / 2]).unwrap();
    validate(&out, &[])
        .code(1)
        .stdout_contains("tk-obadaky-kitaphana.epub: cannot read")
        .stdout_contains("en-reading-room.txt:")
        .stdout_contains("bytes, the manifest lists");
}

#[test]
fn a_changed_hash_in_the_manifest_is_found() {
    let out = copy("validate-hash");
    edit_manifest(&out, |m| {
        m["books"][0]["files"][0]["sha256"] = "0".repeat(64).into();
    });
    validate(&out, &["--json"]).code(1);
    let run = validate(&out, &["--json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["problems"][0]["code"], "file-digest");
    assert_eq!(doc["problems"][0]["book"], "en-reading-room");
    assert_eq!(doc["problems"][0]["severity"], "error");
}

#[test]
fn a_manifest_that_is_not_json_is_exit_2() {
    let out = copy("validate-not-json");
    std::fs::write(out.join("manifest.json"), "{ not json").unwrap();
    validate(&out, &[]).code(2).stderr_contains("manifest.json");
}

#[test]
fn metadata_rules_name_the_entry() {
    let out = copy("validate-metadata");
    edit_manifest(&out, |m| {
        let meta = &mut m["books"][1]["metadata"];
        meta["isbn"] = "978-601-7151-13-4".into();
        meta["year"] = 2999.into();
        meta["languages"] = serde_json::json!(["xx"]);
        meta["title"] = "Untitled".into();
        meta["authors"] = serde_json::json!(["", "A. Author"]);
    });
    let run = validate(&out, &[]);
    run.code(1);
    for text in [
        "manifest.json: books[1] (tk-obadaky-kitaphana): isbn \"978-601-7151-13-4\": wrong ISBN-13 check digit",
        "year 2999 is not between 1450",
        "language \"xx\" is not a known code",
        "title \"Untitled\" is a placeholder",
        "an author is an empty string",
    ] {
        run.stdout_contains(text);
    }
}

#[test]
fn inconsistent_statuses_and_summary_are_errors() {
    let out = copy("validate-status");
    edit_manifest(&out, |m| {
        m["books"][0]["status"] = "failed".into();
        m["summary"]["pages"] = 99.into();
    });
    validate(&out, &[])
        .code(1)
        .stdout_contains("status failed but files are listed")
        .stdout_contains("manifest.json: summary: pages is 99");
}

#[test]
fn an_unlisted_file_is_a_warning_and_strict_counts_it() {
    let out = copy("validate-unlisted");
    std::fs::write(out.join("en-reading-room/old.pdf"), b"left over").unwrap();
    validate(&out, &[])
        .success()
        .stdout_contains("warning: ")
        .stdout_contains("old.pdf: in the book's folder but not in the manifest");
    validate(&out, &["--strict"]).code(1);
}
