//! Number ranges (reserved ranges of messages and enums, extension ranges of messages): which
//! numbers an old range covered that no range of the new revision covers any more.
//!
//! Ranges are inclusive here (`[start, end]`); a message's ranges are exclusive at the end in
//! descriptors and are converted by the caller.

use super::image::Place;
use super::Findings;

/// The highest field number of a message.
pub(super) const MESSAGE_MAX: i64 = 536_870_911;
/// The highest field number of a message that uses the message-set wire format.
pub(super) const MESSAGE_SET_MAX: i64 = 2_147_483_646;
/// The highest enum value number.
pub(super) const ENUM_MAX: i64 = 2_147_483_647;

/// Which ranges of which element a check compares.
pub(super) struct Ranges<'a> {
    /// The rule the lost numbers break.
    pub(super) rule: &'static str,
    /// `reserved` or `extension`.
    pub(super) what: &'a str,
    /// The element, as the message names it (`message "Foo"`).
    pub(super) on: String,
    /// The element's highest number ([`MESSAGE_MAX`], [`MESSAGE_SET_MAX`] or [`ENUM_MAX`]).
    pub(super) max: i64,
}

/// Reports, for each old range that lost numbers, which numbers the new ranges no longer
/// cover.
pub(super) fn check(
    out: &mut Findings,
    r: &Ranges<'_>,
    place: &Place,
    old: &[(i64, i64)],
    new: &[(i64, i64)],
) {
    let (rule, what, on, max) = (r.rule, r.what, &r.on, r.max);
    let collapsed = collapse(new);
    for &(start, end) in old {
        let missing = missing(start, end, &collapsed);
        if missing.is_empty() {
            continue;
        }
        let removed: Vec<String> = missing.iter().map(|&r| show(r, max)).collect();
        out.add(
            rule,
            place.clone(),
            format!(
                "Previously present {what} range {:?} on {on} is missing values: {} were removed.",
                show((start, end), max),
                removed.join(", ")
            ),
        );
    }
}

/// The ranges sorted, with overlapping and adjacent ones merged.
fn collapse(ranges: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(sorted.len());
    for (start, end) in sorted {
        match out.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// The parts of `[start, end]` that no collapsed range covers.
fn missing(start: i64, end: i64, collapsed: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut next = start;
    for &(s, e) in collapsed {
        if e < next {
            continue;
        }
        if s > end {
            break;
        }
        if s > next {
            out.push((next, s - 1));
        }
        next = e + 1;
        if next > end {
            return out;
        }
    }
    if next <= end {
        out.push((next, end));
    }
    out
}

/// `[5]`, `[5,9]` or `[5,max]`.
fn show((start, end): (i64, i64), max: i64) -> String {
    if start == end {
        format!("[{start}]")
    } else if end == max {
        format!("[{start},max]")
    } else {
        format!("[{start},{end}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_merges_overlapping_and_adjacent_ranges() {
        assert_eq!(
            collapse(&[(10, 12), (1, 3), (4, 5), (11, 20)]),
            vec![(1, 5), (10, 20)]
        );
    }

    #[test]
    fn missing_finds_every_gap() {
        let c = collapse(&[(2, 3), (6, 7)]);
        assert_eq!(missing(1, 9, &c), vec![(1, 1), (4, 5), (8, 9)]);
        assert_eq!(missing(2, 3, &c), vec![]);
        assert_eq!(missing(10, 12, &c), vec![(10, 12)]);
        assert_eq!(missing(1, 2, &[]), vec![(1, 2)]);
    }

    #[test]
    fn show_names_max() {
        assert_eq!(show((5, 5), MESSAGE_MAX), "[5]");
        assert_eq!(show((5, MESSAGE_MAX), MESSAGE_MAX), "[5,max]");
        assert_eq!(show((5, 9), MESSAGE_MAX), "[5,9]");
    }
}
