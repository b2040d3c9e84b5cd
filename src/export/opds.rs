//! An OPDS 1.2 catalog (Atom) of the batch, as e-reader apps browse one: a root navigation feed
//! (`root.xml`: all books, then one entry per language), acquisition feeds of all books and of
//! each language, `--per-page` entries a page chained by `next`/`previous`/`first`/`last`, the
//! language facets (`opds:facetGroup`, `opds:activeFacet`) on every page, and each book's
//! complete entry (`entries/<id>.xml`). Each entry links the EPUB and the PDF as open-access
//! acquisitions and a cover and thumbnail the export writes from the EPUB's cover.
//!
//! Every link is absolute (`--base-url` plus the path in OUT): clients that save a feed, or
//! resolve relative links badly, still reach the files. That is why the catalog must be inside
//! OUT. Ids are the EPUB's `urn:uuid` for books, and stable UUIDs of the base URL and the feed's
//! path for feeds, so a re-export keeps every id.

use std::collections::BTreeMap;

use rayon::prelude::*;
use std::path::PathBuf;

use super::folder::Folder;
use super::{BaseUrl, Batch, EPUB, ExportError, Outcome, PDF};
use crate::cli::OpdsArgs;
use crate::manifest::BookRecord;
use crate::xml::XmlWriter;

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const DC_NS: &str = "http://purl.org/dc/terms/";
const OPDS_NS: &str = "http://opds-spec.org/2010/catalog";
const THR_NS: &str = "http://purl.org/syndication/thread/1.0";

pub const NAVIGATION: &str = "application/atom+xml;profile=opds-catalog;kind=navigation";
pub const ACQUISITION: &str = "application/atom+xml;profile=opds-catalog;kind=acquisition";
pub const ENTRY: &str = "application/atom+xml;type=entry;profile=opds-catalog";
const OPEN_ACCESS: &str = "http://opds-spec.org/acquisition/open-access";

/// Marks a folder as a catalog kitap wrote (and may replace).
const MARKER: &str = ".kitap-opds";

const MARKER_TEXT: &str = "An OPDS catalog written by `kitap export opds`.\n\
The next export replaces this folder whole.\n";

/// The cover's box: the EPUB's cover (up to 1200×1600) fitted for catalog screens.
const COVER_BOX: (u32, u32) = (600, 800);
/// The thumbnail's box, as OPDS clients show them in lists.
const THUMB_BOX: (u32, u32) = (150, 200);

/// A book's complete entry: where `--qr-target opds` points.
pub fn entry_path(id: &str) -> String {
    format!("entries/{id}.xml")
}

