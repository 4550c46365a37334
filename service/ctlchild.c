/*
 * ctlchild.c: control-plane steps in a short-lived child (ctlchild.h).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "ctlchild.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "err.h"
#include "jobs.h"
#include "ledger.h"
#include "minisig.h"

#define REPLY_MAX	(1 << 20)

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, b, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The keys the log is checked against and signed with. */
struct keys {
	struct minisig_pubkey *root;
	struct minisig_seckey *service;
	struct minisig_pubkey *service_pub;
	char head[4096];
};

static void
keys_free(struct keys *k)
{
	minisig_pubkey_free(k->root);
	minisig_seckey_free(k->service);
	minisig_pubkey_free(k->service_pub);
}

static int
keys_load(const struct config *cfg, struct keys *k, char *err, size_t errlen)
{
	const struct config_service *s = config_service(cfg);
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = config_check_service(cfg, err, errlen)) != 0)
		return r;
	if ((r = minisig_pubkey_load(s->root_key, &k->root)) != 0) {
		err_set(err, errlen, "[service] root_key \"%s\": %s",
		    s->root_key, err_str(r));
		return r;
	}
	if ((r = minisig_seckey_load(s->service_key, NULL, 0,
	    &k->service)) != 0) {
		err_set(err, errlen, "[service] service_key \"%s\": %s%s",
		    s->service_key, err_str(r), r == ERR_PASSPHRASE ?
		    " (the service key is kept unencrypted, mode 0600)" : "");
		return r;
	}
	if ((k->service_pub = minisig_seckey_pubkey(k->service)) == NULL)
		return ERR_NOMEM;
	if (s->state_dir != NULL)
		snprintf(k->head, sizeof(k->head), "%s/log-head", s->state_dir);
	return 0;
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

/* Locks the log for this transaction and reads the database's clock. */
static int
lock_log(PGconn *c, uint64_t *now)
{
	PGresult *res = PQexec(c, "SELECT now_epoch FROM "
	    "texp_control.audit_lock_head()");
	int r = ERR_DB;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*now = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		r = 0;
	}
	PQclear(res);
	return r;
}

/* Only the control database's id, without keys or the log (the hello). */
static void
id_only(const struct config *cfg, struct jobs_outcome *o, json_t *reply)
{
	char cid[CONTROL_ID_MAX + 1], why[512] = "";
	PGconn *c = NULL;
	int r;

	if ((r = db_connect(cfg, NULL, &c, o->msg, sizeof(o->msg))) != 0)
		goto out;
	if ((r = control_check(c, why, sizeof(why))) != 0 ||
	    (r = control_id(c, cid, why, sizeof(why))) != 0) {
		snprintf(o->msg, sizeof(o->msg), "%s%s", why,
		    r == ERR_NOENT ? " (run tenant-export init)" : "");
		goto out;
	}
	json_object_set_new(reply, "control_id", json_string(cid));
 out:
	o->r = r;
	if (c != NULL)
		PQfinish(c);
}

