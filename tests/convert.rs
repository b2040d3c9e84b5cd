//! End-to-end: the real binary on real scans, outputs checked with real tools.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

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

#[test]
fn shared_books_convert_as_well_as_tesseract_alone() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
    stage_shared_books(&shared, &scans, BOOKS);
    let before = hash_tree(&scans);

    let run = convert(&scans, &tmp.path().join("out"), &["--jobs", "2"]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(before, hash_tree(&scans), "inputs must never be modified");
    validate_manifest(&run.out);
    check_file_hashes(&run);
    no_temp_files(&run.out);

    // Every book of the corpus is here.
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
    reading::check_reading_epubs(&run, &scans);

    let m = run.manifest();
    let books = m["books"].as_array().unwrap();
    let ids: Vec<&str> = books.iter().map(|b| b["id"].as_str().unwrap()).collect();
    let mut sorted = BOOKS.to_vec();
    sorted.sort();
    assert_eq!(ids, sorted, "books in the order of their source");

    // Character error rate per book against gt/, compared with the tesseract CLI on the same
    // pages with the same models: at most 1 percentage point worse.
    let mut jobs = Vec::new();
    for b in books {
        let id = b["id"].as_str().unwrap();
        assert_eq!(b["status"], "ok", "{id}");
        let models = b["ocr_models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("+");
        let pages = txt_pages(&run.out, id);
        assert_eq!(
            pages.len(),
            b["pages"].as_array().unwrap().len(),
            "{id}: one text chunk per page"
        );
        for p in b["pages"].as_array().unwrap() {
            let src = scans.join(p["source"].as_str().unwrap());
            let gt = gt_path(&src);
            if gt.exists() && p["frame"] == 0 {
                let index = p["index"].as_u64().unwrap() as usize;
                jobs.push((
                    id.to_string(),
                    src,
                    models.clone(),
                    gt,
                    pages[index - 1].clone(),
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

    for b in books {
        let id = b["id"].as_str().unwrap();
        let pdf = run.out.join(id).join(format!("{id}.pdf"));
        check_pdf(&pdf);
        fonts_embedded_with_unicode(&pdf);
        assert_eq!(
            pdf_pages(&pdf),
            b["pages"].as_array().unwrap().len(),
            "{id}: PDF pages"
        );
        epubcheck(&run.out.join(id).join(format!("{id}.epub")));
        let pages = b["pages"].as_array().unwrap();
        for (i, mean) in rendered_brightness(&pdf).iter().enumerate() {
            if *mean > 150.0 {
                continue;
            }
            // A dark page must be a dark scan (the Komi newspaper's palette is all greys
            // below 125): the rendering is as bright as the source, not its negative.
            let source = pages[i]["source"].as_str().unwrap();
            let src = image::open(scans.join(source)).unwrap().to_luma8();
            let src_mean =
                src.as_raw().iter().map(|&v| v as f64).sum::<f64>() / src.as_raw().len() as f64;
            assert!(
                pages[i]["frame"] == 0 && (mean - src_mean).abs() < 10.0,
                "{id} page {}: renders dark (mean grey {mean:.0}, source {src_mean:.0}): inverted image?",
                i + 1
            );
        }

        // pdftotext finds the words kitap recognised, in any script.
        let extracted = pdftotext(&pdf);
        let words: Vec<String> = txt_pages(&run.out, id)
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
    let text = |id: &str| pdftotext(&run.out.join(id).join(format!("{id}.pdf")));
    let tuk = text("tuk-seed");
    for letter in ['ä', 'ç', 'ň', 'ö', 'ş', 'ü', 'ý'] {
        assert!(
            tuk.contains(letter),
            "Turkmen letter {letter} lost in the PDF text layer"
        );
    }
    let ukr = text("ukr-seed");
    for letter in ['і', 'ї', 'є'] {
        assert!(
            ukr.contains(letter),
            "Ukrainian letter {letter} lost in the PDF text layer"
        );
    }
    assert!(
        text("kpv-cyrl-vyl-tujod-1939-columns").contains('ӧ'),
        "Komi ӧ lost"
    );

    // Format zoo: every TIFF frame is a page; EXIF orientation honoured; odd resolutions.
    let zoo = books.iter().find(|b| b["id"] == "format-zoo").unwrap();
    let pages = zoo["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 12, "10 files, one of them a 3-frame TIFF");
    let frames: Vec<u64> = pages
        .iter()
        .filter(|p| p["source"].as_str().unwrap().ends_with("0006.tif"))
        .map(|p| p["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, [0, 1, 2]);
    let indexes: Vec<u64> = pages.iter().map(|p| p["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, (1..=12).collect::<Vec<_>>());
    let by_file = |f: &str| {
        pages
            .iter()
            .find(|p| p["source"].as_str().unwrap().ends_with(f))
            .unwrap()
    };
    let (plain, exif) = (by_file("0007.jpg"), by_file("0008.jpg"));
    assert_eq!(
        (exif["width"].clone(), exif["height"].clone()),
        (plain["width"].clone(), plain["height"].clone()),
        "EXIF-rotated page stands upright"
    );
    assert!(
        exif["confidence"].as_f64().unwrap() > 70.0,
        "EXIF-rotated page is read upright"
    );
    assert_eq!(exif["image_encoding"], "jpeg-passthrough");
    assert_eq!(
        by_file("0001.jpg")["image_encoding"],
        "jpeg",
        "a CMYK JPEG is converted to an RGB JPEG, not blown up losslessly"
    );
    let aspect = by_file("0005.tif");
    assert_eq!(aspect["dpi"].as_f64(), Some(254.0));
    assert!(
        aspect["warnings"][0]
            .as_str()
            .unwrap()
            .contains("508×254 dpi"),
        "{aspect}"
    );
    // Square at 254 dpi, the page keeps the physical size the file states.
    let (w, h) = image::image_dimensions(scans.join("format-zoo/0005.tif")).unwrap();
    assert_eq!(aspect["height"].as_u64(), Some(h as u64));
    let width_in = aspect["width"].as_f64().unwrap() / 254.0;
    assert!((width_in - w as f64 / 508.0).abs() < 0.01, "{width_in} in");
    for f in ["0009.tif", "0010.png"] {
        let p = by_file(f);
        assert_eq!(p["dpi_source"], "estimated", "{f}");
        assert!(
            !p["warnings"].as_array().unwrap().is_empty(),
            "{f}: the estimate is reported"
        );
    }
    for f in ["0004.png", "0010.png"] {
        assert_eq!(
            by_file(f)["image_encoding"],
            "ccitt-g4",
            "{f}: a 1-bit PNG is bitonal"
        );
    }
    // A colour palette PNG is not bitonal; it keeps its palette unless straightening
    // resampled it into more colours.
    let palette = by_file("0003.png");
    let expected = if palette["correction"] == "resampled" {
        "flate"
    } else {
        "flate-indexed"
    };
    assert_eq!(palette["image_encoding"], expected, "{palette}");
    outputs_match_manifest(&run);
    let g4 = books.iter().find(|b| b["id"] == "eng-bitonal-g4").unwrap();
    assert!(
        g4["pages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["image_encoding"] == "ccitt-g4")
    );
}

#[test]
fn broken_files_fail_alone_and_the_book_goes_on() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("scans/mixed");
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
    let run = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("out"),
        &["--jobs", "2"],
    );
    assert_eq!(run.code, 1, "some pages failed: exit 1\n{}", run.stderr);
    validate_manifest(&run.out);
    check_file_hashes(&run);
    no_temp_files(&run.out);

    let m = run.manifest();
    let b = &m["books"][0];
    assert_eq!(b["status"], "partial");
    let pages = b["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 10);
    let expect_failed = [
        ("huge-dimensions.png", "megapixels"),
        ("one-pixel.png", "too small"),
        ("pdf-renamed.tif", "PDF"),
        ("text-renamed.png", "text file"),
        ("truncated.jpg", "truncated JPEG"),
        ("truncated.tif", "truncated TIFF"),
        ("zero-bytes.tif", "empty file"),
    ];
    for (file, what) in expect_failed {
        let p = pages
            .iter()
            .find(|p| p["source"].as_str().unwrap().ends_with(file))
            .unwrap();
        assert_eq!(p["status"], "failed", "{file}");
        assert!(
            p["error"].as_str().unwrap().contains(what),
            "{file}: {}",
            p["error"]
        );
        let index = p["index"].as_u64().unwrap();
        let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains(file)).collect();
        assert_eq!(lines.len(), 1, "one line for {file}:\n{}", run.stderr);
        assert!(
            lines[0].contains(&format!("{file}: page {index}: ")),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains(what), "{}", lines[0]);
    }
    let jpeg_named = pages
        .iter()
        .find(|p| p["source"].as_str().unwrap().ends_with("jpeg-named.tif"))
        .unwrap();
    assert_eq!(jpeg_named["status"], "ok");
    assert!(
        jpeg_named["warnings"][0]
            .as_str()
            .unwrap()
            .contains("JPEG named .tif")
    );
    assert!(
        run.stderr.contains("jpeg-named.tif: page"),
        "the warning is shown"
    );

    // Failed pages keep their place: placeholders in the PDF, empty chunks in the text.
    let pdf = run.out.join("mixed/mixed.pdf");
    check_pdf(&pdf);
    assert_eq!(pdf_pages(&pdf), 10);
    assert_eq!(txt_pages(&run.out, "mixed").len(), 10);
    let truncated = pages
        .iter()
        .find(|p| p["source"].as_str().unwrap().ends_with("truncated.jpg"))
        .unwrap();
    let i = truncated["index"].as_u64().unwrap().to_string();
    let placeholder = tool_ok(
        "pdftotext",
        &["-f", &i, "-l", &i, pdf.to_str().unwrap(), "-"],
    );
    assert!(
        placeholder.contains("truncated.jpg") && placeholder.contains("could not be converted"),
        "{placeholder}"
    );
    let images = tool_ok(
        "pdfimages",
        &["-list", "-f", &i, "-l", &i, pdf.to_str().unwrap()],
    );
    assert_eq!(
        images.lines().count(),
        2,
        "no image on the placeholder page:\n{images}"
    );
    epubcheck(&run.out.join("mixed/mixed.epub"));
}

#[test]
fn a_book_without_any_good_page_fails_without_files() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let scans = tmp.path().join("scans");
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
    // A failed book leaves no files, not even those of an earlier successful run.
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("broken")).unwrap();
    std::fs::write(out.join("broken/broken.pdf"), b"from an earlier run").unwrap();
    let run = convert(&scans, &out, &["--quiet"]);
    assert_eq!(run.code, 1);
    validate_manifest(&run.out);
    outputs_match_manifest(&run);
    let m = run.manifest();
    assert_eq!(m["books"][0]["status"], "failed");
    assert_eq!(m["books"][0]["files"].as_array().unwrap().len(), 0);
    assert!(!run.out.join("broken/broken.pdf").exists());
    no_temp_files(&run.out);
}

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

#[test]
fn every_word_box_in_the_pdf_lies_on_the_ocr_box() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("scans/b");
    std::fs::create_dir_all(&book).unwrap();
    // A straight page (no preparation touches it), so the CLI reads the same raster.
    let page = shared.join("sample-scans/eng-clean/0004.tif");
    std::fs::copy(&page, book.join("0001.tif")).unwrap();
    let run = convert(
        &tmp.path().join("scans"),
        &tmp.path().join("out"),
        &["--quiet", "--pipeline", "hocr"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m = run.manifest();
    assert_eq!(m["books"][0]["pages"][0]["correction"], "none");
    let dpi = m["books"][0]["pages"][0]["dpi"].as_f64().unwrap();
    let pdf = pdf_word_boxes(&run.out.join("b/b.pdf"));
    let own = hocr_word_boxes(&std::fs::read_to_string(run.out.join("b/b.hocr")).unwrap());
    let d_own = max_box_distance(&pdf, &own, 72.0 / dpi);
    let cli = std::process::Command::new("tesseract")
        .arg(&page)
        .args(["-", "-l", "eng", "hocr"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .unwrap();
    let cli = hocr_word_boxes(&String::from_utf8_lossy(&cli.stdout));
    let d_cli = max_box_distance(&pdf, &cli, 72.0 / dpi);
    eprintln!(
        "{} words: largest box distance {d_own:.3} pt from kitap's hOCR, {d_cli:.3} pt from the CLI's",
        pdf.len()
    );
    assert!(pdf.len() > 40);
    assert!(d_own <= 1.5 && d_cli <= 1.5, "{d_own} / {d_cli} pt");

    // The check must see a word moved by 3 pt: shift the first word's text matrix.
    let mut doc = lopdf::Document::load(run.out.join("b/b.pdf")).unwrap();
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
    let d_moved = max_box_distance(&pdf_word_boxes(&moved), &own, 72.0 / dpi);
    assert!(
        d_moved > 1.5,
        "a word moved by 3 pt went unnoticed ({d_moved:.3} pt)"
    );
}

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

#[test]
fn archive_is_lossless_and_compact_is_smaller_and_reads_as_well() {
    let Some(shared) = shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("scans/b");
    std::fs::create_dir_all(&book).unwrap();
    // (source, archive encoding, compact encoding)
    let pages = [
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
    let sources: Vec<PathBuf> = pages
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
    let scans = tmp.path().join("scans");
    let archive = convert(
        &scans,
        &tmp.path().join("archive"),
        &["--quiet", "--pipeline", "archive"],
    );
    let compact = convert(
        &scans,
        &tmp.path().join("compact"),
        &["--quiet", "--pipeline", "compact"],
    );
    assert_eq!(
        (archive.code, compact.code),
        (0, 0),
        "{}{}",
        archive.stderr,
        compact.stderr
    );
    validate_manifest(&archive.out);
    validate_manifest(&compact.out);
    let enc = |run: &Run| -> Vec<String> {
        run.manifest()["books"][0]["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["image_encoding"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        enc(&archive),
        pages.iter().map(|p| p.1).collect::<Vec<_>>(),
        "archive encodings"
    );
    assert_eq!(
        enc(&compact),
        pages.iter().map(|p| p.2).collect::<Vec<_>>(),
        "compact encodings"
    );
    let (apdf, cpdf) = (archive.out.join("b/b.pdf"), compact.out.join("b/b.pdf"));
    let (a, c) = (
        std::fs::metadata(&apdf).unwrap().len(),
        std::fs::metadata(&cpdf).unwrap().len(),
    );
    eprintln!("archive {a} bytes, compact {c} bytes");
    assert!(
        c * 10 < a * 5,
        "compact {c} is not clearly smaller than archive {a}"
    );
    check_pdf(&apdf);
    check_pdf(&cpdf);

    // Archive: the lossless pages hold exactly the source's pixels, and the passed-through
    // JPEG is the source file byte for byte.
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for (i, (from, encoding, _)) in pages.iter().enumerate() {
        if matches!(*encoding, "ccitt-g4" | "flate" | "flate-indexed") {
            let stored = pdf_image_grey(&apdf, i + 1, &images);
            let source = image::open(&sources[i]).unwrap().to_luma8();
            assert!(
                stored == source,
                "{from}: archive pixels differ from the source"
            );
        }
    }
    let jpegs = tmp.path().join("jpegs");
    std::fs::create_dir_all(&jpegs).unwrap();
    tool_ok(
        "pdfimages",
        &[
            "-j",
            "-f",
            "5",
            "-l",
            "5",
            apdf.to_str().unwrap(),
            jpegs.join("p").to_str().unwrap(),
        ],
    );
    assert!(
        std::fs::read(jpegs.join("p-000.jpg")).unwrap() == std::fs::read(&sources[4]).unwrap(),
        "passed-through JPEG is the source file"
    );

    // Rendered back at 300 dpi and read again, compact pages read as well as archive ones:
    // CER over the pages with ground truth within 0.5 points.
    let render = tmp.path().join("render");
    std::fs::create_dir_all(&render).unwrap();
    let jobs: Vec<(usize, &str, &Path)> = pages
        .iter()
        .enumerate()
        .filter(|(_, (from, ..))| gt_of(&shared, from).is_file())
        .flat_map(|(i, _)| {
            [
                (i, "archive", apdf.as_path()),
                (i, "compact", cpdf.as_path()),
            ]
        })
        .collect();
    let read = par_map(&jobs, |&(i, name, pdf)| {
        let page = (i + 1).to_string();
        let prefix = render.join(format!("{name}-{page}"));
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
            &std::fs::read_to_string(gt_of(&shared, pages[i].0)).unwrap(),
        )
    });
    let mut total = BTreeMap::new();
    for (&(i, name, _), &(d, len)) in jobs.iter().zip(&read) {
        eprintln!(
            "{}: re-read CER {name} {:.2} %",
            pages[i].0,
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
