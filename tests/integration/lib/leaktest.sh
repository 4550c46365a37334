# Shared set-up for the leak test's integration tests. Source it after
# tests/integration/lib/agency.sh, with $work set and PGHOST/PGUSER
# pointing at a throwaway cluster.
#
#   lt_keys                      root, auditor and signing keys, the
#                                monitor's password (cluster-wide role)
#   lt_base DB SQL CONF          a database with the application of SQL,
#                                db-setup applied from CONF (a template)
#   lt_db DB BASE FIXTURE CONF   DB copied from BASE, FIXTURE (a file of
#                                tests/leaktest, or -) applied, its own
#                                configuration $work/DB.conf, control
#                                schema, the tenants in $LT_REGISTER
#                                (default $TA $TB) registered, and the
#                                principal "auditor" (role auditor)
#   leaktest DB ARGS...          tenant-export leaktest as the auditor,
#                                report in $work/DB.json (exit status kept)
#   lt_check DB ID STATUS [TENANT]  1 check ID (of TENANT) has STATUS
#   lt_count DB STATUS           number of checks with STATUS

fixtures=$top/tests/leaktest

lt_keys() {
	mkdir -p "$work/keys"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	    >"$work/keys/monitor.password"
	chmod 600 "$work/keys/monitor.password"
	test_key root || return 1
	test_key auditor || return 1
	[ -f "$work/keys/sign.key" ] ||
	    "$E" keygen --out "$work/keys/sign" --unencrypted >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DO \$\$BEGIN
	    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname =
	    'texp_monitor') THEN CREATE ROLE texp_monitor LOGIN; END IF; END\$\$" \
	    >/dev/null || return 1
	# the password on psql's standard input, never on its command line
	psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
ALTER ROLE texp_monitor PASSWORD '$(cat "$work/keys/monitor.password")';
SQL
}

# lt_conf DB CONF OUT: CONF with this test's database, keys and paths.
lt_conf() {
	mkdir -p "$work/$1.state" "$work/outbox"
	sed -e "s|^dbname = .*|dbname = $1|" \
	    -e "s|^user = texp_monitor|user = texp_monitor\npassword_file = $work/keys/monitor.password|" \
	    -e "s|^# password_file = .*||" \
	    -e "s|^signing_key = .*|signing_key = $work/keys/sign.key|" \
	    -e "s|^outbox = .*|outbox = $work/outbox|" \
	    -e "s|^root_key = .*|root_key = $work/keys/root.pub|" \
	    -e "s|^service_key = .*|service_key = $work/keys/service.key|" \
	    -e "s|^state_dir = .*|state_dir = $work/$1.state|" "$2" >"$3"
}

lt_base() {
	dropdb --if-exists "$1" >/dev/null 2>&1
	createdb "$1" || return 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$2" >/dev/null || return 1
	lt_conf "$1" "$3" "$work/$1.conf"
	"$E" db-setup --config "$work/$1.conf" --user postgres --apply \
	    >/dev/null || return 1
}

lt_db() {
	dropdb --if-exists "$1" >/dev/null 2>&1
	createdb -T "$2" "$1" || return 1
	# database privileges are not copied with the template: what
	# db-setup revoked there is revoked here too
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" \
	    -c "REVOKE TEMPORARY ON DATABASE \"$1\" FROM PUBLIC" || return 1
	if [ "$3" != - ]; then
		psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$fixtures/$3" \
		    >/dev/null || return 1
	fi
	lt_conf "$1" "$4" "$work/$1.conf"
	"$E" init --config "$work/$1.conf" --user postgres >/dev/null ||
	    return 1
	for t in ${LT_REGISTER:-$TA $TB}; do
		"$E" tenant add "$t" --name "Tenant $t" --config "$work/$1.conf" \
		    --as "$work/keys/root.key" \
		    --passphrase-file "$work/keys/root.pass" >/dev/null || return 1
	done
	"$E" principal add auditor --pubkey "$work/keys/auditor.pub" \
	    --role auditor --config "$work/$1.conf" --as "$work/keys/root.key" \
	    --passphrase-file "$work/keys/root.pass" >/dev/null
}

leaktest() {
	lt_db_=$1
	shift
	"$E" leaktest --config "$work/$lt_db_.conf" --as "$work/keys/auditor.key" \
	    --passphrase-file "$work/keys/auditor.pass" --json "$@" \
	    >"$work/$lt_db_.json" 2>"$work/$lt_db_.err"
}

lt_check() {
	python3 - "$work/$1.json" "$2" "$3" "${4:-}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = any(c["id"] == sys.argv[2] and c["status"] == sys.argv[3] and
         (not sys.argv[4] or c.get("tenant") == sys.argv[4])
         for c in r["checks"])
sys.exit(0 if ok else 1)
PY
}

lt_count() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sum(1 for c in r["checks"] if c["status"] == sys.argv[2]))' \
	    "$work/$1.json" "$2"
}

# lt_both DB ID STATUS: check ID has STATUS for $TA and for $TB.
lt_both() {
	lt_check "$1" "$2" "$3" "$TA" && lt_check "$1" "$2" "$3" "$TB"
}

# lt_found DB ID OBJECT-SUBSTRING: a failing check ID whose object or
# detail names OBJECT-SUBSTRING.
lt_found() {
	python3 - "$work/$1.json" "$2" "$3" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = any(c["id"] == sys.argv[2] and c["status"] == "fail" and
         (sys.argv[3] in c.get("object", "") or
          sys.argv[3] in json.dumps(c.get("detail")))
         for c in r["checks"])
sys.exit(0 if ok else 1)
PY
}
