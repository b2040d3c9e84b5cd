//! Finds the books in a scan tree: every folder that holds page images is one book.
//!
//! Nothing found is passed over in silence: a hidden folder of pages, a book inside a book, a
//! page that is not a regular file, a reserved id and ids that differ only in case are each
//! named in a warning or fail their book. Names are read by their exact bytes; a name that is
//! not UTF-8 is shown through [`escape_name`], a lossless escape, so two never read alike.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// File name extensions that mark a page image kitap reads (those of [`load::Format`]). The
/// real format is decided by magic bytes.
pub const PAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "jpe", "tif", "tiff", "jp2", "jpx", "jpf", "j2k", "j2c", "jpc", "bmp",
    "dib", "webp", "pnm", "pbm", "pgm", "ppm", "pam",
];

/// Extensions of images kitap does not read, which a scanning room may still have put among
/// the pages (camera raw files, GIF, HEIF, JPEG XL, Photoshop): each is a page that fails, by
/// name, never a file passed over in silence.
pub const UNREAD_IMAGE_EXTENSIONS: &[&str] = &[
    "gif", "heic", "heif", "avif", "jxl", "psd", "psb", "xcf", "dng", "cr2", "cr3", "crw", "nef",
    "nrw", "arw", "srf", "sr2", "orf", "raf", "rw2", "pef", "srw", "x3f", "raw", "iiq", "3fr",
    "erf", "mos", "mrw", "kdc", "dcr",
];

/// The batch manifest's name in OUT: no book may have it as its id.
pub const MANIFEST_NAME: &str = "manifest.json";

/// A book folder as found on disk, before anything is decoded.
#[derive(Debug, Clone)]
pub struct BookDir {
    /// The folder name (or the link's name, for a linked folder), escaped by [`escape_name`]:
    /// it names the output files and must be unique in a run.
    pub id: String,
    /// The folder as walked, by its exact bytes.
    pub dir: PathBuf,
    /// The folder relative to the scan root (`.` when the root is the book), escaped.
    pub source: String,
    /// `book.toml`, when present.
    pub meta_path: Option<PathBuf>,
    /// Page files in natural order (`2.tif` before `10.tif`).
    pub files: Vec<PathBuf>,
    /// Files that are not pages, with why they were passed over (the manifest's notes).
    pub skipped: Vec<String>,
    /// What the walk found that the operator should hear of: a hidden folder of pages, a book
    /// inside a book, an id that differs from another only in case.
    pub warnings: Vec<String>,
    /// The folder could not be read, or cannot be a book: the book fails with this, the batch
    /// goes on.
    pub error: Option<String>,
}

/// A file or folder name as text, losslessly: valid UTF-8 stays as it is but for `%`, which
/// becomes `%25`; each byte that is not part of valid UTF-8 becomes `%XX` (upper-case hex).
/// Two different names never give the same text, and a UTF-8 name without `%` is unchanged.
pub fn escape_name(name: &OsStr) -> String {
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '%' {
                out.push_str("%25");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A relative path as text: each component by [`escape_name`], joined by `/`.
pub fn escape_path(path: &Path) -> String {
    path.components()
        .map(|c| escape_name(c.as_os_str()))
        .collect::<Vec<_>>()
        .join("/")
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
        .sort_by(|a, b| natural_cmp(&escape_name(a.file_name()), &escape_name(b.file_name())))
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
            match list_folder(entry.path()) {
                Ok(listing) => add_folder(&mut books, root, entry.path(), listing),
                Err(e) if entry.depth() == 0 => return Err(e),
                Err(e) => books.push(unreadable(root, entry.path(), &e)),
            }
        }
    }
    books.sort_by(|a, b| natural_cmp(&a.source, &b.source));
    warn_nested(&mut books);
    warn_case_alike(&mut books);
    refuse_reserved(&mut books);
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

/// A book folder with nothing in it yet.
fn book_dir(root: &Path, dir: &Path) -> BookDir {
    BookDir {
        id: folder_name(dir),
        dir: dir.to_path_buf(),
        source: relative_source(root, dir),
        meta_path: None,
        files: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        error: None,
    }
}

/// A folder inside the scan tree that could not be read: it may hold a book, so it is one,
/// failed, and the batch goes on.
fn unreadable(root: &Path, dir: &Path, e: &std::io::Error) -> BookDir {
    BookDir {
        error: Some(format!("cannot read the folder: {e}")),
        ..book_dir(root, dir)
    }
}

/// The id of a book folder: its own name as walked — a link's name, not its target's — and
/// the real folder's name only when the path has none (`.`).
fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(escape_name)
        .or_else(|| dir.canonicalize().ok()?.file_name().map(escape_name))
        .unwrap_or_else(|| "book".into())
}

