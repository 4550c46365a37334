#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "beneath.h"
#include "builder.h"
#include "bundle.h"
#include "child.h"
#include "config.h"
#include "db.h"
#include "dcbor.h"
#include "err.h"
#include "export.h"
#include "file.h"
#include "lint.h"
#include "manifest.h"
#include "minisig.h"
#include "outbox.h"
#include "pgtype.h"
#include "plan.h"
#include "provision.h"
#include "relay.h"
#include "sandbox.h"
#include "seal.h"
#include "signkey.h"
#include "text.h"
#include "throttle.h"
#include "tokscan.h"
#include "verify.h"

#define CHECK_MAX	(MANIFEST_MAX_BYTES + 65536 + VERIFY_MAX_HITS * 80)
#define SCRYPT_LOG_N	18	/* age's default work factor */
/*
 * Ciphertext the monitor takes from the builder ahead of the checker:
 * enough that neither waits on the other's scheduling, bounded so a
 * slow checker still holds the builder back. The queue is allocated
 * once, at twice that, so moving what is left to its front happens at
 * most once per PEND_HIGH bytes queued.
 */
#define PEND_HIGH	(4u << 20)
#define PUMP_READ	(1u << 20)	/* the builder's pipe holds as much */
#define PEND_ALLOC	(2 * PEND_HIGH + PUMP_READ)

static volatile sig_atomic_t interrupted;	/* the signal's number */

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* Short type names the verifier knows for tenant keys. */
static const char *
tenant_type_name(uint32_t oid)
{
	switch (oid) {
	case 20: return "int8";
	case 21: return "int2";
	case 23: return "int4";
	case 25: return "text";
	case 1043: return "varchar";
	case 2950: return "uuid";
	}
	return NULL;
}

struct plan_table {
	const struct config_table *ct;
	struct db_columns *cols;
};

struct run {
	const struct export_request *req;
	struct export_result *res;
	char *err;
	size_t errlen;
	struct provision *prov;
	struct relay_link *link;	/* the builder's connection */
	struct child relay;		/* the database relay (relay.h) */
	uint64_t cpu0_ms;		/* the monitor's CPU time at the start */
	char *snapshot;			/* as the relay read it */
	char *exported;			/* probe mode: pg_export_snapshot() of
					 * the relay's session, or "" */
	struct plan_table *plan;
	size_t nplan;
	struct manifest *pre;
	struct builder_table *bt;
	struct age_recipient **rcp;
	size_t nrcp;
	uint8_t *file_key;		/* sodium_malloc'd */
	int outdir;
	int dirfd;			/* the tenant's files directory
					 * (beneath.h), or -1 */
	int lockfd;			/* outbox.h: this export runs */
	const char *outdir_path;
	char base[128];			/* the archive's file name */
	struct seal_writer *sw;
	struct buf *check;		/* checker's answer */
	struct buf *hdr;		/* the age header, as written */
	struct signkey *own_key;	/* when the request brought none */
	uint64_t deadline_ms;		/* time_limit, CLOCK_MONOTONIC */
#ifdef TEXP_TEST_HOOKS
	char *test_needle;		/* a copy of a secret, for "scan" */
#endif
	struct sigaction old_int, old_term, old_hup, old_pipe, old_xfsz;
};

static int
table_wanted(const struct export_request *q, const struct config_table *t)
{
	char full[IDENT_QNAME_MAX];
	size_t i;

	if (t->cls == CONFIG_CLASS_EXCLUDED)
		return 0;
	if (t->cls == CONFIG_CLASS_GLOBAL && !q->include_global)
		return 0;
	if (q->ntables == 0)
		return 1;
	(void)config_table_qname(t, full, sizeof(full));
	for (i = 0; i < q->ntables; i++)
		if (strcmp(q->tables[i], full) == 0)
			return 1;
	return 0;
}

/* Every --tables entry must name a configured, exportable table. */
static int
check_table_args(struct run *rn)
{
	const struct export_request *q = rn->req;
	const struct config_table *t;
	char full[IDENT_QNAME_MAX];
	size_t i, k, n = config_table_count(q->cfg);

	for (i = 0; i < q->ntables; i++) {
		for (k = 0; k < n; k++) {
			t = config_table_at(q->cfg, k);
			(void)config_table_qname(t, full, sizeof(full));
			if (strcmp(full, q->tables[i]) == 0)
				break;
		}
		if (k == n) {
			err_set(rn->err, rn->errlen, "table \"%.100s\" is not in "
			    "the configuration", q->tables[i]);
			return ERR_USAGE;
		}
		if (t->cls == CONFIG_CLASS_EXCLUDED) {
			err_set(rn->err, rn->errlen, "table \"%.100s\" is "
			    "classified excluded and is never exported",
			    q->tables[i]);
			return ERR_USAGE;
		}
		if (t->cls == CONFIG_CLASS_GLOBAL && !q->include_global) {
			err_set(rn->err, rn->errlen, "table \"%.100s\" is global "
			    "reference data: add --include-global", q->tables[i]);
			return ERR_USAGE;
		}
	}
	return 0;
}

static char *
quote_ident(PGconn *c, const char *s)
{
	return PQescapeIdentifier(c, s, strlen(s));
}

/*
 * The select list of one table into sel, its column types as COPY will
 * send them into b->oids, and its columns into the preamble (*idx).
 */
static int
plan_select(struct run *rn, PGconn *c, size_t i, struct buf *sel,
    int64_t *tcol, size_t *idx)
{
	const struct config_table *t = rn->plan[i].ct;
	const struct db_columns *dc = rn->plan[i].cols;
	struct builder_table *b = &rn->bt[i];
	char full[IDENT_QNAME_MAX], *id;
	size_t k;
	int r;

	(void)config_table_qname(t, full, sizeof(full));
	if ((b->oids = calloc(dc->n ? dc->n : 1, sizeof(*b->oids))) == NULL)
		return ERR_NOMEM;
	b->ncols = dc->n;
	*tcol = -1;
	buf_reset(sel);
	for (k = 0; k < dc->n; k++) {
		if (dc->col[k].is_tenant_key)
			*tcol = (int64_t)k;
		if ((id = quote_ident(c, dc->col[k].name)) == NULL) {
			err_set(rn->err, rn->errlen, "database: %s",
			    PQerrorMessage(c));
			return ERR_DB;
		}
		/* Types without a binary decoder travel as their output
		 * function's text (format() calls it; a plain ::text cast
		 * differs for inet, bool, bpchar). */
		b->oids[k] = pgtype_supported(dc->col[k].type_oid) ?
		    dc->col[k].type_oid : 25;
		if (b->oids[k] == dc->col[k].type_oid)
			r = buf_putf(sel, "%s%s", k ? ", " : "", id);
		else
			r = buf_putf(sel, "%sCASE WHEN %s IS NULL THEN "
			    "NULL ELSE format('%%s', %s) END", k ? ", " :
			    "", id, id);
		PQfreemem(id);
		if (r != 0)
			return r;
	}
	if ((r = manifest_add_table(rn->pre, full,
	    t->cls == CONFIG_CLASS_TENANT ? *tcol : -1, idx)) != 0)
		return r;
	for (k = 0; k < dc->n; k++)
		if ((r = manifest_add_column(rn->pre, *idx,
		    dc->col[k].name, dc->col[k].type_name)) != 0)
			return r;
	return 0;
}

/* The escaped literals every COPY shares: tenant and date window. */
struct plan_lits {
	char *tenant, *since, *until;
	const char *ttype;
};

/* "COPY (SELECT sel FROM t WHERE tenant filter AND window) TO STDOUT
 * (FORMAT binary)" into sql, NUL-terminated. */
