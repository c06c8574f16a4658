//! The fast path of the parser: the `fast_*` rules of the grammar
//! (`grammar/trigger_fast.pest`) and a builder that turns their pairs into the
//! very [`Expr`] the full grammar's builder gives, spans included.
//!
//! [`parse`] either gives that tree or declines (`None`): when the fast rules
//! fail, and whenever the tree would come with a diagnostic (a bad literal, a
//! list too long, a misused aggregate, nesting too deep). The caller then
//! parses again with the full grammar, which finds every diagnostic; so the
//! fast path never needs to explain anything, only to be right or decline.
//!
//! The full grammar's spans are pest's: a rule that ends with a repetition
//! which matched nothing ends after the whitespace pest skipped before it, so
//! a bare name, a comparison or an `AND` chain often ends after trailing
//! whitespace and comments, and a field access or `IS NULL` never does. The
//! fast rules put whitespace elsewhere, so the builder computes each span end
//! the full grammar's rules would give ([`Operand::end`]) from token ends.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::parse::{Builder, Built, Rule, TriggerParser, arithmetic_op, comparison_op};
use crate::diagnostic::{Code, Diagnostic};

/// Parses `source` with the fast rules into what the full grammar gives, or
/// `None` (then `builder` may hold diagnostics to drop).
pub(super) fn parse(source: &str, builder: &mut Builder) -> Option<Expr> {
    // The fast rules have no comments (they would cost a sequence in every
    // whitespace skip); a `#`, even one in a string, sends the input to the
    // full grammar.
    if source.contains('#') {
        return None;
    }
    let trigger = TriggerParser::parse(Rule::fast_trigger, source)
        .ok()?
        .next()?;
    let expr = trigger
        .into_inner()
        .find(|p| p.as_rule() == Rule::fast_expr)?;
    let built = Fast { builder, source }.or_expr(expr).ok()?;
    builder.diagnostics.is_empty().then_some(built.built.expr)
}

/// A built operand and where the full grammar's rule for it would end.
struct Operand {
    built: Built,
    /// The end of its last token.
    last_token: usize,
    /// The end of the full grammar's match: `last_token`, or past the
    /// whitespace after it.
    end: usize,
}

type Fatal = Diagnostic;

/// The reason to decline when the pairs are not what the fast rules make
/// (never, unless the grammar and this builder disagree): the full grammar
/// then parses the input.
fn declined() -> Fatal {
    Diagnostic::error(Code::Syntax, "the fast parse declined", Span::new(0, 0))
}

/// The pairs of a `fast_not`, a tail or a `BETWEEN`: the silent levels leave a
/// flat run of `fast_unary` pairs, their operators only in the text.
type Flat<'i> = std::iter::Peekable<Pairs<'i, Rule>>;

struct Fast<'b, 's> {
    builder: &'b mut Builder,
    source: &'s str,
}

/// The offset after the whitespace at `at`: space, tab, newline, carriage
/// return, as the full grammar's `WHITESPACE` skips it in an input without
/// `#` (the only inputs the fast path reads).
fn skip_whitespace(source: &str, at: usize) -> usize {
    let rest = source.as_bytes().get(at..).unwrap_or_default();
    at + rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(rest.len())
}

impl Fast<'_, '_> {
    fn after_whitespace(&self, at: usize) -> usize {
        skip_whitespace(self.source, at)
    }

    fn or_expr(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        self.logical(pair, LogicalOp::Or, Self::and_expr)
    }

    fn and_expr(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        self.logical(pair, LogicalOp::And, Self::not_expr)
    }

    /// `fast_expr` (OR) or `fast_and` (AND): the full grammar's rule ends
    /// after whitespace when it has one operand, at the end of the last
    /// operand otherwise.
    fn logical<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        op: LogicalOp,
        operand: fn(&mut Self, Pair<'i, Rule>) -> Result<Operand, Fatal>,
    ) -> Result<Operand, Fatal> {
        let start = pair.as_span().start();
        let mut operands = Vec::new();
        let mut height = 0;
        let (mut last_token, mut end) = (start, start);
        for inner in pair.into_inner() {
            let built = operand(self, inner)?;
            height = height.max(built.built.height);
            operands.push(built.built.expr);
            (last_token, end) = (built.last_token, built.end);
        }
        if operands.len() == 1
            && let Some(expr) = operands.pop()
        {
            return Ok(Operand {
                built: Built { expr, height },
                last_token,
                end: self.after_whitespace(end),
            });
        }
        let built = self.builder.node(
            ExprKind::Logical(op, operands),
            Span::new(start, end),
            height,
        )?;
        Ok(Operand {
            built,
            last_token,
            end,
        })
    }

    /// `fast_not`: prefix `NOT`s, a sum, at most one tail.
    fn not_expr(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        let mut inner = pair.into_inner().peekable();
        let mut not_starts = Vec::new();
        while let Some(op) = inner.next_if(|p| p.as_rule() == Rule::fast_not_op) {
            not_starts.push(op.as_span().start());
        }
        let sum = self.sum(&mut inner)?;
        let operand = match inner.next() {
            Some(tail) => self.tail(sum, tail)?,
            None => Operand {
                end: self.after_whitespace(sum.end),
                ..sum
            },
        };
        self.prefixed(UnaryOp::Not, not_starts, operand)
    }

