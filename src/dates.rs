//! Publication dates as librarians write them: a year that may be uncertain (`"1939?"`,
//! `"[1939]"`, `"ca. 1900"`, `"193-?"`), and the full date a periodical's issue came out.
//!
//! A [`Year`] keeps what was written — the catalogue shows it so — and the years it may
//! stand for, for sorting (the first) and for the MARC 008 date type (one year or a range).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A year of publication: as written, and the first and last year it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Year {
    written: String,
    first: i32,
    last: i32,
    /// Uncertain: a question mark, "ca.", a range or a decade.
    uncertain: bool,
    /// Supplied by the cataloguer from outside the book (in square brackets).
    supplied: bool,
    /// Read as one of the forms [`Year::parse`] knows. A manifest is read back whatever its
    /// year says (a later kitap may read fewer forms than the one that wrote it, and OUT must
    /// stay readable); book.toml and `kitap validate` refuse a year not understood.
    understood: bool,
}

impl Year {
    /// A year printed in the book, as a TOML integer gives it.
    pub fn plain(y: i32) -> Year {
        Year {
            written: y.to_string(),
            first: y,
            last: y,
            uncertain: false,
            supplied: false,
            understood: true,
        }
    }

    /// A year as stored that is none of the forms kitap reads: kept as written, sorting first.
    fn unread(written: &str) -> Year {
        Year {
            written: written.to_string(),
            first: 0,
            last: 0,
            uncertain: true,
            supplied: false,
            understood: false,
        }
    }

    /// Why the year is not one kitap reads, when it is not.
    pub fn problem(&self) -> Option<String> {
        (!self.understood).then(|| not_a_year(&self.written))
    }

    /// Reads a year as a catalogue writes it; `Err` says what forms are understood.
    ///
    /// - `1939` — printed in the book;
    /// - `[1939]` — known from elsewhere (brackets may surround any of the forms below);
    /// - `1939?` — probable; `ca. 1900`, `c. 1900`, `circa 1900`, `около 1900`, `ок. 1900` — approximate;
    /// - `193-` or `193u` — some year of the 1930s; `19--` or `19uu` — of the 20th century
    ///   (either with `?`);
    /// - `1939-1941` or `1939/1941`, `1939 or 1940` — one of the years between.
    pub fn parse(s: &str) -> Result<Year, String> {
        let written = crate::config::clean_text(s);
        let mut rest = written.as_str();
        let mut supplied = false;
        if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            (rest, supplied) = (inner.trim(), true);
        }
        let mut uncertain = false;
        if let Some(r) = rest.strip_suffix('?') {
            (rest, uncertain) = (r.trim_end(), true);
        }
        let lower = rest.to_lowercase();
        for prefix in [
            "approximately",
            "circa",
            "ca.",
            "ca",
            "c.",
            "около",
            "ок.",
            "approx.",
        ] {
            if let Some(r) = lower.strip_prefix(prefix)
                && (prefix.ends_with('.') || r.starts_with([' ', '.']))
            {
                let r = r.trim_start_matches(['.', ' ']);
                let (first, last) = years(r).ok_or_else(|| not_a_year(&written))?;
                return Ok(Year {
                    written,
                    first,
                    last,
                    uncertain: true,
                    supplied,
                    understood: true,
                });
            }
        }
        let (first, last) = years(&lower).ok_or_else(|| not_a_year(&written))?;
        Ok(Year {
            uncertain: uncertain || first != last,
            written,
            first,
            last,
            supplied,
            understood: true,
        })
    }

    /// As written in book.toml.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// The year to sort by: the first it may be.
    pub fn sort(&self) -> i32 {
        self.first
    }

    /// The last year it may be (the first, for one year).
    pub fn last(&self) -> i32 {
        self.last
    }

    /// A plain year printed in the book (written as a number).
    pub fn is_plain(&self) -> bool {
        !self.uncertain && !self.supplied && self.written == self.first.to_string()
    }

    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// MARC 008/06–14: `s` and one year when the year is one (perhaps probable or supplied),
    /// `q` with the first and last year for a range, a decade or a century.
    pub fn marc_008_dates(&self) -> String {
        if self.first == self.last {
            format!("s{:04}    ", self.first)
        } else {
            format!("q{:04}{:04}", self.first, self.last)
        }
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

fn not_a_year(written: &str) -> String {
    // A page of text pasted by mistake is named by its start.
    let shown = crate::config::cut_to_bytes(written, 60);
    let more = if shown.len() < written.len() {
        "…"
    } else {
        ""
    };
    format!(
        "year {shown:?}{more} is not a year as kitap reads them: write 1939, \"1939?\", \"[1939]\", \"ca. 1900\", \"c. 1900\", \"193-?\", \"19--\", \"1939-1941\", \"1939/41\" or \"1939 or 1940\""
    )
}

/// The first and last year of `1939`, `193-`/`193u`, `19--`/`19uu`, `1939-1941`, `1939/41`
/// and `1939 or 1940`.
fn years(s: &str) -> Option<(i32, i32)> {
    let s = s.trim();
    let digits = |t: &str| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit());
    if digits(s) {
        let y = s.parse().ok()?;
        return Some((y, y));
    }
    // Unknown trailing digits: `193-`, `193u`, `19--`, `19uu`, `1---`.
    let known = s.trim_end_matches(['-', 'u', 'x', '_']);
    if s.len() == 4
        && known.len() < 4
        && !known.is_empty()
        && known.bytes().all(|b| b.is_ascii_digit())
    {
        let unknown = 4 - known.len() as u32;
        let base: i32 = known.parse().ok()?;
        let span = 10_i32.pow(unknown);
        return Some((base * span, base * span + span - 1));
    }
    for sep in [" or ", " или ", "-", "–", "/"] {
        if let Some((a, b)) = s.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            if !digits(a) {
                return None;
            }
            let first: i32 = a.parse().ok()?;
            // `1939/41`: the second year's last digits.
            let last: i32 = if digits(b) {
                b.parse().ok()?
            } else if b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()) {
                // `1939/41`, `1999/00`: the next years, within a decade (`1939/38` is a slip,
                // not 2038).
                let last = first / 100 * 100 + b.parse::<i32>().ok()?;
                let last = if last <= first { last + 100 } else { last };
                if last - first > 10 {
                    return None;
                }
                last
            } else {
                return None;
            };
            return (last > first).then_some((first, last));
        }
    }
    None
}

