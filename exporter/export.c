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
#include "builder.h"
#include "bundle.h"
#include "config.h"
#include "db.h"
#include "dcbor.h"
#include "err.h"
#include "export.h"
#include "file.h"
#include "lint.h"
#include "manifest.h"
#include "minisig.h"
#include "pgtype.h"
#include "plan.h"
#include "provision.h"
#include "sandbox.h"
#include "seal.h"
#include "verify.h"

#define CHECK_MAX	(MANIFEST_MAX_BYTES + 65536)
#define SCRYPT_LOG_N	18	/* age's default work factor */

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
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
	struct db_export *dx;
	int detached;
	struct plan_table *plan;
	size_t nplan;
	struct manifest *pre;
	struct builder_table *bt;
	struct age_recipient **rcp;
	size_t nrcp;
	uint8_t *file_key;		/* sodium_malloc'd */
	int outdir;
	struct seal_writer *sw;
	struct buf *check;		/* checker's answer */
	struct buf *hdr;		/* the age header, as written */
	char log_tail[512];		/* last error line from a child */
};

static int
table_wanted(const struct export_request *q, const struct config_table *t)
{
	char full[2 * CONFIG_MAX_IDENT + 2];
	size_t i;

	if (t->cls == CONFIG_CLASS_EXCLUDED)
		return 0;
	if (t->cls == CONFIG_CLASS_GLOBAL && !q->include_global)
		return 0;
	if (q->ntables == 0)
		return 1;
	snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
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
	char full[2 * CONFIG_MAX_IDENT + 2];
	size_t i, k, n = config_table_count(q->cfg);

	for (i = 0; i < q->ntables; i++) {
		for (k = 0; k < n; k++) {
			t = config_table_at(q->cfg, k);
			snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
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

/* Builds the COPY statements and the preamble's table list. */
static int
plan_sql(struct run *rn, PGconn *c, const char *ttype_sql)
{
	const struct export_request *q = rn->req;
	struct buf *sel = NULL, *sql = NULL;
	char *id = NULL, *lit = NULL, *since = NULL, *until = NULL;
	char *sch = NULL, *tbl = NULL, *dcol = NULL;
	size_t i, k, idx;
	int r = ERR_NOMEM;

	if ((rn->bt = calloc(rn->nplan, sizeof(*rn->bt))) == NULL ||
	    (sel = buf_new(1 << 20)) == NULL || (sql = buf_new(1 << 20)) == NULL)
		goto out;
	if ((lit = PQescapeLiteral(c, q->tenant, strlen(q->tenant))) == NULL)
		goto dberr;
	if (q->since != NULL &&
	    (since = PQescapeLiteral(c, q->since, strlen(q->since))) == NULL)
		goto dberr;
	if (q->until != NULL &&
	    (until = PQescapeLiteral(c, q->until, strlen(q->until))) == NULL)
		goto dberr;
	for (i = 0; i < rn->nplan; i++) {
		const struct config_table *t = rn->plan[i].ct;
		const struct db_columns *dc = rn->plan[i].cols;
		struct builder_table *b = &rn->bt[i];
		int64_t tcol = -1;
		char full[2 * CONFIG_MAX_IDENT + 2];

		snprintf(full, sizeof(full), "%s.%s", t->schema, t->name);
		if ((b->oids = calloc(dc->n ? dc->n : 1, sizeof(*b->oids))) == NULL)
			goto out;
		b->ncols = dc->n;
		buf_reset(sel);
		for (k = 0; k < dc->n; k++) {
			if (dc->col[k].is_tenant_key)
				tcol = (int64_t)k;
			if ((id = quote_ident(c, dc->col[k].name)) == NULL)
				goto dberr;
			/* Types without a binary decoder travel as text. */
			if (pgtype_supported(dc->col[k].type_oid))
				b->oids[k] = dc->col[k].type_oid;
			else
				b->oids[k] = 25;
			/* Types without a binary decoder travel as their
			 * output function's text (format() calls it; a plain
			 * ::text cast differs for inet, bool, bpchar). */
			if (b->oids[k] == dc->col[k].type_oid)
				r = buf_putf(sel, "%s%s", k ? ", " : "", id);
			else
				r = buf_putf(sel, "%sCASE WHEN %s IS NULL THEN "
				    "NULL ELSE format('%%s', %s) END", k ? ", " :
				    "", id, id);
			if (r != 0)
				goto out;
			PQfreemem(id);
			id = NULL;
		}
		if ((r = manifest_add_table(rn->pre, full,
		    t->cls == CONFIG_CLASS_TENANT ? tcol : -1, &idx)) != 0)
			goto out;
		for (k = 0; k < dc->n; k++)
			if ((r = manifest_add_column(rn->pre, idx,
			    dc->col[k].name, dc->col[k].type_name)) != 0)
				goto out;
		if ((sch = quote_ident(c, t->schema)) == NULL ||
		    (tbl = quote_ident(c, t->name)) == NULL)
			goto dberr;
		if (t->cls == CONFIG_CLASS_TENANT) {
			if (tcol < 0) {
				err_set(rn->err, rn->errlen, "table \"%s\" has no "
				    "tenant column \"%s\"", full, t->tenant_key);
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
		    "(FORMAT binary)", (int)buf_len(sql),
		    (const char *)buf_ptr(sql));
#endif
		/* Defence in depth: RLS scopes the session, and the query
		 * still names the tenant. COPY takes no bind parameters, so
		 * the value is an escaped literal with an explicit cast. */
		if (t->cls == CONFIG_CLASS_TENANT &&
		    (r = buf_putf(sql, " WHERE %s = %s::%s", id, lit,
		    ttype_sql)) != 0)
			goto out;
		if (t->date_column != NULL && (since || until)) {
			if ((dcol = quote_ident(c, t->date_column)) == NULL)
				goto dberr;
			r = buf_putf(sql, " %s", t->cls == CONFIG_CLASS_TENANT ?
			    "AND" : "WHERE");
			if (since)
				r |= buf_putf(sql, " %s >= %s", dcol, since);
			if (since && until)
				r |= buf_put_str(sql, " AND");
			if (until)
				r |= buf_putf(sql, " %s < %s", dcol, until);
			PQfreemem(dcol);
			dcol = NULL;
			if (r != 0) {
				r = ERR_NOMEM;
				goto out;
			}
		}
		if ((r = buf_put_str(sql, ") TO STDOUT (FORMAT binary)")) != 0 ||
		    (r = buf_put_u8(sql, 0)) != 0)
			goto out;
		if ((b->copy_sql = strdup((const char *)buf_ptr(sql))) == NULL)
			goto out;
		PQfreemem(sch);
		PQfreemem(tbl);
		PQfreemem(id);
		sch = tbl = id = NULL;
	}
	r = 0;
	goto out;
 dberr:
	err_set(rn->err, rn->errlen, "database: %s", PQerrorMessage(c));
	r = ERR_DB;
 out:
	PQfreemem(id);
	PQfreemem(lit);
	PQfreemem(since);
	PQfreemem(until);
	PQfreemem(sch);
	PQfreemem(tbl);
	PQfreemem(dcol);
	buf_free(sel);
	buf_free(sql);
	return r;
}

static int
load_recipients(struct run *rn)
{
	const struct export_request *q = rn->req;
	const struct config_export *ce = config_export(q->cfg);
	const char *const *list = q->nrecipients ? q->recipients :
	    (const char *const *)ce->recipients;
	size_t n = q->nrecipients ? q->nrecipients : ce->nrecipients, i;
	int r;

	if (q->passphrase != NULL) {
		if ((rn->rcp = calloc(1, sizeof(*rn->rcp))) == NULL)
			return ERR_NOMEM;
		rn->nrcp = 1;
		return age_recipient_passphrase(q->passphrase,
		    strlen(q->passphrase), SCRYPT_LOG_N, &rn->rcp[0]);
	}
	if (n == 0) {
		err_set(rn->err, rn->errlen, "no recipients: set recipient in "
		    "[export], or give --recipient or --passphrase");
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

static void
read_log(struct run *rn, int fd, struct buf *lines, int *open_)
{
	uint8_t tmp[4096];
	const uint8_t *l;
	size_t len;
	ssize_t n;
	unsigned long long rows, bytes;

	n = read(fd, tmp, sizeof(tmp));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		*open_ = 0;
		return;
	}
	if (buf_put(lines, tmp, (size_t)n) != 0)
		buf_reset(lines);	/* a flood: drop, never grow */
	while (buf_get_line(lines, &l, &len, 1024) == 0) {
		char s[1025];

		memcpy(s, l, len);
		s[len] = '\0';
		if (sscanf(s, "progress %llu %llu", &rows, &bytes) == 2) {
			if (rn->req->progress != NULL)
				rn->req->progress(rn->req->progress_ctx, rows,
				    bytes);
		} else if (strncmp(s, "error ", 6) == 0)
			snprintf(rn->log_tail, sizeof(rn->log_tail), "%s", s + 6);
		else if (strncmp(s, "note ", 5) == 0 && getenv("TEXP_DEBUG_LOG"))
			fprintf(stderr, "tenant-export: child: %s\n", s + 5);
	}
	if (buf_len(lines) > 2048)
		buf_reset(lines);
}

/* Peak RSS of the largest child reaped so far. */
static long
children_rss(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_CHILDREN, &ru) == 0 ? ru.ru_maxrss : 0;
}

struct child {
	pid_t pid;
	int data;		/* builder: ciphertext out; checker: answer out */
	int log;
	int in;			/* checker only: ciphertext in (monitor writes) */
	int data_open;
	int log_open;
	struct buf *lines;
};

static void
child_close(struct child *c)
{
	if (c->data >= 0)
		close(c->data);
	if (c->log >= 0)
		close(c->log);
	if (c->in >= 0)
		close(c->in);
	c->data = c->log = c->in = -1;
	buf_free(c->lines);
	c->lines = NULL;
}

/*
 * Starts fn in a sandboxed child with a data pipe (child -> monitor), a
 * log pipe, and, when in_pipe, an input pipe (monitor -> child). The
 * child's ends are closed here; the monitor's are in c.
 */
static int
child_start(struct child *c, int (*fn)(void *), void *job, int in_pipe,
    int *child_out, int *child_log, int *child_in)
{
	int d[2] = { -1, -1 }, l[2] = { -1, -1 }, i[2] = { -1, -1 };
	int r = ERR_IO;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->data = c->log = c->in = -1;
	if ((c->lines = buf_new(8192)) == NULL)
		return ERR_NOMEM;
	if (pipe2(d, O_CLOEXEC) != 0 || pipe2(l, O_CLOEXEC) != 0 ||
	    (in_pipe && pipe2(i, O_CLOEXEC) != 0))
		goto out;
	*child_out = d[1];
	*child_log = l[1];
	*child_in = i[0];
	fflush(NULL);
	c->pid = sandbox_spawn(fn, job);
	if (c->pid < 0) {
		r = ERR_CHILD;
		goto out;
	}
	c->data = d[0];
	c->log = l[0];
	c->in = i[1];
	d[0] = l[0] = i[1] = -1;
	c->data_open = c->log_open = 1;
	r = 0;
 out:
	for (int k = 0; k < 2; k++) {
		if (d[k] >= 0)
			close(d[k]);
		if (l[k] >= 0)
			close(l[k]);
		if (i[k] >= 0)
			close(i[k]);
	}
	return r;
}

/*
 * The monitor's loop while both children run: the builder's ciphertext
 * goes to the outbox and, in the same order, to the checker, which proves
 * it as it arrives; the checker's answer is collected at the end. Nothing
 * is buffered beyond one chunk: a slow checker slows the builder down.
 */
static int
pump(struct run *rn, struct child *b, struct child *k)
{
	struct pollfd pfd[4];
	uint8_t *chunk = malloc(1 << 16);
	ssize_t n;
	int r = 0, write_err = 0;

	if (chunk == NULL)
		return ERR_NOMEM;
	while (b->data_open || b->log_open || k->data_open || k->log_open) {
		if (interrupted) {
			kill(b->pid, SIGKILL);
			kill(k->pid, SIGKILL);
			r = ERR_INTERRUPTED;
			break;
		}
		pfd[0].fd = b->data_open ? b->data : -1;
		pfd[1].fd = b->log_open ? b->log : -1;
		pfd[2].fd = k->data_open ? k->data : -1;
		pfd[3].fd = k->log_open ? k->log : -1;
		for (int i = 0; i < 4; i++)
			pfd[i].events = POLLIN;
		if (poll(pfd, 4, 1000) < 0) {
			if (errno == EINTR)
				continue;
			r = ERR_IO;
			break;
		}
		if (b->data_open && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(b->data, chunk, 1 << 16);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				b->data_open = 0;
				/* end of the stream for the checker too */
				if (k->in >= 0)
					close(k->in);
				k->in = -1;
			} else if (!write_err) {
				if (seal_writer_write(rn->sw, chunk, (size_t)n) != 0) {
					/* Disk full or similar: stop both. */
					write_err = ERR_IO;
					err_set(rn->err, rn->errlen, "writing the "
					    "archive to the outbox failed: %s",
					    strerror(errno));
					kill(b->pid, SIGKILL);
					kill(k->pid, SIGKILL);
				} else if (k->in >= 0 &&
				    builder_write_all(k->in, chunk, (size_t)n) != 0) {
					/* The checker died: its status tells. */
					close(k->in);
					k->in = -1;
				}
			}
		}
		if (b->log_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_log(rn, b->log, b->lines, &b->log_open);
		if (k->data_open && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(k->data, chunk, 1 << 16);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || buf_put(rn->check, chunk, (size_t)n) != 0)
				k->data_open = 0;
		}
		if (k->log_open && (pfd[3].revents & (POLLIN | POLLHUP | POLLERR)))
			read_log(rn, k->log, k->lines, &k->log_open);
	}
	free(chunk);
	return r != 0 ? r : write_err;
}

/* Runs the builder and the checker side by side (builder.h). */
static int
run_children(struct run *rn)
{
	struct builder_job bj;
	struct checker_job cj;
	struct child b, k;
	char bmsg[256] = "", kmsg[256] = "";
	int r, rb = 0, rk = 0, st, unused = -1;

	memset(&bj, 0, sizeof(bj));
	memset(&cj, 0, sizeof(cj));
	memset(&b, 0, sizeof(b));
	memset(&k, 0, sizeof(k));
	b.pid = k.pid = -1;
	b.data = b.log = b.in = k.data = k.log = k.in = -1;
	if ((rn->check = buf_new(CHECK_MAX)) == NULL)
		return ERR_NOMEM;

	/* The checker first: it holds no database session at all. */
	cj.tenant = rn->req->tenant;
	memcpy(cj.file_key, rn->file_key, AGE_FILE_KEY_LEN);
	r = child_start(&k, checker_main, &cj, 1, &cj.out_fd, &cj.log_fd,
	    &cj.in_fd);
	sodium_memzero(cj.file_key, sizeof(cj.file_key));
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot start the checker");
		goto out;
	}
	/* The checker reads the file from its first byte: the header the
	 * monitor wrote, then the builder's payload. */
	if (builder_write_all(k.in, buf_ptr(rn->hdr), buf_len(rn->hdr)) != 0) {
		close(k.in);
		k.in = -1;
	}

	bj.conn = db_export_conn(rn->dx);
	memcpy(bj.file_key, rn->file_key, AGE_FILE_KEY_LEN);
	bj.pre = rn->pre;
	bj.tables = rn->bt;
	bj.zstd = rn->req->zstd;
	bj.tenant = rn->req->tenant;
#ifdef TEXP_TEST_HOOKS
	bj.attack = getenv("TEXP_TEST_ATTACK");
	bj.attack_arg = getenv("TEXP_TEST_ATTACK_ARG");
#endif
	/* The builder must not inherit the checker's input pipe. */
	r = child_start(&b, builder_main, &bj, 0, &bj.out_fd, &bj.log_fd,
	    &unused);
	sodium_memzero(bj.file_key, sizeof(bj.file_key));
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot start the builder");
		kill(k.pid, SIGKILL);
		goto reap;
	}
	/* The builder owns the database session now. */
	db_export_detach(rn->dx);
	rn->detached = 1;
	r = pump(rn, &b, &k);
 reap:
	if (b.pid > 0) {
		rb = sandbox_wait(b.pid, bmsg, sizeof(bmsg), &st);
		rn->res->builder_rss_kib = children_rss();
	}
	if (k.pid > 0) {
		rk = sandbox_wait(k.pid, kmsg, sizeof(kmsg), &st);
		rn->res->checker_rss_kib = children_rss();
	}
	snprintf(rn->res->builder_status, sizeof(rn->res->builder_status),
	    "%s", bmsg);
	snprintf(rn->res->checker_status, sizeof(rn->res->checker_status),
	    "%s", kmsg);
	if (r == ERR_INTERRUPTED) {
		err_set(rn->err, rn->errlen, "interrupted; nothing was "
		    "published");
		goto out;
	}
	if (r != 0)
		goto out;
	if (rb != 0) {
		/* The builder's own words first; a checker that saw a cut
		 * stream only repeats them. */
		if (rn->log_tail[0] != '\0' && b.pid > 0)
			err_set(rn->err, rn->errlen, "builder failed: %s",
			    rn->log_tail);
		else
			err_set(rn->err, rn->errlen, "builder %s", bmsg);
		r = ERR_CHILD;
		goto out;
	}
	if (rk != 0) {
		err_set(rn->err, rn->errlen, "checker %s%s%s", kmsg,
		    rn->log_tail[0] ? ": " : "", rn->log_tail);
		r = ERR_CHILD;
		goto out;
	}
	r = 0;
 out:
	child_close(&b);
	child_close(&k);
	return r;
}

/* Reads the checker's answer; the proven manifest must be the one the
 * monitor asked for. */
static int
accept_check(struct run *rn, uint8_t digest[EVIDENCE_HASH_LEN])
{
	struct buf *b = buf_from(buf_ptr(rn->check), buf_len(rn->check));
	struct buf *mb = NULL;
	struct manifest *m = NULL;
	const uint8_t *l, *pre, *mbytes;
	char line[600], first[600] = "";
	size_t len, plen, i;
	unsigned long long mlen;
	int ok = 0, code, r = ERR_CHILD, n;

	if (b == NULL)
		return ERR_NOMEM;
	if (buf_get_line(b, &l, &len, 64) != 0 || len != 13 ||
	    memcmp(l, "texp-check v1", 13) != 0)
		goto bad;
	if (buf_get_line(b, &l, &len, 64) != 0)
		goto bad;
	ok = len == 2 && memcmp(l, "ok", 2) == 0;
	for (;;) {
		if (buf_get_line(b, &l, &len, sizeof(line) - 1) != 0)
			goto bad;
		memcpy(line, l, len);
		line[len] = '\0';
		if (sscanf(line, "finding %d %n", &code, &n) == 1) {
			if (first[0] == '\0') {
				snprintf(first, sizeof(first), "%s", line + n);
				r = code < 0 ? code : ERR_CHILD;
			}
			continue;
		}
		if (sscanf(line, "manifest %llu", &mlen) == 1)
			break;
		goto bad;
	}
	if (!ok) {
		err_set(rn->err, rn->errlen, "the checker refused the archive: "
		    "%s", first[0] ? first : "no reason given");
		goto out;
	}
	if (mlen == 0 || mlen > MANIFEST_MAX_BYTES ||
	    buf_get_ptr(b, (size_t)mlen, &mbytes) != 0 ||
	    buf_expect_end(b) != 0)
		goto bad;
	if ((mb = buf_from(mbytes, (size_t)mlen)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (manifest_decode(mb, &m, &pre, &plen) != 0)
		goto bad;
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
	rn->res->ntables = m->ntables;
	if ((rn->res->tables = calloc(m->ntables, sizeof(*rn->res->tables)))
	    == NULL) {
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
	goto out;
 bad:
	err_set(rn->err, rn->errlen, "the checker's answer is malformed");
	r = ERR_CHILD;
 out:
	manifest_free(m);
	buf_free(mb);
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

static int
sign_and_publish(struct run *rn, const uint8_t digest[EVIDENCE_HASH_LEN])
{
	const struct config_export *ce = config_export(rn->req->cfg);
	struct minisig_seckey *sk = NULL;
	struct seal_claims c;
	char *pass = NULL;
	size_t passlen = 0;
	int r;

	/* Loaded only now, after every child has exited: no child ever had
	 * a copy of it. */
	if (rn->req->sign_pass_file != NULL &&
	    (r = file_read_secret_line(rn->req->sign_pass_file, 4096, &pass,
	    &passlen)) != 0) {
		err_set(rn->err, rn->errlen, "cannot read the signing key "
		    "passphrase file \"%s\": %s", rn->req->sign_pass_file,
		    err_str(r));
		return r;
	}
	r = minisig_seckey_load(ce->signing_key, pass, passlen, &sk);
	if (pass != NULL)
		sodium_free(pass);
	if (r != 0) {
		err_set(rn->err, rn->errlen, "cannot load the signing key "
		    "\"%s\": %s%s", ce->signing_key, err_str(r),
		    r == ERR_PASSPHRASE ? " (give --sign-passphrase-file)" : "");
		return r;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.export_id, rn->pre->export_id, sizeof(c.export_id));
	memcpy(c.tenant_hash, rn->pre->tenant_hash, sizeof(c.tenant_hash));
	c.created = rn->pre->created;
	c.expires = rn->pre->expires;
	memcpy(c.manifest_digest, digest, sizeof(c.manifest_digest));
	r = seal_writer_publish(rn->sw, sk, &c);
	minisig_seckey_free(sk);
	if (r != 0) {
		err_set(rn->err, rn->errlen, "publishing the archive failed: %s",
		    err_str(r));
		return r;
	}
	rn->res->parts = c.parts;
	return 0;
}

int
export_run(const struct export_request *q, struct export_result *res,
    char *err, size_t errlen)
{
	const struct config_export *ce = config_export(q->cfg);
	struct run rn;
	struct buf *tv = NULL, *hdr = NULL;
	struct sigaction sa, old_int, old_term, old_pipe, old_xfsz;
	const char *ttype = NULL, *outdir;
	uint32_t toid = 0;
	uint8_t digest[EVIDENCE_HASH_LEN];
	char *snap = NULL, base[128], hex[33], snapshot[512];
	size_t i, n;
	int r;

	memset(&rn, 0, sizeof(rn));
	memset(res, 0, sizeof(*res));
	rn.req = q;
	rn.res = res;
	rn.err = err;
	rn.errlen = errlen;
	rn.outdir = -1;
	err_set(err, errlen, "%s", "");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	sigaction(SIGXFSZ, &sa, &old_xfsz);
	interrupted = 0;
	sandbox_prepare_process();
	/* UTF-8 character handling without locale files: libarchive then
	 * needs no iconv module inside the sandbox (glibc's C.UTF-8 is built
	 * in). Messages stay in the C locale. */
	setlocale(LC_CTYPE, "C.UTF-8");

	if (sodium_init() < 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	if ((r = config_check_export(q->cfg, err, errlen)) != 0 &&
	    !(q->nrecipients > 0 || q->passphrase != NULL))
		goto out;
	if (q->tenant == NULL || q->tenant[0] == '\0') {
		err_set(err, errlen, "no tenant given");
		r = ERR_USAGE;
		goto out;
	}
	if ((r = check_table_args(&rn)) != 0 || (r = load_recipients(&rn)) != 0)
		goto out;
	outdir = q->outdir ? q->outdir : ce->outbox;
	if (outdir == NULL) {
		err_set(err, errlen, "no outbox: set outbox in [export] or give "
		    "--out");
		r = ERR_CONFIG;
		goto out;
	}
	if ((rn.outdir = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err_set(err, errlen, "cannot open the outbox \"%s\": %s", outdir,
		    strerror(errno));
		r = ERR_IO;
		goto out;
	}

	/* The database must meet the policy before any export; the
	 * monitor's own login happens in a helper process (provision.h). */
	if ((r = provision_start(q->cfg, q->tenant, &rn.prov, err,
	    errlen)) != 0)
		goto out;
	/* The scoped session: its tenant is fixed by the role it logs in as. */
	if ((r = db_export_connect(q->cfg, provision_role(rn.prov),
	    provision_password(rn.prov), q->tenant, &rn.dx, err, errlen)) != 0)
		goto out;
	n = config_table_count(q->cfg);
	if ((rn.plan = calloc(n ? n : 1, sizeof(*rn.plan))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct config_table *t = config_table_at(q->cfg, i);
		struct plan_table *p;

		if (!table_wanted(q, t))
			continue;
		p = &rn.plan[rn.nplan++];
		p->ct = t;
		if ((r = db_table_columns(db_export_conn(rn.dx), t, &p->cols,
		    err, errlen)) != 0)
			goto out;
		if (t->cls != CONFIG_CLASS_TENANT)
			continue;
		for (size_t k = 0; k < p->cols->n; k++) {
			if (!p->cols->col[k].is_tenant_key)
				continue;
			if (toid != 0 && toid != p->cols->col[k].type_oid) {
				err_set(err, errlen, "tenant columns have "
				    "different types (table \"%s.%s\")",
				    t->schema, t->name);
				r = ERR_POLICY;
				goto out;
			}
			toid = p->cols->col[k].type_oid;
		}
	}
	if (rn.nplan == 0) {
		err_set(err, errlen, "no table to export");
		r = ERR_USAGE;
		goto out;
	}
	if (toid == 0)
		toid = 25;	/* only global tables: the key is still text */
	if ((ttype = tenant_type_name(toid)) == NULL) {
		err_set(err, errlen, "tenant columns of type oid %u are not "
		    "supported (use uuid, text, varchar or an integer)", toid);
		r = ERR_UNSUPPORTED;
		goto out;
	}

	/* The preamble: everything known before the first row. */
	if ((rn.pre = manifest_new()) == NULL ||
	    (tv = buf_new(1024)) == NULL || (hdr = buf_new(1 << 20)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = verify_tenant_value(ttype, q->tenant, tv)) != 0) {
		err_set(err, errlen, "tenant \"%.64s\" is not a valid %s",
		    q->tenant, ttype);
		r = ERR_USAGE;
		goto out;
	}
	randombytes_buf(rn.pre->export_id, sizeof(rn.pre->export_id));
	randombytes_buf(rn.pre->salt, sizeof(rn.pre->salt));
	evidence_tenant_hash(rn.pre->salt, buf_ptr(tv), buf_len(tv),
	    rn.pre->tenant_hash);
	rn.pre->created = (uint64_t)time(NULL);
	rn.pre->expires = rn.pre->created + (ce->expiry ? ce->expiry : 72 * 3600);
	rn.pre->include_global = q->include_global;
	rn.pre->compression = q->zstd;
	if ((r = manifest_set_str(&rn.pre->tenant_type, ttype)) != 0 ||
	    (r = manifest_set_str(&rn.pre->since, q->since)) != 0 ||
	    (r = manifest_set_str(&rn.pre->until, q->until)) != 0)
		goto out;
	if ((r = db_snapshot_current(db_export_conn(rn.dx), &snap, err,
	    errlen)) != 0)
		goto out;
	snprintf(snapshot, sizeof(snapshot), "system_identifier=%s snapshot=%s",
	    provision_sysid(rn.prov), snap);
	if ((r = manifest_set_str(&rn.pre->snapshot, snapshot)) != 0 ||
	    (r = plan_sql(&rn, db_export_conn(rn.dx), ttype)) != 0)
		goto out;

	/* The monitor writes the age header itself; the builder only ever
	 * sees the file key it must encrypt with. */
	if ((rn.file_key = sodium_malloc(AGE_FILE_KEY_LEN)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	age_file_key_generate(rn.file_key);
	if ((r = age_header_write(rn.rcp, rn.nrcp, rn.file_key, hdr)) != 0)
		goto out;
	evidence_hex(rn.pre->export_id, sizeof(rn.pre->export_id), hex);
	{
		struct tm tm;
		time_t now = (time_t)rn.pre->created;

		gmtime_r(&now, &tm);
		snprintf(base, sizeof(base), "export-%04d%02d%02d-%s.texp",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hex);
	}
	rn.hdr = hdr;
	if ((r = seal_writer_new(rn.outdir, base, ce->part_size, &rn.sw)) != 0 ||
	    (r = seal_writer_write(rn.sw, buf_ptr(hdr), buf_len(hdr))) != 0) {
		err_set(err, errlen, "cannot write to the outbox \"%s\": %s",
		    outdir, strerror(errno));
		goto out;
	}

	if ((r = run_children(&rn)) != 0)
		goto out;
	if ((r = seal_writer_close(rn.sw)) != 0) {
		err_set(err, errlen, "cannot sync the archive in the outbox: %s",
		    strerror(errno));
		goto out;
	}
	if ((r = accept_check(&rn, digest)) != 0)
		goto out;
	/* A scope that did not look high-risk may still turn out large:
	 * then it is held for an approval instead of published. */
	if (q->max_records != 0 && res->records > q->max_records) {
		err_set(err, errlen, "the export holds %llu records, over the "
		    "high-risk threshold of %llu: it needs an approval; "
		    "nothing was published",
		    (unsigned long long)res->records,
		    (unsigned long long)q->max_records);
		r = ERR_LIMIT;
		goto out;
	}
	if (tenant_records(&rn) == 0 && !q->allow_empty &&
	    !(ce->allow_empty)) {
		err_set(err, errlen, "no rows to export for this tenant in the "
		    "requested scope (or no such tenant); nothing was published "
		    "(--allow-empty exports an empty archive)");
		r = ERR_EMPTY;
		goto out;
	}
	/* Drop the export role before the signing key is loaded. */
	db_export_free(rn.dx);
	rn.dx = NULL;
	r = provision_finish(rn.prov, err, errlen);
	rn.prov = NULL;
	if (r != 0)
		goto out;
	if ((r = sign_and_publish(&rn, digest)) != 0)
		goto out;
	memcpy(res->export_id, rn.pre->export_id, sizeof(res->export_id));
	memcpy(res->tenant_hash, rn.pre->tenant_hash, sizeof(res->tenant_hash));
	memcpy(res->manifest_digest, digest, sizeof(digest));
	res->created = rn.pre->created;
	{
		struct rusage ru;

		if (getrusage(RUSAGE_SELF, &ru) == 0)
			res->monitor_rss_kib = ru.ru_maxrss;
	}
	res->expires = rn.pre->expires;
	snprintf(res->archive, sizeof(res->archive), "%s/%s%s", outdir, base,
	    res->parts ? ".index" : "");
	r = 0;
 out:
	if (rn.dx != NULL) {
		if (!rn.detached)
			db_export_detach(rn.dx);
		db_export_free(rn.dx);
	}
	if (rn.prov != NULL) {
		char e2[256];

		provision_finish(rn.prov, e2, sizeof(e2));
	}
	seal_writer_free(rn.sw);	/* removes unpublished temp files */
	if (rn.outdir >= 0)
		close(rn.outdir);
	if (rn.file_key != NULL)
		sodium_free(rn.file_key);
	for (i = 0; i < rn.nrcp; i++)
		age_recipient_free(rn.rcp[i]);
	free(rn.rcp);
	for (i = 0; i < rn.nplan; i++)
		db_columns_free(rn.plan[i].cols);
	free(rn.plan);
	if (rn.bt != NULL)
		for (i = 0; i < rn.nplan; i++) {
			free(rn.bt[i].copy_sql);
			free(rn.bt[i].widen_sql);
			free(rn.bt[i].oids);
		}
	free(rn.bt);
	manifest_free(rn.pre);
	buf_free(tv);
	buf_free(hdr);
	buf_free(rn.check);
	free(snap);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	sigaction(SIGXFSZ, &old_xfsz, NULL);
	if (r != 0 && err[0] == '\0')
		err_set(err, errlen, "%s", err_str(r));
	return r;
}

void
export_result_clear(struct export_result *res)
{
	free(res->tables);
	free(res->receipt);
	memset(res, 0, sizeof(*res));
}
