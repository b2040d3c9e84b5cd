//! MARC21 bibliographic records for Koha's staged import: a MARCXML `<collection>` (MARC21 slim
//! schema), one `<record>` per book, describing the e-book as the electronic reproduction of the
//! printed book that was scanned (RDA content/media/carrier, a 533 reproduction note, an 856 per
//! file).
//!
//! Coded values a machine cannot know (illustrations, literary form, audience…) are `|`, "no
//! attempt to code", rather than a guess a cataloguer would have to find and undo. The notes
//! kitap writes (300, 500, 533) are in English, hence `040 $b eng`. Punctuation is ISBD's
//! (leader/18 `i`), as Koha's display stylesheets expect.
//!
//! Each record's ISO 2709 length is computed as yaz-marcdump would write it, and the leader
//! carries it; a record over ISO 2709's 99,999 bytes is left out with a message.

use std::path::PathBuf;

use super::{BaseUrl, Batch, EPUB, ExportError, Outcome, PDF};
use crate::cli::MarcArgs;
use crate::manifest::{BookRecord, ImageEncoding, PageStatus, Status};
use crate::xml::XmlWriter;

const MARC_NS: &str = "http://www.loc.gov/MARC21/slim";

/// ISO 2709's largest record: the length is five digits.
const MAX_RECORD: usize = 99_999;

/// ISO 2709's largest field: the directory gives a field's length in four digits.
const MAX_FIELD: usize = 9_999;

/// What the records say besides the manifest.
pub struct Settings {
    pub base: BaseUrl,
    /// MARC organisation code (003, 040 $a $c).
    pub org_code: Option<String>,
    /// Koha item type (942 $c).
    pub item_type: Option<String>,
    /// Who digitized (533 $c).
    pub agency: Option<String>,
    /// The kitap that wrote the manifest, for books whose record does not say.
    pub kitap_version: String,
    /// Today (`YYMMDD`), 008's date entered for a book with no conversion time.
    pub today: String,
}

pub fn export(batch: &Batch, args: &MarcArgs) -> Result<Outcome, ExportError> {
    let non_empty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let settings = Settings {
        base: BaseUrl::parse(&args.served.base_url)?,
        org_code: non_empty(&args.org_code),
        item_type: non_empty(&args.koha_item_type),
        agency: non_empty(&args.agency).or_else(|| non_empty(&args.org_code)),
        kitap_version: batch.manifest.kitap_version.clone(),
        today: crate::manifest::now_rfc3339()
            .chars()
            .filter(char::is_ascii_digit)
            .skip(2)
            .take(6)
            .collect(),
    };
    if let Some(code) = &settings.org_code
        && code.chars().any(|c| !c.is_ascii_graphic())
    {
        return Err(ExportError::Usage(format!(
            "--org-code {code:?}: a MARC organisation code is ASCII letters, digits and '-' (e.g. KzAlNL)"
        )));
    }
    let path: PathBuf = args
        .output
        .clone()
        .unwrap_or_else(|| batch.default_output("marc.xml"));
    batch.check_target(&path, true)?;
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    let mut records = Vec::new();
    for book in batch.books() {
        let mut record = record(book, &settings);
        for tag in record.fit_fields() {
            warnings.push(format!(
                "{}: MARC field {tag} was longer than ISO 2709's {MAX_FIELD} bytes and is cut",
                book.id
            ));
        }
        match record.iso2709_len() {
            n if n > MAX_RECORD => problems.push(format!(
                "{}: its MARC record would be {n} bytes, over ISO 2709's {MAX_RECORD}; left out",
                book.id
            )),
            _ => records.push(record),
        }
    }
    super::write(&path, collection(&records).as_bytes())?;
    Ok(Outcome {
        written: path,
        books: records.len(),
        problems,
        warnings,
    })
}

/// A MARC record as built: leader, control fields, data fields, in tag order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Positions 05–09 and 17–19 of the leader (the rest is computed).
    pub status: char,
    pub control: Vec<(&'static str, String)>,
    pub data: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub tag: &'static str,
    pub ind: [char; 2],
    pub subfields: Vec<(char, String)>,
}

impl Field {
    fn new(tag: &'static str, ind1: char, ind2: char) -> Field {
        Field {
            tag,
            ind: [ind1, ind2],
            subfields: Vec::new(),
        }
    }

