//! Float arithmetic with nextbest's rule, a non-finite result is NULL, in
//! dialects whose own rules differ.
//!
//! DuckDB gives ±infinity on overflow: the result is compared away. PostgreSQL
//! raises an error on overflow *and* on underflow (a non-zero product or
//! quotient that rounds to zero), so its forms decide both before computing,
//! exactly: every test either compares exact values, or rounds a product
//! scaled by a power of two (which rounds as the unscaled one does while both
//! stay normal) far from PostgreSQL's limits. The operands are bound once
//! (`a`, `b`: names the caller gives), and the only case left to the engine,
//! a product whose scaled image rounds to exactly the underflow threshold
//! (one in 2⁵² of the products that land there), raises PostgreSQL's error
//! rather than giving a wrong value.

use super::Dialect;
use crate::check::ir::FloatOp;

/// A float literal that reads back as exactly `x` (shortest round-trip).
pub(super) fn literal(dialect: Dialect, x: f64) -> String {
    format!("CAST('{x:?}' AS {})", double(dialect))
}

/// The dialect's name for a 64-bit float.
pub(super) fn double(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "DOUBLE PRECISION",
        _ => "DOUBLE",
    }
}

fn pow2(dialect: Dialect, e: i32) -> String {
    literal(dialect, 2f64.powi(e))
}

/// `a op b` over bound operands `a` and `b`: NULL when either is NULL, when
/// dividing by zero, or when the result is not finite.
pub(super) fn arith(dialect: Dialect, op: FloatOp, a: &str, b: &str, bind: Bind<'_>) -> String {
    match dialect {
        Dialect::Postgres => postgres(op, a, b, bind),
        _ => {
            let inf = literal(dialect, f64::INFINITY);
            let result = match op {
                FloatOp::Add => format!("{a} + {b}"),
                FloatOp::Sub => format!("{a} - {b}"),
                FloatOp::Mul => format!("{a} * {b}"),
                FloatOp::Div => format!("{a} / NULLIF({b}, 0)"),
            };
            format!("NULLIF(NULLIF({result}, {inf}), -{inf})")
        }
    }
}

/// Binds values once for a body that names them (see `Emitter::bind`).
pub(super) type Bind<'a> = &'a dyn Fn([String; 3], &dyn Fn([String; 3]) -> String) -> String;

/// `x·y − round(x·y)`, exactly (Dekker's product, Veltkamp's split), for
/// bound positive `x` and `y` in [1, 2^360): its sign says on which side of
/// the rounded product the exact one lies.
fn product_error(x: &str, y: &str, bind: Bind<'_>) -> String {
    let d = Dialect::Postgres;
    let splitter = literal(d, 134_217_729.0);
    let high = |v: &str| format!("(({v} * {splitter}) - (({v} * {splitter}) - {v}))");
    bind([high(x), high(y), format!("{x} * {y}")], &|[xh, yh, r]| {
        let (xl, yl) = (format!("({x} - {xh})"), format!("({y} - {yh})"));
        format!("((({xh} * {yh} - {r}) + {xh} * {yl} + {xl} * {yh}) + {xl} * {yl})")
    })
}

