//! A book's outputs change only as a whole generation. A run writes a book's new files and its
//! record into a staging folder inside OUT (`OUT/.kitap/staging/<id>.<pid>.new/`), then swaps
//! that folder with `OUT/<id>/` in one step, so after a crash, a full disk or `kill -9` at any
//! moment the book's folder holds either the whole old generation or the whole new one, and
//! the record inside it (`OUT/<id>/.kitap-book.json`) lists exactly the files beside it.
//!
//! The swap is Linux's `renameat2(RENAME_EXCHANGE)`: both folders exist at every instant. Where
//! it is not available (another OS, or a filesystem without it), two renames do the swap: the
//! old folder to `OUT/.kitap/staging/<id>.<pid>.old`, the new one into place. A crash between
//! them leaves `OUT/<id>` missing for a moment; the next run's [`recover`] puts the old
//! generation back.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fsio;
use crate::manifest::BookRecord;

/// The book's record inside its folder: the files of this generation with sizes and SHA-256.
pub const RECORD_FILE: &str = ".kitap-book.json";

/// Every extension a book's output can have (`<id>.<ext>`): kitap's own files in a book's
/// folder. Anything else found there is someone else's and is carried into the new generation.
/// The QR codes `kitap export shelf` writes beside the book's files are kitap's too: a new
/// generation drops them and the next export makes them again.
pub const OUTPUT_EXTENSIONS: [&str; 9] = [
    "pdf",
    "epub",
    "txt",
    "hocr",
    crate::convert::ALTO_EXT,
    crate::convert::WEB_PDF_EXT,
    crate::manifest::review::THUMBNAIL_EXT,
    "qr.svg",
    "qr.png",
];

/// `OUT/.kitap/staging`: where generations are built and old ones taken apart.
pub fn staging_root(out: &Path) -> PathBuf {
    out.join(".kitap").join("staging")
}

/// A book's next generation, being written. Dropped without [`Staging::commit`], it is
/// removed and the book's folder stays as it was.
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    id: String,
    committed: bool,
}

/// What a swap did besides the swap.
#[derive(Debug, Default)]
pub struct Committed {
    /// Files in the old folder that kitap did not write, linked into the new one.
    pub carried: Vec<String>,
    /// The two-rename swap was used (no `RENAME_EXCHANGE` here).
    pub two_renames: bool,
}

