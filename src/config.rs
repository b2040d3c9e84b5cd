//! Configuration files: a book's `book.toml` and the named pipeline presets in `pipelines/`.

use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use crate::dates::{IssueDate, Year};
use crate::error::ConfigError;
use crate::pdf::{MAX_STRING_BYTES, text_string_bytes};

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
    /// Place of publication as printed (MARC 264 $a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// Year of publication: `1939`, or as a catalogue writes an uncertain one — `"1939?"`,
    /// `"[1939]"`, `"ca. 1900"`, `"193-?"` — carried as written ([`crate::dates::Year`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<Year>,
    /// The year to sort by: the first the `year` may be (1930 for `"193-?"`). Computed; a
    /// book.toml that sets it is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_sort: Option<i32>,
    /// The series the book belongs to, as printed (MARC 490, EPUB `belongs-to-collection`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The book's volume in its series or set: `2`, `"II"`, `"3a"`.
    #[serde(
        default,
        deserialize_with = "crate::dates::deserialize_numbering",
        skip_serializing_if = "Option::is_none"
    )]
    pub volume: Option<String>,
    /// A periodical's issue number as printed: `45`, `"45–46"`.
    #[serde(
        default,
        deserialize_with = "crate::dates::deserialize_numbering",
        skip_serializing_if = "Option::is_none"
    )]
    pub issue: Option<String>,
    /// The date a periodical's issue came out (`issued = 1939-05-06`); gives `year` when that
    /// is not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<IssueDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// A summary for catalogues and e-readers (EPUB `dc:description`, OPDS summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The book's record number in Koha, when it is already catalogued: the MARC export's
    /// `999 $c`, so a staged import overlays that record instead of adding a second one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub koha_biblionumber: Option<u64>,
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
    /// Reads, normalises and checks `book.toml`: the metadata as every output carries it, and
    /// warnings about what normalising dropped and what the outputs must cut. Unknown keys are
    /// an error naming the file and the key; so is a title left empty by normalising.
    pub fn load(path: &Path) -> Result<(BookMeta, Vec<String>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(&text, path)
    }

    /// Parses, normalises and checks the text of `book.toml`; `path` only names the file in
    /// errors and warnings.
    pub fn parse(text: &str, path: &Path) -> Result<(BookMeta, Vec<String>), ConfigError> {
        let toml_err = |message: String| ConfigError::Toml {
            path: path.to_path_buf(),
            message,
        };
        let mut meta: BookMeta = match toml::from_str(text) {
            Ok(m) => m,
            Err(first) => {
                // Every mistake at once: a scanning room fixes its files in one go, not one
                // run per typo. A syntax error stops at the first (what follows is unsure).
                let all = field_errors(text).unwrap_or_default();
                let message = if all.is_empty() {
                    toml_error(text, &first)
                } else {
                    all.join("; ")
                };
                return Err(toml_err(message));
            }
        };
        if let Some(problem) = meta.year.as_ref().and_then(Year::problem) {
            return Err(toml_err(format!(
                "{}: {problem}",
                key_position(text, "year")
            )));
        }
        if meta.year_sort.is_some() {
            return Err(toml_err(format!(
                "{}: `year_sort` is worked out from `year`; remove it",
                key_position(text, "year_sort")
            )));
        }
        let mut warnings = meta.normalise();
        meta.check(path)?;
        if let Some(isbn) = &meta.isbn
            && let Err(why) = crate::validate::check_isbn(isbn)
        {
            warnings.push(format!(
                "isbn \"{isbn}\": {why} (a mistyped ISBN; the book converts, the catalogue will flag it)"
            ));
        }
        warnings.extend(meta.overlong());
        // Before printing or in the future: a typo more often than a manuscript or a plan.
        // The book converts; `kitap validate` holds the manifest to the same range.
        let this_year = time::OffsetDateTime::now_utc().year();
        if let Some(y) = meta
            .year
            .as_ref()
            .filter(|y| y.last() < 1450 || y.sort() > this_year)
        {
            warnings.push(format!(
                "year {y} is not between 1450 (printing) and {this_year}; kitap validate will call it an error"
            ));
        }
        let file = path
            .file_name()
            .map_or_else(|| "book.toml".into(), |n| n.to_string_lossy().into_owned());
        Ok((
            meta,
            warnings
                .into_iter()
                .map(|w| format!("{file}: {w}"))
                .collect(),
        ))
    }

    /// Every text as the outputs will carry it ([`clean_text`]). An optional value or a list
    /// entry left empty is dropped with a warning; an empty title stays for `check` to refuse.
    fn normalise(&mut self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(t) = &mut self.title {
            *t = clean_text(t);
        }
        for (key, list) in [
            ("authors", &mut self.authors),
            ("subjects", &mut self.subjects),
        ] {
            let before = list.len();
            let mut n = 0;
            list.retain_mut(|v| {
                n += 1;
                *v = clean_text(v);
                if v.is_empty() {
                    warnings.push(format!("`{key}` entry {n} of {before} is empty once control characters and spaces are removed; left out"));
                }
                !v.is_empty()
            });
        }
        for (key, value) in [
            ("isbn", &mut self.isbn),
            ("publisher", &mut self.publisher),
            ("place", &mut self.place),
            ("rights", &mut self.rights),
            ("description", &mut self.description),
            ("identifier", &mut self.identifier),
            ("series", &mut self.series),
            ("volume", &mut self.volume),
            ("issue", &mut self.issue),
        ] {
            if let Some(v) = value.as_mut().map(|v| clean_text(v)) {
                if v.is_empty() {
                    warnings.push(format!(
                        "`{key}` is empty once control characters and spaces are removed; left out"
                    ));
                }
                *value = Some(v).filter(|v| !v.is_empty());
            }
        }
        self.chapters.retain_mut(|c| {
            c.title = clean_text(&c.title);
            if c.title.is_empty() {
                warnings.push(format!("the chapter on page {} has an empty title once control characters and spaces are removed; left out", c.page));
            }
            !c.title.is_empty()
        });
        match (&self.year, self.issued) {
            (None, Some(d)) => self.year = Some(Year::plain(d.year())),
            (Some(y), Some(d)) if !(y.sort()..=y.last()).contains(&d.year()) => {
                warnings.push(format!(
                    "`issued` {d} is not in `year` {y}: the manifest keeps both, the outputs date the issue by `issued`"
                ));
            }
            _ => {}
        }
        self.year_sort = self.year.as_ref().map(Year::sort);
        for r in &mut self.page_labels {
            // A prefix keeps its spaces at the ends: "Plate " numbers pages "Plate 1".
            r.prefix = r
                .prefix
                .as_deref()
                .map(clean_inline)
                .filter(|p| !p.is_empty());
        }
        warnings
    }

    /// The texts longer than an output may hold (PDF/A's 32,767 bytes for a string, counted
    /// as the PDF stores it — UTF-16 for all but plain ASCII — and as UTF-8 elsewhere): each
    /// output carries as much as fits, the manifest the whole.
    fn overlong(&self) -> Vec<String> {
        let mut texts: Vec<(String, String)> = Vec::new();
        let single = [
            ("title", &self.title),
            ("isbn", &self.isbn),
            ("publisher", &self.publisher),
            ("place", &self.place),
            ("rights", &self.rights),
            ("description", &self.description),
            ("identifier", &self.identifier),
            ("series", &self.series),
            ("volume", &self.volume),
            ("issue", &self.issue),
        ];
        for (key, value) in single {
            if let Some(v) = value {
                texts.push((format!("`{key}`"), v.clone()));
            }
        }
        // The PDF's Author and Subject join the lists (crate::pdf::DocInfo).
        for (key, list) in [("authors", &self.authors), ("subjects", &self.subjects)] {
            texts.push((
                format!("the {} `{key}` joined", list.len()),
                list.join("; "),
            ));
        }
        for r in &self.page_labels {
            if let Some(p) = &r.prefix {
                texts.push((
                    format!("the page-label prefix from page {}", r.from),
                    p.clone(),
                ));
            }
        }
        for c in &self.chapters {
            texts.push((
                format!("the title of the chapter on page {}", c.page),
                c.title.clone(),
            ));
        }
        texts
            .into_iter()
            .filter_map(|(what, text)| {
                let (utf8, pdf) = (text.len(), text_string_bytes(&text));
                (utf8.max(pdf) > MAX_STRING_BYTES).then(|| format!(
                    "{what} is {utf8} bytes ({pdf} as a PDF string), over the limit of {MAX_STRING_BYTES}: the outputs carry its start, cut at a character; the manifest keeps it whole"
                ))
            })
            .collect()
    }

    /// The book's date as ISO 8601 / W3CDTF (EPUB `dc:date`, OPDS `dc:issued`, DSpace
    /// `dc.date.issued`): a periodical issue's date, else the first year the year may be
    /// (an ISO date cannot say "ca.").
    pub fn iso_date(&self) -> Option<String> {
        self.issued
            .map(|d| d.to_string())
            .or_else(|| self.year.as_ref().map(|y| format!("{:04}", y.sort())))
    }

    /// The book's date as a catalogue shows it: a periodical issue's date, else the year as
    /// written (`[1925?]`).
    pub fn shown_date(&self) -> Option<String> {
        self.issued
            .map(|d| d.to_string())
            .or_else(|| self.year.as_ref().map(ToString::to_string))
    }

    /// Warnings for the chapters that start past the book's last page (which the PDF outline
    /// and the EPUB contents cannot point to), e.g. a chapter list copied from another edition.
    pub fn chapters_past(&self, pages: usize) -> Vec<String> {
        self.chapters
            .iter()
            .filter(|c| c.page as usize > pages)
            .map(|c| {
                format!(
                    "book.toml: chapter \"{}\" starts on page {}, but the book has {pages} page(s); the PDF outline and the EPUB contents leave it out",
                    c.title, c.page
                )
            })
            .collect()
    }

    /// Every rule the values break, all in one error.
    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let mut problems: Vec<String> = Vec::new();
        if self.title.as_deref().is_some_and(str::is_empty) {
            problems.push(
                "title is empty once control characters and spaces are removed (leave it out to use the book id)".into()
            );
        }
        if let Some(y) = self
            .year
            .as_ref()
            .filter(|y| !(1..=9999).contains(&y.sort()))
        {
            problems.push(format!(
                "year {y} is not a year (write 1939, or as a catalogue does: \"1939?\", \"[1939]\", \"ca. 1900\", \"193-?\")"
            ));
        }
        if self.koha_biblionumber == Some(0) {
            problems.push(
                "koha_biblionumber counts from 1 (Koha's biblionumber of the catalogued record)"
                    .into(),
            );
        }
        for c in &self.chapters {
            if c.page == 0 {
                problems.push(format!("chapter \"{}\": page counts from 1", c.title));
            }
        }
        for r in &self.page_labels {
            if r.from == 0 {
                problems.push("page_labels: `from` counts from 1".into());
            }
            // PDF forbids /St 0, and a roman or letter label of a huge number would be
            // megabytes long: no printed book numbers its pages past a hundred thousand.
            if !(1..=MAX_LABEL_START).contains(&r.start) {
                problems.push(format!(
                    "page_labels: `start` must be between 1 and {MAX_LABEL_START}, not {}",
                    r.start
                ));
            }
        }
        if self.page_labels.windows(2).any(|w| w[0].from >= w[1].from) {
            problems.push("page_labels: ranges must be in increasing `from` order".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: problems.join("; "),
            })
        }
    }
}

