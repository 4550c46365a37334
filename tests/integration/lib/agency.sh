# Shared set-up for integration tests that export from the agency example.
# Source it with PGHOST/PGUSER pointing at a throwaway cluster (tests/run.sh
# does that) and $work set to a fresh directory. It creates database $db
# from examples/agency.sql, runs db-setup, gives the monitor role a
# password, makes keys and writes $work/agency.conf. Sets CLIENT_A/B.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TEXP_BUILD:-$top/build}
E="$build/tenant-export"
H="$build/tests/tenant-export-hooked"
V="$build/tenant-verify"
S="$build/tests/tools/texp-sample"

failures=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; }

# expect_rc WANT DESCRIPTION COMMAND...: output to $work/out and $work/err.
expect_rc() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$work/out" 2>"$work/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc (exit $got)"
	else
		not_ok "$desc: exit $got, wanted $want"
		sed 's/^/#   out: /' "$work/out" | head -n 20
		sed 's/^/#   err: /' "$work/err" | head -n 20
	fi
}

check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

finish() {
	echo "1..$n"
	[ "$failures" -eq 0 ] || { echo "# $failures of $n failed"; exit 1; }
	exit 0
}

sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# wait_for DESCRIPTION COMMAND...: runs COMMAND every 0.1 s until it
# succeeds. Tests wait for a state (a file the test build's builder
# creates, a row in pg_stat_activity), never for a guessed time; the
# bound (WAIT_MAX seconds, default 300) only turns a hang into a failure.
wait_for() {
	wf_desc=$1
	shift
	wf_n=0
	while ! "$@" >/dev/null 2>&1; do
		wf_n=$((wf_n + 1))
		if [ "$wf_n" -ge $((${WAIT_MAX:-300} * 10)) ]; then
			echo "# gave up waiting for $wf_desc"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# holds 'TEST': evaluates TEST (shell text) each time it is called, for
# wait_for on a state that changes: a "$(...)" handed to wait_for itself
# would be read once, before the first try.
holds() {
	eval "$1"
}

# Processes of this test's exports (children are forked, not executed:
# they keep the command line, which names this test's config).
export_procs() {
	pgrep -f -- "--config $work/" >/dev/null
}

# Nothing of an export left: no process (waited for: they end on their
# own), no temporary file in the outbox (anything but published archives),
# no export session, no export role, no job still running.
left_nothing() {
	wait_for "the export's processes to end" sh -c '! pgrep -f -- "--config $1/" >/dev/null' sh "$work"
	check "  ... no process of the export left" sh -c '! pgrep -f -- "--config $1/" >/dev/null' sh "$work"
	check "  ... no temporary file in the outbox" \
		sh -c '! ls -A "$1" | grep -q "^\."' sh "$work/outbox"
	check "  ... no export session open" test \
		"$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename LIKE 'exp\_%'")" = 0
	check "  ... no export role left" test \
		"$(sql "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'exp\_%'")" = 0
	check "  ... no job still running" test \
		"$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'running'")" = 0
}

