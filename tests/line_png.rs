//! Tesseract's line images are stored, not deflated (src/line_png.rs): the dynamic linker
//! binds Leptonica's `png_set_compression_level` to kitap's, which looks libpng's
//! `png_set_filter` up to use it; and what kitap reads and writes is the same to the byte as
//! with libpng's defaults (`KITAP_TESSERACT_PNG=default`).

mod common;

use common::{Kitap, copy_samples, shared, stage_shared_books};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The dynamic loader's `bindings` log of a one-page conversion (kitap restarts itself once;
/// both images log into the file of their pid).
fn loader_log(dir: &Path, libpng_defaults: bool) -> String {
    let scans = copy_samples(&dir.join("scans"), &["en-reading-room"]);
    let log = dir.join("ld");
    let run = Kitap::convert(&scans)
        .out(&dir.join("out"))
        .arg("--quiet")
        .env("LD_DEBUG", "bindings")
        .env("LD_DEBUG_OUTPUT", log.to_str().unwrap());
    png_setting(run, libpng_defaults).run().success();
    let mut bindings = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("ld.") {
            bindings += &std::fs::read_to_string(e.path()).unwrap();
        }
    }
    bindings
}

/// The run with libpng's defaults (`KITAP_TESSERACT_PNG=default`) or kitap's stored line images.
fn png_setting(run: Kitap, libpng_defaults: bool) -> Kitap {
    if libpng_defaults {
        run.env("KITAP_TESSERACT_PNG", "default")
    } else {
        run.env_remove("KITAP_TESSERACT_PNG")
    }
}

/// `binding file FROM [0] to TO [0]: normal symbol `NAME' [VERSION]` lines: (from, to).
fn bindings_of<'l>(log: &'l str, symbol: &str) -> Vec<(&'l str, &'l str)> {
    let quoted = format!("`{symbol}'");
    log.lines()
        .filter(|l| l.contains(&quoted))
        .filter_map(|l| {
            let rest = l.split("binding file ").nth(1)?;
            let (from, rest) = rest.split_once(" [")?;
            let to = rest.split(" to ").nth(1)?.split(" [").next()?;
            Some((from, to))
        })
        .collect()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[test]
fn leptonica_calls_kitaps_png_compression_level_which_calls_libpngs() {
    let dir = tempfile::tempdir().unwrap();
    let log = loader_log(dir.path(), false);
    let level = bindings_of(&log, "png_set_compression_level");
    let Some(&(_, to)) = level.iter().find(|(from, _)| from.contains("liblept")) else {
        // A Tesseract built with TESSERACT_IMAGEDATA_AS_PIX, or a static Leptonica, makes no
        // PNG of its lines: nothing to store.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Leptonica never bound png_set_compression_level: no line images to store?"
        );
        eprintln!("SKIPPED: Leptonica does not call png_set_compression_level here");
        return;
    };
    assert_eq!(
        file_name(to),
        "kitap",
        "Leptonica's png_set_compression_level is bound to {to}, not to kitap"
    );
    // kitap's, in turn, looked libpng 1.6's own functions up: the store path ran.
    for symbol in ["png_set_compression_level", "png_set_filter"] {
        assert!(
            bindings_of(&log, symbol)
                .iter()
                .any(|(from, to)| file_name(from) == "kitap" && to.contains("libpng16")),
            "kitap never looked up libpng's {symbol}:\n{}",
            log.lines()
                .filter(|l| l.contains("png_set"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // With libpng's defaults asked for, the filter is never touched.
    let dir = tempfile::tempdir().unwrap();
    let log = loader_log(dir.path(), true);
    assert!(
        bindings_of(&log, "png_set_filter")
            .iter()
            .all(|(from, _)| file_name(from) != "kitap"),
        "KITAP_TESSERACT_PNG=default still set the row filter"
    );
}

fn convert(scans: &Path, out: &Path, libpng_defaults: bool) {
    let run =
        Kitap::convert(scans)
            .out(out)
            .args(["--quiet", "--outputs", "pdf,epub,txt,hocr,alto"]);
    png_setting(run, libpng_defaults).run().success();
}

/// Every file of a book's folder but its record (which says when it was converted).
fn book_files(out: &Path, id: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    let root = out.join(id);
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if e.file_type().unwrap().is_dir() {
                dirs.push(path);
            } else if e.file_name() != ".kitap-book.json" {
                let rel = path.strip_prefix(&root).unwrap().to_path_buf();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn stored_line_images_read_every_page_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["ru-bumaga-i-svet"]);
    let mut books = vec!["ru-bumaga-i-svet"];
    // The bench's books when the corpus is here: bitonal G4, 16-grey Komi columns, newsprint.
    let bench = [
        "eng-clean",
        "kpv-cyrl-vyl-tujod-1939-columns",
        "rus-seed-newsprint",
    ];
    if let Some(shared) = shared() {
        stage_shared_books(&shared, &scans, &bench);
        books.extend(bench);
    }
    let (stored, deflated) = (dir.path().join("stored"), dir.path().join("deflated"));
    convert(&scans, &stored, false);
    convert(&scans, &deflated, true);
    for id in books {
        let (a, b) = (book_files(&stored, id), book_files(&deflated, id));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{id}: other files"
        );
        for (name, bytes) in &a {
            assert!(
                *bytes == b[name],
                "{id}/{}: differs with stored line images",
                name.display()
            );
        }
        assert!(
            a.keys().any(|n| n.to_string_lossy().ends_with(".hocr"))
                && a.keys().any(|n| n.to_string_lossy().contains(".alto/")),
            "{id}: no hOCR or ALTO compared: {:?}",
            a.keys().collect::<Vec<_>>()
        );
        let text = String::from_utf8_lossy(&a[Path::new(&format!("{id}.txt"))]).into_owned();
        assert!(
            text.split_whitespace().count() > 100,
            "{id}: too few words to compare"
        );
    }
}
