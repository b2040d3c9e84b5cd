//! The editor's review page, `OUT/review.html`, opened in a real browser (Debian's headless
//! Chromium) from disk and from a static web server: every book and page is there, the
//! doubtful pages come first, filters work from the address, and nothing leaves the page. Also
//! the manifest's `needs_review`, page labels and thumbnails it is made from.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use kitap::manifest::{Manifest, PageStatus, Status};

/// A title that must reach the page as text, not markup.
const TITLE: &str = "Türkmen \"<kitap>\" & ňöş";

/// A batch with something for an editor to find: a good English page, three Kazakh pages,
/// two real 1939 Komi pages read badly (no Komi model), and a book with a good page, a blank
/// page (no ink: nothing to review), a file that is no image, and a page with ink but no text
/// (a picture: its text, if any, may be lost).
fn converted() -> &'static PathBuf {
    static OUT: Shared<PathBuf> = Shared::new();
    OUT.get(|| {
        let shared = shared().expect("the shared corpus (real low-confidence scans)");
        let dir = fixture_dir("review-batch");
        let scans = copy_samples(
            &dir.join("scans"),
            &["en-reading-room", "kk-dala-kitaphanasy"],
        );
        // Komi has no Tesseract model; read as English (a wrong language in book.toml),
        // its real 1939 pages come out below the review threshold.
        let komi = "kpv-cyrl-vyl-tujod-1939";
        stage_shared_books(&shared, &scans, &[komi]);
        std::fs::write(
            scans.join(komi).join("book.toml"),
            "title = \"Vyl tujod\"\nyear = 1939\nlanguages = [\"eng\"]\n",
        )
        .unwrap();
        let mixed = scans.join("mixed");
        small_page(&mixed.join("0001.png"));
        image::GrayImage::from_pixel(1240, 1754, image::Luma([255]))
            .save(mixed.join("0002.png"))
            .unwrap();
        std::fs::copy(
            shared.join("sample-scans-bad/text-renamed.png"),
            mixed.join("0003.png"),
        )
        .unwrap();
        let mut picture = image::GrayImage::from_pixel(1240, 1754, image::Luma([255]));
        for (x, y, px) in picture.enumerate_pixels_mut() {
            let (dx, dy) = (x as f64 - 620.0, y as f64 - 720.0);
            if dx * dx + dy * dy < 320.0 * 320.0 {
                *px = image::Luma([0]);
            } else if (200..1040).contains(&x) && (1200..1500).contains(&y) {
                *px = image::Luma([90]);
            }
        }
        picture.save(mixed.join("0004.png")).unwrap();
        std::fs::write(
            mixed.join("book.toml"),
            format!("title = {TITLE:?}\nauthors = [\"Aýna Öwezowa\"]\nyear = 2024\n"),
        )
        .unwrap();
        Kitap::convert(&scans)
            .out(&dir.join("out"))
            .arg("--quiet")
            .run()
            .code(1);
        dir.join("out")
    })
}

fn manifest() -> Manifest {
    Manifest::read(&converted().join("manifest.json")).unwrap()
}

