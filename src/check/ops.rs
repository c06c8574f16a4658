//! Typing of operators and built-in functions: each picks the exact operation
//! from its operands' static types, or reports both types.

use super::ir::*;
use super::{Checker, coerce, constant, negate_if, node, to_float, unify};
use crate::diagnostic::{Code, Diagnostic};
use crate::schema::Type;
use crate::syntax::{BinaryOp, Expr, Name, Span, TextOp, UnaryOp};
use crate::value::Value;

/// How two types compare, or `None` if they cannot be compared.
fn comparison(lhs: &Type, rhs: &Type) -> Option<Compare> {
    Some(match (lhs, rhs) {
        (Type::Null, _) | (_, Type::Null) => Compare::Null,
        (Type::Int, Type::Int)
        | (Type::Timestamp, Type::Timestamp)
        | (Type::Duration, Type::Duration) => Compare::Int,
        (Type::Float, Type::Float) => Compare::Float,
        (Type::Int, Type::Float) => Compare::IntFloat,
        (Type::Float, Type::Int) => Compare::FloatInt,
        (Type::String, Type::String) => Compare::Str,
        (Type::Bool, Type::Bool) => Compare::Bool,
        _ => return None,
    })
}

fn cmp_op(op: BinaryOp) -> CmpOp {
    match op {
        BinaryOp::Eq => CmpOp::Eq,
        BinaryOp::Ne => CmpOp::Ne,
        BinaryOp::Lt => CmpOp::Lt,
        BinaryOp::Le => CmpOp::Le,
        BinaryOp::Gt => CmpOp::Gt,
        _ => CmpOp::Ge,
    }
}

/// The operation `lhs op rhs` performs and its result type.
fn arithmetic(op: BinaryOp, lhs: &Type, rhs: &Type) -> Option<(Arith, Type)> {
    use Type::*;
    let int = |o| Some((Arith::Int(o), Int));
    let float = |o| Some((Arith::Float(o), Float));
    match (op, lhs, rhs) {
        (BinaryOp::Add, Int, Int) => int(IntOp::Add),
        (BinaryOp::Sub, Int, Int) => int(IntOp::Sub),
        (BinaryOp::Mul, Int, Int) => int(IntOp::Mul),
        (BinaryOp::Rem, Int, Int) => int(IntOp::Rem),
        (BinaryOp::Add, Int | Float, Int | Float) => float(FloatOp::Add),
        (BinaryOp::Sub, Int | Float, Int | Float) => float(FloatOp::Sub),
        (BinaryOp::Mul, Int | Float, Int | Float) => float(FloatOp::Mul),
        (BinaryOp::Div, Int | Float, Int | Float) => float(FloatOp::Div),
        (BinaryOp::Add, Timestamp, Duration) | (BinaryOp::Add, Duration, Timestamp) => {
            Some((Arith::Int(IntOp::Add), Timestamp))
        }
        (BinaryOp::Sub, Timestamp, Duration) => Some((Arith::Int(IntOp::Sub), Timestamp)),
        (BinaryOp::Sub, Timestamp, Timestamp) => Some((Arith::Int(IntOp::Sub), Duration)),
        (BinaryOp::Add, Duration, Duration) => Some((Arith::Int(IntOp::Add), Duration)),
        (BinaryOp::Sub, Duration, Duration) => Some((Arith::Int(IntOp::Sub), Duration)),
        (BinaryOp::Mul, Duration, Int) | (BinaryOp::Mul, Int, Duration) => {
            Some((Arith::Int(IntOp::Mul), Duration))
        }
        (BinaryOp::Mul, Duration, Float) | (BinaryOp::Mul, Float, Duration) => {
            Some((Arith::ScaleDuration(ScaleOp::Mul), Duration))
        }
        (BinaryOp::Div, Duration, Int | Float) => {
            Some((Arith::ScaleDuration(ScaleOp::Div), Duration))
        }
        _ => None,
    }
}

