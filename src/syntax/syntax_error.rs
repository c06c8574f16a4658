//! Syntax diagnostics from pest's errors: what was expected, in the
//! language's words, and what was found instead.

use pest::error::{ErrorVariant, InputLocation};

use super::ast::Span;
use super::parse::Rule;
use crate::diagnostic::{Code, Diagnostic};

/// The diagnostic for a failed parse of the full grammar; `unclosed` is the
/// offset of the innermost bracket left open, if any.
pub(super) fn syntax_error(
    source: &str,
    error: pest::error::Error<Rule>,
    unclosed: Option<usize>,
) -> Diagnostic {
    let at = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((start, _)) => start,
    };
    let found = describe_found(source, at);
    let span = Span::new(at, (at + found.len_bytes).min(source.len()));
    if let (0, Some(opener)) = (found.len_bytes, unclosed) {
        let bracket = source.get(opener..=opener).unwrap_or("(");
        let closer = if bracket == "[" { "]" } else { ")" };
        return Diagnostic::error(Code::Syntax, format!("unclosed `{bracket}`"), span)
            .with_label(format!("expected `{closer}` before the end"))
            .with_secondary(Span::new(opener, opener + 1), "opened here");
    }
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_list(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    if expected.is_empty() {
        return Diagnostic::error(Code::Syntax, format!("unexpected {}", found.text), span)
            .with_label("not expected here");
    }
    Diagnostic::error(
        Code::Syntax,
        format!("expected {expected}, found {}", found.text),
        span,
    )
    .with_label(format!("expected {expected}"))
}

struct Found {
    text: String,
    len_bytes: usize,
}

fn describe_found(source: &str, at: usize) -> Found {
    let rest = source.get(at..).unwrap_or_default();
    let Some(first) = rest.chars().next() else {
        return Found {
            text: "end of input".to_owned(),
            len_bytes: 0,
        };
    };
    let word_len = if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let word = rest.get(..word_len).unwrap_or_default();
    let shown = if first.is_control() {
        first.escape_debug().to_string()
    } else {
        word.to_owned()
    };
    Found {
        text: format!("`{shown}`"),
        len_bytes: word_len,
    }
}

/// "an expression, `)` or `,`" from pest's list of rules it would have accepted.
fn expected_list(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = rules.iter().filter_map(|r| rule_name(*r)).collect();
    names.sort_unstable();
    names.dedup();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::unary
        | Rule::paren
        | Rule::call_or_name
        | Rule::string
        | Rule::number
        | Rule::duration
        | Rule::timestamp
        | Rule::kw_true
        | Rule::kw_false
        | Rule::kw_null
        | Rule::bracket_list => "an expression",
        Rule::name | Rule::ident | Rule::quoted_name => "a name",
        Rule::or_op | Rule::kw_or => "`OR`",
        Rule::and_op | Rule::kw_and => "`AND`",
        Rule::cmp_op => "a comparison",
        Rule::sum_op | Rule::product_op => "an arithmetic operator",
        Rule::compare
        | Rule::is_null
        | Rule::negatable
        | Rule::contains
        | Rule::starts_with
        | Rule::ends_with => "a comparison",
        Rule::kw_in | Rule::in_list => "`IN`",
        Rule::kw_between | Rule::between => "`BETWEEN`",
        Rule::kw_with => "`WITH`",
        Rule::kw_where | Rule::where_clause => "`WHERE`",
        Rule::kw_within | Rule::kw_since | Rule::window | Rule::within | Rule::since => {
            "a window (`WITHIN` or `SINCE`)"
        }
        Rule::call_args => "`(`",
        Rule::paren_items => "a list in parentheses",
        Rule::field => "`.`",
        _ => return None,
    })
}
