//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! A [`Diagnostic`] is data: a stable [`Code`], a message, the byte span it is
//! about, a label for that span, secondary labels and a help line. Rendering
//! (the compiler-style snippet with carets) is done by `annotate-snippets`, the
//! renderer rustc uses, and only when asked.

use std::fmt;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::syntax::Span;

/// Stable diagnostic codes. The numbers never change meaning; new situations
/// get new numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// E0001: the text does not follow the grammar.
    Syntax,
    /// E0002: `a < b < c`.
    ChainedComparison,
    /// E0003: a literal that cannot be represented (bad escape, integer
    /// overflow, impossible date…).
    InvalidLiteral,
    /// E0004: an aggregate clause or argument in the wrong place.
    MisplacedAggregate,
    /// E0101: the source text is longer than the limit.
    SourceTooLong,
    /// E0102: nesting deeper than the limit.
    TooDeep,
    /// E0103: a list literal longer than the limit.
    ListTooLong,
    /// E0104: more aggregates than the limit.
    TooManyAggregates,
    /// E0201: no attribute of that name in the schema.
    UnknownAttribute,
    /// E0202: no event type of that name in the schema.
    UnknownEvent,
    /// E0203: the event type has no property of that name.
    UnknownProperty,
    /// E0204: a name inside `WHERE` is both a property and an attribute.
    AmbiguousName,
    /// E0205: no function of that name.
    UnknownFunction,
    /// E0206: a function called with the wrong number of arguments.
    WrongArity,
    /// E0207: field access on something that has no such field.
    UnknownField,
    /// E0208: a time-zone name that is not in the IANA database.
    UnknownTimeZone,
    /// E0209: a name that is only meaningful in another context
    /// (`journey.entered_at` outside a journey).
    UnavailableName,
    /// E0301: operand types that the operator does not accept.
    TypeMismatch,
    /// E0302: a comparison between types that cannot be compared.
    IncomparableTypes,
    /// E0303: the expression does not have the type its use requires.
    WrongResultType,
    /// E0304: list items of different types.
    MixedList,
    /// E0401: a rule file that is not valid TOML or JSON.
    InvalidFile,
    /// E0402: a key the rule-file format does not have.
    UnknownKey,
    /// E0403: a required key is missing.
    MissingKey,
    /// E0404: a value of the wrong kind (a number where a string is needed…).
    WrongValueType,
    /// E0405: a duration that does not parse.
    InvalidDuration,
    /// E0406: a timestamp that does not parse.
    InvalidTimestamp,
    /// E0407: a clock time that does not parse.
    InvalidClockTime,
    /// E0408: two definitions with the same id.
    DuplicateId,
    /// E0409: a journey names an action that does not exist.
    UnknownAction,
    /// E0410: a setting names a trait that does not exist or has the wrong type.
    BadTraitReference,
    /// E0411: a value outside its allowed range or set.
    InvalidValue,
    /// E0412: a channel no action uses and nextbest does not know.
    UnknownChannel,
    /// E0413: a journey that can never run as written.
    UnreachableJourney,
}

impl Code {
    /// The code as printed, such as `E0201`.
    ///
    /// ```
    /// assert_eq!(nextbest::Code::UnknownAttribute.as_str(), "E0201");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "E0001",
            Code::ChainedComparison => "E0002",
            Code::InvalidLiteral => "E0003",
            Code::MisplacedAggregate => "E0004",
            Code::SourceTooLong => "E0101",
            Code::TooDeep => "E0102",
            Code::ListTooLong => "E0103",
            Code::TooManyAggregates => "E0104",
            Code::UnknownAttribute => "E0201",
            Code::UnknownEvent => "E0202",
            Code::UnknownProperty => "E0203",
            Code::AmbiguousName => "E0204",
            Code::UnknownFunction => "E0205",
            Code::WrongArity => "E0206",
            Code::UnknownField => "E0207",
            Code::UnknownTimeZone => "E0208",
            Code::UnavailableName => "E0209",
            Code::TypeMismatch => "E0301",
            Code::IncomparableTypes => "E0302",
            Code::WrongResultType => "E0303",
            Code::MixedList => "E0304",
            Code::InvalidFile => "E0401",
            Code::UnknownKey => "E0402",
            Code::MissingKey => "E0403",
            Code::WrongValueType => "E0404",
            Code::InvalidDuration => "E0405",
            Code::InvalidTimestamp => "E0406",
            Code::InvalidClockTime => "E0407",
            Code::DuplicateId => "E0408",
            Code::UnknownAction => "E0409",
            Code::BadTraitReference => "E0410",
            Code::InvalidValue => "E0411",
            Code::UnknownChannel => "E0412",
            Code::UnreachableJourney => "E0413",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted, but something looks wrong.
    Warning,
}

