/*
 * ledger.h: the control state, derived from the signed log.
 *
 * The tables of texp_control are a cache. What the service decides with
 * is this: the audit log read from row 1, every link of its hash chain
 * recomputed, every row's service signature checked (audit.h), every
 * principal's signed action inside a row checked against the key that
 * principal held at that point, and every fact applied in order only if
 * the signer had the right to make it then:
 *
 *	principal.added      principal.add by an admin: name, key, roles,
 *	                     person, and who registered it
 *	role.granted         principal.grant by an admin
 *	principal.disabled   principal.disable by an admin (revocation)
 *	tenant.added         tenant.add by an admin: id, display name,
 *	                     recipients; assigns the admin who added it
 *	tenant.recipients    tenant.recipients by an admin of the tenant
 *	assignment.added     assignment.add by an admin of the tenant
 *	assignment.removed   assignment.remove by an admin of the tenant
 *	export.requested     export.request by a principal who may export
 *	                     the tenant (and its personal data, for a PII
 *	                     scope), recipients among the tenant's; the job
 *	                     the service made of it
 *	export.approved      export.approve of that exact request (its
 *	                     digest) by an approver of the tenant who is
 *	                     another person (ledger_two_persons)
 *	                     (detail.job_hash, state, high_risk, pii, scope);
 *	                     with retry_of, a retry of an earlier job of the
 *	                     same tenant and scope
 *	export.requeued      export.request by the job's requester, with its
 *	                     idempotency key, for a failed job: queued again
 *	export.started       export.run by a principal who may export it,
 *	                     worker.claim by a worker of the tenant, or the
 *	                     service's own retry; detail.lease is the lease
 *	                     the job now runs under
 *	export.completed / failed / retry / held
 *	                     the service's own transitions of a running job,
 *	                     naming the lease it ran under (export.failed
 *	                     also of a queued job that may not run)
 *	export.expired / deleted / superseded
 *	                     the service's: past expiry; a retry published
 *	export.cancelled     job.cancel by the requester or an approver
 *	fetch.started        export.fetch by a principal who may fetch it
 *	                     (counts a download; fetch.failed gives it back)
 *	queue.paused / queue.resumed
 *	                     queue.pause / queue.resume by an admin (of the
 *	                     tenant, or of every tenant when none is named)
 *	leaktest.started     leaktest.run by a principal holding
 *	                     tenant:audit: opens a leak test run
 *	leaktest.probe.added / .removed
 *	                     the service's, during an open run: a throwaway
 *	                     principal (a probe) assigned to one tenant, and
 *	                     its removal (which cancels its waiting jobs)
 *	leaktest.job.started / .finished
 *	                     the service's, during an open run: a leak test
 *	                     job (an export scope for one tenant that is
 *	                     never published)
 *	leaktest.finished / .aborted
 *	                     the service's: closes the run, once its probes
 *	                     are removed and its jobs finished
 *
 * A probe can never move data: the log refuses any approval, run or
 * fetch signed by a probe and any run of a job a probe requested, so
 * even a stolen service key that adds probes gains nothing but noise.
 *
 * The root admin's key is pinned in the service's configuration: it may
 * make every admin fact, on every tenant, and needs no registration.
 * Rows written before the log was signed (version 1) are history: they
 * chain, but they authorise nothing.
 *
 * A head file in the service's state directory ("SEQ HEX\n") pins the
 * last row this service wrote: a log that no longer holds that row with
 * that hash was cut or rewritten, whatever its chain says.
 *
 * Functions return 0 or a negative enum err code unless stated.
 */
#ifndef TEXP_LEDGER_H
#define TEXP_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "action.h"
#include "control.h"
#include "jobs.h"

struct minisig_pubkey;
struct ledger;

/* The name the root key acts under (not a principal name). */
#define LEDGER_ROOT	"root"

struct ledger_pins {
	const struct minisig_pubkey *root;	/* the root admin's key */
	const struct minisig_pubkey *service;	/* signs every row */
	const char *control_id;			/* this control database */
	const char *head_file;			/* NULL: no pinned head */
	/* 1: every signature checked, the verified prefix (ledger_load)
	 * not trusted */
	int check_all;
};

