//! The fast path against the full grammar: on every input, the fast path
//! gives exactly the tree the full grammar gives (spans included), or
//! declines; it declines exactly when the full grammar reports a diagnostic.
//! Inputs: the corpus of `tests/data`, and trees printed by `Display` then
//! mutated (whitespace, comments, letter case, deleted and inserted text).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs;
use std::path::Path;

use proptest::prelude::*;

use super::ast::*;
use super::parse::parse_each_way;
use crate::limits::Limits;

/// Fails unless the two paths agree on `source` under `limits`.
fn agree(source: &str, limits: &Limits) -> Result<(), String> {
    let (fast, full) = parse_each_way(source, limits);
    match (fast, full) {
        (Some(fast), Ok(full)) if fast == full => Ok(()),
        (Some(fast), Ok(full)) => Err(format!(
            "{source:?}: the trees differ\nfast: {fast:?}\nfull: {full:?}"
        )),
        (Some(fast), Err(errors)) => Err(format!(
            "{source:?}: the fast path accepted what the full grammar rejects\nfast: {fast:?}\nfull: {errors:?}"
        )),
        // The fast rules have no comments: a `#` sends the input on.
        (None, Ok(_)) if source.contains('#') => Ok(()),
        (None, Ok(full)) => Err(format!(
            "{source:?}: the fast path declined a valid expression\nfull: {full:?}"
        )),
        (None, Err(_)) => Ok(()),
    }
}

/// Every expression of the corpus: `.expr` files, and the expressions of the
/// evaluation files (`EXPR => …`, `EXPR ==> …`).
fn corpus() -> Vec<String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut sources = Vec::new();
    for dir in ["parse", "errors", "eval"] {
        let mut files: Vec<_> = fs::read_dir(data.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let text = fs::read_to_string(&file).unwrap();
            match file.extension().and_then(|e| e.to_str()) {
                Some("expr") => sources.push(text),
                Some("txt") => sources.extend(text.lines().filter_map(|line| {
                    let line = line.strip_prefix("bug:").unwrap_or(line).trim();
                    let (expr, _) = line.split_once(" ==> ").or(line.split_once(" => "))?;
                    Some(expr.to_owned())
                })),
                _ => {}
            }
        }
    }
    sources
}

#[test]
fn the_corpus_parses_the_same_both_ways() {
    let sources = corpus();
    assert!(sources.len() > 500, "only {} expressions", sources.len());
    let tight = Limits::default().depth(4).list_len(2);
    let mut failures = Vec::new();
    let mut accepted = 0;
    for source in &sources {
        for limits in [Limits::default(), tight] {
            if let Err(failure) = agree(source, &limits) {
                failures.push(failure);
            }
        }
        accepted += usize::from(parse_each_way(source, &Limits::default()).0.is_some());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The fast path is the common path, not a corner case.
    assert!(
        accepted * 2 > sources.len(),
        "{accepted} of {}",
        sources.len()
    );
}

#[test]
fn the_deepest_default_nesting_parses_the_same_both_ways() {
    // The bracket depth is bounded before pest runs; at the default bound,
    // both paths run within a test thread's stack in a debug build. (Both
    // overflow it from about 76 levels of `f(`, as the full grammar did
    // before the fast path; release builds take far less stack per level.)
    let limits = Limits::default();
    let levels = limits.max_depth() - 1;
    for (open, close) in [("(", ")"), ("[", "]"), ("f(", ")"), ("-(NOT ", ")")] {
        let source = format!("{}x{} = 1", open.repeat(levels), close.repeat(levels));
        agree(&source, &limits).unwrap();
    }
}

#[test]
fn spans_end_where_the_full_grammar_ends_them() {
    // Whitespace after a name, a comparison, an AND chain, a field,
    // `IS NULL`, a list, a sum and a product, inside brackets and not.
    for source in [
        "a  AND b \t\r\n",
        "(a = 1 ) OR (b.c  AND d IS NULL )",
        "x IN (1, 2 ) AND y NOT BETWEEN 1 + 2 AND 3 * z.w  ",
        "a = b + c * d.e  AND f",
        "- - a . b  >  -1 \n",
        "count(page_view WHERE path = '/p'  WITHIN 7d ) >= 3",
        "NOT ! x  AND !y",
        "[1, [2 ], ( 3 )] CONTAINS 2  OR s STARTS  WITH 'a' ",
        "f( ) = g(1 ,2) AND `order` IS NOT NULL\n",
    ] {
        let (fast, full) = parse_each_way(source, &Limits::default());
        assert_eq!(fast, Some(full.unwrap()), "{source:?}");
    }
}

#[test]
fn the_fast_path_declines_comments_and_what_only_the_full_grammar_reports() {
    let (fast, full) = parse_each_way("a AND b # a comment", &Limits::default());
    assert!(fast.is_none() && full.is_ok());
    for source in [
        "a < b < c",
        "a ! = b",
        "1 +",
        "count(page_view) AND lower(x WHERE y)",
        "'\\q' = a",
        "99999999999999999999 > a",
        "x IN ()",
        "a AND OR b",
    ] {
        let (fast, full) = parse_each_way(source, &Limits::default());
        assert!(fast.is_none(), "{source:?}");
        assert!(full.is_err(), "{source:?}");
    }
}

// ------------------------------------------------------------------ trees

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_][a-z0-9_]{0,6}",
        1 => Just("order".to_owned()),
        1 => Just("Where".to_owned()),
        1 => "[a-zé ]{1,4}",
    ]
}

