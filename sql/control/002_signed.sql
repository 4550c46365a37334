-- 002_signed.sql: the signed control log.
--
-- From this version on, every row of texp_control.audit_log carries the
-- text the service signed (`action`) and its minisign signature
-- (`signature`); the text names the row's seq and the hash of the row
-- before it, and embeds the principal's own signed action when the row
-- records one. The service derives every authorising fact (principals,
-- roles, persons, tenants and their recipients, assignments, requests,
-- approvals, job states) from the verified log, not from the tables,
-- which stay as a cache for listing (docs/CONTROL.md, "The trust
-- boundary").
--
-- Also: the control database's identity (signed actions name it, so an
-- action signed for one control database is refused by another),
-- principals' persons and registrars, tenants' recipients, and what a
-- job's request bound (its digest, recipients, passphrase mode).

SET LOCAL ROLE texp_control_owner;
SET LOCAL search_path = pg_catalog, pg_temp;

-- The control database's identity: the cluster's system identifier and a
-- random id made once, here.
CREATE TABLE texp_control.instance (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	control_id text NOT NULL CHECK (control_id ~ '^[0-9]{1,20}-[0-9a-f]{32}$'),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
INSERT INTO texp_control.instance (control_id)
SELECT s.system_identifier::text || '-' ||
    replace(pg_catalog.gen_random_uuid()::text, '-', '')
FROM pg_catalog.pg_control_system() s;

ALTER TABLE texp_control.principals
	ADD COLUMN person text CHECK (person ~ '^[a-z0-9][a-z0-9._@-]{0,127}$'),
	ADD COLUMN registered_by text;
ALTER TABLE texp_control.tenants
	ADD COLUMN recipients text[] NOT NULL DEFAULT '{}';
-- Tenant ids and display names: any UTF-8 text without control
-- characters (the signed log carries them byte for byte).
ALTER TABLE texp_control.tenants DROP CONSTRAINT tenants_tenant_check;
ALTER TABLE texp_control.tenants ADD CONSTRAINT tenants_tenant_check
	CHECK (octet_length(tenant) BETWEEN 1 AND 200
	    AND tenant !~ '[[:cntrl:]]');
ALTER TABLE texp_control.jobs
	ADD COLUMN request_digest bytea CHECK (octet_length(request_digest) = 32),
	ADD COLUMN recipients text[],
	ADD COLUMN passphrase boolean NOT NULL DEFAULT false;

-- Nonces are kept per principal name: the principals table is a cache.
ALTER TABLE texp_control.nonces ALTER COLUMN principal_id DROP NOT NULL;
ALTER TABLE texp_control.nonces ADD COLUMN principal text;

-- The log, version 2 rows.
ALTER TABLE texp_control.audit_log
	ADD COLUMN v smallint NOT NULL DEFAULT 1 CHECK (v IN (1, 2)),
	ADD COLUMN action text,
	ADD COLUMN signature text,
	ADD CONSTRAINT audit_log_v2_signed CHECK (v = 1 OR
	    (action IS NOT NULL AND signature IS NOT NULL));

-- The canonical text of a version 2 row: version 1's fields, then the
-- signed text and its signature.
CREATE FUNCTION texp_control.audit_row_text2(p_seq bigint, p_at timestamptz,
    p_event text, p_principal text, p_tenant text, p_job text, p_scope text,
    p_detail jsonb, p_host text, p_tool_version text, p_action text,
    p_signature text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
	SELECT 'texp-audit v2' || chr(10)
	    || p_seq::text || chr(10)
	    || ((extract(epoch FROM p_at) * 1000000)::bigint)::text || chr(10)
	    || texp_control.audit_field(p_event)
	    || texp_control.audit_field(p_principal)
	    || texp_control.audit_field(p_tenant)
	    || texp_control.audit_field(p_job)
	    || texp_control.audit_field(p_scope)
	    || texp_control.audit_field(p_detail::text)
	    || texp_control.audit_field(p_host)
	    || texp_control.audit_field(p_tool_version)
	    || texp_control.audit_field(p_action)
	    || texp_control.audit_field(p_signature)
$fn$;

-- Locks the log against other appenders until the end of the caller's
-- transaction, and returns the last row's seq and hash (0 and 32 zero
-- bytes when empty) and the database's clock, which the signer puts in
-- the text it signs.
CREATE FUNCTION texp_control.audit_lock_head(OUT seq bigint, OUT hash bytea,
    OUT now_epoch bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	LOCK TABLE texp_control.audit_log IN EXCLUSIVE MODE;
	SELECT l.seq, l.hash INTO seq, hash
	    FROM texp_control.audit_log l ORDER BY l.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		seq := 0;
		hash := decode(repeat('00', 32), 'hex');
	END IF;
	now_epoch := extract(epoch FROM pg_catalog.clock_timestamp())::bigint;
END
$fn$;

-- Appends a signed row at p_seq, which must be the next one. The
-- signature is checked by every reader of the log, not here: the
-- database holds no key.
CREATE FUNCTION texp_control.audit_append_signed(p_seq bigint, p_event text,
    p_principal text, p_tenant text, p_job text, p_scope text, p_detail jsonb,
    p_host text, p_tool_version text, p_action text, p_signature text)
    RETURNS bytea
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	v_last bigint;
	v_prev bytea;
	v_at timestamptz := pg_catalog.clock_timestamp();
	v_hash bytea;
BEGIN
	IF p_event IS NULL OR p_event !~ '^[a-z][a-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'audit_append_signed: invalid event name'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_detail IS NOT NULL AND jsonb_typeof(p_detail) <> 'object' THEN
		RAISE EXCEPTION 'audit_append_signed: detail must be a JSON object'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_action IS NULL OR p_signature IS NULL THEN
		RAISE EXCEPTION 'audit_append_signed: unsigned row'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	LOCK TABLE texp_control.audit_log IN EXCLUSIVE MODE;
	SELECT l.seq, l.hash INTO v_last, v_prev
	    FROM texp_control.audit_log l ORDER BY l.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		v_last := 0;
		v_prev := decode(repeat('00', 32), 'hex');
	END IF;
	IF p_seq IS DISTINCT FROM v_last + 1 THEN
		RAISE EXCEPTION 'audit_append_signed: row % is not the next one (%)',
		    p_seq, v_last + 1 USING ERRCODE = 'serialization_failure';
	END IF;
	v_hash := sha256(v_prev || convert_to(texp_control.audit_row_text2(p_seq,
	    v_at, p_event, p_principal, p_tenant, p_job, p_scope, p_detail,
	    p_host, p_tool_version, p_action, p_signature), 'UTF8'));
	INSERT INTO texp_control.audit_log (seq, at, event, principal, tenant,
	    job, scope, detail, host, tool_version, prev_hash, hash, v, action,
	    signature)
	VALUES (p_seq, v_at, p_event, p_principal, p_tenant, p_job, p_scope,
	    p_detail, p_host, p_tool_version, v_prev, v_hash, 2, p_action,
	    p_signature);
	RETURN v_hash;
END
$fn$;

-- Unsigned rows are no longer written.
CREATE OR REPLACE FUNCTION texp_control.audit_append(p_event text,
    p_principal text, p_tenant text, p_job text, p_scope text, p_detail jsonb,
    p_host text, p_tool_version text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	RAISE EXCEPTION 'texp_control.audit_append: the log takes signed rows '
	    'only (audit_append_signed)' USING ERRCODE = 'insufficient_privilege';
END
$fn$;

REVOKE ALL ON FUNCTION texp_control.audit_row_text2(bigint, timestamptz,
	text, text, text, text, text, jsonb, text, text, text, text),
	texp_control.audit_lock_head(),
	texp_control.audit_append_signed(bigint, text, text, text, text, text,
	jsonb, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON texp_control.instance FROM PUBLIC;
GRANT SELECT ON texp_control.instance TO texp_control_user;
GRANT EXECUTE ON FUNCTION texp_control.audit_row_text2(bigint, timestamptz,
	text, text, text, text, text, jsonb, text, text, text, text),
	texp_control.audit_lock_head(),
	texp_control.audit_append_signed(bigint, text, text, text, text, text,
	jsonb, text, text, text, text) TO texp_control_user;
GRANT UPDATE (recipients) ON texp_control.tenants TO texp_control_user;
GRANT UPDATE (person, registered_by) ON texp_control.principals
	TO texp_control_user;
GRANT DELETE ON texp_control.principal_roles TO texp_control_user;

-- The provisioning functions (sql/tenant_scope.sql) create an export
-- role only for a running job, scoped to that job: they read these
-- columns, nothing else.
DO $texp$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
	    WHERE rolname = 'texp_provisioner') THEN
		GRANT USAGE ON SCHEMA texp_control TO texp_provisioner;
		GRANT SELECT (id_hash, tenant, scope, state) ON texp_control.jobs
		    TO texp_provisioner;
	END IF;
END
$texp$;
