#!/bin/sh
# tenant-export run on a real PostgreSQL, attacked. A test-only build of
# the exporter (tenant-export-hooked) lets its builder misbehave the way a
# builder taken over by hostile row content would; each attack must fail
# closed with a clear message and publish nothing.
work=$(mktemp -d /tmp/texp-export.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_export_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
TABLES="app.clients:id app.users:tenant_id:-password_hash app.contacts:tenant_id
app.invoices:tenant_id app.files:tenant_id app.events:tenant_id"
counts() {
	sql "SELECT (SELECT count(*) FROM app.contacts) || '/' ||
	    (SELECT count(*) FROM app.invoices) || '/' ||
	    (SELECT count(*) FROM pg_largeobject_metadata) || '/' ||
	    (SELECT count(*) FROM pg_class WHERE relname = 't_attack')"
}
before=$(counts)

# ---- the export of B holds exactly B's rows, and none of A's ----
expect_rc 0 "export Client B" "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --json
check "json summary says ok" grep -q '"ok": true' "$work/out"
archive=$(ls "$work"/outbox/*.texp 2>/dev/null | head -n 1)
check "archive and signature published" test -f "$archive.minisig"
check "no temporary file left in the outbox" \
	sh -c '! ls -A "$1" | grep -q "^\."' sh "$work/outbox"
check "archive is mode 0600" sh -c '[ "$(stat -c %a "$1")" = 600 ]' sh "$archive"
printf '%s\n' "$CLIENT_A" >"$work/foreign"
expect_rc 0 "tenant-verify proves it, auditing for Client A's id" \
	verify_b --foreign-ids "$work/foreign"
expect_rc 0 "stock minisign accepts the signature" \
	minisign -V -q -p "$work/keys/sign.pub" -m "$archive"
age -d -i "$work/keys/client-b.age" "$archive" >"$work/plain.tar" 2>"$work/err"
check "stock age decrypts it" tar tf "$work/plain.tar" >/dev/null
expect_rc 0 "extract to JSON Lines" "$V" extract \
	--identity "$work/keys/client-b.age" --signer "$work/keys/sign.pub" \
	--tenant "$CLIENT_B" --format jsonl --out "$work/x" "$archive"
# shellcheck disable=SC2086
expect_rc 0 "every table equals direct SQL for B, values included" \
	python3 "$top/tests/integration/lib/compare.py" "$db" "$work/x" \
	"$CLIENT_B" $TABLES
cat "$work/out" | sed 's/^/#   /'
check "Client A's id appears nowhere in the extract" \
	sh -c '! grep -rq "$1" "$2"' sh "$CLIENT_A" "$work/x"
check "api tokens were not exported" sh -c '! ls "$1" | grep -q api_tokens' \
	sh "$work/x"
check "the export role was dropped" \
	test "$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'")" = 0
rm -f "$work"/outbox/*

# ---- run is a job: refused without a principal, audited with one ----
expect_rc 2 "run without --as is refused" "$E" run --config "$C" --tenant "$CLIENT_B"
check "  ... saying why" grep -q "as KEY is required" "$work/err"
check "  ... and nothing is published" outbox_empty
check "the export above is a ready job with its receipt" test \
	"$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'ready'
	    AND receipt IS NOT NULL AND manifest_digest IS NOT NULL")" = 1
check "  ... audited requested, started, completed" test \
	"$(sql "SELECT string_agg(event, ',' ORDER BY seq) FROM texp_control.audit_log
	    WHERE event LIKE 'export.%'")" = "export.requested,export.started,export.completed"

# ---- the builder attacks its sandbox ----
for attack in open socket connect execve fork ptrace; do
	TEXP_TEST_ATTACK=$attack expect_rc 1 "builder calling $attack() is killed" \
		"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
	case "$build" in
	*asan*)	# sanitizer builds refuse open() with EACCES instead of killing
		check "  ... the error names the sandbox" grep -q "sandbox\|SIGSYS" "$work/err" ;;
	*)	check "  ... the error names the sandbox (SIGSYS)" grep -q SIGSYS "$work/err" ;;
	esac
	check "  ... and nothing is published" outbox_empty
done

# ---- the builder's connection speaks only the plan ----
# The builder's libpq connection goes to the database relay, which runs the
# planned COPY statements and nothing else: the first other statement
# ends the session (scope_sql.sh shows the database itself refusing each
# of these, for a session that could send them).
for attack in widen write rowsec; do
	TEXP_TEST_ATTACK=$attack expect_rc 1 "builder sending $attack statements" \
		"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
	check "  ... ends the session: only the planned statements may run" \
		grep -q "only the planned statements may run" "$work/err"
	check "  ... and nothing is published" outbox_empty
done
check "  ... and nothing in the database changed" test "$(counts)" = "$before"

# ---- verify before sign: a foreign record slipped in ----
TEXP_TEST_ATTACK=foreign TEXP_TEST_ATTACK_ARG=$CLIENT_A expect_rc 1 \
	"builder slipping in a record of Client A" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
check "  ... the checker refused it" grep -q "checker refused" "$work/err"
check "  ... nothing is published or signed" outbox_empty

# ---- fail closed ----
# Tenants with no rows, and a malformed id, registered in the control
# schema and assigned to runner-b, so that the export itself decides.
for t in 00000000-0000-4000-8000-000000000000 not-a-uuid; do
	as_root tenant add "$t" --name "Test $t" \
	    --recipient "$(cat "$work/keys/client-b.rcpt")" >/dev/null
	as_root assign runner-b "$t" >/dev/null
done
expect_rc 1 "a tenant with no rows (or no such tenant) is refused" \
	"$E" run --config "$C" $RUN_AS --tenant 00000000-0000-4000-8000-000000000000
check "  ... without saying whether it exists" grep -q "or no such tenant" "$work/err"
check "  ... and nothing is published" outbox_empty
expect_rc 0 "--allow-empty publishes an empty archive" \
	"$E" run --config "$C" $RUN_AS --tenant 00000000-0000-4000-8000-000000000000 --allow-empty
rm -f "$work"/outbox/*
expect_rc 2 "a malformed tenant id is a usage error" \
	"$E" run --config "$C" $RUN_AS --tenant "not-a-uuid"
check "  ... nothing is published" outbox_empty

sql "CREATE TABLE app.newstuff (tenant_id uuid NOT NULL, x int)"
expect_rc 1 "an unclassified table stops the export" \
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
check "  ... naming lint" grep -q "lint" "$work/err"
sql "DROP TABLE app.newstuff"

sql "ALTER TABLE app.contacts NO FORCE ROW LEVEL SECURITY"
expect_rc 1 "RLS not forced stops the export" \
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
sql "ALTER TABLE app.contacts FORCE ROW LEVEL SECURITY"
sql "ALTER TABLE app.contacts DISABLE ROW LEVEL SECURITY"
expect_rc 1 "RLS disabled stops the export" \
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
sql "ALTER TABLE app.contacts ENABLE ROW LEVEL SECURITY"
sql "GRANT INSERT ON app.contacts TO texp_export"
expect_rc 1 "an export group with INSERT stops the export" \
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
sql "REVOKE INSERT ON app.contacts FROM texp_export"
sql "ALTER TABLE app.contacts ADD COLUMN session_secret text"
expect_rc 1 "a secret-looking column stops the export" \
	"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
sql "ALTER TABLE app.contacts DROP COLUMN session_secret"
check "nothing was published by any refused export" outbox_empty

# ---- connection lost mid-export: the job kept for a retry ----
# As docs/CONTROL.md says: a transient fault puts the job back in the
# queue (a worker retries it after its backoff) and `run --job` may run
# it again at once. The test build's builder stalls after the first table
# (a session open, a snapshot held) and says so; the test waits for that
# state and ends the session; the second run does not stall.
rm -rf "$work/state"
mkdir "$work/state"
( TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall TEXP_TEST_ATTACK_ONCE=1 \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
	>"$work/stall.out" 2>"$work/stall.err"; echo $? >"$work/stall.rc" ) &
wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE usename LIKE 'exp\_%'" >/dev/null
wait
check "a terminated database session fails the run (exit 2)" \
	test "$(cat "$work/stall.rc")" = 2
check "  ... saying the session was lost and the job goes back to the queue" \
	grep -q "database: the session was lost.*goes back to the queue" "$work/stall.err"
check "  ... the job is queued, one attempt counted" test \
	"$(sql "SELECT state || ' ' || attempts FROM texp_control.jobs
	    ORDER BY created_at DESC LIMIT 1")" = "queued 1"
LOSTJOB=$(sed -n 's/^tenant-export: run: job \([0-9a-f]\{32\}\): .*/\1/p' "$work/stall.err" | head -n 1)
expect_rc 0 "  ... run --job runs it again and publishes" \
	"$H" run --config "$C" $RUN_AS --job "$LOSTJOB"
expect_rc 0 "  ... and the archive proves as B's" verify_b
check "  ... the job is ready after two attempts" test \
	"$(sql "SELECT state || ' ' || attempts FROM texp_control.jobs
	    ORDER BY created_at DESC LIMIT 1")" = "ready 2"
rm -f "$work"/outbox/*

# (A killed monitor, process group, hangup, stopped database and crashed
# helper: faults.sh. Hung, spinning and flooding children: builder_attacks.sh.)

# ---- disk full on the outbox ----
expect_rc 2 "a full disk (RLIMIT_FSIZE) fails the export (operational)" \
	sh -c 'ulimit -f 8; exec "$@"' sh "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
check "  ... saying why" grep -q "outbox" "$work/err"
check "  ... and leaves nothing behind" outbox_empty

# ---- secrets the monitor holds are not in the builder's memory ----
case "$build" in *asan*) echo "# scan skipped: sanitizer shadow memory is not scannable"; finish ;; esac
TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="$(cat "$work/keys/monitor.password")" \
	TEXP_DEBUG_LOG=1 expect_rc 0 "builder scanning its memory" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
check "  ... finds the tenant id (the scan works)" grep -q "scan: tenant found" "$work/err"
check "  ... but not the monitor's database password" \
	grep -q "scan: secret not found" "$work/err"
TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="$(cat "$work/keys/runner-b.pass")" \
	TEXP_DEBUG_LOG=1 expect_rc 0 "builder scanning its memory for the requester's passphrase" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B"
check "  ... does not find it" grep -q "scan: secret not found" "$work/err"
rm -f "$work"/outbox/*

finish
