//! Nightly runs into the same OUT: only new or changed books are built, OUT is the state (its
//! manifest describes every book in it, also those of earlier nights), and one run at a time
//! holds OUT. Each test starts from a copy (times kept) of one converted batch of the
//! repository's sample books.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use kitap::manifest::{BookRecord, Manifest};

const BOOKS: [&str; 4] = [
    "en-reading-room",
    "kk-dala-kitaphanasy",
    "ru-bumaga-i-svet",
    "tk-obadaky-kitaphana",
];

/// The sample books converted once: `scans/` and `out/`.
fn converted() -> &'static PathBuf {
    static FIRST: Shared<PathBuf> = Shared::new();
    FIRST.get(|| {
        let dir = fixture_dir("nightly-first");
        // Three of the four books: the fourth is "tonight's new book".
        copy_samples(&dir.join("scans"), &BOOKS[..3]);
        Kitap::convert(&dir.join("scans"))
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
            .success();
        dir
    })
}

/// All four sample books, freshly copied into `dir/scans`.
fn all_books(dir: &Path) -> PathBuf {
    copy_samples(&dir.join("scans"), &BOOKS)
}

/// A private copy of the converted batch (`cp -a`: modification times kept).
fn night(name: &str) -> (PathBuf, PathBuf) {
    let dir = fixture_dir(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(converted().join("scans"))
        .arg(converted().join("out"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    (dir.join("scans"), dir.join("out"))
}

fn record(out: &Path, id: &str) -> BookRecord {
    kitap::generation::read_record(&out.join(id)).unwrap_or_else(|| panic!("{id}: no record"))
}

/// Each output file of a book with its bytes and modification time.
fn outputs(out: &Path, id: &str) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    book_files(out, &out.join(id))
        .into_iter()
        .map(|f| {
            let p = out.join(&f);
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            (f, std::fs::read(&p).unwrap(), mtime)
        })
        .collect()
}

#[test]
fn an_unchanged_rerun_builds_nothing_and_touches_no_file() {
    let (scans, out) = night("nightly-unchanged");
    let before: Vec<_> = BOOKS[..3].iter().map(|b| outputs(&out, b)).collect();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success()
        .stderr_contains("3 unchanged, 0 pending; 0 page(s)");
    let after: Vec<_> = BOOKS[..3].iter().map(|b| outputs(&out, b)).collect();
    assert_eq!(before, after);
    let m = run.manifest();
    assert_eq!(m.books.len(), 3);
    assert_eq!(m.summary.books_ok, 3);
    outputs_match_manifest(&run);
    validate_manifest(&out);
}

#[test]
fn a_new_book_a_replaced_page_and_an_edited_book_toml_are_exactly_what_is_rebuilt() {
    let (scans, out) = night("nightly-changes");
    let samples = repo_samples();
    let before: Vec<_> = BOOKS[..3].iter().map(|b| record(&out, b)).collect();
    let untouched = outputs(&out, BOOKS[2]);
    // A new book; a page of the first replaced by another page; the second's title edited.
    copy_dir(&samples.join(BOOKS[3]), &scans.join(BOOKS[3]));
    std::fs::copy(
        samples.join("kk-dala-kitaphanasy/0002.png"),
        scans.join("en-reading-room/0001.png"),
    )
    .unwrap();
    let toml = scans.join("kk-dala-kitaphanasy/book.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replacen("title = \"", "title = \"Жаңа: ", 1)).unwrap();
    let old_pdf = std::fs::read(out.join("en-reading-room/en-reading-room.pdf")).unwrap();

    let run = Kitap::convert(&scans).out(&out).run();
    run.success()
        .stderr_contains("3 ok, 0 partial, 0 failed, 1 unchanged,");
    let m = run.manifest();
    assert_eq!(m.books.len(), 4);
    for (b, was) in BOOKS[..2].iter().zip(&before) {
        let now = record(&out, b);
        assert_ne!(now.fingerprint, was.fingerprint, "{b}");
        assert_ne!(now.converted_at, None);
    }
    assert_ne!(
        std::fs::read(out.join("en-reading-room/en-reading-room.pdf")).unwrap(),
        old_pdf
    );
    let kk = book(&m, "kk-dala-kitaphanasy");
    assert!(kk.metadata.title.as_deref().unwrap().starts_with("Жаңа: "));
    // The third book: same record, same bytes, same times.
    assert_eq!(record(&out, BOOKS[2]).converted_at, before[2].converted_at);
    assert_eq!(outputs(&out, BOOKS[2]), untouched);
    outputs_match_manifest(&run);
    validate_manifest(&out);
}

#[test]
fn a_byte_changed_with_its_time_kept_is_caught_by_verify_inputs() {
    let (scans, out) = night("nightly-restored");
    // What a backup restore does: other bytes, same size, same modification time.
    let toml = scans.join("en-reading-room/book.toml");
    let mtime = std::fs::metadata(&toml).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(text.contains("year = 2026"));
    std::fs::write(&toml, text.replace("year = 2026", "year = 2025")).unwrap();
    let f = std::fs::File::options().write(true).open(&toml).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    // Size and time say unchanged: trusted without reading.
    Kitap::convert(&scans)
        .out(&out)
        .run()
        .success()
        .stderr_contains("3 unchanged");
    // Reading every input finds the change and rebuilds that book alone.
    let run = Kitap::convert(&scans)
        .out(&out)
        .arg("--verify-inputs")
        .run();
    // A fixity alarm: an error naming the file and both hashes, and exit 1.
    run.code(1)
        .stderr_contains("1 ok, 0 partial, 0 failed, 2 unchanged,")
        .stderr_contains(
            "en-reading-room/book.toml: its bytes changed while its size and modification time did not",
        );
    let rec = record(&out, "en-reading-room");
    assert_eq!(rec.metadata.year, Some(kitap::dates::Year::plain(2025)));
    assert!(rec.warnings.iter().any(|w| w.contains("its bytes changed")));
    let input = rec
        .inputs
        .iter()
        .find(|i| i.path == "en-reading-room/book.toml")
        .unwrap();
    assert_eq!(input.sha256, kitap::fsio::hash_file(&toml).unwrap().1);
}

#[test]
fn a_deleted_output_of_an_unchanged_book_is_rebuilt_not_trusted() {
    let (scans, out) = night("nightly-deleted-output");
    std::fs::remove_file(out.join("ru-bumaga-i-svet/ru-bumaga-i-svet.epub")).unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success()
        .stderr_contains("1 ok, 0 partial, 0 failed, 2 unchanged,");
    assert!(run.manifest().verify(&out).is_empty());
}

#[test]
fn force_rebuilds_every_book() {
    let (scans, out) = night("nightly-force");
    Kitap::convert(&scans)
        .out(&out)
        .arg("--force")
        .run()
        .success()
        .stderr_contains("3 ok, 0 partial, 0 failed, 0 unchanged,");
}

#[test]
fn a_book_gone_from_scans_stays_in_the_manifest_with_its_files() {
    let (scans, out) = night("nightly-archived");
    // Moved to the archive after conversion; tonight the inbox has the other two.
    std::fs::remove_dir_all(scans.join("ru-bumaga-i-svet")).unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success();
    let m = run.manifest();
    let ids: Vec<&str> = m.books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, &BOOKS[..3]);
    assert!(m.verify(&out).is_empty());
}

