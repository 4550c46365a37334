#!/bin/sh
# Monitoring on a real PostgreSQL: the alert rules over a scripted audit
# history (a quiet history raises nothing; a noisy one raises exactly the
# alerts listed below, each once across runs), a broken or shortened
# chain as the first alert, and the metrics file (promtool, a strict
# parser, and every value against the control tables).
work=$(mktemp -d /tmp/texp-ops.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
. "$(dirname "$0")/lib/agency.sh"
. "$(dirname "$0")/lib/control.sh"
. "$(dirname "$0")/lib/history.sh"
db=texp_ops_$$
control_setup "$db" || { echo "not ok - control set-up failed"; exit 1; }
trap 'dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"' EXIT INT TERM
history_setup || { echo "not ok - history set-up failed"; exit 1; }
sql "INSERT INTO texp_control.tenants (tenant, display_name)
    VALUES ('$CLIENT_A', 'Client A')"
A=$CLIENT_A
B=$CLIENT_B
PROMTOOL=${PROMTOOL:-$(command -v promtool || echo /usr/local/lib/tenant-export/promtool)}
cat >>"$CFG" <<CONF
[alerts]
burst_exports = 3
burst_window = 1h
failures = 2
failures_window = 10m
unusual_after = 30d
downloads_left = 1
business_hours = 08:00-19:00
business_days = mon-fri
timezone = UTC
held_after = 24h
CONF
alerts() { "$E" alerts --config "$CFG" "$@"; }
# rule principal tenant rows, one alert a line, from --json
summary() {
	python3 -c '
import json, sys
A, B = sys.argv[1], sys.argv[2]
def t(x): return {A: "A", B: "B", None: "-"}.get(x, x)
for line in sys.stdin:
    o = json.loads(line)
    print(o["rule"], o["principal"] or "-", t(o["tenant"]),
          ",".join(map(str, o["rows"])))' "$A" "$B" <"$work/out"
}
seq0=$(sql "SELECT max(seq) FROM texp_control.audit_log")
s() { echo $((seq0 + $1)); }

# ---- a quiet history raises nothing ----
# alice exports Client B once in June; dave exports Client B three times
# in one October morning (never 4 in an hour), downloads once in office
# hours, fails once; erin is refused once; a job waits for approval for
# an hour only.
hist '2026-06-01 08:00Z' export.requested alice "$B" "$(ref 1)" '{"state": "queued"}' >/dev/null
hist '2026-10-05 10:00Z' export.requested dave "$B" "$(ref 2)" '{"state": "queued"}' >/dev/null
hist '2026-10-05 10:01Z' export.started dave "$B" "$(ref 2)" '{"attempt": 1}' >/dev/null
hist '2026-10-05 10:03Z' export.completed dave "$B" "$(ref 2)" '{"records": 5}' >/dev/null
hist '2026-10-05 10:30Z' export.fetched dave "$B" "$(ref 2)" '{"count": 1}' >/dev/null
hist '2026-10-05 11:30Z' export.requested dave "$B" "$(ref 3)" '{"state": "queued"}' >/dev/null
hist '2026-10-05 12:00Z' fetch.denied erin "$B" "$(ref 2)" '{"reason": "not_allowed"}' >/dev/null
hist '2026-10-05 13:00Z' export.failed dave "$B" "$(ref 3)" '{"error": "x", "code": "database error"}' >/dev/null
hist '2026-10-05 14:00Z' export.requested dave "$B" "$(ref 4)" '{"state": "queued"}' >/dev/null
held_job 5 "$B" runner-b "now() - interval '1 hour'"
expect_rc 0 "quiet history: no alert" alerts --json
check "  ... and nothing printed" [ ! -s "$work/out" ]
check "the cursor is at the end of the log" [ "$(sql "SELECT last_seq FROM
    texp_control.alert_cursor")" = "$(sql "SELECT max(seq) FROM texp_control.audit_log")" ]
expect_rc 0 "quiet history, second run: no alert" alerts
check "  ... and nothing printed" [ ! -s "$work/out" ]

# ---- a noisy history raises exactly these alerts ----
seq0=$(sql "SELECT max(seq) FROM texp_control.audit_log")
hist '2026-11-02 09:00Z' export.requested alice "$B" "$(ref 10)" '{"state": "queued"}' >/dev/null
hist '2026-11-02 09:05Z' export.requested alice "$A" "$(ref 11)" '{"state": "queued"}' >/dev/null
for m in 00 10 20 30 40; do
	hist "2026-11-02 10:${m}Z" export.requested bob "$B" "$(ref 2$m)" '{"state": "queued"}' >/dev/null
done
for m in 00 02 04; do
	hist "2026-11-02 11:${m}Z" fetch.denied mallory "$A" "$(ref 11)" '{"reason": "not_allowed"}' >/dev/null
done
for m in 00 01 02; do
	hist "2026-11-02 12:${m}Z" export.denied "" "" "" '{"reason": "bad_signature"}' >/dev/null
done
hist '2026-11-02 14:00Z' export.fetched carol "$B" "$(ref 10)" '{"count": 1}' >/dev/null
hist '2026-11-02 15:00Z' export.fetched carol "$B" "$(ref 10)" '{"count": 2}' >/dev/null
hist '2026-11-02 22:30Z' export.fetched carol "$B" "$(ref 10)" '{"count": 3}' >/dev/null
hist '2026-11-02 16:00Z' export.requested runner-b "$B" "$(ref 6)" '{"state": "awaiting_approval"}' >/dev/null
held_job 6 "$B" runner-b "'2026-11-02 16:00Z'"
cat >"$work/want" <<WANT
unusual_tenant alice B $(s 1)
unusual_tenant alice A $(s 2)
burst_principal bob B $(s 3),$(s 4),$(s 5),$(s 6)
burst_tenant bob B $(s 3),$(s 4),$(s 5),$(s 6)
failures_principal mallory A $(s 8),$(s 9),$(s 10)
failures_tenant mallory A $(s 8),$(s 9),$(s 10)
failures_principal - - $(s 11),$(s 12),$(s 13)
download_near_limit carol B $(s 15)
download_near_limit carol B $(s 16)
download_after_hours carol B $(s 16)
held_job runner-b B $(s 17)
WANT
expect_rc 1 "noisy history: alerts raised (exit 1)" alerts --json
summary >"$work/got"
check "  ... exactly the expected alerts, in order" cmp -s "$work/want" "$work/got"
diff "$work/want" "$work/got" | sed 's/^/#   /'
check "  ... alice's tenant not exported for 154 days" grep -q \
	'"rule":"unusual_tenant".*for 154 days' "$work/out"
check "  ... the burst of bob's 5 requests is one alert" \
	[ "$(grep -c '"rule":"burst_principal"' "$work/out")" = 1 ]
check "  ... the held job is named by its id" \
	grep -q "\"rule\":\"held_job\".*\"job\":\"$(ref 6)\"" "$work/out"
check "  ... the after-hours download names its time" \
	grep -q 'download on Mon at 22:30 UTC, outside business hours' "$work/out"
check "the alerts table holds them" \
	[ "$(sql "SELECT count(*) FROM texp_control.alerts")" = 11 ]
expect_rc 0 "second run: each alert was reported once" alerts
check "  ... nothing printed" [ ! -s "$work/out" ]
expect_rc 0 "third run, text output: still nothing" alerts
check "jobs named by their id (32 hex digits) in the alerts table" [ "$(sql "SELECT
    count(*) FROM texp_control.alerts WHERE job IS NOT NULL
    AND length(job) <> 32")" = 0 ]

# text output: one line per alert, control characters shown as '?'
hist '2026-11-03 23:00Z' export.fetched "$(printf 'eve\033]0;x')" "$B" "$(ref 10)" '{"count": 1}' >/dev/null
expect_rc 1 "text output" alerts
check "  ... one line, rule and rows" grep -q \
	"^tenant-export: alert: download_after_hours principal=\"eve?\]0;x\" tenant=\"$B\" job=\"$(ref 10)\" at=2026-11-03T23:00:00Z rows=$(s 18): download on Tue at 23:00" "$work/out"
check "  ... no escape byte reaches the terminal" sh -c '! grep -q "$(printf "\033")" "$1"' sh "$work/out"

# --since: rows before it are not evaluated (and not later either)
hist '2026-11-04 23:00Z' export.fetched carol "$B" "$(ref 10)" '{"count": 1}' >/dev/null
expect_rc 0 "--since after the row: nothing" alerts --since 2026-11-05
expect_rc 0 "  ... and the next run has moved past it" alerts
expect_rc 2 "--since garbage is a usage error" alerts --since yesterday

# ---- the monitor's rights on the alert tables ----
expect_rc 1 "monitor: UPDATE of an alert refused" \
	msql "UPDATE texp_control.alerts SET summary = 'x'"
expect_rc 1 "monitor: DELETE of an alert refused" \
	msql "DELETE FROM texp_control.alerts"
expect_rc 1 "even the owner: DELETE refused by the trigger" \
	sql "SET ROLE texp_control_owner; DELETE FROM texp_control.alerts"

# ---- metrics ----
check_metrics() {
	"$E" metrics --config "$CFG" --out "$work/m.prom" >"$work/out" 2>"$work/err" || return 1
	python3 "$top/tests/integration/lib/prom.py" "$work/m.prom" >"$work/mvals" || return 1
}
want_metric() {	# want_metric 'name{labels}' VALUE
	got=$(awk -v k="$1" '$1 == k { print $2 }' "$work/mvals")
	[ "$got" = "$2" ] || { echo "# $1: got '$got', want '$2'"; return 1; }
}
check "metrics --out writes the file" check_metrics
check "promtool check metrics accepts it" "$PROMTOOL" check metrics <"$work/m.prom"
check "  ... mode 0644, no temporary file left" sh -c '[ "$(stat -c %a "$1/m.prom")" = 644 ] && [ -z "$(ls -A "$1" | grep tmp)" ]' sh "$work"
for st in queued awaiting_approval running ready failed cancelled expired; do
	check "jobs{state=$st} matches the jobs table" want_metric \
	    "tenant_export_jobs{state=\"$st\"}" \
	    "$(sql "SELECT count(*) FROM texp_control.jobs WHERE state = '$st'")"
done
for t in "$A" "$B"; do
	check "refusals of a tenant match the audit log" want_metric \
	    "tenant_export_refusals_total{tenant=\"$t\"}" \
	    "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE tenant = '$t' AND event LIKE '%.denied'")"
	check "failed exports of a tenant match the audit log" want_metric \
	    "tenant_export_exports_failed_total{tenant=\"$t\"}" \
	    "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE tenant = '$t' AND event = 'export.failed'")"
	check "completed exports of a tenant match the audit log" want_metric \
	    "tenant_export_exports_completed_total{tenant=\"$t\"}" \
	    "$(sql "SELECT count(*) FROM texp_control.audit_log WHERE tenant = '$t' AND event = 'export.completed'")"
