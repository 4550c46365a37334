#!/bin/sh
# Faults as production meets them, mid-export: the monitor killed, the
# whole process group killed, a hangup, PostgreSQL stopped, the database
# helper crashed, a disk without room for the signature. Afterwards
# nothing of the export may be left (no temporary file, no session, no
# export role, no process) and its job may not stay "running": a killed
# export's job goes back to the queue (an attempt), an interrupted one
# fails, a database that went away is a transient fault. Also: no
# core dump and no ptrace of tenant-export, and sweep's cleaning of
# temporaries of exports that no longer run.
#
# The test build's builder stalls mid-export (a session open, a snapshot
# held, a table read) and says so; each test waits for that state.
work=$(mktemp -d /tmp/texp-faults.XXXXXX)
open_dir=$(mktemp -d /tmp/texp-faults-open.XXXXXX)
mnt=
db=
cleanup() {
	[ -n "$db" ] && dropdb --if-exists "$db" >/dev/null 2>&1
	[ -n "$mnt" ] && umount "$mnt"
	rm -rf "$work" "$open_dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_faults_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
C="$work/agency.conf"

# start_stalled [VAR=VALUE ...]: an export in the background, in a
# process group (session) of its own, stalled mid-export, running in
# $work/core with no limit on core files (none may appear there). Sets
# pid (the monitor, which leads the group) and hpid (the database helper).
mkdir -p "$work/core"
start_stalled() {
	rm -rf "$work/state"
	mkdir "$work/state"
	( cd "$work/core" && { ulimit -c unlimited 2>/dev/null || true; } &&
	  exec env TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_ATTACK=stall "$@" \
		setsid "$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" \
		>"$work/bg.out" 2>"$work/bg.err" ) &
	pid=$!
	wait_for "the builder to stall mid-export" test -e "$work/state/stalled"
	hpid=$(cat "$work/state/helper-pid")
	check "  (the export is stalled mid-export, its session open)" test \
		"$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'exp\_%'")" = 1
}

# dead PID: gone, or a zombie its parent has not reaped yet.
dead() {
	[ ! -e "/proc/$1" ] || grep -q '^State:.Z' "/proc/$1/status"
}

job_state() {
	sql "SELECT state FROM texp_control.jobs ORDER BY created_at DESC LIMIT 1"
}

# ---- the monitor alone, SIGKILL ----
start_stalled
check "  (sweep leaves a running export's temporaries alone)" sh -c '
	"$1" sweep --config "$2" >/dev/null && ls -A "$3" | grep -q "\.tmp-"' \
	sh "$E" "$C" "$work/outbox"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
check "SIGKILL of the monitor: it is gone" dead "$pid"
wait_for "the orphaned children to die" sh -c '! pgrep -f -- "--config $1/" >/dev/null' sh "$work"
check "  ... the orphaned builder died with it: no session, no snapshot held" test \
	"$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'exp\_%'
	    OR (backend_xmin IS NOT NULL AND backend_type = 'client backend'
	    AND datname = current_database() AND pid <> pg_backend_pid())")" = 0
left_nothing
check "  ... the outbox is empty" outbox_empty
check "  ... the job is queued again, saying why" test \
	"$(sql "SELECT state || ' ' || attempts || ': ' || error FROM texp_control.jobs
	    ORDER BY created_at DESC LIMIT 1")" = \
	"queued 1: the exporting process was killed; nothing was published"
check "  ... audited (export.retry, transient)" test "$(sql "SELECT count(*)
	FROM texp_control.audit_log WHERE event = 'export.retry'
	AND detail->>'reason' = 'transient'")" = 1

# ---- the whole process group, SIGKILL (a job runner's timeout) ----
start_stalled
kill -KILL "-$pid"
wait "$pid" 2>/dev/null
left_nothing
check "SIGKILL of the process group: nothing left, the job queued again" test "$(job_state)" = queued

# ---- a hangup of the process group (the terminal closed) ----
start_stalled
kill -HUP "-$pid"
wait "$pid"
rc=$?
check "SIGHUP of the process group fails the export (exit 1)" test "$rc" = 1
check "  ... saying so" grep -q "SIGHUP" "$work/bg.err"
left_nothing
check "  ... the job failed" test "$(job_state)" = failed

