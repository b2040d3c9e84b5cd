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
    /// The folder could not be read: the book fails with this, the batch goes on.
    pub error: Option<String>,
}

/// Walks `root` and returns its books in the order of their `source`.
/// Hidden entries, `gt/` folders (ground truth) and the folders in `skip` (given canonical:
/// the output folder when it lies inside the scans) are not descended into.
pub fn find_books(root: &Path, skip: &[PathBuf]) -> std::io::Result<Vec<BookDir>> {
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
        .filter_entry(|e| {
            e.depth() == 0 || !(is_excluded_dir_or_hidden(e.path()) || is_skipped(e, skip))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            // The root itself unreadable: nothing to convert.
            Err(e) if e.depth() == 0 => return Err(walk_error(&e)),
            Err(e) => {
                if let Some(path) = e.path() {
                    fail_entry(&mut books, root, path, &walk_error(&e));
                }
                continue;
            }
        };
        if entry.file_type().is_dir() {
            match read_book_dir(root, entry.path()) {
                Ok(Some(book)) => books.push(book),
                Ok(None) => {}
                Err(e) if entry.depth() == 0 => return Err(e),
                Err(e) => books.push(unreadable(root, entry.path(), &e)),
            }
        }
    }
    books.sort_by(|a, b| natural_cmp(&a.source, &b.source));
    Ok(books)
}

/// A walk error as `path: cause`, without walkdir's own wording around it.
fn walk_error(e: &walkdir::Error) -> std::io::Error {
    let path = e
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cause = e
        .io_error()
        .map_or_else(|| e.to_string(), ToString::to_string);
    std::io::Error::other(format!("{path}: {cause}"))
}

/// An entry of the tree that cannot be read. A folder that cannot be listed is already a
/// failed book of its own (walkdir reports it once as an entry and once as an error). A link
/// that leads nowhere or in a loop fails the book folder holding it — a page may be missing —
/// or, outside a book folder, is a failed book of its own.
fn fail_entry(books: &mut Vec<BookDir>, root: &Path, path: &Path, e: &std::io::Error) {
    if books.iter().any(|b| b.dir == path) {
        return;
    }
    let is_link = path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    let holder = path
        .parent()
        .filter(|_| is_link)
        .and_then(|dir| books.iter_mut().find(|b| b.dir == dir));
    match holder {
        Some(book) => {
            book.error
                .get_or_insert_with(|| format!("cannot read: {e}"));
        }
        None => books.push(unreadable(root, path, e)),
    }
}

/// A folder inside the scan tree that could not be read: it may hold a book, so it is one,
/// failed, and the batch goes on.
fn unreadable(root: &Path, dir: &Path, e: &std::io::Error) -> BookDir {
    BookDir {
        id: folder_name(dir),
        dir: dir.to_path_buf(),
        source: relative_source(root, dir),
        meta_path: None,
        files: Vec::new(),
        skipped: Vec::new(),
        error: Some(format!("cannot read the folder: {e}")),
    }
}

fn folder_name(dir: &Path) -> String {
    dir.canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "book".into())
}

/// The folder relative to the scan root, `.` for the root itself.
fn relative_source(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.to_string_lossy().into_owned()
    }
}

fn is_skipped(e: &walkdir::DirEntry, skip: &[PathBuf]) -> bool {
    !skip.is_empty()
        && e.file_type().is_dir()
        && e.path().canonicalize().is_ok_and(|c| skip.contains(&c))
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
    let id = folder_name(dir);
    let source = relative_source(root, dir);
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
        error: None,
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
        let books = find_books(root, &[]).unwrap();
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
    fn an_unreadable_folder_is_a_failed_book_not_a_failed_batch() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in ["a/1.png", "a/notes/x.txt", "locked/1.png", "z/1.png"] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let locked = [root.join("locked"), root.join("a/notes")];
        for l in &locked {
            std::fs::set_permissions(l, std::fs::Permissions::from_mode(0o000)).unwrap();
        }
        let really_locked = std::fs::read_dir(&locked[0]).is_err();
        let books = find_books(root, &[]);
        for l in &locked {
            std::fs::set_permissions(l, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let books = books.unwrap();
        let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
        if really_locked {
            // One failed book per locked folder, once each; the readable books stay good.
            assert_eq!(ids, ["a", "notes", "locked", "z"]);
            let err = books[2].error.as_deref().expect("the locked book failed");
            assert!(err.starts_with("cannot read the folder"), "{err}");
            assert!(books[1].error.is_some());
        } else {
            // root reads every folder: the locked ones are plain folders here, and the case
            // below checks the double report directly.
            assert_eq!(ids, ["a", "locked", "z"]);
        }
        for good in ["a", "z"] {
            assert!(books.iter().any(|b| b.id == good && b.error.is_none()));
        }
    }

    #[test]
    fn a_folder_reported_twice_is_one_failed_book() {
        // walkdir yields a folder it cannot list as an entry (read_book_dir then fails) and
        // again as an error: the second report must not make a second book of the same id.
        let root = Path::new("/scans");
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let mut books = vec![unreadable(root, Path::new("/scans/locked"), &e)];
        fail_entry(&mut books, root, Path::new("/scans/locked"), &e);
        assert_eq!(books.len(), 1);
        // Not a link, so a book beside it is not blamed for it either.
        let mut books = vec![unreadable(root, Path::new("/scans/b"), &e)];
        books[0].error = None;
        fail_entry(&mut books, root, Path::new("/scans/b/sub"), &e);
        assert_eq!(books.len(), 2);
        assert!(books[0].error.is_none());
        assert_eq!(books[1].id, "sub");
    }

    #[test]
    fn links_that_lead_nowhere_fail_their_book_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in ["a/1.png", "b/1.png", "c/1.png"] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        // A page that links to a file that is gone, and a folder link that points at itself.
        std::os::unix::fs::symlink(root.join("gone/2.png"), root.join("b/2.png")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        let books = find_books(root, &[]).unwrap();
        let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "loop"]);
        assert!(books[0].error.is_none() && books[2].error.is_none());
        let b = books[1].error.as_deref().expect("b failed");
        assert!(b.contains("2.png"), "{b}");
        assert!(books[3].error.is_some());
    }

    #[test]
    fn a_skipped_folder_is_never_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in ["b/1.png", "out/b/1.png"] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let out = root.join("out").canonicalize().unwrap();
        let books = find_books(root, &[out]).unwrap();
        let sources: Vec<_> = books.iter().map(|b| b.source.as_str()).collect();
        assert_eq!(sources, ["b"]);
    }

    #[test]
    fn root_can_be_a_book() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.png"), b"").unwrap();
        let books = find_books(dir.path(), &[]).unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!(books[0].source, ".");
    }
}
