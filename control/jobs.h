/*
 * jobs.h: export jobs (texp_control.jobs) and the access decisions around
 * them: request, approve, start, fetch, cancel, expire.
 *
 * A job is keyed by id_hash, the SHA-256 of 16 random bytes drawn when it
 * is created. Its one name, the job id, is the first 16 bytes of id_hash
 * as 32 lower-case hex digits (jobs_ref): `request` prints it, every
 * command takes it, `list`, `status`, the audit log's job column and every
 * JSON output show it. The id names a job; it grants nothing: who may act
 * on a job is decided by the signed principal's rights on its tenant.
 * (Rows the log holds from before ids were shown in full carry the first
 * 16 of its digits.) Tenant, scope and requester are fixed at creation.
 *
 * States and the only transitions this module makes:
 *
 *	awaiting_approval -> queued	(approved by another principal)
 *	queued -> running		(claimed, FOR UPDATE SKIP LOCKED,
 *					 under a new lease)
 *	running -> ready | failed	(export published / gave up)
 *	running -> queued		(transient fault, attempts left; its
 *					 worker stopped; its lease expired)
 *	running -> awaiting_approval	(over high_risk_rows, no approval)
 *	failed -> queued		(requested again with its
 *					 idempotency key)
 *	queued | awaiting_approval | running | ready -> cancelled
 *	queued | awaiting_approval | ready | failed | running -> expired
 *					(sweep, past expires_at)
 *	ready | failed | expired -> superseded
 *					(a retry of it was published)
 *
 * A running job carries a lease: 16 random bytes made when it was
 * claimed, which also name the export's files (its export id), the
 * holder that runs it and a heartbeat the holder renews. Leaving
 * running clears them.
 *
 * Every change is a conditional UPDATE on the expected state, so two
 * processes racing on one job cannot both win.
 *
 * The jobs_* record functions run one statement (or one short
 * transaction) on a monitor connection. The decision functions
 * (jobs_request ... jobs_sweep) verify a signed action (action.h), check
 * capabilities and assignments (control.h), change the job, and append
 * the audit event for every outcome, allowed or refused. Their messages
 * (struct jobs_outcome) are what the user sees: they never tell a tenant
 * the principal is not assigned to from one that does not exist, nor a
 * foreign job from an unknown id.
 *
 * Functions return 0 or a negative enum err code. Nothing here prints or
 * exits.
 */
#ifndef TEXP_JOBS_H
#define TEXP_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct buf;
struct config;
struct ledger;

#define JOBS_ID_LEN		16
#define JOBS_ID_HEX		(2 * JOBS_ID_LEN + 1)	/* with NUL */
#define JOBS_HASH_LEN		32			/* SHA-256 */
#define JOBS_REF_HEX		(2 * JOBS_ID_LEN + 1)	/* the job id, with NUL */
#define JOBS_IDEM_MAX		128	/* idempotency key bytes */
#define JOBS_TENANT_MAX		200
#define JOBS_LEASE_LEN		16
#define JOBS_HOLDER_MAX		200	/* lease holder text */

enum jobs_state {
	JOBS_QUEUED = 1,
	JOBS_AWAITING_APPROVAL,
	JOBS_RUNNING,
	JOBS_READY,
	JOBS_FAILED,
	JOBS_CANCELLED,
	JOBS_EXPIRED,
	JOBS_SUPERSEDED,
};

/* The state's name as stored ("queued", ...), or "unknown". */
const char *jobs_state_str(enum jobs_state s);
/* ERR_FORMAT for an unknown name. */
int jobs_state_parse(const char *s, enum jobs_state *out);

/*
 * Ids. jobs_id_new draws the 16 random bytes a new job's id_hash is the
 * SHA-256 of (jobs_id_hash); jobs_ref writes the job id of an id_hash.
 * jobs_id_parse accepts exactly 32 hex digits (either case) and nothing
 * else (ERR_FORMAT): a job id parses into the first 16 bytes of id_hash.
 */
void jobs_id_new(uint8_t id[JOBS_ID_LEN]);
void jobs_id_hex(const uint8_t id[JOBS_ID_LEN], char out[JOBS_ID_HEX]);
int jobs_id_parse(const char *hex, uint8_t id[JOBS_ID_LEN]);
void jobs_id_hash(const uint8_t id[JOBS_ID_LEN], uint8_t out[JOBS_HASH_LEN]);
void jobs_ref(const uint8_t hash[JOBS_HASH_LEN], char out[JOBS_REF_HEX]);

