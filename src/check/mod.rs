//! Stage 2, check: AST + [`Schema`] → typed IR.
//!
//! Input: an [`Expr`] from the syntax stage and the schema it is written
//! against. Output: a [`Node`] tree in which every name is a slot and every
//! operation is chosen from static types, or every diagnostic found (the
//! checker keeps going after an error, and an erroneous subtree is silent so
//! one mistake gives one diagnostic). Invariant: a tree that checks never has
//! a type error at run time.

pub(crate) mod ir;
mod names;
pub(crate) use names::suggest;
mod ops;

use std::collections::BTreeSet;

use crate::diagnostic::{Code, Diagnostic};
use crate::limits::Limits;
use crate::schema::{Schema, Type};
use crate::syntax::{Aggregate, AggregateFn, Expr, ExprKind, Literal, Span, Window};
use crate::value::{Duration, Timestamp, Value};
use ir::*;

/// The most diagnostics reported for one expression.
pub(crate) const MAX_DIAGNOSTICS: usize = 100;

/// What the surrounding rule makes available to an expression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// `journey.entered_at` may be used (journey exit conditions).
    pub journey: bool,
}

/// The attribute slots and event types an expression reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    pub attributes: BTreeSet<usize>,
    pub events: BTreeSet<usize>,
}

/// A checked expression.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub root: Node,
    pub reads: Reads,
}

/// Checks `expr` against `schema`. `expected` is the type the use requires
/// (`bool` for a trigger), or `None` for any type.
pub(crate) fn check(
    expr: &Expr,
    schema: &Schema,
    limits: &Limits,
    context: Context,
    expected: Option<Expected>,
) -> Result<Checked, Vec<Diagnostic>> {
    let mut checker = Checker {
        schema,
        diagnostics: Vec::new(),
        scope: None,
        aggregates: 0,
        max_aggregates: limits.max_aggregates(),
        reads: Reads::default(),
        context,
    };
    let root = checker.expr(expr);
    if let (Some(node), Some(expected)) = (&root, expected)
        && !expected.accepts(&node.ty)
    {
        checker.diagnostics.push(
            Diagnostic::error(
                Code::WrongResultType,
                format!(
                    "{} must be {}, found `{}`",
                    expected.what(),
                    expected.type_name(),
                    node.ty
                ),
                expr.span,
            )
            .with_label(format!("this has type `{}`", node.ty)),
        );
    }
    match root {
        Some(root) if checker.diagnostics.is_empty() => Ok(Checked {
            root,
            reads: checker.reads,
        }),
        _ => Err(checker.diagnostics),
    }
}

/// The result type a use of an expression requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// A trigger or condition: `bool`.
    Bool,
    /// A score: `int` or `float`.
    Number,
}

impl Expected {
    fn accepts(self, ty: &Type) -> bool {
        match self {
            Expected::Bool => matches!(ty, Type::Bool | Type::Null),
            Expected::Number => matches!(ty, Type::Int | Type::Float | Type::Null),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Expected::Bool => "a trigger",
            Expected::Number => "a score",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Expected::Bool => "`bool`",
            Expected::Number => "a number (`int` or `float`)",
        }
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    diagnostics: Vec<Diagnostic>,
    /// The event type bound by the innermost `WHERE`.
    scope: Option<usize>,
    aggregates: usize,
    max_aggregates: usize,
    reads: Reads,
    context: Context,
}

fn node(kind: NodeKind, ty: Type) -> Node {
    Node { kind, ty }
}

fn constant(value: Value, ty: Type) -> Node {
    node(NodeKind::Const(value), ty)
}

impl Checker<'_> {
    fn error<T>(&mut self, diagnostic: Diagnostic) -> Option<T> {
        self.report(diagnostic);
        None
    }

