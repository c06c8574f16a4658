//! Fused predicates: the boolean part of a program as a small tree of enums
//! evaluated by one `match`, instead of one boxed closure per node.
//!
//! Triggers are mostly `AND`/`OR` over comparisons of an attribute with a
//! constant, or with a constant times another attribute. Each such comparison
//! is one [`Pred`] whose operands ([`IntLeaf`], [`FloatOperand`], string keys)
//! are read in place, so `login_count_30d < 0.6 * login_count_60d AND
//! user_segment = 'active'` evaluates with no indirect call at all. Anything
//! else keeps its closure ([`Pred::Fn`], [`IntOperand::Fn`]…), so every shape
//! still compiles; the fused forms only take the common ones.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::scalar::{cmp_int_float, float_op};
use super::*;
use crate::profile::Slot;

/// Which orderings satisfy a comparison: bit 0 `Less`, bit 1 `Equal`, bit 2
/// `Greater`. Testing it is a shift, not a `match` on the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CmpMask(u8);

impl CmpMask {
    pub(super) const fn new(op: CmpOp) -> Self {
        CmpMask(match op {
            CmpOp::Eq => 0b010,
            CmpOp::Ne => 0b101,
            CmpOp::Lt => 0b001,
            CmpOp::Le => 0b011,
            CmpOp::Gt => 0b100,
            CmpOp::Ge => 0b110,
        })
    }

    /// The same test with its operands swapped (`a < b` is `b > a`).
    pub(super) const fn swapped(self) -> Self {
        CmpMask((self.0 & 0b010) | ((self.0 & 0b001) << 2) | ((self.0 & 0b100) >> 2))
    }

    /// The test that holds exactly when this one does not (for `NOT`: a
    /// comparison is unknown on the same inputs either way).
    pub(super) const fn complement(self) -> Self {
        CmpMask(!self.0 & 0b111)
    }

    #[inline(always)]
    pub(super) fn holds(self, ordering: Ordering) -> bool {
        // `Ordering` is -1, 0 or 1.
        let bit = (ordering as i8 + 1).unsigned_abs();
        (self.0 >> bit) & 1 != 0
    }

    #[inline(always)]
    fn truth(self, ordering: Option<Ordering>) -> Truth {
        match ordering {
            Some(o) => Truth::from(self.holds(o)),
            None => Truth::Unknown,
        }
    }
}

/// An int-like operand (int, or a timestamp or duration in microseconds) read
/// in place.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IntLeaf {
    Const(i64),
    /// An attribute of an int-like type.
    Attr(usize),
    Prop {
        event: usize,
        slot: usize,
    },
    EventTime(usize),
    Now,
}

impl IntLeaf {
    #[inline(always)]
    pub(super) fn get(self, env: &Env<'_>) -> Option<i64> {
        match self {
            IntLeaf::Const(c) => Some(c),
            IntLeaf::Attr(slot) => env.profile.slot(slot).int(),
            IntLeaf::Prop { event, slot } => as_i64(read(env, Source::Property { event, slot })),
            IntLeaf::EventTime(event) => env
                .profile
                .events_of(event)?
                .timestamps
                .get(env.event)
                .copied(),
            IntLeaf::Now => Some(env.now),
        }
    }
}

/// An int-like operand: read in place, or computed by a closure.
pub(crate) enum IntOperand {
    Leaf(IntLeaf),
    Fn(IntFn),
}

impl IntOperand {
    #[inline(always)]
    fn get(&self, env: &Env<'_>) -> Option<i64> {
        match self {
            IntOperand::Leaf(leaf) => leaf.get(env),
            IntOperand::Fn(f) => f(env),
        }
    }
}

/// A float operand read in place.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FloatLeaf {
    Const(f64),
    Attr(usize),
    /// An int attribute widened to float.
    IntAttr(usize),
    Prop {
        event: usize,
        slot: usize,
    },
    IntProp {
        event: usize,
        slot: usize,
    },
}

impl FloatLeaf {
    #[inline(always)]
    pub(super) fn get(self, env: &Env<'_>) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        match self {
            FloatLeaf::Const(c) => Some(c),
            FloatLeaf::Attr(slot) => env.profile.slot(slot).float(),
            FloatLeaf::IntAttr(slot) => env.profile.slot(slot).int().map(|i| i as f64),
            FloatLeaf::Prop { event, slot } => {
                float_of(read(env, Source::Property { event, slot }))
            }
            FloatLeaf::IntProp { event, slot } => match read(env, Source::Property { event, slot })
            {
                Value::Int(i) => Some(*i as f64),
                _ => None,
            },
        }
    }
}

