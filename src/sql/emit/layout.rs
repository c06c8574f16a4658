//! The tables of the layout of SPEC §8, and (for the tests) values as
//! literals of their columns.

use crate::schema::{Schema, Type};
#[cfg(test)]
use crate::value::Value;

use super::super::{Dialect, Options};
use super::{Emitter, Sql, SqlError, check_names};

/// `CREATE TABLE` statements for the layout of §8.
pub(in crate::sql) fn create_tables(
    schema: &Schema,
    options: &Options,
) -> Result<Vec<String>, SqlError> {
    check_names(schema, options.dialect)?;
    let emitter = Emitter::new(schema, options);
    let clickhouse = options.dialect == Dialect::ClickHouse;
    let spark = options.dialect == Dialect::Spark;
    // Spark's TIMESTAMP is the local-time type when
    // `spark.sql.timestampType` says so: TIMESTAMP_LTZ is always an instant.
    let instant = if spark {
        "TIMESTAMP_LTZ"
    } else {
        "TIMESTAMPTZ"
    };
    let column = |name: &str, ty: &Type| -> Sql {
        let ty = match ty {
            Type::Timestamp if clickhouse => "Nullable(DateTime64(6, 'UTC'))".to_owned(),
            Type::Timestamp => instant.to_owned(),
            // Arrays cannot be Nullable: a NULL list is stored empty, and
            // statements reading lists are refused (S0106).
            Type::List(inner) if clickhouse && !matches!(**inner, Type::List(_)) => {
                format!("Array({})", emitter.ty(inner)?)
            }
            other => emitter.ty(other)?,
        };
        Ok(format!("{} {ty}", emitter.ident(name)))
    };
    // The key columns, and how each table ends: ClickHouse's are MergeTree
    // tables ordered as a profile's events are read.
    let [id, user_id, timestamp, seq, users_end, events_end] = if clickhouse {
        [
            "\"id\" String",
            "\"user_id\" String",
            "\"timestamp\" DateTime64(6, 'UTC')",
            "\"seq\" Int64",
            " ENGINE = MergeTree ORDER BY \"id\"",
            " ENGINE = MergeTree ORDER BY (\"user_id\", \"timestamp\", \"seq\")",
        ]
        .map(str::to_owned)
    } else {
        let text = emitter.ty(&Type::String)?;
        let name = |n: &str| emitter.ident(n);
        [
            format!("{} {text} NOT NULL", name("id")),
            format!("{} {text} NOT NULL", name("user_id")),
            format!("{} {instant} NOT NULL", name("timestamp")),
            format!("{} BIGINT NOT NULL", name("seq")),
            String::new(),
            String::new(),
        ]
    };
    let mut users = vec![id];
    for (name, ty) in schema.attributes() {
        users.push(column(name, ty)?);
    }
    let mut tables = vec![format!(
        "CREATE TABLE {} ({}){users_end}",
        emitter.table("users"),
        users.join(", ")
    )];
    for (event, properties) in schema.events() {
        let mut columns = vec![user_id.clone(), timestamp.clone(), seq.clone()];
        for (name, ty) in properties.properties() {
            columns.push(column(name, ty)?);
        }
        tables.push(format!(
            "CREATE TABLE {} ({}){events_end}",
            emitter.table(event),
            columns.join(", ")
        ));
    }
    Ok(tables)
}

#[cfg(test)]
/// A table's name as the dialect quotes it (for the tests' `INSERT`s).
pub(in crate::sql) fn table_name(name: &str, options: &Options, schema: &Schema) -> String {
    Emitter::new(schema, options).table(name)
}

#[cfg(test)]
/// A value as a literal for a column of the layout (timestamps as
/// `TIMESTAMPTZ`, not as the microseconds expressions compute with).
pub(in crate::sql) fn column_literal(
    value: &Value,
    ty: &Type,
    options: &Options,
    schema: &Schema,
) -> Sql {
    let emitter = Emitter::new(schema, options);
    if options.dialect == Dialect::ClickHouse {
        return match (value, ty) {
            (Value::Null, Type::List(_)) => Ok("[]".to_owned()),
            (Value::Timestamp(t), _) => Ok(format!(
                "fromUnixTimestamp64Micro(CAST({} AS Int64), 'UTC')",
                t.as_micros()
            )),
            (Value::Int(i), Type::Timestamp) => Ok(format!(
                "fromUnixTimestamp64Micro(CAST({i} AS Int64), 'UTC')"
            )),
            (Value::List(items), Type::List(inner)) => {
                let items = items
                    .iter()
                    .map(|v| column_literal(v, inner, options, schema))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(format!("[{}]", items.join(", ")))
            }
            (other, _) => emitter.literal(other, ty),
        };
    }
    if options.dialect == Dialect::Spark {
        let micros = match value {
            Value::Timestamp(t) => Some(t.as_micros()),
            Value::Int(i) if *ty == Type::Timestamp => Some(*i),
            _ => None,
        };
        if let Some(micros) = micros {
            return Ok(format!("timestamp_micros(CAST({micros} AS BIGINT))"));
        }
    }
    match (value, ty) {
        (Value::Null, _) => Ok("NULL".to_owned()),
        (Value::Timestamp(t), _) => Ok(format!("CAST('{t}' AS TIMESTAMPTZ)")),
        (Value::Int(i), Type::Timestamp) => Ok(format!(
            "CAST('{}' AS TIMESTAMPTZ)",
            crate::value::Timestamp::from_micros(*i)
        )),
        (other, _) => emitter.literal(other, ty),
    }
}
