//! Shards (`kitap convert --shard K/N`) and `kitap merge`: three shards run at once into one
//! OUT and merged give what one run gives, file for file; adding a book moves no other; a
//! missing, stopped or foreign shard is named and the manifest says it is incomplete; parts
//! that disagree are refused; the locks keep the same shard (or another N) from running twice.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use kitap::manifest::Manifest;
use kitap::shard::{Shard, shard_of};

/// Books in all three shards of 3 (the shard is the id's SHA-256): en-reading-room → 1,
/// kk-dala-kitaphanasy → 2, tk-obadaky-kitaphana → 0, broken → 0 (a good page and a text file
/// named .png), Türkmen-ýol → 2 (a Unicode id).
fn scans(dir: &Path) -> PathBuf {
    let scans = copy_samples(
        &dir.join("scans"),
        &[
            "en-reading-room",
            "kk-dala-kitaphanasy",
            "tk-obadaky-kitaphana",
        ],
    );
    let shared = shared().expect("the shared corpus (a broken file)");
    small_page(&scans.join("broken/0001.png"));
    std::fs::copy(
        shared.join("sample-scans-bad/text-renamed.png"),
        scans.join("broken/0002.png"),
    )
    .unwrap();
    small_book(&scans.join("Türkmen-ýol"));
    for id in ["broken", "Türkmen-ýol"] {
        std::fs::write(scans.join(id).join("book.toml"), "languages = [\"eng\"]\n").unwrap();
    }
    scans
}

/// `kitap convert SCANS -o OUT --shard k/n --jobs 1 --quiet` with KITAP_RUN=night-1.
fn shard_run(scans: &Path, out: &Path, k: u32, n: u32) -> Run {
    Kitap::convert(scans)
        .out(out)
        .args(["--jobs", "1", "--quiet", "--shard", &format!("{k}/{n}")])
        .env("KITAP_RUN", "night-1")
        .run()
}

fn merge(out: &Path) -> Run {
    Kitap::new()
        .arg("merge")
        .arg(out)
        .env_remove("KITAP_RUN")
        .run()
}

struct Converted {
    scans: PathBuf,
    /// One unsharded run.
    one: PathBuf,
    /// Three shards at once, merged.
    sharded: PathBuf,
}

/// The same scans converted by one run and by three shards running at once, then merged.
fn converted() -> &'static Converted {
    static C: Shared<Converted> = Shared::new();
    C.get(|| {
        let dir = fixture_dir("shards");
        let scans = scans(&dir);
        let one = dir.join("one");
        Kitap::convert(&scans)
            .out(&one)
            .args(["--jobs", "2", "--quiet"])
            .run()
            .code(1);
        let sharded = dir.join("sharded");
        let runs: Vec<Run> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|k| {
                    let (scans, sharded) = (&scans, &sharded);
                    s.spawn(move || shard_run(scans, sharded, k, 3))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // Shard 0 holds the broken book: its page failed.
        runs[0].code(1);
        runs[1].success();
        runs[2].success();
        assert!(
            !sharded.join("manifest.json").exists(),
            "a shard writes its part, never the manifest"
        );
        merge(&sharded)
            .success()
            .stderr_contains("3 of 3 shard(s) merged");
        Converted {
            scans,
            one,
            sharded,
        }
    })
}

fn read(out: &Path) -> Manifest {
    Manifest::read(&out.join("manifest.json")).unwrap_or_else(|e| panic!("{e}"))
}

