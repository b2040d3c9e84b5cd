//! `kitap export shelf`: the virtual shelf a library prints for its entrance — A4 pages of book
//! cards (cover, title, authors and a QR code a reader's phone opens the book with) — and each
//! book's QR code as SVG and PNG beside its files (`OUT/<id>/<id>.qr.svg`, `.qr.png`).
//!
//! Everything on the page but the covers is vector: the QR codes are filled rectangles, crisp at
//! any printer's resolution, and the text is an embedded subset of a TrueType font (DejaVu Sans
//! by default: every Latin, Cyrillic and Turkmen letter), so the titles also copy out.

mod font;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use pdf_writer::{Content, Filter, Name, Pdf, Rect, Ref, Str, TextStr};

use super::qr::{self, Qr};
use super::{BaseUrl, Batch, EPUB, EXPORT_DIR, ExportError, Outcome, PDF};
use crate::cli::{QrTarget, ShelfArgs};
use crate::manifest::{BookRecord, Status};
use crate::pdf::deflate;
use font::Font;

/// DejaVu Sans and its bold, as Debian's fonts-dejavu-core installs them.
const REGULAR_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const BOLD_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

/// A4 portrait, in points.
const PAGE: (f32, f32) = (595.276, 841.89);
/// 15 mm: clear of what office printers cannot reach, and room to pin the poster up.
const MARGIN: f32 = 42.52;
/// Between cards: room for scissors.
const GUTTER: f32 = 12.0;
/// What `--title` takes at the top of every page.
const HEADING_BAND: f32 = 34.0;
const HEADING_SIZE: f32 = 16.0;
const FOOTER_SIZE: f32 = 7.0;
/// The card of the default 3×4 grid, which the type and padding sizes below are for; other
/// grids scale them with their cards.
const DEFAULT_CARD: (f32, f32) = (162.0, 180.0);
/// Inside a default card's edge, in points.
const PADDING: f32 = 8.0;
/// The kinds of text on a card; title and authors run down from below the code, the imprint
/// sits on the card's bottom edge (level across a row), the note for an incomplete book at the
/// right end of the imprint's line.
const TITLE: Kind = Kind {
    style: Style::Bold,
    size: 11.0,
    grey: 0.0,
    lines: 3,
};
const AUTHORS: Kind = Kind {
    style: Style::Regular,
    size: 8.5,
    grey: 0.25,
    lines: 2,
};
const IMPRINT: Kind = Kind {
    style: Style::Regular,
    size: 7.0,
    grey: 0.25,
    lines: 1,
};
const NOTE: Kind = Kind {
    style: Style::Regular,
    size: 7.0,
    grey: 0.45,
    lines: 1,
};
/// Baseline to baseline, in type sizes.
const LEADING: f32 = 1.22;
/// Below a block's last baseline: descenders and the space before the next block, in sizes.
const BLOCK_END: f32 = 0.4;
/// Cover thumbnails: 300 px over the ~2.3 cm a cover takes on a 3×4 grid is over 300 dpi.
const COVER_PX: u32 = 300;
const COVER_QUALITY: u8 = 82;
/// Greys (0 black, 1 white).
const TEXT_GREY: f32 = 0.0;
const FOOTER_GREY: f32 = 0.45;
const RULE_GREY: f32 = 0.75;
const NO_COVER_GREY: f32 = 0.9;

/// The densest grid whose QR codes scan (see [`Grid::parse`]).
const MAX_COLUMNS: usize = 4;
const MAX_ROWS: usize = 5;

/// Books a page: `--grid COLUMNSxROWS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grid {
    columns: usize,
    rows: usize,
}

impl Grid {
    /// Up to 4 columns and 5 rows, where a code is still 24 mm across: long URLs
    /// (percent-encoded Cyrillic ids) need about 50 modules, and a 150 dpi rendering of a 5×6
    /// page already failed to decode one code in four — a phone at arm's length does no better.
    fn parse(s: &str) -> Result<Grid, ExportError> {
        let bad = || {
            ExportError::Usage(format!(
                "--grid {s:?}: give COLUMNSxROWS, up to {MAX_COLUMNS}x{MAX_ROWS} (e.g. 3x4); smaller codes do not scan"
            ))
        };
        let (c, r) = s.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let n = |v: &str, max: usize| v.trim().parse().ok().filter(|n| (1..=max).contains(n));
        Ok(Grid {
            columns: n(c, MAX_COLUMNS).ok_or_else(bad)?,
            rows: n(r, MAX_ROWS).ok_or_else(bad)?,
        })
    }

