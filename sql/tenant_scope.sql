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

CREATE SCHEMA IF NOT EXISTS texp_guard;
ALTER SCHEMA texp_guard OWNER TO texp_guard;
REVOKE ALL ON SCHEMA texp_guard FROM PUBLIC;
GRANT USAGE ON SCHEMA texp_guard TO texp_export, texp_provisioner;

-- One row per live export role: which tenant it may read, until when.
CREATE TABLE IF NOT EXISTS texp_guard.grants (
	role_name name PRIMARY KEY CHECK (role_name ~ '^exp_[0-9a-f]{32}$'),
	tenant text NOT NULL CHECK (length(tenant) BETWEEN 1 AND 256),
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL DEFAULT session_user
);
ALTER TABLE texp_guard.grants OWNER TO texp_guard;
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

-- Creates exp_<32 hex> for one tenant. The caller sends a SCRAM verifier,
-- never the password. Attributes are fixed here, not chosen by the caller:
-- LOGIN, CONNECTION LIMIT 1, VALID UNTIL +1 hour, member of texp_export only.
CREATE OR REPLACE FUNCTION texp_guard.export_role_create(p_role text,
	p_tenant text, p_verifier text) RETURNS timestamptz
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_expires timestamptz := pg_catalog.now() + interval '1 hour';
BEGIN
	IF p_role IS NULL OR p_role !~ '^exp_[0-9a-f]{32}$' THEN
		RAISE EXCEPTION 'texp: export role name must match exp_<32 hex>';
	END IF;
	IF p_tenant IS NULL OR length(p_tenant) NOT BETWEEN 1 AND 256 THEN
		RAISE EXCEPTION 'texp: tenant must be 1 to 256 characters';
	END IF;
	IF p_verifier IS NULL OR p_verifier !~
	    '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
		RAISE EXCEPTION 'texp: expected a SCRAM-SHA-256 verifier, not a password';
	END IF;
	EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB '
	    'NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 1 '
	    'VALID UNTIL %L PASSWORD %L IN ROLE texp_export',
	    p_role, v_expires, p_verifier);
	-- Not a boundary (the session may change it), only a second belt.
	EXECUTE format('ALTER ROLE %I SET default_transaction_read_only = on',
	    p_role);
	INSERT INTO texp_guard.grants (role_name, tenant, expires_at)
	VALUES (p_role, p_tenant, v_expires);
	RETURN v_expires;
END
$texp$;
ALTER FUNCTION texp_guard.export_role_create(text, text, text)
	OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_role_create(text, text, text) FROM PUBLIC;

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
		EXECUTE format('DROP ROLE %I', p_role);
		RETURN true;
	END IF;
	RETURN false;
END
$texp$;
ALTER FUNCTION texp_guard.export_role_drop(text) OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_role_drop(text) FROM PUBLIC;

-- Drops export roles whose grant expired, and those without a grant (left
-- behind by a monitor that was killed). Returns how many were dropped.
CREATE OR REPLACE FUNCTION texp_guard.export_roles_sweep() RETURNS integer
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_role name;
	v_n integer := 0;
BEGIN
	DELETE FROM texp_guard.grants WHERE expires_at <= pg_catalog.now();
	FOR v_role IN
		SELECT r.rolname FROM pg_catalog.pg_auth_members m
		JOIN pg_catalog.pg_roles r ON r.oid = m.member
		WHERE m.roleid = 'texp_export'::regrole
		  AND r.rolname ~ '^exp_[0-9a-f]{32}$'
		  AND NOT EXISTS (SELECT 1 FROM texp_guard.grants g
		                  WHERE g.role_name = r.rolname)
	LOOP
		EXECUTE format('DROP ROLE %I', v_role);
		v_n := v_n + 1;
	END LOOP;
	RETURN v_n;
END
$texp$;
ALTER FUNCTION texp_guard.export_roles_sweep() OWNER TO texp_provisioner;
REVOKE ALL ON FUNCTION texp_guard.export_roles_sweep() FROM PUBLIC;

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
	EXECUTE format('GRANT EXECUTE ON FUNCTION '
	    'texp_guard.export_role_create(text, text, text), '
	    'texp_guard.export_role_drop(text), '
	    'texp_guard.export_roles_sweep() TO %I', p_role);
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
	EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM texp_export', p_schema);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM texp_export',
	    p_schema);
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM texp_export',
	    p_schema);
	EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %I FROM texp_export',
	    p_schema);
END
$texp$;

-- SELECT on exactly the columns not excluded. Column grants, not a table
-- grant: a column added later stays unreadable until db-setup runs again,
-- so a new secret column cannot leak by default.
CREATE OR REPLACE FUNCTION texp_guard.setup_grant_select(p_schema name,
	p_table name, p_exclude name[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
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
	SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
	INTO v_cols FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = v_rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> ALL (p_exclude);
	IF v_cols IS NOT NULL THEN
		EXECUTE format('GRANT SELECT (%s) ON %s TO texp_export', v_cols, v_rel);
	END IF;
END
$texp$;

-- A tenant-owned table: RLS enabled and forced, one SELECT policy for the
-- group keyed on role_tenant(), cast to the column's type so the
-- comparison can use an index.
CREATE OR REPLACE FUNCTION texp_guard.setup_tenant_table(p_schema name,
	p_table name, p_column name, p_exclude name[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
DECLARE
	v_rel regclass := format('%I.%I', p_schema, p_table)::regclass;
	v_type text;
	v_notnull boolean;
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
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_rel);
	EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_rel);
	EXECUTE format('DROP POLICY IF EXISTS texp_export_scope ON %s', v_rel);
	EXECUTE format('CREATE POLICY texp_export_scope ON %s AS PERMISSIVE '
	    'FOR SELECT TO texp_export '
	    'USING (%I = (SELECT texp_guard.role_tenant())::%s)',
	    v_rel, p_column, v_type);
	PERFORM texp_guard.setup_grant_select(p_schema, p_table, p_exclude);
END
$texp$;

-- Reference data: readable without RLS (exported only when asked).
CREATE OR REPLACE FUNCTION texp_guard.setup_global_table(p_schema name,
	p_table name, p_exclude name[]) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	PERFORM texp_guard.setup_grant_select(p_schema, p_table, p_exclude);
END
$texp$;

-- Never exported: the group gets nothing.
CREATE OR REPLACE FUNCTION texp_guard.setup_excluded_table(p_schema name,
	p_table name) RETURNS void
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $texp$
BEGIN
	EXECUTE format('REVOKE ALL ON %s FROM texp_export',
	    format('%I.%I', p_schema, p_table)::regclass);
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
	    'texp_guard.setup_tenant_table(name, name, name, name[])',
	    'texp_guard.setup_global_table(name, name, name[])',
	    'texp_guard.setup_excluded_table(name, name)']::regprocedure[]
	LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$texp$;
