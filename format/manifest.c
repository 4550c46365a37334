#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b2b.h"
#include "coltype.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"
#include "tar.h"

struct manifest *
manifest_new(void)
{
	return calloc(1, sizeof(struct manifest));
}

void
manifest_free(struct manifest *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->ntables; i++) {
		for (j = 0; j < m->tables[i].ncolumns; j++) {
			free(m->tables[i].columns[j].name);
			free(m->tables[i].columns[j].type);
		}
		free(m->tables[i].columns);
		free(m->tables[i].name);
	}
	free(m->tables);
	free(m->tenant_type);
	free(m->snapshot);
	free(m->since);
	free(m->until);
	free(m);
}

int
manifest_set_str(char **dst, const char *s)
{
	char *c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		return ERR_NOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

int
manifest_add_table(struct manifest *m, const char *name,
    int64_t tenant_column, size_t *idx)
{
	struct manifest_table *t;

	if (m->ntables >= MANIFEST_MAX_TABLES ||
	    strlen(name) > MANIFEST_MAX_NAME)
		return ERR_LIMIT;
	t = reallocarray(m->tables, m->ntables + 1, sizeof(*t));
	if (t == NULL)
		return ERR_NOMEM;
	m->tables = t;
	t = &m->tables[m->ntables];
	memset(t, 0, sizeof(*t));
	if ((t->name = strdup(name)) == NULL)
		return ERR_NOMEM;
	t->tenant_column = tenant_column;
	*idx = m->ntables++;
	return 0;
}

int
manifest_add_column(struct manifest *m, size_t table, const char *name,
    const char *type)
{
	struct manifest_table *t;
	struct manifest_column *c;

	if (table >= m->ntables)
		return ERR_INVALID;
	t = &m->tables[table];
	if (t->ncolumns >= MANIFEST_MAX_COLUMNS ||
	    strlen(name) > MANIFEST_MAX_NAME || strlen(type) > MANIFEST_MAX_NAME)
		return ERR_LIMIT;
	c = reallocarray(t->columns, t->ncolumns + 1, sizeof(*c));
	if (c == NULL)
		return ERR_NOMEM;
	t->columns = c;
	c = &t->columns[t->ncolumns];
	c->name = strdup(name);
	c->type = strdup(type);
	if (c->name == NULL || c->type == NULL) {
		free(c->name);
		free(c->type);
		return ERR_NOMEM;
	}
	t->ncolumns++;
	return 0;
}

/* Encoding: keys are written in canonical order (shorter first, then
 * bytewise); the decoder insists on the same order. */

static int
put_key(struct buf *b, const char *k)
{
	return dcbor_put_text(b, k, strlen(k));
}

static int
put_opt_text(struct buf *b, const char *s)
{
	return s == NULL ? dcbor_put_null(b) : dcbor_put_text(b, s, strlen(s));
}

int
manifest_encode_preamble(const struct manifest *m, struct buf *b)
{
	const struct manifest_table *t;
	size_t i, j;
	int r;

#define P(x) do { if ((r = (x)) != 0) return r; } while (0)
	P(dcbor_put_map(b, m->has_files ? 15 : 14));
	P(put_key(b, "v"));
	P(dcbor_put_uint(b, MANIFEST_VERSION));
	P(put_key(b, "salt"));
	P(dcbor_put_bytes(b, m->salt, sizeof(m->salt)));
	if (m->has_files) {
		P(put_key(b, "files"));
		P(dcbor_put_array(b, 2));
		P(dcbor_put_uint(b, m->files_table));
		P(dcbor_put_uint(b, m->files_path));
	}
	P(put_key(b, "since"));
	P(put_opt_text(b, m->since));
	P(put_key(b, "until"));
	P(put_opt_text(b, m->until));
	P(put_key(b, "global"));
	P(dcbor_put_bool(b, m->include_global));
	P(put_key(b, "tables"));
	P(dcbor_put_array(b, m->ntables));
	for (i = 0; i < m->ntables; i++) {
		t = &m->tables[i];
		P(dcbor_put_map(b, 3));
		P(put_key(b, "name"));
		P(put_opt_text(b, t->name));
		P(put_key(b, "columns"));
		P(dcbor_put_array(b, t->ncolumns));
		for (j = 0; j < t->ncolumns; j++) {
			P(dcbor_put_array(b, 2));
			P(put_opt_text(b, t->columns[j].name));
			P(put_opt_text(b, t->columns[j].type));
		}
		P(put_key(b, "tenant_column"));
		if (t->tenant_column < 0)
			P(dcbor_put_null(b));
		else
			P(dcbor_put_uint(b, (uint64_t)t->tenant_column));
	}
	P(put_key(b, "created"));
	P(dcbor_put_uint(b, m->created));
	P(put_key(b, "expires"));
	P(dcbor_put_uint(b, m->expires));
	P(put_key(b, "snapshot"));
	P(put_opt_text(b, m->snapshot));
	P(put_key(b, "export_id"));
	P(dcbor_put_bytes(b, m->export_id, sizeof(m->export_id)));
	P(put_key(b, "part_bytes"));
	P(dcbor_put_uint(b, m->part_bytes));
	P(put_key(b, "compression"));
	P(put_opt_text(b, m->compression ? "zstd" : "none"));
	P(put_key(b, "tenant_hash"));
	P(dcbor_put_bytes(b, m->tenant_hash, sizeof(m->tenant_hash)));
	P(put_key(b, "tenant_type"));
	P(put_opt_text(b, m->tenant_type));
	return 0;
}

int
manifest_encode(const struct manifest *m, const uint8_t *pre, size_t pre_len,
    struct buf *b)
{
	const struct manifest_table *t;
	size_t i;
	int r;

	P(dcbor_put_map(b, 3));
	P(put_key(b, "v"));
	P(dcbor_put_uint(b, MANIFEST_VERSION));
	P(put_key(b, "results"));
	P(dcbor_put_array(b, m->ntables));
	for (i = 0; i < m->ntables; i++) {
		t = &m->tables[i];
		P(dcbor_put_map(b, 4));
		P(put_key(b, "root"));
		P(dcbor_put_bytes(b, t->root, sizeof(t->root)));
		P(put_key(b, "bytes"));
		P(dcbor_put_uint(b, t->bytes));
		P(put_key(b, "parts"));
		P(dcbor_put_uint(b, t->parts));
		P(put_key(b, "records"));
		P(dcbor_put_uint(b, t->records));
	}
	P(put_key(b, "preamble"));
	P(buf_put(b, pre, pre_len));
	return 0;
#undef P
}

/* Decoding. */

static int
get_fixed(struct buf *b, uint8_t *out, size_t len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = dcbor_get_bytes(b, &p, &n)) != 0)
		return r;
	if (n != len)
		return ERR_MANIFEST;
	memcpy(out, p, len);
	return 0;
}

