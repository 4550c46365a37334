-- 004_queue.sql: unattended operation. Workers claim queued jobs and hold
-- them under a lease they renew; a job whose worker died is taken back
-- once its lease has expired. Jobs can be paused (all, or one tenant),
-- retried with backoff, and superseded by a fresh export of the same
-- scope.
--
-- As everywhere in texp_control, the signed log is the truth and these
-- columns are a cache: the lease a job runs under is recorded in its
-- export.started row, pauses in queue.paused / queue.resumed rows, a
-- retry's link in its export.requested row. Heartbeats are liveness only:
-- they authorise nothing, they only tell when a lease may be taken back
-- (docs/CONTROL.md, "Workers and leases").

SET LOCAL ROLE texp_control_owner;
SET LOCAL search_path = pg_catalog, pg_temp;

ALTER TABLE texp_control.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE texp_control.jobs ADD CONSTRAINT jobs_state_check
	CHECK (state IN ('queued', 'awaiting_approval', 'running', 'ready',
	    'failed', 'cancelled', 'expired', 'superseded'));

ALTER TABLE texp_control.jobs
	-- the running attempt: 16 random bytes, also the export's id (its
	-- files are named after it), who holds it, and when it last said so
	ADD COLUMN lease bytea CHECK (octet_length(lease) = 16),
	ADD COLUMN lease_holder text CHECK (length(lease_holder) <= 200
	    AND lease_holder !~ '[[:cntrl:]]'),
	ADD COLUMN heartbeat_at timestamptz,
	-- a queued job is not claimed before this (backoff after a
	-- transient fault)
	ADD COLUMN not_before timestamptz,
	-- retry: the job this one replaces, and the job that replaced it
	ADD COLUMN retry_of bytea CHECK (octet_length(retry_of) = 32),
	ADD COLUMN superseded_by bytea CHECK (octet_length(superseded_by) = 32);

CREATE INDEX jobs_queued ON texp_control.jobs (created_at)
	WHERE state = 'queued';
CREATE INDEX jobs_running ON texp_control.jobs (tenant)
	WHERE state = 'running';

-- retry_of is fixed at creation like the tenant and the scope.
CREATE OR REPLACE FUNCTION texp_control.jobs_fixed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
	IF NEW.id_hash IS DISTINCT FROM OLD.id_hash
	    OR NEW.tenant IS DISTINCT FROM OLD.tenant
	    OR NEW.scope IS DISTINCT FROM OLD.scope
	    OR NEW.high_risk IS DISTINCT FROM OLD.high_risk
	    OR NEW.requested_by IS DISTINCT FROM OLD.requested_by
	    OR NEW.created_at IS DISTINCT FROM OLD.created_at
	    OR NEW.retry_of IS DISTINCT FROM OLD.retry_of THEN
		RAISE EXCEPTION 'texp_control.jobs: tenant, scope and requester are fixed'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$fn$;

-- Paused claiming: one row per paused tenant, '' for every tenant.
CREATE TABLE texp_control.queue_pauses (
	tenant text PRIMARY KEY CHECK (octet_length(tenant) <= 200
	    AND tenant !~ '[[:cntrl:]]'),
	paused_by text NOT NULL,
	paused_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Workers: principals that run queued jobs (on the tenants they are
-- assigned to).
INSERT INTO texp_control.roles (name, capabilities)
	VALUES ('worker', ARRAY['tenant:export:work']);

REVOKE ALL ON texp_control.queue_pauses FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON texp_control.queue_pauses
	TO texp_control_user;
GRANT UPDATE (lease, lease_holder, heartbeat_at, not_before, superseded_by)
	ON texp_control.jobs TO texp_control_user;