fn part(out: &Path, k: u32, n: u32) -> Manifest {
    let path = kitap::shard::part_path(out, Shard { index: k, count: n });
    Manifest::read(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn ids(m: &Manifest) -> Vec<&str> {
    m.books.iter().map(|b| b.id.as_str()).collect()
}

#[test]
fn three_shards_at_once_and_a_merge_equal_one_run() {
    let Some(_) = shared() else { return };
    let c = converted();
    let (one, merged) = (read(&c.one), read(&c.sharded));
    assert_eq!(ids(&one), ids(&merged));
    assert_eq!(merged.books.len(), 5);
    assert_eq!(one.summary.books_partial, 1);
    assert_eq!(
        (
            one.summary.books,
            one.summary.pages,
            one.summary.pages_failed
        ),
        (
            merged.summary.books,
            merged.summary.pages,
            merged.summary.pages_failed
        )
    );
    assert!(!merged.incomplete && merged.missing_shards.is_empty());
    assert!(merged.shard.is_none(), "the manifest is no part");
    for (a, b) in one.books.iter().zip(&merged.books) {
        assert_eq!(a.status, b.status, "{}", a.id);
        assert_eq!(a.fingerprint, b.fingerprint, "{}", a.id);
        assert_eq!(a.inputs, b.inputs, "{}", a.id);
        let pages = |r: &kitap::manifest::BookRecord| -> Vec<(u32, String, usize)> {
            r.pages
                .iter()
                .map(|p| (p.index, format!("{:?}", p.status), p.words))
                .collect()
        };
        assert_eq!(pages(a), pages(b), "{}", a.id);
        let files = |r: &kitap::manifest::BookRecord| -> Vec<(String, u64, String)> {
            r.files
                .iter()
                .map(|f| (f.path.clone(), f.bytes, f.sha256.clone()))
                .collect()
        };
        assert_eq!(files(a), files(b), "{}", a.id);
    }
    // Every file on disk, byte for byte (the records and OUT's own state aside).
    assert_eq!(hashes(&c.one), hashes(&c.sharded));
    assert!(hashes(&c.one).len() > 20);
    // Each part holds its shard's books; the parts together are the manifest.
    let mut from_parts: Vec<String> = Vec::new();
    for k in 0..3 {
        let p = part(&c.sharded, k, 3);
        let s = p.shard.as_ref().expect("a part says its shard");
        assert_eq!((s.index, s.count, s.complete), (k, 3, true));
        assert_eq!(s.run.as_deref(), Some("night-1"));
        assert!(p.books.iter().all(|b| shard_of(&b.id, 3) == k));
        from_parts.extend(p.books.iter().map(|b| b.id.clone()));
    }
    from_parts.sort();
    assert_eq!(from_parts, ids(&merged));
    assert!(c.sharded.join("review.html").is_file());
    validate_manifest(&c.sharded);
    Kitap::new().arg("validate").arg(&c.sharded).run().success();
}

/// SHA-256 of every file under OUT but the manifest, the review page, book records and
/// OUT's own state (they carry times), by path.
fn hashes(out: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = walk(out)
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(out).unwrap().to_string_lossy().into_owned();
            let skip = rel == "manifest.json"
                || rel == "review.html"
                || rel.starts_with(".kitap")
                || rel.ends_with(kitap::generation::RECORD_FILE);
            (!skip).then(|| (rel, kitap::fsio::hash_file(&p).unwrap().1))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_book_added_moves_no_other_book_and_only_it_is_converted() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-added");
    let scans = out.parent().unwrap().join("scans");
    copy_dir(&c.scans, &scans);
    // новая-книга is in shard 1 of 3.
    small_book(&scans.join("новая-книга"));
    std::fs::write(
        scans.join("новая-книга/book.toml"),
        "languages = [\"eng\"]\n",
    )
    .unwrap();
    let before: Vec<Manifest> = (0..3).map(|k| part(&out, k, 3)).collect();
    for k in 0..3 {
        // The broken book's page failed before; unchanged, it is not tried again.
        shard_run(&scans, &out, k, 3).success();
    }
    for k in 0..3 {
        let after = part(&out, k, 3);
        let mut want: Vec<&str> = ids(&before[k as usize]);
        if k == shard_of("новая-книга", 3) {
            want.push("новая-книга");
            want.sort();
        }
        assert_eq!(ids(&after), want, "shard {k}");
        // The books that were there are untouched: the same generation.
        for b in &before[k as usize].books {
            let now = after.books.iter().find(|a| a.id == b.id).unwrap();
            assert_eq!(now.converted_at, b.converted_at, "{} was rebuilt", b.id);
        }
    }
    merge(&out).success();
    let m = read(&out);
    assert_eq!(m.books.len(), 6);
    assert_eq!(
        kitap::manifest::Manifest::read(&out.join("manifest.json"))
            .unwrap()
            .books
            .iter()
            .filter(|b| b.id == "новая-книга")
            .count(),
        1
    );
}

#[test]
fn a_missing_stopped_or_foreign_shard_is_named_and_the_manifest_is_incomplete() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-missing");
    let merged = std::fs::read(out.join("manifest.json")).unwrap();
    // As if shard 1 had never run: no part, no manifest from an earlier merge.
    let part1 = kitap::shard::part_path(&out, Shard { index: 1, count: 3 });
    std::fs::remove_file(&part1).unwrap();
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    merge(&out)
        .code(1)
        .stderr_contains("shard 1-of-3 missing: no part");
    let m = read(&out);
    assert!(m.incomplete);
    assert_eq!(m.missing_shards, ["1-of-3"]);
    assert!(m.books.iter().all(|b| shard_of(&b.id, 3) != 1));
    assert_eq!(m.books.len(), 4);
    validate_manifest(&out);
    Kitap::new()
        .arg("validate")
        .arg(&out)
        .run()
        .success()
        .stdout_contains("merged without shard(s) 1-of-3");
    // Shard 1 runs (its books are in OUT already: nothing to convert): complete again.
    let scans = out.parent().unwrap().join("scans");
    copy_dir(&c.scans, &scans);
    shard_run(&scans, &out, 1, 3).success();
    merge(&out).success();
    let again = read(&out);
    assert!(!again.incomplete);
    assert_eq!(ids(&again), ids(&read(&c.sharded)));
    assert_ne!(std::fs::read(out.join("manifest.json")).unwrap(), merged);

    // A shard stopped before its end (its part says so), and parts of another run.
    let path2 = kitap::shard::part_path(&out, Shard { index: 2, count: 3 });
    let text = std::fs::read_to_string(&path2).unwrap();
    std::fs::write(
        &path2,
        text.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    let run = merge(&out);
    run.code(1)
        .stderr_contains("shard 2-of-3 missing: its run has not ended");
    assert_eq!(read(&out).missing_shards, ["2-of-3"]);
    Kitap::new()
        .arg("merge")
        .arg(&out)
        .args(["--run", "night-2"])
        .run()
        .code(1)
        .stderr_contains("shard 0-of-3 missing: its part is of run night-1, not night-2");
    // More shards than there are parts.
    Kitap::new()
        .arg("merge")
        .arg(&out)
        .args(["--shards", "4"])
        .run()
        .code(1)
        .stderr_contains("shard 3-of-4 missing");
}

#[test]
fn parts_of_different_pipelines_or_kitaps_are_refused_and_nothing_is_written() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-mismatch");
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    let path1 = kitap::shard::part_path(&out, Shard { index: 1, count: 3 });
    let text = std::fs::read_to_string(&path1).unwrap();
    // A part newer than the manifest, from another pipeline.
    let newer = |t: &str| {
        let m: serde_json::Value = serde_json::from_str(t).unwrap();
        let finished = m["finished"].as_str().unwrap().to_string();
        t.replace(&finished, "2999-01-01T00:00:00Z")
    };
    std::fs::write(
        &path1,
        newer(&text).replace("\"name\": \"default\"", "\"name\": \"archive\""),
    )
    .unwrap();
    merge(&out)
        .code(2)
        .stderr_contains("shard parts of different pipelines")
        .stderr_contains("1-of-3.json: 'archive'")
        .stderr_contains("0-of-3.json: 'default'");
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    // Two shards read now, by two kitaps.
    std::fs::write(
        &path1,
        newer(&text).replace("\"kitap_version\": \"", "\"kitap_version\": \"9."),
    )
    .unwrap();
    let path0 = kitap::shard::part_path(&out, Shard { index: 0, count: 3 });
    let text0 = std::fs::read_to_string(&path0).unwrap();
    std::fs::write(&path0, newer(&text0)).unwrap();
    merge(&out)
        .code(2)
        .stderr_contains("different kitap versions")
        .stderr_contains("1-of-3.json: 9.");
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    // One shard redone by a newer kitap joins the shards merged before it.
    std::fs::write(&path0, &text0).unwrap();
    merge(&out).success();
    // No parts at all: nothing to merge.
    let empty = fixture_dir("shards-none").join("out");
    std::fs::create_dir_all(&empty).unwrap();
    merge(&empty).code(2).stderr_contains("no shard parts");
}

#[test]
fn the_same_shard_twice_or_shards_of_another_n_are_refused_while_shards_run() {
    let dir = fixture_dir("shards-locks");
    let scans = dir.join("scans");
    small_book(&scans.join("small-1"));
    small_book(&scans.join("small-3"));
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // This test holds shard 1 of 3, as a running kitap would.
    let held =
        kitap::lock::OutLock::acquire_shard(&out, Shard { index: 1, count: 3 }, None).unwrap();
    let convert = |args: &[&str]| {
        Kitap::convert(&scans)
            .out(&out)
            .args(["--lang", "eng", "--quiet"])
            .args(args)
            .run()
    };
    convert(&["--shard", "1/3"])
        .code(3)
        .stderr_contains("shard 1-of-3: pid");
    convert(&["--shard", "0/2"])
        .code(3)
        .stderr_contains("shards of a 3-shard run are converting");
    convert(&[]).code(3).stderr_contains("shard 1-of-3: pid");
    merge(&out).code(3).stderr_contains("shard 1-of-3");
    // Another shard of the same run goes ahead (small-1 and small-3 are in shard 0).
    assert_eq!((shard_of("small-1", 3), shard_of("small-3", 3)), (0, 0));
    convert(&["--shard", "0/3"]).success();
    drop(held);
    convert(&["--shard", "1/3"]).success();
    convert(&["--shard", "2/3"]).success();
    merge(&out).success();
    assert_eq!(ids(&read(&out)), ["small-1", "small-3"]);
    // Once they are merged, a run of another N may go: it replaces the old N's parts.
    convert(&["--shard", "0/2"]).success();
    convert(&["--shard", "1/2"]).success();
    merge(&out)
        .success()
        .stderr_contains("removed 0-of-3.json")
        .stderr_contains("2 of 2 shard(s) merged");
    assert!(!kitap::shard::part_path(&out, Shard { index: 0, count: 3 }).exists());
    assert_eq!(ids(&read(&out)), ["small-1", "small-3"]);
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_and_says_when_neither_is_there() {
    let dir = fixture_dir("shards-auto");
    let scans = dir.join("scans");
    small_book(&scans.join("small-1"));
    let out = dir.join("out");
    let auto = || {
        let mut k = Kitap::convert(&scans)
            .out(&out)
            .args(["--lang", "eng", "--quiet", "--shard", "auto"]);
        for var in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_MAX",
            "SLURM_ARRAY_TASK_STEP",
            "SLURM_ARRAY_JOB_ID",
            "JOB_COMPLETION_INDEX",
            "KITAP_SHARDS",
            "KITAP_RUN",
        ] {
            k = k.env_remove(var);
        }
        k
    };
    auto()
        .run()
        .code(2)
        .stderr_contains("not in a Slurm job array");
    assert!(!out.join(".kitap/shards").exists(), "nothing written");
    // sbatch --array=1-4: task 3 is shard 2 of 4.
    auto()
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_MAX", "4")
        .env("SLURM_ARRAY_JOB_ID", "4242")
        .run()
        .success();
    let p = part(&out, 2, 4);
    assert_eq!(p.shard.as_ref().unwrap().run.as_deref(), Some("4242"));
    // A Kubernetes Indexed Job's pod 0 of 4.
    auto()
        .env("JOB_COMPLETION_INDEX", "0")
        .env("KITAP_SHARDS", "4")
        .run()
        .success();
    assert_eq!(
        part(&out, 0, 4).books.len(),
        usize::from(shard_of("small-1", 4) == 0)
    );
    auto()
        .env("JOB_COMPLETION_INDEX", "0")
        .run()
        .code(2)
        .stderr_contains("KITAP_SHARDS");
}

fn approve(out: &Path, args: &[&str]) -> Run {
    Kitap::new().arg("review").arg(out).args(args).run()
}

#[test]
fn an_approval_outlives_merges_and_a_revoked_book_stays_revoked() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-approval");
    let scans = out.parent().unwrap().join("scans");
    copy_dir(&c.scans, &scans);
    let id = "en-reading-room";
    let approved = |out: &Path| {
        read(out)
            .books
            .iter()
            .any(|b| b.id == id && b.approved.is_some())
    };
    approve(&out, &["--approve", id, "--by", "Aýna"]).success();
    merge(&out).success();
    assert!(approved(&out), "a merge of nothing new keeps the approval");
    // Its shard runs again (nothing to convert): its part carries the approval.
    shard_run(&scans, &out, shard_of(id, 3), 3).success();
    merge(&out).success().stderr_contains("1 part(s) read");
    assert!(approved(&out));
    approve(&out, &["--revoke", id]).success();
    merge(&out).success().stderr_contains("0 part(s) read");
    assert!(
        !approved(&out),
        "the part read before must not bring the approval back"
    );
    let record = kitap::generation::read_record(&out.join(id)).unwrap();
    assert!(record.approved.is_none());
}

