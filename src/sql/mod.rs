//! Stage 3′, sql: typed IR → one SQL statement for a warehouse dialect
//! (SPEC §8), beside `compile` (which turns the same IR into closures).
//!
//! Input: a checked expression and the [`Schema`] it was checked against.
//! Output: the text of one `SELECT` over the Segment-style layout of §8 (a
//! `users` table with a column per trait, a table per event type with
//! `user_id`, `timestamp`, `seq` and a column per property) that gives, for
//! every row of `users`, the expression's three-valued value at `now`, or
//! with [`Options::audience`] only the ids where it is TRUE.
//!
//! Invariants: the statement computes exactly what the in-process evaluator
//! computes (checked 64-bit integers, `/` as a float, NULL for division by
//! zero and for non-finite floats, code-point string order, GrowthBook-v2
//! `bucket`, the window rules of aggregates), whatever the session's time
//! zone and the database's default collation. A construct a dialect cannot
//! express exactly is refused with a [`Refusal`] naming the construct and
//! the dialect; nothing is approximated. Timestamps are carried inside the
//! statement as integer microseconds since the epoch, as the evaluator
//! carries them, so their arithmetic is the integers' checked arithmetic.
//!
//! What the statement depends on is stated in its leading comment: for
//! PostgreSQL a UTF-8 database (for `length`) and the ICU collation
//! `und-x-icu` (for `lower`/`upper`, only where used); for DuckDB the ICU
//! extension (for time zones, only where used). DuckDB's own `lower` and
//! `upper` map one code point to one, so there the statement joins Rust's
//! full case mapping as a one-row table of data (`case_map`). Time zones come from each
//! engine's own zone database: after a zone changes its rules, the engine
//! and nextbest agree only when both carry the same release.
//!
//! ClickHouse gets a form of its own (`emit/clickhouse.rs`): its correlated
//! subqueries answer NULL wherever an outer value is NULL (measured with
//! chDB 4.4.0, ClickHouse 26.9), so each event aggregate is computed per
//! user in a subquery grouped by `user_id` and LEFT JOINed, and values are
//! bound by lambdas. It refuses list values (`S0106`: its arrays cannot be
//! NULL), local times in a computed zone (`S0303`), an aggregate whose window
//! reads the enclosing aggregate's event (`S0304`) and `now` as a parameter
//! (`S0002`).
//!
//! Spark SQL shares the join-based form (`emit/joined.rs`): it takes a
//! correlated scalar subquery only as an aggregate, without `ORDER BY …
//! LIMIT`, so aggregates are joined and values bound by lambdas
//! (`transform(array(x), v -> …)[0]`); `emit/spark.rs` has its own forms
//! (measured with pyspark 4.3.0 in local mode): names in backquotes, strings
//! compared `COLLATE UTF8_BINARY`, `lower`/`upper` through the `UNICODE`
//! collation (ICU's root mapping: under the default collation Spark maps
//! `İ` to `i`), `floor`/`ceil` only below 2⁵² (they give a BIGINT), integers
//! through `DECIMAL(38, 0)`, local times as the instant plus the zone's
//! offset there, in integers, so that nothing depends on the session's time
//! zone. The statement needs ANSI mode (`spark.sql.ansi.enabled`, the
//! default since Spark 4.0), and two settings at their defaults, as its
//! first line says: `spark.sql.parser.escapedStringLiterals` off (string
//! literals escape `\` and `'`) and
//! `spark.sql.legacy.followThreeValuedLogicInArrayExists` on (`x IN list`
//! is `exists`, three-valued). It refuses an aggregate whose window reads the
//! enclosing aggregate's event (`S0304`) and `now` as a parameter (`S0002`).

mod case_map;
mod emit;
mod float;

use std::fmt;

use crate::check::{self, Checked, Context, Expected};
use crate::diagnostic::Diagnostic;
use crate::limits::Limits;
use crate::schema::Schema;
use crate::syntax;
use crate::value::Timestamp;

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL 15 and later (and so Citus).
    Postgres,
    /// DuckDB 1.x and 2.x.
    DuckDb,
    /// Spark SQL 4.0 and later (for `COLLATE`), ANSI mode; verified with
    /// Spark 4.3.0.
    Spark,
    /// ClickHouse (26.9, as embedded in chDB 4.4), with the settings the
    /// statement names.
    ClickHouse,
}

impl Dialect {
    /// Every dialect, in the order of SPEC §8.
    pub const ALL: [Dialect; 4] = [
        Dialect::Postgres,
        Dialect::DuckDb,
        Dialect::Spark,
        Dialect::ClickHouse,
    ];

