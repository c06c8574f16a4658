//! Guard order.

use super::*;

#[test]
fn the_first_guard_that_blocks_names_the_reason() {
    let engine = inline(
        r#"
[quiet_hours]
start = "21:00"
end = "08:00"

[[cap]]
name = "email-weekly"
channels = ["email"]
max = 1
per = "7d"

[[action]]
id = "m"
channel = "email"
trigger = "a"
suppress_if = "c"
cooldown = "1d"
max_sends = 1
quiet_hours = "drop"
valid_from = "2026-11-01T00:00:00Z"
holdout_percent = 50
"#,
    );
    let held = id_in_bucket("m", |b| b < 50);
    let free = id_in_bucket("m", |b| b >= 50);
    let night = at("2026-11-24T23:00:00Z");
    let early = at("2026-10-31T23:00:00Z");
    let worst = json!({"a": true, "unsubscribed": true, "email_opt_in": false});
    let ok = json!({"a": true, "email_opt_in": true});
    // A send 12 hours before the decision (before it: a decision not
    // later than the last recorded one would be a replay).
    let recent_at = |id: &str, at: Timestamp| {
        history(&[sent(
            id,
            "m",
            "email",
            Category::Marketing,
            minus(at, "12h"),
        )])
    };
    let recent = |id: &str| recent_at(id, night);
    let check =
        |id: &str, t: &serde_json::Value, h: &MemoryHistory, at: Timestamp, want: Reason| {
            let d = explain(&engine, &traits(&engine, id, t), h, at);
            assert!(d.emissions.is_empty(), "{want:?}: {d:#?}");
            assert_eq!(reason(&d, "m"), want, "{d:#?}");
        };
    check(
        &held,
        &worst,
        &recent_at(&held, early),
        early,
        Reason::NotYetValid,
    );
    check(&held, &worst, &recent(&held), night, Reason::Holdout);
    check(&free, &worst, &recent(&free), night, Reason::Unsubscribed);
    check(
        &free,
        &json!({"a": true, "email_opt_in": false}),
        &recent(&free),
        night,
        Reason::NoConsent,
    );
    check(
        &free,
        &json!({"a": true, "email_opt_in": true, "email_consent_expires": "2026-01-01T00:00:00Z"}),
        &recent(&free),
        night,
        Reason::ConsentExpired,
    );
    check(&free, &ok, &recent(&free), night, Reason::Cooldown);
    let old = history(&[sent(
        &free,
        "m",
        "email",
        Category::Marketing,
        minus(night, "2d"),
    )]);
    check(&free, &ok, &old, night, Reason::MaxSends);
    let other = history(&[sent(
        &free,
        "other",
        "email",
        Category::Marketing,
        minus(night, "2d"),
    )]);
    check(&free, &ok, &other, night, Reason::FrequencyCap);
    check(&free, &ok, &MemoryHistory::new(), night, Reason::QuietHours);
    // suppress_if takes the action out before any guard.
    check(
        &free,
        &json!({"a": true, "c": true, "email_opt_in": true}),
        &MemoryHistory::new(),
        night,
        Reason::SuppressIf,
    );
    // Nothing left to block.
    let d = explain(
        &engine,
        &traits(&engine, &free, &ok),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["m"]);
}
