#!/bin/sh
# bench/export: tenant-export run against, in the same run and on the same
# tenant and tables, alternating BENCH_REPEAT times (default 3, medians):
#   (a) the floor: psql COPY (SELECT ... WHERE tenant_id = ...) TO STDOUT
#       (FORMAT binary) >/dev/null, table after table;
#   (b) what a user would otherwise do: psql \copy ... csv | age -r R > out;
#   run: tenant-export run, everything included (control plane, the
#       requester's key unlocked at tenant-export keygen's default cost,
#       lint, provisioning, builder, checker, fsync, signature);
#   run, cheap key: the same with a requester key of a trivial scrypt cost:
#       what the export costs beyond unlocking the key.
# The streaming phase alone (the summary's build_ms: the builder's run, from
# its start to the end of its output) is printed against the floor too
# (target 1.2x).
# Then the same export of tenants of a quarter and a sixteenth of the rows
# (time linear, memory flat) and of a tenant of BENCH_SMALL_ROWS rows per
# table (default 100: a small export end to end), and that small export
# again once the control log has BENCH_LOG_ROWS rows (default 1000; every
# control step reads the whole log, so history costs each export).
# Data: bench/gen.sql, 20 tenants; the big one has BENCH_ROWS rows (default
# 2,000,000) over three tables. Peak RSS of the monitor, the builder and
# the checker come from tenant-export's own --json summary, and so does
# the CPU time of each of its processes (cpu_ms); the database server's
# CPU time over the same run is read from /proc. Targets: run
# at most 1.5x the floor, the small export under 1 s, monitor under 64 MiB.
#
# BENCH_BEFORE=DIR (a build directory of another version, e.g. made with
# `git archive REV | tar -x -C /tmp/old && make -C /tmp/old`) also runs
# that version's tenant-export (cheap requester key) on the same data,
# the big tenant and the small one, alternating with the others, and
# prints both medians: what a change costs, measured side by side.
# BENCH_SMALL_REPEAT (default BENCH_REPEAT) rounds of the small tenant:
# a fixed cost on a shared machine wants more than three.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$top/build}
ROWS=${BENCH_ROWS:-2000000}
OTHER=${BENCH_OTHER_ROWS:-50000}
dir=${BENCH_DIR:-$top/bench/data}
mkdir -p "$dir"
work=$(mktemp -d "$dir/export.XXXXXX")
orders=$((ROWS * 10 / 20))
. "$top/bench/lib.sh"
. "$top/bench/steal.sh"
BENCH_EXPORT_EXTRA='part_size = 4G
expiry = 1d'
# A whole-tenant export without PII: measured without a second approver.
BENCH_CONF_EXTRA='
[control]
high_risk_whole_tenant = no
high_risk_rows = 0
max_requests_per_tenant = 0
max_requests_per_principal = 0'
bench_db export "$orders" "$OTHER" "${BENCH_SMALL_ROWS:-100}"
T=00000000-0000-4000-8000-000000000001
T2=00000000-0000-4000-8000-000000000002
T3=00000000-0000-4000-8000-000000000003
TS=00000000-0000-4000-8000-000000000020
total=$(psql -X -At -d bench -c "SELECT (SELECT count(*) FROM bench.orders WHERE tenant_id = '$T') + (SELECT count(*) FROM bench.events WHERE tenant_id = '$T') + (SELECT count(*) FROM bench.files WHERE tenant_id = '$T')")
echo "bench/export: exported tenant has $total rows"

mkdir -p "$work/alt"
"$B/tenant-verify" keygen --out "$work/id" >"$work/rcpt"
# run needs a signed request by a registered principal: a requester
# assigned to the tenant, registered by the root key with the tenant's
# recipient. Unlocking the requester's key (tenant-export keygen's default
# cost) is part of every real run, so it is part of the measured time.
for t in "$T" "$T2" "$T3" "$TS"; do
	as_root tenant add "$t" --name "Bench tenant $t" --recipient "$(cat "$work/rcpt")"
