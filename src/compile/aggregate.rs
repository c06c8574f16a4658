//! Compilation of event aggregates.
//!
//! A window is two binary searches over the event type's sorted timestamps:
//! `(now − d, now]` for `WITHIN d`, `[t, now]` for `SINCE t`, and events after
//! `now` are never seen. Without `WHERE`, `count`, `exists`, `sum`, `avg`,
//! `last` and `first` need nothing more (prefix sums); with `WHERE`, only the
//! events inside the window are tested. Sums are exact either way, so both
//! give the same bits (see [`crate::exact_sum`]).

use std::borrow::Cow;

use super::functions;
use super::pred::float_of;
use super::*;
use crate::exact_sum::Accumulator;
use crate::profile::{EventColumns, PrefixSums};
use crate::syntax::AggregateFn;

type IndexFn = Box<dyn Fn(&Env<'_>) -> Option<usize> + Send + Sync>;
pub(super) type ValueFn = Box<dyn for<'a> Fn(&Env<'a>) -> Option<&'a Value> + Send + Sync>;

fn value_fn(f: impl for<'a> Fn(&Env<'a>) -> Option<&'a Value> + Send + Sync + 'static) -> ValueFn {
    Box::new(f)
}

enum WindowFn {
    All,
    Within(IntFn),
    Since(IntFn),
}

impl WindowFn {
    /// The index range of the events inside the window. A NULL bound admits
    /// no event, as SQL's `ts >= NULL` admits no row: `count` is 0, `exists`
    /// false.
    fn bounds(&self, env: &Env<'_>, timestamps: &[i64]) -> Option<(usize, usize)> {
        let now = env.now;
        let end = timestamps.partition_point(|t| *t <= now);
        let start = match self {
            WindowFn::All => Some(0),
            WindowFn::Within(length) => length(env).map(|length| {
                let from = now.saturating_sub(length);
                timestamps.partition_point(|t| *t <= from)
            }),
            WindowFn::Since(since) => {
                since(env).map(|from| timestamps.partition_point(|t| *t < from))
            }
        };
        let start = start.unwrap_or(end);
        Some((start.min(end), end))
    }
}

/// The `WHERE` condition of an aggregate, fused where it is a plain test of
/// one property against a string constant.
enum Filter {
    None,
    PropertyEquals { slot: usize, key: StrKey },
    Condition(Cond),
}

impl Filter {
    fn matches(&self, env: &Env<'_>, columns: &EventColumns, index: usize) -> bool {
        match self {
            Filter::None => true,
            Filter::PropertyEquals { slot, key } => matches!(
                columns.properties.get(*slot).and_then(|c| c.get(index)),
                Some(Value::String(s)) if key.equals(s)
            ),
            Filter::Condition(condition) => condition.eval(&env.at_event(index)).is_true(),
        }
    }
}

/// An aggregate's event type, window and filter, compiled.
struct Scan {
    event: usize,
    window: WindowFn,
    filter: Filter,
}

impl Scan {
    /// The events of the type and the window's index range.
    fn range<'a>(&self, env: &Env<'a>) -> Option<(&'a EventColumns, usize, usize)> {
        let columns = env.profile.events_of(self.event)?;
        let (start, end) = self.window.bounds(env, &columns.timestamps)?;
        Some((columns, start, end))
    }

    fn count(&self, env: &Env<'_>) -> Option<i64> {
        let (columns, start, end) = self.range(env)?;
        let count = match &self.filter {
            Filter::None => end - start,
            Filter::PropertyEquals { slot, key } => {
                let column = columns.properties.get(*slot)?.get(start..end)?;
                column
                    .iter()
                    .filter(|v| matches!(v, Value::String(s) if key.equals(s)))
                    .count()
            }
            Filter::Condition(_) => (start..end)
                .filter(|i| self.filter.matches(env, columns, *i))
                .count(),
        };
        i64::try_from(count).ok()
    }

    /// The matching events' indices, oldest first.
    fn matching<'e>(
        &'e self,
        env: &'e Env<'_>,
        columns: &'e EventColumns,
        start: usize,
        end: usize,
    ) -> impl DoubleEndedIterator<Item = usize> + 'e {
        (start..end).filter(move |i| self.filter.matches(env, columns, *i))
    }

    /// The matching, non-NULL values of a property.
    fn values<'s, 'a: 's>(
        &'s self,
        env: &'s Env<'a>,
        slot: usize,
    ) -> Option<impl Iterator<Item = &'a Value> + 's> {
        let (columns, start, end) = self.range(env)?;
        let column = columns.properties.get(slot)?;
        Some(
            self.matching(env, columns, start, end)
                .filter_map(move |i| column.get(i))
                .filter(|v| !v.is_null()),
        )
    }
}

