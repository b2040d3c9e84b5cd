//! A book's outputs change only as a whole generation: a full disk, a failed rebuild or
//! `kill -9` at any moment leaves each book's folder wholly the old or wholly the new
//! generation, with a record inside it that says which. Real runs of the binary: the full disk
//! is a real small tmpfs (mounted in a private mount namespace with `unshare`), the kills are
//! real SIGKILLs, with every rename slowed down by `strace` fault injection so that they land
//! while generations are being swapped.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kitap::generation::{self, RECORD_FILE};
use kitap::manifest::{Manifest, Status};

/// The repository's own rendered sample books (small: one to three pages each).
fn sample_book(scans: &Path, book: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample-scans")
        .join(book);
    copy_dir(&from, &scans.join(book));
}

fn kitap() -> &'static str {
    env!("CARGO_BIN_EXE_kitap")
}

/// Every file of a folder (hidden ones too) with its bytes, sorted by name.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walk(dir)
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// A shell script run as root of a private mount namespace (root already: `unshare -m`;
/// otherwise a user namespace maps us to root: `unshare -rm`).
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> std::process::Output {
    let root = std::env::var("USER").is_ok_and(|u| u == "root")
        || Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = Command::new("unshare");
    cmd.arg(if root { "-m" } else { "-rm" })
        .args(["sh", "-c", script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("KITAP", kitap())
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("unshare (util-linux) runs")
}

#[test]
fn a_full_disk_keeps_the_previous_generation_fails_the_book_and_exits_4() {
    let dir = fixture_dir("full-disk");
    let scans = dir.join("scans");
    sample_book(&scans, "en-reading-room");
    let out = dir.join("out");
    let keep = dir.join("keep");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&keep).unwrap();
    // A 4 MiB filesystem for OUT. After a good first run, fill it until less than half a
    // generation of the book is free, rebuild, then make room and rebuild again.
    let script = r#"
        set -u
        mount -t tmpfs -o size=4m tmpfs "$OUT" || exit 90
        "$KITAP" convert "$SCANS" -o "$OUT" --quiet; echo $? > "$KEEP/first.rc"
        cp -a "$OUT" "$KEEP/first"
        book=$(du -sb "$OUT/en-reading-room" | cut -f1)
        free=$(df --output=avail -B1 "$OUT" | tail -1)
        head -c $((free - book / 2)) /dev/zero > "$OUT/filler"
        "$KITAP" convert "$SCANS" -o "$OUT" --force 2> "$KEEP/second.err"; echo $? > "$KEEP/second.rc"
        rm "$OUT/filler"
        cp -a "$OUT" "$KEEP/second"
        "$KITAP" convert "$SCANS" -o "$OUT" --quiet --force; echo $? > "$KEEP/third.rc"
        cp -a "$OUT" "$KEEP/third"
    "#;
    let o = in_mount_namespace(script, &[("SCANS", &scans), ("OUT", &out), ("KEEP", &keep)]);
    assert!(
        o.status.success(),
        "the script failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let rc = |run: &str| std::fs::read_to_string(keep.join(format!("{run}.rc"))).unwrap();
    assert_eq!(rc("first").trim(), "0");

    // The rebuild ran out of space: exit 4, the book failed with the reason, the old files
    // are all there, byte for byte, and nothing is left in staging.
    let err = std::fs::read_to_string(keep.join("second.err")).unwrap();
    assert_eq!(rc("second").trim(), "4", "{err}");
    assert!(err.contains("no space left"), "{err}");
    assert!(err.contains("its previous outputs in"), "{err}");
    let second = Manifest::read(&keep.join("second/manifest.json")).unwrap();
    assert_eq!(second.books[0].status, Status::Failed);
    let why = second.books[0].error.as_deref().unwrap();
    assert!(why.contains("no space left"), "{why}");
    // No page points at a thumbnail of this attempt, which never reached OUT.
    assert!(second.books[0].pages.iter().all(|p| p.thumbnail.is_none()));
    assert!(second.books[0].needs_review);
    // The manifest still describes what is in OUT: the kept generation's files.
    let first = Manifest::read(&keep.join("first/manifest.json")).unwrap();
    let kept = second.books[0].kept.as_ref().expect("the kept generation");
    assert_eq!(kept.files.len(), first.books[0].files.len());
    for (k, f) in kept.files.iter().zip(&first.books[0].files) {
        assert_eq!((&k.path, &k.sha256), (&f.path, &f.sha256));
    }
    assert_eq!(
        contents(&keep.join("second/en-reading-room")),
        contents(&keep.join("first/en-reading-room"))
    );
    let staging = generation::staging_root(&keep.join("second"));
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);

    // With room again, the next run puts a new generation in place.
    assert_eq!(rc("third").trim(), "0");
    let third = Manifest::read(&keep.join("third/manifest.json")).unwrap();
    assert_eq!(third.books[0].status, Status::Ok);
    assert!(third.verify(&keep.join("third")).is_empty());
}

/// Checks one book folder after a kill: it is whole (its record lists exactly the files in it,
/// sizes and SHA-256 equal), or, only with the two-rename fallback, absent with its old
/// generation waiting in staging. Returns the generation's `converted_at`.
fn whole_generation(out: &Path, id: &str, fallback: bool) -> Option<String> {
    let dir = out.join(id);
    if !dir.exists() {
        assert!(fallback, "{id}: the book's folder is gone");
        let staging = generation::staging_root(out);
        let waiting = std::fs::read_dir(&staging).unwrap().any(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{id}.")) && name.ends_with(".old")
        });
        assert!(waiting, "{id}: no folder and no old generation in staging");
        return None;
    }
    let record = generation::read_record(&dir)
        .unwrap_or_else(|| panic!("{id}: no readable {RECORD_FILE} in {}", dir.display()));
    let mut listed: Vec<String> = record.files.iter().map(|f| f.path.clone()).collect();
    listed.sort();
    assert_eq!(book_files(out, &dir), listed, "{id}: files vs its record");
    let problems = record.verify(out);
    assert!(problems.is_empty(), "{id}: {problems:?}");
    record.converted_at
}

