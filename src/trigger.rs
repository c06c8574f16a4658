//! The public face of the language pipeline: compile an expression against a
//! schema (parse → check → compile) and evaluate it over profiles.

use std::fmt;

use crate::check::{self, Checked, Context, Expected};
use crate::compile::Program;
use crate::diagnostic::Diagnostic;
use crate::limits::Limits;
use crate::profile::Profile;
use crate::schema::{Schema, Type};
use crate::syntax;
use crate::value::{Timestamp, Truth, Value};

/// Compiles expressions against a schema, with configurable [`Limits`].
///
/// ```
/// use nextbest::{Compiler, Limits, Schema, Type};
/// let schema = Schema::builder().attribute("plan", Type::String).build()?;
/// let compiler = Compiler::new(&schema).limits(Limits::new().depth(16));
/// let trigger = compiler.trigger("plan = 'pro'")?;
/// assert_eq!(trigger.source(), "plan = 'pro'");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Compiler<'s> {
    schema: &'s Schema,
    limits: Limits,
    context: Context,
}

impl<'s> Compiler<'s> {
    /// A compiler for `schema` with default limits.
    pub fn new(schema: &'s Schema) -> Self {
        Compiler {
            schema,
            limits: Limits::default(),
            context: Context::default(),
        }
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Allows `journey.entered_at` (for a journey's own conditions).
    pub fn journey(mut self, allowed: bool) -> Self {
        self.context.journey = allowed;
        self
    }

    fn checked(&self, source: &str, expected: Option<Expected>) -> Result<Checked, CompileError> {
        let fail = |diagnostics| CompileError {
            diagnostics,
            source: source.to_owned(),
        };
        let ast = syntax::parse_with(source, &self.limits).map_err(fail)?;
        check::check(&ast, self.schema, &self.limits, self.context, expected).map_err(fail)
    }

    /// Compiles a trigger: an expression of type `bool`.
    ///
    /// # Errors
    /// Every syntax and type problem in `source`, as a [`CompileError`].
    pub fn trigger(&self, source: &str) -> Result<Trigger, CompileError> {
        let checked = self.checked(source, Some(Expected::Bool))?;
        Ok(Trigger(Compiled::new(source, self.schema, &checked)))
    }

    /// Compiles a numeric expression, such as an action's score.
    ///
    /// # Errors
    /// Every syntax and type problem in `source`, or a non-numeric type.
    pub fn score(&self, source: &str) -> Result<Score, CompileError> {
        let checked = self.checked(source, Some(Expected::Number))?;
        Ok(Score(Compiled::new(source, self.schema, &checked)))
    }

    /// Compiles an expression of any type.
    ///
    /// # Errors
    /// Every syntax and type problem in `source`.
    pub fn expression(&self, source: &str) -> Result<Expression, CompileError> {
        let checked = self.checked(source, None)?;
        let ty = checked.root.ty.clone();
        Ok(Expression {
            compiled: Compiled::new(source, self.schema, &checked),
            ty,
        })
    }
}

/// What an expression reads from a profile: the decision engine uses it to
/// know which triggers a change can affect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reads {
    /// Attribute names, in schema order.
    pub attributes: Vec<String>,
    /// Event type names, in schema order.
    pub events: Vec<String>,
}

/// The parts every compiled form shares.
struct Compiled {
    source: String,
    program: Program,
    fingerprint: u64,
    reads: Reads,
}

impl Compiled {
    fn new(source: &str, schema: &Schema, checked: &Checked) -> Self {
        let reads = Reads {
            attributes: checked
                .reads
                .attributes
                .iter()
                .filter_map(|slot| schema.attribute_at(*slot).map(|(n, _)| n.to_owned()))
                .collect(),
            events: checked
                .reads
                .events
                .iter()
                .filter_map(|index| schema.event_at(*index).map(|(n, _)| n.to_owned()))
                .collect(),
        };
        Compiled {
            source: source.to_owned(),
            program: Program::new(&checked.root),
            fingerprint: schema.fingerprint(),
            reads,
        }
    }