    /// `operand` under prefix operators written at `starts`, innermost last;
    /// each node spans from its operator to the end of its operand.
    fn prefixed(
        &mut self,
        op: UnaryOp,
        starts: Vec<usize>,
        mut operand: Operand,
    ) -> Result<Operand, Fatal> {
        for start in starts.into_iter().rev() {
            let span = Span::new(start, operand.built.expr.span.end);
            operand.built = self.builder.node(
                ExprKind::Unary(op, Box::new(operand.built.expr)),
                span,
                operand.built.height,
            )?;
        }
        Ok(operand)
    }

    fn sum(&mut self, pairs: &mut Flat<'_>) -> Result<Operand, Fatal> {
        self.fold_left(pairs, b"+-", Self::product)
    }

    fn product(&mut self, pairs: &mut Flat<'_>) -> Result<Operand, Fatal> {
        self.fold_left(pairs, b"*/%", |this, pairs| match pairs.next() {
            Some(unary) if unary.as_rule() == Rule::fast_unary => this.unary(unary),
            _ => Err(declined()),
        })
    }

    /// `operand (op operand)*` for the operators in `ops`, left-associative.
    /// The operator is the first character after the whitespace that follows
    /// the left operand. The full grammar's level ends after whitespace when
    /// it has one operand, at the end of the last operand otherwise.
    fn fold_left<'i>(
        &mut self,
        pairs: &mut Flat<'i>,
        ops: &[u8],
        operand: impl Fn(&mut Self, &mut Flat<'i>) -> Result<Operand, Fatal>,
    ) -> Result<Operand, Fatal> {
        let mut acc = operand(self, pairs)?;
        let mut folded = false;
        while pairs
            .peek()
            .is_some_and(|p| p.as_rule() == Rule::fast_unary)
        {
            let at = self.after_whitespace(acc.last_token);
            let Some(op) = self
                .source
                .get(at..=at)
                .filter(|op| op.bytes().all(|b| ops.contains(&b)))
            else {
                break;
            };
            let rhs = operand(self, pairs)?;
            acc = Operand {
                built: self
                    .builder
                    .binary(arithmetic_op(op), acc.built, rhs.built)?,
                last_token: rhs.last_token,
                end: rhs.end,
            };
            folded = true;
        }
        if !folded {
            acc.end = self.after_whitespace(acc.last_token);
        }
        Ok(acc)
    }

    /// `fast_unary`: minus signs (silent: each `-` is followed by whitespace
    /// up to the next, or to the primary), a primary, fields.
    fn unary(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        let start = pair.as_span().start();
        let mut inner = pair.into_inner();
        let primary = inner.next().ok_or_else(declined)?;
        let primary_start = primary.as_span().start();
        let mut operand = self.primary(primary)?;
        let mut has_field = false;
        for field in inner {
            let field_start = field.as_span().start();
            let name = field.into_inner().next().ok_or_else(declined)?;
            let name = self.builder.name(name);
            let span = operand
                .built
                .expr
                .span
                .to(Span::new(field_start, name.span.end));
            operand.last_token = name.span.end;
            operand.built = self.builder.node(
                ExprKind::Field(Box::new(operand.built.expr), name),
                span,
                operand.built.height,
            )?;
            has_field = true;
        }
        // The full grammar's `postfix` ends after whitespace without fields.
        operand.end = if has_field {
            operand.last_token
        } else {
            self.after_whitespace(operand.last_token)
        };
        let mut neg_starts = Vec::new();
        let mut at = start;
        while at < primary_start {
            neg_starts.push(at);
            at = self.after_whitespace(at + 1);
        }
        self.prefixed(UnaryOp::Neg, neg_starts, operand)
    }

    /// A primary; its `end` is left for [`Fast::unary`] to set.
    fn primary(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        let last_token = pair.as_span().end();
        let built = match pair.as_rule() {
            Rule::fast_call_or_name => return self.call_or_name(pair),
            Rule::fast_paren => {
                let inner = pair.into_inner().next().ok_or_else(declined)?;
                self.or_expr(inner)?.built
            }
            Rule::fast_list => {
                let span = span_of(&pair);
                let (items, height) = self.items(pair)?;
                self.builder.node(ExprKind::List(items), span, height)?
            }
            _ => self.builder.literal(pair)?,
        };
        Ok(Operand {
            built,
            last_token,
            end: last_token,
        })
    }

    fn items(&mut self, list: Pair<'_, Rule>) -> Result<(Vec<Expr>, usize), Fatal> {
        let source = self.source;
        self.builder.items_with(list, |builder, item| {
            Ok(Fast { builder, source }.or_expr(item)?.built)
        })
    }

