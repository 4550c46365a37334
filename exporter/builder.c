#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/syscall.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "age.h"
#include "beneath.h"
#include "buf.h"
#include "builder.h"
#include "child.h"
#include "bundle.h"
#include "dcbor.h"
#include "err.h"
#include "pgcopy.h"
#include "sandbox.h"
#include "verify.h"

#define MAX_ROW_BYTES	(BUNDLE_MAX_PART_BYTES)

int
builder_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ERR_IO;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

void
builder_log(int fd, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	/* one line per message: a newline in a server message is flattened */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r' || line[i] == '\t')
			line[i] = ' ';
	line[n++] = '\n';
	builder_write_all(fd, line, (size_t)n);
}

/* Confines this child; says on its log pipe which step failed. */
static int
enter_sandbox(const struct sandbox_policy *pol)
{
	const char *step;
	int r, e = 0;

	if ((r = sandbox_enter(pol)) != 0) {
		step = sandbox_failed_step(&e);
		builder_log(pol->log_fd, "error sandbox: %s failed (%s)",
		    step ? step : "setup", strerror(e));
	}
	return r;
}

/*
 * The ciphertext on its way to the monitor, gathered into writes of
 * OUTQ_BYTES rather than one per age chunk: a quarter of the wake-ups
 * for the monitor and the checker behind it.
 */
#define OUTQ_BYTES	(256u << 10)
struct outq {
	int fd;
	size_t len;
	uint8_t *b;
};

static int
outq_flush(struct outq *q)
{
	int r = q->len > 0 ? builder_write_all(q->fd, q->b, q->len) : 0;

	q->len = 0;
	return r;
}

static int
pipe_write(void *ctx, const uint8_t *p, size_t n)
{
	struct outq *q = ctx;
	int r;

	if (q->len + n > OUTQ_BYTES && (r = outq_flush(q)) != 0)
		return r;
	if (n >= OUTQ_BYTES)
		return builder_write_all(q->fd, p, n);
	memcpy(q->b + q->len, p, n);
	q->len += n;
	return 0;
}

static int
enc_write(void *ctx, const uint8_t *p, size_t n)
{
	return age_enc_write(ctx, p, n);
}


/* ------------------------------------------------------------------ */
/* Files: read beneath the tenant's directory (beneath.h) */

struct file_src {
	struct builder_job *j;
	const char *table;
	uint64_t row;
	struct beneath_file f;
	uint64_t *rows, *bytes, *last_ms;
};

/* A refused or failed file names its row and the reason, never the path
 * or any of the content (the path is the application's data). */
static int
file_open(void *ctx, uint64_t row, const uint8_t *path, size_t len,
    uint64_t *size)
{
	struct file_src *s = ctx;
	const char *why = "cannot open";
	int r;

	s->row = row;
	r = beneath_open_file(s->j->dir_fd, (const char *)path, len, &s->f,
	    &why);
	if (r != 0) {
		builder_log(s->j->log_fd, "error files: table \"%s\" row %llu: "
		    "the file was refused: %s", s->table,
		    (unsigned long long)row, why);
		return r;
	}
	*size = s->f.size;
	return 0;
}

static int
file_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	struct file_src *s = ctx;
	ssize_t n;

	do
		n = read(s->f.fd, p, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		builder_log(s->j->log_fd, "error files: table \"%s\" row %llu: "
		    "reading the file failed: %s", s->table,
		    (unsigned long long)s->row, strerror(errno));
		return ERR_IO;
	}
	*got = (size_t)n;
	*s->bytes += (size_t)n;
	if (child_now_ms() - *s->last_ms >= 500) {
		*s->last_ms = child_now_ms();
		builder_log(s->j->log_fd, "progress %llu %llu",
		    (unsigned long long)*s->rows,
		    (unsigned long long)*s->bytes);
	}
	return 0;
}

static int
file_close(void *ctx, int ok)
{
	struct file_src *s = ctx;
	const char *why = "the file is shorter than its size";
	int r = ok ? beneath_recheck(&s->f, &why) : ERR_IO;

	(void)close(s->f.fd);
	s->f.fd = -1;
	if (r != 0)
		builder_log(s->j->log_fd, "error files: table \"%s\" row %llu: "
		    "%s; nothing is published", s->table,
		    (unsigned long long)s->row, why);
	return r;
}

