#!/bin/sh
# The control plane on a real PostgreSQL: init, the bootstrap admin, and
# signed, audited admin actions (principals, roles, tenants, assignments),
# refused when unsigned by an admin, replayed, stale, or by a disabled
# principal. Most keys use the cheap test keys; one comes from
# `tenant-export keygen` (minisign's full scrypt cost).
work=$(mktemp -d /tmp/texp-control.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/control.sh"
db=texp_control_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
# agency_setup ran init and wrote fixtures; start from an empty database
# (and forget the log head the service pinned for the old one).
sql "SET client_min_messages = warning; DROP SCHEMA texp_control CASCADE"
rm -f "$work/service-state/log-head"
signed() {	# EVENT: rows of that event, each signed (version 2)
	sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'
	    AND v = 2 AND action IS NOT NULL AND signature IS NOT NULL"
}

# ---- init ----
expect_rc 0 "init creates the control schema" "$E" init --config "$CFG" --user postgres
# Every file in sql/control/ is a migration, recorded as NNN:NNN_name.
migs=$(cd "$top/sql/control" && ls *.sql | sed 's/\.sql$//')
nmigs=$(echo "$migs" | wc -l)
lastv=$(echo "$migs" | tail -n 1 | cut -c1-3 | sed 's/^0*//')
check "  ... reporting every migration" \
	grep -q "version $lastv ($nmigs migrations applied)" "$work/out"
expect_rc 0 "init again is a no-op" "$E" init --config "$CFG" --user postgres
check "  ... and says so" grep -q "already at version $lastv" "$work/out"
check "every migration recorded, by the version in its name" \
	[ "$(sql "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM texp_control.schema_migrations")" = \
	"$(echo "$migs" | sed 's/^0*\([0-9]*\)_/\1:&/' | tr '\n' ',' | sed 's/,$//')" ]
check "the control database has an id (system identifier and a random part)" \
	sh -c '[ -n "$(printf %s "$1" | grep -Ex "[0-9]+-[0-9a-f]{32}")" ]' sh \
	"$(sql "SELECT control_id FROM texp_control.instance")"
check "the monitor got the control group" \
	[ "$(sql "SELECT pg_has_role('texp_monitor', 'texp_control_user', 'MEMBER')")" = t ]
check "the schema is owned by the NOLOGIN owner role" \
	[ "$(sql "SELECT nspowner::regrole || ':' || (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'texp_control_owner') FROM pg_namespace WHERE nspname = 'texp_control'")" = "texp_control_owner:false" ]
check "the migration is in the log, signed by the service key" [ "$(signed control.migrated)" = 1 ]
expect_rc 2 "init as the monitor (no rights to create roles) fails" \
	"$E" init --config "$CFG"
expect_rc 2 "init --admin is gone: the root key is pinned in the configuration" \
	"$E" init --config "$CFG" --user postgres --admin root
ADMIN=root
check "keys for eve, whom nobody registers" principal_keys eve

# ---- admin actions, signed by the root key ----
expect_rc 0 "the root key registers Client B with its recipient" as root \
	tenant add "$CLIENT_B" --name "Client B" \
	--recipient "$(cat "$work/keys/client-b.rcpt")"
expect_rc 0 "the root key registers Client A" as root tenant add "$CLIENT_A" --name "Client A"
check "  ... audited (tenant.added x2), each row signed" [ "$(signed tenant.added)" = 2 ]
check "  ... with the recipient" [ "$(sql "SELECT recipients[1] FROM texp_control.tenants WHERE tenant = '$CLIENT_B'")" = "$(cat "$work/keys/client-b.rcpt")" ]
expect_rc 2 "a malformed recipient is a usage error" as root tenant add x \
	--name X --recipient "age1,nope"
expect_rc 2 "a recipient that is not an age key is a usage error" as root \
	tenant recipients "$CLIENT_A" --recipient "ssh-ed25519 AAAA"
check "  ... saying so" grep -q "not an age recipient" "$work/err"
check "keys for alice" principal_keys alice
expect_rc 0 "admin adds alice (requester)" as root principal add alice \
	--pubkey "$work/keys/alice.pub" --role requester
check "  ... audited (principal.added), recording the root's action" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE principal = 'root' AND detail->>'name' = 'alice' AND event = 'principal.added' AND action LIKE '%signed_action=%'")" = 1 ]
check "  ... with her key id, as minisign shows it" [ "$(key_id_shown alice)" = \
	"$(sql "SELECT detail->>'key_id' FROM texp_control.audit_log WHERE event = 'principal.added' AND detail->>'name' = 'alice'")" ]
