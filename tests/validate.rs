//! `kitap validate` on a real converted OUT (the repository's sample books), tampered with one
//! way per test: each problem is found, named by its file or manifest entry, and sets the
//! exit status (0 clean, 1 problems, 2 no readable manifest). The structure tamperings (a PDF
//! page removed, an EPUB title edited, a text chunk dropped, …) also put the new size and
//! SHA-256 in the manifest, so only reading the file back can catch them.

mod common;

use std::path::{Path, PathBuf};

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
    copy_out(converted(), name)
}

fn validate(out: &Path, extra: &[&str]) -> Run {
    Kitap::new().arg("validate").arg(out).args(extra).run()
}

/// The problems of `kitap validate OUT --json` (and its exit code).
fn problems(out: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>) {
    let run = validate(out, &[&["--json"], extra].concat());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.exit, doc["problems"].as_array().unwrap().clone())
}

/// Exactly one problem, an error with this code, about the file `path` names (relative to OUT).
fn only_problem(out: &Path, code: &str, path: &str) -> serde_json::Value {
    let (exit, problems) = problems(out, &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = problems[0].clone();
    assert_eq!(p["code"], code, "{p:#}");
    assert_eq!(p["severity"], "error", "{p:#}");
    assert_eq!(p["path"], out.join(path).display().to_string(), "{p:#}");
    assert_eq!(exit, 1);
    // The text line names the file too.
    validate(out, &[])
        .code(1)
        .stdout_contains(&format!("{}: ", out.join(path).display()));
    p
}

/// Puts the file's new size and SHA-256 into the manifest, as if kitap had written it so.
fn rehash(out: &Path, path: &str) {
    let (bytes, sha256) = kitap::fsio::hash_file(&out.join(path)).unwrap();
    edit_manifest(out, |m| {
        let file = m["books"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .flat_map(|b| b["files"].as_array_mut().unwrap().iter_mut())
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} is not listed"));
        file["bytes"] = bytes.into();
        file["sha256"] = sha256.into();
    });
}

const EN_PDF: &str = "en-reading-room/en-reading-room.pdf";
const TK_PDF: &str = "tk-obadaky-kitaphana/tk-obadaky-kitaphana.pdf";
const TK_EPUB: &str = "tk-obadaky-kitaphana/tk-obadaky-kitaphana.epub";
const TK_TXT: &str = "tk-obadaky-kitaphana/tk-obadaky-kitaphana.txt";

/// Rewrites an EPUB entry by entry: `change` gets each name and its bytes and returns the new
/// bytes (None drops the entry); `mimetype` stays first, stored unless `mimetype_method` says.
fn rewrite_epub(
    path: &Path,
    mimetype_method: zip::CompressionMethod,
    change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>,
) {
    use std::io::{Read, Write};
    let mut old = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut new = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..old.len() {
        let mut entry = old.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let Some(bytes) = change(&name, bytes) else {
            continue;
        };
        let method = if name == "mimetype" {
            mimetype_method
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        new.start_file(name, options).unwrap();
        new.write_all(&bytes).unwrap();
    }
    std::fs::write(path, new.finish().unwrap().into_inner()).unwrap();
}

/// Gives the EPUB at `path` (in OUT) another `dc:title` in its OPF (after checking the one it
/// had, when `was` is given) and updates its size and SHA-256 in the manifest: only the
/// EPUB's structure check can tell.
fn retitle_epub(out: &Path, path: &str, was: Option<&str>, title: &str) {
    rewrite_epub(
        &out.join(path),
        zip::CompressionMethod::Stored,
        |name, bytes| {
            if name != "OEBPS/content.opf" {
                return Some(bytes);
            }
            let opf = String::from_utf8(bytes).unwrap();
            if let Some(was) = was {
                assert!(opf.contains(&format!(">{was}</dc:title>")), "{opf}");
            }
            Some(replace_element_text(&opf, "dc:title", title).into_bytes())
        },
    );
    rehash(out, path);
}

/// Replaces the text of the first `<tag …>…</tag>` in an XML document.
fn replace_element_text(xml: &str, tag: &str, text: &str) -> String {
    let open = xml.find(&format!("<{tag}")).unwrap();
    let start = open + xml[open..].find('>').unwrap() + 1;
    let end = start + xml[start..].find(&format!("</{tag}>")).unwrap();
    format!("{}{text}{}", &xml[..start], &xml[end..])
}

#[test]
fn a_fresh_out_is_clean() {
    let out = copy("validate-clean");
    validate(&out, &[])
        .success()
        .stdout_contains("2 book(s), 0 error(s), 0 warning(s)");
}

#[test]
fn a_flipped_byte_in_a_pdf_is_one_digest_error() {
    let out = copy("validate-flip");
    let pdf = out.join(EN_PDF);
    let mut bytes = std::fs::read(&pdf).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&pdf, bytes).unwrap();
    // Reported once, as damage: the structure of a damaged file is not read.
    let p = only_problem(&out, "file-digest", EN_PDF);
    assert!(p["message"].as_str().unwrap().starts_with("SHA-256"), "{p}");
}

#[test]
fn a_deleted_epub_is_an_error() {
    let out = copy("validate-deleted");
    std::fs::remove_file(out.join(TK_EPUB)).unwrap();
    let p = only_problem(&out, "file-missing", TK_EPUB);
    assert!(
        p["message"].as_str().unwrap().starts_with("cannot read"),
        "{p}"
    );
}

#[test]
fn a_truncated_text_is_a_size_error() {
    let out = copy("validate-truncated");
    let txt = out.join("en-reading-room/en-reading-room.txt");
    let text = std::fs::read(&txt).unwrap();
    std::fs::write(&txt, &text[..text.len() / 2]).unwrap();
    let p = only_problem(&out, "file-size", "en-reading-room/en-reading-room.txt");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("bytes, the manifest lists"),
        "{p}"
    );
}

