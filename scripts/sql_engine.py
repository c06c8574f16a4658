"""Runs one batch of the SQL differential test in an embedded engine.

Usage: python sql_engine.py ENGINE JOB.json OUT.json, ENGINE one of duckdb,
clickhouse (chDB, the embedded ClickHouse).
JOB.json is {"setup": [sql...], "queries": [sql...], "parameters": [...]}:
the setup statements run once (tables and data), then each query with the
parameters bound ($1, ...), in one session; OUT.json gets
one entry per query, {"rows": [[id, verdict], ...]} or {"error": text}.
The session is set to an unusual time zone (and in DuckDB a
case-insensitive default collation), so that a statement that depended on
either would be caught. ClickHouse takes no positional parameters.
"""
import json
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


def main():
    engine, job_path, out_path = sys.argv[1:4]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    run = {"duckdb": duckdb_session, "clickhouse": clickhouse_session}[engine]()
    for statement in job["setup"]:
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


if __name__ == "__main__":
    main()