#[inline(always)]
pub(super) fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// A float operand: a leaf, one arithmetic operation on two leaves (`0.6 *
/// login_count_60d`), or a closure.
pub(crate) enum FloatOperand {
    Leaf(FloatLeaf),
    Arith(FloatOp, FloatLeaf, FloatLeaf),
    Fn(FloatFn),
}

impl FloatOperand {
    #[inline(always)]
    fn get(&self, env: &Env<'_>) -> Option<f64> {
        match self {
            FloatOperand::Leaf(leaf) => leaf.get(env),
            FloatOperand::Arith(op, a, b) => float_op(*op, a.get(env)?, b.get(env)?),
            FloatOperand::Fn(f) => f(env),
        }
    }
}

/// A string operand: an attribute or property read in place, or a closure.
pub(crate) enum StrOperand {
    Attr(usize),
    Prop { event: usize, slot: usize },
    Fn(StrFn),
}

impl StrOperand {
    /// The string, or `None` when it is NULL.
    #[inline(always)]
    pub(super) fn get<'a>(&self, env: &Env<'a>) -> Option<Cow<'a, str>> {
        let value = match self {
            StrOperand::Attr(slot) => env.profile.attribute_slot(*slot),
            StrOperand::Prop { event, slot } => read(
                env,
                Source::Property {
                    event: *event,
                    slot: *slot,
                },
            ),
            StrOperand::Fn(f) => return f(env),
        };
        match value {
            Value::String(s) => Some(Cow::Borrowed(&**s)),
            _ => None,
        }
    }
}

/// A string constant prepared for equality tests: a length check, then (up to
/// 16 bytes) two integer compares instead of a `memcmp` call.
#[derive(Debug, Clone)]
pub(crate) struct StrKey {
    len: usize,
    words: (u64, u64),
    text: Box<str>,
}

/// Two words that, for texts of one given length up to 16 bytes, are equal
/// exactly when the texts are: the first and last 8 (or 4) bytes, which
/// overlap and so cover every byte, or up to three single bytes.
#[inline(always)]
fn words(bytes: &[u8]) -> (u64, u64) {
    if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (u64::from_le_bytes(*first), u64::from_le_bytes(*last))
    } else if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        (
            u64::from(u32::from_le_bytes(*first)),
            u64::from(u32::from_le_bytes(*last)),
        )
    } else {
        let byte = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
        let n = bytes.len();
        (
            byte(0) | byte(n / 2) << 8 | byte(n.saturating_sub(1)) << 16,
            0,
        )
    }
}

impl StrKey {
    pub(super) fn new(text: &str) -> Self {
        StrKey {
            len: text.len(),
            words: words(text.as_bytes()),
            text: text.into(),
        }
    }

    #[inline(always)]
    pub(super) fn equals(&self, s: &str) -> bool {
        let bytes = s.as_bytes();
        if bytes.len() != self.len {
            return false;
        }
        if self.len <= 16 {
            words(bytes) == self.words
        } else {
            bytes == self.text.as_bytes()
        }
    }
}

/// A compiled boolean expression.
pub(crate) enum Pred {
    Const(Truth),
    /// A bool attribute.
    BoolAttr(usize),
    /// A bool property of the bound event.
    Bool(Source),
    /// `x IS NULL` on an attribute or property.
    IsNull(Source),
    Not(Box<Pred>),
    And(Box<[Pred]>),
    Or(Box<[Pred]>),
    /// An int-like attribute against a constant: `cart_items > 0`.
    IntAttrConst {
        slot: usize,
        mask: CmpMask,
        c: i64,
    },
    /// A float attribute against a constant: `lifetime_value >= 100.0`.
    FloatAttrConst {
        slot: usize,
        mask: CmpMask,
        c: f64,
    },
    Int {
        a: IntOperand,
        mask: CmpMask,
        b: IntOperand,
    },
    Float {
        a: FloatOperand,
        mask: CmpMask,
        b: FloatOperand,
    },
    /// An int against a float, exactly.
    IntFloat {
        a: IntOperand,
        mask: CmpMask,
        b: FloatOperand,
    },
    /// `days_since(then) op c` (or `hours_since`): whole units elapsed
    /// compared with a constant, as the elapsed time against the range
    /// `[lo, hi)` of times that are exactly `c` units, without a division.
    Elapsed {
        then: IntOperand,
        lo: i128,
        hi: i128,
        mask: CmpMask,
    },
    /// A string attribute `= 'constant'`, or `!=` when `negate`: a short
    /// string is compared inline, in its slot.
    StrAttrEq {
        slot: usize,
        small: Slot,
        key: StrKey,
        negate: bool,
    },
    /// A string attribute `IN` constants.
    StrAttrIn {
        slot: usize,
        smalls: Box<[Slot]>,
        keys: Box<[StrKey]>,
        has_null: bool,
    },
    /// `s = 'constant'`, or `!=` when `negate`.
    StrEq {
        a: StrOperand,
        key: StrKey,
        negate: bool,
    },
    /// `s < 'constant'` and the other orderings.
    StrCmp {
        a: StrOperand,
        mask: CmpMask,
        c: Box<str>,
    },
    /// `s IN ('a', 'b', …)` over constants; `has_null` when one of them is
    /// NULL.
    StrIn {
        a: StrOperand,
        keys: Box<[StrKey]>,
        has_null: bool,
    },
    /// `i IN (1, 2, …)` over constants.
    IntIn {
        a: IntOperand,
        values: Box<[i64]>,
        has_null: bool,
    },
    Fn(BoolFn),
}

