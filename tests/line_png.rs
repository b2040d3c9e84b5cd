//! Tesseract's line images are stored, not deflated (src/line_png.rs): the dynamic linker
//! binds Leptonica's `png_set_compression_level` to kitap's, and what kitap reads and writes
//! is the same to the byte as with libpng's defaults (`KITAP_TESSERACT_PNG=default`).

mod common;

use common::{Kitap, copy_samples, shared, stage_shared_books};
use std::path::Path;

#[test]
fn leptonica_calls_kitaps_png_compression_level() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["en-reading-room"]);
    let log = dir.path().join("ld");
    Kitap::convert(&scans)
        .out(&dir.path().join("out"))
        .arg("--quiet")
        .env("LD_DEBUG", "bindings")
        .env("LD_DEBUG_OUTPUT", log.to_str().unwrap())
        .run()
        .success();
    // One file per process (kitap restarts itself once with its environment set).
    let mut bindings = String::new();
    for e in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("ld.") {
            bindings += &std::fs::read_to_string(e.path()).unwrap();
        }
    }
    let kitap = std::fs::canonicalize(env!("CARGO_BIN_EXE_kitap")).unwrap();
    let binding = bindings
        .lines()
        .find(|l| l.contains("liblept") && l.contains("`png_set_compression_level'"))
        .unwrap_or_else(|| {
            panic!("no binding of Leptonica's png_set_compression_level in the loader's log")
        });
    assert!(
        binding.contains(&format!("to {} ", kitap.display())),
        "Leptonica's png_set_compression_level is bound elsewhere: {binding}"
    );
}

fn convert(scans: &Path, out: &Path, libpng_defaults: bool) {
    let mut run = Kitap::convert(scans).out(out).arg("--quiet");
    run = if libpng_defaults {
        run.env("KITAP_TESSERACT_PNG", "default")
    } else {
        run.env_remove("KITAP_TESSERACT_PNG")
    };
    run.run().success();
}

#[test]
fn stored_line_images_read_every_page_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["ru-bumaga-i-svet"]);
    let mut books = vec!["ru-bumaga-i-svet"];
    // A bitonal G4 page and a grey newsprint page of real scans too, when the corpus is here.
    if let Some(shared) = shared() {
        stage_shared_books(&shared, &scans, &["eng-clean"]);
        books.push("eng-clean");
    }
    let (stored, deflated) = (dir.path().join("stored"), dir.path().join("deflated"));
    convert(&scans, &stored, false);
    convert(&scans, &deflated, true);
    for id in books {
        for ext in ["txt", "pdf", "epub"] {
            let name = format!("{id}/{id}.{ext}");
            let (a, b) = (
                std::fs::read(stored.join(&name)).unwrap(),
                std::fs::read(deflated.join(&name)).unwrap(),
            );
            assert!(a == b, "{name} differs with stored line images");
        }
        let text = std::fs::read_to_string(stored.join(format!("{id}/{id}.txt"))).unwrap();
        assert!(
            text.split_whitespace().count() > 100,
            "{id}: too few words to compare"
        );
    }
}
