/*
 * leakdb.c: the leak test's database helper process (leakdb.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "canary.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "leakdb.h"
#include "lint.h"
#include "text.h"

#define LINE_MAX_BYTES	(8 << 20)
#define MAX_ROLES	64
/* Marks the leak test's advisory locks ("TXLT"). */
#define LOCK_CLASS	0x54584c54

struct leakdb {
	pid_t pid;
	int to, from;
	struct buf *in;		/* answer bytes read, not yet a line */
};

/* What the helper made and must undo. */
struct helper {
	const struct config *cfg;
	PGconn *mon, *writer;
	char roles[MAX_ROLES][DB_ROLE_NAME_MAX];
	size_t nroles;
	json_t *planted;
};

void
leakdb_lock_key(const char *run, int32_t *k1, int32_t *k2)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; run != NULL && i < 8 && run[i] != '\0'; i++) {
		char c = run[i];

		v = v << 4 | (uint32_t)(c >= 'a' ? c - 'a' + 10 : c - '0');
	}
	*k1 = (int32_t)LOCK_CLASS;
	*k2 = (int32_t)v;
}

static int
write_line(int fd, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n, off = 0;
	ssize_t w;
	int r = ERR_NOMEM;

	if (s == NULL)
		return r;
	n = strlen(s);
	s[n] = '\n';	/* the NUL goes; the length is known */
	r = 0;
	while (off < n + 1) {
		if ((w = write(fd, s + off, n + 1 - off)) < 0) {
			if (errno == EINTR)
				continue;
			r = ERR_IO;
			break;
		}
		off += (size_t)w;
	}
	sodium_memzero(s, n + 1);
	free(s);
	return r;
}

/* Reads one line (without its LF) into a malloc'd string. ERR_TRUNCATED
 * at EOF. */
static int
read_line(int fd, struct buf *in, char **out)
{
	uint8_t tmp[65536];
	const uint8_t *nl;
	ssize_t n;

	*out = NULL;
	for (;;) {
		nl = buf_len(in) > 0 ? memchr(buf_ptr(in), '\n', buf_len(in)) :
		    NULL;
		if (nl != NULL) {
			size_t len = (size_t)(nl - buf_ptr(in));

			if ((*out = malloc(len + 1)) == NULL)
				return ERR_NOMEM;
			memcpy(*out, buf_ptr(in), len);
			(*out)[len] = '\0';
			buf_consume(in, len + 1);
			return 0;
		}
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_TRUNCATED;
		if (buf_put(in, tmp, (size_t)n) != 0)
			return ERR_LIMIT;
	}
}

/* ---- the helper's side ---- */

static json_t *
fail_answer(int r, const char *msg)
{
	return json_pack("{s:i,s:s}", "r", r, "error", msg);
}

static json_t *
res_fail(PGresult *res, PGconn *c, const char *what)
{
	char msg[512];
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	snprintf(msg, sizeof(msg), "%s: %s", what, m != NULL ? m :
	    PQerrorMessage(c));
	text_escape_inplace(msg, sizeof(msg));
	return fail_answer(ERR_DB, msg);
}

static json_t *
op_lint(struct helper *h)
{
	struct lint_report *rep = NULL;
	const struct lint_finding *f;
	json_t *a = json_array(), *ans;
	size_t i;
	int r = lint_run(h->mon, h->cfg, &rep);

	if (r != 0 && r != ERR_POLICY) {
		f = rep != NULL ? lint_report_get(rep, 0) : NULL;
		ans = fail_answer(r, f != NULL ? f->message : err_str(r));
		goto out;
	}
	for (i = 0; (f = lint_report_get(rep, i)) != NULL; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:b}",
		    "check", f->check, "object", f->object ? f->object : "",
		    "message", f->message ? f->message : "", "fix", f->fix ?
		    f->fix : "", "info", f->info));
	ans = json_pack("{s:i,s:O}", "r", 0, "findings", a);
 out:
	json_decref(a);
	lint_report_free(rep);
	return ans;
}

