#!/bin/sh
# Workers on a real PostgreSQL: one queue drained by two, then three
# workers at once, every job run exactly once and within the caps; a
# worker killed mid-job, its job taken back after its lease and finished
# by another; cancel and SIGTERM of running jobs; the worker's key never
# in a builder's memory; a worker that talks to the service's socket.
# Tests wait for states (the log, the jobs table, files the test build
# writes), never for a guessed time.
work=$(mktemp -d /tmp/texp-worker.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
agency_setup_bg worker
# Two tenants, two of each running at once, leases that expire within
# the test, and a short backoff.
printf 'max_running = 4\nmax_running_per_tenant = 2\nlease_timeout = 10s\nretry_backoff = 1s\n' >>"$C"
as_root tenant add "$CLIENT_A" --name "Client A" \
    --recipient "$(cat "$work/keys/client-b.rcpt")" >/dev/null
as_root assign runner-b "$CLIENT_A" >/dev/null
# w1's raw secret key is kept for the memory scan.
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/keys/w1.pass"
chmod 600 "$work/keys/w1.pass"
"$build/tests/tools/texp-testkey" "$work/keys/w1" "$work/keys/w1.pass" \
    "$work/keys/w1.skhex"
for w in w1 w2 w3; do
	fixture_principal "$w" worker "$CLIENT_A" "$CLIENT_B" ||
	    { echo "not ok - worker $w"; exit 1; }
done
was() { echo "--as $work/keys/$1.key --passphrase-file $work/keys/$1.pass"; }
ref_of() { echo "$1"; }	# a job's one name: the id request printed
jstate() { sql "SELECT state FROM texp_control.jobs WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$1'"; }
events() {	# EVENT [REF]
	sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'
	    AND ('${2:-}' = '' OR job = '${2:-}')"
}
queue_jobs() {	# N: N jobs of app.invoices, half for each tenant
	qj=0
	while [ "$qj" -lt "$1" ]; do
		"$E" request --config "$C" $RUN_AS --tenant "$CLIENT_A" \
		    --tenant "$CLIENT_B" --tables app.invoices >/dev/null 2>&1 ||
		    return 1
		qj=$((qj + 2))
	done
}
request_one() {	# TABLES: one job of Client B; prints its id
	"$E" request --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables "$1" \
	    2>/dev/null
}
run_workers() {	# NAME...: each `worker --once` at the same time
	rw_pids=""
	for rw in "$@"; do
		"$E" worker --config "$C" $(was "$rw") --name "$rw" --once \
		    --poll 1 --json >"$work/$rw.out" 2>"$work/$rw.err" &
		rw_pids="$rw_pids $!"
	done
	rw_rc=0
	for rw in $rw_pids; do wait "$rw" || rw_rc=1; done
	if [ "$rw_rc" != 0 ]; then
		for rw in "$@"; do sed "s/^/# $rw: /" "$work/$rw.err"; done
	fi
	return $rw_rc
}
# No job ran twice: one start and one completion each, one archive each,
# nothing hidden left in the outbox.
exactly_once() {
	[ "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state <> 'ready'")" = 0 ] &&
	[ "$(sql "SELECT count(*) FROM (SELECT job FROM texp_control.audit_log
	    WHERE event IN ('export.started', 'export.completed')
	    GROUP BY job, event HAVING count(*) <> 1) x")" = 0 ] &&
	[ "$(sql "SELECT count(DISTINCT job) FROM texp_control.audit_log
	    WHERE event = 'export.completed'")" = "$(sql "SELECT count(*) FROM texp_control.jobs")" ] &&
	[ "$(ls "$work/outbox" | grep -c '\.texp$')" = \
	    "$(sql "SELECT count(*) FROM texp_control.jobs")" ] &&
	! ls -A "$work/outbox" | grep -q '^\.'
}
# The most jobs that ever ran at once, per tenant and in all, replayed
# from the log.
most_running() {	# "tenant" or "all"
	sql "SELECT coalesce(max(n), 0) FROM (SELECT sum(CASE WHEN event =
	    'export.started' THEN 1 ELSE -1 END) OVER (PARTITION BY
	    CASE WHEN '$1' = 'all' THEN '' ELSE tenant END ORDER BY seq) n
	    FROM texp_control.audit_log WHERE event IN ('export.started',
	    'export.completed', 'export.failed', 'export.retry',
	    'export.held')) x"
}
no_service_left() { ! pgrep -f -- "serve --stdio --config $work/" >/dev/null; }

