/*
 * leakrun.h: the leak test in the control plane (docs/AUDIT.md): the
 * auditor's right to run it, and everything a run leaves in the signed
 * log and the tables.
 *
 * A run is opened by the auditor's signed action leaktest.run and lives
 * in the log as its own events:
 *
 *	leaktest.started        the auditor's action (tenant:audit)
 *	leaktest.denied         a refused leaktest.run, with the reason
 *	leaktest.job.started / .finished
 *	                        a leak test job: one tested tenant's export
 *	                        scope, made running at once, never published
 *	leaktest.probe.added / .removed
 *	                        the throwaway principals of the access test
 *	leaktest.canaries.planted / .deleted
 *	                        where canaries went (tables, markers)
 *	leaktest.finished / .aborted
 *	                        the end, with the summary (counts and check
 *	                        names, never a row value)
 *
 * Each function is one step in a control-plane child (struct jobs_ctx,
 * jobs.h): the ledger verified, the log locked; the facts it checks come
 * from the ledger, and it audits what it did. o gets the outcome.
 * Functions return 0 or a negative enum err code.
 */
#ifndef TEXP_LEAKRUN_H
#define TEXP_LEAKRUN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jobs.h"

/* How the auditor chose the tenants to test. */
enum leakrun_select {
	LEAKRUN_ALL = 1,	/* every tenant found in the database */
	LEAKRUN_SAMPLE,		/* n of them, at random */
	LEAKRUN_LIST,		/* the listed ones */
};

#define LEAKRUN_MAX_LIST	4096	/* tenants named on the command line */
#define LEAKRUN_MAX_SAMPLE	100000

/* The auditor's request, as leakrun_begin accepted it. */
struct leakrun_req {
	enum leakrun_select select;
	size_t sample;
	json_t *tenants;	/* LIST: the ids (a JSON array), else NULL */
	int canaries;
};

/* Frees the members. Accepts NULL. */
void leakrun_req_clear(struct leakrun_req *q);

/*
 * leakrun.run, signed by the auditor: fields select ("all", "sample" or
 * "list"), sample (a count, for sample), tenants (a JSON array of ids,
 * for list), canaries ("0" or "1"), control. Verifies it (decide.h),
 * requires tenant:audit (no assignment: the leak test is about the whole
 * database) and, for canaries, [leaktest] staging = yes with a
 * canary_user. Opens run (32 hex digits) with "leaktest.started", which
 * records the action. Refusals are "leaktest.denied" with the reason
 * (the signature's, not_auditor, not_staging, malformed). On success *q
 * is filled (the caller clears it) and o->principal names the auditor.
 */
int leakrun_begin(struct jobs_ctx *k, const struct jobs_signed *a,
    const char *run, struct leakrun_req *q, struct jobs_outcome *o);

/*
 * A leak test job for one tested tenant: a row in
 * texp_control.leaktest_jobs, state running, scope every tenant table
 * ("leaktest.job.started"). id_hash gets its hash.
 */
int leakrun_job_start(struct jobs_ctx *k, const char *run,
    const char *tenant, uint8_t id_hash[JOBS_HASH_LEN],
    struct jobs_outcome *o);
/* running -> done (ok) or failed ("leaktest.job.finished"). */
int leakrun_job_finish(struct jobs_ctx *k, const char *run,
    const uint8_t id_hash[JOBS_HASH_LEN], int ok, struct jobs_outcome *o);

/*
 * A probe: the throwaway principal name, its minisign public key (the
 * base64 line), with the roles requester, approver, pii and fetcher,
 * assigned to tenant (registered) only; its person is itself and its
 * registrar the run's auditor ("leaktest.probe.added").
 */
int leakrun_probe_add(struct jobs_ctx *k, const char *run, const char *name,
    const char *pubkey, const char *tenant, struct jobs_outcome *o);
/* Disables the probe and cancels its waiting jobs
 * ("leaktest.probe.removed"). */
int leakrun_probe_remove(struct jobs_ctx *k, const char *run,
    const char *name, struct jobs_outcome *o);

/* A record of the run: event "leaktest.<what>" with detail (consumed;
 * "run" is added). */
int leakrun_record(struct jobs_ctx *k, const char *run, const char *what,
    const char *tenant, json_t *detail, struct jobs_outcome *o);

/*
 * Ends the run: removes its probes and fails its running jobs if any are
 * left, then "leaktest.finished" (or "leaktest.aborted") with detail
 * (consumed; "run" is added).
 */
int leakrun_end(struct jobs_ctx *k, const char *run, int aborted,
    json_t *detail, struct jobs_outcome *o);

/*
 * Sweep: every open run whose advisory lock (leakdb.h) is free belongs
 * to a leak test that died: it is ended (aborted, by "sweep"). *aborted
 * gets their number; for each that had canaries planted and not deleted,
 * the planted list (canary.h) is appended to leftover, for the caller
 * to delete with the canary writer's login.
 */
int leakrun_sweep(struct jobs_ctx *k, int *aborted, json_t *leftover,
    struct jobs_outcome *o);

/*
 * Audit rows by seq, as the verified log holds them: [{"seq", "event",
 * "principal", "reason"}] (the leak test checks that each refusal it
 * provoked is there).
 */
int leakrun_rows(struct jobs_ctx *k, const json_t *seqs, json_t **rows,
    struct jobs_outcome *o);

#endif
