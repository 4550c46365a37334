-- agency.sql: the demo application. A small agency keeps its clients'
-- data in one database; each client is a tenant. Load it into an empty
-- database as a superuser:
--
--   createdb agency && psql -v ON_ERROR_STOP=1 -d agency -f examples/agency.sql
--
-- Tenant ids are uuid: app.clients.id, and tenant_id everywhere else (NOT
-- NULL, and part of every foreign key between tenant tables so a row can
-- never point at another tenant's row). Client A and Client B have fixed
-- ids so the demo and tests can name them:
--   Client A  a0000000-0000-4000-8000-00000000000a
--   Client B  b0000000-0000-4000-8000-00000000000b
--
-- Roles (cluster-wide, so created only if missing):
--   agency_owner  NOLOGIN; owns schema app and every table in it
--   agency_app    NOLOGIN group the application's login roles join; it has
--                 its own permissive policy, because once db-setup forces
--                 RLS on the tenant tables even their owner sees nothing
--                 without one. texp_export is never a member of it.

DO $agency$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agency_owner') THEN
		CREATE ROLE agency_owner NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agency_app') THEN
		CREATE ROLE agency_app NOLOGIN;
	END IF;
END
$agency$;

CREATE SCHEMA app AUTHORIZATION agency_owner;
SET ROLE agency_owner;
SET search_path = app, pg_catalog;

-- Global reference data.
CREATE TABLE currencies (
	code char(3) PRIMARY KEY,
	name text NOT NULL,
	minor_units smallint NOT NULL
);

-- The tenants themselves; their tenant column is id.
CREATE TABLE clients (
	id uuid PRIMARY KEY,
	-- No UNIQUE (name): an index that does not start with the tenant
	-- column lets the planner walk other tenants' names (lint
	-- index_without_tenant).
	name text NOT NULL,
	display_name text NOT NULL,
	billing_currency char(3) NOT NULL REFERENCES currencies (code),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	email text NOT NULL,
	full_name text,
	password_hash text NOT NULL,	-- excluded in agency.conf
	is_admin boolean NOT NULL DEFAULT false,
	last_login_at timestamptz,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, email)
);

CREATE TABLE contacts (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	owner_user_id bigint,
	name text NOT NULL,
	email text,
	phone text,
	notes text,
	tags text[],
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, owner_user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE invoices (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	contact_id bigint NOT NULL,
	number text NOT NULL,
	amount numeric(12, 2) NOT NULL,
	tax_rate numeric(5, 4),
	currency char(3) NOT NULL REFERENCES currencies (code),
	issued_on date NOT NULL,
	due_on date,
	paid_at timestamptz,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, number),
	FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);

CREATE TABLE files (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	invoice_id bigint,
	file_name text NOT NULL,
	media_type text NOT NULL,
	content bytea NOT NULL,
	-- where the upload lives on the files volume, relative to the
	-- tenant's directory (tenant-export's [files]); NULL: kept in content
	storage_path text,
	uploaded_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

CREATE TABLE events (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	occurred_at timestamptz NOT NULL,
	kind text NOT NULL,
	payload jsonb,
	labels text[],
	counters integer[],
	duration interval,
	source_ip inet,
	PRIMARY KEY (tenant_id, id)
);

-- Secrets: never exported (class = excluded in agency.conf).
CREATE TABLE api_tokens (
	tenant_id uuid NOT NULL REFERENCES clients (id),
	id bigint GENERATED ALWAYS AS IDENTITY,
	label text NOT NULL,
	token_hash bytea NOT NULL,
	webhook_secret text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id)
);

CREATE INDEX ON users (tenant_id);
CREATE INDEX ON contacts (tenant_id);
CREATE INDEX ON invoices (tenant_id, issued_on);
CREATE INDEX ON files (tenant_id);
CREATE INDEX ON events (tenant_id, occurred_at);
CREATE INDEX ON api_tokens (tenant_id);