#ifdef TEXP_TEST_HOOKS
/*
 * Test builds only: a compromised builder. Each attack is something hostile
 * row content could make a builder do after taking it over.
 */
static int
attack_syscall(struct builder_job *j)
{
	const char *a = j->attack;
	struct sockaddr_in sin;
	int fd;

	builder_log(j->log_fd, "note attempting %s", a);
	if (strcmp(a, "open") == 0)
		fd = open("/etc/passwd", O_RDONLY);
	else if (strcmp(a, "socket") == 0)
		fd = socket(AF_INET, SOCK_STREAM, 0);
	else if (strcmp(a, "connect") == 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(5432);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = connect(PQsocket(j->conn), (struct sockaddr *)&sin,
		    sizeof(sin));
	} else if (strcmp(a, "execve") == 0) {
		char *argv[] = { "/bin/sh", "-c", "true", NULL };

		fd = execve("/bin/sh", argv, NULL);
	} else if (strcmp(a, "fork") == 0)
		fd = (int)fork();
	else if (strcmp(a, "ptrace") == 0)
		fd = (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(a, "files-openat") == 0)
		/* around the descriptor: openat is not openat2 */
		fd = openat(j->dir_fd, "../A/secret.pdf", O_RDONLY);
	else if (strcmp(a, "files-escape") == 0) {
		/* openat2 on the one descriptor, without resolve flags,
		 * out of the tenant's directory: Landlock refuses */
		struct open_how how;

		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY;
		fd = (int)syscall(SYS_openat2, j->dir_fd,
		    j->attack_arg != NULL ? j->attack_arg : "../A/secret.pdf",
		    &how, sizeof(how));
	} else
		return 0;
	/* Reached only if the call did not kill us. Sanitizer builds turn
	 * open() into EACCES so that their reports survive: refused too. */
	if (fd < 0) {
		builder_log(j->log_fd, "error sandbox: %s refused (%s)", a,
		    strerror(errno));
		return 1;
	}
	builder_log(j->log_fd, "note %s was allowed (%d)", a, fd);
	return 0;
}

/* SQL that tries to leave the tenant's scope or to write. */
static void
attack_sql(struct builder_job *j, const char *const *stmts)
{
	PGresult *res;
	size_t i;

	for (i = 0; stmts[i] != NULL; i++) {
		int in_txn = PQtransactionStatus(j->conn) == PQTRANS_INTRANS;

		if (in_txn) {
			res = PQexec(j->conn, "SAVEPOINT attack");
			PQclear(res);
		}
		res = PQexec(j->conn, stmts[i]);
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)
			builder_log(j->log_fd, "note allowed: %s", stmts[i]);
		else
			builder_log(j->log_fd, "note denied: %s: %s", stmts[i],
			    PQresultErrorField(res, PG_DIAG_SQLSTATE) ?
			    PQresultErrorField(res, PG_DIAG_SQLSTATE) : "?");
		PQclear(res);
		if (PQtransactionStatus(j->conn) == PQTRANS_INERROR) {
			res = PQexec(j->conn, "ROLLBACK TO SAVEPOINT attack");
			PQclear(res);
		}
	}
}

static const char *const widen_stmts[] = {
	"SET app.tenant_id = 'client-a'",
	"SET SESSION AUTHORIZATION DEFAULT",
	"RESET ALL",
	"RESET ROLE",
	"SET ROLE texp_export",
	"SET ROLE NONE",
	"RESET SESSION AUTHORIZATION",
	"SELECT set_config('app.tenant_id', 'client-a', false)",
	"DISCARD ALL",
	"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
	NULL,
};

/*
 * What a builder holding an ordinary session could do beyond its COPYs:
 * walk other tenants' values through an index with EXPLAIN ANALYZE,
 * signal its rows to a listener, leave marks other sessions see or that
 * outlive it, take locks. Each carries the marker "texp-attack", which
 * the tests look for in the server's statement log.
 */
static const struct {
	const char *name;
	const char *sql;
} off_plan_stmts[] = {
	{ "explain", "EXPLAIN (ANALYZE, COSTS OFF) SELECT name FROM "
	  "app.clients WHERE name > 'Client A' /* texp-attack */" },
	{ "notify", "NOTIFY texp_attack, 'texp-attack: a row of B'" },
	{ "set", "SET application_name = 'texp-attack'" },
	{ "alter-role", "ALTER ROLE CURRENT_USER SET application_name = "
	  "'texp-attack'" },
	{ "password", "ALTER ROLE CURRENT_USER PASSWORD 'texp-attack'" },
	{ "lock", "SELECT pg_advisory_lock(4242) /* texp-attack */" },
};

