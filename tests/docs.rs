//! The reference documents run as tests: every fenced block of
//! `docs/language.md` and `docs/rules.md` is checked through the public API,
//! so a document that says something the code does not do fails here, with
//! the document's name and the block's line.
//!
//! The blocks, by the fence's info string:
//! - `toml` / `json`: a rule file that must load (`RuleSet::parse`). Its
//!   schema is the one the `nextbest-example` blocks after it are checked
//!   against.
//! - `toml nextbest-error` / `json nextbest-error`: a rule file that must
//!   not load; the block right after it is a `text` block holding exactly
//!   what the loader prints.
//! - `nextbest-example`: `key: value` lines (a line that starts with a space
//!   continues the previous value):
//!   - `expression:` the expression (required);
//!   - `profile:` the profile's JSON form (default: `{"id": "c-1"}`, a
//!     profile with every trait missing);
//!   - `now:` the evaluation instant (default [`NOW`]);
//!   - `entered_at:` compile as a journey condition, entered at this instant;
//!   - `result:` the value, written as an expression of the language
//!     (`TRUE`, `NULL`, `1.5`, `'a'`, `7d`, `@2026-01-15`, `[1, 2]`);
//!   - `type:` the static type (`int`, `list<string>`…);
//!   - `error:` instead of `result:`, a diagnostic the expression must get,
//!     as `CODE message`; `label:` and `help:` pin that diagnostic's parts.
//!
//! Any other fence is an error: every block of the documents is checked.
//! `NEXTBEST_BLESS=1 cargo test --test docs` rewrites the `text` blocks of
//! loader errors with what the loader prints (read the difference before
//! committing it); results and expression errors are only ever fixed by hand.

use nextbest::rules::{Format, RuleSet, RuleSetError};
use nextbest::{Compiler, Profile, Schema, Timestamp, Truth, Value};

/// The instant examples are evaluated at unless they say otherwise; the
/// documents state it.
const NOW: &str = "2026-11-24T09:00:00Z";

/// The documents, and the fewest blocks each must hold (a broken marker
/// would otherwise pass by checking nothing).
const DOCUMENTS: [(&str, usize); 2] = [("docs/language.md", 100), ("docs/rules.md", 15)];

/// One fenced block: its info string, its first content line, its text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn blocks(document: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in document.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    line: index + 2,
                    text: String::new(),
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    match open {
        Some(block) => Err(format!(
            "line {}: the block is never closed",
            block.line - 1
        )),
        None => Ok(blocks),
    }
}

/// The `key: value` lines of an example; a line starting with a space
/// continues the previous value.
fn fields(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with(' ') {
            let Some((_, value)) = fields.last_mut() else {
                return Err(format!("a continuation line comes first: `{line}`"));
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("expected `key: value`, found `{line}`"));
        };
        let key = key.trim();
        if !matches!(
            key,
            "expression"
                | "profile"
                | "now"
                | "entered_at"
                | "result"
                | "type"
                | "error"
                | "label"
                | "help"
        ) {
            return Err(format!("unknown key `{key}`"));
        }
        if fields.iter().any(|(k, _)| k == key) {
            return Err(format!("key `{key}` given twice"));
        }
        fields.push((key.to_owned(), value.trim().to_owned()));
    }
    Ok(fields)
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn instant(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|e| format!("bad instant `{text}`: {e}"))
}

