/*
 * queue.h: the job queue as workers and the service see it.
 *
 * A worker is a principal with the `worker` role, assigned to the
 * tenants whose jobs it may run. It never decides anything itself: it
 * signs a claim (worker.claim, with its instance name in "worker") and
 * sends it to the service, which decides here, inside one control-plane
 * step (the log's lock held, the signed log verified):
 *
 *   1. jobs whose lease expired (their holder stopped renewing it: it was
 *      killed, its host is gone) are taken back: the files their export
 *      left in the outbox are removed, and they are queued again (or
 *      failed, past [control] max_attempts), audited as export.retry /
 *      export.failed with reason lease_expired;
 *   2. nothing is claimed while claiming is paused for every tenant, while
 *      [control] max_running jobs run, or while the load guard says the
 *      database is busy;
 *   3. the oldest queued job (FOR UPDATE SKIP LOCKED) that the worker may
 *      run is claimed under a new lease: its tenant assigned to the
 *      worker and not paused, fewer than max_running_per_tenant of its
 *      jobs running, its requester still allowed to export it, its
 *      approval (high-risk) still valid, not a passphrase export (that
 *      passphrase goes to its requester only), its backoff over. A job
 *      that can never run (requester revoked, approval revoked) fails with
 *      that reason; one past max_attempts fails. The claim is audited as
 *      export.started with the worker's signed action.
 *
 * The same limits hold a foreground `run` (queue_gate), and the request
 * rate limits hold every request (queue_rate).
 *
 * Functions return 0 or a negative enum err code and fill o like the
 * decisions of jobs.h. Nothing here prints or exits.
 */
#ifndef TEXP_QUEUE_H
#define TEXP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "jobs.h"

/*
 * A worker's claim (action kind worker.claim, field "worker": the
 * instance's name). On a claim: 0, *out the job (running), lease its new
 * lease. Nothing to claim: ERR_NOENT with o->reason "empty", "paused",
 * "limit" (max_running) or "busy" (the load guard), o->msg saying so;
 * not audited. Refusals of the claim itself (signature, not a worker)
 * are audited as claim.denied. rep gets the jobs moved on the way.
 */
int queue_claim(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, uint8_t lease[JOBS_LEASE_LEN],
    struct jobs_changes *rep, struct jobs_outcome *o);

/* Takes back running jobs whose lease expired (step 1 above). */
int queue_reap(struct jobs_ctx *k, struct jobs_changes *rep,
    struct jobs_outcome *o);

/*
 * The limits a foreground run meets too: claiming paused (for all, or
 * the job's tenant), max_running, max_running_per_tenant. 0, or a
 * refusal audited as run.denied (reason "paused" or "concurrency") for
 * principal on job j.
 */
int queue_gate(struct jobs_ctx *k, const char *principal,
    const struct jobs_job *j, struct jobs_outcome *o);

/*
 * Request rate limits: at most [control] max_requests_per_principal
 * requests by principal and max_requests_per_tenant for tenant within
 * the last request_window seconds (by the database's clock). 0, or a
 * refusal audited as export.denied (reason "rate_limit") whose message
 * says when to try again; o->retry_after gets the seconds.
 */
int queue_rate(struct jobs_ctx *k, const char *principal, const char *tenant,
    const char *scope, struct jobs_outcome *o);

/*
 * What exports left in the outbox that no job will ever claim: hidden
 * temporary files (".export-*.tmp-*") whose lease no running job holds,
 * and published files that no job names as its archive and whose lease
 * no running job holds (an export killed between publishing and
 * recording). *removed gets the count. For sweep.
 */
int queue_sweep_files(struct jobs_ctx *k, int *removed,
    struct jobs_outcome *o);

/* Seconds a job waits before attempt n + 1 after a transient fault:
 * [control] retry_backoff doubled per attempt, at most an hour. */
uint64_t queue_backoff(const struct config *cfg, int n);

#endif