#[test]
fn a_changed_hash_in_the_manifest_is_found() {
    let out = copy("validate-hash");
    edit_manifest(&out, |m| {
        m["books"][0]["files"][0]["sha256"] = "0".repeat(64).into();
    });
    let p = only_problem(&out, "file-digest", EN_PDF);
    assert_eq!(p["book"], "en-reading-room");
}

#[test]
fn a_changed_size_in_the_manifest_is_found() {
    let out = copy("validate-size");
    edit_manifest(&out, |m| {
        let bytes = m["books"][1]["files"][0]["bytes"].as_u64().unwrap();
        m["books"][1]["files"][0]["bytes"] = (bytes + 1).into();
    });
    let p = only_problem(&out, "file-size", TK_PDF);
    assert_eq!(p["book"], "tk-obadaky-kitaphana");
}

#[test]
fn a_manifest_that_is_not_json_is_exit_2() {
    let out = copy("validate-not-json");
    std::fs::write(out.join("manifest.json"), "{ not json").unwrap();
    validate(&out, &[])
        .code(2)
        .stderr_contains("manifest.json: not JSON");
}

/// Sets one metadata field of the second book and returns the text output.
fn with_metadata(name: &str, key: &str, value: serde_json::Value) -> Run {
    let out = copy(name);
    edit_manifest(&out, |m| m["books"][1]["metadata"][key] = value);
    validate(&out, &[])
}

const TK_ENTRY: &str = "manifest.json: books[1] (tk-obadaky-kitaphana): ";

#[test]
fn a_bad_isbn_check_digit_names_the_entry() {
    with_metadata("validate-isbn", "isbn", "978-601-7151-13-4".into())
        .code(1)
        .stdout_contains(&format!(
            "{TK_ENTRY}isbn \"978-601-7151-13-4\": wrong ISBN-13 check digit"
        ));
}

