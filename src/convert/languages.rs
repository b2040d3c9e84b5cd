//! Books whose languages nobody gave (`languages = ["auto"]`, the built-in pipelines' default)
//! get them from their pages before they are read: the script of a sample page by Tesseract's
//! OSD (or, when OSD cannot tell, by which script model reads the sample better), then the
//! language from the letters the script model read on up to two sample pages (see
//! [`crate::detect`]). Only books this run converts are looked at: an unchanged book keeps
//! its record.

use std::collections::BTreeMap;

use super::page::{self, Clock, Engines, PageInput};
use super::plan::{PlannedBook, Settings};
use super::schedule::Budget;
use crate::detect::{self, Letters, SCRIPTS, Script};
use crate::geometry;
use crate::load;
use crate::manifest::LanguageDetection;
use crate::ocr::OcrPage;

/// Words read below this confidence are left out of the letter count: a doubtful word is
/// as likely a misreading as a letter of the language.
const WORD_CONFIDENCE: f32 = 50.0;
/// A sample read below this mean confidence by the script OSD named is read by the other
/// script model too, and the better reading decides.
const SCRIPT_DOUBT: f64 = 60.0;
/// OSD's script is believed from this confidence on (it said 3.4–22 on the shared pages).
const OSD_SCRIPT_CONFIDENCE: f32 = 1.0;

/// The sample pages of a book of `n` pages (0-based): the pages a third and two thirds in,
/// past the cover and the title pages, or the one page of a one-page book.
fn samples(n: usize) -> Vec<usize> {
    match n {
        0 => vec![],
        1 => vec![0],
        2 => vec![1],
        _ => {
            let mut s = vec![(n / 3).max(1), (2 * n / 3).max(2).min(n - 1)];
            s.dedup();
            s
        }
    }
}

/// What was found for one book, or why nothing could be.
pub(super) struct Found {
    pub detection: LanguageDetection,
    pub language: crate::lang::Language,
    pub models: Vec<String>,
    /// Why the finding is not sure, for the warning.
    pub doubt: Option<String>,
}

/// Finds the language of `book` from its sample pages. `None` when no sample page could be
/// read at all (the book's pages then fail on their own when converted).
pub(super) fn find(
    book: &PlannedBook,
    settings: &Settings,
    budget: &Budget,
    installed: &[String],
    engines: &mut Engines,
) -> Option<Found> {
    let pages = samples(book.pages.len());
    let scripts: Vec<Script> = SCRIPTS
        .into_iter()
        .filter(|s| installed.iter().any(|m| m == s.model()))
        .collect();
    let first = &book.pages[*pages.first()?];
    let osd_script = osd_script(first, settings, engines).filter(|s| scripts.contains(s));
    let script_by = if osd_script.is_some() { "osd" } else { "trial" };
    // The script OSD named is read first; the other only when the reading is doubtful.
    let mut order = scripts.clone();
    if let Some(s) = osd_script {
        order.retain(|x| *x != s);
        order.insert(0, s);
    }
    let mut best: Option<(Script, Vec<OcrPage>, f64)> = None;
    for (i, &script) in order.iter().enumerate() {
        if i > 0 && best.as_ref().is_some_and(|b| b.2 >= SCRIPT_DOUBT) {
            break;
        }
        let readings: Vec<OcrPage> = pages
            .iter()
            .filter_map(|&p| read(&book.pages[p], script, settings, budget, engines))
            .flatten()
            .collect();
        let conf = mean_confidence(&readings);
        if best.as_ref().is_none_or(|b| conf > b.2) {
            best = Some((script, readings, conf));
        }
    }
    let (script, readings, _) = best?;
    let script_by = if script_by == "osd" && Some(script) == osd_script {
        "osd"
    } else {
        "trial"
    };
    let mut letters = Letters::default();
    for w in readings.iter().flat_map(|r| r.words()) {
        if w.conf >= WORD_CONFIDENCE {
            letters.add_word(script, &w.text);
        }
    }
    let verdict = detect::decide(script, &letters, installed);
    let models = detect::models_for(&verdict.language, script, installed);
    let evidence: BTreeMap<String, usize> = verdict
        .evidence
        .iter()
        .take(12)
        .map(|(c, k)| (c.to_string(), *k))
        .collect();
    Some(Found {
        detection: LanguageDetection {
            script: script.model().to_string(),
            script_by: script_by.to_string(),
            language: verdict.language.bcp47.to_string(),
            pages: pages.iter().map(|&p| book.pages[p].index).collect(),
            letters: letters.total(),
            evidence,
            sure: verdict.sure,
        },
        language: verdict.language,
        models,
        doubt: verdict.doubt,
    })
}

/// The script OSD finds on the page, when it is one kitap tells languages apart in.
fn osd_script(
    page: &super::plan::PlannedPage,
    settings: &Settings,
    engines: &mut Engines,
) -> Option<Script> {
    let mut warnings = Vec::new();
    let loaded = load::open(&page.file, page.at, settings.load, &mut warnings).ok()?;
    let dpi = loaded
        .file_dpi
        .map_or_else(|| loaded.image.height() as f64 / 9.0, |d| d.1)
        .clamp(100.0, 1200.0);
    let grey = loaded.image.to_luma8();
    drop(loaded);
    let factor = ((dpi / 300.0).round() as u32).max(1);
    let small = geometry::reduce(&grey, factor);
    let found = engines
        .osd()
        .get()?
        .detect(&small, (dpi / factor as f64).round() as u32)?;
    (found.script_confidence >= OSD_SCRIPT_CONFIDENCE)
        .then(|| Script::from_osd(&found.script))
        .flatten()
}

/// The page read with the script's model, as a conversion would read it (upright,
/// straightened); `None` when it cannot be.
fn read(
    page: &super::plan::PlannedPage,
    script: Script,
    settings: &Settings,
    budget: &Budget,
    engines: &mut Engines,
) -> Option<Vec<OcrPage>> {
    let input = PageInput {
        index: page.index,
        file: &page.file,
        frame: page.at,
        models: script.model(),
        note: None,
    };
    let done = page::convert_page(&input, settings, budget, engines, &mut Clock::default()).ok()?;
    Some(done.parts.into_iter().map(|p| p.ocr).collect())
}

fn mean_confidence(readings: &[OcrPage]) -> f64 {
    let (n, sum) = readings
        .iter()
        .flat_map(|r| r.words())
        .fold((0usize, 0f64), |(n, s), w| (n + 1, s + w.conf as f64));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_skip_the_cover_and_stay_in_the_book() {
        assert_eq!(samples(0), Vec::<usize>::new());
        assert_eq!(samples(1), [0]);
        assert_eq!(samples(2), [1]);
        assert_eq!(samples(3), [1, 2]);
        assert_eq!(samples(4), [1, 2]);
        assert_eq!(samples(150), [50, 100]);
        for n in 1..40 {
            assert!(samples(n).iter().all(|&p| p < n));
        }
    }
}