/// A text of book.toml as every output carries it: control characters and Unicode
/// non-characters removed (XML cannot hold them, and the PDF's Info and XMP must agree),
/// Unicode NFC, each run of whitespace one space, trimmed.
pub fn clean_text(s: &str) -> String {
    clean_inline(s).trim().to_string()
}

/// [`clean_text`] without the trimming.
fn clean_inline(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|&c| c.is_whitespace() || !(c.is_control() || is_noncharacter(c)))
        .nfc()
        .collect();
    let mut out = String::with_capacity(kept.len());
    let mut in_space = false;
    for c in kept.chars() {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// U+FDD0–U+FDEF and the last two code points of every plane: never to be interchanged.
fn is_noncharacter(c: char) -> bool {
    ('\u{fdd0}'..='\u{fdef}').contains(&c) || (c as u32 & 0xfffe) == 0xfffe
}

/// The longest start of `s` of at most `max` bytes of UTF-8, cut at a character.
pub fn cut_to_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].trim_end()
}

/// A named pipeline preset (`pipelines/NAME.toml`). Every field documents its default.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pipeline {
    /// Name, recorded in the manifest. Default: the file's stem.
    pub name: String,
    /// One line for `kitap pipelines`. Default: empty.
    pub description: String,
    /// Languages for books without `languages` in their book.toml when `--lang` is not given;
    /// `["auto"]`: found from each book's pages. Default: `["auto"]`.
    pub languages: Vec<String>,
    /// The files written per book, in one pass: `pdf`, `epub`, `txt`, `hocr`, `alto`,
    /// `web-pdf` (`--outputs` overrides). Default: `["pdf", "epub", "txt"]`. Serialised only
    /// when not the default, so books converted before the key existed keep their fingerprints.
    #[serde(skip_serializing_if = "OutputKind::is_default_set")]
    pub outputs: Vec<OutputKind>,
    /// Also write `<id>.hocr` (word boxes and confidences): `hocr` in `outputs`. Default: false.
    pub hocr: bool,
    /// JPEG quality of the `web-pdf` output's grey and colour pages, 1–100. Default: 50.
    #[serde(skip_serializing_if = "is_default_web_quality")]
    pub web_jpeg_quality: u8,
    /// The `web-pdf` output's pages finer than this many dpi are downsampled. Default: 150.
    #[serde(skip_serializing_if = "is_default_web_dpi")]
    pub web_max_dpi: f64,
    /// Largest image accepted, in megapixels; larger ones are refused before decoding
    /// (decompression bombs). Default: 250 (a 1200-dpi A3 page is 280).
    pub max_megapixels: f64,
    /// Pages per EPUB content document. Default: 10.
    pub epub_pages_per_section: u32,
    /// EPUB headings: `auto` (lines set larger than the text that lead a paragraph are headings
    /// and, without book.toml chapters, open table-of-contents entries), `chapters` (headings
    /// in the text, the contents from book.toml chapters or page runs only), `off` (no
    /// headings detected). Default: auto. Serialised only when not auto.
    #[serde(skip_serializing_if = "EpubHeadings::is_auto")]
    pub epub_headings: EpubHeadings,
    /// EPUB pages whose mean OCR confidence (0–100) is below this also carry the page image
    /// (JPEG, at most 1000 px on the long side) after their text; 0 never. Default: 50.
    pub epub_image_below_confidence: f64,
    /// Pages whose mean OCR confidence (0–100) is below this need an editor's look: the review
    /// page lists them first and the manifest marks them `needs_review`. Default: 60.
    /// Not serialised: the pipeline's JSON is what a book's fingerprint hashes, and this key
    /// changes no output file (every run applies it to every book anew).
    #[serde(skip_serializing)]
    pub review_below_confidence: f64,
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
    /// Put Latin and Cyrillic look-alike letters read in the wrong script back in the script of
    /// their word and line ("Сьогодні y Житомирі" → "у"), in every output; the manifest counts
    /// the words repaired per page. Default: true. Serialised only when off, so books converted
    /// before the repair existed keep their fingerprints and are not OCRed again for it.
    #[serde(skip_serializing_if = "is_true")]
    pub repair_lookalikes: bool,
    /// The resolution Tesseract reads a page at. `auto`: a page whose text is far larger in
    /// pixels than Tesseract needs (x-height 40 px or more, e.g. a 1000-dpi scan) is read
    /// reduced by a whole factor to an x-height of 20–30 px, and its words are placed back at
    /// full size; `source`: always as scanned. Default: auto. Serialised only when `source`,
    /// so books converted before the setting existed keep their fingerprints.
    #[serde(skip_serializing_if = "OcrResolution::is_auto")]
    pub ocr_resolution: OcrResolution,
}

