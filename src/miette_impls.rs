//! `miette::Diagnostic` for the errors that point into a text (feature
//! `miette`): a service that reports its errors with miette shows a trigger
//! or rule file problem with its snippet, labels, code and help, as the
//! command line does. Each [`Diagnostic`] is one; a [`CompileError`] or
//! [`InvalidRuleSet`] is its first, with the others as related diagnostics
//! that share its source text.

use std::fmt::Display;

use miette::{LabeledSpan, SourceCode, SourceSpan};

use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{InvalidRuleSet, RuleSetError};
use crate::syntax::Span;
use crate::trigger::CompileError;

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::from((span.start, span.end.saturating_sub(span.start)))
}

/// A label's text, or none when empty (miette then underlines alone).
fn label_text(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
        (self.help.as_ref()).map(|help| Box::new(help) as Box<dyn Display + 'a>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary =
            LabeledSpan::new_primary_with_span(label_text(&self.label), source_span(self.span));
        let secondary = (self.secondary.iter())
            .map(|(span, note)| LabeledSpan::new_with_span(label_text(note), source_span(*span)));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

/// The first diagnostic of `all` as the error's own, the rest as related.
macro_rules! first_of_many {
    ($ty:ty, $source:ident) => {
        impl miette::Diagnostic for $ty {
            fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
                self.diagnostics.first().and_then(|first| first.code())
            }

            fn severity(&self) -> Option<miette::Severity> {
                self.diagnostics.first().and_then(|first| first.severity())
            }

            fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
                self.diagnostics.first().and_then(|first| first.help())
            }

            fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
                self.diagnostics.first().and_then(|first| first.labels())
            }

            fn source_code(&self) -> Option<&dyn SourceCode> {
                Some(&self.$source)
            }

            fn related<'a>(
                &'a self,
            ) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
                let rest = self.diagnostics.iter().skip(1);
                Some(Box::new(rest.map(|d| d as &dyn miette::Diagnostic)))
            }
        }
    };
}

first_of_many!(CompileError, source);
first_of_many!(InvalidRuleSet, source);

/// What `RuleSet::parse` and `nextbest::Error` hold, forwarded to the
/// diagnostic inside when they hold one (a file that cannot be read, a
/// history that fails, have no snippet to show).
macro_rules! forwarded {
    ($ty:ty, |$this:ident| $inner:expr) => {
        impl $ty {
            fn diagnostic(&self) -> Option<&dyn miette::Diagnostic> {
                let $this = self;
                $inner
            }
        }

        impl miette::Diagnostic for $ty {
            fn code<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
                self.diagnostic().and_then(|d| d.code())
            }

            fn severity(&self) -> Option<miette::Severity> {
                self.diagnostic().and_then(|d| d.severity())
            }

            fn help<'a>(&'a self) -> Option<Box<dyn Display + 'a>> {
                self.diagnostic().and_then(|d| d.help())
            }

            fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
                self.diagnostic().and_then(|d| d.labels())
            }

            fn source_code(&self) -> Option<&dyn SourceCode> {
                self.diagnostic().and_then(|d| d.source_code())
            }

            fn related<'a>(
                &'a self,
            ) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
                self.diagnostic().and_then(|d| d.related())
            }
        }
    };
}

forwarded!(RuleSetError, |error| match error {
    RuleSetError::Invalid(invalid) => Some(invalid),
    _ => None,
});
forwarded!(crate::Error, |error| match error {
    crate::Error::Compile(compile) => Some(compile),
    crate::Error::RuleSet(rules) => rules.diagnostic(),
    _ => None,
});
