#!/usr/bin/env python3
"""Compares an extracted export (JSON Lines) with the database itself.

usage: compare.py DB DIR TENANT_ID TABLE[:TENANT_COLUMN] ...

For each table, the rows of the tenant read with direct SQL (as the
superuser, bypassing every policy) must equal the rows in DIR/TABLE.jsonl,
column values included, as multisets. Columns absent from the extract must
be exactly those the configuration excludes (passed as TABLE:...:-col).
Prints one line per table; exits 1 on any difference.
"""
import datetime
import decimal
import json
import os
import subprocess
import sys


def psql(db, query):
    env = dict(os.environ, PGTZ="UTC")
    out = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c",
         query], check=True, capture_output=True, text=True, env=env).stdout
    return out.strip()


def norm(v, t):
    if v is None:
        return None
    if t.startswith("_") or t.endswith("[]"):
        base = t[1:] if t.startswith("_") else t[:-2]
        return [norm(x, base) for x in v]
    if isinstance(v, list):
        return [norm(x, t) for x in v]
    if t in ("numeric",):
        return str(decimal.Decimal(str(v)).normalize())
    if t in ("float4", "float8"):
        return float(v)
    if t == "timestamptz":
        s = v.replace("Z", "+00:00")
        return datetime.datetime.fromisoformat(s).astimezone(
            datetime.timezone.utc).isoformat()
    if t == "timestamp":
        return datetime.datetime.fromisoformat(v).isoformat()
    if t in ("json", "jsonb"):
        return json.loads(v) if isinstance(v, str) else v
    if t == "uuid":
        return v.lower()
    return v


def main():
    db, outdir, tenant = sys.argv[1:4]
    bad = 0
    for spec in sys.argv[4:]:
        parts = spec.split(":")
        table, tcol = parts[0], parts[1]
        excluded = {p[1:] for p in parts[2:] if p.startswith("-")}
        schema, name = table.split(".")
        cols = json.loads(psql(db,
            "SELECT json_agg(json_build_array(attname, "
            "format_type(atttypid, NULL), typname) ORDER BY attnum) "
            "FROM pg_attribute a JOIN pg_type y ON y.oid = a.atttypid "
            f"WHERE attrelid = '{schema}.{name}'::regclass "
            "AND attnum > 0 AND NOT attisdropped"))
        types = {c[0]: c[2] for c in cols}
        want_cols = [c[0] for c in cols if c[0] not in excluded]
        rows = json.loads(psql(db,
            f"SELECT coalesce(json_agg(t), '[]') FROM {schema}.{name} t "
            f"WHERE t.{tcol}::text = '{tenant}'") or "[]")
        try:
            with open(f"{outdir}/{table}.jsonl") as f:
                got = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            got = None
        if got is None:
            print(f"{table}: no extract file")
            bad += 1
            continue
        keys = set(got[0].keys()) if got else set(want_cols)
        if got and list(got[0].keys()) != want_cols:
            print(f"{table}: columns {list(got[0].keys())} != {want_cols}")
            bad += 1
            continue
        if keys & excluded:
            print(f"{table}: excluded column exported")
            bad += 1
        def canon(r):
            return json.dumps({k: norm(r.get(k), types[k]) for k in want_cols},
                              sort_keys=True, default=str)
        a = sorted(canon(r) for r in rows)
        b = sorted(canon(r) for r in got)
        if a != b:
            print(f"{table}: {len(b)} exported rows differ from {len(a)} in "
                  "the database")
            for x, y in zip(a, b):
                if x != y:
                    print("  db:  " + x[:300])
                    print("  got: " + y[:300])
                    break
            bad += 1
        else:
            print(f"{table}: {len(b)} rows identical")
    sys.exit(1 if bad else 0)


main()
