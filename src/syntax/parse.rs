//! Text → AST: the pest grammar in `grammar/trigger.pest`, then a conversion of
//! pest's pairs into [`Expr`] with byte spans. Every input is first offered to
//! the fast path (src/syntax/fast.rs), which gives the same tree or declines;
//! the full grammar parses what it declines and builds every diagnostic.
//!
//! Input safety comes first: the length and the bracket depth are checked on the
//! raw text before pest sees it, so no input can make the recursive-descent
//! parser overflow the stack; prefix operators and operator chains are
//! repetitions in the grammar and their depth is checked here before any deep
//! tree is built.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::fast;
use super::syntax_error::syntax_error;
use crate::diagnostic::{Code, Diagnostic};
use crate::limits::Limits;

// Both grammars in one parser (generated from grammar/*.pest into
// src/syntax/parser.rs by tools/gen-parser, as pest_derive would).
pub(super) use super::parser::{Rule, TriggerParser};

/// The deepest nesting accepted whatever the limits say: each level costs
/// stack in the parser and in every later stage.
pub const HARD_MAX_DEPTH: usize = 256;

/// Parses a trigger expression with the default [`Limits`].
///
/// ```
/// let expr = nextbest::syntax::parse("a > 1 AND b = 'x'").unwrap();
/// assert_eq!(expr.to_string(), "a > 1 AND b = 'x'");
/// ```
///
/// # Errors
/// Every syntax problem found, as diagnostics with byte spans into `source`.
pub fn parse(source: &str) -> Result<Expr, Vec<Diagnostic>> {
    parse_with(source, &Limits::default())
}

/// Parses a trigger expression within `limits`.
///
/// ```
/// use nextbest::{Limits, syntax::parse_with};
/// let deep = "(".repeat(100_000) + "1" + &")".repeat(100_000);
/// let errors = parse_with(&deep, &Limits::default().source_len(1 << 20)).unwrap_err();
/// assert_eq!(errors[0].code.as_str(), "E0102");
/// ```
///
/// # Errors
/// Every syntax problem found, as diagnostics with byte spans into `source`.
pub fn parse_with(source: &str, limits: &Limits) -> Result<Expr, Vec<Diagnostic>> {
    if source.len() > limits.max_source_len() {
        return Err(vec![
            Diagnostic::error(
                Code::SourceTooLong,
                format!(
                    "expression is {} bytes long, more than the limit of {}",
                    source.len(),
                    limits.max_source_len()
                ),
                Span::new(0, 0),
            )
            .with_label("expression starts here"),
        ]);
    }
    let max_depth = limits.max_depth().min(HARD_MAX_DEPTH);
    let unclosed = check_bracket_depth(source, max_depth).map_err(|d| vec![d])?;
    if let Some(expr) = fast::parse(source, &mut Builder::new(max_depth, limits)) {
        return Ok(expr);
    }
    full_parse(source, Builder::new(max_depth, limits), unclosed)
}

/// What the fast path gives (`None`: it declined) and what the full grammar
/// gives, each on its own, after the same checks on the raw text.
#[cfg(test)]
pub(super) fn parse_each_way(
    source: &str,
    limits: &Limits,
) -> (Option<Expr>, Result<Expr, Vec<Diagnostic>>) {
    let max_depth = limits.max_depth().min(HARD_MAX_DEPTH);
    match check_bracket_depth(source, max_depth) {
        Err(too_deep) => (None, Err(vec![too_deep])),
        Ok(unclosed) => (
            fast::parse(source, &mut Builder::new(max_depth, limits)),
            full_parse(source, Builder::new(max_depth, limits), unclosed),
        ),
    }
}

