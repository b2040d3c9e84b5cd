//! A book's PDF, read back with lopdf: it opens, has the manifest's page count (a failed page
//! is a placeholder page, so every page record has its PDF page), a text layer on every page
//! the manifest says was read with words, and the PDF/A identification in its XMP.

use lopdf::content::Content;
use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use crate::manifest::{BookRecord, PageStatus};

/// What is wrong with the file, as (code, message) pairs.
pub(super) fn check(bytes: &[u8], book: &BookRecord) -> Vec<(&'static str, String)> {
    // Strict: an object that does not parse or a cross-reference table that needs repair is
    // an error, not something lopdf quietly works around (kitap's writer makes neither).
    let strict = LoadOptions {
        strict: true,
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, strict) {
        Ok(doc) => doc,
        Err(e) => return vec![("pdf-open", format!("does not open as a PDF: {e}"))],
    };
    let mut v = Vec::new();
    let pages = doc.get_pages();
    if pages.len() != book.page_count {
        v.push((
            "pdf-pages",
            format!(
                "{} page(s), the manifest's page_count is {}",
                pages.len(),
                book.page_count
            ),
        ));
    }
    let bare: Vec<u32> = book
        .pages
        .iter()
        .filter(|p| p.status == PageStatus::Ok && p.words > 0)
        .filter_map(|p| {
            let id = pages.get(&p.index)?;
            (!shows_text(&doc, *id)).then_some(p.index)
        })
        .collect();
    if !bare.is_empty() {
        v.push((
            "pdf-text-layer",
            format!(
                "no text layer on page(s) {} (the manifest counts words read on them)",
                list(&bare)
            ),
        ));
    }
    if let Err(why) = pdfa_identification(&doc) {
        v.push(("pdf-pdfa", why));
    }
    v
}

/// Page numbers for a message: the first ten, then how many more.
fn list(pages: &[u32]) -> String {
    let shown: Vec<String> = pages.iter().take(10).map(u32::to_string).collect();
    match pages.len() {
        n if n > 10 => format!("{} and {} more", shown.join(", "), n - 10),
        _ => shown.join(", "),
    }
}

/// Content streams of more than this are not a text layer kitap wrote (a bomb is not inflated).
const MAX_CONTENT: usize = 256 << 20;

/// Whether the page's content shows a non-empty string (`Tj`, `TJ`, `'`, `"`), in its own
/// content streams or in a form XObject it draws.
fn shows_text(doc: &Document, page: ObjectId) -> bool {
    let Ok(content) = doc.get_page_content_with_limit(page, MAX_CONTENT) else {
        return false;
    };
    let resources = doc
        .get_page_resources(page)
        .ok()
        .and_then(|(own, inherited)| {
            own.or_else(|| {
                inherited
                    .first()
                    .and_then(|id| doc.get_dictionary(*id).ok())
            })
        });
    stream_shows_text(doc, &content, resources, 0)
}

fn stream_shows_text(
    doc: &Document,
    content: &[u8],
    resources: Option<&Dictionary>,
    depth: u32,
) -> bool {
    let Ok(content) = Content::decode(content) else {
        return false;
    };
    content
        .operations
        .iter()
        .any(|op| match op.operator.as_str() {
            "Tj" | "TJ" | "'" | "\"" => op.operands.iter().any(non_empty_string),
            "Do" if depth < 4 => op
                .operands
                .first()
                .and_then(|name| form_xobject(doc, resources?, name.as_name().ok()?))
                .is_some_and(|(form, inner)| {
                    let inner = inner.or(resources);
                    form.decompressed_content()
                        .is_ok_and(|c| stream_shows_text(doc, &c, inner, depth + 1))
                }),
            _ => false,
        })
}

fn non_empty_string(o: &Object) -> bool {
    match o {
        Object::String(s, _) => !s.is_empty(),
        Object::Array(items) => items.iter().any(non_empty_string),
        _ => false,
    }
}

