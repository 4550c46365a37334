#!/bin/sh
# Any real schema, any real tenant id (tests/fixtures/saas.sql): names with
# spaces, quotes, dots and upper case in the config and the archive; text
# tenant ids that differ only by case, a trailing space, a look-alike, a
# combining character, an emoji, or that are full of SQL metacharacters;
# orphan rows; hazards lint must tell the DBA about. Each tenant is
# exported and compared row by row with direct SQL, and each archive is
# scanned for every other tenant's ids and keys: no false hit, no miss.
work=$(mktemp -d /tmp/texp-anyschema.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_anyschema_$$
cleanup() {
	dropdb --if-exists "$db" >/dev/null 2>&1
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS saas_monitor" \
	    >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
psql -X -q -d postgres -c "DROP ROLE IF EXISTS saas_monitor" >/dev/null 2>&1
createdb "$db" || { echo "not ok - createdb"; exit 1; }
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$top/tests/fixtures/saas.sql" \
    >/dev/null || { echo "not ok - loading saas.sql"; exit 1; }
mkdir -p "$work/keys" "$work/outbox" "$work/service-state"
# lint checks the service's signing key and outbox too: both exist first
"$E" keygen --out "$work/keys/sign" --unencrypted >/dev/null
C="$work/saas.conf"
sed -e "s|^dbname = .*|dbname = $db|" \
    -e "s|^signing_key = .*|signing_key = $work/keys/sign.key|" \
    -e "s|^outbox = .*|outbox = $work/outbox|" \
    -e "s|^root_key = .*|root_key = $work/keys/root.pub|" \
    -e "s|^service_key = .*|service_key = $work/keys/service.key|" \
    -e "s|^state_dir = .*|state_dir = $work/service-state|" \
    "$top/tests/fixtures/saas.conf" >"$C"
as_root() {
	ar_sub=$1
	shift
	"$E" "$ar_sub" "$@" --config "$C" \
	    --as "$work/keys/root.key" --passphrase-file "$work/keys/root.pass"
}
snapshot() {
	sql "SELECT (SELECT string_agg(c.relname, ',' ORDER BY c.relname)
	    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname IN ('crm', 'Ops.Data')) || '/' ||
	    (SELECT count(*) FROM crm.tenants) || '/' ||
	    (SELECT count(*) FROM crm.\"Order Items\") || '/' ||
	    (SELECT md5(string_agg(t::text, ',' ORDER BY t::text))
	     FROM crm.\"Order Items\" t)"
}

# ---- lint before anything: orphans, and a table the config lacks ----
expect_rc 1 "lint finds the unfinished schema" \
	"$E" lint --config "$C" --user postgres
cp "$work/out" "$work/lint1"
check "a nullable tenant column is a finding" \
	grep -qF 'FAIL tenant_column_nullable: crm.notes:' "$work/lint1"
check "  ... its orphan rows are counted" \
	grep -qF 'NOTE orphan_rows: crm.notes.tenant_id: 3 rows have a NULL' \
	"$work/lint1"
check "  ... with how to quarantine them" grep -qF \
	'CREATE TABLE "crm"."notes_orphans" AS SELECT * FROM "crm"."notes" WHERE "tenant_id" IS NULL' \
	"$work/lint1"
check "an unclassified table with quotes in its name is named exactly" \
	grep -qF 'FAIL unclassified_table: crm."Audit ""Trail""":' "$work/lint1"
hint=$(sed -n 's/.*add \(\[table crm\.\"Audit .*\]\) with class.*/\1/p' \
    "$work/lint1" | head -n 1)
check "  ... and its fix is a config line" \
	test "$hint" = '[table crm."Audit ""Trail"""]'
check "the quoted names of the config are found (no missing_table)" \
	sh -c '! grep -q "missing_table" "$1"' sh "$work/lint1"

# ---- db-setup refuses the nullable column and applies nothing ----
expect_rc 1 "db-setup refuses a nullable tenant column" \
	"$E" db-setup --config "$C" --user postgres --apply
check "  ... naming the table" grep -q 'notes.*nullable' "$work/err"
check "  ... saying nothing was applied" grep -q 'nothing was applied' "$work/err"
check "  ... and not claiming a login role it rolled back" \
	sh -c '! grep -q "created login role" "$1"' sh "$work/err"
check "  ... which indeed does not exist" \
	test "$(sql "SELECT count(*) FROM pg_roles WHERE rolname = 'saas_monitor'")" = 0

# ---- the DBA follows lint's fixes ----
sql 'CREATE TABLE "crm"."notes_orphans" AS SELECT * FROM "crm"."notes" WHERE "tenant_id" IS NULL;
    DELETE FROM "crm"."notes" WHERE "tenant_id" IS NULL;
    ALTER TABLE "crm"."notes" ALTER COLUMN "tenant_id" SET NOT NULL;
    ALTER TABLE "crm"."notes_orphans" OWNER TO saas_owner' >/dev/null
printf '\n%s\nclass = excluded\n\n[table crm.notes_orphans]\nclass = excluded\n' \
    "$hint" >>"$C"
expect_rc 0 "db-setup applies" "$E" db-setup --config "$C" --user postgres --apply
check "  ... and says it created the monitor's login role" \
	grep -q 'created login role saas_monitor' "$work/err"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/keys/monitor.password"
chmod 600 "$work/keys/monitor.password"
sql "ALTER ROLE saas_monitor PASSWORD '$(cat "$work/keys/monitor.password")'"
sed -i "s|^user = saas_monitor|user = saas_monitor\npassword_file = $work/keys/monitor.password|" "$C"

# ---- lint is clean, and tells the DBA what the export cannot reach ----
expect_rc 0 "lint passes" "$E" lint --config "$C" --user postgres
cp "$work/out" "$work/lint2"
check "  ... lint: ok with notes" grep -q '^lint: ok.*notes for the DBA' "$work/lint2"
check "  ... the all-tenant view" \
	grep -qF 'NOTE view_without_invoker: crm.all_orders:' "$work/lint2"
check "  ... the SECURITY DEFINER function reading tenant rows" \
	grep -qF 'NOTE definer_reads_tenant: crm.order_count(text):' "$work/lint2"
check "  ... the login role with BYPASSRLS" \
	grep -qF 'NOTE login_bypasses_rls: saas_support:' "$work/lint2"
check "  ... the application policy without the tenant column" \
	grep -qF 'NOTE policy_without_tenant_scope: crm."Order Items":' "$work/lint2"
check "  ... every note has a fix" \
	sh -c '[ "$(grep -c "^NOTE" "$1")" -eq "$(grep -A1 "^NOTE" "$1" | grep -c "fix: .")" ]' \
	sh "$work/lint2"
expect_rc 0 "lint as the monitor role passes too" "$E" lint --config "$C"

# ---- the control plane: eight tenants, one runner ----
"$V" keygen --out "$work/keys/t.age" >"$work/keys/t.rcpt"
test_key root
expect_rc 0 "init" "$E" init --config "$C" --user postgres
test_key runner
as_root principal add runner --pubkey "$work/keys/runner.pub" \
    --role requester,pii >/dev/null
sql "SELECT id FROM crm.tenants ORDER BY id" >"$work/ids"
check "eight tenants" test "$(wc -l <"$work/ids")" -eq 8
i=0
while IFS= read -r id; do
	i=$((i + 1))
	name="Tenant $i"
	[ "$id" = "$(printf '\320\260cme')" ] && name=$(printf '\320\220cme Corp')
	expect_rc 0 "tenant add #$i (exact bytes, UTF-8 and metacharacters)" \
		as_root tenant add "$id" --name "$name" \
		--recipient "$(cat "$work/keys/t.rcpt")"
	expect_rc 0 "  ... assigned" as_root assign runner "$id"
done <"$work/ids"
RUN_AS="--as $work/keys/runner.key --passphrase-file $work/keys/runner.pass"
expect_rc 2 "a tenant id with a control character is refused" \
	as_root tenant add "$(printf 'x\ty')" --name "Tab" \
	--recipient "$(cat "$work/keys/t.rcpt")"
check "  ... saying why" grep -q 'control characters' "$work/err"
check "the control tables hold the ids as they are" test \
	"$(sql "SELECT count(*) FROM texp_control.tenants t JOIN crm.tenants c
	    ON convert_to(t.tenant, 'UTF8') = convert_to(c.id, 'UTF8')")" = 8

# ---- a look-alike is shown apart where a person confirms ----
sed 's/^high_risk_whole_tenant = no/high_risk_whole_tenant = yes/' "$C" >"$work/hr.conf"
# shellcheck disable=SC2086
expect_rc 1 "a Latin confirmation for a Cyrillic display name is refused" \
	"$E" request --config "$work/hr.conf" $RUN_AS \
	--tenant "$(printf '\320\260cme')" --confirm "EXPORT Acme Corp"
check "  ... and the name to type is spelled out" grep -qF \
	'is "'"$(printf '\320\220cme Corp')"'" (non-ASCII: U+0410 at 1)' "$work/err"
# shellcheck disable=SC2086
expect_rc 1 "a tenant id differing only by case is another tenant" \
	"$E" run --config "$C" $RUN_AS --tenant ACME
check "  ... refused as not assigned" grep -q 'may not export' "$work/err"

# ---- long rows: the server sends a CopyData message per row, and the
# database relay joins them into messages of up to 64 KiB for the builder,
# a row of 64 KiB or more alone: rows of every size around that bound, and
# one far past it, must arrive whole and in order ----
sql "INSERT INTO crm.notes (tenant_id, body)
    SELECT 'acme', repeat(chr(97 + n % 26), n)
    FROM generate_series(65400, 65600, 7) n
    UNION ALL SELECT 'acme', repeat('q', 300000)"

# ---- each tenant: exported exactly, scanned exactly ----
before=$(snapshot)
spec='[["crm","tenants","id",[]],["crm","Order Items","tenant_id",["API Token"]],
["Ops.Data","Events","Org Id",[]],["crm","notes","tenant_id",[]]]'
cat >"$work/foreign.sql" <<'SQL'
-- Every other tenant's ids and key values (docs/DATABASE.md)
SELECT coalesce(json_agg(v ORDER BY v), '[]') FROM (
	SELECT id AS v FROM crm.tenants WHERE id <> :'tenant'
	UNION
	SELECT "Order Id"::text FROM crm."Order Items" WHERE tenant_id <> :'tenant'
) other;
SQL
i=0
while IFS= read -r id; do
	i=$((i + 1))
	# the planted references of saas.sql, and how each must be found
	case "$id" in
	acme)	hits=3 json=2 token=1 ;;
	"$(printf 'caf\303\251')") hits=1 json=0 token=1 ;;
	*)	hits=0 json=0 token=0 ;;
	esac
	rm -rf "$work/outbox/"* "$work/x"
	# shellcheck disable=SC2086
	expect_rc 0 "export tenant #$i" "$E" run --config "$C" $RUN_AS --tenant "$id"
	archive=$(ls "$work"/outbox/*.texp 2>/dev/null | head -n 1)
	expect_rc 0 "  ... extract it" "$V" extract --identity "$work/keys/t.age" \
		--signer "$work/keys/sign.pub" --tenant "$id" --format jsonl \
		--out "$work/x" "$archive"
	check "  ... file names follow the mapping" \
		test -f "$work/x/crm.%4Frder%20%49tems.jsonl" -a \
		-f "$work/x/%4Fps%2E%44ata.%45vents.jsonl"
	expect_rc 0 "  ... every row equals direct SQL" python3 \
		"$top/tests/integration/lib/compare_exact.py" "$db" "$work/x" \
		"$id" "$spec"
	sed 's/^/#   /' "$work/out"
	psql -X -At -v ON_ERROR_STOP=1 -v tenant="$id" -d "$db" \
	    -f "$work/foreign.sql" >"$work/foreign.json"
	rc=0
	[ "$hits" -gt 0 ] && rc=1
	expect_rc "$rc" "  ... the scan for every other tenant's ids and keys" \
		"$V" verify --identity "$work/keys/t.age" \
		--signer "$work/keys/sign.pub" --tenant "$id" \
		--foreign-ids-json "$work/foreign.json" "$archive"
	check "  ... finds exactly $hits (no false hit, no miss)" \
		grep -q "^foreign hits: *$hits\$" "$work/out"
	check "  ... $json as a JSON string (an id, a key), $token as a token" \
		test "$(grep -c '(json match)' "$work/err")/$(grep -c \
		'(token match)' "$work/err")" = "$json/$token"
	check "  ... never printing the value" \
		sh -c '! grep -q "Acme\|acme \|cafe" "$1"' sh "$work/err"
done <"$work/ids"
check "the database is unchanged after every export" test "$(snapshot)" = "$before"

# ---- quoted names on the command line ----
rm -rf "$work/outbox/"* "$work/x"
# shellcheck disable=SC2086
expect_rc 0 "--tables with a quoted name" "$E" run --config "$C" $RUN_AS \
	--tenant acme --tables 'crm."Order Items"'
archive=$(ls "$work"/outbox/*.texp 2>/dev/null | head -n 1)
expect_rc 0 "  ... extract it" "$V" extract --identity "$work/keys/t.age" \
	--signer "$work/keys/sign.pub" --tenant acme --format csv \
	--out "$work/x" "$archive"
check "  ... it holds that table only" test "$(ls "$work/x" | tr '\n' ' ')" = \
	"crm.%4Frder%20%49tems.csv manifest.cbor "
# shellcheck disable=SC2086
expect_rc 2 "--tables with an unquoted mixed-case name is refused" \
	"$E" run --config "$C" $RUN_AS --tenant acme --tables 'crm.Order Items'
check "  ... saying how to write it" grep -q 'double quotes' "$work/err"
finish
