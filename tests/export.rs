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
