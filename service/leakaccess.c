/*
 * leakaccess.c: the leak test's access paths (leakaccess.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "audit.h"
#include "buf.h"
#include "config.h"
#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobs.h"
#include "leakaccess.h"
#include "leakreport.h"
#include "leakrun.h"
#include "leaksteps.h"
#include "minisig.h"

#define STEP	"access"

struct probe {
	char name[CONTROL_NAME_MAX + 1];
	const char *tenant, *display;
	struct minisig_seckey *sk;
	char pubkey[128];		/* the public key's base64 line */
	char job[65];			/* its own job's id, as `request`
					 * prints it */
	char digest[65];		/* its request's digest */
	struct buf *rtext, *rsig;	/* its request, for the replay */
	int added;
};

/* One refused attempt, to find in the log afterwards. */
struct attempt {
	const char *id, *what;
	const struct probe *by, *against;
	const char *event, *reason;	/* what the log should say */
	int sig_level;			/* refused before a principal is
					 * known: the row names nobody */
	int r;
	char got[48];
	long long seq;
};

#define MAX_ATTEMPTS	32

struct access {
	const struct leakaccess *x;
	struct probe p[2];
	struct attempt at[MAX_ATTEMPTS];
	size_t nat;
	int broken;
};

/* ---- one decision in a control-plane child ---- */

struct acall {
	const char *cmd;
	struct jobs_signed a;
	const char *run, *name, *pubkey, *tenant;	/* probes */
	json_t *seqs;					/* rows */
};

static int
ctl_call(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct acall *c = ctx;
	struct jobs_job *j = NULL, **v = NULL;
	json_t *rows = NULL;
	size_t n = 0;
	int64_t seq = 0;
	uint8_t h[32];
	char hex[65];
	int r;

	if (strcmp(c->cmd, "request") == 0)
		r = jobs_request(k, &c->a, o);
	else if (strcmp(c->cmd, "approve") == 0)
		r = jobs_approve(k, &c->a, o);
	else if (strcmp(c->cmd, "status") == 0)
		r = jobs_status(k, &c->a, &j, o);
	else if (strcmp(c->cmd, "list") == 0)
		r = jobs_list_for(k, &c->a, &v, &n, o);
	else if (strcmp(c->cmd, "cancel") == 0)
		r = jobs_cancel(k, &c->a, o);
	else if (strcmp(c->cmd, "run") == 0)
		r = jobs_start(k, &c->a, &j, o);
	else if (strcmp(c->cmd, "fetch") == 0)
		r = jobs_fetch(k, &c->a, &j, o);
	else if (strcmp(c->cmd, "probe.add") == 0)
		r = leakrun_probe_add(k, c->run, c->name, c->pubkey, c->tenant, o);
	else if (strcmp(c->cmd, "probe.remove") == 0)
		r = leakrun_probe_remove(k, c->run, c->name, o);
	else if ((r = leakrun_rows(k, c->seqs, &rows, o)) == 0)
		json_object_set_new(reply, "rows", rows);
	jobs_free(j);
	jobs_list_free(v, n);
	audit_last(&seq, h);
	json_object_set_new(reply, "seq", json_integer(seq));
	if (r == 0 && strcmp(c->cmd, "request") == 0) {
		jobs_ref(o->id_hash, hex);
		json_object_set_new(reply, "job", json_string(hex));
	}
	return r;
}

static int
decide(struct access *ac, struct acall *c, struct jobs_outcome *o,
    json_t **reply)
{
	const struct svc_conn *sc = ac->x->sc;

	return svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_call, c, o,
	    reply);
}

/* Signs kind for probe p at time when (0: now), control added. */
static int
sign(const struct access *ac, const struct probe *p, const char *kind,
    uint64_t when, const char *const *keys, const char *const *vals,
    size_t n, struct buf **text, struct buf **sig)
{
	const char *k2[ACTION_MAX_FIELDS], *v2[ACTION_MAX_FIELDS];
	size_t i;

	*text = buf_new(ACTION_TEXT_MAX);
	*sig = buf_new(ACTION_SIG_MAX);
	if (*text == NULL || *sig == NULL || n + 1 > ACTION_MAX_FIELDS)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		k2[i] = keys[i];
		v2[i] = vals[i];
	}
	k2[n] = "control";
	v2[n] = ac->x->sc->control_id;
	return action_sign_at(p->sk, kind, when ? when : (uint64_t)time(NULL),
	    k2, v2, n + 1, *text, *sig);
}

