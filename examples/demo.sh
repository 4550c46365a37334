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
psql -q -d agency -c "ALTER ROLE texp_monitor PASSWORD '$(cat "$work/keys/monitor.password")'"
sed -e "s|^# password_file = .*|password_file = $work/keys/monitor.password|" \
    -e "s|^recipient = .*|recipient = $RECIPIENT|" \
    -e "s|^signing_key = .*|signing_key = $work/keys/agency-sign.key|" \
    -e "s|^outbox = .*|outbox = $work/outbox|" \
    examples/agency.conf >"$work/agency.conf"

say "Lint: does the database keep tenants apart the way the config says?"
"$B/tenant-export" lint --config "$work/agency.conf"

say "Export Client B (the monitor checks, a sandboxed builder reads, a sandboxed checker proves)"
"$B/tenant-export" run --config "$work/agency.conf" --tenant "$CLIENT_B" \
    --sign-passphrase-file "$work/keys/sign.pass" --quiet
ARCHIVE=$(ls "$work"/outbox/*.texp)

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

say "What happened"
cat <<TXT
   Client B's rows, and only Client B's, left the database in one archive,
   encrypted to Client B's key and signed by the agency. Client B proved it:
   every record carries Client B's tenant key, no hash or count differs, the
   signature is the agency's, and Client A's id appears nowhere. The api
   tokens table was never read.
TXT
