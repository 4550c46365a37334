/*
 * relay.c: the builder's connection, which speaks only the plan (relay.h).
 *
 * The relay is a protocol endpoint on both sides, not a byte pipe: towards
 * the server it is an ordinary libpq client (so TLS and every libpq
 * setting work as for any other session), towards the builder it is a
 * tiny PostgreSQL server that knows one thing: running the next planned
 * statement. It never forwards a byte of the builder's to the server, only
 * the planned statement text it already holds; and it never forwards a
 * byte of the server's to the builder, only messages it builds from
 * libpq's results. What PostgreSQL's protocol allows beyond that cannot
 * pass, whatever the builder sends.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "builder.h"
#include "child.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "relay.h"
#include "sandbox.h"

#define ANSWER_MAGIC	"RLY1"
#define PLAN_MAGIC	"PLN1"
#define STARTUP_MAX	10000		/* bytes of a startup packet */
/* Stop reading the server while this much waits for the builder. Large
 * enough that the server, the relay and the builder seldom wait on each
 * other when they share few cores: at 256 KiB the server was blocked on
 * a full socket four tenths of an export's time and the streaming phase
 * took 10% longer (bench/export). */
#define OUT_HIGH	(4096u << 10)
/* COPY rows go to the builder joined into CopyData messages of up to this
 * many bytes (a row this long or longer goes alone): the server sends one
 * message per row, and the builder's libpq would then allocate, and its
 * decoder take, one row at a time. Its decoder takes rows split or joined
 * anywhere (pgcopy.h). */
#define DATA_JOIN	(64u << 10)
#define PROTO_V3	196608
#define SSL_REQUEST	80877103
#define GSS_REQUEST	80877104


/* ---- framing shared by both sides ---- */

static int
put_str(struct buf *b, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	int r;

	if (n > UINT32_MAX || (r = buf_put_u32be(b, (uint32_t)n)) != 0)
		return n > UINT32_MAX ? ERR_LIMIT : r;
	return buf_put(b, s, n);
}

/* A malloc'd, NUL-terminated string of at most max bytes, no NUL inside. */
static int
get_str(struct buf *b, size_t max, char **out)
{
	const uint8_t *p;
	uint32_t n;
	int r;

	*out = NULL;
	if ((r = buf_get_u32be(b, &n)) != 0)
		return r;
	if (n > max)
		return ERR_LIMIT;
	if ((r = buf_get_ptr(b, n, &p)) != 0)
		return r;
	if (memchr(p, '\0', n) != NULL)
		return ERR_FORMAT;
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return ERR_NOMEM;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

static int
read_full(int fd, void *p, size_t n, uint64_t deadline)
{
	uint8_t *q = p;
	struct pollfd pfd;
	ssize_t got;
	int64_t left;

	while (n > 0) {
		if (deadline != 0) {
			left = (int64_t)(deadline - child_now_ms());
			if (left <= 0)
				return ERR_LIMIT;
			pfd.fd = fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)(left > 1000 ? 1000 : left)) < 0 &&
			    errno != EINTR)
				return ERR_IO;
			if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
		}
		got = read(fd, q, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return ERR_TRUNCATED;
		q += got;
		n -= (size_t)got;
	}
	return 0;
}

/* One frame: u32 length, then that many bytes, into a new buffer. */
static int
frame_read(int fd, size_t max, uint64_t deadline, struct buf **out)
{
	uint8_t len[4], *dst;
	uint32_t n;
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = read_full(fd, len, 4, deadline)) != 0)
		return r;
	n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 |
	    (uint32_t)len[2] << 8 | len[3];
	if (n > max)
		return ERR_FORMAT;
	if ((b = buf_new(n)) == NULL)
		return ERR_NOMEM;
	if ((r = buf_reserve(b, n, &dst)) != 0 ||
	    (r = read_full(fd, dst, n, deadline)) != 0) {
		buf_free(b);
		return r;
	}
	*out = b;
	return 0;
}

