//! Cooldown and max_sends.

use super::*;

#[test]
fn cooldown_ending_exactly_now_has_ended() {
    // churn_email: cooldown 14d.
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let last = minus(now(), "14d");
    let h = history(&[sent(&id, "churn_email", "email", Category::Marketing, last)]);
    assert_eq!(emitted(&explain(&engine, &p, &h, now())), ["churn_email"]);

    let h = history(&[sent(
        &id,
        "churn_email",
        "email",
        Category::Marketing,
        us(last, 1),
    )]);
    let d = explain(&engine, &p, &h, now());
    assert!(d.emissions.is_empty());
    let s = suppression(&d, "churn_email");
    assert_eq!(s.reason, Reason::Cooldown);
    assert_eq!(detail(s, "until"), &Value::Timestamp(us(now(), 1)));
    let line = s.to_json();
    assert_eq!(line["profile"], json!(id));
    assert_eq!(line["action"], json!("churn_email"));
    assert_eq!(line["suppressed"], json!("cooldown"));
    assert_eq!(
        line["detail"]["until"],
        json!("2026-11-24T09:00:00.000001Z")
    );
}

#[test]
fn cooldown_is_per_action() {
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    // Another action sent yesterday does not start churn_email's cooldown.
    let h = history(&[sent(
        &id,
        "winback_email",
        "email",
        Category::Marketing,
        minus(now(), "1d"),
    )]);
    assert_eq!(emitted(&explain(&engine, &p, &h, now())), ["churn_email"]);
    // Nor does churn_email sent to another profile.
    let h = history(&[sent(
        "someone-else",
        "churn_email",
        "email",
        Category::Marketing,
        minus(now(), "1d"),
    )]);
    assert_eq!(emitted(&explain(&engine, &p, &h, now())), ["churn_email"]);
}

#[test]
fn max_sends_is_a_lifetime_count() {
    // churn_email: max_sends 3, cooldown 14d.
    let engine = classic();
    let id = reachable(0);
    let p = churn_profile(&engine, &id);
    let send = |ago: &str| {
        sent(
            &id,
            "churn_email",
            "email",
            Category::Marketing,
            minus(now(), ago),
        )
    };
    let two = history(&[send("400d"), send("200d")]);
    assert_eq!(emitted(&explain(&engine, &p, &two, now())), ["churn_email"]);
    let three = history(&[send("400d"), send("200d"), send("100d")]);
    let d = explain(&engine, &p, &three, now());
    assert!(d.emissions.is_empty());
    let s = suppression(&d, "churn_email");
    assert_eq!(s.reason, Reason::MaxSends);
    assert_eq!(detail(s, "count"), &Value::Int(3));
    assert_eq!(detail(s, "max"), &Value::Int(3));
    assert_eq!(s.to_json()["suppressed"], json!("max_sends"));
    // Within the cooldown as well: the cooldown is reported first.
    let both = history(&[send("400d"), send("200d"), send("1d")]);
    assert_eq!(
        reason(&explain(&engine, &p, &both, now()), "churn_email"),
        Reason::Cooldown
    );
}
