-- tenant_scope.sql: roles, the texp_guard schema and its functions, which
-- scope an export session to one tenant in a way the session cannot undo.
--
-- Idempotent: safe to run twice. `tenant-export db-setup` embeds this file
-- (it is compiled into the binary), wraps it in BEGIN/COMMIT and appends the
-- per-table statements generated from the config. Run it as a superuser, or
-- as a role with CREATEROLE that owns the application's tables. See
-- docs/DATABASE.md for what each grant is for.

-- Roles. None of them can log in:
--   texp_export       group of the per-export login roles; SELECT only
--   texp_guard        owns the grants table and role_tenant()
--   texp_provisioner  holds CREATEROLE; owns the functions that create and
--                     drop export roles, executable only by the monitor
--   texp_auditor      owns the leak test's counting functions: it may read
--                     the tenant and key columns of tenant tables (its own
--                     policy), and its functions return counts and tenant
--                     ids only, to the monitor only
DO $texp$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_export') THEN
		CREATE ROLE texp_export NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_guard') THEN
		CREATE ROLE texp_guard NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_provisioner') THEN
		CREATE ROLE texp_provisioner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'texp_auditor') THEN
		CREATE ROLE texp_auditor NOLOGIN;
	END IF;
END
$texp$;

-- NOINHERIT on the group: should someone grant it membership in another
-- role, export sessions still do not get that role's privileges or policies.
ALTER ROLE texp_export NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOREPLICATION NOBYPASSRLS;
ALTER ROLE texp_guard NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOREPLICATION NOBYPASSRLS;
ALTER ROLE texp_provisioner NOLOGIN NOSUPERUSER NOCREATEDB CREATEROLE
	NOREPLICATION NOBYPASSRLS;
ALTER ROLE texp_auditor NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
	NOREPLICATION NOBYPASSRLS;

CREATE SCHEMA IF NOT EXISTS texp_guard;
ALTER SCHEMA texp_guard OWNER TO texp_guard;
REVOKE ALL ON SCHEMA texp_guard FROM PUBLIC;
GRANT USAGE ON SCHEMA texp_guard TO texp_export, texp_provisioner,
	texp_auditor;

-- One row per live export role: which tenant it may read, until when.
CREATE TABLE IF NOT EXISTS texp_guard.grants (
	role_name name PRIMARY KEY CHECK (role_name ~ '^exp_[0-9a-f]{32}$'),
	tenant text NOT NULL CHECK (length(tenant) BETWEEN 1 AND 256),
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL DEFAULT session_user
);
-- What the role was made for: the job (its id hash), the date window the
-- policies read, and the tables it was granted (revoked again
-- when it is dropped).
ALTER TABLE texp_guard.grants ADD COLUMN IF NOT EXISTS job_hash bytea;
ALTER TABLE texp_guard.grants ADD COLUMN IF NOT EXISTS since text;
ALTER TABLE texp_guard.grants ADD COLUMN IF NOT EXISTS until text;
ALTER TABLE texp_guard.grants ADD COLUMN IF NOT EXISTS tables regclass[]
	NOT NULL DEFAULT '{}';
ALTER TABLE texp_guard.grants OWNER TO texp_guard;

-- The configured tables, as db-setup last set them up: what may ever be
-- exported, and how each is scoped. export_role_create grants from this
-- and nothing else; lint compares it with the live catalog.
CREATE TABLE IF NOT EXISTS texp_guard.tables (
	rel regclass PRIMARY KEY,
	schema_name name NOT NULL,
	table_name name NOT NULL,
	class text NOT NULL CHECK (class IN ('tenant', 'global')),
	tenant_col name,
	date_col name,
	columns name[] NOT NULL,
	policy_qual text,
	CHECK ((class = 'tenant') = (tenant_col IS NOT NULL))
);
ALTER TABLE texp_guard.tables OWNER TO texp_guard;
REVOKE ALL ON texp_guard.tables FROM PUBLIC;
GRANT SELECT ON texp_guard.tables TO texp_provisioner, texp_auditor;
REVOKE ALL ON texp_guard.grants FROM PUBLIC;
REVOKE ALL ON texp_guard.grants FROM texp_export;
GRANT SELECT, INSERT, DELETE ON texp_guard.grants TO texp_provisioner;

