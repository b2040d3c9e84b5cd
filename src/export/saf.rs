//! `kitap export saf`: DSpace's Simple Archive Format, the folder `dspace import --add` reads
//! (DSpace 7 and 8). One item folder per book holds `dublin_core.xml` (the book's metadata in
//! the fields of DSpace's default `dc` registry), `contents` (the bitstreams, one a line, with
//! their bundle) and the book's PDF, EPUB and text, copied from OUT or hard-linked (`--link`:
//! kitap never rewrites a file of OUT in place, a new generation is new files, so a link keeps
//! the bytes exported).
//!
//! The archive is built whole beside its folder (`.saf.kitap-tmp-<pid>`) and swapped in at the
//! end, so a killed export leaves the previous archive as it was and never half an item, and a
//! book no longer exported goes with the old archive. A mark file (`.kitap-saf`; DSpace takes
//! only an archive's folders as items) tells a later export that the folder is its own to
//! replace: a folder of someone else's is refused, never emptied.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::folder::{Folder, written};
use super::{Batch, EPUB, ExportError, Outcome, PDF, TEXT};
use crate::manifest::{BookRecord, Status};
use crate::xml::XmlWriter;

/// The file that marks a folder as an archive `kitap export saf` wrote.
const MARK: &str = ".kitap-saf";

const MARK_TEXT: &str = "A DSpace Simple Archive Format archive written by `kitap export saf`.\n\
The next export replaces this folder whole: keep DSpace's mapfile elsewhere.\n";

/// An item's files in `contents` order, with the description DSpace shows beside each. The PDF
/// is the primary bitstream: the one DSpace's Google Scholar tags (`citation_pdf_url`) name.
const BITSTREAMS: [(&str, &str, bool); 3] = [
    (PDF, "Page images with the OCR text layer (PDF)", true),
    (EPUB, "Reflowed OCR text (EPUB 3)", false),
    (TEXT, "OCR text (plain text, UTF-8)", false),
];

/// Writes the archive into `-o DIR` (default `OUT/export/saf`), replacing an earlier one.
pub fn export(batch: &Batch, args: &crate::cli::SafArgs) -> Result<Outcome, ExportError> {
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| batch.default_output("saf"));
    let archive = Folder::start(batch, &dir, MARK, MARK_TEXT)?;
    let mut outcome = Outcome {
        written: dir,
        ..Outcome::default()
    };
    for book in batch.books() {
        match add(&archive, &outcome.written, batch, book, args.link)? {
            Ok(()) => outcome.books += 1,
            Err(problem) => outcome
                .problems
                .push(format!("{}: {problem}, not exported", book.id)),
        }
    }
    archive.commit()?;
    Ok(outcome)
}

/// Writes the book's item folder. `Ok(Err(problem))`: the book cannot be an item (a file of
/// it cannot be read or listed), and its folder is removed again.
fn add(
    archive: &Folder,
    target: &Path,
    batch: &Batch,
    book: &BookRecord,
    link: bool,
) -> Result<Result<(), String>, ExportError> {
    let item = archive.path().join(item_name(&book.id));
    fs::create_dir(&item).map_err(written(&item))?;
    let mut contents = String::new();
    for (media_type, description, primary) in BITSTREAMS {
        let Some(f) = super::file(book, media_type) else {
            continue;
        };
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        let problem = if !listable(name) {
            Some(format!(
                "{}: DSpace's contents file cannot list a name with a tab, a line break or a leading \"-r \"",
                f.path
            ))
        } else {
            let source = batch.path(&f.path);
            let dest = item.join(name);
            match File::open(&source) {
                Err(e) => Some(format!("{}: {e} (kitap validate OUT tells more)", f.path)),
                Ok(_) if link => {
                    fs::hard_link(&source, &dest)
                        .map_err(|e| link_failed(&source, target, &dest, e))?;
                    None
                }
                Ok(mut from) => {
                    let mut to = File::create(&dest).map_err(written(&dest))?;
                    io::copy(&mut from, &mut to).map_err(written(&dest))?;
                    None
                }
            }
        };
        if let Some(problem) = problem {
            fs::remove_dir_all(&item).map_err(written(&item))?;
            return Ok(Err(problem));
        }
        contents.push_str(&contents_line(name, description, primary));
    }
    let version = book
        .kitap_version
        .as_deref()
        .unwrap_or(&batch.manifest.kitap_version);
    for (file, text) in [
        ("dublin_core.xml", dublin_core(book, version)),
        ("contents", contents),
    ] {
        let path = item.join(file);
        fs::write(&path, text).map_err(written(&path))?;
    }
    Ok(Ok(()))
}

