//! Trigger evaluation benchmarks (SPEC §7).
//!
//! Each compiled trigger is measured beside a hand-written Rust function over
//! a plain struct with `Option` fields that does the same test under the same
//! three-valued semantics: it answers "does the trigger fire", i.e. "is the
//! expression TRUE", which is what [`Trigger::matches`] answers. That function
//! is the physical limit the compiled evaluator is judged against.
//!
//! Benchmark ids:
//! - `eval/batch/{compiled,native}/E1..E4`: one pass over a batch of varied
//!   profiles, counting the matches (throughput = profiles per pass, so
//!   criterion's time per element is the time per profile). E1–E3 use
//!   100 000 profiles; E4 uses 1 000 profiles of 1 000 `page_view` events each
//!   (100 000 such profiles would take several GB in both representations).
//! - `eval/single/{compiled,native}/E1..E4`: one evaluation of one profile,
//!   evaluated over and over (hot cache).
//!
//! Before criterion runs, every compiled result is checked against the native
//! functions (the full truth value, not only the match count), and the heap
//! allocations per evaluation are counted with a counting global allocator and
//! printed to stderr.
//!
//! The data comes from a deterministic pseudo-random generator (SplitMix64)
//! written here, with about 5% NULL attributes and event properties.

// The only unsafe code is the counting allocator below (`unsafe impl
// GlobalAlloc`, delegating to `System`). This needs the manifest's
// `unsafe_code` lint at `deny` rather than `forbid` (a `forbid` cannot be
// relaxed by an `allow`); the library keeps its own `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput};
use nextbest::{EventSchema, Profile, Schema, Timestamp, Trigger, Truth, Type};

use common::Rng;

// ---------------------------------------------------------------------------
// Counting allocator

/// `System`, counting every allocation (`alloc`, `alloc_zeroed`, `realloc`).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method delegates to `System` with the caller's arguments
// unchanged; the counter is an atomic and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Data

const DAY: i64 = 86_400_000_000;
const BATCH: usize = 100_000;
const EVENT_BATCH: usize = 1_000;
const EVENTS_PER_PROFILE: usize = 1_000;

const E1: &str = "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'";
const E2: &str = "days_since(last_login) > 60 AND email_opt_in AND lifetime_value >= 100.0";
const E3: &str = "(country IN ('US','CA','GB') AND cart_items > 0 AND lifetime_value > 50.0) \
                  OR (user_segment = 'vip' AND days_since(last_login) <= 7)";
const E4: &str = "count(page_view WHERE path = '/pricing' WITHIN 7d) >= 3";

/// What this bench draws beyond `common::Rng`.
trait RngExt {
    fn chance(&mut self, percent: u64) -> bool;
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64;
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str;
    /// `None` about 5% of the time.
    fn maybe<T>(&mut self, value: impl FnOnce(&mut Rng) -> T) -> Option<T>;
}

impl RngExt for Rng {
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn maybe<T>(&mut self, value: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        if self.chance(5) {
            None
        } else {
            Some(value(self))
        }
    }
}

/// The plain struct the native functions read: what a hand-written service
/// would keep per customer.
#[derive(Debug, Clone)]
struct Plain {
    login_count_30d: Option<i64>,
    login_count_60d: Option<i64>,
    user_segment: Option<String>,
    /// Microseconds since the epoch.
    last_login: Option<i64>,
    email_opt_in: Option<bool>,
    lifetime_value: Option<f64>,
    country: Option<String>,
    cart_items: Option<i64>,
    /// Sorted by time.
    page_views: Vec<PageView>,
}

#[derive(Debug, Clone)]
struct PageView {
    at: i64,
    path: Option<String>,
}

const SEGMENTS: &[&str] = &[
    "active", "active", "active", "active", "dormant", "dormant", "new", "new", "vip", "churned",
];
const COUNTRIES: &[&str] = &["US", "US", "CA", "GB", "DE", "FR", "JP", "BR", "IN", "AU"];
const PATHS: &[&str] = &[
    "/",
    "/docs",
    "/blog",
    "/features",
    "/signup",
    "/pricing/enterprise",
    "/account",
];