/* Signs and sends one action; *o and *reply get the decision. */
static int
send_action(struct access *ac, const struct probe *p, const char *cmd,
    const char *kind, uint64_t when, const char *const *keys,
    const char *const *vals, size_t n, struct jobs_outcome *o,
    json_t **reply, struct buf **keep_text, struct buf **keep_sig)
{
	struct acall c;
	struct buf *t = NULL, *s = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	*reply = NULL;
	if ((r = sign(ac, p, kind, when, keys, vals, n, &t, &s)) == 0) {
		c.cmd = cmd;
		c.a.text = buf_ptr(t);
		c.a.tlen = buf_len(t);
		c.a.sig = buf_ptr(s);
		c.a.slen = buf_len(s);
		r = decide(ac, &c, o, reply);
	}
	if (keep_text != NULL && r == 0) {
		*keep_text = t;
		*keep_sig = s;
	} else {
		buf_free(t);
		buf_free(s);
	}
	return r;
}

/* ---- the probes ---- */

static int
probe_make(struct access *ac, struct probe *p, int i)
{
	struct minisig_pubkey *pk = NULL;
	char *text = NULL, *nl;
	int r;

	snprintf(p->name, sizeof(p->name), "lt-%.8s-%c", ac->x->run,
	    i == 0 ? 'a' : 'b');
	p->tenant = ac->x->tenant[i];
	p->display = ac->x->display[i];
	if ((r = minisig_keygen(NULL, 0, &p->sk, &pk)) != 0 ||
	    (r = minisig_pubkey_encode(pk, &text)) != 0)
		goto out;
	/* the file's second line is the key */
	if ((nl = strchr(text, '\n')) == NULL || strlen(nl + 1) >=
	    sizeof(p->pubkey)) {
		r = ERR_FORMAT;
		goto out;
	}
	snprintf(p->pubkey, sizeof(p->pubkey), "%.*s",
	    (int)strcspn(nl + 1, "\n"), nl + 1);
 out:
	free(text);
	minisig_pubkey_free(pk);
	return r;
}

static int
probe_change(struct access *ac, struct probe *p, const char *cmd,
    char *why, size_t whylen)
{
	struct acall c;
	struct jobs_outcome o;
	json_t *reply = NULL;
	int r;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	c.run = ac->x->run;
	c.name = p->name;
	c.pubkey = p->pubkey;
	c.tenant = p->tenant;
	r = decide(ac, &c, &o, &reply);
	json_decref(reply);
	if (r != 0)
		snprintf(why, whylen, "%s", o.msg[0] ? o.msg : err_str(r));
	return r;
}

/* The probe's own request (passphrase mode: nobody else could ever run
 * it, and the log refuses any run of a probe's job anyway). */
static int
own_request(struct access *ac, struct probe *p, char *why, size_t whylen)
{
	static const char *const keys[] = { "tenant", "tables", "since",
	    "until", "global", "confirm", "idem", "recipients", "passphrase",
	    "allow_empty", "zstd" };
	const char *vals[11];
	char confirm[300];
	struct jobs_outcome o;
	json_t *reply = NULL;
	uint8_t d[32];
	int r;

	snprintf(confirm, sizeof(confirm), "EXPORT %s", p->display);
	vals[0] = p->tenant;
	vals[1] = vals[2] = vals[3] = vals[6] = vals[7] = "";
	vals[4] = vals[9] = vals[10] = "0";
	vals[5] = confirm;
	vals[8] = "1";
	r = send_action(ac, p, "request", "export.request", 0, keys, vals, 11,
	    &o, &reply, &p->rtext, &p->rsig);
	if (r == 0 && json_string_value(json_object_get(reply, "job"))) {
		snprintf(p->job, sizeof(p->job), "%s", json_string_value(
		    json_object_get(reply, "job")));
		crypto_hash_sha256(d, buf_ptr(p->rtext), buf_len(p->rtext));
		sodium_bin2hex(p->digest, sizeof(p->digest), d, sizeof(d));
	} else if (r == 0)
		r = ERR_CHILD;
	if (r != 0)
		snprintf(why, whylen, "its request of its own tenant was refused: "
		    "%s", o.msg[0] ? o.msg : err_str(r));
	json_decref(reply);
	return r;
}

