/*
 * handle_run.c: running a job (export.run): claim it in a control-plane
 * child, export exactly its tenant, scope and recipients, record the
 * outcome in another child. The process running this never logs in to
 * the control schema itself: the builders it forks inherit its memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "ctlchild.h"
#include "config.h"
#include "err.h"
#include "evidence.h"
#include "export.h"
#include "handle.h"
#include "jobs.h"
#include "ledger.h"
#include "proto.h"
#include "signkey.h"

#define MAX_LIST	1024

struct run_ctx {
	const struct jobs_signed *a;	/* the run action, first attempt */
	uint8_t id_hash[JOBS_HASH_LEN];
	char principal[64];
	const struct jobs_result *res;
};

static int
ctl_start(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct run_ctx *rc = ctx;
	struct jobs_job *j = NULL;
	int r;

	if (rc->a != NULL)
		r = jobs_start(k, rc->a, &j, o);
	else
		r = jobs_restart(k, rc->id_hash, rc->principal, &j, o);
	if (r == 0) {
		char hex[65];

		json_object_set_new(reply, "job", svc_job_json(j,
		    ledger_job(k->ledger, j->id_hash)));
		jobs_hash_hex(j->id_hash, hex);
		json_object_set_new(reply, "job_hash", json_string(hex));
	}
	jobs_free(j);
	return r;
}

static int
ctl_finish(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct run_ctx *rc = ctx;

	(void)reply;
	return jobs_finish(k, rc->id_hash, rc->principal, rc->res, o);
}

/* What the provisioning helper needs to record an export whose process
 * was killed (export.h): the helper is a fork of this process. */
struct abandon_ctx {
	struct svc_conn *sc;
	struct run_ctx *rc;
};

/* In the provisioning helper, once the process running the export is
 * gone: the job is marked failed (signed, like every outcome) rather than
 * left running. */
static void
run_abandoned(PGconn *monitor, void *ctx)
{
	struct abandon_ctx *ac = ctx;
	struct jobs_result jr;
	struct jobs_outcome o;

	(void)monitor;
	memset(&jr, 0, sizeof(jr));
	memset(&o, 0, sizeof(o));
	jr.r = ERR_INTERRUPTED;
	jr.error = "the exporting process was killed; nothing was published";
	ac->rc->res = &jr;
	(void)svc_in_child(ac->sc->cfg, ac->sc->control_id, ac->sc->peer,
	    ctl_finish, ac->rc, &o, NULL);
	ac->rc->res = NULL;
}

/* The export of one job, as its record and the signed log fix it. */
struct plan {
	struct export_request q;
	const char *tables[MAX_LIST];
	const char *rcpt[MAX_LIST];
	int passphrase;
};

static int
plan_from_job(const struct config *cfg, json_t *job, struct plan *p)
{
	json_t *scope = json_object_get(job, "scope"), *v;
	size_t i;

	memset(&p->q, 0, sizeof(p->q));
	p->q.cfg = cfg;
	p->q.tenant = json_string_value(json_object_get(job, "tenant"));
	p->q.since = json_string_value(json_object_get(scope, "since"));
	p->q.until = json_string_value(json_object_get(scope, "until"));
	p->q.include_global = json_is_true(json_object_get(scope,
	    "include_global"));
	p->q.allow_empty = json_is_true(json_object_get(job, "allow_empty"));
	p->q.zstd = json_is_true(json_object_get(job, "zstd"));
	p->passphrase = json_is_true(json_object_get(job, "passphrase"));
	json_array_foreach(json_object_get(scope, "tables"), i, v) {
		if (i >= MAX_LIST || json_string_value(v) == NULL)
			return ERR_LIMIT;
		p->tables[i] = json_string_value(v);
		p->q.ntables = i + 1;
	}
	p->q.tables = p->q.ntables > 0 ? p->tables : NULL;
	json_array_foreach(json_object_get(job, "recipients"), i, v) {
		if (i >= MAX_LIST || json_string_value(v) == NULL)
			return ERR_LIMIT;
		p->rcpt[i] = json_string_value(v);
		p->q.nrecipients = i + 1;
	}
	p->q.recipients = p->rcpt;
	/* Without an approval, a large export is held for one. */
	p->q.max_records = json_is_null(json_object_get(job, "approved_by")) ?
	    config_control(cfg)->high_risk_rows : 0;
	return p->q.tenant != NULL ? 0 : ERR_FORMAT;
}

