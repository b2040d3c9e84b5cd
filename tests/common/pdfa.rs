//! A checker for the PDF/A-2u properties kitap promises, on the produced file itself. veraPDF
//! cannot be installed here; these are the rules of ISO 19005-2 (level U) that apply to the
//! objects kitap writes, each a separate check with its own message, so a mutation test can
//! show that each one fails when its property is broken. README.md lists them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// Everything the file breaks, one line each; empty when it passes.
pub fn pdfa_violations(pdf: &Path) -> Vec<String> {
    let bytes = std::fs::read(pdf).expect("read the PDF");
    let mut v = Vec::new();
    file_structure(&bytes, &mut v);
    let doc = match Document::load_mem(&bytes) {
        Ok(doc) => doc,
        Err(e) => {
            v.push(format!("parse: lopdf cannot read the file: {e}"));
            return v;
        }
    };
    trailer(&doc, &mut v);
    let xmp = metadata(&doc, &mut v);
    if let Some(xmp) = &xmp {
        info_matches_xmp(&doc, xmp, &mut v);
        language(&doc, xmp, &mut v);
    }
    output_intent(&doc, &mut v);
    catalog_actions(&doc, &mut v);
    fonts_and_text(&doc, &mut v);
    images_and_graphics_state(&doc, &mut v);
    limits(&doc, &mut v);
    v.sort();
    v.dedup();
    v
}

/// Panics with every violation when the file is not PDF/A-2u as checked here.
pub fn assert_pdfa(pdf: &Path) {
    let v = pdfa_violations(pdf);
    assert!(
        v.is_empty(),
        "{} is not PDF/A-2u:\n  {}",
        pdf.display(),
        v.join("\n  ")
    );
}

/// Header `%PDF-1.n` (n ≤ 7), a comment of ≥ 4 bytes ≥ 128 on the second line, nothing but an
/// end-of-line after the last `%%EOF` (ISO 19005-2 6.1.2, 6.1.3).
fn file_structure(bytes: &[u8], v: &mut Vec<String>) {
    let ok_header = bytes.len() > 9
        && bytes.starts_with(b"%PDF-1.")
        && (b'0'..=b'7').contains(&bytes[7])
        && matches!(bytes[8], b'\n' | b'\r');
    if !ok_header {
        v.push("header: the file does not start with %PDF-1.0 … %PDF-1.7".into());
    }
    let second = bytes[9.min(bytes.len())..]
        .split(|&b| b == b'\n' || b == b'\r')
        .find(|l| !l.is_empty())
        .unwrap_or(&[]);
    if !(second.first() == Some(&b'%') && second[1..].iter().filter(|&&b| b >= 128).count() >= 4) {
        v.push("header: no binary comment (4 bytes ≥ 128) on the second line".into());
    }
    let tail = bytes
        .windows(5)
        .rposition(|w| w == b"%%EOF")
        .map(|i| &bytes[i + 5..]);
    if !matches!(tail, Some(b"" | b"\n" | b"\r\n" | b"\r")) {
        v.push("eof: data after the last %%EOF, or no %%EOF".into());
    }
    // Read from the bytes too: a parser may refuse an encrypted file before it can be asked.
    let last_trailer = bytes.windows(7).rposition(|w| w == b"trailer");
    if last_trailer.is_some_and(|i| bytes[i..].windows(8).any(|w| w == b"/Encrypt")) {
        v.push("trailer: the file is encrypted (/Encrypt)".into());
    }
}

/// A trailer `/ID` of two byte strings, and no encryption (6.1.3).
fn trailer(doc: &Document, v: &mut Vec<String>) {
    let id = doc.trailer.get(b"ID").and_then(Object::as_array);
    match id {
        Ok(a) if a.len() == 2 && a.iter().all(|s| s.as_str().is_ok_and(|s| !s.is_empty())) => {}
        _ => v.push("trailer: no /ID of two strings".into()),
    }
    if doc.trailer.has(b"Encrypt") {
        v.push("trailer: the file is encrypted (/Encrypt)".into());
    }
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    doc.dereference(o).map(|(_, o)| o).unwrap_or(o)
}

fn dict_at<'a>(doc: &'a Document, d: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    d.get(key)
        .ok()
        .map(|o| deref(doc, o))
        .and_then(|o| match o {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        })
}

fn name<'a>(d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    d.get(key).ok().and_then(|o| o.as_name().ok())
}