/// SQL's `IN` over constants: TRUE if one is equal, else UNKNOWN if one of
/// them is NULL, else FALSE.
#[inline(always)]
fn in_constants(found: bool, has_null: bool) -> Truth {
    if found {
        Truth::True
    } else if has_null {
        Truth::Unknown
    } else {
        Truth::False
    }
}

/// The three-valued `AND`/`OR` loops. Each is written out for the two ways
/// its operands are evaluated (in place, or in place one level further down)
/// rather than taking a closure: the closure would not be inlined into the
/// loop, which costs a call per operand.
macro_rules! connective {
    ($name:ident, $test:ident, $stop:ident, $identity:ident) => {
        #[inline(always)]
        fn $name(items: &[Pred], env: &Env<'_>) -> Truth {
            let mut result = Truth::$identity;
            for item in items {
                match item.$test(env) {
                    Truth::$stop => return Truth::$stop,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::$identity => {}
                }
            }
            result
        }
    };
}

connective!(all_nested, nested, False, True);
connective!(any_nested, nested, True, False);
connective!(all_leaves, test, False, True);
connective!(any_leaves, test, True, False);

impl Pred {
    /// The negation, folded into a comparison where one is there to fold.
    pub(super) fn negated(self) -> Pred {
        match self {
            Pred::Const(t) => Pred::Const(t.not()),
            Pred::Not(inner) => *inner,
            Pred::IntAttrConst { slot, mask, c } => Pred::IntAttrConst {
                slot,
                mask: mask.complement(),
                c,
            },
            Pred::StrAttrEq {
                slot,
                small,
                key,
                negate,
            } => Pred::StrAttrEq {
                slot,
                small,
                key,
                negate: !negate,
            },
            Pred::FloatAttrConst { slot, mask, c } => Pred::FloatAttrConst {
                slot,
                mask: mask.complement(),
                c,
            },
            Pred::Int { a, mask, b } => Pred::Int {
                a,
                mask: mask.complement(),
                b,
            },
            Pred::Float { a, mask, b } => Pred::Float {
                a,
                mask: mask.complement(),
                b,
            },
            Pred::IntFloat { a, mask, b } => Pred::IntFloat {
                a,
                mask: mask.complement(),
                b,
            },
            Pred::Elapsed { then, lo, hi, mask } => Pred::Elapsed {
                then,
                lo,
                hi,
                mask: mask.complement(),
            },
            Pred::StrEq { a, key, negate } => Pred::StrEq {
                a,
                key,
                negate: !negate,
            },
            Pred::StrCmp { a, mask, c } => Pred::StrCmp {
                a,
                mask: mask.complement(),
                c,
            },
            other => Pred::Not(Box::new(other)),
        }
    }

    /// Evaluates the expression.
    ///
    /// This is the only function the evaluation of a predicate calls (apart
    /// from the closures of shapes that are not fused): an `AND`/`OR`, its
    /// operands, and the operands of those that are themselves `AND`/`OR`
    /// are evaluated in place, and only deeper nesting recurses.
    pub(super) fn eval(&self, env: &Env<'_>) -> Truth {
        match self {
            Pred::And(items) => all_nested(items, env),
            Pred::Or(items) => any_nested(items, env),
            _ => self.test(env),
        }
    }