/* The child's whole step; fills o and reply. */
static void
step(const struct config *cfg, const char *want_id, const char *peer,
    svc_ctl_fn fn, void *ctx, struct jobs_outcome *o, json_t *reply)
{
	struct keys keys;
	struct ledger_pins pins;
	struct ledger *l = NULL;
	struct jobs_ctx k;
	char cid[CONTROL_ID_MAX + 1], why[512] = "";
	PGconn *c = NULL;
	int64_t seq;
	uint8_t hash[32];
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = keys_load(cfg, &keys, o->msg, sizeof(o->msg))) != 0)
		goto out;
	if ((r = db_connect(cfg, NULL, &c, o->msg, sizeof(o->msg))) != 0)
		goto out;
	if ((r = control_check(c, why, sizeof(why))) != 0 ||
	    (r = control_id(c, cid, why, sizeof(why))) != 0) {
		snprintf(o->msg, sizeof(o->msg), "%s%s", why,
		    r == ERR_NOENT ? " (run tenant-export init)" : "");
		goto out;
	}
	if (want_id != NULL && strcmp(want_id, cid) != 0) {
		snprintf(o->msg, sizeof(o->msg), "the control database changed "
		    "during the request; try again");
		/* the greeting may have named the id the pinned head had:
		 * the next one names the database's */
		if (keys.head[0])
			(void)ledger_pin_control_id(keys.head, cid);
		r = ERR_CONTROL_ID;
		goto out;
	}
	audit_use_signer(keys.service, cid);
	if (!exec_ok(c, "BEGIN") || lock_log(c, &k.now) != 0) {
		snprintf(o->msg, sizeof(o->msg), "control schema: %s",
		    PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	pins.root = keys.root;
	pins.service = keys.service_pub;
	pins.control_id = cid;
	pins.head_file = keys.head[0] ? keys.head : NULL;
	pins.check_all = 0;
	if ((r = ledger_load(c, &pins, &l, NULL, why, sizeof(why))) != 0) {
		snprintf(o->msg, sizeof(o->msg), "the signed control log does "
		    "not verify (%s); the service refuses to act until an "
		    "operator has looked (tenant-export audit verify)", why);
		r = r == ERR_DB ? ERR_DB : ERR_TAMPER;
		goto out;
	}
	k.c = c;
	k.cfg = cfg;
	k.ledger = l;
	k.control_id = cid;
	k.peer = peer;
	r = fn(&k, ctx, o, reply);
	/* A row this step wrote that the log would not verify is never
	 * kept: the service stops short of breaking its own log. */
	if (k.broken) {
		exec_ok(c, "ROLLBACK");
		snprintf(why, sizeof(why), "%s", o->msg);
		snprintf(o->msg, sizeof(o->msg), "the service refused to write "
		    "a row its log would not verify (%s); nothing was changed",
		    why);
		r = ERR_INTERNAL;
		goto out;
	}
	if (PQtransactionStatus(c) == PQTRANS_INTRANS && !exec_ok(c,
	    "COMMIT")) {
		snprintf(o->msg, sizeof(o->msg), "cannot commit: %s",
		    PQerrorMessage(c));
		r = ERR_DB;
		goto out;
	}
	audit_last(&seq, hash);
	if (seq > 0 && pins.head_file != NULL &&
	    ledger_pin_head(pins.head_file, (uint64_t)seq, hash, cid) != 0) {
		snprintf(o->msg, sizeof(o->msg), "cannot pin the log head in "
		    "\"%s\"", pins.head_file);
		r = ERR_IO;
	}
 out:
	if (r != 0)
		o->r = r;
	audit_use_signer(NULL, NULL);
	ledger_free(l);
	if (c != NULL)
		PQfinish(c);
	keys_free(&keys);
}

/* A step without the key or the log: fn on a monitor session. */
static void
light_step(const struct config *cfg, svc_light_fn fn, void *ctx,
    struct jobs_outcome *o, json_t *reply)
{
	PGconn *c = NULL;
	int r;

	if ((r = db_connect(cfg, NULL, &c, o->msg, sizeof(o->msg))) == 0)
		r = fn(c, cfg, ctx, o, reply);
	o->r = r;
	if (c != NULL)
		PQfinish(c);
}

/* The child's side of a step: runs it, writes the outcome and the reply
 * to fd, exits. */
static void
child_side(int fd, const struct config *cfg, const char *control_id,
    const char *peer, svc_ctl_fn fn, svc_light_fn lfn, void *ctx)
{
	struct jobs_outcome co;
	json_t *rep = json_object();
	char *s = NULL;
	uint32_t xlen;

	memset(&co, 0, sizeof(co));
	co.r = ERR_INTERNAL;
	if (rep == NULL)
		_exit(3);
	if (lfn != NULL)
		light_step(cfg, lfn, ctx, &co, rep);
	else if (fn == NULL)
		id_only(cfg, &co, rep);
	else
		step(cfg, control_id, peer, fn, ctx, &co, rep);
	if ((s = json_dumps(rep, JSON_COMPACT)) == NULL ||
	    strlen(s) > REPLY_MAX)
		_exit(3);
	xlen = (uint32_t)strlen(s);
	if (write_all(fd, &co, sizeof(co)) != 0 ||
	    write_all(fd, &xlen, sizeof(xlen)) != 0 ||
	    write_all(fd, s, xlen) != 0)
		_exit(3);
	_exit(0);
}

static int
in_child(const struct config *cfg, const char *control_id,
    const char *peer, svc_ctl_fn fn, svc_light_fn lfn, void *ctx,
    struct jobs_outcome *o, json_t **reply)
{
	struct buf *in = NULL;
	uint8_t tmp[8192];
	uint32_t xlen;
	json_error_t je;
	ssize_t n;
	pid_t pid;
	int p[2], st, r = ERR_CHILD;

	if (reply != NULL)
		*reply = NULL;
	memset(o, 0, sizeof(*o));
	o->r = ERR_CHILD;
	if (pipe2(p, O_CLOEXEC) != 0)
		return ERR_IO;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return ERR_CHILD;
	}
	if (pid == 0) {
		close(p[0]);
		child_side(p[1], cfg, control_id, peer, fn, lfn, ctx);
	}
	close(p[1]);
	if ((in = buf_new(sizeof(*o) + sizeof(xlen) + REPLY_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto reap;
	}
	for (;;) {
		n = read(p[0], tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_put(in, tmp, (size_t)n) != 0)
			break;
	}
 reap:
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (in == NULL)
		return r;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    buf_get(in, o, sizeof(*o)) != 0 ||
	    buf_get(in, &xlen, sizeof(xlen)) != 0 || buf_len(in) != xlen) {
		memset(o, 0, sizeof(*o));
		o->r = ERR_CHILD;
		snprintf(o->msg, sizeof(o->msg), "the control-plane helper "
		    "process failed");
		goto out;
	}
	o->msg[sizeof(o->msg) - 1] = '\0';
	o->reason[sizeof(o->reason) - 1] = '\0';
	o->principal[sizeof(o->principal) - 1] = '\0';
	o->tenant[sizeof(o->tenant) - 1] = '\0';
	if (reply != NULL && (*reply = json_loadb((const char *)buf_ptr(in),
	    xlen, 0, &je)) == NULL) {
		o->r = ERR_CHILD;
		goto out;
	}
	r = o->r;
 out:
	buf_free(in);
	return r;
}

int
svc_in_child(const struct config *cfg, const char *control_id,
    const char *peer, svc_ctl_fn fn, void *ctx, struct jobs_outcome *o,
    json_t **reply)
{
	return in_child(cfg, control_id, peer, fn, NULL, ctx, o, reply);
}

int
svc_in_light_child(const struct config *cfg, svc_light_fn fn, void *ctx,
    struct jobs_outcome *o, json_t **reply)
{
	return in_child(cfg, NULL, NULL, NULL, fn, ctx, o, reply);
}

int
svc_control_id_hint(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const struct config_service *s = config_service(cfg);
	char head[4096], cid[CONTROL_ID_MAX + 1];

	if (s->state_dir != NULL && strlen(s->state_dir) < sizeof(head) - 16) {
		snprintf(head, sizeof(head), "%s/log-head", s->state_dir);
		if (ledger_pinned_control_id(head, cid) == 0 &&
		    strlen(cid) < outlen) {
			snprintf(out, outlen, "%s", cid);
			return 0;
		}
	}
	return svc_control_id(cfg, out, outlen, err, errlen);
}

int
svc_control_id(const struct config *cfg, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct jobs_outcome o;
	json_t *rep = NULL;
	const char *id;
	int r;

	r = svc_in_child(cfg, NULL, NULL, NULL, NULL, &o, &rep);
	if (r != 0) {
		err_set(err, errlen, "%s", o.msg[0] ? o.msg : err_str(r));
		json_decref(rep);
		return r;
	}
	id = json_string_value(json_object_get(rep, "control_id"));
	if (id == NULL || strlen(id) >= outlen) {
		json_decref(rep);
		return ERR_CHILD;
	}
	snprintf(out, outlen, "%s", id);
	json_decref(rep);
	return 0;
}
