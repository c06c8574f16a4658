//! Compilation of leaves, logic, comparison and arithmetic.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::*;
use crate::profile::Slot;
use crate::syntax::TextOp;

/// Exact comparison of an int with a float (no rounding of the int).
#[inline(always)]
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    // Every int of magnitude up to 2^53 is exactly a float, so comparing the
    // two floats is exact (and `None` for NaN, as below).
    const EXACT: i64 = 1 << 53;
    if (-EXACT..=EXACT).contains(&i) {
        #[allow(clippy::cast_precision_loss)]
        return (i as f64).partial_cmp(&f);
    }
    cmp_int_float_wide(i, f)
}

/// [`cmp_int_float`] for ints too large to convert exactly.
#[cold]
fn cmp_int_float_wide(i: i64, f: f64) -> Option<Ordering> {
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

    /// Whether the node is a NULL constant (of any type).
    fn is_null_const(node: &Node) -> bool {
        matches!(node.kind, NodeKind::Const(Value::Null))
    }

    pub(super) fn boolean(&mut self, node: &Node) -> Pred {
        match &node.kind {
            NodeKind::Const(value) => Pred::Const(value.truth()),
            NodeKind::Attribute(slot) => Pred::BoolAttr(*slot),
            NodeKind::Property { event, slot } => Pred::Bool(Source::Property {
                event: *event,
                slot: *slot,
            }),
            NodeKind::Not(inner) => self.boolean(inner).negated(),
            NodeKind::And(items) => self.and(items),
            NodeKind::Or(items) => self.or(items),
            NodeKind::Compare(op, kind, lhs, rhs) => self.compare(*op, *kind, lhs, rhs),
            NodeKind::IsNull(inner) => {
                if let Some(from) = source(inner) {
                    return Pred::IsNull(from);
                }
                let inner = self.any(inner);
                Pred::Fn(bool_fn(move |env| Truth::from(inner.is_null(env))))
            }
            NodeKind::In(value, items) => self.in_list(value, items),
            NodeKind::Between(value, (low_kind, low), (high_kind, high)) => {
                let above = self.compare(CmpOp::Ge, *low_kind, value, low);
                let below = self.compare(CmpOp::Le, *high_kind, value, high);
                Pred::And(Box::new([above, below]))
            }
            NodeKind::Text(op, lhs, rhs) => self.text(*op, lhs, rhs),
            NodeKind::ListContains(kind, list, item) => self.list_contains(*kind, list, item),
            NodeKind::Aggregate(aggregate) => Pred::Fn(self.exists(aggregate)),
            NodeKind::Call(Function::Coalesce, items) => {
                let items: Vec<Cond> = items.iter().map(|i| self.boolean(i).finish()).collect();
                Pred::Fn(bool_fn(move |env| {
                    items
                        .iter()
                        .map(|p| p.eval(env))
                        .find(|t| *t != Truth::Unknown)
                        .unwrap_or(Truth::Unknown)
                }))
            }
            NodeKind::EventField(aggregate, EventField::Property(slot)) => {
                let read = self.event_field(aggregate, *slot);
                Pred::Fn(bool_fn(move |env| match read(env) {
                    Some(Value::Bool(b)) => Truth::from(*b),
                    _ => Truth::Unknown,
                }))
            }
            _ => Pred::Const(Truth::Unknown),
        }
    }

    /// A flat `AND`: nested `AND`s are spliced in (it is associative in
    /// three-valued logic too), a single operand stands alone.
    fn and(&mut self, items: &[Node]) -> Pred {
        let mut preds = Vec::with_capacity(items.len());
        for item in items {
            match self.boolean(item) {
                Pred::And(inner) => preds.extend(inner),
                pred => preds.push(pred),
            }
        }
        match <[Pred; 1]>::try_from(preds) {
            Ok([only]) => only,
            Err(preds) => Pred::And(preds.into()),
        }
    }

    /// A flat `OR`, as [`Compiler::and`].
    fn or(&mut self, items: &[Node]) -> Pred {
        let mut preds = Vec::with_capacity(items.len());
        for item in items {
            match self.boolean(item) {
                Pred::Or(inner) => preds.extend(inner),
                pred => preds.push(pred),
            }
        }
        match <[Pred; 1]>::try_from(preds) {
            Ok([only]) => only,
            Err(preds) => Pred::Or(preds.into()),
        }
    }

    /// An int-like node as an operand, read in place where it is a leaf.
    fn int_operand(&mut self, node: &Node) -> IntOperand {
        match &node.kind {
            NodeKind::Const(value) => match as_i64(value) {
                Some(c) => IntOperand::Const(c),
                None => IntOperand::Fn(int_fn(|_| None)),
            },
            NodeKind::Attribute(slot) => IntOperand::Attr(*slot),
            NodeKind::Property { event, slot } => IntOperand::Prop {
                event: *event,
                slot: *slot,
            },
            NodeKind::EventTime(event) => IntOperand::EventTime(*event),
            NodeKind::Now => IntOperand::Now,
            _ => IntOperand::Fn(self.int(node)),
        }
    }

    /// A numeric attribute (`int` or `float`), for [`Pred::AttrVsScaled`].
    fn num_attr(node: &Node) -> Option<NumAttr> {
        let int = match node.ty {
            Type::Int => true,
            Type::Float => false,
            _ => return None,
        };
        match node.kind {
            NodeKind::Attribute(slot) => Some(NumAttr { slot, int }),
            NodeKind::ToFloat(ref inner) => match (&inner.kind, &inner.ty) {
                (NodeKind::Attribute(slot), Type::Int) => Some(NumAttr {
                    slot: *slot,
                    int: true,
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// `c op y` or `y op c`, with `y` a numeric attribute: `(op, c, c_first,
    /// y)`.
    fn scaled_attr(node: &Node) -> Option<(FloatOp, f64, bool, NumAttr)> {
        let NodeKind::Arith(Arith::Float(op), lhs, rhs) = &node.kind else {
            return None;
        };
        match (&lhs.kind, &rhs.kind) {
            (NodeKind::Const(Value::Float(c)), _) => Some((*op, *c, true, Self::num_attr(rhs)?)),
            (_, NodeKind::Const(Value::Float(c))) => Some((*op, *c, false, Self::num_attr(lhs)?)),
            _ => None,
        }
    }

    /// `x mask scaled` or `scaled mask x` as a [`Pred::AttrVsScaled`], where
    /// `x` is an attribute (compared exactly as an int when `exact`).
    fn attr_vs_scaled(mask: CmpMask, exact: bool, lhs: &Node, rhs: &Node) -> Option<Pred> {
        let make = |mask: CmpMask, x: &Node, scaled: &Node| {
            let x = Self::num_attr(x)?;
            if exact && !x.int {
                // An exact compare needs an int; a float one reads either.
                return None;
            }
            let (op, c, c_first, y) = Self::scaled_attr(scaled)?;
            Some(Pred::AttrVsScaled {
                x,
                exact,
                mask,
                op,
                c,
                c_first,
                y,
            })
        };
        make(mask, lhs, rhs).or_else(|| make(mask.swapped(), rhs, lhs))
    }

    /// A float leaf, if the node is one.
    fn float_leaf(node: &Node) -> Option<FloatLeaf> {
        Some(match &node.kind {
            NodeKind::Const(Value::Float(x)) => FloatLeaf::Const(*x),
            NodeKind::Attribute(slot) => FloatLeaf::Attr(*slot),
            NodeKind::Property { event, slot } => FloatLeaf::Prop {
                event: *event,
                slot: *slot,
            },
            NodeKind::ToFloat(inner) => match inner.kind {
                NodeKind::Attribute(slot) => FloatLeaf::IntAttr(slot),
                NodeKind::Property { event, slot } => FloatLeaf::IntProp { event, slot },
                _ => return None,
            },
            _ => return None,
        })
    }

    /// A float node as an operand: a leaf or one operation on two leaves is
    /// read in place.
    fn float_operand(&mut self, node: &Node) -> FloatOperand {
        if let Some(leaf) = Self::float_leaf(node) {
            return FloatOperand::leaf(leaf);
        }
        if let NodeKind::Arith(Arith::Float(op), lhs, rhs) = &node.kind
            && let (Some(a), Some(b)) = (Self::float_leaf(lhs), Self::float_leaf(rhs))
        {
            return FloatOperand::Arith(*op, a, b);
        }
        FloatOperand::Fn(self.float(node))
    }

    fn str_operand(&mut self, node: &Node) -> StrOperand {
        match node.kind {
            NodeKind::Attribute(slot) => StrOperand::Attr(slot),
            NodeKind::Property { event, slot } => StrOperand::Prop { event, slot },
            _ => StrOperand::Fn(self.string(node)),
        }
    }

    fn compare(&mut self, op: CmpOp, kind: Compare, lhs: &Node, rhs: &Node) -> Pred {
        if Self::is_null_const(lhs) || Self::is_null_const(rhs) {
            // Any comparison with NULL is unknown (and operands have no effects).
            return Pred::Const(Truth::Unknown);
        }
        let mask = CmpMask::new(op);
        match kind {
            Compare::Null => Pred::Const(Truth::Unknown),
            Compare::Int => {
                if let Some(pred) = self.elapsed(mask, lhs, rhs) {
                    return pred;
                }
                if let Some(pred) = self.elapsed(mask.swapped(), rhs, lhs) {
                    return pred;
                }
                let (a, b) = (self.int_operand(lhs), self.int_operand(rhs));
                match (a, b) {
                    (IntOperand::Attr(slot), IntOperand::Const(c)) => {
                        Pred::IntAttrConst { slot, mask, c }
                    }
                    (IntOperand::Const(c), IntOperand::Attr(slot)) => Pred::IntAttrConst {
                        slot,
                        mask: mask.swapped(),
                        c,
                    },
                    (a, b) => Pred::Int { a, mask, b },
                }
            }
            Compare::Float => {
                if let Some(pred) = Self::attr_vs_scaled(mask, false, lhs, rhs) {
                    return pred;
                }
                let (a, b) = (self.float_operand(lhs), self.float_operand(rhs));
                match (a, b) {
                    (FloatOperand::Attr(slot), FloatOperand::Const(c)) => {
                        Pred::FloatAttrConst { slot, mask, c }
                    }
                    (FloatOperand::Const(c), FloatOperand::Attr(slot)) => Pred::FloatAttrConst {
                        slot,
                        mask: mask.swapped(),
                        c,
                    },
                    (a, b) => Pred::Float { a, mask, b },
                }
            }
            Compare::IntFloat => self.int_float(mask, lhs, rhs),
            Compare::FloatInt => self.int_float(mask.swapped(), rhs, lhs),
            Compare::Str => self.compare_str(op, lhs, rhs),
            Compare::Bool => {
                let (a, b) = (self.boolean(lhs).finish(), self.boolean(rhs).finish());
                Pred::Fn(bool_fn(move |env| {
                    match (a.eval(env).to_option(), b.eval(env).to_option()) {
                        (Some(x), Some(y)) => Truth::from(op.holds(x.cmp(&y))),
                        _ => Truth::Unknown,
                    }
                }))
            }
        }
    }

    /// An int compared with a float. A float attribute against an int
    /// constant of at most 2^53 (`lifetime_value > 50`) compares the same as
    /// against that constant as a float, which is exact.
    fn int_float(&mut self, mask: CmpMask, int: &Node, float: &Node) -> Pred {
        const EXACT: i64 = 1 << 53;
        if let Some(pred) = Self::attr_vs_scaled(mask, true, int, float) {
            return pred;
        }
        if let (Some(Some(c)), NodeKind::Attribute(slot)) = (Self::const_int(int), &float.kind)
            && (-EXACT..=EXACT).contains(&c)
        {
            #[allow(clippy::cast_precision_loss)]
            return Pred::FloatAttrConst {
                slot: *slot,
                mask: mask.swapped(),
                c: c as f64,
            };
        }
        Pred::IntFloat {
            a: self.int_operand(int),
            mask,
            b: self.float_operand(float),
        }
    }

    /// `days_since(x) op c` or `hours_since(x) op c`, with `c` an int constant.
    fn elapsed(&mut self, mask: CmpMask, call: &Node, constant: &Node) -> Option<Pred> {
        let NodeKind::Call(function @ (Function::DaysSince | Function::HoursSince), args) =
            &call.kind
        else {
            return None;
        };
        let Some(Some(c)) = Self::const_int(constant) else {
            return None;
        };
        let [then] = args.as_slice() else {
            return None;
        };
        let unit = i128::from(super::functions::unit_of(function));
        let lo = i128::from(c) * unit;
        Some(Pred::Elapsed {
            then: self.int_operand(then),
            lo,
            hi: lo + unit,
            mask,
        })
    }

    fn compare_str(&mut self, op: CmpOp, lhs: &Node, rhs: &Node) -> Pred {
        let mask = CmpMask::new(op);
        let (value, c, mask) = match (Self::const_str(lhs), Self::const_str(rhs)) {
            (_, Some(Some(c))) => (lhs, c, mask),
            (Some(Some(c)), _) => (rhs, c, mask.swapped()),
            _ => {
                let (a, b) = (self.string(lhs), self.string(rhs));
                return Pred::Fn(bool_fn(move |env| match (a(env), b(env)) {
                    (Some(x), Some(y)) => Truth::from(op.holds(x.cmp(&y))),
                    _ => Truth::Unknown,
                }));
            }
        };
        let negate = op == CmpOp::Ne;
        match (op, &value.kind) {
            (CmpOp::Eq | CmpOp::Ne, NodeKind::Attribute(slot)) => Pred::StrAttrEq {
                slot: *slot,
                small: Slot::text(&c).unwrap_or(Slot::NO_TEXT),
                key: StrKey::new(&c),
                negate,
            },
            (CmpOp::Eq | CmpOp::Ne, _) => Pred::StrEq {
                a: self.str_operand(value),
                key: StrKey::new(&c),
                negate,
            },
            _ => Pred::StrCmp {
                a: self.str_operand(value),
                mask,
                c,
            },
        }
    }

    /// The comparison every non-NULL item of an `IN` list makes, if they
    /// all make the same one (NULL items compare as [`Compare::Null`]).
    fn common_kind(items: &[(Compare, Node)]) -> Option<Compare> {
        let mut kinds = items
            .iter()
            .filter(|(_, item)| !Self::is_null_const(item))
            .map(|(kind, _)| *kind);
        let first = kinds.next()?;
        kinds.all(|kind| kind == first).then_some(first)
    }

    fn in_list(&mut self, value: &Node, items: &[(Compare, Node)]) -> Pred {
        if items.is_empty() {
            return Pred::Const(Truth::False);
        }
        let has_null = items.iter().any(|(_, item)| Self::is_null_const(item));
        let kind = Self::common_kind(items);
        let nodes = || items.iter().map(|(_, item)| item);
        if kind == Some(Compare::Str) {
            let constants: Option<Vec<Option<Box<str>>>> = nodes().map(Self::const_str).collect();
            if let Some(constants) = constants {
                let keys = constants.iter().flatten().map(|c| StrKey::new(c)).collect();
                if let NodeKind::Attribute(slot) = value.kind {
                    // Constants too long for a slot cannot equal a string in one.
                    let smalls = constants.iter().flatten().filter_map(|c| Slot::text(c));
                    return Pred::StrAttrIn {
                        slot,
                        smalls: smalls.collect(),
                        keys,
                        has_null,
                    };
                }
                return Pred::StrIn {
                    a: self.str_operand(value),
                    keys,
                    has_null,
                };
            }
        }
        if kind == Some(Compare::Int) {
            let constants: Option<Vec<Option<i64>>> = nodes().map(Self::const_int).collect();
            if let Some(constants) = constants {
                let values = constants.into_iter().flatten().collect();
                return Pred::IntIn {
                    a: self.int_operand(value),
                    values,
                    has_null,
                };
            }
        }
        // SQL's `IN` is an `OR` of equalities.
        let tests: Vec<Pred> = items
            .iter()
            .map(|(kind, item)| self.compare(CmpOp::Eq, *kind, value, item))
            .collect();
        Pred::Or(tests.into())
    }

    fn text(&mut self, op: TextOp, lhs: &Node, rhs: &Node) -> Pred {
        let test = move |s: &str, t: &str| match op {
            TextOp::Contains => s.contains(t),
            TextOp::StartsWith => s.starts_with(t),
            TextOp::EndsWith => s.ends_with(t),
        };
        let a = self.str_operand(lhs);
        if let Some(Some(c)) = Self::const_str(rhs) {
            return Pred::Fn(bool_fn(move |env| match a.get(env) {
                Some(s) => Truth::from(test(&s, &c)),
                None => Truth::Unknown,
            }));
        }
        let b = self.string(rhs);
        Pred::Fn(bool_fn(move |env| match (a.get(env), b(env)) {
            (Some(s), Some(t)) => Truth::from(test(&s, &t)),
            _ => Truth::Unknown,
        }))
    }

    fn list_contains(&mut self, kind: Compare, list: &Node, item: &Node) -> Pred {
        let list = self.list(list);
        let item = self.any(item);
        Pred::Fn(bool_fn(move |env| {
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
        }))
    }

    pub(super) fn int(&mut self, node: &Node) -> IntFn {
        match &node.kind {
            NodeKind::Const(value) => {
                let value = as_i64(value);
                int_fn(move |_| value)
            }
            NodeKind::Attribute(slot) => {
                let slot = *slot;
                int_fn(move |env| env.profile.slot(slot).int())
            }
            NodeKind::Property { .. } => {
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
            NodeKind::Attribute(_) | NodeKind::Property { .. } | NodeKind::ToFloat(_) => {
                if let Some(leaf) = Self::float_leaf(node) {
                    return float_fn(move |env| leaf.get(env));
                }
                let NodeKind::ToFloat(inner) = &node.kind else {
                    return float_fn(|_| None);
                };
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
