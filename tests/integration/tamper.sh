#!/bin/sh
# Whoever holds the control database itself (a database superuser) can
# deny service, but cannot make the exporter export, approve or publish
# what the rightful principals did not sign, without it showing. Each
# attack edits the control tables or the log directly; the service must
# refuse to act on it and `audit verify` must report it.
work=$(mktemp -d /tmp/texp-tamper.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/control.sh"
db=texp_tamper_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$CFG"
sed -i '/^high_risk_/d' "$C"	# the defaults: whole tenants need approval

# tamper SQL: as the superuser, with the triggers off.
tamper() { sql "SET session_replication_role = replica; $1"; }
# row_rewritten SEQ COLUMN SQL WHAT PATTERN: the log's row SEQ with COLUMN
# set to SQL and the hash chain recomputed; the service refuses to act,
# naming the row (PATTERN), and acts again once the column is restored.
row_rewritten() {
	tamper "CREATE TABLE public.saved_col AS SELECT $2 AS v
	    FROM texp_control.audit_log WHERE seq = $1"
	tamper "UPDATE texp_control.audit_log SET $2 = $3 WHERE seq = $1;
	    $(rechain_sql)"
	expect_rc 1 "$4: the service refuses to act" as runner-b status "$JOB"
	check "  ... naming the row" grep -q "row $1 (.*): $5" "$work/err"
	tamper "UPDATE texp_control.audit_log SET $2 = (SELECT v
	    FROM public.saved_col) WHERE seq = $1; DROP TABLE public.saved_col;
	    $(rechain_sql)"
	expect_rc 0 "with it restored, the service acts again" as runner-b \
	    status "$JOB"
}
verify_fails() {	# DESCRIPTION PATTERN: audit verify reports it
	expect_rc 1 "audit verify reports $1" "$E" audit verify --config "$C"
	check "  ... $2" grep -q "$2" "$work/err"
}
principal_keys carol
expect_rc 0 "the root key registers carol, an approver of Client B" \
	as_root principal add carol --pubkey "$work/keys/carol.pub" --role approver
expect_rc 0 "  ... assigned" as_root assign carol "$CLIENT_B"
expect_rc 0 "the log verifies before any attack" "$E" audit verify --config "$C"

# ---- a ghost principal written into the tables ----
principal_keys ghost
gb64=$(tail -n 1 "$work/keys/ghost.pub")
gid=$(key_id ghost)
sql "INSERT INTO texp_control.principals (name, key_id, public_key)
    VALUES ('ghost', '\\x$gid', '$gb64');
    INSERT INTO texp_control.principal_roles (principal_id, role)
    SELECT id, r FROM texp_control.principals, unnest(ARRAY['requester', 'pii']) r
    WHERE name = 'ghost';
    INSERT INTO texp_control.assignments (principal_id, tenant)
    SELECT id, '$CLIENT_B' FROM texp_control.principals WHERE name = 'ghost'"
expect_rc 1 "the ghost cannot request an export" as ghost request \
	--tenant "$CLIENT_B" --tables app.invoices
check "  ... it is not a registered principal" \
	grep -q "not registered to an enabled principal" "$work/err"
check "  ... no job was made" test "$(sql "SELECT count(*) FROM texp_control.jobs")" = 0
verify_fails "the ghost" 'a principal the log never registered: "ghost"'
sql "DELETE FROM texp_control.assignments WHERE principal_id = (SELECT id FROM texp_control.principals WHERE name = 'ghost');
    DELETE FROM texp_control.principal_roles WHERE principal_id = (SELECT id FROM texp_control.principals WHERE name = 'ghost');
    DELETE FROM texp_control.principals WHERE name = 'ghost'"
expect_rc 0 "without the ghost, the log verifies again" "$E" audit verify --config "$C"

# ---- an approval written into the tables ----
expect_rc 0 "runner-b requests all of Client B (high-risk: awaits approval)" \
	as runner-b request --tenant "$CLIENT_B" --confirm "EXPORT Client B"
JOB=$(cat "$work/out")
tamper "UPDATE texp_control.jobs SET state = 'queued', approved_by =
    (SELECT id FROM texp_control.principals WHERE name = 'carol')
    WHERE state = 'awaiting_approval'"
expect_rc 1 "the job approved in the table does not run" as runner-b run --job "$JOB"
check "  ... the tables do not match the signed log" \
	grep -q "do not match the signed log" "$work/err"
check "  ... and nothing is published" outbox_empty
check "  ... the refusal is logged (control.mismatch)" test "$(audit_rows control.mismatch)" = 1
expect_rc 1 "the monitor's own login cannot make an export role for it" \
	msql "SELECT texp_guard.export_role_create('exp_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')',
	    'SCRAM-SHA-256\$4096:c2FsdA==\$c3RvcmVk:c2VydmVy', id_hash)
	    FROM texp_control.jobs WHERE state = 'queued'"
check "  ... only for a running job" grep -q "running job only" "$work/err"
verify_fails "the forged approval" "the state of job"
tamper "UPDATE texp_control.jobs SET state = 'awaiting_approval', approved_by = NULL"
expect_rc 0 "with the table restored, the log verifies again" "$E" audit verify --config "$C"

# ---- an approval forged into the log ----
next=$(($(sql "SELECT max(seq) FROM texp_control.audit_log") + 1))
sql "SELECT texp_control.audit_append_signed($next, 'export.approved', 'carol',
    '$CLIENT_B', NULL, NULL, '{}', 'db', 'x', 'texp-action v1', 'forged')" >/dev/null