/* What a job exports; fixed at creation. */
struct jobs_scope {
	char **tables;		/* "schema.table"; n = 0: every tenant table */
	size_t ntables;
	char *since;		/* or NULL */
	char *until;
	int include_global;
	int include_files;	/* the [files] of the rows read ("files" in
				 * the JSON, written only when true) */
	int pii;		/* the scope reads a table marked pii */
};

/* Frees the members (not s itself). Accepts NULL. */
void jobs_scope_clear(struct jobs_scope *s);
/* Canonical JSON (sorted keys, compact): a malloc'd string. */
int jobs_scope_json(const struct jobs_scope *s, char **out);
/* Parses what jobs_scope_json wrote (ERR_FORMAT otherwise). */
int jobs_scope_from_json(const char *json, struct jobs_scope *out);
/*
 * Fills s from the request's fields and the config: tables is a comma
 * list ("" or NULL: the whole tenant). Each table must be configured and
 * not excluded; a global one needs include_global (ERR_USAGE with the
 * reason in err). Sets pii from the tables the export would read.
 * *high_risk = 1 when [control] makes the scope high-risk (PII, whole
 * tenant, or a listed table).
 */
int jobs_scope_build(const struct config *cfg, const char *tables,
    const char *since, const char *until, int include_global,
    struct jobs_scope *s, int *high_risk, char *err, size_t errlen);

/* A job as stored. Strings are malloc'd; free with jobs_free. */
struct jobs_job {
	uint8_t id_hash[JOBS_HASH_LEN];
	char ref[JOBS_REF_HEX];
	char *tenant;
	struct jobs_scope scope;
	char *scope_json;
	enum jobs_state state;
	int high_risk;
	int64_t requested_by;
	int64_t approved_by;		/* 0: none */
	char *requested_name;		/* principal names, or NULL */
	char *approved_name;
	char *fetched_name;		/* last successful fetch, or NULL */
	int64_t created_at, updated_at, started_at, finished_at, expires_at;
	char *archive;			/* or NULL */
	uint8_t manifest_digest[32];
	int has_digest;
	int fetch_count, max_fetches, attempts;
	char *error;			/* or NULL */
	uint8_t lease[JOBS_LEASE_LEN];	/* while running */
	int has_lease;
	char *lease_holder;		/* or NULL */
	int64_t heartbeat_at;		/* 0: none */
	int64_t not_before;		/* 0: claimable now */
	uint8_t retry_of[JOBS_HASH_LEN];	/* the job this one retries */
	int has_retry_of;
	uint8_t superseded_by[JOBS_HASH_LEN];
	int has_superseded_by;
};

/* Accepts NULL. */
void jobs_free(struct jobs_job *j);

/*
 * 1 if s is a date or a date and time PostgreSQL reads the same way
 * everywhere: YYYY-MM-DD, optionally followed by "T" or " ", HH:MM,
 * optionally :SS and a fraction, optionally "Z" or +HH:MM / -HH:MM. A
 * window is checked before any row is read.
 */
int jobs_time_valid(const char *s);

/* A new job, as jobs_create stores it. */
struct jobs_new {
	uint8_t id_hash[JOBS_HASH_LEN];
	const char *tenant;
	const struct jobs_scope *scope;
	enum jobs_state state;
	int high_risk;
	int64_t requested_by;		/* principal id (cache) */
	uint64_t expires_in;		/* seconds */
	int max_fetches;
	const char *idem_key;		/* or NULL */
	uint8_t request_digest[32];	/* SHA-256 of the signed request */
	const char *const *recipients;	/* age recipients, or none */
	size_t nrecipients;
	int passphrase;
	const uint8_t *retry_of;	/* JOBS_HASH_LEN bytes, or NULL */
};

/*
 * Inserts a job. idem_key (NULL for none) is stored as
 * "<principal id>:<hex SHA-256 of the key>", so keys of different
 * principals never collide and the key text is not stored. ERR_EXISTS if
 * that idempotency key is already used.
 */
int jobs_create(PGconn *c, const struct jobs_new *n, char *err,
    size_t errlen);
/* The job with this hash (ERR_NOENT if none). *out is freed with
 * jobs_free. */
int jobs_get(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    struct jobs_job **out);
/* The job a principal created with idem_key (ERR_NOENT if none). */
int jobs_get_by_idem(PGconn *c, int64_t principal, const char *idem_key,
    struct jobs_job **out);
