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

// ---- marc ----

/// A data field as (tag, indicators, [(code, value)]), or a control field as (tag, "", [("", value)]).
type MarcField = (String, String, Vec<(String, String)>);

/// The records of a MARCXML collection as written: leader and fields.
fn marcxml_records(xml: &str) -> Vec<(String, Vec<MarcField>)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "collection");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.loc.gov/MARC21/slim")
    );
    root.children()
        .filter(|n| n.has_tag_name("record"))
        .map(|r| {
            let mut leader = String::new();
            let mut fields = Vec::new();
            for n in r.children().filter(|n| n.is_element()) {
                let text = || n.text().unwrap_or("").to_string();
                match n.tag_name().name() {
                    "leader" => leader = text(),
                    "controlfield" => fields.push((
                        n.attribute("tag").unwrap().to_string(),
                        String::new(),
                        vec![(String::new(), text())],
                    )),
                    "datafield" => fields.push((
                        n.attribute("tag").unwrap().to_string(),
                        format!(
                            "{}{}",
                            n.attribute("ind1").unwrap(),
                            n.attribute("ind2").unwrap()
                        ),
                        n.children()
                            .filter(|s| s.has_tag_name("subfield"))
                            .map(|s| {
                                (
                                    s.attribute("code").unwrap().to_string(),
                                    s.text().unwrap_or("").to_string(),
                                )
                            })
                            .collect(),
                    )),
                    other => panic!("unexpected <{other}>"),
                }
            }
            (leader, fields)
        })
        .collect()
}

/// The records of an ISO 2709 file as the `marc` crate reads them: (its bytes, its fields).
fn iso2709_records(bytes: &[u8]) -> Vec<(usize, Vec<MarcField>)> {
    marc::Records::new(bytes)
        .map(|r| {
            let r = r.unwrap();
            let fields = r
                .fields()
                .map(|f| {
                    let tag = f.get_tag().as_str().to_string();
                    if tag.starts_with("00") {
                        let value = f.get_data::<str>().to_string();
                        (tag, String::new(), vec![(String::new(), value)])
                    } else {
                        let ind = f.get_indicator();
                        let subfields = f
                            .subfields()
                            .map(|s| {
                                (
                                    s.get_identifier().as_char().to_string(),
                                    s.get_data::<str>().to_string(),
                                )
                            })
                            .collect();
                        (tag, format!("{}{}", ind.first(), ind.second()), subfields)
                    }
                })
                .collect();
            (r.as_ref().len(), fields)
        })
        .collect()
}

fn subfield<'a>(fields: &'a [MarcField], tag: &str, code: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|f| f.0 == tag)
        .flat_map(|f| f.2.iter().filter(|s| s.0 == code).map(|s| s.1.as_str()))
        .collect()
}

