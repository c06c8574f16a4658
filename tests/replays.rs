//! SPEC §5 item 7 over every history: a decision not later than the last
//! one recorded for the profile chooses nothing new, also when that last
//! decision only changed journey states, and also after compaction.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Scratch;
use nextbest::decide::{Decision, Engine, Options};
use nextbest::history::{DurableHistory, History, MemoryHistory};
use nextbest::rules::{Format, RuleSet};
use nextbest::{Profile, Timestamp};

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn engine(rules: &str) -> Engine {
    Engine::new(RuleSet::parse(rules, Format::Toml, "rules.toml").unwrap())
}

/// Runs `scenario` over a memory history and over a new durable store.
fn over_every_history(name: &str, scenario: impl Fn(&mut dyn History)) {
    scenario(&mut MemoryHistory::new());
    let dir = Scratch::new(&format!("replays-{name}"));
    scenario(&mut DurableHistory::open(dir.file("history.redb")).unwrap());
}

fn decide_and_record(
    engine: &Engine,
    profile: &Profile,
    history: &mut dyn History,
    now: Timestamp,
) -> Decision {
    let decision = engine
        .decide(profile, &*history, now, Options::default())
        .unwrap();
    history.record(&decision.update()).unwrap();
    decision
}

/// A journey a profile leaves on its first login, and may enter again at
/// once.
const REENTERING: &str = r#"
[schema.traits]
at_risk = "bool"
[schema.events]
login = {}
[consent]
email = {}
[[action]]
id = "hello"
channel = "email"
[[action]]
id = "bye"
channel = "email"
[[journey]]
id = "rescue"
entry = "at_risk"
exit = "count(login SINCE journey.entered_at) > 0"
reentry = "0d"
steps = [ { after = "0d", action = "hello" }, { after = "30d", action = "bye" } ]
"#;

#[test]
fn a_retry_after_a_decision_that_only_left_a_journey_sends_nothing() {
    over_every_history("left", |history| {
        let engine = engine(REENTERING);
        let schema = &engine.rules().schema;
        let (t0, t1) = (at("2026-11-24T09:00:00Z"), at("2026-11-26T09:00:00Z"));
        let at_risk = Profile::builder(schema, "c-1").attribute("at_risk", true);
        let first = decide_and_record(&engine, &at_risk.clone().build().unwrap(), history, t0);
        assert_eq!(first.emissions.len(), 1);
        // A login on day 1: the journey is left at t1, nothing is sent.
        let logged_in = at_risk
            .event(
                "login",
                at("2026-11-25T09:00:00Z"),
                Vec::<(&str, bool)>::new(),
            )
            .build()
            .unwrap();
        let left = decide_and_record(&engine, &logged_in, history, t1);
        assert!(left.emissions.is_empty() && !left.journeys.is_empty());
        assert!(!left.replayed);
        assert_eq!(history.last_decided_at("c-1").unwrap(), Some(t1));
        // Retried at t1, it replays the decision that left the journey
        // instead of entering it anew and sending `hello` a second time.
        let retried = decide_and_record(&engine, &logged_in, history, t1);
        assert!(retried.replayed);
        assert!(retried.emissions.is_empty(), "{:?}", retried.emissions);
    });
}

#[test]
fn an_earlier_decision_after_one_that_only_entered_a_journey_sends_nothing() {
    let rules = r#"
[schema.traits]
at_risk = "bool"
[consent]
email = {}
[[action]]
id = "promo"
channel = "email"
trigger = "TRUE"
valid_until = "2026-11-24T00:00:00Z"
[[action]]
id = "later"
channel = "email"
[[journey]]
id = "rescue"
entry = "at_risk"
steps = [ { after = "1d", action = "later" } ]
"#;
    over_every_history("entered", |history| {
        let engine = engine(rules);
        let profile = Profile::builder(&engine.rules().schema, "c-1")
            .attribute("at_risk", true)
            .build()
            .unwrap();
        let entered = decide_and_record(&engine, &profile, history, at("2026-11-24T09:00:00Z"));
        assert!(entered.emissions.is_empty() && !entered.journeys.is_empty());
        // Yesterday's batch run after today's: `promo` was still valid
        // then, but a decision before the last recorded one sends nothing.
        let earlier = decide_and_record(&engine, &profile, history, at("2026-11-23T09:00:00Z"));
        assert!(earlier.replayed);
        assert!(earlier.emissions.is_empty(), "{:?}", earlier.emissions);
    });
}

#[test]
fn compaction_keeps_what_a_replay_needs() {
    // No cooldown and no cap: the longest window is zero, so compacting at
    // the decision's own instant drops everything up to it.
    let rules = r#"
[schema.traits]
at_risk = "bool"
[consent]
email = {}
[[action]]
id = "nudge"
channel = "email"
trigger = "at_risk"
max_sends = 3
"#;
    let dir = Scratch::new("replays-compact");
    let engine = engine(rules);
    let profile = Profile::builder(&engine.rules().schema, "c-1")
        .attribute("at_risk", true)
        .build()
        .unwrap();
    let mut store = DurableHistory::open(dir.file("history.redb")).unwrap();
    let (day1, day2) = (at("2026-11-24T09:00:00Z"), at("2026-11-25T09:00:00Z"));
    let first = decide_and_record(&engine, &profile, &mut store, day1);
    decide_and_record(&engine, &profile, &mut store, day2);
    // Day 1's record goes, day 2's (the last decision) stays.
    assert_eq!(store.compact(day2).unwrap(), 1);
    assert_eq!(store.records("c-1").unwrap().len(), 1);
    let retried = decide_and_record(&engine, &profile, &mut store, day2);
    assert!(retried.replayed);
    assert_eq!(retried.emissions.len(), 1);
    assert_ne!(retried.emissions[0].key, first.emissions[0].key);
    assert_eq!(
        store.times_sent("c-1", "nudge").unwrap(),
        2,
        "nothing new recorded"
    );
    // And yesterday's batch, again, sends nothing.
    let earlier = decide_and_record(&engine, &profile, &mut store, day1);
    assert!(earlier.emissions.is_empty());
}