    /// Adds a subfield. Characters XML cannot carry are dropped here, as the XML writer would
    /// drop them, so the lengths counted are the lengths written.
    fn sub(mut self, code: char, value: impl Into<String>) -> Field {
        let value: String = value.into();
        let value = value
            .chars()
            .filter(|&c| {
                !((c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                    || c == '\u{fffe}'
                    || c == '\u{ffff}')
            })
            .collect();
        self.subfields.push((code, value));
        self
    }

    /// Bytes in ISO 2709: indicators, each subfield's delimiter, code and value, the terminator.
    fn iso2709_len(&self) -> usize {
        2 + self
            .subfields
            .iter()
            .map(|(_, v)| 2 + v.len())
            .sum::<usize>()
            + 1
    }
}

impl Record {
    /// Cuts the longest subfield of each field over [`MAX_FIELD`] bytes (at a character, with
    /// "…") until it fits; returns the tags cut.
    pub fn fit_fields(&mut self) -> Vec<&'static str> {
        let mut cut = Vec::new();
        for f in &mut self.data {
            if f.iso2709_len() <= MAX_FIELD {
                continue;
            }
            cut.push(f.tag);
            while f.iso2709_len() > MAX_FIELD {
                let over = f.iso2709_len() - MAX_FIELD;
                let Some((_, longest)) = f.subfields.iter_mut().max_by_key(|(_, v)| v.len()) else {
                    break;
                };
                let keep = longest.len().saturating_sub(over + '…'.len_utf8());
                let keep = (0..=keep)
                    .rev()
                    .find(|&i| longest.is_char_boundary(i))
                    .unwrap_or(0);
                longest.truncate(keep);
                longest.push('…');
            }
        }
        cut
    }

    /// The record's length in ISO 2709 (what leader/00–04 says): the leader, a 12-byte directory
    /// entry per field and its terminator, every field with its terminator, the record terminator.
    pub fn iso2709_len(&self) -> usize {
        self.base_address()
            + self.control.iter().map(|(_, v)| v.len() + 1).sum::<usize>()
            + self.data.iter().map(Field::iso2709_len).sum::<usize>()
            + 1
    }

    /// Where the fields start: after the leader and the directory.
    fn base_address(&self) -> usize {
        24 + 12 * (self.control.len() + self.data.len()) + 1
    }

    pub fn leader(&self) -> String {
        // 06 a language material, 07 m monograph, 09 a UCS/Unicode, 10–11 indicator and
        // subfield code counts, 17 7 minimal level (machine-made), 18 i ISBD punctuation,
        // 20–23 the directory's entry map.
        format!(
            "{:05}{}am a22{:05}7i 4500",
            self.iso2709_len().min(MAX_RECORD),
            self.status,
            self.base_address().min(MAX_RECORD)
        )
    }
}

/// The collection document.
pub fn collection(records: &[Record]) -> String {
    let mut x = XmlWriter::new();
    x.declaration().newline();
    x.start("collection", &[("xmlns", MARC_NS)]).newline();
    for r in records {
        x.text("  ").start("record", &[]).newline();
        x.text("    ").element("leader", &[], &r.leader()).newline();
        for (tag, value) in &r.control {
            x.text("    ")
                .element("controlfield", &[("tag", tag)], value)
                .newline();
        }
        for f in &r.data {
            let (i1, i2) = (f.ind[0].to_string(), f.ind[1].to_string());
            x.text("    ")
                .start("datafield", &[("tag", f.tag), ("ind1", &i1), ("ind2", &i2)])
                .newline();
            for (code, value) in &f.subfields {
                x.text("      ")
                    .element("subfield", &[("code", &code.to_string())], value)
                    .newline();
            }
            x.text("    ").end().newline();
        }
        x.text("  ").end().newline();
    }
    x.end().newline();
    x.finish()
}

