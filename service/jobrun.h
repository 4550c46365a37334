/*
 * jobrun.h: one claimed job, run by the service, for `run` (a principal
 * in the foreground) and `work` (a worker's claim) alike.
 *
 * The export is exactly what the job's record and the signed log fix:
 * tenant, scope, recipients or passphrase, options. It runs under the
 * lease the claim made, which names its files, and which this process
 * renews about every third of [control] lease_timeout (at most every 5
 * s) from the monitor's loop (export_request.tick), through a short child
 * that logs in, renews the heartbeat and reads the job back:
 *
 *   - the job is no longer running under this lease (cancelled, or taken
 *     back after its lease expired): the export stops at once, nothing
 *     is published;
 *   - the control database cannot be reached for longer than the lease:
 *     the export stops (a transient fault), since another worker may
 *     already run it;
 *   - the load guard says the database is busy: the builder is held back
 *     until it is not.
 *
 * For a worker's claim, the connection is watched too: an abandon frame
 * (the worker stops, its grace period over) or the connection's end (the
 * worker died) stops the export, and the job goes straight back to the
 * queue. The outcome is recorded under the lease (jobs_finish) and the
 * notification hook told (notify.h). No process here holds a key, a
 * password, or the caller's secrets.
 */
#ifndef TEXP_JOBRUN_H
#define TEXP_JOBRUN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "export.h"
#include "jobs.h"

struct config;
struct signkey;
struct svc_conn;

/*
 * What does not depend on the job, checked before one is claimed by
 * `run` or for a worker: the outbox can take files, and the signing key
 * loads and unlocks (signkey.h). An export that could not be published
 * must not take a job from the queue. With key NULL only the outbox is
 * checked. 0 with *key loaded (the caller signkey_free()s it), or the
 * error with o->r and o->msg set (the reason names the file, never the
 * passphrase).
 */
int jobrun_ready(const struct config *cfg, struct signkey **key,
    struct jobs_outcome *o);
/*
 * Whether a job waits in the queue (a light child, no lock, decides
 * nothing): a worker's claim unlocks the signing key only then, so an
 * idle worker's poll does not pay the key's scrypt cost. 1 when one
 * waits or the answer is unknown, 0 when none does.
 */
int jobrun_queue_waiting(const struct config *cfg);

struct jobrun {
	/* in */
	struct svc_conn *sc;
	const json_t *job;		/* the claimed job (svc_job_json) */
	uint8_t id_hash[JOBS_HASH_LEN];	/* its id_hash (the claim's reply) */
	const struct signkey *signkey;	/* loaded by jobrun_ready */
	char principal[64];		/* who runs it, for the log */
	int worker;			/* a worker's claim: watch its
					 * connection, no progress frames */
	/* out */
	uint8_t lease[JOBS_LEASE_LEN];
	struct export_result res;
	char err[1024];			/* the export's reason, on failure */
	int r;				/* export_run's result */
	char *pass;			/* passphrase mode: the passphrase
					 * (sodium_malloc'd), for the runner */
	struct jobs_outcome o;		/* the recorded outcome */
	/* the lease's keeping */
	uint64_t beat_ms, next_beat, last_ok;
	int busy;			/* the load guard holds it back */
	int stopped;			/* JOBS_ABANDONED, JOBS_GONE, or 0 */
	struct { int fd; uint64_t last; } progress;
};

/*
 * Runs the job and records its outcome. 0 when the archive was
 * published; else the error, with jr->err (the export's words) and jr->o
 * (what became of the job: queued again, failed, held, or lost to a
 * cancel or a takeover). ERR_FORMAT when the job record is unreadable.
 */
int jobrun_run(struct jobrun *jr);
/* What a published job's result says (archive, ids, counts, tables,
 * memory, passphrase when there is one). */
json_t *jobrun_result_json(const struct jobrun *jr);
/* Frees what jobrun_run made (the passphrase wiped). */
void jobrun_clear(struct jobrun *jr);

#endif
