//! Finding a book's language from its pages when nobody said (`languages = ["auto"]`, the
//! built-in pipelines' default): the script first (Tesseract's OSD, or which script model reads
//! better), then the language among the installed models of that script, from the letters only
//! it uses. This module is the pure part: letters counted in a reading → a verdict with its
//! evidence. `convert` reads the sample pages.
//!
//! The rule, per candidate language of the script: letters of the script its alphabet lacks
//! are *foreign*; letters it has beyond the script's base language (Russian for Cyrillic,
//! English for Latin) are its *own*. A language explains the text when at most 1 % of the
//! letters are foreign to it (OCR noise); of those, the one with the most own letters wins,
//! and a language other than the base must show its own letters (at least 5, and 0.5 % of the
//! text) to win over the base. Equal evidence goes to the smaller alphabet: a Kyrgyz text (ң ө ү)
//! fits Kazakh too, but lacks Kazakh's ә ғ қ ұ һ і.

use std::collections::BTreeMap;

use crate::lang::{self, Language};

/// A writing system kitap can tell languages apart in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
}

/// The scripts kitap tells languages apart in, most used in the holdings first.
pub const SCRIPTS: [Script; 2] = [Script::Cyrillic, Script::Latin];

impl Script {
    /// Tesseract's name for it, which is also its script model's.
    pub fn model(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Cyrillic => "Cyrillic",
        }
    }

    /// The script of an OSD answer (`Latin`, `Cyrillic`, …); `None` for the scripts kitap has
    /// no letter tables for.
    pub fn from_osd(name: &str) -> Option<Script> {
        match name {
            "Latin" => Some(Script::Latin),
            "Cyrillic" => Some(Script::Cyrillic),
            _ => None,
        }
    }

    fn contains(self, c: char) -> bool {
        match self {
            Script::Latin => {
                c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) || c == 'ə'
            }
            Script::Cyrillic => ('\u{0400}'..='\u{052F}').contains(&c),
        }
    }

    /// The BCP 47 tag of "a language in this script, which one unknown".
    fn undetermined(self) -> Language {
        match self {
            Script::Latin => lang::lookup("und-latn").expect("in the table"),
            Script::Cyrillic => lang::lookup("und-cyrl").expect("in the table"),
        }
    }
}

/// A language's letters (lower case), as its alphabet is printed.
struct Alphabet {
    /// The code in kitap's language table.
    code: &'static str,
    script: Script,
    letters: &'static str,
}

const RUSSIAN: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
const ENGLISH: &str = "abcdefghijklmnopqrstuvwxyz";