/* One statement outside the plan, before the first COPY; or an extra
 * run of a planned one; or the extended protocol. Says what came back. */
static void
attack_off_plan(struct builder_job *j)
{
	PGresult *res = NULL;
	size_t i;

	for (i = 0; i < sizeof(off_plan_stmts) / sizeof(off_plan_stmts[0]); i++)
		if (strcmp(j->attack, off_plan_stmts[i].name) == 0)
			res = PQexec(j->conn, off_plan_stmts[i].sql);
	if (strcmp(j->attack, "extended") == 0)
		res = PQexecParams(j->conn, "SELECT 1 /* texp-attack */", 0,
		    NULL, NULL, NULL, NULL, 0);
	if (res == NULL)
		return;
	builder_log(j->log_fd, "note %s: %s", j->attack,
	    PQresultStatus(res) == PGRES_FATAL_ERROR ? "refused" : "allowed");
	PQclear(res);
}

/* Turning row security off makes every read of a protected table fail
 * rather than bypass the policy. */
static const char *const rowsec_stmts[] = {
	"SET row_security = off",
	NULL,
};

/* First inside the read-only export transaction, then (after COMMIT) in a
 * read-write session: privileges, not settings, must stop each one. */
static const char *const write_stmts[] = {
	"INSERT INTO app.contacts SELECT * FROM app.contacts LIMIT 1",
	"SELECT nextval('app.invoices_id_seq')",
	"SELECT lo_create(0)",
	"NOTIFY attack",
	"COMMIT",
	"SET default_transaction_read_only = off",
	"INSERT INTO app.contacts SELECT * FROM app.contacts LIMIT 1",
	"UPDATE app.contacts SET name = name",
	"DELETE FROM app.contacts",
	"CREATE TEMP TABLE t_attack (x int)",
	"CREATE TABLE public.t_attack (x int)",
	"CREATE TABLE app.t_attack (x int)",
	"SELECT nextval('app.invoices_id_seq')",
	"SELECT lo_create(0)",
	"SELECT lo_from_bytea(0, 'x')",
	"NOTIFY attack",
	"SELECT pg_notify('attack', 'x')",
	NULL,
};

/*
 * Says which state the builder is in: the test build's monitor turns
 * "note state NAME" into a file NAME in $TEXP_TEST_STATE_DIR, which the
 * tests wait for instead of sleeping.
 */
static void
attack_state(struct builder_job *j, const char *name)
{
	builder_log(j->log_fd, "note state %s", name);
}

/* Blocks until killed: a futex wait that nothing wakes (the sandbox
 * allows no sleep call, and the checker not even poll). */
static void
attack_block(void)
{
	static uint32_t never;

	for (;;)
		(void)syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, NULL,
		    NULL, 0);
}

/* Attacks on the monitor's limits, before the first row: wait forever,
 * spin forever, or write garbage forever. Returns only for other attacks. */
static void
attack_limits(struct builder_job *j)
{
	uint8_t junk[4096];

	if (strcmp(j->attack, "hang") == 0) {
		attack_state(j, "hanging");
		attack_block();
	}
	if (strcmp(j->attack, "spin") == 0) {
		attack_state(j, "spinning");
		for (volatile uint64_t n = 0;; n++)
			;
	}
	if (strcmp(j->attack, "flood-garbage") == 0) {
		memset(junk, 0x5a, sizeof(junk));
		for (;;)
			if (builder_write_all(j->out_fd, junk, sizeof(junk)) != 0)
				break;
		attack_block();
	}
}

/*
 * Looks through this process's memory, before the sandbox closes /proc,
 * for the bytes of needle (a secret the monitor holds) and of the tenant
 * key (which the builder must hold: it proves the scan can find things).
 */