-- The tenant of this session. Keyed on session_user, which SET ROLE, RESET
-- ALL and DISCARD ALL do not change and only a superuser could (SET SESSION
-- AUTHORIZATION). SECURITY DEFINER so the grants table stays unreadable.
-- NULL (no rows visible) when the grant is missing or expired. Policies
-- wrap it as (SELECT ...) so it runs once per query, not once per row.
CREATE OR REPLACE FUNCTION texp_guard.role_tenant() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
	SELECT g.tenant FROM texp_guard.grants g
	WHERE g.role_name = session_user AND g.expires_at > pg_catalog.now()
$texp$;
ALTER FUNCTION texp_guard.role_tenant() OWNER TO texp_guard;
REVOKE ALL ON FUNCTION texp_guard.role_tenant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION texp_guard.role_tenant() TO texp_export;

-- The job's date window, read by the policies of tables with a date
-- column: rows outside it are invisible to the session, whatever it asks.
CREATE OR REPLACE FUNCTION texp_guard.role_since() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
	SELECT g.since FROM texp_guard.grants g
	WHERE g.role_name = session_user AND g.expires_at > pg_catalog.now()
$texp$;
CREATE OR REPLACE FUNCTION texp_guard.role_until() RETURNS text
	LANGUAGE sql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
	SELECT g.until FROM texp_guard.grants g
	WHERE g.role_name = session_user AND g.expires_at > pg_catalog.now()
$texp$;
ALTER FUNCTION texp_guard.role_since() OWNER TO texp_guard;
ALTER FUNCTION texp_guard.role_until() OWNER TO texp_guard;
REVOKE ALL ON FUNCTION texp_guard.role_since(), texp_guard.role_until()
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION texp_guard.role_since(), texp_guard.role_until()
	TO texp_export;

-- The control schema's jobs, when it exists: export roles are made for a
-- running job only (`tenant-export init` grants the same when it runs
-- after this). The leak test's jobs are kept apart (never published,
-- never fetched) and scope its export roles the same way.
DO $texp$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace
	    WHERE nspname = 'texp_control') THEN
		GRANT USAGE ON SCHEMA texp_control TO texp_provisioner;
		GRANT SELECT (id_hash, tenant, scope, state)
		    ON texp_control.jobs TO texp_provisioner;
	END IF;
	IF pg_catalog.to_regclass('texp_control.leaktest_jobs') IS NOT NULL THEN
		GRANT SELECT (id_hash, tenant, scope, state)
		    ON texp_control.leaktest_jobs TO texp_provisioner;
	END IF;
END
$texp$;

-- The job an export role is made for: an export job, or a leak test's.
CREATE OR REPLACE FUNCTION texp_guard.job_record(p_job bytea,
	OUT tenant text, OUT scope jsonb, OUT state text)
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	EXECUTE 'SELECT tenant, scope, state FROM texp_control.jobs '
	    'WHERE id_hash = $1' INTO tenant, scope, state USING p_job;
	IF state IS NULL AND
	    pg_catalog.to_regclass('texp_control.leaktest_jobs') IS NOT NULL THEN
		EXECUTE 'SELECT tenant, scope, state FROM '
		    'texp_control.leaktest_jobs WHERE id_hash = $1'
		    INTO tenant, scope, state USING p_job;
	END IF;
END
$texp$;
ALTER FUNCTION texp_guard.job_record(bytea) OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.job_record(bytea) FROM PUBLIC;