/// The type of arithmetic with a `NULL` literal operand: the first type the
/// literal could stand for that makes the operation valid (`NULL - ts` is a
/// duration, `ts + NULL` a timestamp). `None` when no operand is the literal,
/// or when no type fits (then the ordinary type error follows).
fn null_arithmetic(op: BinaryOp, lhs: &Type, rhs: &Type) -> Option<Type> {
    let other = match (lhs, rhs) {
        (Type::Null, Type::Null) => return Some(Type::Null),
        (Type::Null, other) | (other, Type::Null) => other,
        _ => return None,
    };
    [
        other.clone(),
        Type::Duration,
        Type::Int,
        Type::Float,
        Type::Timestamp,
    ]
    .iter()
    .find_map(|stand_in| {
        let (l, r) = if *lhs == Type::Null {
            (stand_in, rhs)
        } else {
            (lhs, stand_in)
        };
        arithmetic(op, l, r).map(|(_, ty)| ty)
    })
}

/// Numeric operands of `op`'s declared shape, with ints widened where the
/// operation is a float one (and the duration first for scaling).
fn shape_operands(arith: Arith, lhs: Node, rhs: Node) -> (Node, Node) {
    match arith {
        Arith::Float(_) => (to_float(lhs), to_float(rhs)),
        Arith::ScaleDuration(_) if lhs.ty == Type::Duration => (lhs, to_float(rhs)),
        Arith::ScaleDuration(_) => (rhs, to_float(lhs)),
        Arith::Int(_) => (lhs, rhs),
    }
}

