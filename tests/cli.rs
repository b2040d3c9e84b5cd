//! The command line contract: exit codes, messages, book.toml handling, the bundled samples.

mod common;

use common::*;

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A small book folder made from one of the repository's own sample pages.
fn sample_book(dir: &std::path::Path) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-scans/en-reading-room/0001.png");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(src, dir.join("0001.png")).unwrap();
}

#[test]
fn usage_errors_exit_2_before_any_page() {
    let tmp = tempfile::tempdir().unwrap();
    sample_book(&tmp.path().join("scans/b"));
    let scans = tmp.path().join("scans");
    let out = tmp.path().join("out");

    let run = convert(&scans, &out, &["--lang", "xx"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--lang: unknown language code 'xx'") && run.stderr.contains("kaz"),
        "{}",
        run.stderr
    );

    // A model that Debian packages but the test set-up does not install.
    let run = convert(&scans, &out, &["--lang", "heb"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("heb")
            && run.stderr.contains("installed: ")
            && run.stderr.contains("eng"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("apt-get install tesseract-ocr-heb"),
        "{}",
        run.stderr
    );

    let run = convert(&tmp.path().join("missing"), &out, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("missing") && run.stderr.contains("cannot read"),
        "{}",
        run.stderr
    );

    let run = convert(&scans, &out, &["--pipeline", "nosuch"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no pipeline named 'nosuch'"),
        "{}",
        run.stderr
    );

    let o = kitap().args(["convert", "--bogus"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));

    // Two folders with the same name would write to the same output files.
    sample_book(&tmp.path().join("scans/x/b"));
    let run = convert(&scans, &out, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("two books have the id 'b'"),
        "{}",
        run.stderr
    );
    assert!(
        !out.join("manifest.json").exists(),
        "nothing converted on a usage error"
    );
}

#[test]
fn a_bad_book_toml_fails_that_book_only() {
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    sample_book(&scans.join("good"));
    sample_book(&scans.join("typo"));
    write(
        &scans.join("typo/book.toml"),
        "title = \"T\"\nauthor = [\"A\"]\n",
    );
    sample_book(&scans.join("nolang"));
    write(&scans.join("nolang/book.toml"), "languages = [\"heb\"]\n");
    let run = convert(&scans, &tmp.path().join("out"), &["--quiet"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    validate_manifest(&run.out);
    let m = run.manifest();
    let book = |id: &str| {
        m["books"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(book("good")["status"], "ok");
    let typo = book("typo");
    assert_eq!(typo["status"], "failed");
    let err = typo["error"].as_str().unwrap();
    assert!(
        err.contains("typo/book.toml") && err.contains("author"),
        "{err}"
    );
    let nolang = book("nolang");
    assert_eq!(nolang["status"], "failed");
    assert!(
        nolang["error"].as_str().unwrap().contains("installed:"),
        "{}",
        nolang["error"]
    );
    assert!(run.stderr.contains("typo/book.toml"), "{}", run.stderr);
    assert!(run.out.join("good/good.pdf").exists());
    assert!(!run.out.join("typo").exists());
}

#[test]
fn bundled_samples_convert_in_every_language() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans");
    let run = convert(&samples, &tmp.path().join("out"), &["--pipeline", "hocr"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("kitap: 4 book(s): 4 ok"),
        "summary line:\n{}",
        run.stderr
    );
    validate_manifest(&run.out);
    check_file_hashes(&run);
    no_temp_files(&run.out);
    let m = run.manifest();
    for b in m["books"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        // Metadata comes from book.toml.
        assert!(b["metadata"]["title"].is_string(), "{id}");
        let files: Vec<&str> = b["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        for ext in ["pdf", "epub", "txt", "hocr"] {
            assert!(
                files.contains(&format!("{id}/{id}.{ext}").as_str()),
                "{id}: {files:?}"
            );
        }
        // The pages were rendered from known text: the OCR must read it closely.
        let pages = txt_pages(&run.out, id);
        for (i, text) in pages.iter().enumerate() {
            let gt = samples.join(id).join(format!("gt/{:04}.txt", i + 1));
            let (d, n) = distance(text, &std::fs::read_to_string(gt).unwrap());
            let cer = d as f64 / n as f64;
            assert!(cer < 0.03, "{id} page {}: CER {cer:.4}", i + 1);
        }
        let pdf = run.out.join(id).join(format!("{id}.pdf"));
        check_pdf(&pdf);
        let info = tool_ok("pdfinfo", &[pdf.to_str().unwrap()]);
        assert!(
            info.contains(b["metadata"]["title"].as_str().unwrap()),
            "PDF title of {id}:\n{info}"
        );
        epubcheck(&run.out.join(id).join(format!("{id}.epub")));
    }
    // Straight pages: the hOCR boxes are in the scan's own pixels, so hOCR may name it.
    let hocr =
        std::fs::read_to_string(run.out.join("en-reading-room/en-reading-room.hocr")).unwrap();
    assert!(
        hocr.contains("title=\"image &quot;en-reading-room/0001.png&quot;; bbox 0 0 "),
        "{}",
        &hocr[..hocr.len().min(1500)]
    );
    let pdf_text = |id: &str| pdftotext(&run.out.join(id).join(format!("{id}.pdf")));
    let kk = pdf_text("kk-dala-kitaphanasy");
    for letter in ['ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'і'] {
        assert!(kk.contains(letter), "Kazakh {letter} in the text layer");
    }
    let tk = pdf_text("tk-obadaky-kitaphana");
    for letter in ['ä', 'ç', 'ň', 'ö', 'ş', 'ü', 'ý', 'ž'] {
        assert!(tk.contains(letter), "Turkmen {letter} in the text layer");
    }
    // A second run into the same folder rebuilds everything and leaves nothing behind.
    outputs_match_manifest(&run);
    // A second run into the same folder, without hOCR, rebuilds everything and leaves nothing
    // of the first run behind.
    let again = convert(&samples, &run.out, &["--quiet"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stderr, "", "--quiet prints nothing when all is well");
    check_file_hashes(&again);
    outputs_match_manifest(&again);
    no_temp_files(&run.out);
}

#[test]
fn pipelines_are_listed() {
    let o = kitap().arg("pipelines").output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("default") && text.contains("hocr"), "{text}");
}

#[test]
fn page_labels_and_chapters_reach_the_pdf() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("scans/kk");
    std::fs::create_dir_all(&book).unwrap();
    let samples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans/kk-dala-kitaphanasy");
    for f in ["0001.png", "0002.png", "0003.png"] {
        std::fs::copy(samples.join(f), book.join(f)).unwrap();
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
    let run = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("out"),
        &["--quiet"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pdf = run.out.join("kk/kk.pdf");
    check_pdf(&pdf);
    let json = tool_ok(
        "qpdf",
        &[
            "--json",
            "--json-key=pagelabels",
            "--json-key=outlines",
            pdf.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels = v["pagelabels"].as_array().unwrap();
    assert_eq!(labels.len(), 2, "{json}");
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
        "{json}"
    );
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
    epubcheck(&run.out.join("kk/kk.epub"));
}

#[test]
fn the_same_scans_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let samples =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans/ru-bumaga-i-svet");
    let book = tmp.path().join("scans/ru");
    copy_dir(&samples, &book);
    let first = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("a"),
        &["--quiet", "--jobs", "2"],
    );
    let second = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("b"),
        &["--quiet", "--jobs", "1"],
    );
    assert_eq!((first.code, second.code), (0, 0));
    for ext in ["pdf", "epub", "txt"] {
        let a = std::fs::read(first.out.join(format!("ru/ru.{ext}"))).unwrap();
        let b = std::fs::read(second.out.join(format!("ru/ru.{ext}"))).unwrap();
        assert!(a == b, "{ext} differs between two runs of the same scans");
    }
    // SOURCE_DATE_EPOCH sets the dates (2001-09-09T01:46:40Z).
    let o = kitap()
        .args(["convert", "--quiet", "-o"])
        .arg(tmp.path().join("c"))
        .arg(tmp.path().join("scans"))
        .env("SOURCE_DATE_EPOCH", "1000000000")
        .output()
        .unwrap();
    assert!(o.status.success());
    let info = tool_ok(
        "pdfinfo",
        &[
            "-isodates",
            tmp.path().join("c/ru/ru.pdf").to_str().unwrap(),
        ],
    );
    assert!(info.contains("2001-09-09T01:46:40"), "{info}");
}
