/*
 * handle_leaktest.c: the auditor's leak test (docs/AUDIT.md), decided
 * and run by the service. The auditor's process sends one signed action
 * (leaktest.run) and receives the checks as they are decided, then the
 * result; it never sees a row.
 *
 * The steps, in order:
 *   0. the right: the signed action verified in a control-plane child,
 *      tenant:audit, the run opened in the log (leaktest.started);
 *   1. schema: lint's findings;
 *   2. tenants: which ones are tested;
 *   (canaries, when asked, planted now for every tested tenant)
 *   3. per tenant: the session battery, the export (leakdata.c);
 *   4. references: the data-level foreign-key closure, and the columns
 *      the scan found holding other tenants' ids;
 *   5. access paths: the throwaway principals (leakaccess.c);
 *   6. the end: canaries deleted, the run closed in the log with its
 *      summary, the database helper gone (its roles dropped, its lock
 *      released).
 * A signal (SIGINT, SIGTERM, SIGHUP) or the auditor's connection closing
 * stops it between steps (and stops an export in flight); the end still
 * runs, as leaktest.aborted.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobs.h"
#include "leakaccess.h"
#include "leakdb.h"
#include "leakreport.h"
#include "leakrun.h"
#include "leaksteps.h"
#include "ledger.h"

static volatile sig_atomic_t lt_signal;

static void
on_signal(int sig)
{
	lt_signal = sig;
}

int
lt_should_stop(struct lt *t)
{
	struct pollfd pf = { t->sc->fd, POLLRDHUP, 0 };

	if (t->stopped)
		return 1;
	if (lt_signal != 0)
		t->stopped = 1;
	else if (poll(&pf, 1, 0) > 0 &&
	    (pf.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		t->stopped = 1;	/* the auditor went away */
	else if (leakreport_gone(t->rep))
		t->stopped = 1;
	return t->stopped;
}

int
lt_stop_cb(void *ctx)
{
	return lt_should_stop(ctx);
}

void
lt_test_pause(void *ctx, const char *point)
{
#ifdef TEXP_TEST_HOOKS
	struct lt *t = ctx;
	const char *want = getenv("TEXP_TEST_LEAKTEST_PAUSE");
	const char *dir = getenv("TEXP_TEST_STATE_DIR");
	struct pollfd pf = { t->sc->fd, POLLRDHUP, 0 };
	char path[4096];
	FILE *f;

	if (want == NULL || dir == NULL || strcmp(want, point) != 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.tmp", dir, point);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	{
		char final[4096];

		snprintf(final, sizeof(final), "%s/%s", dir, point);
		rename(path, final);
	}
	while (!lt_should_stop(t))
		poll(&pf, 1, -1);
#else
	(void)ctx;
	(void)point;
#endif
}

/* ---- control-plane steps ---- */

struct ctl {
	struct lt *t;
	const struct jobs_signed *a;
	const char *what, *tenant;
	json_t *detail;
	int aborted;
};

static int
ctl_begin(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct ctl *c = ctx;
	struct leakrun_req q;
	json_t *reg;
	const char *id;
	size_t i;
	int r;

	if ((r = leakrun_begin(k, c->a, c->t->run, &q, o)) != 0)
		return r;
	if ((reg = json_object()) != NULL)
		for (i = 0; (id = ledger_tenant_at(k->ledger, i)) != NULL; i++)
			json_object_set_new(reg, id, json_string(
			    ledger_tenant_name(k->ledger, id)));
	json_object_set_new(reply, "registered", reg);
	json_object_set_new(reply, "select", json_integer(q.select));
	json_object_set_new(reply, "sample", json_integer((json_int_t)q.sample));
	json_object_set_new(reply, "canaries", json_boolean(q.canaries));
	if (q.tenants != NULL)
		json_object_set(reply, "tenants", q.tenants);
	leakrun_req_clear(&q);
	return 0;
}

static int
ctl_record(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct ctl *c = ctx;

	(void)reply;
	return leakrun_record(k, c->t->run, c->what, c->tenant,
	    json_incref(c->detail), o);
}

static int
ctl_end(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o, json_t *reply)
{
	struct ctl *c = ctx;

	(void)reply;
	return leakrun_end(k, c->t->run, c->aborted, json_incref(c->detail), o);
}

