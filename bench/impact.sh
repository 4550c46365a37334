#!/bin/sh
# bench/impact: what an export costs the application on the same server.
# pgbench runs a small workload of the agency example's application
# (Client A reads its invoices, marks one paid and logs an event, as a
# superuser session like the application's own) for IMPACT_SECONDS
# (default 20), three times each:
#   idle         no export
#   unthrottled  Client B's events exported again and again meanwhile
#   throttled    the same with [export] max_rows_per_second = IMPACT_RATE
#                (default 5000)
#   snapshot     no export, but a session holding a repeatable-read
#                snapshot as long as the window: what a long export's
#                snapshot alone costs the application
#   standby      the throttled export reading from a hot standby
#                ([database] standby_host) instead of the primary
# and prints the median TPS of each, and the export's own pace. Client B
# has IMPACT_ROWS events (default 100,000). A throwaway PostgreSQL and a
# hot standby of it (running in every mode, so that replication costs the
# same everywhere; max_standby_streaming_delay = -1, hot_standby_feedback
# off) are started under /tmp and removed after. Every window starts on a
# vacuumed database, so a mode does not pay for the dead rows of the one
# before. Numbers depend on the machine: compare them with each other, not
# across machines.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
TEXP_BUILD=${BUILD:+$top/$BUILD}
TEXP_BUILD=${TEXP_BUILD:-$top/build}
export TEXP_BUILD
SECONDS_=${IMPACT_SECONDS:-20}
RATE=${IMPACT_RATE:-5000}
ROWS=${IMPACT_ROWS:-100000}
ROUNDS=${IMPACT_ROUNDS:-3}
work=$(mktemp -d /tmp/texp-impact.XXXXXX)
pg=$(mktemp -d /tmp/texp-impact-pg.XXXXXX)
sb=$(mktemp -d /tmp/texp-impact-sb.XXXXXX)
loop=""
stop_all() {
	[ -n "$loop" ] && kill "$loop" 2>/dev/null
	sh "$top/ci/pg.sh" stop "$sb" >/dev/null 2>&1
	sh "$top/ci/pg.sh" stop "$pg" >/dev/null 2>&1
	rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 1' INT TERM
eval "$(sh "$top/ci/pg.sh" start "$pg")"
. "$top/tests/integration/lib/agency.sh"
top=$(cd "$(dirname "$0")/.." && pwd)	# agency.sh sets it for tests
agency_setup impact >/dev/null || { echo "bench/impact: set-up failed" >&2; exit 1; }
C="$work/agency.conf"
# Long exports may run side by side with the next one; the one the bench
# stops is left to its lease.
printf 'max_running = 0\nmax_running_per_tenant = 0\nlease_timeout = 5s\n' >>"$C"
printf 'max_requests_per_principal = 0\nmax_requests_per_tenant = 0\n' >>"$C"
echo "bench/impact: $ROWS events for Client B..."
sql "INSERT INTO app.events (tenant_id, occurred_at, kind, payload, labels)
    SELECT '$CLIENT_B', timestamptz '2025-01-01' + g * interval '1 second',
    'bulk', jsonb_build_object('seq', g, 'note', repeat('x', 60)),
    ARRAY['a', 'b'] FROM generate_series(1, $ROWS) g"
sql "VACUUM ANALYZE app.events"
sh "$top/ci/pg.sh" standby "$pg" "$sb" >/dev/null
sh "$top/ci/pg.sh" stop-server "$sb"
printf 'max_standby_streaming_delay = -1\nhot_standby_feedback = off\n' \
    >>"$sb/data/postgresql.auto.conf"
sh "$top/ci/pg.sh" start-server "$sb"
cat >"$work/app.sql" <<'SQL'
\set n random(0, 199)
BEGIN;
SELECT id, number, amount FROM app.invoices WHERE tenant_id = :a
    ORDER BY issued_on DESC LIMIT 20;
UPDATE app.invoices SET paid_at = now() WHERE tenant_id = :a AND id =
    (SELECT id FROM app.invoices WHERE tenant_id = :a ORDER BY id OFFSET :n LIMIT 1);
INSERT INTO app.events (tenant_id, occurred_at, kind) VALUES (:a, now(), 'bench');
COMMIT;
SQL
pgb() {
	psql -X -q -d impact -c "VACUUM" >/dev/null
	pgbench -n -c 4 -j 2 -T "$SECONDS_" -D a="'$CLIENT_A'::uuid" \
	    -f "$work/app.sql" impact 2>/dev/null |
	    awk '/^tps/ { print int($3 + 0.5); exit }'
}
# Exports of Client B's events, one after the other, until told to stop.
exports() {
	i=0
	while [ ! -e "$work/stop" ]; do
		"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
		    --tables app.events --json --quiet >"$work/run.$1.$i" \
		    2>/dev/null &
		echo $! >"$work/current"
		wait $! || true
		rm -f "$work"/outbox/export-*
		i=$((i + 1))
	done
}
with_exports() {	# MODE: pgbench while exports run
	rm -f "$work/stop" "$work/current"
	exports "$1" &
	loop=$!
	pgb
	touch "$work/stop"
	# the export under way stops with its command (its service, builder
	# and checker die with it)
	[ -s "$work/current" ] && kill "$(cat "$work/current")" 2>/dev/null
	wait "$loop" 2>/dev/null || true
	loop=""
	# an export cut short is stopped by its parent's end; its files go
	"$E" sweep --config "$C" >/dev/null 2>&1 || true
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$work/idle" >"$work/free" >"$work/slow" >"$work/snap" >"$work/sbslow"
# pgbench while a session holds one snapshot, reading nothing more
with_snapshot() {
	rm -f "$work/stop"
	printf 'BEGIN ISOLATION LEVEL REPEATABLE READ;\nSELECT count(*) FROM app.events;\n\\! while [ ! -e %s/stop ]; do sleep 0.2; done\nCOMMIT;\n' \
	    "$work" | psql -X -q -d impact >/dev/null &
	loop=$!
	pgb
	touch "$work/stop"
	wait "$loop" 2>/dev/null || true
	loop=""
}
r=1
while [ "$r" -le "$ROUNDS" ]; do
	echo "bench/impact: round $r of $ROUNDS ($SECONDS_ s each)"
	pgb >>"$work/idle"
	sed -i '/^max_rows_per_second/d' "$C"
	with_exports free >>"$work/free"
	printf '[export]\nmax_rows_per_second = %s\n' "$RATE" >>"$C"
	with_exports slow >>"$work/slow"
	with_snapshot >>"$work/snap"
	sed -i "/^\\[database\\]/a standby_host = $sb" "$C"
	with_exports sbslow >>"$work/sbslow"
	sed -i '/^standby_host = /d' "$C"
	sed -i '/^max_rows_per_second/d; /^\[export\]$/{$d}' "$C"
	r=$((r + 1))
done
pace() {	# MODE: rows per second of the exports that finished
	cat "$work"/run."$1".* 2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()
dec, pos, rates = json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    d, pos = dec.raw_decode(text, pos)
    if d.get("ok") and d.get("build_ms"):
        rates.append(d["records"] * 1000 / d["build_ms"])
print("%.0f rows/s over %d exports" % (sum(rates) / len(rates), len(rates))
      if rates else "no export finished within the window")'
}
idle=$(median <"$work/idle")
free=$(median <"$work/free")
slow=$(median <"$work/slow")
snap=$(median <"$work/snap")
sbslow=$(median <"$work/sbslow")
echo
echo "pgbench, $SECONDS_ s, 4 clients, median of $ROUNDS (TPS):"
printf '  idle                 %6s\n' "$idle"
printf '  during an export     %6s  (%s%% of idle; export: %s)\n' "$free" \
    "$((free * 100 / idle))" "$(pace free)"
printf '  throttled (%s rows/s) %6s  (%s%% of idle; export: %s)\n' "$RATE" \
    "$slow" "$((slow * 100 / idle))" "$(pace slow)"
printf '  a snapshot held, no export  %6s  (%s%% of idle)\n' "$snap" \
    "$((snap * 100 / idle))"
printf '  throttled, from the standby %6s  (%s%% of idle; export: %s)\n' \
    "$sbslow" "$((sbslow * 100 / idle))" "$(pace sbslow)"
echo "  raw: idle $(tr '\n' ' ' <"$work/idle")| during $(tr '\n' ' ' <"$work/free")| throttled $(tr '\n' ' ' <"$work/slow")| snapshot $(tr '\n' ' ' <"$work/snap")| standby $(tr '\n' ' ' <"$work/sbslow")"
