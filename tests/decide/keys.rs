//! Idempotency keys and recording.

use super::consent::CONSENT_RULES;
use super::*;

#[test]
fn idempotency_keys_repeat_for_a_replayed_decision_and_change_for_the_next_send() {
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let mut h = MemoryHistory::new();
    let first = explain(&engine, &p, &h, now());
    let replay = explain(&engine, &p, &h, now());
    assert_eq!(first, replay);
    let key = first.emissions[0].key.clone();
    // The same send decided again an hour later, before it was recorded: same key.
    let later = explain(&engine, &p, &h, plus(now(), "1h"));
    assert_eq!(later.emissions[0].key, key);

    // Other profiles and other actions have other keys.
    let other = explain(&engine, &churn_profile(&engine, &reachable(1)), &h, now());
    assert_ne!(other.emissions[0].key, key);

    h.record(&first.update()).unwrap();
    // Replaying the recorded decision's records does not change them.
    assert_eq!(first.update().records, replay.update().records);
    let next = explain(&engine, &p, &h, plus(now(), "14d"));
    assert_eq!(emitted(&next), ["churn_email"]);
    assert_ne!(next.emissions[0].key, key);
    h.record(&next.update()).unwrap();
    let third = explain(&engine, &p, &h, plus(now(), "28d"));
    assert_eq!(emitted(&third), ["churn_email"]);
    assert_ne!(third.emissions[0].key, key);
    assert_ne!(third.emissions[0].key, next.emissions[0].key);
}

#[test]
fn recorded_decisions_make_the_cooldown_apply_next_time() {
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let mut h = MemoryHistory::new();
    let d = explain(&engine, &p, &h, now());
    let records = d.update().records;
    assert_eq!(
        records,
        vec![Record::new(
            id.as_str(),
            "churn_email",
            "email",
            Category::Marketing,
            Outcome::Sent,
            now(),
            d.emissions[0].key.clone(),
        )]
    );
    // Deciding does not record.
    assert_eq!(h.times_sent(&id, "churn_email").unwrap(), 0);
    h.record(&Update::from(records.clone())).unwrap();
    assert_eq!(h.times_sent(&id, "churn_email").unwrap(), 1);
    assert_eq!(h.records(&id), records.as_slice());

    let tomorrow = plus(now(), "1d");
    let d = explain(&engine, &p, &h, tomorrow);
    assert!(d.emissions.is_empty());
    let s = suppression(&d, "churn_email");
    assert_eq!(s.reason, Reason::Cooldown);
    assert_eq!(detail(s, "until"), &Value::Timestamp(plus(now(), "14d")));
    assert_eq!(
        s.to_json()["detail"]["until"],
        json!("2026-12-08T09:00:00Z")
    );

    // Three recorded sends fill max_sends.
    for days in ["14d", "28d"] {
        let d = explain(&engine, &p, &h, plus(now(), days));
        assert_eq!(emitted(&d), ["churn_email"]);
        h.record(&d.update()).unwrap();
    }
    let d = explain(&engine, &p, &h, plus(now(), "60d"));
    assert_eq!(reason(&d, "churn_email"), Reason::MaxSends);
}

#[test]
fn recorded_sends_fill_the_frequency_cap() {
    let engine = classic();
    let id = reachable(0);
    let mut h = MemoryHistory::new();
    // Three different classic actions, one a day, then the churn email is capped.
    let winback = profile(
        &engine,
        &json!({"id": id, "traits": {"last_login": "2026-01-01T00:00:00Z",
            "lifetime_value": 500.0, "email_opt_in": true, "push_opt_in": true}}),
    );
    let upsell = profile(
        &engine,
        &json!({"id": id, "traits": {"plan": "basic", "lifetime_value": 500.0,
            "email_opt_in": true}}),
    );
    let tips = profile(
        &engine,
        &json!({"id": id, "traits": {"push_opt_in": true}, "events": [
            {"event": "order_fulfilled", "timestamp": minus(now(), "14d").to_string(),
             "properties": {"order_id": "o-1"}}]}),
    );
    for (p, when, action) in [
        (&winback, minus(now(), "3d"), "winback_email"),
        (&upsell, minus(now(), "2d"), "upsell_email"),
        (&tips, now(), "usage_tips_push"),
    ] {
        let d = explain(&engine, p, &h, when);
        assert_eq!(emitted(&d), [action]);
        h.record(&d.update()).unwrap();
    }
    let d = explain(&engine, &churn_profile(&engine, &id), &h, plus(now(), "1h"));
    assert!(d.emissions.is_empty());
    let s = suppression(&d, "churn_email");
    assert_eq!(s.reason, Reason::FrequencyCap);
    assert_eq!(detail(s, "count"), &Value::Int(3));
    // The oldest leaves the window exactly seven days after it was decided.
    let reopen = plus(minus(now(), "3d"), "7d");
    let d = explain(&engine, &churn_profile(&engine, &id), &h, us(reopen, -1));
    assert_eq!(reason(&d, "churn_email"), Reason::FrequencyCap);
    let d = explain(&engine, &churn_profile(&engine, &id), &h, reopen);
    assert_eq!(emitted(&d), ["churn_email"]);
}

#[test]
fn a_profile_built_against_another_schema_is_an_error() {
    let engine = classic();
    let other = inline(CONSENT_RULES);
    let p = traits(&other, "c-1", &json!({"a": true}));
    assert!(
        engine
            .decide(&p, &MemoryHistory::new(), now(), Options::default())
            .is_err()
    );
}
