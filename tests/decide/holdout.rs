//! Holdout.

use super::*;

#[test]
fn global_holdout_records_but_never_sends() {
    // classic: 5% under the salt `2026-global`: buckets 0–4 are held out.
    let engine = classic();
    let inside = id_in_bucket("2026-global", |b| b == 4);
    let outside = id_in_bucket("2026-global", |b| b == 5);

    let decision = explain(
        &engine,
        &churn_profile(&engine, &inside),
        &MemoryHistory::new(),
        now(),
    );
    assert!(decision.emissions.is_empty(), "{decision:#?}");
    assert_eq!(held_out(&decision), ["churn_email"]);
    assert_eq!(reason(&decision, "churn_email"), Reason::Holdout);
    assert_eq!(
        suppression(&decision, "churn_email").to_json()["suppressed"],
        json!("holdout")
    );
    let records = decision.update().records;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::HeldOut);
    assert_eq!(records[0].action, "churn_email");
    assert_eq!(records[0].profile, inside);
    assert_eq!(records[0].at, now());

    // Recorded, a hold-out is not a send: no cooldown, no max_sends count.
    let mut h = MemoryHistory::new();
    h.record(&Update::from(records.clone())).unwrap();
    assert_eq!(h.times_sent(&inside, "churn_email").unwrap(), 0);
    assert_eq!(h.last_sent(&inside, "churn_email").unwrap(), None);
    assert_eq!(h.records(&inside)[0].outcome, Outcome::HeldOut);
    let again = explain(
        &engine,
        &churn_profile(&engine, &inside),
        &h,
        plus(now(), "1d"),
    );
    assert_eq!(reason(&again, "churn_email"), Reason::Holdout);

    let decision = explain(
        &engine,
        &churn_profile(&engine, &outside),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&decision), ["churn_email"]);
    assert!(decision.held_out.is_empty());
    assert_eq!(decision.update().records[0].outcome, Outcome::Sent);
}

#[test]
fn held_out_without_explain_is_still_reported_in_held_out() {
    let engine = classic();
    let inside = id_in_bucket("2026-global", |b| b < 5);
    let decision = engine
        .decide(
            &churn_profile(&engine, &inside),
            &MemoryHistory::new(),
            now(),
            Options::default(),
        )
        .unwrap();
    assert!(decision.emissions.is_empty());
    assert!(decision.suppressions.is_empty());
    assert_eq!(held_out(&decision), ["churn_email"]);
}

#[test]
fn per_action_holdout_percent_is_salted_by_the_action_id() {
    let engine = inline(
        r#"
[[action]]
id = "promo"
channel = "email"
trigger = "a"
priority = 10
holdout_percent = 30

[[action]]
id = "plain"
channel = "email"
trigger = "b"
priority = 5
"#,
    );
    let inside = id_in_bucket("promo", |b| b == 29);
    let outside = id_in_bucket("promo", |b| b == 30);
    let t = json!({"a": true, "email_opt_in": true});
    let d = explain(
        &engine,
        &traits(&engine, &inside, &t),
        &MemoryHistory::new(),
        now(),
    );
    assert!(d.emissions.is_empty());
    assert_eq!(held_out(&d), ["promo"]);
    assert_eq!(reason(&d, "promo"), Reason::Holdout);
    assert_eq!(d.update().records[0].outcome, Outcome::HeldOut);
    let d = explain(
        &engine,
        &traits(&engine, &outside, &t),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["promo"]);
    assert!(d.held_out.is_empty());

    // A held-out candidate is not a survivor: the next one is the next-best action.
    let both = json!({"a": true, "b": true, "email_opt_in": true});
    let d = explain(
        &engine,
        &traits(&engine, &inside, &both),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(held_out(&d), ["promo"]);
    assert_eq!(emitted(&d), ["plain"]);
    let records = d.update().records;
    assert_eq!(records.len(), 2);
    let outcome = |action: &str| {
        records
            .iter()
            .find(|r| r.action == action)
            .map(|r| r.outcome)
    };
    assert_eq!(outcome("promo"), Some(Outcome::HeldOut));
    assert_eq!(outcome("plain"), Some(Outcome::Sent));
}

#[test]
fn transactional_actions_skip_the_holdout() {
    let engine = inline(
        r#"
[holdout]
percent = 100
salt = "everyone"

[[action]]
id = "promo"
channel = "email"
trigger = "a"
priority = 10

[[action]]
id = "receipt"
channel = "email"
category = "transactional"
trigger = "a"
holdout_percent = 100
"#,
    );
    let p = traits(&engine, "c-1", &json!({"a": true, "email_opt_in": true}));
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["receipt"]);
    assert_eq!(held_out(&d), ["promo"]);
    assert_eq!(d.emissions[0].category, Category::Transactional);
}