/// `kitap convert` with every rename slowed down by 0.3 s, killed with SIGKILL as soon as
/// `kill_when(elapsed)` says so (polled every 5 ms), or run to its end when there is none.
/// Returns how long it ran.
fn slowed_run(
    scans: &Path,
    out: &Path,
    fallback: bool,
    kill_when: Option<&dyn Fn(Duration) -> bool>,
) -> Duration {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=rename,renameat,renameat2"])
        .args(["-e", "inject=rename,renameat,renameat2:delay_exit=300000"])
        .arg(kitap())
        .arg("convert")
        .arg(scans)
        .arg("-o")
        .arg(out)
        .args(["--quiet", "--force"])
        .env("OMP_THREAD_LIMIT", "1")
        .stderr(Stdio::null());
    if fallback {
        cmd.env("KITAP_NO_RENAME_EXCHANGE", "1");
    }
    let started = Instant::now();
    let mut strace = cmd.spawn().expect("strace runs");
    if let Some(kill_when) = kill_when {
        while strace.try_wait().unwrap().is_none() {
            if kill_when(started.elapsed()) {
                // strace's child is kitap.
                let children = format!("/proc/{0}/task/{0}/children", strace.id());
                let pids = std::fs::read_to_string(&children).unwrap_or_default();
                for pid in pids.split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    strace.wait().unwrap();
    started.elapsed()
}

/// The inode of a book's record: a new generation has a new record file.
fn record_inode(out: &Path, id: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(out.join(id).join(RECORD_FILE))
        .ok()
        .map(|m| m.ino())
}

fn killed_at_any_moment(name: &str, fallback: bool, kills: u32) {
    let dir = fixture_dir(name);
    let scans = dir.join("scans");
    let books = ["en-reading-room", "tk-obadaky-kitaphana"];
    for b in books {
        sample_book(&scans, b);
    }
    let out = dir.join("out");
    // The first generation of every book, and how long a slowed run takes.
    let whole = slowed_run(&scans, &out, fallback, None);
    for b in books {
        assert!(whole_generation(&out, b, fallback).is_some());
    }
    let first: Vec<Option<u64>> = books.iter().map(|b| record_inode(&out, b)).collect();
    // The first kill comes the moment the first book's new generation is in place (the
    // second book is still to come); the others at points spread over a run.
    let renewed_first =
        |_: Duration| record_inode(&out, books[0]).is_some_and(|i| Some(i) != first[0]);
    slowed_run(&scans, &out, fallback, Some(&renewed_first));
    let mut renewed = 0;
    for k in 0..kills {
        let at = whole.mul_f64((f64::from(k) + 0.5) / f64::from(kills));
        if k > 0 {
            slowed_run(&scans, &out, fallback, Some(&|t: Duration| t >= at));
        }
        for (b, was) in books.iter().zip(&first) {
            whole_generation(&out, b, fallback);
            renewed += usize::from(record_inode(&out, b).is_some_and(|i| Some(i) != *was));
        }
    }
    assert!(renewed > 0, "no book was renewed before a kill");
    // A run after the kills cleans up and leaves every book whole.
    let run = Kitap::convert(&scans).out(&out).arg("--quiet").run();
    run.success();
    for b in books {
        assert!(whole_generation(&out, b, false).is_some());
    }
    outputs_match_manifest(&run);
    no_temp_files(&out);
}

#[test]
fn after_kill_9_at_any_moment_each_book_is_wholly_old_or_wholly_new() {
    killed_at_any_moment("kill-exchange", false, 5);
}

#[test]
fn with_the_two_rename_swap_a_killed_run_is_put_right_by_the_next() {
    killed_at_any_moment("kill-fallback", true, 3);
}

#[test]
fn a_rebuild_keeps_files_someone_else_put_in_the_book_folder() {
    let dir = fixture_dir("foreign-files");
    let scans = dir.join("scans");
    sample_book(&scans, "en-reading-room");
    let out = dir.join("out");
    Kitap::convert(&scans)
        .out(&out)
        .arg("--quiet")
        .run()
        .success();
    let notes: PathBuf = out.join("en-reading-room/notes.md");
    std::fs::write(&notes, "checked by the editor").unwrap();
    let run = Kitap::convert(&scans).out(&out).arg("--force").run();
    run.success()
        .stderr_contains("kept 'notes.md' (not a kitap file)");
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "checked by the editor"
    );
    no_temp_files(&out);
}
