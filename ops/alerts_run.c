/*
 * alerts_run.c: one run of the alert rules against the control schema:
 * the cursor, the chain check, the rows, the held jobs and the stored
 * alerts (see alerts.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "alerts.h"
#include "audit.h"
#include "auditlog.h"
#include "config.h"
#include "err.h"

#define US	INT64_C(1000000)

static const char *
pq_msg(const PGresult *res, PGconn *c)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : PQerrorMessage(c);
}

static int
exec_ok(PGconn *c, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "alerts: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	PQclear(res);
	return r;
}

/* Locks the cursor row for this transaction and reads it. */
static int
cursor_lock(PGconn *c, int64_t *last, char *err, size_t errlen)
{
	PGresult *res;
	int r = 0;

	res = PQexec(c, "SELECT last_seq FROM texp_control.alert_cursor "
	    "WHERE id = 1 FOR UPDATE");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "alerts: cursor: %s",
		    PQresultStatus(res) == PGRES_TUPLES_OK ? "missing" :
		    pq_msg(res, c));
		r = ERR_DB;
	} else
		*last = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

static int
chain_alert(PGconn *c, struct ops_alerts *out, char *err, size_t errlen)
{
	struct ops_alert *a;
	uint64_t bad = 0;
	char why[400];
	int r;

	r = audit_verify(c, NULL, 0, NULL, &bad, why, sizeof(why));
	if (r == 0)
		return 0;
	if (r != ERR_HASH) {
		err_set(err, errlen, "alerts: audit verify: %s",
		    why[0] != '\0' ? why : err_str(r));
		return r;
	}
	if ((r = ops_alert_add(out, OPS_RULE_CHAIN, NULL, NULL, NULL,
	    (int64_t)time(NULL) * US, &a)) != 0 || (r = ops_alert_seq(a, (int64_t)bad)) != 0)
		return r;
	if (asprintf(&a->key, "%s:%" PRIu64, OPS_RULE_CHAIN, bad) < 0 ||
	    asprintf(&a->summary, "the audit log does not verify: %s",
	    why) < 0) {
		a->key = a->summary = NULL;
		return ERR_NOMEM;
	}
	return 0;
}

struct scan_ctx {
	struct ops_rows *rows;
	struct ops_history *h;
	int64_t since;
};

static int
keep_row(const struct ops_row *row, void *arg)
{
	struct scan_ctx *s = arg;
	struct ops_row r = *row;

	r.flag = s->since == 0 || row->at >= s->since;
	return ops_rows_add(s->rows, &r);
}

static int
keep_context(const struct ops_row *row, void *arg)
{
	struct scan_ctx *s = arg;
	struct ops_row r = *row;

	r.flag = 0;
	return ops_rows_add(s->rows, &r);
}

static int
note_history(const struct ops_row *row, void *arg)
{
	struct scan_ctx *s = arg;

	return ops_history_note(s->h, row->principal, row->tenant, row->at);
}

/* Alerts raised since from (µs), for the quiet period of window rules. */
static int
prior_load(PGconn *c, int64_t from, struct ops_alerts *prior, char *err,
    size_t errlen)
{
	PGresult *res;
	struct ops_alert *a;
	const char *params[1];
	char fbuf[24];
	int i, r = 0;

	snprintf(fbuf, sizeof(fbuf), "%" PRId64, from);
	params[0] = fbuf;
	res = PQexecParams(c, "SELECT rule, principal, tenant, "
	    "(extract(epoch FROM trigger_at) * 1000000)::bigint "
	    "FROM texp_control.alerts WHERE trigger_at >= "
	    "pg_catalog.to_timestamp($1::bigint / 1000000.0) ORDER BY id",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "alerts: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if ((r = ops_alert_add(prior, PQgetvalue(res, i, 0),
		    PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
		    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2), NULL,
		    strtoll(PQgetvalue(res, i, 3), NULL, 10), &a)) != 0)
			goto out;
	}
 out:
	PQclear(res);
	return r;
}