/// The alphabets kitap tells apart. The first of each script is its base language.
const ALPHABETS: &[Alphabet] = &[
    Alphabet {
        code: "rus",
        script: Script::Cyrillic,
        letters: RUSSIAN,
    },
    Alphabet {
        code: "ukr",
        script: Script::Cyrillic,
        letters: "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    },
    Alphabet {
        code: "bel",
        script: Script::Cyrillic,
        letters: "абвгдеёжзійклмнопрстуўфхцчшыьэюя",
    },
    Alphabet {
        code: "kaz",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
    },
    Alphabet {
        code: "kir",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяңөү",
    },
    Alphabet {
        code: "tat",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәөүҗңһ",
    },
    Alphabet {
        code: "bak",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәөүғҡңҙҫһ",
    },
    Alphabet {
        code: "tgk",
        script: Script::Cyrillic,
        letters: "абвгғдеёжзиӣйкқлмнопрстуӯфхҳчҷшъэюя",
    },
    Alphabet {
        code: "mon",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяөү",
    },
    Alphabet {
        code: "kpv",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіӧ",
    },
    Alphabet {
        code: "uzb-cyrl",
        script: Script::Cyrillic,
        letters: "абвгдеёжзийклмнопрстуфхцчшъьэюяўқғҳ",
    },
    Alphabet {
        code: "aze-cyrl",
        script: Script::Cyrillic,
        letters: "абвгғдеәжзиыјкҝлмноөпрстуүфхһчҹш",
    },
    Alphabet {
        code: "eng",
        script: Script::Latin,
        letters: ENGLISH,
    },
    Alphabet {
        code: "tuk",
        script: Script::Latin,
        letters: "abçdeäfghijžklmnňoöprsştuüwyýz",
    },
    Alphabet {
        code: "aze",
        script: Script::Latin,
        letters: "abcçdeəfgğhxıijkqlmnoöprsştuüvyz",
    },
    Alphabet {
        code: "uzb",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvxyzʻ",
    },
    Alphabet {
        code: "tur",
        script: Script::Latin,
        letters: "abcçdefgğhıijklmnoöprsştuüvyz",
    },
    Alphabet {
        code: "deu",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzäöüß",
    },
    Alphabet {
        code: "fra",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzàâæçéèêëîïôœùûüÿ",
    },
    Alphabet {
        code: "spa",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzáéíñóúü",
    },
    Alphabet {
        code: "ita",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzàèéìíîòóùú",
    },
    Alphabet {
        code: "por",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzáâãàçéêíóôõú",
    },
    Alphabet {
        code: "pol",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyząćęłńóśźż",
    },
    Alphabet {
        code: "ces",
        script: Script::Latin,
        letters: "abcdefghijklmnopqrstuvwxyzáčďéěíňóřšťúůýž",
    },
];

/// Share of a text's letters that may be foreign to its language (OCR noise).
const FOREIGN_SHARE: f64 = 0.01;
/// A language beyond the base must show this many of its own letters, and this share.
const OWN_MIN: usize = 5;
const OWN_SHARE: f64 = 0.005;
/// The winner's own letters must outnumber another language's letters on the page this many
/// times, or the page holds more than one language.
const MIXED_RATIO: usize = 10;
/// Fewer letters than this and no verdict is sure.
const SURE_LETTERS: usize = 200;

/// Letters of one script counted in the sample pages' words (lower case, NFC).
#[derive(Debug, Default, Clone)]
pub struct Letters {
    counts: BTreeMap<char, usize>,
    total: usize,
}

impl Letters {
    /// Counts the letters of `script` in `word`. The Uzbek modifier letter ʻ (and the
    /// apostrophes OCR reads it as) counts as a letter after `o` and `g`.
    pub fn add_word(&mut self, script: Script, word: &str) {
        use unicode_normalization::UnicodeNormalization;
        let lower: Vec<char> = word.nfc().flat_map(char::to_lowercase).collect();
        for (i, &c) in lower.iter().enumerate() {
            let c = match c {
                '\u{2018}' | '\u{2019}' | '\'' | '`' | 'ʻ' | 'ʼ'
                    if script == Script::Latin && i > 0 && matches!(lower[i - 1], 'o' | 'g') =>
                {
                    'ʻ'
                }
                c if c.is_alphabetic() && script.contains(c) => c,
                _ => continue,
            };
            *self.counts.entry(c).or_default() += 1;
            self.total += 1;
        }
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

/// What detection concluded for a book.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The language found, or the script's "undetermined" when none explains the text.
    pub language: Language,
    /// The detected language's own letters with their counts, most frequent first: the
    /// evidence (for the base language, the letters the runner-up would have needed).
    pub evidence: Vec<(char, usize)>,
    /// Sure: enough letters, and the language explains them.
    pub sure: bool,
    /// Why it is not sure, for the warning.
    pub doubt: Option<String>,
}

/// A language whose alphabet explains a text, and its own letters in it.
struct Fit {
    alphabet: &'static Alphabet,
    own: Vec<(char, usize)>,
    own_total: usize,
}

/// Letters with their counts, most frequent first.
fn ranked(counts: impl Iterator<Item = (char, usize)>) -> Vec<(char, usize)> {
    let mut v: Vec<(char, usize)> = counts.collect();
    v.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    v
}

fn shown(v: &[(char, usize)]) -> String {
    v.iter()
        .map(|(c, k)| format!("{c} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The language of a text whose letters of `script` are `letters`, among the languages whose
/// models `installed` holds (a language read by a script model counts when that model is).
pub fn decide(script: Script, letters: &Letters, installed: &[String]) -> Verdict {
    let base = ALPHABETS
        .iter()
        .find(|a| a.script == script)
        .expect("every script has a base");
    let usable: Vec<&'static Alphabet> = ALPHABETS
        .iter()
        .filter(|a| {
            a.script == script
                && lang::lookup(a.code)
                    .is_some_and(|l| l.models.iter().all(|m| installed.iter().any(|i| i == m)))
        })
        .collect();
    let fits = fits(base, &usable, letters);
    let few = letters.total < SURE_LETTERS;
    if let Some(mixed) = fits
        .first()
        .and_then(|f| mixed(script, base, &usable, letters, f))
    {
        return mixed;
    }
    match fits.into_iter().next() {
        Some(f) => Verdict {
            language: lang::lookup(f.alphabet.code).expect("alphabets name table languages"),
            evidence: f.own,
            sure: !few,
            doubt: few.then(|| format!("only {} letters to go by", letters.total)),
        },
        None => {
            // Nothing installed explains the letters: the script model reads them all.
            let strange = ranked(
                letters
                    .counts
                    .iter()
                    .filter(|(c, _)| !base.letters.contains(**c))
                    .map(|(c, k)| (*c, *k)),
            );
            Verdict {
                language: script.undetermined(),
                doubt: Some(format!(
                    "no installed language of the {} script explains its letters ({})",
                    script.model(),
                    shown(&strange[..strange.len().min(8)])
                )),
                evidence: strange,
                sure: false,
            }
        }
    }
}

/// The languages that explain the letters, best first: most own letters, then the smaller
/// alphabet.
fn fits(base: &'static Alphabet, usable: &[&'static Alphabet], letters: &Letters) -> Vec<Fit> {
    let n = letters.total.max(1) as f64;
    let mut fits: Vec<Fit> = Vec::new();
    for &a in usable {
        let foreign: usize = letters
            .counts
            .iter()
            .filter(|(c, _)| !a.letters.contains(**c))
            .map(|(_, k)| k)
            .sum();
        if foreign as f64 > FOREIGN_SHARE * n {
            continue;
        }
        let own = ranked(
            letters
                .counts
                .iter()
                .filter(|(c, _)| a.letters.contains(**c) && !base.letters.contains(**c))
                .map(|(c, k)| (*c, *k)),
        );
        let own_total: usize = own.iter().map(|(_, k)| k).sum();
        let is_base = std::ptr::eq(a, base);
        if !is_base && (own_total < OWN_MIN || (own_total as f64) < OWN_SHARE * n) {
            continue;
        }
        fits.push(Fit {
            alphabet: a,
            own,
            own_total,
        });
    }
    fits.sort_by(|x, y| {
        y.own_total.cmp(&x.own_total).then(
            x.alphabet
                .letters
                .chars()
                .count()
                .cmp(&y.alphabet.letters.chars().count()),
        )
    });
    fits
}

/// The verdict for a page holding more than one language, when `best` (not the base) lacks
/// letters another language has and does not outnumber them far (the eurotext page:
/// Portuguese ã ç beside German ü). Stray misreadings are far fewer than a language's own
/// letters; a second language's letters are not.
fn mixed(
    script: Script,
    base: &'static Alphabet,
    usable: &[&'static Alphabet],
    letters: &Letters,
    best: &Fit,
) -> Option<Verdict> {
    if std::ptr::eq(best.alphabet, base) {
        return None;
    }
    let others = ranked(
        letters
            .counts
            .iter()
            .filter(|(c, _)| !best.alphabet.letters.contains(**c) && !base.letters.contains(**c))
            .filter(|(c, _)| usable.iter().any(|o| o.letters.contains(**c)))
            .map(|(c, k)| (*c, *k)),
    );
    let other_total: usize = others.iter().map(|(_, k)| k).sum();
    if other_total == 0 || best.own_total >= MIXED_RATIO * other_total {
        return None;
    }
    let evidence = ranked(best.own.iter().chain(&others).copied());
    Some(Verdict {
        language: script.undetermined(),
        doubt: Some(format!(
            "letters of more than one language ({} beside {}): the {} model reads them all",
            shown(&best.own),
            shown(&others),
            script.model()
        )),
        evidence,
        sure: false,
    })
}

/// The models a detected language is read with: its own, and `eng` beside a Cyrillic
/// language (names and terms in Latin letters are common in Cyrillic books, and `rus+eng`
/// read a Russian page at 0.6 % CER against 4.8 % for `rus` alone), when installed.
pub fn models_for(language: &Language, script: Script, installed: &[String]) -> Vec<String> {
    let mut models = lang::models_for(std::slice::from_ref(language));
    let script_model = models.iter().all(|m| m == "Latin" || m == "Cyrillic");
    if script == Script::Cyrillic && !script_model && installed.iter().any(|m| m == "eng") {
        models.push("eng".into());
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed() -> Vec<String> {
        [
            "rus", "ukr", "kaz", "eng", "deu", "fra", "ita", "spa", "por", "aze", "uzb", "tur",
            "uzb_cyrl", "aze_cyrl", "Latin", "Cyrillic",
        ]
        .map(String::from)
        .to_vec()
    }

    fn verdict(script: Script, text: &str) -> Verdict {
        let mut l = Letters::default();
        for w in text.split_whitespace() {
            l.add_word(script, w);
        }
        decide(script, &l, &installed())
    }

    fn code(v: &Verdict) -> &str {
        v.language.bcp47
    }

    const RU: &str = "Библиотека получила в этом году новые книги, журналы и газеты. Читатели \
        смогут найти в электронном каталоге всё, что им нужно, а объявления о новых \
        поступлениях публикуются на сайте каждую неделю. Съезд библиотекарей прошёл успешно.";
    const UK: &str = "Бібліотека отримала цього року нові книжки, журнали й газети. Читачі \
        зможуть знайти в електронному каталозі все, що їм потрібно, а оголошення про нові \
        надходження публікуються на сайті щотижня. Є ґанок і подвір'я.";
    const KK: &str = "Кітапхана биыл жаңа кітаптар, журналдар мен газеттер алды. Оқырмандар \
        электрондық каталогтан өздеріне қажеттінің бәрін таба алады, ал жаңа түсімдер \
        туралы хабарландырулар сайтта әр апта сайын жарияланады. Һәм ұлы дала.";
    const TK: &str = "Kitaphana şu ýyl täze kitaplary, žurnallary we gazetleri aldy. Okyjylar \
        elektron katalogdan özlerine gerek zatlaryň hemmesini tapyp bilerler, täze gelen \
        kitaplar barada habarlar her hepde saýtda çap edilýär.";
    const AZ: &str = "Kitabxana bu il yeni kitablar, jurnallar və qəzetlər aldı. Oxucular \
        elektron kataloqdan özlərinə lazım olan hər şeyi tapa biləcəklər, yeni daxil olan \
        kitablar haqqında elanlar hər həftə saytda dərc olunur.";
    const UZ: &str = "Kutubxona bu yil yangi kitoblar, jurnallar va gazetalar oldi. Oʻquvchilar \
        elektron katalogdan oʻzlariga kerakli hamma narsani topa oladilar, yangi kelgan \
        kitoblar haqida eʼlonlar har hafta saytda chop etiladi. Togʻ va qoʻl, koʻp boʻlgan \
        gʻalla, oʻrta maktab oʻqituvchisi.";
    const EN: &str = "The library received new books, journals and newspapers this year. \
        Readers will find everything they need in the electronic catalogue, and notices of \
        new arrivals are published on the website every week.";

    #[test]
    fn each_language_is_told_by_its_own_letters() {
        assert_eq!(code(&verdict(Script::Cyrillic, RU)), "ru");
        assert_eq!(code(&verdict(Script::Cyrillic, UK)), "uk");
        assert_eq!(code(&verdict(Script::Cyrillic, KK)), "kk");
        assert_eq!(code(&verdict(Script::Latin, TK)), "tk");
        assert_eq!(code(&verdict(Script::Latin, AZ)), "az");
        assert_eq!(code(&verdict(Script::Latin, UZ)), "uz");
        assert_eq!(code(&verdict(Script::Latin, EN)), "en");
        let kk = verdict(Script::Cyrillic, &format!("{KK} {KK}"));
        assert!(kk.evidence.iter().any(|(c, _)| *c == 'қ'), "{kk:?}");
        assert!(kk.sure);
    }

    #[test]
    fn the_uzbek_letter_is_read_from_any_apostrophe() {
        let text = UZ.replace('ʻ', "'");
        assert_eq!(code(&verdict(Script::Latin, &text)), "uz");
        let text = UZ.replace('ʻ', "\u{2018}");
        assert_eq!(code(&verdict(Script::Latin, &text)), "uz");
    }

    #[test]
    fn a_few_stray_letters_do_not_make_another_language() {
        // Russian with two OCR slips (і for и, ә for а): still Russian.
        let text = format!("{RU} {RU} і ә");
        assert_eq!(code(&verdict(Script::Cyrillic, &text)), "ru");
        // English with a name in German letters.
        let text = format!("{EN} {EN} {EN} Müller");
        assert_eq!(code(&verdict(Script::Latin, &text)), "en");
    }

    #[test]
    fn a_language_not_installed_is_not_chosen_and_the_script_model_reads_it() {
        let mut l = Letters::default();
        for w in KK.split_whitespace() {
            l.add_word(Script::Cyrillic, w);
        }
        let without_kaz: Vec<String> = installed().into_iter().filter(|m| m != "kaz").collect();
        let v = decide(Script::Cyrillic, &l, &without_kaz);
        assert_eq!(code(&v), "und-Cyrl");
        assert!(!v.sure);
        assert!(v.doubt.unwrap().contains("қ"));
        assert_eq!(
            models_for(&v.language, Script::Cyrillic, &without_kaz),
            ["Cyrillic"]
        );
    }

    #[test]
    fn komi_is_read_with_the_cyrillic_model() {
        let text = "Мӧдлапӧлын колхозникъяс уджалісны ӧтлаын, и став йӧзыс вӧлі ӧтвылысь. \
            Колхозса уджалысьяслӧн олӧмыс бурмис, и найӧ вӧчисны ыджыд удж.";
        let v = verdict(Script::Cyrillic, text);
        assert_eq!(code(&v), "kv");
        assert_eq!(
            models_for(&v.language, Script::Cyrillic, &installed()),
            ["Cyrillic"]
        );
    }

    #[test]
    fn cyrillic_languages_are_read_with_english_beside_them() {
        let v = verdict(Script::Cyrillic, UK);
        assert_eq!(
            models_for(&v.language, Script::Cyrillic, &installed()),
            ["ukr", "eng"]
        );
        let v = verdict(Script::Latin, TK);
        assert_eq!(
            models_for(&v.language, Script::Latin, &installed()),
            ["Latin"]
        );
    }

    #[test]
    fn a_page_in_several_languages_is_read_by_the_script_model() {
        let eurotext = "The quick brown fox jumps over the lazy dog. Der schnelle braune Fuchs \
            springt über den faulen Hund. Le renard brun rapide saute par-dessus le chien \
            paresseux. La volpe marrone rapida salta sopra il cane pigro. El zorro marrón \
            rápido salta sobre el perro perezoso. A raposa marrom rápida salta sobre o cão \
            preguiçoso.";
        let v = verdict(Script::Latin, eurotext);
        assert_eq!(code(&v), "und-Latn", "{v:?}");
        assert!(!v.sure);
        assert!(v.doubt.unwrap().contains("more than one language"));
        assert_eq!(
            models_for(&v.language, Script::Latin, &installed()),
            ["Latin"]
        );
        // A Portuguese text with one stray German letter is Portuguese.
        let pt = "A raposa marrom rápida salta sobre o cão preguiçoso. Não há ação sem razão: \
            as crianças órfãs estão à espera da mãe, e a irmã põe as mãos no coração. \
            Über";
        assert_eq!(code(&verdict(Script::Latin, pt)), "pt");
    }

    #[test]
    fn too_few_letters_are_not_sure() {
        let v = verdict(Script::Cyrillic, "Қазақ тілі");
        assert!(!v.sure);
        assert!(v.doubt.unwrap().contains("letters"));
    }
}
