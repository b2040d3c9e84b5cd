//! `--outputs` (issue 16): the files chosen per book, all from one OCR pass — ALTO 4 valid
//! against the ALTO 4.4 schema, a web PDF with the archival PDF's text layer over compact
//! images, and a run that asks for other outputs rebuilds its books.

mod common;

use std::path::{Path, PathBuf};

use common::{
    Kitap, book, check_pdf, copy_samples, kitap_validate_clean, pdf_pages, pdftotext, shared, tool,
    tool_ok,
};

const ALL: &str = "pdf,epub,txt,hocr,alto,web-pdf";

/// The ALTO 4.4 schema kept for offline use beside the shared corpus.
fn alto_schema() -> PathBuf {
    shared()
        .expect("the shared corpus with schemas/")
        .join("schemas/alto-4-4.xsd")
}

/// `xmllint --noout --nonet --schema alto-4-4.xsd FILE…` passes every file.
fn xmllint_alto(files: &[PathBuf]) {
    let schema = alto_schema();
    let mut args = vec!["--noout", "--nonet", "--schema", schema.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let o = tool("xmllint", &args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "xmllint:\n{err}");
    assert_eq!(err.matches(" validates").count(), files.len(), "{err}");
}

/// The words of an ALTO page, in order.
fn alto_words(file: &Path) -> Vec<String> {
    let xml = std::fs::read_to_string(file).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("String"))
        .map(|n| n.attribute("CONTENT").unwrap().to_string())
        .collect()
}

/// A Kazakh book of the repository and a shared English page with a photograph, all six
/// outputs in one run.
#[test]
fn every_output_in_one_pass() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["kk-dala-kitaphanasy"]);
    let photo = scans.join("photo");
    std::fs::create_dir_all(&photo).unwrap();
    for (from, to) in [("0002.png", "0001.png"), ("0003.png", "0002.png")] {
        std::fs::copy(
            shared.join("sample-scans/eng-skew-known").join(from),
            photo.join(to),
        )
        .unwrap();
    }
    std::fs::write(photo.join("book.toml"), "languages = [\"eng\"]\n").unwrap();
    let out = dir.path().join("out");
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--outputs", ALL, "-q"])
        .run();
    run.success();
    let m = run.manifest();
    for id in ["kk-dala-kitaphanasy", "photo"] {
        let b = book(&m, id);
        let listed: Vec<&str> = b.files.iter().map(|f| f.path.as_str()).collect();
        for ext in ["pdf", "epub", "txt", "hocr", "web.pdf"] {
            let want = format!("{id}/{id}.{ext}");
            assert!(listed.contains(&want.as_str()), "{want}: {listed:?}");
        }
        // ALTO: a file per page, schema-valid, with the words the page was read with.
        let alto: Vec<PathBuf> = (1..=b.page_count)
            .map(|i| out.join(id).join(format!("{id}.alto/{i:04}.xml")))
            .collect();
        for (f, p) in alto.iter().zip(&b.pages) {
            let rel = f.strip_prefix(&out).unwrap().to_str().unwrap().to_string();
            let rec = b.files.iter().find(|x| x.path == rel).unwrap();
            assert_eq!(rec.media_type, "application/alto+xml");
            assert_eq!(alto_words(f).len(), p.words, "{rel}");
        }
        xmllint_alto(&alto);
        // The web PDF: the archival PDF's pages and text layer, smaller.
        let (pdf, web) = (run.file(id, "pdf"), run.file(id, "web.pdf"));
        check_pdf(&web);
        assert_eq!(pdf_pages(&web), pdf_pages(&pdf));
        assert_eq!(
            pdftotext(&web),
            pdftotext(&pdf),
            "{id}: one OCR, one text layer"
        );
        let size = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert!(
            size(&web) < size(&pdf),
            "{id}: {} vs {}",
            size(&web),
            size(&pdf)
        );
    }
    // The page with a photograph is JPEG, the page of text on white G4; the rendered Kazakh
    // pages, shaded like a scan, JPEG; all at 150 dpi.
    let images = |id: &str| {
        let list = tool_ok(
            "pdfimages",
            &["-list", run.file(id, "web.pdf").to_str().unwrap()],
        );
        list.lines()
            .skip(2)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[8].to_string(), f[12].to_string())
            })
            .collect::<Vec<_>>()
    };
    let jpeg = || ("jpeg".to_string(), "150".to_string());
    let g4 = || ("ccitt".to_string(), "150".to_string());
    assert_eq!(images("photo"), [jpeg(), g4()]);
    assert_eq!(images("kk-dala-kitaphanasy"), [jpeg(), jpeg(), jpeg()]);
    kitap_validate_clean(&out);
    // Readers are sent to the web PDF; the archive keeps the master.
    let marc = tool_ok(
        env!("CARGO_BIN_EXE_kitap"),
        &[
            "export",
            "marc",
            out.to_str().unwrap(),
            "--base-url",
            "https://elib.example.kz/books/",
        ],
    );
    let _ = marc;
    let xml = std::fs::read_to_string(out.join("export/marc.xml")).unwrap();
    assert!(xml.contains("photo/photo.web.pdf</subfield>"), "{xml}");
    assert!(!xml.contains("photo/photo.pdf</subfield>"), "{xml}");
}

