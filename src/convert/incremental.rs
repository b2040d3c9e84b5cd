//! Incremental runs: a book's fingerprint covers everything its outputs depend on (kitap's
//! version, the pipeline, the languages, the models with their files' sizes and times, the
//! bytes of every page file and of book.toml). A book whose fingerprint equals the one recorded with its outputs in
//! `OUT/<id>/.kitap-book.json` is up to date and skipped without decoding a page.
//!
//! Hashing every master every night would be the cost of a run over a large tree, so a file
//! whose size and modification time equal the recorded ones keeps its recorded SHA-256 without
//! being read. A file changed in place with its time restored (a restored backup does that) is
//! caught only by `--verify-inputs`, which reads every file again.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::plan::{PlannedBook, Settings};
use crate::fsio;
use crate::manifest::{BookRecord, InputRecord};

/// The files a book reads: its page files (each once, in page order) and its book.toml.
fn input_files(book: &PlannedBook) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if let Some(toml) = &book.dir.meta_path {
        let source = if book.dir.source == "." {
            "book.toml".to_string()
        } else {
            format!("{}/book.toml", book.dir.source)
        };
        files.push((toml.clone(), source));
    }
    for p in &book.pages {
        if files.last().is_none_or(|(f, _)| *f != p.file) {
            files.push((p.file.clone(), p.source.clone()));
        }
    }
    files
}