static json_t *
op_tenants(struct helper *h)
{
	PGresult *res = PQexec(h->mon, "SELECT t FROM "
	    "texp_guard.leaktest_tenants() t");
	json_t *a, *ans;
	int i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ans = res_fail(res, h->mon, "tenants");
		PQclear(res);
		return ans;
	}
	a = json_array();
	for (i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, 0))
			json_array_append_new(a, json_string(PQgetvalue(res, i, 0)));
	PQclear(res);
	ans = json_pack("{s:i,s:o}", "r", 0, "tenants", a);
	return ans;
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;

	PQclear(res);
	return ok;
}

/* Counts in the export's own snapshot: the same rows it read. */
static json_t *
op_counts(struct helper *h, json_t *req)
{
	const char *tenant = json_string_value(json_object_get(req, "tenant"));
	const char *snap = json_string_value(json_object_get(req, "snapshot"));
	const char *p[1] = { tenant };
	char sql[128];
	PGresult *res = NULL;
	json_t *o, *ans;
	int i;

	if (tenant == NULL || snap == NULL || strlen(snap) > 64 ||
	    strspn(snap, "0123456789ABCDEF-") != strlen(snap))
		return fail_answer(ERR_INVALID, "counts: malformed request");
	snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", snap);
	if (!exec_ok(h->mon, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ||
	    !exec_ok(h->mon, sql)) {
		ans = res_fail(NULL, h->mon, "counts: the export's snapshot");
		exec_ok(h->mon, "ROLLBACK");
		return ans;
	}
	res = PQexecParams(h->mon, "SELECT n.nspname || '.' || c.relname, x.n "
	    "FROM texp_guard.leaktest_counts($1) x "
	    "JOIN pg_catalog.pg_class c ON c.oid = x.rel "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace", 1, NULL,
	    p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ans = res_fail(res, h->mon, "counts");
		PQclear(res);
		exec_ok(h->mon, "ROLLBACK");
		return ans;
	}
	o = json_object();
	for (i = 0; i < PQntuples(res); i++)
		json_object_set_new(o, PQgetvalue(res, i, 0), json_integer(
		    strtoll(PQgetvalue(res, i, 1), NULL, 10)));
	PQclear(res);
	exec_ok(h->mon, "COMMIT");
	return json_pack("{s:i,s:o}", "r", 0, "counts", o);
}

static json_t *
op_fk(struct helper *h)
{
	PGresult *res = PQexec(h->mon, "SELECT x.con, rn.nspname || '.' || "
	    "r.relname, fn.nspname || '.' || f.relname, x.by_key, x.tenant, "
	    "x.ref_tenant, x.n FROM texp_guard.leaktest_fk_cross() x "
	    "JOIN pg_catalog.pg_class r ON r.oid = x.rel "
	    "JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace "
	    "JOIN pg_catalog.pg_class f ON f.oid = x.ref "
	    "JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace");
	json_t *keys, *k = NULL, *ans;
	int i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ans = res_fail(res, h->mon, "foreign keys");
		PQclear(res);
		return ans;
	}
	keys = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		if (k == NULL || strcmp(json_string_value(json_object_get(k,
		    "constraint")), PQgetvalue(res, i, 0)) != 0 ||
		    strcmp(json_string_value(json_object_get(k, "table")),
		    PQgetvalue(res, i, 1)) != 0) {
			k = json_pack("{s:s,s:s,s:s,s:b,s:[]}", "constraint",
			    PQgetvalue(res, i, 0), "table", PQgetvalue(res, i, 1),
			    "references", PQgetvalue(res, i, 2), "by_key",
			    PQgetvalue(res, i, 3)[0] == 't', "pairs");
			json_array_append_new(keys, k);
		}
		if (!PQgetisnull(res, i, 4) && !PQgetisnull(res, i, 5))
			json_array_append_new(json_object_get(k, "pairs"),
			    json_pack("{s:s,s:s,s:I}", "tenant",
			    PQgetvalue(res, i, 4), "ref_tenant",
			    PQgetvalue(res, i, 5), "rows", (json_int_t)
			    strtoll(PQgetvalue(res, i, 6), NULL, 10)));
	}
	PQclear(res);
	return json_pack("{s:i,s:o}", "r", 0, "keys", keys);
}

