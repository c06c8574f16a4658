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
    let diagnostic = if expected.is_empty() {
        Diagnostic::error(Code::Syntax, format!("unexpected {}", found.text), span)
            .with_label("not expected here")
    } else {
        Diagnostic::error(
            Code::Syntax,
            format!("expected {expected}, found {}", found.text),
            span,
        )
        .with_label(format!("expected {expected}"))
    };
    match duration_hint(source, at) {
        Some(hint) => diagnostic.with_help(hint),
        None => diagnostic,
    }
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

// ------------------------------------------------------ durations as spoken

/// Unit words people write after a number, and the language's unit for each
/// (`None`: a month or a year, which has no fixed length and no unit).
const UNIT_WORDS: [(&[&str], Option<&str>); 7] = [
    (
        &["ms", "msec", "msecs", "millisecond", "milliseconds"],
        Some("ms"),
    ),
    (&["s", "sec", "secs", "second", "seconds"], Some("s")),
    (&["m", "min", "mins", "minute", "minutes"], Some("m")),
    (&["h", "hr", "hrs", "hour", "hours"], Some("h")),
    (&["d", "day", "days"], Some("d")),
    (&["w", "wk", "wks", "week", "weeks"], Some("w")),
    (
        &["mo", "month", "months", "y", "yr", "yrs", "year", "years"],
        None,
    ),
];

/// A help line when the parse failed on a duration written as it is spoken
/// (`7 days`, `7days`, `7 d`): the commonest syntax error in a first rule,
/// and the generic "expected …" list does not say what to write instead.
fn duration_hint(source: &str, at: usize) -> Option<String> {
    let rest = source.get(at..)?;
    let word_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let word = rest.get(..word_end)?;
    // `7days` fails at its first digit; `7 days` and `7 d` at the word.
    let (amount, unit_word) = match word.find(|c: char| c.is_ascii_alphabetic()) {
        Some(0) => (amount_before(source.get(..at)?)?, word),
        Some(split) => {
            let (digits, unit_word) = word.split_at(split);
            let is_amount = digits.starts_with(|c: char| c.is_ascii_digit())
                && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
            (is_amount.then_some(digits)?, unit_word)
        }
        None => return None,
    };
    let lower = unit_word.to_ascii_lowercase();
    let (_, unit) = UNIT_WORDS
        .iter()
        .find(|(words, _)| words.contains(&lower.as_str()))?;
    let see = "see docs/language.md#durations";
    Some(match unit {
        Some(unit) => format!(
            "durations are written without a space, with a one-letter unit: `{amount}{unit}` \
             (units: ms, s, m, h, d, w; {see})"
        ),
        None => format!(
            "durations have no month or year unit: write days, such as `30d` or `365d` ({see})"
        ),
    })
}

/// The integer right before `text`'s end, across spaces, if it is a whole
/// number token (not the tail of a name such as `count_7` or of `1.5`).
fn amount_before(text: &str) -> Option<&str> {
    let trimmed = text.trim_end();
    let start = trimmed
        .rfind(|c: char| !(c.is_ascii_digit() || c == '_'))
        .map_or(0, |i| i + 1);
    let digits = trimmed.get(start..)?;
    let before = trimmed.get(..start)?.chars().next_back();
    let standalone = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (digits.starts_with(|c: char| c.is_ascii_digit()) && standalone).then_some(digits)
}

#[cfg(test)]
mod tests {
    use crate::syntax::parse;

    /// The help of the first diagnostic `source` gets.
    fn help(source: &str) -> Option<String> {
        parse(source).err()?.first()?.help.clone()
    }

    #[test]
    fn a_duration_written_as_spoken_gets_the_written_form() {
        let days = "durations are written without a space, with a one-letter unit: `7d` \
                    (units: ms, s, m, h, d, w; see docs/language.md#durations)";
        assert_eq!(
            help("count(login WITHIN 7 days) > 0").as_deref(),
            Some(days)
        );
        assert_eq!(help("count(login WITHIN 7days) > 0").as_deref(), Some(days));
        assert_eq!(help("count(login WITHIN 7 d) > 0").as_deref(), Some(days));
        let hours = help("count(login WITHIN 1_000 Hours) > 0").unwrap();
        assert!(hours.contains("`1_000h`"), "{hours}");
        let months = help("count(login WITHIN 3 months) > 0").unwrap();
        assert!(
            months.starts_with("durations have no month or year unit"),
            "{months}"
        );
    }

    #[test]
    fn the_message_stays_the_one_the_grammar_gives() {
        let errors = parse("count(login WITHIN 7 days) > 0").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.ends_with("found `days`"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn other_syntax_errors_get_no_duration_hint() {
        for source in [
            "count_7 days",
            "1.5 days > 0",
            "a > 1 b",
            "x days",
            "login_count_30d > ",
            "count(login WITHIN 7 parsecs) > 0",
        ] {
            assert_eq!(help(source), None, "{source}");
        }
    }
}
