//! Property tests of the compiled evaluator: it must agree with the reference
//! interpreter on every value, for random well-typed expressions over random
//! profiles; three-valued logic must obey its laws; printing and re-parsing a
//! random expression must give the same tree.

use proptest::prelude::*;

use super::reference::{self, Ctx};
use super::{Env, Program};
use crate::check::{self, Context};
use crate::limits::Limits;
use crate::profile::Profile;
use crate::schema::{EventSchema, Schema, Type};
use crate::syntax;
use crate::value::{Timestamp, Truth, Value};

pub(crate) const NOW: i64 = 1_795_000_000_000_000; // 2026-11-18T…Z, in microseconds
pub(super) const DAY: i64 = 86_400_000_000;

pub(crate) fn schema() -> Schema {
    Schema::builder()
        .attribute("i1", Type::Int)
        .attribute("i2", Type::Int)
        .attribute("f1", Type::Float)
        .attribute("f2", Type::Float)
        .attribute("s1", Type::String)
        .attribute("s2", Type::String)
        .attribute("b1", Type::Bool)
        .attribute("b2", Type::Bool)
        .attribute("b3", Type::Bool)
        .attribute("t1", Type::Timestamp)
        .attribute("d1", Type::Duration)
        .attribute("tags", Type::List(Box::new(Type::String)))
        .attribute("nums", Type::List(Box::new(Type::Int)))
        .attribute("zone", Type::String)
        .event(
            "purchase",
            EventSchema::new()
                .property("amount", Type::Float)
                .property("qty", Type::Int)
                .property("sku", Type::String),
        )
        .event(
            "visit",
            EventSchema::new()
                .property("path", Type::String)
                .property("ms", Type::Duration),
        )
        .build()
        .unwrap()
}

/// A small deterministic generator (xorshift), seeded by proptest.
pub(crate) struct Gen(pub(crate) u64);

impl Gen {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum T {
    B,
    I,
    F,
    S,
    Ts,
    D,
    Ls,
    Li,
}

/// Which event's properties bare names may refer to.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Scope {
    Profile,
    Purchase,
    Visit,
}

fn leaf(g: &mut Gen, t: T, scope: Scope) -> String {
    let scoped: &[&str] = match (t, scope) {
        (T::I, Scope::Purchase) => &["qty"],
        (T::F, Scope::Purchase) => &["amount"],
        (T::S, Scope::Purchase) => &["sku"],
        (T::S, Scope::Visit) => &["path"],
        (T::D, Scope::Visit) => &["ms"],
        (T::Ts, Scope::Purchase | Scope::Visit) => &["timestamp"],
        _ => &[],
    };
    if !scoped.is_empty() && g.chance(50) {
        return g.pick(scoped).to_owned();
    }
    let options: &[&str] = match t {
        T::B => &["b1", "b2", "b3", "TRUE", "FALSE", "NULL"],
        T::I => &[
            "i1",
            "i2",
            "0",
            "1",
            "3",
            "-2",
            "9223372036854775807",
            "NULL",
        ],
        T::F => &["f1", "f2", "0.5", "2.0", "0.0", "1e300", "NULL"],
        T::S => &["s1", "s2", "'a'", "'B'", "''", "'ab'", "'é'", "NULL"],
        // No bare NULL here: `NULL + 7d` could be a timestamp or a duration.
        T::Ts => &[
            "t1",
            "now()",
            "@2026-11-15T00:00:00Z",
            "@2026-11-18T06:00:00+02:00",
        ],
        T::D => &["d1", "1d", "7d", "0s", "90m"],
        T::Ls => &["tags", "['a', 'b']", "['a', NULL]", "[]"],
        T::Li => &["nums", "[1, 2, 3]", "[0, NULL]"],
    };
    g.pick(options).to_owned()
}

fn cmp(g: &mut Gen) -> &'static str {
    g.pick(&["=", "!=", "<", "<=", ">", ">="])
}

fn window(g: &mut Gen, depth: u32, scope: Scope) -> String {
    match g.below(3) {
        0 => String::new(),
        1 => format!(" WITHIN {}", expr(g, T::D, depth, scope)),
        _ => format!(" SINCE {}", expr(g, T::Ts, depth, scope)),
    }
}

fn filter(g: &mut Gen, depth: u32, event: Scope) -> String {
    if g.chance(40) {
        String::new()
    } else {
        format!(" WHERE {}", expr(g, T::B, depth, event))
    }
}

