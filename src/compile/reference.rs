//! A plain tree-walking interpreter over the typed IR: the executable
//! specification the compiled evaluator is tested against. It favours
//! obviousness over speed: generic [`Value`]s everywhere, every aggregate a
//! linear scan of the whole history, float sums by a method of their own.

use std::cmp::Ordering;

use chrono::{Datelike, Timelike};

use super::scalar::cmp_int_float;
use crate::check::ir::*;
use crate::profile::Profile;
use crate::syntax::{AggregateFn, TextOp};
use crate::value::{Duration, Timestamp, Truth, Value};

pub(crate) struct Ctx<'a> {
    pub profile: &'a Profile,
    pub now: i64,
    pub event: Option<(usize, usize)>,
    pub entered_at: Option<i64>,
}

fn micros(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Timestamp(t) => Some(t.as_micros()),
        Value::Duration(d) => Some(d.as_micros()),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn truth(v: &Value) -> Truth {
    v.truth()
}

fn from_truth(t: Truth) -> Value {
    t.to_option().into()
}

fn finite(x: f64) -> Value {
    if x.is_finite() {
        Value::Float(x)
    } else {
        Value::Null
    }
}

fn order(kind: Compare, a: &Value, b: &Value) -> Option<Ordering> {
    match (kind, a, b) {
        (_, Value::Null, _) | (_, _, Value::Null) | (Compare::Null, _, _) => None,
        (Compare::Int, _, _) => Some(micros(a)?.cmp(&micros(b)?)),
        (Compare::Float, Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Compare::IntFloat, Value::Int(i), Value::Float(x)) => cmp_int_float(*i, *x),
        (Compare::FloatInt, Value::Float(x), Value::Int(i)) => {
            cmp_int_float(*i, *x).map(Ordering::reverse)
        }
        (Compare::Str, Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Compare::Bool, Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn retype(i: i64, ty: &crate::schema::Type) -> Value {
    match ty {
        crate::schema::Type::Timestamp => Value::Timestamp(Timestamp::from_micros(i)),
        crate::schema::Type::Duration => Value::Duration(Duration::from_micros(i)),
        _ => Value::Int(i),
    }
}

pub(crate) fn eval(node: &Node, ctx: &Ctx<'_>) -> Value {
    match &node.kind {
        NodeKind::Const(v) => v.clone(),
        NodeKind::Attribute(slot) => ctx.profile.attribute_slot(*slot).clone(),
        NodeKind::Property { event, slot } => match ctx.event {
            Some((e, i)) if e == *event => ctx
                .profile
                .events_of(e)
                .and_then(|c| c.properties.get(*slot)?.get(i).cloned())
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
        NodeKind::EventTime(event) => match ctx.event {
            Some((e, i)) if e == *event => ctx
                .profile
                .events_of(e)
                .and_then(|c| c.timestamps.get(i).copied())
                .map_or(Value::Null, |t| Value::Timestamp(Timestamp::from_micros(t))),
            _ => Value::Null,
        },
        NodeKind::ProfileId => Value::from(ctx.profile.id()),
        NodeKind::Now => Value::Timestamp(Timestamp::from_micros(ctx.now)),
        NodeKind::JourneyEnteredAt => ctx.entered_at.map(Timestamp::from_micros).into(),
        #[allow(clippy::cast_precision_loss)]
        NodeKind::ToFloat(inner) => match eval(inner, ctx) {
            Value::Int(i) => Value::Float(i as f64),
            _ => Value::Null,
        },
        NodeKind::Not(inner) => from_truth(truth(&eval(inner, ctx)).not()),
        NodeKind::And(items) => from_truth(
            items
                .iter()
                .fold(Truth::True, |acc, i| acc.and(truth(&eval(i, ctx)))),
        ),
        NodeKind::Or(items) => from_truth(
            items
                .iter()
                .fold(Truth::False, |acc, i| acc.or(truth(&eval(i, ctx)))),
        ),
        NodeKind::Neg(inner) => match eval(inner, ctx) {
            Value::Int(i) => i.checked_neg().into(),
            Value::Float(x) => Value::Float(-x),
            Value::Duration(d) => d
                .as_micros()
                .checked_neg()
                .map(Duration::from_micros)
                .into(),
            _ => Value::Null,
        },
        NodeKind::Arith(op, lhs, rhs) => arith(*op, &eval(lhs, ctx), &eval(rhs, ctx), &node.ty),
        NodeKind::Compare(op, kind, lhs, rhs) => {
            let ordering = order(*kind, &eval(lhs, ctx), &eval(rhs, ctx));
            ordering.map(|o| op.holds(o)).into()
        }
        NodeKind::IsNull(inner) => Value::Bool(eval(inner, ctx).is_null()),
        NodeKind::In(value, items) => {
            let value = eval(value, ctx);
            let equal = items.iter().map(|(kind, i)| {
                Truth::from_option(
                    order(*kind, &value, &eval(i, ctx)).map(|o| o == Ordering::Equal),
                )
            });
            from_truth(equal.fold(Truth::False, Truth::or))
        }
        NodeKind::Between(value, (low_kind, low), (high_kind, high)) => {
            let value = eval(value, ctx);
            let above = Truth::from_option(
                order(*low_kind, &value, &eval(low, ctx)).map(|o| o != Ordering::Less),
            );
            let below = Truth::from_option(
                order(*high_kind, &value, &eval(high, ctx)).map(|o| o != Ordering::Greater),
            );
            from_truth(above.and(below))
        }
        NodeKind::Text(op, lhs, rhs) => match (eval(lhs, ctx), eval(rhs, ctx)) {
            (Value::String(s), Value::String(t)) => Value::Bool(match op {
                TextOp::Contains => s.contains(&*t),
                TextOp::StartsWith => s.starts_with(&*t),
                TextOp::EndsWith => s.ends_with(&*t),
            }),
            _ => Value::Null,
        },
        NodeKind::ListContains(kind, list, item) => match (eval(list, ctx), eval(item, ctx)) {
            (Value::List(items), _) if items.is_empty() => Value::Bool(false),
            (Value::List(items), item) => {
                let equal = items.iter().map(|e| {
                    Truth::from_option(order(*kind, e, &item).map(|o| o == Ordering::Equal))
                });
                from_truth(equal.fold(Truth::False, Truth::or))
            }
            _ => Value::Null,
        },
        NodeKind::List(items) => Value::List(items.iter().map(|i| eval(i, ctx)).collect()),
        NodeKind::Call(function, args) => call(function, args, ctx, &node.ty),
        NodeKind::Aggregate(aggregate) => aggregate_value(aggregate, ctx, &node.ty),
        NodeKind::EventField(aggregate, field) => {
            let Some(index) = found(aggregate, ctx) else {
                return Value::Null;
            };
            let Some(columns) = ctx.profile.events_of(aggregate.event) else {
                return Value::Null;
            };
            match field {
                EventField::Timestamp => columns.timestamps.get(index).map_or(Value::Null, |t| {
                    Value::Timestamp(Timestamp::from_micros(*t))
                }),
                EventField::Property(slot) => columns
                    .properties
                    .get(*slot)
                    .and_then(|c| c.get(index).cloned())
                    .unwrap_or(Value::Null),
            }
        }
    }
}

#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn arith(op: Arith, a: &Value, b: &Value, ty: &crate::schema::Type) -> Value {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    match op {
        Arith::Int(op) => {
            let (Some(x), Some(y)) = (micros(a), micros(b)) else {
                return Value::Null;
            };
            let result = match op {
                IntOp::Add => x.checked_add(y),
                IntOp::Sub => x.checked_sub(y),
                IntOp::Mul => x.checked_mul(y),
                IntOp::Rem => (y != 0).then(|| x.wrapping_rem(y)),
            };
            result.map_or(Value::Null, |i| retype(i, ty))
        }
        Arith::Float(op) => {
            let (Some(x), Some(y)) = (float(a), float(b)) else {
                return Value::Null;
            };
            match op {
                FloatOp::Add => finite(x + y),
                FloatOp::Sub => finite(x - y),
                FloatOp::Mul => finite(x * y),
                FloatOp::Div if y == 0.0 => Value::Null,
                FloatOp::Div => finite(x / y),
            }
        }
        Arith::ScaleDuration(op) => {
            let (Some(d), Some(f)) = (micros(a), float(b)) else {
                return Value::Null;
            };
            let scaled = match op {
                ScaleOp::Mul => (d as f64 * f).round(),
                ScaleOp::Div if f == 0.0 => return Value::Null,
                ScaleOp::Div => (d as f64 / f).round(),
            };
            if scaled.is_finite() && scaled.abs() <= 9.223_372_036_854_775e18 {
                Value::Duration(Duration::from_micros(scaled as i64))
            } else {
                Value::Null
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn call(function: &Function, args: &[Node], ctx: &Ctx<'_>, ty: &crate::schema::Type) -> Value {
    let values: Vec<Value> = args.iter().map(|a| eval(a, ctx)).collect();
    let first = values.first().cloned().unwrap_or(Value::Null);
    let second = values.get(1).cloned().unwrap_or(Value::Null);
    match (function, &first) {
        (Function::Coalesce, _) => values
            .into_iter()
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        (Function::Extreme(kind, greatest), _) => {
            let mut best: Option<Value> = None;
            for v in values.into_iter().filter(|v| !v.is_null()) {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let o = order(*kind, &v, &b);
                        let better = if *greatest {
                            o == Some(Ordering::Greater)
                        } else {
                            o == Some(Ordering::Less)
                        };
                        if better { v } else { b }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        (Function::Bucket, key) => match (key, &second) {
            (Value::String(k), Value::String(s)) => Value::Int(crate::hash::bucket(k, s)),
            (Value::Int(k), Value::String(s)) => Value::Int(crate::hash::bucket(&k.to_string(), s)),
            _ => Value::Null,
        },
        (_, Value::Null) => Value::Null,
        (Function::Lower, Value::String(s)) => Value::from(s.to_lowercase()),
        (Function::Upper, Value::String(s)) => Value::from(s.to_uppercase()),
        (Function::LengthString, Value::String(s)) => Value::Int(s.chars().count() as i64),
        (Function::LengthList, Value::List(l)) => Value::Int(l.len() as i64),
        (Function::AbsInt, Value::Int(i)) => i.checked_abs().into(),
        (Function::AbsFloat, Value::Float(x)) => Value::Float(x.abs()),
        (Function::Round, Value::Float(x)) => Value::Float(x.round()),
        (Function::Floor, Value::Float(x)) => Value::Float(x.floor()),
        (Function::Ceil, Value::Float(x)) => Value::Float(x.ceil()),
        (Function::RoundDigits, Value::Float(x)) => match second {
            Value::Int(d) => super::functions::round_digits(*x, d).into(),
            _ => Value::Null,
        },
        (Function::DaysSince, Value::Timestamp(t)) => ctx
            .now
            .checked_sub(t.as_micros())
            .map(|d| d.div_euclid(86_400_000_000))
            .into(),
        (Function::HoursSince, Value::Timestamp(t)) => ctx
            .now
            .checked_sub(t.as_micros())
            .map(|d| d.div_euclid(3_600_000_000))
            .into(),
        (Function::Local(part, _), Value::Timestamp(t)) => {
            let Value::String(zone) = &second else {
                return Value::Null;
            };
            let Ok(zone) = zone.parse::<chrono_tz::Tz>() else {
                return Value::Null;
            };
            let Some(local) = t.to_datetime().map(|d| d.with_timezone(&zone)) else {
                return Value::Null;
            };
            Value::Int(i64::from(match part {
                LocalPart::HourOfDay => local.hour(),
                LocalPart::DayOfWeek => local.weekday().number_from_monday(),
            }))
        }
        _ => {
            let _ = ty;
            Value::Null
        }
    }
}

/// Indices of the events an aggregate sees, oldest first: `None` when a
/// window bound is NULL.
fn selected(aggregate: &AggregateNode, ctx: &Ctx<'_>) -> Option<Vec<usize>> {
    let columns = ctx.profile.events_of(aggregate.event)?;
    // A NULL bound admits no event.
    let (from, inclusive) = match &aggregate.window {
        WindowNode::All => (i64::MIN, true),
        WindowNode::Within(d) => match micros(&eval(d, ctx)) {
            Some(d) => (ctx.now.saturating_sub(d), false),
            None => return Some(Vec::new()),
        },
        WindowNode::Since(t) => match micros(&eval(t, ctx)) {
            Some(t) => (t, true),
            None => return Some(Vec::new()),
        },
    };
    let mut indices = Vec::new();
    for (i, t) in columns.timestamps.iter().enumerate() {
        let after_start = if inclusive { *t >= from } else { *t > from };
        if !(after_start && *t <= ctx.now) {
            continue;
        }
        let keep = match &aggregate.filter {
            None => true,
            Some(filter) => {
                let inner = Ctx {
                    event: Some((aggregate.event, i)),
                    ..*ctx
                };
                truth(&eval(filter, &inner)).is_true()
            }
        };
        if keep {
            indices.push(i);
        }
    }
    Some(indices)
}

fn found(aggregate: &AggregateNode, ctx: &Ctx<'_>) -> Option<usize> {
    let indices = selected(aggregate, ctx)?;
    if aggregate.function == AggregateFn::Last {
        indices.last().copied()
    } else {
        indices.first().copied()
    }
}

/// The exact sum of finite floats rounded once (Shewchuk's algorithm, as
/// Python's `math.fsum`): written apart from the compiled evaluator's
/// fixed-point sums, so that the tests compare two exact methods. `None`
/// when a value or the sum is not finite, or a partial sum overflows.
fn exact_sum(values: impl Iterator<Item = f64>) -> Option<f64> {
    // Non-overlapping partials, smallest first, that add up to the exact sum.
    let mut partials: Vec<f64> = Vec::new();
    for mut x in values {
        let mut next = Vec::with_capacity(partials.len() + 1);
        for mut y in partials {
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                next.push(lo);
            }
            x = hi;
        }
        if !x.is_finite() {
            return None;
        }
        next.push(x);
        partials = next;
    }
    // Add them from the largest down until the rest cannot change the
    // result, then settle a half-way case by the sign of what is left.
    let mut rest = partials.into_iter().rev();
    let mut hi = rest.next().unwrap_or(0.0);
    while let Some(y) = rest.next() {
        let x = hi;
        hi = x + y;
        let lo = y - (hi - x);
        if lo != 0.0 {
            let beyond = rest.next().unwrap_or(0.0);
            if (lo < 0.0 && beyond < 0.0) || (lo > 0.0 && beyond > 0.0) {
                let twice = lo * 2.0;
                let rounded = hi + twice;
                if twice == rounded - hi {
                    hi = rounded;
                }
            }
            break;
        }
    }
    // An exact zero is `+0.0`, as the compiled evaluator gives it.
    Some(hi + 0.0)
}

#[allow(clippy::cast_precision_loss)]
fn aggregate_value(aggregate: &AggregateNode, ctx: &Ctx<'_>, ty: &crate::schema::Type) -> Value {
    let Some(indices) = selected(aggregate, ctx) else {
        return Value::Null;
    };
    let values: Vec<Value> = match (aggregate.property, ctx.profile.events_of(aggregate.event)) {
        (Some(slot), Some(columns)) => indices
            .iter()
            .filter_map(|i| columns.properties.get(slot)?.get(*i).cloned())
            .filter(|v| !v.is_null())
            .collect(),
        _ => Vec::new(),
    };
    match aggregate.function {
        AggregateFn::Count => Value::Int(indices.len() as i64),
        AggregateFn::Exists => Value::Bool(!indices.is_empty()),
        AggregateFn::Sum if *ty == crate::schema::Type::Int => {
            let total: i128 = values.iter().filter_map(micros).map(i128::from).sum();
            i64::try_from(total).ok().into()
        }
        AggregateFn::Sum => exact_sum(values.iter().filter_map(float)).into(),
        AggregateFn::Avg => {
            // Ints add exactly in 128 bits, floats by `exact_sum`.
            let ints: Option<i128> = values
                .iter()
                .map(|v| match v {
                    Value::Int(i) => Some(i128::from(*i)),
                    _ => None,
                })
                .sum();
            let sum = match ints {
                Some(total) => Some(total as f64),
                None => exact_sum(values.iter().filter_map(float)),
            };
            match sum {
                Some(sum) if !values.is_empty() => finite(sum / values.len() as f64),
                _ => Value::Null,
            }
        }
        AggregateFn::Min | AggregateFn::Max => {
            let kind = match ty {
                crate::schema::Type::Float => Compare::Float,
                crate::schema::Type::String => Compare::Str,
                _ => Compare::Int,
            };
            let max = aggregate.function == AggregateFn::Max;
            values
                .into_iter()
                .reduce(|best, v| {
                    let o = order(kind, &v, &best);
                    let better = if max {
                        o == Some(Ordering::Greater)
                    } else {
                        o == Some(Ordering::Less)
                    };
                    if better { v } else { best }
                })
                .unwrap_or(Value::Null)
        }
        AggregateFn::Last | AggregateFn::First => Value::Null,
    }
}
