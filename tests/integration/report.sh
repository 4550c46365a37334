#!/bin/sh
# The support page on a real PostgreSQL and in a real browser: a real
# export of Client B fetched twice, a scripted history for Client A (a job
# awaiting approval, a failed one, a refusal), a hostile display name; the
# page loaded once in headless Chromium: its rendered text, the hostile
# name shown as text, nothing run or loaded. Also the metrics of the real
# export (rows and bytes from its receipt).
work=$(mktemp -d /tmp/texp-report.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/control.sh"
. "$(dirname "$0")/lib/history.sh"
db=texp_report_$$
control_setup "$db" || { echo "not ok - control set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM
history_setup || { echo "not ok - history set-up failed"; exit 1; }
A=$CLIENT_A
B=$CLIENT_B
# Downloads in the test happen whenever it runs: no after-hours alerts.
printf '\n[alerts]\nafter_hours = no\n' >>"$CFG"
HOSTILE='<script>window.__pwned=true;document.documentElement.setAttribute("data-pwned","1")</script><img src=x onerror="document.documentElement.setAttribute(&quot;data-pwned&quot;,&quot;2&quot;)">'
sql "INSERT INTO texp_control.tenants (tenant, display_name)
    VALUES ('$A', $(lit "$HOSTILE"))"

# ---- Client B: a real export, fetched twice ----
expect_rc 0 "export Client B" "$E" run --config "$CFG" $RUN_AS --tenant "$B" --json
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/run.json" "$1"; }
cp "$work/out" "$work/run.json"
JOB=$(field job)
"$E" status --config "$CFG" $RUN_AS --json "$JOB" >"$work/status.json" 2>&1
JREF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$work/status.json")
check "the job has one name: status shows the id run printed" [ "$JREF" = "$JOB" ]
RECORDS=$(field records)
ARCHIVE=$(field archive)
mkdir -p "$work/get1" "$work/get2"
expect_rc 0 "runner-b fetches it" as runner-b fetch "$JOB" --to "$work/get1"
expect_rc 0 "runner-b fetches it again" as runner-b fetch "$JOB" --to "$work/get2"

# ---- Client A: a scripted history ----
fixture_job() {	# N TENANT PRINCIPAL STATE CREATED
	sql "INSERT INTO texp_control.jobs (id_hash, tenant, scope, state,
	    requested_by, created_at, updated_at, finished_at, error)
	    SELECT sha256(convert_to('job-$1', 'UTF8')), '$2',
	    '{\"tables\": [\"app.invoices\"], \"since\": \"2026-01-01\",
	    \"until\": null, \"include_global\": false, \"pii\": false}', '$4',
	    p.id, '$5', '$5', CASE WHEN '$4' = 'failed' THEN '$5'::timestamptz
	    + interval '5 minutes' END, 'ROWDATA-SECRET'
	    FROM texp_control.principals p WHERE p.name = '$3'"
}
fixture_job 7 "$A" runner-b awaiting_approval '2026-11-02 08:00Z'
fixture_job 8 "$A" runner-b failed '2026-11-02 09:00Z'
hist '2026-11-02 08:00Z' export.requested runner-b "$A" "$(ref 7)" '{"state": "awaiting_approval"}' >/dev/null
hist '2026-11-02 09:00Z' export.requested runner-b "$A" "$(ref 8)" '{"state": "queued"}' >/dev/null
hist '2026-11-02 09:01Z' export.started runner-b "$A" "$(ref 8)" '{"attempt": 1}' >/dev/null
hist '2026-11-02 09:05Z' export.failed runner-b "$A" "$(ref 8)" '{"error": "ROWDATA-SECRET in a message", "code": "a child process failed or was killed"}' >/dev/null
hist '2026-11-02 09:30Z' export.denied mallory "$A" "" '{"reason": "not_assigned"}' >/dev/null
expect_rc 1 "alerts: the held job and the second download" "$E" alerts --config "$CFG"
cp "$work/out" "$work/alerts.out"

# ---- the page ----
page="$work/support.html"
expect_rc 0 "report --html" "$E" report --config "$CFG" --html "$page" --days 60
check "  ... mode 0640, no temporary file left" sh -c '[ "$(stat -c %a "$1")" = 640 ] && ! ls -A "$2" | grep -q tmp' sh "$page" "$work"
check "the page names the job by its id, as every command does" grep -q "$JOB" "$page"
check "  ... no archive path" sh -c '! grep -q "$1" "$2"' sh "$(basename "$ARCHIVE")" "$page"
check "  ... no free-text error" sh -c '! grep -q ROWDATA-SECRET "$1"' sh "$page"
check "  ... no script, image, link or frame element" sh -c '! grep -Eqi "<(script|img|link|iframe|object|embed)" "$1"' sh "$page"
check "  ... a Content-Security-Policy that forbids scripts" \
	grep -q "default-src 'none'; style-src 'unsafe-inline'" "$page"
check "  ... the hostile name, escaped" grep -qF '&lt;script&gt;window.__pwned=true;' "$page"
expect_rc 2 "report for an unknown tenant" "$E" report --config "$CFG" --html "$work/x.html" --tenant nope
check "  ... writes nothing" test ! -e "$work/x.html"
expect_rc 2 "report without --html is a usage error" "$E" report --config "$CFG"
expect_rc 2 "report --days 0 is a usage error" "$E" report --config "$CFG" --html "$work/x.html" --days 0

# ---- in a real browser ----
expect_rc 0 "the page loads in headless Chromium" \
	python3 "$top/tests/integration/lib/browser.py" "$page"
cp "$work/out" "$work/dom.json"
seen() {	# seen KEY: a value of the read-out
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if not isinstance(v,str) else v)' "$work/dom.json" "$1"
}
# the rendered text with every run of white space as one space
seen text | tr -s ' \t\n' '   ' >"$work/text"
has() { grep -qF -- "$1" "$work/text" || { echo "# not on the page: $1"; return 1; }; }
check "no script ran" [ "$(seen pwned)" = false ]
check "no script element, handler, image or frame in the DOM" \
	[ "$(seen scripts)/$(seen handlers)/$(seen images)/$(seen frames)/$(seen external)" = "0/0/0/0/0" ]
