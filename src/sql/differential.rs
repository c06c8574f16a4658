//! The differential test of the SQL stage: random well-typed triggers (the
//! evaluator's own generator, `compile::tests::expr`: every operator,
//! function and aggregate, NULLs, extreme integers, non-ASCII strings,
//! events on window edges and after `now`) over random profiles
//! (`compile::tests::random_profile`), loaded into each engine in the layout
//! of SPEC §8; the statement's verdict must equal the evaluator's for every
//! profile. Each engine runs as one session: the data loaded once, then
//! every statement.
//!
//! PostgreSQL runs as the throwaway cluster of the history tests
//! (`tests/common/pg.rs`), in a database whose default collation is ICU
//! `en-US` and a session in the zone `Pacific/Kiritimati`; DuckDB through
//! its Python package in `.venv-sql/` (`scripts/sql-engines.sh`), with a
//! case-insensitive default collation and the same zone. Without DuckDB the
//! test fails when `CI` is set and is skipped, saying why, elsewhere.
//!
//! Spark SQL runs through pyspark in `.venv-sql/`
//! (`scripts/sql-engines-spark.sh`), one JVM for its three suites, each in
//! a session of its own in the zone `Pacific/Kiritimati`, the JVM in a
//! Turkish locale; missing, it fails or is skipped as DuckDB is.
//!
//! `NEXTBEST_SQL_EXPRESSIONS` (default 300, 150 for Spark) and `NEXTBEST_SQL_PROFILES`
//! (default 100) set the size, `NEXTBEST_SQL_SEED` another draw; the report per dialect is printed (run with
//! `--nocapture` to read it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{Dialect, Now, Options, SqlError};
use crate::check::Checked;
use crate::compile::Program;
use crate::compile::tests::{Gen, NOW, Scope, T, compile, expr, random_profile, schema};
use crate::profile::Profile;
use crate::schema::Schema;
use crate::value::{Timestamp, Value};

struct Case {
    source: String,
    checked: Checked,
    program: Program,
}

