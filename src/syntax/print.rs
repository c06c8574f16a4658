//! AST → text. `Display` prints the canonical source form, with the fewest
//! parentheses that keep the tree's shape, so `parse(print(e))` gives `e` back;
//! [`Expr::dump`] prints the tree itself as an S-expression, for test corpora.

use std::fmt::{self, Write as _};

use super::ast::*;

/// Binding strength, lowest first; one table for the whole language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    Or,
    And,
    Not,
    Predicate,
    Sum,
    Product,
    Neg,
    Postfix,
}

fn precedence(expr: &Expr) -> Precedence {
    match &expr.kind {
        ExprKind::Logical(LogicalOp::Or, _) => Precedence::Or,
        ExprKind::Logical(LogicalOp::And, _) => Precedence::And,
        ExprKind::Unary(UnaryOp::Not, _) => Precedence::Not,
        ExprKind::Binary(op, ..) if op.is_comparison() => Precedence::Predicate,
        ExprKind::IsNull { .. }
        | ExprKind::In { .. }
        | ExprKind::Between { .. }
        | ExprKind::Text(..) => Precedence::Predicate,
        ExprKind::Binary(BinaryOp::Add | BinaryOp::Sub, ..) => Precedence::Sum,
        ExprKind::Binary(..) => Precedence::Product,
        ExprKind::Unary(UnaryOp::Neg, _) => Precedence::Neg,
        _ => Precedence::Postfix,
    }
}

/// Writes `expr`, in parentheses when it binds less tightly than `min`.
fn operand(f: &mut fmt::Formatter<'_>, expr: &Expr, min: Precedence) -> fmt::Result {
    if precedence(expr) < min {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

fn comma_separated(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(literal) => write!(f, "{literal}"),
            ExprKind::Name(name) => write!(f, "{name}"),
            ExprKind::Field(base, name) => {
                operand(f, base, Precedence::Postfix)?;
                write!(f, ".{name}")
            }
            ExprKind::Call(name, args) => {
                write!(f, "{name}(")?;
                comma_separated(f, args)?;
                f.write_str(")")
            }
            ExprKind::Aggregate(aggregate) => write!(f, "{aggregate}"),
            ExprKind::List(items) => {
                f.write_str("[")?;
                comma_separated(f, items)?;
                f.write_str("]")
            }
            ExprKind::Unary(UnaryOp::Not, inner) => {
                f.write_str("NOT ")?;
                operand(f, inner, Precedence::Not)
            }
            ExprKind::Unary(UnaryOp::Neg, inner) => {
                f.write_str("-")?;
                operand(f, inner, Precedence::Neg)
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let own = precedence(self);
                // Comparisons do not associate; arithmetic associates to the left.
                let (left_min, right_min) = match own {
                    Precedence::Predicate => (Precedence::Sum, Precedence::Sum),
                    Precedence::Sum => (Precedence::Sum, Precedence::Product),
                    _ => (Precedence::Product, Precedence::Neg),
                };
                operand(f, lhs, left_min)?;
                write!(f, " {} ", op.symbol())?;
                operand(f, rhs, right_min)
            }
            ExprKind::Logical(op, operands) => {
                // A nested chain of the same operator keeps its parentheses, so
                // the flattened shape survives a round trip.
                let min = match op {
                    LogicalOp::Or => Precedence::And,
                    LogicalOp::And => Precedence::Not,
                };
                let keyword = match op {
                    LogicalOp::Or => " OR ",
                    LogicalOp::And => " AND ",
                };
                for (i, item) in operands.iter().enumerate() {
                    if i > 0 {
                        f.write_str(keyword)?;
                    }
                    operand(f, item, min)?;
                }
                Ok(())
            }
            ExprKind::IsNull {
                operand: inner,
                negated,
            } => {
                operand(f, inner, Precedence::Sum)?;
                f.write_str(if *negated { " IS NOT NULL" } else { " IS NULL" })
            }
            ExprKind::In {
                operand: inner,
                list,
                negated,
            } => {
                operand(f, inner, Precedence::Sum)?;
                f.write_str(if *negated { " NOT IN " } else { " IN " })?;
                // `()` is not a list (it would be an empty parenthesis); `[]` is.
                let (open, close) = if list.is_empty() {
                    ("[", "]")
                } else {
                    ("(", ")")
                };
                f.write_str(open)?;
                comma_separated(f, list)?;
                f.write_str(close)
            }
            ExprKind::Between {
                operand: inner,
                low,
                high,
                negated,
            } => {
                operand(f, inner, Precedence::Sum)?;
                f.write_str(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                })?;
                operand(f, low, Precedence::Sum)?;
                f.write_str(" AND ")?;
                operand(f, high, Precedence::Sum)
            }
            ExprKind::Text(op, lhs, rhs) => {
                operand(f, lhs, Precedence::Sum)?;
                write!(f, " {} ", op.keyword())?;
                operand(f, rhs, Precedence::Sum)
            }
        }
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({}", self.function, self.event)?;
        if let Some(property) = &self.property {
            write!(f, ".{property}")?;
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        match &self.window {
            Some(Window::Within(d)) => write!(f, " WITHIN {d}")?,
            Some(Window::Since(t)) => write!(f, " SINCE {t}")?,
            None => {}
        }
        f.write_str(")")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_plain_identifier(&self.text) {
            f.write_str(&self.text)
        } else {
            write!(f, "`{}`", self.text)
        }
    }
}

const KEYWORDS: [&str; 16] = [
    "and", "or", "not", "in", "is", "null", "true", "false", "between", "where", "within", "since",
    "contains", "starts", "ends", "with",
];

/// Whether `text` can be written without backticks.
pub(crate) fn is_plain_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(text))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Bool(true) => f.write_str("TRUE"),
            Literal::Bool(false) => f.write_str("FALSE"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write_float(f, *x),
            Literal::String(s) => write_string(f, s),
            Literal::Duration(d) => write!(f, "{}{}", d.amount, d.unit.suffix()),
            Literal::Timestamp(micros) => {
                write!(f, "@{}", crate::value::Timestamp::from_micros(*micros))
            }
        }
    }
}

