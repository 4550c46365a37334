#!/bin/sh
# A compromised builder, attacked from inside (the test-only build's
# TEXP_TEST_ATTACK hooks): what its database connection lets it say, what
# it can do to the monitor's time, CPU, disk and terminal, and what it
# finds in its memory. Each attack must fail closed with a clear message,
# publish nothing, and leave no session, role or process behind.
work=$(mktemp -d /tmp/texp-attacks.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_attacks_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"

# The server's statement log is the witness that a statement never
# reached PostgreSQL (ci/pg.sh keeps it beside the socket).
# (The error messages quote the refused statement, and the job's error
# and audit row hold them, so only statements the server ran count.)
log="$PGHOST/server.log"
sql "ALTER DATABASE $db SET log_statement = 'all'"
logged() { grep -Eq -- "(statement|execute [^:]*): $1" "$log"; }

# conf KEY VALUE ...: agency.conf with [export] keys replaced.
conf() {
	cp "$C" "$work/limits.conf"
	while [ $# -ge 2 ]; do
		sed -i "s|^$1 = .*|$1 = $2|" "$work/limits.conf"
		shift 2
	done
	echo "$work/limits.conf"
}

# left_nothing (lib/agency.sh), and the outbox holds nothing at all.
left_nothing_at_all() {
	left_nothing
	check "  ... nothing in the outbox" outbox_empty
}

# ---- the connection speaks only the plan ----
# explain: other tenants' values through an index and the planner;
# notify: rows to a listener; set, alter-role, password: marks that other
# sessions see or that outlive the session; lock: advisory locks;
# extended: the extended query protocol; extra: a planned COPY twice.
for attack in explain notify set alter-role password lock extended extra; do
	TEXP_TEST_ATTACK=$attack expect_rc 1 "builder sending $attack" \
		"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
	check "  ... the session was ended: only the planned statements may run" \
		grep -q "only the planned statements may run" "$work/err"
	left_nothing_at_all
done
for s in "EXPLAIN" "NOTIFY" "SET application_name" "ALTER ROLE" \
    "SELECT pg_advisory_lock" "SELECT 1 "; do
	check "no \"$s\" ever reached PostgreSQL" sh -c '! grep -Eq "(statement|execute [^:]*): $1" "$2"' \
		sh "$s" "$log"
done
check "  ... (the witness works: the planned COPYs are in the log)" logged 'COPY \(SELECT'
check "no role setting was stored for an export role" test \
	"$(sql "SELECT count(*) FROM pg_db_role_setting WHERE setrole <> 0")" = 0
check "no advisory lock is held" test \
	"$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 0
check "the extended protocol was refused by name" true
TEXP_TEST_ATTACK=extended "$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
	>/dev/null 2>"$work/err"
check "  ... (\"extended-protocol Parse message\")" grep -q "extended-protocol Parse" "$work/err"
left_nothing_at_all

# The earlier scope attacks (SET/RESET ROLE/DISCARD ALL and an unfiltered
# COPY; INSERT/UPDATE/CREATE/nextval/lo_create/NOTIFY; row_security off)
# now end at their first statement. scope_sql.sh shows the database
# refusing each of them to a session that could send them.
for attack in widen write rowsec; do
	TEXP_TEST_ATTACK=$attack expect_rc 1 "builder sending its $attack statements" \
		"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
	check "  ... ended at the first one" \
		grep -q "only the planned statements may run" "$work/err"
	left_nothing_at_all
done
check "none of them reached PostgreSQL" sh -c '
	! grep -Eq "statement: (SET app.tenant_id|INSERT INTO app.contacts|SET row_security)" "$1"' sh "$log"

# ---- the export role's password never reaches the builder ----
case "$build" in
*asan*) echo "# scan skipped: sanitizer shadow memory is not scannable" ;;
*)
	TEXP_TEST_ATTACK=scan-role TEXP_DEBUG_LOG=1 expect_rc 0 \
		"builder scanning its memory for the export role's password" \
		"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
	check "  ... finds the tenant id (the scan works)" grep -q "scan: tenant found" "$work/err"
	check "  ... but not the password (only the relay held it)" \
		grep -q "scan: secret not found" "$work/err"
	rm -f "$work"/outbox/* ;;
esac

# ---- time, CPU, disk ----
# (stall_timeout 10: long enough for every normal step of this small
# export on a busy machine, so that only the hang can pass it)
TEXP_TEST_ATTACK=hang expect_rc 1 "a builder that waits forever" \
	"$H" run --config "$(conf stall_timeout 10)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is killed for making no progress" \
	grep -q "builder made no progress for 10 s (\[export\] stall_timeout)" "$work/err"
left_nothing_at_all

TEXP_TEST_ATTACK=checker-hang expect_rc 1 "a checker that stops reading" \
	"$H" run --config "$(conf stall_timeout 10)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is killed for making no progress" \
	grep -q "checker made no progress for 10 s" "$work/err"
left_nothing_at_all

TEXP_TEST_ATTACK=spin expect_rc 1 "a builder that spins" \
	"$H" run --config "$(conf cpu_limit 1)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is stopped by its CPU limit" grep -q "SIGXCPU: CPU time limit" "$work/err"
left_nothing_at_all

TEXP_TEST_ATTACK=stall expect_rc 1 "an export past its wall-clock limit" \
	"$H" run --config "$(conf time_limit 3)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is stopped, naming the limit" \
	grep -q "ran longer than \[export\] time_limit (3 s)" "$work/err"
left_nothing_at_all

TEXP_TEST_ATTACK=flood expect_rc 1 "a builder flooding valid records" \
	"$H" run --config "$(conf max_archive_size 1M)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is stopped at the archive size cap" \
	grep -q "grew past \[export\] max_archive_size (1048576 bytes)" "$work/err"
left_nothing_at_all

# Garbage makes the checker fail at once; a monitor that went on writing
# would stop only at the size cap instead.
TEXP_TEST_ATTACK=flood-garbage expect_rc 1 "a builder flooding garbage" \
	"$H" run --config "$(conf max_archive_size 512M)" $RUN_AS --tenant "$CLIENT_B"
check "  ... is stopped the moment the checker fails" \
	grep -q "checker refused the archive" "$work/err"
check "  ... not by the size cap" sh -c '! grep -q max_archive_size "$1"' sh "$work/err"
left_nothing_at_all

# ---- terminal escapes in a child's words ----
TEXP_TEST_ATTACK=escape expect_rc 1 "a builder error line with escape sequences" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --json
esc=$(printf '\033')
bel=$(printf '\007')
check "  ... reaches stderr escaped" grep -qF 'builder failed: \x1b]0;PWNED-TITLE\x07\x1b[2J\xc2\x9b31m' "$work/err"
check "  ... and --json escaped" grep -qF '\\x1b]0;PWNED-TITLE\\x07' "$work/out"
check "  ... no ESC or BEL byte in either" sh -c '! grep -q "[$1$2]" "$3" "$4"' \
	sh "$esc" "$bel" "$work/err" "$work/out"
check "  ... the job's error holds only printable text" test \
	"$(sql "SELECT count(*) FROM texp_control.jobs WHERE error LIKE '%PWNED%'
	    AND error !~ '[[:cntrl:]]' AND error LIKE '%\\\\x1b]0;%'")" = 1
check "  ... and so does the audit log" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE detail::text LIKE '%PWNED%'
	    AND detail->>'error' !~ '[[:cntrl:]]'")" -ge 1
left_nothing_at_all

finish
