//! The translation proper: one IR node at a time into a SQL expression of a
//! known SQL type (bool → boolean; int, timestamp and duration → 64-bit
//! integer, timestamps as microseconds since the epoch; float → double;
//! string → text with the `"C"` collation wherever order or equality is
//! decided; list → array).
//!
//! An operand that a form needs more than once is bound once in a scalar
//! subquery (`(SELECT body FROM (SELECT x AS v1) AS l1)`) so that the text
//! grows linearly with the expression. No form can raise an error for any
//! input a profile can hold: integers are computed in a wider type and
//! range-checked, divisors go through `NULLIF`, and float forms are in
//! [`super::float`].

use std::cell::Cell;

use crate::check::ir::*;
use crate::schema::{Schema, Type};
use crate::syntax::TextOp;
use crate::value::Value;

use super::float;
use super::{Dialect, Now, Options, Refusal, SqlError};

mod aggregate;
mod case;
mod clickhouse;
mod joined;
mod layout;
mod spark;

pub(super) use layout::create_tables;
#[cfg(test)]
pub(super) use layout::{column_literal, table_name};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

type Sql = Result<String, SqlError>;

pub(super) fn statement(root: &Node, schema: &Schema, options: &Options) -> Sql {
    let dialect = options.dialect;
    if options.now == Now::Parameter {
        let why = match dialect {
            Dialect::ClickHouse => Some(
                "ClickHouse binds query parameters by name (`{name:Type}`), not as `$1`; \
                 give `now` as an instant",
            ),
            Dialect::Spark => Some(
                "Spark binds query parameters as `?` or `:name`, not as `$1`; \
                 give `now` as an instant",
            ),
            _ => None,
        };
        if let Some(why) = why {
            return Err(refuse("S0002", "`now` as a parameter", dialect, why));
        }
    }
    check_names(schema, dialect)?;
    let mut emitter = Emitter::new(schema, options);
    let mut verdict = emitter.bool_expr(root)?;
    if dialect == Dialect::ClickHouse {
        // Its comparisons and `IS NULL` give UInt8: the verdict is boolean.
        verdict = format!("CAST({verdict} AS Nullable(Bool))");
    }
    let users = emitter.table("users");
    let id = emitter.ident("id");
    // A bound `now` is read once, in a one-row table every statement
    // joins, so that `$1` is there even in a statement that never reads
    // `now` (a caller binds it whatever the trigger).
    let mut now = match options.now {
        Now::At(_) => String::new(),
        Now::Parameter => {
            " CROSS JOIN (SELECT CAST($1 AS TIMESTAMPTZ) AS \"now\") AS nextbest_now".to_owned()
        }
    };
    if emitter.case_table.get() {
        now.push_str(&emitter.case_table_join());
    }
    for join in emitter.joins.concat() {
        now.push(' ');
        now.push_str(&join);
    }
    let mut text = emitter.header();
    if emitter.zones.get() {
        text.push_str(&emitter.zone_table());
    }
    if options.audience {
        text.push_str(&format!(
            "SELECT u.{id} AS {id} FROM {users} AS u{now} WHERE {verdict}"
        ));
    } else {
        text.push_str(&format!(
            "SELECT u.{id} AS {id}, {verdict} AS {} FROM {users} AS u{now}",
            emitter.ident("verdict")
        ));
    }
    if dialect == Dialect::ClickHouse {
        text.push_str(clickhouse::SETTINGS);
    }
    Ok(text)
}

/// Zone names that tzdb makes links (`EST` to `America/Panama`, whose
/// rules nextbest applies, LMT before 1908 included) but engines read as
/// fixed offsets: PostgreSQL and the JVM (`ZoneId.SHORT_IDS`) take `EST`,
/// `MST` and `HST` for -05:00, -07:00 and -10:00. Each engine is handed the
/// link's target instead (checked by the differential test's zone edges).
/// What a Spark statement's answer depends on besides its text.
pub(super) const SPARK_NEEDS: &str = "ANSI mode (spark.sql.ansi.enabled), and at their defaults spark.sql.parser.escapedStringLiterals (false: backslash escapes read) and spark.sql.legacy.followThreeValuedLogicInArrayExists (true: `exists` is three-valued)";

const READ_OTHERWISE: [(&str, &str); 3] = [
    ("EST", "America/Panama"),
    ("MST", "America/Phoenix"),
    ("HST", "Pacific/Honolulu"),
];

/// The name an engine is given for the zone nextbest calls `name`.
fn zone_name(name: &'static str) -> &'static str {
    (READ_OTHERWISE.iter())
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, target)| target)
}

fn refuse(code: &'static str, construct: &str, dialect: Dialect, reason: &str) -> SqlError {
    SqlError::Refused(Refusal {
        code,
        construct: construct.to_owned(),
        dialect,
        reason: reason.to_owned(),
    })
}