    fn per_page(self) -> usize {
        self.columns * self.rows
    }
}

/// What a card shows.
struct Card {
    /// What the code opens.
    url: String,
    title: String,
    authors: String,
    /// Place, publisher and year, as far as book.toml gives them.
    imprint: String,
    partial: bool,
    cover: Option<Cover>,
    qr: Qr,
}

/// A cover thumbnail, ready to embed: the EPUB's cover (up to 1200×1600, four times what a
/// card needs) fitted to [`COVER_PX`] wide.
type Cover = super::Fitted;

/// Writes the QR codes of the exported books and the shelf PDF.
pub fn export(batch: &Batch, args: &ShelfArgs) -> Result<Outcome, ExportError> {
    let grid = Grid::parse(&args.grid)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| batch.default_output("shelf.pdf"));
    batch.check_target(&path, true)?;
    let base = BaseUrl::parse(&args.served.base_url)?;
    let files = FontFiles::read(args.font.as_deref())?;
    let mut fonts = files.parse()?;
    let heading = args
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(c) = heading.and_then(|t| fonts.get(Style::Bold).missing(t)) {
        return Err(ExportError::Usage(format!(
            "--title: the font has no glyph for {}; use --font",
            letter(c)
        )));
    }
    let mut problems = Vec::new();
    let (mut cards, mut placed) = (Vec::new(), Vec::new());
    // Decoding and shrinking the covers is most of the work: on every core.
    let books: Vec<&BookRecord> = batch.books().collect();
    let mut covers: Vec<Option<Cover>> = books
        .par_iter()
        .map(|book| {
            let jpeg = batch.cover_jpeg(book)?;
            super::fitted_jpegs(&jpeg, &[((COVER_PX, 4 * COVER_PX), COVER_QUALITY)])?.pop()
        })
        .collect();
    for (book, cover) in books.into_iter().zip(covers.iter_mut()) {
        let url = match link(batch, &base, book, args.qr_target) {
            Ok(url) => url,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let qr = match Qr::encode(&url) {
            Ok(qr) => qr,
            Err(e) => {
                problems.push(format!("{}: {e}; not on the shelf", book.id));
                continue;
            }
        };
        let card = Card {
            url,
            title: super::title(book).to_string(),
            authors: authors(&book.metadata.authors),
            imprint: imprint(&book.metadata),
            partial: book.status == Status::Partial,
            cover: cover.take(),
            qr,
        };
        // The card is still placed (a box for each such letter): one line a book says what to fix.
        let missing: Vec<String> = [
            ("title", &card.title, Style::Bold),
            ("authors", &card.authors, Style::Regular),
            ("place or publisher", &card.imprint, Style::Regular),
        ]
        .into_iter()
        .filter_map(|(what, text, style)| {
            let c = fonts.get(style).missing(text)?;
            Some(format!("{} in its {what}", letter(c)))
        })
        .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{}: the font has no glyph for {}; use --font",
                book.id,
                missing.join(", ")
            ));
        }
        cards.push(card);
        placed.push(book);
    }
    // Rendered before anything is written: a font that cannot be subset leaves OUT as it was.
    let pdf = render(&cards, grid, heading, &base, &mut fonts)?;
    for (book, card) in placed.iter().zip(&cards) {
        qr::write_files(batch, book, &card.qr, &card.url)?;
    }
    super::write(&path, &pdf)?;
    Ok(Outcome {
        written: path,
        books: cards.len(),
        problems,
        warnings: Vec::new(),
    })
}

/// The authors for the card: lines break between two authors rather than inside a name (its
/// spaces made no-break spaces, which are drawn and copied out as spaces).
fn authors(authors: &[String]) -> String {
    authors
        .iter()
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(NBSP))
        .collect::<Vec<_>>()
        .join("; ")
}

const NBSP: &str = "\u{a0}";

