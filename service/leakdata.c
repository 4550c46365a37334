/*
 * leakdata.c: the leak test, per tested tenant (leaksteps.h): the
 * session battery, the export through the real pipeline to an ephemeral
 * key, and what it proves; the canaries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "age.h"
#include "buf.h"
#include "config.h"
#include "ctlchild.h"
#include "db.h"
#include "err.h"
#include "export.h"
#include "handle.h"
#include "jobs.h"
#include "leakdb.h"
#include "leakprobe.h"
#include "leakreport.h"
#include "leakrun.h"
#include "leaksteps.h"
#include "manifest.h"
#include "tokscan.h"

/* ---- the leak test job ---- */

struct jobctx {
	const char *run, *tenant;
	uint8_t hash[JOBS_HASH_LEN];
	int ok;
};

static int
ctl_job_start(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobctx *j = ctx;
	char hex[65];
	int r = leakrun_job_start(k, j->run, j->tenant, j->hash, o);

	if (r == 0) {
		jobs_hash_hex(j->hash, hex);
		json_object_set_new(reply, "job_hash", json_string(hex));
	}
	return r;
}

static int
ctl_job_finish(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobctx *j = ctx;

	(void)reply;
	return leakrun_job_finish(k, j->run, j->hash, j->ok, o);
}

static int
job_start(struct lt *t, const char *tenant, uint8_t hash[JOBS_HASH_LEN],
    char *why, size_t whylen)
{
	struct jobctx j = { t->run, tenant, { 0 }, 0 };
	struct jobs_outcome o;
	json_t *reply = NULL;
	int r;

	r = svc_in_child(t->sc->cfg, t->sc->control_id, t->sc->peer,
	    ctl_job_start, &j, &o, &reply);
	if (r == 0 && jobs_hash_parse(json_string_value(json_object_get(reply,
	    "job_hash")), hash) != 0)
		r = ERR_CHILD;
	if (r != 0)
		snprintf(why, whylen, "%s", o.msg[0] ? o.msg : err_str(r));
	json_decref(reply);
	return r;
}

static void
job_finish(struct lt *t, const char *tenant, const uint8_t hash[JOBS_HASH_LEN],
    int ok)
{
	struct jobctx j = { t->run, tenant, { 0 }, ok };
	struct jobs_outcome o;

	memcpy(j.hash, hash, JOBS_HASH_LEN);
	svc_in_child(t->sc->cfg, t->sc->control_id, t->sc->peer, ctl_job_finish,
	    &j, &o, NULL);
}

/* ---- what the scans look for ---- */

enum wkind { W_FOREIGN_ID, W_FOREIGN_CANARY, W_OWN_CANARY };

struct watch {
	const char **ids;
	enum wkind *kind;
	const char **owner;		/* the tenant it belongs to */
	const char **table;		/* a canary's table */
	size_t n;
	struct tokscan *ts;
};

static void
watch_free(struct watch *w)
{
	free(w->ids);
	free(w->kind);
	free(w->owner);
	free(w->table);
	tokscan_free(w->ts);
	memset(w, 0, sizeof(*w));
}

static void
watch_add(struct watch *w, const char *id, enum wkind k, const char *owner,
    const char *table)
{
	w->ids[w->n] = id;
	w->kind[w->n] = k;
	w->owner[w->n] = owner;
	w->table[w->n] = table;
	w->n++;
}

/* Every other tenant's id and every canary marker. */
static int
watch_build(struct lt *t, const char *tenant, struct watch *w)
{
	size_t n = json_array_size(t->all) + json_array_size(t->planted) + 1, i;
	const json_t *v;
	const char *owner;

	memset(w, 0, sizeof(*w));
	if ((w->ids = calloc(n, sizeof(*w->ids))) == NULL ||
	    (w->kind = calloc(n, sizeof(*w->kind))) == NULL ||
	    (w->owner = calloc(n, sizeof(*w->owner))) == NULL ||
	    (w->table = calloc(n, sizeof(*w->table))) == NULL)
		return ERR_NOMEM;
	json_array_foreach(t->all, i, v)
		if (strcmp(json_string_value(v), tenant) != 0)
			watch_add(w, json_string_value(v), W_FOREIGN_ID,
			    json_string_value(v), NULL);
	json_array_foreach(t->planted, i, v) {
		owner = json_string_value(json_object_get(v, "tenant"));
		watch_add(w, json_string_value(json_object_get(v, "marker")),
		    strcmp(owner, tenant) == 0 ? W_OWN_CANARY : W_FOREIGN_CANARY,
		    owner, json_string_value(json_object_get(v, "table")));
	}
	return tokscan_new(w->ids, w->n, &w->ts);
}

