//! Tesseract's line images, stored without compression.
//!
//! Tesseract 5 hands every text line it recognises to its LSTM as an `ImageData`, and
//! `ImageData::SetPix` keeps the line's image as a PNG in memory (Leptonica's `pixWriteMem`),
//! which `GetPix` decodes again a moment later. Debian's libtesseract is built without
//! `TESSERACT_IMAGEDATA_AS_PIX`, the switch that skips the round trip (tesseract-ocr/tesseract
//! PR 2965: "compressing/uncompressing is slow"). zlib's deflate and libpng's choice of a row
//! filter at the default level were 7 % of a bench run's CPU (`perf`: libz 5.7 %, libpng
//! 1.6 %), and a rendered Russian page took 0.98 s in the tesseract CLI against 0.77 s with the
//! line images stored instead.
//!
//! The PNG never leaves the process and is decoded losslessly whatever its compression, so
//! storing it changes nothing but time: words, boxes and confidences are the same (a test
//! compares the text, hOCR, ALTO, PDF and EPUB). kitap's executable therefore defines
//! `png_set_compression_level` itself (`src/main.rs`, exported by `build.rs`; Linux with glibc
//! and a shared libpng); the dynamic linker binds Leptonica's call to it before libpng's, and
//! it asks libpng 1.6 for level 0 (stored deflate blocks) and no row filter.
//! The setting is process-wide: every `png_set_compression_level` call in the process comes
//! here, also libpng's own (its simplified `png_image_write_*` API), an explicit
//! `pixSetZlibCompression`, and any debug image Tesseract would write. Nothing in kitap uses
//! those: its own PNG files are written by the `png` crate, so only Tesseract's transient
//! images are affected. A PNG writer through libpng or Leptonica added to kitap would write
//! stored PNGs too.
//!
//! `KITAP_TESSERACT_PNG=default` leaves libpng's defaults alone (to compare, or to rule this
//! out when something looks wrong).

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;

/// libpng's `PNG_FILTER_NONE`: every row stored as it is.
const PNG_FILTER_NONE: c_int = 0x08;
/// zlib's `Z_NO_COMPRESSION`.
const Z_NO_COMPRESSION: c_int = 0;

type SetLevel = unsafe extern "C" fn(*mut c_void, c_int);
type SetFilter = unsafe extern "C" fn(*mut c_void, c_int, c_int);

/// libpng's own functions, found past kitap's executable; `None` if libpng is not loaded.
struct Libpng {
    set_level: SetLevel,
    set_filter: Option<SetFilter>,
    /// Store line images (false under `KITAP_TESSERACT_PNG=default`).
    store: bool,
}

/// libpng 1.6's `name` past kitap's executable: by version, so that a struct is never handed
/// to another libpng's function of that name.
fn next_symbol(name: &CStr) -> *mut c_void {
    // SAFETY: dlvsym with RTLD_NEXT and NUL-terminated names only looks the symbol up.
    unsafe { libc::dlvsym(libc::RTLD_NEXT, name.as_ptr(), c"PNG16_0".as_ptr()) }
}

fn libpng() -> Option<&'static Libpng> {
    static LIBPNG: OnceLock<Option<Libpng>> = OnceLock::new();
    LIBPNG
        .get_or_init(|| {
            let level = next_symbol(c"png_set_compression_level");
            if level.is_null() {
                return None;
            }
            let store = std::env::var_os("KITAP_TESSERACT_PNG").is_none_or(|v| v != "default");
            // Looked up only when used: the loader's log then says whether it is
            // (tests/line_png.rs).
            let filter = if store {
                next_symbol(c"png_set_filter")
            } else {
                std::ptr::null_mut()
            };
            // SAFETY: the symbols are libpng 1.6's functions of these signatures (png.h).
            let (set_level, set_filter) = unsafe {
                (
                    std::mem::transmute::<*mut c_void, SetLevel>(level),
                    (!filter.is_null())
                        .then(|| std::mem::transmute::<*mut c_void, SetFilter>(filter)),
                )
            };
            Some(Libpng {
                set_level,
                set_filter,
                store,
            })
        })
        .as_ref()
}

/// What kitap's `png_set_compression_level` does: libpng's, at level 0 and with no row filter
/// (or at `level`, under `KITAP_TESSERACT_PNG=default`).
///
/// # Safety
/// `png` is a libpng write struct, as libpng's own function requires.
pub unsafe fn set_compression_level(png: *mut c_void, level: c_int) {
    let Some(lib) = libpng() else {
        return;
    };
    // SAFETY: passed on as the caller gave it, to the functions it was meant for.
    unsafe {
        if !lib.store {
            (lib.set_level)(png, level);
            return;
        }
        (lib.set_level)(png, Z_NO_COMPRESSION);
        if let Some(set_filter) = lib.set_filter {
            set_filter(png, 0, PNG_FILTER_NONE);
        }
    }
}
