/*
 * auditlog.c: reading texp_control.audit_log for alerts, metrics and the
 * support page (see auditlog.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "auditlog.h"
#include "err.h"

static const char *
pq_msg(const PGresult *res, PGconn *c)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	return m != NULL ? m : PQerrorMessage(c);
}

static const char *
val(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* "{a,b}" with each name double-quoted for an array literal; names are
 * event names (no quotes or backslashes), checked here. */
static char *
event_array(const char *const *events)
{
	size_t i, len = 3;
	char *s;

	for (i = 0; events[i] != NULL; i++) {
		if (strpbrk(events[i], "\"\\{},") != NULL)
			return NULL;
		len += strlen(events[i]) + 3;
	}
	if ((s = malloc(len)) == NULL)
		return NULL;
	strcpy(s, "{");
	for (i = 0; events[i] != NULL; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, "\"");
		strcat(s, events[i]);
		strcat(s, "\"");
	}
	strcat(s, "}");
	return s;
}

static int
row_from(const PGresult *res, struct ops_row *row)
{
	memset(row, 0, sizeof(*row));
	if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1) ||
	    PQgetisnull(res, 0, 2))
		return ERR_FORMAT;
	row->seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	row->at = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	row->event = PQgetvalue(res, 0, 2);
	row->principal = val(res, 3);
	row->tenant = val(res, 4);
	row->job = val(res, 5);
	row->detail = val(res, 6);
	row->dow = atoi(PQgetvalue(res, 0, 7));
	row->minute = atoi(PQgetvalue(res, 0, 8));
	return 0;
}

