# A scripted audit history: rows with chosen times, chained exactly as
# texp_control.audit_append chains them, so `audit verify` accepts them.
# Source after lib/agency.sh and lib/control.sh, once the control schema
# exists (control_setup). The rows are written as the superuser: the
# monitor can only append at the current time.
#
#   history_setup               creates public.test_append(...)
#   hist AT EVENT PRINCIPAL TENANT JOB DETAIL
#                               one row; "" is NULL; DETAIL is JSON
#   ref N                       a job id (32 hex digits) for number N
#   held_job N TENANT PRINCIPAL UPDATED
#                               a job awaiting approval since UPDATED
#                               (SQL timestamptz expression); its
#                               reference is "$(ref N)"

history_setup() {
	sql "CREATE OR REPLACE FUNCTION public.test_append(p_at timestamptz,
	    p_event text, p_principal text, p_tenant text, p_job text,
	    p_detail jsonb) RETURNS bigint LANGUAGE plpgsql AS \$fn\$
	DECLARE v_seq bigint; v_prev bytea;
	BEGIN
		LOCK TABLE texp_control.audit_log IN EXCLUSIVE MODE;
		SELECT seq, hash INTO v_seq, v_prev FROM texp_control.audit_log
		    ORDER BY seq DESC LIMIT 1;
		IF NOT FOUND THEN
			v_seq := 0;
			v_prev := decode(repeat('00', 32), 'hex');
		END IF;
		v_seq := v_seq + 1;
		INSERT INTO texp_control.audit_log VALUES (v_seq, p_at, p_event,
		    p_principal, p_tenant, p_job, NULL, p_detail, 'test-host',
		    'test', v_prev, sha256(v_prev || convert_to(
		    texp_control.audit_row_text(v_seq, p_at, p_event,
		    p_principal, p_tenant, p_job, NULL, p_detail, 'test-host',
		    'test'), 'UTF8')));
		RETURN v_seq;
	END \$fn\$" >/dev/null
}

# Quotes $1 as an SQL literal, or NULL for "".
lit() {
	if [ -z "$1" ]; then
		printf 'NULL'
	else
		printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
	fi
}

hist() {
	sql "SELECT public.test_append($(lit "$1"), $(lit "$2"), $(lit "$3"),
	    $(lit "$4"), $(lit "$5"), $(lit "$6")::jsonb)"
}

ref() {
	sql "SELECT encode(substring(sha256(convert_to('job-$1', 'UTF8'))
	    FROM 1 FOR 16), 'hex')"
}

held_job() {
	sql "INSERT INTO texp_control.jobs (id_hash, tenant, scope, state,
	    high_risk, requested_by, created_at, updated_at)
	    SELECT sha256(convert_to('job-$1', 'UTF8')), $(lit "$2"),
	    '{\"tables\": []}', 'awaiting_approval', true, p.id, $4, $4
	    FROM texp_control.principals p WHERE p.name = $(lit "$3")"
}
