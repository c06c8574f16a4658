//! Diagnostics: what went wrong, where, and how to fix it.
//!
//! A [`Diagnostic`] is data: a stable [`Code`], a message, the byte span it is
//! about, a label for that span, secondary labels and a help line. Rendering
//! (the compiler-style snippet with carets) is done by `annotate-snippets`, the
//! renderer rustc uses, and only when asked.

use std::fmt;
use std::ops::Range;

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
    /// E0412: a channel an action or a cap names that `[consent]` does not
    /// declare, or a `[consent]` entry for a channel no action uses and
    /// nextbest does not know.
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
#[non_exhaustive]
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
        self.render_indexed(origin, source, &LineIndex::new(source), false)
    }

    /// Like [`Diagnostic::render`], with ANSI colours for a terminal.
    pub fn render_styled(&self, origin: &str, source: &str) -> String {
        self.render_indexed(origin, source, &LineIndex::new(source), true)
    }

    /// Like [`Diagnostic::render`] (in colour when `styled`), with the lines
    /// of `source` indexed once by the caller: only the lines the diagnostic
    /// points at are read, so rendering each of many diagnostics of one text
    /// costs its own lines rather than the whole text.
    ///
    /// ```
    /// use nextbest::{Code, Diagnostic, diagnostic::LineIndex, syntax::Span};
    /// let source = "a = 1\nb = 2\n";
    /// let lines = LineIndex::new(source);
    /// let text = Diagnostic::error(Code::UnknownKey, "unknown key `b`", Span::new(6, 7))
    ///     .render_indexed("rules.toml", source, &lines, false);
    /// assert!(text.contains("--> rules.toml:2:1"));
    /// ```
    pub fn render_indexed(
        &self,
        origin: &str,
        source: &str,
        lines: &LineIndex,
        styled: bool,
    ) -> String {
        let primary = clamp(source, self.span);
        let secondary: Vec<Range<usize>> = (self.secondary.iter())
            .map(|(span, _)| clamp(source, *span))
            .collect();
        let start = secondary.iter().fold(primary.start, |s, r| s.min(r.start));
        let end = secondary.iter().fold(primary.end, |e, r| e.max(r.end));
        let (window, first_line) = lines.window(start, end, source.len());
        let text = source.get(window.clone()).unwrap_or_default();
        let shift = |range: &Range<usize>| {
            range.start.saturating_sub(window.start)..range.end.saturating_sub(window.start)
        };
        let secondary = secondary.iter().map(shift).collect();
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        self.render_snippet(
            &renderer,
            origin,
            (text, first_line),
            shift(&primary),
            secondary,
        )
    }

    /// Renders with annotate-snippets against `text`, whose first line is
    /// line `first_line` of the file; the ranges are into `text`.
    fn render_snippet(
        &self,
        renderer: &Renderer,
        origin: &str,
        (text, first_line): (&str, usize),
        primary: Range<usize>,
        secondary: Vec<Range<usize>>,
    ) -> String {
        let mut snippet = Snippet::source(text)
            .line_start(first_line)
            .path(origin)
            .annotation(AnnotationKind::Primary.span(primary).label(&self.label));
        for (range, (_, label)) in secondary.into_iter().zip(&self.secondary) {
            snippet = snippet.annotation(AnnotationKind::Context.span(range).label(label));
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

/// Where each line of a text starts, found once: a diagnostic rendered with
/// it reads only the lines it points at, so rendering all the diagnostics of
/// a file is linear in the file and the diagnostics, not their product.
///
/// ```
/// use nextbest::diagnostic::LineIndex;
/// let lines = LineIndex::new("ab\ncd\nef");
/// assert_eq!(lines.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineIndex {
    /// The byte offset of each line's first byte; the first is 0.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `text` (one pass over it). A final newline ends
    /// the last line rather than starting an empty one: the end of the text
    /// is the end of its last line, as the renderer sees it.
    pub fn new(text: &str) -> Self {
        let after_newlines = (text.match_indices('\n'))
            .map(|(i, _)| i + 1)
            .filter(|start| *start < text.len());
        LineIndex {
            starts: std::iter::once(0).chain(after_newlines).collect(),
        }
    }

    /// How many lines the text has.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are no lines (never: an empty text has one empty line).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The 0-based line that holds byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|start| *start <= offset)
            .saturating_sub(1)
    }

    /// The whole lines from the one holding byte `start` to the one holding
    /// byte `end`, newlines included, of a text `len` bytes long; and the
    /// 1-based number of the first.
    fn window(&self, start: usize, end: usize, len: usize) -> (Range<usize>, usize) {
        let first = self.line(start);
        let last = self.line(end.max(start));
        let from = self.starts.get(first).copied().unwrap_or_default();
        let to = self.starts.get(last + 1).copied().unwrap_or(len);
        (from..to.max(from), first + 1)
    }
}