int
ops_log_scan(PGconn *c, const struct ops_log_filter *f,
    int (*fn)(const struct ops_row *row, void *arg), void *arg, char *err,
    size_t errlen)
{
	static const struct ops_log_filter all;
	const char *params[8];
	char after[24], upto[24], from[24];
	char *events = NULL;
	struct ops_row row;
	PGresult *res;
	ExecStatusType st;
	int r = ERR_INTERNAL, sent = 0;

	err_set(err, errlen, "%s", "");
	if (f == NULL)
		f = &all;
	if (f->events != NULL && (events = event_array(f->events)) == NULL) {
		err_set(err, errlen, "audit log: bad event filter");
		return ERR_INVALID;
	}
	snprintf(after, sizeof(after), "%" PRId64, f->after_seq);
	snprintf(upto, sizeof(upto), "%" PRId64, f->upto_seq);
	snprintf(from, sizeof(from), "%" PRId64, f->from_at);
	params[0] = after;
	params[1] = f->upto_seq > 0 ? upto : NULL;
	params[2] = f->from_at != 0 ? from : NULL;
	params[3] = f->tenant;
	params[4] = f->job;
	params[5] = events;
	params[6] = f->problems ? "t" : "f";
	params[7] = f->tz != NULL ? f->tz : "UTC";
	if (PQclientEncoding(c) != pg_char_to_encoding("UTF8") &&
	    PQsetClientEncoding(c, "UTF8") != 0) {
		err_set(err, errlen, "audit log: cannot use UTF-8");
		r = ERR_DB;
		goto out;
	}
	if (!PQsendQueryParams(c, "SELECT seq, "
	    "(extract(epoch FROM at) * 1000000)::bigint, event, principal, "
	    "tenant, job, detail::text, "
	    "extract(isodow FROM at AT TIME ZONE $8)::int, "
	    "(extract(hour FROM at AT TIME ZONE $8) * 60 + "
	    " extract(minute FROM at AT TIME ZONE $8))::int "
	    "FROM texp_control.audit_log "
	    "WHERE seq > $1::bigint "
	    "AND ($2::bigint IS NULL OR seq <= $2::bigint) "
	    "AND ($3::bigint IS NULL OR at >= pg_catalog.to_timestamp("
	    "  $3::bigint / 1000000.0)) "
	    "AND ($4::text IS NULL OR tenant = $4::text) "
	    "AND ($5::text IS NULL OR job = $5::text) "
	    "AND (($6::text[] IS NULL AND NOT $7::boolean) "
	    "  OR event = ANY ($6::text[]) "
	    "  OR ($7::boolean AND (event LIKE '%.denied' "
	    "      OR event LIKE '%.failed'))) "
	    "ORDER BY seq", 8, NULL, params, NULL, NULL, 0)) {
		err_set(err, errlen, "audit log: %s", PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	sent = 1;
	if (!PQsetSingleRowMode(c)) {
		r = ERR_DB;
		goto out;
	}
	r = 0;
	while ((res = PQgetResult(c)) != NULL) {
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE) {
			if (r == 0 && (r = row_from(res, &row)) == 0)
				r = fn(&row, arg);
			else if (r == ERR_FORMAT)
				err_set(err, errlen, "audit log: row without "
				    "seq, time or event");
		} else if (st != PGRES_TUPLES_OK && r == 0) {
			err_set(err, errlen, "audit log: %s", pq_msg(res, c));
			r = ERR_DB;
		}
		PQclear(res);
	}
	sent = 0;
 out:
	if (sent)
		while ((res = PQgetResult(c)) != NULL)
			PQclear(res);
	free(events);
	return r;
}

int
ops_log_head(PGconn *c, int64_t *seq, char *err, size_t errlen)
{
	PGresult *res;
	int r = 0;

	*seq = 0;
	res = PQexec(c, "SELECT coalesce(max(seq), 0) "
	    "FROM texp_control.audit_log");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		err_set(err, errlen, "audit log: %s", pq_msg(res, c));
		r = ERR_DB;
	} else
		*seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

static int
dup_or_null(const char *s, const char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return (*out = strdup(s)) != NULL ? 0 : ERR_NOMEM;
}

int
ops_rows_add(struct ops_rows *rows, const struct ops_row *row)
{
	struct ops_row *nv, *d;
	size_t ncap;

	if (rows->n >= OPS_ROWS_MAX)
		return ERR_LIMIT;
	if (rows->n == rows->cap) {
		ncap = rows->cap == 0 ? 64 : rows->cap * 2;
		if ((nv = reallocarray(rows->v, ncap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		rows->v = nv;
		rows->cap = ncap;
	}
	d = &rows->v[rows->n];
	*d = *row;
	d->event = d->principal = d->tenant = d->job = d->detail = NULL;
	rows->n++;
	if (dup_or_null(row->event, &d->event) != 0 ||
	    dup_or_null(row->principal, &d->principal) != 0 ||
	    dup_or_null(row->tenant, &d->tenant) != 0 ||
	    dup_or_null(row->job, &d->job) != 0 ||
	    dup_or_null(row->detail, &d->detail) != 0)
		return ERR_NOMEM;
	return 0;
}

void
ops_rows_clear(struct ops_rows *rows)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < rows->n; i++) {
		free((char *)rows->v[i].event);
		free((char *)rows->v[i].principal);
		free((char *)rows->v[i].tenant);
		free((char *)rows->v[i].job);
		free((char *)rows->v[i].detail);
	}
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

char *
ops_detail_str(const char *detail, const char *key)
{
	json_t *o, *v;
	char *s = NULL, num[32];

	if (detail == NULL || (o = json_loads(detail, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return NULL;
	v = json_object_get(o, key);
	if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = strdup(num);
	}
	json_decref(o);
	return s;
}

int
ops_detail_int(const char *detail, const char *key, int64_t *v)
{
	json_t *o, *x;
	int r = ERR_NOENT;

	*v = 0;
	if (detail == NULL || (o = json_loads(detail, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return ERR_NOENT;
	x = json_object_get(o, key);
	if (json_is_integer(x)) {
		*v = (int64_t)json_integer_value(x);
		r = 0;
	}
	json_decref(o);
	return r;
}
