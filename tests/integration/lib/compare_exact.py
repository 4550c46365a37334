#!/usr/bin/env python3
"""Compares one tenant's extracted tables (JSON Lines) with direct SQL.

usage: compare_exact.py DB DIR TENANT SPEC_JSON

SPEC_JSON is a JSON array of [schema, table, tenant_column, [excluded...]]
with names exactly as the catalog stores them. TENANT is the tenant id as
exact bytes. For each table the rows read as the superuser (bypassing
every policy) with tenant_column = TENANT must equal the rows of the
extracted file, column values included, as multisets; the extracted file
is found by the documented name mapping (each name with every byte
outside [a-z0-9_] written %XX, joined by dots). Excluded columns must be
absent. Prints one line per table; exits 1 on any difference.
"""
import json
import os
import subprocess
import sys


def fname(schema, table, ext):
    def enc(s):
        out = []
        for b in s.encode():
            c = chr(b)
            if "a" <= c <= "z" or "0" <= c <= "9" or c == "_":
                out.append(c)
            else:
                out.append("%%%02X" % b)
        return "".join(out)
    return f"{enc(schema)}.{enc(table)}.{ext}"


def qi(s):
    return '"' + s.replace('"', '""') + '"'


def psql(db, query, tenant):
    env = dict(os.environ, PGTZ="UTC")
    out = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-v", "t=" + tenant,
         "-d", db], input=query, check=True, capture_output=True,
        text=True, env=env).stdout
    return out.strip()


def norm(v):
    if isinstance(v, str):
        try:
            j = json.loads(v)
            if isinstance(j, (dict, list)):
                return j
        except ValueError:
            pass
    return v


def main():
    db, outdir, tenant, spec = sys.argv[1:5]
    bad = 0
    for schema, table, tcol, excluded in json.loads(spec):
        rows = json.loads(psql(db, "SELECT coalesce(json_agg(t), '[]') "
                          f"FROM {qi(schema)}.{qi(table)} t "
                          f"WHERE t.{qi(tcol)} = :'t'\n", tenant) or "[]")
        path = os.path.join(outdir, fname(schema, table, "jsonl"))
        label = f"{schema}.{table}"
        try:
            with open(path, encoding="utf-8") as f:
                got = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            print(f"{label}: no file {os.path.basename(path)}")
            bad += 1
            continue
        for r in rows:
            for x in excluded:
                r.pop(x, None)
        for r in got:
            if any(x in r for x in excluded):
                print(f"{label}: an excluded column was exported")
                bad += 1

        def canon(r):
            return json.dumps({k: norm(v) for k, v in r.items()},
                              sort_keys=True, ensure_ascii=False)
        a = sorted(canon(r) for r in rows)
        b = sorted(canon(r) for r in got)
        if a != b or not a:
            print(f"{label}: {len(b)} exported rows differ from {len(a)} "
                  "in the database")
            for x, y in zip(a, b):
                if x != y:
                    print("  db:  " + x[:300])
                    print("  got: " + y[:300])
                    break
            bad += 1
        else:
            print(f"{label}: {len(b)} rows identical")
    sys.exit(1 if bad else 0)


main()