check "the hostile display name is shown as text" has "$HOSTILE tenant $A"
check "the chain status" has "Audit log: hash chain verified"
check "Client B's export: id, requester, scope, state" \
	has "$JREF"
check "  ... requested by runner-b, whole tenant, ready" \
	has "runner-b - whole tenant; personal data ready $(printf "%'d" "$RECORDS" 2>/dev/null || echo "$RECORDS") records"
check "  ... downloaded 2 of 3 times, by runner-b" has "2 of 3 runner-b, "
check "  ... and when it expires" has "expires "
check "  ... the download alert" has "download_near_limit runner-b $JREF download 2 of 3 allowed"
check "Client A's failed job, its row as it reads" \
	has "$(ref 8) 2026-11-02 09:00 runner-b - app.invoices; since 2026-01-01 failed - 0 of 3 - 2026-11-02 09:05 export.failed by runner-b: a child process failed or was killed"
check "Client A's job awaiting approval" \
	has "$(ref 7) 2026-11-02 08:00 runner-b - app.invoices; since 2026-01-01 awaiting_approval - 0 of 3 - -"
check "  ... and its alert" has "held_job runner-b $(ref 7) awaiting approval for"
check "the refusal without a job" \
	has "Refusals without a job 2026-11-02 09:30 export.denied by mallory: not_assigned"

# ---- metrics of the real export ----
expect_rc 0 "metrics" "$E" metrics --config "$CFG"
cp "$work/out" "$work/m.prom"
check "rows exported = the records the run reported" \
	grep -qx "tenant_export_exported_rows_total{tenant=\"$B\"} $RECORDS" "$work/m.prom"
check "  ... = the records in export.completed" [ "$RECORDS" = "$(sql "SELECT
    sum((detail->>'records')::bigint) FROM texp_control.audit_log WHERE
    event = 'export.completed' AND tenant = '$B'")" ]
check "bytes exported: more than the records" sh -c '
	v=$(sed -n "s/^tenant_export_exported_bytes_total{tenant=\"$1\"} //p" "$2")
	[ -n "$v" ] && [ "$v" -gt "$3" ]' sh "$B" "$work/m.prom" "$RECORDS"
check "one export timed" grep -qx "tenant_export_export_duration_seconds_count 1" "$work/m.prom"
check "no unreadable receipt" grep -qx "tenant_export_unreadable_receipts 0" "$work/m.prom"
finish