pub fn export(batch: &Batch, args: &OpdsArgs) -> Result<Outcome, ExportError> {
    let base = BaseUrl::parse(&args.served.base_url)?;
    let dir: PathBuf = args
        .output
        .clone()
        .unwrap_or_else(|| batch.default_output("opds"));
    batch.check_target(&dir, false)?;
    let Some(prefix) = batch.relative(&dir).filter(|p| !p.is_empty()) else {
        return Err(ExportError::Usage(format!(
            "{}: the catalog must be a folder inside OUT ({}), where --base-url serves it",
            dir.display(),
            batch.out.display()
        )));
    };
    let title = args.title.trim().to_string();
    if title.is_empty() {
        return Err(ExportError::Usage(
            "--title: the catalog needs a title (its feeds' title and author)".into(),
        ));
    }
    let catalog = Catalog {
        base,
        prefix,
        title,
        per_page: args.per_page as usize,
        updated: batch.manifest.finished.clone(),
        total: batch.chosen.len(),
    };
    let folder = Folder::start(batch, &dir, MARKER, MARKER_TEXT)?;
    // Decoding and fitting each cover is most of the work: on every core, a chunk at a time
    // written out as it is made, so memory stays flat however many books there are.
    let records: Vec<&BookRecord> = batch.books().collect();
    let mut books: Vec<Book> = Vec::with_capacity(records.len());
    for chunk in records.chunks(64) {
        let images: Vec<Option<(Vec<u8>, Vec<u8>)>> = chunk
            .par_iter()
            .map(|record| {
                let jpeg = batch.cover_jpeg(record)?;
                let mut sizes = super::fitted_jpegs(&jpeg, &[(COVER_BOX, 85), (THUMB_BOX, 80)])?;
                let small = sizes.pop()?.jpeg;
                Some((sizes.pop()?.jpeg, small))
            })
            .collect();
        for (record, images) in chunk.iter().zip(images) {
            if let Some((big, small)) = &images {
                folder.write(&cover_path(&record.id), big)?;
                folder.write(&thumb_path(&record.id), small)?;
            }
            books.push(Book {
                record,
                images: images.is_some(),
            });
        }
    }
    // Readers browse by title: case-insensitive, then the id for equal titles.
    books.sort_by_cached_key(|b| (super::title(b.record).to_lowercase(), b.record.id.clone()));
    for b in &books {
        let mut x = XmlWriter::new();
        x.declaration().newline();
        catalog.entry(&mut x, b, true);
        folder.write(&entry_path(&b.record.id), x.finish().as_bytes())?;
    }

    let languages = languages(&books);
    let all: Vec<&Book> = books.iter().collect();
    catalog.acquisition(&folder, "all", "All books", &all, None, &languages)?;
    for (tag, (name, members)) in &languages {
        let title = format!("Books in {name}");
        let stem = format!("lang-{tag}");
        catalog.acquisition(&folder, &stem, &title, members, Some(tag), &languages)?;
    }
    folder.write("root.xml", catalog.root(books.len(), &languages).as_bytes())?;
    folder.commit()?;
    Ok(Outcome {
        written: dir.join("root.xml"),
        books: books.len(),
        problems: Vec::new(),
        warnings: Vec::new(),
    })
}

fn cover_path(id: &str) -> String {
    format!("covers/{id}.jpg")
}

fn thumb_path(id: &str) -> String {
    format!("thumbnails/{id}.jpg")
}

struct Book<'a> {
    record: &'a BookRecord,
    /// A cover and thumbnail were written.
    images: bool,
}

/// Each language (BCP 47 tag) with its English name and its books, in tag order.
type Languages<'a, 'b> = BTreeMap<String, (String, Vec<&'b Book<'a>>)>;

fn languages<'a, 'b>(books: &'b [Book<'a>]) -> Languages<'a, 'b> {
    let mut map: Languages = BTreeMap::new();
    for b in books {
        for l in &b.record.languages {
            let slot = map
                .entry(l.tag.clone())
                .or_insert_with(|| (l.name.clone(), Vec::new()));
            // Books come one at a time: a repeated language of the same book is the last one.
            if slot.1.last().is_none_or(|x| x.record.id != b.record.id) {
                slot.1.push(b);
            }
        }
    }
    map
}

struct Catalog {
    base: BaseUrl,
    /// The catalog folder's path in OUT.
    prefix: String,
    title: String,
    per_page: usize,
    updated: String,
    /// Books in the whole catalog.
    total: usize,
}

impl Catalog {
    /// The absolute URL of a file of the catalog.
    fn url(&self, file: &str) -> String {
        self.base.of(&format!("{}/{file}", self.prefix))
    }

    fn feed_id(&self, file: &str) -> String {
        format!(
            "urn:uuid:{}",
            crate::epub::stable_uuid(&format!("kitap:opds:{}", self.url(file)))
        )
    }

    /// A feed's opening: namespaces, id, title, updated, author, and its self/start links.
    fn open(&self, x: &mut XmlWriter, file: &str, title: &str, kind: &str) {
        x.declaration().newline();
        x.start(
            "feed",
            &[
                ("xmlns", ATOM_NS),
                ("xmlns:dc", DC_NS),
                ("xmlns:opds", OPDS_NS),
                ("xmlns:thr", THR_NS),
            ],
        )
        .newline();
        x.element("id", &[], &self.feed_id(file)).newline();
        x.element("title", &[], title).newline();
        x.element("updated", &[], &self.updated).newline();
        x.start("author", &[])
            .element("name", &[], &self.title)
            .end()
            .newline();
        link(x, "self", &self.url(file), kind);
        link(x, "start", &self.url("root.xml"), NAVIGATION);
    }