fn size(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn case(source: String, schema: &Schema) -> Case {
    let (checked, program) = compile(&source, schema);
    Case {
        source,
        checked,
        program,
    }
}

fn random_cases(schema: &Schema, count: usize) -> Vec<Case> {
    let mut g = Gen(size("NEXTBEST_SQL_SEED", 0x5eed_0015) as u64);
    (0..count)
        .map(|_| {
            let depth = 1 + g.below(4) as u32;
            case(expr(&mut g, T::B, depth, Scope::Profile), schema)
        })
        .collect()
}

fn random_profiles(schema: &Schema, count: usize) -> Vec<Profile> {
    let seed = std::env::var("NEXTBEST_SQL_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let mut g = Gen(seed.map_or(0x0015_0015, |s| s ^ 0x9e37_79b9_7f4a_7c15));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    // Ids come from a range of 1000: draw until `count` distinct ones.
    while out.len() < count && seen.len() < 1000 {
        let profile = random_profile(&mut g, schema);
        if seen.insert(profile.id().to_owned()) {
            out.push(profile);
        }
    }
    out
}

fn options(dialect: Dialect) -> Options {
    Options::new(dialect, Now::At(Timestamp::from_micros(NOW)))
}

/// `NOW` as the text a bind parameter `$1` gets.
fn now_text() -> String {
    Timestamp::from_micros(NOW).to_string()
}

/// The tables and rows of `profiles`, as statements for `dialect`.
fn load(dialect: Dialect, schema: &Schema, profiles: &[Profile]) -> Vec<String> {
    let options = options(dialect);
    let mut statements = super::create_tables(schema, &options).unwrap();
    let literal = |v: &Value, ty| super::emit::column_literal(v, ty, &options, schema).unwrap();
    let id = |p: &Profile| literal(&Value::from(p.id()), &crate::schema::Type::String);
    for profile in profiles {
        let mut row = vec![id(profile)];
        for (slot, (_, ty)) in schema.attributes().enumerate() {
            row.push(literal(profile.attribute_slot(slot), ty));
        }
        statements.push(format!(
            "INSERT INTO {} VALUES ({})",
            super::emit::table_name("users", &options, schema),
            row.join(", ")
        ));
        for (index, (event, properties)) in schema.events().enumerate() {
            let Some(columns) = profile.events_of(index) else {
                continue;
            };
            for (seq, at) in columns.timestamps.iter().enumerate() {
                let mut row = vec![
                    id(profile),
                    literal(
                        &Value::Timestamp(Timestamp::from_micros(*at)),
                        &crate::schema::Type::Timestamp,
                    ),
                    seq.to_string(),
                ];
                for (slot, (_, ty)) in properties.properties().enumerate() {
                    let value = columns
                        .properties
                        .get(slot)
                        .and_then(|c| c.get(seq))
                        .cloned()
                        .unwrap_or(Value::Null);
                    row.push(literal(&value, ty));
                }
                statements.push(format!(
                    "INSERT INTO {} VALUES ({})",
                    super::emit::table_name(event, &options, schema),
                    row.join(", ")
                ));
            }
        }
    }
    statements
}

/// What an engine answered for one statement: `(id, verdict)` rows, or its
/// error.
type Answer = Result<Vec<(String, Option<bool>)>, String>;

#[derive(Default)]
struct Report {
    expressions: usize,
    refused: BTreeMap<String, usize>,
    pairs: usize,
    agreed: usize,
}

/// Compiles every case for `dialect`, runs the statements with `run` (one
/// session) and compares each verdict with the evaluator's.
fn differential(
    options: &Options,
    schema: &Schema,
    cases: &[Case],
    profiles: &[Profile],
    run: impl FnOnce(Vec<String>, Vec<String>) -> Vec<Answer>,
) -> Report {
    let dialect = options.dialect();
    let mut report = Report {
        expressions: cases.len(),
        ..Report::default()
    };
    let mut compiled = Vec::new();
    for case in cases {
        match super::statement(&case.checked, schema, options) {
            Ok(sql) => compiled.push((case, sql)),
            Err(SqlError::Refused(refusal)) => {
                *report
                    .refused
                    .entry(format!("{} {}", refusal.code, refusal.construct))
                    .or_default() += 1;
            }
            Err(other) => panic!("{}: {other}", case.source),
        }
    }
    let answers = run(
        load(dialect, schema, profiles),
        compiled.iter().map(|(_, sql)| sql.clone()).collect(),
    );
    assert_eq!(answers.len(), compiled.len(), "one answer per statement");
    let now = Timestamp::from_micros(NOW);
    for ((case, sql), answer) in compiled.iter().zip(answers) {
        let rows: BTreeMap<String, Option<bool>> = match answer {
            Ok(rows) => rows.into_iter().collect(),
            Err(error) => panic!("{dialect} failed on `{}`:\n{error}\n{sql}", case.source),
        };
        assert_eq!(rows.len(), profiles.len(), "{dialect}: `{}`", case.source);
        for profile in profiles {
            let expected = case.program.truth(profile, now, None).to_option();
            let got = rows.get(profile.id()).copied().flatten();
            report.pairs += 1;
            assert_eq!(
                got,
                expected,
                "{dialect} disagrees with the evaluator on `{}` for profile {}:\n{profile:?}\n{sql}",
                case.source,
                profile.id()
            );
            report.agreed += 1;
        }
    }
    println!(
        "{dialect}: {} expressions, {} compiled, {} refused ({:.1} %): {:?}; {} pairs compared, {} agree",
        report.expressions,
        compiled.len(),
        report.expressions - compiled.len(),
        100.0 * (report.expressions - compiled.len()) as f64 / report.expressions.max(1) as f64,
        report.refused,
        report.pairs,
        report.agreed
    );
    report
}

/// Fewer than 5 % of the expressions refused, leaving out the refusals
/// whose code is in `expected` (constructs the dialect is known to lack).
fn assert_few_refused(report: &Report, expected: &[&str]) {
    let refused: usize = (report.refused.iter())
        .filter(|(reason, _)| !expected.iter().any(|code| reason.starts_with(code)))
        .map(|(_, n)| n)
        .sum();
    assert!(
        refused * 20 < report.expressions,
        "5 % or more refused: {:?}",
        report.refused
    );
}

/// The random triggers over the random profiles, in one session of `run`.
fn random_differential(
    options: &Options,
    expressions: usize,
    run: impl FnOnce(Vec<String>, Vec<String>) -> Vec<Answer>,
) -> Report {
    let schema = schema();
    let cases = random_cases(&schema, expressions);
    let profiles = random_profiles(&schema, size("NEXTBEST_SQL_PROFILES", 100));
    differential(options, &schema, &cases, &profiles, run)
}

fn expressions() -> usize {
    size("NEXTBEST_SQL_EXPRESSIONS", 300)
}

/// Edge cases (`edges` gives the triggers and the profiles), in one
/// session of `run`: none may be refused.
fn edge_differential(
    dialect: Dialect,
    edges: fn(&Schema) -> (Vec<Case>, Vec<Profile>),
    run: impl FnOnce(Vec<String>, Vec<String>) -> Vec<Answer>,
) {
    let schema = schema();
    let (cases, profiles) = edges(&schema);
    let report = differential(&options(dialect), &schema, &cases, &profiles, run);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
}

/// Float operands at the edges of the range: zeros, subnormals, the
/// thresholds of the engines' overflow and underflow, the largest finite.
const FLOAT_EDGES: [f64; 16] = [
    0.0,
    -0.0,
    5e-324,
    -1.5e-323,
    1e-300,
    1.1e-162,
    0.1,
    0.5,
    -1.0,
    3.0,
    1e150,
    1.3e154,
    1e300,
    8.98846567431158e307,
    f64::MAX,
    -f64::MAX,
];

/// Every pair of edge floats as `f1`, `f2`, and triggers that tell a NULL,
/// a zero and a value apart for each float operation and for rounding.
fn float_edges(schema: &Schema) -> (Vec<Case>, Vec<Profile>) {
    let mut profiles = Vec::new();
    for (i, a) in FLOAT_EDGES.iter().enumerate() {
        for (j, b) in FLOAT_EDGES.iter().enumerate() {
            let profile = Profile::builder(schema, format!("f-{i}-{j}"))
                .attribute("f1", *a)
                .attribute("f2", *b)
                .attribute("i1", [0i64, 1, -1, i64::MAX, i64::MIN, 7][(i + j) % 6])
                .attribute(
                    "d1",
                    crate::value::Duration::from_micros([1, -3, i64::MAX][j % 3]),
                )
                .build()
                .unwrap();
            profiles.push(profile);
        }
    }
    let mut sources = Vec::new();
    for op in ["+", "-", "*", "/"] {
        let e = format!("(f1 {op} f2)");
        for test in [
            format!("{e} IS NULL"),
            format!("{e} = 0.0"),
            format!("{e} > f1"),
            format!("{e} < f2"),
            format!("{e} > 1.0"),
            format!("{e} = f1"),
            format!("{e} * 0.5 > f2 * 0.5"),
        ] {
            sources.push(test);
        }
    }
    for digits in ["-300", "-1", "0", "2", "300", "308"] {
        let e = format!("round(f1, {digits})");
        sources.push(format!("{e} IS NULL"));
        sources.push(format!("{e} = f1"));
        sources.push(format!("{e} > f2"));
    }
    for e in ["round(f1)", "floor(f1)", "ceil(f1)", "abs(f1)", "-f1"] {
        sources.push(format!("{e} > f2"));
        sources.push(format!("{e} = f1"));
    }
    for e in [
        "i1 = f1",
        "i1 < f2",
        "f1 >= i1",
        "i1 IN (f1, f2)",
        "(i1 / f1) > 1.0",
        "(d1 * f1) > 1s",
        "(d1 / f2) < 0s",
    ] {
        sources.push(e.to_owned());
    }
    let cases = sources.into_iter().map(|s| case(s, schema)).collect();
    (cases, profiles)
}

/// Text whose case mapping is not one code point to one: special casing,
/// Final_Sigma in its contexts, titlecase, ligatures, scripts cased only
/// in recent Unicode versions.
const CASE_EDGES: [&str; 38] = [
    // A word-final lowercase σ: found in review, a `= 'Σ'` test took it for
    // Σ under a case-insensitive default collation.
    "aσ",
    "Aσ.",
    "straße",
    "ẞ",
    "İstanbul",
    "i\u{307}",
    "ΣΑΣ",
    "ΑΣ",
    "Σ",
    "aΣ",
    "ΑΣ'",
    "Α'Σ",
    "ΑΣ.Α",
    "ΑΣΑ",
    "ΣΣ",
    "Σ\u{308}",
    "ΑΣ\u{308}",
    "Α\u{308}Σ",
    "σς",
    "ﬃ",
    "ǅ",
    "ǈ",
    "ŉ",
    "ΐ",
    "\u{1F70}\u{345}",
    "ᾼ",
    "ǰ",
    "ẖ",
    "ﬓ",
    "K",
    "Å",
    "Ω",
    "𐐀",
    "ꞵ",
    "ᲀ",
    "Ꭰ",
    "ꭰ",
    "ა",
];

/// Each edge text as `s1`, with the evaluator's lowercase as `s2` and
/// uppercase as `zone`: `lower(s1) = s2` and `upper(s1) = zone` must hold.
fn case_edges(schema: &Schema) -> (Vec<Case>, Vec<Profile>) {
    let profiles = CASE_EDGES
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Profile::builder(schema, format!("c-{i}"))
                .attribute("s1", *text)
                .attribute("s2", text.to_lowercase())
                .attribute("zone", text.to_uppercase())
                .build()
                .unwrap()
        })
        .collect();
    let sources = [
        "lower(s1) = s2",
        "upper(s1) = zone",
        "length(lower(s1)) = length(s2) AND length(upper(s1)) = length(zone)",
        "lower(upper(s1)) = lower(zone)",
    ];
    let cases = sources
        .iter()
        .map(|s| case(s.to_string(), schema))
        .collect();
    (cases, profiles)
}

