#!/bin/sh
# make demo: the agency story, end to end, on a throwaway PostgreSQL.
#
# An agency runs one app for two clients, Client A and Client B. Client B
# is leaving and asks for its data. The agency exports Client B only,
# hands over a signed, encrypted archive, and Client B proves what it got.
#
# As root, the service runs under an account of its own (texp-demo) and
# the agency's people under another (texp-people): they hold their keys
# and nothing of the service's. Not as root, both run as you.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=$top/${BUILD:-build}
work=$(mktemp -d /tmp/texp-demo.XXXXXX)
pg=$(mktemp -d /tmp/texp-demo-pg.XXXXXX)
svcpid=
cleanup() {
	rc=$?
	if [ -n "$svcpid" ]; then
		kill "$svcpid" 2>/dev/null || true
		wait "$svcpid" 2>/dev/null || true
	fi
	sh ci/pg.sh stop "$pg" >/dev/null 2>&1 || true
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT INT TERM

say() { printf '\n== %s\n' "$*"; }

# as_svc CMD...: as the service's account; as_people CMD...: as the
# agency's people.
if [ "$(id -u)" -eq 0 ]; then
	for u in texp-demo texp-people; do
		id "$u" >/dev/null 2>&1 ||
		    useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
	done
	# The service's account reaches the database's socket, the
	# people's does not.
	getent group texp-pg >/dev/null || groupadd --system texp-pg
	usermod -a -G texp-pg texp-demo
	PG_SOCKET_GROUP=texp-pg
	export PG_SOCKET_GROUP
	as_svc() { runuser -u texp-demo -- "$@"; }
	as_people() { runuser -u texp-people -- "$@"; }
else
	as_svc() { "$@"; }
	as_people() { "$@"; }
fi

say "Starting a throwaway PostgreSQL (unix socket only) in $pg"
env_lines=$(sh ci/pg.sh start "$pg")
eval "$env_lines"
chmod 0755 "$work"
createdb agency
psql -q -v ON_ERROR_STOP=1 -d agency -f examples/agency.sql >/dev/null
psql -At -d agency -c "SELECT '   tenant ' || name || ': ' || id FROM app.clients ORDER BY name"
CLIENT_A=$(psql -At -d agency -c "SELECT id FROM app.clients WHERE name = 'Client A'")
CLIENT_B=$(psql -At -d agency -c "SELECT id FROM app.clients WHERE name = 'Client B'")

svc=$work/service		# the service's: only its account can enter
people=$work/people		# the agency's people: keys and handover
mkdir -p "$svc/outbox" "$svc/state" "$people/handover" "$work/client-b" \
    "$work/run"
chmod 0700 "$svc" "$people"

say "Keys: Client B's age identity, the agency's signing key, and each person's key"
"$B/tenant-verify" keygen --out "$work/client-b/client-b.age" >"$work/client-b/recipient"
RECIPIENT=$(cat "$work/client-b/recipient")
echo "   Client B's recipient: $RECIPIENT"
"$B/tenant-export" keygen --out "$svc/agency-sign" --unencrypted | sed 's/^/   /'
# People's keys are minisign keys protected by a passphrase: unlocking one
# is the re-authentication (each takes a few seconds, on purpose). The
# owner's public key is the root key the service pins.
for who in owner admin-b reviewer; do
	printf 'demo passphrase of %s\n' "$who" >"$people/$who.pass"
	chmod 600 "$people/$who.pass"
	"$B/tenant-export" keygen --out "$people/$who" \
	    --passphrase-file "$people/$who.pass" >/dev/null
done
cp "$people/owner.pub" "$svc/root.pub"

say "Database setup: export roles, row-level security, grants (db-setup --apply)"
"$B/tenant-export" db-setup --config examples/agency.conf --user postgres --apply
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$svc/monitor.password"
chmod 600 "$svc/monitor.password"
psql -q -d agency -f - <<SQL
\set pw \`cat "$svc/monitor.password"\`
ALTER ROLE texp_monitor PASSWORD :'pw';
SQL
sed -e "s|^# password_file = .*|password_file = $svc/monitor.password|" \
    -e "s|^signing_key = .*|signing_key = $svc/agency-sign.key|" \
    -e "s|^outbox = .*|outbox = $svc/outbox|" \
    -e "s|^root_key = .*|root_key = $svc/root.pub|" \
    -e "s|^service_key = .*|service_key = $svc/service.key|" \
    -e "s|^state_dir = .*|state_dir = $svc/state|" \
    examples/agency.conf >"$svc/agency.conf"
if [ "$(id -u)" -eq 0 ]; then
	chown -R texp-demo "$svc" "$work/run"
	chown -R texp-people "$people"
fi

say "Lint: does the database keep tenants apart the way the config says?"
as_svc "$B/tenant-export" lint --config "$svc/agency.conf"

say "The service: init (control schema, service key), then serve on a socket"
# init needs the database's superuser, whose login is the operator's (it
# logs in by peer authentication), not the service's: the operator runs
# it, and the service's files it writes are handed to the service.
"$B/tenant-export" init --config "$svc/agency.conf" --user postgres |
    sed 's/^/   /'
if [ "$(id -u)" -eq 0 ]; then
	chown -R texp-demo "$svc"
fi
SOCK=$work/run/tenant-export.sock
as_svc "$B/tenant-export" serve --config "$svc/agency.conf" --socket "$SOCK" \
    2>"$work/serve.log" &
svcpid=$!
for i in $(seq 1 600); do
	[ -S "$SOCK" ] && break
	sleep 0.1
done
[ -S "$SOCK" ] || { cat "$work/serve.log" >&2; exit 1; }
echo "   listening on $SOCK"

as() {	# as WHO COMMAND ARGS...: one of the agency's people, signed with their key
	who=$1
	shift
	sub=$1
	shift
	as_people "$B/tenant-export" "$sub" "$@" --socket "$SOCK" \
	    --as "$people/$who.key" --passphrase-file "$people/$who.pass"
}
say "The owner (the root key) registers the clients and the people"
as owner tenant add "$CLIENT_A" --name "Client A" --recipient "$RECIPIENT" | sed 's/^/   /'
as owner tenant add "$CLIENT_B" --name "Client B" --recipient "$RECIPIENT" | sed 's/^/   /'
as owner principal add admin-b --pubkey "$people/admin-b.pub" \
    --role requester,pii | sed 's/^/   /'
as owner assign admin-b "$CLIENT_B" | sed 's/^/   /'
as owner principal add reviewer --pubkey "$people/reviewer.pub" \
    --role approver | sed 's/^/   /'
as owner assign reviewer "$CLIENT_B" | sed 's/^/   /'

say "The agency admin assigned to Client B requests its export (typed confirmation)"
echo '   $ tenant-export request --as admin-b.key --tenant <Client B> --confirm "EXPORT Client B"'
JOB=$(as admin-b request --tenant "$CLIENT_B" --confirm "EXPORT Client B")
echo "   job id (shown once): $JOB"

say "The whole tenant with personal data is high-risk: a second person approves it"
as reviewer approve "$JOB" | sed 's/^/   /'

say "The service runs the job (checks again; a sandboxed builder reads, a sandboxed checker proves)"
as admin-b run --job "$JOB" --quiet | sed 's/^/   /'

say "The service hands the archive over (permission, expiry and download count checked)"
as admin-b fetch "$JOB" --to "$people/handover" | sed 's/^/   /'
ARCHIVE=$(ls "$people"/handover/*.texp)
cp "$ARCHIVE" "$ARCHIVE.minisig" "$work/client-b/"
ARCHIVE=$work/client-b/$(basename "$ARCHIVE")

say "Client B verifies the archive: signature, decryption, every record is theirs"
printf '%s\n' "$CLIENT_A" >"$work/client-a.ids"
chmod 600 "$work/client-a.ids"
"$B/tenant-verify" verify --identity "$work/client-b/client-b.age" \
    --signer "$svc/agency-sign.pub" --tenant "$CLIENT_B" \
    --foreign-ids "$work/client-a.ids" "$ARCHIVE"

say "Stock tools agree: minisign checks the signature, age decrypts"
minisign -V -q -p "$svc/agency-sign.pub" -m "$ARCHIVE" && echo "   minisign: signature verified"
age -d -i "$work/client-b/client-b.age" "$ARCHIVE" | tar tf - | sed 's/^/   /' | head -n 8

say "Extract to JSON Lines"
"$B/tenant-verify" extract --identity "$work/client-b/client-b.age" \
    --signer "$svc/agency-sign.pub" --tenant "$CLIENT_B" \
    --format jsonl --out "$work/client-b/data" "$ARCHIVE"
for f in "$work"/client-b/data/*.jsonl; do
	printf '   %-24s %s records\n' "$(basename "$f")" "$(wc -l <"$f")"
done
echo "   first contact: $(head -n 1 "$work/client-b/data/app.contacts.jsonl" | cut -c1-160)"
if grep -q "$CLIENT_A" "$work"/client-b/data/*.jsonl; then
	echo "demo: Client A's id appears in Client B's export" >&2
	exit 1
fi
if ls "$work"/client-b/data | grep -q api_tokens; then
	echo "demo: api tokens were exported" >&2
	exit 1
fi

say "The same admin tries Client A: refused, without saying whether it exists"
as admin-b request --tenant "$CLIENT_A" --tables app.invoices 2>&1 | sed 's/^/   /' || true
if [ "$(id -u)" -eq 0 ]; then
	say "... and everything else a person holds does not help"
	as_people cat "$svc/agency.conf" 2>&1 | sed 's/^/   /' || true
	as_people psql -X -w -U texp_monitor -d agency -c 'SELECT 1' </dev/null \
	    2>&1 | sed 's/^/   /' || true
fi

say "The audit log shows every step, the refusal included; every row is signed"
as_svc "$B/tenant-export" audit show --config "$svc/agency.conf" | tail -n 12 |
    cut -c1-150 | sed 's/^/   /'
if ! as_svc "$B/tenant-export" audit show --config "$svc/agency.conf" --json |
    grep '"export.denied"' | grep -q "$CLIENT_A"; then
	echo "demo: the refused attempt on Client A is not in the audit log" >&2
	exit 1
fi
as_svc "$B/tenant-export" audit verify --config "$svc/agency.conf" | sed 's/^/   /'

say "Monitoring: alerts (for cron), Prometheus metrics, and the support page"
# alerts exits 1 when it printed alerts: the demo goes on either way.
as_svc "$B/tenant-export" alerts --config "$svc/agency.conf" | sed 's/^/   /'
as_svc "$B/tenant-export" metrics --config "$svc/agency.conf" | grep -E \
    '^tenant_export_(jobs\{state="ready"\}|exports_completed_total|exported_rows_total|refusals_total|audit_chain_ok)' |
    sed 's/^/   /'
mkdir -p "$B/demo"
as_svc "$B/tenant-export" report --config "$svc/agency.conf" \
    --html "$svc/support-page.html" | sed 's/^/   /'
cp "$svc/support-page.html" "$B/demo/support-page.html"
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
	python3 tests/integration/lib/browser.py "$B/demo/support-page.html" \
	    --screenshot "$B/demo/support-page.png" --size 1366x1100 >/dev/null
	echo "   screenshot of the support page: $B/demo/support-page.png"
fi

say "What happened"
cat <<TXT
   The service, under its own account, alone held the database password,
   the signing key and the outbox; the agency's people held their keys
   and talked to it through a socket. Only a registered person assigned
   to Client B could ask for the export, with a fresh signed request and
   the tenant's name typed out; a second person approved that exact
   request; the same admin was refused for Client A, and the signed,
   hash-chained audit log records all of it.
   Client B's rows, and only Client B's, left the database in one archive,
   encrypted to Client B's registered key and signed by the agency. Client
   B proved it: every record carries Client B's tenant key, no hash or
   count differs, the signature is the agency's, and Client A's id appears
   nowhere. The api tokens table was never read. Support can answer "who
   exported what for this client, and who downloaded it" from the support
   page, and cron runs "alerts" and "metrics" to tell people when something
   looks wrong.
TXT
