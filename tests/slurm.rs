//! The Slurm job array on a real Slurm (deploy/slurm/slurm-local start; .ci/run starts it):
//! deploy/slurm/kitap-array.sbatch converts a batch in three shards, kitap-merge.sbatch (after
//! the array, `afterany`) joins them, and OUT then holds what one plain `kitap convert` of the
//! same scans gives: the same books, pages and statuses, and byte for byte the same files.
//! Without a Slurm answering, the tests say SKIPPED (and fail under CI=true).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kitap::manifest::Manifest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Repository sample books (book.toml names their languages) and shared books (given one by
/// `stage_shared_books`): 10 pages, spread over all three shards.
const SAMPLES: [&str; 3] = [
    "en-reading-room",
    "ru-bumaga-i-svet",
    "tk-obadaky-kitaphana",
];
const SHARED: [&str; 2] = ["ukr-seed", "eng-skew-ocrmypdf"];
const SHARDS: u64 = 3;

/// No job may take longer than this (sbatch --time, and how long the test waits).
const LIMIT_MINUTES: u64 = 20;

struct Batch {
    dir: PathBuf,
    /// One plain `kitap convert`.
    plain: PathBuf,
    /// The job array and the merge job.
    sharded: PathBuf,
    /// The array's job id.
    job: String,
}

/// Slurm answers and has a node to run jobs on; else SKIPPED (a failure under CI=true).
fn slurm_up() -> bool {
    let why = match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(e) => format!("sinfo not found ({e}); apt-get install slurm-wlm munge"),
        Ok(o) if !o.status.success() => format!(
            "Slurm does not answer: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Ok(o) => {
            let states = String::from_utf8_lossy(&o.stdout).into_owned();
            if states
                .lines()
                .any(|s| ["idle", "mixed", "allocated", "completing"].contains(&s.trim()))
            {
                return true;
            }
            format!("no Slurm node can run jobs (sinfo: {})", states.trim())
        }
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}: .ci/run starts one with deploy/slurm/slurm-local start");
    }
    eprintln!("SKIPPED: {why} (start one with: sudo deploy/slurm/slurm-local start)");
    false
}

/// Every `*.out` file Slurm wrote into `dir`, for failure messages.
fn job_outputs(dir: &Path) -> String {
    let mut outs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "out"))
        .collect();
    outs.sort();
    outs.iter()
        .map(|p| {
            format!(
                "--- {}\n{}",
                p.display(),
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect()
}

/// `sbatch --parsable --wait ARGS SCRIPT` from `dir` with these variables exported: the job id
/// and sbatch's exit code (the highest of the job's tasks). A job still running after
/// LIMIT_MINUTES is cancelled and fails the test.
fn sbatch(dir: &Path, args: &[&str], script: &str, vars: &[(&str, &str)]) -> (String, i32) {
    let mut cmd = Command::new("sbatch");
    cmd.args(["--parsable", "--wait"])
        .arg(format!("--time={LIMIT_MINUTES}"))
        .arg(format!("--chdir={}", dir.display()))
        .args(args)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sbatch runs");
    // --parsable prints the id when the job is queued, long before --wait returns.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(LIMIT_MINUTES * 60 + 120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            if let Ok(id) = rx.try_recv() {
                let _ = Command::new("scancel").arg(id.trim()).status();
            }
            panic!(
                "sbatch {script} still waiting after {LIMIT_MINUTES} min; squeue:\n{}\n{}",
                tool_ok("squeue", &[]),
                job_outputs(dir)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let id = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("sbatch {script} printed no job id: {stderr}"));
    // `ID` or `ID;CLUSTER`.
    let id = id.split(';').next().unwrap().trim().to_string();
    (id, status.code().unwrap_or(-1))
}

/// `sbatch --parsable ARGS SCRIPT` from `dir`, not waiting: the job id.
fn submit(dir: &Path, args: &[&str], script: &str, vars: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable")
        .arg(format!("--time={LIMIT_MINUTES}"))
        .arg(format!("--chdir={}", dir.display()))
        .args(args)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("sbatch runs");
    assert!(
        o.status.success(),
        "sbatch {script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let id = String::from_utf8_lossy(&o.stdout).into_owned();
    id.split(';').next().unwrap().trim().to_string()
}

/// Each task of an ended array job with its exit code (`1:0`: exit 1, no signal), by task id.
fn task_exit_codes(job: &str) -> Vec<(u64, String)> {
    let shown = tool_ok("scontrol", &["-o", "show", "job", job]);
    let mut codes: Vec<(u64, String)> = shown
        .lines()
        .map(|line| {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .unwrap_or_else(|| panic!("no {name} in {line}"))
                    .to_string()
            };
            (field("ArrayTaskId=").parse().unwrap(), field("ExitCode="))
        })
        .collect();
    codes.sort();
    codes
}

fn batch() -> Option<&'static Batch> {
    static BATCH: Shared<Option<Batch>> = Shared::new();
    BATCH
        .get(|| {
            if !slurm_up() {
                return None;
            }
            let shared = shared()?;
            let dir = fixture_dir("slurm");
            let scans = dir.join("scans");
            copy_samples(&scans, &SAMPLES);
            stage_shared_books(&shared, &scans, &SHARED);
            let plain = dir.join("out-plain");
            let sharded = dir.join("out-sharded");
            Kitap::convert(&scans)
                .out(&plain)
                .args(["--jobs", "1", "--quiet"])
                .run()
                .success();
            let kitap = env!("CARGO_BIN_EXE_kitap");
            let (scans_s, out_s) = (scans.to_str().unwrap(), sharded.to_str().unwrap());
            let (job, code) = sbatch(
                &dir,
                &["--array=0-2", "--cpus-per-task=1"],
                "deploy/slurm/kitap-array.sbatch",
                &[("SCANS", scans_s), ("OUT", out_s), ("KITAP", kitap)],
            );
            assert_eq!(code, 0, "the array's tasks:\n{}", job_outputs(&dir));
            let (_, code) = sbatch(
                &dir,
                &[&format!("--dependency=afterany:{job}")],
                "deploy/slurm/kitap-merge.sbatch",
                &[
                    ("OUT", out_s),
                    ("KITAP_RUN", job.as_str()),
                    ("KITAP", kitap),
                ],
            );
            assert_eq!(code, 0, "the merge job:\n{}", job_outputs(&dir));
            Some(Batch {
                dir,
                plain,
                sharded,
                job,
            })
        })
        .as_ref()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// A book's shard as kitap computes it: the first 8 bytes of SHA-256 of its id, big-endian,
/// mod N.
fn shard_of(id: &str) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().unwrap()) % SHARDS
}