#[test]
fn a_lost_manifest_is_rebuilt_from_the_books_records() {
    let (scans, out) = night("nightly-lost-manifest");
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let run = Kitap::convert(&scans).out(&out).run();
    run.success().stderr_contains("3 unchanged");
    assert_eq!(run.manifest().books.len(), 3);
    outputs_match_manifest(&run);
}

#[test]
fn an_empty_inbox_is_a_normal_night() {
    let (_, out) = night("nightly-empty");
    let inbox = out.parent().unwrap().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let run = Kitap::convert(&inbox).out(&out).run();
    run.success().stderr_contains("no books");
    // Quiet says nothing.
    let quiet = Kitap::convert(&inbox).out(&out).arg("--quiet").run();
    quiet.success();
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.manifest().books.len(), 3);
    // A scan folder that does not exist is still a mistake.
    Kitap::convert(&out.parent().unwrap().join("no-such-inbox"))
        .out(&out)
        .run()
        .code(2);
}

#[test]
fn a_second_run_into_a_held_out_exits_3_at_once_naming_the_holder() {
    let (scans, out) = night("nightly-locked");
    let samples = repo_samples();
    copy_dir(&samples.join(BOOKS[3]), &scans.join(BOOKS[3]));
    let mut first = Command::new(env!("CARGO_BIN_EXE_kitap"))
        .arg("convert")
        .arg(&scans)
        .arg("-o")
        .arg(&out)
        .args(["--quiet", "--force"])
        .env("OMP_THREAD_LIMIT", "1")
        .spawn()
        .unwrap();
    // The holder writes who it is once it has the lock.
    let lock = kitap::lock::lock_path(&out);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.contains(&format!("pid {}", first.id())))
    {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let asked = Instant::now();
    let second = Kitap::convert(&scans).out(&out).run();
    let took = asked.elapsed();
    second
        .code(3)
        .stderr_contains(&format!("pid {}", first.id()))
        .stderr_contains("another kitap run");
    assert!(took < Duration::from_secs(5), "the refusal took {took:?}");
    // Waiting for the lock instead: it runs once the first has finished.
    let waiter = Kitap::convert(&scans)
        .out(&out)
        .args(["--wait-lock", "10m"])
        .run();
    assert!(first.wait().unwrap().success());
    waiter.success().stderr_contains("4 unchanged");
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    assert_eq!(m.books.len(), 4);
    assert!(m.verify(&out).is_empty());
}

