//! Quiet hours.

use super::*;

/// The churn email's `send_at` for a profile in `zone` (None: no timezone trait).
fn churn_send_at(zone: Option<&str>, now: Timestamp) -> Timestamp {
    let engine = classic();
    let id = reachable(0);
    let p = churn_with(&engine, &id, &json!({"timezone": zone}));
    let d = explain(&engine, &p, &MemoryHistory::new(), now);
    assert_eq!(emitted(&d), ["churn_email"], "at {now}: {d:#?}");
    d.emissions[0].send_at
}

fn deferred(zone: &str, now: &str) -> String {
    churn_send_at(Some(zone), at(now)).to_string()
}

#[test]
fn quiet_hours_defer_to_the_end_of_the_quiet_period_in_the_profiles_zone() {
    let berlin = "Europe/Berlin";
    // 21:30 CET → 08:00 CET the next morning.
    assert_eq!(
        deferred(berlin, "2026-11-24T20:30:00Z"),
        "2026-11-25T07:00:00Z"
    );
    // The start is inclusive: 21:00:00 local is quiet, a microsecond earlier is not.
    assert_eq!(
        deferred(berlin, "2026-11-24T20:00:00Z"),
        "2026-11-25T07:00:00Z"
    );
    assert_eq!(
        deferred(berlin, "2026-11-24T19:59:59.999999Z"),
        "2026-11-24T19:59:59.999999Z"
    );
    // The end is exclusive.
    assert_eq!(
        deferred(berlin, "2026-11-25T06:59:59.999999Z"),
        "2026-11-25T07:00:00Z"
    );
    assert_eq!(
        deferred(berlin, "2026-11-25T07:00:00Z"),
        "2026-11-25T07:00:00Z"
    );
    // Just after midnight local, the same morning.
    assert_eq!(
        deferred(berlin, "2026-11-24T23:30:00Z"),
        "2026-11-25T07:00:00Z"
    );
    // The same instant is not quiet for someone in New York (16:30 EST).
    assert_eq!(
        deferred("America/New_York", "2026-11-24T21:30:00Z"),
        "2026-11-24T21:30:00Z"
    );
}

#[test]
fn a_deferred_emission_is_recorded_with_its_send_at() {
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let decided = at("2026-11-24T20:30:00Z");
    let d = explain(&engine, &p, &MemoryHistory::new(), decided);
    let records = d.update().records;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].at, decided);
    assert_eq!(records[0].send_at, at("2026-11-25T07:00:00Z"));
    assert_eq!(records[0].outcome, Outcome::Sent);
    assert_eq!(records[0].key, d.emissions[0].key);
    assert_eq!(
        d.emissions[0].to_json()["send_at"],
        json!("2026-11-25T07:00:00Z")
    );
}

#[test]
fn missing_or_invalid_zone_uses_the_default_zone() {
    // classic: default_timezone = "UTC".
    let late = at("2026-11-24T21:30:00Z");
    let utc_morning = at("2026-11-25T08:00:00Z");
    assert_eq!(churn_send_at(None, late), utc_morning);
    assert_eq!(churn_send_at(Some("Not/AZone"), late), utc_morning);
    assert_eq!(churn_send_at(Some(""), late), utc_morning);
    assert_eq!(churn_send_at(Some("UTC"), late), utc_morning);

    // An inline rule set whose default is New York.
    let engine = inline(
        r#"
[quiet_hours]
start = "21:00"
end = "08:00"
timezone_trait = "timezone"
default_timezone = "America/New_York"

[[action]]
id = "news"
channel = "email"
trigger = "a"
"#,
    );
    // 03:00 UTC = 22:00 EST → 08:00 EST = 13:00 UTC.
    let night = at("2026-11-25T03:00:00Z");
    for zone in [json!(null), json!("Mars/Olympus_Mons")] {
        let p = traits(
            &engine,
            "c-1",
            &json!({"a": true, "email_opt_in": true, "timezone": zone}),
        );
        let d = explain(&engine, &p, &MemoryHistory::new(), night);
        assert_eq!(d.emissions[0].send_at, at("2026-11-25T13:00:00Z"), "{zone}");
    }
    let p = traits(
        &engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "timezone": "Europe/Berlin"}),
    );
    // 04:00 CET → 08:00 CET = 07:00 UTC.
    let d = explain(&engine, &p, &MemoryHistory::new(), night);
    assert_eq!(d.emissions[0].send_at, at("2026-11-25T07:00:00Z"));
}