/// What must be the same in both OUTs, book by book: status, pages and their statuses, and
/// each file with its size and SHA-256.
fn books(m: &Manifest) -> Vec<Value> {
    let mut books: Vec<Value> = m
        .books
        .iter()
        .map(|b| {
            let mut files: Vec<Value> = b
                .files
                .iter()
                .map(|f| json!([f.path, f.bytes, f.sha256]))
                .collect();
            files.sort_by_key(|f| f.to_string());
            json!({
                "id": b.id,
                "status": b.status,
                "page_count": b.page_count,
                "pages": b.pages.iter().map(|p| json!([p.index, p.source, p.status])).collect::<Vec<_>>(),
                "files": files,
            })
        })
        .collect();
    books.sort_by_key(|b| b["id"].to_string());
    books
}

/// SHA-256 of every file in OUT but those that carry the time of their run (the manifest,
/// the review page, the books' records) and kitap's own state in `.kitap/`.
fn hashes(out: &Path) -> Vec<(String, String)> {
    walk(out)
        .iter()
        .map(|p| p.strip_prefix(out).unwrap().to_string_lossy().into_owned())
        .filter(|rel| {
            !rel.starts_with(".kitap/")
                && rel != "manifest.json"
                && rel != "review.html"
                && !rel.ends_with(kitap::generation::RECORD_FILE)
        })
        .map(|rel| {
            let digest = Sha256::digest(std::fs::read(out.join(&rel)).unwrap());
            (rel, format!("{digest:x}"))
        })
        .collect()
}

#[test]
fn the_sharded_batch_has_the_books_pages_and_files_of_a_plain_run() {
    let Some(b) = batch() else { return };
    let plain = Manifest::read(&b.plain.join("manifest.json")).unwrap();
    let sharded = Manifest::read(&b.sharded.join("manifest.json"))
        .unwrap_or_else(|e| panic!("{e}\n{}", job_outputs(&b.dir)));
    let expected = books(&plain);
    assert_eq!(expected.len(), SAMPLES.len() + SHARED.len());
    assert!(
        expected.iter().all(|b| b["status"] == "ok"),
        "{expected:#?}"
    );
    assert_eq!(books(&sharded), expected);
}

#[test]
fn every_output_file_is_byte_for_byte_that_of_a_plain_run() {
    let Some(b) = batch() else { return };
    let plain = hashes(&b.plain);
    assert!(
        plain.len() >= 3 * (SAMPLES.len() + SHARED.len()),
        "{plain:?}"
    );
    assert_eq!(hashes(&b.sharded), plain);
}

