//! Checking the files a manifest lists against the files in OUT: present, same size, same
//! SHA-256. Reads only OUT, so it runs wherever OUT was copied.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{BookRecord, FileRecord};
use crate::fsio;

/// A listed file that is not as the manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// The listed path is absolute or climbs out of OUT (`..`): not checked, never opened.
    OutsideOut { book: String, path: String },
    /// The file cannot be read (absent, or no permission).
    Unreadable {
        book: String,
        path: PathBuf,
        error: String,
    },
    /// The file has another size than listed.
    Size {
        book: String,
        path: PathBuf,
        listed: u64,
        found: u64,
    },
    /// Same size, other content.
    Digest {
        book: String,
        path: PathBuf,
        listed: String,
        found: String,
    },
}

impl FileProblem {
    /// The book the file belongs to.
    pub fn book(&self) -> &str {
        match self {
            FileProblem::OutsideOut { book, .. }
            | FileProblem::Unreadable { book, .. }
            | FileProblem::Size { book, .. }
            | FileProblem::Digest { book, .. } => book,
        }
    }
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblem::OutsideOut { path, .. } => write!(
                f,
                "{path}: not a path inside the output folder (absolute, or climbing out with ..)"
            ),
            FileProblem::Unreadable { path, error, .. } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            FileProblem::Size {
                path,
                listed,
                found,
                ..
            } => write!(
                f,
                "{}: {found} bytes, the manifest lists {listed}",
                path.display()
            ),
            FileProblem::Digest {
                path,
                listed,
                found,
                ..
            } => write!(
                f,
                "{}: SHA-256 {found}, the manifest lists {listed} (the file was changed or damaged)",
                path.display()
            ),
        }
    }
}

pub(super) fn files(book: &BookRecord, out: &Path) -> Vec<FileProblem> {
    book.files
        .iter()
        .filter_map(|file| file.check(&book.id, out, false).err())
        .collect()
}

/// A listed path is relative and stays inside OUT.
fn inside(path: &str) -> bool {
    Path::new(path)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

impl FileRecord {
    /// The listed file of `book` against OUT: present, same size, same SHA-256. With `keep`,
    /// the file is read into memory and its bytes are handed back when they match, for a
    /// closer look without reading it twice; otherwise it is hashed as it streams by.
    pub fn check(
        &self,
        book: &str,
        out: &Path,
        keep: bool,
    ) -> Result<Option<Vec<u8>>, FileProblem> {
        check(book, self, out, keep)
    }
}

fn check(
    book: &str,
    file: &FileRecord,
    out: &Path,
    keep: bool,
) -> Result<Option<Vec<u8>>, FileProblem> {
    if !inside(&file.path) {
        return Err(FileProblem::OutsideOut {
            book: book.to_string(),
            path: file.path.clone(),
        });
    }
    let path = out.join(&file.path);
    let unreadable = |e: std::io::Error| FileProblem::Unreadable {
        book: book.to_string(),
        path: path.clone(),
        error: e.to_string(),
    };
    // The size first, from the metadata: a truncated upload is found without reading it.
    let size = std::fs::metadata(&path).map_err(unreadable)?.len();
    if size != file.bytes {
        return Err(FileProblem::Size {
            book: book.to_string(),
            path,
            listed: file.bytes,
            found: size,
        });
    }
    let (digest, bytes) = if keep {
        let bytes = std::fs::read(&path).map_err(unreadable)?;
        (format!("{:x}", Sha256::digest(&bytes)), Some(bytes))
    } else {
        (fsio::hash_file(&path).map_err(unreadable)?.1, None)
    };
    if digest != file.sha256 {
        return Err(FileProblem::Digest {
            book: book.to_string(),
            path,
            listed: file.sha256.clone(),
            found: digest,
        });
    }
    Ok(bytes)
}
