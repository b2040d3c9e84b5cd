//! Shards: one batch split over the jobs of a cluster's scheduler (a Slurm job array, a
//! Kubernetes Indexed Job), each converting the books of its shard into the same OUT, then
//! joined by `kitap merge`.
//!
//! A book's shard depends on its id alone: the first 8 bytes of the SHA-256 of the id (UTF-8),
//! read as a big-endian integer, modulo the number of shards. In Python:
//! `int(hashlib.sha256(id.encode()).hexdigest()[:16], 16) % N`. Adding books never moves a book
//! to another shard, and every book is in exactly one.
//!
//! Each shard writes its manifest part `OUT/.kitap/shards/K-of-N.json` (never
//! `OUT/manifest.json`) and holds its own lock `OUT/.kitap/shards/K-of-N.lock`, with a shared
//! hold on OUT's lock: the shards of one N run at once, the same shard twice does not, and a
//! run that needs OUT alone (an unsharded convert, merge, review) waits for them all.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Shard `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    /// `K-of-N`, as the part and lock files are named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-of-{}", self.index, self.count)
    }
}

/// Which shard of `count` the book `id` is in.
pub fn shard_of(id: &str, count: u32) -> u32 {
    let digest = Sha256::digest(id.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % u64::from(count.max(1))) as u32
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index} of {count} does not exist: shards are numbered 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether book `id` is in this shard.
    pub fn holds(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }

    /// `K-of-N` as in a part's file name; None for any other name.
    pub fn parse_name(name: &str) -> Option<Shard> {
        let (k, n) = name.split_once("-of-")?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(k) || !digits(n) {
            return None;
        }
        Shard::new(k.parse().ok()?, n.parse().ok()?).ok()
    }

    /// The shard from the scheduler's environment: a Slurm array task (`SLURM_ARRAY_TASK_ID`
    /// with `SLURM_ARRAY_TASK_COUNT`, or `SLURM_ARRAY_TASK_MIN`/`MAX` and `STEP`; with
    /// `KITAP_SHARDS` set, the task id is K of that N, so one task can redo one shard), or a
    /// Kubernetes Indexed Job's pod (`JOB_COMPLETION_INDEX` with `KITAP_SHARDS`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<u32>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a whole number")),
            }
        };
        if let Some(task) = num("SLURM_ARRAY_TASK_ID")? {
            // N given: the task id is K itself (--array=0-9, or --array=3 to redo shard 3).
            if let Some(count) = num("KITAP_SHARDS")? {
                return Shard::new(task, count).map_err(|e| {
                    format!("Slurm array with KITAP_SHARDS={count}: {e} (with KITAP_SHARDS the task ids are the shards: --array=0-{})", count.max(1) - 1)
                });
            }
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let count = match (num("SLURM_ARRAY_TASK_COUNT")?, num("SLURM_ARRAY_TASK_MAX")?) {
                (Some(c), _) => c,
                (None, Some(max)) if max >= min => (max - min) / step + 1,
                _ => {
                    return Err(
                        "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: is this a job array (sbatch --array=0-N)?"
                            .into(),
                    );
                }
            };
            if task < min || (task - min) % step != 0 {
                return Err(format!(
                    "SLURM_ARRAY_TASK_ID={task} is not in the array {min}-…:{step}"
                ));
            }
            return Shard::new((task - min) / step, count).map_err(|e| format!("Slurm array: {e}"));
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let Some(count) = num("KITAP_SHARDS")? else {
                return Err(
                    "JOB_COMPLETION_INDEX is set but KITAP_SHARDS is not: set it to the Job's completions"
                        .into(),
                );
            };
            return Shard::new(index, count).map_err(|e| format!("Kubernetes Indexed Job: {e}"));
        }
        Err("auto: not in a Slurm job array (no SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (no JOB_COMPLETION_INDEX with KITAP_SHARDS); give --shard K/N".into())
    }
}

/// What `--shard` says: a shard, or `auto` (from the environment when the run starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Given(Shard),
    Auto,
}

/// Parses `--shard`: `K/N` (0 ≤ K < N) or `auto`.
pub fn parse_arg(s: &str) -> Result<ShardArg, String> {
    if s.trim().eq_ignore_ascii_case("auto") {
        return Ok(ShardArg::Auto);
    }
    let usage = || format!("'{s}': give K/N (shard K of N, counted from 0, e.g. 0/4) or auto");
    let (k, n) = s.split_once('/').ok_or_else(usage)?;
    let k: u32 = k.trim().parse().map_err(|_| usage())?;
    let n: u32 = n.trim().parse().map_err(|_| usage())?;
    Shard::new(k, n).map(ShardArg::Given)
}

impl ShardArg {
    /// The shard this run converts.
    pub fn resolve(self) -> Result<Shard, String> {
        match self {
            ShardArg::Given(s) => Ok(s),
            ShardArg::Auto => Shard::from_env(|name| std::env::var(name).ok()),
        }
    }
}