/*
 * Reads and checks the whole log and builds the state. ERR_TAMPER with
 * "row N (EVENT): reason" in why for a row that is not what the service
 * signed, names another control database, breaks the signed links, or
 * applies a fact its signer had no right to; ERR_HASH for a broken hash
 * chain (the words of audit_verify); ERR_TAMPER when the pinned head is
 * missing; ERR_DB. *first_bad (optional) gets the row. On success *out is
 * owned by the caller (ledger_free).
 *
 * The rows a whole check passed are remembered beside the pinned head
 * (HEAD.verified: the last row's number and hash, the control database's
 * id and the two pinned key ids). The next load checks the hash chain and
 * every rule of every row, but not again the signatures of the rows up to
 * that one, as long as the log still hashes to that hash there (the chain
 * binds each row's signed text and signatures) and the pins are the same;
 * otherwise, or on any failure, it checks everything. check_all ignores
 * it. Without a head file every row is always checked.
 */
int ledger_load(PGconn *c, const struct ledger_pins *pins,
    struct ledger **out, uint64_t *first_bad, char *why, size_t whylen);
/* Accepts NULL. */
void ledger_free(struct ledger *l);
/*
 * Reads and applies the rows added since l was loaded or last refreshed,
 * with every check of ledger_load, so that a step that makes several
 * decisions makes each on the state the ones before it left. Errors as
 * ledger_load's.
 */
int ledger_refresh(struct ledger *l, PGconn *c, char *why, size_t whylen);

/* Rows read and the last row's hash. */
uint64_t ledger_rows(const struct ledger *l);
const uint8_t *ledger_head(const struct ledger *l);

/*
 * Records that this service wrote row seq with hash to the log of the
 * control database control_id (may be NULL): the head file keeps the
 * highest seq it was told of (under a lock, written atomically). No-op
 * without a head file.
 */
int ledger_pin_head(const char *head_file, uint64_t seq,
    const uint8_t hash[32], const char *control_id);
/*
 * The control database's id the head file names (0), ERR_NOENT when it
 * names none (no file, or pinned before ids were), ERR_IO/ERR_FORMAT.
 * A hint only (the service's greeting without a database session): every
 * step checks the database's own id again.
 */
int ledger_pinned_control_id(const char *head_file,
    char cid[CONTROL_ID_MAX + 1]);
/* Names control_id in the head file, its seq and hash unchanged (a step
 * that found the greeting's id stale). 0, or ERR_IO/ERR_FORMAT/
 * ERR_INVALID; nothing pinned: nothing written. */
int ledger_pin_control_id(const char *head_file, const char *control_id);

/* Resolves keys and nonces for action_verify from this state. */
struct action_keys ledger_keys(struct ledger *l);

/* 1 if a principal of this name was ever registered (LEDGER_ROOT too),
 * enabled or not. */
int ledger_known(const struct ledger *l, const char *name);
/* 1 if the key id is the root's, the service's, or any principal's. */
int ledger_key_in_use(const struct ledger *l, const uint8_t key_id[8]);
/* 1 if the principal exists and is enabled (LEDGER_ROOT: always). */
int ledger_enabled(const struct ledger *l, const char *name);
/*
 * 1 if name (enabled) holds cap (control.h CONTROL_CAP_*) through one of
 * its roles and, when tenant is not NULL, is assigned to it. The root key
 * holds `admin` on every tenant and nothing else.
 */
int ledger_may(const struct ledger *l, const char *name, const char *cap,
    const char *tenant);
/*
 * The two-person rule: 1 if approver may approve a request of requester:
 * they are different persons, the approver was not registered by the
 * requester's person, and the requester was not registered by the
 * approver's person (so an admin who gives themselves a second key, under
 * any person id, cannot approve their own requests with it).
 */
int ledger_two_persons(const struct ledger *l, const char *requester,
    const char *approver);

/* The i-th registered tenant's id, in the order registered (NULL past
 * the end). */
const char *ledger_tenant_at(const struct ledger *l, size_t i);
/* A tenant's display name, or NULL if it is not registered. */
const char *ledger_tenant_name(const struct ledger *l, const char *tenant);
/* Its registered recipients (age1...): *n of them, owned by l. */
const char *const *ledger_tenant_recipients(const struct ledger *l,
    const char *tenant, size_t *n);

