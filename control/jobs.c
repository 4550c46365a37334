/*
 * jobs.c: job records in texp_control.jobs, and the archive files a job
 * published. The access decisions are in jobs_access.c.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "jobs.h"
#include "outbox.h"

static const char *const state_names[] = {
	NULL, "queued", "awaiting_approval", "running", "ready", "failed",
	"cancelled", "expired", "superseded",
};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *
jobs_state_str(enum jobs_state s)
{
	if ((size_t)s >= 1 && (size_t)s < NSTATES)
		return state_names[s];
	return "unknown";
}

int
jobs_state_parse(const char *s, enum jobs_state *out)
{
	size_t i;

	for (i = 1; i < NSTATES; i++)
		if (s != NULL && strcmp(s, state_names[i]) == 0) {
			*out = (enum jobs_state)i;
			return 0;
		}
	return ERR_FORMAT;
}

void
jobs_id_new(uint8_t id[JOBS_ID_LEN])
{
	randombytes_buf(id, JOBS_ID_LEN);
}

static void
hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 2 * JOBS_LEASE_LEN hex digits at s (not NUL-terminated): 1 when
 * decoded into out. */
static int
hex_decode_prefix(const char *s, uint8_t out[JOBS_LEASE_LEN])
{
	size_t i;
	int hi, lo;

	for (i = 0; i < JOBS_LEASE_LEN; i++) {
		if ((hi = hex_val(s[2 * i])) < 0 ||
		    (lo = hex_val(s[2 * i + 1])) < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

static int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (s == NULL || strlen(s) != 2 * n)
		return ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if ((hi = hex_val(s[2 * i])) < 0 ||
		    (lo = hex_val(s[2 * i + 1])) < 0)
			return ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
jobs_id_hex(const uint8_t id[JOBS_ID_LEN], char out[JOBS_ID_HEX])
{
	hex_encode(id, JOBS_ID_LEN, out);
}

int
jobs_id_parse(const char *hex, uint8_t id[JOBS_ID_LEN])
{
	int r = hex_decode(hex, id, JOBS_ID_LEN);

	if (r != 0)
		memset(id, 0, JOBS_ID_LEN);
	return r;
}

void
jobs_id_hash(const uint8_t id[JOBS_ID_LEN], uint8_t out[JOBS_HASH_LEN])
{
	crypto_hash_sha256(out, id, JOBS_ID_LEN);
}

void
jobs_ref(const uint8_t hash[JOBS_HASH_LEN], char out[JOBS_REF_HEX])
{
	hex_encode(hash, JOBS_ID_LEN, out);
}

void
jobs_hash_hex(const uint8_t id_hash[JOBS_HASH_LEN], char out[65])
{
	hex_encode(id_hash, JOBS_HASH_LEN, out);
}

int
jobs_hash_parse(const char *hex, uint8_t id_hash[JOBS_HASH_LEN])
{
	size_t i;
	int r;

	/* lower case only: one spelling per job */
	for (i = 0; hex != NULL && hex[i] != '\0'; i++)
		if (hex[i] >= 'A' && hex[i] <= 'F')
			return ERR_FORMAT;
	if ((r = hex_decode(hex, id_hash, JOBS_HASH_LEN)) != 0)
		memset(id_hash, 0, JOBS_HASH_LEN);
	return r;
}

/* n digits at s, value in [lo, hi]. */
static int
digits(const char *s, size_t n, int lo, int hi)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

int
jobs_time_valid(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) < 10 || n > 40)
		return 0;
	if (!digits(s, 4, 1, 9999) || s[4] != '-' || !digits(s + 5, 2, 1, 12) ||
	    s[7] != '-' || !digits(s + 8, 2, 1, 31))
		return 0;
	s += 10;
	if (*s == '\0')
		return 1;
	if ((*s != 'T' && *s != ' ') || !digits(s + 1, 2, 0, 23) ||
	    s[3] != ':' || !digits(s + 4, 2, 0, 59))
		return 0;
	s += 6;
	if (*s == ':') {
		if (!digits(s + 1, 2, 0, 60))
			return 0;
		s += 3;
		if (*s == '.') {
			s++;
			if (*s < '0' || *s > '9')
				return 0;
			while (*s >= '0' && *s <= '9')
				s++;
		}
	}
	if (*s == 'Z')
		return s[1] == '\0';
	if (*s == '+' || *s == '-')
		return digits(s + 1, 2, 0, 14) && s[3] == ':' &&
		    digits(s + 4, 2, 0, 59) && s[6] == '\0';
	return *s == '\0';
}

/* bytea parameter in text form: "\x" and hex. */
static void
bytea_param(const uint8_t *p, size_t n, char *out)
{
	out[0] = '\\';
	out[1] = 'x';
	hex_encode(p, n, out + 2);
}

/*
 * Scopes.
 */

void
jobs_scope_clear(struct jobs_scope *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ntables; i++)
		free(s->tables[i]);
	free(s->tables);
	free(s->since);
	free(s->until);
	memset(s, 0, sizeof(*s));
}

