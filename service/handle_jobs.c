/*
 * handle_jobs.c: request, approve, status, list, cancel and the admin
 * actions, each one decision in a control-plane child (handle.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "admin.h"
#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobs.h"
#include "ledger.h"
#include "proto.h"

int
svc_signed(json_t *req, struct jobs_signed *a)
{
	const char *t = json_string_value(json_object_get(req, "action"));
	const char *s = json_string_value(json_object_get(req, "sig"));

	memset(a, 0, sizeof(*a));
	if (t == NULL || s == NULL)
		return ERR_FORMAT;
	a->text = (const uint8_t *)t;
	a->tlen = json_string_length(json_object_get(req, "action"));
	a->sig = (const uint8_t *)s;
	a->slen = json_string_length(json_object_get(req, "sig"));
	return 0;
}

int
svc_result(struct svc_conn *sc, const struct jobs_outcome *o, json_t *extra)
{
	json_t *j = json_object();
	const char *k;
	json_t *v;
	int r;

	if (j == NULL) {
		json_decref(extra);
		return ERR_NOMEM;
	}
	json_object_set_new(j, "r", json_integer(o->r));
	json_object_set_new(j, "error", o->r ? json_string(err_code(o->r)) :
	    json_null());
	json_object_set_new(j, "reason", o->reason[0] ?
	    json_string(o->reason) : json_null());
	json_object_set_new(j, "message", json_string(o->msg));
	json_object_set_new(j, "principal", o->principal[0] ?
	    json_string(o->principal) : json_null());
	json_object_set_new(j, "state", o->state ?
	    json_string(jobs_state_str(o->state)) : json_null());
	if (o->retry_after != 0)
		json_object_set_new(j, "retry_after", json_integer((json_int_t)
		    o->retry_after));
	if (extra != NULL)
		json_object_foreach(extra, k, v)
			json_object_set(j, k, v);
	json_decref(extra);
	r = proto_send_json(sc->fd, PROTO_RESULT, j);
	json_decref(j);
	return r;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* A time as the JSON outputs show it: seconds since the epoch, or null
 * when it has not happened. */
static json_t *
time_or_null(int64_t t)
{
	return t != 0 ? json_integer(t) : json_null();
}

json_t *
svc_job_json(const struct jobs_job *j, const struct ledger_job *lj)
{
	json_t *o = json_object(), *a;
	char hex[65];
	size_t i;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "id", json_string(j->ref));
	json_object_set_new(o, "tenant", json_string(j->tenant));
	json_object_set_new(o, "scope", json_loads(j->scope_json, 0, NULL));
	json_object_set_new(o, "state", json_string(jobs_state_str(j->state)));
	json_object_set_new(o, "high_risk", json_boolean(j->high_risk));
	json_object_set_new(o, "requested_by", str_or_null(j->requested_name));
	json_object_set_new(o, "approved_by", str_or_null(j->approved_name));
	json_object_set_new(o, "fetched_by", str_or_null(j->fetched_name));
	json_object_set_new(o, "created", time_or_null(j->created_at));
	json_object_set_new(o, "updated", time_or_null(j->updated_at));
	json_object_set_new(o, "started", time_or_null(j->started_at));
	json_object_set_new(o, "finished", time_or_null(j->finished_at));
	json_object_set_new(o, "expires", time_or_null(j->expires_at));
	json_object_set_new(o, "fetch_count", json_integer(j->fetch_count));
	json_object_set_new(o, "max_fetches", json_integer(j->max_fetches));
	json_object_set_new(o, "attempts", json_integer(j->attempts));
	json_object_set_new(o, "error", str_or_null(j->error));
	json_object_set_new(o, "archive", j->archive != NULL ?
	    json_string(strrchr(j->archive, '/') != NULL ?
	    strrchr(j->archive, '/') + 1 : j->archive) : json_null());
	json_object_set_new(o, "lease_holder", str_or_null(j->lease_holder));
	json_object_set_new(o, "heartbeat", json_integer(j->heartbeat_at));
	json_object_set_new(o, "not_before", json_integer(j->not_before));
	if (j->has_lease) {
		char lh[2 * JOBS_LEASE_LEN + 1];

		sodium_bin2hex(lh, sizeof(lh), j->lease, JOBS_LEASE_LEN);
		json_object_set_new(o, "lease", json_string(lh));
	}
	/* jobs are named by their id everywhere (jobs.h) */
	if (j->has_retry_of) {
		jobs_ref(j->retry_of, hex);
		json_object_set_new(o, "retry_of", json_string(hex));
	}
	if (j->has_superseded_by) {
		jobs_ref(j->superseded_by, hex);
		json_object_set_new(o, "superseded_by", json_string(hex));
	}
	if (lj == NULL)
		return o;
	sodium_bin2hex(hex, sizeof(hex), lj->request_digest, 32);
	json_object_set_new(o, "request_digest", json_string(hex));
	if ((a = json_array()) != NULL)
		for (i = 0; i < lj->nrecipients; i++)
			json_array_append_new(a, json_string(lj->recipients[i]));
	json_object_set_new(o, "recipients", a);
	json_object_set_new(o, "passphrase", json_boolean(lj->passphrase));
	json_object_set_new(o, "allow_empty", json_boolean(lj->allow_empty));
	json_object_set_new(o, "zstd", json_boolean(lj->zstd));
	json_object_set_new(o, "pii", json_boolean(lj->pii));
	return o;
}

