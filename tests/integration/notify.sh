#!/bin/sh
# Notifications on a real PostgreSQL: [notify] command gets one JSON
# document for each job event a person waits for (ready, failed, held,
# expired), without a key, a passphrase, a row or a file's content; a
# failing, a hanging (killed after its timeout) and a slow hook never
# block or fail the export; a hook that tries to read the archive gets
# nothing more than the path the document names.
work=$(mktemp -d /tmp/texp-notify.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
db=texp_notify_$$
agency_setup "$db" || { echo "not ok - agency set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
C="$work/agency.conf"
H_DIR="$work/hook"
mkdir "$H_DIR"
mkfifo "$H_DIR/gate"
echo ok >"$H_DIR/mode"
# A hook as an operator would write one; what it does is chosen by the
# test through $H_DIR/mode. It also tries to read what it should not.
cat >"$H_DIR/hook.sh" <<EOF
#!/bin/sh
dir=$H_DIR
n=\$(ls "\$dir" | grep -c '^doc\\.')
echo "\$#" >"\$dir/argc.\$n"
env >"\$dir/env.\$n"
cat >"\$dir/doc.\$n"
path=\$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get("path", ""))' "\$dir/doc.\$n")
if [ -n "\$path" ]; then
	cat "\$path" >"\$dir/archive.\$n" 2>/dev/null
	echo \$? >"\$dir/archive-rc.\$n"
	ls -A "\$(dirname "\$path")" >"\$dir/outbox.\$n" 2>&1
fi
cat "$work/keys/sign.key" "$work/keys/monitor.password" \
    "$work/keys/service.key" >"\$dir/secrets.\$n" 2>/dev/null
echo \$\$ >"\$dir/pid.\$n"
case "\$(cat "\$dir/mode")" in
fail)	echo "the mail server refused" >&2; exit 3 ;;
hang)	exec sleep 3600 ;;
slow)	cat "\$dir/gate" >/dev/null ;;
esac
exit 0
EOF
chmod 755 "$H_DIR/hook.sh"
printf '\n[notify]\ncommand = %s\ntimeout = 2s\n' "$H_DIR/hook.sh" >>"$C"
notes() { sql "SELECT count(*) FROM texp_control.audit_log WHERE event = '$1'"; }
docs() { ls "$H_DIR" | grep -c '^doc\.'; }
# doc_field N FIELD: a field of document N ("" when absent)
doc_field() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); v = d.get(sys.argv[2], "")
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' \
	    "$H_DIR/doc.$1" "$2"
}

# ---- ready: what the hook is told, and all it can see ----
expect_rc 0 "an export is published" "$E" run --config "$C" $RUN_AS \
    --tenant "$CLIENT_B" --tables app.invoices --json
wait_for "the hook to have been told" holds '[ "$(notes notify.sent)" = 1 ]'
check "  ... one document: event ready" test "$(doc_field 0 event)" = ready
check "  ... for the tenant and job" sh -c '[ "$1" = "$2" ] && [ -n "$3" ]' \
    sh "$(doc_field 0 tenant)" "$CLIENT_B" "$(doc_field 0 job)"
check "  ... naming the archive, its path, records and size" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["archive"].endswith(".texp") and d["path"].endswith("/" + d["archive"])
assert d["records"] == 200 and d["bytes"] > 0 and d["parts"] == 0
assert d["scope"]["tables"] == ["app.invoices"]' "$H_DIR/doc.0"
check "  ... and nothing else (no key, passphrase, row or content)" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
allowed = {"version", "event", "job", "tenant", "state", "scope",
    "attempts", "archive", "path", "records", "bytes", "parts", "expires",
    "time"}
