//! Parse + check + compile throughput (SPEC §7).
//!
//! Each benchmark turns source text into a [`Trigger`] with
//! [`Trigger::compile`] (parse with the pest grammar, resolve names and check
//! types against the schema, build the closure tree), and drops it.
//! Throughput is in expressions, so criterion reports expressions per second.
//!
//! Benchmark ids: `compile/E1` … `compile/E4` (one expression each) and
//! `compile/mix` (E1–E4 and eight variants that cover the other operators,
//! functions and aggregates, compiled one after the other).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use nextbest::{EventSchema, Schema, Trigger, Type};

const E1: &str = "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'";
const E2: &str = "days_since(last_login) > 60 AND email_opt_in AND lifetime_value >= 100.0";
const E3: &str = "(country IN ('US','CA','GB') AND cart_items > 0 AND lifetime_value > 50.0) \
                  OR (user_segment = 'vip' AND days_since(last_login) <= 7)";
const E4: &str = "count(page_view WHERE path = '/pricing' WITHIN 7d) >= 3";

/// E1–E4 and variants.
const MIX: &[&str] = &[
    E1,
    E2,
    E3,
    E4,
    "login_count_30d < 0.5 * login_count_60d AND user_segment IN ('active', 'new')",
    "NOT email_opt_in OR lifetime_value BETWEEN 10 AND 1000",
    "days_since(last_login) BETWEEN 30 AND 90 AND country NOT IN ('US', 'CA')",
    "exists(page_view WHERE path STARTS WITH '/docs' WITHIN 14d) AND cart_items >= 1",
    "count(page_view WITHIN 30d) > 10 OR last(page_view).timestamp < now() - 3d",
    "lower(user_segment) = 'vip' AND coalesce(cart_items, 0) > 2",
    "user_segment IS NULL OR country IS NULL OR last_login < @2026-01-01",
    "# a comment\nhours_since(last_login) >= 36 && (cart_items * 2 + 1) % 3 = 0 || lifetime_value / 4 > 12.5",
];

fn schema() -> Schema {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("login_count_60d", Type::Int)
        .attribute("user_segment", Type::String)
        .attribute("last_login", Type::Timestamp)
        .attribute("email_opt_in", Type::Bool)
        .attribute("lifetime_value", Type::Float)
        .attribute("country", Type::String)
        .attribute("cart_items", Type::Int)
        .event(
            "page_view",
            EventSchema::new().property("path", Type::String),
        )
        .build()
        .unwrap()
}

/// Compiles every source, consuming each trigger; returns the number of
/// attributes and event types they read (a checksum).
fn compile_all(schema: &Schema, sources: &[&str]) -> usize {
    sources
        .iter()
        .map(|source| {
            let trigger = Trigger::compile(black_box(source), schema).unwrap();
            let reads = trigger.reads();
            reads.attributes.len() + reads.events.len()
        })
        .sum()
}

fn main() {
    let schema = schema();
    let checksums: Vec<usize> = MIX
        .iter()
        .map(|source| compile_all(&schema, &[source]))
        .collect();
    let mix_checksum: usize = checksums.iter().sum();

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let mut group = c.benchmark_group("compile");
    for (index, source) in MIX.iter().take(4).enumerate() {
        let expected = checksums[index];
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("E{}", index + 1), |b| {
            b.iter(|| {
                let reads = compile_all(&schema, &[source]);
                assert_eq!(reads, expected);
                reads
            });
        });
    }
    group.throughput(Throughput::Elements(MIX.len() as u64));
    group.bench_function("mix", |b| {
        b.iter(|| {
            let reads = compile_all(&schema, MIX);
            assert_eq!(reads, mix_checksum);
            reads
        });
    });
    group.finish();

    c.final_summary();
}