/// A float that reads back as the same float, and as a float (`1.0`, not `1`).
fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    let text = format!("{x:?}");
    if text.contains(['.', 'e', 'E']) {
        f.write_str(&text)
    } else {
        write!(f, "{text}.0")
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('\'')
}

impl Expr {
    /// The tree as an S-expression, without spans: two trees are the same
    /// exactly when their dumps are equal.
    ///
    /// ```
    /// let expr = nextbest::syntax::parse("a < 0.6 * b AND NOT c").unwrap();
    /// assert_eq!(expr.dump(), "(and (< a (* 0.6 b)) (not c))");
    /// ```
    pub fn dump(&self) -> String {
        let mut out = String::new();
        self.dump_into(&mut out);
        out
    }

    fn dump_into(&self, out: &mut String) {
        let list = |out: &mut String, head: &str, items: &[&Expr]| {
            out.push('(');
            out.push_str(head);
            for item in items {
                out.push(' ');
                item.dump_into(out);
            }
            out.push(')');
        };
        match &self.kind {
            ExprKind::Literal(literal) => {
                let _ = write!(out, "{literal}");
            }
            ExprKind::Name(name) => {
                let _ = write!(out, "{name}");
            }
            ExprKind::Field(base, name) => list(out, &format!(".{name}"), &[base]),
            ExprKind::Call(name, args) => list(
                out,
                &format!("call {name}"),
                &args.iter().collect::<Vec<_>>(),
            ),
            ExprKind::Aggregate(a) => {
                let mut head = format!("{} {}", a.function, a.event);
                if let Some(p) = &a.property {
                    let _ = write!(head, ".{p}");
                }
                out.push('(');
                out.push_str(&head);
                if let Some(filter) = &a.filter {
                    out.push_str(" (where ");
                    filter.dump_into(out);
                    out.push(')');
                }
                match &a.window {
                    Some(Window::Within(d)) => {
                        out.push(' ');
                        list(out, "within", &[d]);
                    }
                    Some(Window::Since(t)) => {
                        out.push(' ');
                        list(out, "since", &[t]);
                    }
                    None => {}
                }
                out.push(')');
            }
            ExprKind::List(items) => list(out, "list", &items.iter().collect::<Vec<_>>()),
            ExprKind::Unary(UnaryOp::Not, inner) => list(out, "not", &[inner]),
            ExprKind::Unary(UnaryOp::Neg, inner) => list(out, "neg", &[inner]),
            ExprKind::Binary(op, lhs, rhs) => list(out, op.symbol(), &[lhs, rhs]),
            ExprKind::Logical(op, items) => {
                let head = match op {
                    LogicalOp::And => "and",
                    LogicalOp::Or => "or",
                };
                list(out, head, &items.iter().collect::<Vec<_>>())
            }
            ExprKind::IsNull { operand, negated } => list(
                out,
                if *negated { "is-not-null" } else { "is-null" },
                &[operand],
            ),
            ExprKind::In {
                operand,
                list: items,
                negated,
            } => {
                let mut all = vec![&**operand];
                all.extend(items.iter());
                list(out, if *negated { "not-in" } else { "in" }, &all)
            }
            ExprKind::Between {
                operand,
                low,
                high,
                negated,
            } => list(
                out,
                if *negated { "not-between" } else { "between" },
                &[operand, low, high],
            ),
            ExprKind::Text(op, lhs, rhs) => {
                let head = match op {
                    TextOp::Contains => "contains",
                    TextOp::StartsWith => "starts-with",
                    TextOp::EndsWith => "ends-with",
                };
                list(out, head, &[lhs, rhs])
            }
        }
    }
}
