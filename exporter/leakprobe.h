/*
 * leakprobe.h: the leak test's session battery (docs/AUDIT.md, "Session
 * escapes").
 *
 * Given a session logged in as an export role exactly as `run` makes one
 * (for a leak test job: every tenant table of one tenant), it tries
 * every way out of the tenant's scope a session has, and counts what
 * each one shows of other tenants:
 *
 *   session.select           SELECT of every tenant table, as is
 *   session.set_custom       after SET of tenant-looking settings to
 *                            another tenant's id
 *   session.set_config       the same through set_config()
 *   session.reset_all, session.reset_role, session.discard_all
 *   session.set_role         after SET ROLE to the export group
 *   session.session_authorization
 *                            after SET SESSION AUTHORIZATION (must fail)
 *   session.row_security_off after SET row_security = off
 *   session.copy             COPY of every tenant table's tenant column
 *   session.views            every other relation the role can read
 *   session.functions        every function it may call that returns
 *                            rows and takes no argument (called in a
 *                            read-only transaction)
 *   session.stats            pg_stats and pg_stats_ext of tenant tables
 *   session.write.insert, .update, .delete, .temp, .create, .sequences,
 *   .large_objects           each write, with read-only switched off:
 *                            each must be refused by a privilege
 *
 * A row of another tenant is one whose tenant column (a column named
 * like a configured tenant key, in views and function results) is not
 * the session's tenant; rows without such a column cannot be told apart
 * and count as rows of unknown tenant (a finding too). Writes are tried
 * so that none can change anything (WHERE false, rolled back); a
 * sequence the role could advance is reported from its privileges, not
 * advanced.
 *
 * Each attack appends one check to checks: {"id", "status" ("pass",
 * "fail" or "error"), "count" (rows of other or unknown tenants, or
 * writes allowed), "message" (one line in words), "detail" (per object:
 * names, counts, the server's refusal; never a row value)}.
 */
#ifndef TEXP_LEAKPROBE_H
#define TEXP_LEAKPROBE_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

struct config;
struct tokscan;

struct leakprobe_opts {
	const struct config *cfg;
	const char *tenant;		/* the session's tenant */
	const char *other;		/* another tenant's id to switch to
					 * (NULL: a made-up one) */
	const struct tokscan *foreign;	/* other tenants' ids (statistics) */
	const char *monitor;		/* a role to try SET SESSION
					 * AUTHORIZATION to */
	unsigned statement_timeout;	/* seconds per statement */
};

/*
 * Runs the battery on conn, a session of the export role outside any
 * transaction. Returns 0 when it ran (whatever it found), or ERR_DB when
 * the session itself broke (err says why; the checks so far are kept).
 */
int leakprobe_run(PGconn *conn, const struct leakprobe_opts *o,
    json_t *checks, char *err, size_t errlen);

#endif
