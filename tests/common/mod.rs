//! Shared helpers for the integration tests: the shared scan corpus, running the real binary,
//! and checking outputs with real tools (qpdf, pdftotext, epubcheck, jsonschema, tesseract).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod pdfa;
pub mod reading;

use kitap::manifest::{BookRecord, Manifest, PageRecord};

/// `$KITAP_SHARED`, else `../shared` beside the checkout. Absent: a failure under CI, a visible
/// skip notice elsewhere (a user's fresh clone has no shared corpus).
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("KITAP_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("sample-scans").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "shared test corpus not found at {} (set KITAP_SHARED)",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: shared test corpus not found at {} (set KITAP_SHARED to run this test)",
        dir.display()
    );
    None
}

/// Languages of the shared books, as a librarian would write them in book.toml.
pub fn shared_languages(book: &str) -> &'static str {
    match book {
        b if b.starts_with("kpv-") => r#"["kpv"]"#,
        b if b.starts_with("rus-") => r#"["rus", "eng"]"#,
        b if b.starts_with("ukr-") => r#"["ukr", "eng"]"#,
        b if b.starts_with("tuk-") => r#"["tuk"]"#,
        "multi-latin-eurotext" => r#"["eng", "deu", "fra", "ita", "spa", "por"]"#,
        _ => r#"["eng"]"#,
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The repository's own sample books (sample-scans/).
pub fn repo_samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans")
}

/// Copies the named repository sample books into `scans/`; returns `scans`.
pub fn copy_samples(scans: &Path, books: &[&str]) -> PathBuf {
    for b in books {
        copy_dir(&repo_samples().join(b), &scans.join(b));
    }
    scans.to_path_buf()
}

/// Copies shared books into `scans/` with a book.toml naming their languages.
pub fn stage_shared_books(shared: &Path, scans: &Path, books: &[&str]) {
    for b in books {
        let dest = scans.join(b);
        copy_dir(&shared.join("sample-scans").join(b), &dest);
        std::fs::write(
            dest.join("book.toml"),
            format!("languages = {}\n", shared_languages(b)),
        )
        .unwrap();
    }
}

/// A kitap command line to run, in the manner of casey/just's `Test` builder:
/// `Kitap::convert(&scans).out(&out).arg("--quiet").run().success()`.
pub struct Kitap {
    cmd: Command,
    out: Option<PathBuf>,
}

impl Kitap {
    /// `kitap` with no arguments yet (`Kitap::new().arg("pipelines")`).
    pub fn new() -> Kitap {
        Kitap {
            cmd: Command::new(env!("CARGO_BIN_EXE_kitap")),
            out: None,
        }
    }

    /// `kitap convert SCANS`.
    pub fn convert(scans: &Path) -> Kitap {
        Kitap::new().arg("convert").arg(scans)
    }