int
jobs_scope_json(const struct jobs_scope *s, char **out)
{
	json_t *o = json_object(), *t = json_array();
	size_t i;
	int r = ERR_NOMEM;

	*out = NULL;
	if (o == NULL || t == NULL)
		goto out;
	for (i = 0; i < s->ntables; i++)
		if (json_array_append_new(t, json_string(s->tables[i])) != 0)
			goto out;
	if (json_object_set(o, "tables", t) != 0 ||
	    json_object_set_new(o, "since", s->since ?
	    json_string(s->since) : json_null()) != 0 ||
	    json_object_set_new(o, "until", s->until ?
	    json_string(s->until) : json_null()) != 0 ||
	    json_object_set_new(o, "include_global",
	    json_boolean(s->include_global)) != 0 ||
	    json_object_set_new(o, "pii", json_boolean(s->pii)) != 0 ||
	    (s->include_files &&
	    json_object_set_new(o, "files", json_true()) != 0))
		goto out;
	if ((*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	r = 0;
 out:
	json_decref(t);
	json_decref(o);
	return r;
}

static int
dup_opt(json_t *v, char **dst)
{
	*dst = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return ERR_FORMAT;
	return (*dst = strdup(json_string_value(v))) ? 0 : ERR_NOMEM;
}

int
jobs_scope_from_json(const char *js, struct jobs_scope *s)
{
	json_error_t je;
	json_t *o, *t, *v;
	size_t i;
	int r = ERR_FORMAT;

	memset(s, 0, sizeof(*s));
	if ((o = json_loads(js, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return ERR_FORMAT;
	if (!json_is_object(o) || !json_is_array(t = json_object_get(o,
	    "tables")) || json_array_size(t) > CONFIG_MAX_TABLES)
		goto out;
	if (json_array_size(t) > 0 &&
	    (s->tables = calloc(json_array_size(t), sizeof(char *))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	json_array_foreach(t, i, v) {
		if (!json_is_string(v))
			goto out;
		if ((s->tables[i] = strdup(json_string_value(v))) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		s->ntables++;
	}
	if ((r = dup_opt(json_object_get(o, "since"), &s->since)) != 0 ||
	    (r = dup_opt(json_object_get(o, "until"), &s->until)) != 0)
		goto out;
	r = ERR_FORMAT;
	if (!json_is_boolean(v = json_object_get(o, "include_global")))
		goto out;
	s->include_global = json_is_true(v);
	if (!json_is_boolean(v = json_object_get(o, "pii")))
		goto out;
	s->pii = json_is_true(v);
	/* absent in scopes written before files existed: none */
	if ((v = json_object_get(o, "files")) != NULL && !json_is_true(v))
		goto out;
	s->include_files = v != NULL;
	r = 0;
 out:
	if (r != 0)
		jobs_scope_clear(s);
	json_decref(o);
	return r;
}

static int
table_in(char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

int
jobs_scope_build(const struct config *cfg, const char *tables,
    const char *since, const char *until, int include_global,
    struct jobs_scope *s, int *high_risk, char *err, size_t errlen)
{
	const struct config_control *k = config_control(cfg);
	const struct config_table *t;
	char full[IDENT_QNAME_MAX], q[IDENT_QNAME_MAX];
	char sch[IDENT_MAX + 1], tbl[IDENT_MAX + 1];
	struct buf *lb = NULL;
	const char *why = "";
	char **nl;
	size_t i, n = config_table_count(cfg);
	int r = ERR_NOMEM, listed;

	memset(s, 0, sizeof(*s));
	*high_risk = 0;
	s->include_global = include_global;
	if ((since != NULL && since[0] != '\0' && !jobs_time_valid(since)) ||
	    (until != NULL && until[0] != '\0' && !jobs_time_valid(until))) {
		snprintf(err, errlen, "the date window must be dates or times "
		    "like 2026-01-31 or 2026-01-31T12:00:00Z");
		return ERR_USAGE;
	}
	if ((since != NULL && since[0] != '\0' &&
	    (s->since = strdup(since)) == NULL) ||
	    (until != NULL && until[0] != '\0' &&
	    (s->until = strdup(until)) == NULL))
		goto out;
	if (tables != NULL && tables[0] != '\0') {
		/* Names as PostgreSQL writes them (crm."Order Items"), kept
		 * in canonical form so that they compare exactly. */
		if ((lb = buf_from(tables, strlen(tables))) == NULL)
			goto out;
		while ((r = ident_qlist_next(lb, sch, tbl, &why)) == 0) {
			if (ident_qualify(q, sizeof(q), sch, tbl) != 0) {
				r = ERR_USAGE;
				snprintf(err, errlen, "table name too long");
				goto out;
			}
			if (table_in(s->tables, s->ntables, q))
				continue;
			if (s->ntables >= CONFIG_MAX_TABLES) {
				r = ERR_USAGE;
				snprintf(err, errlen, "too many tables");
				goto out;
			}
			r = ERR_NOMEM;
			if ((nl = reallocarray(s->tables, s->ntables + 1,
			    sizeof(*nl))) == NULL)
				goto out;
			s->tables = nl;
			if ((nl[s->ntables] = strdup(q)) == NULL)
				goto out;
			s->ntables++;
		}
		if (r != ERR_NOENT) {
			if (r != ERR_NOMEM) {
				r = ERR_USAGE;
				snprintf(err, errlen, "--tables: %s", why);
			}
			goto out;
		}
		r = ERR_NOMEM;
	}
	/* Every named table must be configured and exportable. */
	for (i = 0; i < s->ntables; i++) {
		size_t k2;

		for (k2 = 0; k2 < n; k2++) {
			t = config_table_at(cfg, k2);
			(void)config_table_qname(t, full, sizeof(full));
			if (strcmp(full, s->tables[i]) == 0)
				break;
		}
		r = ERR_USAGE;
		if (k2 == n) {
			snprintf(err, errlen, "table \"%.100s\" is not in the "
			    "configuration", s->tables[i]);
			goto out;
		}
		if (t->cls == CONFIG_CLASS_EXCLUDED) {
			snprintf(err, errlen, "table \"%.100s\" is classified "
			    "excluded and is never exported", s->tables[i]);
			goto out;
		}
		if (t->cls == CONFIG_CLASS_GLOBAL && !include_global) {
			snprintf(err, errlen, "table \"%.100s\" is global "
			    "reference data: add --include-global",
			    s->tables[i]);
			goto out;
		}
	}
	/* PII and listed tables among those the export would read. */
	for (i = 0; i < n; i++) {
		t = config_table_at(cfg, i);
		if (t->cls == CONFIG_CLASS_EXCLUDED ||
		    (t->cls == CONFIG_CLASS_GLOBAL && !include_global))
			continue;
		(void)config_table_qname(t, full, sizeof(full));
		listed = s->ntables == 0 || table_in(s->tables, s->ntables,
		    full);
		if (!listed)
			continue;
		if (t->pii)
			s->pii = 1;
		if (table_in(k->high_risk_tables, k->nhigh_risk_tables, full))
			*high_risk = 1;
	}
	if ((s->pii && k->high_risk_pii) ||
	    (s->ntables == 0 && k->high_risk_whole_tenant))
		*high_risk = 1;
	r = 0;
 out:
	buf_free(lb);
	if (r != 0)
		jobs_scope_clear(s);
	return r;
}

/*
 * Records.
 */

void
jobs_free(struct jobs_job *j)
{
	if (j == NULL)
		return;
	free(j->tenant);
	jobs_scope_clear(&j->scope);
	free(j->scope_json);
	free(j->requested_name);
	free(j->approved_name);
	free(j->fetched_name);
	free(j->archive);
	free(j->error);
	free(j->lease_holder);
	free(j);
}

void
jobs_list_free(struct jobs_job **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		jobs_free(v[i]);
	free(v);
}

#define JOB_COLUMNS \
	"encode(j.id_hash, 'hex'), j.tenant, j.scope::text, j.state, " \
	"j.high_risk, j.requested_by, coalesce(j.approved_by, 0), " \
	"rp.name, ap.name, " \
	"(SELECT a.principal FROM texp_control.audit_log a " \
	"  WHERE a.event = 'export.fetched' " \
	"  AND a.job IN (substr(encode(j.id_hash, 'hex'), 1, 32), " \
	"    substr(encode(j.id_hash, 'hex'), 1, 16)) " \
	"  ORDER BY a.seq DESC LIMIT 1), " \
	"coalesce(extract(epoch FROM j.created_at)::bigint, 0), " \
	"coalesce(extract(epoch FROM j.updated_at)::bigint, 0), " \
	"coalesce(extract(epoch FROM j.started_at)::bigint, 0), " \
	"coalesce(extract(epoch FROM j.finished_at)::bigint, 0), " \
	"coalesce(extract(epoch FROM j.expires_at)::bigint, 0), " \
	"j.archive, encode(j.manifest_digest, 'hex'), j.fetch_count, " \
	"j.max_fetches, j.attempts, j.error, encode(j.lease, 'hex'), " \
	"j.lease_holder, " \
	"coalesce(extract(epoch FROM j.heartbeat_at)::bigint, 0), " \
	"coalesce(extract(epoch FROM j.not_before)::bigint, 0), " \
	"encode(j.retry_of, 'hex'), encode(j.superseded_by, 'hex') " \
	"FROM texp_control.jobs j " \
	"JOIN texp_control.principals rp ON rp.id = j.requested_by " \
	"LEFT JOIN texp_control.principals ap ON ap.id = j.approved_by "

static char *
opt_str(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return strdup(PQgetvalue(res, row, col));
}

static int64_t
get_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 :
	    strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int
job_from_row(const PGresult *res, int row, struct jobs_job **out)
{
	struct jobs_job *j;
	int r = ERR_NOMEM;

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ERR_NOMEM;
	if (hex_decode(PQgetvalue(res, row, 0), j->id_hash, JOBS_HASH_LEN)) {
		r = ERR_DB;
		goto out;
	}
	jobs_ref(j->id_hash, j->ref);
	if ((j->tenant = strdup(PQgetvalue(res, row, 1))) == NULL ||
	    (j->scope_json = strdup(PQgetvalue(res, row, 2))) == NULL)
		goto out;
	if ((r = jobs_scope_from_json(j->scope_json, &j->scope)) != 0 ||
	    (r = jobs_state_parse(PQgetvalue(res, row, 3), &j->state)) != 0) {
		r = r == ERR_NOMEM ? r : ERR_DB;
		goto out;
	}
	r = ERR_NOMEM;
	j->high_risk = PQgetvalue(res, row, 4)[0] == 't';
	j->requested_by = get_i64(res, row, 5);
	j->approved_by = get_i64(res, row, 6);
	j->requested_name = opt_str(res, row, 7);
	j->approved_name = opt_str(res, row, 8);
	j->fetched_name = opt_str(res, row, 9);
	j->created_at = get_i64(res, row, 10);
	j->updated_at = get_i64(res, row, 11);
	j->started_at = get_i64(res, row, 12);
	j->finished_at = get_i64(res, row, 13);
	j->expires_at = get_i64(res, row, 14);
	j->archive = opt_str(res, row, 15);
	if (!PQgetisnull(res, row, 16) && hex_decode(PQgetvalue(res, row, 16),
	    j->manifest_digest, sizeof(j->manifest_digest)) == 0)
		j->has_digest = 1;
	j->fetch_count = (int)get_i64(res, row, 17);
	j->max_fetches = (int)get_i64(res, row, 18);
	j->attempts = (int)get_i64(res, row, 19);
	j->error = opt_str(res, row, 20);
	j->has_lease = !PQgetisnull(res, row, 21) && hex_decode(
	    PQgetvalue(res, row, 21), j->lease, JOBS_LEASE_LEN) == 0;
	j->lease_holder = opt_str(res, row, 22);
	j->heartbeat_at = get_i64(res, row, 23);
	j->not_before = get_i64(res, row, 24);
	j->has_retry_of = !PQgetisnull(res, row, 25) && hex_decode(
	    PQgetvalue(res, row, 25), j->retry_of, JOBS_HASH_LEN) == 0;
	j->has_superseded_by = !PQgetisnull(res, row, 26) && hex_decode(
	    PQgetvalue(res, row, 26), j->superseded_by, JOBS_HASH_LEN) == 0;
	*out = j;
	j = NULL;
	r = 0;
 out:
	jobs_free(j);
	return r;
}

static void
db_err(PGconn *c, char *err, size_t errlen)
{
	const char *m = PQerrorMessage(c);
	size_t n;

	if (err == NULL || errlen == 0)
		return;
	snprintf(err, errlen, "%s", m ? m : "database error");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

int
jobs_create(PGconn *c, const struct jobs_new *n, char *err, size_t errlen)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], by[32], exp[32], mf[16];
	char idem[32 + 1 + 2 * 32 + 1], rd[2 + 64 + 1], ro[2 + 64 + 1];
	uint8_t ih[32];
	const char *p[13];
	char *sj = NULL, *rcpt = NULL;
	json_t *ra = NULL;
	PGresult *res = NULL;
	const char *code;
	size_t i;
	int r;

	if ((r = jobs_scope_json(n->scope, &sj)) != 0)
		return r;
	r = ERR_NOMEM;
	/* recipients as a PostgreSQL array literal, built from JSON so that
	 * no value needs quoting by hand */
	if ((ra = json_array()) == NULL)
		goto out;
	for (i = 0; i < n->nrecipients; i++)
		if (json_array_append_new(ra, json_string(n->recipients[i])))
			goto out;
	if ((rcpt = json_dumps(ra, JSON_COMPACT)) == NULL)
		goto out;
	bytea_param(n->id_hash, JOBS_HASH_LEN, hb);
	bytea_param(n->request_digest, 32, rd);
	snprintf(by, sizeof(by), "%" PRId64, n->requested_by);
	snprintf(exp, sizeof(exp), "%" PRIu64, n->expires_in);
	snprintf(mf, sizeof(mf), "%d", n->max_fetches);
	if (n->idem_key != NULL && n->idem_key[0] != '\0') {
		crypto_hash_sha256(ih, (const uint8_t *)n->idem_key,
		    strlen(n->idem_key));
		snprintf(idem, sizeof(idem), "%" PRId64 ":", n->requested_by);
		hex_encode(ih, sizeof(ih), idem + strlen(idem));
	}
	p[0] = hb;
	p[1] = n->tenant;
	p[2] = sj;
	p[3] = jobs_state_str(n->state);
	p[4] = n->high_risk ? "true" : "false";
	p[5] = by;
	p[6] = exp;
	p[7] = mf;
	p[8] = n->idem_key != NULL && n->idem_key[0] != '\0' ? idem : NULL;
	p[9] = rd;
	p[10] = rcpt;
	p[11] = n->passphrase ? "true" : "false";
	if (n->retry_of != NULL)
		bytea_param(n->retry_of, JOBS_HASH_LEN, ro);
	p[12] = n->retry_of != NULL ? ro : NULL;
	res = PQexecParams(c,
	    "INSERT INTO texp_control.jobs (id_hash, tenant, scope, "
	    "state, high_risk, requested_by, expires_at, max_fetches, "
	    "idempotency_key, request_digest, recipients, passphrase, "
	    "retry_of) "
	    "VALUES ($1::bytea, $2, $3::jsonb, $4, $5::boolean, $6::bigint, "
	    "now() + make_interval(secs => $7::bigint), $8::int, $9, "
	    "$10::bytea, ARRAY(SELECT jsonb_array_elements_text($11::jsonb)), "
	    "$12::boolean, $13::bytea)", 13, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		db_err(c, err, errlen);
		r = code != NULL && strcmp(code, "23505") == 0 ? ERR_EXISTS :
		    ERR_DB;
		goto out;
	}
	r = 0;
 out:
	PQclear(res);
	json_decref(ra);
	free(rcpt);
	free(sj);
	return r;
}

static int
get_one(PGconn *c, const char *sql, int np, const char *const *p,
    struct jobs_job **out)
{
	PGresult *res = PQexecParams(c, sql, np, NULL, p, NULL, NULL, 0);
	int r;

	*out = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = ERR_DB;
	else if (PQntuples(res) != 1)
		r = ERR_NOENT;
	else
		r = job_from_row(res, 0, out);
	PQclear(res);
	return r;
}

int
jobs_get(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    struct jobs_job **out)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[1] = { hb };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	return get_one(c, "SELECT " JOB_COLUMNS "WHERE j.id_hash = $1::bytea",
	    1, p, out);
}

int
jobs_get_by_idem(PGconn *c, int64_t principal, const char *idem_key,
    struct jobs_job **out)
{
	char idem[32 + 1 + 2 * 32 + 1];
	uint8_t ih[32];
	const char *p[1] = { idem };

	crypto_hash_sha256(ih, (const uint8_t *)idem_key, strlen(idem_key));
	snprintf(idem, sizeof(idem), "%" PRId64 ":", principal);
	hex_encode(ih, sizeof(ih), idem + strlen(idem));
	return get_one(c, "SELECT " JOB_COLUMNS "WHERE j.idempotency_key = $1",
	    1, p, out);
}

static int
get_many(PGconn *c, const char *sql, int np, const char *const *p,
    struct jobs_job ***out, size_t *n)
{
	PGresult *res = PQexecParams(c, sql, np, NULL, p, NULL, NULL, 0);
	struct jobs_job **v = NULL;
	int i, rows, r;

	*out = NULL;
	*n = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = ERR_DB;
		goto out;
	}
	rows = PQntuples(res);
	if ((v = calloc(rows ? (size_t)rows : 1, sizeof(*v))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < rows; i++)
		if ((r = job_from_row(res, i, &v[i])) != 0) {
			jobs_list_free(v, (size_t)i);
			goto out;
		}
	*out = v;
	*n = (size_t)rows;
	r = 0;
 out:
	PQclear(res);
	return r;
}

int
jobs_list(PGconn *c, int64_t principal, const char *tenant, size_t limit,
    struct jobs_job ***out, size_t *n)
{
	char pid[32], lim[32];
	const char *p[3] = { pid, lim, tenant };

	snprintf(pid, sizeof(pid), "%" PRId64, principal);
	snprintf(lim, sizeof(lim), "%zu", limit);
	return get_many(c, "SELECT " JOB_COLUMNS
	    "WHERE j.tenant IN (SELECT s.tenant FROM texp_control.assignments s "
	    "  WHERE s.principal_id = $1::bigint) "
	    "AND ($3::text IS NULL OR j.tenant = $3) "
	    "ORDER BY j.created_at DESC, j.id_hash LIMIT $2::bigint", 3, p,
	    out, n);
}

int
jobs_list_all(PGconn *c, struct jobs_job ***out, size_t *n)
{
	return get_many(c, "SELECT " JOB_COLUMNS, 0, NULL, out, n);
}

int
jobs_list_expired(PGconn *c, size_t limit, struct jobs_job ***out,
    size_t *n)
{
	char lim[32];
	const char *p[1] = { lim };

	snprintf(lim, sizeof(lim), "%zu", limit);
	return get_many(c, "SELECT " JOB_COLUMNS
	    "WHERE j.state IN ('queued', 'awaiting_approval', 'ready', "
	    "'failed', 'running') AND j.expires_at <= now() "
	    "ORDER BY j.expires_at LIMIT $1::bigint", 1, p, out, n);
}

/* Runs an UPDATE expected to touch exactly one row: ERR_EXISTS if none. */
static int
update_one(PGconn *c, const char *sql, int np, const char *const *p)
{
	PGresult *res = PQexecParams(c, sql, np, NULL, p, NULL, NULL, 0);
	int r;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = ERR_DB;
	else if (strcmp(PQcmdTuples(res), "1") != 0)
		r = ERR_EXISTS;
	else
		r = 0;
	PQclear(res);
	return r;
}

int
jobs_transition(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    enum jobs_state from, enum jobs_state to, const char *error)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[4] = { hb, jobs_state_str(from), jobs_state_str(to),
	    error };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	/* Leaving running ends the lease. */
	return update_one(c, "UPDATE texp_control.jobs SET state = $3, "
	    "updated_at = now(), error = coalesce($4, error), "
	    "finished_at = CASE WHEN $3 IN ('failed', 'cancelled', 'expired') "
	    "  THEN now() ELSE finished_at END, "
	    "lease = NULL, lease_holder = NULL, heartbeat_at = NULL "
	    "WHERE id_hash = $1::bytea AND state = $2", 4, p);
}

int
jobs_set_approved(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    int64_t approver)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], ap[32];
	const char *p[2] = { hb, ap };
	int r;

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	snprintf(ap, sizeof(ap), "%" PRId64, approver);
	r = update_one(c, "UPDATE texp_control.jobs SET state = 'queued', "
	    "approved_by = $2::bigint, updated_at = now() "
	    "WHERE id_hash = $1::bytea AND state = 'awaiting_approval' "
	    "AND requested_by <> $2::bigint", 2, p);
	return r;
}

int
jobs_claim(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    int max_attempts, const uint8_t lease[JOBS_LEASE_LEN],
    const char *holder, struct jobs_job **out)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], lb[2 + 2 * JOBS_LEASE_LEN + 1];
	const char *p[3] = { hb, lb, holder };
	PGresult *res = NULL;
	struct jobs_job *j = NULL;
	int r = ERR_DB, began = 0, own;

	if (out != NULL)
		*out = NULL;
	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	bytea_param(lease, JOBS_LEASE_LEN, lb);
	own = PQtransactionStatus(c) == PQTRANS_IDLE;
	if (own) {
		res = PQexec(c, "BEGIN");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto out;
		began = 1;
		PQclear(res);
		res = NULL;
	}
	/* A worker that holds the row is running it; the next one skips. */
	res = PQexecParams(c, "SELECT j.attempts FROM texp_control.jobs j "
	    "WHERE j.id_hash = $1::bytea AND j.state = 'queued' "
	    "FOR UPDATE SKIP LOCKED", 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto out;
	if (PQntuples(res) != 1) {
		r = ERR_EXISTS;
		goto out;
	}
	if (atoi(PQgetvalue(res, 0, 0)) >= max_attempts) {
		PQclear(res);
		res = PQexecParams(c, "UPDATE texp_control.jobs SET state = "
		    "'failed', updated_at = now(), finished_at = now(), "
		    "error = 'too many attempts' WHERE id_hash = $1::bytea",
		    1, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto out;
		if (own) {
			PQclear(res);
			res = PQexec(c, "COMMIT");
			began = PQresultStatus(res) != PGRES_COMMAND_OK;
		}
		r = began ? ERR_DB : ERR_LIMIT;
		goto out;
	}
	PQclear(res);
	res = PQexecParams(c, "UPDATE texp_control.jobs SET state = 'running', "
	    "attempts = attempts + 1, started_at = now(), updated_at = now(), "
	    "error = NULL, lease = $2::bytea, lease_holder = $3, "
	    "heartbeat_at = now(), not_before = NULL "
	    "WHERE id_hash = $1::bytea", 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	if (own) {
		PQclear(res);
		res = PQexec(c, "COMMIT");
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			goto out;
		began = 0;
	}
	if (out != NULL && (r = jobs_get(c, id_hash, &j)) != 0)
		goto out;
	if (out != NULL) {
		*out = j;
		j = NULL;
	}
	r = 0;
 out:
	PQclear(res);
	if (began) {
		res = PQexec(c, "ROLLBACK");
		PQclear(res);
	}
	jobs_free(j);
	return r;
}

int
jobs_beat(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    const uint8_t lease[JOBS_LEASE_LEN], enum jobs_state *state)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], lb[2 + 2 * JOBS_LEASE_LEN + 1];
	const char *p[2] = { hb, lb };
	PGresult *res;
	int r;

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	bytea_param(lease, JOBS_LEASE_LEN, lb);
	res = PQexecParams(c, "WITH u AS (UPDATE texp_control.jobs SET "
	    "heartbeat_at = now() WHERE id_hash = $1::bytea "
	    "AND state = 'running' AND lease = $2::bytea RETURNING 1) "
	    "SELECT (SELECT count(*) FROM u), j.state "
	    "FROM texp_control.jobs j WHERE j.id_hash = $1::bytea",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = ERR_DB;
	else if (PQntuples(res) != 1)
		r = ERR_NOENT;
	else {
		r = strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? 0 : ERR_EXISTS;
		if (state != NULL && jobs_state_parse(PQgetvalue(res, 0, 1),
		    state) != 0)
			*state = 0;
	}
	PQclear(res);
	return r;
}

int
jobs_list_stale(PGconn *c, uint64_t timeout, size_t limit,
    struct jobs_job ***out, size_t *n)
{
	char to[32], lim[32];
	const char *p[2] = { to, lim };

	snprintf(to, sizeof(to), "%" PRIu64, timeout);
	snprintf(lim, sizeof(lim), "%zu", limit);
	return get_many(c, "SELECT " JOB_COLUMNS
	    "WHERE j.state = 'running' AND coalesce(j.heartbeat_at, "
	    "j.started_at, j.updated_at) < now() - make_interval(secs => "
	    "$1::bigint) ORDER BY j.heartbeat_at NULLS FIRST, j.id_hash "
	    "LIMIT $2::bigint FOR UPDATE OF j SKIP LOCKED", 2, p, out, n);
}

int
jobs_any_claimable(PGconn *c, int *yes)
{
	PGresult *res = PQexec(c, "SELECT EXISTS (SELECT 1 FROM "
	    "texp_control.jobs WHERE state = 'queued' AND (not_before IS NULL "
	    "OR not_before <= now()))");
	int r = 0;

	*yes = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		r = ERR_DB;
	else
		*yes = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return r;
}

int
jobs_list_claimable(PGconn *c, size_t limit, struct jobs_job ***out,
    size_t *n)
{
	char lim[32];
	const char *p[1] = { lim };

	snprintf(lim, sizeof(lim), "%zu", limit);
	return get_many(c, "SELECT " JOB_COLUMNS
	    "WHERE j.state = 'queued' AND (j.not_before IS NULL OR "
	    "j.not_before <= now()) ORDER BY j.created_at, j.id_hash "
	    "LIMIT $1::bigint FOR UPDATE OF j SKIP LOCKED", 1, p, out, n);
}

int
jobs_requeue(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN])
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[1] = { hb };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	return update_one(c, "UPDATE texp_control.jobs SET state = 'queued', "
	    "attempts = 0, error = NULL, not_before = NULL, finished_at = NULL, "
	    "updated_at = now() WHERE id_hash = $1::bytea AND state = 'failed'",
	    1, p);
}

int
jobs_set_backoff(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    uint64_t seconds)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], sec[32];
	const char *p[2] = { hb, sec };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	snprintf(sec, sizeof(sec), "%" PRIu64, seconds);
	return update_one(c, "UPDATE texp_control.jobs SET not_before = now() "
	    "+ make_interval(secs => $2::bigint) WHERE id_hash = $1::bytea "
	    "AND state = 'queued'", 2, p);
}