static int
frame_write(int fd, const struct buf *payload)
{
	uint8_t len[4];
	size_t n = buf_len(payload);

	len[0] = (uint8_t)(n >> 24);
	len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8);
	len[3] = (uint8_t)n;
	if (builder_write_all(fd, len, 4) != 0 ||
	    builder_write_all(fd, buf_ptr(payload), n) != 0)
		return ERR_IO;
	return 0;
}

/* ---- the answer: snapshot and columns (relay -> monitor) ---- */

static int
answer_put_columns(struct buf *b, const struct db_columns *c)
{
	size_t i;
	int r = buf_put_u32be(b, (uint32_t)c->n);

	for (i = 0; r == 0 && i < c->n; i++) {
		const struct db_column *k = &c->col[i];
		uint8_t flags = (uint8_t)((k->not_null ? 1 : 0) |
		    (k->readable ? 2 : 0) | (k->is_tenant_key ? 4 : 0));

		if ((r = buf_put_u32be(b, (uint32_t)k->attnum)) != 0 ||
		    (r = buf_put_u32be(b, k->type_oid)) != 0 ||
		    (r = buf_put_u32be(b, (uint32_t)k->typmod)) != 0 ||
		    (r = buf_put_u8(b, flags)) != 0 ||
		    (r = put_str(b, k->name)) != 0)
			break;
		r = put_str(b, k->type_name);
	}
	return r;
}

static int
answer_get_columns(struct buf *b, struct db_columns **out)
{
	struct db_columns *c;
	uint32_t n, v;
	uint8_t flags;
	size_t i;
	int r;

	*out = NULL;
	if ((r = buf_get_u32be(b, &n)) != 0)
		return r;
	if (n > 1600)		/* PostgreSQL's MaxHeapAttributeNumber */
		return ERR_LIMIT;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->col = calloc(n ? n : 1, sizeof(*c->col))) == NULL) {
		free(c);
		return ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		struct db_column *k = &c->col[i];

		c->n++;
		if ((r = buf_get_u32be(b, &v)) != 0)
			break;
		k->attnum = (int16_t)v;
		if ((r = buf_get_u32be(b, &k->type_oid)) != 0 ||
		    (r = buf_get_u32be(b, &v)) != 0)
			break;
		k->typmod = (int32_t)v;
		if ((r = buf_get_u8(b, &flags)) != 0 ||
		    (r = get_str(b, 256, &k->name)) != 0 ||
		    (r = get_str(b, 1024, &k->type_name)) != 0)
			break;
		k->not_null = flags & 1;
		k->readable = (flags >> 1) & 1;
		k->is_tenant_key = (flags >> 2) & 1;
	}
	if (r != 0) {
		db_columns_free(c);
		return r;
	}
	*out = c;
	return 0;
}

/* The relay's answer: ok with the snapshot and every table's columns, or
 * the first error. */
static int
answer_write(const struct relay_job *j, PGconn *db, int code, char *err,
    size_t errlen)
{
	struct db_columns *c = NULL;
	struct buf *b = buf_new(RELAY_ANSWER_MAX);
	char *snap = NULL, *exported = NULL;
	size_t i;
	int r = ERR_NOMEM;

	if (b == NULL)
		return ERR_NOMEM;
	/* code != 0: the session could not be opened; err says why. */
	if (code == 0 &&
	    (code = db_snapshot_current(db, &snap, err, errlen)) == 0 &&
	    (!j->export_snapshot ||
	    (code = db_snapshot_export(db, &exported, err, errlen)) == 0)) {
		if ((r = buf_put_str(b, ANSWER_MAGIC)) != 0 ||
		    (r = buf_put_u8(b, 1)) != 0 || (r = put_str(b, snap)) != 0 ||
		    (r = put_str(b, exported != NULL ? exported : "")) != 0 ||
		    (r = buf_put_u32be(b, (uint32_t)j->ntables)) != 0)
			goto out;
		for (i = 0; i < j->ntables; i++) {
			if ((code = db_table_columns(db, j->tables[i], &c, err,
			    errlen)) != 0)
				break;
			r = answer_put_columns(b, c);
			db_columns_free(c);
			c = NULL;
			if (r != 0)
				goto out;
		}
	}
	if (code != 0) {
		buf_reset(b);
		if ((r = buf_put_str(b, ANSWER_MAGIC)) != 0 ||
		    (r = buf_put_u8(b, 0)) != 0 ||
		    (r = buf_put_u32be(b, (uint32_t)code)) != 0 ||
		    (r = put_str(b, err)) != 0)
			goto out;
	}
	r = frame_write(j->out_fd, b);
	if (r == 0 && code != 0)
		r = code;
 out:
	free(snap);
	free(exported);
	buf_free(b);
	return r;
}