-- The application's own access. Policies only take effect once RLS is
-- enabled (db-setup does that for tenant tables).
GRANT USAGE ON SCHEMA app TO agency_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO agency_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA app TO agency_app;
CREATE POLICY agency_app_all ON clients TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON users TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON contacts TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON invoices TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON files TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON events TO agency_app USING (true) WITH CHECK (true);
CREATE POLICY agency_app_all ON api_tokens TO agency_app USING (true) WITH CHECK (true);

-- Data.
INSERT INTO currencies VALUES
	('EUR', 'Euro', 2), ('USD', 'US dollar', 2), ('JPY', 'Yen', 0),
	('CHF', 'Swiss franc', 2), ('GBP', 'Pound sterling', 2);

INSERT INTO clients (id, name, display_name, billing_currency, created_at) VALUES
	('a0000000-0000-4000-8000-00000000000a', 'Client A',
	 'Client A — Müller & Søn GmbH', 'EUR', '2023-01-15 09:30:00+00'),
	('b0000000-0000-4000-8000-00000000000b', 'Client B',
	 'Client B — 株式会社ビー', 'JPY', '2023-03-02 14:00:00+09');

-- Per tenant: t is 0 for A, 1 for B; letters keep their values apart so a
-- leak is easy to spot ("A-" or "B-" prefixes).
CREATE TEMP TABLE tenants (t int, id uuid, tag text);
INSERT INTO tenants VALUES
	(0, 'a0000000-0000-4000-8000-00000000000a', 'A'),
	(1, 'b0000000-0000-4000-8000-00000000000b', 'B');

INSERT INTO users (tenant_id, email, full_name, password_hash, is_admin, last_login_at)
SELECT tn.id,
	lower(tn.tag) || '-user' || g || '@example.' || lower(tn.tag) || '.test',
	CASE WHEN g % 7 = 0 THEN NULL
	     WHEN g % 3 = 0 THEN tn.tag || '-Zoë Ångström ' || g
	     ELSE tn.tag || '-User ' || g END,
	'$argon2id$v=19$m=65536,t=3,p=4$' || md5(tn.tag || g),
	g = 1,
	CASE WHEN g % 4 = 0 THEN NULL
	     ELSE timestamptz '2024-05-01 08:00:00+00' + (g * tn.t + g) * interval '37 minutes' END
FROM tenants tn, generate_series(1, 20) g
ORDER BY tn.t, g;

INSERT INTO contacts (tenant_id, owner_user_id, name, email, phone, notes, tags)
SELECT tn.id,
	CASE WHEN g % 5 = 0 THEN NULL ELSE (SELECT u.id FROM users u
	    WHERE u.tenant_id = tn.id ORDER BY u.id OFFSET (g % 20) LIMIT 1) END,
	tn.tag || '-Contact ' || g || CASE WHEN g % 9 = 0 THEN ' (François Œuvre)' ELSE '' END,
	CASE WHEN g % 6 = 0 THEN NULL ELSE 'c' || g || '@' || lower(tn.tag) || '.example' END,
	CASE WHEN g % 4 = 0 THEN NULL ELSE '+41 44 ' || lpad((g * 7919 % 10000000)::text, 7, '0') END,
	CASE WHEN g % 3 = 0 THEN NULL
	     WHEN g % 3 = 1 THEN tn.tag || E'-note: line one\nline two\ttabbed'
	     ELSE tn.tag || '-note: emoji 😀, quote '' and "double", backslash \' END,
	CASE WHEN g % 8 = 0 THEN NULL
	     WHEN g % 8 = 1 THEN '{}'::text[]
	     ELSE ARRAY[tn.tag || '-vip', 'tag' || (g % 5), NULL] END
FROM tenants tn, generate_series(1, 100) g
ORDER BY tn.t, g;

INSERT INTO invoices (tenant_id, contact_id, number, amount, tax_rate, currency,
	issued_on, due_on, paid_at)