static json_t *
op_role(struct helper *h, json_t *req)
{
	const char *hex = json_string_value(json_object_get(req, "job"));
	char role[DB_ROLE_NAME_MAX], err[512] = "", *pw = NULL;
	uint8_t hash[32];
	size_t got = 0;
	json_t *ans;
	int r;

	if (hex == NULL || strlen(hex) != 64 || sodium_hex2bin(hash,
	    sizeof(hash), hex, 64, NULL, &got, NULL) != 0 || got != 32)
		return fail_answer(ERR_INVALID, "role: malformed job");
	if (h->nroles == MAX_ROLES)
		return fail_answer(ERR_LIMIT, "role: too many export roles");
	if ((r = db_export_role_create(h->mon, hash, role, &pw, err,
	    sizeof(err))) != 0)
		return fail_answer(r, err);
	snprintf(h->roles[h->nroles++], DB_ROLE_NAME_MAX, "%s", role);
	ans = json_pack("{s:i,s:s,s:s}", "r", 0, "role", role, "password", pw);
	sodium_free(pw);
	return ans;
}

static json_t *
op_drop(struct helper *h, json_t *req)
{
	const char *role = json_string_value(json_object_get(req, "role"));
	char err[512] = "";
	size_t i;
	int r;

	for (i = 0; role != NULL && i < h->nroles; i++)
		if (strcmp(h->roles[i], role) == 0)
			break;
	if (role == NULL || i == h->nroles)
		return fail_answer(ERR_NOENT, "drop: not a role of this run");
	if ((r = db_export_role_drop(h->mon, role, err, sizeof(err))) != 0)
		return fail_answer(r, err);
	memmove(h->roles[i], h->roles[i + 1], (h->nroles - i - 1) *
	    sizeof(h->roles[0]));
	h->nroles--;
	return json_pack("{s:i}", "r", 0);
}

static int writer_open(struct helper *h, char *err, size_t errlen);

static json_t *
op_plant(struct helper *h, json_t *req)
{
	json_t *list = json_object_get(req, "tenants"), *v;
	json_t *planted = json_array(), *skipped = json_array();
	json_t *failed = json_array(), *ans;
	const char **t = NULL;
	char err[512] = "";
	size_t i, n = json_array_size(list);
	int r;

	if (h->writer == NULL && (r = writer_open(h, err, sizeof(err))) != 0)
		return fail_answer(r, err);
	if ((t = calloc(n ? n : 1, sizeof(*t))) == NULL) {
		ans = fail_answer(ERR_NOMEM, "plant: out of memory");
		goto out;
	}
	json_array_foreach(list, i, v)
		if ((t[i] = json_string_value(v)) == NULL) {
			ans = fail_answer(ERR_INVALID, "plant: malformed tenant");
			goto out;
		}
	if ((r = canary_plant(h->writer, h->cfg, t, n, planted, skipped,
	    failed, err, sizeof(err))) != 0) {
		ans = fail_answer(r, err);
		goto out;
	}
	json_array_extend(h->planted, planted);
	ans = json_pack("{s:i,s:O,s:O,s:O}", "r", 0, "planted", planted,
	    "skipped", skipped, "failed", failed);
 out:
	free(t);
	json_decref(planted);
	json_decref(skipped);
	json_decref(failed);
	return ans;
}