agency_setup() {
	db=$1
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db" || return 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$top/examples/agency.sql" \
	    >/dev/null || return 1
	mkdir -p "$work/keys" "$work/outbox" "$work/service-state"
	sed -e "s|^dbname = .*|dbname = $db|" "$top/examples/agency.conf" \
	    >"$work/setup.conf"
	"$E" db-setup --config "$work/setup.conf" --user postgres --apply \
	    >/dev/null || return 1
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	    >"$work/keys/monitor.password"
	chmod 600 "$work/keys/monitor.password"
	# on stdin: a password never goes on a command line
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL || return 1
ALTER ROLE texp_monitor PASSWORD '$(cat "$work/keys/monitor.password")';
SQL
	[ -f "$work/keys/client-b.age" ] ||
	    "$V" keygen --out "$work/keys/client-b.age" >"$work/keys/client-b.rcpt"
	[ -f "$work/keys/sign.key" ] ||
	    "$E" keygen --out "$work/keys/sign" --unencrypted >/dev/null
	test_key root || return 1
	sed -e "s|^dbname = .*|dbname = $db|" \
	    -e "s|^# password_file = .*|password_file = $work/keys/monitor.password|" \
	    -e "s|^signing_key = .*|signing_key = $work/keys/sign.key|" \
	    -e "s|^outbox = .*|outbox = $work/outbox|" \
	    -e "s|^root_key = .*|root_key = $work/keys/root.pub|" \
	    -e "s|^service_key = .*|service_key = $work/keys/service.key|" \
	    -e "s|^state_dir = .*|state_dir = $work/service-state|" \
	    "$top/examples/agency.conf" >"$work/agency.conf"
	CLIENT_A=$(sql "SELECT id FROM app.clients WHERE name = 'Client A'")
	CLIENT_B=$(sql "SELECT id FROM app.clients WHERE name = 'Client B'")
	# `run` needs a signed request by a registered principal
	# (docs/CONTROL.md): the control schema, Client B registered with
	# its recipient, and runner-b (requester + pii, assigned to Client
	# B), all signed by the root key. The pipeline tests export whole
	# tenants without a second approver; access.sh tests the approval
	# rules with the defaults.
	printf '\n[control]\nhigh_risk_pii = no\nhigh_risk_whole_tenant = no\n' \
	    >>"$work/agency.conf"
	"$E" init --config "$work/agency.conf" --user postgres >/dev/null ||
	    return 1
	as_root tenant add "$CLIENT_B" --name "Client B" \
	    --recipient "$(cat "$work/keys/client-b.rcpt")" >/dev/null ||
	    return 1
	fixture_principal runner-b requester,pii "$CLIENT_B" || return 1
	RUN_AS="--as $work/keys/runner-b.key --passphrase-file $work/keys/runner-b.pass"
}

# as_root CMD ARGS...: an admin action signed with the root key pinned in
# the configuration, applied by the service run here (--config).
as_root() {
	ar_sub=$1
	shift
	"$E" "$ar_sub" "$@" --config "$work/agency.conf" \
	    --as "$work/keys/root.key" --passphrase-file "$work/keys/root.pass"
}

# test_key NAME: a passphrase-protected principal key with a cheap scrypt
# cost ($work/keys/NAME.key/.pub, passphrase in NAME.pass, 0600).
test_key() {
	[ -f "$work/keys/$1.key" ] && return 0
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/keys/$1.pass"
	chmod 600 "$work/keys/$1.pass"
	"$build/tests/tools/texp-testkey" "$work/keys/$1" "$work/keys/$1.pass"
}

# fixture_principal NAME ROLES TENANT...: a principal registered and
# assigned by the root key.
fixture_principal() {
	fp_name=$1
	fp_roles=$2
	shift 2
	test_key "$fp_name" || return 1
	as_root principal add "$fp_name" --pubkey "$work/keys/$fp_name.pub" \
	    --role "$fp_roles" >/dev/null || return 1
	for fp_t in "$@"; do
		as_root assign "$fp_name" "$fp_t" >/dev/null || return 1
	done
}

# Nothing in the outbox: no archive, no signature, no temporary file.
outbox_empty() {
	[ -z "$(ls -A "$work/outbox")" ]
}

# Verifies the single archive in the outbox as Client B's.
verify_b() {
	"$V" verify --identity "$work/keys/client-b.age" \
	    --signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$@" \
	    "$(ls "$work"/outbox/*.texp | head -n 1)"
}

# Verifies a split archive in the outbox (through its index) as Client B's.
verify_b_index() {
	"$V" verify --identity "$work/keys/client-b.age" \
	    --signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$@" \
	    "$(ls "$work"/outbox/*.texp.index | head -n 1)"
}

# agency_setup_bg NAME: agency_setup on database texp_NAME_PID, for a
# test that starts processes in the background: each pid it adds to $bg
# is killed at exit, and the database and $work are removed. Sets C.
agency_setup_bg() {
	db=texp_$1_$$
	agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
	bg=""
	trap agency_cleanup_bg EXIT
	trap 'exit 1' INT TERM
	C="$work/agency.conf"
}
agency_cleanup_bg() {
	for p in $bg; do kill -KILL "$p" 2>/dev/null; done
	dropdb --if-exists "$db" >/dev/null 2>&1
	rm -rf "$work"
}
