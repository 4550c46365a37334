/*
 * leakrun.c: the leak test in the control plane (leakrun.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "action.h"
#include "config.h"
#include "control.h"
#include "decide.h"
#include "err.h"
#include "jobs.h"
#include "leakdb.h"
#include "leakrun.h"
#include "ledger.h"
#include "minisig.h"

/* The probes' roles: every right a principal of one tenant can have but
 * admin and auditor. The log still lets them move no data. */
static const char *const probe_roles[] = {
	"requester", "approver", "pii", "fetcher",
};
#define PROBE_ROLES	"requester,approver,pii,fetcher"

/* The scope of a leak test job: every tenant table, no window. */
#define LT_SCOPE	"{\"include_global\":false,\"since\":null," \
			"\"tables\":[],\"until\":null}"

void
leakrun_req_clear(struct leakrun_req *q)
{
	if (q == NULL)
		return;
	json_decref(q->tenants);
	memset(q, 0, sizeof(*q));
}

static int
run_valid(const char *run)
{
	return run != NULL && strlen(run) == 32 &&
	    strspn(run, "0123456789abcdef") == 32;
}

/* A tenant id the leak test may carry: 1 to 256 bytes of text. */
static int
tenant_valid(const char *t)
{
	return t != NULL && *t != '\0' && strlen(t) <= 256 &&
	    action_value_valid(t);
}

static json_t *
run_detail(const char *run, json_t *detail)
{
	if (detail == NULL)
		detail = json_object();
	if (detail != NULL)
		json_object_set_new(detail, "run", json_string(run));
	return detail;
}

/* The auditor's choice of tenants, from the action's fields. */
static int
parse_select(const struct action *act, struct leakrun_req *q)
{
	const char *sel = action_get(act, "select");
	const char *cn = action_get(act, "canaries");
	const char *n = action_get(act, "sample"), *list;
	json_t *v;
	size_t i;
	char *end;

	if (cn == NULL || (strcmp(cn, "0") != 0 && strcmp(cn, "1") != 0))
		return ERR_FORMAT;
	q->canaries = cn[0] == '1';
	if (sel != NULL && strcmp(sel, "all") == 0) {
		q->select = LEAKRUN_ALL;
		return 0;
	}
	if (sel != NULL && strcmp(sel, "sample") == 0) {
		q->select = LEAKRUN_SAMPLE;
		if (n == NULL || *n < '1' || *n > '9')
			return ERR_FORMAT;
		q->sample = strtoul(n, &end, 10);
		return *end == '\0' && q->sample <= LEAKRUN_MAX_SAMPLE ? 0 :
		    ERR_FORMAT;
	}
	if (sel == NULL || strcmp(sel, "list") != 0 ||
	    (list = action_get(act, "tenants")) == NULL ||
	    (q->tenants = json_loads(list, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_array(q->tenants) ||
	    json_array_size(q->tenants) == 0 ||
	    json_array_size(q->tenants) > LEAKRUN_MAX_LIST)
		return ERR_FORMAT;
	q->select = LEAKRUN_LIST;
	json_array_foreach(q->tenants, i, v)
		if (!tenant_valid(json_string_value(v)))
			return ERR_FORMAT;
	return 0;
}

int
leakrun_begin(struct jobs_ctx *k, const struct jobs_signed *a,
    const char *run, struct leakrun_req *q, struct jobs_outcome *o)
{
	const struct config_leaktest *lt = config_leaktest(k->cfg);
	struct action *act = NULL;
	const char *who;
	int r;

	decide_init(o);
	memset(q, 0, sizeof(*q));
	if (!run_valid(run))
		return decide_fail(o, ERR_INVALID, "leak test run");
	if ((r = decide_verify(k, a, "leaktest.run", "leaktest.denied", &act,
	    o)) != 0)
		return r;
	who = action_principal(act)->name;
	if (!ledger_may(k->ledger, who, CONTROL_CAP_AUDIT, NULL)) {
		r = decide_deny(k, o, ERR_DENIED, "leaktest.denied", who, NULL,
		    NULL, NULL, "not_auditor", "principal \"%s\" may not run "
		    "the leak test (it needs the role auditor)", who);
		goto out;
	}
	if (parse_select(act, q) != 0) {
		r = decide_deny(k, o, ERR_DENIED, "leaktest.denied", who, NULL,
		    NULL, NULL, "malformed", "the signed leak test request is "
		    "malformed");
		goto out;
	}
	if (q->canaries && (!lt->staging || lt->canary_user == NULL)) {
		r = decide_deny(k, o, ERR_DENIED, "leaktest.denied", who, NULL,
		    NULL, NULL, "not_staging", "canaries are planted only in a "
		    "database the service's configuration marks as staging "
		    "([leaktest] staging = yes, with a canary_user)");
		goto out;
	}
	if ((r = decide_audit_signed(k, "leaktest.started", who, NULL, NULL,
	    NULL, json_pack("{s:s,s:s,s:I,s:b}", "run", run, "select",
	    q->select == LEAKRUN_ALL ? "all" : q->select == LEAKRUN_SAMPLE ?
	    "sample" : "list", "tenants", (json_int_t)(q->select ==
	    LEAKRUN_LIST ? json_array_size(q->tenants) : q->sample),
	    "canaries", q->canaries), a, o)) != 0)
		goto out;
	decide_msg(o, "leak test %s started", run);
	r = o->r = 0;
 out:
	if (r != 0)
		leakrun_req_clear(q);
	action_free(act);
	return r;
}

/* One statement of the step; ERR_DB with the server's words in o. */
static int
exec_params(struct jobs_ctx *k, const char *sql, int n,
    const char *const *params, int *rows, struct jobs_outcome *o)
{
	PGresult *res = PQexecParams(k->c, sql, n, NULL, params, NULL, NULL, 0);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		decide_msg(o, "control tables: %s",
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
		    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) :
		    PQerrorMessage(k->c));
		r = o->r = ERR_DB;
	} else if (rows != NULL)
		*rows = atoi(PQcmdTuples(res));
	PQclear(res);
	return r;
}