-- A name as job scopes write it (the tool's canonical form): bare when it
-- matches [a-z_][a-z0-9_]*, else double-quoted with quotes doubled, so
-- that crm."Order Items" and "a.b".c name exactly one table each.
CREATE OR REPLACE FUNCTION texp_guard.qname(p name) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT
	SET search_path = pg_catalog, pg_temp
AS $texp$
	SELECT CASE WHEN p ~ '^[a-z_][a-z0-9_]*$' THEN p::text
	    ELSE '"' || replace(p, '"', '""') || '"' END
$texp$;
ALTER FUNCTION texp_guard.qname(name) OWNER TO texp_guard;
REVOKE ALL ON FUNCTION texp_guard.qname(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION texp_guard.qname(name) TO texp_provisioner;

-- Creates exp_<32 hex> for one running job. The caller sends a SCRAM
-- verifier, never the password, and the job's id hash: the tenant, the
-- tables and the date window come from the job's record, never from the
-- caller. Attributes are fixed here: LOGIN, CONNECTION LIMIT 1, VALID
-- UNTIL +1 hour, member of texp_export only (its policies, schema usage
-- and the role_* functions; no table). It may SELECT the job's tables,
-- the columns db-setup made exportable, nothing else.
CREATE OR REPLACE FUNCTION texp_guard.export_role_create(p_role text,
	p_verifier text, p_job bytea) RETURNS timestamptz
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_expires timestamptz := pg_catalog.now() + interval '1 hour';
	v_tenant text;
	v_scope jsonb;
	v_state text;
	v_global boolean;
	v_listed text[];
	v_t record;
	v_tables regclass[] := '{}';
	v_cols text;
BEGIN
	IF p_role IS NULL OR p_role !~ '^exp_[0-9a-f]{32}$' THEN
		RAISE EXCEPTION 'texp: export role name must match exp_<32 hex>';
	END IF;
	IF p_verifier IS NULL OR p_verifier !~
	    '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
		RAISE EXCEPTION 'texp: expected a SCRAM-SHA-256 verifier, not a password';
	END IF;
	IF pg_catalog.to_regclass('texp_control.jobs') IS NULL THEN
		RAISE EXCEPTION 'texp: no control schema (run tenant-export init)';
	END IF;
	SELECT j.tenant, j.scope, j.state INTO v_tenant, v_scope, v_state
	    FROM texp_guard.job_record(p_job) j;
	IF v_state IS DISTINCT FROM 'running' THEN
		RAISE EXCEPTION 'texp: export roles are made for a running job only';
	END IF;
	IF v_tenant IS NULL OR octet_length(v_tenant) NOT BETWEEN 1 AND 256 THEN
		RAISE EXCEPTION 'texp: the job''s tenant must be 1 to 256 bytes';
	END IF;
	v_global := coalesce((v_scope->>'include_global')::boolean, false);
	SELECT coalesce(array_agg(x), '{}') INTO v_listed
	    FROM jsonb_array_elements_text(v_scope->'tables') x;
	-- Grants and revokes of one table's columns rewrite the same catalog
	-- rows; two at once fail with "tuple concurrently updated". Exports
	-- that start and end together take turns here (held to the end of
	-- this statement's transaction; the key is "texpACL!" as a bigint).
	PERFORM pg_catalog.pg_advisory_xact_lock(8387242304574016545);
	EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB '
	    'NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 1 '
	    'VALID UNTIL %L PASSWORD %L IN ROLE texp_export',
	    p_role, v_expires, p_verifier);
	-- Not a boundary (the session may change it), only a second belt.
	EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on',
	    p_role);
	FOR v_t IN SELECT * FROM texp_guard.tables t
	    WHERE (t.class = 'tenant' OR v_global)
	      AND (cardinality(v_listed) = 0
	           OR texp_guard.qname(t.schema_name) || '.'
	              || texp_guard.qname(t.table_name) = ANY (v_listed))
	LOOP
		SELECT string_agg(quote_ident(c), ', ') INTO v_cols
		    FROM unnest(v_t.columns) c;
		IF v_cols IS NOT NULL THEN
			EXECUTE format('GRANT SELECT (%s) ON %s TO %I', v_cols,
			    v_t.rel, p_role);
			v_tables := v_tables || v_t.rel;
		END IF;
	END LOOP;
	INSERT INTO texp_guard.grants (role_name, tenant, expires_at, job_hash,
	    since, until, tables)
	VALUES (p_role, v_tenant, v_expires, p_job, v_scope->>'since',
	    v_scope->>'until', v_tables);
	RETURN v_expires;
END
$texp$;
DROP FUNCTION IF EXISTS texp_guard.export_role_create(text, text, text);
ALTER FUNCTION texp_guard.export_role_create(text, text, bytea)
	OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_role_create(text, text, bytea) FROM PUBLIC;

-- Revokes what export_role_create granted and drops the role. Only roles
-- that match the naming rule and are members of texp_export.
CREATE OR REPLACE FUNCTION texp_guard.export_role_revoke_drop(p_role name)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_t record;
	v_cols text;
BEGIN
	-- One at a time with export_role_create (the same catalog rows).
	PERFORM pg_catalog.pg_advisory_xact_lock(8387242304574016545);
	-- Every configured table, not only those recorded: a role whose
	-- grant row is gone still loses everything. Column by column: the
	-- provisioner holds the grant option on the columns only.
	FOR v_t IN SELECT rel, columns FROM texp_guard.tables LOOP
		SELECT string_agg(quote_ident(c), ', ') INTO v_cols
		    FROM unnest(v_t.columns) c;
		IF v_cols IS NOT NULL THEN
			EXECUTE format('REVOKE SELECT (%s) ON %s FROM %I', v_cols,
			    v_t.rel, p_role);
		END IF;
	END LOOP;
	EXECUTE format('DROP ROLE %I', p_role);
END
$texp$;
ALTER FUNCTION texp_guard.export_role_revoke_drop(name) OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_role_revoke_drop(name) FROM PUBLIC;

-- Drops one export role and its grant. Only roles that match the naming
-- rule and are members of texp_export: this cannot drop anything else.
CREATE OR REPLACE FUNCTION texp_guard.export_role_drop(p_role text)
	RETURNS boolean
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_found boolean;
BEGIN
	IF p_role IS NULL OR p_role !~ '^exp_[0-9a-f]{32}$' THEN
		RAISE EXCEPTION 'texp: export role name must match exp_<32 hex>';
	END IF;
	-- The grant goes first: from here on the role sees nothing.
	DELETE FROM texp_guard.grants WHERE role_name = p_role;
	SELECT true INTO v_found FROM pg_catalog.pg_auth_members m
	    JOIN pg_catalog.pg_roles r ON r.oid = m.member
	    WHERE r.rolname = p_role
	      AND m.roleid = 'texp_export'::regrole;
	IF v_found THEN
		PERFORM texp_guard.export_role_revoke_drop(p_role);
		RETURN true;
	END IF;
	RETURN false;
END
$texp$;
ALTER FUNCTION texp_guard.export_role_drop(text) OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_role_drop(text) FROM PUBLIC;

-- Drops export roles whose grant expired, whose job is no longer running,
-- and those without a grant (left behind by a monitor that was killed).
-- Returns how many were dropped.
CREATE OR REPLACE FUNCTION texp_guard.export_roles_sweep() RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_role name;
	v_n integer := 0;
BEGIN
	DELETE FROM texp_guard.grants WHERE expires_at <= pg_catalog.now();
	IF pg_catalog.to_regclass('texp_control.jobs') IS NOT NULL THEN
		DELETE FROM texp_guard.grants g WHERE (SELECT j.state FROM
		    texp_guard.job_record(g.job_hash) j) IS DISTINCT FROM 'running';
	END IF;
	FOR v_role IN
		SELECT r.rolname FROM pg_catalog.pg_auth_members m
		JOIN pg_catalog.pg_roles r ON r.oid = m.member
		WHERE m.roleid = 'texp_export'::regrole
		  AND r.rolname ~ '^exp_[0-9a-f]{32}$'
		  AND NOT EXISTS (SELECT 1 FROM texp_guard.grants g
		                  WHERE g.role_name = r.rolname)
	LOOP
		PERFORM texp_guard.export_role_revoke_drop(v_role);
		v_n := v_n + 1;
	END LOOP;
	RETURN v_n;
END
$texp$;
ALTER FUNCTION texp_guard.export_roles_sweep() OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_roles_sweep() FROM PUBLIC;

-- The leak test's counts (docs/AUDIT.md). SECURITY DEFINER, owned by
-- texp_auditor, executable by the monitor only (setup_monitor). They read
-- tenant and key columns of the registered tenant tables through
-- texp_auditor's own policy (setup_leaktest) and return tenant ids and
-- numbers, never another value.

-- Every tenant id found in any registered tenant table.
CREATE OR REPLACE FUNCTION texp_guard.leaktest_tenants() RETURNS SETOF text
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_q text;
BEGIN
	SELECT string_agg(format('SELECT %I::text AS t FROM %s', t.tenant_col,
	    t.rel), ' UNION ') INTO v_q
	FROM texp_guard.tables t WHERE t.class = 'tenant';
	IF v_q IS NOT NULL THEN
		RETURN QUERY EXECUTE 'SELECT t FROM (' || v_q || ') s ORDER BY t';
	END IF;
END
$texp$;

-- The rows of one tenant in each registered tenant table, counted by its
-- tenant column alone (no date window, no export policy).
CREATE OR REPLACE FUNCTION texp_guard.leaktest_counts(p_tenant text)
	RETURNS TABLE (rel regclass, n bigint)
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_t record;
	v_type text;
BEGIN
	FOR v_t IN SELECT t.rel AS r, t.tenant_col AS c FROM texp_guard.tables t
	    WHERE t.class = 'tenant' ORDER BY t.schema_name, t.table_name LOOP
		SELECT format_type(a.atttypid, a.atttypmod) INTO v_type
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = v_t.r AND a.attname = v_t.c;
		rel := v_t.r;
		EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1::%s',
		    v_t.r, v_t.c, v_type) INTO n USING p_tenant;
		RETURN NEXT;
	END LOOP;