done
for r in audit_chain burst_principal burst_tenant failures_principal \
    failures_tenant unusual_tenant download_near_limit \
    download_after_hours held_job; do
	check "alerts_total{rule=$r} matches the alerts table" want_metric \
	    "tenant_export_alerts_total{rule=\"$r\"}" \
	    "$(sql "SELECT count(*) FROM texp_control.alerts WHERE rule = '$r'")"
done
check "last success of Client B is its export.completed time" want_metric \
	"tenant_export_last_success_timestamp_seconds{tenant=\"$B\"}" \
	"$(sql "SELECT extract(epoch FROM '2026-10-05 10:03Z'::timestamptz)::bigint").000000"
check "one export timed: 120 s, in the 300 s bucket" sh -c '
	grep -qx "tenant_export_export_duration_seconds_count 1" "$1" &&
	grep -qx "tenant_export_export_duration_seconds_sum 120.000000" "$1" &&
	grep -qx "tenant_export_export_duration_seconds_bucket{le=\"60\"} 0" "$1" &&
	grep -qx "tenant_export_export_duration_seconds_bucket{le=\"300\"} 1" "$1"' sh "$work/m.prom"
check "the audit chain is ok" want_metric tenant_export_audit_chain_ok 1
check "audit rows match the log" want_metric tenant_export_audit_rows \
	"$(sql "SELECT max(seq) FROM texp_control.audit_log")"
