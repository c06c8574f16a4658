//! Rule-set files: the model of SPEC §4, loaded from TOML or JSON with the
//! same meaning.
//!
//! Input: the text of a rule file. Output: a [`RuleSet`] with every expression
//! compiled against the file's own schema, or every problem in the file as
//! diagnostics with byte spans into it (expression errors included: their spans
//! are mapped through the string's quoting and escapes).

mod doc;
mod load;
mod model;

use std::fmt;
use std::path::Path;

pub use model::*;

use crate::diagnostic::{Code, Diagnostic, LineIndex};
use crate::syntax::Span;

/// The format of a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// TOML, the usual format.
    Toml,
    /// JSON with the same structure.
    Json,
}

impl Format {
    /// The format a path's extension implies: `.json` is JSON, anything else TOML.
    pub fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

impl RuleSet {
    /// Loads a rule set from text. `origin` names the text in diagnostics
    /// (usually its path).
    ///
    /// ```
    /// use nextbest::rules::{Format, RuleSet};
    /// let rules = RuleSet::parse(r#"
    /// [schema.traits]
    /// login_count_30d = "int"
    /// email_opt_in = "bool"
    ///
    /// [consent]
    /// email = { opt_in = "email_opt_in" }
    ///
    /// [[action]]
    /// id = "nudge"
    /// channel = "email"
    /// trigger = "login_count_30d < 2"
    /// "#, Format::Toml, "rules.toml")?;
    /// assert_eq!(rules.actions[0].id, "nudge");
    ///
    /// let error = RuleSet::parse("[schema.traits]\nx = \"integer\"\n", Format::Toml, "bad.toml").unwrap_err();
    /// assert!(format!("{error:#}").contains("--> bad.toml:2:5"));
    /// # Ok::<(), nextbest::rules::RuleSetError>(())
    /// ```
    ///
    /// # Errors
    /// Every problem in the file, as an [`InvalidRuleSet`].
    pub fn parse(source: &str, format: Format, origin: &str) -> Result<RuleSet, RuleSetError> {
        let invalid = |diagnostics| {
            RuleSetError::Invalid(InvalidRuleSet {
                origin: origin.to_owned(),
                source: source.to_owned(),
                diagnostics,
            })
        };
        let parsed = match format {
            Format::Toml => doc::parse_toml(source),
            Format::Json => doc::parse_json(source),
        };
        let root = parsed.map_err(|(message, span)| {
            let kind = if format == Format::Toml {
                "TOML"
            } else {
                "JSON"
            };
            invalid(vec![
                Diagnostic::error(
                    Code::InvalidFile,
                    format!("invalid {kind}: {message}"),
                    span,
                )
                .with_label(message.lines().next().unwrap_or_default().to_owned()),
            ])
        })?;
        let mut loader = load::Loader::new(source);
        let rules = loader.rule_set(&root);
        match rules {
            Some(rules) if loader.diagnostics.is_empty() => Ok(rules),
            _ if loader.diagnostics.is_empty() => Err(invalid(vec![Diagnostic::error(
                Code::InvalidFile,
                "the rule set is incomplete",
                Span::new(0, 0),
            )])),
            _ => {
                let mut diagnostics = loader.diagnostics;
                diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
                Err(invalid(diagnostics))
            }
        }
    }

    /// Loads a rule file, TOML or JSON by its extension.
    ///
    /// ```
    /// use nextbest::rules::{RuleSet, RuleSetError};
    /// let root = env!("CARGO_MANIFEST_DIR");
    /// let rules = RuleSet::load(format!("{root}/examples/rules/classic.toml"))?;
    /// assert!(rules.actions.iter().any(|a| a.id == "churn_email"));
    /// // A file that does not load names the problem and where.
    /// assert!(matches!(RuleSet::load("missing.toml"), Err(RuleSetError::Io { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The file cannot be read, or is invalid ([`RuleSetError`]).
    pub fn load(path: impl AsRef<Path>) -> Result<RuleSet, RuleSetError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|error| RuleSetError::Io {
            path: path.display().to_string(),
            error,
        })?;
        RuleSet::parse(&source, Format::of_path(path), &path.display().to_string())
    }
}

/// A rule set that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleSetError {
    /// The file could not be read.
    #[error("cannot read `{path}`: {error}")]
    Io {
        /// The path.
        path: String,
        /// What the system said.
        #[source]
        error: std::io::Error,
    },
    /// The file has problems: one line as `Display` shows it, every
    /// problem as a snippet with `{:#}` or [`InvalidRuleSet::render`].
    #[error(transparent)]
    Invalid(InvalidRuleSet),
}

/// Every problem found in a rule file, and the text they point into.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidRuleSet {
    /// The file's name, as given.
    pub origin: String,
    /// The file's text.
    pub source: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl InvalidRuleSet {
    /// Renders every diagnostic like a compiler, in colour when `styled`.
    pub fn render(&self, styled: bool) -> String {
        let lines = LineIndex::new(&self.source);
        let rendered: Vec<String> = (self.diagnostics.iter())
            .map(|d| d.render_indexed(&self.origin, &self.source, &lines, styled))
            .collect();
        rendered.join("\n\n")
    }
}

/// One line, for logs and error chains: the file, line and column of the
/// first problem, its code and message, and how many more there are. The
/// alternate form (`{:#}`) is [`render`](InvalidRuleSet::render)'s snippets,
/// without colour.
///
/// ```
/// use nextbest::rules::{Format, RuleSet};
/// let error = RuleSet::parse("[schema.traits]\nx = \"integer\"\n", Format::Toml, "bad.toml").unwrap_err();
/// assert!(error.to_string().starts_with("bad.toml:2:5: error[E0411]: trait `x`: unknown type `integer`"));
/// assert!(format!("{error:#}").contains("--> bad.toml:2:5"));
/// ```
impl fmt::Display for InvalidRuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.write_str(&self.render(false));
        }
        let Some(first) = self.diagnostics.first() else {
            return write!(f, "{}: the rule set is invalid", self.origin);
        };
        let (line, column) = crate::diagnostic::line_col(&self.source, first.span.start);
        let level = match first.severity {
            crate::diagnostic::Severity::Error => "error",
            crate::diagnostic::Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{line}:{column}: {level}[{}]: {}",
            self.origin, first.code, first.message
        )?;
        match self.diagnostics.len() - 1 {
            0 => Ok(()),
            1 => f.write_str(" (and 1 more problem)"),
            more => write!(f, " (and {more} more problems)"),
        }
    }
}

impl std::error::Error for InvalidRuleSet {}
