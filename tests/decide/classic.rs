//! The classic journeys, as standalone actions.

use super::*;

#[test]
fn churn_risk_sends_the_churn_email_now() {
    let engine = classic();
    let id = reachable(0);
    let decision = explain(
        &engine,
        &churn_profile(&engine, &id),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&decision), ["churn_email"]);
    let e = &decision.emissions[0];
    assert_eq!(e.profile, id);
    assert_eq!(e.channel, "email");
    assert_eq!(e.category, Category::Marketing);
    assert_eq!(e.send_at, now());
    assert_eq!(e.journey, None);
    assert!(!e.key.is_empty());
    assert!(decision.suppressions.is_empty(), "{decision:#?}");
    assert!(decision.held_out.is_empty());
    assert_eq!(decision.at, now());

    // A profile that is not at churn risk gets nothing, and nothing is reported.
    let fine = churn_with(&engine, &id, &json!({"login_count_30d": 7}));
    let decision = explain(&engine, &fine, &MemoryHistory::new(), now());
    assert!(decision.emissions.is_empty());
    assert!(decision.suppressions.is_empty());
}

#[test]
fn emission_json_has_the_spec_fields() {
    let engine = classic();
    let id = reachable(0);
    let decision = explain(
        &engine,
        &churn_profile(&engine, &id),
        &MemoryHistory::new(),
        now(),
    );
    let e = &decision.emissions[0];
    let line = e.to_json();
    let object = line.as_object().unwrap();
    assert_eq!(line["profile"], json!(id));
    assert_eq!(line["action"], json!("churn_email"));
    assert_eq!(line["channel"], json!("email"));
    assert_eq!(line["send_at"], json!("2026-11-24T09:00:00Z"));
    assert_eq!(line["key"], json!(e.key.as_str()));
    // A standalone action belongs to no journey: `journey` and `step` are absent (or null).
    assert!(object.get("journey").is_none_or(serde_json::Value::is_null));
    assert!(object.get("step").is_none_or(serde_json::Value::is_null));
    let spec = [
        "profile", "action", "channel", "send_at", "journey", "step", "key",
    ];
    for key in object.keys() {
        assert!(spec.contains(&key.as_str()), "unexpected field `{key}`");
    }
    // Not a suppression line.
    assert!(object.get("suppressed").is_none());
}

#[test]
fn support_ticket_in_the_last_two_days_suppresses_the_churn_email() {
    let engine = classic();
    let id = reachable(0);
    let with_ticket = |ticket_at: Timestamp| {
        profile(
            &engine,
            &json!({"id": id, "traits": churn_traits(), "events": [
                {"event": "support_ticket", "timestamp": ticket_at.to_string(),
                 "properties": {"product_id": "p-1", "severity": 2}}]}),
        )
    };
    // WITHIN 2d keeps now − 2d < t ≤ now: one microsecond inside the window suppresses.
    let inside = explain(
        &engine,
        &with_ticket(us(minus(now(), "2d"), 1)),
        &MemoryHistory::new(),
        now(),
    );
    assert!(inside.emissions.is_empty());
    assert_eq!(reason(&inside, "churn_email"), Reason::SuppressIf);
    assert_eq!(
        suppression(&inside, "churn_email").to_json(),
        json!({"profile": id, "action": "churn_email", "suppressed": "suppress_if", "detail": {}})
    );
    // Exactly two days ago is outside the window.
    let outside = explain(
        &engine,
        &with_ticket(minus(now(), "2d")),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&outside), ["churn_email"]);
}

#[test]
fn no_upsell_right_after_a_support_ticket() {
    let engine = classic();
    let id = reachable(1);
    let upsell = |ticket_days_ago: &str| {
        let mut p = json!({"id": id, "traits": {
            "plan": "basic", "lifetime_value": 250.0, "email_opt_in": true}});
        if !ticket_days_ago.is_empty() {
            p["events"] = json!([{"event": "support_ticket",
                "timestamp": minus(now(), ticket_days_ago).to_string(),
                "properties": {"severity": 1}}]);
        }
        profile(&engine, &p)
    };
    let quiet = explain(&engine, &upsell(""), &MemoryHistory::new(), now());
    assert_eq!(emitted(&quiet), ["upsell_email"]);
    let recent = explain(&engine, &upsell("13d"), &MemoryHistory::new(), now());
    assert!(recent.emissions.is_empty());
    assert_eq!(reason(&recent, "upsell_email"), Reason::SuppressIf);
    let old = explain(&engine, &upsell("15d"), &MemoryHistory::new(), now());
    assert_eq!(emitted(&old), ["upsell_email"]);
}