SELECT tn.id,
	(SELECT c.id FROM contacts c WHERE c.tenant_id = tn.id ORDER BY c.id
	    OFFSET (g % 100) LIMIT 1),
	tn.tag || '-INV-' || lpad(g::text, 5, '0'),
	round((g * 137.31 + tn.t * 0.01) % 99999, 2),
	CASE WHEN g % 10 = 0 THEN NULL ELSE 0.0770 + (g % 3) * 0.01 END,
	(ARRAY['EUR', 'USD', 'JPY', 'CHF'])[1 + g % 4],
	date '2023-01-01' + g * 2,
	CASE WHEN g % 6 = 0 THEN NULL ELSE date '2023-01-31' + g * 2 END,
	CASE WHEN g % 3 = 0 THEN NULL
	     ELSE timestamptz '2023-02-01 12:00:00+00' + g * interval '2 days 3 hours' END
FROM tenants tn, generate_series(1, 200) g
ORDER BY tn.t, g;

INSERT INTO files (tenant_id, invoice_id, file_name, media_type, content,
    storage_path, uploaded_at)
SELECT tn.id,
	CASE WHEN g % 4 = 0 THEN NULL ELSE (SELECT i.id FROM invoices i
	    WHERE i.tenant_id = tn.id ORDER BY i.id OFFSET g LIMIT 1) END,
	tn.tag || '-file-' || g || CASE WHEN g % 5 = 0 THEN '-Ünïcödé.pdf' ELSE '.bin' END,
	CASE WHEN g % 2 = 0 THEN 'application/pdf' ELSE 'application/octet-stream' END,
	CASE WHEN g % 10 = 0 THEN ''::bytea
	     ELSE convert_to(tn.tag || '-content-', 'UTF8') ||
	          decode(repeat(md5(tn.tag || g), g % 7 + 1), 'hex') || '\x00ff00'::bytea END,
	CASE WHEN g % 3 = 0 THEN NULL
	     ELSE 'uploads/' || to_char(date '2023-06-01' + g, 'YYYY/MM') || '/' ||
	          lower(tn.tag) || '-file-' || g || '.bin' END,
	timestamptz '2023-06-01 00:00:00+00' + g * interval '1 day 1 second'
FROM tenants tn, generate_series(1, 30) g
ORDER BY tn.t, g;

INSERT INTO events (tenant_id, occurred_at, kind, payload, labels, counters, duration, source_ip)
SELECT tn.id,
	timestamptz '2024-01-01 00:00:00+00' + (g * 3607 + tn.t * 11) * interval '1 second',
	(ARRAY['login', 'invoice.sent', 'file.upload', 'contact.edit'])[1 + g % 4],
	CASE WHEN g % 11 = 0 THEN NULL
	     WHEN g % 11 = 1 THEN 'null'::jsonb
	     ELSE jsonb_build_object('tenant', tn.tag, 'seq', g,
	         'ratio', g / 7.0, 'ok', g % 2 = 0, 'nested',
	         jsonb_build_object('list', jsonb_build_array(g, tn.tag || '-x', NULL),
	             'text', 'ünï "quoted" ' || tn.tag)) END,
	CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY[tn.tag || '-ev', 'k' || (g % 3)] END,
	CASE WHEN g % 6 = 0 THEN NULL ELSE ARRAY[g, g * 2, -g] END,
	CASE WHEN g % 4 = 0 THEN NULL ELSE g * interval '1.5 seconds' END,
	CASE WHEN g % 3 = 0 THEN NULL ELSE ('10.' || tn.t || '.' || (g % 250) || '.1')::inet END
FROM tenants tn, generate_series(1, 300) g
ORDER BY tn.t, g;

INSERT INTO api_tokens (tenant_id, label, token_hash, webhook_secret)
SELECT tn.id, tn.tag || '-token-' || g, sha256(convert_to(tn.tag || g, 'UTF8')),
	CASE WHEN g % 2 = 0 THEN NULL ELSE 'whsec_' || md5(tn.tag || g) END
FROM tenants tn, generate_series(1, 5) g;

DROP TABLE tenants;
RESET ROLE;
RESET search_path;
ANALYZE;
