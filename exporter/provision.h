/*
 * provision.h: the monitor's own database login, kept in a separate
 * process.
 *
 * The process that forks the builder must never hold the monitor role's
 * password: libpq keeps passwords in ordinary heap memory, and a forked
 * child gets a copy of all of it. So a small helper process (not
 * sandboxed: it is trusted code and reads no row) logs in as the monitor,
 * lints the database, creates the per-export role and hands back only that
 * role's name and one-off password. It then waits; when told to, it
 * drops the export role and exits.
 *
 * It is also the process that outlives the others: it runs in its own
 * process group and ignores SIGHUP, SIGINT, SIGTERM and SIGQUIT, so when
 * the monitor goes away for any reason (even SIGKILL of the whole group
 * closes the pipe) it removes the export's temporary files, drops the
 * export role (reconnecting for up to a minute while the database is
 * away), reports the abandoned export (provision_opts) and exits.
 */
#ifndef TEXP_PROVISION_H
#define TEXP_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;
struct provision;

/*
 * Starts the helper and waits for its answer; the export role it creates
 * is for the running job job_hash (db_export_role_create). The database
 * must pass lint first (unless provision_opts says no_lint). Returns 0
 * with *out set, or ERR_POLICY (lint findings: err names the count and
 * the first), ERR_DB (cannot log in or create the role), ERR_CHILD. On
 * error the helper has already exited and nothing was created.
 */
int provision_start(const struct config *cfg, const uint8_t job_hash[32],
    struct provision **out, char *err, size_t errlen);

struct provision_opts {
	/*
	 * Called in the helper, on its monitor connection, when the process
	 * that started it went away without asking for the drop (it was
	 * killed): the caller records the failure, e.g. marks its job
	 * failed. The helper is a fork of the caller, so ctx is valid there.
	 * May be NULL.
	 */
	void (*abandoned)(PGconn *monitor, void *ctx);
	void *ctx;
	/* Set: no lint first. Only the leak test's exports, whose first
	 * step reports lint's findings, set it; every real export lints. */
	int no_lint;
	/*
	 * Called in the helper, on its monitor connection, right after it
	 * dropped the export role (provision_finish_word): the caller's last
	 * word before it publishes (is the job still its own?), asked on the
	 * session that is open anyway rather than on a new one. Returns 0
	 * (go on), a negative err with a reason in err (stop), or
	 * PROVISION_UNSAID (it could not tell: the caller asks its own way).
	 * May be NULL.
	 */
	int (*last_word)(PGconn *monitor, void *ctx, char *err, size_t errlen);
	void *word_ctx;
};

#define PROVISION_UNSAID	1
/* provision_start with options (o may be NULL). */
int provision_start_opts(const struct config *cfg,
    const uint8_t job_hash[32],
    const struct provision_opts *o, struct provision **out, char *err,
    size_t errlen);
/*
 * Tells the helper where the export's temporary files are: BASE* in the
 * directory dirfd, which must have been open when provision_start ran
 * (the helper inherited it). Should the monitor go away, the helper
 * removes them (outbox_sweep). 0 or ERR_IO.
 */
int provision_track_temp(struct provision *p, int dirfd, const char *base);
/* The export role's name and password, and the server's system
 * identifier (owned by p). The password is NULL once forgotten. */
const char *provision_role(const struct provision *p);
const char *provision_password(const struct provision *p);
const char *provision_sysid(const struct provision *p);
/* Wipes and frees the password: call it as soon as the one process that
 * logs in as the export role (the database relay) has its copy, so that
 * no child forked later finds it in memory. */
void provision_forget_password(struct provision *p);
/* Asks the helper to drop the export role, waits for it and frees p. A
 * helper that died on the way (killed, crashed) is replaced by a fresh
 * one that drops the role. Returns 0 or ERR_DB / ERR_CHILD with a
 * reason. Accepts NULL. */
int provision_finish(struct provision *p, char *err, size_t errlen);
/*
 * provision_finish, and the last word (provision_opts) once the role is
 * dropped: *said = 1 when it was said, and then its error (if any) is
 * returned with its reason; *said = 0 when it was not (no last_word, a
 * helper that died, PROVISION_UNSAID). A role that could not be dropped
 * is ERR_DB as above.
 */
int provision_finish_word(struct provision *p, int *said, char *err,
    size_t errlen);

#endif
