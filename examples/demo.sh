#!/bin/sh
# make demo: the agency story, end to end, on a throwaway PostgreSQL.
#
# An agency runs one app for two clients, Client A and Client B. Client B
# is leaving and asks for its data. The agency exports Client B only,
# hands over a signed, encrypted archive, and Client B proves what it got.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${BUILD:-build}
work=$(mktemp -d /tmp/texp-demo.XXXXXX)
pg=$(mktemp -d /tmp/texp-demo-pg.XXXXXX)
cleanup() {
	sh ci/pg.sh stop "$pg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n== %s\n' "$*"; }

say "Starting a throwaway PostgreSQL (unix socket only) in $pg"
env_lines=$(sh ci/pg.sh start "$pg")
eval "$env_lines"
createdb agency
psql -q -v ON_ERROR_STOP=1 -d agency -f examples/agency.sql >/dev/null
psql -At -d agency -c "SELECT '   tenant ' || name || ': ' || id FROM app.clients ORDER BY name"
CLIENT_A=$(psql -At -d agency -c "SELECT id FROM app.clients WHERE name = 'Client A'")
CLIENT_B=$(psql -At -d agency -c "SELECT id FROM app.clients WHERE name = 'Client B'")

say "Keys: Client B's age identity (recipient) and the agency's signing key"
mkdir -p "$work/keys" "$work/outbox" "$work/client-b"
"$B/tenant-verify" keygen --out "$work/keys/client-b.age" >"$work/keys/client-b.recipient"
RECIPIENT=$(cat "$work/keys/client-b.recipient")
echo "   Client B's recipient: $RECIPIENT"
printf 'demo signing passphrase\n' >"$work/keys/sign.pass"
chmod 600 "$work/keys/sign.pass"
"$B/tenant-export" keygen --out "$work/keys/agency-sign" \
    --passphrase-file "$work/keys/sign.pass" | sed 's/^/   /'

say "Database setup: export roles, row-level security, grants (db-setup --apply)"
"$B/tenant-export" db-setup --config examples/agency.conf --user postgres --apply
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/keys/monitor.password"
chmod 600 "$work/keys/monitor.password"
# The password goes to psql on stdin, never on its command line (where
# every local user could read it in /proc).
psql -X -q -v ON_ERROR_STOP=1 -d agency <<SQL
ALTER ROLE texp_monitor PASSWORD '$(cat "$work/keys/monitor.password")';
SQL
sed -e "s|^# password_file = .*|password_file = $work/keys/monitor.password|" \
    -e "s|^recipient = .*|recipient = $RECIPIENT|" \
    -e "s|^signing_key = .*|signing_key = $work/keys/agency-sign.key|" \
    -e "s|^outbox = .*|outbox = $work/outbox|" \
    examples/agency.conf >"$work/agency.conf"

say "Lint: does the database keep tenants apart the way the config says?"
"$B/tenant-export" lint --config "$work/agency.conf"

say "Control plane: tenant-export init, with the agency's owner as the first admin"
# Principals' keys are minisign keys protected by a passphrase: unlocking
# one is the re-authentication (each takes a few seconds, on purpose).
for who in owner admin-b reviewer; do
	printf 'demo passphrase of %s\n' "$who" >"$work/keys/$who.pass"
	chmod 600 "$work/keys/$who.pass"
	"$B/tenant-export" keygen --out "$work/keys/$who" \
	    --passphrase-file "$work/keys/$who.pass" >/dev/null
done
"$B/tenant-export" init --config "$work/agency.conf" --user postgres \
    --admin owner --admin-key "$work/keys/owner.pub"
as() {	# as WHO COMMAND ARGS...: signed with WHO's key
	who=$1
	shift
	sub=$1
	shift
	"$B/tenant-export" "$sub" "$@" --config "$work/agency.conf" \
	    --as "$work/keys/$who.key" --passphrase-file "$work/keys/$who.pass"
}
as owner tenant add "$CLIENT_A" --name "Client A" | sed 's/^/   /'
as owner tenant add "$CLIENT_B" --name "Client B" | sed 's/^/   /'
as owner principal add admin-b --pubkey "$work/keys/admin-b.pub" \
    --role requester,pii | sed 's/^/   /'
as owner assign admin-b "$CLIENT_B" | sed 's/^/   /'
as owner principal add reviewer --pubkey "$work/keys/reviewer.pub" \
    --role approver | sed 's/^/   /'
as owner assign reviewer "$CLIENT_B" | sed 's/^/   /'

say "The agency admin assigned to Client B requests its export (typed confirmation)"
echo '   $ tenant-export request --as admin-b.key --tenant <Client B> --confirm "EXPORT Client B"'
JOB=$(as admin-b request --tenant "$CLIENT_B" --confirm "EXPORT Client B")
echo "   job id (shown once): $JOB"

say "The whole tenant with personal data is high-risk: a second admin approves"
as reviewer approve "$JOB" | sed 's/^/   /'

say "The job runs (the monitor checks again, a sandboxed builder reads, a sandboxed checker proves)"
as admin-b run --job "$JOB" --sign-passphrase-file "$work/keys/sign.pass" \
    --quiet | sed 's/^/   /'

say "The archive is fetched out of the outbox (permission, expiry and download count checked)"
mkdir -p "$work/handover"
as admin-b fetch "$JOB" --to "$work/handover" | sed 's/^/   /'
ARCHIVE=$(ls "$work"/handover/*.texp)

say "Client B verifies the archive: signature, decryption, every record is theirs"
printf '%s\n' "$CLIENT_A" >"$work/client-a.ids"
chmod 600 "$work/client-a.ids"
"$B/tenant-verify" verify --identity "$work/keys/client-b.age" \
    --signer "$work/keys/agency-sign.pub" --tenant "$CLIENT_B" \
    --foreign-ids "$work/client-a.ids" "$ARCHIVE"

say "Stock tools agree: minisign checks the signature, age decrypts"
minisign -V -q -p "$work/keys/agency-sign.pub" -m "$ARCHIVE" && echo "   minisign: signature verified"
age -d -i "$work/keys/client-b.age" "$ARCHIVE" | tar tf - | sed 's/^/   /' | head -n 8

say "Extract to JSON Lines"
"$B/tenant-verify" extract --identity "$work/keys/client-b.age" \
    --signer "$work/keys/agency-sign.pub" --tenant "$CLIENT_B" \
    --format jsonl --out "$work/client-b" "$ARCHIVE"
for f in "$work"/client-b/*.jsonl; do
	printf '   %-24s %s records\n' "$(basename "$f")" "$(wc -l <"$f")"
done
echo "   first contact: $(head -n 1 "$work/client-b/app.contacts.jsonl" | cut -c1-160)"
if grep -q "$CLIENT_A" "$work"/client-b/*.jsonl; then
	echo "demo: Client A's id appears in Client B's export" >&2
	exit 1
fi
if grep -qi "token" "$work"/client-b/*.jsonl && ls "$work"/client-b | grep -q api_tokens; then
	echo "demo: api tokens were exported" >&2
	exit 1
fi

say "The same admin tries Client A: refused, without saying whether it exists"
as admin-b request --tenant "$CLIENT_A" --tables app.invoices 2>&1 | sed 's/^/   /' || true

say "The audit log shows every step, the refusal included, and its hash chain verifies"
"$B/tenant-export" audit show --config "$work/agency.conf" | tail -n 12 | cut -c1-150 | sed 's/^/   /'
if ! "$B/tenant-export" audit show --config "$work/agency.conf" --json |
    grep '"export.denied"' | grep -q "$CLIENT_A"; then
	echo "demo: the refused attempt on Client A is not in the audit log" >&2
	exit 1
fi
"$B/tenant-export" audit verify --config "$work/agency.conf" | sed 's/^/   /'

say "What happened"
cat <<TXT
   Only a registered principal assigned to Client B could ask for the
   export, with a fresh signed request and the tenant's name typed out; a
   second admin approved it; the same admin was refused for Client A, and
   the hash-chained audit log records all of it.
   Client B's rows, and only Client B's, left the database in one archive,
   encrypted to Client B's key and signed by the agency. Client B proved it:
   every record carries Client B's tenant key, no hash or count differs, the
   signature is the agency's, and Client A's id appears nowhere. The api
   tokens table was never read.
TXT