/// A span as a range of `source`: within it, on char boundaries.
fn clamp(source: &str, span: Span) -> Range<usize> {
    let end = span.end.min(source.len());
    floor_char_boundary(source, span.start.min(end))..floor_char_boundary(source, end)
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

/// A diagnostic is an error value of its own (for error chains and miette's
/// related diagnostics); it has no source.
impl std::error::Error for Diagnostic {}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    /// The diagnostic rendered against the whole of `source`, as it was
    /// before lines were indexed: what the windowed rendering must match.
    fn whole(diagnostic: &Diagnostic, source: &str) -> String {
        let secondary = (diagnostic.secondary.iter())
            .map(|(span, _)| clamp(source, *span))
            .collect();
        diagnostic.render_snippet(
            &Renderer::plain(),
            "f.toml",
            (source, 1),
            clamp(source, diagnostic.span),
            secondary,
        )
    }

    #[test]
    fn the_line_index_finds_each_line_and_the_window_of_whole_lines() {
        let text = "ab\ncd\n\nef";
        let lines = LineIndex::new(text);
        assert_eq!(lines.starts, [0, 3, 6, 7]);
        assert_eq!(lines.line(0), 0);
        assert_eq!(lines.line(2), 0, "a newline belongs to its line");
        assert_eq!(lines.line(3), 1);
        assert_eq!(lines.line(6), 2);
        assert_eq!(lines.line(text.len()), 3);
        assert_eq!(lines.window(4, 4, text.len()), (3..6, 2));
        assert_eq!(lines.window(1, 7, text.len()), (0..text.len(), 1));
        assert_eq!(lines.window(9, 9, text.len()), (7..9, 4));
        let ended = LineIndex::new("ab\n");
        assert_eq!(ended.len(), 1, "a final newline starts no line");
        assert_eq!(ended.window(3, 3, 3), (0..3, 1));
    }

    #[test]
    fn a_diagnostic_far_down_a_long_file_reads_only_its_lines() {
        let mut source = "x = 1\n".repeat(100_000);
        source.push_str("bad = 2\n");
        let at = source.len() - 8;
        let d = Diagnostic::error(Code::UnknownKey, "unknown key `bad`", Span::new(at, at + 3))
            .with_label("here")
            .with_secondary(Span::new(6, 7), "and here");
        let lines = LineIndex::new(&source);
        assert_eq!(
            lines.window(6, at + 3, source.len()),
            (6..source.len(), 2),
            "the window spans the lines between the two places"
        );
        let far = Diagnostic::error(Code::UnknownKey, "unknown key `bad`", Span::new(at, at + 3));
        assert_eq!(
            lines.window(at, at + 3, source.len()),
            (at..source.len(), 100_001)
        );
        assert_eq!(
            far.render_indexed("f.toml", &source, &lines, false),
            whole(&far, &source)
        );
        assert_eq!(d.render("f.toml", &source), whole(&d, &source));
    }

    #[test]
    fn an_empty_span_at_the_start_of_line_10_gets_a_two_digit_gutter() {
        let source = "x = 1\n".repeat(9) + "[[action]]\n";
        let at = source.len() - 11;
        let d = Diagnostic::error(
            Code::MissingKey,
            "an [[action]] needs an `id`",
            Span::new(at, at),
        )
        .with_label("in `[[action]]`");
        let expected = "error[E0403]: an [[action]] needs an `id`\n  --> f.toml:10:1\n   |\n10 | [[action]]\n   | ^ in `[[action]]`";
        assert_eq!(d.render("f.toml", &source), expected);
        // The whole text made the renderer count the lines before the span
        // only: one digit for line 10.
        assert!(whole(&d, &source).contains("\n10| [[action]]"));
    }

    const PIECES: &[&str] = &["a", "bc", "é", "\n", "\r\n", "\t", " ", "\n\n", "日本"];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Rendering the lines a diagnostic points at gives the same text,
        /// byte for byte, as rendering the whole file.
        #[test]
        fn rendering_a_window_of_lines_is_rendering_the_whole_text(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..40),
            spans in proptest::collection::vec((0usize..120, 0usize..12), 1..4),
            help in proptest::bool::ANY,
        ) {
            let source: String = pieces.iter().map(|i| PIECES[*i]).collect();
            let span = |(start, len): (usize, usize)| Span::new(start, start + len);
            let mut d = Diagnostic::error(Code::InvalidValue, "bad", span(spans[0]))
                .with_label("primary");
            for (i, s) in spans.iter().enumerate().skip(1) {
                d = d.with_secondary(span(*s), format!("secondary {i}"));
            }
            if help {
                d = d.with_help("try again");
            }
            // Where every span is empty at the start of a line (a missing
            // key's place), the whole text gave a gutter one digit too narrow
            // at line 10, 100…: see the test below.
            let end = spans.iter().map(|s| clamp(&source, span(*s)).end).max();
            let lines = LineIndex::new(&source);
            let at_line_start = end.is_some_and(|e| e > 0 && lines.starts.contains(&e));
            proptest::prop_assume!(!at_line_start);
            proptest::prop_assert_eq!(d.render("f.toml", &source), whole(&d, &source));
        }
    }
}
