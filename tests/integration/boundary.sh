#!/bin/sh
# The trust boundary, attacked as a principal would attack it: with
# everything a principal holds (an account on the machine, their key and
# passphrase, the service's socket, psql) and nothing of the service's.
# The service runs as its own account; the principals as another.
#
# Needs root (to make the two accounts); as anyone else it says so and
# passes nothing off as tested.
work=$(mktemp -d /tmp/texp-boundary.XXXXXX)
chmod 0755 "$work"
svcpid=
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "# boundary.sh needs root to create the service's and the principals' accounts"
	finish
fi
SVC=texp-test-svc
PPL=texp-test-ppl
for u in $SVC $PPL; do
	id "$u" >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
# The service's account may reach the database's socket; the principals'
# may not (tests/run.sh: the group texp-pg).
getent group texp-pg >/dev/null || groupadd --system texp-pg
usermod -a -G texp-pg "$SVC"
db=texp_boundary_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
stop_service() {
	if [ -n "$svcpid" ]; then
		kill "$svcpid" 2>/dev/null
		wait "$svcpid" 2>/dev/null
		svcpid=
	fi
}
trap 'stop_service; dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
sed -i '/^high_risk_/d' "$C"	# the defaults: PII and whole tenants need approval
# The two accounts run copies of the binaries from here, in a directory
# they may enter: the checkout itself may be closed to them (a clone in a
# mode 0700 directory, as mktemp -d makes).
mkdir -p "$work/bin"
cp "$E" "$V" "$H" "$work/bin/"
chmod 0755 "$work/bin" "$work/bin/"*
E=$work/bin/$(basename "$E")
V=$work/bin/$(basename "$V")
H=$work/bin/$(basename "$H")
cd "$work" || exit 1

# The principals' side: keys, passphrases, a place to fetch to. The rest
# of $work (configuration, monitor password, keys, outbox, state) is the
# service's, and only its account may enter.
ppl=$work/ppl
mkdir -p "$ppl/got" "$work/run"
for k in root runner-b; do
	mv "$work/keys/$k.key" "$work/keys/$k.pass" "$ppl/"
	cp "$work/keys/$k.pub" "$ppl/"
done
cp "$work/keys/client-b.rcpt" "$ppl/"
chown -R "$PPL" "$ppl"
chmod 0700 "$ppl"
chown -R "$SVC" "$work/keys" "$work/outbox" "$work/service-state" "$C" "$work/run"
chmod 0700 "$work/keys" "$work/outbox" "$work/service-state"
chmod 0600 "$C"

SOCK=$work/run/tenant-export.sock
runuser -u "$SVC" -- "$E" serve --config "$C" --socket "$SOCK" 2>"$work/serve.log" &
svcpid=$!
wait_for "the service's socket" test -S "$SOCK"

# pp CMD...: as the principals' account; by WHO CMD ARGS...: tenant-export
# CMD signed by WHO, through the socket.
pp() { runuser -u "$PPL" -- "$@"; }
by() {
	who=$1
	shift
	sub=$1
	shift
	pp "$E" "$sub" "$@" --socket "$SOCK" --as "$ppl/$who.key" \
	    --passphrase-file "$ppl/$who.pass"
}
hby() {	# the same with the test build (TEXP_TEST_ACTION_*)
	who=$1
	shift
	sub=$1
	shift
	pp env TEXP_TEST_ACTION_AGE="${AGE:-0}" "$H" "$sub" "$@" --socket "$SOCK" \
	    --as "$ppl/$who.key" --passphrase-file "$ppl/$who.pass"
}
newkey() {	# a principal's key pair in the principals' directory
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$ppl/$1.pass"
	chmod 600 "$ppl/$1.pass"
	"$build/tests/tools/texp-testkey" "$ppl/$1" "$ppl/$1.pass"
	chown "$PPL" "$ppl/$1".*
}
denied() {	# EVENT REASON: audit rows of that refusal
	sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'
	    AND detail->>'reason' = '$2'"
}

# ---- what a principal holds does not reach the service's files ----
for f in "$C" "$work/keys/monitor.password" "$work/keys/sign.key" \
    "$work/keys/service.key" "$work/outbox"; do
	expect_rc 1 "a principal cannot read $(basename "$f")" pp cat "$f"
done
expect_rc 2 "nor run the service itself with its configuration (--config)" \
	pp "$E" status 0123456789abcdef0123456789abcdef --config "$C" \
	--as "$ppl/runner-b.key" \
	--passphrase-file "$ppl/runner-b.pass"
check "  ... the configuration is unreadable" grep -q "Permission denied\|permission" "$work/err"
expect_rc 2 "nor log in to the database as the monitor (no password)" \
	pp psql -X -w -U texp_monitor -d "$db" -c "SELECT 1"
expect_rc 2 "nor as an export role" \
	pp psql -X -w -U "exp_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" -d "$db" -c "SELECT 1"

# ---- the service only does what is signed ----
expect_rc 0 "runner-b requests invoices of Client B through the socket" \
	by runner-b request --tenant "$CLIENT_B" --tables app.invoices
JOB=$(cat "$work/out")
expect_rc 0 "  ... runs it" by runner-b run --job "$JOB" --quiet
check "  ... the archive is in the service's outbox, not the principal's" \
	test -z "$(ls -A "$ppl/got")"
expect_rc 0 "  ... fetches it into a directory of the principal's" \
	by runner-b fetch "$JOB" --to "$ppl/got"
