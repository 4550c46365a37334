#!/bin/sh
# The queue's limits on a real PostgreSQL: request rate limits per
# principal and per tenant, refused with the time to try again and
# audited; the per-tenant cap with several workers and a foreground run;
# pause and resume, for one tenant and for all, decided from the signed
# log; the load guard.
work=$(mktemp -d /tmp/texp-limits.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
agency_setup_bg limits
printf 'max_running_per_tenant = 1\nlease_timeout = 10s\n' >>"$C"
printf 'max_requests_per_principal = 3\nmax_requests_per_tenant = 5\nrequest_window = 1h\n' >>"$C"
for p in "ci2 requester" "w1 worker" "w2 worker" "w3 worker" "boss admin"; do
	set -- $p
	fixture_principal "$1" "$2" "$CLIENT_B" || { echo "not ok - $1"; exit 1; }
done
by() {	# NAME CMD ARGS...
	by_who=$1
	shift
	by_sub=$1
	shift
	"$E" "$by_sub" "$@" --config "$C" --as "$work/keys/$by_who.key" \
	    --passphrase-file "$work/keys/$by_who.pass"
}
# by_bg NAME CMD ARGS...: the same in the background; $! is the command's
# own pid (a function run with & would leave its command behind when
# killed)
by_bg() {
	by_who=$1
	shift
	by_sub=$1
	shift
	"$E" "$by_sub" "$@" --config "$C" --as "$work/keys/$by_who.key" \
	    --passphrase-file "$work/keys/$by_who.pass" &
}
ref_of() { echo "$1"; }	# a job's one name: the id request printed
jstate() { sql "SELECT state FROM texp_control.jobs WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$1'"; }
most_running() {
	sql "SELECT coalesce(max(n), 0) FROM (SELECT sum(CASE WHEN event =
	    'export.started' THEN 1 ELSE -1 END) OVER (PARTITION BY tenant
	    ORDER BY seq) n FROM texp_control.audit_log WHERE event IN
	    ('export.started', 'export.completed', 'export.failed',
	    'export.retry', 'export.held', 'export.cancelled')) x"
}
jobs() { sql "SELECT count(*) FROM texp_control.jobs"; }

# ---- request rate limits ----
expect_rc 0 "request 1 of the principal's 3" by runner-b request \
    --tenant "$CLIENT_B" --tables app.invoices --idempotency-key first
expect_rc 0 "request 2" by runner-b request --tenant "$CLIENT_B" --tables app.invoices
expect_rc 0 "request 3" by runner-b request --tenant "$CLIENT_B" --tables app.files
expect_rc 1 "the fourth request within the window is refused" by runner-b \
    request --tenant "$CLIENT_B" --tables app.files --json
check "  ... saying when to try again" grep -Eq \
    "max_requests_per_principal.*try again after [0-9-]{10}T[0-9:]{8}Z \(in [0-9]+ s\)" "$work/err"
check "  ... and in --json, in seconds" python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); assert 0 < r["retry_after"] <= 3600' "$work/out"
check "  ... audited (rate_limit, with the wait)" test "$(sql "SELECT count(*)
    FROM texp_control.audit_log WHERE event = 'export.denied' AND principal =
    'runner-b' AND detail->>'reason' = 'rate_limit'
    AND (detail->>'retry_after')::int > 0")" = 1
check "  ... no job was made" test "$(jobs)" = 3
expect_rc 0 "repeating a request under its idempotency key is not a new request" \
    by runner-b request --tenant "$CLIENT_B" --tables app.invoices --idempotency-key first
expect_rc 0 "another principal of the tenant may request" by ci2 request \
    --tenant "$CLIENT_B" --tables app.invoices
expect_rc 0 "  ... twice" by ci2 request --tenant "$CLIENT_B" --tables app.invoices
expect_rc 1 "  ... but the tenant's sixth request is refused" by ci2 request \
    --tenant "$CLIENT_B" --tables app.invoices
