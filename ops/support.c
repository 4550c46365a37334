/*
 * support.c: the support page (see support.h): loads tenants, jobs, their
 * audit rows and alerts in one snapshot, then renders them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "alerts.h"
#include "audit.h"
#include "auditlog.h"
#include "buf.h"
#include "err.h"
#include "html.h"
#include "metrics.h"
#include "support.h"
#include "support_int.h"

static const char *
pq_msg(const PGresult *res, PGconn *c)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : PQerrorMessage(c);
}

static char *
col(PGresult *res, int i, int k)
{
	return PQgetisnull(res, i, k) ? NULL : strdup(PQgetvalue(res, i, k));
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
load_now(PGconn *c, struct report *rp, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, "SELECT (extract(epoch FROM "
	    "pg_catalog.now()) * 1000000)::bigint");
	int r = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "report: %s", pq_msg(res, c));
		r = ERR_DB;
	} else {
		rp->now = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rp->from = rp->now - (int64_t)rp->days * 86400 * US;
	}
	PQclear(res);
	return r;
}

static int
load_tenants(PGconn *c, const char *tenant, struct report *rp, char *err,
    size_t errlen)
{
	const char *params[1] = { tenant };
	PGresult *res;
	int i, r = 0;

	res = PQexecParams(c, "SELECT tenant, display_name "
	    "FROM texp_control.tenants WHERE $1::text IS NULL OR tenant = $1 "
	    "ORDER BY display_name, tenant", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "report: tenants: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	if (tenant != NULL && PQntuples(res) == 0) {
		err_set(err, errlen, "report: no tenant \"%s\" is registered",
		    tenant);
		r = ERR_NOENT;
		goto out;
	}
	if ((rp->t = calloc((size_t)PQntuples(res) + 1, sizeof(*rp->t))) ==
	    NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++, rp->nt++)
		if ((rp->t[i].tenant = col(res, i, 0)) == NULL ||
		    (rp->t[i].name = col(res, i, 1)) == NULL) {
			r = ERR_NOMEM;
			rp->nt++;
			break;
		}
 out:
	PQclear(res);
	return r;
}

static void
job_sizes(struct rjob *j, const char *hex)
{
	uint8_t *bin;
	size_t n = strlen(hex) / 2, got = 0;

	if (n == 0 || (bin = malloc(n)) == NULL)
		return;
	if (sodium_hex2bin(bin, n, hex, 2 * n, NULL, &got, NULL) == 0 &&
	    got == n && ops_receipt_sizes(bin, n, &j->records,
	    &j->bytes) == 0)
		j->has_sizes = 1;
	free(bin);
}

static int
load_jobs(PGconn *c, const char *tenant, struct report *rp, char *err,
    size_t errlen)
{
	const char *params[2];
	char from[24];
	PGresult *res;
	struct rjob *j;
	int i, n, r = 0;

	snprintf(from, sizeof(from), "%" PRId64, rp->from);
	params[0] = from;
	params[1] = tenant;
	res = PQexecParams(c, "SELECT encode(substring(j.id_hash FROM 1 FOR 16),"
	    " 'hex'), j.tenant, j.state, j.scope::text, "
	    "(extract(epoch FROM j.created_at) * 1000000)::bigint, "
	    "coalesce((extract(epoch FROM j.expires_at) * 1000000)::bigint, 0),"
	    " rp.name, ap.name, j.fetch_count, j.max_fetches, "
	    "encode(j.receipt, 'hex') FROM texp_control.jobs j "
	    "LEFT JOIN texp_control.principals rp ON rp.id = j.requested_by "
	    "LEFT JOIN texp_control.principals ap ON ap.id = j.approved_by "
	    "WHERE j.created_at >= pg_catalog.to_timestamp($1::bigint / "
	    "1000000.0) AND ($2::text IS NULL OR j.tenant = $2) "
	    "ORDER BY j.tenant, j.created_at DESC, 1 LIMIT 5001",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "report: jobs: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	n = PQntuples(res);
	if (n > OPS_REPORT_MAX_JOBS) {
		n = OPS_REPORT_MAX_JOBS;
		rp->truncated = 1;
	}
	if ((rp->j = calloc((size_t)n + 1, sizeof(*rp->j))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		j = &rp->j[rp->nj++];
		snprintf(j->ref, sizeof(j->ref), "%s", PQgetvalue(res, i, 0));
		if ((j->tenant = col(res, i, 1)) == NULL ||
		    (j->state = col(res, i, 2)) == NULL ||
		    (j->scope = col(res, i, 3)) == NULL ||
		    (!PQgetisnull(res, i, 6) &&
		    (j->requested = col(res, i, 6)) == NULL) ||
		    (!PQgetisnull(res, i, 7) &&
		    (j->approved = col(res, i, 7)) == NULL)) {
			r = ERR_NOMEM;
			goto out;
		}
		j->created = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		j->expires = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		j->fetches = atoi(PQgetvalue(res, i, 8));
		j->max_fetches = atoi(PQgetvalue(res, i, 9));
		if (!PQgetisnull(res, i, 10))
			job_sizes(j, PQgetvalue(res, i, 10));
	}
 out:
	PQclear(res);
	return r;
}

/* Rows of a job, and refusals or failures naming a tenant. */
static int
keep_row(const struct ops_row *row, void *arg)
{
	struct report *rp = arg;

	if (row->tenant == NULL)
		return 0;
	if (row->job == NULL && !ends_with(row->event, ".denied") &&
	    !ends_with(row->event, ".failed"))
		return 0;
	return ops_rows_add(&rp->rows, row);
}

static const struct ops_rows *sort_rows;

