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
        .decide(profile, history, now, Options::default().explain(true))
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
    Record::new(
        profile,
        action,
        channel,
        category,
        Outcome::Sent,
        at,
        format!("{profile}/{action}/{}", at.as_micros()),
    )
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
            // `Reason` may grow (it is non-exhaustive): a new one must be
            // listed above, with its name.
            other => panic!("a reason this test does not list: {other:?}"),
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

mod arbitration;
mod caps;
mod classic;
mod consent;
mod cooldown;
mod guard_order;
mod holdout;
mod keys;
mod quiet;
mod validity;
