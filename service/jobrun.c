/*
 * jobrun.c: one claimed job, run by the service (jobrun.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "child.h"
#include "config.h"
#include "ctlchild.h"
#include "err.h"
#include "evidence.h"
#include "export.h"
#include "handle.h"
#include "jobrun.h"
#include "jobs.h"
#include "loadguard.h"
#include "notify.h"
#include "proto.h"
#include "signkey.h"

#define MAX_LIST	1024

/* The export of one job, as its record and the signed log fix it. */
struct plan {
	struct export_request q;
	const char *tables[MAX_LIST];
	const char *rcpt[MAX_LIST];
	int passphrase;
};

static int
plan_from_job(const struct config *cfg, const json_t *job, struct plan *p)
{
	json_t *scope = json_object_get(job, "scope"), *v;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->q.cfg = cfg;
	p->q.tenant = json_string_value(json_object_get(job, "tenant"));
	p->q.since = json_string_value(json_object_get(scope, "since"));
	p->q.until = json_string_value(json_object_get(scope, "until"));
	p->q.include_global = json_is_true(json_object_get(scope,
	    "include_global"));
	p->q.include_files = json_is_true(json_object_get(scope, "files"));
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

/* Sends a progress frame at most five times a second; a client that went
 * away does not stop a foreground export. */
static void
progress(void *ctx, uint64_t rows, uint64_t bytes)
{
	struct jobrun *jr = ctx;
	uint64_t now = child_now_ms();
	json_t *j;

	if (jr->worker || now - jr->progress.last < 200)
		return;
	jr->progress.last = now;
	if ((j = json_pack("{s:I,s:I}", "rows", (json_int_t)rows, "bytes",
	    (json_int_t)bytes)) != NULL)
		proto_send_json(jr->progress.fd, PROTO_PROGRESS, j);
	json_decref(j);
}

json_t *
jobrun_result_json(const struct jobrun *jr)
{
	const struct export_result *res = &jr->res;
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
	json_object_set_new(o, "bytes", json_integer((json_int_t)res->bytes));
	json_object_set_new(o, "parts", json_integer((json_int_t)res->parts));
	json_object_set_new(o, "tables", tabs);
	json_object_set_new(o, "build_ms", json_integer((json_int_t)
	    res->build_ms));
	json_object_set_new(o, "held_ms", json_integer((json_int_t)
	    res->held_ms));
	json_object_set_new(o, "peak_rss_kib", json_pack("{s:I,s:I,s:I}",
	    "monitor", (json_int_t)res->monitor_rss_kib,
	    "builder", (json_int_t)res->builder_rss_kib,
	    "children", (json_int_t)res->checker_rss_kib));
	json_object_set_new(o, "cpu_ms", json_pack("{s:I,s:I,s:I,s:I}",
	    "monitor", (json_int_t)res->monitor_cpu_ms,
	    "builder", (json_int_t)res->builder_cpu_ms,
	    "checker", (json_int_t)res->checker_cpu_ms,
	    "relay", (json_int_t)res->relay_cpu_ms));
	if (jr->pass != NULL)
		json_object_set_new(o, "passphrase", json_string(jr->pass));
	return o;
}

/* --- the lease --- */

/* In a short child: the heartbeat, and the load guard's sample. */
static int
light_beat(PGconn *c, const struct config *cfg, void *ctx,
    struct jobs_outcome *o, json_t *reply)
{
	struct jobrun *jr = ctx;
	struct loadguard_sample s;
	enum jobs_state st = 0;
	char why[256];
	int r;

	r = jobs_beat(c, jr->id_hash, jr->lease, &st);
	if (r != 0 && r != ERR_EXISTS) {
		snprintf(o->msg, sizeof(o->msg), "cannot renew the lease: %s",
		    err_str(r));
		return o->r = r;
	}
	json_object_set_new(reply, "held", json_boolean(r == 0));
	json_object_set_new(reply, "state", json_string(jobs_state_str(st)));
	if (r == 0 && loadguard_on(cfg) &&
	    loadguard_sample(c, &s, why, sizeof(why)) == 0 &&
	    loadguard_judge(cfg, &s, 1, why, sizeof(why)) == 1) {
		json_object_set_new(reply, "busy", json_true());
		json_object_set_new(reply, "why", json_string(why));
	}
	return o->r = 0;
}

static void
lost_msg(const char *ref, int cancelled, char *err, size_t errlen)
{
	err_set(err, errlen, "job %s was %s while it ran; it was stopped and "
	    "nothing was published", ref, cancelled ? "cancelled" : "taken "
	    "over by another worker (its lease had expired)");
}

/*
 * The last word before publishing (export_request.last_word), in the
 * provisioning helper on its monitor session: the lease renewed as by a
 * heartbeat, or the reason the job is no longer this run's.
 */
static int
last_word(PGconn *c, void *ctx, char *err, size_t errlen)
{
	struct jobrun *jr = ctx;
	enum jobs_state st = 0;
	char ref[JOBS_REF_HEX];
	int r;

	if ((r = jobs_beat(c, jr->id_hash, jr->lease, &st)) == 0)
		return 0;
	if (r != ERR_EXISTS)
		return EXPORT_UNSAID;
	jobs_ref(jr->id_hash, ref);
	lost_msg(ref, st == JOBS_CANCELLED, err, errlen);
	return ERR_INTERRUPTED;
}

/* Renews the lease now: 0, EXPORT_TICK_HOLD (busy), or a reason to
 * stop. */
static int
beat(struct jobrun *jr, char *err, size_t errlen)
{
	const struct config *cfg = jr->sc->cfg;
	uint64_t now = child_now_ms();
	struct jobs_outcome o;
	json_t *rep = NULL;
	const char *st;
	char ref[JOBS_REF_HEX];
	int r;

	jobs_ref(jr->id_hash, ref);
	r = svc_in_light_child(cfg, light_beat, jr, &o, &rep);
	if (r != 0) {
		json_decref(rep);
		/* Out of touch for longer than the lease: another worker may
		 * hold the job by now. */
		if (now - jr->last_ok > config_control(cfg)->lease_timeout *
		    1000) {
			err_set(err, errlen, "lost touch with the control "
			    "database for longer than [control] lease_timeout "
			    "(%s); job %s was stopped", o.msg, ref);
			return ERR_DB;
		}
		return jr->busy ? EXPORT_TICK_HOLD : 0;
	}
	jr->last_ok = now;
	if (!json_is_true(json_object_get(rep, "held"))) {
		st = json_string_value(json_object_get(rep, "state"));
		lost_msg(ref, st != NULL && strcmp(st, "cancelled") == 0, err,
		    errlen);
		json_decref(rep);
		return ERR_INTERRUPTED;
	}
	jr->busy = json_is_true(json_object_get(rep, "busy"));
	json_decref(rep);
	return jr->busy ? EXPORT_TICK_HOLD : 0;
}

/* A worker's connection: an abandon frame, or its end, stops the job. */
static int
watch(struct jobrun *jr, char *err, size_t errlen)
{
	struct pollfd pf = { jr->sc->fd, POLLIN | POLLRDHUP, 0 };
	struct buf *b;
	int type = 0, r;

	if (poll(&pf, 1, 0) <= 0 || pf.revents == 0)
		return 0;
	jr->stopped = JOBS_GONE;
	if ((pf.revents & POLLIN) && (b = buf_new(PROTO_FRAME_MAX)) != NULL) {
		r = proto_recv(jr->sc->fd, &type, b, 1000);
		if (r == 0 && type == PROTO_ABANDON)
			jr->stopped = JOBS_ABANDONED;
		buf_free(b);
	}
	err_set(err, errlen, "the worker %s; the job goes back to the queue",
	    jr->stopped == JOBS_ABANDONED ? "let go of it" : "went away");
	return ERR_INTERRUPTED;
}

static int
tick(void *ctx, int force, char *err, size_t errlen)
{
	struct jobrun *jr = ctx;
	uint64_t now = child_now_ms();
	int r;

	if (jr->stopped != 0) {
		err_set(err, errlen, "the worker stopped; the job goes back to "
		    "the queue");
		return ERR_INTERRUPTED;
	}
	if (jr->worker && (r = watch(jr, err, errlen)) != 0)
		return r;
	/* the lease was just renewed by the last word */
	if (force == EXPORT_TICK_SAID)
		return 0;
	if (!force && now < jr->next_beat)
		return jr->busy ? EXPORT_TICK_HOLD : 0;
	jr->next_beat = now + jr->beat_ms;
	r = beat(jr, err, errlen);
	return force && r == EXPORT_TICK_HOLD ? 0 : r;
}

/* --- the outcome --- */

static int
ctl_finish(struct jobs_ctx *k, void *ctx, struct jobs_outcome *o,
    json_t *reply)
{
	struct jobrun *jr = ctx;
	struct jobs_result res;

	(void)reply;
	memset(&res, 0, sizeof(res));
	res.r = jr->r;
	res.error = jr->err;
	res.transient = jr->res.transient;
	res.abandoned = jr->stopped;
	res.lease = jr->lease;
	res.archive = jr->res.archive;
	res.digest = jr->res.manifest_digest;
	res.receipt = jr->res.receipt;
	res.receipt_len = jr->res.receipt_len;
	res.expires = jr->res.expires;
	res.records = jr->res.records;
	return jobs_finish(k, jr->id_hash, jr->principal, &res, o);
}

/*
 * In the provisioning helper (a fork of this process), once the process
 * running the export is gone (killed): the job goes back to the queue as
 * after a transient fault, counted as an attempt, rather than staying
 * running until its lease expires.
 */
static void
abandoned(PGconn *monitor, void *ctx)
{
	struct jobrun *jr = ctx;
	struct jobs_outcome o;

	(void)monitor;
	memset(&o, 0, sizeof(o));
	jr->r = ERR_INTERRUPTED;
	snprintf(jr->err, sizeof(jr->err), "the exporting process was "
	    "killed; nothing was published");
	jr->res.transient = 1;
	jr->res.archive[0] = '\0';
	jr->stopped = 0;
	(void)svc_in_child(jr->sc->cfg, jr->sc->control_id, jr->sc->peer,
	    ctl_finish, jr, &o, NULL);
}

/* Who waits for this job hears of it. */
static void
tell(struct jobrun *jr)
{
	const char *event = jr->o.state == JOBS_READY ? "ready" :
	    jr->o.state == JOBS_FAILED ? "failed" :
	    jr->o.state == JOBS_AWAITING_APPROVAL ? "held" : NULL;
	json_t *job, *extra = NULL;

	if (event == NULL || jr->o.r != 0 ||
	    (job = json_deep_copy(jr->job)) == NULL)
		return;
	json_object_set_new(job, "state", json_string(jobs_state_str(
	    jr->o.state)));
	if (jr->o.state == JOBS_FAILED)
		json_object_set_new(job, "error", json_string(jr->err));
	if (jr->o.state == JOBS_READY && (extra = jobrun_result_json(jr)) !=
	    NULL) {
		json_object_del(extra, "passphrase");
		json_object_set_new(extra, "path", json_string(
		    jr->res.archive));
	}
	notify_job(jr->sc->cfg, event, job, extra);
	json_decref(extra);
	json_decref(job);
}

static int
lease_of(const json_t *job, uint8_t lease[JOBS_LEASE_LEN])
{
	const char *h = json_string_value(json_object_get(job, "lease"));
	size_t got = 0;

	if (h == NULL || strlen(h) != 2 * JOBS_LEASE_LEN ||
	    sodium_hex2bin(lease, JOBS_LEASE_LEN, h, strlen(h), NULL, &got,
	    NULL) != 0 || got != JOBS_LEASE_LEN)
		return ERR_FORMAT;
	return 0;
}

int
jobrun_ready(const struct config *cfg, struct signkey **key,
    struct jobs_outcome *o)
{
	char err[512] = "";
	int r;

	if (key != NULL)
		*key = NULL;
	if ((r = export_check_outbox(cfg, err, sizeof(err))) != 0 ||
	    (key != NULL && (r = signkey_load(cfg, key, err,
	    sizeof(err))) != 0)) {
		/* a file the configuration names that is not there is the
		 * configuration's fault: an operational error (exit 2) */
		o->r = r == ERR_NOENT ? ERR_CONFIG : r;
		snprintf(o->reason, sizeof(o->reason), "service");
		snprintf(o->msg, sizeof(o->msg), "the service cannot export: %s "
		    "(no job was claimed)", err);
		return r;
	}
	return 0;
}

static int
light_waiting(PGconn *c, const struct config *cfg, void *ctx,
    struct jobs_outcome *o, json_t *reply)
{
	int yes = 1, r;

	(void)cfg;
	(void)ctx;
	if ((r = jobs_any_claimable(c, &yes)) != 0)
		return o->r = r;
	json_object_set_new(reply, "waiting", json_boolean(yes));
	return o->r = 0;
}

int
jobrun_queue_waiting(const struct config *cfg)
{
	struct jobs_outcome o;
	json_t *rep = NULL;
	int yes = 1;

	memset(&o, 0, sizeof(o));
	if (svc_in_light_child(cfg, light_waiting, NULL, &o, &rep) == 0 &&
	    json_is_false(json_object_get(rep, "waiting")))
		yes = 0;
	json_decref(rep);
	return yes;
}

int
jobrun_run(struct jobrun *jr)
{
	const struct config *cfg = jr->sc->cfg;
	uint64_t lt = config_control(cfg)->lease_timeout * 1000 / 3;
	struct plan p;
	int r;

	memset(&jr->res, 0, sizeof(jr->res));
	memset(&jr->o, 0, sizeof(jr->o));
	jr->err[0] = '\0';
	jr->progress.fd = jr->sc->fd;
	if (sodium_is_zero(jr->id_hash, sizeof(jr->id_hash)) ||
	    lease_of(jr->job, jr->lease) != 0 ||
	    plan_from_job(cfg, jr->job, &p) != 0) {
		snprintf(jr->o.msg, sizeof(jr->o.msg), "the job record is "
		    "unreadable");
		return jr->o.r = ERR_FORMAT;
	}
	jr->beat_ms = lt < 1000 ? 1000 : lt > 5000 ? 5000 : lt;
	jr->last_ok = child_now_ms();
	jr->next_beat = jr->last_ok + jr->beat_ms;
	if (p.passphrase && (jr->pass = make_passphrase()) == NULL)
		return jr->o.r = ERR_NOMEM;
	p.q.passphrase = jr->pass;
	p.q.job_hash = jr->id_hash;
	p.q.signkey = jr->signkey;
	p.q.export_id = jr->lease;
	p.q.progress = progress;
	p.q.progress_ctx = jr;
	p.q.tick = tick;
	p.q.tick_ctx = jr;
	p.q.last_word = last_word;
	p.q.abandoned = abandoned;
	p.q.abandoned_ctx = jr;
	jr->r = r = export_run(&p.q, &jr->res, jr->err, sizeof(jr->err));
	svc_in_child(cfg, jr->sc->control_id, jr->sc->peer, ctl_finish, jr,
	    &jr->o, NULL);
	tell(jr);
	if (r == 0 && jr->o.r != 0)
		r = jr->o.r;
	return r;
}

void
jobrun_clear(struct jobrun *jr)
{
	if (jr->pass != NULL)
		sodium_free(jr->pass);
	jr->pass = NULL;
	export_result_clear(&jr->res);
}