    /// The root navigation feed.
    fn root(&self, books: usize, languages: &Languages) -> String {
        let mut x = XmlWriter::new();
        self.open(&mut x, "root.xml", &self.title, NAVIGATION);
        let nav = |x: &mut XmlWriter, file: &str, title: &str, content: &str| {
            x.start("entry", &[]).newline();
            x.element("title", &[], title).newline();
            x.element("id", &[], &self.feed_id(file)).newline();
            x.element("updated", &[], &self.updated).newline();
            x.element("content", &[("type", "text")], content).newline();
            link(x, "subsection", &self.url(file), ACQUISITION);
            x.end().newline();
        };
        nav(
            &mut x,
            "all.xml",
            "All books",
            &format!("{}, by title", super::count(books, "book", "books")),
        );
        for (tag, (name, members)) in languages {
            nav(
                &mut x,
                &format!("lang-{tag}.xml"),
                &format!("Books in {name}"),
                &format!(
                    "{} in {name} ({tag})",
                    super::count(members.len(), "book", "books")
                ),
            );
        }
        x.end().newline();
        x.finish()
    }

    /// An acquisition feed, `stem.xml`, `stem-2.xml`, … of `per_page` entries each.
    fn acquisition(
        &self,
        folder: &Folder,
        stem: &str,
        title: &str,
        books: &[&Book],
        active: Option<&str>,
        languages: &Languages,
    ) -> Result<(), ExportError> {
        let pages = books.len().div_ceil(self.per_page).max(1);
        let page_file = |n: usize| {
            if n == 1 {
                format!("{stem}.xml")
            } else {
                format!("{stem}-{n}.xml")
            }
        };
        for n in 1..=pages {
            let file = page_file(n);
            let mut x = XmlWriter::new();
            let heading = if pages > 1 {
                format!("{title} ({n} of {pages})")
            } else {
                title.to_string()
            };
            self.open(&mut x, &file, &heading, ACQUISITION);
            link(&mut x, "up", &self.url("root.xml"), NAVIGATION);
            if pages > 1 {
                link(&mut x, "first", &self.url(&page_file(1)), ACQUISITION);
                link(&mut x, "last", &self.url(&page_file(pages)), ACQUISITION);
            }
            if n > 1 {
                link(
                    &mut x,
                    "previous",
                    &self.url(&page_file(n - 1)),
                    ACQUISITION,
                );
            }
            if n < pages {
                link(&mut x, "next", &self.url(&page_file(n + 1)), ACQUISITION);
            }
            self.facets(&mut x, active, languages);
            let start = (n - 1) * self.per_page;
            for b in books.iter().skip(start).take(self.per_page) {
                self.entry(&mut x, b, false);
            }
            x.end().newline();
            folder.write(&file, x.finish().as_bytes())?;
        }
        Ok(())
    }

    /// The language facet group: all languages, then each, the current one active.
    fn facets(&self, x: &mut XmlWriter, active: Option<&str>, languages: &Languages) {
        let facet = |x: &mut XmlWriter, file: &str, title: &str, count: usize, on: bool| {
            let (url, count) = (self.url(file), count.to_string());
            let mut attrs = vec![
                ("rel", "http://opds-spec.org/facet"),
                ("href", url.as_str()),
                ("type", ACQUISITION),
                ("title", title),
                ("opds:facetGroup", "Language"),
                ("thr:count", count.as_str()),
            ];
            if on {
                attrs.push(("opds:activeFacet", "true"));
            }
            x.empty("link", &attrs).newline();
        };
        facet(x, "all.xml", "All languages", self.total, active.is_none());
        for (tag, (name, members)) in languages {
            let file = format!("lang-{tag}.xml");
            facet(x, &file, name, members.len(), active == Some(tag.as_str()));
        }
    }