int
relay_answer_read(int fd, size_t ntables, int timeout_ms, char **snapshot,
    char **exported, struct db_columns **cols, char *err, size_t errlen)
{
	struct buf *b = NULL;
	const uint8_t *magic;
	uint8_t ok;
	uint32_t n, code;
	char *msg = NULL;
	size_t i;
	int r;

	*snapshot = NULL;
	*exported = NULL;
	for (i = 0; i < ntables; i++)
		cols[i] = NULL;
	if ((r = frame_read(fd, RELAY_ANSWER_MAX, child_now_ms() +
	    (uint64_t)timeout_ms, &b)) != 0) {
		err_set(err, errlen, r == ERR_LIMIT ? "the database relay did "
		    "not answer in time" : "the database relay exited without "
		    "an answer");
		goto out_child;
	}
	if ((r = buf_get_ptr(b, 4, &magic)) != 0 ||
	    memcmp(magic, ANSWER_MAGIC, 4) != 0 || (r = buf_get_u8(b, &ok)) != 0)
		goto bad;
	if (!ok) {
		if (buf_get_u32be(b, &code) != 0 || get_str(b, 1024, &msg) != 0)
			goto bad;
		/* our own code's words, but from a database message */
		err_set(err, errlen, "%s", msg);
		r = (int32_t)code < 0 ? (int32_t)code : ERR_DB;
		goto out;
	}
	if ((r = get_str(b, 1024, snapshot)) != 0 ||
	    (r = get_str(b, 256, exported)) != 0 ||
	    (r = buf_get_u32be(b, &n)) != 0 || n != ntables)
		goto bad;
	for (i = 0; i < ntables; i++)
		if ((r = answer_get_columns(b, &cols[i])) != 0)
			goto bad;
	if ((r = buf_expect_end(b)) != 0)
		goto bad;
	r = 0;
	goto out;
 bad:
	err_set(err, errlen, "the database relay's answer is malformed");
 out_child:
	r = ERR_CHILD;
 out:
	if (r != 0) {
		free(*snapshot);
		*snapshot = NULL;
		free(*exported);
		*exported = NULL;
		for (i = 0; i < ntables; i++) {
			db_columns_free(cols[i]);
			cols[i] = NULL;
		}
	}
	free(msg);
	buf_free(b);
	return r;
}

/* ---- the plan (monitor -> relay) ---- */

int
relay_plan_write(int fd, const char *const *stmts, size_t n)
{
	struct buf *b = buf_new(RELAY_PLAN_MAX);
	size_t i;
	int r = ERR_NOMEM;

	if (b == NULL)
		return r;
	if ((r = buf_put_str(b, PLAN_MAGIC)) != 0 ||
	    (r = buf_put_u32be(b, (uint32_t)n)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = put_str(b, stmts[i])) != 0)
			goto out;
	r = frame_write(fd, b);
 out:
	buf_free(b);
	return r;
}

struct plan {
	char **stmt;
	size_t n;
	size_t longest;
};