fn modified(meta: &std::fs::Metadata) -> String {
    let Ok(t) = meta.modified() else {
        return String::new();
    };
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Size, time and SHA-256 of one input, the hash taken from `known` when size and time match
/// it and `verify` is off.
fn input(
    file: &Path,
    source: String,
    known: Option<&InputRecord>,
    verify: bool,
) -> std::io::Result<InputRecord> {
    let meta = std::fs::metadata(file)?;
    let (bytes, modified) = (meta.len(), modified(&meta));
    if !verify
        && let Some(k) = known
        && k.bytes == bytes
        && k.modified == modified
        && !modified.is_empty()
    {
        return Ok(InputRecord {
            path: source,
            bytes,
            modified,
            sha256: k.sha256.clone(),
        });
    }
    let (bytes, sha256) = fsio::hash_file(file)?;
    Ok(InputRecord {
        path: source,
        bytes,
        modified,
        sha256,
    })
}

/// Whether the book's folder, an entry in it, book.toml or a page file changed within `age`
/// of now (a folder still being copied). Hidden entries (`.DS_Store`, a copier's own files)
/// do not count; a time in the future counts only within `age` of now (a scanner with a wrong
/// clock must not hold a book back for ever).
pub(super) fn changed_within(book: &PlannedBook, age: std::time::Duration) -> bool {
    let now = std::time::SystemTime::now();
    let recent = |p: &Path| {
        std::fs::symlink_metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| {
                let apart = now.duration_since(t).or_else(|e| Ok::<_, ()>(e.duration()));
                apart.is_ok_and(|d| d < age)
            })
    };
    let entries = std::fs::read_dir(&book.dir.dir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    recent(&book.dir.dir)
        || entries.iter().any(|p| recent(p))
        || book.dir.files.iter().any(|p| recent(p))
}

/// A book's inputs as read and the fingerprint over them and the settings.
pub(super) struct Stamp {
    pub inputs: Vec<InputRecord>,
    pub fingerprint: String,
    /// The fingerprint as kitap computed it before it hashed the pipeline's settings alone
    /// (its name and description in, outputs not folded): a book whose record carries it is
    /// as up to date as one carrying [`Stamp::fingerprint`], so upgrading kitap rebuilds
    /// nothing.
    pub legacy: String,
    /// Inputs whose bytes changed while their size and time did not (found by
    /// `--verify-inputs`): a damaged or silently replaced master, worth an error line.
    pub alarms: Vec<String>,
}

/// The book's inputs as they are now, and its fingerprint. `previous` is the record of the
/// book's current outputs, whose input hashes may be reused.
pub(super) fn fingerprint(
    book: &PlannedBook,
    settings: &Settings,
    previous: Option<&BookRecord>,
    verify: bool,
) -> std::io::Result<Stamp> {
    let inputs: Vec<InputRecord> = input_files(book)
        .into_iter()
        .map(|(file, source)| {
            let known = previous.and_then(|r| r.inputs.iter().find(|i| i.path == source));
            input(&file, source, known, verify)
        })
        .collect::<Result<_, _>>()?;
    // The hashed lines, with the pipeline's twice: the settings alone, and as before.
    let mut lines: Vec<(&str, String)> = Vec::new();
    lines.push(("kitap", env!("CARGO_PKG_VERSION").to_string()));
    lines.push(("pipeline", String::new()));
    // A book whose languages are found from its pages is fingerprinted before they are
    // found: by `auto` and the script models that find them (installing another language's
    // model later does not rebuild it; --force does).
    let models: Vec<String> = if book.auto_languages && book.models.is_empty() {
        lines.push(("languages", "auto".to_string()));
        crate::detect::SCRIPTS
            .iter()
            .map(|s| s.model().to_string())
            .collect()
    } else {
        let languages: Vec<&str> = book.info.languages.iter().map(|l| l.iso639_3).collect();
        lines.push(("languages", languages.join("+")));
        book.models.clone()
    };
    lines.push(("models", models.join("+")));
    // The model files themselves: a new tessdata (fast → best, a distribution upgrade) reads
    // differently under the same names.
    let osd = settings.prepare.orientation.then_some("osd".to_string());
    for m in models.iter().chain(&osd) {
        let file = settings.tessdata.join(format!("{m}.traineddata"));
        let facts = std::fs::metadata(&file)
            .map(|md| format!("{} {}", md.len(), modified(&md)))
            .unwrap_or_else(|_| "missing".to_string());
        lines.push(("model", format!("{m} {facts}")));
    }
    for i in &inputs {
        lines.push(("input", format!("{} {}", i.path, i.sha256)));
    }
    let digest = |pipeline: &str| {
        let mut h = Sha256::new();
        for (key, value) in &lines {
            let value = if *key == "pipeline" { pipeline } else { value };
            h.update(key.as_bytes());
            h.update(b" ");
            h.update(value.as_bytes());
            h.update(b"\n");
        }
        format!("{:x}", h.finalize())
    };
    let fingerprint = digest(&pipeline_for_fingerprint(&settings.pipeline));
    let legacy = digest(&serde_json::to_string(&settings.pipeline).unwrap_or_default());
    let alarms = inputs
        .iter()
        .filter_map(|i| {
            let k = previous?.inputs.iter().find(|k| k.path == i.path)?;
            (k.bytes == i.bytes && k.modified == i.modified && k.sha256 != i.sha256).then(|| {
                format!(
                    "{}: its bytes changed while its size and modification time did not (SHA-256 recorded {}, now {}): a damaged or silently replaced master",
                    i.path, k.sha256, i.sha256
                )
            })
        })
        .collect();
    Ok(Stamp {
        inputs,
        fingerprint,
        legacy,
        alarms,
    })
}

/// The pipeline as the fingerprint hashes it: its JSON in field order. Keys that change no
/// output file, only how the manifest and the review page judge the outputs
/// (`review_below_confidence`, applied anew to every book at each run), are not serialised
/// (see `config::Pipeline`): changing one rebuilds nothing, and a pipeline that differs from
/// an older kitap's only by their arrival keeps every book's fingerprint.
fn pipeline_for_fingerprint(p: &crate::config::Pipeline) -> String {
    serde_json::to_string(&p.canonical()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_threshold_is_not_part_of_the_fingerprint() {
        let a = crate::config::Pipeline::default();
        let b = crate::config::Pipeline {
            review_below_confidence: 80.0,
            ..a.clone()
        };
        let c = crate::config::Pipeline {
            epub_image_below_confidence: 80.0,
            ..a.clone()
        };
        assert_eq!(pipeline_for_fingerprint(&a), pipeline_for_fingerprint(&b));
        assert_ne!(pipeline_for_fingerprint(&a), pipeline_for_fingerprint(&c));
        assert!(!pipeline_for_fingerprint(&a).contains("review_below"));
    }

    /// One set of outputs, one fingerprint; the web PDF's keys count only with a web PDF; and
    /// the default pipeline hashes as it did before outputs were chosen.
    #[test]
    fn outputs_hash_by_what_they_write() {
        use crate::config::{OutputKind, Pipeline};
        let hocr = Pipeline::resolve("hocr").unwrap();
        let mut listed = Pipeline::resolve("hocr").unwrap();
        listed.choose_outputs(&[
            OutputKind::Txt,
            OutputKind::Hocr,
            OutputKind::Pdf,
            OutputKind::Epub,
        ]);
        assert_eq!(
            pipeline_for_fingerprint(&hocr),
            pipeline_for_fingerprint(&listed)
        );
        // The default pipeline asked for hOCR is the hocr pipeline; a renamed, redescribed
        // copy of a pipeline is the same pipeline.
        let mut default_hocr = Pipeline::default();
        default_hocr.choose_outputs(&[
            OutputKind::Pdf,
            OutputKind::Epub,
            OutputKind::Txt,
            OutputKind::Hocr,
        ]);
        assert_eq!(
            pipeline_for_fingerprint(&hocr),
            pipeline_for_fingerprint(&default_hocr)
        );
        let renamed = Pipeline {
            name: "p-hocr2".into(),
            description: "a copy".into(),
            ..hocr.clone()
        };
        assert_eq!(
            pipeline_for_fingerprint(&hocr),
            pipeline_for_fingerprint(&renamed)
        );
        let a = Pipeline::default();
        let tuned = Pipeline {
            web_jpeg_quality: 30,
            ..a.clone()
        };
        assert_eq!(
            pipeline_for_fingerprint(&a),
            pipeline_for_fingerprint(&tuned)
        );
        let mut web = tuned.clone();
        web.choose_outputs(&[OutputKind::Pdf, OutputKind::WebPdf]);
        let mut web_default = a.clone();
        web_default.choose_outputs(&[OutputKind::Pdf, OutputKind::WebPdf]);
        assert_ne!(
            pipeline_for_fingerprint(&web),
            pipeline_for_fingerprint(&web_default)
        );
        let json = pipeline_for_fingerprint(&a);
        for key in ["outputs", "web_", "epub_headings"] {
            assert!(!json.contains(key), "{key} in {json}");
        }
    }
}