/// The folder relative to the scan root, `.` for the root itself.
fn relative_source(root: &Path, dir: &Path) -> String {
    let rel = dir.strip_prefix(root).unwrap_or(dir);
    if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        escape_path(rel)
    }
}

fn is_skipped(e: &walkdir::DirEntry, skip: &[PathBuf]) -> bool {
    !skip.is_empty()
        && e.file_type().is_dir()
        && e.path().canonicalize().is_ok_and(|c| skip.contains(&c))
}

fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b".")
}

fn is_excluded_dir_or_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(is_hidden)
        || (path.file_name() == Some(OsStr::new("gt")) && path.is_dir())
}

pub fn has_page_extension(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| PAGE_EXTENSIONS.contains(&e.as_str()))
}

/// What one folder holds, as far as the books are concerned.
#[derive(Default)]
struct Listing {
    meta_path: Option<PathBuf>,
    files: Vec<PathBuf>,
    /// Notes on files passed over.
    skipped: Vec<String>,
    /// Hidden folders in it that hold page images.
    hidden: Vec<PathBuf>,
    /// Page names that are not regular files (a device, a pipe, a socket) and what they are.
    irregular: Vec<(PathBuf, &'static str)>,
}

/// Lists a folder by the metadata of its entries (links followed); only a file with no page
/// extension is opened, for its first bytes (is it an image or a PDF all the same?).
fn list_folder(dir: &Path) -> std::io::Result<Listing> {
    let mut l = Listing::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let (path, name) = (entry.path(), entry.file_name());
        // A link that leads nowhere: walkdir reports it and it fails this book.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if is_hidden(&name) {
            if meta.is_dir() && holds_pages(&path) {
                l.hidden.push(path);
            }
            continue;
        }
        if meta.is_dir() {
            // Walked on its own.
            continue;
        }
        if !meta.is_file() {
            let kind = file_kind(&meta);
            if has_page_extension(&path) {
                l.irregular.push((path, kind));
            } else {
                let shown = escape_name(&name);
                l.skipped
                    .push(format!("{shown}: not a regular file ({kind}); skipped"));
            }
        } else if name == "book.toml" {
            l.meta_path = Some(path);
        } else if has_page_extension(&path) || looks_like_a_page(&path) {
            l.files.push(path);
        } else {
            l.skipped.push(format!(
                "{}: not a page image (neither by its name nor by its first bytes); skipped",
                escape_name(&name)
            ));
        }
    }
    let by_name = |p: &PathBuf| escape_name(p.file_name().unwrap_or_default());
    l.files
        .sort_by(|a, b| natural_cmp(&by_name(a), &by_name(b)));
    l.irregular
        .sort_by(|a, b| natural_cmp(&by_name(&a.0), &by_name(&b.0)));
    l.skipped.sort_by(|a, b| natural_cmp(a, b));
    Ok(l)
}