#[test]
fn a_year_in_the_future_names_the_entry() {
    with_metadata("validate-year", "year", 2999.into())
        .code(1)
        .stdout_contains(&format!("{TK_ENTRY}year 2999 is not between 1450"));
}

#[test]
fn an_unknown_language_names_the_entry() {
    with_metadata("validate-language", "languages", serde_json::json!(["xx"]))
        .code(1)
        .stdout_contains(&format!("{TK_ENTRY}language \"xx\" is not a known code"));
}

#[test]
fn a_placeholder_title_names_the_entry() {
    with_metadata("validate-placeholder", "title", "Untitled".into())
        .code(1)
        .stdout_contains(&format!("{TK_ENTRY}title \"Untitled\" is a placeholder"));
}

#[test]
fn an_empty_author_names_the_entry() {
    with_metadata(
        "validate-author",
        "authors",
        serde_json::json!(["", "A. Author"]),
    )
    .code(1)
    .stdout_contains(&format!("{TK_ENTRY}an author is an empty string"));
}

#[test]
fn a_book_without_a_title_is_a_warning_naming_the_id() {
    let out = copy("validate-no-title");
    // The EPUB is rewritten titled by the id, as kitap writes a book without a title.
    retitle_epub(&out, TK_EPUB, None, "tk-obadaky-kitaphana");
    edit_manifest(&out, |m| {
        m["books"][1]["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("title");
    });
    validate(&out, &[])
        .success()
        .stdout_contains(&format!(
            "warning: {TK_ENTRY}no title in book.toml (the PDF and EPUB are titled \"tk-obadaky-kitaphana\""
        ));
    validate(&out, &["--strict"]).code(1);
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

// Structure: the file's size and SHA-256 are put in the manifest after each change, so only
// reading it back finds what is wrong.

#[test]
fn a_pdf_with_a_page_removed_is_a_page_count_error() {
    let out = copy("validate-pdf-page");
    let mut doc = lopdf::Document::load(out.join(TK_PDF)).unwrap();
    assert_eq!(doc.get_pages().len(), 2);
    doc.delete_pages(&[2]);
    doc.save(out.join(TK_PDF)).unwrap();
    rehash(&out, TK_PDF);
    let p = only_problem(&out, "pdf-pages", TK_PDF);
    assert_eq!(
        p["message"], "1 page(s), the manifest's page_count is 2",
        "{p}"
    );
}

#[test]
fn a_pdf_page_without_its_text_layer_is_found() {
    let out = copy("validate-pdf-text");
    let mut doc = lopdf::Document::load(out.join(TK_PDF)).unwrap();
    let page = doc.get_pages()[&2];
    let mut content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
    content
        .operations
        .retain(|op| !matches!(op.operator.as_str(), "Tj" | "TJ"));
    doc.change_page_content(page, content.encode().unwrap())
        .unwrap();
    doc.save(out.join(TK_PDF)).unwrap();
    rehash(&out, TK_PDF);
    let p = only_problem(&out, "pdf-text-layer", TK_PDF);
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .starts_with("no text layer on page(s) 2 "),
        "{p}"
    );
}

#[test]
fn a_pdf_without_its_pdfa_identification_is_found() {
    let out = copy("validate-pdf-pdfa");
    let mut doc = lopdf::Document::load(out.join(EN_PDF)).unwrap();
    let id = doc.catalog().unwrap().get(b"Metadata").unwrap();
    let id = id.as_reference().unwrap();
    let stream = doc.get_object_mut(id).unwrap().as_stream_mut().unwrap();
    let xmp = String::from_utf8(stream.content.clone()).unwrap();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"));
    stream.set_content(xmp.replace("<pdfaid:part>2</pdfaid:part>", "").into_bytes());
    doc.save(out.join(EN_PDF)).unwrap();
    rehash(&out, EN_PDF);
    let p = only_problem(&out, "pdf-pdfa", EN_PDF);
    assert!(
        p["message"].as_str().unwrap().contains("pdfaid:part"),
        "{p}"
    );
}

#[test]
fn a_file_that_is_no_pdf_is_one_open_error() {
    let out = copy("validate-pdf-open");
    std::fs::write(out.join(EN_PDF), b"%PDF-1.7\nnot really\n").unwrap();
    rehash(&out, EN_PDF);
    only_problem(&out, "pdf-open", EN_PDF);
}

/// lopdf would rebuild a wrong cross-reference table and read on; a PDF kitap wrote needs no
/// repair, so one that does is an open error.
#[test]
fn a_pdf_whose_cross_references_are_off_is_an_open_error() {
    let out = copy("validate-pdf-xref");
    let mut bytes = std::fs::read(out.join(EN_PDF)).unwrap();
    // Entries are 20 bytes; the one after object 0's (`0000000000 65535 f\r\n`) is object
    // 1's offset: point it one byte further.
    let free = bytes.windows(7).position(|w| w == b"65535 f").unwrap();
    let entry = free + 9;
    let digits = &mut bytes[entry..entry + 10];
    let offset: u64 = std::str::from_utf8(digits).unwrap().parse().unwrap();
    digits.copy_from_slice(format!("{:010}", offset + 1).as_bytes());
    std::fs::write(out.join(EN_PDF), bytes).unwrap();
    rehash(&out, EN_PDF);
    only_problem(&out, "pdf-open", EN_PDF);
}

#[test]
fn an_epub_whose_title_was_edited_is_found() {
    let out = copy("validate-epub-title");
    retitle_epub(&out, TK_EPUB, Some("Obadaky kitaphana"), "Başga kitap");
    let p = only_problem(&out, "epub-title", TK_EPUB);
    assert_eq!(
        p["message"],
        "dc:title \"Başga kitap\", the manifest's title is \"Obadaky kitaphana\""
    );
}

#[test]
fn an_epub_with_a_compressed_mimetype_is_found() {
    let out = copy("validate-epub-mimetype");
    rewrite_epub(
        &out.join(TK_EPUB),
        zip::CompressionMethod::Deflated,
        |_, b| Some(b),
    );
    rehash(&out, TK_EPUB);
    let p = only_problem(&out, "epub-mimetype", TK_EPUB);
    assert_eq!(p["message"], "mimetype is compressed (it must be stored)");
}

#[test]
fn an_epub_without_its_nav_document_is_found() {
    let out = copy("validate-epub-nav");
    rewrite_epub(
        &out.join(TK_EPUB),
        zip::CompressionMethod::Stored,
        |name, b| (name != "OEBPS/nav.xhtml").then_some(b),
    );
    rehash(&out, TK_EPUB);
    let p = only_problem(&out, "epub-nav", TK_EPUB);
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("nav.xhtml is not in the zip"),
        "{p}"
    );
}