#[test]
fn berlin_spring_forward_night() {
    // 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC). 21:00–08:00 local.
    let z = "Europe/Berlin";
    // An ordinary night before: 08:00 CET = 07:00 UTC.
    assert_eq!(deferred(z, "2026-03-27T22:00:00Z"), "2026-03-28T07:00:00Z");
    // 23:00 CET on the 28th → 08:00 CEST = 06:00 UTC.
    assert_eq!(deferred(z, "2026-03-28T22:00:00Z"), "2026-03-29T06:00:00Z");
    // Just before and just after the jump.
    assert_eq!(
        deferred(z, "2026-03-29T00:59:59.999999Z"),
        "2026-03-29T06:00:00Z"
    );
    assert_eq!(deferred(z, "2026-03-29T01:00:00Z"), "2026-03-29T06:00:00Z");
    // The end is 08:00 CEST.
    assert_eq!(
        deferred(z, "2026-03-29T05:59:59.999999Z"),
        "2026-03-29T06:00:00Z"
    );
    assert_eq!(deferred(z, "2026-03-29T06:00:00Z"), "2026-03-29T06:00:00Z");
    // The evening after starts at 21:00 CEST = 19:00 UTC.
    assert_eq!(
        deferred(z, "2026-03-29T18:59:59.999999Z"),
        "2026-03-29T18:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-03-29T19:00:00Z"), "2026-03-30T06:00:00Z");
    // The evening before started at 21:00 CET = 20:00 UTC.
    assert_eq!(
        deferred(z, "2026-03-28T19:59:59.999999Z"),
        "2026-03-28T19:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-03-28T20:00:00Z"), "2026-03-29T06:00:00Z");
}

#[test]
fn berlin_autumn_night() {
    // 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC); 02:00–03:00 happens twice.
    let z = "Europe/Berlin";
    // 21:00 CEST on the 24th = 19:00 UTC; the night ends at 08:00 CET = 07:00 UTC.
    assert_eq!(
        deferred(z, "2026-10-24T18:59:59.999999Z"),
        "2026-10-24T18:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-10-24T19:00:00Z"), "2026-10-25T07:00:00Z");
    // 02:30 CEST (first) and 02:30 CET (second): the same morning.
    assert_eq!(deferred(z, "2026-10-25T00:30:00Z"), "2026-10-25T07:00:00Z");
    assert_eq!(deferred(z, "2026-10-25T01:30:00Z"), "2026-10-25T07:00:00Z");
    assert_eq!(
        deferred(z, "2026-10-25T06:59:59.999999Z"),
        "2026-10-25T07:00:00Z"
    );
    assert_eq!(deferred(z, "2026-10-25T07:00:00Z"), "2026-10-25T07:00:00Z");
    // That evening starts at 21:00 CET = 20:00 UTC.
    assert_eq!(
        deferred(z, "2026-10-25T19:59:59.999999Z"),
        "2026-10-25T19:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-10-25T20:00:00Z"), "2026-10-26T07:00:00Z");
}

#[test]
fn new_york_spring_forward_night() {
    // 2026-03-08 02:00 EST → 03:00 EDT (07:00 UTC).
    let z = "America/New_York";
    // 21:00 EST on the 7th = 02:00 UTC on the 8th; the night ends at 08:00 EDT = 12:00 UTC.
    assert_eq!(
        deferred(z, "2026-03-08T01:59:59.999999Z"),
        "2026-03-08T01:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-03-08T02:00:00Z"), "2026-03-08T12:00:00Z");
    assert_eq!(deferred(z, "2026-03-08T06:59:00Z"), "2026-03-08T12:00:00Z");
    assert_eq!(deferred(z, "2026-03-08T07:00:00Z"), "2026-03-08T12:00:00Z");
    assert_eq!(
        deferred(z, "2026-03-08T11:59:59.999999Z"),
        "2026-03-08T12:00:00Z"
    );
    assert_eq!(deferred(z, "2026-03-08T12:00:00Z"), "2026-03-08T12:00:00Z");
    // An ordinary night before ended at 08:00 EST = 13:00 UTC.
    assert_eq!(deferred(z, "2026-03-07T03:00:00Z"), "2026-03-07T13:00:00Z");
}

#[test]
fn new_york_autumn_night() {
    // 2026-11-01 02:00 EDT → 01:00 EST (06:00 UTC).
    let z = "America/New_York";
    // 21:00 EDT on Oct 31 = 01:00 UTC; the night ends at 08:00 EST = 13:00 UTC.
    assert_eq!(
        deferred(z, "2026-11-01T00:59:59.999999Z"),
        "2026-11-01T00:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-11-01T01:00:00Z"), "2026-11-01T13:00:00Z");
    // 01:30 EDT and 01:30 EST.
    assert_eq!(deferred(z, "2026-11-01T05:30:00Z"), "2026-11-01T13:00:00Z");
    assert_eq!(deferred(z, "2026-11-01T06:30:00Z"), "2026-11-01T13:00:00Z");
    assert_eq!(
        deferred(z, "2026-11-01T12:59:59.999999Z"),
        "2026-11-01T13:00:00Z"
    );
    assert_eq!(deferred(z, "2026-11-01T13:00:00Z"), "2026-11-01T13:00:00Z");
    // That evening starts at 21:00 EST = 02:00 UTC on the 2nd.
    assert_eq!(
        deferred(z, "2026-11-02T01:59:59.999999Z"),
        "2026-11-02T01:59:59.999999Z"
    );
    assert_eq!(deferred(z, "2026-11-02T02:00:00Z"), "2026-11-02T13:00:00Z");
}