/// The book's record.
pub fn record(book: &BookRecord, s: &Settings) -> Record {
    let meta = &book.metadata;
    let converted = book.converted_at.as_deref().unwrap_or("");
    let digits: String = converted.chars().filter(char::is_ascii_digit).collect();
    let mut control = vec![("001", book.id.clone())];
    if let Some(org) = &s.org_code {
        control.push(("003", org.clone()));
    }
    if digits.len() >= 14 {
        control.push(("005", format!("{}.0", &digits[..14])));
    }
    control.push(("006", "m     o  d |      ".to_string()));
    control.push(("007", field_007(book)));
    control.push(("008", field_008(book, digits.get(2..8).unwrap_or(&s.today))));

    let mut data = Vec::new();
    if let Some((isbn, qualifier)) = meta.isbn.as_deref().and_then(super::isbn_parts) {
        let mut f = Field::new("020", ' ', ' ').sub('a', isbn);
        if let Some(q) = qualifier {
            f = f.sub('q', q);
        }
        data.push(f);
    }
    if let Some(org) = &s.org_code {
        data.push(
            Field::new("040", ' ', ' ')
                .sub('a', org.clone())
                .sub('b', "eng")
                .sub('e', "rda")
                .sub('c', org.clone()),
        );
    }
    if book.languages.len() > 1 {
        let mut f = Field::new("041", '0', ' ');
        for l in &book.languages {
            f = f.sub('a', crate::lang::marc_code(&l.code));
        }
        data.push(f);
    }
    let mut authors = meta.authors.iter();
    if let Some(first) = authors.next() {
        data.push(name_field("100", first));
    }
    data.push(title_field(book));
    data.push(publication(book));
    let extent = format!(
        "1 online resource ({})",
        super::count(book.page_count, "page", "pages")
    );
    data.push(Field::new("300", ' ', ' ').sub('a', extent.clone()));
    data.push(rda("336", "text", "txt", "rdacontent"));
    data.push(rda("337", "computer", "c", "rdamedia"));
    data.push(rda("338", "online resource", "cr", "rdacarrier"));
    let mut types = Field::new("347", ' ', ' ').sub('a', "text file");
    for (kind, media_type) in [("PDF", PDF), ("EPUB", EPUB)] {
        if super::file(book, media_type).is_some() {
            types = types.sub('b', kind);
        }
    }
    data.push(types.sub('2', "rdaft"));
    data.extend(series(meta));
    data.push(Field::new("500", ' ', ' ').sub('a', super::ocr_note(book)));
    data.push(reproduction(book, s, &digits, &extent));
    if let Some(rights) = &meta.rights {
        data.push(Field::new("540", ' ', ' ').sub('a', end_with_period(rights)));
    }
    for subject in &meta.subjects {
        data.push(Field::new("650", ' ', '4').sub('a', end_with_period(subject)));
    }
    for other in authors {
        data.push(name_field("700", other));
    }
    for (kind, media_type) in [("PDF", PDF), ("EPUB", EPUB)] {
        if let Some(f) = super::for_readers(book, media_type) {
            data.push(
                Field::new("856", '4', '0')
                    .sub('u', s.base.of(&f.path))
                    .sub('q', media_type)
                    .sub('s', f.bytes.to_string())
                    .sub('y', kind),
            );
        }
    }
    if let Some(item_type) = &s.item_type {
        data.push(Field::new("942", ' ', ' ').sub('c', item_type.clone()));
    }
    if let Some(n) = meta.koha_biblionumber {
        data.push(Field::new("999", ' ', ' ').sub('c', n.to_string()));
    }
    Record {
        // c: the record Koha has (999 $c) is revised by this one.
        status: if meta.koha_biblionumber.is_some() {
            'c'
        } else {
            'n'
        },
        control,
        data,
    }
}

/// 007 for a remote electronic resource: colour and bit depth known only for bitonal scans,
/// several file formats, reproduced from the original, compression from the page images.
fn field_007(book: &BookRecord) -> String {
    let encodings: Vec<ImageEncoding> = book
        .pages
        .iter()
        .filter(|p| p.status == PageStatus::Ok)
        .filter_map(|p| p.image_encoding)
        .collect();
    let bitonal = !encodings.is_empty() && encodings.iter().all(|e| *e == ImageEncoding::CcittG4);
    let lossless = encodings
        .iter()
        .filter(|e| {
            matches!(
                e,
                ImageEncoding::CcittG4 | ImageEncoding::Flate | ImageEncoding::FlateIndexed
            )
        })
        .count();
    let compression = match lossless {
        _ if encodings.is_empty() => 'u',
        n if n == encodings.len() => 'b',
        0 => 'd',
        _ => 'm',
    };
    let (colour, depth) = if bitonal { ('a', "001") } else { ('|', "|||") };
    format!("cr {colour}n {depth}mua{compression}u")
}

/// 008 for a book in electronic form: entered on the conversion date, the printed book's year,
/// place unknown, form of item `o` (online), the main language.
fn field_008(book: &BookRecord, entered: &str) -> String {
    // A periodical's issue is dated by its day (264 $c says it too), else by the year.
    let dates = match (&book.metadata.issued, &book.metadata.year) {
        (Some(d), _) if (1..=9999).contains(&d.year()) => format!("s{:04}    ", d.year()),
        (_, Some(y)) if (0..=9999).contains(&y.sort()) && y.last() <= 9999 => y.marc_008_dates(),
        _ => "nuuuuuuuu".to_string(),
    };
    let language = book
        .languages
        .first()
        .map_or("und", |l| crate::lang::marc_code(&l.code));
    // 15–17 place, 18–22 illustrations and audience, 23 form of item, 24–34 contents,
    // government publication, conference, festschrift, index, undefined, literary form,
    // biography; 35–37 language; 38 not modified; 39 cataloguing source other.
    format!("{entered}{dates}xx |||||o|||||||| ||{language} d")
}