#[test]
fn an_epub_of_another_book_is_an_identifier_error() {
    let out = copy("validate-epub-id");
    // The Turkmen book's EPUB in the English book's place, titled as the English book.
    let en_epub = "en-reading-room/en-reading-room.epub";
    std::fs::copy(out.join(TK_EPUB), out.join(en_epub)).unwrap();
    retitle_epub(&out, en_epub, None, "The Reading Room");
    let p = only_problem(&out, "epub-identifier", en_epub);
    assert!(
        p["message"].as_str().unwrap().contains("en-reading-room"),
        "{p}"
    );
}

#[test]
fn a_text_with_a_page_chunk_missing_is_found() {
    let out = copy("validate-txt-pages");
    let text = std::fs::read_to_string(out.join(TK_TXT)).unwrap();
    let (first, _) = text
        .split_once('\x0c')
        .expect("two pages, a form feed between");
    std::fs::write(out.join(TK_TXT), first).unwrap();
    rehash(&out, TK_TXT);
    let p = only_problem(&out, "txt-pages", TK_TXT);
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .starts_with("1 page chunk(s)"),
        "{p}"
    );
}

#[test]
fn a_schema_violation_names_its_json_pointer() {
    let out = copy("validate-schema");
    edit_manifest(&out, |m| {
        m["books"][1]["pages"][0]["confidence"] = (-3.0).into()
    });
    let (exit, problems) = problems(&out, &[]);
    assert_eq!(exit, 1);
    let p = problems
        .iter()
        .find(|p| p["code"] == "schema")
        .unwrap_or_else(|| panic!("{problems:#?}"));
    assert_eq!(p["path"], "manifest.json: /books/1/pages/0/confidence");
    assert_eq!(p["book"], "tk-obadaky-kitaphana");
    validate(&out, &[])
        .code(1)
        .stdout_contains("manifest.json: /books/1/pages/0/confidence: must be >=0");
}