    #[inline]
    fn admit(&self, profile: &Profile) -> Result<(), EvalError> {
        if profile.fingerprint() == self.fingerprint {
            Ok(())
        } else {
            Err(schema_mismatch(profile))
        }
    }
}

/// The error for a profile of another schema. Out of line: building it
/// allocates, and inlined it would make every evaluation save the registers
/// that needs.
#[cold]
#[inline(never)]
fn schema_mismatch(profile: &Profile) -> EvalError {
    EvalError::SchemaMismatch {
        profile: profile.id().to_owned(),
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("source", &self.source)
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

/// A compiled trigger: a `bool` expression, ready to evaluate over profiles.
///
/// `Send + Sync`: compile once, share it (in an `Arc`) across threads.
///
/// ```
/// use nextbest::{Profile, Schema, Timestamp, Trigger, Truth, Type};
/// let schema = Schema::builder()
///     .attribute("login_count_30d", Type::Int)
///     .attribute("login_count_60d", Type::Int)
///     .attribute("user_segment", Type::String)
///     .build()?;
/// let churn = Trigger::compile(
///     "login_count_30d < 0.6 * login_count_60d AND user_segment = 'active'",
///     &schema,
/// )?;
/// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let at_risk = Profile::builder(&schema, "c-1")
///     .attribute("login_count_30d", 3)
///     .attribute("login_count_60d", 11)
///     .attribute("user_segment", "active")
///     .build()?;
/// assert!(churn.matches(&at_risk, now)?);
///
/// // Missing data is NULL, and a trigger fires only on TRUE.
/// let unknown = Profile::builder(&schema, "c-2").attribute("user_segment", "active").build()?;
/// assert_eq!(churn.evaluate(&unknown, now)?, Truth::Unknown);
/// assert!(!churn.matches(&unknown, now)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Trigger(Compiled);

impl Trigger {
    /// Compiles a trigger with the default limits.
    ///
    /// ```
    /// use nextbest::{Schema, Trigger, Type};
    /// let schema = Schema::builder().attribute("login_count_30d", Type::Int).build()?;
    /// let error = Trigger::compile("login_cnt_30d > 3", &schema).unwrap_err();
    /// assert!(error.render("<expr>").contains("did you mean `login_count_30d`?"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Every syntax and type problem in `source`, as a [`CompileError`].
    pub fn compile(source: &str, schema: &Schema) -> Result<Trigger, CompileError> {
        Compiler::new(schema).trigger(source)
    }

    /// The full truth value at instant `now`: true, false or unknown (NULL).
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Timestamp, Trigger, Truth, Type};
    /// let schema = Schema::builder().attribute("n", Type::Int).build()?;
    /// let trigger = Trigger::compile("n > 1", &schema)?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// let unknown = Profile::builder(&schema, "c-1").build()?; // `n` is NULL
    /// assert_eq!(trigger.evaluate(&unknown, now)?, Truth::Unknown);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn evaluate(&self, profile: &Profile, now: Timestamp) -> Result<Truth, EvalError> {
        self.0.admit(profile)?;
        Ok(self.0.program.truth(profile, now, None))
    }

    /// Like [`Trigger::evaluate`], inside a journey entered at `entered_at`.
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn evaluate_in_journey(
        &self,
        profile: &Profile,
        now: Timestamp,
        entered_at: Timestamp,
    ) -> Result<Truth, EvalError> {
        self.0.admit(profile)?;
        Ok(self.0.program.truth(profile, now, Some(entered_at)))
    }

    /// Whether the trigger fires: it evaluates to TRUE (not FALSE, not NULL).
    ///
    /// ```
    /// use nextbest::{Profile, Schema, Timestamp, Trigger, Type};
    /// let schema = Schema::builder().attribute("n", Type::Int).build()?;
    /// let trigger = Trigger::compile("n > 1 OR n IS NULL", &schema)?;
    /// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
    /// assert!(trigger.matches(&Profile::builder(&schema, "c-1").build()?, now)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn matches(&self, profile: &Profile, now: Timestamp) -> Result<bool, EvalError> {
        self.evaluate(profile, now).map(Truth::is_true)
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.0.source
    }

    /// The attributes and event types the trigger reads.
    pub fn reads(&self) -> &Reads {
        &self.0.reads
    }
}

/// A compiled numeric expression (an action's score).
#[derive(Debug)]
pub struct Score(Compiled);

impl Score {
    /// The value as a float; `None` when it is NULL.
    ///
    /// ```
    /// use nextbest::{Compiler, Profile, Schema, Timestamp, Type};
    /// let schema = Schema::builder().attribute("lifetime_value", Type::Float).build()?;
    /// let score = Compiler::new(&schema).score("lifetime_value / 10")?;
    /// let p = Profile::builder(&schema, "c-1").attribute("lifetime_value", 250.0).build()?;
    /// assert_eq!(score.evaluate(&p, Timestamp::from_micros(0))?, Some(25.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn evaluate(&self, profile: &Profile, now: Timestamp) -> Result<Option<f64>, EvalError> {
        self.0.admit(profile)?;
        Ok(self.0.program.number(profile, now, None))
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.0.source
    }

    /// The attributes and event types the score reads.
    pub fn reads(&self) -> &Reads {
        &self.0.reads
    }
}