static int
plan_copy(struct run *rn, PGconn *c, size_t i, const struct buf *sel,
    int64_t tcol, const struct plan_lits *l, struct buf *sql)
{
	const struct config_table *t = rn->plan[i].ct;
	struct builder_table *b = &rn->bt[i];
	char *sch = NULL, *tbl = NULL, *id = NULL, *dcol = NULL;
	int r = ERR_NOMEM;

	if ((sch = quote_ident(c, t->schema)) == NULL ||
	    (tbl = quote_ident(c, t->name)) == NULL)
		goto dberr;
	if (t->cls == CONFIG_CLASS_TENANT) {
		if (tcol < 0) {
			err_set(rn->err, rn->errlen, "table \"%s.%s\" has no "
			    "tenant column \"%s\"", t->schema, t->name,
			    t->tenant_key);
			r = ERR_POLICY;
			goto out;
		}
		if ((id = quote_ident(c, t->tenant_key)) == NULL)
			goto dberr;
	}
	buf_reset(sql);
	r = buf_put_str(sql, "COPY (SELECT ");
	r |= buf_put(sql, buf_ptr(sel), buf_len(sel));
	r |= buf_putf(sql, " FROM %s.%s", sch, tbl);
	if (r != 0) {
		r = ERR_NOMEM;
		goto out;
	}
#ifdef TEXP_TEST_HOOKS
	/* Test builds read without the filter to show RLS holds. */
	if ((b->widen_sql = malloc(buf_len(sql) + 64)) == NULL)
		goto out;
	snprintf(b->widen_sql, buf_len(sql) + 64, "%.*s) TO STDOUT "
	    "(FORMAT binary)", (int)buf_len(sql), (const char *)buf_ptr(sql));
#endif
	/* Defence in depth: RLS scopes the session, and the query still
	 * names the tenant. COPY takes no bind parameters, so the value is
	 * an escaped literal with an explicit cast. */
	if (t->cls == CONFIG_CLASS_TENANT &&
	    (r = buf_putf(sql, " WHERE %s = %s::%s", id, l->tenant,
	    l->ttype)) != 0)
		goto out;
	if (t->date_column != NULL && (l->since || l->until)) {
		if ((dcol = quote_ident(c, t->date_column)) == NULL)
			goto dberr;
		r = buf_putf(sql, " %s", t->cls == CONFIG_CLASS_TENANT ?
		    "AND" : "WHERE");
		if (l->since)
			r |= buf_putf(sql, " %s >= %s", dcol, l->since);
		if (l->since && l->until)
			r |= buf_put_str(sql, " AND");
		if (l->until)
			r |= buf_putf(sql, " %s < %s", dcol, l->until);
		if (r != 0) {
			r = ERR_NOMEM;
			goto out;
		}
	}
	if ((r = buf_put_str(sql, ") TO STDOUT (FORMAT binary)")) != 0 ||
	    (r = buf_put_u8(sql, 0)) != 0)
		goto out;
	r = (b->copy_sql = strdup((const char *)buf_ptr(sql))) == NULL ?
	    ERR_NOMEM : 0;
	goto out;
 dberr:
	err_set(rn->err, rn->errlen, "database: %s", PQerrorMessage(c));
	r = ERR_DB;
 out:
	PQfreemem(sch);
	PQfreemem(tbl);
	PQfreemem(id);
	PQfreemem(dcol);
	return r;
}

static char *
escape_literal(PGconn *c, const char *s)
{
	return s == NULL ? NULL : PQescapeLiteral(c, s, strlen(s));
}

/* The files table's place in the preamble, and its path column's. */
static int
plan_files(struct run *rn, size_t i, size_t idx)
{
	const struct config_files *f = config_files(rn->req->cfg);
	const struct config_table *t = rn->plan[i].ct;
	const struct db_columns *dc = rn->plan[i].cols;
	size_t k;

	if (!rn->req->include_files || strcmp(t->schema, f->schema) != 0 ||
	    strcmp(t->name, f->table) != 0)
		return 0;
	for (k = 0; k < dc->n; k++)
		if (strcmp(dc->col[k].name, f->path_column) == 0)
			break;
	if (k == dc->n) {
		err_set(rn->err, rn->errlen, "files: the files table has no "
		    "readable column [files] path_column names");
		return ERR_POLICY;
	}
	rn->pre->has_files = 1;
	rn->pre->files_table = idx;
	rn->pre->files_path = k;
	return 0;
}