expect_rc 1 "with a forged row in the log, the service refuses to act" \
	as runner-b run --job "$JOB"
check "  ... naming the row" grep -q "row $next (export.approved): not signed by the service key" "$work/err"
expect_rc 1 "  ... even to show a job" as runner-b status "$JOB"
check "  ... and nothing is published" outbox_empty
verify_fails "the forged row" "FAILED at row $next"
tamper "DELETE FROM texp_control.audit_log WHERE seq = $next"
expect_rc 0 "without it, the log verifies again" "$E" audit verify --config "$C"

# ---- a row the service verified before, rewritten ----
# The service does not check again the signatures of rows it verified
# before (log-head.verified) while the log still hashes to the same value
# there. A row of that part given another row's signature, the hash chain
# made whole again, must still be caught.
VF="$work/service-state/log-head.verified"
check "the service remembers the rows it verified" test -s "$VF"
TR=$(sql "SELECT min(seq) FROM texp_control.audit_log WHERE event = 'tenant.added'")
check "  ... the tenant's registration among them" \
	test "$(cut -d' ' -f1 "$VF")" -ge "$TR"
OTHER=$(sql "SELECT max(seq) FROM texp_control.audit_log WHERE v = 2 AND seq < $TR")
tamper "CREATE TABLE public.saved_sig AS SELECT signature
    FROM texp_control.audit_log WHERE seq = $TR"
tamper "UPDATE texp_control.audit_log SET signature = (SELECT signature
    FROM texp_control.audit_log WHERE seq = $OTHER) WHERE seq = $TR;
    $(rechain_sql)"
expect_rc 1 "with it given another row's signature, the service refuses to act" \
	as runner-b status "$JOB"
check "  ... naming the row" \
	grep -q "row $TR (tenant.added): the service's signature does not verify" \
	"$work/err"
verify_fails "the swapped signature" "FAILED at row $TR"
tamper "UPDATE texp_control.audit_log SET signature = (SELECT signature
    FROM public.saved_sig) WHERE seq = $TR; DROP TABLE public.saved_sig;
    $(rechain_sql)"
expect_rc 0 "with it restored, the log verifies again" "$E" audit verify --config "$C"
expect_rc 0 "  ... and the service acts again" as runner-b status "$JOB"
printf '1 %064d x y z\n' 0 >"$VF"
expect_rc 0 "a verified-rows file that does not match the log is ignored" \
	as runner-b status "$JOB"
# The newest row has no row after it whose signed link would break; as
# if another host's service had written it, this one's pinned head is
# the row before. Only the verified row's hash protects it then.
N=$(sql "SELECT max(seq) FROM texp_control.audit_log")
PH=$(sql "SELECT encode(hash, 'hex') FROM texp_control.audit_log WHERE seq = $((N - 1))")
CID=$(cut -d' ' -f3 "$work/service-state/log-head")
printf '%s %s %s\n' "$((N - 1))" "$PH" "$CID" >"$work/service-state/log-head"
expect_rc 0 "the log verifies (and its rows are remembered as verified)" \
	"$E" audit verify --config "$C"
check "  ... up to the newest row" test "$(cut -d' ' -f1 "$VF")" = "$N"
row_rewritten "$N" signature "(SELECT signature FROM texp_control.audit_log
    WHERE seq = $((N - 1)))" "the newest row given another's signature" \
	"the service's signature does not verify"

# ---- the detail of a row verified before, its chain recomputed ----
# Rows the service verified before are not compared with what it signed
# again while they hash to the verified row; rewritten and re-chained,
# they no longer do, and everything is checked.
D=$(sql "SELECT min(seq) FROM texp_control.audit_log WHERE v = 2 AND detail IS NOT NULL")
check "the row is among the rows verified before" test "$D" -lt "$(cut -d' ' -f1 "$VF")"
row_rewritten "$D" detail "detail || '{\"forged\": true}'::jsonb" \
	"a verified row's detail rewritten" \
	"its detail differs from what the service signed"

# ---- a revocation removed ----
expect_rc 0 "the root key disables runner-b" as_root principal disable runner-b
R=$(sql "SELECT seq FROM texp_control.audit_log WHERE event = 'principal.disabled'")
expect_rc 0 "another signed change after it" as_root tenant add "$CLIENT_A" --name "Client A"
expect_rc 1 "disabled, runner-b cannot request" as runner-b request \
	--tenant "$CLIENT_B" --tables app.invoices
tamper "DELETE FROM texp_control.audit_log WHERE seq = $R;
    UPDATE texp_control.audit_log SET seq = seq + 1000000 WHERE seq > $R;
    UPDATE texp_control.audit_log SET seq = seq - 1000001 WHERE seq > 1000000;
    UPDATE texp_control.principals SET disabled_at = NULL WHERE name = 'runner-b';
    $(rechain_sql)"
check "the revocation is gone from the tables and the log, whose hash chain is whole" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'principal.disabled'")" = 0
expect_rc 1 "runner-b is still refused" as runner-b request --tenant "$CLIENT_B" \
	--tables app.invoices
check "  ... the log's signed order is broken at the row after it" \
	grep -q "row $R (.*): its signed place in the log differs" "$work/err"
verify_fails "the removed revocation" "FAILED at row $R"

finish
