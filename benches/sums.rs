//! Windowed sums of an event property (issue 18: one algorithm for `sum`).
//!
//! 200 profiles of 1 000 `purchase` events each (a float `amount` in cents
//! and an int `qty`, about 1 in 50 amounts NULL), over 100 days:
//!
//! - `sums/compiled/{sum,avg,avg_int}`: `sum(purchase.amount WITHIN 7d)`,
//!   `avg(…)` of the amount and of `qty`, without `WHERE` (prefix sums);
//! - `sums/compiled/sum_where`: the same sum with `WHERE TRUE` (a scan of
//!   the window);
//! - `sums/native/sum`: a hand-written binary search and loop over a plain
//!   `Vec<(i64, f64)>`, the baseline;
//! - `sums/build`: building the 200 profiles (prefix sums included).
//!
//! Throughput is profiles, so criterion's time per element is per profile.
//! Every pass checks its result against the first one's.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::hint::black_box;

use criterion::{BenchmarkId, Throughput};
use nextbest::{EventSchema, Profile, Schema, Timestamp, Trigger, Type, Value};

use common::Rng;

const PROFILES: usize = 200;
const EVENTS: usize = 1_000;
const DAY: i64 = 86_400_000_000;
const NOW: i64 = 1_795_000_000_000_000;

type Rows = Vec<(i64, Option<f64>, i64)>;

fn schema() -> Schema {
    Schema::builder()
        .event(
            "purchase",
            EventSchema::new()
                .property("amount", Type::Float)
                .property("qty", Type::Int),
        )
        .build()
        .unwrap()
}

fn rows() -> Vec<Rows> {
    let mut rng = Rng(18);
    (0..PROFILES)
        .map(|_| {
            let mut rows: Rows = (0..EVENTS)
                .map(|_| {
                    let at = NOW - rng.below(100 * DAY as u64) as i64;
                    let cents = rng.below(100_000) as f64 / 100.0;
                    let amount = (rng.below(50) != 0).then_some(cents);
                    (at, amount, rng.below(10) as i64)
                })
                .collect();
            rows.sort_by_key(|r| r.0);
            rows
        })
        .collect()
}

fn build(schema: &Schema, rows: &Rows) -> Profile {
    let mut b = Profile::builder(schema, "p");
    for (at, amount, qty) in rows {
        let amount = amount.map_or(Value::Null, Value::Float);
        let properties = [("amount", amount), ("qty", Value::Int(*qty))];
        b = b.event("purchase", Timestamp::from_micros(*at), properties);
    }
    b.build().unwrap()
}

/// The hand-written sum of the amounts in `(now − 7d, now]`.
fn native(rows: &Rows, now: i64) -> f64 {
    let start = rows.partition_point(|r| r.0 <= now - 7 * DAY);
    let end = rows.partition_point(|r| r.0 <= now);
    rows[start..end].iter().filter_map(|r| r.1).sum()
}

fn main() {
    let schema = schema();
    let rows = rows();
    let profiles: Vec<Profile> = rows.iter().map(|r| build(&schema, r)).collect();
    let now = Timestamp::from_micros(NOW);

    let mut c = common::criterion();
    let mut group = c.benchmark_group("sums");
    group.throughput(Throughput::Elements(PROFILES as u64));
    // Thresholds near the middle, so that about half the profiles match.
    for (name, source) in [
        ("sum", "sum(purchase.amount WITHIN 7d) > 34000.0"),
        (
            "sum_where",
            "sum(purchase.amount WHERE TRUE WITHIN 7d) > 34000.0",
        ),
        ("avg", "avg(purchase.amount WITHIN 7d) > 500.0"),
        ("avg_int", "avg(purchase.qty WITHIN 7d) > 4.5"),
    ] {
        let trigger = Trigger::compile(source, &schema).unwrap();
        let matching = |p: &Profile| matches!(trigger.matches(p, now), Ok(true));
        let expected = profiles.iter().filter(|p| matching(p)).count();
        println!("{name}: {expected} of {PROFILES} profiles match");
        group.bench_function(BenchmarkId::new("compiled", name), |b| {
            b.iter(|| {
                let found = profiles.iter().filter(|p| matching(black_box(p))).count();
                assert_eq!(found, expected);
            });
        });
    }
    let expected: f64 = rows.iter().map(|r| native(r, NOW)).sum();
    group.bench_function(BenchmarkId::new("native", "sum"), |b| {
        b.iter(|| {
            let total: f64 = rows.iter().map(|r| native(black_box(r), NOW)).sum();
            assert_eq!(total, expected);
        });
    });
    group.bench_function("build", |b| {
        b.iter(|| {
            for r in &rows {
                black_box(build(&schema, black_box(r)));
            }
        });
    });
    group.finish();
    c.final_summary();
}
