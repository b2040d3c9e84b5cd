//! A book's OCR text: UTF-8, one chunk per page, a form feed (`\f`) between pages (a failed
//! page is an empty chunk), so the chunks number the manifest's `page_count`.

use crate::manifest::BookRecord;

/// What is wrong with the file, as (code, message) pairs.
pub(super) fn check(bytes: &[u8], book: &BookRecord) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Err(e) = std::str::from_utf8(bytes) {
        v.push(("txt-utf8", format!("not UTF-8 text: {e}")));
    }
    let chunks = bytes.iter().filter(|&&b| b == b'\x0c').count() + 1;
    if chunks != book.page_count {
        v.push((
            "txt-pages",
            format!(
                "{chunks} page chunk(s) (separated by form feeds), the manifest's page_count is {}",
                book.page_count
            ),
        ));
    }
    v
}