    /// A book's entry; `alone` makes it a complete entry document of its own.
    fn entry(&self, x: &mut XmlWriter, b: &Book, alone: bool) {
        let book = b.record;
        let meta = &book.metadata;
        if alone {
            x.start(
                "entry",
                &[
                    ("xmlns", ATOM_NS),
                    ("xmlns:dc", DC_NS),
                    ("xmlns:opds", OPDS_NS),
                ],
            )
        } else {
            x.start("entry", &[])
        }
        .newline();
        x.element("title", &[], super::title(book)).newline();
        let id = format!("urn:uuid:{}", crate::epub::book_uuid(&book.id));
        x.element("id", &[], &id).newline();
        let updated = book.converted_at.as_deref().unwrap_or(&self.updated);
        x.element("updated", &[], updated).newline();
        for a in &meta.authors {
            x.start("author", &[])
                .element("name", &[], a)
                .end()
                .newline();
        }
        if alone && meta.authors.is_empty() {
            // RFC 4287 §4.1.2: an entry document with no author of its own names, in
            // atom:source, the feed it comes from and that feed's author.
            x.start("source", &[]).newline();
            x.element("id", &[], &self.feed_id("all.xml")).newline();
            x.element("title", &[], &self.title).newline();
            x.element("updated", &[], &self.updated).newline();
            x.start("author", &[])
                .element("name", &[], &self.title)
                .end()
                .newline();
            x.end().newline();
        }
        for l in &book.languages {
            x.element("dc:language", &[], &l.tag).newline();
        }
        if let Some((isbn, _)) = meta.isbn.as_deref().and_then(super::isbn_parts) {
            x.element("dc:identifier", &[], &format!("urn:isbn:{isbn}"))
                .newline();
        }
        // W3CDTF: a periodical issue's date, else the (first) year of publication.
        if let Some(d) = meta.iso_date() {
            x.element("dc:issued", &[], &d).newline();
        }
        if let Some(p) = &meta.publisher {
            x.element("dc:publisher", &[], p).newline();
        }
        if let Some(r) = &meta.rights {
            x.element("rights", &[], r).newline();
        }
        x.element("summary", &[("type", "text")], &summary(book))
            .newline();
        for s in &meta.subjects {
            x.empty("category", &[("term", s), ("label", s)]).newline();
        }
        if b.images {
            link(
                x,
                "http://opds-spec.org/image",
                &self.url(&cover_path(&book.id)),
                "image/jpeg",
            );
            link(
                x,
                "http://opds-spec.org/image/thumbnail",
                &self.url(&thumb_path(&book.id)),
                "image/jpeg",
            );
        }
        for media_type in [EPUB, PDF] {
            if let Some(f) = super::for_readers(book, media_type) {
                link(x, OPEN_ACCESS, &self.base.of(&f.path), media_type);
            }
        }
        let rel = if alone { "self" } else { "alternate" };
        link(x, rel, &self.url(&entry_path(&book.id)), ENTRY);
        x.end().newline();
    }
}

fn link(x: &mut XmlWriter, rel: &str, href: &str, kind: &str) {
    x.empty("link", &[("rel", rel), ("href", href), ("type", kind)])
        .newline();
}

/// The description from book.toml, else what the book is: pages, languages, OCR confidence;
/// a partial book says what it lacks.
fn summary(book: &BookRecord) -> String {
    let mut s = match &book.metadata.description {
        Some(d) => d.clone(),
        None => {
            let names: Vec<&str> = book.languages.iter().map(|l| l.name.as_str()).collect();
            let mut s = super::count(book.page_count, "page", "pages");
            if !names.is_empty() {
                s.push_str(&format!(" in {}", names.join(", ")));
            }
            if let Some(c) = book.confidence {
                s.push_str(&format!(
                    "; text recognised by OCR, mean confidence {c:.0} %"
                ));
            }
            s.push('.');
            s
        }
    };
    if book.status == crate::manifest::Status::Partial {
        s.push(' ');
        s.push_str(&super::partial_note(book));
    }
    s
}