int
lt_record(struct lt *t, const char *what, const char *tenant, json_t *detail)
{
	struct ctl c = { t, NULL, what, tenant, detail, 0 };
	struct jobs_outcome o;
	int r;

	r = svc_in_child(t->sc->cfg, t->sc->control_id, t->sc->peer,
	    ctl_record, &c, &o, NULL);
	json_decref(detail);
	return r;
}

/* The auditor's right, and what they asked for. */
static int
begin(struct lt *t, const struct jobs_signed *a, struct jobs_outcome *o)
{
	struct ctl c = { t, a, NULL, NULL, NULL, 0 };
	json_t *reply = NULL;
	int r;

	r = svc_in_child(t->sc->cfg, t->sc->control_id, t->sc->peer, ctl_begin,
	    &c, o, &reply);
	if (r == 0) {
		snprintf(t->auditor, sizeof(t->auditor), "%s", o->principal);
		t->q.select = (enum leakrun_select)json_integer_value(
		    json_object_get(reply, "select"));
		t->q.sample = (size_t)json_integer_value(json_object_get(reply,
		    "sample"));
		t->q.canaries = json_is_true(json_object_get(reply, "canaries"));
		t->q.tenants = json_incref(json_object_get(reply, "tenants"));
		t->registered = json_incref(json_object_get(reply, "registered"));
		if (t->registered == NULL)
			r = o->r = ERR_CHILD;
	}
	json_decref(reply);
	return r;
}

/* ---- 1. schema ---- */

static void
step_schema(struct lt *t)
{
	json_t *f = NULL, *v, *notes = json_array();
	char err[512] = "", obj[600];
	size_t i, blocking = 0;

	if (leakdb_lint(t->db, &f, err, sizeof(err)) != 0) {
		leakreport_addf(t->rep, "schema", NULL, "schema.lint", "error", 0,
		    NULL, "lint could not run: %s", err);
		json_decref(notes);
		return;
	}
	json_array_foreach(f, i, v) {
		if (json_is_true(json_object_get(v, "info"))) {
			json_array_append(notes, v);
			continue;
		}
		blocking++;
		snprintf(obj, sizeof(obj), "%s", json_string_value(
		    json_object_get(v, "object")));
		leakreport_add(t->rep, "schema", NULL, json_pack("{s:s,s:s,s:s,"
		    "s:i,s:s,s:[O]}", "id", "schema.lint", "status", "fail",
		    "object", obj, "count", 1, "message", json_string_value(
		    json_object_get(v, "message")), "detail", v));
	}
	if (blocking == 0)
		leakreport_addf(t->rep, "schema", NULL, "schema.lint", "pass", 0,
		    NULL, "lint: every check passed");
	/* lint's information for the DBA: said, not a finding */
	leakreport_addf(t->rep, "schema", NULL, "schema.notes", "pass",
	    (long long)json_array_size(notes), notes, "lint: %zu note%s for "
	    "the DBA (information, not a finding)", json_array_size(notes),
	    json_array_size(notes) == 1 ? "" : "s");
	json_decref(f);
}

/* ---- 2. tenants ---- */

