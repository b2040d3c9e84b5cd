//! What a run tells the people and scripts watching it, on stderr. Plain: a progress bar on a
//! terminal, one line per problem, and without a terminal one timestamped line per finished
//! book so a log file shows progress. `--log-format json`: one JSON object per line, each with
//! `ts`, `level` and `event` (see README, "Nightly runs"). `--quiet` keeps errors only.

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::error::PageError;
use crate::manifest::{
    self, BookRecord, Correction, PageRecord, PageStatus, StageSeconds, Summary,
};

/// How the log on stderr is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people (a progress bar on a terminal).
    #[default]
    Plain,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Error,
    Warn,
    Info,
}

/// Prints messages without tearing the progress bar.
pub(crate) struct Reporter {
    pub(super) bar: ProgressBar,
    quiet: bool,
    /// `-v` count: 1 a line per page, 2 with its stages.
    verbose: u8,
    format: LogFormat,
    /// Plain lines per finished book: stderr is not a terminal.
    book_lines: bool,
    started: Instant,
    /// Books with pages in work, shown on the progress bar.
    working: std::sync::Mutex<Vec<String>>,
}

/// `b/0001.png: page 1: ok, turned 90° (osd), skew 1.3° straightened, 312 words at 91.2 %, 2.4 s`;
/// at `-vv` also `2480×3508 px, 300 dpi (file), ccitt-g4; load 0.05 s, prepare 0.40 s, ocr 1.90 s, encode 0.05 s`.
fn page_line(file: &Path, p: &PageRecord, s: &StageSeconds, resumed: bool, verbose: u8) -> String {
    let mut parts: Vec<String> = Vec::new();
    if p.status == PageStatus::Failed {
        parts.push("failed".into());
    } else {
        parts.push("ok".into());
        match (p.rotation_cw_deg, p.orientation_by) {
            (Some(r), Some(by)) if r != 0 => parts.push(format!("turned {r}° ({})", name(&by))),
            _ => {}
        }
        if let Some(skew) = p.skew_cw_deg.filter(|s| s.abs() >= 0.1) {
            let how = match p.correction {
                Some(Correction::None) | None => "left",
                _ => "straightened",
            };
            parts.push(format!("skew {skew:.1}° {how}"));
        }
        parts.push(match p.confidence {
            Some(c) => format!("{} words at {c:.1} %", p.words),
            None => "no words".into(),
        });
        if p.lookalikes_repaired > 0 {
            parts.push(format!(
                "{} look-alike word(s) repaired",
                p.lookalikes_repaired
            ));
        }
    }
    let total = s.load + s.prepare + s.ocr + s.encode;
    parts.push(if resumed {
        "from the page cache".into()
    } else {
        format!("{total:.1} s")
    });
    let mut line = format!("{}: page {}: {}", file.display(), p.index, parts.join(", "));
    if verbose >= 2 && p.status != PageStatus::Failed {
        if let (Some(w), Some(h)) = (p.width, p.height) {
            line.push_str(&format!("; {w}×{h} px"));
        }
        if let (Some(dpi), Some(src)) = (p.dpi, p.dpi_source) {
            line.push_str(&format!(", {dpi:.0} dpi ({})", name(&src)));
        }
        if let Some(e) = p.image_encoding {
            line.push_str(&format!(", {}", name(&e)));
        }
        if !resumed {
            line.push_str(&format!(
                "; load {:.2} s, prepare {:.2} s, ocr {:.2} s, encode {:.2} s",
                s.load, s.prepare, s.ocr, s.encode
            ));
        }
    }
    line
}

/// The manifest's name of an enum value (its serde name: `osd`, `ccitt-g4`).
fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One JSON log line on stderr.
pub fn json_line(level: &str, event: &str, fields: Value) -> String {
    let mut line = json!({ "ts": manifest::now_rfc3339(), "level": level, "event": event });
    if let (Some(l), Value::Object(f)) = (line.as_object_mut(), fields) {
        l.extend(f);
    }
    line.to_string()
}