assert set(d) <= allowed, set(d) - allowed
# the job by its one name: the 32-hex id every command takes
assert len(d["job"]) == 32 and int(d["job"], 16) >= 0, d["job"]' "$H_DIR/doc.0"
check "  ... no secret of the service in it" sh -c '
	for f in "$1"/keys/*.pass "$1"/keys/monitor.password; do
		grep -qF "$(cat "$f")" "$2" && exit 1
	done; ! grep -q "comment" "$2"' sh "$work" "$H_DIR/doc.0"
check "  ... run with a fixed argv (the command alone)" test "$(cat "$H_DIR/argc.0")" = 0
check "  ... and a fixed environment" sh -c '
	! grep -q "^TEXP\|^PG\|^HOME=" "$1" && grep -q "^PATH=" "$1"' sh "$H_DIR/env.0"
check "the hook cannot read the archive it is told of" sh -c '
	[ "$(cat "$1/archive-rc.0")" != 0 ] && [ ! -s "$1/archive.0" ]' sh "$H_DIR"
check "  ... nor see anything in the outbox" test ! -s "$H_DIR/outbox.0"
check "  ... nor read the signing key, the service key or the database password" \
    test ! -s "$H_DIR/secrets.0"
check "  ... while the archive is there for the service" sh -c \
    'ls "$1"/outbox/*.texp >/dev/null' sh "$work"
rm -f "$work"/outbox/*

# ---- a failing hook ----
echo fail >"$H_DIR/mode"
expect_rc 0 "an export with a failing hook is published all the same" \
    "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
wait_for "the failure to be logged" holds '[ "$(notes notify.failed)" = 1 ]'
check "  ... with its status and its words" test "$(sql "SELECT
    detail->>'result' FROM texp_control.audit_log WHERE event =
    'notify.failed'")" = "exited with status 3: the mail server refused"
rm -f "$work"/outbox/*

# ---- a hanging hook is killed after its timeout ----
echo hang >"$H_DIR/mode"
expect_rc 0 "an export with a hanging hook is published at once" \
    "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
wait_for "the hook to be killed" holds '[ "$(notes notify.failed)" = 2 ]'
check "  ... after its timeout" test "$(sql "SELECT detail->>'result' FROM
    texp_control.audit_log WHERE event = 'notify.failed' ORDER BY seq DESC
    LIMIT 1")" = "killed after 2 s (its [notify] timeout)"
check "  ... and nothing of it is left running" sh -c '
	! kill -0 "$(cat "$1/pid.2")" 2>/dev/null' sh "$H_DIR"
rm -f "$work"/outbox/*

# ---- a slow hook does not hold the export up ----
echo slow >"$H_DIR/mode"
sed -i 's/^timeout = 2s/timeout = 5m/' "$C"
expect_rc 0 "an export with a slow hook returns while the hook still runs" \
    "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
wait_for "the hook to be running" test -s "$H_DIR/pid.3"
check "  ... it is still waiting" sh -c 'kill -0 "$(cat "$1/pid.3")"' sh "$H_DIR"
check "  ... and nothing is logged of it yet" test "$(notes notify.sent)" = 1
echo go >"$H_DIR/gate"
wait_for "the slow hook to finish" holds '[ "$(notes notify.sent)" = 2 ]'
sed -i 's/^timeout = 5m/timeout = 2s/' "$C"
rm -f "$work"/outbox/*

# ---- failed, held, expired ----
echo ok >"$H_DIR/mode"
TEXP_TEST_ATTACK=open expect_rc 1 "an export that fails" \
    "$H" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
wait_for "the hook to be told" holds '[ "$(docs)" = 5 ]'
check "  ... event failed, with the error" sh -c '
	[ "$1" = failed ] && echo "$2" | grep -qi "sandbox\|SIGSYS"' sh \
    "$(doc_field 4 event)" "$(doc_field 4 error)"
printf '[control]\nhigh_risk_rows = 50\n' >>"$C"
expect_rc 1 "an export over the size threshold is held" \
    "$E" run --config "$C" $RUN_AS --tenant "$CLIENT_B" --tables app.invoices
wait_for "the hook to be told" holds '[ "$(docs)" = 6 ]'
check "  ... event held" test "$(doc_field 5 event)" = held
sed -i '/^high_risk_rows/d' "$C"
expect_rc 0 "an export to expire" "$E" run --config "$C" $RUN_AS \
    --tenant "$CLIENT_B" --tables app.files
wait_for "the hook to be told" holds '[ "$(docs)" = 7 ]'
sql "UPDATE texp_control.jobs SET expires_at = now() - interval '1 minute'
    WHERE state = 'ready' AND scope->'tables' = '[\"app.files\"]'"
expect_rc 0 "sweep expires it" "$E" sweep --config "$C"
wait_for "the hook to be told" holds '[ "$(docs)" = 8 ]'
check "  ... event expired" test "$(doc_field 7 event)" = expired
check "  ... of the job that was ready" test "$(doc_field 7 job)" = "$(doc_field 6 job)"

expect_rc 0 "the audit log verifies" "$E" audit verify --config "$C"
finish