/// `Київ: Дніпро, 1925`, the order of a catalogue's imprint.
fn imprint(meta: &crate::config::BookMeta) -> String {
    let place_publisher = [meta.place.as_deref(), meta.publisher.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    let year = meta.shown_date();
    [Some(place_publisher).filter(|s| !s.is_empty()), year]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `'Ж' (U+0416)`.
fn letter(c: char) -> String {
    format!("'{c}' (U+{:04X})", c as u32)
}

/// What the book's QR code opens, or why it has none (a line for stderr).
fn link(
    batch: &Batch,
    base: &BaseUrl,
    book: &BookRecord,
    target: QrTarget,
) -> Result<String, String> {
    let media_type = match target {
        QrTarget::Epub => EPUB,
        QrTarget::Pdf => PDF,
        QrTarget::Opds => {
            // One complete Atom entry a book, which OPDS readers open on its own.
            let entry = format!("{EXPORT_DIR}/opds/{}", super::opds::entry_path(&book.id));
            return if batch.path(&entry).is_file() {
                Ok(base.of(&entry))
            } else {
                Err(format!(
                    "{}: {entry} is missing, not on the shelf; run kitap export opds first",
                    book.id
                ))
            };
        }
    };
    let file =
        super::for_readers(book, media_type).expect("Batch::open chose books with a PDF and EPUB");
    Ok(base.of(&file.path))
}

/// The font files' bytes: DejaVu Sans and DejaVu Sans Bold, or the one `--font` gives for both.
struct FontFiles {
    regular: (PathBuf, Vec<u8>),
    bold: Option<(PathBuf, Vec<u8>)>,
}

impl FontFiles {
    fn read(font: Option<&Path>) -> Result<FontFiles, ExportError> {
        if let Some(path) = font {
            let data = std::fs::read(path)
                .map_err(|e| ExportError::Usage(format!("--font {}: {e}", path.display())))?;
            return Ok(FontFiles {
                regular: (path.to_path_buf(), data),
                bold: None,
            });
        }
        let read = |p: &str| {
            std::fs::read(p)
                .map(|data| (PathBuf::from(p), data))
                .map_err(|e| {
                    ExportError::Usage(format!(
                        "{p}: {e}; install Debian's fonts-dejavu-core, or give a TrueType font with --font"
                    ))
                })
        };
        Ok(FontFiles {
            regular: read(REGULAR_FONT)?,
            bold: Some(read(BOLD_FONT)?),
        })
    }

    fn parse(&self) -> Result<Fonts<'_>, ExportError> {
        fn parse((path, data): &(PathBuf, Vec<u8>)) -> Result<Font<'_>, ExportError> {
            Font::parse(path, data)
        }
        Ok(Fonts {
            regular: parse(&self.regular)?,
            bold: self.bold.as_ref().map(parse).transpose()?,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Regular,
    Bold,
}

/// A kind of text on a card, its size on a default card.
#[derive(Debug, Clone, Copy)]
struct Kind {
    style: Style,
    size: f32,
    grey: f32,
    /// The most lines it takes; more end in an ellipsis.
    lines: usize,
}

impl Kind {
    /// The height `lines` lines take from the top of the first (`ascent` em above its
    /// baseline) to the end of the block, at `scale`.
    fn height(self, lines: usize, ascent: f32, scale: f32) -> f32 {
        if lines == 0 {
            return 0.0;
        }
        (ascent + (lines - 1) as f32 * LEADING + BLOCK_END) * self.size * scale
    }
}

/// The shelf's fonts; with `--font` one font does for both styles (titles then stand out by
/// size alone).
struct Fonts<'a> {
    regular: Font<'a>,
    bold: Option<Font<'a>>,
}

impl<'a> Fonts<'a> {
    /// The taller ascender of the two, in em: what the layout leaves above a line.
    fn ascent(&self) -> f32 {
        let bold = self.bold.as_ref().map_or(0.0, |b| b.ascent(1.0));
        self.regular.ascent(1.0).max(bold)
    }

    fn get(&mut self, style: Style) -> &mut Font<'a> {
        match (style, &mut self.bold) {
            (Style::Bold, Some(bold)) => bold,
            _ => &mut self.regular,
        }
    }

    /// The page resource name of a style's font.
    fn name(&self, style: Style) -> Name<'static> {
        match (style, &self.bold) {
            (Style::Bold, Some(_)) => Name(b"F2"),
            _ => Name(b"F1"),
        }
    }
}

/// Where things go on a page, in points from the bottom left; a card's parts from its top left.
#[derive(Debug)]
struct Layout {
    /// Top of the grid.
    top: f32,
    card: (f32, f32),
    /// Type and padding relative to a default card.
    scale: f32,
    /// Side of the QR code, quiet zone included: it takes the card's top right corner.
    qr: f32,
    /// The box the cover is fitted into, at the card's top left inside the padding.
    cover: (f32, f32),
}