fn named(text: String) -> Name {
    Name {
        text,
        span: Span::default(),
    }
}

fn node(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        (0i64..1_000_000).prop_map(Literal::Int),
        (0.0f64..1e6).prop_map(Literal::Float),
        "[a-z'\"\\\\é😀\n]{0,5}".prop_map(Literal::String),
        (0i64..100, 0usize..6).prop_map(|(amount, unit)| {
            let unit = [
                DurationUnit::Milliseconds,
                DurationUnit::Seconds,
                DurationUnit::Minutes,
                DurationUnit::Hours,
                DurationUnit::Days,
                DurationUnit::Weeks,
            ][unit];
            Literal::Duration(DurationLiteral { amount, unit })
        }),
        (0i64..2_000_000_000).prop_map(|s| Literal::Timestamp(s * 1_000_000)),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Rem,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ])
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(|l| node(ExprKind::Literal(l))),
        name().prop_map(|n| node(ExprKind::Name(named(n)))),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        let boxed = inner.clone().prop_map(Box::new);
        let list = prop::collection::vec(inner.clone(), 0..4);
        prop_oneof![
            (boxed.clone(), name()).prop_map(|(e, n)| node(ExprKind::Field(e, named(n)))),
            (name(), list.clone()).prop_map(|(n, args)| node(ExprKind::Call(named(n), args))),
            list.clone().prop_map(|items| node(ExprKind::List(items))),
            (any::<bool>(), boxed.clone()).prop_map(|(not, e)| {
                let op = if not { UnaryOp::Not } else { UnaryOp::Neg };
                node(ExprKind::Unary(op, e))
            }),
            (binary_op(), boxed.clone(), boxed.clone())
                .prop_map(|(op, l, r)| node(ExprKind::Binary(op, l, r))),
            (any::<bool>(), prop::collection::vec(inner.clone(), 2..4)).prop_map(|(and, items)| {
                let op = if and { LogicalOp::And } else { LogicalOp::Or };
                node(ExprKind::Logical(op, items))
            }),
            (boxed.clone(), any::<bool>())
                .prop_map(|(operand, negated)| node(ExprKind::IsNull { operand, negated })),
            (boxed.clone(), list, any::<bool>()).prop_map(|(operand, list, negated)| {
                node(ExprKind::In {
                    operand,
                    list,
                    negated,
                })
            }),
            (boxed.clone(), boxed.clone(), boxed.clone(), any::<bool>()).prop_map(
                |(operand, low, high, negated)| {
                    node(ExprKind::Between {
                        operand,
                        low,
                        high,
                        negated,
                    })
                }
            ),
            (0usize..3, boxed.clone(), boxed.clone()).prop_map(|(op, l, r)| {
                let op = [TextOp::Contains, TextOp::StartsWith, TextOp::EndsWith][op];
                node(ExprKind::Text(op, l, r))
            }),
            (
                0usize..8,
                name(),
                prop::option::of(inner.clone()),
                0usize..3,
                inner
            )
                .prop_map(|(f, event, filter, window, bound)| {
                    node(ExprKind::Aggregate(Box::new(Aggregate {
                        function: AggregateFn::ALL[f],
                        function_span: Span::default(),
                        event: named(event),
                        property: None,
                        filter,
                        window: match window {
                            0 => None,
                            1 => Some(Window::Within(bound)),
                            _ => Some(Window::Since(bound)),
                        },
                    })))
                }),
        ]
    })
}

