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

agency_setup() {
	db=$1
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db" || return 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$top/examples/agency.sql" \
	    >/dev/null || return 1
	mkdir -p "$work/keys" "$work/outbox"
	sed -e "s|^dbname = .*|dbname = $db|" "$top/examples/agency.conf" \
	    >"$work/setup.conf"
	"$E" db-setup --config "$work/setup.conf" --user postgres --apply \
	    >/dev/null || return 1
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	    >"$work/keys/monitor.password"
	chmod 600 "$work/keys/monitor.password"
	sql "ALTER ROLE texp_monitor PASSWORD '$(cat "$work/keys/monitor.password")'"
	[ -f "$work/keys/client-b.age" ] ||
	    "$V" keygen --out "$work/keys/client-b.age" >"$work/keys/client-b.rcpt"
	[ -f "$work/keys/sign.key" ] ||
	    "$E" keygen --out "$work/keys/sign" --unencrypted >/dev/null
	sed -e "s|^dbname = .*|dbname = $db|" \
	    -e "s|^# password_file = .*|password_file = $work/keys/monitor.password|" \
	    -e "s|^recipient = .*|recipient = $(cat "$work/keys/client-b.rcpt")|" \
	    -e "s|^signing_key = .*|signing_key = $work/keys/sign.key|" \
	    -e "s|^outbox = .*|outbox = $work/outbox|" \
	    "$top/examples/agency.conf" >"$work/agency.conf"
	CLIENT_A=$(sql "SELECT id FROM app.clients WHERE name = 'Client A'")
	CLIENT_B=$(sql "SELECT id FROM app.clients WHERE name = 'Client B'")
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
