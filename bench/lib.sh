# bench/lib.sh: the set-up bench/export.sh and bench/leaktest.sh share.
# Sourced with top, B (the build directory) and work (a fresh directory)
# set. bench_db NAME ORDERS OTHER SMALL starts a throwaway PostgreSQL,
# generates bench/gen.sql's 20 tenants into database bench, and prepares a
# control plane: $work/bench.conf ([database], [export], [service] and the
# four tables, then whatever $BENCH_CONF_EXTRA holds), db-setup, the
# monitor's password, init, a signing key, and a root key of a cheap scrypt
# cost ($work/root.key, passphrase in $work/root.pass) for as_root.
bench_db() {
	pg=$(mktemp -d /tmp/texp-bench-pg.XXXXXX)
	trap 'sh "$top/ci/pg.sh" stop "$pg" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
	env_lines=$(sh "$top/ci/pg.sh" start "$pg")
	eval "$env_lines"
	createdb bench
	echo "bench/$1: generating 20 tenants..."
	psql -X -q -d bench -v target_orders="$2" -v other_rows="$3" \
	    -v small_rows="$4" -f "$top/bench/gen.sql"
	mkdir -p "$work/out" "$work/state"
	"$B/tenant-export" keygen --out "$work/sign" --unencrypted >/dev/null
	# the root admin's key signs the set-up only: a cheap scrypt cost
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/root.pass"
	chmod 600 "$work/root.pass"
	"$B/tests/tools/texp-testkey" "$work/root" "$work/root.pass"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/monitor.password"
	chmod 600 "$work/monitor.password"
	cat >"$work/bench.conf" <<CONF
[database]
dbname = bench
user = texp_monitor
password_file = $work/monitor.password

[export]
tenant_key = tenant_id
signing_key = $work/sign.key
outbox = $work/out
${BENCH_EXPORT_EXTRA:-}

[service]
root_key = $work/root.pub
service_key = $work/service.key
state_dir = $work/state

[table bench.tenants]
class = tenant
tenant_key = id

[table bench.orders]
class = tenant

[table bench.events]
class = tenant

[table bench.files]
class = tenant
${BENCH_CONF_EXTRA:-}
CONF
	"$B/tenant-export" db-setup --config "$work/bench.conf" --user postgres \
	    --apply >/dev/null
	# on stdin: a password never goes on a command line
	psql -X -q -v ON_ERROR_STOP=1 -d bench <<SQL
ALTER ROLE texp_monitor PASSWORD '$(cat "$work/monitor.password")';
SQL
	"$B/tenant-export" init --config "$work/bench.conf" --user postgres \
	    >/dev/null
}

# as_root SUBCOMMAND ARGS...: signed by the root key, quietly.
as_root() {
	ar_sub=$1
	shift
	"$B/tenant-export" "$ar_sub" "$@" --config "$work/bench.conf" \
	    --as "$work/root.key" --passphrase-file "$work/root.pass" >/dev/null
}