/// The full grammar, which builds the diagnostics of every input the fast path
/// declines.
fn full_parse(
    source: &str,
    mut builder: Builder,
    unclosed: Option<usize>,
) -> Result<Expr, Vec<Diagnostic>> {
    let mut pairs = TriggerParser::parse(Rule::trigger, source)
        .map_err(|e| vec![syntax_error(source, e, unclosed)])?;
    let Some(trigger) = pairs.next() else {
        return Err(vec![Diagnostic::error(
            Code::Syntax,
            "empty expression",
            Span::new(0, 0),
        )]);
    };
    let expr = trigger
        .into_inner()
        .find(|p| p.as_rule() == Rule::expr)
        .map(|p| builder.expr(p))
        .transpose()
        .map_err(|d| vec![d])?;
    match expr {
        Some(built) if builder.diagnostics.is_empty() => Ok(built.expr),
        Some(_) => Err(builder.diagnostics),
        None => Err(vec![Diagnostic::error(
            Code::Syntax,
            "empty expression",
            Span::new(0, 0),
        )]),
    }
}

/// Rejects bracket nesting deeper than `max_depth` with a scan of the raw text
/// that skips strings, quoted names and comments. Returns the offset of the
/// innermost bracket left open at the end, if any.
fn check_bracket_depth(source: &str, max_depth: usize) -> Result<Option<usize>, Diagnostic> {
    let mut open: Vec<usize> = Vec::new();
    let mut chars = source.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '(' | '[' => {
                open.push(at);
                if open.len() > max_depth {
                    return Err(too_deep(Span::new(at, at + 1), max_depth));
                }
            }
            ')' | ']' => {
                open.pop();
            }
            '\'' | '"' | '`' => {
                let mut escaped = false;
                for (_, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' && c != '`' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
            }
            '#' => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(open.last().copied())
}

pub(super) fn too_deep(span: Span, max_depth: usize) -> Diagnostic {
    Diagnostic::error(
        Code::TooDeep,
        format!("expression nested more than {max_depth} levels deep"),
        span,
    )
    .with_label("the limit is reached here")
    .with_help("split the condition, or raise the depth limit")
}

/// A built node and the height of its tree.
pub(super) struct Built {
    pub(super) expr: Expr,
    pub(super) height: usize,
}

pub(super) struct Builder {
    max_depth: usize,
    max_list_len: usize,
    pub(super) diagnostics: Vec<Diagnostic>,
}

type Fatal = Diagnostic;

/// The pairs of a rule whose silent sub-rules left a flat run.
type Flat<'i> = std::iter::Peekable<Pairs<'i, Rule>>;

fn expected_expression(span: Span) -> Diagnostic {
    Diagnostic::error(Code::Syntax, "expected an expression", span)
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

impl Builder {
    fn new(max_depth: usize, limits: &Limits) -> Self {
        Builder {
            max_depth,
            max_list_len: limits.max_list_len(),
            diagnostics: Vec::new(),
        }
    }

    pub(super) fn node(
        &self,
        kind: ExprKind,
        span: Span,
        child_height: usize,
    ) -> Result<Built, Fatal> {
        let height = child_height + 1;
        if height > self.max_depth {
            return Err(too_deep(span, self.max_depth));
        }
        Ok(Built {
            expr: Expr { kind, span },
            height,
        })
    }

    /// Walks to the single meaningful child of a wrapper rule.
    fn expr(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        match pair.as_rule() {
            Rule::paren => self.first_child(pair),
            Rule::expr => self.logical(pair, LogicalOp::Or),
            Rule::and_expr => self.logical(pair, LogicalOp::And),
            Rule::not_expr => self.not_expr(pair),
            Rule::unary => self.unary(pair),
            Rule::call_or_name => self.call_or_name(pair),
            Rule::bracket_list | Rule::paren_items => {
                let span = span_of(&pair);
                let (items, height) = self.items(pair)?;
                self.node(ExprKind::List(items), span, height)
            }
            _ => self.literal(pair),
        }
    }

    fn first_child(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.expr(inner),
            None => Err(Diagnostic::error(
                Code::Syntax,
                "expected an expression",
                span,
            )),
        }
    }

    fn logical(&mut self, pair: Pair<'_, Rule>, op: LogicalOp) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        let mut operands = Vec::new();
        let mut height = 0;
        for inner in pair.into_inner() {
            if matches!(inner.as_rule(), Rule::or_op | Rule::and_op) {
                continue;
            }
            let built = self.expr(inner)?;
            height = height.max(built.height);
            operands.push(built.expr);
        }
        if operands.len() == 1
            && let Some(expr) = operands.pop()
        {
            return Ok(Built { expr, height });
        }
        self.node(ExprKind::Logical(op, operands), span, height)
    }

    /// `not_op* ~ predicate`, where the silent `predicate`, `sum` and
    /// `product` rules leave one flat run of operands and operators.
    fn not_expr(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner().peekable();
        let mut not_starts = Vec::new();
        while let Some(op) = inner.next_if(|p| p.as_rule() == Rule::not_op) {
            not_starts.push(op.as_span().start());
        }
        let mut built = self.predicate(&mut inner, span)?;
        if built.height + not_starts.len() > self.max_depth {
            return Err(too_deep(span, self.max_depth));
        }
        for start in not_starts.into_iter().rev() {
            let span = Span::new(start, built.expr.span.end);
            built = self.node(
                ExprKind::Unary(UnaryOp::Not, Box::new(built.expr)),
                span,
                built.height,
            )?;
        }
        Ok(built)
    }

    /// `neg_op* ~ primary ~ field*` (the `postfix` rule is silent): fields
    /// bind tighter than the minus signs.
    fn unary(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner().peekable();
        let mut neg_starts = Vec::new();
        while let Some(op) = inner.next_if(|p| p.as_rule() == Rule::neg_op) {
            neg_starts.push(op.as_span().start());
        }
        let Some(primary) = inner.next() else {
            return Err(expected_expression(span));
        };
        let mut built = self.expr(primary)?;
        for field in inner {
            let span = built.expr.span.to(span_of(&field));
            let Some(name) = field.into_inner().next().map(|n| self.name(n)) else {
                continue;
            };
            built = self.node(
                ExprKind::Field(Box::new(built.expr), name),
                span,
                built.height,
            )?;
        }
        if built.height + neg_starts.len() > self.max_depth {
            return Err(too_deep(span, self.max_depth));
        }
        for start in neg_starts.into_iter().rev() {
            let span = Span::new(start, built.expr.span.end);
            built = self.node(
                ExprKind::Unary(UnaryOp::Neg, Box::new(built.expr)),
                span,
                built.height,
            )?;
        }
        Ok(built)
    }

    /// A sum (`unary`, `sum_op` and `product_op` pairs) folded left by
    /// precedence, as the silent `sum` and `product` rules nest it.
    fn sum(&mut self, pairs: &mut Flat<'_>, span: Span) -> Result<Built, Fatal> {
        self.fold_left(pairs, span, Rule::sum_op, Self::product)
    }

    fn product(&mut self, pairs: &mut Flat<'_>, span: Span) -> Result<Built, Fatal> {
        self.fold_left(pairs, span, Rule::product_op, Self::operand)
    }

    /// `operand (op operand)*`, left-associative.
    fn fold_left<'i>(
        &mut self,
        pairs: &mut Flat<'i>,
        span: Span,
        op_rule: Rule,
        operand: fn(&mut Self, &mut Flat<'i>, Span) -> Result<Built, Fatal>,
    ) -> Result<Built, Fatal> {
        let mut acc = operand(self, pairs, span)?;
        while let Some(op) = pairs.next_if(|p| p.as_rule() == op_rule) {
            let rhs = operand(self, pairs, span)?;
            acc = self.binary(arithmetic_op(op.as_str()), acc, rhs)?;
        }
        Ok(acc)
    }

    fn operand(&mut self, pairs: &mut Flat<'_>, span: Span) -> Result<Built, Fatal> {
        match pairs.next_if(|p| p.as_rule() == Rule::unary) {
            Some(unary) => self.unary(unary),
            None => Err(expected_expression(span)),
        }
    }

    pub(super) fn binary(&self, op: BinaryOp, lhs: Built, rhs: Built) -> Result<Built, Fatal> {
        let span = lhs.expr.span.to(rhs.expr.span);
        let height = lhs.height.max(rhs.height);
        self.node(
            ExprKind::Binary(op, Box::new(lhs.expr), Box::new(rhs.expr)),
            span,
            height,
        )
    }

    /// A sum and its comparison tails (the silent `predicate` rule).
    fn predicate(&mut self, pairs: &mut Flat<'_>, span: Span) -> Result<Built, Fatal> {
        let mut acc = self.sum(pairs, span)?;
        let mut first_tail: Option<Span> = None;
        for tail in pairs {
            let tail_span = span_of(&tail);
            if let Some(previous) = first_tail {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::ChainedComparison,
                        "comparisons do not chain",
                        tail_span,
                    )
                    .with_label("comparison chained here")
                    .with_secondary(previous, "first comparison")
                    .with_help("join the comparisons with AND: `a < b AND b < c`"),
                );
                continue;
            }
            first_tail = Some(tail_span);
            acc = self.predicate_tail(acc, tail)?;
        }
        Ok(acc)
    }

    fn predicate_tail(&mut self, lhs: Built, tail: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = lhs.expr.span.to(span_of(&tail));
        let rule = tail.as_rule();
        let mut negated = false;
        let mut operands = Vec::new();
        let mut op_text = "";
        let mut body = None;
        let mut inner = tail.into_inner().peekable();
        loop {
            if inner.peek().is_some_and(|p| p.as_rule() == Rule::unary) {
                operands.push(self.sum(&mut inner, span)?);
                continue;
            }
            let Some(next) = inner.next() else { break };
            match next.as_rule() {
                Rule::negated => negated = true,
                Rule::cmp_op => op_text = next.as_str(),
                Rule::in_list | Rule::between => body = Some(next),
                _ => {}
            }
        }
        let height = operands
            .iter()
            .map(|b| b.height)
            .fold(lhs.height, usize::max);
        let mut operands = operands.into_iter().map(|b| b.expr);
        let operand = Box::new(lhs.expr);
        let mut next = || {
            operands
                .next()
                .map(Box::new)
                .ok_or_else(|| Diagnostic::error(Code::Syntax, "expected an expression", span))
        };
        let kind = match rule {
            Rule::compare => ExprKind::Binary(comparison_op(op_text), operand, next()?),
            Rule::is_null => ExprKind::IsNull { operand, negated },
            Rule::contains => ExprKind::Text(TextOp::Contains, operand, next()?),
            Rule::starts_with => ExprKind::Text(TextOp::StartsWith, operand, next()?),
            Rule::ends_with => ExprKind::Text(TextOp::EndsWith, operand, next()?),
            _ => return self.negatable(*operand, lhs.height, body, negated, span),
        };
        self.node(kind, span, height)
    }

    fn negatable(
        &mut self,
        operand: Expr,
        operand_height: usize,
        body: Option<Pair<'_, Rule>>,
        negated: bool,
        span: Span,
    ) -> Result<Built, Fatal> {
        let Some(body) = body else {
            return Err(Diagnostic::error(
                Code::Syntax,
                "expected `IN` or `BETWEEN`",
                span,
            ));
        };
        let operand = Box::new(operand);
        if body.as_rule() == Rule::in_list {
            let list = body
                .into_inner()
                .find(|p| matches!(p.as_rule(), Rule::paren_items | Rule::bracket_list));
            let Some(list) = list else {
                return Err(Diagnostic::error(Code::Syntax, "expected a list", span));
            };
            let (list, height) = self.items(list)?;
            return self.node(
                ExprKind::In {
                    operand,
                    list,
                    negated,
                },
                span,
                height.max(operand_height),
            );
        }
        let mut bounds = Vec::new();
        let mut inner = body.into_inner().peekable();
        loop {
            if inner.peek().is_some_and(|p| p.as_rule() == Rule::unary) {
                bounds.push(self.sum(&mut inner, span)?);
            } else if inner.next().is_none() {
                break;
            }
        }
        let height = bounds
            .iter()
            .map(|b| b.height)
            .fold(operand_height, usize::max);
        let mut bounds = bounds.into_iter().map(|b| Box::new(b.expr));
        let (Some(low), Some(high)) = (bounds.next(), bounds.next()) else {
            return Err(Diagnostic::error(
                Code::Syntax,
                "expected `BETWEEN low AND high`",
                span,
            ));
        };
        self.node(
            ExprKind::Between {
                operand,
                low,
                high,
                negated,
            },
            span,
            height,
        )
    }

    fn items(&mut self, pair: Pair<'_, Rule>) -> Result<(Vec<Expr>, usize), Fatal> {
        self.items_with(pair, Self::expr)
    }

    /// The items of a list pair, each built by `item`, and their height.
    pub(super) fn items_with<'i>(
        &mut self,
        pair: Pair<'i, Rule>,
        mut item: impl FnMut(&mut Self, Pair<'i, Rule>) -> Result<Built, Fatal>,
    ) -> Result<(Vec<Expr>, usize), Fatal> {
        let span = span_of(&pair);
        let mut items = Vec::new();
        let mut height = 0;
        for inner in pair.into_inner() {
            if items.len() == self.max_list_len {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::ListTooLong,
                        format!("list has more than {} items", self.max_list_len),
                        span,
                    )
                    .with_label("this list")
                    .with_help("raise the list length limit, or split the list"),
                );
                break;
            }
            let built = item(self, inner)?;
            height = height.max(built.height);
            items.push(built.expr);
        }
        Ok((items, height))
    }

    pub(super) fn name(&mut self, pair: Pair<'_, Rule>) -> Name {
        let span = span_of(&pair);
        let raw = pair.as_str();
        let text = raw
            .strip_prefix('`')
            .and_then(|r| r.strip_suffix('`'))
            .unwrap_or(raw)
            .to_owned();
        Name { text, span }
    }

    fn call_or_name(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let Some(name_pair) = inner.next() else {
            return Err(Diagnostic::error(Code::Syntax, "expected a name", span));
        };
        let name = self.name(name_pair);
        let Some(call_args) = inner.next() else {
            return Ok(Built {
                expr: Expr {
                    kind: ExprKind::Name(name),
                    span,
                },
                height: 1,
            });
        };
        let mut args = Vec::new();
        let mut filter = None;
        let mut window = None;
        let mut height = 0;
        for arg in call_args.into_inner() {
            match arg.as_rule() {
                Rule::where_clause => filter = Some(arg),
                Rule::window => window = Some(arg),
                _ => {
                    let built = self.expr(arg)?;
                    height = height.max(built.height);
                    args.push(built.expr);
                }
            }
        }
        let Some(function) = AggregateFn::from_name(&name.text) else {
            if let Some(clause) = filter.as_ref().or(window.as_ref()) {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::MisplacedAggregate,
                        format!(
                            "`{}` is not an aggregate and takes no `WHERE`, `WITHIN` or `SINCE`",
                            name.text
                        ),
                        span_of(clause),
                    )
                    .with_label("only aggregates take this clause")
                    .with_help("aggregates are count, sum, avg, min, max, exists, last and first"),
                );
            }
            return self.node(ExprKind::Call(name, args), span, height);
        };
        let filter = match filter {
            Some(clause) => Some(self.clause_expr(clause, &mut height)?),
            None => None,
        };
        let window = match window {
            Some(w) => Some(self.window(w, &mut height)?),
            None => None,
        };
        self.aggregate(function, name, args, span, height, filter, window)
    }

    /// An aggregate node from its parts; its event comes from `args`.
    #[allow(clippy::too_many_arguments)] // the parts of one node
    pub(super) fn aggregate(
        &mut self,
        function: AggregateFn,
        name: Name,
        args: Vec<Expr>,
        span: Span,
        height: usize,
        filter: Option<Expr>,
        window: Option<Window>,
    ) -> Result<Built, Fatal> {
        let (event, property) = self.event_ref(function, &name, args, span);
        let aggregate = Aggregate {
            function,
            function_span: name.span,
            event,
            property,
            filter,
            window,
        };
        self.node(ExprKind::Aggregate(Box::new(aggregate)), span, height)
    }

    fn clause_expr(&mut self, clause: Pair<'_, Rule>, height: &mut usize) -> Result<Expr, Fatal> {
        let span = span_of(&clause);
        let Some(inner) = clause.into_inner().find(|p| p.as_rule() == Rule::expr) else {
            return Err(Diagnostic::error(
                Code::Syntax,
                "expected an expression",
                span,
            ));
        };
        let built = self.expr(inner)?;
        *height = (*height).max(built.height);
        Ok(built.expr)
    }

    fn window(&mut self, window: Pair<'_, Rule>, height: &mut usize) -> Result<Window, Fatal> {
        let span = span_of(&window);
        let Some(kind) = window.into_inner().next() else {
            return Err(Diagnostic::error(
                Code::Syntax,
                "expected `WITHIN` or `SINCE`",
                span,
            ));
        };
        let is_within = kind.as_rule() == Rule::within;
        let bound = self.clause_expr(kind, height)?;
        Ok(if is_within {
            Window::Within(bound)
        } else {
            Window::Since(bound)
        })
    }

    /// The `event` or `event.property` argument of an aggregate.
    fn event_ref(
        &mut self,
        function: AggregateFn,
        name: &Name,
        mut args: Vec<Expr>,
        span: Span,
    ) -> (Name, Option<Name>) {
        let placeholder = || Name {
            text: String::new(),
            span,
        };
        let arg = match args.len() {
            1 => args.pop(),
            _ => None,
        };
        let reference = match arg.map(|a| a.kind) {
            Some(ExprKind::Name(event)) => Some((event, None)),
            Some(ExprKind::Field(base, property)) => match base.kind {
                ExprKind::Name(event) => Some((event, Some(property))),
                _ => None,
            },
            _ => None,
        };
        let Some((event, property)) = reference else {
            let example = if function.takes_property() {
                "purchase.amount"
            } else {
                "page_view"
            };
            self.diagnostics.push(
                Diagnostic::error(
                    Code::MisplacedAggregate,
                    format!("`{}` takes one event type as its argument", name.text),
                    span,
                )
                .with_label("expected an event type")
                .with_help(format!("write `{}({example} …)`", function.name())),
            );
            return (placeholder(), None);
        };
        match (&property, function.takes_property()) {
            (None, true) => self.diagnostics.push(
                Diagnostic::error(
                    Code::MisplacedAggregate,
                    format!("`{}` needs a property to aggregate", function.name()),
                    event.span,
                )
                .with_label("an event type without a property")
                .with_help(format!(
                    "write `{}({}.property …)`",
                    function.name(),
                    event.text
                )),
            ),
            (Some(p), false) => {
                let help = match function {
                    AggregateFn::Last | AggregateFn::First => {
                        format!(
                            "read a property after the call: `{}({}).{}`",
                            function.name(),
                            event.text,
                            p.text
                        )
                    }
                    _ => format!(
                        "`{}` counts events: write `{}({} …)`",
                        function.name(),
                        function.name(),
                        event.text
                    ),
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::MisplacedAggregate,
                        format!("`{}` takes an event type, not a property", function.name()),
                        p.span,
                    )
                    .with_label("unexpected property")
                    .with_help(help),
                )
            }
            _ => {}
        }
        (event, property)
    }

    pub(super) fn literal(&mut self, pair: Pair<'_, Rule>) -> Result<Built, Fatal> {
        let span = span_of(&pair);
        let literal = match pair.as_rule() {
            Rule::kw_null => Literal::Null,
            Rule::kw_true => Literal::Bool(true),
            Rule::kw_false => Literal::Bool(false),
            Rule::number => self.number(pair.as_str(), span),
            Rule::duration => self.duration(pair.as_str(), span),
            Rule::timestamp => self.timestamp(pair.as_str(), span),
            Rule::string => self.string(pair.as_str(), span),
            _ => {
                return Err(Diagnostic::error(
                    Code::Syntax,
                    "expected an expression",
                    span,
                ));
            }
        };
        Ok(Built {
            expr: Expr {
                kind: ExprKind::Literal(literal),
                span,
            },
            height: 1,
        })
    }

    fn invalid(&mut self, message: String, span: Span, label: &str) -> Literal {
        self.diagnostics
            .push(Diagnostic::error(Code::InvalidLiteral, message, span).with_label(label));
        Literal::Null
    }

    fn number(&mut self, text: &str, span: Span) -> Literal {
        let digits: String = text.chars().filter(|c| *c != '_').collect();
        if digits.contains(['.', 'e', 'E']) {
            match digits.parse::<f64>() {
                Ok(f) if f.is_finite() => Literal::Float(f),
                _ => self.invalid(
                    format!("number `{text}` is out of range"),
                    span,
                    "not a finite number",
                ),
            }
        } else {
            match digits.parse::<i64>() {
                Ok(i) => Literal::Int(i),
                Err(_) => self.invalid(
                    format!("integer `{text}` does not fit in 64 bits"),
                    span,
                    "write it as a decimal, such as `1e19`, if precision may be lost",
                ),
            }
        }
    }

    fn duration(&mut self, text: &str, span: Span) -> Literal {
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(text.len());
        let (amount_text, unit_text) = text.split_at(split);
        let amount_text: String = amount_text.chars().filter(|c| *c != '_').collect();
        let literal = DurationUnit::from_suffix(unit_text).and_then(|unit| {
            let amount = amount_text.parse::<i64>().ok()?;
            let literal = DurationLiteral { amount, unit };
            literal.micros().map(|_| literal)
        });
        match literal {
            Some(l) => Literal::Duration(l),
            None => self.invalid(
                format!("duration `{text}` is out of range"),
                span,
                "too long to represent",
            ),
        }
    }

    fn timestamp(&mut self, text: &str, span: Span) -> Literal {
        let body = text.strip_prefix('@').unwrap_or(text);
        match crate::value::parse_timestamp(body) {
            Some(micros) => Literal::Timestamp(micros),
            None => self.invalid(
                format!("`{text}` is not a valid timestamp"),
                span,
                "expected a real date, such as `@2026-01-15` or `@2026-01-15T10:00:00Z`",
            ),
        }
    }

    fn string(&mut self, text: &str, span: Span) -> Literal {
        let body = text
            .get(1..text.len().saturating_sub(1))
            .unwrap_or_default();
        match unescape(body) {
            Ok(s) => Literal::String(s),
            Err((offset, len, problem)) => {
                let at = span.start + 1 + offset;
                self.invalid(problem, Span::new(at, at + len), "invalid escape")
            }
        }
    }
}

