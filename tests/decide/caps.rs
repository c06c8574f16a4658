//! Frequency caps.

use super::*;

#[test]
fn frequency_cap_window_excludes_a_send_exactly_per_ago() {
    // classic marketing-weekly: 3 marketing sends on email/push/sms per 7d.
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let others = |oldest: Timestamp| {
        history(&[
            sent(&id, "winback_email", "email", Category::Marketing, oldest),
            sent(
                &id,
                "usage_tips_push",
                "push",
                Category::Marketing,
                minus(now(), "3d"),
            ),
            sent(
                &id,
                "upsell_email",
                "email",
                Category::Marketing,
                minus(now(), "1d"),
            ),
        ])
    };
    let edge = others(minus(now(), "7d"));
    assert_eq!(
        emitted(&explain(&engine, &p, &edge, now())),
        ["churn_email"]
    );

    let inside = others(us(minus(now(), "7d"), 1));
    let d = explain(&engine, &p, &inside, now());
    assert!(d.emissions.is_empty());
    let s = suppression(&d, "churn_email");
    assert_eq!(s.reason, Reason::FrequencyCap);
    assert_eq!(
        s.to_json(),
        json!({"profile": id, "action": "churn_email", "suppressed": "frequency_cap",
               "detail": {"cap": "marketing-weekly", "count": 3, "max": 3}})
    );
}

#[test]
fn frequency_cap_counts_only_its_channels_and_category() {
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let h = history(&[
        // in_app is not one of the cap's channels.
        sent(
            &id,
            "churn_inapp_modal",
            "in_app",
            Category::Marketing,
            minus(now(), "1d"),
        ),
        sent(
            &id,
            "churn_inapp_modal",
            "in_app",
            Category::Marketing,
            minus(now(), "2d"),
        ),
        // Transactional sends are not marketing.
        sent(
            &id,
            "csm_call_task",
            "email",
            Category::Transactional,
            minus(now(), "1d"),
        ),
        sent(
            &id,
            "receipt",
            "email",
            Category::Transactional,
            minus(now(), "2d"),
        ),
        // Two that count.
        sent(
            &id,
            "winback_email",
            "email",
            Category::Marketing,
            minus(now(), "1d"),
        ),
        sent(
            &id,
            "usage_tips_push",
            "push",
            Category::Marketing,
            minus(now(), "2d"),
        ),
    ]);
    assert_eq!(emitted(&explain(&engine, &p, &h, now())), ["churn_email"]);
}

#[test]
fn frequency_cap_counts_sends_chosen_earlier_in_the_same_decision() {
    let engine = inline(
        r#"
[[cap]]
name = "email-daily"
channels = ["email"]
max = 2
per = "1d"

[decision]
max_actions = 3

[[action]]
id = "e1"
channel = "email"
trigger = "a"
priority = 30

[[action]]
id = "e2"
channel = "email"
trigger = "a"
priority = 20

[[action]]
id = "e3"
channel = "email"
trigger = "a"
priority = 10

[[action]]
id = "p1"
channel = "push"
trigger = "a"
priority = 5
"#,
    );
    let p = traits(
        &engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "push_opt_in": true}),
    );
    // Nothing sent before: two emails fit, the third is capped by the two chosen.
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["e1", "e2", "p1"]);
    let s = suppression(&d, "e3");
    assert_eq!(s.reason, Reason::FrequencyCap);
    assert_eq!(detail(s, "cap"), &Value::from("email-daily"));
    assert_eq!(detail(s, "count"), &Value::Int(2));
    assert_eq!(detail(s, "max"), &Value::Int(2));

    // One email sent 12 hours ago: only one more fits.
    let h = history(&[sent(
        "c-1",
        "old",
        "email",
        Category::Marketing,
        minus(now(), "12h"),
    )]);
    let d = explain(&engine, &p, &h, now());
    assert_eq!(emitted(&d), ["e1", "p1"]);
    for action in ["e2", "e3"] {
        let s = suppression(&d, action);
        assert_eq!(s.reason, Reason::FrequencyCap);
        assert_eq!(detail(s, "count"), &Value::Int(2));
    }
}

#[test]
fn a_cap_without_channels_counts_sends_on_every_channel() {
    // The rule model documents an empty `channels` as "every channel": a send
    // on sms (a known channel, used by no current action) counts.
    let engine = inline(
        r#"
[[cap]]
name = "anything-daily"
max = 1
per = "1d"

[[action]]
id = "news"
channel = "email"
trigger = "a"
"#,
    );
    let p = traits(&engine, "c-1", &json!({"a": true, "email_opt_in": true}));
    let h = history(&[sent(
        "c-1",
        "retired_sms",
        "sms",
        Category::Marketing,
        minus(now(), "1h"),
    )]);
    let d = explain(&engine, &p, &h, now());
    assert!(d.emissions.is_empty(), "{d:#?}");
    assert_eq!(reason(&d, "news"), Reason::FrequencyCap);
}

#[test]
fn transactional_bypasses_caps_and_quiet_hours() {
    let engine = inline(
        r#"
[quiet_hours]
start = "21:00"
end = "08:00"

[[cap]]
name = "email-daily"
channels = ["email"]
max = 1
per = "1d"

[decision]
max_actions = 2

[[action]]
id = "news"
channel = "email"
trigger = "a"
priority = 10
quiet_hours = "drop"

[[action]]
id = "receipt"
channel = "email"
category = "transactional"
trigger = "a"
"#,
    );
    let p = traits(&engine, "c-1", &json!({"a": true, "email_opt_in": true}));
    let h = history(&[sent(
        "c-1",
        "old",
        "email",
        Category::Marketing,
        minus(now(), "1h"),
    )]);
    let d = explain(&engine, &p, &h, now());
    assert_eq!(emitted(&d), ["receipt"]);
    assert_eq!(reason(&d, "news"), Reason::FrequencyCap);

    // 23:00 UTC: quiet. The transactional email goes now, not at 08:00.
    let late = at("2026-11-24T23:00:00Z");
    let d = explain(&engine, &p, &MemoryHistory::new(), late);
    assert_eq!(emitted(&d), ["receipt"]);
    assert_eq!(d.emissions[0].send_at, late);
    assert_eq!(reason(&d, "news"), Reason::QuietHours);
}