    /// Records a diagnostic; past [`MAX_DIAGNOSTICS`] the rest are dropped, so
    /// a generated expression with a repeated mistake stays readable.
    fn report(&mut self, diagnostic: Diagnostic) {
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(diagnostic);
        }
    }

    fn expr(&mut self, expr: &Expr) -> Option<Node> {
        match &expr.kind {
            ExprKind::Literal(literal) => Some(literal_node(literal)),
            ExprKind::Name(name) => self.name(name),
            ExprKind::Field(base, field) => self.field(base, field, expr.span),
            ExprKind::Call(name, args) => self.call(name, args, expr.span),
            ExprKind::Aggregate(aggregate) => self.aggregate_value(aggregate, expr.span),
            ExprKind::List(items) => self.list(items, expr.span),
            ExprKind::Unary(op, operand) => self.unary(*op, operand, expr.span),
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, expr.span),
            ExprKind::Logical(op, operands) => self.logical(*op, operands),
            ExprKind::IsNull { operand, negated } => {
                let operand = self.expr(operand)?;
                let test = node(NodeKind::IsNull(Box::new(operand)), Type::Bool);
                Some(negate_if(test, *negated))
            }
            ExprKind::In {
                operand,
                list,
                negated,
            } => self.in_list(operand, list, *negated, expr.span),
            ExprKind::Between {
                operand,
                low,
                high,
                negated,
            } => self.between(operand, low, high, *negated),
            ExprKind::Text(op, lhs, rhs) => self.text(*op, lhs, rhs, expr.span),
        }
    }

    /// Checks every expression, so all their errors are reported, then gives
    /// them back only if all checked.
    fn all(&mut self, exprs: &[Expr]) -> Option<Vec<Node>> {
        let nodes: Vec<Option<Node>> = exprs.iter().map(|e| self.expr(e)).collect();
        nodes.into_iter().collect()
    }

    fn list(&mut self, items: &[Expr], span: Span) -> Option<Node> {
        let nodes = self.all(items)?;
        let item_type = self.unify_all(items, &nodes, span, "list items")?;
        let nodes = nodes.into_iter().map(|n| coerce(n, &item_type)).collect();
        Some(node(NodeKind::List(nodes), Type::List(Box::new(item_type))))
    }

    /// The common type of `nodes` (ints widen to floats, NULL fits anything).
    fn unify_all(
        &mut self,
        exprs: &[Expr],
        nodes: &[Node],
        span: Span,
        what: &str,
    ) -> Option<Type> {
        let mut common = Type::Null;
        let mut first_typed: Option<(Span, &Type)> = None;
        for (expr, node) in exprs.iter().zip(nodes) {
            match unify(&common, &node.ty) {
                Some(ty) => common = ty,
                None => {
                    let mut diagnostic = Diagnostic::error(
                        Code::MixedList,
                        format!(
                            "{what} must have one type, found `{common}` and `{}`",
                            node.ty
                        ),
                        expr.span,
                    )
                    .with_label(format!("this has type `{}`", node.ty));
                    if let Some((first_span, first_ty)) = first_typed {
                        diagnostic = diagnostic
                            .with_secondary(first_span, format!("this has type `{first_ty}`"));
                    } else {
                        diagnostic = diagnostic.with_secondary(span, "in this list");
                    }
                    return self.error(diagnostic);
                }
            }
            if first_typed.is_none() && node.ty != Type::Null {
                first_typed = Some((expr.span, &node.ty));
            }
        }
        Some(common)
    }

    fn logical(&mut self, op: crate::syntax::LogicalOp, operands: &[Expr]) -> Option<Node> {
        let nodes: Vec<Option<Node>> = operands
            .iter()
            .map(|e| {
                let node = self.expr(e)?;
                self.require_bool(node, e.span, op_name(op))
            })
            .collect();
        let nodes: Vec<Node> = nodes.into_iter().collect::<Option<_>>()?;
        let kind = match op {
            crate::syntax::LogicalOp::And => NodeKind::And(nodes),
            crate::syntax::LogicalOp::Or => NodeKind::Or(nodes),
        };
        Some(node(kind, Type::Bool))
    }

    fn require_bool(&mut self, operand: Node, span: Span, operator: &str) -> Option<Node> {
        match operand.ty {
            Type::Bool => Some(operand),
            Type::Null => Some(constant(Value::Null, Type::Bool)),
            ref other => {
                let message = format!("`{operator}` needs `bool` operands, found `{other}`");
                let label = format!("this has type `{other}`");
                self.error(Diagnostic::error(Code::TypeMismatch, message, span).with_label(label))
            }
        }
    }

    fn count_aggregate(&mut self, span: Span) -> Option<()> {
        self.aggregates += 1;
        if self.aggregates == self.max_aggregates + 1 {
            return self.error(
                Diagnostic::error(
                    Code::TooManyAggregates,
                    format!(
                        "more than {} aggregates in one expression",
                        self.max_aggregates
                    ),
                    span,
                )
                .with_label("the limit is reached here")
                .with_help("raise the aggregate limit, or split the rule"),
            );
        }
        (self.aggregates <= self.max_aggregates).then_some(())
    }

    /// An aggregate used as a value (not `last(…)`/`first(…)`, which need a field).
    fn aggregate_value(&mut self, aggregate: &Aggregate, span: Span) -> Option<Node> {
        let node_ = self.aggregate(aggregate, span)?;
        let ty = match node_.function {
            AggregateFn::Count => Type::Int,
            AggregateFn::Exists => Type::Bool,
            AggregateFn::Avg => Type::Float,
            AggregateFn::Sum | AggregateFn::Min | AggregateFn::Max => node_.property_type.clone(),
            AggregateFn::Last | AggregateFn::First => {
                let function = node_.function.name();
                let event = &aggregate.event.text;
                return self.error(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("`{function}({event})` is an event, not a value"),
                        span,
                    )
                    .with_label("read one of its fields")
                    .with_help(format!(
                        "write `{function}({event}).timestamp` or `{function}({event}).<property>`"
                    )),
                );
            }
        };
        Some(node(NodeKind::Aggregate(Box::new(node_)), ty))
    }

    fn aggregate(&mut self, aggregate: &Aggregate, span: Span) -> Option<AggregateNode> {
        let counted = self.count_aggregate(span);
        let window = match &aggregate.window {
            None => Some(WindowNode::All),
            Some(Window::Within(d)) => self
                .typed(
                    d,
                    &Type::Duration,
                    "`WITHIN` needs a duration, such as `7d`",
                )
                .map(|n| WindowNode::Within(Box::new(n))),
            Some(Window::Since(t)) => self
                .typed(
                    t,
                    &Type::Timestamp,
                    "`SINCE` needs a timestamp, such as `@2026-01-15`",
                )
                .map(|n| WindowNode::Since(Box::new(n))),
        };
        if aggregate.event.text.is_empty() {
            return None; // the parser already reported the malformed argument
        }
        let (event, event_schema) = self.event_type(&aggregate.event)?;
        let (property, property_type) = match &aggregate.property {
            None => (None, Type::Null),
            Some(name) => {
                let Some((slot, ty)) = event_schema.get(&name.text) else {
                    let suggestion =
                        names::suggest(&name.text, event_schema.properties().map(|(n, _)| n));
                    let message = format!(
                        "event `{}` has no property `{}`",
                        aggregate.event.text, name.text
                    );
                    self.report(names::unknown(
                        Code::UnknownProperty,
                        message,
                        name.span,
                        suggestion,
                    ));
                    return None;
                };
                let ty = ty.clone();
                if !self.aggregable(aggregate.function, &ty, name.span) {
                    return None;
                }
                (Some(slot), ty)
            }
        };
        let outer = self.scope.replace(event);
        let filter = aggregate
            .filter
            .as_ref()
            .map(|f| self.typed(f, &Type::Bool, "`WHERE` needs a condition"));
        self.scope = outer;
        let filter = match filter {
            Some(f) => Some(f?),
            None => None,
        };
        counted?;
        Some(AggregateNode {
            function: aggregate.function,
            event,
            property,
            property_type,
            filter,
            window: window?,
        })
    }

    /// Whether `function` can aggregate a property of type `ty`.
    fn aggregable(&mut self, function: AggregateFn, ty: &Type, span: Span) -> bool {
        let fits = match function {
            AggregateFn::Sum | AggregateFn::Avg => ty.is_numeric(),
            _ => matches!(
                ty,
                Type::Int | Type::Float | Type::String | Type::Timestamp | Type::Duration
            ),
        };
        if !fits {
            let needs = if matches!(function, AggregateFn::Sum | AggregateFn::Avg) {
                "a numeric property"
            } else {
                "a property with an order"
            };
            self.report(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("`{}` needs {needs}, found `{ty}`", function.name()),
                    span,
                )
                .with_label(format!("this property has type `{ty}`")),
            );
        }
        fits
    }

    /// Checks `expr` and requires `ty` (NULL accepted).
    fn typed(&mut self, expr: &Expr, ty: &Type, message: &str) -> Option<Node> {
        let node_ = self.expr(expr)?;
        if node_.ty == *ty {
            return Some(node_);
        }
        if node_.ty == Type::Null {
            return Some(constant(Value::Null, ty.clone()));
        }
        let found = node_.ty.clone();
        self.error(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("{message}, found `{found}`"),
                expr.span,
            )
            .with_label(format!("expected `{ty}`, found `{found}`")),
        )
    }
}