/*
 * Recent jobs (newest first, at most limit) of the tenants principal is
 * assigned to; tenant (or NULL) narrows it. *out is an array of *n jobs;
 * free with jobs_list_free.
 */
int jobs_list(PGconn *c, int64_t principal, const char *tenant, size_t limit,
    struct jobs_job ***out, size_t *n);
void jobs_list_free(struct jobs_job **v, size_t n);
/* Every job, in no particular order (the log's cache check). */
int jobs_list_all(PGconn *c, struct jobs_job ***out, size_t *n);

/*
 * Conditional state change from -> to; ERR_EXISTS if the job was not in
 * state from (someone else changed it first).
 */
int jobs_transition(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    enum jobs_state from, enum jobs_state to, const char *error);
/* awaiting_approval -> queued, approved_by = approver (never the
 * requester: ERR_DENIED). ERR_EXISTS if not awaiting approval. */
int jobs_set_approved(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    int64_t approver);
/*
 * Claims a queued job: SELECT ... FOR UPDATE SKIP LOCKED, then running,
 * attempts + 1, started_at, the lease, its holder and a first heartbeat,
 * in the caller's transaction if one is open (else in one of its own).
 * ERR_EXISTS if it is not queued or another worker holds it; ERR_LIMIT if
 * attempts reached max_attempts (then it is failed: commit the caller's
 * transaction). *out (optional) gets the job.
 */
int jobs_claim(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    int max_attempts, const uint8_t lease[JOBS_LEASE_LEN],
    const char *holder, struct jobs_job **out);
/*
 * The holder's heartbeat: heartbeat_at = now() if the job is still
 * running under this lease. 0, or ERR_EXISTS when it is not (cancelled,
 * taken back, finished); *state (optional) then gets its state.
 */
int jobs_beat(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    const uint8_t lease[JOBS_LEASE_LEN], enum jobs_state *state);
/* Running jobs whose last heartbeat is older than timeout seconds,
 * oldest first, at most limit, locked FOR UPDATE SKIP LOCKED. */
int jobs_list_stale(PGconn *c, uint64_t timeout, size_t limit,
    struct jobs_job ***out, size_t *n);
/* Queued jobs whose not_before has passed, oldest first, at most limit,
 * locked FOR UPDATE SKIP LOCKED (rows another worker holds are
 * skipped). */
int jobs_list_claimable(PGconn *c, size_t limit, struct jobs_job ***out,
    size_t *n);
/* Whether any job is queued and due (no lock: a hint, which decides
 * nothing). */
int jobs_any_claimable(PGconn *c, int *yes);
/* failed -> queued for a fresh run: attempts 0, no error, no backoff.
 * ERR_EXISTS if it was not failed. */
int jobs_requeue(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN]);
/* A queued job waits seconds before a worker claims it again. */
int jobs_set_backoff(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    uint64_t seconds);
/* An abandoned attempt that was not the job's fault is given back. */
int jobs_give_back(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN]);
/* from -> superseded, by names the job that replaced it. */
int jobs_set_superseded(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    enum jobs_state from, const uint8_t by[JOBS_HASH_LEN]);
/* Running jobs of a tenant (NULL: all), as the table counts them. */
int jobs_count_running(PGconn *c, const char *tenant, size_t *n);
/* running -> ready with the published archive, its manifest digest, the
 * receipt (manifest bytes) and the archive's expiry. */
int jobs_set_ready(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN],
    const char *archive, const uint8_t digest[32], const uint8_t *receipt,
    size_t receipt_len, uint64_t expires);
/*
 * Counts one download: fetch_count + 1 if the job is ready, not expired
 * and under max_fetches, atomically. ERR_LIMIT over the count, ERR_EXPIRED
 * past expires_at, ERR_EXISTS not ready.
 */
int jobs_count_fetch(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN]);
/* Gives back a download whose copy failed (nothing was handed out). */
int jobs_uncount_fetch(PGconn *c, const uint8_t id_hash[JOBS_HASH_LEN]);
/* Jobs in an expirable state whose expires_at has passed. */
int jobs_list_expired(PGconn *c, size_t limit, struct jobs_job ***out,
    size_t *n);

/*
 * Archive files of a published export: for NAME.texp, NAME.texp and
 * NAME.texp.minisig; for NAME.texp.index, the index, its signature and
 * every NAME.texp.NNN part beside it. *out is a NULL-terminated array of
 * malloc'd paths (free with jobs_files_free); ERR_NOENT if the archive is
 * gone.
 */
