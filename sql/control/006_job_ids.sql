-- One name per job: a job is named everywhere by its id, the first 16
-- bytes of its id hash in hex (32 digits), the audit log's job column
-- included. Alerts name jobs the same way; rows raised before keep the
-- 16-digit reference they were raised with (the table is append-only).
ALTER TABLE texp_control.alerts DROP CONSTRAINT alerts_job_check;
ALTER TABLE texp_control.alerts ADD CONSTRAINT alerts_job_check
	CHECK (job ~ '^([0-9a-f]{16}|[0-9a-f]{32})$');