/* ---- the session battery ---- */

static void
step_session(struct lt *t, const char *tenant, const uint8_t job[32],
    const char *other, const struct watch *w)
{
	const struct config *cfg = t->sc->cfg;
	struct leakprobe_opts po;
	struct db_export *dx = NULL;
	char role[DB_ROLE_NAME_MAX], *pw = NULL, err[512] = "";
	json_t *checks = json_array(), *c;
	size_t i;
	int r;

	memset(&po, 0, sizeof(po));
	po.cfg = cfg;
	po.tenant = tenant;
	po.other = other;
	po.foreign = w->ts;
	po.monitor = config_db_param(cfg, "user");
	po.statement_timeout = (unsigned)config_leaktest(cfg)->statement_timeout;
	if ((r = leakdb_role(t->db, job, role, &pw, err, sizeof(err))) != 0) {
		leakreport_addf(t->rep, "session", tenant, "session.setup",
		    "error", 0, NULL, "no export role could be made for the "
		    "tenant: %s", err);
		json_decref(checks);
		return;
	}
	r = db_export_connect(cfg, role, pw, tenant, &dx, err, sizeof(err));
	sodium_free(pw);
	if (r == 0) {
		lt_test_pause(t, "session");
		/* the battery starts outside a transaction */
		PQclear(PQexec(db_export_conn(dx), "ROLLBACK"));
		r = leakprobe_run(db_export_conn(dx), &po, checks, err,
		    sizeof(err));
	}
	json_array_foreach(checks, i, c)
		leakreport_add(t->rep, "session", tenant, json_incref(c));
	if (r != 0)
		leakreport_addf(t->rep, "session", tenant, "session.setup",
		    "error", 0, NULL, "the session battery could not run to its "
		    "end: %s", err);
	db_export_free(dx);
	leakdb_drop(t->db, role, err, sizeof(err));
	json_decref(checks);
}

/* ---- the export ---- */

struct datactx {
	struct lt *t;
	const char *tenant;
	json_t *counts;
	char err[512];
};

static int
data_stop(void *ctx)
{
	return lt_should_stop(((struct datactx *)ctx)->t);
}

static int
on_snapshot(void *ctx, const char *snapshot)
{
	struct datactx *d = ctx;

	return leakdb_counts(d->t->db, d->tenant, snapshot, &d->counts, d->err,
	    sizeof(d->err));
}

/* The proven manifest (names of tables and columns), or NULL. */
static struct manifest *
proven_manifest(const struct export_result *res)
{
	struct buf *b;
	struct manifest *m = NULL;
	const uint8_t *pre;
	size_t plen;

	if (res->receipt == NULL ||
	    (b = buf_from(res->receipt, res->receipt_len)) == NULL)
		return NULL;
	if (manifest_decode(b, &m, &pre, &plen) != 0)
		m = NULL;
	buf_free(b);
	return m;
}

static const char *
col_name(const struct manifest *m, size_t table, size_t col)
{
	return m != NULL && table < m->ntables &&
	    col < m->tables[table].ncolumns ?
	    m->tables[table].columns[col].name : "?";
}

static const char *
table_name(const struct manifest *m, size_t table)
{
	return m != NULL && table < m->ntables ? m->tables[table].name : "?";
}