END
$texp$;

-- For every foreign key from a registered tenant table to another (or
-- the same) one: the rows whose referenced row belongs to another
-- tenant, per pair of tenants. A key that matches the two tenant columns
-- to each other cannot point across tenants: it is listed once with
-- pair NULL, n 0 and by_key true, and not counted.
CREATE OR REPLACE FUNCTION texp_guard.leaktest_fk_cross()
	RETURNS TABLE (con text, rel regclass, ref regclass, by_key boolean,
	    tenant text, ref_tenant text, n bigint)
	LANGUAGE plpgsql STABLE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_k record;
	v_on text;
BEGIN
	FOR v_k IN
		SELECT c.conname, c.conrelid, c.confrelid, c.conkey, c.confkey,
		    a.tenant_col AS rt, b.tenant_col AS ft,
		    ra.attnum AS rn, fa.attnum AS fn
		FROM pg_catalog.pg_constraint c
		JOIN texp_guard.tables a ON a.rel = c.conrelid AND a.class = 'tenant'
		JOIN texp_guard.tables b ON b.rel = c.confrelid AND b.class = 'tenant'
		JOIN pg_catalog.pg_attribute ra ON ra.attrelid = c.conrelid
		    AND ra.attname = a.tenant_col
		JOIN pg_catalog.pg_attribute fa ON fa.attrelid = c.confrelid
		    AND fa.attname = b.tenant_col
		WHERE c.contype = 'f'
		ORDER BY c.conrelid::regclass::text, c.conname
	LOOP
		con := v_k.conname;
		rel := v_k.conrelid;
		ref := v_k.confrelid;
		IF v_k.fn = ANY (v_k.confkey) AND v_k.conkey[array_position(
		    v_k.confkey, v_k.fn)] = v_k.rn THEN
			by_key := true;
			tenant := NULL;
			ref_tenant := NULL;
			n := 0;
			RETURN NEXT;
			CONTINUE;
		END IF;
		by_key := false;
		SELECT string_agg(format('r.%I = f.%I', x.ra, x.fa), ' AND ')
		INTO v_on FROM (
			SELECT (SELECT attname FROM pg_catalog.pg_attribute
			        WHERE attrelid = v_k.conrelid AND attnum = k.a) AS ra,
			       (SELECT attname FROM pg_catalog.pg_attribute
			        WHERE attrelid = v_k.confrelid AND attnum = k.f) AS fa
			FROM unnest(v_k.conkey, v_k.confkey) AS k(a, f)) x;
		RETURN QUERY EXECUTE format('SELECT %L::text, %s::regclass, '
		    '%s::regclass, false, r.%I::text, f.%I::text, count(*) '
		    'FROM %s r JOIN %s f ON %s '
		    'WHERE r.%I::text IS DISTINCT FROM f.%I::text GROUP BY 5, 6',
		    v_k.conname, v_k.conrelid, v_k.confrelid, v_k.rt, v_k.ft,
		    v_k.conrelid::regclass, v_k.confrelid::regclass, v_on,
		    v_k.rt, v_k.ft);
		IF NOT FOUND THEN
			tenant := NULL;
			ref_tenant := NULL;
			n := 0;
			RETURN NEXT;
		END IF;
	END LOOP;