done
printf 'bench passphrase\n' >"$work/req.pass"
chmod 600 "$work/req.pass"
"$B/tenant-export" keygen --out "$work/req" --passphrase-file "$work/req.pass" >/dev/null
"$B/tests/tools/texp-testkey" "$work/cheap" "$work/root.pass"
as_root principal add bench --pubkey "$work/req.pub" --role requester
as_root principal add bench-cheap --pubkey "$work/cheap.pub" --role requester
for t in "$T" "$T2" "$T3" "$TS"; do
	as_root assign bench "$t"
	as_root assign bench-cheap "$t"
done

COLS_orders="tenant_id, id, created_at, amount, status, note, paid, tags"
COLS_events="tenant_id, id, occurred_at, kind, payload, score"
COLS_files="tenant_id, id, name, size, digest, uploaded"
floor() {
	for t in orders events files; do
		eval "cols=\$COLS_$t"
		psql -X -q -d bench -c "COPY (SELECT $cols FROM bench.$t WHERE tenant_id = '$1') TO STDOUT (FORMAT binary)"
	done
	psql -X -q -d bench -c "COPY (SELECT id, name FROM bench.tenants WHERE id = '$1') TO STDOUT (FORMAT binary)"
}
alt() {
	for t in orders events files; do
		eval "cols=\$COLS_$t"
		psql -X -q -d bench -c "\\copy (SELECT $cols FROM bench.$t WHERE tenant_id = '$T') TO STDOUT (FORMAT csv)" |
		    age -r "$(cat "$work/rcpt")" >"$work/alt/$t.csv.age"
	done
}
# timed NAME CMD...: CMD's wall time appended to $work/NAME.t
timed() {
	tn=$1
	shift
	start=$(date +%s.%N)
	"$@"
	end=$(date +%s.%N)
	echo "$start $end" | awk '{printf "%.3f\n", $2 - $1}' >>"$work/$tn.t"
}
# BENCH_BEFORE's version runs with a state directory of its own: each
# version keeps the pinned log head its own way.
mkdir -p "$work/state-before"
cp "$work/state/log-head" "$work/state-before/" 2>/dev/null || true
sed "s|^state_dir = .*|state_dir = $work/state-before|" "$work/bench.conf" \
    >"$work/before.conf"
