//! The one XML writer of kitap: EPUB (package document, nav, content documents, container),
//! hOCR and the PDF's XMP packet are all written with [`XmlWriter`], and so should every new
//! XML export be.
//!
//! Hand-rolled rather than quick-xml on purpose: the outputs must stay byte-identical to what
//! kitap has always written, and quick-xml escapes `'` as `&apos;` (kitap writes `&#39;`, which
//! HTML readers of old also understand) and passes XML-forbidden control characters through
//! (kitap drops them, so OCR noise cannot make a file ill-formed). The writer does no pretty
//! printing of its own unless asked ([`XmlWriter::indented`]): line breaks go exactly where the
//! caller puts them with [`XmlWriter::newline`].

/// Escapes `s` for use in element content and in single- or double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// [`escape`], appended to `out`.
fn escape_into(out: &mut String, s: &str) {
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
}

/// An XML document being written into a `String`. Element names are the caller's constants;
/// attribute values and text are always escaped. Every element opened with [`start`] is closed
/// by [`end`], which knows its name.
///
/// A document written in parts (hOCR: header, pages, footer) is resumed with [`within`] and its
/// parts taken with [`take`].
///
/// [`start`]: XmlWriter::start
/// [`end`]: XmlWriter::end
/// [`within`]: XmlWriter::within
/// [`take`]: XmlWriter::take
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    open: Vec<String>,
    /// Spaces per level when each tag goes on a line of its own; `None`: no whitespace but
    /// what the caller writes.
    indent: Option<usize>,
}

impl XmlWriter {
    /// A writer that adds no whitespace of its own.
    pub fn new() -> XmlWriter {
        XmlWriter::default()
    }

    /// A writer that puts every tag on a line of its own, `width` spaces in per level, for
    /// documents of elements only (no text).
    pub fn indented(width: usize) -> XmlWriter {
        XmlWriter {
            indent: Some(width),
            ..XmlWriter::default()
        }
    }

    /// A writer that goes on inside the elements `open` (outermost first), which an earlier
    /// part of the document opened.
    pub fn within(open: &[&str]) -> XmlWriter {
        XmlWriter {
            open: open.iter().map(|t| t.to_string()).collect(),
            ..XmlWriter::default()
        }
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>`.
    pub fn declaration(&mut self) -> &mut Self {
        self.instruction("xml", r#"version="1.0" encoding="UTF-8""#)
    }

    /// A processing instruction `<?target data?>`; `data` is written as it is.
    pub fn instruction(&mut self, target: &str, data: &str) -> &mut Self {
        self.line_start();
        self.out.push_str("<?");
        self.out.push_str(target);
        self.out.push(' ');
        self.out.push_str(data);
        self.out.push_str("?>");
        self.line_end()
    }

    /// `<!DOCTYPE decl>`; `decl` is written as it is.
    pub fn doctype(&mut self, decl: &str) -> &mut Self {
        self.line_start();
        self.out.push_str("<!DOCTYPE ");
        self.out.push_str(decl);
        self.out.push('>');
        self.line_end()
    }

    /// Opens element `tag` with attributes `attrs` (name, value), in that order.
    pub fn start(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.line_start();
        self.open_tag(tag, attrs);
        self.out.push('>');
        self.open.push(tag.to_string());
        self.line_end()
    }

    /// Closes the element opened last.
    ///
    /// # Panics
    /// When no element is open: a bug in the caller.
    pub fn end(&mut self) -> &mut Self {
        let tag = self.open.pop().expect("an open element to end");
        self.line_start();
        self.out.push_str("</");
        self.out.push_str(&tag);
        self.out.push('>');
        self.line_end()
    }

    /// An element without content: `<tag attrs/>`.
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.line_start();
        self.open_tag(tag, attrs);
        self.out.push_str("/>");
        self.line_end()
    }

    /// An element holding only `text`: `<tag attrs>text</tag>`, on one line when indented.
    pub fn element(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) -> &mut Self {
        self.line_start();
        self.open_tag(tag, attrs);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self.line_end()
    }

    /// Character data, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.out, text);
        self
    }

    /// A line break.
    pub fn newline(&mut self) -> &mut Self {
        self.out.push('\n');
        self
    }

    /// What was written since the start or the last `take`; open elements stay open.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    /// The document.
    ///
    /// # Panics
    /// When an element is still open: a bug in the caller.
    pub fn finish(self) -> String {
        assert!(self.open.is_empty(), "unclosed elements {:?}", self.open);
        self.out
    }

    fn open_tag(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn line_start(&mut self) {
        if let Some(width) = self.indent {
            let n = width * self.open.len();
            self.out.extend(std::iter::repeat_n(' ', n));
        }
    }

    fn line_end(&mut self) -> &mut Self {
        if self.indent.is_some() {
            self.out.push('\n');
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}ж\u{fffe}"),
            "a&lt;b&gt;&amp;&quot;c&#39;ж"
        );
    }

    #[test]
    fn writes_what_it_is_told_and_escapes_values() {
        let mut x = XmlWriter::new();
        x.declaration().newline();
        x.start("p", &[("class", "a\"b"), ("id", "p1")])
            .text("x < y & 'z'")
            .empty("br", &[])
            .element("span", &[], "\u{1}ok")
            .end()
            .newline();
        assert_eq!(
            x.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <p class=\"a&quot;b\" id=\"p1\">x &lt; y &amp; &#39;z&#39;<br/><span>ok</span></p>\n"
        );
    }

    #[test]
    fn indents_element_only_documents() {
        let mut x = XmlWriter::indented(2);
        x.declaration().start("a", &[]).empty("b", &[("k", "v")]);
        x.element("c", &[], "t").end();
        assert_eq!(
            x.finish(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b k=\"v\"/>\n  <c>t</c>\n</a>\n"
        );
    }

    #[test]
    fn resumes_inside_open_elements() {
        let mut x = XmlWriter::within(&["html", "body"]);
        x.end().newline().end().newline();
        assert_eq!(x.finish(), "</body>\n</html>\n");
    }
}
