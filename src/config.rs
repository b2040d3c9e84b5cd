//! Configuration files: a book's `book.toml` and the named pipeline presets in `pipelines/`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;

/// Bibliographic metadata from a book's optional `book.toml`. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BookMeta {
    /// Title as printed. Default: the book id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Authors, in the order of the title page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Languages as ISO 639 codes, main language first. Default: `--lang`, else the pipeline's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// Tesseract models to use instead of the ones the languages map to (e.g. `["Cyrillic"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ocr_models: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isbn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// An extra identifier (catalogue number, URN); the book id is always the folder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Printed page numbering, e.g. roman front matter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_labels: Vec<PageLabelRange>,
    /// Chapters: the PDF outline and the EPUB table of contents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
}

/// The largest first number of a page-label range.
pub const MAX_LABEL_START: u32 = 100_000;

/// From page `from` (1-based index) on, pages are numbered in `style` starting at `start`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PageLabelRange {
    pub from: u32,
    #[serde(default = "default_label_style")]
    pub style: LabelStyle,
    #[serde(default = "one")]
    pub start: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LabelStyle {
    Arabic,
    Roman,
    #[serde(rename = "Roman")]
    RomanUpper,
    Letters,
    #[serde(rename = "Letters")]
    LettersUpper,
    None,
}

fn default_label_style() -> LabelStyle {
    LabelStyle::Arabic
}
fn one() -> u32 {
    1
}

/// A chapter starting on page `page` (1-based index).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    pub title: String,
    pub page: u32,
}

impl BookMeta {
    /// Reads and checks `book.toml`. Unknown keys are an error naming the file and the key.
    pub fn load(path: &Path) -> Result<BookMeta, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the text of `book.toml`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<BookMeta, ConfigError> {
        let meta: BookMeta = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.to_path_buf(),
            message: toml_error(text, &e),
        })?;
        meta.check(path)?;
        Ok(meta)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if self.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(bad(
                "title is empty (leave it out to use the book id)".into()
            ));
        }
        if let Some(y) = self.year.filter(|y| !(0..=9999).contains(y)) {
            return Err(bad(format!("year {y} is not a year")));
        }
        for c in &self.chapters {
            if c.page == 0 {
                return Err(bad(format!("chapter \"{}\": page counts from 1", c.title)));
            }
        }
        for r in &self.page_labels {
            if r.from == 0 {
                return Err(bad("page_labels: `from` counts from 1".into()));
            }
            // PDF forbids /St 0, and a roman or letter label of a huge number would be
            // megabytes long: no printed book numbers its pages past a hundred thousand.
            if !(1..=MAX_LABEL_START).contains(&r.start) {
                return Err(bad(format!(
                    "page_labels: `start` must be between 1 and {MAX_LABEL_START}, not {}",
                    r.start
                )));
            }
        }
        if self.page_labels.windows(2).any(|w| w[0].from >= w[1].from) {
            return Err(bad(
                "page_labels: ranges must be in increasing `from` order".into(),
            ));
        }
        Ok(())
    }
}

