//! manifest.json as `Manifest::read` parses it; a manifest that parses must write back and
//! read again unchanged, keep one record per book when its books are put in again, be checked
//! against OUT without touching any path outside it, and — as a shard part — go through
//! `kitap merge`'s streaming reader without a panic: merged, or refused with a message.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use kitap::manifest::Manifest;
use kitap::merge::{MergeRequest, merge};
use libfuzzer_sys::fuzz_target;

/// One OUT for the whole fuzzing process, emptied before each input.
fn out() -> &'static PathBuf {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        std::env::temp_dir().join(format!("kitap-fuzz-merge-{}", std::process::id()))
    })
}

fn merge_as_part(data: &[u8]) {
    let out = out();
    let _ = fs::remove_dir_all(out);
    let shards = out.join(".kitap/shards");
    fs::create_dir_all(&shards).expect("a temporary OUT");
    fs::write(shards.join("0-of-1.json"), data).expect("the part is written");
    let req = MergeRequest {
        out: out.clone(),
        shards: None,
        run: None,
        wait_lock: None,
        quiet: true,
        no_review: true,
    };
    if let Ok(merged) = merge(&req) {
        // What a merge writes, kitap reads.
        let m = Manifest::read(&merged.manifest_path).expect("a merged manifest parses");
        assert!(
            m.books.windows(2).all(|w| w[0].id < w[1].id),
            "books sorted, one each"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    merge_as_part(data);
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
    // Upserting every book, then every book again, leaves one sorted record per id.
    let mut once = m.clone();
    once.books.clear();
    for book in m.books.iter().cloned() {
        once.upsert(book);
    }
    let mut twice = once.clone();
    for book in again.books {
        twice.upsert(book);
    }
    assert!(once.books.len() <= m.books.len());
    assert_eq!(once.books.len(), twice.books.len());
    assert!(twice.books.windows(2).all(|w| w[0].id < w[1].id));
    // An OUT that does not exist: every listed file is a problem, none is opened outside it.
    let problems = m.verify(Path::new("/nonexistent-kitap-fuzz-out"));
    let files: usize = m.books.iter().map(|b| b.files.len()).sum();
    assert_eq!(problems.len(), files);
});
