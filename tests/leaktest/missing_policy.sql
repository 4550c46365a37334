-- Leak class: the export policy missing on one table (RLS on, forced):
-- the export of app.files silently carries no rows.
DROP POLICY texp_export_scope ON app.files;