/// A hard link refused across filesystems (EXDEV) or by the filesystem or the kernel's
/// `protected_hardlinks` (EPERM) is a copy's job: the message says to drop `--link`.
fn link_failed(source: &Path, archive: &Path, dest: &Path, e: io::Error) -> ExportError {
    if e.kind() == io::ErrorKind::CrossesDevices || e.raw_os_error() == Some(1) {
        ExportError::Usage(format!(
            "--link: cannot hard-link {} into {} ({e}): hard links need the archive on OUT's \
             filesystem, and one that allows them; drop --link to copy the files",
            source.display(),
            archive.display()
        ))
    } else {
        ExportError::Write(dest.to_path_buf(), e)
    }
}

/// The book's item folder: its id when that is a plain ASCII name, else the id's ASCII letters
/// and digits (`_` for the rest, `item` when none are left) and the first 8 hex digits of the
/// id's SHA-256. Stable, so an export made again gives every book the folder DSpace's mapfile
/// (folder, handle) already names and `dspace import --replace` finds it; ASCII without spaces,
/// because DSpace reads the mapfile split at whitespace and under any locale.
fn item_name(id: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.len() <= 64
        && id.chars().all(plain)
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return id.to_string();
    }
    let mut slug = String::new();
    for c in id.chars().map(|c| if plain(c) { c } else { '_' }) {
        if slug.len() < 40 && !(c == '_' && slug.ends_with('_')) {
            slug.push(c);
        }
    }
    let slug = slug.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let slug = if slug.is_empty() { "item" } else { slug };
    let hash = Sha256::digest(id.as_bytes());
    format!(
        "{slug}-{:02x}{:02x}{:02x}{:02x}",
        hash[0], hash[1], hash[2], hash[3]
    )
}

/// Whether DSpace reads `name` back from a `contents` line: the name ends at the first tab, a
/// line at a line break, and a line starting `-r ` registers a file instead of importing it.
fn listable(name: &str) -> bool {
    !name.contains(['\t', '\n', '\r']) && !name.trim_start().starts_with("-r ")
}

/// One `contents` line: the file, its bundle, whether it is the primary bitstream, and its
/// description (DSpace reads each option from its tab to the next).
fn contents_line(name: &str, description: &str, primary: bool) -> String {
    let primary = if primary { "\tprimary:true" } else { "" };
    format!("{name}\tbundle:ORIGINAL{primary}\tdescription:{description}\n")
}

