//! Names the SQL layout takes for itself, in any case, are refused for
//! every dialect that would read the wrong column (found in review: DuckDB
//! folds the case of quoted names, so a trait `ID` read the profile id).
#![allow(clippy::unwrap_used)]

use nextbest::sql::{Dialect, Now, Options, SqlError, compile};
use nextbest::{EventSchema, Schema, Timestamp, Type};

fn refused(schema: &Schema, expr: &str, dialect: Dialect) -> bool {
    let now = Now::At(Timestamp::parse("2026-11-24T09:00:00Z").unwrap());
    matches!(
        compile(expr, schema, &Options::new(dialect, now)),
        Err(SqlError::Refused(refusal)) if refusal.code == "S0103"
    )
}

#[test]
fn layout_names_in_any_case_are_refused() {
    for dialect in [Dialect::Postgres, Dialect::DuckDb] {
        let upper = Schema::builder()
            .attribute("ID", Type::String)
            .build()
            .unwrap();
        assert!(refused(&upper, "ID = 'u1'", dialect));
        let events = Schema::builder()
            .event(
                "purchase",
                EventSchema::new().property("Timestamp", Type::Int),
            )
            .build()
            .unwrap();
        assert!(refused(&events, "count(purchase) > 0", dialect));
        let users = Schema::builder()
            .event("Users", EventSchema::new())
            .build()
            .unwrap();
        assert!(refused(&users, "count(Users) > 0", dialect));
        let twins = Schema::builder()
            .attribute("plan", Type::String)
            .attribute("Plan", Type::String)
            .build()
            .unwrap();
        assert!(refused(&twins, "plan = 'a'", dialect));
        let fine = Schema::builder()
            .attribute("plan", Type::String)
            .build()
            .unwrap();
        assert!(!refused(&fine, "plan = 'a'", dialect));
    }
    let slashed = Schema::builder()
        .attribute("a\\b", Type::Int)
        .build()
        .unwrap();
    assert!(refused(&slashed, "`a\\b` > 1", Dialect::ClickHouse));
    assert!(!refused(&slashed, "`a\\b` > 1", Dialect::Postgres));
    let long = "p".repeat(64);
    let long_schema = Schema::builder()
        .attribute(long.as_str(), Type::Int)
        .build()
        .unwrap();
    assert!(refused(
        &long_schema,
        &format!("{long} > 1"),
        Dialect::Postgres
    ));
}
