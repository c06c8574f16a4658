//! The fast path of reading and writing timestamps: the canonical UTC form
//! that profiles, event streams and output lines almost always use,
//! `2026-11-24T09:00:00Z` with an optional fraction of a second, without a
//! general parser or formatter. Anything else (an offset, a lowercase `t`,
//! a leap second, a bare date, a year outside 0000 to 9999) is left to
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

/// `micros` written as chrono writes it with `SecondsFormat::AutoSi` and a
/// `Z` (`2026-11-24T09:00:00Z`, a fraction only when there is one, in
/// groups of three digits), into `buffer`; `None` outside years 0000 to
/// 9999, where chrono writes signs and more digits.
pub(crate) fn format_utc(micros: i64, buffer: &mut [u8; 32]) -> Option<&str> {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut text = Text { buffer, len: 0 };
    text.number(year, 4, b'-');
    text.number(month, 2, b'-');
    text.number(day, 2, b'T');
    text.number(of_day / 3600, 2, b':');
    text.number(of_day / 60 % 60, 2, b':');
    match fraction {
        0 => text.number(of_day % 60, 2, b'Z'),
        _ => {
            text.number(of_day % 60, 2, b'.');
            if fraction % 1000 == 0 {
                text.number(fraction / 1000, 3, b'Z');
            } else {
                text.number(fraction, 6, b'Z');
            }
        }
    }
    let Text { buffer, len } = text;
    std::str::from_utf8(buffer.get(..len)?).ok()
}

/// Digits and separators written one after another.
struct Text<'b> {
    buffer: &'b mut [u8; 32],
    len: usize,
}

impl Text<'_> {
    /// `n` in `digits` decimal digits (`0 <= n < 10^digits`), then `after`.
    fn number(&mut self, n: i64, digits: u32, after: u8) {
        for place in (0..digits).rev() {
            let digit = (n / 10i64.pow(place)).rem_euclid(10);
            self.push(b'0' + u8::try_from(digit).unwrap_or(0));
        }
        self.push(after);
    }

    fn push(&mut self, byte: u8) {
        if let Some(cell) = self.buffer.get_mut(self.len) {
            *cell = byte;
            self.len += 1;
        }
    }
}

/// The date of a day counted from 1970-01-01 (Hinnant's
/// `civil_from_days`, the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    use super::{format_utc, parse_utc};

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
        /// Written as chrono writes it, for every instant of years 0000 to
        /// 9999, and read back to the same instant.
        #[test]
        fn formats_as_chrono_does(
            micros in -62_167_219_200_000_000i64..=253_402_300_799_999_999,
            rounding in 0..3usize,
        ) {
            // Whole seconds and milliseconds are the usual cases.
            let micros = match rounding {
                0 => micros - micros.rem_euclid(1_000_000),
                1 => micros - micros.rem_euclid(1000),
                _ => micros,
            };
            let chrono = DateTime::from_timestamp_micros(micros)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            let mut buffer = [0u8; 32];
            prop_assert_eq!(format_utc(micros, &mut buffer), Some(chrono.as_str()));
            prop_assert_eq!(parse_utc(&chrono), Some(micros));
        }

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
