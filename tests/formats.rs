//! The formats scanning rooms produce, and no page lost silently (issue 16): JPEG 2000, BMP,
//! WebP, PNM and TIFF variants read; an image kitap cannot read, or a PDF among the pages, is
//! a failed page named on stderr, never a note in the manifest alone.
//!
//! Every page is made at test time by Pillow (Debian's python3-pil, with OpenJPEG and libwebp)
//! from the repository's own rendered sample page, so the text on each is known.

mod common;

use std::path::Path;
use std::process::Command;

use kitap::manifest::PageStatus;

use common::{Kitap, Run, check_pdf, encoding, page, pdftotext, repo_samples, txt_pages};

/// Writes the sample page in each `(file name, Pillow save code)` into `dir`; the code sees
/// the page as `g` (8-bit grey, 300 dpi) and the file name as `name`.
fn make_pages(dir: &Path, pages: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    let source = repo_samples().join("en-reading-room/0001.png");
    let mut script = format!(
        "from PIL import Image\ng = Image.open({:?}).convert('L')\ndpi = (300, 300)\n",
        source.to_str().unwrap()
    );
    for (name, code) in pages {
        let path = dir.join(name);
        script.push_str(&format!("name = {:?}\n{code}\n", path.to_str().unwrap()));
    }
    let o = Command::new("/usr/bin/python3")
        .args(["-c", &script])
        .output()
        .expect("/usr/bin/python3 runs (python3-pil: scripts/install-deps.sh)");
    assert!(
        o.status.success(),
        "Pillow could not write the pages:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `kitap convert DIR/scans -o OUT --lang eng`.
fn convert_eng(dir: &Path, out: &Path) -> Run {
    Kitap::convert(&dir.join("scans"))
        .out(out)
        .args(["--lang", "eng"])
        .run()
}

/// The page's text as read: its first line is the sample's title.
fn reads_the_sample(text: &str) -> bool {
    text.contains("Reading Room") && text.contains("library")
}

/// The folder of the issue: `0001.png 0002.PNG 0003.jp2 0004.bmp` used to convert to a
/// 2-page book, `ok`, exit 0, with only the manifest mentioning the other two files.
#[test]
fn a_scanning_desk_folder_converts_every_page_and_names_the_one_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("scans/desk");
    make_pages(
        &book,
        &[
            ("0001.png", "g.save(name, dpi=dpi)"),
            ("0002.PNG", "g.save(name, format='PNG', dpi=dpi)"),
            // Lossy JPEG 2000 (the irreversible 9/7 wavelet), as access masters often are.
            (
                "0003.jp2",
                "g.save(name, irreversible=True, quality_mode='rates', quality_layers=[20])",
            ),
            ("0004.bmp", "g.save(name, dpi=dpi)"),
        ],
    );
    let out = dir.path().join("out");
    let run = convert_eng(dir.path(), &out);
    run.success();
    let m = run.manifest();
    let b = common::book(&m, "desk");
    assert_eq!(b.pages.len(), 4, "every page converted");
    assert_eq!(b.status.name(), "ok");
    let pages = txt_pages(&out, "desk");
    for (i, text) in pages.iter().take(4).enumerate() {
        assert!(reads_the_sample(text), "page {} reads: {text}", i + 1);
    }
    // The lossy JP2 goes into the PDF as JPEG (a lossless re-encoding would only be larger);
    // the BMP losslessly; its resolution comes from its header.
    assert_eq!(encoding(page(b, "desk/0003.jp2")), "jpeg");
    assert_eq!(encoding(page(b, "desk/0004.bmp")), "flate");
    assert_eq!(page(b, "desk/0004.bmp").dpi, Some(300.0));
    let pdf = run.file("desk", "pdf");
    check_pdf(&pdf);
    assert_eq!(pdftotext(&pdf).matches("Reading Room").count(), 4);

    // A PDF saved among the pages under another name: a failed page named on stderr, the
    // book partial, exit 1; the four pages are still there.
    std::fs::copy(&pdf, book.join("0005.xyz")).unwrap();
    let run = convert_eng(dir.path(), &out);
    run.code(1)
        .stderr_contains("0005.xyz: page 5: not an image: a PDF file");
    let m = run.manifest();
    let b = common::book(&m, "desk");
    assert_eq!(b.status.name(), "partial");
    assert_eq!(b.pages.len(), 5);
    assert_eq!(page(b, "desk/0005.xyz").status, PageStatus::Failed);
    assert_eq!(
        b.pages
            .iter()
            .filter(|p| p.status == PageStatus::Ok)
            .count(),
        4
    );
}

/// Every format and TIFF variant the issue names reads the sample's text, and goes into the
/// PDF as its source allows: lossless stays lossless, lossy becomes JPEG, 1-bit becomes G4.
#[test]
fn the_formats_of_scanning_rooms_read_and_keep_their_quality() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("scans/zoo");
    let cases: &[(&str, &str, &str)] = &[
        ("0001.webp", "g.save(name, lossless=True)", "flate"),
        ("0002.webp", "g.save(name, quality=80)", "jpeg"),
        ("0003.pgm", "g.save(name)", "flate"),
        (
            "0004.pbm",
            "g.point(lambda v: 255 if v > 128 else 0).convert('1').save(name)",
            "ccitt-g4",
        ),
        (
            "0005.tif",
            "g.convert('I').point(lambda v: v * 257).convert('I;16').save(name, dpi=dpi)",
            "flate",
        ),
        (
            "0006.tif",
            "g.save(name, compression='tiff_lzw', dpi=dpi)",
            "flate",
        ),
        (
            "0007.tif",
            "g.save(name, compression='tiff_adobe_deflate', dpi=dpi)",
            "flate",
        ),
        (
            "0008.tif",
            "g.save(name, compression='packbits', dpi=dpi)",
            "flate",
        ),
        // Lossless JPEG 2000 (the reversible 5/3 wavelet), as preservation masters are.
        ("0009.jp2", "g.save(name, irreversible=False)", "flate"),
        ("0010.ppm", "g.convert('RGB').save(name)", "flate"),
        // A bare JPEG 2000 codestream.
        ("0011.j2k", "g.save(name, irreversible=False)", "flate"),
    ];
    let made: Vec<(&str, &str)> = cases.iter().map(|(n, c, _)| (*n, *c)).collect();
    make_pages(&book, &made);
    let out = dir.path().join("out");
    let run = convert_eng(dir.path(), &out);
    run.success();
    let m = run.manifest();
    let b = common::book(&m, "zoo");
    assert_eq!(b.pages.len(), cases.len());
    let texts = txt_pages(&out, "zoo");
    for (i, (name, _, want)) in cases.iter().enumerate() {
        let p = page(b, &format!("zoo/{name}"));
        assert_eq!(p.status, PageStatus::Ok, "{name}");
        assert_eq!(encoding(p), *want, "{name}: image in the PDF");
        assert!(reads_the_sample(&texts[i]), "{name} reads: {}", texts[i]);
    }
    check_pdf(&run.file("zoo", "pdf"));
}

