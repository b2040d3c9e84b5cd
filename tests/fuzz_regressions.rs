//! Inputs the fuzz targets (`fuzz/`, `scripts/fuzz.sh`) found failing, fed to the same
//! functions as there. Each file in tests/data/fuzz/ is the input as the fuzzer wrote it.

use std::path::{Path, PathBuf};

use kitap::manifest::Manifest;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name)
}

/// A page confidence of 9.4e29 came back as 9.399999999999999e29: serde_json's default float
/// parser is not exact for every number its writer produces, so a manifest changed on its way
/// through `kitap merge`. Found by the `manifest` target.
#[test]
fn a_manifest_reads_back_exactly_as_written() {
    let m = Manifest::read(&data("manifest-float-roundtrip.json")).unwrap();
    let json = serde_json::to_string(&m).unwrap();
    let again = Manifest::parse(&json, Path::new("again.json")).unwrap();
    assert_eq!(serde_json::to_string(&again).unwrap(), json);
    assert_eq!(again.books[0].pages[0].confidence, Some(9.4e29));
}