/// The part of the DOM from the element with `id` to the end of that list.
fn list<'d>(dom: &'d str, id: &str, end: &str) -> &'d str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the DOM"));
    let rest = &dom[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The page cards (`<li class="page …">` tags) in a part of the DOM, in order.
fn cards(part: &str) -> Vec<&str> {
    part.match_indices("<li class=\"page")
        .map(|(i, _)| &part[i..i + part[i..].find('>').unwrap()])
        .collect()
}

fn attr<'t>(tag: &'t str, name: &str) -> &'t str {
    let key = format!(" {name}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

fn shown(tag: &str) -> bool {
    !tag.contains(" hidden=")
}

/// The pages an editor should see first, most doubtful first, by the rule written out
/// again here: failed, then by rising confidence, then pages without text.
fn expected_first(m: &Manifest) -> Vec<String> {
    let mut doubtful: Vec<(u8, f64, String)> = Vec::new();
    for b in &m.books {
        for p in &b.pages {
            let id = format!("{}/{}", b.id, p.index);
            if p.status == PageStatus::Failed {
                doubtful.push((0, 0.0, id));
            } else if let Some(c) = p.confidence.filter(|c| *c < 60.0) {
                doubtful.push((1, c, id));
            } else if p.words == 0 && !p.blank {
                doubtful.push((2, 0.0, id));
            }
        }
    }
    doubtful.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    doubtful.into_iter().map(|d| d.2).collect()
}

/// No resource of the page is fetched from the network: no http(s) URL in a src, href,
/// srcset or style, no external script or style sheet.
fn assert_offline(dom: &str) {
    for bad in [
        "src=\"http",
        "href=\"http",
        "srcset=",
        "url(http",
        "<link rel=\"stylesheet",
        "<script src",
        "@import",
    ] {
        assert!(!dom.contains(bad), "the page refers to {bad:?}");
    }
}

#[test]
fn the_manifest_marks_what_needs_review() {
    let Some(_) = shared() else { return };
    let m = manifest();
    let mixed = book(&m, "mixed");
    assert_eq!(mixed.status, Status::Partial);
    assert!(mixed.needs_review);
    let flags: Vec<(bool, usize, PageStatus)> = mixed
        .pages
        .iter()
        .map(|p| (p.needs_review, p.words, p.status))
        .collect();
    assert!(!flags[0].0 && flags[0].1 > 0, "a good page: {flags:?}");
    assert!(
        !flags[1].0 && flags[1].1 == 0 && mixed.pages[1].blank,
        "a page without ink needs no look: {flags:?}"
    );
    assert!(flags[2].0 && flags[2].2 == PageStatus::Failed, "{flags:?}");
    assert!(
        flags[3].0 && flags[3].1 == 0 && !mixed.pages[3].blank,
        "a page with ink and no text needs a look: {flags:?}"
    );
    assert!(!book(&m, "en-reading-room").needs_review);
    let komi = book(&m, "kpv-cyrl-vyl-tujod-1939");
    assert!(
        komi.pages
            .iter()
            .all(|p| p.needs_review && p.confidence < Some(60.0))
    );
    assert!(komi.needs_review);
    assert_eq!(m.pipeline.review_below_confidence, Some(60.0));
    // Every page has its printed label; every page that converted a listed thumbnail.
    for b in &m.books {
        for p in &b.pages {
            assert!(p.label.is_some(), "{}/{}", b.id, p.index);
            assert_eq!(p.thumbnail.is_some(), p.status == PageStatus::Ok);
            if let Some(t) = &p.thumbnail {
                assert!(
                    b.files
                        .iter()
                        .any(|f| &f.path == t && f.media_type == "image/jpeg")
                );
            }
        }
    }
    assert_eq!(mixed.pages[2].thumbnail, None);
}

#[test]
fn thumbnails_are_small_jpegs_of_the_pages() {
    let Some(_) = shared() else { return };
    let m = manifest();
    let (mut thumbs, mut pdfs) = (0u64, 0u64);
    for b in &m.books {
        for f in &b.files {
            match f.media_type.as_str() {
                "image/jpeg" => {
                    thumbs += f.bytes;
                    let img = image::open(converted().join(&f.path)).unwrap();
                    assert!(img.width() <= 200 && img.height() <= 280, "{}", f.path);
                    assert!(img.width() >= 100 || img.height() >= 140, "{}", f.path);
                }
                "application/pdf" => pdfs += f.bytes,
                _ => {}
            }
        }
    }
    let share = thumbs as f64 / pdfs as f64;
    eprintln!(
        "thumbnails {thumbs} bytes, PDFs {pdfs} bytes: {:.2} %",
        share * 100.0
    );
    assert!(
        share <= 0.05,
        "thumbnails are {:.1} % of the PDFs",
        share * 100.0
    );
    // The thumbnail shows the page upright: the English page's title band is dark at the top.
    let en = book(&m, "en-reading-room");
    let img = image::open(converted().join(en.pages[0].thumbnail.as_ref().unwrap()))
        .unwrap()
        .to_luma8();
    let ink = |rows: std::ops::Range<u32>| {
        rows.flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 160)
            .count()
    };
    assert!(ink(0..img.height() / 2) > 0, "no text in the thumbnail");
}

