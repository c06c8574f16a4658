//! Property tests of how numbers compare and add, where ints and floats
//! meet: `IN`, `BETWEEN` and list `CONTAINS` against their expansions, with
//! ints and floats on both sides of 2^53 and at the ends of `i64`, in the
//! compiled evaluator and the reference alike; and `sum`/`avg` with and
//! without `WHERE`, to the bit, over amounts that are hard to add.

use proptest::prelude::*;

use super::tests::{
    DAY, Gen, NOW, Scope, T, compile, compiled_value, expr, reference_value, schema, truth_of,
};
use crate::profile::Profile;
use crate::schema::Schema;
use crate::value::{Timestamp, Truth, Value};

fn reference_truth(source: &str, schema: &Schema, profile: &Profile) -> Truth {
    let (checked, _) = compile(source, schema);
    reference_value(&checked, profile, NOW).truth()
}

#[test]
fn in_and_between_compare_ints_past_2_53_exactly() {
    // Issue 18: `IN` and `BETWEEN` once widened the int to a float first,
    // where `=` and `<=` compare exactly; 2^53 + 1 rounds to 2^53.
    let schema = schema();
    let profile = Profile::builder(&schema, "big")
        .attribute("i1", 9_007_199_254_740_993i64)
        .attribute("f1", 9_007_199_254_740_992.0)
        .build()
        .unwrap();
    for source in [
        "i1 = 9007199254740992.0",
        "i1 IN (9007199254740992.0)",
        "i1 IN (f1, 1)",
        "f1 IN (i1, 1.5)",
        "i1 BETWEEN 9007199254740992.0 AND 9007199254740992.0",
        "i1 BETWEEN f1 AND 9007199254740992",
        "f1 BETWEEN i1 AND 1e300",
        "[9007199254740992.0] CONTAINS i1",
        "[f1] CONTAINS i1",
        "[i1] CONTAINS f1",
    ] {
        assert_eq!(
            truth_of(source, &schema, &profile),
            Truth::False,
            "{source}"
        );
        assert_eq!(
            reference_truth(source, &schema, &profile),
            Truth::False,
            "{source}"
        );
    }
    assert_eq!(truth_of("i1 NOT IN (f1)", &schema, &profile), Truth::True);
    assert_eq!(
        truth_of("i1 NOT BETWEEN f1 AND f1", &schema, &profile),
        Truth::True
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn in_and_between_are_their_expansions(seed in 1u64.., depth in 0u32..3) {
        let schema = schema();
        let mut g = Gen(seed);
        let (x, p, q) = (number(&mut g, depth), number(&mut g, depth), number(&mut g, depth));
        let profile = number_profile(&mut g, &schema);
        let laws = [
            (format!("{x} IN ({p}, {q})"), format!("{x} = {p} OR {x} = {q}")),
            (format!("{x} NOT IN ({p}, {q})"), format!("NOT ({x} = {p} OR {x} = {q})")),
            (format!("{x} BETWEEN {p} AND {q}"), format!("{x} >= {p} AND {x} <= {q}")),
            (format!("{x} NOT BETWEEN {p} AND {q}"), format!("NOT ({x} >= {p} AND {x} <= {q})")),
        ];
        for (short, expansion) in &laws {
            let fast = truth_of(short, &schema, &profile);
            prop_assert_eq!(fast, truth_of(expansion, &schema, &profile), "{} over {:?}", short, profile);
            let slow = reference_truth(short, &schema, &profile);
            prop_assert_eq!(slow, reference_truth(expansion, &schema, &profile), "{} over {:?}", short, profile);
            prop_assert_eq!(fast, slow, "{} over {:?}", short, profile);
        }
    }

    #[test]
    fn list_membership_is_equality_with_each_element(seed in 1u64.., depth in 0u32..3) {
        let schema = schema();
        let mut g = Gen(seed);
        let x = number(&mut g, depth);
        // A list literal unifies its items, so both are of one type here.
        let float = g.chance(50);
        let (p, q) = (number_of(&mut g, float, depth), number_of(&mut g, float, depth));
        let profile = number_profile(&mut g, &schema);
        let short = format!("[{p}, {q}] CONTAINS {x}");
        let expansion = format!("{x} = {p} OR {x} = {q}");
        let fast = truth_of(&short, &schema, &profile);
        prop_assert_eq!(fast, truth_of(&expansion, &schema, &profile), "{} over {:?}", short, profile);
        prop_assert_eq!(fast, reference_truth(&short, &schema, &profile), "{} over {:?}", short, profile);
    }
}

/// Int leaves on the edges of exact conversion to float: either side of
/// 2^53 and the ends of `i64` (the `i1`/`i2` of [`number_profile`] reach
/// `i64::MIN`, which has no literal).
const EDGE_INTS: [&str; 12] = [
    "i1",
    "i2",
    "0",
    "1",
    "9007199254740992",
    "9007199254740993",
    "-9007199254740993",
    "9223372036854775807",
    "-9223372036854775807",
    "sum(purchase.qty)",
    "max(purchase.qty WITHIN 3d)",
    "NULL",
];

/// Float leaves next to those ints: 2^53 and its neighbours, ±2^63, both
/// zeros, and (through `f1`/`f2`) infinities and NaN.
const EDGE_FLOATS: [&str; 14] = [
    "f1",
    "f2",
    "0.0",
    "-0.0",
    "0.5",
    "9007199254740992.0",
    "9007199254740994.0",
    "-9007199254740992.0",
    "9223372036854775808.0",
    "-9223372036854775808.0",
    "1e300",
    "max(purchase.amount)",
    "coalesce(f1, i1)",
    "least(f2, i2)",
];

/// A number of the given type: mostly an edge leaf, sometimes a random
/// expression.
fn number_of(g: &mut Gen, float: bool, depth: u32) -> String {
    match (g.chance(75), float) {
        (true, false) => g.pick(&EDGE_INTS).to_owned(),
        (true, true) => g.pick(&EDGE_FLOATS).to_owned(),
        (false, false) => format!("({})", expr(g, T::I, depth, Scope::Profile)),
        // `* 1.0`: the generator's float expressions include some of int
        // type (`coalesce(NULL, i2)`), which would make a list literal of
        // them a list of ints, or one mixed with float literals a list
        // whose ints are rounded; a float stays as it is.
        (false, true) => format!("(({}) * 1.0)", expr(g, T::F, depth, Scope::Profile)),
    }
}

/// A number of either type.
fn number(g: &mut Gen, depth: u32) -> String {
    let float = g.chance(50);
    number_of(g, float, depth)
}

/// A profile whose numbers sit where an int and a float are easily confused.
fn number_profile(g: &mut Gen, schema: &Schema) -> Profile {
    let ints = [
        Value::Null,
        Value::Int(0),
        Value::Int(-1),
        Value::Int(1 << 53),
        Value::Int((1 << 53) + 1),
        Value::Int(-(1 << 53) - 1),
        Value::Int(i64::MAX),
        Value::Int(i64::MAX - 1),
        Value::Int(i64::MIN),
    ];
    let floats = [
        Value::Null,
        Value::Float(0.0),
        Value::Float(-0.0),
        Value::Float(0.5),
        Value::Float(9_007_199_254_740_992.0),
        Value::Float(9_007_199_254_740_994.0),
        Value::Float(-9_007_199_254_740_992.0),
        Value::Float(9_223_372_036_854_775_808.0),
        Value::Float(-9_223_372_036_854_775_808.0),
        // Large, but three of them cannot overflow a sum: the reference's
        // partial sums would (the exact sums are tested at the ends of the
        // float range in `exact_sum`).
        Value::Float(1e300),
        Value::Float(-1e300),
    ];
    let mut pick = |values: &[Value]| values[g.below(values.len())].clone();
    let mut b = Profile::builder(schema, "n")
        .attribute("i1", pick(&ints))
        .attribute("i2", pick(&ints))
        .attribute("f1", pick(&floats))
        .attribute("f2", pick(&floats));
    for day in 0..3 {
        let at = Timestamp::from_micros(NOW - day * DAY);
        let properties = [("amount", pick(&floats)), ("qty", pick(&ints))];
        b = b.event("purchase", at, properties);
    }
    b.build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// `sum` and `avg` are one algorithm: prefix sums, a scan with `WHERE`,
    /// and the reference's own exact sum give the same bits, for amounts
    /// that cancel, that lie far apart, that are subnormal or not finite.
    #[test]
    fn sums_with_and_without_where_agree(seed in 1u64.., wide in any::<bool>()) {
        let schema = schema();
        let mut g = Gen(seed);
        let profile = adversarial_sums(&mut g, &schema, wide);
        for window in ["", " WITHIN 3d", " SINCE now() - 2d", " WITHIN 100d"] {
            for f in ["sum(purchase.amount", "avg(purchase.amount", "avg(purchase.qty", "sum(purchase.qty"] {
                let plain = format!("{f}{window})");
                let (checked, program) = compile(&plain, &schema);
                let fast = compiled_value(&program, &profile, NOW);
                let slow = reference_value(&checked, &profile, NOW);
                prop_assert!(same_bits(&fast, &slow), "{}: {:?} against {:?} over {:?}", plain, fast, slow, profile);
                for filter in [" WHERE TRUE", " WHERE sku IS NULL OR sku IS NOT NULL"] {
                    let filtered = format!("{f}{filter}{window})");
                    let (_, program) = compile(&filtered, &schema);
                    let scanned = compiled_value(&program, &profile, NOW);
                    prop_assert!(same_bits(&fast, &scanned), "{}: {:?} against {:?} over {:?}", filtered, fast, scanned, profile);
                }
            }
        }
    }
}

/// Equal, and floats to the bit (`0.0` and `-0.0` differ).
fn same_bits(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Purchases whose amounts are hard to add: large and small mixed, exact
/// cancellations, subnormals (a profile holds no infinity or NaN); `wide` spans
/// the whole float range (no prefix sums), else 2^-60 to 2^60 (prefix sums
/// in a scale). Quantities near the ends of `i64`.
fn adversarial_sums(g: &mut Gen, schema: &Schema, wide: bool) -> Profile {
    let mut b = Profile::builder(schema, "sums");
    let mut earlier: Vec<f64> = Vec::new();
    for _ in 0..g.below(12) {
        let at = Timestamp::from_micros(NOW - (g.below(10) as i64) * DAY / 2);
        let amount = match g.below(20) {
            // The negation of an earlier amount: an exact cancellation.
            0..=3 if !earlier.is_empty() => Value::Float(-earlier[g.below(earlier.len())]),
            4 => Value::Null,
            // Not `f64::MAX`: the reference's partial sums could overflow
            // (the exact sums are tested with it in `exact_sum`).
            5 if wide => Value::Float([5e-324, -2.5e-308][g.below(2)]),
            6 => Value::Float([0.0, -0.0, 0.1, 1e20, -1e20, 1.0][g.below(6)]),
            _ => {
                let exponent = if wide {
                    g.below(2000) as i32 - 1070
                } else {
                    g.below(120) as i32 - 60
                };
                let mantissa = (g.next() >> 11) as f64 / (1u64 << 53) as f64;
                let sign = if g.chance(50) { -1.0 } else { 1.0 };
                Value::Float(sign * mantissa * 2f64.powi(exponent))
            }
        };
        if let Value::Float(x) = amount {
            earlier.push(x);
        }
        let qty = [0, 1, -1, i64::MAX, i64::MIN, (1 << 53) + 1, 3][g.below(7)];
        b = b.event(
            "purchase",
            at,
            [("amount", amount), ("qty", Value::Int(qty))],
        );
    }
    b.build().unwrap()
}
