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
                    "isbn = \"978-9943-00-000-7\"\npublisher = \"Türkmen döwlet neşirýat gullugy\"\nplace = \"Aşgabat\"\nyear = 2019\nsubjects = [\"Türkmen edebiýaty\", \"Goşgular\"]\nrights = \"CC BY 4.0\"\ndescription = \"Ýaşlyk hakynda hekaýalar we goşgular.\"\n",
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

    for grid in ["7x1", "0x3", "3by4", "3x", "3x4x1"] {
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
