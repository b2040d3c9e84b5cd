//! Finds the books in a scan tree: every folder that holds page images is one book.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// File name extensions that mark a page image. The real format is decided by magic bytes.
pub const PAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "jpe", "tif", "tiff"];

/// A book folder as found on disk, before anything is decoded.
#[derive(Debug, Clone)]
pub struct BookDir {
    /// The folder name: it names the output files and must be unique in a run.
    pub id: String,
    pub dir: PathBuf,
    /// The folder relative to the scan root (`.` when the root is the book).
    pub source: String,
    /// `book.toml`, when present.
    pub meta_path: Option<PathBuf>,
    /// Page files in natural order (`2.tif` before `10.tif`).
    pub files: Vec<PathBuf>,
    /// Files that are not pages, with why they were passed over.
    pub skipped: Vec<String>,
}

/// Walks `root` and returns its books in the order of their `source`.
/// Hidden entries and `gt/` folders (ground truth) are not descended into.
pub fn find_books(root: &Path) -> std::io::Result<Vec<BookDir>> {
    let meta = std::fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a folder",
        ));
    }
    let mut books = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by(|a, b| {
            natural_cmp(
                &a.file_name().to_string_lossy(),
                &b.file_name().to_string_lossy(),
            )
        })
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_excluded_dir_or_hidden(e.path()));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            std::io::Error::other(format!("{path}: {e}"))
        })?;
        if entry.file_type().is_dir()
            && let Some(book) = read_book_dir(root, entry.path())?
        {
            books.push(book);
        }
    }
    books.sort_by(|a, b| natural_cmp(&a.source, &b.source));
    Ok(books)
}

fn is_excluded_dir_or_hidden(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.starts_with('.') || (name == "gt" && path.is_dir())
}

fn has_page_extension(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| PAGE_EXTENSIONS.contains(&e.as_str()))
}

fn read_book_dir(root: &Path, dir: &Path) -> std::io::Result<Option<BookDir>> {
    let mut files = Vec::new();
    let mut others = Vec::new();
    let mut meta_path = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        if name == "book.toml" {
            meta_path = Some(path);
        } else if has_page_extension(&path) {
            files.push(path);
        } else {
            others.push(name);
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    files.sort_by(|a, b| {
        natural_cmp(
            &a.file_name().unwrap_or_default().to_string_lossy(),
            &b.file_name().unwrap_or_default().to_string_lossy(),
        )
    });
    others.sort_by(|a, b| natural_cmp(a, b));
    let id = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into());
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    let source = if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.to_string_lossy().into_owned()
    };
    Ok(Some(BookDir {
        id,
        dir: dir.to_path_buf(),
        source,
        meta_path,
        files,
        skipped: others
            .into_iter()
            .map(|n| {
                format!(
                    "{n}: not a page image (extension not one of {}); skipped",
                    PAGE_EXTENSIONS.join(", ")
                )
            })
            .collect(),
    }))
}

/// Natural order: runs of digits compare by value, so `2` sorts before `10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (trim_zeros(&x[..nx]), trim_zeros(&y[..ny]));
                let ord = dx.len().cmp(&dy.len()).then_with(|| dx.cmp(dy));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let n = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[n.min(digits.len().saturating_sub(1))..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["p10.tif", "p2.tif", "p1.tif", "p02.tif", "a.tif", "p1b.tif"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["a.tif", "p1.tif", "p1b.tif", "p02.tif", "p2.tif", "p10.tif"]
        );
    }

    #[test]
    fn finds_books_skips_gt_and_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "b1/10.png",
            "b1/2.png",
            "b1/gt/1.png",
            "b1/notes.txt",
            "b1/.x.png",
            ".hidden/1.png",
            "b2/1.tif",
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let books = find_books(root).unwrap();
        let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["b1", "b2"]);
        let names: Vec<_> = books[0]
            .files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["2.png", "10.png"]);
        assert_eq!(books[0].skipped.len(), 1);
        assert!(books[0].skipped[0].starts_with("notes.txt"));
    }

    #[test]
    fn root_can_be_a_book() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.png"), b"").unwrap();
        let books = find_books(dir.path()).unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!(books[0].source, ".");
    }
}