    /// The name the command line takes: `postgres`, `duckdb`, `spark`,
    /// `clickhouse`.
    ///
    /// ```
    /// use nextbest::sql::Dialect;
    /// assert_eq!(Dialect::DuckDb.name(), "duckdb");
    /// assert_eq!("duckdb".parse::<Dialect>(), Ok(Dialect::DuckDb));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
            Dialect::ClickHouse => "clickhouse",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dialect name that is none of [`Dialect::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SQL dialect `{0}`: expected postgres, duckdb, spark or clickhouse")]
pub struct UnknownDialect(pub String);

impl std::str::FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

/// How the statement learns `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Now {
    /// A literal instant, written into the statement.
    At(Timestamp),
    /// The statement's one bind parameter (`$1`), a timestamp with time
    /// zone, present in every statement (even one whose trigger never reads
    /// `now`, so that a caller always binds it): prepare once, run at every
    /// instant. Not for ClickHouse and Spark, whose parameters are written
    /// otherwise (`S0002`).
    Parameter,
}

/// What to generate: the dialect, `now`, the shape of the result and where
/// the tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    dialect: Dialect,
    now: Now,
    audience: bool,
    schema: Option<String>,
}

impl Options {
    /// A statement for `dialect` at `now`, one row per profile with its
    /// verdict, over unqualified table names.
    ///
    /// ```
    /// use nextbest::sql::{Dialect, Now, Options};
    /// let options = Options::new(Dialect::Postgres, Now::Parameter).audience(true).schema("segment");
    /// assert!(options.is_audience());
    /// ```
    pub fn new(dialect: Dialect, now: Now) -> Self {
        Options {
            dialect,
            now,
            audience: false,
            schema: None,
        }
    }

    /// Only the ids of the profiles where the expression is TRUE.
    pub fn audience(mut self, audience: bool) -> Self {
        self.audience = audience;
        self
    }

    /// Qualify the table names with a schema (database, in ClickHouse).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Whether the statement selects an audience.
    pub fn is_audience(&self) -> bool {
        self.audience
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// A construct that a dialect cannot express exactly: the stable code, what
/// it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The stable code, `S` and four digits (see [`Refusal::code`]).
    pub code: &'static str,
    /// The construct, as the language writes it (`lower`, `sum(float)`).
    pub construct: String,
    /// The dialect that refuses it.
    pub dialect: Dialect,
    /// Why no exact form exists.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error[{}]: `{}` cannot be compiled to {} SQL exactly: {}",
            self.code, self.construct, self.dialect, self.reason
        )
    }
}

/// Why no statement was generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The expression does not check (the same diagnostics as evaluation).
    #[error("the expression does not compile: {}", first_message(.0))]
    Invalid(Vec<Diagnostic>),
    /// The expression is not a trigger (`bool`).
    #[error("a trigger must be `bool`, found `{0}`")]
    NotBool(String),
    /// A construct the dialect cannot express exactly.
    #[error("{0}")]
    Refused(Refusal),
}

fn first_message(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .first()
        .map_or_else(String::new, |d| format!("{}: {}", d.code, d.message))
}

/// Compiles the trigger `source`, written against `schema`, to one SQL
/// statement (SPEC §8).
///
/// ```
/// use nextbest::sql::{self, Dialect, Now, Options};
/// use nextbest::{EventSchema, Schema, Timestamp, Type};
/// let schema = Schema::builder()
///     .attribute("plan", Type::String)
///     .event("login", EventSchema::new())
///     .event("purchase", EventSchema::new().property("amount", Type::Float))
///     .build()?;
/// let now = Timestamp::parse("2026-11-24T09:00:00Z")?;
/// let options = Options::new(Dialect::Postgres, Now::At(now)).audience(true);
/// let statement = sql::compile("plan = 'pro' AND count(login WITHIN 7d) = 0", &schema, &options)?;
/// assert!(statement.contains(r#"FROM "users" AS u"#));
///
/// // What a dialect cannot do exactly is refused, with a stable code.
/// let duck = Options::new(Dialect::DuckDb, Now::At(now));
/// let error = sql::compile("sum(purchase.amount) > 100.0", &schema, &duck).unwrap_err();
/// assert!(error.to_string().contains("S0301"), "{error}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`SqlError::Invalid`] when the expression does not check,
/// [`SqlError::NotBool`] when it is not a trigger, [`SqlError::Refused`] for
/// the first construct the dialect cannot express exactly.
pub fn compile(source: &str, schema: &Schema, options: &Options) -> Result<String, SqlError> {
    let ast = syntax::parse(source).map_err(SqlError::Invalid)?;
    let checked = check::check(
        &ast,
        schema,
        &Limits::default(),
        Context::default(),
        Some(Expected::Bool),
    )
    .map_err(SqlError::Invalid)?;
    statement(&checked, schema, options)
}

/// The tables of the layout of SPEC §8 for `schema`, as `CREATE TABLE`
/// statements: `users` (`id` and a column per trait) and one table per
/// event type (`user_id`, `timestamp`, `seq` and a column per property).
///
/// ```
/// use nextbest::sql::{self, Dialect, Now, Options};
/// use nextbest::{EventSchema, Schema, Timestamp, Type};
/// let schema = Schema::builder()
///     .attribute("plan", Type::String)
///     .event("purchase", EventSchema::new().property("amount", Type::Float))
///     .build()?;
/// let options = Options::new(Dialect::DuckDb, Now::Parameter);
/// let tables = sql::create_tables(&schema, &options)?;
/// assert_eq!(tables[0], r#"CREATE TABLE "users" ("id" VARCHAR NOT NULL, "plan" VARCHAR)"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`SqlError::Refused`] for a name the layout takes for itself (a trait
/// `id`, a property `user_id`, `timestamp` or `seq`) or a type it has no
/// column for.
pub fn create_tables(schema: &Schema, options: &Options) -> Result<Vec<String>, SqlError> {
    emit::create_tables(schema, options)
}

/// The statement for a checked trigger.
pub(crate) fn statement(
    checked: &Checked,
    schema: &Schema,
    options: &Options,
) -> Result<String, SqlError> {
    emit::statement(&checked.root, schema, options)
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod tests;