static int
own_command(struct access *ac, struct probe *p, const char *cmd,
    const char *kind, char *why, size_t whylen)
{
	static const char *const keys[] = { "job" };
	const char *vals[1] = { p->job };
	struct jobs_outcome o;
	json_t *reply = NULL;
	int r;

	r = send_action(ac, p, cmd, kind, 0, keys, vals, 1, &o, &reply, NULL,
	    NULL);
	json_decref(reply);
	if (r != 0)
		snprintf(why, whylen, "its %s of its own job was refused: %s", cmd,
		    o.msg[0] ? o.msg : err_str(r));
	return r;
}

/* ---- the attacks ---- */

static struct attempt *
attempt_new(struct access *ac, const char *id, const char *what,
    const struct probe *by, const struct probe *against, const char *event,
    const char *reason, int sig_level)
{
	struct attempt *a;

	if (ac->nat == MAX_ATTEMPTS)
		return NULL;
	a = &ac->at[ac->nat++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	a->what = what;
	a->by = by;
	a->against = against;
	a->event = event;
	a->reason = reason;
	a->sig_level = sig_level;
	return a;
}

static void
attempt_done(struct attempt *a, int r, const struct jobs_outcome *o,
    json_t *reply)
{
	a->r = r;
	snprintf(a->got, sizeof(a->got), "%s", o->reason);
	a->seq = (long long)json_integer_value(json_object_get(reply, "seq"));
	json_decref(reply);
}

/* X signs and sends kind with the fields; the answer is recorded. */
static void
attack(struct access *ac, struct attempt *a, const char *cmd,
    const char *kind, uint64_t when, const char *const *keys,
    const char *const *vals, size_t n)
{
	struct jobs_outcome o;
	json_t *reply = NULL;
	int r;

	if (a == NULL)
		return;
	memset(&o, 0, sizeof(o));
	r = send_action(ac, a->by, cmd, kind, when, keys, vals, n, &o, &reply,
	    NULL, NULL);
	attempt_done(a, r, &o, reply);
}

/* Sends the other probe's own signed request again, byte for byte. */
static void
replay(struct access *ac, struct attempt *a)
{
	struct acall c;
	struct jobs_outcome o;
	json_t *reply = NULL;
	int r;

	if (a == NULL)
		return;
	memset(&c, 0, sizeof(c));
	c.cmd = "request";
	c.a.text = buf_ptr(a->against->rtext);
	c.a.tlen = buf_len(a->against->rtext);
	c.a.sig = buf_ptr(a->against->rsig);
	c.a.slen = buf_len(a->against->rsig);
	r = decide(ac, &c, &o, &reply);
	attempt_done(a, r, &o, reply);
}

/* Every command of X against Y's tenant and job. */
static void
attacks(struct access *ac, const struct probe *x, const struct probe *y)
{
	static const char *const rk[] = { "tenant", "tables", "since",
	    "until", "global", "confirm", "idem", "recipients", "passphrase",
	    "allow_empty", "zstd" };
	static const char *const jk[] = { "job", "request" };
	static const char *const lk[] = { "tenant" };
	const char *rv[11], *jv[2] = { y->job, y->digest }, *lv[1];
	const char *sv[11];
	char confirm[300];
	uint64_t stale = (uint64_t)time(NULL) -
	    config_control(ac->x->sc->cfg)->max_request_age - 3600;

	snprintf(confirm, sizeof(confirm), "EXPORT %s", y->display);
	rv[0] = y->tenant;
	rv[1] = rv[2] = rv[3] = rv[6] = rv[7] = "";
	rv[4] = rv[9] = rv[10] = "0";
	rv[5] = confirm;
	rv[8] = "1";
	memcpy(sv, rv, sizeof(sv));
	sv[0] = x->tenant;
	sv[5] = "";
	lv[0] = y->tenant;
	attack(ac, attempt_new(ac, "access.request", "request", x, y,
	    "export.denied", "not_assigned", 0), "request", "export.request", 0,
	    rk, rv, 11);
	attack(ac, attempt_new(ac, "access.run", "run (its request)", x, y,
	    "export.denied", "not_assigned", 0), "request", "export.request", 0,
	    rk, rv, 11);
	attack(ac, attempt_new(ac, "access.run_job", "run --job", x, y,
	    "run.denied", "not_assigned", 0), "run", "export.run", 0, jk, jv, 1);
	attack(ac, attempt_new(ac, "access.approve", "approve", x, y,
	    "approve.denied", "not_assigned", 0), "approve", "export.approve", 0,
	    jk, jv, 2);
	attack(ac, attempt_new(ac, "access.status", "status", x, y,
	    "status.denied", "not_assigned", 0), "status", "job.status", 0, jk,
	    jv, 1);
	attack(ac, attempt_new(ac, "access.list", "list", x, y, "list.denied",
	    "not_assigned", 0), "list", "job.list", 0, lk, lv, 1);
	attack(ac, attempt_new(ac, "access.cancel", "cancel", x, y,
	    "cancel.denied", "not_assigned", 0), "cancel", "job.cancel", 0, jk,
	    jv, 1);
	attack(ac, attempt_new(ac, "access.fetch", "fetch", x, y,
	    "fetch.denied", "not_assigned", 0), "fetch", "export.fetch", 0, jk,
	    jv, 1);
	replay(ac, attempt_new(ac, "access.replay", "its request replayed", x,
	    y, "export.denied", "replay", 1));
	attack(ac, attempt_new(ac, "access.stale", "a request signed an hour "
	    "ago", x, x, "export.denied", "stale", 1), "request",
	    "export.request", stale, rk, sv, 11);
	attack(ac, attempt_new(ac, "access.self_approval", "approving its own "
	    "request", y, y, "approve.denied", "self_approval", 0), "approve",
	    "export.approve", 0, jk, jv, 2);
}

/* The log's rows for the attempts: each refusal must be there. */
static int
audited(struct access *ac, json_t **rows, char *why, size_t whylen)
{
	struct acall c;
	struct jobs_outcome o;
	json_t *reply = NULL;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	c.cmd = "rows";
	if ((c.seqs = json_array()) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < ac->nat; i++)
		json_array_append_new(c.seqs, json_integer(ac->at[i].seq));
	r = decide(ac, &c, &o, &reply);
	json_decref(c.seqs);
	if (r == 0 && (*rows = json_incref(json_object_get(reply,
	    "rows"))) == NULL)
		r = ERR_CHILD;
	if (r != 0)
		snprintf(why, whylen, "%s", o.msg[0] ? o.msg : err_str(r));
	json_decref(reply);
	return r;
}

static const json_t *
row_at(const json_t *rows, long long seq)
{
	const json_t *v;
	size_t i;

	json_array_foreach(rows, i, v)
		if (json_integer_value(json_object_get(v, "seq")) == seq)
			return v;
	return NULL;
}

static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static void
report_attempt(struct access *ac, const struct attempt *a, const json_t *rows)
{
	const json_t *row = a->seq > 0 ? row_at(rows, a->seq) : NULL;
	const char *principal = a->sig_level ? NULL : a->by->name;
	int in_log = row != NULL && same(json_string_value(json_object_get(row,
	    "event")), a->event) && same(json_string_value(json_object_get(row,
	    "principal")), principal) && same(json_string_value(
	    json_object_get(row, "reason")), a->got);
	json_t *d = json_pack("[{s:s,s:s,s:s,s:s?,s:I}]", "probe", a->by->name,
	    "probe_tenant", a->by->tenant, "event", a->event, "reason",
	    a->got[0] ? a->got : NULL, "audit_row", (json_int_t)a->seq);

	if (a->r == 0)
		leakreport_addf(ac->x->rep, STEP, a->against->tenant, a->id, "fail",
		    1, d, "a principal of tenant %s only: %s of this tenant was "
		    "allowed", a->by->tenant, a->what);
	else if (!in_log)
		leakreport_addf(ac->x->rep, STEP, a->against->tenant, a->id, "fail",
		    1, d, "a principal of tenant %s only: %s refused (%s) but "
		    "the audit log does not show the refusal", a->by->tenant,
		    a->what, a->got[0] ? a->got : err_str(a->r));
	else
		leakreport_addf(ac->x->rep, STEP, a->against->tenant, a->id, "pass",
		    0, d, "a principal of tenant %s only: %s refused (%s%s%s), "
		    "audit row %lld", a->by->tenant, a->what, a->got,
		    strcmp(a->got, a->reason) != 0 ? ", expected " : "",
		    strcmp(a->got, a->reason) != 0 ? a->reason : "", a->seq);
}

/* Probes registered, their own requests, the controls. */
static int
setup(struct access *ac, char *why, size_t whylen)
{
	struct probe *p;
	int i, r;

	for (i = 0; i < 2; i++) {
		p = &ac->p[i];
		if ((r = probe_make(ac, p, i)) != 0) {
			snprintf(why, whylen, "cannot make a probe key: %s",
			    err_str(r));
			return r;
		}
		if ((r = probe_change(ac, p, "probe.add", why, whylen)) != 0)
			return r;
		p->added = 1;
	}
	for (i = 0; i < 2; i++)
		if ((r = own_request(ac, &ac->p[i], why, whylen)) != 0 ||
		    (r = own_command(ac, &ac->p[i], "status", "job.status", why,
		    whylen)) != 0)
			return r;
	return 0;
}

/* Own jobs cancelled, probes removed. */
static int
teardown(struct access *ac, char *why, size_t whylen)
{
	struct probe *p;
	int i, r, bad = 0;

	for (i = 0; i < 2; i++) {
		p = &ac->p[i];
		if (p->job[0] != '\0' && own_command(ac, p, "cancel",
		    "job.cancel", why, whylen) != 0)
			bad = ERR_DENIED;
		if (p->added && (r = probe_change(ac, p, "probe.remove", why,
		    whylen)) != 0)
			bad = r;
		p->added = 0;
		minisig_seckey_free(p->sk);
		p->sk = NULL;
		buf_free(p->rtext);
		buf_free(p->rsig);
		p->rtext = p->rsig = NULL;
	}
	return bad;
}

int
leakaccess_run(const struct leakaccess *x)
{
	struct access ac;
	json_t *rows = NULL;
	char why[512] = "", twhy[512] = "";
	size_t i;
	int r, tr;

	memset(&ac, 0, sizeof(ac));
	ac.x = x;
	if ((r = setup(&ac, why, sizeof(why))) == 0) {
		lt_test_pause(x->ctx, "probes");
		leakreport_addf(x->rep, STEP, NULL, "access.control", "pass", 0,
		    json_pack("[{s:s,s:s},{s:s,s:s}]", "probe", ac.p[0].name,
		    "tenant", ac.p[0].tenant, "probe", ac.p[1].name, "tenant",
		    ac.p[1].tenant), "two throwaway principals, each assigned to "
		    "one tenant only, requested and saw their own tenant's "
		    "export (so the refusals below are about the tenant)");
		for (i = 0; i < 2 && !(x->should_stop && x->should_stop(x->ctx));
		    i++)
			attacks(&ac, &ac.p[i], &ac.p[1 - i]);
		if ((r = audited(&ac, &rows, why, sizeof(why))) == 0)
			for (i = 0; i < ac.nat; i++)
				report_attempt(&ac, &ac.at[i], rows);
	}
	if (r != 0)
		leakreport_addf(x->rep, STEP, NULL, "access.control", "error", 0,
		    NULL, "the access test could not run: %s", why);
	tr = teardown(&ac, twhy, sizeof(twhy));
	leakreport_addf(x->rep, STEP, NULL, "access.cleanup", tr == 0 ? "pass" :
	    "error", 0, json_pack("[s,s]", ac.p[0].name, ac.p[1].name), tr == 0 ?
	    "both throwaway principals removed (leaktest.probe.removed in the "
	    "audit log), their jobs cancelled" : "cleaning up the throwaway "
	    "principals failed (the run's end removes them): %s", twhy);
	json_decref(rows);
	return r != 0 ? r : tr;
}
