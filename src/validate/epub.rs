//! A book's EPUB, read back: `mimetype` the first entry, stored, `application/epub+zip`;
//! `META-INF/container.xml` names a package document that is in the zip, whose nav document is
//! too; the package's unique identifier and `dc:title` are the ones kitap writes for the
//! manifest's book (its id's `urn:uuid`, its title or else its id).

use std::io::{Cursor, Read};

use unicode_normalization::UnicodeNormalization;
use zip::ZipArchive;

use crate::manifest::BookRecord;

const CONTAINER_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:container";
const OPF_NS: &str = "http://www.idpf.org/2007/opf";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
const MIMETYPE: &[u8] = b"application/epub+zip";

/// The text entries read are small; a larger one is not kitap's.
const MAX_XML: u64 = 64 << 20;

/// What is wrong with the file, as (code, message) pairs.
pub(super) fn check(bytes: &[u8], book: &BookRecord) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Err(why) = mimetype_first(bytes) {
        v.push(("epub-mimetype", why));
    }
    let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(e) => {
            v.push(("epub-container", format!("does not open as a zip: {e}")));
            return v;
        }
    };
    let opf_path = match rootfile(&mut zip) {
        Ok(p) => p,
        Err(why) => {
            v.push(("epub-container", why));
            return v;
        }
    };
    let opf = match entry_text(&mut zip, &opf_path) {
        Ok(t) => t,
        Err(why) => {
            v.push(("epub-container", why));
            return v;
        }
    };
    match package(&opf, &opf_path) {
        Err(why) => v.push(("epub-container", why)),
        Ok(p) => {
            compare(&p, book, &mut v);
            match p.nav {
                None => v.push((
                    "epub-nav",
                    format!("{opf_path}: no manifest item with properties=\"nav\""),
                )),
                Some(nav) if zip.index_for_name(&nav).is_none() => v.push((
                    "epub-nav",
                    format!("{opf_path}: the nav document {nav} is not in the zip"),
                )),
                Some(_) => {}
            }
        }
    }
    v
}

/// OCF: the first local file header is `mimetype`, stored, holding exactly the media type, so
/// that a reader sniffing the first bytes finds it. Read from the header itself, not the
/// central directory, which may list entries in another order.
fn mimetype_first(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err("does not start with a zip entry".into());
    }
    let (Some(method), Some(size), Some(name_len), Some(extra_len)) =
        (u16_at(8), u32_at(18), u16_at(26), u16_at(28))
    else {
        return Err("the first zip entry's header is cut short".into());
    };
    let name = bytes.get(30..30 + name_len).unwrap_or_default();
    if name != b"mimetype" {
        return Err(format!(
            "the first entry is {:?}, not mimetype",
            String::from_utf8_lossy(name)
        ));
    }
    if method != 0 {
        return Err("mimetype is compressed (it must be stored)".into());
    }
    let start = 30 + name_len + extra_len;
    let content = bytes.get(start..start + size).unwrap_or_default();
    if content != MIMETYPE {
        return Err(format!(
            "mimetype holds {:?}, not application/epub+zip",
            String::from_utf8_lossy(content)
        ));
    }
    Ok(())
}

fn entry_text(zip: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<String, String> {
    let entry = zip
        .by_name(name)
        .map_err(|_| format!("{name} is not in the zip"))?;
    let mut text = String::new();
    entry
        .take(MAX_XML)
        .read_to_string(&mut text)
        .map_err(|e| format!("{name} cannot be read as UTF-8 text: {e}"))?;
    Ok(text)
}

/// The package document `META-INF/container.xml` names (its first rootfile).
fn rootfile(zip: &mut ZipArchive<Cursor<&[u8]>>) -> Result<String, String> {
    const CONTAINER: &str = "META-INF/container.xml";
    let text = entry_text(zip, CONTAINER)?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| format!("{CONTAINER} is not well-formed XML: {e}"))?;
    let path = doc
        .descendants()
        .find(|n| n.has_tag_name((CONTAINER_NS, "rootfile")))
        .and_then(|n| n.attribute("full-path"))
        .ok_or_else(|| format!("{CONTAINER} names no rootfile full-path"))?;
    Ok(path.to_string())
}