/// How the EPUB finds headings (the pipeline's `epub_headings`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EpubHeadings {
    #[default]
    Auto,
    Chapters,
    Off,
}

impl EpubHeadings {
    fn is_auto(&self) -> bool {
        *self == EpubHeadings::Auto
    }
}

/// The resolution pages are read at (the pipeline's `ocr_resolution`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OcrResolution {
    /// From the text height: oversized text is read reduced.
    #[default]
    Auto,
    /// As scanned.
    Source,
}

impl OcrResolution {
    fn is_auto(&self) -> bool {
        *self == OcrResolution::Auto
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The `web-pdf` output's JPEG quality and resolution unless the pipeline says otherwise:
/// about a tenth of an archival grey page, text still sharp on a screen.
pub const WEB_JPEG_QUALITY: u8 = 50;
pub const WEB_MAX_DPI: f64 = 150.0;

fn is_default_web_quality(q: &u8) -> bool {
    *q == WEB_JPEG_QUALITY
}

fn is_default_web_dpi(d: &f64) -> bool {
    *d == WEB_MAX_DPI
}

/// One kind of file a book's conversion writes.
#[derive(
    Debug,
    Clone,
    Copy,
    Deserialize,
    Serialize,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// `<id>.pdf`: the searchable archival PDF/A-2u.
    Pdf,
    /// `<id>.epub`: the reflowed EPUB 3.
    Epub,
    /// `<id>.txt`: the OCR text, a form feed between pages.
    Txt,
    /// `<id>.hocr`: word boxes and confidences (hOCR 1.2).
    Hocr,
    /// `<id>.alto/NNNN.xml`: ALTO 4 XML per page (libraries' and Europeana's exchange format).
    Alto,
    /// `<id>.web.pdf`: the same pages and text layer, images compact for a website.
    WebPdf,
}

impl OutputKind {
    pub const DEFAULT: [OutputKind; 3] = [OutputKind::Pdf, OutputKind::Epub, OutputKind::Txt];