impl Staging {
    /// Creates the book's empty staging folder (a leftover of the same name is removed).
    pub fn create(out: &Path, id: &str) -> io::Result<Staging> {
        let root = staging_root(out);
        fs::create_dir_all(&root)?;
        let dir = root.join(format!("{id}.{}.new", std::process::id()));
        if fs::symlink_metadata(&dir).is_ok() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir(&dir)?;
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
            id: id.to_string(),
            committed: false,
        })
    }

    /// The folder the new files are written in, under their final names.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `OUT/<id>`: where the generation goes.
    pub fn target(&self) -> PathBuf {
        self.out.join(&self.id)
    }

    /// Writes the record, then swaps the new generation in. On error the old generation (if
    /// any) is still in place and the staging folder is removed.
    pub fn commit(mut self, record: &BookRecord) -> io::Result<Committed> {
        write_record(&self.dir, record)?;
        sync_dir(&self.dir)?;
        let target = self.target();
        let mut done = Committed::default();
        match fs::symlink_metadata(&target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(&self.dir, &target)?;
            }
            Err(e) => return Err(e),
            Ok(m) if !m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a folder kitap made; move it away",
                        target.display()
                    ),
                ));
            }
            Ok(_) => {
                done.carried = carry_foreign(&target, &self.dir, &self.id)?;
                done.two_renames = swap(&self.dir, &target, &self.old_path())?;
            }
        }
        self.committed = true;
        // The swap is done: a failed sync no longer makes the book fail.
        let _ = sync_dir(&self.out);
        // The old generation now sits at the staging name (or the .old name): gone next.
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_dir_all(self.old_path());
        Ok(done)
    }

    fn old_path(&self) -> PathBuf {
        self.dir
            .with_file_name(format!("{}.{}.old", self.id, std::process::id()))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Swaps `new` and `target` (both must exist); returns whether the two-rename fallback was
/// used, after which the old `target` is at `old` instead of `new`. `kitap export saf` swaps its
/// archive folder with it too. `KITAP_NO_RENAME_EXCHANGE` (set to anything) forces the
/// fallback, to test it.
pub(crate) fn swap(new: &Path, target: &Path, old: &Path) -> io::Result<bool> {
    if std::env::var_os("KITAP_NO_RENAME_EXCHANGE").is_none() {
        match exchange(new, target) {
            Ok(()) => return Ok(false),
            Err(e) if !exchange_unsupported(&e) => return Err(e),
            Err(_) => {}
        }
    }
    two_renames(new, target, old)?;
    Ok(true)
}

/// The fallback swap: the old folder aside, the new one in. Between the two renames the book
/// has no folder; [`recover`] puts the old one back if the process dies there.
fn two_renames(new: &Path, target: &Path, old: &Path) -> io::Result<()> {
    fs::rename(target, old)?;
    if let Err(e) = fs::rename(new, target) {
        // Put the old generation back: the book must not be left without a folder.
        fs::rename(old, target)?;
        return Err(e);
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// The filesystem or kernel cannot exchange: fall back to two renames.
fn exchange_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported || matches!(e.raw_os_error(), Some(22 | 38 | 95)) // EINVAL, ENOSYS, EOPNOTSUPP
}

/// Whether `name` in book `id`'s folder is kitap's: an output, the record, or a temporary file.
fn is_kitaps(name: &OsStr, id: &str) -> bool {
    let name = name.to_string_lossy();
    name == RECORD_FILE
        || name.contains(".kitap-tmp-")
        || OUTPUT_EXTENSIONS
            .iter()
            .any(|ext| name.strip_suffix(ext).and_then(|n| n.strip_suffix('.')) == Some(id))
}

/// Links every file of `old` that kitap did not write into `new` (someone's notes in a book's
/// output folder must not vanish with the old generation). Returns their names.
fn carry_foreign(old: &Path, new: &Path, id: &str) -> io::Result<Vec<String>> {
    let mut carried = Vec::new();
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let name = entry.file_name();
        if is_kitaps(&name, id) || new.join(&name).exists() {
            continue;
        }
        link_tree(&entry.path(), &new.join(&name))?;
        carried.push(name.to_string_lossy().into_owned());
    }
    carried.sort();
    Ok(carried)
}

/// Hard-links a file (copies it where links are refused), recreates a symlink, or does so for
/// everything under a folder.
fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        symlink(&fs::read_link(from)?, to)
    } else if meta.is_file() {
        fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(|_| ()))
    } else {
        // A pipe or socket holds no data; copying one would block.
        Ok(())
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    fs::copy(target, link).map(|_| ())
}

/// Makes a folder's entries (renames, new files) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes (atomically) the record into a book's folder: into a staging folder before the swap,
/// or into the current generation's when only its inputs' times are refreshed.
pub fn write_record(book_dir: &Path, record: &BookRecord) -> io::Result<()> {
    let json = serde_json::to_string_pretty(record).map_err(io::Error::other)?;
    fsio::write_atomic(&book_dir.join(RECORD_FILE), json.as_bytes())
}

