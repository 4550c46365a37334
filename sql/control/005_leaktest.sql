-- 005_leaktest.sql: the auditor's leak test (docs/AUDIT.md).
--
-- The role `auditor` holds the capability tenant:audit: it may run the
-- leak test for any tenant, and nothing else (no export, no approval, no
-- fetch). A leak test exports each tested tenant through the real
-- pipeline, under jobs of its own kind: they are kept here, apart from
-- the export jobs, are made running by the service for one leak test
-- run, and never become an archive anyone can fetch. The provisioning
-- functions (sql/tenant_scope.sql) make export roles for them exactly as
-- for a running export job. Every fact about a run is in the signed log
-- (leaktest.* events); this table is a cache like the others.

SET LOCAL ROLE texp_control_owner;
SET LOCAL search_path = pg_catalog, pg_temp;

INSERT INTO texp_control.roles (name, capabilities)
VALUES ('auditor', ARRAY['tenant:audit']);

CREATE TABLE texp_control.leaktest_jobs (
	id_hash bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
	run text NOT NULL CHECK (run ~ '^[0-9a-f]{32}$'),
	-- any tenant id of the application database, registered or not
	tenant text NOT NULL CHECK (octet_length(tenant) BETWEEN 1 AND 256
		AND tenant !~ '[[:cntrl:]]'),
	scope jsonb NOT NULL CHECK (jsonb_typeof(scope) = 'object'),
	state text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	finished_at timestamptz
);
CREATE INDEX leaktest_jobs_run ON texp_control.leaktest_jobs (run);

REVOKE ALL ON texp_control.leaktest_jobs FROM PUBLIC;
GRANT SELECT, INSERT ON texp_control.leaktest_jobs TO texp_control_user;
GRANT UPDATE (state, finished_at) ON texp_control.leaktest_jobs
	TO texp_control_user;

-- The provisioning functions read these columns, nothing else.
DO $texp$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
	    WHERE rolname = 'texp_provisioner') THEN
		GRANT SELECT (id_hash, tenant, scope, state)
		    ON texp_control.leaktest_jobs TO texp_provisioner;
	END IF;
END
$texp$;