#[test]
fn review_page_in_chromium_lists_every_book_and_page_doubtful_first() {
    let Some(_) = shared() else { return };
    let m = manifest();
    let dom = chromium(&file_url(&converted().join("review.html")), None);
    // Every book, with its title as text (escaped markup, never an element).
    for b in &m.books {
        assert!(dom.contains(&format!("id=\"book-{}\"", b.id)), "{}", b.id);
    }
    assert!(dom.contains("Türkmen \"&lt;kitap&gt;\" &amp; ňöş"));
    assert!(!dom.contains("<kitap>"));
    // Every page in its book's grid, in order.
    let books = list(&dom, "books", "</main>");
    let ids: Vec<&str> = cards(books).iter().map(|c| attr(c, "data-id")).collect();
    let want: Vec<String> = m
        .books
        .iter()
        .flat_map(|b| b.pages.iter().map(move |p| format!("{}/{}", b.id, p.index)))
        .collect();
    assert_eq!(ids, want);
    // The doubtful pages, first on the page, in the order of doubt.
    let first = list(&dom, "first", "</ol>");
    let first_ids: Vec<&str> = cards(first).iter().map(|c| attr(c, "data-id")).collect();
    assert_eq!(first_ids, expected_first(&m));
    assert_eq!(first_ids[0], "mixed/3", "the failed page leads");
    assert_eq!(
        first_ids.last(),
        Some(&"mixed/4"),
        "the page with ink and no text comes last"
    );
    assert!(dom.find("id=\"first\"").unwrap() < dom.find("id=\"books\"").unwrap());
    // Counts.
    assert!(dom.contains("<dt>Pages to review</dt><dd>4</dd>"), "{dom}");
    assert!(dom.contains("<dt>Books partial</dt><dd>1</dd>"));
    // Screen readers and keyboards: real headings, alt text, labelled form controls.
    assert_eq!(dom.matches("<h1").count(), 1);
    assert!(dom.matches("<h2").count() >= 3);
    assert_eq!(dom.matches("<h3").count(), m.books.len());
    for (i, _) in dom.match_indices("<img ") {
        let tag = &dom[i..i + dom[i..].find('>').unwrap()];
        assert!(!attr(tag, "alt").trim().is_empty(), "{tag}");
        assert_eq!(attr(tag, "loading"), "lazy", "{tag}");
    }
    for select in ["f-book", "f-status", "f-flag"] {
        assert!(
            dom.contains(&format!("<label for=\"{select}\"")),
            "{select}"
        );
    }
    // Thumbnails resolve to the files in OUT; PDF links to the page.
    for (i, _) in books.match_indices("<img ") {
        let tag = &books[i..i + books[i..].find('>').unwrap()];
        let src = attr(tag, "src");
        assert!(converted().join(src).is_file(), "{src}");
    }
    assert!(books.contains("href=\"mixed/mixed.pdf#page=1\""));
    assert_offline(&dom);
}

/// The tags (`<li class="page` or `<article`) in the books section of the page at `url`, and
/// of those the ones shown, by `key` attribute.
fn shown_in_books(url: &str, tag: &str, key: &str) -> (usize, Vec<String>) {
    let dom = chromium(url, None);
    let books = list(&dom, "books", "</main>");
    let tags: Vec<&str> = books
        .match_indices(tag)
        .map(|(i, _)| &books[i..i + books[i..].find('>').unwrap()])
        .collect();
    let shown = tags
        .iter()
        .filter(|t| shown(t))
        .map(|t| attr(t, key).to_string())
        .collect();
    (tags.len(), shown)
}