int jobs_archive_files(const char *archive, char ***out);
void jobs_files_free(char **v);
/* Deletes every file of the archive; 0 when none is left. */
int jobs_archive_delete(const char *archive);
/*
 * Deletes what the export of one lease left in outbox: its hidden
 * temporary files (".export-DATE-LEASE.texp*.tmp-*") and lock file
 * (".export-DATE-LEASE.texp.lock", outbox.h) and, unless
 * keep_published, anything it published ("export-DATE-LEASE.texp*"). *n
 * (optional) gets the number of files removed. Only names of this exact
 * form are touched (jobs_outbox_name).
 */
int jobs_lease_files_delete(const char *outbox,
    const uint8_t lease[JOBS_LEASE_LEN], int keep_published, int *n);
/*
 * Reads an outbox file name: 1 and the lease (export id) it carries when
 * it is one of an export's files or temporary files, *tmp = 1 for a
 * temporary file or the lock file; else 0. The names are outbox.h's
 * (outbox_name): one reading of them for the sweep and the queue.
 */
int jobs_outbox_name(const char *name, uint8_t lease[JOBS_LEASE_LEN],
    int *tmp);

/*
 * Access decisions. Each takes the context of one control-plane step
 * (struct jobs_ctx: a monitor connection inside a transaction that holds
 * the log's lock, the configuration, the state verified from the signed
 * log, and the database's clock), the signed action (text and minisign
 * signature, as the principal sent it), and fills o: code (0 or an err), a
 * one-line message for the user, the audit reason on refusal, and what
 * was decided. Every outcome has been audited before they return (a
 * failure to audit is itself an error). Rights come from the ledger, never
 * from the tables; a job whose table row disagrees with the log is
 * refused (ERR_TAMPER, audited as control.mismatch).
 *
 * A job is named in actions by "job" = the 64 hex digits of its id hash
 * (what jobs_id_hash gives), so the log never holds the id itself.
 */
struct jobs_ctx {
	PGconn *c;
	const struct config *cfg;
	struct ledger *ledger;
	const char *control_id;
	uint64_t now;			/* the database's clock */
	const char *peer;		/* the caller, for the log, or NULL */
	int broken;			/* a row written in this step does not
					 * verify: nothing of it is kept */
};

struct jobs_outcome {
	int r;
	char msg[512];
	char reason[48];		/* audit reason code on refusal */
	uint8_t id[JOBS_ID_LEN];	/* request: the new job's id */
	uint8_t id_hash[JOBS_HASH_LEN];
	enum jobs_state state;		/* the job's state afterwards */
	int duplicate;			/* request: idempotent repeat */
	int confirm_needed;		/* request: a typed confirmation */
	char confirm_name[JOBS_TENANT_MAX + 1];	/* request: the display
					 * name to type, when a typed
					 * confirmation was missing or
					 * wrong (the requester may export
					 * this tenant); else "" */
	char principal[64];
	char tenant[JOBS_TENANT_MAX + 1];
	uint64_t retry_after;		/* a limit: seconds until it passes */
};

struct jobs_signed {
	const uint8_t *text;
	size_t tlen;
	const uint8_t *sig;
	size_t slen;
};

/*
 * export.request: fields tenant, tables, since, until, global ("0"/"1"),
 * confirm (the typed "EXPORT <display name>", or ""), idem (or ""),
 * recipients (comma list of the tenant's registered recipients; "" for
 * all of them), passphrase ("1": encrypt with a passphrase instead),
 * allow_empty ("0"/"1"), zstd ("0"/"1"), retry_of (optional: the hex
 * hash of an earlier job this one retries: same tenant, scope,
 * recipients and options; once this one is published, that one's
 * archive is deleted and it is superseded), control. Checks freshness
 * and nonce, tenant:export on the tenant, tenant:export:pii for a scope
 * with PII, the recipients, the typed confirmation for a high-risk scope,
 * the request rate limits (queue.h), then creates the job:
 * awaiting_approval when high-risk, else queued. The same idempotency
 * key and scope again give the same job; a failed one is queued again
 * (export.requeued). ERR_DENIED for refusals, ERR_USAGE for a bad scope.
 */
int jobs_request(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o);
/* export.approve: fields job, request (hex SHA-256 of the request's
 * text, as status shows it). */
