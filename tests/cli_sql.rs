//! `nextbest sql` driven as a user drives it (SPEC §8): the statement it
//! prints, run by the engine's own client over the bundled customers loaded
//! in the warehouse layout (`scripts/sql_load.py`), gives every customer
//! the verdict `nextbest eval` gives; and its errors and refusals.
//!
//! PostgreSQL is the test cluster of `tests/common/pg.rs`, its client
//! `psql`; DuckDB its Python package and ClickHouse chDB, both in
//! `.venv-sql/` (`scripts/sql-engines.sh`), and Spark SQL pyspark there too
//! (`scripts/sql-engines-spark.sh`): without them these tests fail when `CI`
//! is set and are skipped, saying why, elsewhere.
#![cfg(feature = "cli")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{CUSTOMERS, NOW, RULES, Scratch, nextbest, root, text};

/// The actions of the bundled rules that have a trigger, and expressions
/// that reach the rest of the language over the bundled data.
const ACTIONS: [&str; 5] = [
    "churn_email",
    "pricing_followup",
    "winback_email",
    "usage_tips_push",
    "upsell_email",
];
const EXPRESSIONS: [&str; 5] = [
    "count(page_view WITHIN 7d) > 2 OR last(purchase).amount > 50.0",
    "hour_of_day(last_login, timezone) BETWEEN 8 AND 20 AND country IN ('DE', 'JP', NULL)",
    "bucket(id, 'exp-1') < 50 AND NOT exists(support_ticket WHERE severity >= 2 WITHIN 30d)",
    "first(page_view WHERE path STARTS WITH '/pr').timestamp < now() - 3d",
    "max(support_ticket.severity SINCE last_login) >= 2 OR lifetime_value / login_count_60d > 90.0",
];

/// The same for ClickHouse, which takes a time zone only as a constant
/// (`S0303` for a computed one): the second names its zone.
const CLICKHOUSE_EXPRESSIONS: [&str; 5] = [
    EXPRESSIONS[0],
    "hour_of_day(last_login, 'Asia/Kolkata') BETWEEN 8 AND 20 AND country IN ('DE', 'JP', NULL)",
    EXPRESSIONS[2],
    EXPRESSIONS[3],
    EXPRESSIONS[4],
];

