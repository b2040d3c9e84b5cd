//! Checking the files a manifest lists against the files in OUT: present, same size, same
//! SHA-256. Reads only OUT, so it runs wherever OUT was copied.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Manifest;
use crate::fsio;

/// A listed file that is not as the manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
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
            FileProblem::Unreadable { book, .. }
            | FileProblem::Size { book, .. }
            | FileProblem::Digest { book, .. } => book,
        }
    }
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
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

pub(super) fn files(manifest: &Manifest, out: &Path) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    for book in &manifest.books {
        for file in &book.files {
            let path = out.join(&file.path);
            let found = match fsio::hash_file(&path) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(FileProblem::Unreadable {
                        book: book.id.clone(),
                        path,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            if found.0 != file.bytes {
                problems.push(FileProblem::Size {
                    book: book.id.clone(),
                    path,
                    listed: file.bytes,
                    found: found.0,
                });
            } else if found.1 != file.sha256 {
                problems.push(FileProblem::Digest {
                    book: book.id.clone(),
                    path,
                    listed: file.sha256.clone(),
                    found: found.1,
                });
            }
        }
    }
    problems
}