#[test]
fn pricing_page_interest_is_ranked_by_its_score() {
    let engine = classic();
    let id = reachable(2);
    let pricing = |ltv: f64, purchase: bool| {
        let mut events: Vec<serde_json::Value> = ["1d", "2d", "3d"]
            .iter()
            .map(|ago| {
                json!({"event": "page_view", "timestamp": minus(now(), ago).to_string(),
                       "properties": {"path": "/pricing"}})
            })
            .collect();
        if purchase {
            events.push(
                json!({"event": "purchase", "timestamp": minus(now(), "20d").to_string(),
                               "properties": {"amount": 10.0, "product_id": "p-1"}}),
            );
        }
        let mut traits = churn_traits();
        traits["lifetime_value"] = json!(ltv);
        profile(
            &engine,
            &json!({"id": id, "traits": traits, "events": events}),
        )
    };
    // Score 10 + 3 + 5000/100 = 63 beats the churn email's priority 50.
    let rich = explain(
        &engine,
        &pricing(5000.0, false),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&rich), ["pricing_followup"]);
    assert_eq!(reason(&rich, "churn_email"), Reason::Arbitration);
    // Score 10 + 3 + 1000/100 = 23 loses to it.
    let modest = explain(
        &engine,
        &pricing(1000.0, false),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&modest), ["churn_email"]);
    let lost = suppression(&modest, "pricing_followup");
    assert_eq!(lost.reason, Reason::Arbitration);
    assert_eq!(lost.to_json()["suppressed"], json!("arbitration"));
    // A purchase in the last 30 days: not a candidate at all.
    let bought = explain(
        &engine,
        &pricing(5000.0, true),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&bought), ["churn_email"]);
    assert!(not_suppressed(&bought, "pricing_followup"));
}

#[test]
fn win_back_after_sixty_days_away() {
    let engine = classic();
    let id = reachable(3);
    let away = |last_login: Timestamp, ltv: f64| {
        profile(
            &engine,
            &json!({"id": id, "traits": {"last_login": last_login.to_string(),
                "lifetime_value": ltv, "email_opt_in": true}}),
        )
    };
    let gone = explain(
        &engine,
        &away(minus(now(), "61d"), 100.0),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&gone), ["winback_email"]);
    // days_since is whole days: 60 days and 23 hours is 60, not > 60.
    let almost = explain(
        &engine,
        &away(us(minus(now(), "61d"), 1), 100.0),
        &MemoryHistory::new(),
        now(),
    );
    assert!(almost.emissions.is_empty());
    let cheap = explain(
        &engine,
        &away(minus(now(), "61d"), 99.9),
        &MemoryHistory::new(),
        now(),
    );
    assert!(cheap.emissions.is_empty());
}

#[test]
fn usage_tips_fourteen_days_after_fulfilment() {
    let engine = classic();
    let id = reachable(4);
    let fulfilled = |ago: &str, push: Option<bool>| {
        let mut traits = json!({});
        if let Some(push) = push {
            traits["push_opt_in"] = json!(push);
        }
        profile(
            &engine,
            &json!({"id": id, "traits": traits, "events": [
                {"event": "order_fulfilled", "timestamp": minus(now(), ago).to_string(),
                 "properties": {"order_id": "o-1"}}]}),
        )
    };
    let due = explain(
        &engine,
        &fulfilled("14d", Some(true)),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&due), ["usage_tips_push"]);
    assert_eq!(due.emissions[0].channel, "push");
    let early = explain(
        &engine,
        &fulfilled("13d", Some(true)),
        &MemoryHistory::new(),
        now(),
    );
    assert!(early.emissions.is_empty() && early.suppressions.is_empty());
    // Push needs an opt-in: missing is no consent.
    let no_opt_in = explain(
        &engine,
        &fulfilled("14d", None),
        &MemoryHistory::new(),
        now(),
    );
    assert!(no_opt_in.emissions.is_empty());
    let s = suppression(&no_opt_in, "usage_tips_push");
    assert_eq!(s.reason, Reason::NoConsent);
    assert_eq!(s.to_json()["suppressed"], json!("no_consent"));
}
