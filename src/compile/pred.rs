//! Fused predicates: the boolean part of a program.
//!
//! Triggers are mostly `AND`/`OR` over comparisons of an attribute with a
//! constant, or with a constant times another attribute. Compilation first
//! builds a [`Pred`] tree: each comparison is one leaf that names its shape
//! (`IntAttrConst`, `AttrVsScaled`, `StrAttrEq`…) and its operands
//! ([`IntOperand`], [`FloatOperand`], string keys), `AND`/`OR` are flattened
//! and `NOT` is folded into comparisons. [`Pred::finish`] then turns it into
//! a [`Cond`]: the `AND`/`OR`/`NOT` structure, evaluated by loops, over one
//! closure per leaf, each a small function made for its shape that reads its
//! operands in place. So `login_count_30d < 0.6 * login_count_60d AND
//! user_segment = 'active'` is one loop calling two small functions, where it
//! used to be six closures calling each other. Shapes that are not fused keep
//! their closures ([`Pred::Fn`], [`IntOperand::Fn`]…), so every expression
//! still compiles.

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

/// An int-like operand (int, or a timestamp or duration in microseconds):
/// read in place, or computed by a closure.
pub(crate) enum IntOperand {
    Const(i64),
    /// An attribute of an int-like type.
    Attr(usize),
    Prop {
        event: usize,
        slot: usize,
    },
    EventTime(usize),
    Now,
    Fn(IntFn),
}

impl IntOperand {
    #[inline(always)]
    pub(super) fn get(&self, env: &Env<'_>) -> Option<i64> {
        match self {
            IntOperand::Const(c) => Some(*c),
            IntOperand::Attr(slot) => env.profile.slot(*slot).int(),
            IntOperand::Prop { event, slot } => as_i64(read(
                env,
                Source::Property {
                    event: *event,
                    slot: *slot,
                },
            )),
            IntOperand::EventTime(event) => env
                .profile
                .events_of(*event)?
                .timestamps
                .get(env.event)
                .copied(),
            IntOperand::Now => Some(env.now),
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
    Const(f64),
    Attr(usize),
    IntAttr(usize),
    Leaf(FloatLeaf),
    Arith(FloatOp, FloatLeaf, FloatLeaf),
    Fn(FloatFn),
}

impl FloatOperand {
    /// The operand for a leaf, the common leaves as variants of their own.
    pub(super) fn leaf(leaf: FloatLeaf) -> Self {
        match leaf {
            FloatLeaf::Const(c) => FloatOperand::Const(c),
            FloatLeaf::Attr(slot) => FloatOperand::Attr(slot),
            FloatLeaf::IntAttr(slot) => FloatOperand::IntAttr(slot),
            leaf => FloatOperand::Leaf(leaf),
        }
    }

    #[inline(always)]
    fn get(&self, env: &Env<'_>) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        match self {
            FloatOperand::Const(c) => Some(*c),
            FloatOperand::Attr(slot) => env.profile.slot(*slot).float(),
            FloatOperand::IntAttr(slot) => env.profile.slot(*slot).int().map(|i| i as f64),
            FloatOperand::Leaf(leaf) => leaf.get(env),
            FloatOperand::Arith(op, a, b) => float_op(*op, a.get(env)?, b.get(env)?),
            FloatOperand::Fn(f) => f(env),
        }
    }
}

/// A numeric attribute read as a float for [`Pred::AttrVsScaled`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumAttr {
    pub(super) slot: usize,
    /// An int attribute (widened), else a float one.
    pub(super) int: bool,
}

impl NumAttr {
    #[inline(always)]
    fn slot(self, env: &Env<'_>) -> Slot {
        env.profile.slot(self.slot)
    }
}

trait SlotNumber {
    fn number(self, int: bool) -> Option<f64>;
}

