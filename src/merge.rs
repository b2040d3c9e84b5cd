//! `kitap merge OUT`: the manifest parts of a sharded run (`OUT/.kitap/shards/K-of-N.json`)
//! and OUT's `manifest.json` joined into `manifest.json`.
//!
//! Each part is the truth about its shard's books as its run left them (books converted,
//! unchanged, failed, and those OUT held before), so the parts of all N shards together are
//! what one unsharded run over the same SCANS would have written. A part replaces, for the
//! books of its shard, what `manifest.json` said; a shard without a part keeps what
//! `manifest.json` said and is reported missing (`incomplete: true`). The manifest lists the
//! parts it holds (`merged_parts`: each part's name and `finished`, recorded by a merge, or by
//! an unsharded run, whose manifest supersedes every part there); a merge reads only the parts
//! that changed since, whatever their N, in the order they finished.
//!
//! The books are streamed: each source is read one book at a time (books are sorted by id in
//! every manifest kitap writes), a book's JSON is copied as it is, and only its id and its
//! pages' statuses are parsed, for the summary. Memory stays flat however large the batch.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::fsio;
use crate::lock::{LockError, OutLock};
use crate::manifest::{
    self, BookRecord, Manifest, PageStatus, PipelineInfo, ShardRecord, StageSeconds, Status,
    Summary,
};
use crate::shard::{self, Shard, shard_of};

/// What `kitap merge` was asked.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeRequest {
    /// OUT: the output folder the shards converted into.
    pub out: PathBuf,
    /// The number of shards of the run (default: that of the part written last). Shards of
    /// it without a part are reported missing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,
    /// The scheduler's run the shards must belong to (a Slurm array job id; default: the
    /// environment's KITAP_RUN). A part of another run counts as missing.
    #[arg(long, value_name = "ID", env = "KITAP_RUN")]
    pub run: Option<String>,
    /// When another run holds OUT, wait up to this long for it (e.g. 10m) instead of exiting
    /// with code 3.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub wait_lock: Option<Duration>,
    /// Errors only.
    #[arg(short, long)]
    pub quiet: bool,
    /// Leave OUT/review.html as it is (`kitap review OUT` remakes it): the review page holds
    /// the whole manifest in memory, the merge itself does not.
    #[arg(long)]
    pub no_review: bool,
}

/// Every part in OUT with its `finished` (a part that cannot be read is left out: a merge
/// will name it). An unsharded run records them in its manifest: it reads every book's record,
/// so its manifest supersedes them.
pub fn part_stamps(out: &Path) -> BTreeMap<String, String> {
    shard::parts(out)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(s, path)| Some((s.to_string(), Stream::open(&path).ok()?.header.finished)))
        .collect()
}

/// What a merge did.
#[derive(Debug)]
pub struct Merged {
    pub manifest_path: PathBuf,
    pub shards: u32,
    /// Parts read (those that changed since the manifest was written), by name.
    pub applied: Vec<String>,
    /// Shards of N without a finished part of this run, with why.
    pub missing: Vec<(Shard, String)>,
    /// Parts of another N than this run's, merged and removed.
    pub removed: Vec<String>,
    pub summary: Summary,
    pub review: Review,
}

impl Merged {
    /// 0 every shard merged, 1 some missing.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.missing.is_empty())
    }
}

/// Why nothing was merged.
#[derive(Debug)]
pub enum MergeError {
    /// Another run holds OUT (exit 3), or its lock cannot be taken (exit 4).
    Lock(LockError),
    /// No part to merge, and no number of shards given (exit 2).
    NoParts(PathBuf),
    /// Parts of one run that disagree on what they are (exit 2): one line per part.
    Mismatch {
        what: &'static str,
        parts: Vec<String>,
    },
    /// A part or the manifest cannot be read or parsed (exit 2).
    Source { path: PathBuf, message: String },
    /// OUT cannot be written (exit 4).
    Write { path: PathBuf, source: io::Error },
}

