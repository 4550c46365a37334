#!/bin/sh
# The auditor's leak test (docs/AUDIT.md) on a real PostgreSQL: the clean
# example passes; a deliberately broken database for each class of leak
# fails and names it; the auditor's right is the service's to decide and
# lets them export nothing; canaries go where they should and are gone
# after; the report holds no row value; JUnit XML parses.
work=$(mktemp -d /tmp/texp-leaktest.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/leaktest.sh"
TA=a0000000-0000-4000-8000-00000000000a
TB=b0000000-0000-4000-8000-00000000000b
base=lt_agency_$$
tbase=lt_text_$$
dbs="$base $tbase"
cleanup() {
	for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
lt_keys || { echo "not ok - keys"; exit 1; }
lt_base "$base" "$top/examples/agency.sql" "$top/examples/agency.conf" ||
    { echo "not ok - the agency base database"; exit 1; }
lt_base "$tbase" "$fixtures/textkeys.sql" "$fixtures/textkeys.conf" ||
    { echo "not ok - the text-keyed base database"; exit 1; }

# ---- the clean example passes ----
db=lt_clean_$$
dbs="$dbs $db"
check "the clean example, with its control plane" \
	lt_db "$db" "$base" - "$top/examples/agency.conf"
expect_rc 0 "leaktest of every tenant of the clean example: nothing leaks" \
	leaktest "$db" --junit "$work/clean.xml"
check "  ... no finding, no error, nothing skipped" test \
	"$(lt_count "$db" fail)$(lt_count "$db" error)$(lt_count "$db" skip)" = 000
for id in session.select session.set_custom session.set_config \
    session.reset_all session.reset_role session.set_role \
    session.session_authorization session.discard_all \
    session.row_security_off session.copy session.views session.functions \
    session.stats session.write.insert session.write.update \
    session.write.delete session.write.temp session.write.create \
    session.write.sequences session.write.large_objects data.proof \
    data.foreign_ids data.completeness; do
	check "  ... $id passed for both tenants" lt_both "$db" "$id" pass
done
for id in schema.lint tenants.selected references.fk references.undeclared access.control \
    access.request access.run access.run_job access.approve access.status \
    access.list access.cancel access.fetch access.replay access.stale \
    access.self_approval access.cleanup; do
	check "  ... $id passed" lt_check "$db" "$id" pass
done
check "the JSON report is the documented object" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["leaktest"] == 1 and r["result"] == "pass" and r["exit"] == 0
assert set(r["tenants"]) == {sys.argv[2], sys.argv[3]}
assert r["summary"]["checks"] == len(r["checks"]) > 50
for c in r["checks"]:
    assert set(c) >= {"id", "step", "tenant", "status", "count", "message",
                      "detail"}, c
' "$work/$db.json" "$TA" "$TB"
check "the JUnit XML parses, one test case per check" python3 -c '
import json, sys, xml.etree.ElementTree as E
x = E.parse(sys.argv[1]).getroot()
r = json.load(open(sys.argv[2]))
assert x.tag == "testsuites" and x.get("failures") == "0"
assert len(x.findall(".//testcase")) == len(r["checks"])
' "$work/clean.xml" "$work/$db.json"
# Values of the example's rows: none may reach the report.
check "the report holds no row value" sh -c '! grep -E -q \
    "A-INV-|B-INV-|example\\.a\\.test|A-Contact|B-Contact|whsec_|argon2|\\+41 44|A-file-|Zo" "$1"' \
    sh "$work/$db.json"
sqlc() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
check "the log holds the run as its own events" test \
	"$(sqlc "SELECT string_agg(event || ':' || n, ',' ORDER BY event) FROM
	(SELECT event, count(*) n FROM texp_control.audit_log
	 WHERE event LIKE 'leaktest.%' GROUP BY event) s")" = \
	"leaktest.finished:1,leaktest.job.finished:2,leaktest.job.started:2,leaktest.probe.added:2,leaktest.probe.removed:2,leaktest.started:1"
check "  ... the start records the auditor's own signed action" test \
	"$(sqlc "SELECT principal || ':' || (action LIKE '%signed_action=%')
	FROM texp_control.audit_log WHERE event = 'leaktest.started'")" = auditor:true
check "  ... and the refusals the probes provoked" test \
	"$(sqlc "SELECT count(*) FROM texp_control.audit_log
	WHERE event LIKE '%.denied' AND principal LIKE 'lt-%'")" -ge 18
check "  ... the probes are disabled, their jobs cancelled" test \
	"$(sqlc "SELECT count(*) FROM texp_control.principals
	WHERE name LIKE 'lt-%' AND disabled_at IS NULL") $(sqlc "SELECT count(*)
	FROM texp_control.jobs WHERE state <> 'cancelled'")" = "0 0"
check "  ... the leak test jobs are done, no export role is left" test \
	"$(sqlc "SELECT string_agg(DISTINCT state, ',') FROM
	texp_control.leaktest_jobs") $(sqlc "SELECT count(*) FROM pg_roles
	WHERE rolname LIKE 'exp\_%'")" = "done 0"
expect_rc 0 "the signed log and its cache still verify" \
	"$E" audit verify --config "$work/$db.conf"

# ---- choosing tenants ----
# (a control plane with one tenant: the access step is skipped, said so)
one=lt_one_$$
dbs="$dbs $one"
LT_REGISTER=$TA check "a second database, one tenant registered" \
	lt_db "$one" "$base" - "$top/examples/agency.conf"
expect_rc 0 "one tenant only (--tenant)" leaktest "$one" --tenant "$TB"
check "  ... the access step says why it did not run" lt_check "$one" access.control skip
check "  ... tests just that one" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["tenants"] == [sys.argv[2]], r["tenants"]
assert not any(c["tenant"] == sys.argv[3] and c["step"] in ("session", "data")
               for c in r["checks"])
' "$work/$one.json" "$TB" "$TA"
expect_rc 0 "a random sample (--sample 1)" leaktest "$one" --sample 1
check "  ... tests one tenant" python3 -c '
import json, sys
assert len(json.load(open(sys.argv[1]))["tenants"]) == 1' "$work/$one.json"
expect_rc 2 "a tenant that is nowhere in the database cannot be tested" \
	leaktest "$one" --tenant c0000000-0000-4000-8000-00000000000c
check "  ... and says so" lt_check "$one" tenants.unknown error

# ---- the auditor's right is the service's to decide ----
C="$work/$db.conf"
test_key runner
"$E" principal add runner --pubkey "$work/keys/runner.pub" \
    --role requester,approver,pii,fetcher,admin --config "$C" \
    --as "$work/keys/root.key" --passphrase-file "$work/keys/root.pass" \
    >/dev/null
"$E" assign runner "$TA" --config "$C" --as "$work/keys/root.key" \
    --passphrase-file "$work/keys/root.pass" >/dev/null
expect_rc 2 "a principal without the role auditor may not run it (even an admin)" \
	"$E" leaktest --config "$C" --as "$work/keys/runner.key" \
	--passphrase-file "$work/keys/runner.pass"
check "  ... said in words" grep -q "needs the role auditor" "$work/err"
check "  ... and audited (leaktest.denied, not_auditor)" test \
	"$(sqlc "SELECT count(*) FROM texp_control.audit_log WHERE event =
	'leaktest.denied' AND principal = 'runner' AND
	detail->>'reason' = 'not_auditor'")" = 1
expect_rc 1 "the auditor may not request an export" \
	"$E" request --tenant "$TA" --tables app.invoices --config "$C" \
	--as "$work/keys/auditor.key" --passphrase-file "$work/keys/auditor.pass"
expect_rc 1 "  ... nor list jobs of a tenant" \
	"$E" list --tenant "$TA" --config "$C" \
	--as "$work/keys/auditor.key" --passphrase-file "$work/keys/auditor.pass"
TEXP_TEST_ACTION_AGE=3600 expect_rc 2 "a leak test request signed an hour ago is stale" \
	"$H" leaktest --config "$C" --as "$work/keys/auditor.key" \
	--passphrase-file "$work/keys/auditor.pass"
check "  ... and audited (stale)" test "$(sqlc "SELECT count(*) FROM
	texp_control.audit_log WHERE event = 'leaktest.denied' AND
	detail->>'reason' = 'stale'")" = 1
expect_rc 2 "canaries are refused where the service's configuration does not say staging" \
	leaktest "$db" --plant-canaries
check "  ... audited (not_staging)" test "$(sqlc "SELECT count(*) FROM
	texp_control.audit_log WHERE event = 'leaktest.denied' AND
	detail->>'reason' = 'not_staging'")" = 1

# ---- canaries on a staging copy ----
# (both tenants tested, one registered: no access step to wait for)
psql -X -q -d postgres -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM
    pg_roles WHERE rolname = 'lt_canary_writer') THEN CREATE ROLE
    lt_canary_writer LOGIN IN ROLE agency_app; END IF; END\$\$"
# (the password on psql's standard input, never on its command line)
psql -X -q -d postgres <<SQL
ALTER ROLE lt_canary_writer PASSWORD 'canary-$$';
SQL
printf 'canary-%s\n' $$ >"$work/keys/canary.password"
chmod 600 "$work/keys/canary.password"
printf '\n[leaktest]\nstaging = yes\ncanary_user = lt_canary_writer\ncanary_password_file = %s\n' \
    "$work/keys/canary.password" >>"$work/$one.conf"
canaries() {
	psql -X -q -At -d "$one" -c "SELECT (SELECT count(*) FROM app.users WHERE email LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.contacts WHERE name LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.invoices WHERE number LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.files WHERE file_name LIKE
	'texp-canary-%') + (SELECT count(*) FROM app.events WHERE kind LIKE
	'texp-canary-%')"
}
db=$one
expect_rc 0 "with canaries planted: each archive holds its own, no other's" \
	leaktest "$db" --plant-canaries
