//! book.toml and pipeline files: parsed and checked as kitap does, then the checked page
//! labels laid out. An error is fine; a panic is not.
#![no_main]

use std::path::Path;

use kitap::config::{BookMeta, Pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // kitap reads both files with read_to_string: bytes that are not UTF-8 fail right there.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match BookMeta::parse(text, Path::new("scans/b/book.toml")) {
        Ok((meta, _warnings)) => {
            // The manifest carries the metadata as JSON, and every later run reads it back.
            let json = serde_json::to_string(&meta).expect("metadata serialises");
            let back: BookMeta = serde_json::from_str(&json).expect("metadata reads back");
            assert_eq!(back, meta, "{json}");
            if let Some(y) = &meta.year {
                assert_eq!(y.marc_008_dates().len(), 9);
                assert_eq!(meta.year_sort, Some(y.sort()));
            }
            for code in &meta.languages {
                let _ = kitap::lang::lookup(code);
            }
            // A short book and one past the last range: every page gets a label.
            let last = meta.page_labels.iter().map(|r| r.from).max().unwrap_or(0);
            for pages in [3, last.saturating_add(2).min(2000)] {
                let labels = kitap::reading::configured_labels(&meta.page_labels, pages);
                assert_eq!(labels.len(), pages as usize);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "error message spans lines: {msg}");
        }
    }
    if let Err(e) = Pipeline::parse(text, "p", Path::new("p.toml")) {
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "error message spans lines: {msg}");
    }
});