// ------------------------------------------------------------------ mutations

/// Whitespace and comments, as the language writes them (SPEC §2.1), and
/// characters it does not count as whitespace.
const GAPS: &[&str] = &[
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    " # a comment\n",
    "#\n",
    "# no newline",
    "\u{b}",
    "\u{a0}",
];

/// Text to insert: tokens, halves of tokens, brackets.
const SNIPPETS: &[&str] = &[
    "(", ")", "[", "]", ",", ".", "-", "!", "=", "<", "NOT ", "AND", "or", "Is", "nuLL", "IN",
    "between", "with", "#", "'", "`", "@", "1", "e", "d", "é", "_", "||", "&&",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Replaces the `n`th space with a gap.
    Gap(usize, usize),
    /// Inserts a gap or a snippet at a fraction of the length.
    Insert(usize, bool, usize),
    /// Flips the case of the letter at a fraction of the length.
    Case(usize),
    /// Deletes the character at a fraction of the length.
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0..GAPS.len()).prop_map(|(n, g)| Mutation::Gap(n, g)),
        2 => (any::<usize>(), any::<bool>(), any::<usize>())
            .prop_map(|(at, gap, i)| Mutation::Insert(at, gap, i)),
        2 => any::<usize>().prop_map(Mutation::Case),
        1 => any::<usize>().prop_map(Mutation::Delete),
    ]
}

/// The char boundary at or before `fraction` modulo the length.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(mut text: String, mutations: &[Mutation]) -> String {
    for mutation in mutations {
        match *mutation {
            Mutation::Gap(n, gap) => {
                let spaces: Vec<_> = text.match_indices(' ').map(|(i, _)| i).collect();
                if !spaces.is_empty() {
                    let at = spaces[n % spaces.len()];
                    text.replace_range(at..=at, GAPS[gap]);
                }
            }
            Mutation::Insert(at, gap, i) => {
                let at = boundary(&text, at);
                let snippet = if gap {
                    GAPS[i % GAPS.len()]
                } else {
                    SNIPPETS[i % SNIPPETS.len()]
                };
                text.insert_str(at, snippet);
            }
            Mutation::Case(at) => {
                let at = boundary(&text, at);
                if let Some(c) = text[at..].chars().next().filter(char::is_ascii_alphabetic) {
                    let flipped = if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    };
                    text.replace_range(at..at + 1, &flipped.to_string());
                }
            }
            Mutation::Delete(at) => {
                let at = boundary(&text, at);
                if let Some(c) = text[at..].chars().next() {
                    text.replace_range(at..at + c.len_utf8(), "");
                }
            }
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_trees_parse_the_same_both_ways(tree in expr()) {
        let source = tree.to_string();
        agree(&source, &Limits::default()).map_err(TestCaseError::fail)?;
        agree(&source, &Limits::default().depth(5).list_len(2)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn mutated_trees_parse_the_same_both_ways(
        tree in expr(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let source = mutate(tree.to_string(), &mutations);
        agree(&source, &Limits::default()).map_err(TestCaseError::fail)?;
    }

    /// Chains of operators whose operands end with or without a field, with
    /// whitespace or none between tokens: where the full grammar's spans end
    /// after trailing whitespace depends on exactly these shapes.
    #[test]
    fn operator_chains_parse_the_same_both_ways(
        parts in prop::collection::vec(
            (
                prop::sample::select(vec!["a", "b.c", "-d", "(e)", "f(g).h", "1", "`i`.j"]),
                prop::sample::select(vec![
                    " + ", "-", " * ", "/ ", "%", " = ", "<", " >= ", " AND ", " && ", " OR ",
                    "||", " IS NULL AND ", " IN (1) OR ", " BETWEEN 1 AND ", " CONTAINS ",
                ]),
                prop::sample::select(vec!["", " ", "  ", "\n"]),
            ),
            1..8,
        ),
    ) {
        let mut source = String::new();
        for (operand, op, gap) in &parts {
            source.push_str(operand);
            source.push_str(gap);
            source.push_str(op);
        }
        source.push('x');
        for limits in [Limits::default(), Limits::default().depth(3)] {
            agree(&source, &limits).map_err(TestCaseError::fail)?;
            agree(&format!("({source} ) AND y "), &limits).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn arbitrary_text_parses_the_same_both_ways(source in "[ -~é\t\n]{0,40}") {
        agree(&source, &Limits::default()).map_err(TestCaseError::fail)?;
    }
}
