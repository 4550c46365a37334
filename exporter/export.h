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
#include "verify.h"

struct config;
struct signkey;
struct tokscan;

/*
 * The leak test's probe mode (docs/AUDIT.md): the export runs through the
 * real pipeline (scoped session, builder, checker) for a leak test job,
 * without the lint gate (lint's findings are the test's first step), and
 * ends at the checker's proof: nothing is written to the outbox, signed
 * or published, and a refused archive is a result, not an error.
 */
struct export_probe {
	const struct tokscan *watch;	/* identifiers the checker counts */
	/*
	 * Called once the scoped session's snapshot is exported
	 * (pg_export_snapshot(), valid while the export runs), before the
	 * builder starts: the leak test counts rows in the same snapshot
	 * through another connection. Nonzero stops the export.
	 */
	int (*on_snapshot)(void *ctx, const char *snapshot);
	/* Polled while the children run: nonzero stops the export
	 * (ERR_INTERRUPTED). May be NULL. */
	int (*should_stop)(void *ctx);
	void *ctx;
};

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
	int include_files;		/* the [files] of the rows read, read
					 * beneath the tenant's directory */
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
	/*
	 * tick: called from the monitor loop about once a second while the
	 * children run, and once more (force = 1) just before the archive
	 * is signed and published. Returns 0 to go on, EXPORT_TICK_HOLD to
	 * read nothing more from the builder for now (the database is busy;
	 * not a stall), or a negative err to stop the export with a reason
	 * in err (nothing is published). May be NULL.
	 */
	int (*tick)(void *ctx, int force, char *err, size_t errlen);
	void *tick_ctx;
	/*
	 * last_word: the question of the final tick (is the job still the
	 * caller's?), asked with tick_ctx by the provisioning helper on its
	 * monitor session once the export role is dropped (provision.h), so
	 * that no new session is opened for it. Returns 0, a negative err
	 * (nothing is published), or EXPORT_UNSAID (could not tell). When it
	 * answered, the final tick gets force = EXPORT_TICK_SAID: the
	 * caller's own checks, without asking the database again. May be
	 * NULL.
	 */
	int (*last_word)(PGconn *monitor, void *ctx, char *err, size_t errlen);
	/* The export's id (MANIFEST_ID_LEN bytes), which names its files;
	 * NULL: a random one. */
	const uint8_t *export_id;
	/* called in the provisioning helper, on its monitor connection, if
	 * this process is killed mid-export (provision.h); may be NULL */
	void (*abandoned)(PGconn *monitor, void *ctx);
	void *abandoned_ctx;
	const struct export_probe *probe;	/* NULL: a real export */
};

#define EXPORT_TICK_HOLD	1
#define EXPORT_TICK_SAID	2
#define EXPORT_UNSAID		1

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
	/* CPU time, user and system, in ms: the monitor's own (the whole
	 * run), the builder's, the checker's and the database relay's */
	uint64_t monitor_cpu_ms, builder_cpu_ms, checker_cpu_ms, relay_cpu_ms;
	char builder_status[256];
	char checker_status[256];
	uint64_t build_ms;		/* from the builder's start to the end of
					 * its stream */
	uint64_t held_ms;		/* of which the monitor held the builder
					 * back (throttle, busy database) */
	int transient;			/* the failure may pass: the database
					 * connection was lost or the outbox
					 * was full; another attempt may work */
	uint8_t *receipt;		/* the proven manifest's bytes (no row
					 * data): the job's receipt; malloc'd */
	size_t receipt_len;
	/* probe mode: whether the checker proved the archive (err holds its
	 * first finding when not), records it found of another tenant, and
	 * where watched identifiers occurred (malloc'd) */
	int check_ok;
	uint64_t tenant_mismatches;
	struct verify_hit *hits;
	size_t nhits;
	uint64_t hits_dropped;
};

/*
 * Runs the export. Returns 0 when the archive was published (probe mode:
 * when the checker answered, proven or not), or a
 * negative err with a one-line reason in err (no secret, no row value,
 * nothing about other tenants). ERR_EMPTY when the tenant has no rows and
 * allow_empty is off; ERR_POLICY when lint fails; ERR_CHILD when the
 * builder or the checker failed or was killed; ERR_TENANT / ERR_HASH /...
 * when the checker refused the archive; the tick's own error when it
 * stopped the export. [export] max_rows_per_second and
 * max_bytes_per_second hold the builder back (throttle.h).
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