impl Layout {
    /// `ascent`: the fonts' ascender in em.
    fn new(grid: Grid, heading: bool, ascent: f32) -> Layout {
        let top = PAGE.1 - MARGIN - if heading { HEADING_BAND } else { 0.0 };
        let (cols, rows) = (grid.columns as f32, grid.rows as f32);
        let card = (
            (PAGE.0 - 2.0 * MARGIN - GUTTER * (cols - 1.0)) / cols,
            (top - MARGIN - GUTTER * (rows - 1.0)) / rows,
        );
        let scale = (card.0 / DEFAULT_CARD.0)
            .min(card.1 / DEFAULT_CARD.1)
            .clamp(0.5, 2.0);
        let pad = PADDING * scale;
        let text = [TITLE, AUTHORS, IMPRINT]
            .iter()
            .map(|k| k.height(k.lines, ascent, scale))
            .sum::<f32>()
            + pad;
        // The cover (3:4, padded) beside the code fills the card's width: pad + ¾(qr − 2 pad)
        // + qr = width. The text below (the code's quiet zone above it) takes what it needs of
        // the height.
        let qr = ((card.0 + 0.5 * pad) / 1.75).min(card.1 - text);
        let cover_h = qr - 2.0 * pad;
        let cover_w = (card.0 - pad - qr).min(0.75 * cover_h);
        Layout {
            top,
            card,
            scale,
            qr,
            cover: (cover_w, cover_h),
        }
    }

    fn pad(&self) -> f32 {
        PADDING * self.scale
    }

    /// The top left corner of the `i`th card on a page.
    fn card_at(&self, i: usize, grid: Grid) -> (f32, f32) {
        let (col, row) = ((i % grid.columns) as f32, (i / grid.columns) as f32);
        (
            MARGIN + col * (self.card.0 + GUTTER),
            self.top - row * (self.card.1 + GUTTER),
        )
    }
}

/// The shelf as PDF bytes: cards in reading order, `grid` a page.
fn render(
    cards: &[Card],
    grid: Grid,
    heading: Option<&str>,
    base: &BaseUrl,
    fonts: &mut Fonts,
) -> Result<Vec<u8>, ExportError> {
    let layout = Layout::new(grid, heading.is_some(), fonts.ascent());
    let mut next = Ref::new(1);
    let (catalog, tree, info) = (next.bump(), next.bump(), next.bump());
    let regular_ref = next.bump();
    let bold_ref = fonts.bold.as_ref().map(|_| next.bump());
    let mut pdf = Pdf::new();

    let covers: Vec<Option<Ref>> = cards
        .iter()
        .map(|card| {
            let cover = card.cover.as_ref()?;
            let id = next.bump();
            let mut x = pdf.image_xobject(id, &cover.jpeg);
            x.filter(Filter::DctDecode);
            x.width(cover.width as i32)
                .height(cover.height as i32)
                .bits_per_component(8)
                .color_space_name(Name(if cover.grey {
                    b"DeviceGray"
                } else {
                    b"DeviceRGB"
                }));
            Some(id)
        })
        .collect();

    // An empty shelf is still a page: the heading says what it is for.
    let pages = cards.len().div_ceil(grid.per_page()).max(1);
    let mut page_refs = Vec::with_capacity(pages);
    for p in 0..pages {
        let on_page = p * grid.per_page()..((p + 1) * grid.per_page()).min(cards.len());
        let mut content = Content::new();
        if let Some(heading) = heading {
            draw_heading(&mut content, fonts, heading);
        }
        draw_footer(&mut content, fonts, base, p + 1, pages);
        for (slot, i) in on_page.clone().enumerate() {
            let image = covers[i].map(|_| image_name(i));
            let at = layout.card_at(slot, grid);
            draw_card(
                &mut content,
                fonts,
                &layout,
                at,
                &cards[i],
                image.as_deref(),
            );
        }

        let (page_id, content_id) = (next.bump(), next.bump());
        page_refs.push(page_id);
        pdf.stream(content_id, &deflate(&content.finish()))
            .filter(Filter::FlateDecode);
        let mut page = pdf.page(page_id);
        page.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(content_id);
        let mut resources = page.resources();
        {
            let mut font_dict = resources.fonts();
            font_dict.pair(Name(b"F1"), regular_ref);
            if let Some(bold) = bold_ref {
                font_dict.pair(Name(b"F2"), bold);
            }
        }
        let mut images = resources.x_objects();
        for i in on_page {
            if let Some(id) = covers[i] {
                images.pair(Name(image_name(i).as_bytes()), id);
            }
        }
    }

    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(pages as i32);
    pdf.catalog(catalog).pages(tree);
    let producer = format!("kitap {}", env!("CARGO_PKG_VERSION"));
    pdf.document_info(info)
        .title(TextStr(heading.unwrap_or("Virtual shelf")))
        .creator(TextStr("kitap export shelf"))
        .producer(TextStr(&producer));
    fonts
        .regular
        .write(&mut pdf, regular_ref, &mut || next.bump())?;
    if let (Some(bold), Some(id)) = (&fonts.bold, bold_ref) {
        bold.write(&mut pdf, id, &mut || next.bump())?;
    }
    Ok(pdf.finish())
}

