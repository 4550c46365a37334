-- Leak class: RLS enabled but not forced, on a table owned by a role
-- that can log in: a session of that owner reads every tenant's rows.
DO $lt$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lt_events_owner') THEN
		CREATE ROLE lt_events_owner LOGIN;
	END IF;
END
$lt$;
GRANT USAGE ON SCHEMA app TO lt_events_owner;
ALTER TABLE app.events OWNER TO lt_events_owner;
ALTER TABLE app.events NO FORCE ROW LEVEL SECURITY;
