//! `kitap export` on a real converted batch: the shared seed books (Turkmen, Ukrainian and Russian
//! pages) with full book.toml metadata and non-Latin ids, a partial book and a failed one. Each
//! format is read back with the real tools its consumers use: yaz-marcdump and a MARC parser for
//! Koha's MARCXML, xmllint and feedparser for OPDS, pdftoppm and zbarimg for the shelf's QR
//! codes, xmllint for DSpace's dublin_core.xml.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use kitap::manifest::Manifest;

const BASE: &str = "https://elib.example.kz/books/";

/// The Turkmen seed book: its id and title carry Turkmen letters.
const TK: &str = "tk-ýaşlyk";
const TK_TITLE: &str = "Ýaşlyk ýyllary: ňäme, çöl we ýüzüm";
/// The Ukrainian seed book, an id with a space and Cyrillic letters.
const UK: &str = "укр насіння";
const UK_TITLE: &str = "Сьогодні у Житомирі: ґанок і їжак";
/// The Russian newspaper seed, already in Koha as record 4242.
const RU: &str = "ru-gazeta";
const RU_TITLE: &str = "Газета «Заря» — избранное";
/// One good page and one file that is no image.
const PARTIAL: &str = "en-partial";
/// Nothing readable.
const FAILED: &str = "broken";

/// The exported books (ok and partial), in id order as the manifest lists them.
const EXPORTED: [&str; 4] = [PARTIAL, RU, TK, UK];

fn book_toml(title: &str, authors: &[&str], languages: &str, extra: &str) -> String {
    let authors: Vec<String> = authors.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "title = {title:?}\nauthors = [{}]\nlanguages = {languages}\n{extra}",
        authors.join(", ")
    )
}

/// The batch, converted once.
fn converted() -> &'static PathBuf {
    static OUT: Shared<PathBuf> = Shared::new();
    OUT.get(|| {
        let shared = shared().expect("the shared corpus (seed books)");
        let dir = fixture_dir("export-batch");
        let scans = dir.join("scans");
        let seeds = shared.join("sample-scans");
        let books = [
            (
                "tuk-seed",
                TK,
                book_toml(
                    TK_TITLE,
                    &["Aýna Öwezowa", "Berdi Nurýagdyýew"],
                    r#"["tuk"]"#,
                    "isbn = \"978-9943-00-000-1\"\npublisher = \"Türkmen döwlet neşirýat gullugy\"\nplace = \"Aşgabat\"\nyear = 2019\nsubjects = [\"Türkmen edebiýaty\", \"Goşgular\"]\nrights = \"CC BY 4.0\"\ndescription = \"Ýaşlyk hakynda hekaýalar we goşgular.\"\n",
                ),
            ),
            (
                "ukr-seed",
                UK,
                book_toml(
                    UK_TITLE,
                    &["Шевченко, Тарас"],
                    r#"["ukr", "eng"]"#,
                    "publisher = \"Дніпро\"\nplace = \"Київ\"\nyear = 1925\nsubjects = [\"Українська проза\"]\nrights = \"public domain\"\n",
                ),
            ),
            (
                "rus-seed-newsprint",
                RU,
                book_toml(
                    RU_TITLE,
                    &["Иванов Иван Иванович"],
                    r#"["rus", "eng"]"#,
                    "publisher = \"Правда\"\nyear = 1939\nsubjects = [\"Газеты\"]\nkoha_biblionumber = 4242\n",
                ),
            ),
        ];
        for (seed, id, toml) in &books {
            copy_dir(&seeds.join(seed), &scans.join(id));
            for extra in ["gt", "truth.json"] {
                let p = scans.join(id).join(extra);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).unwrap();
                } else if p.exists() {
                    std::fs::remove_file(&p).unwrap();
                }
            }
            std::fs::write(scans.join(id).join("book.toml"), toml).unwrap();
        }
        let bad = shared.join("sample-scans-bad/text-renamed.png");
        small_page(&scans.join(PARTIAL).join("0001.png"));
        std::fs::copy(&bad, scans.join(PARTIAL).join("0002.png")).unwrap();
        std::fs::write(
            scans.join(PARTIAL).join("book.toml"),
            book_toml("The Reading Room", &["A. Reader"], r#"["eng"]"#, "year = 2024\n"),
        )
        .unwrap();
        std::fs::create_dir_all(scans.join(FAILED)).unwrap();
        std::fs::copy(&bad, scans.join(FAILED).join("0001.png")).unwrap();
        Kitap::convert(&scans)
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
            .code(1);
        dir.join("out")
    })
}