impl MergeError {
    pub fn exit_code(&self) -> u8 {
        match self {
            MergeError::Lock(LockError::Held { .. } | LockError::OtherShards { .. }) => 3,
            MergeError::Lock(_) | MergeError::Write { .. } => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Lock(e) => e.fmt(f),
            MergeError::NoParts(dir) => write!(
                f,
                "{}: no shard parts (K-of-N.json) to merge; were the shards run with --shard into this folder?",
                dir.display()
            ),
            MergeError::Mismatch { what, parts } => write!(
                f,
                "shard parts of different {what}s, not merged (convert every shard with the same kitap and pipeline, then merge): {}",
                parts.join("; ")
            ),
            MergeError::Source { path, message } => write!(f, "{}: {message}", path.display()),
            MergeError::Write { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for MergeError {}

/// A manifest's fields before its books.
#[derive(Debug, Clone)]
struct Header {
    kitap_version: String,
    pipeline: PipelineInfo,
    started: String,
    finished: String,
    stage_seconds: StageSeconds,
    shard: Option<ShardRecord>,
    merged_parts: BTreeMap<String, String>,
}

/// One book as copied: its id, its JSON as written, and what the summary needs.
struct Book {
    id: String,
    json: Vec<u8>,
    status: Status,
    pages: usize,
    pages_failed: usize,
}

impl Book {
    /// Parses the whole record, not only what the summary needs: a record kitap could not
    /// read back (a damaged part) is refused here, before it is copied into the manifest.
    fn parse(json: Vec<u8>) -> Result<Book, String> {
        let b: BookRecord = serde_json::from_slice(&json).map_err(|e| format!("a book: {e}"))?;
        Ok(Book {
            pages_failed: b
                .pages
                .iter()
                .filter(|p| p.status == PageStatus::Failed)
                .count(),
            pages: b.pages.len(),
            id: b.id,
            status: b.status,
            json,
        })
    }
}

/// A byte reader that finds the extent of JSON values without building them.
struct Scanner<R> {
    r: R,
}

impl<R: BufRead> Scanner<R> {
    /// The next byte that is not whitespace, left unread.
    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    let b = buf[i];
                    self.r.consume(i);
                    return Ok(Some(b));
                }
                None => {
                    let n = buf.len();
                    self.r.consume(n);
                }
            }
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        match self.peek().map_err(|e| e.to_string())? {
            Some(b) if b == want => {
                self.r.consume(1);
                Ok(())
            }
            Some(b) => Err(format!(
                "expected '{}', found '{}'",
                want as char,
                b.escape_ascii()
            )),
            None => Err(format!("expected '{}', found the end", want as char)),
        }
    }

    /// Copies the next JSON value into `out`: a string, an object or array (nested to any
    /// depth), or a literal or number up to the next `,` `}` `]` or whitespace.
    fn value(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let io = |e: io::Error| e.to_string();
        let first = self
            .peek()
            .map_err(io)?
            .ok_or("a value expected, found the end")?;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        loop {
            let buf = self.r.fill_buf().map_err(io)?;
            if buf.is_empty() {
                return if scalar && !out.is_empty() {
                    Ok(())
                } else {
                    Err("the file ends inside a value".into())
                };
            }
            let mut end = None;
            for (i, &b) in buf.iter().enumerate() {
                if scalar {
                    if matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace() {
                        end = Some((i, false));
                        break;
                    }
                    continue;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some((i, true));
                            break;
                        }
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1).ok_or("unbalanced brackets")?;
                        if depth == 0 {
                            end = Some((i, true));
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match end {
                Some((i, inclusive)) => {
                    let n = i + usize::from(inclusive);
                    out.extend_from_slice(&buf[..n]);
                    self.r.consume(n);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    out.extend_from_slice(buf);
                    self.r.consume(n);
                }
            }
        }
    }

    /// Parses the next value.
    fn parse<T: DeserializeOwned>(&mut self, what: &str) -> Result<T, String> {
        let mut raw = Vec::new();
        self.value(&mut raw)?;
        serde_json::from_slice(&raw).map_err(|e| format!("{what}: {e}"))
    }
}

/// A manifest read one book at a time.
struct Stream {
    path: PathBuf,
    scanner: Scanner<BufReader<File>>,
    header: Header,
    /// Inside the books array: whether a book was read yet (a comma comes before the next).
    started: bool,
    done: bool,
    last_id: Option<String>,
}

impl Stream {
    /// Opens a manifest and reads its fields up to its books (they come before the books in
    /// every manifest kitap writes).
    fn open(path: &Path) -> Result<Stream, MergeError> {
        let fail = |message: String| MergeError::Source {
            path: path.to_path_buf(),
            message,
        };
        let file = File::open(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let mut scanner = Scanner {
            r: BufReader::with_capacity(1 << 20, file),
        };
        let mut fields: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        scanner.expect(b'{').map_err(fail)?;
        loop {
            if fields.is_empty() && scanner.peek().ok().flatten() == Some(b'}') {
                return Err(fail("a manifest without books".into()));
            }
            let key: String = scanner.parse("a key").map_err(fail)?;
            scanner.expect(b':').map_err(fail)?;
            if key == "books" {
                break;
            }
            let value: serde_json::Value = scanner.parse(&key).map_err(fail)?;
            fields.insert(key, value);
            scanner
                .expect(b',')
                .map_err(|_| fail("no books in it".into()))?;
        }
        let header = header(fields).map_err(fail)?;
        scanner.expect(b'[').map_err(fail)?;
        Ok(Stream {
            path: path.to_path_buf(),
            scanner,
            header,
            started: false,
            done: false,
            last_id: None,
        })
    }

    /// The next book, in id order; Err for a file that is not a manifest or not in order.
    fn next(&mut self) -> Result<Option<Book>, MergeError> {
        if self.done {
            return Ok(None);
        }
        let path = self.path.clone();
        let fail = |message: String| MergeError::Source {
            path: path.clone(),
            message,
        };
        let next = self.scanner.peek().map_err(|e| fail(e.to_string()))?;
        if next == Some(b']') {
            self.done = true;
            return Ok(None);
        }
        if self.started {
            self.scanner.expect(b',').map_err(fail)?;
        }
        self.started = true;
        let mut json = Vec::with_capacity(4096);
        self.scanner.value(&mut json).map_err(fail)?;
        let book = Book::parse(json).map_err(fail)?;
        if self
            .last_id
            .as_deref()
            .is_some_and(|last| last >= book.id.as_str())
        {
            return Err(fail(format!(
                "its books are not sorted by id ('{}' after '{}'); was it edited by hand? `kitap convert` rewrites it sorted",
                book.id,
                self.last_id.as_deref().unwrap_or_default()
            )));
        }
        self.last_id = Some(book.id.clone());
        Ok(Some(book))
    }
}

fn header(mut f: BTreeMap<String, serde_json::Value>) -> Result<Header, String> {
    fn take<T: DeserializeOwned>(
        f: &mut BTreeMap<String, serde_json::Value>,
        key: &str,
    ) -> Result<Option<T>, String> {
        f.remove(key)
            .map(|v| serde_json::from_value(v).map_err(|e| format!("{key}: {e}")))
            .transpose()
    }
    let schema_version: String = take(&mut f, "schema_version")?.unwrap_or_default();
    if manifest::is_newer_schema(&schema_version) {
        return Err(format!(
            "written by a newer kitap (schema {schema_version}; this kitap reads up to {}) — update kitap",
            manifest::SCHEMA_VERSION
        ));
    }
    let summary: Option<Summary> = take(&mut f, "summary")?;
    Ok(Header {
        kitap_version: take(&mut f, "kitap_version")?.unwrap_or_default(),
        pipeline: take(&mut f, "pipeline")?.unwrap_or_default(),
        started: take(&mut f, "started")?.unwrap_or_default(),
        finished: take(&mut f, "finished")?.unwrap_or_default(),
        stage_seconds: summary.map(|s| s.stage_seconds).unwrap_or_default(),
        shard: take(&mut f, "shard")?,
        merged_parts: take(&mut f, "merged_parts")?.unwrap_or_default(),
    })
}

/// A source of books and the ids it speaks for: OUT's manifest (every id), or shard K's part
/// (the ids of shard K).
struct Source {
    feed: Feed,
    covers: Option<Shard>,
    head: Option<Book>,
}

/// Where a source's books come from: read here, or by a thread of its own a few books ahead
/// (reading and parsing are most of a merge's work, and the sources are independent).
enum Feed {
    Here(Box<Stream>),
    Ahead(mpsc::Receiver<Result<Option<Book>, MergeError>>),
}

/// Sources read ahead on threads of their own, up to this many (each holds a buffer and a
/// few books); more are read in turn.
const MOST_THREADS: usize = 64;

impl Source {
    fn new(stream: Stream, covers: Option<Shard>, ahead: bool) -> Source {
        let feed = if ahead {
            let (tx, rx) = mpsc::sync_channel(2);
            std::thread::spawn(move || {
                let mut stream = stream;
                loop {
                    let next = stream.next();
                    let more = matches!(next, Ok(Some(_)));
                    if tx.send(next).is_err() || !more {
                        break;
                    }
                }
            });
            Feed::Ahead(rx)
        } else {
            Feed::Here(Box::new(stream))
        };
        Source {
            feed,
            covers,
            head: None,
        }
    }

    fn advance(&mut self) -> Result<(), MergeError> {
        self.head = match &mut self.feed {
            Feed::Here(stream) => stream.next()?,
            // A reader that ended has sent its end (or its error) already.
            Feed::Ahead(rx) => rx.recv().unwrap_or(Ok(None))?,
        };
        Ok(())
    }

    fn covers(&self, id: &str) -> bool {
        self.covers.is_none_or(|s| shard_of(id, s.count) == s.index)
    }
}

/// Merges OUT's shard parts into its manifest (see the module's notes).
pub fn merge(req: &MergeRequest) -> Result<Merged, MergeError> {
    let out = &req.out;
    // A mistyped OUT is not made: there is nothing to merge in it.
    if !shard::dir(out).is_dir() {
        return Err(MergeError::NoParts(shard::dir(out)));
    }
    let _lock = OutLock::acquire(out, req.wait_lock).map_err(MergeError::Lock)?;
    shard::remove_temporaries(out, None);
    let parts = read_parts(out)?;
    let order = |p: &Stream| manifest::time_order(&p.header.finished);
    let count = match req.shards {
        Some(n) => n,
        None => parts
            .iter()
            .max_by_key(|(_, p)| order(p))
            .map(|(s, _)| s.count)
            .ok_or_else(|| MergeError::NoParts(shard::dir(out)))?,
    };
    let missing = missing(&parts, count, req.run.as_deref());
    let manifest_path = out.join("manifest.json");
    let base = match Stream::open(&manifest_path) {
        Ok(s) => Some(s),
        Err(MergeError::Source { .. }) if !manifest_path.exists() => None,
        Err(e) => return Err(e),
    };
    // Every part present is in the manifest once this merge is written.
    let stamps: BTreeMap<String, String> = parts
        .iter()
        .map(|(s, p)| (s.to_string(), p.header.finished.clone()))
        .collect();
    let before = base.as_ref().map(|b| &b.header.merged_parts);
    check_pipelines(&parts, count)?;
    // The parts that changed since the manifest was written, in the order they finished.
    let (mut fresh, _held): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .partition(|(s, p)| before.and_then(|m| m.get(&s.to_string())) != Some(&p.header.finished));
    fresh.sort_by(|a, b| order(&a.1).cmp(&order(&b.1)).then(a.0.cmp(&b.0)));
    // One kitap for the parts read now (a shard redone after an upgrade joins the others).
    let read_now: Vec<&(Shard, Stream)> = fresh.iter().collect();
    check_same(&read_now, "kitap version", |h| h.kitap_version.clone())?;
    let applied: Vec<String> = fresh.iter().map(|(s, _)| format!("{s}.json")).collect();
    let header = merged_header(base.as_ref().map(|b| &b.header), &fresh);
    let ahead = fresh.len() < MOST_THREADS;
    let mut sources: Vec<Source> = base
        .into_iter()
        .map(|stream| Source::new(stream, None, ahead))
        .chain(
            fresh
                .into_iter()
                .map(|(s, stream)| Source::new(stream, Some(s), ahead)),
        )
        .collect();
    for s in &mut sources {
        s.advance()?;
    }
    // Parts of another N than this run's are merged now: they go once the manifest is written.
    let stale: Vec<String> = stamps
        .keys()
        .filter(|name| Shard::parse_name(name).is_some_and(|s| s.count != count))
        .cloned()
        .collect();
    let manifest = Manifest {
        kitap_version: header.kitap_version.clone(),
        incomplete: !missing.is_empty(),
        missing_shards: missing.iter().map(|(s, _)| s.to_string()).collect(),
        merged_parts: stamps
            .into_iter()
            .filter(|(name, _)| !stale.contains(name))
            .collect(),
        ..Manifest::new(
            header.pipeline.clone(),
            header.started.clone(),
            header.finished.clone(),
            Vec::new(),
            header.stage_seconds,
        )
    };
    let summary = write_manifest(manifest, &mut sources, &manifest_path)?;
    let removed = stale
        .into_iter()
        .filter(|name| std::fs::remove_file(shard::dir(out).join(format!("{name}.json"))).is_ok())
        .map(|name| format!("{name}.json"))
        .collect();
    let review = if req.no_review {
        Review::Skipped
    } else {
        write_review(out, &manifest_path).map_err(|source| MergeError::Write {
            path: out.join("review.html"),
            source,
        })?
    };
    Ok(Merged {
        manifest_path,
        shards: count,
        applied,
        missing,
        removed,
        summary,
        review,
    })
}

/// One pipeline for the shards of N (else OUT would mix two): every part of N is named with
/// its own when they differ.
fn check_pipelines(parts: &[(Shard, Stream)], count: u32) -> Result<(), MergeError> {
    let this_n: Vec<&(Shard, Stream)> = parts.iter().filter(|(s, _)| s.count == count).collect();
    check_same(&this_n, "pipeline", |h| {
        format!(
            "'{}' (review below {})",
            h.pipeline.name,
            h.pipeline
                .review_below_confidence
                .map_or("-".to_string(), |c| c.to_string())
        )
    })
}

/// Every part in OUT, opened at its books.
fn read_parts(out: &Path) -> Result<Vec<(Shard, Stream)>, MergeError> {
    let listed = shard::parts(out).map_err(|e| MergeError::Source {
        path: shard::dir(out),
        message: e.to_string(),
    })?;
    listed
        .into_iter()
        .map(|(shard, path)| Ok((shard, Stream::open(&path)?)))
        .collect()
}

/// Parts must agree on `what`; else every part is named with its value.
fn check_same(
    parts: &[&(Shard, Stream)],
    what: &'static str,
    value: impl Fn(&Header) -> String,
) -> Result<(), MergeError> {
    let values: Vec<String> = parts.iter().map(|(_, p)| value(&p.header)).collect();
    if values.windows(2).all(|w| w[0] == w[1]) {
        return Ok(());
    }
    Err(MergeError::Mismatch {
        what,
        parts: parts
            .iter()
            .zip(values)
            .map(|((s, _), v)| format!("{s}.json: {v}"))
            .collect(),
    })
}

/// The shards of N without a finished part of run `run`, with why.
fn missing(parts: &[(Shard, Stream)], count: u32, run: Option<&str>) -> Vec<(Shard, String)> {
    (0..count)
        .filter_map(|k| {
            let s = Shard { index: k, count };
            let Some((_, p)) = parts.iter().find(|(ps, _)| *ps == s) else {
                return Some((
                    s,
                    "no part: the shard never ran, or stopped before it finished a book (failed, killed)".into(),
                ));
            };
            let record = p.header.shard.as_ref();
            if let Some(want) = run
                && record.and_then(|r| r.run.as_deref()) != Some(want)
            {
                let theirs = record
                    .and_then(|r| r.run.clone())
                    .unwrap_or_else(|| "none".into());
                return Some((s, format!("its part is of run {theirs}, not {want}")));
            }
            if !record.is_some_and(|r| r.complete) {
                return Some((
                    s,
                    "its run has not ended: still running, or stopped or killed".into(),
                ));
            }
            None
        })
        .collect()
}

/// The merged manifest's fields: the parts' kitap and pipeline (else the manifest's), the run
/// from the earliest start to the latest finish, the parts' worker time.
fn merged_header(base: Option<&Header>, parts: &[(Shard, Stream)]) -> Header {
    let mut h = match (parts.last(), base) {
        (Some((_, p)), _) => p.header.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => Header {
            kitap_version: env!("CARGO_PKG_VERSION").into(),
            pipeline: PipelineInfo::default(),
            started: manifest::now_rfc3339(),
            finished: manifest::now_rfc3339(),
            stage_seconds: StageSeconds::default(),
            shard: None,
            merged_parts: BTreeMap::new(),
        },
    };
    if !parts.is_empty() {
        let mut seconds = StageSeconds::default();
        for (_, p) in parts {
            seconds += p.header.stage_seconds;
        }
        h.stage_seconds = seconds;
        if let Some(first) = parts
            .iter()
            .map(|(_, p)| &p.header.started)
            .min_by_key(|t| manifest::time_order(t))
        {
            h.started = first.clone();
        }
    }
    if let Some(last) = base
        .map(|b| &b.finished)
        .into_iter()
        .chain(parts.iter().map(|(_, p)| &p.header.finished))
        .max_by_key(|t| manifest::time_order(t))
    {
        h.finished = last.clone();
    }
    h
}

/// Writes the manifest atomically in place of `path`: its fields as kitap writes them, then,
/// walking the sources in id order, each book's JSON as written in the source that speaks for
/// it last (a part for its shard's ids, else the manifest); a book the deciding part does not
/// list is gone from OUT. The summary, known only at the end, is written over room kept for
/// it before the books (its counts at their widest; the rest is spaces). Returns it.
fn write_manifest(
    mut manifest: Manifest,
    sources: &mut [Source],
    path: &Path,
) -> Result<Summary, MergeError> {
    let write_err = |source| MergeError::Write {
        path: path.to_path_buf(),
        source,
    };
    let head = |m: &Manifest| -> io::Result<Vec<u8>> {
        let mut head = serde_json::to_vec_pretty(m).map_err(io::Error::other)?;
        // `"books": []` ends the pretty JSON: cut it before the brackets.
        let cut = head
            .windows(2)
            .rposition(|w| w == b"[]")
            .expect("a manifest ends with its books");
        head.truncate(cut);
        Ok(head)
    };
    let seconds = manifest.summary.stage_seconds;
    let widest = usize::MAX;
    manifest.summary = Summary {
        books: widest,
        books_ok: widest,
        books_partial: widest,
        books_failed: widest,
        pages: widest,
        pages_failed: widest,
        stage_seconds: seconds,
    };
    let room = head(&manifest).map_err(write_err)?;
    let mut summary = Summary::from_books(&[], seconds);
    let written = fsio::write_atomic_with(path, |f| {
        let mut w = BufWriter::with_capacity(1 << 20, f);
        w.write_all(&room)?;
        w.write_all(b"[")?;
        let mut first = true;
        while let Some(id) = sources
            .iter()
            .filter_map(|s| s.head.as_ref().map(|b| b.id.clone()))
            .min()
        {
            let decider = sources.iter().rposition(|s| s.covers(&id)).unwrap_or(0);
            for (i, s) in sources.iter_mut().enumerate() {
                if s.head.as_ref().is_none_or(|b| b.id != id) {
                    continue;
                }
                let book = s.head.take().expect("checked");
                if i == decider {
                    summary.books += 1;
                    match book.status {
                        Status::Ok => summary.books_ok += 1,
                        Status::Partial => summary.books_partial += 1,
                        Status::Failed => summary.books_failed += 1,
                    }
                    summary.pages += book.pages;
                    summary.pages_failed += book.pages_failed;
                    w.write_all(if first { b"\n    " } else { b",\n    " })?;
                    w.write_all(&book.json)?;
                    first = false;
                }
                s.advance().map_err(io::Error::other)?;
            }
        }
        w.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        manifest.summary = summary.clone();
        let mut real = head(&manifest)?;
        // Spaces at the end of the line before `"books"` fill what the summary did not take.
        let pad = room.len() - real.len();
        let at = real.len() - b"  \"books\": ".len() - 1;
        real.splice(at..at, std::iter::repeat_n(b' ', pad));
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&real)?;
        f.sync_all()
    });
    match written {
        Ok(()) => Ok(summary),
        // A source that stopped making sense is its own error, not a write error.
        Err(e) if e.get_ref().is_some_and(|inner| inner.is::<MergeError>()) => Err(*e
            .into_inner()
            .expect("checked")
            .downcast::<MergeError>()
            .expect("checked")),
        Err(e) => Err(write_err(e)),
    }
}

/// What became of `review.html`.
#[derive(Debug, PartialEq, Eq)]
pub enum Review {
    Written(PathBuf),
    /// `--no-review`.
    Skipped,
    /// The manifest is too large for one page: the old page, which no longer matches it, was
    /// removed.
    TooLarge(u64),
}

/// The largest manifest merge makes a review page of: the page holds the whole manifest in
/// memory (2.8 GB for a 527 MB manifest).
const LARGEST_REVIEWED: u64 = 256 << 20;

/// review.html from the merged manifest, when it is small enough to show on one page.
fn write_review(out: &Path, manifest: &Path) -> io::Result<Review> {
    let bytes = std::fs::metadata(manifest)?.len();
    if bytes > LARGEST_REVIEWED {
        match std::fs::remove_file(out.join("review.html")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(Review::TooLarge(bytes)),
        }
    }
    let m = Manifest::read(manifest).map_err(io::Error::other)?;
    crate::review::write(out, &m).map(Review::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(json: &str) -> Result<Vec<String>, String> {
        let mut s = Scanner {
            r: io::BufReader::with_capacity(7, json.as_bytes()),
        };
        s.expect(b'[')?;
        let mut values = Vec::new();
        loop {
            if s.peek().map_err(|e| e.to_string())? == Some(b']') {
                return Ok(values);
            }
            if !values.is_empty() {
                s.expect(b',')?;
            }
            let mut v = Vec::new();
            s.value(&mut v)?;
            values.push(String::from_utf8(v).unwrap());
        }
    }

    #[test]
    fn the_scanner_finds_whole_values_whatever_they_hold() {
        // Brackets and quotes inside strings, escapes, nesting, Unicode, numbers and literals,
        // across the reader's 7-byte buffer.
        let values = [
            r#"{"id": "a]}\"{[", "n": [1, [2, {"x": "\\"}]], "t": "Türkmen ňöş"}"#,
            r#""a string with \" and ] and }""#,
            "-12.5e3",
            "true",
            "null",
            "[]",
            "{}",
        ];
        let json = format!("[\n  {}\n]", values.join(" ,\n  "));
        assert_eq!(scan_all(&json).unwrap(), values);
        assert_eq!(scan_all("[ ]").unwrap(), Vec::<String>::new());
        assert!(scan_all(r#"[{"a": "unterminated]"#).is_err());
        // Brackets are counted, not matched: what they enclose is parsed as a book after.
        assert!(Book::parse(scan_all("[{]]").unwrap()[0].clone().into_bytes()).is_err());
    }

    #[test]
    fn times_sort_as_times_with_or_without_fractions() {
        let t = manifest::time_order;
        assert!(t("2026-12-01T03:11:14Z") < t("2026-12-01T03:11:14.001Z"));
        assert!(t("2026-12-01T03:11:14.999Z") < t("2026-12-01T03:11:15Z"));
        assert_eq!(t("2026-12-01T03:11:14Z"), t("2026-12-01T03:11:14.000Z"));
    }

    #[test]
    fn a_part_with_books_out_of_order_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let book = |id: &str| {
            serde_json::to_string(&crate::manifest::BookRecord::new(id, Status::Ok, id)).unwrap()
        };
        let path = dir.path().join("0-of-1.json");
        let m = Manifest::new(
            PipelineInfo::default(),
            "2026-01-01T00:00:00Z".into(),
            "2026-01-01T00:00:00Z".into(),
            Vec::new(),
            StageSeconds::default(),
        );
        let text = serde_json::to_string_pretty(&m).unwrap().replace(
            "\"books\": []",
            &format!("\"books\": [{}, {}]", book("b"), book("a")),
        );
        std::fs::write(&path, text).unwrap();
        let mut s = Stream::open(&path).unwrap();
        assert_eq!(s.next().unwrap().unwrap().id, "b");
        let e = s.next().err().unwrap().to_string();
        assert!(
            e.contains("0-of-1.json") && e.contains("not sorted by id"),
            "{e}"
        );
    }
}
