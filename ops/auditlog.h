/*
 * auditlog.h: the one place ops/ reads texp_control.audit_log.
 *
 * Rows are read by column name (seq, at, event, principal, tenant, job,
 * detail), never with "*", so columns the log gains later change nothing
 * here, and the chain itself is checked by control/audit.h's
 * audit_verify, not by this reader. Rows come one at a time (libpq's
 * single-row mode) to a callback: memory stays flat however long the log.
 *
 * Functions return 0 or a negative enum err code; err/errlen get a
 * one-line reason. Nothing here prints.
 */
#ifndef TEXP_OPS_AUDITLOG_H
#define TEXP_OPS_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* One audit row. Strings are NULL for SQL NULL; they (and the row) are
 * valid only during the callback: copy what you keep (ops_rows_add). */
struct ops_row {
	int64_t seq;
	int64_t at;		/* microseconds since the epoch */
	const char *event;
	const char *principal;
	const char *tenant;
	const char *job;	/* a job's reference, never its id */
	const char *detail;	/* jsonb text (an object), or NULL */
	int dow;		/* ISO weekday (1 = Monday) in the filter's zone */
	int minute;		/* minutes after midnight in the filter's zone */
	int flag;		/* for the caller (ops_rows_add keeps it) */
};

/* Which rows to read. Zeroed means every row, UTC. */
struct ops_log_filter {
	int64_t after_seq;		/* seq > after_seq */
	int64_t upto_seq;		/* seq <= upto_seq; 0: no bound */
	int64_t from_at;		/* at >= from_at (µs); 0: no bound */
	const char *tenant;		/* or NULL: every tenant */
	const char *job;		/* or NULL: every job */
	const char *const *events;	/* exact names, NULL-terminated */
	int problems;			/* and events ending in .denied or
					 * .failed; with events NULL and
					 * problems 0, every event */
	const char *tz;			/* zone of dow and minute; NULL: UTC */
};

/*
 * Calls fn for each row matching f, in seq order. A non-zero return from
 * fn stops the scan and is returned. ERR_DB (with the server's message)
 * when the query fails, for example on an unknown time zone.
 */
int ops_log_scan(PGconn *c, const struct ops_log_filter *f,
    int (*fn)(const struct ops_row *row, void *arg), void *arg, char *err,
    size_t errlen);

/* The highest seq in the log (0 when empty). */
int ops_log_head(PGconn *c, int64_t *seq, char *err, size_t errlen);

/* Rows kept past the callback: copies, in the order added. */
struct ops_rows {
	struct ops_row *v;
	size_t n, cap;
};
/* Appends a copy of row (its strings too). ERR_NOMEM, ERR_LIMIT past
 * OPS_ROWS_MAX rows. */
#define OPS_ROWS_MAX	(4u << 20)
int ops_rows_add(struct ops_rows *rows, const struct ops_row *row);
/* Frees the copies (not rows itself). Accepts NULL. */
void ops_rows_clear(struct ops_rows *rows);

/* A string field of a row's detail object: a malloc'd copy of a string
 * value, or of a number's decimal text; NULL when absent or another type
 * (or detail is not JSON). */
char *ops_detail_str(const char *detail, const char *key);
/* An integer field of a detail object: 0 with *v set, ERR_NOENT. */
int ops_detail_int(const char *detail, const char *key, int64_t *v);

#endif