/// A private copy of the converted OUT (exports write into it).
fn copy(name: &str) -> PathBuf {
    let dir = fixture_dir(name);
    let status = Command::new("cp")
        .arg("-a")
        .arg(converted())
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("out")
}

fn export(format: &str, out: &Path, extra: &[&str]) -> Run {
    Kitap::new()
        .arg("export")
        .arg(format)
        .arg(out)
        .args(extra)
        .run()
}

fn manifest(out: &Path) -> Manifest {
    Manifest::read(&out.join("manifest.json")).unwrap()
}

/// The failed book is named on stderr, and every exported book's outputs are what convert made.
fn failed_book_named(run: &Run) {
    run.stderr_contains(&format!("{FAILED}: failed, not exported"));
}

#[test]
fn the_batch_is_what_the_exports_expect() {
    let m = manifest(converted());
    let statuses: Vec<(&str, &str)> = m
        .books
        .iter()
        .map(|b| (b.id.as_str(), b.status.name()))
        .collect();
    assert_eq!(
        statuses,
        [
            (FAILED, "failed"),
            (PARTIAL, "partial"),
            (RU, "ok"),
            (TK, "ok"),
            (UK, "ok")
        ]
    );
    assert_eq!(m.books[2].metadata.koha_biblionumber, Some(4242));
    assert_eq!(m.books[3].metadata.place.as_deref(), Some("Aşgabat"));
}

// ---- saf ----

/// An item folder of a DSpace archive read back: dublin_core.xml passed through xmllint and
/// parsed into (`element.qualifier`, value) pairs, contents into (file, options) lines.
struct SafItem {
    dir: PathBuf,
    dc: Vec<(String, String)>,
    contents: Vec<(String, Vec<String>)>,
}

impl SafItem {
    fn read(dir: &Path) -> SafItem {
        let xml_path = dir.join("dublin_core.xml");
        tool_ok("xmllint", &["--noout", xml_path.to_str().unwrap()]);
        let xml = std::fs::read_to_string(&xml_path).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "dublin_core");
        assert_eq!(root.attribute("schema"), Some("dc"));
        let dc = root
            .children()
            .filter(|n| n.is_element())
            .map(|n| {
                assert_eq!(n.tag_name().name(), "dcvalue");
                let field = format!(
                    "{}.{}",
                    n.attribute("element").unwrap(),
                    n.attribute("qualifier").unwrap()
                );
                (field, n.text().unwrap_or_default().to_string())
            })
            .collect();
        let contents = std::fs::read_to_string(dir.join("contents"))
            .unwrap()
            .lines()
            .map(|line| {
                let mut parts = line.split('\t').map(str::to_string);
                (parts.next().unwrap(), parts.collect())
            })
            .collect();
        SafItem {
            dir: dir.to_path_buf(),
            dc,
            contents,
        }
    }

    /// The values of `field` (`element.qualifier`), in order.
    fn dc(&self, field: &str) -> Vec<&str> {
        self.dc
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An archive's items by the book id each one's first dc.identifier.other gives, after checking
/// that the folder holds only item folders and kitap's mark.
fn saf_items(archive: &Path) -> std::collections::BTreeMap<String, SafItem> {
    let mut items = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(archive).unwrap() {
        let e = e.unwrap();
        if !e.file_type().unwrap().is_dir() {
            assert_eq!(e.file_name(), ".kitap-saf", "a file beside the items");
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name.chars().all(|c| c.is_ascii_graphic()),
            "item folder {name:?}: DSpace's mapfile needs ASCII without spaces"
        );
        let item = SafItem::read(&e.path());
        let id = item.dc("identifier.other")[0].to_string();
        assert!(items.insert(id, item).is_none(), "two items of one book");
    }
    items
}

/// A private OUT exported once as a DSpace archive into its default folder, and the run.
fn saf_exported() -> &'static (PathBuf, Run) {
    static DONE: Shared<(PathBuf, Run)> = Shared::new();
    DONE.get(|| {
        let out = copy("export-saf");
        let run = export("saf", &out, &[]);
        (out, run)
    })
}