    fn is_default_set(v: &Vec<OutputKind>) -> bool {
        v.as_slice() == OutputKind::DEFAULT
    }

    /// As `--outputs` and the pipeline write it.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Pdf => "pdf",
            OutputKind::Epub => "epub",
            OutputKind::Txt => "txt",
            OutputKind::Hocr => "hocr",
            OutputKind::Alto => "alto",
            OutputKind::WebPdf => "web-pdf",
        }
    }
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
            languages: vec!["auto".into()],
            outputs: OutputKind::DEFAULT.to_vec(),
            hocr: false,
            web_jpeg_quality: WEB_JPEG_QUALITY,
            web_max_dpi: WEB_MAX_DPI,
            max_megapixels: 250.0,
            epub_pages_per_section: 10,
            epub_headings: EpubHeadings::Auto,
            epub_image_below_confidence: 50.0,
            review_below_confidence: 60.0,
            orientation: true,
            deskew: true,
            max_skew_deg: 15.0,
            min_skew_deg: 0.1,
            keep_originals: false,
            crop_borders: false,
            repair_lookalikes: true,
            ocr_resolution: OcrResolution::Auto,
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
    ("newspaper", include_str!("../pipelines/newspaper.toml")),
];

impl Pipeline {
    /// The outputs this pipeline writes: `outputs`, with `hocr` when `hocr = true`.
    pub fn output_set(&self) -> Vec<OutputKind> {
        let mut v = self.outputs.clone();
        if self.hocr {
            v.push(OutputKind::Hocr);
        }
        v.sort();
        v.dedup();
        v
    }

