//! The typed intermediate representation that checking produces.
//!
//! Every name is resolved to a slot, every node has its static type, numeric
//! promotions are explicit ([`NodeKind::ToFloat`]) and every operator names the
//! exact operation it performs, so the compiler never has to look at a type to
//! choose an operation.

use chrono_tz::Tz;

use crate::schema::Type;
use crate::syntax::{AggregateFn, TextOp};
use crate::value::Value;

/// A typed node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub ty: Type,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    Const(Value),
    Attribute(usize),
    /// A property of the event bound by the innermost aggregate.
    Property {
        event: usize,
        slot: usize,
    },
    /// The timestamp of the event bound by the innermost aggregate.
    EventTime(usize),
    ProfileId,
    Now,
    JourneyEnteredAt,
    ToFloat(Box<Node>),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Neg(Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>),
    Compare(CmpOp, Compare, Box<Node>, Box<Node>),
    IsNull(Box<Node>),
    /// `operand IN (items)`, each item with the comparison `operand = item`
    /// makes (an int against a float item compares exactly, as `=` does);
    /// `NOT IN` is wrapped in `Not`.
    In(Box<Node>, Vec<(Compare, Node)>),
    /// `operand BETWEEN low AND high`, each bound with the comparison
    /// `operand >= low` and `operand <= high` make; `NOT BETWEEN` is wrapped
    /// in `Not`.
    Between(Box<Node>, (Compare, Box<Node>), (Compare, Box<Node>)),
    Text(TextOp, Box<Node>, Box<Node>),
    /// `list CONTAINS item`.
    ListContains(Compare, Box<Node>, Box<Node>),
    List(Vec<Node>),
    Call(Function, Vec<Node>),
    Aggregate(Box<AggregateNode>),
    /// A field of the event `last(…)`/`first(…)` finds.
    EventField(Box<AggregateNode>, EventField),
}

/// The operation an arithmetic operator performs, chosen from operand types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    /// Checked i64 arithmetic: ints, and timestamps/durations as microseconds.
    Int(IntOp),
    /// f64 arithmetic.
    Float(FloatOp),
    /// duration × float or duration ÷ float, rounded to a microsecond.
    ScaleDuration(ScaleOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntOp {
    Add,
    Sub,
    Mul,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleOp {
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// Whether an ordering satisfies the comparison.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ordering == Equal,
            CmpOp::Ne => ordering != Equal,
            CmpOp::Lt => ordering == Less,
            CmpOp::Le => ordering != Greater,
            CmpOp::Gt => ordering == Greater,
            CmpOp::Ge => ordering != Less,
        }
    }
}

/// How two values are compared, chosen from their static types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// i64 against i64: ints, timestamps, durations.
    Int,
    Float,
    /// An int on the left, a float on the right, compared exactly.
    IntFloat,
    FloatInt,
    Str,
    Bool,
    /// One side is the NULL literal: always unknown.
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Function {
    Lower,
    Upper,
    LengthString,
    LengthList,
    AbsInt,
    AbsFloat,
    Round,
    RoundDigits,
    Floor,
    Ceil,
    /// `least`/`greatest`; `true` for greatest.
    Extreme(Compare, bool),
    Coalesce,
    DaysSince,
    HoursSince,
    /// Hour of day or day of week; the zone is resolved at compile time when
    /// it is a literal.
    Local(LocalPart, Option<Tz>),
    Bucket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalPart {
    HourOfDay,
    DayOfWeek,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AggregateNode {
    pub function: AggregateFn,
    pub event: usize,
    /// The aggregated property and its type (`sum`, `avg`, `min`, `max`).
    pub property: Option<usize>,
    pub property_type: Type,
    pub filter: Option<Node>,
    pub window: WindowNode,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WindowNode {
    All,
    /// A duration: `(now − d, now]`.
    Within(Box<Node>),
    /// A timestamp: `[t, now]`.
    Since(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventField {
    Timestamp,
    Property(usize),
}