fn aggregate_tail(g: &mut Gen, depth: u32, scope: Scope, event: Scope) -> String {
    let f = filter(g, depth, event);
    format!("{f}{})", window(g, depth, scope))
}

/// A random well-typed expression of type `t`.
pub(crate) fn expr(g: &mut Gen, t: T, depth: u32, scope: Scope) -> String {
    if depth == 0 || g.chance(25) {
        return leaf(g, t, scope);
    }
    let d = depth - 1;
    let sub = |g: &mut Gen, t: T| expr(g, t, d, scope);
    match t {
        T::B => match g.below(19) {
            0 => format!("({} AND {})", sub(g, T::B), sub(g, T::B)),
            1 => format!("({} OR {})", sub(g, T::B), sub(g, T::B)),
            17 | 18 => {
                // Flat chains of three to five operands.
                let keyword = if g.chance(50) { " AND " } else { " OR " };
                let operands: Vec<String> = (0..3 + g.below(3))
                    .map(|_| format!("({})", sub(g, T::B)))
                    .collect();
                format!("({})", operands.join(keyword))
            }
            2 => format!("NOT {}", sub(g, T::B)),
            3 => format!("{} {} {}", sub(g, T::I), cmp(g), sub(g, T::I)),
            4 => format!("{} {} {}", sub(g, T::F), cmp(g), sub(g, T::I)),
            5 => format!("{} {} {}", sub(g, T::S), cmp(g), sub(g, T::S)),
            6 => format!("{} {} {}", sub(g, T::Ts), cmp(g), sub(g, T::Ts)),
            7 => format!("{} {} {}", sub(g, T::D), cmp(g), sub(g, T::D)),
            8 => format!(
                "{} IS {}NULL",
                sub(g, T::S),
                if g.chance(50) { "NOT " } else { "" }
            ),
            9 => format!(
                "{} {}IN ({}, {}, {})",
                sub(g, T::I),
                if g.chance(50) { "NOT " } else { "" },
                sub(g, T::I),
                sub(g, T::F),
                sub(g, T::I)
            ),
            10 => format!("{} IN ('a', 'B', {})", sub(g, T::S), sub(g, T::S)),
            11 => format!(
                "{} {}BETWEEN {} AND {}",
                sub(g, T::I),
                if g.chance(50) { "NOT " } else { "" },
                sub(g, T::I),
                sub(g, T::F)
            ),
            12 => {
                let op = g.pick(&["CONTAINS", "STARTS WITH", "ENDS WITH"]);
                format!("{} {op} {}", sub(g, T::S), sub(g, T::S))
            }
            13 => format!("{} CONTAINS {}", sub(g, T::Ls), sub(g, T::S)),
            14 => format!("{} CONTAINS {}", sub(g, T::Li), sub(g, T::F)),
            15 => format!(
                "exists(purchase{}",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
            _ => format!("({}) = ({})", sub(g, T::B), sub(g, T::B)),
        },
        T::I => match g.below(16) {
            0 => format!("({} + {})", sub(g, T::I), sub(g, T::I)),
            1 => format!("({} - {})", sub(g, T::I), sub(g, T::I)),
            2 => format!("({} * {})", sub(g, T::I), sub(g, T::I)),
            3 => format!("({} % {})", sub(g, T::I), sub(g, T::I)),
            4 => format!("-{}", sub(g, T::I)),
            5 => format!("abs({})", sub(g, T::I)),
            6 => format!("length({})", sub(g, T::S)),
            7 => format!("length({})", sub(g, T::Ls)),
            8 => format!(
                "count(purchase{}",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
            9 => format!("days_since({})", sub(g, T::Ts)),
            10 => format!("hours_since({})", sub(g, T::Ts)),
            11 => format!("coalesce({}, {})", sub(g, T::I), sub(g, T::I)),
            12 => format!(
                "greatest({}, {}, {})",
                sub(g, T::I),
                sub(g, T::I),
                sub(g, T::I)
            ),
            13 => {
                let f = g.pick(&["sum", "min", "max"]);
                format!(
                    "{f}(purchase.qty{}",
                    aggregate_tail(g, d, scope, Scope::Purchase)
                )
            }
            14 => {
                let f = g.pick(&["hour_of_day", "day_of_week"]);
                let zone = g.pick(&["'Europe/Berlin'", "'America/New_York'", "zone"]);
                format!("{f}({}, {zone})", sub(g, T::Ts))
            }
            _ => format!("bucket({}, 'salt')", sub(g, T::S)),
        },
        T::F => match g.below(11) {
            0 => format!("({} + {})", sub(g, T::F), sub(g, T::F)),
            1 => format!("({} / {})", sub(g, T::I), sub(g, T::I)),
            2 => format!("({} * {})", sub(g, T::F), sub(g, T::I)),
            3 => format!("-{}", sub(g, T::F)),
            4 => format!(
                "{}({})",
                g.pick(&["abs", "round", "floor", "ceil"]),
                sub(g, T::F)
            ),
            5 => format!(
                "round({}, {})",
                sub(g, T::F),
                g.pick(&["0", "1", "2", "-1"])
            ),
            6 => {
                let f = g.pick(&["sum", "avg", "min", "max"]);
                format!(
                    "{f}(purchase.amount{}",
                    aggregate_tail(g, d, scope, Scope::Purchase)
                )
            }
            7 => format!(
                "avg(purchase.qty{}",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
            8 => format!(
                "last(purchase{}.amount",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
            9 => format!("coalesce({}, {})", sub(g, T::F), sub(g, T::I)),
            _ => format!("least({}, {})", sub(g, T::F), sub(g, T::F)),
        },
        T::S => match g.below(5) {
            0 => format!("lower({})", sub(g, T::S)),
            1 => format!("upper({})", sub(g, T::S)),
            2 => format!("coalesce({}, {})", sub(g, T::S), sub(g, T::S)),
            3 => format!(
                "first(purchase{}.sku",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
            _ => format!(
                "max(visit.path{}",
                aggregate_tail(g, d, scope, Scope::Visit)
            ),
        },
        T::Ts => match g.below(4) {
            0 => format!("({} + {})", sub(g, T::Ts), sub(g, T::D)),
            1 => format!("({} - {})", sub(g, T::Ts), sub(g, T::D)),
            2 => format!(
                "last(visit{}.timestamp",
                aggregate_tail(g, d, scope, Scope::Visit)
            ),
            _ => format!(
                "first(purchase{}.timestamp",
                aggregate_tail(g, d, scope, Scope::Purchase)
            ),
        },
        T::D => match g.below(6) {
            0 => format!("({} - {})", sub(g, T::Ts), sub(g, T::Ts)),
            1 => format!("({} + {})", sub(g, T::D), sub(g, T::D)),
            2 => format!("({} * {})", sub(g, T::D), sub(g, T::I)),
            3 => format!("({} * {})", sub(g, T::D), sub(g, T::F)),
            4 => format!("({} / {})", sub(g, T::D), sub(g, T::I)),
            _ => format!("-{}", sub(g, T::D)),
        },
        T::Ls | T::Li => leaf(g, t, scope),
    }
}

pub(crate) fn random_profile(g: &mut Gen, schema: &Schema) -> Profile {
    let mut b = Profile::builder(schema, format!("p-{}", g.below(1000)));
    let null = |g: &mut Gen| g.chance(20);
    if !null(g) {
        b = b.attribute("i1", [0i64, 1, 5, -7, i64::MAX, i64::MIN][g.below(6)]);
    }
    if !null(g) {
        b = b.attribute("i2", (g.below(21) as i64) - 10);
    }
    if !null(g) {
        b = b.attribute("f1", [0.0, 0.5, -2.25, 1e300, 3.0][g.below(5)]);
    }
    if !null(g) {
        b = b.attribute("f2", (g.below(40) as f64) / 4.0 - 5.0);
    }
    for name in ["s1", "s2"] {
        if !null(g) {
            b = b.attribute(name, ["a", "B", "", "ab", "Ab", "é", "ba"][g.below(7)]);
        }
    }
    for name in ["b1", "b2", "b3"] {
        if !null(g) {
            b = b.attribute(name, g.chance(50));
        }
    }
    if !null(g) {
        b = b.attribute(
            "t1",
            Timestamp::from_micros(NOW - (g.below(20) as i64 - 5) * DAY / 2),
        );
    }
    if !null(g) {
        b = b.attribute(
            "d1",
            crate::value::Duration::from_micros((g.below(10) as i64 - 2) * DAY),
        );
    }
    if !null(g) {
        b = b.attribute(
            "tags",
            vec![Value::from("a"), Value::from("c")][..g.below(3)].to_vec(),
        );
    }
    if !null(g) {
        b = b.attribute(
            "nums",
            vec![Value::Int(1), Value::Null, Value::Int(3)][..g.below(4)].to_vec(),
        );
    }
    if !null(g) {
        b = b.attribute(
            "zone",
            ["Europe/Berlin", "Asia/Kolkata", "Nowhere/Else"][g.below(3)],
        );
    }
    for _ in 0..g.below(9) {
        // Times on a half-day grid so that window edges are hit exactly.
        let at = Timestamp::from_micros(NOW - (g.below(24) as i64 - 4) * DAY / 2);
        let amount: Value = if null(g) {
            Value::Null
        } else {
            Value::Float(g.below(40) as f64 * 0.25)
        };
        let qty: Value = if null(g) {
            Value::Null
        } else {
            Value::Int(g.below(5) as i64)
        };
        let sku: Value = if null(g) {
            Value::Null
        } else {
            Value::from(["a", "b", "B"][g.below(3)])
        };
        b = b.event(
            "purchase",
            at,
            [("amount", amount), ("qty", qty), ("sku", sku)],
        );
    }
    for _ in 0..g.below(6) {
        let at = Timestamp::from_micros(NOW - (g.below(30) as i64 - 4) * DAY / 3);
        let path = Value::from(["/pricing", "/home", "/docs"][g.below(3)]);
        let ms = Value::Duration(crate::value::Duration::from_micros(
            g.below(5) as i64 * 1000,
        ));
        b = b.event("visit", at, [("path", path), ("ms", ms)]);
    }
    b.build().unwrap()
}

pub(crate) fn compile(source: &str, schema: &Schema) -> (check::Checked, Program) {
    let ast = syntax::parse(source).unwrap_or_else(|e| panic!("{source}: {e:?}"));
    let checked = check::check(
        &ast,
        schema,
        &Limits::default(),
        Context { journey: true },
        None,
    )
    .unwrap_or_else(|e| panic!("{source}: {e:?}"));
    let program = Program::new(&checked.root);
    (checked, program)
}

pub(super) fn compiled_value(program: &Program, profile: &Profile, entered_at: i64) -> Value {
    let env = Env {
        profile,
        consts: &program.consts,
        now: NOW,
        event: 0,
        entered_at: Some(entered_at),
    };
    program.root.value(&env)
}

pub(super) fn reference_value(
    checked: &check::Checked,
    profile: &Profile,
    entered_at: i64,
) -> Value {
    let ctx = Ctx {
        profile,
        now: NOW,
        event: None,
        entered_at: Some(entered_at),
    };
    reference::eval(&checked.root, &ctx)
}

pub(super) fn truth_of(source: &str, schema: &Schema, profile: &Profile) -> Truth {
    let (_, program) = compile(source, schema);
    program.truth(profile, Timestamp::from_micros(NOW), None)
}

const TYPES: [T; 6] = [T::B, T::I, T::F, T::S, T::Ts, T::D];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn compiled_agrees_with_reference(seed in 1u64.., type_index in 0usize..6, depth in 1u32..5) {
        let schema = schema();
        let mut g = Gen(seed);
        let source = expr(&mut g, TYPES[type_index], depth, Scope::Profile);
        let (checked, program) = compile(&source, &schema);
        for _ in 0..4 {
            let profile = random_profile(&mut g, &schema);
            let entered_at = NOW - g.below(10) as i64 * DAY;
            let fast = compiled_value(&program, &profile, entered_at);
            let slow = reference_value(&checked, &profile, entered_at);
            prop_assert_eq!(&fast, &slow, "{} over {:?}", source, profile);
        }
    }

    #[test]
    fn print_then_parse_gives_the_same_tree(seed in 1u64.., type_index in 0usize..6, depth in 1u32..6) {
        let mut g = Gen(seed);
        let source = expr(&mut g, TYPES[type_index], depth, Scope::Profile);
        let tree = syntax::parse(&source).unwrap();
        let printed = tree.to_string();
        let again = syntax::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e:?}"));
        prop_assert_eq!(tree.dump(), again.dump(), "{} printed as {}", source, printed);
    }

    #[test]
    fn three_valued_logic_laws(seed in 1u64.., depth in 0u32..4) {
        let schema = schema();
        let mut g = Gen(seed);
        let a = expr(&mut g, T::B, depth, Scope::Profile);
        let b = expr(&mut g, T::B, depth, Scope::Profile);
        let c = expr(&mut g, T::B, depth, Scope::Profile);
        let profile = random_profile(&mut g, &schema);
        let t = |s: &str| truth_of(s, &schema, &profile);
        let (ta, tb) = (t(&a), t(&b));
        prop_assert_eq!(t(&format!("({a}) AND ({b})")), ta.and(tb));
        prop_assert_eq!(t(&format!("({a}) OR ({b})")), ta.or(tb));
        prop_assert_eq!(t(&format!("NOT ({a})")), ta.not());
        prop_assert_eq!(t(&format!("({a}) AND ({b})")), t(&format!("({b}) AND ({a})")));
        prop_assert_eq!(t(&format!("NOT (({a}) AND ({b}))")), t(&format!("NOT ({a}) OR NOT ({b})")));
        prop_assert_eq!(t(&format!("NOT (({a}) OR ({b}))")), t(&format!("NOT ({a}) AND NOT ({b})")));
        prop_assert_eq!(
            t(&format!("({a}) OR (({b}) AND ({c}))")),
            t(&format!("(({a}) OR ({b})) AND (({a}) OR ({c}))"))
        );
        prop_assert_eq!(t(&format!("NOT NOT ({a})")), ta);
        prop_assert_eq!(t(&format!("({a}) AND NULL")), ta.and(Truth::Unknown));
        prop_assert_eq!(t(&format!("({a}) OR TRUE")), Truth::True);
        prop_assert_eq!(t(&format!("({a}) AND FALSE")), Truth::False);
        // Excluded middle fails exactly when `a` is unknown.
        prop_assert_eq!(t(&format!("({a}) OR NOT ({a})")) == Truth::True, ta != Truth::Unknown);
    }
}

#[test]
fn windows_are_half_open_at_the_start_and_closed_at_now() {
    let schema = schema();
    let at = |days: i64| Timestamp::from_micros(NOW - days * DAY);
    let profile = Profile::builder(&schema, "w")
        .event("visit", at(7), [("path", "/pricing")])
        .event("visit", at(3), [("path", "/pricing")])
        .event("visit", at(0), [("path", "/pricing")])
        .event("visit", at(-1), [("path", "/pricing")])
        .build()
        .unwrap();
    let value = |source: &str| {
        let (checked, program) = compile(source, &schema);
        let fast = compiled_value(&program, &profile, NOW);
        assert_eq!(fast, reference_value(&checked, &profile, NOW), "{source}");
        fast
    };
    assert_eq!(value("count(visit WITHIN 7d)"), Value::Int(2));
    assert_eq!(
        value("count(visit WHERE path = '/pricing' WITHIN 7d)"),
        Value::Int(2)
    );
    assert_eq!(value("count(visit SINCE now() - 7d)"), Value::Int(3));
    assert_eq!(value("count(visit)"), Value::Int(3));
    assert_eq!(value("last(visit).timestamp = now()"), Value::Bool(true));
    assert_eq!(value("count(visit WITHIN NULL)"), Value::Int(0));
    assert_eq!(value("exists(visit SINCE NULL)"), Value::Bool(false));
}

#[test]
fn float_sums_keep_small_terms_next_to_large_ones() {
    let schema = schema();
    let at = |days: i64| Timestamp::from_micros(NOW - days * DAY);
    let profile = Profile::builder(&schema, "s")
        .event("purchase", at(5), [("amount", 1e20)])
        .event("purchase", at(3), [("amount", 1.0)])
        .event("purchase", at(-1), [("amount", -1e20)])
        .build()
        .unwrap();
    // Plain prefix sums would give (1e20 + 1) - 1e20 = 0 here.
    let (_, program) = compile("sum(purchase.amount WITHIN 4d)", &schema);
    assert_eq!(compiled_value(&program, &profile, NOW), Value::Float(1.0));
    let (_, program) = compile("avg(purchase.amount WITHIN 4d)", &schema);
    assert_eq!(compiled_value(&program, &profile, NOW), Value::Float(1.0));
}

#[test]
fn flat_chains_of_three_or_more_keep_every_operand() {
    // A regression: the two-operand fast path once dropped operands of longer chains.
    let schema = schema();
    let profile = Profile::builder(&schema, "c")
        .attribute("i1", 5)
        .attribute("b1", false)
        .build()
        .unwrap();
    let t = |s: &str| truth_of(s, &schema, &profile);
    assert_eq!(t("i1 > 1 AND b1 AND i1 > 2"), Truth::False);
    assert_eq!(t("b1 OR i1 < 1 OR i1 > 2"), Truth::True);
    assert_eq!(t("i1 > 1 AND i1 > 2 AND i1 > 3 AND i1 > 9"), Truth::False);
    assert_eq!(t("b1 OR b1 OR b1 OR i1 = 5"), Truth::True);
}

#[test]
fn compiled_programs_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Program>();
    shareable::<crate::Trigger>();
}

/// Profiles whose values sit on the edges the fused predicates care about:
/// day and hour boundaries of `days_since`/`hours_since`, ints beyond 2^53
/// next to floats, strings of every length around the 4-, 8- and 16-byte
/// words of a string key, NULLs.
fn edge_profiles(schema: &Schema) -> Vec<Profile> {
    const HOUR: i64 = 3_600_000_000;
    let texts = [
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "abcde",
        "abcdefg",
        "abcdefgh",
        "abcdefghi",
        "abcdefghijklm",
        "abcdefghijklmn",
        "abcdefghijklmN",
        "abcdefghijklmno",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "abcdefghijklmnopqrstuvwxyz",
        "abcdefghijklmnoP",
        "Abcdefghijklmnop",
        "abcdefgH",
        "abcdefghIjklmnopq",
        "aBc",
        "é",
        "éé",
        "active",
        "vip",
    ];
    let times = [
        NOW,
        NOW + 1,
        NOW - 1,
        NOW - DAY,
        NOW - DAY + 1,
        NOW - DAY - 1,
        NOW - 7 * DAY,
        NOW - 7 * DAY - 1,
        NOW - 8 * DAY + 1,
        NOW + DAY,
        NOW + DAY + 1,
        NOW - 3 * HOUR,
        NOW - 3 * HOUR + 1,
        i64::MIN,
        i64::MAX,
        i64::MIN + 1,
        0,
    ];
    let ints = [
        0,
        1,
        -1,
        5,
        (1 << 53) - 1,
        1 << 53,
        (1 << 53) + 1,
        -(1 << 53) - 1,
        i64::MAX,
        i64::MIN,
    ];
    let floats = [
        0.0,
        0.5,
        -0.0,
        9_007_199_254_740_992.0,
        9.223_372_036_854_775e18,
        -1e300,
        5.0,
    ];
    let mut profiles = Vec::new();
    for n in 0..texts.len().max(times.len()).max(ints.len()) * 2 {
        let mut b = Profile::builder(schema, format!("e-{n}"));
        if n % 7 != 3 {
            b = b.attribute("s1", texts[n % texts.len()]);
        }
        if n % 5 != 2 {
            b = b.attribute("s2", texts[(n * 7 + 3) % texts.len()]);
        }
        if n % 6 != 4 {
            b = b.attribute("t1", Timestamp::from_micros(times[n % times.len()]));
        }
        if n % 4 != 1 {
            b = b.attribute("i1", ints[n % ints.len()]);
        }
        if n % 9 != 5 {
            b = b.attribute("i2", ints[(n * 3 + 1) % ints.len()]);
        }
        if n % 8 != 6 {
            b = b.attribute("f1", floats[n % floats.len()]);
        }
        if n % 10 != 7 {
            b = b.attribute("f2", floats[(n * 5 + 2) % floats.len()]);
        }
        if n % 3 != 0 {
            b = b.attribute("b1", n % 2 == 0);
        }
        b = b.event(
            "visit",
            Timestamp::from_micros(NOW - DAY),
            [("path", texts[n % texts.len()])],
        );
        profiles.push(b.build().unwrap());
    }
    profiles
}

#[test]
fn fused_shapes_agree_with_reference_on_edge_values() {
    let schema = schema();
    let mut profiles = edge_profiles(&schema);
    let mut g = Gen(0x5eed);
    profiles.extend((0..200).map(|_| random_profile(&mut g, &schema)));
    let mut sources: Vec<String> = Vec::new();
    for op in ["=", "!=", "<", "<=", ">", ">="] {
        for c in [
            "0",
            "1",
            "-1",
            "7",
            "-7",
            "9223372036854775807",
            "-9223372036854775807",
        ] {
            sources.push(format!("days_since(t1) {op} {c}"));
            sources.push(format!("{c} {op} days_since(t1)"));
            sources.push(format!("hours_since(t1) {op} {c}"));
            sources.push(format!("NOT (days_since(t1) {op} {c})"));
            sources.push(format!("i1 {op} {c}"));
            sources.push(format!("{c} {op} i1"));
            sources.push(format!("NOT (i1 {op} {c})"));
        }
        for c in [
            "0.5",
            "0.0",
            "9007199254740992.0",
            "9007199254740993.0",
            "9.2233720368547758e18",
            "-1e300",
        ] {
            sources.push(format!("i1 {op} {c}"));
            sources.push(format!("{c} {op} i1"));
            sources.push(format!("f1 {op} {c}"));
            sources.push(format!("i1 {op} {c} * i2"));
            sources.push(format!("i1 {op} i2 / {c}"));
            sources.push(format!("NOT (f1 {op} i1)"));
            sources.push(format!("{c} * i2 {op} i1"));
            sources.push(format!("f1 {op} {c} * f2"));
            sources.push(format!("f2 / {c} {op} f1"));
            sources.push(format!("i1 - {c} {op} f1"));
            sources.push(format!("f1 {op} i2 + {c}"));
            sources.push(format!("NOT (i1 {op} {c} * f1)"));
        }
        for c in [
            "''",
            "'a'",
            "'abc'",
            "'abcd'",
            "'abcdefgh'",
            "'abcdefghijklmn'",
            "'abcdefghijklmno'",
            "'abcdefghijklmnop'",
            "'abcdefghijklmnopq'",
            "'é'",
            "'active'",
        ] {
            sources.push(format!("s1 {op} {c}"));
            sources.push(format!("{c} {op} s1"));
            sources.push(format!("NOT (s1 {op} {c})"));
            sources.push(format!("lower(s1) {op} {c}"));
        }
        sources.push(format!("s1 {op} s2"));
        sources.push(format!("i1 {op} i2"));
        sources.push(format!("f1 {op} i1 + 0.5"));
        sources.push(format!("t1 {op} now() - 1d"));
        sources.push(format!("i1 {op} NULL"));
        sources.push(format!("exists(visit WHERE path {op} 'abcdefgh')"));
    }
    sources.extend(
        [
            "s1 IN ('a', 'abcdefgh', 'abcdefghijklmnopq', '')",
            "s1 IN ('abcdefghijklmn', 'abcdefghijklmno', 'abcdefghijklmnop')",
            "s1 NOT IN ('abcdefghijklmn', 'abcdefghijklmnopq', NULL)",
            "s1 IN ('a', NULL)",
            "s1 NOT IN ('a', NULL)",
            "s1 NOT IN ('abc', 'abcdefghijklmnop')",
            "lower(s1) IN ('abc', 'é')",
            "i1 IN (0, 5, 9223372036854775807)",
            "i1 IN (1, NULL)",
            "i1 NOT IN (1, NULL)",
            "i1 NOT IN (-1, 5)",
            "i1 IN (i2, 1, NULL)",
            "f1 IN (0.5, i1)",
            "i1 BETWEEN -1 AND 5",
            "i1 NOT BETWEEN i2 AND 5.5",
            "b1 AND i1 > 0 AND (s1 = 'a' OR s2 = 'ab' OR (f1 > 0.0 AND b1))",
            "NOT (b1 AND i1 > 0) OR NOT (s1 = 'a' OR NULL)",
            "(b1 AND (i1 > 0 AND (s1 IS NULL AND s2 IS NOT NULL))) OR (NOT b1 OR FALSE)",
            "NOT NOT (i1 > 0) AND NOT (NOT b1)",
            "b1 AND TRUE AND NULL",
            "b1 OR FALSE OR NULL",
            "b1 = (i1 > 0)",
            "(days_since(t1) > 7 AND b1) OR (s1 = 'vip' AND days_since(t1) <= 7)",
            "days_since(t1 + 1d) >= 1",
            "days_since(NULL) > 1",
            "days_since(t1) > i1",
            "i1 < 0.6 * i2 AND s1 = 'active'",
            "s1 IS NULL OR t1 IS NULL OR f1 IS NOT NULL",
        ]
        .map(str::to_owned),
    );
    for source in &sources {
        let (checked, program) = compile(source, &schema);
        for profile in &profiles {
            let fast = compiled_value(&program, profile, NOW);
            let slow = reference_value(&checked, profile, NOW);
            assert_eq!(fast, slow, "{source} over {profile:?}");
        }
    }
}
