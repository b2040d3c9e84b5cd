//! manifest.json as `Manifest::read` parses it; a manifest that parses must write back and
//! read again unchanged, merge with itself, and be checked against OUT without touching any
//! path outside it.
#![no_main]

use std::path::Path;

use kitap::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(m) = Manifest::parse(text, Path::new("out/manifest.json")) else {
        return;
    };
    let json = serde_json::to_string(&m).expect("a parsed manifest serialises");
    let again =
        Manifest::parse(&json, Path::new("again.json")).expect("kitap reads what it writes");
    assert_eq!(json, serde_json::to_string(&again).unwrap());
    let merged = Manifest::merge([m.clone(), again]).expect("two manifests merge");
    assert!(merged.books.len() <= m.books.len());
    // An OUT that does not exist: every listed file is a problem, none is opened outside it.
    let problems = m.verify(Path::new("/nonexistent-kitap-fuzz-out"));
    let files: usize = m.books.iter().map(|b| b.files.len()).sum();
    assert_eq!(problems.len(), files);
});
