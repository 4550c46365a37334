-- bench/gen.sql: a multi-tenant dataset for bench/export.sh.
-- 20 tenants; tenant 1 (the one exported) has :target_orders orders,
-- 0.6x that many events and 0.4x files; tenants 2 and 3 the same at a
-- quarter and a sixteenth of that (time linear, memory flat); tenant 20
-- :small_rows rows per table (a small export end to end); every other
-- tenant has :other_rows rows per table. Mixed types: numeric, timestamptz, text,
-- bool, arrays, jsonb, float8, bytea, date.
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE ROLE bench_owner NOLOGIN;
CREATE SCHEMA bench AUTHORIZATION bench_owner;
SET ROLE bench_owner;
CREATE TABLE bench.tenants (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE bench.orders (
	tenant_id uuid NOT NULL, id bigint NOT NULL, created_at timestamptz NOT NULL,
	amount numeric(12,2) NOT NULL, status text NOT NULL, note text,
	paid boolean NOT NULL, tags text[]);
CREATE TABLE bench.events (
	tenant_id uuid NOT NULL, id bigint NOT NULL, occurred_at timestamptz NOT NULL,
	kind text NOT NULL, payload jsonb, score double precision);
CREATE TABLE bench.files (
	tenant_id uuid NOT NULL, id bigint NOT NULL, name text NOT NULL,
	size integer NOT NULL, digest bytea NOT NULL, uploaded date NOT NULL);
RESET ROLE;
CREATE FUNCTION pg_temp.tid(t int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
	$$ SELECT ('00000000-0000-4000-8000-' || lpad(t::text, 12, '0'))::uuid $$;
INSERT INTO bench.tenants SELECT pg_temp.tid(t), 'Tenant ' || t FROM generate_series(1, 20) t;
INSERT INTO bench.orders
SELECT pg_temp.tid(t), g, timestamptz '2024-01-01' + g * interval '37 seconds',
       (g % 100000) / 7.0, (ARRAY['open','paid','void','late'])[1 + g % 4],
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'order note ' || md5(g::text) END,
       g % 2 = 0, ARRAY['t' || g % 10, 'k' || g % 7]
FROM generate_series(1, 20) t,
     LATERAL generate_series(1, CASE t WHEN 1 THEN :target_orders WHEN 2 THEN :target_orders / 4
	WHEN 3 THEN :target_orders / 16 WHEN 20 THEN :small_rows ELSE :other_rows END) g;
INSERT INTO bench.events
SELECT pg_temp.tid(t), g, timestamptz '2024-01-01' + g * interval '11 seconds',
       'event.' || g % 13, jsonb_build_object('n', g, 'ok', g % 2 = 0, 'tag', md5(g::text)),
       g / 3.0
FROM generate_series(1, 20) t,
     LATERAL generate_series(1, CASE t WHEN 1 THEN :target_orders * 6 / 10
	WHEN 2 THEN :target_orders * 6 / 40 WHEN 3 THEN :target_orders * 6 / 160
	WHEN 20 THEN :small_rows ELSE :other_rows END) g;
INSERT INTO bench.files
SELECT pg_temp.tid(t), g, 'file-' || g || '.pdf', g % 1000000,
       decode(md5(g::text), 'hex'), date '2020-01-01' + g % 2000
FROM generate_series(1, 20) t,
     LATERAL generate_series(1, CASE t WHEN 1 THEN :target_orders * 4 / 10
	WHEN 2 THEN :target_orders * 4 / 40 WHEN 3 THEN :target_orders * 4 / 160
	WHEN 20 THEN :small_rows ELSE :other_rows END) g;
CREATE INDEX ON bench.orders (tenant_id);
CREATE INDEX ON bench.events (tenant_id);
CREATE INDEX ON bench.files (tenant_id);
ANALYZE;
