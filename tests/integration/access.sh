#!/bin/sh
# Who may export, on a real PostgreSQL: signed requests, typed
# confirmation, approval, jobs, fetch and expiry, with the cases from the
# field. Every refusal must be in the audit log, and answers must never
# tell another tenant's existence or job apart from an unknown one.
work=$(mktemp -d /tmp/texp-access.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_access_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
C="$work/agency.conf"
# The defaults: PII tables and whole tenants are high-risk.
sed -i '/^high_risk_/d' "$C"

# by NAME CMD ARGS...: tenant-export CMD signed by NAME's key.
by() {
	who=$1
	shift
	sub=$1
	shift
	"$E" "$sub" "$@" --config "$C" --as "$work/keys/$who.key" \
	    --passphrase-file "$work/keys/$who.pass"
}
# hby NAME CMD ARGS...: the same with the test-only build, whose signing
# obeys TEXP_TEST_ACTION_AGE / _SAVE / _REPLAY.
hby() {
	who=$1
	shift
	sub=$1
	shift
	"$H" "$sub" "$@" --config "$C" --as "$work/keys/$who.key" \
	    --passphrase-file "$work/keys/$who.pass"
}
denied() {	# EVENT PRINCIPAL REASON: count of such audit rows
	sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'
	    AND principal IS NOT DISTINCT FROM NULLIF('$2', '')
	    AND detail->>'reason' = '$3'"
}
events() { sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'"; }
# A job's id is the first 16 bytes of its id hash (docs/CONTROL.md).
job_where() { echo "substr(encode(id_hash, 'hex'), 1, 32) = '$1'"; }
job_state() { sql "SELECT state FROM texp_control.jobs WHERE $(job_where "$1")"; }

# ---- the agency's principals, set up the real way: signed admin actions ----
test_key boss
expect_rc 0 "the root key registers the first admin" as_root principal add boss \
	--pubkey "$work/keys/boss.pub" --role admin
expect_rc 0 "admin registers Client A" by boss tenant add "$CLIENT_A" \
	--name "Client A" --recipient "$(cat "$work/keys/client-b.rcpt")"
# Client B was registered by the root key in the shared fixture
# (lib/agency.sh); the root key assigns the admin to it too.
expect_rc 0 "the root key assigns the admin to Client B" as_root assign boss "$CLIENT_B"
for p in "alice requester,pii $CLIENT_A" "bob requester,pii $CLIENT_B" \
    "carol approver $CLIENT_B" "dave approver $CLIENT_A" \
    "frank requester $CLIENT_B"; do
	set -- $p
	test_key "$1"
	expect_rc 0 "admin adds $1 ($2)" by boss principal add "$1" \
		--pubkey "$work/keys/$1.pub" --role "$2"
	expect_rc 0 "admin assigns $1" by boss assign "$1" "$3"
done
GHOST=c0000000-0000-4000-8000-00000000000c	# no such tenant anywhere

# ---- support pastes the wrong tenant id ----
expect_rc 1 "bob (Client B) requesting Client A's id is refused" \
	by bob request --tenant "$CLIENT_A" --tables app.invoices
sed "s/$CLIENT_A/<T>/g" "$work/err" >"$work/err.assigned_elsewhere"
check "  ... without a job" test "$(sql "SELECT count(*) FROM texp_control.jobs")" = 0
expect_rc 1 "bob requesting a tenant that does not exist is refused" \
	by bob request --tenant "$GHOST" --tables app.invoices
sed "s/$GHOST/<T>/g" "$work/err" >"$work/err.ghost"
check "  ... with exactly the same words (existence not revealed)" \
	cmp -s "$work/err.assigned_elsewhere" "$work/err.ghost"
check "  ... both refusals are audited (not_assigned)" \
	test "$(denied export.denied bob not_assigned)" = 2

# ---- a high-risk request: typed confirmation, then approval ----
expect_rc 1 "a whole-tenant request without confirmation is refused" \
	by bob request --tenant "$CLIENT_B"
check "  ... saying how to confirm" grep -q "EXPORT" "$work/err"
expect_rc 1 "a wrong typed confirmation is refused" \
	by bob request --tenant "$CLIENT_B" --confirm "EXPORT Client A"
check "  ... audited (confirmation)" test "$(denied export.denied bob confirmation)" = 2
expect_rc 0 "the right typed confirmation is accepted" \
	by bob request --tenant "$CLIENT_B" --confirm "EXPORT Client B"
JOB=$(cat "$work/out")
check "  ... prints a 128-bit job id" sh -c 'printf "%s" "$1" | grep -Eq "^[0-9a-f]{32}$"' sh "$JOB"
check "  ... the job awaits approval" test "$(job_state "$JOB")" = awaiting_approval
check "  ... the audit log names it by the same id" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE job = '$JOB' AND event = 'export.requested'")" = 1
expect_rc 0 "status names it by the same id" by bob status "$JOB"
check "  ... (job $JOB)" grep -q "^job $JOB\$" "$work/out"
expect_rc 0 "so does list" by bob list
check "  ... (a line starting with it)" grep -q "^$JOB " "$work/out"
expect_rc 0 "and list --json" by bob list --json
check "  ... (\"id\": \"$JOB\", no other name, no numeric code)" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
assert j["id"] == sys.argv[2], j
assert "ref" not in j and "job_hash" not in j, j
assert j["finished"] is None and j["started"] is None, j
r = json.load(open(sys.argv[1]))
assert "r" not in r and r["error"] is None and r["ok"] is True, r' "$work/out" "$JOB"
expect_rc 0 "an upper-case id is the same job" by bob status "$(echo "$JOB" | tr a-f A-F)"
check "  ... audited: confirmed, requested" test \
	"$(events export.confirmed)/$(events export.requested)" = "1/1"
expect_rc 1 "running it before approval is refused" by bob run --job "$JOB"
check "  ... awaiting approval" grep -q "awaits approval" "$work/err"

# ---- Client A's principals try Client B, through every command ----
expect_rc 1 "alice (Client A): request for Client B refused" \
	by alice request --tenant "$CLIENT_B" --tables app.invoices
expect_rc 1 "alice: run for Client B refused" \
	by alice run --tenant "$CLIENT_B" --tables app.invoices
check "  ... nothing was exported" outbox_empty
expect_rc 1 "alice: status of Client B's job refused" by alice status "$JOB"
cp "$work/err" "$work/err.foreign_job"
expect_rc 1 "alice: list --tenant Client B refused" by alice list --tenant "$CLIENT_B"
expect_rc 1 "alice: cancel of Client B's job refused" by alice cancel "$JOB"
expect_rc 1 "alice: fetch of Client B's job refused" \
	by alice fetch "$JOB" --to "$work"
expect_rc 1 "alice: run --job of Client B's job refused" by alice run --job "$JOB"
expect_rc 1 "dave (approver of Client A) cannot approve Client B's job" \
	by dave approve "$JOB"
check "  ... he is not even shown what it is" sh -c '! grep -q "$1" "$2"' sh "$CLIENT_B" "$work/out"
check "every one of those refusals is in the audit log" test \
	"$(denied export.denied alice not_assigned)/$(denied status.denied alice not_assigned)/$(denied list.denied alice not_assigned)/$(denied cancel.denied alice not_assigned)/$(denied fetch.denied alice not_assigned)/$(denied run.denied alice not_assigned)/$(denied status.denied dave not_assigned)" \
	= "2/1/1/1/1/1/1"
check "  ... and the job is untouched" test "$(job_state "$JOB")" = awaiting_approval
expect_rc 0 "alice's own list shows none of Client B's jobs" by alice list --json
check "  ... empty" sh -c '! grep -q "$1" "$2"' sh "$CLIENT_B" "$work/out"

# ---- guessed and foreign job ids give the same answer ----
GUESS=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
expect_rc 1 "alice: a guessed job id" by alice status "$GUESS"
check "  ... the same answer as Client B's real job" cmp -s "$work/err" "$work/err.foreign_job"
expect_rc 1 "bob: a guessed job id is unknown" by bob status "$GUESS"
check "  ... the same answer again" cmp -s "$work/err" "$work/err.foreign_job"
check "  ... audited as unknown_job" test "$(denied status.denied bob unknown_job)" = 1
# a malformed id names no job of anyone's: refused on the spot, before
# the key is unlocked (it tells nothing about any job)
expect_rc 2 "bob: a malformed job id is a usage error" by bob status "not-a-job-id"
check "  ... saying what a job id is" grep -q "is not a job id" "$work/err"
check "  ... not sent to the service" test "$(denied status.denied bob unknown_job)" = 1

# ---- approval ----
expect_rc 1 "self-approval is refused" by bob approve "$JOB"
check "  ... audited (self_approval)" test "$(denied approve.denied bob self_approval)" = 1
expect_rc 1 "a requester without the approver role cannot approve" by frank approve "$JOB"
check "  ... audited (not_approver)" test "$(denied approve.denied frank not_approver)" = 1
expect_rc 0 "carol (approver, Client B) approves" by carol approve "$JOB"
check "  ... the job is queued" test "$(job_state "$JOB")" = queued
expect_rc 1 "a second approval is refused" by carol approve "$JOB"

# ---- replayed and stale requests (test-only hooks sign them) ----
mkdir "$work/saved"
TEXP_TEST_ACTION_SAVE="$work/saved" expect_rc 0 "bob requests invoices (saved)" \
	hby bob request --tenant "$CLIENT_B" --tables app.invoices
TEXP_TEST_ACTION_REPLAY="$work/saved" expect_rc 1 "the same signed request replayed is refused" \
	hby bob request --tenant "$CLIENT_B" --tables app.invoices
check "  ... saying so" grep -q "replay" "$work/err"
check "  ... audited (replay)" test "$(denied export.denied "" replay)" = 1
TEXP_TEST_ACTION_AGE=900 expect_rc 1 "a request signed 15 minutes ago is refused" \
	hby bob request --tenant "$CLIENT_B" --tables app.invoices
check "  ... as stale" grep -q "stale" "$work/err"
check "  ... audited (stale)" test "$(denied export.denied "" stale)" = 1
TEXP_TEST_ACTION_AGE=-900 expect_rc 1 "a request from the future is refused" \
	hby bob request --tenant "$CLIENT_B" --tables app.invoices

# ---- scope rules ----
expect_rc 1 "frank (no pii role) cannot request PII tables" \
	by frank request --tenant "$CLIENT_B" --tables app.contacts
check "  ... audited (pii)" test "$(denied export.denied frank pii)" = 1
expect_rc 0 "frank may request non-PII tables (not high-risk: queued)" \
	by frank request --tenant "$CLIENT_B" --tables app.invoices --json
check "  ... queued" grep -q '"state": "queued"' "$work/out"
FJOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"])' "$work/out")
expect_rc 0 "an idempotency key: first request" \
	by bob request --tenant "$CLIENT_B" --tables app.files --idempotency-key nightly-1
IJOB=$(cat "$work/out")
expect_rc 0 "  ... the retry creates no second job" \
	by bob request --tenant "$CLIENT_B" --tables app.files --idempotency-key nightly-1
check "  ... and names the first one" test "$(cat "$work/out")" = "$IJOB"
check "  ... one job" test "$(sql "SELECT count(*) FROM texp_control.jobs WHERE scope->'tables' = '[\"app.files\"]'")" = 1
expect_rc 1 "  ... the same key for another scope is refused" \
	by bob request --tenant "$CLIENT_B" --tables app.invoices --idempotency-key nightly-1

# ---- cancel ----
expect_rc 0 "frank cancels his own queued job" by frank cancel "$FJOB"
expect_rc 1 "a cancelled job cannot run" by frank run --job "$FJOB"
check "  ... audited" test "$(events export.cancelled)" = 1

# ---- two workers never run one job (FOR UPDATE SKIP LOCKED) ----
# The other worker holds the row until the test lets it go: a session
# fed from a FIFO, waited for in pg_stat_activity (no guessed times).
mkfifo "$work/worker"
psql -X -q -d "$db" <"$work/worker" >/dev/null 2>&1 &
lockpid=$!
exec 3>"$work/worker"
echo "BEGIN; SELECT 1 FROM texp_control.jobs
    WHERE $(job_where "$JOB") FOR UPDATE;
    SELECT 'texp-other-worker';" >&3
other_worker_holds() {
	test "$(sql "SELECT count(*) FROM pg_stat_activity
	    WHERE state = 'idle in transaction' AND query LIKE '%texp-other-worker%'
	    AND query NOT LIKE '%pg_stat_activity%'")" = 1
}
wait_for "the other worker to hold the job" other_worker_holds
expect_rc 1 "a job another worker holds is skipped, not run twice" by bob run --job "$JOB"
check "  ... saying another worker has it" grep -q "another" "$work/err"
echo "COMMIT;" >&3
exec 3>&-
wait "$lockpid"
check "  ... the job is still queued" test "$(job_state "$JOB")" = queued

# ---- the happy path: approved job runs, is fetched and proven ----
expect_rc 0 "bob runs the approved job" by bob run --job "$JOB" --json
check "  ... ready" test "$(job_state "$JOB")" = ready
check "  ... audited started and completed, with the receipt" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE job = '$JOB'
	    AND event = 'export.completed' AND detail ? 'receipt'
	    AND detail ? 'manifest_digest'")" = 1
check "  ... the receipt is the manifest the archive's signature binds" test \
	"$(sql "SELECT encode(manifest_digest, 'hex') FROM texp_control.jobs
	    WHERE $(job_where "$JOB")")" = \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest_digest"])' "$work/out")"
expect_rc 1 "a ready job cannot run again" by bob run --job "$JOB"
mkdir "$work/got1" "$work/got2" "$work/got3" "$work/got4" "$work/got5"
expect_rc 1 "alice cannot fetch it" by alice fetch "$JOB" --to "$work/got1"
expect_rc 1 "frank (Client B, no pii role) cannot fetch PII" by frank fetch "$JOB" --to "$work/got1"
check "  ... audited (pii)" test "$(denied fetch.denied frank pii)" = 1
check "  ... nothing copied" test -z "$(ls -A "$work/got1")"
expect_rc 0 "bob fetches it" by bob fetch "$JOB" --to "$work/got1"
A1=$(ls "$work"/got1/*.texp)
check "  ... archive and signature, mode 0600" sh -c '
	[ "$(stat -c %a "$1")" = 600 ] && [ "$(stat -c %a "$1.minisig")" = 600 ]' sh "$A1"
expect_rc 0 "  ... tenant-verify proves it is Client B's" "$V" verify \
	--identity "$work/keys/client-b.age" --signer "$work/keys/sign.pub" \
	--tenant "$CLIENT_B" "$A1"
expect_rc 2 "fetch never overwrites" by bob fetch "$JOB" --to "$work/got1"
check "  ... a failed copy does not use up a download" test \
	"$(sql "SELECT fetch_count FROM texp_control.jobs WHERE $(job_where "$JOB")")" = 1
expect_rc 0 "second download" by bob fetch "$JOB" --to "$work/got2"
expect_rc 0 "third download" by bob fetch "$JOB" --to "$work/got3"
expect_rc 1 "the download limit (3) is enforced" by bob fetch "$JOB" --to "$work/got4"
check "  ... saying so" grep -q "limit" "$work/err"
check "  ... nothing copied" test -z "$(ls -A "$work/got4")"
check "  ... audited (download_limit)" test "$(denied fetch.denied bob download_limit)" = 1
check "  ... every fetch is audited" test "$(events export.fetched)/$(events fetch.failed)" = "3/1"
expect_rc 0 "status shows who requested, approved and fetched" by bob status "$JOB"
check "  ... bob, carol, bob" sh -c 'grep -q "requested by: bob" "$1" &&
	grep -q "approved by:  carol" "$1" && grep -q "fetched by:   bob" "$1"' sh "$work/out"
expect_rc 0 "list --tenant shows the tenant's recent exports" by carol list --tenant "$CLIENT_B"
check "  ... with the job's id and state" grep -q "^$JOB  ready" "$work/out"

# ---- expiry and sweep ----
sql "UPDATE texp_control.jobs SET expires_at = now() - interval '1 minute'
    WHERE $(job_where "$JOB")"
expect_rc 0 "sweep expires the job" "$E" sweep --config "$C"
check "  ... the archive is deleted from the outbox" outbox_empty
check "  ... the job is expired" test "$(job_state "$JOB")" = expired
check "  ... audited (deleted, expired)" test \
	"$(sql "SELECT count(*) FROM texp_control.audit_log WHERE job = '$JOB'
	    AND event IN ('export.deleted', 'export.expired')")" = 2
sql "UPDATE texp_control.jobs SET max_fetches = 10
    WHERE $(job_where "$JOB")" 2>/dev/null
expect_rc 1 "fetch after expiry is refused" by bob fetch "$JOB" --to "$work/got5"
check "  ... audited" test "$(denied fetch.denied bob state)" = 1

# ---- run without a principal; nothing secret in jobs or the log ----
expect_rc 2 "run without --as is refused" "$E" run --config "$C" --tenant "$CLIENT_B"
check "no passphrase or key in the audit log or jobs" sh -c '
	pg_dump -d "$1" -a -n texp_control >"$2/dump.sql"
	for f in "$2"/keys/*.pass; do grep -qF "$(cat "$f")" "$2/dump.sql" && exit 1; done
	exit 0' sh "$db" "$work"
expect_rc 0 "the audit log still verifies" "$E" audit verify --config "$C"

# ---- a scope that is not high-risk but turns out large waits for approval ----
printf 'high_risk_rows = 50\n' >>"$C"
rm -rf "$work/outbox" && mkdir -p "$work/outbox"
expect_rc 1 "bob's export of 200 invoices over a 50-row threshold is held" \
	by bob run --tenant "$CLIENT_B" --tables app.invoices
check "  ... saying it needs an approval" grep -q "needs an approval" "$work/err"
check "  ... and publishing nothing" outbox_empty
BIG=$(sql "SELECT substr(encode(id_hash, 'hex'), 1, 32) FROM texp_control.jobs
    WHERE state = 'awaiting_approval' AND scope->'tables' ? 'app.invoices'
    ORDER BY created_at DESC LIMIT 1")
check "  ... the job now awaits approval" test -n "$BIG"
check "  ... audited (export.held)" test "$(events export.held)" = 1
BIGID=$(grep -E '^[0-9a-f]{32}$' "$work/out" | head -n 1)
check "  ... its id is shown to the requester" test "$BIGID" = "$BIG"
expect_rc 0 "carol approves the held job" by carol approve "$BIGID"
expect_rc 0 "bob runs it: approved, it is published" by bob run --job "$BIGID"
check "  ... an archive is published" sh -c 'ls "$1"/outbox/*.texp >/dev/null' sh "$work"
sed -i '/^high_risk_rows/d' "$C"

finish
