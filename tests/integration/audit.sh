#!/bin/sh
# The audit log on a real PostgreSQL: hash chain, append-only rules,
# tampering directly in SQL (each on a fresh copy of the log), and signed
# checkpoints.
work=$(mktemp -d /tmp/texp-audit.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/control.sh"
db=texp_audit_$$
control_setup "$db" || { echo "not ok - control set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM

# Appends N signed events the real way: tenants registered by the root
# key, with UTF-8, quotes and a backslash in their names.
append_events() {
	i=0
	while [ "$i" -lt "$1" ]; do
		i=$((i + 1))
		as_root tenant add "t-$1-$i" --name "Zoë \"quoted\" \\ back $1-$i" \
		    >/dev/null || return 1
	done
}
rows() { sql "SELECT count(*) FROM texp_control.audit_log"; }
verify() { "$E" audit verify --config "$CFG" "$@"; }
# Restores the log saved by save_log, bypassing the triggers as only a
# superuser can.
save_log() {
	sql "SET client_min_messages = warning;
	    DROP TABLE IF EXISTS public.audit_saved;
	    CREATE TABLE public.audit_saved AS SELECT * FROM texp_control.audit_log"
}
restore_log() {
	sql "SET session_replication_role = replica;
	    DELETE FROM texp_control.audit_log;
	    INSERT INTO texp_control.audit_log SELECT * FROM public.audit_saved"
}
# tamper SQL: runs SQL as the superuser with the triggers off.
tamper() {
	sql "SET session_replication_role = replica; $1"
}

# ---- a good log verifies ----
check "init audited the migration" [ "$(audit_rows control.migrated)" = 1 ]
check "append 8 signed events" append_events 8
N=$(rows)
expect_rc 0 "audit verify: intact log" verify
check "it counts $N rows" grep -q "ok, $N rows" "$work/out"
expect_rc 0 "audit show --json" "$E" audit show --config "$CFG" --json
check "show prints one JSON object per row" \
	[ "$(grep -c '^{"seq": *[0-9]' "$work/out")" = "$N" ]
check "show keeps the UTF-8 detail" \
	grep -qi 'Zo\\u00eb' "$work/out"
expect_rc 0 "audit show --since $((N - 1))" "$E" audit show --config "$CFG" --since $((N - 1))
check "show --since prints the last two rows" \
	[ "$(cut -d' ' -f1 "$work/out" | tr '\n' ' ')" = "$((N - 1)) $N " ]
check "seq has no gaps" [ "$(sql "SELECT max(seq) = count(*) FROM texp_control.audit_log")" = t ]

# The SQL row text is byte for byte what audit.c rebuilds (check_action.c
# pins the C side to the same text).
check "SQL and C agree on the row text" [ "$(sql "SELECT encode(convert_to(
    texp_control.audit_row_text(7, 'epoch'::timestamptz
    + interval '1700000000.123456 seconds', 'tenant.added', 'root', '9',
    NULL, '', '{\"display_name\": \"Zo\u00eb\"}'::jsonb, 'vm', '0.1.0'),
    'UTF8'), 'hex')")" = "$(printf 'texp-audit v1\n7\n1700000000123456\nS12:tenant.added\nS4:root\nS1:9\nN\nS0:\nS24:{"display_name": "Zo\303\253"}\nS2:vm\nS5:0.1.0\n' | od -An -tx1 | tr -d ' \n')" ]

check "SQL agrees on the text of a signed (version 2) row" [ "$(sql "SELECT encode(convert_to(
    texp_control.audit_row_text2(7, 'epoch'::timestamptz
    + interval '1700000000.123456 seconds', 'tenant.added', 'root', '9',
    NULL, NULL, NULL, 'vm', '0.1.0', 'A', 'S'), 'UTF8'), 'hex')")" = "$(printf 'texp-audit v2\n7\n1700000000123456\nS12:tenant.added\nS4:root\nS1:9\nN\nN\nN\nS2:vm\nS5:0.1.0\nS1:A\nS1:S\n' | od -An -tx1 | tr -d ' \n')" ]

# ---- append-only: the monitor cannot change or remove rows ----
expect_rc 1 "monitor: UPDATE refused" \
	msql "UPDATE texp_control.audit_log SET event = 'x' WHERE seq = 2"
expect_rc 1 "monitor: DELETE refused" \
	msql "DELETE FROM texp_control.audit_log WHERE seq = 2"
expect_rc 1 "monitor: TRUNCATE refused" \
	msql "TRUNCATE texp_control.audit_log"
expect_rc 1 "monitor: direct INSERT refused" \
	msql "INSERT INTO texp_control.audit_log SELECT * FROM texp_control.audit_log WHERE seq = 2"
expect_rc 1 "even the owner: UPDATE refused by the trigger" \
	sql "SET ROLE texp_control_owner; UPDATE texp_control.audit_log SET event = 'x' WHERE seq = 2"
check "  ... with the append-only message" grep -q "append-only" "$work/err"
expect_rc 1 "even the owner: DELETE refused by the trigger" \
	sql "SET ROLE texp_control_owner; DELETE FROM texp_control.audit_log WHERE seq = 2"
expect_rc 1 "even the owner: TRUNCATE refused by the trigger" \
	sql "SET ROLE texp_control_owner; TRUNCATE texp_control.audit_log"
expect_rc 1 "unsigned rows are refused" \
	msql "SELECT texp_control.audit_append('x', NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
check "  ... saying the log takes signed rows only" grep -q "signed rows only" "$work/err"
expect_rc 1 "audit_append_signed rejects a detail that is not an object" \
	msql "SELECT texp_control.audit_append_signed($((N + 1)), 'x', NULL, NULL, NULL, NULL, '[1]', NULL, NULL, 'a', 's')"
expect_rc 1 "audit_append_signed refuses a row that is not the next" \
	msql "SELECT texp_control.audit_append_signed(2, 'x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'a', 's')"
expect_rc 0 "audit verify: still intact" verify

# ---- tampering in SQL, each on a fresh copy of the log ----
save_log
tamper "UPDATE texp_control.audit_log SET detail = '{\"i\": 99}' WHERE seq = 4"
expect_rc 1 "row edited: verify fails" verify
check "  ... naming row 4 as changed" grep -q "FAILED at row 4: row 4 changed" "$work/err"
restore_log
expect_rc 0 "restored copy verifies" verify

tamper "UPDATE texp_control.audit_log SET principal = 'mallory' WHERE seq = 7"
expect_rc 1 "principal rewritten: verify fails" verify
check "  ... naming row 7" grep -q "FAILED at row 7" "$work/err"
restore_log

tamper "DELETE FROM texp_control.audit_log WHERE seq = 5"
expect_rc 1 "row deleted: verify fails" verify
check "  ... naming row 5 as missing" grep -q "FAILED at row 5: row 5 missing" "$work/err"
restore_log

tamper "DELETE FROM texp_control.audit_log WHERE seq = $N"
expect_rc 1 "last row deleted: the head the service pinned catches it" verify
check "  ... saying rows were deleted" grep -q "this service wrote row $N (rows were deleted)" "$work/err"
restore_log

# a forged row pushed into the middle (later rows renumbered)
tamper "UPDATE texp_control.audit_log SET seq = -seq - 1 WHERE seq >= 3;
    UPDATE texp_control.audit_log SET seq = -seq WHERE seq < 0;
    INSERT INTO texp_control.audit_log SELECT 3, at, 'principal.added',
    'mallory', tenant, job, scope, detail, host, tool_version, hash, hash
    FROM texp_control.audit_log WHERE seq = 2"
expect_rc 1 "forged row inserted: verify fails" verify
check "  ... naming row 3" grep -q "FAILED at row 3: row 3 changed" "$work/err"
restore_log

# the same, with the forged row's hash computed correctly: the next row
# no longer matches (its seq changed)
tamper "UPDATE texp_control.audit_log SET seq = -seq - 1 WHERE seq >= 3;
    UPDATE texp_control.audit_log SET seq = -seq WHERE seq < 0;
    INSERT INTO texp_control.audit_log SELECT 3, at, 'principal.added',
    'mallory', tenant, job, scope, detail, host, tool_version, hash,
    sha256(hash || convert_to(texp_control.audit_row_text(3, at,
    'principal.added', 'mallory', tenant, job, scope, detail, host,
    tool_version), 'UTF8')) FROM texp_control.audit_log WHERE seq = 2"
expect_rc 1 "well-forged row inserted: verify fails" verify
check "  ... naming row 4, the first that no longer matches" \
	grep -q "FAILED at row 4" "$work/err"
restore_log

tamper "INSERT INTO texp_control.audit_log SELECT 0, at, event, principal,
    tenant, job, scope, detail, host, tool_version, prev_hash, hash
    FROM texp_control.audit_log WHERE seq = 1"
expect_rc 1 "row inserted before the first: verify fails" verify
check "  ... naming row 0 as out of sequence" \
	grep -q "FAILED at row 0: row 0 out of sequence" "$work/err"
restore_log

tamper "UPDATE texp_control.audit_log SET seq = -2 WHERE seq = 2;
    UPDATE texp_control.audit_log SET seq = 2 WHERE seq = 6;
    UPDATE texp_control.audit_log SET seq = 6 WHERE seq = -2"
expect_rc 1 "rows 2 and 6 swapped: verify fails" verify
check "  ... naming row 2" grep -q "FAILED at row 2" "$work/err"
restore_log

tamper "UPDATE texp_control.audit_log SET prev_hash = sha256('x'::bytea) WHERE seq = 8"
expect_rc 1 "prev_hash replaced: verify fails" verify
check "  ... naming row 8" grep -q "FAILED at row 8" "$work/err"
restore_log
expect_rc 0 "restored copy verifies again" verify

# ---- signed checkpoints ----
expect_rc 0 "audit keygen" "$E" audit keygen --name audit.example/log \
	--out "$work/keys/cp"
check "secret key is mode 0600" sh -c '[ "$(stat -c %a "$1")" = 600 ]' \
	sh "$work/keys/cp.skey"
expect_rc 2 "audit keygen refuses to overwrite" "$E" audit keygen \
	--name audit.example/log --out "$work/keys/cp"
expect_rc 0 "audit checkpoint" "$E" audit checkpoint --config "$CFG" \
	--key "$work/keys/cp.skey" --origin audit.example/log \
	--out "$work/cp1"
check "checkpoint body: origin, size $N, hash" sh -c '
	sed -n 1p "$1" | grep -qx "audit.example/log" &&
	sed -n 2p "$1" | grep -qx "$2" &&
	sed -n 3p "$1" | grep -Eqx "[A-Za-z0-9+/]{43}="' sh "$work/cp1" "$N"
check "checkpoint head is row $N's hash" [ "$(sed -n 3p "$work/cp1")" = \
	"$(sql "SELECT encode(hash, 'base64') FROM texp_control.audit_log WHERE seq = $N")" ]
expect_rc 2 "audit checkpoint refuses to overwrite" "$E" audit checkpoint \
	--config "$CFG" --key "$work/keys/cp.skey" \
	--origin audit.example/log --out "$work/cp1"
expect_rc 0 "verify against the checkpoint" verify --checkpoint "$work/cp1" \
	--checkpoint-key "$work/keys/cp.vkey"
check "  ... says it extends it" grep -q "extends the checkpoint" "$work/out"
check "append 3 more events" append_events 3
expect_rc 0 "the extended log still verifies against the old checkpoint" \
	verify --checkpoint "$work/cp1" --checkpoint-key "$work/keys/cp.vkey"

save_log
# A rewritten history with a consistent chain: the hashes say nothing,
# the service's signatures and the checkpoint do.
tamper "UPDATE texp_control.audit_log SET detail = '{\"display_name\": \"x\"}' WHERE seq = 3; $(rechain_sql)"
expect_rc 1 "rewritten row with a recomputed chain: verify fails" verify
check "  ... naming row 3, which is not what the service signed" \
	grep -q "FAILED at row 3: row 3 (.*): its detail differs from what the service signed" "$work/err"
expect_rc 1 "... and against the checkpoint" verify \
	--checkpoint "$work/cp1" --checkpoint-key "$work/keys/cp.vkey"
check "  ... naming row $N, the checkpoint's head" \
	grep -q "FAILED at row $N: row $N differs from the checkpoint" "$work/err"
restore_log
tamper "DELETE FROM texp_control.audit_log WHERE seq = 5;
    UPDATE texp_control.audit_log SET seq = seq + 1000000 WHERE seq > 5;
    UPDATE texp_control.audit_log SET seq = seq - 1000001 WHERE seq > 1000000; $(rechain_sql)"
expect_rc 1 "a row removed and the rest renumbered and re-chained: verify fails" verify
check "  ... at row 5, whose signed place differs" \
	grep -q "FAILED at row 5: .*signed place in the log differs" "$work/err"
restore_log

tamper "DELETE FROM texp_control.audit_log WHERE seq > 7"
rm -f "$work/service-state/log-head"
expect_rc 1 "truncated log fails against the checkpoint (even without the pinned head)" verify \
	--checkpoint "$work/cp1" --checkpoint-key "$work/keys/cp.vkey"
check "  ... naming row 8" grep -q "FAILED at row 8" "$work/err"
restore_log

expect_rc 0 "a second checkpoint key" "$E" audit keygen \
	--name audit.example/log --out "$work/keys/other"
expect_rc 0 "checkpoint signed with the other key" "$E" audit checkpoint \
	--config "$CFG" --key "$work/keys/other.skey" \
	--origin audit.example/log --out "$work/cp-other"
expect_rc 1 "a checkpoint by another key fails" verify \
	--checkpoint "$work/cp-other" --checkpoint-key "$work/keys/cp.vkey"
check "  ... as not signed by the trusted key" grep -q "checkpoint signature" "$work/err"
sed '2s/.*/5/' "$work/cp1" >"$work/cp-edited"
expect_rc 1 "an edited checkpoint fails" verify \
	--checkpoint "$work/cp-edited" --checkpoint-key "$work/keys/cp.vkey"
check "  ... on its signature" grep -q "checkpoint signature" "$work/err"
chmod 644 "$work/keys/cp.skey"
expect_rc 2 "a readable checkpoint secret key is refused" "$E" audit \
	checkpoint --config "$CFG" --key "$work/keys/cp.skey" \
	--origin audit.example/log --out "$work/cp2"
chmod 600 "$work/keys/cp.skey"

tamper "UPDATE texp_control.audit_log SET event = 'x' WHERE seq = 2"
expect_rc 1 "no checkpoint of a broken log" "$E" audit checkpoint \
	--config "$CFG" --key "$work/keys/cp.skey" \
	--origin audit.example/log --out "$work/cp3"
check "  ... and no file written" test ! -e "$work/cp3"
restore_log

expect_rc 2 "verify without --config is a usage error" "$E" audit verify
finish
