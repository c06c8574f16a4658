//! Unit tests of the SQL stage: the statement's shape, quoting and
//! refusals. What the statements compute is the differential test's
//! (`differential.rs`), against the engines themselves.

use super::*;
use crate::schema::{EventSchema, Type};

fn schema() -> Schema {
    Schema::builder()
        .attribute("plan", Type::String)
        .attribute("Odd \"name\"", Type::Int)
        .event("login", EventSchema::new().property("device", Type::String))
        .build()
        .unwrap()
}

fn at() -> Now {
    Now::At(Timestamp::parse("2026-11-24T09:00:00Z").unwrap())
}

fn sql(source: &str, options: &Options) -> Result<String, SqlError> {
    compile(source, &schema(), options)
}

fn code(error: SqlError) -> &'static str {
    match error {
        SqlError::Refused(refusal) => refusal.code,
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn a_verdict_per_profile_or_the_audience() {
    let options = Options::new(Dialect::Postgres, at());
    let all = sql("plan = 'pro'", &options).unwrap();
    assert!(all.ends_with(r#"AS "verdict" FROM "users" AS u"#), "{all}");
    let audience = sql("plan = 'pro'", &options.clone().audience(true)).unwrap();
    let last = audience.lines().last().unwrap();
    assert!(
        last.starts_with(r#"SELECT u."id" AS "id" FROM "users" AS u WHERE"#),
        "{last}"
    );
}

#[test]
fn identifiers_are_quoted_and_tables_qualified() {
    let options = Options::new(Dialect::DuckDb, at()).schema("seg\"ment");
    let text = sql("`Odd \"name\"` > 1 AND exists(login)", &options).unwrap();
    assert!(text.contains(r#"u."Odd ""name""""#), "{text}");
    assert!(text.contains(r#"FROM "seg""ment"."login" AS e"#), "{text}");
    assert!(text.contains(r#"FROM "seg""ment"."users" AS u"#), "{text}");
}

#[test]
fn string_literals_are_escaped_for_each_dialect() {
    let source = r#"plan = 'it''s \\ here'"#;
    let source = source.replace("''", "\\'");
    let pg = sql(&source, &Options::new(Dialect::Postgres, at())).unwrap();
    assert!(pg.contains(r"E'it\'s \\ here'"), "{pg}");
    let duck = sql(&source, &Options::new(Dialect::DuckDb, at())).unwrap();
    assert!(duck.contains(r"'it''s \ here'"), "{duck}");
    let ch = sql(&source, &Options::new(Dialect::ClickHouse, at())).unwrap();
    assert!(ch.contains(r"'it\'s \\ here'"), "{ch}");
    let spark = sql(&source, &Options::new(Dialect::Spark, at())).unwrap();
    assert!(spark.contains(r"'it\'s \\ here'"), "{spark}");
}

#[test]
fn now_is_a_literal_or_the_first_parameter() {
    let literal = sql(
        "exists(login WITHIN 1d)",
        &Options::new(Dialect::Postgres, at()),
    )
    .unwrap();
    assert!(literal.contains("1795510800000000"), "{literal}");
    assert!(!literal.contains("now()") && !literal.contains("CURRENT_TIMESTAMP"));
    let bound = sql(
        "exists(login WITHIN 1d)",
        &Options::new(Dialect::Postgres, Now::Parameter),
    )
    .unwrap();
    let body = bound.lines().last().unwrap();
    assert_eq!(body.matches("$1").count(), 1, "{bound}");
    assert!(
        bound.contains("EXTRACT(EPOCH FROM nextbest_now.\"now\")"),
        "{bound}"
    );
    // Bound even where the trigger never reads `now`.
    let timeless = sql(
        "plan = 'pro'",
        &Options::new(Dialect::DuckDb, Now::Parameter),
    )
    .unwrap();
    assert!(timeless.contains("CAST($1 AS TIMESTAMPTZ)"), "{timeless}");
}

#[test]
fn string_order_never_depends_on_the_default_collation() {
    for dialect in [Dialect::Postgres, Dialect::DuckDb] {
        let text = sql("plan < 'b'", &Options::new(dialect, at())).unwrap();
        assert_eq!(text.matches(r#"COLLATE "C""#).count(), 2, "{text}");
    }
}

#[test]
fn refusals_name_the_construct_and_the_dialect() {
    let floats = Schema::builder()
        .event("buy", EventSchema::new().property("amount", Type::Float))
        .build()
        .unwrap();
    let duck = Options::new(Dialect::DuckDb, at());
    let error = compile("sum(buy.amount) > 1.0", &floats, &duck).unwrap_err();
    assert_eq!(
        error.to_string(),
        "error[S0301]: `sum(…) of a float property` cannot be compiled to duckdb SQL exactly: \
         the engine adds floats one rounding at a time in an order of its own; nextbest adds \
         them exactly and rounds once"
    );
    for dialect in [Dialect::ClickHouse, Dialect::Spark] {
        let bound = Options::new(dialect, Now::Parameter);
        let error = sql("plan = 'pro'", &bound).unwrap_err();
        assert!(
            error.to_string().contains(&format!("to {dialect} SQL")),
            "{error}"
        );
        assert_eq!(code(error), "S0002");
    }
    let lists = Schema::builder()
        .attribute("tags", Type::List(Box::new(Type::String)))
        .attribute("zone", Type::String)
        .attribute("seen", Type::Timestamp)
        .build()
        .unwrap();
    let ch = Options::new(Dialect::ClickHouse, at());
    let error = compile("tags CONTAINS 'a'", &lists, &ch).unwrap_err();
    assert_eq!(code(error), "S0106");
    let error = compile("hour_of_day(seen, zone) > 8", &lists, &ch).unwrap_err();
    assert_eq!(code(error), "S0303");
    assert!(compile("hour_of_day(seen, 'Europe/Berlin') > 8", &lists, &ch).is_ok());
}

#[test]
fn clickhouse_joins_each_aggregate_instead_of_correlating() {
    let options = Options::new(Dialect::ClickHouse, at());
    let text = sql(
        "count(login WHERE device = plan WITHIN 7d) > 1 AND last(login).device = 'ios'",
        &options,
    )
    .unwrap();
    let body = text.lines().last().unwrap();
    assert!(
        body.starts_with(r#"SELECT u."id" AS "id", CAST("#),
        "{body}"
    );
    assert_eq!(body.matches("LEFT JOIN (SELECT").count(), 2, "{body}");
    assert_eq!(body.matches("GROUP BY").count(), 2, "{body}");
    // No subquery reads the outer row: each joins `users` itself.
    assert_eq!(
        body.matches(r#"INNER JOIN "users" AS u"#).count(),
        2,
        "{body}"
    );
    assert!(
        !body.contains("(SELECT count") && !body.contains("LIMIT"),
        "{body}"
    );
    assert!(
        body.ends_with(
            "SETTINGS join_use_nulls = 1, cast_keep_nullable = 1, precise_float_parsing = 1"
        ),
        "{body}"
    );
    let audience = sql("exists(login)", &options.clone().audience(true)).unwrap();
    assert!(
        audience.contains(r#" WHERE CAST((coalesce(j"#),
        "{audience}"
    );
}

#[test]
fn spark_joins_each_aggregate_binds_by_lambdas_and_quotes_with_backquotes() {
    let options = Options::new(Dialect::Spark, at());
    let text = sql(
        "count(login WHERE device = plan WITHIN 7d) > 1 AND last(login).device IN ('ios', 'web')",
        &options,
    )
    .unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert!(
        header.starts_with("-- nextbest trigger for spark at 2026-11-24T09:00:00Z")
            && header.ends_with(super::emit::SPARK_NEEDS),
        "{header}"
    );
    assert!(
        body.starts_with("SELECT u.`id` AS `id`, ") && !body.contains('"'),
        "{body}"
    );
    assert!(
        body.contains("AS `verdict` FROM `users` AS u LEFT JOIN (SELECT"),
        "{body}"
    );
    assert_eq!(body.matches("LEFT JOIN (SELECT").count(), 2, "{body}");
    // No subquery reads the outer row: each joins `users` itself.
    assert_eq!(body.matches("INNER JOIN `users` AS u").count(), 2, "{body}");
    assert_eq!(body.matches("(SELECT").count(), 2, "{body}");
    assert!(body.contains("max_by(struct("), "{body}");
    // The value `IN` tests twice is bound once, by a lambda.
    assert!(body.contains("transform(array(j"), "{body}");
    assert_eq!(body.matches("COLLATE UTF8_BINARY").count(), 6, "{body}");
    let audience = sql("exists(login)", &options.clone().audience(true)).unwrap();
    assert!(
        audience.ends_with(" WHERE (coalesce(j2.a, 0) > 0)"),
        "{audience}"
    );
    let tables = create_tables(&schema(), &options.schema("seg`ment")).unwrap();
    assert_eq!(
        tables,
        [
            r#"CREATE TABLE `seg``ment`.`users` (`id` STRING NOT NULL, `plan` STRING, `Odd "name"` BIGINT)"#,
            "CREATE TABLE `seg``ment`.`login` (`user_id` STRING NOT NULL, `timestamp` TIMESTAMP_LTZ NOT NULL, `seq` BIGINT NOT NULL, `device` STRING)",
        ]
    );
}

#[test]
fn journey_state_is_not_in_the_warehouse() {
    let schema = schema();
    let ast = syntax::parse("journey.entered_at < now()").unwrap();
    let checked = check::check(
        &ast,
        &schema,
        &Limits::default(),
        Context { journey: true },
        Some(Expected::Bool),
    )
    .unwrap();
    let error = statement(&checked, &schema, &Options::new(Dialect::Postgres, at())).unwrap_err();
    assert_eq!(code(error), "S0101");
}

#[test]
fn names_the_layout_takes_are_refused() {
    let with_id = Schema::builder()
        .attribute("id", Type::Int)
        .build()
        .unwrap();
    let error = compile("id > 1", &with_id, &Options::new(Dialect::DuckDb, at())).unwrap_err();
    assert_eq!(code(error), "S0103");
    let with_seq = Schema::builder()
        .event("e", EventSchema::new().property("seq", Type::Int))
        .build()
        .unwrap();
    let error = create_tables(&with_seq, &Options::new(Dialect::Postgres, at())).unwrap_err();
    assert_eq!(code(error), "S0103");
}

#[test]
fn a_trigger_that_does_not_check_is_invalid() {
    let error = sql("plna = 'pro'", &Options::new(Dialect::Postgres, at())).unwrap_err();
    assert!(matches!(error, SqlError::Invalid(_)), "{error}");
    assert!(error.to_string().contains("E0201"), "{error}");
    let error = sql("length(plan)", &Options::new(Dialect::Postgres, at())).unwrap_err();
    assert!(matches!(error, SqlError::Invalid(_)), "{error}");
}

#[test]
fn the_tables_of_the_layout() {
    let tables = create_tables(&schema(), &Options::new(Dialect::Postgres, at())).unwrap();
    assert_eq!(
        tables,
        [
            r#"CREATE TABLE "users" ("id" TEXT NOT NULL, "plan" TEXT, "Odd ""name""" BIGINT)"#,
            r#"CREATE TABLE "login" ("user_id" TEXT NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL, "seq" BIGINT NOT NULL, "device" TEXT)"#,
        ]
    );
}

#[test]
fn dialect_names_round_trip() {
    for dialect in Dialect::ALL {
        assert_eq!(dialect.name().parse::<Dialect>(), Ok(dialect));
    }
    assert!("mysql".parse::<Dialect>().is_err());
}