int
jobs_give_back(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN])
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[1] = { hb };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	return update_one(c, "UPDATE texp_control.jobs SET attempts = "
	    "attempts - 1 WHERE id_hash = $1::bytea AND attempts > 0", 1, p);
}

int
jobs_set_superseded(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    enum jobs_state from, const uint8_t by[JOBS_HASH_LEN])
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], bb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[3] = { hb, jobs_state_str(from), bb };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	bytea_param(by, JOBS_HASH_LEN, bb);
	return update_one(c, "UPDATE texp_control.jobs SET state = "
	    "'superseded', superseded_by = $3::bytea, updated_at = now() "
	    "WHERE id_hash = $1::bytea AND state = $2", 3, p);
}

int
jobs_count_running(PGconn *c, const char *tenant, size_t *n)
{
	const char *p[1] = { tenant };
	PGresult *res = PQexecParams(c, "SELECT count(*) FROM "
	    "texp_control.jobs WHERE state = 'running' AND ($1::text IS NULL "
	    "OR tenant = $1)", 1, NULL, p, NULL, NULL, 0);
	int r = ERR_DB;

	*n = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*n = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		r = 0;
	}
	PQclear(res);
	return r;
}

int
jobs_set_ready(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    const char *archive, const uint8_t digest[32], const uint8_t *receipt,
    size_t receipt_len, uint64_t expires)
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1], db[2 + 64 + 1], ex[32];
	char *rb = NULL;
	const char *p[5];
	int r;

	if ((rb = malloc(2 + 2 * receipt_len + 1)) == NULL)
		return ERR_NOMEM;
	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	bytea_param(digest, 32, db);
	bytea_param(receipt, receipt_len, rb);
	snprintf(ex, sizeof(ex), "%" PRIu64, expires);
	p[0] = hb;
	p[1] = archive;
	p[2] = db;
	p[3] = rb;
	p[4] = ex;
	r = update_one(c, "UPDATE texp_control.jobs SET state = 'ready', "
	    "archive = $2, manifest_digest = $3::bytea, receipt = $4::bytea, "
	    "expires_at = to_timestamp($5::bigint), finished_at = now(), "
	    "updated_at = now(), error = NULL, lease = NULL, "
	    "lease_holder = NULL, heartbeat_at = NULL "
	    "WHERE id_hash = $1::bytea AND state = 'running'", 5, p);
	free(rb);
	return r;
}