END
$texp$;
ALTER FUNCTION texp_guard.leaktest_tenants() OWNER TO texp_auditor;
ALTER FUNCTION texp_guard.leaktest_counts(text) OWNER TO texp_auditor;
ALTER FUNCTION texp_guard.leaktest_fk_cross() OWNER TO texp_auditor;
REVOKE ALL ON FUNCTION texp_guard.leaktest_tenants(),
	texp_guard.leaktest_counts(text), texp_guard.leaktest_fk_cross()
	FROM PUBLIC;

-- Setup helpers used by the generated part of db-setup. They are NOT
-- SECURITY DEFINER: they run with the rights of whoever calls them, they
-- stay owned by the administrator who ran db-setup, and only that owner (or
-- a superuser) may call them.

-- Database-wide hardening: read-only must be privileges, not settings.
CREATE OR REPLACE FUNCTION texp_guard.setup_database() RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	-- The registry is rebuilt from the config below: a table no longer
	-- configured is no longer exportable.
	DELETE FROM texp_guard.tables;
	-- TEMP lets any session create tables; it is granted to PUBLIC by
	-- default. Re-grant it to application roles that need it.
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC',
	    current_database());
	EXECUTE format('REVOKE TEMPORARY, CREATE ON DATABASE %I FROM texp_export',
	    current_database());
	-- Writes that work without any table privilege.
	REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid),
	    pg_catalog.lo_creat(integer), pg_catalog.lo_from_bytea(oid, bytea),
	    pg_catalog.lo_open(oid, integer), pg_catalog.lo_put(oid, bigint, bytea),
	    pg_catalog.lo_unlink(oid), pg_catalog.pg_notify(text, text)
	    FROM PUBLIC;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') THEN
		REVOKE CREATE ON SCHEMA public FROM PUBLIC;
	END IF;