/// The catalog's `/Metadata`: an uncompressed XML stream holding an XMP packet that identifies
/// the file as PDF/A-2u (6.6.2, 6.6.4). Returns the packet.
fn metadata(doc: &Document, v: &mut Vec<String>) -> Option<String> {
    let Ok(catalog) = doc.catalog() else {
        v.push("catalog: missing".into());
        return None;
    };
    let stream = catalog
        .get(b"Metadata")
        .ok()
        .map(|o| deref(doc, o))
        .and_then(|o| o.as_stream().ok());
    let Some(stream) = stream else {
        v.push("xmp: the catalog has no /Metadata stream".into());
        return None;
    };
    if name(&stream.dict, b"Type") != Some(b"Metadata")
        || name(&stream.dict, b"Subtype") != Some(b"XML")
    {
        v.push("xmp: the metadata stream is not /Type /Metadata /Subtype /XML".into());
    }
    if stream.dict.has(b"Filter") {
        v.push("xmp: the metadata stream is compressed (/Filter)".into());
    }
    let Ok(text) = String::from_utf8(stream.content.clone()) else {
        v.push("xmp: the metadata stream is not UTF-8 XML".into());
        return None;
    };
    if !text.contains("<?xpacket begin=") || !text.contains("<?xpacket end=") {
        v.push("xmp: no xpacket header and trailer".into());
    }
    if xmp_value(&text, "pdfaid:part").as_deref() != Some("2") {
        v.push("xmp: pdfaid:part is not 2".into());
    }
    if xmp_value(&text, "pdfaid:conformance").as_deref() != Some("U") {
        v.push("xmp: pdfaid:conformance is not U".into());
    }
    Some(text)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A simple property, as an element `<p>v</p>` or an attribute `p="v"`.
fn xmp_value(xmp: &str, prop: &str) -> Option<String> {
    if let Some(i) = xmp.find(&format!("<{prop}>")) {
        let rest = &xmp[i + prop.len() + 2..];
        return Some(unescape(&rest[..rest.find('<')?]));
    }
    let i = xmp.find(&format!("{prop}=\""))?;
    let rest = &xmp[i + prop.len() + 2..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// The items of an array property (`rdf:Seq`, `rdf:Bag` or `rdf:Alt`).
fn xmp_items(xmp: &str, prop: &str) -> Option<Vec<String>> {
    let start = xmp.find(&format!("<{prop}>"))?;
    let end = start + xmp[start..].find(&format!("</{prop}>"))?;
    let body = &xmp[start..end];
    Some(
        body.split("<rdf:li")
            .skip(1)
            .filter_map(|li| {
                let li = &li[li.find('>')? + 1..];
                Some(unescape(&li[..li.find("</rdf:li>")?]))
            })
            .collect(),
    )
}

/// A PDF text string: UTF-16BE with a byte order mark, else PDFDocEncoding (Latin-1 here).
fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().map(|&b| b as char).collect()
    }
}

/// `D:YYYYMMDDHHmmSS+hh'mm'` or `YYYY-MM-DDThh:mm:ss+hh:mm` → (digits, offset minutes).
fn instant(s: &str) -> Option<(String, i32)> {
    let s = s.strip_prefix("D:").unwrap_or(s);
    // The zone starts at 'Z', '+', or a '-' after the time ('-' also separates XMP's date).
    let zone_at = s
        .char_indices()
        .find(|&(i, c)| {
            c == 'Z'
                || c == '+'
                || c == '-'
                    && (s[..i].contains('T')
                        || s[..i].chars().filter(char::is_ascii_digit).count() >= 14)
        })
        .map_or(s.len(), |(i, _)| i);
    let stamp: String = s[..zone_at].chars().filter(char::is_ascii_digit).collect();
    if stamp.len() < 4 {
        return None;
    }
    let zone = &s[zone_at..];
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let hm: Vec<i32> = zone
        .trim_start_matches(['+', '-', 'Z'])
        .split([':', '\''])
        .filter_map(|p| p.parse().ok())
        .collect();
    let minutes = hm.first().unwrap_or(&0) * 60 + hm.get(1).unwrap_or(&0);
    Some((format!("{stamp:0<14}"), sign * minutes))
}

/// Every Info entry that has an XMP counterpart equals it (6.6.2.3.1; veraPDF's rules: Author
/// must equal the single entry of dc:creator).
fn info_matches_xmp(doc: &Document, xmp: &str, v: &mut Vec<String>) {
    let Some(info) = dict_at(doc, &doc.trailer, b"Info") else {
        return;
    };
    let entry = |key: &[u8]| {
        info.get(key)
            .ok()
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_str().ok())
            .map(text_string)
    };
    let first = |prop: &str| xmp_items(xmp, prop).and_then(|i| i.into_iter().next());
    let pairs: [(&str, &str, Option<String>); 4] = [
        ("Title", "dc:title", first("dc:title")),
        ("Subject", "dc:description", first("dc:description")),
        ("Keywords", "pdf:Keywords", xmp_value(xmp, "pdf:Keywords")),
        (
            "Creator",
            "xmp:CreatorTool",
            xmp_value(xmp, "xmp:CreatorTool"),
        ),
    ];
    for (key, prop, in_xmp) in pairs {
        if let Some(value) = entry(key.as_bytes())
            && in_xmp.as_deref() != Some(value.as_str())
        {
            v.push(format!("info/xmp: /{key} {value:?} but {prop} {in_xmp:?}"));
        }
    }
    if let Some(value) = entry(b"Producer")
        && xmp_value(xmp, "pdf:Producer").as_deref() != Some(value.as_str())
    {
        v.push(format!(
            "info/xmp: /Producer {value:?} but pdf:Producer differs"
        ));
    }
    if let Some(author) = entry(b"Author") {
        let creators = xmp_items(xmp, "dc:creator").unwrap_or_default();
        if creators != [author.clone()] {
            v.push(format!(
                "info/xmp: /Author {author:?} but dc:creator {creators:?} (one entry, equal)"
            ));
        }
    }
    for (key, prop) in [
        ("CreationDate", "xmp:CreateDate"),
        ("ModDate", "xmp:ModifyDate"),
    ] {
        if let Some(value) = entry(key.as_bytes()) {
            let x = xmp_value(xmp, prop);
            if x.as_deref().and_then(instant) != instant(&value) {
                v.push(format!("info/xmp: /{key} {value:?} but {prop} {x:?}"));
            }
        }
    }
}