static void
attack_scan(struct builder_job *j, const char *arg, const char *tenant)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char perms[8];
	int secret = 0, ten = 0;
	/* "hex:..." names raw bytes (a secret key), else the text itself */
	static uint8_t raw[256];
	const char *needle = arg;
	size_t nlen = arg ? strlen(arg) : 0, tlen = strlen(tenant), got = 0;

	if (arg != NULL && strncmp(arg, "hex:", 4) == 0 &&
	    sodium_hex2bin(raw, sizeof(raw), arg + 4, strlen(arg + 4), NULL,
	    &got, NULL) == 0) {
		needle = (const char *)raw;
		nlen = got;
	}

	if (f == NULL || nlen < 8) {
		builder_log(j->log_fd, "note scan: cannot scan");
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		/* Runtime secrets live in writable memory (heap, stack, anonymous
		 * maps); read-only file maps may fault past their file's end. */
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 ||
		    perms[0] != 'r' || perms[1] != 'w' ||
		    strstr(line, "[vvar]") ||
		    strstr(line, "[vsyscall]"))
			continue;
		for (const char *p = (const char *)lo, *e = (const char *)hi;
		    p < e;) {
			const char *m = memmem(p, (size_t)(e - p), needle, nlen);

			if (m == NULL)
				break;
			/* the copy this scan searches with */
			if (m != needle)
				secret++;
			p = m + 1;
		}
		if (memmem((const void *)lo, hi - lo, tenant, tlen) != NULL)
			ten++;
	}
	fclose(f);
	builder_log(j->log_fd, "note scan: tenant %s", ten ? "found" : "not found");
	builder_log(j->log_fd, "note scan: secret %s", secret ? "FOUND" : "not found");
}

/* A valid record, again and again: the archive grows without end, and
 * every byte of it proves. Never returns. */
static void
attack_flood(struct builder_job *j, struct bundle_writer *bw, size_t t,
    const struct buf *rec, uint64_t *rows, uint64_t *bytes, uint64_t *last_ms)
{
	for (;;) {
		if (bundle_writer_add(bw, t, buf_ptr(rec), buf_len(rec)) != 0)
			attack_block();
		if (child_now_ms() - *last_ms >= 500) {
			*last_ms = child_now_ms();
			builder_log(j->log_fd, "progress %llu %llu",
			    (unsigned long long)++(*rows),
			    (unsigned long long)*bytes);
		}
	}
}

/* "relabel": the first tenant table is written as global (its tenant
 * column index kept here), so that the checker has nothing to compare
 * its rows with; a foreign row is then slipped into it. */
static size_t relabel_table = SIZE_MAX;
static int64_t relabel_column = -1;

static void
attack_relabel(struct builder_job *j)
{
	size_t t;

	for (t = 0; t < j->pre->ntables; t++)
		if (j->pre->tables[t].tenant_column >= 0)
			break;
	if (t == j->pre->ntables)
		return;
	relabel_table = t;
	relabel_column = j->pre->tables[t].tenant_column;
	j->pre->tables[t].tenant_column = -1;
	j->pre->include_global = 1;
	builder_log(j->log_fd, "note relabelled \"%s\" as global",
	    j->pre->tables[t].name);
}

