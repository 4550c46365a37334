#!/bin/sh
# Everything an export needs is checked before a job is claimed or a row
# is read, and `serve` checks it when it starts: a signing key that is
# missing, a public key, a directory, encrypted without its passphrase
# file, or with the wrong passphrase; an outbox that is not writable; a
# job whose tables left the configuration. Each stops `run` with a message
# naming the file, leaves the job queued (not burnt), and lint reports
# it; a worker claims nothing then, and fails a job that a rule
# tightened since made high-risk instead of claiming it. Relative paths in the configuration are relative to its file. The
# signing key, loaded before the builder is forked, is not in the
# builder's memory.
work=$(mktemp -d /tmp/texp-failfast.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_failfast_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
GOOD="$work/good.conf"
cp "$C" "$GOOD"
run() { "$E" run --config "$C" $RUN_AS "$@"; }
jobs_in() { sql "SELECT count(*) FROM texp_control.jobs WHERE state = '$1'"; }
with() {	# with KEY VALUE: the good configuration with [export] KEY = VALUE
	sed "s|^$1 = .*|$1 = $2|" "$GOOD" >"$C"
	grep -q "^$1 = " "$C" ||
	    sed -i "s|^\[export\]|[export]\n$1 = $2|" "$C"
}
with_pass() {	# with_pass FILE: and signing_passphrase_file = FILE
	awk -v f="$1" '/^\[export\]/ { print; print "signing_passphrase_file = " f; next }
	    /^signing_passphrase_file = / { next } { print }' "$C" >"$C.new" &&
	    mv "$C.new" "$C"
}
outbox_empty() { [ -z "$(ls -A "$work/outbox")" ]; }

# ---- the signing key, each way it can be wrong ----
# attempt DESCRIPTION PATTERN: run must stop before claiming the job,
# naming the problem; lint and serve must say the same.
attempt() {
	expect_rc 2 "$1: run stops" run --tenant "$CLIENT_B" --tables app.invoices
	check "  ... saying so ($2)" grep -q "$2" "$work/err"
	check "  ... before claiming the job (it stays queued)" \
		test "$(jobs_in running)/$(jobs_in failed)" = "0/0"
	check "  ... nothing in the outbox" outbox_empty
	expect_rc 1 "  ... lint reports it" "$E" lint --config "$C"
	check "  ... (the same words)" grep -q "$2" "$work/out"
	expect_rc 2 "  ... serve does not start" "$E" serve --config "$C" \
		--socket "$work/never.sock"
	check "  ... (the same words)" grep -q "$2" "$work/err"
	check "  ... and listens on nothing" test ! -e "$work/never.sock"
}
with signing_key "$work/keys/missing.key"
attempt "a missing signing key" "missing.key\" does not exist"
with signing_key "$work/keys/sign.pub"
chmod 644 "$work/keys/sign.pub"
attempt "the public key as the signing key" "is a public key"
mkdir -p "$work/keys/dir.key"
with signing_key "$work/keys/dir.key"
attempt "a directory as the signing key" "is a directory"
printf 'sign pass\n' >"$work/keys/enc.pass"
chmod 600 "$work/keys/enc.pass"
"$E" keygen --out "$work/keys/enc" --passphrase-file "$work/keys/enc.pass" \
    --cost 1 >/dev/null
with signing_key "$work/keys/enc.key"
attempt "an encrypted signing key without its passphrase file" \
	"name its passphrase file in \[export\] signing_passphrase_file"
printf 'not the pass\n' >"$work/keys/wrong.pass"
chmod 600 "$work/keys/wrong.pass"
with signing_key "$work/keys/enc.key"
with_pass "$work/keys/wrong.pass"
attempt "a wrong signing passphrase" "does not unlock the signing key"
check "  ... the passphrase itself is never shown" \
	sh -c '! grep -q "not the pass" "$1" "$2"' sh "$work/out" "$work/err"
with_pass "$work/keys/enc.pass"
expect_rc 0 "with the right passphrase file, the encrypted key signs" \
	run --tenant "$CLIENT_B" --tables app.invoices
check "  ... and the archive verifies against its public key" sh -c '
	"$1" verify --identity "$2/keys/client-b.age" --signer "$2/keys/enc.pub" \
	    --tenant "$3" "$2"/outbox/*.texp >/dev/null' sh "$V" "$work" "$CLIENT_B"
rm -f "$work"/outbox/*

# ---- the outbox ----
chmod 500 "$work/outbox"
cp "$GOOD" "$C"
if [ "$(id -u)" -ne 0 ]; then
	attempt "an outbox the service cannot write" "not writable"
fi
chmod 700 "$work/outbox"
with outbox "$work/no-such-outbox"
attempt "a missing outbox" "does not exist"
cp "$GOOD" "$C"

# ---- the queued jobs were not burnt: they run once all is well ----
JOBS=$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'queued'")
check "the refused runs left their jobs queued" test "$JOBS" -ge 5
QJ=$(sql "SELECT substr(encode(id_hash, 'hex'), 1, 32) FROM texp_control.jobs
    WHERE state = 'queued' ORDER BY created_at LIMIT 1")
expect_rc 0 "such a job runs once the key is back" run --job "$QJ"
rm -f "$work"/outbox/*

# ---- a job whose scope no longer holds ----
expect_rc 0 "a job for app.files is requested" "$E" request --config "$C" \
	$RUN_AS --tenant "$CLIENT_B" --tables app.files
FJ=$(cat "$work/out")
sed -i 's/^\[table app.files\]$/[table app.files_gone]/' "$C"
expect_rc 2 "after app.files leaves the configuration, the job is refused" \
	run --job "$FJ"
check "  ... saying why" grep -q "cannot run as it was requested" "$work/err"
check "  ... not claimed" test "$(sql "SELECT state FROM texp_control.jobs
    WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$FJ'")" = queued
check "  ... audited (run.denied, scope)" test "$(sql "SELECT count(*)
    FROM texp_control.audit_log WHERE event = 'run.denied'
    AND detail->>'reason' = 'scope'")" = 1
cp "$GOOD" "$C"
printf 'high_risk_tables = app.files\n' >>"$C"
expect_rc 2 "a table made high-risk since the request stops its job too" \
	run --job "$FJ"
check "  ... saying so" grep -q "now marked high-risk" "$work/err"
cp "$GOOD" "$C"

# ---- a worker claims no job the service could not finish ----
fixture_principal fw worker "$CLIENT_B" || { echo "not ok - worker principal"; exit 1; }
WAS="--as $work/keys/fw.key --passphrase-file $work/keys/fw.pass"
QUEUED=$(jobs_in queued)
with signing_key "$work/keys/missing.key"
expect_rc 2 "a worker, the signing key missing, claims nothing" \
	"$E" worker --config "$C" $WAS --name fw --once --poll 1
check "  ... saying why" grep -q "missing.key\" does not exist" "$work/err"
check "  ... every job still queued" \
	test "$(jobs_in queued)/$(jobs_in running)/$(jobs_in failed)" = "$QUEUED/0/0"
check "  ... and no export.started" test "$(sql "SELECT count(*)
    FROM texp_control.audit_log WHERE event = 'export.started'
    AND principal = 'fw'")" = 0
chmod 500 "$work/outbox"
cp "$GOOD" "$C"
if [ "$(id -u)" -ne 0 ]; then
	expect_rc 2 "a worker, the outbox not writable, claims nothing" \
		"$E" worker --config "$C" $WAS --name fw --once --poll 1
	check "  ... every job still queued" test "$(jobs_in queued)" = "$QUEUED"
fi
chmod 700 "$work/outbox"
printf 'high_risk_tables = app.files\n' >>"$C"
expect_rc 0 "a worker runs the queue; the job made high-risk since is not claimed" \
	"$E" worker --config "$C" $WAS --name fw --once --poll 1
check "  ... it failed, saying why" test "$(sql "SELECT state || ' ' ||
    (error LIKE '%cannot run as it was requested%') FROM texp_control.jobs
    WHERE substr(encode(id_hash, 'hex'), 1, 32) = '$FJ'")" = "failed true"
check "  ... never started" test "$(sql "SELECT count(*) FROM
    texp_control.audit_log WHERE event = 'export.started' AND job = '$FJ'")" = 0
check "  ... the others ran" test "$(jobs_in queued)/$(jobs_in running)" = "0/0"
rm -f "$work"/outbox/*
cp "$GOOD" "$C"
expect_rc 2 "a malformed date window never reaches PostgreSQL" \
	run --tenant "$CLIENT_B" --tables app.invoices --since notadate
check "  ... saying what a date is" grep -q "2026-01-31" "$work/err"

# ---- what costs nothing is checked before the principal's key is
# unlocked: with a passphrase that would not unlock it, each mistake is
# named, and the key is never tried ----
BAD_AS="--as $work/keys/runner-b.key --passphrase-file $work/keys/wrong.pass"
expect_rc 2 "the wrong passphrase is reached when the request is well formed" \
	"$E" request --config "$C" $BAD_AS --tenant "$CLIENT_B" --tables app.invoices
check "  ... (so the cases below can fail)" grep -q "cannot unlock" "$work/err"
cheap() {	# cheap DESCRIPTION PATTERN COMMAND...
	desc=$1 pat=$2
	shift 2
	expect_rc 2 "$desc, before the unlock" "$E" "$@"
	check "  ... saying so ($pat)" grep -q -- "$pat" "$work/err"
	check "  ... without trying the key" sh -c '! grep -q "unlock" "$1"' sh \
		"$work/err"
}
cheap "request --since notadate" "--since 'notadate' is not a date" \
	request --config "$C" $BAD_AS --tenant "$CLIENT_B" --since notadate
cheap "run --until yesterday" "--until 'yesterday' is not a date" \
	run --config "$C" $BAD_AS --tenant "$CLIENT_B" --until yesterday
cheap "a recipient that is not an age recipient" "is not an age recipient" \
	request --config "$C" $BAD_AS --tenant "$CLIENT_B" --recipient age1nope
cheap "an empty table name" "none empty" \
	request --config "$C" $BAD_AS --tenant "$CLIENT_B" --tables app.invoices,,
cheap "run --job with a malformed id" "is not a job id" \
	run --config "$C" $BAD_AS --job 12345
cheap "status with a malformed id" "is not a job id" \
	status --config "$C" $BAD_AS not-a-job
cheap "--passphrase-out without --passphrase" "add --passphrase" \
	run --config "$C" $BAD_AS --tenant "$CLIENT_B" --passphrase-out "$work/p"
check "  ... and no passphrase file was written" test ! -e "$work/p"

# ---- --as names what is wrong with the key it was given ----
as_wrong() {	# as_wrong DESCRIPTION PATTERN KEY
	expect_rc 2 "--as $1" "$E" status --config "$C" --as "$3" \
		--passphrase-file "$work/keys/runner-b.pass" 0123456789abcdef0123456789abcdef
	check "  ... saying so ($2)" grep -q -- "$2" "$work/err"
}
cp "$work/keys/runner-b.pub" "$work/keys/as-public.pub" 2>/dev/null ||
    "$E" keygen --out "$work/keys/as-public" --unencrypted >/dev/null
as_wrong "given a public key" "is a public key: --as takes your secret key" \
	"$work/keys/as-public.pub"
mkdir -p "$work/keys/as-dir"
as_wrong "given a directory" "is a directory, not a file" "$work/keys/as-dir"
ln -s "$work/keys/runner-b.key" "$work/keys/as-link.key"
as_wrong "given a symbolic link" "is a symbolic link" "$work/keys/as-link.key"
as_wrong "given a missing file" "does not exist" "$work/keys/as-missing.key"

# ---- relative paths are relative to the configuration file ----
mkdir -p "$work/etc"
cp "$work/keys/sign.key" "$work/etc/sign.key"
chmod 600 "$work/etc/sign.key"
sed -e "s|^signing_key = .*|signing_key = sign.key|" \
    -e "s|^outbox = .*|outbox = ../outbox|" "$GOOD" >"$work/etc/rel.conf"
expect_rc 0 "lint with relative paths, run from elsewhere" \
	sh -c 'cd / && "$1" lint --config "$2"' sh "$E" "$work/etc/rel.conf"
expect_rc 0 "run with relative paths, from elsewhere" sh -c 'cd / && "$1" run \
	--config "$2" $3 --tenant "$4" --tables app.invoices' sh "$E" \
	"$work/etc/rel.conf" "$RUN_AS" "$CLIENT_B"
check "  ... the archive is in the outbox the file names" \
	sh -c 'ls "$1"/outbox/*.texp >/dev/null' sh "$work"
rm -f "$work"/outbox/*

# ---- serve starts when all is well, saying what it checked ----
SOCK="$work/serve.sock"
"$E" serve --config "$C" --socket "$SOCK" 2>"$work/serve.log" &
spid=$!
check "serve starts" wait_for "the socket" test -S "$SOCK"
check "  ... naming the signing key it loaded" \
	grep -q "signing key [0-9A-F]* loaded" "$work/serve.log"
kill "$spid"
wait "$spid" 2>/dev/null

# ---- the signing key, loaded before the builder forks, is not in its
# memory ----
case "$build" in *asan*) echo "# scan skipped: sanitizer shadow memory is not scannable"; finish ;; esac
TEXP_TEST_ATTACK=scan TEXP_TEST_ATTACK_ARG="$(tail -n 1 "$work/keys/sign.key")" \
	TEXP_DEBUG_LOG=1 expect_rc 0 "builder scanning its memory for the signing key" \
	"$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
check "  ... finds the tenant id (the scan works)" grep -q "scan: tenant found" "$work/err"
check "  ... but not the signing key" grep -q "scan: secret not found" "$work/err"
finish
