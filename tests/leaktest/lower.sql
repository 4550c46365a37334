-- Leak class: a policy that compares lower() of tenant ids: 'acme' and
-- 'ACME' are two tenants, and each session sees both.
DROP POLICY texp_export_scope ON crm.notes;
CREATE POLICY texp_export_scope ON crm.notes AS PERMISSIVE FOR SELECT
	TO texp_export USING (lower(tenant_id) =
	    lower((SELECT texp_guard.role_tenant())));
