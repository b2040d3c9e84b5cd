//! (being written)

use std::path::Path;

/// `OUT/<id>/<id>.qr.svg` or `.qr.png`: the QR codes `kitap export shelf` writes.
pub fn is_qr_file(id: &str, path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        [".qr.svg", ".qr.png"]
            .iter()
            .any(|ext| n.strip_suffix(ext) == Some(id))
    })
}