int
jobs_count_fetch(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN])
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[1] = { hb };
	PGresult *res;
	int r;

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	/* One statement: two fetches racing for the last download cannot
	 * both get it. The reason for a refusal is read from the same row. */
	res = PQexecParams(c, "WITH u AS (UPDATE texp_control.jobs SET "
	    "fetch_count = fetch_count + 1, updated_at = now() "
	    "WHERE id_hash = $1::bytea AND state = 'ready' "
	    "AND expires_at > now() AND fetch_count < max_fetches "
	    "RETURNING 1) "
	    "SELECT (SELECT count(*) FROM u), j.state, "
	    "j.expires_at <= now(), j.fetch_count >= j.max_fetches "
	    "FROM texp_control.jobs j WHERE j.id_hash = $1::bytea",
	    1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		r = ERR_DB;
	else if (PQntuples(res) != 1)
		r = ERR_NOENT;
	else if (strcmp(PQgetvalue(res, 0, 0), "1") == 0)
		r = 0;
	else if (strcmp(PQgetvalue(res, 0, 1), "ready") != 0)
		r = ERR_EXISTS;
	else if (PQgetvalue(res, 0, 2)[0] == 't')
		r = ERR_EXPIRED;
	else
		r = ERR_LIMIT;
	PQclear(res);
	return r;
}

