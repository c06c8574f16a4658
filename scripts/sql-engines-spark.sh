#!/usr/bin/env bash
# Installs Spark SQL for the SQL stage's differential test
# (src/sql/differential.rs) and `nextbest sql --dialect spark`'s test
# (tests/cli_sql.rs): pyspark, which brings Spark's jars and runs it in
# local mode on the machine's Java (17 or later), in the virtual environment
# of scripts/sql-engines.sh (.venv-sql/). Idempotent. pyspark is about
# 320 MB to download (500 MB installed); measured: 26 s to install, 8 s for
# the JVM to start (BENCHMARKS.md, "Spark SQL").
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sql
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! command -v java >/dev/null 2>&1; then
    echo "Spark needs Java 17 or later (java is not on PATH)" >&2
    exit 1
fi
if ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
    "$venv/bin/pip" install --quiet 'pyspark==4.3.0'
fi
"$venv/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)'
java -version 2>&1 | head -n 1