/* Every record proven to be the tenant's. */
static void
judge_proof(struct lt *t, const char *tenant, const struct export_result *res,
    const char *err)
{
	if (!res->check_ok || res->tenant_mismatches > 0)
		leakreport_addf(t->rep, "data", tenant, "data.proof", "fail",
		    (long long)res->tenant_mismatches, json_pack("[{s:s}]",
		    "checker", err), "the checker refused the export: %llu "
		    "records of another tenant (%s)", (unsigned long long)
		    res->tenant_mismatches, err);
	else
		leakreport_addf(t->rep, "data", tenant, "data.proof", "pass", 0,
		    NULL, "%llu records in %zu tables, each proven to be the "
		    "tenant's (builder, checker, tenant evidence)",
		    (unsigned long long)res->records, res->ntables);
}

/* Values holding other tenants' ids; they also feed the references step
 * (a column that holds another tenant's id without a declared key). */
static void
judge_foreign(struct lt *t, const char *tenant, const struct export_result *res,
    const struct manifest *m, const struct watch *w)
{
	const struct verify_hit *h;
	json_t *d = json_array();
	long long total = 0;
	size_t i;

	for (i = 0; i < res->nhits; i++) {
		h = &res->hits[i];
		if (h->which >= w->n || w->kind[h->which] != W_FOREIGN_ID)
			continue;
		total += (long long)h->records;
		json_array_append_new(d, json_pack("{s:s,s:s,s:s,s:I,s:I}",
		    "table", table_name(m, h->table), "column", col_name(m,
		    h->table, h->column), "foreign_tenant", w->owner[h->which],
		    "records", (json_int_t)h->records, "first_record",
		    (json_int_t)h->first));
		json_array_append_new(t->undeclared, json_pack("{s:s,s:s,s:s,s:s,"
		    "s:I}", "tenant", tenant, "table", table_name(m, h->table),
		    "column", col_name(m, h->table, h->column), "foreign_tenant",
		    w->owner[h->which], "records", (json_int_t)h->records));
	}
	if (total > 0 || res->hits_dropped > 0)
		leakreport_addf(t->rep, "data", tenant, "data.foreign_ids", "fail",
		    total, d, "%lld values hold another tenant's id (exact "
		    "tokens)%s", total, res->hits_dropped ? "; more places than "
		    "could be listed" : "");
	else
		leakreport_addf(t->rep, "data", tenant, "data.foreign_ids", "pass",
		    0, d, "no value holds any of the %zu other tenants' ids "
		    "(exact tokens in every text, JSON, bytea and UUID value)",
		    json_array_size(t->all) ? json_array_size(t->all) - 1 : 0);
}

/* Row counts per table against an independent count in the same
 * snapshot. */
static void
judge_complete(struct lt *t, const char *tenant,
    const struct export_result *res, const struct datactx *dc)
{
	json_t *d = json_array(), *want;
	size_t i, bad = 0;

	if (dc->counts == NULL) {
		json_decref(d);
		leakreport_addf(t->rep, "data", tenant, "data.completeness",
		    "error", 0, NULL, "no independent count: %s", dc->err[0] ?
		    dc->err : "the export did not get that far");
		return;
	}
	for (i = 0; i < res->ntables; i++) {
		want = json_object_get(dc->counts, res->tables[i].name);
		if (want == NULL)
			continue;
		json_array_append_new(d, json_pack("{s:s,s:I,s:I}", "table",
		    res->tables[i].name, "exported", (json_int_t)
		    res->tables[i].records, "counted", json_integer_value(want)));
		bad += (json_int_t)res->tables[i].records !=
		    json_integer_value(want);
	}
	if (bad > 0)
		leakreport_addf(t->rep, "data", tenant, "data.completeness",
		    "fail", (long long)bad, d, "%zu tables exported another "
		    "number of rows than the tenant has in them (counted by "
		    "tenant column in the same snapshot)", bad);
	else
		leakreport_addf(t->rep, "data", tenant, "data.completeness",
		    "pass", 0, d, "every table's row count equals an independent "
		    "count in the export's snapshot (%zu tables)",
		    json_array_size(d));
}