/// The XObject name of card `i`'s cover.
fn image_name(i: usize) -> String {
    format!("Im{i}")
}

fn draw_heading(content: &mut Content, fonts: &mut Fonts, heading: &str) {
    let font = fonts.get(Style::Bold);
    let baseline = PAGE.1 - MARGIN - font.ascent(HEADING_SIZE);
    let lines = fit(heading, 1, PAGE.0 - 2.0 * MARGIN, font, HEADING_SIZE);
    let at = (MARGIN, baseline);
    for line in &lines {
        text(
            content,
            fonts,
            Style::Bold,
            HEADING_SIZE,
            TEXT_GREY,
            at,
            line,
        );
    }
    let rule = PAGE.1 - MARGIN - HEADING_BAND + GUTTER;
    content
        .set_stroke_gray(RULE_GREY)
        .set_line_width(0.75)
        .move_to(MARGIN, rule)
        .line_to(PAGE.0 - MARGIN, rule)
        .stroke();
}

/// Where the codes lead and the page number, below the grid.
fn draw_footer(
    content: &mut Content,
    fonts: &mut Fonts,
    base: &BaseUrl,
    page: usize,
    pages: usize,
) {
    let baseline = MARGIN - 2.0 * FOOTER_SIZE;
    let number = format!("{page} / {pages}");
    let right = PAGE.0 - MARGIN - fonts.get(Style::Regular).width(&number, FOOTER_SIZE);
    for (x, s) in [(MARGIN, base.as_str()), (right, number.as_str())] {
        text(
            content,
            fonts,
            Style::Regular,
            FOOTER_SIZE,
            FOOTER_GREY,
            (x, baseline),
            s,
        );
    }
}

/// One card with its top left corner at `(x, y)`.
fn draw_card(
    content: &mut Content,
    fonts: &mut Fonts,
    layout: &Layout,
    (x, y): (f32, f32),
    card: &Card,
    image: Option<&str>,
) {
    let (w, h) = layout.card;
    let (s, pad) = (layout.scale, layout.pad());
    rounded_rect(content, (x, y - h, w, h), 6.0 * s);
    content
        .set_stroke_gray(RULE_GREY)
        .set_line_width(0.6)
        .stroke();

    // The cover, fitted into its box at the top left; a grey box when the book has none.
    let (bw, bh) = layout.cover;
    let (cx, ctop) = (x + pad, y - pad);
    match (image, &card.cover) {
        (Some(name), Some(cover)) => {
            let k = (bw / cover.width as f32).min(bh / cover.height as f32);
            let (iw, ih) = (cover.width as f32 * k, cover.height as f32 * k);
            content
                .save_state()
                .transform([iw, 0.0, 0.0, ih, cx, ctop - ih])
                .x_object(Name(name.as_bytes()))
                .restore_state();
            // A hairline, so a white page still reads as a cover on white paper.
            content
                .rect(cx, ctop - ih, iw, ih)
                .set_stroke_gray(RULE_GREY)
                .set_line_width(0.3)
                .stroke();
        }
        _ => {
            content
                .rect(cx, ctop - bh, bw, bh)
                .set_fill_gray(NO_COVER_GREY)
                .fill_nonzero();
        }
    }

    // The code in the top right corner, its quiet zone its margin; one path, so no seams
    // between modules at any resolution.
    let module = layout.qr / card.qr.size() as f32;
    let (qx, qtop) = (x + w - layout.qr, y);
    for (row, col, len) in card.qr.runs() {
        content.rect(
            qx + col as f32 * module,
            qtop - (row + 1) as f32 * module,
            len as f32 * module,
            module,
        );
    }
    content.set_fill_gray(0.0).fill_nonzero();

    // Title and authors below the code (the cover ends `pad` above), the imprint and the
    // note on the bottom edge: the layout left room for every kind's most lines.
    let width = w - 2.0 * pad;
    let ascent = fonts.ascent();
    let mut top = y - layout.qr;
    for (kind, words) in [(TITLE, &card.title), (AUTHORS, &card.authors)] {
        let lines = fit(
            words,
            kind.lines,
            width,
            fonts.get(kind.style),
            kind.size * s,
        );
        draw_lines(
            content,
            fonts,
            kind,
            s,
            (x + pad, top - ascent * kind.size * s),
            &lines,
        );
        top -= kind.height(lines.len(), ascent, s);
    }
    let baseline = y - h + pad + BLOCK_END * IMPRINT.size * s;
    let mut imprint_width = width;
    if card.partial {
        let note = "incomplete";
        let note_w = fonts.get(NOTE.style).width(note, NOTE.size * s);
        let at = (x + w - pad - note_w, baseline);
        draw_lines(content, fonts, NOTE, s, at, &[note.to_string()]);
        imprint_width -= note_w + pad;
    }
    let kind = IMPRINT;
    let lines = fit(
        &card.imprint,
        kind.lines,
        imprint_width,
        fonts.get(kind.style),
        kind.size * s,
    );
    draw_lines(content, fonts, kind, s, (x + pad, baseline), &lines);
}

