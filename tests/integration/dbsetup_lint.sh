#!/bin/sh
# dbsetup_lint.sh: db-setup makes the demo database pass lint, twice in a
# row; then each way of breaking tenant isolation, applied one at a time,
# makes lint exit 1 naming the object, and the repair makes it pass again.
#
# Needs PGHOST/PGUSER=postgres (a throwaway cluster, see tests/run.sh) and
# TEXP_BUILD (the build directory holding tenant-export).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
bin=${TEXP_BUILD:?TEXP_BUILD not set}/tenant-export
db="texp_lint_$$_$(date +%s)"
tmp=$(mktemp -d /tmp/texp-lint.XXXXXX)
login_role="texp_lint_login_$$"
fails=0
checks=0

cleanup() {
	# Cluster-wide state this test may have changed.
	psql -X -q -d postgres -c "ALTER ROLE texp_export NOBYPASSRLS" >/dev/null 2>&1
	dropdb --if-exists "$db" >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $login_role" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

sql() {
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "$1" >"$tmp/sql.out" 2>&1 ||
		{ fail "sql: $1"; cat "$tmp/sql.out"; }
}

lint_passes() {
	checks=$((checks + 1))
	"$bin" lint --config "$tmp/agency.conf" --user postgres >"$tmp/lint.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "lint should pass ($1), exit $rc:"
		sed 's/^/    /' "$tmp/lint.out"
	fi
}

# expect CHECK OBJECT BREAK-SQL REPAIR-SQL
expect() {
	check=$1 object=$2 break=$3 repair=$4
	checks=$((checks + 1))
	sql "$break"
	"$bin" lint --config "$tmp/agency.conf" --user postgres --json \
		>"$tmp/lint.json" 2>"$tmp/lint.err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$check: lint exit $rc, want 1 after: $break"
		sed 's/^/    /' "$tmp/lint.json" "$tmp/lint.err"
	elif ! grep -qF "\"check\": \"$check\"" "$tmp/lint.json" ||
	    ! grep -qF "\"object\": \"$object\"" "$tmp/lint.json"; then
		fail "$check: no finding naming $object after: $break"
		sed 's/^/    /' "$tmp/lint.json"
	fi
	# The text output names the object and a fix too.
	"$bin" lint --config "$tmp/agency.conf" --user postgres >"$tmp/lint.txt" 2>&1
	if ! grep -qF "FAIL $check: $object:" "$tmp/lint.txt" ||
	    ! grep -q "fix: " "$tmp/lint.txt"; then
		fail "$check: text output lacks the finding or its fix"
		sed 's/^/    /' "$tmp/lint.txt"
	fi
	sql "$repair"
	lint_passes "after repairing $check"
}

createdb "$db" || { echo "FAIL: createdb $db"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f examples/agency.sql >"$tmp/load.out" 2>&1 ||
	{ cat "$tmp/load.out"; echo "FAIL: loading examples/agency.sql"; exit 1; }
sed "s/^dbname = .*/dbname = $db/" examples/agency.conf >"$tmp/agency.conf"
# lint also checks the service's files, which the example names relative
# to the configuration file: the signing key and the outbox beside it
"$bin" keygen --out "$tmp/demo-sign" --unencrypted >/dev/null
mkdir -p "$tmp/outbox"

# Before db-setup the database must not pass.
checks=$((checks + 1))
"$bin" lint --config "$tmp/agency.conf" --user postgres >"$tmp/pre.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || { fail "lint before db-setup: exit $rc, want 1"; cat "$tmp/pre.out"; }
grep -qF "FAIL rls_disabled: app.invoices:" "$tmp/pre.out" ||
	fail "lint before db-setup does not report app.invoices without RLS"

# The printed SQL is what --apply runs; it works through psql as well.
checks=$((checks + 1))
"$bin" db-setup --config "$tmp/agency.conf" >"$tmp/setup.sql" 2>"$tmp/setup.err" ||
	{ fail "db-setup (print)"; cat "$tmp/setup.err"; }
grep -q "CREATE ROLE texp_export NOLOGIN" "$tmp/setup.sql" ||
	fail "printed SQL lacks the group role"
grep -q "setup_tenant_table('app', 'invoices', 'tenant_id'" "$tmp/setup.sql" ||
	fail "printed SQL lacks the invoices table"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$tmp/setup.sql" >"$tmp/psql.out" 2>&1 ||
	{ fail "printed SQL does not run in psql"; cat "$tmp/psql.out"; }

checks=$((checks + 1))
"$bin" db-setup --config "$tmp/agency.conf" --apply --user postgres >"$tmp/apply.out" 2>&1 ||
	{ fail "db-setup --apply"; cat "$tmp/apply.out"; }
"$bin" db-setup --config "$tmp/agency.conf" --apply --user postgres >"$tmp/apply.out" 2>&1 ||
	{ fail "db-setup --apply a second time (idempotent)"; cat "$tmp/apply.out"; }

# A deadlock with another session rolls the script back (autovacuum
# analysing a table while the script alters it can do this): db-setup runs
# it again and says so. Here the other session holds app.users, waits until
# the script waits for it, then asks for app.clients, which the script has
# just altered; it never runs the deadlock check itself, so the server
# breaks the cycle in the script's session.
checks=$((checks + 1))
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >"$tmp/holder.out" 2>&1 <<'SQL' &
SET deadlock_timeout = '1h';
BEGIN;
LOCK TABLE app.users IN ACCESS SHARE MODE;
DO $$
BEGIN
	FOR i IN 1 .. 6000 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM pg_locks
		    WHERE relation = 'app.users'::regclass AND NOT granted);
		PERFORM pg_sleep(0.1);
	END LOOP;
END $$;
LOCK TABLE app.clients IN ACCESS SHARE MODE;
COMMIT;
SQL
holder=$!
n=0
until [ "$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_locks
    WHERE relation = 'app.users'::regclass AND granted
    AND pid <> pg_backend_pid()")" -ge 1 ] || [ "$n" -ge 3000 ]; do
	n=$((n + 1))
	sleep 0.1
done
"$bin" db-setup --config "$tmp/agency.conf" --apply --user postgres >"$tmp/apply.out" 2>&1 ||
	{ fail "db-setup --apply against a deadlock"; cat "$tmp/apply.out"; }
wait "$holder" || { fail "the other session"; cat "$tmp/holder.out"; }
grep -q 'deadlocked with the script.*run again (1 time)' "$tmp/apply.out" ||
	{ fail "db-setup does not say that it ran the script again"; cat "$tmp/apply.out"; }
lint_passes "after db-setup --apply"

# Lint as the monitor itself, with its password in a password_file.
checks=$((checks + 1))
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL	# not on a command line
ALTER ROLE texp_monitor PASSWORD 'lint-monitor-$$';
SQL
printf 'lint-monitor-%s\n' "$$" >"$tmp/monitor.pw"
chmod 600 "$tmp/monitor.pw"
sed "s|^user = texp_monitor|user = texp_monitor\npassword_file = $tmp/monitor.pw|" \
	"$tmp/agency.conf" >"$tmp/monitor.conf"
"$bin" lint --config "$tmp/monitor.conf" >"$tmp/mon.out" 2>&1 ||
	{ fail "lint as the monitor with password_file"; cat "$tmp/mon.out"; }
chmod 644 "$tmp/monitor.pw"
"$bin" lint --config "$tmp/monitor.conf" >"$tmp/mon.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] && grep -q "readable by group or others" "$tmp/mon.out" ||
	{ fail "a world-readable password_file must be refused (exit $rc)"; cat "$tmp/mon.out"; }

# db-setup fails closed on a nullable tenant column, naming it.
checks=$((checks + 1))
sql "ALTER TABLE app.events DROP CONSTRAINT events_pkey, ALTER COLUMN tenant_id DROP NOT NULL"
"$bin" db-setup --config "$tmp/agency.conf" --apply --user postgres >"$tmp/apply.out" 2>&1
rc=$?
{ [ "$rc" -eq 1 ] && grep -q "tenant column tenant_id is nullable" "$tmp/apply.out" &&
	grep -q "app.events" "$tmp/apply.out"; } ||
	{ fail "db-setup on a nullable tenant column: exit $rc"; cat "$tmp/apply.out"; }
sql "ALTER TABLE app.events ALTER COLUMN tenant_id SET NOT NULL, ADD PRIMARY KEY (tenant_id, id)"

# One breakage at a time.
expect rls_disabled app.invoices \
	"ALTER TABLE app.invoices DISABLE ROW LEVEL SECURITY" \
	"ALTER TABLE app.invoices ENABLE ROW LEVEL SECURITY"
expect rls_not_forced app.contacts \
	"ALTER TABLE app.contacts NO FORCE ROW LEVEL SECURITY" \
	"ALTER TABLE app.contacts FORCE ROW LEVEL SECURITY"
expect policy_missing app.files \
	"DROP POLICY texp_export_scope ON app.files" \
	"SELECT texp_guard.setup_tenant_table('app', 'files', 'tenant_id', '{}', 'uploaded_at')"
expect policy_missing app.events \
	"ALTER POLICY texp_export_scope ON app.events USING (true)" \
	"SELECT texp_guard.setup_tenant_table('app', 'events', 'tenant_id', '{}', 'occurred_at')"
expect policy_missing app.invoices \
	"ALTER POLICY texp_export_scope ON app.invoices USING (tenant_id = (SELECT texp_guard.role_tenant())::uuid)" \
	"SELECT texp_guard.setup_tenant_table('app', 'invoices', 'tenant_id', '{}', 'issued_on')"
expect policy_other app.users \
	"CREATE POLICY peek ON app.users FOR SELECT USING (true)" \
	"DROP POLICY peek ON app.users"
expect tenant_column_nullable app.events \
	"ALTER TABLE app.events DROP CONSTRAINT events_pkey, ALTER COLUMN tenant_id DROP NOT NULL" \
	"ALTER TABLE app.events ALTER COLUMN tenant_id SET NOT NULL, ADD PRIMARY KEY (tenant_id, id)"
expect unclassified_table app.notes \
	"CREATE TABLE app.notes (tenant_id uuid NOT NULL, body text)" \
	"DROP TABLE app.notes"
expect secret_column app.contacts.reset_token \
	"ALTER TABLE app.contacts ADD COLUMN reset_token text" \
	"ALTER TABLE app.contacts DROP COLUMN reset_token"
expect column_not_granted app.contacts.nickname \
	"ALTER TABLE app.contacts ADD COLUMN nickname text" \
	"ALTER TABLE app.contacts DROP COLUMN nickname"
expect group_privilege app.invoices \
	"GRANT INSERT ON app.invoices TO texp_export" \
	"REVOKE INSERT ON app.invoices FROM texp_export"
expect group_privilege app.currencies \
	"GRANT UPDATE (name) ON app.currencies TO PUBLIC" \
	"REVOKE UPDATE (name) ON app.currencies FROM PUBLIC"
expect temp_on_database "$db" \
	"GRANT TEMPORARY ON DATABASE \"$db\" TO PUBLIC" \
	"REVOKE TEMPORARY ON DATABASE \"$db\" FROM PUBLIC"
expect security_definer_function "app.peek()" \
	"CREATE FUNCTION app.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM app.invoices'" \
	"DROP FUNCTION app.peek()"
expect view_definer app.all_invoices \
	"CREATE VIEW app.all_invoices AS SELECT * FROM app.invoices; GRANT SELECT ON app.all_invoices TO texp_export" \
	"DROP VIEW app.all_invoices"
expect lo_function "pg_catalog.lo_create(oid)" \
	"GRANT EXECUTE ON FUNCTION lo_create(oid) TO PUBLIC" \
	"REVOKE EXECUTE ON FUNCTION lo_create(oid) FROM PUBLIC"
expect fk_without_tenant "files_invoice_loose on app.files" \
	"ALTER TABLE app.invoices ADD CONSTRAINT invoices_id_key UNIQUE (id); ALTER TABLE app.files ADD CONSTRAINT files_invoice_loose FOREIGN KEY (invoice_id) REFERENCES app.invoices (id)" \
	"ALTER TABLE app.files DROP CONSTRAINT files_invoice_loose; ALTER TABLE app.invoices DROP CONSTRAINT invoices_id_key"
expect index_without_tenant "clients_name_key on app.clients" \
	"ALTER TABLE app.clients ADD CONSTRAINT clients_name_key UNIQUE (name)" \
	"ALTER TABLE app.clients DROP CONSTRAINT clients_name_key"
expect index_without_tenant "invoices_number_idx on app.invoices" \
	"CREATE INDEX invoices_number_idx ON app.invoices (number, tenant_id)" \
	"DROP INDEX app.invoices_number_idx"
expect index_without_tenant "events_kind_idx on app.events" \
	"CREATE INDEX events_kind_idx ON app.events (lower(kind))" \
	"DROP INDEX app.events_kind_idx"
expect excluded_column_readable app.users.password_hash \
	"GRANT SELECT (password_hash) ON app.users TO texp_provisioner WITH GRANT OPTION" \
	"REVOKE SELECT (password_hash) ON app.users FROM texp_provisioner CASCADE"
expect readable_unclassified app.users \
	"GRANT SELECT ON app.users TO texp_export" \
	"REVOKE SELECT ON app.users FROM texp_export"
expect readable_unclassified app.api_tokens \
	"GRANT SELECT (label) ON app.api_tokens TO texp_export" \
	"REVOKE SELECT (label) ON app.api_tokens FROM texp_export"
expect readable_unclassified app.api_tokens \
	"GRANT SELECT (label) ON app.api_tokens TO texp_provisioner" \
	"REVOKE SELECT (label) ON app.api_tokens FROM texp_provisioner"
expect sequence_privilege app.invoices_id_seq \
	"GRANT USAGE ON SEQUENCE app.invoices_id_seq TO texp_export" \
	"REVOKE USAGE ON SEQUENCE app.invoices_id_seq FROM texp_export"
expect schema_create app \
	"GRANT CREATE ON SCHEMA app TO texp_export" \
	"REVOKE CREATE ON SCHEMA app FROM texp_export"
expect group_member_of texp_export \
	"GRANT agency_app TO texp_export" \
	"REVOKE agency_app FROM texp_export"
expect group_attributes texp_export \
	"ALTER ROLE texp_export BYPASSRLS" \
	"ALTER ROLE texp_export NOBYPASSRLS"
expect tenant_owner_login app.files \
	"CREATE ROLE $login_role LOGIN; ALTER TABLE app.files OWNER TO $login_role" \
	"ALTER TABLE app.files OWNER TO agency_owner; DROP ROLE $login_role"
expect guard_setup "texp_guard.export_role_create(text,text,bytea)" \
	"GRANT EXECUTE ON FUNCTION texp_guard.export_role_create(text, text, bytea) TO PUBLIC" \
	"REVOKE EXECUTE ON FUNCTION texp_guard.export_role_create(text, text, bytea) FROM PUBLIC"
expect large_object "large object 4242" \
	"SELECT lo_from_bytea(4242, 'x'); GRANT SELECT ON LARGE OBJECT 4242 TO PUBLIC" \
	"SELECT lo_unlink(4242)"

# A configured table that does not exist.
checks=$((checks + 1))
printf '\n[table app.ghost]\nclass = global\n' >>"$tmp/agency.conf"
"$bin" lint --config "$tmp/agency.conf" --user postgres >"$tmp/lint.txt" 2>&1
rc=$?
{ [ "$rc" -eq 1 ] && grep -qF "FAIL missing_table: app.ghost:" "$tmp/lint.txt"; } ||
	{ fail "missing_table: exit $rc"; cat "$tmp/lint.txt"; }

# Usage errors exit 2.
checks=$((checks + 1))
"$bin" lint >/dev/null 2>&1
[ $? -eq 2 ] || fail "lint without --config should exit 2"
"$bin" frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown command should exit 2"
"$bin" --version | grep -q '^tenant-export ' || fail "--version"

echo "dbsetup_lint: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
