//! Error types: each variant carries the file (and page) it is about, and reads as one line.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration or usage problem found before any page is touched (exit code 2).
#[derive(Debug)]
pub enum ConfigError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Toml {
        path: PathBuf,
        message: String,
    },
    Invalid {
        path: PathBuf,
        message: String,
    },
    UnknownPipeline {
        name: String,
        known: String,
    },
    UnknownLanguage {
        origin: String,
        code: String,
    },
    MissingModels {
        origin: String,
        missing: Vec<String>,
        installed: Vec<String>,
        tessdata: PathBuf,
    },
    /// No folder with Tesseract models was found.
    NoTessdata,
    /// `--lang` named no language.
    NoLanguage,
    /// The scan folder is missing, not a folder, or unreadable.
    ScanFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The scan folder holds no page images at all.
    NoPages {
        path: PathBuf,
    },
    /// The output folder cannot be created (exit 4).
    OutFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The output folder is the scan folder: outputs would overwrite and delete inputs.
    OutIsScans {
        path: PathBuf,
    },
    /// An output would be written where discovery found input: in or over a book folder.
    OutOverInput {
        out: PathBuf,
        input: PathBuf,
    },
    /// Nothing can be written in the output folder (exit 4).
    OutNotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Another run holds the output folder (exit 3), or its lock cannot be taken (exit 4).
    Lock(crate::lock::LockError),
    /// `--shard`: no such shard, or `auto` outside a job array.
    Shard(String),
}

impl ConfigError {
    /// The exit code: 3 when another run holds the output folder, 4 when it cannot be
    /// written, 2 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            ConfigError::Lock(
                crate::lock::LockError::Held { .. } | crate::lock::LockError::OtherShards { .. },
            ) => 3,
            ConfigError::OutFolder { .. }
            | ConfigError::OutNotWritable { .. }
            | ConfigError::Lock(_) => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => write!(f, "{}: {}", path.display(), source),
            ConfigError::Toml { path, message } => write!(f, "{}: {}", path.display(), message),
            ConfigError::Invalid { path, message } => write!(f, "{}: {}", path.display(), message),
            ConfigError::UnknownPipeline { name, known } => write!(
                f,
                "no pipeline named '{name}' (built in: {known}; or give a path to a .toml file)"
            ),
            ConfigError::UnknownLanguage { origin, code } => write!(
                f,
                "{origin}: unknown language code '{code}' (known: {})",
                crate::lang::known_codes()
            ),
            ConfigError::MissingModels {
                origin,
                missing,
                installed,
                tessdata,
            } => write!(
                f,
                "{origin}: Tesseract model(s) {} not installed in {} (installed: {}); on Debian: apt-get install {}",
                missing.join(", "),
                tessdata.display(),
                if installed.is_empty() {
                    "none".to_string()
                } else {
                    installed.join(", ")
                },
                missing
                    .iter()
                    .map(|m| debian_package(m))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ConfigError::NoTessdata => f.write_str(
                "no Tesseract models found (set TESSDATA_PREFIX, or on Debian: apt-get install tesseract-ocr tesseract-ocr-eng)",
            ),
            ConfigError::NoLanguage => f.write_str("--lang: no language given"),
            ConfigError::ScanFolder { path, source } => {
                write!(f, "{}: cannot read the scan folder: {source}", path.display())
            }
            ConfigError::NoPages { path } => write!(
                f,
                "{}: no page images found (looked for {} files in it and its subfolders)",
                path.display(),
                crate::discover::PAGE_EXTENSIONS.join(", ")
            ),
            ConfigError::OutFolder { path, source } => write!(
                f,
                "{}: cannot create the output folder: {source}",
                path.display()
            ),
            ConfigError::OutIsScans { path } => write!(
                f,
                "{}: the output folder is the scan folder; its files would overwrite and delete the scans (give -o a folder of its own, e.g. beside the books)",
                path.display()
            ),
            ConfigError::OutOverInput { out, input } => write!(
                f,
                "{}: would be written in or over the input folder {} (give -o a folder outside every book folder)",
                out.display(),
                input.display()
            ),
            ConfigError::OutNotWritable { path, source } => write!(
                f,
                "{}: the output folder is not writable: {source}",
                path.display()
            ),
            ConfigError::Lock(e) => e.fmt(f),
            ConfigError::Shard(message) => write!(f, "--shard: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The Debian package that ships a Tesseract model, for the hint in error messages.
fn debian_package(model: &str) -> String {
    match model {
        "Latin" => "tesseract-ocr-script-latn".into(),
        "Cyrillic" => "tesseract-ocr-script-cyrl".into(),
        "osd" => "tesseract-ocr-osd".into(),
        m => format!("tesseract-ocr-{}", m.to_ascii_lowercase().replace('_', "-")),
    }
}

/// Why a whole book could not be converted. The batch goes on without it; the manifest
/// records the book as failed with this message.
#[derive(Debug)]
pub enum BookError {
    /// Its folder (or a link in it) cannot be read, in discover's words.
    Folder(String),
    /// Its book.toml, its languages or their models.
    Config(ConfigError),
    /// Its files cannot be written.
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// Not one of its pages converted.
    NoPageConverted,
    /// It has no page to convert.
    NoPages,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookError::Folder(m) => f.write_str(m),
            BookError::Config(e) => e.fmt(f),
            BookError::Write { dir, source } if no_space(source) => write!(
                f,
                "{}: cannot write: no space left on the device ({source})",
                dir.display()
            ),
            BookError::Write { dir, source } => {
                write!(f, "{}: cannot write: {source}", dir.display())
            }
            BookError::NoPageConverted => {
                f.write_str("no page could be converted; no files written")
            }
            BookError::NoPages => f.write_str("no pages"),
        }
    }
}

impl std::error::Error for BookError {}

/// A full disk or an exhausted quota.
pub fn no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Why one page could not be converted. The book goes on without it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageError {
    /// The source file, as shown to the user.
    pub file: PathBuf,
    /// 1-based index of the page in the book.
    pub page: u32,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

impl PageError {
    pub fn new(file: &Path, page: u32, message: impl Into<String>) -> Self {
        PageError {
            file: file.to_path_buf(),
            page,
            message: message.into(),
        }
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: page {}: {}",
            self.file.display(),
            self.page,
            self.message
        )
    }
}

impl std::error::Error for PageError {}