/* Builds the COPY statements and the preamble's table list. */
static int
plan_sql(struct run *rn, PGconn *c, const char *ttype_sql)
{
	const struct export_request *q = rn->req;
	struct plan_lits l = { NULL, NULL, NULL, ttype_sql };
	struct buf *sel = NULL, *sql = NULL;
	size_t i, idx;
	int64_t tcol;
	int r = ERR_NOMEM;

	if ((rn->bt = calloc(rn->nplan, sizeof(*rn->bt))) == NULL ||
	    (sel = buf_new(1 << 20)) == NULL || (sql = buf_new(1 << 20)) == NULL)
		goto out;
	if ((l.tenant = escape_literal(c, q->tenant)) == NULL ||
	    (q->since != NULL && (l.since = escape_literal(c, q->since)) == NULL) ||
	    (q->until != NULL && (l.until = escape_literal(c, q->until)) == NULL)) {
		err_set(rn->err, rn->errlen, "database: %s", PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	for (i = 0; i < rn->nplan; i++)
		if ((r = plan_select(rn, c, i, sel, &tcol, &idx)) != 0 ||
		    (r = plan_files(rn, i, idx)) != 0 ||
		    (r = plan_copy(rn, c, i, sel, tcol, &l, sql)) != 0)
			goto out;
	r = 0;
 out:
	PQfreemem(l.tenant);
	PQfreemem(l.since);
	PQfreemem(l.until);
	buf_free(sel);
	buf_free(sql);
	return r;
}

static int
load_recipients(struct run *rn)
{
	const struct export_request *q = rn->req;
	const char *const *list = q->recipients;
	size_t n = q->nrecipients, i;
	int r;

	if (q->passphrase != NULL) {
		if ((rn->rcp = calloc(1, sizeof(*rn->rcp))) == NULL)
			return ERR_NOMEM;
		rn->nrcp = 1;
		return age_recipient_passphrase(q->passphrase,
		    strlen(q->passphrase), SCRYPT_LOG_N, &rn->rcp[0]);
	}
	if (n == 0) {
		err_set(rn->err, rn->errlen, "no recipients: the job names "
		    "neither recipients nor a passphrase");
		return ERR_CONFIG;
	}
	if ((rn->rcp = calloc(n, sizeof(*rn->rcp))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((r = age_recipient_parse(list[i], &rn->rcp[i])) != 0) {
			err_set(rn->err, rn->errlen, "recipient \"%.80s\" is not "
			    "a valid age recipient", list[i]);
			return ERR_CONFIG;
		}
		rn->nrcp++;
	}
	return 0;
}

/* Peak RSS of the largest child reaped so far. */
static long
children_rss(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_CHILDREN, &ru) == 0 ? ru.ru_maxrss : 0;
}

/*
 * The monitor's loop while the children run: the builder's ciphertext
 * goes to the outbox and, in the same order, to the checker, which proves
 * it as it arrives; the checker's answer is collected at the end. At most
 * one chunk waits for the checker: a slow checker slows the builder down.
 * The loop stops, killing every child, the moment a child dies on its own
 * with a failure, a limit is passed, or a signal arrives.
 */
struct pump {
	struct run *rn;
	struct child *b, *k, *r;
	struct buf *pend;	/* ciphertext the checker has not taken yet */
	uint8_t *chunk;
	int b_done;		/* the builder's stream ended */
	uint64_t total;		/* archive bytes written */
	uint64_t stall_ms;
	int stop;		/* the monitor's own reason (err code) */
	struct throttle th;	/* [export] max_rows/bytes_per_second */
	int busy;		/* the tick said the database is busy */
	int full;		/* test builds: an outbox with no space */
	uint64_t next_tick;	/* CLOCK_MONOTONIC ms */
	uint64_t start_ms, hold_start;
};

static void
pump_stop(struct pump *p, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stops everything for the monitor's own reason (the first one wins). */
static void
pump_stop(struct pump *p, int r, const char *fmt, ...)
{
	va_list ap;

	if (p->stop == 0) {
		va_start(ap, fmt);
		vsnprintf(p->rn->err, p->rn->errlen, fmt, ap);
		va_end(ap);
		p->stop = r;
	}
	child_kill(p->b);
	child_kill(p->k);
	child_kill(p->r);
}

static void
pump_write_error(struct pump *p, int e)
{
	const char *dir = p->rn->outdir_path;

	if (e == ENOSPC || e == EDQUOT) {
		/* it may clear: worth another attempt later */
		p->rn->res->transient = 1;
		pump_stop(p, ERR_IO, "writing the archive to the outbox \"%s\" "
		    "failed: no space left on its disk (%s); nothing was "
		    "published", dir, strerror(e));
	} else
		pump_stop(p, ERR_IO, "writing the archive to the outbox \"%s\" "
		    "failed: %s; nothing was published", dir, strerror(e));
}

/* What the builder wrote, up to PUMP_READ bytes at a time: read into the
 * checker's queue, written to the outbox from there. */
static void
pump_data(struct pump *p)
{
	const struct config_export *ce = config_export(p->rn->req->cfg);
	uint8_t *dst;
	ssize_t n;

	if (buf_reserve(p->pend, PUMP_READ, &dst) != 0) {
		pump_stop(p, ERR_INTERNAL, "the checker's queue overflowed");
		return;
	}
	n = read(p->b->data, dst, PUMP_READ);
	(void)buf_unput(p->pend, PUMP_READ - (n > 0 ? (size_t)n : 0));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		p->b->data_open = 0;
		p->b_done = 1;
		p->k->last = child_now_ms();	/* its last stretch starts */
		p->rn->res->build_ms = p->k->last - p->start_ms;
		return;
	}
	/* a checker that is gone takes nothing more */
	if (p->k->in < 0)
		(void)buf_unput(p->pend, (size_t)n);
	p->b->last = child_now_ms();
#ifdef TEXP_TEST_HOOKS
	if (p->full) {
		pump_write_error(p, ENOSPC);
		return;
	}
#endif
	p->total += (uint64_t)n;
	if (p->total > ce->max_archive_size) {
		pump_stop(p, ERR_CHILD, "the archive grew past [export] "
		    "max_archive_size (%llu bytes); stopped, nothing was "
		    "published", (unsigned long long)ce->max_archive_size);
		return;
	}
	/* probe mode writes nothing: the ciphertext goes to the checker */
	if (p->rn->sw != NULL &&
	    seal_writer_write(p->rn->sw, dst, (size_t)n) != 0)
		pump_write_error(p, errno);
}

/* Hands queued ciphertext to the checker without blocking; closes its
 * input once the builder's stream has ended and everything went. */
static void
pump_feed(struct pump *p)
{
	ssize_t n;

	if (p->k->in < 0)
		return;
	if (buf_len(p->pend) > 0) {
		n = write(p->k->in, buf_ptr(p->pend), buf_len(p->pend));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n < 0) {
			/* The checker is gone: its exit status tells why. */
			buf_reset(p->pend);
			close(p->k->in);
			p->k->in = -1;
			return;
		}
		buf_consume(p->pend, (size_t)n);
		p->k->last = child_now_ms();
		/* The builder could not go on while the checker lagged. */
		if (buf_len(p->pend) == 0)
			p->b->last = p->k->last;
	}
	if (buf_len(p->pend) == 0 && p->b_done) {
		close(p->k->in);
		p->k->in = -1;
	}
}

/* Wall clock and progress: a child that shows no sign of work for
 * stall_timeout is stuck (or spinning) and is killed. */
static void
pump_limits(struct pump *p)
{
	const struct config_export *ce = config_export(p->rn->req->cfg);
	uint64_t now = child_now_ms();

	if (now >= p->rn->deadline_ms) {
		pump_stop(p, ERR_CHILD, "the export ran longer than [export] "
		    "time_limit (%llu s); stopped, nothing was published",
		    (unsigned long long)ce->time_limit);
		return;
	}
	/* The relay's "busy": the builder waits on the server. */
	if (!p->b->exited && buf_len(p->pend) == 0 &&
	    now - (p->b->last > p->r->last ? p->b->last : p->r->last) >
	    p->stall_ms) {
		pump_stop(p, ERR_CHILD, "the builder made no progress for %llu "
		    "s ([export] stall_timeout); it was killed, nothing was "
		    "published", (unsigned long long)ce->stall_timeout);
		return;
	}
	if (!p->k->exited && (buf_len(p->pend) > 0 || p->b_done) &&
	    now - p->k->last > p->stall_ms)
		pump_stop(p, ERR_CHILD, "the checker made no progress for %llu "
		    "s ([export] stall_timeout); it was killed, nothing was "
		    "published", (unsigned long long)ce->stall_timeout);
}

/* A child that ended: on its own with a failure, everything stops (its
 * words are chosen later); the checker ending before the stream did too. */
static void
pump_exits(struct pump *p)
{
	/* The relay first: when it ends the session, the builder's failure
	 * only follows from it. */
	child_poll_exit(p->r);
	if (child_poll_exit(p->b))
		p->rn->res->builder_rss_kib = children_rss();
	child_poll_exit(p->k);
	/* A checker that ends while the builder still streams stopped
	 * reading; one that ends after the stream did waits for the
	 * builder's own exit (its descriptor closes before it is reaped). */
	if (child_failed(p->r) || child_failed(p->b) || child_failed(p->k) ||
	    (p->k->exited && !p->b->exited && !p->b_done)) {
		child_kill(p->b);
		child_kill(p->k);
		child_kill(p->r);
	}
}

static int
pump_done(const struct pump *p)
{
	return p->b->exited && p->k->exited && p->r->exited &&
	    !p->b->data_open && !p->b->log_open && !p->k->data_open &&
	    !p->k->log_open && !p->r->log_open;
}

static void
pump_progress(struct pump *p, uint64_t *seen)
{
	const struct export_request *q = p->rn->req;

	if (q->progress != NULL && p->b->rows != *seen) {
		*seen = p->b->rows;
		q->progress(q->progress_ctx, p->b->rows, p->b->bytes);
	}
}

static void
pump_checker_answer(struct pump *p)
{
	ssize_t n = read(p->k->data, p->chunk, 1 << 16);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || buf_put(p->rn->check, p->chunk, (size_t)n) != 0)
		p->k->data_open = 0;
}

/* The caller's tick, about once a second: it may stop the export, or
 * hold the builder back while the database is busy. */
static void
pump_tick(struct pump *p, uint64_t now)
{
	const struct export_request *q = p->rn->req;
	char why[512] = "";
	int r;

	if (q->tick == NULL || now < p->next_tick)
		return;
	p->next_tick = now + 1000;
	r = q->tick(q->tick_ctx, 0, why, sizeof(why));
	p->busy = r == EXPORT_TICK_HOLD;
	if (r < 0)
		pump_stop(p, r, "%s", why[0] ? why : err_str(r));
}

/*
 * How long to hold the builder back from now (ms; 0: read on): the
 * throttle's budget, and while the database is busy, until the next
 * tick. Held, the builder blocks on a full pipe: that is not its stall.
 */
static uint64_t
pump_hold(struct pump *p, uint64_t now)
{
	uint64_t w, bytes;

	if (p->b_done)
		return 0;
	bytes = p->b->bytes > p->total ? p->b->bytes : p->total;
	throttle_note(&p->th, p->b->rows, bytes);
	w = throttle_wait_ms(&p->th, now);
	if (p->busy && w < 1000)
		w = p->next_tick > now ? p->next_tick - now : 1;
	if (w > 0) {
		p->b->last = now;
		if (p->hold_start == 0)
			p->hold_start = now;
	} else if (p->hold_start != 0) {
		p->rn->res->held_ms += now - p->hold_start;
		p->hold_start = 0;
	}
	return w;
}

static int
pump_run(struct pump *p)
{
	const struct export_probe *pb = p->rn->req->probe;
	struct pollfd pfd[9];
	uint64_t seen = 0, hold, now;
	int i, timeout;

	while (!pump_done(p)) {
		if (interrupted)
			pump_stop(p, ERR_INTERRUPTED, "interrupted by SIG%s; "
			    "nothing was published", sigabbrev_np(interrupted) ?
			    sigabbrev_np(interrupted) : "?");
		now = child_now_ms();
		pump_tick(p, now);
		hold = pump_hold(p, now);
		if (pb != NULL && pb->should_stop != NULL &&
		    pb->should_stop(pb->ctx))
			pump_stop(p, ERR_INTERRUPTED, "stopped; nothing was "
			    "published");
		pump_limits(p);
		pfd[0].fd = p->b->data_open && !p->b_done && hold == 0 &&
		    buf_len(p->pend) < PEND_HIGH ? p->b->data : -1;
		pfd[1].fd = p->b->log_open ? p->b->log : -1;
		pfd[2].fd = p->k->data_open ? p->k->data : -1;
		pfd[3].fd = p->k->log_open ? p->k->log : -1;
		pfd[4].fd = p->k->in >= 0 && buf_len(p->pend) > 0 ? p->k->in : -1;
		pfd[5].fd = p->b->exited ? -1 : p->b->pidfd;
		pfd[6].fd = p->k->exited ? -1 : p->k->pidfd;
		pfd[7].fd = p->r->exited ? -1 : p->r->pidfd;
		pfd[8].fd = p->r->log_open ? p->r->log : -1;
		for (i = 0; i < 9; i++) {
			pfd[i].events = i == 4 ? POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		/* Without pidfds, exits are noticed by asking every 100 ms. */
		timeout = p->b->pidfd < 0 || p->k->pidfd < 0 ||
		    p->r->pidfd < 0 ? 100 : 1000;
		if (hold > 0 && hold < (uint64_t)timeout)
			timeout = (int)hold;
		if (poll(pfd, 9, timeout) < 0 && errno != EINTR)
			return ERR_IO;
		pump_exits(p);
		/* The log first: the builder's last progress line comes
		 * before its stream ends, and may hold the rest back. */
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			child_read_log(p->b);
			pump_progress(p, &seen);
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    pump_hold(p, child_now_ms()) == 0)
			pump_data(p);
		if (pfd[4].revents & (POLLOUT | POLLHUP | POLLERR) ||
		    (p->b_done && buf_len(p->pend) == 0))
			pump_feed(p);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
			pump_checker_answer(p);
		if (pfd[3].revents & (POLLIN | POLLHUP | POLLERR))
			child_read_log(p->k);
		if (pfd[8].revents & (POLLIN | POLLHUP | POLLERR))
			child_read_log(p->r);
		/* A killed child's pipes may be held open by nothing else:
		 * stop waiting for them once it is reaped. */
		if (p->stop != 0 || p->b->killed || p->k->killed ||
		    p->r->killed) {
			child_reap(p->r);
			child_reap(p->b);
			child_reap(p->k);
			child_drain_log(p->r);
			child_drain_log(p->b);
			child_drain_log(p->k);
			break;
		}
	}
	return p->stop;
}

