/*
 * loadguard.h: is the database busy?
 *
 * An optional guard ([export] load_max_active, load_max_lag) keeps
 * workers from starting exports, and holds running exports back, while
 * the server is overloaded: more active client sessions than
 * load_max_active (the exports' own sessions not counted), or a standby
 * replaying more than load_max_lag seconds behind. The sample is taken
 * on the monitor's own session, which must be allowed to see other
 * roles' sessions (pg_read_all_stats, e.g. through pg_monitor): without
 * it every other session would look idle, so the guard refuses to judge
 * rather than wave everything through.
 *
 * Functions return 0 or a negative enum err code; nothing prints.
 */
#ifndef TEXP_LOADGUARD_H
#define TEXP_LOADGUARD_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;

struct loadguard_sample {
	uint64_t active;	/* active client sessions, exports' excluded */
	uint64_t lag_s;		/* largest standby replay lag, seconds */
	int sees_all;		/* the session may see other roles' state */
};

/* 1 if the configuration sets either threshold. */
int loadguard_on(const struct config *cfg);
/* Samples the server on c. ERR_DB with the reason in err. */
int loadguard_sample(PGconn *c, struct loadguard_sample *s, char *err,
    size_t errlen);
/*
 * The verdict on a sample, for an export about to start (running 0) or
 * already running (1): 0 (fine, or no guard), 1 (busy: why says by how
 * much), or ERR_PERM when the monitor cannot see other sessions (why says
 * what to grant). A running export that reads from a standby ([database]
 * standby_host) is not held back for the standby's lag: its own snapshot
 * may be what the replay waits for.
 */
int loadguard_judge(const struct config *cfg,
    const struct loadguard_sample *s, int running, char *why,
    size_t whylen);

#endif
