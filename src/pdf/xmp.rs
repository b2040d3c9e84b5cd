//! The XMP metadata packet of the PDF, consistent with its Info dictionary.

use super::DocInfo;
use crate::xml::XmlWriter;

/// XMP metadata consistent with the Info dictionary (Dublin Core, XMP basic, PDF schema), with
/// the PDF/A identification: part 2, conformance U (Unicode text).
pub(super) fn xmp_packet(info: &DocInfo) -> String {
    let (y, mo, d, h, mi, s) = info.date;
    // Clamped as the Info dictionary's date is, so the two agree.
    let y = y.clamp(0, 9999);
    let date = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
    let mut x = XmlWriter::new();
    x.instruction(
        "xpacket",
        "begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"",
    )
    .newline();
    x.start("x:xmpmeta", &[("xmlns:x", "adobe:ns:meta/")])
        .newline();
    let rdf = [("xmlns:rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")];
    x.start("rdf:RDF", &rdf).newline();
    let description = [
        ("rdf:about", ""),
        ("xmlns:dc", "http://purl.org/dc/elements/1.1/"),
        ("xmlns:xmp", "http://ns.adobe.com/xap/1.0/"),
        ("xmlns:pdf", "http://ns.adobe.com/pdf/1.3/"),
    ];
    x.start("rdf:Description", &description).newline();
    dublin_core(&mut x, info);
    x.element("xmp:CreatorTool", &[], &info.creator_tool)
        .newline();
    for property in ["xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate"] {
        x.element(property, &[], &date).newline();
    }
    x.element("pdf:Producer", &[], &info.creator_tool).newline();
    if let Some(keywords) = info.keywords() {
        x.element("pdf:Keywords", &[], &keywords).newline();
    }
    x.end().newline();
    let pdfaid = [
        ("rdf:about", ""),
        ("xmlns:pdfaid", "http://www.aiim.org/pdfa/ns/id/"),
    ];
    x.start("rdf:Description", &pdfaid).newline();
    x.element("pdfaid:part", &[], "2").newline();
    x.element("pdfaid:conformance", &[], "U").newline();
    x.end().newline().end().newline().end().newline();
    x.instruction("xpacket", "end=\"w\"");
    x.finish()
}

/// The Dublin Core properties.
fn dublin_core(x: &mut XmlWriter, info: &DocInfo) {
    x.element("dc:format", &[], "application/pdf").newline();
    array(x, "dc:title", "rdf:Alt", &[&info.title]);
    x.element("dc:identifier", &[], &info.identifier).newline();
    if let Some(author) = info.author() {
        array(x, "dc:creator", "rdf:Seq", &[&author]);
    }
    if !info.languages.is_empty() {
        array(x, "dc:language", "rdf:Bag", &info.languages);
    }
    if let Some(subject) = info.subject() {
        array(x, "dc:description", "rdf:Alt", &[&subject]);
        array(x, "dc:subject", "rdf:Bag", &info.subjects);
    }
    if let Some(p) = &info.publisher {
        array(x, "dc:publisher", "rdf:Bag", &[p]);
    }
    if let Some(r) = &info.rights {
        array(x, "dc:rights", "rdf:Alt", &[r]);
    }
}

/// A property holding an RDF container (`rdf:Seq`, `rdf:Bag`, or `rdf:Alt`, whose items are
/// in the default language) of `items`, on one line.
fn array<S: AsRef<str>>(x: &mut XmlWriter, property: &str, container: &str, items: &[S]) {
    let lang: &[(&str, &str)] = if container == "rdf:Alt" {
        &[("xml:lang", "x-default")]
    } else {
        &[]
    };
    x.start(property, &[]).start(container, &[]);
    for item in items {
        x.element("rdf:li", lang, item.as_ref());
    }
    x.end().end().newline();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_escapes_and_lists_authors() {
        let info = DocInfo {
            title: "A & B <c>".into(),
            authors: vec!["Абай".into(), "X".into()],
            languages: vec!["kk".into()],
            date: (2026, 1, 2, 3, 4, 5),
            ..Default::default()
        };
        let x = xmp_packet(&info);
        assert!(x.contains("A &amp; B &lt;c&gt;"));
        // PDF/A: dc:creator holds one entry, equal to the Info dictionary's Author.
        assert!(x.contains("<rdf:Seq><rdf:li>Абай; X</rdf:li></rdf:Seq>"));
        assert!(x.contains("<pdfaid:part>2</pdfaid:part>"));
        assert!(x.contains("2026-01-02T03:04:05Z"));
    }
}
