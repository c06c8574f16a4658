//! Consent.

use super::*;

/// One marketing and one transactional email, one marketing push, and one
/// marketing in-app message (in_app needs no opt-in).
pub(crate) const CONSENT_RULES: &str = r#"
[decision]
max_actions = 10

[[action]]
id = "news"
channel = "email"
trigger = "a"

[[action]]
id = "receipt"
channel = "email"
category = "transactional"
trigger = "a"

[[action]]
id = "ping"
channel = "push"
trigger = "a"

[[action]]
id = "banner"
channel = "in_app"
trigger = "a"
"#;

#[test]
fn unsubscribed_blocks_marketing_on_every_channel_but_not_transactional() {
    let engine = inline(CONSENT_RULES);
    let p = traits(
        &engine,
        "c-1",
        &json!({"a": true, "unsubscribed": true, "email_opt_in": true, "push_opt_in": true}),
    );
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["receipt"]);
    for action in ["news", "ping", "banner"] {
        assert_eq!(reason(&d, action), Reason::Unsubscribed, "{action}");
    }
    assert_eq!(
        suppression(&d, "banner").to_json()["suppressed"],
        json!("unsubscribed")
    );
    // FALSE and NULL are not unsubscribed.
    for value in [json!(false), json!(null)] {
        let p = traits(
            &engine,
            "c-1",
            &json!({"a": true, "unsubscribed": value, "email_opt_in": true, "push_opt_in": true}),
        );
        let d = explain(&engine, &p, &MemoryHistory::new(), now());
        let mut got = emitted(&d);
        got.sort_unstable();
        assert_eq!(got, ["banner", "news", "ping", "receipt"]);
    }
}

#[test]
fn opt_in_true_false_and_null() {
    let engine = inline(CONSENT_RULES);
    let decide = |opt_in: serde_json::Value| {
        let p = traits(
            &engine,
            "c-1",
            &json!({"a": true, "email_opt_in": opt_in, "push_opt_in": true}),
        );
        explain(&engine, &p, &MemoryHistory::new(), now())
    };
    let yes = decide(json!(true));
    assert!(emitted(&yes).contains(&"news"));
    assert!(emitted(&yes).contains(&"receipt"));

    // Explicit opt-out: binds marketing and transactional alike.
    let no = decide(json!(false));
    assert_eq!(reason(&no, "news"), Reason::NoConsent);
    assert_eq!(reason(&no, "receipt"), Reason::NoConsent);
    assert_eq!(
        suppression(&no, "news").to_json()["suppressed"],
        json!("no_consent")
    );
    // The other channels are not affected.
    assert!(emitted(&no).contains(&"ping"));
    assert!(emitted(&no).contains(&"banner"));

    // NULL (missing) opt-in is no consent for marketing; transactional needs
    // only the absence of an explicit opt-out.
    let null = decide(json!(null));
    assert_eq!(reason(&null, "news"), Reason::NoConsent);
    assert!(emitted(&null).contains(&"receipt"));
    assert!(not_suppressed(&null, "receipt"));
}

#[test]
fn consent_expiry_past_future_and_null() {
    let engine = inline(CONSENT_RULES);
    let decide = |expires: serde_json::Value| {
        let p = traits(
            &engine,
            "c-1",
            &json!({"a": true, "email_opt_in": true, "email_consent_expires": expires}),
        );
        explain(&engine, &p, &MemoryHistory::new(), now())
    };
    let past = decide(json!(minus(now(), "1d").to_string()));
    assert_eq!(reason(&past, "news"), Reason::ConsentExpired);
    assert_eq!(
        suppression(&past, "news").to_json()["suppressed"],
        json!("consent_expired")
    );
    // An expired consent is not an explicit opt-out: transactional still goes.
    assert!(emitted(&past).contains(&"receipt"));

    let just_past = decide(json!(us(now(), -1).to_string()));
    assert_eq!(reason(&just_past, "news"), Reason::ConsentExpired);

    // Expiring exactly now counts as expired: the expiry is the first instant
    // without consent (the SPEC is silent; this is the natural reading).
    let exactly_now = decide(json!(now().to_string()));
    assert_eq!(reason(&exactly_now, "news"), Reason::ConsentExpired);

    let future = decide(json!(us(now(), 1).to_string()));
    assert!(emitted(&future).contains(&"news"));

    // NULL expiry: the consent never expires.
    let never = decide(json!(null));
    assert!(emitted(&never).contains(&"news"));
}

#[test]
fn a_channel_without_a_consent_rule_needs_no_consent() {
    let engine = inline(CONSENT_RULES);
    // No opt-in of any kind: only in_app (no rule) and the transactional email go.
    let p = traits(&engine, "c-1", &json!({"a": true}));
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    let mut got = emitted(&d);
    got.sort_unstable();
    assert_eq!(got, ["banner", "receipt"]);
    assert_eq!(reason(&d, "news"), Reason::NoConsent);
    assert_eq!(reason(&d, "ping"), Reason::NoConsent);
}

#[test]
fn transactional_is_blocked_only_by_an_explicit_opt_out() {
    let engine = inline(CONSENT_RULES);
    let cases = [
        (json!({"a": true, "email_opt_in": true}), true),
        (json!({"a": true}), true),
        (json!({"a": true, "unsubscribed": true}), true),
        (
            json!({"a": true, "email_opt_in": true, "email_consent_expires": "2020-01-01T00:00:00Z"}),
            true,
        ),
        (json!({"a": true, "email_opt_in": false}), false),
        (
            json!({"a": true, "email_opt_in": false, "unsubscribed": true}),
            false,
        ),
    ];
    for (t, sends) in cases {
        let d = explain(
            &engine,
            &traits(&engine, "c-1", &t),
            &MemoryHistory::new(),
            now(),
        );
        assert_eq!(emitted(&d).contains(&"receipt"), sends, "{t}");
        if !sends {
            assert_eq!(reason(&d, "receipt"), Reason::NoConsent, "{t}");
        }
    }
}
