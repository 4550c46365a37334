-- 003_ops.sql: what `tenant-export alerts` remembers between runs.
--
--   alert_cursor  one row: the last audit_log seq the rules have looked at
--   alerts        every alert raised, once (key is unique), with the audit
--                 rows that triggered it; `report` and `metrics` read it
--
-- Applied by `tenant-export init` like 001 (as a superuser, in one
-- transaction). The monitor (texp_control_user) may read both, add
-- alerts and move the cursor; nobody may change or delete an alert.
SET LOCAL ROLE texp_control_owner;
SET LOCAL search_path = pg_catalog, pg_temp;

CREATE TABLE texp_control.alert_cursor (
	id int PRIMARY KEY CHECK (id = 1),
	last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
INSERT INTO texp_control.alert_cursor (id) VALUES (1);

-- key names the alert so that a second run cannot raise it again:
-- "<rule>:<seq of the audit row that triggered it>" (the held-job rule:
-- "<rule>:<job ref>:<time the job started waiting>").
CREATE TABLE texp_control.alerts (
	id bigserial PRIMARY KEY,
	key text NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 300),
	rule text NOT NULL CHECK (rule ~ '^[a-z][a-z_]{0,31}$'),
	principal text CHECK (length(principal) <= 1024),
	tenant text CHECK (length(tenant) <= 1024),
	job text CHECK (job ~ '^[0-9a-f]{16}$'),
	seqs bigint[] NOT NULL,
	trigger_at timestamptz NOT NULL,
	raised_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	summary text NOT NULL CHECK (length(summary) <= 2000)
);
CREATE INDEX alerts_rule_trigger ON texp_control.alerts (rule, trigger_at);
CREATE INDEX alerts_tenant_trigger ON texp_control.alerts (tenant, trigger_at);

CREATE FUNCTION texp_control.alerts_reject() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	RAISE EXCEPTION 'texp_control.alerts is append-only: % refused', TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER alerts_append_only BEFORE UPDATE OR DELETE
	ON texp_control.alerts
	FOR EACH ROW EXECUTE FUNCTION texp_control.alerts_reject();

REVOKE ALL ON texp_control.alert_cursor, texp_control.alerts FROM PUBLIC;
REVOKE ALL ON FUNCTION texp_control.alerts_reject() FROM PUBLIC;
GRANT SELECT, INSERT ON texp_control.alerts TO texp_control_user;
GRANT USAGE ON SEQUENCE texp_control.alerts_id_seq TO texp_control_user;
GRANT SELECT, UPDATE (last_seq, updated_at) ON texp_control.alert_cursor
	TO texp_control_user;
