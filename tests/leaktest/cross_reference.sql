-- Leak class: a foreign key without the tenant column, and a row of
-- Client A that references a row of Client B through it.
ALTER TABLE app.invoices DROP CONSTRAINT invoices_tenant_id_contact_id_fkey;
ALTER TABLE app.contacts ADD CONSTRAINT contacts_id_key UNIQUE (id);
ALTER TABLE app.invoices ADD CONSTRAINT invoices_contact_fkey
	FOREIGN KEY (contact_id) REFERENCES app.contacts (id);
UPDATE app.invoices SET contact_id = (SELECT min(id) FROM app.contacts
	WHERE tenant_id = 'b0000000-0000-4000-8000-00000000000b')
WHERE id = (SELECT min(id) FROM app.invoices
	WHERE tenant_id = 'a0000000-0000-4000-8000-00000000000a');