/// The JSON log lines of a run's stderr, each checked to parse and to have ts, level, event.
fn events(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            for key in ["ts", "level", "event"] {
                assert!(v[key].is_string(), "no {key}: {l}");
            }
            v
        })
        .collect()
}

fn named<'v>(events: &'v [serde_json::Value], name: &str) -> Vec<&'v serde_json::Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

#[test]
fn json_logs_say_what_each_book_did_one_object_per_line() {
    let (scans, out) = night("nightly-json");
    let samples = repo_samples();
    copy_dir(&samples.join(BOOKS[3]), &scans.join(BOOKS[3]));
    // A broken page in the new book: a page_error with book, page and file.
    std::fs::write(scans.join(BOOKS[3]).join("0003.png"), b"not a png").unwrap();
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--log-format", "json"])
        .run();
    run.code(1);
    let ev = events(&run.stderr);
    assert_eq!(ev.first().unwrap()["event"], "run_start");
    assert_eq!(ev.first().unwrap()["pipeline"], "default");
    let skipped: Vec<&str> = named(&ev, "book_skipped")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, &BOOKS[..3]);
    assert!(
        named(&ev, "book_skipped")
            .iter()
            .all(|e| e["reason"] == "unchanged")
    );
    let start = named(&ev, "book_start");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["id"], BOOKS[3]);
    assert_eq!(start[0]["pages"], 3);
    let err = named(&ev, "page_error");
    assert_eq!(err.len(), 1, "{}", run.stderr);
    assert_eq!(err[0]["level"], "error");
    assert_eq!(err[0]["book"], BOOKS[3]);
    assert_eq!(err[0]["page"], 3);
    assert!(err[0]["file"].as_str().unwrap().ends_with("0003.png"));
    let done = named(&ev, "book_done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["status"], "partial");
    assert_eq!(done[0]["pages_failed"], 1);
    assert_eq!(done[0]["files"].as_array().unwrap().len(), 3);
    assert_eq!(
        done[0]["thumbnails"], 2,
        "a thumbnail for each page that converted"
    );
    assert_eq!(done[0]["needs_review"], true, "a page failed");
    let last = ev.last().unwrap();
    assert_eq!(last["event"], "run_done");
    assert_eq!(last["exit_code"], 1);
    assert_eq!(last["books_unchanged"], 3);

    // Quiet: the errors only, still as JSON.
    std::fs::write(scans.join(BOOKS[3]).join("book.toml"), "year = 1999\n").unwrap();
    let quiet = Kitap::convert(&scans)
        .out(&out)
        .args(["--log-format", "json", "--quiet"])
        .run();
    quiet.code(1);
    let ev = events(&quiet.stderr);
    assert!(!ev.is_empty());
    assert!(ev.iter().all(|e| e["level"] == "error"), "{}", quiet.stderr);
    // A run that cannot start says so as JSON too.
    let locked_out = Kitap::convert(&out.join("no-such-scans"))
        .out(&out)
        .args(["--log-format", "json"])
        .run();
    locked_out.code(2);
    assert_eq!(events(&locked_out.stderr)[0]["event"], "run_failed");
}

