/*
 * cmd_jobs.h: what the job commands (request, approve, status, list,
 * cancel, run, fetch, sweep) share on the command-line side: unlocking
 * the principal's key and signing an action, connecting to the control
 * schema, and running control-plane work in a short-lived child process.
 *
 * These print their own "tenant-export: CMD: ..." messages.
 */
#ifndef TEXP_CMD_JOBS_H
#define TEXP_CMD_JOBS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "jobs.h"

struct buf;
struct config;
struct minisig_seckey;

/* A signed action as built by cmd_sign. */
struct cmd_action {
	struct buf *text;
	struct buf *sig;
};
void cmd_action_clear(struct cmd_action *a);
/* View for jobs_*(): valid while a is. */
struct jobs_signed cmd_action_view(const struct cmd_action *a);

/* Unlocks KEY (--as) with --passphrase-file or a terminal prompt.
 * Returns 0 or an err (message printed). */
int cmd_key_load(const char *cmd, const char *key, const char *passfile,
    struct minisig_seckey **sk);
/* Signs kind with n fields. In the test-only build, TEXP_TEST_ACTION_AGE
 * (seconds in the past), TEXP_TEST_ACTION_SAVE and TEXP_TEST_ACTION_REPLAY
 * (a directory) let the tests present stale and replayed actions. */
int cmd_sign(const char *cmd, const struct minisig_seckey *sk,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, struct cmd_action *out);
/* Loads the key, signs one action, frees the key. */
int cmd_sign_once(const char *cmd, const char *key, const char *passfile,
    const char *kind, const char *const *keys, const char *const *vals,
    size_t n, struct cmd_action *out);

/* Connects as the monitor and checks the control schema. */
int cmd_control_connect(const char *cmd, const struct config *cfg,
    PGconn **out);

/*
 * Runs fn on a fresh monitor connection in a child process and brings
 * back its outcome and up to 1 MiB of extra bytes. The caller's process
 * never holds the monitor's password (export.c needs that of the process
 * that forks the builder).
 */
typedef int (*cmd_ctl_fn)(PGconn *c, void *ctx, struct jobs_outcome *o,
    struct buf *extra);
int cmd_in_child(const struct config *cfg, cmd_ctl_fn fn, void *ctx,
    struct jobs_outcome *o, struct buf *extra);

/* Exit status for an outcome code: 0, 1 refused/failed, 2 operational. */
int cmd_exit_for(int r);
/* The job id argument as it is signed: itself when it can be a job id
 * (hex, at most 64 characters), else "0", which the monitor answers with
 * "no such job" like any unknown id. */
const char *cmd_job_arg(const char *arg);
/* "2024-01-02T03:04:05Z", or "-" for 0. */
void cmd_iso_time(int64_t t, char *out, size_t len);
/* Reads a typed confirmation from the terminal (echo on). Returns a
 * malloc'd line without its newline, or NULL when there is no terminal. */
char *cmd_prompt_confirm(void);

/* The scope of a request as given on the command line. */
struct cmd_req {
	const char *tenant;
	const char *tables;		/* comma list, or NULL: whole tenant */
	const char *since;
	const char *until;
	int include_global;
	const char *confirm;		/* --confirm, or NULL: prompt if needed */
	const char *idem;		/* --idempotency-key, or NULL */
};
/*
 * Signs an export.request for q with sk (cmd_request.c). When the scope is
 * high-risk by the config and q->confirm is NULL, asks for the typed
 * confirmation on the terminal (none: the monitor refuses and says how).
 */
int cmd_request_sign(const char *cmd, const struct config *cfg,
    const struct minisig_seckey *sk, const struct cmd_req *q,
    struct cmd_action *out);

/* Serialises a job for cmd_in_child's extra bytes, and back. */
int cmd_job_put(const struct jobs_job *j, struct buf *out);
int cmd_job_get(struct buf *in, struct jobs_job **out);

#endif