/// 100 or 700: a name written "Surname, Forename" is a surname entry (first indicator 1), one
/// written in direct order stays as written (0). The relator is author.
fn name_field(tag: &'static str, name: &str) -> Field {
    let ind1 = if name.contains(',') { '1' } else { '0' };
    Field::new(tag, ind1, ' ')
        .sub('a', format!("{},", name.trim_end_matches([',', ' '])))
        .sub('e', "author.")
        .sub('4', "aut")
}

/// 245: the title, its statement of responsibility, the articles a filing index skips.
fn title_field(book: &BookRecord) -> Field {
    let title = super::title(book);
    let ind1 = if book.metadata.authors.is_empty() {
        '0'
    } else {
        '1'
    };
    let language = book.languages.first().map_or("", |l| l.code.as_str());
    let skip = nonfiling(title, language);
    let mut f = Field::new(
        "245",
        ind1,
        char::from_digit(skip as u32, 10).unwrap_or('0'),
    );
    // The part of a multi-part book without a series, and a periodical's issue: `$n`.
    let meta = &book.metadata;
    let mut parts: Vec<String> = Vec::new();
    if meta.series.is_none()
        && let Some(v) = &meta.volume
    {
        parts.push(v.clone());
    }
    if let Some(i) = &meta.issue {
        parts.push(if i.starts_with(|c: char| c.is_ascii_digit()) {
            format!("№ {i}")
        } else {
            i.clone()
        });
    }
    let slash = if meta.authors.is_empty() { "" } else { " /" };
    if parts.is_empty() {
        f = f.sub(
            'a',
            if slash.is_empty() {
                end_with_period(title)
            } else {
                format!("{title}{slash}")
            },
        );
    } else {
        f = f.sub('a', end_with_period(title));
        let last = parts.len() - 1;
        for (i, p) in parts.into_iter().enumerate() {
            f = f.sub(
                'n',
                match (i == last, slash.is_empty()) {
                    (false, _) => format!("{p},"),
                    (true, true) => end_with_period(&p),
                    (true, false) => format!("{p}{slash}"),
                },
            );
        }
    }
    if !meta.authors.is_empty() {
        f = f.sub('c', end_with_period(&meta.authors.join(", ")));
    }
    f
}

/// Characters of a leading article a filing index skips (MARC 245 second indicator), for the
/// languages with articles that kitap reads; Turkic and Slavic languages have none.
fn nonfiling(title: &str, language: &str) -> usize {
    let articles: &[&str] = match language {
        "eng" => &["The ", "An ", "A "],
        "deu" => &["Der ", "Die ", "Das ", "Ein ", "Eine "],
        "fra" => &["Les ", "Le ", "La ", "L'", "Une ", "Un "],
        "ita" => &["Gli ", "Il ", "Lo ", "La ", "L'", "Una ", "Un "],
        "spa" => &["Los ", "Las ", "El ", "La ", "Una ", "Un "],
        "por" => &["Os ", "As ", "O ", "A ", "Uma ", "Um "],
        _ => &[],
    };
    articles
        .iter()
        .find(|a| {
            title.len() > a.len()
                && title.is_char_boundary(a.len())
                && title[..a.len()].eq_ignore_ascii_case(a)
        })
        .map_or(0, |a| a.len().min(9))
}

/// 490 0_: the series as printed, not traced (the catalogue links it when it has one).
fn series(meta: &crate::config::BookMeta) -> Option<Field> {
    let series = meta.series.as_ref()?;
    let f = Field::new("490", '0', ' ');
    Some(match &meta.volume {
        Some(v) => f.sub('a', format!("{series} ;")).sub('v', v.clone()),
        None => f.sub('a', series.clone()),
    })
}

/// 264 _1: the printed book's publication, with RDA's bracketed phrases where it is unknown.
fn publication(book: &BookRecord) -> Field {
    let meta = &book.metadata;
    let place = meta
        .place
        .clone()
        .unwrap_or_else(|| "[Place of publication not identified]".into());
    let publisher = meta
        .publisher
        .clone()
        .unwrap_or_else(|| "[publisher not identified]".into());
    // As written ("[1939?]", "ca. 1900"); a periodical's issue by its date.
    let year = meta.shown_date().map_or_else(
        || "[date of publication not identified]".into(),
        |d| {
            if d.ends_with(|c: char| c.is_ascii_digit()) {
                format!("{d}.")
            } else {
                d
            }
        },
    );
    Field::new("264", ' ', '1')
        .sub('a', format!("{place} :"))
        .sub('b', format!("{publisher},"))
        .sub('c', year)
}