static int accept_check(struct run *rn, uint8_t digest[EVIDENCE_HASH_LEN]);

/*
 * Why the children failed, when the monitor did not stop them itself:
 * the relay's (it ended the session: the builder left the plan, or the
 * server went away), then the builder's own words (a checker that saw a
 * cut stream only repeats them), then the checker's.
 */
static int
children_verdict(struct run *rn, const struct child *b, const struct child *k)
{
	const struct child *r = &rn->relay;

	if (child_failed(r)) {
		if (WIFEXITED(r->status) &&
		    WEXITSTATUS(r->status) == RELAY_EXIT_LOST) {
			/* worth another attempt (docs/CONTROL.md) */
			err_set(rn->err, rn->errlen, "%s", r->tail[0] ? r->tail :
			    "the database session was lost");
			return ERR_DB;
		}
		if (r->tail[0] != '\0')
			err_set(rn->err, rn->errlen, "%s", r->tail);
		else
			err_set(rn->err, rn->errlen, "database relay %s",
			    r->msg);
		return ERR_CHILD;
	}
	if (child_failed(b)) {
		/* The session went away (terminated, server restarted):
		 * another attempt may work. */
		if (strncmp(b->tail, "database: connection lost", 25) == 0)
			rn->res->transient = 1;
		if (b->tail[0] != '\0')
			err_set(rn->err, rn->errlen, "builder failed: %s",
			    b->tail);
		else
			err_set(rn->err, rn->errlen, "builder %s", b->msg);
		return ERR_CHILD;
	}
	if (child_failed(k)) {
		err_set(rn->err, rn->errlen, "checker %s%s%s", k->msg,
		    k->tail[0] ? ": " : "", k->tail);
		return ERR_CHILD;
	}
	if (!b->exited || !k->exited || b->killed || k->killed) {
		uint8_t digest[EVIDENCE_HASH_LEN];

		/* The checker stopped reading early: its answer says why.
		 * Even an "ok" is refused: it did not see every byte. */
		if (accept_check(rn, digest) == 0 || rn->err[0] == '\0')
			err_set(rn->err, rn->errlen, "the checker ended before "
			    "the archive was complete; nothing was published");
		return ERR_CHILD;
	}
	return 0;
}

#ifdef TEXP_TEST_HOOKS
/* Test builds: the attack of TEXP_TEST_ATTACK, on every attempt, or with
 * TEXP_TEST_ATTACK_ONCE on the first attempt of this process only (a
 * retried export then runs clean). */
static const char *
test_attack(void)
{
	static int runs;

	if (getenv("TEXP_TEST_ATTACK_ONCE") != NULL && runs++ > 0)
		return NULL;
	return getenv("TEXP_TEST_ATTACK");
}
#endif

/* Runs the builder and the checker side by side (builder.h). */
static int
run_children(struct run *rn)
{
	struct builder_job bj;
	struct checker_job cj;
	struct child b, k;
	struct pump p;
	uint8_t *room;
	int r, unused = -1;

	memset(&bj, 0, sizeof(bj));
	memset(&cj, 0, sizeof(cj));
	memset(&p, 0, sizeof(p));
	child_init(&b, "builder");
	child_init(&k, "checker");
	p.rn = rn;
	p.b = &b;
	p.k = &k;
	p.r = &rn->relay;
	p.stall_ms = config_export(rn->req->cfg)->stall_timeout * 1000;
	p.total = buf_len(rn->hdr);
	if ((rn->check = buf_new(CHECK_MAX)) == NULL ||
	    (p.pend = buf_new(PEND_ALLOC + buf_len(rn->hdr))) == NULL ||
	    (p.chunk = malloc(1 << 16)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	/* The checker first: it holds no database session at all. It reads
	 * the file from its first byte: the header the monitor wrote, then
	 * the builder's payload. */
	cj.tenant = rn->req->tenant;
	cj.watch = rn->req->probe != NULL ? rn->req->probe->watch : NULL;
#ifdef TEXP_TEST_HOOKS
	cj.attack = test_attack();
	/* not the builder's doing: the outbox is full while it writes */
	p.full = cj.attack != NULL && strcmp(cj.attack, "outbox-full") == 0;
#endif
	cj.cpu_seconds = (unsigned)config_export(rn->req->cfg)->cpu_limit;
	memcpy(cj.file_key, rn->file_key, AGE_FILE_KEY_LEN);
	r = child_start(&k, checker_main, &cj, 1, &cj.out_fd, &cj.log_fd,
	    &cj.in_fd);
	sodium_memzero(cj.file_key, sizeof(cj.file_key));
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot start the checker");
		goto out;
	}
	if ((r = buf_reserve(p.pend, buf_max(p.pend), &room)) != 0 ||
	    (r = buf_unput(p.pend, buf_max(p.pend))) != 0 ||
	    (r = buf_put(p.pend, buf_ptr(rn->hdr), buf_len(rn->hdr))) != 0)
		goto out;

	bj.conn = relay_link_conn(rn->link);
	memcpy(bj.file_key, rn->file_key, AGE_FILE_KEY_LEN);
	bj.pre = rn->pre;
	bj.tables = rn->bt;
	bj.zstd = rn->req->zstd;
	bj.tenant = rn->req->tenant;
	bj.cpu_seconds = (unsigned)config_export(rn->req->cfg)->cpu_limit;
	/* a row rate is held by the builder's reports: frequent ones then */
	bj.progress_mask = config_export(rn->req->cfg)->max_rows_per_second ?
	    255 : 4095;
	bj.dir_fd = rn->dirfd;
#ifdef TEXP_TEST_HOOKS
	bj.attack = cj.attack;
	bj.attack_arg = rn->test_needle != NULL ? rn->test_needle :
	    getenv("TEXP_TEST_ATTACK_ARG");
#endif
	/* The builder must not inherit the checker's input pipe. */
	r = child_start(&b, builder_main, &bj, 0, &bj.out_fd, &bj.log_fd,
	    &unused);
	sodium_memzero(bj.file_key, sizeof(bj.file_key));
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot start the builder");
		child_kill(&k);
		goto out;
	}
	/* The builder owns its connection to the relay now. */
	relay_link_detach(rn->link);
	p.start_ms = child_now_ms();
	throttle_init(&p.th, config_export(rn->req->cfg)->max_rows_per_second,
	    config_export(rn->req->cfg)->max_bytes_per_second, p.start_ms);
	/* Throttled, a small pipe keeps little in flight beyond the budget
	 * (best effort: the default size also works). */
	if (throttle_on(&p.th))
		(void)fcntl(b.data, F_SETPIPE_SZ, 4096);
	if ((r = pump_run(&p)) == 0)
		r = children_verdict(rn, &b, &k);
	rn->res->bytes = p.total;
 out:
	child_kill(&b);
	child_kill(&k);
	child_kill(&rn->relay);
	child_reap(&b);
	child_reap(&k);
	child_reap(&rn->relay);
	if (rn->res->builder_rss_kib == 0)
		rn->res->builder_rss_kib = children_rss();
	rn->res->checker_rss_kib = children_rss();
	rn->res->builder_cpu_ms = b.cpu_ms;
	rn->res->checker_cpu_ms = k.cpu_ms;
	rn->res->relay_cpu_ms = rn->relay.cpu_ms;
	snprintf(rn->res->builder_status, sizeof(rn->res->builder_status),
	    "%s", b.msg);
	snprintf(rn->res->checker_status, sizeof(rn->res->checker_status),
	    "%s", k.msg);
	child_close(&b);
	child_close(&k);
	buf_free(p.pend);
	free(p.chunk);
	return r;
}