#[test]
fn each_task_wrote_the_part_of_its_shard_and_the_merge_is_complete() {
    let Some(b) = batch() else { return };
    let mut ids: Vec<&str> = SAMPLES.iter().chain(&SHARED).copied().collect();
    ids.sort();
    for k in 0..SHARDS {
        let part = json(
            &b.sharded
                .join(format!(".kitap/shards/{k}-of-{SHARDS}.json")),
        );
        assert_eq!(
            part["shard"],
            json!({"index": k, "count": SHARDS, "complete": true, "run": b.job}),
            "part {k}"
        );
        let mut books: Vec<&str> = part["books"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap())
            .collect();
        books.sort();
        let mine: Vec<&str> = ids.iter().copied().filter(|id| shard_of(id) == k).collect();
        assert!(!mine.is_empty(), "the batch has a book in every shard");
        assert_eq!(books, mine, "shard {k}");
    }
    let merged = json(&b.sharded.join("manifest.json"));
    assert_ne!(merged["incomplete"], true, "{}", job_outputs(&b.dir));
    assert!(
        merged["missing_shards"]
            .as_array()
            .is_none_or(|m| m.is_empty()),
        "{}",
        merged["missing_shards"]
    );
    assert!(b.sharded.join("review.html").is_file());
}

#[test]
fn the_tasks_ran_as_an_array_of_three_with_one_cpu_each() {
    let Some(b) = batch() else { return };
    for k in 0..SHARDS {
        let log = b.dir.join(format!("kitap-{}_{k}.out", b.job));
        let text = std::fs::read_to_string(&log)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", log.display(), job_outputs(&b.dir)));
        assert!(
            text.contains(&format!("task {k} of array {}", b.job)) && text.contains("--jobs 1"),
            "{text}"
        );
    }
}

/// Why the merge job follows the array `afterany`: a task whose book has a broken page exits 1
/// (the page is recorded as failed), under `afterok` a merge would wait forever, and under
/// `afterany` it runs and merges every shard.
#[test]
fn a_task_with_a_broken_page_exits_1_and_the_merge_after_any_still_merges_every_shard() {
    if !slurm_up() {
        return;
    }
    let dir = fixture_dir("slurm-broken-page");
    let scans = dir.join("scans");
    let ids = ["a", "b", "c", "d"];
    for id in ids {
        small_book(&scans.join(id));
        std::fs::write(scans.join(id).join("book.toml"), "languages = [\"eng\"]\n").unwrap();
    }
    std::fs::write(scans.join("b/0002.png"), b"not a PNG").unwrap();
    let out = dir.join("out");
    let (scans_s, out_s) = (scans.to_str().unwrap(), out.to_str().unwrap());
    let kitap = env!("CARGO_BIN_EXE_kitap");
    let job = submit(
        &dir,
        &["--array=0-2", "--cpus-per-task=1"],
        "deploy/slurm/kitap-array.sbatch",
        &[("SCANS", scans_s), ("OUT", out_s), ("KITAP", kitap)],
    );
    let vars = [
        ("OUT", out_s),
        ("KITAP_RUN", job.as_str()),
        ("KITAP", kitap),
    ];
    let (_, code) = sbatch(
        &dir,
        &[&format!("--dependency=afterany:{job}")],
        "deploy/slurm/kitap-merge.sbatch",
        &vars,
    );
    let outputs = job_outputs(&dir);
    assert_eq!(code, 0, "the merge job:\n{outputs}");
    let broken = shard_of("b");
    let expected: Vec<(u64, String)> = (0..SHARDS)
        .map(|k| (k, if k == broken { "1:0" } else { "0:0" }.to_string()))
        .collect();
    assert_eq!(task_exit_codes(&job), expected, "{outputs}");
    let merged = Manifest::read(&out.join("manifest.json")).unwrap();
    let statuses: Vec<(String, Value)> = merged
        .books
        .iter()
        .map(|b| (b.id.clone(), json!(b.status)))
        .collect();
    assert_eq!(
        statuses,
        ids.map(|id| (
            id.to_string(),
            json!(if id == "b" { "partial" } else { "ok" })
        ))
    );
    assert_ne!(json(&out.join("manifest.json"))["incomplete"], true);
    // The same merge after `afterok` is never run.
    let never = submit(
        &dir,
        &[&format!("--dependency=afterok:{job}")],
        "deploy/slurm/kitap-merge.sbatch",
        &vars,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let reason = loop {
        let reason = tool_ok("squeue", &["-h", "-j", &never, "-o", "%T %r"]);
        if reason.contains("DependencyNeverSatisfied") || Instant::now() > deadline {
            break reason;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let _ = Command::new("scancel").arg(&never).status();
    assert_eq!(reason.trim(), "PENDING DependencyNeverSatisfied");
}