/// The catalog's `/Lang` is set and is the main language of dc:language.
fn language(doc: &Document, xmp: &str, v: &mut Vec<String>) {
    let lang = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Lang").ok())
        .and_then(|o| o.as_str().ok())
        .map(text_string);
    match lang {
        Some(l) if !l.is_empty() => {
            let main = xmp_items(xmp, "dc:language").and_then(|l| l.into_iter().next());
            if main.as_deref() != Some(l.as_str()) {
                v.push(format!("lang: /Lang {l:?} but dc:language starts {main:?}"));
            }
        }
        _ => v.push("lang: the catalog has no /Lang".into()),
    }
}

/// One PDF/A OutputIntent with an embedded RGB display/output ICC profile (6.2.3).
fn output_intent(doc: &Document, v: &mut Vec<String>) {
    let intents = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"OutputIntents").ok())
        .map(|o| deref(doc, o))
        .and_then(|o| o.as_array().ok());
    let Some(intents) = intents.filter(|a| !a.is_empty()) else {
        v.push("output intent: the catalog has no /OutputIntents".into());
        return;
    };
    let mut profiles = BTreeSet::new();
    let mut pdfa = 0;
    for intent in intents {
        let Ok(d) = deref(doc, intent).as_dict() else {
            v.push("output intent: not a dictionary".into());
            continue;
        };
        if name(d, b"S") != Some(b"GTS_PDFA1") {
            continue;
        }
        pdfa += 1;
        if d.get(b"OutputConditionIdentifier")
            .and_then(Object::as_str)
            .is_err()
        {
            v.push("output intent: no OutputConditionIdentifier".into());
        }
        let Ok(reference) = d.get(b"DestOutputProfile").and_then(Object::as_reference) else {
            v.push("output intent: no embedded DestOutputProfile".into());
            continue;
        };
        profiles.insert(reference);
        let Ok(stream) = doc.get_object(reference).and_then(Object::as_stream) else {
            v.push("output intent: DestOutputProfile is not a stream".into());
            continue;
        };
        let icc = stream
            .decompressed_content()
            .unwrap_or(stream.content.clone());
        let n = stream.dict.get(b"N").and_then(Object::as_i64).ok();
        let size = icc
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let header_ok = icc.len() >= 128
            && size == Some(icc.len())
            && &icc[36..40] == b"acsp"
            && &icc[16..20] == b"RGB "
            && matches!(&icc[12..16], b"mntr" | b"prtr")
            && icc[8] <= 4;
        if !header_ok {
            v.push("output intent: the profile is not a whole ICC v2–v4 RGB output profile".into());
        }
        if n != Some(3) {
            v.push(format!("output intent: profile /N {n:?}, not 3 (RGB)"));
        }
    }
    if pdfa == 0 {
        v.push("output intent: none with /S /GTS_PDFA1".into());
    }
    if profiles.len() > 1 {
        v.push("output intent: PDF/A intents with different profiles".into());
    }
}

