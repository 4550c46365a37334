-- Leak class: a policy that compares tenant ids with ILIKE. 'acme' and
-- 'ACME' are two tenants; an export session of either sees both.
DROP POLICY texp_export_scope ON crm.notes;
CREATE POLICY texp_export_scope ON crm.notes AS PERMISSIVE FOR SELECT
	TO texp_export USING (tenant_id ILIKE (SELECT texp_guard.role_tenant()));
