//! Exports `png_set_compression_level` from the kitap executable, so that Leptonica's calls
//! bind to kitap's (see `src/line_png.rs`) rather than libpng's.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=png_set_compression_level");
    }
}