END
$texp$;

-- The monitor's login role may create and drop export roles, nothing more.
CREATE OR REPLACE FUNCTION texp_guard.setup_monitor(p_role name)
	RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	IF p_role IN ('texp_export', 'texp_guard', 'texp_provisioner')
	    OR p_role ~ '^exp_' THEN
		RAISE EXCEPTION 'texp: % cannot be the monitor role', p_role;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = p_role) THEN
		EXECUTE format('CREATE ROLE %I LOGIN', p_role);
		RAISE NOTICE 'texp: created login role %; set its password with \password %', p_role, p_role;
	END IF;
	EXECUTE format('GRANT USAGE ON SCHEMA texp_guard TO %I', p_role);
	-- lint compares the registry with the catalog
	EXECUTE format('GRANT SELECT ON texp_guard.tables TO %I', p_role);
	EXECUTE format('GRANT EXECUTE ON FUNCTION '
	    'texp_guard.export_role_create(text, text, bytea), '
	    'texp_guard.export_role_drop(text), '
	    'texp_guard.export_roles_sweep() TO %I', p_role);
	-- the leak test's counts (tenant ids and numbers, never a value)
	EXECUTE format('GRANT EXECUTE ON FUNCTION '
	    'texp_guard.leaktest_tenants(), '
	    'texp_guard.leaktest_counts(text), '
	    'texp_guard.leaktest_fk_cross() TO %I', p_role);
END
$texp$;

-- A schema that holds configured tables: the group may look up names in
-- it, never create objects or use sequences; table grants are reset here
-- and re-made per table below, so dropping a table from the config
-- removes its grant.
CREATE OR REPLACE FUNCTION texp_guard.setup_schema(p_schema name)
	RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO texp_export', p_schema);
	-- the provisioner names the schema's tables when it grants them
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO texp_provisioner', p_schema);
	-- and the leak test's counting functions read there (setup_leaktest)
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO texp_auditor', p_schema);
	EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM texp_export', p_schema);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM texp_export',
	    p_schema);
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM texp_export',
	    p_schema);
	EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM texp_export',
	    p_schema);
END
$texp$;