fn op_name(op: crate::syntax::LogicalOp) -> &'static str {
    match op {
        crate::syntax::LogicalOp::And => "AND",
        crate::syntax::LogicalOp::Or => "OR",
    }
}

fn negate_if(test: Node, negated: bool) -> Node {
    if negated {
        node(NodeKind::Not(Box::new(test)), Type::Bool)
    } else {
        test
    }
}

fn literal_node(literal: &Literal) -> Node {
    match literal {
        Literal::Null => constant(Value::Null, Type::Null),
        Literal::Bool(b) => constant(Value::Bool(*b), Type::Bool),
        Literal::Int(i) => constant(Value::Int(*i), Type::Int),
        Literal::Float(x) => constant(Value::Float(*x), Type::Float),
        Literal::String(s) => constant(Value::String(s.as_str().into()), Type::String),
        Literal::Duration(d) => match d.micros() {
            Some(micros) => constant(
                Value::Duration(Duration::from_micros(micros)),
                Type::Duration,
            ),
            None => constant(Value::Null, Type::Duration),
        },
        Literal::Timestamp(micros) => constant(
            Value::Timestamp(Timestamp::from_micros(*micros)),
            Type::Timestamp,
        ),
    }
}

/// The common type of two types, if any: NULL fits anything, ints widen.
pub(crate) fn unify(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Null, t) | (t, Type::Null) => Some(t.clone()),
        (Type::Int, Type::Float) | (Type::Float, Type::Int) => Some(Type::Float),
        (Type::List(x), Type::List(y)) => unify(x, y).map(|t| Type::List(Box::new(t))),
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

/// Converts a node to `ty` (a result of [`unify`]): widen ints, type NULLs.
pub(crate) fn coerce(n: Node, ty: &Type) -> Node {
    match (&n.ty, ty) {
        (Type::Int, Type::Float) => to_float(n),
        (Type::Null, _) => constant(Value::Null, ty.clone()),
        (Type::List(from), Type::List(to)) if from != to => match n.kind {
            NodeKind::List(items) => node(
                NodeKind::List(items.into_iter().map(|i| coerce(i, to)).collect()),
                ty.clone(),
            ),
            kind => node(kind, ty.clone()),
        },
        _ => n,
    }
}

/// An int node as a float node (constants folded).
pub(crate) fn to_float(n: Node) -> Node {
    match n.kind {
        #[allow(clippy::cast_precision_loss)]
        NodeKind::Const(Value::Int(i)) => constant(Value::Float(i as f64), Type::Float),
        NodeKind::Const(Value::Null) => constant(Value::Null, Type::Float),
        _ if n.ty == Type::Float => n,
        _ => node(NodeKind::ToFloat(Box::new(n)), Type::Float),
    }
}
