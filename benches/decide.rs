//! Whole decisions: 50 actions with every kind of guard, profiles with about
//! 20 past sends each, measured in the same run as the trigger evaluations
//! alone (the cost a decision cannot go below).
//!
//! ids: `decide/full` (Engine::decide over a batch, in-memory history),
//! `decide/full_2_threads` (the same batch split over two threads sharing
//! the engine and the history),
//! `decide/full_durable` (the same against a redb DurableHistory holding the
//! same records), `decide/triggers` (every action's trigger, suppress_if and
//! score over the same batch). The on-disk size per recorded send is printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration as StdDuration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nextbest::decide::{Engine, Options};
use nextbest::history::{DurableHistory, History, MemoryHistory, Outcome, Record, Update};
use nextbest::rules::{Category, Format, Ranking, RuleSet};
use nextbest::{Id, Profile, Timestamp};

use common::Rng;

const PROFILES: usize = 100_000;
const SENDS_PER_PROFILE: usize = 20;
const NOW: &str = "2026-11-24T09:00:00Z";

const CHANNELS: [&str; 4] = ["email", "push", "sms", "in_app"];

/// 50 actions over the classic schema: every guard kind appears.
fn rules() -> String {
    let mut toml = String::from(
        r#"
[schema.traits]
login_count_30d = "int"
login_count_60d = "int"
user_segment = "string"
lifetime_value = "float"
last_login = "timestamp"
email_opt_in = "bool"
email_consent_expires = "timestamp"
push_opt_in = "bool"
sms_opt_in = "bool"
unsubscribed = "bool"
timezone = "string"
cart_items = "int"

[schema.events]
page_view = { path = "string" }
support_ticket = { severity = "int" }

[consent]
unsubscribed = "unsubscribed"
email = { opt_in = "email_opt_in", expires = "email_consent_expires" }
push = { opt_in = "push_opt_in" }
sms = { opt_in = "sms_opt_in" }
in_app = {}

[quiet_hours]
start = "21:00"
end = "08:00"
timezone_trait = "timezone"

[[cap]]
name = "marketing-weekly"
category = "marketing"
channels = ["email", "push", "sms"]
max = 3
per = "7d"

[[cap]]
name = "daily-any"
max = 2
per = "1d"

[holdout]
percent = 5
salt = "bench"

[decision]
max_actions = 2
"#,
    );
    let triggers = [
        "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'",
        "days_since(last_login) > 60 AND lifetime_value >= 100.0",
        "cart_items > 0 AND lifetime_value > 50.0",
        "count(page_view WHERE path = '/pricing' WITHIN 7d) >= 2",
        "user_segment IN ('vip', 'active') AND login_count_30d >= 3",
    ];
    for i in 0..50 {
        let channel = CHANNELS[i % CHANNELS.len()];
        let trigger = triggers[i % triggers.len()];
        let _ = writeln!(
            toml,
            "[[action]]\nid = \"action_{i:02}\"\nchannel = \"{channel}\"\ntrigger = \"{trigger}\""
        );
        if i % 3 == 0 {
            let _ = writeln!(toml, "suppress_if = \"exists(support_ticket WITHIN 2d)\"");
        }
        if i % 4 == 0 {
            let _ = writeln!(toml, "score = \"lifetime_value / 100 + {i}\"");
        } else {
            let _ = writeln!(toml, "priority = {}", 50 - i);
        }
        let _ = writeln!(toml, "cooldown = \"{}d\"", 1 + i % 14);
        if i % 5 == 0 {
            let _ = writeln!(toml, "max_sends = 3");
        }
        if i % 7 == 0 {
            let _ = writeln!(toml, "category = \"transactional\"");
        }
        if i % 9 == 0 {
            let _ = writeln!(toml, "holdout_percent = 10");
        }
        if i % 11 == 0 {
            let _ = writeln!(toml, "quiet_hours = \"drop\"");
        }
        if i % 13 == 0 {
            let _ = writeln!(
                toml,
                "valid_from = \"2026-11-01T00:00:00Z\"\nvalid_until = \"2026-12-31T00:00:00Z\""
            );
        }
        toml.push('\n');
    }
    toml
}

fn profiles(engine: &Engine, rng: &mut Rng, now: Timestamp) -> Vec<Profile> {
    let schema = &engine.rules().schema;
    let day = 86_400_000_000i64;
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
    (0..PROFILES)
        .map(|i| {
            let l60 = rng.below(40) as i64;
            let mut builder = Profile::builder(schema, format!("p-{i}"))
                .attribute("login_count_30d", rng.below(l60 as u64 + 1) as i64)
                .attribute("login_count_60d", l60)
                .attribute(
                    "user_segment",
                    ["active", "vip", "dormant", "trial"][rng.below(4) as usize],
                )
                .attribute("lifetime_value", rng.below(40_000) as f64 / 100.0)
                .attribute(
                    "last_login",
                    Timestamp::from_micros(now.as_micros() - rng.below(120) as i64 * day),
                )
                .attribute("email_opt_in", rng.below(10) < 8)
                .attribute("push_opt_in", rng.below(10) < 6)
                .attribute("sms_opt_in", rng.below(10) < 3)
                .attribute("unsubscribed", rng.below(100) < 3)
                .attribute("timezone", zones[rng.below(4) as usize])
                .attribute("cart_items", rng.below(4) as i64);
            for _ in 0..rng.below(6) {
                let at =
                    Timestamp::from_micros(now.as_micros() - rng.below(10 * day as u64) as i64);
                builder = builder.event(
                    "page_view",
                    at,
                    [("path", ["/pricing", "/docs"][rng.below(2) as usize])],
                );
            }
            if rng.below(10) == 0 {
                let at = Timestamp::from_micros(now.as_micros() - rng.below(3 * day as u64) as i64);
                builder = builder.event("support_ticket", at, [("severity", 2i64)]);
            }
            builder.build().unwrap()
        })
        .collect()
}