/// Instants where zones' rules differ from their current ones (before
/// 1968, when `MST` was still Phoenix's own rules) or change that day.
const ZONE_INSTANTS: [&str; 7] = [
    "1900-01-01T12:00:00Z",
    "1940-01-01T12:00:00Z",
    "1967-07-01T12:00:00Z",
    "1975-01-01T09:30:00Z",
    "2026-03-29T01:30:00Z",
    "2026-11-01T06:30:00Z",
    "2026-11-24T23:45:00Z",
];

/// Zones whose names an engine could read otherwise: `EST`, `MST` and
/// `HST` are tzdb links to Panama, Phoenix and Honolulu, but fixed offsets
/// to the JVM (`ZoneId.SHORT_IDS`); zones with half and quarter hours,
/// with summer time, and at the date line.
const ZONE_NAMES: [&str; 10] = [
    "EST",
    "MST",
    "HST",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "UTC",
];

/// Every instant in every zone as `t1` and `zone`, with the local hour and
/// ISO weekday chrono-tz gives as `i1` and `i2`: the statements must agree,
/// with the zone read from the data and written as a literal.
fn zone_edges(schema: &Schema) -> (Vec<Case>, Vec<Profile>) {
    use chrono::{Datelike, Timelike};
    let mut profiles = Vec::new();
    for (i, instant) in ZONE_INSTANTS.iter().enumerate() {
        let at = Timestamp::parse(instant).unwrap();
        let utc = chrono::DateTime::from_timestamp_micros(at.as_micros()).unwrap();
        for (j, name) in ZONE_NAMES.iter().enumerate() {
            let local = utc.with_timezone(&name.parse::<chrono_tz::Tz>().unwrap());
            let profile = Profile::builder(schema, format!("z-{i}-{j}"))
                .attribute("t1", at)
                .attribute("zone", *name)
                .attribute("i1", i64::from(local.hour()))
                .attribute("i2", i64::from(local.weekday().number_from_monday()))
                .build()
                .unwrap();
            profiles.push(profile);
        }
    }
    let mut sources = vec![
        "hour_of_day(t1, zone) = i1".to_owned(),
        "day_of_week(t1, zone) = i2".to_owned(),
    ];
    for name in ZONE_NAMES {
        sources.push(format!(
            "zone <> '{name}' OR (hour_of_day(t1, '{name}') = i1 AND day_of_week(t1, '{name}') = i2)"
        ));
    }
    let cases = sources.into_iter().map(|s| case(s, schema)).collect();
    (cases, profiles)
}

