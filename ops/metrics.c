/*
 * metrics.c: Prometheus text exposition of the control tables and the
 * audit log (see metrics.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "alerts.h"
#include "audit.h"
#include "auditlog.h"
#include "buf.h"
#include "err.h"
#include "jobs.h"
#include "manifest.h"
#include "metrics.h"

#define US	INT64_C(1000000)
#define MAX_TENANTS	100000
#define MAX_REFS	(1u << 20)

static const double buckets[] = { 1, 5, 15, 60, 300, 900, 3600, 14400 };
#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct tenant_m {
	char *tenant;
	uint64_t completed, failed, refused, rows, bytes;
	int64_t last_success;	/* µs, 0: never */
};

/* A job's last export.started, to time its export.completed. */
struct started {
	char ref[JOBS_REF_HEX];
	int64_t at;
};

struct metrics {
	struct tenant_m *t;
	size_t nt, capt;
	struct started *s;
	size_t ns, caps;
	uint64_t hist[NBUCKETS + 1];	/* per bucket (not cumulative), +Inf */
	double dur_sum;
	uint64_t dur_count;
	uint64_t unreadable;
};

static const char *
pq_msg(const PGresult *res, PGconn *c)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : PQerrorMessage(c);
}

int
ops_prom_label(struct buf *out, const char *s)
{
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		if (*s == '\\')
			r = buf_put_str(out, "\\\\");
		else if (*s == '"')
			r = buf_put_str(out, "\\\"");
		else if (*s == '\n')
			r = buf_put_str(out, "\\n");
		else
			r = buf_put(out, s, 1);
	}
	return r;
}

int
ops_receipt_sizes(const uint8_t *p, size_t len, uint64_t *records,
    uint64_t *bytes)
{
	struct manifest *m = NULL;
	struct buf *in;
	const uint8_t *pre;
	size_t pre_len, i;
	int r;

	*records = *bytes = 0;
	if (p == NULL || len == 0 || len > MANIFEST_MAX_BYTES)
		return ERR_MANIFEST;
	if ((in = buf_from(p, len)) == NULL)
		return ERR_NOMEM;
	if ((r = manifest_decode(in, &m, &pre, &pre_len)) == 0)
		for (i = 0; i < m->ntables; i++) {
			*records += m->tables[i].records;
			*bytes += m->tables[i].bytes;
		}
	manifest_free(m);
	buf_free(in);
	return r;
}

/* The tenant's entry, added when new. NULL on ENOMEM or past the cap. */
static struct tenant_m *
tenant_get(struct metrics *m, const char *tenant)
{
	struct tenant_m *nv;
	size_t i, ncap;

	for (i = 0; i < m->nt; i++)
		if (strcmp(m->t[i].tenant, tenant) == 0)
			return &m->t[i];
	if (m->nt >= MAX_TENANTS)
		return NULL;
	if (m->nt == m->capt) {
		ncap = m->capt == 0 ? 16 : m->capt * 2;
		if ((nv = reallocarray(m->t, ncap, sizeof(*nv))) == NULL)
			return NULL;
		m->t = nv;
		m->capt = ncap;
	}
	memset(&m->t[m->nt], 0, sizeof(m->t[0]));
	if ((m->t[m->nt].tenant = strdup(tenant)) == NULL)
		return NULL;
	return &m->t[m->nt++];
}

/* Appended, not updated: duration_add looks from the end, so a retried
 * job is timed from its last start, and a start costs nothing. */
