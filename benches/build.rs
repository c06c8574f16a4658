//! Building profiles from a service's own struct (issue 13, item 1).
//!
//! One 8-attribute struct (the peerbench profile: 5 numbers, a bool, two
//! short strings), built into a `nextbest::Profile` four ways, in one run:
//!
//! - `build/copy`: a hand-written copy into a plain struct of the same
//!   fields (the two strings cloned): what copying the data costs, the
//!   baseline;
//! - `build/from_serialize`: `Profile::from_serialize(&schema, &customer)`
//!   over `#[derive(Serialize)]`;
//! - `build/handles`: `Profile::builder(&schema, "")` + 8 `.set(handle, v)`
//!   with handles resolved once + `.build()`;
//! - `build/names`: `Profile::builder(&schema, "")` + 8 `.attribute(name, v)`
//!   + `.build()` (the peerbench `builder` mode).
//!
//! Each iteration builds and drops one profile per customer of a batch of
//! 10 000 (throughput = customers, so criterion's time per element is the
//! time per profile).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::hint::black_box;

use criterion::Throughput;
use nextbest::{AttributeHandle, Profile, Schema, Type};
use serde::Serialize;

use common::Rng;

const BATCH: usize = 10_000;

#[derive(Clone, Serialize)]
struct Customer {
    login_count_30d: i64,
    login_count_60d: i64,
    user_segment: String,
    lifetime_value: f64,
    days_since_last_login: i64,
    email_opt_in: bool,
    country: String,
    cart_items: i64,
}

/// The baseline's target: the same fields, owned (only written: the
/// copy is the measure).
#[allow(dead_code)]
struct Copied {
    login_count_30d: i64,
    login_count_60d: i64,
    user_segment: String,
    lifetime_value: f64,
    days_since_last_login: i64,
    email_opt_in: bool,
    country: String,
    cart_items: i64,
}

#[inline(never)]
fn copy(c: &Customer) -> Copied {
    Copied {
        login_count_30d: c.login_count_30d,
        login_count_60d: c.login_count_60d,
        user_segment: c.user_segment.clone(),
        lifetime_value: c.lifetime_value,
        days_since_last_login: c.days_since_last_login,
        email_opt_in: c.email_opt_in,
        country: c.country.clone(),
        cart_items: c.cart_items,
    }
}

fn schema() -> Schema {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("login_count_60d", Type::Int)
        .attribute("user_segment", Type::String)
        .attribute("lifetime_value", Type::Float)
        .attribute("days_since_last_login", Type::Int)
        .attribute("email_opt_in", Type::Bool)
        .attribute("country", Type::String)
        .attribute("cart_items", Type::Int)
        .build()
        .unwrap()
}

fn customers() -> Vec<Customer> {
    const SEGMENTS: [&str; 4] = ["active", "dormant", "new", "vip"];
    const COUNTRIES: [&str; 8] = ["US", "CA", "GB", "DE", "FR", "IN", "BR", "JP"];
    let mut rng = Rng(13);
    (0..BATCH)
        .map(|_| {
            let login_count_60d = rng.below(61) as i64;
            Customer {
                login_count_30d: rng.below(login_count_60d as u64 + 1) as i64,
                login_count_60d,
                user_segment: SEGMENTS[rng.below(4) as usize].to_owned(),
                lifetime_value: rng.below(50_001) as f64 / 100.0,
                days_since_last_login: rng.below(366) as i64,
                email_opt_in: rng.below(10) < 7,
                country: COUNTRIES[rng.below(8) as usize].to_owned(),
                cart_items: rng.below(10) as i64,
            }
        })
        .collect()
}

struct Handles([AttributeHandle; 8]);

impl Handles {
    fn new(schema: &Schema) -> Self {
        let h = |name| schema.attribute_handle(name).unwrap();
        Handles([
            h("login_count_30d"),
            h("login_count_60d"),
            h("user_segment"),
            h("lifetime_value"),
            h("days_since_last_login"),
            h("email_opt_in"),
            h("country"),
            h("cart_items"),
        ])
    }

    fn build(&self, schema: &Schema, c: &Customer) -> Profile {
        let [a, b, s, v, d, e, k, n] = self.0;
        Profile::builder(schema, "")
            .set(a, c.login_count_30d)
            .set(b, c.login_count_60d)
            .set(s, c.user_segment.as_str())
            .set(v, c.lifetime_value)
            .set(d, c.days_since_last_login)
            .set(e, c.email_opt_in)
            .set(k, c.country.as_str())
            .set(n, c.cart_items)
            .build()
            .unwrap()
    }
}

fn by_names(schema: &Schema, c: &Customer) -> Profile {
    Profile::builder(schema, "")
        .attribute("login_count_30d", c.login_count_30d)
        .attribute("login_count_60d", c.login_count_60d)
        .attribute("user_segment", c.user_segment.as_str())
        .attribute("lifetime_value", c.lifetime_value)
        .attribute("days_since_last_login", c.days_since_last_login)
        .attribute("email_opt_in", c.email_opt_in)
        .attribute("country", c.country.as_str())
        .attribute("cart_items", c.cart_items)
        .build()
        .unwrap()
}

/// The three ways give the same profiles.
fn verify(schema: &Schema, handles: &Handles, customers: &[Customer]) {
    for c in customers.iter().take(100) {
        let a = format!("{:?}", Profile::from_serialize(schema, c).unwrap());
        assert_eq!(a, format!("{:?}", handles.build(schema, c)));
        assert_eq!(a, format!("{:?}", by_names(schema, c)));
    }
}

fn main() {
    let schema = schema();
    let handles = Handles::new(&schema);
    let customers = customers();
    verify(&schema, &handles, &customers);

    let mut c = common::criterion();
    let mut group = c.benchmark_group("build");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("copy", |b| {
        b.iter(|| {
            for customer in &customers {
                black_box(copy(black_box(customer)));
            }
        });
    });
    group.bench_function("from_serialize", |b| {
        b.iter(|| {
            for customer in &customers {
                black_box(Profile::from_serialize(&schema, black_box(customer)).unwrap());
            }
        });
    });
    group.bench_function("handles", |b| {
        b.iter(|| {
            for customer in &customers {
                black_box(handles.build(&schema, black_box(customer)));
            }
        });
    });
    group.bench_function("names", |b| {
        b.iter(|| {
            for customer in &customers {
                black_box(by_names(&schema, black_box(customer)));
            }
        });
    });
    group.finish();
    c.final_summary();
}
