/*
 * ctlchild.h: one control-plane step in a short-lived child process.
 *
 * The process that forks builders must never hold the monitor's database
 * password (libpq keeps it in ordinary heap memory, which a forked child
 * inherits), nor the service key. So every step that reads or writes the
 * control schema runs in a child that logs in as the monitor, loads the
 * service key, takes the log's lock, replays and verifies the signed log
 * (ledger.h), calls fn inside that one transaction, commits, pins the new
 * head in the state directory, hands back the outcome and a JSON reply
 * through a pipe, and exits.
 *
 * A log that does not verify stops every step: o->r = ERR_TAMPER with the
 * row and the reason in o->msg, and nothing is written.
 */
#ifndef TEXP_CTLCHILD_H
#define TEXP_CTLCHILD_H

#include <jansson.h>
#include <libpq-fe.h>

#include "jobs.h"

struct config;

/* fn fills o and may add members to reply (an object it borrows). */
typedef int (*svc_ctl_fn)(struct jobs_ctx *k, void *ctx,
    struct jobs_outcome *o, json_t *reply);

/*
 * Runs fn as above. control_id, when not NULL, must match the database's
 * (an action checked against one id is never applied to another). peer
 * names the caller for the log. *reply (optional) gets fn's reply object
 * (the caller json_decref()s it). Returns o->r, or ERR_CHILD when the
 * child failed. (fn NULL: the child only reads the control database's id,
 * svc_control_id.)
 */
int svc_in_child(const struct config *cfg, const char *control_id,
    const char *peer, svc_ctl_fn fn, void *ctx, struct jobs_outcome *o,
    json_t **reply);

/*
 * A step that decides nothing and writes no row of the log (a lease's
 * heartbeat, a load sample): fn runs in a child on a monitor session,
 * without the service key, without replaying the log. Whatever it reads
 * is a cache, good for liveness and nothing that authorises. Returns o->r
 * (or ERR_CHILD); *reply as svc_in_child's.
 */
typedef int (*svc_light_fn)(PGconn *c, const struct config *cfg, void *ctx,
    struct jobs_outcome *o, json_t *reply);
int svc_in_light_child(const struct config *cfg, svc_light_fn fn, void *ctx,
    struct jobs_outcome *o, json_t **reply);

/* Reads the control database's id through a child (for the hello). */
int svc_control_id(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen);
/*
 * The id the service's pinned log head names (ledger_pinned_control_id),
 * without a database session; else svc_control_id. For the hello of a
 * service that answers one client (--stdio): a hint, since every step
 * compares the actions' id with the database's own (a stale one is
 * refused there, "the control database changed").
 */
int svc_control_id_hint(const struct config *cfg, char *out, size_t outlen,
    char *err, size_t errlen);

#endif