check "  ... her person is her name, registered by the root" \
	[ "$(sql "SELECT person || '/' || registered_by FROM texp_control.principals WHERE name = 'alice'")" = "alice/root" ]
expect_rc 0 "admin assigns alice to Client B" as root assign alice "$CLIENT_B"
check "  ... audited (assignment.added)" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'assignment.added' AND tenant = '$CLIENT_B' AND detail->>'name' = 'alice'")" = 1 ]
expect_rc 1 "adding alice twice fails" as root principal add alice \
	--pubkey "$work/keys/alice.pub" --role requester
check "  ... audited as admin.failed" [ "$(audit_rows admin.failed)" = 1 ]
expect_rc 2 "\"root\" cannot be a principal's name" as root principal add root \
	--pubkey "$work/keys/alice.pub" --role requester
expect_rc 2 "a malformed person id is a usage error" as root principal add \
	zed --pubkey "$work/keys/alice.pub" --role requester --person "Zed Zed"

# ---- refused: not an admin ----
check "keys for mallory" principal_keys mallory
expect_rc 1 "non-admin alice cannot add a principal" as alice principal add \
	mallory --pubkey "$work/keys/mallory.pub" --role admin
check "  ... mallory not registered" \
	[ "$(sql "SELECT count(*) FROM texp_control.principals WHERE name = 'mallory'")" = 0 ]
check "  ... refusal audited with alice's name and the reason" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal = 'alice' AND detail->>'reason' = 'not_admin'")" = 1 ]
expect_rc 1 "non-admin alice cannot assign herself to Client A" as alice \
	assign alice "$CLIENT_A"
check "  ... and is not assigned" \
	[ "$(sql "SELECT count(*) FROM texp_control.assignments WHERE tenant = '$CLIENT_A' AND principal_id = (SELECT id FROM texp_control.principals WHERE name = 'alice')")" = 0 ]
check "  ... refusal audited for Client A" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal = 'alice' AND tenant = '$CLIENT_A'")" = 1 ]

# an admin of Client B only cannot hand out Client A
check "keys for bob" principal_keys bob
expect_rc 0 "admin adds bob (admin of Client B only)" as root principal add \
	bob --pubkey "$work/keys/bob.pub" --role admin
expect_rc 0 "  ... assigned to Client B" as root assign bob "$CLIENT_B"
expect_rc 1 "bob cannot assign alice to Client A" as bob assign alice "$CLIENT_A"
check "  ... refusal audited" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal = 'bob' AND tenant = '$CLIENT_A' AND detail->>'reason' = 'not_tenant_admin'")" = 1 ]

# a key made by `tenant-export keygen` works the same way
check "keys for carol (tenant-export keygen)" principal_keys_real carol
expect_rc 0 "admin adds carol (fetcher)" as root principal add carol \
	--pubkey "$work/keys/carol.pub" --role fetcher
expect_rc 1 "carol (not an admin) cannot add a tenant" as carol tenant add \
	carol-co --name "Carol Co"
check "  ... refusal audited with carol's name" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal = 'carol'")" = 1 ]

# ---- replay, stale, forged, unknown ----
expect_rc 0 "sign an action without applying it (--sign-only)" as root \
	principal grant alice --role fetcher --sign-only "$work/grant.act"
check "  ... nothing applied yet" \
	[ "$(sql "SELECT count(*) FROM texp_control.principal_roles pr JOIN texp_control.principals p ON p.id = pr.principal_id WHERE p.name = 'alice' AND pr.role = 'fetcher'")" = 0 ]