static const struct ledger_run *
open_run(struct jobs_ctx *k, const char *run, struct jobs_outcome *o)
{
	const struct ledger_run *lr = run_valid(run) ? ledger_run(k->ledger,
	    run) : NULL;

	if (lr == NULL || !lr->open) {
		decide_msg(o, "leak test run %s is not open", run);
		o->r = ERR_NOENT;
		return NULL;
	}
	return lr;
}

int
leakrun_job_start(struct jobs_ctx *k, const char *run, const char *tenant,
    uint8_t id_hash[JOBS_HASH_LEN], struct jobs_outcome *o)
{
	uint8_t id[JOBS_ID_LEN];
	char hb[2 + 2 * JOBS_HASH_LEN + 1], ref[JOBS_REF_HEX];
	const char *p[4] = { hb, run, tenant, LT_SCOPE };
	json_t *d;
	int r;

	decide_init(o);
	if (open_run(k, run, o) == NULL)
		return o->r;
	if (!tenant_valid(tenant))
		return decide_fail(o, ERR_INVALID, "tenant id");
	jobs_id_new(id);
	jobs_id_hash(id, id_hash);
	sodium_memzero(id, sizeof(id));
	jobs_ref(id_hash, ref);
	hb[0] = '\\';
	hb[1] = 'x';
	sodium_bin2hex(hb + 2, sizeof(hb) - 2, id_hash, JOBS_HASH_LEN);
	if ((r = exec_params(k, "INSERT INTO texp_control.leaktest_jobs "
	    "(id_hash, run, tenant, scope, state) VALUES ($1::bytea, $2, $3, "
	    "$4::jsonb, 'running')", 4, p, NULL, o)) != 0)
		return r;
	if ((d = decide_job_detail(id_hash)) == NULL)
		return o->r = ERR_NOMEM;
	if ((r = decide_audit(k, "leaktest.job.started", NULL, tenant, ref,
	    LT_SCOPE, run_detail(run, d), o)) != 0)
		return r;
	memcpy(o->id_hash, id_hash, JOBS_HASH_LEN);
	return o->r = 0;
}