/* Own canaries in every table they were planted in; nobody else's. */
static void
judge_canaries(struct lt *t, const char *tenant,
    const struct export_result *res, const struct manifest *m,
    const struct watch *w)
{
	json_t *d = json_array();
	size_t i, k, own = 0, missing = 0, foreign = 0;
	int found;

	for (k = 0; k < w->n; k++) {
		if (w->kind[k] != W_OWN_CANARY)
			continue;
		own++;
		for (found = 0, i = 0; i < res->nhits && !found; i++)
			found = res->hits[i].which == k &&
			    strcmp(table_name(m, res->hits[i].table),
			    w->table[k]) == 0;
		if (!found) {
			missing++;
			json_array_append_new(d, json_pack("{s:s,s:s}", "table",
			    w->table[k], "missing", "the tenant's own canary"));
		}
	}
	for (i = 0; i < res->nhits; i++) {
		if (res->hits[i].which >= w->n ||
		    w->kind[res->hits[i].which] != W_FOREIGN_CANARY)
			continue;
		foreign++;
		json_array_append_new(d, json_pack("{s:s,s:s,s:s}", "table",
		    table_name(m, res->hits[i].table), "column", col_name(m,
		    res->hits[i].table, res->hits[i].column), "canary_of",
		    w->owner[res->hits[i].which]));
	}
	if (own == 0 && foreign == 0) {
		json_decref(d);
		return;
	}
	if (missing > 0 || foreign > 0)
		leakreport_addf(t->rep, "data", tenant, "data.canaries", "fail",
		    (long long)(missing + foreign), d, "canaries: %zu of the "
		    "tenant's own missing, %zu of other tenants present", missing,
		    foreign);
	else
		leakreport_addf(t->rep, "data", tenant, "data.canaries", "pass", 0,
		    d, "canaries: the tenant's own in all %zu tables, none of "
		    "another tenant", own);
}

/* The export, through the real pipeline, to a key that exists only
 * here; nothing is written, signed or published. */
static int
step_data(struct lt *t, const char *tenant, const uint8_t job[32],
    const struct watch *w)
{
	struct export_probe pb;
	struct export_request q;
	struct export_result res;
	struct datactx dc;
	struct age_identity *id = NULL;
	struct manifest *m = NULL;
	char *rcpt = NULL, err[1024] = "";
	const char *rcpts[1];
	int r;

	memset(&dc, 0, sizeof(dc));
	memset(&pb, 0, sizeof(pb));
	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	dc.t = t;
	dc.tenant = tenant;
	if ((r = age_identity_generate(&id)) != 0 ||
	    (r = age_identity_recipient(id, &rcpt)) != 0) {
		snprintf(err, sizeof(err), "no ephemeral key: %s", err_str(r));
		goto out;
	}
	rcpts[0] = rcpt;
	pb.watch = w->ts;
	pb.on_snapshot = on_snapshot;
	pb.should_stop = data_stop;
	pb.ctx = &dc;
	q.cfg = t->sc->cfg;
	q.job_hash = job;
	q.tenant = tenant;
	q.allow_empty = 1;
	q.recipients = rcpts;
	q.nrecipients = 1;
	q.probe = &pb;
	r = export_run(&q, &res, err, sizeof(err));
 out:
	/* the key is wiped; the ciphertext was never kept */
	age_identity_free(id);
	free(rcpt);
	if (r == ERR_INTERRUPTED)
		t->stopped = 1;
	if (r != 0)
		leakreport_addf(t->rep, "data", tenant, "data.proof", "error", 0,
		    NULL, "the export could not run: %s", err);
	else {
		m = proven_manifest(&res);
		judge_proof(t, tenant, &res, err);
		judge_foreign(t, tenant, &res, m, w);
		judge_complete(t, tenant, &res, &dc);
		judge_canaries(t, tenant, &res, m, w);
	}
	manifest_free(m);
	json_decref(dc.counts);
	export_result_clear(&res);
	return r;
}