/// Names that the layout of §8 takes for itself cannot be traits,
/// properties or events: the statement would read the wrong column or
/// table. Compared without case (DuckDB folds the case of quoted names),
/// and, for PostgreSQL, within its 63-byte identifiers (it cuts longer ones,
/// which could make two names one).
fn check_names(schema: &Schema, dialect: Dialect) -> Result<(), SqlError> {
    let clash = |what: String, why: &str| Err(refuse("S0103", &what, dialect, why));
    let fold = |name: &str| name.to_lowercase();
    // PostgreSQL cuts longer identifiers; ClickHouse reads backslash
    // escapes inside quoted ones, which `ident` does not write.
    let too_long = |name: &str| {
        (dialect == Dialect::Postgres && name.len() > 63)
            || (dialect == Dialect::ClickHouse && name.contains('\\'))
    };
    let mut traits = std::collections::HashSet::new();
    for (name, _) in schema.attributes() {
        if fold(name) == "id" {
            return clash(
                format!("trait `{name}`"),
                "the users table's `id` column is the profile id",
            );
        }
        if too_long(name) || !traits.insert(fold(name)) {
            return clash(
                format!("trait `{name}`"),
                "another trait's column has the same name once case is ignored or it is cut to 63 bytes, or it holds a backslash (ClickHouse)",
            );
        }
    }
    let mut events = std::collections::HashSet::new();
    for (event, properties) in schema.events() {
        if fold(event) == "users" || too_long(event) || !events.insert(fold(event)) {
            return clash(
                format!("event `{event}`"),
                "its table's name is the users table's or another event's once case is ignored or it is cut to 63 bytes",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (name, _) in properties.properties() {
            if ["user_id", "timestamp", "seq"].contains(&fold(name).as_str()) {
                return clash(
                    format!("property `{event}.{name}`"),
                    "the event tables' own columns are `user_id`, `timestamp` and `seq`",
                );
            }
            if too_long(name) || !seen.insert(fold(name)) {
                return clash(
                    format!("property `{event}.{name}`"),
                    "another property's column has the same name once case is ignored or it is cut to 63 bytes",
                );
            }
        }
    }
    Ok(())
}

struct Emitter<'a> {
    dialect: Dialect,
    schema: &'a Schema,
    options: &'a Options,
    /// The events bound by the enclosing aggregates, innermost last, with
    /// their table aliases.
    scope: Vec<(usize, String)>,
    /// The last number used for an alias.
    next: Cell<usize>,
    /// A zone that is not a literal is checked against nextbest's zones.
    zones: Cell<bool>,
    /// `lower`/`upper` need PostgreSQL's ICU root collation.
    icu_case: Cell<bool>,
    /// DuckDB's `lower`/`upper` need the case tables joined in.
    case_table: Cell<bool>,
    /// ClickHouse's aggregates, as joins: the statement's, then one frame
    /// per aggregate being written (its nested aggregates join it).
    joins: Vec<Vec<String>>,
    /// ClickHouse: the event of the aggregate whose window or filter is
    /// being written, hidden from the aggregate nested there (see
    /// `Emitter::unbound`).
    barrier: Option<usize>,
}

impl<'a> Emitter<'a> {
    fn new(schema: &'a Schema, options: &'a Options) -> Self {
        Emitter {
            dialect: options.dialect,
            schema,
            options,
            scope: Vec::new(),
            next: Cell::new(0),
            zones: Cell::new(false),
            icu_case: Cell::new(false),
            case_table: Cell::new(false),
            joins: vec![Vec::new()],
            barrier: None,
        }
    }

    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    fn fresh(&self) -> usize {
        self.next.set(self.next.get() + 1);
        self.next.get()
    }

    fn header(&self) -> String {
        let now = match self.options.now {
            Now::At(t) => format!("at {t}"),
            Now::Parameter => "at the instant bound to $1".to_owned(),
        };
        let mut needs = vec!["any session time zone and default collation"];
        if self.pg() {
            needs.push("a UTF-8 database");
            if self.icu_case.get() {
                needs.push("the ICU collation \"und-x-icu\"");
            }
        } else if self.dialect == Dialect::Spark {
            // String literals escape `\` and `'`, and `IN` over a list is
            // `exists`: both settings change what the statement answers.
            needs.push(SPARK_NEEDS);
        } else if self.zones.get() {
            needs.push("the ICU extension");
        }
        format!(
            "-- nextbest trigger for {} {now}: the same answer under {}\n",
            self.dialect,
            needs.join(", ")
        )
    }

    fn zone_table(&self) -> String {
        let names: Vec<String> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| format!("({})", self.string(tz.name())))
            .collect();
        format!(
            "WITH nextbest_zones(name) AS (VALUES {})\n",
            names.join(", ")
        )
    }

    /// A quoted name: in backquotes for Spark (whose double quotes make a
    /// string unless a setting says otherwise), in double quotes elsewhere.
    fn ident(&self, name: &str) -> String {
        if self.dialect == Dialect::Spark {
            format!("`{}`", name.replace('`', "``"))
        } else {
            format!("\"{}\"", name.replace('"', "\"\""))
        }
    }

    fn table(&self, name: &str) -> String {
        match &self.options.schema {
            Some(schema) => format!("{}.{}", self.ident(schema), self.ident(name)),
            None => self.ident(name),
        }
    }

    // ---- types and literals ----

    fn ty(&self, ty: &Type) -> Result<String, SqlError> {
        if self.dialect == Dialect::ClickHouse {
            return self.clickhouse_type(ty);
        }
        let spark = self.dialect == Dialect::Spark;
        Ok(match ty {
            Type::Bool | Type::Null => "BOOLEAN".to_owned(),
            Type::Int | Type::Timestamp | Type::Duration => "BIGINT".to_owned(),
            Type::Float => float::double(self.dialect).to_owned(),
            Type::String if self.pg() => "TEXT".to_owned(),
            Type::String if spark => "STRING".to_owned(),
            Type::String => "VARCHAR".to_owned(),
            Type::List(inner) if spark && !matches!(**inner, Type::List(_)) => {
                format!("ARRAY<{}>", self.ty(inner)?)
            }
            Type::List(inner) if !matches!(**inner, Type::List(_)) => {
                format!("{}[]", self.ty(inner)?)
            }
            Type::List(_) => {
                return Err(refuse(
                    "S0104",
                    "a list of lists",
                    self.dialect,
                    "the layout has no column type for it",
                ));
            }
        })
    }

    fn null(&self, ty: &Type) -> Sql {
        Ok(format!("CAST(NULL AS {})", self.ty(ty)?))
    }

    fn int(i: i64) -> String {
        format!("CAST({i} AS BIGINT)")
    }

    fn string(&self, s: &str) -> String {
        if self.pg() {
            // An escape string reads the same whatever
            // `standard_conforming_strings` says.
            format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
        } else if matches!(self.dialect, Dialect::ClickHouse | Dialect::Spark) {
            // ClickHouse and Spark read backslash escapes in every string
            // literal.
            format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            format!("'{}'", s.replace('\'', "''"))
        }
    }

    fn literal(&self, value: &Value, ty: &Type) -> Sql {
        Ok(match value {
            Value::Null => self.null(ty)?,
            Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
            Value::Int(i) => Self::int(*i),
            Value::Float(x) => float::literal(self.dialect, *x),
            Value::String(s) if s.contains('\0') => {
                return Err(refuse(
                    "S0102",
                    "a string with a NUL character",
                    self.dialect,
                    "SQL text values cannot hold it",
                ));
            }
            Value::String(s) => self.string(s),
            Value::Timestamp(t) => Self::int(t.as_micros()),
            Value::Duration(d) => Self::int(d.as_micros()),
            Value::List(items) => {
                let inner = match ty {
                    Type::List(inner) => (**inner).clone(),
                    other => other.clone(),
                };
                let items = items
                    .iter()
                    .map(|v| self.literal(v, &inner))
                    .collect::<Result<Vec<_>, _>>()?;
                self.array(&items, ty)?
            }
        })
    }

    fn array(&self, items: &[String], ty: &Type) -> Sql {
        let items = items.join(", ");
        let ty = self.ty(ty)?;
        Ok(if self.pg() {
            format!("CAST(ARRAY[{items}] AS {ty})")
        } else if self.dialect == Dialect::Spark {
            format!("CAST(array({items}) AS {ty})")
        } else {
            format!("CAST([{items}] AS {ty})")
        })
    }

    // ---- integers ----

    fn wide(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "NUMERIC",
            Dialect::ClickHouse => "Int128",
            Dialect::Spark => "DECIMAL(38, 0)",
            Dialect::DuckDb => "HUGEINT",
        }
    }

    fn widen(&self, x: &str) -> String {
        format!("CAST({x} AS {})", self.wide())
    }

    /// A wide integer back to 64 bits, NULL outside: clamped one past each
    /// end, and the two ends turned into NULL, so `w` is written once.
    fn narrow(&self, w: &str) -> String {
        let wide = self.wide();
        let below = format!("CAST('-9223372036854775809' AS {wide})");
        let above = format!("CAST('9223372036854775808' AS {wide})");
        format!(
            "CAST(NULLIF(NULLIF(LEAST(GREATEST({w}, {below}), {above}), {below}), {above}) AS BIGINT)"
        )
    }

    /// `a / b` on integers, truncated.
    fn int_div(&self, a: &str, b: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("{a} / {b}"),
            Dialect::ClickHouse => format!("intDiv({a}, {b})"),
            Dialect::Spark => format!("{a} div {b}"),
            Dialect::DuckDb => format!("{a} // {b}"),
        }
    }

    /// Floor division of a bound integer by a positive constant.
    fn floor_div(&self, x: &str, d: i64) -> String {
        let quotient = self.int_div(x, &d.to_string());
        format!("({quotient} - CASE WHEN {x} % {d} < 0 THEN 1 ELSE 0 END)")
    }

    /// `(SELECT body FROM (SELECT v1, v2…) AS l)`: each value written once.
    fn bind<const N: usize>(
        &self,
        values: [String; N],
        body: impl FnOnce([String; N]) -> String,
    ) -> String {
        let n = self.fresh();
        let names: [String; N] = std::array::from_fn(|i| format!("v{n}_{i}"));
        if self.dialect == Dialect::ClickHouse {
            // A scalar subquery naming an outer column is correlated.
            return self.clickhouse_bind(&values, &names.clone(), body(names));
        }
        if self.dialect == Dialect::Spark {
            // Spark takes a correlated scalar subquery only as an aggregate.
            return Self::spark_bind(&values, &names.clone(), body(names));
        }
        let columns: Vec<String> = values
            .iter()
            .zip(&names)
            .map(|(v, name)| format!("{v} AS {name}"))
            .collect();
        // `OFFSET 0` keeps PostgreSQL from pulling the subquery up, which
        // would copy each value into every place that names it.
        let fence = if self.pg() { " OFFSET 0" } else { "" };
        let columns = columns.join(", ");
        format!(
            "(SELECT {} FROM (SELECT {columns}{fence}) AS l{n})",
            body(names)
        )
    }

    fn now(&self) -> String {
        match self.options.now {
            Now::At(t) => Self::int(t.as_micros()),
            Now::Parameter => self.micros("nextbest_now.\"now\""),
        }
    }

    /// A timestamp column as microseconds since the epoch.
    fn micros(&self, column: &str) -> String {
        if self.pg() {
            format!("CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)")
        } else if self.dialect == Dialect::ClickHouse {
            format!("toUnixTimestamp64Micro({column})")
        } else if self.dialect == Dialect::Spark {
            format!("unix_micros({column})")
        } else {
            format!("epoch_us({column})")
        }
    }

    fn column(&self, table: &str, name: &str, ty: &Type) -> String {
        let column = format!("{table}.{}", self.ident(name));
        if *ty == Type::Timestamp {
            self.micros(&column)
        } else {
            column
        }
    }

    /// A zone name read from the data, as the engine must be handed it:
    /// the names of [`READ_OTHERWISE`] replaced by their links' targets.
    fn zone_target(&self, zone: &str) -> String {
        let arms: String = (READ_OTHERWISE.iter())
            .map(|(name, target)| {
                format!("WHEN {} THEN {} ", self.string(name), self.string(target))
            })
            .collect();
        format!("CASE {} {arms}ELSE {zone} END", self.collate(zone))
    }

    fn collate(&self, s: &str) -> String {
        if self.dialect == Dialect::ClickHouse {
            // ClickHouse compares strings by their bytes, so by code point.
            return s.to_owned();
        }
        if self.dialect == Dialect::Spark {
            // By UTF-8 bytes, whatever the session's default collation.
            return format!("({s}) COLLATE UTF8_BINARY");
        }
        format!("({s}) COLLATE \"C\"")
    }

    // ---- comparisons ----

    fn compare(&self, kind: Compare, op: CmpOp, a: String, b: String) -> String {
        let sym = match op {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        };
        match kind {
            Compare::Null => self.null(&Type::Bool).unwrap_or_else(|_| "NULL".to_owned()),
            Compare::Int | Compare::Float | Compare::Bool => format!("({a} {sym} {b})"),
            Compare::Str => format!("({} {sym} {})", self.collate(&a), self.collate(&b)),
            Compare::IntFloat => {
                let sign = self.int_float_sign(a, b);
                format!("({sign} {sym} 0)")
            }
            Compare::FloatInt => {
                let sign = self.int_float_sign(b, a);
                format!("(0 {sym} {sign})")
            }
        }
    }

    /// The sign of `i − f`, exactly (a float is never converted to an int
    /// it does not equal, nor an int to a float that rounds it).
    fn int_float_sign(&self, i: String, f: String) -> String {
        let d = self.dialect;
        let top = float::literal(d, 9_223_372_036_854_775_808.0);
        let safe = float::literal(d, 9_223_372_036_854_774_784.0);
        self.bind([i, f], |[i, f]| {
            // A cast to BIGINT truncates, in every dialect.
            let t = if d == Dialect::Spark {
                format!("CAST(LEAST(GREATEST({f}, -{safe}), {safe}) AS BIGINT)")
            } else {
                format!("CAST(trunc(LEAST(GREATEST({f}, -{safe}), {safe})) AS BIGINT)")
            };
            let trunc = float::trunc(d, &f);
            format!(
                "CASE WHEN {i} IS NULL OR {f} IS NULL THEN NULL \
                 WHEN {f} >= {top} THEN -1 WHEN {f} < -{top} THEN 1 \
                 WHEN {i} < {t} THEN -1 WHEN {i} > {t} THEN 1 \
                 WHEN {f} > {trunc} THEN -1 WHEN {f} < {trunc} THEN 1 ELSE 0 END"
            )
        })
    }

    // ---- nodes ----

    fn bool_expr(&mut self, node: &Node) -> Sql {
        if node.ty == Type::Null {
            return self.null(&Type::Bool);
        }
        self.expr(node)
    }

    fn expr(&mut self, node: &Node) -> Sql {
        let d = self.dialect;
        if d == Dialect::ClickHouse && matches!(node.ty, Type::List(_)) {
            return Err(self.no_null_lists());
        }
        Ok(match &node.kind {
            NodeKind::Const(value) => self.literal(value, &node.ty)?,
            NodeKind::Attribute(slot) => match self.schema.attribute_at(*slot) {
                Some((name, ty)) => self.column("u", name, ty),
                None => self.null(&node.ty)?,
            },
            NodeKind::Property { event, slot } => match self.scope.last() {
                Some((bound, alias)) if bound == event => {
                    let property = self
                        .schema
                        .event_at(*event)
                        .and_then(|(_, e)| e.name(*slot).map(|n| (n, e.get(n))));
                    match property {
                        Some((name, Some((_, ty)))) => self.column(alias, name, ty),
                        _ => self.null(&node.ty)?,
                    }
                }
                _ => self.unbound(*event, &node.ty)?,
            },
            NodeKind::EventTime(event) => match self.scope.last() {
                Some((bound, alias)) if bound == event => {
                    self.column(alias, "timestamp", &Type::Timestamp)
                }
                _ => self.unbound(*event, &node.ty)?,
            },
            NodeKind::ProfileId => format!("u.{}", self.ident("id")),
            NodeKind::Now => self.now(),
            NodeKind::JourneyEnteredAt => {
                return Err(refuse(
                    "S0101",
                    "journey.entered_at",
                    d,
                    "journey state is not in the warehouse layout",
                ));
            }
            NodeKind::ToFloat(inner) => {
                format!("CAST({} AS {})", self.expr(inner)?, float::double(d))
            }
            NodeKind::Not(inner) => format!("(NOT {})", self.bool_expr(inner)?),
            NodeKind::And(items) => self.logic(items, "AND")?,
            NodeKind::Or(items) => self.logic(items, "OR")?,
            NodeKind::Neg(inner) => match node.ty {
                Type::Float => format!("(-{})", self.expr(inner)?),
                Type::Null => self.null(&Type::Int)?,
                _ => {
                    let x = self.expr(inner)?;
                    self.narrow(&format!("-{}", self.widen(&x)))
                }
            },
            NodeKind::Arith(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                self.arith(*op, a, b)?
            }
            NodeKind::Compare(op, kind, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                self.compare(*kind, *op, a, b)
            }
            NodeKind::IsNull(inner) => format!("({} IS NULL)", self.expr(inner)?),
            NodeKind::In(value, items) => self.in_list(value, items)?,
            NodeKind::Between(value, (low_kind, low), (high_kind, high)) => {
                let v = self.expr(value)?;
                let (low, high) = (self.expr(low)?, self.expr(high)?);
                let (lk, hk) = (*low_kind, *high_kind);
                self.bind([v], |[v]| {
                    let ge = self.compare(lk, CmpOp::Ge, v.clone(), low);
                    let le = self.compare(hk, CmpOp::Le, v, high);
                    format!("({ge} AND {le})")
                })
            }
            NodeKind::Text(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let (a, b) = (self.collate(&a), self.collate(&b));
                match (op, d) {
                    (TextOp::Contains, Dialect::ClickHouse) => format!("(position({a}, {b}) > 0)"),
                    (TextOp::StartsWith, Dialect::ClickHouse) => format!("startsWith({a}, {b})"),
                    (TextOp::EndsWith, Dialect::ClickHouse) => format!("endsWith({a}, {b})"),
                    (TextOp::Contains, Dialect::Spark) => format!("(instr({a}, {b}) > 0)"),
                    (TextOp::StartsWith, Dialect::Spark) => format!("startswith({a}, {b})"),
                    (TextOp::EndsWith, Dialect::Spark) => format!("endswith({a}, {b})"),
                    (TextOp::Contains, _) => format!("(strpos({a}, {b}) > 0)"),
                    (TextOp::StartsWith, _) => format!("starts_with({a}, {b})"),
                    (TextOp::EndsWith, Dialect::Postgres) => {
                        format!("starts_with(reverse({a}), reverse({b}))")
                    }
                    (TextOp::EndsWith, _) => format!("ends_with({a}, {b})"),
                }
            }
            NodeKind::ListContains(kind, list, item) => {
                let (list, item) = (self.expr(list)?, self.expr(item)?);
                self.list_contains(*kind, list, item)
            }
            NodeKind::List(items) => {
                let items = items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>, _>>()?;
                self.array(&items, &node.ty)?
            }
            NodeKind::Call(function, args) => self.call(function, args)?,
            NodeKind::Aggregate(aggregate) => self.aggregate(aggregate, &node.ty)?,
            NodeKind::EventField(aggregate, field) => self.event_field(aggregate, *field)?,
        })
    }

    /// An event's property or time where that event is not the innermost
    /// bound: NULL, as the evaluator reads it. Where aggregates are joined
    /// (ClickHouse, Spark) an aggregate nested in another's window is
    /// computed once per profile, so it cannot read the enclosing
    /// aggregate's event: refused.
    fn unbound(&self, event: usize, ty: &Type) -> Sql {
        if self.scope.is_empty() && self.barrier == Some(event) {
            let engine = if self.dialect == Dialect::Spark {
                "Spark"
            } else {
                "ClickHouse"
            };
            return Err(refuse(
                "S0304",
                "an aggregate whose window reads the event of the aggregate around it",
                self.dialect,
                &format!(
                    "{engine} computes each aggregate once per profile and joins it; \
                     it cannot correlate it with each event of the enclosing aggregate"
                ),
            ));
        }
        self.null(ty)
    }

    fn logic(&mut self, items: &[Node], keyword: &str) -> Sql {
        let parts = items
            .iter()
            .map(|i| self.bool_expr(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match parts.len() {
            0 if keyword == "AND" => "TRUE".to_owned(),
            0 => "FALSE".to_owned(),
            _ => format!("({})", parts.join(&format!(" {keyword} "))),
        })
    }

    fn in_list(&mut self, value: &Node, items: &[(Compare, Node)]) -> Sql {
        let v = self.expr(value)?;
        let mut parts = Vec::with_capacity(items.len());
        for (kind, item) in items {
            parts.push((*kind, self.expr(item)?));
        }
        Ok(self.bind([v], |[v]| {
            let tests: Vec<String> = parts
                .into_iter()
                .map(|(kind, item)| self.compare(kind, CmpOp::Eq, v.clone(), item))
                .collect();
            if tests.is_empty() {
                "FALSE".to_owned()
            } else {
                format!("({})", tests.join(" OR "))
            }
        }))
    }

    fn list_contains(&self, kind: Compare, list: String, item: String) -> String {
        if self.dialect == Dialect::Spark {
            return self.spark_list_contains(kind, list, item);
        }
        self.bind([list, item], |[l, item]| {
            let test = self.compare(kind, CmpOp::Eq, "t.x".to_owned(), item);
            format!(
                "CASE WHEN {l} IS NULL THEN NULL ELSE (SELECT CASE WHEN bool_or(c) THEN TRUE \
                 WHEN bool_or(c IS NULL) THEN NULL ELSE FALSE END \
                 FROM (SELECT {test} AS c FROM (SELECT unnest({l}) AS x) AS t) AS z) END",
            )
        })
    }

    fn arith(&mut self, op: Arith, a: String, b: String) -> Sql {
        let d = self.dialect;
        Ok(match op {
            Arith::Int(IntOp::Rem) if d == Dialect::ClickHouse => self.clickhouse_rem(a, b),
            Arith::Int(IntOp::Rem) => format!("({a} % NULLIF({b}, 0))"),
            Arith::Int(op) => {
                let sym = match op {
                    IntOp::Add => "+",
                    IntOp::Sub => "-",
                    _ => "*",
                };
                self.narrow(&format!("({} {sym} {})", self.widen(&a), self.widen(&b)))
            }
            Arith::Float(op) => self.bind([a, b], |[a, b]| {
                float::arith(d, op, &a, &b, &|x, f| self.bind(x, f))
            }),
            Arith::ScaleDuration(op) => {
                let micros = format!("CAST({a} AS {})", float::double(d));
                let op = match op {
                    ScaleOp::Mul => FloatOp::Mul,
                    ScaleOp::Div => FloatOp::Div,
                };
                let scaled = self.bind([micros, b], |[m, b]| {
                    float::arith(d, op, &m, &b, &|x, f| self.bind(x, f))
                });
                let limit = float::literal(d, 9.223_372_036_854_775e18);
                self.bind([scaled], |[v]| {
                    let r = float::round(d, &v);
                    format!("CASE WHEN abs({r}) <= {limit} THEN CAST({r} AS BIGINT) END")
                })
            }
        })
    }

    // ---- functions ----

    fn call(&mut self, function: &Function, args: &[Node]) -> Sql {
        let d = self.dialect;
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.expr(a)?);
        }
        let first = values.first().cloned().unwrap_or_default();
        Ok(match function {
            Function::Lower | Function::Upper => {
                let name = if *function == Function::Lower {
                    "lower"
                } else {
                    "upper"
                };
                if d == Dialect::ClickHouse {
                    // Full mappings (`STRASSE`, `i̇`, a final `ς`): checked
                    // by the differential test's case edges.
                    return Ok(format!("{name}UTF8({first})"));
                }
                if d == Dialect::Spark {
                    return Ok(self.spark_case(name, first));
                }
                if !self.pg() {
                    return Ok(self.duckdb_case(*function == Function::Lower, first));
                }
                self.icu_case.set(true);
                format!("({name}(({first}) COLLATE \"und-x-icu\") COLLATE \"C\")")
            }
            Function::LengthString if self.pg() => {
                format!("CAST(char_length({first}) AS BIGINT)")
            }
            Function::LengthString if d == Dialect::ClickHouse => {
                format!("CAST(lengthUTF8({first}) AS BIGINT)")
            }
            Function::LengthString => format!("CAST(length({first}) AS BIGINT)"),
            Function::LengthList if self.pg() => format!("CAST(cardinality({first}) AS BIGINT)"),
            Function::LengthList if d == Dialect::Spark => self.bind([first], |[l]| {
                // `size` of NULL is -1 unless ANSI mode is on: not left to it.
                format!("CASE WHEN {l} IS NULL THEN NULL ELSE CAST(size({l}) AS BIGINT) END")
            }),
            Function::LengthList => format!("CAST(len({first}) AS BIGINT)"),
            Function::AbsInt => {
                let wide = self.wide();
                format!(
                    "CAST(NULLIF(abs({}), CAST('9223372036854775808' AS {wide})) AS BIGINT)",
                    self.widen(&first)
                )
            }
            Function::AbsFloat => format!("abs({first})"),
            Function::Floor | Function::Ceil if d == Dialect::Spark => self.bind([first], |[x]| {
                float::whole(d, *function == Function::Floor, &x)
            }),
            Function::Floor => format!("floor({first})"),
            Function::Ceil => format!("ceil({first})"),
            Function::Round => self.bind([first], |[v]| float::round(d, &v)),
            Function::RoundDigits => self.round_digits(first, args.get(1))?,
            Function::Extreme(kind, greatest) => {
                let name = if *greatest { "greatest" } else { "least" };
                let values: Vec<String> = if *kind == Compare::Str {
                    values.iter().map(|v| self.collate(v)).collect()
                } else {
                    values
                };
                format!("{name}({})", values.join(", "))
            }
            Function::Coalesce => format!("COALESCE({})", values.join(", ")),
            Function::DaysSince | Function::HoursSince => {
                let unit = if *function == Function::DaysSince {
                    MICROS_PER_DAY
                } else {
                    MICROS_PER_HOUR
                };
                let since = self.narrow(&format!(
                    "({} - {})",
                    self.widen(&self.now()),
                    self.widen(&first)
                ));
                self.bind([since], |[v]| self.floor_div(&v, unit))
            }
            Function::Local(part, zone) if d == Dialect::ClickHouse => match zone {
                Some(tz) => self.clickhouse_local(*part, first, zone_name(tz.name())),
                None => {
                    return Err(refuse(
                        "S0303",
                        "hour_of_day / day_of_week with a computed zone",
                        d,
                        "ClickHouse takes a time zone only as a constant",
                    ));
                }
            },
            Function::Local(part, zone) => {
                let zone_sql = match zone {
                    Some(tz) => self.string(zone_name(tz.name())),
                    None => values.get(1).cloned().unwrap_or_default(),
                };
                if d == Dialect::Spark {
                    self.spark_local(*part, first, zone_sql, zone.is_none())
                } else {
                    self.local(*part, first, zone_sql, zone.is_none())
                }
            }
            Function::Bucket => {
                let key = match args.first().map(|a| &a.ty) {
                    Some(Type::Int) => format!("CAST({first} AS {})", self.ty(&Type::String)?),
                    _ => first,
                };
                let salt = values.get(1).cloned().unwrap_or_default();
                if d == Dialect::ClickHouse {
                    return Ok(self.clickhouse_bucket(key, salt));
                }
                if d == Dialect::Spark {
                    return Ok(self.spark_bucket(key, salt));
                }
                self.bucket(key, salt)
            }
        })
    }

    fn round_digits(&mut self, x: String, digits: Option<&Node>) -> Sql {
        let d = self.dialect;
        let digits = match digits.map(constant_int) {
            Some(Some(Some(digits))) => digits,
            Some(Some(None)) => return self.null(&Type::Float),
            _ => {
                return Err(refuse(
                    "S0302",
                    "round(x, digits) with computed digits",
                    d,
                    "the power of ten is computed as nextbest computes it only for a literal",
                ));
            }
        };
        // The same factor as the evaluator's, written as a literal.
        let clamped = i32::try_from(digits.clamp(-308, 308)).unwrap_or(0);
        let factor = float::literal(d, 10f64.powi(clamped));
        Ok(self.bind([x], |[x]| {
            let scaled = format!(
                "({})",
                float::arith(d, FloatOp::Mul, &x, &factor, &|x, f| self.bind(x, f))
            );
            let rounded = self.bind([scaled], |[s]| {
                let round = float::round(d, &s);
                let back = self.bind([format!("({round})"), factor.clone()], |[r, f]| {
                    float::arith(d, FloatOp::Div, &r, &f, &|x, f| self.bind(x, f))
                });
                format!("CASE WHEN {s} IS NULL THEN {x} ELSE {back} END")
            });
            format!("CASE WHEN {x} IS NULL THEN NULL ELSE {rounded} END")
        }))
    }

    fn local(&self, part: LocalPart, micros: String, zone: String, check_zone: bool) -> String {
        let d = self.dialect;
        if check_zone {
            self.zones.set(true);
        }
        self.bind([micros, zone], |[m, z]| {
            let target = if check_zone { self.zone_target(&z) } else { z.clone() };
            let value = if d == Dialect::Postgres {
                let field = match part {
                    LocalPart::HourOfDay => "HOUR",
                    LocalPart::DayOfWeek => "ISODOW",
                };
                // Whole seconds and the rest, each exact as a float factor.
                format!(
                    "CAST(EXTRACT({field} FROM (TIMESTAMPTZ 'epoch' + ({m} / {MICROS_PER_SECOND}) * INTERVAL '1 second' \
                     + ({m} % {MICROS_PER_SECOND}) * INTERVAL '1 microsecond') AT TIME ZONE {target}) AS BIGINT)"
                )
            } else {
                let field = match part {
                    LocalPart::HourOfDay => "hour",
                    LocalPart::DayOfWeek => "isodow",
                };
                format!("CAST({field}(timezone({target}, timezone('UTC', make_timestamp({m})))) AS BIGINT)")
            };
            if check_zone {
                format!(
                    "CASE WHEN {m} IS NULL OR {z} IS NULL THEN NULL \
                     WHEN ({z}) COLLATE \"C\" IN (SELECT name FROM nextbest_zones) THEN {value} END"
                )
            } else {
                format!("CASE WHEN {m} IS NULL THEN NULL ELSE {value} END")
            }
        })
    }

    /// GrowthBook v2: `h1 = fnv1a32(salt ++ key)`, `h2 = fnv1a32(h1 as
    /// decimal text)`, `(h2 mod 10000) / 100`, in pure SQL.
    fn bucket(&self, key: String, salt: String) -> String {
        let pg = self.pg();
        let text = if pg { "TEXT" } else { "VARCHAR" };
        let fnv = |s: &str| -> String {
            if pg {
                format!(
                    "(WITH RECURSIVE h(i, v) AS (SELECT 0, CAST(2166136261 AS BIGINT) UNION ALL \
                     SELECT h.i + 1, ((h.v # CAST(get_byte(b.b, h.i) AS BIGINT)) * 16777619) % 4294967296 \
                     FROM h, (SELECT convert_to({s}, 'UTF8') AS b) AS b WHERE h.i < length(b.b)) \
                     SELECT v FROM h ORDER BY i DESC LIMIT 1)"
                )
            } else {
                format!(
                    "list_reduce([CAST(2166136261 AS BIGINT)] || list_transform(range(octet_length(encode({s}))), \
                     lambda i: CAST(('0x' || substr(hex(encode({s})), 2 * i + 1, 2)) AS BIGINT)), \
                     lambda h, b: (xor(h, b) * 16777619) % 4294967296)"
                )
            }
        };
        self.bind([key, salt], |[key, salt]| {
            let h1 = fnv(&format!("({salt} || {key})"));
            let h2 = self.bind([format!("CAST({h1} AS {text})")], |[t]| fnv(&t));
            let bucket = self.int_div(&format!("({h2} % 10000)"), "100");
            format!("CASE WHEN {key} IS NULL OR {salt} IS NULL THEN NULL ELSE {bucket} END")
        })
    }
}

/// The value of a constant integer expression (a literal, possibly negated):
/// `Some(None)` for NULL, `None` when the node is not constant.
fn constant_int(node: &Node) -> Option<Option<i64>> {
    match &node.kind {
        NodeKind::Const(Value::Int(i)) => Some(Some(*i)),
        NodeKind::Const(Value::Null) => Some(None),
        NodeKind::Neg(inner) => constant_int(inner).map(|i| i.and_then(i64::checked_neg)),
        _ => None,
    }
}