int
leakrun_job_finish(struct jobs_ctx *k, const char *run,
    const uint8_t id_hash[JOBS_HASH_LEN], int ok, struct jobs_outcome *o)
{
	const struct ledger_ltjob *j = ledger_ltjob(k->ledger, id_hash);
	char hb[2 + 2 * JOBS_HASH_LEN + 1], ref[JOBS_REF_HEX];
	const char *st = ok ? "done" : "failed";
	const char *p[2] = { hb, st };
	json_t *d;
	int r, rows = 0;

	decide_init(o);
	if (j == NULL || !run_valid(run) || strcmp(j->run, run) != 0 ||
	    j->state != LEDGER_LT_RUNNING)
		return decide_fail(o, ERR_NOENT, "no such running leak test job");
	jobs_ref(id_hash, ref);
	hb[0] = '\\';
	hb[1] = 'x';
	sodium_bin2hex(hb + 2, sizeof(hb) - 2, id_hash, JOBS_HASH_LEN);
	if ((r = exec_params(k, "UPDATE texp_control.leaktest_jobs SET state "
	    "= $2, finished_at = pg_catalog.now() WHERE id_hash = $1::bytea "
	    "AND state = 'running'", 2, p, &rows, o)) != 0)
		return r;
	if (rows != 1)
		return decide_fail(o, ERR_TAMPER, "the leak test job's row");
	d = decide_job_detail(id_hash);
	json_object_set_new(d, "state", json_string(st));
	if ((r = decide_audit(k, "leaktest.job.finished", NULL, j->tenant, ref,
	    NULL, run_detail(run, d), o)) != 0)
		return r;
	return o->r = 0;
}

int
leakrun_probe_add(struct jobs_ctx *k, const char *run, const char *name,
    const char *pubkey, const char *tenant, struct jobs_outcome *o)
{
	const struct ledger_run *lr;
	struct minisig_pubkey *pk = NULL;
	char line[160], err[256] = "";
	uint8_t kid[8];
	int r;

	decide_init(o);
	if ((lr = open_run(k, run, o)) == NULL)
		return o->r;
	snprintf(line, sizeof(line), "untrusted comment: probe\n%s\n",
	    pubkey != NULL ? pubkey : "");
	if (name == NULL || !control_name_valid(name) ||
	    ledger_known(k->ledger, name) || pubkey == NULL ||
	    strlen(pubkey) > 100 || ledger_tenant_name(k->ledger, tenant) ==
	    NULL || minisig_pubkey_parse(line, strlen(line), &pk) != 0)
		return decide_fail(o, ERR_INVALID, "probe");
	minisig_pubkey_keyid(pk, kid);
	if (ledger_key_in_use(k->ledger, kid)) {
		r = decide_fail(o, ERR_EXISTS, "probe key");
		goto out;
	}
	if ((r = control_principal_add(k->c, name, pk, probe_roles,
	    sizeof(probe_roles) / sizeof(probe_roles[0]), NULL, err,
	    sizeof(err))) != 0 || (r = control_principal_meta(k->c, name, name,
	    lr->auditor, err, sizeof(err))) != 0 || (r = control_assign(k->c,
	    name, tenant, err, sizeof(err))) != 0) {
		decide_msg(o, "%s", err);
		o->r = r;
		goto out;
	}
	if ((r = decide_audit(k, "leaktest.probe.added", lr->auditor, tenant,
	    NULL, NULL, run_detail(run, json_pack("{s:s,s:s,s:s,s:s}", "name",
	    name, "pubkey", pubkey, "roles", PROBE_ROLES, "tenant", tenant)),
	    o)) != 0)
		goto out;
	r = o->r = 0;
 out:
	minisig_pubkey_free(pk);
	return r;
}

