#!/usr/bin/env bash
# The SQL benchmark of BENCHMARKS.md: an audience over N profiles (about
# 10 events each) computed by `nextbest eval` over JSON lines, and by
# DuckDB, PostgreSQL, ClickHouse (chDB) and Spark SQL (local mode) over the
# same data in the warehouse layout (SPEC §8), for a few triggers of
# examples/rules/classic.toml.
#
#   bash scripts/sql-bench.sh [N]        (default 1000000; needs ~5 GB of disk)
#   SQL_BENCH_ENGINES="duckdb clickhouse" bash scripts/sql-bench.sh [N]
#
# Data and databases go under target/sql-bench/. PostgreSQL is a throwaway
# cluster there (Debian's server binaries, run as `postgres` when root);
# DuckDB and chDB are the packages scripts/sql-engines.sh installs, pyspark
# the one of scripts/sql-engines-spark.sh. Loading is not timed; each query
# is run twice and the second run is reported: for DuckDB, PostgreSQL and
# chDB the wall time of a client process (connecting included), for Spark
# the statement alone in a JVM started once. The script fails unless every
# engine's audience has `eval`'s size.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
dir=${CARGO_TARGET_DIR:-target}/sql-bench
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rules=examples/rules/classic.toml
now=2026-11-24T09:00:00Z
python=.venv-sql/bin/python
bash scripts/sql-engines.sh >/dev/null
cargo build --release --quiet --features cli
nextbest=${CARGO_TARGET_DIR:-target}/release/nextbest

profiles=$dir/profiles-$n.jsonl
[ -s "$profiles" ] || python3 scripts/gen_profiles.py "$n" 10 "$profiles"
events=$(grep -o '"event":' "$profiles" | wc -l)
echo "data: $n profiles, $events events, $(du -h "$profiles" | cut -f1) of JSON lines"

engines=${SQL_BENCH_ENGINES:-duckdb postgres clickhouse spark}
uses() { [[ " $engines " == *" $1 "* ]]; }

duck=$dir/bench-$n.duckdb
[ -s "$duck" ] || "$python" scripts/sql_load.py duckdb "$rules" "$profiles" "$duck"

if uses postgres; then
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    pgdir=$dir/pg-$n
    if [ ! -d "$pgdir/data" ]; then
        mkdir -p "$pgdir" && [ "$(id -u)" != 0 ] || chown postgres "$pgdir"
        as_pg "$bin/initdb" -D "$pgdir/data" -E UTF8 --auth=trust -U postgres >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
        -o "-k $pgdir -c listen_addresses='' -c shared_buffers=2GB -c work_mem=256MB" start >/dev/null
    trap 'as_pg "$bin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null' EXIT
    conninfo="host=$pgdir user=postgres dbname=postgres"
    if ! psql -X -q -A -t "$conninfo" -c "SELECT 1 FROM users LIMIT 1" >/dev/null 2>&1; then
        "$python" scripts/sql_load.py postgres "$rules" "$profiles" "$conninfo"
    fi
fi

chdb_dir=$dir/bench-$n.chdb
if uses clickhouse && [ ! -d "$chdb_dir" ]; then
    "$python" scripts/sql_load.py clickhouse "$rules" "$profiles" "$chdb_dir"
fi

# Spark reads the DuckDB tables exported as Parquet (the same rows, much
# faster than through Python); one JVM times every statement (spark-time).
parquet=$dir/bench-$n.parquet
if uses spark; then
    bash scripts/sql-engines-spark.sh >/dev/null
    if [ ! -d "$parquet" ]; then
        mkdir -p "$parquet"
        "$python" - "$duck" "$parquet" <<'PY'
import duckdb, os, sys
con = duckdb.connect(sys.argv[1], read_only=True)
for (table,) in con.execute("SHOW TABLES").fetchall():
    name = '"' + table.replace('"', '""') + '"'
    path = os.path.join(sys.argv[2], table).replace("'", "''")
    con.execute(f"COPY (SELECT * FROM {name}) TO '{path}' (FORMAT parquet)")