/* The rules over audit rows after the cursor. */
static int
rows_alerts(PGconn *c, const struct config *cfg, int64_t cursor,
    int64_t head, int64_t since, struct ops_alerts *out, char *err,
    size_t errlen)
{
	static const char *const requests[] = { "export.requested", NULL };
	static const char *const watched[] = { "export.requested",
	    "export.fetched", NULL };
	const struct config_alerts *ac = config_alerts(cfg);
	struct ops_rows fresh = { 0 }, rows = { 0 };
	struct ops_alerts prior = { 0 };
	struct ops_log_filter f;
	struct scan_ctx s;
	uint64_t maxwin;
	int64_t from;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	s.since = since;
	if (cursor >= head)
		return 0;
	memset(&f, 0, sizeof(f));
	f.after_seq = cursor;
	f.upto_seq = head;
	f.events = watched;
	f.problems = 1;
	f.tz = ac->timezone;
	s.rows = &fresh;
	if ((r = ops_log_scan(c, &f, keep_row, &s, err, errlen)) != 0 ||
	    fresh.n == 0)
		goto out;
	maxwin = ac->burst_window > ac->failures_window ? ac->burst_window :
	    ac->failures_window;
	/* rows are in seq order; their times nearly so, but not by
	 * contract: the window starts before the earliest of them */
	from = fresh.v[0].at;
	for (i = 1; i < fresh.n; i++)
		if (fresh.v[i].at < from)
			from = fresh.v[i].at;
	from -= (int64_t)maxwin * US;
	/* earlier rows inside the longest window */
	if (cursor > 0) {
		f.after_seq = 0;
		f.upto_seq = cursor;
		f.from_at = from;
		f.events = requests;
		f.problems = 1;
		s.rows = &rows;
		if ((r = ops_log_scan(c, &f, keep_context, &s, err,
		    errlen)) != 0)
			goto out;
	}
	for (i = 0; i < fresh.n; i++)
		if ((r = ops_rows_add(&rows, &fresh.v[i])) != 0)
			goto out;
	/* every earlier request, for the unusual-tenant rule */
	if ((s.h = ops_history_new()) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (cursor > 0) {
		memset(&f, 0, sizeof(f));
		f.upto_seq = cursor;
		f.events = requests;
		if ((r = ops_log_scan(c, &f, note_history, &s, err,
		    errlen)) != 0)
			goto out;
	}
	if ((r = prior_load(c, from, &prior, err, errlen)) != 0)
		goto out;
	r = ops_alerts_eval(ac, config_control(cfg)->max_downloads, &rows,
	    s.h, &prior, out);
	if (r != 0)
		err_set(err, errlen, "alerts: %s", err_str(r));
 out:
	ops_rows_clear(&fresh);
	ops_rows_clear(&rows);
	ops_alerts_clear(&prior);
	ops_history_free(s.h);
	return r;
}

static int
held_seq(const struct ops_row *row, void *arg)
{
	return ops_alert_seq(arg, row->seq);
}

/* Jobs awaiting approval for longer than held_after. */
static int
held_alerts(PGconn *c, const struct config_alerts *ac,
    struct ops_alerts *out, char *err, size_t errlen)
{
	static const char *const evs[] = { "export.requested", "export.held",
	    NULL };
	struct ops_log_filter f;
	struct ops_alert *a;
	PGresult *res;
	const char *params[1];
	char secs[24], dur[24];
	int i, r = 0;
	long long hours;

	if (ac->held_after == 0)
		return 0;
	snprintf(secs, sizeof(secs), "%llu", (unsigned long long)ac->held_after);
	params[0] = secs;
	res = PQexecParams(c, "SELECT encode(substring(j.id_hash FROM 1 FOR 16),"
	    " 'hex'), j.tenant, p.name, "
	    "(extract(epoch FROM j.updated_at) * 1000000)::bigint, "
	    "(extract(epoch FROM pg_catalog.now() - j.updated_at) / 3600)"
	    "::bigint FROM texp_control.jobs j "
	    "LEFT JOIN texp_control.principals p ON p.id = j.requested_by "
	    "WHERE j.state = 'awaiting_approval' AND j.updated_at < "
	    "pg_catalog.now() - make_interval(secs => $1::bigint) "
	    "ORDER BY j.updated_at", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		err_set(err, errlen, "alerts: jobs: %s", pq_msg(res, c));
		r = ERR_DB;
		goto out;
	}
	for (i = 0; i < PQntuples(res) && r == 0; i++) {
		if ((r = ops_alert_add(out, OPS_RULE_HELD,
		    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 0),
		    strtoll(PQgetvalue(res, i, 3), NULL, 10), &a)) != 0)
			break;
		memset(&f, 0, sizeof(f));
		f.job = a->job;
		f.events = evs;
		if ((r = ops_log_scan(c, &f, held_seq, a, err, errlen)) != 0)
			break;
		hours = strtoll(PQgetvalue(res, i, 4), NULL, 10);
		if (ac->held_after % 3600 == 0)
			snprintf(dur, sizeof(dur), "%lluh",
			    (unsigned long long)(ac->held_after / 3600));
		else
			snprintf(dur, sizeof(dur), "%llus",
			    (unsigned long long)ac->held_after);
		if (asprintf(&a->key, "%s:%s:%" PRId64, OPS_RULE_HELD, a->job,
		    a->at) < 0 || asprintf(&a->summary, "awaiting approval "
		    "for %lld hours (more than %s)", hours, dur) < 0) {
			a->key = a->summary = NULL;
			r = ERR_NOMEM;
		}
	}
 out:
	PQclear(res);
	return r;
}

/* A job id as the alerts table takes it (32 hex digits), or NULL. */
static const char *
ref_or_null(const char *job)
{
	return job != NULL && strlen(job) == 32 &&
	    strspn(job, "0123456789abcdef") == 32 ? job : NULL;
}