int
leakrun_probe_remove(struct jobs_ctx *k, const char *run, const char *name,
    struct jobs_outcome *o)
{
	const struct ledger_run *lr;
	const char *p[1] = { name };
	const char *pr = ledger_probe_run(k->ledger, name);
	char err[256] = "";
	int r, n = 0;

	decide_init(o);
	if ((lr = open_run(k, run, o)) == NULL)
		return o->r;
	if (pr == NULL || strcmp(pr, run) != 0 ||
	    !ledger_enabled(k->ledger, name))
		return decide_fail(o, ERR_NOENT, "no such probe");
	if ((r = control_principal_disable(k->c, name, err, sizeof(err))) != 0) {
		decide_msg(o, "%s", err);
		return o->r = r;
	}
	if ((r = exec_params(k, "UPDATE texp_control.jobs SET state = "
	    "'cancelled', updated_at = pg_catalog.now(), finished_at = "
	    "pg_catalog.now() WHERE requested_by = (SELECT id FROM "
	    "texp_control.principals WHERE name = $1) AND state IN ('queued', "
	    "'awaiting_approval')", 1, p, &n, o)) != 0)
		return r;
	if ((r = decide_audit(k, "leaktest.probe.removed", lr->auditor, NULL,
	    NULL, NULL, run_detail(run, json_pack("{s:s,s:i}", "name", name,
	    "cancelled", n)), o)) != 0)
		return r;
	return o->r = 0;
}

int
leakrun_record(struct jobs_ctx *k, const char *run, const char *what,
    const char *tenant, json_t *detail, struct jobs_outcome *o)
{
	char event[64];

	decide_init(o);
	if (!run_valid(run) || ledger_run(k->ledger, run) == NULL) {
		json_decref(detail);
		return decide_fail(o, ERR_NOENT, "leak test run");
	}
	snprintf(event, sizeof(event), "leaktest.%s", what);
	if (decide_audit(k, event, NULL, tenant, NULL, NULL,
	    run_detail(run, detail), o) != 0)
		return o->r;
	return o->r = 0;
}

/* The run's probes (a NULL-terminated list of names) and running jobs
 * (njobs hashes of JOBS_HASH_LEN bytes), copied out of the ledger. */
static int
run_members(struct jobs_ctx *k, const char *run, char ***names,
    uint8_t **hashes, size_t *njobs)
{
	const struct ledger_ltjob *j;
	size_t n = 0, m = 0, i;

	while (ledger_run_probe(k->ledger, run, n) != NULL)
		n++;
	while (ledger_run_job(k->ledger, run, m) != NULL)
		m++;
	*njobs = m;
	*hashes = NULL;
	if ((*names = calloc(n + 1, sizeof(**names))) == NULL ||
	    (m > 0 && (*hashes = malloc(m * JOBS_HASH_LEN)) == NULL))
		goto fail;
	for (i = 0; i < n; i++)
		if (((*names)[i] = strdup(ledger_run_probe(k->ledger, run,
		    i))) == NULL)
			goto fail;
	for (i = 0; i < m; i++) {
		j = ledger_run_job(k->ledger, run, i);
		memcpy(*hashes + i * JOBS_HASH_LEN, j->id_hash, JOBS_HASH_LEN);
	}
	return 0;
 fail:
	for (i = 0; *names != NULL && (*names)[i] != NULL; i++)
		free((*names)[i]);
	free(*names);
	free(*hashes);
	*names = NULL;
	*hashes = NULL;
	return ERR_NOMEM;
}

int
leakrun_end(struct jobs_ctx *k, const char *run, int aborted, json_t *detail,
    struct jobs_outcome *o)
{
	struct jobs_outcome sub;
	char **names = NULL;
	uint8_t *hashes = NULL;
	size_t i, njobs = 0;
	int r;

