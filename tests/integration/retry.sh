#!/bin/sh
# Retries on a real PostgreSQL. Transient faults (the database session
# lost, an outbox without space) put the job back in the queue with a
# backoff, for a bounded number of attempts; anything else fails at once
# with its reason. A run repeated under its idempotency key gives the same
# job after every kind of failure, and every failure names the job.
# `retry JOB` makes a fresh job of the same scope that, once published,
# deletes the old archive and supersedes the old job.
work=$(mktemp -d /tmp/texp-retry.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
agency_setup_bg retry
printf 'retry_backoff = 2s\nlease_timeout = 10s\n' >>"$C"
fixture_principal w1 worker "$CLIENT_B" || { echo "not ok - worker"; exit 1; }
run_b() {	# KEY [BINARY]: one-step run of invoices under an idempotency key
	"${2:-$E}" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
	    --tables app.invoices --idempotency-key "$1"
}
jobs_of() { sql "SELECT count(*) FROM texp_control.jobs"; }
last() {	# COLUMN: of the newest job
	sql "SELECT $1 FROM texp_control.jobs ORDER BY created_at DESC LIMIT 1"
}
refs() { sql "SELECT substr(encode(id_hash, 'hex'), 1, 32) FROM texp_control.jobs ORDER BY created_at DESC LIMIT 1"; }

# ---- the signing key's passphrase is wrong: the service says so before
#      it claims the job, which is not burnt ----
head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/keys/sign2.pass"
echo "not the passphrase" >"$work/keys/wrong.pass"
chmod 600 "$work/keys/sign2.pass" "$work/keys/wrong.pass"
"$E" keygen --out "$work/keys/sign2" --passphrase-file "$work/keys/sign2.pass" >/dev/null
cp "$C" "$C.orig"
sed -i -e "s|^signing_key = .*|signing_key = $work/keys/sign2.key\nsigning_passphrase_file = $work/keys/wrong.pass|" "$C"
expect_rc 2 "a run with a wrong signing passphrase stops" run_b nightly
JOB=$(refs)
check "  ... naming the job" grep -q "job [0-9a-f]\{32\}: " "$work/err"
check "  ... before claiming it (queued, no attempt)" test "$(last state)/$(last attempts)" = queued/0
"$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices \
    --idempotency-key nightly --json >"$work/j.out" 2>/dev/null
check "  ... its --json names the job too" python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); assert r["ok"] is False and len(r["job"]) >= 32' "$work/j.out"
sed -i "s|^signing_passphrase_file = .*|signing_passphrase_file = $work/keys/sign2.pass|" "$C"
expect_rc 0 "the same run again, passphrase fixed, publishes" run_b nightly
check "  ... the same job" test "$(jobs_of)/$(refs)" = "1/$JOB"
check "  ... never claimed before (no export.started, no export.requeued)" test \
    "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event IN ('export.requeued', 'export.started') AND job = '$JOB'")" = 1
check "  ... ready" test "$(last state)" = ready
expect_rc 0 "  ... it proves with the new signing key" "$V" verify \
    --identity "$work/keys/client-b.age" --signer "$work/keys/sign2.pub" \
    --tenant "$CLIENT_B" "$(ls "$work"/outbox/*.texp)"
