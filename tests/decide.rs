//! Scenario tests for the decision engine (SPEC §5 and the output contract of
//! SPEC §6), through the public API only.
//!
//! Each guard is exercised at its exact boundaries, mostly on the classic rule
//! set (`examples/rules/classic.toml`: churn risk, pricing-page interest,
//! win-back after 60 days, usage tips 14 days after fulfilment, no upsell
//! right after a support ticket), and with small inline rule sets where one
//! guard is easier to see on its own. Journeys are not covered here: only
//! standalone actions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nextbest::decide::{Decision, Engine, Options, Reason, Suppression};
use nextbest::hash::{bucket, growthbook_v2};
use nextbest::history::{History, MemoryHistory, Outcome, Record, Update};
use nextbest::rules::{Category, Format, RuleSet};
use nextbest::{Duration, Profile, Timestamp, Value};
use serde_json::json;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A Tuesday morning: 09:00 UTC, 10:00 in Berlin, outside every quiet period.
const NOW: &str = "2026-11-24T09:00:00Z";

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn now() -> Timestamp {
    at(NOW)
}

/// `t` moved by `micros` microseconds.
fn us(t: Timestamp, micros: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() + micros)
}

/// `t` plus a duration literal such as `14d`.
fn plus(t: Timestamp, duration: &str) -> Timestamp {
    t.checked_add(Duration::parse(duration).unwrap()).unwrap()
}

/// `t` minus a duration literal such as `14d`.
fn minus(t: Timestamp, duration: &str) -> Timestamp {
    us(t, -Duration::parse(duration).unwrap().as_micros())
}

fn engine(toml: &str) -> Engine {
    Engine::new(RuleSet::parse(toml, Format::Toml, "test.toml").unwrap_or_else(|e| panic!("{e}")))
}

/// The classic rule set without its journeys (`tests/journeys.rs` runs them):
/// here its actions stand alone.
fn classic() -> Engine {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/rules/classic.toml"
    ))
    .unwrap();
    let standalone = source.split("[[journey]]").next().unwrap();
    engine(standalone)
}

fn profile(engine: &Engine, json: &serde_json::Value) -> Profile {
    Profile::from_json(&engine.rules().schema, &json.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

fn explain(engine: &Engine, profile: &Profile, history: &dyn History, now: Timestamp) -> Decision {
    engine
        .decide(profile, history, now, Options { explain: true })
        .unwrap()
}

fn emitted(decision: &Decision) -> Vec<&str> {
    decision
        .emissions
        .iter()
        .map(|e| e.action.as_str())
        .collect()
}

fn held_out(decision: &Decision) -> Vec<&str> {
    decision
        .held_out
        .iter()
        .map(|e| e.action.as_str())
        .collect()
}

/// The suppression of `action`, which must exist and be unique.
fn suppression<'d>(decision: &'d Decision, action: &str) -> &'d Suppression {
    let found: Vec<&Suppression> = decision
        .suppressions
        .iter()
        .filter(|s| s.action == action)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one suppression of `{action}` in {decision:#?}"
    );
    found[0]
}

fn reason(decision: &Decision, action: &str) -> Reason {
    suppression(decision, action).reason
}

fn not_suppressed(decision: &Decision, action: &str) -> bool {
    decision.suppressions.iter().all(|s| s.action != action)
}

fn detail<'s>(suppression: &'s Suppression, key: &str) -> &'s Value {
    suppression
        .detail
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no `{key}` in the detail of {suppression:?}"))
}

/// A sent record, as a decision at `at` would have recorded it.
fn sent(profile: &str, action: &str, channel: &str, category: Category, at: Timestamp) -> Record {
    Record {
        profile: profile.into(),
        action: action.into(),
        channel: channel.into(),
        category,
        outcome: Outcome::Sent,
        at,
        send_at: at,
        key: format!("{profile}/{action}/{}", at.as_micros()).into(),
        journey: None,
    }
}

fn history(records: &[Record]) -> MemoryHistory {
    let mut history = MemoryHistory::new();
    history.record(&Update::from(records.to_vec())).unwrap();
    history
}

/// The first id `p-N` whose bucket under `salt` satisfies `want`.
fn id_in_bucket(salt: &str, want: impl Fn(i64) -> bool) -> String {
    (0..100_000)
        .map(|n| format!("p-{n}"))
        .find(|id| want(bucket(id, salt)))
        .expect("some id lands in the wanted bucket")
}