/// Images kitap does not read, and images under a name that hides them, are pages all the
/// same: GIF a failed page, a PNG named `.dat` converted with a warning; a gap in the page
/// numbers and two files for one page are warnings on stderr; notes stay notes.
#[test]
fn what_looks_like_a_page_is_a_page_and_numbering_slips_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("scans/slips");
    make_pages(
        &book,
        &[
            ("0001.tif", "g.save(name, dpi=dpi)"),
            ("0002.gif", "g.save(name)"),
            ("0003.dat", "g.save(name, format='PNG', dpi=dpi)"),
            ("0005.tif", "g.save(name, dpi=dpi)"),
            ("0005.TIF", "g.save(name, dpi=dpi)"),
        ],
    );
    std::fs::write(book.join("notes.txt"), "scanned by A. on Monday\n").unwrap();
    // A PDF kept beside the pages is a document; one numbered as a page is a page.
    std::fs::write(book.join("catalogue.pdf"), "%PDF-1.4\n% the donor's list\n").unwrap();
    std::fs::write(book.join("0006.pdf"), "%PDF-1.4\n% page 6, saved as PDF\n").unwrap();
    let out = dir.path().join("out");
    let run = convert_eng(dir.path(), &out);
    run.code(1)
        .stderr_contains("0002.gif: page 2: a GIF image, which kitap does not read")
        .stderr_contains("0003.dat: page 3: file is a PNG named .dat; read as PNG")
        .stderr_contains("0005.TIF after 0003.dat (number 4 missing)")
        .stderr_contains("0005.TIF and 0005.tif: two files for page number 5")
        .stderr_contains("0006.pdf: page 6: not an image: a PDF file");
    let m = run.manifest();
    let b = common::book(&m, "slips");
    let statuses: Vec<PageStatus> = b.pages.iter().map(|p| p.status).collect();
    use PageStatus::{Failed, Ok};
    assert_eq!(statuses, [Ok, Failed, Ok, Ok, Ok, Failed]);
    for note in ["notes.txt", "catalogue.pdf"] {
        assert!(
            b.warnings
                .iter()
                .any(|w| w.starts_with(&format!("{note}: not a page image"))),
            "{:?}",
            b.warnings
        );
        assert!(!run.stderr.contains(note), "{}", run.stderr);
    }
}