#[test]
fn a_manifest_of_a_newer_kitap_is_exit_2() {
    let out = copy("validate-newer");
    edit_manifest(&out, |m| m["schema_version"] = "9.0".into());
    validate(&out, &[]).code(2).stderr_contains(&format!(
        "manifest.json: written by a newer kitap (schema 9.0; this kitap reads up to {}) — update kitap",
        kitap::manifest::SCHEMA_VERSION
    ));
    let run = validate(&out, &["--json"]);
    run.code(2);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["problems"][0]["code"], "schema-version");
}

#[test]
fn a_manifest_of_schema_1_0_is_still_valid() {
    let out = copy("validate-1-0");
    // What kitap 1.0 wrote: no generations, fingerprints or inputs yet, and none of 1.2's
    // review fields and thumbnails.
    edit_manifest(&out, |m| {
        m["schema_version"] = "1.0".into();
        m["pipeline"]
            .as_object_mut()
            .unwrap()
            .remove("review_below_confidence");
        for b in m["books"].as_array_mut().unwrap() {
            let b = b.as_object_mut().unwrap();
            b["metadata"].as_object_mut().unwrap().remove("year_sort");
            for key in [
                "converted_at",
                "kitap_version",
                "fingerprint",
                "inputs",
                "kept",
                "needs_review",
                "approved",
            ] {
                b.remove(key);
            }
            for p in b["pages"].as_array_mut().unwrap() {
                let p = p.as_object_mut().unwrap();
                for key in ["label", "thumbnail", "needs_review"] {
                    p.remove(key);
                }
            }
            b["files"]
                .as_array_mut()
                .unwrap()
                .retain(|f| f["media_type"] != "image/jpeg");
        }
    });
    for id in ["en-reading-room", "tk-obadaky-kitaphana"] {
        std::fs::remove_dir_all(out.join(id).join(format!("{id}.thumbs"))).unwrap();
    }
    validate(&out, &[])
        .success()
        .stdout_contains("2 book(s), 0 error(s), 0 warning(s)");
    // Those fields are what 1.1 requires: the same manifest as 1.1 is not valid.
    edit_manifest(&out, |m| m["schema_version"] = "1.1".into());
    validate(&out, &[])
        .code(1)
        .stdout_contains("missing properties 'converted_at'");
}

#[test]
fn the_order_of_problems_does_not_depend_on_the_jobs() {
    let out = copy("validate-jobs");
    std::fs::remove_file(out.join(TK_EPUB)).unwrap();
    std::fs::write(out.join(TK_TXT), b"short").unwrap();
    std::fs::write(out.join(EN_PDF), b"short").unwrap();
    edit_manifest(&out, |m| {
        m["books"][0]["metadata"]["year"] = 1200.into();
        m["books"][0]["metadata"]["year_sort"] = 1200.into();
    });
    let one = validate(&out, &["--jobs", "1"]);
    one.code(1);
    let lines: Vec<&str> = one.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", one.stdout);
    assert!(lines[0].contains("en-reading-room.pdf"), "{}", one.stdout);
    assert!(
        lines[1].contains("books[0] (en-reading-room): year 1200"),
        "{}",
        one.stdout
    );
    assert!(
        lines[2].contains("tk-obadaky-kitaphana.epub"),
        "{}",
        one.stdout
    );
    assert!(
        lines[3].contains("tk-obadaky-kitaphana.txt"),
        "{}",
        one.stdout
    );
    for jobs in ["2", "4"] {
        assert_eq!(validate(&out, &["--jobs", jobs]).stdout, one.stdout);
    }
    validate(&out, &["--jobs", "0"]).code(2);
}

