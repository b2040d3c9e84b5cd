//! An export's folder (the OPDS catalog, the DSpace archive), replaced whole: built beside its
//! target (`.<name>.kitap-tmp-<pid>`), synced to disk, then swapped in (`RENAME_EXCHANGE` where
//! the system has it), so a reader never sees half of it, a killed export leaves the previous
//! one as it was, and files an earlier export wrote that this one does not are gone with it.
//!
//! A mark file inside tells a later export that the folder is kitap's to replace: a folder of
//! someone else's is refused, never emptied; so are OUT, a folder holding OUT and a book's
//! own folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Batch, ExportError};

/// A folder being written. Dropped without [`Folder::commit`], it is removed and the target
/// stays as it was.
pub struct Folder {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Folder {
    /// Checks that `target` is kitap's to replace (absent, empty, or holding `mark`), removes
    /// what killed exports left beside it, and makes the temporary folder with `mark` in it
    /// (`mark_text` says what the folder is to whoever opens the mark).
    pub fn start(
        batch: &Batch,
        target: &Path,
        mark: &str,
        mark_text: &str,
    ) -> Result<Folder, ExportError> {
        check_target(batch, target, mark)?;
        let parent = parent(target);
        fs::create_dir_all(parent).map_err(written(parent))?;
        remove_leftovers(target)?;
        let folder = Folder {
            target: target.to_path_buf(),
            tmp: crate::fsio::temp_path(target),
            committed: false,
        };
        fs::create_dir(&folder.tmp).map_err(written(&folder.tmp))?;
        folder.write(mark, mark_text.as_bytes())?;
        Ok(folder)
    }

    /// Where the new folder is being built.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Writes a file at `rel` (`/`-separated) in the new folder, making its folders.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), ExportError> {
        let path = super::in_out(&self.tmp, rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(written(dir))?;
        }
        fs::write(&path, bytes).map_err(written(&path))
    }

    /// Puts the new folder in place of the target (both there at every instant where the
    /// system can swap folders), then removes the previous one.
    pub fn commit(mut self) -> Result<(), ExportError> {
        let write_error = |e| ExportError::Write(self.target.clone(), e);
        durable(&self.tmp).map_err(written(&self.tmp))?;
        let old = sibling(&self.target, "old");
        match fs::symlink_metadata(&self.target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(&self.tmp, &self.target).map_err(write_error)?;
            }
            Err(e) => return Err(write_error(e)),
            Ok(_) => {
                crate::generation::swap(&self.tmp, &self.target, &old).map_err(write_error)?;
            }
        }
        self.committed = true;
        // The previous folder now sits at the temporary name, or the old one after the
        // two-rename swap; what cannot be removed now goes with the next export's leftovers.
        let _ = fs::remove_dir_all(&self.tmp);
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// The folder is replaced whole, so it must be kitap's to replace: absent, empty, or marked by
/// an earlier export, and nothing OUT is made of ([`Batch::check_target`]).
fn check_target(batch: &Batch, dir: &Path, mark: &str) -> Result<(), ExportError> {
    batch.check_target(dir, false)?;
    let refuse = |why: String| Err(ExportError::Usage(format!("-o {}: {why}", dir.display())));
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ExportError::Write(dir.to_path_buf(), e)),
        Ok(m) if !m.is_dir() => {
            refuse("exists and is a file or a symlink, not a folder; it is left as it is".into())
        }
        Ok(_) => {
            let empty = fs::read_dir(dir)
                .map_err(|e| ExportError::Write(dir.to_path_buf(), e))?
                .next()
                .is_none();
            if empty || dir.join(mark).is_file() {
                Ok(())
            } else {
                refuse(format!(
                    "exists and was not written by this kitap export (it has no {mark}); \
                     it is left as it is: give -o a new or empty folder"
                ))
            }
        }
    }
}

/// What an error writing `path` becomes.
pub fn written(path: &Path) -> impl FnOnce(io::Error) -> ExportError {
    let path = path.to_path_buf();
    move |e| ExportError::Write(path, e)
}

/// The folder the target is in (`.` for a bare name).
fn parent(target: &Path) -> &Path {
    target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `.<name>.kitap-<kind>-<pid>` beside the target.
fn sibling(target: &Path, kind: &str) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".{name}.kitap-{kind}-{}", std::process::id()))
}

/// Removes the temporary and old folders of killed exports beside the target. Their pids
/// are not asked after: OUT's lock is held, and a container's kitap has the same pid every run.
fn remove_leftovers(target: &Path) -> Result<(), ExportError> {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let prefixes = [format!(".{name}.kitap-tmp-"), format!(".{name}.kitap-old-")];
    let parent = parent(target);
    let entries = fs::read_dir(parent).map_err(written(parent))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| file.starts_with(p.as_str())) {
            let path = entry.path();
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(|e| ExportError::Write(path, e))?;
        }
    }
    Ok(())
}

/// Everything written under `dir` on disk before it is renamed into place, so a power cut
/// never leaves an export of empty files: one `syncfs` on Linux, each file elsewhere.
fn durable(dir: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let d = fs::File::open(dir)?;
        rustix::fs::syncfs(&d)?;
    }
    #[cfg(not(target_os = "linux"))]
    for e in walkdir::WalkDir::new(dir) {
        let e = e.map_err(io::Error::other)?;
        if e.file_type().is_file() {
            fs::File::open(e.path())?.sync_all()?;
        }
    }
    Ok(())
}