struct ledger_job {
	uint8_t id_hash[JOBS_HASH_LEN];
	char *tenant;
	char *requester;
	char *approver;			/* or NULL */
	uint8_t request_digest[32];	/* SHA-256 of the request's text */
	char *scope_json;
	char **recipients;		/* none in passphrase mode */
	size_t nrecipients;
	int passphrase;
	int allow_empty;
	int zstd;
	int high_risk;
	int pii;
	enum jobs_state state;
	char *archive;			/* once completed, or NULL */
	uint8_t manifest_digest[32];
	int fetches;
	uint8_t lease[JOBS_LEASE_LEN];	/* while running */
	int has_lease;
	char *idem;			/* the request's idempotency key, or
					 * NULL */
	uint8_t retry_of[JOBS_HASH_LEN];	/* the job it retries */
	int has_retry_of;
	uint64_t requested_at;		/* seconds since the epoch */
};
/* The job a command or an action names: its id (32 hex digits, the
 * first 16 bytes of its id hash, jobs.h) or its whole id hash (64 hex
 * digits), either case; NULL if no job has it. Owned by l. */
const struct ledger_job *ledger_job_named(const struct ledger *l,
    const char *job);
/* The job with this hash, or NULL. Owned by l. */
const struct ledger_job *ledger_job(const struct ledger *l,
    const uint8_t id_hash[JOBS_HASH_LEN]);

/* Running jobs of a tenant (NULL: of every tenant). */
size_t ledger_running(const struct ledger *l, const char *tenant);

/* Claiming paused: LEDGER_PAUSED_ALL, LEDGER_PAUSED_TENANT (this tenant;
 * tenant NULL: any tenant) or 0. */
#define LEDGER_PAUSED_ALL	1
#define LEDGER_PAUSED_TENANT	2
int ledger_paused(const struct ledger *l, const char *tenant);
/* The tenants paused one by one: *n of them, owned by l. */
const char *const *ledger_paused_tenants(const struct ledger *l, size_t *n);

/*
 * Requests (export.requested and export.requeued) made at or after since
 * (seconds since the epoch) by principal (NULL: anyone) for tenant (NULL:
 * any). *count gets their number and *oldest (optional) the time of the
 * oldest of them (0 when none).
 */
void ledger_requests_since(const struct ledger *l, const char *principal,
    const char *tenant, uint64_t since, size_t *count, uint64_t *oldest);
/* Leak test runs (docs/AUDIT.md), in the order they started. */
#define LEDGER_RUN_HEX	(32 + 1)
struct ledger_run {
	char id[LEDGER_RUN_HEX];	/* 32 hex */
	char *auditor;			/* who signed leaktest.run */
	int open;			/* not finished or aborted */
	int canaries;			/* the run may plant canaries */
	json_t *planted;		/* every leaktest.canaries.planted
					 * row's canaries (a JSON array), or
					 * NULL */
	int deleted;			/* leaktest.canaries.deleted seen */
};
size_t ledger_run_count(const struct ledger *l);
const struct ledger_run *ledger_run_at(const struct ledger *l, size_t i);
/* The run with this id, or NULL. */
const struct ledger_run *ledger_run(const struct ledger *l, const char *id);
/* The run a probe principal was made for, or NULL if name is none. */
const char *ledger_probe_run(const struct ledger *l, const char *name);
/* The i-th enabled probe of run (NULL past the end). */
const char *ledger_run_probe(const struct ledger *l, const char *run,
    size_t i);

enum ledger_lt_state {
	LEDGER_LT_RUNNING = 1,
	LEDGER_LT_DONE,
	LEDGER_LT_FAILED,
};
/* "running", "done", "failed". */
const char *ledger_lt_state_str(enum ledger_lt_state s);
struct ledger_ltjob {
	uint8_t id_hash[JOBS_HASH_LEN];
	char run[LEDGER_RUN_HEX];
	char *tenant;
	enum ledger_lt_state state;
};
/* The leak test job with this hash, or NULL. */
const struct ledger_ltjob *ledger_ltjob(const struct ledger *l,
    const uint8_t id_hash[JOBS_HASH_LEN]);
/* The i-th running job of run (NULL past the end). */
const struct ledger_ltjob *ledger_run_job(const struct ledger *l,
    const char *run, size_t i);

/*
 * Compares the job as the table holds it with the signed log: tenant,
 * scope, state, requester, approver, archive, manifest digest, the
 * number of downloads and the lease. 0 if they agree, else ERR_TAMPER
 * with what differs in why.
 */
int ledger_job_check(const struct ledger *l, const struct jobs_job *j,
    char *why, size_t whylen);

/*
 * Compares every cache table (principals, their roles, persons and
 * state, tenants, assignments, jobs, paused tenants, leak test jobs) with
 * the log. 0 when they agree, else ERR_TAMPER naming the first
 * difference. ERR_DB on query failure.
 */
int ledger_check_cache(const struct ledger *l, PGconn *c, char *why,
    size_t whylen);

#endif
