//! Compilation of built-in function calls.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;

use super::scalar::finite;
use super::*;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Whole units elapsed from `then` to `now`, rounded down.
fn elapsed(now: i64, then: i64, unit: i64) -> Option<i64> {
    Some(now.checked_sub(then)?.div_euclid(unit))
}

/// The unit of `days_since` (a day) or `hours_since` (an hour), in microseconds.
pub(super) fn unit_of(function: &Function) -> i64 {
    if *function == Function::DaysSince {
        MICROS_PER_DAY
    } else {
        MICROS_PER_HOUR
    }
}

/// The hour (0–23) or ISO weekday (1 = Monday) of an instant in a zone.
fn local_part(part: LocalPart, micros: i64, zone: Tz) -> Option<i64> {
    let local = chrono::DateTime::from_timestamp_micros(micros)?.with_timezone(&zone);
    Some(i64::from(match part {
        LocalPart::HourOfDay => local.hour(),
        LocalPart::DayOfWeek => local.weekday().number_from_monday(),
    }))
}

/// `round(x, digits)`: half away from zero at `digits` decimal places.
pub(crate) fn round_digits(x: f64, digits: i64) -> Option<f64> {
    let digits = i32::try_from(digits.clamp(-308, 308)).ok()?;
    let factor = 10f64.powi(digits);
    let scaled = x * factor;
    if !scaled.is_finite() {
        return Some(x);
    }
    finite(scaled.round() / factor)
}

/// The lowercase form, borrowed when an ASCII text is already lowercase.
fn lowered(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        s
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// The uppercase form, borrowed when an ASCII text is already uppercase.
fn uppered(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_lowercase()) {
        s
    } else {
        Cow::Owned(s.to_uppercase())
    }
}

/// The extreme of some optional values, ignoring NULLs (PostgreSQL's
/// `least`/`greatest`, and `min`/`max` of a float property).
pub(super) fn extreme<T>(
    values: impl Iterator<Item = Option<T>>,
    greatest: bool,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Option<T> {
    values.flatten().reduce(|best, next| {
        let better = match cmp(&next, &best) {
            Ordering::Greater => greatest,
            Ordering::Less => !greatest,
            Ordering::Equal => false,
        };
        if better { next } else { best }
    })
}

/// The order [`extreme`] chooses floats by, as the reference's: a NaN
/// compares as equal to everything, so a NaN met first is kept and one met
/// later is passed over.
pub(super) fn float_order(a: &f64, b: &f64) -> Ordering {
    a.partial_cmp(b).unwrap_or(Ordering::Equal)
}

impl Compiler {
    pub(super) fn int_call(&mut self, function: &Function, args: &[Node]) -> IntFn {
        let arg = |i: usize| {
            args.get(i).cloned().unwrap_or(Node {
                kind: NodeKind::Const(Value::Null),
                ty: Type::Null,
            })
        };
        match function {
            Function::LengthString => {
                let s = self.string(&arg(0));
                int_fn(move |env| i64::try_from(s(env)?.chars().count()).ok())
            }
            Function::LengthList => {
                let l = self.list(&arg(0));
                int_fn(move |env| i64::try_from(l(env)?.len()).ok())
            }
            Function::AbsInt => {
                let x = self.int(&arg(0));
                int_fn(move |env| x(env)?.checked_abs())
            }
            Function::DaysSince | Function::HoursSince => {
                let unit = unit_of(function);
                let then = self.int(&arg(0));
                int_fn(move |env| elapsed(env.now, then(env)?, unit))
            }
            Function::Local(part, zone) => {
                let (part, at) = (*part, self.int(&arg(0)));
                match zone {
                    Some(zone) => {
                        let zone = *zone;
                        int_fn(move |env| local_part(part, at(env)?, zone))
                    }
                    None => {
                        let name = self.string(&arg(1));
                        int_fn(move |env| local_part(part, at(env)?, name(env)?.parse().ok()?))
                    }
                }
            }
            Function::Bucket => {
                let key = self.any(&arg(0));
                let salt = self.string(&arg(1));
                int_fn(move |env| {
                    let salt = salt(env)?;
                    match key.value(env) {
                        Value::String(k) => Some(crate::hash::bucket(&k, &salt)),
                        Value::Int(i) => Some(crate::hash::bucket(&i.to_string(), &salt)),
                        _ => None,
                    }
                })
            }
            Function::Coalesce => {
                let items: Vec<IntFn> = args.iter().map(|a| self.int(a)).collect();
                int_fn(move |env| items.iter().find_map(|f| f(env)))
            }
            Function::Extreme(_, greatest) => {
                let greatest = *greatest;
                let items: Vec<IntFn> = args.iter().map(|a| self.int(a)).collect();
                int_fn(move |env| extreme(items.iter().map(|f| f(env)), greatest, i64::cmp))
            }
            _ => int_fn(|_| None),
        }
    }

    pub(super) fn float_call(&mut self, function: &Function, args: &[Node]) -> FloatFn {
        let mut fns: Vec<FloatFn> = args.iter().map(|a| self.float(a)).collect();
        match function {
            Function::AbsFloat | Function::Round | Function::Floor | Function::Ceil => {
                let Some(x) = fns.pop() else {
                    return float_fn(|_| None);
                };
                let op: fn(f64) -> f64 = match function {
                    Function::AbsFloat => f64::abs,
                    Function::Round => f64::round,
                    Function::Floor => f64::floor,
                    _ => f64::ceil,
                };
                float_fn(move |env| x(env).map(op))
            }
            Function::RoundDigits => {
                let x = fns.swap_remove(0);
                let digits = match args.get(1) {
                    Some(d) => self.int(d),
                    None => int_fn(|_| None),
                };
                float_fn(move |env| round_digits(x(env)?, digits(env)?))
            }
            Function::Coalesce => float_fn(move |env| fns.iter().find_map(|f| f(env))),
            Function::Extreme(_, greatest) => {
                let greatest = *greatest;
                float_fn(move |env| extreme(fns.iter().map(|f| f(env)), greatest, float_order))
            }
            _ => float_fn(|_| None),
        }
    }

    pub(super) fn string_call(&mut self, function: &Function, args: &[Node]) -> StrFn {
        let mut fns: Vec<StrFn> = args.iter().map(|a| self.string(a)).collect();
        match function {
            Function::Lower | Function::Upper => {
                let Some(s) = fns.pop() else {
                    return str_fn(|_| None);
                };
                if *function == Function::Lower {
                    str_fn(move |env| s(env).map(lowered))
                } else {
                    str_fn(move |env| s(env).map(uppered))
                }
            }
            Function::Coalesce => str_fn(move |env| fns.iter().find_map(|f| f(env))),
            Function::Extreme(_, greatest) => {
                let greatest = *greatest;
                str_fn(move |env| extreme(fns.iter().map(|f| f(env)), greatest, |a, b| a.cmp(b)))
            }
            _ => str_fn(|_| None),
        }
    }
}