#[test]
fn saf_items_carry_the_books_metadata_and_their_three_files() {
    let (out, run) = saf_exported();
    run.success().stdout_contains("(4 book(s))");
    failed_book_named(run);
    let items = saf_items(&out.join("export/saf"));
    assert_eq!(
        items.keys().map(String::as_str).collect::<Vec<_>>(),
        EXPORTED
    );
    let m = manifest(out);
    for id in EXPORTED {
        let (b, item) = (book(&m, id), &items[id]);
        assert_eq!(
            item.dc("title.none"),
            [b.metadata.title.as_deref().unwrap()]
        );
        assert_eq!(item.dc("contributor.author"), b.metadata.authors);
        assert_eq!(item.dc("type.none"), ["Book"]);
        assert_eq!(
            item.dc("format.extent"),
            [format!("{} pages", b.page_count)]
        );
        let provenance = item.dc("description.provenance");
        assert_eq!(provenance.len(), 1, "{id}");
        for part in [
            format!("kitap {}", b.kitap_version.as_deref().unwrap()),
            b.converted_at.clone().unwrap(),
            format!("mean word confidence {:.1} %", b.confidence.unwrap()),
        ] {
            assert!(
                provenance[0].contains(&part),
                "{id}: {part:?} in {provenance:?}"
            );
        }
        // The PDF, EPUB and text, byte for byte what the manifest lists, in bundle ORIGINAL.
        let expected: Vec<(&str, &kitap::manifest::FileRecord)> =
            [kitap::export::PDF, kitap::export::EPUB, kitap::export::TEXT]
                .iter()
                .map(|t| {
                    let f = kitap::export::file(b, t).unwrap();
                    (f.path.rsplit('/').next().unwrap(), f)
                })
                .collect();
        let listed: Vec<&str> = item.contents.iter().map(|(f, _)| f.as_str()).collect();
        let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
        assert_eq!(listed, names, "{id}: contents");
        for ((name, f), (_, options)) in expected.iter().zip(&item.contents) {
            assert!(
                options.contains(&"bundle:ORIGINAL".to_string()),
                "{id}: {options:?}"
            );
            let (bytes, sha) = kitap::fsio::hash_file(&item.dir.join(name)).unwrap();
            assert_eq!(
                (bytes, sha.as_str()),
                (f.bytes, f.sha256.as_str()),
                "{id}: {name}"
            );
        }
        assert!(item.contents[0].1.contains(&"primary:true".to_string()));
    }

    let tk = &items[TK];
    let title = tk.dc("title.none")[0];
    assert_eq!(title, TK_TITLE);
    use unicode_normalization::UnicodeNormalization;
    assert_eq!(title.nfc().collect::<String>(), title, "NFC");
    assert_eq!(
        tk.dc("contributor.author"),
        ["Aýna Öwezowa", "Berdi Nurýagdyýew"]
    );
    assert_eq!(tk.dc("date.issued"), ["2019"]);
    assert_eq!(tk.dc("publisher.none"), ["Türkmen döwlet neşirýat gullugy"]);
    assert_eq!(tk.dc("identifier.isbn"), ["978-9943-00-000-1"]);
    assert_eq!(tk.dc("identifier.other"), [TK]);
    assert_eq!(tk.dc("language.iso"), ["tk"]);
    assert_eq!(tk.dc("subject.none"), ["Türkmen edebiýaty", "Goşgular"]);
    assert_eq!(tk.dc("rights.none"), ["CC BY 4.0"]);
    assert_eq!(
        tk.dc("description.none"),
        ["Ýaşlyk hakynda hekaýalar we goşgular."]
    );

    let uk = &items[UK];
    assert_eq!(uk.dc("title.none"), [UK_TITLE]);
    assert_eq!(uk.dc("language.iso"), ["uk", "en"]);
    assert_eq!(uk.dc("date.issued"), ["1925"]);
    assert_eq!(uk.dc("publisher.none"), ["Дніпро"]);
    assert_eq!(uk.dc("subject.none"), ["Українська проза"]);
    assert_eq!(uk.dc("rights.none"), ["public domain"]);
    let ru = &items[RU];
    assert_eq!(ru.dc("title.none"), [RU_TITLE]);
    assert_eq!(ru.dc("language.iso"), ["ru", "en"]);
    assert_eq!(ru.dc("date.issued"), ["1939"]);
    for id in [UK, RU, PARTIAL] {
        assert!(items[id].dc("identifier.isbn").is_empty(), "{id}");
    }
}

#[test]
fn saf_partial_book_says_it_is_incomplete() {
    let (out, _) = saf_exported();
    let items = saf_items(&out.join("export/saf"));
    let m = manifest(out);
    let note = kitap::export::partial_note(book(&m, PARTIAL));
    assert!(note.starts_with("Incomplete: 1 of 2 pages"), "{note}");
    let partial = &items[PARTIAL];
    assert_eq!(partial.dc("description.none"), [note.as_str()]);
    assert!(partial.dc("description.provenance")[0].contains(&note));
    for id in [TK, UK, RU] {
        let dc = &items[id].dc;
        assert!(!dc.iter().any(|(_, v)| v.contains("Incomplete")), "{id}");
    }
}