static int
plan_read(int fd, struct plan *p)
{
	struct buf *b = NULL;
	const uint8_t *magic;
	uint32_t n;
	size_t i, len;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = frame_read(fd, RELAY_PLAN_MAX, 0, &b)) != 0)
		return r;
	if ((r = buf_get_ptr(b, 4, &magic)) != 0 ||
	    memcmp(magic, PLAN_MAGIC, 4) != 0 ||
	    (r = buf_get_u32be(b, &n)) != 0 || n == 0 || n > 100000) {
		r = ERR_FORMAT;
		goto out;
	}
	if ((p->stmt = calloc(n, sizeof(*p->stmt))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = get_str(b, RELAY_PLAN_MAX, &p->stmt[i])) != 0)
			goto out;
		p->n++;
		len = strlen(p->stmt[i]);
		if (len > p->longest)
			p->longest = len;
	}
	r = buf_expect_end(b);
 out:
	buf_free(b);
	return r;
}

/* ---- the builder's side: a tiny PostgreSQL server ---- */

/* Appends one protocol message: type, length, body. */
static int
msg_put(struct buf *out, char type, const void *body, size_t n)
{
	int r;

	if (n > UINT32_MAX - 4)
		return ERR_LIMIT;
	if ((r = buf_put_u8(out, (uint8_t)type)) != 0 ||
	    (r = buf_put_u32be(out, (uint32_t)(n + 4))) != 0)
		return r;
	return buf_put(out, body, n);
}

/* Blocking send of everything in out (before the sandbox). */
static int
out_flush_blocking(int fd, struct buf *out)
{
	ssize_t n;

	while (buf_len(out) > 0) {
		n = send(fd, buf_ptr(out), buf_len(out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		buf_consume(out, (size_t)n);
	}
	return 0;
}

static int
param_put(struct buf *out, const char *name, const char *value)
{
	struct buf *body = buf_new(4096);
	int r = ERR_NOMEM;

	if (body == NULL)
		return r;
	if ((r = buf_put(body, name, strlen(name) + 1)) == 0 &&
	    (r = buf_put(body, value, strlen(value) + 1)) == 0)
		r = msg_put(out, 'S', buf_ptr(body), buf_len(body));
	buf_free(body);
	return r;
}

/*
 * Answers the startup of the builder's connection (the monitor's libpq
 * sends it, before any builder exists): no authentication, the server's
 * own parameter values, a dummy cancel key, ready.
 */
static int
startup_answer(int fd, PGconn *db)
{
	static const char *const params[] = {
		"server_version", "server_encoding", "client_encoding",
		"DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes",
		"standard_conforming_strings", "application_name",
		"is_superuser", "session_authorization",
	};
	uint8_t hdr[8], body[STARTUP_MAX];
	uint32_t len, code;
	struct buf *out = buf_new(1 << 16);
	static const uint8_t auth_ok[4] = { 0, 0, 0, 0 };
	static const uint8_t key[8] = { 0 };
	size_t i;
	int r = ERR_NOMEM;

	if (out == NULL)
		return r;
	for (;;) {
		if ((r = read_full(fd, hdr, 8, 0)) != 0)
			goto out;
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		code = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
		    (uint32_t)hdr[6] << 8 | hdr[7];
		if (len < 8 || len > STARTUP_MAX) {
			r = ERR_FORMAT;
			goto out;
		}
		if ((r = read_full(fd, body, len - 8, 0)) != 0)
			goto out;
		if (code != SSL_REQUEST && code != GSS_REQUEST)
			break;
		/* Over a unix socket libpq asks for neither; refuse both. */
		if (send(fd, "N", 1, MSG_NOSIGNAL) != 1) {
			r = ERR_IO;
			goto out;
		}
	}
	if (code != PROTO_V3) {
		r = ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = msg_put(out, 'R', auth_ok, sizeof(auth_ok))) != 0)
		goto out;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const char *v = PQparameterStatus(db, params[i]);

		if (v != NULL && (r = param_put(out, params[i], v)) != 0)
			goto out;
	}
	if ((r = msg_put(out, 'K', key, sizeof(key))) != 0 ||
	    (r = msg_put(out, 'Z', "I", 1)) != 0)
		goto out;
	r = out_flush_blocking(fd, out);
 out:
	buf_free(out);
	return r;
}