static int
has(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

/* A random sample of n ids (Fisher-Yates over a copy). */
static json_t *
sample(const json_t *all, size_t n)
{
	json_t *c = json_copy((json_t *)all), *out = json_array(), *tmp;
	size_t i, j, m = json_array_size(c);

	for (i = 0; i < m && i < n; i++) {
		j = i + randombytes_uniform((uint32_t)(m - i));
		tmp = json_incref(json_array_get(c, i));
		json_array_set(c, i, json_array_get(c, j));
		json_array_set_new(c, j, tmp);
		json_array_append(out, json_array_get(c, i));
	}
	json_decref(c);
	return out;
}

static int
step_tenants(struct lt *t)
{
	json_t *v, *unknown = json_array();
	char err[512] = "";
	size_t i;

	if (leakdb_tenants(t->db, &t->all, err, sizeof(err)) != 0) {
		leakreport_addf(t->rep, "tenants", NULL, "tenants.found", "error",
		    0, json_incref(unknown), "the tenants could not be listed: %s",
		    err);
		json_decref(unknown);
		return ERR_DB;
	}
	if (t->q.select == LEAKRUN_ALL)
		t->tested = json_incref(t->all);
	else if (t->q.select == LEAKRUN_SAMPLE)
		t->tested = sample(t->all, t->q.sample);
	else {
		t->tested = json_array();
		json_array_foreach(t->q.tenants, i, v)
			json_array_append(has(t->all, json_string_value(v)) ?
			    t->tested : unknown, v);
	}
	if (json_array_size(unknown) > 0)
		leakreport_addf(t->rep, "tenants", NULL, "tenants.unknown",
		    "error", (long long)json_array_size(unknown),
		    json_incref(unknown), "%zu of the tenants asked for have no "
		    "row in any tenant table: not tested",
		    json_array_size(unknown));
	json_decref(unknown);
	leakreport_addf(t->rep, "tenants", NULL, "tenants.selected",
	    json_array_size(t->tested) > 0 ? "pass" : "error",
	    (long long)json_array_size(t->tested), json_incref(t->tested),
	    "%zu of %zu tenants in the database tested",
	    json_array_size(t->tested), json_array_size(t->all));
	return json_array_size(t->tested) > 0 ? 0 : ERR_EMPTY;
}

/* ---- 4. references ---- */

static void
step_references(struct lt *t)
{
	json_t *keys = NULL, *k, *pv;
	char err[512] = "", obj[400];
	long long rows;
	size_t i, j;

	if (leakdb_fk(t->db, &keys, err, sizeof(err)) != 0)
		leakreport_addf(t->rep, "references", NULL, "references.fk",
		    "error", 0, NULL, "the foreign keys could not be counted: %s",
		    err);
	json_array_foreach(keys, i, k) {
		snprintf(obj, sizeof(obj), "%s %s", json_string_value(
		    json_object_get(k, "table")), json_string_value(
		    json_object_get(k, "constraint")));
		rows = 0;
		json_array_foreach(json_object_get(k, "pairs"), j, pv)
			rows += json_integer_value(json_object_get(pv, "rows"));
		leakreport_add(t->rep, "references", NULL, json_pack("{s:s,s:s,"
		    "s:s,s:I,s:s,s:[O]}", "id", "references.fk", "status",
		    rows > 0 ? "fail" : "pass", "object", obj, "count",
		    (json_int_t)rows, "message", rows > 0 ? "rows point at a row "
		    "of another tenant through this key" : json_is_true(
		    json_object_get(k, "by_key")) ? "the key matches the tenant "
		    "columns: no row can point at another tenant's" : "0 rows "
		    "point at another tenant's row (counted)", "detail", k));
	}
	leakreport_addf(t->rep, "references", NULL, "references.undeclared",
	    json_array_size(t->undeclared) > 0 ? "fail" : "pass",
	    (long long)json_array_size(t->undeclared), json_incref(t->undeclared),
	    json_array_size(t->undeclared) > 0 ? "columns hold other tenants' "
	    "ids (found by the data scan; no declared key vouches for them)" :
	    "no column of the tested tenants holds another tenant's id");
	json_decref(keys);
}

/* ---- 5. access paths ---- */

static void
step_access(struct lt *t)
{
	struct leakaccess x;
	const char *pick[2] = { NULL, NULL }, *id;
	const json_t *v;
	size_t i, n = 0;

	/* tested tenants first, then any other registered one */
	json_array_foreach(t->tested, i, v)
		if (n < 2 && json_object_get(t->registered,
		    json_string_value(v)) != NULL)
			pick[n++] = json_string_value(v);
	json_object_foreach(t->registered, id, v)
		if (n < 2 && (n == 0 || strcmp(pick[0], id) != 0))
			pick[n++] = id;
	if (n < 2) {
		leakreport_addf(t->rep, "access", NULL, "access.control", "skip",
		    0, NULL, "the access test needs two tenants registered in "
		    "the control plane (tenant add); %zu is", n);
		return;
	}
	memset(&x, 0, sizeof(x));
	x.sc = t->sc;
	x.run = t->run;
	for (i = 0; i < 2; i++) {
		x.tenant[i] = pick[i];
		x.display[i] = json_string_value(json_object_get(t->registered,
		    pick[i]));
	}
	x.rep = t->rep;
	x.should_stop = lt_stop_cb;
	x.ctx = t;
	leakaccess_run(&x);
}

/* ---- 6. the end ---- */

static void
finish(struct lt *t, struct jobs_outcome *o)
{
	struct ctl c = { t, NULL, NULL, NULL, NULL, 0 };
	json_t *sum = leakreport_summary(t->rep);
	char err[512] = "";

	lt_canaries_delete(t);
	c.aborted = t->stopped;
	c.detail = json_pack("{s:s,s:I,s:i,s:O,s:o}", "auditor", t->auditor,
	    "tenants", (json_int_t)json_array_size(t->tested), "exit",
	    t->stopped ? 2 : leakreport_exit(t->rep), "summary", sum, "failed",
	    leakreport_failed(t->rep, 50));
	svc_in_child(t->sc->cfg, t->sc->control_id, t->sc->peer, ctl_end, &c,
	    o, NULL);
	json_decref(c.detail);
	json_decref(sum);
	/* drops any export role left and releases the run's lock */
	leakdb_finish(t->db, err, sizeof(err));
	t->db = NULL;
}

static void
signals(struct sigaction old[3], int restore)
{
	static const int sig[3] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	for (i = 0; i < 3; i++)
		sigaction(sig[i], restore ? &old[i] : &sa, restore ? NULL :
		    &old[i]);
}

/* What the auditor's command gets at the end (the checks went before). */
static json_t *
result_extra(struct lt *t, time_t started)
{
	const char *db = config_db_param(t->sc->cfg, "dbname");

	return json_pack("{s:s,s:s,s:s?,s:I,s:I,s:i,s:o,s:O,s:b,s:b}", "run",
	    t->run, "auditor", t->auditor, "database", db, "started",
	    (json_int_t)started, "finished", (json_int_t)time(NULL), "exit",
	    t->stopped ? 2 : leakreport_exit(t->rep), "summary",
	    leakreport_summary(t->rep), "tenants", t->tested ? t->tested :
	    json_array(), "canaries", t->q.canaries, "interrupted",
	    t->stopped);
}

static void
lt_free(struct lt *t)
{
	leakrun_req_clear(&t->q);
	leakreport_free(t->rep);
	json_decref(t->all);
	json_decref(t->tested);
	json_decref(t->registered);
	json_decref(t->planted);
	json_decref(t->undeclared);
	leakdb_finish(t->db, NULL, 0);
}

/* Every step between the start and the end; stops when told to. */
static void
steps(struct lt *t)
{
	const json_t *v;
	const char *other;
	size_t i;

	step_schema(t);
	if (lt_should_stop(t) || step_tenants(t) != 0)
		return;
	if (!lt_should_stop(t)) {
		lt_canaries_plant(t);
		lt_test_pause(t, "planted");
	}
	json_array_foreach(t->tested, i, v) {
		if (lt_should_stop(t))
			return;
		/* the next tenant's id to try to switch to */
		other = json_array_size(t->all) > 1 ? json_string_value(
		    json_array_get(t->all, strcmp(json_string_value(
		    json_array_get(t->all, 0)), json_string_value(v)) == 0)) :
		    NULL;
		lt_tenant(t, json_string_value(v), other);
	}
	if (!lt_should_stop(t))
		step_references(t);
	if (!lt_should_stop(t))
		step_access(t);
}

int
handle_leaktest(struct svc_conn *sc, json_t *req)
{
	struct lt t;
	struct jobs_signed a;
	struct jobs_outcome o;
	struct sigaction old[3];
	uint8_t rnd[16];
	char err[512] = "";
	time_t started = time(NULL);
	int r;

	if (svc_signed(req, &a) != 0)
		return svc_decide(sc, req, NULL);
	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	t.sc = sc;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(t.run, sizeof(t.run), rnd, sizeof(rnd));
	lt_signal = 0;
	signals(old, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((t.rep = leakreport_new(sc->fd)) == NULL ||
	    (t.planted = json_array()) == NULL ||
	    (t.undeclared = json_array()) == NULL) {
		o.r = ERR_NOMEM;
		goto out;
	}
	/* The run's lock is held before the run exists: a sweep never
	 * takes a live run for a dead one. */
	if ((r = leakdb_start(sc->cfg, t.run, 0, &t.db, err,
	    sizeof(err))) != 0) {
		o.r = r;
		snprintf(o.msg, sizeof(o.msg), "the leak test cannot reach the "
		    "database: %s", err);
		goto out;
	}
	if ((r = begin(&t, &a, &o)) != 0)
		goto out;
	steps(&t);
	finish(&t, &o);
	o.r = t.stopped ? ERR_INTERRUPTED : 0;
	snprintf(o.principal, sizeof(o.principal), "%s", t.auditor);
	snprintf(o.msg, sizeof(o.msg), "%s", t.stopped ? "the leak test was "
	    "interrupted; what it did is undone (leaktest.aborted)" :
	    "the leak test ran to its end");
	r = svc_result(sc, &o, result_extra(&t, started));
	signals(old, 1);
	lt_free(&t);
	return r;
 out:
	signals(old, 1);
	lt_free(&t);
	return svc_result(sc, &o, NULL);
}