    /// A name (which the full grammar's `call_or_name` ends after
    /// whitespace), a call, or an aggregate.
    fn call_or_name(&mut self, pair: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        let mut inner = pair.into_inner();
        let name = self.builder.name(inner.next().ok_or_else(declined)?);
        let Some(args_pair) = inner.next() else {
            let span = Span::new(name.span.start, self.after_whitespace(name.span.end));
            let last_token = name.span.end;
            let expr = Expr {
                kind: ExprKind::Name(name),
                span,
            };
            return Ok(Operand {
                built: Built { expr, height: 1 },
                last_token,
                end: last_token,
            });
        };
        let last_token = args_pair.as_span().end();
        let span = Span::new(name.span.start, last_token);
        let mut args = Vec::new();
        let mut filter = None;
        let mut window = None;
        let mut height = 0;
        for arg in args_pair.into_inner() {
            let rule = arg.as_rule();
            // A clause holds its expression; an argument is one.
            let expr = match rule {
                Rule::fast_expr => arg,
                _ => arg.into_inner().next().ok_or_else(declined)?,
            };
            let built = self.or_expr(expr)?.built;
            height = height.max(built.height);
            match rule {
                Rule::fast_where => filter = Some(built.expr),
                Rule::fast_within => window = Some(Window::Within(built.expr)),
                Rule::fast_since => window = Some(Window::Since(built.expr)),
                _ => args.push(built.expr),
            }
        }
        let built = match AggregateFn::from_name(&name.text) {
            Some(function) => self
                .builder
                .aggregate(function, name, args, span, height, filter, window)?,
            // The full grammar's builder reports the clause.
            None if filter.is_some() || window.is_some() => return Err(declined()),
            None => self
                .builder
                .node(ExprKind::Call(name, args), span, height)?,
        };
        Ok(Operand {
            built,
            last_token,
            end: last_token,
        })
    }

    /// The one comparison tail after a sum; the full grammar's tail rule
    /// ends where its last sum ends, or at `NULL` or the list's bracket.
    fn tail(&mut self, lhs: Operand, tail: Pair<'_, Rule>) -> Result<Operand, Fatal> {
        let tail_span = tail.as_span();
        let rule = tail.as_rule();
        let mut inner = tail.into_inner().peekable();
        let negated = inner.next_if(|p| p.as_rule() == Rule::negated).is_some();
        let lhs_span = lhs.built.expr.span;
        let mut height = lhs.built.height;
        let operand = Box::new(lhs.built.expr);
        let mut rhs = |this: &mut Self, pairs: &mut Flat<'_>| {
            let sum = this.sum(pairs)?;
            height = height.max(sum.built.height);
            Ok::<_, Fatal>(sum)
        };
        let (kind, last_token, end) = match rule {
            Rule::fast_compare => {
                let op = comparison_op(self.comparison_at(tail_span.start()));
                let sum = rhs(self, &mut inner)?;
                let kind = ExprKind::Binary(op, operand, Box::new(sum.built.expr));
                (kind, sum.last_token, sum.end)
            }
            Rule::fast_contains | Rule::fast_starts | Rule::fast_ends => {
                let op = match rule {
                    Rule::fast_contains => TextOp::Contains,
                    Rule::fast_starts => TextOp::StartsWith,
                    _ => TextOp::EndsWith,
                };
                let sum = rhs(self, &mut inner)?;
                let kind = ExprKind::Text(op, operand, Box::new(sum.built.expr));
                (kind, sum.last_token, sum.end)
            }
            Rule::fast_is_null => (
                ExprKind::IsNull { operand, negated },
                tail_span.end(),
                tail_span.end(),
            ),
            Rule::fast_negatable => {
                let body = inner.next().ok_or_else(declined)?;
                let is_in = body.as_rule() == Rule::fast_in;
                let mut body = body.into_inner().peekable();
                if is_in {
                    let list = body.next().ok_or_else(declined)?;
                    let list_end = list.as_span().end();
                    let (list, list_height) = self.items(list)?;
                    height = height.max(list_height);
                    let kind = ExprKind::In {
                        operand,
                        list,
                        negated,
                    };
                    (kind, list_end, list_end)
                } else {
                    let low = rhs(self, &mut body)?;
                    body.next_if(|p| p.as_rule() == Rule::kw_and)
                        .ok_or_else(declined)?;
                    let high = rhs(self, &mut body)?;
                    let kind = ExprKind::Between {
                        operand,
                        low: Box::new(low.built.expr),
                        high: Box::new(high.built.expr),
                        negated,
                    };
                    (kind, high.last_token, high.end)
                }
            }
            _ => return Err(declined()),
        };
        let span = lhs_span.to(Span::new(tail_span.start(), end));
        let built = self.builder.node(kind, span, height)?;
        Ok(Operand {
            built,
            last_token,
            end,
        })
    }

    /// The comparison operator written at `at`.
    fn comparison_at(&self, at: usize) -> &str {
        match self.source.get(at..at + 2) {
            Some(two @ ("==" | "!=" | "<>" | "<=" | ">=")) => two,
            _ => self.source.get(at..=at).unwrap_or_default(),
        }
    }
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}