-- SELECT on exactly the columns not excluded, for the provisioner, with
-- the grant option: it grants each export role the columns of its job's
-- tables (export_role_create). texp_export, the group every export role
-- inherits from, gets no table at all. Column grants, not a table grant:
-- a column added later stays unreadable until db-setup runs again, so a
-- new secret column cannot leak by default. Returns the columns.
CREATE OR REPLACE FUNCTION texp_guard.setup_grant_select(p_schema name,
	p_table name, p_exclude name[]) RETURNS name[]
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
	v_names name[];
	v_cols text;
	v_bad name;
BEGIN
	SELECT x INTO v_bad FROM unnest(p_exclude) x
	WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	    WHERE a.attrelid = v_rel AND a.attname = x AND a.attnum > 0
	      AND NOT a.attisdropped);
	IF FOUND THEN
		RAISE EXCEPTION 'texp: %: excluded column % does not exist', v_rel, v_bad
		    USING HINT = 'fix exclude_columns in the config';
	END IF;
	EXECUTE format('REVOKE ALL ON %s FROM texp_export', v_rel);
	EXECUTE format('REVOKE ALL ON %s FROM texp_provisioner CASCADE', v_rel);
	-- the leak test's read, granted again by setup_leaktest
	EXECUTE format('REVOKE ALL ON %s FROM texp_auditor', v_rel);
	EXECUTE format('DROP POLICY IF EXISTS texp_leaktest_read ON %s', v_rel);
	SELECT array_agg(a.attname ORDER BY a.attnum)
	INTO v_names FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> ALL (p_exclude);
	SELECT string_agg(quote_ident(c), ', ') INTO v_cols FROM unnest(v_names) c;
	IF v_cols IS NOT NULL THEN
		EXECUTE format('GRANT SELECT (%s) ON %s TO texp_provisioner '
		    'WITH GRANT OPTION', v_cols, v_rel);
	END IF;
	RETURN coalesce(v_names, '{}');
END
$texp$;
DROP FUNCTION IF EXISTS texp_guard.setup_tenant_table(name, name, name, name[]);

-- A tenant-owned table: RLS enabled and forced, one SELECT policy for the
-- group keyed on role_tenant(), cast to the column's type so the
-- comparison can use an index; with a date column, the job's date window
-- too (rows outside it are invisible). The table and its policy, as the
-- catalog prints it, go into the registry.
CREATE OR REPLACE FUNCTION texp_guard.setup_tenant_table(p_schema name,
	p_table name, p_column name, p_exclude name[], p_date name)
	RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
	v_type text;
	v_dtype text;
	v_notnull boolean;
	v_qual text;
	v_cols name[];
BEGIN
	SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull
	INTO v_type, v_notnull FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = v_rel AND a.attname = p_column AND a.attnum > 0
	  AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'texp: %: tenant column % does not exist', v_rel, p_column
		    USING HINT = 'set tenant_key for this table in the config';
	END IF;
	IF NOT v_notnull THEN
		RAISE EXCEPTION 'texp: %: tenant column % is nullable', v_rel, p_column
		    USING HINT = format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL',
		        v_rel, p_column);
	END IF;
	v_qual := format('%I = (SELECT texp_guard.role_tenant())::%s',
	    p_column, v_type);
	IF p_date IS NOT NULL THEN
		SELECT format_type(a.atttypid, a.atttypmod) INTO v_dtype
		FROM pg_catalog.pg_attribute a WHERE a.attrelid = v_rel
		  AND a.attname = p_date AND a.attnum > 0 AND NOT a.attisdropped;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'texp: %: date column % does not exist',
			    v_rel, p_date
			    USING HINT = 'fix date_column in the config';
		END IF;
		v_qual := v_qual || format(' AND ((SELECT texp_guard.role_since()) '
		    'IS NULL OR %1$I >= (SELECT texp_guard.role_since())::%2$s) '
		    'AND ((SELECT texp_guard.role_until()) IS NULL OR '
		    '%1$I < (SELECT texp_guard.role_until())::%2$s)', p_date,
		    v_dtype);
	END IF;
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_rel);
	EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_rel);
	EXECUTE format('DROP POLICY IF EXISTS texp_export_scope ON %s', v_rel);
	EXECUTE format('CREATE POLICY texp_export_scope ON %s AS PERMISSIVE '
	    'FOR SELECT TO texp_export USING (%s)', v_rel, v_qual);
	v_cols := texp_guard.setup_grant_select(p_schema, p_table, p_exclude);
	DELETE FROM texp_guard.tables WHERE rel = v_rel;
	INSERT INTO texp_guard.tables (rel, schema_name, table_name, class,
	    tenant_col, date_col, columns, policy_qual)
	SELECT v_rel, p_schema, p_table, 'tenant', p_column, p_date, v_cols,
	    pg_catalog.pg_get_expr(p.polqual, p.polrelid)
	FROM pg_catalog.pg_policy p
	WHERE p.polrelid = v_rel AND p.polname = 'texp_export_scope';