#[test]
fn quiet_period_edges_inside_the_dst_gap_and_overlap() {
    let rules = |start: &str, end: &str| {
        inline(&format!(
            r#"
[quiet_hours]
start = "{start}"
end = "{end}"
timezone_trait = "timezone"

[[action]]
id = "news"
channel = "email"
trigger = "a"
"#
        ))
    };
    let send_at = |engine: &Engine, zone: &str, now: &str| {
        let p = traits(
            engine,
            "c-1",
            &json!({"a": true, "email_opt_in": true, "timezone": zone}),
        );
        let d = explain(engine, &p, &MemoryHistory::new(), at(now));
        assert_eq!(emitted(&d), ["news"], "{now}");
        d.emissions[0].send_at.to_string()
    };
    // Berlin, 2026-03-29: quiet 01:00–02:30, but 02:30 never happens that
    // night; the quiet period ends when the clock jumps, 03:00 CEST = 01:00 UTC.
    let engine = rules("01:00", "02:30");
    assert_eq!(
        send_at(&engine, "Europe/Berlin", "2026-03-29T00:30:00Z"),
        "2026-03-29T01:00:00Z"
    );
    assert_eq!(
        send_at(&engine, "Europe/Berlin", "2026-03-29T01:00:00Z"),
        "2026-03-29T01:00:00Z"
    );
    // Quiet 02:30–06:00 starts when the clock jumps past 02:30.
    let engine = rules("02:30", "06:00");
    assert_eq!(
        send_at(&engine, "Europe/Berlin", "2026-03-29T00:59:59Z"),
        "2026-03-29T00:59:59Z"
    );
    assert_eq!(
        send_at(&engine, "Europe/Berlin", "2026-03-29T01:00:00Z"),
        "2026-03-29T04:00:00Z"
    );
    // Berlin, 2026-10-25: quiet 00:00–02:30; 02:30 happens twice, the
    // quiet period ends at the first, 02:30 CEST = 00:30 UTC.
    let engine = rules("00:00", "02:30");
    assert_eq!(
        send_at(&engine, "Europe/Berlin", "2026-10-24T23:00:00Z"),
        "2026-10-25T00:30:00Z"
    );
    // New York, 2026-03-08: quiet 21:00–02:30 ends at 03:00 EDT = 07:00 UTC.
    let engine = rules("21:00", "02:30");
    assert_eq!(
        send_at(&engine, "America/New_York", "2026-03-08T05:00:00Z"),
        "2026-03-08T07:00:00Z"
    );
    // New York, 2026-11-01: quiet 00:00–01:30 ends at the first 01:30, 05:30 UTC.
    let engine = rules("00:00", "01:30");
    assert_eq!(
        send_at(&engine, "America/New_York", "2026-11-01T04:10:00Z"),
        "2026-11-01T05:30:00Z"
    );
}

#[test]
fn quiet_hours_drop_and_ignore() {
    let engine = inline(
        r#"
[quiet_hours]
start = "21:00"
end = "08:00"
timezone_trait = "timezone"

[decision]
max_actions = 3

[[action]]
id = "dropped"
channel = "email"
trigger = "a"
quiet_hours = "drop"

[[action]]
id = "ignored"
channel = "email"
trigger = "a"
quiet_hours = "ignore"

[[action]]
id = "deferred"
channel = "email"
trigger = "a"
"#,
    );
    let p = traits(
        &engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "timezone": "Europe/Berlin"}),
    );
    let late = at("2026-11-24T21:30:00Z");
    let d = explain(&engine, &p, &MemoryHistory::new(), late);
    assert_eq!(emitted(&d), ["deferred", "ignored"]);
    assert_eq!(d.emissions[0].send_at, at("2026-11-25T07:00:00Z"));
    assert_eq!(d.emissions[1].send_at, late);
    let s = suppression(&d, "dropped");
    assert_eq!(s.reason, Reason::QuietHours);
    assert_eq!(
        detail(s, "until"),
        &Value::Timestamp(at("2026-11-25T07:00:00Z"))
    );
    assert_eq!(s.to_json()["suppressed"], json!("quiet_hours"));
    assert_eq!(
        s.to_json()["detail"]["until"],
        json!("2026-11-25T07:00:00Z")
    );
    // Outside quiet hours all three go now.
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["deferred", "dropped", "ignored"]);
    assert!(d.emissions.iter().all(|e| e.send_at == now()));
}
