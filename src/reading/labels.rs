//! Printed page labels: followed from the numbers read on the pages, or laid down by
//! book.toml's `page_labels` the way the PDF shows them.

use crate::config::{LabelStyle, PageLabelRange};

/// Labels from the numbers printed on the pages, else the page index.
///
/// The numbering is followed in runs: two or more readings with the same offset (number −
/// position) confirm it for the pages they span; a reading that no reading near it agrees
/// with is a misread and ignored. Pages between runs (unnumbered plates, a page missing from the scan)
/// carry on the run before them while that stays below the next run's first number, and are
/// labelled by position in brackets where it would not; pages before the first run take its
/// offset back to number 1. Without any confirmed run: the page index.
pub fn detected_labels(numbers: &[Option<u32>]) -> Vec<String> {
    // (page, offset) of every reading, 1-based pages; a reading no other reading within two
    // on either side agrees with is a misread.
    let reads: Vec<(i64, i64)> = numbers
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i as i64 + 1, n as i64 - (i as i64 + 1))))
        .collect();
    let agreed: Vec<(i64, i64)> = reads
        .iter()
        .enumerate()
        .filter(|&(k, &(_, off))| {
            let near = k.saturating_sub(2)..(k + 3).min(reads.len());
            near.filter(|&j| j != k).any(|j| reads[j].1 == off)
        })
        .map(|(_, r)| *r)
        .collect();
    // (first page, last page, offset) of each confirmed run.
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    let mut current: Option<(i64, i64, i64, usize)> = None;
    for &(page, off) in &agreed {
        current = match current {
            Some((first, _, o, count)) if o == off => Some((first, page, o, count + 1)),
            other => {
                if let Some((first, last, o, count)) = other
                    && count >= 2
                {
                    runs.push((first, last, o));
                }
                Some((page, page, off, 1))
            }
        };
    }
    if let Some((first, last, o, count)) = current
        && count >= 2
    {
        runs.push((first, last, o));
    }
    if runs.is_empty() {
        return (1..=numbers.len()).map(|i| i.to_string()).collect();
    }
    (1..=numbers.len() as i64)
        .map(|i| {
            let before = runs.iter().rev().find(|r| r.0 <= i);
            let next = runs.iter().find(|r| r.0 > i);
            let n = match before {
                Some(&(_, last, off)) if i <= last => Some(i + off),
                Some(&(_, _, off)) => {
                    let fits = next.is_none_or(|&(first, _, next_off)| i + off < first + next_off);
                    fits.then_some(i + off)
                }
                None => next.map(|&(_, _, off)| i + off),
            };
            match n {
                Some(n) if n >= 1 => n.to_string(),
                // Unnumbered: before the numbering begins, or a plate between numbered pages.
                _ => format!("[{i}]"),
            }
        })
        .collect()
}

/// Labels from book.toml's `page_labels`, the way the PDF shows them.
pub fn configured_labels(ranges: &[PageLabelRange], page_count: u32) -> Vec<String> {
    (1..=page_count)
        .map(|i| {
            let Some(r) = ranges.iter().rev().find(|r| r.from <= i) else {
                return i.to_string();
            };
            let n = r.start + (i - r.from);
            let body = match r.style {
                LabelStyle::Arabic => n.to_string(),
                LabelStyle::Roman => roman(n).to_lowercase(),
                LabelStyle::RomanUpper => roman(n),
                LabelStyle::Letters => letters(n).to_lowercase(),
                LabelStyle::LettersUpper => letters(n),
                LabelStyle::None => String::new(),
            };
            let label = format!("{}{body}", r.prefix.as_deref().unwrap_or(""));
            if label.is_empty() {
                i.to_string()
            } else {
                label
            }
        })
        .collect()
}

fn roman(mut n: u32) -> String {
    const TABLE: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut s = String::new();
    for (v, r) in TABLE {
        while n >= v {
            s.push_str(r);
            n -= v;
        }
    }
    s
}

/// PDF letter labels: A…Z, AA…ZZ, AAA…
fn letters(n: u32) -> String {
    let n = n.max(1);
    let c = char::from(b'A' + ((n - 1) % 26) as u8);
    std::iter::repeat_n(c, ((n - 1) / 26 + 1) as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_disagree_give_index_labels() {
        assert_eq!(detected_labels(&[Some(7), None, Some(30)]), ["1", "2", "3"]);
        assert_eq!(
            detected_labels(&[None, Some(1), Some(2), None]),
            ["[1]", "1", "2", "3"]
        );
    }

    #[test]
    fn numbering_is_followed_in_runs_across_plates_and_misreads() {
        // Pages 1–3 numbered 7–9, two unnumbered plates, then 10–12; one misread (40).
        let numbers = [
            Some(7),
            Some(8),
            Some(9),
            None,
            None,
            Some(10),
            Some(40),
            Some(12),
            Some(13),
        ];
        assert_eq!(
            detected_labels(&numbers),
            ["7", "8", "9", "[4]", "[5]", "10", "11", "12", "13"]
        );
        // A page missing from the scan: the numbers jump, the labels follow.
        assert_eq!(
            detected_labels(&[Some(1), Some(2), Some(4), Some(5)]),
            ["1", "2", "4", "5"]
        );
    }

    #[test]
    fn configured_labels_follow_book_toml() {
        let ranges = vec![
            PageLabelRange {
                from: 1,
                style: LabelStyle::Roman,
                start: 1,
                prefix: None,
            },
            PageLabelRange {
                from: 4,
                style: LabelStyle::Arabic,
                start: 1,
                prefix: None,
            },
        ];
        assert_eq!(configured_labels(&ranges, 5), ["i", "ii", "iii", "1", "2"]);
    }
}
