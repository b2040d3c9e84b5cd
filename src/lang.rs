//! The one table that maps the language codes librarians write to BCP 47 tags and Tesseract models.

use std::fmt;

/// A language a book is written in, as kitap understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// ISO 639-3 code, the canonical name kitap reports (`kaz`, `tuk`).
    pub iso639_3: &'static str,
    /// BCP 47 tag for PDF, EPUB and manifest metadata (`kk`, `tk`, `uz-Cyrl`).
    pub bcp47: &'static str,
    /// English name, for messages.
    pub name: &'static str,
    /// Tesseract models that read this language, best first.
    pub models: &'static [&'static str],
    /// Written right to left.
    pub rtl: bool,
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.iso639_3, self.name)
    }
}

/// (accepted codes, language). The first code is the ISO 639-3 one.
///
/// Turkmen has no Tesseract model at all: the `Latin` script model has every Turkmen letter and
/// measured 0.4 % character error rate on Turkmen pages against 5.9 % for `tur` (DESIGN.md).
/// Komi has none either: the `Cyrillic` script model has its extra letters (Ӧ, І) and measured
/// 5.3 % / 3.7 % character error rate on two Komi newspaper columns against 10.2 % / 11.1 % for `rus`.
const TABLE: &[(&[&str], Language)] = &[
    (&["rus", "ru"], lang("rus", "ru", "Russian", &["rus"])),
    (&["ukr", "uk"], lang("ukr", "uk", "Ukrainian", &["ukr"])),
    (&["bel", "be"], lang("bel", "be", "Belarusian", &["bel"])),
    (&["kaz", "kk"], lang("kaz", "kk", "Kazakh", &["kaz"])),
    (&["kir", "ky"], lang("kir", "ky", "Kyrgyz", &["kir"])),
    (&["tgk", "tg"], lang("tgk", "tg", "Tajik", &["tgk"])),
    (&["tat", "tt"], lang("tat", "tt", "Tatar", &["Cyrillic"])),
    (&["bak", "ba"], lang("bak", "ba", "Bashkir", &["kaz"])),
    (&["mon", "mn"], lang("mon", "mn", "Mongolian", &["mon"])),
    (&["kpv", "kv"], lang("kpv", "kv", "Komi", &["Cyrillic"])),
    (&["tuk", "tk"], lang("tuk", "tk", "Turkmen", &["Latin"])),
    (
        &["tuk-cyrl", "tk-cyrl"],
        lang("tuk", "tk-Cyrl", "Turkmen (Cyrillic)", &["Cyrillic"]),
    ),
    (
        &["kaz-latn", "kk-latn"],
        lang("kaz", "kk-Latn", "Kazakh (Latin)", &["Latin"]),
    ),
    (
        &["kaa", "kaa-latn"],
        lang("kaa", "kaa", "Karakalpak", &["Latin"]),
    ),
    (
        &["kaa-cyrl"],
        lang("kaa", "kaa-Cyrl", "Karakalpak (Cyrillic)", &["Cyrillic"]),
    ),
    (
        &["crh", "crh-latn"],
        lang("crh", "crh", "Crimean Tatar", &["Latin"]),
    ),
    (
        &["crh-cyrl"],
        lang("crh", "crh-Cyrl", "Crimean Tatar (Cyrillic)", &["rus"]),
    ),
    (
        &["rus-petr1708", "ru-petr1708"],
        lang(
            "rus",
            "ru-petr1708",
            "Russian (pre-1918 orthography)",
            &["Cyrillic"],
        ),
    ),
    (&["aze", "az"], lang("aze", "az", "Azerbaijani", &["aze"])),
    (
        &["aze-cyrl", "aze_cyrl", "az-cyrl"],
        lang("aze", "az-Cyrl", "Azerbaijani (Cyrillic)", &["Cyrillic"]),
    ),
    (&["uzb", "uz"], lang("uzb", "uz", "Uzbek", &["uzb"])),
    (
        &["uzb-cyrl", "uzb_cyrl", "uz-cyrl"],
        lang("uzb", "uz-Cyrl", "Uzbek (Cyrillic)", &["uzb_cyrl"]),
    ),
    (&["tur", "tr"], lang("tur", "tr", "Turkish", &["tur"])),
    (
        &["kat", "ka", "geo"],
        lang("kat", "ka", "Georgian", &["kat"]),
    ),
    (
        &["hye", "hy", "arm"],
        lang("hye", "hy", "Armenian", &["hye"]),
    ),
    (&["eng", "en"], lang("eng", "en", "English", &["eng"])),
    (&["deu", "de", "ger"], lang("deu", "de", "German", &["deu"])),
    (&["fra", "fr", "fre"], lang("fra", "fr", "French", &["fra"])),
    (&["ita", "it"], lang("ita", "it", "Italian", &["ita"])),
    (&["spa", "es"], lang("spa", "es", "Spanish", &["spa"])),
    (&["por", "pt"], lang("por", "pt", "Portuguese", &["por"])),
    (&["pol", "pl"], lang("pol", "pl", "Polish", &["pol"])),
    (&["ces", "cs", "cze"], lang("ces", "cs", "Czech", &["ces"])),
    (&["lit", "lt"], lang("lit", "lt", "Lithuanian", &["lit"])),
    (&["lav", "lv"], lang("lav", "lv", "Latvian", &["lav"])),
    (&["est", "et"], lang("est", "et", "Estonian", &["est"])),
    (&["fin", "fi"], lang("fin", "fi", "Finnish", &["fin"])),
    (&["nld", "nl", "dut"], lang("nld", "nl", "Dutch", &["nld"])),
    (&["eus", "eu", "baq"], lang("eus", "eu", "Basque", &["eus"])),
    // What automatic detection reports when it found the script but no installed language
    // explains the letters: the script model reads every language of its script.
    (
        &["und-latn"],
        lang(
            "und",
            "und-Latn",
            "undetermined language in Latin script",
            &["Latin"],
        ),
    ),
    (
        &["und-cyrl"],
        lang(
            "und",
            "und-Cyrl",
            "undetermined language in Cyrillic script",
            &["Cyrillic"],
        ),
    ),
    (&["ara", "ar"], rtl(lang("ara", "ar", "Arabic", &["ara"]))),
    (
        &["fas", "fa", "per"],
        rtl(lang("fas", "fa", "Persian", &["fas"])),
    ),
    (&["heb", "he"], rtl(lang("heb", "he", "Hebrew", &["heb"]))),
    (&["uig", "ug"], rtl(lang("uig", "ug", "Uyghur", &["uig"]))),
];