/// No JavaScript, actions on open, embedded files or annotations that would not print (6.5, 6.6.1, 6.8).
fn catalog_actions(doc: &Document, v: &mut Vec<String>) {
    let Ok(catalog) = doc.catalog() else { return };
    if catalog.has(b"AA") {
        v.push("actions: the catalog has /AA".into());
    }
    if let Some(names) = dict_at(doc, catalog, b"Names") {
        for key in [&b"JavaScript"[..], b"EmbeddedFiles"] {
            if names.has(key) {
                v.push(format!(
                    "actions: the name tree has /{}",
                    String::from_utf8_lossy(key)
                ));
            }
        }
    }
    for (n, page) in doc.get_pages() {
        let Ok(p) = doc.get_dictionary(page) else {
            continue;
        };
        if p.has(b"AA") {
            v.push(format!("actions: page {n} has /AA"));
        }
        if let Ok(annots) = p
            .get(b"Annots")
            .map(|o| deref(doc, o))
            .and_then(Object::as_array)
        {
            for a in annots {
                let flags = deref(doc, a)
                    .as_dict()
                    .ok()
                    .and_then(|d| d.get(b"F").ok())
                    .and_then(|f| f.as_i64().ok())
                    .unwrap_or(0);
                if flags & 4 == 0 || flags & 0b10_0011 != 0 {
                    v.push(format!("annotations: page {n} has one that does not print"));
                }
            }
        }
    }
}

/// A page's resources, inherited from the page tree when the page has none.
fn resources(doc: &Document, page: ObjectId) -> Option<&Dictionary> {
    let mut d = doc.get_dictionary(page).ok()?;
    loop {
        if let Some(r) = dict_at(doc, d, b"Resources") {
            return Some(r);
        }
        d = doc
            .get_dictionary(d.get(b"Parent").ok()?.as_reference().ok()?)
            .ok()?;
    }
}

/// A parsed ToUnicode CMap: code ranges mapped to Unicode.
struct ToUnicode {
    /// (first code, last code, code bytes, first target as UTF-16 units)
    ranges: Vec<(u32, u32, usize, Vec<u16>)>,
}

impl ToUnicode {
    fn parse(cmap: &str) -> ToUnicode {
        let hex = |s: &str| -> Option<Vec<u8>> {
            let s = s.trim().trim_start_matches('<').trim_end_matches('>');
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
                .collect()
        };
        let num = |b: &[u8]| b.iter().fold(0u32, |a, &x| a << 8 | x as u32);
        let units = |b: &[u8]| -> Vec<u16> {
            b.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect()
        };
        let mut ranges = Vec::new();
        let tokens: Vec<&str> = cmap.split_whitespace().collect();
        let mut i = 0;
        while i < tokens.len() {
            match tokens[i] {
                "beginbfrange" => {
                    i += 1;
                    while i + 2 < tokens.len() && tokens[i] != "endbfrange" {
                        if let (Some(lo), Some(hi), Some(dst)) =
                            (hex(tokens[i]), hex(tokens[i + 1]), hex(tokens[i + 2]))
                        {
                            ranges.push((num(&lo), num(&hi), lo.len(), units(&dst)));
                        }
                        i += 3;
                    }
                }
                "beginbfchar" => {
                    i += 1;
                    while i + 1 < tokens.len() && tokens[i] != "endbfchar" {
                        if let (Some(src), Some(dst)) = (hex(tokens[i]), hex(tokens[i + 1])) {
                            let c = num(&src);
                            ranges.push((c, c, src.len(), units(&dst)));
                        }
                        i += 2;
                    }
                }
                _ => i += 1,
            }
        }
        ToUnicode { ranges }
    }

    /// The Unicode (UTF-16 units) a code maps to.
    fn map(&self, code: u32, len: usize) -> Option<Vec<u16>> {
        self.ranges
            .iter()
            .find(|(lo, hi, n, _)| *n == len && (*lo..=*hi).contains(&code))
            .map(|(lo, _, _, dst)| {
                let mut d = dst.clone();
                if let Some(last) = d.last_mut() {
                    *last = last.wrapping_add((code - lo) as u16);
                }
                d
            })
    }
}

/// What the checks need to know about a font used on a page.
struct FontFacts {
    two_byte: bool,
    to_unicode: Option<ToUnicode>,
    /// CID → glyph id (Identity when absent).
    cid_to_gid: Option<Vec<u8>>,
    /// Glyph advance widths from the embedded program, in 1/1000 em.
    program_widths: Option<Vec<f64>>,
    default_width: f64,
    widths: BTreeMap<u32, f64>,
}