/// A named pipeline preset (`pipelines/NAME.toml`). Every field documents its default.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pipeline {
    /// Name, recorded in the manifest. Default: the file's stem.
    pub name: String,
    /// One line for `kitap pipelines`. Default: empty.
    pub description: String,
    /// Languages for books without `languages` in their book.toml when `--lang` is not given.
    /// Default: `["eng"]`.
    pub languages: Vec<String>,
    /// Write `<id>.hocr` (word boxes and confidences) beside the other outputs. Default: false.
    pub hocr: bool,
    /// Largest image accepted, in megapixels; larger ones are refused before decoding
    /// (decompression bombs). Default: 250 (a 1200-dpi A3 page is 280).
    pub max_megapixels: f64,
    /// Pages per EPUB content document. Default: 10.
    pub epub_pages_per_section: u32,
    /// EPUB pages whose mean OCR confidence (0–100) is below this also carry the page image
    /// (JPEG, at most 1000 px on the long side) after their text; 0 never. Default: 50.
    pub epub_image_below_confidence: f64,
    /// Detect pages turned by 90, 180 or 270 degrees and show them upright. Default: true.
    pub orientation: bool,
    /// Detect and straighten skewed pages. Default: true.
    pub deskew: bool,
    /// Largest skew searched for, in degrees. Default: 15.
    pub max_skew_deg: f64,
    /// Skew smaller than this is reported but left alone: straightening it would only blur the
    /// page. Default: 0.1.
    pub min_skew_deg: f64,
    /// Never alter an original image: turns and skew are applied by the PDF placement matrix
    /// only, and every source is embedded as it was decoded. Default: false (JPEG and bitonal
    /// pages use the matrix anyway; other pages are resampled upright).
    pub keep_originals: bool,
    /// Cut away dark scanner borders around the page. Default: false.
    pub crop_borders: bool,
    /// `archive`: grey and colour pages stay lossless (a palette of up to 16 greys or 256
    /// colours as indexed Flate, the rest Flate with PNG predictors) and source JPEGs go in
    /// untouched; `compact`: text on white paper becomes G4, other grey and colour pages JPEG
    /// at `jpeg_quality` after a light smoothing, downsampled to `max_dpi` when finer, and a
    /// source JPEG is replaced when that is under 0.8 of its size. Bitonal pages are G4 and
    /// lossy sources that cannot go in as they are (JPEG-in-TIFF, CMYK) an sRGB JPEG either
    /// way. Default: archive.
    pub images: ImageMode,
    /// JPEG quality of `compact` pages, 1–100. Default: 75.
    pub jpeg_quality: u8,
    /// `compact` pages finer than this many dpi are downsampled (0: never). Default: 0.
    pub max_dpi: f64,
    /// `auto`: split two-page spreads at the gutter into two pages (the manifest gives each a
    /// `part`, left or right); `never`. Default: never.
    pub split: Split,
}

/// How grey and colour page images are stored.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImageMode {
    Archive,
    Compact,
}

/// Whether two-page spreads are split.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Auto,
    Never,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            name: "default".into(),
            description: String::new(),
            languages: vec!["eng".into()],
            hocr: false,
            max_megapixels: 250.0,
            epub_pages_per_section: 10,
            epub_image_below_confidence: 50.0,
            orientation: true,
            deskew: true,
            max_skew_deg: 15.0,
            min_skew_deg: 0.1,
            keep_originals: false,
            crop_borders: false,
            images: ImageMode::Archive,
            jpeg_quality: 75,
            max_dpi: 0.0,
            split: Split::Never,
        }
    }
}

/// The pipelines shipped with kitap, compiled in so the binary works from any directory.
pub const BUILTIN_PIPELINES: &[(&str, &str)] = &[
    ("default", include_str!("../pipelines/default.toml")),
    ("hocr", include_str!("../pipelines/hocr.toml")),
    ("archive", include_str!("../pipelines/archive.toml")),
    ("spreads", include_str!("../pipelines/spreads.toml")),
    ("compact", include_str!("../pipelines/compact.toml")),
];