/// A compiled expression of any type.
#[derive(Debug)]
pub struct Expression {
    compiled: Compiled,
    ty: Type,
}

impl Expression {
    /// The static type.
    pub fn ty(&self) -> &Type {
        &self.ty
    }

    /// The value at instant `now`.
    ///
    /// ```
    /// use nextbest::{Compiler, Profile, Schema, Timestamp, Type, Value};
    /// let schema = Schema::builder().attribute("name", Type::String).build()?;
    /// let upper = Compiler::new(&schema).expression("upper(name)")?;
    /// let p = Profile::builder(&schema, "c-1").attribute("name", "ada").build()?;
    /// assert_eq!(upper.evaluate(&p, Timestamp::from_micros(0))?, Value::from("ADA"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`EvalError::SchemaMismatch`] if the profile was built against another schema.
    pub fn evaluate(&self, profile: &Profile, now: Timestamp) -> Result<Value, EvalError> {
        self.compiled.admit(profile)?;
        Ok(self.compiled.program.value(profile, now, None))
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.compiled.source
    }
}

/// An expression that does not compile: every diagnostic, and the source they
/// point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The problems, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The expression's text.
    pub source: String,
}

impl CompileError {
    /// Renders every diagnostic like a compiler, naming the source `origin`.
    pub fn render(&self, origin: &str) -> String {
        let rendered: Vec<String> = self
            .diagnostics
            .iter()
            .map(|d| d.render(origin, &self.source))
            .collect();
        rendered.join("\n\n")
    }
}

/// One line, for logs and error chains: the first problem's code, message
/// and line:column, and how many more there are. The alternate form
/// (`{:#}`) is [`render`](CompileError::render)'s snippet.
///
/// ```
/// use nextbest::{Schema, Trigger, Type};
/// let schema = Schema::builder().attribute("n", Type::Int).build()?;
/// let err = Trigger::compile("n > 1 AND m < 2", &schema).unwrap_err();
/// assert_eq!(err.to_string(), "E0201: unknown attribute `m` at 1:11");
/// assert!(format!("{err:#}").contains("^"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f.write_str(&self.render("<expr>"));
        }
        let Some(first) = self.diagnostics.first() else {
            return f.write_str("the expression does not compile");
        };
        let (line, column) = crate::diagnostic::line_col(&self.source, first.span.start);
        write!(f, "{}: {} at {line}:{column}", first.code, first.message)?;
        match self.diagnostics.len() - 1 {
            0 => Ok(()),
            1 => f.write_str(" (and 1 more problem)"),
            more => write!(f, " (and {more} more problems)"),
        }
    }
}

impl std::error::Error for CompileError {}

/// A problem while evaluating.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The profile was built against a different schema than the expression.
    #[error("profile `{profile}` was built against a different schema than the expression")]
    SchemaMismatch {
        /// The profile's id.
        profile: String,
    },
    /// A batch listed the profile more than once: only its first occurrence
    /// was decided (see `Engine::decide_batch`).
    #[error(
        "profile `{profile}` is listed more than once in the batch; only the first was decided"
    )]
    RepeatedInBatch {
        /// The profile's id.
        profile: String,
    },
    /// A decision was asked from a history snapshot that cannot answer for
    /// it: nothing was decided.
    #[error("profile `{profile}`: cannot decide from the history snapshot given: {what}")]
    SnapshotMismatch {
        /// The profile's id.
        profile: String,
        /// What is wrong with the snapshot.
        what: &'static str,
    },
    /// A decision would name an instant outside the years 0000–9999, which
    /// RFC 3339 cannot write: a `now` that far out, or a send deferred past
    /// the end of year 9999.
    #[error(
        "profile `{profile}`: {what} {instant} is outside the years 0000 to 9999 that RFC 3339 can write"
    )]
    InstantOutOfRange {
        /// The profile's id.
        profile: String,
        /// Which instant: `the decision instant`, or `the send time of action \`x\``.
        what: String,
        /// The instant.
        instant: Timestamp,
    },
}