/* 120 random bits as 24 characters from a 32-letter alphabet without
 * look-alikes, in groups of four. */
static char *
make_passphrase(void)
{
	static const char alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	uint8_t rnd[24];
	char *p = sodium_malloc(30);
	size_t i, k = 0;

	if (p == NULL)
		return NULL;
	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < 24; i++) {
		if (i > 0 && i % 4 == 0)
			p[k++] = '-';
		p[k++] = alpha[rnd[i] & 31];
	}
	p[k] = '\0';
	sodium_memzero(rnd, sizeof(rnd));
	return p;
}

struct progress {
	int fd;
	struct timespec last;
};

/* Sends a progress frame at most five times a second; a client that went
 * away does not stop the export. */
static void
progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct progress *p = ctx;
	struct timespec now;
	json_t *j;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000 +
	    (now.tv_nsec - p->last.tv_nsec) / 1000000 < 200)
		return;
	p->last = now;
	if ((j = json_pack("{s:I,s:I}", "rows", (json_int_t)rows, "bytes",
	    (json_int_t)bytes)) != NULL)
		proto_send_json(p->fd, PROTO_PROGRESS, j);
	json_decref(j);
}

static json_t *
result_json(const struct export_result *res, const char *pass)
{
	char id[33], th[65], md[65];
	json_t *o = json_object(), *tabs = json_array();
	const char *base = strrchr(res->archive, '/');
	size_t i;

	evidence_hex(res->export_id, sizeof(res->export_id), id);
	evidence_hex(res->tenant_hash, sizeof(res->tenant_hash), th);
	evidence_hex(res->manifest_digest, sizeof(res->manifest_digest), md);
	for (i = 0; i < res->ntables; i++)
		json_array_append_new(tabs, json_pack("{s:s,s:I}", "name",
		    res->tables[i].name, "records",
		    (json_int_t)res->tables[i].records));
	json_object_set_new(o, "archive", json_string(base ? base + 1 :
	    res->archive));
	json_object_set_new(o, "export_id", json_string(id));
	json_object_set_new(o, "tenant_hash", json_string(th));
	json_object_set_new(o, "manifest_digest", json_string(md));
	json_object_set_new(o, "created", json_integer((json_int_t)
	    res->created));
	json_object_set_new(o, "expires", json_integer((json_int_t)
	    res->expires));
	json_object_set_new(o, "records", json_integer((json_int_t)
	    res->records));
	json_object_set_new(o, "parts", json_integer((json_int_t)res->parts));
	json_object_set_new(o, "tables", tabs);
	json_object_set_new(o, "peak_rss_kib", json_pack("{s:I,s:I,s:I}",
	    "monitor", (json_int_t)res->monitor_rss_kib,
	    "builder", (json_int_t)res->builder_rss_kib,
	    "children", (json_int_t)res->checker_rss_kib));
	if (pass != NULL)
		json_object_set_new(o, "passphrase", json_string(pass));
	return o;
}

/* Tells the caller an attempt failed and the job is retried. */
static void
retry_notice(int fd, int n, const char *err)
{
	json_t *j = json_pack("{s:i,s:s}", "attempt", n, "error", err);

	if (j != NULL)
		proto_send_json(fd, PROTO_PROGRESS, j);
	json_decref(j);
}

/* Faults worth another attempt: the database went away for a moment. */
static int
transient(int r)
{
	return r == ERR_DB;
}

/* One attempt: export, then record the outcome. *again = 1 when the
 * job went back to the queue for another attempt. */
static int
attempt(struct svc_conn *sc, struct run_ctx *rc, struct plan *p,
    int n, struct export_result *res, char *err, size_t errlen,
    struct jobs_outcome *o, int *again)
{
	struct jobs_result jr;
	int r;