fn random_plain(rng: &mut Rng, now: i64) -> Plain {
    let login_count_60d = rng.maybe(|r| r.below(61) as i64);
    let cap = login_count_60d.unwrap_or(40) as u64;
    Plain {
        login_count_30d: rng.maybe(|r| r.below(cap + 1) as i64),
        login_count_60d,
        user_segment: rng.maybe(|r| r.pick(SEGMENTS).to_owned()),
        // Up to 120 days ago, to the second.
        last_login: rng.maybe(|r| now - r.below(120 * 86_400) as i64 * 1_000_000),
        email_opt_in: rng.maybe(|r| r.chance(70)),
        lifetime_value: rng.maybe(|r| (r.unit() * r.unit() * 40_000.0).round() / 100.0),
        country: rng.maybe(|r| r.pick(COUNTRIES).to_owned()),
        cart_items: rng.maybe(|r| {
            if r.chance(60) {
                0
            } else {
                1 + r.below(5) as i64
            }
        }),
        page_views: Vec::new(),
    }
}

/// `count` page views over the 60 days before `now`, with `/pricing` for
/// `pricing_percent`% of them and a NULL path for about 5%.
fn random_page_views(rng: &mut Rng, now: i64, count: usize, pricing_percent: u64) -> Vec<PageView> {
    let mut views: Vec<PageView> = (0..count)
        .map(|_| PageView {
            at: now - rng.below(60 * DAY as u64) as i64,
            path: rng.maybe(|r| {
                if r.chance(pricing_percent) {
                    "/pricing"
                } else {
                    r.pick(PATHS)
                }
                .to_owned()
            }),
        })
        .collect();
    views.sort_by_key(|v| v.at);
    views
}

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

/// The same data as a [`Profile`].
fn to_profile(schema: &Schema, id: usize, p: &Plain) -> Profile {
    let mut builder = Profile::builder(schema, format!("c-{id}"))
        .attribute("login_count_30d", p.login_count_30d)
        .attribute("login_count_60d", p.login_count_60d)
        .attribute("user_segment", p.user_segment.as_deref())
        .attribute("last_login", p.last_login.map(Timestamp::from_micros))
        .attribute("email_opt_in", p.email_opt_in)
        .attribute("lifetime_value", p.lifetime_value)
        .attribute("country", p.country.as_deref())
        .attribute("cart_items", p.cart_items);
    for view in &p.page_views {
        builder = builder.event(
            "page_view",
            Timestamp::from_micros(view.at),
            [("path", view.path.as_deref())],
        );
    }
    builder.build().unwrap()
}

// ---------------------------------------------------------------------------
// The native baselines

/// `days_since(ts)`: whole days from `then` to `now`, rounded down; NULL on overflow.
#[inline]
fn days_since(now: i64, then: i64) -> Option<i64> {
    Some(now.checked_sub(then)?.div_euclid(DAY))
}

// "Does it fire": TRUE only. For expressions made of AND and OR over
// predicates (no NOT), an AND is TRUE iff every operand is TRUE and an OR iff
// some operand is, so plain `&&`/`||` over "this predicate is TRUE" is the
// exact three-valued answer to that question.

#[inline]
fn e1_native(p: &Plain, _now: i64) -> bool {
    matches!((p.login_count_30d, p.login_count_60d), (Some(a), Some(b)) if (a as f64) < 0.6 * b as f64)
        && p.user_segment.as_deref() == Some("active")
}

#[inline]
fn e2_native(p: &Plain, now: i64) -> bool {
    matches!(p.last_login.and_then(|t| days_since(now, t)), Some(d) if d > 60)
        && p.email_opt_in == Some(true)
        && matches!(p.lifetime_value, Some(v) if v >= 100.0)
}

#[inline]
fn e3_native(p: &Plain, now: i64) -> bool {
    (matches!(p.country.as_deref(), Some("US" | "CA" | "GB"))
        && matches!(p.cart_items, Some(n) if n > 0)
        && matches!(p.lifetime_value, Some(v) if v > 50.0))
        || (p.user_segment.as_deref() == Some("vip")
            && matches!(p.last_login.and_then(|t| days_since(now, t)), Some(d) if d <= 7))
}