/// Runs one `nextbest-example` block against `schema`.
fn example(schema: &Schema, text: &str) -> Result<(), String> {
    let fields = fields(text)?;
    let expression = get(&fields, "expression").ok_or("no `expression:`")?;
    let now = instant(get(&fields, "now").unwrap_or(NOW))?;
    let entered_at = get(&fields, "entered_at").map(instant).transpose()?;
    let compiler = Compiler::new(schema).journey(entered_at.is_some());
    if let Some(error) = get(&fields, "error") {
        return expect_error(&compiler, expression, error, &fields);
    }
    let profile_json = get(&fields, "profile").unwrap_or(r#"{"id": "c-1"}"#);
    let profile = Profile::from_json(schema, profile_json)
        .map_err(|e| format!("the profile does not load: {e}"))?;
    let expected = get(&fields, "result").ok_or("neither `result:` nor `error:`")?;
    let expected = Compiler::new(schema)
        .expression(expected)
        .map_err(|e| format!("`result: {expected}` does not compile:\n{e}"))?
        .evaluate(&profile, now)
        .map_err(|e| e.to_string())?;
    if let Some(entered_at) = entered_at {
        let trigger = compiler.trigger(expression).map_err(|e| e.to_string())?;
        let truth = trigger
            .evaluate_in_journey(&profile, now, entered_at)
            .map_err(|e| e.to_string())?;
        return compare(&truth_value(truth), &expected);
    }
    let compiled = compiler
        .expression(expression)
        .map_err(|e| format!("does not compile:\n{e}"))?;
    if let Some(ty) = get(&fields, "type")
        && compiled.ty().to_string() != ty
    {
        return Err(format!("type: expected `{ty}`, found `{}`", compiled.ty()));
    }
    let value = compiled
        .evaluate(&profile, now)
        .map_err(|e| e.to_string())?;
    compare(&value, &expected)?;
    // A bool expression is a trigger too: both paths must agree.
    if let Value::Bool(_) | Value::Null = value
        && let Ok(trigger) = compiler.trigger(expression)
    {
        let truth = trigger.evaluate(&profile, now).map_err(|e| e.to_string())?;
        compare(&truth_value(truth), &value)?;
    }
    Ok(())
}

fn truth_value(truth: Truth) -> Value {
    match truth {
        Truth::True => Value::Bool(true),
        Truth::False => Value::Bool(false),
        Truth::Unknown => Value::Null,
    }
}

fn compare(found: &Value, expected: &Value) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, found {found}"))
    }
}

/// The expression must not compile, with a diagnostic `CODE message` and, if
/// given, its label and help.
fn expect_error(
    compiler: &Compiler<'_>,
    expression: &str,
    error: &str,
    fields: &[(String, String)],
) -> Result<(), String> {
    let Err(found) = compiler
        .trigger(expression)
        .and(compiler.expression(expression))
    else {
        return Err(format!("compiles, but should fail with `{error}`"));
    };
    let matching = found
        .diagnostics
        .iter()
        .find(|d| format!("{} {}", d.code.as_str(), d.message) == error);
    let Some(diagnostic) = matching else {
        let all: Vec<String> = (found.diagnostics.iter())
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        return Err(format!("expected `{error}`, found {all:?}"));
    };
    if let Some(label) = get(fields, "label")
        && diagnostic.label != label
    {
        return Err(format!(
            "label: expected `{label}`, found `{}`",
            diagnostic.label
        ));
    }
    if let Some(help) = get(fields, "help")
        && diagnostic.help.as_deref() != Some(help)
    {
        return Err(format!(
            "help: expected `{help}`, found {:?}",
            diagnostic.help
        ));
    }
    Ok(())
}

fn format_of(info: &str) -> Option<Format> {
    match info.split_whitespace().next() {
        Some("toml") => Some(Format::Toml),
        Some("json") => Some(Format::Json),
        _ => None,
    }
}

fn origin(format: Format) -> &'static str {
    // `Format` is non-exhaustive: the blocks are TOML unless tagged JSON.
    match format {
        Format::Json => "rules.json",
        _ => "rules.toml",
    }
}

fn bless() -> bool {
    std::env::var_os("NEXTBEST_BLESS").is_some_and(|v| v == "1")
}

/// Replaces the content of `block` in `lines` by `text`.
fn rewrite(lines: &mut Vec<String>, block: &Block, text: &str) {
    let start = block.line - 1;
    let end = start + block.text.lines().count();
    lines.splice(start..end, text.lines().map(str::to_owned));
}