static int
cmp_byjob(const void *a, const void *b)
{
	const struct ops_row *x = &sort_rows->v[*(const size_t *)a];
	const struct ops_row *y = &sort_rows->v[*(const size_t *)b];
	int c = strcmp(x->job != NULL ? x->job : "",
	    y->job != NULL ? y->job : "");

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
load_rows(PGconn *c, const char *tenant, struct report *rp, char *err,
    size_t errlen)
{
	struct ops_log_filter f;
	size_t i;
	int r;

	memset(&f, 0, sizeof(f));
	f.from_at = rp->from;
	f.tenant = tenant;
	if ((r = ops_log_scan(c, &f, keep_row, rp, err, errlen)) != 0)
		return r;
	if (rp->rows.n == 0)
		return 0;
	if ((rp->byjob = calloc(rp->rows.n, sizeof(*rp->byjob))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < rp->rows.n; i++)
		rp->byjob[i] = i;
	rp->nbyjob = rp->rows.n;
	sort_rows = &rp->rows;
	qsort(rp->byjob, rp->nbyjob, sizeof(*rp->byjob), cmp_byjob);
	sort_rows = NULL;
	return 0;
}

static int
load_alerts(PGconn *c, const char *tenant, struct report *rp, char *err,
    size_t errlen)
{
	const char *params[2];
	char from[24], *s, *tok, *save = NULL;
	struct ops_alert *a;
	PGresult *res;
	int i, r = 0;

	snprintf(from, sizeof(from), "%" PRId64, rp->from);
	params[0] = from;
	params[1] = tenant;
	res = PQexecParams(c, "SELECT rule, principal, tenant, job, "
	    "(extract(epoch FROM trigger_at) * 1000000)::bigint, "
	    "array_to_string(seqs, ','), summary FROM texp_control.alerts "
	    "WHERE (raised_at >= pg_catalog.to_timestamp($1::bigint / "
	    "1000000.0) OR trigger_at >= pg_catalog.to_timestamp($1::bigint / "
	    "1000000.0)) AND ($2::text IS NULL OR tenant = $2 OR tenant IS NULL)"
	    " ORDER BY trigger_at DESC, id DESC LIMIT 5000",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "report: alerts: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	for (i = 0; i < PQntuples(res) && r == 0; i++) {
		if ((r = ops_alert_add(&rp->alerts, PQgetvalue(res, i, 0),
		    PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
		    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
		    PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3),
		    strtoll(PQgetvalue(res, i, 4), NULL, 10), &a)) != 0)
			break;
		if ((a->summary = col(res, i, 6)) == NULL ||
		    (s = col(res, i, 5)) == NULL) {
			r = ERR_NOMEM;
			break;
		}
		for (tok = strtok_r(s, ",", &save); tok != NULL && r == 0;
		    tok = strtok_r(NULL, ",", &save))
			r = ops_alert_seq(a, strtoll(tok, NULL, 10));
		free(s);
	}
 out:
	PQclear(res);
	return r;
}

static int
load_chain(PGconn *c, struct report *rp, char *err, size_t errlen)
{
	uint64_t bad = 0, rows = 0;
	int r;

	r = audit_verify_count(c, NULL, 0, NULL, &bad, &rows, rp->chain_why,
	    sizeof(rp->chain_why));
	if (r != 0 && r != ERR_HASH) {
		err_set(err, errlen, "report: audit verify: %s",
		    rp->chain_why[0] != '\0' ? rp->chain_why : err_str(r));
		return r;
	}
	rp->chain_ok = r == 0;
	rp->chain_rows = (int64_t)rows;
	return 0;
}

static void
report_free(struct report *rp)
{
	size_t i;

	for (i = 0; i < rp->nt; i++) {
		free(rp->t[i].tenant);
		free(rp->t[i].name);
	}
	free(rp->t);
	for (i = 0; i < rp->nj; i++) {
		free(rp->j[i].tenant);
		free(rp->j[i].state);
		free(rp->j[i].scope);
		free(rp->j[i].requested);
		free(rp->j[i].approved);
	}
	free(rp->j);
	ops_rows_clear(&rp->rows);
	free(rp->byjob);
	ops_alerts_clear(&rp->alerts);
}

static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		err_set(err, errlen, "report: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	PQclear(res);
	return r;
}

int
ops_report_html(PGconn *c, const struct ops_report_opts *o,
    struct buf *out, char *err, size_t errlen)
{
	struct report rp;
	int r;

	err_set(err, errlen, "%s", "");
	if (o == NULL || o->days == 0 || o->days > OPS_REPORT_MAX_DAYS)
		return ERR_INVALID;
	memset(&rp, 0, sizeof(rp));
	rp.days = o->days;
	if ((r = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    err, errlen)) != 0)
		return r;
	if ((r = load_now(c, &rp, err, errlen)) != 0 ||
	    (r = load_chain(c, &rp, err, errlen)) != 0 ||
	    (r = load_tenants(c, o->tenant, &rp, err, errlen)) != 0 ||
	    (r = load_jobs(c, o->tenant, &rp, err, errlen)) != 0 ||
	    (r = load_rows(c, o->tenant, &rp, err, errlen)) != 0 ||
	    (r = load_alerts(c, o->tenant, &rp, err, errlen)) != 0)
		goto out;
	if ((r = exec_ok(c, "COMMIT", err, errlen)) != 0)
		goto out;
	r = report_render(&rp, out);
 out:
	if (r != 0) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			err_set(err, errlen, "report: %s", err_str(r));
		(void)exec_ok(c, "ROLLBACK", NULL, 0);
	}
	report_free(&rp);
	return r;
}