expect_rc 0 "running it again under its key reports it done" run_b nightly
check "  ... printing the job's id" grep -Eqx '[0-9a-f]{32}' "$work/out"
check "  ... still one job" test "$(jobs_of)" = 1
OLD_ID=$(cat "$work/out")
OLD_ARCHIVE=$(ls "$work"/outbox/*.texp)
cp "$C.orig" "$C"

# ---- a builder killed by its sandbox: permanent ----
TEXP_TEST_ATTACK=open expect_rc 1 "a builder killed by the sandbox fails the run" \
    run_b sandbox "$H"
check "  ... naming the job" grep -q "job [0-9a-f]\{32\}: builder" "$work/err"
check "  ... failed at once" test "$(last state)/$(last attempts)" = failed/1
expect_rc 0 "the same run again, without the attack, publishes the same job" run_b sandbox
check "  ... two jobs in all" test "$(jobs_of)" = 2

# ---- the database session lost: transient ----
mkdir "$work/state"
( TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$H" run \
    --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices,app.files \
    --idempotency-key lost >"$work/stall.out" 2>"$work/stall.err"
  echo $? >"$work/stall.rc" ) &
wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE usename LIKE 'exp\_%'" >/dev/null
wait
# the database went away: an operational error (exit 2), the job kept
check "a lost session fails the run (exit 2)" test "$(cat "$work/stall.rc")" = 2
check "  ... naming the job and the retry" grep -q \
    "job [0-9a-f]\{32\}: database: the session was lost.*retries it in" "$work/stall.err"
LOST=$(sql "SELECT state || ' ' || attempts || ' ' || (not_before > now()) FROM
    texp_control.jobs ORDER BY created_at DESC LIMIT 1")
check "  ... the job is queued again, with a backoff" test "$LOST" = "queued 1 true"
check "  ... audited (export.retry, transient)" test "$(sql "SELECT count(*)
    FROM texp_control.audit_log WHERE event = 'export.retry'
    AND detail->>'reason' = 'transient'")" = 1
expect_rc 0 "the same run again publishes the same job" \
    "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
    --tables app.invoices,app.files --idempotency-key lost
check "  ... on its second attempt" test "$(last state)/$(last attempts)" = ready/2

# ---- an outbox without space: transient, retried by a worker after its
#      backoff ----
TEXP_TEST_ATTACK=outbox-full expect_rc 2 "an outbox with no space fails the run" \
    run_b full "$H"
check "  ... saying so" grep -q "no space left" "$work/err"
check "  ... the job waits for its backoff" test "$(last state)" = queued
FULL=$(refs)
"$E" worker --config "$C" --as "$work/keys/w1.key" \
    --passphrase-file "$work/keys/w1.pass" --name w1 --poll 1 \
    >"$work/w.out" 2>"$work/w.err" &
wp=$!
bg="$bg $wp"
wait_for "a worker to retry it" holds '[ "$(last state)" = ready ]'
kill -TERM "$wp"
wait "$wp"
check "  ... not before its backoff had passed" test "$(sql "SELECT
    bool_and(s.at >= r.at + make_interval(secs => (r.detail->>'retry_in')::int))
    FROM texp_control.audit_log r, texp_control.audit_log s
    WHERE r.job = '$FULL' AND r.event = 'export.retry'
    AND s.job = '$FULL' AND s.event = 'export.started' AND s.seq > r.seq")" = t

# ---- attempts are bounded ----
printf 'max_attempts = 2\n' >>"$C"
TEXP_TEST_ATTACK=outbox-full expect_rc 2 "attempt 1 of 2 fails transiently" run_b bounded "$H"
check "  ... queued again" test "$(last state)" = queued
TEXP_TEST_ATTACK=outbox-full expect_rc 2 "attempt 2 of 2 fails transiently" run_b bounded "$H"
check "  ... and the job has failed: no attempt is left" test "$(last state)/$(last attempts)" = failed/2
expect_rc 0 "under its idempotency key it runs again, with fresh attempts" run_b bounded
check "  ... ready" test "$(last state)/$(last attempts)" = ready/1
sed -i '/^max_attempts/d' "$C"

# ---- retry JOB: a fresh export that supersedes the old one ----
# (OLD_ID is the job's id, as a repeated run prints it; the audit log's
# job column holds the same.)
OLD_REF=$OLD_ID
check "the first job is ready, with its archive" test -f "$OLD_ARCHIVE"
QUEUED=$("$E" request --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.files 2>/dev/null)
expect_rc 1 "a job that is not finished is not retried" \
    "$E" retry "$QUEUED" --config "$C" $RUN_AS
check "  ... saying so" grep -q "only a finished job is retried" "$work/err"
expect_rc 0 "retry asks for the same export again" \
    "$E" retry "$OLD_ID" --config "$C" $RUN_AS
NEW=$(cat "$work/out")
check "  ... a new job" sh -c 'printf "%s" "$1" | grep -Eq "^[0-9a-f]{32}$"' sh "$NEW"
check "  ... of the same scope and recipients" test "$(sql "SELECT count(*)
    FROM texp_control.jobs o, texp_control.jobs n WHERE n.retry_of = o.id_hash
    AND n.scope = o.scope AND n.recipients = o.recipients
    AND n.tenant = o.tenant")" = 1
check "  ... the old archive stays until the new one is published" test -f "$OLD_ARCHIVE"
expect_rc 0 "the retry runs" "$E" run --config "$C" $RUN_AS --job "$NEW"
check "  ... the old archive is deleted" test ! -e "$OLD_ARCHIVE"
check "  ... and its signature" test ! -e "$OLD_ARCHIVE.minisig"
check "  ... the old job is superseded" test "$(sql "SELECT state FROM
    texp_control.jobs WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$OLD_REF'")" = superseded
check "  ... audited (export.deleted, export.superseded)" test "$(sql "SELECT
    string_agg(event, ',' ORDER BY seq) FROM texp_control.audit_log
    WHERE job = '$OLD_REF' AND event IN ('export.deleted',
    'export.superseded')")" = "export.deleted,export.superseded"
expect_rc 1 "the old job cannot be fetched" \
    "$E" fetch "$OLD_ID" --config "$C" $RUN_AS --to "$work"
check "  ... it is superseded" grep -q "superseded" "$work/err"
expect_rc 0 "status says what replaced it" "$E" status "$OLD_ID" --config "$C" $RUN_AS
check "  ... (replaced by)" grep -q "replaced by:" "$work/out"
expect_rc 1 "a superseded job is not retried again" \
    "$E" retry "$OLD_ID" --config "$C" $RUN_AS
mkdir "$work/got"
expect_rc 0 "the new archive is fetched" "$E" fetch "$NEW" --config "$C" $RUN_AS --to "$work/got"
expect_rc 0 "  ... and proves as Client B's" "$V" verify \
    --identity "$work/keys/client-b.age" --signer "$work/keys/sign.pub" \
    --tenant "$CLIENT_B" "$(ls "$work"/got/*.texp)"

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