END
$texp$;

-- Reference data: readable without RLS (exported only when asked).
CREATE OR REPLACE FUNCTION texp_guard.setup_global_table(p_schema name,
	p_table name, p_exclude name[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
	v_cols name[];
BEGIN
	v_cols := texp_guard.setup_grant_select(p_schema, p_table, p_exclude);
	DELETE FROM texp_guard.tables WHERE rel = v_rel;
	INSERT INTO texp_guard.tables (rel, schema_name, table_name, class,
	    columns)
	VALUES (v_rel, p_schema, p_table, 'global', v_cols);
END
$texp$;

-- Never exported: the group and the provisioner get nothing.
CREATE OR REPLACE FUNCTION texp_guard.setup_excluded_table(p_schema name,
	p_table name) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
BEGIN
	EXECUTE format('REVOKE ALL ON %s FROM texp_export', v_rel);
	EXECUTE format('REVOKE ALL ON %s FROM texp_provisioner CASCADE', v_rel);
	EXECUTE format('REVOKE ALL ON %s FROM texp_auditor', v_rel);
	EXECUTE format('DROP POLICY IF EXISTS texp_leaktest_read ON %s', v_rel);
	DELETE FROM texp_guard.tables WHERE rel = v_rel;
END
$texp$;

-- What the leak test's functions may read: every registered tenant
-- table's tenant column and the columns of its foreign keys between
-- tenant tables, through a policy of texp_auditor's own (it applies to
-- no other role). Run after the tables are set up; redone each time.
CREATE OR REPLACE FUNCTION texp_guard.setup_leaktest() RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_t record;
	v_cols text;
BEGIN
	FOR v_t IN SELECT t.rel, t.tenant_col FROM texp_guard.tables t
	    WHERE t.class = 'tenant' LOOP
		EXECUTE format('REVOKE ALL ON %s FROM texp_auditor', v_t.rel);
		SELECT string_agg(DISTINCT quote_ident(a.attname), ', ')
		INTO v_cols FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = v_t.rel AND a.attnum > 0 AND NOT a.attisdropped
		  AND (a.attname = v_t.tenant_col OR EXISTS (
		      SELECT 1 FROM pg_catalog.pg_constraint c
		      JOIN texp_guard.tables o ON o.class = 'tenant'
		          AND o.rel IN (c.conrelid, c.confrelid)
		      WHERE c.contype = 'f'
		        AND ((c.conrelid = v_t.rel AND a.attnum = ANY (c.conkey)
		              AND o.rel = c.confrelid)
		          OR (c.confrelid = v_t.rel AND a.attnum = ANY (c.confkey)
		              AND o.rel = c.conrelid))));
		EXECUTE format('GRANT SELECT (%s) ON %s TO texp_auditor', v_cols,
		    v_t.rel);
		EXECUTE format('DROP POLICY IF EXISTS texp_leaktest_read ON %s',
		    v_t.rel);
		EXECUTE format('CREATE POLICY texp_leaktest_read ON %s AS '
		    'PERMISSIVE FOR SELECT TO texp_auditor USING (true)', v_t.rel);
	END LOOP;
END
$texp$;

DO $texp$
DECLARE
	f regprocedure;
BEGIN
	FOREACH f IN ARRAY ARRAY[
	    'texp_guard.setup_database()',
	    'texp_guard.setup_monitor(name)',
	    'texp_guard.setup_schema(name)',
	    'texp_guard.setup_grant_select(name, name, name[])',
	    'texp_guard.setup_tenant_table(name, name, name, name[], name)',
	    'texp_guard.setup_global_table(name, name, name[])',
	    'texp_guard.setup_excluded_table(name, name)',
	    'texp_guard.setup_leaktest()']::regprocedure[]
	LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$texp$;