/// Every font is embedded and has a ToUnicode map; every glyph shown maps to Unicode other
/// than U+0000/U+FEFF/U+FFFE; the widths in the PDF match the embedded program's (6.2.11).
fn fonts_and_text(doc: &Document, v: &mut Vec<String>) {
    let mut facts: BTreeMap<Vec<u8>, Option<FontFacts>> = BTreeMap::new();
    for (n, page) in doc.get_pages() {
        let Some(res) = resources(doc, page) else {
            continue;
        };
        let fonts = dict_at(doc, res, b"Font");
        let mut page_fonts: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        if let Some(fonts) = fonts {
            for (key, obj) in fonts.iter() {
                let id = match obj {
                    Object::Reference(r) => format!("{} {}", r.0, r.1).into_bytes(),
                    _ => key.clone(),
                };
                if !facts.contains_key(&id) {
                    let f = deref(doc, obj)
                        .as_dict()
                        .ok()
                        .map(|d| font_facts(doc, d, v));
                    facts.insert(id.clone(), f);
                }
                page_fonts.insert(key.clone(), id);
            }
        }
        let content = doc.get_page_content(page);
        let Ok(content) = Content::decode(&content) else {
            v.push(format!("content: page {n} cannot be parsed"));
            continue;
        };
        let mut current: Option<&FontFacts> = None;
        for op in &content.operations {
            match op.operator.as_str() {
                "Tf" => {
                    current = op
                        .operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|k| page_fonts.get(k))
                        .and_then(|id| facts.get(id))
                        .and_then(Option::as_ref);
                }
                "Tj" | "TJ" | "'" | "\"" => {
                    let Some(font) = current else {
                        v.push(format!("text: page {n} shows text with no font set"));
                        continue;
                    };
                    let mut strings = Vec::new();
                    for o in &op.operands {
                        match o {
                            Object::String(s, _) => strings.push(s.clone()),
                            Object::Array(a) => strings.extend(
                                a.iter().filter_map(|x| x.as_str().ok().map(<[u8]>::to_vec)),
                            ),
                            _ => {}
                        }
                    }
                    for s in strings {
                        shown_codes(font, &s, n, v);
                    }
                }
                "k" | "K" => v.push(format!(
                    "colour: page {n} uses DeviceCMYK ({})",
                    op.operator
                )),
                "cs" | "CS"
                    if op.operands.first().and_then(|o| o.as_name().ok())
                        == Some(b"DeviceCMYK") =>
                {
                    v.push(format!("colour: page {n} selects DeviceCMYK"));
                }
                _ => {}
            }
        }
    }
}

fn font_facts(doc: &Document, font: &Dictionary, v: &mut Vec<String>) -> FontFacts {
    let base = String::from_utf8_lossy(name(font, b"BaseFont").unwrap_or(b"?")).to_string();
    let subtype = name(font, b"Subtype").unwrap_or(b"");
    let to_unicode = match font.get(b"ToUnicode").map(|o| deref(doc, o)) {
        Ok(Object::Stream(s)) => {
            let data = s.decompressed_content().unwrap_or(s.content.clone());
            Some(ToUnicode::parse(&String::from_utf8_lossy(&data)))
        }
        _ => {
            v.push(format!("fonts: {base} has no ToUnicode map"));
            None
        }
    };
    let two_byte = subtype == b"Type0";
    let descendant = if two_byte {
        font.get(b"DescendantFonts")
            .ok()
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_array().ok())
            .and_then(|a| a.first())
            .and_then(|o| deref(doc, o).as_dict().ok())
    } else {
        Some(font)
    };
    let mut facts = FontFacts {
        two_byte,
        to_unicode,
        cid_to_gid: None,
        program_widths: None,
        default_width: 1000.0,
        widths: BTreeMap::new(),
    };
    let Some(desc_font) = descendant else {
        v.push(format!("fonts: {base} has no descendant font"));
        return facts;
    };
    if subtype == b"Type3" {
        return facts;
    }
    let descriptor = dict_at(doc, desc_font, b"FontDescriptor");
    let program = descriptor.and_then(|d| {
        [&b"FontFile"[..], b"FontFile2", b"FontFile3"]
            .iter()
            .find_map(|k| d.get(k).ok())
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_stream().ok())
    });
    let Some(program) = program else {
        v.push(format!("fonts: {base} is not embedded"));
        return facts;
    };
    if let Some(d) = descriptor
        && name(d, b"FontName") != name(desc_font, b"BaseFont")
    {
        v.push(format!("fonts: {base}: FontName differs from BaseFont"));
    }
    if name(desc_font, b"Subtype") == Some(b"CIDFontType2") {
        match desc_font.get(b"CIDToGIDMap").map(|o| deref(doc, o)) {
            Ok(Object::Stream(s)) => {
                facts.cid_to_gid = s.decompressed_content().ok();
            }
            Ok(Object::Name(n)) if n == b"Identity" => {}
            _ => v.push(format!("fonts: {base}: CIDFontType2 without a CIDToGIDMap")),
        }
    }
    let data = program
        .decompressed_content()
        .unwrap_or(program.content.clone());
    match ttf_parser::Face::parse(&data, 0) {
        Ok(face) => {
            let upem = face.units_per_em() as f64;
            facts.program_widths = Some(
                (0..face.number_of_glyphs())
                    .map(|g| {
                        face.glyph_hor_advance(ttf_parser::GlyphId(g))
                            .map_or(0.0, |a| a as f64 * 1000.0 / upem)
                    })
                    .collect(),
            );
        }
        Err(_) if program.dict.has(b"Subtype") => {} // CFF / OpenType programs: not parsed here
        Err(e) => v.push(format!(
            "fonts: {base}: the embedded program does not parse: {e}"
        )),
    }
    if let Ok(dw) = desc_font.get(b"DW").and_then(Object::as_float) {
        facts.default_width = dw as f64;
    }
    if let Ok(w) = desc_font
        .get(b"W")
        .map(|o| deref(doc, o))
        .and_then(Object::as_array)
    {
        let mut i = 0;
        while i + 1 < w.len() {
            let Ok(first) = w[i].as_i64() else { break };
            if let Ok(list) = deref(doc, &w[i + 1]).as_array() {
                for (k, x) in list.iter().enumerate() {
                    facts
                        .widths
                        .insert(first as u32 + k as u32, x.as_float().unwrap_or(0.0) as f64);
                }
                i += 2;
            } else if i + 2 < w.len() {
                let last = w[i + 1].as_i64().unwrap_or(first);
                let x = w[i + 2].as_float().unwrap_or(0.0) as f64;
                for c in first..=last {
                    facts.widths.insert(c as u32, x);
                }
                i += 3;
            } else {
                break;
            }
        }
    }
    facts
}

