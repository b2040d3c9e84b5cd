//! Hyphens at line ends: whether a hyphen before a line break belongs to the word (the
//! book's own vocabulary is the evidence) and joining line texts across it.

use std::collections::HashSet;

use super::TextLine;

/// Word forms the book uses away from line ends, lower case: the evidence for deciding whether
/// a hyphen at a line end belongs to the word.
#[derive(Debug, Default)]
pub struct Vocabulary {
    words: HashSet<String>,
}

impl Vocabulary {
    pub(super) fn of(pages: &[Vec<&TextLine>]) -> Vocabulary {
        let mut v = Vocabulary::default();
        for lines in pages {
            for l in lines {
                let toks: Vec<&str> = l.text.split_whitespace().collect();
                let n = toks.len();
                for (i, t) in toks.iter().enumerate() {
                    // The first and last word of a line may be halves of a broken word.
                    if (i == 0 || i + 1 == n) && n > 1 {
                        continue;
                    }
                    v.add(t);
                }
            }
        }
        v
    }

    /// Adds the words of `text` (for tests and callers with other evidence).
    pub fn from_text(text: &str) -> Vocabulary {
        let mut v = Vocabulary::default();
        for t in text.split_whitespace() {
            v.add(t);
        }
        v
    }

    fn add(&mut self, token: &str) {
        let w = core(token).to_lowercase();
        if w.chars().any(char::is_alphabetic) {
            self.words.insert(w);
        }
    }

    fn has(&self, w: &str) -> bool {
        self.words.contains(&w.to_lowercase())
    }
}

/// A token without the punctuation around it.
fn core(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
}

/// Particles written with a hyphen after the word they belong to (Russian, Ukrainian): a line
/// end before them is a real hyphen.
const HYPHEN_PARTICLES: &[&str] = &["то", "либо", "нибудь", "таки", "бо", "от"];

/// Whether the hyphen between `left` (the word before a line-end hyphen, without it) and
/// `right` (the first word of the next line) belongs to the word.
///
/// Kept: after a number when `right` is a short suffix, when `right` starts with a capital ("Ertir-Öýi", "2020-nji"), when
/// `right` is a hyphenated particle ("что-то"), and when the book writes the hyphenated form
/// elsewhere and never the joined one. Otherwise joined: a word broken at the margin is far more
/// common than a compound broken exactly at its hyphen.
pub fn keeps_hyphen(left: &str, right: &str, vocab: &Vocabulary) -> bool {
    let left = core(left);
    let right = core(right);
    let (Some(l_last), Some(r_first)) = (left.chars().last(), right.chars().next()) else {
        return true;
    };
    if !r_first.is_alphabetic() {
        return true;
    }
    // "XIX-го", "II-nji": a roman numeral takes its suffix with a hyphen too.
    let roman_numeral = left.chars().count() <= 6
        && left.chars().all(|c| "IVXLCDM".contains(c))
        && right.chars().count() <= 4
        && right.chars().all(char::is_lowercase);
    if roman_numeral {
        return true;
    }
    if !l_last.is_alphabetic() {
        // A number takes its suffix with a hyphen ("2020-nji", "5-го"); a long lowercase
        // word after digits is a word whose letters were read as digits ("06-щественность").
        let suffix = right.chars().filter(|c| c.is_alphabetic()).count() <= 4;
        let word_like = left.chars().any(char::is_alphabetic);
        return suffix || word_like;
    }
    let all_caps = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase)
    };
    if r_first.is_uppercase() && !(all_caps(left) && all_caps(right)) {
        return true;
    }
    let joined = format!("{left}{right}");
    let hyphenated = format!("{left}-{right}");
    if vocab.has(&joined) {
        return false;
    }
    if vocab.has(&hyphenated) {
        return true;
    }
    HYPHEN_PARTICLES.contains(&right.to_lowercase().as_str())
}

