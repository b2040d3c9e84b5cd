//! Exports `png_set_compression_level` from the kitap executable, so that Leptonica's calls
//! bind to kitap's (see `src/line_png.rs`) rather than libpng's. A dynamic list rather than
//! `--export-dynamic-symbol`: every ELF linker takes it (GNU ld before 2.35 does not know the
//! other). Not with a static C runtime, where libpng's own definition would be linked in too.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // glibc's loader (dlvsym is glibc's).
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    if !linux || static_crt {
        return;
    }
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let list = out.join("kitap-exports.list");
    std::fs::write(&list, "{ png_set_compression_level; };\n").expect("OUT_DIR is writable");
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--dynamic-list={}",
        list.display()
    );
}