/* Inserts each candidate whose key is new; those move to fresh. */
static int
store(PGconn *c, struct ops_alerts *cand, struct ops_alerts *fresh,
    char *err, size_t errlen)
{
	struct ops_alert *a, *d;
	PGresult *res;
	const char *params[8];
	char *seqs = NULL, at[24];
	size_t i, k, len;
	int r = 0;

	for (i = 0; i < cand->n && r == 0; i++) {
		a = &cand->v[i];
		len = 3 + a->nseqs * 21;
		if ((seqs = malloc(len)) == NULL)
			return ERR_NOMEM;
		strcpy(seqs, "{");
		for (k = 0; k < a->nseqs; k++)
			snprintf(seqs + strlen(seqs), len - strlen(seqs),
			    "%s%" PRId64, k > 0 ? "," : "", a->seqs[k]);
		strcat(seqs, "}");
		snprintf(at, sizeof(at), "%" PRId64, a->at);
		params[0] = a->key;
		params[1] = a->rule;
		params[2] = a->principal;
		params[3] = a->tenant;
		params[4] = ref_or_null(a->job);
		params[5] = seqs;
		params[6] = at;
		params[7] = a->summary;
		res = PQexecParams(c, "INSERT INTO texp_control.alerts (key, "
		    "rule, principal, tenant, job, seqs, trigger_at, summary) "
		    "VALUES ($1, $2, $3, $4, $5, $6::bigint[], "
		    "pg_catalog.to_timestamp($7::bigint / 1000000.0), $8) "
		    "ON CONFLICT (key) DO NOTHING RETURNING id", 8, NULL,
		    params, NULL, NULL, 0);
		free(seqs);
		seqs = NULL;
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			err_set(err, errlen, "alerts: store: %s",
			    pq_msg(res, c));
			r = ERR_DB;
		} else if (PQntuples(res) == 1) {
			if ((r = ops_alert_add(fresh, a->rule, NULL, NULL, NULL,
			    0, &d)) == 0) {
				*d = *a;	/* ownership moves */
				memset(a, 0, sizeof(*a));
			}
		}
		PQclear(res);
	}
	return r;
}

int
ops_alerts_begin(PGconn *c, const struct config *cfg, int64_t since,
    struct ops_alerts *fresh, char *err, size_t errlen)
{
	struct ops_alerts cand = { 0 };
	struct ops_alert *a;
	const char *params[1];
	char hbuf[24];
	PGresult *res;
	int64_t cursor = 0, head = 0;
	int r;

	memset(fresh, 0, sizeof(*fresh));
	err_set(err, errlen, "%s", "");
	if ((r = exec_ok(c, "BEGIN", err, errlen)) != 0)
		return r;
	if ((r = cursor_lock(c, &cursor, err, errlen)) != 0 ||
	    (r = chain_alert(c, &cand, err, errlen)) != 0 ||
	    (r = ops_log_head(c, &head, err, errlen)) != 0)
		goto out;
	if (head < cursor) {
		/* The alerts cursor is a small checkpoint of its own: the
		 * log lost rows it had already shown the rules. */
		if ((r = ops_alert_add(&cand, OPS_RULE_CHAIN, NULL, NULL, NULL,
		    (int64_t)time(NULL) * US, &a)) != 0 ||
		    (r = ops_alert_seq(a, head + 1)) != 0)
			goto out;
		if (asprintf(&a->key, "%s:shrunk:%" PRId64, OPS_RULE_CHAIN,
		    head) < 0 || asprintf(&a->summary, "the audit log ends at "
		    "row %" PRId64 " but the alerts had already seen row %"
		    PRId64 ": rows were deleted", head, cursor) < 0) {
			a->key = a->summary = NULL;
			r = ERR_NOMEM;
			goto out;
		}
		cursor = head;
	}
	if ((r = rows_alerts(c, cfg, cursor, head, since, &cand, err,
	    errlen)) != 0 ||
	    (r = held_alerts(c, config_alerts(cfg), &cand, err, errlen)) != 0 ||
	    (r = store(c, &cand, fresh, err, errlen)) != 0)
		goto out;
	snprintf(hbuf, sizeof(hbuf), "%" PRId64, head);
	params[0] = hbuf;
	res = PQexecParams(c, "UPDATE texp_control.alert_cursor SET "
	    "last_seq = $1::bigint, updated_at = pg_catalog.now() WHERE id = 1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		err_set(err, errlen, "alerts: cursor: %s", pq_msg(res, c));
		r = ERR_DB;
	}
	PQclear(res);
 out:
	ops_alerts_clear(&cand);
	if (r != 0) {
		if (err != NULL && errlen > 0 && err[0] == '\0')
			err_set(err, errlen, "alerts: %s", err_str(r));
		ops_alerts_clear(fresh);
		(void)exec_ok(c, "ROLLBACK", NULL, 0);
	}
	return r;
}

int
ops_alerts_end(PGconn *c, int commit, char *err, size_t errlen)
{
	return exec_ok(c, commit ? "COMMIT" : "ROLLBACK", err, errlen);
}
