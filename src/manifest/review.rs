//! Which pages and books need an editor's look, and why. One rule serves the manifest's
//! `needs_review` (an upload script holds such a book back), the review page's flags and its
//! order of doubt, so what the page shows first is what the manifest holds back.

use serde::Serialize;

use super::{BookRecord, Correction, DpiSource, OrientationBy, PageRecord, PageStatus, Status};

/// The extension of the folder of a book's page thumbnails: `OUT/<id>/<id>.thumbs/`, named
/// like the book's other outputs so that no folder of someone else's is taken for it.
pub const THUMBNAIL_EXT: &str = "thumbs";

/// Whether a listed file is a page thumbnail (`<id>/<id>.thumbs/NNNN.jpg`), not a deliverable.
pub fn is_thumbnail(path: &str) -> bool {
    let mut parts = path.split('/');
    match (parts.next(), parts.next()) {
        (Some(id), Some(dir)) => dir.strip_suffix(THUMBNAIL_EXT) == Some(&format!("{id}.")),
        _ => false,
    }
}

/// The pipeline's `review_below_confidence` when a manifest does not say (before schema 1.2).
pub const DEFAULT_THRESHOLD: f64 = 60.0;

/// A skew this small (degrees) is reported but was not straightened by the default pipeline.
const STRAIGHTENED_FROM_DEG: f64 = 0.1;

/// Something about a page an editor may want to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// The page could not be converted: a placeholder stands in for it.
    Failed,
    /// Read with a mean confidence below the pipeline's threshold.
    LowConfidence,
    /// No word was read from a page with ink: a picture, or text Tesseract could not see.
    NoText,
    /// No ink at all after cleaning (a blank verso, an empty endpaper): never sent to OCR.
    Blank,
    /// Found turned by 90, 180 or 270 degrees and shown upright.
    Turned,
    /// Found skewed and straightened.
    Straightened,
    /// The resolution was estimated from the text (the file gave none).
    DpiEstimated,
    /// The resolution was assumed (the file gave none, the text no usable estimate).
    DpiAssumed,
    /// One half of a two-page spread.
    Split,
    /// Dark scanner borders were cut away.
    Cropped,
}

impl Flag {
    pub const ALL: [Flag; 10] = [
        Flag::Failed,
        Flag::LowConfidence,
        Flag::NoText,
        Flag::Blank,
        Flag::Turned,
        Flag::Straightened,
        Flag::DpiEstimated,
        Flag::DpiAssumed,
        Flag::Split,
        Flag::Cropped,
    ];

    /// The flag as the manifest and the review page's filter name it.
    pub fn name(self) -> &'static str {
        match self {
            Flag::Failed => "failed",
            Flag::LowConfidence => "low-confidence",
            Flag::NoText => "no-text",
            Flag::Blank => "blank",
            Flag::Turned => "turned",
            Flag::Straightened => "straightened",
            Flag::DpiEstimated => "dpi-estimated",
            Flag::DpiAssumed => "dpi-assumed",
            Flag::Split => "split",
            Flag::Cropped => "cropped",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Flag::Failed => "failed",
            Flag::LowConfidence => "low confidence",
            Flag::NoText => "no text",
            Flag::Blank => "blank (no ink)",
            Flag::Turned => "turned",
            Flag::Straightened => "straightened",
            Flag::DpiEstimated => "dpi estimated",
            Flag::DpiAssumed => "dpi assumed",
            Flag::Split => "split spread",
            Flag::Cropped => "cropped",
        }
    }

    /// The flag's bit in the review page's data: bit k for `ALL[k]`.
    pub fn bit(self) -> u32 {
        1 << self as u32
    }

    /// Whether the flag alone makes the page need review.
    pub fn needs_review(self) -> bool {
        matches!(self, Flag::Failed | Flag::LowConfidence | Flag::NoText)
    }
}

/// The flags of a page, in [`Flag::ALL`] order.
pub fn flags(p: &PageRecord, threshold: f64) -> Vec<Flag> {
    let mut f = Vec::new();
    if p.status == PageStatus::Failed {
        f.push(Flag::Failed);
        return f;
    }
    match p.confidence {
        Some(c) if c < threshold => f.push(Flag::LowConfidence),
        _ => {}
    }
    if p.blank {
        f.push(Flag::Blank);
    } else if p.words == 0 {
        f.push(Flag::NoText);
    }
    if p.rotation_cw_deg.is_some_and(|r| r != 0) {
        f.push(Flag::Turned);
    }
    let corrected = p.correction.is_some_and(|c| c != Correction::None);
    if corrected
        && p.skew_cw_deg
            .is_some_and(|s| s.abs() >= STRAIGHTENED_FROM_DEG)
    {
        f.push(Flag::Straightened);
    }
    match p.dpi_source {
        Some(DpiSource::Estimated) => f.push(Flag::DpiEstimated),
        Some(DpiSource::Assumed) => f.push(Flag::DpiAssumed),
        _ => {}
    }
    if p.part.is_some() {
        f.push(Flag::Split);
    } else if p.crop.is_some() {
        f.push(Flag::Cropped);
    }
    f
}

/// Whether an editor should look at the page. A page without text needs a look (its text may
/// be lost), unless it held no ink at all (`blank`: a blank verso, an empty endpaper).
pub fn page_needs_review(p: &PageRecord, threshold: f64) -> bool {
    flags(p, threshold).into_iter().any(Flag::needs_review)
}