/// The record of the generation in a book's folder, if it has one that parses.
pub fn read_record(book_dir: &Path) -> Option<BookRecord> {
    let bytes = fs::read(book_dir.join(RECORD_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Cleans up after runs that were killed. It runs under OUT's lock, before this run has made
/// anything, so every staging folder of the books `ours` names is a dead run's (a pid says
/// nothing: a container's kitap is pid 1 every night); a shard names only its own books, as the
/// other shards' staging folders may be alive. A new generation is removed; an old one is put
/// back when its book has no folder (a kill between the fallback's two renames), else removed.
/// Each entry on its own: one that cannot be removed is a warning, not a stopped run. OUT's
/// own temporary files are removed only by a run that holds OUT alone (`whole`). Returns one
/// line per generation put back and per problem.
pub fn recover(out: &Path, ours: impl Fn(&str) -> bool, whole: bool) -> io::Result<Vec<String>> {
    let mut lines = if whole {
        remove_dead_temporaries(out)
    } else {
        Vec::new()
    };
    let root = staging_root(out);
    let entries = match fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(lines),
        Err(e) => return Err(e),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((id, _, kind)) = parse_staging_name(&name) else {
            continue;
        };
        if !ours(id) {
            continue;
        }
        let target = out.join(id);
        let done = if kind == "old" && fs::symlink_metadata(&target).is_err() {
            fs::rename(entry.path(), &target).map(|()| {
                lines.push(format!(
                    "{}: put back the previous outputs of '{id}' (a run was killed while swapping them)",
                    target.display()
                ));
            })
        } else {
            remove_tree(&entry.path())
        };
        if let Err(e) = done {
            lines.push(format!(
                "{}: left from a killed run and cannot be removed: {e}",
                entry.path().display()
            ));
        }
    }
    Ok(lines)
}

/// Removes a folder tree, making read-only folders in it writable first.
fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_writable(path);
            fs::remove_dir_all(path)
        }
        r => r,
    }
}

fn make_writable(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let mut perms = meta.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        let _ = fs::set_permissions(path, perms);
        for e in fs::read_dir(path).into_iter().flatten().flatten() {
            make_writable(&e.path());
        }
    }
}

/// Temporary files a killed run left in OUT (`.manifest.json.kitap-tmp-<pid>`,
/// `.kitap-probe-<pid>`): under the lock nobody will finish them. Returns the ones that could
/// not be removed.
fn remove_dead_temporaries(out: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in fs::read_dir(out).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let temporary = name.contains(".kitap-tmp-") || name.starts_with(".kitap-probe-");
        if temporary
            && entry.file_type().is_ok_and(|t| t.is_file())
            && let Err(e) = fs::remove_file(entry.path())
        {
            problems.push(format!("{}: cannot remove: {e}", entry.path().display()));
        }
    }
    problems
}