expect_rc 0 "submit applies it" "$E" submit --config "$CFG" "$work/grant.act"
check "  ... alice is a fetcher" \
	[ "$(sql "SELECT count(*) FROM texp_control.principal_roles pr JOIN texp_control.principals p ON p.id = pr.principal_id WHERE p.name = 'alice' AND pr.role = 'fetcher'")" = 1 ]
expect_rc 1 "the same signed action submitted again is refused" \
	"$E" submit --config "$CFG" "$work/grant.act"
check "  ... as a replay" grep -q "refused: .*(replay)" "$work/err"
check "  ... audited with the signer's key id" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal IS NULL AND detail->>'reason' = 'replay' AND detail->>'key_id' = '$(key_id_shown root)'")" = 1 ]

old=$(($(date +%s) - 3600))
expect_rc 0 "sign an action dated an hour ago (test build)" \
	"$H" tenant add stale-tenant --name Stale --config "$CFG" \
	--as "$work/keys/root.key" --passphrase-file "$work/keys/root.pass" \
	--time "$old" --sign-only "$work/stale.act"
check "  ... its text carries the old time" grep -qx "time=$old" "$work/stale.act"
expect_rc 1 "a stale action is refused" "$E" submit --config "$CFG" "$work/stale.act"
check "  ... as stale, by the database's clock" grep -q "refused: .*stale.*database's clock" "$work/err"
check "  ... and audited" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND detail->>'reason' = 'stale'")" = 1 ]
check "  ... tenant not added" \
	[ "$(sql "SELECT count(*) FROM texp_control.tenants WHERE tenant = 'stale-tenant'")" = 0 ]
expect_rc 2 "--time is not an option of the release build" \
	"$E" tenant add t2 --name T2 --config "$CFG" --as "$work/keys/root.key" \
	--passphrase-file "$work/keys/root.pass" --time "$old" --sign-only "$work/x.act"

expect_rc 0 "sign another action" as root unassign alice "$CLIENT_B" \
	--sign-only "$work/edit.act"
sed -i "s/^name=alice$/name=bob/" "$work/edit.act"
expect_rc 1 "an action edited after signing is refused" \
	"$E" submit --config "$CFG" "$work/edit.act"
check "  ... as a bad signature" grep -q "refused: the signature does not verify" "$work/err"
check "  ... bob still assigned" \
	[ "$(sql "SELECT count(*) FROM texp_control.assignments a JOIN texp_control.principals p ON p.id = a.principal_id WHERE p.name = 'bob'")" = 1 ]

expect_rc 1 "an unregistered key is refused" as eve tenant add evil --name Evil
check "  ... as unknown" grep -q "refused: the key is not registered to an enabled principal" "$work/err"
check "  ... audited with the key id, no name" \
	[ "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND principal IS NULL AND detail->>'key_id' = '$(key_id_shown eve)'")" = 1 ]

# ---- disable ----
expect_rc 0 "alice signs an action while enabled" as alice assign alice \
	"$CLIENT_A" --sign-only "$work/alice.act"
expect_rc 0 "admin disables bob" as root principal disable bob
check "  ... audited (principal.disabled)" [ "$(audit_rows principal.disabled)" = 1 ]
expect_rc 1 "the disabled admin is refused" as bob assign alice "$CLIENT_B"
check "  ... as unknown or disabled" grep -q "refused: the key is not registered to an enabled principal" "$work/err"
expect_rc 0 "admin disables alice" as root principal disable alice
expect_rc 1 "alice's action signed before she was disabled is refused" \
	"$E" submit --config "$CFG" "$work/alice.act"
expect_rc 1 "disabling twice fails" as root principal disable alice

# ---- an admin may unassign ----
expect_rc 0 "admin unassigns alice from Client B" as root unassign alice "$CLIENT_B"
check "  ... audited (assignment.removed)" [ "$(audit_rows assignment.removed)" = 1 ]

# ---- usage ----
expect_rc 2 "an unencrypted key is refused for --as" sh -c '
	"$1" tenant add x --name X --config "$2" --as "$3" </dev/null' sh \
	"$E" "$CFG" "$work/keys/sign.key"
check "  ... saying so" grep -q "not passphrase-protected" "$work/err"
expect_rc 2 "no passphrase and no terminal" sh -c '
	"$1" tenant add x --name X --config "$2" --as "$3" </dev/null' sh \
	"$E" "$CFG" "$work/keys/root.key"