void
lt_tenant(struct lt *t, const char *tenant, const char *other)
{
	uint8_t job[JOBS_HASH_LEN];
	struct watch w;
	char why[512] = "";
	int r;

	if ((r = watch_build(t, tenant, &w)) != 0) {
		leakreport_addf(t->rep, "data", tenant, "data.setup", "error", 0,
		    NULL, "cannot prepare the scan: %s", err_str(r));
		watch_free(&w);
		return;
	}
	if (job_start(t, tenant, job, why, sizeof(why)) != 0) {
		leakreport_addf(t->rep, "session", tenant, "session.setup",
		    "error", 0, NULL, "no leak test job for the tenant: %s", why);
		watch_free(&w);
		return;
	}
	if (!lt_should_stop(t))
		step_session(t, tenant, job, other, &w);
	r = lt_should_stop(t) ? ERR_INTERRUPTED : step_data(t, tenant, job, &w);
	job_finish(t, tenant, job, r == 0);
	watch_free(&w);
}

/* ---- canaries ---- */

/* The entries of list about tenant (a new array). */
static json_t *
of_tenant(const json_t *list, const char *tenant)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "tenant")),
		    tenant) == 0)
			json_array_append(out, v);
	return out;
}

void
lt_canaries_plant(struct lt *t)
{
	const char **ids = NULL;
	json_t *res = NULL, *v, *mine, *skip, *fail;
	char err[512] = "";
	const char *tenant;
	size_t i;
	int r;

	if (!t->q.canaries)
		return;
	if ((ids = calloc(json_array_size(t->tested) + 1, sizeof(*ids))) ==
	    NULL)
		return;
	json_array_foreach(t->tested, i, v)
		ids[i] = json_string_value(v);
	r = leakdb_plant(t->db, ids, json_array_size(t->tested), &res, err,
	    sizeof(err));
	free(ids);
	if (r != 0) {
		leakreport_addf(t->rep, "canaries", NULL, "canaries.plant", "error",
		    0, NULL, "no canary could be planted: %s", err);
		return;
	}
	json_array_extend(t->planted, json_object_get(res, "planted"));
	json_array_foreach(t->tested, i, v) {
		tenant = json_string_value(v);
		mine = of_tenant(json_object_get(res, "planted"), tenant);
		skip = of_tenant(json_object_get(res, "skipped"), tenant);
		fail = of_tenant(json_object_get(res, "failed"), tenant);
		lt_record(t, "canaries.planted", tenant, json_pack("{s:O}",
		    "canaries", mine));
		leakreport_addf(t->rep, "canaries", tenant, "canaries.plant",
		    json_array_size(fail) > 0 ? "error" : "pass",
		    (long long)json_array_size(mine), json_pack("{s:O,s:O}",
		    "skipped", skip, "failed", fail), "canaries planted in %zu "
		    "tables (%zu skipped, %zu could not be planted)",
		    json_array_size(mine), json_array_size(skip),
		    json_array_size(fail));
		json_decref(mine);
		json_decref(skip);
		json_decref(fail);
	}
	json_decref(res);
}

void
lt_canaries_delete(struct lt *t)
{
	json_t *res = NULL, *left;
	char err[512] = "";
	int r;

	if (json_array_size(t->planted) == 0)
		return;
	r = leakdb_unplant(t->db, &res, err, sizeof(err));
	left = res != NULL ? json_object_get(res, "left") : NULL;
	lt_record(t, "canaries.deleted", NULL, json_pack("{s:I,s:O?}",
	    "deleted", res != NULL ? json_integer_value(json_object_get(res,
	    "deleted")) : 0, "left", left));
	if (r != 0 || json_array_size(left) > 0)
		leakreport_addf(t->rep, "canaries", NULL, "canaries.delete", "error",
		    (long long)json_array_size(left), json_incref(left), "%zu "
		    "canaries could not be deleted%s%s (tenant-export sweep tries "
		    "again)", r != 0 ? json_array_size(t->planted) :
		    json_array_size(left), r != 0 ? ": " : "", err);
	else
		leakreport_addf(t->rep, "canaries", NULL, "canaries.delete", "pass",
		    (long long)json_integer_value(json_object_get(res, "deleted")),
		    NULL, "all %lld canaries deleted", (long long)
		    json_integer_value(json_object_get(res, "deleted")));
	if (r == 0)
		json_array_clear(t->planted);
	json_decref(res);
}