    /// `-o OUT`: the output folder, which [`Run::manifest`] and [`Run::file`] read.
    pub fn out(mut self, out: &Path) -> Kitap {
        self.out = Some(out.to_path_buf());
        self.arg("-o").arg(out)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Kitap {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Kitap {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Kitap {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Kitap {
        self.cmd.env_remove(key);
        self
    }

    /// Runs to the end. A panic of kitap fails the test whatever the exit code.
    pub fn run(mut self) -> Run {
        let output = self.cmd.output().expect("kitap runs");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "kitap panicked:\n{stderr}");
        Run {
            exit: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
            out: self.out.unwrap_or_default(),
        }
    }
}

/// A finished kitap run: exit code, what it printed, and the output folder it was given.
pub struct Run {
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
    pub out: PathBuf,
}

impl Run {
    pub fn success(&self) -> &Run {
        self.code(0)
    }

    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(self.exit, code, "exit code; stderr:\n{}", self.stderr);
        self
    }

    pub fn stderr_contains(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_contains(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// OUT/manifest.json, read as the library's own type (which denies unknown fields).
    pub fn manifest(&self) -> Manifest {
        Manifest::read(&self.out.join("manifest.json")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// OUT/ID/ID.EXT, a book's output file.
    pub fn file(&self, id: &str, ext: &str) -> PathBuf {
        self.out.join(id).join(format!("{id}.{ext}"))
    }
}

/// The book with this id.
pub fn book<'m>(m: &'m Manifest, id: &str) -> &'m BookRecord {
    m.books
        .iter()
        .find(|b| b.id == id)
        .unwrap_or_else(|| panic!("no book {id} in the manifest"))
}

/// The page whose source file name ends with `file`.
pub fn page<'b>(b: &'b BookRecord, file: &str) -> &'b PageRecord {
    b.pages
        .iter()
        .find(|p| p.source.ends_with(file))
        .unwrap_or_else(|| panic!("{}: no page from {file}", b.id))
}

// The manifest's enum fields, read as the names the JSON (and its schema) gives them: the tests
// check the names a catalogue or validator sees, not just the Rust values.
fn as_string<T: serde::Serialize>(field: &T) -> Option<String> {
    serde_json::to_value(field)
        .unwrap()
        .as_str()
        .map(str::to_string)
}

/// How the page image is stored in the PDF (`jpeg`, `ccitt-g4`, …).
pub fn encoding(p: &PageRecord) -> String {
    as_string(&p.image_encoding).unwrap_or_else(|| panic!("{}: no image encoding", p.source))
}

/// How the page was straightened (`resampled`, `matrix`, `none`).
pub fn correction(p: &PageRecord) -> String {
    as_string(&p.correction).unwrap_or_else(|| panic!("{}: no correction", p.source))
}

/// What decided the orientation (`osd`, `trial`, `none`).
pub fn orientation_by(p: &PageRecord) -> String {
    as_string(&p.orientation_by).unwrap_or_else(|| panic!("{}: no orientation_by", p.source))
}

/// `left` or `right` for a half of a split spread.
pub fn part(p: &PageRecord) -> Option<String> {
    as_string(&p.part)
}

/// A conversion shared by the tests of one binary, made once. A setup that panics is not
/// redone by every later test (a whole corpus conversion each, a CI timeout on 2 cores): they
/// fail at once with its message.
pub struct Shared<T>(std::sync::OnceLock<Result<T, String>>);

impl<T> Shared<T> {
    pub const fn new() -> Shared<T> {
        Shared(std::sync::OnceLock::new())
    }

    /// The shared value, made by `init` on first use.
    pub fn get(&self, init: impl FnOnce() -> T) -> &T {
        let made = self.0.get_or_init(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(init)).map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into())
            })
        });
        match made {
            Ok(value) => value,
            Err(message) => panic!("the shared conversion failed: {message}"),
        }
    }
}

/// A folder for a conversion that several tests of this binary read: `target/tmp/NAME-PID`,
/// left in place for a look after the run (a static is never dropped), and removed by the next
/// run once its process has ended.
pub fn fixture_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let me = std::process::id();
    if cfg!(target_os = "linux")
        && let Ok(entries) = std::fs::read_dir(root)
    {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let pid = file
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != me
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(format!("{name}-{me}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn tool(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{cmd} is required for the tests ({e}); see scripts/install-deps.sh for the packages"
        )
    })
}