expect_rc 2 "invalid principal name" as root principal add "Bad Name" \
	--pubkey "$work/keys/eve.pub" --role requester
expect_rc 2 "submit of a text that is not an admin action" sh -c '
	printf "hello\n" >"$1/junk.act"; printf "x\n" >"$1/junk.act.minisig"
	"$2" submit --config "$3" "$1/junk.act"' sh "$work" "$E" "$CFG"

# ---- another control database ----
expect_rc 0 "an action signed for this control database (--sign-only)" \
	as root tenant add other-co --name "Other Co" --sign-only "$work/other.act"
cid=$(sql "SELECT control_id FROM texp_control.instance")
check "  ... names it" grep -qx "control=$cid" "$work/other.act"
sql "CREATE DATABASE ${db}_b"
sed -e "s|^dbname = .*|dbname = ${db}_b|" -e "s|^state_dir = .*|state_dir = $work/state-b|" \
	"$CFG" >"$work/b.conf"
mkdir -p "$work/state-b"
expect_rc 0 "a second control database (its own init)" \
	"$E" init --config "$work/b.conf" --user postgres
expect_rc 1 "the action replayed against the other control database is refused" \
	"$E" submit --config "$work/b.conf" "$work/other.act"
check "  ... saying why" grep -q "signed for another control database" "$work/err"
check "  ... audited there (other_control_database)" [ "$(psql -X -q -At -d "${db}_b" -c "SELECT count(*) FROM texp_control.audit_log WHERE event = 'admin.denied' AND detail->>'reason' = 'other_control_database'")" = 1 ]
check "  ... and nothing added there" [ "$(psql -X -q -At -d "${db}_b" -c "SELECT count(*) FROM texp_control.tenants")" = 0 ]
expect_rc 0 "  ... while its own database takes it" "$E" submit --config "$CFG" "$work/other.act"
dropdb "${db}_b"

# ---- the greeting's id is a hint ----
# A service started for one command (--config) greets with the control
# database's id its pinned log head names, without a database session;
# a wrong one there is refused by the step, which checks the database's
# own id (nothing done), and names the right one for the next command.
head="$work/service-state/log-head"
check "the pinned log head names the control database" \
	[ "$(awk '{ print $3 }' "$head")" = "$(sql "SELECT control_id FROM texp_control.instance")" ]
awk '{ print $1, $2, "1-00000000000000000000000000000000" }' "$head" >"$work/head.new"
mv "$work/head.new" "$head"
expect_rc 1 "a greeting with another control database's id: refused" \
	as root tenant add hint-co --name "Hint Co"
check "  ... saying the control database changed" \
	grep -q "control database changed during the request" "$work/err"
check "  ... and nothing was added" \
	[ "$(sql "SELECT count(*) FROM texp_control.tenants WHERE tenant = 'hint-co'")" = 0 ]
expect_rc 0 "  ... the next command is greeted with the database's id" \
	as root tenant add hint-co --name "Hint Co"

# ---- the log is intact and holds no secret ----
expect_rc 0 "audit verify" "$E" audit verify --config "$CFG"
check "  ... checked the signatures and the tables" grep -q "every row signed" "$work/out"
sql "COPY (SELECT * FROM texp_control.audit_log) TO STDOUT" >"$work/log.txt"
sql "COPY (SELECT * FROM texp_control.nonces) TO STDOUT" >>"$work/log.txt"
"$E" audit show --config "$CFG" --json >>"$work/log.txt"
leaks=0
for k in root alice bob carol eve mallory; do
	pass=$(cat "$work/keys/$k.pass")
	seckey=$(sed -n 2p "$work/keys/$k.key")
	if grep -qF "$pass" "$work/log.txt" ||
	    grep -qF "$(printf %s "$seckey" | cut -c1-40)" "$work/log.txt"; then
		leaks=$((leaks + 1))
	fi
done
check "no passphrase or secret key material in the audit log" [ "$leaks" = 0 ]
check "the log did record the actions" [ "$(wc -l <"$work/log.txt")" -gt 30 ]
finish