/// What the package document says.
struct Package {
    identifier: Option<String>,
    title: Option<String>,
    /// The nav document's path in the zip.
    nav: Option<String>,
}

fn package(opf: &str, opf_path: &str) -> Result<Package, String> {
    let doc = roxmltree::Document::parse(opf)
        .map_err(|e| format!("{opf_path} is not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name((OPF_NS, "package")) {
        return Err(format!("{opf_path} is not an OPF package document"));
    }
    let uid = root.attribute("unique-identifier");
    let identifier = uid.and_then(|uid| {
        doc.descendants()
            .find(|n| n.has_tag_name((DC_NS, "identifier")) && n.attribute("id") == Some(uid))
            .map(|n| n.text().unwrap_or_default().trim().to_string())
    });
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name((DC_NS, "title")))
        .map(|n| n.text().unwrap_or_default().trim().to_string());
    let nav = doc
        .descendants()
        .filter(|n| n.has_tag_name((OPF_NS, "item")))
        .find(|n| {
            n.attribute("properties")
                .is_some_and(|p| p.split_ascii_whitespace().any(|t| t == "nav"))
        })
        .and_then(|n| n.attribute("href"))
        .map(|href| resolve(opf_path, href));
    Ok(Package {
        identifier,
        title,
        nav,
    })
}

/// The zip path of `href` relative to the package document at `opf_path`.
fn resolve(opf_path: &str, href: &str) -> String {
    let href = percent_decode(href.split(['#', '?']).next().unwrap_or_default());
    let mut parts: Vec<&str> = opf_path.split('/').collect();
    parts.pop();
    for seg in href.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = || std::str::from_utf8(b.get(i + 1..i + 3)?).ok();
        match (b[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The identifier and title kitap writes for this book, against the package's.
fn compare(p: &Package, book: &BookRecord, v: &mut Vec<(&'static str, String)>) {
    let want_id = format!("urn:uuid:{}", crate::epub::book_uuid(&book.id));
    match &p.identifier {
        None => v.push((
            "epub-identifier",
            "the package names no unique identifier (unique-identifier → dc:identifier)".into(),
        )),
        Some(id) if *id != want_id => v.push((
            "epub-identifier",
            format!("identifier {id:?}, the book {:?} has {want_id:?}", book.id),
        )),
        Some(_) => {}
    }
    let title = book.metadata.title.as_deref().unwrap_or(&book.id);
    let want: String = crate::config::cut_to_bytes(title, crate::pdf::MAX_STRING_BYTES)
        .nfc()
        .collect();
    match &p.title {
        None => v.push(("epub-title", "the package has no dc:title".into())),
        Some(t) if t != want.trim() => v.push((
            "epub-title",
            format!("dc:title {t:?}, the manifest's title is {want:?}"),
        )),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_resolve_against_the_package_folder() {
        assert_eq!(resolve("OEBPS/content.opf", "nav.xhtml"), "OEBPS/nav.xhtml");
        assert_eq!(
            resolve("OEBPS/content.opf", "../toc/nav%20x.xhtml#t"),
            "toc/nav x.xhtml"
        );
        assert_eq!(resolve("content.opf", "./nav.xhtml"), "nav.xhtml");
    }

    #[test]
    fn the_mimetype_must_be_first_and_stored() {
        use std::io::Write;
        use zip::write::{SimpleFileOptions, ZipWriter};
        let make = |first: &str, method| {
            let mut z = ZipWriter::new(Cursor::new(Vec::new()));
            let o = SimpleFileOptions::default().compression_method(method);
            z.start_file(first, o).unwrap();
            z.write_all(MIMETYPE).unwrap();
            z.finish().unwrap().into_inner()
        };
        let stored = zip::CompressionMethod::Stored;
        assert_eq!(mimetype_first(&make("mimetype", stored)), Ok(()));
        let deflated = mimetype_first(&make("mimetype", zip::CompressionMethod::Deflated));
        assert!(deflated.unwrap_err().contains("compressed"));
        let other = mimetype_first(&make("META-INF/container.xml", stored));
        assert!(other.unwrap_err().contains("not mimetype"));
        assert!(mimetype_first(b"%PDF-1.7").is_err());
    }
}