fn postgres(op: FloatOp, a: &str, b: &str, bind: Bind<'_>) -> String {
    let p = |e| pow2(Dialect::Postgres, e);
    let zero = literal(Dialect::Postgres, 0.0);
    let half = literal(Dialect::Postgres, 0.5);
    let one = literal(Dialect::Postgres, 1.0);
    match op {
        // |a + b| overflows iff the sum of the halves reaches 2^1023; a
        // negligible operand leaves the other unchanged (and halving it
        // could underflow).
        FloatOp::Add | FloatOp::Sub => {
            let sign = if op == FloatOp::Add { "+" } else { "-" };
            format!(
                "CASE WHEN abs({a}) < {big} AND abs({b}) < {big} THEN {a} {sign} {b} \
                 WHEN abs({a}) < {tiny} THEN {sign}{b} WHEN abs({b}) < {tiny} THEN {a} \
                 WHEN abs({a} * {half} {sign} {b} * {half}) >= {top} THEN NULL \
                 ELSE {a} {sign} {b} END",
                big = p(1022),
                tiny = p(-900),
                top = p(1023),
            )
        }
        // Overflow needs both factors at or above 1/2, underflow both at or
        // below. For overflow, each scaled by 2^-513: the product rounds as
        // the real one does, and stays far from PostgreSQL's limits. For
        // underflow (|ab| ≤ 2^-1075), each factor is scaled into [1, 2^360)
        // by one of three powers of two, and the threshold with them.
        FloatOp::Mul => {
            let scaled = |x: &str| {
                format!(
                    "(CASE WHEN abs({x}) >= {b1} THEN abs({x}) * {k1} WHEN abs({x}) >= {b2} THEN abs({x}) * {k2} \
                     ELSE (abs({x}) * {k3}) * {k3} END)",
                    b1 = p(-360),
                    k1 = p(360),
                    b2 = p(-720),
                    k2 = p(720),
                    k3 = p(537),
                )
            };
            let threshold = |x: &str, shift: i32| {
                format!(
                    "(CASE WHEN abs({x}) >= {b1} THEN {t1} WHEN abs({x}) >= {b2} THEN {t2} ELSE {t3} END)",
                    b1 = p(-360),
                    b2 = p(-720),
                    t1 = p(360 - shift),
                    t2 = p(720 - shift),
                    t3 = p(1074 - shift),
                )
            };
            let t = format!("{} * {}", threshold(a, 538), threshold(b, 537));
            let underflows = bind([scaled(a), scaled(b), t], &|[sa, sb, t]| {
                let product = format!("{sa} * {sb}");
                format!(
                    "CASE WHEN {product} < {t} THEN TRUE WHEN {product} > {t} THEN FALSE \
                     ELSE {} <= 0 END",
                    product_error(&sa, &sb, bind)
                )
            });
            format!(
                "CASE WHEN {a} = 0 OR {b} = 0 THEN {a} * {b} \
                 WHEN abs({a}) >= {half} AND abs({b}) >= {half} THEN \
                 CASE WHEN abs(({a} * {down}) * ({b} * {down})) >= {quarter} THEN NULL ELSE {a} * {b} END \
                 WHEN abs({a}) <= {half} AND abs({b}) <= {half} THEN \
                 CASE WHEN abs({a}) < {tiny} AND abs({b}) < {tiny} THEN {zero} \
                 WHEN {underflows} THEN {zero} ELSE {a} * {b} END \
                 ELSE {a} * {b} END",
                down = p(-513),
                quarter = p(-2),
                tiny = p(-720),
            )
        }
        // Overflow needs |b| < 1, underflow |b| > 1. Overflow is
        // |a/b| ≥ 2^1024 − 2^970: with B = |b|·2^1023, certain when
        // |a|/2 ≥ B, impossible when |a|/2 < B/2, and in between (where
        // B − |a|/2 is exact) when B − |a|/2 ≤ B·2^-54. Underflow is
        // |a/b| ≤ 2^-1075, an exact comparison of two exact scalings.
        FloatOp::Div => format!(
            "CASE WHEN {b} = 0 THEN NULL WHEN {a} = 0 THEN {a} / {b} \
             WHEN abs({b}) < {one} THEN \
             CASE WHEN abs({a}) < {p_1000} THEN {a} / {b} \
             WHEN abs({a}) * {half} >= abs({b}) * {p1023} THEN NULL \
             WHEN abs({a}) * {half} < abs({b}) * {p1022} THEN {a} / {b} \
             WHEN abs({b}) * {p1023} - abs({a}) * {half} <= abs({b}) * {p969} THEN NULL \
             ELSE {a} / {b} END \
             WHEN abs({b}) > {one} AND abs({a}) < {p_40} THEN \
             CASE WHEN abs({a}) * {p1000} <= abs({b}) * {p_75} THEN {zero} ELSE {a} / {b} END \
             ELSE {a} / {b} END",
            p_1000 = p(-1000),
            p1023 = p(1023),
            p1022 = p(1022),
            p969 = p(969),
            p_40 = p(-40),
            p1000 = p(1000),
            p_75 = p(-75),
        ),
    }
}

/// Rust's `f64::round` (half away from zero) of a bound operand `x`:
/// `abs(x) − floor(abs(x))` is exact, so the test of the half is too.
pub(super) fn round(dialect: Dialect, x: &str) -> String {
    let half = literal(dialect, 0.5);
    let rounded = format!(
        "(CASE WHEN abs({x}) - floor(abs({x})) >= {half} THEN ceil(abs({x})) \
         ELSE floor(abs({x})) END) * sign({x})"
    );
    integral_or(dialect, x, rounded)
}

/// Spark's `floor` and `ceil` of a double give a BIGINT, which overflows
/// (an error in ANSI mode) past 2⁶³: a float of magnitude 2⁵² or more is
/// already whole, so it is its own floor, ceiling, rounding and truncation,
/// and only smaller ones go through the BIGINT.
fn integral_or(dialect: Dialect, x: &str, small: String) -> String {
    if dialect == Dialect::Spark {
        format!(
            "CASE WHEN abs({x}) >= {} THEN {x} ELSE {small} END",
            pow2(dialect, 52)
        )
    } else {
        small
    }
}

/// `floor(x)` (or `ceil(x)`) of a bound float `x`, as a float.
pub(super) fn whole(dialect: Dialect, floor: bool, x: &str) -> String {
    let name = if floor { "floor" } else { "ceil" };
    let double = double(dialect);
    integral_or(dialect, x, format!("CAST({name}({x}) AS {double})"))
}

/// `x` truncated toward zero, as a float, for a bound float `x`.
pub(super) fn trunc(dialect: Dialect, x: &str) -> String {
    if dialect == Dialect::Spark {
        // A cast to BIGINT truncates.
        integral_or(dialect, x, format!("CAST(CAST({x} AS BIGINT) AS DOUBLE)"))
    } else {
        format!("trunc({x})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_read_back_exactly() {
        assert_eq!(literal(Dialect::DuckDb, 0.5), "CAST('0.5' AS DOUBLE)");
        assert_eq!(
            literal(Dialect::Postgres, 2f64.powi(-513)),
            format!("CAST('{:?}' AS DOUBLE PRECISION)", 2f64.powi(-513))
        );
        let text = format!("{:?}", 2f64.powi(969));
        assert_eq!(text.parse::<f64>().ok(), Some(2f64.powi(969)));
    }
}
