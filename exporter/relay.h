/*
 * relay.h: the builder's database connection, which speaks only the plan.
 *
 * The builder does not hold a session on the server. It holds a libpq
 * connection to the relay, a small sandboxed child of the monitor that
 * holds the real session (logged in as the export role, scope checked,
 * BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY). The relay answers the
 * builder's startup itself (no password: the export role's password never
 * reaches the builder), then admits exactly the planned statements, byte
 * for byte and in order, and sends back only what it builds itself from
 * their results: CopyOutResponse, CopyData, CopyDone, CommandComplete,
 * ErrorResponse and ReadyForQuery. Anything else the builder sends (another
 * statement, EXPLAIN, NOTIFY, SET, an extended-protocol message, a
 * statement while one runs) ends the session at once: the relay exits and
 * the export fails. Nothing the server sends on its own (notices,
 * notifications, parameter changes) reaches the builder.
 *
 * The monitor's side, in order:
 *
 *	relay_link_open(&l, role)	private 0700 directory, listening
 *					socket, the builder's PGconn started
 *					and its connection accepted
 *	sandbox_spawn(relay_main, &job)	job.peer_fd = relay_link_peer(l)
 *	relay_answer_read(...)		snapshot and columns, read by the
 *					relay on the real session
 *	relay_link_finish(l, ...)	the builder's PGconn, connected
 *	relay_plan_write(...)		the statements; nothing else passes
 *	fork the builder with relay_link_conn(l), then relay_link_detach(l)
 *	relay_link_free(l)
 *
 * Functions return 0 or a negative enum err code; err/errlen get a
 * one-line reason where present.
 */
#ifndef TEXP_RELAY_H
#define TEXP_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;
struct config_table;
struct db_columns;

/* Exit statuses of the relay child besides 0 (the builder was done). */
#define RELAY_EXIT_OFF_PLAN	10	/* the builder left the plan */
#define RELAY_EXIT_LOST		11	/* the server session was lost or
					 * terminated: worth a retry */
#define RELAY_EXIT_SETUP	12	/* could not set up; the answer says */

/* Largest plan the relay accepts (all statements together). */
#define RELAY_PLAN_MAX		(16u << 20)
/* Largest answer (snapshot and columns) the monitor accepts. */
#define RELAY_ANSWER_MAX	(64u << 20)

struct relay_job {
	const struct config *cfg;
	const char *role;		/* the export role and its password: */
	const char *password;		/* the monitor wipes its copy once
					 * the relay is forked */
	const char *tenant;
	const struct config_table *const *tables;  /* columns to read */
	size_t ntables;
	int peer_fd;			/* the builder's side, accepted */
	int in_fd;			/* plan, from the monitor */
	int out_fd;			/* answer, to the monitor */
	int log_fd;
	unsigned cpu_seconds;		/* RLIMIT_CPU once sandboxed */
	int export_snapshot;		/* the leak test's exports: also
					 * pg_export_snapshot() in the answer,
					 * for counts in the same snapshot */
};

/*
 * The relay child's body (sandbox_spawn): logs in as the export role,
 * checks the scope, begins the read-only transaction, writes the answer
 * (snapshot and the tables' columns, or the error), answers the builder
 * connection's startup, reads the plan, enters the sandbox and serves the
 * builder until it is done. Log lines as builder.h describes, plus
 * "busy" about every second while a planned statement runs on the server
 * with nothing left to deliver (the builder waits; not its stall).
 */
int relay_main(void *job);

/* The monitor's end of the builder's connection. Opaque. */
struct relay_link;

/*
 * Creates a private directory (mode 0700) under $TMPDIR or /tmp with a
 * listening unix socket, starts a libpq connection to it as user role
 * (no password, no TLS, no settings from the environment that could add
 * statements), accepts it (checking that the peer is this very process),
 * and removes the socket and the directory again. The connection is not
 * usable until relay_link_finish.
 */
int relay_link_open(const char *role, struct relay_link **out, char *err,
    size_t errlen);
/* The accepted descriptor, for the relay child (relay_job.peer_fd). */
int relay_link_peer(const struct relay_link *l);
/* Closes the monitor's copy of the peer descriptor (after the fork). */
void relay_link_close_peer(struct relay_link *l);
/* Drives the connection until the relay has answered its startup, at
 * most timeout_ms. ERR_DB with libpq's reason otherwise. */
int relay_link_finish(struct relay_link *l, int timeout_ms, char *err,
    size_t errlen);
/* The builder's connection (owned by l; NULL after relay_link_detach). */
PGconn *relay_link_conn(const struct relay_link *l);
/* For the parent after the builder's fork: drops its copy of the
 * connection without sending anything (as db_export_detach). */
void relay_link_detach(struct relay_link *l);
/* Accepts NULL. */
void relay_link_free(struct relay_link *l);

/*
 * Reads the relay's answer from fd, waiting at most timeout_ms. On
 * success *snapshot and *exported (malloc'd; exported is "" unless the
 * job asked for export_snapshot) and cols[0..ntables) (db_columns_free
 * each) are set. On the relay's own failure returns its error code with its
 * reason in err; ERR_CHILD if the answer is cut short or malformed.
 */
int relay_answer_read(int fd, size_t ntables, int timeout_ms,
    char **snapshot, char **exported, struct db_columns **cols, char *err,
    size_t errlen);
/* Writes the plan (n NUL-terminated statements) to fd. ERR_IO if the
 * relay is gone, ERR_LIMIT past RELAY_PLAN_MAX. */
int relay_plan_write(int fd, const char *const *stmts, size_t n);

#endif
