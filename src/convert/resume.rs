//! Resuming a book after a crash: every finished page (its OCR words, geometry and encoded
//! image) waits in `OUT/.kitap/pages/<id>/<index>.page` until its book is finished, then the
//! folder is removed. A run that finds a page there under the book's current fingerprint uses
//! it instead of reading the page again, so a book killed at page 180 of 200 costs 20 pages on
//! the next run, and its outputs are byte for byte those of an uninterrupted run.
//!
//! The files are postcard (a compact serde format): exact for every float, so the resumed
//! outputs equal the uninterrupted ones. A file that does not read back is read again from
//! the scan.

use std::fs;
use std::path::{Path, PathBuf};

use super::page::DonePage;
use crate::fsio;

/// `OUT/.kitap/pages`.
fn root(out: &Path) -> PathBuf {
    out.join(".kitap").join("pages")
}

/// The finished pages of one book, for one fingerprint.
pub(super) struct BookCache {
    dir: PathBuf,
}

impl BookCache {
    /// The cache of book `id` for `fingerprint`: pages kept for another fingerprint (the book
    /// changed since) are dropped, and so are half-written files of a killed run. None when the
    /// folder cannot be made (the run goes on without resuming).
    /// With `fresh` (`--force`) kept pages are dropped too.
    pub(super) fn open(out: &Path, id: &str, fingerprint: &str, fresh: bool) -> Option<BookCache> {
        let dir = root(out).join(id);
        let mark = dir.join("fingerprint");
        if fresh || fs::read_to_string(&mark).ok().as_deref() != Some(fingerprint) {
            if dir.exists() {
                fs::remove_dir_all(&dir).ok()?;
            }
            fs::create_dir_all(&dir).ok()?;
            fsio::write_atomic(&mark, fingerprint.as_bytes()).ok()?;
        }
        for entry in fs::read_dir(&dir).ok()?.flatten() {
            if entry.file_name().to_string_lossy().contains(".kitap-tmp-") {
                let _ = fs::remove_file(entry.path());
            }
        }
        Some(BookCache { dir })
    }

    fn path(&self, page: usize) -> PathBuf {
        self.dir.join(format!("{page}.page"))
    }

    /// The page as an earlier run finished it, if it kept it.
    pub(super) fn load(&self, page: usize) -> Option<DonePage> {
        let bytes = fs::read(self.path(page)).ok()?;
        postcard::from_bytes(&bytes).ok()
    }

    /// Keeps a finished page (best effort: a page that cannot be kept is read again next time).
    pub(super) fn store(&self, page: usize, done: &DonePage) {
        if let Ok(bytes) = postcard::to_stdvec(done) {
            let _ = fsio::write_atomic(&self.path(page), &bytes);
        }
    }

    /// The book is finished (or failed: a full disk needs the room): its pages are not needed
    /// any more.
    pub(super) fn remove(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Removes the kept pages of every book of this run's (all books, or its shard's) that it does
/// not convert (up to date, gone from SCANS): they would never be used, and each is a copy of a
/// book's images. Another shard's books are that shard's business.
pub(super) fn prune(out: &Path, converting: &[&str], ours: impl Fn(&str) -> bool) {
    for e in fs::read_dir(root(out)).into_iter().flatten().flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        if ours(&id) && !converting.contains(&id.as_str()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}