static int
started_set(struct metrics *m, const char *ref, int64_t at)
{
	struct started *nv;
	size_t ncap;

	if (m->ns >= MAX_REFS) {
		/* keep the newer half: an old start rarely completes now */
		memmove(m->s, m->s + MAX_REFS / 2,
		    (m->ns - MAX_REFS / 2) * sizeof(*m->s));
		m->ns -= MAX_REFS / 2;
	}
	if (m->ns == m->caps) {
		ncap = m->caps == 0 ? 64 : m->caps * 2;
		if ((nv = reallocarray(m->s, ncap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		m->s = nv;
		m->caps = ncap;
	}
	snprintf(m->s[m->ns].ref, sizeof(m->s[0].ref), "%s", ref);
	m->s[m->ns++].at = at;
	return 0;
}

static void
duration_add(struct metrics *m, const char *ref, int64_t done)
{
	double secs;
	size_t i, b;

	for (i = m->ns; i-- > 0;) {
		if (strcmp(m->s[i].ref, ref) != 0)
			continue;
		if (done < m->s[i].at)
			return;
		secs = (double)(done - m->s[i].at) / US;
		for (b = 0; b < NBUCKETS && secs > buckets[b]; b++)
			;
		m->hist[b]++;
		m->dur_sum += secs;
		m->dur_count++;
		return;
	}
}

static int
log_row(const struct ops_row *row, void *arg)
{
	struct metrics *m = arg;
	struct tenant_m *t = NULL;
	const char *ev = row->event;
	size_t n = strlen(ev);

	if (row->tenant != NULL && (t = tenant_get(m, row->tenant)) == NULL)
		return ERR_NOMEM;
	if (strcmp(ev, "export.started") == 0 && row->job != NULL &&
	    strlen(row->job) < JOBS_REF_HEX)
		return started_set(m, row->job, row->at);
	if (strcmp(ev, "export.completed") == 0) {
		if (row->job != NULL)
			duration_add(m, row->job, row->at);
		if (t != NULL) {
			t->completed++;
			if (row->at > t->last_success)
				t->last_success = row->at;
		}
	} else if (strcmp(ev, "export.failed") == 0 && t != NULL)
		t->failed++;
	else if (n > 7 && strcmp(ev + n - 7, ".denied") == 0 && t != NULL)
		t->refused++;
	return 0;
}

/* Every registered tenant, so that dashboards show zeros. */
static int
load_tenants(PGconn *c, struct metrics *m, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, "SELECT tenant FROM texp_control.tenants "
	    "ORDER BY tenant");
	int i, r = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "metrics: tenants: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	for (i = 0; r == 0 && i < PQntuples(res); i++)
		if (tenant_get(m, PQgetvalue(res, i, 0)) == NULL)
			r = ERR_NOMEM;
	PQclear(res);
	return r;
}

static int
load_receipts(PGconn *c, struct metrics *m, char *err, size_t errlen)
{
	PGresult *res;
	struct tenant_m *t;
	uint64_t rec, bytes;
	int i, r = 0;

	/* binary results: the receipt as raw bytes */
	res = PQexecParams(c, "SELECT tenant, receipt FROM texp_control.jobs "
	    "WHERE receipt IS NOT NULL", 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "metrics: jobs: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	for (i = 0; r == 0 && i < PQntuples(res); i++) {
		if ((t = tenant_get(m, PQgetvalue(res, i, 0))) == NULL) {
			r = ERR_NOMEM;
			break;
		}
		if (ops_receipt_sizes((const uint8_t *)PQgetvalue(res, i, 1),
		    (size_t)PQgetlength(res, i, 1), &rec, &bytes) != 0) {
			m->unreadable++;
			continue;
		}
		t->rows += rec;
		t->bytes += bytes;
	}
	PQclear(res);
	return r;
}

static int
head(struct buf *o, const char *name, const char *type, const char *help)
{
	return buf_putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* name{label="value"} v, for each tenant. */
static int
per_tenant(struct buf *o, const struct metrics *m, const char *name,
    const char *type, const char *help, size_t off)
{
	size_t i;
	int r;

	if ((r = head(o, name, type, help)) != 0)
		return r;
	for (i = 0; i < m->nt && r == 0; i++) {
		if ((r = buf_putf(o, "%s{tenant=\"", name)) != 0 ||
		    (r = ops_prom_label(o, m->t[i].tenant)) != 0)
			break;
		r = buf_putf(o, "\"} %" PRIu64 "\n",
		    *(const uint64_t *)((const char *)&m->t[i] + off));
	}
	return r;
}

static int
put_jobs(PGconn *c, struct buf *o, char *err, size_t errlen)
{
	PGresult *res;
	int i, k, r;
	long long n;

	res = PQexec(c, "SELECT state, count(*) FROM texp_control.jobs "
	    "GROUP BY state");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "metrics: jobs: %s", pq_msg(res, c));
		PQclear(res);
		return ERR_DB;
	}
	r = head(o, "tenant_export_jobs", "gauge",
	    "Export jobs by state (table texp_control.jobs).");
	for (k = JOBS_QUEUED; k <= JOBS_EXPIRED && r == 0; k++) {
		n = 0;
		for (i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0),
			    jobs_state_str((enum jobs_state)k)) == 0)
				n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		r = buf_putf(o, "tenant_export_jobs{state=\"%s\"} %lld\n",
		    jobs_state_str((enum jobs_state)k), n);
	}
	PQclear(res);
	return r;
}