#[test]
fn filters_are_form_controls_set_from_the_address() {
    let Some(_) = shared() else { return };
    let url = file_url(&converted().join("review.html"));
    let page = "<li class=\"page";
    let (_, visible) = shown_in_books(&format!("{url}#flag=failed"), page, "data-id");
    assert_eq!(visible, ["mixed/3"]);
    let dom = chromium(&format!("{url}#flag=failed"), None);
    assert!(
        dom.contains("1 of 10 pages shown"),
        "{}",
        list(&dom, "f-count", "<")
    );
    // A page with ink and no text, and a page without ink, are told apart.
    let (_, visible) = shown_in_books(&format!("{url}#flag=no-text"), page, "data-id");
    assert_eq!(visible, ["mixed/4"]);
    let (_, visible) = shown_in_books(&format!("{url}#flag=blank"), page, "data-id");
    assert_eq!(visible, ["mixed/2"]);
    // Books still to review: the Komi book and the mixed one.
    let (_, visible) = shown_in_books(&format!("{url}#status=review"), "<article", "id");
    assert_eq!(visible, ["book-kpv-cyrl-vyl-tujod-1939", "book-mixed"]);
    // A malformed address filters nothing and breaks nothing.
    let dom = chromium(&format!("{url}#book=100%&flag=%E0"), None);
    assert!(dom.contains("10 of 10 pages shown"));
    // The Komi book alone, every status: its two pages; the other three books hidden.
    let komi = format!("{url}#book=kpv-cyrl-vyl-tujod-1939");
    let (_, visible) = shown_in_books(&komi, page, "data-id");
    assert_eq!(
        visible,
        ["kpv-cyrl-vyl-tujod-1939/1", "kpv-cyrl-vyl-tujod-1939/2"]
    );
    let (all, visible) = shown_in_books(&komi, "<article", "id");
    assert_eq!((all, visible.len()), (4, 1));
}

/// `python3 -m http.server` on OUT, on a free port; its access log is its stderr.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 43521 (http://127.0.0.1:43521/) ..."
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server { child, port }
    }

    /// Stops the server; returns its access log.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}

#[test]
fn review_page_works_from_a_static_web_server() {
    let Some(_) = shared() else { return };
    let m = manifest();
    let server = Server::start(converted());
    let url = format!("http://127.0.0.1:{}/review.html", server.port);
    let dom = chromium(&url, None);
    let log = server.stop();
    let books = list(&dom, "books", "</main>");
    let pages: usize = m.books.iter().map(|b| b.pages.len()).sum();
    assert_eq!(cards(books).len(), pages);
    assert_offline(&dom);
    // Every request the page made was for a file in OUT, and each was found.
    let requests: Vec<&str> = log.lines().filter(|l| l.contains("\"GET ")).collect();
    assert!(
        requests.iter().any(|r| r.contains("GET /review.html ")),
        "{log}"
    );
    assert!(
        requests.iter().any(|r| r.contains(".thumbs/")),
        "no thumbnail loaded:\n{log}"
    );
    for r in &requests {
        assert!(r.contains("\" 200 "), "a request failed: {r}\n{log}");
    }
}

#[test]
fn kitap_review_remakes_the_page_from_out_alone() {
    let Some(_) = shared() else { return };
    let out = copy_out(converted(), "review-remake");
    let dir = out.parent().unwrap().to_path_buf();
    let written = std::fs::read(out.join("review.html")).unwrap();
    std::fs::remove_file(out.join("review.html")).unwrap();
    Kitap::new()
        .arg("review")
        .arg(&out)
        .run()
        .success()
        .stdout_contains("review.html");
    assert_eq!(std::fs::read(out.join("review.html")).unwrap(), written);
    // No manifest: nothing to review.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    Kitap::new()
        .arg("review")
        .arg(&empty)
        .run()
        .code(2)
        .stderr_contains("manifest.json");
}