json_t *
svc_changes_json(struct jobs_ctx *k, const struct jobs_changes *ch)
{
	json_t *a = json_array();
	struct jobs_job *j;
	size_t i;

	for (i = 0; a != NULL && i < ch->nchanged; i++) {
		if (jobs_get(k->c, ch->changed[i].id_hash, &j) != 0)
			continue;
		json_array_append_new(a, svc_job_json(j, ledger_job(k->ledger,
		    j->id_hash)));
		jobs_free(j);
	}
	return a;
}

void
svc_job_paused(json_t *job, const struct ledger *l, const char *tenant)
{
	int p = ledger_paused(l, tenant);

	json_object_set_new(job, "paused", p == LEDGER_PAUSED_ALL ?
	    json_string("all") : p == LEDGER_PAUSED_TENANT ?
	    json_string("tenant") : json_null());
}

int
svc_decide(struct svc_conn *sc, json_t *req,
    int (*fn)(struct jobs_ctx *, void *, struct jobs_outcome *, json_t *))
{
	struct jobs_signed a;
	struct jobs_outcome o;
	json_t *rep = NULL;

	if (svc_signed(req, &a) != 0) {
		memset(&o, 0, sizeof(o));
		o.r = ERR_FORMAT;
		snprintf(o.msg, sizeof(o.msg), "the request carries no signed "
		    "action");
		return svc_result(sc, &o, NULL);
	}
	svc_in_child(sc->cfg, sc->control_id, sc->peer, fn, &a, &o, &rep);
	return svc_result(sc, &o, rep);
}

static int
do_request(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	char id[JOBS_REF_HEX];
	int r = jobs_request(k, ctx, o);

	if (r == 0) {
		jobs_ref(o->id_hash, id);
		json_object_set_new(reply, "job", json_string(id));
		json_object_set_new(reply, "duplicate",
		    json_boolean(o->duplicate));
	}
	json_object_set_new(reply, "confirm_needed",
	    json_boolean(o->confirm_needed));
	if (o->confirm_name[0] != '\0')
		json_object_set_new(reply, "confirm_name",
		    json_string(o->confirm_name));
	return r;
}

int
handle_request(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_request);
}

static int
do_approve(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	(void)reply;
	return jobs_approve(k, ctx, o);
}

int
handle_approve(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_approve);
}

static int
do_status(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobs_job *j = NULL;
	int r = jobs_status(k, ctx, &j, o);

	if (r == 0) {
		json_t *jj = svc_job_json(j, ledger_job(k->ledger, j->id_hash));

		svc_job_paused(jj, k->ledger, j->tenant);
		json_object_set_new(reply, "job", jj);
	}
	jobs_free(j);
	return r;
}

int
handle_status(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_status);
}

static int
do_list(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobs_job **v = NULL;
	json_t *a;
	size_t n = 0, i;
	int r = jobs_list_for(k, ctx, &v, &n, o);

	if (r == 0 && (a = json_array()) != NULL) {
		for (i = 0; i < n; i++) {
			json_t *jj = svc_job_json(v[i], ledger_job(k->ledger,
			    v[i]->id_hash));

			svc_job_paused(jj, k->ledger, v[i]->tenant);
			json_array_append_new(a, jj);
		}
		json_object_set_new(reply, "jobs", a);
	}
	jobs_list_free(v, n);
	return r;
}

int
handle_list(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_list);
}

static int
do_cancel(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	(void)reply;
	return jobs_cancel(k, ctx, o);
}

int
handle_cancel(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_cancel);
}

static int
do_admin(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	(void)reply;
	return admin_apply(k, ctx, o);
}

int
handle_admin(struct svc_conn *sc, json_t *req)
{
	return svc_decide(sc, req, do_admin);
}
