//! The XMP metadata packet of the PDF, consistent with its Info dictionary.

use super::DocInfo;
use crate::xml;

/// XMP metadata consistent with the Info dictionary (Dublin Core, XMP basic, PDF schema), with
/// the PDF/A identification: part 2, conformance U (Unicode text).
pub(super) fn xmp_packet(info: &DocInfo) -> String {
    let (y, mo, d, h, mi, s) = info.date;
    // Clamped as the Info dictionary's date is, so the two agree.
    let y = y.clamp(0, 9999);
    let date = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
    let li = |items: &[String]| -> String {
        items
            .iter()
            .map(|i| format!("<rdf:li>{}</rdf:li>", xml::escape(i)))
            .collect()
    };
    let mut dc = format!(
        "<dc:format>application/pdf</dc:format>\n<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title>\n<dc:identifier>{}</dc:identifier>\n",
        xml::escape(&info.title),
        xml::escape(&info.identifier)
    );
    if let Some(author) = info.author() {
        dc.push_str(&format!(
            "<dc:creator><rdf:Seq>{}</rdf:Seq></dc:creator>\n",
            li(&[author])
        ));
    }
    if !info.languages.is_empty() {
        dc.push_str(&format!(
            "<dc:language><rdf:Bag>{}</rdf:Bag></dc:language>\n",
            li(&info.languages)
        ));
    }
    if !info.subjects.is_empty() {
        dc.push_str(&format!(
            "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:description>\n<dc:subject><rdf:Bag>{}</rdf:Bag></dc:subject>\n",
            xml::escape(&info.subjects.join("; ")),
            li(&info.subjects)
        ));
    }
    if let Some(p) = &info.publisher {
        dc.push_str(&format!(
            "<dc:publisher><rdf:Bag><rdf:li>{}</rdf:li></rdf:Bag></dc:publisher>\n",
            xml::escape(p)
        ));
    }
    if let Some(r) = &info.rights {
        dc.push_str(&format!(
            "<dc:rights><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:rights>\n",
            xml::escape(r)
        ));
    }
    let keywords = if info.subjects.is_empty() {
        String::new()
    } else {
        format!(
            "<pdf:Keywords>{}</pdf:Keywords>\n",
            xml::escape(&info.subjects.join(", "))
        )
    };
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
{dc}<xmp:CreatorTool>{tool}</xmp:CreatorTool>\n<xmp:CreateDate>{date}</xmp:CreateDate>\n<xmp:ModifyDate>{date}</xmp:ModifyDate>\n<xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
<pdf:Producer>{tool}</pdf:Producer>\n{keywords}</rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>U</pdfaid:conformance>\n</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>",
        tool = xml::escape(&info.creator_tool),
    )
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