check "  ... canaries planted for both tenants" lt_both "$db" canaries.plant pass
check "  ... each found in its own export, none in the other's" \
	lt_both "$db" data.canaries pass
check "  ... and deleted" lt_check "$db" canaries.delete pass
check "  ... in every tenant table but the tenants table itself" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == "canaries.plant"]
assert all(x["count"] == 5 for x in c), [x["count"] for x in c]
' "$work/$db.json"
check "  ... and deleted afterwards" test "$(canaries)" = 0
check "  ... the log says where they went and that they are gone" test \
	"$(sqlc "SELECT count(*) FROM texp_control.audit_log WHERE event IN
	('leaktest.canaries.planted', 'leaktest.canaries.deleted')")" = 3

# ---- one deliberately broken database per class of leak ----
# broken BASE FIXTURE: a fresh database from the base with the fixture
# applied; the leak test of Client A (or acme) must fail. One tenant is
# registered: the access step (tested above) is skipped.
broken() {
	bdb=lt_${2%.sql}_$$
	dbs="$dbs $bdb"
	if [ "$1" = text ]; then
		LT_REGISTER=acme lt_db "$bdb" "$tbase" "$2" \
		    "$fixtures/textkeys.conf" || return 1
		leaktest "$bdb" --tenant acme
	else
		LT_REGISTER=$TA lt_db "$bdb" "$base" "$2" \
		    "$top/examples/agency.conf" || return 1
		leaktest "$bdb" --tenant "$TA"
	fi
	[ $? = 1 ]
}
check "ILIKE in the policy: leaktest fails" broken text ilike.sql
db=lt_ilike_$$
check "  ... lint names the policy" lt_found "$db" schema.lint crm.notes
check "  ... the session sees the other tenant's rows" lt_check "$db" session.select fail acme
check "  ... and through COPY" lt_check "$db" session.copy fail acme
# The export itself names the tenant in its query too (defence in depth):
# the policy is broken, the export still carries only acme's rows.
check "  ... while the export's own filter still holds" lt_check "$db" data.proof pass acme
check "lower() in the policy: leaktest fails" broken text lower.sql
db=lt_lower_$$
check "  ... lint names the policy" lt_found "$db" schema.lint crm.notes
check "  ... the session sees the other tenant's rows" lt_check "$db" session.copy fail acme
check "  ... while the export's own filter still holds" lt_check "$db" data.proof pass acme
check "the policy missing on one table: leaktest fails" broken agency missing_policy.sql
db=lt_missing_policy_$$
check "  ... lint names the table" lt_found "$db" schema.lint app.files
check "  ... the export drops the table's rows" lt_found "$db" data.completeness app.files
check "RLS enabled but not forced, owner can log in: leaktest fails" broken agency not_forced.sql
db=lt_not_forced_$$
check "  ... lint names it" lt_found "$db" schema.lint "not forced"
check "  ... and the login owner" lt_found "$db" schema.lint lt_events_owner
check "a view without security_invoker for the export group: leaktest fails" broken agency definer_view.sql
db=lt_definer_view_$$
check "  ... the session reads other tenants' rows through it" lt_found "$db" session.views app.invoice_list
check "  ... lint names the view" lt_found "$db" schema.lint app.invoice_list
check "a SECURITY DEFINER function returning every tenant's rows: leaktest fails" broken agency definer_function.sql
db=lt_definer_function_$$
check "  ... the session calls it and sees other tenants' rows" lt_found "$db" session.functions all_contacts
check "  ... lint names it" lt_found "$db" schema.lint all_contacts
check "a row of Client A referencing a row of Client B: leaktest fails" broken agency cross_reference.sql
db=lt_cross_reference_$$
check "  ... the foreign key closure counts it" lt_found "$db" references.fk invoices_contact_fkey
check "  ... one row, from A to B" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == "references.fk" and c["status"] == "fail"]
assert c[0]["count"] == 1, c
assert c[0]["detail"][0]["pairs"] == [{"tenant": sys.argv[2], "ref_tenant": sys.argv[3], "rows": 1}]
' "$work/$db.json" "$TA" "$TB"
check "a JSON value of Client A holding Client B's id: leaktest fails" broken agency json_foreign_id.sql
db=lt_json_foreign_id_$$
check "  ... the data scan finds it (table, column, record)" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == "data.foreign_ids"][0]
assert c["status"] == "fail" and c["count"] == 1, c
d = c["detail"][0]
assert (d["table"], d["column"], d["foreign_tenant"], d["records"]) == \
    ("app.events", "payload", sys.argv[2], 1), d
' "$work/$db.json" "$TB"
check "  ... as a column holding another tenant's id without a key" lt_found "$db" references.undeclared payload
check "a policy narrower than the tenant (the export drops rows): leaktest fails" broken agency narrow_policy.sql
db=lt_narrow_policy_$$
check "  ... the row counts differ from the independent count" lt_found "$db" data.completeness app.invoices
check "  ... the other tables are complete" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == "data.completeness"][0]
bad = [d["table"] for d in c["detail"] if d["exported"] != d["counted"]]
assert bad == ["app.invoices"], bad
' "$work/$db.json"
finish