/// Lines of a kind of text at `scale`, the first's baseline at `at`.
fn draw_lines(
    content: &mut Content,
    fonts: &mut Fonts,
    kind: Kind,
    scale: f32,
    (x, y): (f32, f32),
    lines: &[String],
) {
    let size = kind.size * scale;
    for (i, line) in lines.iter().enumerate() {
        let baseline = y - i as f32 * LEADING * size;
        text(
            content,
            fonts,
            kind.style,
            size,
            kind.grey,
            (x, baseline),
            line,
        );
    }
}

/// Draws one line of text with its baseline's start at `at`.
fn text(
    content: &mut Content,
    fonts: &mut Fonts,
    style: Style,
    size: f32,
    grey: f32,
    (x, y): (f32, f32),
    line: &str,
) {
    let name = fonts.name(style);
    let bytes = fonts.get(style).encode(line);
    content
        .set_fill_gray(grey)
        .begin_text()
        .set_font(name, size)
        .set_text_matrix([1.0, 0.0, 0.0, 1.0, x, y])
        .show(Str(&bytes))
        .end_text();
}

/// `(x, y, w, h)` from the bottom left, with corners of radius `r`, as a closed path.
fn rounded_rect(content: &mut Content, (x, y, w, h): (f32, f32, f32, f32), r: f32) {
    // The control points of a quarter circle drawn as one Bézier curve.
    let k = r * (1.0 - 0.552_284_8);
    content
        .move_to(x + r, y)
        .line_to(x + w - r, y)
        .cubic_to(x + w - k, y, x + w, y + k, x + w, y + r)
        .line_to(x + w, y + h - r)
        .cubic_to(x + w, y + h - k, x + w - k, y + h, x + w - r, y + h)
        .line_to(x + r, y + h)
        .cubic_to(x + k, y + h, x, y + h - k, x, y + h - r)
        .line_to(x, y + r)
        .cubic_to(x, y + k, x + k, y, x + r, y)
        .close_path();
}

/// `text` broken into lines of `font` at `size` that fit `width`, measured with the font's own
/// advances; see [`wrap`].
fn fit(text: &str, max_lines: usize, width: f32, font: &Font, size: f32) -> Vec<String> {
    let ellipsis = if font.has('…') { "…" } else { "..." };
    wrap(text, max_lines, width, |s| font.width(s, size), ellipsis)
}