/// `text` ends in a word broken by a hyphen: returns the text without the hyphen.
pub(super) fn hyphen_end(text: &str) -> Option<&str> {
    // Specks read after the hyphen ("аг-.", "ньӧбӧ- ·") are the scan's, not the text's.
    let t = text
        .trim_end()
        .trim_end_matches(['.', ',', '·', '‚', '`', '\'', ' ']);
    let stripped = t
        .strip_suffix('-')
        .or_else(|| t.strip_suffix('\u{ad}'))
        .or_else(|| t.strip_suffix('\u{2010}'))
        .or_else(|| t.strip_suffix('¬'))?;
    stripped
        .chars()
        .last()
        .is_some_and(char::is_alphanumeric)
        .then_some(stripped)
}

/// Joins two line texts: with a space, or across a hyphenated word.
pub(super) fn join_lines(prev: &str, next: &str, vocab: &Vocabulary) -> String {
    let (a, b) = split_join(prev, next, vocab);
    format!("{a}{b}")
}

/// Like [`join_lines`], but returned in two halves, where the second line begins.
pub(super) fn split_join(prev: &str, next: &str, vocab: &Vocabulary) -> (String, String) {
    if prev.is_empty() {
        return (String::new(), next.to_string());
    }
    if let Some(stem) = hyphen_end(prev) {
        let left = stem.rsplit(char::is_whitespace).next().unwrap_or(stem);
        let right = next.split_whitespace().next().unwrap_or("");
        if !right.is_empty() {
            return if keeps_hyphen(left, right, vocab) {
                (format!("{stem}-"), next.to_string())
            } else {
                (stem.to_string(), next.to_string())
            };
        }
    }
    (format!("{prev} "), next.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphen_rule() {
        let v = Vocabulary::from_text("северо-запад Ertir-öýi книга библиотеки читатель");
        // Lowercase continuation, no evidence: a word broken at the margin.
        assert!(!keeps_hyphen("биб", "лиотека", &v));
        // The joined form is used elsewhere.
        assert!(!keeps_hyphen("библио", "теки,", &v));
        // The book writes the compound with its hyphen and never joined.
        assert!(keeps_hyphen("северо", "запад", &v));
        assert!(keeps_hyphen("Ertir", "öýi", &v));
        // Capital after the hyphen: a compound of names.
        assert!(keeps_hyphen("Алма", "Ата", &v));
        assert!(keeps_hyphen("Nur", "Sultan.", &v));
        // All capitals on both sides: a word in capitals broken at the margin.
        assert!(!keeps_hyphen("БИБЛИО", "ТЕКА", &v));
        // Digits: "2020-nji", and particles: "что-то".
        assert!(keeps_hyphen("24", "nji", &v));
        assert!(keeps_hyphen("5", "го", &v));
        assert!(keeps_hyphen("XIX", "го", &v));
        assert!(!keeps_hyphen("CIVIL", "IAN", &v));
        // Letters misread as digits, then the rest of the word.
        assert!(!keeps_hyphen("06", "щественность", &v));
        assert!(keeps_hyphen("что", "то", &v));
    }

    #[test]
    fn lines_join_into_paragraphs_across_hyphens() {
        let v = Vocabulary::from_text("северо-запад");
        assert_eq!(
            join_lines("на северо-", "запад от", &v),
            "на северо-запад от"
        );
        assert_eq!(join_lines("в библио-", "теке был", &v), "в библиотеке был");
        assert_eq!(join_lines("две", "строки", &v), "две строки");
        assert_eq!(join_lines("тире —", "и дальше", &v), "тире — и дальше");
    }

    #[test]
    fn a_speck_after_the_hyphen_does_not_stop_the_join() {
        let v = Vocabulary::default();
        assert_eq!(
            join_lines("бур аг-.", "ентъяс пӧвсысь", &v),
            "бур агентъяс пӧвсысь"
        );
        assert_eq!(
            join_lines("кор ньӧбӧ- ·", "ны нянь", &v),
            "кор ньӧбӧны нянь"
        );
    }
}
