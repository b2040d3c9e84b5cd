//! Escaping text for XML and XHTML (EPUB, XMP, hOCR): markup characters become entities and
//! control characters that XML 1.0 forbids are dropped.

/// Escapes `s` for use in element content and in single- or double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            // Not characters in XML 1.0 either.
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            super::escape("a<b>&\"c'\u{1}ж\u{fffe}"),
            "a&lt;b&gt;&amp;&quot;c&#39;ж"
        );
    }
}
