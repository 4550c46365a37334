/*
 * handle_run.c: running a job in the foreground (export.run): claim it
 * in a control-plane child, run it (jobrun.h), tell the caller. The
 * process running this never logs in to the control schema itself: the
 * builders it forks inherit its memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ctlchild.h"
#include "err.h"
#include "handle.h"
#include "jobrun.h"
#include "jobs.h"
#include "ledger.h"
#include "signkey.h"

static int
ctl_start(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobs_job *j = NULL;
	int r = jobs_start(k, ctx, &j, o);

	char hex[65];

	if (r == 0) {
		json_object_set_new(reply, "job", svc_job_json(j,
		    ledger_job(k->ledger, j->id_hash)));
		/* for this process only: the caller is told the job id */
		jobs_hash_hex(j->id_hash, hex);
		json_object_set_new(reply, "job_hash", json_string(hex));
	}
	jobs_free(j);
	return r;
}

/* The message of a failed attempt: the export's words, and what became
 * of the job. */
static void
failed_msg(struct jobrun *jr, struct jobs_outcome *o)
{
	char ref[JOBS_REF_HEX], what[256];
	int attempts = (int)json_integer_value(json_object_get(jr->job,
	    "attempts"));

	jobs_ref(jr->id_hash, ref);
	if (jr->o.r != 0)
		snprintf(what, sizeof(what), "%s", jr->o.msg);
	else if (jr->o.state == JOBS_QUEUED && jr->o.retry_after != 0)
		snprintf(what, sizeof(what), "job %s goes back to the queue "
		    "(attempt %d): a worker retries it in %llu s, or `run --job` "
		    "it again", ref, attempts, (unsigned long long)
		    jr->o.retry_after);
	else
		snprintf(what, sizeof(what), "%s", jr->o.msg);
	snprintf(o->msg, sizeof(o->msg), "%s; %s", jr->err[0] ? jr->err :
	    err_str(jr->r), what);
}

int
handle_run(struct svc_conn *sc, json_t *req)
{
	struct jobs_signed a;
	struct jobs_outcome o;
	struct jobrun jr;
	struct signkey *key = NULL;
	json_t *rep = NULL, *extra = NULL;
	char id[JOBS_REF_HEX];
	int r;

	memset(&jr, 0, sizeof(jr));
	memset(&o, 0, sizeof(o));
	if (svc_signed(req, &a) != 0)
		return svc_decide(sc, req, NULL);
	/* Everything that does not depend on the job, before one is
	 * claimed: a run that cannot publish must not burn a job. */
	if (jobrun_ready(sc->cfg, &key, &o) != 0)
		return svc_result(sc, &o, NULL);
	if ((r = svc_in_child(sc->cfg, sc->control_id, sc->peer, ctl_start,
	    &a, &o, &rep)) != 0) {
		json_decref(rep);
		signkey_free(key);
		return svc_result(sc, &o, NULL);
	}
	jr.sc = sc;
	jr.job = json_object_get(rep, "job");
	jr.signkey = key;
	(void)jobs_hash_parse(json_string_value(json_object_get(rep,
	    "job_hash")), jr.id_hash);
	snprintf(jr.principal, sizeof(jr.principal), "%s", o.principal);
	r = jobrun_run(&jr);
	o.state = jr.o.state;
	if (r == 0) {
		extra = jobrun_result_json(&jr);
		snprintf(o.msg, sizeof(o.msg), "%s", jr.o.msg);
	} else {
		o.r = jr.r != 0 ? jr.r : r;
		snprintf(o.reason, sizeof(o.reason), "%s", jr.o.reason);
		o.retry_after = jr.o.retry_after;
		failed_msg(&jr, &o);
	}
	if (extra == NULL)
		extra = json_object();
	if (!sodium_is_zero(jr.id_hash, sizeof(jr.id_hash))) {
		jobs_ref(jr.id_hash, id);
		json_object_set_new(extra, "job", json_string(id));
	}
	r = svc_result(sc, &o, extra);
	jobrun_clear(&jr);
	signkey_free(key);
	json_decref(rep);
	return r;
}
