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

/// A three-frame TIFF of 32×32 grey frames, uncompressed.
fn three_frame_tiff() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
    for shade in [0u8, 128, 255] {
        enc.write_image::<tiff::encoder::colortype::Gray8>(32, 32, &[shade; 32 * 32])
            .unwrap();
    }
    out.into_inner()
}

/// Offsets of a little-endian TIFF's directories, in chain order.
fn directories(tiff: &[u8]) -> Vec<usize> {
    let u16_at = |i: usize| u16::from_le_bytes([tiff[i], tiff[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes(tiff[i..i + 4].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut next = u32_at(4);
    while next != 0 {
        out.push(next);
        next = u32_at(next + 2 + 12 * u16_at(next));
    }
    out
}

/// zzuf run 198 (`zzuf -r 0.003 -s 198` over the shared three-frame G4 TIFF) gave the second
/// directory a PhotometricInterpretation of 65 values: that frame cannot be an image, and the
/// frame count stopped before it, so the book was `ok` with one page and two frames gone
/// without a word. Every frame must be a page or a named error.
#[test]
fn a_broken_frame_in_a_tiff_fails_alone_and_the_frames_after_it_stay() {
    let mut tiff = three_frame_tiff();
    let second = directories(&tiff)[1];
    let entries = u16::from_le_bytes([tiff[second], tiff[second + 1]]) as usize;
    let photometric = (0..entries)
        .map(|i| second + 2 + 12 * i)
        .find(|&e| u16::from_le_bytes([tiff[e], tiff[e + 1]]) == 262)
        .unwrap();
    tiff[photometric + 4..photometric + 8].copy_from_slice(&65u32.to_le_bytes());

    assert_eq!(
        kitap::load::count_tiff_frames(std::io::Cursor::new(&tiff)),
        3
    );
    let limits = kitap::load::LoadLimits {
        max_pixels: 1 << 20,
    };
    let loaded: Vec<bool> = (0..3)
        .map(|frame| kitap::load::load(&tiff, frame, limits).is_ok())
        .collect();
    assert_eq!(loaded, [true, false, true]);
}

/// A directory link that leads out of the file is a frame that fails with a message, not the
/// silent end of the book.
#[test]
fn a_tiff_frame_link_out_of_the_file_is_a_failed_frame() {
    let mut tiff = three_frame_tiff();
    let second = directories(&tiff)[1];
    let entries = u16::from_le_bytes([tiff[second], tiff[second + 1]]) as usize;
    let link = second + 2 + 12 * entries;
    let outside = tiff.len() as u32 + 1000;
    tiff[link..link + 4].copy_from_slice(&outside.to_le_bytes());

    assert_eq!(
        kitap::load::count_tiff_frames(std::io::Cursor::new(&tiff)),
        3
    );
    let limits = kitap::load::LoadLimits {
        max_pixels: 1 << 20,
    };
    assert!(kitap::load::load(&tiff, 1, limits).is_ok());
    let e = kitap::load::load(&tiff, 2, limits).unwrap_err();
    assert!(e.to_string().contains("TIFF"), "{e}");
}

/// A chain that loops back counts each directory once.
#[test]
fn a_looping_tiff_chain_counts_each_frame_once() {
    let mut tiff = three_frame_tiff();
    let dirs = directories(&tiff);
    let third = dirs[2];
    let entries = u16::from_le_bytes([tiff[third], tiff[third + 1]]) as usize;
    let link = third + 2 + 12 * entries;
    tiff[link..link + 4].copy_from_slice(&(dirs[0] as u32).to_le_bytes());
    assert_eq!(
        kitap::load::count_tiff_frames(std::io::Cursor::new(&tiff)),
        3
    );
}

/// A shard part whose book lacks a language's `tag` was merged into a manifest kitap could not
/// read back (the merge parsed only ids and page statuses): every later run, validation and
/// export of that OUT would have failed. Now the merge refuses the part by name, exit 2, and
/// writes nothing. Found by the `manifest` target.
#[test]
fn a_damaged_book_in_a_part_is_refused_not_merged() {
    let out = tempfile::tempdir().unwrap();
    let shards = out.path().join(".kitap/shards");
    std::fs::create_dir_all(&shards).unwrap();
    std::fs::copy(
        data("merge-part-damaged-book.json"),
        shards.join("0-of-1.json"),
    )
    .unwrap();
    let req = kitap::merge::MergeRequest {
        out: out.path().to_path_buf(),
        shards: None,
        run: None,
        wait_lock: None,
        quiet: true,
        no_review: true,
    };
    let err = kitap::merge::merge(&req).expect_err("a damaged part is refused");
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(message.contains("0-of-1.json"), "{message}");
    assert!(message.contains("tag"), "{message}");
    assert!(!out.path().join("manifest.json").exists());
}