impl Compiler {
    fn scan(&mut self, aggregate: &AggregateNode) -> Scan {
        let window = match &aggregate.window {
            WindowNode::All => WindowFn::All,
            WindowNode::Within(length) => WindowFn::Within(self.int(length)),
            WindowNode::Since(since) => WindowFn::Since(self.int(since)),
        };
        let filter = match &aggregate.filter {
            None => Filter::None,
            Some(condition) => match property_equals(condition) {
                Some((slot, value)) => Filter::PropertyEquals {
                    slot,
                    key: StrKey::new(&value),
                },
                None => Filter::Condition(self.boolean(condition).finish()),
            },
        };
        Scan {
            event: aggregate.event,
            window,
            filter,
        }
    }

    /// `exists(…)`.
    pub(super) fn exists(&mut self, aggregate: &AggregateNode) -> BoolFn {
        let scan = self.scan(aggregate);
        bool_fn(move |env| match scan.range(env) {
            Some((columns, start, end)) => {
                Truth::from(scan.matching(env, columns, start, end).next().is_some())
            }
            None => Truth::Unknown,
        })
    }

    /// `count(…)`, and `sum`/`min`/`max` of int-like properties.
    pub(super) fn int_aggregate(&mut self, aggregate: &AggregateNode) -> IntFn {
        let scan = self.scan(aggregate);
        let slot = aggregate.property.unwrap_or(0);
        match aggregate.function {
            AggregateFn::Count => int_fn(move |env| scan.count(env)),
            AggregateFn::Sum => int_fn(move |env| {
                if let (Filter::None, Some((columns, start, end))) = (&scan.filter, scan.range(env))
                    && let Some(Some(PrefixSums::Int { sums, .. })) = columns.prefix.get(slot)
                {
                    let total = sums.get(end)? - sums.get(start)?;
                    return i64::try_from(total).ok();
                }
                let total: i128 = scan
                    .values(env, slot)?
                    .filter_map(as_i64)
                    .map(i128::from)
                    .sum();
                i64::try_from(total).ok()
            }),
            AggregateFn::Min | AggregateFn::Max => {
                let max = aggregate.function == AggregateFn::Max;
                int_fn(move |env| {
                    let values = scan.values(env, slot)?.filter_map(as_i64);
                    if max { values.max() } else { values.min() }
                })
            }
            _ => int_fn(|_| None),
        }
    }

    /// `sum`, `avg`, `min`, `max` over floats, and `avg` over ints.
    pub(super) fn float_aggregate(&mut self, aggregate: &AggregateNode) -> FloatFn {
        let scan = self.scan(aggregate);
        let slot = aggregate.property.unwrap_or(0);
        match aggregate.function {
            AggregateFn::Sum => float_fn(move |env| Some(sum_and_count(&scan, env, slot)?.0)),
            AggregateFn::Avg => float_fn(move |env| {
                let (sum, count) = sum_and_count(&scan, env, slot)?;
                #[allow(clippy::cast_precision_loss)]
                (count > 0)
                    .then(|| sum / count as f64)
                    .and_then(super::scalar::finite)
            }),
            AggregateFn::Min | AggregateFn::Max => {
                let max = aggregate.function == AggregateFn::Max;
                // As `least`/`greatest` choose: the first of equals (`-0.0`
                // and `0.0`) and of incomparables (NaN) is kept, where
                // `f64::max` would choose either.
                float_fn(move |env| {
                    let values = scan.values(env, slot)?.map(float_of);
                    functions::extreme(values, max, functions::float_order)
                })
            }
            _ => float_fn(|_| None),
        }
    }