/// Two binary searches for the window `(now − 7d, now]`, then a scan of it.
#[inline]
fn pricing_views(p: &Plain, now: i64) -> usize {
    let views = &p.page_views;
    let end = views.partition_point(|v| v.at <= now);
    let start = views.partition_point(|v| v.at <= now - 7 * DAY).min(end);
    views[start..end]
        .iter()
        .filter(|v| v.path.as_deref() == Some("/pricing"))
        .count()
}

#[inline]
fn e4_native(p: &Plain, now: i64) -> bool {
    pricing_views(p, now) >= 3
}

// The full truth values (`None` = NULL), spelled out with SQL's tables: used
// only to check `Trigger::evaluate` before measuring.

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn e1_truth(p: &Plain, _now: i64) -> Option<bool> {
    let ratio = p
        .login_count_30d
        .zip(p.login_count_60d)
        .map(|(a, b)| (a as f64) < 0.6 * b as f64);
    and3(ratio, p.user_segment.as_deref().map(|s| s == "active"))
}

fn e2_truth(p: &Plain, now: i64) -> Option<bool> {
    let lapsed = p
        .last_login
        .and_then(|t| days_since(now, t))
        .map(|d| d > 60);
    and3(
        and3(lapsed, p.email_opt_in),
        p.lifetime_value.map(|v| v >= 100.0),
    )
}

fn e3_truth(p: &Plain, now: i64) -> Option<bool> {
    let country = p
        .country
        .as_deref()
        .map(|c| matches!(c, "US" | "CA" | "GB"));
    let cart = p.cart_items.map(|n| n > 0);
    let value = p.lifetime_value.map(|v| v > 50.0);
    let vip = p.user_segment.as_deref().map(|s| s == "vip");
    let recent = p
        .last_login
        .and_then(|t| days_since(now, t))
        .map(|d| d <= 7);
    or3(and3(and3(country, cart), value), and3(vip, recent))
}

fn e4_truth(p: &Plain, now: i64) -> Option<bool> {
    Some(pricing_views(p, now) >= 3)
}

// ---------------------------------------------------------------------------
// Fixture

struct Fixture {
    now: Timestamp,
    triggers: [Trigger; 4],
    /// E1–E3.
    plains: Vec<Plain>,
    profiles: Vec<Profile>,
    /// E4: profiles with `EVENTS_PER_PROFILE` page views each.
    event_plains: Vec<Plain>,
    event_profiles: Vec<Profile>,
    /// One hand-made profile per trigger for the hot-cache benches.
    singles: [(Plain, Profile); 4],
}

impl Fixture {
    fn new() -> Self {
        let schema = schema();
        let now = Timestamp::parse("2026-11-24T09:00:00Z").unwrap();
        let at = now.as_micros();
        let triggers = [E1, E2, E3, E4].map(|source| Trigger::compile(source, &schema).unwrap());

        let mut rng = Rng(0x6e65_7874_6265_7374);
        let plains: Vec<Plain> = (0..BATCH).map(|_| random_plain(&mut rng, at)).collect();
        let profiles = plains
            .iter()
            .enumerate()
            .map(|(i, p)| to_profile(&schema, i, p))
            .collect();

        let event_plains: Vec<Plain> = (0..EVENT_BATCH)
            .map(|_| {
                let mut p = random_plain(&mut rng, at);
                let pricing_percent = rng.below(6);
                p.page_views = random_page_views(&mut rng, at, EVENTS_PER_PROFILE, pricing_percent);
                p
            })
            .collect();
        let event_profiles = event_plains
            .iter()
            .enumerate()
            .map(|(i, p)| to_profile(&schema, i, p))
            .collect();

        // Each single profile makes its trigger evaluate every operand.
        let base = Plain {
            login_count_30d: Some(3),
            login_count_60d: Some(11),
            user_segment: Some("active".to_owned()),
            last_login: Some(at - 75 * DAY - 3_600_000_000),
            email_opt_in: Some(true),
            lifetime_value: Some(250.0),
            country: Some("US".to_owned()),
            cart_items: Some(2),
            page_views: Vec::new(),
        };
        let e3_single = Plain {
            // First branch FALSE on its last operand, second branch TRUE.
            user_segment: Some("vip".to_owned()),
            lifetime_value: Some(40.0),
            last_login: Some(at - 3 * DAY),
            ..base.clone()
        };
        let e4_single = Plain {
            page_views: random_page_views(&mut rng, at, EVENTS_PER_PROFILE, 3),
            ..base.clone()
        };
        let singles = [base.clone(), base, e3_single, e4_single].map(|p| {
            let profile = to_profile(&schema, 0, &p);
            (p, profile)
        });

        Fixture {
            now,
            triggers,
            plains,
            profiles,
            event_plains,
            event_profiles,
            singles,
        }
    }