#[test]
fn parts_of_another_n_not_yet_merged_are_read_not_dropped() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-other-n");
    let scans = out.parent().unwrap().join("scans");
    copy_dir(&c.scans, &scans);
    // en-reading-room gets a new page; a 2-shard run rebuilds it, and nobody merges.
    let id = "en-reading-room";
    small_page(&scans.join(id).join("0002.png"));
    let k2 = shard_of(id, 2);
    shard_run(&scans, &out, k2, 2).success();
    // Then a 3-shard run, of a shard without that book, and a merge of the 3-shard run.
    let other = (0..3).find(|&k| k != shard_of(id, 3)).unwrap();
    shard_run(&scans, &out, other, 3).success();
    merge(&out)
        .success()
        .stderr_contains(&format!("removed {k2}-of-2.json"));
    let m = read(&out);
    let book = m.books.iter().find(|b| b.id == id).unwrap();
    assert_eq!(book.pages.len(), 2, "the 2-shard part's record was read");
    // Every file the manifest lists is on disk with its size and hash.
    Kitap::new().arg("validate").arg(&out).run().success();
}

#[test]
fn a_shard_killed_before_it_finishes_a_book_is_named_missing() {
    let Some(_) = shared() else { return };
    let c = converted();
    let out = copy_out(&c.sharded, "shards-killed");
    let scans = out.parent().unwrap().join("scans");
    copy_dir(&c.scans, &scans);
    // kk-dala-kitaphanasy (shard 2) changes: its three pages are read again.
    let id = "kk-dala-kitaphanasy";
    let k = shard_of(id, 3);
    std::fs::copy(
        scans.join(id).join("0001.png"),
        scans.join(id).join("0004.png"),
    )
    .unwrap();
    let part = kitap::shard::part_path(&out, Shard { index: k, count: 3 });
    let before = std::fs::read(&part).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kitap"))
        .arg("convert")
        .arg(&scans)
        .arg("-o")
        .arg(&out)
        .args(["--jobs", "1", "--quiet", "--shard", &format!("{k}/3")])
        .env("KITAP_RUN", "night-2")
        .spawn()
        .unwrap();
    // The part says the shard is running before the first page is read.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read(&part).unwrap() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the part was not rewritten"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let p = self::part(&out, k, 3);
    assert!(!p.shard.as_ref().unwrap().complete);
    merge(&out)
        .code(1)
        .stderr_contains(&format!("shard {k}-of-3 missing: its run has not ended"));
    let m = read(&out);
    assert!(m.incomplete);
    // The book as it was: its old generation, whole.
    Kitap::new().arg("validate").arg(&out).run().success();
    // The shard again, to its end: complete.
    shard_run(&scans, &out, k, 3).success();
    merge(&out).success();
    assert_eq!(book(&read(&out), id).pages.len(), 4);
}

#[test]
fn a_merge_of_a_folder_without_parts_makes_nothing() {
    let dir = fixture_dir("shards-typo");
    let typo = dir.join("no-such-out");
    merge(&typo).code(2).stderr_contains("no shard parts");
    assert!(!typo.exists(), "a mistyped OUT is not made");
}