pub fn tool_ok(cmd: &str, args: &[&str]) -> String {
    let o = tool(cmd, args);
    assert!(
        o.status.success(),
        "{cmd} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The ground truth of a corpus page: `gt/<stem>.txt` beside it.
pub fn gt_path(page: &Path) -> PathBuf {
    page.parent()
        .unwrap()
        .join("gt")
        .join(page.file_stem().unwrap())
        .with_extension("txt")
}

pub fn qpdf_check(pdf: &Path) {
    tool_ok("qpdf", &["--check", pdf.to_str().unwrap()]);
}

/// What every PDF kitap writes must pass: `qpdf --check` and the PDF/A-2u checks.
pub fn check_pdf(pdf: &Path) {
    qpdf_check(pdf);
    pdfa::assert_pdfa(pdf);
}

pub fn pdftotext(pdf: &Path) -> String {
    tool_ok("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"])
}

pub fn pdf_pages(pdf: &Path) -> usize {
    let info = tool_ok("pdfinfo", &[pdf.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("pdfinfo prints Pages")
}

/// The text-layer font is there, embedded, and maps to Unicode.
pub fn fonts_embedded_with_unicode(pdf: &Path) {
    let out = tool_ok("pdffonts", &[pdf.to_str().unwrap()]);
    let rows: Vec<&str> = out
        .lines()
        .skip(2)
        .filter(|r| r.starts_with("GlyphLessFont"))
        .collect();
    assert!(
        !rows.is_empty(),
        "no text-layer font in {}:\n{out}",
        pdf.display()
    );
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert_eq!(
            (cols[n - 5], cols[n - 3]),
            ("yes", "yes"),
            "emb/uni in: {row}"
        );
    }
}

/// `kitap validate OUT` finds nothing wrong (exit 0; warnings allowed): every OUT the tests
/// check is fit for upload — schema, files, PDF/EPUB/text structure, statuses, metadata.
pub fn kitap_validate_clean(out: &Path) {
    let run = Kitap::new().arg("validate").arg(out).run();
    assert_eq!(
        run.exit,
        0,
        "kitap validate {} found problems:\n{}{}",
        out.display(),
        run.stdout,
        run.stderr
    );
}

/// The files under OUT/<id>/ are exactly the ones the manifest lists for that book.
/// Each converted book's folder holds exactly the files its manifest entry lists, plus its
/// record (`.kitap-book.json`), which lists the same files. A failed book's folder is untouched
/// by the run: absent, or an earlier generation whose own record lists what is there. And
/// `kitap validate` passes OUT.
pub fn outputs_match_manifest(run: &Run) {
    kitap_validate_clean(&run.out);
    for b in run.manifest().books {
        let dir = run.out.join(&b.id);
        let present = book_files(&run.out, &dir);
        let record = kitap::generation::read_record(&dir);
        if b.status == kitap::manifest::Status::Failed {
            if let Some(r) = record {
                assert_eq!(present, listed(&r), "{}: files on disk vs its record", b.id);
            }
            continue;
        }
        assert_eq!(present, listed(&b), "{}: files on disk vs manifest", b.id);
        let record = record.unwrap_or_else(|| panic!("{}: no record in its folder", b.id));
        assert_eq!(listed(&record), listed(&b), "{}: record vs manifest", b.id);
        for (r, m) in record.files.iter().zip(&b.files) {
            assert_eq!((r.bytes, &r.sha256), (m.bytes, &m.sha256), "{}", m.path);
        }
    }
}

fn listed(b: &BookRecord) -> Vec<String> {
    let mut v: Vec<String> = b.files.iter().map(|f| f.path.clone()).collect();
    v.sort();
    v
}

/// The files in a book's folder, relative to OUT, without its record.
pub fn book_files(out: &Path, dir: &Path) -> Vec<String> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut present: Vec<String> = walk(dir)
        .iter()
        .filter(|p| !p.ends_with(kitap::generation::RECORD_FILE))
        .map(|p| {
            p.strip_prefix(out)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    present.sort();
    present
}

/// epubcheck must report no errors and no warnings.
pub fn epubcheck(epub: &Path) {
    let o = tool(
        "java",
        &[
            "-jar",
            "/usr/share/java/epubcheck.jar",
            epub.to_str().unwrap(),
        ],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success() && all.contains("No errors or warnings detected"),
        "epubcheck {}:\n{all}",
        epub.display()
    );
}

/// Validates the manifest against the JSON Schema in the repo with the reference Python
/// implementation (Debian's python3-jsonschema), and OUT with `kitap validate`.
pub fn validate_manifest(out: &Path) {
    kitap_validate_clean(out);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/manifest.schema.json");
    let script = "import json,sys,jsonschema\n\
s=json.load(open(sys.argv[1]))\n\
jsonschema.Draft202012Validator.check_schema(s)\n\
errs=list(jsonschema.Draft202012Validator(s).iter_errors(json.load(open(sys.argv[2]))))\n\
[print(list(e.absolute_path), e.message) for e in errs]\n\
sys.exit(1 if errs else 0)";
    tool_ok(
        "/usr/bin/python3",
        &[
            "-c",
            script,
            schema.to_str().unwrap(),
            out.join("manifest.json").to_str().unwrap(),
        ],
    );
}

/// Every file the manifest lists exists with that size and SHA-256 (`Manifest::verify`).
pub fn check_file_hashes(run: &Run) {
    let manifest = run.manifest();
    let problems = manifest.verify(&run.out);
    assert!(
        problems.is_empty(),
        "files differ from the manifest:\n{}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let files: Vec<_> = manifest.books.iter().flat_map(|b| &b.files).collect();
    assert!(!files.is_empty(), "manifest lists no files");
    // The library's hashing is checked in turn by a tool of its own: sha256sum on every file.
    let paths: Vec<String> = files
        .iter()
        .map(|f| run.out.join(&f.path).to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let sums = tool_ok("sha256sum", &args);
    for (f, line) in files.iter().zip(sums.lines()) {
        assert_eq!(
            line.split_whitespace().next(),
            Some(f.sha256.as_str()),
            "{}",
            f.path
        );
    }
    assert_eq!(sums.lines().count(), files.len());
}

/// No temporary file is left behind anywhere under `dir`.
/// No temporary file anywhere in OUT, and no generation left in staging.
pub fn no_temp_files(dir: &Path) {
    let staging = kitap::generation::staging_root(dir);
    if staging.is_dir() {
        let left: Vec<_> = std::fs::read_dir(&staging).unwrap().collect();
        assert!(left.is_empty(), "left in {}: {left:?}", staging.display());
    }
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(".kitap-tmp"),
            "temporary file left: {}",
            e.display()
        );
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Character error rate as DESIGN.md defines it: NFC (OCR output and ground truth here are
/// already composed), whitespace runs collapsed to one space, trimmed; Levenshtein ÷ GT length.
pub fn normalize(s: &str) -> Vec<char> {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    let (a, b) = if a.len() < b.len() { (b, a) } else { (a, b) };
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// (distance, ground-truth length) of `text` against `gt`.
pub fn distance(text: &str, gt: &str) -> (usize, usize) {
    let (t, g) = (normalize(text), normalize(gt));
    (levenshtein(&t, &g), g.len())
}

/// What the tesseract CLI reads on a page with the given models (`eng`, `rus+eng`).
pub fn tesseract_cli(page: &Path, models: &str) -> String {
    let o = Command::new("tesseract")
        .arg(page)
        .args(["-", "-l", models])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("tesseract CLI installed");
    assert!(
        o.status.success(),
        "tesseract {}: {}",
        page.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The .txt output split into pages (form feeds).
pub fn txt_pages(out: &Path, id: &str) -> Vec<String> {
    std::fs::read_to_string(out.join(id).join(format!("{id}.txt")))
        .unwrap()
        .split('\x0c')
        .map(str::to_string)
        .collect()
}

/// Mean grey (0–255) of each page as poppler renders it at 10 dpi: scanned pages are mostly
/// paper, so a dark page means an inverted or missing image.
pub fn rendered_brightness(pdf: &Path) -> Vec<f64> {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("p");
    tool_ok(
        "pdftoppm",
        &[
            "-r",
            "10",
            "-gray",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    walk(dir.path())
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            // Binary PGM: "P5\n<w> <h>\n255\n" then the pixels.
            let mut fields = 0;
            let mut i = 0;
            while fields < 4 {
                while bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                while !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                fields += 1;
            }
            let px = &bytes[i + 1..];
            px.iter().map(|&v| v as f64).sum::<f64>() / px.len() as f64
        })
        .collect()
}

/// Maps `f` over `items` on two threads (the machine's cores), keeping the order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.is_empty() {
        return Vec::new();
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(items.len().div_ceil(2))
            .map(|chunk| s.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// A small real page: the top fifth of the English sample page (its title and first lines),
/// which OCRs in a fraction of a second. Tests of the walk and of metadata need books, not
/// long pages.
pub fn small_page(dest: &Path) {
    static PNG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let bytes = PNG.get_or_init(|| {
        let page =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-scans/en-reading-room/0001.png");
        let img = image::open(page).unwrap();
        let top = img.crop_imm(0, 0, img.width(), img.height() / 5);
        let mut out = std::io::Cursor::new(Vec::new());
        top.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    });
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::write(dest, bytes).unwrap();
}

/// A book folder holding one small page, `0001.png`.
pub fn small_book(dir: &Path) {
    small_page(&dir.join("0001.png"));
}

/// Debian's headless Chromium on `url` with a profile of its own (tests run it in parallel):
/// `--dump-dom` after the page's scripts ran, or `--screenshot` when `png` is given. Returns
/// stdout (the DOM).
pub fn chromium(url: &str, png: Option<(&Path, u32, u32)>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        // Containers give /dev/shm 64 MB: Chromium's renderer would crash on a long page.
        "--disable-dev-shm-usage".into(),
        "--no-first-run".into(),
        "--disable-extensions".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--virtual-time-budget=10000".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    match png {
        Some((file, w, h)) => {
            args.push(format!("--screenshot={}", file.display()));
            args.push(format!("--window-size={w},{h}"));
        }
        None => args.push("--dump-dom".into()),
    }
    args.push(url.to_string());
    let out = Command::new("chromium")
        .args(&args)
        .output()
        .expect("chromium runs (apt-get install chromium)");
    assert!(
        out.status.success(),
        "chromium {url} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `file://` URL of a path.
pub fn file_url(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap();
    let mut url = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    url
}

/// Edits OUT/manifest.json as JSON.
pub fn edit_manifest(out: &Path, change: impl FnOnce(&mut serde_json::Value)) {
    let path = out.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut m);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

/// A private copy of a converted OUT (`out` under a fresh fixture folder named `name`), for a
/// test that writes into it or tampers with it.
pub fn copy_out(out: &Path, name: &str) -> PathBuf {
    let dir = fixture_dir(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(out)
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join(out.file_name().unwrap())
}
