//! Rules reloaded in a running service: deciders swap to the new engine
//! while others still decide with the old one, and profiles built under the
//! old schema are rebound (`Profile::rebind`) instead of failing with a
//! schema mismatch.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use nextbest::decide::{Engine, Options};
use nextbest::history::MemoryHistory;
use nextbest::rules::{Format, RuleSet};
use nextbest::{Profile, Timestamp};

const BEFORE: &str = r#"
[schema.traits]
logins = "int"
[schema.events.purchase]
amount = "float"
[consent]
email = {}
[[action]]
id = "nudge"
channel = "email"
trigger = "logins < 3"
"#;

/// The same rules with a trait, a property and an action added.
const AFTER: &str = r#"
[schema.traits]
plan = "string"
logins = "int"
[schema.events.purchase]
currency = "string"
amount = "float"
[consent]
email = {}
[[action]]
id = "nudge"
channel = "email"
trigger = "logins < 3"
[[action]]
id = "welcome_back"
channel = "email"
trigger = "plan IS NULL AND sum(purchase.amount) > 10"
priority = 1
"#;

fn engine(rules: &str) -> Arc<Engine> {
    Arc::new(Engine::new(
        RuleSet::parse(rules, Format::Toml, "rules.toml").unwrap(),
    ))
}

#[test]
fn rules_reloaded_under_load_keep_every_profile_deciding() {
    let now = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
    let bought = Timestamp::parse("2026-11-20T09:00:00Z").unwrap();
    let current = RwLock::new(engine(BEFORE));
    let schema = current.read().unwrap().rules().schema.clone();
    // Built once, under the first rules, as a service caches them.
    let profiles: Vec<Profile> = (0..200)
        .map(|i| {
            Profile::builder(&schema, format!("c-{i}"))
                .attribute("logins", i % 5)
                .event("purchase", bought, [("amount", 20.0)])
                .build()
                .unwrap()
        })
        .collect();
    let reloaded = AtomicBool::new(false);
    let (before, after) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (current, profiles, reloaded) = (&current, &profiles, &reloaded);
            let (before, after) = (&before, &after);
            scope.spawn(move || {
                let mut rounds_after_reload = 0;
                while rounds_after_reload < 3 {
                    let seen_reload = reloaded.load(Ordering::SeqCst);
                    let engine = Arc::clone(&current.read().unwrap());
                    for profile in profiles.iter().skip(worker).step_by(4) {
                        let profile = profile.rebind(&engine.rules().schema).unwrap();
                        let decision = engine
                            .decide(&profile, &MemoryHistory::new(), now, Options::default())
                            .unwrap();
                        let actions: Vec<&str> = decision
                            .emissions
                            .iter()
                            .map(|e| e.action.as_str())
                            .collect();
                        if engine.rules().actions.len() == 2 {
                            assert_eq!(actions, ["welcome_back"], "{}", profile.id());
                            after.fetch_add(1, Ordering::Relaxed);
                        } else {
                            let logins = profile.attribute("logins").unwrap();
                            let nudged = matches!(logins, nextbest::Value::Int(n) if *n < 3);
                            assert_eq!(actions.len(), usize::from(nudged));
                            before.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    rounds_after_reload += usize::from(seen_reload);
                }
            });
        }
        // Reload once the deciders are running.
        while before.load(Ordering::Relaxed) < 400 {
            std::thread::yield_now();
        }
        *current.write().unwrap() = engine(AFTER);
        reloaded.store(true, Ordering::SeqCst);
    });
    assert!(before.load(Ordering::Relaxed) >= 400);
    assert!(after.load(Ordering::Relaxed) >= 3 * 200);
}

#[test]
fn a_rebind_moves_traits_and_events_and_refuses_a_changed_type() {
    let before = engine(BEFORE);
    let after = engine(AFTER);
    let at = Timestamp::parse("2026-11-20T09:00:00Z").unwrap();
    let profile = Profile::builder(&before.rules().schema, "c-1")
        .attribute("logins", 4)
        .event("purchase", at, [("amount", 12.5)])
        .build()
        .unwrap();
    let moved = profile.rebind(&after.rules().schema).unwrap();
    assert_eq!(moved.attribute("logins"), Some(&nextbest::Value::Int(4)));
    assert_eq!(moved.attribute("plan"), Some(&nextbest::Value::Null));
    assert_eq!(moved.event_count("purchase"), 1);
    let now = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
    let sum = nextbest::Trigger::compile(
        "sum(purchase.amount) = 12.5 AND currency IS NULL",
        &after.rules().schema,
    );
    // `currency` is a property, not a trait: only the aggregate is valid.
    assert!(sum.is_err());
    let sum =
        nextbest::Trigger::compile("sum(purchase.amount) = 12.5", &after.rules().schema).unwrap();
    assert!(sum.matches(&moved, now).unwrap());
    // And back: what the older rules do not declare is left out.
    assert_eq!(
        moved
            .rebind(&before.rules().schema)
            .unwrap()
            .event_count("purchase"),
        1
    );

    let retyped = nextbest::Schema::builder()
        .attribute("logins", nextbest::Type::String)
        .build()
        .unwrap();
    let err = profile.rebind(&retyped).unwrap_err();
    assert!(err.to_string().contains("traits.logins"), "{err}");
}