    /// The batch a trigger is measured on.
    fn batch(&self, index: usize) -> (&[Plain], &[Profile]) {
        if index == 3 {
            (&self.event_plains, &self.event_profiles)
        } else {
            (&self.plains, &self.profiles)
        }
    }

    /// Checks every compiled result against the native functions, prints the
    /// mix of truth values, and returns each batch's match count.
    fn verify(&self) -> [usize; 4] {
        let now = self.now;
        let at = now.as_micros();
        let natives: [fn(&Plain, i64) -> bool; 4] = [e1_native, e2_native, e3_native, e4_native];
        let truths: [fn(&Plain, i64) -> Option<bool>; 4] = [e1_truth, e2_truth, e3_truth, e4_truth];
        let mut counts = [0; 4];
        eprintln!("verification (compiled vs native, every profile):");
        for (index, trigger) in self.triggers.iter().enumerate() {
            let (plains, profiles) = self.batch(index);
            let (mut t, mut f, mut u) = (0, 0, 0);
            for (plain, profile) in plains.iter().zip(profiles) {
                let truth = trigger.evaluate(profile, now).unwrap();
                assert_eq!(
                    truth.to_option(),
                    truths[index](plain, at),
                    "E{} on {plain:?}",
                    index + 1
                );
                assert_eq!(
                    trigger.matches(profile, now).unwrap(),
                    natives[index](plain, at)
                );
                match truth {
                    Truth::True => t += 1,
                    Truth::False => f += 1,
                    Truth::Unknown => u += 1,
                }
            }
            for (plain, profile) in &self.singles {
                assert_eq!(
                    trigger.evaluate(profile, now).unwrap().to_option(),
                    truths[index](plain, at)
                );
            }
            assert!(
                natives[index](&self.singles[index].0, at),
                "single profile for E{} must match",
                index + 1
            );
            eprintln!(
                "  E{}: {} profiles: {t} TRUE, {f} FALSE, {u} NULL",
                index + 1,
                plains.len()
            );
            counts[index] = t;
        }
        counts
    }