enum serve_state { IDLE, RUNNING, COPYING };

/* The builder said goodbye, or closed its end: the relay's work is done. */
#define SERVE_DONE	(-1)

struct serve {
	PGconn *db;
	int dbfd, peer, log;
	struct buf *in, *out;
	/* The CopyData message being joined at the end of out (DATA_JOIN):
	 * rows go into out as they come, its header's length is written
	 * when it closes, and nothing of out is sent while one is open
	 * (serve_results closes it before it returns). join_at is its
	 * header's offset from out's first unsent byte: what follows the
	 * header is its rows. */
	int joining;
	size_t join_at;
	struct plan *plan;
	size_t next;
	enum serve_state st;
	uint64_t beat;
	int peer_eof;
};

/* Ends the session: the builder left the plan. Never returns normally. */
static int
off_plan(struct serve *s, const char *what, const uint8_t *text, size_t n)
{
	char shown[80];
	size_t k = n < sizeof(shown) - 1 ? n : sizeof(shown) - 1;

	memcpy(shown, text != NULL ? (const char *)text : "", text ? k : 0);
	shown[text ? k : 0] = '\0';
	builder_log(s->log, "error the builder sent %s%s%s%s; only the planned "
	    "statements may run, so the session was ended", what,
	    text != NULL ? " (\"" : "", shown, text != NULL ? "\")" : "");
	return RELAY_EXIT_OFF_PLAN;
}

static const char *
message_name(uint8_t type)
{
	switch (type) {
	case 'P': return "an extended-protocol Parse message";
	case 'B': return "an extended-protocol Bind message";
	case 'E': return "an extended-protocol Execute message";
	case 'D': return "an extended-protocol Describe message";
	case 'S': return "an extended-protocol Sync message";
	case 'H': return "an extended-protocol Flush message";
	case 'C': return "an extended-protocol Close message";
	case 'F': return "a function call";
	case 'd': case 'c': case 'f': return "COPY FROM data";
	case 'p': return "a password message";
	}
	return "an unknown protocol message";
}

/*
 * One complete message from the builder at the front of s->in: only the
 * next planned statement, while nothing runs, or Terminate. Returns 0 to
 * go on, SERVE_DONE when the builder said goodbye, or an exit status.
 */
static int
serve_message(struct serve *s, uint8_t type, const uint8_t *body, size_t n)
{
	const char *want;
	size_t wlen;

	if (type == 'X')
		return SERVE_DONE;
	if (type != 'Q')
		return off_plan(s, message_name(type), NULL, 0);
	if (s->st != IDLE)
		return off_plan(s, "a statement while another one ran", body, n);
	if (s->next >= s->plan->n)
		return off_plan(s, "a statement after the last planned one",
		    body, n);
	want = s->plan->stmt[s->next];
	wlen = strlen(want);
	/* byte for byte, its terminating NUL included */
	if (n != wlen + 1 || memcmp(body, want, wlen + 1) != 0)
		return off_plan(s, "a statement that is not the next one "
		    "planned", body, n);
	if (PQsendQuery(s->db, want) != 1) {
		builder_log(s->log, "error database: sending a statement: %s",
		    PQerrorMessage(s->db));
		return RELAY_EXIT_LOST;
	}
	s->next++;
	s->st = RUNNING;
	s->beat = child_now_ms();
	return 0;
}