/// One problem found in a source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// One line saying what is wrong: lowercase, no final period.
    pub message: String,
    /// The bytes the diagnostic is about.
    pub span: Span,
    /// A short note printed under the primary span.
    pub label: String,
    /// Other places worth showing, each with its own note.
    pub secondary: Vec<(Span, String)>,
    /// A suggestion printed after the snippet.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error diagnostic with an empty label.
    ///
    /// ```
    /// use nextbest::{Code, Diagnostic, syntax::Span};
    /// let d = Diagnostic::error(Code::UnknownAttribute, "unknown attribute `x`", Span::new(0, 1));
    /// assert_eq!(d.code.as_str(), "E0201");
    /// ```
    pub fn error(code: Code, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
        }
    }

    /// Sets the label under the primary span.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a labelled secondary span.
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Moves every span by `offset` bytes, for an expression embedded at that
    /// offset of a larger text.
    pub fn shifted(mut self, offset: usize) -> Self {
        self.remap(|span| Span::new(span.start + offset, span.end + offset));
        self
    }

    /// Rewrites every span with `map`, for an expression whose text was
    /// unescaped from a larger file.
    pub fn remap(&mut self, mut map: impl FnMut(Span) -> Span) {
        self.span = map(self.span);
        for (span, _) in &mut self.secondary {
            *span = map(*span);
        }
    }

    /// Renders the diagnostic like a compiler does, against the text its spans
    /// point into. `origin` names that text (a file path, or `<expr>`).
    ///
    /// ```
    /// use nextbest::{Code, Diagnostic, syntax::Span};
    /// let source = "login_cnt_30d > 3";
    /// let text = Diagnostic::error(Code::UnknownAttribute, "unknown attribute `login_cnt_30d`", Span::new(0, 13))
    ///     .with_label("did you mean `login_count_30d`?")
    ///     .render("<expr>", source);
    /// assert!(text.starts_with("error[E0201]: unknown attribute `login_cnt_30d`"));
    /// assert!(text.contains("--> <expr>:1:1"));
    /// assert!(text.contains("^^^^^^^^^^^^^ did you mean `login_count_30d`?"));
    /// ```
    pub fn render(&self, origin: &str, source: &str) -> String {
        self.render_with(&Renderer::plain(), origin, source)
    }

    /// Like [`Diagnostic::render`], with ANSI colours for a terminal.
    pub fn render_styled(&self, origin: &str, source: &str) -> String {
        self.render_with(&Renderer::styled(), origin, source)
    }

    fn render_with(&self, renderer: &Renderer, origin: &str, source: &str) -> String {
        let clamp = |span: Span| {
            let end = span.end.min(source.len());
            floor_char_boundary(source, span.start.min(end))..floor_char_boundary(source, end)
        };
        let mut snippet = Snippet::source(source).path(origin).annotation(
            AnnotationKind::Primary
                .span(clamp(self.span))
                .label(&self.label),
        );
        for (span, label) in &self.secondary {
            snippet = snippet.annotation(AnnotationKind::Context.span(clamp(*span)).label(label));
        }
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut group = level
            .primary_title(&self.message)
            .id(self.code.as_str())
            .element(snippet);
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help));
        }
        renderer.render(&[group])
    }
}

/// The largest char boundary not after `index`.
fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for Diagnostic {
    /// The one-line form: `error[E0201]: unknown attribute `x` at 3..4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{level}[{}]: {} at {}..{}",
            self.code, self.message, self.span.start, self.span.end
        )
    }
}

/// The line and column (both 1-based, column in characters) of a byte offset.
///
/// ```
/// assert_eq!(nextbest::diagnostic::line_col("ab\ncd", 4), (2, 2));
/// ```
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or_default().chars().count() + 1;
    (line, column)
}
