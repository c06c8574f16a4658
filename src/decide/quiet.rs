//! Quiet hours in the customer's own time zone, correct across DST changes.

use chrono::{Duration as ChronoDuration, LocalResult, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::profile::Profile;
use crate::rules::QuietHours;
use crate::value::Timestamp;

/// The zone quiet hours use for `profile`: the one its time-zone trait
/// names, or the rule set's default when there is no such trait or it is
/// NULL. A name that is no IANA zone is the default too, and handed back as
/// `Err` with the zone used, so that the caller can say so.
pub(crate) fn profile_zone(quiet: &QuietHours, profile: &Profile) -> Result<Tz, (String, Tz)> {
    let default = quiet.default_timezone;
    let Some(trait_ref) = &quiet.timezone else {
        return Ok(default);
    };
    profile
        .with_text(trait_ref.slot, |name| {
            name.parse::<Tz>().map_err(|_| (name.to_owned(), default))
        })
        .unwrap_or(Ok(default))
}

/// Whether local time-of-day `t` is in the quiet period `[start, end)`, which
/// wraps past midnight when `end <= start`.
fn is_quiet(t: NaiveTime, start: NaiveTime, end: NaiveTime) -> bool {
    if start < end {
        start <= t && t < end
    } else if start > end {
        t >= start || t < end
    } else {
        false
    }
}

/// The first instant after `after` at which the wall clock in `zone` reads
/// `local`. A wall time that occurs twice (autumn) is its first occurrence
/// after `after`; one that does not exist (spring) becomes the end of the gap.
fn next_instant(zone: Tz, local: NaiveDateTime, after: Timestamp) -> Option<Timestamp> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(Timestamp::from_datetime(at.to_utc())),
        LocalResult::Ambiguous(first, second) => {
            let first = Timestamp::from_datetime(first.to_utc());
            let second = Timestamp::from_datetime(second.to_utc());
            Some(if first > after { first } else { second })
        }
        // Inside a gap: the first wall time that exists is the gap's end.
        // Gaps are at most a few hours; walk forward a minute at a time.
        LocalResult::None => (1..=24 * 60).find_map(|minutes| {
            match zone.from_local_datetime(&(local + ChronoDuration::minutes(minutes))) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                    Some(Timestamp::from_datetime(at.to_utc()))
                }
                LocalResult::None => None,
            }
        }),
    }
}

/// When a send decided at `now` may go out: `None` if `now` is outside the
/// quiet period, else the end of the quiet period in `zone`.
pub(crate) fn quiet_until(
    now: Timestamp,
    zone: Tz,
    start: NaiveTime,
    end: NaiveTime,
) -> Option<Timestamp> {
    let utc = now.to_datetime()?;
    let local = utc.with_timezone(&zone).naive_local();
    if !is_quiet(local.time(), start, end) {
        return None;
    }
    let mut end_day = local.date();
    if local.time() >= end {
        end_day = end_day.succ_opt()?;
    }
    let resume = next_instant(zone, end_day.and_time(end), now)?;
    // A resume instant at or before now (a wall time skipped by DST) means the
    // quiet period is already over.
    (resume > now).then_some(resume)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn clock(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    fn until(now: &str, zone: Tz, start: &str, end: &str) -> Option<String> {
        quiet_until(at(now), zone, clock(start), clock(end)).map(|t| t.to_string())
    }

    #[test]
    fn outside_the_quiet_period_nothing_is_deferred() {
        assert_eq!(
            until("2026-11-24T10:00:00Z", Tz::Europe__Berlin, "21:00", "08:00"),
            None
        );
        // 19:59 UTC is 20:59 in Berlin (CET): one minute before quiet hours.
        assert_eq!(
            until("2026-11-24T19:59:00Z", Tz::Europe__Berlin, "21:00", "08:00"),
            None
        );
    }

    #[test]
    fn late_evening_defers_to_the_next_morning_in_the_customers_zone() {
        // 21:30 UTC = 22:30 CET; quiet until 08:00 CET = 07:00 UTC.
        assert_eq!(
            until("2026-11-24T21:30:00Z", Tz::Europe__Berlin, "21:00", "08:00").as_deref(),
            Some("2026-11-25T07:00:00Z")
        );
        // Early morning: 05:00 UTC = 06:00 CET; quiet until 07:00 UTC the same day.
        assert_eq!(
            until("2026-11-25T05:00:00Z", Tz::Europe__Berlin, "21:00", "08:00").as_deref(),
            Some("2026-11-25T07:00:00Z")
        );
        // The start is inclusive and the end exclusive.
        assert!(until("2026-11-24T20:00:00Z", Tz::Europe__Berlin, "21:00", "08:00").is_some());
        assert_eq!(
            until("2026-11-25T07:00:00Z", Tz::Europe__Berlin, "21:00", "08:00"),
            None
        );
    }

    #[test]
    fn spring_forward_night_in_berlin() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST. Quiet 01:00–02:30: 02:30
        // does not exist that night, so quiet hours end when the gap ends,
        // 03:00 CEST = 01:00 UTC.
        assert_eq!(
            until("2026-03-29T00:30:00Z", Tz::Europe__Berlin, "01:00", "02:30").as_deref(),
            Some("2026-03-29T01:00:00Z")
        );
        // An ordinary 21:00–08:00 night across the change ends at 08:00 CEST = 06:00 UTC.
        assert_eq!(
            until("2026-03-28T22:00:00Z", Tz::Europe__Berlin, "21:00", "08:00").as_deref(),
            Some("2026-03-29T06:00:00Z")
        );
    }

    #[test]
    fn autumn_night_in_new_york() {
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST. Quiet 00:00–01:30:
        // 01:30 happens twice; quiet hours end at the first, 05:30 UTC.
        assert_eq!(
            until(
                "2026-11-01T04:10:00Z",
                Tz::America__New_York,
                "00:00",
                "01:30"
            )
            .as_deref(),
            Some("2026-11-01T05:30:00Z")
        );
        // Between the two 01:30s (06:10 UTC = 01:10 EST), quiet again until
        // the second 01:30, 06:30 UTC.
        assert_eq!(
            until(
                "2026-11-01T06:10:00Z",
                Tz::America__New_York,
                "00:00",
                "01:30"
            )
            .as_deref(),
            Some("2026-11-01T06:30:00Z")
        );
    }

    #[test]
    fn spring_forward_night_in_new_york() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT. Quiet 21:00–02:30 ends
        // at the end of the gap, 03:00 EDT = 07:00 UTC.
        assert_eq!(
            until(
                "2026-03-08T05:00:00Z",
                Tz::America__New_York,
                "21:00",
                "02:30"
            )
            .as_deref(),
            Some("2026-03-08T07:00:00Z")
        );
    }
}
