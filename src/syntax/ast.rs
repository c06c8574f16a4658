//! The abstract syntax tree of a trigger expression.
//!
//! Every node carries the byte [`Span`] of the text it came from, so later
//! stages can point diagnostics at the exact characters. The tree is ours, not
//! pest's: a change to the grammar never changes this API.

use std::fmt;

/// A half-open byte range `start..end` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// Creates a span from two byte offsets.
    ///
    /// ```
    /// let span = nextbest::syntax::Span::new(3, 7);
    /// assert_eq!(span.len(), 4);
    /// ```
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The number of bytes covered.
    pub const fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no byte.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The span as a `Range`, for slicing the source.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// An expression node with its source span.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it came from.
    pub span: Span,
}

/// A name as written: an identifier or a backtick-quoted name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Name {
    /// The name without backticks.
    pub text: String,
    /// The span of the name as written (backticks included).
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A bare name: an attribute, or inside `WHERE` an event property.
    Name(Name),
    /// Field access: `profile.plan`, `journey.entered_at`, `last(purchase).amount`.
    Field(Box<Expr>, Name),
    /// A function call: `days_since(last_login)`.
    Call(Name, Vec<Expr>),
    /// An event aggregate: `count(page_view WHERE path = '/pricing' WITHIN 7d)`.
    Aggregate(Box<Aggregate>),
    /// A list literal: `['US', 'CA']`.
    List(Vec<Expr>),
    /// `NOT x` or `-x`.
    Unary(UnaryOp, Box<Expr>),
    /// Arithmetic or comparison with two operands.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `a AND b AND …` or `a OR b OR …` (flattened, at least two operands).
    Logical(LogicalOp, Vec<Expr>),
    /// `x IS NULL`, or with `negated` `x IS NOT NULL`.
    IsNull {
        /// The tested expression.
        operand: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `x IN (a, b)` or `x NOT IN (a, b)`.
    In {
        /// The tested expression.
        operand: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x BETWEEN low AND high`, or `x NOT BETWEEN low AND high`.
    Between {
        /// The tested expression.
        operand: Box<Expr>,
        /// The lower bound (inclusive).
        low: Box<Expr>,
        /// The upper bound (inclusive).
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `CONTAINS`, `STARTS WITH`, `ENDS WITH`.
    Text(TextOp, Box<Expr>, Box<Expr>),
}

/// A literal as written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Literal {
    /// `NULL`.
    Null,
    /// `TRUE` / `FALSE`.
    Bool(bool),
    /// An integer literal such as `42` or `1_000`.
    Int(i64),
    /// A decimal literal such as `0.6` or `1e3`.
    Float(f64),
    /// A string literal, escapes decoded.
    String(String),
    /// A duration literal such as `14d`.
    Duration(DurationLiteral),
    /// A timestamp literal such as `@2026-01-15T10:00:00Z`, as microseconds
    /// since the Unix epoch.
    Timestamp(i64),
}

/// A duration literal: an amount and its unit, kept as written so that
/// printing gives back `14d` rather than a count of microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DurationLiteral {
    /// How many units.
    pub amount: i64,
    /// Which unit.
    pub unit: DurationUnit,
}

/// The unit of a duration literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationUnit {
    /// `ms`
    Milliseconds,
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h`
    Hours,
    /// `d`
    Days,
    /// `w`
    Weeks,
}

impl DurationUnit {
    /// Microseconds in one unit.
    pub const fn micros(self) -> i64 {
        match self {
            DurationUnit::Milliseconds => 1_000,
            DurationUnit::Seconds => 1_000_000,
            DurationUnit::Minutes => 60_000_000,
            DurationUnit::Hours => 3_600_000_000,
            DurationUnit::Days => 86_400_000_000,
            DurationUnit::Weeks => 604_800_000_000,
        }
    }

    /// The suffix as written: `ms`, `s`, `m`, `h`, `d`, `w`.
    pub const fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Milliseconds => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
            DurationUnit::Weeks => "w",
        }
    }

    /// Parses a suffix.
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "ms" => DurationUnit::Milliseconds,
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            "w" => DurationUnit::Weeks,
            _ => return None,
        })
    }
}

impl DurationLiteral {
    /// The duration in microseconds, or `None` when it does not fit an `i64`.
    pub fn micros(&self) -> Option<i64> {
        self.amount.checked_mul(self.unit.micros())
    }
}

/// An event aggregate: `FUNCTION(event[.property] [WHERE filter] [window])`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Aggregate {
    /// Which aggregate.
    pub function: AggregateFn,
    /// The span of the function name.
    pub function_span: Span,
    /// The event type.
    pub event: Name,
    /// The aggregated property, for `sum`, `avg`, `min`, `max`.
    pub property: Option<Name>,
    /// The `WHERE` condition.
    pub filter: Option<Expr>,
    /// The `WITHIN` or `SINCE` window.
    pub window: Option<Window>,
}

/// The aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggregateFn {
    /// Number of matching events.
    Count,
    /// Sum of a property over matching events.
    Sum,
    /// Mean of a property over matching events.
    Avg,
    /// Smallest value of a property.
    Min,
    /// Largest value of a property.
    Max,
    /// Whether any event matches.
    Exists,
    /// The most recent matching event.
    Last,
    /// The oldest matching event.
    First,
}

impl AggregateFn {
    /// Every aggregate, in a fixed order.
    pub const ALL: [AggregateFn; 8] = [
        AggregateFn::Count,
        AggregateFn::Sum,
        AggregateFn::Avg,
        AggregateFn::Min,
        AggregateFn::Max,
        AggregateFn::Exists,
        AggregateFn::Last,
        AggregateFn::First,
    ];

    /// The name as written in expressions.
    pub const fn name(self) -> &'static str {
        match self {
            AggregateFn::Count => "count",
            AggregateFn::Sum => "sum",
            AggregateFn::Avg => "avg",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
            AggregateFn::Exists => "exists",
            AggregateFn::Last => "last",
            AggregateFn::First => "first",
        }
    }

    /// Looks up an aggregate by (case-insensitive) name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Whether the aggregate reads a property (`sum(purchase.amount)`).
    pub const fn takes_property(self) -> bool {
        matches!(
            self,
            AggregateFn::Sum | AggregateFn::Avg | AggregateFn::Min | AggregateFn::Max
        )
    }
}

/// The time window of an aggregate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Window {
    /// `WITHIN d`: events with `now − d < timestamp ≤ now`.
    Within(Expr),
    /// `SINCE t`: events with `t ≤ timestamp ≤ now`.
    Since(Expr),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnaryOp {
    /// `NOT` / `!`
    Not,
    /// `-`
    Neg,
}

/// `AND` / `OR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogicalOp {
    /// `AND` / `&&`
    And,
    /// `OR` / `||`
    Or,
}

/// Binary operators: arithmetic and comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `=` / `==`
    Eq,
    /// `!=` / `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl BinaryOp {
    /// The operator's canonical spelling.
    pub const fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
        }
    }

    /// Whether this is a comparison (as opposed to arithmetic).
    pub const fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }
}

/// String and list tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TextOp {
    /// `CONTAINS`: substring, or list membership.
    Contains,
    /// `STARTS WITH`
    StartsWith,
    /// `ENDS WITH`
    EndsWith,
}

impl TextOp {
    /// The operator as written.
    pub const fn keyword(self) -> &'static str {
        match self {
            TextOp::Contains => "CONTAINS",
            TextOp::StartsWith => "STARTS WITH",
            TextOp::EndsWith => "ENDS WITH",
        }
    }
}

impl fmt::Display for AggregateFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