    /// `--outputs`: exactly these files (a pipeline's `hocr = true` included only if listed).
    pub fn choose_outputs(&mut self, kinds: &[OutputKind]) {
        let mut v = kinds.to_vec();
        v.sort();
        v.dedup();
        self.outputs = v;
        self.hocr = false;
    }

    /// The pipeline as a book's fingerprint hashes it: its settings alone (no name or
    /// description), one form for one set of outputs (`hocr` said by `hocr = true`, never also
    /// in `outputs`), and the web PDF's keys only when a web PDF is written — so `-p hocr` and
    /// `--outputs pdf,epub,txt,hocr` are the same pipeline, a renamed copy of a pipeline file
    /// rebuilds nothing, and tuning the web PDF rebuilds no book that has none.
    pub fn canonical(&self) -> Pipeline {
        let mut p = self.clone();
        // What it is called and how it describes itself changes no output.
        p.name = String::new();
        p.description = String::new();
        if p.outputs.contains(&OutputKind::Hocr) {
            p.outputs.retain(|k| *k != OutputKind::Hocr);
            p.hocr = true;
        }
        if !p.outputs.contains(&OutputKind::WebPdf) {
            p.web_jpeg_quality = WEB_JPEG_QUALITY;
            p.web_max_dpi = WEB_MAX_DPI;
        }
        p
    }

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
        if p.outputs.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "outputs must name at least one of {}",
                    OutputKind::value_variants()
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        p.outputs.sort();
        p.outputs.dedup();
        if !(1..=100).contains(&p.web_jpeg_quality)
            || p.web_max_dpi.is_nan()
            || p.web_max_dpi <= 0.0
        {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "web_jpeg_quality must be within 1-100 and web_max_dpi above 0".into(),
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
        for (key, value) in [
            ("epub_image_below_confidence", p.epub_image_below_confidence),
            ("review_below_confidence", p.review_below_confidence),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    message: format!("{key} must be within 0-100"),
                });
            }
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
/// The keys book.toml knows.
const BOOK_KEYS: &[&str] = &[
    "title",
    "authors",
    "languages",
    "ocr_models",
    "isbn",
    "publisher",
    "place",
    "year",
    "series",
    "volume",
    "issue",
    "issued",
    "subjects",
    "rights",
    "description",
    "koha_biblionumber",
    "identifier",
    "page_labels",
    "chapters",
];