/// Checks each code of a shown string: it maps to Unicode, not to U+0000/U+FEFF/U+FFFE, and its
/// glyph's width in the PDF agrees with the program's.
fn shown_codes(font: &FontFacts, s: &[u8], page: u32, v: &mut Vec<String>) {
    let n = if font.two_byte { 2 } else { 1 };
    for code in s.chunks(n) {
        let c = code.iter().fold(0u32, |a, &x| a << 8 | x as u32);
        if let Some(map) = &font.to_unicode {
            match map.map(c, n) {
                Some(u) if u.is_empty() || matches!(u[..], [0] | [0xfeff] | [0xfffe]) => v.push(
                    format!("text: page {page}: code {c:#06x} maps to U+0000/U+FEFF/U+FFFE"),
                ),
                Some(_) => {}
                None => v.push(format!("text: page {page}: code {c:#06x} has no Unicode")),
            }
        }
        if let Some(widths) = &font.program_widths {
            let gid = match &font.cid_to_gid {
                Some(map) => map
                    .get(2 * c as usize..2 * c as usize + 2)
                    .map_or(0, |b| u16::from_be_bytes([b[0], b[1]])),
                None => c as u16,
            };
            if gid == 0 {
                v.push(format!("text: page {page}: code {c:#06x} shows .notdef"));
            }
            let pdf_w = font.widths.get(&c).copied().unwrap_or(font.default_width);
            let prog_w = widths.get(gid as usize).copied().unwrap_or(0.0);
            if font.two_byte && (pdf_w - prog_w).abs() > 1.0 {
                v.push(format!(
                    "fonts: glyph widths in the PDF differ from the embedded program's ({pdf_w} vs {prog_w})"
                ));
            }
        }
    }
}

fn colour_space_ok(doc: &Document, cs: &Object) -> Result<(), String> {
    match deref(doc, cs) {
        Object::Name(n) if n == b"DeviceGray" || n == b"DeviceRGB" => Ok(()),
        Object::Name(n) => Err(format!("/{}", String::from_utf8_lossy(n))),
        Object::Array(a) => match a.first().and_then(|o| o.as_name().ok()) {
            Some(b"ICCBased") => Ok(()),
            Some(b"Indexed") => a.get(1).map_or(Err("Indexed without a base".into()), |b| {
                colour_space_ok(doc, b)
            }),
            Some(other) => Err(format!("[/{} …]", String::from_utf8_lossy(other))),
            None => Err("an empty array".into()),
        },
        _ => Err("not a colour space".into()),
    }
}