#[test]
fn marc_records_survive_yaz_and_a_marc_parser_field_for_field() {
    let out = copy("export-marc");
    let run = export(
        "marc",
        &out,
        &[
            "--base-url",
            BASE,
            "--org-code",
            "KzAlNL",
            "--koha-item-type",
            "EBOOK",
        ],
    );
    run.success();
    failed_book_named(&run);
    let xml_path = out.join("export/marc.xml");
    run.stdout_contains(&format!("{} (4 book(s))", xml_path.display()));
    tool_ok("xmllint", &["--noout", xml_path.to_str().unwrap()]);
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let written = marcxml_records(&xml);

    // yaz reads the XML and writes ISO 2709 without a word on stderr.
    let iso = out.join("marc.mrc");
    let yaz = Command::new("yaz-marcdump")
        .args(["-i", "marcxml", "-o", "marc"])
        .arg(&xml_path)
        .output()
        .expect("yaz-marcdump runs (apt-get install yaz)");
    assert!(
        yaz.status.success() && yaz.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&yaz.stderr)
    );
    std::fs::write(&iso, &yaz.stdout).unwrap();
    let read = iso2709_records(&yaz.stdout);
    assert_eq!(read.len(), EXPORTED.len());
    assert_eq!(written.len(), EXPORTED.len());
    for ((leader, fields), (len, parsed)) in written.iter().zip(&read) {
        // Every field comes back as written, and the leader's length is the real one.
        assert_eq!(fields, parsed);
        assert_eq!(leader.len(), 24);
        assert_eq!(leader[..5].parse::<usize>().unwrap(), *len, "{leader}");
        assert!(*len < 99_999);
        assert_eq!(&leader[6..8], "am");
    }
    // yaz's own reading of the binary names every record.
    let dump = tool_ok("yaz-marcdump", &[iso.to_str().unwrap()]);
    for id in EXPORTED {
        assert!(dump.contains(&format!("001 {id}")), "{dump}");
    }

    let by_id = |id: &str| {
        &written
            .iter()
            .find(|(_, f)| subfield(f, "001", "") == [id])
            .unwrap_or_else(|| panic!("no record {id}"))
            .1
    };
    let base = kitap::export::BaseUrl::parse(BASE).unwrap();
    let m = manifest(&out);
    for id in EXPORTED {
        let f = by_id(id);
        let b = book(&m, id);
        assert_eq!(subfield(f, "003", ""), ["KzAlNL"]);
        assert_eq!(subfield(f, "942", "c"), ["EBOOK"]);
        assert_eq!(
            subfield(f, "300", "a"),
            [format!("1 online resource ({} pages)", b.page_count).as_str()]
        );
        let f008 = subfield(f, "008", "")[0];
        assert_eq!(f008.chars().count(), 40);
        assert_eq!(&f008[23..24], "o");
        // Each 856 is a file of the book, at its percent-encoded URL, with its size.
        let urls = subfield(f, "856", "u");
        let want: Vec<String> = b
            .files
            .iter()
            .filter(|x| x.media_type == "application/pdf" || x.media_type == "application/epub+zip")
            .map(|x| base.of(&x.path))
            .collect();
        assert_eq!(urls, want);
        let sizes: Vec<String> = b
            .files
            .iter()
            .filter(|x| x.media_type == "application/pdf" || x.media_type == "application/epub+zip")
            .map(|x| x.bytes.to_string())
            .collect();
        assert_eq!(subfield(f, "856", "s"), sizes);
        assert_eq!(subfield(f, "856", "y"), ["PDF", "EPUB"]);
        let note = subfield(f, "500", "a")[0];
        assert!(
            note.contains(&format!("{:.1} %", b.confidence.unwrap())),
            "{note}"
        );
    }
    // The Turkmen book: every field a cataloguer would check, Unicode intact.
    let tk = by_id(TK);
    assert_eq!(subfield(tk, "245", "a"), [format!("{TK_TITLE} /").as_str()]);
    assert_eq!(
        subfield(tk, "245", "c"),
        ["Aýna Öwezowa, Berdi Nurýagdyýew."]
    );
    assert_eq!(subfield(tk, "100", "a"), ["Aýna Öwezowa,"]);
    assert_eq!(subfield(tk, "700", "a"), ["Berdi Nurýagdyýew,"]);
    assert_eq!(subfield(tk, "020", "a"), ["9789943000001"]);
    assert_eq!(subfield(tk, "264", "a"), ["Aşgabat :"]);
    assert_eq!(
        subfield(tk, "264", "b"),
        ["Türkmen döwlet neşirýat gullugy,"]
    );
    assert_eq!(subfield(tk, "264", "c"), ["2019."]);
    assert_eq!(
        subfield(tk, "650", "a"),
        ["Türkmen edebiýaty.", "Goşgular."]
    );
    assert_eq!(subfield(tk, "540", "a"), ["CC BY 4.0."]);
    assert!(subfield(tk, "008", "")[0].ends_with("tuk d"));
    assert!(subfield(tk, "041", "a").is_empty(), "one language, no 041");
    assert_eq!(subfield(tk, "999", "c"), Vec::<&str>::new());
    assert_eq!(
        subfield(tk, "856", "u")[0],
        "https://elib.example.kz/books/tk-%C3%BDa%C5%9Flyk/tk-%C3%BDa%C5%9Flyk.pdf"
    );
    // The Ukrainian book: inverted name, two languages, a Cyrillic id with a space.
    let uk = by_id(UK);
    let name = tk
        .iter()
        .chain(uk)
        .find(|f| f.0 == "100" && f.2[0].1.starts_with("Шевченко"))
        .unwrap();
    assert_eq!(name.1, "1 ");
    assert_eq!(subfield(uk, "041", "a"), ["ukr", "eng"]);
    assert!(
        subfield(uk, "856", "u")[0]
            .starts_with("https://elib.example.kz/books/%D1%83%D0%BA%D1%80%20")
    );
    // The Russian book is in Koha already: 999 $c makes the staged import overlay it.
    let ru = by_id(RU);
    assert_eq!(subfield(ru, "999", "c"), ["4242"]);
    assert_eq!(
        &written
            .iter()
            .find(|(_, f)| subfield(f, "001", "") == [RU])
            .unwrap()
            .0[5..6],
        "c"
    );
    assert_eq!(
        subfield(ru, "264", "a"),
        ["[Place of publication not identified] :"]
    );
    // The partial book says what it lacks.
    let partial = subfield(by_id(PARTIAL), "500", "a")[0];
    assert!(partial.contains("Incomplete: 1 of 2 pages"), "{partial}");
    assert_eq!(
        by_id(PARTIAL).iter().find(|f| f.0 == "245").unwrap().1,
        "14",
        "“The ” is not filed"
    );
    kitap_validate_clean(&out);
}

#[test]
fn marc_refuses_a_bad_base_url_and_writes_where_told() {
    let out = copy("export-marc-usage");
    export("marc", &out, &["--base-url", "elib.example.kz/books"])
        .code(2)
        .stderr_contains("must be an absolute http:// or https:// URL");
    let file = out.parent().unwrap().join("koha.xml");
    let run = export(
        "marc",
        &out,
        &["--base-url", BASE, "-o", file.to_str().unwrap()],
    );
    run.success();
    let records = marcxml_records(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(records.len(), 4);
    // Without --org-code: no 003, no 040, no agency in 533.
    assert!(subfield(&records[0].1, "003", "").is_empty());
    assert!(subfield(&records[0].1, "040", "a").is_empty());
    assert!(subfield(&records[0].1, "533", "c").is_empty());
    assert!(!out.join("export").exists());
    // --reviewed-only leaves out books that need review and are not approved.
    let m = manifest(&out);
    let waiting: Vec<&str> = m
        .books
        .iter()
        .filter(|b| b.status.name() != "failed" && b.needs_review && b.approved.is_none())
        .map(|b| b.id.as_str())
        .collect();
    assert!(!waiting.is_empty(), "the partial book needs review");
    let run = export(
        "marc",
        &out,
        &[
            "--base-url",
            BASE,
            "--reviewed-only",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    run.success();
    for id in &waiting {
        run.stderr_contains(&format!(
            "{id}: needs review and is not approved, not exported"
        ));
    }
    assert_eq!(
        marcxml_records(&std::fs::read_to_string(&file).unwrap()).len(),
        4 - waiting.len()
    );
}
