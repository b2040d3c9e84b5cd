//! Latin and Cyrillic look-alikes put back in their script. Read with models of both scripts
//! (`ukr+eng`, `rus+eng`), Tesseract sometimes takes a letter from the wrong one where the two
//! look the same: "Сьогодні y Житомирі" with a Latin `y`, "Житомиpі" with a Latin `p`. Such
//! text looks right on screen but a search for "у Житомирі" does not find it, and a screen
//! reader spells it out.
//!
//! Two repairs, both only where every letter that moves has a look-alike in the other script:
//! - a word of both scripts takes the script of most of its letters (of the page, on a tie);
//! - a word written only in look-alikes of the page's minority script, standing among words of
//!   the majority script (its neighbours on the line), takes the majority script.
//!
//! A Latin word with any letter that has no Cyrillic twin (`Kyiv`, `http`, `Dnipro`) is left as
//! it is, and so is a word of look-alikes among words of its own script (`a` in "a cat").

use crate::ocr::OcrPage;

/// (Latin, Cyrillic) pairs that print alike in the fonts books are set in, and both letters of
/// the languages kitap reads (no Serbian ј or ѕ, no Kazakh Ү for a Latin Y).
const PAIRS: [(char, char); 19] = [
    ('a', 'а'),
    ('c', 'с'),
    ('e', 'е'),
    ('i', 'і'),
    ('o', 'о'),
    ('p', 'р'),
    ('x', 'х'),
    ('y', 'у'),
    ('A', 'А'),
    ('B', 'В'),
    ('C', 'С'),
    ('E', 'Е'),
    ('H', 'Н'),
    ('I', 'І'),
    ('K', 'К'),
    ('M', 'М'),
    ('O', 'О'),
    ('P', 'Р'),
    ('T', 'Т'),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
}

fn script(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    match c as u32 {
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
            Some(Script::Cyrillic)
        }
        0x0041..=0x024F | 0x1E00..=0x1EFF => Some(Script::Latin),
        _ => None,
    }
}

/// The letter's twin in `to`, if it has one.
fn twin(c: char, to: Script) -> Option<char> {
    match to {
        Script::Cyrillic => PAIRS.iter().find(|p| p.0 == c).map(|p| p.1),
        Script::Latin => PAIRS.iter().find(|p| p.1 == c).map(|p| p.0),
    }
}

/// Letters of each script in a text: (Latin, Cyrillic).
fn counts(text: &str) -> (usize, usize) {
    text.chars().fold((0, 0), |(l, c), ch| match script(ch) {
        Some(Script::Latin) => (l + 1, c),
        Some(Script::Cyrillic) => (l, c + 1),
        None => (l, c),
    })
}

/// `text` with every letter of the other script turned into `to`, or None when one of them has
/// no twin there.
fn moved(text: &str, to: Script) -> Option<String> {
    text.chars()
        .map(|c| match script(c) {
            Some(s) if s != to => twin(c, to),
            _ => Some(c),
        })
        .collect()
}

/// Repairs the page's words in place; returns how many words changed. Running it again
/// changes nothing: words of both scripts are settled first, then the page's majority is
/// taken and lone look-alike words follow it (a word moved that way has neighbours of the
/// majority already, so it cannot open the way for another).
pub fn repair_lookalikes(page: &mut OcrPage) -> usize {
    let Some(first) = majority(page) else {
        return 0;
    };
    let mut repaired = 0;
    for word in lines(page).flat_map(|l| &mut l.words) {
        let (l, c) = counts(&word.text);
        if l == 0 || c == 0 {
            continue;
        }
        // Most of its letters decide; on a tie the page's script, else the other.
        let order = match l.cmp(&c) {
            std::cmp::Ordering::Greater => [Some(Script::Latin), None],
            std::cmp::Ordering::Less => [Some(Script::Cyrillic), None],
            std::cmp::Ordering::Equal => [Some(first), Some(other(first))],
        };
        if let Some(text) = order
            .into_iter()
            .flatten()
            .find_map(|to| moved(&word.text, to))
        {
            word.text = text;
            repaired += 1;
        }
    }
    let Some(majority) = majority(page) else {
        return repaired;
    };
    for line in lines(page) {
        // Each word's script (None: no letters, or letters of both that could not move).
        let scripts: Vec<Option<Script>> = line
            .words
            .iter()
            .map(|w| match counts(&w.text) {
                (0, 0) => None,
                (_, 0) => Some(Script::Latin),
                (0, _) => Some(Script::Cyrillic),
                _ => None,
            })
            .collect();
        for (i, word) in line.words.iter_mut().enumerate() {
            if scripts[i].is_some_and(|s| s != majority)
                && only_letters(&word.text)
                && among(&scripts, i, majority)
                && let Some(text) = moved(&word.text, majority)
            {
                word.text = text;
                repaired += 1;
            }
        }
    }
    repaired
}