impl Checker<'_> {
    pub(super) fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span) -> Option<Node> {
        let inner = self.expr(operand)?;
        match op {
            UnaryOp::Not => {
                let inner = self.require_bool(inner, operand.span, "NOT")?;
                Some(node(NodeKind::Not(Box::new(inner)), Type::Bool))
            }
            UnaryOp::Neg => match inner.ty {
                Type::Int | Type::Float | Type::Duration => {
                    let ty = inner.ty.clone();
                    Some(node(NodeKind::Neg(Box::new(inner)), ty))
                }
                Type::Null => Some(inner),
                ref other => {
                    let message = format!("cannot negate a value of type `{other}`");
                    let label = format!("this has type `{other}`");
                    self.error(
                        Diagnostic::error(Code::TypeMismatch, message, span).with_label(label),
                    )
                }
            },
        }
    }

    pub(super) fn binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
    ) -> Option<Node> {
        let (l, r) = (self.expr(lhs), self.expr(rhs));
        let (l, r) = (l?, r?);
        if op.is_comparison() {
            let kind = self.comparison(op, (&l, lhs.span), (&r, rhs.span), span)?;
            return Some(node(
                NodeKind::Compare(cmp_op(op), kind, Box::new(l), Box::new(r)),
                Type::Bool,
            ));
        }
        if let Some(ty) = null_arithmetic(op, &l.ty, &r.ty) {
            return Some(constant(Value::Null, ty));
        }
        let Some((arith, ty)) = arithmetic(op, &l.ty, &r.ty) else {
            let message = format!(
                "cannot apply `{}` to `{}` and `{}`",
                op.symbol(),
                l.ty,
                r.ty
            );
            let hint = match (op, &l.ty, &r.ty) {
                (BinaryOp::Rem, _, _) => "`%` takes two ints",
                (BinaryOp::Sub, Type::Duration, Type::Timestamp) => {
                    "write the timestamp first: `ts - d`"
                }
                _ => "numbers combine with numbers, timestamps with durations",
            };
            return self.error(
                Diagnostic::error(Code::TypeMismatch, message, lhs.span)
                    .with_label(format!("this has type `{}`", l.ty))
                    .with_secondary(rhs.span, format!("this has type `{}`", r.ty))
                    .with_help(hint),
            );
        };
        let (l, r) = shape_operands(arith, l, r);
        Some(node(NodeKind::Arith(arith, Box::new(l), Box::new(r)), ty))
    }

    /// The comparison kind for two operands, or a diagnostic naming both types.
    fn comparison(
        &mut self,
        op: BinaryOp,
        lhs: (&Node, Span),
        rhs: (&Node, Span),
        span: Span,
    ) -> Option<Compare> {
        let Some(kind) = comparison(&lhs.0.ty, &rhs.0.ty) else {
            let message = format!("cannot compare `{}` with `{}`", lhs.0.ty, rhs.0.ty);
            return self.error(
                Diagnostic::error(Code::IncomparableTypes, message, lhs.1)
                    .with_label(format!("this has type `{}`", lhs.0.ty))
                    .with_secondary(rhs.1, format!("this has type `{}`", rhs.0.ty)),
            );
        };
        if kind == Compare::Bool && !matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            return self.error(
                Diagnostic::error(
                    Code::IncomparableTypes,
                    format!(
                        "bools compare only with `=` and `!=`, not `{}`",
                        op.symbol()
                    ),
                    span,
                )
                .with_label("ordering comparison of bools"),
            );
        }
        Some(kind)
    }

    pub(super) fn in_list(
        &mut self,
        operand: &Expr,
        list: &[Expr],
        negated: bool,
        span: Span,
    ) -> Option<Node> {
        let value = self.expr(operand);
        let items = self.all(list);
        let (value, items) = (value?, items?);
        let item_type = self.unify_all(list, &items, span, "the items of an `IN` list")?;
        self.comparison(
            BinaryOp::Eq,
            (&value, operand.span),
            (&constant(Value::Null, item_type), span),
            span,
        )?;
        // The items keep their own types: `x IN (a, b)` is `x = a OR x = b`,
        // and each `=` compares an int with a float exactly.
        let items = items
            .into_iter()
            .map(|item| Some((comparison(&value.ty, &item.ty)?, item)))
            .collect::<Option<Vec<_>>>()?;
        let test = node(NodeKind::In(Box::new(value), items), Type::Bool);
        Some(negate_if(test, negated))
    }

    pub(super) fn between(
        &mut self,
        operand: &Expr,
        low: &Expr,
        high: &Expr,
        negated: bool,
    ) -> Option<Node> {
        let (v, l, h) = (self.expr(operand), self.expr(low), self.expr(high));
        let (v, l, h) = (v?, l?, h?);
        let bounds_type = unify(&l.ty, &h.ty);
        let Some(bounds_type) = bounds_type else {
            return self.error(
                Diagnostic::error(
                    Code::IncomparableTypes,
                    format!(
                        "the bounds of `BETWEEN` have different types, `{}` and `{}`",
                        l.ty, h.ty
                    ),
                    low.span,
                )
                .with_label(format!("this has type `{}`", l.ty))
                .with_secondary(high.span, format!("this has type `{}`", h.ty)),
            );
        };
        let bound = constant(Value::Null, bounds_type);
        self.comparison(
            BinaryOp::Le,
            (&v, operand.span),
            (&bound, low.span.to(high.span)),
            operand.span,
        )?;
        // As for `IN`: `x BETWEEN a AND b` is `x >= a AND x <= b`, each bound
        // compared in its own type.
        let (low_kind, high_kind) = (comparison(&v.ty, &l.ty)?, comparison(&v.ty, &h.ty)?);
        let test = node(
            NodeKind::Between(
                Box::new(v),
                (low_kind, Box::new(l)),
                (high_kind, Box::new(h)),
            ),
            Type::Bool,
        );
        Some(negate_if(test, negated))
    }

    pub(super) fn text(&mut self, op: TextOp, lhs: &Expr, rhs: &Expr, span: Span) -> Option<Node> {
        let (l, r) = (self.expr(lhs), self.expr(rhs));
        let (l, r) = (l?, r?);
        match (&l.ty, &r.ty, op) {
            (Type::String | Type::Null, Type::String | Type::Null, _) => {
                let (l, r) = (coerce(l, &Type::String), coerce(r, &Type::String));
                Some(node(
                    NodeKind::Text(op, Box::new(l), Box::new(r)),
                    Type::Bool,
                ))
            }
            (Type::List(item), _, TextOp::Contains) => {
                let item = (**item).clone();
                let kind = self.comparison(
                    BinaryOp::Eq,
                    (&constant(Value::Null, item.clone()), lhs.span),
                    (&r, rhs.span),
                    span,
                )?;
                // Membership is `=` on each element: an int item is compared
                // with float elements exactly, not widened first.
                Some(node(
                    NodeKind::ListContains(kind, Box::new(l), Box::new(r)),
                    Type::Bool,
                ))
            }
            _ => {
                let message = format!(
                    "`{}` needs strings (or a list for CONTAINS), found `{}` and `{}`",
                    op.keyword(),
                    l.ty,
                    r.ty
                );
                self.error(
                    Diagnostic::error(Code::TypeMismatch, message, lhs.span)
                        .with_label(format!("this has type `{}`", l.ty))
                        .with_secondary(rhs.span, format!("this has type `{}`", r.ty)),
                )
            }
        }
    }
}

// ------------------------------------------------------------------ functions