#[test]
fn min_age_leaves_a_book_still_being_copied_for_a_later_run() {
    let dir = fixture_dir("nightly-min-age");
    let scans = all_books(&dir);
    // Every file and folder an hour old, then one page of one book written a moment ago.
    let status = Command::new("find")
        .arg(&scans)
        .args(["-exec", "touch", "-d", "1 hour ago", "{}", "+"])
        .status()
        .unwrap();
    assert!(status.success());
    let page = scans.join("kk-dala-kitaphanasy/0002.png");
    std::fs::write(&page, std::fs::read(&page).unwrap()).unwrap();
    let out = dir.join("out");
    let run = Kitap::convert(&scans)
        .out(&out)
        .args(["--min-age", "30m", "--log-format", "json"])
        .run();
    run.success();
    let ev = events(&run.stderr);
    let pending = named(&ev, "book_pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], "kk-dala-kitaphanasy");
    assert_eq!(pending[0]["reason"], "too_recent");
    assert_eq!(ev.last().unwrap()["books_pending"], 1);
    let ids: Vec<String> = run.manifest().books.into_iter().map(|b| b.id).collect();
    assert_eq!(
        ids,
        [
            "en-reading-room",
            "ru-bumaga-i-svet",
            "tk-obadaky-kitaphana"
        ]
    );
    // Once settled, a later run takes it (and only it).
    let later = Kitap::convert(&scans)
        .out(&out)
        .arg("--min-age")
        .arg("0s")
        .run();
    later
        .success()
        .stderr_contains("1 ok, 0 partial, 0 failed, 3 unchanged, 0 pending");
}

/// Starts `kitap convert` with JSON logs; returns it and a reader of its stderr lines.
fn spawn_json(scans: &Path, out: &Path) -> (std::process::Child, impl Iterator<Item = String>) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kitap"))
        .arg("convert")
        .arg(scans)
        .arg("-o")
        .arg(out)
        .args(["--log-format", "json"])
        .env("OMP_THREAD_LIMIT", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok);
    (child, lines)
}

#[test]
fn sigterm_finishes_what_is_done_and_the_next_run_takes_the_rest() {
    let dir = fixture_dir("nightly-sigterm");
    let scans = all_books(&dir);
    let out = dir.join("out");
    let (mut child, mut lines) = spawn_json(&scans, &out);
    // After the first finished book, a polite stop.
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let done = line.contains("\"event\":\"book_done\"");
        seen.push(line);
        if done {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    seen.extend(lines);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen:#?}");
    let ev = events(&seen.join("\n"));
    let finished: Vec<&str> = named(&ev, "book_done")
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(!finished.is_empty() && finished.len() < 4, "{finished:?}");
    assert_eq!(ev.last().unwrap()["exit_code"], 143);
    // OUT says exactly what is done: those books, whole; nothing half-made.
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    let ids: Vec<&str> = m.books.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, finished);
    assert!(m.verify(&out).is_empty());
    no_temp_files(&out);
    for b in &BOOKS[finished.len()..] {
        assert!(
            !out.join(b).exists(),
            "{b} was not finished but has a folder"
        );
    }
    // The next run converts the rest and leaves the finished books alone.
    let next = Kitap::convert(&scans).out(&out).run();
    next.success().stderr_contains(&format!(
        "{} ok, 0 partial, 0 failed, {} unchanged,",
        4 - finished.len(),
        finished.len()
    ));
}

#[test]
fn sigint_before_any_book_is_done_exits_130_with_nothing_half_written() {
    let dir = fixture_dir("nightly-sigint");
    let samples = repo_samples();
    let scans = dir.join("scans");
    copy_dir(&samples.join(BOOKS[1]), &scans.join(BOOKS[1]));
    let out = dir.join("out");
    let (mut child, mut lines) = spawn_json(&scans, &out);
    // Once a worker has taken the first page.
    assert!(lines.by_ref().any(|l| l.contains("\"book_start\"")));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest: Vec<String> = lines.collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("stopped by SIGINT")),
        "{rest:#?}"
    );
    assert_eq!(
        Manifest::read(&out.join("manifest.json"))
            .unwrap()
            .books
            .len(),
        0
    );
    assert!(!out.join(BOOKS[1]).exists());
    no_temp_files(&out);
}