/* Text without NUL bytes, at most max bytes; or null when nullable. */
static int
get_text(struct buf *b, char **out, size_t max, int nullable)
{
	struct dcbor_item it;
	int r;

	*out = NULL;
	if ((r = dcbor_get_item(b, &it)) != 0)
		return r;
	if (it.type == DCBOR_NULL && nullable)
		return 0;
	if (it.type != DCBOR_TEXT)
		return ERR_MANIFEST;
	if (it.len > max || memchr(it.p, 0, it.len) != NULL)
		return ERR_MANIFEST;
	if ((*out = strndup((const char *)it.p, it.len)) == NULL)
		return ERR_NOMEM;
	return 0;
}

static int
get_count(struct buf *b, int array, uint64_t *n, uint64_t max)
{
	int r;

	r = array ? dcbor_get_array(b, n) : dcbor_get_map(b, n);
	if (r != 0)
		return r;
	return *n > max ? ERR_LIMIT : 0;
}

static int
decode_table(struct buf *b, struct manifest *m)
{
	char *name = NULL, *cname = NULL, *ctype = NULL;
	struct dcbor_item it;
	uint64_t n, ncol, j;
	size_t idx;
	int r;

	if ((r = get_count(b, 0, &n, 3)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (n != 3)
		goto out;
	if ((r = dcbor_get_key(b, "name")) != 0 ||
	    (r = get_text(b, &name, MANIFEST_MAX_NAME, 0)) != 0 ||
	    (r = manifest_add_table(m, name, -1, &idx)) != 0 ||
	    (r = dcbor_get_key(b, "columns")) != 0 ||
	    (r = get_count(b, 1, &ncol, MANIFEST_MAX_COLUMNS)) != 0)
		goto out;
	for (j = 0; j < ncol; j++) {
		if ((r = get_count(b, 1, &n, 2)) != 0)
			goto out;
		r = ERR_MANIFEST;
		if (n != 2)
			goto out;
		if ((r = get_text(b, &cname, MANIFEST_MAX_NAME, 0)) != 0 ||
		    (r = get_text(b, &ctype, MANIFEST_MAX_NAME, 0)) != 0 ||
		    (r = manifest_add_column(m, idx, cname, ctype)) != 0)
			goto out;
		free(cname);
		free(ctype);
		cname = ctype = NULL;
	}
	if ((r = dcbor_get_key(b, "tenant_column")) != 0 ||
	    (r = dcbor_get_item(b, &it)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (it.type == DCBOR_UINT) {
		if (it.u >= ncol)
			goto out;
		m->tables[idx].tenant_column = (int64_t)it.u;
	} else if (it.type != DCBOR_NULL)
		goto out;
	r = 0;
 out:
	free(name);
	free(cname);
	free(ctype);
	return r;
}

static int
decode_preamble(struct buf *b, struct manifest *m)
{
	struct dcbor_item it;
	uint64_t n, i;
	char *comp = NULL;
	int r;

	if ((r = get_count(b, 0, &n, 15)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (n != 14 && n != 15)
		goto out;
	m->has_files = n == 15;
	if ((r = dcbor_get_key(b, "v")) != 0 ||
	    (r = dcbor_get_uint(b, &n)) != 0)
		goto out;
	if (n != MANIFEST_VERSION) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = dcbor_get_key(b, "salt")) != 0 ||
	    (r = get_fixed(b, m->salt, sizeof(m->salt))) != 0)
		goto out;
	if (m->has_files) {
		if ((r = dcbor_get_key(b, "files")) != 0 ||
		    (r = get_count(b, 1, &n, 2)) != 0)
			goto out;
		r = ERR_MANIFEST;
		if (n != 2)
			goto out;
		if ((r = dcbor_get_uint(b, &m->files_table)) != 0 ||
		    (r = dcbor_get_uint(b, &m->files_path)) != 0)
			goto out;
	}
	if ((r = dcbor_get_key(b, "since")) != 0 ||
	    (r = get_text(b, &m->since, MANIFEST_MAX_TEXT, 1)) != 0 ||
	    (r = dcbor_get_key(b, "until")) != 0 ||
	    (r = get_text(b, &m->until, MANIFEST_MAX_TEXT, 1)) != 0 ||
	    (r = dcbor_get_key(b, "global")) != 0 ||
	    (r = dcbor_get_item(b, &it)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (it.type != DCBOR_TRUE && it.type != DCBOR_FALSE)
		goto out;
	m->include_global = it.type == DCBOR_TRUE;
	if ((r = dcbor_get_key(b, "tables")) != 0 ||
	    (r = get_count(b, 1, &n, MANIFEST_MAX_TABLES)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = decode_table(b, m)) != 0)
			goto out;
	if ((r = dcbor_get_key(b, "created")) != 0 ||
	    (r = dcbor_get_uint(b, &m->created)) != 0 ||
	    (r = dcbor_get_key(b, "expires")) != 0 ||
	    (r = dcbor_get_uint(b, &m->expires)) != 0 ||
	    (r = dcbor_get_key(b, "snapshot")) != 0 ||
	    (r = get_text(b, &m->snapshot, MANIFEST_MAX_TEXT, 1)) != 0 ||
	    (r = dcbor_get_key(b, "export_id")) != 0 ||
	    (r = get_fixed(b, m->export_id, sizeof(m->export_id))) != 0 ||
	    (r = dcbor_get_key(b, "part_bytes")) != 0 ||
	    (r = dcbor_get_uint(b, &m->part_bytes)) != 0 ||
	    (r = dcbor_get_key(b, "compression")) != 0 ||
	    (r = get_text(b, &comp, 16, 0)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (strcmp(comp, "zstd") == 0)
		m->compression = 1;
	else if (strcmp(comp, "none") != 0)
		goto out;
	if ((r = dcbor_get_key(b, "tenant_hash")) != 0 ||
	    (r = get_fixed(b, m->tenant_hash, sizeof(m->tenant_hash))) != 0 ||
	    (r = dcbor_get_key(b, "tenant_type")) != 0 ||
	    (r = get_text(b, &m->tenant_type, MANIFEST_MAX_NAME, 0)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (m->expires < m->created)
		goto out;
	r = 0;
 out:
	free(comp);
	return r;
}

int
manifest_decode_preamble(struct buf *in, struct manifest **out)
{
	struct manifest *m = NULL;
	int r;

	*out = NULL;
	if (buf_len(in) > MANIFEST_MAX_BYTES)
		return ERR_LIMIT;
	if ((m = manifest_new()) == NULL)
		return ERR_NOMEM;
	if ((r = decode_preamble(in, m)) != 0 ||
	    (r = buf_expect_end(in)) != 0) {
		manifest_free(m);
		return r;
	}
	*out = m;
	return 0;
}

int
manifest_decode(struct buf *in, struct manifest **out, const uint8_t **pre,
    size_t *pre_len)
{
	struct manifest *m = NULL;
	struct manifest_table *t;
	uint64_t n, i, nres;
	const uint8_t *start;
	size_t before;
	int r;

	*out = NULL;
	*pre = NULL;
	*pre_len = 0;
	if (buf_len(in) > MANIFEST_MAX_BYTES)
		return ERR_LIMIT;
	if ((m = manifest_new()) == NULL)
		return ERR_NOMEM;
	if ((r = get_count(in, 0, &n, 3)) != 0)
		goto out;
	r = ERR_MANIFEST;
	if (n != 3)
		goto out;
	if ((r = dcbor_get_key(in, "v")) != 0 ||
	    (r = dcbor_get_uint(in, &n)) != 0)
		goto out;
	if (n != MANIFEST_VERSION) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = dcbor_get_key(in, "results")) != 0 ||
	    (r = get_count(in, 1, &nres, MANIFEST_MAX_TABLES)) != 0)
		goto out;
	/* Results come before the preamble; park them in a scratch array. */
	t = calloc(nres ? nres : 1, sizeof(*t));
	if (t == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nres; i++) {
		if ((r = get_count(in, 0, &n, 4)) != 0)
			break;
		r = ERR_MANIFEST;
		if (n != 4)
			break;
		if ((r = dcbor_get_key(in, "root")) != 0 ||
		    (r = get_fixed(in, t[i].root, sizeof(t[i].root))) != 0 ||
		    (r = dcbor_get_key(in, "bytes")) != 0 ||
		    (r = dcbor_get_uint(in, &t[i].bytes)) != 0 ||
		    (r = dcbor_get_key(in, "parts")) != 0 ||
		    (r = dcbor_get_uint(in, &t[i].parts)) != 0 ||
		    (r = dcbor_get_key(in, "records")) != 0 ||
		    (r = dcbor_get_uint(in, &t[i].records)) != 0)
			break;
	}
	if (i == nres && (r = dcbor_get_key(in, "preamble")) == 0) {
		start = buf_ptr(in);
		before = buf_len(in);
		if ((r = decode_preamble(in, m)) == 0 &&
		    (r = buf_expect_end(in)) == 0) {
			*pre = start;
			*pre_len = before - buf_len(in);
			r = m->ntables == nres ? 0 : ERR_MANIFEST;
		}
	}
	for (i = 0; r == 0 && i < nres; i++) {
		m->tables[i].records = t[i].records;
		m->tables[i].parts = t[i].parts;
		m->tables[i].bytes = t[i].bytes;
		memcpy(m->tables[i].root, t[i].root, sizeof(t[i].root));
	}
	free(t);
	if (r != 0)
		goto out;
	*out = m;
	m = NULL;
	r = 0;
 out:
	if (r != 0) {
		*pre = NULL;
		*pre_len = 0;
	}
	manifest_free(m);
	return r;
}

/* The declared column types a tenant key of tenant_type may have. */
static int
tenant_column_type_ok(const char *tenant_type, const char *declared)
{
	struct coltype ct;

	coltype_parse(declared, &ct);
	if (ct.array)
		return 0;
	if (strcmp(tenant_type, "uuid") == 0)
		return ct.kind == COLTYPE_UUID;
	if (strcmp(tenant_type, "int2") == 0)
		return ct.kind == COLTYPE_INT2;
	if (strcmp(tenant_type, "int4") == 0)
		return ct.kind == COLTYPE_INT4;
	if (strcmp(tenant_type, "int8") == 0)
		return ct.kind == COLTYPE_INT8;
	if (strcmp(tenant_type, "text") == 0)
		return strcmp(declared, "text") == 0;
	if (strcmp(tenant_type, "varchar") == 0) {
		size_t i = 18;

		if (strcmp(declared, "character varying") == 0)
			return 1;
		if (strncmp(declared, "character varying(", 18) != 0)
			return 0;
		while (declared[i] >= '0' && declared[i] <= '9')
			i++;
		return i > 18 && strcmp(declared + i, ")") == 0;
	}
	return 0;
}

static int
check_table(const struct manifest *m, size_t i, enum rule *rule, char *why,
    size_t whylen)
{
	const struct manifest_table *t = &m->tables[i];
	size_t j, k;

	*rule = RULE_PREAMBLE;
	if (t->name[0] == '\0') {
		err_set(why, whylen, "table %zu has an empty name", i);
		return ERR_MANIFEST;
	}
	for (k = 0; k < i; k++)
		if (strcmp(m->tables[k].name, t->name) == 0) {
			err_set(why, whylen, "table \"%.80s\" is listed twice",
			    t->name);
			return ERR_MANIFEST;
		}
	for (j = 0; j < t->ncolumns; j++) {
		if (t->columns[j].name[0] == '\0' ||
		    t->columns[j].type[0] == '\0') {
			err_set(why, whylen, "table \"%.80s\" column %zu has an "
			    "empty name or type", t->name, j);
			return ERR_MANIFEST;
		}
		for (k = 0; k < j; k++)
			if (strcmp(t->columns[k].name, t->columns[j].name) == 0) {
				err_set(why, whylen, "table \"%.80s\" lists "
				    "column \"%.80s\" twice", t->name,
				    t->columns[j].name);
				return ERR_MANIFEST;
			}
	}
	if (t->tenant_column < 0) {
		if (m->include_global)
			return 0;
		*rule = RULE_GLOBAL_FLAG;
		err_set(why, whylen, "table \"%.80s\" is global (no tenant "
		    "column) but global tables were not requested", t->name);
		return ERR_MANIFEST;
	}
	if (!tenant_column_type_ok(m->tenant_type,
	    t->columns[t->tenant_column].type)) {
		err_set(why, whylen, "table \"%.80s\": tenant column type "
		    "\"%.80s\" is not a %s", t->name,
		    t->columns[t->tenant_column].type, m->tenant_type);
		return ERR_MANIFEST;
	}
	return 0;
}

/* A path column's declared type: text or character varying[(N)]. */
static int
path_type_ok(const char *declared)
{
	return strcmp(declared, "text") == 0 ||
	    tenant_column_type_ok("varchar", declared);
}

/* The "files" key names a tenant table and a text column of it other
 * than its tenant column. */
static int
check_files(const struct manifest *m, char *why, size_t whylen)
{
	const struct manifest_table *t;

	if (!m->has_files)
		return 0;
	if (m->files_table >= m->ntables) {
		err_set(why, whylen, "files: table %llu does not exist",
		    (unsigned long long)m->files_table);
		return ERR_MANIFEST;
	}
	t = &m->tables[m->files_table];
	if (t->tenant_column < 0 || m->files_path >= t->ncolumns ||
	    (int64_t)m->files_path == t->tenant_column ||
	    !path_type_ok(t->columns[m->files_path].type)) {
		err_set(why, whylen, "files: table \"%.80s\" column %llu is "
		    "not a text column of a tenant table other than its "
		    "tenant column", t->name,
		    (unsigned long long)m->files_path);
		return ERR_MANIFEST;
	}
	return 0;
}

int
manifest_check(const struct manifest *m, enum rule *rule, char *why,
    size_t whylen)
{
	static const char *const types[] = { "uuid", "text", "varchar",
	    "int2", "int4", "int8" };
	size_t i;
	int r;

	*rule = RULE_PREAMBLE;
	err_set(why, whylen, "%s", "");
	for (i = 0; m->tenant_type != NULL &&
	    i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(m->tenant_type, types[i]) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		err_set(why, whylen, "tenant type \"%.40s\" is not one of uuid, "
		    "text, varchar, int2, int4, int8", m->tenant_type ?
		    m->tenant_type : "");
		return ERR_MANIFEST;
	}
	if (m->ntables == 0) {
		err_set(why, whylen, "no table");
		return ERR_MANIFEST;
	}
	if (m->part_bytes == 0 || m->part_bytes > MANIFEST_MAX_PART_BYTES) {
		err_set(why, whylen, "part_bytes %llu is not within 1..%u",
		    (unsigned long long)m->part_bytes, MANIFEST_MAX_PART_BYTES);
		return ERR_MANIFEST;
	}
	if (m->created > TAR_OCTAL_MAX) {
		err_set(why, whylen, "created is past what a tar mtime holds");
		return ERR_MANIFEST;
	}
	for (i = 0; i < m->ntables; i++)
		if ((r = check_table(m, i, rule, why, whylen)) != 0)
			return r;
	return check_files(m, why, whylen);
}

int
manifest_is_files_table(const struct manifest *m, size_t t)
{
	return m->has_files && m->files_table == (uint64_t)t;
}

void
manifest_digest(const uint8_t *p, size_t len, uint8_t out[EVIDENCE_HASH_LEN])
{
	b2b_hash(out, EVIDENCE_HASH_LEN, p, len, NULL, 0);
}