/// The script of most of the page's letters, when it has letters of both.
fn majority(page: &OcrPage) -> Option<Script> {
    let (latin, cyrillic) = page
        .words()
        .map(|w| counts(&w.text))
        .fold((0, 0), |(a, b), (l, c)| (a + l, b + c));
    match (latin, cyrillic) {
        (0, _) | (_, 0) => None,
        (l, c) if c >= l => Some(Script::Cyrillic),
        _ => Some(Script::Latin),
    }
}

fn other(s: Script) -> Script {
    match s {
        Script::Latin => Script::Cyrillic,
        Script::Cyrillic => Script::Latin,
    }
}

fn lines(page: &mut OcrPage) -> impl Iterator<Item = &mut crate::ocr::Line> {
    page.blocks
        .iter_mut()
        .flat_map(|b| &mut b.paragraphs)
        .flat_map(|p| &mut p.lines)
}

/// A word of letters alone, punctuation around it aside: `x2`, `f(x)` or `a+b` are formulas.
fn only_letters(text: &str) -> bool {
    let core = text.trim_matches(|c: char| c.is_ascii_punctuation() || "«»„“”—–…".contains(c));
    !core.is_empty() && core.chars().all(char::is_alphabetic)
}

/// Whether the nearest words with letters before and after `i` on the line (those that exist,
/// at least one) are all of `script`.
fn among(scripts: &[Option<Script>], i: usize, script: Script) -> bool {
    let before = scripts[..i].iter().rev().find_map(|s| *s);
    let after = scripts[i + 1..].iter().find_map(|s| *s);
    match (before, after) {
        (None, None) => false,
        (b, a) => b.is_none_or(|s| s == script) && a.is_none_or(|s| s == script),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::{BBox, Block, Line, Paragraph, Word};

    fn page(lines: &[&str]) -> OcrPage {
        let bbox = BBox {
            x0: 0.0,
            y0: 0.0,
            x1: 1.0,
            y1: 1.0,
        };
        let lines = lines
            .iter()
            .map(|l| Line {
                bbox,
                baseline_slope: 0.0,
                baseline_offset: 0.0,
                words: l
                    .split(' ')
                    .map(|w| Word {
                        bbox,
                        text: w.into(),
                        conf: 90.0,
                    })
                    .collect(),
            })
            .collect();
        OcrPage {
            width: 1,
            height: 1,
            blocks: vec![Block {
                bbox,
                paragraphs: vec![Paragraph { bbox, lines }],
            }],
        }
    }

    fn text(p: &OcrPage) -> Vec<String> {
        p.lines()
            .map(|l| {
                l.words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn a_latin_letter_among_cyrillic_words_becomes_cyrillic() {
        let mut p = page(&["Сьогодні y Житомирі,", "на вулиці Київській i в парку (a)"]);
        assert_eq!(repair_lookalikes(&mut p), 3);
        assert_eq!(
            text(&p),
            ["Сьогодні у Житомирі,", "на вулиці Київській і в парку (а)"]
        );
    }

    #[test]
    fn a_mixed_word_takes_the_script_of_most_of_its_letters() {
        let mut p = page(&["Житомиpі та Kиїв", "the cаt sat"]);
        assert_eq!(repair_lookalikes(&mut p), 3);
        assert_eq!(text(&p), ["Житомирі та Київ", "the cat sat"]);
    }

    #[test]
    fn latin_words_with_letters_of_their_own_stay() {
        let mut p = page(&[
            "Місто Kyiv та сайт http://kyiv.ua і формула x2",
            "у нашому місті",
        ]);
        // A formula is not a word, and the rest have letters with no twin.
        let before = text(&p);
        assert_eq!(repair_lookalikes(&mut p), 0);
        assert_eq!(text(&p), before);
    }

    #[test]
    fn a_second_pass_finds_nothing_to_do() {
        // The mixed word settles first, so the lone `a` after it moves in the same pass.
        let mut p = page(&["рy a", "на вулиці Київській"]);
        assert_eq!(repair_lookalikes(&mut p), 2);
        assert_eq!(text(&p)[0], "ру а");
        assert_eq!(repair_lookalikes(&mut p), 0);
    }

    #[test]
    fn a_page_of_one_script_is_left_alone() {
        let mut p = page(&["a cat on a mat"]);
        assert_eq!(repair_lookalikes(&mut p), 0);
        let mut p = page(&["Құнанбайұлы Абай"]);
        assert_eq!(repair_lookalikes(&mut p), 0);
        // A look-alike word among words of its own script is not touched.
        let mut p = page(&["Москва и a cat", "это город"]);
        repair_lookalikes(&mut p);
        assert_eq!(text(&p)[0], "Москва и a cat");
    }
}