/// `dublin_core.xml`: the book's metadata as `dcvalue`s of DSpace's default `dc` registry, which
/// every DSpace has without configuration (so no `metadata_dcterms.xml`: it would repeat these).
///
/// Choices a DSpace administrator would make: `dc.publisher` is the publisher alone (DC has no
/// place, and "Place : Publisher" would split the publisher browse index); `dc.language.iso` is
/// the primary subtag of the book's BCP 47 tag, which is ISO 639-1 where the language has such
/// a code, as DSpace's default submission form stores it (`en`, `ru`); `dc.identifier.other` is
/// the book id (the way back to OUT) and book.toml's identifier; no `language` attributes, since
/// nothing says which language a title or description is written in. The OCR note goes into
/// `dc.description.provenance`, which DSpace shows administrators only, so a partial book also
/// says in `dc.description`, which readers see, that it is incomplete.
fn dublin_core(book: &BookRecord, kitap_version: &str) -> String {
    let m = &book.metadata;
    let mut values: Vec<(&str, &str, String)> = vec![("title", "none", super::title(book).into())];
    values.extend(
        m.authors
            .iter()
            .map(|a| ("contributor", "author", a.clone())),
    );
    // DSpace sorts and browses dc.date.issued as an ISO date.
    values.extend(m.iso_date().map(|d| ("date", "issued", d)));
    if let Some(series) = &m.series {
        let v = m
            .volume
            .as_ref()
            .map_or_else(|| series.clone(), |v| format!("{series}; {v}"));
        values.push(("relation", "ispartofseries", v));
    }
    values.extend(m.publisher.iter().map(|p| ("publisher", "none", p.clone())));
    values.extend(m.isbn.iter().map(|i| ("identifier", "isbn", i.clone())));
    values.push(("identifier", "other", book.id.clone()));
    values.extend(
        m.identifier
            .iter()
            .map(|i| ("identifier", "other", i.clone())),
    );
    let mut languages: Vec<String> = Vec::new();
    for l in &book.languages {
        let primary = l
            .tag
            .split('-')
            .next()
            .unwrap_or(&l.tag)
            .to_ascii_lowercase();
        if !languages.contains(&primary) {
            languages.push(primary);
        }
    }
    values.extend(languages.into_iter().map(|l| ("language", "iso", l)));
    values.extend(m.subjects.iter().map(|s| ("subject", "none", s.clone())));
    values.extend(m.rights.iter().map(|r| ("rights", "none", r.clone())));
    values.push(("type", "none", "Book".into()));
    let pages = match book.page_count {
        1 => "1 page".to_string(),
        n => format!("{n} pages"),
    };
    values.push(("format", "extent", pages));
    values.extend(
        m.description
            .iter()
            .map(|d| ("description", "none", d.clone())),
    );
    if book.status == Status::Partial {
        values.push(("description", "none", super::partial_note(book)));
    }
    let on = book
        .converted_at
        .as_ref()
        .map_or_else(String::new, |t| format!(" on {t}"));
    values.push((
        "description",
        "provenance",
        format!(
            "Converted from page scans by kitap {kitap_version}{on}. {}",
            super::ocr_note(book)
        ),
    ));
    let mut x = XmlWriter::indented(2);
    x.declaration().start("dublin_core", &[("schema", "dc")]);
    for (element, qualifier, value) in &values {
        x.element(
            "dcvalue",
            &[("element", element), ("qualifier", qualifier)],
            value,
        );
    }
    x.end();
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LanguageRecord, PageRecord};

    fn book() -> BookRecord {
        let mut b = BookRecord::new("укр насіння", Status::Partial, "укр насіння");
        b.metadata.title = Some("Ґанок & <їжак> \"1925\"".into());
        b.metadata.authors = vec!["Шевченко, Тарас".into(), "O'Neil, A.".into()];
        b.metadata.year = Some(crate::dates::Year::plain(1925));
        b.metadata.publisher = Some("Дніпро".into());
        b.metadata.place = Some("Київ".into());
        b.metadata.identifier = Some("urn:nbn:ua:1".into());
        b.languages = ["uk", "az-Cyrl", "az"]
            .iter()
            .map(|t| LanguageRecord {
                code: String::new(),
                tag: t.to_string(),
                name: String::new(),
            })
            .collect();
        b.ocr_models = vec!["ukr".into()];
        b.page_count = 2;
        b.confidence = Some(87.3);
        b.converted_at = Some("2026-05-01T10:00:00Z".into());
        b.pages = vec![
            PageRecord::failed(1, "a.png", 0, "not an image".into(), vec![]),
            PageRecord::failed(2, "b.png", 0, "not an image".into(), vec![]),
        ];
        b.pages[1].status = crate::manifest::PageStatus::Ok;
        b
    }

    #[test]
    fn dublin_core_is_dspace_dcvalues_escaped_and_in_order() {
        let xml = dublin_core(&book(), "9.9.9");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(
            (root.tag_name().name(), root.attribute("schema")),
            ("dublin_core", Some("dc"))
        );
        let values: Vec<String> = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                format!(
                    "{}.{}={}",
                    n.attribute("element").unwrap(),
                    n.attribute("qualifier").unwrap(),
                    n.text().unwrap_or("")
                )
            })
            .collect();
        assert_eq!(
            values,
            [
                "title.none=Ґанок & <їжак> \"1925\"",
                "contributor.author=Шевченко, Тарас",
                "contributor.author=O'Neil, A.",
                "date.issued=1925",
                "publisher.none=Дніпро",
                "identifier.other=укр насіння",
                "identifier.other=urn:nbn:ua:1",
                "language.iso=uk",
                "language.iso=az",
                "type.none=Book",
                "format.extent=2 pages",
                "description.none=Incomplete: 1 of 2 pages could not be read; placeholder pages stand in for them.",
                "description.provenance=Converted from page scans by kitap 9.9.9 on 2026-05-01T10:00:00Z. \
                 Text recognised by OCR (Tesseract, ukr); mean word confidence 87.3 %. \
                 Incomplete: 1 of 2 pages could not be read; placeholder pages stand in for them.",
            ]
        );
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dublin_core schema=\"dc\">\n  <dcvalue element=\"title\" qualifier=\"none\">Ґанок &amp; &lt;їжак&gt; &quot;1925&quot;</dcvalue>\n"));
    }

    #[test]
    fn contents_lines_are_tab_separated_options() {
        assert_eq!(
            contents_line("укр насіння.pdf", "PDF", true),
            "укр насіння.pdf\tbundle:ORIGINAL\tprimary:true\tdescription:PDF\n"
        );
        assert_eq!(
            contents_line("a.txt", "text", false),
            "a.txt\tbundle:ORIGINAL\tdescription:text\n"
        );
        assert!(listable("укр насіння.pdf"));
        assert!(!listable("a\tb.pdf") && !listable("a\nb.pdf") && !listable(" -r x.pdf"));
    }

    #[test]
    fn item_names_are_stable_ascii_without_spaces() {
        assert_eq!(item_name("ru-gazeta"), "ru-gazeta");
        let tk = item_name("tk-ýaşlyk");
        assert!(
            tk.starts_with("tk-_a_lyk-") && tk.len() == "tk-_a_lyk-".len() + 8,
            "{tk}"
        );
        let uk = item_name("укр насіння");
        assert!(uk.starts_with("item-"), "{uk}");
        assert_eq!(uk, item_name("укр насіння"));
        assert_ne!(uk, item_name("укр насіння 2"));
        for id in [".hidden", "a b", &"x".repeat(300)] {
            let n = item_name(id);
            assert!(
                n.len() <= 49
                    && n.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && n.chars().all(|c| c.is_ascii_graphic()),
                "{id} → {n}"
            );
        }
    }
}
