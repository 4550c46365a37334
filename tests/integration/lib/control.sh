# Shared set-up for control-plane tests (principals, signed actions, audit).
# Source it after tests/integration/lib/agency.sh, with $work set to a
# fresh directory and PGHOST/PGUSER pointing at a throwaway cluster.
#
#   control_setup DB            agency_setup DB (which runs init)
#   principal_keys NAME         $work/keys/NAME.key/.pub, passphrase in
#                               $work/keys/NAME.pass (0600); cheap scrypt
#                               cost (test_key) when the test tool is built
#   principal_keys_real NAME    the same with `tenant-export keygen`
#   key_id NAME                 hex minisign key id of NAME's key (bytes)
#   key_id_shown NAME           the same as minisign and the log show it
#   control_bootstrap NAME      keys + NAME registered as an admin by the
#                               root key (ADMIN=NAME)
#   as NAME CMD ARGS...         runs tenant-export CMD ARGS --config ...
#                               --as NAME's key --passphrase-file ...
#                               (NAME root: the root key)
#   add_principal NAME ROLES [TENANT...]   by the admin in $ADMIN
#   msql SQL                    psql as the monitor role (texp_monitor)
#   audit_rows EVENT            number of audit rows with that event
#

CFG="$work/agency.conf"

control_setup() {
	agency_setup "$1" || return 1
	"$E" init --config "$CFG" --user postgres >/dev/null || return 1
}

principal_keys() {
	[ -f "$work/keys/$1.key" ] && return 0
	if [ -x "$build/tests/tools/texp-testkey" ]; then
		test_key "$1"
		return
	fi
	principal_keys_real "$1"
}

# principal_keys_real NAME: the same through `tenant-export keygen`
# (minisign's full scrypt cost: a few seconds per signature).
principal_keys_real() {
	[ -f "$work/keys/$1.key" ] && return 0
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' \
	    >"$work/keys/$1.pass"
	chmod 600 "$work/keys/$1.pass"
	"$E" keygen --out "$work/keys/$1" \
	    --passphrase-file "$work/keys/$1.pass" >/dev/null
}

# key_id NAME: hex key id of NAME's public key.
key_id() {
	tail -n 1 "$work/keys/$1.pub" | base64 -d | od -An -tx1 -j2 -N8 |
	    tr -d ' \n'
}

# key_id_shown NAME: NAME's key id as the .pub comment, minisign and the
# audit log show it.
key_id_shown() {
	head -n 1 "$work/keys/$1.pub" | sed 's/.* //'
}

control_bootstrap() {
	ADMIN=$1
	principal_keys "$1" || return 1
	as_root principal add "$1" --pubkey "$work/keys/$1.pub" --role admin \
	    >/dev/null
}

# as NAME CMD ARGS...: tenant-export CMD ARGS signed by NAME.
as() {
	who=$1
	shift
	sub=$1
	shift
	"$E" "$sub" "$@" --config "$CFG" --as "$work/keys/$who.key" \
	    --passphrase-file "$work/keys/$who.pass"
}

# add_principal NAME ROLES [TENANT...]: keys, principal add and
# assignments, signed by $ADMIN.
add_principal() {
	name=$1
	roles=$2
	shift 2
	principal_keys "$name" || return 1
	as "$ADMIN" principal add "$name" --pubkey "$work/keys/$name.pub" \
	    --role "$roles" >/dev/null || return 1
	for t in "$@"; do
		as "$ADMIN" assign "$name" "$t" >/dev/null || return 1
	done
}

msql() {
	PGPASSWORD=$(cat "$work/keys/monitor.password") \
	    psql -X -q -At -v ON_ERROR_STOP=1 -U texp_monitor -d "$db" -c "$1"
}

audit_rows() {
	sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'"
}

# rechain_sql: SQL that recomputes every row's prev_hash and hash in seq
# order, as someone who rewrites the log by hand would (version 1 and 2
# rows each with their own row text).
rechain_sql() {
	cat <<'SQL'
DO $$
DECLARE r record; prev bytea; h bytea;
BEGIN
	FOR r IN SELECT * FROM texp_control.audit_log ORDER BY seq LOOP
		IF prev IS NULL THEN prev := r.prev_hash; END IF;
		IF r.v = 1 THEN
		    h := sha256(prev || convert_to(texp_control.audit_row_text(
		    r.seq, r.at, r.event, r.principal, r.tenant, r.job, r.scope,
		    r.detail, r.host, r.tool_version), 'UTF8'));
		ELSE
		    h := sha256(prev || convert_to(texp_control.audit_row_text2(
		    r.seq, r.at, r.event, r.principal, r.tenant, r.job, r.scope,
		    r.detail, r.host, r.tool_version, r.action, r.signature),
		    'UTF8'));
		END IF;
		UPDATE texp_control.audit_log SET prev_hash = prev, hash = h
		    WHERE seq = r.seq;
		prev := h;
	END LOOP;
END
$$
SQL
}
