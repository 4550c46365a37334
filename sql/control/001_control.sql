-- 001_control.sql: the control plane schema texp_control (principals,
-- roles, assignments, tenants, nonces, jobs, and the hash-chained audit
-- log). Applied once by `tenant-export init`, which runs it in a
-- transaction and records it in texp_control.schema_migrations. Run as a
-- superuser (or a role that may create roles and is a member of
-- texp_control_owner). docs/CONTROL.md explains every grant.
--
-- Roles. Neither can log in:
--   texp_control_owner  owns the schema, its tables and functions
--   texp_control_user   what the monitor's login gets (init grants it):
--                       read the tables, insert requests, nonces and jobs,
--                       update job columns, append to the audit log only
--                       through texp_control.audit_append()
DO $texp$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_control_owner') THEN
		CREATE ROLE texp_control_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_control_user') THEN
		CREATE ROLE texp_control_user NOLOGIN;
	END IF;
END
$texp$;
ALTER ROLE texp_control_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOREPLICATION NOBYPASSRLS;
ALTER ROLE texp_control_user NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOREPLICATION NOBYPASSRLS;

CREATE SCHEMA texp_control AUTHORIZATION texp_control_owner;
REVOKE ALL ON SCHEMA texp_control FROM PUBLIC;

-- Everything below is created by, and so owned by, the owner role.
SET LOCAL ROLE texp_control_owner;
SET LOCAL search_path = pg_catalog, pg_temp;