static int
put_alerts(PGconn *c, struct buf *o, char *err, size_t errlen)
{
	PGresult *res;
	int i, k, r;
	long long n;

	res = PQexec(c, "SELECT rule, count(*) FROM texp_control.alerts "
	    "GROUP BY rule");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "metrics: alerts: %s", pq_msg(res, c));
		PQclear(res);
		return ERR_DB;
	}
	r = head(o, "tenant_export_alerts_total", "counter",
	    "Alerts raised by `tenant-export alerts`, by rule.");
	for (k = 0; ops_rules[k] != NULL && r == 0; k++) {
		n = 0;
		for (i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), ops_rules[k]) == 0)
				n = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		r = buf_putf(o, "tenant_export_alerts_total{rule=\"%s\"} "
		    "%lld\n", ops_rules[k], n);
	}
	PQclear(res);
	return r;
}

static int
put_history(struct buf *o, const struct metrics *m)
{
	uint64_t cum = 0;
	size_t i;
	int r;

	r = head(o, "tenant_export_last_success_timestamp_seconds", "gauge",
	    "Time of the last completed export of each tenant.");
	for (i = 0; i < m->nt && r == 0; i++) {
		if (m->t[i].last_success == 0)
			continue;
		if ((r = buf_put_str(o, "tenant_export_last_success_timestamp_"
		    "seconds{tenant=\"")) != 0 ||
		    (r = ops_prom_label(o, m->t[i].tenant)) != 0)
			break;
		r = buf_putf(o, "\"} %" PRId64 ".%06" PRId64 "\n",
		    m->t[i].last_success / US, m->t[i].last_success % US);
	}
	if (r == 0)
		r = head(o, "tenant_export_export_duration_seconds",
		    "histogram", "Time from export.started to "
		    "export.completed of each completed export.");
	for (i = 0; i < NBUCKETS && r == 0; i++) {
		cum += m->hist[i];
		r = buf_putf(o, "tenant_export_export_duration_seconds_bucket"
		    "{le=\"%g\"} %" PRIu64 "\n", buckets[i], cum);
	}
	if (r == 0)
		r = buf_putf(o, "tenant_export_export_duration_seconds_bucket"
		    "{le=\"+Inf\"} %" PRIu64 "\n"
		    "tenant_export_export_duration_seconds_sum %.6f\n"
		    "tenant_export_export_duration_seconds_count %" PRIu64 "\n",
		    cum + m->hist[NBUCKETS], m->dur_sum, m->dur_count);
	return r;
}