pub(super) fn arithmetic_op(text: &str) -> BinaryOp {
    match text {
        "+" => BinaryOp::Add,
        "-" => BinaryOp::Sub,
        "*" => BinaryOp::Mul,
        "/" => BinaryOp::Div,
        _ => BinaryOp::Rem,
    }
}

pub(super) fn comparison_op(text: &str) -> BinaryOp {
    match text {
        "=" | "==" => BinaryOp::Eq,
        "!=" | "<>" => BinaryOp::Ne,
        "<" => BinaryOp::Lt,
        "<=" => BinaryOp::Le,
        ">" => BinaryOp::Gt,
        _ => BinaryOp::Ge,
    }
}

/// Decodes `\\ \' \" \n \t \u{…}`; an error carries the byte offset and
/// length of the bad escape inside `body`.
pub(crate) fn unescape(body: &str) -> Result<String, (usize, usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, kind)) = chars.next() else {
            return Err((at, 1, "a string cannot end with a lone `\\`".to_owned()));
        };
        match kind {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'u' => {
                let rest = body.get(at + 2..).unwrap_or_default();
                let close = rest.find('}');
                let decoded = rest
                    .strip_prefix('{')
                    .and_then(|r| r.get(..r.find('}')?))
                    .filter(|hex| (1..=6).contains(&hex.len()))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                let len = close.map_or(2, |c| c + 3);
                let Some(ch) = decoded else {
                    return Err((at, len.min(body.len() - at), "invalid unicode escape; expected `\\u{…}` with 1 to 6 hex digits of a valid code point".to_owned()));
                };
                out.push(ch);
                while chars.next_if(|(i, _)| *i < at + len).is_some() {}
            }
            other => {
                return Err((
                    at,
                    1 + other.len_utf8(),
                    format!(
                        "unknown escape `\\{}`; expected one of \\\\ \\' \\\" \\n \\t \\u{{…}}",
                        other.escape_debug()
                    ),
                ));
            }
        }
    }
    Ok(out)
}