int
jobs_uncount_fetch(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN])
{
	char hb[2 + 2 * JOBS_HASH_LEN + 1];
	const char *p[1] = { hb };

	bytea_param(id_hash, JOBS_HASH_LEN, hb);
	return update_one(c, "UPDATE texp_control.jobs SET fetch_count = "
	    "fetch_count - 1, updated_at = now() WHERE id_hash = $1::bytea "
	    "AND fetch_count > 0", 1, p);
}

/*
 * Archive files.
 */

void
jobs_files_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = reallocarray(*v, *n + 2, sizeof(*nv))) == NULL)
		return ERR_NOMEM;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return ERR_NOMEM;
	nv[++*n] = NULL;
	return 0;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

/* "export-YYYYMMDD-<32 hex>.texp" or the same with ".index": the names
 * export.c gives archives. */
static int
archive_name_ok(const char *archive)
{
	const char *b = strrchr(archive, '/');
	size_t n, i;

	b = b != NULL ? b + 1 : archive;
	n = strlen(b);
	if (n == 59) {
		if (strcmp(b + 53, ".index") != 0)
			return 0;
	} else if (n != 53)
		return 0;
	if (strncmp(b, "export-", 7) != 0 || b[15] != '-' ||
	    strncmp(b + 48, ".texp", 5) != 0)
		return 0;
	for (i = 7; i < 15; i++)
		if (b[i] < '0' || b[i] > '9')
			return 0;
	for (i = 16; i < 48; i++)
		if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f')))
			return 0;
	return 1;
}

