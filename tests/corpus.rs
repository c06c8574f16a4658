#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Data-driven corpus of the trigger language (SPEC §2–3), walked by a small
//! harness in the style of rust-analyzer's parser tests and regex's corpus.
//! Only the public API is used.
//!
//! # Layout
//!
//! `tests/data/parse/NAME.expr` + `NAME.ast`
//! : the expression, and the S-expression `nextbest::syntax::parse(src)?.dump()`
//!   must give. The harness also checks the print/parse round trip:
//!   `parse(&expr.to_string())` must dump the same tree. Lines of `NAME.ast`
//!   starting with `#` are comments; `# bug(dump): …` and
//!   `# bug(round-trip): …` mark a check as a known bug (see below).
//!
//! `tests/data/errors/NAME.expr` + `NAME.stderr`
//! : an expression that must not compile as a trigger
//!   (`Trigger::compile(src, &schema)` against [`schema`]), and the rendered
//!   diagnostics (`CompileError`'s `Display`, i.e. `render("<expr>")`).
//!   Inputs too big for a file (100 000 nested parentheses…) are generated in
//!   [`generated_pathological_inputs`].
//!
//! `tests/data/eval/NAME.txt`
//! : a line format, one directive or assertion per line:
//!
//!   ```text
//!   # a comment (blank lines are ignored too)
//!   profile: {"id": "c-1", "traits": {…}, "events": […]}   (SPEC §3 JSON form)
//!   now: 2026-11-24T09:00:00Z                              (the evaluation instant)
//!   journey: 2026-11-17T09:00:00Z                          (`journey.entered_at`; `journey: none` clears it)
//!   EXPR => true | false | null        a trigger: `Trigger::evaluate` (or `evaluate_in_journey`)
//!   EXPR ==> VALUE                     any expression: `Compiler::expression(src)?.evaluate()`,
//!                                      compared with the `Display` of the `Value` (JSON-like:
//!                                      `null`, `3`, `1.5`, `"text"`, `"2026-01-15T10:00:00Z"`, `"1d"`)
//!   ```
//!
//!   Each assertion uses the latest `profile:` and `now:` above it.
//!
//! # Expectations and known bugs
//!
//! Every `.ast` and eval expectation was written from the SPEC, not copied from
//! the implementation. A case where the implementation disagrees with the SPEC
//! is marked as a known bug instead of being changed: an eval line starting
//! with `bug:`, or an `.ast` file with a `# bug(dump):` or `# bug(round-trip):`
//! line. Marked cases are skipped by the ordinary corpus tests and run by
//! [`known_spec_disagreements`], which fails while any of them still disagrees
//! (so every run reports them) and also fails, asking for the marker to be
//! removed, once one agrees.
//!
//! # Blessing
//!
//! `NEXTBEST_BLESS=1 cargo test --test corpus` rewrites the expectations of
//! unmarked cases (`.ast`, `.stderr`, eval lines) with what the implementation
//! gives. Use it for rendered diagnostics; for parse trees and evaluation
//! results, reason out the right answer from the SPEC and review every change.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use nextbest::{Compiler, EventSchema, Limits, Profile, Schema, Timestamp, Trigger, Type};

// ------------------------------------------------------------------ shared

/// The schema of SPEC §4, plus `country`, `cart_items` and `severity` (an
/// attribute that is also a property of `support_ticket`, for the
/// ambiguous-name diagnostic).
fn schema() -> Schema {
    Schema::builder()
        .attribute("login_count_30d", Type::Int)
        .attribute("login_count_60d", Type::Int)
        .attribute("user_segment", Type::String)
        .attribute("lifetime_value", Type::Float)
        .attribute("last_login", Type::Timestamp)
        .attribute("email_opt_in", Type::Bool)
        .attribute("email_consent_expires", Type::Timestamp)
        .attribute("unsubscribed", Type::Bool)
        .attribute("timezone", Type::String)
        .attribute("tags", Type::List(Box::new(Type::String)))
        .attribute("country", Type::String)
        .attribute("cart_items", Type::Int)
        .attribute("severity", Type::Int)
        .event("login", EventSchema::new())
        .event(
            "page_view",
            EventSchema::new().property("path", Type::String),
        )
        .event(
            "purchase",
            EventSchema::new()
                .property("amount", Type::Float)
                .property("product_id", Type::String),
        )
        .event(
            "support_ticket",
            EventSchema::new()
                .property("product_id", Type::String)
                .property("severity", Type::Int),
        )
        .build()
        .unwrap()
}