/* Re-encodes rec with column tcol replaced by another tenant's key. */
static int
forge_record(int64_t tcol, const char *type, const char *tenant,
    const uint8_t *rec, size_t len, struct buf *out)
{
	struct buf *b = buf_from(rec, len), *tv = buf_new(1024);
	const uint8_t *start;
	size_t before;
	uint64_t n, i;
	int r = ERR_NOMEM;

	if (b == NULL || tv == NULL)
		goto out;
	if ((r = verify_tenant_value(type, tenant, tv)) != 0 ||
	    (r = dcbor_get_array(b, &n)) != 0 ||
	    (r = dcbor_put_array(out, n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		start = buf_ptr(b);
		before = buf_len(b);
		if ((r = dcbor_skip(b, BUNDLE_MAX_DEPTH)) != 0)
			goto out;
		if ((int64_t)i == tcol)
			r = buf_put(out, buf_ptr(tv), buf_len(tv));
		else
			r = buf_put(out, start, before - buf_len(b));
		if (r != 0)
			goto out;
	}
 out:
	buf_free(b);
	buf_free(tv);
	return r;
}
#endif

/*
 * A database error while reading table t. A connection that went away
 * (the session was terminated, the server restarted) says "database:
 * connection lost": the monitor counts that as a fault worth another
 * attempt. Anything the server refused is said as it is.
 */
static void
db_error(struct builder_job *j, size_t t)
{
	if (PQstatus(j->conn) == CONNECTION_BAD)
		builder_log(j->log_fd, "error database: connection lost while "
		    "reading \"%s\": %s", j->pre->tables[t].name,
		    PQerrorMessage(j->conn));
	else
		builder_log(j->log_fd, "error database: reading \"%s\" failed: "
		    "%s", j->pre->tables[t].name, PQerrorMessage(j->conn));
}

static int
copy_table(struct builder_job *j, struct bundle_writer *bw, size_t t,
    uint64_t *rows, uint64_t *bytes, uint64_t *last_ms)
{
	struct builder_table *bt = &j->tables[t];
	struct pgcopy_column *cols = NULL;
	struct pgcopy *pc = NULL;
	struct buf *rec = NULL;
	PGresult *res = NULL;
	const char *sql = bt->copy_sql;
	char *data;
	size_t i, toff, tlen;
	int n, r = ERR_NOMEM, forged = 0;

#ifdef TEXP_TEST_HOOKS
	if (j->attack != NULL && strcmp(j->attack, "widen") == 0)
		sql = bt->widen_sql;
#else
	(void)forged;
#endif
	if ((cols = calloc(bt->ncols ? bt->ncols : 1, sizeof(*cols))) == NULL)
		goto out;
	for (i = 0; i < bt->ncols; i++)
		cols[i].type_oid = bt->oids[i];
	if ((pc = pgcopy_new(cols, bt->ncols, MAX_ROW_BYTES)) == NULL ||
	    (rec = buf_new(MAX_ROW_BYTES)) == NULL)
		goto out;
	/* the decoder says where the tenant value is: no second scan */
	pgcopy_set_mark(pc, j->pre->tables[t].tenant_column);
	res = PQexec(j->conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		db_error(j, t);
		r = ERR_DB;
		goto out;
	}
	PQclear(res);
	res = NULL;
	for (;;) {
		n = PQgetCopyData(j->conn, &data, 0);
		if (n == -1)
			break;
		if (n < 0) {
			db_error(j, t);
			r = ERR_DB;
			goto out;
		}
		r = pgcopy_feed(pc, (const uint8_t *)data, (size_t)n);
		PQfreemem(data);
		if (r != 0)
			goto bad_row;
		for (;;) {
			buf_reset(rec);
			r = pgcopy_next_row(pc, rec);
			if (r == 0 || r == PGCOPY_END)
				break;
			if (r < 0)
				goto bad_row;
			pgcopy_mark(pc, &toff, &tlen);
			if ((r = bundle_writer_add_encoded(bw, t, buf_ptr(rec),
			    buf_len(rec), toff, tlen)) != 0)
				goto bad_row;
			(*rows)++;
			*bytes += buf_len(rec);
#ifdef TEXP_TEST_HOOKS
			if (j->attack != NULL && strcmp(j->attack, "flood") == 0)
				attack_flood(j, bw, t, rec, rows, bytes, last_ms);
			if (j->attack != NULL && !forged &&
			    ((strcmp(j->attack, "foreign") == 0 &&
			    j->pre->tables[t].tenant_column >= 0) ||
			    t == relabel_table)) {
				struct buf *f = buf_new(MAX_ROW_BYTES);

				forged = 1;
				if (f == NULL || forge_record(t == relabel_table ?
				    relabel_column : j->pre->tables[t].tenant_column,
				    j->pre->tenant_type, j->attack_arg,
				    buf_ptr(rec), buf_len(rec), f) != 0 ||
				    bundle_writer_add(bw, t, buf_ptr(f),
				    buf_len(f)) != 0)
					builder_log(j->log_fd, "note forging failed");
				else
					builder_log(j->log_fd, "note slipped in a "
					    "record of another tenant");
				buf_free(f);
			}
#endif
			/* Often enough for the monitor's throttle to hold
			 * the rate close (throttle.h), and at least twice a
			 * second (its watchdog); the clock read every 16
			 * rows */
			if ((*rows & j->progress_mask) == 0 ||
			    ((*rows & 15) == 0 && child_now_ms() - *last_ms >= 500)) {
				*last_ms = child_now_ms();
				builder_log(j->log_fd, "progress %llu %llu",
				    (unsigned long long)*rows,
				    (unsigned long long)*bytes);
			}
		}
	}
	res = PQgetResult(j->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_error(j, t);
		r = ERR_DB;
		goto out;
	}
	if ((r = pgcopy_finish(pc)) != 0)
		goto bad_row;
	r = 0;
	goto out;
 bad_row:
	builder_log(j->log_fd, "error table \"%s\" row %llu: %s",
	    j->pre->tables[t].name, (unsigned long long)pgcopy_rows(pc),
	    err_str(r));
 out:
	PQclear(res);
	pgcopy_free(pc);
	buf_free(rec);
	free(cols);
	return r;
}

int
builder_main(void *arg)
{
	struct builder_job *j = arg;
	struct sandbox_policy pol = {
		.out_fd = j->out_fd, .log_fd = j->log_fd,
		.db_fd = PQsocket(j->conn), .in_fd = -1,
		.dir_fd = j->pre->has_files ? j->dir_fd : -1,
		.cpu_seconds = j->cpu_seconds,
	};
	struct age_enc *enc = NULL;
	struct bundle_writer *bw = NULL;
	struct outq out = { -1, 0, NULL };
	struct bundle_file_source fsrc;
	struct file_src fs;
	uint64_t rows = 0, bytes = 0, last = 0;
	size_t t;
	int r;

#ifdef TEXP_TEST_HOOKS
	if (j->attack != NULL && strncmp(j->attack, "scan", 4) == 0)
		attack_scan(j, j->attack_arg, j->tenant);
#endif
	if ((r = enter_sandbox(&pol)) != 0)
		return 3;
#ifdef TEXP_TEST_HOOKS
	if (j->attack != NULL && strcmp(j->attack, "escape") == 0) {
		/* An error line that retitles the terminal and clears it. */
		builder_log(j->log_fd, "error \033]0;PWNED-TITLE\a\033[2J"
		    "\xc2\x9b" "31m hostile row");
		return 1;
	}
	if (j->attack != NULL) {
		attack_limits(j);
		if (attack_syscall(j) != 0)
			return 1;
		if (strcmp(j->attack, "widen") == 0)
			attack_sql(j, widen_stmts);
		else if (strcmp(j->attack, "write") == 0)
			attack_sql(j, write_stmts);
		else if (strcmp(j->attack, "rowsec") == 0)
			attack_sql(j, rowsec_stmts);
		else if (strcmp(j->attack, "relabel") == 0)
			attack_relabel(j);
		else
			attack_off_plan(j);
	}
#endif
	/* Alive and confined: the monitor's stall clock starts from here. */
	builder_log(j->log_fd, "progress 0 0");
	out.fd = j->out_fd;
	if ((out.b = malloc(OUTQ_BYTES)) == NULL) {
		builder_log(j->log_fd, "error archive: %s", err_str(ERR_NOMEM));
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = age_enc_new_payload(j->file_key, pipe_write, &out,
	    &enc)) != 0 ||
	    (r = bundle_writer_new(j->pre, j->zstd, j->part_bytes, enc_write,
	    enc, &bw)) != 0) {
		builder_log(j->log_fd, "error archive: %s", err_str(r));
		goto out;
	}
	if (j->pre->has_files) {
		memset(&fs, 0, sizeof(fs));
		fs.j = j;
		fs.table = j->pre->tables[j->pre->files_table].name;
		fs.f.fd = -1;
		fs.rows = &rows;
		fs.bytes = &bytes;
		fs.last_ms = &last;
		fsrc.ctx = &fs;
		fsrc.open = file_open;
		fsrc.read = file_read;
		fsrc.close = file_close;
		bundle_writer_set_files(bw, &fsrc);
	}
	for (t = 0; t < j->pre->ntables; t++) {
#ifdef TEXP_TEST_HOOKS
		if (t == 1 && j->attack != NULL &&
		    strcmp(j->attack, "stall") == 0) {
			/* Mid-export (a session open, a table read), until
			 * the connection has something to say: the test
			 * ends the session, or kills the export. */
			struct pollfd pfd = { PQsocket(j->conn), POLLIN, 0 };

			attack_state(j, "stalled");
			while (poll(&pfd, 1, -1) < 0)
				;
		}
#endif
		if ((r = copy_table(j, bw, t, &rows, &bytes, &last)) != 0)
			goto out;
		/* the files table's files are read as its parts close: here,
		 * so that a refused file is not blamed on the next table */
		if (j->pre->has_files && t == j->pre->files_table &&
		    (r = bundle_writer_end_table(bw, t)) != 0) {
			if (r != ERR_PATH && r != ERR_NOENT && r != ERR_IO)
				builder_log(j->log_fd, "error archive: %s",
				    err_str(r));
			goto out;
		}
		builder_log(j->log_fd, "progress %llu %llu",
		    (unsigned long long)rows, (unsigned long long)bytes);
#ifdef TEXP_TEST_HOOKS
		/* the same planned statement a second time: one more query */
		if (t == 0 && j->attack != NULL &&
		    strcmp(j->attack, "extra") == 0 &&
		    (r = copy_table(j, bw, t, &rows, &bytes, &last)) != 0)
			goto out;
#endif
	}
	if ((r = bundle_writer_finish(bw, NULL)) != 0 ||
	    (r = age_enc_finish(enc)) != 0 || (r = outq_flush(&out)) != 0) {
		builder_log(j->log_fd, "error archive: %s", err_str(r));
		goto out;
	}
	builder_log(j->log_fd, "progress %llu %llu", (unsigned long long)rows,
	    (unsigned long long)bytes);
	r = 0;
 out:
	/* No frees: the child _exits right after, and freeing the
	 * monitor's wiped-on-fork pages here would touch them. */
	(void)bw;
	(void)enc;
	return r == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */

static int
fd_read(void *ctx, uint8_t *p, size_t cap, size_t *got)
{
	int fd = *(int *)ctx;
	ssize_t n;

	*got = 0;
	for (;;) {
		n = read(fd, p, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ERR_IO;
		*got = (size_t)n;
		return 0;
	}
}

int
checker_main(void *arg)
{
	struct checker_job *j = arg;
	struct sandbox_policy pol = {
		.out_fd = j->out_fd, .log_fd = j->log_fd, .db_fd = -1,
		.in_fd = j->in_fd, .cpu_seconds = j->cpu_seconds,
	};
	struct verify_opts o = { .file_key = j->file_key, .tenant = j->tenant,
		.watch = j->watch };
	struct verify_result *res = NULL;
	struct buf *out = NULL;
	size_t i;
	int r;

	if ((r = enter_sandbox(&pol)) != 0)
		return 3;
#ifdef TEXP_TEST_HOOKS
	/* A checker that stops reading: the monitor's watchdog must see it. */
	if (j->attack != NULL && strcmp(j->attack, "checker-hang") == 0) {
		builder_log(j->log_fd, "note state checker-hanging");
		attack_block();
	}
#endif
	if ((r = verify_stream(fd_read, &j->in_fd, &o, &res)) != 0) {
		builder_log(j->log_fd, "error checker: %s", err_str(r));
		return 1;
	}
	if ((out = buf_new(MANIFEST_MAX_BYTES + 65536 +
	    VERIFY_MAX_HITS * 80)) == NULL)
		return 1;
	r = buf_put_str(out, "texp-check v1\n");
	if (res->nfailures == 0 && res->content_ok && res->have_manifest)
		r |= buf_put_str(out, "ok\n");
	else
		r |= buf_putf(out, "fail %zu\n", res->nfailures);
	for (i = 0; i < res->nstored && i < 20; i++) {
		char msg[sizeof(res->findings[i].msg)];

		snprintf(msg, sizeof(msg), "%s", res->findings[i].msg);
		for (char *c = msg; *c; c++)
			if (*c == '\n')
				*c = ' ';
		r |= buf_putf(out, "finding %d %s\n", res->findings[i].code,
		    msg);
	}
	if (j->watch != NULL) {
		r |= buf_putf(out, "stat tenant_bad %llu\n", (unsigned long long)
		    res->tenant_mismatches);
		r |= buf_putf(out, "stat hits_dropped %llu\n",
		    (unsigned long long)res->hits_dropped);
		for (i = 0; i < res->nhits; i++)
			r |= buf_putf(out, "hit %zu %zu %zu %llu %llu\n",
			    res->hits[i].table, res->hits[i].column,
			    res->hits[i].which, (unsigned long long)
			    res->hits[i].records, (unsigned long long)
			    res->hits[i].first);
	}
	r |= buf_putf(out, "manifest %zu\n", res->have_manifest ?
	    res->receipt_len : 0);
	if (res->have_manifest)
		r |= buf_put(out, res->receipt, res->receipt_len);
	if (r != 0 || builder_write_all(j->out_fd, buf_ptr(out),
	    buf_len(out)) != 0)
		return 1;
	return 0;
}
