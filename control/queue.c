/*
 * queue.c: the job queue as workers and the service see it (queue.h).
 *
 * Every function runs inside one control-plane step: the log's lock is
 * held, so every service on every host that shares the control database
 * decides on the same counts, one after the other. Counts of running jobs
 * and of requests come from the signed log (the ledger), not the tables.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "action.h"
#include "buf.h"
#include "config.h"
#include "control.h"
#include "db.h"
#include "decide.h"
#include "err.h"
#include "jobs.h"
#include "ledger.h"
#include "loadguard.h"
#include "queue.h"

#define CLAIM_CANDIDATES	64
/* the outbox names one sweep looks at (about 1.2 million files) */
#define SWEEP_NAMES_MAX	(64u << 20)
#define STALE_MAX		100

static void
report(struct jobs_changes *rep, const uint8_t id_hash[JOBS_HASH_LEN],
    enum jobs_state st)
{
	if (rep == NULL || rep->nchanged >= JOBS_CHANGED_MAX)
		return;
	memcpy(rep->changed[rep->nchanged].id_hash, id_hash, JOBS_HASH_LEN);
	rep->changed[rep->nchanged].state = st;
	rep->nchanged++;
}

static json_t *
lease_json(const uint8_t lease[JOBS_LEASE_LEN])
{
	char hex[2 * JOBS_LEASE_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), lease, JOBS_LEASE_LEN);
	return json_string(hex);
}

uint64_t
queue_backoff(const struct config *cfg, int n)
{
	uint64_t b = config_control(cfg)->retry_backoff;
	int i;

	for (i = 1; i < n && b < 3600; i++)
		b *= 2;
	return b < 3600 ? b : 3600;
}

/* --- taking back jobs whose lease expired --- */

/* 1 taken back, 0 left alone, or a negative error (o filled). */
static int
reap_one(struct jobs_ctx *k, const struct jobs_job *j,
    struct jobs_changes *rep, struct jobs_outcome *o)
{
	const struct config_control *cc = config_control(k->cfg);
	const char *outbox = config_export(k->cfg)->outbox;
	const struct ledger_job *lj = ledger_job(k->ledger, j->id_hash);
	json_t *d;
	int files = 0, fail, r;

	/* A row the log does not back is left for a person (audit verify
	 * names it). */
	if (lj == NULL || ledger_job_check(k->ledger, j, NULL, 0) != 0)
		return 0;
	if (lj->has_lease && outbox != NULL)
		(void)jobs_lease_files_delete(outbox, lj->lease, 0, &files);
	fail = (uint64_t)j->attempts >= cc->max_attempts;
	r = jobs_transition(k->c, j->id_hash, JOBS_RUNNING, fail ? JOBS_FAILED :
	    JOBS_QUEUED, fail ? "its holder stopped answering on every "
	    "attempt" : NULL);
	if (r == ERR_EXISTS)
		return 0;
	if (r != 0)
		return decide_fail(o, r, "cannot take a job back");
	d = decide_job_detail(j->id_hash);
	if (lj->has_lease)
		json_object_set_new(d, "lease", lease_json(lj->lease));
	json_object_set_new(d, "reason", json_string("lease_expired"));
	json_object_set_new(d, "holder", json_string(j->lease_holder ?
	    j->lease_holder : ""));
	json_object_set_new(d, "files_removed", json_integer(files));
	json_object_set_new(d, "attempt", json_integer(j->attempts));
	if (fail)
		json_object_set_new(d, "error", json_string("its holder stopped "
		    "answering on every attempt"));
	if ((r = decide_audit(k, fail ? "export.failed" : "export.retry", NULL,
	    j->tenant, j->ref, j->scope_json, d, o)) != 0)
		return r;
	report(rep, j->id_hash, fail ? JOBS_FAILED : JOBS_QUEUED);
	return 1;
}

/*
 * The export roles of the attempts just taken back: their job is no
 * longer running, so the role sweep drops them now, before the job runs
 * again (otherwise a dead attempt's login would stay valid, with its
 * grant, while the next attempt of the same job runs). Best effort,
 * inside a savepoint: `tenant-export sweep` drops what is left.
 */
static void
reap_roles(PGconn *c)
{
	char err[256];
	int dropped = 0;
	PGresult *res = PQexec(c, "SAVEPOINT reap_roles");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	if (!ok)
		return;
	if (db_export_sweep(c, &dropped, err, sizeof(err)) != 0)
		PQclear(PQexec(c, "ROLLBACK TO SAVEPOINT reap_roles"));
	PQclear(PQexec(c, "RELEASE SAVEPOINT reap_roles"));
}