#[test]
fn a_manifest_of_schema_1_2_is_valid_unless_it_uses_1_3s_metadata() {
    let out = copy("validate-1-2");
    edit_manifest(&out, |m| {
        m["schema_version"] = "1.2".into();
        strip_year_sort(m);
    });
    validate(&out, &[]).success();
    // koha_biblionumber came with 1.3: a 1.2 manifest cannot carry it.
    edit_manifest(&out, |m| {
        m["books"][0]["metadata"]["koha_biblionumber"] = 7.into()
    });
    validate(&out, &[])
        .code(1)
        .stdout_contains("koha_biblionumber");
}

#[test]
fn a_manifest_of_schema_1_3_is_valid_unless_it_uses_1_4s_fields() {
    let out = copy("validate-1-3");
    edit_manifest(&out, |m| {
        m["schema_version"] = "1.3".into();
        strip_year_sort(m);
    });
    validate(&out, &[]).success();
    // languages_detected came with 1.4: a 1.3 manifest cannot carry it.
    edit_manifest(&out, |m| {
        m["books"][0]["languages_detected"] = serde_json::json!({
            "script": "Cyrillic", "script_by": "osd", "language": "kk", "pages": [2],
            "letters": 900, "evidence": {"қ": 30}, "sure": true
        })
    });
    validate(&out, &[])
        .code(1)
        .stdout_contains("languages_detected");
    // and a 1.4 manifest can.
    edit_manifest(&out, |m| m["schema_version"] = "1.4".into());
    validate(&out, &[]).success();
}

#[test]
fn a_manifest_of_schema_1_4_is_valid_unless_it_uses_1_5s_fields() {
    let out = copy("validate-1-4");
    edit_manifest(&out, |m| {
        m["schema_version"] = "1.4".into();
        strip_year_sort(m);
    });
    validate(&out, &[]).success();
    // Uncertain years and series came with 1.5: a 1.4 manifest cannot carry them.
    edit_manifest(&out, |m| {
        let meta = &mut m["books"][0]["metadata"];
        meta["year"] = "193-?".into();
        meta["year_sort"] = 1930.into();
        meta["series"] = "Мектеп кітапханасы".into();
    });
    let run = validate(&out, &[]);
    run.code(1)
        .stdout_contains("year_sort")
        .stdout_contains("series");
    // and a 1.5 manifest can.
    edit_manifest(&out, |m| m["schema_version"] = "1.5".into());
    validate(&out, &[]).success();
    // A year_sort that does not follow from the year is named.
    edit_manifest(&out, |m| {
        m["books"][0]["metadata"]["year_sort"] = 1935.into()
    });
    validate(&out, &[])
        .code(1)
        .stdout_contains("year_sort 1935 does not follow from year 193-?");
    // A year no form reads (a hand edit, a kitap that read more forms) keeps OUT readable:
    // validate names it instead of refusing the manifest.
    edit_manifest(&out, |m| {
        m["books"][0]["metadata"]["year"] = "19?9".into();
        m["books"][0]["metadata"]["year_sort"] = 0.into();
    });
    validate(&out, &[])
        .code(1)
        .stdout_contains("year \"19?9\" is not a year as kitap reads them");
}

/// Manifests before 1.5 carry no `year_sort`.
fn strip_year_sort(m: &mut serde_json::Value) {
    for b in m["books"].as_array_mut().unwrap() {
        b["metadata"].as_object_mut().unwrap().remove("year_sort");
    }
}
