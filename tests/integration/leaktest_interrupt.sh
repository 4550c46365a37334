#!/bin/sh
# Interrupting the leak test (docs/AUDIT.md, "Interruptions"): whatever
# stops it, no canary, no throwaway principal and no export role
# outlives it past the next sweep. The test build pauses the service's
# leak test at a named point (TEXP_TEST_LEAKTEST_PAUSE) and writes its
# pid there; the test waits for that state, interrupts, and waits for
# the state that must follow. No sleeps.
work=$(mktemp -d /tmp/texp-ltint.XXXXXX)
svcpid=
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/leaktest.sh"
TA=a0000000-0000-4000-8000-00000000000a
TB=b0000000-0000-4000-8000-00000000000b
base=lt_ibase_$$
db=lt_int_$$
stop_service() {
	if [ -n "$svcpid" ]; then
		kill "$svcpid" 2>/dev/null
		wait "$svcpid" 2>/dev/null
		svcpid=
	fi
}
trap 'stop_service; dropdb --if-exists "$db" >/dev/null 2>&1;
    dropdb --if-exists "$base" >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
lt_keys || { echo "not ok - keys"; exit 1; }
lt_base "$base" "$top/examples/agency.sql" "$top/examples/agency.conf" &&
    lt_db "$db" "$base" - "$top/examples/agency.conf" ||
    { echo "not ok - set-up"; exit 1; }
C="$work/$db.conf"
psql -X -q -d postgres -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM
    pg_roles WHERE rolname = 'lt_canary_writer') THEN CREATE ROLE
    lt_canary_writer LOGIN IN ROLE agency_app; END IF; END\$\$"
# (the password on psql's standard input, never on its command line)
psql -X -q -d postgres <<SQL
ALTER ROLE lt_canary_writer PASSWORD 'canary-$$';
SQL
printf 'canary-%s\n' $$ >"$work/keys/canary.password"
chmod 600 "$work/keys/canary.password"
printf '\n[leaktest]\nstaging = yes\ncanary_user = lt_canary_writer\ncanary_password_file = %s\n' \
    "$work/keys/canary.password" >>"$C"
SOCK=$work/leaktest.sock
sqlc() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
canaries() {
	sqlc "SELECT (SELECT count(*) FROM app.users WHERE email LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.events WHERE kind LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.files WHERE file_name LIKE
	'texp-canary-%')"
}
roles() { sqlc "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'"; }
probes() {
	sqlc "SELECT count(*) FROM texp_control.principals WHERE name LIKE
	'lt-%' AND disabled_at IS NULL"
}
running() {
	sqlc "SELECT count(*) FROM texp_control.leaktest_jobs WHERE state =
	'running'"
}
events() { sqlc "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'"; }
# (for wait_for, which runs its command again until it succeeds)
events_are() { [ "$(events "$1")" = "$2" ]; }
gone() { [ "$(canaries) $(roles)" = "0 0" ]; }
nothing_left() {
	[ "$(canaries) $(roles) $(probes) $(running)" = "0 0 0 0" ]
}

# serve POINT: the test build's service, pausing its leak tests there.
serve() {
	stop_service
	rm -rf "$work/state"
	mkdir "$work/state"
	TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_LEAKTEST_PAUSE="$1" \
	    "$H" serve --config "$C" --socket "$SOCK" 2>>"$work/serve.log" &
	svcpid=$!
	wait_for "the service's socket" test -S "$SOCK"
}
# start: an auditor's leak test through the socket, in the background
# (a shell starts background commands with SIGINT ignored: the
# auditor's command gets it back, as at a terminal).
start() {
	env --default-signal=INT "$E" leaktest --socket "$SOCK" --as "$work/keys/auditor.key" \
	    --passphrase-file "$work/keys/auditor.pass" --plant-canaries \
	    >"$work/client.out" 2>"$work/client.err" &
	client=$!
}