PY
    fi
fi

seconds() { local start=$1; printf "%.2f" "$(echo "scale=3; ($(date +%s%N) - $start) / 1000000000" | bc)"; }
run_twice() { "$@" >/dev/null; local start; start=$(date +%s%N); "$@" > "$dir/out"; seconds "$start"; }

duckdb_query() {
    "$python" -c 'import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(sys.stdin.read()).fetchall()
print(len(rows))' "$duck" < "$1"
}
postgres_query() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$conninfo" -f "$1" | grep -c . || true; }
clickhouse_query() {
    "$python" -c 'import chdb.session, sys
session = chdb.session.Session(sys.argv[1])
out = session.query(sys.stdin.read(), "TabSeparated").bytes().decode()
print(sum(1 for line in out.splitlines() if line))' "$chdb_dir" < "$1"
}

trigger_of() {
    "$python" -c 'import sys, tomllib
rules = tomllib.load(open(sys.argv[1], "rb"))
print(next(a["trigger"] for a in rules["action"] if a["id"] == sys.argv[2]))' "$rules" "$1"
}

actions="churn_email pricing_followup winback_email upsell_email"
results=$dir/results-$n.txt
: > "$results"
for action in $actions; do
    eval_s=$(run_twice "$nextbest" eval "$rules" --now "$now" --profiles "$profiles" --expr "$(trigger_of "$action")")
    audience=$(grep -c 'true$' "$dir/out" || true)
    echo "$action eval $eval_s - $audience" >> "$results"
    for engine in duckdb postgres clickhouse; do
        uses "$engine" || continue
        for shape in rows audience; do
            flag=$([ "$shape" = audience ] && echo --audience || true)
            "$nextbest" sql "$rules" --dialect "$engine" --action "$action" --now "$now" $flag > "$dir/$engine-$shape.sql"
        done
        rows_s=$(run_twice "${engine}_query" "$dir/$engine-rows.sql")
        audience_s=$(run_twice "${engine}_query" "$dir/$engine-audience.sql")
        echo "$action $engine $rows_s $audience_s $(cat "$dir/out")" >> "$results"
    done
done

if uses spark; then
    # Every statement in one JVM: rows then audience for each action.
    for action in $actions; do
        for flag in "" --audience; do
            "$nextbest" sql "$rules" --dialect spark --action "$action" --now "$now" $flag |
                "$python" -c 'import json, sys; print(json.dumps(sys.stdin.read()))'
        done
    done > "$dir/spark-statements.jsonl"
    "$python" scripts/sql_engine.py spark-time "$parquet" < "$dir/spark-statements.jsonl" > "$dir/spark-times"
    set -- $actions
    while read -r _ rows_s && read -r count audience_s; do
        echo "$1 spark $rows_s $audience_s $count" >> "$results"
        shift
    done < "$dir/spark-times"
fi

# One row per trigger; each engine's audience must be eval's.
printf '%-18s %8s' trigger eval_s
for engine in $engines; do printf ' %18s' "$engine rows/aud"; done
printf ' %9s\n' audience
for action in $actions; do
    audience=$(awk -v a="$action" '$1 == a && $2 == "eval" {print $5}' "$results")
    printf '%-18s %8s' "$action" "$(awk -v a="$action" '$1 == a && $2 == "eval" {print $3}' "$results")"
    for engine in $engines; do
        read -r rows_s audience_s count < <(awk -v a="$action" -v e="$engine" '$1 == a && $2 == e {print $3, $4, $5}' "$results")
        if [ "$count" != "$audience" ]; then
            echo >&2
            echo "audiences differ for $action: eval $audience, $engine $count" >&2
            exit 1
        fi
        printf ' %18s' "$rows_s / $audience_s"
    done
    printf ' %9s\n' "$audience"
done