/// `kitap convert` with JSON logs into `log`, every rename slowed down by 0.2 s (so kills land
/// in swaps and manifest renames too), killed with SIGKILL as soon as `kill_when()` holds
/// (polled every 5 ms; a run that ends first is not killed).
fn killed_run(scans: &Path, out: &Path, log: &Path, kill_when: &dyn Fn() -> bool) {
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "trace=rename,renameat,renameat2"])
        .args(["-e", "inject=rename,renameat,renameat2:delay_exit=200000"])
        .arg(env!("CARGO_BIN_EXE_kitap"))
        .arg("convert")
        .arg(scans)
        .arg("-o")
        .arg(out)
        .args(["--log-format", "json"])
        .env("OMP_THREAD_LIMIT", "1")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("strace runs");
    while strace.try_wait().unwrap().is_none() {
        if kill_when() {
            let children = format!("/proc/{0}/task/{0}/children", strace.id());
            for pid in std::fs::read_to_string(children)
                .unwrap_or_default()
                .split_whitespace()
            {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    strace.wait().unwrap();
}

/// Whether a folder holds an entry whose name contains `part`.
fn holds(dir: &Path, part: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().contains(part))
    })
}

/// sha256 of every output file under OUT (the books' files; not the manifest or records).
fn output_hashes(out: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = BOOKS
        .iter()
        .flat_map(|b| book_files(out, &out.join(b)))
        .map(|f| (f.clone(), kitap::fsio::hash_file(&out.join(&f)).unwrap().1))
        .collect();
    v.sort();
    v
}

#[test]
fn after_kill_9_at_any_point_the_next_run_resumes_to_byte_identical_outputs() {
    let dir = fixture_dir("nightly-resume");
    let scans = all_books(&dir);
    // The uninterrupted run.
    let reference = dir.join("reference");
    Kitap::convert(&scans)
        .out(&reference)
        .arg("--quiet")
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .run()
        .success();
    // Killed three times, each run going on from what the one before left: while a book's
    // later pages are read (its first page is kept), while a book's files are written (a
    // staging folder exists), and while the manifest is renamed into place.
    let out = dir.join("out");
    let kept = out.join(".kitap/pages/kk-dala-kitaphanasy");
    let staging = out.join(".kitap/staging");
    let points: [(&str, &dyn Fn() -> bool); 3] = [
        ("reading", &|| kept.join("0.page").exists()),
        ("writing", &|| holds(&staging, ".new")),
        ("manifest", &|| holds(&out, "manifest.json.kitap-tmp-")),
    ];
    let mut resumed = 0;
    for (name, kill_when) in points {
        let log = dir.join(format!("killed-{name}.jsonl"));
        killed_run(&scans, &out, &log, kill_when);
        let text = std::fs::read_to_string(&log).unwrap();
        // A line cut by the kill is not checked.
        let complete: Vec<&str> = text.lines().filter(|l| l.ends_with('}')).collect();
        resumed += named(&events(&complete.join("\n")), "book_done")
            .iter()
            .map(|e| e["pages_resumed"].as_u64().unwrap())
            .sum::<u64>();
    }
    let last = Kitap::convert(&scans)
        .out(&out)
        .args(["--log-format", "json"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .run();
    last.success();
    resumed += named(&events(&last.stderr), "book_done")
        .iter()
        .map(|e| e["pages_resumed"].as_u64().unwrap())
        .sum::<u64>();
    // Pages finished before a kill were not read again after it.
    assert!(resumed > 0, "no page was resumed");
    assert_eq!(output_hashes(&out), output_hashes(&reference));
    outputs_match_manifest(&last);
    no_temp_files(&out);
    // Every book finished: nothing waits in the page cache.
    let cache = out.join(".kitap/pages");
    let left: Vec<_> = std::fs::read_dir(&cache).map_or(Vec::new(), |d| d.collect());
    assert!(left.is_empty(), "{left:?}");
}