/// The classic rule set holds out 5% under the salt `2026-global`.
fn reachable(n: usize) -> String {
    (0..100_000)
        .map(|k| format!("c-{k}"))
        .filter(|id| bucket(id, "2026-global") >= 5)
        .nth(n)
        .unwrap()
}

/// A classic profile at churn risk (3 logins in 30 days against 11 in 60),
/// opted in to email and push, in Berlin.
fn churn_traits() -> serde_json::Value {
    json!({
        "login_count_30d": 3, "login_count_60d": 11, "user_segment": "active",
        "email_opt_in": true, "push_opt_in": true, "timezone": "Europe/Berlin"
    })
}

fn churn_profile(engine: &Engine, id: &str) -> Profile {
    profile(engine, &json!({"id": id, "traits": churn_traits()}))
}

/// Churn traits with some overridden (`null` removes one).
fn churn_with(engine: &Engine, id: &str, overrides: &serde_json::Value) -> Profile {
    let mut traits = churn_traits();
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            traits.as_object_mut().unwrap().remove(k);
        } else {
            traits[k] = v.clone();
        }
    }
    profile(engine, &json!({"id": id, "traits": traits}))
}

/// The schema and consent rules shared by the inline rule sets; tests append
/// their own tables and actions.
const BASE: &str = r#"
[schema.traits]
a = "bool"
b = "bool"
c = "bool"
email_opt_in = "bool"
email_consent_expires = "timestamp"
push_opt_in = "bool"
unsubscribed = "bool"
timezone = "string"

[schema.events]
support_ticket = { severity = "int" }

[consent]
unsubscribed = "unsubscribed"
email = { opt_in = "email_opt_in", expires = "email_consent_expires" }
push  = { opt_in = "push_opt_in" }
in_app = {}
"#;

fn inline(rest: &str) -> Engine {
    engine(&format!("{BASE}\n{rest}"))
}

fn traits(engine: &Engine, id: &str, traits: &serde_json::Value) -> Profile {
    profile(engine, &json!({"id": id, "traits": traits}))
}

// ---------------------------------------------------------------------------
// Names and hashes
// ---------------------------------------------------------------------------

#[test]
fn reason_names_are_exactly_the_specs() {
    // SPEC §6, in its order. The match is exhaustive: a new variant must be named here.
    let all = [
        Reason::NotYetValid,
        Reason::Expired,
        Reason::SuppressIf,
        Reason::Holdout,
        Reason::Unsubscribed,
        Reason::NoConsent,
        Reason::ConsentExpired,
        Reason::Cooldown,
        Reason::MaxSends,
        Reason::FrequencyCap,
        Reason::QuietHours,
        Reason::Arbitration,
    ];
    for reason in all {
        let expected = match reason {
            Reason::NotYetValid => "not_yet_valid",
            Reason::Expired => "expired",
            Reason::SuppressIf => "suppress_if",
            Reason::Holdout => "holdout",
            Reason::Unsubscribed => "unsubscribed",
            Reason::NoConsent => "no_consent",
            Reason::ConsentExpired => "consent_expired",
            Reason::Cooldown => "cooldown",
            Reason::MaxSends => "max_sends",
            Reason::FrequencyCap => "frequency_cap",
            Reason::QuietHours => "quiet_hours",
            Reason::Arbitration => "arbitration",
        };
        assert_eq!(reason.name(), expected);
    }
    let names: Vec<&str> = all.iter().map(|r| r.name()).collect();
    assert_eq!(
        names.join(" "),
        "not_yet_valid expired suppress_if holdout unsubscribed no_consent consent_expired \
         cooldown max_sends frequency_cap quiet_hours arbitration"
    );
}

#[test]
fn holdout_buckets_are_growthbooks_v2_hash() {
    // GrowthBook's own vectors (sdk-js test/cases.json, "hash", version 2):
    // (seed, value, hash); hash × 10 000 is `growthbook_v2`, × 100 floored the bucket.
    let vectors = [
        ("seed", "a", 505, 5),
        ("seed", "b", 2696, 26),
        ("foo", "ab", 2575, 25),
        ("foo", "def", 2019, 20),
        ("89123klj", "8952klfjas09ujkasdf", 1240, 12),
        ("90850943850283058242805", "123", 7516, 75),
        ("()**(%$##$%#$#", "___)((*\":&", 128, 1),
    ];
    for (salt, key, hash, expected) in vectors {
        assert_eq!(growthbook_v2(key, salt), hash, "hash({salt:?}, {key:?})");
        assert_eq!(bucket(key, salt), expected, "bucket({key:?}, {salt:?})");
    }
}

