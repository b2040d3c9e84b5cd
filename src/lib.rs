//! kitap: scanned book folders in; searchable archival PDF, EPUB 3, OCR text and a library
//! manifest out. The binary is a thin shell over [`cli::run`].

#![deny(unsafe_code)]
#![warn(clippy::too_many_lines)]

pub mod alto;
pub mod check;
pub mod cli;
pub mod config;
pub mod convert;
pub mod dates;
pub mod detect;
pub mod discover;
pub mod epub;
pub mod error;
pub mod export;
pub mod fsio;
pub mod generation;
pub mod geometry;
pub mod hocr;
pub mod lang;
#[allow(unsafe_code)]
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(target_feature = "crt-static")
))]
pub mod line_png;
pub mod load;
pub mod lock;
pub mod manifest;
pub mod merge;
pub mod ocr;
#[allow(unsafe_code)]
pub mod osd;
pub mod paper;
pub mod pdf;
pub mod prepare;
pub mod reading;
pub mod review;
pub mod shard;
#[allow(unsafe_code)]
pub mod tess;
pub mod textsize;
pub mod units;
pub mod validate;
pub mod xml;