#[test]
fn saf_export_leaves_out_valid() {
    let (out, run) = saf_exported();
    run.success();
    kitap_validate_clean(out);
    no_temp_files(out);
}

#[test]
fn saf_links_replaces_and_refuses_folders_not_its_own() {
    use std::os::unix::fs::MetadataExt;
    let out = copy("export-saf-link");
    let archive = out.join("export/saf");
    let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
    let bitstreams = |items: &std::collections::BTreeMap<String, SafItem>| {
        let m = manifest(&out);
        let mut pairs = Vec::new();
        for (id, item) in items {
            for (name, _) in &item.contents {
                let f = book(&m, id)
                    .files
                    .iter()
                    .find(|f| f.path.ends_with(&format!("/{name}")))
                    .unwrap();
                pairs.push((item.dir.join(name), out.join(&f.path)));
            }
        }
        assert_eq!(pairs.len(), 3 * EXPORTED.len());
        pairs
    };

    export("saf", &out, &["--link"]).success();
    let items = saf_items(&archive);
    for (in_item, in_out) in bitstreams(&items) {
        assert_eq!(inode(&in_item), inode(&in_out), "{}", in_item.display());
    }

    // A second export replaces the first whole: what it does not write is gone.
    let stray = items[TK].dir.join("notes.txt");
    std::fs::write(&stray, "mine").unwrap();
    std::fs::create_dir(archive.join("item-of-a-dropped-book")).unwrap();
    // What killed exports leave beside the archive: a half-built one, an old one mid-swap.
    for leftover in [
        ".saf.kitap-tmp-4194999/half-item",
        ".saf.kitap-old-4194999/item",
    ] {
        std::fs::create_dir_all(out.join("export").join(leftover)).unwrap();
    }
    let tk_folder = items[TK].dir.clone();
    // Copies this time, and swapped in by the two-rename fallback (no RENAME_EXCHANGE).
    Kitap::new()
        .args(["export", "saf"])
        .arg(&out)
        .env("KITAP_NO_RENAME_EXCHANGE", "1")
        .run()
        .success();
    let items = saf_items(&archive);
    assert_eq!(
        items.keys().map(String::as_str).collect::<Vec<_>>(),
        EXPORTED
    );
    assert_eq!(
        items[TK].dir, tk_folder,
        "the item folder is the same every export"
    );
    assert!(!stray.exists() && !archive.join("item-of-a-dropped-book").exists());
    for (in_item, in_out) in bitstreams(&items) {
        assert_ne!(
            inode(&in_item),
            inode(&in_out),
            "copied: {}",
            in_item.display()
        );
    }
    let beside: Vec<String> = std::fs::read_dir(out.join("export"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["saf"], "no leftovers beside the archive");
    // And links again, swapped in by RENAME_EXCHANGE.
    export("saf", &out, &["--link"]).success();
    for (in_item, in_out) in bitstreams(&saf_items(&archive)) {
        assert_eq!(inode(&in_item), inode(&in_out), "{}", in_item.display());
    }
    assert_eq!(std::fs::read_dir(out.join("export")).unwrap().count(), 1);

    // A folder of someone's, and OUT itself, are refused and left as they are.
    let mine = fixture_dir("export-saf-mine");
    std::fs::write(mine.join("thesis.pdf"), "mine").unwrap();
    for (target, why) in [(&mine, "left as it is"), (&out, "is OUT or holds it")] {
        let before = walk(target);
        export("saf", &out, &["-o", target.to_str().unwrap()])
            .code(2)
            .stderr_contains(why);
        assert_eq!(walk(target), before);
    }
    assert_eq!(
        std::fs::read_to_string(mine.join("thesis.pdf")).unwrap(),
        "mine"
    );

    // Hard links cannot cross filesystems: the message says what to do instead.
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && std::fs::metadata(shm).unwrap().dev() != std::fs::metadata(&out).unwrap().dev()
    {
        let elsewhere = shm.join(format!("kitap-saf-{}", std::process::id()));
        export("saf", &out, &["--link", "-o", elsewhere.to_str().unwrap()])
            .code(2)
            .stderr_contains("drop --link");
        assert!(!elsewhere.exists());
        let left: Vec<_> = std::fs::read_dir(shm)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains(&format!("kitap-saf-{}", std::process::id()))
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    } else {
        eprintln!(
            "note: /dev/shm is not another filesystem here; --link across filesystems not tried"
        );
    }
    kitap_validate_clean(&out);
}
