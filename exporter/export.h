/*
 * export.h: one tenant export, end to end (the monitor's side).
 *
 *   validate -> lint -> scoped read-only session -> fork builder (sandbox)
 *   -> ciphertext to hidden temp files in the outbox -> fork checker
 *   (sandbox, the verifier's own code) -> sign -> publish
 *
 * Nothing is signed or given its final name unless the checker proved the
 * archive. Any failure removes the temporary files; the export role is
 * dropped on every path. If this process is killed, its children die with
 * it and the provisioning helper removes the temporary files and drops the
 * role (provision.h); `sweep` removes temporaries of exports that no
 * longer run (outbox.h).
 */
#ifndef TEXP_EXPORT_H
#define TEXP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "evidence.h"
#include "manifest.h"

struct config;
struct signkey;

struct export_request {
	const struct config *cfg;
	const uint8_t *job_hash;	/* the running job (32 bytes): the
					 * database scopes the session to it */
	const char *tenant;		/* tenant key as text (the job's) */
	const char *const *tables;	/* subset ("schema.table"), or NULL */
	size_t ntables;
	const char *since;		/* date window on date_column, or NULL */
	const char *until;
	int include_global;
	int allow_empty;
	const char *const *recipients;	/* overrides the config when n > 0 */
	size_t nrecipients;
	const char *passphrase;		/* passphrase mode (NUL-terminated) */
	const char *outdir;		/* overrides the config's outbox */
	const struct signkey *signkey;	/* loaded before the run (signkey.h);
					 * NULL: export_run loads it first */
	int zstd;
	uint64_t max_records;		/* refuse (ERR_LIMIT) to publish more
					 * records than this; 0 = no limit */
	/* progress: called from the monitor loop, may be NULL */
	void (*progress)(void *ctx, uint64_t rows, uint64_t bytes);
	void *progress_ctx;
	/* called in the provisioning helper, on its monitor connection, if
	 * this process is killed mid-export (provision.h); may be NULL */
	void (*abandoned)(PGconn *monitor, void *ctx);
	void *abandoned_ctx;
};

struct export_result {
	char archive[4096];		/* published path (single or index) */
	uint8_t export_id[MANIFEST_ID_LEN];
	uint8_t tenant_hash[EVIDENCE_HASH_LEN];
	uint8_t manifest_digest[EVIDENCE_HASH_LEN];
	uint64_t created;
	uint64_t expires;
	uint64_t records;		/* total, all tables */
	uint64_t bytes;			/* ciphertext bytes */
	size_t parts;			/* 0: single file */
	size_t ntables;
	struct {
		char name[MANIFEST_MAX_NAME + 1];
		uint64_t records;
	} *tables;
	long builder_rss_kib;		/* peak resident memory, KiB */
	long checker_rss_kib;		/* (the larger of builder and checker) */
	long monitor_rss_kib;
	char builder_status[256];
	char checker_status[256];
	uint8_t *receipt;		/* the proven manifest's bytes (no row
					 * data): the job's receipt; malloc'd */
	size_t receipt_len;
};

/*
 * Runs the export. Returns 0 when the archive was published, or a
 * negative err with a one-line reason in err (no secret, no row value,
 * nothing about other tenants). ERR_EMPTY when the tenant has no rows and
 * allow_empty is off; ERR_POLICY when lint fails; ERR_CHILD when the
 * builder or the checker failed or was killed; ERR_TENANT / ERR_HASH /...
 * when the checker refused the archive.
 */
int export_run(const struct export_request *req, struct export_result *res,
    char *err, size_t errlen);
/*
 * What does not depend on a job, checked before one is claimed (and by
 * `serve` at start): the [export] settings, and that the outbox is a
 * directory this process can create files in. 0, or ERR_CONFIG / ERR_IO
 * with a one-line reason in err. The signing key is checked by loading
 * it (signkey_load).
 */
int export_check_outbox(const struct config *cfg, char *err, size_t errlen);
void export_result_clear(struct export_result *res);

#endif