/// Words librarians write for a key book.toml spells otherwise.
const KEY_SYNONYMS: &[(&str, &str)] = &[
    ("author", "authors"),
    ("creator", "authors"),
    ("creators", "authors"),
    ("language", "languages"),
    ("lang", "languages"),
    ("langs", "languages"),
    ("date", "year"),
    ("published", "year"),
    ("year_published", "year"),
    ("collection", "series"),
    ("vol", "volume"),
    ("tome", "volume"),
    ("number", "issue"),
    ("no", "issue"),
    ("issue_date", "issued"),
    ("date_issued", "issued"),
    ("subject", "subjects"),
    ("keywords", "subjects"),
    ("isbn13", "isbn"),
    ("isbn10", "isbn"),
    ("city", "place"),
    ("license", "rights"),
    ("licence", "rights"),
    ("summary", "description"),
    ("abstract", "description"),
    ("chapter", "chapters"),
    ("toc", "chapters"),
    ("biblionumber", "koha_biblionumber"),
];

/// The known key a mistyped or synonymous `key` most likely means.
fn did_you_mean(key: &str) -> Option<&'static str> {
    let lower = key.to_lowercase().replace(['-', ' '], "_");
    if let Some(k) = BOOK_KEYS.iter().find(|k| **k == lower) {
        return Some(k);
    }
    if let Some((_, k)) = KEY_SYNONYMS.iter().find(|(w, _)| *w == lower) {
        return Some(k);
    }
    let distance = |a: &str, b: &str| {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        crate::reading::edit_distance(&a, &b)
    };
    BOOK_KEYS
        .iter()
        .map(|k| (distance(&lower, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

/// Where `key` is set at the top level of `text`: `line L, column C (`key`)`.
fn key_position(text: &str, key: &str) -> String {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let bare = trimmed
            .trim_start_matches("[[")
            .trim_start_matches('[')
            .trim_start_matches('"');
        if let Some(rest) = bare.strip_prefix(key)
            && rest
                .trim_start_matches('"')
                .trim_start()
                .starts_with(['=', ']', '.'])
        {
            // The value's column for `key = value` (where a wrong type is), else the key's.
            let column = match line.split_once('=') {
                Some((before, after)) if !trimmed.starts_with('[') => {
                    before.chars().count() + 2 + after.chars().count()
                        - after.trim_start().chars().count()
                }
                _ => line.chars().count() - trimmed.chars().count() + 1,
            };
            return format!("line {}, column {column} (`{key}`)", i + 1);
        }
    }
    format!("`{key}`")
}

/// Every key of book.toml that is unknown or of the wrong type, each with its line and column,
/// checked one key at a time; `None` when the text is not TOML at all.
fn field_errors(text: &str) -> Option<Vec<String>> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let mut errors = Vec::new();
    for (key, value) in &table {
        let at = key_position(text, key);
        if !BOOK_KEYS.contains(&key.as_str()) {
            let hint = did_you_mean(key).map_or_else(
                || format!(" (book.toml knows {})", BOOK_KEYS.join(", ")),
                |k| format!("; did you mean `{k}`?"),
            );
            errors.push(format!("{at}: unknown key `{key}`{hint}"));
            continue;
        }
        let mut one = toml::Table::new();
        one.insert(key.clone(), value.clone());
        match toml::Value::Table(one).try_into::<BookMeta>() {
            Err(e) => errors.push(format!("{at}: {}", one_line(e.message()))),
            Ok(m) => errors.extend(
                m.year
                    .as_ref()
                    .and_then(Year::problem)
                    .map(|p| format!("{at}: {p}")),
            ),
        }
    }
    // In the file's order, as the editor reads it (the table is in key order).
    errors.sort_by_key(|e| {
        e.strip_prefix("line ")
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    Some(errors)
}

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
    fn every_mistake_of_a_book_toml_is_named_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.toml");
        std::fs::write(
            &path,
            "title = \"T\"\nauthor = [\"A\"]\nyear = \"1939 AD\"\nlanguge = [\"kk\"]\nsubject = [\"x\"]\nzzz = 1\n",
        )
        .unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        for want in [
            "line 2, column 10 (`author`): unknown key `author`; did you mean `authors`?",
            "line 3, column 8 (`year`): year \"1939 AD\" is not a year as kitap reads them: write 1939, \"1939?\", \"[1939]\"",
            "line 4, column 11 (`languge`): unknown key `languge`; did you mean `languages`?",
            "line 5, column 11 (`subject`): unknown key `subject`; did you mean `subjects`?",
            "line 6, column 7 (`zzz`): unknown key `zzz` (book.toml knows title, authors,",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
        // Rules of the values, all at once too.
        std::fs::write(
            &path,
            "year = 12345\nkoha_biblionumber = 0\n[[chapters]]\ntitle = \"A\"\npage = 0\n",
        )
        .unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(e.contains("year 12345 is not a year"), "{e}");
        assert!(e.contains("koha_biblionumber counts from 1"), "{e}");
        assert!(e.contains("chapter \"A\": page counts from 1"), "{e}");
        // A wrong ISBN check digit is a warning: the book converts.
        std::fs::write(&path, "isbn = \"978-601-7151-13-4\"\n").unwrap();
        let (_, warnings) = BookMeta::load(&path).unwrap();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("isbn \"978-601-7151-13-4\"")),
            "{warnings:?}"
        );
    }

    #[test]
    fn uncertain_years_series_and_issues() {
        let parse = |t: &str| BookMeta::parse(t, Path::new("book.toml"));
        let (m, w) =
            parse("year = \"193-?\"\nseries = \"Мектеп кітапханасы\"\nvolume = 2\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        let year = m.year.as_ref().unwrap();
        assert_eq!((year.written(), m.year_sort), ("193-?", Some(1930)));
        assert_eq!(m.volume.as_deref(), Some("2"));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["year"], "193-?");
        assert_eq!(json["year_sort"], 1930);
        assert_eq!(json["volume"], "2");
        // What the manifest carries reads back the same.
        let back: BookMeta = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        // A periodical's issue: the date as TOML or as text gives the year.
        for issued in ["1939-05-06", "\"1939-05-06\""] {
            let (m, _) = parse(&format!("issue = \"45\"\nissued = {issued}\n")).unwrap();
            assert_eq!(m.issued.unwrap().to_string(), "1939-05-06");
            assert_eq!(m.year, Some(Year::plain(1939)));
            assert_eq!(m.year_sort, Some(1939));
        }
        let (_, w) = parse("year = 1938\nissued = 1939-05-06\n").unwrap();
        assert!(
            w[0].contains("`issued` 1939-05-06 is not in `year` 1938"),
            "{w:?}"
        );
        let e = parse("issued = \"1939-02-30\"\n").unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 10 (`issued`): issued \"1939-02-30\" is not a date"),
            "{e}"
        );
        let e = parse("issued = 1939-02-30\n").unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 10 (`issued`): invalid date"),
            "{e}"
        );
        let e = parse("issued = 1939-05-06T10:00:00\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a date: write it as 1939-05-06"), "{e}");
        let e = parse("year = 1939\nyear_sort = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, column 13 (`year_sort`): `year_sort` is worked out from `year`"),
            "{e}"
        );
        let e = parse("volume = -1\n").unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 10 (`volume`): invalid value: integer `-1`, expected a number from 1"),
            "{e}"
        );
        let (_, w) = parse("year = 2999\n").unwrap();
        assert!(
            w[0].contains("year 2999 is not between 1450 (printing) and"),
            "{w:?}"
        );
        let e = parse("year = 0\n").unwrap_err().to_string();
        assert!(e.contains("year 0 is not a year"), "{e}");
        let e = parse(&format!("year = \"{}\"\n", "x".repeat(5000)))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 600, "a long mistake is shown by its start: {e}");
        let e = parse("vol = 2\n").unwrap_err().to_string();
        assert!(e.contains("did you mean `volume`?"), "{e}");
    }

    #[test]
    fn a_wrong_type_names_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("book.toml");
        std::fs::write(&path, "title = \"T\"\nyear = \"abc\"\n").unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2, column 8 (`year`)"), "{e}");
        assert!(e.contains("is not a year as kitap reads them"), "{e}");
        std::fs::write(&path, "title = 5\n").unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 9 (`title`): invalid type: integer `5`, expected a string"),
            "{e}"
        );
        std::fs::write(&path, "title = \"T\"\nauthor = [\"A\"]\n").unwrap();
        let e = BookMeta::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("author"), "{e}");
    }

    #[test]
    fn catalogue_keys_are_read_and_checked() {
        let path = Path::new("book.toml");
        let text =
            "place = \" Алматы\t\"\ndescription = \"Қара\\t сөздер.\"\nkoha_biblionumber = 10234\n";
        let (meta, _) = BookMeta::parse(text, path).unwrap();
        assert_eq!(meta.place.as_deref(), Some("Алматы"));
        assert_eq!(meta.description.as_deref(), Some("Қара сөздер."));
        assert_eq!(meta.koha_biblionumber, Some(10234));
        let e = BookMeta::parse("koha_biblionumber = 0\n", path).unwrap_err();
        assert!(
            e.to_string().contains("koha_biblionumber counts from 1"),
            "{e}"
        );
        assert!(BookMeta::parse("koha_biblionumber = -3\n", path).is_err());
    }

    #[test]
    fn metadata_text_is_normalised() {
        assert_eq!(
            clean_text(" Kitap\u{7}\t\n of\u{1}  the\u{a0}\u{fdd0}\u{10ffff} Cafe\u{301} "),
            "Kitap of the Café"
        );
        assert_eq!(clean_text("\u{1}\u{7f}\u{9f} \t"), "");
        // A control character between a letter and its accent no longer keeps them apart.
        assert_eq!(clean_text("e\u{0}\u{301}"), "é");
        assert_eq!(clean_inline("Plate\t "), "Plate ");
        assert_eq!(cut_to_bytes("ҚҚҚ", 5), "ҚҚ");
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
