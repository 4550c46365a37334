#!/bin/sh
# bench/export: tenant-export run against, in the same run and on the same
# tenant and tables,
#   (a) the floor: psql COPY (SELECT ... WHERE tenant_id = ...) TO STDOUT
#       (FORMAT binary) >/dev/null, table after table;
#   (b) what a user would otherwise do: psql \copy ... csv | age -r R > out.
# Data: bench/gen.sql, 20 tenants; the exported one has BENCH_ROWS rows
# (default 2,000,000) over three tables. Peak RSS of the monitor and the
# builder come from tenant-export's own --json summary.
#
# BENCH_BEFORE=DIR (a build directory of another version, e.g. made with
# `git archive REV | tar -x -C /tmp/old && make -C /tmp/old`) also runs
# that version's tenant-export on the same data, in the same run,
# alternating the two BENCH_REPEAT times (default 3), and prints both
# medians: what a change costs, measured side by side.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
ROWS=${BENCH_ROWS:-2000000}
OTHER=${BENCH_OTHER_ROWS:-50000}
dir=${BENCH_DIR:-$top/bench/data}
mkdir -p "$dir"
work=$(mktemp -d "$dir/export.XXXXXX")
pg=$(mktemp -d /tmp/texp-bench-pg.XXXXXX)
trap 'sh "$top/ci/pg.sh" stop "$pg" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
env_lines=$(sh "$top/ci/pg.sh" start "$pg")
eval "$env_lines"
createdb bench
orders=$((ROWS * 10 / 20))
echo "bench/export: generating 20 tenants, $ROWS rows for the exported one..."
psql -X -q -d bench -v target_orders="$orders" -v other_rows="$OTHER" \
    -f "$top/bench/gen.sql"
T=00000000-0000-4000-8000-000000000001
total=$(psql -X -At -d bench -c "SELECT (SELECT count(*) FROM bench.orders WHERE tenant_id = '$T') + (SELECT count(*) FROM bench.events WHERE tenant_id = '$T') + (SELECT count(*) FROM bench.files WHERE tenant_id = '$T')")
echo "bench/export: exported tenant has $total rows"

mkdir -p "$work/out" "$work/alt"
"$B/tenant-verify" keygen --out "$work/id" >"$work/rcpt"
"$B/tenant-export" keygen --out "$work/sign" --unencrypted >/dev/null
cat >"$work/bench.conf" <<CONF
[database]
dbname = bench
user = texp_monitor
password_file = $work/monitor.password

[export]
tenant_key = tenant_id
recipient = $(cat "$work/rcpt")
signing_key = $work/sign.key
outbox = $work/out
part_size = 4G
expiry = 1d

[table bench.tenants]
class = tenant
tenant_key = id

[table bench.orders]
class = tenant

[table bench.events]
class = tenant

[table bench.files]
class = tenant

# A whole-tenant export without PII: measured without a second approver.
[control]
high_risk_whole_tenant = no
high_risk_rows = 0
CONF
"$B/tenant-export" db-setup --config "$work/bench.conf" --user postgres --apply >/dev/null 2>&1
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/monitor.password"
chmod 600 "$work/monitor.password"
# on stdin: a password never goes on a command line
psql -X -q -v ON_ERROR_STOP=1 -d bench <<SQL
ALTER ROLE texp_monitor PASSWORD '$(cat "$work/monitor.password")';
SQL
# run needs a signed request by a registered principal: a requester
# assigned to the tenant. Unlocking its key (minisign's scrypt cost, about
# 2-3 s) is part of every real run, so it is part of the measured time.
"$B/tenant-export" init --config "$work/bench.conf" --user postgres >/dev/null
printf 'bench passphrase\n' >"$work/req.pass"
chmod 600 "$work/req.pass"
"$B/tenant-export" keygen --out "$work/req" --passphrase-file "$work/req.pass" >/dev/null
kid=$(tail -n 1 "$work/req.pub" | base64 -d | od -An -tx1 -j2 -N8 | tr -d ' \n')
psql -X -q -v ON_ERROR_STOP=1 -d bench -c "
    INSERT INTO texp_control.tenants VALUES ('$T', 'Bench tenant');
    INSERT INTO texp_control.principals (name, key_id, public_key)
        VALUES ('bench', '\\x$kid', '$(tail -n 1 "$work/req.pub")');
    INSERT INTO texp_control.principal_roles SELECT id, 'requester' FROM texp_control.principals;
    INSERT INTO texp_control.assignments SELECT id, '$T' FROM texp_control.principals"