/// An image's data is described consistently: 1, 2, 4, 8 or 16 bits per component (1 for
/// CCITT), an Indexed palette of at most 256 entries whose lookup holds exactly hival + 1
/// colours of its base, and CCITT parameters that match the image's size.
fn image_parameters(doc: &Document, dict: &Dictionary, what: &str, v: &mut Vec<String>) {
    let bpc = dict.get(b"BitsPerComponent").and_then(Object::as_i64).ok();
    let mask = dict
        .get(b"ImageMask")
        .and_then(Object::as_bool)
        .unwrap_or(false);
    let filters: Vec<&[u8]> = match dict.get(b"Filter") {
        Ok(Object::Name(n)) => vec![n],
        Ok(Object::Array(a)) => a.iter().filter_map(|o| o.as_name().ok()).collect(),
        _ => vec![],
    };
    let ccitt = filters.contains(&&b"CCITTFaxDecode"[..]);
    let jpeg = filters.contains(&&b"DCTDecode"[..]) || filters.contains(&&b"JPXDecode"[..]);
    let bpc_ok = jpeg || matches!(bpc, Some(1 | 2 | 4 | 8 | 16)) || mask && bpc.is_none();
    if !bpc_ok {
        v.push(format!("images: image {what} has BitsPerComponent {bpc:?}"));
    }
    if ccitt {
        let parms = dict
            .get(b"DecodeParms")
            .ok()
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_dict().ok());
        let width = dict.get(b"Width").and_then(Object::as_i64).ok();
        let columns = parms
            .and_then(|p| p.get(b"Columns").ok())
            .and_then(|c| c.as_i64().ok())
            .or(Some(1728));
        if bpc != Some(1) || columns != width {
            v.push(format!(
                "images: CCITT image {what}: Columns {columns:?} for Width {width:?}, {bpc:?} bits"
            ));
        }
    }
    if let Ok(Object::Array(cs)) = dict.get(b"ColorSpace").map(|o| deref(doc, o))
        && cs.first().and_then(|o| o.as_name().ok()) == Some(b"Indexed")
    {
        let n = match cs.get(1).map(|o| deref(doc, o)) {
            Some(Object::Name(b)) if b == b"DeviceGray" => 1,
            Some(Object::Name(b)) if b == b"DeviceRGB" => 3,
            Some(Object::Name(b)) if b == b"DeviceCMYK" => 4,
            _ => 3,
        };
        let hival = cs.get(2).and_then(|o| o.as_i64().ok()).unwrap_or(-1);
        let lookup = match cs.get(3).map(|o| deref(doc, o)) {
            Some(Object::String(s, _)) => Some(s.len()),
            Some(Object::Stream(s)) => s.decompressed_content().ok().map(|c| c.len()),
            _ => None,
        };
        let entries_fit = bpc.is_some_and(|b| (1..=8).contains(&b) && hival < 1 << b);
        if !(0..=255).contains(&hival) || lookup != Some((hival as usize + 1) * n) || !entries_fit {
            v.push(format!(
                "images: Indexed image {what}: hival {hival}, lookup {lookup:?} bytes, {bpc:?} bits"
            ));
        }
    }
}

/// Images in device colour the OutputIntent covers, no soft masks, interpolation, alternates
/// or OPI; graphics states without transparency or transfer functions; no page transparency
/// group (6.2.4, 6.2.8, 6.2.10, and kitap's "no transparency").
fn images_and_graphics_state(doc: &Document, v: &mut Vec<String>) {
    for (id, obj) in &doc.objects {
        let dict = match obj {
            Object::Stream(s) => &s.dict,
            Object::Dictionary(d) => d,
            _ => continue,
        };
        let what = format!("object {} {}", id.0, id.1);
        if name(dict, b"Subtype") == Some(b"Image") {
            if !dict
                .get(b"ImageMask")
                .and_then(Object::as_bool)
                .unwrap_or(false)
            {
                match dict.get(b"ColorSpace") {
                    Ok(cs) => {
                        if let Err(e) = colour_space_ok(doc, cs) {
                            v.push(format!("colour: image {what} is in {e}"));
                        }
                    }
                    Err(_) => v.push(format!("colour: image {what} has no ColorSpace")),
                }
            }
            image_parameters(doc, dict, &what, v);
            if dict.has(b"SMask")
                || dict
                    .get(b"SMaskInData")
                    .and_then(Object::as_i64)
                    .unwrap_or(0)
                    != 0
            {
                v.push(format!("transparency: image {what} has a soft mask"));
            }
            if dict
                .get(b"Interpolate")
                .and_then(Object::as_bool)
                .unwrap_or(false)
            {
                v.push(format!("images: image {what} asks for /Interpolate true"));
            }
            for key in [&b"Alternates"[..], b"OPI"] {
                if dict.has(key) {
                    v.push(format!(
                        "images: image {what} has /{}",
                        String::from_utf8_lossy(key)
                    ));
                }
            }
        }
        if let Ok(filters) = dict.get(b"Filter") {
            let names: Vec<&[u8]> = match filters {
                Object::Name(n) => vec![n],
                Object::Array(a) => a.iter().filter_map(|o| o.as_name().ok()).collect(),
                _ => vec![],
            };
            if names.contains(&&b"LZWDecode"[..]) {
                v.push(format!("filters: {what} uses LZWDecode"));
            }
        }
        for key in [&b"F"[..], b"FFilter", b"FDecodeParms"] {
            if matches!(obj, Object::Stream(_)) && dict.has(key) {
                v.push(format!(
                    "streams: {what} refers to external data (/{})",
                    String::from_utf8_lossy(key)
                ));
            }
        }
        if name(dict, b"Type") == Some(b"ExtGState") || dict.has(b"SMask") && !dict.has(b"Subtype")
        {
            if dict
                .get(b"SMask")
                .is_ok_and(|o| o.as_name().ok() != Some(b"None"))
            {
                v.push(format!(
                    "transparency: graphics state {what} has a soft mask"
                ));
            }
            for key in [&b"CA"[..], b"ca"] {
                if dict
                    .get(key)
                    .and_then(Object::as_float)
                    .is_ok_and(|a| a < 1.0)
                {
                    v.push(format!("transparency: graphics state {what} has alpha < 1"));
                }
            }
            if let Some(bm) = name(dict, b"BM")
                && bm != b"Normal"
                && bm != b"Compatible"
            {
                v.push(format!("transparency: graphics state {what} blends"));
            }
            if dict.has(b"TR") {
                v.push(format!(
                    "graphics state {what} has a transfer function (/TR)"
                ));
            }
        }
        if name(dict, b"Type") == Some(b"Page")
            && dict_at(doc, dict, b"Group").is_some_and(|g| name(g, b"S") == Some(b"Transparency"))
        {
            v.push(format!(
                "transparency: page {what} has a transparency group"
            ));
        }
    }
}