	decide_init(o);
	if (open_run(k, run, o) == NULL) {
		json_decref(detail);
		return o->r;
	}
	/* The probes and jobs of the log as loaded, listed before any goes:
	 * each step's row changes the ledger these lists are read from. */
	if ((r = run_members(k, run, &names, &hashes, &njobs)) != 0) {
		json_decref(detail);
		return decide_fail(o, r, "out of memory");
	}
	for (i = 0; r == 0 && names[i] != NULL; i++)
		r = leakrun_probe_remove(k, run, names[i], &sub);
	for (i = 0; r == 0 && i < njobs; i++)
		r = leakrun_job_finish(k, run, hashes + i * JOBS_HASH_LEN, 0,
		    &sub);
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
	free(hashes);
	if (r != 0) {
		json_decref(detail);
		*o = sub;
		return r;
	}
	if ((r = decide_audit(k, aborted ? "leaktest.aborted" :
	    "leaktest.finished", NULL, NULL, NULL, NULL, run_detail(run,
	    detail), o)) != 0)
		return r;
	decide_msg(o, "leak test %s %s", run, aborted ? "aborted" : "finished");
	return o->r = 0;
}

/* 1 if the run's lock was free (and is now held by this session), 0 if
 * a live leak test holds it. */
static int
try_lock(struct jobs_ctx *k, const char *run, int unlock)
{
	char a[16], b[16];
	const char *p[2] = { a, b };
	int32_t k1, k2;
	PGresult *res;
	int got;

	leakdb_lock_key(run, &k1, &k2);
	snprintf(a, sizeof(a), "%d", (int)k1);
	snprintf(b, sizeof(b), "%d", (int)k2);
	res = PQexecParams(k->c, unlock ? "SELECT pg_catalog."
	    "pg_advisory_unlock($1::int4, $2::int4)" : "SELECT pg_catalog."
	    "pg_try_advisory_lock($1::int4, $2::int4)", 2, NULL, p, NULL,
	    NULL, 0);
	got = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return got;
}

int
leakrun_sweep(struct jobs_ctx *k, int *aborted, json_t *leftover,
    struct jobs_outcome *o)
{
	const struct ledger_run *lr;
	size_t i;
	int r;

	decide_init(o);
	*aborted = 0;
	for (i = 0; (lr = ledger_run_at(k->ledger, i)) != NULL; i++) {
		if (lr->open && !try_lock(k, lr->id, 0))
			continue;	/* a leak test is running it */
		if (lr->open) {
			r = leakrun_end(k, lr->id, 1, json_pack("{s:s}", "by",
			    "sweep"), o);
			try_lock(k, lr->id, 1);
			if (r != 0)
				return r;
			(*aborted)++;
		}
		if (lr->planted == NULL || lr->deleted)
			continue;
		json_array_append_new(leftover, json_pack("{s:s,s:O}", "run",
		    lr->id, "canaries", lr->planted));
	}
	return o->r = 0;
}

int
leakrun_rows(struct jobs_ctx *k, const json_t *seqs, json_t **rows,
    struct jobs_outcome *o)
{
	char *list = NULL;
	const char *p[1];
	PGresult *res;
	int i;

	decide_init(o);
	*rows = NULL;
	if ((list = json_dumps(seqs, JSON_COMPACT)) == NULL)
		return o->r = ERR_NOMEM;
	list[0] = '{';
	list[strlen(list) - 1] = '}';
	p[0] = list;
	res = PQexecParams(k->c, "SELECT seq, event, principal, "
	    "detail->>'reason' FROM texp_control.audit_log WHERE seq = ANY "
	    "($1::bigint[]) ORDER BY seq", 1, NULL, p, NULL, NULL, 0);
	free(list);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return decide_fail(o, ERR_DB, "reading the audit log");
	}
	*rows = json_array();
	for (i = 0; i < PQntuples(res); i++)
		json_array_append_new(*rows, json_pack("{s:I,s:s,s:s?,s:s?}",
		    "seq", (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
		    "event", PQgetvalue(res, i, 1), "principal",
		    PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
		    "reason", PQgetisnull(res, i, 3) ? NULL :
		    PQgetvalue(res, i, 3)));
	PQclear(res);
	return o->r = 0;
}
