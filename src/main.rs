//! The `kitap` command; everything it does lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    kitap::cli::run(kitap::cli::Cli::parse())
}

/// Leptonica's `png_set_compression_level` calls bind here before libpng's (`build.rs` exports
/// it): Tesseract's line images are then stored, not deflated (see `kitap::line_png`).
///
/// # Safety
/// As libpng's own: `png` is a libpng write struct.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(target_feature = "crt-static")
))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn png_set_compression_level(
    png: *mut std::ffi::c_void,
    level: std::ffi::c_int,
) {
    // SAFETY: the caller's promise is passed on.
    unsafe { kitap::line_png::set_compression_level(png, level) }
}