check "  ... by the tenant's limit" grep -q "max_requests_per_tenant" "$work/err"
check "  ... still five jobs" test "$(jobs)" = 5
sed -i '/^max_requests_per/d' "$C"

# ---- the per-tenant cap holds with several workers at once ----
for i in 1 2 3; do by ci2 request --tenant "$CLIENT_B" --tables app.invoices >/dev/null 2>&1; done
for w in w1 w2 w3; do
	by_bg "$w" worker --name "$w" --once --poll 1 >"$work/$w.out" 2>"$work/$w.err"
	bg="$bg $!"
done
wait
check "three workers ran the tenant's eight jobs" test \
    "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'ready'")" = 8
check "  ... never two of them at once" test "$(most_running)" = 1
rm -f "$work"/outbox/*

# ---- a foreground run meets the same cap ----
mkdir "$work/state"
STALLED=$(by runner-b request --tenant "$CLIENT_B" --tables app.invoices,app.files 2>/dev/null)
TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" worker \
    --config "$C" --as "$work/keys/w1.key" --passphrase-file "$work/keys/w1.pass" \
    --name w1 --poll 1 --once >"$work/s.out" 2>"$work/s.err" &
sp=$!
bg="$bg $sp"
wait_for "a worker's export of the tenant to stall" test -e "$work/state/stalled"
expect_rc 1 "a run while a worker runs the tenant's export is refused" \
    by runner-b run --tenant "$CLIENT_B" --tables app.files
check "  ... saying the limit and what becomes of the job" grep -q \
    "max_running_per_tenant.*stays queued" "$work/err"
check "  ... audited (concurrency)" test "$(sql "SELECT count(*) FROM
    texp_control.audit_log WHERE event = 'run.denied'
    AND detail->>'reason' = 'concurrency'")" = 1
expect_rc 0 "the stalled export is cancelled" by runner-b cancel "$STALLED"
wait "$sp"
# (the worker went on with the job the refused run left queued)
check "  ... no temporary file left behind" sh -c '! ls -A "$1" | grep -q "^\."' sh "$work/outbox"
rm -f "$work"/outbox/*

# ---- pause and resume ----
expect_rc 1 "a requester cannot pause a tenant" by runner-b pause "$CLIENT_B"
expect_rc 0 "an admin of the tenant pauses it" by boss pause "$CLIENT_B"
expect_rc 1 "  ... pausing it again is refused" by boss pause "$CLIENT_B"
check "  ... audited (queue.paused)" test "$(sql "SELECT count(*) FROM
    texp_control.audit_log WHERE event = 'queue.paused'")" = 1
JOB=$(by runner-b request --tenant "$CLIENT_B" --tables app.invoices 2>/dev/null)
REF=$(ref_of "$JOB")
expect_rc 0 "status shows the pause" by runner-b status "$JOB"
check "  ... (paused, this tenant)" grep -q "paused (this tenant)" "$work/out"
expect_rc 0 "list shows it" by runner-b list
check "  ... (paused)" grep -q "$REF .*(paused)" "$work/out"
expect_rc 0 "a worker claims nothing of a paused tenant" \
    by w1 worker --name w1 --once --poll 1 --json
check "  ... saying it is paused" grep -q '"reason":"paused"' "$work/out"
check "  ... the job stays queued" test "$(jstate "$REF")" = queued
expect_rc 1 "a foreground run of it is refused" by runner-b run --job "$JOB"
check "  ... saying it is paused" grep -q "paused by an admin" "$work/err"
# A worker that keeps polling: no claim in two polls, then one right
# after the resume.
by_bg w2 worker --name w2 --poll 1 --json >"$work/w2.out" 2>"$work/w2.err"
wp=$!
bg="$bg $wp"
polls() { [ "$(grep -c '"reason":"paused"' "$work/w2.out")" -ge "$1" ]; }
wait_for "the worker to have polled twice while paused" polls 2
check "  ... the job is still queued" test "$(jstate "$REF")" = queued
# The pause is the signed log's, not the table's: a superuser who deletes
# the row changes nothing.
sql "DELETE FROM texp_control.queue_pauses"
wait_for "the worker to poll twice more" polls "$(($(grep -c '"reason":"paused"' "$work/w2.out") + 2))"
check "a pause deleted from the table still holds" test "$(jstate "$REF")" = queued
expect_rc 1 "  ... and audit verify names the difference" "$E" audit verify --config "$C"
check "  ... (the paused tenants)" grep -q "paused" "$work/err"
sql "INSERT INTO texp_control.queue_pauses (tenant, paused_by) VALUES ('$CLIENT_B', 'boss')"
expect_rc 0 "the admin resumes the tenant" by boss resume "$CLIENT_B"
wait_for "the worker to claim the job once resumed" holds '[ "$(jstate "$REF")" = ready ]'
kill -TERM "$wp"
expect_rc 0 "  ... and stops on SIGTERM" wait "$wp"
rm -f "$work"/outbox/*
expect_rc 0 "an admin pauses every tenant" by boss pause --all
JOB=$(by runner-b request --tenant "$CLIENT_B" --tables app.invoices 2>/dev/null)
REF=$(ref_of "$JOB")
expect_rc 0 "a worker claims nothing while all are paused" \
    by w1 worker --name w1 --once --poll 1
check "  ... saying so" grep -q "paused for every tenant" "$work/err"
expect_rc 0 "status shows it" by runner-b status "$JOB"
check "  ... (paused, every tenant)" grep -q "paused (every tenant)" "$work/out"
expect_rc 2 "pause needs a tenant or --all" by boss pause
expect_rc 0 "the admin resumes every tenant" by boss resume --all
expect_rc 0 "  ... and the worker runs the job" by w1 worker --name w1 --once --poll 1
check "  ... ready" test "$(jstate "$REF")" = ready
rm -f "$work"/outbox/*

# ---- the load guard ----
printf '[export]\nload_max_active = 1\n' >>"$C"
JOB=$(by runner-b request --tenant "$CLIENT_B" --tables app.invoices 2>/dev/null)
REF=$(ref_of "$JOB")
expect_rc 2 "a load guard that cannot see other sessions refuses to judge" \
    by w1 worker --name w1 --once --poll 1
check "  ... saying what to grant" grep -q "pg_monitor" "$work/err"
sql "GRANT pg_monitor TO texp_monitor"
# Two sessions waiting on a lock are two active sessions.
mkfifo "$work/lock"
psql -X -q -d "$db" <"$work/lock" >/dev/null 2>&1 &
lp=$!
bg="$bg $lp"
exec 7>"$work/lock"
echo "BEGIN; LOCK TABLE app.currencies IN ACCESS EXCLUSIVE MODE;" >&7
locked() {
	[ "$(sql "SELECT count(*) FROM pg_locks WHERE mode =
	    'AccessExclusiveLock' AND relation = 'app.currencies'::regclass
	    AND granted")" = 1 ]
}
waiting() {
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'
	    AND wait_event_type = 'Lock'")" = "$1" ]
}
wait_for "the lock to be held" locked
for i in 1 2; do
	psql -X -q -d "$db" -c "SELECT count(*) FROM app.currencies" >/dev/null 2>&1 &
	bg="$bg $!"
done
wait_for "two sessions to wait on it" waiting 2
expect_rc 0 "a worker starts nothing while the database is busy" \
    by w1 worker --name w1 --once --poll 1
check "  ... saying why" grep -q "the database is busy: [0-9]* active sessions" "$work/err"
check "  ... the job stays queued" test "$(jstate "$REF")" = queued
echo "COMMIT;" >&7
exec 7>&-
wait_for "the sessions to finish" waiting 0
expect_rc 0 "once it is not, the worker runs the job" by w1 worker --name w1 --once --poll 1
check "  ... ready" test "$(jstate "$REF")" = ready
sed -i '/^load_max_active/d' "$C"

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