#[test]
fn a_new_review_threshold_judges_every_book_without_rebuilding_any() {
    let Some(_) = shared() else { return };
    let out = copy_out(converted(), "review-threshold");
    let dir = out.parent().unwrap().to_path_buf();
    let before = Manifest::read(&out.join("manifest.json")).unwrap();
    assert!(!book(&before, "kk-dala-kitaphanasy").needs_review);
    // The default pipeline with a stricter threshold, nothing else changed.
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/default.toml");
    let text = std::fs::read_to_string(default).unwrap();
    assert!(text.contains("review_below_confidence = 60.0"));
    let pipeline = dir.join("default.toml");
    std::fs::write(
        &pipeline,
        text.replace(
            "review_below_confidence = 60.0",
            "review_below_confidence = 99",
        ),
    )
    .unwrap();
    let scans = converted().parent().unwrap().join("scans");
    Kitap::convert(&scans)
        .out(&out)
        .args(["--pipeline", pipeline.to_str().unwrap()])
        .run()
        .success()
        .stderr_contains("4 unchanged");
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    let kk = book(&m, "kk-dala-kitaphanasy");
    assert!(kk.needs_review && kk.pages.iter().all(|p| p.needs_review));
    assert_eq!(
        kk.converted_at,
        book(&before, "kk-dala-kitaphanasy").converted_at
    );
    assert_eq!(m.pipeline.review_below_confidence, Some(99.0));
}

fn approve(out: &Path, args: &[&str]) -> Run {
    Kitap::new()
        .arg("review")
        .arg(out)
        .args(args)
        .env("KITAP_EDITOR", "")
        .run()
}

#[test]
fn an_editor_approves_a_generation_and_a_new_one_starts_unapproved() {
    let Some(_) = shared() else { return };
    let out = copy_out(converted(), "review-approve");
    let dir = out.parent().unwrap().to_path_buf();
    // Refused: no name, no such book, a book another run is writing into.
    approve(&out, &["--approve", "mixed"])
        .code(2)
        .stderr_contains("--by");
    approve(&out, &["--approve", "nosuch", "--by", "Aýna"])
        .code(2)
        .stderr_contains("no book \"nosuch\"");
    {
        let _held = kitap::lock::OutLock::acquire(&out, None).unwrap();
        approve(&out, &["--approve", "mixed", "--by", "Aýna"])
            .code(3)
            .stderr_contains("another kitap run");
        // Remaking the page waits for the run too (which writes it when it ends).
        approve(&out, &[])
            .code(3)
            .stderr_contains("another kitap run");
    }
    assert!(
        Manifest::read(&out.join("manifest.json"))
            .unwrap()
            .books
            .iter()
            .all(|b| b.approved.is_none())
    );
    approve(
        &out,
        &["--approve", "mixed", "--revoke", "mixed", "--by", "A"],
    )
    .code(2)
    .stderr_contains("both --approve and --revoke");
    approve(&out, &["--revoke", "mixed"])
        .success()
        .stdout_contains("mixed: was not approved");
    approve(&out, &["--approve", "mixed", "--by", "Someone Else"]).success();

    approve(
        &out,
        &[
            "--approve",
            "mixed",
            "--approve",
            "en-reading-room",
            "--by",
            "Aýna Öwezowa",
        ],
    )
    .success()
    .stdout_contains("mixed: approved by Aýna Öwezowa")
    .stdout_contains("(it was approved by Someone Else at");
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    let mixed = book(&m, "mixed");
    let a = mixed.approved.as_ref().expect("approved in the manifest");
    assert_eq!(a.by, "Aýna Öwezowa");
    assert_eq!(a.converted_at, mixed.converted_at);
    let record = kitap::generation::read_record(&out.join("mixed")).unwrap();
    assert_eq!(record.approved.as_ref(), Some(a), "the record carries it");
    // What an upload script takes: books needing no review, and approved ones.
    let ready: Vec<&str> = m
        .books
        .iter()
        .filter(|b| b.status != Status::Failed && (!b.needs_review || b.approved.is_some()))
        .map(|b| b.id.as_str())
        .collect();
    assert_eq!(ready, ["en-reading-room", "kk-dala-kitaphanasy", "mixed"]);
    // The page: the approved book's pages leave the list to look at first.
    let dom = chromium(&file_url(&out.join("review.html")), None);
    let first: Vec<&str> = cards(list(&dom, "first", "</ol>"))
        .iter()
        .map(|c| attr(c, "data-id"))
        .collect();
    assert!(
        first.iter().all(|id| !id.starts_with("mixed/")),
        "{first:?}"
    );
    assert!(!first.is_empty());
    assert!(dom.contains("<dt>Books approved</dt><dd>2</dd>"));
    assert!(dom.contains("approved by Aýna Öwezowa"));

    // A new scan of page 1: the next run makes a new generation, which nobody has approved.
    let scans = dir.join("scans");
    copy_dir(
        &converted().parent().unwrap().join("scans/mixed"),
        &scans.join("mixed"),
    );
    std::fs::copy(scans.join("mixed/0002.png"), scans.join("mixed/0001.png")).unwrap();
    Kitap::convert(&scans)
        .out(&out)
        .arg("--quiet")
        .run()
        .code(1);
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    assert_eq!(
        book(&m, "mixed").approved,
        None,
        "a new generation starts unapproved"
    );
    assert!(
        book(&m, "en-reading-room").approved.is_some(),
        "an unchanged book keeps it"
    );
    approve(&out, &["--revoke", "en-reading-room"])
        .success()
        .stdout_contains("approval withdrawn");
    let m = Manifest::read(&out.join("manifest.json")).unwrap();
    assert!(m.books.iter().all(|b| b.approved.is_none()));
    validate_manifest(&out);
}

