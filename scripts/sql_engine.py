"""Runs one batch of the SQL differential test in an embedded engine.

Usage: python sql_engine.py ENGINE JOB.json OUT.json, ENGINE one of duckdb,
clickhouse (chDB, the embedded ClickHouse); or python sql_engine.py
spark-serve, which starts Spark SQL (pyspark, local mode) once and then runs
the job named by each line of its standard input (`JOB.json OUT.json`),
answering each with a line `nextbest-done` on its standard output: the JVM
takes seconds to start, so one answers every job of a test run. python
sql_engine.py spark-shell DIRECTORY runs statements a user's way over the
tables `sql_load.py spark` wrote (see `spark_shell`).
JOB.json is {"setup": [sql...], "queries": [sql...], "parameters": [...]}:
the setup statements run once (tables and data), then each query with the
parameters bound ($1, ...), in one session; OUT.json gets
one entry per query, {"rows": [[id, verdict], ...]} or {"error": text}.
The session is set to an unusual time zone (and in DuckDB a
case-insensitive default collation), so that a statement that depended on
either would be caught. ClickHouse and Spark take no positional parameters.
Spark runs each job in a session of its own (its own database and
settings): ANSI mode on, as the statements require, and the JVM in a
Turkish locale, where a case mapping that followed the locale would differ.
"""
import json
import re
import sys


def duckdb_session():
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Pacific/Kiritimati'")
    con.execute("SET default_collation = 'nocase'")

    def run(sql, parameters=()):
        return con.execute(sql, list(parameters)).fetchall() if parameters else con.execute(sql).fetchall()

    return run


def clickhouse_session():
    import chdb.session

    session = chdb.session.Session()
    session.query("SET session_timezone = 'Pacific/Kiritimati'")

    def run(sql, parameters=()):
        if parameters:
            raise ValueError("ClickHouse statements take no positional parameters")
        text = session.query(sql, "JSONCompactEachRow").bytes().decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    return run


def spark(app, settings=()):
    """Spark SQL in local mode (pyspark), bound to the loopback interface:
    the JVM takes seconds to start, so a caller keeps it for many jobs."""
    import logging
    import os

    from pyspark.sql import SparkSession

    # The driver listens on the loopback interface, not the host's address.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    logging.getLogger("py4j").setLevel(logging.ERROR)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
    )
    for key, value in settings:
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF")
    return session


def spark_sessions(warehouse):
    """A function that gives a fresh Spark session (one JVM for them all)."""
    locale = "-Duser.language=tr -Duser.country=TR"
    base = spark("nextbest-sql", [
        ("spark.sql.warehouse.dir", warehouse),
        ("spark.driver.extraJavaOptions", locale),
        ("spark.executor.extraJavaOptions", locale),
    ])
    count = [0]

    def fresh():
        count[0] += 1
        session = base.newSession()
        session.conf.set("spark.sql.ansi.enabled", "true")
        session.conf.set("spark.sql.session.timeZone", "Pacific/Kiritimati")
        database = f"nextbest_job_{count[0]}"
        session.sql(f"CREATE DATABASE {database}")
        session.sql(f"USE {database}")

        def run(sql, parameters=()):
            if parameters:
                raise ValueError("Spark statements take no positional parameters")
            return [tuple(row) for row in session.sql(sql).collect()]

        def close():
            session.sql(f"DROP DATABASE {database} CASCADE")

        return run, close

    return fresh


INSERT = re.compile(r"(INSERT INTO \S+ VALUES )(.*)", re.S)


def batched(statements):
    """The one-row INSERTs into each table as one statement, after the other
    statements (the tables): each statement is a job in Spark, which takes
    a tenth of a second."""
    others, rows = [], {}
    for statement in statements:
        match = INSERT.fullmatch(statement)
        if match:
            rows.setdefault(match.group(1), []).append(match.group(2))
        else:
            others.append(statement)
    return others + [head + ", ".join(values) for head, values in rows.items()]


def run_job(run, job_path, out_path, batch=False):
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    setup = batched(job["setup"]) if batch else job["setup"]
    for statement in setup:
        run(statement)
    results = []
    for query in job["queries"]:
        try:
            rows = run(query, job.get("parameters") or ())
            results.append({"rows": [[r[0], r[1]] for r in rows]})
        except Exception as error:  # the test reports it with the query
            results.append({"error": str(error)})
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f)
    return len(results)


def serve_spark():
    import shutil
    import tempfile
    import time

    started = time.monotonic()
    warehouse = tempfile.mkdtemp(prefix="nextbest-spark-")
    try:
        fresh = spark_sessions(warehouse)
        print(f"spark: the JVM started in {time.monotonic() - started:.1f} s", file=sys.stderr)
        for line in sys.stdin:
            if not line.strip():
                continue
            job_path, out_path = line.split()
            started = time.monotonic()
            run, close = fresh()
            try:
                count = run_job(run, job_path, out_path, batch=True)
            finally:
                close()
            print(f"spark: {count} queries answered in {time.monotonic() - started:.1f} s",
                  file=sys.stderr)
            print("nextbest-done", flush=True)
    finally:
        shutil.rmtree(warehouse, ignore_errors=True)


def spark_over(directory):
    """A Spark session (ANSI mode on, as the statements require, in UTC)
    where each Parquet table in `directory` is the table of its name."""
    import os

    session = spark("nextbest-shell")
    session.conf.set("spark.sql.ansi.enabled", "true")
    session.conf.set("spark.sql.session.timeZone", "UTC")
    for table in sorted(os.listdir(directory)):
        path = os.path.join(directory, table).replace("\\", "\\\\").replace("'", "\\'")
        session.sql(f"CREATE TEMPORARY VIEW `{table}` USING parquet OPTIONS (path '{path}')")
    return session


def spark_time(directory):
    """For scripts/sql-bench.sh: each statement (one JSON string a line)
    run twice in one JVM; prints the second run's row count and seconds,
    so that the JVM's start is not timed."""
    import time

    session = spark_over(directory)
    for line in sys.stdin:
        if not line.strip():
            continue
        statement = json.loads(line)
        session.sql(statement).collect()
        start = time.perf_counter()
        rows = session.sql(statement).collect()
        print(len(rows), f"{time.perf_counter() - start:.2f}", flush=True)


def spark_shell(directory):
    """The tables `sql_load.py spark` wrote into `directory`, each read as
    the table of its name, in a session with ANSI mode on (as the
    statements require) in UTC; then one JSON-encoded statement a line,
    answered with its rows as `value|value` lines and `nextbest-done`."""
    session = spark_over(directory)
    for line in sys.stdin:
        if not line.strip():
            continue
        for row in session.sql(json.loads(line)).collect():
            print("|".join("" if v is None else str(v) for v in row))
        print("nextbest-done", flush=True)


def main():
    if sys.argv[1] == "spark-serve":
        serve_spark()
        return
    if sys.argv[1] == "spark-shell":
        spark_shell(sys.argv[2])
        return
    if sys.argv[1] == "spark-time":
        spark_time(sys.argv[2])
        return
    engine, job_path, out_path = sys.argv[1:4]
    run = {"duckdb": duckdb_session, "clickhouse": clickhouse_session}[engine]()
    run_job(run, job_path, out_path)


if __name__ == "__main__":
    main()
