//! The tables of the layout of SPEC §8, and (for the tests) values as
//! literals of their columns.

use crate::schema::{Schema, Type};
#[cfg(test)]
use crate::value::Value;

use super::super::Options;
use super::{Emitter, Sql, SqlError, check_names};

/// `CREATE TABLE` statements for the layout of §8.
pub(in crate::sql) fn create_tables(
    schema: &Schema,
    options: &Options,
) -> Result<Vec<String>, SqlError> {
    check_names(schema, options.dialect)?;
    let emitter = Emitter::new(schema, options);
    let column = |name: &str, ty: &Type| -> Sql {
        let ty = match ty {
            Type::Timestamp => "TIMESTAMPTZ".to_owned(),
            other => emitter.ty(other)?,
        };
        Ok(format!("{} {ty}", Emitter::ident(name)))
    };
    let text = emitter.ty(&Type::String)?;
    let mut users = vec![format!("\"id\" {text} NOT NULL")];
    for (name, ty) in schema.attributes() {
        users.push(column(name, ty)?);
    }
    let mut tables = vec![format!(
        "CREATE TABLE {} ({})",
        emitter.table("users"),
        users.join(", ")
    )];
    for (event, properties) in schema.events() {
        let mut columns = vec![
            format!("\"user_id\" {text} NOT NULL"),
            "\"timestamp\" TIMESTAMPTZ NOT NULL".to_owned(),
            "\"seq\" BIGINT NOT NULL".to_owned(),
        ];
        for (name, ty) in properties.properties() {
            columns.push(column(name, ty)?);
        }
        tables.push(format!(
            "CREATE TABLE {} ({})",
            emitter.table(event),
            columns.join(", ")
        ));
    }
    Ok(tables)
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