/* Parses whatever complete messages s->in holds. */
static int
serve_input(struct serve *s)
{
	const uint8_t *p;
	uint32_t len;
	int r;

	while (buf_len(s->in) >= 5) {
		p = buf_ptr(s->in);
		len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[3] << 8 | p[4];
		if (len < 4 || (size_t)len - 4 > s->plan->longest + 1)
			return off_plan(s, len < 4 ? "a malformed message" :
			    p[0] == 'Q' ? "a statement longer than any planned" :
			    message_name(p[0]), NULL, 0);
		if (buf_len(s->in) < (size_t)len + 1)
			return 0;
		if ((r = serve_message(s, p[0], p + 5, len - 4)) != 0)
			return r;
		buf_consume(s->in, (size_t)len + 1);
	}
	return 0;
}

static int
is_lost(PGconn *db, const PGresult *res)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(db) != CONNECTION_OK)
		return 1;
	/* admin_shutdown, crash_shutdown, cannot_connect_now, and the
	 * connection exception class */
	return st != NULL && (strncmp(st, "57P0", 4) == 0 ||
	    strncmp(st, "08", 2) == 0);
}

/* ErrorResponse built from libpq's result: severity, code, message,
 * detail, hint (no position, query or internal fields). */
static int
error_put(struct buf *out, const PGresult *res)
{
	static const struct { char code; int field; } f[] = {
		{ 'S', PG_DIAG_SEVERITY },
		{ 'V', PG_DIAG_SEVERITY_NONLOCALIZED },
		{ 'C', PG_DIAG_SQLSTATE },
		{ 'M', PG_DIAG_MESSAGE_PRIMARY },
		{ 'D', PG_DIAG_MESSAGE_DETAIL },
		{ 'H', PG_DIAG_MESSAGE_HINT },
	};
	struct buf *body = buf_new(16384);
	const char *v;
	size_t i, n;
	int r = ERR_NOMEM;

	if (body == NULL)
		return r;
	for (i = 0, r = 0; i < sizeof(f) / sizeof(f[0]) && r == 0; i++) {
		if ((v = PQresultErrorField(res, f[i].field)) == NULL)
			continue;
		n = strnlen(v, 4000);
		if ((r = buf_put_u8(body, (uint8_t)f[i].code)) == 0 &&
		    (r = buf_put(body, v, n)) == 0)
			r = buf_put_u8(body, 0);
	}
	if (r == 0 && (r = buf_put_u8(body, 0)) == 0)
		r = msg_put(out, 'E', buf_ptr(body), buf_len(body));
	buf_free(body);
	return r;
}

static int
copy_out_put(struct buf *out, const PGresult *res)
{
	uint8_t body[3 + 2 * 1600];
	int i, n = PQnfields(res);
	size_t k = 0;

	if (n < 0 || n > 1600)
		return ERR_LIMIT;
	body[k++] = PQbinaryTuples(res) ? 1 : 0;
	body[k++] = (uint8_t)(n >> 8);
	body[k++] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		int fmt = PQfformat(res, i);

		body[k++] = (uint8_t)(fmt >> 8);
		body[k++] = (uint8_t)fmt;
	}
	return msg_put(out, 'H', body, k);
}

/* The bytes of rows in the CopyData message being joined (after its
 * type byte and length). */
static size_t
joined(const struct serve *s)
{
	return buf_len(s->out) - s->join_at - 5;
}

/* Closes the CopyData message being joined, if one is open. */
static int
rows_flush(struct serve *s)
{
	uint8_t len[4];
	uint32_t v;
	int k;

	if (!s->joining)
		return 0;
	s->joining = 0;
	v = (uint32_t)(joined(s) + 4);
	for (k = 0; k < 4; k++)
		len[k] = (uint8_t)(v >> (8 * (3 - k)));
	return buf_patch(s->out, s->join_at + 1, len, sizeof(len));
}

/* One COPY row: joined to the rows before it, or alone when long. */
static int
row_put(struct serve *s, const char *row, size_t n)
{
	int r;

	if (s->joining && joined(s) + n > DATA_JOIN &&
	    (r = rows_flush(s)) != 0)
		return r;
	if (n >= DATA_JOIN)
		return msg_put(s->out, 'd', row, n);
	if (!s->joining) {
		s->join_at = buf_len(s->out);
		if ((r = msg_put(s->out, 'd', NULL, 0)) != 0)
			return r;
		s->joining = 1;
	}
	return buf_put(s->out, row, n);
}