/// `<id>.<pid>.new` or `<id>.<pid>.old` → (id, pid, kind).
fn parse_staging_name(name: &str) -> Option<(&str, u32, &str)> {
    let (rest, kind) = name.rsplit_once('.')?;
    let (id, pid) = rest.rsplit_once('.')?;
    (matches!(kind, "new" | "old") && !id.is_empty()).then_some((id, pid.parse().ok()?, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Status;

    fn record(id: &str) -> BookRecord {
        BookRecord::new(id, Status::Ok, id)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn generation(out: &Path, id: &str, text: &str) -> io::Result<Committed> {
        let s = Staging::create(out, id)?;
        fs::write(s.dir().join(format!("{id}.txt")), text)?;
        s.commit(&record(id))
    }

    #[test]
    fn a_generation_replaces_the_whole_folder_and_keeps_foreign_files() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        generation(o, "бк", "one").unwrap();
        fs::write(o.join("бк/бк.hocr"), "stale").unwrap();
        fs::write(o.join("бк/notes.md"), "mine").unwrap();
        fs::create_dir(o.join("бк/extra")).unwrap();
        fs::write(o.join("бк/extra/a"), "a").unwrap();
        let done = generation(o, "бк", "two").unwrap();
        assert_eq!(done.carried, ["extra", "notes.md"]);
        assert_eq!(
            names(&o.join("бк")),
            [".kitap-book.json", "extra", "notes.md", "бк.txt"]
        );
        assert_eq!(fs::read_to_string(o.join("бк/бк.txt")).unwrap(), "two");
        assert_eq!(fs::read_to_string(o.join("бк/extra/a")).unwrap(), "a");
        assert_eq!(read_record(&o.join("бк")).unwrap().id, "бк");
        // Nothing is left in staging.
        assert!(names(&staging_root(o)).is_empty());
    }

    #[test]
    fn a_dropped_staging_leaves_the_old_generation() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        generation(o, "b", "one").unwrap();
        let s = Staging::create(o, "b").unwrap();
        fs::write(s.dir().join("b.txt"), "half").unwrap();
        drop(s);
        assert_eq!(fs::read_to_string(o.join("b/b.txt")).unwrap(), "one");
        assert!(names(&staging_root(o)).is_empty());
    }

    #[test]
    fn a_file_where_the_book_folder_goes_is_not_replaced() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        fs::write(o.join("b"), "someone's file").unwrap();
        let e = generation(o, "b", "one").unwrap_err();
        assert!(e.to_string().contains("not a folder"), "{e}");
        assert_eq!(fs::read_to_string(o.join("b")).unwrap(), "someone's file");
    }

    #[test]
    fn recover_puts_back_an_old_generation_and_removes_dead_staging() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        generation(o, "a.b", "old").unwrap();
        // What a kill between the fallback's two renames leaves: no folder, an .old one.
        let root = staging_root(o);
        // A pid that cannot be running: above the kernel's pid_max limit (4194304).
        fs::rename(o.join("a.b"), root.join("a.b.4194999.old")).unwrap();
        fs::create_dir(root.join("a.b.4194999.new")).unwrap();
        // Also one with this process's pid: a container's kitap has the same pid every run.
        fs::create_dir(root.join(format!("c.{}.new", std::process::id()))).unwrap();
        fs::write(o.join(".manifest.json.kitap-tmp-4194999"), "half").unwrap();
        fs::write(o.join(".kitap-probe-4194999"), "kitap").unwrap();
        let restored = recover(o, |_| true, true).unwrap();
        assert!(!o.join(".manifest.json.kitap-tmp-4194999").exists());
        assert!(!o.join(".kitap-probe-4194999").exists());
        assert_eq!(restored.len(), 1, "{restored:?}");
        assert_eq!(fs::read_to_string(o.join("a.b/a.b.txt")).unwrap(), "old");
        assert!(names(&root).is_empty());
    }

    #[test]
    fn the_two_rename_fallback_swaps_too() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        generation(o, "b", "old").unwrap();
        let s = Staging::create(o, "b").unwrap();
        fs::write(s.dir().join("b.txt"), "new").unwrap();
        let old = s.old_path();
        two_renames(s.dir(), &s.target(), &old).unwrap();
        assert_eq!(fs::read_to_string(o.join("b/b.txt")).unwrap(), "new");
        assert_eq!(fs::read_to_string(old.join("b.txt")).unwrap(), "old");
    }

    #[test]
    fn an_entry_that_cannot_be_removed_is_a_warning_and_the_rest_is_cleaned() {
        let out = tempfile::tempdir().unwrap();
        let o = out.path();
        let root = staging_root(o);
        fs::create_dir_all(&root).unwrap();
        // Not a folder: remove_dir_all refuses it.
        fs::write(root.join("x.7.new"), "odd").unwrap();
        fs::create_dir(root.join("y.7.new")).unwrap();
        let lines = recover(o, |_| true, true).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("cannot be removed"), "{lines:?}");
        assert_eq!(names(&root), ["x.7.new"]);
    }

    #[test]
    fn staging_names_parse_with_dots_in_the_id() {
        assert_eq!(
            parse_staging_name("kz.0001.123.new"),
            Some(("kz.0001", 123, "new"))
        );
        assert_eq!(parse_staging_name("x.12.tmp"), None);
        assert_eq!(parse_staging_name(".5.old"), None);
    }
}
