#!/usr/bin/env bash
# Installs the embedded SQL engines that the differential test of the SQL
# stage (src/sql/differential.rs) runs: DuckDB's Python package and chDB
# (the embedded ClickHouse), in a virtual environment of the project's own
# (.venv-sql/). Idempotent; CI runs
# it before the tests (.ci/run). PostgreSQL is the server .ci/run installs.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sql
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    "$venv/bin/pip" install --quiet 'duckdb>=1.3,<3'
fi
if ! "$venv/bin/python" -c 'import chdb' 2>/dev/null; then
    "$venv/bin/pip" install --quiet 'chdb>=4.4,<5'
fi
"$venv/bin/python" -c 'import duckdb; print("duckdb", duckdb.__version__)'
"$venv/bin/python" -c 'import chdb; print("chdb", chdb.__version__)'
