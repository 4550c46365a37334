#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "manifest.h"
#include "plan.h"

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The first difference in one table, or 0. */
static int
table_diff(const struct manifest_table *p, const struct manifest_table *a,
    char *err, size_t errlen)
{
	size_t j;

	if (!str_eq(p->name, a->name)) {
		err_set(err, errlen, "the archive holds table \"%.80s\" where "
		    "the plan has \"%.80s\"", a->name, p->name);
		return ERR_MANIFEST;
	}
	if ((p->tenant_column < 0) != (a->tenant_column < 0)) {
		err_set(err, errlen, "table \"%.80s\" is %s in the archive but "
		    "%s in the plan", p->name, a->tenant_column < 0 ?
		    "global" : "a tenant table", p->tenant_column < 0 ?
		    "global" : "a tenant table");
		return ERR_MANIFEST;
	}
	if (p->tenant_column != a->tenant_column ||
	    p->ncolumns != a->ncolumns) {
		err_set(err, errlen, "table \"%.80s\": the columns or the tenant "
		    "column differ from the plan", p->name);
		return ERR_MANIFEST;
	}
	for (j = 0; j < p->ncolumns; j++)
		if (!str_eq(p->columns[j].name, a->columns[j].name) ||
		    !str_eq(p->columns[j].type, a->columns[j].type)) {
			err_set(err, errlen, "table \"%.80s\" column %zu differs "
			    "from the plan in name or type", p->name, j);
			return ERR_MANIFEST;
		}
	return 0;
}

/* Fields, in the order a person would look for the cause. */
static int
field_diff(const struct manifest *p, const struct manifest *a,
    uint64_t part_bytes, char *err, size_t errlen)
{
	const char *what = NULL;
	size_t i;
	int r;

	if (p->ntables != a->ntables) {
		err_set(err, errlen, "the archive holds %zu tables, the plan %zu",
		    a->ntables, p->ntables);
		return ERR_MANIFEST;
	}
	for (i = 0; i < p->ntables; i++)
		if ((r = table_diff(&p->tables[i], &a->tables[i], err,
		    errlen)) != 0)
			return r;
	if (p->include_global != a->include_global)
		what = "global (whether global tables were requested)";
	else if (!str_eq(p->since, a->since) || !str_eq(p->until, a->until))
		what = "the date window (since, until)";
	else if (memcmp(p->tenant_hash, a->tenant_hash,
	    sizeof(p->tenant_hash)) != 0 || !str_eq(p->tenant_type,
	    a->tenant_type))
		what = "the tenant (tenant_hash, tenant_type)";
	else if (p->compression != a->compression)
		what = "compression";
	else if (part_bytes != a->part_bytes)
		what = "part_bytes";
	else if (p->created != a->created || p->expires != a->expires)
		what = "the creation or expiry time";
	else if (memcmp(p->export_id, a->export_id, sizeof(p->export_id)) ||
	    memcmp(p->salt, a->salt, sizeof(p->salt)) != 0)
		what = "the export id or salt";
	else if (!str_eq(p->snapshot, a->snapshot))
		what = "snapshot";
	if (what == NULL)
		return 0;
	err_set(err, errlen, "%s differs from the plan", what);
	return ERR_MANIFEST;
}

int
plan_check(const struct manifest *plan, const uint8_t *pre, size_t len,
    char *err, size_t errlen)
{
	struct manifest want = *plan, *got = NULL;
	struct buf *view = NULL, *enc = NULL;
	char why[512];
	int r = ERR_NOMEM;

	why[0] = '\0';
	/* a shallow copy: only the part size is filled in */
	if (want.part_bytes == 0)
		want.part_bytes = BUNDLE_PART_BYTES;
	if ((view = buf_from(pre, len)) == NULL ||
	    (enc = buf_new(MANIFEST_MAX_BYTES)) == NULL)
		goto out;
	if (manifest_decode_preamble(view, &got) != 0) {
		r = ERR_MANIFEST;
		err_set(why, sizeof(why), "its preamble does not decode");
		goto out;
	}
	if ((r = field_diff(plan, got, want.part_bytes, why,
	    sizeof(why))) != 0)
		goto out;
	/* Every field agrees: so must every byte, whatever a later
	 * version adds. */
	if ((r = manifest_encode_preamble(&want, enc)) != 0)
		goto out;
	if (buf_len(enc) != len || memcmp(buf_ptr(enc), pre, len) != 0) {
		r = ERR_MANIFEST;
		err_set(why, sizeof(why), "its preamble differs from the plan");
		goto out;
	}
	r = 0;
 out:
	if (r != 0)
		err_set(err, errlen, "the checker proved an archive other than "
		    "the one planned: %s; nothing was signed or published",
		    why[0] != '\0' ? why : err_str(r));
	manifest_free(got);
	buf_free(view);
	buf_free(enc);
	return r;
}