# ---- SIGINT to the auditor's command ----
serve planted
start
check "the run pauses with its canaries planted" wait_for "the leak test to plant its canaries and pause" test -s "$work/state/planted"
check "  ... the canaries are in the tables" test "$(canaries)" -gt 0
kill -INT "$client"
wait "$client"
check "the interrupted command exits (not 0)" test $? -ne 0
check "the service ends the run" wait_for "the service to end the run" \
	events_are leaktest.aborted 1
check "  ... the canaries are gone, no role, probe or running job is left" nothing_left
check "  ... the log says the canaries were deleted" test "$(events leaktest.canaries.deleted)" = 1

# ---- SIGINT (and SIGTERM) to the service's leak test process ----
serve probes
start
check "the run pauses with its probes added" wait_for "the leak test to add its throwaway principals and pause" test -s "$work/state/probes"
check "  ... two probes are registered" test "$(probes)" = 2
kill -INT "$(cat "$work/state/probes")"
wait "$client"
check "the auditor's command is told it was interrupted (exit 2)" test $? = 2
check "  ... in words" grep -q "interrupted" "$work/client.err"
check "  ... the run is aborted in the log" test "$(events leaktest.aborted)" = 2
check "  ... and undone: the probes removed, canaries deleted, no role" nothing_left
check "  ... the log says the probes were removed" test "$(events leaktest.probe.removed)" = 2

# ---- SIGKILL of the service's leak test process, a session open ----
serve session
start
check "the run pauses in an export session" wait_for "the leak test to open an export session and pause" test -s "$work/state/session"
check "  ... an export role exists, a leak test job runs" test "$(roles) $(running)" = "1 1"
kill -KILL "$(cat "$work/state/session")"
wait "$client"
check "the auditor's command fails (exit 2)" test $? = 2
check "the database helper deletes the canaries and drops the role" \
	wait_for "the database helper to delete the canaries and drop the role" gone
check "  ... the run's job still says running" test "$(running)" = 1
expect_rc 0 "sweep ends the dead run" "$E" sweep --config "$C"
check "  ... and says so" grep -q "1 dead leak test run ended" "$work/out"
check "  ... nothing is left" nothing_left
check "  ... the log says the sweep aborted it" test \
	"$(sqlc "SELECT count(*) FROM texp_control.audit_log WHERE event =
	'leaktest.aborted' AND detail->>'by' = 'sweep'")" = 1

# ---- SIGKILL of the whole process tree, probes registered ----
serve probes
start
check "the run pauses with its probes added" wait_for "the leak test to add its throwaway principals and pause" test -s "$work/state/probes"
pid=$(cat "$work/state/probes")
kids=$(pgrep -P "$pid")
# the helper stops first, so it cannot clean up behind the test's back
kill -STOP $kids
kill -KILL "$pid" $kids
wait "$client"
check "the killed processes are gone" wait_for "the killed processes to be gone" sh -c '! kill -0 "$@" 2>/dev/null' sh "$pid" $kids
check "  ... canaries and probes are left behind" test \
	"$(canaries) $(probes)" != "0 0"
expect_rc 0 "sweep ends the dead run" "$E" sweep --config "$C"
check "  ... deleting the canaries with the canary writer" grep -q "canaries deleted" "$work/out"
check "  ... nothing is left" nothing_left
check "  ... every probe added is removed, in the log" test \
	"$(events leaktest.probe.added) $(events leaktest.probe.removed)" = "4 4"
check "  ... and the canaries' deletion by the sweep" test \
	"$(sqlc "SELECT count(*) FROM texp_control.audit_log WHERE event =
	'leaktest.canaries.deleted' AND detail->>'by' = 'sweep' AND
	(detail->>'deleted')::int > 0")" = 1
expect_rc 0 "a second sweep finds nothing more" "$E" sweep --config "$C"
check "  ... and says so" grep -q "0 dead leak test runs ended" "$work/out"
stop_service
expect_rc 0 "the signed log and its cache verify after all of it" \
	"$E" audit verify --config "$C"
finish
