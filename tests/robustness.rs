//! Hostile input: whatever the text, compiling gives a result or diagnostics,
//! never a panic, a stack overflow or a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use nextbest::{Code, Compiler, EventSchema, Limits, Schema, Trigger, Type, syntax};
use proptest::prelude::*;

fn schema() -> Schema {
    Schema::builder()
        .attribute("a", Type::Int)
        .attribute("s", Type::String)
        .attribute("flag", Type::Bool)
        .event(
            "page_view",
            EventSchema::new().property("path", Type::String),
        )
        .build()
        .unwrap()
}

fn first_code(source: &str, limits: Limits) -> Code {
    let error = Compiler::new(&schema())
        .limits(limits)
        .trigger(source)
        .unwrap_err();
    error.diagnostics[0].code
}

fn roomy() -> Limits {
    Limits::new().source_len(4 << 20)
}

#[test]
fn a_hundred_thousand_nested_parentheses_are_too_deep() {
    let source = "(".repeat(100_000) + "flag" + &")".repeat(100_000);
    assert_eq!(first_code(&source, roomy()), Code::TooDeep);
}

#[test]
fn unbalanced_nesting_is_too_deep_before_it_is_a_syntax_error() {
    assert_eq!(first_code(&"[".repeat(100_000), roomy()), Code::TooDeep);
    assert_eq!(first_code(&"f(".repeat(100_000), roomy()), Code::TooDeep);
}

#[test]
fn a_megabyte_of_operators_gets_a_diagnostic() {
    let megabyte = 1 << 20;
    for unit in ["-", "NOT ", "a+", "a AND ", "(("] {
        let source = unit.repeat(megabyte / unit.len()) + "a";
        let code = first_code(&source, roomy());
        assert!(
            matches!(
                code,
                Code::TooDeep | Code::Syntax | Code::WrongResultType | Code::TypeMismatch
            ),
            "{unit:?} gave {code:?}"
        );
        // With the default limits, the length alone is refused.
        assert_eq!(first_code(&source, Limits::default()), Code::SourceTooLong);
    }
}

#[test]
fn a_repeated_mistake_is_reported_a_bounded_number_of_times() {
    let source = vec!["a"; 1000].join(" AND ");
    let error = Trigger::compile(&source, &schema()).unwrap_err();
    assert_eq!(error.diagnostics.len(), 100);
    assert!(
        error
            .diagnostics
            .iter()
            .all(|d| d.code == Code::TypeMismatch)
    );
}

#[test]
fn long_flat_chains_within_the_limits_compile() {
    let source = vec!["a > 1"; 500].join(" AND ");
    Trigger::compile(&source, &schema()).unwrap();
    let sum = vec!["a"; 60].join(" + ") + " > 0";
    Trigger::compile(&sum, &schema()).unwrap();
    let too_long = vec!["a"; 70].join(" + ") + " > 0";
    assert_eq!(first_code(&too_long, Limits::default()), Code::TooDeep);
}

#[test]
fn alternatives_that_could_backtrack_stay_linear() {
    // Each of these fails deep inside; a grammar with shared prefixes would
    // re-parse the inside at every level and never finish.
    let depth = 60;
    let unclosed_calls = "lower(".repeat(depth) + "s";
    let unclosed_aggregates = "count(page_view WHERE ".repeat(depth / 2) + "path = 'x'";
    let unclosed_lists = "a IN (".repeat(depth) + "1";
    let mixed = "(([".repeat(depth / 3) + "a";
    for source in [unclosed_calls, unclosed_aggregates, unclosed_lists, mixed] {
        let code = first_code(&source, Limits::default());
        assert!(matches!(code, Code::Syntax | Code::TooDeep), "{code:?}");
    }
}

#[test]
fn too_many_aggregates_and_long_lists_are_reported() {
    let aggregates = vec!["exists(page_view)"; 40].join(" OR ");
    assert_eq!(
        first_code(&aggregates, Limits::default()),
        Code::TooManyAggregates
    );
    let list = format!("a IN ({})", vec!["1"; 2000].join(", "));
    assert_eq!(first_code(&list, Limits::default()), Code::ListTooLong);
}

/// Fragments of the language, to build strings that get past the lexer.
const TOKENS: &[&str] = &[
    "a",
    "s",
    "flag",
    "page_view",
    "path",
    "profile",
    ".",
    "journey",
    "entered_at",
    "count",
    "sum",
    "last",
    "lower",
    "(",
    ")",
    "[",
    "]",
    ",",
    "AND",
    "OR",
    "NOT",
    "!",
    "&&",
    "||",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "BETWEEN",
    "WHERE",
    "WITHIN",
    "SINCE",
    "CONTAINS",
    "STARTS",
    "ENDS",
    "WITH",
    "1",
    "0.5",
    "1e3",
    "1_000",
    "7d",
    "500ms",
    "@2026-01-15",
    "@2026-13-45",
    "'x'",
    "\"y\"",
    "'\\q'",
    "'\\u{110000}'",
    "`order`",
    "#c\n",
    " ",
    "9223372036854775808",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_strings_never_panic(source in any::<String>()) {
        let _ = Trigger::compile(&source, &schema());
    }

    #[test]
    fn token_soup_never_panics(indices in proptest::collection::vec(0..TOKENS.len(), 0..40)) {
        let source: String = indices.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        let result = Trigger::compile(&source, &schema());
        if let Err(error) = result {
            prop_assert!(!error.diagnostics.is_empty());
            for diagnostic in &error.diagnostics {
                prop_assert!(diagnostic.span.end <= source.len());
                prop_assert!(source.is_char_boundary(diagnostic.span.start));
                // Rendering never panics either.
                let _ = diagnostic.render("<expr>", &source);
            }
        }
    }

    #[test]
    fn parse_then_print_then_parse_is_stable(indices in proptest::collection::vec(0..TOKENS.len(), 0..30)) {
        let source: String = indices.iter().map(|i| TOKENS[*i]).collect::<Vec<_>>().join(" ");
        if let Ok(tree) = syntax::parse(&source) {
            let printed = tree.to_string();
            let again = syntax::parse(&printed).unwrap_or_else(|e| panic!("{source:?} printed as {printed:?}: {e:?}"));
            prop_assert_eq!(tree.dump(), again.dump());
        }
    }
}