check "no job id in the metrics" sh -c '! grep -Eq "[0-9a-f]{16}" "$1"' sh "$work/m.prom"
check "the parser refuses a counter without _total" sh -c '
	printf "# HELP x_count y\n# TYPE x_count counter\nx_count 1\n" >"$1/bad.prom"
	! python3 "$2" "$1/bad.prom" 2>/dev/null' sh "$work" "$top/tests/integration/lib/prom.py"
check "... and a bad label escape" sh -c '
	printf "# HELP x_total y\n# TYPE x_total counter\nx_total{a=\"\\\\q\"} 1\n" >"$1/bad.prom"
	! python3 "$2" "$1/bad.prom" 2>/dev/null' sh "$work" "$top/tests/integration/lib/prom.py"
expect_rc 2 "metrics into a missing directory fails" \
	"$E" metrics --config "$CFG" --out "$work/nodir/m.prom"
check "  ... and leaves the old file alone" [ -s "$work/m.prom" ]

# ---- a broken chain is the first alert ----
sql "SET session_replication_role = replica;
    UPDATE texp_control.audit_log SET principal = 'nobody' WHERE seq = $(s 3)" >/dev/null
hist '2026-11-05 02:00Z' export.fetched carol "$B" "$(ref 10)" '{"count": 1}' >/dev/null
expect_rc 1 "tampered log: alerts" alerts --json
summary >"$work/got"
check "  ... audit_chain first, naming the edited row" \
	[ "$(head -n 1 "$work/got")" = "audit_chain - - $(s 3)" ]
check "  ... then the rules still run" grep -q "^download_after_hours carol B" "$work/got"
expect_rc 0 "tampered log, second run: reported once" alerts
check "metrics: the chain is not ok" check_metrics
check "  ... audit_chain_ok 0" want_metric tenant_export_audit_chain_ok 0
sql "SET session_replication_role = replica;
    UPDATE texp_control.audit_log SET principal = 'bob' WHERE seq = $(s 3)" >/dev/null
expect_rc 0 "repaired log: nothing new" alerts

# rows deleted at the end: the chain alone cannot tell, the cursor can
sql "SET session_replication_role = replica;
    DELETE FROM texp_control.audit_log WHERE seq > $(s 17)" >/dev/null
expect_rc 1 "last rows deleted: alerts" alerts --json
check "  ... audit_chain: rows were deleted" \
	grep -q '"rule":"audit_chain".*rows were deleted' "$work/out"

expect_rc 2 "alerts without --config is a usage error" "$E" alerts
finish