/// The functions callable by name, for suggestions.
const FUNCTIONS: [&str; 17] = [
    "lower",
    "upper",
    "length",
    "abs",
    "round",
    "floor",
    "ceil",
    "least",
    "greatest",
    "coalesce",
    "days_since",
    "hours_since",
    "hour_of_day",
    "day_of_week",
    "bucket",
    "now",
    "count",
];

impl Checker<'_> {
    pub(super) fn call(&mut self, name: &Name, args: &[Expr], span: Span) -> Option<Node> {
        let function = name.text.to_ascii_lowercase();
        let arity = match function.as_str() {
            "now" => 0..=0,
            "lower" | "upper" | "length" | "abs" | "floor" | "ceil" | "days_since"
            | "hours_since" => 1..=1,
            "round" => 1..=2,
            "hour_of_day" | "day_of_week" | "bucket" => 2..=2,
            "least" | "greatest" | "coalesce" => 1..=usize::MAX,
            _ => {
                let suggestion = super::names::suggest(&function, FUNCTIONS.into_iter());
                let diagnostic = Diagnostic::error(
                    Code::UnknownFunction,
                    format!("unknown function `{}`", name.text),
                    name.span,
                );
                let diagnostic = match suggestion {
                    Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                    None => diagnostic.with_label("not a function"),
                };
                return self.error(diagnostic);
            }
        };
        let nodes = self.all(args)?;
        if !arity.contains(&nodes.len()) {
            let expected = match (arity.start(), arity.end()) {
                (a, b) if a == b => format!("{a} argument{}", if *a == 1 { "" } else { "s" }),
                (a, &usize::MAX) => {
                    format!("at least {a} argument{}", if *a == 1 { "" } else { "s" })
                }
                (a, b) => format!("{a} or {b} arguments"),
            };
            return self.error(
                Diagnostic::error(
                    Code::WrongArity,
                    format!(
                        "`{function}` takes {expected}, but {} {} given",
                        nodes.len(),
                        if nodes.len() == 1 { "was" } else { "were" }
                    ),
                    span,
                )
                .with_label(format!("expected {expected}")),
            );
        }
        self.typed_call(&function, nodes, args, span)
    }

    fn argument_error(
        &mut self,
        function: &str,
        expected: &str,
        arg: &Node,
        span: Span,
    ) -> Option<Node> {
        self.error(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("`{function}` needs {expected}, found `{}`", arg.ty),
                span,
            )
            .with_label(format!("this has type `{}`", arg.ty)),
        )
    }

    fn typed_call(
        &mut self,
        function: &str,
        mut nodes: Vec<Node>,
        args: &[Expr],
        span: Span,
    ) -> Option<Node> {
        let span_of = |i: usize| args.get(i).map_or(span, |a| a.span);
        let call =
            |f: Function, nodes: Vec<Node>, ty: Type| Some(node(NodeKind::Call(f, nodes), ty));
        let first_type = nodes.first().map(|n| n.ty.clone()).unwrap_or(Type::Null);
        match (function, &first_type) {
            ("now", _) => Some(node(NodeKind::Now, Type::Timestamp)),
            (_, Type::Null)
                if !matches!(function, "least" | "greatest" | "coalesce" | "bucket") =>
            {
                // A NULL literal argument leaves numeric functions untyped, like
                // the literal itself.
                let ty = match function {
                    "lower" | "upper" => Type::String,
                    "abs" | "round" | "floor" | "ceil" => Type::Null,
                    _ => Type::Int,
                };
                Some(constant(Value::Null, ty))
            }
            ("lower", Type::String) => call(Function::Lower, nodes, Type::String),
            ("upper", Type::String) => call(Function::Upper, nodes, Type::String),
            ("length", Type::String) => call(Function::LengthString, nodes, Type::Int),
            ("length", Type::List(_)) => call(Function::LengthList, nodes, Type::Int),
            ("abs", Type::Int) => call(Function::AbsInt, nodes, Type::Int),
            ("abs", Type::Float) => call(Function::AbsFloat, nodes, Type::Float),
            ("round" | "floor" | "ceil", Type::Int) if nodes.len() == 1 => nodes.pop(),
            ("round", Type::Int | Type::Float) if nodes.len() == 2 => {
                let digits = nodes.pop()?;
                if !matches!(digits.ty, Type::Int | Type::Null) {
                    return self.argument_error(
                        "round",
                        "an int number of digits",
                        &digits,
                        span_of(1),
                    );
                }
                let digits = coerce(digits, &Type::Int);
                let value = to_float(nodes.pop()?);
                call(Function::RoundDigits, vec![value, digits], Type::Float)
            }
            ("round", Type::Float) => call(Function::Round, nodes, Type::Float),
            ("floor", Type::Float) => call(Function::Floor, nodes, Type::Float),
            ("ceil", Type::Float) => call(Function::Ceil, nodes, Type::Float),
            ("days_since", Type::Timestamp) => call(Function::DaysSince, nodes, Type::Int),
            ("hours_since", Type::Timestamp) => call(Function::HoursSince, nodes, Type::Int),
            ("hour_of_day" | "day_of_week", Type::Timestamp) => {
                self.local_time(function, nodes, span_of(1))
            }
            ("bucket", _) => self.bucket(nodes, args, span),
            ("least" | "greatest" | "coalesce", _) => self.variadic(function, nodes, args, span),
            (_, _) => {
                let expected = match function {
                    "lower" | "upper" => "a string",
                    "length" => "a string or a list",
                    "abs" | "round" | "floor" | "ceil" => "a number",
                    _ => "a timestamp",
                };
                let first = nodes.first()?.clone();
                self.argument_error(function, expected, &first, span_of(0))
            }
        }
    }

    fn local_time(
        &mut self,
        function: &str,
        mut nodes: Vec<Node>,
        zone_span: Span,
    ) -> Option<Node> {
        let part = if function == "hour_of_day" {
            LocalPart::HourOfDay
        } else {
            LocalPart::DayOfWeek
        };
        let zone = nodes.pop()?;
        let resolved = match (&zone.kind, &zone.ty) {
            (NodeKind::Const(Value::String(name)), _) => match name.parse::<chrono_tz::Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    let suggestion = super::names::suggest(
                        name,
                        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
                    );
                    let diagnostic = Diagnostic::error(
                        Code::UnknownTimeZone,
                        format!("unknown time zone `{name}`"),
                        zone_span,
                    );
                    let diagnostic = match suggestion {
                        Some(s) => diagnostic.with_label(format!("did you mean `{s}`?")),
                        None => diagnostic
                            .with_label("expected an IANA zone name such as `Europe/Berlin`"),
                    };
                    return self.error(diagnostic);
                }
            },
            (_, Type::String | Type::Null) => None,
            _ => {
                return self.argument_error(
                    function,
                    "an IANA time-zone name as its second argument",
                    &zone,
                    zone_span,
                );
            }
        };
        let zone = coerce(zone, &Type::String);
        let ts = nodes.pop()?;
        Some(node(
            NodeKind::Call(Function::Local(part, resolved), vec![ts, zone]),
            Type::Int,
        ))
    }

    fn bucket(&mut self, nodes: Vec<Node>, args: &[Expr], span: Span) -> Option<Node> {
        let mut typed = Vec::with_capacity(2);
        for (i, (n, wanted)) in nodes
            .into_iter()
            .zip(["a string or int key", "a string salt"])
            .enumerate()
        {
            let fits = match i {
                0 => matches!(n.ty, Type::String | Type::Int | Type::Null),
                _ => matches!(n.ty, Type::String | Type::Null),
            };
            if !fits {
                let at = args.get(i).map_or(span, |a| a.span);
                return self.argument_error("bucket", wanted, &n, at);
            }
            typed.push(if n.ty == Type::Null {
                constant(Value::Null, Type::String)
            } else {
                n
            });
        }
        Some(node(NodeKind::Call(Function::Bucket, typed), Type::Int))
    }

    fn variadic(
        &mut self,
        function: &str,
        nodes: Vec<Node>,
        args: &[Expr],
        span: Span,
    ) -> Option<Node> {
        let what = format!("the arguments of `{function}`");
        let ty = self.unify_all(args, &nodes, span, &what)?;
        let nodes: Vec<Node> = nodes.into_iter().map(|n| coerce(n, &ty)).collect();
        if function == "coalesce" {
            return Some(node(NodeKind::Call(Function::Coalesce, nodes), ty));
        }
        let kind = match comparison(&ty, &ty) {
            Some(Compare::Bool) | None => {
                let first = nodes.first()?.clone();
                return self.argument_error(function, "values with an order", &first, span);
            }
            Some(kind) => kind,
        };
        Some(node(
            NodeKind::Call(Function::Extreme(kind, function == "greatest"), nodes),
            ty,
        ))
    }
}