/// How doubtful a page is, for the order an editor sees them in: lower is looked at first.
/// Failed pages, then pages by rising confidence, then pages without text (not those without
/// ink). None: nothing to review.
pub fn doubt(p: &PageRecord, threshold: f64) -> Option<(u8, f64)> {
    let f = flags(p, threshold);
    if f.contains(&Flag::Failed) {
        Some((0, 0.0))
    } else if f.contains(&Flag::LowConfidence) {
        Some((1, p.confidence.unwrap_or(0.0)))
    } else if f.contains(&Flag::NoText) {
        Some((2, 0.0))
    } else {
        None
    }
}

/// How a turned page was found turned, for people: "180° (OSD)".
pub fn turn_note(p: &PageRecord) -> Option<String> {
    let r = p.rotation_cw_deg.filter(|&r| r != 0)?;
    let by = match p.orientation_by {
        Some(OrientationBy::Osd) => " (OSD)",
        Some(OrientationBy::Trial) => " (trial)",
        _ => "",
    };
    Some(format!("{r}°{by}"))
}

impl BookRecord {
    /// Sets `needs_review` on every page and on the book by the rule above: a book needs
    /// review when it is not `ok` or any of its pages does.
    pub fn settle_review(&mut self, threshold: f64) {
        for p in &mut self.pages {
            p.needs_review = page_needs_review(p, threshold);
        }
        self.needs_review = self.status != Status::Ok || self.pages.iter().any(|p| p.needs_review);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{PageFacts, Part};

    fn page(confidence: Option<f64>, words: usize) -> PageRecord {
        PageRecord::converted(
            1,
            "b/0001.png",
            0,
            PageFacts {
                part: None,
                crop: None,
                paper: None,
                warnings: Vec::new(),
                width: 100,
                height: 100,
                dpi: 300.0,
                dpi_source: DpiSource::File,
                image_encoding: crate::manifest::ImageEncoding::Flate,
                rotation_cw_deg: 0,
                skew_cw_deg: 0.0,
                correction: Correction::None,
                orientation_by: OrientationBy::None,
                confidence,
                words,
                lookalikes_repaired: 0,
                blank: false,
                ocr_reduced_by: 1,
            },
        )
    }

    #[test]
    fn the_rule_and_the_order() {
        let good = page(Some(91.0), 300);
        assert!(flags(&good, 60.0).is_empty());
        assert_eq!(doubt(&good, 60.0), None);
        let low = page(Some(41.5), 120);
        assert_eq!(flags(&low, 60.0), [Flag::LowConfidence]);
        assert!(!page_needs_review(&low, 40.0), "the threshold decides");
        let no_text = page(None, 0);
        assert_eq!(flags(&no_text, 60.0), [Flag::NoText]);
        assert!(page_needs_review(&no_text, 60.0), "text may have been lost");
        // A page with no ink at all was never read: nothing to look for.
        let mut no_ink = page(None, 0);
        no_ink.blank = true;
        assert_eq!(flags(&no_ink, 60.0), [Flag::Blank]);
        assert!(!page_needs_review(&no_ink, 60.0));
        assert_eq!(doubt(&no_ink, 60.0), None);
        let failed = PageRecord::failed(2, "b/0002.png", 0, "bad".into(), Vec::new());
        assert!(failed.needs_review);
        let mut pages = [&no_text, &low, &good, &failed];
        pages.sort_by(|a, b| {
            let key = |p: &PageRecord| doubt(p, 60.0).unwrap_or((9, 0.0));
            key(a).partial_cmp(&key(b)).unwrap()
        });
        assert_eq!(pages.map(|p| p.index)[..2], [2, 1]);
        assert_eq!(pages[1].confidence, Some(41.5));
        assert_eq!(pages[2].words, 0);
    }

    #[test]
    fn facts_become_flags() {
        let mut p = page(Some(90.0), 10);
        p.rotation_cw_deg = Some(180);
        p.orientation_by = Some(OrientationBy::Osd);
        p.skew_cw_deg = Some(-2.9);
        p.correction = Some(Correction::Resampled);
        p.dpi_source = Some(DpiSource::Assumed);
        p.part = Some(Part::Left);
        p.crop = Some([0, 0, 50, 100]);
        assert_eq!(
            flags(&p, 60.0),
            [
                Flag::Turned,
                Flag::Straightened,
                Flag::DpiAssumed,
                Flag::Split
            ]
        );
        assert_eq!(turn_note(&p).as_deref(), Some("180° (OSD)"));
        for (k, f) in Flag::ALL.iter().enumerate() {
            assert_eq!(f.bit(), 1 << k, "{f:?}: ALL is in declaration order");
        }
        assert!(!page_needs_review(&p, 60.0));
    }

    #[test]
    fn a_book_needs_review_when_a_page_does_or_it_is_not_ok() {
        let mut b = BookRecord::new("b", Status::Ok, "b");
        b.pages = vec![page(Some(90.0), 10), page(Some(30.0), 10)];
        b.settle_review(60.0);
        assert!(b.needs_review && b.pages[1].needs_review && !b.pages[0].needs_review);
        b.pages.truncate(1);
        b.settle_review(60.0);
        assert!(!b.needs_review);
        b.status = Status::Partial;
        b.settle_review(60.0);
        assert!(b.needs_review);
    }
}
