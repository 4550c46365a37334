/*
 * canary.h: marker rows for the leak test, on staging databases only
 * (docs/AUDIT.md, "Canaries").
 *
 * A canary is one row per tenant table and tested tenant, made like the
 * tenant's own data: its tenant column holds the tenant, and each text,
 * JSON and bytea column it may fill holds a marker unique to that tenant
 * and table, "texp-canary-" and 32 random hex digits. Other required
 * columns get a neutral value of their type (0 or a small negative
 * number, false, now(), an empty array, a random UUID, an enum's first
 * label, 192.0.2.1); a foreign key points at the same tenant's canary in
 * the referenced table when there is one, else at an existing row of the
 * same tenant (or any row of a table that has no tenant); columns with a
 * default keep it. A table whose tenant column is unique on its own (the
 * tenants table) is skipped: a second row would be a second tenant. A
 * table where no such row can be made (a type it cannot fill, a check
 * constraint, no row to point at) is reported as failed, with the
 * server's reason.
 *
 * The writer is the [leaktest] canary_user login: it needs INSERT and
 * DELETE on the tenant tables and a policy that lets it (the
 * application's role on a staging copy). Everything is planted in one
 * transaction and committed, so the export sessions see it; every
 * planted row is described (tenant, table, the column holding the
 * marker, the marker) so that it can be deleted later, by the helper or
 * by a sweep from the audit log's record.
 *
 * Functions return 0 or a negative enum err code with a reason in err.
 */
#ifndef TEXP_CANARY_H
#define TEXP_CANARY_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

struct config;

#define CANARY_PREFIX	"texp-canary-"

/*
 * Plants a canary for each tenant in each configured tenant table.
 * Appends to planted one object per row {"tenant", "table",
 * "tenant_column", "tenant_type", "column", "kind", "marker"} (kind:
 * text, jsonb, json or bytea), to skipped {"tenant", "table", "reason"}
 * and to failed the same. Commits before returning 0; on an error
 * nothing is planted and planted is left empty.
 */
int canary_plant(PGconn *w, const struct config *cfg,
    const char *const *tenants, size_t n, json_t *planted, json_t *skipped,
    json_t *failed, char *err, size_t errlen);

/*
 * Deletes the rows planted describes, the last planted first, each in a
 * transaction of its own. *deleted gets the count; rows that could not
 * be deleted are appended to left as {"tenant", "table", "marker",
 * "reason"}. A row that is no longer there (deleted before, by the run's
 * helper or an earlier sweep) is neither counted nor left.
 */
int canary_delete(PGconn *w, const json_t *planted, size_t *deleted,
    json_t *left, char *err, size_t errlen);

#endif
