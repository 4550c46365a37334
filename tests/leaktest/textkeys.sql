-- textkeys.sql: a small application whose tenant ids are text, two of
-- which differ only by case ('acme' and 'ACME' are two tenants). The
-- leak test's case-insensitive policy fixtures (ilike.sql, lower.sql)
-- break it; as set up by db-setup it is clean. Load as a superuser.
DO $lt$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lt_owner') THEN
		CREATE ROLE lt_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lt_app') THEN
		CREATE ROLE lt_app NOLOGIN;
	END IF;
END
$lt$;
CREATE SCHEMA crm AUTHORIZATION lt_owner;
SET ROLE lt_owner;
CREATE TABLE crm.accounts (
	id text PRIMARY KEY,
	name text NOT NULL
);
CREATE TABLE crm.notes (
	tenant_id text NOT NULL REFERENCES crm.accounts (id),
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	body text NOT NULL,
	UNIQUE (tenant_id, id)
);
CREATE INDEX ON crm.notes (tenant_id);
GRANT USAGE ON SCHEMA crm TO lt_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA crm TO lt_app;
CREATE POLICY lt_app_all ON crm.accounts TO lt_app USING (true) WITH CHECK (true);
CREATE POLICY lt_app_all ON crm.notes TO lt_app USING (true) WITH CHECK (true);
INSERT INTO crm.accounts VALUES ('acme', 'Acme (lower case)'),
	('ACME', 'ACME (upper case)'), ('globex', 'Globex');
INSERT INTO crm.notes (tenant_id, body)
SELECT t, t || ' note ' || g FROM unnest(ARRAY['acme', 'ACME', 'globex']) t,
	generate_series(1, 5) g;
RESET ROLE;
ANALYZE;