/// A file without a page extension that is a page all the same: named as an image kitap does
/// not read, or, by its first bytes, an image (a PNG saved as `.dat`) or a PDF not named as
/// one (or named as a numbered page, `0005.pdf`). Text is not
/// looked at as an image here (a plain PNM starts like text), so notes and checksums stay
/// notes.
fn looks_like_a_page(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if UNREAD_IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return true;
    }
    let mut head = Vec::with_capacity(32);
    let _ = std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 32), &mut head));
    match crate::load::sniff(&head) {
        Ok(crate::load::Format::Pnm) => false,
        Ok(_) => true,
        // A PDF named `.pdf` is a document kept beside the pages (a donor's record, an old
        // scan), unless it is numbered as a page is (`0005.pdf`, from scanning software that
        // saves PDF pages); under any other name it is a page in disguise.
        Err(crate::load::LoadError::Pdf) if ext == "pdf" => path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())),
        Err(e) => e.is_image_or_pdf(),
    }
}

/// Whether a folder directly holds a page image (a regular file with a page extension).
fn holds_pages(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            has_page_extension(&e.path()) && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file())
        })
    })
}

/// What a file that is not a regular file is, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a named pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "not a file"
}

/// Turns a listed folder into books: itself when it holds pages (or names that should be
/// pages), and its hidden folders of pages — a warning on the book that holds them, else a
/// failed book each, so no page goes unmentioned.
fn add_folder(books: &mut Vec<BookDir>, root: &Path, dir: &Path, l: Listing) {
    if l.files.is_empty() && l.irregular.is_empty() {
        books.extend(l.hidden.iter().map(|h| hidden_book(root, h)));
        return;
    }
    let mut book = BookDir {
        meta_path: l.meta_path,
        files: l.files,
        skipped: l.skipped,
        ..book_dir(root, dir)
    };
    book.warnings.extend(numbering_warnings(&book.files));
    for h in &l.hidden {
        book.warnings.push(format!(
            "{}/: a hidden folder holding page images; not converted (kitap skips hidden folders: rename it to convert it as a book of its own)",
            escape_name(h.file_name().unwrap_or_default())
        ));
    }
    // A page that is a device or a pipe would be read forever or block: it is refused by its
    // metadata, and the book fails as for a link that leads nowhere (a page is missing).
    if let Some((path, kind)) = l.irregular.first() {
        book.error = Some(format!(
            "{}: not a regular file ({kind}); refused without opening it",
            path.display()
        ));
    }
    books.push(book);
}

/// A page file's name split as a numbered page: the stem's text before its last digits
/// (lower case) and the number (`Scan_0012.tif` → `scan_`, 12).
fn page_number(path: &Path) -> Option<(String, u64)> {
    let stem = path.file_stem()?.to_string_lossy();
    let digits = stem.len() - stem.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits > 12 {
        return None;
    }
    let (prefix, number) = stem.split_at(stem.len() - digits);
    Some((prefix.to_lowercase(), number.parse().ok()?))
}

