//! Validity.

use super::*;

#[test]
fn valid_from_and_valid_until_are_inclusive_to_the_microsecond() {
    // upsell_email: valid_from 2026-11-01T00:00:00Z, valid_until 2027-01-31T23:59:59Z.
    let engine = classic();
    let id = reachable(1);
    let p = profile(
        &engine,
        &json!({"id": id, "traits": {"plan": "basic", "lifetime_value": 250.0, "email_opt_in": true}}),
    );
    let h = MemoryHistory::new();
    let from = at("2026-11-01T00:00:00Z");
    let until = at("2027-01-31T23:59:59Z");
    // The quiet hours (21:00–08:00 UTC for this profile) defer; a send
    // deferred past valid_until would go out expired, so it is not emitted.
    let before = explain(&engine, &p, &h, us(from, -1));
    assert!(before.emissions.is_empty());
    let s = suppression(&before, "upsell_email");
    assert_eq!(s.reason, Reason::NotYetValid);
    assert_eq!(s.to_json()["suppressed"], json!("not_yet_valid"));
    assert_eq!(emitted(&explain(&engine, &p, &h, from)), ["upsell_email"]);
    assert_eq!(
        emitted(&explain(&engine, &p, &h, at("2027-01-31T20:59:59Z"))),
        ["upsell_email"]
    );
    let deferred_past_the_end = explain(&engine, &p, &h, until);
    assert!(deferred_past_the_end.emissions.is_empty());
    let s = suppression(&deferred_past_the_end, "upsell_email");
    assert_eq!(s.reason, Reason::Expired);
    assert_eq!(
        s.to_json()["detail"]["send_at"],
        json!("2027-02-01T08:00:00Z")
    );
    let after = explain(&engine, &p, &h, us(until, 1));
    assert!(after.emissions.is_empty());
    let s = suppression(&after, "upsell_email");
    assert_eq!(s.reason, Reason::Expired);
    assert_eq!(s.to_json()["suppressed"], json!("expired"));
}