int jobs_approve(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o);
/* job.status / job.cancel: field job. *out (status) gets the job. */
int jobs_status(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o);
int jobs_cancel(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_outcome *o);
/* job.list: field tenant ("" for every assigned tenant). */
int jobs_list_for(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job ***out, size_t *n, struct jobs_outcome *o);
/*
 * export.run: field job. Re-checks the requester's and the runner's
 * permissions on the job's tenant and scope (and the approver's, for a
 * high-risk job), the queue's limits (queue_gate), claims it (queued ->
 * running) under a new lease and audits "export.started". *out gets the
 * job (scope and tenant to export; its lease).
 */
int jobs_start(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o);
/*
 * What the export will take from j, checked against the service's
 * configuration as it is now, before the job is claimed (by `run` or a
 * worker): its tables are still configured and exportable, its date
 * window is well formed, its recipients are age recipients, and no rule
 * tightened since made it personal data or high-risk. 0, or ERR_CONFIG
 * (ERR_NOMEM) with the reason in why.
 */
int jobs_start_check(struct jobs_ctx *k, const struct jobs_job *j,
    char *why, size_t whylen);
/*
 * After an attempt, under the lease it ran under: success moves running
 * -> ready and audits "export.completed" with the receipt (and, for a
 * retry, deletes the archive of the job it retried, which is superseded);
 * over the size threshold -> awaiting_approval ("export.held"); a
 * transient fault with attempts left -> queued after a backoff, an
 * abandoned attempt -> queued at once ("export.retry"); anything else ->
 * failed ("export.failed"). A job that is no longer running under that
 * lease (cancelled, taken back meanwhile) is left as it is: what the
 * attempt left in the outbox is removed ("export.discarded") and o->r is
 * ERR_INTERRUPTED.
 */
#define JOBS_ABANDONED		1	/* its holder let go (the attempt is
					 * given back) */
#define JOBS_GONE		2	/* its holder went away (counted) */
struct jobs_result {
	int r;				/* export_run's result */
	const char *error;		/* its message, on failure */
	int transient;			/* the fault may pass (export.h) */
	int abandoned;			/* JOBS_ABANDONED, JOBS_GONE, or 0 */
	const uint8_t *lease;		/* JOBS_LEASE_LEN bytes */
	const char *archive;
	const uint8_t *digest;		/* 32 bytes */
	const uint8_t *receipt;		/* manifest bytes */
	size_t receipt_len;
	uint64_t expires;
	uint64_t records;
};
int jobs_finish(struct jobs_ctx *k, const uint8_t id_hash[JOBS_HASH_LEN],
    const char *principal, const struct jobs_result *res,
    struct jobs_outcome *o);
/*
 * export.fetch: field job. tenant:fetch (and tenant:export:pii for a PII
 * scope) on the job's tenant, state ready, not expired, under the download
 * limit; counts the download ("fetch.started"). *out gets the job (its
 * archive path). The caller hands the files over and calls
 * jobs_fetch_done.
 */
int jobs_fetch(struct jobs_ctx *k, const struct jobs_signed *a,
    struct jobs_job **out, struct jobs_outcome *o);
/* Audits the hand-over's outcome: "export.fetched" (r == 0, to = where
 * the caller put it) or "fetch.failed", which gives the download back. */
int jobs_fetch_done(struct jobs_ctx *k, const struct jobs_job *j,
    const char *principal, int r, const char *to, struct jobs_outcome *o);
/* Jobs a step moved on its own (expired, taken back, failed): who waits
 * for them is told (notifications). */
#define JOBS_CHANGED_MAX	64
struct jobs_changes {
	struct {
		uint8_t id_hash[JOBS_HASH_LEN];
		enum jobs_state state;
	} changed[JOBS_CHANGED_MAX];
	size_t nchanged;
};

/*
 * Sweep: expires every job past expires_at (deleting its archive files,
 * auditing "export.deleted" and "export.expired"). *expired gets the
 * count; *failed the number of archives that could not be deleted; ch
 * (optional) the jobs expired.
 */
int jobs_sweep(struct jobs_ctx *k, int *expired, int *failed,
    struct jobs_changes *ch, char *err, size_t errlen);

/* Hex of a job's id hash, as actions name it (65 bytes with NUL). */
void jobs_hash_hex(const uint8_t id_hash[JOBS_HASH_LEN], char out[65]);
/* Parses what jobs_hash_hex wrote (ERR_FORMAT otherwise). */
int jobs_hash_parse(const char *hex, uint8_t id_hash[JOBS_HASH_LEN]);

#endif