impl Serialize for Year {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A plain year stays a number, as manifests have always carried it.
        if self.is_plain() {
            s.serialize_i32(self.first)
        } else {
            s.serialize_str(&self.written)
        }
    }
}

impl<'de> Deserialize<'de> for Year {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Year, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Year;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a year: 1939, or a string such as \"1939?\", \"[1939]\", \"ca. 1900\" or \"193-?\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Year, E> {
                i32::try_from(v)
                    .map(Year::plain)
                    .map_err(|_| E::custom(format!("year {v} is not a year")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Year, E> {
                i32::try_from(v)
                    .map(Year::plain)
                    .map_err(|_| E::custom(format!("year {v} is not a year")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Year, E> {
                // Refused by book.toml's checks and by validate, never by the reader.
                Ok(Year::parse(v).unwrap_or_else(|_| Year::unread(v)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The date a periodical's issue came out: `1939-05-06`, written in book.toml as a TOML date
/// or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueDate(time::Date);

impl IssueDate {
    pub fn parse(s: &str) -> Result<IssueDate, String> {
        let bad = || format!("issued {s:?} is not a date: write it as 1939-05-06 (year-month-day)");
        let mut parts = s.trim().splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (y, m, d): (i32, u8, u8) = (
            y.parse().map_err(|_| bad())?,
            m.parse().map_err(|_| bad())?,
            d.parse().map_err(|_| bad())?,
        );
        let month = time::Month::try_from(m).map_err(|_| bad())?;
        time::Date::from_calendar_date(y, month, d)
            .map(IssueDate)
            .map_err(|_| bad())
    }

    pub fn year(&self) -> i32 {
        self.0.year()
    }
}

impl fmt::Display for IssueDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl Serialize for IssueDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IssueDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IssueDate, D::Error> {
        // A TOML date (`issued = 1939-05-06`) arrives as toml's datetime, a JSON or TOML
        // string as text; either is read as text (which refuses a time of day).
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Toml(toml::value::Datetime),
            Text(String),
        }
        let text = match Written::deserialize(d)? {
            Written::Toml(dt) => dt.to_string(),
            Written::Text(s) => s,
        };
        IssueDate::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A volume or issue number as printed: `2`, `II`, `3a`, `12–13`; a TOML number or string.
pub fn deserialize_numbering<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number from 1 (45) or the text as printed (\"II\", \"45–46\")")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            if v == 0 {
                return Err(E::invalid_value(serde::de::Unexpected::Unsigned(0), &self));
            }
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Visitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(s: &str) -> (i32, i32, bool) {
        let y = Year::parse(s).unwrap();
        (y.sort(), y.last(), y.is_uncertain())
    }

    #[test]
    fn years_as_librarians_write_them() {
        assert_eq!(range("1939"), (1939, 1939, false));
        assert_eq!(range("1939?"), (1939, 1939, true));
        assert_eq!(range("[1939]"), (1939, 1939, false));
        assert_eq!(range("[1939?]"), (1939, 1939, true));
        assert_eq!(range("ca. 1900"), (1900, 1900, true));
        assert_eq!(range("c. 1900"), (1900, 1900, true));
        assert_eq!(range("circa 1900"), (1900, 1900, true));
        assert_eq!(range("около 1900"), (1900, 1900, true));
        assert_eq!(range("ок. 1900"), (1900, 1900, true));
        assert_eq!(range("[ca. 1900]"), (1900, 1900, true));
        assert_eq!(range("193-?"), (1930, 1939, true));
        assert_eq!(range("193-"), (1930, 1939, true));
        assert_eq!(range("[193-?]"), (1930, 1939, true));
        assert_eq!(range("193u"), (1930, 1939, true));
        assert_eq!(range("19--"), (1900, 1999, true));
        assert_eq!(range("1939-1941"), (1939, 1941, true));
        assert_eq!(range("1939/41"), (1939, 1941, true));
        assert_eq!(range("1939 or 1940"), (1939, 1940, true));
        assert_eq!(range("1999/00"), (1999, 2000, true));
        assert_eq!(range("1939-41"), (1939, 1941, true));
        assert_eq!(Year::parse("[1939]").unwrap().written(), "[1939]");
        for bad in [
            "",
            "abc",
            "19",
            "1941-1939",
            "year 1939",
            "caa 1900",
            "1939??",
            "193-a",
            "1939/38",
            "1939/041",
            "19?9",
            "ca.",
            "[]",
        ] {
            assert!(Year::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plain_year_stays_a_number_and_the_rest_as_written() {
        let json = |y: &Year| serde_json::to_string(y).unwrap();
        assert_eq!(json(&Year::plain(1939)), "1939");
        assert_eq!(json(&Year::parse("1939").unwrap()), "1939");
        assert_eq!(json(&Year::parse("193-?").unwrap()), "\"193-?\"");
        let back: Year = serde_json::from_str("\"[1939]\"").unwrap();
        assert_eq!(back, Year::parse("[1939]").unwrap());
        let back: Year = serde_json::from_str("1939").unwrap();
        assert_eq!(back, Year::plain(1939));
        // A stored year no form reads stays readable, as written, and says what is wrong.
        let odd: Year = serde_json::from_str("\"1905/17\"").unwrap();
        assert_eq!(json(&odd), "\"1905/17\"");
        assert!(
            odd.problem()
                .unwrap()
                .contains("is not a year as kitap reads them")
        );
        assert!(Year::parse("1939?").unwrap().problem().is_none());
    }

    #[test]
    fn marc_dates() {
        assert_eq!(Year::parse("1939?").unwrap().marc_008_dates(), "s1939    ");
        assert_eq!(Year::parse("193-?").unwrap().marc_008_dates(), "q19301939");
    }

    #[test]
    fn issue_dates() {
        assert_eq!(
            IssueDate::parse("1939-05-06").unwrap().to_string(),
            "1939-05-06"
        );
        for bad in ["1939-02-30", "1939-5-6", "06.05.1939", "1939-05", ""] {
            assert!(IssueDate::parse(bad).is_err(), "{bad}");
        }
    }
}
