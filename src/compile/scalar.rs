//! Compilation of leaves, logic, comparison and arithmetic.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::*;
use crate::syntax::TextOp;

/// Exact comparison of an int with a float (no rounding of the int).
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    #[allow(clippy::cast_possible_truncation)]
    let whole_int = whole as i64;
    Some(
        i.cmp(&whole_int)
            .then_with(|| 0.0.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal)),
    )
}

/// A float result, NULL unless finite.
pub(crate) fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

pub(crate) fn float_op(op: FloatOp, a: f64, b: f64) -> Option<f64> {
    finite(match op {
        FloatOp::Add => a + b,
        FloatOp::Sub => a - b,
        FloatOp::Mul => a * b,
        FloatOp::Div if b == 0.0 => return None,
        FloatOp::Div => a / b,
    })
}

pub(crate) fn int_op(op: IntOp, a: i64, b: i64) -> Option<i64> {
    match op {
        IntOp::Add => a.checked_add(b),
        IntOp::Sub => a.checked_sub(b),
        IntOp::Mul => a.checked_mul(b),
        // `i64::MIN % -1` is 0, which fits: only a zero divisor is NULL.
        IntOp::Rem if b == 0 => None,
        IntOp::Rem => Some(a.wrapping_rem(b)),
    }
}

/// A duration scaled by a float, rounded to the microsecond; NULL when the
/// result does not fit.
pub(crate) fn scale_duration(op: ScaleOp, micros: i64, factor: f64) -> Option<i64> {
    #[allow(clippy::cast_precision_loss)]
    let scaled = match op {
        ScaleOp::Mul => micros as f64 * factor,
        ScaleOp::Div if factor == 0.0 => return None,
        ScaleOp::Div => micros as f64 / factor,
    }
    .round();
    #[allow(clippy::cast_possible_truncation)]
    (-9.223_372_036_854_775e18..=9.223_372_036_854_775e18)
        .contains(&scaled)
        .then_some(scaled as i64)
}

fn truth_of(ordering: Option<Ordering>, op: CmpOp) -> Truth {
    match ordering {
        Some(o) => Truth::from(op.holds(o)),
        None => Truth::Unknown,
    }
}

/// SQL's `IN`: TRUE if any candidate is equal, else UNKNOWN if any comparison
/// was, else FALSE.
fn any_equal(results: impl Iterator<Item = Truth>) -> Truth {
    let mut unknown = false;
    for result in results {
        match result {
            Truth::True => return Truth::True,
            Truth::Unknown => unknown = true,
            Truth::False => {}
        }
    }
    if unknown {
        Truth::Unknown
    } else {
        Truth::False
    }
}

impl Compiler {
    fn const_int(node: &Node) -> Option<Option<i64>> {
        match &node.kind {
            NodeKind::Const(v) => Some(as_i64(v)),
            _ => None,
        }
    }

    fn const_float(node: &Node) -> Option<Option<f64>> {
        match &node.kind {
            NodeKind::Const(Value::Float(x)) => Some(Some(*x)),
            NodeKind::Const(_) => Some(None),
            _ => None,
        }
    }

    fn const_str(node: &Node) -> Option<Option<Box<str>>> {
        match &node.kind {
            NodeKind::Const(Value::String(s)) => Some(Some(s.as_ref().into())),
            NodeKind::Const(_) => Some(None),
            _ => None,
        }
    }

