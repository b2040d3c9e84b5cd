//! Tesseract's orientation and script detection (OSD): a second, small engine loaded with the
//! `osd` model, driven through the C API.
//!
//! Unsafe code is allowed here and in `tess.rs` only (the crate denies it elsewhere). The
//! handle is created, used and deleted by the one worker thread that owns the [`OsdEngine`];
//! nothing is shared between threads.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::path::Path;

use image::GrayImage;
use tesseract_sys as sys;

/// What OSD found on a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Osd {
    /// How far the page content is turned clockwise: 0, 90, 180 or 270.
    pub rotation_cw_deg: u32,
    /// Tesseract's orientation confidence (roughly: >2 is believable, >10 is sure).
    pub confidence: f32,
    /// Detected script, e.g. `Latin`, `Cyrillic`.
    pub script: String,
    /// Tesseract's confidence in the script (3–22 on the shared pages).
    pub script_confidence: f32,
}

/// An engine loaded with the `osd` model.
pub struct OsdEngine {
    handle: *mut sys::TessBaseAPI,
}

impl Drop for OsdEngine {
    fn drop(&mut self) {
        // SAFETY: `handle` came from TessBaseAPICreate and is deleted exactly once.
        unsafe {
            sys::TessBaseAPIEnd(self.handle);
            sys::TessBaseAPIDelete(self.handle);
        }
    }
}

impl OsdEngine {
    pub fn new(tessdata: &Path) -> Result<OsdEngine, String> {
        hush_leptonica();
        let path =
            CString::new(tessdata.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        let lang = CString::new("osd").expect("no NUL");
        // SAFETY: a fresh handle; the strings outlive the calls.
        let engine = OsdEngine {
            handle: unsafe { sys::TessBaseAPICreate() },
        };
        if engine.handle.is_null() {
            return Err("Tesseract could not create an engine".into());
        }
        let rc = unsafe { sys::TessBaseAPIInit3(engine.handle, path.as_ptr(), lang.as_ptr()) };
        if rc != 0 {
            return Err(format!(
                "Tesseract could not load the osd model from {}",
                tessdata.display()
            ));
        }
        let (name, value) = (c"debug_file", c"/dev/null");
        // SAFETY: valid handle and NUL-terminated strings.
        unsafe {
            sys::TessBaseAPISetVariable(engine.handle, name.as_ptr(), value.as_ptr());
            sys::TessBaseAPISetPageSegMode(engine.handle, sys::TessPageSegMode_PSM_OSD_ONLY);
        }
        Ok(engine)
    }

    /// Detects how the page content is turned. `None` when OSD finds too little text.
    pub fn detect(&mut self, grey: &GrayImage, dpi: u32) -> Option<Osd> {
        let (w, h) = grey.dimensions();
        let mut deg: c_int = 0;
        let mut conf: f32 = 0.0;
        let mut script: *const c_char = std::ptr::null();
        let mut script_conf: f32 = 0.0;
        // SAFETY: the buffer holds w*h bytes (1 byte per pixel, w bytes per line) and stays
        // alive until Tesseract has copied it (SetImage copies into its own Pix).
        let ok = unsafe {
            sys::TessBaseAPISetImage(
                self.handle,
                grey.as_raw().as_ptr(),
                w as c_int,
                h as c_int,
                1,
                w as c_int,
            );
            sys::TessBaseAPISetSourceResolution(self.handle, dpi as c_int);
            sys::TessBaseAPIDetectOrientationScript(
                self.handle,
                &mut deg,
                &mut conf,
                &mut script,
                &mut script_conf,
            )
        };
        if ok == 0 {
            return None;
        }
        // SAFETY: on success the script name points to a static string inside Tesseract.
        let script = if script.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(script) }
                .to_string_lossy()
                .into_owned()
        };
        Some(Osd {
            rotation_cw_deg: (deg.rem_euclid(360)) as u32,
            confidence: conf,
            script,
            script_confidence: script_conf,
        })
    }
}

/// Leptonica, which Tesseract reads pages with, prints its own messages on stderr ("Error in
/// boxClipToRectangle: box outside rectangle" when a trial band holds little ink): none of them
/// is anything a user can act on, and they would break `--quiet`. Silenced once per process.
pub fn hush_leptonica() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: sets one global severity level, before or between Leptonica calls.
    ONCE.call_once(|| unsafe {
        leptonica_sys::setMsgSeverity(leptonica_sys::L_SEVERITY_NONE as i32);
    });
}

/// An OSD engine loaded on first use: most pages never need one (it costs ~30 MB and a model
/// load per worker).
pub struct LazyOsd {
    tessdata: Option<std::path::PathBuf>,
    engine: Option<Option<OsdEngine>>,
}

impl LazyOsd {
    pub fn new(tessdata: &Path) -> LazyOsd {
        LazyOsd {
            tessdata: Some(tessdata.to_path_buf()),
            engine: None,
        }
    }

    /// No OSD at all: orientation is then decided by reading.
    pub fn none() -> LazyOsd {
        LazyOsd {
            tessdata: None,
            engine: None,
        }
    }

    /// The engine, loading it the first time; `None` when the osd model cannot be loaded.
    pub fn get(&mut self) -> Option<&mut OsdEngine> {
        let tessdata = self.tessdata.as_deref()?;
        self.engine
            .get_or_insert_with(|| OsdEngine::new(tessdata).ok())
            .as_mut()
    }
}