#[test]
fn a_5000_page_batch_stays_small_and_renders_every_page() {
    let Some(_) = shared() else { return };
    // 50 books of 100 pages, made of the test batch's real page records.
    let m = manifest();
    let mut big = m.clone();
    big.books.clear();
    for n in 0..50 {
        let mut b = m.books[n % m.books.len()].clone();
        b.id = format!("{}-{n:02}", b.id);
        let pages = b.pages.clone();
        b.pages = (0..100)
            .map(|i| {
                let mut p = pages[i % pages.len()].clone();
                p.index = i as u32 + 1;
                p.label = Some(p.index.to_string());
                if p.thumbnail.is_some() {
                    p.thumbnail = Some(kitap::convert::thumbnail_path(&b.id, p.index));
                }
                p
            })
            .collect();
        b.page_count = b.pages.len();
        big.books.push(b);
    }
    let pages: usize = big.books.iter().map(|b| b.pages.len()).sum();
    let dir = fixture_dir("review-5000");
    std::fs::create_dir_all(&dir).unwrap();
    big.write(&dir.join("manifest.json")).unwrap();
    Kitap::new().arg("review").arg(&dir).run().success();
    let html = std::fs::metadata(dir.join("review.html")).unwrap().len();
    eprintln!("{pages} pages: review.html is {html} bytes");
    assert!(html < 100 * pages as u64, "{html} bytes for {pages} pages");
    let dom = chromium(&file_url(&dir.join("review.html")), None);
    let rendered = cards(list(&dom, "books", "</main>")).len();
    assert_eq!(rendered, pages);
    assert_eq!(
        dom.matches("loading=\"lazy\"").count(),
        dom.matches("<img ").count()
    );
}

/// Not a test: `cargo test --test review -- --ignored screenshot` remakes docs/review.png
/// from the whole shared corpus (the README's picture).
#[test]
#[ignore]
fn screenshot() {
    let Some(shared) = shared() else { return };
    let dir = fixture_dir("review-shot");
    let scans = dir.join("scans");
    let books: Vec<String> = std::fs::read_dir(shared.join("sample-scans"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let names: Vec<&str> = books.iter().map(String::as_str).collect();
    stage_shared_books(&shared, &scans, &names);
    let out = dir.join("out");
    Kitap::convert(&scans).out(&out).arg("--quiet").run();
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/review.png");
    std::fs::create_dir_all(png.parent().unwrap()).unwrap();
    chromium(
        &file_url(&out.join("review.html")),
        Some((&png, 1280, 1500)),
    );
}