impl Reporter {
    pub(super) fn new(total: usize, quiet: bool, format: LogFormat) -> Reporter {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let show_bar = !quiet && terminal && format == LogFormat::Plain;
        let target = if show_bar {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total as u64), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} pages · {msg} · ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Reporter {
            bar,
            quiet,
            verbose: 0,
            format,
            book_lines: !terminal && !quiet && format == LogFormat::Plain,
            started: Instant::now(),
            working: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// With `-v` (1) or `-vv` (2): a line per page.
    pub(super) fn verbose(mut self, level: u8) -> Reporter {
        self.verbose = level;
        self
    }

    /// What became of a page, with `-v`: one line per page written (a spread's two halves are
    /// two), and with `-vv` its size, resolution, encoding and stage times.
    pub(super) fn page_detail(
        &self,
        book: &str,
        file: &Path,
        pages: &[PageRecord],
        seconds: &StageSeconds,
        resumed: bool,
    ) {
        if self.verbose == 0 || self.quiet {
            return;
        }
        for p in pages {
            if self.format == LogFormat::Plain {
                let line = page_line(file, p, seconds, resumed, self.verbose);
                self.bar.suspend(|| eprintln!("{line}"));
            }
            let ms = |s: f64| (s * 1000.0).round() / 1000.0;
            let total = seconds.load + seconds.prepare + seconds.ocr + seconds.encode;
            let mut fields = json!({
                "book": book, "page": p.index, "source": p.source, "status": p.status,
                "rotation_cw_deg": p.rotation_cw_deg, "skew_cw_deg": p.skew_cw_deg,
                "correction": p.correction, "orientation_by": p.orientation_by,
                "words": p.words, "confidence": p.confidence.map(|c| (c * 10.0).round() / 10.0),
                "seconds": ms(total), "resumed": resumed,
            });
            if self.verbose >= 2
                && let Value::Object(f) = &mut fields
            {
                f.insert(
                    "stages".into(),
                    json!({ "load": ms(seconds.load), "prepare": ms(seconds.prepare),
                            "ocr": ms(seconds.ocr), "encode": ms(seconds.encode) }),
                );
                f.insert("width".into(), json!(p.width));
                f.insert("height".into(), json!(p.height));
                f.insert("dpi".into(), json!(p.dpi));
                f.insert("dpi_source".into(), json!(p.dpi_source));
                f.insert("image_encoding".into(), json!(p.image_encoding));
            }
            self.event(Level::Info, "page_done", fields);
        }
    }

    fn shown(&self, level: Level) -> bool {
        !self.quiet || level == Level::Error
    }

    /// A JSON event (JSON format only).
    fn event(&self, level: Level, event: &str, fields: Value) {
        if self.format != LogFormat::Json || !self.shown(level) {
            return;
        }
        let level = match level {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        };
        let line = json_line(level, event, fields);
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// A plain line (plain format only).
    fn plain(&self, level: Level, line: &str) {
        if self.format == LogFormat::Plain && self.shown(level) {
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    pub(super) fn run_start(&self, fields: Value) {
        self.event(Level::Info, "run_start", fields);
    }

    /// A problem of the run itself (not of one book).
    pub(super) fn warn(&self, msg: &str) {
        self.plain(Level::Warn, &format!("warning: {msg}"));
        self.event(Level::Warn, "warning", json!({ "message": msg }));
    }

    /// Something worth knowing about a book that is no problem (shown unless `--quiet`).
    pub(super) fn book_info(&self, book: &str, shown: &Path, msg: &str) {
        self.plain(Level::Info, &format!("{}: {msg}", shown.display()));
        self.event(
            Level::Info,
            "book_info",
            json!({ "book": book, "file": shown.display().to_string(), "message": msg }),
        );
    }

    /// A warning about a book, or one of its pages.
    pub(super) fn book_warning(&self, book: &str, shown: &Path, page: Option<u32>, msg: &str) {
        let line = match page {
            Some(p) => format!("warning: {}: page {p}: {msg}", shown.display()),
            None => format!("warning: {}: {msg}", shown.display()),
        };
        self.plain(Level::Warn, &line);
        let mut fields =
            json!({ "book": book, "file": shown.display().to_string(), "message": msg });
        if let Some(p) = page {
            fields["page"] = json!(p);
        }
        self.event(Level::Warn, "warning", fields);
    }

    pub(super) fn page_error(&self, book: &str, e: &PageError) {
        self.plain(Level::Error, &e.to_string());
        self.event(
            Level::Error,
            "page_error",
            json!({ "book": book, "page": e.page, "file": e.file.display().to_string(), "message": e.message }),
        );
    }

    /// A book that failed as a whole (`what`: "failed", or "skipped" when it had no page).
    pub(super) fn book_error(&self, book: &str, dir: &Path, what: &str, msg: &str) {
        self.plain(
            Level::Error,
            &format!("{}: book '{book}' {what}: {msg}", dir.display()),
        );
        self.event(
            Level::Error,
            "book_error",
            json!({ "book": book, "folder": dir.display().to_string(), "message": msg }),
        );
    }

    pub(super) fn book_start(&self, book: &str, pages: usize) {
        self.event(
            Level::Info,
            "book_start",
            json!({ "id": book, "pages": pages }),
        );
        self.working_changed(|w| w.push(book.to_string()));
    }

    fn working_changed(&self, change: impl FnOnce(&mut Vec<String>)) {
        let mut w = self.working.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut w);
    }

    /// The progress bar's words: the books in work and the pace.
    fn show_progress(&self, pages: usize) {
        let mins = self.started.elapsed().as_secs_f64() / 60.0;
        let books = self
            .working
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join(", ");
        self.bar.set_message(format!(
            "{books} · {:.1} pages/min",
            pages as f64 / mins.max(1e-9)
        ));
    }

    pub(super) fn book_done(&self, rec: &BookRecord, seconds: f64, resumed: usize) {
        self.working_changed(|w| w.retain(|b| *b != rec.id));
        let failed = rec
            .pages
            .iter()
            .filter(|p| p.status == PageStatus::Failed)
            .count();
        let status = serde_json::to_value(rec.status).unwrap_or_default();
        let status = status.as_str().unwrap_or("");
        if self.book_lines {
            eprintln!(
                "{} {}: {status}, {} page(s), {failed} failed, {seconds:.1} s",
                manifest::now_rfc3339(),
                rec.id,
                rec.pages.len()
            );
        }
        let (thumbs, files): (Vec<_>, Vec<_>) = rec
            .files
            .iter()
            .map(|f| f.path.as_str())
            .partition(|p| manifest::review::is_thumbnail(p));
        self.event(
            Level::Info,
            "book_done",
            json!({ "id": rec.id, "status": status, "pages": rec.pages.len(),
                    "pages_failed": failed, "pages_resumed": resumed,
                    "needs_review": rec.needs_review,
                    "seconds": (seconds * 10.0).round() / 10.0, "files": files,
                    "thumbnails": thumbs.len() }),
        );
    }

    pub(super) fn book_unchanged(&self, id: &str) {
        self.event(
            Level::Info,
            "book_skipped",
            json!({ "id": id, "reason": "unchanged" }),
        );
    }

    pub(super) fn book_pending(&self, id: &str, dir: &Path) {
        self.plain(
            Level::Info,
            &format!(
                "{}: book '{id}' changed too recently (--min-age); left for a later run",
                dir.display()
            ),
        );
        self.event(
            Level::Info,
            "book_pending",
            json!({ "id": id, "reason": "too_recent" }),
        );
    }

    /// An input's bytes changed behind an unchanged size and time (`--verify-inputs`).
    pub(super) fn input_changed(&self, book: &str, msg: &str) {
        self.plain(Level::Error, msg);
        self.event(
            Level::Error,
            "input_changed",
            json!({ "book": book, "message": msg }),
        );
    }

    /// The run was stopped by a signal: said at error level, so a quiet log says it too.
    pub(super) fn stopped(&self, signal: &str, finished: usize) {
        let msg = format!(
            "stopped by {signal}: {finished} book(s) finished; the rest is left for the next run"
        );
        self.plain(Level::Error, &format!("kitap: {msg}"));
        self.event(
            Level::Error,
            "run_stopped",
            json!({ "signal": signal, "books_finished": finished, "message": msg }),
        );
    }

    pub(super) fn page_done(&self, pages: usize) {
        self.bar.inc(1);
        if !self.bar.is_hidden() {
            self.show_progress(pages);
        }
    }

    /// The pages the run will convert, once up-to-date and pending books are left out.
    pub(super) fn set_total(&self, pages: usize) {
        self.bar.set_length(pages as u64);
    }

    /// The closing line (or `run_done` event): what the run did and where the manifest is.
    pub(super) fn run_done(&self, s: &Summary, skipped: (usize, usize), exit: u8, path: &Path) {
        let (unchanged, pending) = skipped;
        let secs = self.started.elapsed().as_secs_f64();
        self.event(
            Level::Info,
            "run_done",
            json!({ "books": s.books, "books_ok": s.books_ok, "books_partial": s.books_partial,
                    "books_failed": s.books_failed, "books_unchanged": unchanged,
                    "books_pending": pending, "pages": s.pages, "pages_failed": s.pages_failed,
                    "seconds": (secs * 10.0).round() / 10.0, "exit_code": exit,
                    "manifest": path.display().to_string() }),
        );
        if self.format != LogFormat::Plain || self.quiet {
            return;
        }
        if s.books + unchanged + pending == 0 {
            eprintln!("kitap: no books; manifest: {}", path.display());
            return;
        }
        eprintln!(
            "kitap: {} book(s): {} ok, {} partial, {} failed, {unchanged} unchanged, {pending} pending; {} page(s), {} failed; {:.1} s{}; manifest: {}",
            s.books + unchanged + pending,
            s.books_ok,
            s.books_partial,
            s.books_failed,
            s.pages,
            s.pages_failed,
            secs,
            pace(s.pages, secs),
            path.display()
        );
    }
}

/// ` (N pages/min)` once a run has taken long enough for the figure to mean something.
fn pace(pages: usize, secs: f64) -> String {
    if pages == 0 || secs < 1.0 {
        return String::new();
    }
    format!(" ({:.1} pages/min)", pages as f64 / (secs / 60.0))
}
