//! Newspapers (issue 16): the 1939 Komi newspaper of the shared corpus with the `newspaper`
//! pipeline — its EPUB contents are the headlines that lead an article, never a hyphenated
//! fragment, a line broken off a column or a byline ("6 лунӧн завершит-" was one); a document
//! per page; the issue's date in the metadata. And `epub_headings` chooses where headings come
//! from.

mod common;

use std::path::Path;

use common::{Kitap, book, copy_samples, epubcheck, shared, tool_ok};

/// The table-of-contents titles of an EPUB (its nav's `toc`, without the page list).
fn toc(epub: &Path) -> Vec<String> {
    let nav = tool_ok("unzip", &["-p", epub.to_str().unwrap(), "OEBPS/nav.xhtml"]);
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(&nav, options).unwrap();
    let toc = doc
        .descendants()
        .find(|n| n.has_tag_name("nav") && n.attributes().any(|a| a.value() == "toc"))
        .expect("a toc nav");
    toc.descendants()
        .filter(|n| n.has_tag_name("a"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_newspapers_contents_are_its_headlines() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let id = "vyl-tujod-1939-067";
    let book_dir = dir.path().join("scans").join(id);
    common::copy_dir(
        &shared.join("sample-scans/kpv-cyrl-vyl-tujod-1939"),
        &book_dir,
    );
    std::fs::remove_dir_all(book_dir.join("gt")).unwrap();
    std::fs::write(
        book_dir.join("book.toml"),
        "title = \"Выль туйӧд\"\nlanguages = [\"kv\"]\nissue = 67\nissued = 1939-09-10\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let run = Kitap::convert(&dir.path().join("scans"))
        .out(&out)
        .args(["-p", "newspaper", "--outputs", "epub,txt", "-q"])
        .run();
    run.success();
    let epub = run.file(id, "epub");
    epubcheck(&epub);
    let titles = toc(&epub);
    for t in &titles {
        let first = t.chars().find(|c| c.is_alphabetic());
        assert!(
            !t.ends_with(['-', '—', ',', ':', '.']) && !first.is_some_and(char::is_lowercase),
            "a fragment in the contents: {t:?} of {titles:?}"
        );
    }
    // The front page before its first headline is the issue's title; no entry is a number or
    // a fragment of fewer than three letters.
    assert_eq!(titles[0], "Выль туйӧд", "{titles:?}");
    for t in &titles {
        assert!(
            t.chars().filter(|c| c.is_alphabetic()).count() >= 3,
            "{t:?} in {titles:?}"
        );
    }
    for want in [
        "Капуста кӧчан",
        "Вундан машинаяс сулӧдӧны",
        "Ковмас кӧ, ог жалит олӧмбӧс",
    ] {
        assert!(titles.iter().any(|t| t == want), "{want} not in {titles:?}");
    }
    // A document per page: no content document holds two pages.
    let files = tool_ok("unzip", &["-Z1", epub.to_str().unwrap()]);
    for doc in files.lines().filter(|l| l.starts_with("OEBPS/text/s")) {
        let xhtml = tool_ok("unzip", &["-p", epub.to_str().unwrap(), doc]);
        assert!(
            xhtml.matches("id=\"page-").count() <= 1,
            "{doc} holds two pages"
        );
    }
    let opf = tool_ok(
        "unzip",
        &["-p", epub.to_str().unwrap(), "OEBPS/content.opf"],
    );
    assert!(opf.contains("<dc:date>1939-09-10</dc:date>"), "{opf}");
    let m = run.manifest();
    let b = book(&m, id);
    assert_eq!(b.metadata.issue.as_deref(), Some("67"));
    assert_eq!(b.metadata.year_sort, Some(1939));
    assert_eq!(m.pipeline.name, "newspaper");
}

/// `epub_headings`: `auto` makes the title a contents entry, `chapters` keeps it a heading in
/// the text without one, `off` finds none.
#[test]
fn epub_headings_chooses_where_headings_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let scans = copy_samples(&dir.path().join("scans"), &["kk-dala-kitaphanasy"]);
    let id = "kk-dala-kitaphanasy";
    let mut seen = Vec::new();
    for mode in ["auto", "chapters", "off"] {
        let pipeline = dir.path().join(format!("{mode}.toml"));
        std::fs::write(&pipeline, format!("epub_headings = \"{mode}\"\n")).unwrap();
        let out = dir.path().join(mode);
        let run = Kitap::convert(&scans)
            .out(&out)
            .args(["-p", pipeline.to_str().unwrap(), "--outputs", "epub", "-q"])
            .run();
        run.success();
        let epub = run.file(id, "epub");
        epubcheck(&epub);
        let first = tool_ok(
            "unzip",
            &["-p", epub.to_str().unwrap(), "OEBPS/text/s0001.xhtml"],
        );
        seen.push((
            mode,
            toc(&epub),
            first.contains("<h2>Дала кітапханасы</h2>"),
        ));
    }
    assert!(
        seen[0].1.contains(&"Дала кітапханасы".to_string()),
        "{seen:?}"
    );
    assert!(seen[0].2, "auto: the title is a heading");
    assert_eq!(
        seen[1].1,
        ["1–3"],
        "chapters: no book.toml chapters, the pages"
    );
    assert!(seen[1].2, "chapters: the title stays a heading in the text");
    assert_eq!(seen[2].1, ["1–3"], "off: the pages");
    assert!(!seen[2].2, "off: no heading");
}
