-- Leak class (completeness): a policy narrower than the tenant. The
-- export drops every unpaid invoice without a word.
DROP POLICY texp_export_scope ON app.invoices;
CREATE POLICY texp_export_scope ON app.invoices AS PERMISSIVE FOR SELECT
	TO texp_export USING (tenant_id = (SELECT texp_guard.role_tenant())::uuid
	    AND paid_at IS NOT NULL);