COLS_orders="tenant_id, id, created_at, amount, status, note, paid, tags"
COLS_events="tenant_id, id, occurred_at, kind, payload, score"
COLS_files="tenant_id, id, name, size, digest, uploaded"
floor() {
	for t in orders events files; do
		eval "cols=\$COLS_$t"
		psql -X -q -d bench -c "COPY (SELECT $cols FROM bench.$t WHERE tenant_id = '$T') TO STDOUT (FORMAT binary)"
	done
	psql -X -q -d bench -c "COPY (SELECT id, name FROM bench.tenants WHERE id = '$T') TO STDOUT (FORMAT binary)"
}
alt() {
	for t in orders events files; do
		eval "cols=\$COLS_$t"
		psql -X -q -d bench -c "\\copy (SELECT $cols FROM bench.$t WHERE tenant_id = '$T') TO STDOUT (FORMAT csv)" |
		    age -r "$(cat "$work/rcpt")" >"$work/alt/$t.csv.age"
	done
}
bytes=$(floor | wc -c)
# warm the cache once
floor >/dev/null
t_floor=$( { start=$(date +%s.%N); floor >/dev/null; end=$(date +%s.%N); echo "$start $end"; } | awk '{printf "%.3f", $2 - $1}')
t_alt=$( { start=$(date +%s.%N); alt; end=$(date +%s.%N); echo "$start $end"; } | awk '{printf "%.3f", $2 - $1}')
# run_once BUILD_DIR: one export, its wall time in seconds on stdout.
run_once() {
	rm -f "$work"/out/*
	start=$(date +%s.%N)
	${BENCH_WRAP:-} "$1/tenant-export" run --config "$work/bench.conf" --tenant "$T" \
	    --as "$work/req.key" --passphrase-file "$work/req.pass" --json --quiet >"$work/run.json"
	end=$(date +%s.%N)
	echo "$start $end" | awk '{printf "%.3f", $2 - $1}'
}
median() { tr ' ' '\n' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
if [ -n "${BENCH_BEFORE:-}" ]; then
	before=""
	after=""
	i=0
	while [ "$i" -lt "${BENCH_REPEAT:-3}" ]; do
		before="$before $(run_once "$BENCH_BEFORE")"
		after="$after $(run_once "$B")"
		i=$((i + 1))
	done
	mb=$(echo $before | median)
	ma=$(echo $after | median)
	echo "bench/export: before ($BENCH_BEFORE):$before s, median $mb s"
	echo "bench/export: after  ($B):$after s, median $ma s"
	echo "$mb $ma" | awk '{printf "bench/export: after/before = %.3f (%+.1f%%)\n", $2 / $1, 100 * ($2 / $1 - 1)}'
fi
t_run=$(run_once "$B")
archive=$(ls "$work"/out/*.texp | head -n 1)
asize=$(stat -c %s "$archive")
altsize=$(cat "$work"/alt/*.age | wc -c)

python3 - "$total" "$bytes" "$t_floor" "$t_alt" "$t_run" "$work/run.json" "$asize" "$altsize" <<'PY'
import json, sys
rows, data = int(sys.argv[1]), int(sys.argv[2])
tf, ta, tr = map(float, sys.argv[3:6])
run = json.load(open(sys.argv[6]))
asize, altsize = int(sys.argv[7]), int(sys.argv[8])
print(f"tenant rows: {rows}; binary COPY size {data / 1e6:.1f} MB")
print(f"{'':44} {'seconds':>8} {'rows/s':>10} {'MB/s':>7}")
for name, t in (("(a) floor: psql COPY binary >/dev/null", tf),
                ("(b) psql \\copy csv | age -r", ta),
                ("tenant-export run (lint+builder+checker)", tr)):
    print(f"{name:44} {t:8.2f} {rows / t:10.0f} {data / 1e6 / t:7.1f}")
print(f"ratio vs (a): {tf / tr:.2f}x   ratio vs (b): {ta / tr:.2f}x")
rss = run.get("peak_rss_kib", {})
print(f"peak RSS: monitor {rss.get('monitor', 0) / 1024:.1f} MiB, "
      f"builder {rss.get('builder', 0) / 1024:.1f} MiB, "
      f"largest child {rss.get('children', 0) / 1024:.1f} MiB")
print(f"archive {asize / 1e6:.1f} MB (signed, per-record evidence); "
      f"csv+age {altsize / 1e6:.1f} MB")
PY