# The database server's CPU time so far, in clock ticks: its postmaster
# (with the backends it has reaped) and the processes it runs now.
pg_ticks() {
	pm=$(head -n 1 "$pg/data/postmaster.pid")
	{ cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do
		cat "/proc/$c/stat" 2>/dev/null || true; done; } |
	    awk -v pm="$pm" '{ sub(/^.*\) /, ""); t += $12 + $13
		if (NR == 1) t += $14 + $15 } END { print t }'
}
# run_once BUILD_DIR TENANT KEY NAME: one export; its --json summary kept
# as $work/NAME.json (the last one), its wall time in $work/NAME.t, and
# the database server's CPU seconds over it in $work/NAME.pgcpu
run_once() {
	pg0=$(pg_ticks)
	rm -f "$work"/out/*
	rc_conf=$work/bench.conf
	[ "$1" = "$B" ] || rc_conf=$work/before.conf
	timed "$4" ${BENCH_WRAP:-} "$1/tenant-export" run --config "$rc_conf" \
	    --tenant "$2" --as "$work/$3.key" --passphrase-file "$work/$3.pass" \
	    --json --quiet >"$work/$4.json"
	echo "$pg0 $(pg_ticks) $(getconf CLK_TCK)" |
	    awk '{ printf "%.2f\n", ($2 - $1) / $3 }' >"$work/$4.pgcpu"
	# the streaming phase: the builder's run (build_ms)
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["build_ms"] / 1000)' \
	    "$work/$4.json" >>"$work/$4.stream"
}
# cheap.key's passphrase is root.pass (texp-testkey above)
cp "$work/root.pass" "$work/cheap.pass"
floor_null() { floor "$1" >/dev/null; }
alt_run() { alt; }
bytes=$(floor "$T" | wc -c)
floor_null "$T"		# warm the cache once
steal_mark "$work/stat0"
i=0
while [ "$i" -lt "${BENCH_REPEAT:-3}" ]; do
	timed floor floor_null "$T"
	run_once "$B" "$T" req run
	run_once "$B" "$T" cheap cheap
	[ -z "${BENCH_BEFORE:-}" ] || run_once "$BENCH_BEFORE" "$T" cheap before
	i=$((i + 1))
done
steal=$(steal_share "$work/stat0")
timed alt alt_run
archive=$(ls "$work"/out/*.texp | head -n 1)
asize=$(stat -c %s "$archive")
altsize=$(cat "$work"/alt/*.age | wc -c)
run_once "$B" "$T2" cheap quarter
run_once "$B" "$T3" cheap sixteenth
i=0
while [ "$i" -lt "${BENCH_SMALL_REPEAT:-${BENCH_REPEAT:-3}}" ]; do
	run_once "$B" "$TS" req small
	run_once "$B" "$TS" cheap small-cheap
	[ -z "${BENCH_BEFORE:-}" ] ||
	    run_once "$BENCH_BEFORE" "$TS" cheap small-before
	i=$((i + 1))
done
# The same small export once the control log has grown to BENCH_LOG_ROWS
# rows (default 1000; 0: skipped): every control step of a run reads and
# checks the whole log, so a deployment's history costs every export.
log_rows() { psql -X -At -d bench -c "SELECT count(*) FROM texp_control.audit_log"; }
LOG_ROWS=${BENCH_LOG_ROWS:-1000}
log0=$(log_rows)
if [ "$LOG_ROWS" -gt "$log0" ]; then
	echo "bench/export: growing the control log from $log0 to $LOG_ROWS rows..."
	while [ "$(log_rows)" -lt "$LOG_ROWS" ]; do
		"$B/tenant-export" run --config "$work/bench.conf" --tenant "$TS" \
		    --as "$work/cheap.key" --passphrase-file "$work/cheap.pass" \
		    --quiet >/dev/null
	done
	i=0
	while [ "$i" -lt "${BENCH_SMALL_REPEAT:-${BENCH_REPEAT:-3}}" ]; do
		run_once "$B" "$TS" req small-log
		run_once "$B" "$TS" cheap small-log-cheap
		i=$((i + 1))
	done
fi
log1=$(log_rows)

rows_of() {
	psql -X -At -d bench -c "SELECT (SELECT count(*) FROM bench.orders WHERE tenant_id = '$1') + (SELECT count(*) FROM bench.events WHERE tenant_id = '$1') + (SELECT count(*) FROM bench.files WHERE tenant_id = '$1')"
}

python3 - "$work" "$total" "$bytes" "$asize" "$altsize" "$(rows_of "$T2")" \
    "$(rows_of "$T3")" "$(rows_of "$TS")" "${BENCH_BEFORE:-}" "$steal" \
    "$log0" "$log1" <<'PY'
import json, os, statistics, sys
work = sys.argv[1]
rows, data, asize, altsize, r2, r3, rs = map(int, sys.argv[2:9])
before, steal = sys.argv[9], sys.argv[10]
log0, log1 = int(sys.argv[11]), int(sys.argv[12])
def t(name):
    p = f"{work}/{name}.t"
    if not os.path.exists(p):
        return None
    return statistics.median(float(l) for l in open(p) if l.strip())
def rss(name):
    r = json.load(open(f"{work}/{name}.json")).get("peak_rss_kib", {})
    return (r.get("monitor", 0) / 1024, r.get("builder", 0) / 1024,
            r.get("children", 0) / 1024)
tf, ta, tr, tc = t("floor"), t("alt"), t("run"), t("cheap")
print(f"tenant rows: {rows}; binary COPY size {data / 1e6:.1f} MB; medians of "
      f"{len(open(work + '/run.t').readlines())} alternating runs")
print(f"{'':46} {'seconds':>8} {'rows/s':>10} {'MB/s':>7} {'x floor':>8}")
lines = [("(a) floor: psql COPY binary >/dev/null", tf),
         ("(b) psql \\copy csv | age -r", ta),
         ("tenant-export run, everything included", tr),
         ("tenant-export run, cheap requester key", tc)]
if before:
    lines.append(("  before, cheap requester key (BENCH_BEFORE)", t("before")))
for name, s in lines:
    print(f"{name:46} {s:8.2f} {rows / s:10.0f} {data / 1e6 / s:7.1f} {s / tf:8.2f}")
print(f"run / floor: {tr / tf:.2f}x (target <= 1.5x); without the key unlock: "
      f"{tc / tf:.2f}x; key unlock about {tr - tc:.2f} s")
def stream(name):
    return statistics.median(float(l) for l in open(f"{work}/{name}.stream")
                             if l.strip())
print(f"streaming phase (the builder's run, --json build_ms): "
      f"{stream('cheap'):.2f} s, {stream('cheap') / tf:.2f}x the floor "
      f"(target <= 1.2x)")
if before:
    print(f"cheap key, after / before: {tc / t('before'):.2f} ({before})")
m, b, c = rss("run")
print(f"peak RSS: monitor {m:.1f} MiB (target < 64), builder {b:.1f} MiB, "
      f"checker {c:.1f} MiB")
cpu = json.load(open(f"{work}/cheap.json")).get("cpu_ms", {})
if cpu:
    tot = sum(cpu.values()) / 1000
    print(f"CPU seconds, last cheap-key run (--json cpu_ms): " +
          ", ".join(f"{k} {v / 1000:.2f}" for k, v in cpu.items()) +
          f"; {tot:.2f} in all, {tot / stream('cheap'):.2f} cores' worth "
          f"over the streaming phase, on {os.cpu_count()} cores shared "
          f"with the database server")
    pgc = float(open(f"{work}/cheap.pgcpu").read())
    last = float(open(f"{work}/cheap.t").read().split()[-1])
    print(f"the database server over the same run: {pgc:.2f} CPU seconds; "
          f"with tenant-export's, {(tot + pgc) / last:.2f} of the "
          f"{os.cpu_count()} cores busy over the whole run (the export is "
          f"bound by CPU as this nears {os.cpu_count()})")
print(f"hypervisor steal during the alternating runs: {steal}% of the "
      f"machine's CPU time (the ratios are as steady as this is low)")
print(f"archive {asize / 1e6:.1f} MB (signed, per-record evidence); "
      f"csv+age {altsize / 1e6:.1f} MB")
print("\nsize (cheap key)     rows   seconds     rows/s  monitor  builder  checker MiB")
for name, n in (("sixteenth", r3), ("quarter", r2), ("cheap", rows)):
    s = t(name)
    m, b, c = rss(name)
    print(f"{name:14} {n:10} {s:9.2f} {n / s:10.0f} {m:8.1f} {b:8.1f} {c:8.1f}")
ts, tsc = t("small"), t("small-cheap")
print(f"\nsmall tenant ({rs} rows): {ts:.2f} s end to end (target < 1 s), "
      f"{tsc:.2f} s with a cheap key")
if before:
    tsb = t("small-before")
    print(f"  before, cheap key (BENCH_BEFORE): {tsb:.2f} s; after / before: "
          f"{tsc / tsb:.2f}")
tl, tlc = t("small-log"), t("small-log-cheap")
if tl is not None:
    print(f"  with a control log of {log1} rows instead of {log0}: {tl:.2f} s, "
          f"{tlc:.2f} s with a cheap key: {(tlc - tsc) * 1e6 / (log1 - log0):.0f} us "
          f"more per row of history (each control step reads the whole log)")
PY