static json_t *
op_unplant(struct helper *h)
{
	json_t *left = json_array(), *ans;
	char err[512] = "";
	size_t n = 0;
	int r;

	if (h->writer == NULL || json_array_size(h->planted) == 0) {
		json_decref(left);
		return json_pack("{s:i,s:i,s:[]}", "r", 0, "deleted", 0, "left");
	}
	if ((r = canary_delete(h->writer, h->planted, &n, left, err,
	    sizeof(err))) != 0) {
		json_decref(left);
		return fail_answer(r, err);
	}
	json_array_clear(h->planted);
	ans = json_pack("{s:i,s:I,s:O}", "r", 0, "deleted", (json_int_t)n,
	    "left", left);
	json_decref(left);
	return ans;
}

static json_t *
dispatch(struct helper *h, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));

	if (op == NULL)
		return fail_answer(ERR_FORMAT, "no op");
	if (strcmp(op, "lint") == 0)
		return op_lint(h);
	if (strcmp(op, "tenants") == 0)
		return op_tenants(h);
	if (strcmp(op, "counts") == 0)
		return op_counts(h, req);
	if (strcmp(op, "fk") == 0)
		return op_fk(h);
	if (strcmp(op, "role") == 0)
		return op_role(h, req);
	if (strcmp(op, "drop") == 0)
		return op_drop(h, req);
	if (strcmp(op, "plant") == 0)
		return op_plant(h, req);
	if (strcmp(op, "unplant") == 0)
		return op_unplant(h);
	return fail_answer(ERR_FORMAT, "unknown op");
}

/* Undoes everything: canaries, then export roles; logging out releases
 * the run's lock. */
static void
cleanup(struct helper *h)
{
	char err[512];
	size_t i;

	json_decref(op_unplant(h));
	for (i = 0; i < h->nroles; i++)
		db_export_role_drop(h->mon, h->roles[i], err, sizeof(err));
	h->nroles = 0;
}

/* The canary writer's login, when the first canaries are asked for. */
static int
writer_open(struct helper *h, char *err, size_t errlen)
{
	const struct config_leaktest *lt = config_leaktest(h->cfg);

	if (lt->canary_user == NULL) {
		err_set(err, errlen, "canaries need [leaktest] canary_user");
		return ERR_CONFIG;
	}
	return db_connect_as(h->cfg, lt->canary_user, lt->canary_password_file,
	    &h->writer, err, errlen);
}

static int
helper_open(struct helper *h, const char *run, int canaries, char *err,
    size_t errlen)
{
	char k1[16], k2[16];
	const char *p[2] = { k1, k2 };
	int32_t a, b;
	PGresult *res;
	int r;

	if ((r = db_connect(h->cfg, NULL, &h->mon, err, errlen)) != 0)
		return r;
	leakdb_lock_key(run, &a, &b);
	snprintf(k1, sizeof(k1), "%d", (int)a);
	snprintf(k2, sizeof(k2), "%d", (int)b);
	res = PQexecParams(h->mon, "SELECT pg_catalog.pg_try_advisory_lock("
	    "$1::int4, $2::int4)", 2, NULL, p, NULL, NULL, 0);
	r = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    PQgetvalue(res, 0, 0)[0] == 't' ? 0 : ERR_DB;
	PQclear(res);
	if (r != 0) {
		err_set(err, errlen, "cannot take the run's lock");
		return r;
	}
	return canaries ? writer_open(h, err, errlen) : 0;
}

/* The helper's body. Never returns. */
static void
helper_main(const struct config *cfg, const char *run, int canaries, int in,
    int out)
{
	struct helper h;
	struct buf *b = buf_new(LINE_MAX_BYTES);
	char err[512] = "", *line = NULL;
	json_t *req, *ans;
	int r;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&h, 0, sizeof(h));
	h.cfg = cfg;
	h.planted = json_array();
	if (b == NULL || h.planted == NULL)
		_exit(1);
	if ((r = helper_open(&h, run, canaries, err, sizeof(err))) != 0) {
		ans = fail_answer(r, err);
		write_line(out, ans);
		_exit(1);
	}
	ans = json_pack("{s:i}", "r", 0);
	write_line(out, ans);
	json_decref(ans);
	while (read_line(in, b, &line) == 0) {
		if ((req = json_loads(line, 0, NULL)) == NULL)
			ans = fail_answer(ERR_FORMAT, "malformed request");
		else
			ans = dispatch(&h, req);
		json_decref(req);
		free(line);
		line = NULL;
		if (ans == NULL || write_line(out, ans) != 0) {
			json_decref(ans);
			break;
		}
		json_decref(ans);
	}
	cleanup(&h);
	if (h.writer != NULL)
		PQfinish(h.writer);
	PQfinish(h.mon);
	_exit(0);
}

