//! One run at a time per OUT: an exclusive OS lock on `OUT/.kitap/lock` (`flock` on Unix,
//! `LockFileEx` on Windows, through std's `File::try_lock`). The kernel releases it when the
//! holder dies, however it dies, so there is never a stale lock to clean up. The file also holds
//! the holder's pid and start time, for the message a second run prints.
//!
//! A shard of a sharded run (`--shard K/N`) holds OUT's lock shared and its own
//! `OUT/.kitap/shards/K-of-N.lock` exclusively: the shards of one N run at once, the same shard
//! twice does not, shards of another N are refused while these run (they would convert the
//! same books twice), and a run that needs OUT alone waits for every shard to end.
//!
//! On NFS, `flock` is emulated with NFS byte-range locks by Linux clients (since 2.6.12): it
//! works between machines when the server supports NLM/NFSv4 locks, and a client that loses its
//! lease loses the lock. On filesystems without locks the lock cannot be taken and the run
//! stops rather than run unguarded.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::shard::{self, Shard};

/// Held for the whole run; dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct OutLock {
    _files: Vec<File>,
}

/// How long a lock another run only looks at (to name its holder, or to see whether shards of
/// another N run) is retried before it counts as held.
const GLANCE: Duration = Duration::from_secs(2);

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
    /// Shards of another number of shards are converting into OUT (exit 3).
    OtherShards {
        path: PathBuf,
        running: u32,
        asked: u32,
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
            LockError::OtherShards {
                path,
                running,
                asked,
            } => write!(
                f,
                "{}: shards of a {running}-shard run are converting into this output folder; a {asked}-shard run would convert the same books twice — wait for them to end",
                path.display()
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

/// Which way a lock file is held.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exclusive,
    Shared,
}

/// Opens (creating) a lock file.
fn open(path: &Path) -> Result<File, LockError> {
    std::fs::create_dir_all(path.parent().expect("inside OUT")).map_err(|source| {
        LockError::Create {
            path: path.to_path_buf(),
            source,
        }
    })?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| LockError::Create {
            path: path.to_path_buf(),
            source,
        })
}

/// Takes `file`'s lock, retrying until `deadline` (none: forever). Ok(false): still held then.
fn take(
    file: &File,
    mode: Mode,
    deadline: Option<Instant>,
    path: &Path,
) -> Result<bool, LockError> {
    loop {
        let tried = match mode {
            Mode::Exclusive => file.try_lock(),
            Mode::Shared => file.try_lock_shared(),
        };
        match tried {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(TryLockError::Error(source)) => {
                return Err(LockError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// When to stop waiting for a lock: `wait` from now, and never before a glance's time (a lock
/// that another run is only looking at is free again in a moment). None: wait without end.
fn deadline(wait: Option<Duration>) -> Option<Instant> {
    let wait = wait.unwrap_or(Duration::ZERO).max(GLANCE);
    // A wait too long to add to now is a wait without end.
    Instant::now().checked_add(wait)
}

/// Writes who holds the lock into its file, for the message a refused run prints.
fn sign(file: &mut File, path: &Path) -> Result<(), LockError> {
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
    written.map_err(|source| LockError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl OutLock {
    /// Takes the lock of `out` for this run alone, waiting up to `wait` for another run to end
    /// (none: not at all).
    pub fn acquire(out: &Path, wait: Option<Duration>) -> Result<OutLock, LockError> {
        let path = lock_path(out);
        let mut file = open(&path)?;
        let until = wait.map(|w| Instant::now().checked_add(w));
        let unbounded = matches!(until, Some(None));
        let deadline = if unbounded {
            None
        } else {
            Some(until.flatten().unwrap_or_else(Instant::now))
        };
        if !take(&file, Mode::Exclusive, deadline, &path)? {
            return Err(LockError::Held {
                holder: holders(out, &mut file),
                path,
                waited: wait,
            });
        }
        sign(&mut file, &path)?;
        Ok(OutLock { _files: vec![file] })
    }

    /// Takes the locks of shard `shard` in `out`: OUT's lock shared, the shard's own
    /// exclusively, after checking that no shards of another N are running.
    pub fn acquire_shard(
        out: &Path,
        shard: Shard,
        wait: Option<Duration>,
    ) -> Result<OutLock, LockError> {
        let path = lock_path(out);
        let mut whole = open(&path)?;
        if !take(&whole, Mode::Shared, deadline(wait), &path)? {
            return Err(LockError::Held {
                holder: holder(&mut whole),
                path,
                waited: wait,
            });
        }
        let dir = shard::dir(out);
        // Every shard of N holds `of-N.lock` shared; another N's held lock means its shards run.
        // Each run takes its own before looking at the others', so of two runs of different N
        // starting together the later one sees the earlier.
        let count_path = dir.join(format!("of-{}.lock", shard.count));
        let count = open(&count_path)?;
        if !take(&count, Mode::Shared, deadline(wait), &count_path)? {
            return Err(LockError::Held {
                holder: "a run looking at the shards".into(),
                path: count_path,
                waited: wait,
            });
        }
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(n) = name
                .strip_prefix("of-")
                .and_then(|n| n.strip_suffix(".lock"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if n == shard.count {
                continue;
            }
            let other = open(&e.path())?;
            if !take(&other, Mode::Exclusive, deadline(wait), &e.path())? {
                return Err(LockError::OtherShards {
                    path: e.path(),
                    running: n,
                    asked: shard.count,
                });
            }
        }
        let own_path = dir.join(format!("{shard}.lock"));
        let mut own = open(&own_path)?;
        if !take(&own, Mode::Exclusive, deadline(wait), &own_path)? {
            return Err(LockError::Held {
                holder: format!("shard {shard}: {}", holder(&mut own)),
                path: own_path,
                waited: wait,
            });
        }
        sign(&mut own, &own_path)?;
        Ok(OutLock {
            _files: vec![whole, count, own],
        })
    }
}

/// Who holds OUT's lock: the shards running (each one's own lock says who it is), else what
/// the holder of OUT's lock wrote.
fn holders(out: &Path, whole: &mut File) -> String {
    let mut shards = Vec::new();
    for e in std::fs::read_dir(shard::dir(out))
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(shard) = name.strip_suffix(".lock").and_then(Shard::parse_name) else {
            continue;
        };
        let Ok(mut f) = File::open(e.path()) else {
            continue;
        };
        // A shared glance: it fails only while the shard holds its lock.
        match f.try_lock_shared() {
            Ok(()) => {}
            Err(_) => shards.push(format!("shard {shard}: {}", holder(&mut f))),
        }
    }
    if shards.is_empty() {
        holder(whole)
    } else {
        shards.sort();
        shards.join("; ")
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