    pub(super) fn boolean(&mut self, node: &Node) -> BoolFn {
        match &node.kind {
            NodeKind::Const(value) => {
                let truth = value.truth();
                bool_fn(move |_| truth)
            }
            NodeKind::Attribute(_) | NodeKind::Property { .. } => {
                let Some(from) = source(node) else {
                    return bool_fn(|_| Truth::Unknown);
                };
                bool_fn(move |env| match read(env, from) {
                    Value::Bool(b) => Truth::from(*b),
                    _ => Truth::Unknown,
                })
            }
            NodeKind::Not(inner) => {
                let inner = self.boolean(inner);
                bool_fn(move |env| inner(env).not())
            }
            NodeKind::And(items) => self.and(items),
            NodeKind::Or(items) => self.or(items),
            NodeKind::Compare(op, kind, lhs, rhs) => self.compare(*op, *kind, lhs, rhs),
            NodeKind::IsNull(inner) => {
                let inner = self.any(inner);
                bool_fn(move |env| Truth::from(inner.is_null(env)))
            }
            NodeKind::In(kind, value, items) => self.in_list(*kind, value, items),
            NodeKind::Between(kind, value, low, high) => self.between(*kind, value, low, high),
            NodeKind::Text(op, lhs, rhs) => self.text(*op, lhs, rhs),
            NodeKind::ListContains(kind, list, item) => self.list_contains(*kind, list, item),
            NodeKind::Aggregate(aggregate) => self.exists(aggregate),
            NodeKind::Call(Function::Coalesce, items) => {
                let items: Vec<BoolFn> = items.iter().map(|i| self.boolean(i)).collect();
                bool_fn(move |env| {
                    items
                        .iter()
                        .map(|f| f(env))
                        .find(|t| *t != Truth::Unknown)
                        .unwrap_or(Truth::Unknown)
                })
            }
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                bool_fn(move |env| match read(env) {
                    Some(Value::Bool(b)) => Truth::from(*b),
                    _ => Truth::Unknown,
                })
            }
            _ => bool_fn(|_| Truth::Unknown),
        }
    }

    fn and(&mut self, items: &[Node]) -> BoolFn {
        let mut fns: Vec<BoolFn> = items.iter().map(|i| self.boolean(i)).collect();
        // Checked before popping: with more operands nothing may be lost.
        if fns.len() == 2 {
            if let (Some(b), Some(a)) = (fns.pop(), fns.pop()) {
                return bool_fn(move |env| {
                    let left = a(env);
                    if left == Truth::False {
                        return Truth::False;
                    }
                    left.and(b(env))
                });
            }
        }
        bool_fn(move |env| {
            let mut result = Truth::True;
            for f in &fns {
                match f(env) {
                    Truth::False => return Truth::False,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::True => {}
                }
            }
            result
        })
    }

    fn or(&mut self, items: &[Node]) -> BoolFn {
        let mut fns: Vec<BoolFn> = items.iter().map(|i| self.boolean(i)).collect();
        // Checked before popping: with more operands nothing may be lost.
        if fns.len() == 2 {
            if let (Some(b), Some(a)) = (fns.pop(), fns.pop()) {
                return bool_fn(move |env| {
                    let left = a(env);
                    if left == Truth::True {
                        return Truth::True;
                    }
                    left.or(b(env))
                });
            }
        }
        bool_fn(move |env| {
            let mut result = Truth::False;
            for f in &fns {
                match f(env) {
                    Truth::True => return Truth::True,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::False => {}
                }
            }
            result
        })
    }

    fn compare(&mut self, op: CmpOp, kind: Compare, lhs: &Node, rhs: &Node) -> BoolFn {
        match kind {
            Compare::Null => bool_fn(|_| Truth::Unknown),
            Compare::Int => self.compare_int(op, lhs, rhs),
            Compare::Float => {
                let (a, b) = (self.float(lhs), self.float(rhs));
                bool_fn(move |env| match (a(env), b(env)) {
                    (Some(x), Some(y)) => truth_of(x.partial_cmp(&y), op),
                    _ => Truth::Unknown,
                })
            }
            Compare::IntFloat => {
                let b = self.float(rhs);
                if let Some(from) = source(lhs) {
                    return bool_fn(move |env| match (as_i64(read(env, from)), b(env)) {
                        (Some(i), Some(x)) => truth_of(cmp_int_float(i, x), op),
                        _ => Truth::Unknown,
                    });
                }
                let a = self.int(lhs);
                bool_fn(move |env| match (a(env), b(env)) {
                    (Some(i), Some(x)) => truth_of(cmp_int_float(i, x), op),
                    _ => Truth::Unknown,
                })
            }
            Compare::FloatInt => {
                let (a, b) = (self.float(lhs), self.int(rhs));
                bool_fn(move |env| match (a(env), b(env)) {
                    (Some(x), Some(i)) => truth_of(cmp_int_float(i, x).map(Ordering::reverse), op),
                    _ => Truth::Unknown,
                })
            }
            Compare::Str => self.compare_str(op, lhs, rhs),
            Compare::Bool => {
                let (a, b) = (self.boolean(lhs), self.boolean(rhs));
                bool_fn(move |env| match (a(env).to_option(), b(env).to_option()) {
                    (Some(x), Some(y)) => Truth::from(op.holds(x.cmp(&y))),
                    _ => Truth::Unknown,
                })
            }
        }
    }

    fn compare_int(&mut self, op: CmpOp, lhs: &Node, rhs: &Node) -> BoolFn {
        match (source(lhs), Self::const_int(rhs)) {
            (Some(from), Some(Some(c))) => bool_fn(move |env| match as_i64(read(env, from)) {
                Some(i) => Truth::from(op.holds(i.cmp(&c))),
                None => Truth::Unknown,
            }),
            (_, Some(Some(c))) => {
                let a = self.int(lhs);
                bool_fn(move |env| match a(env) {
                    Some(i) => Truth::from(op.holds(i.cmp(&c))),
                    None => Truth::Unknown,
                })
            }
            _ => {
                let (a, b) = (self.int(lhs), self.int(rhs));
                bool_fn(move |env| match (a(env), b(env)) {
                    (Some(x), Some(y)) => Truth::from(op.holds(x.cmp(&y))),
                    _ => Truth::Unknown,
                })
            }
        }
    }

    fn compare_str(&mut self, op: CmpOp, lhs: &Node, rhs: &Node) -> BoolFn {
        match (source(lhs), Self::const_str(rhs)) {
            (Some(from), Some(Some(c))) => bool_fn(move |env| match read(env, from) {
                Value::String(s) => Truth::from(op.holds((**s).cmp(&*c))),
                _ => Truth::Unknown,
            }),
            (_, Some(Some(c))) => {
                let a = self.string(lhs);
                bool_fn(move |env| match a(env) {
                    Some(s) => Truth::from(op.holds((*s).cmp(&*c))),
                    None => Truth::Unknown,
                })
            }
            _ => {
                let (a, b) = (self.string(lhs), self.string(rhs));
                bool_fn(move |env| match (a(env), b(env)) {
                    (Some(x), Some(y)) => Truth::from(op.holds(x.cmp(&y))),
                    _ => Truth::Unknown,
                })
            }
        }
    }

    fn in_list(&mut self, kind: Compare, value: &Node, items: &[Node]) -> BoolFn {
        if items.is_empty() {
            return bool_fn(|_| Truth::False);
        }
        let constants: Option<Vec<Option<Box<str>>>> = items.iter().map(Self::const_str).collect();
        if let (Compare::Str, Some(constants)) = (kind, constants) {
            let has_null = constants.iter().any(Option::is_none);
            let constants: Box<[Box<str>]> = constants.into_iter().flatten().collect();
            let value = self.string(value);
            return bool_fn(move |env| match value(env) {
                Some(s) if constants.iter().any(|c| **c == *s) => Truth::True,
                Some(_) if !has_null => Truth::False,
                _ => Truth::Unknown,
            });
        }
        let tests: Vec<BoolFn> = items
            .iter()
            .map(|item| self.compare(CmpOp::Eq, kind, value, item))
            .collect();
        bool_fn(move |env| any_equal(tests.iter().map(|t| t(env))))
    }

    fn between(&mut self, kind: Compare, value: &Node, low: &Node, high: &Node) -> BoolFn {
        let above = self.compare(CmpOp::Ge, kind, value, low);
        let below = self.compare(CmpOp::Le, kind, value, high);
        bool_fn(move |env| {
            let first = above(env);
            if first == Truth::False {
                return Truth::False;
            }
            first.and(below(env))
        })
    }

    fn text(&mut self, op: TextOp, lhs: &Node, rhs: &Node) -> BoolFn {
        let test = move |s: &str, t: &str| match op {
            TextOp::Contains => s.contains(t),
            TextOp::StartsWith => s.starts_with(t),
            TextOp::EndsWith => s.ends_with(t),
        };
        let a = self.string(lhs);
        if let Some(Some(c)) = Self::const_str(rhs) {
            return bool_fn(move |env| match a(env) {
                Some(s) => Truth::from(test(&s, &c)),
                None => Truth::Unknown,
            });
        }
        let b = self.string(rhs);
        bool_fn(move |env| match (a(env), b(env)) {
            (Some(s), Some(t)) => Truth::from(test(&s, &t)),
            _ => Truth::Unknown,
        })
    }

    fn list_contains(&mut self, kind: Compare, list: &Node, item: &Node) -> BoolFn {
        let list = self.list(list);
        let item = self.any(item);
        bool_fn(move |env| {
            let Some(elements) = list(env) else {
                return Truth::Unknown;
            };
            let wanted = item.value(env);
            if wanted.is_null() {
                return if elements.is_empty() {
                    Truth::False
                } else {
                    Truth::Unknown
                };
            }
            any_equal(elements.iter().map(|e| values_equal(kind, e, &wanted)))
        })
    }

    pub(super) fn int(&mut self, node: &Node) -> IntFn {
        match &node.kind {
            NodeKind::Const(value) => {
                let value = as_i64(value);
                int_fn(move |_| value)
            }
            NodeKind::Attribute(_) | NodeKind::Property { .. } => {
                let Some(from) = source(node) else {
                    return int_fn(|_| None);
                };
                int_fn(move |env| as_i64(read(env, from)))
            }
            NodeKind::EventTime(event) => {
                let event = *event;
                int_fn(move |env| {
                    let columns = env.profile.events_of(event)?;
                    columns.timestamps.get(env.event).copied()
                })
            }
            NodeKind::Now => int_fn(|env| Some(env.now)),
            NodeKind::JourneyEnteredAt => int_fn(|env| env.entered_at),
            NodeKind::Neg(inner) => {
                let inner = self.int(inner);
                int_fn(move |env| inner(env)?.checked_neg())
            }
            NodeKind::Arith(Arith::Int(op), lhs, rhs) => {
                let op = *op;
                let a = self.int(lhs);
                if let Some(Some(c)) = Self::const_int(rhs) {
                    return int_fn(move |env| int_op(op, a(env)?, c));
                }
                let b = self.int(rhs);
                int_fn(move |env| int_op(op, a(env)?, b(env)?))
            }
            NodeKind::Arith(Arith::ScaleDuration(op), lhs, rhs) => {
                let op = *op;
                let (a, b) = (self.int(lhs), self.float(rhs));
                int_fn(move |env| scale_duration(op, a(env)?, b(env)?))
            }
            NodeKind::Call(function, args) => self.int_call(function, args),
            NodeKind::Aggregate(aggregate) => self.int_aggregate(aggregate),
            NodeKind::EventField(aggregate, EventField::Timestamp) => {
                self.event_timestamp(aggregate)
            }
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                int_fn(move |env| as_i64(read(env)?))
            }
            _ => int_fn(|_| None),
        }
    }

    pub(super) fn float(&mut self, node: &Node) -> FloatFn {
        match &node.kind {
            NodeKind::Const(value) => {
                let value = match value {
                    Value::Float(x) => Some(*x),
                    _ => None,
                };
                float_fn(move |_| value)
            }
            NodeKind::Attribute(_) | NodeKind::Property { .. } => {
                let Some(from) = source(node) else {
                    return float_fn(|_| None);
                };
                float_fn(move |env| match read(env, from) {
                    Value::Float(x) => Some(*x),
                    _ => None,
                })
            }
            NodeKind::ToFloat(inner) => {
                #[allow(clippy::cast_precision_loss)]
                if let Some(from) = source(inner) {
                    return float_fn(move |env| as_i64(read(env, from)).map(|i| i as f64));
                }
                let inner = self.int(inner);
                #[allow(clippy::cast_precision_loss)]
                float_fn(move |env| inner(env).map(|i| i as f64))
            }
            NodeKind::Neg(inner) => {
                let inner = self.float(inner);
                float_fn(move |env| inner(env).map(|x| -x))
            }
            NodeKind::Arith(Arith::Float(op), lhs, rhs) => self.float_arith(*op, lhs, rhs),
            NodeKind::Call(function, args) => self.float_call(function, args),
            NodeKind::Aggregate(aggregate) => self.float_aggregate(aggregate),
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                float_fn(move |env| match read(env)? {
                    Value::Float(x) => Some(*x),
                    _ => None,
                })
            }
            _ => float_fn(|_| None),
        }
    }

    fn float_arith(&mut self, op: FloatOp, lhs: &Node, rhs: &Node) -> FloatFn {
        match (Self::const_float(lhs), Self::const_float(rhs)) {
            (Some(Some(c)), _) => {
                let b = self.float(rhs);
                float_fn(move |env| float_op(op, c, b(env)?))
            }
            (_, Some(Some(c))) => {
                let a = self.float(lhs);
                float_fn(move |env| float_op(op, a(env)?, c))
            }
            _ => {
                let (a, b) = (self.float(lhs), self.float(rhs));
                float_fn(move |env| float_op(op, a(env)?, b(env)?))
            }
        }
    }

    pub(super) fn string(&mut self, node: &Node) -> StrFn {
        match &node.kind {
            NodeKind::Const(Value::String(_)) => {
                let index = self.intern(match &node.kind {
                    NodeKind::Const(v) => v.clone(),
                    _ => Value::Null,
                });
                str_fn(move |env| match env.consts.get(index) {
                    Some(Value::String(s)) => Some(Cow::Borrowed(&**s)),
                    _ => None,
                })
            }
            NodeKind::Attribute(_) | NodeKind::Property { .. } => {
                let Some(from) = source(node) else {
                    return str_fn(|_| None);
                };
                str_fn(move |env| match read(env, from) {
                    Value::String(s) => Some(Cow::Borrowed(&**s)),
                    _ => None,
                })
            }
            NodeKind::ProfileId => str_fn(|env| Some(Cow::Borrowed(env.profile.id()))),
            NodeKind::Call(function, args) => self.string_call(function, args),
            NodeKind::Aggregate(aggregate) => self.string_aggregate(aggregate),
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                str_fn(move |env| match read(env)? {
                    Value::String(s) => Some(Cow::Borrowed(&**s)),
                    _ => None,
                })
            }
            _ => str_fn(|_| None),
        }
    }

    pub(super) fn list(&mut self, node: &Node) -> ListFn {
        match &node.kind {
            NodeKind::Attribute(_) | NodeKind::Property { .. } => {
                let Some(from) = source(node) else {
                    return list_fn(|_| None);
                };
                list_fn(move |env| match read(env, from) {
                    Value::List(items) => Some(Cow::Borrowed(&**items)),
                    _ => None,
                })
            }
            NodeKind::List(items) if items.iter().all(|i| matches!(i.kind, NodeKind::Const(_))) => {
                let values: Vec<Value> = items
                    .iter()
                    .map(|i| match &i.kind {
                        NodeKind::Const(v) => v.clone(),
                        _ => Value::Null,
                    })
                    .collect();
                let index = self.intern(Value::List(values.into()));
                list_fn(move |env| match env.consts.get(index) {
                    Some(Value::List(items)) => Some(Cow::Borrowed(&**items)),
                    _ => None,
                })
            }
            NodeKind::List(items) => {
                let items: Vec<Compiled> = items.iter().map(|i| self.any(i)).collect();
                list_fn(move |env| Some(Cow::Owned(items.iter().map(|i| i.value(env)).collect())))
            }
            NodeKind::Call(Function::Coalesce, items) => {
                let items: Vec<ListFn> = items.iter().map(|i| self.list(i)).collect();
                list_fn(move |env| items.iter().find_map(|f| f(env)))
            }
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                list_fn(move |env| match read(env)? {
                    Value::List(items) => Some(Cow::Borrowed(&**items)),
                    _ => None,
                })
            }
            _ => list_fn(|_| None),
        }
    }
}

/// Equality of two runtime values under a comparison kind, as a truth value.
pub(crate) fn values_equal(kind: Compare, a: &Value, b: &Value) -> Truth {
    let ordering = match (kind, a, b) {
        (_, Value::Null, _) | (_, _, Value::Null) => None,
        (Compare::Int, _, _) => as_i64(a).zip(as_i64(b)).map(|(x, y)| x.cmp(&y)),
        (Compare::Float, Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Compare::IntFloat, Value::Int(i), Value::Float(x)) => cmp_int_float(*i, *x),
        (Compare::FloatInt, Value::Float(x), Value::Int(i)) => {
            cmp_int_float(*i, *x).map(Ordering::reverse)
        }
        (Compare::Str, Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Compare::Bool, Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    truth_of(ordering, CmpOp::Eq)
}