/// About 20 past sends per profile over the last 30 days, recorded into
/// `history` in batches of 1 000 profiles.
fn fill(history: &mut dyn History, engine: &Engine, rng: &mut Rng, now: Timestamp) {
    let day = 86_400_000_000u64;
    let actions = &engine.rules().actions;
    let mut records = Vec::with_capacity(SENDS_PER_PROFILE * 1_000);
    for i in 0..PROFILES {
        for _ in 0..SENDS_PER_PROFILE {
            let action = &actions[rng.below(actions.len() as u64) as usize];
            let at = Timestamp::from_micros(now.as_micros() - rng.below(30 * day) as i64);
            records.push(Record::new(
                format!("p-{i}"),
                action.id.as_str(),
                action.channel.as_str(),
                action.category,
                Outcome::Sent,
                at,
                Id::default(),
            ));
        }
        if records.len() >= SENDS_PER_PROFILE * 1_000 {
            history.record(&Update::from(records.clone())).unwrap();
            records.clear();
        }
    }
    history.record(&Update::from(records.clone())).unwrap();
}

/// What the triggers alone cost: every trigger, suppress_if and score.
fn evaluate_triggers(engine: &Engine, profile: &Profile, now: Timestamp) -> usize {
    let mut fired = 0;
    for action in &engine.rules().actions {
        if let Some(trigger) = &action.trigger
            && trigger.matches(profile, now).unwrap()
        {
            fired += 1;
            if let Some(suppress) = &action.suppress_if {
                fired += usize::from(suppress.matches(profile, now).unwrap());
            }
            if let Ranking::Score(score) = &action.ranking {
                fired += usize::from(score.evaluate(profile, now).unwrap().is_some());
            }
        }
    }
    fired
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(RuleSet::parse(&rules(), Format::Toml, "bench.toml").unwrap());
    assert_eq!(engine.rules().actions.len(), 50);
    assert!(
        engine
            .rules()
            .actions
            .iter()
            .any(|a| a.category == Category::Transactional)
    );
    let now = Timestamp::parse(NOW).unwrap();
    let mut rng = Rng(7);
    let profiles = profiles(&engine, &mut rng, now);
    let mut history = MemoryHistory::new();
    fill(&mut history, &engine, &mut Rng(11), now);
    let dir = std::env::temp_dir().join(format!("nextbest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.redb");
    let _ = std::fs::remove_file(&path);
    let mut durable = DurableHistory::open(&path).unwrap();
    fill(&mut durable, &engine, &mut Rng(11), now);
    let bytes = std::fs::metadata(&path).unwrap().len();
    let sends = (PROFILES * SENDS_PER_PROFILE) as u64;
    eprintln!(
        "durable history: {sends} sends in {:.1} MiB, {} bytes per recorded send",
        bytes as f64 / 1_048_576.0,
        bytes / sends
    );

    let options = Options::default();
    let emitted: usize = profiles
        .iter()
        .map(|p| {
            engine
                .decide(p, &history, now, options)
                .unwrap()
                .emissions
                .len()
        })
        .sum();
    eprintln!(
        "decide: {PROFILES} profiles, {SENDS_PER_PROFILE} past sends each, {emitted} emissions ({:.2} per profile)",
        emitted as f64 / PROFILES as f64
    );

    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(PROFILES as u64));
    group.sample_size(10);
    group.warm_up_time(StdDuration::from_secs(1));
    group.measurement_time(StdDuration::from_secs(8));
    group.bench_function("full", |b| {
        b.iter(|| {
            let mut total = 0;
            for profile in &profiles {
                total += engine
                    .decide(black_box(profile), &history, now, options)
                    .unwrap()
                    .emissions
                    .len();
            }
            assert_eq!(total, emitted);
            total
        });
    });
    // The engine, the profiles and the history shared by two threads, each
    // deciding half of the batch: decisions are independent.
    group.bench_function("full_2_threads", |b| {
        b.iter(|| {
            let decide_all = |batch: &[Profile]| -> usize {
                batch
                    .iter()
                    .map(|p| {
                        let decision = engine.decide(black_box(p), &history, now, options);
                        decision.unwrap().emissions.len()
                    })
                    .sum()
            };
            let (left, right) = profiles.split_at(profiles.len() / 2);
            let total = std::thread::scope(|scope| {
                let left = scope.spawn(|| decide_all(left));
                decide_all(right) + left.join().unwrap()
            });
            assert_eq!(total, emitted);
            total
        });
    });
    group.bench_function("full_durable", |b| {
        b.iter(|| {
            let mut total = 0;
            for profile in &profiles {
                let decision = engine
                    .decide(black_box(profile), &durable, now, options)
                    .unwrap();
                total += decision.emissions.len();
            }
            assert_eq!(
                total, emitted,
                "the durable history decides as the in-memory one"
            );
            total
        });
    });
    let fired: usize = profiles
        .iter()
        .map(|p| evaluate_triggers(&engine, p, now))
        .sum();
    group.bench_function("triggers", |b| {
        b.iter(|| {
            let mut total = 0;
            for profile in &profiles {
                total += evaluate_triggers(&engine, black_box(profile), now);
            }
            assert_eq!(total, fired);
            total
        });
    });
    group.finish();
    drop(durable);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