CREATE TABLE texp_control.schema_migrations (
	version int PRIMARY KEY CHECK (version > 0),
	name text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE texp_control.principals (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	-- minisign key id, 8 bytes in file order
	key_id bytea NOT NULL UNIQUE CHECK (octet_length(key_id) = 8),
	-- the base64 line of the minisign public key ("Ed" || key id || pk)
	public_key text NOT NULL CHECK (public_key ~ '^[A-Za-z0-9+/]{56}$'),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	disabled_at timestamptz
);

CREATE TABLE texp_control.roles (
	name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
	capabilities text[] NOT NULL
);
INSERT INTO texp_control.roles (name, capabilities) VALUES
	('requester', ARRAY['tenant:export', 'tenant:fetch']),
	('approver', ARRAY['tenant:export:approve']),
	('pii', ARRAY['tenant:export:pii']),
	('fetcher', ARRAY['tenant:fetch']),
	('admin', ARRAY['admin']);

CREATE TABLE texp_control.principal_roles (
	principal_id bigint NOT NULL REFERENCES texp_control.principals (id),
	role text NOT NULL REFERENCES texp_control.roles (name),
	PRIMARY KEY (principal_id, role)
);

-- Display names are what a requester types to confirm a high-risk export.
CREATE TABLE texp_control.tenants (
	tenant text PRIMARY KEY CHECK (length(tenant) BETWEEN 1 AND 200
		AND tenant !~ '[[:cntrl:]]'),
	display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200
		AND display_name !~ '[[:cntrl:]]'),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE texp_control.assignments (
	principal_id bigint NOT NULL REFERENCES texp_control.principals (id),
	tenant text NOT NULL REFERENCES texp_control.tenants (tenant),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (principal_id, tenant)
);

-- Every nonce of every accepted signed action: a second use is a replay.
CREATE TABLE texp_control.nonces (
	nonce bytea PRIMARY KEY CHECK (octet_length(nonce) = 16),
	principal_id bigint NOT NULL REFERENCES texp_control.principals (id),
	seen_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Jobs are keyed by SHA-256 of their random 128-bit id: the id itself is
-- a bearer-like handle and is never stored.
CREATE TABLE texp_control.jobs (
	id_hash bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
	tenant text NOT NULL REFERENCES texp_control.tenants (tenant),
	scope jsonb NOT NULL CHECK (jsonb_typeof(scope) = 'object'),
	state text NOT NULL CHECK (state IN ('queued', 'awaiting_approval',
		'running', 'ready', 'failed', 'cancelled', 'expired')),
	high_risk boolean NOT NULL DEFAULT false,
	requested_by bigint NOT NULL REFERENCES texp_control.principals (id),
	approved_by bigint REFERENCES texp_control.principals (id),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	expires_at timestamptz,
	archive text,
	manifest_digest bytea,
	receipt bytea,
	fetch_count int NOT NULL DEFAULT 0 CHECK (fetch_count >= 0),
	max_fetches int NOT NULL DEFAULT 3 CHECK (max_fetches >= 0),
	attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	idempotency_key text UNIQUE,
	error text,
	-- nobody approves their own request, whatever the client does
	CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
CREATE INDEX jobs_tenant_created ON texp_control.jobs (tenant, created_at);
CREATE INDEX jobs_state ON texp_control.jobs (state);

-- Tenant, scope and requester are fixed at creation (column grants already
-- keep the monitor from changing them; this holds for the owner too).
CREATE FUNCTION texp_control.jobs_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF NEW.id_hash IS DISTINCT FROM OLD.id_hash
	    OR NEW.tenant IS DISTINCT FROM OLD.tenant
	    OR NEW.scope IS DISTINCT FROM OLD.scope
	    OR NEW.high_risk IS DISTINCT FROM OLD.high_risk
	    OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
	    OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
		RAISE EXCEPTION 'texp_control.jobs: tenant, scope and requester are fixed'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$fn$;
CREATE TRIGGER jobs_fixed BEFORE UPDATE ON texp_control.jobs
	FOR EACH ROW EXECUTE FUNCTION texp_control.jobs_fixed();

-- The audit log. Rows are chained: hash = sha256(prev_hash || row text),
-- prev_hash of seq 1 = 32 zero bytes. Only audit_append() inserts.
CREATE TABLE texp_control.audit_log (
	seq bigint PRIMARY KEY,
	at timestamptz NOT NULL,
	event text NOT NULL,
	principal text,
	tenant text,
	job text,
	scope text,
	detail jsonb,
	host text,
	tool_version text,
	prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
	hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- One field of the row text: N for NULL, else S<bytes>:<UTF-8 text>, so
-- that no two rows share a text. audit.c builds the same bytes.
CREATE FUNCTION texp_control.audit_field(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
	SELECT CASE WHEN v IS NULL THEN 'N' || chr(10)
	    ELSE 'S' || octet_length(convert_to(v, 'UTF8'))::text || ':' || v
	        || chr(10) END
$fn$;

-- The canonical text of a row: the time as integer microseconds since the
-- epoch (independent of DateStyle and TimeZone), detail as jsonb's own
-- normalised text.
CREATE FUNCTION texp_control.audit_row_text(p_seq bigint, p_at timestamptz,
    p_event text, p_principal text, p_tenant text, p_job text, p_scope text,
    p_detail jsonb, p_host text, p_tool_version text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
	SELECT 'texp-audit v1' || chr(10)
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
$fn$;

CREATE FUNCTION texp_control.audit_append(p_event text, p_principal text,
    p_tenant text, p_job text, p_scope text, p_detail jsonb, p_host text,
    p_tool_version text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	v_seq bigint;
	v_prev bytea;
	v_at timestamptz := pg_catalog.clock_timestamp();
	v_hash bytea;
BEGIN
	IF p_event IS NULL OR p_event !~ '^[a-z][a-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'audit_append: invalid event name'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_detail IS NOT NULL AND jsonb_typeof(p_detail) <> 'object' THEN
		RAISE EXCEPTION 'audit_append: detail must be a JSON object'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- One appender at a time; readers are not blocked.
	LOCK TABLE texp_control.audit_log IN EXCLUSIVE MODE;
	SELECT l.seq, l.hash INTO v_seq, v_prev
	    FROM texp_control.audit_log l ORDER BY l.seq DESC LIMIT 1;
	IF NOT FOUND THEN
		v_seq := 0;
		v_prev := decode(repeat('00', 32), 'hex');
	END IF;
	v_seq := v_seq + 1;
	v_hash := sha256(v_prev || convert_to(texp_control.audit_row_text(v_seq,
	    v_at, p_event, p_principal, p_tenant, p_job, p_scope, p_detail,
	    p_host, p_tool_version), 'UTF8'));
	INSERT INTO texp_control.audit_log (seq, at, event, principal, tenant,
	    job, scope, detail, host, tool_version, prev_hash, hash)
	VALUES (v_seq, v_at, p_event, p_principal, p_tenant, p_job, p_scope,
	    p_detail, p_host, p_tool_version, v_prev, v_hash);
	RETURN v_seq;
END
$fn$;

CREATE FUNCTION texp_control.audit_reject() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	RAISE EXCEPTION 'texp_control.audit_log is append-only: % refused', TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE
	ON texp_control.audit_log
	FOR EACH ROW EXECUTE FUNCTION texp_control.audit_reject();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE
	ON texp_control.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION texp_control.audit_reject();

-- Grants: nothing for PUBLIC; the monitor group gets only what it uses.
REVOKE ALL ON ALL TABLES IN SCHEMA texp_control FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA texp_control FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA texp_control FROM PUBLIC;
GRANT USAGE ON SCHEMA texp_control TO texp_control_user;
GRANT SELECT ON texp_control.schema_migrations, texp_control.roles,
	texp_control.principals, texp_control.principal_roles,
	texp_control.tenants, texp_control.assignments, texp_control.nonces,
	texp_control.jobs, texp_control.audit_log TO texp_control_user;
-- admin commands (signed, audited, checked for `admin` in the monitor)
GRANT INSERT ON texp_control.principals, texp_control.principal_roles,
	texp_control.tenants, texp_control.assignments TO texp_control_user;
GRANT UPDATE (disabled_at) ON texp_control.principals TO texp_control_user;
GRANT DELETE ON texp_control.assignments TO texp_control_user;
GRANT USAGE ON SEQUENCE texp_control.principals_id_seq TO texp_control_user;
-- requests and jobs
GRANT INSERT ON texp_control.nonces, texp_control.jobs TO texp_control_user;
GRANT UPDATE (state, approved_by, updated_at, started_at, finished_at,
	expires_at, archive, manifest_digest, receipt, fetch_count, max_fetches,
	attempts, error) ON texp_control.jobs TO texp_control_user;
-- the audit log: no INSERT, UPDATE, DELETE or TRUNCATE, only the function
GRANT EXECUTE ON FUNCTION texp_control.audit_append(text, text, text, text,
	text, jsonb, text, text) TO texp_control_user;
GRANT EXECUTE ON FUNCTION texp_control.audit_field(text),
	texp_control.audit_row_text(bigint, timestamptz, text, text, text, text,
	text, jsonb, text, text) TO texp_control_user;