    /// Heap allocations per evaluation, counted over a whole batch and over
    /// 10 000 evaluations of the single profile, printed to stderr.
    fn report_allocations(&self) {
        let now = self.now;
        let at = now.as_micros();
        let natives: [fn(&Plain, i64) -> bool; 4] = [e1_native, e2_native, e3_native, e4_native];
        let before = allocations();
        black_box(Box::new(black_box(1u64)));
        assert_eq!(
            allocations() - before,
            1,
            "the counting allocator must see a Box"
        );
        eprintln!("heap allocations per evaluation (counting global allocator):");
        for (index, trigger) in self.triggers.iter().enumerate() {
            let (plains, profiles) = self.batch(index);
            let measure = |evaluations: usize, run: &dyn Fn() -> usize| {
                let before = allocations();
                let hits = black_box(run());
                let after = allocations();
                black_box(hits);
                (after - before) as f64 / evaluations as f64
            };
            let compiled_batch = measure(profiles.len(), &|| {
                profiles
                    .iter()
                    .filter(|p| matches!(trigger.matches(black_box(p), now), Ok(true)))
                    .count()
            });
            let evaluate_batch = measure(profiles.len(), &|| {
                profiles
                    .iter()
                    .filter(|p| matches!(trigger.evaluate(black_box(p), now), Ok(Truth::True)))
                    .count()
            });
            let native_batch = measure(plains.len(), &|| {
                plains
                    .iter()
                    .filter(|p| natives[index](black_box(p), at))
                    .count()
            });
            let (plain, profile) = &self.singles[index];
            let compiled_single = measure(10_000, &|| {
                (0..10_000)
                    .filter(|_| matches!(trigger.matches(black_box(profile), now), Ok(true)))
                    .count()
            });
            let native_single = measure(10_000, &|| {
                (0..10_000)
                    .filter(|_| natives[index](black_box(plain), at))
                    .count()
            });
            eprintln!(
                "  E{}: compiled matches {compiled_batch} (batch of {}), evaluate {evaluate_batch}, \
                 single {compiled_single}; native {native_batch} (batch), {native_single} (single)",
                index + 1,
                profiles.len()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Benchmarks

/// One compiled and one native benchmark of a batch pass.
fn batch_pair(
    c: &mut Criterion,
    fixture: &Fixture,
    index: usize,
    expected: usize,
    native: impl Fn(&Plain, i64) -> bool,
) {
    let name = format!("E{}", index + 1);
    let (plains, profiles) = fixture.batch(index);
    let trigger = &fixture.triggers[index];
    let now = fixture.now;
    let mut group = c.benchmark_group("eval/batch");
    group.throughput(Throughput::Elements(profiles.len() as u64));
    group.bench_function(BenchmarkId::new("compiled", &name), |b| {
        b.iter(|| {
            let now = black_box(now);
            let mut hits = 0usize;
            for profile in black_box(profiles) {
                hits += usize::from(matches!(trigger.matches(profile, now), Ok(true)));
            }
            assert_eq!(hits, expected);
            hits
        });
    });
    group.bench_function(BenchmarkId::new("native", &name), |b| {
        b.iter(|| {
            let now = black_box(now).as_micros();
            let mut hits = 0usize;
            for plain in black_box(plains) {
                hits += usize::from(native(plain, now));
            }
            assert_eq!(hits, expected);
            hits
        });
    });
    group.finish();
}

/// One compiled and one native benchmark of a single hot profile.
fn single_pair(
    c: &mut Criterion,
    fixture: &Fixture,
    index: usize,
    native: impl Fn(&Plain, i64) -> bool,
) {
    let name = format!("E{}", index + 1);
    let (plain, profile) = &fixture.singles[index];
    let trigger = &fixture.triggers[index];
    let now = fixture.now;
    let mut group = c.benchmark_group("eval/single");
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("compiled", &name), |b| {
        // The answer as a bool, like the batch loop and the native function:
        // black-boxing the whole `Result<bool, EvalError>` (24 bytes, returned
        // through memory) measured a store-forwarding stall in the harness.
        b.iter(|| {
            matches!(
                trigger.matches(black_box(profile), black_box(now)),
                Ok(true)
            )
        });
    });
    group.bench_function(BenchmarkId::new("native", &name), |b| {
        b.iter(|| native(black_box(plain), black_box(now).as_micros()));
    });
    group.finish();
}

fn main() {
    let fixture = Fixture::new();
    let expected = fixture.verify();
    fixture.report_allocations();

    let mut c = common::criterion();

    // Native functions are passed as fn items (not fn pointers) so that they
    // are inlined into the measured loop, as hand-written code would be.
    batch_pair(&mut c, &fixture, 0, expected[0], e1_native);
    batch_pair(&mut c, &fixture, 1, expected[1], e2_native);
    batch_pair(&mut c, &fixture, 2, expected[2], e3_native);
    batch_pair(&mut c, &fixture, 3, expected[3], e4_native);
    single_pair(&mut c, &fixture, 0, e1_native);
    single_pair(&mut c, &fixture, 1, e2_native);
    single_pair(&mut c, &fixture, 2, e3_native);
    single_pair(&mut c, &fixture, 3, e4_native);

    c.final_summary();
}