	export_result_clear(res);
	r = export_run(&p->q, res, err, errlen);
	memset(&jr, 0, sizeof(jr));
	jr.r = r;
	jr.error = err;
	jr.retry = r != 0 && transient(r) &&
	    (uint64_t)n < config_control(sc->cfg)->max_attempts;
	jr.archive = res->archive;
	jr.digest = res->manifest_digest;
	jr.receipt = res->receipt;
	jr.receipt_len = res->receipt_len;
	jr.expires = res->expires;
	jr.records = res->records;
	rc->res = &jr;
	svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_finish, rc, o,
	    NULL);
	rc->res = NULL;
	*again = o->r == 0 && jr.retry;
	return r;
}

int
handle_run(struct svc_conn *sc, json_t *req)
{
	struct jobs_signed a;
	struct jobs_outcome o;
	struct run_ctx rc;
	struct plan p;
	struct progress pr;
	struct abandon_ctx ac;
	struct export_result res;
	struct signkey *key = NULL;
	json_t *rep = NULL, *extra = NULL;
	char err[1024] = "", who[64] = "", *pass = NULL;
	int r, n, again = 0;

	memset(&rc, 0, sizeof(rc));
	memset(&res, 0, sizeof(res));
	memset(&o, 0, sizeof(o));
	memset(&pr, 0, sizeof(pr));
	pr.fd = sc->fd;
	if (svc_signed(req, &a) != 0)
		return svc_decide(sc, req, NULL);
	/* Everything that does not depend on the job, before one is
	 * claimed: a run that cannot publish must not burn a job. */
	if ((r = export_check_outbox(sc->cfg, err, sizeof(err))) != 0 ||
	    (r = signkey_load(sc->cfg, &key, err, sizeof(err))) != 0) {
		o.r = r;
		snprintf(o.msg, sizeof(o.msg), "the service cannot export: %s "
		    "(no job was claimed)", err);
		return svc_result(sc, &o, NULL);
	}
	rc.a = &a;
	for (n = 1;; n++) {
		json_decref(rep);
		rep = NULL;
		r = svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_start,
		    &rc, &o, &rep);
		if (r != 0)
			break;
		if (jobs_hash_parse(json_string_value(json_object_get(rep,
		    "job_hash")), rc.id_hash) != 0 ||
		    plan_from_job(sc->cfg, json_object_get(rep, "job"), &p) != 0) {
			o.r = r = ERR_CHILD;
			snprintf(o.msg, sizeof(o.msg), "the job record is "
			    "unreadable");
			break;
		}
		snprintf(rc.principal, sizeof(rc.principal), "%s", o.principal);
		snprintf(who, sizeof(who), "%s", o.principal);
		rc.a = NULL;
		if (p.passphrase && pass == NULL &&
		    (pass = make_passphrase()) == NULL) {
			o.r = r = ERR_NOMEM;
			break;
		}
		p.q.passphrase = pass;
		p.q.signkey = key;
		p.q.job_hash = rc.id_hash;
		p.q.progress = progress;
		p.q.progress_ctx = &pr;
		ac.sc = sc;
		ac.rc = &rc;
		p.q.abandoned = run_abandoned;
		p.q.abandoned_ctx = &ac;
		r = attempt(sc, &rc, &p, n, &res, err, sizeof(err), &o, &again);
		if (o.r != 0) {
			r = o.r;
			break;
		}
		if (r == 0 || !again)
			break;
		retry_notice(sc->fd, n, err);
	}
	if (r == 0)
		extra = result_json(&res, pass);
	else if (err[0] != '\0' && o.r == 0) {
		/* the export failed; the job's outcome was recorded */
		o.r = r;
		snprintf(o.msg, sizeof(o.msg), "%s", err);
	}
	if (extra == NULL)
		extra = json_object();
	if (who[0] != '\0')
		snprintf(o.principal, sizeof(o.principal), "%s", who);
	if (!sodium_is_zero(rc.id_hash, sizeof(rc.id_hash))) {
		char id[JOBS_REF_HEX];

		jobs_ref(rc.id_hash, id);
		json_object_set_new(extra, "job", json_string(id));
	}
	r = svc_result(sc, &o, extra);
	signkey_free(key);
	if (pass != NULL)
		sodium_free(pass);
	export_result_clear(&res);
	json_decref(rep);
	return r;
}