/* serve_results without the last rows_flush. */
static int
serve_results_in(struct serve *s)
{
	PGresult *res;
	char *row;
	const char *tag;
	int n, r = 0;

	if (PQconsumeInput(s->db) != 1 || PQstatus(s->db) != CONNECTION_OK) {
		builder_log(s->log, "error database: the session was lost "
		    "(ended by the server or an administrator): %s",
		    PQerrorMessage(s->db));
		return RELAY_EXIT_LOST;
	}
	while (r == 0 && s->st != IDLE && buf_len(s->out) < OUT_HIGH) {
		if (s->st == COPYING) {
			n = PQgetCopyData(s->db, &row, 1);
			if (n > 0) {
				r = row_put(s, row, (size_t)n);
				PQfreemem(row);
				continue;
			}
			if (n == 0)
				break;		/* more to come */
			if (n == -2) {
				builder_log(s->log, "error database: the "
				    "connection was lost while reading: %s",
				    PQerrorMessage(s->db));
				return RELAY_EXIT_LOST;
			}
			if ((r = rows_flush(s)) != 0 ||
			    (r = msg_put(s->out, 'c', NULL, 0)) != 0)
				break;
			s->st = RUNNING;
			continue;
		}
		if (PQisBusy(s->db))
			break;
		res = PQgetResult(s->db);
		if (res == NULL) {
			PGTransactionStatusType t = PQtransactionStatus(s->db);

			r = msg_put(s->out, 'Z', t == PQTRANS_INERROR ? "E" :
			    t == PQTRANS_INTRANS ? "T" : "I", 1);
			s->st = IDLE;
			break;
		}
		switch (PQresultStatus(res)) {
		case PGRES_COPY_OUT:
			r = copy_out_put(s->out, res);
			s->st = COPYING;
			break;
		case PGRES_COMMAND_OK:
			tag = PQcmdStatus(res);
			r = msg_put(s->out, 'C', tag, strlen(tag) + 1);
			break;
		case PGRES_FATAL_ERROR:
			if (is_lost(s->db, res)) {
				builder_log(s->log, "error database: the session "
				    "was ended: %s", PQerrorMessage(s->db));
				PQclear(res);
				return RELAY_EXIT_LOST;
			}
			r = error_put(s->out, res);
			break;
		default:
			builder_log(s->log, "error database: unexpected result "
			    "%s", PQresStatus(PQresultStatus(res)));
			PQclear(res);
			return 1;
		}
		PQclear(res);
	}
	return r < 0 ? 1 : r;
}

/* The server's side: turns results into messages for the builder. */
static int
serve_results(struct serve *s)
{
	int r = serve_results_in(s), r2;

	/* rows never wait for more: what the server sent goes out now */
	r2 = rows_flush(s);
	return r != 0 ? r : r2 < 0 ? 1 : 0;
}

/* Reads what the builder sent; EOF means it is done (or gone). */
static int
serve_read_peer(struct serve *s)
{
	size_t room = buf_max(s->in) - buf_len(s->in);
	uint8_t *dst;
	ssize_t n;

	if (room == 0)
		return off_plan(s, "more than any planned statement", NULL, 0);
	if (room > 65536)
		room = 65536;
	if (buf_reserve(s->in, room, &dst) != 0)
		return 1;
	n = recv(s->peer, dst, room, 0);
	buf_unput(s->in, room - (n > 0 ? (size_t)n : 0));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : SERVE_DONE;
	if (n == 0)
		return SERVE_DONE;
	return serve_input(s);
}