# ---- two workers, twenty jobs ----
check "twenty jobs queued" queue_jobs 20
check "  ... twenty" test "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'queued'")" = 20
expect_rc 0 "two workers drain the queue" run_workers w1 w2
check "  ... every job ran exactly once, nothing published twice, no temporary file" exactly_once
check "  ... both workers ran jobs" test "$(sql "SELECT count(DISTINCT
    split_part(detail->>'worker', '/', 1)) FROM texp_control.audit_log
    WHERE event = 'export.started'")" = 2
check "  ... never more than two of a tenant at once" test "$(most_running tenant)" -le 2
check "  ... and the claims were signed by the workers" test "$(sql "SELECT
    count(*) FROM texp_control.audit_log WHERE event = 'export.started'
    AND principal IN ('w1', 'w2') AND action LIKE '%signed_action=%'")" = 20

# ---- three workers, twenty more ----
check "twenty more jobs queued" queue_jobs 20
expect_rc 0 "three workers drain the queue" run_workers w1 w2 w3
check "  ... every job of the forty ran exactly once" exactly_once
check "  ... never more than two of a tenant, four in all, at once" \
    sh -c '[ "$1" -le 2 ] && [ "$2" -le 4 ]' sh "$(most_running tenant)" "$(most_running all)"
rm -f "$work"/outbox/*

# ---- a worker killed mid-job, with its host ----
mkdir "$work/state"
JOB=$(request_one app.invoices,app.files)
REF=$(ref_of "$JOB")
TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" worker \
    --config "$C" $(was w1) --name doomed --poll 1 \
    >"$work/doomed.out" 2>"$work/doomed.err" &
kp=$!
bg="$bg $kp"
wait_for "the doomed worker's builder to stall mid-export" test -e "$work/state/stalled"
check "its job runs under the doomed worker's lease" test \
    "$(sql "SELECT state || ' ' || lease_holder FROM texp_control.jobs
    WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$REF'")" = "running w1/doomed"
check "  ... its export has a temporary file in the outbox" sh -c 'ls -A "$1" | grep -q "^\."' sh "$work/outbox"
doomed_role=$(sql "SELECT role_name FROM texp_guard.grants
    WHERE substr(encode(job_hash, 'hex'), 1, 32) = '$REF'")
check "  ... under an export role of its own" test -n "$doomed_role"
role_gone() { [ "$(sql "SELECT count(*) FROM pg_roles WHERE rolname = '$1'")" = 0 ]; }
# The host gone: the worker and the export's provisioning helper at once
# (the helper alone would queue the job again at once: faults.sh).
kill -KILL "$kp" "$(cat "$work/state/helper-pid")"
wait "$kp" 2>/dev/null
wait_for "the killed worker's processes to end" no_service_left
check "the killed worker's job still holds its lease" test "$(jstate "$REF")" = running
"$E" worker --config "$C" $(was w2) --name rescuer --poll 1 \
    >"$work/rescuer.out" 2>"$work/rescuer.err" &
rp=$!
bg="$bg $rp"
wait_for "another worker to take the job over and finish it" \
    holds '[ "$(jstate "$REF")" = ready ]'
kill -TERM "$rp"
expect_rc 0 "  ... the rescuer stops on SIGTERM" wait "$rp"
check "  ... the killed attempt's export role was dropped when the job was taken back" \
    role_gone "$doomed_role"
check "  ... it was taken back after its lease expired" test "$(sql "SELECT
    count(*) FROM texp_control.audit_log WHERE event = 'export.retry'
    AND job = '$REF' AND detail->>'reason' = 'lease_expired'")" = 1
check "  ... with the killed export's files removed" test "$(sql "SELECT
    (detail->>'files_removed')::int > 0 FROM texp_control.audit_log
    WHERE event = 'export.retry' AND job = '$REF'")" = t
check "  ... counted as an attempt" test "$(sql "SELECT attempts FROM
    texp_control.jobs WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$REF'")" = 2
check "  ... started twice, completed once" test "$(events export.started "$REF")/$(events export.completed "$REF")" = 2/1
check "  ... one archive published, no temporary file left" sh -c '
    [ "$(ls "$1" | grep -c "\.texp$")" = 1 ] && ! ls -A "$1" | grep -q "^\."' sh "$work/outbox"
expect_rc 0 "  ... and it proves as Client B's" verify_b
rm -f "$work"/outbox/*

# ---- cancel stops a running job's builder within seconds ----
rm -rf "$work/state" && mkdir "$work/state"
JOB=$(request_one app.invoices,app.files)
REF=$(ref_of "$JOB")
TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" worker \
    --config "$C" $(was w1) --name w1 --poll 1 --once \
    >"$work/c.out" 2>"$work/c.err" &
cp=$!
bg="$bg $cp"
wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
expect_rc 0 "the requester cancels the running job" \
    "$E" cancel --config "$C" $RUN_AS "$JOB"
check "  ... saying its export stops" grep -q "stops within seconds" "$work/out"
WAIT_MAX=30 wait_for "the export to stop" no_service_left
wait "$cp"
check "  ... the job is cancelled" test "$(jstate "$REF")" = cancelled
check "  ... its attempt was discarded" test "$(events export.discarded "$REF")" = 1
check "  ... nothing was published, no temporary file left" outbox_empty

# ---- SIGTERM: no new claims; grace, then let go ----
rm -rf "$work/state" && mkdir "$work/state"
JOB=$(request_one app.invoices,app.files)
REF=$(ref_of "$JOB")
TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" worker \
    --config "$C" $(was w1) --name w1 --poll 1 --grace 0 --json \
    >"$work/t.out" 2>"$work/t.err" &
tp=$!
bg="$bg $tp"
wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
kill -TERM "$tp"
expect_rc 0 "a worker told to stop with no grace left lets go of its job" wait "$tp"
check "  ... the job is queued again at once" test "$(jstate "$REF")" = queued
check "  ... its attempt given back" test "$(sql "SELECT attempts FROM
    texp_control.jobs WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$REF'")" = 0
check "  ... audited (export.retry, abandoned)" test "$(sql "SELECT count(*)
    FROM texp_control.audit_log WHERE event = 'export.retry' AND job = '$REF'
    AND detail->>'reason' = 'abandoned'")" = 1
check "  ... nothing left behind" outbox_empty
wait_for "its processes to end" no_service_left
expect_rc 0 "a worker drains it" run_workers w2
check "  ... ready" test "$(jstate "$REF")" = ready
rm -f "$work"/outbox/*
# With a grace period, the running job finishes first. The export is
# throttled so that it is still running when the signal comes.
printf '[export]\nmax_rows_per_second = 40\n' >>"$C"
JOB=$(request_one app.invoices)
REF=$(ref_of "$JOB")
"$E" worker --config "$C" $(was w1) --name w1 --poll 1 --grace 120 --json \
    >"$work/g.out" 2>"$work/g.err" &
gp=$!
bg="$bg $gp"
wait_for "the job to run" holds '[ "$(jstate "$REF")" = running ]'
kill -TERM "$gp"
expect_rc 0 "a worker told to stop lets its job finish within the grace period" wait "$gp"
check "  ... it was running when told" grep -q '"event":"stopping","running":1' "$work/g.out"
check "  ... the job is ready" test "$(jstate "$REF")" = ready
sed -i '/^max_rows_per_second/d' "$C"
rm -f "$work"/outbox/*

# ---- the worker's key never reaches a builder ----
case "$build" in
*asan*) echo "# scan skipped: sanitizer shadow memory is not scannable" ;;
*)
	request_one app.invoices >/dev/null
	TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="$(cat "$work/keys/w1.pass")" \
	    TEXP_DEBUG_LOG=1 expect_rc 0 "a builder of a worker's job scans its memory" \
	    "$H" worker --config "$C" $(was w1) --name w1 --once --poll 1
	check "  ... finds the tenant id (the scan works)" grep -q "scan: tenant found" "$work/err"
	check "  ... but not the worker's passphrase" grep -q "scan: secret not found" "$work/err"
	request_one app.invoices >/dev/null
	TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="hex:$(cat "$work/keys/w1.skhex")" \
	    TEXP_DEBUG_LOG=1 expect_rc 0 "  ... scanning for the worker's secret key bytes" \
	    "$H" worker --config "$C" $(was w1) --name w1 --once --poll 1
	check "  ... does not find them" grep -q "scan: secret not found" "$work/err"
	request_one app.invoices >/dev/null
	TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="hex:$(printf '%s' "$CLIENT_B" |
	    od -An -tx1 | tr -d ' \n')" TEXP_DEBUG_LOG=1 \
	    expect_rc 0 "  ... while bytes it does hold are found the same way" \
	    "$H" worker --config "$C" $(was w1) --name w1 --once --poll 1
	check "  ... (the tenant id, as bytes)" grep -q "scan: secret FOUND" "$work/err"
	rm -f "$work"/outbox/*
	;;
esac

# ---- a worker that holds only its key talks to the service's socket ----
"$E" serve --config "$C" --socket "$work/svc.sock" >"$work/serve.out" 2>"$work/serve.err" &
sp=$!
bg="$bg $sp"
wait_for "the service to listen" test -S "$work/svc.sock"
JOB=$(request_one app.invoices)
REF=$(ref_of "$JOB")
expect_rc 0 "a worker runs a job through the service's socket" \
    "$E" worker --socket "$work/svc.sock" $(was w2) --name w2 --once --poll 1
check "  ... ready" test "$(jstate "$REF")" = ready
kill -TERM "$sp"
wait "$sp"
rm -f "$work"/outbox/*
# The service sees a worker's connection end: the job goes back at once.
rm -rf "$work/state" && mkdir "$work/state"
TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" serve \
    --config "$C" --socket "$work/svc.sock" >"$work/serve.out" 2>"$work/serve.err" &
sp=$!
bg="$bg $sp"
wait_for "the service to listen" test -S "$work/svc.sock"
JOB=$(request_one app.invoices,app.files)
REF=$(ref_of "$JOB")
"$E" worker --socket "$work/svc.sock" $(was w2) --name w2 --poll 1 \
    >"$work/s.out" 2>"$work/s.err" &
wp=$!
bg="$bg $wp"
wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
kill -KILL "$wp"
gone() {
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event =
	    'export.retry' AND job = '$REF' AND detail->>'reason' =
	    'worker_gone'")" = 1 ]
}
wait_for "the service to notice the worker is gone" gone
check "  ... the job is queued again, counted as an attempt" test \
    "$(sql "SELECT state || ' ' || attempts FROM texp_control.jobs
    WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$REF'")" = "queued 1"
kill -TERM "$sp"
wait "$sp"
check "  ... nothing left behind" outbox_empty
expect_rc 0 "a worker drains it" run_workers w3
check "  ... ready" test "$(jstate "$REF")" = ready

# ---- many tenants: one request per tenant of a list, `wait`, fetch ----
rm -f "$work"/outbox/*
printf '# nightly\n%s\n  %s   # the second\n\n' "$CLIENT_A" "$CLIENT_B" >"$work/tenants"
before=$(sql "SELECT count(*) FROM texp_control.jobs")
expect_rc 0 "a request for a list of tenants" "$E" request --config "$C" \
    $RUN_AS --tenants-file "$work/tenants" --tables app.invoices \
    --idempotency-key nightly-1
cp "$work/out" "$work/jobs"
check "  ... one job each, \"ID TENANT\" per line" sh -c '
	[ "$(wc -l <"$1")" = 2 ] &&
	grep -Eqx "[0-9a-f]{32} $2" "$1" && grep -Eqx "[0-9a-f]{32} $3" "$1"' \
    sh "$work/jobs" "$CLIENT_A" "$CLIENT_B"
expect_rc 0 "  ... asked again under its key" "$E" request --config "$C" \
    $RUN_AS --tenant "$CLIENT_A" --tenant "$CLIENT_B" --tables app.invoices \
    --idempotency-key nightly-1
check "  ... gives the same two jobs, no new one" test \
    "$(sql "SELECT count(*) FROM texp_control.jobs")" = $((before + 2))
expect_rc 2 "wait gives up after its timeout while no worker runs them" \
    "$E" wait $(cut -d' ' -f1 "$work/jobs") --config "$C" $RUN_AS \
    --timeout 1 --poll 1
check "  ... saying how many are not done" grep -q "2 jobs not done" "$work/err"
for bad in "--timeout 5x" "--timeout 0" "--timeout ''" "--poll 1.5" "--poll 3601"; do
	eval "set -- $bad"
	expect_rc 2 "wait refuses $bad" "$E" wait $(cut -d' ' -f1 "$work/jobs") \
	    --config "$C" $RUN_AS "$@"
	check "  ... saying what it takes" grep -q "takes whole seconds" "$work/err"
done
for bad in "--poll 5x" "--concurrency 2junk" "--grace -1"; do
	eval "set -- $bad"
	expect_rc 2 "worker refuses $bad" "$E" worker --config "$C" $(was w1) "$@"
	check "  ... saying what it takes" grep -q "\-\-poll 1..3600" "$work/err"
done
"$E" wait $(cut -d' ' -f1 "$work/jobs") --config "$C" $RUN_AS --poll 1 --timeout 300 \
    >"$work/wait.out" 2>"$work/wait.err" &
wtp=$!
bg="$bg $wtp"
expect_rc 0 "a worker drains the list" run_workers w1
wait "$wtp"
check "wait returns once both are ready (exit 0)" test $? = 0
check "  ... printing each" sh -c '
	[ "$(grep -c " ready$" "$1")" = 2 ]' sh "$work/wait.out"
mkdir "$work/got"
while read -r gj gt; do
	mkdir "$work/got/$gt"
	expect_rc 0 "  ... the archive of $gt is fetched" "$E" fetch "$gj" \
	    --config "$C" $RUN_AS --to "$work/got/$gt"
done <"$work/jobs"
check "  ... two archives" test "$(ls "$work"/got/*/*.texp | wc -l)" = 2
GONE=$(request_one app.invoices)
"$E" cancel --config "$C" $RUN_AS "$GONE" >/dev/null 2>&1
expect_rc 1 "wait on a cancelled job ends, not ready (exit 1)" \
    "$E" wait "$GONE" --config "$C" $RUN_AS --poll 1
check "  ... naming its state" grep -qx "$GONE cancelled" "$work/out"
expect_rc 1 "wait on an unknown job fails" "$E" wait \
    0123456789abcdef0123456789abcdef --config "$C" $RUN_AS --poll 1
check "  ... saying so" grep -q "no such job" "$work/err"
rm -f "$work"/outbox/*

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
