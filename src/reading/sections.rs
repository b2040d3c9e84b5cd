//! Content documents: the reflowed book split into EPUB documents at chapters or headings,
//! and after at most so many pages.

use std::collections::HashMap;

use super::{Inline, ReadingBlock, ReadingText};

/// One content document of the EPUB.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Table-of-contents entry: a chapter or heading title, `None` for a run of pages.
    pub title: Option<String>,
    /// The chapter from book.toml that starts here (written as `<h1>`).
    pub chapter: Option<String>,
    pub blocks: Vec<ReadingBlock>,
    /// Pages that begin in this document.
    pub pages: Vec<u32>,
    /// It begins inside a page (at a heading): that page counts towards its length too.
    pub begins_mid_page: bool,
}

impl Section {
    /// Pages the document spans, for its limit: those beginning in it, and the one it began in.
    fn spans(&self) -> usize {
        self.pages.len() + usize::from(self.begins_mid_page)
    }
}

/// Splits the reading into content documents: at book.toml chapters when given, else at
/// detected headings when `headings` (the pipeline's `epub_headings = "auto"`); and after at most `per` pages in any case, so no document is huge (a
/// paragraph running over that page turn is split, its second half marked `continued`).
pub fn sections(
    reading: &ReadingText,
    chapters: &[(String, u32)],
    per: u32,
    headings: bool,
) -> Vec<Section> {
    let per = per.max(1) as usize;
    let chapter_at: HashMap<u32, &str> = chapters
        .iter()
        .rev()
        .map(|(t, p)| (*p, t.as_str()))
        .collect();
    let by_heading = headings && chapter_at.is_empty();
    let mut out: Vec<Section> = Vec::new();
    let new_section = |out: &mut Vec<Section>, chapter: Option<&str>| {
        out.push(Section {
            title: chapter.map(str::to_string),
            chapter: chapter.map(str::to_string),
            blocks: Vec::new(),
            pages: Vec::new(),
            begins_mid_page: false,
        });
    };
    let has_text = |s: &Section| {
        s.blocks
            .iter()
            .any(|b| matches!(b, ReadingBlock::Para { .. } | ReadingBlock::PageImage(_)))
    };
    for block in &reading.blocks {
        match block {
            ReadingBlock::PageBreak(p) => {
                let chapter = chapter_at.get(p).copied();
                let full = out.last().is_none_or(|s| s.spans() >= per);
                if chapter.is_some() || full {
                    new_section(&mut out, chapter);
                }
                let s = out.last_mut().expect("a section");
                s.pages.push(*p);
                s.blocks.push(block.clone());
            }
            ReadingBlock::Heading(t) => {
                let s = out.last_mut().expect("pages begin with a page break");
                if by_heading && has_text(s) {
                    // The heading's page break (and nothing else before it) moves along.
                    let moved = match s.blocks.last() {
                        Some(ReadingBlock::PageBreak(p)) => {
                            let p = *p;
                            s.blocks.pop();
                            s.pages.pop();
                            Some(p)
                        }
                        _ => None,
                    };
                    new_section(&mut out, None);
                    let s = out.last_mut().expect("just pushed");
                    match moved {
                        Some(p) => {
                            s.pages.push(p);
                            s.blocks.push(ReadingBlock::PageBreak(p));
                        }
                        None => s.begins_mid_page = true,
                    }
                }
                let s = out.last_mut().expect("a section");
                if by_heading && s.title.is_none() && !has_text(s) {
                    s.title = Some(t.clone());
                }
                s.blocks.push(block.clone());
            }
            ReadingBlock::Para { inlines, continued } => {
                // Page turns inside the paragraph may close the document too.
                let mut part: Vec<Inline> = Vec::new();
                let mut cont = *continued;
                for inline in inlines {
                    if let Inline::Break(p) = inline {
                        let chapter = chapter_at.get(p).copied();
                        let full = out.last().is_some_and(|s| s.spans() >= per);
                        if chapter.is_some() || full {
                            out.last_mut()
                                .expect("a section")
                                .blocks
                                .push(ReadingBlock::Para {
                                    inlines: std::mem::take(&mut part),
                                    continued: cont,
                                });
                            cont = true;
                            new_section(&mut out, chapter);
                        }
                        out.last_mut().expect("a section").pages.push(*p);
                    }
                    part.push(inline.clone());
                }
                out.last_mut()
                    .expect("a section")
                    .blocks
                    .push(ReadingBlock::Para {
                        inlines: part,
                        continued: cont,
                    });
            }
            ReadingBlock::PageImage(_) => out
                .last_mut()
                .expect("a section")
                .blocks
                .push(block.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::fixtures::page_from;
    use crate::reading::{PageText, reflow};

    #[test]
    fn tall_short_lines_are_headings_and_start_sections() {
        let body: Vec<&str> = vec!["Обычная строка текста."; 10];
        let mut p2 = page_from(2, 1000.0, None, &[&["Глава вторая"], &body], None);
        p2.lines[0].bbox.y1 = p2.lines[0].bbox.y0 + 60.0;
        let pages = vec![
            page_from(1, 1000.0, None, &[&body], None),
            p2,
            page_from(3, 1000.0, None, &[&body], None),
        ];
        let r = reflow(&pages, None);
        let s = sections(&r, &[], 10, true);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].title.as_deref(), Some("Глава вторая"));
        assert_eq!(s[1].pages, [2, 3]);
        assert_eq!(s[1].blocks[0], ReadingBlock::PageBreak(2));
    }

    /// One page a document (the newspaper pipeline): a document begun at a headline inside
    /// page 1 ends at page 2, even when its article runs on over the page turn.
    #[test]
    fn a_document_begun_at_a_heading_counts_the_page_it_began_in() {
        let text = |t: &str| Inline::Text(t.into());
        let r = ReadingText {
            blocks: vec![
                ReadingBlock::PageBreak(1),
                ReadingBlock::Para {
                    inlines: vec![text("Передовица.")],
                    continued: false,
                },
                ReadingBlock::Heading("Капуста кӧчан".into()),
                ReadingBlock::Para {
                    inlines: vec![text("статья идёт"), Inline::Break(2), text("дальше.")],
                    continued: false,
                },
            ],
            labels: vec!["1".into(), "2".into()],
        };
        let s = sections(&r, &[], 1, true);
        assert_eq!(s.len(), 3, "{s:#?}");
        assert_eq!(s[1].title.as_deref(), Some("Капуста кӧчан"));
        assert!(s[1].pages.is_empty() && s[1].begins_mid_page);
        assert_eq!(s[2].pages, [2]);
        assert!(matches!(
            s[2].blocks[0],
            ReadingBlock::Para {
                continued: true,
                ..
            }
        ));
    }

    #[test]
    fn sections_close_after_n_pages_even_inside_a_paragraph() {
        let pages: Vec<PageText> = (1..=25)
            .map(|i| {
                page_from(
                    i,
                    1000.0,
                    None,
                    &[&["текст без конца и", "ещё текст"]],
                    None,
                )
            })
            .collect();
        let r = reflow(&pages, None);
        // One paragraph through the whole book.
        assert_eq!(
            r.blocks
                .iter()
                .filter(|b| matches!(b, ReadingBlock::Para { .. }))
                .count(),
            1
        );
        let s = sections(&r, &[], 10, true);
        let spans: Vec<(u32, u32)> = s
            .iter()
            .map(|s| (s.pages[0], *s.pages.last().unwrap()))
            .collect();
        assert_eq!(spans, [(1, 10), (11, 20), (21, 25)]);
        assert!(matches!(
            s[1].blocks[0],
            ReadingBlock::Para {
                continued: true,
                ..
            }
        ));
    }

    #[test]
    fn chapters_from_book_toml_start_documents() {
        let pages: Vec<PageText> = (1..=6)
            .map(|i| page_from(i, 1000.0, None, &[&["Абзац."]], None))
            .collect();
        let r = reflow(&pages, None);
        let s = sections(&r, &[("Один".into(), 3), ("Два".into(), 5)], 10, true);
        let spans: Vec<(u32, u32)> = s
            .iter()
            .map(|s| (s.pages[0], *s.pages.last().unwrap()))
            .collect();
        assert_eq!(spans, [(1, 2), (3, 4), (5, 6)]);
        assert_eq!(s[1].chapter.as_deref(), Some("Один"));
    }
}