/// The form XObject `name` of `resources`, with its own resources.
fn form_xobject<'d>(
    doc: &'d Document,
    resources: &'d Dictionary,
    name: &[u8],
) -> Option<(&'d lopdf::Stream, Option<&'d Dictionary>)> {
    let xobjects = doc.get_dict_in_dict(resources, b"XObject").ok()?;
    let (_, object) = doc.dereference(xobjects.get(name).ok()?).ok()?;
    let stream = object.as_stream().ok()?;
    if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Form") {
        return None;
    }
    let inner = doc.get_dict_in_dict(&stream.dict, b"Resources").ok();
    Some((stream, inner))
}

/// The catalog's XMP says PDF/A-2u: `pdfaid:part` 2 and `pdfaid:conformance` U.
fn pdfa_identification(doc: &Document) -> Result<(), String> {
    let catalog = doc
        .catalog()
        .map_err(|e| format!("no document catalog: {e}"))?;
    let metadata = catalog
        .get(b"Metadata")
        .and_then(|o| doc.dereference(o))
        .and_then(|(_, o)| o.as_stream())
        .map_err(|_| "no XMP metadata stream in the catalog (PDF/A needs one)".to_string())?;
    let xmp = metadata
        .decompressed_content()
        .unwrap_or_else(|_| metadata.content.clone());
    let xmp = String::from_utf8(xmp).map_err(|_| "the XMP metadata is not UTF-8".to_string())?;
    let (part, conformance) = pdfa_id(&xmp)?;
    match (part.as_deref(), conformance.as_deref()) {
        (Some("2"), Some("U" | "u")) => Ok(()),
        (None, _) | (_, None) => Err(
            "the XMP metadata has no PDF/A identification (pdfaid:part and pdfaid:conformance)"
                .into(),
        ),
        (Some(p), Some(c)) => Err(format!(
            "the XMP metadata says PDF/A-{p}{c}; kitap writes PDF/A-2u"
        )),
    }
}

const PDFAID: &str = "http://www.aiim.org/pdfa/ns/id/";

/// `pdfaid:part` and `pdfaid:conformance` of an XMP packet, written as elements or as
/// attributes of an `rdf:Description`.
fn pdfa_id(xmp: &str) -> Result<(Option<String>, Option<String>), String> {
    let doc = roxmltree::Document::parse(xmp)
        .map_err(|e| format!("the XMP metadata is not well-formed XML: {e}"))?;
    let property = |name: &str| {
        doc.descendants().find_map(|n| {
            if n.tag_name().namespace() == Some(PDFAID) && n.tag_name().name() == name {
                return n.text().map(|t| t.trim().to_string());
            }
            n.attributes()
                .find(|a| a.namespace() == Some(PDFAID) && a.name() == name)
                .map(|a| a.value().trim().to_string())
        })
    };
    Ok((property("part"), property("conformance")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XMP: &str = r#"<?xpacket begin="\u{feff}" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
PROPS
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;

    fn id(props: &str) -> (Option<String>, Option<String>) {
        pdfa_id(&XMP.replace("PROPS", props)).unwrap()
    }

    #[test]
    fn the_pdfa_identification_is_read_as_elements_or_attributes() {
        let both = (Some("2".to_string()), Some("U".to_string()));
        assert_eq!(
            id(
                r#"<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>2</pdfaid:part><pdfaid:conformance>U</pdfaid:conformance></rdf:Description>"#
            ),
            both
        );
        assert_eq!(
            id(
                r#"<rdf:Description rdf:about="" xmlns:a="http://www.aiim.org/pdfa/ns/id/"
a:part="2" a:conformance="U"/>"#
            ),
            both
        );
        // The right names in another namespace are not the identification.
        assert_eq!(
            id(r#"<rdf:Description rdf:about="" xmlns:pdfaid="urn:other">
<pdfaid:part>2</pdfaid:part></rdf:Description>"#),
            (None, None)
        );
        assert!(pdfa_id("<x:xmpmeta>").is_err());
    }

    #[test]
    fn pages_are_listed_ten_then_counted() {
        assert_eq!(list(&[3, 7]), "3, 7");
        let many: Vec<u32> = (1..=12).collect();
        assert_eq!(list(&many), "1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more");
    }
}
