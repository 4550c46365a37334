/*
 * provision.h: the monitor's own database login, kept in a separate
 * process.
 *
 * The process that forks the builder must never hold the monitor role's
 * password: libpq keeps passwords in ordinary heap memory, and a forked
 * child gets a copy of all of it. So a small helper process (not
 * sandboxed: it is trusted code and reads no row) logs in as the monitor,
 * lints the database, creates the per-export role and hands back only that
 * role's name and one-off password. It then waits; when told to, or when
 * the monitor goes away for any reason (even SIGKILL closes the pipe), it
 * drops the export role and exits.
 */
#ifndef TEXP_PROVISION_H
#define TEXP_PROVISION_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct provision;

/*
 * Starts the helper and waits for its answer; the export role it creates
 * is for the running job job_hash (db_export_role_create). With lint set
 * the database must pass lint first (every real export); the leak test's
 * exports, whose first step reports lint's findings, do not. Returns 0
 * with *out set, or ERR_POLICY (lint findings: err names the count and
 * the first), ERR_DB (cannot log in or create the role), ERR_CHILD. On
 * error the helper has already exited and nothing was created.
 */
int provision_start(const struct config *cfg, const uint8_t job_hash[32],
    int lint, struct provision **out, char *err, size_t errlen);
/* The export role's name and password, and the server's system
 * identifier (owned by p). */
const char *provision_role(const struct provision *p);
const char *provision_password(const struct provision *p);
const char *provision_sysid(const struct provision *p);
/* Asks the helper to drop the export role, waits for it and frees p.
 * Returns 0 or ERR_DB / ERR_CHILD with a reason. Accepts NULL. */
int provision_finish(struct provision *p, char *err, size_t errlen);

#endif