fn data_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(kind)
}

/// The files of `tests/data/KIND` ending in `.EXT`, sorted by name.
fn corpus_files(kind: &str, ext: &str) -> Vec<PathBuf> {
    let dir = data_dir(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .{ext} files in {}", dir.display());
    files
}

fn bless() -> bool {
    std::env::var_os("NEXTBEST_BLESS").is_some_and(|v| v == "1")
}

/// A corpus path relative to `tests/data`, for messages.
fn short(path: &Path) -> String {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data");
    path.strip_prefix(&base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The text of an input file without its final newline(s).
fn read_source(path: &Path) -> String {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.trim_end_matches(['\n', '\r']).to_owned()
}

/// Reads a companion file, `None` when it does not exist.
fn read_expected(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// Fails with every mismatch at once.
fn report(what: &str, failures: &[String]) {
    if !failures.is_empty() {
        panic!(
            "{} {what} case(s) failed:\n\n{}\n\n(set NEXTBEST_BLESS=1 to rewrite expectations, after checking them against the SPEC)",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

/// Whether a case is marked as a known SPEC disagreement, and run by
/// [`known_spec_disagreements`] instead of the ordinary corpus tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    Ordinary,
    KnownBugs,
}

/// The result of one check: what was expected and what the implementation gave.
struct Outcome {
    location: String,
    expected: String,
    actual: String,
}

impl Outcome {
    fn agrees(&self) -> bool {
        self.expected == self.actual
    }

    fn describe(&self) -> String {
        format!(
            "{}\n  expected: {}\n  actual:   {}",
            self.location,
            indent(&self.expected),
            indent(&self.actual)
        )
    }
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n            ")
}

// ------------------------------------------------------------------ parse

/// An `.ast` file: the expected dump (its non-comment lines) and which of
/// its checks are marked as known bugs.
struct AstFile {
    expected: String,
    /// `# bug(dump): …`: the dump disagrees with the SPEC.
    dump_bug: bool,
    /// `# bug(round-trip): …`: printing and parsing again loses the tree.
    round_trip_bug: bool,
}

fn parse_ast_file(text: &str) -> AstFile {
    let mut file = AstFile {
        expected: String::new(),
        dump_bug: false,
        round_trip_bug: false,
    };
    let mut body = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            file.dump_bug |= comment.starts_with("bug(dump):");
            file.round_trip_bug |= comment.starts_with("bug(round-trip):");
        } else if !line.trim().is_empty() {
            body.push(line.trim_end());
        }
    }
    file.expected = body.join("\n");
    file
}

/// Runs the parse corpus; returns the outcomes of the selected cases.
fn run_parse(select: Select) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for expr_path in corpus_files("parse", "expr") {
        let source = read_source(&expr_path);
        let ast_path = expr_path.with_extension("ast");
        let ast_text = read_expected(&ast_path).unwrap_or_default();
        let AstFile {
            expected,
            dump_bug,
            round_trip_bug,
        } = parse_ast_file(&ast_text);
        // Ordinary runs check what is not marked; known-bug runs what is.
        let check_dump = dump_bug == (select == Select::KnownBugs);
        let check_round_trip = round_trip_bug == (select == Select::KnownBugs);
        if !check_dump && !check_round_trip {
            continue;
        }
        let location = format!("{} — `{}`", short(&expr_path), source.replace('\n', "⏎"));
        let tree = match nextbest::syntax::parse(&source) {
            Ok(tree) => tree,
            Err(diagnostics) => {
                let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                if check_dump {
                    outcomes.push(Outcome {
                        location,
                        expected,
                        actual: format!("parse error: {}", text.join("; ")),
                    });
                }
                continue;
            }
        };
        let dump = tree.dump();
        if check_dump {
            if select == Select::Ordinary && bless() && dump != expected {
                let comments: String = ast_text
                    .lines()
                    .filter(|l| l.starts_with('#'))
                    .map(|l| format!("{l}\n"))
                    .collect();
                fs::write(&ast_path, format!("{comments}{dump}\n")).unwrap();
            } else {
                outcomes.push(Outcome {
                    location: location.clone(),
                    expected: expected.clone(),
                    actual: dump.clone(),
                });
            }
        }
        if check_round_trip {
            let printed = tree.to_string();
            let reparsed = match nextbest::syntax::parse(&printed) {
                Ok(again) => again.dump(),
                Err(diagnostics) => {
                    let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                    format!("parse error: {}", text.join("; "))
                }
            };
            outcomes.push(Outcome {
                location: format!("{location}, printed as `{printed}` and parsed again"),
                expected: dump,
                actual: reparsed,
            });
        }
    }
    outcomes
}

#[test]
fn parse_corpus() {
    let failures: Vec<String> = run_parse(Select::Ordinary)
        .iter()
        .filter(|o| !o.agrees())
        .map(Outcome::describe)
        .collect();
    report("parse", &failures);
}

// ------------------------------------------------------------------ errors

#[test]
fn error_corpus() {
    let schema = schema();
    let mut failures = Vec::new();
    for expr_path in corpus_files("errors", "expr") {
        let source = read_source(&expr_path);
        let stderr_path = expr_path.with_extension("stderr");
        let actual = match Trigger::compile(&source, &schema) {
            Ok(_) => "<compiled without error>".to_owned(),
            Err(error) => error.render("<expr>"),
        };
        let expected = read_expected(&stderr_path).map(|t| t.trim_end_matches('\n').to_owned());
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if bless() && actual != "<compiled without error>" {
            fs::write(&stderr_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let outcome = Outcome {
            location: format!("{} — `{source}`", short(&expr_path)),
            expected: expected.unwrap_or_else(|| "<no .stderr file>".to_owned()),
            actual,
        };
        failures.push(outcome.describe());
    }
    report("error", &failures);
}

/// The codes of a failed compilation, or `"compiled"`.
fn codes(result: Result<Trigger, nextbest::CompileError>) -> Vec<String> {
    match result {
        Ok(_) => vec!["compiled".to_owned()],
        Err(error) => {
            // Rendering a huge one-line input must terminate too.
            assert!(!error.render("<expr>").is_empty());
            error
                .diagnostics
                .iter()
                .map(|d| d.code.as_str().to_owned())
                .collect()
        }
    }
}

/// Inputs too large for a corpus file: each must give a diagnostic, never a
/// stack overflow or a hang (SPEC §2.6).
#[test]
fn generated_pathological_inputs() {
    let schema = schema();
    let n = 100_000;
    let parens = "(".repeat(n) + "TRUE" + &")".repeat(n);
    let brackets = "[".repeat(n) + "1" + &"]".repeat(n) + " = []";
    let nots = "NOT ".repeat(n) + "TRUE";
    let minuses = "-".repeat(n) + "1 > 0";
    let unclosed = "(".repeat(n) + "TRUE";

    // Over the default source length (64 KiB): reported as such.
    assert_eq!(codes(Trigger::compile(&parens, &schema)), ["E0101"]);
    let error = Trigger::compile(&parens, &schema).unwrap_err();
    assert_eq!(
        error.diagnostics[0].message,
        "expression is 200004 bytes long, more than the limit of 65536"
    );

    // With the length limit raised, the nesting limit (default 64) answers.
    let roomy = Compiler::new(&schema).limits(Limits::new().source_len(1 << 20));
    let error = roomy.trigger(&parens).unwrap_err();
    assert_eq!(error.diagnostics.len(), 1);
    let deep = &error.diagnostics[0];
    assert_eq!(deep.code.as_str(), "E0102");
    assert_eq!(deep.message, "expression nested more than 64 levels deep");
    assert_eq!(deep.span.range(), 64..65, "points at the 65th `(`");
    for (name, input) in [
        ("brackets", &brackets),
        ("NOTs", &nots),
        ("minuses", &minuses),
        ("unclosed", &unclosed),
    ] {
        assert_eq!(codes(roomy.trigger(input)), ["E0102"], "{name}");
    }

    // Nesting at exactly the limit compiles; one more level does not.
    let depth = |levels: usize| "(".repeat(levels) + "TRUE" + &")".repeat(levels);
    let small = Compiler::new(&schema).limits(Limits::new().depth(8));
    assert_eq!(codes(small.trigger(&depth(7))), ["compiled"]);
    assert_eq!(codes(small.trigger(&depth(9))), ["E0102"]);

    // A long flat chain is not nesting: AND/OR chains are flattened.
    let chain = vec!["email_opt_in"; 10_000].join(" OR ");
    assert_eq!(codes(roomy.trigger(&chain)), ["compiled"]);

    // More aggregates than the limit (default 32).
    let aggregates = vec!["exists(login)"; 33].join(" OR ");
    assert_eq!(codes(Trigger::compile(&aggregates, &schema)), ["E0104"]);
    let aggregates = vec!["exists(login)"; 32].join(" OR ");
    assert_eq!(codes(Trigger::compile(&aggregates, &schema)), ["compiled"]);
}

// ------------------------------------------------------------------ eval

/// One assertion line of an eval file.
struct Assertion<'a> {
    known_bug: bool,
    expr: &'a str,
    /// `=>` (a trigger's truth) or `==>` (an expression's value).
    arrow: &'static str,
    expected: &'a str,
}

fn parse_assertion(line: &str) -> Option<Assertion<'_>> {
    let (known_bug, rest) = match line.strip_prefix("bug:") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, line),
    };
    let (at, arrow) = match rest.rfind(" ==> ") {
        Some(at) => (at, "==>"),
        None => (rest.rfind(" => ")?, "=>"),
    };
    Some(Assertion {
        known_bug,
        expr: rest[..at].trim(),
        arrow,
        expected: rest[at + arrow.len() + 2..].trim(),
    })
}

/// Evaluates one assertion: the result as it would be written, or why there
/// is none (a compile or evaluation error).
fn evaluate(
    schema: &Schema,
    assertion: &Assertion<'_>,
    profile: &Profile,
    now: Timestamp,
    entered_at: Option<Timestamp>,
) -> Result<String, String> {
    let compiler = Compiler::new(schema).journey(entered_at.is_some());
    let compile_error = |e: nextbest::CompileError| {
        let messages: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
        format!("compile error: {}", messages.join("; "))
    };
    if assertion.arrow == "=>" {
        let trigger = compiler.trigger(assertion.expr).map_err(compile_error)?;
        let truth = match entered_at {
            Some(at) => trigger.evaluate_in_journey(profile, now, at),
            None => trigger.evaluate(profile, now),
        };
        truth
            .map(|t| t.to_string())
            .map_err(|e| format!("evaluation error: {e}"))
    } else {
        if entered_at.is_some() {
            return Err("harness error: `==>` lines cannot follow `journey:` (an Expression has no evaluate_in_journey)".to_owned());
        }
        let expression = compiler.expression(assertion.expr).map_err(compile_error)?;
        expression
            .evaluate(profile, now)
            .map(|v| v.to_string())
            .map_err(|e| format!("evaluation error: {e}"))
    }
}

/// Runs the eval corpus; returns the outcomes of the selected assertions.
fn run_eval(select: Select) -> Vec<Outcome> {
    let schema = schema();
    let mut outcomes = Vec::new();
    let mut count = 0;
    for path in corpus_files("eval", "txt") {
        let text = fs::read_to_string(&path).unwrap();
        let mut profile: Option<Profile> = None;
        let mut now: Option<Timestamp> = None;
        let mut entered_at: Option<Timestamp> = None;
        let mut rewritten = Vec::new();
        let mut changed = false;
        for (index, line) in text.lines().enumerate() {
            rewritten.push(line.to_owned());
            let at = format!("{}:{}", short(&path), index + 1);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(json) = trimmed.strip_prefix("profile:") {
                let loaded = Profile::from_json(&schema, json.trim());
                profile = Some(loaded.unwrap_or_else(|e| panic!("{at}: bad profile: {e}")));
                continue;
            }
            if let Some(instant) = trimmed.strip_prefix("now:") {
                now =
                    Some(Timestamp::parse(instant.trim()).unwrap_or_else(|e| panic!("{at}: {e}")));
                continue;
            }
            if let Some(instant) = trimmed.strip_prefix("journey:") {
                entered_at = match instant.trim() {
                    "none" => None,
                    instant => {
                        Some(Timestamp::parse(instant).unwrap_or_else(|e| panic!("{at}: {e}")))
                    }
                };
                continue;
            }
            let assertion = parse_assertion(trimmed)
                .unwrap_or_else(|| panic!("{at}: not an assertion: {trimmed}"));
            count += 1;
            if assertion.known_bug != (select == Select::KnownBugs) {
                continue;
            }
            let profile = profile
                .as_ref()
                .unwrap_or_else(|| panic!("{at}: no `profile:` line before"));
            let now = now.unwrap_or_else(|| panic!("{at}: no `now:` line before"));
            let result = evaluate(&schema, &assertion, profile, now, entered_at);
            let blessable = select == Select::Ordinary && bless() && result.is_ok();
            let actual = result.unwrap_or_else(|error| error);
            let outcome = Outcome {
                location: format!("{at} — `{}` {}", assertion.expr, assertion.arrow),
                expected: assertion.expected.to_owned(),
                actual: actual.clone(),
            };
            if !outcome.agrees() && blessable {
                if let Some(last) = rewritten.last_mut() {
                    *last = format!("{} {} {actual}", assertion.expr, assertion.arrow);
                }
                changed = true;
            } else {
                outcomes.push(outcome);
            }
        }
        if changed {
            fs::write(&path, rewritten.join("\n") + "\n").unwrap();
        }
    }
    assert!(count > 0, "no eval assertions found");
    outcomes
}

#[test]
fn eval_corpus() {
    let failures: Vec<String> = run_eval(Select::Ordinary)
        .iter()
        .filter(|o| !o.agrees())
        .map(Outcome::describe)
        .collect();
    report("eval", &failures);
}

// ------------------------------------------------------------------ known bugs

/// Runs every case marked as a known disagreement with the SPEC (`bug:` in an
/// eval file, `# bug(dump):` or `# bug(round-trip):` in an `.ast` file).
/// Fails while any still disagrees, listing them, and fails when one agrees,
/// asking for its marker to go.
#[test]
fn known_spec_disagreements() {
    let outcomes: Vec<Outcome> = run_parse(Select::KnownBugs)
        .into_iter()
        .chain(run_eval(Select::KnownBugs))
        .collect();
    let mut message = String::new();
    let still: Vec<&Outcome> = outcomes.iter().filter(|o| !o.agrees()).collect();
    let fixed: Vec<&Outcome> = outcomes.iter().filter(|o| o.agrees()).collect();
    if !still.is_empty() {
        let _ = writeln!(
            message,
            "{} case(s) where the implementation disagrees with the SPEC (marked as known bugs in tests/data):\n",
            still.len()
        );
        for outcome in &still {
            let _ = writeln!(message, "{}\n", outcome.describe());
        }
    }
    if !fixed.is_empty() {
        let _ = writeln!(
            message,
            "{} marked case(s) now agree with the SPEC; remove their bug marker:\n",
            fixed.len()
        );
        for outcome in &fixed {
            let _ = writeln!(message, "{}\n", outcome.location);
        }
    }
    assert!(message.is_empty(), "{message}");
}