impl SlotNumber for Slot {
    /// The value as a float: an int widened when `int`, else a float.
    #[inline(always)]
    fn number(self, int: bool) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        if int {
            self.int().map(|i| i as f64)
        } else {
            self.float()
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
    /// A numeric attribute against a constant and another numeric attribute
    /// combined: `login_count_30d < 0.6 * login_count_60d`. That is `x mask
    /// (c op y)`, or `x mask (y op c)` when `!c_first`; an int `x` compares
    /// exactly when `exact`, else as a float.
    AttrVsScaled {
        x: NumAttr,
        exact: bool,
        mask: CmpMask,
        op: FloatOp,
        c: f64,
        c_first: bool,
        y: NumAttr,
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

/// [`Pred::AttrVsScaled`]: `x mask scale(y)`, where `scale` is the
/// arithmetic with the constant, NULL when it gives no finite number.
#[inline(always)]
fn scaled(
    env: &Env<'_>,
    (x, exact, mask, y): (NumAttr, bool, CmpMask, NumAttr),
    scale: impl Fn(f64) -> Option<f64>,
) -> Truth {
    let (xs, ys) = (x.slot(env), y.slot(env));
    let Some(scaled) = ys.number(y.int).and_then(scale) else {
        return Truth::Unknown;
    };
    let ordering = if exact {
        match xs.int() {
            Some(i) => cmp_int_float(i, scaled),
            None => return Truth::Unknown,
        }
    } else {
        match xs.number(x.int) {
            Some(f) => f.partial_cmp(&scaled),
            None => return Truth::Unknown,
        }
    };
    mask.truth(ordering)
}

/// The closure of a [`Pred::AttrVsScaled`], with its arithmetic chosen here
/// rather than on every evaluation (`float_op`'s `match` is a jump table).
/// Each arm computes what [`float_op`] would: `+` and `*` commute exactly.
fn scaled_test(
    operands: (NumAttr, bool, CmpMask, NumAttr),
    op: FloatOp,
    c: f64,
    c_first: bool,
) -> BoolFn {
    use super::scalar::finite;
    match (op, c_first) {
        (FloatOp::Add, _) => bool_fn(move |env| scaled(env, operands, |y| finite(c + y))),
        (FloatOp::Mul, _) => bool_fn(move |env| scaled(env, operands, |y| finite(c * y))),
        (FloatOp::Sub, true) => bool_fn(move |env| scaled(env, operands, |y| finite(c - y))),
        (FloatOp::Sub, false) => bool_fn(move |env| scaled(env, operands, |y| finite(y - c))),
        (FloatOp::Div, true) => bool_fn(move |env| {
            scaled(
                env,
                operands,
                |y| if y == 0.0 { None } else { finite(c / y) },
            )
        }),
        (FloatOp::Div, false) if c == 0.0 => bool_fn(|_| Truth::Unknown),
        (FloatOp::Div, false) => bool_fn(move |env| scaled(env, operands, |y| finite(y / c))),
    }
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
            Pred::AttrVsScaled {
                x,
                exact,
                mask,
                op,
                c,
                c_first,
                y,
            } => Pred::AttrVsScaled {
                x,
                exact,
                mask: mask.complement(),
                op,
                c,
                c_first,
                y,
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

    /// The evaluation form: the `AND`/`OR`/`NOT` structure, with each
    /// leaf a closure specialised for its shape.
    pub(super) fn finish(self) -> Cond {
        match self {
            Pred::And(items) => Cond::and(items.into_iter().map(Pred::finish).collect()),
            Pred::Or(items) => Cond::or(items.into_iter().map(Pred::finish).collect()),
            Pred::Not(inner) => Cond::Not(Box::new(inner.finish())),
            Pred::Fn(f) => Cond::Test(f),
            leaf => Cond::Test(leaf.into_test()),
        }
    }

    /// A leaf as a closure of its own: a small function specialised for the
    /// leaf's shape, so that it needs no dispatch and few registers.
    fn into_test(self) -> BoolFn {
        match self {
            Pred::Const(t) => bool_fn(move |_| t),
            Pred::BoolAttr(slot) => {
                bool_fn(move |env| Truth::from_option(env.profile.slot(slot).bool()))
            }
            Pred::Bool(from) => bool_fn(move |env| match read(env, from) {
                Value::Bool(b) => Truth::from(*b),
                _ => Truth::Unknown,
            }),
            Pred::IsNull(Source::Attribute(slot)) => {
                bool_fn(move |env| Truth::from(env.profile.slot(slot).is_null()))
            }
            Pred::IsNull(from) => bool_fn(move |env| Truth::from(read(env, from).is_null())),
            Pred::IntAttrConst { slot, mask, c } => {
                bool_fn(move |env| match env.profile.slot(slot).int() {
                    Some(i) => Truth::from(mask.holds(i.cmp(&c))),
                    None => Truth::Unknown,
                })
            }
            Pred::FloatAttrConst { slot, mask, c } => {
                bool_fn(move |env| match env.profile.slot(slot).float() {
                    Some(x) => mask.truth(x.partial_cmp(&c)),
                    None => Truth::Unknown,
                })
            }
            Pred::AttrVsScaled {
                x,
                exact,
                mask,
                op,
                c,
                c_first,
                y,
            } => scaled_test((x, exact, mask, y), op, c, c_first),
            Pred::Int { a, mask, b } => bool_fn(move |env| match (a.get(env), b.get(env)) {
                (Some(x), Some(y)) => Truth::from(mask.holds(x.cmp(&y))),
                _ => Truth::Unknown,
            }),
            Pred::Float { a, mask, b } => bool_fn(move |env| match (a.get(env), b.get(env)) {
                (Some(x), Some(y)) => mask.truth(x.partial_cmp(&y)),
                _ => Truth::Unknown,
            }),
            Pred::IntFloat { a, mask, b } => bool_fn(move |env| match (a.get(env), b.get(env)) {
                (Some(i), Some(x)) => mask.truth(cmp_int_float(i, x)),
                _ => Truth::Unknown,
            }),
            Pred::Elapsed { then, lo, hi, mask } => elapsed_test(then, lo, hi, mask),
            Pred::StrAttrEq {
                slot,
                small,
                key,
                negate,
            } => bool_fn(move |env| {
                let value = env.profile.slot(slot);
                if value.is_text() {
                    Truth::from((value == small) != negate)
                } else if value.is_null() {
                    Truth::Unknown
                } else {
                    long_text(env, slot, |s| key.equals(s) != negate)
                }
            }),
            Pred::StrAttrIn {
                slot,
                smalls,
                keys,
                has_null,
            } => bool_fn(move |env| {
                let value = env.profile.slot(slot);
                if value.is_text() {
                    in_constants(smalls.contains(&value), has_null)
                } else if value.is_null() {
                    Truth::Unknown
                } else {
                    let found = long_text(env, slot, |s| keys.iter().any(|k| k.equals(s)));
                    match found {
                        Truth::False if has_null => Truth::Unknown,
                        found => found,
                    }
                }
            }),
            Pred::StrEq { a, key, negate } => bool_fn(move |env| match a.get(env) {
                Some(s) => Truth::from(key.equals(&s) != negate),
                None => Truth::Unknown,
            }),
            Pred::StrCmp { a, mask, c } => bool_fn(move |env| match a.get(env) {
                Some(s) => Truth::from(mask.holds((*s).cmp(&c))),
                None => Truth::Unknown,
            }),
            Pred::StrIn { a, keys, has_null } => bool_fn(move |env| match a.get(env) {
                Some(s) => in_constants(keys.iter().any(|k| k.equals(&s)), has_null),
                None => Truth::Unknown,
            }),
            Pred::IntIn {
                a,
                values,
                has_null,
            } => bool_fn(move |env| match a.get(env) {
                Some(i) => in_constants(values.contains(&i), has_null),
                None => Truth::Unknown,
            }),
            Pred::Fn(f) => f,
            composite @ (Pred::And(_) | Pred::Or(_) | Pred::Not(_)) => {
                let cond = composite.finish();
                bool_fn(move |env| cond.eval(env))
            }
        }
    }
}

/// `days_since(then) op c` as [`Pred::Elapsed`] states it: the elapsed time
/// against the bounds `[lo, hi)`, in `i64` when both fit (the usual case) or
/// else in `i128`.
#[inline(always)]
fn elapsed<T: Ord + From<i64>>(
    env: &Env<'_>,
    then: Option<i64>,
    (lo, hi): (T, T),
    mask: CmpMask,
) -> Truth {
    let Some(elapsed) = then.and_then(|t| env.now.checked_sub(t)) else {
        return Truth::Unknown;
    };
    let elapsed = T::from(elapsed);
    let ordering = if elapsed < lo {
        Ordering::Less
    } else if elapsed >= hi {
        Ordering::Greater
    } else {
        Ordering::Equal
    };
    Truth::from(mask.holds(ordering))
}

/// A test of a string attribute too long to sit in its slot, read from its
/// [`Value`]. Out of line, so that the leaves' common paths stay small.
#[cold]
#[inline(never)]
fn long_text(env: &Env<'_>, slot: usize, test: impl FnOnce(&str) -> bool) -> Truth {
    match env.profile.attribute_slot(slot) {
        Value::String(s) => Truth::from(test(s)),
        _ => Truth::Unknown,
    }
}

/// The closure of a [`Pred::Elapsed`].
fn elapsed_test(then: IntOperand, lo: i128, hi: i128, mask: CmpMask) -> BoolFn {
    match (then, i64::try_from(lo), i64::try_from(hi)) {
        (IntOperand::Attr(slot), Ok(lo), Ok(hi)) => {
            bool_fn(move |env| elapsed(env, env.profile.slot(slot).int(), (lo, hi), mask))
        }
        (IntOperand::Attr(slot), _, _) => {
            bool_fn(move |env| elapsed(env, env.profile.slot(slot).int(), (lo, hi), mask))
        }
        (then, Ok(lo), Ok(hi)) => bool_fn(move |env| elapsed(env, then.get(env), (lo, hi), mask)),
        (then, _, _) => bool_fn(move |env| elapsed(env, then.get(env), (lo, hi), mask)),
    }
}

/// A compiled boolean expression, as evaluation runs it: `AND`/`OR`/`NOT`
/// over leaf closures. The loops call the leaves directly; each leaf is a
/// small function made for its shape (see [`Pred::into_test`]).
pub(crate) enum Cond {
    Test(BoolFn),
    /// An `AND` whose operands are all leaves.
    AllTests(Box<[BoolFn]>),
    /// An `OR` whose operands are all leaves.
    AnyTests(Box<[BoolFn]>),
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
    Not(Box<Cond>),
}

/// Three-valued `AND`/`OR` loops over operands of type `$item` evaluated by
/// `$operand`, written out (a closure parameter would not be inlined into the
/// loop).
macro_rules! connective {
    ($name:ident, $item:ty, $operand:expr, $stop:ident, $identity:ident) => {
        #[inline(always)]
        fn $name(items: &[$item], env: &Env<'_>) -> Truth {
            let mut result = Truth::$identity;
            for item in items {
                match $operand(item, env) {
                    Truth::$stop => return Truth::$stop,
                    Truth::Unknown => result = Truth::Unknown,
                    Truth::$identity => {}
                }
            }
            result
        }
    };
}

connective!(all, Cond, Cond::nested, False, True);
connective!(any, Cond, Cond::nested, True, False);
connective!(all_leaves, Cond, Cond::leaf, False, True);
connective!(any_leaves, Cond, Cond::leaf, True, False);
connective!(all_tests, BoolFn, |f: &BoolFn, env| f(env), False, True);
connective!(any_tests, BoolFn, |f: &BoolFn, env| f(env), True, False);

impl Cond {
    /// An `AND` of `items`.
    fn and(items: Vec<Cond>) -> Cond {
        match Cond::tests(items) {
            Ok(tests) => Cond::AllTests(tests),
            Err(items) => Cond::And(items.into()),
        }
    }

    /// An `OR` of `items`.
    fn or(items: Vec<Cond>) -> Cond {
        match Cond::tests(items) {
            Ok(tests) => Cond::AnyTests(tests),
            Err(items) => Cond::Or(items.into()),
        }
    }

    /// The closures of `items` if they are all leaves.
    fn tests(items: Vec<Cond>) -> Result<Box<[BoolFn]>, Vec<Cond>> {
        if !items.iter().all(|i| matches!(i, Cond::Test(_))) {
            return Err(items);
        }
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Cond::Test(f) => Some(f),
                _ => None,
            })
            .collect())
    }

    /// An operand of a nested `AND`/`OR`: a leaf is called, deeper nesting
    /// recurses.
    #[inline(always)]
    fn leaf(&self, env: &Env<'_>) -> Truth {
        match self {
            Cond::Test(f) => f(env),
            nested => nested.eval(env),
        }
    }

    /// An operand of the top `AND`/`OR`: a leaf is called, and a nested
    /// `AND`/`OR` is looped over in place.
    #[inline(always)]
    fn nested(&self, env: &Env<'_>) -> Truth {
        match self {
            Cond::Test(f) => f(env),
            Cond::AllTests(tests) => all_tests(tests, env),
            Cond::AnyTests(tests) => any_tests(tests, env),
            Cond::And(items) => all_leaves(items, env),
            Cond::Or(items) => any_leaves(items, env),
            Cond::Not(inner) => inner.eval(env).not(),
        }
    }

    /// The root of a program: a leaf or a loop over leaves (most triggers)
    /// runs in the caller, without the call into [`Cond::eval`], whose
    /// prologue saves the registers its deepest variant needs.
    #[inline(always)]
    pub(super) fn eval_root(&self, env: &Env<'_>) -> Truth {
        match self {
            Cond::Test(f) => f(env),
            Cond::AllTests(tests) => all_tests(tests, env),
            Cond::AnyTests(tests) => any_tests(tests, env),
            nested => nested.eval(env),
        }
    }

    pub(super) fn eval(&self, env: &Env<'_>) -> Truth {
        match self {
            Cond::Test(f) => f(env),
            Cond::AllTests(tests) => all_tests(tests, env),
            Cond::AnyTests(tests) => any_tests(tests, env),
            Cond::And(items) => all(items, env),
            Cond::Or(items) => any(items, env),
            Cond::Not(inner) => inner.eval(env).not(),
        }
    }
}