/// Checks every block of one document; returns the problems and the number
/// of blocks checked.
fn check_document(name: &str) -> (Vec<String>, usize) {
    let path = format!("{}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => return (vec![format!("{name}: cannot be read: {e}")], 0),
    };
    let blocks = match blocks(&text) {
        Ok(blocks) => blocks,
        Err(problem) => return (vec![format!("{name}:{problem}")], 0),
    };
    let mut problems = Vec::new();
    let mut schema: Option<Schema> = None;
    let mut checked = 0;
    // Rewrites, last first so that earlier line numbers stay right.
    let mut blessed: Vec<(Block, String)> = Vec::new();
    let mut blocks = blocks.into_iter().peekable();
    while let Some(block) = blocks.next() {
        checked += 1;
        let mut fail = |problem: String| problems.push(format!("{name}:{}: {problem}", block.line));
        let info = block.info.as_str();
        match (info, format_of(info)) {
            ("nextbest-example", _) => match &schema {
                Some(schema) => example(schema, &block.text).unwrap_or_else(fail),
                None => fail("an example before any rule file: no schema".to_owned()),
            },
            (_, Some(format)) if info.ends_with(" nextbest-error") => {
                let expected = blocks.next_if(|b| b.info == "text");
                match (
                    RuleSet::parse(&block.text, format, origin(format)),
                    expected,
                ) {
                    (_, None) => fail("an error block must be followed by a `text` block".into()),
                    (Ok(_), _) => fail("the rule file loads, but should fail".to_owned()),
                    (Err(RuleSetError::Invalid(invalid)), Some(expected)) => {
                        let rendered = invalid.render(false);
                        if rendered.trim_end() != expected.text.trim_end() {
                            if bless() {
                                blessed.push((expected, rendered));
                            } else {
                                fail(format!(
                                    "the loader prints:\n{rendered}\n\nthe document says:\n{}",
                                    expected.text
                                ));
                            }
                        }
                    }
                    (Err(other), _) => fail(format!("unexpected error: {other}")),
                }
            }
            (_, Some(format)) if info == "toml" || info == "json" => {
                match RuleSet::parse(&block.text, format, origin(format)) {
                    Ok(rules) => schema = Some(rules.schema),
                    Err(e) => fail(format!("the rule file does not load:\n{e}")),
                }
            }
            _ => fail(format!("unknown block kind `{info}`")),
        }
    }
    if !blessed.is_empty() {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for (block, rendered) in blessed.iter().rev() {
            rewrite(&mut lines, block, rendered);
        }
        if let Err(e) = std::fs::write(&path, lines.join("\n") + "\n") {
            problems.push(format!("{name}: cannot be rewritten: {e}"));
        }
    }
    (problems, checked)
}

