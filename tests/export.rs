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
                    "publisher = \"Дніпро\"\nplace = \"Київ\"\nyear = \"[1925?]\"\nseries = \"Бібліотека українського письменства\"\nvolume = 3\nsubjects = [\"Українська проза\"]\nrights = \"public domain\"\n",
                ),
            ),
            (
                "rus-seed-newsprint",
                RU,
                book_toml(
                    RU_TITLE,
                    &["Иванов Иван Иванович"],
                    r#"["rus", "eng"]"#,
                    "publisher = \"Правда\"\nissue = 45\nissued = 1939-05-06\nsubjects = [\"Газеты\"]\nkoha_biblionumber = 4242\n",
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
    copy_out(converted(), name)
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
    let Some(_) = shared() else { return };
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
    // book.toml's description reaches the EPUB as dc:description, and epubcheck is content.
    let epub = converted().join(TK).join(format!("{TK}.epub"));
    epubcheck(&epub);
    let opf = tool_ok(
        "unzip",
        &["-p", epub.to_str().unwrap(), "OEBPS/content.opf"],
    );
    assert!(
        opf.contains("<dc:description>Ýaşlyk hakynda hekaýalar we goşgular.</dc:description>"),
        "{opf}"
    );
    // An uncertain year stays as written in the manifest, with a year to sort by; the EPUB
    // dates the book by that year and names its series; epubcheck is content.
    let uk = book(&m, UK);
    let json = serde_json::to_value(&uk.metadata).unwrap();
    assert_eq!(
        (&json["year"], &json["year_sort"]),
        (&"[1925?]".into(), &1925.into())
    );
    assert_eq!(json["volume"], "3");
    let epub = converted().join(UK).join(format!("{UK}.epub"));
    epubcheck(&epub);
    let opf = tool_ok(
        "unzip",
        &["-p", epub.to_str().unwrap(), "OEBPS/content.opf"],
    );
    for want in [
        "<dc:date>1925</dc:date>",
        "<meta property=\"belongs-to-collection\" id=\"series\">Бібліотека українського письменства</meta>",
        "<meta refines=\"#series\" property=\"collection-type\">series</meta>",
        "<meta refines=\"#series\" property=\"group-position\">3</meta>",
    ] {
        assert!(opf.contains(want), "{want}\n{opf}");
    }
    // A newspaper issue: its number and date in the manifest, the date in the EPUB.
    let ru = book(&m, RU);
    assert_eq!(ru.metadata.issue.as_deref(), Some("45"));
    assert_eq!(ru.metadata.issued.unwrap().to_string(), "1939-05-06");
    assert_eq!(ru.metadata.year_sort, Some(1939));
    let epub = converted().join(RU).join(format!("{RU}.epub"));
    epubcheck(&epub);
    let opf = tool_ok(
        "unzip",
        &["-p", epub.to_str().unwrap(), "OEBPS/content.opf"],
    );
    assert!(opf.contains("<dc:date>1939-05-06</dc:date>"), "{opf}");
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
    let Some(_) = shared() else { return };
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
    // An uncertain year as the cataloguer wrote it; 008 takes the year; the series in 490.
    assert_eq!(subfield(uk, "264", "c"), ["[1925?]"]);
    assert_eq!(&subfield(uk, "008", "")[0][6..15], "s1925    ");
    assert_eq!(
        subfield(uk, "490", "a"),
        ["Бібліотека українського письменства ;"]
    );
    assert_eq!(subfield(uk, "490", "v"), ["3"]);
    assert_eq!(by_id(UK).iter().find(|f| f.0 == "490").unwrap().1, "0 ");
    assert!(
        subfield(uk, "856", "u")[0]
            .starts_with("https://elib.example.kz/books/%D1%83%D0%BA%D1%80%20")
    );
    // The Russian book is in Koha already: 999 $c makes the staged import overlay it.
    let ru = by_id(RU);
    assert_eq!(subfield(ru, "999", "c"), ["4242"]);
    // A newspaper's issue: its number in 245 $n, its date in 264 $c and 008.
    assert_eq!(subfield(ru, "245", "a"), [format!("{RU_TITLE}.").as_str()]);
    assert_eq!(subfield(ru, "245", "n"), ["№ 45 /"]);
    assert_eq!(subfield(ru, "264", "c"), ["1939-05-06."]);
    assert_eq!(&subfield(ru, "008", "")[0][6..15], "s1939    ");
    assert!(subfield(ru, "490", "a").is_empty());
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
    let Some(_) = shared() else { return };
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

// ---- opds ----

/// Every feed and entry document of the catalog as python3-feedparser (what e-reader catalog
/// clients are built on) reads it: file name → {bozo, feed, entries}.
fn feedparser(dir: &Path) -> serde_json::Value {
    const SCRIPT: &str = r#"
import feedparser, json, os, sys
out = {}
root = sys.argv[1]
for folder, _, names in os.walk(root):
    for name in names:
        if not name.endswith('.xml'):
            continue
        path = os.path.join(folder, name)
        d = feedparser.parse(path)
        def links(x):
            return [dict(l) for l in x.get('links', [])]
        out[os.path.relpath(path, root)] = {
            'bozo': bool(d.bozo), 'error': str(d.get('bozo_exception', '')),
            'feed': {'id': d.feed.get('id'), 'title': d.feed.get('title'), 'links': links(d.feed)},
            'entries': [{
                'id': e.get('id'), 'title': e.get('title'),
                'authors': [a.get('name') for a in e.get('authors', [])],
                'languages': e.get('dcterms_language'), 'identifier': e.get('dcterms_identifier'),
                'issued': e.get('published'), 'publisher': e.get('dcterms_publisher'),
                'summary': e.get('summary'), 'tags': [t.term for t in e.get('tags', [])],
                'links': links(e),
            } for e in d.entries],
        }
print(json.dumps(out))
"#;
    let run = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "feedparser (apt-get install python3-feedparser): {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// The mean red, green and blue of an image, as PIL decodes it.
fn mean_rgb(path: &Path) -> Vec<f64> {
    let run = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import sys; from PIL import Image, ImageStat; print(*ImageStat.Stat(Image.open(sys.argv[1]).convert('RGB')).mean)",
        ])
        .arg(path)
        .output()
        .expect("python3 with PIL");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// The file in OUT a link under BASE names.
fn linked_file(out: &Path, href: &str) -> PathBuf {
    let rel = href
        .strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{href} is not under {BASE}"));
    let bytes = rel.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            decoded.push(u8::from_str_radix(&rel[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    out.join(String::from_utf8(decoded).unwrap())
}

fn links_of<'a>(links: &'a serde_json::Value, rel: &str) -> Vec<&'a serde_json::Value> {
    links
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == rel)
        .collect()
}

#[test]
fn opds_feeds_read_in_feedparser_with_every_entry_link_and_facet() {
    let Some(_) = shared() else { return };
    use unicode_normalization::UnicodeNormalization;
    let out = copy("export-opds");
    let run = export("opds", &out, &["--base-url", BASE, "--per-page", "2"]);
    run.success();
    failed_book_named(&run);
    let dir = out.join("export/opds");
    let mut xml_files = Vec::new();
    for p in walk(&dir) {
        if p.extension().is_some_and(|e| e == "xml") {
            xml_files.push(p);
        }
    }
    // root, all ×2, en ×2 (three books), ru, tk, uk, four entries.
    assert_eq!(xml_files.len(), 12, "{xml_files:?}");
    for f in &xml_files {
        tool_ok("xmllint", &["--noout", f.to_str().unwrap()]);
    }
    let feeds = feedparser(&dir);
    let feeds = feeds.as_object().unwrap();
    assert_eq!(feeds.len(), 12);
    for (name, f) in feeds {
        assert_eq!(f["bozo"], false, "{name}: {}", f["error"]);
        // Every link of every feed and entry is a file in OUT.
        let all_links = f["feed"]["links"].as_array().unwrap().iter().chain(
            f["entries"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e["links"].as_array().unwrap()),
        );
        for l in all_links {
            let href = l["href"].as_str().unwrap();
            assert!(
                linked_file(&out, href).is_file(),
                "{name}: {href} is no file in OUT"
            );
        }
    }

    // The root navigates to all books and to each language.
    let root = &feeds["root.xml"];
    let subsections: Vec<(&str, &str)> = root["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let l = links_of(&e["links"], "subsection")[0];
            assert_eq!(
                l["type"],
                "application/atom+xml;profile=opds-catalog;kind=acquisition"
            );
            (
                e["title"].as_str().unwrap(),
                l["href"].as_str().unwrap().rsplit('/').next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        subsections,
        [
            ("All books", "all.xml"),
            ("Books in English", "lang-en.xml"),
            ("Books in Russian", "lang-ru.xml"),
            ("Books in Turkmen", "lang-tk.xml"),
            ("Books in Ukrainian", "lang-uk.xml")
        ]
    );

    // Two pages of two, chained both ways; together every exported book once.
    let page1 = &feeds["all.xml"];
    let page2 = &feeds["all-2.xml"];
    assert!(
        links_of(&page1["feed"]["links"], "next")[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/all-2.xml")
    );
    assert!(
        links_of(&page2["feed"]["links"], "previous")[0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/all.xml")
    );
    assert!(links_of(&page2["feed"]["links"], "next").is_empty());
    let entries: Vec<&serde_json::Value> = page1["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["entries"].as_array().unwrap())
        .collect();
    assert_eq!(entries.len(), 4);
    let m = manifest(&out);
    for id in EXPORTED {
        let b = book(&m, id);
        let uuid = format!("urn:uuid:{}", kitap::epub::book_uuid(id));
        let e = entries
            .iter()
            .find(|e| e["id"] == uuid.as_str())
            .unwrap_or_else(|| panic!("no entry {uuid} for {id}"));
        let title = e["title"].as_str().unwrap();
        assert_eq!(title, b.metadata.title.as_deref().unwrap());
        assert_eq!(title, title.nfc().collect::<String>());
        let authors: Vec<&str> = e["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(authors, b.metadata.authors);
        // feedparser keeps one dc:language; the document has each, in order.
        let tags: Vec<&str> = b.languages.iter().map(|l| l.tag.as_str()).collect();
        assert!(tags.contains(&e["languages"].as_str().unwrap()), "{id}");
        let xml = std::fs::read_to_string(dir.join("entries").join(format!("{id}.xml"))).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let written: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name(("http://purl.org/dc/terms/", "language")))
            .map(|n| n.text().unwrap())
            .collect();
        assert_eq!(written, tags, "{id}");
        let issued = match id {
            RU => "1939-05-06",
            UK => "1925",
            TK => "2019",
            _ => "2024",
        };
        assert_eq!(e["issued"], issued, "{id}");
        let tags: Vec<&str> = e["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(tags, b.metadata.subjects);
        let acquisitions = links_of(&e["links"], "http://opds-spec.org/acquisition/open-access");
        let got: Vec<(&str, PathBuf)> = acquisitions
            .iter()
            .map(|l| {
                (
                    l["type"].as_str().unwrap(),
                    linked_file(&out, l["href"].as_str().unwrap()),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "application/epub+zip",
                    out.join(id).join(format!("{id}.epub"))
                ),
                ("application/pdf", out.join(id).join(format!("{id}.pdf")))
            ]
        );
        for (rel, max) in [
            ("http://opds-spec.org/image", (600, 800)),
            ("http://opds-spec.org/image/thumbnail", (150, 200)),
        ] {
            let l = links_of(&e["links"], rel);
            assert_eq!(l.len(), 1, "{id}: {rel}");
            assert_eq!(l[0]["type"], "image/jpeg");
            let img = image::open(linked_file(&out, l[0]["href"].as_str().unwrap())).unwrap();
            assert!(
                img.width() <= max.0 && img.height() <= max.1 && img.width() > 50,
                "{id}: {rel} {}×{}",
                img.width(),
                img.height()
            );
        }
        // The complete entry of the book says the same.
        let alone = &feeds[&format!("entries/{id}.xml")];
        assert_eq!(alone["entries"][0]["id"], uuid.as_str());
        assert_eq!(
            alone["entries"][0]["links"],
            e["links"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    if l["rel"] == "alternate" {
                        l["rel"] = "self".into();
                    }
                    l
                })
                .collect::<serde_json::Value>()
        );
    }
    let tk = entries.iter().find(|e| e["title"] == TK_TITLE).unwrap();
    assert_eq!(tk["identifier"], "urn:isbn:9789943000001");
    assert_eq!(tk["publisher"], "Türkmen döwlet neşirýat gullugy");
    assert_eq!(tk["summary"], "Ýaşlyk hakynda hekaýalar we goşgular.");
    let partial = entries
        .iter()
        .find(|e| e["title"] == "The Reading Room")
        .unwrap();
    assert!(
        partial["summary"]
            .as_str()
            .unwrap()
            .contains("Incomplete: 1 of 2 pages")
    );

    // Language facets on every acquisition page, the page's own active.
    for (name, active, count) in [
        ("all.xml", "All languages", 4),
        ("lang-en.xml", "English", 3),
        ("lang-en-2.xml", "English", 3),
        ("lang-uk.xml", "Ukrainian", 1),
    ] {
        let facets = links_of(&feeds[name]["feed"]["links"], "http://opds-spec.org/facet");
        assert_eq!(facets.len(), 5, "{name}");
        assert!(
            facets.iter().all(|f| f["opds:facetgroup"] == "Language"),
            "{name}"
        );
        let on: Vec<_> = facets
            .iter()
            .filter(|f| f["opds:activefacet"] == "true")
            .collect();
        assert_eq!(on.len(), 1, "{name}");
        assert_eq!(on[0]["title"], active);
        assert_eq!(on[0]["thr:count"], count.to_string().as_str(), "{name}");
    }
    // Covers keep their colours: the Ukrainian page is a beige colour scan (decoded by PIL).
    let epub_cover = out.join("uk-cover.jpg");
    let epub = out.join(UK).join(format!("{UK}.epub"));
    std::fs::write(
        &epub_cover,
        Command::new("unzip")
            .arg("-p")
            .arg(&epub)
            .arg("OEBPS/images/cover.jpg")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (want, got) = (
        mean_rgb(&epub_cover),
        mean_rgb(&dir.join("covers").join(format!("{UK}.jpg"))),
    );
    assert!(want[0] > 150.0 && want[1] > 150.0, "{want:?}");
    for c in 0..3 {
        assert!(
            (want[c] - got[c]).abs() < 8.0,
            "EPUB cover {want:?}, OPDS cover {got:?}"
        );
    }
    let uk_feed: Vec<&str> = feeds["lang-uk.xml"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(uk_feed, [UK_TITLE]);
    kitap_validate_clean(&out);

    // Exported again, one page: the second pages are gone.
    export("opds", &out, &["--base-url", BASE]).success();
    assert!(!dir.join("all-2.xml").exists());
    assert_eq!(
        feedparser(&dir)["all.xml"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn opds_stays_inside_out_and_never_replaces_a_folder_it_did_not_write() {
    let Some(_) = shared() else { return };
    let out = copy("export-opds-usage");
    let outside = out.parent().unwrap().join("catalog");
    export(
        "opds",
        &out,
        &["--base-url", BASE, "-o", outside.to_str().unwrap()],
    )
    .code(2)
    .stderr_contains("the catalog must be a folder inside OUT");
    let mine = out.join("site");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("index.html"), "mine").unwrap();
    export(
        "opds",
        &out,
        &["--base-url", BASE, "-o", mine.to_str().unwrap()],
    )
    .code(2)
    .stderr_contains("was not written by this kitap export");
    assert_eq!(
        std::fs::read_to_string(mine.join("index.html")).unwrap(),
        "mine"
    );
    let run = export(
        "opds",
        &out,
        &[
            "--base-url",
            BASE,
            "-o",
            out.join("site/opds").to_str().unwrap(),
        ],
    );
    run.success();
    let root = std::fs::read_to_string(out.join("site/opds/root.xml")).unwrap();
    assert!(
        root.contains("href=\"https://elib.example.kz/books/site/opds/all.xml\""),
        "{root}"
    );
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
    let Some(_) = shared() else { return };
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
    assert_eq!(
        uk.dc("relation.ispartofseries"),
        ["Бібліотека українського письменства; 3"]
    );
    assert_eq!(uk.dc("publisher.none"), ["Дніпро"]);
    assert_eq!(uk.dc("subject.none"), ["Українська проза"]);
    assert_eq!(uk.dc("rights.none"), ["public domain"]);
    let ru = &items[RU];
    assert_eq!(ru.dc("title.none"), [RU_TITLE]);
    assert_eq!(ru.dc("language.iso"), ["ru", "en"]);
    assert_eq!(ru.dc("date.issued"), ["1939-05-06"]);
    for id in [UK, RU, PARTIAL] {
        assert!(items[id].dc("identifier.isbn").is_empty(), "{id}");
    }
}

#[test]
fn saf_partial_book_says_it_is_incomplete() {
    let Some(_) = shared() else { return };
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
    let Some(_) = shared() else { return };
    let (out, run) = saf_exported();
    run.success();
    kitap_validate_clean(out);
    no_temp_files(out);
}

#[test]
fn saf_links_replaces_and_refuses_folders_not_its_own() {
    let Some(_) = shared() else { return };
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

// ---- what every export refuses ----

#[test]
fn no_export_writes_over_what_out_is_made_of() {
    let Some(_) = shared() else { return };
    let out = copy("export-guards");
    let manifest_before = std::fs::read(out.join("manifest.json")).unwrap();
    let pdf = out.join(RU).join(format!("{RU}.pdf"));
    let pdf_before = std::fs::read(&pdf).unwrap();
    let sneaky = format!("{}/./nowhere/../{RU}/x", out.display());
    let cases: [(&str, PathBuf, &str); 6] = [
        (
            "marc",
            out.join("manifest.json"),
            "would write over OUT/manifest.json",
        ),
        (
            "marc",
            pdf.clone(),
            &format!("is in the folder of book '{RU}'"),
        ),
        (
            "marc",
            out.join(".kitap/lock"),
            "would write over OUT/.kitap",
        ),
        ("marc", out.clone(), "is OUT or holds it"),
        (
            "saf",
            PathBuf::from(&sneaky),
            &format!("is in the folder of book '{RU}'"),
        ),
        (
            "opds",
            out.join(".kitap/staging"),
            "would write over OUT/.kitap",
        ),
    ];
    for (format, target, message) in &cases {
        let mut args = vec!["-o", target.to_str().unwrap()];
        if *format != "saf" {
            args.extend(["--base-url", BASE]);
        }
        export(format, &out, &args).code(2).stderr_contains(message);
    }
    assert_eq!(
        std::fs::read(out.join("manifest.json")).unwrap(),
        manifest_before
    );
    assert_eq!(std::fs::read(&pdf).unwrap(), pdf_before);
    assert!(!out.join(RU).join("x").exists());
    // A base URL with credentials would print them in every record and on every poster.
    export(
        "marc",
        &out,
        &["--base-url", "https://user:secret@elib.example.kz/"],
    )
    .code(2)
    .stderr_contains("must not carry a user name or password");
    kitap_validate_clean(&out);
}

#[test]
fn an_entry_without_authors_names_its_source() {
    let Some(_) = shared() else { return };
    let out = copy("export-opds-anonymous");
    edit_manifest(&out, |m| {
        for b in m["books"].as_array_mut().unwrap() {
            b["metadata"]["authors"] = serde_json::json!([]);
        }
    });
    export(
        "opds",
        &out,
        &["--base-url", BASE, "--title", "Dala kitaphanasy"],
    )
    .success();
    let xml =
        std::fs::read_to_string(out.join("export/opds/entries").join(format!("{TK}.xml"))).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let atom = "http://www.w3.org/2005/Atom";
    let entry = doc.root_element();
    assert!(!entry.children().any(|n| n.has_tag_name((atom, "author"))));
    let source = entry
        .children()
        .find(|n| n.has_tag_name((atom, "source")))
        .expect("atom:source");
    let name = source
        .descendants()
        .find(|n| n.has_tag_name((atom, "name")))
        .and_then(|n| n.text());
    assert_eq!(name, Some("Dala kitaphanasy"));
    export("opds", &out, &["--base-url", BASE, "--title", " "])
        .code(2)
        .stderr_contains("--title: the catalog needs a title");
}

// ---- shelf ----

/// The URLs the exported books' files of a media type are served at, sorted.
fn served_urls(out: &Path, media_type: &str) -> Vec<String> {
    let base = kitap::export::BaseUrl::parse(BASE).unwrap();
    let m = manifest(out);
    let mut urls: Vec<String> = EXPORTED
        .iter()
        .map(|id| base.of(&kitap::export::file(book(&m, id), media_type).unwrap().path))
        .collect();
    urls.sort();
    urls
}

/// What zbarimg reads in an image, one code a line; it must find at least one.
fn zbar(png: &Path) -> Vec<String> {
    let o = tool("zbarimg", &["--raw", "-q", png.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "zbarimg found no code in {}",
        png.display()
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Every QR code on the shelf read as a phone would: the pages rendered at 150 dpi, each
/// decoded with zbarimg; sorted.
fn decode_shelf(pdf: &Path) -> Vec<String> {
    let dir = pdf.with_extension("pages");
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("page");
    tool_ok(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    let mut urls: Vec<String> = pages.iter().flat_map(|p| zbar(p)).collect();
    urls.sort();
    urls
}

fn shelf_pdf(out: &Path) -> PathBuf {
    out.join("export").join("shelf.pdf")
}

/// A reader's phone opens each book from the printed shelf: the codes on the rendered pages
/// decode to the exported books' EPUBs (not the failed one's), and so do the PNGs beside the
/// books' files; the SVGs are well-formed; `kitap validate` says what it said before, the QR
/// files being kitap's.
#[test]
fn shelf_codes_open_each_books_epub() {
    let Some(_) = shared() else { return };
    let out = copy("export-shelf");
    let validate = || {
        let run = Kitap::new().arg("validate").arg(&out).run();
        (run.exit, run.stdout, run.stderr)
    };
    let before = validate();
    let run = export("shelf", &out, &["--base-url", BASE]);
    run.success().stdout_contains("shelf.pdf (4 book(s))");
    failed_book_named(&run);
    let epubs = served_urls(&out, kitap::export::EPUB);
    assert_eq!(decode_shelf(&shelf_pdf(&out)), epubs);
    let base = kitap::export::BaseUrl::parse(BASE).unwrap();
    for id in EXPORTED {
        let dir = out.join(id);
        let epub = base.of(&format!("{id}/{id}.epub"));
        assert!(epubs.contains(&epub), "{epub}");
        assert_eq!(zbar(&dir.join(format!("{id}.qr.png"))), [epub]);
        let svg = dir.join(format!("{id}.qr.svg"));
        tool_ok("xmllint", &["--noout", svg.to_str().unwrap()]);
    }
    assert!(!out.join(FAILED).join(format!("{FAILED}.qr.png")).exists());
    assert_eq!(validate(), before);
}

/// `--qr-target pdf` links the PDFs; `--grid` sets the books a page; the file passes qpdf, its
/// fonts are embedded subsets with Unicode maps, and its text gives the titles back.
#[test]
fn shelf_links_pdfs_on_any_grid_with_embedded_fonts() {
    let Some(_) = shared() else { return };
    let out = copy("export-shelf-pdf");
    let heading = "Wirtual tekje · Виртуальная полка";
    let args = ["--base-url", BASE, "--qr-target", "pdf", "--title", heading];
    export("shelf", &out, &args).success();
    let pdf = shelf_pdf(&out);
    assert_eq!(decode_shelf(&pdf), served_urls(&out, kitap::export::PDF));
    qpdf_check(&pdf);
    assert_eq!(pdf_pages(&pdf), 1);

    let fonts = tool_ok("pdffonts", &[pdf.to_str().unwrap()]);
    let mut names = Vec::new();
    for row in fonts.lines().skip(2) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert!(row.contains("CID TrueType"), "{row}");
        assert_eq!(
            (cols[n - 5], cols[n - 4], cols[n - 3]),
            ("yes", "yes", "yes"),
            "emb/sub/uni in: {row}"
        );
        // A subset's name is a six-letter tag and a plus before the font's own.
        names.push(cols[0].split_once('+').unwrap().1);
    }
    names.sort();
    assert_eq!(names, ["DejaVuSans", "DejaVuSans-Bold"], "{fonts}");

    let text = pdftotext(&pdf);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for title in [
        heading,
        TK_TITLE,
        UK_TITLE,
        RU_TITLE,
        "Aýna Öwezowa; Berdi Nurýagdyýew",
    ] {
        assert!(text.contains(title), "{title:?} not in:\n{text}");
    }

    for (grid, pages) in [("2x2", 1), ("1x1", 4), ("3x1", 2)] {
        let file = out.join("export").join(format!("{grid}.pdf"));
        let args = [
            "--base-url",
            BASE,
            "--grid",
            grid,
            "-o",
            file.to_str().unwrap(),
        ];
        export("shelf", &out, &args).success();
        assert_eq!(pdf_pages(&file), pages, "--grid {grid}");
        qpdf_check(&file);
    }
}

/// `--qr-target opds` leads to each book's entry in the OPDS export, so it waits for that
/// export rather than printing codes to nothing; bad options are usage errors.
#[test]
fn shelf_opds_codes_need_the_opds_export_and_options_are_checked() {
    let Some(_) = shared() else { return };
    let out = copy("export-shelf-opds");
    let run = export("shelf", &out, &["--base-url", BASE, "--qr-target", "opds"]);
    run.code(1);
    for id in EXPORTED {
        run.stderr_contains(&format!(
            "{id}: export/opds/entries/{id}.xml is missing, not on the shelf; run kitap export opds first"
        ));
        assert!(!out.join(id).join(format!("{id}.qr.png")).exists(), "{id}");
    }

    // The entries as the OPDS export leaves them: one Atom entry a book.
    let entries = out.join("export").join("opds").join("entries");
    std::fs::create_dir_all(&entries).unwrap();
    for id in EXPORTED {
        std::fs::write(
            entries.join(format!("{id}.xml")),
            "<entry xmlns=\"http://www.w3.org/2005/Atom\"/>\n",
        )
        .unwrap();
    }
    export("shelf", &out, &["--base-url", BASE, "--qr-target", "opds"]).success();
    let base = kitap::export::BaseUrl::parse(BASE).unwrap();
    for id in EXPORTED {
        let png = out.join(id).join(format!("{id}.qr.png"));
        assert_eq!(
            zbar(&png),
            [base.of(&format!("export/opds/entries/{id}.xml"))]
        );
    }

    for grid in ["7x1", "5x4", "4x6", "0x3", "3by4", "3x", "3x4x1"] {
        export("shelf", &out, &["--base-url", BASE, "--grid", grid])
            .code(2)
            .stderr_contains(&format!("--grid {grid:?}"));
    }
    export(
        "shelf",
        &out,
        &["--base-url", BASE, "--font", "/nonexistent/font.ttf"],
    )
    .code(2)
    .stderr_contains("/nonexistent/font.ttf");
    export("shelf", &out, &["--base-url", BASE, "--qr-target", "html"]).code(2);
}

/// A font without Cyrillic (DejaVu Math TeX Gyre, fonts-dejavu-extra) still gives a shelf of
/// every book, and names each book and the first letter it cannot print.
#[test]
fn shelf_names_the_letters_a_font_lacks() {
    let Some(_) = shared() else { return };
    let font = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf");
    let data = std::fs::read(font).expect("fonts-dejavu-extra (scripts/install-deps.sh)");
    let face = ttf_parser::Face::parse(&data, 0).unwrap();
    let lacks = |text: &str| {
        text.chars()
            .find(|&c| !c.is_whitespace() && face.glyph_index(c).is_none())
    };
    assert!(lacks(RU_TITLE).is_some() && lacks(UK_TITLE).is_some());

    let out = copy("export-shelf-font");
    let run = export(
        "shelf",
        &out,
        &["--base-url", BASE, "--font", font.to_str().unwrap()],
    );
    run.code(1).stdout_contains("shelf.pdf (4 book(s))");
    for (id, title) in [(RU, RU_TITLE), (TK, TK_TITLE), (UK, UK_TITLE)] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("kitap: {id}: the font has no glyph for ")));
        match lacks(title) {
            Some(c) => {
                let expected = format!(
                    "kitap: {id}: the font has no glyph for '{c}' (U+{:04X}) in its title",
                    c as u32
                );
                assert!(
                    line.is_some_and(|l| l.starts_with(&expected) && l.ends_with("; use --font")),
                    "{expected}\n{}",
                    run.stderr
                );
            }
            None => assert!(
                !line.is_some_and(|l| l.contains("in its title")),
                "{line:?}"
            ),
        }
    }
    let fonts = tool_ok("pdffonts", &[shelf_pdf(&out).to_str().unwrap()]);
    assert_eq!(fonts.lines().skip(2).count(), 1, "{fonts}");
    assert!(fonts.contains("+DejaVuMathTeXGyre"), "{fonts}");
}

/// Not a test: `cargo test --test export -- --ignored shelf_screenshot` remakes docs/shelf.png,
/// page 1 of the fixture's shelf at 100 dpi (the README's picture).
#[test]
#[ignore]
fn shelf_screenshot() {
    let Some(_) = shared() else { return };
    let out = copy("export-shelf-shot");
    let heading = "Virtual shelf · Виртуальная полка · Wirtual tekje";
    export("shelf", &out, &["--base-url", BASE, "--title", heading]).success();
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/shelf");
    tool_ok(
        "pdftoppm",
        &[
            "-r",
            "100",
            "-png",
            "-f",
            "1",
            "-singlefile",
            shelf_pdf(&out).to_str().unwrap(),
            png.to_str().unwrap(),
        ],
    );
}