static int
put_tenants(struct buf *o, const struct metrics *m)
{
	int r;

	if ((r = per_tenant(o, m, "tenant_export_exports_completed_total",
	    "counter", "Exports completed (audit event export.completed).",
	    offsetof(struct tenant_m, completed))) != 0 ||
	    (r = per_tenant(o, m, "tenant_export_exports_failed_total",
	    "counter", "Exports failed (audit event export.failed).",
	    offsetof(struct tenant_m, failed))) != 0 ||
	    (r = per_tenant(o, m, "tenant_export_refusals_total", "counter",
	    "Refused requests, approvals, runs and fetches (audit events "
	    "*.denied).", offsetof(struct tenant_m, refused))) != 0 ||
	    (r = per_tenant(o, m, "tenant_export_exported_rows_total",
	    "counter", "Records in completed exports (from their receipts).",
	    offsetof(struct tenant_m, rows))) != 0 ||
	    (r = per_tenant(o, m, "tenant_export_exported_bytes_total",
	    "counter", "Record bytes (CBOR, before compression and "
	    "encryption) in completed exports.",
	    offsetof(struct tenant_m, bytes))) != 0)
		return r;
	return put_history(o, m);
}

static int
put_chain(PGconn *c, struct buf *o, const struct metrics *m, char *err,
    size_t errlen)
{
	uint64_t bad = 0;
	int64_t rows = 0;
	char why[256];
	int r, ok;

	r = audit_verify(c, NULL, 0, NULL, &bad, why, sizeof(why));
	if (r != 0 && r != ERR_HASH) {
		err_set(err, errlen, "metrics: audit verify: %s",
		    why[0] != '\0' ? why : err_str(r));
		return r;
	}
	ok = r == 0;
	if ((r = ops_log_head(c, &rows, err, errlen)) != 0)
		return r;
	return buf_putf(o,
	    "# HELP tenant_export_audit_chain_ok 1 if the audit log's hash "
	    "chain verifies, else 0.\n"
	    "# TYPE tenant_export_audit_chain_ok gauge\n"
	    "tenant_export_audit_chain_ok %d\n"
	    "# HELP tenant_export_audit_rows Rows in the audit log.\n"
	    "# TYPE tenant_export_audit_rows gauge\n"
	    "tenant_export_audit_rows %" PRId64 "\n"
	    "# HELP tenant_export_unreadable_receipts Receipts that could not "
	    "be decoded (left out of rows and bytes).\n"
	    "# TYPE tenant_export_unreadable_receipts gauge\n"
	    "tenant_export_unreadable_receipts %" PRIu64 "\n",
	    ok, rows, m->unreadable);
}

static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		err_set(err, errlen, "metrics: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	PQclear(res);
	return r;
}

int
ops_metrics_write(PGconn *c, struct buf *out, char *err, size_t errlen)
{
	static const char *const evs[] = { "export.started",
	    "export.completed", "export.failed", NULL };
	struct ops_log_filter f;
	struct metrics m;
	size_t i;
	int r;

	memset(&m, 0, sizeof(m));
	memset(&f, 0, sizeof(f));
	f.events = evs;
	f.problems = 1;
	err_set(err, errlen, "%s", "");
	if ((r = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    err, errlen)) != 0)
		return r;
	if ((r = load_tenants(c, &m, err, errlen)) != 0 ||
	    (r = ops_log_scan(c, &f, log_row, &m, err, errlen)) != 0 ||
	    (r = load_receipts(c, &m, err, errlen)) != 0 ||
	    (r = put_jobs(c, out, err, errlen)) != 0 ||
	    (r = put_tenants(out, &m)) != 0 ||
	    (r = put_alerts(c, out, err, errlen)) != 0 ||
	    (r = put_chain(c, out, &m, err, errlen)) != 0)
		goto out;
	r = exec_ok(c, "COMMIT", err, errlen);
 out:
	if (r != 0) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			err_set(err, errlen, "metrics: %s", err_str(r));
		(void)exec_ok(c, "ROLLBACK", NULL, 0);
	}
	for (i = 0; i < m.nt; i++)
		free(m.t[i].tenant);
	free(m.t);
	free(m.s);
	return r;
}