/* One "hit T C W RECORDS FIRST" line, bounds-checked: the checker read
 * hostile rows, so its words are checked like any other input. */
static int
accept_hit(struct run *rn, const char *line)
{
	const struct export_probe *pb = rn->req->probe;
	struct export_result *res = rn->res;
	struct verify_hit *h;
	unsigned long long t, c, w, nrec, first;

	if (pb == NULL || sscanf(line, "hit %llu %llu %llu %llu %llu", &t, &c,
	    &w, &nrec, &first) != 5 || w >= tokscan_count(pb->watch) ||
	    t >= rn->pre->ntables || c >= rn->pre->tables[t].ncolumns ||
	    res->nhits >= VERIFY_MAX_HITS)
		return ERR_FORMAT;
	if (res->hits == NULL && (res->hits = calloc(VERIFY_MAX_HITS,
	    sizeof(*res->hits))) == NULL)
		return ERR_NOMEM;
	h = &res->hits[res->nhits++];
	h->table = (size_t)t;
	h->column = (size_t)c;
	h->which = (size_t)w;
	h->records = nrec;
	h->first = h->last = first;
	return 0;
}

/* The checker's lines up to "manifest LEN": *ok, the first finding's
 * words and code, and (probe mode) its counts and hits. */
static int
accept_lines(struct run *rn, struct buf *b, int *ok, char *first,
    size_t firstlen, int *code_first, unsigned long long *mlen)
{
	const uint8_t *l;
	char line[600];
	unsigned long long v;
	size_t len;
	int code, n, r;

	if (buf_get_line(b, &l, &len, 64) != 0 || len != 13 ||
	    memcmp(l, "texp-check v1", 13) != 0 ||
	    buf_get_line(b, &l, &len, 64) != 0)
		return ERR_FORMAT;
	*ok = len == 2 && memcmp(l, "ok", 2) == 0;
	for (;;) {
		if (buf_get_line(b, &l, &len, sizeof(line) - 1) != 0)
			return ERR_FORMAT;
		memcpy(line, l, len);
		line[len] = '\0';
		if (sscanf(line, "finding %d %n", &code, &n) == 1) {
			if (first[0] == '\0') {
				text_escape(first, firstlen, line + n,
				    strlen(line + n));
				*code_first = code < 0 ? code : ERR_CHILD;
			}
			continue;
		}
		if (sscanf(line, "stat tenant_bad %llu", &v) == 1)
			rn->res->tenant_mismatches = v;
		else if (sscanf(line, "stat hits_dropped %llu", &v) == 1)
			rn->res->hits_dropped = v;
		else if (strncmp(line, "hit ", 4) == 0) {
			if ((r = accept_hit(rn, line)) != 0)
				return r;
		} else if (sscanf(line, "manifest %llu", mlen) == 1)
			return 0;
		else
			return ERR_FORMAT;
	}
}

/* The proven manifest: the one the monitor asked for; its counts go into
 * the result. */
