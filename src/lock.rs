//! One run at a time per OUT: an exclusive OS lock on `OUT/.kitap/lock` (`flock` on Unix,
//! `LockFileEx` on Windows, through std's `File::try_lock`). The kernel releases it when the
//! holder dies, however it dies, so there is never a stale lock to clean up. The file also holds
//! the holder's pid and start time, for the message a second run prints.
//!
//! On NFS, `flock` is emulated with NFS byte-range locks by Linux clients (since 2.6.12): it
//! works between machines when the server supports NLM/NFSv4 locks, and a client that loses its
//! lease loses the lock. On filesystems without locks the lock cannot be taken and the run
//! stops rather than run unguarded.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held for the whole run; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct OutLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another run holds it (exit 3): what it wrote about itself, and how long this run
    /// waited for it (`--wait-lock`).
    Held {
        path: PathBuf,
        holder: String,
        waited: Option<Duration>,
    },
    /// The lock file cannot be made: OUT is not writable (exit 4).
    Create { path: PathBuf, source: io::Error },
    /// The lock file cannot be locked or written (exit 4).
    Io { path: PathBuf, source: io::Error },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held {
                path,
                holder,
                waited: None,
            } => write!(
                f,
                "{}: another kitap run is writing into this output folder ({holder}); try again when it ends, or use --wait-lock",
                path.display()
            ),
            LockError::Held {
                path,
                holder,
                waited: Some(w),
            } => write!(
                f,
                "{}: another kitap run is still writing into this output folder after waiting {} s ({holder})",
                path.display(),
                w.as_secs()
            ),
            LockError::Create { path, source } | LockError::Io { path, source } => {
                write!(
                    f,
                    "{}: cannot lock the output folder: {source}",
                    path.display()
                )
            }
        }
    }
}

/// `OUT/.kitap/lock`.
pub fn lock_path(out: &Path) -> PathBuf {
    out.join(".kitap").join("lock")
}

impl OutLock {
    /// Takes the lock of `out`, waiting up to `wait` for another run to end (none: not at all).
    pub fn acquire(out: &Path, wait: Option<Duration>) -> Result<OutLock, LockError> {
        let path = lock_path(out);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let create_err = |source| LockError::Create {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(path.parent().expect("inside OUT")).map_err(create_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(create_err)?;
        // A wait too long to add to now is a wait without end.
        let deadline = wait.map(|w| Instant::now().checked_add(w));
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if deadline.is_some_and(|d| d.is_none_or(|d| Instant::now() < d)) {
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                    return Err(LockError::Held {
                        holder: holder(&mut file),
                        path,
                        waited: wait,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        let me = format!(
            "pid {} on {}, started {}",
            std::process::id(),
            hostname(),
            crate::manifest::now_rfc3339()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush());
        written.map_err(io_err)?;
        Ok(OutLock { _file: file })
    }
}

/// What the holder wrote about itself.
fn holder(file: &mut File) -> String {
    let mut s = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(200).read_to_string(&mut s));
    match read {
        Ok(_) if !s.trim().is_empty() => s.trim().to_string(),
        _ => "a run that has not yet said who it is".to_string(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this machine".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holder_and_taken_after_release() {
        let out = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(out.path(), None).unwrap();
        let e = OutLock::acquire(out.path(), None).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(matches!(e, LockError::Held { .. }));
        drop(first);
        OutLock::acquire(out.path(), None).unwrap();
    }

    #[test]
    fn waiting_for_the_lock_gets_it_when_the_holder_lets_go() {
        let out = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(out.path(), None).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        OutLock::acquire(out.path(), Some(Duration::from_secs(10))).unwrap();
        releaser.join().unwrap();
    }
}