/// Implementation limits (6.1.13): strings ≤ 32,767 bytes, names ≤ 127 bytes, integers in
/// 32 bits, at most 8,388,607 indirect objects, pages 3 to 14,400 units a side.
fn limits(doc: &Document, v: &mut Vec<String>) {
    fn walk(o: &Object, v: &mut Vec<String>) {
        match o {
            Object::String(s, _) if s.len() > 32767 => {
                v.push("limits: a string over 32,767 bytes".into())
            }
            Object::Name(n) if n.len() > 127 => v.push("limits: a name over 127 bytes".into()),
            Object::Integer(i) if i32::try_from(*i).is_err() => {
                v.push("limits: an integer beyond 32 bits".into())
            }
            Object::Array(a) => a.iter().for_each(|x| walk(x, v)),
            Object::Dictionary(d) => d.iter().for_each(|(_, x)| walk(x, v)),
            Object::Stream(s) => s.dict.iter().for_each(|(_, x)| walk(x, v)),
            _ => {}
        }
    }
    for o in doc.objects.values() {
        walk(o, v);
    }
    for (n, page) in doc.get_pages() {
        let mb = doc
            .get_dictionary(page)
            .ok()
            .and_then(|p| p.get(b"MediaBox").ok())
            .and_then(|o| o.as_array().ok())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_float().ok())
                    .collect::<Vec<f32>>()
            });
        match mb.as_deref() {
            Some(&[x0, y0, x1, y1]) => {
                let (w, h) = ((x1 - x0).abs(), (y1 - y0).abs());
                if !(3.0..=14400.0).contains(&w) || !(3.0..=14400.0).contains(&h) {
                    v.push(format!("limits: page {n} is {w}×{h} pt, outside 3…14,400"));
                }
            }
            _ => v.push(format!("limits: page {n} has no MediaBox of four numbers")),
        }
    }
    if doc.objects.len() > 8_388_607 {
        v.push("limits: more than 8,388,607 objects".into());
    }
}

/// An entry of the PDF's Info dictionary: its length in bytes as stored (what PDF/A's
/// 32,767-byte limit counts) and its text.
pub fn info_entry(pdf: &Path, key: &str) -> Option<(usize, String)> {
    let doc = Document::load(pdf).expect("lopdf reads the PDF");
    let info = dict_at(&doc, &doc.trailer, b"Info")?;
    let bytes = info
        .get(key.as_bytes())
        .ok()
        .map(|o| deref(&doc, o))
        .and_then(|o| o.as_str().ok())?;
    Some((bytes.len(), text_string(bytes)))
}

/// The XMP packet's items of an array property (`dc:title`, `dc:creator`, …).
pub fn xmp_entries(pdf: &Path, prop: &str) -> Vec<String> {
    let doc = Document::load(pdf).expect("lopdf reads the PDF");
    let mut v = Vec::new();
    let xmp = metadata(&doc, &mut v).expect("an XMP packet");
    xmp_items(&xmp, prop).unwrap_or_default()
}