int
queue_reap(struct jobs_ctx *k, struct jobs_changes *rep,
    struct jobs_outcome *o)
{
	struct jobs_job **v = NULL;
	size_t n = 0, i;
	int r = 0, reaped = 0;

	if ((r = jobs_list_stale(k->c, config_control(k->cfg)->lease_timeout,
	    STALE_MAX, &v, &n)) != 0)
		return decide_fail(o, r, "cannot read running jobs");
	for (i = 0; i < n && r >= 0; i++)
		if ((r = reap_one(k, v[i], rep, o)) > 0)
			reaped += r;
	jobs_list_free(v, n);
	if (r < 0)
		return r;
	if (reaped > 0)
		reap_roles(k->c);
	return 0;
}

/* --- limits --- */

static int
may_export(const struct ledger *l, const char *who, const char *tenant,
    int pii)
{
	return ledger_may(l, who, CONTROL_CAP_EXPORT, tenant) &&
	    (!pii || ledger_may(l, who, CONTROL_CAP_EXPORT_PII, tenant));
}

static int
idle(struct jobs_outcome *o, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Nothing claimed, and why (not audited: nothing happened). */
static int
idle(struct jobs_outcome *o, const char *reason, const char *fmt, ...)
{
	va_list ap;

	snprintf(o->reason, sizeof(o->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	return o->r = ERR_NOENT;
}

/* What stops every claim now: a pause of all, the total cap, a busy
 * database. */
static int
claim_idle(struct jobs_ctx *k, struct jobs_outcome *o)
{
	const struct config_control *cc = config_control(k->cfg);
	struct loadguard_sample s;
	char why[256];
	size_t running = ledger_running(k->ledger, NULL);
	int r;

	if (ledger_paused(k->ledger, NULL) == LEDGER_PAUSED_ALL)
		return idle(o, "paused", "claiming is paused for every tenant "
		    "(an admin runs `tenant-export resume`)");
	if (cc->max_running != 0 && running >= cc->max_running)
		return idle(o, "limit", "%zu jobs are running, the limit "
		    "([control] max_running)", running);
	if (!loadguard_on(k->cfg))
		return 0;
	if ((r = loadguard_sample(k->c, &s, why, sizeof(why))) != 0) {
		decide_msg(o, "%s", why);
		return o->r = r;
	}
	r = loadguard_judge(k->cfg, &s, 0, why, sizeof(why));
	if (r == 1)
		return idle(o, "busy", "%s", why);
	if (r != 0) {
		decide_msg(o, "%s", why);
		return o->r = r;
	}
	return 0;
}

/* A tenant at its cap: the number running, else 0. */
static size_t
tenant_full(const struct jobs_ctx *k, const char *tenant)
{
	const struct config_control *cc = config_control(k->cfg);
	size_t n = ledger_running(k->ledger, tenant);

	return cc->max_running_per_tenant != 0 &&
	    n >= cc->max_running_per_tenant ? n : 0;
}

/*
 * Why this worker may not run j now: NULL when it may. *never = 1 when
 * the job can never run as it is (it is failed with that reason).
 */
static const char *
claim_blocker(const struct jobs_ctx *k, const char *who,
    const struct jobs_job *j, const struct ledger_job *lj, int *never)
{
	*never = 0;
	if (lj->passphrase)
		return "passphrase";
	if (!ledger_may(k->ledger, who, CONTROL_CAP_WORK, j->tenant))
		return "not_assigned";
	if (ledger_paused(k->ledger, j->tenant))
		return "paused";
	if (tenant_full(k, j->tenant))
		return "limit";
	*never = 1;
	if (!may_export(k->ledger, lj->requester, j->tenant, lj->pii))
		return "requester_revoked";
	if (j->high_risk && (lj->approver == NULL ||
	    !ledger_may(k->ledger, lj->approver, CONTROL_CAP_APPROVE,
	    j->tenant)))
		return "approval_revoked";
	*never = 0;
	return NULL;
}

/* A queued job that can never run as it is fails with the reason. */
static int
fail_queued(struct jobs_ctx *k, const struct jobs_job *j, const char *why,
    const char *detail, struct jobs_changes *rep, struct jobs_outcome *o)
{
	char msg[320];
	json_t *d;
	int r;

	if (detail != NULL)
		snprintf(msg, sizeof(msg), "it cannot run as it was requested: "
		    "%s (the service's configuration changed since; request it "
		    "again)", detail);
	else
		snprintf(msg, sizeof(msg), "%s", strcmp(why,
		    "requester_revoked") == 0 ? "its requester may no longer "
		    "export this scope" : "its approval is no longer valid");
	r = jobs_transition(k->c, j->id_hash, JOBS_QUEUED, JOBS_FAILED, msg);
	if (r == ERR_EXISTS)
		return 0;
	if (r != 0)
		return decide_fail(o, r, "cannot fail a job");
	d = decide_job_detail(j->id_hash);
	json_object_set_new(d, "reason", json_string(why));
	json_object_set_new(d, "error", json_string(msg));
	if ((r = decide_audit(k, "export.failed", NULL, j->tenant, j->ref,
	    j->scope_json, d, o)) != 0)
		return r;
	report(rep, j->id_hash, JOBS_FAILED);
	return 0;
}

/* --- claiming --- */

struct claim {
	const struct jobs_signed *a;
	const char *who;
	char holder[JOBS_HOLDER_MAX + 1];
	uint8_t *lease;
	int paused, full;		/* candidates skipped for these */
};

/* One candidate: 0 claimed (*out), 1 skipped, or a negative err. */
static int
claim_one(struct jobs_ctx *k, struct claim *cl, const struct jobs_job *j,
    struct jobs_job **out, struct jobs_changes *rep, struct jobs_outcome *o)
{
	const struct ledger_job *lj = ledger_job(k->ledger, j->id_hash);
	const char *blk;
	char why[256];
	json_t *d;
	int never, r;

	if (lj == NULL || ledger_job_check(k->ledger, j, NULL, 0) != 0)
		return 1;
	if ((blk = claim_blocker(k, cl->who, j, lj, &never)) != NULL) {
		if (never)
			return (r = fail_queued(k, j, blk, NULL, rep, o)) != 0 ?
			    r : 1;
		cl->paused |= strcmp(blk, "paused") == 0;
		cl->full |= strcmp(blk, "limit") == 0;
		return 1;
	}
	/* a job that cannot run as it was requested is not claimed: it
	 * fails with the reason, as `run` refuses it */
	if ((r = jobs_start_check(k, j, why, sizeof(why))) == ERR_NOMEM)
		return decide_fail(o, r, "out of memory");
	if (r != 0)
		return (r = fail_queued(k, j, "scope", why, rep, o)) != 0 ? r : 1;
	randombytes_buf(cl->lease, JOBS_LEASE_LEN);
	r = jobs_claim(k->c, j->id_hash,
	    (int)config_control(k->cfg)->max_attempts, cl->lease, cl->holder,
	    out);
	if (r == ERR_EXISTS)
		return 1;
	if (r == ERR_LIMIT) {
		d = decide_job_detail(j->id_hash);
		json_object_set_new(d, "error", json_string("too many "
		    "attempts"));
		if ((r = decide_audit(k, "export.failed", NULL, j->tenant,
		    j->ref, j->scope_json, d, o)) != 0)
			return r;
		report(rep, j->id_hash, JOBS_FAILED);
		return 1;
	}
	if (r != 0)
		return decide_fail(o, r, "cannot claim a job");
	d = decide_job_detail(j->id_hash);
	json_object_set_new(d, "attempt", json_integer((*out)->attempts));
	json_object_set_new(d, "lease", lease_json(cl->lease));
	json_object_set_new(d, "worker", json_string(cl->holder));
	if ((r = decide_audit_signed(k, "export.started", cl->who, j->tenant,
	    j->ref, j->scope_json, d, cl->a, o)) != 0) {
		jobs_free(*out);
		*out = NULL;
		return r;
	}
	return 0;
}

/* The claim's signer and its instance name. */
static int
claim_signer(struct jobs_ctx *k, const struct action *act, struct claim *cl,
    struct jobs_outcome *o)
{
	const char *name = action_get(act, "worker");

	cl->who = action_principal(act)->name;
	if (!ledger_may(k->ledger, cl->who, CONTROL_CAP_WORK, NULL))
		return decide_deny(k, o, ERR_DENIED, "claim.denied", cl->who,
		    NULL, NULL, NULL, "not_worker", "principal \"%s\" is not a "
		    "worker (role worker)", cl->who);
	if (name == NULL || *name == '\0' || strlen(name) > 100)
		return decide_deny(k, o, ERR_DENIED, "claim.denied", cl->who,
		    NULL, NULL, NULL, "malformed", "the claim names no worker");
	snprintf(cl->holder, sizeof(cl->holder), "%s/%s", cl->who, name);
	return 0;
}

int
queue_claim(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, uint8_t lease[JOBS_LEASE_LEN],
    struct jobs_changes *rep, struct jobs_outcome *o)
{
	struct action *act = NULL;
	struct jobs_job **v = NULL;
	struct claim cl;
	size_t n = 0, i;
	int r;

	decide_init(o);
	*out = NULL;
	memset(rep, 0, sizeof(*rep));
	memset(&cl, 0, sizeof(cl));
	cl.a = a;
	cl.lease = lease;
	if ((r = decide_verify(k, a, "worker.claim", "claim.denied", &act,
	    o)) != 0 || (r = claim_signer(k, act, &cl, o)) != 0 ||
	    (r = queue_reap(k, rep, o)) != 0 || (r = claim_idle(k, o)) != 0)
		goto out;
	if ((r = jobs_list_claimable(k->c, CLAIM_CANDIDATES, &v, &n)) != 0) {
		r = decide_fail(o, r, "cannot read the queue");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = claim_one(k, &cl, v[i], out, rep, o)) < 0)
			goto out;
		if (r == 0)
			break;
	}
	if (*out == NULL) {
		r = cl.paused ? idle(o, "paused", "the queued jobs' tenants are "
		    "paused") : cl.full ? idle(o, "limit", "the queued jobs' "
		    "tenants are at [control] max_running_per_tenant") :
		    idle(o, "empty", "no queued job this worker may run");
		goto out;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", (*out)->tenant);
	memcpy(o->id_hash, (*out)->id_hash, JOBS_HASH_LEN);
	o->state = JOBS_RUNNING;
	decide_msg(o, "claimed job %s", (*out)->ref);
	r = o->r = 0;
 out:
	jobs_list_free(v, n);
	action_free(act);
	return r;
}

/* --- a foreground run --- */

int
queue_gate(struct jobs_ctx *k, const char *principal,
    const struct jobs_job *j, struct jobs_outcome *o)
{
	const struct config_control *cc = config_control(k->cfg);
	size_t n;

	if (ledger_paused(k->ledger, j->tenant))
		return decide_deny(k, o, ERR_DENIED, "run.denied", principal,
		    j->tenant, j->ref, j->scope_json, "paused", "exports %s are "
		    "paused by an admin; job %s stays queued until they are "
		    "resumed", ledger_paused(k->ledger, j->tenant) ==
		    LEDGER_PAUSED_ALL ? "of every tenant" : "of this tenant",
		    j->ref);
	if ((n = tenant_full(k, j->tenant)) != 0)
		return decide_deny(k, o, ERR_DENIED, "run.denied", principal,
		    j->tenant, j->ref, j->scope_json, "concurrency", "%zu "
		    "export%s of this tenant %s running, the limit ([control] "
		    "max_running_per_tenant): job %s stays queued; try again "
		    "when %s finished, or let a worker run it", n, n == 1 ?
		    "" : "s", n == 1 ? "is" : "are", j->ref, n == 1 ? "it has" :
		    "one has");
	n = ledger_running(k->ledger, NULL);
	if (cc->max_running != 0 && n >= cc->max_running)
		return decide_deny(k, o, ERR_DENIED, "run.denied", principal,
		    j->tenant, j->ref, j->scope_json, "concurrency", "%zu "
		    "exports are running, the limit ([control] max_running): "
		    "job %s stays queued; try again when one has finished, or "
		    "let a worker run it", n, j->ref);
	return 0;
}

/* --- request rate limits --- */

static int
rate_deny(struct jobs_ctx *k, const char *principal, const char *tenant,
    const char *scope, const char *key, const char *whose, size_t n,
    uint64_t oldest, struct jobs_outcome *o)
{
	uint64_t window = config_control(k->cfg)->request_window;
	uint64_t at = oldest + window, wait = at > k->now ? at - k->now : 1;
	char when[32];
	struct tm tm;
	time_t t = (time_t)at;
	json_t *d;
	int r;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	d = json_pack("{s:s,s:s,s:I,s:I}", "reason", "rate_limit", "limit",
	    key, "requests", (json_int_t)n, "retry_after", (json_int_t)wait);
	if ((r = decide_audit(k, "export.denied", principal, tenant, NULL,
	    scope, d, o)) != 0)
		return r;
	snprintf(o->reason, sizeof(o->reason), "rate_limit");
	decide_msg(o, "%s made %zu requests in the last %llu s, the limit "
	    "([control] %s): try again after %s (in %llu s)", whose, n,
	    (unsigned long long)window, key, when, (unsigned long long)wait);
	o->retry_after = wait;
	return o->r = ERR_DENIED;
}

int
queue_rate(struct jobs_ctx *k, const char *principal, const char *tenant,
    const char *scope, struct jobs_outcome *o)
{
	const struct config_control *cc = config_control(k->cfg);
	uint64_t since, oldest;
	char whose[128];
	size_t n;

	since = k->now > cc->request_window ? k->now - cc->request_window : 0;
	if (cc->max_requests_per_principal != 0) {
		ledger_requests_since(k->ledger, principal, NULL, since, &n,
		    &oldest);
		snprintf(whose, sizeof(whose), "principal \"%s\"", principal);
		if (n >= cc->max_requests_per_principal)
			return rate_deny(k, principal, tenant, scope,
			    "max_requests_per_principal", whose, n, oldest, o);
	}
	if (cc->max_requests_per_tenant != 0) {
		ledger_requests_since(k->ledger, NULL, tenant, since, &n,
		    &oldest);
		if (n >= cc->max_requests_per_tenant)
			return rate_deny(k, principal, tenant, scope,
			    "max_requests_per_tenant", "this tenant's principals",
			    n, oldest, o);
	}
	return 0;
}

/* --- the outbox --- */

/*
 * Of the names (one per line, each an export's file: jobs_outbox_name),
 * those no job owns: no running job holds the lease the name carries,
 * and no job names its export as its archive. One statement for the
 * whole outbox: the archive names are matched by their export's name
 * ("export-DATE-ID.texp"), so the server joins once, whatever the number
 * of files and jobs.
 */
static int
files_unowned(PGconn *c, const char *names, PGresult **out)
{
	const char *p[1] = { names };

	*out = PQexecParams(c, "WITH f AS (SELECT n, substr(ltrim(n, '.'), 1, "
	    "53) AS base FROM unnest(string_to_array($1, E'\\n')) AS n) "
	    "SELECT f.n FROM f WHERE NOT EXISTS (SELECT 1 FROM "
	    "texp_control.jobs j WHERE j.state = 'running' AND j.lease = "
	    "decode(substr(f.base, 17, 32), 'hex')) AND f.base NOT IN (SELECT "
	    "substring(j.archive FROM 'export-[0-9]{8}-[0-9a-f]{32}\\.texp') "
	    "FROM texp_control.jobs j WHERE j.archive IS NOT NULL AND "
	    "j.archive ~ 'export-[0-9]{8}-[0-9a-f]{32}\\.texp')", 1, NULL, p,
	    NULL, NULL, 0);
	if (PQresultStatus(*out) == PGRES_TUPLES_OK)
		return 0;
	PQclear(*out);
	*out = NULL;
	return ERR_DB;
}

int
queue_sweep_files(struct jobs_ctx *k, int *removed, struct jobs_outcome *o)
{
	const char *outbox = config_export(k->cfg)->outbox;
	uint8_t lease[JOBS_LEASE_LEN];
	struct buf *names = NULL;
	PGresult *res = NULL;
	struct dirent *de;
	DIR *d;
	int tmp, i, r = 0;

	*removed = 0;
	if (outbox == NULL)
		return 0;
	if ((d = opendir(outbox)) == NULL)
		return errno == ENOENT ? 0 : decide_fail(o, ERR_IO,
		    "cannot read the outbox");
	if ((names = buf_new(SWEEP_NAMES_MAX)) == NULL) {
		r = decide_fail(o, ERR_NOMEM, "cannot read the outbox");
		goto out;
	}
	while ((de = readdir(d)) != NULL)
		if (jobs_outbox_name(de->d_name, lease, &tmp) &&
		    buf_putf(names, "%s%s", buf_len(names) ? "\n" : "",
		    de->d_name) != 0)
			break;	/* the rest at the next sweep */
	if (buf_len(names) == 0)
		goto out;
	if (buf_put_u8(names, 0) != 0 ||
	    files_unowned(k->c, (const char *)buf_ptr(names), &res) != 0) {
		r = decide_fail(o, ERR_DB, "cannot read jobs");
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++)
		if (jobs_outbox_name(PQgetvalue(res, i, 0), lease, &tmp) &&
		    unlinkat(dirfd(d), PQgetvalue(res, i, 0), 0) == 0)
			(*removed)++;
 out:
	PQclear(res);
	buf_free(names);
	closedir(d);
	return r;
}