check "  ... files owned by the principal, mode 0600" sh -c '
	f=$(ls "$1"/*.texp) && [ "$(stat -c %U:%a "$f")" = "$2:600" ]' sh "$ppl/got" "$PPL"
expect_rc 0 "  ... and proven Client B's" "$V" verify --identity "$work/keys/client-b.age" \
	--signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$(ls "$ppl"/got/*.texp)"
check "the log names the caller's account" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE event = 'export.requested'
	    AND detail->>'peer' LIKE 'uid=$(id -u "$PPL") %'")" = 1

expect_rc 1 "runner-b (Client B) cannot request Client A" \
	by runner-b request --tenant "$CLIENT_A" --tables app.invoices
check "  ... refused in the log" test "$(denied export.denied not_assigned)" = 1

# A recipient is the tenant's, not the requester's: the principal's own
# age key cannot be slipped in.
pp "$V" keygen --out "$ppl/mine.age" >"$ppl/mine.rcpt" 2>/dev/null
expect_rc 1 "a request encrypted to the requester's own key is refused" \
	by runner-b request --tenant "$CLIENT_B" --tables app.invoices \
	--recipient "$(cat "$ppl/mine.rcpt")"
check "  ... saying it is not the tenant's" grep -q "not registered for this tenant" "$work/err"
check "  ... refused in the log" test "$(denied export.denied recipients)" = 1
expect_rc 2 "running a requested job cannot change its recipients" \
	by runner-b run --job "$JOB" --recipient "$(cat "$ppl/mine.rcpt")"
check "  ... the job records the tenant's recipient" test \
	"$(sql "SELECT recipients[1] FROM texp_control.jobs WHERE state = 'ready'")" = \
	"$(cat "$ppl/client-b.rcpt")"

# A frame that is not a request, and a request that carries no action.
expect_rc 0 "a frame of 4 GiB announced on the socket is answered, not read" sh -c '
	printf "Q\377\377\377\377" | runuser -u "$1" -- python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
data = b\"\"
while True:
    b = s.recv(65536)
    if not b: break
    data += b
sys.exit(0 if b\"malformed\" in data else 1)" "$2"' sh "$PPL" "$SOCK"
expect_rc 0 "a request without a signed action is refused" sh -c '
	runuser -u "$1" -- python3 -c "
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
def frame(t, p): return bytes([t]) + struct.pack(\">I\", len(p)) + p
def read():
    h = b\"\"
    while len(h) < 5: h += s.recv(5 - len(h))
    n = struct.unpack(\">I\", h[1:])[0]; b = b\"\"
    while len(b) < n: b += s.recv(n - len(b))
    return h[0], b
read()
s.sendall(frame(ord(\"Q\"), json.dumps({\"cmd\": \"run\"}).encode()))
t, b = read()
r = json.loads(b)
sys.exit(0 if t == ord(\"R\") and r[\"r\"] != 0 else 1)" "$2"' sh "$PPL" "$SOCK"
check "the service is still serving" sh -c 'kill -0 "$1"' sh "$svcpid"

# An action dated 30 days ago (a client whose clock was set back, as
# faketime does): the service judges freshness by the database's clock.
AGE=$((30 * 86400)) expect_rc 1 "an action signed with a clock 30 days behind is refused" \
	hby runner-b request --tenant "$CLIENT_B" --tables app.invoices
check "  ... as stale" grep -q "stale" "$work/err"

# ---- two persons are two persons ----
# The root key registers boss (admin, requester, pii, assigned to B).
newkey boss
expect_rc 0 "the root key registers an admin who also requests" by root principal add boss \
	--pubkey "$ppl/boss.pub" --role admin,requester,pii
expect_rc 0 "  ... assigned to Client B" by root assign boss "$CLIENT_B"
expect_rc 0 "boss requests all of Client B (high-risk: needs approval)" \
	by boss request --tenant "$CLIENT_B" --confirm "EXPORT Client B"
BJOB=$(cat "$work/out")
newkey boss2
expect_rc 0 "boss registers a second key, claiming another person" \
	by boss principal add boss2 --pubkey "$ppl/boss2.pub" --role approver \
	--person someone-else
expect_rc 0 "  ... and assigns it to Client B" by boss assign boss2 "$CLIENT_B"
expect_rc 1 "the second key cannot approve boss's request" by boss2 approve "$BJOB"
check "  ... refused as self-approval" test "$(denied approve.denied self_approval)" = 1
check "  ... the job still awaits approval" test \
	"$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = 'awaiting_approval'")" = 1
newkey carol
expect_rc 0 "the root key registers carol, an approver" by root principal add carol \
	--pubkey "$ppl/carol.pub" --role approver
expect_rc 0 "  ... assigned to Client B" by root assign carol "$CLIENT_B"
expect_rc 0 "carol, another person, may approve it" by carol approve "$BJOB"

# ---- the scheduled path: a CI job with a principal's key, nothing else ----
newkey ci
expect_rc 0 "the root key registers a CI principal" by root principal add ci \
	--pubkey "$ppl/ci.pub" --role requester
expect_rc 0 "  ... assigned to Client B" by root assign ci "$CLIENT_B"
mkdir -p "$ppl/nightly" && chown "$PPL" "$ppl/nightly"
expect_rc 0 "the CI job exports Client B's invoices in one step" \
	by ci run --tenant "$CLIENT_B" --tables app.invoices --json
CIJOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"])' "$work/out")
expect_rc 0 "  ... fetches the archive" by ci fetch "$CIJOB" --to "$ppl/nightly"
expect_rc 0 "  ... and proves it" "$V" verify --identity "$work/keys/client-b.age" \
	--signer "$work/keys/sign.pub" --tenant "$CLIENT_B" "$(ls "$ppl"/nightly/*.texp)"

stop_service
expect_rc 0 "the log verifies: every row signed and in its place" \
	"$E" audit verify --config "$C"
finish
