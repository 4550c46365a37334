#!/bin/sh
# Exporting from a hot standby ([database] standby_host): the control
# plane and the export role stay on the primary, the export session reads
# on the standby once it has replayed the role, and the archive proves as
# the tenant's. A standby that is behind (its replay paused) makes the
# export wait and then fail, clearly, with nothing left; a standby_host
# that is not a standby, or a standby of another database, is refused.
work=$(mktemp -d /tmp/texp-standby.XXXXXX)
sb=$(mktemp -d /tmp/texp-standby-pg.XXXXXX)
other=""
trap 'rm -rf "$work" "$sb"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_standby_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
stop_all() {
	sh "$top/ci/pg.sh" stop "$sb" >/dev/null 2>&1
	if [ -n "$other" ]; then
		sh "$top/ci/pg.sh" stop "$other-sb" >/dev/null 2>&1
		sh "$top/ci/pg.sh" stop "$other" >/dev/null 2>&1
	fi
	dropdb --if-exists "$db" >/dev/null 2>&1
	rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 1' INT TERM
C="$work/agency.conf"
sbsql() { psql -X -q -At -h "$sb" -d "$db" -c "$1"; }

sh "$top/ci/pg.sh" standby "$PGHOST" "$sb" >/dev/null ||
    { echo "not ok - no standby could be made"; exit 1; }
# its log names every session that logs in: where the export read
sh "$top/ci/pg.sh" stop-server "$sb"
echo "log_connections = on" >>"$sb/data/postgresql.auto.conf"
sh "$top/ci/pg.sh" start-server "$sb"
check "the standby is in recovery" test "$(sbsql "SELECT pg_is_in_recovery()")" = t

sed -i "/^\[database\]/a standby_host = $sb\nstandby_wait = 3s" "$C"
export_b() {	# OUT: a run of Client B's export, its --json to OUT
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --json \
	    >"$1" 2>"$work/err"
}

# ---- the export reads on the standby ----
check "an export with standby_host set" export_b "$work/ok.json"
expect_rc 0 "  ... the archive proves as Client B's" verify_b
check "  ... its session logged in on the standby" \
    grep -q "connection authorized: user=exp_.*application_name=tenant-export builder" \
    "$sb/server.log"
check "  ... its role is gone (from the primary, and replayed)" test \
    "$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'")" = 0
rm -f "$work"/outbox/*

# ---- a standby that is behind ----
sbsql "SELECT pg_wal_replay_pause()" >/dev/null
wait_for "the standby's replay to pause" holds \
    "test \"\$(sbsql 'SELECT pg_get_wal_replay_pause_state()')\" = paused"
expect_rc 2 "an export while the standby's replay is paused fails" \
    export_b "$work/lag.json"
check "  ... saying the standby is behind" \
    grep -q "has not replayed the export's role within 3 s" "$work/lag.json"
check "  ... nothing published" sh -c '! ls "$1" | grep -q "\.texp$"' sh \
    "$work/outbox"
check "  ... its role dropped on the primary" test \
    "$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'")" = 0
check "  ... no session on the standby" test \
    "$(sbsql "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'exp\_%'")" = 0
sbsql "SELECT pg_wal_replay_resume()" >/dev/null
check "once it replays again, the next export works" export_b "$work/ok2.json"
expect_rc 0 "  ... and proves as Client B's" verify_b
rm -f "$work"/outbox/*

# ---- not a standby of this database ----
sed -i "s|^standby_host = .*|standby_host = $PGHOST|" "$C"
expect_rc 2 "standby_host naming the primary itself is refused" \
    export_b "$work/primary.json"
check "  ... saying it is not a standby" grep -q "standby_host.*is not a standby: the server there is not in recovery" "$work/primary.json"
check "  ... and the job failed (not queued for another attempt)" grep -q '"state": *"failed"' "$work/primary.json"
other=$(mktemp -d /tmp/texp-standby-other.XXXXXX)
sh "$top/ci/pg.sh" start "$other" >/dev/null
other2=$other-sb
sh "$top/ci/pg.sh" standby "$other" "$other2" >/dev/null
createdb -h "$other" "$db"
wait_for "the other standby to have the database" \
    psql -X -q -h "$other2" -d "$db" -c "SELECT 1"
# on stdin: a password never goes on a command line
psql -X -q -h "$other" -d "$db" >/dev/null <<SQL
CREATE ROLE texp_monitor LOGIN PASSWORD '$(cat "$work/keys/monitor.password")';
SQL
wait_for "the other standby to have the role" holds \
    "test \"\$(psql -X -At -h $other2 -d $db -c \"SELECT count(*) FROM pg_roles WHERE rolname = 'texp_monitor'\")\" = 1"
sed -i "s|^standby_host = .*|standby_host = $other2|" "$C"
expect_rc 2 "a standby of another database is refused" \
    export_b "$work/other.json"
check "  ... saying whose standby it is" \
    grep -q "is not a standby of this database" "$work/other.json"
check "  ... its role dropped on the primary" test \
    "$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'")" = 0

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