/// `nextbest eval`'s verdicts: `id\tverdict` lines, sorted.
fn evaluated(expr: &str) -> Vec<String> {
    let out = nextbest(
        &[
            "eval",
            RULES,
            "--expr",
            expr,
            "--now",
            NOW,
            "--profiles",
            CUSTOMERS,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// The statement `nextbest sql` prints for `trigger` (`--expr` or `--action`).
fn statement(dialect: &str, trigger: [&str; 2], extra: &[&str]) -> String {
    let mut args = vec!["sql", RULES, "--dialect", dialect, trigger[0], trigger[1]];
    args.extend_from_slice(&["--now", NOW]);
    args.extend_from_slice(extra);
    let out = nextbest(&args, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The trigger of an action of the bundled rules.
fn action_trigger(id: &str) -> String {
    let rules = nextbest::RuleSet::load(root().join(RULES)).unwrap();
    let action = rules.actions.iter().find(|a| a.id == id).unwrap();
    action.trigger.as_ref().unwrap().source().to_owned()
}

/// Rows `id|verdict` (`t`, `f` or empty) as `id\ttrue|false|null`, sorted.
fn as_eval_lines(rows: &str) -> Vec<String> {
    let mut lines: Vec<String> = rows
        .lines()
        .filter(|row| !row.is_empty())
        .map(|row| {
            let (id, verdict) = row.split_once('|').unwrap();
            let verdict = match verdict {
                "t" | "True" => "true",
                "f" | "False" => "false",
                "" | "None" => "null",
                other => panic!("not a verdict: {other}"),
            };
            format!("{id}\t{verdict}")
        })
        .collect();
    lines.sort();
    lines
}

fn load(python: &PathBuf, engine: &str, target: &str) {
    let status = Command::new(python)
        .arg(root().join("scripts/sql_load.py"))
        .args([engine, RULES, CUSTOMERS, target])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success(), "loading into {engine}: {status}");
}

/// Every action's trigger and every expression: the statement's verdicts
/// are `eval`'s, and the audience is the profiles where `eval` says true.
fn agree_with_eval(dialect: &str, expressions: &[&str], run: impl Fn(&str) -> String) {
    let mut triggers: Vec<(String, [&str; 2])> = Vec::new();
    for id in ACTIONS {
        triggers.push((action_trigger(id), ["--action", id]));
    }
    for &expr in expressions {
        triggers.push((expr.to_owned(), ["--expr", expr]));
    }
    for (source, trigger) in triggers {
        let expected = evaluated(&source);
        let verdicts = as_eval_lines(&run(&statement(dialect, trigger, &[])));
        assert_eq!(verdicts, expected, "{dialect}: `{source}`");
        let mut audience: Vec<String> = run(&statement(dialect, trigger, &["--audience"]))
            .lines()
            .filter(|row| !row.is_empty())
            .map(str::to_owned)
            .collect();
        audience.sort();
        let matching: Vec<String> = (expected.iter())
            .filter_map(|line| line.strip_suffix("\ttrue").map(str::to_owned))
            .collect();
        assert_eq!(audience, matching, "{dialect} audience: `{source}`");
    }
}

#[test]
fn postgres_statements_agree_with_eval_in_psql() {
    let cluster = common::pg::cluster();
    let conninfo = cluster.database("cli_sql");
    let python = root().join(".venv-sql/bin/python");
    let python = if python.exists() {
        python
    } else {
        PathBuf::from("python3")
    };
    load(&python, "postgres", &conninfo);
    agree_with_eval("postgres", &EXPRESSIONS, |sql| {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                &conninfo,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql: {}\n{sql}", text(&out.stderr));
        text(&out.stdout)
    });
}

#[test]
fn duckdb_statements_agree_with_eval() {
    let Some(python) = common::engines::python_with("duckdb") else {
        return;
    };
    let dir = Scratch::new("cli-sql-duckdb");
    let database = dir.file("customers.duckdb");
    let database = database.to_str().unwrap();
    load(&python, "duckdb", database);
    let script = "import duckdb, sys\n\
        con = duckdb.connect(sys.argv[1], read_only=True)\n\
        for row in con.execute(sys.stdin.read()).fetchall():\n    \
        print('|'.join('' if v is None else str(v) for v in row))\n";
    agree_with_eval("duckdb", &EXPRESSIONS, |sql| {
        run_script(&python, script, database, sql)
    });
}

/// Runs `python -c script database` with `sql` on its stdin: its stdout.
fn run_script(python: &PathBuf, script: &str, database: &str, sql: &str) -> String {
    let mut child = Command::new(python)
        .args(["-c", script, database])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n{sql}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn clickhouse_statements_agree_with_eval_in_chdb() {
    let Some(python) = common::engines::python_with("chdb") else {
        return;
    };
    let dir = Scratch::new("cli-sql-clickhouse");
    let database = dir.file("customers.chdb");
    let database = database.to_str().unwrap();
    load(&python, "clickhouse", database);
    let script = "import chdb.session, json, sys\n\
        session = chdb.session.Session(sys.argv[1])\n\
        out = session.query(sys.stdin.read(), 'JSONCompactEachRow').bytes().decode()\n\
        for line in out.splitlines():\n    \
        print('|'.join('' if v is None else str(v) for v in json.loads(line)))\n";
    agree_with_eval("clickhouse", &CLICKHOUSE_EXPRESSIONS, |sql| {
        run_script(&python, script, database, sql)
    });
}

#[test]
fn spark_statements_agree_with_eval_in_pyspark() {
    let Some(python) = common::engines::python_with("pyspark") else {
        return;
    };
    let dir = Scratch::new("cli-sql-spark");
    let tables = dir.file("tables");
    let tables = tables.to_str().unwrap();
    load(&python, "spark", tables);
    // One JVM (seconds to start) for every statement: `sql_engine.py
    // spark-shell` reads the tables as tables and runs what it is sent.
    let script = root().join("scripts/sql_engine.py");
    let script = script.to_str().unwrap();
    let shell = common::engines::Server::start(&python, &[script, "spark-shell", tables]);
    let shell = std::cell::RefCell::new(shell);
    agree_with_eval("spark", &EXPRESSIONS, |sql| {
        shell
            .borrow_mut()
            .ask(&serde_json::Value::from(sql).to_string())
    });
}

#[test]
fn one_statement_with_its_dependencies_stated() {
    let sql = statement(
        "postgres",
        ["--action", "churn_email"],
        &["--schema", "segment"],
    );
    assert!(
        sql.starts_with(
            "-- nextbest trigger for postgres at 2026-11-24T09:00:00Z: the same answer"
        ),
        "{sql}"
    );
    assert!(sql.contains(r#"FROM "segment"."users" AS u"#), "{sql}");
    assert_eq!(sql.matches(';').count(), 1, "{sql}");
    assert!(sql.trim_end().ends_with(';'));
}

#[test]
fn refusals_and_errors_exit_1_naming_what_and_where() {
    // (dialect, trigger flag, trigger, --now, exit code, what stderr says)
    let cases: [(&str, &str, &str, &str, i32, &str); 8] = [
        (
            "duckdb",
            "--expr",
            "sum(purchase.amount) > 100.0",
            NOW,
            1,
            "error[S0301]: `sum(…) of a float property` cannot be compiled to duckdb SQL exactly",
        ),
        (
            "postgres",
            "--action",
            "churn_emial",
            NOW,
            1,
            "no action `churn_emial`",
        ),
        (
            "postgres",
            "--action",
            "churn_push_incentive",
            NOW,
            1,
            "has no trigger",
        ),
        ("postgres", "--expr", "plna = 'x'", NOW, 1, "--> --expr:1:1"),
        (
            "spark",
            "--expr",
            "avg(purchase.amount) > 1.0",
            NOW,
            1,
            "error[S0301]: `avg(…) of a float property` cannot be compiled to spark SQL exactly",
        ),
        (
            "clickhouse",
            "--expr",
            "hour_of_day(last_login, timezone) > 8",
            NOW,
            1,
            "error[S0303]",
        ),
        (
            "mysql",
            "--expr",
            "TRUE",
            NOW,
            2,
            "unknown SQL dialect `mysql`",
        ),
        ("duckdb", "--expr", "TRUE", "yesterday", 1, "--now"),
    ];
    for (dialect, flag, trigger, now, code, says) in cases {
        let args = [
            "sql",
            RULES,
            "--dialect",
            dialect,
            flag,
            trigger,
            "--now",
            now,
        ];
        let out = nextbest(&args, None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = nextbest(&["sql", RULES, "--dialect", "duckdb", "--now", NOW], None);
    assert_eq!(out.status.code(), Some(2), "--expr or --action is required");
}