static int
accept_manifest(struct run *rn, struct buf *b, unsigned long long mlen,
    uint8_t digest[EVIDENCE_HASH_LEN])
{
	struct buf *mb = NULL;
	struct manifest *m = NULL;
	const uint8_t *pre, *mbytes;
	size_t plen, i;
	int r = ERR_FORMAT;

	if (mlen == 0 || mlen > MANIFEST_MAX_BYTES ||
	    buf_get_ptr(b, (size_t)mlen, &mbytes) != 0 ||
	    buf_expect_end(b) != 0)
		goto out;
	if ((mb = buf_from(mbytes, (size_t)mlen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (manifest_decode(mb, &m, &pre, &plen) != 0)
		goto out;
	if ((r = plan_check(rn->pre, pre, plen, rn->err, rn->errlen)) != 0)
		goto out;
	if (memcmp(m->export_id, rn->pre->export_id, MANIFEST_ID_LEN) != 0 ||
	    memcmp(m->salt, rn->pre->salt, EVIDENCE_SALT_LEN) != 0 ||
	    memcmp(m->tenant_hash, rn->pre->tenant_hash, EVIDENCE_HASH_LEN) ||
	    m->created != rn->pre->created || m->expires != rn->pre->expires ||
	    m->ntables != rn->pre->ntables) {
		err_set(rn->err, rn->errlen, "the checker proved an archive "
		    "other than the one requested");
		r = ERR_MANIFEST;
		goto out;
	}
	free(rn->res->tables);
	rn->res->ntables = m->ntables;
	if ((rn->res->tables = calloc(m->ntables ? m->ntables : 1,
	    sizeof(*rn->res->tables))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	rn->res->records = 0;
	for (i = 0; i < m->ntables; i++) {
		if (strcmp(m->tables[i].name, rn->pre->tables[i].name) != 0) {
			err_set(rn->err, rn->errlen, "the checker proved other "
			    "tables than requested");
			r = ERR_MANIFEST;
			goto out;
		}
		snprintf(rn->res->tables[i].name, sizeof(rn->res->tables[i].name),
		    "%s", m->tables[i].name);
		rn->res->tables[i].records = m->tables[i].records;
		rn->res->records += m->tables[i].records;
	}
	manifest_digest(mbytes, (size_t)mlen, digest);
	free(rn->res->receipt);
	if ((rn->res->receipt = malloc((size_t)mlen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	memcpy(rn->res->receipt, mbytes, (size_t)mlen);
	rn->res->receipt_len = (size_t)mlen;
	r = 0;
 out:
	manifest_free(m);
	buf_free(mb);
	return r;
}

/*
 * Reads the checker's answer; the proven manifest must be the one the
 * monitor asked for. In probe mode a refused archive still yields its
 * counts and hits (res->check_ok says whether it was proven) and is not
 * an error: the leak test judges it.
 */
static int
accept_check(struct run *rn, uint8_t digest[EVIDENCE_HASH_LEN])
{
	struct buf *b = buf_from(buf_ptr(rn->check), buf_len(rn->check));
	char first[600] = "";
	unsigned long long mlen = 0;
	int ok = 0, code = ERR_CHILD, r;

	if (b == NULL)
		return ERR_NOMEM;
	rn->res->nhits = 0;
	if ((r = accept_lines(rn, b, &ok, first, sizeof(first), &code,
	    &mlen)) != 0) {
		if (r == ERR_NOMEM)
			goto out;
		goto bad;
	}
	rn->res->check_ok = ok;
	if (!ok) {
		err_set(rn->err, rn->errlen, "the checker refused the archive: "
		    "%s", first[0] ? first : "no reason given");
		r = code;
		if (rn->req->probe == NULL || mlen == 0)
			goto out;
	}
	if ((r = accept_manifest(rn, b, mlen, digest)) != 0) {
		if (r == ERR_FORMAT)
			goto bad;
		goto out;
	}
	r = ok || rn->req->probe != NULL ? 0 : code;
	goto out;
 bad:
	err_set(rn->err, rn->errlen, "the checker's answer is malformed");
	r = ERR_CHILD;
 out:
	buf_free(b);
	return r;
}

static uint64_t
tenant_records(const struct run *rn)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < rn->res->ntables; i++)
		if (rn->pre->tables[i].tenant_column >= 0)
			n += rn->res->tables[i].records;
	return n;
}

/* "what the outbox "DIR": no space left ..." or the system's reason. */
static void
outbox_error(struct run *rn, const char *what, int e)
{
	/* a full disk may clear: worth another attempt later */
	rn->res->transient = e == ENOSPC || e == EDQUOT;
	if (e == ENOSPC || e == EDQUOT)
		err_set(rn->err, rn->errlen, "%s the outbox \"%s\": no space "
		    "left on its disk (%s); nothing was published", what,
		    rn->outdir_path, strerror(e));
	else
		err_set(rn->err, rn->errlen, "%s the outbox \"%s\": %s; "
		    "nothing was published", what, rn->outdir_path,
		    e != 0 ? strerror(e) : "input/output error");
}

static int
sign_and_publish(struct run *rn, const uint8_t digest[EVIDENCE_HASH_LEN])
{
	struct minisig_seckey *sk = NULL;
	struct seal_claims c;
	int r, e;

	/* An object to sign with only now, after every child has exited:
	 * until then the key sat in pages the children saw as zeros. */
	if ((r = signkey_get(rn->req->signkey != NULL ? rn->req->signkey :
	    rn->own_key, &sk)) != 0) {
		err_set(rn->err, rn->errlen, "the signing key loaded before the "
		    "export is unreadable: %s", err_str(r));
		return r;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.export_id, rn->pre->export_id, sizeof(c.export_id));
	memcpy(c.tenant_hash, rn->pre->tenant_hash, sizeof(c.tenant_hash));
	c.created = rn->pre->created;
	c.expires = rn->pre->expires;
	memcpy(c.manifest_digest, digest, sizeof(c.manifest_digest));
	errno = 0;
	r = seal_writer_publish(rn->sw, sk, &c);
	e = errno;
	minisig_seckey_free(sk);
	if (r == ERR_IO)
		outbox_error(rn, "cannot publish the signed archive in", e);
	else if (r != 0)
		err_set(rn->err, rn->errlen, "publishing the archive failed: %s",
		    err_str(r));
	if (r != 0)
		return r;
	rn->res->parts = c.parts;
	return 0;
}

int
export_check_outbox(const struct config *cfg, char *err, size_t errlen)
{
	const char *dir = config_export(cfg)->outbox;
	int dfd, fd, r;

	if ((r = config_check_export(cfg, err, errlen)) != 0)
		return r;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err_set(err, errlen, "the outbox \"%s\" %s", dir,
		    errno == ENOTDIR ? "is not a directory" : errno == ENOENT ?
		    "does not exist" : strerror(errno));
		return ERR_IO;
	}
	/* a nameless file: nothing to clean up, nothing seen by others */
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR) &&
	    faccessat(dfd, ".", W_OK, AT_EACCESS) == 0)
		fd = dup(dfd);
	if (fd < 0) {
		err_set(err, errlen, "the outbox \"%s\" is not writable by "
		    "this account: %s", dir, strerror(errno));
		close(dfd);
		return ERR_IO;
	}
	close(fd);
	close(dfd);
	return 0;
}

/* ---- the export's story, one step each ---- */

/* The request on its own: tenant, tables, recipients, outbox. */
/* --files needs a [files] section whose table the export reads. */
static int
check_files_args(struct run *rn)
{
	const struct export_request *q = rn->req;
	const struct config_files *f = config_files(q->cfg);
	const struct config_table *t;

	if (!q->include_files)
		return 0;
	if (f == NULL) {
		err_set(rn->err, rn->errlen, "files were asked for, but the "
		    "configuration has no [files] section");
		return ERR_USAGE;
	}
	t = config_table_find(q->cfg, f->schema, f->table);
	if (t == NULL || !table_wanted(q, t)) {
		err_set(rn->err, rn->errlen, "files were asked for, but the "
		    "files table is not among the tables exported");
		return ERR_USAGE;
	}
	if (beneath_check_name(q->tenant) != 0) {
		err_set(rn->err, rn->errlen, "files were asked for, but the "
		    "tenant key cannot name a directory");
		return ERR_USAGE;
	}
	return 0;
}

/*
 * The tenant's files directory, opened here and handed to the builder
 * alone: root/<tenant>, no symbolic link at any level.
 */
static int
open_files_dir(struct run *rn)
{
	const struct config_files *f = config_files(rn->req->cfg);
	const char *why = "cannot open";
	int r;

	if (!rn->req->include_files)
		return 0;
	r = beneath_open_dir(f->root, rn->req->tenant, &rn->dirfd, &why);
	if (r != 0) {
		err_set(rn->err, rn->errlen, "files: the tenant's directory "
		    "under \"%s\" cannot be opened: %s; nothing was "
		    "published", f->root, why);
		return r;
	}
	return 0;
}

static int
step_validate(struct run *rn)
{
	const struct export_request *q = rn->req;
	const struct config_export *ce = config_export(q->cfg);
	int r;

	if (sodium_init() < 0)
		return ERR_INTERNAL;
	if ((r = config_check_export(q->cfg, rn->err, rn->errlen)) != 0)
		return r;
	/* the signing key first: a key that cannot sign must stop the
	 * export before a row is read */
	if (q->signkey == NULL && (r = signkey_load(q->cfg, &rn->own_key,
	    rn->err, rn->errlen)) != 0)
		return r;
	if (q->tenant == NULL || q->tenant[0] == '\0') {
		err_set(rn->err, rn->errlen, "no tenant given");
		return ERR_USAGE;
	}
	if ((r = check_table_args(rn)) != 0 || (r = check_files_args(rn)) != 0 ||
	    (r = load_recipients(rn)) != 0)
		return r;
	if (q->probe != NULL)
		return 0;	/* writes nothing */
	rn->outdir_path = q->outdir ? q->outdir : ce->outbox;
	if (rn->outdir_path == NULL) {
		err_set(rn->err, rn->errlen, "no outbox: set outbox in [export] "
		    "or give --out");
		return ERR_CONFIG;
	}
	if ((rn->outdir = open(rn->outdir_path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		err_set(rn->err, rn->errlen, "cannot open the outbox \"%s\": %s",
		    rn->outdir_path, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

/*
 * The database must meet the policy before any export; the monitor's own
 * login happens in a helper process (provision.h), which lints and
 * creates the export role.
 */
static int
step_provision(struct run *rn)
{
	const struct export_request *q = rn->req;
	/* the helper is a fork of this process: tick_ctx is valid there */
	struct provision_opts o = { q->abandoned, q->abandoned_ctx, 0,
	    q->last_word, q->tick_ctx };

	_Static_assert(EXPORT_UNSAID == PROVISION_UNSAID, "one value");
	o.no_lint = q->probe != NULL;
	return provision_start_opts(q->cfg, q->job_hash, &o, &rn->prov, rn->err,
	    rn->errlen);
}

/* Milliseconds a setup step may wait for the relay: up to the wall-clock
 * limit (logging in and reading the catalogs is the database's time, not
 * a stall of a child's). */
static int
wait_budget(const struct run *rn)
{
	uint64_t now = child_now_ms(), ms;

	if (now >= rn->deadline_ms)
		return 1;
	ms = rn->deadline_ms - now;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/*
 * The database relay: it logs in as the export role (the password goes
 * to it alone and is wiped here), reads the snapshot and the columns of
 * the wanted tables, and serves the builder's connection.
 */
static int
start_relay(struct run *rn, const struct config_table **tables,
    struct db_columns **cols)
{
	struct relay_job j;
	size_t i;
	int r;

	for (i = 0; i < rn->nplan; i++)
		tables[i] = rn->plan[i].ct;
	if ((r = relay_link_open(provision_role(rn->prov), &rn->link,
	    rn->err, rn->errlen)) != 0)
		return r;
	memset(&j, 0, sizeof(j));
	j.cfg = rn->req->cfg;
	j.role = provision_role(rn->prov);
	j.password = provision_password(rn->prov);
	j.tenant = rn->req->tenant;
	j.tables = tables;
	j.ntables = rn->nplan;
	j.peer_fd = relay_link_peer(rn->link);
	j.cpu_seconds = (unsigned)config_export(rn->req->cfg)->cpu_limit;
	j.export_snapshot = rn->req->probe != NULL &&
	    rn->req->probe->on_snapshot != NULL;
#ifdef TEXP_TEST_HOOKS
	if (getenv("TEXP_TEST_ATTACK") != NULL &&
	    strcmp(getenv("TEXP_TEST_ATTACK"), "scan-role") == 0 &&
	    (rn->test_needle = strdup(j.password)) == NULL)
		return ERR_NOMEM;
#endif
	r = child_start(&rn->relay, relay_main, &j, 1, &j.out_fd, &j.log_fd,
	    &j.in_fd);
	/* The builder is forked later from this process: the password must
	 * be gone from it by then. */
	provision_forget_password(rn->prov);
	relay_link_close_peer(rn->link);
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot start the database relay");
		return r;
	}
	/* The plan is written in one go, blocking. */
	(void)fcntl(rn->relay.in, F_SETFL, 0);
	r = relay_answer_read(rn->relay.data, rn->nplan, wait_budget(rn),
	    &rn->snapshot, &rn->exported, cols, rn->err, rn->errlen);
	for (i = 0; r == 0 && i < rn->nplan; i++)
		rn->plan[i].cols = cols[i];
	close(rn->relay.data);
	rn->relay.data = -1;
	rn->relay.data_open = 0;
	if (r == ERR_CHILD) {
		/* it died or hung: its own last words say more */
		child_kill(&rn->relay);
		child_reap(&rn->relay);
		child_drain_log(&rn->relay);
		if (rn->relay.tail[0] != '\0')
			err_set(rn->err, rn->errlen, "database relay: %s",
			    rn->relay.tail);
	}
	return r;
}

/* The tables to read, their columns (read by the relay), and the one
 * type of their tenant columns (*ttype). */
static int
plan_tables(struct run *rn, const char **ttype)
{
	const struct export_request *q = rn->req;
	const struct config_table **tables = NULL;
	struct db_columns **cols = NULL;
	uint32_t toid = 0;
	size_t i, k, n = config_table_count(q->cfg);
	int r;

	if ((rn->plan = calloc(n ? n : 1, sizeof(*rn->plan))) == NULL ||
	    (tables = calloc(n ? n : 1, sizeof(*tables))) == NULL ||
	    (cols = calloc(n ? n : 1, sizeof(*cols))) == NULL) {
		free(tables);
		return ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
		if (table_wanted(q, config_table_at(q->cfg, i)))
			rn->plan[rn->nplan++].ct = config_table_at(q->cfg, i);
	if (rn->nplan == 0) {
		free(tables);
		free(cols);
		err_set(rn->err, rn->errlen, "no table to export");
		return ERR_USAGE;
	}
	r = start_relay(rn, tables, cols);
	free(tables);
	free(cols);
	if (r != 0)
		return r;
	for (i = 0; i < rn->nplan; i++) {
		const struct config_table *t = rn->plan[i].ct;
		struct plan_table *p = &rn->plan[i];

		if (t->cls != CONFIG_CLASS_TENANT)
			continue;
		for (k = 0; k < p->cols->n; k++) {
			if (!p->cols->col[k].is_tenant_key)
				continue;
			if (toid != 0 && toid != p->cols->col[k].type_oid) {
				err_set(rn->err, rn->errlen, "tenant columns have "
				    "different types (table \"%s.%s\")",
				    t->schema, t->name);
				return ERR_POLICY;
			}
			toid = p->cols->col[k].type_oid;
		}
	}
	if (toid == 0)
		toid = 25;	/* only global tables: the key is still text */
	if ((*ttype = tenant_type_name(toid)) == NULL) {
		err_set(rn->err, rn->errlen, "tenant columns of type oid %u are "
		    "not supported (use uuid, text, varchar or an integer)", toid);
		return ERR_UNSUPPORTED;
	}
	return 0;
}

/* The preamble: everything known before the first row. */
static int
plan_preamble(struct run *rn, const char *ttype)
{
	const struct export_request *q = rn->req;
	const struct config_export *ce = config_export(q->cfg);
	struct buf *tv = NULL;
	char snapshot[512];
	int r = ERR_NOMEM;

	if ((rn->pre = manifest_new()) == NULL || (tv = buf_new(1024)) == NULL)
		goto out;
	if ((r = verify_tenant_value(ttype, q->tenant, tv)) != 0) {
		err_set(rn->err, rn->errlen, "tenant \"%.64s\" is not a valid %s",
		    q->tenant, ttype);
		r = ERR_USAGE;
		goto out;
	}
	if (q->export_id != NULL)
		memcpy(rn->pre->export_id, q->export_id,
		    sizeof(rn->pre->export_id));
	else
		randombytes_buf(rn->pre->export_id,
		    sizeof(rn->pre->export_id));
	randombytes_buf(rn->pre->salt, sizeof(rn->pre->salt));
	evidence_tenant_hash(rn->pre->salt, buf_ptr(tv), buf_len(tv),
	    rn->pre->tenant_hash);
	rn->pre->created = (uint64_t)time(NULL);
	rn->pre->expires = rn->pre->created +
	    (ce->expiry ? ce->expiry : 72 * 3600);
	rn->pre->include_global = q->include_global;
	rn->pre->compression = q->zstd;
	if ((r = manifest_set_str(&rn->pre->tenant_type, ttype)) != 0 ||
	    (r = manifest_set_str(&rn->pre->since, q->since)) != 0 ||
	    (r = manifest_set_str(&rn->pre->until, q->until)) != 0)
		goto out;
	snprintf(snapshot, sizeof(snapshot), "system_identifier=%s snapshot=%s",
	    provision_sysid(rn->prov), rn->snapshot);
	r = manifest_set_str(&rn->pre->snapshot, snapshot);
 out:
	buf_free(tv);
	return r;
}

/*
 * Probe mode: the relay session's exported snapshot, for counts in the
 * same snapshot. Called while the relay waits for the plan: its
 * transaction, and so the snapshot, is still open.
 */
static int
plan_snapshot(struct run *rn)
{
	const struct export_probe *pb = rn->req->probe;
	int r;

	if (pb == NULL || pb->on_snapshot == NULL)
		return 0;
	if (rn->exported == NULL || rn->exported[0] == '\0') {
		err_set(rn->err, rn->errlen, "the database relay exported no "
		    "snapshot");
		return ERR_CHILD;
	}
	if ((r = pb->on_snapshot(pb->ctx, rn->exported)) != 0 &&
	    rn->err[0] == '\0')
		err_set(rn->err, rn->errlen, "counting rows in the export's "
		    "snapshot failed: %s", err_str(r));
	return r;
}

/* The plan goes to the relay: from now on only these statements, in
 * this order, reach the server. */
static int
plan_send(struct run *rn)
{
	const char **stmts;
	size_t i;
	int r;

	if ((stmts = calloc(rn->nplan, sizeof(*stmts))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < rn->nplan; i++)
		stmts[i] = rn->bt[i].copy_sql;
	r = relay_plan_write(rn->relay.in, stmts, rn->nplan);
	free(stmts);
	close(rn->relay.in);
	rn->relay.in = -1;
	if (r != 0)
		err_set(rn->err, rn->errlen, "the database relay did not take "
		    "the plan");
	return r;
}

/* What to read and how: tables, columns, preamble, COPY statements. */
static int
step_plan(struct run *rn)
{
	const char *ttype = NULL;
	int r;

	if ((r = plan_tables(rn, &ttype)) != 0 ||
	    (r = plan_preamble(rn, ttype)) != 0 ||
	    (r = relay_link_finish(rn->link, wait_budget(rn), rn->err,
	    rn->errlen)) != 0 ||
	    (r = plan_sql(rn, relay_link_conn(rn->link), ttype)) != 0 ||
	    (r = plan_snapshot(rn)) != 0)
		return r;
	return plan_send(rn);
}

/*
 * The archive: the monitor writes the age header itself (the builder only
 * ever sees the file key it must encrypt with), then the children build
 * and check the rest into hidden temporary files in the outbox.
 */
static int
step_build(struct run *rn)
{
	struct tm tm;
	time_t now = (time_t)rn->pre->created;
	char hex[33];
	int r;

	if ((rn->hdr = buf_new(1 << 20)) == NULL ||
	    (rn->file_key = sodium_malloc(AGE_FILE_KEY_LEN)) == NULL)
		return ERR_NOMEM;
	age_file_key_generate(rn->file_key);
	if ((r = age_header_write(rn->rcp, rn->nrcp, rn->file_key,
	    rn->hdr)) != 0)
		return r;
	evidence_hex(rn->pre->export_id, sizeof(rn->pre->export_id), hex);
	gmtime_r(&now, &tm);
	snprintf(rn->base, sizeof(rn->base), "export-%04d%02d%02d-%s.texp",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hex);
	/* The helper cleans up if this process is killed from here on;
	 * locked before the first temporary exists, so that sweep leaves a
	 * running export alone. Probe mode writes nothing. */
	if (rn->req->probe == NULL &&
	    (r = provision_track_temp(rn->prov, rn->outdir, rn->base)) != 0) {
		err_set(rn->err, rn->errlen, "the database helper is gone");
		return ERR_CHILD;
	}
	if (rn->req->probe == NULL &&
	    (r = outbox_lock(rn->outdir, rn->base, &rn->lockfd)) != 0) {
		err_set(rn->err, rn->errlen, "cannot lock the export in the "
		    "outbox \"%s\": %s", rn->outdir_path, r == ERR_EXISTS ?
		    "the name is taken" : strerror(errno));
		return r;
	}
	if (rn->req->probe == NULL && ((r = seal_writer_new(rn->outdir,
	    rn->base, config_export(rn->req->cfg)->part_size, &rn->sw)) != 0 ||
	    (r = seal_writer_write(rn->sw, buf_ptr(rn->hdr),
	    buf_len(rn->hdr))) != 0)) {
		outbox_error(rn, "cannot write to", errno);
		return r;
	}
	if ((r = open_files_dir(rn)) != 0 || (r = run_children(rn)) != 0)
		return r;
	if (rn->sw != NULL && (r = seal_writer_close(rn->sw)) != 0) {
		outbox_error(rn, "cannot sync the archive in", errno);
		return r;
	}
	return 0;
}

/* The checker's proof, then the rules that depend on what it counted. */
static int
step_check(struct run *rn, uint8_t digest[EVIDENCE_HASH_LEN])
{
	const struct export_request *q = rn->req;
	const struct export_result *res = rn->res;
	int r;

	if ((r = accept_check(rn, digest)) != 0 || q->probe != NULL)
		return r;
	/* A scope that did not look high-risk may still turn out large:
	 * then it is held for an approval instead of published. */
	if (q->max_records != 0 && res->records > q->max_records) {
		err_set(rn->err, rn->errlen, "the export holds %llu records, "
		    "over the high-risk threshold of %llu: it needs an approval; "
		    "nothing was published",
		    (unsigned long long)res->records,
		    (unsigned long long)q->max_records);
		return ERR_LIMIT;
	}
	if (tenant_records(rn) == 0 && !q->allow_empty &&
	    !config_export(q->cfg)->allow_empty) {
		err_set(rn->err, rn->errlen, "no rows to export for this tenant "
		    "in the requested scope (or no such tenant); nothing was "
		    "published (--allow-empty exports an empty archive)");
		return ERR_EMPTY;
	}
	return 0;
}

/* The caller's tick between steps (export_request.tick): a job that was
 * cancelled stops before the next step, and its lease stays renewed. */
static int
step_tick(struct run *rn)
{
	int r;

	if (rn->req->tick == NULL)
		return 0;
	r = rn->req->tick(rn->req->tick_ctx, 0, rn->err, rn->errlen);
	return r < 0 ? r : 0;
}

#ifdef TEXP_TEST_HOOKS
/*
 * Test builds: with TEXP_TEST_PAUSE=WHAT, the monitor creates the file
 * STATE in $TEXP_TEST_STATE_DIR at that point and waits until the test
 * creates "release" there (for a test that fills the disk just then).
 */
static void
test_pause(const char *what, const char *state)
{
	const char *p = getenv("TEXP_TEST_PAUSE");
	const char *dir = getenv("TEXP_TEST_STATE_DIR");
	struct timespec ts = { 0, 100000000L };
	char path[4096];
	int fd;

	if (p == NULL || dir == NULL || strcmp(p, what) != 0)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, state);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/release", dir);
	while (access(path, F_OK) != 0 && !interrupted)
		nanosleep(&ts, NULL);
}
#endif

/* Drops the export role before the signing key is loaded, then signs
 * and renames into place. */
static int
step_sign(struct run *rn, const uint8_t digest[EVIDENCE_HASH_LEN])
{
	int r, said = 0;

	/* The last word before anything is published: the caller may have
	 * lost the job meanwhile (cancelled, taken over). Asked by the
	 * helper once the role is dropped when the caller gave last_word,
	 * else by the final tick. */
	r = provision_finish_word(rn->prov, &said, rn->err, rn->errlen);
	rn->prov = NULL;
	if (r != 0)
		return r;
#ifdef TEXP_TEST_HOOKS
	test_pause("sign", "signing");
#endif
	if (rn->req->tick != NULL && (r = rn->req->tick(rn->req->tick_ctx,
	    said ? EXPORT_TICK_SAID : 1, rn->err, rn->errlen)) < 0)
		return r;
	return sign_and_publish(rn, digest);
}

/* What the caller learns about the published archive. */
static void
step_publish(struct run *rn, const uint8_t digest[EVIDENCE_HASH_LEN])
{
	struct export_result *res = rn->res;

	memcpy(res->export_id, rn->pre->export_id, sizeof(res->export_id));
	memcpy(res->tenant_hash, rn->pre->tenant_hash, sizeof(res->tenant_hash));
	memcpy(res->manifest_digest, digest, EVIDENCE_HASH_LEN);
	res->created = rn->pre->created;
	res->expires = rn->pre->expires;
	res->monitor_cpu_ms = child_cpu_ms(RUSAGE_SELF, &res->monitor_rss_kib) -
	    rn->cpu0_ms;
	if (rn->req->probe == NULL)
		snprintf(res->archive, sizeof(res->archive), "%s/%s%s",
		    rn->outdir_path, rn->base, res->parts ? ".index" : "");
}

static void
signals_catch(struct run *rn)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &rn->old_int);
	sigaction(SIGTERM, &sa, &rn->old_term);
	sigaction(SIGHUP, &sa, &rn->old_hup);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &rn->old_pipe);
	sigaction(SIGXFSZ, &sa, &rn->old_xfsz);
	interrupted = 0;
}

static void
signals_restore(struct run *rn)
{
	sigaction(SIGINT, &rn->old_int, NULL);
	sigaction(SIGTERM, &rn->old_term, NULL);
	sigaction(SIGHUP, &rn->old_hup, NULL);
	sigaction(SIGPIPE, &rn->old_pipe, NULL);
	sigaction(SIGXFSZ, &rn->old_xfsz, NULL);
}

/* Everything a run holds; the role is dropped and unpublished
 * temporary files are removed here on every failure path. */
static void
run_free(struct run *rn)
{
	size_t i;

	/* The relay (and its session) first, then the role. */
	child_kill(&rn->relay);
	child_reap(&rn->relay);
	child_close(&rn->relay);
	relay_link_free(rn->link);
	free(rn->snapshot);
	free(rn->exported);
#ifdef TEXP_TEST_HOOKS
	free(rn->test_needle);
#endif
	if (rn->prov != NULL) {
		char e2[256];

		provision_finish(rn->prov, e2, sizeof(e2));
	}
	seal_writer_free(rn->sw);	/* removes unpublished temp files */
	outbox_unlock(rn->outdir, rn->base, rn->lockfd);
	if (rn->outdir >= 0)
		close(rn->outdir);
	if (rn->dirfd >= 0)
		close(rn->dirfd);
	if (rn->file_key != NULL)
		sodium_free(rn->file_key);
	for (i = 0; i < rn->nrcp; i++)
		age_recipient_free(rn->rcp[i]);
	free(rn->rcp);
	for (i = 0; i < rn->nplan; i++)
		db_columns_free(rn->plan[i].cols);
	free(rn->plan);
	if (rn->bt != NULL)
		for (i = 0; i < rn->nplan; i++) {
			free(rn->bt[i].copy_sql);
			free(rn->bt[i].widen_sql);
			free(rn->bt[i].oids);
		}
	free(rn->bt);
	manifest_free(rn->pre);
	buf_free(rn->hdr);
	buf_free(rn->check);
	signkey_free(rn->own_key);
}

int
export_run(const struct export_request *q, struct export_result *res,
    char *err, size_t errlen)
{
	struct run rn;
	uint8_t digest[EVIDENCE_HASH_LEN];
	int r;

	memset(&rn, 0, sizeof(rn));
	memset(res, 0, sizeof(*res));
	rn.req = q;
	rn.res = res;
	rn.err = err;
	rn.errlen = errlen;
	rn.outdir = -1;
	rn.dirfd = -1;
	rn.lockfd = -1;
	child_init(&rn.relay, "database relay");
	rn.cpu0_ms = child_cpu_ms(RUSAGE_SELF, NULL);
	rn.deadline_ms = child_now_ms() +
	    config_export(q->cfg)->time_limit * 1000;
	err_set(err, errlen, "%s", "");
	signals_catch(&rn);
	sandbox_prepare_process();
	/* UTF-8 character handling without locale files: libarchive then
	 * needs no iconv module inside the sandbox (glibc's C.UTF-8 is built
	 * in). Messages stay in the C locale. */
	setlocale(LC_CTYPE, "C.UTF-8");

	if ((r = step_validate(&rn)) == 0 &&
	    (r = step_tick(&rn)) == 0 &&
	    (r = step_provision(&rn)) == 0 &&
	    (r = step_tick(&rn)) == 0 &&
	    (r = step_plan(&rn)) == 0 &&
	    (r = step_build(&rn)) == 0 &&
	    (r = step_check(&rn, digest)) == 0 &&
	    (q->probe != NULL || (r = step_sign(&rn, digest)) == 0))
		step_publish(&rn, digest);
	run_free(&rn);
	signals_restore(&rn);
	/* The database or its session went away: worth another attempt. */
	if (r == ERR_DB)
		res->transient = 1;
	if (r != 0 && err[0] == '\0')
		err_set(err, errlen, "%s", err_str(r));
	return r;
}

void
export_result_clear(struct export_result *res)
{
	free(res->tables);
	free(res->receipt);
	free(res->hits);
	memset(res, 0, sizeof(*res));
}