impl Pipeline {
    /// Resolves `--pipeline`: a path to a .toml file, or the name of a built-in preset.
    pub fn resolve(arg: &str) -> Result<Pipeline, ConfigError> {
        let as_path = Path::new(arg);
        if arg.ends_with(".toml") || arg.contains(std::path::MAIN_SEPARATOR) {
            let text = std::fs::read_to_string(as_path).map_err(|e| ConfigError::Read {
                path: as_path.to_path_buf(),
                source: e,
            })?;
            let stem = as_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Self::parse(&text, &stem, as_path);
        }
        match BUILTIN_PIPELINES.iter().find(|(name, _)| *name == arg) {
            Some((name, text)) => {
                Self::parse(text, name, &PathBuf::from(format!("pipelines/{name}.toml")))
            }
            None => Err(ConfigError::UnknownPipeline {
                name: arg.to_string(),
                known: BUILTIN_PIPELINES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Parses and checks a pipeline's text; `stem` names it when it has no `name`, `path` names
    /// the file in errors.
    pub fn parse(text: &str, stem: &str, path: &Path) -> Result<Pipeline, ConfigError> {
        let mut p: Pipeline = toml::from_str(text).map_err(|e| ConfigError::Toml {
            path: path.to_path_buf(),
            message: toml_error(text, &e),
        })?;
        if p.name.is_empty() || p.name == "default" && stem != "default" {
            p.name = stem.to_string();
        }
        if p.max_megapixels.is_nan() || p.max_megapixels <= 0.0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "max_megapixels must be positive".into(),
            });
        }
        if !(0.0..=45.0).contains(&p.max_skew_deg) || !(0.0..=5.0).contains(&p.min_skew_deg) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "max_skew_deg must be within 0-45 and min_skew_deg within 0-5".into(),
            });
        }
        if !(1..=100).contains(&p.jpeg_quality) || p.max_dpi < 0.0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "jpeg_quality must be within 1-100 and max_dpi not negative".into(),
            });
        }
        if p.epub_pages_per_section == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "epub_pages_per_section must be at least 1".into(),
            });
        }
        if !(0.0..=100.0).contains(&p.epub_image_below_confidence) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "epub_image_below_confidence must be within 0-100".into(),
            });
        }
        Ok(p)
    }
}

/// toml's messages can span lines; a kitap error is one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A TOML error as one line that says where: `line L, column C: message` (and the key, which
/// the message names for unknown fields; for a wrong type the key is at that position).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = one_line(e.message());
    let Some(span) = e.span() else {
        return message;
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let key = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('#'));
    match key {
        Some(k) => format!("line {line}, column {column} (`{k}`): {message}"),
        None => format!("line {line}, column {column}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_type_names_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.toml");
        std::fs::write(&path, "title = \"T\"\nyear = \"abc\"\n").unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2, column 8 (`year`)"), "{e}");
        assert!(e.contains("expected i32"), "{e}");
        std::fs::write(&path, "title = \"T\"\nauthor = [\"A\"]\n").unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("author"), "{e}");
    }

    #[test]
    fn builtin_pipelines_parse() {
        for (name, _) in BUILTIN_PIPELINES {
            let p = Pipeline::resolve(name).unwrap();
            assert_eq!(&p.name, name);
        }
    }

    #[test]
    fn image_confidence_threshold_is_checked() {
        let path = Path::new("p.toml");
        let p = Pipeline::parse("epub_image_below_confidence = 65\n", "p", path).unwrap();
        assert_eq!(p.epub_image_below_confidence, 65.0);
        assert_eq!(Pipeline::default().epub_image_below_confidence, 50.0);
        let err = Pipeline::parse("epub_image_below_confidence = 120\n", "p", path).unwrap_err();
        assert!(
            err.to_string().contains("epub_image_below_confidence"),
            "{err}"
        );
    }

    #[test]
    fn unknown_book_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.toml");
        std::fs::write(&path, "title = \"x\"\ntitel = \"y\"\n").unwrap();
        let err = BookMeta::load(&path).unwrap_err().to_string();
        assert!(err.contains("book.toml") && err.contains("titel"), "{err}");
    }

    #[test]
    fn full_book_toml_is_accepted() {
        let text = r#"
            title = "Қара сөздер"
            authors = ["Абай Құнанбайұлы"]
            languages = ["kaz", "rus"]
            ocr_models = ["kaz", "rus"]
            isbn = "978-601-00-0000-0"
            publisher = "Жазушы"
            year = 1995
            subjects = ["philosophy"]
            rights = "public domain"
            identifier = "urn:nbrk:0001"
            page_labels = [{ from = 1, style = "roman" }, { from = 9, style = "arabic", start = 1 }]
            [[chapters]]
            title = "Бірінші сөз"
            page = 12
        "#;
        let m: BookMeta = toml::from_str(text).unwrap();
        assert_eq!(m.page_labels[0].style, LabelStyle::Roman);
        assert_eq!(m.chapters[0].page, 12);
    }
}
