/*
 * handle_work.c: a worker's claim (worker.claim). A control-plane child
 * decides which job, if any, the worker gets (queue.h); this process
 * runs it (jobrun.h) while the worker's connection stays open, and
 * answers with the outcome. Jobs the step moved on its own (taken back,
 * failed) are told to whoever waits for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobrun.h"
#include "jobs.h"
#include "ledger.h"
#include "notify.h"
#include "proto.h"
#include "queue.h"
#include "signkey.h"

struct claim_ctx {
	const struct jobs_signed *a;
};

static int
ctl_claim(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct claim_ctx *cc = ctx;
	struct jobs_changes rep;
	struct jobs_job *j = NULL;
	uint8_t lease[JOBS_LEASE_LEN];
	int r;

	char hex[65];

	r = queue_claim(k, cc->a, &j, lease, &rep, o);
	if (r == 0) {
		json_object_set_new(reply, "job", svc_job_json(j,
		    ledger_job(k->ledger, j->id_hash)));
		/* for this process only: the worker is told the job id */
		jobs_hash_hex(j->id_hash, hex);
		json_object_set_new(reply, "job_hash", json_string(hex));
	}
	json_object_set_new(reply, "changed", svc_changes_json(k, &rep));
	jobs_free(j);
	/* Nothing happened: nothing to keep, not even the claim's nonce
	 * (a worker asks every few seconds). */
	if (r == ERR_NOENT && rep.nchanged == 0)
		PQclear(PQexec(k->c, "ROLLBACK"));
	return r;
}

/* Jobs failed on the way are told about. */
static void
tell_changed(struct svc_conn *sc, const json_t *changed)
{
	const char *st;
	json_t *j;
	size_t i;

	json_array_foreach(changed, i, j) {
		st = json_string_value(json_object_get(j, "state"));
		if (st != NULL && strcmp(st, "failed") == 0)
			notify_job(sc->cfg, "failed", j, NULL);
	}
}

int
handle_work(struct svc_conn *sc, json_t *req)
{
	struct jobs_signed a;
	struct claim_ctx cc;
	struct jobs_outcome o;
	struct jobrun jr;
	struct signkey *key = NULL;
	json_t *rep = NULL, *extra;
	int r;

	memset(&jr, 0, sizeof(jr));
	memset(&o, 0, sizeof(o));
	if (svc_signed(req, &a) != 0)
		return svc_decide(sc, req, NULL);
	/* A worker claims no job the service could not finish: the outbox
	 * and the signing key are checked first (jobrun_ready). The key is
	 * unlocked only when a job waits: an idle poll costs no scrypt. (A
	 * job queued between the look and the claim has its key loaded by
	 * the export itself.) */
	if (jobrun_ready(sc->cfg, jobrun_queue_waiting(sc->cfg) ? &key :
	    NULL, &o) != 0)
		return svc_result(sc, &o, NULL);
	cc.a = &a;
	r = svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_claim, &cc, &o,
	    &rep);
	tell_changed(sc, json_object_get(rep, "changed"));
	if (r != 0) {
		json_decref(rep);
		signkey_free(key);
		return svc_result(sc, &o, NULL);
	}
	jr.sc = sc;
	jr.job = json_object_get(rep, "job");
	jr.signkey = key;
	jr.worker = 1;
	(void)jobs_hash_parse(json_string_value(json_object_get(rep,
	    "job_hash")), jr.id_hash);
	/* The worker learns at once that it holds a job (it may ask for
	 * the next one on another connection meanwhile). */
	if ((extra = json_pack("{s:O?,s:O?}", "claimed", json_object_get(jr.job,
	    "id"), "tenant", json_object_get(jr.job, "tenant"))) != NULL)
		proto_send_json(sc->fd, PROTO_PROGRESS, extra);
	json_decref(extra);
	snprintf(jr.principal, sizeof(jr.principal), "%s", o.principal);
	r = jobrun_run(&jr);
	o.state = jr.o.state;
	o.retry_after = jr.o.retry_after;
	if (r != 0)
		o.r = jr.r != 0 ? jr.r : r;
	snprintf(o.msg, sizeof(o.msg), "%s%s%s", r != 0 && jr.err[0] ?
	    jr.err : "", r != 0 && jr.err[0] ? "; " : "", jr.o.msg);
	extra = json_pack("{s:O}", "job", jr.job);
	if (r == 0)
		json_object_set_new(extra, "result", jobrun_result_json(&jr));
	r = svc_result(sc, &o, extra);
	jobrun_clear(&jr);
	signkey_free(key);
	json_decref(rep);
	return r;
}