/// Only the chosen files are written and listed; asking for others rebuilds the book; the
/// same choice again leaves it as it is.
#[test]
fn chosen_outputs_only_and_a_new_choice_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["en-reading-room"]);
    let out = dir.path().join("out");
    let id = "en-reading-room";
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--outputs", "txt,alto", "-q"])
        .run();
    run.success();
    let listed = |run: &common::Run| -> Vec<String> {
        let m = run.manifest();
        book(&m, id).files.iter().map(|f| f.path.clone()).collect()
    };
    assert_eq!(
        listed(&run),
        [
            format!("{id}/{id}.txt"),
            format!("{id}/{id}.alto/0001.xml"),
            format!("{id}/{id}.thumbs/0001.jpg"),
        ]
    );
    assert!(!run.file(id, "pdf").exists() && !run.file(id, "epub").exists());
    // The printed page labels without an EPUB.
    assert!(
        run.manifest().books[0]
            .pages
            .iter()
            .all(|p| p.label.is_some()),
        "labels without the EPUB"
    );
    kitap_validate_clean(&out);
    // The same choice: unchanged. Another: rebuilt, the ALTO gone with its generation.
    let again = Kitap::convert(&scans)
        .out(&out)
        .args(["--outputs", "alto,txt"])
        .run();
    again.success().stderr_contains("1 unchanged");
    let other = Kitap::convert(&scans)
        .out(&out)
        .args(["--outputs", "pdf,web-pdf"])
        .run();
    other.success().stderr_contains("1 ok");
    assert_eq!(
        listed(&other),
        [
            format!("{id}/{id}.pdf"),
            format!("{id}/{id}.web.pdf"),
            format!("{id}/{id}.thumbs/0001.jpg"),
        ]
    );
    assert!(!out.join(id).join(format!("{id}.alto")).exists());
    kitap_validate_clean(&out);
    // A name kitap does not know is a usage error naming the ones it does.
    Kitap::convert(&scans)
        .out(&out)
        .args(["--outputs", "pdf,docx"])
        .run()
        .code(2)
        .stderr_contains("[possible values: pdf, epub, txt, hocr, alto, web-pdf]");
    // A pipeline that asks for nothing is refused.
    let empty = dir.path().join("none.toml");
    std::fs::write(&empty, "outputs = []\n").unwrap();
    Kitap::convert(&scans)
        .out(&out)
        .args(["--pipeline", empty.to_str().unwrap()])
        .run()
        .code(2)
        .stderr_contains("outputs must name at least one of pdf, epub, txt, hocr, alto, web-pdf");
}

/// The fingerprint hashes what a pipeline does, not what it is called: `-p hocr` and
/// `--outputs pdf,epub,txt,hocr` are one pipeline, and a renamed copy of a pipeline file with
/// another description rebuilds nothing.
#[test]
fn the_same_settings_under_another_name_rebuild_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["en-reading-room"]);
    let out = dir.path().join("out");
    let convert = |args: &[&str]| Kitap::convert(&scans).out(&out).args(args).run();
    convert(&["-p", "hocr", "-q"]).success();
    convert(&["--outputs", "hocr,txt,epub,pdf"])
        .success()
        .stderr_contains("1 unchanged");
    let copy = dir.path().join("our-hocr.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/hocr.toml"),
    )
    .unwrap();
    std::fs::write(
        &copy,
        format!("{text}\nname = \"our-hocr\"\ndescription = \"the library's own\"\n").replacen(
            "description =",
            "# description =",
            1,
        ),
    )
    .unwrap();
    convert(&["-p", copy.to_str().unwrap()])
        .success()
        .stderr_contains("1 unchanged");
    // Asking for less is another pipeline.
    convert(&["--outputs", "pdf,epub,txt"])
        .success()
        .stderr_contains("1 ok");
}