    /// An operand of a top-level `AND`/`OR`, in place.
    #[inline(always)]
    fn nested(&self, env: &Env<'_>) -> Truth {
        match self {
            Pred::And(items) => all_leaves(items, env),
            Pred::Or(items) => any_leaves(items, env),
            _ => self.test(env),
        }
    }

    /// A leaf in place; `AND`/`OR`/`NOT` through [`Pred::eval`].
    #[inline(always)]
    fn test(&self, env: &Env<'_>) -> Truth {
        match self {
            Pred::Const(t) => *t,
            Pred::BoolAttr(slot) => Truth::from_option(env.profile.slot(*slot).bool()),
            Pred::Bool(from) => match read(env, *from) {
                Value::Bool(b) => Truth::from(*b),
                _ => Truth::Unknown,
            },
            Pred::IsNull(Source::Attribute(slot)) => Truth::from(env.profile.slot(*slot).is_null()),
            Pred::IsNull(from) => Truth::from(read(env, *from).is_null()),
            Pred::Not(inner) => inner.eval(env).not(),
            Pred::And(_) | Pred::Or(_) => self.eval(env),
            Pred::IntAttrConst { slot, mask, c } => match env.profile.slot(*slot).int() {
                Some(i) => Truth::from(mask.holds(i.cmp(c))),
                None => Truth::Unknown,
            },
            Pred::FloatAttrConst { slot, mask, c } => match env.profile.slot(*slot).float() {
                Some(x) => mask.truth(x.partial_cmp(c)),
                None => Truth::Unknown,
            },
            Pred::Int { a, mask, b } => match (a.get(env), b.get(env)) {
                (Some(x), Some(y)) => Truth::from(mask.holds(x.cmp(&y))),
                _ => Truth::Unknown,
            },
            Pred::Float { a, mask, b } => match (a.get(env), b.get(env)) {
                (Some(x), Some(y)) => mask.truth(x.partial_cmp(&y)),
                _ => Truth::Unknown,
            },
            Pred::IntFloat { a, mask, b } => match (a.get(env), b.get(env)) {
                (Some(i), Some(x)) => mask.truth(cmp_int_float(i, x)),
                _ => Truth::Unknown,
            },
            Pred::Elapsed { then, lo, hi, mask } => {
                let Some(elapsed) = then.get(env).and_then(|t| env.now.checked_sub(t)) else {
                    return Truth::Unknown;
                };
                let elapsed = i128::from(elapsed);
                let ordering = if elapsed < *lo {
                    Ordering::Less
                } else if elapsed >= *hi {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                };
                Truth::from(mask.holds(ordering))
            }
            Pred::StrAttrEq {
                slot,
                small,
                key,
                negate,
            } => {
                let value = env.profile.slot(*slot);
                if value.is_text() {
                    Truth::from((value == *small) != *negate)
                } else if value.is_null() {
                    Truth::Unknown
                } else {
                    match env.profile.attribute_slot(*slot) {
                        Value::String(s) => Truth::from(key.equals(s) != *negate),
                        _ => Truth::Unknown,
                    }
                }
            }
            Pred::StrAttrIn {
                slot,
                smalls,
                keys,
                has_null,
            } => {
                let value = env.profile.slot(*slot);
                if value.is_text() {
                    in_constants(smalls.contains(&value), *has_null)
                } else if value.is_null() {
                    Truth::Unknown
                } else {
                    match env.profile.attribute_slot(*slot) {
                        Value::String(s) => {
                            in_constants(keys.iter().any(|k| k.equals(s)), *has_null)
                        }
                        _ => Truth::Unknown,
                    }
                }
            }
            Pred::StrEq { a, key, negate } => match a.get(env) {
                Some(s) => Truth::from(key.equals(&s) != *negate),
                None => Truth::Unknown,
            },
            Pred::StrCmp { a, mask, c } => match a.get(env) {
                Some(s) => Truth::from(mask.holds((*s).cmp(c))),
                None => Truth::Unknown,
            },
            Pred::StrIn { a, keys, has_null } => match a.get(env) {
                Some(s) => in_constants(keys.iter().any(|k| k.equals(&s)), *has_null),
                None => Truth::Unknown,
            },
            Pred::IntIn {
                a,
                values,
                has_null,
            } => match a.get(env) {
                Some(i) => in_constants(values.contains(&i), *has_null),
                None => Truth::Unknown,
            },
            Pred::Fn(f) => f(env),
        }
    }
}