// ---------------------------------------------------------------------------
// The classic journeys, as standalone actions
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Validity
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Holdout
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Consent
// ---------------------------------------------------------------------------

/// One marketing and one transactional email, one marketing push, and one
/// marketing in-app message (in_app needs no opt-in).
const CONSENT_RULES: &str = r#"
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

// ---------------------------------------------------------------------------
// Cooldown and max_sends
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Frequency caps
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Quiet hours
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Arbitration
// ---------------------------------------------------------------------------

const RANKED: &str = r#"
[[action]]
id = "low"
channel = "email"
trigger = "a"
priority = 1

[[action]]
id = "zeta"
channel = "email"
trigger = "a"
priority = 50

[[action]]
id = "alpha"
channel = "push"
trigger = "a"
priority = 50

[[action]]
id = "scored"
channel = "in_app"
trigger = "a"
score = "40 + 10"

[[action]]
id = "default"
channel = "in_app"
trigger = "a"
"#;

fn ranked_profile(engine: &Engine) -> Profile {
    traits(
        engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "push_opt_in": true}),
    )
}

#[test]
fn arbitration_ranks_by_priority_and_score_and_breaks_ties_by_id() {
    let engine = inline(RANKED);
    let p = ranked_profile(&engine);
    let d = explain(&engine, &p, &MemoryHistory::new(), now());
    // zeta, alpha and scored all rank 50: alpha wins by id.
    assert_eq!(emitted(&d), ["alpha"]);
    for loser in ["zeta", "scored", "low", "default"] {
        let s = suppression(&d, loser);
        assert_eq!(s.reason, Reason::Arbitration, "{loser}");
        assert_eq!(s.to_json()["suppressed"], json!("arbitration"));
        assert_eq!(s.to_json()["action"], json!(loser));
    }
    assert_eq!(d.suppressions.len(), 4);

    // Without explain, the losers are not reported.
    let quiet = engine
        .decide(&p, &MemoryHistory::new(), now(), Options::default())
        .unwrap();
    assert_eq!(emitted(&quiet), ["alpha"]);
    assert!(quiet.suppressions.is_empty());

    // The winner blocked (no push consent), the next in rank (by id among
    // equals) takes the place.
    let no_push = traits(
        &engine,
        "c-1",
        &json!({"a": true, "email_opt_in": true, "push_opt_in": false}),
    );
    let d = explain(&engine, &no_push, &MemoryHistory::new(), now());
    assert_eq!(emitted(&d), ["scored"]);
    assert_eq!(reason(&d, "alpha"), Reason::NoConsent);
    assert_eq!(reason(&d, "zeta"), Reason::Arbitration);
    let chosen = detail(suppression(&d, "zeta"), "chosen");
    assert_eq!(chosen, &Value::from(vec!["scored"]));
}

#[test]
fn at_most_max_actions_are_emitted_best_first() {
    let engine = inline(&format!("{RANKED}\n[decision]\nmax_actions = 3\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta"]);
    assert_eq!(reason(&d, "low"), Reason::Arbitration);
    assert_eq!(reason(&d, "default"), Reason::Arbitration);
    assert_eq!(d.suppressions.len(), 2);

    let engine = inline(&format!("{RANKED}\n[decision]\nmax_actions = 10\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta", "low", "default"]);
    assert!(d.suppressions.is_empty());
}

#[test]
fn arbitration_does_not_depend_on_the_file_order() {
    let reversed: Vec<&str> = RANKED.split("[[action]]").skip(1).collect();
    let reversed: String = reversed
        .iter()
        .rev()
        .map(|a| format!("[[action]]{a}"))
        .collect();
    let engine = inline(&format!("{reversed}\n[decision]\nmax_actions = 3\n"));
    let d = explain(
        &engine,
        &ranked_profile(&engine),
        &MemoryHistory::new(),
        now(),
    );
    assert_eq!(emitted(&d), ["alpha", "scored", "zeta"]);
}

// ---------------------------------------------------------------------------
// Guard order
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Idempotency keys and recording
// ---------------------------------------------------------------------------

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
        vec![Record {
            profile: id.as_str().into(),
            action: "churn_email".into(),
            channel: "email".into(),
            category: Category::Marketing,
            outcome: Outcome::Sent,
            at: now(),
            send_at: now(),
            key: d.emissions[0].key.clone(),
            journey: None,
        }]
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