const fn lang(
    iso639_3: &'static str,
    bcp47: &'static str,
    name: &'static str,
    models: &'static [&'static str],
) -> Language {
    Language {
        iso639_3,
        bcp47,
        name,
        models,
        rtl: false,
    }
}

const fn rtl(mut l: Language) -> Language {
    l.rtl = true;
    l
}

/// Looks up a code as a librarian writes it: ISO 639-1, 639-2/B, 639-3, any case.
pub fn lookup(code: &str) -> Option<Language> {
    let code = code.trim().to_ascii_lowercase();
    TABLE
        .iter()
        .find(|(codes, _)| codes.contains(&code.as_str()))
        .map(|(_, l)| *l)
}

/// The MARC Code List for Languages' code of an ISO 639-3 code: ISO 639-2/B where it differs
/// from the terminology code (`ger`, `fre`, `cze`…), `kom` for Komi (MARC has no `kpv`).
pub fn marc_code(iso639_3: &str) -> &str {
    match iso639_3 {
        "deu" => "ger",
        "fra" => "fre",
        "ces" => "cze",
        "nld" => "dut",
        "eus" => "baq",
        "kat" => "geo",
        "hye" => "arm",
        "fas" => "per",
        "kpv" => "kom",
        other => other,
    }
}

/// Every code kitap accepts, for error messages.
pub fn known_codes() -> String {
    TABLE
        .iter()
        .map(|(codes, _)| codes[0])
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tesseract models for a list of languages, main language first, without repeats.
/// English is often mixed into other scripts (names, terms), which is why books list it explicitly:
/// nothing is added here behind the librarian's back.
pub fn models_for(languages: &[Language]) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for l in languages {
        for m in l.models {
            if !models.iter().any(|x| x == m) {
                models.push((*m).to_string());
            }
        }
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn librarian_codes_map_to_tags_and_models() {
        let tk = lookup("TK").unwrap();
        assert_eq!(
            (tk.iso639_3, tk.bcp47, tk.models),
            ("tuk", "tk", &["Latin"][..])
        );
        assert_eq!(lookup("kk").unwrap().iso639_3, "kaz");
        assert_eq!(lookup("rus").unwrap().bcp47, "ru");
        assert_eq!(lookup("uz-Cyrl").unwrap().models, &["uzb_cyrl"]);
        assert!(lookup("xx").is_none());
    }

    #[test]
    fn models_are_deduplicated_in_order() {
        let langs = [
            lookup("ru").unwrap(),
            lookup("uk").unwrap(),
            lookup("ru").unwrap(),
            lookup("en").unwrap(),
        ];
        assert_eq!(models_for(&langs), ["rus", "ukr", "eng"]);
    }

    #[test]
    fn marc_codes_are_bibliographic() {
        assert_eq!(marc_code("deu"), "ger");
        assert_eq!(marc_code("kpv"), "kom");
        assert_eq!(marc_code("tuk"), "tuk");
        for (_, l) in TABLE {
            let code = marc_code(l.iso639_3);
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()),
                "{code}"
            );
        }
    }

    #[test]
    fn every_code_is_unique() {
        let mut all: Vec<&str> = TABLE.iter().flat_map(|(c, _)| c.iter().copied()).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