fn rda(tag: &'static str, term: &str, code: &str, source: &str) -> Field {
    Field::new(tag, ' ', ' ')
        .sub('a', term)
        .sub('b', code)
        .sub('2', source)
}

/// 533: the electronic reproduction — who made it (when known), the year of this generation,
/// its extent, how.
fn reproduction(book: &BookRecord, s: &Settings, converted: &str, extent: &str) -> Field {
    let mut f = Field::new("533", ' ', ' ').sub('a', "Electronic reproduction.");
    let year = converted.get(..4);
    if let Some(agency) = &s.agency {
        let sep = if year.is_some() { "," } else { "." };
        f = f.sub('c', format!("{agency}{sep}"));
    }
    if let Some(y) = year {
        f = f.sub('d', format!("{y}."));
    }
    let version = book
        .kitap_version
        .as_deref()
        .unwrap_or(env!("CARGO_PKG_VERSION"));
    let mut how = format!(
        "Scanned pages made searchable with kitap {version}: PDF/A-2u with the page images and their OCR text, and a reflowable EPUB 3."
    );
    if book.status == Status::Partial {
        how.push(' ');
        how.push_str(&super::partial_note(book));
    }
    f.sub('e', format!("{extent}.")).sub('n', how)
}

/// ISBD ends a note or a term with a full stop unless it ends with punctuation of its own.
fn end_with_period(s: &str) -> String {
    let s = s.trim_end();
    if s.ends_with(['.', '?', '!', '…']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_articles_are_counted_for_filing() {
        assert_eq!(nonfiling("The Reading Room", "eng"), 4);
        assert_eq!(nonfiling("An Hour", "eng"), 3);
        assert_eq!(nonfiling("L'Étranger", "fra"), 2);
        assert_eq!(nonfiling("Theory", "eng"), 0);
        assert_eq!(nonfiling("A", "eng"), 0);
        assert_eq!(nonfiling("Қара сөздер", "kaz"), 0);
    }

    #[test]
    fn names_are_entered_as_written() {
        let inverted = name_field("100", "Шевченко, Тарас");
        assert_eq!(inverted.ind, ['1', ' ']);
        assert_eq!(inverted.subfields[0].1, "Шевченко, Тарас,");
        assert_eq!(name_field("700", "Aýna Öwezowa").ind, ['0', ' ']);
    }

    #[test]
    fn the_leader_carries_the_iso2709_length() {
        let r = Record {
            status: 'n',
            control: vec![("001", "kk-1".into())],
            data: vec![Field::new("245", '0', '0').sub('a', "Қара.")],
        };
        // 24 leader + 2×12 directory + 1, "kk-1" + 1, 2 + 2 + 9 bytes of UTF-8 + 1, 1.
        assert_eq!(r.iso2709_len(), 24 + 24 + 1 + 5 + 14 + 1);
        assert_eq!(&r.leader()[..5], "00069");
        assert_eq!(&r.leader()[12..17], "00049");
        assert_eq!(r.leader().len(), 24);
    }

    #[test]
    fn a_field_too_long_for_iso2709_is_cut_at_a_character() {
        let mut r = Record {
            status: 'n',
            control: vec![("001", "b".into())],
            data: vec![
                Field::new("245", '0', '0')
                    .sub('a', "Қ".repeat(6000))
                    .sub('c', "A."),
                Field::new("650", ' ', '4').sub('a', "short"),
            ],
        };
        assert_eq!(r.fit_fields(), ["245"]);
        assert!(r.data[0].iso2709_len() <= MAX_FIELD);
        assert!(r.data[0].subfields[0].1.ends_with('…'));
        assert_eq!(r.data[0].subfields[1].1, "A.");
        // Control characters are gone before they are counted: the leader stays true.
        let f = Field::new("500", ' ', ' ').sub('a', "a\u{1}b\u{7}c");
        assert_eq!(f.subfields[0].1, "abc");
    }

    #[test]
    fn fixed_fields_have_their_lengths() {
        let mut book = BookRecord::new("b", Status::Ok, "b");
        book.metadata.year = Some(crate::dates::Year::plain(1939));
        assert_eq!(field_007(&book).len(), 14);
        let f008 = field_008(&book, "261130");
        assert_eq!(f008.len(), 40, "{f008:?}");
        assert_eq!(&f008[6..11], "s1939");
        assert_eq!(&f008[23..24], "o");
        assert_eq!(&f008[35..38], "und");
    }
}