static int
serve_write_peer(struct serve *s)
{
	ssize_t n = send(s->peer, buf_ptr(s->out), buf_len(s->out),
	    MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : SERVE_DONE;
	buf_consume(s->out, (size_t)n);
	return 0;
}

/*
 * The loop, once sandboxed: builder messages in, results out, with
 * backpressure (the server is read only while less than OUT_HIGH waits
 * for the builder). Returns the exit status.
 */
static int
serve(struct serve *s)
{
	struct pollfd pfd[2];
	int r;

	for (;;) {
		pfd[0].fd = s->peer;
		pfd[0].events = (short)(POLLIN | (buf_len(s->out) ? POLLOUT : 0));
		/* Idle, the server is watched too: a session it ends (a
		 * terminated backend, a shutdown) ends the relay at once. */
		pfd[1].fd = s->st == IDLE || buf_len(s->out) < OUT_HIGH ?
		    s->dbfd : -1;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			return 1;
		/* The builder waits on the server: not its stall. */
		if (s->st != IDLE && buf_len(s->out) == 0 &&
		    child_now_ms() - s->beat >= 1000) {
			s->beat = child_now_ms();
			builder_log(s->log, "busy");
		}
		if (pfd[0].revents & POLLOUT && serve_write_peer(s) != 0)
			return 0;	/* the builder is gone */
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR) &&
		    (r = serve_read_peer(s)) != 0)
			return r == SERVE_DONE ? 0 : r;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR) &&
		    (r = serve_results(s)) != 0)
			return r;
		if (s->st != IDLE && buf_len(s->out) < OUT_HIGH &&
		    (r = serve_results(s)) != 0)
			return r;
	}
}

int
relay_main(void *arg)
{
	struct relay_job *j = arg;
	struct sandbox_policy pol;
	struct db_export *dx = NULL;
	struct plan plan;
	struct serve s;
	char err[600] = "";
	int r;

	memset(&plan, 0, sizeof(plan));
	memset(&s, 0, sizeof(s));
	/* The real session, its scope checked (db.h). */
	r = db_export_connect_at(j->cfg, config_db_standby_host(j->cfg) !=
	    NULL ? DB_AT_STANDBY : DB_AT_PRIMARY, j->role, j->password,
	    j->tenant, &dx, err, sizeof(err));
	if (answer_write(j, r == 0 ? db_export_conn(dx) : NULL, r, err,
	    sizeof(err)) != 0)
		return RELAY_EXIT_SETUP;
	if (startup_answer(j->peer_fd, db_export_conn(dx)) != 0) {
		builder_log(j->log_fd, "error relay: the builder's connection "
		    "did not start");
		return RELAY_EXIT_SETUP;
	}
	if ((r = plan_read(j->in_fd, &plan)) != 0) {
		builder_log(j->log_fd, "error relay: no plan (%s)", err_str(r));
		return RELAY_EXIT_SETUP;
	}
	close(j->in_fd);
	memset(&pol, 0, sizeof(pol));
	pol.out_fd = j->out_fd;
	pol.log_fd = j->log_fd;
	pol.db_fd = PQsocket(db_export_conn(dx));
	pol.peer_fd = j->peer_fd;
	pol.in_fd = -1;
	pol.cpu_seconds = j->cpu_seconds;
	if ((r = sandbox_enter(&pol)) != 0) {
		int e = 0;
		const char *step = sandbox_failed_step(&e);

		builder_log(j->log_fd, "error sandbox: %s failed (%s)", step,
		    strerror(e));
		return 3;
	}
	s.db = db_export_conn(dx);
	s.dbfd = pol.db_fd;
	s.peer = j->peer_fd;
	s.log = j->log_fd;
	s.plan = &plan;
	s.st = IDLE;
	if ((s.in = buf_new(plan.longest + 5 + 65536)) == NULL ||
	    (s.out = buf_new(OUT_HIGH + (1u << 20) + 65536)) == NULL)
		return 1;
	r = serve(&s);
	/* No frees: the child _exits; the session ends with it. */
	return r;
}
