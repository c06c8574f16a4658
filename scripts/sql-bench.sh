#!/usr/bin/env bash
# The SQL benchmark of BENCHMARKS.md: an audience over N profiles (about
# 10 events each) computed by `nextbest eval` over JSON lines, by DuckDB and
# by PostgreSQL over the same data in the warehouse layout (SPEC §8), for a
# few triggers of examples/rules/classic.toml.
#
#   bash scripts/sql-bench.sh [N]        (default 1000000; needs ~3 GB of disk)
#
# Data and databases go under target/sql-bench/. PostgreSQL is a throwaway
# cluster there (Debian's server binaries, run as `postgres` when root);
# DuckDB is the package scripts/sql-engines.sh installs. Loading is not
# timed; each query is run twice and the second run is reported.
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

duck=$dir/bench-$n.duckdb
[ -s "$duck" ] || "$python" scripts/sql_load.py duckdb "$rules" "$profiles" "$duck"

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$dir/pg
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

seconds() { local start=$1; echo "scale=2; ($(date +%s%N) - $start) / 1000000000" | bc; }
run_twice() { "$@" >/dev/null; local start; start=$(date +%s%N); "$@" > "$dir/out"; seconds "$start"; }

duck_query() {
    "$python" -c 'import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute(sys.stdin.read()).fetchall()
print(len(rows))' "$duck" < "$1"
}
pg_query() { psql -X -q -A -t -v ON_ERROR_STOP=1 "$conninfo" -f "$1" | grep -c . || true; }

printf '%-18s %10s %12s %12s %14s %14s %9s\n' trigger eval_s duck_rows_s duck_aud_s pg_rows_s pg_aud_s audience
for action in churn_email pricing_followup winback_email upsell_email; do
    eval_s=$(run_twice "$nextbest" eval "$rules" --now "$now" --profiles "$profiles" \
        --expr "$("$python" -c 'import sys, tomllib
rules = tomllib.load(open(sys.argv[1], "rb"))
print(next(a["trigger"] for a in rules["action"] if a["id"] == sys.argv[2]))' "$rules" "$action")")
    audience=$(grep -c 'true$' "$dir/out" || true)
    for dialect in duckdb postgres; do
        "$nextbest" sql "$rules" --dialect "$dialect" --action "$action" --now "$now" > "$dir/$dialect-rows.sql"
        "$nextbest" sql "$rules" --dialect "$dialect" --action "$action" --now "$now" --audience > "$dir/$dialect-audience.sql"
    done
    duck_rows=$(run_twice duck_query "$dir/duckdb-rows.sql")
    duck_aud=$(run_twice duck_query "$dir/duckdb-audience.sql")
    duck_count=$(cat "$dir/out")
    pg_rows=$(run_twice pg_query "$dir/postgres-rows.sql")
    pg_aud=$(run_twice pg_query "$dir/postgres-audience.sql")
    pg_count=$(cat "$dir/out")
    if [ "$duck_count" != "$audience" ] || [ "$pg_count" != "$audience" ]; then
        echo "audiences differ for $action: eval $audience, duckdb $duck_count, postgres $pg_count" >&2
        exit 1
    fi
    printf '%-18s %10s %12s %12s %14s %14s %9s\n' "$action" "$eval_s" "$duck_rows" "$duck_aud" "$pg_rows" "$pg_aud" "$audience"
done