#[cfg(feature = "postgres")]
#[path = "../../tests/common/pg.rs"]
#[allow(missing_docs, unreachable_pub)]
mod pg;

/// Runs a job in a fresh database of the test cluster whose default
/// collation is ICU `en-US` (under which `'B' < 'a'` is false), in a session
/// in the zone `Pacific/Kiritimati`: the statements must depend on neither.
#[cfg(feature = "postgres")]
fn run_in_postgres(
    name: &str,
    now_parameter: bool,
    setup: Vec<String>,
    queries: Vec<String>,
) -> Vec<Answer> {
    let cluster = pg::cluster();
    let mut admin = postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test cluster: {e}"));
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        ))
        .unwrap_or_else(|e| panic!("creating the database: {e:?}"));
    let mut client = postgres::Client::connect(&cluster.url(name), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting: {e}"));
    client
        .batch_execute("SET TimeZone = 'Pacific/Kiritimati'")
        .unwrap();
    client.batch_execute(&setup.join(";\n")).unwrap();
    queries
        .iter()
        .map(|q| {
            let now = std::time::UNIX_EPOCH + std::time::Duration::from_micros(NOW as u64);
            let parameters: &[&(dyn postgres::types::ToSql + Sync)] =
                if now_parameter { &[&now] } else { &[] };
            client
                .query(q.as_str(), parameters)
                .map(|rows| {
                    rows.iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, Option<bool>>(1)))
                        .collect()
                })
                .map_err(|e| format!("{e:?}"))
        })
        .collect()
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_agrees_with_the_evaluator() {
    let report = random_differential(
        &options(Dialect::Postgres),
        expressions(),
        |setup, queries| run_in_postgres("nextbest_sql_random", false, setup, queries),
    );
    assert_few_refused(&report, &[]);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_float_edges_agree_with_the_evaluator() {
    edge_differential(Dialect::Postgres, float_edges, |setup, queries| {
        run_in_postgres("nextbest_sql_floats", false, setup, queries)
    });
}

#[path = "../../tests/common/engines.rs"]
mod engines;
use engines::python_with as engine_python;

/// A scratch directory for one job of `engine`: `job.json` and `out.json`.
fn job_dir(engine: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("nextbest-sql-{engine}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the job `scripts/sql_engine.py` reads into `dir`.
fn write_job(
    dir: &std::path::Path,
    parameters: &[String],
    setup: Vec<String>,
    queries: Vec<String>,
) {
    let text = serde_json::json!({ "setup": setup, "queries": queries, "parameters": parameters })
        .to_string();
    std::fs::write(dir.join("job.json"), text).unwrap();
}

/// The answers `scripts/sql_engine.py` wrote into `dir`, which is removed.
fn read_answers(dir: &std::path::Path) -> Vec<Answer> {
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r.get("rows") {
            Some(rows) => Ok(rows
                .as_array()
                .unwrap()
                .iter()
                .map(|row| (row[0].as_str().unwrap().to_owned(), row[1].as_bool()))
                .collect()),
            None => Err(r["error"].as_str().unwrap_or_default().to_owned()),
        })
        .collect()
}

fn engine_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/sql_engine.py")
}

/// Runs a job through `scripts/sql_engine.py`: one session of `engine`.
fn run_in_python(
    python: &PathBuf,
    engine: &str,
    parameters: &[String],
    setup: Vec<String>,
    queries: Vec<String>,
) -> Vec<Answer> {
    let dir = job_dir(engine);
    write_job(&dir, parameters, setup, queries);
    let status = std::process::Command::new(python)
        .arg(engine_script())
        .arg(engine)
        .arg(dir.join("job.json"))
        .arg(dir.join("out.json"))
        .status()
        .unwrap();
    assert!(status.success(), "{engine} runner failed: {status}");
    read_answers(&dir)
}

/// One Spark SQL (pyspark in local mode, `sql_engine.py spark-serve`) for
/// every job of a test: its JVM takes seconds to start. Each job runs in a
/// fresh session of its own.
struct Spark(engines::Server);

impl Spark {
    fn start(python: &std::path::Path) -> Spark {
        let script = engine_script();
        let script = script.to_str().unwrap();
        Spark(engines::Server::start(python, &[script, "spark-serve"]))
    }

    fn run(&mut self, setup: Vec<String>, queries: Vec<String>) -> Vec<Answer> {
        let dir = job_dir("spark");
        write_job(&dir, &[], setup, queries);
        let (job, out) = (dir.join("job.json"), dir.join("out.json"));
        self.0.ask(&format!("{} {}", job.display(), out.display()));
        read_answers(&dir)
    }
}

#[test]
fn duckdb_agrees_with_the_evaluator() {
    let Some(python) = engine_python("duckdb") else {
        return;
    };
    let report = random_differential(
        &options(Dialect::DuckDb),
        expressions(),
        |setup, queries| run_in_python(&python, "duckdb", &[], setup, queries),
    );
    assert_few_refused(&report, &[]);
}

#[test]
fn duckdb_float_edges_agree_with_the_evaluator() {
    let Some(python) = engine_python("duckdb") else {
        return;
    };
    edge_differential(Dialect::DuckDb, float_edges, |setup, queries| {
        run_in_python(&python, "duckdb", &[], setup, queries)
    });
}

/// `now` as the statement's parameter `$1` (the library's prepared form),
/// bound to the instant in each engine's own client.
#[cfg(feature = "postgres")]
#[test]
fn postgres_with_now_as_a_parameter_agrees_with_the_evaluator() {
    let options = Options::new(Dialect::Postgres, Now::Parameter);
    let report = random_differential(&options, 60, |setup, queries| {
        run_in_postgres("nextbest_sql_parameter", true, setup, queries)
    });
    assert_few_refused(&report, &[]);
}

#[test]
fn duckdb_with_now_as_a_parameter_agrees_with_the_evaluator() {
    let Some(python) = engine_python("duckdb") else {
        return;
    };
    let options = Options::new(Dialect::DuckDb, Now::Parameter);
    let report = random_differential(&options, 60, |setup, queries| {
        run_in_python(&python, "duckdb", &[now_text()], setup, queries)
    });
    assert_few_refused(&report, &[]);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_case_mapping_agrees_with_the_evaluator() {
    edge_differential(Dialect::Postgres, case_edges, |setup, queries| {
        run_in_postgres("nextbest_sql_case", false, setup, queries)
    });
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_local_times_agree_with_the_evaluator() {
    edge_differential(Dialect::Postgres, zone_edges, |setup, queries| {
        run_in_postgres("nextbest_sql_zone", false, setup, queries)
    });
}

#[test]
fn duckdb_local_times_agree_with_the_evaluator() {
    let Some(python) = engine_python("duckdb") else {
        return;
    };
    edge_differential(Dialect::DuckDb, zone_edges, |setup, queries| {
        run_in_python(&python, "duckdb", &[], setup, queries)
    });
}

#[test]
fn duckdb_case_mapping_agrees_with_the_evaluator() {
    let Some(python) = engine_python("duckdb") else {
        return;
    };
    edge_differential(Dialect::DuckDb, case_edges, |setup, queries| {
        run_in_python(&python, "duckdb", &[], setup, queries)
    });
}

/// The refusals ClickHouse is known to need: list values (its arrays
/// cannot be NULL) and local times in a computed zone.
const CLICKHOUSE_REFUSES: [&str; 2] = ["S0106", "S0303"];

#[test]
fn clickhouse_agrees_with_the_evaluator() {
    let Some(python) = engine_python("chdb") else {
        return;
    };
    let report = random_differential(
        &options(Dialect::ClickHouse),
        expressions(),
        |setup, queries| run_in_python(&python, "clickhouse", &[], setup, queries),
    );
    assert_few_refused(&report, &CLICKHOUSE_REFUSES);
}

#[test]
fn clickhouse_float_edges_agree_with_the_evaluator() {
    let Some(python) = engine_python("chdb") else {
        return;
    };
    edge_differential(Dialect::ClickHouse, float_edges, |setup, queries| {
        run_in_python(&python, "clickhouse", &[], setup, queries)
    });
}

#[test]
fn clickhouse_case_mapping_agrees_with_the_evaluator() {
    let Some(python) = engine_python("chdb") else {
        return;
    };
    edge_differential(Dialect::ClickHouse, case_edges, |setup, queries| {
        run_in_python(&python, "clickhouse", &[], setup, queries)
    });
}

/// The refusals Spark is known to need: an aggregate whose window reads the
/// enclosing aggregate's event (aggregates are joined, as in ClickHouse).
const SPARK_REFUSES: [&str; 1] = ["S0304"];

/// Spark SQL (pyspark, local mode): the random triggers, the float edges
/// and the case edges, in one JVM (each in a session of its own, in the
/// zone `Pacific/Kiritimati`, the JVM in a Turkish locale).
#[test]
fn spark_agrees_with_the_evaluator() {
    let Some(python) = engine_python("pyspark") else {
        return;
    };
    let mut spark = Spark::start(&python);
    // Fewer than the other dialects by default (each statement is a Spark
    // job, a third of a second): `NEXTBEST_SQL_EXPRESSIONS` sets the count.
    let expressions = size("NEXTBEST_SQL_EXPRESSIONS", 150);
    let report = random_differential(&options(Dialect::Spark), expressions, |setup, queries| {
        spark.run(setup, queries)
    });
    assert_few_refused(&report, &SPARK_REFUSES);
    edge_differential(Dialect::Spark, float_edges, |setup, queries| {
        spark.run(setup, queries)
    });
    edge_differential(Dialect::Spark, case_edges, |setup, queries| {
        spark.run(setup, queries)
    });
    edge_differential(Dialect::Spark, zone_edges, |setup, queries| {
        spark.run(setup, queries)
    });
}
