//! The fast path of timestamp parsing: the canonical UTC form that profiles
//! and event streams almost always use, `2026-11-24T09:00:00Z` with an
//! optional fraction of a second, read without a general parser. Anything
//! else (an offset, a lowercase `t`, a leap second, a bare date) is left to
//! chrono, so this path only has to agree with chrono where it answers,
//! which its tests check.

/// Microseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (one
/// to nine fraction digits, truncated to microseconds as chrono does), or
/// `None` if `text` is not exactly that or names no valid date and time.
pub(crate) fn parse_utc(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (head, rest) = bytes.split_first_chunk::<19>()?;
    let fraction = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let nanos = number(digits)? * 10i64.pow(9 - digits.len() as u32);
            nanos / 1000
        }
        _ => return None,
    };
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
    ] = *head
    else {
        return None;
    };
    let year = number(&[y0, y1, y2, y3])?;
    let (month, day) = (number(&[m0, m1])?, number(&[d0, d1])?);
    let (hour, minute, second) = (number(&[h0, h1])?, number(&[n0, n1])?, number(&[s0, s1])?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds * 1_000_000 + fraction)
}

/// The decimal number of ASCII digits (at most nine, so no overflow).
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0i64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::DateTime;
    use proptest::prelude::*;

    use super::parse_utc;

    fn chrono(text: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.timestamp_micros())
    }

    #[test]
    fn the_canonical_form_and_its_edges() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-11-24T09:00:00Z",
            "2024-02-29T23:59:59.999999Z",
            "2000-02-29T12:00:00.5Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.123456789Z",
            "1969-12-31T23:59:59.000001Z",
        ] {
            assert_eq!(parse_utc(text), chrono(text), "{text}");
            assert!(parse_utc(text).is_some(), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-01-01t00:00:00Z",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00",
            "+026-01-01T00:00:00Z",
            "2026-01-01",
            "",
        ] {
            assert_eq!(parse_utc(text), None, "{text}");
        }
    }

    proptest! {
        /// Where the fast path answers, chrono answers the same; every
        /// valid canonical text gets an answer.
        #[test]
        fn agrees_with_chrono(
            year in 0..=9999i64, month in 0..=13i64, day in 0..=32i64,
            hour in 0..=24i64, minute in 0..=60i64, second in 0..=60i64,
            fraction in prop::option::of("[0-9]{1,10}"),
        ) {
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!(
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z"
            );
            let fast = parse_utc(&text);
            if let Some(micros) = fast {
                prop_assert_eq!(Some(micros), chrono(&text), "{}", text);
            } else {
                // Chrono takes a leap second and more than nine digits of
                // fraction, which the fast path leaves to it; nothing else
                // valid may be declined.
                let left_to_chrono = second == 60 || fraction.len() > 10;
                prop_assert!(chrono(&text).is_none() || left_to_chrono, "{}", text);
            }
        }

        /// Arbitrary text near the form never gets an answer chrono
        /// disagrees with.
        #[test]
        fn near_misses_agree_too(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.Zz+-]{8,16}") {
            if let Some(micros) = parse_utc(&text) {
                prop_assert_eq!(Some(micros), chrono(&text), "{}", text);
            }
        }
    }
}
