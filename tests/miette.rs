//! The `miette` feature: trigger and rule file problems reported through
//! miette carry their code, severity, labels, help and source text, as a
//! service's miette handler shows them.
#![cfg(feature = "miette")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use miette::{Diagnostic as _, NarratableReportHandler};
use nextbest::rules::{Format, RuleSet, RuleSetError};
use nextbest::{Schema, Trigger, Type};

fn narrated(error: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    NarratableReportHandler::new()
        .render_report(&mut out, error)
        .expect("rendered");
    out
}

#[test]
fn a_trigger_that_does_not_compile_is_a_miette_diagnostic_with_every_problem() {
    let schema = Schema::builder()
        .attribute("n", Type::Int)
        .build()
        .expect("schema");
    let error = Trigger::compile("n > 1 AND m < 2 AND q = 'x'", &schema).unwrap_err();
    assert_eq!(error.diagnostics.len(), 2, "{error:#}");
    assert_eq!(
        error.code().map(|c| c.to_string()).as_deref(),
        Some("E0201")
    );
    assert_eq!(error.severity(), Some(miette::Severity::Error));
    let labels: Vec<_> = error.labels().expect("labels").collect();
    assert_eq!((labels[0].offset(), labels[0].len()), (10, 1));
    assert!(labels[0].primary());
    assert_eq!(error.related().expect("related").count(), 1);

    let report = narrated(&error);
    // The source text is the trigger's: both problems are quoted from it.
    assert!(
        report.contains("E0201: unknown attribute `m` at 1:11"),
        "{report}"
    );
    assert!(report.contains("diagnostic code: E0201"), "{report}");
    assert!(report.contains("unknown attribute `q`"), "{report}");
    assert!(report.contains("n > 1 AND m < 2 AND q = 'x'"), "{report}");
}

#[test]
fn a_rule_file_problem_points_into_the_file_with_its_help() {
    let text = "[schema.traits]\nn = \"int\"\n[consent]\nemail = {}\n[[action]]\nid = \"a\"\nchannel = \"email\"\ntrigger = \"exists(login WITHIN 7 days)\"\n";
    let error = RuleSet::parse(text, Format::Toml, "rules.toml").unwrap_err();
    // `RuleSetError` and the crate's `Error` forward to the problems inside.
    let through_crate_error =
        nextbest::Error::from(RuleSet::parse(text, Format::Toml, "rules.toml").unwrap_err());
    let report = narrated(&error);
    assert!(report.contains("diagnostic code: E0001"), "{report}");
    assert_eq!(narrated(&through_crate_error), report);
    let RuleSetError::Invalid(invalid) = error else {
        panic!("the rule file should be refused");
    };
    let first = invalid.diagnostics.first().expect("a problem");
    assert_eq!(
        invalid.code().map(|c| c.to_string()),
        Some(first.code.as_str().to_owned())
    );
    let source = invalid.source_code().expect("the file's text");
    let label = invalid.labels().expect("labels").next().expect("a label");
    let contents = source.read_span(label.inner(), 0, 0).expect("the span");
    let quoted = std::str::from_utf8(contents.data()).expect("UTF-8");
    assert_eq!(&text[label.offset()..label.offset() + label.len()], quoted);
    let report = narrated(&invalid);
    assert!(report.contains(&first.message), "{report}");
    let help = first.help.as_deref().expect("a hint for `7 days`");
    assert!(help.contains("7d"), "{help}");
    assert!(report.contains(help), "{report}");
}
