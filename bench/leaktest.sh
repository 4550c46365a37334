#!/bin/sh
# bench/leaktest: the auditor's leak test of every tenant of a 20-tenant
# database of a few million rows (bench/gen.sql), on a throwaway
# PostgreSQL this script starts. Prints the wall time, the CPU time of
# tenant-export and its service, the rows counted, and the report's
# summary (checks by status). The database server's own CPU is not counted.
#   BENCH_ROWS        rows of the biggest tenant (default 1,000,000; the
#                     second and third have a quarter and a sixteenth)
#   BENCH_OTHER_ROWS  rows per table of each of the 16 others (default
#                     50,000: 150,000 rows a tenant)
#   BENCH_SAMPLE      also time `--sample N` (default 3; 0: skip)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
ROWS=${BENCH_ROWS:-1000000}
OTHER=${BENCH_OTHER_ROWS:-50000}
SAMPLE=${BENCH_SAMPLE:-3}
dir=${BENCH_DIR:-$top/bench/data}
mkdir -p "$dir"
work=$(mktemp -d "$dir/leaktest.XXXXXX")
. "$top/bench/lib.sh"
bench_db leaktest "$((ROWS * 10 / 20))" "$OTHER" 100
total=$(psql -X -At -d bench -c "SELECT (SELECT count(*) FROM bench.orders)
    + (SELECT count(*) FROM bench.events) + (SELECT count(*) FROM bench.files)
    + (SELECT count(*) FROM bench.tenants)")
echo "bench/leaktest: $total rows"

"$B/tests/tools/texp-testkey" "$work/auditor" "$work/root.pass"
for t in $(psql -X -At -d bench -c "SELECT id FROM bench.tenants ORDER BY id"); do
	as_root tenant add "$t" --name "Bench tenant $t"
done
as_root principal add auditor --pubkey "$work/auditor.pub" --role auditor

# timed NAME ARGS...: one leak test; wall and CPU seconds (tenant-export,
# its local service and every process they started) in $work/NAME.t, the
# report in $work/NAME.json
timed() {
	tn=$1
	shift
	/usr/bin/env python3 - "$work/$tn.t" "$B/tenant-export" leaktest \
	    --config "$work/bench.conf" --as "$work/auditor.key" \
	    --passphrase-file "$work/root.pass" --json "$@" \
	    >"$work/$tn.json" <<'PY'
import os, resource, subprocess, sys, time
t0 = time.monotonic()
rc = subprocess.call(sys.argv[2:])
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write(f"{wall:.2f} {ru.ru_utime + ru.ru_stime:.2f} {ru.ru_maxrss} {rc}\n")
PY
}
echo "bench/leaktest: every tenant (--tenants all)..."
timed all --tenants all
if [ "$SAMPLE" -gt 0 ]; then
	echo "bench/leaktest: a sample of $SAMPLE (--sample $SAMPLE)..."
	timed sample --sample "$SAMPLE"
fi
python3 - "$work" "$total" <<'PY'
import json, os, sys
work, total = sys.argv[1], int(sys.argv[2])
print(f"database: 20 tenants, {total:,} rows")
for name in ("all", "sample"):
    p = f"{work}/{name}.t"
    if not os.path.exists(p):
        continue
    wall, cpu, rss, rc = open(p).read().split()
    r = json.load(open(f"{work}/{name}.json"))
    st = {}
    for c in r["checks"]:
        st[c["status"]] = st.get(c["status"], 0) + 1
    tenants = sorted({c["tenant"] for c in r["checks"] if c.get("tenant")})
    print(f"leaktest --{'tenants all' if name == 'all' else 'sample'}: "
          f"{len(tenants)} tenants, exit {rc}, {wall} s wall, {cpu} s CPU "
          f"(tenant-export and its service), peak RSS {int(rss) // 1024} MiB "
          f"(largest process); checks: "
          + ", ".join(f"{v} {k}" for k, v in sorted(st.items())))
PY
