"""Loads JSON-lines profiles (SPEC §3) into a SQL engine in the layout of
SPEC §8: a `users` table (`id` and a column per trait) and one table per
event type (`user_id`, `timestamp`, `seq`, a column per property), typed
from the rule file's schema. `seq` is the event's position in its profile's
list, the arrival order that breaks ties between events of one instant.

Usage:
  python sql_load.py duckdb RULES PROFILES.jsonl DATABASE_FILE
  python sql_load.py postgres RULES PROFILES.jsonl CONNINFO   (runs psql)
  python sql_load.py clickhouse RULES PROFILES.jsonl CHDB_DIRECTORY   (chDB)
  python sql_load.py spark RULES PROFILES.jsonl DIRECTORY   (pyspark)

Spark gets one directory of Parquet files per table, DIRECTORY/TABLE, for a
session to read as tables (`CREATE TEMPORARY VIEW users USING parquet
OPTIONS (path 'DIRECTORY/users')`): a Spark without a metastore keeps no
table from one application to the next.

Tables are created anew (dropped first if present). Unknown traits and
event types are ignored, as nextbest ignores them.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib

UNITS = {"ms": 1_000, "s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000,
         "d": 86_400_000_000, "w": 604_800_000_000}


def duration_micros(text):
    match = re.fullmatch(r"(-?\d+)(ms|s|m|h|d|w)", text.replace("_", ""))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return int(match.group(1)) * UNITS[match.group(2)]


def schema_of(rules_path):
    with open(rules_path, "rb") as f:
        doc = json.load(f) if rules_path.endswith(".json") else tomllib.load(f)
    schema = doc.get("schema", {})
    traits = dict(schema.get("traits", {}))
    events = {name: dict(props) for name, props in schema.get("events", {}).items()}
    return traits, events


def sql_type(engine, ty):
    base = {"int": "BIGINT", "float": "DOUBLE PRECISION" if engine == "postgres" else "DOUBLE",
            "string": "TEXT" if engine == "postgres" else "VARCHAR", "bool": "BOOLEAN",
            "timestamp": "TIMESTAMPTZ", "duration": "BIGINT"}
    if ty.startswith("list<") and ty.endswith(">"):
        return base[ty[5:-1]] + "[]"
    return base[ty]


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def cell(ty, value):
    """A value as the text of a CSV field for PostgreSQL's COPY (None: NULL)."""
    if value is None:
        return None
    if ty == "duration":
        return str(duration_micros(value))
    if ty == "bool":
        return "true" if value else "false"
    if ty.startswith("list<"):
        items = []
        for item in value:
            if item is None:
                items.append("NULL")
            else:
                text = str(item).replace("\\", "\\\\").replace('"', '\\"')
                items.append(f'"{text}"')
        return "{" + ",".join(items) + "}"
    if ty == "float":
        return repr(float(value))
    return str(value)


def json_value(ty, value):
    if value is None:
        return None
    if ty == "duration":
        return duration_micros(value)
    return value


def clickhouse_type(ty, nullable=True):
    if ty.startswith("list<") and ty.endswith(">"):
        # Arrays cannot be Nullable: a NULL list is stored empty (and
        # nextbest refuses statements that read lists, S0106).
        return f"Array({clickhouse_type(ty[5:-1])})"
    base = {"int": "Int64", "float": "Float64", "string": "String", "bool": "Bool",
            "timestamp": "DateTime64(6, 'UTC')", "duration": "Int64"}[ty]
    return f"Nullable({base})" if nullable else base


def load_clickhouse(traits, events, profiles_path, directory):
    import chdb.session
    layout = {"users": [("id", "String")] + [(n, clickhouse_type(t)) for n, t in traits.items()]}
    for event, props in events.items():
        layout[event] = [("user_id", "String"), ("timestamp", "DateTime64(6, 'UTC')"),
                         ("seq", "Int64")] + [(n, clickhouse_type(t)) for n, t in props.items()]
    order = {"users": '"id"'}

    def convert(ty, value):
        if value is None and ty.startswith("list<"):
            return []
        return json_value(ty, value)

    session = chdb.session.Session(directory)
    with tempfile.TemporaryDirectory() as tmp:
        write_jsonl(tmp, layout, rows(profiles_path, traits, events, convert))
        for i, (table, columns) in enumerate(layout.items()):
            structure = ", ".join(f"{quote(c)} {t}" for c, t in columns)
            key = order.get(table, '("user_id", "timestamp", "seq")')
            session.query(f"DROP TABLE IF EXISTS {quote(table)}")
            session.query(f"CREATE TABLE {quote(table)} ({structure}) ENGINE = MergeTree ORDER BY {key}")
            path = os.path.join(tmp, f"{i}.jsonl")
            if os.path.getsize(path):
                session.query(
                    f"INSERT INTO {quote(table)} SELECT * FROM file('{path}', 'JSONEachRow', "
                    f"'{structure.replace(chr(39), chr(92) + chr(39))}') "
                    "SETTINGS date_time_input_format = 'best_effort'")
    session.close()


def spark_type(ty):
    from pyspark.sql import types

    if ty.startswith("list<") and ty.endswith(">"):
        return types.ArrayType(spark_type(ty[5:-1]))
    return {"int": types.LongType(), "float": types.DoubleType(), "string": types.StringType(),
            "bool": types.BooleanType(), "timestamp": types.TimestampType(),
            "duration": types.LongType()}[ty]