/// `text` in at most `max_lines` lines no wider than `width`, broken at spaces but not no-break
/// spaces (inside a word only when the word alone is wider than a line); when it does not fit,
/// the last line ends in `ellipsis`.
fn wrap(
    text: &str,
    max_lines: usize,
    width: f32,
    measure: impl Fn(&str) -> f32,
    ellipsis: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let breaks = |c: char| c.is_whitespace() && c != '\u{a0}';
    for word in text.split(breaks).filter(|w| !w.is_empty()) {
        let longer = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if measure(&longer) <= width {
            line = longer;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word;
        while measure(rest) > width {
            let cut = longest_fitting(rest, width, &measure);
            lines.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        line = rest.to_string();
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = lines.last_mut().expect("max_lines ≥ 1");
        let trimmed = |s: &str| {
            s.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c))
                .to_string()
        };
        let mut kept = trimmed(last);
        while !kept.is_empty() && measure(&format!("{kept}{ellipsis}")) > width {
            kept.pop();
            kept = trimmed(&kept);
        }
        *last = format!("{kept}{ellipsis}");
    }
    lines
}

/// The byte length of the longest start of `s` (at least one character) no wider than `width`.
fn longest_fitting(s: &str, width: f32, measure: impl Fn(&str) -> f32) -> usize {
    let mut end = s.chars().next().map_or(0, char::len_utf8);
    for (i, c) in s.char_indices().skip(1) {
        if measure(&s[..i + c.len_utf8()]) > width {
            break;
        }
        end = i + c.len_utf8();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_are_columns_by_rows_up_to_four_by_five() {
        assert_eq!(
            Grid::parse("3x4").unwrap(),
            Grid {
                columns: 3,
                rows: 4
            }
        );
        assert_eq!(Grid::parse(" 2×5 ").unwrap().per_page(), 10);
        for bad in [
            "", "3", "0x4", "5x1", "2x6", "3x", "x4", "3x4x5", "-1x2", "a×b",
        ] {
            assert!(Grid::parse(bad).is_err(), "{bad}");
        }
    }

    /// Every character one unit wide.
    fn chars(s: &str) -> f32 {
        s.chars().count() as f32
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_ends_in_an_ellipsis() {
        assert_eq!(
            wrap("Ýaşlyk ýyllary", 3, 20.0, chars, "…"),
            ["Ýaşlyk ýyllary"]
        );
        assert_eq!(
            wrap("Сьогодні у Житомирі: ґанок і їжак", 3, 12.0, chars, "…"),
            ["Сьогодні у", "Житомирі:", "ґанок і їжак"]
        );
        assert_eq!(
            wrap("Сьогодні у Житомирі: ґанок і їжак", 2, 12.0, chars, "…"),
            ["Сьогодні у", "Житомирі…"]
        );
        // A word longer than a line is cut where it overflows.
        assert_eq!(
            wrap("abcdefghij k", 3, 4.0, chars, "..."),
            ["abcd", "efgh", "ij k"]
        );
        assert_eq!(wrap("abcdefghij", 1, 4.0, chars, "..."), ["a..."]);
        assert!(wrap("", 2, 4.0, chars, "…").is_empty());
        let two = authors(&["Aýna Öwezowa".into(), "Berdi  Nurýagdyýew".into()]);
        assert_eq!(
            wrap(&two, 2, 20.0, chars, "…"),
            ["Aýna\u{a0}Öwezowa;", "Berdi\u{a0}Nurýagdyýew"]
        );
    }

    #[test]
    fn the_default_grid_prints_codes_of_at_least_30_mm() {
        let mm = |pt: f32| pt / 72.0 * 25.4;
        for heading in [false, true] {
            let l = Layout::new(Grid::parse("3x4").unwrap(), heading, 0.93);
            assert!(mm(l.qr) >= 30.0, "{l:?}");
            assert!(l.cover.0 > 0.0 && l.cover.1 > l.cover.0, "{l:?}");
        }
        // Every allowed grid stays inside the margins, with room for a cover and a code.
        for (c, r, heading) in (1..=MAX_COLUMNS)
            .flat_map(|c| (1..=MAX_ROWS).flat_map(move |r| [(c, r, false), (c, r, true)]))
        {
            let g = Grid {
                columns: c,
                rows: r,
            };
            let l = Layout::new(g, heading, 0.93);
            let (x, y) = l.card_at(g.per_page() - 1, g);
            assert!(x + l.card.0 <= PAGE.0 - MARGIN + 0.01, "{c}x{r}: {l:?}");
            assert!(y - l.card.1 >= MARGIN - 0.01, "{c}x{r}: {l:?}");
            assert!(
                mm(l.qr) > 24.0 && l.cover.0 > 0.0 && l.cover.1 > 0.0,
                "{c}x{r}: {l:?}"
            );
        }
    }
}