/* ---- the leak test's side ---- */

static int
call(struct leakdb *h, json_t *req, json_t **ans, char *err, size_t errlen)
{
	char *line = NULL;
	int r;

	*ans = NULL;
	if (req == NULL)
		return ERR_NOMEM;
	r = write_line(h->to, req);
	json_decref(req);
	if (r != 0 || (r = read_line(h->from, h->in, &line)) != 0) {
		err_set(err, errlen, "the leak test's database helper went "
		    "away");
		return ERR_CHILD;
	}
	*ans = json_loads(line, 0, NULL);
	sodium_memzero(line, strlen(line));
	free(line);
	if (!json_is_object(*ans)) {
		json_decref(*ans);
		*ans = NULL;
		err_set(err, errlen, "the database helper's answer is malformed");
		return ERR_CHILD;
	}
	if ((r = (int)json_integer_value(json_object_get(*ans, "r"))) != 0) {
		err_set(err, errlen, "%s", json_string_value(json_object_get(*ans,
		    "error")) ? json_string_value(json_object_get(*ans,
		    "error")) : err_str(r));
		json_decref(*ans);
		*ans = NULL;
		return r < 0 ? r : ERR_CHILD;
	}
	return 0;
}

/* Calls op and hands back the member key of its answer. */
static int
call_get(struct leakdb *h, json_t *req, const char *key, json_t **out,
    char *err, size_t errlen)
{
	json_t *ans = NULL;
	int r;

	*out = NULL;
	if ((r = call(h, req, &ans, err, errlen)) != 0)
		return r;
	if (key == NULL)
		*out = ans;
	else {
		*out = json_incref(json_object_get(ans, key));
		json_decref(ans);
	}
	if (*out == NULL) {
		err_set(err, errlen, "the database helper's answer is malformed");
		return ERR_CHILD;
	}
	return 0;
}