    /// `min`/`max` of a string property.
    pub(super) fn string_aggregate(&mut self, aggregate: &AggregateNode) -> StrFn {
        let scan = self.scan(aggregate);
        let slot = aggregate.property.unwrap_or(0);
        let max = aggregate.function == AggregateFn::Max;
        str_fn(move |env| {
            let values = scan.values(env, slot)?.filter_map(|v| match v {
                Value::String(s) => Some(&**s),
                _ => None,
            });
            let found = if max { values.max() } else { values.min() };
            found.map(Cow::Borrowed)
        })
    }

    /// The index of the event `last(…)`/`first(…)` finds.
    fn found_event(&mut self, aggregate: &AggregateNode) -> IndexFn {
        let scan = self.scan(aggregate);
        let last = aggregate.function == AggregateFn::Last;
        Box::new(move |env| {
            let (columns, start, end) = scan.range(env)?;
            let mut matching = scan.matching(env, columns, start, end);
            if last {
                matching.next_back()
            } else {
                matching.next()
            }
        })
    }

    /// A property of the event `last(…)`/`first(…)` finds.
    pub(super) fn event_field(&mut self, aggregate: &AggregateNode, slot: usize) -> ValueFn {
        let event = aggregate.event;
        let found = self.found_event(aggregate);
        value_fn(move |env| {
            let index = found(env)?;
            env.profile
                .events_of(event)?
                .properties
                .get(slot)?
                .get(index)
        })
    }

    /// The timestamp of the event `last(…)`/`first(…)` finds.
    pub(super) fn event_timestamp(&mut self, aggregate: &AggregateNode) -> IntFn {
        let event = aggregate.event;
        let found = self.found_event(aggregate);
        int_fn(move |env| {
            let index = found(env)?;
            env.profile.events_of(event)?.timestamps.get(index).copied()
        })
    }
}

/// `property = 'constant'`, the shape of most filters.
fn property_equals(condition: &Node) -> Option<(usize, Box<str>)> {
    let NodeKind::Compare(CmpOp::Eq, Compare::Str, lhs, rhs) = &condition.kind else {
        return None;
    };
    match (&lhs.kind, &rhs.kind) {
        (NodeKind::Property { slot, .. }, NodeKind::Const(Value::String(value)))
        | (NodeKind::Const(Value::String(value)), NodeKind::Property { slot, .. }) => {
            Some((*slot, value.as_ref().into()))
        }
        _ => None,
    }
}

/// The sum (as a float) and count of a numeric property's matching values.
/// The sum is exact, then rounded once (see [`crate::exact_sum`]), so that
/// prefix sums and a scan of the same values give the same bits; `None` when
/// it is not finite.
fn sum_and_count(scan: &Scan, env: &Env<'_>, slot: usize) -> Option<(f64, usize)> {
    let (columns, start, end) = scan.range(env)?;
    let prefix = columns.prefix.get(slot).and_then(Option::as_ref);
    if let (Filter::None, Some(prefix)) = (&scan.filter, prefix) {
        let (sum, counts) = match prefix {
            PrefixSums::Int { sums, counts } => {
                let total = sums.get(end)? - sums.get(start)?;
                #[allow(clippy::cast_precision_loss)]
                (total as f64, counts)
            }
            PrefixSums::Float {
                scale,
                sums,
                counts,
            } => (scale.to_float(sums.get(end)? - sums.get(start)?)?, counts),
        };
        let count = counts.get(end)? - counts.get(start)?;
        return Some((sum, count as usize));
    }
    let values = scan.values(env, slot)?;
    let mut count = 0;
    let sum = match prefix {
        Some(PrefixSums::Int { .. }) => {
            let mut total = 0i128;
            for i in values.filter_map(as_i64) {
                total += i128::from(i);
                count += 1;
            }
            #[allow(clippy::cast_precision_loss)]
            let sum = total as f64;
            sum
        }
        Some(PrefixSums::Float { scale, .. }) => {
            let mut total = 0i128;
            for x in values.filter_map(float_of) {
                total = total.checked_add(scale.units(x)?)?;
                count += 1;
            }
            scale.to_float(total)?
        }
        None => {
            let mut total = Accumulator::default();
            for x in values.filter_map(float_of) {
                total.add(x);
                count += 1;
            }
            total.to_float()?
        }
    };
    Some((sum, count))
}