/// What a scanning room gets wrong in page names and nobody sees in a converted book: numbers
/// that skip (`0001 0002 0004`: a page not scanned, or not copied) and two files for one page
/// (`0003.tif` and `0003.TIF`, `0003.tif` and `0003.png`, `3.tif` and `003.tif`). Both
/// files are converted; the warnings name them.
fn numbering_warnings(files: &[PathBuf]) -> Vec<String> {
    let name = |p: &PathBuf| escape_name(p.file_name().unwrap_or_default());
    let mut series: std::collections::BTreeMap<String, Vec<(u64, &PathBuf)>> = Default::default();
    for f in files {
        if let Some((prefix, n)) = page_number(f) {
            series.entry(prefix).or_default().push((n, f));
        }
    }
    // The run of numbered pages is the series holding most files (a `cover.tif` or a second
    // series such as `plate-01` stands apart).
    let Some(pages) = series.into_values().max_by_key(Vec::len) else {
        return Vec::new();
    };
    let mut pages = pages;
    pages.sort_by_key(|(n, _)| *n);
    let mut warnings = Vec::new();
    let mut gaps = Vec::new();
    for pair in pages.windows(2) {
        let ((a, fa), (b, fb)) = (pair[0], pair[1]);
        if a == b {
            warnings.push(format!(
                "{} and {}: two files for page number {a} (they differ only in extension, case or leading zeros); both converted, check which one belongs",
                name(fa),
                name(fb)
            ));
        } else if b > a + 1 {
            gaps.push(if b == a + 2 {
                format!("{} after {} (number {} missing)", name(fb), name(fa), a + 1)
            } else {
                format!(
                    "{} after {} (numbers {}–{} missing)",
                    name(fb),
                    name(fa),
                    a + 1,
                    b - 1
                )
            });
        }
    }
    if !gaps.is_empty() {
        let shown = gaps.len().min(5);
        warnings.push(format!(
            "page numbering skips: {}{}; a page not scanned or not copied?",
            gaps[..shown].join(", "),
            if gaps.len() > shown {
                format!(" and {} more", gaps.len() - shown)
            } else {
                String::new()
            }
        ));
    }
    warnings
}

/// A hidden folder of pages outside any book folder: a failed book, so the manifest and
/// stderr say it was left out.
fn hidden_book(root: &Path, dir: &Path) -> BookDir {
    BookDir {
        error: Some(
            "a hidden folder (its name starts with '.') holding page images; not converted: rename it to convert it, or move it out of the scans".into(),
        ),
        ..book_dir(root, dir)
    }
}

/// A book folder that lies inside another is a book of its own; both are told so.
fn warn_nested(books: &mut [BookDir]) {
    let at: HashMap<PathBuf, usize> = books
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.files.is_empty())
        .map(|(i, b)| (b.dir.clone(), i))
        .collect();
    let mut pairs = Vec::new();
    for (i, b) in books
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.files.is_empty())
    {
        if let Some(&outer) = b.dir.ancestors().skip(1).find_map(|a| at.get(a)) {
            pairs.push((outer, i));
        }
    }
    for (outer, inner) in pairs {
        let (o, n) = (books[outer].source.clone(), books[inner].source.clone());
        books[outer].warnings.push(format!(
            "holds the book folder {n}, which is converted as a book of its own, not as pages of this one"
        ));
        books[inner].warnings.push(format!(
            "lies inside the book folder {o}; converted as a book of its own"
        ));
    }
}

/// Ids that differ only in case collide when OUT is copied to a case-insensitive filesystem
/// (as upload servers often are): each such book is told which others it collides with.
fn warn_case_alike(books: &mut [BookDir]) {
    let mut by_folded: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, b) in books.iter().enumerate() {
        by_folded.entry(b.id.to_lowercase()).or_default().push(i);
    }
    let mut found = Vec::new();
    for group in by_folded.values().filter(|g| g.len() > 1) {
        for &i in group {
            for &j in group.iter().filter(|&&j| books[j].id != books[i].id) {
                found.push((i, format!(
                    "the id '{}' differs from '{}' ({}) only in case: their output folders collide when OUT is copied to a case-insensitive filesystem",
                    books[i].id, books[j].id, books[j].source
                )));
            }
        }
    }
    for (i, w) in found {
        books[i].warnings.push(w);
    }
}

/// A book whose id is the manifest's file name would put its folder where the manifest goes.
/// Names in OUT that are the batch's own files, not books.
const RESERVED: [(&str, &str); 3] = [
    (MANIFEST_NAME, "the batch manifest"),
    (crate::review::REVIEW_FILE, "the review page"),
    (crate::export::EXPORT_DIR, "where `kitap export` writes"),
];