# ---- PostgreSQL stopped mid-export, then started again ----
# The session is lost; the helper keeps trying to drop the role until the
# server is back; the job goes back to the queue (transient,
# docs/CONTROL.md) and the same job run again, which does not stall,
# publishes.
start_stalled TEXP_TEST_ATTACK_ONCE=1
sh "$top/ci/pg.sh" stop-server "$PGHOST"
check "PostgreSQL stopped mid-export" sh -c '! psql -X -q -c "SELECT 1" >/dev/null 2>&1'
sh "$top/ci/pg.sh" start-server "$PGHOST"
wait "$pid"
rc=$?
check "  ... the export fails" test "$rc" != 0
check "  ... with a database error, the job queued again" \
	grep -q "database: .*retries it in" "$work/bg.err"
check "  ... (queued)" test "$(job_state)" = queued
expect_rc 0 "  ... the same job run again publishes" "$E" run --config "$C" \
	$RUN_AS --job "$(sql "SELECT encode(id_hash, 'hex') FROM texp_control.jobs
	    ORDER BY created_at DESC LIMIT 1")"
expect_rc 0 "  ... and the archive proves as B's" verify_b
left_nothing
check "  ... the job is ready" test "$(job_state)" = ready
rm -f "$work"/outbox/*

# ---- the database helper crashes ----
# The monitor drops the role through a fresh helper when it ends.
start_stalled
kill -SEGV "$hpid"
wait_for "the helper to die" dead "$hpid"
kill -TERM "$pid"
wait "$pid"
rc=$?
check "a crashed helper, then SIGTERM: the export fails (exit 1)" test "$rc" = 1
check "  ... interrupted" grep -q "interrupted by SIGTERM" "$work/bg.err"
left_nothing
check "  ... the job failed" test "$(job_state)" = failed
check "  ... and the crash wrote no core file (with ulimit -c unlimited)" \
	sh -c '[ -z "$(ls -A "$1")" ]' sh "$work/core"

# ---- no core dump and no ptrace ----
start_stalled
check "tenant-export runs with RLIMIT_CORE 0" \
	grep -Eq "^Max core file size +0 +0 " "/proc/$pid/limits"
kill -SEGV "$pid"
wait "$pid" 2>/dev/null
left_nothing
check "  ... a SIGSEGV of the monitor wrote no core file" \
	sh -c '[ -z "$(ls -A "$1")" ]' sh "$work/core"
# Not dumpable: another process of the same (unprivileged) user cannot
# read its memory or environment. tenant-export waits on a FIFO for its
# config here, as nobody; cat, the control, is dumpable.
chmod 0755 "$open_dir"
mkfifo "$open_dir/fifo"
chmod 0666 "$open_dir/fifo"
if runuser -u nobody -- test -x "$E"; then
	runuser -u nobody -- "$E" lint --config "$open_dir/fifo" >/dev/null 2>&1 &
	npid=$!
	runuser -u nobody -- sleep 300 &
	cpid=$!
	# (runuser starts the command as its child)
	wait_for "tenant-export to wait on its config" sh -c '
		pid=$(pgrep -P "$1") && grep -q "^State:.S" /proc/$pid/status' sh "$npid"
	wait_for "the control to start" pgrep -P "$cpid"
	epid=$(pgrep -P "$npid")
	spid=$(pgrep -P "$cpid")
	check "  ... another process of its user cannot read its memory" \
		sh -c '! runuser -u nobody -- head -c 1 /proc/$1/environ >/dev/null 2>&1' sh "$epid"
	check "  ... (it can for a dumpable process of that user)" \
		sh -c 'runuser -u nobody -- head -c 1 "/proc/$1/environ" >/dev/null' sh "$spid"
	kill "$epid" "$spid" 2>/dev/null
	wait "$npid" "$cpid" 2>/dev/null
	true
else
	echo "# ptrace check skipped: nobody cannot run $E"
fi

# ---- sweep: the temporaries of exports that no longer run ----
# Every process of the export killed, the helper first: nothing cleans up
# but sweep.
start_stalled
kill -KILL "$hpid"
kill -KILL "-$pid"
wait "$pid" 2>/dev/null
wait_for "the export's processes to end" sh -c '! pgrep -f -- "--config $1/" >/dev/null' sh "$work"
check "everything killed: the temporaries stay" sh -c 'ls -A "$1" | grep -q "\.tmp-"' sh "$work/outbox"
expect_rc 0 "  ... sweep removes them" "$E" sweep --config "$C"
check "  ... saying how many" grep -Eq "[1-9][0-9]* temporary files? of ended exports removed" "$work/out"
check "  ... the outbox is empty" outbox_empty
check "  ... an unrelated hidden file is left alone" sh -c '
	touch "$1/.keep" && "$2" sweep --config "$3" >/dev/null && test -e "$1/.keep"' \
	sh "$work/outbox" "$E" "$C"
rm -f "$work/outbox/.keep"
# An archive no job names (its export killed between publishing and
# recording it): sweep removes it, and only files named as an export's.
orphan=export-20260101-0123456789abcdef0123456789abcdef.texp
touch "$work/outbox/$orphan" "$work/outbox/$orphan.minisig" \
    "$work/outbox/$orphan.notours" "$work/outbox/.$orphan.tmp-0123456789abcdef"
expect_rc 0 "an archive no job names: sweep removes it" "$E" sweep --config "$C"
check "  ... with its signature and its temporary, and nothing else" sh -c '
	! test -e "$1/$2" && ! test -e "$1/$2.minisig" &&
	! test -e "$1/.$2.tmp-0123456789abcdef" && test -e "$1/$2.notours"' \
	sh "$work/outbox" "$orphan"
rm -f "$work/outbox/$orphan.notours"
# The role of such an export stays until its grant expires (then sweep
# drops it): dropped here by hand. Its job stays running until its lease
# expires and sweep takes it back: with a short lease, sweep is asked
# until it has.
sql "SELECT texp_guard.export_role_drop(rolname::text) FROM pg_roles WHERE rolname LIKE 'exp\_%'" >/dev/null
sed "/^\[control\]/a lease_timeout = 3s" "$C" >"$work/short-lease.conf"
taken_back() {
	"$E" sweep --config "$work/short-lease.conf" >/dev/null 2>&1
	[ "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'running'")" = 0 ]
}
wait_for "sweep to take the killed export's job back" taken_back
check "  ... sweep takes its job back once its lease expired" taken_back

# ---- room for the archive but not for its signature ----
# The test build's monitor pauses before it signs (TEXP_TEST_PAUSE=sign:
# it says "signing" and waits for "release"); the test fills the disk
# then.
mkdir -p "$work/small"
if mount -t tmpfs -o size=16m,mode=0700 tmpfs "$work/small" 2>/dev/null; then
	mnt="$work/small"
	sed "s|^outbox = .*|outbox = $work/small|" "$C" >"$work/small.conf"
	rm -rf "$work/state"
	mkdir "$work/state"
	( TEXP_TEST_STATE_DIR="$work/state" TEXP_TEST_PAUSE=sign "$H" run \
		--config "$work/small.conf" $RUN_AS --tenant "$CLIENT_B" \
		>"$work/bg.out" 2>"$work/bg.err"; echo $? >"$work/bg.rc" ) &
	wait_for "the export to be about to sign" test -e "$work/state/signing"
	dd if=/dev/zero of="$work/small/filler" bs=4096 2>/dev/null
	touch "$work/state/release"
	wait
	rm -f "$work/small/filler"
	check "an outbox with room for the archive but not its signature (exit 2)" \
		test "$(cat "$work/bg.rc")" = 2
	[ "$(cat "$work/bg.rc")" = 2 ] || sed 's/^/#   err: /' "$work/bg.err"
	check "  ... says there is no space" grep -q "no space left" "$work/bg.err"
	check "  ... and leaves nothing in it" sh -c '[ -z "$(ls -A "$1")" ]' sh "$work/small"
	umount "$work/small"
	mnt=
else
	echo "# no-space check skipped: cannot mount a tmpfs here"
fi
left_nothing

finish
