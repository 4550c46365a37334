#!/bin/sh
# Throttling on a real PostgreSQL: an export at a configured row rate, or
# byte rate, takes as long as the rate implies (within 10%), and its
# processes use no more memory than without the limit: the builder is
# held back by its output pipe, nothing is buffered on the way. (The
# database side is measured in bench/impact.sh.)
work=$(mktemp -d /tmp/texp-throttle.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_throttle_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
C="$work/agency.conf"
N=12000
sql "INSERT INTO app.events (tenant_id, occurred_at, kind, payload)
    SELECT '$CLIENT_B', timestamptz '2025-01-01' + g * interval '1 minute',
    'bulk', jsonb_build_object('seq', g, 'note', repeat('x', 40))
    FROM generate_series(1, $N) g"
ROWS=$(sql "SELECT count(*) FROM app.events WHERE tenant_id = '$CLIENT_B'")
export_events() {	# OUT: a run of Client B's events, its --json to OUT
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.events \
	    --json >"$1" 2>"$work/err"
}
field() {	# FILE PATH...: a number from the run's --json
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: v = v[k]
print(v)' "$@"
}
# within_10 GOT_MS WANT_MS
within_10() {
	python3 -c 'import sys
got, want = float(sys.argv[1]), float(sys.argv[2])
print("# %.0f ms for %.0f ms" % (got, want))
sys.exit(0 if abs(got - want) <= want * 0.10 else 1)' "$1" "$2"
}

# ---- without a limit ----
check "an unthrottled export" export_events "$work/free.json"
check "  ... holds every row" test "$(field "$work/free.json" records)" = "$ROWS"
FREE_MS=$(field "$work/free.json" build_ms)
FREE_B=$(field "$work/free.json" peak_rss_kib builder)
FREE_M=$(field "$work/free.json" peak_rss_kib monitor)
echo "# unthrottled: $ROWS rows in $FREE_MS ms; builder $FREE_B KiB, monitor $FREE_M KiB"
echo "# CPU ms: $(field "$work/free.json" cpu_ms)"
for p in monitor builder checker relay; do
	check "  ... reports the $p's CPU time" test \
	    "$(field "$work/free.json" cpu_ms "$p")" -gt 0
done
rm -f "$work"/outbox/*

# ---- a row rate ----
RATE=2000
printf '[export]\nmax_rows_per_second = %s\n' "$RATE" >>"$C"
check "an export at $RATE rows a second" export_events "$work/rows.json"
check "  ... holds every row" test "$(field "$work/rows.json" records)" = "$ROWS"
check "  ... takes as long as the rate implies (within 10%)" within_10 \
    "$(field "$work/rows.json" build_ms)" "$((ROWS * 1000 / RATE))"
check "  ... most of it held back by the monitor" test \
    "$(field "$work/rows.json" held_ms)" -gt "$((ROWS * 500 / RATE))"
# Held back, the builder and the checker wait for the pipe: they do not
# spin. Their CPU time is that of the unthrottled export (doubled, for a
# busy machine), whatever the time the rate stretches it to.
work_cpu() {	# FILE: the builder's and the checker's CPU ms together
	echo $(($(field "$1" cpu_ms builder) + $(field "$1" cpu_ms checker)))
}
FREE_CPU=$(work_cpu "$work/free.json")
ROWS_CPU=$(work_cpu "$work/rows.json")
echo "# builder and checker CPU: $FREE_CPU ms unthrottled, $ROWS_CPU ms at $RATE rows a second"
check "  ... the builder and checker wait, not spin (CPU as unthrottled)" \
    test "$ROWS_CPU" -le "$((2 * FREE_CPU + 200))"
check "  ... the builder's memory as without the limit" test \
    "$(field "$work/rows.json" peak_rss_kib builder)" -le "$((FREE_B + 8192))"
check "  ... and the monitor's" test \
    "$(field "$work/rows.json" peak_rss_kib monitor)" -le "$((FREE_M + 8192))"
expect_rc 0 "  ... the archive proves as Client B's" verify_b
sed -i '/^max_rows_per_second/d' "$C"
rm -f "$work"/outbox/*

# ---- a byte rate: about five seconds for this archive ----
BYTES=$(field "$work/free.json" bytes)
BRATE=$((BYTES / 5))
printf 'max_bytes_per_second = %s\n' "$BRATE" >>"$C"
check "an export at $BRATE bytes a second" export_events "$work/bytes.json"
check "  ... takes as long as the rate implies (within 10%)" within_10 \
    "$(field "$work/bytes.json" build_ms)" \
    "$(($(field "$work/bytes.json" bytes) * 1000 / BRATE))"
check "  ... in bounded memory" test \
    "$(field "$work/bytes.json" peak_rss_kib builder)" -le "$((FREE_B + 8192))"
sed -i '/^max_bytes_per_second/d' "$C"

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