fn refuse_reserved(books: &mut [BookDir]) {
    for b in books
        .iter_mut()
        .filter(|b| RESERVED.iter().any(|(n, _)| b.id.eq_ignore_ascii_case(n)))
    {
        let what = RESERVED
            .iter()
            .find(|(n, _)| b.id.eq_ignore_ascii_case(n))
            .map_or("", |(_, w)| w);
        b.error.get_or_insert_with(|| {
            format!(
                "a book folder may not be named '{}': OUT/{} is {what}; rename the folder",
                b.id,
                b.id.to_lowercase()
            )
        });
    }
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
    fn numbering_gaps_and_two_files_for_a_page_are_named() {
        let files = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert!(numbering_warnings(&files(&["0001.tif", "0002.tif", "0003.tif"])).is_empty());
        assert!(numbering_warnings(&files(&["cover.tif", "0001.tif", "0002.tif"])).is_empty());
        let w = numbering_warnings(&files(&["0001.png", "0002.png", "0004.png"]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("0004.png after 0002.png (number 3 missing)"),
            "{w:?}"
        );
        let w = numbering_warnings(&files(&["p1.tif", "p2.tif", "p9.tif"]));
        assert!(w[0].contains("numbers 3–8 missing"), "{w:?}");
        let w = numbering_warnings(&files(&["0003.tif", "0003.TIF", "0004.tif"]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("0003.tif and 0003.TIF: two files for page number 3"),
            "{w:?}"
        );
        let w = numbering_warnings(&files(&["3.tif", "003.png"]));
        assert!(w[0].contains("two files for page number 3"), "{w:?}");
        // Many gaps: five named, the rest counted.
        let many: Vec<String> = (0..20).map(|i| format!("{:04}.tif", i * 2)).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let w = numbering_warnings(&files(&many));
        assert!(
            w[0].ends_with("and 14 more; a page not scanned or not copied?"),
            "{w:?}"
        );
    }

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
    fn the_name_escape_is_lossless() {
        use std::os::unix::ffi::OsStrExt;
        let names: [&[u8]; 5] = [b"abai", b"a\xff", b"a%FF", b"a%25FF", "Қазақ%".as_bytes()];
        let shown: Vec<String> = names
            .iter()
            .map(|n| escape_name(OsStr::from_bytes(n)))
            .collect();
        assert_eq!(shown, ["abai", "a%FF", "a%25FF", "a%2525FF", "Қазақ%25"]);
        // Undoing the escape gives the bytes back.
        for (name, text) in names.iter().zip(&shown) {
            let mut bytes = Vec::new();
            let mut rest = text.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                if b == b'%' {
                    let hex = std::str::from_utf8(&tail[..2]).unwrap();
                    bytes.push(u8::from_str_radix(hex, 16).unwrap());
                    rest = &tail[2..];
                } else {
                    bytes.push(b);
                    rest = tail;
                }
            }
            assert_eq!(&bytes, name);
        }
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
            ".hidden/notes.txt",
            "b2/1.tif",
        ] {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let books = find_books(root, &[]).unwrap();
        let ids: Vec<_> = books.iter().map(|b| b.id.as_str()).collect();
        // A hidden folder without pages is passed over; one with pages is reported (tests/walk.rs).
        assert_eq!(ids, ["b1", "b2"]);
        // 2 then 10: numbers 3–9 are missing, which the book says.
        assert_eq!(books[0].warnings.len(), 1, "{:?}", books[0].warnings);
        assert!(books[0].warnings[0].contains("numbers 3–9 missing"));
        assert!(books[1].warnings.is_empty());
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
    fn a_page_that_is_a_pipe_fails_its_book_by_its_metadata() {
        // Opening a named pipe for reading blocks until a writer comes: it must never be opened.
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("b");
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("0001.png"), b"").unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(b.join("0002.png"))
            .status()
            .unwrap();
        assert!(made.success());
        let books = find_books(dir.path(), &[]).unwrap();
        assert_eq!(books.len(), 1);
        let err = books[0].error.as_deref().expect("the book fails");
        assert!(
            err.contains("0002.png") && err.contains("a named pipe"),
            "{err}"
        );
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