int
jobs_archive_files(const char *archive, char ***out)
{
	char path[4096], dir[4096], base[1024], *slash;
	char **v = NULL;
	size_t n = 0, blen;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int r = ERR_NOMEM;

	*out = NULL;
	/* The path comes from the job record: only a name the exporter
	 * writes is fetched or deleted, whatever the record says. */
	if (!archive_name_ok(archive))
		return ERR_PATH;
	if (strlen(archive) >= sizeof(path) || stat(archive, &st) != 0)
		return ERR_NOENT;
	if ((r = push(&v, &n, archive)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.minisig", archive);
	if (stat(path, &st) == 0 && (r = push(&v, &n, path)) != 0)
		goto out;
	if (has_suffix(archive, ".index")) {
		/* parts NAME.texp.NNN next to NAME.texp.index */
		snprintf(dir, sizeof(dir), "%s", archive);
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			snprintf(base, sizeof(base), "%s", slash + 1);
		} else {
			snprintf(base, sizeof(base), "%s", dir);
			snprintf(dir, sizeof(dir), ".");
		}
		blen = strlen(base) - strlen("index");	/* keeps the dot */
		if ((d = opendir(dir[0] ? dir : "/")) == NULL) {
			r = ERR_IO;
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			const char *rest;

			if (strncmp(de->d_name, base, blen) != 0)
				continue;
			rest = de->d_name + blen;
			if (strlen(rest) < 3 || strlen(rest) > 4 ||
			    strspn(rest, "0123456789") != strlen(rest))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if ((r = push(&v, &n, path)) != 0)
				goto out;
		}
	}
	*out = v;
	v = NULL;
	r = 0;
 out:
	if (d != NULL)
		closedir(d);
	jobs_files_free(v);
	return r;
}

int
jobs_archive_delete(const char *archive)
{
	char **v = NULL;
	size_t i;
	int r;

	if ((r = jobs_archive_files(archive, &v)) != 0)
		return r == ERR_NOENT ? 0 : r;
	r = 0;
	for (i = 0; v[i] != NULL; i++)
		if (unlink(v[i]) != 0 && errno != ENOENT)
			r = ERR_IO;
	jobs_files_free(v);
	return r;
}

int
jobs_outbox_name(const char *name, uint8_t lease[JOBS_LEASE_LEN], int *tmp)
{
	char base[OUTBOX_BASE_LEN + 1];

	/* BASE is export-YYYYMMDD-<32 hex>.texp: the hex is the lease */
	return outbox_name(name, base, tmp) &&
	    hex_decode_prefix(base + 16, lease);
}

int
jobs_lease_files_delete(const char *outbox,
    const uint8_t lease[JOBS_LEASE_LEN], int keep_published, int *n)
{
	uint8_t got[JOBS_LEASE_LEN];
	struct dirent *de;
	DIR *d;
	int dfd, tmp, r = 0;

	if (n != NULL)
		*n = 0;
	if ((d = opendir(outbox)) == NULL)
		return errno == ENOENT ? 0 : ERR_IO;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (!jobs_outbox_name(de->d_name, got, &tmp) ||
		    memcmp(got, lease, JOBS_LEASE_LEN) != 0 ||
		    (!tmp && keep_published))
			continue;
		if (unlinkat(dfd, de->d_name, 0) != 0) {
			if (errno != ENOENT)
				r = ERR_IO;
		} else if (n != NULL)
			(*n)++;
	}
	closedir(d);
	return r;
}
