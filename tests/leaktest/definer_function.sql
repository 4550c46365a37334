-- Leak class: a SECURITY DEFINER function that returns every tenant's
-- rows, executable by the export group.
CREATE FUNCTION app.all_contacts() RETURNS SETOF app.contacts
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
	AS 'SELECT * FROM app.contacts';
GRANT EXECUTE ON FUNCTION app.all_contacts() TO texp_export;