def load_spark(traits, events, profiles_path, directory):
    import datetime

    from pyspark.sql import types

    import sql_engine  # beside this script: Spark as the tests start it

    def field(name, ty, nullable=True):
        return types.StructField(name, ty, nullable)

    key = [field("user_id", types.StringType(), False),
           field("timestamp", types.TimestampType(), False),
           field("seq", types.LongType(), False)]
    layout = {"users": [field("id", types.StringType(), False)]
              + [field(n, spark_type(t)) for n, t in traits.items()]}
    for event, props in events.items():
        layout[event] = key + [field(n, spark_type(t)) for n, t in props.items()]

    def instant(text):
        # An instant with its offset, so the session's zone plays no part.
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

    def convert(ty, value):
        if value is not None and ty == "timestamp":
            return instant(value)
        return json_value(ty, value)

    table_rows = {table: [] for table in layout}
    for table, row in rows(profiles_path, traits, events, convert):
        if table != "users":
            row[1] = instant(row[1])
        table_rows[table].append(row)
    spark = sql_engine.spark("nextbest-load")
    for table, fields in layout.items():
        frame = spark.createDataFrame(table_rows[table], types.StructType(fields))
        frame.write.mode("overwrite").parquet(os.path.join(directory, table))
    spark.stop()


def tables(engine, traits, events):
    users = [("id", "TEXT NOT NULL" if engine == "postgres" else "VARCHAR NOT NULL")]
    users += [(name, sql_type(engine, ty)) for name, ty in traits.items()]
    result = {"users": users}
    text = "TEXT" if engine == "postgres" else "VARCHAR"
    for event, props in events.items():
        columns = [("user_id", f"{text} NOT NULL"), ("timestamp", "TIMESTAMPTZ NOT NULL"),
                   ("seq", "BIGINT NOT NULL")]
        columns += [(name, sql_type(engine, ty)) for name, ty in props.items()]
        result[event] = columns
    return result


def rows(profiles_path, traits, events, convert):
    """Yields (table, row) for every profile and event, values converted."""
    with open(profiles_path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            profile = json.loads(line)
            pid = profile["id"]
            given = profile.get("traits") or {}
            yield "users", [pid] + [convert(ty, given.get(name)) for name, ty in traits.items()]
            for seq, event in enumerate(profile.get("events") or []):
                props = events.get(event.get("event"))
                if props is None:
                    continue
                values = event.get("properties") or {}
                yield event["event"], [pid, event["timestamp"], seq] + [
                    convert(ty, values.get(name)) for name, ty in props.items()]


def write_jsonl(directory, layout, table_rows):
    """Writes each table's rows as JSON lines, `N.jsonl` for the N-th table."""
    files = {t: open(os.path.join(directory, f"{i}.jsonl"), "w", encoding="utf-8")
             for i, t in enumerate(layout)}
    for table, row in table_rows:
        names = [c for c, _ in layout[table]]
        files[table].write(json.dumps(dict(zip(names, row))) + "\n")
    for f in files.values():
        f.close()


def load_duckdb(traits, events, profiles_path, database):
    import duckdb
    layout = tables("duckdb", traits, events)
    with tempfile.TemporaryDirectory() as tmp:
        write_jsonl(tmp, layout, rows(profiles_path, traits, events, json_value))
        con = duckdb.connect(database)
        for i, (table, columns) in enumerate(layout.items()):
            con.execute(f"DROP TABLE IF EXISTS {quote(table)}")
            con.execute(f"CREATE TABLE {quote(table)} ("
                        + ", ".join(f"{quote(c)} {t}" for c, t in columns) + ")")
            spec = "{" + ", ".join(
                f"'{c}': '{t.replace(' NOT NULL', '')}'" for c, t in columns) + "}"
            path = os.path.join(tmp, f"{i}.jsonl")
            if os.path.getsize(path):
                con.execute(f"INSERT INTO {quote(table)} SELECT * FROM read_json("
                            f"'{path}', format = 'newline_delimited', columns = {spec})")
        con.close()


def load_postgres(traits, events, profiles_path, conninfo):
    layout = tables("postgres", traits, events)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {t: os.path.join(tmp, f"{i}.csv") for i, t in enumerate(layout)}
        files = {t: open(p, "w", encoding="utf-8", newline="") for t, p in paths.items()}
        for table, row in rows(profiles_path, traits, events, cell):
            # COPY's CSV: an unquoted empty field is NULL, a quoted one text.
            fields = ("" if v is None else '"' + str(v).replace('"', '""') + '"' for v in row)
            files[table].write(",".join(fields) + "\n")
        for f in files.values():
            f.close()
        script = ["SET client_min_messages = warning;"]
        for table, columns in layout.items():
            script.append(f"DROP TABLE IF EXISTS {quote(table)};")
            script.append(f"CREATE TABLE {quote(table)} ("
                          + ", ".join(f"{quote(c)} {t}" for c, t in columns) + ");")
            script.append(f"\\copy {quote(table)} FROM '{paths[table]}' WITH (FORMAT csv)")
            if table != "users":
                # What a warehouse's clustering gives: a profile's events
                # together, in time order.
                script.append(f"CREATE INDEX ON {quote(table)} (user_id, \"timestamp\");")
        script.append("ANALYZE;")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", conninfo],
                       input="\n".join(script), text=True, check=True)


def main():
    engine, rules_path, profiles_path, target = sys.argv[1:5]
    traits, events = schema_of(rules_path)
    if engine == "duckdb":
        load_duckdb(traits, events, profiles_path, target)
    elif engine == "postgres":
        load_postgres(traits, events, profiles_path, target)
    elif engine == "clickhouse":
        load_clickhouse(traits, events, profiles_path, target)
    elif engine == "spark":
        load_spark(traits, events, profiles_path, target)
    else:
        sys.exit(f"unknown engine {engine!r}: expected duckdb, postgres, clickhouse or spark")


if __name__ == "__main__":
    main()