#[test]
fn every_block_of_the_reference_documents_holds() {
    let mut problems = Vec::new();
    for (name, fewest) in DOCUMENTS {
        let (found, checked) = check_document(name);
        problems.extend(found);
        if checked < fewest {
            problems.push(format!(
                "{name}: {checked} blocks, expected at least {fewest}"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n\n"));
}

/// Every function, aggregate and keyword of the language has an example that
/// runs (the list is the checker's, src/check/ops.rs and src/syntax/ast.rs).
#[test]
fn the_language_reference_has_an_example_of_every_function_and_keyword() {
    const WORDS: [&str; 41] = [
        "lower(",
        "upper(",
        "length(",
        "abs(",
        "round(",
        "floor(",
        "ceil(",
        "least(",
        "greatest(",
        "coalesce(",
        "days_since(",
        "hours_since(",
        "hour_of_day(",
        "day_of_week(",
        "bucket(",
        "now()",
        "count(",
        "sum(",
        "avg(",
        "min(",
        "max(",
        "exists(",
        "last(",
        "first(",
        " WHERE ",
        " WITHIN ",
        " SINCE ",
        " AND ",
        " OR ",
        "NOT ",
        " IS NULL",
        " IS NOT NULL",
        " IN (",
        " NOT IN ",
        " BETWEEN ",
        " CONTAINS ",
        " STARTS WITH ",
        " ENDS WITH ",
        " % ",
        " <> ",
        "profile.",
    ];
    let path = format!("{}/docs/language.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let expressions: Vec<String> = blocks(&text)
        .unwrap()
        .iter()
        .filter(|b| b.info == "nextbest-example")
        .filter_map(|b| fields(&b.text).ok())
        .filter_map(|f| get(&f, "expression").map(str::to_owned))
        .collect();
    let missing: Vec<&str> = WORDS
        .into_iter()
        .filter(|w| !expressions.iter().any(|e| e.contains(w)))
        .collect();
    assert!(missing.is_empty(), "no example uses {missing:?}");
}

#[test]
fn the_block_reader_reports_an_unclosed_fence() {
    assert!(blocks("```nextbest-example\nexpression: 1\n").is_err());
    let read = blocks("text\n```toml\na = 1\n```\n").unwrap();
    assert_eq!((read[0].info.as_str(), read[0].line), ("toml", 3));
    assert_eq!(
        anchor(" Windows: WITHIN and SINCE"),
        "windows-within-and-since"
    );
    assert_eq!(anchor(" quiet_hours"), "quiet_hours");
}

#[test]
fn an_example_with_a_wrong_result_fails() {
    let schema = Schema::builder().build().unwrap();
    assert_eq!(example(&schema, "expression: 1 + 1\nresult: 2\n"), Ok(()));
    let wrong = example(&schema, "expression: 1 + 1\nresult: 3\n").unwrap_err();
    assert_eq!(wrong, "expected 3, found 2");
    let float = example(&schema, "expression: 3 / 1\nresult: 3\n").unwrap_err();
    assert_eq!(float, "expected 3, found 3.0");
    let typed = example(&schema, "expression: 1 + 1\nresult: 2\ntype: float\n").unwrap_err();
    assert_eq!(typed, "type: expected `float`, found `int`");
    let error = example(
        &schema,
        "expression: 1 <\nerror: E0201 unknown attribute `x`\n",
    );
    assert!(error.unwrap_err().starts_with("expected `E0201"));
    assert!(example(&schema, "expression: 1\nresult: 1\ncolour: red\n").is_err());
}

/// GitHub's anchor for a heading: lowercase, spaces as `-`, other
/// punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors of a document's headings, outside fenced blocks.
fn anchors(document: &str) -> Vec<String> {
    let mut fenced = false;
    let mut found = Vec::new();
    for line in document.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// Every link between the two documents (and the one the `7 days` hint
/// prints) lands on a heading that exists.
#[test]
fn the_links_into_the_documents_land_on_headings() {
    let read = |name: &str| {
        std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR")))
            .map_err(|e| format!("docs/{name}: {e}"))
    };
    let mut links = vec![(
        "src/syntax/syntax_error.rs".to_owned(),
        "language.md#durations".to_owned(),
    )];
    for name in ["language.md", "rules.md"] {
        let text = read(name).unwrap();
        for (at, _) in text.match_indices("](") {
            let target = text[at + 2..].split(')').next().unwrap_or_default();
            let target = match target.strip_prefix('#') {
                Some(own) => format!("{name}#{own}"),
                None => target.to_owned(),
            };
            links.push((name.to_owned(), target));
        }
    }
    let broken: Vec<String> = links
        .iter()
        .filter(|(_, target)| {
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            match read(file) {
                Ok(text) => !fragment.is_empty() && !anchors(&text).iter().any(|a| a == fragment),
                Err(_) => true,
            }
        })
        .map(|(from, target)| format!("{from} → {target}"))
        .collect();
    assert!(links.len() > 10, "{links:?}");
    assert!(broken.is_empty(), "broken links: {broken:?}");
}