/// The identity of the scheduler's run the shards belong to: `KITAP_RUN`, else Slurm's
/// `SLURM_ARRAY_JOB_ID` (the same in every task of one array).
pub fn run_id(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    ["KITAP_RUN", "SLURM_ARRAY_JOB_ID"]
        .iter()
        .filter_map(|name| var(name))
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// `OUT/.kitap/shards`: the parts and the shards' locks.
pub fn dir(out: &Path) -> PathBuf {
    out.join(".kitap").join("shards")
}

/// `OUT/.kitap/shards/K-of-N.json`.
pub fn part_path(out: &Path, shard: Shard) -> PathBuf {
    dir(out).join(format!("{shard}.json"))
}

/// Removes temporary files a killed shard (or merge) left in `OUT/.kitap/shards`: those of
/// `only`'s part, or all of them (for a run that holds OUT alone).
pub fn remove_temporaries(out: &Path, only: Option<Shard>) {
    let mine = only.map(|s| format!(".{s}.json.kitap-tmp-"));
    for e in std::fs::read_dir(dir(out)).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let dead = match &mine {
            Some(prefix) => name.starts_with(prefix.as_str()),
            None => name.contains(".kitap-tmp-"),
        };
        if dead {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The manifest parts in OUT, with their shards, in name order.
pub fn parts(out: &Path) -> std::io::Result<Vec<(Shard, PathBuf)>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir(out)) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(shard) = name.strip_suffix(".json").and_then(Shard::parse_name) {
            found.push((shard, e.path()));
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn a_books_shard_is_the_sha256_of_its_id_and_shards_are_even() {
        // As documented, in Python: int(hashlib.sha256(b"kk-0001").hexdigest()[:16], 16) % 7
        let digest = Sha256::digest(b"kk-0001");
        let head = u64::from_str_radix(&format!("{digest:x}")[..16], 16).unwrap();
        assert_eq!(shard_of("kk-0001", 7), (head % 7) as u32);
        // Unicode ids hash their UTF-8 bytes.
        assert_eq!(shard_of("Türkmen-ňöş", 1), 0);
        // Spread: every shard gets a fair share of 2000 books.
        let ids: Vec<String> = (0..2000).map(|i| format!("book-{i:05}")).collect();
        let shards: Vec<u32> = ids.iter().map(|id| shard_of(id, 5)).collect();
        for k in 0..5 {
            let n = shards.iter().filter(|&&s| s == k).count();
            assert!((320..480).contains(&n), "shard {k}: {n} books");
        }
    }

    #[test]
    fn shard_arguments() {
        assert_eq!(
            parse_arg("1/3"),
            Ok(ShardArg::Given(Shard { index: 1, count: 3 }))
        );
        assert_eq!(parse_arg("AUTO"), Ok(ShardArg::Auto));
        for bad in ["3/3", "0/0", "1", "a/b", "-1/3", "1/3/4"] {
            assert!(parse_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Shard::parse_name("2-of-10"),
            Some(Shard {
                index: 2,
                count: 10
            })
        );
        assert_eq!(Shard::parse_name("10-of-10"), None);
        assert_eq!(Shard::parse_name("x-of-3"), None);
        assert_eq!(
            Shard {
                index: 2,
                count: 10
            }
            .to_string(),
            "2-of-10"
        );
    }

    #[test]
    fn the_shard_from_slurm_or_kubernetes() {
        let s = |index, count| Ok(Shard { index, count });
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(Shard::from_env(slurm), s(2, 3));
        // --array=1-4: tasks 1..4 are shards 0..3.
        let offset = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "4"),
        ]);
        assert_eq!(Shard::from_env(offset), s(3, 4));
        // --array=0-8:2: tasks 0 2 4 6 8 are shards 0..4.
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ]);
        assert_eq!(Shard::from_env(stepped), s(3, 5));
        // One task redoing shard 7 of 10: --array=7 with KITAP_SHARDS=10.
        let redo = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
            ("KITAP_SHARDS", "10"),
        ]);
        assert_eq!(Shard::from_env(redo), s(7, 10));
        let past = env(&[("SLURM_ARRAY_TASK_ID", "10"), ("KITAP_SHARDS", "10")]);
        assert!(Shard::from_env(past).unwrap_err().contains("--array=0-9"));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0"), ("KITAP_SHARDS", "4")]);
        assert_eq!(Shard::from_env(k8s), s(0, 4));
        let none = Shard::from_env(env(&[])).unwrap_err();
        assert!(none.contains("SLURM_ARRAY_TASK_ID") && none.contains("JOB_COMPLETION_INDEX"));
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).is_err());
        assert!(Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "0")])).is_err());
        let past = env(&[("JOB_COMPLETION_INDEX", "4"), ("KITAP_SHARDS", "4")]);
        assert!(Shard::from_env(past).is_err());
        let run = env(&[("SLURM_ARRAY_JOB_ID", "77")]);
        assert_eq!(run_id(run), Some("77".into()));
        let both = env(&[("SLURM_ARRAY_JOB_ID", "77"), ("KITAP_RUN", "night-3")]);
        assert_eq!(run_id(both), Some("night-3".into()));
    }
}