int
leakdb_start(const struct config *cfg, const char *run, int canaries,
    struct leakdb **out, char *err, size_t errlen)
{
	struct leakdb *h;
	int to[2], from[2];
	json_t *ans = NULL;
	char *line = NULL;
	int r;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->in = buf_new(LINE_MAX_BYTES)) == NULL) {
		free(h);
		return ERR_NOMEM;
	}
	h->to = h->from = -1;
	if (pipe2(to, O_CLOEXEC) != 0) {
		leakdb_finish(h, NULL, 0);
		return ERR_IO;
	}
	if (pipe2(from, O_CLOEXEC) != 0) {
		close(to[0]);
		close(to[1]);
		leakdb_finish(h, NULL, 0);
		return ERR_IO;
	}
	fflush(NULL);
	if ((h->pid = fork()) == 0) {
		close(to[1]);
		close(from[0]);
		helper_main(cfg, run, canaries, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	h->to = to[1];
	h->from = from[0];
	if (h->pid < 0 || (r = read_line(h->from, h->in, &line)) != 0 ||
	    (ans = json_loads(line, 0, NULL)) == NULL) {
		err_set(err, errlen, "the leak test's database helper did not "
		    "start");
		r = ERR_CHILD;
	} else if ((r = (int)json_integer_value(json_object_get(ans, "r"))) != 0)
		err_set(err, errlen, "%s", json_string_value(json_object_get(ans,
		    "error")) ? json_string_value(json_object_get(ans, "error")) :
		    err_str(r));
	free(line);
	json_decref(ans);
	if (r != 0) {
		leakdb_finish(h, NULL, 0);
		return r < 0 ? r : ERR_CHILD;
	}
	*out = h;
	return 0;
}

int
leakdb_lint(struct leakdb *h, json_t **findings, char *err, size_t errlen)
{
	return call_get(h, json_pack("{s:s}", "op", "lint"), "findings",
	    findings, err, errlen);
}

int
leakdb_tenants(struct leakdb *h, json_t **ids, char *err, size_t errlen)
{
	return call_get(h, json_pack("{s:s}", "op", "tenants"), "tenants", ids,
	    err, errlen);
}

int
leakdb_counts(struct leakdb *h, const char *tenant, const char *snapshot,
    json_t **counts, char *err, size_t errlen)
{
	return call_get(h, json_pack("{s:s,s:s,s:s}", "op", "counts", "tenant",
	    tenant, "snapshot", snapshot), "counts", counts, err, errlen);
}

int
leakdb_fk(struct leakdb *h, json_t **keys, char *err, size_t errlen)
{
	return call_get(h, json_pack("{s:s}", "op", "fk"), "keys", keys, err,
	    errlen);
}

int
leakdb_role(struct leakdb *h, const uint8_t job_hash[32], char *role,
    char **password, char *err, size_t errlen)
{
	char hex[65];
	const char *rl, *pw;
	json_t *ans = NULL;
	int r;

	*password = NULL;
	sodium_bin2hex(hex, sizeof(hex), job_hash, 32);
	if ((r = call_get(h, json_pack("{s:s,s:s}", "op", "role", "job", hex),
	    NULL, &ans, err, errlen)) != 0)
		return r;
	rl = json_string_value(json_object_get(ans, "role"));
	pw = json_string_value(json_object_get(ans, "password"));
	if (rl == NULL || pw == NULL || strlen(rl) >= DB_ROLE_NAME_MAX ||
	    strncmp(rl, "exp_", 4) != 0 ||
	    (*password = sodium_malloc(strlen(pw) + 1)) == NULL) {
		r = rl == NULL || pw == NULL ? ERR_CHILD : ERR_NOMEM;
		goto out;
	}
	snprintf(role, DB_ROLE_NAME_MAX, "%s", rl);
	memcpy(*password, pw, strlen(pw) + 1);
	r = 0;
 out:
	if (pw != NULL)
		sodium_memzero((char *)pw, strlen(pw));
	json_decref(ans);
	return r;
}

int
leakdb_drop(struct leakdb *h, const char *role, char *err, size_t errlen)
{
	json_t *ans = NULL;
	int r;

	r = call_get(h, json_pack("{s:s,s:s}", "op", "drop", "role", role),
	    NULL, &ans, err, errlen);
	json_decref(ans);
	return r;
}

int
leakdb_plant(struct leakdb *h, const char *const *tenants, size_t n,
    json_t **result, char *err, size_t errlen)
{
	json_t *req = json_pack("{s:s,s:[]}", "op", "plant", "tenants");
	size_t i;

	for (i = 0; req != NULL && i < n; i++)
		json_array_append_new(json_object_get(req, "tenants"),
		    json_string(tenants[i]));
	return call_get(h, req, NULL, result, err, errlen);
}

int
leakdb_unplant(struct leakdb *h, json_t **result, char *err, size_t errlen)
{
	return call_get(h, json_pack("{s:s}", "op", "unplant"), NULL, result,
	    err, errlen);
}

int
leakdb_finish(struct leakdb *h, char *err, size_t errlen)
{
	int st = 0, r = 0;

	if (h == NULL)
		return 0;
	if (h->to >= 0)
		close(h->to);
	if (h->from >= 0)
		close(h->from);
	if (h->pid > 0) {
		while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			err_set(err, errlen, "the leak test's database helper "
			    "failed");
			r = ERR_CHILD;
		}
	}
	buf_free(h->in);
	free(h);
	return r;
}
